/*
 * test_checksum.c - XXH3 wrappers (src/codec/checksum.c): streaming equals one-shot, seeds
 * separate domains, digests are the canonical big-endian bytes of XXH3-128, and the AVX2 build
 * (checksum_avx2.c) gives exactly the digests of a scalar reference, also when one stream
 * mixes both builds.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

/* The reference: XXH3 with no vector code at all, inlined into this test. */
#define XXH_INLINE_ALL
#define XXH_VECTOR XXH_SCALAR
#include <xxhash.h>

#include "codec/checksum_simd.h"
#include "codec/codec_int.h"
#include "codec_test.h"

static void ref_digest(const void *p, size_t len, uint64_t seed, uint8_t out[16])
{
    XXH128_canonical_t c;
    XXH128_canonicalFromHash(&c, XXH3_128bits_withSeed(p, len, seed));
    memcpy(out, c.digest, 16);
}

/* Every path of ms_csum128 / ms_csum128_update (short inputs on the baseline build, long ones
 * on AVX2 where the CPU has it) against the scalar reference: lengths around the vector
 * threshold, XXH3's 1 KiB stripes block and its internal buffer, and streams cut so that one
 * state is fed by both builds. */
static void test_matches_scalar_reference(void **state)
{
    (void)state;
    static uint8_t data[300000];
    ms_test_fill(data, sizeof(data), 7);
    static const size_t lens[] = {0,    1,    16,   17,   128,  129,   240,   241,    1023,
                                  1024, 1025, 4095, 4096, 4097, 65536, 65599, 300000};
    static const size_t cuts[] = {1, 100, 1023, 1024, 5000, 131072};
    _Alignas(64) uint8_t st[MS_CSUM_STATE_BYTES];
    for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
        uint8_t want[16], got[16];
        ref_digest(data, lens[i], 99, want);
        ms_csum128(data, lens[i], 99, got);
        assert_memory_equal(want, got, 16);
        for (size_t c = 0; c < sizeof(cuts) / sizeof(cuts[0]); c++) {
            ms_csum128_init(st, 99);
            for (size_t o = 0, k = 0; o < lens[i]; k++) { /* alternate short and long pieces */
                size_t piece = k % 2 ? cuts[c] : 700;
                size_t n = lens[i] - o < piece ? lens[i] - o : piece;
                ms_csum128_update(st, data + o, n);
                o += n;
            }
            ms_csum128_final(st, got);
            assert_memory_equal(want, got, 16);
        }
    }
}

/* The AVX2 entry points themselves, called directly (skipped where the build or the CPU has
 * no AVX2): one-shot and streaming equal the scalar reference. */
static void test_avx2_build_matches_reference(void **state)
{
    (void)state;
#ifdef MS_CSUM_HAVE_AVX2
    if (!__builtin_cpu_supports("avx2"))
        skip();
    static uint8_t data[200000];
    ms_test_fill(data, sizeof(data), 8);
    _Alignas(64) uint8_t st[MS_CSUM_STATE_BYTES];
    for (size_t len = 1; len <= sizeof(data); len = len * 3 + 7) {
        uint8_t want[16], got[16];
        ref_digest(data, len, 5, want);
        XXH128_hash_t h;
        ms_csum_avx2_oneshot(data, len, 5, &h.low64, &h.high64);
        XXH128_canonical_t c;
        XXH128_canonicalFromHash(&c, h);
        assert_memory_equal(want, c.digest, 16);
        ms_csum128_init(st, 5);
        for (size_t o = 0; o < len; o += 4099)
            assert_int_equal(ms_csum_avx2_update(st, data + o, len - o < 4099 ? len - o : 4099), 0);
        ms_csum128_final(st, got);
        assert_memory_equal(want, got, 16);
    }
#else
    skip();
#endif
}

static void test_stream_equals_one_shot(void **state)
{
    (void)state;
    static uint8_t data[10000];
    ms_test_fill(data, sizeof(data), 1);
    _Alignas(64) uint8_t st[MS_CSUM_STATE_BYTES];
    for (size_t len = 0; len <= sizeof(data); len = len * 2 + 1) {
        uint8_t a[16], b[16];
        ms_csum128(data, len, 42, a);
        ms_csum128_init(st, 42);
        for (size_t o = 0; o < len; o += 333)
            ms_csum128_update(st, data + o, len - o < 333 ? len - o : 333);
        ms_csum128_final(st, b);
        assert_memory_equal(a, b, 16);
        assert_true(ms_csum_equal(a, b));
    }
}

static void test_seed_and_data_change_digest(void **state)
{
    (void)state;
    uint8_t data[64] = {0}, a[16], b[16];
    ms_csum128(data, sizeof(data), 1, a);
    ms_csum128(data, sizeof(data), 2, b);
    assert_false(ms_csum_equal(a, b));
    data[63] = 1;
    ms_csum128(data, sizeof(data), 1, b);
    assert_false(ms_csum_equal(a, b));
    assert_int_not_equal(ms_csum64(data, 64, 1), ms_csum64(data, 64, 2));
    /* Known value: XXH3-128 of the empty input, seed 0 (xxhash's test vector
     * 0x99AA06D3014798D86001C324468D497F), in canonical byte order. */
    static const uint8_t empty[16] = {0x99, 0xaa, 0x06, 0xd3, 0x01, 0x47, 0x98, 0xd8,
                                      0x60, 0x01, 0xc3, 0x24, 0x46, 0x8d, 0x49, 0x7f};
    ms_csum128(NULL, 0, 0, a);
    assert_memory_equal(a, empty, 16);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stream_equals_one_shot),
        cmocka_unit_test(test_seed_and_data_change_digest),
        cmocka_unit_test(test_matches_scalar_reference),
        cmocka_unit_test(test_avx2_build_matches_reference),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
