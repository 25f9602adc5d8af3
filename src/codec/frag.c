/*
 * frag.c - the fragment format (frag_format.h): header, shard records, segment index, and the
 * streaming validator a node runs over every byte it stores or serves.
 *
 * Everything here reads untrusted bytes: no length is used before it is bounded by the
 * header's own limits (segment size, k, alignment) and by the bytes actually present, and no
 * function allocates. A decode function fills its out-parameter only on success.
 * Invariants kept by the validator (struct ms_frag_check): records arrive in segment order
 * starting at offset 128, packed; the index block describes exactly those records (its
 * entries hash equal to the entries the records imply); nothing follows the footer.
 * What it refuses: unknown versions, non-zero reserved bytes, k + m > 32, unknown algorithm
 * ids, a record longer than a full uncompressed segment's shard, any checksum mismatch.
 */
#include "codec/frag_format.h"

#include <errno.h>
#include <string.h>

#include "codec/codec_int.h"
#include "common/ms_assert.h"

#define REC_SEED_DOMAIN 0x4d53524543000000ULL /* "MSREC" in the top bytes */

static bool is_pow2(uint32_t v)
{
    return v != 0 && (v & (v - 1)) == 0;
}

uint64_t ms_frag_segments_for(uint64_t len, uint32_t segment_size_bytes)
{
    MS_ASSERT(segment_size_bytes > 0);
    uint64_t n = len / segment_size_bytes + (len % segment_size_bytes != 0);
    MS_DASSERT(n * segment_size_bytes >= len);
    return n;
}

uint32_t ms_frag_shard_len(uint32_t stored_len, uint8_t k, uint32_t align)
{
    MS_ASSERT(k >= 1);
    MS_ASSERT(is_pow2(align));
    uint64_t per = ((uint64_t)stored_len + k - 1) / k;
    uint64_t r = ms_align_up64(per, align);
    MS_DASSERT(r <= UINT32_MAX);
    return (uint32_t)r;
}

uint32_t ms_frag_max_payload(const struct ms_frag_hdr *hdr)
{
    MS_ASSERT(hdr->k >= 1);
    MS_ASSERT(hdr->segment_size_bytes <= MS_FRAG_SEG_MAX_BYTES);
    return ms_frag_shard_len(hdr->segment_size_bytes + MS_FRAG_AEAD_TAG_BYTES, hdr->k,
                             hdr->shard_align_bytes);
}

/* --- header ---------------------------------------------------------------------------- */

static int hdr_check_algs(const struct ms_frag_hdr *hdr)
{
    if (hdr->ec_alg != MS_EC_CAUCHY1)
        return -MEDSTORE_EUNSUPPORTED;
    if (hdr->aead_alg != MS_AEAD_AES256GCM && hdr->aead_alg != MS_AEAD_XCHACHA20POLY1305)
        return -MEDSTORE_EUNSUPPORTED;
    if (hdr->comp_alg != MS_COMPRESS_NONE && hdr->comp_alg != MS_COMPRESS_ZSTD)
        return -MEDSTORE_EUNSUPPORTED;
    if (hdr->csum_alg != MS_CSUM_XXH3_128)
        return -MEDSTORE_EUNSUPPORTED;
    return 0;
}

int ms_frag_hdr_check(const struct ms_frag_hdr *hdr)
{
    MS_ASSERT(hdr != NULL);
    if (hdr->k < 1 || hdr->m < 1 || hdr->k + hdr->m > MS_FRAG_MAX_SHARDS)
        return -MEDSTORE_EFORMAT;
    if (hdr->frag_index >= hdr->k + hdr->m)
        return -MEDSTORE_EFORMAT;
    if (hdr->segment_size_bytes < MS_FRAG_SEG_MIN_BYTES ||
        hdr->segment_size_bytes > MS_FRAG_SEG_MAX_BYTES)
        return -MEDSTORE_EFORMAT;
    if (!is_pow2(hdr->shard_align_bytes) || hdr->shard_align_bytes > MS_FRAG_ALIGN_MAX_BYTES)
        return -MEDSTORE_EFORMAT;
    if (ms_oid_is_nil(&hdr->oid))
        return -MEDSTORE_EFORMAT;
    bool count_known = hdr->segment_count != MS_FRAG_SEGS_UNKNOWN;
    bool len_known = hdr->object_len_bytes != MS_FRAG_LEN_UNKNOWN;
    if (count_known != len_known)
        return -MEDSTORE_EFORMAT;
    if (len_known) {
        if (hdr->object_len_bytes > MS_OBJECT_SIZE_MAX)
            return -MEDSTORE_EFORMAT;
        uint64_t n = ms_frag_segments_for(hdr->object_len_bytes, hdr->segment_size_bytes);
        if (n > MS_FRAG_MAX_SEGMENTS || n != hdr->segment_count)
            return -MEDSTORE_EFORMAT;
    }
    int rc = hdr_check_algs(hdr);
    MS_DASSERT(rc <= 0);
    return rc;
}

