/*
 * bench_fragstore.c - bench-fragstore: durable fragment puts straight into the node's fragment
 * store (no RPC), next to fio's 4 KiB write + fdatasync rate on the same disk in the same run.
 *
 * What it measures (PERF.md: every claim is a same-run ratio, median of >= 3 runs):
 *   - fio: --ioengine=io_uring --direct=1 --fdatasync=1 --bs=4k --rw=write --size=64m at QD1
 *     in a temp directory of the bench directory: the disk's durable small-write rate;
 *   - for each fragment size (default 16 KiB, 1 MiB, 4 MiB): W writer threads (default 16)
 *     each put fresh fragments in a loop for S seconds (or until a byte cap) through
 *     ms_fragstore_put_begin/append/commit, on the node's production setup: two io_uring
 *     ports (data + sync, depth 64; --write-ports N adds N write ports for the staged writes of
 *     large fragments), RocksDB catalogue, 32 sessions. Printed: puts/s, MiB/s,
 *     fragments per commit round, process CPU s/GiB, and puts/s / fio IOPS.
 * The directory must not be tmpfs (a tmpfs fdatasync costs nothing) and must have >= 10 GiB
 * free (issue 4); every phase starts on an empty store and its files are removed after it.
 *
 * Usage: bench-fragstore [--dir DIR] [--writers N] [--seconds S] [--runs R]
 *                        [--sizes 16k,1m,4m] [--no-fio] [--one-port] [--write-ports N]
 * A program, not a test. Fragments are built with the codec's format functions (k = 4, m = 2,
 * fixed payload); only the header changes per put (a fresh object id), so building costs
 * nothing next to the disk.
 */
#include <errno.h>
#include <ftw.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include "codec/frag_format.h"
#include "common/io.h"
#include "common/kv.h"
#include "common/kv_rocksdb.h"
#include "common/log.h"
#include "common/ms_assert.h"
#include "node/fragstore.h"
#include "node/io_uring_backend.h"

#define BENCH_SIZES_MAX 8
#define BENCH_RUNS_MAX 9
#define BENCH_WRITERS_MAX 64
#define BENCH_FREE_MIN ((uint64_t)10 << 30)
#define BENCH_PHASE_CAP ((uint64_t)6 << 30) /* bytes written per phase at most */
#define BENCH_APPEND_BYTES ((size_t)1 << 20)  /* one append = one 1 MiB gRPC message */
#define BENCH_TMPFS_MAGIC 0x01021994

struct bench_opts {
    const char *dir;
    unsigned writers;
    unsigned seconds;
    unsigned runs;
    uint64_t sizes[BENCH_SIZES_MAX];
    unsigned n_sizes;
    bool fio;
    bool one_port;
    unsigned write_ports;
};

/* One phase's result. */
struct phase_result {
    double puts_s;
    double mib_s;
    double per_round;
    double cpu_s_gib;
    uint64_t frag_bytes;
};

/* Shared by the writers of one phase. */
struct phase {
    struct ms_fragstore *store;
    uint64_t frag_target;
    uint64_t deadline_ns;
    atomic_uint_fast64_t puts;
    atomic_uint_fast64_t bytes;
    atomic_int failed;
    unsigned writer_seq;
    pthread_mutex_t mu;
};

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static double cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* ---- fragments --------------------------------------------------------------------------- */

/* A fragment of at most target bytes, as the codec cuts a 4 MiB-segment object with k = 4:
 * one record (shard) per MiB of fragment, at least one. */
struct bench_frag {
    uint8_t *bytes;
    size_t len;
    struct ms_frag_hdr hdr;
};

