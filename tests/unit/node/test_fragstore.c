/*
 * test_fragstore.c - the fragment store on the sync backend (and the io_uring one where this
 * host has it) with the memory kv: put/get/range round trips, atomic put (abort, bad streams,
 * duplicates), recovery at open, stat/list/space, group commit, the O_DIRECT fallback.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <fcntl.h>
#include <pthread.h>
#include <unistd.h>

#include "fragtest.h"
#include "node/io_uring_backend.h"

struct fx {
    char *dir;
    struct ms_io *io;
    struct ms_kv_mem_store *mem;
    struct ms_kv *kv;
    struct ms_fragstore *s;
    struct ms_fragstore_opts opts;
};

static int fx_open_store(struct fx *x)
{
    x->opts.data_dir = x->dir;
    x->opts.io = x->io;
    x->opts.kv = x->kv;
    return ms_fragstore_open(&x->opts, &x->s);
}

enum backend { BE_SYNC, BE_URING, BE_FAULT };

static int setup_with(void **state, const char *base, enum backend be)
{
    struct fx *x = calloc(1, sizeof(*x));
    assert_non_null(x);
    if (base) {
        char tmpl[256];
        snprintf(tmpl, sizeof(tmpl), "%s/msfs-XXXXXX", base);
        char *d = mkdtemp(tmpl);
        assert_non_null(d);
        x->dir = strdup(d);
    } else {
        x->dir = ms_test_tmpdir("fragstore");
    }
    if (be == BE_URING)
        assert_int_equal(ms_io_uring_create(64, &x->io), 0);
    else if (be == BE_FAULT)
        assert_int_equal(ms_io_fault_create(NULL, &x->io), 0);
    else
        assert_int_equal(ms_io_sync_create(&x->io), 0);
    assert_int_equal(ms_kv_mem_store_create(&x->mem), 0);
    assert_int_equal(fragtest_kv_open(x->mem, &x->kv), 0);
    assert_int_equal(fx_open_store(x), 0);
    *state = x;
    return 0;
}

static int setup_in(void **state, const char *base)
{
    return setup_with(state, base, BE_SYNC);
}

static int setup(void **state)
{
    return setup_in(state, NULL);
}

/* io_uring: skipped where the host has none, a failure under CI=true (STYLE.md 9). */
static int setup_uring(void **state)
{
    int rc = ms_io_uring_probe();
    if (rc != 0) {
        if (ms_test_in_ci())
            fail_msg("io_uring unavailable under CI=true: %s", ms_err_name(rc));
        *state = NULL;
        return 0;
    }
    return setup_with(state, NULL, BE_URING);
}

static int setup_fault(void **state)
{
    return setup_with(state, NULL, BE_FAULT);
}

static int teardown(void **state)
{
    struct fx *x = *state;
    if (!x)
        return 0;
    ms_fragstore_close(x->s);
    ms_kv_close(x->kv);
    ms_kv_mem_store_destroy(x->mem);
    ms_io_destroy(x->io);
    ms_test_rmtree(x->dir);
    free(x->dir);
    free(x);
    return 0;
}

static void reopen(struct fx *x)
{
    ms_fragstore_close(x->s);
    x->s = NULL;
    assert_int_equal(fx_open_store(x), 0);
}

/* Sizes that cross the 1 MiB stage and the 256 KiB write chunks. */
static void test_put_get_roundtrip(void **state)
{
    struct fx *x = *state;
    static const struct { uint32_t nseg, payload; size_t chunk; } cases[] = {
        {1, 64, 7}, {0, 64, 1000}, {3, 4096, 4096}, {5, 300032, 65536}, {2, 1048576, 1 << 20},
        {9, 65536, 100000},
    };
    for (size_t i = 0; i < MS_ARRAY_LEN(cases); i++) {
        struct ms_oid oid;
        fragtest_oid(&oid, i + 1);
        struct fragtest f;
        assert_int_equal(fragtest_build(&f, &oid, (uint8_t)(i % 6), cases[i].nseg,
                                        cases[i].payload, i), 0);
        assert_int_equal(fragtest_put(x->s, &f, cases[i].chunk), 0);
        assert_int_equal(fragtest_check(x->s, &f), 0);
        struct ms_fragstore_info info;
        assert_int_equal(ms_fragstore_stat(x->s, &f.key, &info), 0);
        assert_int_equal(info.size_bytes, f.len);
        assert_int_equal(info.segment_count, cases[i].nseg);
        assert_memory_equal(info.header_checksum, f.bytes + MS_FRAG_OFF_CSUM, 16);
        char path[4096];
        fragtest_path(x->dir, &f.key, path);
        struct stat st;
        assert_int_equal(stat(path, &st), 0);
        /* Written with O_DIRECT: the fragment plus zero padding to 4 KiB (recorded), else
         * exactly the fragment. Either way the padding never reaches a reader. */
        uint64_t want = ms_fragstore_is_direct(x->s) ? (f.len + 4095) / 4096 * 4096 : f.len;
        assert_int_equal(st.st_size, want);
        assert_int_equal(ms_fragstore_verify(x->s, &f.key), 0);
        fragtest_free(&f);
    }
    assert_int_equal(fragtest_count_files(x->dir, "tmp"), 0);
    reopen(x);
    struct ms_fragstore_space sp;
    assert_int_equal(ms_fragstore_space(x->s, &sp), 0);
    assert_int_equal(sp.fragment_count, MS_ARRAY_LEN(cases));
    assert_true(sp.capacity_bytes > 0 && sp.free_bytes <= sp.capacity_bytes);
}

