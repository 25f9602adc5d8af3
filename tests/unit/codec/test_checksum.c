/*
 * test_checksum.c - XXH3 wrappers (src/codec/checksum.c): streaming equals one-shot, seeds
 * separate domains, digests are the canonical big-endian bytes of XXH3-128.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "codec/codec_int.h"
#include "codec_test.h"

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
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
