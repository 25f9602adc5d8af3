/*
 * bench_rpc.c - bench-rpc: the transport ceiling of this machine, in one run.
 *
 * What it measures (PERF.md "rpc" and "unary"), client and server in two processes on loopback,
 * both with mutual TLS from one run-time CA (certificates made by the cluster CA library):
 *   - gRPC client streaming of 1 MiB and 4 MiB messages through src/rpc (the layer the node and
 *     the client use: zero-copy send, payload found in place with ms_rpc_pb_scan), with gRPC's
 *     default arguments, with the GRPC-NOTES tuning (1 MiB TCP read chunks), and tuned with
 *     the data servers' fixed 16 MiB stream window (BDP probing off, what medstore-node runs);
 *   - a plain TLS socket (OpenSSL, same certificates, TLS 1.3) moving the same frames, for
 *     comparison;
 *   - 1 KiB unary round trips over mTLS, 16 in flight on 2 connections: calls/s, p50, p99.
 * Each figure is the median of 3 runs; CPU is client + server CPU seconds per GiB moved
 * (all threads, from /proc), so the transport's cost per byte can be carried into other
 * benchmarks. gRPC streams share CONNS connections; the TLS socket uses CONNS connections.
 *
 * Servers are this program re-executed (`bench-rpc --serve KIND CERTDIR`; fork + exec keeps gRPC
 * out of a forked copy of an initialised process); they print their port and stop on SIGTERM
 * through the ms_rpc signal helpers. Nothing is written to disk but the certificates.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench_rpc.h"
#include "common/log.h"
#include "common/ms_assert.h"
#include "rpc/certs.h"
#include "rpc/rpc.h"

#define RUNS 3
#define CONNS 2
#define MAX_STREAMS 16
#define NSETTINGS 11
#define PUT_CONNS 8          /* the put-shaped row: bench-node's 8 clients on 8 connections */
#define PUT_BYTES (4u << 20) /* ... each call one 4 MiB fragment, as a PutFragment carries */
#define NSERVERS 4

/* One line of the table: what runs against which server. */
struct setting {
    const char *name;
    size_t msg_bytes;
    int server;  /* 0 gRPC default args, 1 gRPC tuned, 2 TLS socket, 3 tuned + window */
    int streams; /* gRPC streams over CONNS connections (TLS: CONNS connections) */
    int conns;   /* connections; 0 = CONNS */
    size_t put_bytes; /* 0: each stream lives for the whole run; > 0: put-shaped, each call
                       * carries put_bytes in msg_bytes messages, half-closes and waits for
                       * the answer before the next call (a PutFragment on a null store) */
};

/* GRPC-NOTES: a second connection beats more calls on one, and 8 x 1 MiB in flight helped:
 * the tuned setting runs both with one stream per connection and with 8 streams. */
static const struct setting settings[NSETTINGS] = {
    {"gRPC mTLS, default args", 1u << 20, 0, CONNS, 0, 0},
    {"gRPC mTLS, default args", 4u << 20, 0, CONNS, 0, 0},
    {"gRPC mTLS, tuned", 1u << 20, 1, CONNS, 0, 0},
    {"gRPC mTLS, tuned", 4u << 20, 1, CONNS, 0, 0},
    {"gRPC mTLS, tuned", 1u << 20, 1, 8, 0, 0},
    {"gRPC mTLS, tuned", 4u << 20, 1, 8, 0, 0},
    {"TLS 1.3 socket (OpenSSL)", 1u << 20, 2, CONNS, 0, 0},
    {"TLS 1.3 socket (OpenSSL)", 4u << 20, 2, CONNS, 0, 0},
    {"gRPC mTLS, tuned, 16M win", 1u << 20, 3, CONNS, 0, 0},
    {"gRPC mTLS, tuned, 16M win", 1u << 20, 3, 8, 0, 0},
    {"gRPC put-shaped, 16M win", 1u << 20, 3, PUT_CONNS, PUT_CONNS, PUT_BYTES},
};
#define PUT_ROW (NSETTINGS - 1) /* not a ceiling: the node's call pattern with no store */
#define UNARY_THREADS 16
#define UNARY_CONNS 2
#define UNARY_BYTES 1024

