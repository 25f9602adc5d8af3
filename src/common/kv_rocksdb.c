/*
 * kv_rocksdb.c - the kv port on RocksDB's C API (rocksdb/c.h, RocksDB 7.8).
 *
 * One rocksdb_t per handle with one column-family handle per name given at open; families
 * the store already has but the caller did not name are opened too (RocksDB refuses to open
 * otherwise) and closed with the store. Writes are WriteBatches: sync = true uses write
 * options with sync set, so the WAL is fsynced before the call returns and every earlier
 * write with it; an empty sync batch flushes and syncs the WAL explicitly. Reads copy the
 * value out of a pinnable slice (so "absent" and "empty" differ). Iterators read a snapshot
 * (RocksDB's implicit one, taken at creation) and carry their own copies of the bounds,
 * which RocksDB only borrows.
 *
 * Options for a small-memory node: one shared LRU block cache (16 MiB default) with index
 * and filter blocks charged to it, 4 MiB memtables (2 per family), 2 background jobs, a
 * capped info log, and no block compression (values are ciphertext or hashes: compressing
 * costs CPU and saves nothing).
 *
 * Error mapping: the status text's prefix names the kind ("IO error: No space left" ->
 * -ENOSPC, "IO error" -> -EIO, "Corruption" -> -MEDSTORE_ECORRUPT, "Invalid argument" ->
 * -EINVAL, "Not implemented" -> -ENOTSUP, lock held -> -EBUSY, else -EIO). The message is
 * logged once per kind per handle (it holds paths, never keys or values: none are ever
 * formatted into it by us). Thread safety: as RocksDB, every call may run concurrently;
 * an iterator is used by one thread.
 */
#include "common/kv_rocksdb.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <rocksdb/c.h>

#include "common/log.h"
#include "common/ms_assert.h"

#define KVR_CF_TOTAL_MAX 64 /* families in one store, named or not */

struct kvr {
    struct ms_kv base; /* first: kvr_of() casts */
    rocksdb_t *db;
    rocksdb_options_t *opts;
    rocksdb_block_based_table_options_t *table;
    rocksdb_cache_t *cache;
    rocksdb_writeoptions_t *wo_sync;
    rocksdb_writeoptions_t *wo_async;
    rocksdb_readoptions_t *ro;
    rocksdb_column_family_handle_t *cf[KVR_CF_TOTAL_MAX]; /* named ones first */
    unsigned ncf_total;
    char *names[KVR_CF_TOTAL_MAX];
    atomic_uint logged; /* bit per error kind already logged */
};

struct kvr_iter {
    struct ms_kv_iter base; /* first */
    rocksdb_iterator_t *it;
    rocksdb_readoptions_t *ro;
    uint8_t *lower; /* bounds, owned (RocksDB borrows them) */
    size_t llen;
    uint8_t *upper;
    size_t ulen;
};

static const struct ms_kv_ops kvr_ops;
static const struct ms_kv_iter_ops kvr_iter_ops;

static struct kvr *kvr_of(const struct ms_kv *kv)
{
    MS_ASSERT(kv != NULL && kv->ops == &kvr_ops);
    return (struct kvr *)kv;
}

/* ---- errors ------------------------------------------------------------------------------ */

static bool kvr_prefix(const char *msg, const char *p)
{
    return strncmp(msg, p, strlen(p)) == 0;
}

/* Maps a RocksDB status text to a code. */
static int kvr_code(const char *msg)
{
    if (kvr_prefix(msg, "IO error") && strstr(msg, "No space left") != NULL)
        return -ENOSPC;
    if (kvr_prefix(msg, "IO error") && strstr(msg, "lock") != NULL)
        return -EBUSY;
    if (kvr_prefix(msg, "Corruption"))
        return -MEDSTORE_ECORRUPT;
    if (kvr_prefix(msg, "Invalid argument"))
        return -EINVAL;
    if (kvr_prefix(msg, "Not implemented"))
        return -ENOTSUP;
    return -EIO;
}

/* Maps and frees *err (set by a RocksDB call), logging the first of each kind. h may be NULL
 * (at open, before the handle exists: then it is always logged). */
