/*
 * kv_rocksdb.h - the RocksDB adapter of the kv port (kv.h).
 *
 * Built as its own static library, ms_kv_rocksdb (meson: ms_kv_rocksdb_dep), linked only by
 * node, meta and their tests: libmedstore, the CLI and the fuzzers carry no RocksDB
 * (STYLE.md section 1). Everything else goes through struct ms_kv.
 *
 * Errors from RocksDB map to -EIO, -ENOSPC, -MEDSTORE_ECORRUPT, -EINVAL or -ENOTSUP; the
 * RocksDB message is logged once per kind per handle at the point of mapping, never a key or
 * a value (the adapter never formats either).
 */
#ifndef MS_COMMON_KV_ROCKSDB_H
#define MS_COMMON_KV_ROCKSDB_H

#include <stddef.h>

#include "common/err.h"
#include "common/kv.h"

/* Defaults sized for a small-memory node (PERF.md: node RSS <= 160 MiB under load). */
#define MS_KV_ROCKSDB_CACHE_DEFAULT ((size_t)16 << 20)       /* shared LRU block cache */
#define MS_KV_ROCKSDB_WRITE_BUFFER_DEFAULT ((size_t)4 << 20) /* one memtable per family */
#define MS_KV_ROCKSDB_WRITE_BUFFERS_DEFAULT 2                /* memtables per family */
#define MS_KV_ROCKSDB_OPEN_FILES_DEFAULT 256
#define MS_KV_ROCKSDB_JOBS_DEFAULT 2 /* background flush + compaction threads (2 cores) */

/* Tuning; fill with ms_kv_rocksdb_opts_default() then change what you need. */
struct ms_kv_rocksdb_opts {
    size_t block_cache_bytes;  /* LRU block cache shared by all families */
    size_t write_buffer_bytes; /* memtable size per family */
    int max_write_buffers;     /* memtables per family before writes stall */
    int max_open_files;        /* table files kept open (-1: unlimited) */
    int background_jobs;       /* flush + compaction threads */
    bool create_if_missing;    /* create the database directory's store if absent */
};

/* Fills *o with the defaults above (create_if_missing = true). */
void ms_kv_rocksdb_opts_default(struct ms_kv_rocksdb_opts *o);

/* Opens (or creates) the RocksDB store in directory path with the given column families
 * (created when missing; families the store has but the list lacks are opened too and kept
 * out of reach, as RocksDB requires). opts may be NULL for the defaults. Returns 0 and sets
 * *out (close with ms_kv_close()), or -EINVAL (bad names), -ENOMEM, -EIO, -ENOSPC,
 * -MEDSTORE_ECORRUPT, -EBUSY (another process holds the store's lock).
 * The handle is thread safe (kv.h). */
MS_MUST_CHECK int ms_kv_rocksdb_open(const char *path, const char *const *cf_names,
                                     size_t cf_count, const struct ms_kv_rocksdb_opts *opts,
                                     struct ms_kv **out);

/* True when kv was made by ms_kv_rocksdb_open(). */
bool ms_kv_is_rocksdb(const struct ms_kv *kv);

#endif
