/*
 * node_rpc.h - the Node service (proto/medstore/v1/node.proto) on the RPC seam: request
 * validation, our structs in and out, and the client calls other processes use.
 *
 * Server side: ms_node_rpc_methods() fills a method table (struct ms_rpc_method) for
 * ms_rpc_server_create() or ms_rpc_loopback_create(). Its callbacks unpack and validate EVERY
 * field of every request (Y-QRY-3) and only then call the node core through struct
 * ms_node_rpc_ops with our own structs; cores never see protobuf-c. Bad requests are answered
 * here with a precise status and a `medstore-reason`, never reach the core, never crash:
 *
 *   object id not exactly 16 bytes, or all zero          INVALID_ARGUMENT  bad-request
 *   fragment index >= 32                                   INVALID_ARGUMENT  bad-request
 *   message that is not valid protobuf                     INVALID_ARGUMENT  bad-request
 *   PutFragment: first message not the header, a second
 *     header, header bytes not 128 or naming another
 *     object/index than ref, total_length < 128 or above
 *     MS_NODE_FRAGMENT_BYTES_MAX, empty or > 4 MiB chunk,
 *     more bytes than total_length, stream ending short    INVALID_ARGUMENT  bad-request
 *   GetFragment: byte range of length 0, segment count 0   INVALID_ARGUMENT  bad-request
 *   GetFragment: range overflowing 64 bits or segments
 *     past MS_FRAG_MAX_SEGMENTS                            OUT_OF_RANGE      range
 *   List/ScrubReport: limit above MS_NODE_LIST_LIMIT_MAX   INVALID_ARGUMENT  bad-request
 *
 * The core answers (now or later, from any thread) with the ms_node_rpc_reply_*() and
 * ms_node_rpc_send_data() functions below or fails the call with ms_rpc_call_finish().
 *
 * Parsing functions (ms_node_rpc_parse_*) are exported for the unit tests and the fuzz targets
 * (tests/fuzz/rpc/node_req): they take untrusted bytes and either fill our struct or return a
 * code and a static message.
 *
 * Client side: ms_node_rpc_put() and friends encode our structs, call a struct ms_rpc_client
 * (gRPC or loopback) and decode the answer; used by tests, bench/node and later by
 * libmedstore and meta's repair workers.
 *
 * Thread safety: everything here is reentrant; per-call state lives in the call.
 */
#ifndef MS_RPC_NODE_RPC_H
#define MS_RPC_NODE_RPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "common/ids.h"
#include "rpc/rpc.h"

/* Method paths of the Node service. */
#define MS_NODE_RPC_PUT "/medstore.v1.Node/PutFragment"
#define MS_NODE_RPC_GET "/medstore.v1.Node/GetFragment"
#define MS_NODE_RPC_DELETE "/medstore.v1.Node/DeleteFragment"
#define MS_NODE_RPC_STAT "/medstore.v1.Node/StatFragment"
#define MS_NODE_RPC_LIST "/medstore.v1.Node/ListFragments"
#define MS_NODE_RPC_VERIFY "/medstore.v1.Node/VerifyFragment"
#define MS_NODE_RPC_SCRUB "/medstore.v1.Node/ScrubReport"
#define MS_NODE_RPC_INFO "/medstore.v1.Node/NodeInfo"
#define MS_NODE_RPC_METHODS 8

/* Fragment indexes are 0 .. MS_NODE_FRAG_INDEX_MAX - 1 (k + m <= 32). */
#define MS_NODE_FRAG_INDEX_MAX 32u
/* Largest fragment a put may announce: a 1 TiB object stored rep(n) plus record overhead. */
#define MS_NODE_FRAGMENT_BYTES_MAX ((1ULL << 40) + (1ULL << 30))
/* Page sizes of ListFragments and ScrubReport. */
#define MS_NODE_LIST_LIMIT_DEFAULT 1000u
#define MS_NODE_LIST_LIMIT_MAX 10000u
/* Damaged segment numbers carried per entry (VerifyFragment, ScrubReport); more are cut. */
#define MS_NODE_DAMAGED_MAX 64u
/* Bytes of a fragment header on the wire (codec/frag_format.h MS_FRAG_HDR_BYTES). */
#define MS_NODE_FRAG_HDR_BYTES 128u
/* Bytes of the header checksum reported by Stat/List (XXH3-128). */
#define MS_NODE_HDR_CSUM_BYTES 16u
/* Longest rack name (config and NodeInfo) and software version string. */
#define MS_NODE_RACK_MAX 64u
#define MS_NODE_VERSION_MAX 31u

