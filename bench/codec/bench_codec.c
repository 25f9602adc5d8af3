/*
 * bench_codec.c - bench-codec: throughput of each codec stage and of the PUT and GET
 * pipelines on DICOM, EMR and video samples, with 1 and 2 threads, beside same-run ceilings
 * and external references (issue 3 part 9, PERF.md).
 *
 * Data: the files of a kind from the shared corpus, concatenated and repeated into one
 * buffer (default 64 MiB). With T threads the buffer is cut at segment boundaries into T
 * objects, one per thread, each with its own codec context.
 * Ceiling (per thread count, same run): 1 / sum(share_i / T_i), T_i = a stage's throughput
 * measured here on the pipeline's own inputs, share_i = bytes the stage touches per object
 * byte: zstd 1 (0 for video: hint raw), AEAD and EC 1/ratio, XXH3 (k+m)/k of that plus 1 for
 * the keyed hash's plaintext leaves. GET: AEAD open 1/ratio, zstd -d the compressed part,
 * XXH3 over the k records read plus the leaves. Target: pipeline >= 0.85 x ceiling.
 * References (1 thread): `openssl speed -evp aes-256-gcm -bytes 16384 -seconds 3`,
 * `zstd -b1 -i3 -B<segment>` on the same buffer written to a file, a plain ISA-L encode loop
 * on the same shards, one XXH3-128 call over the same plaintext. Target: stage >= 0.8 x ref.
 * Copies per object byte: common/buf.h's counter around the pipeline runs (the codec counts
 * every copy of object data it makes beyond what the stages write).
 * Every figure is the median of --runs runs (default 3); a run is the best of 4 bursts of
 * >= 50 ms (interference only slows a burst down).
 * Throughputs are per CPU-second of the worker threads (bytes / thread CPU time, summed over
 * the threads): the machines are shared and noisy, and time spent waiting for a core is not
 * the codec's; memory stalls and the two threads' contention still count. The PUT/GET rows
 * also print the wall-clock figure actually achieved.
 */
#include "bench_codec.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "benchlib.h"
#include "common/buf.h"
#include "common/ms_assert.h"

#ifndef MS_BENCH_TESTDATA
#define MS_BENCH_TESTDATA "../shared/testdata"
#endif

#define MAX_RUNS 9

struct opts {
    size_t size_bytes;
    unsigned runs;
    unsigned max_threads;
    const char *data_dir;
    uint64_t min_ns;
    bool no_ext;
    struct ms_codec_params params;
};

struct dataset {
    const char *name;
    const char *sub;
    enum ms_codec_hint hint;
    uint8_t *buf;
    size_t len;
    unsigned nfiles;
    uint64_t src_bytes;
};

/* Results of one thread count: per work, per run. */
struct measured {
    double mib_s[BC_NWORK][MAX_RUNS];      /* per CPU-second of each worker thread, summed */
    double wall_mib_s[BC_NWORK][MAX_RUNS]; /* as achieved on the (shared, noisy) machine */
    uint64_t passes[BC_NWORK];
    double cpu_s_per_gib[BC_NWORK];
    double copies_per_byte[BC_NWORK];
};

struct refs {
    double openssl_gcm;  /* MiB/s, 1 thread */
    double zstd_c;       /* MiB/s, per dataset */
    double zstd_d;
    double zstd_ratio;
};

/* --- data ------------------------------------------------------------------------------- */

static int append_file(const char *path, uint8_t **buf, size_t *len, size_t *cap)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return -errno;
    for (;;) {
        if (*cap - *len < 65536) {
            size_t ncap = *cap ? *cap * 2 : 1u << 20;
            uint8_t *n = realloc(*buf, ncap);
            if (n == NULL) {
                fclose(f);
                return -ENOMEM;
            }
            *buf = n;
            *cap = ncap;
        }
        size_t got = fread(*buf + *len, 1, *cap - *len, f);
        *len += got;
        if (got == 0)
            break;
    }
    fclose(f);
    return 0;
}

