/*
 * test_scrub.c - damage detection and the scrub report: a flipped byte in a stored file makes
 * reads of that record fail with -MEDSTORE_ECORRUPT (never wrong bytes) and adds a report row,
 * while ranges that do not touch it still read; header, index, missing file and wrong size
 * are each reported; passes are rate limited; the background thread starts and stops.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "fragtest.h"
#include "node/catalog.h"
#include "node/scrub.h"

enum { NFRAG = 4 };

struct fx {
    char *dir;
    struct ms_io *io;
    struct ms_kv_mem_store *mem;
    struct ms_kv *kv;
    struct ms_fragstore *s;
    struct ms_fragstore_opts opts;
    struct fragtest f[NFRAG];
};

static int setup(void **state)
{
    struct fx *x = calloc(1, sizeof(*x));
    assert_non_null(x);
    x->dir = ms_test_tmpdir("scrub");
    assert_int_equal(ms_io_sync_create(&x->io), 0);
    assert_int_equal(ms_kv_mem_store_create(&x->mem), 0);
    assert_int_equal(fragtest_kv_open(x->mem, &x->kv), 0);
    x->opts = (struct ms_fragstore_opts){.data_dir = x->dir, .io = x->io, .kv = x->kv};
    assert_int_equal(ms_fragstore_open(&x->opts, &x->s), 0);
    for (int i = 0; i < NFRAG; i++) {
        struct ms_oid oid;
        fragtest_oid(&oid, 300 + (uint64_t)i);
        assert_int_equal(fragtest_build(&x->f[i], &oid, (uint8_t)i, 4, 65536, (uint64_t)i), 0);
        assert_int_equal(fragtest_put(x->s, &x->f[i], 100000), 0);
    }
    *state = x;
    return 0;
}

static int teardown(void **state)
{
    struct fx *x = *state;
    ms_fragstore_close(x->s);
    ms_kv_close(x->kv);
    ms_kv_mem_store_destroy(x->mem);
    ms_io_destroy(x->io);
    for (int i = 0; i < NFRAG; i++)
        fragtest_free(&x->f[i]);
    ms_test_rmtree(x->dir);
    free(x->dir);
    free(x);
    return 0;
}

static void flip(const struct fx *x, int i, uint64_t off)
{
    char path[4096];
    fragtest_path(x->dir, &x->f[i].key, path);
    int fd = open(path, O_RDWR);
    assert_true(fd >= 0);
    uint8_t b = 0;
    assert_int_equal(pread(fd, &b, 1, (off_t)off), 1);
    b ^= 0x01;
    assert_int_equal(pwrite(fd, &b, 1, (off_t)off), 1);
    close(fd);
}

static int count_cb(void *arg, uint64_t offset, const uint8_t *data, size_t len)
{
    (void)offset;
    (void)data;
    *(size_t *)arg += len;
    return 0;
}

/* Y-STO-2: integrity verification of stored data detects tampering: one flipped bit in a
 * shard record is DATA_LOSS for every read that needs the record and a scrub-report row. */
static void test_flipped_byte_detected__Y_STO_2(void **state)
{
    struct fx *x = *state;
    const struct fragtest *f = &x->f[1];
    flip(x, 1, fragtest_rec_off(f, 2) + MS_FRAG_REC_HDR_BYTES + 1000);
    size_t got = 0;
    struct ms_fragstore_range seg2 = {.kind = MS_FRAGSTORE_RANGE_SEGMENTS, .first = 2, .count = 1};
    assert_int_equal(ms_fragstore_get(x->s, &f->key, &seg2, count_cb, &got), -MEDSTORE_ECORRUPT);
    assert_int_equal(got, 0); /* no byte of the damaged record was delivered */
    struct ms_fragstore_range seg01 = {.kind = MS_FRAGSTORE_RANGE_SEGMENTS, .first = 0,
                                       .count = 2};
    assert_int_equal(ms_fragstore_get(x->s, &f->key, &seg01, count_cb, &got), 0);
    assert_int_equal(got, 2 * (MS_FRAG_REC_HDR_BYTES + 65536)); /* only needed records read */
    assert_int_equal(ms_fragstore_verify(x->s, &f->key), -MEDSTORE_ECORRUPT);
    struct ms_scrub_entry rows[NFRAG];
    assert_int_equal(ms_scrub_report(x->s, NULL, rows, NFRAG), 1);
    assert_memory_equal(rows[0].key.oid.b, f->key.oid.b, 16);
    assert_int_equal(rows[0].key.frag_index, 1);
    assert_int_equal(rows[0].reason, MS_SCRUB_CHECKSUM);
    assert_int_equal(rows[0].record, 2);
    assert_string_equal(ms_scrub_reason_name(rows[0].reason), "checksum");
    struct ms_fragstore_space sp;
    assert_int_equal(ms_fragstore_space(x->s, &sp), 0);
    assert_int_equal(sp.damaged_count, 1);
}

