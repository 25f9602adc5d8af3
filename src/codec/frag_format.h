/*
 * frag_format.h - the fragment file and wire layout (version 1), and its key-free validators.
 *
 * A fragment is shard i of every segment of one object: fragment i goes to one node. The node
 * cannot read it (ciphertext only) but must validate it without any key; everything here is
 * pure code on untrusted bytes that never trusts a length. All integers are little endian.
 * docs/formats/fragment.md is the prose version of this header; change both together.
 *
 * Layout of a fragment (offsets in bytes). The same bytes travel on the wire and sit on disk:
 *
 *   +--------------------+ 0
 *   | fragment header    | 128 bytes, own XXH3-128 checksum
 *   +--------------------+ 128
 *   | shard record 0     | 32-byte record header + payload (shard of segment 0)
 *   | shard record 1     | records packed back to back in segment order, no gaps
 *   | ...                |
 *   +--------------------+ index_offset
 *   | index block        | u32 magic "MIX1", u32 count, count x 16-byte entries
 *   | index footer       | 32 bytes, the last bytes of the fragment
 *   +--------------------+ fragment size = index_offset + 40 + 16 * count
 *
 * Wire and disk: PutFragment streams exactly these bytes (header, records, index block,
 * footer) and GetFragment returns a slice of them; the committed file holds the same bytes.
 * The only padding inside the format is the zero fill that brings each segment's ciphertext
 * to k * shard_len (it is part of the data shards' payloads, so it travels and is checked).
 * Padding that exists only on disk: the node writes its temp file in 4 KiB O_DIRECT chunks
 * and truncates the tail padding away before the commit (docs/node.md).
 *
 * Streaming: after the header, each unit starts with a u32 magic: MS_FRAG_REC_MAGIC (a
 * record) or MS_FRAG_IDX_MAGIC (the index block, after the last record), so a fragment whose
 * segment count was unknown when its header was sent still parses in one pass. The index is
 * a pure function of the records (entry i = offset and length of record i), so a node can
 * check it against what it saw; struct ms_frag_check below does all of this incrementally.
 *
 * Shard record header (32 bytes):
 *   0  u32 magic  MS_FRAG_REC_MAGIC
 *   4  u32 segment index (record i of a fragment holds segment i)
 *   8  u32 payload length (bytes after this header; multiple of shard_align, > 0)
 *   12 u8  fragment index (must equal the fragment header's)
 *   13 u8  flags (0)
 *   14 u16 reserved (0)
 *   16 16  XXH3-128 of the payload, seeded by ms_frag_record_seed(segment, fragment)
 * The seed binds segment and fragment index; hashing exactly `payload length` bytes binds the
 * length, so a record moved, truncated or relabelled fails its checksum.
 *
 * Index block: u32 MS_FRAG_IDX_MAGIC, u32 count, then per segment a 16-byte entry
 * (u64 record offset, u32 record length = 32 + payload, u32 segment index == position).
 * Footer (32 bytes): u32 MS_FRAG_FTR_MAGIC, u32 count, u64 index offset (of the index block),
 * then the XXH3-128 (seed MS_FRAG_IDX_SEED) of every index byte before it: the block and the
 * footer's first 16 bytes, which are contiguous. A reader with random access reads the last
 * 32 bytes first, then the block.
 *
 * Thread safety: every function here is pure (no state); call from any thread.
 */
#ifndef MS_CODEC_FRAG_FORMAT_H
#define MS_CODEC_FRAG_FORMAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "common/ids.h"
#include "common/ms_limits.h"

/* --- constants ------------------------------------------------------------------------ */

#define MS_FRAG_MAGIC "MSFRAG\r\n"          /* 8 bytes, no NUL; \r\n catches text mangling */
#define MS_FRAG_MAGIC_BYTES 8
#define MS_FRAG_VERSION 1
#define MS_FRAG_HDR_BYTES 128
#define MS_FRAG_REC_HDR_BYTES 32
#define MS_FRAG_REC_MAGIC 0x3152534dU        /* "MSR1" little endian */
#define MS_FRAG_IDX_HEAD_BYTES 8             /* index block: magic + count */
#define MS_FRAG_IDX_ENTRY_BYTES 16
#define MS_FRAG_IDX_FOOTER_BYTES 32
#define MS_FRAG_IDX_MAGIC 0x3158494dU        /* "MIX1" little endian */
#define MS_FRAG_FTR_MAGIC 0x3154464dU        /* "MFT1" little endian */
#define MS_FRAG_IDX_SEED 0x4d53494458763100ULL /* domain seed of the index checksum */
#define MS_FRAG_CSUM_BYTES 16                /* XXH3-128 */

