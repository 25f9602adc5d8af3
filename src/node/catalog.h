/*
 * catalog.h - the node's local catalogue, wipe intents and scrub entries in the kv port.
 *
 * Three column families (docs/node.md, "On-disk layout"): "frags" maps a fragment key to a
 * fixed 48-byte little-endian record, "wipe" to a 16-byte wipe intent, "scrub" to a 16-byte
 * damage entry. Keys are 17 bytes: the 16-byte object id, then the fragment index, so kv order
 * is (oid, index) order and a listing pages with an after-key.
 *
 * The encoders and decoders are pure. Decoders treat stored bytes as untrusted: a wrong length,
 * version, state or a non-zero reserved field is -MEDSTORE_ECORRUPT, never a crash.
 * Thread safety: pure functions are reentrant; the kv helpers are as thread safe as the kv.
 */
#ifndef MS_NODE_CATALOG_H
#define MS_NODE_CATALOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "node/fragstore.h"

struct ms_kv;
struct ms_kv_batch;

#define MS_CATALOG_CF_FRAGS "frags"
#define MS_CATALOG_CF_WIPE "wipe"
#define MS_CATALOG_CF_SCRUB "scrub"

#define MS_CATALOG_KEY_BYTES 17
#define MS_CATALOG_REC_BYTES 48
#define MS_CATALOG_WIPE_BYTES 16
#define MS_CATALOG_SCRUB_BYTES 16
#define MS_CATALOG_VERSION 1

/* Catalogue record layout (byte offsets; docs/node.md has the same table). */
#define MS_CATALOG_OFF_VERSION 0
#define MS_CATALOG_OFF_STATE 1
#define MS_CATALOG_OFF_RESERVED 2
#define MS_CATALOG_OFF_SEGMENTS 4
#define MS_CATALOG_OFF_LOGICAL 8
#define MS_CATALOG_OFF_FILE 16
#define MS_CATALOG_OFF_CREATED 24
#define MS_CATALOG_OFF_HDRSUM 32
_Static_assert(MS_CATALOG_OFF_HDRSUM + 16 == MS_CATALOG_REC_BYTES, "record layout");
_Static_assert(MS_CATALOG_KEY_BYTES == MS_OID_BYTES + 1, "key = oid + index");

/* State of a catalogue record. Absent and writing fragments have no record. */
enum ms_catalog_state {
    MS_CATALOG_COMMITTED = 1,
    MS_CATALOG_WIPING = 2,
};

/* A decoded catalogue record. */
struct ms_catalog_rec {
    enum ms_catalog_state state;
    uint32_t segment_count;
    uint64_t logical_bytes;
    uint64_t file_bytes;
    uint64_t created_ms;
    uint8_t header_checksum[16];
};

/* Why a wipe was started (stored in the intent; diagnostics only). */
enum ms_wipe_reason {
    MS_WIPE_DELETE = 1, /* DeleteFragment */
    MS_WIPE_ORPHAN = 2, /* file found without a record at open */
};

/* A decoded wipe intent. */
struct ms_catalog_wipe {
    enum ms_wipe_reason reason;
    uint64_t started_ms;
};

/* Why scrub (or a read, a verify, or open) flagged a fragment. */
enum ms_scrub_reason {
    MS_SCRUB_CHECKSUM = 1, /* a shard record's XXH3-128 does not match */
    MS_SCRUB_HEADER = 2,   /* the header does not decode or differs from the catalogue */
    MS_SCRUB_INDEX = 3,    /* the segment index does not decode or disagrees with records */
    MS_SCRUB_MISSING = 4,  /* catalogue record without a file */
    MS_SCRUB_SIZE = 5,     /* file size differs from the catalogue */
    MS_SCRUB_IO = 6,       /* the file could not be read (EIO) */
};

/* A decoded scrub entry. record is the shard record number, or UINT32_MAX when not one. */
struct ms_catalog_scrub {
    enum ms_scrub_reason reason;
    uint32_t record;
    uint64_t time_ms;
};

/* Writes the 17-byte kv key of key into out. */
void ms_catalog_key_encode(const struct ms_fragstore_key *key, uint8_t out[MS_CATALOG_KEY_BYTES]);

/* Decodes a kv key; returns 0, or -MEDSTORE_ECORRUPT when len is not 17 or the index is
 * >= MS_FRAGSTORE_MAX_INDEX. Fills *out only on success. */
MS_MUST_CHECK int ms_catalog_key_decode(const uint8_t *buf, size_t len,
                                        struct ms_fragstore_key *out);

/* Encodes rec (state must be valid) into out. */
void ms_catalog_rec_encode(const struct ms_catalog_rec *rec, uint8_t out[MS_CATALOG_REC_BYTES]);

/* Decodes a stored record; returns 0 or -MEDSTORE_ECORRUPT. Fills *out only on success. */
MS_MUST_CHECK int ms_catalog_rec_decode(const uint8_t *buf, size_t len, struct ms_catalog_rec *out);