/* Appends every regular file under dir (sorted order is not needed: we only measure);
 * skips sub-directories named "malformed" and, for video, anything but .mp4. */
static int collect(const char *dir, bool video, uint8_t **buf, size_t *len, size_t *cap,
                   unsigned *nfiles)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return -errno;
    struct dirent *e;
    int rc = 0;
    while (rc == 0 && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.' || strcmp(e->d_name, "malformed") == 0)
            continue;
        char path[4096];
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        struct stat st;
        if (stat(path, &st) != 0)
            continue;
        if (S_ISDIR(st.st_mode)) {
            rc = collect(path, video, buf, len, cap, nfiles);
            continue;
        }
        size_t nl = strlen(e->d_name);
        if (!S_ISREG(st.st_mode) || (video && (nl < 4 || strcmp(e->d_name + nl - 4, ".mp4"))))
            continue;
        rc = append_file(path, buf, len, cap);
        (*nfiles)++;
    }
    closedir(d);
    return rc;
}

static int dataset_load(struct dataset *ds, const struct opts *o)
{
    char dir[4096];
    snprintf(dir, sizeof(dir), "%s/%s", o->data_dir, ds->sub);
    uint8_t *src = NULL;
    size_t len = 0, cap = 0;
    int rc = collect(dir, ds->hint == MS_CODEC_HINT_RAW, &src, &len, &cap, &ds->nfiles);
    if (rc != 0 || len == 0) {
        free(src);
        return rc != 0 ? rc : -ENOENT;
    }
    ds->src_bytes = len;
    ds->len = o->size_bytes;
    ds->buf = malloc(ds->len);
    if (ds->buf == NULL) {
        free(src);
        return -ENOMEM;
    }
    for (size_t off = 0; off < ds->len; off += len)
        memcpy(ds->buf + off, src, ds->len - off < len ? ds->len - off : len);
    free(src);
    return 0;
}

/* --- external references ------------------------------------------------------------------ */

static double parse_openssl(const char *out)
{
    const char *p = strstr(out, "\nAES-256-GCM");
    if (p == NULL)
        p = strstr(out, "\naes-256-gcm");
    double kb = 0;
    if (p == NULL || sscanf(p + 1, "%*s %lfk", &kb) != 1)
        return 0;
    return kb * 1000.0 / (1024.0 * 1024.0);
}

static void ref_openssl(struct refs *r)
{
    static char out[65536];
    int rc = ms_bench_cmd_capture(
        "openssl speed -evp aes-256-gcm -bytes 16384 -seconds 3 2>/dev/null", out, sizeof(out));
    r->openssl_gcm = rc == 0 ? parse_openssl(out) : 0;
}

static void ref_zstd(const struct dataset *ds, const struct opts *o, struct refs *r)
{
    char path[256], cmd[512];
    static char out[65536];
    const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    snprintf(path, sizeof(path), "%s/medstore-bench-codec-%ld-%s.bin", tmp, (long)getpid(),
             ds->name);
    r->zstd_c = r->zstd_d = r->zstd_ratio = 0;
    FILE *f = fopen(path, "wb");
    if (f == NULL)
        return;
    size_t w = fwrite(ds->buf, 1, ds->len, f);
    fclose(f);
    /* zstd redraws its progress with CRs on stderr: keep only the last lines. */
    snprintf(cmd, sizeof(cmd), "zstd -b1 -i3 -B%u '%s' 2>&1 | tr '\\r' '\\n' | tail -n 4",
             o->params.segment_size_bytes, path);
    if (w == ds->len && ms_bench_cmd_capture(cmd, out, sizeof(out)) == 0) {
        const char *p = NULL;
        for (const char *q = out; (q = strstr(q, "(x")) != NULL; q++)
            p = q;
        double c = 0, d = 0, x = 0;
        if (p != NULL && sscanf(p, "(x%lf), %lf MB/s, %lf MB/s", &x, &c, &d) == 3) {
            r->zstd_ratio = x;
            r->zstd_c = c * 1e6 / (1024.0 * 1024.0); /* zstd's MB is 10^6 bytes */
            r->zstd_d = d * 1e6 / (1024.0 * 1024.0);
        }
    }
    unlink(path);
}

