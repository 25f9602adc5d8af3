/*
 * codec.c - parameters, the per-thread context, and the streaming encoder and decoder.
 *
 * Encoder, per segment (ms_codec_enc_segment):
 *   plaintext --zstd?--> body --AEAD--> k data shards (written in place into the records)
 *             --ISA-L--> m parity shards --XXH3--> 32-byte record headers.
 * Nothing is copied that a stage does not have to write: zstd writes the compressed body to
 * scratch, the AEAD writes ciphertext straight into the data records, EC writes the parity
 * records. The only staging copy is XChaCha's with k > 1 (counted in ctx->copied).
 * Decoder, per segment (ms_codec_dec_segment): records are checked in fragment order (data
 * shards first) until k good ones are found: record header against the fragment header the
 * manifest implies, payload length, the manifest's copy of the checksum and the payload's
 * XXH3. If a data shard is missing or bad, the missing data shards are rebuilt from the k
 * good ones; then AEAD open (gathering from the shards) and zstd decompress, into the
 * caller's buffer when possible.
 * Keyed plaintext hash (manifest phash): BLAKE2b-256 keyed with crypto_kdf(DEK, id 1,
 * "msphash1") over the XXH3-128 of each plaintext segment (seed = segment index) and the
 * object length. Why not BLAKE2b over all plaintext: at ~1.1 GiB/s it would be the slowest
 * stage of the pipeline (PERF.md) and halve video throughput; the keyed tree keeps the
 * property that matters (an end-to-end check of the whole object that reveals nothing
 * without the key) at XXH3 speed. Leaves never leave the process.
 * Secrets: the key copy and the keyed hash state of an encoder/decoder live in one
 * sodium_malloc'd (guarded, mlocked) block, wiped by sodium_free (F-DEL-3). Scratch that held
 * plaintext is wiped before it is freed or regrown.
 */
#include "codec/codec_int.h"

#include <errno.h>
#include <sodium.h>
#include <stdlib.h>

#include "common/log.h"
#include "common/ms_assert.h"

#define PHASH_KDF_CTX "msphash1"
#define PHASH_KDF_ID 1

_Static_assert(crypto_kdf_KEYBYTES == MS_CODEC_KEY_BYTES, "the DEK is a kdf master key");
_Static_assert(sizeof(PHASH_KDF_CTX) - 1 == crypto_kdf_CONTEXTBYTES, "kdf context is 8 bytes");
_Static_assert(MS_CODEC_PHASH_BYTES >= crypto_generichash_BYTES_MIN, "phash size");

/* --- parameters ---------------------------------------------------------------------- */

void ms_codec_params_default(struct ms_codec_params *p)
{
    MS_ASSERT(p != NULL);
    memset(p, 0, sizeof(*p));
    p->segment_size_bytes = MS_CODEC_SEG_DEFAULT_BYTES;
    p->shard_align_bytes = MS_CODEC_ALIGN_DEFAULT_BYTES;
    p->k = MS_CODEC_K_DEFAULT;
    p->m = MS_CODEC_M_DEFAULT;
    p->aead_alg = MS_AEAD_AES256GCM;
    p->hint = MS_CODEC_HINT_AUTO;
    MS_DASSERT(ms_codec_params_check(p) == 0);
}

int ms_codec_params_set_replication(struct ms_codec_params *p, unsigned n)
{
    MS_ASSERT(p != NULL);
    if (n < MS_REP_COPIES_MIN || n > MS_REP_COPIES_MAX)
        return -EINVAL;
    p->k = 1;
    p->m = (uint8_t)(n - 1);
    MS_DASSERT(p->k + p->m == n);
    return 0;
}

