/*
 * clock.c - the system clock behind the ms_clock port, and the manual fake.
 *
 * The only file of medstore that reads the system clock (clock_gettime); log.c's timestamps
 * are for humans and are the documented exception. clock_gettime on CLOCK_REALTIME and
 * CLOCK_MONOTONIC cannot fail on Linux with a valid pointer, so a failure is an assertion.
 * The fake keeps wall time in nanoseconds so advancing by less than 1 ms accumulates.
 * A wall time before 1970 is reported as 0: token expiry only ever compares forwards.
 */
#include "common/clock.h"

#include <time.h>

#include "common/ms_assert.h"

static uint64_t real_now_unix_ms(struct ms_clock *clock)
{
    MS_ASSERT(clock != NULL);
    struct timespec ts;
    int rc = clock_gettime(CLOCK_REALTIME, &ts);
    MS_ASSERT(rc == 0);
    if (ts.tv_sec < 0)
        return 0;
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / MS_NS_PER_MS;
}

static uint64_t real_now_mono_ns(struct ms_clock *clock)
{
    MS_ASSERT(clock != NULL);
    struct timespec ts;
    int rc = clock_gettime(CLOCK_MONOTONIC, &ts);
    MS_ASSERT(rc == 0);
    MS_ASSERT(ts.tv_sec >= 0);
    return (uint64_t)ts.tv_sec * MS_NS_PER_S + (uint64_t)ts.tv_nsec;
}

static const struct ms_clock_ops real_ops = {
    .now_unix_ms = real_now_unix_ms,
    .now_mono_ns = real_now_mono_ns,
};

static struct ms_clock real_clock = {.ops = &real_ops};

struct ms_clock *ms_clock_real(void)
{
    return &real_clock;
}

static uint64_t fake_now_unix_ms(struct ms_clock *clock)
{
    MS_ASSERT(clock != NULL);
    struct ms_clock_fake *f = (struct ms_clock_fake *)clock;
    MS_ASSERT(f->clock.ops == clock->ops);
    return atomic_load_explicit(&f->unix_ns, memory_order_relaxed) / MS_NS_PER_MS;
}

static uint64_t fake_now_mono_ns(struct ms_clock *clock)
{
    MS_ASSERT(clock != NULL);
    struct ms_clock_fake *f = (struct ms_clock_fake *)clock;
    MS_ASSERT(f->clock.ops == clock->ops);
    return atomic_load_explicit(&f->mono_ns, memory_order_relaxed);
}

static const struct ms_clock_ops fake_ops = {
    .now_unix_ms = fake_now_unix_ms,
    .now_mono_ns = fake_now_mono_ns,
};

void ms_clock_fake_init(struct ms_clock_fake *fake, uint64_t unix_ms, uint64_t mono_ns)
{
    MS_ASSERT(fake != NULL);
    MS_ASSERT(unix_ms <= UINT64_MAX / MS_NS_PER_MS);
    fake->clock.ops = &fake_ops;
    atomic_init(&fake->unix_ns, unix_ms * MS_NS_PER_MS);
    atomic_init(&fake->mono_ns, mono_ns);
}

void ms_clock_fake_advance_ns(struct ms_clock_fake *fake, uint64_t ns)
{
    MS_ASSERT(fake != NULL);
    MS_ASSERT(fake->clock.ops == &fake_ops);
    uint64_t before = atomic_fetch_add_explicit(&fake->mono_ns, ns, memory_order_relaxed);
    MS_ASSERT(before + ns >= before); /* a simulation never runs for 584 years */
    atomic_fetch_add_explicit(&fake->unix_ns, ns, memory_order_relaxed);
}

void ms_clock_fake_set_unix_ms(struct ms_clock_fake *fake, uint64_t unix_ms)
{
    MS_ASSERT(fake != NULL);
    MS_ASSERT(fake->clock.ops == &fake_ops);
    MS_ASSERT(unix_ms <= UINT64_MAX / MS_NS_PER_MS);
    atomic_store_explicit(&fake->unix_ns, unix_ms * MS_NS_PER_MS, memory_order_relaxed);
}
