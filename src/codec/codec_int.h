/*
 * codec_int.h - private interface between the stages of src/codec. Not for other modules:
 * they use codec.h and frag_format.h.
 *
 * One .c per stage: checksum.c (XXH3), compress.c (zstd), aead.c (AES-256-GCM, XChaCha20-
 * Poly1305), ec.c (ISA-L Reed-Solomon), segment.c (segment arithmetic, compression choice),
 * frag.c (fragment format), manifest.c (manifest format), codec.c (context, encoder, decoder,
 * whole-object API). Stage functions take their library context explicitly; struct
 * ms_codec_ctx (codec.c) owns one of each per thread.
 */
#ifndef MS_CODEC_CODEC_INT_H
#define MS_CODEC_CODEC_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "codec/codec.h"

/* --- little-endian load/store (the formats are little endian on every host) ------------ */

static inline void ms_put_le16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}
static inline void ms_put_le32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}
static inline void ms_put_le64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}
static inline uint16_t ms_get_le16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}
static inline uint32_t ms_get_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
           ((uint32_t)p[3] << 24);
}
static inline uint64_t ms_get_le64(const uint8_t *p)
{
    return (uint64_t)ms_get_le32(p) | ((uint64_t)ms_get_le32(p + 4) << 32);
}
static inline bool ms_all_zero(const uint8_t *p, size_t n)
{
    uint8_t acc = 0;
    for (size_t i = 0; i < n; i++)
        acc |= p[i];
    return acc == 0;
}
static inline uint64_t ms_align_up64(uint64_t v, uint64_t a)
{
    return (v + a - 1) / a * a;
}

/* --- checksum.c: XXH3 (inlined) ---------------------------------------------------------- */

#define MS_CSUM_STATE_BYTES 640 /* >= sizeof(XXH3_state_t), checked in checksum.c */

/* XXH3-128 of p[0..len) with seed, written as 16 canonical (big-endian) bytes. Pure. */
void ms_csum128(const void *p, size_t len, uint64_t seed, uint8_t out[MS_FRAG_CSUM_BYTES]);

/* XXH3-64 of p[0..len) with seed. Pure. */
uint64_t ms_csum64(const void *p, size_t len, uint64_t seed);

/* Streaming XXH3-128 over caller memory of MS_CSUM_STATE_BYTES, 64-byte aligned. */
void ms_csum128_init(void *state, uint64_t seed);
void ms_csum128_update(void *state, const void *p, size_t len);
void ms_csum128_final(void *state, uint8_t out[MS_FRAG_CSUM_BYTES]);

/* Constant-time equality of two 16-byte digests. */
bool ms_csum_equal(const uint8_t a[MS_FRAG_CSUM_BYTES], const uint8_t b[MS_FRAG_CSUM_BYTES]);

/* --- compress.c: zstd level 1 ---------------------------------------------------------- */

struct ZSTD_CCtx_s;
struct ZSTD_DCtx_s;

/* Creates / frees zstd contexts (level 1 set once). Return NULL on ENOMEM. */
struct ZSTD_CCtx_s *ms_zstd_cctx_new(void);
struct ZSTD_DCtx_s *ms_zstd_dctx_new(void);
void ms_zstd_cctx_free(struct ZSTD_CCtx_s *c);
void ms_zstd_dctx_free(struct ZSTD_DCtx_s *d);

/* Bytes a compressed segment may have to be kept: it must save >= 5 % of len. */
size_t ms_compress_keep_limit(size_t len);

/* Compresses src[0..len) into dst (capacity dst_cap). Returns the compressed size when it is
 * <= ms_compress_keep_limit(len) (worth keeping), 0 when not worth it, -MEDSTORE_EINTERNAL on
 * a zstd failure other than "does not fit". */
MS_MUST_CHECK int64_t ms_compress(struct ZSTD_CCtx_s *c, const uint8_t *src, size_t len,
                                  uint8_t *dst, size_t dst_cap);

/* Decompresses src[0..len) into dst which must receive exactly plain_len bytes. Returns 0 or
 * -MEDSTORE_ECORRUPT (zstd error or a different length). */
MS_MUST_CHECK int ms_decompress(struct ZSTD_DCtx_s *d, const uint8_t *src, size_t len,
                                uint8_t *dst, size_t plain_len);

/* --- aead.c: per-segment AEAD ---------------------------------------------------------- */

#define MS_AEAD_AD_BYTES 40

/* What the associated data binds (docs/formats/fragment.md, "AEAD"). */
struct ms_aead_bind {
    const struct ms_oid *oid;
    uint32_t segment_index;
    uint32_t plain_len;  /* plaintext bytes of the segment */
    uint32_t body_len;   /* bytes encrypted (compressed or plain), stored_len - 16 */
    uint8_t aead_alg;
    uint8_t seg_flags;   /* MS_MANIFEST_SEG_* */
};

/* Serialises the associated data into out. */
void ms_aead_ad(const struct ms_aead_bind *b, uint8_t out[MS_AEAD_AD_BYTES]);

/* Nonce for a segment index: 12 bytes (GCM) or 24 bytes (XChaCha); never reused under a key
 * because a key encrypts one immutable object and each segment index once. */
void ms_aead_nonce(uint8_t alg, uint32_t segment_index, uint8_t nonce[24]);

struct evp_cipher_ctx_st;
struct evp_cipher_st;

/* Per-thread AEAD state: the EVP context and the fetched cipher. */
struct ms_aead {
    struct evp_cipher_ctx_st *evp;
    struct evp_cipher_st *gcm;
};
MS_MUST_CHECK int ms_aead_init(struct ms_aead *a);
void ms_aead_fini(struct ms_aead *a);

