/*
 * manifest_format.h - byte layout of the object manifest, version 1 (little endian).
 *
 * The manifest is what CommitPut stores and Open returns (`bytes manifest` in the RPC); only
 * src/codec parses it. It holds no key and no plaintext: lengths, flags, ciphertext shard
 * checksums and a keyed hash of the plaintext. docs/formats/manifest.md is the prose version;
 * change both together.
 *
 *   header (96 bytes) | segment_count entries of (12 + 16 * (k + m)) bytes | XXH3-128 (16)
 *
 * Entry: u32 plain length, u32 stored length (AEAD output incl. tag), u8 flags
 * (bit 0 = zstd), 3 reserved zero bytes, then k + m shard checksums (the XXH3-128 of each
 * shard record's payload, as in the record header) in fragment order.
 * Trailer: XXH3-128 with seed MS_MANIFEST_SEED over every byte before it.
 */
#ifndef MS_CODEC_MANIFEST_FORMAT_H
#define MS_CODEC_MANIFEST_FORMAT_H

#include "codec/frag_format.h"

#define MS_MANIFEST_MAGIC 0x314d534dU /* "MSM1" little endian */
#define MS_MANIFEST_VERSION 1
#define MS_MANIFEST_HDR_BYTES 96
#define MS_MANIFEST_SEED 0x4d534d414e494631ULL
#define MS_MANIFEST_ENTRY_FIXED_BYTES 12

#define MS_MF_OFF_MAGIC 0        /* 4  u32 MS_MANIFEST_MAGIC */
#define MS_MF_OFF_VERSION 4      /* 2  u16 1 */
#define MS_MF_OFF_HDR_BYTES 6    /* 2  u16 96 */
#define MS_MF_OFF_OID 8          /* 16 object id */
#define MS_MF_OFF_OBJ_LEN 24     /* 8  u64 object length */
#define MS_MF_OFF_SEG_BYTES 32   /* 4  u32 segment size */
#define MS_MF_OFF_ALIGN 36       /* 4  u32 shard alignment */
#define MS_MF_OFF_SEG_COUNT 40   /* 4  u32 segment count */
#define MS_MF_OFF_K 44           /* 1  u8 k */
#define MS_MF_OFF_M 45           /* 1  u8 m */
#define MS_MF_OFF_EC_ALG 46      /* 1  u8 enum ms_ec_alg */
#define MS_MF_OFF_AEAD_ALG 47    /* 1  u8 enum ms_aead_alg */
#define MS_MF_OFF_COMP_ALG 48    /* 1  u8 enum ms_compress_alg */
#define MS_MF_OFF_CSUM_ALG 49    /* 1  u8 enum ms_csum_alg */
#define MS_MF_OFF_FLAGS 50       /* 2  u16 0 */
#define MS_MF_OFF_ENTRY_BYTES 52 /* 4  u32 bytes per entry = 12 + 16 * (k + m) */
#define MS_MF_OFF_PHASH 56       /* 32 keyed BLAKE2b-256 of the plaintext (see codec.c) */
#define MS_MF_OFF_RESERVED 88    /* 8  0 */

#define MS_MFE_OFF_PLAIN 0       /* 4  u32 plaintext bytes */
#define MS_MFE_OFF_STORED 4      /* 4  u32 AEAD output bytes (incl. 16-byte tag) */
#define MS_MFE_OFF_FLAGS 8       /* 1  u8 MS_MANIFEST_SEG_* */
#define MS_MFE_OFF_RESERVED 9    /* 3  0 */
#define MS_MFE_OFF_CSUMS 12      /* 16 * (k + m) shard checksums */

_Static_assert(MS_MF_OFF_OID == MS_MF_OFF_HDR_BYTES + 2, "layout");
_Static_assert(MS_MF_OFF_OBJ_LEN == MS_MF_OFF_OID + MS_OID_BYTES, "layout");
_Static_assert(MS_MF_OFF_SEG_BYTES == MS_MF_OFF_OBJ_LEN + 8, "layout");
_Static_assert(MS_MF_OFF_ALIGN == MS_MF_OFF_SEG_BYTES + 4, "layout");
_Static_assert(MS_MF_OFF_SEG_COUNT == MS_MF_OFF_ALIGN + 4, "layout");
_Static_assert(MS_MF_OFF_K == MS_MF_OFF_SEG_COUNT + 4, "layout");
_Static_assert(MS_MF_OFF_CSUM_ALG == MS_MF_OFF_K + 5, "layout");
_Static_assert(MS_MF_OFF_FLAGS == MS_MF_OFF_CSUM_ALG + 1, "layout");
_Static_assert(MS_MF_OFF_ENTRY_BYTES == MS_MF_OFF_FLAGS + 2, "layout");
_Static_assert(MS_MF_OFF_PHASH == MS_MF_OFF_ENTRY_BYTES + 4, "layout");
_Static_assert(MS_MF_OFF_RESERVED == MS_MF_OFF_PHASH + 32, "layout");
_Static_assert(MS_MF_OFF_RESERVED + 8 == MS_MANIFEST_HDR_BYTES, "header is full");
_Static_assert(MS_MFE_OFF_CSUMS == MS_MANIFEST_ENTRY_FIXED_BYTES, "entry layout");
_Static_assert(MS_MFE_OFF_RESERVED + 3 == MS_MFE_OFF_CSUMS, "entry layout");

#endif
