/*
 * test_rng.c - the randomness port: the fake replays the same bytes for the same seed (and
 * pins them, so a change of generator is noticed: simulation seeds in bug reports must keep
 * replaying); the real one fills buffers; ms_rng_below stays in range and covers it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "common/rng.h"

static void test_fake_is_deterministic(void **state)
{
    (void)state;
    struct ms_rng_fake a, b, c;
    ms_rng_fake_init(&a, 42);
    ms_rng_fake_init(&b, 42);
    ms_rng_fake_init(&c, 43);
    uint8_t x[100], y[100], z[100];
    ms_rng_fill(&a.rng, x, sizeof(x));
    ms_rng_fill(&b.rng, y, sizeof(y));
    ms_rng_fill(&c.rng, z, sizeof(z));
    assert_memory_equal(x, y, sizeof(x));
    assert_memory_not_equal(x, z, sizeof(x));
    assert_int_equal(a.calls, 1);
}

static void test_fake_pinned_stream(void **state)
{
    (void)state;
    /* splitmix64 with seed 0: first output 0xe220a8397b1dcdaf, emitted little endian. */
    struct ms_rng_fake f;
    ms_rng_fake_init(&f, 0);
    uint8_t b[8];
    ms_rng_fill(&f.rng, b, sizeof(b));
    static const uint8_t want[8] = {0xaf, 0xcd, 0x1d, 0x7b, 0x39, 0xa8, 0x20, 0xe2};
    assert_memory_equal(b, want, sizeof(b));
    ms_rng_fake_init(&f, 0);
    assert_int_equal(ms_rng_u64(&f.rng), 0xe220a8397b1dcdafULL);
}

static void test_real_fills(void **state)
{
    (void)state;
    struct ms_rng *r = ms_rng_real();
    assert_non_null(r);
    uint8_t a[64], b[64];
    memset(a, 0, sizeof(a));
    memset(b, 0, sizeof(b));
    ms_rng_fill(r, a, sizeof(a));
    ms_rng_fill(r, b, sizeof(b));
    assert_memory_not_equal(a, b, sizeof(a)); /* 2^-512 chance of a false failure */
    ms_rng_fill(r, NULL, 0);
}

static void test_below_in_range_and_covering(void **state)
{
    (void)state;
    struct ms_rng_fake f;
    ms_rng_fake_init(&f, 7);
    unsigned seen[6] = {0};
    for (int i = 0; i < 6000; i++) {
        uint64_t v = ms_rng_below(&f.rng, 6);
        assert_true(v < 6);
        seen[v]++;
    }
    for (int i = 0; i < 6; i++)
        assert_in_range(seen[i], 800, 1200);
    assert_int_equal(ms_rng_below(&f.rng, 1), 0);
    uint64_t big = ms_rng_below(&f.rng, UINT64_MAX);
    assert_true(big < UINT64_MAX);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fake_is_deterministic),
        cmocka_unit_test(test_fake_pinned_stream),
        cmocka_unit_test(test_real_fills),
        cmocka_unit_test(test_below_in_range_and_covering),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