int ms_frag_hdr_encode(const struct ms_frag_hdr *hdr, uint8_t *out, size_t out_len)
{
    MS_ASSERT(hdr != NULL);
    if (out == NULL || out_len < MS_FRAG_HDR_BYTES || ms_frag_hdr_check(hdr) != 0)
        return -EINVAL;
    memset(out, 0, MS_FRAG_HDR_BYTES);
    memcpy(out + MS_FRAG_OFF_MAGIC, MS_FRAG_MAGIC, MS_FRAG_MAGIC_BYTES);
    ms_put_le16(out + MS_FRAG_OFF_VERSION, MS_FRAG_VERSION);
    ms_put_le16(out + MS_FRAG_OFF_HDR_BYTES, MS_FRAG_HDR_BYTES);
    memcpy(out + MS_FRAG_OFF_OID, hdr->oid.b, MS_OID_BYTES);
    out[MS_FRAG_OFF_FRAG_INDEX] = hdr->frag_index;
    out[MS_FRAG_OFF_K] = hdr->k;
    out[MS_FRAG_OFF_M] = hdr->m;
    out[MS_FRAG_OFF_EC_ALG] = hdr->ec_alg;
    out[MS_FRAG_OFF_AEAD_ALG] = hdr->aead_alg;
    out[MS_FRAG_OFF_COMP_ALG] = hdr->comp_alg;
    out[MS_FRAG_OFF_CSUM_ALG] = hdr->csum_alg;
    ms_put_le32(out + MS_FRAG_OFF_SEG_BYTES, hdr->segment_size_bytes);
    ms_put_le32(out + MS_FRAG_OFF_ALIGN, hdr->shard_align_bytes);
    ms_put_le32(out + MS_FRAG_OFF_SEG_COUNT, hdr->segment_count);
    ms_put_le64(out + MS_FRAG_OFF_OBJ_LEN, hdr->object_len_bytes);
    ms_csum128(out, MS_FRAG_OFF_CSUM, 0, out + MS_FRAG_OFF_CSUM);
    MS_DASSERT(ms_get_le16(out + MS_FRAG_OFF_VERSION) == MS_FRAG_VERSION);
    return 0;
}

int ms_frag_hdr_decode(const uint8_t *buf, size_t len, struct ms_frag_hdr *hdr)
{
    MS_ASSERT(hdr != NULL);
    MS_ASSERT(buf != NULL || len == 0);
    if (len < MS_FRAG_HDR_BYTES)
        return -MEDSTORE_ETRUNCATED;
    if (memcmp(buf + MS_FRAG_OFF_MAGIC, MS_FRAG_MAGIC, MS_FRAG_MAGIC_BYTES) != 0)
        return -MEDSTORE_EFORMAT;
    if (ms_get_le16(buf + MS_FRAG_OFF_VERSION) != MS_FRAG_VERSION)
        return -MEDSTORE_EVERSION;
    if (ms_get_le16(buf + MS_FRAG_OFF_HDR_BYTES) != MS_FRAG_HDR_BYTES)
        return -MEDSTORE_EFORMAT;
    uint8_t csum[MS_FRAG_CSUM_BYTES];
    ms_csum128(buf, MS_FRAG_OFF_CSUM, 0, csum);
    if (!ms_csum_equal(csum, buf + MS_FRAG_OFF_CSUM))
        return MS_CORRUPT();
    if (ms_get_le32(buf + MS_FRAG_OFF_FLAGS) != 0 || buf[MS_FRAG_OFF_RESERVED1] != 0 ||
        ms_get_le32(buf + MS_FRAG_OFF_RESERVED2) != 0 ||
        !ms_all_zero(buf + MS_FRAG_OFF_RESERVED3, MS_FRAG_OFF_CSUM - MS_FRAG_OFF_RESERVED3))
        return -MEDSTORE_EFORMAT;
    struct ms_frag_hdr h;
    memset(&h, 0, sizeof(h));
    memcpy(h.oid.b, buf + MS_FRAG_OFF_OID, MS_OID_BYTES);
    h.frag_index = buf[MS_FRAG_OFF_FRAG_INDEX];
    h.k = buf[MS_FRAG_OFF_K];
    h.m = buf[MS_FRAG_OFF_M];
    h.ec_alg = buf[MS_FRAG_OFF_EC_ALG];
    h.aead_alg = buf[MS_FRAG_OFF_AEAD_ALG];
    h.comp_alg = buf[MS_FRAG_OFF_COMP_ALG];
    h.csum_alg = buf[MS_FRAG_OFF_CSUM_ALG];
    h.segment_size_bytes = ms_get_le32(buf + MS_FRAG_OFF_SEG_BYTES);
    h.shard_align_bytes = ms_get_le32(buf + MS_FRAG_OFF_ALIGN);
    h.segment_count = ms_get_le32(buf + MS_FRAG_OFF_SEG_COUNT);
    h.object_len_bytes = ms_get_le64(buf + MS_FRAG_OFF_OBJ_LEN);
    int rc = ms_frag_hdr_check(&h);
    if (rc != 0)
        return rc;
    *hdr = h;
    return 0;
}

