/*
 * test_aead.c - per-segment AEAD (src/codec/aead.c), both algorithms: round trips through
 * scatter lists, and every tampering of associated data, nonce, tag or ciphertext refused
 * with -MEDSTORE_ECORRUPT and no plaintext left behind (Y-STO-2, Y-STO-1).
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

#define BODY 1000
#define PIECES 3
#define PIECE 352 /* 3 * 352 = 1056 >= 1000 + 16 */

struct sealed {
    uint8_t store[PIECES][PIECE];
    uint8_t *piece[PIECES];
    struct ms_sg sg;
};

static void sealed_init(struct sealed *s)
{
    for (int i = 0; i < PIECES; i++)
        s->piece[i] = s->store[i];
    s->sg = (struct ms_sg){.piece = s->piece, .n = PIECES, .piece_len = PIECE};
}

static struct ms_aead_bind bind_for(const struct ms_oid *oid, uint8_t alg)
{
    return (struct ms_aead_bind){.oid = oid, .segment_index = 7, .plain_len = 4096,
                                 .body_len = BODY, .aead_alg = alg,
                                 .seg_flags = MS_MANIFEST_SEG_COMPRESSED};
}

static int open_with(struct ms_aead *a, const uint8_t *key, const struct ms_aead_bind *b,
                     struct sealed *s, uint8_t *out)
{
    uint8_t stage[PIECES * PIECE];
    uint64_t staged = 0;
    memset(out, 0xee, BODY);
    return ms_aead_open(a, key, b, &s->sg, out, stage, &staged);
}

static void tamper_all(uint8_t alg)
{
    struct ms_aead a = {0};
    assert_int_equal(ms_aead_init(&a), 0);
    uint8_t key[32], key2[32], src[BODY], out[BODY], stage[PIECES * PIECE], zero[BODY] = {0};
    ct_key(key, 1);
    ct_key(key2, 2);
    ms_test_fill(src, sizeof(src), 3);
    struct ms_oid oid = ct_oid(1), oid2 = ct_oid(2);
    struct sealed s;
    sealed_init(&s);
    struct ms_aead_bind b = bind_for(&oid, alg);
    uint64_t staged = 0;
    assert_int_equal(ms_aead_seal(&a, key, &b, src, &s.sg, stage, &staged), 0);
    /* Bytes after body + tag are zero padding. */
    assert_memory_equal(s.store[2] + (BODY + 16 - 2 * PIECE), zero, 3 * PIECE - BODY - 16);
    assert_int_equal(open_with(&a, key, &b, &s, out), 0);
    assert_memory_equal(out, src, BODY);
    /* Each field of the associated data, the nonce (segment index) and the key. */
    struct ms_aead_bind t[7];
    for (int i = 0; i < 7; i++)
        t[i] = b;
    t[0].oid = &oid2;
    t[1].segment_index = 8;
    t[2].plain_len = 4095;
    t[3].seg_flags = 0;
    t[4].aead_alg = alg == MS_AEAD_AES256GCM ? MS_AEAD_XCHACHA20POLY1305 : MS_AEAD_AES256GCM;
    t[5].body_len = BODY - 1;
    t[6] = b;
    for (int i = 0; i < 7; i++) {
        const uint8_t *k = i == 6 ? key2 : key;
        assert_int_equal(open_with(&a, k, &t[i], &s, out), -MEDSTORE_ECORRUPT);
        assert_memory_equal(out, zero, t[i].body_len); /* wiped, not half-decrypted */
    }
    /* Every bit of ciphertext and tag. */
    for (unsigned bit = 0; bit < (BODY + 16) * 8; bit += 5) {
        unsigned pos = bit / 8;
        s.store[pos / PIECE][pos % PIECE] ^= (uint8_t)(1u << (bit % 8));
        assert_int_equal(open_with(&a, key, &b, &s, out), -MEDSTORE_ECORRUPT);
        s.store[pos / PIECE][pos % PIECE] ^= (uint8_t)(1u << (bit % 8));
    }
    assert_int_equal(open_with(&a, key, &b, &s, out), 0);
    ms_aead_fini(&a);
}

static void test_gcm_tamper_refused__Y_STO_2(void **state)
{
    (void)state;
    tamper_all(MS_AEAD_AES256GCM);
}

