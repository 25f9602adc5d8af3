/*
 * catalog.c - encoding of the node's catalogue records, wipe intents and scrub entries, and
 * the few kv calls that read or stage them.
 *
 * Invariants: every record this file writes decodes again (tests round-trip each field);
 * every decoder checks the exact length, the version, the enum ranges and that reserved bytes
 * are zero, so a damaged kv value is -MEDSTORE_ECORRUPT, never a wrong size or a crash.
 * Refuses: fragment indexes >= MS_FRAGSTORE_MAX_INDEX in keys (no file name could hold them).
 * Layout tables: catalog.h and docs/node.md ("On-disk layout").
 */
#include "node/catalog.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/kv.h"
#include "common/log.h"
#include "common/ms_assert.h"

static void put_u16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void put_u32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint16_t get_u16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}

static uint32_t get_u32(const uint8_t *p)
{
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static uint64_t get_u64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

void ms_catalog_key_encode(const struct ms_fragstore_key *key, uint8_t out[MS_CATALOG_KEY_BYTES])
{
    MS_ASSERT(key != NULL);
    MS_ASSERT(key->frag_index < MS_FRAGSTORE_MAX_INDEX);
    memcpy(out, key->oid.b, MS_OID_BYTES);
    out[MS_OID_BYTES] = key->frag_index;
}

int ms_catalog_key_decode(const uint8_t *buf, size_t len, struct ms_fragstore_key *out)
{
    MS_ASSERT(out != NULL);
    if (buf == NULL || len != MS_CATALOG_KEY_BYTES)
        return MS_CORRUPT();
    if (buf[MS_OID_BYTES] >= MS_FRAGSTORE_MAX_INDEX)
        return MS_CORRUPT();
    memcpy(out->oid.b, buf, MS_OID_BYTES);
    out->frag_index = buf[MS_OID_BYTES];
    MS_ASSERT(out->frag_index < MS_FRAGSTORE_MAX_INDEX);
    return 0;
}

void ms_catalog_rec_encode(const struct ms_catalog_rec *rec, uint8_t out[MS_CATALOG_REC_BYTES])
{
    MS_ASSERT(rec != NULL);
    MS_ASSERT(rec->state == MS_CATALOG_COMMITTED || rec->state == MS_CATALOG_WIPING);
    memset(out, 0, MS_CATALOG_REC_BYTES);
    out[MS_CATALOG_OFF_VERSION] = MS_CATALOG_VERSION;
    out[MS_CATALOG_OFF_STATE] = (uint8_t)rec->state;
    put_u16(out + MS_CATALOG_OFF_RESERVED, 0);
    put_u32(out + MS_CATALOG_OFF_SEGMENTS, rec->segment_count);
    put_u64(out + MS_CATALOG_OFF_LOGICAL, rec->logical_bytes);
    put_u64(out + MS_CATALOG_OFF_FILE, rec->file_bytes);
    put_u64(out + MS_CATALOG_OFF_CREATED, rec->created_ms);
    memcpy(out + MS_CATALOG_OFF_HDRSUM, rec->header_checksum, 16);
}

int ms_catalog_rec_decode(const uint8_t *buf, size_t len, struct ms_catalog_rec *out)
{
    MS_ASSERT(out != NULL);
    if (buf == NULL || len != MS_CATALOG_REC_BYTES)
        return MS_CORRUPT();
    if (buf[MS_CATALOG_OFF_VERSION] != MS_CATALOG_VERSION)
        return MS_CORRUPT();
    uint8_t state = buf[MS_CATALOG_OFF_STATE];
    if (state != MS_CATALOG_COMMITTED && state != MS_CATALOG_WIPING)
        return MS_CORRUPT();
    if (get_u16(buf + MS_CATALOG_OFF_RESERVED) != 0)
        return MS_CORRUPT();
    struct ms_catalog_rec rec;
    rec.state = (enum ms_catalog_state)state;
    rec.segment_count = get_u32(buf + MS_CATALOG_OFF_SEGMENTS);
    rec.logical_bytes = get_u64(buf + MS_CATALOG_OFF_LOGICAL);
    rec.file_bytes = get_u64(buf + MS_CATALOG_OFF_FILE);
    rec.created_ms = get_u64(buf + MS_CATALOG_OFF_CREATED);
    memcpy(rec.header_checksum, buf + MS_CATALOG_OFF_HDRSUM, 16);
    if (rec.file_bytes < rec.logical_bytes)
        return MS_CORRUPT();
    *out = rec;
    MS_ASSERT(out->file_bytes >= out->logical_bytes);
    return 0;
}

/* Wipe intent: u8 version, u8 reason, u16 + u32 reserved, u64 start time (unix ms). */
void ms_catalog_wipe_encode(const struct ms_catalog_wipe *w, uint8_t out[MS_CATALOG_WIPE_BYTES])
{
    MS_ASSERT(w != NULL);
    MS_ASSERT(w->reason == MS_WIPE_DELETE || w->reason == MS_WIPE_ORPHAN);
    memset(out, 0, MS_CATALOG_WIPE_BYTES);
    out[0] = MS_CATALOG_VERSION;
    out[1] = (uint8_t)w->reason;
    put_u64(out + 8, w->started_ms);
}

int ms_catalog_wipe_decode(const uint8_t *buf, size_t len, struct ms_catalog_wipe *out)
{
    MS_ASSERT(out != NULL);
    if (buf == NULL || len != MS_CATALOG_WIPE_BYTES || buf[0] != MS_CATALOG_VERSION)
        return MS_CORRUPT();
    if (buf[1] != MS_WIPE_DELETE && buf[1] != MS_WIPE_ORPHAN)
        return MS_CORRUPT();
    if (get_u16(buf + 2) != 0 || get_u32(buf + 4) != 0)
        return MS_CORRUPT();
    out->reason = (enum ms_wipe_reason)buf[1];
    out->started_ms = get_u64(buf + 8);
    MS_ASSERT(out->reason == MS_WIPE_DELETE || out->reason == MS_WIPE_ORPHAN);
    return 0;
}

/* Scrub entry: u8 version, u8 reason, u16 reserved, u32 record number, u64 time (unix ms). */
void ms_catalog_scrub_encode(const struct ms_catalog_scrub *s,
                             uint8_t out[MS_CATALOG_SCRUB_BYTES])
{
    MS_ASSERT(s != NULL);
    MS_ASSERT(s->reason >= MS_SCRUB_CHECKSUM && s->reason <= MS_SCRUB_IO);
    memset(out, 0, MS_CATALOG_SCRUB_BYTES);
    out[0] = MS_CATALOG_VERSION;
    out[1] = (uint8_t)s->reason;
    put_u32(out + 4, s->record);
    put_u64(out + 8, s->time_ms);
}

int ms_catalog_scrub_decode(const uint8_t *buf, size_t len, struct ms_catalog_scrub *out)
{
    MS_ASSERT(out != NULL);
    if (buf == NULL || len != MS_CATALOG_SCRUB_BYTES || buf[0] != MS_CATALOG_VERSION)
        return MS_CORRUPT();
    if (buf[1] < MS_SCRUB_CHECKSUM || buf[1] > MS_SCRUB_IO || get_u16(buf + 2) != 0)
        return MS_CORRUPT();
    out->reason = (enum ms_scrub_reason)buf[1];
    out->record = get_u32(buf + 4);
    out->time_ms = get_u64(buf + 8);
    MS_ASSERT(out->reason >= MS_SCRUB_CHECKSUM && out->reason <= MS_SCRUB_IO);
    return 0;
}

int ms_catalog_init(struct ms_catalog *cat, struct ms_kv *kv)
{
    MS_ASSERT(cat != NULL);
    MS_ASSERT(kv != NULL);
    int f = ms_kv_cf_index(kv, MS_CATALOG_CF_FRAGS);
    int w = ms_kv_cf_index(kv, MS_CATALOG_CF_WIPE);
    int s = ms_kv_cf_index(kv, MS_CATALOG_CF_SCRUB);
    if (f < 0 || w < 0 || s < 0) {
        ms_log(MS_LOG_ERROR, "node", "event=catalog_init_failed reason=missing_column_family");
        return -EINVAL;
    }
    cat->kv = kv;
    cat->cf_frags = (unsigned)f;
    cat->cf_wipe = (unsigned)w;
    cat->cf_scrub = (unsigned)s;
    return 0;
}

/* Reads key of cf into buf, which must receive exactly want bytes. */
static int get_fixed(const struct ms_catalog *cat, unsigned cf, const struct ms_fragstore_key *key,
                     uint8_t *buf, size_t want)
{
    MS_ASSERT(cat != NULL && cat->kv != NULL);
    MS_ASSERT(want <= 64);
    uint8_t k[MS_CATALOG_KEY_BYTES];
    ms_catalog_key_encode(key, k);
    void *val = NULL;
    size_t vlen = 0;
    int rc = ms_kv_get(cat->kv, cf, k, sizeof(k), &val, &vlen);
    if (rc < 0)
        return rc;
    if (vlen != want) {
        free(val);
        return MS_CORRUPT();
    }
    memcpy(buf, val, want);
    free(val);
    return 0;
}

int ms_catalog_get(const struct ms_catalog *cat, const struct ms_fragstore_key *key,
                   struct ms_catalog_rec *out)
{
    uint8_t buf[MS_CATALOG_REC_BYTES];
    int rc = get_fixed(cat, cat->cf_frags, key, buf, sizeof(buf));
    if (rc < 0)
        return rc;
    return ms_catalog_rec_decode(buf, sizeof(buf), out);
}

int ms_catalog_wipe_get(const struct ms_catalog *cat, const struct ms_fragstore_key *key,
                        struct ms_catalog_wipe *out)
{
    uint8_t buf[MS_CATALOG_WIPE_BYTES];
    int rc = get_fixed(cat, cat->cf_wipe, key, buf, sizeof(buf));
    if (rc < 0)
        return rc;
    return ms_catalog_wipe_decode(buf, sizeof(buf), out);
}

int ms_catalog_scrub_get(const struct ms_catalog *cat, const struct ms_fragstore_key *key,
                         struct ms_catalog_scrub *out)
{
    uint8_t buf[MS_CATALOG_SCRUB_BYTES];
    int rc = get_fixed(cat, cat->cf_scrub, key, buf, sizeof(buf));
    if (rc < 0)
        return rc;
    return ms_catalog_scrub_decode(buf, sizeof(buf), out);
}

int ms_catalog_scrub_put(const struct ms_catalog *cat, const struct ms_fragstore_key *key,
                         const struct ms_catalog_scrub *entry)
{
    MS_ASSERT(cat != NULL && entry != NULL);
    uint8_t k[MS_CATALOG_KEY_BYTES];
    uint8_t v[MS_CATALOG_SCRUB_BYTES];
    ms_catalog_key_encode(key, k);
    ms_catalog_scrub_encode(entry, v);
    return ms_kv_put(cat->kv, cat->cf_scrub, k, sizeof(k), v, sizeof(v), true);
}

int ms_catalog_scrub_delete(const struct ms_catalog *cat, const struct ms_fragstore_key *key)
{
    MS_ASSERT(cat != NULL && key != NULL);
    uint8_t k[MS_CATALOG_KEY_BYTES];
    ms_catalog_key_encode(key, k);
    return ms_kv_delete(cat->kv, cat->cf_scrub, k, sizeof(k), true);
}

int ms_catalog_batch_put(const struct ms_catalog *cat, struct ms_kv_batch *batch,
                         const struct ms_fragstore_key *key, const struct ms_catalog_rec *rec)
{
    MS_ASSERT(cat != NULL && batch != NULL);
    uint8_t k[MS_CATALOG_KEY_BYTES];
    uint8_t v[MS_CATALOG_REC_BYTES];
    ms_catalog_key_encode(key, k);
    ms_catalog_rec_encode(rec, v);
    return ms_kv_batch_put(batch, cat->cf_frags, k, sizeof(k), v, sizeof(v));
}

int ms_catalog_batch_wipe(const struct ms_catalog *cat, struct ms_kv_batch *batch,
                          const struct ms_fragstore_key *key, const struct ms_catalog_wipe *w)
{
    MS_ASSERT(cat != NULL && batch != NULL);
    uint8_t k[MS_CATALOG_KEY_BYTES];
    uint8_t v[MS_CATALOG_WIPE_BYTES];
    ms_catalog_key_encode(key, k);
    ms_catalog_wipe_encode(w, v);
    return ms_kv_batch_put(batch, cat->cf_wipe, k, sizeof(k), v, sizeof(v));
}

int ms_catalog_batch_forget(const struct ms_catalog *cat, struct ms_kv_batch *batch,
                            const struct ms_fragstore_key *key)
{
    MS_ASSERT(cat != NULL && batch != NULL);
    uint8_t k[MS_CATALOG_KEY_BYTES];
    ms_catalog_key_encode(key, k);
    int rc = ms_kv_batch_delete(batch, cat->cf_frags, k, sizeof(k));
    if (rc < 0)
        return rc;
    return ms_kv_batch_delete(batch, cat->cf_wipe, k, sizeof(k));
}

int64_t ms_catalog_count(const struct ms_catalog *cat, unsigned cf)
{
    MS_ASSERT(cat != NULL && cat->kv != NULL);
    MS_ASSERT(cf < cat->kv->cf_count);
    struct ms_kv_iter *it = NULL;
    int rc = ms_kv_iter_create(cat->kv, cf, NULL, 0, NULL, 0, &it);
    if (rc < 0)
        return rc;
    int64_t n = 0;
    for (ms_kv_iter_seek_to_first(it); ms_kv_iter_valid(it); ms_kv_iter_next(it))
        n++;
    rc = ms_kv_iter_status(it);
    ms_kv_iter_destroy(it);
    return rc < 0 ? rc : n;
}

int ms_catalog_page(const struct ms_catalog *cat, unsigned cf, const struct ms_fragstore_key *after,
                    size_t limit,
                    int (*row_cb)(const struct ms_fragstore_key *key, const void *val,
                                  size_t vlen, size_t n, void *arg),
                    void *arg)
{
    MS_ASSERT(cat != NULL && row_cb != NULL);
    MS_ASSERT(limit > 0 && limit <= INT32_MAX);
    struct ms_kv_iter *it = NULL;
    int rc = ms_kv_iter_create(cat->kv, cf, NULL, 0, NULL, 0, &it);
    if (rc < 0)
        return rc;
    uint8_t k[MS_CATALOG_KEY_BYTES];
    if (after) {
        ms_catalog_key_encode(after, k);
        ms_kv_iter_seek(it, k, sizeof(k));
    } else {
        ms_kv_iter_seek_to_first(it);
    }
    size_t n = 0;
    for (; rc == 0 && n < limit && ms_kv_iter_valid(it); ms_kv_iter_next(it)) {
        size_t klen = 0, vlen = 0;
        const void *kp = ms_kv_iter_key(it, &klen);
        const void *vp = ms_kv_iter_value(it, &vlen);
        if (after && klen == sizeof(k) && memcmp(kp, k, sizeof(k)) == 0)
            continue; /* the page starts strictly after the caller's last key */
        struct ms_fragstore_key key;
        rc = ms_catalog_key_decode(kp, klen, &key);
        if (rc == 0)
            rc = row_cb(&key, vp, vlen, n, arg);
        if (rc > 0) {
            n++;
            rc = 0;
        }
    }
    if (rc == 0)
        rc = ms_kv_iter_status(it);
    ms_kv_iter_destroy(it);
    MS_ASSERT(rc < 0 || n <= limit);
    return rc < 0 ? rc : (int)n;
}