/* --- measuring ----------------------------------------------------------------------------- */

struct job {
    struct bc_slice *slices;
    unsigned nthreads;
    enum bc_work w;
    uint64_t passes;
    uint64_t bytes;       /* of the last call */
    uint64_t bytes_all;   /* of every call */
    double cpu_mib_s;     /* of the last call: sum over threads of bytes / thread CPU time */
};

static void job_worker(void *arg, unsigned tid)
{
    struct job *j = arg;
    MS_ASSERT(tid < j->nthreads);
    bc_slice_run(&j->slices[tid], j->w, j->passes);
}

static uint64_t job_run(void *arg, uint64_t passes)
{
    struct job *j = arg;
    MS_ASSERT(passes >= 1);
    j->passes = passes;
    for (unsigned t = 0; t < j->nthreads; t++)
        j->slices[t].bytes = 0;
    uint64_t wall = 0, cpu[BC_MAX_THREADS];
    int rc = ms_bench_parallel(j->nthreads, job_worker, j, &wall, cpu);
    MS_ASSERT(rc == 0);
    j->bytes = 0;
    j->cpu_mib_s = 0;
    for (unsigned t = 0; t < j->nthreads; t++) {
        MS_ASSERT(j->slices[t].err == 0);
        j->bytes += j->slices[t].bytes;
        j->cpu_mib_s += ms_bench_mib_s(j->slices[t].bytes, cpu[t]);
    }
    j->bytes_all += j->bytes;
    return wall;
}

/* Measures work w once (run r): BURSTS timed bursts of >= min_ns / BURSTS each, keeping the
 * best, since interference from other processes only ever slows a burst down. The pass count
 * is calibrated on the first run. */
static void measure(struct bc_slice *slices, unsigned nthreads, enum bc_work w, unsigned r,
                    const struct opts *o, struct measured *m)
{
    enum { BURSTS = 4 };
    struct job j = {.slices = slices, .nthreads = nthreads, .w = w};
    struct ms_bench_procstat p0, p1;
    int rc = ms_bench_procstat_read(0, &p0);
    uint64_t c0 = ms_buf_copied_bytes();
    double best_cpu = 0, best_wall = 0;
    for (int b = 0; b < BURSTS; b++) {
        uint64_t wall;
        if (r == 0 && b == 0) {
            struct ms_bench_run run = ms_bench_repeat(job_run, &j, o->min_ns / BURSTS);
            m->passes[w] = run.passes;
            wall = run.wall_ns;
        } else {
            wall = job_run(&j, m->passes[w]);
        }
        double wm = ms_bench_mib_s(j.bytes, wall);
        best_cpu = j.cpu_mib_s > best_cpu ? j.cpu_mib_s : best_cpu;
        best_wall = wm > best_wall ? wm : best_wall;
    }
    uint64_t copied = ms_buf_copied_bytes() - c0;
    if (rc == 0)
        rc = ms_bench_procstat_read(0, &p1);
    m->mib_s[w][r] = best_cpu;
    m->wall_mib_s[w][r] = best_wall;
    double gib = (double)j.bytes_all / (1024.0 * 1024.0 * 1024.0);
    if (r == 0) {
        m->cpu_s_per_gib[w] = rc == 0 && gib > 0 ? ms_bench_procstat_cpu_s(&p0, &p1) / gib : 0;
        m->copies_per_byte[w] = j.bytes_all ? (double)copied / (double)j.bytes_all : 0;
    }
}

static double median_of(const double *v, unsigned n)
{
    double tmp[MAX_RUNS];
    memcpy(tmp, v, n * sizeof(*v));
    return ms_bench_stats_median(tmp, n);
}

