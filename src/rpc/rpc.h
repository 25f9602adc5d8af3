/*
 * rpc.h - the RPC seam: servers, clients, calls and messages, free of gRPC and protobuf-c types.
 *
 * Every medstore process talks over gRPC (C core) with mutual TLS. This header is what the rest
 * of the code sees of it (STYLE.md section 9, "ms_net is the RPC seam"):
 *
 * - A server serves a table of methods (struct ms_rpc_method). Each method is unary, client
 *   streaming or server streaming; its callbacks receive a struct ms_rpc_call and messages as
 *   read-only views into the received bytes (struct ms_rpc_msg, no copy). The handler answers
 *   with ms_rpc_call_reply() / _send() / _finish(), now or later and from any thread: a node
 *   acks a put only after its group-commit fdatasync.
 * - A client (struct ms_rpc_client) is an ops table. ms_rpc_client_create() builds one on
 *   gRPC channels; ms_rpc_loopback_create() builds one that calls a method table in process
 *   (unit tests; the simulation adds its own). Calls are blocking, but a stream's send only
 *   waits for the previous send, so one thread can keep several streams busy.
 * - Errors: everything returns 0 / -errno / -MEDSTORE_E* (common/err.h). On the wire a code
 *   becomes a gRPC status (ms_err_grpc_status()), a human message and a machine reason in the
 *   trailing metadata entry `medstore-reason`; the client maps them back (docs/rpc.md).
 * - Identity: with mutual TLS the peer principal is the CN of its certificate, exactly one, read
 *   from the auth context (never gRPC's "peer identity", which is the SAN list). A call whose
 *   peer has no single CN is refused with PERMISSION_DENIED before any handler runs.
 *
 * Payload bytes are never copied by this layer: outgoing messages are lists of segments the
 * caller lends until a release callback; incoming ones are views into gRPC's slices.
 *
 * Thread safety: servers and clients are thread safe. A client stream belongs to one thread at
 * a time. A server call belongs either to the layer (a batch is in flight) or to its handler
 * (inside a callback, or after a callback returned holding the turn); see struct ms_rpc_method.
 */
#ifndef MS_RPC_RPC_H
#define MS_RPC_RPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "common/ms_limits.h"

/* Largest bulk payload per message (PutFragment / GetFragment data): 4 MiB. */
#define MS_RPC_MAX_CHUNK_BYTES (4u * 1024u * 1024u)
/* Default largest message on the wire, both directions, both ends: a chunk plus its framing and
 * the few small fields beside it (ms_limits.h's overhead allowance). Bigger messages fail with
 * RESOURCE_EXHAUSTED. A server or client may raise it up to the project cap MS_RPC_MSG_MAX. */
#define MS_RPC_MAX_MESSAGE_BYTES (MS_RPC_MAX_CHUNK_BYTES + MS_RPC_MSG_OVERHEAD_MAX)
_Static_assert(MS_RPC_MAX_MESSAGE_BYTES <= MS_RPC_MSG_MAX, "default within the project cap");
/* Largest fixed HTTP/2 stream window a server may set (ms_rpc_server_config). */
#define MS_RPC_STREAM_WINDOW_MAX (64u * 1024u * 1024u)
/* Segments per outgoing message (ms_rpc_seg arrays). */
#define MS_RPC_MAX_SEGS 8
/* Initial metadata entries per client call. */
#define MS_RPC_MAX_MD 4
/* Buffers in struct ms_rpc_status, NUL included; longer texts are truncated. */
#define MS_RPC_REASON_MAX 32
#define MS_RPC_MESSAGE_MAX 160
/* Longest principal (X.509 ub-common-name is 64 characters). */
#define MS_RPC_PRINCIPAL_MAX 64
/* Default deadline of a client call when the caller gives none. */
#define MS_RPC_DEFAULT_DEADLINE_MS 30000u
/* Metadata key of the capability token (raw bytes; gRPC base64-codes -bin keys on the wire). */
#define MS_RPC_MD_CAPTOKEN "medstore-cap-bin"
/* Trailing metadata key of the machine reason of a failed call. */
#define MS_RPC_MD_REASON "medstore-reason"

/* ---- library ------------------------------------------------------------------------------ */

/* Initialises gRPC (reference counted: every ms_rpc_init needs one ms_rpc_fini). Call after
 * ms_rpc_signals_block() in daemons so gRPC's threads inherit the signal mask. Thread safe. */
void ms_rpc_init(void);

