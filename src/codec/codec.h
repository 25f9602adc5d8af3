/*
 * codec.h - the object pipeline: segment -> zstd -> AEAD -> Reed-Solomon -> checksummed
 * shard records, plus the manifest that describes the result. Module interface of src/codec.
 *
 * Put:  object --segments of segment_size--> per segment: zstd L1 (kept only if it saves
 *       >= 5 %) -> AEAD (AES-256-GCM or XChaCha20-Poly1305, nonce from the segment index,
 *       associated data binding object id, segment index, lengths and algorithms) -> ciphertext
 *       padded to k * shard_len and split into k data shards, m parity shards (ISA-L, cauchy1
 *       matrix) -> one shard record (32-byte header with XXH3-128) per fragment.
 * Get:  any k valid records of a segment -> (RS decode if a data shard is missing) -> AEAD
 *       open -> zstd decompress -> plaintext. Corrupt records are detected by their checksum
 *       (and by the manifest's copy of it) and treated as missing.
 *
 * Three levels of API:
 *   1. whole object (tools, tests): ms_codec_encode() / ms_codec_decode() /
 *      ms_codec_decode_range() on in-memory buffers;
 *   2. streaming (client library): ms_codec_enc_* takes one segment at a time and writes
 *      records into caller buffers; ms_codec_dec_* opens a manifest and decodes a segment from
 *      whichever records arrived;
 *   3. key-free fragment validation for nodes: frag_format.h.
 *
 * Threads: a struct ms_codec_ctx holds the per-thread library contexts (ZSTD_CCtx/DCtx,
 * EVP_CIPHER_CTX, scratch, decode-table cache); use one per thread, never share. Encoder and
 * decoder objects belong to one thread at a time. Everything else is pure.
 *
 * Keys: the 32-byte object key (DEK) is borrowed for the call or, for enc/dec objects, copied
 * into locked memory owned by the object and wiped when it is destroyed (F-DEL-3). Plaintext
 * scratch is wiped before release; plaintext handed out must be released with
 * ms_codec_plain_free().
 */
#ifndef MS_CODEC_CODEC_H
#define MS_CODEC_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "codec/frag_format.h"
#include "common/err.h"
#include "common/ids.h"

#define MS_CODEC_KEY_BYTES 32
#define MS_CODEC_PHASH_BYTES 32                  /* keyed BLAKE2b-256 of the plaintext */
#define MS_CODEC_SEG_DEFAULT_BYTES (4u << 20)
#define MS_CODEC_ALIGN_DEFAULT_BYTES 64u          /* ISA-L's vector width */
#define MS_CODEC_K_DEFAULT 4
#define MS_CODEC_M_DEFAULT 2
#define MS_CODEC_SAMPLE_BYTES (64u << 10)         /* compressibility trial on the first 64 KiB */
#define MS_CODEC_MIN_SAVING_PCT 5                 /* compressed kept only if >= 5 % smaller */

/* What the caller knows about the content; decides the compression trial. */
enum ms_codec_hint {
    MS_CODEC_HINT_AUTO = 0,     /* trial-compress the first 64 KiB, then per segment */
    MS_CODEC_HINT_RAW = 1,      /* already compressed (video, JPEG): never run zstd */
    MS_CODEC_HINT_COMPRESS = 2, /* skip the trial, try zstd on every segment */
};

/* Encoding parameters. Plain value; see ms_codec_params_default(). */
struct ms_codec_params {
    uint32_t segment_size_bytes; /* MS_FRAG_SEG_MIN_BYTES .. MS_FRAG_SEG_MAX_BYTES */
    uint32_t shard_align_bytes;  /* power of two, 1 .. 4096 */
    uint8_t k;                   /* data shards, >= 1 */
    uint8_t m;                   /* parity shards, >= 1, k + m <= 32 */
    uint8_t aead_alg;            /* enum ms_aead_alg */
    enum ms_codec_hint hint;
};

/* Fills *p with the defaults: 4 MiB segments, 64-byte alignment, 4+2, AES-256-GCM, AUTO. */
void ms_codec_params_default(struct ms_codec_params *p);

/* Sets replication rep(n): k = 1, m = n - 1 (the parity of k = 1 is a copy). Returns 0 or
 * -EINVAL (n < 2 or n > 32). */
MS_MUST_CHECK int ms_codec_params_set_replication(struct ms_codec_params *p, unsigned n);

/* Returns 0 when p is usable, else -EINVAL (-MEDSTORE_EUNSUPPORTED for an unknown AEAD). */
MS_MUST_CHECK int ms_codec_params_check(const struct ms_codec_params *p);

/* --- per-thread context ----------------------------------------------------------------- */

struct ms_codec_ctx;

/* Allocates a context (library contexts are created lazily, once). *out set on success only.
 * Returns 0 or -ENOMEM. Owned by the caller; one thread at a time. */
MS_MUST_CHECK int ms_codec_ctx_create(struct ms_codec_ctx **out);

