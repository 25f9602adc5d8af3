/*
 * test_kv_mem.c - the kv port's memory fake (src/common/kv_mem.c): the shared conformance
 * suite (test_kv_suite.c), then its durability model, on which node and meta crash tests
 * rely: an unsynced batch is lost by a crash as a whole, a synced one (and everything before
 * it) is kept, a crash can keep any prefix of the unsynced batches, a store outlives its
 * handles, and the Nth write can be made to fail without applying anything.
 */
#include "test_kv_suite.c"

static int kv_suite_open(const char *dir, const char *const *cfs, size_t n,
                         struct ms_kv **out)
{
    (void)dir;
    return ms_kv_mem_open(NULL, cfs, n, out);
}

static void test_mem_crash_drops_unsynced_keeps_synced(void **state)
{
    struct kv_fx *fx = *state;
    kv_put_str(fx->kv, 0, "synced", "1", true);
    kv_put_str(fx->kv, 0, "lost", "2", false);
    kv_put_str(fx->kv, 0, "synced", "overwritten-unsynced", false);
    assert_int_equal(ms_kv_delete(fx->kv, 1, "nothing", 7, false), 0);
    assert_int_equal(ms_kv_mem_unsynced(fx->kv), 3);
    ms_kv_mem_crash(fx->kv);
    assert_int_equal(ms_kv_mem_unsynced(fx->kv), 0);
    kv_expect(fx->kv, 0, "synced", "1");
    kv_expect(fx->kv, 0, "lost", NULL);
}

static void test_mem_sync_write_makes_earlier_durable(void **state)
{
    struct kv_fx *fx = *state;
    kv_put_str(fx->kv, 0, "a", "1", false);
    kv_put_str(fx->kv, 1, "b", "2", false);
    kv_put_str(fx->kv, 2, "c", "3", true); /* a WAL sync covers what came before */
    kv_put_str(fx->kv, 0, "d", "4", false);
    ms_kv_mem_crash(fx->kv);
    kv_expect(fx->kv, 0, "a", "1");
    kv_expect(fx->kv, 1, "b", "2");
    kv_expect(fx->kv, 2, "c", "3");
    kv_expect(fx->kv, 0, "d", NULL);
    kv_put_str(fx->kv, 0, "e", "5", false);
    ms_kv_mem_sync(fx->kv);
    ms_kv_mem_crash(fx->kv);
    kv_expect(fx->kv, 0, "e", "5");
}

static void test_mem_crash_batch_is_all_or_nothing(void **state)
{
    struct kv_fx *fx = *state;
    kv_put_str(fx->kv, 1, "x1", "old", true);
    kv_put_str(fx->kv, 1, "x2", "old", true);
    kv_put_str(fx->kv, 1, "x3", "old", true);
    for (size_t keep = 0; keep <= 2; keep++) {
        struct ms_kv_batch b;
        ms_kv_batch_init(&b);
        assert_int_equal(ms_kv_batch_put(&b, 1, "x1", 2, "b1", 2), 0);
        assert_int_equal(ms_kv_batch_delete(&b, 1, "x2", 2), 0);
        assert_int_equal(ms_kv_batch_put(&b, 0, "new", 3, "b1", 2), 0);
        assert_int_equal(ms_kv_write(fx->kv, &b, false), 0);
        ms_kv_batch_clear(&b);
        assert_int_equal(ms_kv_batch_delete_range(&b, 1, "x", 1, "y", 1), 0);
        assert_int_equal(ms_kv_batch_put(&b, 1, "x1", 2, "b2", 2), 0);
        assert_int_equal(ms_kv_write(fx->kv, &b, false), 0);
        ms_kv_batch_fini(&b);
        ms_kv_mem_crash_keep(fx->kv, keep);
        if (keep == 0) {
            kv_expect(fx->kv, 1, "x1", "old");
            kv_expect(fx->kv, 1, "x2", "old");
            kv_expect(fx->kv, 1, "x3", "old");
            kv_expect(fx->kv, 0, "new", NULL);
        } else if (keep == 1) {
            kv_expect(fx->kv, 1, "x1", "b1");
            kv_expect(fx->kv, 1, "x2", NULL);
            kv_expect(fx->kv, 1, "x3", "old");
            kv_expect(fx->kv, 0, "new", "b1");
        } else {
            kv_expect(fx->kv, 1, "x1", "b2");
            kv_expect(fx->kv, 1, "x2", NULL);
            kv_expect(fx->kv, 1, "x3", NULL);
        }
        /* Back to the starting state for the next round. */
        kv_put_str(fx->kv, 1, "x1", "old", false);
        kv_put_str(fx->kv, 1, "x2", "old", false);
        kv_put_str(fx->kv, 1, "x3", "old", false);
        assert_int_equal(ms_kv_delete(fx->kv, 0, "new", 3, true), 0);
    }
}