/* --- shard records ---------------------------------------------------------------------- */

uint64_t ms_frag_record_seed(uint32_t segment_index, uint8_t frag_index)
{
    return REC_SEED_DOMAIN ^ ((uint64_t)segment_index << 8) ^ frag_index;
}

int ms_frag_rec_encode(struct ms_frag_rec *rec, const uint8_t *payload, size_t payload_len,
                       uint8_t *out, size_t out_len)
{
    MS_ASSERT(rec != NULL);
    MS_ASSERT(payload != NULL || payload_len == 0);
    if (out == NULL || out_len < MS_FRAG_REC_HDR_BYTES || payload_len != rec->payload_len_bytes)
        return -EINVAL;
    ms_csum128(payload, payload_len, ms_frag_record_seed(rec->segment_index, rec->frag_index),
               rec->csum);
    memset(out, 0, MS_FRAG_REC_HDR_BYTES);
    ms_put_le32(out + MS_FRAG_REC_OFF_MAGIC, MS_FRAG_REC_MAGIC);
    ms_put_le32(out + MS_FRAG_REC_OFF_SEG, rec->segment_index);
    ms_put_le32(out + MS_FRAG_REC_OFF_LEN, rec->payload_len_bytes);
    out[MS_FRAG_REC_OFF_FRAG] = rec->frag_index;
    memcpy(out + MS_FRAG_REC_OFF_CSUM, rec->csum, MS_FRAG_CSUM_BYTES);
    return 0;
}

int ms_frag_rec_decode(const uint8_t *buf, size_t len, const struct ms_frag_hdr *hdr,
                       struct ms_frag_rec *rec)
{
    MS_ASSERT(hdr != NULL && rec != NULL);
    MS_ASSERT(buf != NULL || len == 0);
    if (len < MS_FRAG_REC_HDR_BYTES)
        return -MEDSTORE_ETRUNCATED;
    if (ms_get_le32(buf + MS_FRAG_REC_OFF_MAGIC) != MS_FRAG_REC_MAGIC)
        return -MEDSTORE_EFORMAT;
    if (buf[MS_FRAG_REC_OFF_FLAGS] != 0 || ms_get_le16(buf + MS_FRAG_REC_OFF_RESERVED) != 0)
        return -MEDSTORE_EFORMAT;
    if (buf[MS_FRAG_REC_OFF_FRAG] != hdr->frag_index)
        return -MEDSTORE_EFORMAT;
    uint32_t seg = ms_get_le32(buf + MS_FRAG_REC_OFF_SEG);
    uint32_t plen = ms_get_le32(buf + MS_FRAG_REC_OFF_LEN);
    if (seg >= MS_FRAG_MAX_SEGMENTS ||
        (hdr->segment_count != MS_FRAG_SEGS_UNKNOWN && seg >= hdr->segment_count))
        return -MEDSTORE_EFORMAT;
    if (plen == 0 || plen % hdr->shard_align_bytes != 0 || plen > ms_frag_max_payload(hdr))
        return -MEDSTORE_EFORMAT;
    rec->segment_index = seg;
    rec->payload_len_bytes = plen;
    rec->frag_index = hdr->frag_index;
    memcpy(rec->csum, buf + MS_FRAG_REC_OFF_CSUM, MS_FRAG_CSUM_BYTES);
    return 0;
}

int ms_frag_rec_verify(const struct ms_frag_rec *rec, const uint8_t *payload, size_t payload_len)
{
    MS_ASSERT(rec != NULL);
    MS_ASSERT(payload != NULL || payload_len == 0);
    if (payload_len != rec->payload_len_bytes)
        return -MEDSTORE_ETRUNCATED;
    uint8_t csum[MS_FRAG_CSUM_BYTES];
    ms_csum128(payload, payload_len, ms_frag_record_seed(rec->segment_index, rec->frag_index),
               csum);
    if (!ms_csum_equal(csum, rec->csum))
        return MS_CORRUPT();
    return 0;
}