/* Drops one reference; the last one shuts gRPC down and waits for its threads. Every server
 * and client must have been destroyed before. */
void ms_rpc_fini(void);

/* For a process that streams bulk data as a client (the load generator, bulk uploaders):
 * keeps freed heap memory in the process instead of giving it back after every message.
 * gRPC allocates a fresh buffer of about a message for each TLS frame batch; with glibc's
 * default, sliding mmap and trim thresholds, eight sending threads return and re-fault those
 * pages all the time (about a tenth of the sender's CPU). Fixes the mmap threshold at 32 MiB
 * and the trim threshold at 512 MiB, so the process's heap may stay that much above its live
 * size. Process wide; call once in main() before the first client. Returns 0 or -EINVAL. */
int ms_rpc_malloc_tune_bulk(void);

/* ---- messages ----------------------------------------------------------------------------- */

/* A piece of a received message. */
struct ms_rpc_iov {
    const uint8_t *ptr;
    size_t len;
};

/* A received message: len bytes in niov pieces (niov may be 0 when len is 0). The views are
 * read-only and borrowed: each callback or function that hands one out says how long it lives.
 */
struct ms_rpc_msg {
    size_t len;
    size_t niov;
    const struct ms_rpc_iov *iov;
};

/* Copies len bytes starting at offset off of msg into dst. Returns 0, or -ERANGE when the
 * range is outside the message. */
MS_MUST_CHECK int ms_rpc_msg_copy(const struct ms_rpc_msg *msg, size_t off, void *dst,
                                  size_t len);

/* Gives the message as one contiguous range: *data points into msg when it is one piece,
 * else into a malloc'd copy returned in *scratch (caller frees it with free(); NULL when no
 * copy was needed). For small messages (headers, requests); bulk data uses views. Returns 0 or
 * -ENOMEM. */
MS_MUST_CHECK int ms_rpc_msg_contig(const struct ms_rpc_msg *msg, const uint8_t **data,
                                    uint8_t **scratch);

/* One piece of an outgoing message. The bytes are lent to the layer: when release_cb is set,
 * they must stay valid and unchanged until release_cb(release_arg) runs (on any thread, at the
 * latest when the call ends); when it is NULL the bytes are copied before the function that
 * takes the segment returns (use for small pieces). */
struct ms_rpc_seg {
    const void *ptr;
    size_t len;
    void (*release_cb)(void *release_arg);
    void *release_arg;
};

/* A segment owning a malloc'd buffer: released with free(buf). */
struct ms_rpc_seg ms_rpc_seg_malloced(void *buf, size_t len);

/* Releases segments that were not handed to a send (error paths of callers). */
void ms_rpc_segs_release(const struct ms_rpc_seg *segs, size_t nsegs);

/* ---- protobuf framing without protobuf-c (src/rpc/pbscan.c) -------------------------------- */

/* Largest key + length prefix of a length-delimited field. */
#define MS_RPC_PB_PREFIX_MAX 15

/* Writes the protobuf key (field number, wire type 2) and varint length of a length-delimited
 * field of len bytes into out; returns the prefix length (2..15). A message made of this prefix
 * followed by the len payload bytes is a valid protobuf message holding only that field. */
size_t ms_rpc_pb_bytes_prefix(uint32_t field, uint64_t len, uint8_t out[MS_RPC_PB_PREFIX_MAX]);

/* Scans the top-level protobuf framing of msg (untrusted bytes) without copying: checks every
 * key, varint and length; records in *fields_seen bit f-1 for each field number f <= 64 seen;
 * and, when field bytes_field occurs with wire type 2, describes its last occurrence (protobuf:
 * the last one wins) as a message view in *view whose pieces are written to iov (at most
 * max_iov; view->iov = iov). Returns 1 when bytes_field was found, 0 when not, -MEDSTORE_EFORMAT
 * on malformed framing (bad varint, truncated field, groups, wire types 3..7, field number 0),
 * -E2BIG when the field spans more than max_iov pieces. The view lives as long as msg. */
MS_MUST_CHECK int ms_rpc_pb_scan(const struct ms_rpc_msg *msg, uint32_t bytes_field,
                                 uint64_t *fields_seen, struct ms_rpc_msg *view,
                                 struct ms_rpc_iov *iov, size_t max_iov);

/* ---- status and reasons (src/rpc/status.c) ------------------------------------------------ */