int ms_codec_params_check(const struct ms_codec_params *p)
{
    MS_ASSERT(p != NULL);
    if (p->k < 1 || p->m < 1 || p->k + p->m > MS_FRAG_MAX_SHARDS)
        return -EINVAL;
    if (p->segment_size_bytes < MS_FRAG_SEG_MIN_BYTES ||
        p->segment_size_bytes > MS_FRAG_SEG_MAX_BYTES)
        return -EINVAL;
    uint32_t a = p->shard_align_bytes;
    if (a == 0 || (a & (a - 1)) != 0 || a > MS_FRAG_ALIGN_MAX_BYTES)
        return -EINVAL;
    if (p->hint != MS_CODEC_HINT_AUTO && p->hint != MS_CODEC_HINT_RAW &&
        p->hint != MS_CODEC_HINT_COMPRESS)
        return -EINVAL;
    if (p->aead_alg != MS_AEAD_AES256GCM && p->aead_alg != MS_AEAD_XCHACHA20POLY1305)
        return -MEDSTORE_EUNSUPPORTED;
    return 0;
}

/* --- context ------------------------------------------------------------------------- */

struct ms_codec_ctx {
    struct ZSTD_CCtx_s *cctx;
    struct ZSTD_DCtx_s *dctx;
    struct ms_aead aead;
    struct ms_ec ec;
    uint8_t *comp;    /* compressed body (encode output, decode AEAD output): plaintext */
    size_t comp_cap;
    uint8_t *stage;   /* XChaCha contiguous ciphertext */
    size_t stage_cap;
    uint8_t *rebuilt; /* rebuilt data shards of a degraded read */
    size_t rebuilt_cap;
    uint8_t *seg;     /* one plaintext segment for a partial range */
    size_t seg_cap;
    uint64_t copied;
};

int ms_codec_ctx_create(struct ms_codec_ctx **out)
{
    MS_ASSERT(out != NULL);
    if (sodium_init() < 0)
        return -MEDSTORE_EINTERNAL;
    struct ms_codec_ctx *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return -ENOMEM;
    c->cctx = ms_zstd_cctx_new();
    c->dctx = ms_zstd_dctx_new();
    int rc = ms_aead_init(&c->aead);
    if (c->cctx == NULL || c->dctx == NULL || rc != 0) {
        ms_codec_ctx_destroy(c);
        return -ENOMEM;
    }
    MS_DASSERT(c->comp == NULL && c->copied == 0);
    *out = c;
    return 0;
}

static void scratch_free(uint8_t **buf, size_t *cap)
{
    MS_ASSERT(buf != NULL && cap != NULL);
    if (*buf != NULL)
        sodium_memzero(*buf, *cap);
    free(*buf);
    *buf = NULL;
    *cap = 0;
}

void ms_codec_ctx_destroy(struct ms_codec_ctx *ctx)
{
    if (ctx == NULL)
        return;
    ms_zstd_cctx_free(ctx->cctx);
    ms_zstd_dctx_free(ctx->dctx);
    if (ctx->aead.evp != NULL || ctx->aead.gcm != NULL)
        ms_aead_fini(&ctx->aead);
    scratch_free(&ctx->comp, &ctx->comp_cap);
    scratch_free(&ctx->stage, &ctx->stage_cap);
    scratch_free(&ctx->rebuilt, &ctx->rebuilt_cap);
    scratch_free(&ctx->seg, &ctx->seg_cap);
    free(ctx);
}

uint64_t ms_codec_ctx_copied_bytes(const struct ms_codec_ctx *ctx)
{
    MS_ASSERT(ctx != NULL);
    return ctx->copied;
}

/* Grows a scratch buffer to at least need bytes (old contents wiped, not kept). */
static int scratch_reserve(uint8_t **buf, size_t *cap, size_t need)
{
    MS_ASSERT(buf != NULL && cap != NULL);
    if (*cap >= need)
        return 0;
    scratch_free(buf, cap);
    *buf = malloc(need);
    if (*buf == NULL)
        return -ENOMEM;
    *cap = need;
    MS_DASSERT(*cap >= need);
    return 0;
}

/* --- secrets: key copy + keyed hash state in guarded memory ---------------------------- */

struct codec_secret {
    crypto_generichash_state phash; /* 64-byte aligned: keeps the struct a multiple of 64 */
    uint8_t key[MS_CODEC_KEY_BYTES];
};
_Static_assert(sizeof(struct codec_secret) % 64 == 0, "sodium_malloc keeps it aligned");