static int frag_build(struct bench_frag *f, uint64_t target)
{
    MS_ASSERT(target >= 4096);
    uint32_t n_seg = target >= (1u << 20) ? (uint32_t)(target >> 20) : 1;
    uint64_t overhead = MS_FRAG_HDR_BYTES + ms_frag_index_bytes(n_seg) +
                        (uint64_t)n_seg * MS_FRAG_REC_HDR_BYTES;
    uint32_t payload = (uint32_t)((target - overhead) / n_seg / 64 * 64);
    f->hdr = (struct ms_frag_hdr){.frag_index = 0, .k = 4, .m = 2, .ec_alg = MS_EC_CAUCHY1,
                                  .aead_alg = MS_AEAD_AES256GCM,
                                  .comp_alg = MS_COMPRESS_NONE, .csum_alg = MS_CSUM_XXH3_128,
                                  .segment_size_bytes = 4u << 20, .shard_align_bytes = 64,
                                  .segment_count = n_seg,
                                  .object_len_bytes = ((uint64_t)n_seg - 1) * (4u << 20) +
                                                      (uint64_t)payload * 4};
    f->hdr.oid.b[0] = 1; /* frag_put sets the real id; a nil one does not encode */
    uint64_t rec_len = MS_FRAG_REC_HDR_BYTES + (uint64_t)payload;
    uint64_t idx_off = MS_FRAG_HDR_BYTES + rec_len * n_seg;
    f->len = (size_t)(idx_off + ms_frag_index_bytes(n_seg));
    f->bytes = malloc(f->len);
    struct ms_frag_idx_entry *e = calloc(n_seg + 1u, sizeof(*e));
    int rc = f->bytes && e ? ms_frag_hdr_encode(&f->hdr, f->bytes, MS_FRAG_HDR_BYTES) : -ENOMEM;
    for (uint32_t i = 0; i < n_seg && rc == 0; i++) {
        uint8_t *r = f->bytes + MS_FRAG_HDR_BYTES + rec_len * i;
        for (uint32_t j = 0; j < payload; j++)
            r[MS_FRAG_REC_HDR_BYTES + j] = (uint8_t)(j * 131u + i * 7u + 1u);
        struct ms_frag_rec rec = {.segment_index = i, .payload_len_bytes = payload};
        rc = ms_frag_rec_encode(&rec, r + MS_FRAG_REC_HDR_BYTES, payload, r,
                                MS_FRAG_REC_HDR_BYTES);
        e[i] = (struct ms_frag_idx_entry){.rec_offset = (uint64_t)(r - f->bytes),
                                          .rec_len_bytes = (uint32_t)rec_len, .segment_index = i};
    }
    if (rc == 0)
        rc = ms_frag_index_encode(e, n_seg, idx_off, f->bytes + idx_off, f->len - idx_off);
    free(e);
    MS_ASSERT(rc != 0 || f->len <= target);
    return rc;
}

/* Puts f under a fresh object id (writer w, sequence i). Returns 0 or the store's error. */
static int frag_put(struct ms_fragstore *s, struct bench_frag *f, unsigned w, uint64_t i)
{
    MS_ASSERT(f->bytes != NULL && s != NULL);
    for (unsigned b = 0; b < MS_OID_BYTES; b++) /* first byte spreads over the subdirectories */
        f->hdr.oid.b[b] = (uint8_t)((i * 2654435761u + w * 97u) >> ((b % 4) * 8)) ^ (uint8_t)b;
    f->hdr.oid.b[8] = (uint8_t)w;
    memcpy(&f->hdr.oid.b[9], &i, 7);
    int rc = ms_frag_hdr_encode(&f->hdr, f->bytes, MS_FRAG_HDR_BYTES);
    struct ms_fragstore_put *p = NULL;
    if (rc == 0)
        rc = ms_fragstore_put_begin(s, &f->hdr.oid, 0, f->bytes, MS_FRAG_HDR_BYTES, &p);
    for (size_t off = MS_FRAG_HDR_BYTES; rc == 0 && off < f->len; off += BENCH_APPEND_BYTES) {
        size_t n = f->len - off < BENCH_APPEND_BYTES ? f->len - off : BENCH_APPEND_BYTES;
        rc = ms_fragstore_put_append(p, f->bytes + off, n);
    }
    if (rc == 0)
        return ms_fragstore_put_commit(&p);
    ms_fragstore_put_abort(&p);
    return rc;
}

/* ---- one phase --------------------------------------------------------------------------- */

static void *writer_main(void *arg)
{
    struct phase *ph = arg;
    pthread_mutex_lock(&ph->mu);
    unsigned w = ph->writer_seq++;
    pthread_mutex_unlock(&ph->mu);
    struct bench_frag f;
    int brc = frag_build(&f, ph->frag_target);
    if (brc != 0) {
        atomic_store(&ph->failed, brc);
        free(f.bytes);
        return NULL;
    }
    for (uint64_t i = 1; now_ns() < ph->deadline_ns && atomic_load(&ph->failed) == 0 &&
                         atomic_load(&ph->bytes) < BENCH_PHASE_CAP; i++) {
        int rc = frag_put(ph->store, &f, w, i);
        if (rc != 0) {
            fprintf(stderr, "put failed: %s\n", ms_err_name(rc));
            atomic_store(&ph->failed, rc);
            break;
        }
        atomic_fetch_add(&ph->puts, 1);
        atomic_fetch_add(&ph->bytes, f.len);
    }
    free(f.bytes);
    return NULL;
}

