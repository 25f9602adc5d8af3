/*
 * test_fault_fragstore.c - the fragment store under injected faults (STYLE.md 9; SQLite's
 * test6.c is the model). For each fault kind and N = 1, 2, 3, ... (until the fault no longer
 * fires within the workload, bounded): run a fixed workload of puts, an abort and deletes on
 * the fault I/O port and the memory kv, with the fault at the Nth call (EIO / ENOSPC / short
 * write / failed open, fstat, directory sync / crash at the Nth sync in three crash modes /
 * failed kv write); then simulate the restart (kv crash drops unsynced batches) and reopen
 * with the plain sync backend. Checked after every run:
 *   - every acknowledged put is intact byte for byte, unless a later delete was acknowledged;
 *   - nothing half-visible: a fragment whose put was not acknowledged is absent, a fragment
 *     whose delete failed is absent or intact, tmp/ is empty, every file in frags/ has a
 *     catalogue record and the other way round;
 *   - pending wipes were resumed (the wipe column family is empty);
 *   - no file descriptor leaked (memory leaks: the ASan CI build runs this suite).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <unistd.h>

#include "common/log.h"
#include "fragtest.h"
#include "node/catalog.h"

enum { NF = 5, N_MAX = 400 };

/* Fragments of the workload: A B C E are put, D is aborted mid-stream. */
enum { FA, FB, FC, FD, FE };

enum fault_kind {
    K_WRITE_EIO, K_WRITE_ENOSPC, K_SHORT_WRITE, K_FDATASYNC_EIO, K_OPEN_ENOSPC, K_FSTAT_EIO,
    K_DIRSYNC_EIO, K_UNLINK_EIO, K_TRUNC_EIO, K_FALLOC_ENOSPC, K_CRASH_UNDO, K_CRASH_GARBLE,
    K_CRASH_RANDOM, K_KV_EIO, K_COUNT,
};

static const char *const kind_names[K_COUNT] = {
    "write-eio", "write-enospc", "short-write", "fdatasync-eio", "open-enospc", "fstat-eio",
    "dirsync-eio", "unlink-eio", "ftruncate-eio", "fallocate-enospc", "crash-undo",
    "crash-garble", "crash-random", "kv-eio",
};

/* What the workload was told, per fragment: 0 absent, 1 present, 2 absent or intact. */
enum expect { EX_ABSENT = 0, EX_PRESENT = 1, EX_EITHER = 2 };

struct run {
    char *dir;
    struct ms_io *io;
    struct ms_kv_mem_store *mem;
    struct ms_kv *kv;
    struct ms_fragstore *s;
    struct fragtest f[NF];
    enum expect ex[NF];
};

static int count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return -1;
    int n = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

/* The fault port models power loss itself, so the real disk's sync cost buys nothing here:
 * use tmpfs when there is one (about 10x faster), else the usual test directory. */
static char *tmpdir_fast(void)
{
    char tmpl[] = "/dev/shm/ms-fault-XXXXXX";
    if (mkdtemp(tmpl) != NULL)
        return strdup(tmpl);
    return ms_test_tmpdir("fault");
}

static int open_store(struct run *r)
{
    struct ms_fragstore_opts o = {.data_dir = r->dir, .io = r->io, .kv = r->kv,
                                  .stage_bytes = 256u << 10};
    return ms_fragstore_open(&o, &r->s);
}

/* Arms the fault of kind at the nth call from now. */
static void arm(struct run *r, enum fault_kind kind, uint64_t n)
{
    static const struct { enum ms_io_fault_op op; int err; } fails[] = {
        [K_WRITE_EIO] = {MS_IO_FOP_WRITE, -EIO}, [K_WRITE_ENOSPC] = {MS_IO_FOP_WRITE, -ENOSPC},
        [K_FDATASYNC_EIO] = {MS_IO_FOP_FDATASYNC, -EIO},
        [K_OPEN_ENOSPC] = {MS_IO_FOP_OPEN, -ENOSPC},
        [K_FSTAT_EIO] = {MS_IO_FOP_FSTAT, -EIO}, [K_DIRSYNC_EIO] = {MS_IO_FOP_FSYNC_DIR, -EIO},
        [K_UNLINK_EIO] = {MS_IO_FOP_UNLINK, -EIO}, [K_TRUNC_EIO] = {MS_IO_FOP_FTRUNCATE, -EIO},
        [K_FALLOC_ENOSPC] = {MS_IO_FOP_FALLOCATE, -ENOSPC},
    };
    static const enum ms_io_crash_mode modes[] = {MS_IO_CRASH_UNDO, MS_IO_CRASH_GARBLE,
                                                  MS_IO_CRASH_RANDOM};
    if (kind == K_SHORT_WRITE)
        assert_int_equal(ms_io_fault_short_write_nth(r->io, n), 0);
    else if (kind >= K_CRASH_UNDO && kind <= K_CRASH_RANDOM)
        assert_int_equal(ms_io_fault_crash_nth_sync(r->io, MS_IO_FOP_COUNT, n,
                                                    modes[kind - K_CRASH_UNDO], n * 31 + kind),
                         0);
    else if (kind == K_KV_EIO)
        ms_kv_mem_fail_nth_write(r->kv, n, -EIO);
    else
        assert_int_equal(ms_io_fault_fail_nth(r->io, fails[kind].op, n, fails[kind].err), 0);
}

