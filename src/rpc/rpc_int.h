/*
 * rpc_int.h - private to src/rpc's transport files: the server-call base struct shared by the
 * gRPC and loopback implementations, gRPC helpers (credentials, channel arguments, byte
 * buffers) and test hooks. Nothing outside src/rpc includes it (STYLE.md section 2).
 */
#ifndef MS_RPC_RPC_INT_H
#define MS_RPC_RPC_INT_H

#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>

#include "rpc/rpc.h"

/* What a server call does when its handler acts; one table per transport. Called by the
 * ms_rpc_call_* functions after their argument checks. */
struct rpc_call_ops {
    int (*send)(struct ms_rpc_call *call, const struct ms_rpc_seg *segs, size_t nsegs);
    int (*reply)(struct ms_rpc_call *call, const struct ms_rpc_seg *segs, size_t nsegs);
    int (*finish)(struct ms_rpc_call *call, int code, const char *reason, const char *message);
    int (*resume)(struct ms_rpc_call *call);
    int (*metadata)(const struct ms_rpc_call *call, const char *key, const uint8_t **value,
                    size_t *len);
    int64_t (*deadline_left_ms)(const struct ms_rpc_call *call);
};

/* Base of every server call; transports embed it first. */
struct ms_rpc_call {
    const struct rpc_call_ops *ops;
    const struct ms_rpc_method *method;
    void *ctx;
    char principal[MS_RPC_PRINCIPAL_MAX + 1];
};

/* ---- tls.c -------------------------------------------------------------------------------- */

/* Loads and checks the PEM files (CA parses, certificate matches key) and builds server
 * credentials that require and verify a client certificate from that CA. Returns 0 and *out
 * (release with grpc_server_credentials_release), or -MEDSTORE_ECONFIG with a log line. */
MS_MUST_CHECK int rpc_tls_server_creds(const struct ms_rpc_tls_files *files,
                                       grpc_server_credentials **out);

/* Same for a client: trusts only the CA, presents the certificate. */
MS_MUST_CHECK int rpc_tls_channel_creds(const struct ms_rpc_tls_files *files,
                                        grpc_channel_credentials **out);

/* Reads the peer principal of a server call: the authenticated peer's certificate must carry
 * exactly one CN of 1..MS_RPC_PRINCIPAL_MAX characters of [A-Za-z0-9._@-]. Writes it NUL
 * terminated into out. Returns 0, or -MEDSTORE_EDENIED with *why set to a static text. */
MS_MUST_CHECK int rpc_tls_peer_principal(grpc_call *call, char out[MS_RPC_PRINCIPAL_MAX + 1],
                                         const char **why);

/* ---- grpc_util.c ---------------------------------------------------------------------------- */

/* Channel arguments shared by servers and clients. */
struct rpc_args {
    grpc_arg arg[10];
    grpc_channel_args args;
};

/* Fills a with the message limits (max_message_bytes both ways), the 1 MiB TCP read chunks when
 * data_tuning, the local subchannel pool when local_pool (each channel its own connection), and
 * the TLS target name override when override_name is set (borrowed: must outlive a). */
void rpc_args_init(struct rpc_args *a, size_t max_message_bytes, bool data_tuning,
                   bool local_pool, const char *override_name);

/* Adds an integer argument (key borrowed: a string literal). */
void rpc_args_add_int(struct rpc_args *a, const char *key, int value);

/* Adds a resource quota of bytes to a (gRPC copies the argument and takes its own reference;
 * the caller unrefs quota after creating the server or channel). */
void rpc_args_add_quota(struct rpc_args *a, grpc_resource_quota *quota);

/* Makes a byte buffer of the segments without copying lent bytes (grpc_slice_new_with_user_data;
 * the release callbacks run when gRPC drops the slices). The segments are consumed. Returns NULL
 * only when nsegs > MS_RPC_MAX_SEGS (a caller bug). */
grpc_byte_buffer *rpc_bb_from_segs(const struct ms_rpc_seg *segs, size_t nsegs);

/* A received message: the byte buffer, its reader (which owns decompressed slices, if any) and
 * the views handed out. */
struct rpc_inmsg {
    grpc_byte_buffer *bb;
    grpc_byte_buffer_reader rd;
    bool loaded;
    struct ms_rpc_iov *iov;
    size_t iov_cap;
    struct ms_rpc_msg msg;
};

/* Takes ownership of bb and builds the views. Returns 0 or -ENOMEM (bb destroyed then). */
MS_MUST_CHECK int rpc_inmsg_load(struct rpc_inmsg *m, grpc_byte_buffer *bb);

/* Drops the loaded message (keeps the iov array for reuse). */
void rpc_inmsg_release(struct rpc_inmsg *m);

/* Frees everything. */
void rpc_inmsg_fini(struct rpc_inmsg *m);

/* Milliseconds from now to deadline (INT64_MAX for an infinite deadline). */
int64_t rpc_deadline_left_ms(gpr_timespec deadline);

/* Deadline deadline_ms from now on the monotonic clock. */
gpr_timespec rpc_deadline_in(unsigned deadline_ms);

/* Copies a slice into a NUL-terminated buffer of cap bytes, truncating and replacing bytes
 * outside printable ASCII with '?' (peer text goes into logs). */
void rpc_slice_to_text(grpc_slice s, char *out, size_t cap);

/* ---- status.c ------------------------------------------------------------------------------- */

/* Walks every reason (MEDSTORE band, errno, finer ones), for tests and docs. Returns 0 and the
 * row, or -ENOENT past the end. */
int ms_rpc_reason_table_row(unsigned i, int *code, const char **reason);

#endif