static int rm_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path) == 0 ? 0 : -errno;
}

static void rm_tree(const char *path)
{
    if (nftw(path, rm_cb, 16, FTW_DEPTH | FTW_PHYS) != 0)
        fprintf(stderr, "warning: could not remove %s\n", path);
}

struct store_env {
    struct ms_io *io;
    struct ms_io *sio;
    struct ms_io *wio[MS_FRAGSTORE_WRITE_IOS_MAX];
    unsigned n_wio;
    struct ms_kv *kv;
    struct ms_fragstore *store;
};

static int env_open(struct store_env *e, const char *dir, bool one_port, unsigned write_ports)
{
    memset(e, 0, sizeof(*e));
    char db[4200];
    snprintf(db, sizeof(db), "%s/catalog", dir);
    size_t ncf = 0;
    while (ms_fragstore_kv_cfs[ncf] != NULL)
        ncf++;
    int rc = mkdir(dir, 0700) == 0 ? 0 : -errno;
    if (rc == 0)
        rc = ms_io_uring_create(64, &e->io);
    if (rc == 0 && !one_port)
        rc = ms_io_uring_create(64, &e->sio);
    for (; rc == 0 && e->n_wio < write_ports; e->n_wio++)
        rc = ms_io_uring_create(64, &e->wio[e->n_wio]);
    if (rc == 0)
        rc = ms_kv_rocksdb_open(db, ms_fragstore_kv_cfs, ncf, NULL, &e->kv);
    struct ms_fragstore_opts o = {.data_dir = dir, .io = e->io, .sync_io = e->sio,
                                  .write_ios = e->wio, .n_write_ios = e->n_wio,
                                  .kv = e->kv, .max_sessions = 32};
    if (rc == 0)
        rc = ms_fragstore_open(&o, &e->store);
    return rc;
}

static void env_close(struct store_env *e)
{
    ms_fragstore_close(e->store);
    ms_kv_close(e->kv);
    ms_io_destroy(e->sio);
    for (unsigned i = 0; i < e->n_wio; i++)
        ms_io_destroy(e->wio[i]);
    ms_io_destroy(e->io);
}

