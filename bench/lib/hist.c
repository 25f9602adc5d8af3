/*
 * hist.c - HDR-style log-linear histogram of ms_benchlib (benchlib.h).
 *
 * Values below 2^(S+1) (S = MS_BENCH_HIST_SUB_BITS) have a bucket each; above, every power
 * of two [2^e, 2^(e+1)) is cut into 2^S equal sub-buckets, so a value is known to within
 * 1/2^S of itself (0.8 % for S = 7) from 1 ns to 2^64 ns, in constant memory, and two
 * histograms merge by adding buckets (per-thread histograms, merged after the join).
 * Percentiles report the highest value equivalent to the bucket (HdrHistogram's convention),
 * clamped to the exact min and max that are kept aside.
 */
#include "benchlib.h"

#include <string.h>

#include "common/ms_assert.h"

#define S MS_BENCH_HIST_SUB_BITS
#define SUB (1ull << S)

unsigned ms_bench_hist_index(uint64_t value)
{
    if (value < 2 * SUB)
        return (unsigned)value;
    unsigned msb = 63u - (unsigned)__builtin_clzll(value);
    unsigned shift = msb - S;
    uint64_t top = value >> shift; /* in [SUB, 2 SUB) */
    MS_DASSERT(top >= SUB && top < 2 * SUB);
    unsigned idx = (unsigned)(2 * SUB + (uint64_t)(shift - 1) * SUB + (top - SUB));
    MS_ASSERT(idx < MS_BENCH_HIST_BUCKETS);
    return idx;
}

uint64_t ms_bench_hist_bucket_high(unsigned index)
{
    MS_ASSERT(index < MS_BENCH_HIST_BUCKETS);
    if (index < 2 * SUB)
        return index;
    uint64_t j = index - 2 * SUB;
    unsigned shift = (unsigned)(j / SUB) + 1;
    uint64_t top = j % SUB + SUB;
    uint64_t low = top << shift;
    MS_DASSERT(ms_bench_hist_index(low) == index);
    return low + ((1ull << shift) - 1);
}

void ms_bench_hist_reset(struct ms_bench_hist *h)
{
    MS_ASSERT(h != NULL);
    memset(h, 0, sizeof(*h));
    h->min = UINT64_MAX;
}

void ms_bench_hist_record(struct ms_bench_hist *h, uint64_t value)
{
    MS_ASSERT(h != NULL);
    h->bucket[ms_bench_hist_index(value)]++;
    h->count++;
    h->sum += value;
    if (value < h->min)
        h->min = value;
    if (value > h->max)
        h->max = value;
}

void ms_bench_hist_merge(struct ms_bench_hist *dst, const struct ms_bench_hist *src)
{
    MS_ASSERT(dst != NULL && src != NULL);
    for (unsigned i = 0; i < MS_BENCH_HIST_BUCKETS; i++)
        dst->bucket[i] += src->bucket[i];
    dst->count += src->count;
    dst->sum += src->sum;
    if (src->count > 0 && src->min < dst->min)
        dst->min = src->min;
    if (src->max > dst->max)
        dst->max = src->max;
}

uint64_t ms_bench_hist_pct(const struct ms_bench_hist *h, double pct)
{
    MS_ASSERT(h != NULL);
    MS_ASSERT(pct > 0 && pct <= 100);
    if (h->count == 0)
        return 0;
    uint64_t rank = (uint64_t)((pct / 100.0) * (double)h->count + 0.999999);
    if (rank < 1)
        rank = 1;
    uint64_t seen = 0;
    for (unsigned i = 0; i < MS_BENCH_HIST_BUCKETS; i++) {
        seen += h->bucket[i];
        if (seen >= rank) {
            uint64_t v = ms_bench_hist_bucket_high(i);
            return v < h->min ? h->min : v > h->max ? h->max : v;
        }
    }
    return h->max;
}

double ms_bench_hist_mean(const struct ms_bench_hist *h)
{
    MS_ASSERT(h != NULL);
    return h->count ? (double)(h->sum / h->count) : 0;
}
