/*
 * test_kv_suite.c - the conformance suite every kv port backend must pass (kv.h), written once
 * and #included by each backend's test program (test_kv_mem.c, test_kv_rocksdb.c). Not a
 * program of its own.
 *
 * The including file defines `static int kv_suite_open(const char *dir, const char *const
 * *cfs, size_t n, struct ms_kv **out)` (opens its backend on a fresh directory it may use or
 * ignore) before including this file, then runs KV_SUITE_TESTS. Column families of the
 * fixture: "default", "frags", "wipe" (indices 0, 1, 2).
 *
 * What is proved: get returns exactly what was put and ENOTFOUND after a delete; column
 * families are separate key spaces; batches apply in order with the last write winning;
 * delete_range removes exactly [begin, end); iterators walk keys in unsigned byte order
 * within their bounds, seek to the first key >= target, see a snapshot, and prefix bounds
 * include keys ending in 0xff; bad arguments get -EINVAL; empty values and binary keys work.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/kv.h"
#include "common/ms_assert.h"
#include "testutil.h"

static int kv_suite_open(const char *dir, const char *const *cfs, size_t n,
                         struct ms_kv **out);

static const char *const kv_fx_cfs[] = {"default", "frags", "wipe"};

struct kv_fx {
    struct ms_kv *kv;
    char *dir;
};

static int kv_fx_setup(void **state)
{
    struct kv_fx *fx = calloc(1, sizeof(*fx));
    assert_non_null(fx);
    fx->dir = ms_test_tmpdir("kv");
    assert_non_null(fx->dir);
    assert_int_equal(kv_suite_open(fx->dir, kv_fx_cfs, 3, &fx->kv), 0);
    *state = fx;
    return 0;
}

static int kv_fx_teardown(void **state)
{
    struct kv_fx *fx = *state;
    ms_kv_close(fx->kv);
    ms_test_rmtree(fx->dir);
    free(fx->dir);
    free(fx);
    return 0;
}

/* Asserts that key of cf holds exactly val (or is absent when val is NULL). */
static void kv_expect(struct ms_kv *kv, unsigned cf, const char *key, const char *val)
{
    void *v = NULL;
    size_t vlen = 12345;
    int rc = ms_kv_get(kv, cf, key, strlen(key), &v, &vlen);
    if (val == NULL) {
        assert_int_equal(rc, -MEDSTORE_ENOTFOUND);
        assert_null(v);
        assert_int_equal(vlen, 12345);
        return;
    }
    assert_int_equal(rc, 0);
    assert_int_equal(vlen, strlen(val));
    assert_memory_equal(v, val, vlen);
    free(v);
}

static void kv_put_str(struct ms_kv *kv, unsigned cf, const char *key, const char *val,
                       bool sync)
{
    assert_int_equal(ms_kv_put(kv, cf, key, strlen(key), val, strlen(val), sync), 0);
}

/* Collects the keys an iterator yields from its current position, joined by ','. */
static void kv_walk(struct ms_kv_iter *it, char *out, size_t cap)
{
    size_t n = 0;
    out[0] = '\0';
    while (ms_kv_iter_valid(it)) {
        size_t klen = 0;
        const char *k = ms_kv_iter_key(it, &klen);
        int w = snprintf(out + n, cap - n, "%s%.*s", n ? "," : "", (int)klen, k);
        assert_true(w > 0 && (size_t)w < cap - n);
        n += (size_t)w;
        ms_kv_iter_next(it);
    }
    assert_int_equal(ms_kv_iter_status(it), 0);
}

static void test_kv_put_get_delete(void **state)
{
    struct kv_fx *fx = *state;
    kv_expect(fx->kv, 0, "a", NULL);
    kv_put_str(fx->kv, 0, "a", "one", false);
    kv_put_str(fx->kv, 0, "b", "two", true);
    kv_expect(fx->kv, 0, "a", "one");
    kv_expect(fx->kv, 0, "b", "two");
    kv_put_str(fx->kv, 0, "a", "uno", false);
    kv_expect(fx->kv, 0, "a", "uno");
    assert_int_equal(ms_kv_delete(fx->kv, 0, "a", 1, true), 0);
    kv_expect(fx->kv, 0, "a", NULL);
    assert_int_equal(ms_kv_delete(fx->kv, 0, "a", 1, false), 0); /* missing: not an error */
    kv_expect(fx->kv, 0, "b", "two");
}