int ms_frag_record_check(const uint8_t *buf, size_t len, const struct ms_frag_hdr *hdr,
                         struct ms_frag_rec *rec, const uint8_t **payload, size_t *consumed)
{
    MS_ASSERT(payload != NULL && consumed != NULL);
    MS_ASSERT(rec != NULL);
    struct ms_frag_rec r;
    int rc = ms_frag_rec_decode(buf, len, hdr, &r);
    if (rc != 0)
        return rc;
    if (len - MS_FRAG_REC_HDR_BYTES < r.payload_len_bytes)
        return -MEDSTORE_ETRUNCATED;
    rc = ms_frag_rec_verify(&r, buf + MS_FRAG_REC_HDR_BYTES, r.payload_len_bytes);
    if (rc != 0)
        return rc;
    *rec = r;
    *payload = buf + MS_FRAG_REC_HDR_BYTES;
    *consumed = MS_FRAG_REC_HDR_BYTES + (size_t)r.payload_len_bytes;
    return 0;
}

void ms_frag_rec_stream_init(struct ms_frag_rec_stream *st, const struct ms_frag_rec *rec)
{
    MS_ASSERT(st != NULL && rec != NULL);
    _Static_assert(sizeof(st->opaque) >= MS_CSUM_STATE_BYTES, "stream state fits");
    ms_csum128_init(st->opaque, ms_frag_record_seed(rec->segment_index, rec->frag_index));
    st->fed_bytes = 0;
    st->expect_bytes = rec->payload_len_bytes;
    memcpy(st->expect_csum, rec->csum, MS_FRAG_CSUM_BYTES);
}

int ms_frag_rec_stream_update(struct ms_frag_rec_stream *st, const uint8_t *p, size_t len)
{
    MS_ASSERT(st != NULL);
    MS_ASSERT(p != NULL || len == 0);
    if (len > st->expect_bytes - st->fed_bytes)
        return -MEDSTORE_ETRUNCATED;
    ms_csum128_update(st->opaque, p, len);
    st->fed_bytes += len;
    return 0;
}

int ms_frag_rec_stream_final(struct ms_frag_rec_stream *st)
{
    MS_ASSERT(st != NULL);
    MS_ASSERT(st->fed_bytes <= st->expect_bytes);
    if (st->fed_bytes != st->expect_bytes)
        return -MEDSTORE_ETRUNCATED;
    uint8_t csum[MS_FRAG_CSUM_BYTES];
    ms_csum128_final(st->opaque, csum);
    if (!ms_csum_equal(csum, st->expect_csum))
        return MS_CORRUPT();
    return 0;
}

/* --- segment index ---------------------------------------------------------------------- */

uint64_t ms_frag_index_bytes(uint32_t n_segments)
{
    return MS_FRAG_IDX_HEAD_BYTES + (uint64_t)n_segments * MS_FRAG_IDX_ENTRY_BYTES +
           MS_FRAG_IDX_FOOTER_BYTES;
}

uint64_t ms_frag_size(uint64_t records_bytes, uint32_t n_segments)
{
    return MS_FRAG_HDR_BYTES + records_bytes + ms_frag_index_bytes(n_segments);
}

static void entry_put(uint8_t *p, const struct ms_frag_idx_entry *e)
{
    ms_put_le64(p + MS_FRAG_IDX_OFF_REC_OFF, e->rec_offset);
    ms_put_le32(p + MS_FRAG_IDX_OFF_REC_LEN, e->rec_len_bytes);
    ms_put_le32(p + MS_FRAG_IDX_OFF_SEG, e->segment_index);
}