#define MS_FRAG_MAX_SHARDS 32                /* k + m <= 32 (ISA-L cauchy1 limit we test) */
#define MS_FRAG_SEG_MIN_BYTES ((uint32_t)MS_SEGMENT_SIZE_MIN) /* 64 KiB */
#define MS_FRAG_SEG_MAX_BYTES ((uint32_t)MS_SEGMENT_SIZE_MAX) /* 64 MiB */
#define MS_FRAG_ALIGN_MIN_BYTES 1u
#define MS_FRAG_ALIGN_MAX_BYTES 4096u        /* power of two */
#define MS_FRAG_AEAD_TAG_BYTES 16            /* both AEADs append a 16-byte tag */
#define MS_FRAG_SEGS_UNKNOWN UINT32_MAX      /* segment count not known when streaming */
#define MS_FRAG_LEN_UNKNOWN UINT64_MAX       /* object length not known when streaming */
#define MS_FRAG_MAX_SEGMENTS ((uint32_t)MS_FRAG_RECORDS_MAX) /* bounds the index size */

/* Algorithm ids stored in the header and bound into the AEAD associated data. */
enum ms_ec_alg {
    MS_EC_CAUCHY1 = 1, /* ISA-L gf_gen_cauchy1_matrix; k = 1 is replication */
};
enum ms_aead_alg {
    MS_AEAD_AES256GCM = 1,         /* OpenSSL EVP, 12-byte nonce (default) */
    MS_AEAD_XCHACHA20POLY1305 = 2, /* libsodium, 24-byte nonce */
};
enum ms_compress_alg {
    MS_COMPRESS_NONE = 0, /* no segment is compressed */
    MS_COMPRESS_ZSTD = 1, /* a segment may be zstd (its manifest flag says so) */
};
enum ms_csum_alg {
    MS_CSUM_XXH3_128 = 1, /* seeded XXH3-128 */
};

/* --- fragment header: offset / size table ------------------------------------------- */

#define MS_FRAG_OFF_MAGIC 0        /* 8  "MSFRAG\r\n" */
#define MS_FRAG_OFF_VERSION 8      /* 2  u16, MS_FRAG_VERSION */
#define MS_FRAG_OFF_HDR_BYTES 10   /* 2  u16, 128 */
#define MS_FRAG_OFF_FLAGS 12       /* 4  u32, 0 (reserved) */
#define MS_FRAG_OFF_OID 16         /* 16 object id */
#define MS_FRAG_OFF_FRAG_INDEX 32  /* 1  u8, 0 .. k+m-1; data shards first */
#define MS_FRAG_OFF_K 33           /* 1  u8, >= 1 */
#define MS_FRAG_OFF_M 34           /* 1  u8, >= 1, k + m <= 32 */
#define MS_FRAG_OFF_EC_ALG 35      /* 1  u8, enum ms_ec_alg */
#define MS_FRAG_OFF_AEAD_ALG 36    /* 1  u8, enum ms_aead_alg */
#define MS_FRAG_OFF_COMP_ALG 37    /* 1  u8, enum ms_compress_alg */
#define MS_FRAG_OFF_CSUM_ALG 38    /* 1  u8, enum ms_csum_alg */
#define MS_FRAG_OFF_RESERVED1 39   /* 1  0 */
#define MS_FRAG_OFF_SEG_BYTES 40   /* 4  u32 segment size, 4 KiB .. 64 MiB */
#define MS_FRAG_OFF_ALIGN 44       /* 4  u32 shard alignment, power of two 1 .. 4096 */
#define MS_FRAG_OFF_SEG_COUNT 48   /* 4  u32 segments, or MS_FRAG_SEGS_UNKNOWN */
#define MS_FRAG_OFF_RESERVED2 52   /* 4  0 */
#define MS_FRAG_OFF_OBJ_LEN 56     /* 8  u64 object length, or MS_FRAG_LEN_UNKNOWN */
#define MS_FRAG_OFF_RESERVED3 64   /* 48 0 */
#define MS_FRAG_OFF_CSUM 112       /* 16 XXH3-128 (seed 0) of bytes 0 .. 111 */