/* Scatter/gather view of a byte stream cut into n pieces of piece_len bytes each (the data
 * shards): stream byte i lives at piece[i / piece_len][i % piece_len]. */
struct ms_sg {
    uint8_t *const *piece;
    uint32_t n;
    uint32_t piece_len;
};

/* Encrypts src[0..b->body_len) and appends the tag, writing the stream into out; bytes past
 * body_len + 16 up to n * piece_len are zeroed. stage (capacity >= n * piece_len) is used
 * only by XChaCha (its one-shot API needs contiguous output): *staged_bytes then counts the
 * copy. Returns 0, -EINVAL, -MEDSTORE_EINTERNAL. */
MS_MUST_CHECK int ms_aead_seal(struct ms_aead *a, const uint8_t key[MS_CODEC_KEY_BYTES],
                               const struct ms_aead_bind *b, const uint8_t *src,
                               const struct ms_sg *out, uint8_t *stage, uint64_t *staged_bytes);

/* Decrypts the stream in `in` (body_len bytes then the tag) into dst (body_len bytes).
 * stage (capacity >= body_len + 16) is used by XChaCha when the stream spans pieces. On a tag
 * mismatch dst is wiped and -MEDSTORE_ECORRUPT returned. */
MS_MUST_CHECK int ms_aead_open(struct ms_aead *a, const uint8_t key[MS_CODEC_KEY_BYTES],
                               const struct ms_aead_bind *b, const struct ms_sg *in,
                               uint8_t *dst, uint8_t *stage, uint64_t *staged_bytes);

/* --- ec.c: Reed-Solomon with ISA-L, cauchy1 matrix ------------------------------------- */

#define MS_EC_CACHE_SLOTS 8

struct ms_ec_slot {
    uint8_t k, m;
    uint32_t src_mask;   /* fragments used as sources (exactly k bits) */
    uint32_t want_mask;  /* fragments rebuilt */
    uint64_t last_use;
    uint8_t tbls[32 * MS_FRAG_MAX_SHARDS * MS_FRAG_MAX_SHARDS / 4]; /* 32 * k * rows <= 8 KiB */
};

/* Per-thread cache of encode and decode tables, keyed by (k, m, erasure pattern). */
struct ms_ec {
    uint64_t clock;
    struct ms_ec_slot slot[MS_EC_CACHE_SLOTS];
    uint64_t hits, misses;
};

/* The (k + m) x k encoding matrix: cauchy1 for k >= 2; all ones for k = 1 (replication:
 * parity is a copy). Pure. a holds (k + m) * k bytes. */
void ms_ec_matrix(uint8_t k, uint8_t m, uint8_t *a);

/* Computes the m parity shards of the k data shards, each len bytes. Returns 0 or -EINVAL. */
MS_MUST_CHECK int ms_ec_encode(struct ms_ec *ec, uint8_t k, uint8_t m, uint32_t len,
                               uint8_t *const data[], uint8_t *const parity[]);

/* Rebuilds the shards named in want_mask from the k shards in src_mask (exactly k bits,
 * disjoint from want_mask). shards[i] (len bytes) is read for i in src_mask and written for
 * i in want_mask. Returns 0, -EINVAL, -MEDSTORE_EINTERNAL (singular matrix: never for cauchy1). */
MS_MUST_CHECK int ms_ec_rebuild(struct ms_ec *ec, uint8_t k, uint8_t m, uint32_t len,
                                uint32_t src_mask, uint32_t want_mask, uint8_t *const shards[]);

/* --- segment.c ------------------------------------------------------------------------- */

/* Plaintext length of segment seg of an object of len bytes. */
uint32_t ms_seg_plain_len(uint64_t len, uint32_t segment_size, uint32_t seg);

/* Decides from a sample whether zstd pays for this object (hint AUTO). */
MS_MUST_CHECK int ms_seg_should_compress(struct ZSTD_CCtx_s *c, enum ms_codec_hint hint,
                                         const uint8_t *sample, size_t len, uint8_t *scratch,
                                         size_t scratch_cap, bool *compress);

/* --- manifest.c ------------------------------------------------------------------------ */

/* Bytes of the encoded manifest for n segments of k + m shards. */
uint64_t ms_manifest_bytes(uint32_t n_segments, unsigned shards);

/* Checks the relations of a decoded or assembled manifest (lengths, counts, algorithms).
 * Returns 0 or -MEDSTORE_EFORMAT / -MEDSTORE_EUNSUPPORTED. */
MS_MUST_CHECK int ms_manifest_check(const struct ms_manifest *mf);

/* --- codec.c services for object.c ------------------------------------------------------ */

/* Recomputes the keyed hash of a whole decoded object (len bytes) and compares it with the
 * manifest's in constant time. Returns 0 or -MEDSTORE_ECORRUPT. Consumes the decoder's hash
 * state: call once per decoder. */
MS_MUST_CHECK int ms_codec_dec_check_phash(struct ms_codec_dec *dec, const uint8_t *obj,
                                           uint64_t len);

/* Scratch for one plaintext segment (wiped when regrown or freed); NULL on ENOMEM. Valid
 * until the next call on ctx. */
uint8_t *ms_codec_ctx_segbuf(struct ms_codec_ctx *ctx, size_t need);

/* Adds bytes to the context's copy counter (copies beyond what the stages must write). */
void ms_codec_ctx_count_copy(struct ms_codec_ctx *ctx, uint64_t bytes);

#endif
