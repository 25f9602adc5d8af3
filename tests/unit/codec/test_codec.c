/*
 * test_codec.c - parameters, the streaming encoder and decoder (src/codec/codec.c): every
 * erasure pattern, corruption detection and recovery, encryption at rest, misuse refused.
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

/* One encoded object held as records: rec[s][i] is fragment i's record of segment s. */
struct rec_obj {
    unsigned n;
    uint32_t nseg;
    uint8_t *rec[8][MS_FRAG_MAX_SHARDS];
    size_t rec_len[8];
    uint8_t *manifest;
    size_t manifest_len;
};

static void rec_obj_encode(struct ms_codec_ctx *ctx, const struct ms_codec_params *p,
                           const struct ms_oid *oid, const uint8_t *key, const uint8_t *obj,
                           size_t len, struct rec_obj *o)
{
    memset(o, 0, sizeof(*o));
    struct ms_codec_enc *e;
    assert_int_equal(ms_codec_enc_create(p, oid, key, len, &e), 0);
    o->n = (unsigned)p->k + p->m;
    o->nseg = (uint32_t)ms_frag_segments_for(len, p->segment_size_bytes);
    assert_true(o->nseg <= 8);
    uint32_t cap = ms_codec_enc_record_cap(e);
    for (uint32_t s = 0; s < o->nseg; s++) {
        for (unsigned i = 0; i < o->n; i++) {
            o->rec[s][i] = malloc(cap);
            assert_non_null(o->rec[s][i]);
        }
        uint32_t rl = 0;
        size_t start = (size_t)s * p->segment_size_bytes;
        assert_int_equal(ms_codec_enc_segment(e, ctx, obj + start,
                                              ms_seg_plain_len(len, p->segment_size_bytes, s),
                                              o->rec[s], &rl), 0);
        o->rec_len[s] = rl;
    }
    assert_int_equal(ms_codec_enc_finish(e, &o->manifest, &o->manifest_len), 0);
    ms_codec_enc_destroy(e);
}

static void rec_obj_free(struct rec_obj *o)
{
    for (uint32_t s = 0; s < o->nseg; s++)
        for (unsigned i = 0; i < o->n; i++)
            free(o->rec[s][i]);
    free(o->manifest);
    memset(o, 0, sizeof(*o));
}

/* Decodes segment s of o without the records in drop; returns the code, checks the bytes. */
static int rec_obj_decode(struct ms_codec_ctx *ctx, struct ms_codec_dec *d,
                          const struct rec_obj *o, uint32_t s, uint32_t drop,
                          const uint8_t *want, size_t want_len, uint32_t *bad)
{
    const uint8_t *recs[MS_FRAG_MAX_SHARDS];
    size_t lens[MS_FRAG_MAX_SHARDS];
    for (unsigned i = 0; i < o->n; i++) {
        recs[i] = (drop & (1u << i)) ? NULL : o->rec[s][i];
        lens[i] = o->rec_len[s];
    }
    uint8_t out[CT_SEG];
    assert_true(want_len <= sizeof(out));
    int rc = ms_codec_dec_segment(d, ctx, s, recs, lens, out, bad);
    if (rc == 0)
        assert_memory_equal(out, want, want_len);
    return rc;
}

static void test_params(void **state)
{
    (void)state;
    struct ms_codec_params p;
    ms_codec_params_default(&p);
    assert_int_equal(ms_codec_params_check(&p), 0);
    assert_int_equal(p.segment_size_bytes, 4u << 20);
    assert_int_equal(p.k, 4);
    assert_int_equal(p.m, 2);
    assert_int_equal(p.aead_alg, MS_AEAD_AES256GCM);
    for (unsigned n = 2; n <= 8; n++) {
        assert_int_equal(ms_codec_params_set_replication(&p, n), 0);
        assert_int_equal(p.k, 1);
        assert_int_equal(p.m, n - 1);
        assert_int_equal(ms_codec_params_check(&p), 0);
    }
    assert_int_equal(ms_codec_params_set_replication(&p, 1), -EINVAL);
    assert_int_equal(ms_codec_params_set_replication(&p, 9), -EINVAL);
    struct ms_codec_params q = p;
    q.k = 0;
    assert_int_equal(ms_codec_params_check(&q), -EINVAL);
    q = p;
    q.k = 20;
    q.m = 13;
    assert_int_equal(ms_codec_params_check(&q), -EINVAL);
    q = p;
    q.shard_align_bytes = 96;
    assert_int_equal(ms_codec_params_check(&q), -EINVAL);
    q = p;
    q.segment_size_bytes = MS_FRAG_SEG_MAX_BYTES + 1;
    assert_int_equal(ms_codec_params_check(&q), -EINVAL);
    q = p;
    q.aead_alg = 7;
    assert_int_equal(ms_codec_params_check(&q), -MEDSTORE_EUNSUPPORTED);
}