/* Frees ctx and its scratch (wiped first). Accepts NULL. */
void ms_codec_ctx_destroy(struct ms_codec_ctx *ctx);

/* Bytes this context copied beyond what the stages must write (bench/codec, tests); the
 * same copies are also counted in ms_buf_copied_bytes() (common/buf.h):
 * e.g. ciphertext staged for XChaCha, a partial segment sliced into a range read. */
uint64_t ms_codec_ctx_copied_bytes(const struct ms_codec_ctx *ctx);

/* --- manifest --------------------------------------------------------------------------- */

#define MS_MANIFEST_SEG_COMPRESSED 0x01u

/* Per segment: plaintext and stored (AEAD output) lengths and flags. */
struct ms_manifest_seg {
    uint32_t plain_len_bytes;
    uint32_t stored_len_bytes; /* ciphertext incl. 16-byte tag */
    uint8_t flags;             /* MS_MANIFEST_SEG_* */
};

/* A decoded manifest. Owns segs and shard_csum (free with ms_manifest_fini). Contains no key
 * material: phash is keyed and reveals nothing without the key. */
struct ms_manifest {
    struct ms_oid oid;
    uint64_t object_len_bytes;
    uint32_t segment_size_bytes;
    uint32_t shard_align_bytes;
    uint32_t segment_count;
    uint8_t k, m, ec_alg, aead_alg, comp_alg, csum_alg;
    uint8_t phash[MS_CODEC_PHASH_BYTES];
    struct ms_manifest_seg *segs;               /* [segment_count] */
    uint8_t (*shard_csum)[MS_FRAG_CSUM_BYTES];  /* [segment_count * (k + m)], by segment */
};

/* Decodes and validates manifest bytes (untrusted: every length and relation is checked,
 * the trailing checksum too). On success fills *mf, which the caller releases with
 * ms_manifest_fini. Returns 0, -ENOMEM, -MEDSTORE_ETRUNCATED, -MEDSTORE_EFORMAT,
 * -MEDSTORE_EVERSION, -MEDSTORE_ECORRUPT, -MEDSTORE_EUNSUPPORTED. */
MS_MUST_CHECK int ms_manifest_decode(const uint8_t *buf, size_t len, struct ms_manifest *mf);

/* Encodes a valid manifest into a malloc'd buffer (*out, *out_len; caller frees). Returns 0,
 * -EINVAL (mf inconsistent) or -ENOMEM. */
MS_MUST_CHECK int ms_manifest_encode(const struct ms_manifest *mf, uint8_t **out, size_t *out_len);

/* Releases what ms_manifest_decode allocated and zeroes *mf. Accepts a zeroed *mf. */
void ms_manifest_fini(struct ms_manifest *mf);

/* The fragment header that fragment frag_index of this object carries (for checking what a
 * node returns against the manifest). Returns 0 or -EINVAL. */
MS_MUST_CHECK int ms_manifest_frag_hdr(const struct ms_manifest *mf, uint8_t frag_index,
                                       struct ms_frag_hdr *hdr);

/* --- streaming encoder --------------------------------------------------------------- */

struct ms_codec_enc;

/* Starts encoding object oid with key (copied into locked memory). object_len may be
 * MS_FRAG_LEN_UNKNOWN. *out set on success only. Returns 0, -EINVAL, -ENOMEM. */
MS_MUST_CHECK int ms_codec_enc_create(const struct ms_codec_params *p, const struct ms_oid *oid,
                                      const uint8_t key[MS_CODEC_KEY_BYTES], uint64_t object_len,
                                      struct ms_codec_enc **out);

/* Wipes the key copy and frees enc. Accepts NULL. */
void ms_codec_enc_destroy(struct ms_codec_enc *enc);

/* Bytes each record buffer given to ms_codec_enc_segment must hold (32 + max payload). */
uint32_t ms_codec_enc_record_cap(const struct ms_codec_enc *enc);

/* Writes the 128-byte header of fragment frag_index into out. With an unknown object length
 * the header says so (segment count and length unknown). Returns 0 or -EINVAL. */
MS_MUST_CHECK int ms_codec_enc_frag_header(const struct ms_codec_enc *enc, uint8_t frag_index,
                                           uint8_t out[MS_FRAG_HDR_BYTES]);

/* Encodes the next segment (plain_len bytes; every segment but the last must be exactly
 * segment_size; 1 .. segment_size). Writes record i (header + payload) into recs[i] for
 * every i < k + m; each buffer holds ms_codec_enc_record_cap() bytes; all records get the same
 * length, returned in *rec_len. Returns 0, -EINVAL (bad length, after the last segment),
 * -ENOMEM, -MEDSTORE_EINTERNAL (a library failed). */
MS_MUST_CHECK int ms_codec_enc_segment(struct ms_codec_enc *enc, struct ms_codec_ctx *ctx,
                                       const uint8_t *plain, size_t plain_len,
                                       uint8_t *const recs[], uint32_t *rec_len);

