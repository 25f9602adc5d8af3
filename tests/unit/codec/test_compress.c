/*
 * test_compress.c - zstd per segment (src/codec/compress.c): kept only when it saves >= 5 %,
 * exact-length decompression, damage refused.
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

static void test_keep_limit(void **state)
{
    (void)state;
    assert_int_equal(ms_compress_keep_limit(100), 95);
    assert_int_equal(ms_compress_keep_limit(1000), 950);
    assert_int_equal(ms_compress_keep_limit(101), 95); /* 5.05 rounds up to 6 saved */
    assert_int_equal(ms_compress_keep_limit(1), 0);
    assert_int_equal(ms_compress_keep_limit(20), 19);
}

static void test_compressible_kept_random_not(void **state)
{
    (void)state;
    struct ZSTD_CCtx_s *c = ms_zstd_cctx_new();
    struct ZSTD_DCtx_s *d = ms_zstd_dctx_new();
    assert_non_null(c);
    assert_non_null(d);
    size_t len = 100000;
    uint8_t *text = ct_object(len, 1, CT_TEXT), *rnd = ct_object(len, 2, CT_RANDOM);
    uint8_t *dst = malloc(len), *back = malloc(len);
    int64_t n = ms_compress(c, text, len, dst, len);
    assert_true(n > 0 && (size_t)n <= ms_compress_keep_limit(len));
    assert_int_equal(ms_decompress(d, dst, (size_t)n, back, len), 0);
    assert_memory_equal(back, text, len);
    assert_int_equal(ms_decompress(d, dst, (size_t)n, back, len - 1), -MEDSTORE_ECORRUPT);
    dst[n / 2] ^= 0xff;
    int rc = ms_decompress(d, dst, (size_t)n, back, len);
    assert_true(rc == 0 || rc == -MEDSTORE_ECORRUPT); /* the AEAD is what authenticates */
    assert_int_equal(ms_compress(c, rnd, len, dst, len), 0);
    assert_int_equal(ms_decompress(d, rnd, 100, back, len), -MEDSTORE_ECORRUPT);
    /* A sample decides for the whole object. */
    bool yes = false;
    assert_int_equal(ms_seg_should_compress(c, MS_CODEC_HINT_AUTO, text, len, dst, len, &yes), 0);
    assert_true(yes);
    assert_int_equal(ms_seg_should_compress(c, MS_CODEC_HINT_AUTO, rnd, len, dst, len, &yes), 0);
    assert_false(yes);
    assert_int_equal(ms_seg_should_compress(c, MS_CODEC_HINT_RAW, text, len, NULL, 0, &yes), 0);
    assert_false(yes);
    assert_int_equal(ms_seg_should_compress(c, MS_CODEC_HINT_COMPRESS, rnd, len, NULL, 0, &yes),
                     0);
    assert_true(yes);
    free(text);
    free(rnd);
    free(dst);
    free(back);
    ms_zstd_cctx_free(c);
    ms_zstd_dctx_free(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keep_limit),
        cmocka_unit_test(test_compressible_kept_random_not),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
