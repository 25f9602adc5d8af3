/*
 * rng.h - the randomness port: real (libsodium's CSPRNG) or seeded (tests, simulation).
 *
 * Cores take a struct ms_rng for every random choice (object ids, nonces, placement
 * tie-breaks, jitter), so one seed replays a whole simulated run (STYLE.md section 9). Keys
 * are drawn only from the real one; nothing checks that, so name the parameter for it.
 *
 *   struct ms_rng *rng = ms_rng_real();
 *   ms_rng_fill(rng, oid.b, sizeof(oid.b));
 *
 *   struct ms_rng_fake fake;
 *   ms_rng_fake_init(&fake, 42);
 *   ms_rng_fill(&fake.rng, buf, n);             (same seed -> same bytes, on every host)
 *
 * Thread safety: the real one is thread safe; a fake is not (one per simulated process or
 * per thread).
 */
#ifndef MS_COMMON_RNG_H
#define MS_COMMON_RNG_H

#include <stddef.h>
#include <stdint.h>

struct ms_rng;

struct ms_rng_ops {
    /* Fills len bytes of buf. Cannot fail (the real one aborts if the kernel cannot supply
     * entropy, as libsodium does). */
    void (*fill)(struct ms_rng *rng, void *buf, size_t len);
};

struct ms_rng {
    const struct ms_rng_ops *ops;
};

/* libsodium's randombytes_buf (getrandom(2)); initialises libsodium first. Static storage,
 * never NULL. Aborts (MS_ASSERT) when libsodium cannot initialise. */
struct ms_rng *ms_rng_real(void);

/* Fills len bytes of buf through rng's ops. */
static inline void ms_rng_fill(struct ms_rng *rng, void *buf, size_t len)
{
    rng->ops->fill(rng, buf, len);
}

/* A uniformly random uint64 from rng (8 bytes, little endian). */
uint64_t ms_rng_u64(struct ms_rng *rng);

/* A uniformly random integer in [0, bound), bound >= 1, without modulo bias. */
uint64_t ms_rng_below(struct ms_rng *rng, uint64_t bound);

/* Deterministic generator (splitmix64 stream, bytes emitted little endian): the same seed
 * gives the same bytes on every host and build. Never for keys. Caller storage; pass
 * &fake.rng; needs no cleanup. */
struct ms_rng_fake {
    struct ms_rng rng;
    uint64_t state;
    uint64_t calls; /* fill calls so far (tests assert a code path drew randomness) */
};

/* Starts a fake at seed (any value, 0 included); the first fill draws the first output of
 * splitmix64 from that seed. */
void ms_rng_fake_init(struct ms_rng_fake *fake, uint64_t seed);

#endif