struct collect {
    uint8_t *buf;
    size_t len;
    uint64_t first_off;
    uint64_t next_off;
};

static int collect_cb(void *arg, uint64_t offset, const uint8_t *data, size_t len)
{
    struct collect *c = arg;
    if (c->len == 0)
        c->first_off = offset;
    else if (offset != c->next_off)
        return -EPROTO;
    memcpy(c->buf + c->len, data, len);
    c->len += len;
    c->next_off = offset + len;
    return 0;
}

static void test_ranges(void **state)
{
    struct fx *x = *state;
    struct ms_oid oid;
    fragtest_oid(&oid, 77);
    struct fragtest f;
    assert_int_equal(fragtest_build(&f, &oid, 2, 6, 8192, 5), 0);
    assert_int_equal(fragtest_put(x->s, &f, 10000), 0);
    uint8_t *buf = malloc(f.len);
    uint64_t rs = 99;
    for (int i = 0; i < 200; i++) {
        uint64_t a = ms_test_rand(&rs) % f.len;
        uint64_t n = 1 + ms_test_rand(&rs) % (f.len - a);
        struct collect c = {.buf = buf};
        struct ms_fragstore_range r = {.kind = MS_FRAGSTORE_RANGE_BYTES, .first = a, .count = n};
        assert_int_equal(ms_fragstore_get(x->s, &f.key, &r, collect_cb, &c), 0);
        assert_int_equal(c.len, n);
        assert_int_equal(c.first_off, a);
        assert_memory_equal(buf, f.bytes + a, n);
    }
    for (uint32_t first = 0; first < 6; first++) {
        for (uint32_t cnt = 1; first + cnt <= 6; cnt++) {
            struct collect c = {.buf = buf};
            struct ms_fragstore_range r = {.kind = MS_FRAGSTORE_RANGE_SEGMENTS, .first = first,
                                           .count = cnt};
            assert_int_equal(ms_fragstore_get(x->s, &f.key, &r, collect_cb, &c), 0);
            uint64_t a = fragtest_rec_off(&f, first);
            assert_int_equal(c.first_off, a);
            assert_int_equal(c.len, fragtest_rec_off(&f, first + cnt) - a);
            assert_memory_equal(buf, f.bytes + a, c.len);
        }
    }
    struct collect c = {.buf = buf};
    struct ms_fragstore_range bad[] = {
        {.kind = MS_FRAGSTORE_RANGE_BYTES, .first = f.len, .count = 1},
        {.kind = MS_FRAGSTORE_RANGE_BYTES, .first = 0, .count = f.len + 1},
        {.kind = MS_FRAGSTORE_RANGE_BYTES, .first = 3, .count = 0},
        {.kind = MS_FRAGSTORE_RANGE_SEGMENTS, .first = 6, .count = 1},
        {.kind = MS_FRAGSTORE_RANGE_SEGMENTS, .first = 5, .count = 2},
        {.kind = MS_FRAGSTORE_RANGE_SEGMENTS, .first = 0, .count = 0},
    };
    for (size_t i = 0; i < MS_ARRAY_LEN(bad); i++)
        assert_int_equal(ms_fragstore_get(x->s, &f.key, &bad[i], collect_cb, &c),
                         -MEDSTORE_ERANGE);
    size_t got = 0;
    struct ms_fragstore_range all = {.kind = MS_FRAGSTORE_RANGE_ALL};
    assert_int_equal(ms_fragstore_get_buf(x->s, &f.key, &all, buf, f.len - 1, &got), -ENOBUFS);
    free(buf);
    fragtest_free(&f);
}

