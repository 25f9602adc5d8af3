/*
 * manifest.c - encode / decode of the object manifest (manifest_format.h).
 *
 * Decode takes untrusted bytes (they come back from meta, over the network): the total length
 * must equal exactly what the header's counts imply, the trailing XXH3-128 must match, and
 * every relation is re-checked (ms_manifest_check): segment count vs object length and
 * segment size, each segment's plaintext length vs its position, stored lengths vs the
 * compression flag (raw: plain + 16; zstd: at most 95 % of plain + 16), known algorithms.
 * Only then is memory allocated, bounded by the input length. Encode refuses an inconsistent
 * struct the same way, so a manifest that encodes always decodes.
 */
#include "codec/codec_int.h"

#include <errno.h>
#include <stdlib.h>

#include "codec/manifest_format.h"
#include "common/ms_assert.h"

uint64_t ms_manifest_bytes(uint32_t n_segments, unsigned shards)
{
    MS_ASSERT(shards >= 2 && shards <= MS_FRAG_MAX_SHARDS);
    uint64_t entry = MS_MANIFEST_ENTRY_FIXED_BYTES + (uint64_t)MS_FRAG_CSUM_BYTES * shards;
    return MS_MANIFEST_HDR_BYTES + entry * n_segments + MS_FRAG_CSUM_BYTES;
}

/* Header-level relations, shared with the fragment header's rules. */
static int check_object(const struct ms_manifest *mf)
{
    struct ms_frag_hdr h;
    memset(&h, 0, sizeof(h));
    h.oid = mf->oid;
    h.k = mf->k;
    h.m = mf->m;
    h.ec_alg = mf->ec_alg;
    h.aead_alg = mf->aead_alg;
    h.comp_alg = mf->comp_alg;
    h.csum_alg = mf->csum_alg;
    h.segment_size_bytes = mf->segment_size_bytes;
    h.shard_align_bytes = mf->shard_align_bytes;
    h.segment_count = mf->segment_count;
    h.object_len_bytes = mf->object_len_bytes;
    int rc = ms_frag_hdr_check(&h);
    MS_DASSERT(rc <= 0);
    return rc;
}

int ms_manifest_check(const struct ms_manifest *mf)
{
    MS_ASSERT(mf != NULL);
    int rc = check_object(mf);
    if (rc != 0)
        return rc;
    MS_ASSERT(mf->segs != NULL || mf->segment_count == 0);
    for (uint32_t i = 0; i < mf->segment_count; i++) {
        const struct ms_manifest_seg *s = &mf->segs[i];
        uint32_t plain = ms_seg_plain_len(mf->object_len_bytes, mf->segment_size_bytes, i);
        if (s->plain_len_bytes != plain || (s->flags & ~MS_MANIFEST_SEG_COMPRESSED) != 0)
            return -MEDSTORE_EFORMAT;
        if (s->flags & MS_MANIFEST_SEG_COMPRESSED) {
            if (mf->comp_alg != MS_COMPRESS_ZSTD ||
                s->stored_len_bytes <= MS_FRAG_AEAD_TAG_BYTES ||
                s->stored_len_bytes - MS_FRAG_AEAD_TAG_BYTES > ms_compress_keep_limit(plain))
                return -MEDSTORE_EFORMAT;
        } else if (s->stored_len_bytes != plain + MS_FRAG_AEAD_TAG_BYTES) {
            return -MEDSTORE_EFORMAT;
        }
    }
    return 0;
}

static void put_header(const struct ms_manifest *mf, uint8_t *out, uint32_t entry_bytes)
{
    MS_ASSERT(out != NULL);
    MS_ASSERT(entry_bytes > MS_MANIFEST_ENTRY_FIXED_BYTES);
    memset(out, 0, MS_MANIFEST_HDR_BYTES);
    ms_put_le32(out + MS_MF_OFF_MAGIC, MS_MANIFEST_MAGIC);
    ms_put_le16(out + MS_MF_OFF_VERSION, MS_MANIFEST_VERSION);
    ms_put_le16(out + MS_MF_OFF_HDR_BYTES, MS_MANIFEST_HDR_BYTES);
    memcpy(out + MS_MF_OFF_OID, mf->oid.b, MS_OID_BYTES);
    ms_put_le64(out + MS_MF_OFF_OBJ_LEN, mf->object_len_bytes);
    ms_put_le32(out + MS_MF_OFF_SEG_BYTES, mf->segment_size_bytes);
    ms_put_le32(out + MS_MF_OFF_ALIGN, mf->shard_align_bytes);
    ms_put_le32(out + MS_MF_OFF_SEG_COUNT, mf->segment_count);
    out[MS_MF_OFF_K] = mf->k;
    out[MS_MF_OFF_M] = mf->m;
    out[MS_MF_OFF_EC_ALG] = mf->ec_alg;
    out[MS_MF_OFF_AEAD_ALG] = mf->aead_alg;
    out[MS_MF_OFF_COMP_ALG] = mf->comp_alg;
    out[MS_MF_OFF_CSUM_ALG] = mf->csum_alg;
    ms_put_le32(out + MS_MF_OFF_ENTRY_BYTES, entry_bytes);
    memcpy(out + MS_MF_OFF_PHASH, mf->phash, MS_CODEC_PHASH_BYTES);
}