/* One fragment of one object. */
struct ms_node_ref {
    struct ms_oid oid;   /* never all zero */
    uint32_t frag_index; /* < MS_NODE_FRAG_INDEX_MAX */
};

/* First message of PutFragment, validated. */
struct ms_node_put_hdr {
    struct ms_node_ref ref;
    uint64_t total_length; /* header + every data byte that follows */
    uint8_t frag_header[MS_NODE_FRAG_HDR_BYTES];
};

enum ms_node_range_kind {
    MS_NODE_RANGE_ALL = 0,      /* the whole stored fragment */
    MS_NODE_RANGE_BYTES = 1,    /* bytes [first, first + count) of the stored fragment */
    MS_NODE_RANGE_SEGMENTS = 2, /* shard records of segments [first, first + count) */
};

/* GetFragment request, validated: count > 0 and first + count does not overflow. */
struct ms_node_get_req {
    struct ms_node_ref ref;
    enum ms_node_range_kind kind;
    uint64_t first;
    uint64_t count;
};

/* ListFragments / ScrubReport request, validated; limit already defaulted (1 .. MAX). */
struct ms_node_page_req {
    bool has_after;
    struct ms_node_ref after;
    uint32_t limit;
};

/* node.proto FragmentState. */
enum ms_node_frag_state {
    MS_NODE_STATE_UNSPECIFIED = 0,
    MS_NODE_STATE_WRITING = 1,
    MS_NODE_STATE_COMMITTED = 2,
    MS_NODE_STATE_WIPING = 3,
    MS_NODE_STATE_DAMAGED = 4,
};

/* One fragment as StatFragment and ListFragments report it. */
struct ms_node_entry {
    struct ms_node_ref ref;
    uint64_t length;
    enum ms_node_frag_state state;
    uint64_t committed_unix_ms;
    uint8_t header_checksum[MS_NODE_HDR_CSUM_BYTES];
};

/* A page of entries; entries are borrowed for the duration of the call that takes them. */
struct ms_node_list_page {
    const struct ms_node_entry *entries;
    size_t n_entries;
    bool has_next;
    struct ms_node_ref next;
};

/* VerifyFragment outcome, and one ScrubReport entry. */
struct ms_node_damage {
    struct ms_node_ref ref;
    bool ok;                 /* VerifyFragment only: everything verified */
    bool header_damaged;
    uint32_t segments_checked;   /* VerifyFragment only */
    uint64_t detected_unix_ms;   /* ScrubReport only */
    uint32_t n_damaged;          /* <= MS_NODE_DAMAGED_MAX */
    uint32_t damaged[MS_NODE_DAMAGED_MAX];
};

struct ms_node_scrub_page {
    const struct ms_node_damage *entries;
    size_t n_entries;
    bool has_next;
    struct ms_node_ref next;
    uint64_t scrubbed_fragments;
    uint64_t last_pass_unix_ms;
};

struct ms_node_info {
    uint32_t node_id;
    char rack[MS_NODE_RACK_MAX + 1];
    uint64_t capacity_bytes;
    uint64_t free_bytes;
    uint64_t fragment_count;
    char software_version[MS_NODE_VERSION_MAX + 1];
    uint32_t format_version;
    uint32_t protocol_version;
};

struct ms_node_put_result {
    uint64_t stored_bytes;
    uint64_t committed_unix_ms;
};

struct ms_node_delete_result {
    bool existed;
    uint64_t wiped_bytes;
};