static int kvr_fail(struct kvr *h, char *err, const char *what)
{
    MS_ASSERT(err != NULL);
    int code = kvr_code(err);
    unsigned bit = 1u << ((unsigned)(-code) % 31u);
    bool first = h == NULL || !(atomic_fetch_or(&h->logged, bit) & bit);
    if (first)
        ms_log(MS_LOG_ERROR, "kv", "event=rocksdb_error op=%s code=%s msg=\"%.200s\"", what,
               ms_err_name(code), err);
    rocksdb_free(err);
    MS_ASSERT(code < 0);
    return code;
}

/* ---- reads and writes -------------------------------------------------------------------- */

static int kvr_get(struct ms_kv *kv, unsigned cf, const void *key, size_t klen, void **val,
                   size_t *vlen)
{
    struct kvr *h = kvr_of(kv);
    MS_ASSERT(cf < h->base.cf_count);
    char *err = NULL;
    rocksdb_pinnableslice_t *ps = rocksdb_get_pinned_cf(h->db, h->ro, h->cf[cf], key, klen,
                                                        &err);
    if (err != NULL)
        return kvr_fail(h, err, "get");
    if (ps == NULL)
        return -MEDSTORE_ENOTFOUND;
    size_t n = 0;
    const char *p = rocksdb_pinnableslice_value(ps, &n);
    void *copy = malloc(n ? n : 1);
    if (copy == NULL) {
        rocksdb_pinnableslice_destroy(ps);
        return -ENOMEM;
    }
    if (n > 0)
        memcpy(copy, p, n);
    rocksdb_pinnableslice_destroy(ps);
    *val = copy;
    *vlen = n;
    MS_ASSERT(*val != NULL);
    return 0;
}

static int kvr_write(struct ms_kv *kv, const struct ms_kv_batch *b, bool sync)
{
    struct kvr *h = kvr_of(kv);
    MS_ASSERT(b != NULL);
    char *err = NULL;
    if (b->count == 0) {
        if (sync)
            rocksdb_flush_wal(h->db, 1, &err);
        return err != NULL ? kvr_fail(h, err, "flush_wal") : 0;
    }
    rocksdb_writebatch_t *wb = rocksdb_writebatch_create();
    if (wb == NULL)
        return -ENOMEM;
    for (size_t i = 0; i < b->count; i++) {
        const struct ms_kv_batch_entry *e = &b->entries[i];
        MS_ASSERT(e->cf < h->base.cf_count);
        const char *k = (const char *)ms_kv_batch_key(b, i);
        const char *v = (const char *)ms_kv_batch_val(b, i);
        if (e->op == MS_KV_PUT)
            rocksdb_writebatch_put_cf(wb, h->cf[e->cf], k, e->key_len, v, e->val_len);
        else if (e->op == MS_KV_DELETE)
            rocksdb_writebatch_delete_cf(wb, h->cf[e->cf], k, e->key_len);
        else
            rocksdb_writebatch_delete_range_cf(wb, h->cf[e->cf], k, e->key_len, v,
                                               e->val_len);
    }
    rocksdb_write(h->db, sync ? h->wo_sync : h->wo_async, wb, &err);
    rocksdb_writebatch_destroy(wb);
    return err != NULL ? kvr_fail(h, err, "write") : 0;
}

static int kvr_compact_range(struct ms_kv *kv, unsigned cf, const void *begin, size_t blen,
                             const void *end, size_t elen)
{
    struct kvr *h = kvr_of(kv);
    MS_ASSERT(cf < h->base.cf_count);
    rocksdb_compact_range_cf(h->db, h->cf[cf], begin, blen, end, elen);
    return 0; /* the C API reports no status for a manual compaction */
}

/* ---- iterators --------------------------------------------------------------------------- */

static struct kvr_iter *kvr_iter_of(const struct ms_kv_iter *it)
{
    MS_ASSERT(it != NULL && it->ops == &kvr_iter_ops);
    return (struct kvr_iter *)it;
}

static void kvr_iter_destroy(struct ms_kv_iter *base)
{
    struct kvr_iter *it = kvr_iter_of(base);
    if (it->it != NULL)
        rocksdb_iter_destroy(it->it);
    if (it->ro != NULL)
        rocksdb_readoptions_destroy(it->ro);
    free(it->lower);
    free(it->upper);
    free(it);
}