/* Calls the fault can hit so far (to know whether the nth call happened at all). */
static uint64_t calls(struct run *r, enum fault_kind kind)
{
    static const enum ms_io_fault_op ops[] = {
        [K_WRITE_EIO] = MS_IO_FOP_WRITE, [K_WRITE_ENOSPC] = MS_IO_FOP_WRITE,
        [K_SHORT_WRITE] = MS_IO_FOP_WRITE, [K_FDATASYNC_EIO] = MS_IO_FOP_FDATASYNC,
        [K_OPEN_ENOSPC] = MS_IO_FOP_OPEN, [K_FSTAT_EIO] = MS_IO_FOP_FSTAT,
        [K_DIRSYNC_EIO] = MS_IO_FOP_FSYNC_DIR, [K_UNLINK_EIO] = MS_IO_FOP_UNLINK,
        [K_TRUNC_EIO] = MS_IO_FOP_FTRUNCATE, [K_FALLOC_ENOSPC] = MS_IO_FOP_FALLOCATE,
    };
    if (kind == K_KV_EIO)
        return ms_kv_mem_writes(r->kv);
    if (kind >= K_CRASH_UNDO && kind <= K_CRASH_RANDOM)
        return ms_io_fault_count(r->io, MS_IO_FOP_FDATASYNC) +
               ms_io_fault_count(r->io, MS_IO_FOP_FSYNC) +
               ms_io_fault_count(r->io, MS_IO_FOP_FSYNC_DIR);
    return ms_io_fault_count(r->io, ops[kind]);
}

static void do_put(struct run *r, int i)
{
    int rc = fragtest_put(r->s, &r->f[i], 70000);
    if (rc == 0)
        r->ex[i] = EX_PRESENT;
    else
        assert_true(rc < 0 && rc != -MEDSTORE_EINTERNAL);
}

static void do_delete(struct run *r, int i)
{
    int rc = ms_fragstore_delete(r->s, &r->f[i].key);
    if (rc == 0)
        r->ex[i] = EX_ABSENT;
    else if (r->ex[i] != EX_ABSENT)
        r->ex[i] = EX_EITHER;
}

static void do_abort(struct run *r, int i)
{
    struct ms_fragstore_put *p = NULL;
    const struct fragtest *f = &r->f[i];
    if (ms_fragstore_put_begin(r->s, &f->key.oid, f->key.frag_index, f->bytes,
                               MS_FRAG_HDR_BYTES, &p) != 0)
        return;
    (void)!ms_fragstore_put_append(p, f->bytes + MS_FRAG_HDR_BYTES, f->len / 2);
    ms_fragstore_put_abort(&p); /* the client went away */
}

static void workload(struct run *r)
{
    do_put(r, FA);
    do_put(r, FB);
    do_delete(r, FA);
    do_put(r, FC);
    do_abort(r, FD);
    do_put(r, FE);
    do_delete(r, FB);
    do_put(r, FB);
}

/* Checks the reopened store against what the workload was told. */
static void check_after_restart(struct run *r, const char *what, uint64_t n)
{
    int present = 0;
    for (int i = 0; i < NF; i++) {
        struct ms_fragstore_info info;
        int rc = ms_fragstore_stat(r->s, &r->f[i].key, &info);
        if (rc == 0) {
            if (r->ex[i] == EX_ABSENT)
                fail_msg("%s n=%llu: fragment %d visible but not acknowledged", what,
                         (unsigned long long)n, i);
            assert_int_equal(fragtest_check(r->s, &r->f[i]), 0);
            present++;
        } else {
            assert_int_equal(rc, -MEDSTORE_ENOTFOUND);
            if (r->ex[i] == EX_PRESENT)
                fail_msg("%s n=%llu: acknowledged fragment %d lost", what,
                         (unsigned long long)n, i);
        }
    }
    assert_int_equal(fragtest_count_files(r->dir, "tmp"), 0);
    assert_int_equal(fragtest_count_frags(r->dir), present);
    struct ms_fragstore_entry e[NF + 1];
    assert_int_equal(ms_fragstore_list(r->s, NULL, e, NF + 1), present);
    struct ms_catalog cat;
    assert_int_equal(ms_catalog_init(&cat, r->kv), 0);
    assert_int_equal(ms_catalog_count(&cat, cat.cf_wipe), 0);
    assert_int_equal(ms_catalog_count(&cat, cat.cf_scrub), 0);
}