static void test_mem_store_outlives_handles(void **state)
{
    (void)state;
    struct ms_kv_mem_store *store = NULL;
    assert_int_equal(ms_kv_mem_store_create(&store), 0);
    const char *cfs[] = {"default", "frags"};
    struct ms_kv *kv = NULL;
    assert_int_equal(ms_kv_mem_open(store, cfs, 2, &kv), 0);
    assert_true(ms_kv_is_mem(kv));
    kv_put_str(kv, 1, "f", "durable", true);
    kv_put_str(kv, 1, "g", "unsynced", false);
    ms_kv_close(kv);
    /* Reopen with the families in another order and one more: names, not indices, count. */
    const char *cfs2[] = {"wipe", "frags", "default"};
    assert_int_equal(ms_kv_mem_open(store, cfs2, 3, &kv), 0);
    kv_expect(kv, 1, "f", "durable");
    kv_expect(kv, 1, "g", "unsynced"); /* a close is not a crash */
    ms_kv_mem_crash(kv);
    kv_expect(kv, 1, "g", NULL);
    kv_expect(kv, 1, "f", "durable");
    kv_expect(kv, 2, "f", NULL);
    ms_kv_close(kv);
    ms_kv_mem_store_destroy(store);
    ms_kv_mem_store_destroy(NULL);
}

static void test_mem_fail_nth_write_applies_nothing(void **state)
{
    struct kv_fx *fx = *state;
    for (uint64_t n = 1; n <= 3; n++) {
        uint64_t before = ms_kv_mem_writes(fx->kv);
        ms_kv_mem_fail_nth_write(fx->kv, n, -EIO);
        for (uint64_t i = 1; i <= 3; i++) {
            char key[8];
            snprintf(key, sizeof(key), "n%llui%llu", (unsigned long long)n,
                     (unsigned long long)i);
            struct ms_kv_batch b;
            ms_kv_batch_init(&b);
            assert_int_equal(ms_kv_batch_put(&b, 0, key, strlen(key), "v", 1), 0);
            assert_int_equal(ms_kv_batch_put(&b, 1, key, strlen(key), "v", 1), 0);
            assert_int_equal(ms_kv_write(fx->kv, &b, i == 2), i == n ? -EIO : 0);
            ms_kv_batch_fini(&b);
            kv_expect(fx->kv, 0, key, i == n ? NULL : "v");
            kv_expect(fx->kv, 1, key, i == n ? NULL : "v");
        }
        assert_int_equal(ms_kv_mem_writes(fx->kv), before + 3);
    }
    ms_kv_mem_fail_nth_write(fx->kv, 1, -ENOSPC);
    ms_kv_mem_fail_nth_write(fx->kv, 0, 0); /* removed */
    kv_put_str(fx->kv, 0, "ok", "v", false);
}

static void test_mem_open_validates_names(void **state)
{
    (void)state;
    struct ms_kv *kv = NULL;
    const char *dup[] = {"a", "a"};
    const char *empty[] = {"a", ""};
    assert_int_equal(ms_kv_mem_open(NULL, dup, 2, &kv), -EINVAL);
    assert_int_equal(ms_kv_mem_open(NULL, empty, 2, &kv), -EINVAL);
    assert_int_equal(ms_kv_mem_open(NULL, dup, 0, &kv), -EINVAL);
    assert_null(kv);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        KV_SUITE_TESTS,
        KV_SUITE_TEST(test_mem_crash_drops_unsynced_keeps_synced),
        KV_SUITE_TEST(test_mem_sync_write_makes_earlier_durable),
        KV_SUITE_TEST(test_mem_crash_batch_is_all_or_nothing),
        KV_SUITE_TEST(test_mem_fail_nth_write_applies_nothing),
        cmocka_unit_test(test_mem_store_outlives_handles),
        cmocka_unit_test(test_mem_open_validates_names),
    };
    return cmocka_run_group_tests_name("kv_mem", tests, NULL, NULL);
}