/*
 * The node core behind the Node service. Every function receives ops_arg (of the
 * struct ms_node_rpc_binding) and the call, and runs on a completion-queue thread: it must not
 * block for long (hand slow work to a worker and answer from there). A negative return fails
 * the call with that code (unless the core already answered); 0 means the core answers now
 * or later. Per-call core state goes into *state (a slot the adapter keeps for the call;
 * NULL at first); call_done gives it back once, at the end of every call.
 *
 * put_begin: validated header of a PutFragment stream. Check the token and open the session.
 * put_data: the next len bytes of the fragment as a message view (data->niov pieces) that
 *   stays valid until the core calls ms_rpc_call_resume() (return MS_RPC_HOLD) or, when put_data
 *   returns 0, until it returns. The adapter has checked that the bytes fit total_length.
 * put_end: all total_length bytes arrived and the client half-closed: commit, then answer with
 *   ms_node_rpc_reply_put().
 * get: stream the range with ms_node_rpc_send_data(), then ms_rpc_call_finish(call, 0, ...).
 * get_writable: the previous ms_node_rpc_send_data() completed (on_writable_cb of rpc.h).
 * del, stat, list, verify, scrub_report, info: answer with the matching ms_node_rpc_reply_*().
 * call_done: the call ended with code (0 or the code sent, -ECANCELED when the client left):
 *   release *state (e.g. abort an open put session). Never calls into the call afterwards.
 */
struct ms_node_rpc_ops {
    int (*put_begin)(void *ops_arg, struct ms_rpc_call *call, const struct ms_node_put_hdr *hdr,
                     void **state);
    int (*put_data)(void *ops_arg, struct ms_rpc_call *call, void **state,
                    const struct ms_rpc_msg *data);
    int (*put_end)(void *ops_arg, struct ms_rpc_call *call, void **state);
    int (*get)(void *ops_arg, struct ms_rpc_call *call, const struct ms_node_get_req *req,
               void **state);
    int (*get_writable)(void *ops_arg, struct ms_rpc_call *call, void **state);
    int (*del)(void *ops_arg, struct ms_rpc_call *call, const struct ms_node_ref *ref,
               void **state);
    int (*stat)(void *ops_arg, struct ms_rpc_call *call, const struct ms_node_ref *ref,
                void **state);
    int (*list)(void *ops_arg, struct ms_rpc_call *call, const struct ms_node_page_req *req,
                void **state);
    int (*verify)(void *ops_arg, struct ms_rpc_call *call, const struct ms_node_ref *ref,
                  void **state);
    int (*scrub_report)(void *ops_arg, struct ms_rpc_call *call,
                        const struct ms_node_page_req *req, void **state);
    int (*info)(void *ops_arg, struct ms_rpc_call *call, void **state);
    void (*call_done)(void *ops_arg, struct ms_rpc_call *call, void **state, int code);
};

/* ---- server side ---------------------------------------------------------------------- */

/* What the Node service's methods call: the core's ops and their argument. Lives in the
 * caller's storage and must outlive every server or loopback client made from the table. */
struct ms_node_rpc_binding {
    const struct ms_node_rpc_ops *ops; /* every op set (asserted) */
    void *ops_arg;
};

/* Fills out[0 .. MS_NODE_RPC_METHODS) with the Node service's methods bound to *binding
 * (borrowed, see above). */
void ms_node_rpc_methods(const struct ms_node_rpc_binding *binding,
                         struct ms_rpc_method out[MS_NODE_RPC_METHODS]);

/* Answers PutFragment (status OK). Returns 0 or -ECANCELED / -ENOMEM (then the call is failed
 * with -ENOMEM). Any thread, while the core holds the call's turn. */
MS_MUST_CHECK int ms_node_rpc_reply_put(struct ms_rpc_call *call,
                                        const struct ms_node_put_result *res);

