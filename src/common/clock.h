/*
 * clock.h - the clock port: wall time for token expiry, monotonic time for intervals.
 *
 * Cores never read time themselves; they are handed a struct ms_clock, so tests and the
 * simulation (tests/sim) run on a fake clock they set and advance. src/common/clock.c is the
 * only place medstore reads the system clock (tests/tidy enforces it).
 *
 *   struct ms_clock *clk = ms_clock_real();
 *   uint64_t deadline_ns = ms_clock_now_mono_ns(clk) + 30 * MS_NS_PER_S;
 *
 *   struct ms_clock_fake fake;
 *   ms_clock_fake_init(&fake, 1700000000000, 0);   (unix ms, monotonic ns)
 *   use(&fake.clock);
 *   ms_clock_fake_advance_ns(&fake, 5 * MS_NS_PER_S);   (both clocks move)
 *
 * Thread safety: both implementations may be read from any thread; a fake is set and
 * advanced with relaxed atomics (readers see each value whole, not a consistent pair).
 */
#ifndef MS_COMMON_CLOCK_H
#define MS_COMMON_CLOCK_H

#include <stdatomic.h>
#include <stdint.h>

#define MS_NS_PER_MS 1000000ULL
#define MS_NS_PER_S 1000000000ULL

struct ms_clock;

/* Implementations fill this table. Both functions must be safe to call from any thread. */
struct ms_clock_ops {
    /* Wall-clock time, milliseconds since the Unix epoch; may jump (NTP, operator). */
    uint64_t (*now_unix_ms)(struct ms_clock *clock);
    /* Monotonic time in nanoseconds from an arbitrary origin; never decreases. */
    uint64_t (*now_mono_ns)(struct ms_clock *clock);
};

struct ms_clock {
    const struct ms_clock_ops *ops;
};

/* The system clock (CLOCK_REALTIME, CLOCK_MONOTONIC). Static storage, never NULL. */
struct ms_clock *ms_clock_real(void);

/* Current wall time in ms since the epoch, through clock's ops. */
static inline uint64_t ms_clock_now_unix_ms(struct ms_clock *clock)
{
    return clock->ops->now_unix_ms(clock);
}

/* Current monotonic time in ns, through clock's ops. */
static inline uint64_t ms_clock_now_mono_ns(struct ms_clock *clock)
{
    return clock->ops->now_mono_ns(clock);
}

/* A manual clock for tests and the simulation. Embeds the port as its first member: pass
 * &fake.clock. Lives in caller storage; needs no cleanup. */
struct ms_clock_fake {
    struct ms_clock clock;
    _Atomic uint64_t unix_ns; /* wall time, ns since the epoch */
    _Atomic uint64_t mono_ns;
};

/* Starts a fake at the given wall time (ms since the epoch) and monotonic time (ns). */
void ms_clock_fake_init(struct ms_clock_fake *fake, uint64_t unix_ms, uint64_t mono_ns);

/* Moves both clocks forward by ns (wall keeps sub-millisecond remainders). */
void ms_clock_fake_advance_ns(struct ms_clock_fake *fake, uint64_t ns);

/* Sets the wall clock only, forwards or backwards (a clock step); monotonic time is kept. */
void ms_clock_fake_set_unix_ms(struct ms_clock_fake *fake, uint64_t unix_ms);

#endif
