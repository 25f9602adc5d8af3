/*
 * secret.c - struct ms_secret: key bytes in sodium_malloc'd memory (F-DEL-3, Y-COM-2).
 *
 * Layout: a small malloc'd header (pointer, length, read-only flag; nothing secret) and the
 * key bytes in their own sodium_malloc allocation, which libsodium places against a guard
 * page, locks with mlock (and MADV_DONTDUMP), and zeroes in sodium_free before unmapping.
 * sodium_malloc ignores an mlock failure, so secret_lock_check() locks again and, when that
 * fails (RLIMIT_MEMLOCK too low), logs one warning per process: the key still works but
 * could reach swap.
 *
 * Invariants: data != NULL, 1 <= len <= MS_SECRET_MAX; readonly mirrors the page protection.
 *
 * Key files (ms_secret_from_base64_file) are refused unless they are regular files, at most
 * MS_KEY_FILE_MAX bytes, with no group/other permission bits (0600 / 0400). The base64 text
 * is itself the key, so it is read into sodium_malloc'd memory and freed (wiped) the same
 * way. Nothing here logs key bytes; refusals log the path and the reason only.
 */
#include "common/secret.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fd.h"
#include "common/log.h"
#include "common/ms_assert.h"
#include "common/ms_limits.h"

struct ms_secret {
    uint8_t *data; /* sodium_malloc'd, len bytes */
    size_t len;
    bool readonly;
};

static atomic_bool sodium_ready;
static atomic_bool mlock_warned;

int ms_sodium_init(void)
{
    if (atomic_load_explicit(&sodium_ready, memory_order_acquire))
        return 0;
    /* sodium_init() is itself thread safe and idempotent: 0 first time, 1 after. */
    int rc = sodium_init();
    if (rc < 0) {
        ms_log(MS_LOG_ERROR, "secret", "event=sodium_init_failed");
        return -MEDSTORE_EINTERNAL;
    }
    atomic_store_explicit(&sodium_ready, true, memory_order_release);
    return 0;
}

static void secret_lock_check(uint8_t *data, size_t len)
{
    MS_ASSERT(data != NULL);
    MS_ASSERT(len >= 1);
    if (sodium_mlock(data, len) == 0)
        return;
    int e = errno;
    if (!atomic_exchange(&mlock_warned, true))
        ms_log(MS_LOG_WARN, "secret",
               "event=mlock_failed errno=%s hint=\"raise RLIMIT_MEMLOCK (LimitMEMLOCK=)\"",
               ms_err_name(-e));
}

int ms_secret_create(size_t len, struct ms_secret **out)
{
    MS_ASSERT(out != NULL);
    if (len == 0 || len > MS_SECRET_MAX)
        return -EINVAL;
    int rc = ms_sodium_init();
    if (rc != 0)
        return rc;
    struct ms_secret *s = malloc(sizeof(*s));
    if (s == NULL)
        return -ENOMEM;
    s->data = sodium_malloc(len);
    if (s->data == NULL) {
        free(s);
        return -ENOMEM;
    }
    s->len = len;
    s->readonly = false;
    /* sodium_malloc fills with 0xdb (to catch use of uninitialised keys); we promise zeros. */
    sodium_memzero(s->data, len);
    secret_lock_check(s->data, len);
    MS_ASSERT(s->len == len);
    *out = s;
    return 0;
}

int ms_secret_from_bytes(const void *data, size_t len, struct ms_secret **out)
{
    MS_ASSERT(out != NULL);
    MS_ASSERT(data != NULL || len == 0);
    struct ms_secret *s;
    int rc = ms_secret_create(len, &s);
    if (rc != 0)
        return rc;
    memcpy(s->data, data, len);
    *out = s;
    return 0;
}

const uint8_t *ms_secret_data(const struct ms_secret *s)
{
    MS_ASSERT(s != NULL);
    MS_ASSERT(s->data != NULL);
    return s->data;
}

uint8_t *ms_secret_data_mut(struct ms_secret *s)
{
    MS_ASSERT(s != NULL);
    MS_ASSERT(!s->readonly);
    return s->data;
}

size_t ms_secret_len(const struct ms_secret *s)
{
    MS_ASSERT(s != NULL);
    MS_ASSERT(s->len >= 1 && s->len <= MS_SECRET_MAX);
    return s->len;
}

int ms_secret_make_readonly(struct ms_secret *s)
{
    MS_ASSERT(s != NULL);
    MS_ASSERT(s->data != NULL);
    if (s->readonly)
        return 0;
    if (sodium_mprotect_readonly(s->data) != 0)
        return -errno;
    s->readonly = true;
    return 0;
}

bool ms_secret_is_readonly(const struct ms_secret *s)
{
    MS_ASSERT(s != NULL);
    return s->readonly;
}