/* Sends one GetFragment message: offset of data[0] in the stored fragment, the fragment's
 * total length, and len (1 .. MS_RPC_MAX_CHUNK_BYTES) bytes. buf is a malloc'd buffer holding
 * data (data may point inside it); it is consumed: freed by the layer once sent (or at once on
 * failure). Returns 0, -ECANCELED (call over), -ENOMEM. */
MS_MUST_CHECK int ms_node_rpc_send_data(struct ms_rpc_call *call, uint64_t offset,
                                        uint64_t fragment_length, void *buf, const uint8_t *data,
                                        size_t len);

/* Unary answers. Each encodes the struct and sends status OK; returns 0, -ECANCELED, or
 * -ENOMEM (then the call is failed with -ENOMEM). Any thread, while holding the turn. */
MS_MUST_CHECK int ms_node_rpc_reply_delete(struct ms_rpc_call *call,
                                           const struct ms_node_delete_result *res);
MS_MUST_CHECK int ms_node_rpc_reply_stat(struct ms_rpc_call *call,
                                         const struct ms_node_entry *entry);
MS_MUST_CHECK int ms_node_rpc_reply_list(struct ms_rpc_call *call,
                                         const struct ms_node_list_page *page);
MS_MUST_CHECK int ms_node_rpc_reply_verify(struct ms_rpc_call *call,
                                           const struct ms_node_damage *res);
MS_MUST_CHECK int ms_node_rpc_reply_scrub(struct ms_rpc_call *call,
                                          const struct ms_node_scrub_page *page);
MS_MUST_CHECK int ms_node_rpc_reply_info(struct ms_rpc_call *call,
                                         const struct ms_node_info *info);

/* ---- request parsing (untrusted bytes; used by the adapter, unit tests and fuzzers) ------ */

/* Each parser unpacks len bytes of one request message and validates every field as in the
 * table at the top of this file. Returns 0 and fills *out (only on success), or
 * -MEDSTORE_EFORMAT (bad request: INVALID_ARGUMENT), -MEDSTORE_ERANGE (OUT_OF_RANGE), -ENOMEM;
 * *why is always set to a static human message ("object_id must be 16 bytes"; "ok"). */

/* First PutFragment message: must hold exactly the header member. */
MS_MUST_CHECK int ms_node_rpc_parse_put_header(const uint8_t *buf, size_t len,
                                               struct ms_node_put_hdr *out, const char **why);

/* A later PutFragment message: must hold exactly the data member, 1 .. MS_RPC_MAX_CHUNK_BYTES
 * bytes. Returns 0 and *data as a view into msg (pieces written to iov, at most max_iov;
 * lives as long as msg) without copying. */
MS_MUST_CHECK int ms_node_rpc_parse_put_data(const struct ms_rpc_msg *msg, struct ms_rpc_msg *data,
                                             struct ms_rpc_iov *iov, size_t max_iov,
                                             const char **why);

MS_MUST_CHECK int ms_node_rpc_parse_get(const uint8_t *buf, size_t len,
                                        struct ms_node_get_req *out, const char **why);

/* DeleteFragment, StatFragment and VerifyFragment requests (one FragmentRef each). */
MS_MUST_CHECK int ms_node_rpc_parse_ref_req(const uint8_t *buf, size_t len,
                                            struct ms_node_ref *out, const char **why);

/* ListFragments and ScrubReport requests (same shape). */
MS_MUST_CHECK int ms_node_rpc_parse_page(const uint8_t *buf, size_t len,
                                         struct ms_node_page_req *out, const char **why);

/* NodeInfo request: empty; unknown fields are refused. */
MS_MUST_CHECK int ms_node_rpc_parse_info(const uint8_t *buf, size_t len, const char **why);

/* ---- client side ---------------------------------------------------------------------- */

/* Options of one client call: deadline and the capability token (120 bytes, data RPCs). */
struct ms_node_call_opts {
    unsigned deadline_ms; /* 0 = the client's default */
    const uint8_t *token; /* NULL = none (service RPCs) */
    size_t token_len;
};

