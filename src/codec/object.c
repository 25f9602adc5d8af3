/*
 * object.c - the whole-object API (tools, tests, the inspect command): an object buffer to
 * k + m complete fragment buffers plus a manifest, and back from any k of them, or a byte
 * range of it.
 *
 * Built on the streaming encoder/decoder, one segment at a time: encode writes each segment's
 * records straight into the fragment buffers (every record of a segment has the same length,
 * so all fragments share one offset table), then the index block and the header. Decode
 * opens each fragment that was given: its header must be exactly the one the manifest
 * implies and its segment index must validate; a fragment that fails is treated as missing
 * and reported in bad_mask. A whole decode ends by checking the keyed plaintext hash; a
 * range decode reads only the segments covering the range (AEAD authenticates each).
 */
#include "codec/codec_int.h"

#include <errno.h>
#include <sodium.h>
#include <stdlib.h>

#include "common/buf.h"
#include "common/log.h"
#include "common/ms_assert.h"

static int encode_segments(struct ms_codec_enc *e, struct ms_codec_ctx *ctx, const uint8_t *obj,
                           size_t len, uint32_t seg_size, struct ms_codec_fragments *f,
                           struct ms_frag_idx_entry *ent, uint64_t *end)
{
    MS_ASSERT(e != NULL && f != NULL);
    MS_ASSERT(obj != NULL || len == 0);
    uint64_t off = MS_FRAG_HDR_BYTES;
    uint32_t nseg = (uint32_t)ms_frag_segments_for(len, seg_size);
    for (uint32_t s = 0; s < nseg; s++) {
        uint8_t *recs[MS_FRAG_MAX_SHARDS];
        for (unsigned i = 0; i < f->n; i++)
            recs[i] = f->frag[i] + off;
        uint32_t rec_len = 0;
        size_t start = (size_t)s * seg_size;
        int rc = ms_codec_enc_segment(e, ctx, obj + start, ms_seg_plain_len(len, seg_size, s),
                                      recs, &rec_len);
        if (rc != 0)
            return rc;
        ent[s] = (struct ms_frag_idx_entry){off, rec_len, s};
        off += rec_len;
    }
    *end = off;
    return 0;
}

/* Index block + footer (identical in every fragment) and each fragment's header. */
static int encode_tails(struct ms_codec_enc *e, struct ms_codec_fragments *f,
                        const struct ms_frag_idx_entry *ent, uint32_t nseg, uint64_t idx_off)
{
    MS_ASSERT(e != NULL && f != NULL);
    MS_ASSERT(idx_off >= MS_FRAG_HDR_BYTES);
    uint64_t ib = ms_frag_index_bytes(nseg);
    int rc = ms_frag_index_encode(ent, nseg, idx_off, f->frag[0] + idx_off, (size_t)ib);
    for (unsigned i = 0; i < f->n && rc == 0; i++) {
        if (i > 0)
            memcpy(f->frag[i] + idx_off, f->frag[0] + idx_off, (size_t)ib);
        rc = ms_codec_enc_frag_header(e, (uint8_t)i, f->frag[i]);
        f->frag_len[i] = (size_t)(idx_off + ib);
        uint8_t *shrunk = realloc(f->frag[i], f->frag_len[i]);
        if (shrunk != NULL)
            f->frag[i] = shrunk;
    }
    return rc;
}

static int alloc_fragments(struct ms_codec_fragments *f, unsigned n, uint64_t cap)
{
    MS_ASSERT(f != NULL);
    MS_ASSERT(n >= 2 && n <= MS_FRAG_MAX_SHARDS);
    if (cap > SIZE_MAX)
        return -ENOMEM;
    f->n = n;
    for (unsigned i = 0; i < n; i++) {
        f->frag[i] = malloc((size_t)cap);
        if (f->frag[i] == NULL)
            return -ENOMEM;
    }
    return 0;
}