static struct codec_secret *secret_new(const uint8_t key[MS_CODEC_KEY_BYTES])
{
    MS_ASSERT(key != NULL);
    if (sodium_init() < 0)
        return NULL;
    struct codec_secret *s = sodium_malloc(sizeof(*s));
    if (s == NULL)
        return NULL;
    MS_ASSERT(((uintptr_t)s & 63) == 0);
    memcpy(s->key, key, MS_CODEC_KEY_BYTES);
    uint8_t sub[crypto_generichash_KEYBYTES];
    _Static_assert(crypto_generichash_KEYBYTES == 32, "subkey size");
    int rc = crypto_kdf_derive_from_key(sub, sizeof(sub), PHASH_KDF_ID, PHASH_KDF_CTX, key);
    if (rc == 0)
        rc = crypto_generichash_init(&s->phash, sub, sizeof(sub), MS_CODEC_PHASH_BYTES);
    sodium_memzero(sub, sizeof(sub));
    if (rc != 0) {
        sodium_free(s);
        return NULL;
    }
    return s;
}

/* Feeds the leaf of one plaintext segment into the keyed hash. */
static void phash_leaf(struct codec_secret *s, uint32_t seg, const uint8_t *plain, size_t len)
{
    MS_ASSERT(s != NULL && plain != NULL);
    MS_ASSERT(len > 0);
    uint8_t leaf[MS_FRAG_CSUM_BYTES];
    ms_csum128(plain, len, seg, leaf);
    int rc = crypto_generichash_update(&s->phash, leaf, sizeof(leaf));
    MS_ASSERT(rc == 0);
    sodium_memzero(leaf, sizeof(leaf));
}

static void phash_final(struct codec_secret *s, uint64_t object_len,
                        uint8_t out[MS_CODEC_PHASH_BYTES])
{
    MS_ASSERT(s != NULL && out != NULL);
    uint8_t len_le[8];
    ms_put_le64(len_le, object_len);
    int rc = crypto_generichash_update(&s->phash, len_le, sizeof(len_le));
    MS_ASSERT(rc == 0);
    rc = crypto_generichash_final(&s->phash, out, MS_CODEC_PHASH_BYTES);
    MS_ASSERT(rc == 0);
}

/* --- encoder --------------------------------------------------------------------------- */

struct ms_codec_enc {
    struct ms_codec_params p;
    struct ms_oid oid;
    uint64_t object_len;          /* or MS_FRAG_LEN_UNKNOWN */
    struct codec_secret *sec;
    int compress;                 /* -1 undecided, 0 no, 1 try per segment */
    uint32_t seg_next;
    uint64_t bytes_seen;
    bool short_seen;              /* a short (last) segment was encoded */
    bool failed;                  /* an error left the encoder unusable */
    uint32_t cap_segs;
    struct ms_manifest_seg *segs; /* [cap_segs] */
    uint8_t (*csum)[MS_FRAG_CSUM_BYTES]; /* [cap_segs * (k + m)] */
};

static int enc_reserve(struct ms_codec_enc *e, uint32_t need)
{
    MS_ASSERT(e != NULL);
    MS_ASSERT(need <= MS_FRAG_MAX_SEGMENTS);
    if (need <= e->cap_segs)
        return 0;
    uint32_t cap = e->cap_segs ? e->cap_segs : 16;
    while (cap < need)
        cap = cap > MS_FRAG_MAX_SEGMENTS / 2 ? MS_FRAG_MAX_SEGMENTS : cap * 2;
    size_t shards = (size_t)e->p.k + e->p.m;
    struct ms_manifest_seg *s = realloc(e->segs, cap * sizeof(*s));
    if (s == NULL)
        return -ENOMEM;
    e->segs = s;
    uint8_t(*c)[MS_FRAG_CSUM_BYTES] = realloc(e->csum, cap * shards * MS_FRAG_CSUM_BYTES);
    if (c == NULL)
        return -ENOMEM;
    e->csum = c;
    e->cap_segs = cap;
    return 0;
}

