/*
 * kv_mem.c - the kv port's memory fake: sorted arrays per column family, with a durability
 * model for crash tests.
 *
 * A store (the fake's "disk") holds the column families; kv handles opened on it map their
 * cf indices to the store's families by name, so a test can crash the store, drop the code
 * under test and reopen on the same store. Each entry is a refcounted node {key, value}: the
 * family's sorted array holds one reference, each undo record holding it one more, and each
 * iterator snapshot one per node it saw, so snapshots are a pointer copy, not a data copy.
 *
 * Durability model (RocksDB's WAL semantics): a write is visible at once. A batch written with
 * sync = false is "unsynced": it is kept as an undo record (the nodes it replaced or removed,
 * the keys it inserted). A sync write, or ms_kv_mem_sync(), makes every earlier batch durable
 * and drops the undo records. ms_kv_mem_crash_keep(keep) rolls back the unsynced batches
 * newest first down to the oldest `keep`, each as a whole, so every state a crash of the
 * real store could leave is reachable.
 *
 * Invariants (kvm_check): each family's array is strictly increasing in key order; count <=
 * cap; rolling back never needs memory (an array's cap never shrinks, so it still has room
 * for the count it had before the batch), so a crash cannot fail. A batch that runs out of
 * memory half way is rolled back before the call returns: all or nothing.
 *
 * Thread safety: one mutex per store guards everything; node refcounts are atomic so an
 * iterator can be destroyed without the lock. Refuses: keys/values over the kv.h caps.
 */
#include "common/kv.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "common/ms_assert.h"

struct kvm_node {
    atomic_uint refs;
    size_t klen;
    size_t vlen;
    uint8_t data[]; /* key, then value */
};

struct kvm_cf {
    char *name;
    struct kvm_node **v; /* sorted by key */
    size_t count;
    size_t cap;
};

/* Undo of one mutation: put back `old` (NULL: the key was absent) under key. */
struct kvm_undo {
    unsigned cf; /* store family index */
    struct kvm_node *old;
    uint8_t *key; /* own copy when old == NULL, else old's key */
    size_t klen;
};

/* Undo records of one unsynced batch. */
struct kvm_batch_undo {
    struct kvm_undo *u;
    size_t count;
    size_t cap;
};

struct ms_kv_mem_store {
    pthread_mutex_t mu;
    struct kvm_cf cfs[MS_KV_CF_MAX];
    unsigned ncf;
    struct kvm_batch_undo *log; /* unsynced batches, oldest first */
    size_t log_count;
    size_t log_cap;
    uint64_t writes;  /* write calls so far */
    uint64_t fail_at; /* fail the write whose number this is; 0 = none */
    int fail_err;
    unsigned handles; /* open kv handles */
};

struct kvm {
    struct ms_kv base; /* first: kvm_of() casts */
    struct ms_kv_mem_store *store;
    bool private_store;
    unsigned map[MS_KV_CF_MAX]; /* handle cf -> store family */
    const char *names[MS_KV_CF_MAX];
};

struct kvm_iter {
    struct ms_kv_iter base; /* first */
    struct kvm_node **v;
    size_t count;
    size_t pos; /* == count: not valid */
};

static const struct ms_kv_ops kvm_ops;
static const struct ms_kv_iter_ops kvm_iter_ops;

static struct kvm *kvm_of(const struct ms_kv *kv)
{
    MS_ASSERT(kv != NULL);
    MS_ASSERT(kv->ops == &kvm_ops);
    return (struct kvm *)kv;
}

/* ---- nodes ------------------------------------------------------------------------------- */

static struct kvm_node *kvm_node_new(const void *key, size_t klen, const void *val, size_t vlen)
{
    MS_ASSERT(klen >= 1 && klen <= MS_KV_KEY_MAX);
    MS_ASSERT(vlen <= MS_KV_VALUE_MAX);
    struct kvm_node *n = malloc(sizeof(*n) + klen + vlen);
    if (n == NULL)
        return NULL;
    atomic_init(&n->refs, 1);
    n->klen = klen;
    n->vlen = vlen;
    memcpy(n->data, key, klen);
    if (vlen > 0)
        memcpy(n->data + klen, val, vlen);
    return n;
}

static struct kvm_node *kvm_node_ref(struct kvm_node *n)
{
    unsigned before = atomic_fetch_add(&n->refs, 1);
    MS_ASSERT(before >= 1);
    return n;
}

