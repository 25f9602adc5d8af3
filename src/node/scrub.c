/*
 * scrub.c - the damage report (kv column family "scrub") and the rate-limited background
 * scrub thread that re-verifies every committed fragment.
 *
 * Invariants:
 *   - A damage row exists only for a fragment whose catalogue record was committed when the
 *     row was written: ms_scrub_note() checks the record and writes the row under store->mu,
 *     and ms_wipe_finish() removes record, intent and row in one batch under the same lock,
 *     so a read racing a delete never leaves a row for a fragment that is gone.
 *   - damaged_count equals the number of rows (counted at open, +1 per new row, -1 per row
 *     removed by a delete or ms_scrub_clear()).
 *   - Scrub reads at most rate bytes/s on average (paced per shard record) and stops within
 *     ~50 ms of ms_scrub_stop().
 * Scrub never repairs and never deletes: it only reads and reports (repair is a later issue).
 */
#include "node/scrub.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"
#include "common/kv.h"
#include "common/log.h"
#include "common/ms_assert.h"
#include "node/fragstore_int.h"

#define SCRUB_PAGE 32u
#define SCRUB_NAP_NS (50ULL * MS_NS_PER_MS)      /* longest single sleep: stop latency */
#define SCRUB_PASS_PAUSE_NS (10ULL * MS_NS_PER_S) /* between two passes */

struct ms_scrub {
    pthread_t thread;
    atomic_bool stop;
    uint64_t rate;
};

static const char *const reason_names[] = {
    [MS_SCRUB_CHECKSUM] = "checksum", [MS_SCRUB_HEADER] = "header", [MS_SCRUB_INDEX] = "index",
    [MS_SCRUB_MISSING] = "missing",   [MS_SCRUB_SIZE] = "size",     [MS_SCRUB_IO] = "io",
};
_Static_assert(MS_ARRAY_LEN(reason_names) == MS_SCRUB_IO + 1, "a name per reason");

const char *ms_scrub_reason_name(uint32_t reason)
{
    if (reason >= MS_ARRAY_LEN(reason_names) || reason_names[reason] == NULL)
        return "unknown";
    MS_ASSERT(reason >= MS_SCRUB_CHECKSUM && reason <= MS_SCRUB_IO);
    return reason_names[reason];
}

int ms_scrub_note(struct ms_fragstore *s, const struct ms_fragstore_key *key,
                  enum ms_scrub_reason reason, uint32_t record)
{
    MS_ASSERT(s != NULL && key != NULL);
    MS_ASSERT(reason >= MS_SCRUB_CHECKSUM && reason <= MS_SCRUB_IO);
    char hex[MS_OID_HEX_LEN + 1];
    ms_oid_to_hex(&key->oid, hex);
    pthread_mutex_lock(&s->mu);
    struct ms_catalog_rec rec;
    int rc = ms_catalog_get(&s->cat, key, &rec);
    if (rc == 0 && rec.state == MS_CATALOG_COMMITTED) {
        struct ms_catalog_scrub old;
        bool fresh = ms_catalog_scrub_get(&s->cat, key, &old) == -MEDSTORE_ENOTFOUND;
        struct ms_catalog_scrub e = {.reason = reason, .record = record,
                                     .time_ms = fs_now_ms(s)};
        rc = ms_catalog_scrub_put(&s->cat, key, &e);
        if (rc == 0 && fresh)
            atomic_fetch_add(&s->damaged_count, 1);
    } else if (rc == 0 || rc == -MEDSTORE_ENOTFOUND) {
        pthread_mutex_unlock(&s->mu);
        return -MEDSTORE_ENOTFOUND; /* deleted under the reader: not damage */
    }
    pthread_mutex_unlock(&s->mu);
    ms_log(MS_LOG_ERROR, "node", "event=fragment_damaged oid=%s frag=%u reason=%s record=%" PRIu32
           " recorded=%s", hex, (unsigned)key->frag_index, ms_scrub_reason_name(reason), record,
           ms_err_name(rc));
    return 0;
}