static void test_kv_column_families_are_separate(void **state)
{
    struct kv_fx *fx = *state;
    assert_int_equal(fx->kv->cf_count, 3);
    assert_int_equal(ms_kv_cf_index(fx->kv, "default"), 0);
    assert_int_equal(ms_kv_cf_index(fx->kv, "frags"), 1);
    assert_int_equal(ms_kv_cf_index(fx->kv, "wipe"), 2);
    assert_int_equal(ms_kv_cf_index(fx->kv, "nope"), -EINVAL);
    kv_put_str(fx->kv, 1, "k", "in-frags", false);
    kv_put_str(fx->kv, 2, "k", "in-wipe", false);
    kv_expect(fx->kv, 0, "k", NULL);
    kv_expect(fx->kv, 1, "k", "in-frags");
    kv_expect(fx->kv, 2, "k", "in-wipe");
}

static void test_kv_batch_in_order_last_wins(void **state)
{
    struct kv_fx *fx = *state;
    kv_put_str(fx->kv, 0, "gone", "x", false);
    struct ms_kv_batch b;
    ms_kv_batch_init(&b);
    assert_int_equal(ms_kv_batch_put(&b, 0, "k", 1, "v1", 2), 0);
    assert_int_equal(ms_kv_batch_put(&b, 1, "f", 1, "frag", 4), 0);
    assert_int_equal(ms_kv_batch_put(&b, 0, "k", 1, "v2", 2), 0);
    assert_int_equal(ms_kv_batch_delete(&b, 0, "gone", 4), 0);
    assert_int_equal(ms_kv_batch_put(&b, 2, "d", 1, "x", 1), 0);
    assert_int_equal(ms_kv_batch_delete(&b, 2, "d", 1), 0);
    assert_int_equal(b.count, 6);
    assert_int_equal(ms_kv_write(fx->kv, &b, true), 0);
    kv_expect(fx->kv, 0, "k", "v2");
    kv_expect(fx->kv, 1, "f", "frag");
    kv_expect(fx->kv, 0, "gone", NULL);
    kv_expect(fx->kv, 2, "d", NULL);
    ms_kv_batch_clear(&b);
    assert_int_equal(b.count, 0);
    assert_int_equal(ms_kv_write(fx->kv, &b, true), 0); /* empty sync batch: fine */
    assert_int_equal(ms_kv_batch_put(&b, 5, "k", 1, "v", 1), 0); /* cf checked at write */
    assert_int_equal(ms_kv_write(fx->kv, &b, false), -EINVAL);
    kv_expect(fx->kv, 0, "k", "v2");
    ms_kv_batch_fini(&b);
    ms_kv_batch_fini(NULL);
}

static void test_kv_delete_range_exact(void **state)
{
    struct kv_fx *fx = *state;
    static const char *const keys[] = {"a", "b", "b\x01", "ba", "c", "d"};
    for (size_t i = 0; i < 6; i++)
        kv_put_str(fx->kv, 1, keys[i], "v", false);
    struct ms_kv_batch b;
    ms_kv_batch_init(&b);
    assert_int_equal(ms_kv_batch_delete_range(&b, 1, "b", 1, "c", 1), 0);
    assert_int_equal(ms_kv_batch_delete_range(&b, 1, "c", 1, "c", 1), -EINVAL);
    assert_int_equal(ms_kv_batch_delete_range(&b, 1, "d", 1, "c", 1), -EINVAL);
    assert_int_equal(ms_kv_write(fx->kv, &b, true), 0);
    ms_kv_batch_fini(&b);
    kv_expect(fx->kv, 1, "a", "v");
    kv_expect(fx->kv, 1, "b", NULL);
    kv_expect(fx->kv, 1, "b\x01", NULL);
    kv_expect(fx->kv, 1, "ba", NULL);
    kv_expect(fx->kv, 1, "c", "v");
    kv_expect(fx->kv, 1, "d", "v");
    assert_int_equal(ms_kv_compact_range(fx->kv, 1, "b", 1, "c", 1), 0);
    assert_int_equal(ms_kv_compact_range(fx->kv, 1, NULL, 0, NULL, 0), 0);
    kv_expect(fx->kv, 1, "a", "v");
}