static void test_xchacha_tamper_refused__Y_STO_2(void **state)
{
    (void)state;
    tamper_all(MS_AEAD_XCHACHA20POLY1305);
}

static void test_ciphertext_differs_per_segment_and_alg__Y_STO_1(void **state)
{
    (void)state;
    struct ms_aead a = {0};
    assert_int_equal(ms_aead_init(&a), 0);
    uint8_t key[32], src[BODY], stage[PIECES * PIECE];
    ct_key(key, 5);
    memset(src, 'A', sizeof(src)); /* highly structured plaintext */
    struct ms_oid oid = ct_oid(5);
    struct sealed s1, s2, s3;
    sealed_init(&s1);
    sealed_init(&s2);
    sealed_init(&s3);
    struct ms_aead_bind b = bind_for(&oid, MS_AEAD_AES256GCM);
    uint64_t staged = 0;
    assert_int_equal(ms_aead_seal(&a, key, &b, src, &s1.sg, stage, &staged), 0);
    b.segment_index++;
    assert_int_equal(ms_aead_seal(&a, key, &b, src, &s2.sg, stage, &staged), 0);
    b.aead_alg = MS_AEAD_XCHACHA20POLY1305;
    assert_int_equal(ms_aead_seal(&a, key, &b, src, &s3.sg, stage, &staged), 0);
    assert_int_equal(staged, BODY); /* only XChaCha with several pieces stages */
    assert_memory_not_equal(s1.store[0], s2.store[0], PIECE);
    assert_memory_not_equal(s1.store[0], s3.store[0], PIECE);
    size_t same = 0;
    for (size_t i = 0; i < PIECE; i++)
        same += s1.store[0][i] == 'A';
    assert_true(same < 16); /* no plaintext shines through */
    ms_aead_fini(&a);
}

static void test_nonce_and_ad_layout(void **state)
{
    (void)state;
    uint8_t n1[24], n2[24];
    ms_aead_nonce(MS_AEAD_AES256GCM, 1, n1);
    ms_aead_nonce(MS_AEAD_AES256GCM, 2, n2);
    assert_memory_not_equal(n1, n2, 12);
    assert_int_equal(n1[0], 1);
    struct ms_oid oid = ct_oid(9);
    struct ms_aead_bind b = bind_for(&oid, MS_AEAD_AES256GCM);
    uint8_t ad[MS_AEAD_AD_BYTES];
    ms_aead_ad(&b, ad);
    assert_memory_equal(ad, "MSAD", 4);
    assert_memory_equal(ad + 8, oid.b, 16);
    assert_int_equal(ms_get_le32(ad + 24), 7);
    assert_int_equal(ms_get_le32(ad + 28), 4096);
    assert_int_equal(ms_get_le32(ad + 32), BODY);
}

static void test_seal_refuses_small_output(void **state)
{
    (void)state;
    struct ms_aead a = {0};
    assert_int_equal(ms_aead_init(&a), 0);
    uint8_t key[32], src[BODY], stage[PIECES * PIECE];
    ct_key(key, 6);
    memset(src, 1, sizeof(src));
    struct ms_oid oid = ct_oid(6);
    struct sealed s;
    sealed_init(&s);
    s.sg.piece_len = 338; /* 3 * 338 = 1014 < 1016 */
    struct ms_aead_bind b = bind_for(&oid, MS_AEAD_AES256GCM);
    uint64_t staged = 0;
    assert_int_equal(ms_aead_seal(&a, key, &b, src, &s.sg, stage, &staged), -EINVAL);
    b.aead_alg = 9;
    s.sg.piece_len = PIECE;
    assert_int_equal(ms_aead_seal(&a, key, &b, src, &s.sg, stage, &staged), -EINVAL);
    ms_aead_fini(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gcm_tamper_refused__Y_STO_2),
        cmocka_unit_test(test_xchacha_tamper_refused__Y_STO_2),
        cmocka_unit_test(test_ciphertext_differs_per_segment_and_alg__Y_STO_1),
        cmocka_unit_test(test_nonce_and_ad_layout),
        cmocka_unit_test(test_seal_refuses_small_output),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