/* One run: returns true when the fault fired (so N + 1 is worth trying). */
static bool one_run(enum fault_kind kind, uint64_t n, const struct fragtest *proto)
{
    int fds = count_fds();
    struct run r = {0};
    r.dir = tmpdir_fast();
    assert_int_equal(ms_io_fault_create(NULL, &r.io), 0);
    assert_int_equal(ms_kv_mem_store_create(&r.mem), 0);
    assert_int_equal(fragtest_kv_open(r.mem, &r.kv), 0);
    assert_int_equal(open_store(&r), 0);
    memcpy(r.f, proto, sizeof(r.f));
    uint64_t before = calls(&r, kind);
    arm(&r, kind, n);
    workload(&r);
    bool fired = calls(&r, kind) >= before + n;
    ms_fragstore_close(r.s);
    r.s = NULL;
    ms_kv_mem_crash(r.kv); /* power loss for the kv too: unsynced batches are gone */
    ms_kv_mem_fail_nth_write(r.kv, 0, 0);
    ms_io_destroy(r.io);
    assert_int_equal(ms_io_sync_create(&r.io), 0);
    assert_int_equal(open_store(&r), 0);
    check_after_restart(&r, kind_names[kind], n);
    ms_fragstore_close(r.s);
    ms_kv_close(r.kv);
    ms_kv_mem_store_destroy(r.mem);
    ms_io_destroy(r.io);
    ms_test_rmtree(r.dir);
    free(r.dir);
    assert_int_equal(count_fds(), fds);
    return fired;
}

static void run_kind(enum fault_kind kind)
{
    struct fragtest f[NF];
    static const uint32_t segs[NF] = {3, 1, 2, 4, 5};
    /* A and D are longer than the 256 KiB stage (O_DIRECT file, D's half goes to disk
     * before the abort); B, C and E fit it (one buffered write at commit). */
    static const uint32_t payload[NF] = {100032, 4096, 65536, 150016, 51200};
    for (int i = 0; i < NF; i++) {
        struct ms_oid oid;
        fragtest_oid(&oid, 900 + (uint64_t)i);
        assert_int_equal(fragtest_build(&f[i], &oid, (uint8_t)i, segs[i], payload[i],
                                        (uint64_t)i), 0);
    }
    uint64_t n = 1;
    while (one_run(kind, n, f)) {
        n++;
        assert_true(n < N_MAX);
    }
    print_message("%s: %llu fault points, each followed by a clean restart\n", kind_names[kind],
                  (unsigned long long)(n - 1));
    assert_true(n > 1); /* the workload reaches every kind of fault at least once */
    for (int i = 0; i < NF; i++)
        fragtest_free(&f[i]);
}

#define KIND_TEST(name, kind)                                                                  \
    static void name(void **state)                                                             \
    {                                                                                          \
        (void)state;                                                                           \
        run_kind(kind);                                                                        \
    }

KIND_TEST(test_write_eio, K_WRITE_EIO)
KIND_TEST(test_write_enospc, K_WRITE_ENOSPC)
KIND_TEST(test_short_write, K_SHORT_WRITE)
KIND_TEST(test_fdatasync_eio, K_FDATASYNC_EIO)
KIND_TEST(test_open_enospc, K_OPEN_ENOSPC)
KIND_TEST(test_fstat_eio, K_FSTAT_EIO)
KIND_TEST(test_dirsync_eio, K_DIRSYNC_EIO)
KIND_TEST(test_unlink_eio, K_UNLINK_EIO)
KIND_TEST(test_ftruncate_eio, K_TRUNC_EIO)
KIND_TEST(test_fallocate_enospc, K_FALLOC_ENOSPC)
KIND_TEST(test_crash_at_sync_undo, K_CRASH_UNDO)
KIND_TEST(test_crash_at_sync_garble, K_CRASH_GARBLE)
KIND_TEST(test_crash_at_sync_random, K_CRASH_RANDOM)
KIND_TEST(test_kv_write_eio, K_KV_EIO)

/* Builds a crash state: A, B and E committed, C's file half written under its final name with
 * no catalogue record, A's delete cut by a crash at its first sync (the wipe intent is
 * recorded, the zeros are undone). */