static void test_duplicate_put_already_exists(void **state)
{
    struct fx *x = *state;
    struct ms_oid oid;
    fragtest_oid(&oid, 3);
    struct fragtest f;
    assert_int_equal(fragtest_build(&f, &oid, 1, 2, 128, 3), 0);
    struct ms_fragstore_put *p1 = NULL, *p2 = NULL;
    assert_int_equal(ms_fragstore_put_begin(x->s, &oid, 1, f.bytes, MS_FRAG_HDR_BYTES, &p1), 0);
    /* A second session for the same fragment while the first runs. */
    assert_int_equal(ms_fragstore_put_begin(x->s, &oid, 1, f.bytes, MS_FRAG_HDR_BYTES, &p2),
                     -EBUSY);
    assert_int_equal(ms_fragstore_put_append(p1, f.bytes + MS_FRAG_HDR_BYTES,
                                             f.len - MS_FRAG_HDR_BYTES), 0);
    assert_int_equal(ms_fragstore_put_commit(&p1), 0);
    assert_null(p1);
    /* Replay of the same put after the ack: ALREADY_EXISTS, before anything is written. */
    assert_int_equal(ms_fragstore_put_begin(x->s, &oid, 1, f.bytes, MS_FRAG_HDR_BYTES, &p2),
                     -MEDSTORE_EEXIST);
    assert_int_equal(fragtest_count_files(x->dir, "tmp"), 0);
    assert_int_equal(fragtest_check(x->s, &f), 0);
    fragtest_free(&f);
}

static void assert_nothing_visible(struct fx *x, const struct ms_fragstore_key *key)
{
    struct ms_fragstore_info info;
    assert_int_equal(ms_fragstore_stat(x->s, key, &info), -MEDSTORE_ENOTFOUND);
    assert_int_equal(fragtest_count_files(x->dir, "tmp"), 0);
    assert_int_equal(fragtest_count_frags(x->dir), 0);
    struct ms_fragstore_entry e[2];
    assert_int_equal(ms_fragstore_list(x->s, NULL, e, 2), 0);
}

static void test_abort_leaves_nothing(void **state)
{
    struct fx *x = *state;
    struct ms_oid oid;
    fragtest_oid(&oid, 4);
    struct fragtest f;
    assert_int_equal(fragtest_build(&f, &oid, 0, 4, 300032, 4), 0);
    struct ms_fragstore_put *p = NULL;
    assert_int_equal(ms_fragstore_put_begin(x->s, &oid, 0, f.bytes, MS_FRAG_HDR_BYTES, &p), 0);
    assert_int_equal(ms_fragstore_put_append(p, f.bytes + MS_FRAG_HDR_BYTES, f.len / 2), 0);
    assert_int_equal(fragtest_count_frags(x->dir), 0); /* still in the 1 MiB stage */
    assert_int_equal(ms_fragstore_put_append(p, f.bytes + MS_FRAG_HDR_BYTES + f.len / 2,
                                             f.len / 2 - 1000), 0);
    /* The stage went to disk under the final name, but without a committed catalogue record
     * the fragment does not exist for any read. */
    assert_int_equal(fragtest_count_frags(x->dir), 1);
    struct ms_fragstore_info info;
    assert_int_equal(ms_fragstore_stat(x->s, &f.key, &info), -MEDSTORE_ENOTFOUND);
    assert_int_equal(ms_fragstore_verify(x->s, &f.key), -MEDSTORE_ENOTFOUND);
    struct ms_fragstore_entry e[1];
    assert_int_equal(ms_fragstore_list(x->s, NULL, e, 1), 0);
    ms_fragstore_put_abort(&p); /* the client disconnected mid-stream */
    assert_null(p);
    assert_nothing_visible(x, &f.key);
    ms_fragstore_put_abort(&p); /* NULL is fine */
    /* A session left open at close is aborted by the close: nothing becomes visible. */
    assert_int_equal(ms_fragstore_put_begin(x->s, &oid, 0, f.bytes, MS_FRAG_HDR_BYTES, &p), 0);
    assert_int_equal(ms_fragstore_put_append(p, f.bytes + MS_FRAG_HDR_BYTES, 1000), 0);
    reopen(x);
    assert_nothing_visible(x, &f.key);
    assert_int_equal(fragtest_put(x->s, &f, 1 << 16), 0); /* and the key is free again */
    fragtest_free(&f);
}

static void test_bad_header_rejected_before_write(void **state)
{
    struct fx *x = *state;
    struct ms_oid oid, other;
    fragtest_oid(&oid, 5);
    fragtest_oid(&other, 6);
    struct fragtest f;
    assert_int_equal(fragtest_build(&f, &oid, 3, 1, 64, 5), 0);
    struct ms_fragstore_put *p = NULL;
    uint8_t hdr[MS_FRAG_HDR_BYTES];
    memcpy(hdr, f.bytes, sizeof(hdr));
    hdr[20] ^= 1; /* inside the object id: header checksum fails */
    assert_int_equal(ms_fragstore_put_begin(x->s, &oid, 3, hdr, sizeof(hdr), &p),
                     -MEDSTORE_ECORRUPT);
    assert_int_equal(ms_fragstore_put_begin(x->s, &other, 3, f.bytes, MS_FRAG_HDR_BYTES, &p),
                     -MEDSTORE_EFORMAT);
    assert_int_equal(ms_fragstore_put_begin(x->s, &oid, 4, f.bytes, MS_FRAG_HDR_BYTES, &p),
                     -MEDSTORE_EFORMAT);
    assert_int_equal(ms_fragstore_put_begin(x->s, &oid, 3, f.bytes, 100, &p),
                     -MEDSTORE_ETRUNCATED);
    assert_int_equal(ms_fragstore_put_begin(x->s, &oid, 40, f.bytes, MS_FRAG_HDR_BYTES, &p),
                     -EINVAL);
    assert_null(p);
    assert_int_equal(fragtest_count_files(x->dir, "tmp"), 0);
    fragtest_free(&f);
}

