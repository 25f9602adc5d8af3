/*
 * test_secret.c - struct ms_secret: zero-filled creation, copies, wiping (F-DEL-3), read-only
 * protection, and key files: loaded only with mode 0600/0400, never echoed to the log
 * (Y-COM-2), malformed files refused with exact codes.
 *
 * A wiped secret cannot be read back after sodium_free (the pages are unmapped), so the wipe
 * test reads through ms_secret_wipe(), which zeroes in place and keeps the allocation.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <sodium.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/err.h"
#include "common/log.h"
#include "common/ms_limits.h"
#include "common/secret.h"
#include "testutil.h"

static char *tmp;

static int setup(void **state)
{
    (void)state;
    tmp = ms_test_tmpdir("secret");
    return ms_sodium_init();
}

static int teardown(void **state)
{
    (void)state;
    ms_test_rmtree(tmp);
    free(tmp);
    return 0;
}

static bool all_zero(const uint8_t *p, size_t n)
{
    uint8_t acc = 0;
    for (size_t i = 0; i < n; i++)
        acc |= p[i];
    return acc == 0;
}

/* Writes text to tmp/name with the given mode; returns the malloc'd path. */
static char *key_file(const char *name, const char *text, mode_t mode)
{
    char *path = malloc(strlen(tmp) + strlen(name) + 2);
    assert_non_null(path);
    snprintf(path, strlen(tmp) + strlen(name) + 2, "%s/%s", tmp, name);
    assert_int_equal(ms_test_write_file(path, text, strlen(text)), 0);
    assert_int_equal(chmod(path, mode), 0);
    return path;
}

/* Base64 (standard, padded) of n deterministic bytes from seed, into out. */
static void b64_of(uint8_t *bytes, size_t n, uint64_t seed, char *out, size_t cap)
{
    ms_test_fill(bytes, n, seed);
    sodium_bin2base64(out, cap, bytes, n, sodium_base64_VARIANT_ORIGINAL);
}

static void test_create_is_zero_filled(void **state)
{
    (void)state;
    struct ms_secret *s = NULL;
    assert_int_equal(ms_secret_create(MS_KEY_BYTES, &s), 0);
    assert_non_null(s);
    assert_int_equal(ms_secret_len(s), MS_KEY_BYTES);
    assert_true(all_zero(ms_secret_data(s), MS_KEY_BYTES));
    assert_false(ms_secret_is_readonly(s));
    ms_secret_destroy(s);
}

static void test_create_rejects_bad_length(void **state)
{
    (void)state;
    struct ms_secret *s = (struct ms_secret *)(uintptr_t)1;
    assert_int_equal(ms_secret_create(0, &s), -EINVAL);
    assert_int_equal(ms_secret_create(MS_SECRET_MAX + 1, &s), -EINVAL);
    assert_ptr_equal(s, (struct ms_secret *)(uintptr_t)1); /* untouched on failure */
    assert_int_equal(ms_secret_create(MS_SECRET_MAX, &s), 0);
    ms_secret_destroy(s);
    ms_secret_destroy(NULL);
}

static void test_from_bytes_copies_and_equal(void **state)
{
    (void)state;
    uint8_t key[MS_KEY_BYTES];
    ms_test_fill(key, sizeof(key), 7);
    struct ms_secret *a, *b, *c;
    assert_int_equal(ms_secret_from_bytes(key, sizeof(key), &a), 0);
    assert_int_equal(ms_secret_from_bytes(key, sizeof(key), &b), 0);
    assert_int_equal(ms_secret_from_bytes(key, sizeof(key) - 1, &c), 0);
    assert_memory_equal(ms_secret_data(a), key, sizeof(key));
    assert_ptr_not_equal(ms_secret_data(a), key);
    assert_true(ms_secret_equal(a, b));
    assert_false(ms_secret_equal(a, c));
    ms_secret_data_mut(b)[3] ^= 1;
    assert_false(ms_secret_equal(a, b));
    ms_secret_destroy(a);
    ms_secret_destroy(b);
    ms_secret_destroy(c);
}

