/*
 * bench_stages.c - the workloads of bench-codec on one thread's slice of a dataset.
 *
 * Each stage workload calls exactly the codec function the pipeline calls for that stage
 * (codec_int.h), on the same inputs the pipeline produced (one PUT run at init leaves the
 * records, the manifest and the compressed bodies behind), so a stage's throughput here is
 * its throughput inside the pipeline. The references call the libraries directly: a plain
 * ISA-L ec_encode_data loop with tables built once, and one XXH3-128 call over the slice.
 */
#define XXH_INLINE_ALL
#include <xxhash.h>

#include "bench_codec.h"

#include <errno.h>
#include <isa-l/erasure_code.h>
#include <stdlib.h>
#include <string.h>

#include "common/ms_assert.h"

static const char *const work_names[BC_NWORK] = {
    "zstd L1", "zstd -d", "aead seal", "aead open", "ec encode", "xxh3-128",
    "isa-l loop", "xxh3 1-call", "PUT", "GET", "GET -2 frags",
};

const char *bc_work_name(enum bc_work w)
{
    MS_ASSERT(w < BC_NWORK);
    return work_names[w];
}

static unsigned nshards(const struct bc_slice *s)
{
    return (unsigned)s->params.k + s->params.m;
}

static uint8_t *rec_at(const struct bc_slice *s, uint32_t seg, unsigned i)
{
    MS_ASSERT(seg < s->nseg);
    MS_ASSERT(i < nshards(s));
    return s->recs + ((size_t)seg * nshards(s) + i) * s->rec_cap;
}

static uint32_t shard_len(const struct bc_slice *s, uint32_t seg)
{
    return ms_frag_shard_len(s->mf.segs[seg].stored_len_bytes, s->params.k,
                             s->params.shard_align_bytes);
}

static const uint8_t *body_of(const struct bc_slice *s, uint32_t seg)
{
    bool comp = s->mf.segs[seg].flags & MS_MANIFEST_SEG_COMPRESSED;
    size_t off = (size_t)seg * s->params.segment_size_bytes;
    return comp ? s->bodies + off : s->plain + off;
}

static struct ms_aead_bind bind_of(const struct bc_slice *s, uint32_t seg)
{
    const struct ms_manifest_seg *m = &s->mf.segs[seg];
    return (struct ms_aead_bind){.oid = &s->oid, .segment_index = seg,
                                 .plain_len = m->plain_len_bytes,
                                 .body_len = m->stored_len_bytes - MS_FRAG_AEAD_TAG_BYTES,
                                 .aead_alg = s->params.aead_alg, .seg_flags = m->flags};
}

/* --- one PUT / GET of the whole slice ------------------------------------------------------ */

static int run_put(struct bc_slice *s, bool keep_manifest)
{
    MS_ASSERT(s != NULL);
    struct ms_codec_enc *e = NULL;
    int rc = ms_codec_enc_create(&s->params, &s->oid, s->key, s->len, &e);
    for (uint32_t seg = 0; rc == 0 && seg < s->nseg; seg++) {
        uint8_t *recs[MS_FRAG_MAX_SHARDS];
        for (unsigned i = 0; i < nshards(s); i++)
            recs[i] = rec_at(s, seg, i);
        size_t off = (size_t)seg * s->params.segment_size_bytes;
        rc = ms_codec_enc_segment(e, s->ctx, s->plain + off,
                                  ms_seg_plain_len(s->len, s->params.segment_size_bytes, seg),
                                  recs, &s->rec_len[seg]);
    }
    uint8_t *mf = NULL;
    size_t mf_len = 0;
    if (rc == 0)
        rc = ms_codec_enc_finish(e, &mf, &mf_len);
    ms_codec_enc_destroy(e);
    if (rc == 0 && keep_manifest) {
        s->manifest = mf;
        s->manifest_len = mf_len;
        return ms_manifest_decode(mf, mf_len, &s->mf);
    }
    free(mf);
    return rc;
}

static int run_get(struct bc_slice *s, uint32_t drop)
{
    MS_ASSERT(s != NULL && s->manifest != NULL);
    struct ms_codec_dec *d = NULL;
    int rc = ms_codec_dec_create(s->manifest, s->manifest_len, &s->oid, s->key, &d);
    for (uint32_t seg = 0; rc == 0 && seg < s->nseg; seg++) {
        const uint8_t *recs[MS_FRAG_MAX_SHARDS];
        size_t lens[MS_FRAG_MAX_SHARDS];
        for (unsigned i = 0; i < nshards(s); i++) {
            recs[i] = (drop & (1u << i)) ? NULL : rec_at(s, seg, i);
            lens[i] = s->rec_len[seg];
        }
        size_t off = (size_t)seg * s->params.segment_size_bytes;
        rc = ms_codec_dec_segment(d, s->ctx, seg, recs, lens, s->out + off, NULL);
    }
    if (rc == 0)
        rc = ms_codec_dec_check_phash(d, s->out, s->len);
    ms_codec_dec_destroy(d);
    return rc;
}

