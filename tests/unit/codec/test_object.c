/*
 * test_object.c - the whole-object API (src/codec/object.c): round trips at the sizes that
 * matter, any m fragments lost, range reads, damaged fragments, and every file of the shared
 * corpus (DICOM, EMR, video) through the codec byte for byte.
 */
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "codec/codec_int.h"
#include "codec/manifest_format.h"
#include "codec_test.h"
#include "common/ms_assert.h"

static struct ms_codec_ctx *g_ctx;

static int setup(void **state)
{
    (void)state;
    return ms_codec_ctx_create(&g_ctx);
}

static int teardown(void **state)
{
    (void)state;
    ms_codec_ctx_destroy(g_ctx);
    return 0;
}

/* Encodes obj and decodes it back without the fragments in drop; asserts equality. */
static void round_trip(const struct ms_codec_params *p, const uint8_t *obj, size_t len,
                       uint64_t seed, uint32_t drop)
{
    uint8_t key[32];
    ct_key(key, seed);
    struct ms_oid oid = ct_oid(seed);
    struct ms_codec_fragments f;
    assert_int_equal(ms_codec_encode(g_ctx, p, &oid, key, obj, len, &f), 0);
    assert_int_equal(f.n, (unsigned)p->k + p->m);
    bool equal = false;
    uint32_t bad = 0;
    assert_int_equal(ct_decode_drop(g_ctx, &f, drop, &oid, key, obj, len, &equal, &bad), 0);
    assert_true(equal);
    assert_int_equal(bad, 0);
    ms_codec_fragments_free(&f);
}

static void test_sizes_small_segments(void **state)
{
    (void)state;
    const size_t sizes[] = {0, 1, 2, 63, 64, CT_SEG - 1, CT_SEG, CT_SEG + 1, 2 * CT_SEG,
                            3 * CT_SEG + 17};
    uint64_t seed = 21;
    for (size_t i = 0; i < MS_ARRAY_LEN(sizes) + 12; i++) {
        size_t len = i < MS_ARRAY_LEN(sizes) ? sizes[i] : ms_test_rand(&seed) % (4 * CT_SEG);
        for (int kind = 0; kind < 3; kind++) {
            for (uint8_t aead = 1; aead <= 2; aead++) {
                struct ms_codec_params p = ct_params(4, 2, aead);
                uint8_t *obj = ct_object(len, seed + i, (enum ct_kind)kind);
                uint32_t drop = (1u << (i % 6)) | (1u << ((i + kind + 1) % 6));
                round_trip(&p, obj, len, seed + i, drop);
                free(obj);
            }
        }
    }
}

static void test_sizes_default_segment(void **state)
{
    (void)state;
    const size_t seg = MS_CODEC_SEG_DEFAULT_BYTES;
    const size_t sizes[] = {seg - 1, seg, seg + 1};
    struct ms_codec_params p;
    ms_codec_params_default(&p);
    for (size_t i = 0; i < MS_ARRAY_LEN(sizes); i++) {
        uint8_t *obj = ct_object(sizes[i], 30 + i, CT_MIXED);
        round_trip(&p, obj, sizes[i], 30 + i, 0);
        round_trip(&p, obj, sizes[i], 31 + i, 1u << 2 | 1u << 5);
        free(obj);
    }
}

static void test_roundtrip_drop_any_two__F_STO_1(void **state)
{
    (void)state;
    struct ms_codec_params p;
    ms_codec_params_default(&p);
    size_t len = 2 * MS_CODEC_SEG_DEFAULT_BYTES + 12345;
    uint8_t *obj = ct_object(len, 40, CT_MIXED);
    uint8_t key[32];
    ct_key(key, 40);
    struct ms_oid oid = ct_oid(40);
    struct ms_codec_fragments f;
    assert_int_equal(ms_codec_encode(g_ctx, &p, &oid, key, obj, len, &f), 0);
    unsigned patterns = 0;
    for (unsigned a = 0; a < 6; a++) {
        for (unsigned b = a + 1; b < 6; b++) {
            bool equal = false;
            uint32_t bad = 0;
            assert_int_equal(ct_decode_drop(g_ctx, &f, 1u << a | 1u << b, &oid, key, obj, len,
                                            &equal, &bad), 0);
            assert_true(equal);
            patterns++;
        }
    }
    assert_int_equal(patterns, 15); /* C(6,2) */
    bool equal = false;
    uint32_t bad = 0;
    assert_int_equal(ct_decode_drop(g_ctx, &f, 7, &oid, key, obj, len, &equal, &bad),
                     -MEDSTORE_ECORRUPT);
    assert_false(equal);
    ms_codec_fragments_free(&f);
    free(obj);
}