int ms_frag_index_encode(const struct ms_frag_idx_entry *entries, uint32_t n,
                         uint64_t index_offset, uint8_t *out, size_t out_len)
{
    MS_ASSERT(entries != NULL || n == 0);
    if (out == NULL || out_len < ms_frag_index_bytes(n) || n > MS_FRAG_MAX_SEGMENTS)
        return -EINVAL;
    uint64_t expect = MS_FRAG_HDR_BYTES;
    for (uint32_t i = 0; i < n; i++) {
        if (entries[i].rec_offset != expect || entries[i].segment_index != i ||
            entries[i].rec_len_bytes <= MS_FRAG_REC_HDR_BYTES)
            return -EINVAL;
        expect += entries[i].rec_len_bytes;
    }
    if (expect != index_offset)
        return -EINVAL;
    ms_put_le32(out + MS_FRAG_IDXH_OFF_MAGIC, MS_FRAG_IDX_MAGIC);
    ms_put_le32(out + MS_FRAG_IDXH_OFF_COUNT, n);
    uint8_t *p = out + MS_FRAG_IDX_HEAD_BYTES;
    for (uint32_t i = 0; i < n; i++, p += MS_FRAG_IDX_ENTRY_BYTES)
        entry_put(p, &entries[i]);
    ms_put_le32(p + MS_FRAG_FTR_OFF_MAGIC, MS_FRAG_FTR_MAGIC);
    ms_put_le32(p + MS_FRAG_FTR_OFF_COUNT, n);
    ms_put_le64(p + MS_FRAG_FTR_OFF_IDX_OFF, index_offset);
    ms_csum128(out, (size_t)(p - out) + MS_FRAG_FTR_OFF_CSUM, MS_FRAG_IDX_SEED,
               p + MS_FRAG_FTR_OFF_CSUM);
    MS_DASSERT((uint64_t)(p - out) + MS_FRAG_IDX_FOOTER_BYTES == ms_frag_index_bytes(n));
    return 0;
}

int ms_frag_index_footer_decode(const uint8_t *buf, size_t len, uint64_t frag_size,
                                struct ms_frag_idx_footer *ftr)
{
    MS_ASSERT(ftr != NULL);
    MS_ASSERT(buf != NULL || len == 0);
    if (len < MS_FRAG_IDX_FOOTER_BYTES || frag_size < MS_FRAG_HDR_BYTES + ms_frag_index_bytes(0))
        return -MEDSTORE_ETRUNCATED;
    if (ms_get_le32(buf + MS_FRAG_FTR_OFF_MAGIC) != MS_FRAG_FTR_MAGIC)
        return -MEDSTORE_EFORMAT;
    uint32_t n = ms_get_le32(buf + MS_FRAG_FTR_OFF_COUNT);
    uint64_t off = ms_get_le64(buf + MS_FRAG_FTR_OFF_IDX_OFF);
    if (n > MS_FRAG_MAX_SEGMENTS)
        return -MEDSTORE_EFORMAT;
    uint64_t ib = ms_frag_index_bytes(n);
    /* Each record holds at least its header and one byte of payload. */
    uint64_t min_records = (uint64_t)n * (MS_FRAG_REC_HDR_BYTES + 1);
    if (frag_size < ib || off != frag_size - ib || off < MS_FRAG_HDR_BYTES + min_records)
        return -MEDSTORE_EFORMAT;
    ftr->segment_count = n;
    ftr->index_offset = off;
    memcpy(ftr->csum, buf + MS_FRAG_FTR_OFF_CSUM, MS_FRAG_CSUM_BYTES);
    return 0;
}

static bool rec_len_ok(const struct ms_frag_hdr *hdr, uint32_t rec_len)
{
    if (rec_len <= MS_FRAG_REC_HDR_BYTES)
        return false;
    uint32_t plen = rec_len - MS_FRAG_REC_HDR_BYTES;
    return plen % hdr->shard_align_bytes == 0 && plen <= ms_frag_max_payload(hdr);
}

static int index_entries_decode(const uint8_t *p, uint32_t n, uint64_t index_offset,
                                const struct ms_frag_hdr *hdr, struct ms_frag_idx_entry *out)
{
    MS_ASSERT(p != NULL || n == 0);
    MS_ASSERT(hdr != NULL);
    uint64_t expect = MS_FRAG_HDR_BYTES;
    for (uint32_t i = 0; i < n; i++, p += MS_FRAG_IDX_ENTRY_BYTES) {
        struct ms_frag_idx_entry e = {
            .rec_offset = ms_get_le64(p + MS_FRAG_IDX_OFF_REC_OFF),
            .rec_len_bytes = ms_get_le32(p + MS_FRAG_IDX_OFF_REC_LEN),
            .segment_index = ms_get_le32(p + MS_FRAG_IDX_OFF_SEG),
        };
        if (e.rec_offset != expect || e.segment_index != i || !rec_len_ok(hdr, e.rec_len_bytes))
            return -MEDSTORE_EFORMAT;
        expect += e.rec_len_bytes;
        out[i] = e;
    }
    return expect == index_offset ? 0 : -MEDSTORE_EFORMAT;
}

