/*
 * bench_node.h - bench-node's parts: the node under test (a real medstore-node process with a
 * throw-away PKI), synthetic fragments, fio on the same disk.
 *
 * Not for production code. Thread safety: setup and teardown on the main thread; the put
 * loops share only read-only fragment templates and the client (thread safe).
 */
#ifndef MS_BENCH_NODE_H
#define MS_BENCH_NODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/ids.h"
#include "rpc/captoken.h"
#include "rpc/rpc.h"

#define BN_PATH 1024

/* A node run: its directory, PKI, process and port. */
struct bn_node {
    char dir[BN_PATH];     /* run directory: pki/, data/, node.conf, node.log */
    char bin[BN_PATH];     /* medstore-node */
    pid_t pid;
    int port;
    unsigned sessions;     /* max_put_sessions in the config */
    unsigned run;          /* the store of this start is data-<run>/ */
};

/* Removes data-<run>/ of n. Returns 0 or -1. */
MS_MUST_CHECK int bn_node_drop_data(const struct bn_node *n);

/* Makes dir/pki (cluster CA, node-1, principal "bench", token key 1). Returns 0 or -errno. */
MS_MUST_CHECK int bn_pki_make(const char *dir);

/* Writes the config, starts the node on an empty store data-<run>/ (removed first if there),
 * waits up to 30 s for its listening line. Returns 0 or -1 (the log says why). */
MS_MUST_CHECK int bn_node_start(struct bn_node *n);

/* SIGTERM and wait (bounded, then SIGKILL). Returns the exit status. */
int bn_node_stop(struct bn_node *n);

/* An mTLS client as principal "bench" with `connections` channels. */
MS_MUST_CHECK int bn_client(const struct bn_node *n, unsigned connections,
                            struct ms_rpc_client **out);

/* The token signer of the run's PKI. */
MS_MUST_CHECK int bn_signer(const struct bn_node *n, struct ms_captoken_signer **out);

/* A fragment template: header fields and the bytes after the header (records + index), valid
 * for any object id (record checksums bind segment and fragment index, not the object). */
struct bn_frag {
    uint8_t *body;    /* records + index: the data of a put after its header */
    size_t body_len;
    uint32_t n_seg;
    uint32_t payload; /* bytes per record */
};

/* Builds a fragment of n_seg records of payload bytes (multiple of 64) with seeded bytes.
 * Returns 0 or -ENOMEM / a codec code. */
MS_MUST_CHECK int bn_frag_build(struct bn_frag *f, uint32_t n_seg, uint32_t payload,
                                uint64_t seed);
void bn_frag_free(struct bn_frag *f);

/* The 128-byte header of the template for object oid (fragment index 0). */
MS_MUST_CHECK int bn_frag_header(const struct bn_frag *f, const struct ms_oid *oid,
                                 uint8_t hdr[128]);

/* fio results of the same run (0 when fio is missing or failed). */
struct bn_fio {
    double seq_write_mib_s;   /* 1 MiB O_DIRECT sequential write, QD16 */
    double sync4k_iops;       /* 4 KiB O_DIRECT write + fdatasync, QD1 */
};

/* Runs both fio jobs in dir (files removed afterwards): seq for seq_s seconds over a file of
 * size_bytes, then 4 KiB + fdatasync for sync_s seconds. */
void bn_fio_run(const char *dir, unsigned seq_s, unsigned sync_s, uint64_t size_bytes,
                struct bn_fio *out);

/* Bytes free for an unprivileged writer in dir's filesystem (0 on error). */
uint64_t bn_free_bytes(const char *dir);

#endif