static void make_crash_state(struct run *r)
{
    assert_int_equal(ms_io_fault_create(NULL, &r->io), 0);
    assert_int_equal(open_store(r), 0);
    do_put(r, FA);
    do_put(r, FB);
    assert_int_equal(r->ex[FA], EX_PRESENT);
    struct ms_fragstore_put *p = NULL;
    const struct fragtest *c = &r->f[FC];
    assert_int_equal(ms_fragstore_put_begin(r->s, &c->key.oid, c->key.frag_index, c->bytes,
                                            MS_FRAG_HDR_BYTES, &p), 0);
    assert_int_equal(ms_fragstore_put_append(p, c->bytes + MS_FRAG_HDR_BYTES, c->len / 2), 0);
    do_put(r, FE); /* E shares C's directory: its commit makes C's file (no record) durable */
    assert_int_equal(r->ex[FE], EX_PRESENT);
    assert_int_equal(ms_io_fault_crash_nth_sync(r->io, MS_IO_FOP_COUNT, 1, MS_IO_CRASH_UNDO, 7),
                     0);
    do_delete(r, FA);
    assert_int_equal(r->ex[FA], EX_EITHER);
    ms_fragstore_put_abort(&p); /* on the dead port: C's file stays, without a record */
    ms_fragstore_close(r->s);
    r->s = NULL;
    ms_kv_mem_crash(r->kv);
    ms_io_destroy(r->io);
}

/* Power loss during the recovery itself (resumed wipe, wipe of a file without a record), at
 * every sync point of the open; the next open must still converge. */
static void test_crash_during_recovery(void **state)
{
    (void)state;
    struct fragtest f[NF];
    for (int i = 0; i < NF; i++) {
        struct ms_oid oid;
        /* C is longer than the 256 KiB stage, so half of it is on disk at the crash; E is
         * another fragment of C's object (same directory). */
        fragtest_oid(&oid, 950 + (uint64_t)(i == FE ? FC : i));
        uint32_t segs = i == FC ? 4 : 2, payload = i == FC ? 150016 : 65536;
        assert_int_equal(fragtest_build(&f[i], &oid, (uint8_t)i, segs, payload, (uint64_t)i),
                         0);
    }
    uint64_t n = 1;
    for (;; n++) {
        assert_true(n < N_MAX);
        int fds = count_fds();
        struct run r = {0};
        r.dir = tmpdir_fast();
        assert_int_equal(ms_kv_mem_store_create(&r.mem), 0);
        assert_int_equal(fragtest_kv_open(r.mem, &r.kv), 0);
        memcpy(r.f, f, sizeof(r.f));
        make_crash_state(&r);
        assert_int_equal(ms_io_fault_create(NULL, &r.io), 0);
        assert_int_equal(ms_io_fault_crash_nth_sync(r.io, MS_IO_FOP_COUNT, n, MS_IO_CRASH_RANDOM,
                                                    n), 0);
        int rc = open_store(&r);
        bool fired = ms_io_fault_crashed(r.io);
        ms_fragstore_close(r.s);
        r.s = NULL;
        ms_kv_mem_crash(r.kv);
        ms_io_destroy(r.io);
        assert_true(fired ? rc == -MEDSTORE_ECRASHED || rc == 0 : rc == 0);
        assert_int_equal(ms_io_sync_create(&r.io), 0);
        assert_int_equal(open_store(&r), 0);
        check_after_restart(&r, "crash-in-recovery", n);
        ms_fragstore_close(r.s);
        ms_kv_close(r.kv);
        ms_kv_mem_store_destroy(r.mem);
        ms_io_destroy(r.io);
        ms_test_rmtree(r.dir);
        free(r.dir);
        assert_int_equal(count_fds(), fds);
        if (!fired)
            break;
    }
    print_message("crash-in-recovery: %llu fault points\n", (unsigned long long)(n - 1));
    for (int i = 0; i < NF; i++)
        fragtest_free(&f[i]);
}

int main(void)
{
    ms_log_set_level(MS_LOG_OFF); /* thousands of expected failures */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_write_eio),         cmocka_unit_test(test_write_enospc),
        cmocka_unit_test(test_short_write),       cmocka_unit_test(test_fdatasync_eio),
        cmocka_unit_test(test_open_enospc),       cmocka_unit_test(test_fstat_eio),
        cmocka_unit_test(test_dirsync_eio),       cmocka_unit_test(test_unlink_eio),
        cmocka_unit_test(test_ftruncate_eio),     cmocka_unit_test(test_fallocate_enospc),
        cmocka_unit_test(test_crash_at_sync_undo),
        cmocka_unit_test(test_crash_at_sync_garble), cmocka_unit_test(test_crash_at_sync_random),
        cmocka_unit_test(test_kv_write_eio),     cmocka_unit_test(test_crash_during_recovery),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