/* Encodes one short segment with (k, m) and decodes it from every set of exactly k
 * surviving records (dropping fewer is a sub-case: the decoder uses the first k good). */
static void all_patterns(struct ms_codec_ctx *ctx, uint8_t k, uint8_t m, uint8_t aead,
                         uint64_t *checked)
{
    struct ms_codec_params p = ct_params(k, m, aead);
    uint8_t key[32];
    ct_key(key, k * 64u + m);
    struct ms_oid oid = ct_oid(k * 64u + m);
    size_t len = 200 + k * 13u;
    uint8_t *obj = ct_object(len, k * 64u + m, CT_RANDOM);
    struct rec_obj o;
    rec_obj_encode(ctx, &p, &oid, key, obj, len, &o);
    struct ms_codec_dec *d;
    assert_int_equal(ms_codec_dec_create(o.manifest, o.manifest_len, &oid, key, &d), 0);
    unsigned n = (unsigned)k + m;
    for (uint32_t drop = 0; drop < (1u << n); drop++) {
        if ((unsigned)__builtin_popcount(drop) != m)
            continue;
        uint32_t bad = 0;
        assert_int_equal(rec_obj_decode(ctx, d, &o, 0, drop, obj, len, &bad), 0);
        assert_int_equal(bad, 0);
        (*checked)++;
    }
    /* One more loss than m is refused, never answered with wrong bytes. */
    uint32_t bad = 0;
    uint32_t too_many = (uint32_t)((1ull << (m + 1)) - 1);
    assert_int_equal(rec_obj_decode(ctx, d, &o, 0, too_many, obj, len, &bad),
                     -MEDSTORE_ECORRUPT);
    ms_codec_dec_destroy(d);
    rec_obj_free(&o);
    free(obj);
}

static void test_every_erasure_pattern_up_to_16__F_STO_1(void **state)
{
    (void)state;
    struct ms_codec_ctx *ctx;
    assert_int_equal(ms_codec_ctx_create(&ctx), 0);
    uint64_t checked = 0;
    for (unsigned n = 2; n <= 16; n++)
        for (unsigned m = 1; m < n; m++)
            all_patterns(ctx, (uint8_t)(n - m), (uint8_t)m, MS_AEAD_AES256GCM, &checked);
    /* sum over n = 2..16 of (2^n - 2) */
    assert_int_equal(checked, (1u << 17) - 4 - 2 * 15);
    ms_codec_ctx_destroy(ctx);
}

static void test_seeded_random_patterns_up_to_32__F_STO_1(void **state)
{
    (void)state;
    struct ms_codec_ctx *ctx;
    assert_int_equal(ms_codec_ctx_create(&ctx), 0);
    uint64_t seed = 0x5eed;
    for (unsigned n = 17; n <= 32; n++) {
        for (unsigned m = 1; m < n; m++) {
            uint8_t k = (uint8_t)(n - m);
            struct ms_codec_params p = ct_params(k, (uint8_t)m, MS_AEAD_AES256GCM);
            uint8_t key[32];
            ct_key(key, n * 64u + m);
            struct ms_oid oid = ct_oid(n * 64u + m);
            size_t len = 100 + ms_test_rand(&seed) % 3000;
            uint8_t *obj = ct_object(len, seed, CT_RANDOM);
            struct rec_obj o;
            rec_obj_encode(ctx, &p, &oid, key, obj, len, &o);
            struct ms_codec_dec *d;
            assert_int_equal(ms_codec_dec_create(o.manifest, o.manifest_len, &oid, key, &d), 0);
            for (int t = 0; t < 3; t++) {
                uint32_t drop = 0;
                while ((unsigned)__builtin_popcount(drop) < m)
                    drop |= 1u << (ms_test_rand(&seed) % n);
                uint32_t bad = 0;
                assert_int_equal(rec_obj_decode(ctx, d, &o, 0, drop, obj, len, &bad), 0);
            }
            ms_codec_dec_destroy(d);
            rec_obj_free(&o);
            free(obj);
        }
    }
    ms_codec_ctx_destroy(ctx);
}

