/*
 * bench_proc.h - process measurements for benchmark programs under bench/: CPU seconds and peak
 * RSS of any process from /proc, a monotonic clock, medians and latency percentiles.
 *
 * Written for bench/rpc while bench/lib's shared library from the codec benchmark had not
 * landed; small and self-contained so either can absorb the other. Not for production code.
 * Thread safety: the functions are reentrant; a struct ms_bench_lat belongs to one thread.
 */
#ifndef MS_BENCH_BENCH_PROC_H
#define MS_BENCH_BENCH_PROC_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/err.h"

/* Monotonic time in seconds. */
double ms_bench_now_s(void);

/* User + system CPU seconds consumed so far by process pid (0 = this process), all threads.
 * Returns 0 or -errno (-ENOENT: no such process). */
MS_MUST_CHECK int ms_bench_proc_cpu_s(pid_t pid, double *cpu_s);

/* Peak resident set size (VmHWM) of pid (0 = this process) in KiB. Returns 0 or -errno. */
MS_MUST_CHECK int ms_bench_proc_peak_rss_kib(pid_t pid, long *kib);

/* Median of n values (n >= 1); reorders v. */
double ms_bench_median(double *v, size_t n);

/* Latency samples in nanoseconds, grown by doubling (malloc). */
struct ms_bench_lat {
    uint64_t *ns;
    size_t n;
    size_t cap;
};

/* Adds one sample; returns 0 or -ENOMEM. */
MS_MUST_CHECK int ms_bench_lat_add(struct ms_bench_lat *l, uint64_t ns);

/* Appends every sample of src to dst; returns 0 or -ENOMEM. */
MS_MUST_CHECK int ms_bench_lat_merge(struct ms_bench_lat *dst, const struct ms_bench_lat *src);

/* The pct percentile (0 < pct <= 100, nearest rank) in ns; sorts l. 0 when empty. */
uint64_t ms_bench_lat_pct(struct ms_bench_lat *l, double pct);

/* Frees the samples (the struct itself is the caller's). Accepts NULL. */
void ms_bench_lat_fini(struct ms_bench_lat *l);

#endif
