/*
 * kv.h - the kv port: an ordered key-value store with column families and atomic batches.
 *
 * node and meta keep their catalogues behind struct ms_kv so tests can swap the backend: the
 * memory fake below (models durability: unsynced batches are lost by ms_kv_mem_crash()) or
 * the RocksDB adapter (kv_rocksdb.h, its own static library, linked only by node and meta).
 *
 *   const char *cfs[] = {"default", "frags", "wipe"};
 *   struct ms_kv *kv;
 *   rc = ms_kv_mem_open(NULL, cfs, 3, &kv);
 *   struct ms_kv_batch b;
 *   ms_kv_batch_init(&b);
 *   rc = ms_kv_batch_put(&b, 1, key, klen, val, vlen);      (cf 1 = "frags")
 *   rc = ms_kv_write(kv, &b, true);                          (atomic; durable on return)
 *   ms_kv_batch_fini(&b);
 *
 * Keys and values are bytes (pointer + length), compared as unsigned bytes (memcmp, shorter
 * first on a tie). A column family is named by its index in the name list given at open.
 * Every write is a batch applied atomically: after a crash either all of it or none of it is
 * there. sync = true: durable before the call returns, and so is every earlier write.
 * sync = false: visible at once, may be lost by a crash (never partially).
 *
 * Errors: 0 on success; -MEDSTORE_ENOTFOUND (get of a missing key); -EINVAL (bad cf, empty
 * key); -ENOMEM; -EIO, -ENOSPC, -MEDSTORE_ECORRUPT from the store.
 *
 * Thread safety: a struct ms_kv may be used by several threads at once for get, write and
 * iterators (RocksDB is; the fake takes a lock). An iterator is used by one thread at a time
 * and must be destroyed before its kv is closed.
 */
#ifndef MS_COMMON_KV_H
#define MS_COMMON_KV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

/* Largest key and value the port accepts (the fake and the adapter both check). */
#define MS_KV_KEY_MAX ((size_t)4096)
#define MS_KV_VALUE_MAX ((size_t)64 << 20)
/* Most column families one kv may have. */
#define MS_KV_CF_MAX 16u

struct ms_kv;
struct ms_kv_iter;
struct ms_kv_batch;

/* ---- batches ----------------------------------------------------------------------------- */

enum ms_kv_op {
    MS_KV_PUT = 1,
    MS_KV_DELETE = 2,
    MS_KV_DELETE_RANGE = 3, /* key = begin (inclusive), val = end (exclusive) */
};

/* One entry; key and val are offsets into the batch's arena (stable across growth). */
struct ms_kv_batch_entry {
    enum ms_kv_op op;
    unsigned cf;
    size_t key_off;
    size_t key_len;
    size_t val_off;
    size_t val_len;
};

/* A batch owns copies of its keys and values. Initialise with ms_kv_batch_init() (caller's
 * storage), fill, write with ms_kv_write(), reuse after ms_kv_batch_clear(), release with
 * ms_kv_batch_fini(). Not thread safe. Fields are read by backends only. */
struct ms_kv_batch {
    struct ms_kv_batch_entry *entries;
    size_t count;
    size_t cap;
    uint8_t *arena;
    size_t arena_len;
    size_t arena_cap;
};

/* Makes an empty batch (no allocation yet). */
void ms_kv_batch_init(struct ms_kv_batch *b);

/* Releases the batch's memory (wiped first: values may be wrapped keys); accepts NULL. */
void ms_kv_batch_fini(struct ms_kv_batch *b);

/* Empties the batch, keeping its memory (wiped) for reuse. */
void ms_kv_batch_clear(struct ms_kv_batch *b);

/* Appends a put of a copy of key/val to column family cf. Returns 0, -EINVAL (empty or
 * oversized key, oversized value) or -ENOMEM (the batch is unchanged then). */
MS_MUST_CHECK int ms_kv_batch_put(struct ms_kv_batch *b, unsigned cf, const void *key,
                                  size_t klen, const void *val, size_t vlen);

/* Appends a delete of key (deleting a missing key is not an error). Returns as above. */
MS_MUST_CHECK int ms_kv_batch_delete(struct ms_kv_batch *b, unsigned cf, const void *key,
                                     size_t klen);

/* Appends a delete of every key in [begin, end). Returns as above (-EINVAL when end <= begin). */
MS_MUST_CHECK int ms_kv_batch_delete_range(struct ms_kv_batch *b, unsigned cf,
                                           const void *begin, size_t blen, const void *end,
                                           size_t elen);

