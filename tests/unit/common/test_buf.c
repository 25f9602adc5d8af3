/*
 * test_buf.c - struct ms_buf: growth, reserve, limits, the copy counter, and wiping of
 * sensitive buffers (F-DEL-3).
 *
 * buf.c is included with free() redirected to a hook, so the tests can check that every
 * block a sensitive buffer releases (on growth and on fini) is all zeros when it is freed:
 * the only way to observe a wipe, since freed memory must not be read.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/ms_limits.h"
#include "testutil.h"

static size_t hook_check_bytes; /* > 0: the next frees must be of zeroed blocks this long */
static unsigned hook_checked;
static unsigned hook_dirty;

static void hooked_free(void *p)
{
    if (p != NULL && hook_check_bytes > 0) {
        const uint8_t *b = p;
        uint8_t acc = 0;
        for (size_t i = 0; i < hook_check_bytes; i++)
            acc |= b[i];
        hook_checked++;
        if (acc != 0)
            hook_dirty++;
    }
    free(p);
}

#define free hooked_free
#include "common/buf.c"
#undef free

static void hook_arm(size_t bytes)
{
    hook_check_bytes = bytes;
    hook_checked = 0;
    hook_dirty = 0;
}

static void hook_disarm(void)
{
    hook_check_bytes = 0;
}

static void test_append_grows_and_keeps_bytes(void **state)
{
    (void)state;
    struct ms_buf b;
    ms_buf_init(&b);
    assert_null(b.data);
    assert_int_equal(b.cap, 0);
    uint8_t src[10000];
    ms_test_fill(src, sizeof(src), 3);
    size_t off = 0;
    for (size_t step = 1; off + step <= sizeof(src); step += 7) {
        assert_int_equal(ms_buf_append(&b, src + off, step), 0);
        off += step;
        assert_true(ms_buf_check(&b));
    }
    assert_int_equal(b.len, off);
    assert_true(b.cap >= b.len);
    assert_memory_equal(b.data, src, off);
    assert_int_equal(ms_buf_append(&b, NULL, 0), 0);
    assert_int_equal(b.len, off);
    ms_buf_fini(&b);
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    ms_buf_fini(NULL);
}

static void test_reserve_reset_set_len(void **state)
{
    (void)state;
    struct ms_buf b = {0}; /* a zeroed struct is an empty buffer */
    assert_int_equal(ms_buf_reserve(&b, 4096), 0);
    assert_int_equal(b.cap, 4096);
    assert_int_equal(b.len, 0);
    uint8_t *before = b.data;
    assert_int_equal(ms_buf_reserve(&b, 100), 0); /* never shrinks */
    assert_ptr_equal(b.data, before);
    memset(b.data, 'z', 300);
    ms_buf_set_len(&b, 300);
    assert_int_equal(b.len, 300);
    ms_buf_reset(&b);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.cap, 4096);
    assert_int_equal(b.data[0], 'z'); /* not sensitive: reset keeps the bytes */
    ms_buf_fini(&b);
}

static void test_limits(void **state)
{
    (void)state;
    struct ms_buf b;
    ms_buf_init(&b);
    assert_int_equal(ms_buf_reserve(&b, MS_BUF_CAP_MAX + 1), -EOVERFLOW);
    uint8_t x = 1;
    assert_int_equal(ms_buf_append(&b, &x, 1), 0);
    assert_int_equal(ms_buf_append(&b, &x, SIZE_MAX), -EOVERFLOW);
    assert_int_equal(ms_buf_append(&b, &x, MS_BUF_CAP_MAX), -EOVERFLOW);
    assert_int_equal(b.len, 1); /* unchanged on failure */
    assert_int_equal(b.data[0], 1);
    ms_buf_fini(&b);
}

static void test_copy_counter(void **state)
{
    (void)state;
    ms_buf_copied_reset();
    assert_int_equal(ms_buf_copied_bytes(), 0);
    struct ms_buf b;
    ms_buf_init(&b);
    uint8_t src[777];
    ms_test_fill(src, sizeof(src), 9);
    assert_int_equal(ms_buf_append(&b, src, 700), 0);
    assert_int_equal(ms_buf_append(&b, src, 77), 0);
    assert_int_equal(ms_buf_copied_bytes(), 777);
    uint8_t dst[777];
    ms_buf_copy(dst, src, sizeof(src));
    assert_memory_equal(dst, src, sizeof(src));
    assert_int_equal(ms_buf_copied_bytes(), 2 * 777);
    /* Growth moves and set_len are not copies of object data. */
    assert_int_equal(ms_buf_reserve(&b, 1 << 16), 0);
    ms_buf_set_len(&b, 1000);
    assert_int_equal(ms_buf_copied_bytes(), 2 * 777);
    ms_buf_copied_reset();
    assert_int_equal(ms_buf_copied_bytes(), 0);
    ms_buf_fini(&b);
}

