/*
 * test_frag.c - the fragment format (src/codec/frag.c): header, shard records, segment index
 * and the streaming validator, on valid and hostile bytes. Every decoder must refuse damage
 * with a precise code (Y-QRY-3) and detect any flipped bit (Y-STO-2, F-TRN-1).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "codec/codec_int.h"
#include "codec_test.h"
#include "common/ms_assert.h"

static struct ms_frag_hdr valid_hdr(void)
{
    struct ms_frag_hdr h;
    memset(&h, 0, sizeof(h));
    h.oid = ct_oid(1);
    h.frag_index = 5;
    h.k = 4;
    h.m = 2;
    h.ec_alg = MS_EC_CAUCHY1;
    h.aead_alg = MS_AEAD_AES256GCM;
    h.comp_alg = MS_COMPRESS_ZSTD;
    h.csum_alg = MS_CSUM_XXH3_128;
    h.segment_size_bytes = 4u << 20;
    h.shard_align_bytes = 64;
    h.object_len_bytes = 10u << 20;
    h.segment_count = 3;
    return h;
}

/* Re-seals a modified header so only the field check can refuse it. */
static void reseal(uint8_t *b)
{
    ms_csum128(b, MS_FRAG_OFF_CSUM, 0, b + MS_FRAG_OFF_CSUM);
}

static void test_hdr_round_trip(void **state)
{
    (void)state;
    struct ms_frag_hdr h = valid_hdr(), g;
    uint8_t b[MS_FRAG_HDR_BYTES];
    assert_int_equal(ms_frag_hdr_encode(&h, b, sizeof(b)), 0);
    assert_memory_equal(b, MS_FRAG_MAGIC, MS_FRAG_MAGIC_BYTES);
    assert_int_equal(ms_frag_hdr_decode(b, sizeof(b), &g), 0);
    assert_memory_equal(&h.oid, &g.oid, sizeof(h.oid));
    assert_int_equal(g.k, 4);
    assert_int_equal(g.m, 2);
    assert_int_equal(g.frag_index, 5);
    assert_int_equal(g.segment_count, 3);
    assert_int_equal(g.object_len_bytes, 10u << 20);
    assert_int_equal(g.segment_size_bytes, 4u << 20);
    /* Unknown length (streaming) is valid when both fields say so. */
    h.object_len_bytes = MS_FRAG_LEN_UNKNOWN;
    h.segment_count = MS_FRAG_SEGS_UNKNOWN;
    assert_int_equal(ms_frag_hdr_encode(&h, b, sizeof(b)), 0);
    assert_int_equal(ms_frag_hdr_decode(b, sizeof(b), &g), 0);
    assert_int_equal(g.segment_count, MS_FRAG_SEGS_UNKNOWN);
    assert_int_equal(ms_frag_hdr_encode(&h, b, sizeof(b) - 1), -EINVAL);
}

static void test_hdr_every_bit_flip_refused__Y_STO_2(void **state)
{
    (void)state;
    struct ms_frag_hdr h = valid_hdr(), g;
    uint8_t b[MS_FRAG_HDR_BYTES];
    assert_int_equal(ms_frag_hdr_encode(&h, b, sizeof(b)), 0);
    for (unsigned i = 0; i < MS_FRAG_HDR_BYTES * 8; i++) {
        b[i / 8] ^= (uint8_t)(1u << (i % 8));
        assert_int_not_equal(ms_frag_hdr_decode(b, sizeof(b), &g), 0);
        b[i / 8] ^= (uint8_t)(1u << (i % 8));
    }
    for (size_t n = 0; n < MS_FRAG_HDR_BYTES; n++)
        assert_int_equal(ms_frag_hdr_decode(b, n, &g), -MEDSTORE_ETRUNCATED);
    b[MS_FRAG_OFF_CSUM] ^= 1;
    assert_int_equal(ms_frag_hdr_decode(b, sizeof(b), &g), -MEDSTORE_ECORRUPT);
}

struct field_case {
    unsigned off;
    uint32_t value;
    unsigned width;
    int want;
};