void ms_secret_wipe(struct ms_secret *s)
{
    MS_ASSERT(s != NULL);
    MS_ASSERT(s->data != NULL);
    /* Changing the protection cannot fail for pages sodium_malloc mapped itself. */
    int rc = s->readonly ? sodium_mprotect_readwrite(s->data) : 0;
    MS_ASSERT(rc == 0);
    sodium_memzero(s->data, s->len);
    rc = s->readonly ? sodium_mprotect_readonly(s->data) : 0;
    MS_ASSERT(rc == 0);
}

bool ms_secret_equal(const struct ms_secret *a, const struct ms_secret *b)
{
    MS_ASSERT(a != NULL);
    MS_ASSERT(b != NULL);
    if (a->len != b->len)
        return false;
    return sodium_memcmp(a->data, b->data, a->len) == 0;
}

void ms_secret_destroy(struct ms_secret *s)
{
    if (s == NULL)
        return;
    MS_ASSERT(s->data != NULL);
    sodium_free(s->data); /* makes the pages writable, zeroes, unlocks, unmaps */
    s->data = NULL;
    free(s);
}

/* Opens path and checks it may hold a key: regular file, no group/other bits, small.
 * Returns the fd (>= 0) with *size_out set, or a negative code (logged). */
static int key_file_open(const char *path, size_t *size_out)
{
    MS_ASSERT(path != NULL);
    MS_ASSERT(size_out != NULL);
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return -errno;
    struct stat st;
    int rc = 0;
    if (fstat(fd, &st) != 0) {
        rc = -errno;
    } else if (!S_ISREG(st.st_mode)) {
        ms_log(MS_LOG_ERROR, "secret", "event=key_file_refused path=%s reason=not_regular_file",
               path);
        rc = -EINVAL;
    } else if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
        ms_log(MS_LOG_ERROR, "secret",
               "event=key_file_refused path=%s reason=group_or_other_access mode=%04o "
               "fix=\"chmod 600 (or 400)\"",
               path, (unsigned)(st.st_mode & 07777));
        rc = -EACCES;
    } else if (st.st_size > (off_t)MS_KEY_FILE_MAX) {
        ms_log(MS_LOG_ERROR, "secret", "event=key_file_refused path=%s reason=too_large", path);
        rc = -EFBIG;
    }
    if (rc != 0) {
        close(fd);
        return rc;
    }
    *size_out = (size_t)st.st_size;
    return fd;
}

/* Decodes base64 text (padded or not; whitespace ignored) into a new secret. */
static int secret_from_base64(const uint8_t *text, size_t text_len, struct ms_secret **out)
{
    MS_ASSERT(text != NULL);
    MS_ASSERT(out != NULL);
    size_t cap = text_len / 4 * 3 + 3;
    uint8_t *bin = sodium_malloc(cap);
    if (bin == NULL)
        return -ENOMEM;
    size_t bin_len = 0;
    const char *b64 = (const char *)text;
    int rc = sodium_base642bin(bin, cap, b64, text_len, " \t\r\n", &bin_len, NULL,
                               sodium_base64_VARIANT_ORIGINAL);
    if (rc != 0)
        rc = sodium_base642bin(bin, cap, b64, text_len, " \t\r\n", &bin_len, NULL,
                               sodium_base64_VARIANT_ORIGINAL_NO_PADDING);
    if (rc != 0 || bin_len == 0 || bin_len > MS_SECRET_MAX)
        rc = -MEDSTORE_EFORMAT;
    else
        rc = ms_secret_from_bytes(bin, bin_len, out);
    sodium_free(bin);
    return rc;
}

int ms_secret_from_base64_file(const char *path, struct ms_secret **out)
{
    MS_ASSERT(path != NULL);
    MS_ASSERT(out != NULL);
    int rc = ms_sodium_init();
    if (rc != 0)
        return rc;
    size_t size = 0;
    int fd = key_file_open(path, &size);
    if (fd < 0)
        return fd;
    /* One spare byte: a file that grew since fstat is read short, never overflowing. */
    uint8_t *text = sodium_malloc(size + 1);
    if (text == NULL) {
        close(fd);
        return -ENOMEM;
    }
    ssize_t got = ms_fd_read_full(fd, text, size);
    close(fd);
    if (got < 0)
        rc = (int)got;
    else
        rc = secret_from_base64(text, (size_t)got, out);
    sodium_free(text);
    if (rc == -MEDSTORE_EFORMAT)
        ms_log(MS_LOG_ERROR, "secret", "event=key_file_refused path=%s reason=not_base64",
               path);
    return rc;
}

int ms_secret_from_base64_file_exact(const char *path, size_t want_len, struct ms_secret **out)
{
    MS_ASSERT(path != NULL);
    MS_ASSERT(out != NULL);
    struct ms_secret *s;
    int rc = ms_secret_from_base64_file(path, &s);
    if (rc != 0)
        return rc;
    if (s->len != want_len) {
        ms_log(MS_LOG_ERROR, "secret",
               "event=key_file_refused path=%s reason=wrong_length want_bytes=%zu", path,
               want_len);
        ms_secret_destroy(s);
        return -MEDSTORE_EFORMAT;
    }
    *out = s;
    return 0;
}
