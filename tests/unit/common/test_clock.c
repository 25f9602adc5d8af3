/*
 * test_clock.c - the clock port: the real clock is sane and monotonic; the fake moves only
 * when told, keeps sub-millisecond remainders, and steps its wall clock independently.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "common/clock.h"

static void test_real_clock(void **state)
{
    (void)state;
    struct ms_clock *c = ms_clock_real();
    assert_non_null(c);
    assert_ptr_equal(c, ms_clock_real());
    uint64_t wall = ms_clock_now_unix_ms(c);
    assert_true(wall > 1577836800000ULL); /* after 2020-01-01 */
    uint64_t prev = ms_clock_now_mono_ns(c);
    for (int i = 0; i < 1000; i++) {
        uint64_t now = ms_clock_now_mono_ns(c);
        assert_true(now >= prev);
        prev = now;
    }
}

static void test_fake_moves_only_when_told(void **state)
{
    (void)state;
    struct ms_clock_fake f;
    ms_clock_fake_init(&f, 1700000000000ULL, 5);
    struct ms_clock *c = &f.clock;
    assert_int_equal(ms_clock_now_unix_ms(c), 1700000000000ULL);
    assert_int_equal(ms_clock_now_mono_ns(c), 5);
    assert_int_equal(ms_clock_now_unix_ms(c), 1700000000000ULL);
    ms_clock_fake_advance_ns(&f, 2 * MS_NS_PER_S);
    assert_int_equal(ms_clock_now_unix_ms(c), 1700000002000ULL);
    assert_int_equal(ms_clock_now_mono_ns(c), 2 * MS_NS_PER_S + 5);
}

static void test_fake_sub_ms_accumulates(void **state)
{
    (void)state;
    struct ms_clock_fake f;
    ms_clock_fake_init(&f, 1000, 0);
    for (int i = 0; i < 9; i++)
        ms_clock_fake_advance_ns(&f, MS_NS_PER_MS / 10);
    assert_int_equal(ms_clock_now_unix_ms(&f.clock), 1000);
    ms_clock_fake_advance_ns(&f, MS_NS_PER_MS / 10);
    assert_int_equal(ms_clock_now_unix_ms(&f.clock), 1001);
    assert_int_equal(ms_clock_now_mono_ns(&f.clock), MS_NS_PER_MS);
}

static void test_fake_wall_step_keeps_monotonic(void **state)
{
    (void)state;
    struct ms_clock_fake f;
    ms_clock_fake_init(&f, 50000, 777);
    ms_clock_fake_set_unix_ms(&f, 10000); /* wall clock stepped back (NTP) */
    assert_int_equal(ms_clock_now_unix_ms(&f.clock), 10000);
    assert_int_equal(ms_clock_now_mono_ns(&f.clock), 777);
    ms_clock_fake_set_unix_ms(&f, 90000);
    assert_int_equal(ms_clock_now_unix_ms(&f.clock), 90000);
    assert_int_equal(ms_clock_now_mono_ns(&f.clock), 777);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_real_clock),
        cmocka_unit_test(test_fake_moves_only_when_told),
        cmocka_unit_test(test_fake_sub_ms_accumulates),
        cmocka_unit_test(test_fake_wall_step_keeps_monotonic),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
