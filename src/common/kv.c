/*
 * kv.c - the kv port's generic layer: batches (entries + one byte arena), argument checks,
 * dispatch to the backend, one-entry put/delete, and prefix iterators.
 *
 * A batch copies every key and value into its arena, and entries refer to them by offset, so
 * growing the arena never invalidates an entry. The arena is wiped (sodium_memzero) before it
 * is freed, cleared or moved: meta's values include wrapped keys and encrypted metadata.
 * Checks here (cf < cf_count, 1 <= klen <= MS_KV_KEY_MAX, vlen <= MS_KV_VALUE_MAX) mean the
 * backends see only valid arguments.
 */
#include "common/kv.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "common/ms_assert.h"

/* ---- batches ----------------------------------------------------------------------------- */

void ms_kv_batch_init(struct ms_kv_batch *b)
{
    MS_ASSERT(b != NULL);
    memset(b, 0, sizeof(*b));
}

void ms_kv_batch_fini(struct ms_kv_batch *b)
{
    if (b == NULL)
        return;
    if (b->arena != NULL)
        sodium_memzero(b->arena, b->arena_cap);
    free(b->arena);
    free(b->entries);
    memset(b, 0, sizeof(*b));
}

void ms_kv_batch_clear(struct ms_kv_batch *b)
{
    MS_ASSERT(b != NULL);
    if (b->arena != NULL)
        sodium_memzero(b->arena, b->arena_len);
    b->arena_len = 0;
    b->count = 0;
}

/* Makes room for one more entry and n more arena bytes. Returns 0 or -ENOMEM. */
static int kv_batch_reserve(struct ms_kv_batch *b, size_t n)
{
    MS_ASSERT(b->count <= b->cap);
    MS_ASSERT(b->arena_len <= b->arena_cap);
    if (b->count == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 8;
        struct ms_kv_batch_entry *e = realloc(b->entries, cap * sizeof(*e));
        if (e == NULL)
            return -ENOMEM;
        b->entries = e;
        b->cap = cap;
    }
    if (n > b->arena_cap - b->arena_len) {
        size_t cap = b->arena_cap ? b->arena_cap : 256;
        while (cap - b->arena_len < n) {
            if (cap > SIZE_MAX / 2)
                return -ENOMEM;
            cap *= 2;
        }
        /* Not realloc: the old arena must be wiped, not left in freed memory. */
        uint8_t *a = malloc(cap);
        if (a == NULL)
            return -ENOMEM;
        if (b->arena != NULL) {
            memcpy(a, b->arena, b->arena_len);
            sodium_memzero(b->arena, b->arena_cap);
            free(b->arena);
        }
        b->arena = a;
        b->arena_cap = cap;
    }
    return 0;
}

static int kv_batch_add(struct ms_kv_batch *b, enum ms_kv_op op, unsigned cf, const void *key,
                        size_t klen, const void *val, size_t vlen)
{
    MS_ASSERT(b != NULL);
    MS_ASSERT(key != NULL || klen == 0);
    MS_ASSERT(val != NULL || vlen == 0);
    if (klen == 0 || klen > MS_KV_KEY_MAX || vlen > MS_KV_VALUE_MAX || cf >= MS_KV_CF_MAX)
        return -EINVAL;
    int rc = kv_batch_reserve(b, klen + vlen);
    if (rc != 0)
        return rc;
    struct ms_kv_batch_entry *e = &b->entries[b->count];
    *e = (struct ms_kv_batch_entry){.op = op, .cf = cf, .key_off = b->arena_len,
                                    .key_len = klen, .val_off = b->arena_len + klen,
                                    .val_len = vlen};
    memcpy(b->arena + b->arena_len, key, klen);
    if (vlen > 0)
        memcpy(b->arena + b->arena_len + klen, val, vlen);
    b->arena_len += klen + vlen;
    b->count++;
    MS_ASSERT(b->arena_len <= b->arena_cap);
    return 0;
}

int ms_kv_batch_put(struct ms_kv_batch *b, unsigned cf, const void *key, size_t klen,
                    const void *val, size_t vlen)
{
    return kv_batch_add(b, MS_KV_PUT, cf, key, klen, val, vlen);
}

int ms_kv_batch_delete(struct ms_kv_batch *b, unsigned cf, const void *key, size_t klen)
{
    return kv_batch_add(b, MS_KV_DELETE, cf, key, klen, NULL, 0);
}