int ms_codec_enc_create(const struct ms_codec_params *p, const struct ms_oid *oid,
                        const uint8_t key[MS_CODEC_KEY_BYTES], uint64_t object_len,
                        struct ms_codec_enc **out)
{
    MS_ASSERT(out != NULL);
    if (p == NULL || oid == NULL || key == NULL || ms_codec_params_check(p) != 0 ||
        ms_oid_is_nil(oid))
        return -EINVAL;
    if (object_len != MS_FRAG_LEN_UNKNOWN &&
        (object_len > MS_OBJECT_SIZE_MAX ||
         ms_frag_segments_for(object_len, p->segment_size_bytes) > MS_FRAG_MAX_SEGMENTS))
        return -EINVAL;
    struct ms_codec_enc *e = calloc(1, sizeof(*e));
    if (e == NULL)
        return -ENOMEM;
    e->p = *p;
    e->oid = *oid;
    e->object_len = object_len;
    e->compress = p->hint == MS_CODEC_HINT_RAW ? 0 : p->hint == MS_CODEC_HINT_COMPRESS ? 1 : -1;
    e->sec = secret_new(key);
    int rc = e->sec == NULL ? -ENOMEM : 0;
    if (rc == 0 && object_len != MS_FRAG_LEN_UNKNOWN)
        rc = enc_reserve(e, (uint32_t)ms_frag_segments_for(object_len, p->segment_size_bytes));
    if (rc != 0) {
        ms_codec_enc_destroy(e);
        return rc;
    }
    MS_DASSERT(e->seg_next == 0);
    *out = e;
    return 0;
}

void ms_codec_enc_destroy(struct ms_codec_enc *enc)
{
    if (enc == NULL)
        return;
    if (enc->sec != NULL)
        sodium_free(enc->sec); /* wipes the key copy and the keyed hash state */
    free(enc->segs);
    free(enc->csum);
    free(enc);
}

static void enc_hdr(const struct ms_codec_enc *e, uint8_t frag_index, struct ms_frag_hdr *h)
{
    MS_ASSERT(e != NULL && h != NULL);
    memset(h, 0, sizeof(*h));
    h->oid = e->oid;
    h->frag_index = frag_index;
    h->k = e->p.k;
    h->m = e->p.m;
    h->ec_alg = MS_EC_CAUCHY1;
    h->aead_alg = e->p.aead_alg;
    h->comp_alg = e->p.hint == MS_CODEC_HINT_RAW ? MS_COMPRESS_NONE : MS_COMPRESS_ZSTD;
    h->csum_alg = MS_CSUM_XXH3_128;
    h->segment_size_bytes = e->p.segment_size_bytes;
    h->shard_align_bytes = e->p.shard_align_bytes;
    h->object_len_bytes = e->object_len;
    h->segment_count = e->object_len == MS_FRAG_LEN_UNKNOWN
                           ? MS_FRAG_SEGS_UNKNOWN
                           : (uint32_t)ms_frag_segments_for(e->object_len,
                                                            e->p.segment_size_bytes);
}

uint32_t ms_codec_enc_record_cap(const struct ms_codec_enc *enc)
{
    MS_ASSERT(enc != NULL);
    struct ms_frag_hdr h;
    enc_hdr(enc, 0, &h);
    return MS_FRAG_REC_HDR_BYTES + ms_frag_max_payload(&h);
}

int ms_codec_enc_frag_header(const struct ms_codec_enc *enc, uint8_t frag_index,
                             uint8_t out[MS_FRAG_HDR_BYTES])
{
    MS_ASSERT(enc != NULL && out != NULL);
    if (frag_index >= enc->p.k + enc->p.m)
        return -EINVAL;
    struct ms_frag_hdr h;
    enc_hdr(enc, frag_index, &h);
    return ms_frag_hdr_encode(&h, out, MS_FRAG_HDR_BYTES);
}

