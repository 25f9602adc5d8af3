/*
 * test_ec.c - Reed-Solomon with ISA-L (src/codec/ec.c): the cauchy1 matrix rebuilds any
 * shard (data or parity, the repair path) from any k others for every k + m <= 16, and from
 * seeded random sets up to 32; k = 1 is replication; the decode-table cache is used.
 * (The full pipeline's every-pattern test is in test_codec.c.)
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "codec/codec_int.h"
#include "codec_test.h"

#define LEN 128

static struct ms_ec g_ec;

/* Encodes k data shards, then for the sources in src rebuilds want and compares. */
static void check_rebuild(uint8_t k, uint8_t m, uint32_t src, uint32_t want, uint64_t seed)
{
    unsigned n = (unsigned)k + m;
    static uint8_t store[MS_FRAG_MAX_SHARDS][LEN], orig[MS_FRAG_MAX_SHARDS][LEN];
    uint8_t *sh[MS_FRAG_MAX_SHARDS];
    for (unsigned i = 0; i < n; i++) {
        sh[i] = store[i];
        if (i < k)
            ms_test_fill(store[i], LEN, seed + i);
    }
    assert_int_equal(ms_ec_encode(&g_ec, k, m, LEN, sh, sh + k), 0);
    memcpy(orig, store, sizeof(orig));
    for (unsigned i = 0; i < n; i++)
        if (want & (1u << i))
            memset(store[i], 0xa5, LEN);
    assert_int_equal(ms_ec_rebuild(&g_ec, k, m, LEN, src, want, sh), 0);
    for (unsigned i = 0; i < n; i++)
        assert_memory_equal(store[i], orig[i], LEN);
}

static void test_any_k_rebuild_all_others_up_to_16__F_STO_1(void **state)
{
    (void)state;
    unsigned checked = 0;
    for (unsigned n = 2; n <= 16; n++) {
        for (unsigned m = 1; m < n; m++) {
            uint8_t k = (uint8_t)(n - m);
            uint32_t all = (uint32_t)((1ull << n) - 1);
            for (uint32_t src = 0; src <= all; src++) {
                if ((unsigned)__builtin_popcount(src) != k)
                    continue;
                check_rebuild(k, (uint8_t)m, src, all & ~src, src * 31u + n);
                checked++;
            }
        }
    }
    assert_int_equal(checked, (1u << 17) - 4 - 2 * 15);
}

static void test_random_sets_up_to_32__F_STO_1(void **state)
{
    (void)state;
    uint64_t seed = 99;
    for (unsigned n = 17; n <= 32; n++) {
        for (unsigned m = 1; m < n; m++) {
            for (int t = 0; t < 4; t++) {
                uint32_t src = 0;
                while ((unsigned)__builtin_popcount(src) < n - m)
                    src |= 1u << (ms_test_rand(&seed) % n);
                uint32_t all = (uint32_t)((1ull << n) - 1);
                check_rebuild((uint8_t)(n - m), (uint8_t)m, src, all & ~src, seed);
            }
        }
    }
}

static void test_matrix_is_cauchy1_and_k1_copies(void **state)
{
    (void)state;
    uint8_t a[32 * 32];
    ms_ec_matrix(1, 3, a);
    for (int i = 0; i < 4; i++)
        assert_int_equal(a[i], 1);
    ms_ec_matrix(4, 2, a);
    for (int r = 0; r < 4; r++)
        for (int c = 0; c < 4; c++)
            assert_int_equal(a[r * 4 + c], r == c);
    /* Cauchy rows: 1 / (i ^ j) in GF(2^8); never 0. */
    for (int i = 16; i < 24; i++)
        assert_int_not_equal(a[i], 0);
}

static void test_cache_and_bad_arguments(void **state)
{
    (void)state;
    memset(&g_ec, 0, sizeof(g_ec));
    for (int t = 0; t < 10; t++)
        check_rebuild(4, 2, 0x3c, 0x03, 7);
    assert_true(g_ec.hits >= 18);
    uint8_t buf[6][LEN], *sh[6];
    for (int i = 0; i < 6; i++)
        sh[i] = buf[i];
    assert_int_equal(ms_ec_rebuild(&g_ec, 4, 2, LEN, 0x07, 0x08, sh), -EINVAL); /* 3 sources */
    assert_int_equal(ms_ec_rebuild(&g_ec, 4, 2, LEN, 0x0f, 0x0f, sh), -EINVAL); /* overlap */
    assert_int_equal(ms_ec_rebuild(&g_ec, 4, 2, LEN, 0x0f, 0x40, sh), -EINVAL); /* > n */
    assert_int_equal(ms_ec_rebuild(&g_ec, 4, 2, 0, 0x0f, 0x30, sh), -EINVAL);
    assert_int_equal(ms_ec_encode(&g_ec, 0, 2, LEN, sh, sh), -EINVAL);
    assert_int_equal(ms_ec_encode(&g_ec, 30, 3, LEN, sh, sh), -EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_any_k_rebuild_all_others_up_to_16__F_STO_1),
        cmocka_unit_test(test_random_sets_up_to_32__F_STO_1),
        cmocka_unit_test(test_matrix_is_cauchy1_and_k1_copies),
        cmocka_unit_test(test_cache_and_bad_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