int ms_frag_index_decode(const uint8_t *buf, size_t len, uint64_t frag_size,
                         const struct ms_frag_hdr *hdr, struct ms_frag_idx_entry *entries,
                         uint32_t max_entries)
{
    MS_ASSERT(hdr != NULL);
    MS_ASSERT(buf != NULL || len == 0);
    if (len < ms_frag_index_bytes(0))
        return -MEDSTORE_ETRUNCATED;
    struct ms_frag_idx_footer ftr;
    int rc = ms_frag_index_footer_decode(buf + len - MS_FRAG_IDX_FOOTER_BYTES,
                                         MS_FRAG_IDX_FOOTER_BYTES, frag_size, &ftr);
    if (rc != 0)
        return rc;
    uint32_t n = ftr.segment_count;
    if (len != ms_frag_index_bytes(n))
        return len < ms_frag_index_bytes(n) ? -MEDSTORE_ETRUNCATED : -MEDSTORE_EFORMAT;
    if (ms_get_le32(buf + MS_FRAG_IDXH_OFF_MAGIC) != MS_FRAG_IDX_MAGIC ||
        ms_get_le32(buf + MS_FRAG_IDXH_OFF_COUNT) != n)
        return -MEDSTORE_EFORMAT;
    if (hdr->segment_count != MS_FRAG_SEGS_UNKNOWN && hdr->segment_count != n)
        return -MEDSTORE_EFORMAT;
    uint8_t csum[MS_FRAG_CSUM_BYTES];
    ms_csum128(buf, len - MS_FRAG_CSUM_BYTES, MS_FRAG_IDX_SEED, csum);
    if (!ms_csum_equal(csum, ftr.csum))
        return MS_CORRUPT();
    if (n > max_entries)
        return -ENOSPC;
    rc = index_entries_decode(buf + MS_FRAG_IDX_HEAD_BYTES, n, ftr.index_offset, hdr, entries);
    if (rc != 0)
        return rc;
    return (int)n;
}

int ms_frag_locate_segments(const struct ms_frag_idx_entry *entries, uint32_t n, uint32_t first,
                            uint32_t count, uint64_t *offset, uint64_t *len)
{
    MS_ASSERT(offset != NULL && len != NULL);
    MS_ASSERT(entries != NULL || n == 0);
    if (count == 0 || first >= n || count > n - first)
        return -MEDSTORE_ERANGE;
    const struct ms_frag_idx_entry *a = &entries[first];
    const struct ms_frag_idx_entry *b = &entries[first + count - 1];
    MS_DASSERT(b->rec_offset >= a->rec_offset);
    *offset = a->rec_offset;
    *len = b->rec_offset + b->rec_len_bytes - a->rec_offset;
    return 0;
}

int ms_frag_range_to_segments(const struct ms_frag_hdr *hdr, uint64_t off, uint64_t len,
                              uint32_t *first, uint32_t *count)
{
    MS_ASSERT(hdr != NULL);
    MS_ASSERT(first != NULL && count != NULL);
    if (hdr->object_len_bytes == MS_FRAG_LEN_UNKNOWN || hdr->segment_size_bytes == 0)
        return -EINVAL;
    if (len == 0 || off >= hdr->object_len_bytes || len > hdr->object_len_bytes - off)
        return -MEDSTORE_ERANGE;
    uint64_t a = off / hdr->segment_size_bytes;
    uint64_t b = (off + len - 1) / hdr->segment_size_bytes;
    MS_DASSERT(b < hdr->segment_count);
    *first = (uint32_t)a;
    *count = (uint32_t)(b - a + 1);
    return 0;
}

/* --- streaming validator ---------------------------------------------------------------- */

int ms_frag_unit_kind(const uint8_t magic[4])
{
    uint32_t v = ms_get_le32(magic);
    if (v == MS_FRAG_REC_MAGIC)
        return 1;
    if (v == MS_FRAG_IDX_MAGIC)
        return 2;
    return 0;
}

void ms_frag_check_init(struct ms_frag_check *chk, const struct ms_frag_hdr *hdr)
{
    MS_ASSERT(chk != NULL && hdr != NULL);
    MS_ASSERT(ms_frag_hdr_check(hdr) == 0);
    _Static_assert(sizeof(chk->expect_state) >= MS_CSUM_STATE_BYTES, "state fits");
    memset(chk, 0, offsetof(struct ms_frag_check, payload_cs));
    chk->hdr = *hdr;
    chk->state = MS_FRAG_CHECK_UNIT;
    chk->max_payload = ms_frag_max_payload(hdr);
    chk->offset = MS_FRAG_HDR_BYTES;
    ms_csum128_init(chk->expect_state, MS_FRAG_IDX_SEED);
    ms_csum128_init(chk->got_state, MS_FRAG_IDX_SEED);
}