/* Checks that plain_len is what the next segment must be. */
static int enc_check_len(const struct ms_codec_enc *e, size_t plain_len)
{
    MS_ASSERT(e != NULL);
    if (e->failed || e->short_seen || plain_len == 0 || plain_len > e->p.segment_size_bytes)
        return -EINVAL;
    if (e->seg_next >= MS_FRAG_MAX_SEGMENTS)
        return -EINVAL;
    if (e->object_len != MS_FRAG_LEN_UNKNOWN) {
        if (e->bytes_seen >= e->object_len)
            return -EINVAL;
        if (plain_len != ms_seg_plain_len(e->object_len, e->p.segment_size_bytes, e->seg_next))
            return -EINVAL;
    }
    return 0;
}

/* Runs zstd when the object compresses; returns the body to encrypt and its flags. */
static int enc_body(struct ms_codec_enc *e, struct ms_codec_ctx *ctx, const uint8_t *plain,
                    size_t plain_len, const uint8_t **body, uint32_t *body_len, uint8_t *flags)
{
    MS_ASSERT(e != NULL && ctx != NULL);
    MS_ASSERT(plain_len > 0 && plain_len <= e->p.segment_size_bytes);
    *body = plain;
    *body_len = (uint32_t)plain_len;
    *flags = 0;
    if (e->compress == 0)
        return 0;
    int rc = scratch_reserve(&ctx->comp, &ctx->comp_cap, e->p.segment_size_bytes);
    if (rc != 0)
        return rc;
    if (e->compress < 0 && plain_len > MS_CODEC_SAMPLE_BYTES) {
        bool yes = false;
        rc = ms_seg_should_compress(ctx->cctx, MS_CODEC_HINT_AUTO, plain, plain_len, ctx->comp,
                                    ctx->comp_cap, &yes);
        if (rc != 0)
            return rc;
        e->compress = yes;
    }
    if (e->compress == 0)
        return 0;
    /* Undecided here means the first segment is the sample: compressing it decides. */
    int64_t n = ms_compress(ctx->cctx, plain, plain_len, ctx->comp, ctx->comp_cap);
    if (n < 0)
        return (int)n;
    if (e->compress < 0)
        e->compress = n > 0;
    if (n > 0) {
        *body = ctx->comp;
        *body_len = (uint32_t)n;
        *flags = MS_MANIFEST_SEG_COMPRESSED;
    }
    return 0;
}

/* AEAD into the data records, parity into the parity records, then the record headers. */
static int enc_shards(struct ms_codec_enc *e, struct ms_codec_ctx *ctx,
                      const struct ms_aead_bind *b, const uint8_t *body, uint8_t *const recs[],
                      uint32_t shard_len)
{
    MS_ASSERT(e != NULL && b != NULL);
    MS_ASSERT(shard_len > 0);
    unsigned k = e->p.k, n = k + e->p.m;
    uint8_t *pay[MS_FRAG_MAX_SHARDS];
    for (unsigned i = 0; i < n; i++)
        pay[i] = recs[i] + MS_FRAG_REC_HDR_BYTES;
    if (e->p.aead_alg == MS_AEAD_XCHACHA20POLY1305 && k > 1) {
        int rc = scratch_reserve(&ctx->stage, &ctx->stage_cap, (size_t)k * shard_len);
        if (rc != 0)
            return rc;
    }
    struct ms_sg sg = {.piece = pay, .n = k, .piece_len = shard_len};
    int rc = ms_aead_seal(&ctx->aead, e->sec->key, b, body, &sg, ctx->stage, &ctx->copied);
    if (rc == 0)
        rc = ms_ec_encode(&ctx->ec, e->p.k, e->p.m, shard_len, pay, pay + k);
    uint8_t(*csum)[MS_FRAG_CSUM_BYTES] = &e->csum[(size_t)e->seg_next * n];
    for (unsigned i = 0; i < n && rc == 0; i++) {
        struct ms_frag_rec rec = {.segment_index = e->seg_next,
                                  .payload_len_bytes = shard_len,
                                  .frag_index = (uint8_t)i};
        rc = ms_frag_rec_encode(&rec, pay[i], shard_len, recs[i], MS_FRAG_REC_HDR_BYTES);
        memcpy(csum[i], rec.csum, MS_FRAG_CSUM_BYTES);
    }
    return rc;
}

