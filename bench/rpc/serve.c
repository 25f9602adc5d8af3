/*
 * serve.c - the server side of bench-rpc: a sink service on src/rpc (what a node's data path
 * costs at the transport, without the disk), or the TLS socket server.
 *
 * Sink Put finds each chunk's payload in place (ms_rpc_pb_scan, as the node does) and only
 * counts it; Echo returns the request. The process blocks SIGTERM before gRPC starts and stops
 * through ms_rpc_sigwait_start + ms_rpc_server_request_stop, the daemon pattern of init.c.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_rpc.h"
#include "common/log.h"
#include "common/ms_assert.h"

void bench_certs_paths(struct bench_certs *bc)
{
    snprintf(bc->ca, sizeof(bc->ca), "%s/ca/ca.crt", bc->dir);
    snprintf(bc->paths[0], sizeof(bc->paths[0]), "%s/ca/node-1.crt", bc->dir);
    snprintf(bc->paths[1], sizeof(bc->paths[1]), "%s/ca/node-1.key", bc->dir);
    snprintf(bc->paths[2], sizeof(bc->paths[2]), "%s/ca/bench-client.crt", bc->dir);
    snprintf(bc->paths[3], sizeof(bc->paths[3]), "%s/ca/bench-client.key", bc->dir);
    bc->server = (struct ms_rpc_tls_files){bc->ca, bc->paths[0], bc->paths[1]};
    bc->client = (struct ms_rpc_tls_files){bc->ca, bc->paths[2], bc->paths[3]};
}

struct sink {
    uint64_t bytes;
    struct ms_rpc_iov *iov;
    size_t cap;
};

static int sink_msg_cb(struct ms_rpc_call *call, const struct ms_rpc_msg *msg, void *arg)
{
    (void)arg;
    struct sink *k = ms_rpc_call_ctx(call);
    if (k == NULL) {
        k = calloc(1, sizeof(*k));
        if (k == NULL)
            return -ENOMEM;
        ms_rpc_call_set_ctx(call, k);
    }
    if (k->cap < msg->niov + 1) {
        struct ms_rpc_iov *iov = realloc(k->iov, (msg->niov + 1) * sizeof(*iov));
        if (iov == NULL)
            return -ENOMEM;
        k->iov = iov;
        k->cap = msg->niov + 1;
    }
    uint64_t seen;
    struct ms_rpc_msg view;
    int rc = ms_rpc_pb_scan(msg, 15, &seen, &view, k->iov, k->cap);
    if (rc == 1)
        k->bytes += view.len;
    return rc < 0 ? rc : 0;
}

static int sink_end_cb(struct ms_rpc_call *call, void *arg)
{
    (void)arg;
    struct sink *k = ms_rpc_call_ctx(call);
    uint64_t *out = malloc(sizeof(*out));
    if (out == NULL)
        return -ENOMEM;
    *out = k ? k->bytes : 0;
    struct ms_rpc_seg seg = ms_rpc_seg_malloced(out, sizeof(*out));
    return ms_rpc_call_reply(call, &seg, 1);
}

static void sink_done_cb(struct ms_rpc_call *call, int code, void *arg)
{
    (void)code;
    (void)arg;
    struct sink *k = ms_rpc_call_ctx(call);
    if (k != NULL) {
        free(k->iov);
        free(k);
    }
}

static int echo_cb(struct ms_rpc_call *call, const struct ms_rpc_msg *msg, void *arg)
{
    (void)arg;
    uint8_t *buf = malloc(msg->len ? msg->len : 1);
    if (buf == NULL)
        return -ENOMEM;
    MS_ASSERT(ms_rpc_msg_copy(msg, 0, buf, msg->len) == 0);
    struct ms_rpc_seg seg = ms_rpc_seg_malloced(buf, msg->len);
    return ms_rpc_call_reply(call, &seg, 1);
}

static const struct ms_rpc_method sink_methods[] = {
    {.path = BENCH_SINK_PUT, .kind = MS_RPC_CLIENT_STREAMING, .on_message_cb = sink_msg_cb,
     .on_end_cb = sink_end_cb, .on_done_cb = sink_done_cb},
    {.path = BENCH_SINK_ECHO, .kind = MS_RPC_UNARY, .on_message_cb = echo_cb},
};

static void stop_cb(int signo, void *arg)
{
    (void)signo;
    ms_rpc_server_request_stop(arg);
}

int bench_serve(const char *kind, const char *certdir)
{
    struct bench_certs bc;
    snprintf(bc.dir, sizeof(bc.dir), "%s", certdir);
    bench_certs_paths(&bc);
    ms_log_set_level(MS_LOG_WARN);
    if (ms_rpc_signals_block() != 0)
        return 1;
    if (strcmp(kind, "tls") == 0)
        return bench_tls_serve(&bc);
    bool window = strcmp(kind, "grpc-tuned-window") == 0;
    bool tuned = window || strcmp(kind, "grpc-tuned") == 0;
    if (!tuned && strcmp(kind, "grpc") != 0)
        return 2;
    ms_rpc_init();
    struct ms_rpc_server_config cfg = {.listen_addr = "127.0.0.1:0", .tls = bc.server,
                                       .data_tuning = tuned,
                                       .stream_window_bytes = window ? FIXED_WINDOW_BYTES : 0};
    const char *quota = getenv("MS_BENCH_RPC_QUOTA_MIB");
    if (quota != NULL)
        cfg.memory_quota_bytes = (size_t)strtoul(quota, NULL, 10) << 20;
    struct ms_rpc_server *srv;
    struct ms_rpc_sigwait *sw;
    if (ms_rpc_server_create(&cfg, sink_methods, 2, &srv) != 0 || ms_rpc_server_start(srv) != 0)
        return 1;
    if (ms_rpc_sigwait_start(stop_cb, srv, &sw) != 0)
        return 1;
    printf("PORT %d\n", ms_rpc_server_port(srv));
    fflush(stdout);
    ms_rpc_server_wait(srv);
    ms_rpc_sigwait_stop(sw);
    ms_rpc_server_destroy(srv);
    ms_rpc_fini();
    return 0;
}
