/*
 * buf.c - struct ms_buf: growable byte buffer on caller storage, plus the copy counter.
 *
 * Growth doubles the capacity (at least 64 bytes) up to MS_BUF_CAP_MAX, so appends are
 * amortised O(1); every size computation is checked before it can overflow. A sensitive
 * buffer never uses realloc: the bytes move to a fresh allocation and the old block is
 * zeroed before free, so plaintext is not left behind in the heap (F-DEL-3). Moving bytes
 * during growth is not counted as a copy: reserve up front where the count matters.
 *
 * Invariants (ms_buf_check): len <= cap <= MS_BUF_CAP_MAX; data == NULL iff cap == 0.
 */
#include "common/buf.h"

#include <errno.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "common/ms_assert.h"

#define BUF_CAP_MIN 64

static atomic_uint_fast64_t copied_bytes;

void ms_buf_init(struct ms_buf *b)
{
    MS_ASSERT(b != NULL);
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->flags = 0;
}

void ms_buf_init_sensitive(struct ms_buf *b)
{
    ms_buf_init(b);
    b->flags = MS_BUF_F_SENSITIVE;
}

bool ms_buf_check(const struct ms_buf *b)
{
    if (b == NULL || b->len > b->cap || b->cap > MS_BUF_CAP_MAX)
        return false;
    return (b->data == NULL) == (b->cap == 0);
}

/* Moves the bytes to an allocation of exactly new_cap bytes (new_cap > cap). */
static int buf_grow_to(struct ms_buf *b, size_t new_cap)
{
    MS_ASSERT(new_cap > b->cap);
    MS_ASSERT(new_cap <= MS_BUF_CAP_MAX);
    uint8_t *p;
    if ((b->flags & MS_BUF_F_SENSITIVE) == 0) {
        p = realloc(b->data, new_cap);
        if (p == NULL)
            return -ENOMEM;
    } else {
        p = malloc(new_cap);
        if (p == NULL)
            return -ENOMEM;
        if (b->len > 0)
            memcpy(p, b->data, b->len);
        if (b->data != NULL)
            sodium_memzero(b->data, b->cap);
        free(b->data);
    }
    b->data = p;
    b->cap = new_cap;
    MS_DASSERT(ms_buf_check(b));
    return 0;
}

int ms_buf_reserve(struct ms_buf *b, size_t cap_bytes)
{
    MS_ASSERT(b != NULL);
    MS_DASSERT(ms_buf_check(b));
    if (cap_bytes <= b->cap)
        return 0;
    if (cap_bytes > MS_BUF_CAP_MAX)
        return -EOVERFLOW;
    return buf_grow_to(b, cap_bytes);
}

/* Ensures room for extra more bytes, doubling the capacity. */
static int buf_make_room(struct ms_buf *b, size_t extra)
{
    MS_ASSERT(b->len <= b->cap);
    if (extra <= b->cap - b->len)
        return 0;
    if (extra > MS_BUF_CAP_MAX - b->len)
        return -EOVERFLOW;
    size_t need = b->len + extra;
    size_t cap = b->cap < BUF_CAP_MIN ? BUF_CAP_MIN : b->cap;
    while (cap < need)
        cap = cap > MS_BUF_CAP_MAX / 2 ? MS_BUF_CAP_MAX : cap * 2;
    MS_ASSERT(cap >= need);
    return buf_grow_to(b, cap);
}

int ms_buf_append(struct ms_buf *b, const void *data, size_t len)
{
    MS_ASSERT(b != NULL);
    MS_ASSERT(data != NULL || len == 0);
    if (len == 0)
        return 0;
    int rc = buf_make_room(b, len);
    if (rc != 0)
        return rc;
    memcpy(b->data + b->len, data, len);
    b->len += len;
    atomic_fetch_add_explicit(&copied_bytes, len, memory_order_relaxed);
    MS_DASSERT(ms_buf_check(b));
    return 0;
}

void ms_buf_set_len(struct ms_buf *b, size_t len)
{
    MS_ASSERT(b != NULL);
    MS_ASSERT(len <= b->cap);
    b->len = len;
}

void ms_buf_reset(struct ms_buf *b)
{
    MS_ASSERT(b != NULL);
    MS_DASSERT(ms_buf_check(b));
    if ((b->flags & MS_BUF_F_SENSITIVE) != 0 && b->len > 0)
        sodium_memzero(b->data, b->len);
    b->len = 0;
}

void ms_buf_fini(struct ms_buf *b)
{
    if (b == NULL)
        return;
    MS_DASSERT(ms_buf_check(b));
    if ((b->flags & MS_BUF_F_SENSITIVE) != 0 && b->data != NULL)
        sodium_memzero(b->data, b->cap);
    free(b->data);
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

void ms_buf_wipe_fini(struct ms_buf *b)
{
    if (b == NULL)
        return;
    MS_DASSERT(ms_buf_check(b));
    if (b->data != NULL)
        sodium_memzero(b->data, b->cap);
    free(b->data);
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

void ms_buf_copy(void *dst, const void *src, size_t len)
{
    MS_ASSERT(dst != NULL || len == 0);
    MS_ASSERT(src != NULL || len == 0);
    if (len == 0)
        return;
    memcpy(dst, src, len);
    atomic_fetch_add_explicit(&copied_bytes, len, memory_order_relaxed);
}

uint64_t ms_buf_copied_bytes(void)
{
    return atomic_load_explicit(&copied_bytes, memory_order_relaxed);
}

void ms_buf_copied_reset(void)
{
    atomic_store_explicit(&copied_bytes, 0, memory_order_relaxed);
}

void *ms_alloc_aligned(size_t align, size_t size)
{
    if (align < sizeof(void *) || (align & (align - 1)) != 0)
        return NULL;
    void *p = NULL;
    /* posix_memalign(0) may return NULL or a unique pointer; ask for one byte instead. */
    if (posix_memalign(&p, align, size == 0 ? 1 : size) != 0)
        return NULL;
    MS_ASSERT(p != NULL);
    MS_ASSERT(((uintptr_t)p & (align - 1)) == 0);
    return p;
}

void ms_free_aligned(void *p)
{
    free(p);
}