/* Entry i's key and value pointers (valid until the batch changes). For backends. */
const uint8_t *ms_kv_batch_key(const struct ms_kv_batch *b, size_t i);
const uint8_t *ms_kv_batch_val(const struct ms_kv_batch *b, size_t i);

/* ---- the store --------------------------------------------------------------------------- */

/* Backend operations; callers use the ms_kv_* functions. Backends embed struct ms_kv first. */
struct ms_kv_ops {
    const char *name; /* "mem", "rocksdb" */
    int (*get)(struct ms_kv *kv, unsigned cf, const void *key, size_t klen, void **val,
               size_t *vlen);
    int (*write)(struct ms_kv *kv, const struct ms_kv_batch *b, bool sync);
    int (*iter_create)(struct ms_kv *kv, unsigned cf, const void *lower, size_t llen,
                       const void *upper, size_t ulen, struct ms_kv_iter **out);
    int (*compact_range)(struct ms_kv *kv, unsigned cf, const void *begin, size_t blen,
                         const void *end, size_t elen);
    void (*close)(struct ms_kv *kv);
};

/* The handle. Fields are the port's own: read-only for callers. cf_names[i] names column
 * family i (owned by the backend, valid until close). */
struct ms_kv {
    const struct ms_kv_ops *ops;
    unsigned cf_count;
    const char *const *cf_names;
};

/* True when names[0..n) is a valid column family list for a backend's open: 1..MS_KV_CF_MAX
 * names, each non-empty, at most 255 bytes and unique. names is borrowed for the call; NULL
 * is invalid. For backends (one rule for the fake and RocksDB). Thread safe. */
bool ms_kv_cf_names_are_valid(const char *const *names, size_t n);

/* Column family index of name, or -EINVAL when the kv was not opened with it. */
MS_MUST_CHECK int ms_kv_cf_index(const struct ms_kv *kv, const char *name);

/* Reads key of cf. On success returns 0 and sets *val to a malloc'd copy (caller frees; may
 * be non-NULL even for vlen 0) and *vlen. Returns -MEDSTORE_ENOTFOUND when absent (outputs
 * untouched), or -EINVAL / -ENOMEM / -EIO / -MEDSTORE_ECORRUPT. */
MS_MUST_CHECK int ms_kv_get(struct ms_kv *kv, unsigned cf, const void *key, size_t klen,
                            void **val, size_t *vlen);

/* One-entry batches: put or delete key in cf. sync as for ms_kv_write(). */
MS_MUST_CHECK int ms_kv_put(struct ms_kv *kv, unsigned cf, const void *key, size_t klen,
                            const void *val, size_t vlen, bool sync);
MS_MUST_CHECK int ms_kv_delete(struct ms_kv *kv, unsigned cf, const void *key, size_t klen,
                               bool sync);

/* Applies every entry of b atomically, in order (a later entry wins over an earlier one on
 * the same key). sync = true: durable on return. An empty batch with sync = true only makes
 * earlier writes durable. Returns 0 or -errno / -MEDSTORE_E* (then nothing was applied).
 * The batch is borrowed for the call only. */
MS_MUST_CHECK int ms_kv_write(struct ms_kv *kv, const struct ms_kv_batch *b, bool sync);

/* Asks the store to compact cf's keys in [begin, end) (NULL = unbounded) so deleted entries
 * are physically dropped (crypto-shred step). Returns 0 or -errno. The fake does nothing. */
MS_MUST_CHECK int ms_kv_compact_range(struct ms_kv *kv, unsigned cf, const void *begin,
                                      size_t blen, const void *end, size_t elen);

/* Closes kv; accepts NULL. Every iterator must be destroyed first. Unsynced writes of the
 * fake stay in its store; RocksDB keeps them (they were written to its WAL). */
void ms_kv_close(struct ms_kv *kv);

/* ---- iterators --------------------------------------------------------------------------- */

/* Backend iterator operations. Backends embed struct ms_kv_iter first. */
struct ms_kv_iter_ops {
    void (*seek)(struct ms_kv_iter *it, const void *key, size_t klen);
    void (*seek_to_first)(struct ms_kv_iter *it);
    bool (*valid)(const struct ms_kv_iter *it);
    void (*next)(struct ms_kv_iter *it);
    const void *(*key)(const struct ms_kv_iter *it, size_t *klen);
    const void *(*value)(const struct ms_kv_iter *it, size_t *vlen);
    int (*status)(const struct ms_kv_iter *it);
    void (*destroy)(struct ms_kv_iter *it);
};