_Static_assert(MS_FRAG_OFF_VERSION == MS_FRAG_OFF_MAGIC + MS_FRAG_MAGIC_BYTES, "layout");
_Static_assert(MS_FRAG_OFF_HDR_BYTES == MS_FRAG_OFF_VERSION + 2, "layout");
_Static_assert(MS_FRAG_OFF_FLAGS == MS_FRAG_OFF_HDR_BYTES + 2, "layout");
_Static_assert(MS_FRAG_OFF_OID == MS_FRAG_OFF_FLAGS + 4, "layout");
_Static_assert(MS_FRAG_OFF_FRAG_INDEX == MS_FRAG_OFF_OID + MS_OID_BYTES, "layout");
_Static_assert(MS_FRAG_OFF_K == MS_FRAG_OFF_FRAG_INDEX + 1, "layout");
_Static_assert(MS_FRAG_OFF_M == MS_FRAG_OFF_K + 1, "layout");
_Static_assert(MS_FRAG_OFF_EC_ALG == MS_FRAG_OFF_M + 1, "layout");
_Static_assert(MS_FRAG_OFF_AEAD_ALG == MS_FRAG_OFF_EC_ALG + 1, "layout");
_Static_assert(MS_FRAG_OFF_COMP_ALG == MS_FRAG_OFF_AEAD_ALG + 1, "layout");
_Static_assert(MS_FRAG_OFF_CSUM_ALG == MS_FRAG_OFF_COMP_ALG + 1, "layout");
_Static_assert(MS_FRAG_OFF_RESERVED1 == MS_FRAG_OFF_CSUM_ALG + 1, "layout");
_Static_assert(MS_FRAG_OFF_SEG_BYTES == MS_FRAG_OFF_RESERVED1 + 1, "layout");
_Static_assert(MS_FRAG_OFF_SEG_BYTES % 4 == 0, "u32 fields are naturally aligned");
_Static_assert(MS_FRAG_OFF_ALIGN == MS_FRAG_OFF_SEG_BYTES + 4, "layout");
_Static_assert(MS_FRAG_OFF_SEG_COUNT == MS_FRAG_OFF_ALIGN + 4, "layout");
_Static_assert(MS_FRAG_OFF_RESERVED2 == MS_FRAG_OFF_SEG_COUNT + 4, "layout");
_Static_assert(MS_FRAG_OFF_OBJ_LEN == MS_FRAG_OFF_RESERVED2 + 4, "layout");
_Static_assert(MS_FRAG_OFF_OBJ_LEN % 8 == 0, "u64 fields are naturally aligned");
_Static_assert(MS_FRAG_OFF_RESERVED3 == MS_FRAG_OFF_OBJ_LEN + 8, "layout");
_Static_assert(MS_FRAG_OFF_CSUM == MS_FRAG_OFF_RESERVED3 + 48, "layout");
_Static_assert(MS_FRAG_OFF_CSUM + MS_FRAG_CSUM_BYTES == MS_FRAG_HDR_BYTES, "header is full");
_Static_assert(MS_FRAG_HDR_BYTES % 64 == 0, "header keeps records cache-line aligned");

/* --- shard record header ------------------------------------------------------------ */

#define MS_FRAG_REC_OFF_MAGIC 0      /* 4  u32 MS_FRAG_REC_MAGIC */
#define MS_FRAG_REC_OFF_SEG 4        /* 4  u32 segment index */
#define MS_FRAG_REC_OFF_LEN 8        /* 4  u32 payload length */
#define MS_FRAG_REC_OFF_FRAG 12      /* 1  u8 fragment index */
#define MS_FRAG_REC_OFF_FLAGS 13     /* 1  u8 0 */
#define MS_FRAG_REC_OFF_RESERVED 14  /* 2  u16 0 */
#define MS_FRAG_REC_OFF_CSUM 16      /* 16 XXH3-128 of payload, seeded */

