/*
 * test_benchlib.c - ms_benchlib (bench/lib): the histogram's bucket arithmetic and error
 * bound, percentiles and merge, medians, the parallel runner, /proc samples and command
 * capture. The engine of every benchmark report must itself be right.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "benchlib.h"

static void test_hist_buckets(void **state)
{
    (void)state;
    unsigned prev = 0;
    for (uint64_t v = 0; v < 5000000; v = v < 1000 ? v + 1 : v + v / 97) {
        unsigned i = ms_bench_hist_index(v);
        assert_true(i >= prev);
        prev = i;
        uint64_t hi = ms_bench_hist_bucket_high(i);
        assert_true(hi >= v);
        assert_true((double)(hi - v) <= (double)v / 128.0 + 1.0); /* <= 1/128 relative */
    }
    assert_int_equal(ms_bench_hist_index(UINT64_MAX), MS_BENCH_HIST_BUCKETS - 1);
    assert_int_equal(ms_bench_hist_bucket_high(MS_BENCH_HIST_BUCKETS - 1), UINT64_MAX);
}

static void test_hist_percentiles_and_merge(void **state)
{
    (void)state;
    static struct ms_bench_hist a, b;
    ms_bench_hist_reset(&a);
    ms_bench_hist_reset(&b);
    assert_int_equal(ms_bench_hist_pct(&a, 50), 0);
    for (uint64_t v = 1; v <= 1000; v++)
        ms_bench_hist_record(v <= 500 ? &a : &b, v * 1000);
    ms_bench_hist_merge(&a, &b);
    assert_int_equal(a.count, 1000);
    assert_int_equal(a.min, 1000);
    assert_int_equal(a.max, 1000000);
    uint64_t p50 = ms_bench_hist_pct(&a, 50), p99 = ms_bench_hist_pct(&a, 99);
    assert_true(p50 >= 500000 && p50 <= 500000 + 500000 / 128);
    assert_true(p99 >= 990000 && p99 <= 990000 + 990000 / 128);
    assert_int_equal(ms_bench_hist_pct(&a, 100), 1000000);
    double mean = ms_bench_hist_mean(&a);
    assert_true(mean > 500499 && mean < 500501);
}

static void test_median_and_rates(void **state)
{
    (void)state;
    double v[] = {5, 1, 3};
    assert_true(ms_bench_stats_median(v, 3) == 3);
    double w[] = {4, 1, 3, 2};
    assert_true(ms_bench_stats_median(w, 4) == 2.5);
    assert_true(ms_bench_mib_s(1048576, 1000000000) == 1.0);
    assert_true(ms_bench_ops_s(10, 1000000000) == 10.0);
    assert_true(ms_bench_mib_s(1, 0) == 0);
}

static void spin(void *arg, unsigned tid)
{
    unsigned *hits = arg;
    __atomic_fetch_add(&hits[tid], 1, __ATOMIC_RELAXED);
    uint64_t t0 = ms_bench_thread_cpu_ns();
    while (ms_bench_thread_cpu_ns() - t0 < 5000000) {
    }
}

static void test_parallel_and_procstat(void **state)
{
    (void)state;
    unsigned hits[4] = {0};
    uint64_t wall = 0, cpu[4];
    struct ms_bench_procstat p0, p1;
    assert_int_equal(ms_bench_procstat_read(0, &p0), 0);
    assert_int_equal(ms_bench_parallel(4, spin, hits, &wall, cpu), 0);
    assert_int_equal(ms_bench_procstat_read(0, &p1), 0);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(hits[i], 1);
        assert_true(cpu[i] >= 5000000);
    }
    assert_true(wall >= 5000000);
    assert_true(p1.rss_peak_bytes >= p1.rss_bytes && p1.rss_bytes > 0);
    assert_true(ms_bench_procstat_cpu_s(&p0, &p1) >= 0);
    assert_int_equal(ms_bench_parallel(0, spin, hits, &wall, NULL), -EINVAL);
    struct ms_bench_procstat none;
    assert_true(ms_bench_procstat_read(999999999, &none) < 0);
}

static void test_cmd_capture(void **state)
{
    (void)state;
    char out[16];
    assert_int_equal(ms_bench_cmd_capture("printf 'hello world, long line'", out, sizeof(out)),
                     0);
    assert_string_equal(out, "hello world, lo");
    assert_int_equal(ms_bench_cmd_capture("exit 3", out, sizeof(out)), 3);
    assert_string_equal(out, "");
}

/* The machine probe really encrypts: a positive rate within what one core can do, and the
 * time budget holds. */
static void test_probe_aes_gcm(void **state)
{
    (void)state;
    uint64_t t0 = ms_bench_clock_ns();
    double r = ms_bench_probe_aes_gcm_mib_s(0.05);
    uint64_t took = ms_bench_clock_ns() - t0;
    assert_true(r > 1.0);
    assert_true(r < 200000.0);
    assert_true(took < 2000000000ULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hist_buckets),
        cmocka_unit_test(test_hist_percentiles_and_merge),
        cmocka_unit_test(test_median_and_rates),
        cmocka_unit_test(test_parallel_and_procstat),
        cmocka_unit_test(test_cmd_capture),
        cmocka_unit_test(test_probe_aes_gcm),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