static int run_phase(const struct bench_opts *o, uint64_t size, struct phase_result *out)
{
    char dir[4096];
    snprintf(dir, sizeof(dir), "%s/store", o->dir);
    struct store_env e;
    int rc = env_open(&e, dir, o->one_port, o->write_ports);
    struct phase ph = {.store = e.store, .frag_target = size};
    pthread_mutex_init(&ph.mu, NULL);
    pthread_t th[BENCH_WRITERS_MAX];
    double c0 = cpu_s();
    uint64_t t0 = now_ns();
    ph.deadline_ns = t0 + (uint64_t)o->seconds * 1000000000u;
    unsigned started = 0;
    for (; rc == 0 && started < o->writers; started++)
        rc = -pthread_create(&th[started], NULL, writer_main, &ph);
    for (unsigned i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    double el = (double)(now_ns() - t0) / 1e9;
    double cpu = cpu_s() - c0;
    uint64_t rounds = 0, frags = 0;
    if (e.store)
        ms_fragstore_commit_counters(e.store, &rounds, &frags);
    env_close(&e);
    rm_tree(dir);
    pthread_mutex_destroy(&ph.mu);
    if (rc == 0)
        rc = atomic_load(&ph.failed);
    uint64_t bytes = atomic_load(&ph.bytes);
    *out = (struct phase_result){
        .puts_s = (double)atomic_load(&ph.puts) / el, .mib_s = (double)bytes / el / 1048576.0,
        .per_round = rounds ? (double)frags / (double)rounds : 0,
        .cpu_s_gib = bytes ? cpu / ((double)bytes / (1u << 30)) : 0};
    return rc;
}

/* ---- fio reference ----------------------------------------------------------------------- */

/* Runs fio's 4 KiB O_DIRECT write + fdatasync at QD1 in DIR/fio; returns its write IOPS or a
 * negative value when fio is missing or failed. Terse v3 field 49 is the write IOPS. */
static double run_fio(const char *dir)
{
    char sub[4096], cmd[8400];
    snprintf(sub, sizeof(sub), "%s/fio", dir);
    if (mkdir(sub, 0700) != 0 && errno != EEXIST)
        return -1;
    snprintf(cmd, sizeof(cmd),
             "fio --name=durable4k --ioengine=io_uring --direct=1 --fdatasync=1 --bs=4k "
             "--rw=write --size=64m --runtime=30 --directory='%s' --output-format=terse "
             "--terse-version=3 2>/dev/null", sub);
    FILE *p = popen(cmd, "r");
    if (!p)
        return -1;
    char line[8192] = "";
    char *got = fgets(line, sizeof(line), p);
    int st = pclose(p);
    rm_tree(sub);
    if (!got || st != 0)
        return -1;
    const char *tok = line;
    for (int field = 1; tok && field < 49; field++) {
        tok = strchr(tok, ';');
        tok = tok ? tok + 1 : NULL;
    }
    return tok ? strtod(tok, NULL) : -1;
}

/* ---- driver ------------------------------------------------------------------------------ */

static double median(double *v, unsigned n)
{
    MS_ASSERT(n > 0);
    for (unsigned i = 1; i < n; i++)
        for (unsigned j = i; j > 0 && v[j - 1] > v[j]; j--) {
            double t = v[j];
            v[j] = v[j - 1];
            v[j - 1] = t;
        }
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static int parse_size(const char *s, uint64_t *out)
{
    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s)
        return -EINVAL;
    if (*end == 'k' || *end == 'K')
        v <<= 10, end++;
    else if (*end == 'm' || *end == 'M')
        v <<= 20, end++;
    if ((*end != '\0' && *end != ',') || v < 4096 || v > (64ull << 20))
        return -EINVAL;
    *out = v;
    return 0;
}

static int parse_uint(const char *s, unsigned lo, unsigned hi, unsigned *out)
{
    char *end = NULL;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || end == s || *end != '\0' || v < lo || v > hi)
        return -EINVAL;
    *out = (unsigned)v;
    return 0;
}

static int parse_sizes(const char *s, struct bench_opts *o)
{
    o->n_sizes = 0;
    for (const char *p = s; p && *p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL) {
        if (o->n_sizes == BENCH_SIZES_MAX || parse_size(p, &o->sizes[o->n_sizes]) != 0)
            return -EINVAL;
        o->n_sizes++;
    }
    return o->n_sizes > 0 ? 0 : -EINVAL;
}

static int parse_args(int argc, char **argv, struct bench_opts *o)
{
    *o = (struct bench_opts){.dir = ".", .writers = 16, .seconds = 8, .runs = 3,
                             .sizes = {16u << 10, 1u << 20, 4u << 20}, .n_sizes = 3,
                             .fio = true};
    int rc = 0;
    for (int i = 1; i < argc && rc == 0; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--no-fio") == 0) {
            o->fio = false;
            continue;
        }
        if (strcmp(a, "--one-port") == 0) {
            o->one_port = true;
            continue;
        }
        const char *v = ++i < argc ? argv[i] : NULL; /* every other option takes a value */
        if (!v)
            rc = -EINVAL;
        else if (strcmp(a, "--dir") == 0)
            o->dir = v;
        else if (strcmp(a, "--writers") == 0)
            rc = parse_uint(v, 1, BENCH_WRITERS_MAX, &o->writers);
        else if (strcmp(a, "--seconds") == 0)
            rc = parse_uint(v, 1, 600, &o->seconds);
        else if (strcmp(a, "--runs") == 0)
            rc = parse_uint(v, 1, BENCH_RUNS_MAX, &o->runs);
        else if (strcmp(a, "--sizes") == 0)
            rc = parse_sizes(v, o);
        else if (strcmp(a, "--write-ports") == 0)
            rc = parse_uint(v, 0, MS_FRAGSTORE_WRITE_IOS_MAX, &o->write_ports);
        else
            rc = -EINVAL;
    }
    return rc;
}