static void test_corrupt_stream_rejected(void **state)
{
    struct fx *x = *state;
    struct ms_oid oid;
    fragtest_oid(&oid, 8);
    struct fragtest f;
    assert_int_equal(fragtest_build(&f, &oid, 0, 3, 4096, 8), 0);
    /* A flipped payload bit: the record's checksum fails as its last byte arrives. */
    f.bytes[fragtest_rec_off(&f, 1) + MS_FRAG_REC_HDR_BYTES + 100] ^= 0x40;
    struct ms_fragstore_put *p = NULL;
    assert_int_equal(ms_fragstore_put_begin(x->s, &oid, 0, f.bytes, MS_FRAG_HDR_BYTES, &p), 0);
    assert_int_equal(ms_fragstore_put_append(p, f.bytes + MS_FRAG_HDR_BYTES,
                                             f.len - MS_FRAG_HDR_BYTES), -MEDSTORE_ECORRUPT);
    assert_int_equal(ms_fragstore_put_append(p, f.bytes, 1), -MEDSTORE_ECORRUPT); /* sticky */
    assert_int_equal(ms_fragstore_put_commit(&p), -MEDSTORE_ECORRUPT);
    assert_null(p);
    assert_nothing_visible(x, &f.key);
    fragtest_free(&f);
}

static void test_truncated_stream_rejected(void **state)
{
    struct fx *x = *state;
    struct ms_oid oid;
    fragtest_oid(&oid, 9);
    struct fragtest f;
    assert_int_equal(fragtest_build(&f, &oid, 0, 3, 4096, 9), 0);
    size_t cuts[] = {MS_FRAG_HDR_BYTES, MS_FRAG_HDR_BYTES + 10, f.len - 33, f.len - 1};
    for (size_t i = 0; i < MS_ARRAY_LEN(cuts); i++) {
        struct ms_fragstore_put *p = NULL;
        assert_int_equal(ms_fragstore_put_begin(x->s, &oid, 0, f.bytes, MS_FRAG_HDR_BYTES, &p),
                         0);
        assert_int_equal(ms_fragstore_put_append(p, f.bytes + MS_FRAG_HDR_BYTES,
                                                 cuts[i] - MS_FRAG_HDR_BYTES), 0);
        assert_int_equal(ms_fragstore_put_commit(&p), -MEDSTORE_ETRUNCATED);
        assert_nothing_visible(x, &f.key);
    }
    fragtest_free(&f);
}

static void test_recovery_removes_temp_and_orphans(void **state)
{
    struct fx *x = *state;
    struct ms_oid oid;
    fragtest_oid(&oid, 10);
    struct fragtest f, g;
    assert_int_equal(fragtest_build(&f, &oid, 0, 2, 4096, 10), 0);
    assert_int_equal(fragtest_build(&g, &oid, 1, 2, 4096, 11), 0);
    assert_int_equal(fragtest_put(x->s, &f, 5000), 0);
    ms_fragstore_close(x->s);
    x->s = NULL;
    /* A temp file an earlier version left in tmp/, and a file under its final name without a
     * catalogue record (a put cut by a crash): both are wiped at open. */
    char path[4096];
    snprintf(path, sizeof(path), "%s/tmp/whatever.0.0123456789abcdef", x->dir);
    assert_int_equal(ms_test_write_file(path, g.bytes, g.len), 0);
    char orphan[4096];
    fragtest_path(x->dir, &g.key, orphan);
    assert_int_equal(ms_test_write_file(orphan, g.bytes, g.len), 0);
    char keep[4096];
    snprintf(keep, sizeof(keep), "%s/hl-orphan", x->dir);
    assert_int_equal(link(orphan, keep), 0);
    assert_int_equal(fx_open_store(x), 0);
    assert_int_equal(fragtest_count_files(x->dir, "tmp"), 0);
    assert_int_equal(fragtest_count_frags(x->dir), 1);
    assert_int_equal(fragtest_check(x->s, &f), 0);
    struct ms_fragstore_info info;
    assert_int_equal(ms_fragstore_stat(x->s, &g.key, &info), -MEDSTORE_ENOTFOUND);
    /* The orphan held ciphertext: it was zeroed before the unlink. */
    uint8_t *back = NULL;
    size_t blen = 0;
    assert_int_equal(ms_test_read_file(keep, &back, &blen), 0);
    assert_int_equal(blen, g.len);
    for (size_t i = 0; i < blen; i++)
        assert_int_equal(back[i], 0);
    free(back);
    fragtest_free(&f);
    fragtest_free(&g);
}