/* --- stages ---------------------------------------------------------------------------- */

static int stage_seg(struct bc_slice *s, enum bc_work w, uint32_t seg, uint64_t *bytes)
{
    const struct ms_manifest_seg *m = &s->mf.segs[seg];
    uint32_t sl = shard_len(s, seg), k = s->params.k, n = nshards(s);
    uint8_t *pay[MS_FRAG_MAX_SHARDS];
    for (unsigned i = 0; i < n; i++)
        pay[i] = rec_at(s, seg, i) + MS_FRAG_REC_HDR_BYTES;
    struct ms_sg sg = {.piece = pay, .n = k, .piece_len = sl};
    struct ms_aead_bind b = bind_of(s, seg);
    bool comp = m->flags & MS_MANIFEST_SEG_COMPRESSED;
    size_t off = (size_t)seg * s->params.segment_size_bytes;
    uint64_t staged = 0;
    int64_t z;
    switch (w) {
    case BC_ZSTD:
        z = ms_compress(s->cctx, s->plain + off, m->plain_len_bytes, s->scratch,
                        s->params.segment_size_bytes);
        *bytes += m->plain_len_bytes;
        return z < 0 ? (int)z : 0;
    case BC_UNZSTD:
        if (!comp)
            return 0;
        *bytes += m->plain_len_bytes;
        return ms_decompress(s->dctx, body_of(s, seg), b.body_len, s->out + off,
                             m->plain_len_bytes);
    case BC_SEAL:
        *bytes += b.body_len;
        return ms_aead_seal(&s->aead, s->key, &b, body_of(s, seg), &sg, s->stage, &staged);
    case BC_OPEN:
        *bytes += b.body_len;
        return ms_aead_open(&s->aead, s->key, &b, &sg, comp ? s->scratch : s->out + off,
                            s->stage, &staged);
    case BC_EC:
        *bytes += (uint64_t)k * sl;
        return ms_ec_encode(s->ec, s->params.k, s->params.m, sl, pay, pay + k);
    case BC_XXH3:
        for (unsigned i = 0; i < n; i++) {
            uint8_t d[MS_FRAG_CSUM_BYTES];
            ms_csum128(pay[i], sl, ms_frag_record_seed(seg, (uint8_t)i), d);
        }
        *bytes += (uint64_t)n * sl;
        return 0;
    case BC_ISAL_REF:
        ec_encode_data((int)sl, k, s->params.m, s->isal_tbls, pay, pay + k);
        *bytes += (uint64_t)k * sl;
        return 0;
    default:
        return -EINVAL;
    }
}

void bc_slice_run(struct bc_slice *s, enum bc_work w, uint64_t passes)
{
    MS_ASSERT(s != NULL);
    MS_ASSERT(w < BC_NWORK);
    for (uint64_t p = 0; p < passes && s->err == 0; p++) {
        if (w == BC_PUT) {
            s->err = run_put(s, false);
            s->bytes += s->len;
        } else if (w == BC_GET || w == BC_GET_DEGRADED) {
            s->err = run_get(s, w == BC_GET ? 0 : 3);
            s->bytes += s->len;
        } else if (w == BC_XXH3_REF) {
            XXH128_hash_t h = XXH3_128bits(s->plain, s->len);
            s->err = h.low64 == 0 && h.high64 == 0; /* keeps the call from being elided */
            s->bytes += s->len;
        } else {
            for (uint32_t seg = 0; seg < s->nseg && s->err == 0; seg++)
                s->err = stage_seg(s, w, seg, &s->bytes);
        }
    }
}

/* --- setup ------------------------------------------------------------------------------ */