/* Outcome of a client call. */
struct ms_rpc_status {
    int code;                          /* 0 or a negative medstore code (mapped back) */
    int grpc_status;                   /* grpc_status_code value, 0 = OK */
    char reason[MS_RPC_REASON_MAX];    /* machine reason ("" when none) */
    char message[MS_RPC_MESSAGE_MAX];  /* human message from the peer or the transport */
};

/* Machine reason a server sends for code (e.g. -MEDSTORE_ESHREDDED -> "shredded",
 * -ENOSPC -> "disk-full"); "" for 0. Never NULL, static storage. */
const char *ms_rpc_reason_of_code(int code);

/* The code a received reason stands for (finer reasons such as "token-expired" map to their
 * code, -MEDSTORE_ETOKEN); 0 for an unknown reason. */
int ms_rpc_code_of_reason(const char *reason);

/* The code a client reports for a gRPC status that came without a known reason (e.g.
 * UNAVAILABLE -> -MEDSTORE_EUNAVAIL, DEADLINE_EXCEEDED -> -ETIMEDOUT); 0 for OK. */
int ms_rpc_code_of_grpc_status(int grpc_status);

/* True when reason is well formed: 1..MS_RPC_REASON_MAX-1 characters of [a-z0-9-]. */
bool ms_rpc_reason_is_valid(const char *reason);

/* ---- server ------------------------------------------------------------------------------- */

struct ms_rpc_call;
struct ms_rpc_server;

/* PEM files of one TLS identity and the CA it trusts (the cluster CA). */
struct ms_rpc_tls_files {
    const char *ca_path;
    const char *cert_path;
    const char *key_path;
};

enum ms_rpc_kind {
    MS_RPC_UNARY = 1,
    MS_RPC_CLIENT_STREAMING = 2,
    MS_RPC_SERVER_STREAMING = 3,
};

/* Callback return: the handler keeps the message and the turn (client streaming on_message_cb);
 * it calls ms_rpc_call_resume() or finishes the call later. */
#define MS_RPC_HOLD 1

/*
 * One method of a server's table. Callbacks run on the server's completion-queue threads, never
 * two at a time for one call, and must not block for long (hand slow work to another thread
 * and answer from there).
 *
 * on_message_cb(call, msg, arg): unary and server streaming: the request (called once);
 *   client streaming: each message in order. msg lives until the callback returns, or, when it
 *   returns MS_RPC_HOLD (client streaming only), until ms_rpc_call_resume() or the finish.
 *   Returns: 0 = done with msg: client streaming reads the next message; unary and server
 *   streaming keep the turn (answer now or later); MS_RPC_HOLD; or a negative code: the layer
 *   fails the call with it (unless the handler already answered).
 * on_end_cb(call, arg): client streaming only: the client half-closed; the handler must reply
 *   or finish, now or later. Negative return: the call fails with that code.
 * on_writable_cb(call, arg): server streaming only: the previous ms_rpc_call_send() completed;
 *   send the next message or finish, now or later. Negative return fails the call.
 * on_done_cb(call, code, arg): optional; once per call that passed authentication, after the
 *   last batch: code 0 = OK delivered, else the code sent or -ECANCELED (client went away,
 *   deadline). Free per-call state here; after it returns the call pointer is invalid.
 */
struct ms_rpc_method {
    const char *path; /* "/medstore.v1.Node/PutFragment"; static storage */
    enum ms_rpc_kind kind;
    int (*on_message_cb)(struct ms_rpc_call *call, const struct ms_rpc_msg *msg, void *arg);
    int (*on_end_cb)(struct ms_rpc_call *call, void *arg);
    int (*on_writable_cb)(struct ms_rpc_call *call, void *arg);
    void (*on_done_cb)(struct ms_rpc_call *call, int code, void *arg);
    void *arg;
};

