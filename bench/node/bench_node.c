/*
 * bench_node.c - bench-node: N clients stream fragments to one real medstore-node over mutual
 * TLS, beside fio on the same disk in the same run (PERF.md: every claim is a ratio).
 *
 *   bench-node [--dir DIR] [--clients N] [--small-clients N] [--seconds S] [--runs R]
 *              [--fio-seconds S] [--max-gib G] [--node-bin PATH] [--only big|small]
 *              [--rpc-mib-s X] [--rpc-cpu-s-per-gib Y] [--rpc-server-cpu-s-per-gib S]
 *              [--rpc-client-cpu-s-per-gib C] [--rpc-put-mib-s P] [--unary-calls-s Z]
 *
 * Phases, each run on a fresh node with an empty store of its own: 16 KiB fragments (one
 * record) from --small-clients threads (the runs' stores stay until the bench ends, see
 * run_kind), then 4 MiB fragments (4 records of 1 MiB) from --clients threads (each run's
 * store removed after it, so the disk holds at most one run's 4 MiB fragments); every put is
 * a PutFragment stream with its own capability token and is acknowledged only once durable.
 * Reported: median over runs of MiB/s or puts/s, latency p50/p99 (HDR histogram,
 * ms_benchlib), node CPU seconds per GiB (from /proc), node peak RSS (VmHWM), the client's
 * CPU, and the ratios to fio (1 MiB O_DIRECT sequential write >= 60 s; 4 KiB write +
 * fdatasync QD1) and, when given, to bench-rpc's same-run tuned mTLS figure. With bench-rpc's
 * per-end CPU (the server's and the client's s/GiB of that best tuned row) it also splits the
 * node's and the client's CPU into the transport's share and what they spend beyond it, and
 * gives the ratio that CPU alone allows: both benchmarks saturate the same two cores, so the
 * 4 MiB ratio cannot exceed bench-rpc's s/GiB (both ends) / (node + client s/GiB).
 * Tokens are minted before each timed window (premint), as the metadata service would sign
 * them elsewhere. Refuses to run with less than 10 GiB free on DIR's filesystem; caps bytes
 * written per phase at --max-gib (default 8).
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench_node.h"
#include "benchlib.h"
#include "common/clock.h"
#include "common/ms_assert.h"
#include "rpc/node_rpc.h"

#define MIN_FREE_BYTES (10ULL << 30)
#define RUNS_MAX 9
#define CLIENTS_MAX 64
/* Tokens minted before a phase's timed window: enough for this many puts per second. */
#define PREMINT_PUTS_PER_S 8000u
#define TOKEN_LIFE_MS 60000u /* past the put (or, preminted, past the phase's window) */

struct opts {
    const char *dir, *node_bin, *only;
    unsigned clients, small_clients, seconds, runs, fio_seconds;
    double max_gib, rpc_mib_s, rpc_cpu_s_per_gib, unary_calls_s;
    double rpc_server_cpu_s_per_gib, rpc_client_cpu_s_per_gib; /* bench-rpc's ends, same row */
    double rpc_put_mib_s; /* bench-rpc's put-shaped row: this bench's calls with no store */
};

/* One phase's shared state. */
struct phase {
    struct ms_rpc_client *client;
    struct ms_captoken_signer *signer;
    const struct bn_frag *frag;
    uint64_t deadline_ns;
    uint64_t byte_cap;
    _Atomic uint64_t bytes, puts, failures, seq;
    struct ms_bench_hist *hist; /* one per thread */
    struct premint *pool;       /* tokens for puts 1 .. npool, minted before the window */
    uint64_t npool;
};

/* A put's object id and its token, minted ahead. */
struct premint {
    struct ms_oid oid;
    uint8_t tok[MS_CAPTOKEN_WIRE_BYTES];
};

/* One phase's result. */
struct result {
    double mib_s, puts_s, p50_ms, p99_ms, node_cpu_s, client_cpu_s, gib, rss_peak_mib;
    double node_sys_share; /* system CPU / all CPU of the node */
    uint64_t failures;
};