static void test_pass_reports_each_kind(void **state)
{
    struct fx *x = *state;
    flip(x, 0, 40);                                       /* header */
    flip(x, 2, x->f[2].len - 20);                         /* index footer checksum */
    flip(x, 3, fragtest_rec_off(&x->f[3], 3) + 40);       /* last record */
    assert_int_equal(ms_scrub_run_pass(x->s, 0), 3);
    struct ms_scrub_entry rows[NFRAG];
    assert_int_equal(ms_scrub_report(x->s, NULL, rows, NFRAG), 3);
    uint32_t want[NFRAG] = {MS_SCRUB_HEADER, 0, MS_SCRUB_INDEX, MS_SCRUB_CHECKSUM};
    for (int r = 0; r < 3; r++) {
        int i = rows[r].key.frag_index;
        assert_int_equal(rows[r].reason, want[i]);
    }
    struct ms_scrub_counters c;
    ms_scrub_counters(x->s, &c);
    assert_int_equal(c.passes, 1);
    assert_int_equal(c.fragments_checked, NFRAG);
    assert_int_equal(c.damaged_count, 3);
    assert_true(c.scanned_bytes >= x->f[1].len); /* the healthy one was read whole */
    /* Paging: after the first row, two more; after the last, none. */
    assert_int_equal(ms_scrub_report(x->s, &rows[0].key, rows + 1, 1), 1);
    assert_int_equal(ms_scrub_report(x->s, &rows[2].key, rows, NFRAG), 0);
    /* The repair seam: clearing a row (e.g. after a rewrite). */
    assert_int_equal(ms_scrub_clear(x->s, &rows[0].key), 0);
    assert_int_equal(ms_scrub_clear(x->s, &rows[0].key), 0);
    ms_scrub_counters(x->s, &c);
    assert_int_equal(c.damaged_count, 2);
}

static void test_missing_and_resized_files_at_open(void **state)
{
    struct fx *x = *state;
    ms_fragstore_close(x->s);
    x->s = NULL;
    char path[4096];
    fragtest_path(x->dir, &x->f[0].key, path);
    assert_int_equal(unlink(path), 0);
    fragtest_path(x->dir, &x->f[1].key, path);
    assert_int_equal(truncate(path, (off_t)x->f[1].len - 1), 0);
    assert_int_equal(ms_fragstore_open(&x->opts, &x->s), 0);
    struct ms_scrub_entry rows[NFRAG];
    assert_int_equal(ms_scrub_report(x->s, NULL, rows, NFRAG), 2);
    for (int r = 0; r < 2; r++)
        assert_int_equal(rows[r].reason,
                         rows[r].key.frag_index == 0 ? MS_SCRUB_MISSING : MS_SCRUB_SIZE);
    size_t got = 0;
    struct ms_fragstore_range all = {.kind = MS_FRAGSTORE_RANGE_ALL};
    assert_int_equal(ms_fragstore_get(x->s, &x->f[0].key, &all, count_cb, &got),
                     -MEDSTORE_ECORRUPT);
    assert_int_equal(ms_fragstore_get(x->s, &x->f[1].key, &all, count_cb, &got),
                     -MEDSTORE_ECORRUPT);
    assert_int_equal(fragtest_check(x->s, &x->f[2]), 0);
}

static void test_pass_is_rate_limited(void **state)
{
    struct fx *x = *state;
    struct ms_clock *clk = ms_clock_real();
    uint64_t total = 0;
    for (int i = 0; i < NFRAG; i++)
        total += x->f[i].len;
    uint64_t rate = total * 4; /* the whole store in ~0.25 s */
    uint64_t t0 = ms_clock_now_mono_ns(clk);
    assert_int_equal(ms_scrub_run_pass(x->s, rate), 0);
    uint64_t spent = ms_clock_now_mono_ns(clk) - t0;
    assert_true(spent >= 200 * MS_NS_PER_MS);
    struct ms_scrub_counters c;
    ms_scrub_counters(x->s, &c);
    assert_true(c.scanned_bytes >= total - x->f[0].len);
}

static void test_background_thread_runs_and_stops(void **state)
{
    struct fx *x = *state;
    ms_fragstore_close(x->s);
    x->s = NULL;
    flip(x, 3, fragtest_rec_off(&x->f[3], 0) + 50);
    x->opts.scrub_rate_bytes_per_s = 64u << 20;
    assert_int_equal(ms_fragstore_open(&x->opts, &x->s), 0);
    struct ms_scrub_counters c = {0};
    for (int i = 0; i < 200 && c.passes == 0; i++) {
        struct timespec ts = {.tv_sec = 0, .tv_nsec = 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
        ms_scrub_counters(x->s, &c);
    }
    assert_int_equal(c.passes, 1);
    assert_int_equal(c.damaged_count, 1);
    struct ms_clock *clk = ms_clock_real();
    uint64_t t0 = ms_clock_now_mono_ns(clk);
    ms_fragstore_close(x->s); /* stops the thread in its pause between passes */
    x->s = NULL;
    assert_true(ms_clock_now_mono_ns(clk) - t0 < 2 * MS_NS_PER_S);
    x->opts.scrub_rate_bytes_per_s = 0;
    assert_int_equal(ms_fragstore_open(&x->opts, &x->s), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_flipped_byte_detected__Y_STO_2, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pass_reports_each_kind, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_and_resized_files_at_open, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pass_is_rate_limited, setup, teardown),
        cmocka_unit_test_setup_teardown(test_background_thread_runs_and_stops, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