int ms_codec_enc_segment(struct ms_codec_enc *enc, struct ms_codec_ctx *ctx, const uint8_t *plain,
                         size_t plain_len, uint8_t *const recs[], uint32_t *rec_len)
{
    MS_ASSERT(enc != NULL && ctx != NULL);
    MS_ASSERT(recs != NULL && rec_len != NULL);
    int rc = enc_check_len(enc, plain_len);
    if (rc == 0 && plain == NULL)
        rc = -EINVAL;
    if (rc == 0)
        rc = enc_reserve(enc, enc->seg_next + 1);
    if (rc != 0)
        return rc;
    const uint8_t *body;
    uint32_t body_len;
    uint8_t flags;
    rc = enc_body(enc, ctx, plain, plain_len, &body, &body_len, &flags);
    struct ms_aead_bind b = {.oid = &enc->oid, .segment_index = enc->seg_next,
                             .plain_len = (uint32_t)plain_len, .body_len = body_len,
                             .aead_alg = enc->p.aead_alg, .seg_flags = flags};
    uint32_t stored = body_len + MS_FRAG_AEAD_TAG_BYTES;
    uint32_t shard_len = ms_frag_shard_len(stored, enc->p.k, enc->p.shard_align_bytes);
    if (rc == 0)
        rc = enc_shards(enc, ctx, &b, body, recs, shard_len);
    if (rc != 0) {
        enc->failed = true;
        return rc;
    }
    phash_leaf(enc->sec, enc->seg_next, plain, plain_len);
    enc->segs[enc->seg_next] = (struct ms_manifest_seg){
        .plain_len_bytes = (uint32_t)plain_len, .stored_len_bytes = stored, .flags = flags};
    enc->seg_next++;
    enc->bytes_seen += plain_len;
    enc->short_seen = plain_len < enc->p.segment_size_bytes;
    *rec_len = MS_FRAG_REC_HDR_BYTES + shard_len;
    MS_DASSERT(*rec_len <= ms_codec_enc_record_cap(enc));
    return 0;
}

int ms_codec_enc_finish(struct ms_codec_enc *enc, uint8_t **manifest, size_t *manifest_len)
{
    MS_ASSERT(enc != NULL);
    MS_ASSERT(manifest != NULL && manifest_len != NULL);
    if (enc->failed)
        return -EINVAL;
    if (enc->object_len != MS_FRAG_LEN_UNKNOWN && enc->bytes_seen != enc->object_len)
        return -EINVAL;
    struct ms_manifest mf;
    memset(&mf, 0, sizeof(mf));
    mf.oid = enc->oid;
    mf.object_len_bytes = enc->bytes_seen;
    mf.segment_size_bytes = enc->p.segment_size_bytes;
    mf.shard_align_bytes = enc->p.shard_align_bytes;
    mf.segment_count = enc->seg_next;
    mf.k = enc->p.k;
    mf.m = enc->p.m;
    mf.ec_alg = MS_EC_CAUCHY1;
    mf.aead_alg = enc->p.aead_alg;
    mf.comp_alg = enc->p.hint == MS_CODEC_HINT_RAW ? MS_COMPRESS_NONE : MS_COMPRESS_ZSTD;
    mf.csum_alg = MS_CSUM_XXH3_128;
    mf.segs = enc->segs;
    mf.shard_csum = enc->csum;
    phash_final(enc->sec, enc->bytes_seen, mf.phash);
    enc->failed = true; /* the keyed hash is final: no more segments */
    return ms_manifest_encode(&mf, manifest, manifest_len);
}

/* --- decoder --------------------------------------------------------------------------- */

struct ms_codec_dec {
    struct ms_manifest mf;
    struct codec_secret *sec;
};