static void test_wipe_zeroes_key__F_DEL_3(void **state)
{
    (void)state;
    uint8_t key[MS_KEY_BYTES];
    memset(key, 0xa5, sizeof(key));
    struct ms_secret *s;
    assert_int_equal(ms_secret_from_bytes(key, sizeof(key), &s), 0);
    assert_false(all_zero(ms_secret_data(s), sizeof(key)));
    ms_secret_wipe(s);
    assert_int_equal(ms_secret_len(s), sizeof(key));
    assert_true(all_zero(ms_secret_data(s), sizeof(key)));
    ms_secret_destroy(s);
}

static void test_wipe_readonly_secret__F_DEL_3(void **state)
{
    (void)state;
    uint8_t key[MS_KEY_BYTES];
    memset(key, 0x3c, sizeof(key));
    struct ms_secret *s;
    assert_int_equal(ms_secret_from_bytes(key, sizeof(key), &s), 0);
    assert_int_equal(ms_secret_make_readonly(s), 0);
    assert_true(ms_secret_is_readonly(s));
    assert_memory_equal(ms_secret_data(s), key, sizeof(key)); /* still readable */
    ms_secret_wipe(s);
    assert_true(all_zero(ms_secret_data(s), sizeof(key)));
    assert_true(ms_secret_is_readonly(s));
    ms_secret_destroy(s);
}

static void test_readonly_write_faults(void **state)
{
    (void)state;
    struct ms_secret *s;
    assert_int_equal(ms_secret_create(MS_KEY_BYTES, &s), 0);
    uint8_t *p = ms_secret_data_mut(s);
    assert_int_equal(ms_secret_make_readonly(s), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        /* cmocka's handler would turn the fault into a test failure inside the child. */
        signal(SIGSEGV, SIG_DFL);
        signal(SIGBUS, SIG_DFL);
        *(volatile uint8_t *)p = 1;
        _exit(0); /* reached only if the write did not fault */
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status));
    assert_true(WTERMSIG(status) == SIGSEGV || WTERMSIG(status) == SIGBUS);
    ms_secret_destroy(s);
}

static void test_key_file_0600_and_0400_load(void **state)
{
    (void)state;
    uint8_t key[MS_KEY_BYTES];
    char b64[128];
    b64_of(key, sizeof(key), 11, b64, sizeof(b64));
    char text[160];
    snprintf(text, sizeof(text), "  %s\n\n", b64);
    static const mode_t modes[] = {0600, 0400};
    for (size_t i = 0; i < 2; i++) {
        char *path = key_file(i == 0 ? "k600" : "k400", text, modes[i]);
        struct ms_secret *s = NULL;
        assert_int_equal(ms_secret_from_base64_file_exact(path, MS_KEY_BYTES, &s), 0);
        assert_int_equal(ms_secret_len(s), MS_KEY_BYTES);
        assert_memory_equal(ms_secret_data(s), key, sizeof(key));
        ms_secret_destroy(s);
        free(path);
    }
}

static void test_key_file_group_or_other_mode_refused__Y_COM_2(void **state)
{
    (void)state;
    uint8_t key[MS_KEY_BYTES];
    char b64[128];
    b64_of(key, sizeof(key), 12, b64, sizeof(b64));
    int fds[2];
    assert_int_equal(pipe2(fds, O_NONBLOCK | O_CLOEXEC), 0);
    ms_log_set_fd(fds[1]);
    static const mode_t modes[] = {0644, 0640, 0604, 0660, 0610, 0601};
    for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
        char name[32];
        snprintf(name, sizeof(name), "mode%o", (unsigned)modes[i]);
        char *path = key_file(name, b64, modes[i]);
        struct ms_secret *s = (struct ms_secret *)(uintptr_t)1;
        assert_int_equal(ms_secret_from_base64_file(path, &s), -EACCES);
        assert_ptr_equal(s, (struct ms_secret *)(uintptr_t)1);
        free(path);
    }
    ms_log_set_fd(2);
    char logbuf[8192];
    ssize_t n = read(fds[0], logbuf, sizeof(logbuf) - 1);
    assert_true(n > 0);
    logbuf[n] = '\0';
    assert_non_null(strstr(logbuf, "reason=group_or_other_access mode=0644"));
    assert_non_null(strstr(logbuf, "chmod 600"));
    assert_null(strstr(logbuf, b64)); /* the key is never logged */
    close(fds[0]);
    close(fds[1]);
}