/* A file under a fragment's final name without a committed record (left by a put whose
 * cleanup failed) is wiped by the next put of that fragment, which then commits. */
static void test_leftover_file_wiped_by_next_put(void **state)
{
    struct fx *x = *state;
    struct ms_oid oid;
    fragtest_oid(&oid, 12);
    struct fragtest f;
    assert_int_equal(fragtest_build(&f, &oid, 2, 2, 4096, 12), 0);
    char path[4096], keep[4096];
    fragtest_path(x->dir, &f.key, path);
    snprintf(keep, sizeof(keep), "%s/hl-leftover", x->dir);
    uint8_t junk[10000];
    ms_test_fill(junk, sizeof(junk), 99);
    assert_int_equal(ms_test_write_file(path, junk, sizeof(junk)), 0);
    assert_int_equal(link(path, keep), 0);
    struct ms_fragstore_info info;
    assert_int_equal(ms_fragstore_stat(x->s, &f.key, &info), -MEDSTORE_ENOTFOUND);
    assert_int_equal(fragtest_put(x->s, &f, 3000), 0);
    assert_int_equal(fragtest_check(x->s, &f), 0);
    uint8_t *back = NULL;
    size_t blen = 0;
    assert_int_equal(ms_test_read_file(keep, &back, &blen), 0);
    assert_int_equal(blen, sizeof(junk));
    for (size_t i = 0; i < blen; i++)
        assert_int_equal(back[i], 0);
    free(back);
    reopen(x);
    assert_int_equal(fragtest_check(x->s, &f), 0);
    fragtest_free(&f);
}

static void test_list_paged(void **state)
{
    struct fx *x = *state;
    enum { N = 23 };
    for (int i = 0; i < N; i++) {
        struct ms_oid oid;
        fragtest_oid(&oid, 1000 + (uint64_t)i / 3);
        struct fragtest f;
        assert_int_equal(fragtest_build(&f, &oid, (uint8_t)(i % 3), 1, 64, (uint64_t)i), 0);
        assert_int_equal(fragtest_put(x->s, &f, 64), 0);
        fragtest_free(&f);
    }
    struct ms_fragstore_entry page[5];
    struct ms_fragstore_key after;
    int total = 0, n;
    bool first = true;
    while ((n = ms_fragstore_list(x->s, first ? NULL : &after, page, 5)) > 0) {
        for (int i = 0; i < n; i++) {
            if (!first || i > 0) {
                const struct ms_fragstore_key *prev = i ? &page[i - 1].key : &after;
                int c = memcmp(prev->oid.b, page[i].key.oid.b, 16);
                assert_true(c < 0 || (c == 0 && prev->frag_index < page[i].key.frag_index));
            }
            assert_int_equal(page[i].info.segment_count, 1);
        }
        total += n;
        after = page[n - 1].key;
        first = false;
    }
    assert_int_equal(n, 0);
    assert_int_equal(total, N);
    struct ms_fragstore_space sp;
    assert_int_equal(ms_fragstore_space(x->s, &sp), 0);
    assert_int_equal(sp.fragment_count, N);
}

struct gc_arg {
    struct ms_fragstore *s;
    int id;
    int rc;
};

static void *gc_thread(void *arg)
{
    struct gc_arg *a = arg;
    for (int i = 0; i < 8 && a->rc == 0; i++) {
        struct ms_oid oid;
        fragtest_oid(&oid, 5000 + (uint64_t)a->id * 100 + (uint64_t)i);
        struct fragtest f;
        /* Every fourth put is longer than the 1 MiB stage: staged O_DIRECT writes of
         * several sessions (on write ports when the store has them) beside small commits. */
        bool big = i % 4 == 3;
        a->rc = fragtest_build(&f, &oid, 0, big ? 3 : 1, big ? 400000 : 16384, (uint64_t)i);
        if (a->rc == 0)
            a->rc = fragtest_put(a->s, &f, big ? 300000 : 16384);
        if (a->rc == 0)
            a->rc = fragtest_check(a->s, &f);
        fragtest_free(&f);
    }
    return NULL;
}

/* Eight writers commit concurrently, small and large fragments mixed; every put is acked
 * and readable. The batching factor (fragments per round) depends on timing and is only
 * reported here; bench/fragstore measures it. */
static void test_group_commit_concurrent(void **state)
{
    struct fx *x = *state;
    enum { T = 8 };
    pthread_t th[T];
    struct gc_arg args[T];
    for (int i = 0; i < T; i++) {
        args[i] = (struct gc_arg){.s = x->s, .id = i};
        assert_int_equal(pthread_create(&th[i], NULL, gc_thread, &args[i]), 0);
    }
    for (int i = 0; i < T; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(args[i].rc, 0);
    }
    uint64_t rounds = 0, frags = 0;
    ms_fragstore_commit_counters(x->s, &rounds, &frags);
    assert_int_equal(frags, T * 8);
    assert_true(rounds >= 1 && rounds <= frags);
    print_message("group commit: %llu fragments in %llu rounds\n", (unsigned long long)frags,
                  (unsigned long long)rounds);
}

