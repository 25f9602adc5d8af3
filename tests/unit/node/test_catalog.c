/*
 * test_catalog.c - catalogue records, wipe intents and scrub entries: exact byte layout,
 * round trips, every damaged form refused with -MEDSTORE_ECORRUPT, kv helpers and key order.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "common/kv.h"
#include "common/ms_assert.h"
#include "node/catalog.h"
#include "testutil.h"

static struct ms_catalog_rec sample_rec(void)
{
    struct ms_catalog_rec r = {.state = MS_CATALOG_COMMITTED, .segment_count = 0x01020304,
                               .logical_bytes = 0x1122334455667788ULL,
                               .file_bytes = 0x1122334455667788ULL,
                               .created_ms = 0x0a0b0c0d0e0f1011ULL};
    for (int i = 0; i < 16; i++)
        r.header_checksum[i] = (uint8_t)(0xa0 + i);
    return r;
}

static void test_rec_layout_little_endian(void **state)
{
    (void)state;
    struct ms_catalog_rec r = sample_rec();
    uint8_t b[MS_CATALOG_REC_BYTES];
    ms_catalog_rec_encode(&r, b);
    static const uint8_t want[MS_CATALOG_REC_BYTES] = {
        1, 1, 0, 0, 0x04, 0x03, 0x02, 0x01,
        0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11,
        0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11,
        0x11, 0x10, 0x0f, 0x0e, 0x0d, 0x0c, 0x0b, 0x0a,
        0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7,
        0xa8, 0xa9, 0xaa, 0xab, 0xac, 0xad, 0xae, 0xaf,
    };
    assert_memory_equal(b, want, sizeof(want));
    struct ms_catalog_rec d;
    assert_int_equal(ms_catalog_rec_decode(b, sizeof(b), &d), 0);
    assert_int_equal(d.state, r.state);
    assert_int_equal(d.segment_count, r.segment_count);
    assert_int_equal(d.logical_bytes, r.logical_bytes);
    assert_int_equal(d.file_bytes, r.file_bytes);
    assert_int_equal(d.created_ms, r.created_ms);
    assert_memory_equal(d.header_checksum, r.header_checksum, 16);
}

static void test_rec_damage_refused(void **state)
{
    (void)state;
    struct ms_catalog_rec r = sample_rec(), d;
    uint8_t b[MS_CATALOG_REC_BYTES];
    ms_catalog_rec_encode(&r, b);
    assert_int_equal(ms_catalog_rec_decode(b, sizeof(b) - 1, &d), -MEDSTORE_ECORRUPT);
    assert_int_equal(ms_catalog_rec_decode(NULL, 0, &d), -MEDSTORE_ECORRUPT);
    const size_t bad_at[] = {MS_CATALOG_OFF_VERSION, MS_CATALOG_OFF_STATE,
                             MS_CATALOG_OFF_RESERVED, MS_CATALOG_OFF_RESERVED + 1};
    for (size_t i = 0; i < MS_ARRAY_LEN(bad_at); i++) {
        uint8_t c[MS_CATALOG_REC_BYTES];
        memcpy(c, b, sizeof(c));
        c[bad_at[i]] ^= 0x10;
        assert_int_equal(ms_catalog_rec_decode(c, sizeof(c), &d), -MEDSTORE_ECORRUPT);
    }
    r.file_bytes = r.logical_bytes - 1; /* a file smaller than its fragment */
    ms_catalog_rec_encode(&r, b);
    assert_int_equal(ms_catalog_rec_decode(b, sizeof(b), &d), -MEDSTORE_ECORRUPT);
    r = sample_rec();
    r.state = MS_CATALOG_WIPING;
    ms_catalog_rec_encode(&r, b);
    assert_int_equal(ms_catalog_rec_decode(b, sizeof(b), &d), 0);
    assert_int_equal(d.state, MS_CATALOG_WIPING);
}

static void test_key_order_and_bounds(void **state)
{
    (void)state;
    struct ms_fragstore_key a = {.frag_index = 5}, b = {.frag_index = 0}, d;
    memset(a.oid.b, 0x10, 16);
    memset(b.oid.b, 0x10, 16);
    b.oid.b[15] = 0x11;
    uint8_t ka[MS_CATALOG_KEY_BYTES], kb[MS_CATALOG_KEY_BYTES];
    ms_catalog_key_encode(&a, ka);
    ms_catalog_key_encode(&b, kb);
    assert_true(memcmp(ka, kb, sizeof(ka)) < 0); /* oid first, then the index */
    assert_int_equal(ms_catalog_key_decode(ka, sizeof(ka), &d), 0);
    assert_memory_equal(d.oid.b, a.oid.b, 16);
    assert_int_equal(d.frag_index, 5);
    ka[16] = MS_FRAGSTORE_MAX_INDEX;
    assert_int_equal(ms_catalog_key_decode(ka, sizeof(ka), &d), -MEDSTORE_ECORRUPT);
    assert_int_equal(ms_catalog_key_decode(kb, 16, &d), -MEDSTORE_ECORRUPT);
}