/* PUT and GET ceilings of run r from that run's stage throughputs (MiB/s). */
static void ceilings(const struct bc_totals *t, const struct bc_slice *s0, const double *mib,
                     double *put, double *get)
{
    const double MiB = 1024.0 * 1024.0;
    double k = s0->params.k, n = (double)s0->params.k + s0->params.m;
    double tp = (double)t->zstd_in / MiB / (mib[BC_ZSTD] > 0 ? mib[BC_ZSTD] : 1) +
                (double)t->body / MiB / mib[BC_SEAL] + (double)t->ec_in / MiB / mib[BC_EC] +
                (double)(t->records + t->plain) / MiB / mib[BC_XXH3];
    double tg = (double)t->body / MiB / mib[BC_OPEN] +
                (double)t->comp_plain / MiB / (mib[BC_UNZSTD] > 0 ? mib[BC_UNZSTD] : 1) +
                ((double)t->records * k / n + (double)t->plain) / MiB / mib[BC_XXH3];
    *put = (double)t->plain / MiB / tp;
    *get = (double)t->plain / MiB / tg;
}

/* --- per dataset ---------------------------------------------------------------------------- */

static bool work_applies(enum bc_work w, unsigned nthreads, const struct bc_totals *t)
{
    if ((w == BC_ISAL_REF || w == BC_XXH3_REF) && nthreads > 1)
        return false;
    if (w == BC_ZSTD)
        return t->zstd_in > 0;
    if (w == BC_UNZSTD)
        return t->comp_plain > 0;
    return true;
}

/* Cuts the buffer at segment boundaries into nthreads parts and prepares their slices. The
 * parts are encoded as separate objects, but with the compression choice the whole buffer got
 * with one thread (hint), as a client encoding one large object on several threads would:
 * otherwise a part whose first 64 KiB happen not to compress would skip zstd, and the thread
 * counts would not compare. */
static int slices_init(struct bc_slice *s, unsigned nthreads, const struct dataset *ds,
                       const struct opts *o, enum ms_codec_hint hint)
{
    uint64_t seg = o->params.segment_size_bytes;
    uint64_t nseg = ms_frag_segments_for(ds->len, (uint32_t)seg);
    struct ms_codec_params p = o->params;
    p.hint = hint;
    for (unsigned t = 0; t < nthreads; t++) {
        uint64_t a = nseg * t / nthreads * seg, b = nseg * (t + 1) / nthreads * seg;
        if (b > ds->len)
            b = ds->len;
        int rc = bc_slice_init(&s[t], &p, ds->buf + a, (size_t)(b - a), t);
        if (rc != 0)
            return rc;
    }
    return 0;
}