struct ms_rpc_server_config {
    const char *listen_addr;        /* "127.0.0.1:7001", "[::1]:0", "0.0.0.0:7001"; port 0 = any */
    struct ms_rpc_tls_files tls;    /* required unless insecure_for_tests */
    bool insecure_for_tests;        /* plaintext; refused unless listen_addr is loopback */
    const char *insecure_principal; /* principal handlers see in insecure mode; NULL = "insecure" */
    unsigned cq_threads;            /* completion-queue threads; 0 = min(2, online cores) */
    bool data_tuning;               /* 1 MiB TCP read chunks (GRPC-NOTES): data servers (nodes) */
    size_t max_message_bytes;       /* 0 = MS_RPC_MAX_MESSAGE_BYTES; at most MS_RPC_MSG_MAX */
    unsigned shutdown_grace_ms;     /* in-flight calls get this long at stop; 0 = 5000 */
    unsigned max_calls;             /* calls admitted at once; more get RESOURCE_EXHAUSTED
                                       (reason too-many-calls); 0 = 1024 */
    size_t memory_quota_bytes;      /* gRPC's own buffers (flow-control windows, messages
                                       being assembled) are held under this; 0 = no quota.
                                       Bounds RSS under many 4 MiB streams, but gRPC 1.51
                                       stalls reads rather than failing when it is too small:
                                       keep it >= 16 x max message per connection expected
                                       (bench-rpc: 64 MiB stalled 8 x 4 MiB streams on 2
                                       connections, 128 MiB did not). */
    size_t stream_window_bytes;     /* > 0: every stream's HTTP/2 receive window is fixed at
                                       this many bytes and gRPC's BDP probing is off; 0 =
                                       gRPC's default (windows grown by BDP probes, which on
                                       loopback and LAN grow far past what a put needs: a
                                       node held ~1.7x the RSS with them, docs/rpc.md) */
};

/* Creates a server for the methods (the table is copied; paths and args must outlive the
 * server), loads the TLS files and binds listen_addr, but serves nothing before
 * ms_rpc_server_start(). Returns 0 and *out, or -EINVAL (bad config; insecure on a non-loopback
 * address), -MEDSTORE_ECONFIG (unreadable or invalid PEM files), -EADDRINUSE / -MEDSTORE_EUNAVAIL
 * (bind failed), -ENOMEM. Needs ms_rpc_init(). */
MS_MUST_CHECK int ms_rpc_server_create(const struct ms_rpc_server_config *cfg,
                                       const struct ms_rpc_method *methods, size_t nmethods,
                                       struct ms_rpc_server **out);

/* The bound port (useful after binding port 0). */
int ms_rpc_server_port(const struct ms_rpc_server *srv);

/* Starts the completion-queue threads and begins accepting calls. Returns 0 or -errno. */
MS_MUST_CHECK int ms_rpc_server_start(struct ms_rpc_server *srv);

/* Asks the server to stop; returns at once. Thread safe, callable from a signal-waiting thread
 * (not from a signal handler). ms_rpc_server_wait() does the stopping. */
void ms_rpc_server_request_stop(struct ms_rpc_server *srv);

/* Blocks until ms_rpc_server_request_stop(), then stops: no new calls, in-flight calls get the
 * grace period, then are cancelled; returns when every call has ended and every thread exited.
 * Handlers holding a call must still finish it (their answers then fail harmlessly). */
void ms_rpc_server_wait(struct ms_rpc_server *srv);

/* ms_rpc_server_request_stop() + ms_rpc_server_wait(). */
void ms_rpc_server_stop(struct ms_rpc_server *srv);

/* Stops (if running) and frees the server. Accepts NULL. */
void ms_rpc_server_destroy(struct ms_rpc_server *srv);

/* ---- server calls (handler side) ---------------------------------------------------------- */

/* The authenticated peer principal (certificate CN), or the insecure principal; never NULL,
 * valid for the call's lifetime. */
const char *ms_rpc_call_principal(const struct ms_rpc_call *call);

/* The method path of the call (static storage of the method table). */
const char *ms_rpc_call_method(const struct ms_rpc_call *call);

/* Finds the initial metadata entry key (lower case). Binary keys ("-bin") give raw bytes.
 * Returns 0 and a view valid for the call's lifetime, -MEDSTORE_ENOTFOUND when absent, or
 * -EINVAL when the key occurs more than once (ambiguous: refuse the call). */
MS_MUST_CHECK int ms_rpc_call_metadata(const struct ms_rpc_call *call, const char *key,
                                       const uint8_t **value, size_t *len);

/* Milliseconds left before the call's deadline (INT64_MAX when none, <= 0 when passed). */
int64_t ms_rpc_call_deadline_left_ms(const struct ms_rpc_call *call);

/* Per-call handler state: a pointer the handler owns (free it in on_done_cb). */
void ms_rpc_call_set_ctx(struct ms_rpc_call *call, void *ctx);
void *ms_rpc_call_ctx(const struct ms_rpc_call *call);

/* Server streaming: sends one message (segments consumed, even on failure). At most one send
 * in flight: the next one is allowed from on_writable_cb on (or after it returned). Returns 0,
 * or -ECANCELED when the call already ended. Callable from any thread while holding the turn. */
MS_MUST_CHECK int ms_rpc_call_send(struct ms_rpc_call *call, const struct ms_rpc_seg *segs,
                                   size_t nsegs);