static void test_wipe_and_scrub_roundtrip(void **state)
{
    (void)state;
    struct ms_catalog_wipe w = {.reason = MS_WIPE_DELETE, .started_ms = 123456789}, wd;
    uint8_t wb[MS_CATALOG_WIPE_BYTES];
    ms_catalog_wipe_encode(&w, wb);
    assert_int_equal(ms_catalog_wipe_decode(wb, sizeof(wb), &wd), 0);
    assert_int_equal(wd.reason, MS_WIPE_DELETE);
    assert_int_equal(wd.started_ms, 123456789);
    wb[1] = 9;
    assert_int_equal(ms_catalog_wipe_decode(wb, sizeof(wb), &wd), -MEDSTORE_ECORRUPT);
    struct ms_catalog_scrub sc = {.reason = MS_SCRUB_SIZE, .record = 77, .time_ms = 42}, sd;
    uint8_t sb[MS_CATALOG_SCRUB_BYTES];
    ms_catalog_scrub_encode(&sc, sb);
    assert_int_equal(ms_catalog_scrub_decode(sb, sizeof(sb), &sd), 0);
    assert_int_equal(sd.reason, MS_SCRUB_SIZE);
    assert_int_equal(sd.record, 77);
    assert_int_equal(sd.time_ms, 42);
    sb[0] = 2;
    assert_int_equal(ms_catalog_scrub_decode(sb, sizeof(sb), &sd), -MEDSTORE_ECORRUPT);
    assert_int_equal(ms_catalog_scrub_decode(sb, 15, &sd), -MEDSTORE_ECORRUPT);
}

static void test_kv_helpers(void **state)
{
    (void)state;
    const char *cfs[] = {"default", "frags", "wipe", "scrub"};
    struct ms_kv *kv = NULL;
    assert_int_equal(ms_kv_mem_open(NULL, cfs, 4, &kv), 0);
    struct ms_catalog cat;
    assert_int_equal(ms_catalog_init(&cat, kv), 0);
    struct ms_fragstore_key k = {.frag_index = 1};
    memset(k.oid.b, 7, 16);
    struct ms_catalog_rec r = sample_rec(), d;
    assert_int_equal(ms_catalog_get(&cat, &k, &d), -MEDSTORE_ENOTFOUND);
    struct ms_kv_batch b;
    ms_kv_batch_init(&b);
    struct ms_catalog_wipe w = {.reason = MS_WIPE_DELETE, .started_ms = 5}, wd;
    assert_int_equal(ms_catalog_batch_put(&cat, &b, &k, &r), 0);
    assert_int_equal(ms_catalog_batch_wipe(&cat, &b, &k, &w), 0);
    assert_int_equal(ms_kv_write(kv, &b, true), 0);
    assert_int_equal(ms_catalog_get(&cat, &k, &d), 0);
    assert_int_equal(d.logical_bytes, r.logical_bytes);
    assert_int_equal(ms_catalog_wipe_get(&cat, &k, &wd), 0);
    assert_int_equal(ms_catalog_count(&cat, cat.cf_frags), 1);
    ms_kv_batch_clear(&b);
    assert_int_equal(ms_catalog_batch_forget(&cat, &b, &k), 0);
    assert_int_equal(ms_kv_write(kv, &b, true), 0);
    assert_int_equal(ms_catalog_get(&cat, &k, &d), -MEDSTORE_ENOTFOUND);
    assert_int_equal(ms_catalog_wipe_get(&cat, &k, &wd), -MEDSTORE_ENOTFOUND);
    assert_int_equal(ms_catalog_count(&cat, cat.cf_frags), 0);
    struct ms_catalog_scrub sc = {.reason = MS_SCRUB_CHECKSUM, .record = 3, .time_ms = 9}, sd;
    assert_int_equal(ms_catalog_scrub_put(&cat, &k, &sc), 0);
    assert_int_equal(ms_catalog_scrub_get(&cat, &k, &sd), 0);
    assert_int_equal(sd.record, 3);
    assert_int_equal(ms_catalog_scrub_delete(&cat, &k), 0);
    assert_int_equal(ms_catalog_scrub_get(&cat, &k, &sd), -MEDSTORE_ENOTFOUND);
    /* A value of the wrong size in the kv is damage, not a crash. */
    uint8_t kk[MS_CATALOG_KEY_BYTES];
    ms_catalog_key_encode(&k, kk);
    assert_int_equal(ms_kv_put(kv, cat.cf_frags, kk, sizeof(kk), "x", 1, true), 0);
    assert_int_equal(ms_catalog_get(&cat, &k, &d), -MEDSTORE_ECORRUPT);
    ms_kv_batch_fini(&b);
    ms_kv_close(kv);
    const char *missing[] = {"frags", "wipe"};
    assert_int_equal(ms_kv_mem_open(NULL, missing, 2, &kv), 0);
    assert_int_equal(ms_catalog_init(&cat, kv), -EINVAL);
    ms_kv_close(kv);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rec_layout_little_endian),
        cmocka_unit_test(test_rec_damage_refused),
        cmocka_unit_test(test_key_order_and_bounds),
        cmocka_unit_test(test_wipe_and_scrub_roundtrip),
        cmocka_unit_test(test_kv_helpers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