static void test_corrupt_record_detected_and_recovered__Y_STO_2(void **state)
{
    (void)state;
    struct ms_codec_ctx *ctx;
    assert_int_equal(ms_codec_ctx_create(&ctx), 0);
    struct ms_codec_params p = ct_params(4, 2, MS_AEAD_AES256GCM);
    uint8_t key[32];
    ct_key(key, 11);
    struct ms_oid oid = ct_oid(11);
    size_t len = 3 * CT_SEG - 5;
    uint8_t *obj = ct_object(len, 11, CT_MIXED);
    struct rec_obj o;
    rec_obj_encode(ctx, &p, &oid, key, obj, len, &o);
    struct ms_codec_dec *d;
    assert_int_equal(ms_codec_dec_create(o.manifest, o.manifest_len, &oid, key, &d), 0);
    uint64_t seed = 3;
    for (int t = 0; t < 200; t++) {
        uint32_t s = (uint32_t)(ms_test_rand(&seed) % o.nseg);
        unsigned i = (unsigned)(ms_test_rand(&seed) % 4); /* a data shard: forces a rebuild */
        size_t pos = ms_test_rand(&seed) % o.rec_len[s];
        o.rec[s][i][pos] ^= (uint8_t)(1u << (t % 8));
        uint32_t bad = 0;
        size_t plain = ms_seg_plain_len(len, CT_SEG, s);
        assert_int_equal(rec_obj_decode(ctx, d, &o, s, 0, obj + s * CT_SEG, plain, &bad), 0);
        assert_int_equal(bad, 1u << i);
        /* With the corrupt one and two more gone, fewer than k good remain. */
        uint32_t drop = (1u << ((i + 1) % 6)) | (1u << ((i + 2) % 6));
        assert_int_equal(rec_obj_decode(ctx, d, &o, s, drop, obj, plain, &bad),
                         -MEDSTORE_ECORRUPT);
        o.rec[s][i][pos] ^= (uint8_t)(1u << (t % 8));
    }
    ms_codec_dec_destroy(d);
    rec_obj_free(&o);
    free(obj);
    ms_codec_ctx_destroy(ctx);
}

static void test_swapped_or_truncated_records_refused__F_TRN_1(void **state)
{
    (void)state;
    struct ms_codec_ctx *ctx;
    assert_int_equal(ms_codec_ctx_create(&ctx), 0);
    struct ms_codec_params p = ct_params(2, 2, MS_AEAD_XCHACHA20POLY1305);
    uint8_t key[32];
    ct_key(key, 12);
    struct ms_oid oid = ct_oid(12);
    size_t len = 2 * CT_SEG;
    uint8_t *obj = ct_object(len, 12, CT_RANDOM);
    struct rec_obj o;
    rec_obj_encode(ctx, &p, &oid, key, obj, len, &o);
    struct ms_codec_dec *d;
    assert_int_equal(ms_codec_dec_create(o.manifest, o.manifest_len, &oid, key, &d), 0);
    const uint8_t *recs[4];
    size_t lens[4];
    uint8_t out[CT_SEG];
    uint32_t bad = 0;
    for (unsigned i = 0; i < 4; i++) {
        recs[i] = o.rec[1][i]; /* records of segment 1 offered as segment 0 */
        lens[i] = o.rec_len[1];
    }
    assert_int_equal(ms_codec_dec_segment(d, ctx, 0, recs, lens, out, &bad), -MEDSTORE_ECORRUPT);
    assert_int_equal(bad, 0xf);
    recs[0] = o.rec[0][1]; /* fragment 1's record offered as fragment 0 */
    recs[1] = o.rec[0][1];
    recs[2] = o.rec[0][2];
    recs[3] = NULL;
    lens[0] = lens[1] = lens[2] = o.rec_len[0];
    assert_int_equal(ms_codec_dec_segment(d, ctx, 0, recs, lens, out, &bad), 0);
    assert_int_equal(bad, 1);
    assert_memory_equal(out, obj, CT_SEG);
    lens[1] = o.rec_len[0] - 1;
    assert_int_equal(ms_codec_dec_segment(d, ctx, 0, recs, lens, out, &bad), -MEDSTORE_ECORRUPT);
    assert_int_equal(ms_codec_dec_segment(d, ctx, 2, recs, lens, out, &bad), -MEDSTORE_ERANGE);
    ms_codec_dec_destroy(d);
    rec_obj_free(&o);
    free(obj);
    ms_codec_ctx_destroy(ctx);
}