/* One streaming setting's result (medians). */
struct row {
    const char *setting;
    size_t msg_bytes;
    int streams;
    double mib_s;
    double cpu_s_per_gib;
    double client_cpu_s_per_gib;
    double server_cpu_s_per_gib;
};

struct server_proc {
    pid_t pid;
    int port;
};

/* ---- certificates and servers ------------------------------------------------------------- */

static void make_certs(struct bench_certs *bc)
{
    char *base = getenv("TMPDIR");
    snprintf(bc->dir, sizeof(bc->dir), "%s/medstore-bench-rpc-XXXXXX",
             base && base[0] ? base : "/tmp");
    MS_ASSERT(mkdtemp(bc->dir) != NULL);
    char ca[BENCH_PATH_MAX + 8];
    snprintf(ca, sizeof(ca), "%s/ca", bc->dir);
    struct ms_certs_error err;
    const char *ip[1] = {"127.0.0.1"};
    struct ms_certs_leaf server = {.cn = "node-1", .ips = ip, .n_ips = 1};
    struct ms_certs_leaf client = {.cn = "bench-client", .ips = ip, .n_ips = 1};
    if (ms_certs_ca_init(ca, "bench-ca", 1, &err) != 0 || ms_certs_issue(ca, &server, &err) != 0 ||
        ms_certs_issue(ca, &client, &err) != 0) {
        fprintf(stderr, "bench-rpc: cannot make certificates: %s\n", err.msg);
        exit(1);
    }
    bench_certs_paths(bc);
}

static void rm_certs(const struct bench_certs *bc)
{
    const char *files[] = {bc->ca, bc->server.cert_path, bc->server.key_path,
                           bc->client.cert_path, bc->client.key_path};
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
        unlink(files[i]);
    char p[BENCH_PATH_MAX + 16];
    snprintf(p, sizeof(p), "%s/ca/ca.key", bc->dir);
    unlink(p);
    snprintf(p, sizeof(p), "%s/ca", bc->dir);
    rmdir(p);
    rmdir(bc->dir);
}

static struct server_proc spawn_server(const char *kind, const char *certdir)
{
    int fds[2];
    MS_ASSERT(pipe(fds) == 0);
    pid_t pid = fork();
    MS_ASSERT(pid >= 0);
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGTERM); /* never outlive the driver */
        dup2(fds[1], 1);
        close(fds[0]);
        char *argv[] = {"bench-rpc", "--serve", (char *)kind, (char *)certdir, NULL};
        execv("/proc/self/exe", argv);
        _exit(127);
    }
    close(fds[1]);
    FILE *f = fdopen(fds[0], "r");
    struct server_proc sp = {.pid = pid};
    if (f == NULL || fscanf(f, "PORT %d", &sp.port) != 1 || sp.port <= 0) {
        fprintf(stderr, "bench-rpc: server %s did not start\n", kind);
        exit(1);
    }
    fclose(f);
    return sp;
}