static int check_fail(struct ms_frag_check *chk, int err)
{
    MS_ASSERT(err < 0);
    chk->state = MS_FRAG_CHECK_FAILED;
    chk->err = err;
    return err;
}

/* Gathers up to `need` bytes into chk->carry; returns true once complete. */
static bool carry_fill(struct ms_frag_check *chk, uint32_t need, const uint8_t **p, size_t *len)
{
    MS_ASSERT(need <= sizeof(chk->carry));
    MS_ASSERT(chk->carry_len < need);
    size_t take = need - chk->carry_len;
    if (take > *len)
        take = *len;
    memcpy(chk->carry + chk->carry_len, *p, take);
    chk->carry_len += (uint32_t)take;
    chk->offset += take;
    *p += take;
    *len -= take;
    return chk->carry_len == need;
}

static int check_record_head(struct ms_frag_check *chk)
{
    MS_ASSERT(chk->carry_len == MS_FRAG_REC_HDR_BYTES);
    MS_ASSERT(chk->state == MS_FRAG_CHECK_UNIT);
    struct ms_frag_rec rec;
    int rc = ms_frag_rec_decode(chk->carry, MS_FRAG_REC_HDR_BYTES, &chk->hdr, &rec);
    if (rc != 0)
        return rc;
    if (rec.segment_index != chk->seg)
        return -MEDSTORE_EFORMAT;
    struct ms_frag_idx_entry e = {
        .rec_offset = chk->offset - MS_FRAG_REC_HDR_BYTES,
        .rec_len_bytes = MS_FRAG_REC_HDR_BYTES + rec.payload_len_bytes,
        .segment_index = rec.segment_index,
    };
    uint8_t ent[MS_FRAG_IDX_ENTRY_BYTES];
    entry_put(ent, &e);
    ms_csum128_update(chk->expect_state, ent, sizeof(ent));
    chk->rec = rec;
    ms_frag_rec_stream_init(&chk->payload_cs, &rec);
    chk->payload_left = rec.payload_len_bytes;
    chk->state = MS_FRAG_CHECK_PAYLOAD;
    chk->carry_len = 0;
    return 0;
}

static int check_index_head(struct ms_frag_check *chk)
{
    MS_ASSERT(chk->carry_len == MS_FRAG_IDX_HEAD_BYTES);
    MS_ASSERT(chk->state == MS_FRAG_CHECK_UNIT);
    uint32_t n = ms_get_le32(chk->carry + MS_FRAG_IDXH_OFF_COUNT);
    if (n != chk->seg)
        return -MEDSTORE_EFORMAT;
    if (chk->hdr.segment_count != MS_FRAG_SEGS_UNKNOWN && chk->hdr.segment_count != n)
        return -MEDSTORE_EFORMAT;
    chk->idx_count = n;
    chk->idx_seen = 0;
    chk->index_offset = chk->offset - MS_FRAG_IDX_HEAD_BYTES;
    ms_csum128_init(chk->idx_state, MS_FRAG_IDX_SEED);
    ms_csum128_update(chk->idx_state, chk->carry, MS_FRAG_IDX_HEAD_BYTES);
    chk->payload_left = (uint64_t)n * MS_FRAG_IDX_ENTRY_BYTES;
    chk->state = n > 0 ? MS_FRAG_CHECK_ENTRIES : MS_FRAG_CHECK_FOOTER;
    chk->carry_len = 0;
    return 0;
}

static int check_footer(struct ms_frag_check *chk)
{
    MS_ASSERT(chk->carry_len == MS_FRAG_IDX_FOOTER_BYTES);
    MS_ASSERT(chk->state == MS_FRAG_CHECK_FOOTER);
    const uint8_t *f = chk->carry;
    if (ms_get_le32(f + MS_FRAG_FTR_OFF_MAGIC) != MS_FRAG_FTR_MAGIC ||
        ms_get_le32(f + MS_FRAG_FTR_OFF_COUNT) != chk->idx_count ||
        ms_get_le64(f + MS_FRAG_FTR_OFF_IDX_OFF) != chk->index_offset)
        return -MEDSTORE_EFORMAT;
    uint8_t a[MS_FRAG_CSUM_BYTES], b[MS_FRAG_CSUM_BYTES];
    ms_csum128_update(chk->idx_state, f, MS_FRAG_FTR_OFF_CSUM);
    ms_csum128_final(chk->idx_state, a);
    if (!ms_csum_equal(a, f + MS_FRAG_FTR_OFF_CSUM))
        return MS_CORRUPT();
    /* The entries must be exactly those the records imply (packed offsets, true lengths). */
    ms_csum128_final(chk->expect_state, a);
    ms_csum128_final(chk->got_state, b);
    if (!ms_csum_equal(a, b))
        return -MEDSTORE_EFORMAT;
    chk->state = MS_FRAG_CHECK_DONE;
    chk->carry_len = 0;
    return 0;
}

