/*
 * checksum.c - XXH3 checksums for shard records, fragment headers, the segment index and the
 * manifest.
 *
 * XXH3 is compiled inline (XXH_INLINE_ALL) into this file and checksum_avx2.c: about 3x
 * faster than Debian's libxxhash.so here (PERF.md: ~57k vs ~18.7k MiB/s). They are the only
 * places that include xxhash.h, so the rest of the codec sees plain functions. XXH3 is not
 * cryptographic: it catches bit rot and transit damage (F-TRN-1, Y-STO-2); tampering is caught
 * by the AEAD tag.
 * Digests are written in XXH's canonical (big-endian) byte order, the same on every host.
 *
 * Inputs of MS_CSUM_SIMD_MIN bytes or more go to the AVX2 build of the same code
 * (checksum_avx2.c) when the build has it and the CPU supports AVX2; the digest is identical
 * either way (test_checksum.c compares both with a scalar reference).
 */
#define XXH_INLINE_ALL
#include <xxhash.h>

#include "codec/checksum_simd.h"
#include "codec/codec_int.h"

#include "common/ms_assert.h"

_Static_assert(sizeof(XXH3_state_t) <= MS_CSUM_STATE_BYTES, "state buffer holds XXH3_state_t");
_Static_assert(_Alignof(XXH3_state_t) <= 64, "state buffers are 64-byte aligned");
_Static_assert(sizeof(XXH128_canonical_t) == MS_FRAG_CSUM_BYTES, "a digest is 16 bytes");

/* Below this, XXH3 runs its short-input code, which has no vector loop to speed up. */
#define MS_CSUM_SIMD_MIN 1024u

/* Hashes inputs of MS_CSUM_SIMD_MIN bytes or more with the AVX2 build when the build has it
 * and the CPU supports it (__builtin_cpu_supports reads what libgcc's constructor found at
 * start-up: a load and a test). False: the caller hashes with the baseline code. */
static bool avx2_oneshot(const void *p, size_t len, uint64_t seed, XXH128_hash_t *h)
{
#ifdef MS_CSUM_HAVE_AVX2
    if (len >= MS_CSUM_SIMD_MIN && __builtin_cpu_supports("avx2")) {
        ms_csum_avx2_oneshot(p, len, seed, &h->low64, &h->high64);
        return true;
    }
#endif
    (void)p;
    (void)len;
    (void)seed;
    (void)h;
    return false;
}

static bool avx2_update(void *state, const void *p, size_t len)
{
#ifdef MS_CSUM_HAVE_AVX2
    if (len >= MS_CSUM_SIMD_MIN && __builtin_cpu_supports("avx2")) {
        int rc = ms_csum_avx2_update(state, p, len);
        MS_ASSERT(rc == 0);
        return true;
    }
#endif
    (void)state;
    (void)p;
    (void)len;
    return false;
}

void ms_csum128(const void *p, size_t len, uint64_t seed, uint8_t out[MS_FRAG_CSUM_BYTES])
{
    MS_DASSERT(p != NULL || len == 0);
    XXH128_hash_t h;
    if (!avx2_oneshot(p, len, seed, &h))
        h = XXH3_128bits_withSeed(p, len, seed);
    XXH128_canonical_t c;
    XXH128_canonicalFromHash(&c, h);
    memcpy(out, c.digest, MS_FRAG_CSUM_BYTES);
}

uint64_t ms_csum64(const void *p, size_t len, uint64_t seed)
{
    MS_DASSERT(p != NULL || len == 0);
    return XXH3_64bits_withSeed(p, len, seed);
}

void ms_csum128_init(void *state, uint64_t seed)
{
    MS_ASSERT(state != NULL);
    MS_DASSERT(((uintptr_t)state & 63) == 0);
    XXH3_state_t *st = state;
    /* XXH3_INITSTATE marks the state fresh; reset then fills it. */
    XXH3_INITSTATE(st);
    XXH_errorcode rc = XXH3_128bits_reset_withSeed(st, seed);
    MS_ASSERT(rc == XXH_OK);
}

void ms_csum128_update(void *state, const void *p, size_t len)
{
    MS_ASSERT(state != NULL);
    MS_DASSERT(p != NULL || len == 0);
    if (len == 0)
        return;
    if (avx2_update(state, p, len))
        return;
    XXH_errorcode rc = XXH3_128bits_update(state, p, len);
    MS_ASSERT(rc == XXH_OK);
}

void ms_csum128_final(void *state, uint8_t out[MS_FRAG_CSUM_BYTES])
{
    MS_ASSERT(state != NULL);
    MS_ASSERT(out != NULL);
    XXH128_hash_t h = XXH3_128bits_digest(state);
    XXH128_canonical_t c;
    XXH128_canonicalFromHash(&c, h);
    memcpy(out, c.digest, MS_FRAG_CSUM_BYTES);
}

bool ms_csum_equal(const uint8_t a[MS_FRAG_CSUM_BYTES], const uint8_t b[MS_FRAG_CSUM_BYTES])
{
    uint8_t acc = 0;
    for (unsigned i = 0; i < MS_FRAG_CSUM_BYTES; i++)
        acc |= (uint8_t)(a[i] ^ b[i]);
    return acc == 0;
}
