/*
 * ec.c - Reed-Solomon erasure coding over GF(2^8) with ISA-L.
 *
 * Matrix: ISA-L's gf_gen_cauchy1_matrix, never gf_gen_rs_matrix (its Vandermonde-style
 * matrix is not invertible for some erasure patterns once parity > 3; ISA-L's header says
 * so). Every k x k submatrix of a Cauchy matrix stacked under the identity is invertible, so
 * ANY k of the k + m shards rebuild the rest, for every k + m <= 32 (tests prove it for every
 * pattern up to 16 and seeded random ones up to 32). For k = 1 the parity rows are all 1:
 * replication rep(n), where each parity shard is a plain copy a reader can serve as is.
 * Decoding picks k surviving shards, inverts their rows of the encoding matrix
 * (gf_invert_matrix), derives the coefficient rows of the wanted shards (data rows of the
 * inverse, or encoding row x inverse for parity), and runs ec_encode_data with them.
 * Expanded tables (32 bytes per coefficient) are cached per thread by (k, m, sources,
 * wanted): a degraded read of many segments with the same lost node inverts once.
 */
#include "codec/codec_int.h"

#include <errno.h>
#include <isa-l/erasure_code.h>

#include "common/log.h"
#include "common/ms_assert.h"

#define MAXS MS_FRAG_MAX_SHARDS

_Static_assert(sizeof(((struct ms_ec_slot *)0)->tbls) >= 32 * 16 * 16,
               "tables for k * rows <= 256 (k + m <= 32)");

void ms_ec_matrix(uint8_t k, uint8_t m, uint8_t *a)
{
    MS_ASSERT(k >= 1 && m >= 1);
    MS_ASSERT(k + m <= MAXS);
    if (k == 1) {
        memset(a, 1, (size_t)(k + m));
        return;
    }
    gf_gen_cauchy1_matrix(a, k + m, k);
}

static unsigned popcount32(uint32_t v)
{
    return (unsigned)__builtin_popcount(v);
}

/* Finds the cached tables for a pattern, or NULL (and a victim slot to fill in *victim). */
static struct ms_ec_slot *cache_find(struct ms_ec *ec, uint8_t k, uint8_t m, uint32_t src,
                                     uint32_t want, struct ms_ec_slot **victim)
{
    MS_ASSERT(ec != NULL && victim != NULL);
    struct ms_ec_slot *old = &ec->slot[0];
    ec->clock++;
    for (unsigned i = 0; i < MS_EC_CACHE_SLOTS; i++) {
        struct ms_ec_slot *s = &ec->slot[i];
        if (s->k == k && s->m == m && s->src_mask == src && s->want_mask == want) {
            s->last_use = ec->clock;
            ec->hits++;
            return s;
        }
        if (s->last_use < old->last_use)
            old = s;
    }
    ec->misses++;
    *victim = old;
    return NULL;
}

/* Coefficient rows (rows x k) that turn the k source shards into the wanted shards. */
static int decode_rows(uint8_t k, uint8_t m, uint32_t src, uint32_t want, uint8_t *rows_out)
{
    MS_ASSERT(popcount32(src) == k);
    MS_ASSERT((src & want) == 0);
    uint8_t a[MAXS * MAXS], b[MAXS * MAXS], d[MAXS * MAXS];
    ms_ec_matrix(k, m, a);
    unsigned r = 0;
    for (unsigned i = 0; i < (unsigned)(k + m); i++)
        if (src & (1u << i))
            memcpy(&b[k * r++], &a[k * i], k);
    if (gf_invert_matrix(b, d, k) != 0)
        return -MEDSTORE_EINTERNAL;
    r = 0;
    for (unsigned w = 0; w < (unsigned)(k + m); w++) {
        if (!(want & (1u << w)))
            continue;
        uint8_t *row = &rows_out[k * r++];
        if (w < k) {
            memcpy(row, &d[k * w], k);
            continue;
        }
        for (unsigned j = 0; j < k; j++) {
            uint8_t acc = 0;
            for (unsigned l = 0; l < k; l++)
                acc ^= gf_mul(a[k * w + l], d[k * l + j]);
            row[j] = acc;
        }
    }
    return 0;
}

static struct ms_ec_slot *tables_for(struct ms_ec *ec, uint8_t k, uint8_t m, uint32_t src,
                                     uint32_t want, int *err)
{
    MS_ASSERT(err != NULL);
    MS_ASSERT(popcount32(want) >= 1 && popcount32(want) <= m);
    struct ms_ec_slot *victim = NULL;
    struct ms_ec_slot *s = cache_find(ec, k, m, src, want, &victim);
    if (s != NULL)
        return s;
    uint8_t rows[MAXS * MAXS];
    uint32_t data_mask = (uint32_t)((1ull << k) - 1);
    if (src == data_mask && want == (uint32_t)(((1ull << (k + m)) - 1) & ~data_mask)) {
        uint8_t a[MAXS * MAXS];
        ms_ec_matrix(k, m, a);
        memcpy(rows, &a[k * k], (size_t)k * m);
    } else if ((*err = decode_rows(k, m, src, want, rows)) != 0) {
        return NULL;
    }
    ec_init_tables(k, (int)popcount32(want), rows, victim->tbls);
    victim->k = k;
    victim->m = m;
    victim->src_mask = src;
    victim->want_mask = want;
    victim->last_use = ec->clock;
    return victim;
}

int ms_ec_encode(struct ms_ec *ec, uint8_t k, uint8_t m, uint32_t len, uint8_t *const data[],
                 uint8_t *const parity[])
{
    MS_ASSERT(ec != NULL && data != NULL && parity != NULL);
    if (k < 1 || m < 1 || k + m > MAXS || len == 0 || len > INT32_MAX)
        return -EINVAL;
    uint32_t src = (uint32_t)((1ull << k) - 1);
    uint32_t want = (uint32_t)(((1ull << (k + m)) - 1) & ~src);
    int err = 0;
    struct ms_ec_slot *s = tables_for(ec, k, m, src, want, &err);
    if (s == NULL)
        return err;
    ec_encode_data((int)len, k, m, s->tbls, (unsigned char **)data, (unsigned char **)parity);
    return 0;
}

int ms_ec_rebuild(struct ms_ec *ec, uint8_t k, uint8_t m, uint32_t len, uint32_t src_mask,
                  uint32_t want_mask, uint8_t *const shards[])
{
    MS_ASSERT(ec != NULL && shards != NULL);
    if (k < 1 || m < 1 || k + m > MAXS || len == 0 || len > INT32_MAX)
        return -EINVAL;
    uint32_t all = (uint32_t)((1ull << (k + m)) - 1);
    if ((src_mask & ~all) || (want_mask & ~all) || (src_mask & want_mask) ||
        popcount32(src_mask) != k || want_mask == 0 || popcount32(want_mask) > m)
        return -EINVAL;
    int err = 0;
    struct ms_ec_slot *s = tables_for(ec, k, m, src_mask, want_mask, &err);
    if (s == NULL) {
        ms_log(MS_LOG_ERROR, "codec", "event=ec_singular k=%u m=%u", k, m);
        return err;
    }
    uint8_t *srcs[MAXS], *outs[MAXS];
    unsigned ns = 0, no = 0;
    for (unsigned i = 0; i < (unsigned)(k + m); i++) {
        if (src_mask & (1u << i))
            srcs[ns++] = shards[i];
        else if (want_mask & (1u << i))
            outs[no++] = shards[i];
    }
    MS_ASSERT(ns == k && no == popcount32(want_mask));
    ec_encode_data((int)len, k, (int)no, s->tbls, srcs, outs);
    return 0;
}