/* Unary and client streaming: sends the response message and status OK (segments consumed).
 * Returns 0 or -ECANCELED. Any thread, while holding the turn. */
MS_MUST_CHECK int ms_rpc_call_reply(struct ms_rpc_call *call, const struct ms_rpc_seg *segs,
                                    size_t nsegs);

/* Ends the call with status code (0 = OK, the end of a server stream; else a negative medstore
 * code), reason (NULL = ms_rpc_reason_of_code(code); must satisfy ms_rpc_reason_is_valid) and a
 * human message (NULL = the code's text; never patient data, keys or tokens). Any thread, while
 * holding the turn; also allowed while a receive is in flight (it then takes effect when that
 * completes). Returns 0 or -ECANCELED when the call already ended. */
MS_MUST_CHECK int ms_rpc_call_finish(struct ms_rpc_call *call, int code, const char *reason,
                                     const char *message);

/* Client streaming, after on_message_cb returned MS_RPC_HOLD: releases the held message and
 * reads the next one. Any thread. Returns 0 or -ECANCELED. */
MS_MUST_CHECK int ms_rpc_call_resume(struct ms_rpc_call *call);

/* ---- client ------------------------------------------------------------------------------- */

struct ms_rpc_client;
struct ms_rpc_stream;

/* One initial metadata entry of a client call; key lower case, value copied at open. */
struct ms_rpc_md {
    const char *key;
    const void *value;
    size_t len;
};

struct ms_rpc_call_opts {
    unsigned deadline_ms;        /* 0 = the client's default */
    const struct ms_rpc_md *md;  /* up to MS_RPC_MAX_MD entries */
    size_t nmd;
};

/* The operations a client implements (gRPC, loopback, simulation). Use the ms_rpc_stream_* and
 * ms_rpc_unary functions rather than calling these directly; they check arguments and state. */
struct ms_rpc_client_ops {
    int (*open)(struct ms_rpc_client *c, const char *method, const struct ms_rpc_call_opts *opts,
                struct ms_rpc_stream **out);
    int (*send)(struct ms_rpc_stream *s, const struct ms_rpc_seg *segs, size_t nsegs);
    int (*close_send)(struct ms_rpc_stream *s);
    int (*recv)(struct ms_rpc_stream *s, struct ms_rpc_msg *msg);
    int (*finish)(struct ms_rpc_stream *s, struct ms_rpc_status *st);
    void (*stream_destroy)(struct ms_rpc_stream *s);
    int (*unary)(struct ms_rpc_client *c, const char *method, const struct ms_rpc_call_opts *opts,
                 const struct ms_rpc_seg *segs, size_t nsegs, uint8_t **resp, size_t *resp_len,
                 struct ms_rpc_status *st);
    void (*destroy)(struct ms_rpc_client *c);
};

/* A client: an ops table; implementations embed this struct first. */
struct ms_rpc_client {
    const struct ms_rpc_client_ops *ops;
};

/* A client call; implementations embed this struct first. */
struct ms_rpc_stream {
    const struct ms_rpc_client_ops *ops;
};

struct ms_rpc_client_config {
    const char *target;               /* "127.0.0.1:7001", "node-3.rack-a:7001" */
    struct ms_rpc_tls_files tls;      /* required unless insecure_for_tests */
    const char *target_name_override; /* name checked against the server certificate's SANs
                                         instead of target's host; NULL = target's host */
    bool insecure_for_tests;          /* plaintext; refused unless target is loopback */
    unsigned connections;             /* TCP connections (channels) to the peer; 0 = 1 */
    unsigned default_deadline_ms;     /* 0 = MS_RPC_DEFAULT_DEADLINE_MS */
    bool data_tuning;                 /* 1 MiB TCP read chunks on the client side */
    size_t max_message_bytes;         /* 0 = MS_RPC_MAX_MESSAGE_BYTES; at most MS_RPC_MSG_MAX */
};

/* Creates a gRPC client (connections are made lazily, at the first call). Returns 0 and *out,
 * or -EINVAL, -MEDSTORE_ECONFIG (PEM files), -ENOMEM. Needs ms_rpc_init(). Thread safe. */
MS_MUST_CHECK int ms_rpc_client_create(const struct ms_rpc_client_config *cfg,
                                       struct ms_rpc_client **out);

/* Destroys any client (gRPC or loopback). Every stream must be destroyed before. Accepts NULL. */
void ms_rpc_client_destroy(struct ms_rpc_client *c);

