/*
 * wipe.c - zero-overwrite delete of fragments (F-STO-4, F-DEL-2, Y-DES-3) and of files of
 * puts that were never acknowledged, with a crash-resumable wipe intent.
 *
 * Delete sequence (each step idempotent, so a crash anywhere is resumed by the next open):
 *   1. one synced kv batch: wipe intent (cf "wipe") + catalogue record state -> wiping;
 *      from here on reads and stats answer NOT_FOUND;
 *   2. overwrite every byte of the file with zeros through the io port: the whole length
 *      rounded up to 4 KiB (so the tail of the last block is zeroed too, O_DIRECT friendly),
 *      then truncate back to the original size (a hard link keeps its size and sees zeros);
 *   3. fdatasync, close, unlink, fsync of the directory;
 *   4. one synced batch removing the catalogue record, the intent and any scrub row;
 *   5. only then the ack (return 0).
 * Deleting a fragment that does not exist returns 0. Files of puts never acknowledged
 * (aborted or failed puts, files without a committed record found at open, temp files an
 * earlier version left in tmp/) get steps 2-3 without an intent: they have no record, so the
 * next open finds them again and repeats the wipe if it was cut short.
 * On SSDs and copy-on-write filesystems the overwrite is best effort at the physical level;
 * the crypto-shred of the object key is the guarantee (docs/node.md).
 * Refuses: deletes of a fragment whose put is in progress (-EBUSY).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/kv.h"
#include "common/log.h"
#include "common/ms_assert.h"
#include "node/fragstore_int.h"

/* Writes zeros over [0, len) of fd, FS_WIPE_INFLIGHT writes in flight. len is a multiple of
 * FS_ALIGN. The caller holds *sio_mu. */
static int zero_range(struct ms_fragstore *s, int fd, uint64_t len)
{
    MS_ASSERT(len % FS_ALIGN == 0);
    MS_ASSERT(s->zeros != NULL);
    struct ms_io_req reqs[FS_WIPE_INFLIGHT];
    int res[FS_WIPE_INFLIGHT];
    uint64_t off = 0;
    while (off < len) {
        unsigned n = 0;
        for (; n < FS_WIPE_INFLIGHT && off < len; n++) {
            uint64_t l = len - off < FS_ZERO_BYTES ? len - off : FS_ZERO_BYTES;
            reqs[n] = (struct ms_io_req){.op = MS_IO_WRITE, .fd = fd, .buf = s->zeros,
                                         .len = (size_t)l, .offset = off, .buf_index = -1};
            off += l;
        }
        int rc = fs_io_run(s->sio, reqs, n, res);
        for (unsigned i = 0; i < n && rc == 0; i++) {
            if (res[i] < 0)
                rc = res[i];
            else if ((size_t)res[i] < reqs[i].len)
                rc = ms_io_pwrite_all(s->sio, fd, s->zeros, reqs[i].len - (size_t)res[i],
                                      reqs[i].offset + (size_t)res[i]);
        }
        if (rc < 0)
            return rc;
    }
    MS_ASSERT(off == len);
    return 0;
}

int ms_wipe_fd(struct ms_fragstore *s, int fd, int dirfd, const char *name)
{
    MS_ASSERT(s != NULL && fd >= 0);
    MS_ASSERT(name != NULL && dirfd >= 0);
    struct stat st;
    int rc = ms_io_fstat(s->sio, fd, &st);
    uint64_t size = rc == 0 ? (uint64_t)st.st_size : 0;
    uint64_t whole = (size + FS_ALIGN - 1) / FS_ALIGN * FS_ALIGN;
    if (rc == 0)
        rc = zero_range(s, fd, whole);
    if (rc == 0 && whole != size)
        rc = ms_io_ftruncate(s->sio, fd, size);
    if (rc == 0)
        rc = ms_io_fdatasync(s->sio, fd);
    int crc = ms_io_close(s->sio, fd);
    if (rc == 0)
        rc = crc;
    if (rc == 0) {
        rc = ms_io_unlinkat(s->sio, dirfd, name, 0);
        if (rc == -ENOENT)
            rc = 0;
    }
    if (rc < 0)
        ms_log(MS_LOG_WARN, "node", "event=wipe_failed err=%s size_bytes=%" PRIu64,
               ms_err_name(rc), size);
    return rc;
}

int ms_wipe_file(struct ms_fragstore *s, int dirfd, const char *name)
{
    MS_ASSERT(s != NULL && name != NULL);
    MS_ASSERT(dirfd >= 0);
    bool direct = false;
    int fd = s->try_direct ? ms_io_open_direct(s->sio, dirfd, name, O_WRONLY, 0, &direct)
                           : ms_io_open(s->sio, dirfd, name, O_WRONLY, 0);
    if (fd == -ENOENT)
        return 0;
    if (fd < 0)
        return fd;
    return ms_wipe_fd(s, fd, dirfd, name);
}