/* A unique object id for put number n: the run's random prefix plus the counter. */
static void oid_of(uint64_t n, struct ms_oid *oid)
{
    static uint64_t prefix;
    if (prefix == 0)
        prefix = ms_bench_clock_ns() | 1;
    memcpy(oid->b, &prefix, 8);
    memcpy(oid->b + 8, &n, 8);
}

static int mint(struct phase *ph, const struct ms_oid *oid, uint64_t expiry,
                uint8_t tok[MS_CAPTOKEN_WIRE_BYTES])
{
    return ms_captoken_mint(ph->signer, MS_CAP_PUT, 1, oid, 1u, expiry, tok);
}

/* Mints the tokens of the phase's first puts before its timed window: in the cluster the
 * metadata service signs them on its own machine, so the load generator must not charge
 * Ed25519 signing (~25 us a token) to the two cores the node shares with it. Puts beyond the
 * pool mint inline. */
static int premint(struct phase *ph, uint64_t n, uint64_t expiry)
{
    ph->pool = malloc(n * sizeof(*ph->pool));
    if (ph->pool == NULL)
        return -ENOMEM;
    for (uint64_t i = 0; i < n; i++) {
        oid_of(i + 1, &ph->pool[i].oid);
        int rc = mint(ph, &ph->pool[i].oid, expiry, ph->pool[i].tok);
        if (rc < 0)
            return rc;
    }
    ph->npool = n;
    return 0;
}

/* One put of the phase's fragment under a fresh object id and token; returns its code. */
static int put_one(struct phase *ph)
{
    struct ms_oid oid;
    uint8_t hdr[MS_NODE_FRAG_HDR_BYTES], fresh[MS_CAPTOKEN_WIRE_BYTES];
    const uint8_t *tok = fresh;
    uint64_t n = atomic_fetch_add(&ph->seq, 1) + 1;
    int rc = 0;
    if (n <= ph->npool) {
        oid = ph->pool[n - 1].oid;
        tok = ph->pool[n - 1].tok;
    } else {
        oid_of(n, &oid);
        rc = mint(ph, &oid, ms_clock_now_unix_ms(ms_clock_real()) + TOKEN_LIFE_MS, fresh);
    }
    if (rc == 0)
        rc = bn_frag_header(ph->frag, &oid, hdr);
    if (rc < 0)
        return rc;
    struct ms_node_call_opts o = {.token = tok, .token_len = MS_CAPTOKEN_WIRE_BYTES};
    struct ms_node_ref r = {.oid = oid, .frag_index = 0};
    return ms_node_rpc_put(ph->client, &o, &r, hdr, ph->frag->body, ph->frag->body_len,
                           1u << 20, NULL, NULL);
}

static void put_loop(void *arg, unsigned tid)
{
    struct phase *ph = arg;
    struct ms_bench_hist *h = &ph->hist[tid];
    uint64_t len = MS_NODE_FRAG_HDR_BYTES + ph->frag->body_len;
    MS_ASSERT(ph->client != NULL && ph->frag != NULL);
    while (ms_bench_clock_ns() < ph->deadline_ns) {
        if (atomic_fetch_add(&ph->bytes, len) + len > ph->byte_cap) {
            atomic_fetch_sub(&ph->bytes, len); /* the byte cap is reached */
            break;
        }
        uint64_t t0 = ms_bench_clock_ns();
        if (put_one(ph) == 0) {
            ms_bench_hist_record(h, ms_bench_clock_ns() - t0);
            atomic_fetch_add(&ph->puts, 1);
        } else {
            atomic_fetch_add(&ph->failures, 1);
            atomic_fetch_sub(&ph->bytes, len);
            usleep(1000); /* a refused put (e.g. RESOURCE_EXHAUSTED): back off a little */
        }
    }
}

