/*
 * checksum_simd.h - the XXH3 entry points built for a wider vector unit than the baseline
 * (checksum_avx2.c), for checksum.c's dispatch only. MS_CSUM_HAVE_AVX2 is defined by the
 * build when that file is compiled in (x86-64 with a compiler that takes -mavx2).
 */
#ifndef MS_CODEC_CHECKSUM_SIMD_H
#define MS_CODEC_CHECKSUM_SIMD_H

#include <stddef.h>
#include <stdint.h>

/* XXH3_128bits_withSeed with the AVX2 accumulate loop: the hash's low and high halves. */
void ms_csum_avx2_oneshot(const void *p, size_t len, uint64_t seed, uint64_t *lo, uint64_t *hi);

/* XXH3_128bits_update on an XXH3_state_t with the AVX2 accumulate loop; 0 or -1. */
int ms_csum_avx2_update(void *state, const void *p, size_t len);

#endif