static void test_hdr_bad_fields_refused__Y_QRY_3(void **state)
{
    (void)state;
    static const struct field_case cases[] = {
        {MS_FRAG_OFF_K, 0, 1, -MEDSTORE_EFORMAT},
        {MS_FRAG_OFF_M, 0, 1, -MEDSTORE_EFORMAT},
        {MS_FRAG_OFF_K, 31, 1, -MEDSTORE_EFORMAT}, /* 31 + 2 > 32 */
        {MS_FRAG_OFF_FRAG_INDEX, 6, 1, -MEDSTORE_EFORMAT},
        {MS_FRAG_OFF_EC_ALG, 2, 1, -MEDSTORE_EUNSUPPORTED},
        {MS_FRAG_OFF_AEAD_ALG, 3, 1, -MEDSTORE_EUNSUPPORTED},
        {MS_FRAG_OFF_COMP_ALG, 2, 1, -MEDSTORE_EUNSUPPORTED},
        {MS_FRAG_OFF_CSUM_ALG, 0, 1, -MEDSTORE_EUNSUPPORTED},
        {MS_FRAG_OFF_SEG_BYTES, MS_FRAG_SEG_MIN_BYTES - 1, 4, -MEDSTORE_EFORMAT},
        {MS_FRAG_OFF_SEG_BYTES, (64u << 20) + 1, 4, -MEDSTORE_EFORMAT},
        {MS_FRAG_OFF_ALIGN, 48, 4, -MEDSTORE_EFORMAT},
        {MS_FRAG_OFF_ALIGN, 8192, 4, -MEDSTORE_EFORMAT},
        {MS_FRAG_OFF_SEG_COUNT, 4, 4, -MEDSTORE_EFORMAT},
        {MS_FRAG_OFF_SEG_COUNT, MS_FRAG_SEGS_UNKNOWN, 4, -MEDSTORE_EFORMAT},
        {MS_FRAG_OFF_FLAGS, 1, 4, -MEDSTORE_EFORMAT},
        {MS_FRAG_OFF_RESERVED1, 1, 1, -MEDSTORE_EFORMAT},
        {MS_FRAG_OFF_RESERVED2, 1, 4, -MEDSTORE_EFORMAT},
        {MS_FRAG_OFF_RESERVED3 + 40, 1, 1, -MEDSTORE_EFORMAT},
        {MS_FRAG_OFF_VERSION, 2, 2, -MEDSTORE_EVERSION},
        {MS_FRAG_OFF_HDR_BYTES, 64, 2, -MEDSTORE_EFORMAT},
    };
    struct ms_frag_hdr h = valid_hdr(), g;
    for (size_t c = 0; c < MS_ARRAY_LEN(cases); c++) {
        uint8_t b[MS_FRAG_HDR_BYTES];
        assert_int_equal(ms_frag_hdr_encode(&h, b, sizeof(b)), 0);
        if (cases[c].width == 1)
            b[cases[c].off] = (uint8_t)cases[c].value;
        else if (cases[c].width == 2)
            ms_put_le16(b + cases[c].off, (uint16_t)cases[c].value);
        else
            ms_put_le32(b + cases[c].off, cases[c].value);
        reseal(b);
        assert_int_equal(ms_frag_hdr_decode(b, sizeof(b), &g), cases[c].want);
    }
    struct ms_frag_hdr nil = valid_hdr();
    memset(&nil.oid, 0, sizeof(nil.oid));
    assert_int_equal(ms_frag_hdr_check(&nil), -MEDSTORE_EFORMAT);
}