static void test_key_file_malformed(void **state)
{
    (void)state;
    struct ms_secret *s;
    char *p = key_file("notb64", "this is not base64!\n", 0600);
    assert_int_equal(ms_secret_from_base64_file(p, &s), -MEDSTORE_EFORMAT);
    free(p);
    p = key_file("empty", "", 0600);
    assert_int_equal(ms_secret_from_base64_file(p, &s), -MEDSTORE_EFORMAT);
    free(p);
    p = key_file("spaces", " \n\t\n", 0600);
    assert_int_equal(ms_secret_from_base64_file(p, &s), -MEDSTORE_EFORMAT);
    free(p);
    /* 16 bytes where 32 are wanted. */
    p = key_file("short", "AAECAwQFBgcICQoLDA0ODw==", 0600);
    assert_int_equal(ms_secret_from_base64_file_exact(p, MS_KEY_BYTES, &s), -MEDSTORE_EFORMAT);
    assert_int_equal(ms_secret_from_base64_file(p, &s), 0);
    assert_int_equal(ms_secret_len(s), 16);
    assert_int_equal(ms_secret_data(s)[15], 15);
    ms_secret_destroy(s);
    free(p);
    /* Padding is optional. */
    p = key_file("nopad", "AAECAwQFBgcICQoLDA0ODw", 0600);
    assert_int_equal(ms_secret_from_base64_file(p, &s), 0);
    assert_int_equal(ms_secret_len(s), 16);
    ms_secret_destroy(s);
    free(p);
}

static void test_key_file_missing_dir_and_too_large(void **state)
{
    (void)state;
    struct ms_secret *s;
    char path[4096];
    snprintf(path, sizeof(path), "%s/absent", tmp);
    assert_int_equal(ms_secret_from_base64_file(path, &s), -ENOENT);
    snprintf(path, sizeof(path), "%s/dir", tmp);
    assert_int_equal(mkdir(path, 0700), 0);
    assert_int_equal(ms_secret_from_base64_file(path, &s), -EINVAL);
    char *big = malloc(MS_KEY_FILE_MAX + 2);
    assert_non_null(big);
    memset(big, 'A', MS_KEY_FILE_MAX + 1);
    big[MS_KEY_FILE_MAX + 1] = '\0';
    char *p = key_file("big", big, 0600);
    assert_int_equal(ms_secret_from_base64_file(p, &s), -EFBIG);
    free(p);
    free(big);
}

int main(void)
{
    ms_log_set_level(MS_LOG_WARN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_is_zero_filled),
        cmocka_unit_test(test_create_rejects_bad_length),
        cmocka_unit_test(test_from_bytes_copies_and_equal),
        cmocka_unit_test(test_wipe_zeroes_key__F_DEL_3),
        cmocka_unit_test(test_wipe_readonly_secret__F_DEL_3),
        cmocka_unit_test(test_readonly_write_faults),
        cmocka_unit_test(test_key_file_0600_and_0400_load),
        cmocka_unit_test(test_key_file_group_or_other_mode_refused__Y_COM_2),
        cmocka_unit_test(test_key_file_malformed),
        cmocka_unit_test(test_key_file_missing_dir_and_too_large),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