/* Runs one phase against a started node: nthreads clients for o->seconds. */
static int run_phase(const struct opts *o, struct bn_node *node, const struct bn_frag *frag,
                     unsigned nthreads, struct result *res)
{
    struct phase ph = {.frag = frag};
    struct ms_bench_procstat n0, n1, c0, c1;
    uint64_t wall = 0;
    MS_ASSERT(nthreads >= 1 && nthreads <= CLIENTS_MAX);
    int rc = bn_client(node, nthreads < 8 ? nthreads : 8, &ph.client);
    if (rc == 0)
        rc = bn_signer(node, &ph.signer);
    ph.hist = calloc(nthreads, sizeof(*ph.hist));
    if (rc == 0 && ph.hist == NULL)
        rc = -ENOMEM;
    for (unsigned i = 0; rc == 0 && i < nthreads; i++)
        ms_bench_hist_reset(&ph.hist[i]);
    ph.byte_cap = (uint64_t)(o->max_gib * (double)(1ULL << 30));
    uint64_t by_cap = ph.byte_cap / (MS_NODE_FRAG_HDR_BYTES + frag->body_len) + 1;
    uint64_t by_rate = (uint64_t)PREMINT_PUTS_PER_S * o->seconds;
    uint64_t expiry = ms_clock_now_unix_ms(ms_clock_real()) + TOKEN_LIFE_MS + o->seconds * 1000ULL;
    if (rc == 0)
        rc = premint(&ph, by_cap < by_rate ? by_cap : by_rate, expiry);
    if (rc == 0 && (rc = ms_bench_procstat_read(node->pid, &n0)) == 0)
        rc = ms_bench_procstat_read(0, &c0);
    ph.deadline_ns = ms_bench_clock_ns() + (uint64_t)o->seconds * 1000000000ULL;
    if (rc == 0)
        rc = ms_bench_parallel(nthreads, put_loop, &ph, &wall, NULL);
    if (rc == 0 && (rc = ms_bench_procstat_read(node->pid, &n1)) == 0)
        rc = ms_bench_procstat_read(0, &c1);
    if (rc == 0) {
        for (unsigned i = 1; i < nthreads; i++)
            ms_bench_hist_merge(&ph.hist[0], &ph.hist[i]);
        uint64_t bytes = atomic_load(&ph.bytes);
        res->gib = (double)bytes / (double)(1ULL << 30);
        res->mib_s = ms_bench_mib_s(bytes, wall);
        res->puts_s = ms_bench_ops_s(atomic_load(&ph.puts), wall);
        res->p50_ms = (double)ms_bench_hist_pct(&ph.hist[0], 50) / 1e6;
        res->p99_ms = (double)ms_bench_hist_pct(&ph.hist[0], 99) / 1e6;
        res->node_cpu_s = ms_bench_procstat_cpu_s(&n0, &n1);
        res->node_sys_share = res->node_cpu_s > 0 ? (double)(n1.sys_ns - n0.sys_ns) / 1e9 /
                                                        res->node_cpu_s
                                                  : 0;
        res->client_cpu_s = ms_bench_procstat_cpu_s(&c0, &c1);
        res->rss_peak_mib = (double)n1.rss_peak_bytes / (double)(1 << 20);
        res->failures = atomic_load(&ph.failures);
    }
    free(ph.hist);
    free(ph.pool);
    ms_captoken_signer_destroy(ph.signer);
    ms_rpc_client_destroy(ph.client);
    return rc;
}

static const char usage_text[] =
    "usage: bench-node [--dir DIR] [--clients N] [--small-clients N] [--seconds S] [--runs R]\n"
    "                  [--fio-seconds S] [--max-gib G] [--node-bin PATH] [--only big|small]\n"
    "                  [--rpc-mib-s X] [--rpc-cpu-s-per-gib Y] [--rpc-server-cpu-s-per-gib S]\n"
    "                  [--rpc-client-cpu-s-per-gib C] [--rpc-put-mib-s P] [--unary-calls-s Z]\n"
    "  DIR is on the disk under test (default: bench-node-work in the current directory);\n"
    "  needs >= 10 GiB free there. --rpc-* and --unary-calls-s: bench-rpc's same-run figures\n"
    "  (best tuned mTLS streaming MiB/s, CPU s/GiB of both ends, of its server, of its client;\n"
    "  put-shaped calls MiB/s; 1 KiB unary calls/s) for the ratios (bench/run-node.sh passes\n"
    "  them).\n";

