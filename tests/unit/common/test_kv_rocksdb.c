/*
 * test_kv_rocksdb.c - the RocksDB adapter of the kv port (src/common/kv_rocksdb.c): the
 * shared conformance suite (test_kv_suite.c) on a store in a temporary directory, then what
 * only a real store has: data survives close and reopen (synced and unsynced writes alike,
 * since a clean close keeps the WAL), families are found again by name in any order, a
 * second open of a locked store is refused, and bad names are refused before touching disk.
 */
#include "test_kv_suite.c"

#include "common/kv_rocksdb.h"
#include "common/log.h"

static int kv_suite_open(const char *dir, const char *const *cfs, size_t n,
                         struct ms_kv **out)
{
    struct ms_kv_rocksdb_opts o;
    ms_kv_rocksdb_opts_default(&o);
    o.block_cache_bytes = 1 << 20; /* keep test memory small */
    return ms_kv_rocksdb_open(dir, cfs, n, &o, out);
}

static void test_rocksdb_reopen_persists(void **state)
{
    struct kv_fx *fx = *state;
    assert_true(ms_kv_is_rocksdb(fx->kv));
    assert_false(ms_kv_is_mem(fx->kv));
    kv_put_str(fx->kv, 1, "frag-1", "synced", true);
    kv_put_str(fx->kv, 2, "wipe-1", "unsynced", false);
    struct ms_kv_batch b;
    ms_kv_batch_init(&b);
    assert_int_equal(ms_kv_batch_put(&b, 0, "meta", 4, "m", 1), 0);
    assert_int_equal(ms_kv_batch_delete(&b, 1, "frag-1", 6), 0);
    assert_int_equal(ms_kv_batch_put(&b, 1, "frag-2", 6, "two", 3), 0);
    assert_int_equal(ms_kv_write(fx->kv, &b, true), 0);
    ms_kv_batch_fini(&b);
    ms_kv_close(fx->kv);
    fx->kv = NULL;
    /* Reopen with the families in another order plus a new one. */
    const char *cfs[] = {"wipe", "frags", "default", "audit"};
    assert_int_equal(kv_suite_open(fx->dir, cfs, 4, &fx->kv), 0);
    assert_string_equal(fx->kv->cf_names[3], "audit");
    kv_expect(fx->kv, 1, "frag-1", NULL);
    kv_expect(fx->kv, 1, "frag-2", "two");
    kv_expect(fx->kv, 0, "wipe-1", "unsynced");
    kv_expect(fx->kv, 2, "meta", "m");
    kv_expect(fx->kv, 3, "meta", NULL);
    ms_kv_close(fx->kv);
    /* Open naming fewer families than the store has: the rest stay out of reach. */
    const char *one[] = {"frags"};
    assert_int_equal(kv_suite_open(fx->dir, one, 1, &fx->kv), 0);
    assert_int_equal(fx->kv->cf_count, 1);
    kv_expect(fx->kv, 0, "frag-2", "two");
    assert_int_equal(ms_kv_cf_index(fx->kv, "wipe"), -EINVAL);
}

static void test_rocksdb_second_open_is_refused(void **state)
{
    struct kv_fx *fx = *state;
    struct ms_kv *kv2 = NULL;
    int rc = kv_suite_open(fx->dir, kv_fx_cfs, 3, &kv2);
    assert_int_equal(rc, -EBUSY);
    assert_null(kv2);
}

static void test_rocksdb_open_refuses_bad_names_and_missing_store(void **state)
{
    struct kv_fx *fx = *state;
    struct ms_kv *kv = NULL;
    const char *dup[] = {"a", "a"};
    assert_int_equal(ms_kv_rocksdb_open(fx->dir, dup, 2, NULL, &kv), -EINVAL);
    const char *empty[] = {""};
    assert_int_equal(ms_kv_rocksdb_open(fx->dir, empty, 1, NULL, &kv), -EINVAL);
    struct ms_kv_rocksdb_opts o;
    ms_kv_rocksdb_opts_default(&o);
    o.create_if_missing = false;
    char path[4096];
    snprintf(path, sizeof(path), "%s/none", fx->dir);
    int rc = ms_kv_rocksdb_open(path, kv_fx_cfs, 1, &o, &kv);
    assert_true(rc == -EINVAL || rc == -EIO);
    assert_null(kv);
}

int main(void)
{
    ms_log_set_level(MS_LOG_WARN);
    const struct CMUnitTest tests[] = {
        KV_SUITE_TESTS,
        KV_SUITE_TEST(test_rocksdb_reopen_persists),
        KV_SUITE_TEST(test_rocksdb_second_open_is_refused),
        KV_SUITE_TEST(test_rocksdb_open_refuses_bad_names_and_missing_store),
    };
    return cmocka_run_group_tests_name("kv_rocksdb", tests, NULL, NULL);
}