static void test_record_round_trip_and_damage__F_TRN_1(void **state)
{
    (void)state;
    struct ms_frag_hdr h = valid_hdr();
    uint8_t buf[MS_FRAG_REC_HDR_BYTES + 256];
    ms_test_fill(buf + MS_FRAG_REC_HDR_BYTES, 256, 9);
    struct ms_frag_rec r = {.segment_index = 2, .payload_len_bytes = 256, .frag_index = 5};
    assert_int_equal(ms_frag_rec_encode(&r, buf + 32, 256, buf, sizeof(buf)), 0);
    struct ms_frag_rec got;
    const uint8_t *payload;
    size_t used;
    assert_int_equal(ms_frag_record_check(buf, sizeof(buf), &h, &got, &payload, &used), 0);
    assert_int_equal(used, sizeof(buf));
    assert_ptr_equal(payload, buf + 32);
    assert_int_equal(got.segment_index, 2);
    for (unsigned i = 32 * 8; i < sizeof(buf) * 8; i += 7) {
        buf[i / 8] ^= (uint8_t)(1u << (i % 8));
        assert_int_equal(ms_frag_record_check(buf, sizeof(buf), &h, &got, &payload, &used),
                         -MEDSTORE_ECORRUPT);
        buf[i / 8] ^= (uint8_t)(1u << (i % 8));
    }
    /* Relabelled segment index: structurally valid, checksum seed no longer matches. */
    ms_put_le32(buf + MS_FRAG_REC_OFF_SEG, 1);
    assert_int_equal(ms_frag_record_check(buf, sizeof(buf), &h, &got, &payload, &used),
                     -MEDSTORE_ECORRUPT);
    ms_put_le32(buf + MS_FRAG_REC_OFF_SEG, 3); /* >= segment count 3 */
    assert_int_equal(ms_frag_rec_decode(buf, sizeof(buf), &h, &got), -MEDSTORE_EFORMAT);
    ms_put_le32(buf + MS_FRAG_REC_OFF_SEG, 2);
    buf[MS_FRAG_REC_OFF_FRAG] = 4;
    assert_int_equal(ms_frag_rec_decode(buf, sizeof(buf), &h, &got), -MEDSTORE_EFORMAT);
    buf[MS_FRAG_REC_OFF_FRAG] = 5;
    assert_int_equal(ms_frag_record_check(buf, sizeof(buf) - 1, &h, &got, &payload, &used),
                     -MEDSTORE_ETRUNCATED);
    assert_int_equal(ms_frag_rec_decode(buf, 31, &h, &got), -MEDSTORE_ETRUNCATED);
}

static void test_record_length_bounds__Y_QRY_3(void **state)
{
    (void)state;
    struct ms_frag_hdr h = valid_hdr();
    uint8_t b[MS_FRAG_REC_HDR_BYTES];
    struct ms_frag_rec r = {.segment_index = 0, .frag_index = 5};
    uint32_t max = ms_frag_max_payload(&h);
    assert_int_equal(max, ms_frag_shard_len((4u << 20) + 16, 4, 64));
    static const uint32_t bad[] = {0, 63, 65, 1};
    for (size_t i = 0; i < MS_ARRAY_LEN(bad) + 1; i++) {
        r.payload_len_bytes = i < MS_ARRAY_LEN(bad) ? bad[i] : max + 64;
        ms_put_le32(b + MS_FRAG_REC_OFF_MAGIC, MS_FRAG_REC_MAGIC);
        ms_put_le32(b + MS_FRAG_REC_OFF_SEG, 0);
        ms_put_le32(b + MS_FRAG_REC_OFF_LEN, r.payload_len_bytes);
        b[MS_FRAG_REC_OFF_FRAG] = 5;
        b[MS_FRAG_REC_OFF_FLAGS] = 0;
        ms_put_le16(b + MS_FRAG_REC_OFF_RESERVED, 0);
        struct ms_frag_rec got;
        assert_int_equal(ms_frag_rec_decode(b, sizeof(b), &h, &got), -MEDSTORE_EFORMAT);
    }
    ms_put_le32(b + MS_FRAG_REC_OFF_LEN, max);
    struct ms_frag_rec got;
    assert_int_equal(ms_frag_rec_decode(b, sizeof(b), &h, &got), 0);
    b[MS_FRAG_REC_OFF_FLAGS] = 1;
    assert_int_equal(ms_frag_rec_decode(b, sizeof(b), &h, &got), -MEDSTORE_EFORMAT);
}