int ms_codec_encode(struct ms_codec_ctx *ctx, const struct ms_codec_params *p,
                    const struct ms_oid *oid, const uint8_t key[MS_CODEC_KEY_BYTES],
                    const uint8_t *obj, size_t len, struct ms_codec_fragments *out)
{
    MS_ASSERT(ctx != NULL && out != NULL);
    if (p == NULL || (obj == NULL && len > 0))
        return -EINVAL;
    struct ms_codec_enc *e = NULL;
    int rc = ms_codec_enc_create(p, oid, key, len, &e);
    if (rc != 0)
        return rc;
    struct ms_codec_fragments f;
    memset(&f, 0, sizeof(f));
    uint32_t nseg = (uint32_t)ms_frag_segments_for(len, p->segment_size_bytes);
    uint64_t cap = MS_FRAG_HDR_BYTES + (uint64_t)nseg * ms_codec_enc_record_cap(e) +
                   ms_frag_index_bytes(nseg);
    struct ms_frag_idx_entry *ent = malloc((nseg ? nseg : 1) * sizeof(*ent));
    rc = ent == NULL ? -ENOMEM : alloc_fragments(&f, (unsigned)p->k + p->m, cap);
    uint64_t end = 0;
    if (rc == 0)
        rc = encode_segments(e, ctx, obj, len, p->segment_size_bytes, &f, ent, &end);
    if (rc == 0)
        rc = encode_tails(e, &f, ent, nseg, end);
    if (rc == 0)
        rc = ms_codec_enc_finish(e, &f.manifest, &f.manifest_len);
    free(ent);
    ms_codec_enc_destroy(e);
    if (rc != 0) {
        ms_codec_fragments_free(&f);
        return rc;
    }
    *out = f;
    return 0;
}

void ms_codec_fragments_free(struct ms_codec_fragments *f)
{
    if (f == NULL)
        return;
    MS_ASSERT(f->n <= MS_FRAG_MAX_SHARDS);
    for (unsigned i = 0; i < MS_FRAG_MAX_SHARDS; i++)
        free(f->frag[i]);
    free(f->manifest);
    memset(f, 0, sizeof(*f));
}

void ms_codec_plain_free(uint8_t *buf, size_t len)
{
    if (buf == NULL)
        return;
    sodium_memzero(buf, len);
    free(buf);
}

/* --- decode ------------------------------------------------------------------------------ */

struct frag_view {
    const uint8_t *base;           /* NULL: missing or rejected */
    struct ms_frag_idx_entry *ent; /* [segment_count] */
};

static bool hdr_same(const struct ms_frag_hdr *a, const struct ms_frag_hdr *b)
{
    return ms_oid_equal(&a->oid, &b->oid) && a->frag_index == b->frag_index && a->k == b->k &&
           a->m == b->m && a->ec_alg == b->ec_alg && a->aead_alg == b->aead_alg &&
           a->comp_alg == b->comp_alg && a->csum_alg == b->csum_alg &&
           a->segment_size_bytes == b->segment_size_bytes &&
           a->shard_align_bytes == b->shard_align_bytes &&
           a->segment_count == b->segment_count && a->object_len_bytes == b->object_len_bytes;
}

/* Validates fragment i against the manifest and decodes its segment index. */
static int view_open(const struct ms_manifest *mf, unsigned i, const uint8_t *buf, size_t len,
                     struct frag_view *v)
{
    MS_ASSERT(mf != NULL && v != NULL);
    MS_ASSERT(buf != NULL);
    struct ms_frag_hdr want, got;
    int rc = ms_manifest_frag_hdr(mf, (uint8_t)i, &want);
    if (rc == 0)
        rc = ms_frag_hdr_decode(buf, len, &got);
    if (rc == 0 && !hdr_same(&want, &got))
        rc = -MEDSTORE_EFORMAT;
    uint64_t ib = ms_frag_index_bytes(mf->segment_count);
    if (rc == 0 && len < MS_FRAG_HDR_BYTES + ib)
        rc = -MEDSTORE_ETRUNCATED;
    if (rc != 0)
        return rc;
    uint32_t n = mf->segment_count;
    v->ent = malloc((n ? n : 1) * sizeof(*v->ent));
    if (v->ent == NULL)
        return -ENOMEM;
    rc = ms_frag_index_decode(buf + len - ib, (size_t)ib, len, &want, v->ent, n);
    if (rc < 0)
        return rc;
    v->base = buf;
    return 0;
}