static void test_sessions_capped(void **state)
{
    struct fx *x = *state;
    ms_fragstore_close(x->s);
    x->s = NULL;
    x->opts.max_sessions = 2;
    assert_int_equal(fx_open_store(x), 0);
    struct fragtest f[3];
    struct ms_fragstore_put *p[3] = {NULL, NULL, NULL};
    for (int i = 0; i < 3; i++) {
        struct ms_oid oid;
        fragtest_oid(&oid, 7000 + (uint64_t)i);
        assert_int_equal(fragtest_build(&f[i], &oid, 0, 1, 64, 1), 0);
        int want = i < 2 ? 0 : -EAGAIN;
        assert_int_equal(ms_fragstore_put_begin(x->s, &oid, 0, f[i].bytes, MS_FRAG_HDR_BYTES,
                                                &p[i]), want);
    }
    ms_fragstore_put_abort(&p[0]);
    ms_fragstore_put_abort(&p[1]);
    for (int i = 0; i < 3; i++)
        fragtest_free(&f[i]);
}

static void test_no_group_commit_and_buffered(void **state)
{
    struct fx *x = *state;
    ms_fragstore_close(x->s);
    x->s = NULL;
    x->opts.no_group_commit = true;
    x->opts.no_direct = true;
    assert_int_equal(fx_open_store(x), 0);
    assert_false(ms_fragstore_is_direct(x->s));
    struct ms_oid oid;
    fragtest_oid(&oid, 31);
    struct fragtest f;
    assert_int_equal(fragtest_build(&f, &oid, 5, 7, 200000, 31), 0);
    assert_int_equal(fragtest_put(x->s, &f, 123457), 0);
    reopen(x);
    assert_int_equal(fragtest_check(x->s, &f), 0);
    fragtest_free(&f);
}

/* tmpfs refuses O_DIRECT before Linux 6.6: the store falls back to buffered writes plus
 * fdatasync and still commits. Where tmpfs accepts O_DIRECT the direct path runs instead. */
static void test_odirect_fallback_on_tmpfs(void **state)
{
    (void)state;
    struct stat st;
    if (stat("/dev/shm", &st) != 0 || !S_ISDIR(st.st_mode)) {
        skip();
        return;
    }
    void *st2 = NULL;
    setup_in(&st2, "/dev/shm");
    struct fx *x = st2;
    struct ms_oid oid;
    fragtest_oid(&oid, 32);
    struct fragtest f;
    assert_int_equal(fragtest_build(&f, &oid, 1, 3, 5056, 32), 0);
    assert_int_equal(fragtest_put(x->s, &f, 999), 0);
    assert_int_equal(fragtest_check(x->s, &f), 0);
    print_message("tmpfs: O_DIRECT %s\n", ms_fragstore_is_direct(x->s) ? "granted" : "fallback");
    fragtest_free(&f);
    teardown(&st2);
}

/* The same round trips on io_uring, plus delete (the zero writes go through the ring). */
static void test_uring_roundtrip_and_delete(void **state)
{
    struct fx *x = *state;
    if (!x) {
        print_message("io_uring unavailable here: skipped\n");
        skip();
        return;
    }
    assert_string_equal(ms_io_name(x->io), "io_uring");
    test_put_get_roundtrip(state);
    test_ranges(state);
    struct ms_oid oid;
    fragtest_oid(&oid, 1);
    struct fragtest f;
    assert_int_equal(fragtest_build(&f, &oid, 0, 1, 64, 0), 0);
    char path[4096], keep[4096];
    fragtest_path(x->dir, &f.key, path);
    snprintf(keep, sizeof(keep), "%s/keep", x->dir);
    assert_int_equal(link(path, keep), 0);
    long long size = ms_test_file_size(path); /* the fragment, zero-padded under O_DIRECT */
    assert_true(size >= (long long)f.len);
    assert_int_equal(ms_fragstore_delete(x->s, &f.key), 0);
    uint8_t *back = NULL;
    size_t blen = 0;
    assert_int_equal(ms_test_read_file(keep, &back, &blen), 0);
    assert_int_equal(blen, size); /* same size */
    for (size_t i = 0; i < blen; i++)
        assert_int_equal(back[i], 0);
    free(back);
    fragtest_free(&f);
}

/* A second port for commit rounds and wipes, two read ports and two write ports (the daemon
 * gives them so syncs never block data writes, several large fragments' stages are in flight
 * at once and reads run in parallel): the same round trips, concurrent commits and reads, a
 * delete. */