static void test_record_stream_matches_one_shot(void **state)
{
    (void)state;
    uint8_t pay[1000];
    ms_test_fill(pay, sizeof(pay), 3);
    struct ms_frag_rec r = {.segment_index = 7, .payload_len_bytes = 1000, .frag_index = 1};
    uint8_t hdr[32];
    assert_int_equal(ms_frag_rec_encode(&r, pay, sizeof(pay), hdr, sizeof(hdr)), 0);
    for (size_t chunk = 1; chunk <= 1000; chunk = chunk * 3 + 1) {
        struct ms_frag_rec_stream st;
        ms_frag_rec_stream_init(&st, &r);
        for (size_t o = 0; o < sizeof(pay); o += chunk) {
            size_t n = sizeof(pay) - o < chunk ? sizeof(pay) - o : chunk;
            assert_int_equal(ms_frag_rec_stream_update(&st, pay + o, n), 0);
        }
        assert_int_equal(ms_frag_rec_stream_final(&st), 0);
    }
    struct ms_frag_rec_stream st;
    ms_frag_rec_stream_init(&st, &r);
    assert_int_equal(ms_frag_rec_stream_update(&st, pay, 999), 0);
    assert_int_equal(ms_frag_rec_stream_final(&st), -MEDSTORE_ETRUNCATED);
    ms_frag_rec_stream_init(&st, &r);
    assert_int_equal(ms_frag_rec_stream_update(&st, pay, 1000), 0);
    assert_int_equal(ms_frag_rec_stream_update(&st, pay, 1), -MEDSTORE_ETRUNCATED);
    pay[500] ^= 0x10;
    ms_frag_rec_stream_init(&st, &r);
    assert_int_equal(ms_frag_rec_stream_update(&st, pay, 1000), 0);
    assert_int_equal(ms_frag_rec_stream_final(&st), -MEDSTORE_ECORRUPT);
}

/* Encodes a multi-segment object; returns the fragments (caller frees). */
static struct ms_codec_fragments sample_fragments(size_t len, struct ms_oid *oid)
{
    struct ms_codec_ctx *ctx;
    assert_int_equal(ms_codec_ctx_create(&ctx), 0);
    struct ms_codec_params p = ct_params(4, 2, MS_AEAD_AES256GCM);
    uint8_t key[32];
    ct_key(key, 1);
    *oid = ct_oid(2);
    uint8_t *obj = ct_object(len, 5, CT_MIXED);
    struct ms_codec_fragments f;
    assert_int_equal(ms_codec_encode(ctx, &p, oid, key, obj, len, &f), 0);
    free(obj);
    ms_codec_ctx_destroy(ctx);
    return f;
}

static void test_index_decode_and_locate(void **state)
{
    (void)state;
    struct ms_oid oid;
    struct ms_codec_fragments f = sample_fragments(5 * 65536 + 100, &oid);
    struct ms_frag_hdr h;
    assert_int_equal(ms_frag_hdr_decode(f.frag[3], f.frag_len[3], &h), 0);
    assert_int_equal(h.segment_count, 6);
    uint64_t ib = ms_frag_index_bytes(6);
    const uint8_t *ix = f.frag[3] + f.frag_len[3] - ib;
    struct ms_frag_idx_entry e[6];
    assert_int_equal(ms_frag_index_decode(ix, ib, f.frag_len[3], &h, e, 6), 6);
    assert_int_equal(e[0].rec_offset, MS_FRAG_HDR_BYTES);
    assert_int_equal(ms_frag_index_decode(ix, ib, f.frag_len[3], &h, e, 5), -ENOSPC);
    /* Each entry points at a record that checks. */
    for (unsigned s = 0; s < 6; s++) {
        struct ms_frag_rec r;
        const uint8_t *pay;
        size_t used;
        assert_int_equal(ms_frag_record_check(f.frag[3] + e[s].rec_offset, e[s].rec_len_bytes,
                                              &h, &r, &pay, &used), 0);
        assert_int_equal(r.segment_index, s);
    }
    uint64_t off, len;
    assert_int_equal(ms_frag_locate_segments(e, 6, 2, 3, &off, &len), 0);
    assert_int_equal(off, e[2].rec_offset);
    assert_int_equal(len, e[4].rec_offset + e[4].rec_len_bytes - e[2].rec_offset);
    assert_int_equal(ms_frag_locate_segments(e, 6, 5, 2, &off, &len), -MEDSTORE_ERANGE);
    assert_int_equal(ms_frag_locate_segments(e, 6, 0, 0, &off, &len), -MEDSTORE_ERANGE);
    uint32_t first, count;
    assert_int_equal(ms_frag_range_to_segments(&h, 65535, 2, &first, &count), 0);
    assert_int_equal(first, 0);
    assert_int_equal(count, 2);
    assert_int_equal(ms_frag_range_to_segments(&h, 5 * 65536 + 99, 1, &first, &count), 0);
    assert_int_equal(first, 5);
    assert_int_equal(ms_frag_range_to_segments(&h, 5 * 65536 + 99, 2, &first, &count),
                     -MEDSTORE_ERANGE);
    assert_int_equal(ms_frag_range_to_segments(&h, 0, 0, &first, &count), -MEDSTORE_ERANGE);
    /* Any flipped bit of the index block or footer is refused. */
    uint8_t copy[8 + 6 * 16 + 32];
    assert_int_equal(sizeof(copy), ib);
    for (unsigned i = 0; i < ib * 8; i++) {
        memcpy(copy, ix, ib);
        copy[i / 8] ^= (uint8_t)(1u << (i % 8));
        assert_true(ms_frag_index_decode(copy, ib, f.frag_len[3], &h, e, 6) < 0);
    }
    ms_codec_fragments_free(&f);
}