/* Refuses tmpfs and directories with less than 10 GiB free; makes the bench's temp dir. */
static int prepare_dir(struct bench_opts *o, char *tmp, size_t cap)
{
    struct statfs fs;
    struct statvfs vfs;
    if (statfs(o->dir, &fs) != 0 || statvfs(o->dir, &vfs) != 0)
        return -errno;
    if (fs.f_type == BENCH_TMPFS_MAGIC) {
        fprintf(stderr, "refusing tmpfs: %s (fdatasync is free there)\n", o->dir);
        return -EINVAL;
    }
    uint64_t free_bytes = (uint64_t)vfs.f_bavail * vfs.f_frsize;
    if (free_bytes < BENCH_FREE_MIN) {
        fprintf(stderr, "refusing: %" PRIu64 " MiB free below %s, need 10 GiB\n",
                free_bytes >> 20, o->dir);
        return -ENOSPC;
    }
    snprintf(tmp, cap, "%s/bench-fragstore-XXXXXX", o->dir);
    if (!mkdtemp(tmp))
        return -errno;
    o->dir = tmp;
    return 0;
}

static void print_summary(const struct bench_opts *o, double fio[],
                          struct phase_result res[][BENCH_SIZES_MAX])
{
    double v[BENCH_RUNS_MAX];
    double fio_med = o->fio ? median(memcpy(v, fio, o->runs * sizeof(double)), o->runs) : 0;
    printf("\nmedian of %u runs, %u writers%s, %u write ports; fio 4 KiB write+fdatasync QD1: "
           "%.0f IOPS\n", o->runs, o->writers, o->one_port ? ", one io port" : "",
           o->write_ports, fio_med);
    printf("%-10s %10s %10s %12s %12s %14s\n", "size", "puts/s", "MiB/s", "frags/round",
           "CPU s/GiB", "puts/s / fio");
    for (unsigned s = 0; s < o->n_sizes; s++) {
        double m[5][BENCH_RUNS_MAX];
        for (unsigned r = 0; r < o->runs; r++) {
            m[0][r] = res[r][s].puts_s;
            m[1][r] = res[r][s].mib_s;
            m[2][r] = res[r][s].per_round;
            m[3][r] = res[r][s].cpu_s_gib;
            m[4][r] = fio[r] > 0 ? res[r][s].puts_s / fio[r] : 0;
        }
        printf("%-10" PRIu64 " %10.0f %10.1f %12.2f %12.2f %14.2f\n", o->sizes[s],
               median(m[0], o->runs), median(m[1], o->runs), median(m[2], o->runs),
               median(m[3], o->runs), median(m[4], o->runs));
    }
}

int main(int argc, char **argv)
{
    struct bench_opts o;
    if (parse_args(argc, argv, &o) != 0) {
        fprintf(stderr, "usage: bench-fragstore [--dir DIR] [--writers N] [--seconds S] "
                        "[--runs R] [--sizes 16k,1m,4m] [--no-fio] [--one-port] "
                        "[--write-ports N]\n");
        return 2;
    }
    ms_log_set_level(MS_LOG_WARN);
    char tmp[4096];
    int rc = prepare_dir(&o, tmp, sizeof(tmp));
    if (rc == 0 && ms_io_uring_probe() != 0) {
        fprintf(stderr, "no io_uring here\n");
        rc = -ENOSYS;
    }
    double fio[BENCH_RUNS_MAX] = {0};
    struct phase_result res[BENCH_RUNS_MAX][BENCH_SIZES_MAX];
    memset(res, 0, sizeof(res));
    for (unsigned r = 0; r < o.runs && rc == 0; r++) {
        fio[r] = o.fio ? run_fio(o.dir) : 0;
        printf("run %u: fio %.0f IOPS\n", r + 1, fio[r]);
        for (unsigned s = 0; s < o.n_sizes && rc == 0; s++) {
            rc = run_phase(&o, o.sizes[s], &res[r][s]);
            printf("  %8" PRIu64 " B: %8.0f puts/s %8.1f MiB/s %6.2f frags/round "
                   "%6.2f CPU s/GiB\n", o.sizes[s], res[r][s].puts_s, res[r][s].mib_s,
                   res[r][s].per_round, res[r][s].cpu_s_gib);
            fflush(stdout);
        }
    }
    if (rc == 0)
        print_summary(&o, fio, res);
    else
        fprintf(stderr, "bench failed: %s\n", ms_err_name(rc));
    if (o.dir == tmp)
        rm_tree(tmp);
    return rc == 0 ? 0 : 1;
}