static int run_dataset(const struct dataset *ds, const struct opts *o, struct measured *m,
                       struct bc_totals *tot, struct bc_slice *s0_copy)
{
    for (unsigned nt = 1; nt <= o->max_threads; nt++) {
        struct bc_slice s[BC_MAX_THREADS];
        memset(s, 0, sizeof(s));
        enum ms_codec_hint hint = ds->hint;
        if (nt > 1 && hint == MS_CODEC_HINT_AUTO)
            hint = tot[0].comp_plain > 0 ? MS_CODEC_HINT_COMPRESS : MS_CODEC_HINT_RAW;
        int rc = slices_init(s, nt, ds, o, hint);
        struct bc_totals t = {0};
        for (unsigned i = 0; i < nt && rc == 0; i++) {
            struct bc_totals ti;
            bc_slice_totals(&s[i], &ti);
            t.plain += ti.plain;
            t.zstd_in += ti.zstd_in;
            t.comp_plain += ti.comp_plain;
            t.body += ti.body;
            t.ec_in += ti.ec_in;
            t.records += ti.records;
        }
        tot[nt - 1] = t;
        if (nt == 1)
            s0_copy->params = s[0].params;
        for (unsigned r = 0; r < o->runs && rc == 0; r++)
            for (int w = 0; w < BC_NWORK; w++)
                if (work_applies((enum bc_work)w, nt, &t))
                    measure(s, nt, (enum bc_work)w, r, o, &m[nt - 1]);
        for (unsigned i = 0; i < nt; i++)
            bc_slice_fini(&s[i]);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* --- report ----------------------------------------------------------------------------- */

static void fmt(char *buf, size_t n, double v, int decimals)
{
    if (v <= 0)
        snprintf(buf, n, "-");
    else
        snprintf(buf, n, "%.*f", decimals, v);
}

static void print_stages(const struct measured *m, const struct opts *o, const struct refs *r,
                         const struct bc_totals *t)
{
    /* Shares are those of the 1-thread object (the trial may decide otherwise per object). */
    static const enum bc_work rows[] = {BC_ZSTD, BC_UNZSTD, BC_SEAL, BC_OPEN, BC_EC, BC_XXH3};
    static const char *const names[] = {"stage", "share", "T1 MiB/s", "T2 MiB/s", "reference",
                                        "ref MiB/s", "T1/ref", ">=0.8"};
    static const int width[] = {-10, 6, 9, 9, -22, 9, 6, 5};
    double plain = (double)t->plain;
    double share[] = {(double)t->zstd_in / plain, (double)t->comp_plain / plain,
                      (double)t->body / plain, (double)t->body / plain,
                      (double)t->ec_in / plain, (double)(t->records + t->plain) / plain};
    struct ms_bench_table tab;
    ms_bench_table_begin(&tab, 8, names, width);
    for (size_t i = 0; i < MS_ARRAY_LEN(rows); i++) {
        enum bc_work w = rows[i];
        double t1 = median_of(m[0].mib_s[w], o->runs);
        double t2 = o->max_threads > 1 ? median_of(m[1].mib_s[w], o->runs) : 0;
        double ref = w == BC_ZSTD ? r->zstd_c : w == BC_UNZSTD ? r->zstd_d
                     : w == BC_SEAL || w == BC_OPEN ? r->openssl_gcm
                     : w == BC_EC ? median_of(m[0].mib_s[BC_ISAL_REF], o->runs)
                                  : median_of(m[0].mib_s[BC_XXH3_REF], o->runs);
        const char *rname = w == BC_ZSTD ? "zstd -b1 -i3 (comp)" : w == BC_UNZSTD
                            ? "zstd -b1 -i3 (decomp)" : w == BC_SEAL || w == BC_OPEN
                            ? "openssl speed 16KiB" : w == BC_EC ? "plain isa-l loop"
                                                                 : "xxh3-128 one call";
        char c[8][32];
        snprintf(c[1], 32, "%.3f", share[i]);
        fmt(c[2], 32, t1, 0);
        fmt(c[3], 32, t2, 0);
        fmt(c[5], 32, ref, 0);
        fmt(c[6], 32, ref > 0 && t1 > 0 ? t1 / ref : 0, 2);
        snprintf(c[7], 32, "%s", ref <= 0 || t1 <= 0 ? "-" : t1 / ref >= 0.8 ? "yes" : "NO");
        const char *cells[] = {bc_work_name(w), c[1], c[2], c[3], rname, c[5], c[6], c[7]};
        ms_bench_table_row(&tab, cells);
    }
}

static void print_pipelines(const struct measured *m, const struct opts *o,
                            const struct bc_totals *t, const struct bc_slice *s0)
{
    static const char *const names[] = {"pipeline", "thr", "MiB/s", "ceiling", "ratio",
                                        ">=0.85", "wall MiB/s", "cpu s/GiB", "copies/B",
                                        "stored/plain"};
    static const int width[] = {-13, 3, 8, 8, 6, 6, 10, 9, 8, 12};
    struct ms_bench_table tab;
    ms_bench_table_begin(&tab, 10, names, width);
    for (int w = BC_PUT; w <= BC_GET_DEGRADED; w++) {
        for (unsigned nt = 1; nt <= o->max_threads; nt++) {
            const struct measured *x = &m[nt - 1];
            double ratio[MAX_RUNS], ceil_v[MAX_RUNS];
            for (unsigned r = 0; r < o->runs; r++) {
                double mib[BC_NWORK], put, get;
                for (int i = 0; i < BC_NWORK; i++)
                    mib[i] = x->mib_s[i][r];
                ceilings(&t[nt - 1], s0, mib, &put, &get);
                ceil_v[r] = w == BC_PUT ? put : w == BC_GET ? get : 0;
                ratio[r] = ceil_v[r] > 0 ? x->mib_s[w][r] / ceil_v[r] : 0;
            }
            double rt = median_of(ratio, o->runs), cl = median_of(ceil_v, o->runs);
            char c[10][32];
            snprintf(c[1], 32, "%u", nt);
            fmt(c[2], 32, median_of(x->mib_s[w], o->runs), 0);
            fmt(c[3], 32, cl, 0);
            fmt(c[4], 32, rt, 2);
            snprintf(c[5], 32, "%s", rt <= 0 ? "info" : rt >= 0.85 ? "yes" : "NO");
            fmt(c[6], 32, median_of(x->wall_mib_s[w], o->runs), 0);
            fmt(c[7], 32, x->cpu_s_per_gib[w], 2);
            snprintf(c[8], 32, "%.3f", x->copies_per_byte[w]);
            snprintf(c[9], 32, "%.3f", (double)t[nt - 1].body / (double)t[nt - 1].plain);
            const char *cells[] = {bc_work_name((enum bc_work)w), c[1], c[2], c[3], c[4], c[5],
                                   c[6], c[7], c[8], c[9]};
            ms_bench_table_row(&tab, cells);
        }
    }
}

/* --- main ------------------------------------------------------------------------------- */

static void usage(void)
{
    printf("usage: bench-codec [--size-mib N] [--runs N] [--threads N] [--data DIR]\n"
           "                   [--min-ms N] [--k N --m N] [--segment-mib N] [--xchacha]\n"
           "                   [--no-ext] [--only dicom|emr|video]\n"
           "Per-stage and pipeline throughput of the codec (PERF.md). Defaults: 64 MiB per\n"
           "dataset, 3 runs (median), 1..2 threads, 4+2, 4 MiB segments, AES-256-GCM.\n"
           "--no-ext skips the external references (openssl speed, zstd -b).\n");
}

static int parse_args(int argc, char **argv, struct opts *o, const char **only)
{
    int step = 1;
    for (int i = 1; i < argc; i += step) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        step = 2;
        unsigned long n = v ? strtoul(v, NULL, 10) : 0;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage();
            exit(0);
        } else if (strcmp(a, "--no-ext") == 0) {
            o->no_ext = true;
            step = 1;
        } else if (strcmp(a, "--xchacha") == 0) {
            o->params.aead_alg = MS_AEAD_XCHACHA20POLY1305;
            step = 1;
        } else if (v == NULL) {
            return -EINVAL;
        } else if (strcmp(a, "--size-mib") == 0 && n >= 1 && n <= 4096) {
            o->size_bytes = (size_t)n << 20;
        } else if (strcmp(a, "--runs") == 0 && n >= 1 && n <= MAX_RUNS) {
            o->runs = (unsigned)n;
        } else if (strcmp(a, "--threads") == 0 && n >= 1 && n <= BC_MAX_THREADS) {
            o->max_threads = (unsigned)n;
        } else if (strcmp(a, "--min-ms") == 0 && n >= 1) {
            o->min_ns = n * 1000000ull;
        } else if (strcmp(a, "--k") == 0 && n >= 1 && n < 32) {
            o->params.k = (uint8_t)n;
        } else if (strcmp(a, "--m") == 0 && n >= 1 && n < 32) {
            o->params.m = (uint8_t)n;
        } else if (strcmp(a, "--segment-mib") == 0 && n >= 1 && n <= 64) {
            o->params.segment_size_bytes = (uint32_t)(n << 20);
        } else if (strcmp(a, "--data") == 0) {
            o->data_dir = v;
        } else if (strcmp(a, "--only") == 0) {
            *only = v;
        } else {
            return -EINVAL;
        }
    }
    return ms_codec_params_check(&o->params);
}