static void test_damaged_fragment_detected_and_recovered__Y_STO_2(void **state)
{
    (void)state;
    struct ms_codec_params p = ct_params(4, 2, MS_AEAD_AES256GCM);
    size_t len = 3 * CT_SEG + 100;
    uint8_t *obj = ct_object(len, 41, CT_MIXED);
    uint8_t key[32];
    ct_key(key, 41);
    struct ms_oid oid = ct_oid(41);
    struct ms_codec_fragments f;
    assert_int_equal(ms_codec_encode(g_ctx, &p, &oid, key, obj, len, &f), 0);
    uint64_t seed = 41;
    for (int t = 0; t < 300; t++) {
        unsigned i = (unsigned)(ms_test_rand(&seed) % 6);
        size_t pos = ms_test_rand(&seed) % f.frag_len[i];
        f.frag[i][pos] ^= 0x40;
        bool equal = false;
        uint32_t bad = 0;
        /* Header, record or index damage: the fragment is refused and the object rebuilt. */
        assert_int_equal(ct_decode_drop(g_ctx, &f, 0, &oid, key, obj, len, &equal, &bad), 0);
        assert_true(equal);
        if (i < 4)
            assert_int_equal(bad, 1u << i); /* data fragments are always read */
        f.frag[i][pos] ^= 0x40;
    }
    ms_codec_fragments_free(&f);
    free(obj);
}

static void test_tampered_manifest_refused(void **state)
{
    (void)state;
    struct ms_codec_params p = ct_params(2, 1, MS_AEAD_AES256GCM);
    p.hint = MS_CODEC_HINT_RAW;
    size_t len = 2 * CT_SEG;
    uint8_t *obj = ct_object(len, 42, CT_RANDOM);
    uint8_t key[32];
    ct_key(key, 42);
    struct ms_oid oid = ct_oid(42);
    struct ms_codec_fragments f;
    assert_int_equal(ms_codec_encode(g_ctx, &p, &oid, key, obj, len, &f), 0);
    /* Anyone can recompute the XXH3 trailer; the keyed hash is what a forger cannot redo. */
    f.manifest[MS_MF_OFF_PHASH] ^= 1;
    ms_csum128(f.manifest, f.manifest_len - 16, MS_MANIFEST_SEED,
               f.manifest + f.manifest_len - 16);
    bool equal = false;
    uint32_t bad = 0;
    assert_int_equal(ct_decode_drop(g_ctx, &f, 0, &oid, key, obj, len, &equal, &bad),
                     -MEDSTORE_ECORRUPT);
    f.manifest[MS_MF_OFF_PHASH] ^= 1;
    f.manifest[MS_MF_OFF_PHASH + 5] ^= 1; /* without resealing: the trailer catches it */
    assert_int_equal(ct_decode_drop(g_ctx, &f, 0, &oid, key, obj, len, &equal, &bad),
                     -MEDSTORE_ECORRUPT);
    ms_codec_fragments_free(&f);
    free(obj);
}

static void test_range_decode(void **state)
{
    (void)state;
    struct ms_codec_params p = ct_params(3, 2, MS_AEAD_XCHACHA20POLY1305);
    size_t len = 5 * CT_SEG + 333;
    uint8_t *obj = ct_object(len, 43, CT_MIXED);
    uint8_t key[32];
    ct_key(key, 43);
    struct ms_oid oid = ct_oid(43);
    struct ms_codec_fragments f;
    assert_int_equal(ms_codec_encode(g_ctx, &p, &oid, key, obj, len, &f), 0);
    const uint8_t *ptrs[MS_FRAG_MAX_SHARDS];
    ct_frag_ptrs(&f, 1u << 1, ptrs);
    uint8_t *out = malloc(len);
    uint64_t seed = 43;
    for (int t = 0; t < 60; t++) {
        uint64_t off = ms_test_rand(&seed) % len;
        size_t n = 1 + (size_t)(ms_test_rand(&seed) % (len - off));
        if (t == 0) {
            off = 0;
            n = len;
        }
        assert_int_equal(ms_codec_decode_range(g_ctx, f.manifest, f.manifest_len, &oid, key,
                                               ptrs, f.frag_len, f.n, off, n, out), 0);
        assert_memory_equal(out, obj + off, n);
    }
    assert_int_equal(ms_codec_decode_range(g_ctx, f.manifest, f.manifest_len, &oid, key, ptrs,
                                           f.frag_len, f.n, len - 1, 2, out), -MEDSTORE_ERANGE);
    assert_int_equal(ms_codec_decode_range(g_ctx, f.manifest, f.manifest_len, &oid, key, ptrs,
                                           f.frag_len, f.n, len, 1, out), -MEDSTORE_ERANGE);
    assert_int_equal(ms_codec_decode_range(g_ctx, f.manifest, f.manifest_len, &oid, key, ptrs,
                                           f.frag_len, f.n - 1, 0, 1, out), -EINVAL);
    free(out);
    ms_codec_fragments_free(&f);
    free(obj);
}