/* PutFragment: sends the header message, then data[0 .. len) in chunks of chunk_bytes
 * (0 = 1 MiB; at most MS_RPC_MAX_CHUNK_BYTES), where the fragment is frag_header (128 bytes)
 * followed by data. data is borrowed until the call returns (sent without copies). Fills *res
 * (may be NULL) and *st (may be NULL). Returns 0 or the call's code (ms_rpc_stream_finish). */
MS_MUST_CHECK int ms_node_rpc_put(struct ms_rpc_client *c, const struct ms_node_call_opts *opts,
                                  const struct ms_node_ref *ref, const uint8_t *frag_header,
                                  const uint8_t *data, size_t len, size_t chunk_bytes,
                                  struct ms_node_put_result *res, struct ms_rpc_status *st);

/* GetFragment: streams the range into out[0 .. cap), requiring contiguous offsets starting at
 * the first one received. Sets *out_len and *fragment_length (may be NULL). Returns 0, -ENOBUFS
 * (more than cap bytes), -MEDSTORE_EFORMAT (malformed answer) or the call's code. */
MS_MUST_CHECK int ms_node_rpc_get(struct ms_rpc_client *c, const struct ms_node_call_opts *opts,
                                  const struct ms_node_get_req *req, uint8_t *out, size_t cap,
                                  size_t *out_len, uint64_t *fragment_length,
                                  struct ms_rpc_status *st);

MS_MUST_CHECK int ms_node_rpc_delete(struct ms_rpc_client *c, const struct ms_node_call_opts *opts,
                                     const struct ms_node_ref *ref,
                                     struct ms_node_delete_result *res, struct ms_rpc_status *st);

MS_MUST_CHECK int ms_node_rpc_stat(struct ms_rpc_client *c, const struct ms_node_call_opts *opts,
                                   const struct ms_node_ref *ref, struct ms_node_entry *out,
                                   struct ms_rpc_status *st);

/* ListFragments: fills out[0 .. cap) and *n, *has_next, *next. */
MS_MUST_CHECK int ms_node_rpc_list(struct ms_rpc_client *c, const struct ms_node_call_opts *opts,
                                   const struct ms_node_page_req *req, struct ms_node_entry *out,
                                   size_t cap, size_t *n, bool *has_next,
                                   struct ms_node_ref *next, struct ms_rpc_status *st);

MS_MUST_CHECK int ms_node_rpc_verify(struct ms_rpc_client *c, const struct ms_node_call_opts *opts,
                                     const struct ms_node_ref *ref, struct ms_node_damage *out,
                                     struct ms_rpc_status *st);

/* ScrubReport: fills out[0 .. cap), *n, *has_next, *next and the two counters of *page (its
 * entries pointer is set to out). */
MS_MUST_CHECK int ms_node_rpc_scrub(struct ms_rpc_client *c, const struct ms_node_call_opts *opts,
                                    const struct ms_node_page_req *req,
                                    struct ms_node_damage *out, size_t cap,
                                    struct ms_node_scrub_page *page, struct ms_rpc_status *st);

/* NodeInfo: fills *out (strings longer than its arrays are cut). */
MS_MUST_CHECK int ms_node_rpc_info(struct ms_rpc_client *c, const struct ms_node_call_opts *opts,
                                   struct ms_node_info *out, struct ms_rpc_status *st);

/* Encodes the first PutFragment message (header member) into a malloc'd buffer (*out, caller
 * frees). Returns 0, -EINVAL (bad ref) or -ENOMEM. For tests that drive the stream by hand. */
MS_MUST_CHECK int ms_node_rpc_encode_put_header(const struct ms_node_ref *ref,
                                                uint64_t total_length,
                                                const uint8_t *frag_header, size_t hdr_len,
                                                uint8_t **out, size_t *out_len);

/* Sends raw request bytes to a unary Node method (tests of malformed requests). */
MS_MUST_CHECK int ms_node_rpc_raw_unary(struct ms_rpc_client *c,
                                        const struct ms_node_call_opts *opts, const char *method,
                                        const uint8_t *req, size_t len, struct ms_rpc_status *st);

#endif