static bool contains(const uint8_t *hay, size_t n, const char *needle)
{
    size_t l = strlen(needle);
    for (size_t i = 0; i + l <= n; i++)
        if (memcmp(hay + i, needle, l) == 0)
            return true;
    return false;
}

static void test_no_plaintext_canary_at_rest__Y_STO_1(void **state)
{
    (void)state;
    static const char canary[] = "CANARY-PatientName^Doe^Jane-0xC0FFEE";
    struct ms_codec_ctx *ctx;
    assert_int_equal(ms_codec_ctx_create(&ctx), 0);
    size_t len = 2 * CT_SEG + 999;
    uint8_t *obj = ct_object(len, 13, CT_RANDOM);
    for (size_t off = 0; off + sizeof(canary) < len; off += 4000)
        memcpy(obj + off, canary, sizeof(canary) - 1);
    for (int hint = 0; hint < 3; hint++) {
        for (uint8_t aead = 1; aead <= 2; aead++) {
            struct ms_codec_params p = ct_params(1 + (uint8_t)hint, 2, aead);
            p.hint = (enum ms_codec_hint)hint;
            uint8_t key[32];
            ct_key(key, 13);
            struct ms_oid oid = ct_oid(13);
            struct rec_obj o;
            rec_obj_encode(ctx, &p, &oid, key, obj, len, &o);
            for (uint32_t s = 0; s < o.nseg; s++)
                for (unsigned i = 0; i < o.n; i++)
                    assert_false(contains(o.rec[s][i], o.rec_len[s], canary));
            assert_false(contains(o.manifest, o.manifest_len, canary));
            assert_false(contains(o.manifest, o.manifest_len, "CANARY"));
            rec_obj_free(&o);
        }
    }
    free(obj);
    ms_codec_ctx_destroy(ctx);
}

static void test_wrong_key_or_object_refused(void **state)
{
    (void)state;
    struct ms_codec_ctx *ctx;
    assert_int_equal(ms_codec_ctx_create(&ctx), 0);
    struct ms_codec_params p = ct_params(3, 2, MS_AEAD_AES256GCM);
    uint8_t key[32], other[32];
    ct_key(key, 14);
    ct_key(other, 15);
    struct ms_oid oid = ct_oid(14), oid2 = ct_oid(15);
    uint8_t *obj = ct_object(5000, 14, CT_TEXT);
    struct rec_obj o;
    rec_obj_encode(ctx, &p, &oid, key, obj, 5000, &o);
    struct ms_codec_dec *d;
    assert_int_equal(ms_codec_dec_create(o.manifest, o.manifest_len, &oid2, key, &d),
                     -MEDSTORE_EFORMAT);
    assert_int_equal(ms_codec_dec_create(o.manifest, o.manifest_len, &oid, other, &d), 0);
    uint32_t bad = 0;
    assert_int_equal(rec_obj_decode(ctx, d, &o, 0, 0, obj, 5000, &bad), -MEDSTORE_ECORRUPT);
    assert_int_equal(rec_obj_decode(ctx, d, &o, 0, 3, obj, 5000, &bad), -MEDSTORE_ECORRUPT);
    ms_codec_dec_destroy(d);
    rec_obj_free(&o);
    free(obj);
    ms_codec_ctx_destroy(ctx);
}