int ms_codec_dec_create(const uint8_t *manifest, size_t manifest_len, const struct ms_oid *oid,
                        const uint8_t key[MS_CODEC_KEY_BYTES], struct ms_codec_dec **out)
{
    MS_ASSERT(out != NULL);
    if (oid == NULL || key == NULL || (manifest == NULL && manifest_len > 0))
        return -EINVAL;
    struct ms_codec_dec *d = calloc(1, sizeof(*d));
    if (d == NULL)
        return -ENOMEM;
    int rc = ms_manifest_decode(manifest, manifest_len, &d->mf);
    if (rc == 0 && !ms_oid_equal(&d->mf.oid, oid))
        rc = -MEDSTORE_EFORMAT;
    if (rc == 0) {
        d->sec = secret_new(key);
        rc = d->sec == NULL ? -ENOMEM : 0;
    }
    if (rc != 0) {
        ms_codec_dec_destroy(d);
        return rc;
    }
    MS_DASSERT(ms_manifest_check(&d->mf) == 0);
    *out = d;
    return 0;
}

void ms_codec_dec_destroy(struct ms_codec_dec *dec)
{
    if (dec == NULL)
        return;
    if (dec->sec != NULL)
        sodium_free(dec->sec);
    ms_manifest_fini(&dec->mf);
    free(dec);
}

const struct ms_manifest *ms_codec_dec_manifest(const struct ms_codec_dec *dec)
{
    MS_ASSERT(dec != NULL);
    return &dec->mf;
}

/* Checks record i of segment seg: header vs the fragment the manifest implies, length,
 * the manifest's checksum, then the payload. */
static bool dec_record_ok(const struct ms_codec_dec *d, uint32_t seg, unsigned i,
                          const uint8_t *rec, size_t rec_len, uint32_t shard_len)
{
    MS_ASSERT(d != NULL);
    MS_ASSERT(i < (unsigned)d->mf.k + d->mf.m);
    if (rec == NULL || rec_len != (size_t)MS_FRAG_REC_HDR_BYTES + shard_len)
        return false;
    struct ms_frag_hdr h;
    struct ms_frag_rec r;
    if (ms_manifest_frag_hdr(&d->mf, (uint8_t)i, &h) != 0 ||
        ms_frag_rec_decode(rec, rec_len, &h, &r) != 0)
        return false;
    const uint8_t *want = d->mf.shard_csum[(size_t)seg * (d->mf.k + d->mf.m) + i];
    if (r.segment_index != seg || r.payload_len_bytes != shard_len ||
        !ms_csum_equal(r.csum, want))
        return false;
    return ms_frag_rec_verify(&r, rec + MS_FRAG_REC_HDR_BYTES, shard_len) == 0;
}

/* Picks k good records (data first) and rebuilds missing data shards into ctx->rebuilt;
 * fills data[0..k) with the data shards to decrypt from. */
static int dec_gather(struct ms_codec_dec *d, struct ms_codec_ctx *ctx, uint32_t seg,
                      const uint8_t *const recs[], const size_t rec_lens[], uint32_t shard_len,
                      uint8_t *data[], uint32_t *bad)
{
    MS_ASSERT(d != NULL && ctx != NULL);
    MS_ASSERT(data != NULL && bad != NULL);
    unsigned k = d->mf.k, n = k + d->mf.m;
    uint8_t *sh[MS_FRAG_MAX_SHARDS] = {NULL};
    uint32_t good = 0;
    for (unsigned i = 0; i < n && (unsigned)__builtin_popcount(good) < k; i++) {
        sh[i] = NULL;
        if (recs[i] == NULL)
            continue;
        if (!dec_record_ok(d, seg, i, recs[i], rec_lens[i], shard_len)) {
            *bad |= 1u << i;
            continue;
        }
        good |= 1u << i;
        sh[i] = (uint8_t *)(uintptr_t)(recs[i] + MS_FRAG_REC_HDR_BYTES);
    }
    if ((unsigned)__builtin_popcount(good) < k)
        return MS_CORRUPT();
    uint32_t data_mask = (uint32_t)((1ull << k) - 1);
    uint32_t want = data_mask & ~good;
    if (want != 0) {
        int rc = scratch_reserve(&ctx->rebuilt, &ctx->rebuilt_cap,
                                 (size_t)__builtin_popcount(want) * shard_len);
        if (rc != 0)
            return rc;
        unsigned j = 0;
        for (unsigned i = 0; i < k; i++)
            if (want & (1u << i))
                sh[i] = ctx->rebuilt + (size_t)j++ * shard_len;
        rc = ms_ec_rebuild(&ctx->ec, (uint8_t)k, d->mf.m, shard_len, good, want, sh);
        if (rc != 0)
            return rc;
    }
    for (unsigned i = 0; i < k; i++)
        data[i] = sh[i];
    return 0;
}

