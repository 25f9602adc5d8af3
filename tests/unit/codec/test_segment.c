/*
 * test_segment.c - segment arithmetic (src/codec/segment.c, frag.c helpers): counts and
 * lengths at the boundaries, shard lengths with alignment and padding.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "codec/codec_int.h"

static void test_segment_counts_and_lengths(void **state)
{
    (void)state;
    const uint32_t s = 4u << 20;
    assert_int_equal(ms_frag_segments_for(0, s), 0);
    assert_int_equal(ms_frag_segments_for(1, s), 1);
    assert_int_equal(ms_frag_segments_for(s - 1, s), 1);
    assert_int_equal(ms_frag_segments_for(s, s), 1);
    assert_int_equal(ms_frag_segments_for(s + 1, s), 2);
    assert_int_equal(ms_frag_segments_for((uint64_t)1 << 40, s), 1u << 18);
    assert_int_equal(ms_seg_plain_len(s + 1, s, 0), s);
    assert_int_equal(ms_seg_plain_len(s + 1, s, 1), 1);
    assert_int_equal(ms_seg_plain_len(2 * (uint64_t)s, s, 1), s);
    assert_int_equal(ms_seg_plain_len(5, s, 0), 5);
}

static void test_shard_lengths(void **state)
{
    (void)state;
    assert_int_equal(ms_frag_shard_len(17, 4, 64), 64);
    assert_int_equal(ms_frag_shard_len(4 * 64, 4, 64), 64);
    assert_int_equal(ms_frag_shard_len(4 * 64 + 1, 4, 64), 128);
    assert_int_equal(ms_frag_shard_len((4u << 20) + 16, 4, 64), (1u << 20) + 64);
    assert_int_equal(ms_frag_shard_len(100, 1, 1), 100);
    assert_int_equal(ms_frag_shard_len(100, 3, 1), 34);
    assert_int_equal(ms_frag_shard_len(0, 3, 64), 0);
    assert_int_equal(ms_frag_index_bytes(0), 40);
    assert_int_equal(ms_frag_index_bytes(3), 88);
    assert_int_equal(ms_frag_size(1000, 3), 128 + 1000 + 88);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_segment_counts_and_lengths),
        cmocka_unit_test(test_shard_lengths),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