static void test_encoder_misuse_refused(void **state)
{
    (void)state;
    struct ms_codec_ctx *ctx;
    assert_int_equal(ms_codec_ctx_create(&ctx), 0);
    struct ms_codec_params p = ct_params(2, 1, MS_AEAD_AES256GCM);
    uint8_t key[32];
    ct_key(key, 16);
    struct ms_oid oid = ct_oid(16), nil;
    memset(&nil, 0, sizeof(nil));
    struct ms_codec_enc *e;
    assert_int_equal(ms_codec_enc_create(&p, &nil, key, 10, &e), -EINVAL);
    assert_int_equal(ms_codec_enc_create(&p, &oid, key, CT_SEG + 10, &e), 0);
    uint8_t *obj = ct_object(CT_SEG + 10, 16, CT_RANDOM);
    uint32_t cap = ms_codec_enc_record_cap(e);
    uint8_t *recs[3];
    for (int i = 0; i < 3; i++)
        recs[i] = malloc(cap);
    uint32_t rl;
    assert_int_equal(ms_codec_enc_segment(e, ctx, obj, 10, recs, &rl), -EINVAL);
    assert_int_equal(ms_codec_enc_segment(e, ctx, obj, 0, recs, &rl), -EINVAL);
    assert_int_equal(ms_codec_enc_segment(e, ctx, obj, CT_SEG, recs, &rl), 0);
    uint8_t *mf;
    size_t mf_len;
    uint8_t hdr[MS_FRAG_HDR_BYTES];
    assert_int_equal(ms_codec_enc_frag_header(e, 3, hdr), -EINVAL);
    assert_int_equal(ms_codec_enc_finish(e, &mf, &mf_len), -EINVAL); /* 10 bytes missing */
    ms_codec_enc_destroy(e);
    /* Unknown length: a short segment ends the object. */
    assert_int_equal(ms_codec_enc_create(&p, &oid, key, MS_FRAG_LEN_UNKNOWN, &e), 0);
    assert_int_equal(ms_codec_enc_segment(e, ctx, obj, 10, recs, &rl), 0);
    assert_int_equal(ms_codec_enc_segment(e, ctx, obj, 10, recs, &rl), -EINVAL);
    assert_int_equal(ms_codec_enc_finish(e, &mf, &mf_len), 0);
    struct ms_manifest m;
    assert_int_equal(ms_manifest_decode(mf, mf_len, &m), 0);
    assert_int_equal(m.object_len_bytes, 10);
    assert_int_equal(m.segment_count, 1);
    ms_manifest_fini(&m);
    free(mf);
    ms_codec_enc_destroy(e);
    for (int i = 0; i < 3; i++)
        free(recs[i]);
    free(obj);
    ms_codec_ctx_destroy(ctx);
}

static void test_replication_parity_is_a_copy(void **state)
{
    (void)state;
    struct ms_codec_ctx *ctx;
    assert_int_equal(ms_codec_ctx_create(&ctx), 0);
    struct ms_codec_params p = ct_params(1, 1, MS_AEAD_AES256GCM);
    assert_int_equal(ms_codec_params_set_replication(&p, 3), 0);
    uint8_t key[32];
    ct_key(key, 17);
    struct ms_oid oid = ct_oid(17);
    uint8_t *obj = ct_object(16384, 17, CT_TEXT);
    struct rec_obj o;
    rec_obj_encode(ctx, &p, &oid, key, obj, 16384, &o);
    assert_int_equal(o.n, 3);
    for (unsigned i = 1; i < 3; i++)
        assert_memory_equal(o.rec[0][i] + 32, o.rec[0][0] + 32, o.rec_len[0] - 32);
    struct ms_codec_dec *d;
    assert_int_equal(ms_codec_dec_create(o.manifest, o.manifest_len, &oid, key, &d), 0);
    uint32_t bad = 0;
    assert_int_equal(rec_obj_decode(ctx, d, &o, 0, 3, obj, 16384, &bad), 0);
    assert_int_equal(rec_obj_decode(ctx, d, &o, 0, 5, obj, 16384, &bad), 0);
    ms_codec_dec_destroy(d);
    rec_obj_free(&o);
    free(obj);
    ms_codec_ctx_destroy(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_params),
        cmocka_unit_test(test_every_erasure_pattern_up_to_16__F_STO_1),
        cmocka_unit_test(test_seeded_random_patterns_up_to_32__F_STO_1),
        cmocka_unit_test(test_corrupt_record_detected_and_recovered__Y_STO_2),
        cmocka_unit_test(test_swapped_or_truncated_records_refused__F_TRN_1),
        cmocka_unit_test(test_no_plaintext_canary_at_rest__Y_STO_1),
        cmocka_unit_test(test_wrong_key_or_object_refused),
        cmocka_unit_test(test_encoder_misuse_refused),
        cmocka_unit_test(test_replication_parity_is_a_copy),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