/* memcmp order, shorter first on a tie (the order of both backends). */
static int kv_key_cmp(const void *a, size_t alen, const void *b, size_t blen)
{
    size_t n = alen < blen ? alen : blen;
    int c = n ? memcmp(a, b, n) : 0;
    if (c != 0)
        return c;
    return alen < blen ? -1 : (alen > blen ? 1 : 0);
}

int ms_kv_batch_delete_range(struct ms_kv_batch *b, unsigned cf, const void *begin, size_t blen,
                             const void *end, size_t elen)
{
    MS_ASSERT(begin != NULL && end != NULL);
    if (elen == 0 || elen > MS_KV_KEY_MAX || kv_key_cmp(begin, blen, end, elen) >= 0)
        return -EINVAL;
    return kv_batch_add(b, MS_KV_DELETE_RANGE, cf, begin, blen, end, elen);
}

const uint8_t *ms_kv_batch_key(const struct ms_kv_batch *b, size_t i)
{
    MS_ASSERT(b != NULL && i < b->count);
    MS_ASSERT(b->entries[i].key_off + b->entries[i].key_len <= b->arena_len);
    return b->arena + b->entries[i].key_off;
}

const uint8_t *ms_kv_batch_val(const struct ms_kv_batch *b, size_t i)
{
    MS_ASSERT(b != NULL && i < b->count);
    MS_ASSERT(b->entries[i].val_off + b->entries[i].val_len <= b->arena_len);
    return b->arena + b->entries[i].val_off;
}

/* ---- the store --------------------------------------------------------------------------- */

int ms_kv_cf_index(const struct ms_kv *kv, const char *name)
{
    MS_ASSERT(kv != NULL && kv->cf_names != NULL);
    MS_ASSERT(name != NULL);
    for (unsigned i = 0; i < kv->cf_count; i++)
        if (strcmp(kv->cf_names[i], name) == 0)
            return (int)i;
    return -EINVAL;
}

bool ms_kv_cf_names_are_valid(const char *const *names, size_t n)
{
    if (names == NULL || n == 0 || n > MS_KV_CF_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (names[i] == NULL || names[i][0] == '\0' || strlen(names[i]) > 255)
            return false;
        for (size_t j = 0; j < i; j++)
            if (strcmp(names[i], names[j]) == 0)
                return false;
    }
    return true;
}

static bool kv_key_ok(const struct ms_kv *kv, unsigned cf, const void *key, size_t klen)
{
    return cf < kv->cf_count && key != NULL && klen >= 1 && klen <= MS_KV_KEY_MAX;
}

int ms_kv_get(struct ms_kv *kv, unsigned cf, const void *key, size_t klen, void **val,
              size_t *vlen)
{
    MS_ASSERT(kv != NULL);
    MS_ASSERT(val != NULL && vlen != NULL);
    if (!kv_key_ok(kv, cf, key, klen))
        return -EINVAL;
    return kv->ops->get(kv, cf, key, klen, val, vlen);
}

int ms_kv_write(struct ms_kv *kv, const struct ms_kv_batch *b, bool sync)
{
    MS_ASSERT(kv != NULL);
    MS_ASSERT(b != NULL && b->count <= b->cap);
    for (size_t i = 0; i < b->count; i++)
        if (b->entries[i].cf >= kv->cf_count)
            return -EINVAL;
    return kv->ops->write(kv, b, sync);
}

/* A one-entry batch on the stack, built without allocation. */
static int kv_write_one(struct ms_kv *kv, enum ms_kv_op op, unsigned cf, const void *key,
                        size_t klen, const void *val, size_t vlen, bool sync)
{
    MS_ASSERT(kv != NULL);
    MS_ASSERT(val != NULL || vlen == 0);
    if (!kv_key_ok(kv, cf, key, klen) || vlen > MS_KV_VALUE_MAX)
        return -EINVAL;
    /* A heap batch: one small allocation next to a store write is noise, and the backends
     * then see one kind of batch only. */
    struct ms_kv_batch b;
    ms_kv_batch_init(&b);
    int rc = kv_batch_add(&b, op, cf, key, klen, val, vlen);
    if (rc == 0)
        rc = ms_kv_write(kv, &b, sync);
    ms_kv_batch_fini(&b);
    return rc;
}