_Static_assert(MS_FRAG_REC_OFF_SEG == MS_FRAG_REC_OFF_MAGIC + 4, "layout");
_Static_assert(MS_FRAG_REC_OFF_LEN == MS_FRAG_REC_OFF_SEG + 4, "layout");
_Static_assert(MS_FRAG_REC_OFF_FRAG == MS_FRAG_REC_OFF_LEN + 4, "layout");
_Static_assert(MS_FRAG_REC_OFF_FLAGS == MS_FRAG_REC_OFF_FRAG + 1, "layout");
_Static_assert(MS_FRAG_REC_OFF_RESERVED == MS_FRAG_REC_OFF_FLAGS + 1, "layout");
_Static_assert(MS_FRAG_REC_OFF_CSUM == MS_FRAG_REC_OFF_RESERVED + 2, "layout");
_Static_assert(MS_FRAG_REC_OFF_CSUM + MS_FRAG_CSUM_BYTES == MS_FRAG_REC_HDR_BYTES, "full");

/* --- segment index entry and footer --------------------------------------------------- */

#define MS_FRAG_IDX_OFF_REC_OFF 0    /* 8  u64 offset of the record header in the file */
#define MS_FRAG_IDX_OFF_REC_LEN 8    /* 4  u32 record header + payload bytes */
#define MS_FRAG_IDX_OFF_SEG 12       /* 4  u32 segment index (== entry position) */
#define MS_FRAG_IDXH_OFF_MAGIC 0     /* 4  u32 MS_FRAG_IDX_MAGIC (index block head) */
#define MS_FRAG_IDXH_OFF_COUNT 4     /* 4  u32 segment count */
#define MS_FRAG_FTR_OFF_MAGIC 0      /* 4  u32 MS_FRAG_FTR_MAGIC */
#define MS_FRAG_FTR_OFF_COUNT 4      /* 4  u32 segment count (== the block's) */
#define MS_FRAG_FTR_OFF_IDX_OFF 8    /* 8  u64 fragment offset of the index block */
#define MS_FRAG_FTR_OFF_CSUM 16      /* 16 XXH3-128, seed MS_FRAG_IDX_SEED, of block + 16 */

_Static_assert(MS_FRAG_IDX_OFF_SEG + 4 == MS_FRAG_IDX_ENTRY_BYTES, "index entry is full");
_Static_assert(MS_FRAG_IDXH_OFF_COUNT + 4 == MS_FRAG_IDX_HEAD_BYTES, "index head is full");
_Static_assert(MS_FRAG_FTR_OFF_IDX_OFF == MS_FRAG_FTR_OFF_COUNT + 4, "layout");
_Static_assert(MS_FRAG_FTR_OFF_CSUM == MS_FRAG_FTR_OFF_IDX_OFF + 8, "layout");
_Static_assert(MS_FRAG_SEG_MIN_BYTES >= MS_FRAG_ALIGN_MAX_BYTES, "a segment fills a shard");
_Static_assert(MS_FRAG_FTR_OFF_CSUM + MS_FRAG_CSUM_BYTES == MS_FRAG_IDX_FOOTER_BYTES, "full");
_Static_assert((uint64_t)MS_FRAG_MAX_SEGMENTS * MS_FRAG_IDX_ENTRY_BYTES < UINT32_MAX,
               "an index always fits a u32 length");
_Static_assert(MS_FRAG_SEG_MAX_BYTES + MS_FRAG_AEAD_TAG_BYTES + MS_FRAG_ALIGN_MAX_BYTES
                   < UINT32_MAX - MS_FRAG_REC_HDR_BYTES,
               "a record length always fits a u32");

/* --- decoded forms ---------------------------------------------------------------------- */

/* A fragment header, decoded and validated (or to be encoded). Plain values, no pointers. */
struct ms_frag_hdr {
    struct ms_oid oid;
    uint8_t frag_index;          /* 0 .. k+m-1; 0 .. k-1 hold data, k .. k+m-1 parity */
    uint8_t k;
    uint8_t m;
    uint8_t ec_alg;              /* enum ms_ec_alg */
    uint8_t aead_alg;            /* enum ms_aead_alg */
    uint8_t comp_alg;            /* enum ms_compress_alg */
    uint8_t csum_alg;            /* enum ms_csum_alg */
    uint32_t segment_size_bytes;
    uint32_t shard_align_bytes;
    uint32_t segment_count;      /* or MS_FRAG_SEGS_UNKNOWN */
    uint64_t object_len_bytes;   /* or MS_FRAG_LEN_UNKNOWN */
};

/* A shard record header, decoded. */
struct ms_frag_rec {
    uint32_t segment_index;
    uint32_t payload_len_bytes;
    uint8_t frag_index;
    uint8_t csum[MS_FRAG_CSUM_BYTES];
};