/* ms_catalog_page row: one damaged fragment. */
static int report_row(const struct ms_fragstore_key *key, const void *val, size_t vlen, size_t n,
                      void *arg)
{
    struct ms_scrub_entry *out = arg;
    struct ms_catalog_scrub e;
    int rc = ms_catalog_scrub_decode(val, vlen, &e);
    if (rc < 0)
        return rc;
    out[n].key = *key;
    out[n].reason = (uint32_t)e.reason;
    out[n].record = e.record;
    out[n].time_ms = e.time_ms;
    return 1;
}

int ms_scrub_report(struct ms_fragstore *s, const struct ms_fragstore_key *after,
                    struct ms_scrub_entry *out, size_t limit)
{
    MS_ASSERT(s != NULL);
    MS_ASSERT(out != NULL || limit == 0);
    if (limit == 0 || limit > INT32_MAX || (after && after->frag_index >= MS_FRAGSTORE_MAX_INDEX))
        return limit == 0 ? 0 : -EINVAL;
    return ms_catalog_page(&s->cat, s->cat.cf_scrub, after, limit, report_row, out);
}

int ms_scrub_clear(struct ms_fragstore *s, const struct ms_fragstore_key *key)
{
    MS_ASSERT(s != NULL);
    if (!key || key->frag_index >= MS_FRAGSTORE_MAX_INDEX)
        return -EINVAL;
    pthread_mutex_lock(&s->mu);
    struct ms_catalog_scrub old;
    int rc = ms_catalog_scrub_get(&s->cat, key, &old);
    if (rc == 0) {
        rc = ms_catalog_scrub_delete(&s->cat, key);
        if (rc == 0)
            atomic_fetch_sub(&s->damaged_count, 1);
    } else if (rc == -MEDSTORE_ENOTFOUND) {
        rc = 0;
    }
    pthread_mutex_unlock(&s->mu);
    MS_ASSERT(rc <= 0);
    return rc;
}

void ms_scrub_counters(struct ms_fragstore *s, struct ms_scrub_counters *out)
{
    MS_ASSERT(s != NULL && out != NULL);
    out->scanned_bytes = atomic_load(&s->scrub_scanned_bytes);
    out->fragments_checked = atomic_load(&s->scrub_checked);
    out->passes = atomic_load(&s->scrub_passes);
    out->damaged_count = atomic_load(&s->damaged_count);
}

void ms_scrub_fill_space(struct ms_fragstore *s, struct ms_fragstore_space *out)
{
    MS_ASSERT(s != NULL && out != NULL);
    out->scrub_scanned_bytes = atomic_load(&s->scrub_scanned_bytes);
}

/* ---- passes ------------------------------------------------------------------------------ */

struct pass {
    struct ms_fragstore *s;
    struct ms_scrub *sc;      /* NULL for a pass run by ms_scrub_run_pass() */
    uint64_t rate;            /* bytes/s, 0 = unlimited */
    uint64_t start_ns;
    uint64_t bytes;
};

static bool pass_stopping(const struct pass *p)
{
    return p->sc != NULL && atomic_load(&p->sc->stop);
}

/* Sleeps ns in naps of at most SCRUB_NAP_NS; returns false when asked to stop. */
static bool nap(const struct pass *p, uint64_t ns)
{
    MS_ASSERT(p != NULL && p->s != NULL);
    while (ns > 0 && !pass_stopping(p)) {
        uint64_t step = ns < SCRUB_NAP_NS ? ns : SCRUB_NAP_NS;
        struct timespec ts = {.tv_sec = 0, .tv_nsec = (long)step};
        nanosleep(&ts, NULL);
        ns -= step;
    }
    return !pass_stopping(p);
}

/* Counts verified bytes and sleeps while ahead of the rate. */
static int pass_sink(void *arg, uint64_t offset, const uint8_t *data, size_t len)
{
    struct pass *p = arg;
    (void)offset;
    (void)data;
    MS_ASSERT(p != NULL && p->s != NULL);
    p->bytes += len;
    atomic_fetch_add(&p->s->scrub_scanned_bytes, len);
    if (p->rate == 0)
        return pass_stopping(p) ? -ECANCELED : 0;
    struct ms_clock *clk = (struct ms_clock *)p->s->clock;
    uint64_t due_ns = (uint64_t)((double)p->bytes * 1e9 / (double)p->rate);
    uint64_t spent_ns = ms_clock_now_mono_ns(clk) - p->start_ns;
    if (due_ns > spent_ns && !nap(p, due_ns - spent_ns))
        return -ECANCELED;
    return pass_stopping(p) ? -ECANCELED : 0;
}