static void test_kv_iterator_order_bounds_seek(void **state)
{
    struct kv_fx *fx = *state;
    /* Unsigned byte order: 0x80 sorts after 'z'; a prefix sorts before its extensions. */
    static const char *const keys[] = {"b", "a", "\x80", "ab", "z", "aa", "abc"};
    for (size_t i = 0; i < MS_ARRAY_LEN(keys); i++)
        kv_put_str(fx->kv, 0, keys[i], keys[i], false);
    kv_put_str(fx->kv, 1, "a0", "other cf", false);
    struct ms_kv_iter *it = NULL;
    char got[256];
    assert_int_equal(ms_kv_iter_create(fx->kv, 0, NULL, 0, NULL, 0, &it), 0);
    assert_false(ms_kv_iter_valid(it)); /* unpositioned */
    ms_kv_iter_seek_to_first(it);
    kv_walk(it, got, sizeof(got));
    assert_string_equal(got, "a,aa,ab,abc,b,z,\x80");
    ms_kv_iter_seek(it, "ab", 2);
    kv_walk(it, got, sizeof(got));
    assert_string_equal(got, "ab,abc,b,z,\x80");
    ms_kv_iter_seek(it, "abd", 3);
    assert_true(ms_kv_iter_valid(it));
    size_t vlen = 0;
    assert_memory_equal(ms_kv_iter_value(it, &vlen), "b", 1);
    assert_int_equal(vlen, 1);
    ms_kv_iter_seek(it, "\xff", 1);
    assert_false(ms_kv_iter_valid(it));
    ms_kv_iter_destroy(it);
    assert_int_equal(ms_kv_iter_create(fx->kv, 0, "aa", 2, "b", 1, &it), 0);
    ms_kv_iter_seek_to_first(it);
    kv_walk(it, got, sizeof(got));
    assert_string_equal(got, "aa,ab,abc");
    ms_kv_iter_seek(it, "0", 1); /* below the lower bound: clamps to it */
    kv_walk(it, got, sizeof(got));
    assert_string_equal(got, "aa,ab,abc");
    ms_kv_iter_destroy(it);
    ms_kv_iter_destroy(NULL);
}

static void test_kv_prefix_iterator_includes_ff_tails(void **state)
{
    struct kv_fx *fx = *state;
    static const char *const keys[] = {"p", "p\xff", "p\xff\xff", "pa", "q", "o\xff"};
    for (size_t i = 0; i < MS_ARRAY_LEN(keys); i++)
        kv_put_str(fx->kv, 2, keys[i], "v", false);
    struct ms_kv_iter *it = NULL;
    char got[128];
    assert_int_equal(ms_kv_iter_create_prefix(fx->kv, 2, "p", 1, &it), 0);
    ms_kv_iter_seek_to_first(it);
    kv_walk(it, got, sizeof(got));
    assert_string_equal(got, "p,pa,p\xff,p\xff\xff");
    ms_kv_iter_destroy(it);
    assert_int_equal(ms_kv_iter_create_prefix(fx->kv, 2, "p\xff", 2, &it), 0);
    ms_kv_iter_seek_to_first(it);
    kv_walk(it, got, sizeof(got));
    assert_string_equal(got, "p\xff,p\xff\xff");
    ms_kv_iter_destroy(it);
    assert_int_equal(ms_kv_iter_create_prefix(fx->kv, 2, "\xff", 1, &it), 0);
    ms_kv_iter_seek_to_first(it);
    assert_false(ms_kv_iter_valid(it));
    ms_kv_iter_destroy(it);
    assert_int_equal(ms_kv_iter_create_prefix(fx->kv, 2, "p", 0, &it), -EINVAL);
}

static void test_kv_iterator_sees_snapshot(void **state)
{
    struct kv_fx *fx = *state;
    kv_put_str(fx->kv, 0, "k1", "old", false);
    kv_put_str(fx->kv, 0, "k2", "old", false);
    struct ms_kv_iter *it = NULL;
    assert_int_equal(ms_kv_iter_create(fx->kv, 0, NULL, 0, NULL, 0, &it), 0);
    kv_put_str(fx->kv, 0, "k1", "new", false);
    kv_put_str(fx->kv, 0, "k0", "new", false);
    assert_int_equal(ms_kv_delete(fx->kv, 0, "k2", 2, false), 0);
    ms_kv_iter_seek_to_first(it);
    char got[64];
    size_t vlen = 0;
    assert_true(ms_kv_iter_valid(it));
    assert_memory_equal(ms_kv_iter_value(it, &vlen), "old", 3);
    kv_walk(it, got, sizeof(got));
    assert_string_equal(got, "k1,k2");
    ms_kv_iter_destroy(it);
    kv_expect(fx->kv, 0, "k1", "new");
}

static void test_kv_binary_keys_and_empty_values(void **state)
{
    struct kv_fx *fx = *state;
    uint8_t key[MS_KV_KEY_MAX];
    ms_test_fill(key, sizeof(key), 3);
    key[0] = 0; /* NUL inside keys is fine: lengths, not strings */
    assert_int_equal(ms_kv_put(fx->kv, 1, key, sizeof(key), "", 0, false), 0);
    void *v = NULL;
    size_t vlen = 99;
    assert_int_equal(ms_kv_get(fx->kv, 1, key, sizeof(key), &v, &vlen), 0);
    assert_int_equal(vlen, 0);
    free(v);
    assert_int_equal(ms_kv_get(fx->kv, 1, key, sizeof(key) - 1, &v, &vlen),
                     -MEDSTORE_ENOTFOUND);
    size_t big = 1 << 20;
    uint8_t *val = malloc(big), *out = NULL;
    assert_non_null(val);
    ms_test_fill(val, big, 4);
    assert_int_equal(ms_kv_put(fx->kv, 1, "big", 3, val, big, true), 0);
    assert_int_equal(ms_kv_get(fx->kv, 1, "big", 3, (void **)&out, &vlen), 0);
    assert_int_equal(vlen, big);
    assert_memory_equal(out, val, big);
    free(out);
    free(val);
}