static void test_separate_sync_and_read_ports(void **state)
{
    struct fx *x = *state;
    struct ms_io *sio = NULL, *rio[2] = {NULL, NULL}, *wio[2] = {NULL, NULL};
    assert_int_equal(ms_io_sync_create(&sio), 0);
    assert_int_equal(ms_io_sync_create(&rio[0]), 0);
    assert_int_equal(ms_io_sync_create(&rio[1]), 0);
    assert_int_equal(ms_io_sync_create(&wio[0]), 0);
    assert_int_equal(ms_io_sync_create(&wio[1]), 0);
    ms_fragstore_close(x->s);
    x->s = NULL;
    x->opts.sync_io = sio;
    x->opts.read_ios = rio;
    x->opts.n_read_ios = 2;
    x->opts.write_ios = wio;
    x->opts.n_write_ios = 2;
    assert_int_equal(fx_open_store(x), 0);
    test_put_get_roundtrip(state);
    test_group_commit_concurrent(state); /* each writer also reads its fragments back */
    test_ranges(state);
    struct ms_oid oid;
    fragtest_oid(&oid, 2);
    struct fragtest f;
    assert_int_equal(fragtest_build(&f, &oid, 1, 3, 4096, 1), 0);
    assert_int_equal(ms_fragstore_delete(x->s, &f.key), 0);
    struct ms_fragstore_info info;
    assert_int_equal(ms_fragstore_stat(x->s, &f.key, &info), -MEDSTORE_ENOTFOUND);
    ms_fragstore_close(x->s);
    x->s = NULL;
    x->opts.sync_io = NULL;
    x->opts.read_ios = NULL;
    x->opts.n_read_ios = 0;
    x->opts.write_ios = NULL;
    x->opts.n_write_ios = 0;
    ms_io_destroy(sio);
    ms_io_destroy(rio[0]);
    ms_io_destroy(rio[1]);
    ms_io_destroy(wio[0]);
    ms_io_destroy(wio[1]);
    assert_int_equal(fx_open_store(x), 0);
    fragtest_free(&f);
}

/* O_DIRECT refused with EINVAL (as tmpfs before Linux 6.6 does): the file of a stream
 * longer than the stage is opened buffered, the put still commits durably, and later puts
 * keep working. */
static void test_odirect_einval_falls_back(void **state)
{
    struct fx *x = *state;
    assert_int_equal(ms_io_fault_fail_nth(x->io, MS_IO_FOP_OPEN, 1, -EINVAL), 0);
    struct ms_oid oid;
    fragtest_oid(&oid, 33);
    struct fragtest f;
    assert_int_equal(fragtest_build(&f, &oid, 2, 3, 400000, 33), 0); /* > the 1 MiB stage */
    assert_int_equal(fragtest_put(x->s, &f, 4000), 0);
    assert_false(ms_fragstore_is_direct(x->s));
    assert_int_equal(fragtest_check(x->s, &f), 0);
    reopen(x);
    assert_int_equal(fragtest_check(x->s, &f), 0);
    fragtest_free(&f);
}

/* ---- asynchronous commit (the node's PutFragment path) -------------------------------- */

struct async_done {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int calls;
    int rc[16];
};

static void async_done_cb(void *arg, int rc)
{
    struct async_done *d = arg;
    pthread_mutex_lock(&d->mu);
    assert_true(d->calls < 16);
    d->rc[d->calls++] = rc;
    pthread_cond_signal(&d->cv);
    pthread_mutex_unlock(&d->mu);
}

static void async_wait(struct async_done *d, int calls)
{
    pthread_mutex_lock(&d->mu);
    while (d->calls < calls)
        pthread_cond_wait(&d->cv, &d->mu);
    pthread_mutex_unlock(&d->mu);
    assert_int_equal(d->calls, calls);
}

/* Streams f (begin + appends) and starts its asynchronous commit; the callback tells. */
static void async_put(struct fx *x, const struct fragtest *f, size_t chunk, bool want_quick,
                      struct async_done *d)
{
    struct ms_fragstore_put *p = NULL;
    assert_int_equal(ms_fragstore_put_begin(x->s, &f->key.oid, f->key.frag_index, f->bytes,
                                            MS_FRAG_HDR_BYTES, &p), 0);
    for (size_t off = MS_FRAG_HDR_BYTES; off < f->len; off += chunk) {
        size_t n = f->len - off < chunk ? f->len - off : chunk;
        size_t taken = 0;
        assert_int_equal(ms_fragstore_put_stage(p, f->bytes + off, n, &taken), 0);
        if (want_quick)
            assert_int_equal(taken, n); /* fits the stage: no write needed */
        assert_true(taken <= n);
        if (taken < n)
            assert_int_equal(ms_fragstore_put_append(p, f->bytes + off + taken, n - taken), 0);
    }
    assert_int_equal(ms_fragstore_put_commit_is_quick(p), want_quick);
    ms_fragstore_put_commit_async(&p, async_done_cb, d);
    assert_null(p);
}