static void test_index_encode_refuses_gaps(void **state)
{
    (void)state;
    struct ms_frag_idx_entry e[2] = {{128, 96, 0}, {224, 96, 1}};
    uint8_t out[8 + 32 + 32];
    assert_int_equal(ms_frag_index_encode(e, 2, 320, out, sizeof(out)), 0);
    e[1].rec_offset = 256;
    assert_int_equal(ms_frag_index_encode(e, 2, 352, out, sizeof(out)), -EINVAL);
    e[1].rec_offset = 224;
    e[1].segment_index = 2;
    assert_int_equal(ms_frag_index_encode(e, 2, 320, out, sizeof(out)), -EINVAL);
    e[1].segment_index = 1;
    assert_int_equal(ms_frag_index_encode(e, 2, 321, out, sizeof(out)), -EINVAL);
    assert_int_equal(ms_frag_index_encode(e, 2, 320, out, sizeof(out) - 1), -EINVAL);
}

/* Feeds bytes after the header in chunks drawn from seed; returns the finish code. */
static int feed_chunks(const struct ms_frag_hdr *h, const uint8_t *p, size_t len, uint64_t seed,
                       struct ms_frag_check *chk)
{
    ms_frag_check_init(chk, h);
    size_t o = 0;
    while (o < len) {
        size_t n = 1 + ms_test_rand(&seed) % 700;
        if (n > len - o)
            n = len - o;
        int rc = ms_frag_check_feed(chk, p + o, n);
        if (rc != 0)
            return rc;
        o += n;
    }
    return ms_frag_check_finish(chk);
}

static void test_stream_validator_accepts_any_chunking(void **state)
{
    (void)state;
    struct ms_oid oid;
    struct ms_codec_fragments f = sample_fragments(3 * 65536 + 7, &oid);
    static struct ms_frag_check chk;
    for (unsigned i = 0; i < f.n; i++) {
        struct ms_frag_hdr h;
        assert_int_equal(ms_frag_hdr_decode(f.frag[i], f.frag_len[i], &h), 0);
        for (uint64_t seed = 1; seed <= 20; seed++) {
            assert_int_equal(feed_chunks(&h, f.frag[i] + 128, f.frag_len[i] - 128, seed, &chk),
                             0);
            assert_int_equal(ms_frag_check_records(&chk), 4);
            assert_int_equal(ms_frag_check_offset(&chk), f.frag_len[i]);
        }
        /* A stream that stops early is incomplete; one byte more is refused. */
        assert_int_equal(feed_chunks(&h, f.frag[i] + 128, f.frag_len[i] - 129, 1, &chk),
                         -MEDSTORE_ETRUNCATED);
        ms_frag_check_init(&chk, &h);
        assert_int_equal(ms_frag_check_feed(&chk, f.frag[i] + 128, f.frag_len[i] - 128), 0);
        uint8_t extra = 0;
        assert_int_equal(ms_frag_check_feed(&chk, &extra, 1), -MEDSTORE_EFORMAT);
        assert_int_equal(ms_frag_check_feed(&chk, &extra, 1), -MEDSTORE_EFORMAT);
        assert_int_equal(ms_frag_check_finish(&chk), -MEDSTORE_EFORMAT);
    }
    ms_codec_fragments_free(&f);
}