static uint8_t *kvr_dup(const void *p, size_t n)
{
    uint8_t *c = malloc(n ? n : 1);
    if (c != NULL && n > 0)
        memcpy(c, p, n);
    return c;
}

static int kvr_iter_create(struct ms_kv *kv, unsigned cf, const void *lower, size_t llen,
                           const void *upper, size_t ulen, struct ms_kv_iter **out)
{
    struct kvr *h = kvr_of(kv);
    MS_ASSERT(cf < h->base.cf_count);
    struct kvr_iter *it = calloc(1, sizeof(*it));
    if (it == NULL)
        return -ENOMEM;
    it->base.ops = &kvr_iter_ops;
    it->ro = rocksdb_readoptions_create();
    bool ok = it->ro != NULL;
    if (ok && lower != NULL) {
        it->lower = kvr_dup(lower, llen);
        it->llen = llen;
        ok = it->lower != NULL;
        if (ok)
            rocksdb_readoptions_set_iterate_lower_bound(it->ro, (char *)it->lower, llen);
    }
    if (ok && upper != NULL) {
        it->upper = kvr_dup(upper, ulen);
        it->ulen = ulen;
        ok = it->upper != NULL;
        if (ok)
            rocksdb_readoptions_set_iterate_upper_bound(it->ro, (char *)it->upper, ulen);
    }
    MS_ASSERT(!ok || (it->lower != NULL) == (lower != NULL));
    if (ok) {
        rocksdb_readoptions_set_fill_cache(it->ro, 0); /* scans must not evict hot blocks */
        it->it = rocksdb_create_iterator_cf(h->db, it->ro, h->cf[cf]);
        ok = it->it != NULL;
    }
    if (!ok) {
        kvr_iter_destroy(&it->base);
        return -ENOMEM;
    }
    *out = &it->base;
    return 0;
}

static int kvr_keycmp(const void *a, size_t alen, const void *b, size_t blen)
{
    size_t n = alen < blen ? alen : blen;
    int c = n ? memcmp(a, b, n) : 0;
    return c != 0 ? c : (alen < blen ? -1 : (alen > blen ? 1 : 0));
}

static void kvr_iter_seek(struct ms_kv_iter *base, const void *key, size_t klen)
{
    struct kvr_iter *it = kvr_iter_of(base);
    /* Clamp to the lower bound: RocksDB leaves a seek below it undefined. */
    if (it->lower != NULL && kvr_keycmp(key, klen, it->lower, it->llen) < 0) {
        key = it->lower;
        klen = it->llen;
    }
    rocksdb_iter_seek(it->it, key, klen);
}

static void kvr_iter_seek_to_first(struct ms_kv_iter *base)
{
    struct kvr_iter *it = kvr_iter_of(base);
    if (it->lower != NULL)
        rocksdb_iter_seek(it->it, (const char *)it->lower, it->llen);
    else
        rocksdb_iter_seek_to_first(it->it);
}

static bool kvr_iter_valid(const struct ms_kv_iter *base)
{
    return rocksdb_iter_valid(kvr_iter_of(base)->it) != 0;
}

static void kvr_iter_next(struct ms_kv_iter *base)
{
    rocksdb_iter_next(kvr_iter_of(base)->it);
}

static const void *kvr_iter_key(const struct ms_kv_iter *base, size_t *klen)
{
    return rocksdb_iter_key(kvr_iter_of(base)->it, klen);
}

static const void *kvr_iter_value(const struct ms_kv_iter *base, size_t *vlen)
{
    return rocksdb_iter_value(kvr_iter_of(base)->it, vlen);
}

static int kvr_iter_status(const struct ms_kv_iter *base)
{
    char *err = NULL;
    rocksdb_iter_get_error(kvr_iter_of(base)->it, &err);
    return err != NULL ? kvr_fail(NULL, err, "iterate") : 0;
}