static void kvm_node_unref(struct kvm_node *n)
{
    if (n == NULL)
        return;
    unsigned before = atomic_fetch_sub(&n->refs, 1);
    MS_ASSERT(before >= 1);
    if (before == 1) {
        sodium_memzero(n->data, n->klen + n->vlen);
        free(n);
    }
}

static int kvm_cmp(const void *a, size_t alen, const void *b, size_t blen)
{
    size_t n = alen < blen ? alen : blen;
    int c = n ? memcmp(a, b, n) : 0;
    if (c != 0)
        return c;
    return alen < blen ? -1 : (alen > blen ? 1 : 0);
}

/* Index of the first node >= key in v[0..count). */
static size_t kvm_lower_bound(struct kvm_node *const *v, size_t count, const void *key,
                              size_t klen)
{
    size_t lo = 0;
    size_t hi = count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (kvm_cmp(v[mid]->data, v[mid]->klen, key, klen) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    MS_ASSERT(lo <= count);
    return lo;
}

static bool kvm_found(const struct kvm_cf *cf, size_t i, const void *key, size_t klen)
{
    return i < cf->count && kvm_cmp(cf->v[i]->data, cf->v[i]->klen, key, klen) == 0;
}

static void kvm_check(const struct ms_kv_mem_store *s)
{
#if defined(MS_DEBUG) && MS_DEBUG
    for (unsigned c = 0; c < s->ncf; c++) {
        const struct kvm_cf *cf = &s->cfs[c];
        MS_ASSERT(cf->count <= cf->cap);
        for (size_t i = 1; i < cf->count && cf->count < 4096; i++)
            MS_ASSERT(kvm_cmp(cf->v[i - 1]->data, cf->v[i - 1]->klen, cf->v[i]->data,
                              cf->v[i]->klen) < 0);
    }
#else
    (void)s;
#endif
}

/* ---- undo log ---------------------------------------------------------------------------- */

/* Records that key in family cf held old (ref taken over by the record) before a change.
 * Returns 0 or -ENOMEM (then old's reference is still the caller's). */
static int kvm_undo_add(struct kvm_batch_undo *bu, unsigned cf, struct kvm_node *old,
                        const void *key, size_t klen)
{
    MS_ASSERT(bu != NULL);
    MS_ASSERT(old != NULL || key != NULL);
    if (bu->count == bu->cap) {
        size_t cap = bu->cap ? bu->cap * 2 : 8;
        struct kvm_undo *u = realloc(bu->u, cap * sizeof(*u));
        if (u == NULL)
            return -ENOMEM;
        bu->u = u;
        bu->cap = cap;
    }
    struct kvm_undo *u = &bu->u[bu->count];
    if (old != NULL) {
        *u = (struct kvm_undo){.cf = cf, .old = old, .key = old->data, .klen = old->klen};
    } else {
        MS_ASSERT(key != NULL);
        uint8_t *k = malloc(klen);
        if (k == NULL)
            return -ENOMEM;
        memcpy(k, key, klen);
        *u = (struct kvm_undo){.cf = cf, .old = NULL, .key = k, .klen = klen};
    }
    bu->count++;
    return 0;
}

static void kvm_undo_free(struct kvm_batch_undo *bu)
{
    for (size_t i = 0; i < bu->count; i++) {
        if (bu->u[i].old != NULL)
            kvm_node_unref(bu->u[i].old);
        else
            free(bu->u[i].key);
    }
    free(bu->u);
    memset(bu, 0, sizeof(*bu));
}

/* Applies the undo records of bu newest first. Never allocates (see the invariants). */
static void kvm_undo_apply(struct ms_kv_mem_store *s, struct kvm_batch_undo *bu)
{
    for (size_t i = bu->count; i-- > 0;) {
        struct kvm_undo *u = &bu->u[i];
        struct kvm_cf *cf = &s->cfs[u->cf];
        size_t at = kvm_lower_bound(cf->v, cf->count, u->key, u->klen);
        bool found = kvm_found(cf, at, u->key, u->klen);
        if (u->old == NULL) {
            MS_ASSERT(found);
            kvm_node_unref(cf->v[at]);
            memmove(&cf->v[at], &cf->v[at + 1], (cf->count - at - 1) * sizeof(cf->v[0]));
            cf->count--;
        } else if (found) {
            kvm_node_unref(cf->v[at]);
            cf->v[at] = kvm_node_ref(u->old);
        } else {
            MS_ASSERT(cf->count < cf->cap);
            memmove(&cf->v[at + 1], &cf->v[at], (cf->count - at) * sizeof(cf->v[0]));
            cf->v[at] = kvm_node_ref(u->old);
            cf->count++;
        }
    }
    kvm_undo_free(bu);
}

/* Drops every undo record: all writes so far are durable. */
static void kvm_log_clear(struct ms_kv_mem_store *s)
{
    for (size_t i = 0; i < s->log_count; i++)
        kvm_undo_free(&s->log[i]);
    s->log_count = 0;
}

/* ---- mutations --------------------------------------------------------------------------- */

static int kvm_put(struct ms_kv_mem_store *s, struct kvm_batch_undo *bu, unsigned c,
                   const void *key, size_t klen, const void *val, size_t vlen)
{
    MS_ASSERT(c < s->ncf);
    struct kvm_cf *cf = &s->cfs[c];
    size_t at = kvm_lower_bound(cf->v, cf->count, key, klen);
    bool found = kvm_found(cf, at, key, klen);
    if (!found && cf->count == cf->cap) {
        size_t cap = cf->cap ? cf->cap * 2 : 16;
        struct kvm_node **v = realloc(cf->v, cap * sizeof(*v));
        if (v == NULL)
            return -ENOMEM;
        cf->v = v;
        cf->cap = cap;
    }
    struct kvm_node *n = kvm_node_new(key, klen, val, vlen);
    if (n == NULL)
        return -ENOMEM;
    int rc = kvm_undo_add(bu, c, found ? cf->v[at] : NULL, key, klen);
    if (rc != 0) {
        kvm_node_unref(n);
        return rc;
    }
    if (found) {
        cf->v[at] = n; /* the old node's reference moved to the undo record */
    } else {
        memmove(&cf->v[at + 1], &cf->v[at], (cf->count - at) * sizeof(cf->v[0]));
        cf->v[at] = n;
        cf->count++;
    }
    MS_ASSERT(cf->count <= cf->cap);
    return 0;
}

/* Removes v[lo..hi) of family c, moving their references into undo records. */
static int kvm_remove(struct ms_kv_mem_store *s, struct kvm_batch_undo *bu, unsigned c,
                      size_t lo, size_t hi)
{
    MS_ASSERT(c < s->ncf);
    struct kvm_cf *cf = &s->cfs[c];
    MS_ASSERT(lo <= hi && hi <= cf->count);
    size_t done = lo;
    int rc = 0;
    for (; done < hi; done++) {
        rc = kvm_undo_add(bu, c, cf->v[done], NULL, 0);
        if (rc != 0)
            break;
    }
    /* Entries [lo, done) now belong to undo records; a failure leaves [done, hi) in place and
     * the caller rolls back the whole batch. */
    memmove(&cf->v[lo], &cf->v[done], (cf->count - done) * sizeof(cf->v[0]));
    cf->count -= done - lo;
    MS_ASSERT(rc != 0 || done == hi);
    return rc;
}

static int kvm_apply(struct ms_kv_mem_store *s, const struct kvm *h, const struct ms_kv_batch *b,
                     struct kvm_batch_undo *bu)
{
    MS_ASSERT(b != NULL && bu != NULL);
    MS_ASSERT(bu->count == 0);
    int rc = 0;
    for (size_t i = 0; i < b->count && rc == 0; i++) {
        const struct ms_kv_batch_entry *e = &b->entries[i];
        unsigned c = h->map[e->cf];
        struct kvm_cf *cf = &s->cfs[c];
        const uint8_t *key = ms_kv_batch_key(b, i);
        const uint8_t *val = ms_kv_batch_val(b, i);
        size_t lo = kvm_lower_bound(cf->v, cf->count, key, e->key_len);
        switch (e->op) {
        case MS_KV_PUT:
            rc = kvm_put(s, bu, c, key, e->key_len, val, e->val_len);
            break;
        case MS_KV_DELETE:
            if (kvm_found(cf, lo, key, e->key_len))
                rc = kvm_remove(s, bu, c, lo, lo + 1);
            break;
        case MS_KV_DELETE_RANGE:
            rc = kvm_remove(s, bu, c, lo, kvm_lower_bound(cf->v, cf->count, val, e->val_len));
            break;
        default:
            MS_ASSERT(!"unknown batch op");
        }
    }
    return rc;
}

static int kvm_write(struct ms_kv *kv, const struct ms_kv_batch *b, bool sync)
{
    struct kvm *h = kvm_of(kv);
    struct ms_kv_mem_store *s = h->store;
    MS_ASSERT(b != NULL);
    pthread_mutex_lock(&s->mu);
    int rc = 0;
    size_t log_before = s->log_count;
    s->writes++;
    if (s->fail_at != 0 && s->writes == s->fail_at) {
        s->fail_at = 0;
        rc = s->fail_err;
    }
    if (rc == 0 && s->log_count == s->log_cap) {
        size_t cap = s->log_cap ? s->log_cap * 2 : 16;
        struct kvm_batch_undo *log = realloc(s->log, cap * sizeof(*log));
        if (log == NULL)
            rc = -ENOMEM;
        else {
            s->log = log;
            s->log_cap = cap;
        }
    }
    if (rc == 0) {
        struct kvm_batch_undo bu = {0};
        rc = kvm_apply(s, h, b, &bu);
        if (rc != 0)
            kvm_undo_apply(s, &bu); /* all or nothing */
        else
            s->log[s->log_count++] = bu;
        if (rc == 0 && sync)
            kvm_log_clear(s);
    }
    MS_ASSERT(rc != 0 ? s->log_count == log_before : s->log_count <= log_before + 1);
    kvm_check(s);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

/* ---- reads ------------------------------------------------------------------------------- */

static int kvm_get(struct ms_kv *kv, unsigned cf, const void *key, size_t klen, void **val,
                   size_t *vlen)
{
    struct kvm *h = kvm_of(kv);
    struct ms_kv_mem_store *s = h->store;
    MS_ASSERT(cf < h->base.cf_count);
    pthread_mutex_lock(&s->mu);
    struct kvm_cf *c = &s->cfs[h->map[cf]];
    size_t at = kvm_lower_bound(c->v, c->count, key, klen);
    int rc = -MEDSTORE_ENOTFOUND;
    if (kvm_found(c, at, key, klen)) {
        struct kvm_node *n = c->v[at];
        uint8_t *copy = malloc(n->vlen ? n->vlen : 1);
        if (copy == NULL) {
            rc = -ENOMEM;
        } else {
            if (n->vlen > 0)
                memcpy(copy, n->data + n->klen, n->vlen);
            *val = copy;
            *vlen = n->vlen;
            rc = 0;
            MS_ASSERT(n->klen == klen);
        }
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

static int kvm_iter_create(struct ms_kv *kv, unsigned cf, const void *lower, size_t llen,
                           const void *upper, size_t ulen, struct ms_kv_iter **out)
{
    struct kvm *h = kvm_of(kv);
    struct ms_kv_mem_store *s = h->store;
    MS_ASSERT(cf < h->base.cf_count);
    struct kvm_iter *it = calloc(1, sizeof(*it));
    if (it == NULL)
        return -ENOMEM;
    it->base.ops = &kvm_iter_ops;
    pthread_mutex_lock(&s->mu);
    struct kvm_cf *c = &s->cfs[h->map[cf]];
    size_t lo = lower ? kvm_lower_bound(c->v, c->count, lower, llen) : 0;
    size_t hi = upper ? kvm_lower_bound(c->v, c->count, upper, ulen) : c->count;
    if (hi < lo)
        hi = lo;
    it->count = hi - lo;
    it->v = malloc((it->count ? it->count : 1) * sizeof(*it->v));
    if (it->v != NULL)
        for (size_t i = 0; i < it->count; i++)
            it->v[i] = kvm_node_ref(c->v[lo + i]);
    pthread_mutex_unlock(&s->mu);
    if (it->v == NULL) {
        free(it);
        return -ENOMEM;
    }
    it->pos = it->count;
    MS_ASSERT(it->pos == it->count); /* unpositioned */
    *out = &it->base;
    return 0;
}

static int kvm_compact_range(struct ms_kv *kv, unsigned cf, const void *begin, size_t blen,
                             const void *end, size_t elen)
{
    (void)begin, (void)blen, (void)end, (void)elen;
    MS_ASSERT(cf < kvm_of(kv)->base.cf_count);
    return 0; /* nothing is kept after a delete in memory */
}

/* ---- iterator ---------------------------------------------------------------------------- */

static struct kvm_iter *kvm_iter_of(const struct ms_kv_iter *it)
{
    MS_ASSERT(it != NULL && it->ops == &kvm_iter_ops);
    return (struct kvm_iter *)it;
}

static void kvm_iter_seek(struct ms_kv_iter *base, const void *key, size_t klen)
{
    struct kvm_iter *it = kvm_iter_of(base);
    it->pos = klen ? kvm_lower_bound(it->v, it->count, key, klen) : 0;
}

static void kvm_iter_seek_to_first(struct ms_kv_iter *base)
{
    kvm_iter_of(base)->pos = 0;
}

static bool kvm_iter_valid(const struct ms_kv_iter *base)
{
    const struct kvm_iter *it = kvm_iter_of(base);
    return it->pos < it->count;
}

static void kvm_iter_next(struct ms_kv_iter *base)
{
    struct kvm_iter *it = kvm_iter_of(base);
    MS_ASSERT(it->pos < it->count);
    it->pos++;
}

static const void *kvm_iter_key(const struct ms_kv_iter *base, size_t *klen)
{
    const struct kvm_iter *it = kvm_iter_of(base);
    MS_ASSERT(it->pos < it->count);
    *klen = it->v[it->pos]->klen;
    return it->v[it->pos]->data;
}

static const void *kvm_iter_value(const struct ms_kv_iter *base, size_t *vlen)
{
    const struct kvm_iter *it = kvm_iter_of(base);
    MS_ASSERT(it->pos < it->count);
    *vlen = it->v[it->pos]->vlen;
    return it->v[it->pos]->data + it->v[it->pos]->klen;
}

static int kvm_iter_status(const struct ms_kv_iter *base)
{
    (void)kvm_iter_of(base);
    return 0;
}

static void kvm_iter_destroy(struct ms_kv_iter *base)
{
    struct kvm_iter *it = kvm_iter_of(base);
    for (size_t i = 0; i < it->count; i++)
        kvm_node_unref(it->v[i]);
    free(it->v);
    free(it);
}

static const struct ms_kv_iter_ops kvm_iter_ops = {
    .seek = kvm_iter_seek,
    .seek_to_first = kvm_iter_seek_to_first,
    .valid = kvm_iter_valid,
    .next = kvm_iter_next,
    .key = kvm_iter_key,
    .value = kvm_iter_value,
    .status = kvm_iter_status,
    .destroy = kvm_iter_destroy,
};

/* ---- store and handles ------------------------------------------------------------------- */

int ms_kv_mem_store_create(struct ms_kv_mem_store **out)
{
    MS_ASSERT(out != NULL);
    struct ms_kv_mem_store *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return -ENOMEM;
    if (pthread_mutex_init(&s->mu, NULL) != 0) {
        free(s);
        return -ENOMEM;
    }
    MS_ASSERT(s->ncf == 0 && s->handles == 0);
    *out = s;
    return 0;
}

void ms_kv_mem_store_destroy(struct ms_kv_mem_store *s)
{
    if (s == NULL)
        return;
    MS_ASSERT(s->handles == 0);
    MS_ASSERT(s->ncf <= MS_KV_CF_MAX);
    kvm_log_clear(s);
    free(s->log);
    for (unsigned c = 0; c < s->ncf; c++) {
        for (size_t i = 0; i < s->cfs[c].count; i++)
            kvm_node_unref(s->cfs[c].v[i]);
        free(s->cfs[c].v);
        free(s->cfs[c].name);
    }
    pthread_mutex_destroy(&s->mu);
    free(s);
}

/* Index of family name in s, created when missing. Returns the index or -ENOMEM/-EINVAL. */
static int kvm_store_cf(struct ms_kv_mem_store *s, const char *name)
{
    for (unsigned c = 0; c < s->ncf; c++)
        if (strcmp(s->cfs[c].name, name) == 0)
            return (int)c;
    if (s->ncf == MS_KV_CF_MAX)
        return -EINVAL;
    char *copy = strdup(name);
    if (copy == NULL)
        return -ENOMEM;
    s->cfs[s->ncf] = (struct kvm_cf){.name = copy};
    return (int)s->ncf++;
}

int ms_kv_mem_open(struct ms_kv_mem_store *store, const char *const *cf_names, size_t cf_count,
                   struct ms_kv **out)
{
    MS_ASSERT(out != NULL);
    if (!ms_kv_cf_names_are_valid(cf_names, cf_count))
        return -EINVAL;
    MS_ASSERT(cf_count <= MS_KV_CF_MAX);
    struct kvm *h = calloc(1, sizeof(*h));
    if (h == NULL)
        return -ENOMEM;
    int rc = 0;
    if (store == NULL) {
        rc = ms_kv_mem_store_create(&store);
        h->private_store = true;
    }
    h->store = store;
    if (rc == 0) {
        pthread_mutex_lock(&store->mu);
        for (size_t i = 0; i < cf_count && rc == 0; i++) {
            int c = kvm_store_cf(store, cf_names[i]);
            if (c < 0)
                rc = c;
            else {
                h->map[i] = (unsigned)c;
                h->names[i] = store->cfs[c].name;
            }
        }
        if (rc == 0)
            store->handles++;
        pthread_mutex_unlock(&store->mu);
    }
    if (rc != 0) {
        if (h->private_store)
            ms_kv_mem_store_destroy(h->store);
        free(h);
        return rc;
    }
    h->base = (struct ms_kv){.ops = &kvm_ops, .cf_count = (unsigned)cf_count,
                             .cf_names = h->names};
    *out = &h->base;
    return 0;
}

static void kvm_close(struct ms_kv *kv)
{
    struct kvm *h = kvm_of(kv);
    struct ms_kv_mem_store *s = h->store;
    pthread_mutex_lock(&s->mu);
    MS_ASSERT(s->handles >= 1);
    s->handles--;
    pthread_mutex_unlock(&s->mu);
    if (h->private_store)
        ms_kv_mem_store_destroy(s);
    free(h);
}

static const struct ms_kv_ops kvm_ops = {
    .name = "mem",
    .get = kvm_get,
    .write = kvm_write,
    .iter_create = kvm_iter_create,
    .compact_range = kvm_compact_range,
    .close = kvm_close,
};

bool ms_kv_is_mem(const struct ms_kv *kv)
{
    return kv != NULL && kv->ops == &kvm_ops;
}

/* ---- test controls ----------------------------------------------------------------------- */

void ms_kv_mem_sync(struct ms_kv *kv)
{
    struct ms_kv_mem_store *s = kvm_of(kv)->store;
    pthread_mutex_lock(&s->mu);
    kvm_log_clear(s);
    MS_ASSERT(s->log_count == 0);
    pthread_mutex_unlock(&s->mu);
}

void ms_kv_mem_crash_keep(struct ms_kv *kv, size_t keep)
{
    struct ms_kv_mem_store *s = kvm_of(kv)->store;
    pthread_mutex_lock(&s->mu);
    while (s->log_count > keep)
        kvm_undo_apply(s, &s->log[--s->log_count]);
    /* What survived a crash was replayed from the log at "reopen": it is durable now. */
    kvm_log_clear(s);
    kvm_check(s);
    pthread_mutex_unlock(&s->mu);
}

void ms_kv_mem_crash(struct ms_kv *kv)
{
    ms_kv_mem_crash_keep(kv, 0);
}

size_t ms_kv_mem_unsynced(const struct ms_kv *kv)
{
    struct ms_kv_mem_store *s = kvm_of(kv)->store;
    pthread_mutex_lock(&s->mu);
    size_t n = s->log_count;
    pthread_mutex_unlock(&s->mu);
    return n;
}

void ms_kv_mem_fail_nth_write(struct ms_kv *kv, uint64_t nth, int err)
{
    struct ms_kv_mem_store *s = kvm_of(kv)->store;
    MS_ASSERT(nth == 0 || err < 0);
    pthread_mutex_lock(&s->mu);
    s->fail_at = nth ? s->writes + nth : 0;
    s->fail_err = err;
    pthread_mutex_unlock(&s->mu);
}

uint64_t ms_kv_mem_writes(const struct ms_kv *kv)
{
    struct ms_kv_mem_store *s = kvm_of(kv)->store;
    pthread_mutex_lock(&s->mu);
    uint64_t n = s->writes;
    pthread_mutex_unlock(&s->mu);
    return n;
}