static void test_stream_validator_detects_every_damage__Y_STO_2(void **state)
{
    (void)state;
    struct ms_oid oid;
    struct ms_codec_fragments f = sample_fragments(2 * 65536 + 300, &oid);
    static struct ms_frag_check chk;
    struct ms_frag_hdr h;
    assert_int_equal(ms_frag_hdr_decode(f.frag[1], f.frag_len[1], &h), 0);
    size_t body = f.frag_len[1] - 128;
    uint8_t *copy = malloc(body);
    assert_non_null(copy);
    uint64_t seed = 77;
    for (unsigned t = 0; t < 3000; t++) {
        memcpy(copy, f.frag[1] + 128, body);
        /* Every byte of the tail (index + footer) and random payload bytes elsewhere. */
        size_t pos = t < 200 ? body - 1 - t : (size_t)(ms_test_rand(&seed) % body);
        copy[pos] ^= (uint8_t)(1u << (t % 8));
        int rc = feed_chunks(&h, copy, body, t, &chk);
        assert_true(rc == -MEDSTORE_ECORRUPT || rc == -MEDSTORE_EFORMAT ||
                    rc == -MEDSTORE_ETRUNCATED);
    }
    free(copy);
    ms_codec_fragments_free(&f);
}

static void test_stream_validator_unknown_length(void **state)
{
    (void)state;
    struct ms_codec_ctx *ctx;
    assert_int_equal(ms_codec_ctx_create(&ctx), 0);
    struct ms_codec_params p = ct_params(2, 1, MS_AEAD_AES256GCM);
    uint8_t key[32];
    ct_key(key, 4);
    struct ms_oid oid = ct_oid(4);
    struct ms_codec_enc *e;
    assert_int_equal(ms_codec_enc_create(&p, &oid, key, MS_FRAG_LEN_UNKNOWN, &e), 0);
    uint8_t hdr[MS_FRAG_HDR_BYTES];
    assert_int_equal(ms_codec_enc_frag_header(e, 2, hdr), 0);
    struct ms_frag_hdr h;
    assert_int_equal(ms_frag_hdr_decode(hdr, sizeof(hdr), &h), 0);
    assert_int_equal(h.segment_count, MS_FRAG_SEGS_UNKNOWN);
    static struct ms_frag_check chk;
    ms_frag_check_init(&chk, &h);
    uint32_t cap = ms_codec_enc_record_cap(e);
    uint8_t *recs[3], *obj = ct_object(65536 + 10, 8, CT_TEXT);
    for (int i = 0; i < 3; i++)
        recs[i] = malloc(cap);
    struct ms_frag_idx_entry ent[2];
    uint64_t off = MS_FRAG_HDR_BYTES;
    for (uint32_t s = 0; s < 2; s++) {
        uint32_t rl;
        size_t n = s == 0 ? 65536 : 10;
        assert_int_equal(ms_codec_enc_segment(e, ctx, obj + s * 65536, n, recs, &rl), 0);
        assert_int_equal(ms_frag_check_feed(&chk, recs[2], rl), 0);
        ent[s] = (struct ms_frag_idx_entry){off, rl, s};
        off += rl;
    }
    uint8_t ix[8 + 32 + 32];
    assert_int_equal(ms_frag_index_encode(ent, 2, off, ix, sizeof(ix)), 0);
    assert_int_equal(ms_frag_check_feed(&chk, ix, sizeof(ix)), 0);
    assert_int_equal(ms_frag_check_finish(&chk), 0);
    assert_int_equal(ms_frag_check_records(&chk), 2);
    uint8_t *mf;
    size_t mf_len;
    assert_int_equal(ms_codec_enc_finish(e, &mf, &mf_len), 0);
    free(mf);
    for (int i = 0; i < 3; i++)
        free(recs[i]);
    free(obj);
    ms_codec_enc_destroy(e);
    ms_codec_ctx_destroy(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hdr_round_trip),
        cmocka_unit_test(test_hdr_every_bit_flip_refused__Y_STO_2),
        cmocka_unit_test(test_hdr_bad_fields_refused__Y_QRY_3),
        cmocka_unit_test(test_record_round_trip_and_damage__F_TRN_1),
        cmocka_unit_test(test_record_length_bounds__Y_QRY_3),
        cmocka_unit_test(test_record_stream_matches_one_shot),
        cmocka_unit_test(test_index_decode_and_locate),
        cmocka_unit_test(test_index_encode_refuses_gaps),
        cmocka_unit_test(test_stream_validator_accepts_any_chunking),
        cmocka_unit_test(test_stream_validator_detects_every_damage__Y_STO_2),
        cmocka_unit_test(test_stream_validator_unknown_length),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