static void report_dataset(struct dataset *ds, const struct opts *o, struct refs *r)
{
    static struct measured m[BC_MAX_THREADS];
    memset(m, 0, sizeof(m));
    struct bc_totals t[BC_MAX_THREADS] = {{0}};
    struct bc_slice s0;
    memset(&s0, 0, sizeof(s0));
    if (!o->no_ext)
        ref_zstd(ds, o, r);
    int rc = run_dataset(ds, o, m, t, &s0);
    printf("\n== %s: %u files (%.1f MiB) repeated to %.0f MiB; stored/plain %.3f "
           "(zstd CLI ratio %.3f); %u+%u, %s, %u MiB segments\n",
           ds->name, ds->nfiles, (double)ds->src_bytes / 1048576.0, (double)ds->len / 1048576.0,
           (double)t[0].body / (double)t[0].plain, r->zstd_ratio, o->params.k, o->params.m,
           o->params.aead_alg == MS_AEAD_AES256GCM ? "AES-256-GCM" : "XChaCha20-Poly1305",
           o->params.segment_size_bytes >> 20);
    if (rc != 0) {
        printf("error: %s\n", ms_err_name(rc));
        return;
    }
    print_stages(m, o, r, &t[0]);
    printf("\n");
    print_pipelines(m, o, t, &s0);
}