static const struct ms_kv_iter_ops kvr_iter_ops = {
    .seek = kvr_iter_seek,
    .seek_to_first = kvr_iter_seek_to_first,
    .valid = kvr_iter_valid,
    .next = kvr_iter_next,
    .key = kvr_iter_key,
    .value = kvr_iter_value,
    .status = kvr_iter_status,
    .destroy = kvr_iter_destroy,
};

/* ---- open and close ---------------------------------------------------------------------- */

void ms_kv_rocksdb_opts_default(struct ms_kv_rocksdb_opts *o)
{
    MS_ASSERT(o != NULL);
    *o = (struct ms_kv_rocksdb_opts){
        .block_cache_bytes = MS_KV_ROCKSDB_CACHE_DEFAULT,
        .write_buffer_bytes = MS_KV_ROCKSDB_WRITE_BUFFER_DEFAULT,
        .max_write_buffers = MS_KV_ROCKSDB_WRITE_BUFFERS_DEFAULT,
        .max_open_files = MS_KV_ROCKSDB_OPEN_FILES_DEFAULT,
        .background_jobs = MS_KV_ROCKSDB_JOBS_DEFAULT,
        .create_if_missing = true,
    };
    MS_ASSERT(o->block_cache_bytes > 0);
}

static void kvr_free(struct kvr *h)
{
    MS_ASSERT(h != NULL);
    MS_ASSERT(h->ncf_total <= KVR_CF_TOTAL_MAX);
    for (unsigned i = 0; i < h->ncf_total; i++)
        if (h->cf[i] != NULL)
            rocksdb_column_family_handle_destroy(h->cf[i]);
    if (h->db != NULL)
        rocksdb_close(h->db);
    if (h->opts != NULL)
        rocksdb_options_destroy(h->opts);
    if (h->table != NULL)
        rocksdb_block_based_options_destroy(h->table);
    if (h->cache != NULL)
        rocksdb_cache_destroy(h->cache);
    if (h->wo_sync != NULL)
        rocksdb_writeoptions_destroy(h->wo_sync);
    if (h->wo_async != NULL)
        rocksdb_writeoptions_destroy(h->wo_async);
    if (h->ro != NULL)
        rocksdb_readoptions_destroy(h->ro);
    for (unsigned i = 0; i < h->ncf_total; i++)
        free(h->names[i]);
    free(h);
}

/* Creates the options objects. Returns 0 or -ENOMEM. */
static int kvr_configure(struct kvr *h, const struct ms_kv_rocksdb_opts *o)
{
    h->opts = rocksdb_options_create();
    h->table = rocksdb_block_based_options_create();
    h->cache = rocksdb_cache_create_lru(o->block_cache_bytes);
    h->wo_sync = rocksdb_writeoptions_create();
    h->wo_async = rocksdb_writeoptions_create();
    h->ro = rocksdb_readoptions_create();
    if (!h->opts || !h->table || !h->cache || !h->wo_sync || !h->wo_async || !h->ro)
        return -ENOMEM;
    rocksdb_block_based_options_set_block_cache(h->table, h->cache);
    rocksdb_block_based_options_set_cache_index_and_filter_blocks(h->table, 1);
    rocksdb_options_set_block_based_table_factory(h->opts, h->table);
    rocksdb_options_set_create_if_missing(h->opts, o->create_if_missing);
    rocksdb_options_set_create_missing_column_families(h->opts, 1);
    rocksdb_options_set_paranoid_checks(h->opts, 1);
    rocksdb_options_set_write_buffer_size(h->opts, o->write_buffer_bytes);
    rocksdb_options_set_max_write_buffer_number(h->opts, o->max_write_buffers);
    rocksdb_options_set_max_open_files(h->opts, o->max_open_files);
    rocksdb_options_set_max_background_jobs(h->opts, o->background_jobs);
    rocksdb_options_set_compression(h->opts, rocksdb_no_compression);
    rocksdb_options_set_max_log_file_size(h->opts, 1 << 20);
    rocksdb_options_set_keep_log_file_num(h->opts, 2);
    rocksdb_options_set_info_log_level(h->opts, 2); /* WARN: RocksDB's own LOG file */
    rocksdb_writeoptions_set_sync(h->wo_sync, 1);
    rocksdb_writeoptions_set_sync(h->wo_async, 0);
    MS_ASSERT(h->opts != NULL && h->wo_sync != NULL);
    MS_ASSERT(o->block_cache_bytes > 0 && o->write_buffer_bytes > 0);
    return 0;
}