/* One segment index entry. */
struct ms_frag_idx_entry {
    uint64_t rec_offset;   /* file offset of the record header */
    uint32_t rec_len_bytes; /* MS_FRAG_REC_HDR_BYTES + payload length */
    uint32_t segment_index;
};

/* A decoded index footer: where the entries are and how many. */
struct ms_frag_idx_footer {
    uint32_t segment_count;
    uint64_t index_offset;
    uint8_t csum[MS_FRAG_CSUM_BYTES];
};

/* --- header --------------------------------------------------------------------------- */

/* Validates the header fields alone (ranges, algorithm ids, k+m, fragment index, alignment,
 * object length vs segment count when both are known). Returns 0 or -MEDSTORE_EFORMAT
 * (-MEDSTORE_EUNSUPPORTED for an unknown algorithm id). Pure; thread safe. */
MS_MUST_CHECK int ms_frag_hdr_check(const struct ms_frag_hdr *hdr);

/* Writes the 128-byte header (with its checksum) for a valid hdr into out. Returns 0, or
 * -EINVAL when out_len < MS_FRAG_HDR_BYTES or ms_frag_hdr_check() fails. */
MS_MUST_CHECK int ms_frag_hdr_encode(const struct ms_frag_hdr *hdr, uint8_t *out, size_t out_len);

/* Decodes and validates the first MS_FRAG_HDR_BYTES of untrusted bytes: magic, version,
 * header size, checksum, reserved zeros, then ms_frag_hdr_check(). Fills *hdr only on
 * success. Returns 0, -MEDSTORE_ETRUNCATED (len < 128), -MEDSTORE_EFORMAT (bad magic or
 * field), -MEDSTORE_EVERSION, -MEDSTORE_ECORRUPT (checksum), -MEDSTORE_EUNSUPPORTED. The node
 * calls this before writing anything. */
MS_MUST_CHECK int ms_frag_hdr_decode(const uint8_t *buf, size_t len, struct ms_frag_hdr *hdr);

/* Largest payload a record of this fragment may carry: the shard length of a full segment
 * that did not compress, align_up(ceil((segment_size + tag) / k), shard_align). A record
 * longer than this is malformed. hdr must have passed ms_frag_hdr_check(). */
uint32_t ms_frag_max_payload(const struct ms_frag_hdr *hdr);

/* Shard (payload) length for a segment whose AEAD output is stored_len bytes:
 * align_up(ceil(stored_len / k), align). Returns 0 for stored_len 0. */
uint32_t ms_frag_shard_len(uint32_t stored_len, uint8_t k, uint32_t align);

/* Number of segments an object of len bytes has with this segment size (0 for len 0). */
uint64_t ms_frag_segments_for(uint64_t len, uint32_t segment_size_bytes);

/* --- shard records -------------------------------------------------------------------- */

/* Seed of a record checksum: binds segment and fragment index. */
uint64_t ms_frag_record_seed(uint32_t segment_index, uint8_t frag_index);

/* Fills rec->csum from payload and writes the 32-byte record header into out (>= 32 bytes).
 * rec->payload_len_bytes must equal payload_len. Returns 0 or -EINVAL. */
MS_MUST_CHECK int ms_frag_rec_encode(struct ms_frag_rec *rec, const uint8_t *payload,
                                     size_t payload_len, uint8_t *out, size_t out_len);

/* Decodes a 32-byte record header from untrusted bytes and checks it against the fragment:
 * magic, reserved zeros, fragment index == hdr->frag_index, segment index < segment count
 * (when known), payload length a non-zero multiple of the alignment and <= ms_frag_max_payload.
 * Does NOT read the payload (stream it, then call ms_frag_rec_verify). Fills *rec only on
 * success. Returns 0, -MEDSTORE_ETRUNCATED (len < 32), -MEDSTORE_EFORMAT. */
MS_MUST_CHECK int ms_frag_rec_decode(const uint8_t *buf, size_t len, const struct ms_frag_hdr *hdr,
                                     struct ms_frag_rec *rec);

/* Verifies a record's payload against its decoded header: payload_len must equal
 * rec->payload_len_bytes and the seeded XXH3-128 must match. Returns 0, -MEDSTORE_ECORRUPT
 * (checksum; logged once via MS_CORRUPT) or -MEDSTORE_ETRUNCATED (length differs). */
