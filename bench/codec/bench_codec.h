/*
 * bench_codec.h - internal interface of bench-codec: per-thread slices of a dataset and the
 * stage and pipeline workloads run on them (bench_stages.c), used by the driver and report
 * (bench_codec.c).
 */
#ifndef MS_BENCH_CODEC_BENCH_CODEC_H
#define MS_BENCH_CODEC_BENCH_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "codec/codec_int.h"

#define BC_MAX_THREADS 8

/* Workloads: the codec's stage functions alone, then whole pipelines. */
enum bc_work {
    BC_ZSTD = 0,    /* ms_compress per segment (with the 5 % cap), plaintext bytes */
    BC_UNZSTD,      /* ms_decompress of the compressed segments, plaintext bytes out */
    BC_SEAL,        /* ms_aead_seal of each body into the data shards, body bytes */
    BC_OPEN,        /* ms_aead_open, body bytes */
    BC_EC,          /* ms_ec_encode of each segment's shards, k * shard bytes */
    BC_XXH3,        /* ms_csum128 of every record payload, payload bytes */
    BC_ISAL_REF,    /* reference: a plain ISA-L ec_encode_data loop on the same shards */
    BC_XXH3_REF,    /* reference: XXH3-128 of the slice's plaintext in one call */
    BC_PUT,         /* the PUT pipeline (streaming encoder), plaintext bytes */
    BC_GET,         /* the GET pipeline (all fragments), plaintext bytes */
    BC_GET_DEGRADED, /* GET with fragments 0 and 1 missing (RS rebuild), plaintext bytes */
    BC_NWORK
};

/* One thread's share of the dataset: its own object, contexts, records and scratch. */
struct bc_slice {
    const uint8_t *plain;
    size_t len;
    uint32_t nseg;
    struct ms_codec_params params;
    struct ms_oid oid;
    uint8_t key[MS_CODEC_KEY_BYTES];
    struct ms_codec_ctx *ctx;
    struct ZSTD_CCtx_s *cctx;
    struct ZSTD_DCtx_s *dctx;
    struct ms_aead aead;
    struct ms_ec *ec;
    uint8_t *isal_tbls;     /* reference encode tables (32 * k * m) */
    uint8_t *scratch;       /* one segment (+ tag) */
    uint8_t *stage;         /* XChaCha staging */
    uint8_t *bodies;        /* compressed bodies, segment_size per segment */
    uint8_t *out;           /* decoded plaintext */
    uint8_t *recs;          /* nseg * n * rec_cap */
    uint32_t rec_cap;
    uint32_t *rec_len;      /* per segment */
    struct ms_manifest mf;  /* decoded manifest of the PUT run (lengths and flags) */
    uint8_t *manifest;
    size_t manifest_len;
    uint64_t bytes;         /* work bytes of the last run (all passes) */
    int err;                /* first error of a run */
};

/* Work totals of a slice, for the stage shares. */
struct bc_totals {
    uint64_t plain;
    uint64_t zstd_in;       /* plaintext the zstd stage reads in the pipeline */
    uint64_t comp_plain;    /* plaintext of the segments stored compressed */
    uint64_t body;          /* AEAD input */
    uint64_t ec_in;         /* k * shard_len */
    uint64_t records;       /* (k + m) * shard_len */
};

/* Prepares a slice: contexts, buffers, one PUT run (records + manifest) and the bodies.
 * Returns 0 or a negative code. */
int bc_slice_init(struct bc_slice *s, const struct ms_codec_params *p, const uint8_t *plain,
                  size_t len, unsigned seed);
void bc_slice_fini(struct bc_slice *s);
void bc_slice_totals(const struct bc_slice *s, struct bc_totals *t);

/* Runs work w `passes` times on the slice; adds its work bytes to s->bytes. */
void bc_slice_run(struct bc_slice *s, enum bc_work w, uint64_t passes);

const char *bc_work_name(enum bc_work w);

#endif