int ms_manifest_encode(const struct ms_manifest *mf, uint8_t **out, size_t *out_len)
{
    MS_ASSERT(mf != NULL);
    MS_ASSERT(out != NULL && out_len != NULL);
    if (ms_manifest_check(mf) != 0 || (mf->segment_count > 0 && mf->shard_csum == NULL))
        return -EINVAL;
    unsigned shards = (unsigned)mf->k + mf->m;
    uint64_t total = ms_manifest_bytes(mf->segment_count, shards);
    if (total > SIZE_MAX)
        return -EINVAL;
    uint8_t *buf = malloc((size_t)total);
    if (buf == NULL)
        return -ENOMEM;
    uint32_t entry = MS_MANIFEST_ENTRY_FIXED_BYTES + MS_FRAG_CSUM_BYTES * shards;
    put_header(mf, buf, entry);
    uint8_t *p = buf + MS_MANIFEST_HDR_BYTES;
    for (uint32_t i = 0; i < mf->segment_count; i++, p += entry) {
        memset(p, 0, MS_MANIFEST_ENTRY_FIXED_BYTES);
        ms_put_le32(p + MS_MFE_OFF_PLAIN, mf->segs[i].plain_len_bytes);
        ms_put_le32(p + MS_MFE_OFF_STORED, mf->segs[i].stored_len_bytes);
        p[MS_MFE_OFF_FLAGS] = mf->segs[i].flags;
        memcpy(p + MS_MFE_OFF_CSUMS, mf->shard_csum[(size_t)i * shards],
               (size_t)MS_FRAG_CSUM_BYTES * shards);
    }
    ms_csum128(buf, (size_t)(p - buf), MS_MANIFEST_SEED, p);
    MS_ASSERT((uint64_t)(p - buf) + MS_FRAG_CSUM_BYTES == total);
    *out = buf;
    *out_len = (size_t)total;
    return 0;
}

/* Parses the fixed header; checks magic, version, sizes and the total length. */
static int get_header(const uint8_t *buf, size_t len, struct ms_manifest *mf)
{
    MS_ASSERT(mf != NULL);
    MS_ASSERT(buf != NULL || len == 0);
    if (len < MS_MANIFEST_HDR_BYTES + MS_FRAG_CSUM_BYTES)
        return -MEDSTORE_ETRUNCATED;
    if (ms_get_le32(buf + MS_MF_OFF_MAGIC) != MS_MANIFEST_MAGIC)
        return -MEDSTORE_EFORMAT;
    if (ms_get_le16(buf + MS_MF_OFF_VERSION) != MS_MANIFEST_VERSION)
        return -MEDSTORE_EVERSION;
    if (ms_get_le16(buf + MS_MF_OFF_HDR_BYTES) != MS_MANIFEST_HDR_BYTES ||
        ms_get_le16(buf + MS_MF_OFF_FLAGS) != 0 || !ms_all_zero(buf + MS_MF_OFF_RESERVED, 8))
        return -MEDSTORE_EFORMAT;
    memcpy(mf->oid.b, buf + MS_MF_OFF_OID, MS_OID_BYTES);
    mf->object_len_bytes = ms_get_le64(buf + MS_MF_OFF_OBJ_LEN);
    mf->segment_size_bytes = ms_get_le32(buf + MS_MF_OFF_SEG_BYTES);
    mf->shard_align_bytes = ms_get_le32(buf + MS_MF_OFF_ALIGN);
    mf->segment_count = ms_get_le32(buf + MS_MF_OFF_SEG_COUNT);
    mf->k = buf[MS_MF_OFF_K];
    mf->m = buf[MS_MF_OFF_M];
    mf->ec_alg = buf[MS_MF_OFF_EC_ALG];
    mf->aead_alg = buf[MS_MF_OFF_AEAD_ALG];
    mf->comp_alg = buf[MS_MF_OFF_COMP_ALG];
    mf->csum_alg = buf[MS_MF_OFF_CSUM_ALG];
    memcpy(mf->phash, buf + MS_MF_OFF_PHASH, MS_CODEC_PHASH_BYTES);
    int rc = check_object(mf);
    if (rc != 0)
        return rc;
    unsigned shards = (unsigned)mf->k + mf->m;
    if (ms_get_le32(buf + MS_MF_OFF_ENTRY_BYTES) !=
        MS_MANIFEST_ENTRY_FIXED_BYTES + MS_FRAG_CSUM_BYTES * shards)
        return -MEDSTORE_EFORMAT;
    uint64_t want = ms_manifest_bytes(mf->segment_count, shards);
    if (len != want)
        return len < want ? -MEDSTORE_ETRUNCATED : -MEDSTORE_EFORMAT;
    return 0;
}