/* Quick puts (whole fragment in the stage) are queued without any I/O by the caller and
 * acknowledged by the committer; a longer one writes its tail first. Every callback reports
 * 0 only for a durable fragment: all of them read back after a reopen. */
static void test_commit_async(void **state)
{
    struct fx *x = *state;
    struct async_done d = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};
    enum { N = 6 };
    struct fragtest f[N + 1];
    for (int i = 0; i < N; i++) {
        struct ms_oid oid;
        fragtest_oid(&oid, 8000 + (uint64_t)i);
        assert_int_equal(fragtest_build(&f[i], &oid, (uint8_t)i, 1, 16384, (uint64_t)i), 0);
        async_put(x, &f[i], 16384, true, &d);
    }
    struct ms_oid oid;
    fragtest_oid(&oid, 8100);
    assert_int_equal(fragtest_build(&f[N], &oid, 1, 3, 400000, 77), 0); /* > the stage */
    async_put(x, &f[N], 65536, false, &d);
    async_wait(&d, N + 1);
    for (int i = 0; i <= N; i++)
        assert_int_equal(d.rc[i], 0);
    uint64_t rounds = 0, frags = 0;
    ms_fragstore_commit_counters(x->s, &rounds, &frags);
    assert_int_equal(frags, N + 1);
    reopen(x);
    for (int i = 0; i <= N; i++) {
        assert_int_equal(fragtest_check(x->s, &f[i]), 0);
        fragtest_free(&f[i]);
    }
    assert_int_equal(fragtest_count_frags(x->dir), N + 1);
}

/* A quick put whose file cannot be created in its round (fault port: the create fails with
 * ENOSPC) is reported to its callback with that code; nothing is visible, no file is left,
 * and the slot and key are free again (the same fragment then commits). An incomplete stream
 * fails at once, on the caller's thread. */
static void test_commit_async_failures(void **state)
{
    struct fx *x = *state;
    struct async_done d = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};
    struct ms_oid oid;
    fragtest_oid(&oid, 8200);
    struct fragtest f;
    assert_int_equal(fragtest_build(&f, &oid, 3, 2, 8192, 5), 0);
    assert_int_equal(ms_io_fault_fail_nth(x->io, MS_IO_FOP_OPEN, 1, -ENOSPC), 0);
    async_put(x, &f, 4096, true, &d);
    async_wait(&d, 1);
    assert_int_equal(d.rc[0], -ENOSPC);
    struct ms_fragstore_info info;
    assert_int_equal(ms_fragstore_stat(x->s, &f.key, &info), -MEDSTORE_ENOTFOUND);
    assert_int_equal(fragtest_count_frags(x->dir), 0);

    struct ms_fragstore_put *p = NULL;
    assert_int_equal(ms_fragstore_put_begin(x->s, &oid, 3, f.bytes, MS_FRAG_HDR_BYTES, &p), 0);
    assert_int_equal(ms_fragstore_put_append(p, f.bytes + MS_FRAG_HDR_BYTES, 100), 0);
    ms_fragstore_put_commit_async(&p, async_done_cb, &d); /* stream ends short */
    async_wait(&d, 2);
    assert_int_equal(d.rc[1], -MEDSTORE_ETRUNCATED);
    assert_int_equal(fragtest_count_frags(x->dir), 0);

    async_put(x, &f, 8192, true, &d);
    async_wait(&d, 3);
    assert_int_equal(d.rc[2], 0);
    reopen(x);
    assert_int_equal(fragtest_check(x->s, &f), 0);
    fragtest_free(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_put_get_roundtrip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ranges, setup, teardown),
        cmocka_unit_test_setup_teardown(test_duplicate_put_already_exists, setup, teardown),
        cmocka_unit_test_setup_teardown(test_abort_leaves_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_header_rejected_before_write, setup, teardown),
        cmocka_unit_test_setup_teardown(test_corrupt_stream_rejected, setup, teardown),
        cmocka_unit_test_setup_teardown(test_truncated_stream_rejected, setup, teardown),
        cmocka_unit_test_setup_teardown(test_recovery_removes_temp_and_orphans, setup, teardown),
        cmocka_unit_test_setup_teardown(test_leftover_file_wiped_by_next_put, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_paged, setup, teardown),
        cmocka_unit_test_setup_teardown(test_group_commit_concurrent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sessions_capped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_commit_async, setup, teardown),
        cmocka_unit_test_setup_teardown(test_commit_async_failures, setup_fault, teardown),
        cmocka_unit_test_setup_teardown(test_no_group_commit_and_buffered, setup, teardown),
        cmocka_unit_test(test_odirect_fallback_on_tmpfs),
        cmocka_unit_test_setup_teardown(test_odirect_einval_falls_back, setup_fault, teardown),
        cmocka_unit_test_setup_teardown(test_separate_sync_and_read_ports, setup, teardown),
        cmocka_unit_test_setup_teardown(test_uring_roundtrip_and_delete, setup_uring, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