/* Starts a call of method (path as in struct ms_rpc_method). Returns 0 and *out, or -EINVAL,
 * -ENOMEM. Transport failures show up at the first send/recv/finish. */
MS_MUST_CHECK int ms_rpc_stream_open(struct ms_rpc_client *c, const char *method,
                                     const struct ms_rpc_call_opts *opts,
                                     struct ms_rpc_stream **out);

/* Sends one message (segments consumed, even on failure). Waits only for the previous send of
 * this stream, so the message may still be in flight on return. Returns 0, or -EPIPE when the
 * call has ended (ms_rpc_stream_finish() tells why). */
MS_MUST_CHECK int ms_rpc_stream_send(struct ms_rpc_stream *s, const struct ms_rpc_seg *segs,
                                     size_t nsegs);

/* Half-closes the sending side (after the last message). Returns 0 or -EPIPE. */
MS_MUST_CHECK int ms_rpc_stream_close_send(struct ms_rpc_stream *s);

/* Receives the next message: returns 1 and *msg (valid until the next recv, finish or destroy
 * of s), 0 at the end of the server's messages, or -EPIPE when the call failed (see finish). */
MS_MUST_CHECK int ms_rpc_stream_recv(struct ms_rpc_stream *s, struct ms_rpc_msg *msg);

/* Waits for the call's status (half-closing first if needed) and fills *st (may be NULL).
 * Returns st->code: 0, or the peer's code mapped back through its reason, or a transport code
 * (-MEDSTORE_EUNAVAIL, -ETIMEDOUT, ...). A second call returns the same code. */
MS_MUST_CHECK int ms_rpc_stream_finish(struct ms_rpc_stream *s, struct ms_rpc_status *st);

/* Frees the stream, cancelling the call if it has not finished. Accepts NULL. */
void ms_rpc_stream_destroy(struct ms_rpc_stream *s);

/* One unary call: sends the request (segments consumed) and returns the response as a malloc'd
 * buffer in *resp (caller frees; set only on success; NULL with *resp_len 0 for an empty
 * message). Returns 0 or the code as in ms_rpc_stream_finish(); *st may be NULL. */
MS_MUST_CHECK int ms_rpc_unary(struct ms_rpc_client *c, const char *method,
                               const struct ms_rpc_call_opts *opts, const struct ms_rpc_seg *segs,
                               size_t nsegs, uint8_t **resp, size_t *resp_len,
                               struct ms_rpc_status *st);

/* ---- loopback (src/rpc/loopback.c) -------------------------------------------------------- */

/* Creates a client whose calls run the given method table in this process, without gRPC or
 * sockets, as if made by principal (copied). Handlers see the same ms_rpc_call API; their
 * callbacks run on the calling thread or on the thread that answers. For unit tests of cores
 * and RPC adapters. Returns 0 and *out, -EINVAL or -ENOMEM. */
MS_MUST_CHECK int ms_rpc_loopback_create(const struct ms_rpc_method *methods, size_t nmethods,
                                         const char *principal, struct ms_rpc_client **out);

/* ---- addresses and signals ---------------------------------------------------------------- */

/* True when the host part of addr ("host:port", "[v6]:port", "unix:..." is not) is 127.0.0.1
 * (any 127/8 address), ::1 or localhost. The only addresses insecure mode accepts. */
bool ms_rpc_addr_is_loopback(const char *addr);

/* Blocks SIGTERM, SIGINT and SIGPIPE in the calling thread (and so in every thread it starts
 * later, gRPC's included): call first thing in main(), before ms_rpc_init(). A sigaction handler
 * could run on a gRPC thread and cannot wake a completion queue; ms_rpc_sigwait_start() turns
 * the blocked signals into a callback instead. Returns 0 or -errno. */
MS_MUST_CHECK int ms_rpc_signals_block(void);

struct ms_rpc_sigwait;

/* Starts a thread that waits (sigwait) for SIGTERM or SIGINT and calls on_signal_cb(signo, arg)
 * on it; typically the callback calls ms_rpc_server_request_stop(). Needs ms_rpc_signals_block()
 * first. Returns 0 and *out, or -errno. */
MS_MUST_CHECK int ms_rpc_sigwait_start(void (*on_signal_cb)(int signo, void *arg), void *arg,
                                       struct ms_rpc_sigwait **out);

/* Stops and joins the waiting thread. Accepts NULL. */
void ms_rpc_sigwait_stop(struct ms_rpc_sigwait *sw);

#endif