int main(int argc, char **argv)
{
    struct opts o = {.size_bytes = 64u << 20, .runs = 3, .max_threads = 2,
                     .min_ns = 200000000ull};
    ms_codec_params_default(&o.params);
    o.data_dir = getenv("MEDSTORE_TESTDATA") ? getenv("MEDSTORE_TESTDATA") : MS_BENCH_TESTDATA;
    const char *only = NULL;
    if (parse_args(argc, argv, &o, &only) != 0) {
        usage();
        return 2;
    }
    struct dataset ds[] = {{"dicom", "dicom", MS_CODEC_HINT_AUTO, NULL, 0, 0, 0},
                           {"emr", "emr", MS_CODEC_HINT_AUTO, NULL, 0, 0, 0},
                           {"video", "video", MS_CODEC_HINT_RAW, NULL, 0, 0, 0}};
    uint64_t t0 = ms_bench_clock_ns();
    struct refs r = {0};
    if (!o.no_ext)
        ref_openssl(&r);
    printf("bench-codec: data %s, %u run(s) of >= %.1f s, median reported; openssl speed "
           "aes-256-gcm 16 KiB: %.0f MiB/s\n",
           o.data_dir, o.runs, (double)o.min_ns / 1e9, r.openssl_gcm);
    for (size_t i = 0; i < MS_ARRAY_LEN(ds); i++) {
        if (only != NULL && strcmp(only, ds[i].name) != 0)
            continue;
        int rc = dataset_load(&ds[i], &o);
        if (rc != 0) {
            printf("\n== %s: cannot load %s/%s (%s)\n", ds[i].name, o.data_dir, ds[i].sub,
                   ms_err_name(rc));
            continue;
        }
        report_dataset(&ds[i], &o, &r);
        free(ds[i].buf);
    }
    struct ms_bench_procstat ps;
    if (ms_bench_procstat_read(0, &ps) == 0)
        printf("\npeak RSS %.0f MiB; total %.0f s\n", (double)ps.rss_peak_bytes / 1048576.0,
               (double)(ms_bench_clock_ns() - t0) / 1e9);
    return 0;
}