/* Encodes a wipe intent (reason must be valid) into out. Pure; thread safe. */
void ms_catalog_wipe_encode(const struct ms_catalog_wipe *w, uint8_t out[MS_CATALOG_WIPE_BYTES]);
/* Returns 0 or -MEDSTORE_ECORRUPT; fills *out only on success. */
MS_MUST_CHECK int ms_catalog_wipe_decode(const uint8_t *buf, size_t len,
                                         struct ms_catalog_wipe *out);

/* Encodes a scrub entry (reason must be valid) into out. Pure; thread safe. */
void ms_catalog_scrub_encode(const struct ms_catalog_scrub *s,
                             uint8_t out[MS_CATALOG_SCRUB_BYTES]);
/* Returns 0 or -MEDSTORE_ECORRUPT; fills *out only on success. */
MS_MUST_CHECK int ms_catalog_scrub_decode(const uint8_t *buf, size_t len,
                                          struct ms_catalog_scrub *out);

/* The catalogue's handle on the kv: the kv and the indexes of its three column families.
 * Plain data owned by the caller (the fragment store embeds one). */
struct ms_catalog {
    struct ms_kv *kv;
    unsigned cf_frags;
    unsigned cf_wipe;
    unsigned cf_scrub;
};

/* Binds cat to kv (borrowed; must outlive cat), which must have been opened with the column
 * families "frags", "wipe" and "scrub". Returns 0, or -EINVAL when one is missing. */
MS_MUST_CHECK int ms_catalog_init(struct ms_catalog *cat, struct ms_kv *kv);

/* Reads the catalogue record of key. Returns 0, -MEDSTORE_ENOTFOUND, -MEDSTORE_ECORRUPT (stored
 * record undecodable), or the kv's error. Fills *out only on success. */
MS_MUST_CHECK int ms_catalog_get(const struct ms_catalog *cat, const struct ms_fragstore_key *key,
                                 struct ms_catalog_rec *out);

/* Reads the wipe intent of key. Returns 0, -MEDSTORE_ENOTFOUND, -MEDSTORE_ECORRUPT, kv error. */
MS_MUST_CHECK int ms_catalog_wipe_get(const struct ms_catalog *cat,
                                      const struct ms_fragstore_key *key,
                                      struct ms_catalog_wipe *out);

/* Reads the scrub entry of key. Returns 0, -MEDSTORE_ENOTFOUND, -MEDSTORE_ECORRUPT, kv error. */
MS_MUST_CHECK int ms_catalog_scrub_get(const struct ms_catalog *cat,
                                       const struct ms_fragstore_key *key,
                                       struct ms_catalog_scrub *out);

/* Writes (synced) the scrub entry of key, replacing an older one. Returns 0 or a kv error. */
MS_MUST_CHECK int ms_catalog_scrub_put(const struct ms_catalog *cat,
                                       const struct ms_fragstore_key *key,
                                       const struct ms_catalog_scrub *entry);

/* Removes (synced) the scrub entry of key (the repair seam). Returns 0 or a kv error. */
MS_MUST_CHECK int ms_catalog_scrub_delete(const struct ms_catalog *cat,
                                          const struct ms_fragstore_key *key);

/* Adds "put record of key" to batch. Returns 0 or a kv error (-ENOMEM). */
MS_MUST_CHECK int ms_catalog_batch_put(const struct ms_catalog *cat, struct ms_kv_batch *batch,
                                       const struct ms_fragstore_key *key,
                                       const struct ms_catalog_rec *rec);

/* Adds "put wipe intent of key" to batch. Returns 0 or a kv error. */
MS_MUST_CHECK int ms_catalog_batch_wipe(const struct ms_catalog *cat, struct ms_kv_batch *batch,
                                        const struct ms_fragstore_key *key,
                                        const struct ms_catalog_wipe *w);

/* Adds "delete the record and the wipe intent of key" to batch. Returns 0 or a kv error. */
MS_MUST_CHECK int ms_catalog_batch_forget(const struct ms_catalog *cat,
                                          struct ms_kv_batch *batch,
                                          const struct ms_fragstore_key *key);

/* Walks column family cf in key order from just after *after (NULL: from the first key),
 * calling row_cb for each row until it has taken limit rows (1 .. INT32_MAX). row_cb decodes
 * the row's value into slot n of the caller's output and returns 1 when it took the row, 0 to
 * skip it, or a negative code that ends the walk. A key that does not decode ends the walk with
 * its error. Returns the rows taken, or a negative code. Used by the paged RPCs (ListFragments
 * over cf_frags, ScrubReport over cf_scrub). */
MS_MUST_CHECK int ms_catalog_page(const struct ms_catalog *cat, unsigned cf,
                                  const struct ms_fragstore_key *after, size_t limit,
                                  int (*row_cb)(const struct ms_fragstore_key *key,
                                                const void *val, size_t vlen, size_t n,
                                                void *arg),
                                  void *arg);

/* Counts the keys of column family cf (committed fragments: cat->cf_frags; damaged ones:
 * cat->cf_scrub). Returns the count (>= 0) or a kv error. */
MS_MUST_CHECK int64_t ms_catalog_count(const struct ms_catalog *cat, unsigned cf);

#endif