static long stop_server(struct server_proc *sp)
{
    struct ms_bench_procstat ps;
    long kib = ms_bench_procstat_read(sp->pid, &ps) == 0 ? (long)(ps.rss_peak_bytes >> 10) : 0;
    kill(sp->pid, SIGTERM);
    int status = 0;
    waitpid(sp->pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fprintf(stderr, "bench-rpc: server %ld did not exit cleanly\n", (long)sp->pid);
    return kib;
}

/* ---- one measured window -------------------------------------------------------------------- */

struct window {
    double t0;
    struct ms_bench_procstat c0, s0;
};

static void window_start(struct window *w, pid_t server)
{
    MS_ASSERT(ms_bench_procstat_read(0, &w->c0) == 0);
    MS_ASSERT(ms_bench_procstat_read(server, &w->s0) == 0);
    w->t0 = bench_now_s();
}

/* Ends the window: seconds, and CPU seconds of client and server. */
static double window_end(const struct window *w, pid_t server, double *client_cpu,
                         double *server_cpu)
{
    double t1 = bench_now_s();
    struct ms_bench_procstat c1, s1;
    MS_ASSERT(ms_bench_procstat_read(0, &c1) == 0);
    MS_ASSERT(ms_bench_procstat_read(server, &s1) == 0);
    *client_cpu = ms_bench_procstat_cpu_s(&w->c0, &c1);
    *server_cpu = ms_bench_procstat_cpu_s(&w->s0, &s1);
    return t1 - w->t0;
}

/* ---- streaming ------------------------------------------------------------------------------ */


static const uint8_t *payload(void)
{
    static uint8_t *buf;
    if (buf == NULL) {
        buf = malloc(MS_RPC_MAX_CHUNK_BYTES);
        MS_ASSERT(buf != NULL);
        for (size_t i = 0; i < MS_RPC_MAX_CHUNK_BYTES; i++)
            buf[i] = (uint8_t)(i * 2654435761u >> 13); /* not compressible, not zero */
    }
    return buf;
}

static void lent_cb(void *arg)
{
    (void)arg; /* the payload is static: nothing to release */
}

/* One Sink Put call: msg_bytes messages until t_end (limit 0: no byte limit) or until limit
 * bytes are sent, then the half-close and the sink's count, added to j->acked. */
static void grpc_one_call(struct stream_job *j, uint64_t limit)
{
    struct ms_rpc_stream *s;
    struct ms_rpc_call_opts opts = {.deadline_ms = 120000};
    j->rc = ms_rpc_stream_open(j->c, BENCH_SINK_PUT, &opts, &s);
    if (j->rc < 0)
        return;
    const uint8_t *p = payload();
    uint64_t sent = 0;
    while (j->rc == 0 && (limit > 0 ? sent < limit : bench_now_s() < j->t_end)) {
        uint8_t prefix[MS_RPC_PB_PREFIX_MAX];
        struct ms_rpc_seg segs[2] = {
            {.ptr = prefix, .len = ms_rpc_pb_bytes_prefix(15, j->msg_bytes, prefix)},
            {.ptr = p, .len = j->msg_bytes, .release_cb = lent_cb},
        };
        j->rc = ms_rpc_stream_send(s, segs, 2);
        sent += j->msg_bytes;
    }
    if (j->rc == 0)
        j->rc = ms_rpc_stream_close_send(s);
    struct ms_rpc_msg m;
    uint64_t got = 0;
    if (j->rc == 0 && ms_rpc_stream_recv(s, &m) == 1 && m.len == 8)
        MS_ASSERT(ms_rpc_msg_copy(&m, 0, &got, 8) == 0);
    int code = ms_rpc_stream_finish(s, NULL);
    if (j->rc == 0)
        j->rc = code;
    if (j->rc == 0 && limit > 0 && got != limit)
        j->rc = -EBADMSG; /* the sink must have seen the whole call */
    j->acked += got;
    ms_rpc_stream_destroy(s);
}

/* A long-lived stream for the whole run, or put-shaped calls back to back until t_end. */
static void *grpc_stream_main(void *arg)
{
    struct stream_job *j = arg;
    if (j->put_bytes == 0) {
        grpc_one_call(j, 0);
        return NULL;
    }
    MS_ASSERT(j->msg_bytes > 0 && j->put_bytes % j->msg_bytes == 0);
    while (j->rc == 0 && bench_now_s() < j->t_end)
        grpc_one_call(j, j->put_bytes);
    return NULL;
}

/* One run of STREAMS parallel jobs; returns MiB/s and fills CPU seconds per GiB. */
static double stream_run(struct stream_job *jobs, int njobs, void *(*fn)(void *), pid_t server,
                         double seconds, double *client_s_gib, double *server_s_gib)
{
    pthread_t t[MAX_STREAMS];
    struct window w;
    window_start(&w, server);
    for (int i = 0; i < njobs; i++) {
        jobs[i].t_end = w.t0 + seconds;
        jobs[i].acked = 0;
        MS_ASSERT(pthread_create(&t[i], NULL, fn, &jobs[i]) == 0);
    }
    uint64_t bytes = 0;
    for (int i = 0; i < njobs; i++) {
        pthread_join(t[i], NULL);
        if (jobs[i].rc != 0) {
            fprintf(stderr, "bench-rpc: stream failed: %s\n", medstore_strerror(jobs[i].rc));
            exit(1);
        }
        bytes += jobs[i].acked;
    }
    double cc, sc;
    double secs = window_end(&w, server, &cc, &sc);
    double gib = (double)bytes / (1024.0 * 1024 * 1024);
    *client_s_gib = cc / gib;
    *server_s_gib = sc / gib;
    return (double)bytes / (1024.0 * 1024) / secs;
}

/* Median of RUNS runs of one streaming setting. */
static struct row stream_setting(const struct setting *set, const struct server_proc *sp,
                                 const struct bench_certs *bc, double seconds)
{
    bool grpc = set->server != 2, tuned = set->server == 1 || set->server == 3;
    size_t msg_bytes = set->msg_bytes;
    double mib[RUNS], cpu[RUNS], ccpu[RUNS], scpu[RUNS];
    for (int r = 0; r < RUNS; r++) {
        struct stream_job jobs[MAX_STREAMS];
        int njobs = grpc ? set->streams : CONNS;
        MS_ASSERT(njobs >= 1 && njobs <= MAX_STREAMS);
        struct ms_rpc_client *c = NULL;
        if (grpc) {
            char target[64];
            snprintf(target, sizeof(target), "127.0.0.1:%d", sp->port);
            struct ms_rpc_client_config cfg = {.target = target, .tls = bc->client,
                                               .connections = set->conns ? set->conns : CONNS,
                                               .data_tuning = tuned};
            MS_ASSERT(ms_rpc_client_create(&cfg, &c) == 0);
        }
        for (int i = 0; i < njobs; i++)
            jobs[i] = (struct stream_job){.c = c, .bc = bc, .port = sp->port,
                                          .msg_bytes = msg_bytes, .put_bytes = set->put_bytes};
        mib[r] = stream_run(jobs, njobs, grpc ? grpc_stream_main : bench_tls_stream_main, sp->pid,
                            seconds, &ccpu[r], &scpu[r]);
        cpu[r] = ccpu[r] + scpu[r];
        ms_rpc_client_destroy(c);
    }
    struct row row = {.setting = set->name, .msg_bytes = msg_bytes, .streams = set->streams};
    row.mib_s = ms_bench_stats_median(mib, RUNS);
    row.cpu_s_per_gib = ms_bench_stats_median(cpu, RUNS);
    row.client_cpu_s_per_gib = ms_bench_stats_median(ccpu, RUNS);
    row.server_cpu_s_per_gib = ms_bench_stats_median(scpu, RUNS);
    return row;
}

/* ---- unary ---------------------------------------------------------------------------------- */

struct unary_job {
    struct ms_rpc_client *c;
    double t_end;
    uint64_t calls;
    struct ms_bench_hist lat; /* ns */
    int rc;
};

static void *unary_main(void *arg)
{
    struct unary_job *j = arg;
    static const uint8_t req[UNARY_BYTES];
    while (j->rc == 0) {
        double t0 = bench_now_s();
        if (t0 >= j->t_end)
            break;
        struct ms_rpc_seg seg = {.ptr = req, .len = sizeof(req)};
        uint8_t *resp = NULL;
        size_t len = 0;
        j->rc = ms_rpc_unary(j->c, BENCH_SINK_ECHO, NULL, &seg, 1, &resp, &len, NULL);
        free(resp);
        if (j->rc == 0 && len != UNARY_BYTES)
            j->rc = -EBADMSG;
        if (j->rc == 0)
            ms_bench_hist_record(&j->lat, (uint64_t)((bench_now_s() - t0) * 1e9));
        j->calls++;
    }
    return NULL;
}

struct unary_result {
    double calls_s, p50_us, p99_us, cpu_us_per_call;
};

static struct unary_result unary_run(const struct server_proc *sp, const struct bench_certs *bc,
                                     double seconds)
{
    char target[64];
    snprintf(target, sizeof(target), "127.0.0.1:%d", sp->port);
    struct ms_rpc_client_config cfg = {.target = target, .tls = bc->client,
                                       .connections = UNARY_CONNS};
    struct ms_rpc_client *c;
    MS_ASSERT(ms_rpc_client_create(&cfg, &c) == 0);
    struct unary_job *jobs = calloc(UNARY_THREADS, sizeof(*jobs));
    pthread_t t[UNARY_THREADS];
    MS_ASSERT(jobs != NULL);
    struct window w;
    window_start(&w, sp->pid);
    for (int i = 0; i < UNARY_THREADS; i++) {
        ms_bench_hist_reset(&jobs[i].lat);
        jobs[i].c = c;
        jobs[i].t_end = w.t0 + seconds;
        MS_ASSERT(pthread_create(&t[i], NULL, unary_main, &jobs[i]) == 0);
    }
    struct ms_bench_hist *all = malloc(sizeof(*all));
    MS_ASSERT(all != NULL);
    ms_bench_hist_reset(all);
    uint64_t calls = 0;
    for (int i = 0; i < UNARY_THREADS; i++) {
        pthread_join(t[i], NULL);
        if (jobs[i].rc != 0) {
            fprintf(stderr, "bench-rpc: unary failed: %s\n", medstore_strerror(jobs[i].rc));
            exit(1);
        }
        calls += jobs[i].calls;
        ms_bench_hist_merge(all, &jobs[i].lat);
    }
    double cc, sc;
    double secs = window_end(&w, sp->pid, &cc, &sc);
    struct unary_result r = {
        .calls_s = (double)calls / secs,
        .p50_us = (double)ms_bench_hist_pct(all, 50) / 1000,
        .p99_us = (double)ms_bench_hist_pct(all, 99) / 1000,
        .cpu_us_per_call = (cc + sc) / (double)calls * 1e6,
    };
    free(all);
    free(jobs);
    ms_rpc_client_destroy(c);
    return r;
}

static struct unary_result unary_setting(const struct server_proc *sp,
                                         const struct bench_certs *bc, double seconds)
{
    double calls[RUNS], p50[RUNS], p99[RUNS], cpu[RUNS];
    for (int r = 0; r < RUNS; r++) {
        struct unary_result u = unary_run(sp, bc, seconds);
        calls[r] = u.calls_s;
        p50[r] = u.p50_us;
        p99[r] = u.p99_us;
        cpu[r] = u.cpu_us_per_call;
    }
    struct unary_result m = {ms_bench_stats_median(calls, RUNS), ms_bench_stats_median(p50, RUNS),
                             ms_bench_stats_median(p99, RUNS), ms_bench_stats_median(cpu, RUNS)};
    return m;
}

/* ---- driver --------------------------------------------------------------------------------- */

static void print_rows(const struct row *rows, size_t n)
{
    printf("\n%-26s %8s %8s %8s %10s %10s %8s\n", "transport (2 processes)", "message",
           "streams", "MiB/s", "CPU s/GiB", "client", "server");
    for (size_t i = 0; i < n; i++)
        printf("%-26s %4zu MiB %8d %8.0f %10.2f %10.2f %8.2f\n", rows[i].setting,
               rows[i].msg_bytes >> 20, rows[i].streams, rows[i].mib_s, rows[i].cpu_s_per_gib,
               rows[i].client_cpu_s_per_gib, rows[i].server_cpu_s_per_gib);
}

static void usage(FILE *f)
{
    fprintf(f, "usage: bench-rpc [--seconds S]\n"
               "  Measures the transport ceiling: gRPC over mutual TLS streaming 1 and 4 MiB\n"
               "  messages (default and tuned arguments), a plain TLS socket for comparison,\n"
               "  and 1 KiB unary round trips (16 in flight, 2 connections). Median of 3 runs\n"
               "  of S seconds each (default 2.5). Prints a table and a RESULT line.\n");
}

static double parse_args(int argc, char **argv)
{
    double seconds = 2.5;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            exit(0);
        } else if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc) {
            char *end;
            seconds = strtod(argv[++i], &end);
            if (*end != '\0' || seconds < 0.2 || seconds > 60) {
                usage(stderr);
                exit(2);
            }
        } else {
            usage(stderr);
            exit(2);
        }
    }
    return seconds;
}

