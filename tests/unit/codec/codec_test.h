/*
 * codec_test.h - helpers shared by the codec test programs (header-only: each test program
 * is one .c, STYLE.md section 9). Test data is deterministic (testutil's splitmix64), keys
 * too: these are test vectors, never real keys.
 */
#ifndef MS_TESTS_UNIT_CODEC_CODEC_TEST_H
#define MS_TESTS_UNIT_CODEC_CODEC_TEST_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "codec/codec.h"
#include "testutil.h"

enum ct_kind {
    CT_RANDOM = 0, /* incompressible */
    CT_TEXT = 1,   /* compresses well (like FHIR JSON) */
    CT_MIXED = 2,  /* alternating compressible and random runs of 1 KiB */
};

static inline struct ms_oid ct_oid(uint64_t seed)
{
    struct ms_oid o;
    ms_test_fill(o.b, sizeof(o.b), seed ^ 0x6f6964ULL);
    o.b[0] |= 1; /* never the nil id */
    return o;
}

static inline void ct_key(uint8_t key[MS_CODEC_KEY_BYTES], uint64_t seed)
{
    ms_test_fill(key, MS_CODEC_KEY_BYTES, seed ^ 0x6b6579ULL);
}

/* A malloc'd object of len bytes (never NULL, even for len 0); caller frees. */
static inline uint8_t *ct_object(size_t len, uint64_t seed, enum ct_kind kind)
{
    uint8_t *p = malloc(len ? len : 1);
    if (p == NULL)
        abort();
    ms_test_fill(p, len, seed);
    static const char words[] = "{\"resourceType\":\"Observation\",\"status\":\"final\"} ";
    for (size_t i = 0; i < len; i++) {
        bool text = kind == CT_TEXT || (kind == CT_MIXED && (i / 1024) % 2 == 0);
        if (text)
            p[i] = (uint8_t)words[(i + p[i] % 3) % (sizeof(words) - 1)];
    }
    return p;
}

#define CT_SEG 65536u /* segment size of the fast tests */

/* Small parameters for fast exhaustive tests: 64 KiB segments, 64-byte alignment. */
static inline struct ms_codec_params ct_params(uint8_t k, uint8_t m, uint8_t aead)
{
    struct ms_codec_params p;
    ms_codec_params_default(&p);
    p.segment_size_bytes = CT_SEG;
    p.k = k;
    p.m = m;
    p.aead_alg = aead;
    return p;
}

/* The fragment pointer array of f with the fragments in drop_mask removed. */
static inline void ct_frag_ptrs(const struct ms_codec_fragments *f, uint32_t drop_mask,
                                const uint8_t *ptrs[MS_FRAG_MAX_SHARDS])
{
    for (unsigned i = 0; i < MS_FRAG_MAX_SHARDS; i++)
        ptrs[i] = (i < f->n && !(drop_mask & (1u << i))) ? f->frag[i] : NULL;
}

/* Decodes f without the fragments in drop_mask; returns the codec's code. On success the
 * result must equal obj (checked by the caller through *equal). */
static inline int ct_decode_drop(struct ms_codec_ctx *ctx, const struct ms_codec_fragments *f,
                                 uint32_t drop_mask, const struct ms_oid *oid, const uint8_t *key,
                                 const uint8_t *obj, size_t len, bool *equal, uint32_t *bad)
{
    const uint8_t *ptrs[MS_FRAG_MAX_SHARDS];
    ct_frag_ptrs(f, drop_mask, ptrs);
    uint8_t *out = NULL;
    size_t out_len = 0;
    int rc = ms_codec_decode(ctx, f->manifest, f->manifest_len, oid, key, ptrs, f->frag_len,
                             f->n, &out, &out_len, bad);
    *equal = rc == 0 && out_len == len && (len == 0 || memcmp(out, obj, len) == 0);
    if (rc == 0)
        ms_codec_plain_free(out, out_len);
    return rc;
}

#endif