int ms_wipe_finish(struct ms_fragstore *s, const struct ms_fragstore_key *key)
{
    MS_ASSERT(s != NULL && key != NULL);
    char name[FS_NAME_MAX];
    fs_frag_name(key, name);
    int dirfd = fs_subdir_fd(s, key);
    pthread_mutex_lock(s->sio_mu);
    int rc = ms_wipe_file(s, dirfd, name);
    if (rc == 0)
        rc = ms_io_fsync_dir(s->sio, dirfd);
    pthread_mutex_unlock(s->sio_mu);
    if (rc < 0)
        return rc;
    /* Under mu: ms_scrub_note() must not add a row between this batch and the unlock. */
    pthread_mutex_lock(&s->mu);
    struct ms_catalog_scrub old;
    int src = ms_catalog_scrub_get(&s->cat, key, &old);
    struct ms_kv_batch b;
    ms_kv_batch_init(&b);
    rc = ms_catalog_batch_forget(&s->cat, &b, key);
    uint8_t k[MS_CATALOG_KEY_BYTES];
    ms_catalog_key_encode(key, k);
    if (rc == 0)
        rc = ms_kv_batch_delete(&b, s->cat.cf_scrub, k, sizeof(k));
    if (rc == 0)
        rc = ms_kv_write(s->cat.kv, &b, true);
    ms_kv_batch_fini(&b);
    if (rc == 0 && src == 0)
        atomic_fetch_sub(&s->damaged_count, 1);
    pthread_mutex_unlock(&s->mu);
    MS_ASSERT(rc <= 0);
    return rc;
}

/* Step 1: intent + state wiping in one synced batch. */
static int wipe_begin(struct ms_fragstore *s, const struct ms_fragstore_key *key,
                      const struct ms_catalog_rec *rec)
{
    MS_ASSERT(rec->state == MS_CATALOG_COMMITTED);
    struct ms_catalog_rec wiping = *rec;
    wiping.state = MS_CATALOG_WIPING;
    struct ms_catalog_wipe intent = {.reason = MS_WIPE_DELETE, .started_ms = fs_now_ms(s)};
    struct ms_kv_batch b;
    ms_kv_batch_init(&b);
    int rc = ms_catalog_batch_put(&s->cat, &b, key, &wiping);
    if (rc == 0)
        rc = ms_catalog_batch_wipe(&s->cat, &b, key, &intent);
    if (rc == 0)
        rc = ms_kv_write(s->cat.kv, &b, true);
    ms_kv_batch_fini(&b);
    if (rc == 0)
        atomic_fetch_sub(&s->fragment_count, 1);
    MS_ASSERT(rc <= 0);
    return rc;
}

int ms_fragstore_delete(struct ms_fragstore *s, const struct ms_fragstore_key *key)
{
    MS_ASSERT(s != NULL);
    MS_ASSERT(s->sio != NULL);
    if (!key || key->frag_index >= MS_FRAGSTORE_MAX_INDEX)
        return -EINVAL;
    int rc = fs_busy_acquire(s, key);
    if (rc < 0)
        return rc;
    struct ms_catalog_rec rec;
    rc = ms_catalog_get(&s->cat, key, &rec);
    if (rc == -MEDSTORE_ENOTFOUND) {
        fs_busy_release(s, key);
        return 0; /* deleting a missing fragment is fine (idempotent retries) */
    }
    if (rc == 0 && rec.state == MS_CATALOG_COMMITTED)
        rc = wipe_begin(s, key, &rec);
    if (rc == 0)
        rc = ms_wipe_finish(s, key);
    fs_busy_release(s, key);
    char hex[MS_OID_HEX_LEN + 1];
    ms_oid_to_hex(&key->oid, hex);
    ms_log(rc == 0 ? MS_LOG_INFO : MS_LOG_ERROR, "node",
           "event=delete oid=%s frag=%u size_bytes=%" PRIu64 " err=%s", hex,
           (unsigned)key->frag_index, rc == 0 ? rec.logical_bytes : 0, ms_err_name(rc));
    return rc;
}

int ms_wipe_resume_all(struct ms_fragstore *s)
{
    MS_ASSERT(s != NULL);
    struct ms_kv_iter *it = NULL;
    int rc = ms_kv_iter_create(s->cat.kv, s->cat.cf_wipe, NULL, 0, NULL, 0, &it);
    if (rc < 0)
        return rc;
    struct ms_fragstore_key *keys = NULL;
    size_t n = 0, cap = 0;
    for (ms_kv_iter_seek_to_first(it); rc == 0 && ms_kv_iter_valid(it); ms_kv_iter_next(it)) {
        size_t klen = 0;
        const void *k = ms_kv_iter_key(it, &klen);
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            void *p = realloc(keys, cap * sizeof(*keys));
            if (!p) {
                rc = -ENOMEM;
                break;
            }
            keys = p;
        }
        rc = ms_catalog_key_decode(k, klen, &keys[n]);
        n += rc == 0;
    }
    if (rc == 0)
        rc = ms_kv_iter_status(it);
    ms_kv_iter_destroy(it);
    for (size_t i = 0; i < n && rc == 0; i++) {
        ms_log(MS_LOG_INFO, "node", "event=wipe_resume n=%zu of=%zu", i + 1, n);
        rc = ms_wipe_finish(s, &keys[i]);
    }
    free(keys);
    MS_ASSERT(rc <= 0);
    return rc;
}