static void test_raw_hint_never_compresses(void **state)
{
    (void)state;
    struct ms_codec_params p = ct_params(4, 2, MS_AEAD_AES256GCM);
    size_t len = 2 * CT_SEG;
    uint8_t *obj = ct_object(len, 44, CT_TEXT);
    uint8_t key[32];
    ct_key(key, 44);
    struct ms_oid oid = ct_oid(44);
    for (int hint = 0; hint < 3; hint++) {
        p.hint = (enum ms_codec_hint)hint;
        struct ms_codec_fragments f;
        assert_int_equal(ms_codec_encode(g_ctx, &p, &oid, key, obj, len, &f), 0);
        struct ms_manifest m;
        assert_int_equal(ms_manifest_decode(f.manifest, f.manifest_len, &m), 0);
        bool raw = p.hint == MS_CODEC_HINT_RAW;
        assert_int_equal(m.comp_alg, raw ? MS_COMPRESS_NONE : MS_COMPRESS_ZSTD);
        for (uint32_t s = 0; s < m.segment_count; s++)
            assert_int_equal(m.segs[s].flags & MS_MANIFEST_SEG_COMPRESSED, raw ? 0 : 1);
        ms_manifest_fini(&m);
        ms_codec_fragments_free(&f);
    }
    /* Random data is stored raw even when compression is tried (it would not save 5 %). */
    uint8_t *rnd = ct_object(len, 45, CT_RANDOM);
    p.hint = MS_CODEC_HINT_COMPRESS;
    struct ms_codec_fragments f;
    assert_int_equal(ms_codec_encode(g_ctx, &p, &oid, key, rnd, len, &f), 0);
    struct ms_manifest m;
    assert_int_equal(ms_manifest_decode(f.manifest, f.manifest_len, &m), 0);
    assert_int_equal(m.segs[0].flags, 0);
    assert_int_equal(m.segs[0].stored_len_bytes, CT_SEG + 16);
    ms_manifest_fini(&m);
    ms_codec_fragments_free(&f);
    free(rnd);
    free(obj);
}

/* --- the shared corpus ------------------------------------------------------------------- */

struct corpus_stats {
    unsigned files;
    unsigned dicom;
    uint64_t bytes;
};

static void corpus_file(const char *path, const char *rel, struct corpus_stats *st)
{
    uint8_t *obj = NULL;
    size_t len = 0;
    assert_int_equal(ms_test_read_file(path, &obj, &len), 0);
    struct ms_codec_params p;
    ms_codec_params_default(&p);
    if (strncmp(rel, "video/", 6) == 0)
        p.hint = MS_CODEC_HINT_RAW;
    if (st->files % 3 == 1)
        p.aead_alg = MS_AEAD_XCHACHA20POLY1305;
    if (len < MS_SMALL_OBJECT_DEFAULT)
        assert_int_equal(ms_codec_params_set_replication(&p, 2), 0);
    unsigned n = (unsigned)p.k + p.m;
    uint32_t drop = n == 2 ? 1u << (st->files % 2)
                           : (1u << (st->files % n)) | (1u << ((st->files + 3) % n));
    round_trip(&p, obj, len, 1000 + st->files, drop);
    st->files++;
    st->bytes += len;
    if (strncmp(rel, "dicom/", 6) == 0)
        st->dicom++;
    free(obj);
}

static void corpus_walk(const char *root, const char *rel, struct corpus_stats *st)
{
    char dir[4096];
    snprintf(dir, sizeof(dir), "%s/%s", root, rel);
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char r[2048], path[4096];
        snprintf(r, sizeof(r), "%s%s%s", rel, rel[0] ? "/" : "", e->d_name);
        snprintf(path, sizeof(path), "%s/%s", root, r);
        struct stat sb;
        assert_int_equal(stat(path, &sb), 0);
        if (S_ISDIR(sb.st_mode))
            corpus_walk(root, r, st);
        else if (S_ISREG(sb.st_mode))
            corpus_file(path, r, st);
    }
    closedir(d);
}

/* Every DICOM file of the corpus (Part 10, any transfer syntax, compressed pixel data
 * included) is stored and returned bit for bit: lossless storage of F-IMG-1. */
static void test_corpus_round_trip__F_IMG_1(void **state)
{
    (void)state;
    const char *root = ms_test_corpus_dir();
    struct corpus_stats st = {0};
    corpus_walk(root, "dicom", &st);
    assert_true(st.dicom >= 40);
    corpus_walk(root, "emr", &st);
    corpus_walk(root, "video", &st);
    assert_true(st.files >= 90);
    print_message("corpus: %u files, %llu bytes round-tripped\n", st.files,
                  (unsigned long long)st.bytes);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sizes_small_segments),
        cmocka_unit_test(test_sizes_default_segment),
        cmocka_unit_test(test_roundtrip_drop_any_two__F_STO_1),
        cmocka_unit_test(test_damaged_fragment_detected_and_recovered__Y_STO_2),
        cmocka_unit_test(test_tampered_manifest_refused),
        cmocka_unit_test(test_range_decode),
        cmocka_unit_test(test_raw_hint_never_compresses),
        cmocka_unit_test(test_corpus_round_trip__F_IMG_1),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
