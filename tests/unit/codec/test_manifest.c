/*
 * test_manifest.c - manifest encode/decode (src/codec/manifest.c) on valid and hostile bytes:
 * round trip, every bit flip refused, every inconsistent field refused even when resealed,
 * truncation and trailing bytes refused (Y-QRY-3, Y-STO-2).
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
#include "codec/manifest_format.h"
#include "codec_test.h"
#include "common/ms_assert.h"

/* A consistent 3-segment manifest for a 4+2 object (caller frees with fini_sample). */
static struct ms_manifest sample(void)
{
    struct ms_manifest m;
    memset(&m, 0, sizeof(m));
    m.oid = ct_oid(1);
    m.object_len_bytes = 2 * CT_SEG + 10;
    m.segment_size_bytes = CT_SEG;
    m.shard_align_bytes = 64;
    m.segment_count = 3;
    m.k = 4;
    m.m = 2;
    m.ec_alg = MS_EC_CAUCHY1;
    m.aead_alg = MS_AEAD_AES256GCM;
    m.comp_alg = MS_COMPRESS_ZSTD;
    m.csum_alg = MS_CSUM_XXH3_128;
    ms_test_fill(m.phash, sizeof(m.phash), 2);
    m.segs = calloc(3, sizeof(*m.segs));
    m.shard_csum = calloc(18, MS_FRAG_CSUM_BYTES);
    assert_non_null(m.segs);
    assert_non_null(m.shard_csum);
    m.segs[0] = (struct ms_manifest_seg){CT_SEG, CT_SEG + 16, 0};
    m.segs[1] = (struct ms_manifest_seg){CT_SEG, 1000, MS_MANIFEST_SEG_COMPRESSED};
    m.segs[2] = (struct ms_manifest_seg){10, 26, 0};
    ms_test_fill((uint8_t *)m.shard_csum, 18 * MS_FRAG_CSUM_BYTES, 3);
    return m;
}

static void fini_sample(struct ms_manifest *m)
{
    free(m->segs);
    free(m->shard_csum);
}

static void test_round_trip(void **state)
{
    (void)state;
    struct ms_manifest m = sample(), d;
    uint8_t *buf;
    size_t len;
    assert_int_equal(ms_manifest_encode(&m, &buf, &len), 0);
    assert_int_equal(len, ms_manifest_bytes(3, 6));
    assert_int_equal(len, 96 + 3 * (12 + 16 * 6) + 16);
    assert_int_equal(ms_manifest_decode(buf, len, &d), 0);
    assert_memory_equal(&d.oid, &m.oid, sizeof(m.oid));
    assert_int_equal(d.object_len_bytes, m.object_len_bytes);
    assert_int_equal(d.segment_count, 3);
    assert_memory_equal(d.phash, m.phash, 32);
    assert_memory_equal(d.segs, m.segs, 3 * sizeof(*m.segs));
    assert_memory_equal(d.shard_csum, m.shard_csum, 18 * MS_FRAG_CSUM_BYTES);
    struct ms_frag_hdr h;
    assert_int_equal(ms_manifest_frag_hdr(&d, 5, &h), 0);
    assert_int_equal(h.frag_index, 5);
    assert_int_equal(ms_frag_hdr_check(&h), 0);
    assert_int_equal(ms_manifest_frag_hdr(&d, 6, &h), -EINVAL);
    ms_manifest_fini(&d);
    ms_manifest_fini(&d); /* a zeroed manifest is accepted */
    free(buf);
    fini_sample(&m);
}

static void test_every_bit_flip_and_length_refused__Y_STO_2(void **state)
{
    (void)state;
    struct ms_manifest m = sample(), d;
    uint8_t *buf;
    size_t len;
    assert_int_equal(ms_manifest_encode(&m, &buf, &len), 0);
    for (size_t bit = 0; bit < len * 8; bit++) {
        buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        assert_true(ms_manifest_decode(buf, len, &d) < 0);
        buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    }
    for (size_t n = 0; n < len; n++)
        assert_true(ms_manifest_decode(buf, n, &d) < 0);
    uint8_t *longer = malloc(len + 1);
    memcpy(longer, buf, len);
    longer[len] = 0;
    assert_int_equal(ms_manifest_decode(longer, len + 1, &d), -MEDSTORE_EFORMAT);
    free(longer);
    free(buf);
    fini_sample(&m);
}

static void test_inconsistent_fields_refused__Y_QRY_3(void **state)
{
    (void)state;
    for (int c = 0; c < 9; c++) {
        struct ms_manifest m = sample();
        switch (c) {
        case 0: m.segs[0].plain_len_bytes = CT_SEG - 1; break;
        case 1: m.segs[2].stored_len_bytes = 27; break;
        case 2: m.segs[1].stored_len_bytes = CT_SEG; break;        /* saves < 5 % */
        case 3: m.segs[0].flags = 4; break;
        case 4: m.segment_count = 2; break;
        case 5: m.object_len_bytes = 5 * CT_SEG; break;
        case 6: m.k = 0; break;
        case 7: m.aead_alg = 5; break;
        default: m.comp_alg = MS_COMPRESS_NONE; break;             /* seg 1 says zstd */
        }
        uint8_t *buf;
        size_t len;
        assert_int_equal(ms_manifest_encode(&m, &buf, &len), -EINVAL);
        assert_true(ms_manifest_check(&m) < 0);
        fini_sample(&m);
    }
    /* The same inconsistencies written by hand and resealed are refused by decode. */
    struct ms_manifest m = sample(), d;
    uint8_t *buf;
    size_t len;
    assert_int_equal(ms_manifest_encode(&m, &buf, &len), 0);
    ms_put_le32(buf + 96 + 2 * (12 + 96) + MS_MFE_OFF_STORED, 27);
    ms_csum128(buf, len - 16, MS_MANIFEST_SEED, buf + len - 16);
    assert_int_equal(ms_manifest_decode(buf, len, &d), -MEDSTORE_EFORMAT);
    ms_put_le32(buf + 96 + 2 * (12 + 96) + MS_MFE_OFF_STORED, 26);
    buf[96 + MS_MFE_OFF_RESERVED] = 1;
    ms_csum128(buf, len - 16, MS_MANIFEST_SEED, buf + len - 16);
    assert_int_equal(ms_manifest_decode(buf, len, &d), -MEDSTORE_EFORMAT);
    buf[96 + MS_MFE_OFF_RESERVED] = 0;
    ms_put_le16(buf + MS_MF_OFF_VERSION, 2);
    ms_csum128(buf, len - 16, MS_MANIFEST_SEED, buf + len - 16);
    assert_int_equal(ms_manifest_decode(buf, len, &d), -MEDSTORE_EVERSION);
    free(buf);
    fini_sample(&m);
}

static void test_empty_object_manifest(void **state)
{
    (void)state;
    struct ms_manifest m = sample(), d;
    free(m.segs);
    free(m.shard_csum);
    m.segs = NULL;
    m.shard_csum = NULL;
    m.object_len_bytes = 0;
    m.segment_count = 0;
    uint8_t *buf;
    size_t len;
    assert_int_equal(ms_manifest_encode(&m, &buf, &len), 0);
    assert_int_equal(len, 112);
    assert_int_equal(ms_manifest_decode(buf, len, &d), 0);
    assert_int_equal(d.segment_count, 0);
    assert_int_equal(d.object_len_bytes, 0);
    ms_manifest_fini(&d);
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_every_bit_flip_and_length_refused__Y_STO_2),
        cmocka_unit_test(test_inconsistent_fields_refused__Y_QRY_3),
        cmocka_unit_test(test_empty_object_manifest),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