static int parse_opts(int argc, char **argv, struct opts *o)
{
    MS_ASSERT(o != NULL);
    bool bad = (argc - 1) % 2 != 0;
    *o = (struct opts){.dir = "bench-node-work", .clients = 8, .small_clients = 16,
                       .seconds = 10, .runs = 3, .fio_seconds = 60, .max_gib = 8};
    for (int i = 1; i < argc; i++) {
        const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(k, "--help") == 0) {
            fputs(usage_text, stdout);
            return 0;
        }
        if (v == NULL)
            break; /* counted as bad above */
        i++;
        double d = strtod(v, NULL);
        if (strcmp(k, "--dir") == 0) o->dir = v;
        else if (strcmp(k, "--only") == 0) o->only = v;
        else if (strcmp(k, "--node-bin") == 0) o->node_bin = v;
        else if (strcmp(k, "--clients") == 0) o->clients = (unsigned)d;
        else if (strcmp(k, "--small-clients") == 0) o->small_clients = (unsigned)d;
        else if (strcmp(k, "--seconds") == 0) o->seconds = (unsigned)d;
        else if (strcmp(k, "--runs") == 0) o->runs = (unsigned)d;
        else if (strcmp(k, "--fio-seconds") == 0) o->fio_seconds = (unsigned)d;
        else if (strcmp(k, "--max-gib") == 0) o->max_gib = d;
        else if (strcmp(k, "--rpc-mib-s") == 0) o->rpc_mib_s = d;
        else if (strcmp(k, "--rpc-cpu-s-per-gib") == 0) o->rpc_cpu_s_per_gib = d;
        else if (strcmp(k, "--rpc-server-cpu-s-per-gib") == 0) o->rpc_server_cpu_s_per_gib = d;
        else if (strcmp(k, "--rpc-client-cpu-s-per-gib") == 0) o->rpc_client_cpu_s_per_gib = d;
        else if (strcmp(k, "--rpc-put-mib-s") == 0) o->rpc_put_mib_s = d;
        else if (strcmp(k, "--unary-calls-s") == 0) o->unary_calls_s = d;
        else bad = true;
    }
    bool ok = o->clients >= 1 && o->clients <= CLIENTS_MAX && o->small_clients >= 1 &&
              o->small_clients <= CLIENTS_MAX && o->seconds >= 1 && o->runs >= 1 &&
              o->runs <= RUNS_MAX && o->max_gib > 0;
    if (!ok || bad) {
        fputs(usage_text, stderr);
        return 2;
    }
    return -1;
}

/* medstore-node next to this program in the build tree, unless --node-bin says otherwise. */
static void find_node_bin(const struct opts *o, const char *argv0, char out[BN_PATH])
{
    if (o->node_bin != NULL) {
        snprintf(out, BN_PATH, "%s", o->node_bin);
        return;
    }
    char self[BN_PATH];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    self[n > 0 ? n : 0] = '\0';
    char *slash = strrchr(self, '/');
    if (slash != NULL)
        *slash = '\0';
    int w = snprintf(out, BN_PATH, "%s/../../src/node/medstore-node", n > 0 ? self : argv0);
    if (w < 0 || w >= BN_PATH)
        snprintf(out, BN_PATH, "medstore-node");
}