static int get_entries(const uint8_t *buf, struct ms_manifest *mf)
{
    MS_ASSERT(buf != NULL && mf != NULL);
    unsigned shards = (unsigned)mf->k + mf->m;
    size_t n = mf->segment_count;
    size_t entry = MS_MANIFEST_ENTRY_FIXED_BYTES + (size_t)MS_FRAG_CSUM_BYTES * shards;
    mf->segs = calloc(n ? n : 1, sizeof(*mf->segs));
    mf->shard_csum = calloc(n ? n * shards : 1, MS_FRAG_CSUM_BYTES);
    if (mf->segs == NULL || mf->shard_csum == NULL)
        return -ENOMEM;
    const uint8_t *p = buf + MS_MANIFEST_HDR_BYTES;
    for (size_t i = 0; i < n; i++, p += entry) {
        if (!ms_all_zero(p + MS_MFE_OFF_RESERVED, 3))
            return -MEDSTORE_EFORMAT;
        mf->segs[i].plain_len_bytes = ms_get_le32(p + MS_MFE_OFF_PLAIN);
        mf->segs[i].stored_len_bytes = ms_get_le32(p + MS_MFE_OFF_STORED);
        mf->segs[i].flags = p[MS_MFE_OFF_FLAGS];
        memcpy(mf->shard_csum[i * shards], p + MS_MFE_OFF_CSUMS,
               (size_t)MS_FRAG_CSUM_BYTES * shards);
    }
    return ms_manifest_check(mf);
}

int ms_manifest_decode(const uint8_t *buf, size_t len, struct ms_manifest *mf)
{
    MS_ASSERT(mf != NULL);
    MS_ASSERT(buf != NULL || len == 0);
    struct ms_manifest m;
    memset(&m, 0, sizeof(m));
    int rc = get_header(buf, len, &m);
    if (rc != 0)
        return rc;
    uint8_t csum[MS_FRAG_CSUM_BYTES];
    ms_csum128(buf, len - MS_FRAG_CSUM_BYTES, MS_MANIFEST_SEED, csum);
    if (!ms_csum_equal(csum, buf + len - MS_FRAG_CSUM_BYTES))
        return MS_CORRUPT();
    rc = get_entries(buf, &m);
    if (rc != 0) {
        ms_manifest_fini(&m);
        return rc;
    }
    *mf = m;
    return 0;
}

void ms_manifest_fini(struct ms_manifest *mf)
{
    if (mf == NULL)
        return;
    free(mf->segs);
    free(mf->shard_csum);
    memset(mf, 0, sizeof(*mf));
}

int ms_manifest_frag_hdr(const struct ms_manifest *mf, uint8_t frag_index,
                         struct ms_frag_hdr *hdr)
{
    MS_ASSERT(mf != NULL && hdr != NULL);
    MS_ASSERT(mf->k >= 1);
    if (frag_index >= mf->k + mf->m)
        return -EINVAL;
    memset(hdr, 0, sizeof(*hdr));
    hdr->oid = mf->oid;
    hdr->frag_index = frag_index;
    hdr->k = mf->k;
    hdr->m = mf->m;
    hdr->ec_alg = mf->ec_alg;
    hdr->aead_alg = mf->aead_alg;
    hdr->comp_alg = mf->comp_alg;
    hdr->csum_alg = mf->csum_alg;
    hdr->segment_size_bytes = mf->segment_size_bytes;
    hdr->shard_align_bytes = mf->shard_align_bytes;
    hdr->segment_count = mf->segment_count;
    hdr->object_len_bytes = mf->object_len_bytes;
    return 0;
}