/* Appends name to h->names unless present. Returns 0, -ENOMEM or -EINVAL (too many). */
static int kvr_add_name(struct kvr *h, const char *name)
{
    for (unsigned i = 0; i < h->ncf_total; i++)
        if (strcmp(h->names[i], name) == 0)
            return 0;
    if (h->ncf_total == KVR_CF_TOTAL_MAX)
        return -EINVAL;
    h->names[h->ncf_total] = strdup(name);
    if (h->names[h->ncf_total] == NULL)
        return -ENOMEM;
    h->ncf_total++;
    return 0;
}

/* Names to open: the caller's first (so index i is family i), then "default" and every
 * family the store already has. */
static int kvr_collect_names(struct kvr *h, const char *path, const char *const *cf_names,
                             size_t cf_count)
{
    int rc = 0;
    for (size_t i = 0; i < cf_count && rc == 0; i++)
        rc = kvr_add_name(h, cf_names[i]);
    if (rc == 0)
        rc = kvr_add_name(h, "default");
    char *err = NULL;
    size_t n = 0;
    MS_ASSERT(rc != 0 || h->ncf_total >= 1);
    char **have = rocksdb_list_column_families(h->opts, path, &n, &err);
    if (err != NULL) {
        /* A new store: nothing to list. The (empty) list is allocated even then. */
        rocksdb_free(err);
        if (have != NULL)
            rocksdb_list_column_families_destroy(have, n);
        return rc;
    }
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = kvr_add_name(h, have[i]);
    rocksdb_list_column_families_destroy(have, n);
    MS_ASSERT(rc != 0 || h->ncf_total >= cf_count);
    return rc;
}

int ms_kv_rocksdb_open(const char *path, const char *const *cf_names, size_t cf_count,
                       const struct ms_kv_rocksdb_opts *opts, struct ms_kv **out)
{
    MS_ASSERT(path != NULL);
    MS_ASSERT(out != NULL);
    if (!ms_kv_cf_names_are_valid(cf_names, cf_count))
        return -EINVAL;
    struct ms_kv_rocksdb_opts defaults;
    if (opts == NULL) {
        ms_kv_rocksdb_opts_default(&defaults);
        opts = &defaults;
    }
    struct kvr *h = calloc(1, sizeof(*h));
    if (h == NULL)
        return -ENOMEM;
    int rc = kvr_configure(h, opts);
    if (rc == 0)
        rc = kvr_collect_names(h, path, cf_names, cf_count);
    if (rc == 0) {
        const rocksdb_options_t *cfo[KVR_CF_TOTAL_MAX];
        for (unsigned i = 0; i < h->ncf_total; i++)
            cfo[i] = h->opts;
        char *err = NULL;
        h->db = rocksdb_open_column_families(h->opts, path, (int)h->ncf_total,
                                             (const char *const *)h->names, cfo, h->cf, &err);
        if (err != NULL)
            rc = kvr_fail(NULL, err, "open");
    }
    if (rc != 0) {
        kvr_free(h);
        return rc;
    }
    h->base = (struct ms_kv){.ops = &kvr_ops, .cf_count = (unsigned)cf_count,
                             .cf_names = (const char *const *)h->names};
    ms_log(MS_LOG_INFO, "kv", "event=rocksdb_open families=%u cache_bytes=%zu", h->ncf_total,
           opts->block_cache_bytes);
    *out = &h->base;
    return 0;
}

static void kvr_close(struct ms_kv *kv)
{
    kvr_free(kvr_of(kv));
}

static const struct ms_kv_ops kvr_ops = {
    .name = "rocksdb",
    .get = kvr_get,
    .write = kvr_write,
    .iter_create = kvr_iter_create,
    .compact_range = kvr_compact_range,
    .close = kvr_close,
};

bool ms_kv_is_rocksdb(const struct ms_kv *kv)
{
    return kv != NULL && kv->ops == &kvr_ops;
}