/* Runs `runs` fresh nodes for one fragment kind, each on a store of its own; fills med
 * (medians; worst RSS, failures). keep: leave each run's store on disk until the bench ends
 * instead of removing it after the run. The small phase keeps them: on journal-less ext4 (this
 * VM kind) a create skips every inode of its block group freed in the last minutes, so
 * removing tens of thousands of files between runs would make the next run measure ext4's
 * inode scan (up to ~900 us of kernel CPU per put) instead of the node. The big phase writes
 * up to --max-gib per run and few files, so it removes its store after each run. */
static int run_kind(const struct opts *o, struct bn_node *node, const struct bn_frag *frag,
                    unsigned nthreads, bool keep, struct result *med)
{
    double mib[RUNS_MAX], puts[RUNS_MAX], p50[RUNS_MAX], p99[RUNS_MAX], cpu[RUNS_MAX],
        ccpu[RUNS_MAX];
    memset(med, 0, sizeof(*med));
    for (unsigned r = 0; r < o->runs; r++) {
        struct result res = {0};
        if (bn_node_start(node) != 0) {
            char cmd[2 * BN_PATH];
            int w = snprintf(cmd, sizeof(cmd), "tail -5 '%s/node.log' >&2", node->dir);
            fprintf(stderr, "bench-node: medstore-node did not start:\n");
            if (w > 0 && (size_t)w < sizeof(cmd) && system(cmd) != 0)
                fprintf(stderr, "bench-node: (no log)\n");
            return -1;
        }
        int rc = run_phase(o, node, frag, nthreads, &res);
        int st = bn_node_stop(node);
        if (rc < 0 || st != 0)
            return rc < 0 ? rc : -1;
        if (!keep && bn_node_drop_data(node) != 0)
            return -1;
        node->run++;
        mib[r] = res.mib_s;
        puts[r] = res.puts_s;
        p50[r] = res.p50_ms;
        p99[r] = res.p99_ms;
        cpu[r] = res.gib > 0 ? res.node_cpu_s / res.gib : 0;
        ccpu[r] = res.gib > 0 ? res.client_cpu_s / res.gib : 0;
        med->rss_peak_mib = res.rss_peak_mib > med->rss_peak_mib ? res.rss_peak_mib
                                                                 : med->rss_peak_mib;
        med->failures += res.failures;
        med->node_sys_share = res.node_sys_share; /* of the last run */
        med->gib += res.gib;
    }
    med->mib_s = ms_bench_stats_median(mib, o->runs);
    med->puts_s = ms_bench_stats_median(puts, o->runs);
    med->p50_ms = ms_bench_stats_median(p50, o->runs);
    med->p99_ms = ms_bench_stats_median(p99, o->runs);
    med->node_cpu_s = ms_bench_stats_median(cpu, o->runs);   /* s per GiB here */
    med->client_cpu_s = ms_bench_stats_median(ccpu, o->runs); /* s per GiB here */
    return 0;
}

static void print_ratio(const char *what, double x, double ref, const char *target)
{
    if (ref > 0)
        printf("  %-44s %8.2fx  %s\n", what, x / ref, target);
    else
        printf("  %-44s %8s   %s\n", what, "n/a", target);
}