/* The best tuned gRPC row, and the TLS socket row with the same message size. */
static void print_summary(const struct row *rows, const struct unary_result *u,
                          const long rss[NSERVERS])
{
    int b = 2; /* the best tuned row, with or without the fixed window */
    for (int i = 3; i < NSETTINGS; i++)
        if ((settings[i].server == 1 || settings[i].server == 3) && settings[i].put_bytes == 0 &&
            rows[i].mib_s > rows[b].mib_s)
            b = i;
    const struct row *pr = &rows[PUT_ROW];
    MS_ASSERT(settings[PUT_ROW].put_bytes > 0);
    const struct row *t = rows[b].msg_bytes == rows[6].msg_bytes ? &rows[6] : &rows[7];
    printf("\nunary 1 KiB over mTLS, %d in flight on %d connections: %.0f calls/s, "
           "p50 %.0f us, p99 %.0f us, CPU %.1f us/call (client+server)\n",
           UNARY_THREADS, UNARY_CONNS, u->calls_s, u->p50_us, u->p99_us, u->cpu_us_per_call);
    printf("peak RSS of the servers: gRPC %ld MiB, gRPC tuned %ld MiB, TLS socket %ld MiB, "
           "gRPC tuned + 16M window %ld MiB\n", rss[0] >> 10, rss[1] >> 10, rss[2] >> 10,
           rss[3] >> 10);
    printf("best tuned gRPC (%zu MiB, %d streams) vs TLS socket: %.2fx throughput, "
           "%.2fx CPU per GiB\n",
           rows[b].msg_bytes >> 20, rows[b].streams, rows[b].mib_s / t->mib_s,
           rows[b].cpu_s_per_gib / t->cpu_s_per_gib);
    printf("put-shaped calls (%u MiB each in %zu MiB messages, %d on %d connections, "
           "no store): %.0f MiB/s = %.2fx the best tuned row, "
           "CPU %.2f s/GiB (client %.2f, server %.2f)\n",
           PUT_BYTES >> 20, pr->msg_bytes >> 20, pr->streams, PUT_CONNS, pr->mib_s,
           pr->mib_s / rows[b].mib_s, pr->cpu_s_per_gib, pr->client_cpu_s_per_gib,
           pr->server_cpu_s_per_gib);
    printf("RESULT rpc_mib_s=%.0f rpc_cpu_s_per_gib=%.2f rpc_server_cpu_s_per_gib=%.2f "
           "rpc_client_cpu_s_per_gib=%.2f rpc_msg_mib=%zu rpc_streams=%d "
           "tls_mib_s=%.0f tls_cpu_s_per_gib=%.2f unary_calls_s=%.0f unary_p50_us=%.0f "
           "unary_p99_us=%.0f put_mib_s=%.0f put_cpu_s_per_gib=%.2f put_server_cpu_s_per_gib=%.2f "
           "put_client_cpu_s_per_gib=%.2f\n",
           rows[b].mib_s, rows[b].cpu_s_per_gib, rows[b].server_cpu_s_per_gib,
           rows[b].client_cpu_s_per_gib, rows[b].msg_bytes >> 20, rows[b].streams,
           t->mib_s, t->cpu_s_per_gib, u->calls_s, u->p50_us, u->p99_us, pr->mib_s,
           pr->cpu_s_per_gib, pr->server_cpu_s_per_gib, pr->client_cpu_s_per_gib);
}

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "--serve") == 0)
        return argc == 4 ? bench_serve(argv[2], argv[3]) : 2;
    double seconds = parse_args(argc, argv);
    ms_log_set_level(MS_LOG_WARN);
    struct bench_certs bc;
    make_certs(&bc);
    struct server_proc sp[NSERVERS] = {spawn_server("grpc", bc.dir),
                                       spawn_server("grpc-tuned", bc.dir),
                                       spawn_server("tls", bc.dir),
                                       spawn_server("grpc-tuned-window", bc.dir)};
    ms_rpc_init();
    /* The client process streams bulk data, as bench-node's does: the same malloc tuning, so
     * the two benchmarks' clients are alike and the ceiling is not lowered by page faults. */
    int tuned_malloc = ms_rpc_malloc_tune_bulk();
    printf("bench-rpc: medians of %d runs of %.1f s; %d connections per setting; tuned = "
           "1 MiB TCP read chunks; client malloc %s\n", RUNS, seconds, CONNS,
           tuned_malloc == 0 ? "tuned for bulk" : "default (tuning refused)");
    ms_bench_probe_print("bench-rpc", "start");
    struct row rows[NSETTINGS];
    for (int i = 0; i < NSETTINGS; i++)
        rows[i] = stream_setting(&settings[i], &sp[settings[i].server], &bc, seconds);
    struct unary_result u = unary_setting(&sp[0], &bc, seconds);
    ms_rpc_fini();
    long rss[NSERVERS];
    for (int i = 0; i < NSERVERS; i++)
        rss[i] = stop_server(&sp[i]);
    rm_certs(&bc);
    print_rows(rows, NSETTINGS);
    ms_bench_probe_print("bench-rpc", "end");
    print_summary(rows, &u, rss);
    return 0;
}