int ms_kv_put(struct ms_kv *kv, unsigned cf, const void *key, size_t klen, const void *val,
              size_t vlen, bool sync)
{
    return kv_write_one(kv, MS_KV_PUT, cf, key, klen, val, vlen, sync);
}

int ms_kv_delete(struct ms_kv *kv, unsigned cf, const void *key, size_t klen, bool sync)
{
    return kv_write_one(kv, MS_KV_DELETE, cf, key, klen, NULL, 0, sync);
}

int ms_kv_compact_range(struct ms_kv *kv, unsigned cf, const void *begin, size_t blen,
                        const void *end, size_t elen)
{
    MS_ASSERT(kv != NULL);
    MS_ASSERT(begin != NULL || blen == 0);
    MS_ASSERT(end != NULL || elen == 0);
    if (cf >= kv->cf_count)
        return -EINVAL;
    return kv->ops->compact_range(kv, cf, begin, blen, end, elen);
}

void ms_kv_close(struct ms_kv *kv)
{
    if (kv == NULL)
        return;
    MS_ASSERT(kv->ops != NULL && kv->ops->close != NULL);
    kv->ops->close(kv);
}

/* ---- iterators --------------------------------------------------------------------------- */

int ms_kv_iter_create(struct ms_kv *kv, unsigned cf, const void *lower, size_t llen,
                      const void *upper, size_t ulen, struct ms_kv_iter **out)
{
    MS_ASSERT(kv != NULL);
    MS_ASSERT(out != NULL);
    if (cf >= kv->cf_count || llen > MS_KV_KEY_MAX || ulen > MS_KV_KEY_MAX)
        return -EINVAL;
    if (lower == NULL)
        llen = 0;
    if (upper == NULL)
        ulen = 0;
    return kv->ops->iter_create(kv, cf, llen ? lower : NULL, llen, ulen ? upper : NULL, ulen,
                                out);
}

int ms_kv_iter_create_prefix(struct ms_kv *kv, unsigned cf, const void *prefix, size_t plen,
                             struct ms_kv_iter **out)
{
    MS_ASSERT(prefix != NULL);
    MS_ASSERT(out != NULL);
    if (plen == 0 || plen > MS_KV_KEY_MAX)
        return -EINVAL;
    /* Upper bound = the prefix with trailing 0xff bytes dropped and the last byte + 1; a prefix
     * of only 0xff bytes has no upper bound. */
    uint8_t upper[MS_KV_KEY_MAX];
    size_t ulen = plen;
    memcpy(upper, prefix, plen);
    while (ulen > 0 && upper[ulen - 1] == 0xff)
        ulen--;
    if (ulen > 0)
        upper[ulen - 1]++;
    return ms_kv_iter_create(kv, cf, prefix, plen, ulen ? upper : NULL, ulen, out);
}

void ms_kv_iter_seek(struct ms_kv_iter *it, const void *key, size_t klen)
{
    MS_ASSERT(it != NULL);
    MS_ASSERT(key != NULL || klen == 0);
    it->ops->seek(it, key, klen);
}

void ms_kv_iter_seek_to_first(struct ms_kv_iter *it)
{
    MS_ASSERT(it != NULL);
    it->ops->seek_to_first(it);
}

bool ms_kv_iter_valid(const struct ms_kv_iter *it)
{
    MS_ASSERT(it != NULL);
    return it->ops->valid(it);
}

void ms_kv_iter_next(struct ms_kv_iter *it)
{
    MS_ASSERT(it != NULL);
    MS_ASSERT(it->ops->valid(it));
    it->ops->next(it);
}

const void *ms_kv_iter_key(const struct ms_kv_iter *it, size_t *klen)
{
    MS_ASSERT(it != NULL && klen != NULL);
    MS_ASSERT(it->ops->valid(it));
    return it->ops->key(it, klen);
}

const void *ms_kv_iter_value(const struct ms_kv_iter *it, size_t *vlen)
{
    MS_ASSERT(it != NULL && vlen != NULL);
    MS_ASSERT(it->ops->valid(it));
    return it->ops->value(it, vlen);
}

int ms_kv_iter_status(const struct ms_kv_iter *it)
{
    MS_ASSERT(it != NULL);
    return it->ops->status(it);
}

void ms_kv_iter_destroy(struct ms_kv_iter *it)
{
    if (it == NULL)
        return;
    MS_ASSERT(it->ops != NULL);
    it->ops->destroy(it);
}