MS_MUST_CHECK int ms_frag_rec_verify(const struct ms_frag_rec *rec, const uint8_t *payload,
                                     size_t payload_len);

/* Decode + verify in one call on a contiguous record (header then payload). On success
 * *payload points into buf (borrowed, valid as long as buf) and *consumed is 32 + payload.
 * Returns as ms_frag_rec_decode / ms_frag_rec_verify. */
MS_MUST_CHECK int ms_frag_record_check(const uint8_t *buf, size_t len,
                                       const struct ms_frag_hdr *hdr, struct ms_frag_rec *rec,
                                       const uint8_t **payload, size_t *consumed);

/* Incremental checksum for a payload that arrives in pieces (e.g. gRPC messages): init with
 * the decoded record, feed every payload byte in order, then finish. The state is plain
 * memory (no allocation); one per stream; not thread safe. */
struct ms_frag_rec_stream {
    _Alignas(64) uint8_t opaque[640]; /* an XXH3_state_t; sized and checked in frag.c */
    uint64_t fed_bytes;
    uint32_t expect_bytes;
    uint8_t expect_csum[MS_FRAG_CSUM_BYTES];
};
void ms_frag_rec_stream_init(struct ms_frag_rec_stream *st, const struct ms_frag_rec *rec);
/* Returns 0, or -MEDSTORE_ETRUNCATED when more bytes arrive than the record declares. */
MS_MUST_CHECK int ms_frag_rec_stream_update(struct ms_frag_rec_stream *st, const uint8_t *p,
                                            size_t len);
/* Returns 0, -MEDSTORE_ETRUNCATED (fewer bytes than declared) or -MEDSTORE_ECORRUPT. */
MS_MUST_CHECK int ms_frag_rec_stream_final(struct ms_frag_rec_stream *st);

/* --- segment index ---------------------------------------------------------------------- */

/* Bytes the index block + footer occupy for n segments: 8 + n * 16 + 32. */
uint64_t ms_frag_index_bytes(uint32_t n_segments);

/* Size of the packed fragment whose records have the given total length (sum of record
 * header + payload bytes) and count: 128 + records + ms_frag_index_bytes(n). */
uint64_t ms_frag_size(uint64_t records_bytes, uint32_t n_segments);

/* Writes the index block for entries[0..n) and its footer (checksum included) into out,
 * which must hold ms_frag_index_bytes(n). index_offset is the fragment offset where out goes.
 * Entries must be packed: entry 0 at 128, each next right after the previous, segment index
 * == position, and index_offset right after the last. Returns 0 or -EINVAL. */
MS_MUST_CHECK int ms_frag_index_encode(const struct ms_frag_idx_entry *entries, uint32_t n,
                                       uint64_t index_offset, uint8_t *out, size_t out_len);

/* Decodes the 32-byte footer (buf = the LAST 32 bytes of a fragment of frag_size bytes) and
 * checks that its index block ends exactly at frag_size and starts after the header.
 * Fills *ftr only on success. Returns 0, -MEDSTORE_ETRUNCATED, -MEDSTORE_EFORMAT. The
 * checksum is checked by ms_frag_index_decode (it needs the block). */
MS_MUST_CHECK int ms_frag_index_footer_decode(const uint8_t *buf, size_t len, uint64_t frag_size,
                                              struct ms_frag_idx_footer *ftr);

/* Decodes and validates an index from untrusted bytes: buf holds the index block and the
 * footer (exactly ms_frag_index_bytes(count) bytes, ending at frag_size). Checks magic,
 * count, the checksum, that the entries are packed from offset 128 to the index block, that
 * entry i has segment index i and a record length of 32 + [align .. max payload] (a multiple
 * of align) for hdr, and the segment count against hdr's when known. entries (capacity
 * max_entries, may be NULL when max_entries is 0 and count is 0) receives the entries.
 * Returns the segment count (>= 0), or -MEDSTORE_ETRUNCATED / -MEDSTORE_EFORMAT /
 * -MEDSTORE_ECORRUPT / -ENOSPC (max_entries too small). */
MS_MUST_CHECK int ms_frag_index_decode(const uint8_t *buf, size_t len, uint64_t frag_size,
                                       const struct ms_frag_hdr *hdr,
                                       struct ms_frag_idx_entry *entries, uint32_t max_entries);