static void report(const struct opts *o, const struct bn_fio *fio, const struct result *big,
                   const struct result *small)
{
    printf("\n%-46s %12s %10s %9s %9s %12s %11s\n", "workload (median of runs)", "MiB/s",
           "puts/s", "p50 ms", "p99 ms", "node CPU s/GiB", "RSS MiB");
    printf("%-46s %12.1f %10s %9s %9s %12s %11s\n", "fio 1 MiB O_DIRECT seq write QD16",
           fio->seq_write_mib_s, "-", "-", "-", "-", "-");
    printf("%-46s %12s %10.0f %9s %9s %12s %11s\n", "fio 4 KiB O_DIRECT write+fdatasync QD1", "-",
           fio->sync4k_iops, "-", "-", "-", "-");
    printf("%-46s %12.1f %10.1f %9.2f %9.2f %12.2f %11.1f\n", "node: 4 MiB fragment puts",
           big->mib_s, big->puts_s, big->p50_ms, big->p99_ms, big->node_cpu_s, big->rss_peak_mib);
    printf("%-46s %12.1f %10.0f %9.2f %9.2f %12.2f %11.1f\n", "node: 16 KiB durable puts",
           small->mib_s, small->puts_s, small->p50_ms, small->p99_ms, small->node_cpu_s,
           small->rss_peak_mib);
    printf("\nratios and targets (clients %u / %u, %u runs of %u s):\n", o->clients,
           o->small_clients, o->runs, o->seconds);
    double ceiling = o->rpc_mib_s > 0 && o->rpc_mib_s < fio->seq_write_mib_s
                         ? o->rpc_mib_s : fio->seq_write_mib_s;
    print_ratio("4 MiB writes / min(fio write, bench-rpc mTLS)", big->mib_s, ceiling,
                o->rpc_mib_s > 0 ? "target >= 0.8" : "target >= 0.8 (fio only: no --rpc-mib-s)");
    if (o->rpc_put_mib_s > 0)
        print_ratio("4 MiB writes / put-shaped calls, no store", big->mib_s, o->rpc_put_mib_s,
                    "(what the store costs)");
    print_ratio("16 KiB puts / fio 4 KiB write+fdatasync", small->puts_s, fio->sync4k_iops,
                "(floor: >= 3000 puts/s)");
    print_ratio("16 KiB puts / bench-rpc 1 KiB unary calls", small->puts_s, o->unary_calls_s,
                "(PERF.md: one PutFragment per put)");
    printf("  %-44s %8.0f   %s\n", "16 KiB durable puts/s", small->puts_s,
           small->puts_s >= 3000 ? "meets >= 3000" : "BELOW 3000");
    double rss = big->rss_peak_mib > small->rss_peak_mib ? big->rss_peak_mib : small->rss_peak_mib;
    printf("  %-44s %8.1f   %s\n", "node peak RSS MiB", rss,
           rss <= 160 ? "meets <= 160" : "ABOVE 160");
    printf("  %-44s %8.2f   client %.2f s/GiB; node kernel share %.0f%%\n",
           "node CPU s per GiB written (4 MiB)", big->node_cpu_s, big->client_cpu_s,
           100.0 * big->node_sys_share);
    if (small->puts_s > 0)
        printf("  %-44s %8.0f   node kernel share %.0f%%\n", "node CPU us per 16 KiB put",
               small->node_cpu_s * 1e6 / (double)((1ULL << 30) / 16336),
               100.0 * small->node_sys_share);
    if (o->rpc_server_cpu_s_per_gib > 0 && big->node_cpu_s > 0)
        printf("  %-44s %7.0f%%   bench-rpc server %.2f s/GiB; node beyond it %.2f s/GiB\n",
               "transport's share of node CPU (4 MiB)",
               100.0 * o->rpc_server_cpu_s_per_gib / big->node_cpu_s,
               o->rpc_server_cpu_s_per_gib, big->node_cpu_s - o->rpc_server_cpu_s_per_gib);
    if (o->rpc_client_cpu_s_per_gib > 0 && big->client_cpu_s > 0)
        printf("  %-44s %7.0f%%   bench-rpc client %.2f s/GiB; client beyond it %.2f s/GiB\n",
               "transport's share of client CPU (4 MiB)",
               100.0 * o->rpc_client_cpu_s_per_gib / big->client_cpu_s,
               o->rpc_client_cpu_s_per_gib, big->client_cpu_s - o->rpc_client_cpu_s_per_gib);
    if (o->rpc_cpu_s_per_gib > 0 && big->node_cpu_s + big->client_cpu_s > 0)
        printf("  %-44s %8.2fx  bench-rpc %.2f s/GiB / (node + client) %.2f s/GiB\n",
               "4 MiB ratio the CPU allows", o->rpc_cpu_s_per_gib /
               (big->node_cpu_s + big->client_cpu_s), o->rpc_cpu_s_per_gib,
               big->node_cpu_s + big->client_cpu_s);
    printf("  Ceph 16.2 on this VM kind (PERF.md): 343 MiB/s 4 MiB EC PUT (encrypted wire); "
           "471 / 1425 ops/s 16 KiB EC / rep PUT\n");
    if (big->failures + small->failures > 0)
        printf("  failed puts: %llu (retried with backoff)\n",
               (unsigned long long)(big->failures + small->failures));
}