/* Verifies one listed fragment; returns 1 when damaged, 0 when fine or gone, -ECANCELED. */
static int pass_one(struct pass *p, const struct ms_fragstore_key *key)
{
    MS_ASSERT(p != NULL && key != NULL);
    struct ms_catalog_rec rec;
    int rc = ms_catalog_get(&p->s->cat, key, &rec);
    if (rc < 0 || rec.state != MS_CATALOG_COMMITTED)
        return 0; /* deleted since the listing */
    rc = fs_verify_all(p->s, key, &rec, pass_sink, p);
    atomic_fetch_add(&p->s->scrub_checked, 1);
    if (rc == -ECANCELED)
        return rc;
    MS_ASSERT(rc <= 0);
    return rc == -MEDSTORE_ECORRUPT ? 1 : 0;
}

static int scrub_pass(struct ms_fragstore *s, struct ms_scrub *sc, uint64_t rate)
{
    MS_ASSERT(s != NULL && s->clock != NULL);
    struct pass p = {.s = s, .sc = sc, .rate = rate, .bytes = 0,
                     .start_ns = ms_clock_now_mono_ns((struct ms_clock *)s->clock)};
    struct ms_fragstore_entry page[SCRUB_PAGE];
    struct ms_fragstore_key after;
    bool have_after = false;
    int damaged = 0;
    for (;;) {
        int n = ms_fragstore_list(s, have_after ? &after : NULL, page, SCRUB_PAGE);
        if (n <= 0)
            return n < 0 ? n : damaged;
        for (int i = 0; i < n; i++) {
            int rc = pass_one(&p, &page[i].key);
            if (rc == -ECANCELED)
                return damaged;
            damaged += rc;
        }
        after = page[n - 1].key;
        have_after = true;
        MS_ASSERT(n <= (int)SCRUB_PAGE);
    }
}

int ms_scrub_run_pass(struct ms_fragstore *s, uint64_t rate_bytes_per_s)
{
    MS_ASSERT(s != NULL);
    int rc = scrub_pass(s, NULL, rate_bytes_per_s);
    if (rc >= 0)
        atomic_fetch_add(&s->scrub_passes, 1);
    MS_ASSERT(rc >= 0 || rc != -ECANCELED);
    return rc;
}

static void *scrub_main(void *arg)
{
    struct ms_fragstore *s = arg;
    struct ms_scrub *sc = s->scrub;
    MS_ASSERT(sc != NULL && sc->rate > 0);
    struct pass idle = {.s = s, .sc = sc};
    while (!atomic_load(&sc->stop)) {
        int rc = scrub_pass(s, sc, sc->rate);
        if (rc < 0)
            ms_log(MS_LOG_WARN, "node", "event=scrub_pass_failed err=%s", ms_err_name(rc));
        else if (!atomic_load(&sc->stop))
            atomic_fetch_add(&s->scrub_passes, 1);
        if (!nap(&idle, SCRUB_PASS_PAUSE_NS))
            break;
    }
    return NULL;
}

int ms_scrub_start(struct ms_fragstore *s, uint64_t rate_bytes_per_s)
{
    MS_ASSERT(s != NULL && s->scrub == NULL);
    MS_ASSERT(rate_bytes_per_s > 0);
    struct ms_scrub *sc = calloc(1, sizeof(*sc));
    if (!sc)
        return -ENOMEM;
    atomic_init(&sc->stop, false);
    sc->rate = rate_bytes_per_s;
    s->scrub = sc;
    int rc = pthread_create(&sc->thread, NULL, scrub_main, s);
    if (rc != 0) {
        s->scrub = NULL;
        free(sc);
        return -rc;
    }
    ms_log(MS_LOG_INFO, "node", "event=scrub_started rate_bytes_per_s=%" PRIu64, rate_bytes_per_s);
    return 0;
}

void ms_scrub_stop(struct ms_fragstore *s)
{
    MS_ASSERT(s != NULL);
    struct ms_scrub *sc = s->scrub;
    if (!sc)
        return;
    atomic_store(&sc->stop, true);
    pthread_join(sc->thread, NULL);
    s->scrub = NULL;
    free(sc);
}
