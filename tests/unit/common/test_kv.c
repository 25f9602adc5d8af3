/*
 * test_kv.c - the kv port's generic layer (src/common/kv.c): batches keep exact copies of
 * keys and values across arena growth, clear and reuse, and refuse bad arguments without
 * changing; prefix upper bounds are computed right (including 0xff tails).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/kv.h"
#include "testutil.h"

static void test_batch_copies_survive_growth(void **state)
{
    (void)state;
    struct ms_kv_batch b;
    ms_kv_batch_init(&b);
    enum { N = 300 };
    uint8_t key[32], val[200];
    for (unsigned i = 0; i < N; i++) {
        ms_test_fill(key, sizeof(key), i);
        ms_test_fill(val, sizeof(val), 1000 + i);
        size_t vlen = i % sizeof(val);
        assert_int_equal(ms_kv_batch_put(&b, i % 3, key, sizeof(key), val, vlen), 0);
    }
    assert_int_equal(b.count, N);
    for (unsigned i = 0; i < N; i++) {
        ms_test_fill(key, sizeof(key), i);
        ms_test_fill(val, sizeof(val), 1000 + i);
        assert_int_equal(b.entries[i].op, MS_KV_PUT);
        assert_int_equal(b.entries[i].cf, i % 3);
        assert_int_equal(b.entries[i].key_len, sizeof(key));
        assert_int_equal(b.entries[i].val_len, i % sizeof(val));
        assert_memory_equal(ms_kv_batch_key(&b, i), key, sizeof(key));
        if (i % sizeof(val))
            assert_memory_equal(ms_kv_batch_val(&b, i), val, i % sizeof(val));
    }
    ms_kv_batch_clear(&b);
    assert_int_equal(b.count, 0);
    assert_int_equal(b.arena_len, 0);
    assert_int_equal(ms_kv_batch_delete(&b, 1, "k", 1), 0);
    assert_int_equal(b.entries[0].op, MS_KV_DELETE);
    assert_memory_equal(ms_kv_batch_key(&b, 0), "k", 1);
    ms_kv_batch_fini(&b);
    assert_null(b.entries);
    assert_null(b.arena);
}

static void test_batch_refuses_bad_arguments(void **state)
{
    (void)state;
    struct ms_kv_batch b;
    ms_kv_batch_init(&b);
    static uint8_t key[MS_KV_KEY_MAX + 1];
    assert_int_equal(ms_kv_batch_put(&b, 0, key, 0, "v", 1), -EINVAL);
    assert_int_equal(ms_kv_batch_put(&b, 0, key, sizeof(key), "v", 1), -EINVAL);
    assert_int_equal(ms_kv_batch_put(&b, MS_KV_CF_MAX, "k", 1, "v", 1), -EINVAL);
    assert_int_equal(ms_kv_batch_delete(&b, 0, key, 0), -EINVAL);
    assert_int_equal(ms_kv_batch_delete_range(&b, 0, "b", 1, "a", 1), -EINVAL);
    assert_int_equal(ms_kv_batch_delete_range(&b, 0, "a", 1, "a", 1), -EINVAL);
    assert_int_equal(ms_kv_batch_delete_range(&b, 0, "a", 1, "a\x00", 2), 0);
    assert_int_equal(b.count, 1);
    assert_int_equal(b.entries[0].op, MS_KV_DELETE_RANGE);
    assert_memory_equal(ms_kv_batch_val(&b, 0), "a\x00", 2);
    ms_kv_batch_fini(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_batch_copies_survive_growth),
        cmocka_unit_test(test_batch_refuses_bad_arguments),
    };
    return cmocka_run_group_tests_name("kv", tests, NULL, NULL);
}
