/*
 * rng.c - randomness behind the ms_rng port.
 *
 * Real: libsodium's randombytes_buf (getrandom(2) on Linux), thread safe, for keys, nonces
 * and ids. Fake: splitmix64 (Steele, Lea, Flood 2014), chosen because it is tiny, passes
 * BigCrush, and needs no table; each 64-bit output is emitted little endian so a seed
 * replays identically on any host. Bytes of a partial last word are dropped, so a fill of
 * n bytes always consumes ceil(n / 8) outputs: the stream depends on the sizes asked for.
 */
#include "common/rng.h"

#include <sodium.h>
#include <string.h>

#include "common/ms_assert.h"
#include "common/secret.h"

static void real_fill(struct ms_rng *rng, void *buf, size_t len)
{
    MS_ASSERT(rng != NULL);
    MS_ASSERT(buf != NULL || len == 0);
    if (len == 0)
        return; /* randombytes_buf declares buf nonnull even for zero bytes */
    randombytes_buf(buf, len);
}

static const struct ms_rng_ops real_ops = {.fill = real_fill};
static struct ms_rng real_rng = {.ops = &real_ops};

struct ms_rng *ms_rng_real(void)
{
    int rc = ms_sodium_init();
    MS_ASSERT(rc == 0);
    return &real_rng;
}

static uint64_t splitmix64_next(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static void fake_fill(struct ms_rng *rng, void *buf, size_t len)
{
    MS_ASSERT(rng != NULL);
    MS_ASSERT(buf != NULL || len == 0);
    struct ms_rng_fake *f = (struct ms_rng_fake *)rng;
    uint8_t *p = buf;
    f->calls++;
    while (len > 0) {
        uint64_t v = splitmix64_next(&f->state);
        size_t n = len < 8 ? len : 8;
        for (size_t i = 0; i < n; i++)
            p[i] = (uint8_t)(v >> (8 * i));
        p += n;
        len -= n;
    }
}

static const struct ms_rng_ops fake_ops = {.fill = fake_fill};

void ms_rng_fake_init(struct ms_rng_fake *fake, uint64_t seed)
{
    MS_ASSERT(fake != NULL);
    fake->rng.ops = &fake_ops;
    fake->state = seed;
    fake->calls = 0;
    MS_ASSERT(fake->rng.ops->fill == fake_fill);
}

uint64_t ms_rng_u64(struct ms_rng *rng)
{
    MS_ASSERT(rng != NULL);
    MS_ASSERT(rng->ops != NULL);
    uint8_t b[8];
    ms_rng_fill(rng, b, sizeof(b));
    uint64_t v = 0;
    for (size_t i = 0; i < sizeof(b); i++)
        v |= (uint64_t)b[i] << (8 * i);
    return v;
}

uint64_t ms_rng_below(struct ms_rng *rng, uint64_t bound)
{
    MS_ASSERT(rng != NULL);
    MS_ASSERT(bound >= 1);
    /* Reject draws from the incomplete top interval: (2^64 - bound) % bound values. */
    uint64_t threshold = (UINT64_C(0) - bound) % bound;
    for (;;) {
        uint64_t v = ms_rng_u64(rng);
        if (v >= threshold)
            return v % bound;
    }
}