int ms_codec_dec_segment(struct ms_codec_dec *dec, struct ms_codec_ctx *ctx, uint32_t seg,
                         const uint8_t *const recs[], const size_t rec_lens[], uint8_t *out,
                         uint32_t *bad_mask)
{
    MS_ASSERT(dec != NULL && ctx != NULL);
    MS_ASSERT(recs != NULL && rec_lens != NULL && out != NULL);
    if (seg >= dec->mf.segment_count)
        return -MEDSTORE_ERANGE;
    const struct ms_manifest_seg *s = &dec->mf.segs[seg];
    uint32_t shard_len = ms_frag_shard_len(s->stored_len_bytes, dec->mf.k,
                                           dec->mf.shard_align_bytes);
    uint8_t *data[MS_FRAG_MAX_SHARDS];
    uint32_t bad = 0;
    int rc = dec_gather(dec, ctx, seg, recs, rec_lens, shard_len, data, &bad);
    if (bad_mask != NULL)
        *bad_mask = bad;
    if (rc != 0)
        return rc;
    bool comp = (s->flags & MS_MANIFEST_SEG_COMPRESSED) != 0;
    struct ms_aead_bind b = {.oid = &dec->mf.oid, .segment_index = seg,
                             .plain_len = s->plain_len_bytes,
                             .body_len = s->stored_len_bytes - MS_FRAG_AEAD_TAG_BYTES,
                             .aead_alg = dec->mf.aead_alg, .seg_flags = s->flags};
    if (comp && (rc = scratch_reserve(&ctx->comp, &ctx->comp_cap, b.body_len)) != 0)
        return rc;
    if (dec->mf.aead_alg == MS_AEAD_XCHACHA20POLY1305 && dec->mf.k > 1 &&
        (rc = scratch_reserve(&ctx->stage, &ctx->stage_cap, s->stored_len_bytes)) != 0)
        return rc;
    struct ms_sg sg = {.piece = data, .n = dec->mf.k, .piece_len = shard_len};
    uint8_t *dst = comp ? ctx->comp : out;
    rc = ms_aead_open(&ctx->aead, dec->sec->key, &b, &sg, dst, ctx->stage, &ctx->copied);
    if (rc == 0 && comp)
        rc = ms_decompress(ctx->dctx, ctx->comp, b.body_len, out, s->plain_len_bytes);
    if (rc != 0)
        sodium_memzero(out, s->plain_len_bytes);
    return rc;
}

int ms_codec_dec_check_phash(struct ms_codec_dec *dec, const uint8_t *obj, uint64_t len)
{
    MS_ASSERT(dec != NULL);
    MS_ASSERT(len == dec->mf.object_len_bytes);
    for (uint32_t i = 0; i < dec->mf.segment_count; i++) {
        uint64_t off = (uint64_t)i * dec->mf.segment_size_bytes;
        phash_leaf(dec->sec, i, obj + off, dec->mf.segs[i].plain_len_bytes);
    }
    uint8_t got[MS_CODEC_PHASH_BYTES];
    phash_final(dec->sec, len, got);
    if (sodium_memcmp(got, dec->mf.phash, MS_CODEC_PHASH_BYTES) != 0)
        return MS_CORRUPT();
    return 0;
}

uint8_t *ms_codec_ctx_segbuf(struct ms_codec_ctx *ctx, size_t need)
{
    MS_ASSERT(ctx != NULL);
    MS_ASSERT(need > 0);
    return scratch_reserve(&ctx->seg, &ctx->seg_cap, need) == 0 ? ctx->seg : NULL;
}

void ms_codec_ctx_count_copy(struct ms_codec_ctx *ctx, uint64_t bytes)
{
    MS_ASSERT(ctx != NULL);
    ctx->copied += bytes;
}