/* Maps the segment range [first, first + count) to the one contiguous fragment span that
 * holds its records (from the first record's offset to the end of the last record).
 * Returns 0, or -MEDSTORE_ERANGE when the range is empty or outside [0, n). */
MS_MUST_CHECK int ms_frag_locate_segments(const struct ms_frag_idx_entry *entries, uint32_t n,
                                          uint32_t first, uint32_t count, uint64_t *offset,
                                          uint64_t *len);

/* Maps a byte range [off, off + len) of the OBJECT to the segments covering it, using the
 * header's segment size and object length (the length must be known). Returns 0 and the
 * range, or -MEDSTORE_ERANGE (empty range or past the end of the object), -EINVAL. */
MS_MUST_CHECK int ms_frag_range_to_segments(const struct ms_frag_hdr *hdr, uint64_t off,
                                            uint64_t len, uint32_t *first, uint32_t *count);

/* --- streaming validator (node: put, verify, scrub) ----------------------------------- */

enum ms_frag_check_state {
    MS_FRAG_CHECK_UNIT = 0,    /* expecting a record header or the index block head */
    MS_FRAG_CHECK_PAYLOAD = 1, /* inside a record payload */
    MS_FRAG_CHECK_ENTRIES = 2, /* inside the index entries */
    MS_FRAG_CHECK_FOOTER = 3,  /* inside the footer */
    MS_FRAG_CHECK_DONE = 4,    /* footer verified: the fragment is complete */
    MS_FRAG_CHECK_FAILED = 5,  /* an error was returned; every later call returns it again */
};

/* Validates a fragment as its bytes stream past, in pieces of any size, without buffering
 * payloads and without allocating: each record header as soon as its 32 bytes are in, each
 * payload's XXH3-128 when its last byte arrives, segment order, then the index block (which
 * must describe exactly the records seen) and the footer. Plain memory, ~2 KiB; one per
 * stream; not thread safe. Fields are private to frag.c (read them through the accessors). */
struct ms_frag_check {
    struct ms_frag_hdr hdr;
    enum ms_frag_check_state state;
    int err;                     /* sticky error once FAILED */
    uint32_t max_payload;
    uint32_t seg;                /* records seen = next expected segment index */
    uint32_t idx_count;          /* from the index block head */
    uint32_t idx_seen;           /* entries consumed */
    uint64_t offset;             /* fragment offset of the next byte */
    uint64_t payload_left;       /* bytes left in the current payload */
    uint64_t index_offset;       /* where the index block started */
    uint32_t carry_len;          /* bytes of a split header / entry / footer gathered so far */
    uint8_t carry[MS_FRAG_REC_HDR_BYTES];
    struct ms_frag_rec rec;      /* current record */
    struct ms_frag_rec_stream payload_cs;
    _Alignas(64) uint8_t expect_state[640]; /* XXH3 of the entries the records imply */
    _Alignas(64) uint8_t got_state[640];    /* XXH3 of the entries received */
    _Alignas(64) uint8_t idx_state[640];    /* the index checksum, streamed */
};

/* Starts validating the bytes that follow a header already checked by ms_frag_hdr_decode
 * (the first byte fed is at fragment offset 128). */
void ms_frag_check_init(struct ms_frag_check *chk, const struct ms_frag_hdr *hdr);

/* Feeds the next len bytes. Returns 0, or the first error (sticky): -MEDSTORE_EFORMAT (bad
 * record header, segment out of order, bad index, bytes after the footer),
 * -MEDSTORE_ECORRUPT (record or index checksum), -MEDSTORE_ETRUNCATED. */
MS_MUST_CHECK int ms_frag_check_feed(struct ms_frag_check *chk, const uint8_t *p, size_t len);

/* Called after the last byte: returns 0 when the footer was verified (state DONE), else
 * -MEDSTORE_ETRUNCATED (stream ended early) or the sticky error. */
MS_MUST_CHECK int ms_frag_check_finish(const struct ms_frag_check *chk);

/* Records completely verified so far (== segment count once DONE). */
uint32_t ms_frag_check_records(const struct ms_frag_check *chk);

/* Fragment offset of the next byte expected (== the fragment size once DONE). */
uint64_t ms_frag_check_offset(const struct ms_frag_check *chk);

/* Which unit a 4-byte magic starts: 1 record, 2 index block, 0 neither. */
int ms_frag_unit_kind(const uint8_t magic[4]);

#endif