struct ms_kv_iter {
    const struct ms_kv_iter_ops *ops;
};

/* Creates an iterator over cf's keys in [lower, upper) (NULL = unbounded), reading a
 * consistent snapshot taken now (later writes are not seen). It starts unpositioned: call
 * seek or seek_to_first. Returns 0 and sets *out (caller owns, ms_kv_iter_destroy()), or
 * -EINVAL / -ENOMEM / -EIO. */
MS_MUST_CHECK int ms_kv_iter_create(struct ms_kv *kv, unsigned cf, const void *lower,
                                    size_t llen, const void *upper, size_t ulen,
                                    struct ms_kv_iter **out);

/* Same over the keys that start with prefix (plen >= 1). */
MS_MUST_CHECK int ms_kv_iter_create_prefix(struct ms_kv *kv, unsigned cf, const void *prefix,
                                           size_t plen, struct ms_kv_iter **out);

/* Positions at the first key >= key (within bounds) / at the first key. */
void ms_kv_iter_seek(struct ms_kv_iter *it, const void *key, size_t klen);
void ms_kv_iter_seek_to_first(struct ms_kv_iter *it);

/* True while positioned on an entry. */
bool ms_kv_iter_valid(const struct ms_kv_iter *it);

/* Moves to the next entry; the iterator must be valid. */
void ms_kv_iter_next(struct ms_kv_iter *it);

/* Current key / value (the iterator must be valid); borrowed, valid until the iterator
 * moves or is destroyed. */
const void *ms_kv_iter_key(const struct ms_kv_iter *it, size_t *klen);
const void *ms_kv_iter_value(const struct ms_kv_iter *it, size_t *vlen);

/* 0, or the error that ended iteration early (-EIO, -MEDSTORE_ECORRUPT). Check it once
 * ms_kv_iter_valid() turns false. */
MS_MUST_CHECK int ms_kv_iter_status(const struct ms_kv_iter *it);

/* Releases it; accepts NULL. */
void ms_kv_iter_destroy(struct ms_kv_iter *it);

/* ---- memory fake (tests) ----------------------------------------------------------------- */

/* A store is the fake's "disk": it outlives the kv handles opened on it, so a test can crash
 * it, close the code under test and reopen on the same store. */
struct ms_kv_mem_store;

/* Creates an empty store. Returns 0 and sets *out (caller owns), or -ENOMEM. */
MS_MUST_CHECK int ms_kv_mem_store_create(struct ms_kv_mem_store **out);

/* Destroys a store; no handle may be open on it. Accepts NULL. */
void ms_kv_mem_store_destroy(struct ms_kv_mem_store *store);

/* Opens a handle on store (NULL: a private store destroyed with the handle) with the given
 * column families (created when missing; names are copied; 1..MS_KV_CF_MAX, unique). Returns
 * 0 and sets *out (close with ms_kv_close()), or -EINVAL / -ENOMEM. */
MS_MUST_CHECK int ms_kv_mem_open(struct ms_kv_mem_store *store, const char *const *cf_names,
                                 size_t cf_count, struct ms_kv **out);

/* True when kv was made by ms_kv_mem_open(). */
bool ms_kv_is_mem(const struct ms_kv *kv);

/* Makes every write so far durable (like a sync write). kv must be a fake. */
void ms_kv_mem_sync(struct ms_kv *kv);

/* Simulated crash: drops every unsynced batch of kv's store, newest first, each as a whole.
 * The handle stays usable, as if the process had restarted and reopened the store. */
void ms_kv_mem_crash(struct ms_kv *kv);

/* Like ms_kv_mem_crash() but keeps the oldest `keep` unsynced batches (a partly flushed
 * log): every crash state the real store could reach. */
void ms_kv_mem_crash_keep(struct ms_kv *kv, size_t keep);

/* Number of batches written since the last sync. */
size_t ms_kv_mem_unsynced(const struct ms_kv *kv);

/* Rule: the nth write (1-based, counting every ms_kv_write/put/delete on the store from now)
 * fails with err (negative) and applies nothing. nth = 0 removes the rule. */
void ms_kv_mem_fail_nth_write(struct ms_kv *kv, uint64_t nth, int err);

/* Number of write calls on kv's store so far (failed ones included). */
uint64_t ms_kv_mem_writes(const struct ms_kv *kv);

#endif
