/*
 * bench_rpc.h - shared by the files of bench-rpc: certificate paths, the sink service the gRPC
 * servers run, the TLS socket comparison, and one streaming job.
 */
#ifndef MS_BENCH_RPC_BENCH_RPC_H
#define MS_BENCH_RPC_BENCH_RPC_H

#include <stddef.h>
#include <stdint.h>

#include "benchlib.h"
#include "rpc/rpc.h"

#define BENCH_PATH_MAX 256
/* Client streaming: PutFragment-shaped chunks (bytes field 15); replies the u64 byte count. */
#define BENCH_SINK_PUT "/medstore.bench.Sink/Put"
/* Unary echo. */
#define BENCH_SINK_ECHO "/medstore.bench.Sink/Echo"

/* Certificates of one run, all under dir: ca/ca.crt, ca/node-1.*, ca/bench-client.*. */
struct bench_certs {
    char dir[BENCH_PATH_MAX];
    char ca[BENCH_PATH_MAX + 32];
    char paths[4][BENCH_PATH_MAX + 32];
    struct ms_rpc_tls_files server;
    struct ms_rpc_tls_files client;
};

/* Monotonic seconds. */
static inline double bench_now_s(void)
{
    return (double)ms_bench_clock_ns() / 1e9;
}

/* Fills the paths from bc->dir. */
void bench_certs_paths(struct bench_certs *bc);

/* One streaming connection of a run: sends msg_bytes messages until t_end, then reads the
 * server's count of payload bytes into acked. rc: 0 or a code. */
struct stream_job {
    struct ms_rpc_client *c;      /* gRPC runs */
    const struct bench_certs *bc; /* TLS socket runs */
    int port;
    size_t msg_bytes;
    size_t put_bytes; /* gRPC: > 0 = put-shaped calls of put_bytes each (bench_rpc.c) */
    double t_end;
    uint64_t acked;
    int rc;
};

/* The fixed HTTP/2 stream window of the "grpc-tuned-window" server: medstore-node's
 * rpc_stream_window default (src/node/node.c), so the ceiling has the node's tuning too. */
#define FIXED_WINDOW_BYTES (16u << 20)

/* The server process: kind "grpc", "grpc-tuned", "grpc-tuned-window" (tuned, plus the fixed
 * stream window with BDP probing off) or "tls"; prints "PORT <n>" on stdout and serves until
 * SIGTERM. Returns the process exit code. */
int bench_serve(const char *kind, const char *certdir);

/* TLS socket server (in the server process) and client job (a thread of the driver). */
int bench_tls_serve(const struct bench_certs *bc);
void *bench_tls_stream_main(void *arg);

#endif