/* Finishes: builds the manifest (malloc'd, caller frees; no secret inside). When the object
 * length was given, the bytes seen must equal it. Returns 0, -EINVAL, -ENOMEM. */
MS_MUST_CHECK int ms_codec_enc_finish(struct ms_codec_enc *enc, uint8_t **manifest,
                                      size_t *manifest_len);

/* --- streaming decoder --------------------------------------------------------------- */

struct ms_codec_dec;

/* Opens an object for reading from its manifest bytes. Checks that the manifest names oid.
 * The key is copied into locked memory. *out set on success only. Returns 0, -ENOMEM, or the
 * codes of ms_manifest_decode (-MEDSTORE_EFORMAT when the oid differs). */
MS_MUST_CHECK int ms_codec_dec_create(const uint8_t *manifest, size_t manifest_len,
                                      const struct ms_oid *oid,
                                      const uint8_t key[MS_CODEC_KEY_BYTES],
                                      struct ms_codec_dec **out);

/* Wipes the key copy and frees dec. Accepts NULL. */
void ms_codec_dec_destroy(struct ms_codec_dec *dec);

/* The decoded manifest (borrowed; valid until ms_codec_dec_destroy). */
const struct ms_manifest *ms_codec_dec_manifest(const struct ms_codec_dec *dec);

/* Decodes segment seg from records: recs[i] (rec_lens[i] bytes: record header + payload) is
 * fragment i's record, NULL when missing. Each present record is checked (header, checksum,
 * manifest checksum); bad ones are dropped and reported in *bad_mask (bit i), which may be
 * NULL. With >= k good records the segment is rebuilt. out receives the plain_len_bytes of
 * the segment. Returns 0, -MEDSTORE_ECORRUPT (fewer than k good records, or AEAD failure),
 * -MEDSTORE_ERANGE (seg out of range), -ENOMEM. */
MS_MUST_CHECK int ms_codec_dec_segment(struct ms_codec_dec *dec, struct ms_codec_ctx *ctx,
                                       uint32_t seg, const uint8_t *const recs[],
                                       const size_t rec_lens[], uint8_t *out,
                                       uint32_t *bad_mask);

/* --- whole object --------------------------------------------------------------------- */

/* k + m complete fragment buffers (packed file form, see frag_format.h) and the manifest.
 * Owned by the struct: release with ms_codec_fragments_free. None of it is secret. */
struct ms_codec_fragments {
    unsigned n;                             /* k + m */
    uint8_t *frag[MS_FRAG_MAX_SHARDS];
    size_t frag_len[MS_FRAG_MAX_SHARDS];
    uint8_t *manifest;
    size_t manifest_len;
};

/* Encodes obj (len bytes, may be 0) into out. Fills *out only on success. Returns 0,
 * -EINVAL, -ENOMEM, -MEDSTORE_EINTERNAL. */
MS_MUST_CHECK int ms_codec_encode(struct ms_codec_ctx *ctx, const struct ms_codec_params *p,
                                  const struct ms_oid *oid, const uint8_t key[MS_CODEC_KEY_BYTES],
                                  const uint8_t *obj, size_t len, struct ms_codec_fragments *out);

/* Frees every buffer of f and zeroes it. Accepts a zeroed struct. */
void ms_codec_fragments_free(struct ms_codec_fragments *f);

/* Decodes the object from any k good fragments: frags[i] / frag_lens[i] for i < n (n must be
 * k + m), NULL where missing. Checks every fragment header against the manifest, the keyed
 * plaintext hash at the end. On success *obj is a malloc'd plaintext buffer of *len bytes
 * (release with ms_codec_plain_free). bad_mask (may be NULL) reports fragments found
 * corrupt. Returns 0, -MEDSTORE_ECORRUPT (not enough good fragments, AEAD or hash
 * failure), -EINVAL, -ENOMEM, and manifest codes. */
MS_MUST_CHECK int ms_codec_decode(struct ms_codec_ctx *ctx, const uint8_t *manifest,
                                  size_t manifest_len, const struct ms_oid *oid,
                                  const uint8_t key[MS_CODEC_KEY_BYTES],
                                  const uint8_t *const frags[], const size_t frag_lens[],
                                  unsigned n, uint8_t **obj, size_t *len, uint32_t *bad_mask);

/* Decodes bytes [off, off + len) of the object into out (len bytes), touching only the
 * segments that cover the range. Returns 0, -MEDSTORE_ERANGE (range past the end), or as
 * ms_codec_decode. */
MS_MUST_CHECK int ms_codec_decode_range(struct ms_codec_ctx *ctx, const uint8_t *manifest,
                                        size_t manifest_len, const struct ms_oid *oid,
                                        const uint8_t key[MS_CODEC_KEY_BYTES],
                                        const uint8_t *const frags[], const size_t frag_lens[],
                                        unsigned n, uint64_t off, size_t len, uint8_t *out);

/* Wipes (sodium_memzero) and frees a plaintext buffer from the codec. Accepts NULL. */
void ms_codec_plain_free(uint8_t *buf, size_t len);

#endif
