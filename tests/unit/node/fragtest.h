/*
 * fragtest.h - helpers for the fragment store tests (unit and fault): build valid fragments
 * with the codec's key-free format functions, open a store on a temp directory with the
 * memory kv, count files in a directory.
 *
 * Fragments: k = 4, m = 2, n segments of one payload length each (a multiple of 64), deterministic
 * payload bytes from a seed. No key is involved: the node never decrypts.
 */
#ifndef MS_TESTS_FRAGTEST_H
#define MS_TESTS_FRAGTEST_H

#include <dirent.h>
#include <stdbool.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "codec/frag_format.h"
#include "common/io.h"
#include "common/kv.h"
#include "common/ms_assert.h"
#include "node/fragstore.h"
#include "testutil.h"

/* A fragment built in memory (malloc'd bytes, caller frees with fragtest_free). */
struct fragtest {
    uint8_t *bytes;
    size_t len;
    struct ms_fragstore_key key;
    uint32_t n_seg;
    uint32_t payload;
};

static inline void fragtest_oid(struct ms_oid *oid, uint64_t seed)
{
    ms_test_fill(oid->b, sizeof(oid->b), seed * 7919u + 1);
}

/* Builds fragment frag_index of object oid with n_seg records of payload bytes. */
static inline int fragtest_build(struct fragtest *f, const struct ms_oid *oid, uint8_t frag_index,
                                 uint32_t n_seg, uint32_t payload, uint64_t seed)
{
    memset(f, 0, sizeof(*f));
    uint32_t seg = payload * 4 > 4096 ? payload * 4 : 4096;
    /* Odd seeds stream with the segment count and object length unknown (allowed together). */
    bool known = seed % 2 == 0;
    struct ms_frag_hdr h = {.oid = *oid, .frag_index = frag_index, .k = 4, .m = 2,
                            .ec_alg = MS_EC_CAUCHY1, .aead_alg = MS_AEAD_AES256GCM,
                            .comp_alg = MS_COMPRESS_NONE, .csum_alg = MS_CSUM_XXH3_128,
                            .segment_size_bytes = seg, .shard_align_bytes = 64,
                            .segment_count = known ? n_seg : MS_FRAG_SEGS_UNKNOWN,
                            .object_len_bytes = known ? (uint64_t)n_seg * seg
                                                      : MS_FRAG_LEN_UNKNOWN};
    uint64_t rec_len = MS_FRAG_REC_HDR_BYTES + (uint64_t)payload;
    uint64_t idx_off = MS_FRAG_HDR_BYTES + rec_len * n_seg;
    size_t len = (size_t)(idx_off + ms_frag_index_bytes(n_seg));
    uint8_t *b = malloc(len);
    struct ms_frag_idx_entry *e = calloc(n_seg + 1u, sizeof(*e));
    if (!b || !e) {
        free(b);
        free(e);
        return -ENOMEM;
    }
    int rc = ms_frag_hdr_encode(&h, b, MS_FRAG_HDR_BYTES);
    for (uint32_t i = 0; i < n_seg && rc == 0; i++) {
        uint8_t *r = b + MS_FRAG_HDR_BYTES + rec_len * i;
        ms_test_fill(r + MS_FRAG_REC_HDR_BYTES, payload, seed * 1000003u + i);
        struct ms_frag_rec rec = {.segment_index = i, .payload_len_bytes = payload,
                                  .frag_index = frag_index};
        rc = ms_frag_rec_encode(&rec, r + MS_FRAG_REC_HDR_BYTES, payload, r,
                                MS_FRAG_REC_HDR_BYTES);
        e[i] = (struct ms_frag_idx_entry){.rec_offset = (uint64_t)(r - b),
                                          .rec_len_bytes = (uint32_t)rec_len, .segment_index = i};
    }
    if (rc == 0)
        rc = ms_frag_index_encode(e, n_seg, idx_off, b + idx_off, len - (size_t)idx_off);
    free(e);
    if (rc != 0) {
        free(b);
        return rc;
    }
    f->bytes = b;
    f->len = len;
    f->key.oid = *oid;
    f->key.frag_index = frag_index;
    f->n_seg = n_seg;
    f->payload = payload;
    return 0;
}

static inline void fragtest_free(struct fragtest *f)
{
    free(f->bytes);
    f->bytes = NULL;
}

/* Offset of record i in a fragtest fragment. */
static inline uint64_t fragtest_rec_off(const struct fragtest *f, uint32_t i)
{
    return MS_FRAG_HDR_BYTES + (uint64_t)i * (MS_FRAG_REC_HDR_BYTES + f->payload);
}

/* Streams f into the store in pieces of chunk bytes and commits. Returns the first error. */
static inline int fragtest_put(struct ms_fragstore *s, const struct fragtest *f, size_t chunk)
{
    struct ms_fragstore_put *p = NULL;
    int rc = ms_fragstore_put_begin(s, &f->key.oid, f->key.frag_index, f->bytes,
                                    MS_FRAG_HDR_BYTES, &p);
    if (rc != 0)
        return rc;
    for (size_t off = MS_FRAG_HDR_BYTES; off < f->len && rc == 0; off += chunk) {
        size_t n = f->len - off < chunk ? f->len - off : chunk;
        rc = ms_fragstore_put_append(p, f->bytes + off, n);
    }
    if (rc != 0) {
        ms_fragstore_put_abort(&p);
        return rc;
    }
    return ms_fragstore_put_commit(&p);
}

/* Reads the whole fragment back and compares it with f. Returns 0 when equal. */
static inline int fragtest_check(struct ms_fragstore *s, const struct fragtest *f)
{
    uint8_t *buf = malloc(f->len + 1);
    if (!buf)
        return -ENOMEM;
    size_t got = 0;
    struct ms_fragstore_range all = {.kind = MS_FRAGSTORE_RANGE_ALL};
    int rc = ms_fragstore_get_buf(s, &f->key, &all, buf, f->len + 1, &got);
    if (rc == 0 && (got != f->len || memcmp(buf, f->bytes, f->len) != 0))
        rc = -EBADMSG;
    free(buf);
    return rc;
}

/* Number of entries (files) in dir/sub not starting with '.', or -errno. */
static inline int fragtest_count_files(const char *dir, const char *sub)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, sub);
    DIR *d = opendir(path);
    if (!d)
        return -errno;
    int n = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

/* Number of fragment files under dir/frags (all 256 subdirectories). */
static inline int fragtest_count_frags(const char *dir)
{
    int total = 0;
    for (unsigned i = 0; i < 256; i++) {
        char sub[16];
        snprintf(sub, sizeof(sub), "frags/%02x", i);
        int n = fragtest_count_files(dir, sub);
        if (n < 0)
            return n;
        total += n;
    }
    return total;
}

/* Path of key's committed file under dir (out holds 4096). */
static inline void fragtest_path(const char *dir, const struct ms_fragstore_key *key, char *out)
{
    char hex[MS_OID_HEX_LEN + 1];
    ms_oid_to_hex(&key->oid, hex);
    snprintf(out, 4096, "%s/frags/%.2s/%s.%u", dir, hex, hex, (unsigned)key->frag_index);
}

/* Opens a kv memory handle with the store's column families on mem (NULL = private). */
static inline int fragtest_kv_open(struct ms_kv_mem_store *mem, struct ms_kv **kv)
{
    size_t n = 0;
    while (ms_fragstore_kv_cfs[n])
        n++;
    return ms_kv_mem_open(mem, ms_fragstore_kv_cfs, n, kv);
}

#endif