/* Consumes bytes in state UNIT: a record header or the index block head. */
static int check_unit(struct ms_frag_check *chk, const uint8_t **p, size_t *len)
{
    MS_ASSERT(chk->state == MS_FRAG_CHECK_UNIT);
    MS_ASSERT(*len > 0);
    if (chk->carry_len < 4 && !carry_fill(chk, 4, p, len))
        return 0;
    int kind = ms_frag_unit_kind(chk->carry);
    if (kind == 1) {
        if (chk->seg >= MS_FRAG_MAX_SEGMENTS ||
            (chk->hdr.segment_count != MS_FRAG_SEGS_UNKNOWN && chk->seg >= chk->hdr.segment_count))
            return -MEDSTORE_EFORMAT;
        if (*len == 0 || !carry_fill(chk, MS_FRAG_REC_HDR_BYTES, p, len))
            return 0;
        return check_record_head(chk);
    }
    if (kind == 2) {
        if (*len == 0 || !carry_fill(chk, MS_FRAG_IDX_HEAD_BYTES, p, len))
            return 0;
        return check_index_head(chk);
    }
    return -MEDSTORE_EFORMAT;
}

/* Consumes payload or index-entry bytes (streamed, never buffered). */
static int check_stream(struct ms_frag_check *chk, const uint8_t **p, size_t *len)
{
    MS_ASSERT(chk->payload_left > 0);
    MS_ASSERT(*len > 0);
    size_t take = *len < chk->payload_left ? *len : (size_t)chk->payload_left;
    if (chk->state == MS_FRAG_CHECK_PAYLOAD) {
        int rc = ms_frag_rec_stream_update(&chk->payload_cs, *p, take);
        MS_ASSERT(rc == 0);
    } else {
        ms_csum128_update(chk->got_state, *p, take);
        ms_csum128_update(chk->idx_state, *p, take);
    }
    chk->payload_left -= take;
    chk->offset += take;
    *p += take;
    *len -= take;
    if (chk->payload_left > 0)
        return 0;
    if (chk->state == MS_FRAG_CHECK_ENTRIES) {
        chk->state = MS_FRAG_CHECK_FOOTER;
        return 0;
    }
    int rc = ms_frag_rec_stream_final(&chk->payload_cs);
    if (rc != 0)
        return rc;
    chk->seg++;
    chk->state = MS_FRAG_CHECK_UNIT;
    return 0;
}

int ms_frag_check_feed(struct ms_frag_check *chk, const uint8_t *p, size_t len)
{
    MS_ASSERT(chk != NULL);
    MS_ASSERT(p != NULL || len == 0);
    if (chk->state == MS_FRAG_CHECK_FAILED)
        return chk->err;
    while (len > 0) {
        int rc = 0;
        switch (chk->state) {
        case MS_FRAG_CHECK_UNIT:
            rc = check_unit(chk, &p, &len);
            break;
        case MS_FRAG_CHECK_PAYLOAD:
        case MS_FRAG_CHECK_ENTRIES:
            rc = check_stream(chk, &p, &len);
            break;
        case MS_FRAG_CHECK_FOOTER:
            if (carry_fill(chk, MS_FRAG_IDX_FOOTER_BYTES, &p, &len))
                rc = check_footer(chk);
            break;
        case MS_FRAG_CHECK_DONE:
            rc = -MEDSTORE_EFORMAT; /* bytes after the footer */
            break;
        case MS_FRAG_CHECK_FAILED:
            return chk->err;
        }
        if (rc != 0)
            return check_fail(chk, rc);
    }
    return 0;
}

int ms_frag_check_finish(const struct ms_frag_check *chk)
{
    MS_ASSERT(chk != NULL);
    MS_ASSERT(chk->state <= MS_FRAG_CHECK_FAILED);
    if (chk->state == MS_FRAG_CHECK_FAILED)
        return chk->err;
    return chk->state == MS_FRAG_CHECK_DONE ? 0 : -MEDSTORE_ETRUNCATED;
}

uint32_t ms_frag_check_records(const struct ms_frag_check *chk)
{
    return chk->seg;
}

uint64_t ms_frag_check_offset(const struct ms_frag_check *chk)
{
    return chk->offset;
}