static void test_kv_bad_arguments(void **state)
{
    struct kv_fx *fx = *state;
    void *v = NULL;
    size_t vlen = 0;
    uint8_t key[MS_KV_KEY_MAX + 1] = {0};
    assert_int_equal(ms_kv_get(fx->kv, 3, "k", 1, &v, &vlen), -EINVAL);
    assert_int_equal(ms_kv_get(fx->kv, 0, "k", 0, &v, &vlen), -EINVAL);
    assert_int_equal(ms_kv_get(fx->kv, 0, key, sizeof(key), &v, &vlen), -EINVAL);
    assert_int_equal(ms_kv_put(fx->kv, 0, key, sizeof(key), "v", 1, false), -EINVAL);
    assert_int_equal(ms_kv_put(fx->kv, 0, "", 0, "v", 1, false), -EINVAL);
    assert_int_equal(ms_kv_put(fx->kv, 9, "k", 1, "v", 1, false), -EINVAL);
    assert_int_equal(ms_kv_delete(fx->kv, 0, "", 0, false), -EINVAL);
    struct ms_kv_iter *it = NULL;
    assert_int_equal(ms_kv_iter_create(fx->kv, 7, NULL, 0, NULL, 0, &it), -EINVAL);
    assert_null(it);
    assert_int_equal(ms_kv_compact_range(fx->kv, 7, NULL, 0, NULL, 0), -EINVAL);
    struct ms_kv_batch b;
    ms_kv_batch_init(&b);
    assert_int_equal(ms_kv_batch_put(&b, 0, "", 0, "v", 1), -EINVAL);
    assert_int_equal(ms_kv_batch_put(&b, 0, "k", 1, "v", MS_KV_VALUE_MAX + 1), -EINVAL);
    assert_int_equal(b.count, 0);
    ms_kv_batch_fini(&b);
}

static void test_kv_many_keys_sorted(void **state)
{
    struct kv_fx *fx = *state;
    enum { N = 2000 };
    struct ms_kv_batch b;
    ms_kv_batch_init(&b);
    uint64_t rng = 42;
    for (unsigned i = 0; i < N; i++) {
        uint32_t k = (uint32_t)ms_test_rand(&rng);
        uint8_t key[4] = {(uint8_t)(k >> 24), (uint8_t)(k >> 16), (uint8_t)(k >> 8),
                          (uint8_t)k};
        assert_int_equal(ms_kv_batch_put(&b, 1, key, 4, &i, sizeof(i)), 0);
    }
    assert_int_equal(ms_kv_write(fx->kv, &b, false), 0);
    ms_kv_batch_fini(&b);
    struct ms_kv_iter *it = NULL;
    assert_int_equal(ms_kv_iter_create(fx->kv, 1, NULL, 0, NULL, 0, &it), 0);
    unsigned n = 0;
    uint8_t prev[4] = {0};
    for (ms_kv_iter_seek_to_first(it); ms_kv_iter_valid(it); ms_kv_iter_next(it)) {
        size_t klen = 0;
        const uint8_t *k = ms_kv_iter_key(it, &klen);
        assert_int_equal(klen, 4);
        if (n > 0)
            assert_true(memcmp(prev, k, 4) < 0);
        memcpy(prev, k, 4);
        n++;
    }
    assert_int_equal(ms_kv_iter_status(it), 0);
    assert_true(n > N - 5 && n <= N); /* random 32-bit keys: a collision is rare */
    ms_kv_iter_destroy(it);
}

#define KV_SUITE_TEST(f) cmocka_unit_test_setup_teardown(f, kv_fx_setup, kv_fx_teardown)
#define KV_SUITE_TESTS                                                                         \
    KV_SUITE_TEST(test_kv_put_get_delete), KV_SUITE_TEST(test_kv_column_families_are_separate), \
        KV_SUITE_TEST(test_kv_batch_in_order_last_wins),                                       \
        KV_SUITE_TEST(test_kv_delete_range_exact),                                             \
        KV_SUITE_TEST(test_kv_iterator_order_bounds_seek),                                     \
        KV_SUITE_TEST(test_kv_prefix_iterator_includes_ff_tails),                              \
        KV_SUITE_TEST(test_kv_iterator_sees_snapshot),                                         \
        KV_SUITE_TEST(test_kv_binary_keys_and_empty_values),                                   \
        KV_SUITE_TEST(test_kv_bad_arguments), KV_SUITE_TEST(test_kv_many_keys_sorted)