static int slice_alloc(struct bc_slice *s)
{
    MS_ASSERT(s != NULL);
    MS_ASSERT(s->nseg > 0);
    struct ms_codec_enc *e = NULL;
    int rc = ms_codec_enc_create(&s->params, &s->oid, s->key, s->len, &e);
    if (rc != 0)
        return rc;
    s->rec_cap = ms_codec_enc_record_cap(e);
    ms_codec_enc_destroy(e);
    size_t seg = s->params.segment_size_bytes;
    s->scratch = malloc(seg + MS_FRAG_AEAD_TAG_BYTES);
    s->stage = malloc((size_t)s->params.k * s->rec_cap);
    s->bodies = malloc((size_t)s->nseg * seg);
    s->out = malloc(s->len);
    s->recs = malloc((size_t)s->nseg * nshards(s) * s->rec_cap);
    s->rec_len = calloc(s->nseg, sizeof(*s->rec_len));
    s->ec = calloc(1, sizeof(*s->ec));
    s->isal_tbls = malloc(32u * s->params.k * s->params.m);
    s->cctx = ms_zstd_cctx_new();
    s->dctx = ms_zstd_dctx_new();
    if (!s->scratch || !s->stage || !s->bodies || !s->out || !s->recs || !s->rec_len ||
        !s->ec || !s->isal_tbls || !s->cctx || !s->dctx)
        return -ENOMEM;
    rc = ms_aead_init(&s->aead);
    if (rc == 0)
        rc = ms_codec_ctx_create(&s->ctx);
    return rc;
}

int bc_slice_init(struct bc_slice *s, const struct ms_codec_params *p, const uint8_t *plain,
                  size_t len, unsigned seed)
{
    MS_ASSERT(s != NULL && p != NULL);
    MS_ASSERT(plain != NULL && len > 0);
    memset(s, 0, sizeof(*s));
    s->plain = plain;
    s->len = len;
    s->params = *p;
    s->nseg = (uint32_t)ms_frag_segments_for(len, p->segment_size_bytes);
    memset(s->oid.b, 0x5a, sizeof(s->oid.b));
    s->oid.b[0] = (uint8_t)(seed + 1);
    for (unsigned i = 0; i < MS_CODEC_KEY_BYTES; i++)
        s->key[i] = (uint8_t)(i * 7 + seed); /* a benchmark key, not a secret */
    int rc = slice_alloc(s);
    if (rc == 0)
        rc = run_put(s, true);
    if (rc != 0)
        return rc;
    uint8_t a[MS_FRAG_MAX_SHARDS * MS_FRAG_MAX_SHARDS];
    ms_ec_matrix(p->k, p->m, a);
    ec_init_tables(p->k, p->m, &a[p->k * p->k], s->isal_tbls);
    for (uint32_t seg = 0; seg < s->nseg && rc == 0; seg++) {
        if (!(s->mf.segs[seg].flags & MS_MANIFEST_SEG_COMPRESSED))
            continue;
        size_t off = (size_t)seg * p->segment_size_bytes;
        int64_t z = ms_compress(s->cctx, plain + off, s->mf.segs[seg].plain_len_bytes,
                                s->bodies + off, p->segment_size_bytes);
        rc = z == (int64_t)s->mf.segs[seg].stored_len_bytes - MS_FRAG_AEAD_TAG_BYTES
                 ? 0 : -MEDSTORE_EINTERNAL;
    }
    return rc;
}

void bc_slice_totals(const struct bc_slice *s, struct bc_totals *t)
{
    MS_ASSERT(s != NULL && t != NULL);
    memset(t, 0, sizeof(*t));
    bool any_comp = false;
    for (uint32_t seg = 0; seg < s->nseg; seg++) {
        const struct ms_manifest_seg *m = &s->mf.segs[seg];
        uint32_t sl = shard_len(s, seg);
        t->plain += m->plain_len_bytes;
        t->body += m->stored_len_bytes - MS_FRAG_AEAD_TAG_BYTES;
        t->ec_in += (uint64_t)s->params.k * sl;
        t->records += (uint64_t)nshards(s) * sl;
        if (m->flags & MS_MANIFEST_SEG_COMPRESSED) {
            t->comp_plain += m->plain_len_bytes;
            any_comp = true;
        }
    }
    /* zstd runs on every segment once the object passed its trial; else only the trial. */
    if (any_comp || s->params.hint == MS_CODEC_HINT_COMPRESS)
        t->zstd_in = t->plain;
    else if (s->params.hint == MS_CODEC_HINT_AUTO)
        t->zstd_in = t->plain < MS_CODEC_SAMPLE_BYTES ? t->plain : MS_CODEC_SAMPLE_BYTES;
}

void bc_slice_fini(struct bc_slice *s)
{
    if (s == NULL)
        return;
    ms_codec_ctx_destroy(s->ctx);
    ms_zstd_cctx_free(s->cctx);
    ms_zstd_dctx_free(s->dctx);
    if (s->aead.evp != NULL)
        ms_aead_fini(&s->aead);
    ms_manifest_fini(&s->mf);
    free(s->manifest);
    free(s->scratch);
    free(s->stage);
    free(s->bodies);
    free(s->out);
    free(s->recs);
    free(s->rec_len);
    free(s->ec);
    free(s->isal_tbls);
    memset(s, 0, sizeof(*s));
}