int main(int argc, char **argv)
{
    struct opts o;
    struct bn_node node = {0};
    struct bn_frag big, small;
    struct bn_fio fio;
    struct result rb, rs;
    int rc = parse_opts(argc, argv, &o);
    if (rc >= 0)
        return rc;
    signal(SIGPIPE, SIG_IGN);
    mkdir(o.dir, 0700);
    uint64_t free_bytes = bn_free_bytes(o.dir);
    if (free_bytes < MIN_FREE_BYTES) {
        fprintf(stderr, "bench-node: %s has %.1f GiB free; at least 10 GiB needed\n", o.dir,
                (double)free_bytes / (double)(1ULL << 30));
        return 2;
    }
    double cap = (double)(free_bytes - (5ULL << 30)) / (double)(1ULL << 30);
    o.max_gib = o.max_gib < cap ? o.max_gib : cap;
    find_node_bin(&o, argv[0], node.bin);
    int w = snprintf(node.dir, sizeof(node.dir), "%s/run-%d", o.dir, (int)getpid());
    if (w < 0 || (size_t)w >= sizeof(node.dir))
        return 2;
    node.sessions = o.clients > o.small_clients ? o.clients : o.small_clients;
    node.sessions = node.sessions < 16 ? 16 : node.sessions;
    printf("bench-node: dir %s (%.0f GiB free), node %s, byte cap %.1f GiB per phase\n", o.dir,
           (double)free_bytes / (double)(1ULL << 30), node.bin, o.max_gib);
    ms_bench_probe_print("bench-node", "start");
    if (mkdir(node.dir, 0700) != 0 || bn_pki_make(node.dir) != 0)
        return 1;
    /* 4 MiB: 4 records of 1 MiB; 16 KiB: one record of 16 KiB - headers and index. */
    if (bn_frag_build(&big, 4, (1u << 20) - 64, 1) != 0 ||
        bn_frag_build(&small, 1, 16128, 2) != 0) /* 16336 bytes in all */
        return 1;
    ms_rpc_init();
    if (ms_rpc_malloc_tune_bulk() != 0)
        fprintf(stderr, "bench-node: malloc tuning refused; the client runs on defaults\n");
    bn_fio_run(o.dir, o.fio_seconds, 10, (uint64_t)(o.max_gib < 8 ? o.max_gib : 8) << 30, &fio);
    memset(&rb, 0, sizeof(rb));
    memset(&rs, 0, sizeof(rs));
    /* Small first, on a disk where nothing was freed lately (see run_kind). */
    bool want_big = o.only == NULL || strcmp(o.only, "small") != 0;
    rc = o.only == NULL || strcmp(o.only, "big") != 0
             ? run_kind(&o, &node, &small, o.small_clients, true, &rs) : 0;
    if (rc == 0 && want_big)
        rc = run_kind(&o, &node, &big, o.clients, false, &rb);
    if (rc == 0) {
        report(&o, &fio, &rb, &rs);
        ms_bench_probe_print("bench-node", "end");
    }
    ms_rpc_fini();
    bn_frag_free(&big);
    bn_frag_free(&small);
    char cmd[2 * BN_PATH];
    w = snprintf(cmd, sizeof(cmd), "rm -rf '%s'", node.dir);
    if (w < 0 || (size_t)w >= sizeof(cmd) || system(cmd) != 0)
        fprintf(stderr, "bench-node: could not remove %s\n", node.dir);
    return rc == 0 ? 0 : 1;
}