static void views_close(struct frag_view *v, unsigned n)
{
    MS_ASSERT(v != NULL);
    MS_ASSERT(n <= MS_FRAG_MAX_SHARDS);
    for (unsigned i = 0; i < n; i++) {
        free(v[i].ent);
        v[i].ent = NULL;
        v[i].base = NULL;
    }
}

static int views_open(const struct ms_manifest *mf, const uint8_t *const frags[],
                      const size_t lens[], unsigned n, struct frag_view *v, uint32_t *bad)
{
    MS_ASSERT(mf != NULL && v != NULL && bad != NULL);
    MS_ASSERT(n == (unsigned)mf->k + mf->m);
    for (unsigned i = 0; i < n; i++) {
        v[i].base = NULL;
        v[i].ent = NULL;
        if (frags[i] == NULL)
            continue;
        int rc = view_open(mf, i, frags[i], lens[i], &v[i]);
        if (rc == -ENOMEM)
            return rc;
        if (rc != 0) {
            ms_log(MS_LOG_WARN, "codec", "event=fragment_rejected frag=%u err=%s", i,
                   ms_err_name(rc));
            free(v[i].ent);
            v[i].ent = NULL;
            *bad |= 1u << i;
        }
    }
    return 0;
}

/* Decodes segment seg from the opened fragments into out. */
static int decode_seg(struct ms_codec_dec *d, struct ms_codec_ctx *ctx, const struct frag_view *v,
                      unsigned n, uint32_t seg, uint8_t *out, uint32_t *bad)
{
    MS_ASSERT(d != NULL && v != NULL);
    MS_ASSERT(n <= MS_FRAG_MAX_SHARDS);
    const uint8_t *recs[MS_FRAG_MAX_SHARDS];
    size_t lens[MS_FRAG_MAX_SHARDS];
    for (unsigned i = 0; i < n; i++) {
        recs[i] = NULL;
        lens[i] = 0;
        if (v[i].base == NULL || (*bad & (1u << i)))
            continue;
        recs[i] = v[i].base + v[i].ent[seg].rec_offset;
        lens[i] = v[i].ent[seg].rec_len_bytes;
    }
    uint32_t b = 0;
    int rc = ms_codec_dec_segment(d, ctx, seg, recs, lens, out, &b);
    *bad |= b;
    return rc;
}

static int decode_prepare(const uint8_t *manifest, size_t manifest_len, const struct ms_oid *oid,
                          const uint8_t *key, const uint8_t *const frags[], const size_t lens[],
                          unsigned n, struct ms_codec_dec **d, struct frag_view *v, uint32_t *bad)
{
    MS_ASSERT(d != NULL && v != NULL);
    MS_ASSERT(bad != NULL);
    memset(v, 0, sizeof(*v) * MS_FRAG_MAX_SHARDS);
    if (frags == NULL || lens == NULL)
        return -EINVAL;
    int rc = ms_codec_dec_create(manifest, manifest_len, oid, key, d);
    if (rc != 0)
        return rc;
    const struct ms_manifest *mf = ms_codec_dec_manifest(*d);
    if (n != (unsigned)mf->k + mf->m)
        rc = -EINVAL;
    if (rc == 0)
        rc = views_open(mf, frags, lens, n, v, bad);
    if (rc != 0) {
        views_close(v, MS_FRAG_MAX_SHARDS);
        ms_codec_dec_destroy(*d);
        *d = NULL;
    }
    return rc;
}