#define COPY_THREADS 2
#define COPY_ROUNDS 20000

static void *copy_worker(void *arg)
{
    (void)arg;
    uint8_t a[64], b[64];
    memset(a, 1, sizeof(a));
    for (int i = 0; i < COPY_ROUNDS; i++)
        ms_buf_copy(b, a, 3);
    return NULL;
}

static void test_copy_counter_threads(void **state)
{
    (void)state;
    ms_buf_copied_reset();
    pthread_t t[COPY_THREADS];
    for (int i = 0; i < COPY_THREADS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, copy_worker, NULL), 0);
    for (int i = 0; i < COPY_THREADS; i++)
        assert_int_equal(pthread_join(t[i], NULL), 0);
    assert_int_equal(ms_buf_copied_bytes(), (uint64_t)COPY_THREADS * COPY_ROUNDS * 3);
}

static void test_sensitive_growth_wipes_old_block__F_DEL_3(void **state)
{
    (void)state;
    struct ms_buf b;
    ms_buf_init_sensitive(&b);
    uint8_t plain[64];
    memset(plain, 0x77, sizeof(plain));
    assert_int_equal(ms_buf_append(&b, plain, sizeof(plain)), 0);
    assert_int_equal(b.cap, 64);
    hook_arm(b.cap);
    assert_int_equal(ms_buf_append(&b, plain, 1), 0); /* grows: the old block is freed */
    hook_disarm();
    assert_int_equal(hook_checked, 1);
    assert_int_equal(hook_dirty, 0);
    assert_memory_equal(b.data, plain, sizeof(plain)); /* the bytes moved intact */
    assert_int_equal(b.data[64], 0x77);
    size_t cap = b.cap;
    hook_arm(cap);
    ms_buf_fini(&b);
    hook_disarm();
    assert_int_equal(hook_checked, 1);
    assert_int_equal(hook_dirty, 0);
    assert_int_equal(b.flags, MS_BUF_F_SENSITIVE);
}

static void test_sensitive_reset_zeroes__F_DEL_3(void **state)
{
    (void)state;
    struct ms_buf b;
    ms_buf_init_sensitive(&b);
    uint8_t plain[200];
    memset(plain, 0x42, sizeof(plain));
    assert_int_equal(ms_buf_append(&b, plain, sizeof(plain)), 0);
    ms_buf_reset(&b);
    assert_int_equal(b.len, 0);
    for (size_t i = 0; i < sizeof(plain); i++)
        assert_int_equal(b.data[i], 0);
    ms_buf_fini(&b);
}

static void test_wipe_fini_zeroes_before_free__F_DEL_3(void **state)
{
    (void)state;
    struct ms_buf b;
    ms_buf_init(&b); /* an ordinary buffer that held plaintext */
    uint8_t plain[3000];
    ms_test_fill(plain, sizeof(plain), 5);
    assert_int_equal(ms_buf_append(&b, plain, sizeof(plain)), 0);
    hook_arm(b.cap);
    ms_buf_wipe_fini(&b);
    hook_disarm();
    assert_int_equal(hook_checked, 1);
    assert_int_equal(hook_dirty, 0);
    assert_null(b.data);
    assert_int_equal(b.cap, 0);
    ms_buf_wipe_fini(NULL);
}

static void test_alloc_aligned(void **state)
{
    (void)state;
    static const size_t aligns[] = {8, 64, 512, MS_IO_ALIGN, 1 << 16};
    for (size_t i = 0; i < sizeof(aligns) / sizeof(aligns[0]); i++) {
        uint8_t *p = ms_alloc_aligned(aligns[i], 3 * MS_IO_ALIGN);
        assert_non_null(p);
        assert_int_equal((uintptr_t)p % aligns[i], 0);
        memset(p, 1, 3 * MS_IO_ALIGN);
        ms_free_aligned(p);
    }
    void *z = ms_alloc_aligned(MS_IO_ALIGN, 0);
    assert_non_null(z);
    ms_free_aligned(z);
    assert_null(ms_alloc_aligned(3000, 64)); /* not a power of two */
    assert_null(ms_alloc_aligned(2, 64));    /* below sizeof(void *) */
    ms_free_aligned(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_append_grows_and_keeps_bytes),
        cmocka_unit_test(test_reserve_reset_set_len),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_copy_counter),
        cmocka_unit_test(test_copy_counter_threads),
        cmocka_unit_test(test_sensitive_growth_wipes_old_block__F_DEL_3),
        cmocka_unit_test(test_sensitive_reset_zeroes__F_DEL_3),
        cmocka_unit_test(test_wipe_fini_zeroes_before_free__F_DEL_3),
        cmocka_unit_test(test_alloc_aligned),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
