/*
 * benchlib.h - ms_benchlib, the measurement engine shared by the programs under bench/
 * (bench-codec now; bench/rpc, bench/node and the fio-style medstore-bench later).
 *
 * What it gives:
 *   - clocks: monotonic ns, this thread's CPU ns;
 *   - process samples from /proc/<pid>/stat and /status: user + system CPU and current / peak
 *     RSS of any process (the bench itself, a node, meta), so a report can print CPU seconds
 *     per GiB and peak RSS per process (PERF.md);
 *   - an HDR-style log-linear latency histogram (relative error <= 1/128, constant memory,
 *     mergeable across threads, p50 / p99 / p99.9 / max);
 *   - a parallel runner: N threads start together behind a barrier, wall time measured from
 *     release to the last finisher, CPU per thread;
 *   - a calibrated repeat loop ("run fn until at least min_ns elapsed") and the median of runs;
 *   - throughput helpers (MiB/s, ops/s) and a fixed-width text table;
 *   - capture of an external command's output (openssl speed, zstd -b, fio) for same-run
 *     references.
 * Not for production code. Thread safety: every function is reentrant; a histogram or table
 * belongs to one thread (merge histograms after the threads joined).
 */
#ifndef MS_BENCH_BENCHLIB_H
#define MS_BENCH_BENCHLIB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/err.h"

/* --- clocks ----------------------------------------------------------------------------- */

/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t ms_bench_clock_ns(void);

/* CPU time consumed by the calling thread (CLOCK_THREAD_CPUTIME_ID), nanoseconds. */
uint64_t ms_bench_thread_cpu_ns(void);

/* --- machine probe ----------------------------------------------------------------------- */

/* One core's OpenSSL AES-256-GCM rate in MiB/s, encrypting 16 KiB buffers for about
 * `seconds` (0 < seconds <= 10) on the calling thread; 0 if OpenSSL fails. PERF.md's figure
 * for this machine kind is MS_BENCH_PERF_AES_GCM_MIB_S. */
double ms_bench_probe_aes_gcm_mib_s(double seconds);
#define MS_BENCH_PERF_AES_GCM_MIB_S 6225.0

/* Prints "<who>: machine probe (<when>): one core AES-256-GCM N MiB/s = F of PERF.md's". */
void ms_bench_probe_print(const char *who, const char *when);

/* --- process samples --------------------------------------------------------------------- */

struct ms_bench_procstat {
    uint64_t user_ns;        /* utime, all threads */
    uint64_t sys_ns;         /* stime, all threads */
    uint64_t rss_bytes;      /* VmRSS */
    uint64_t rss_peak_bytes; /* VmHWM */
};

/* Reads /proc/<pid>/stat and /proc/<pid>/status (pid 0 = this process). Returns 0 or -errno
 * (-ENOENT: no such process, -EPROTO: unparseable). Fills *out only on success. */
MS_MUST_CHECK int ms_bench_procstat_read(pid_t pid, struct ms_bench_procstat *out);

/* CPU seconds (user + system) between two samples. */
double ms_bench_procstat_cpu_s(const struct ms_bench_procstat *a,
                               const struct ms_bench_procstat *b);

/* --- statistics --------------------------------------------------------------------------- */

/* Median of n >= 1 values (sorts v in place). */
double ms_bench_stats_median(double *v, size_t n);

/* Bytes per nanoseconds as MiB/s (0 when ns is 0). */
double ms_bench_mib_s(uint64_t bytes, uint64_t ns);

/* Operations per nanoseconds as ops/s (0 when ns is 0). */
double ms_bench_ops_s(uint64_t ops, uint64_t ns);

/* --- HDR-style latency histogram ---------------------------------------------------------- */

#define MS_BENCH_HIST_SUB_BITS 7 /* 128 sub-buckets per power of two: <= 0.8 % error */
#define MS_BENCH_HIST_BUCKETS ((2u << MS_BENCH_HIST_SUB_BITS) + \
                               (63u - MS_BENCH_HIST_SUB_BITS) * (1u << MS_BENCH_HIST_SUB_BITS))

/* Values are unsigned 64-bit (ns by convention). Plain memory (~60 KiB): embed or allocate;
 * zero it with ms_bench_hist_reset before use. */
struct ms_bench_hist {
    uint64_t count;
    uint64_t min;
    uint64_t max;
    long double sum;
    uint64_t bucket[MS_BENCH_HIST_BUCKETS];
};

void ms_bench_hist_reset(struct ms_bench_hist *h);
void ms_bench_hist_record(struct ms_bench_hist *h, uint64_t value);
/* Adds every sample of src into dst. */
void ms_bench_hist_merge(struct ms_bench_hist *dst, const struct ms_bench_hist *src);
/* The pct percentile (0 < pct <= 100): the highest value equivalent to the bucket holding
 * the nearest-rank sample, clamped to [min, max]. 0 when empty. */
uint64_t ms_bench_hist_pct(const struct ms_bench_hist *h, double pct);
double ms_bench_hist_mean(const struct ms_bench_hist *h);
/* Bucket index of a value and the highest value of a bucket (exposed for tests). */
unsigned ms_bench_hist_index(uint64_t value);
uint64_t ms_bench_hist_bucket_high(unsigned index);

/* --- running work ------------------------------------------------------------------------- */

/* Runs work_cb(arg, tid) on nthreads threads (1 .. 64) released together by a barrier.
 * *wall_ns receives the time from release to the last thread's return; cpu_ns (may be NULL;
 * nthreads entries) each thread's CPU time. Returns 0 or -errno (thread creation). */
MS_MUST_CHECK int ms_bench_parallel(unsigned nthreads, void (*work_cb)(void *arg, unsigned tid),
                                    void *arg, uint64_t *wall_ns, uint64_t *cpu_ns);

/* Result of one measured run of ms_bench_repeat. */
struct ms_bench_run {
    uint64_t wall_ns; /* of all passes */
    uint64_t passes;
};

/* Calls run_cb(arg, passes) with passes doubling from 1 until one call lasts >= min_ns, then
 * returns that call's wall time and passes (run_cb does `passes` repetitions of the work and
 * returns its wall ns, e.g. from ms_bench_parallel). Keeps short stages from being timed by
 * a clock tick. */
struct ms_bench_run ms_bench_repeat(uint64_t (*run_cb)(void *arg, uint64_t passes), void *arg,
                                    uint64_t min_ns);

/* --- external reference commands ----------------------------------------------------------- */

/* Runs cmd through /bin/sh, capturing up to cap - 1 bytes of its stdout (NUL-terminated;
 * stderr is not captured: redirect it in cmd). Returns the exit status (>= 0) or -errno.
 * cmd is built by the bench itself, never from untrusted input. */
MS_MUST_CHECK int ms_bench_cmd_capture(const char *cmd, char *out, size_t cap);

/* --- text table ----------------------------------------------------------------------------- */

#define MS_BENCH_TABLE_COLS 12

/* A fixed-width table printed to stdout, header once, then rows. */
struct ms_bench_table {
    unsigned ncols;
    int width[MS_BENCH_TABLE_COLS];
};

/* Prints the header (and a rule) for ncols columns: names[i] in width[i] characters
 * (negative width = left aligned). */
void ms_bench_table_begin(struct ms_bench_table *t, unsigned ncols, const char *const names[],
                          const int width[]);

/* Prints one row of ncols cells. */
void ms_bench_table_row(const struct ms_bench_table *t, const char *const cells[]);

#endif