int ms_codec_decode(struct ms_codec_ctx *ctx, const uint8_t *manifest, size_t manifest_len,
                    const struct ms_oid *oid, const uint8_t key[MS_CODEC_KEY_BYTES],
                    const uint8_t *const frags[], const size_t frag_lens[], unsigned n,
                    uint8_t **obj, size_t *len, uint32_t *bad_mask)
{
    MS_ASSERT(ctx != NULL);
    MS_ASSERT(obj != NULL && len != NULL);
    struct ms_codec_dec *d = NULL;
    struct frag_view v[MS_FRAG_MAX_SHARDS];
    uint32_t bad = 0;
    int rc = decode_prepare(manifest, manifest_len, oid, key, frags, frag_lens, n, &d, v, &bad);
    if (rc != 0)
        return rc;
    const struct ms_manifest *mf = ms_codec_dec_manifest(d);
    uint64_t total = mf->object_len_bytes;
    uint8_t *buf = total <= SIZE_MAX ? malloc(total ? (size_t)total : 1) : NULL;
    rc = buf == NULL ? -ENOMEM : 0;
    for (uint32_t s = 0; rc == 0 && s < mf->segment_count; s++)
        rc = decode_seg(d, ctx, v, n, s, buf + (size_t)s * mf->segment_size_bytes, &bad);
    if (rc == 0)
        rc = ms_codec_dec_check_phash(d, buf, total);
    views_close(v, n);
    ms_codec_dec_destroy(d);
    if (bad_mask != NULL)
        *bad_mask = bad;
    if (rc != 0) {
        ms_codec_plain_free(buf, buf ? (size_t)total : 0);
        return rc;
    }
    *obj = buf;
    *len = (size_t)total;
    return 0;
}

/* Decodes the part of segment s that overlaps [off, off + len) into out. */
static int range_seg(struct ms_codec_dec *d, struct ms_codec_ctx *ctx, const struct frag_view *v,
                     unsigned n, uint32_t s, uint64_t off, size_t len, uint8_t *out,
                     uint32_t *bad)
{
    const struct ms_manifest *mf = ms_codec_dec_manifest(d);
    MS_ASSERT(s < mf->segment_count);
    uint64_t start = (uint64_t)s * mf->segment_size_bytes;
    uint32_t plain = mf->segs[s].plain_len_bytes;
    MS_ASSERT(start < off + len && start + plain > off);
    if (start >= off && start + plain <= off + len)
        return decode_seg(d, ctx, v, n, s, out + (start - off), bad);
    uint8_t *tmp = ms_codec_ctx_segbuf(ctx, plain);
    if (tmp == NULL)
        return -ENOMEM;
    int rc = decode_seg(d, ctx, v, n, s, tmp, bad);
    if (rc != 0)
        return rc;
    uint64_t a = start > off ? start : off;
    uint64_t b = start + plain < off + len ? start + plain : off + len;
    ms_buf_copy(out + (a - off), tmp + (a - start), (size_t)(b - a));
    ms_codec_ctx_count_copy(ctx, b - a);
    return 0;
}

int ms_codec_decode_range(struct ms_codec_ctx *ctx, const uint8_t *manifest, size_t manifest_len,
                          const struct ms_oid *oid, const uint8_t key[MS_CODEC_KEY_BYTES],
                          const uint8_t *const frags[], const size_t frag_lens[], unsigned n,
                          uint64_t off, size_t len, uint8_t *out)
{
    MS_ASSERT(ctx != NULL);
    MS_ASSERT(out != NULL || len == 0);
    struct ms_codec_dec *d = NULL;
    struct frag_view v[MS_FRAG_MAX_SHARDS];
    uint32_t bad = 0;
    int rc = decode_prepare(manifest, manifest_len, oid, key, frags, frag_lens, n, &d, v, &bad);
    if (rc != 0)
        return rc;
    struct ms_frag_hdr h;
    rc = ms_manifest_frag_hdr(ms_codec_dec_manifest(d), 0, &h);
    uint32_t first = 0, count = 0;
    if (rc == 0)
        rc = ms_frag_range_to_segments(&h, off, len, &first, &count);
    for (uint32_t s = first; rc == 0 && s < first + count; s++)
        rc = range_seg(d, ctx, v, n, s, off, len, out, &bad);
    views_close(v, n);
    ms_codec_dec_destroy(d);
    if (rc != 0 && len > 0)
        sodium_memzero(out, len);
    return rc;
}
