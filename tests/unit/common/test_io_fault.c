/*
 * test_io_fault.c - the fault backend of the I/O port (src/common/io_fault.c).
 *
 * It first passes the shared behavioural suite with no rules set (it must be a faithful port
 * when idle). Then each failure kind fires at exactly the Nth call for N = 1, 2, 3 and leaves
 * the file untouched; short writes write half; and a simulated crash leaves exactly what a
 * power cut would: synced data and synced names stay, every unsynced write, create, rename
 * and unlink is undone. After the crash the directory is read back with plain syscalls (the
 * "reopen"), and the exact bytes are asserted.
 */
#include "test_io_suite.c"

#include <dirent.h>
#include <stdio.h>

#include "common/ms_assert.h"

/* Closes fd through a dead port: it must report the crash and still release the fd. */
static void close_dead(struct ms_io *io, int fd)
{
    assert_int_equal(ms_io_close(io, fd), -MEDSTORE_ECRASHED);
    assert_int_equal(fcntl(fd, F_GETFD), -1);
}

static int io_suite_make(struct ms_io **out)
{
    return ms_io_fault_create(NULL, out);
}

/* Reads a whole file of the fixture's directory through a fresh sync port: the "reopen"
 * after a crash. Returns the bytes read (at most cap). */
static size_t fx_slurp(struct io_fx *fx, const char *name, uint8_t *buf, size_t cap)
{
    struct ms_io *io = NULL;
    assert_int_equal(ms_io_sync_create(&io), 0);
    int fd = ms_io_open(io, fx->dirfd, name, O_RDONLY, 0);
    assert_true(fd >= 0);
    size_t got = 0;
    assert_int_equal(ms_io_pread_all(io, fd, buf, cap, 0, &got), 0);
    assert_int_equal(ms_io_close(io, fd), 0);
    ms_io_destroy(io);
    return got;
}

static bool fx_exists(struct io_fx *fx, const char *name)
{
    return faccessat(fx->dirfd, name, F_OK, AT_SYMLINK_NOFOLLOW) == 0;
}

/* True when the directory holds no ".msfault-" name (hidden undo links). */
static bool fx_no_hidden(struct io_fx *fx)
{
    int fd = openat(fx->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *d = fdopendir(fd);
    assert_non_null(d);
    bool clean = true;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (strncmp(e->d_name, ".msfault-", 9) == 0)
            clean = false;
    closedir(d);
    return clean;
}

/* Creates name with content fill(seed, len), synced and with its directory synced. */
static void fx_make_synced(struct io_fx *fx, const char *name, size_t len, uint64_t seed)
{
    uint8_t *b = malloc(len);
    assert_non_null(b);
    ms_test_fill(b, len, seed);
    int fd = io_fx_open(fx, name);
    assert_int_equal(ms_io_pwrite_all(fx->io, fd, b, len, 0), 0);
    assert_int_equal(ms_io_fdatasync(fx->io, fd), 0);
    assert_int_equal(ms_io_close(fx->io, fd), 0);
    assert_int_equal(ms_io_fsync_dir(fx->io, fx->dirfd), 0);
    free(b);
}

/* Submits one request and returns its completion's res. */
static int fx_one(struct io_fx *fx, struct ms_io_req q)
{
    int res[1];
    q.user_data = 0;
    io_run(fx->io, &q, 1, res);
    return res[0];
}

static void test_fault_fail_nth_write_each_kind_n123(void **state)
{
    struct io_fx *fx = *state;
    static const int errs[] = {-EIO, -ENOSPC, -EINTR};
    int fd = io_fx_open(fx, "f");
    uint8_t w[64], r[64];
    for (size_t k = 0; k < MS_ARRAY_LEN(errs); k++) {
        for (uint64_t n = 1; n <= 3; n++) {
            assert_int_equal(ms_io_ftruncate(fx->io, fd, 0), 0);
            assert_int_equal(ms_io_fault_fail_nth(fx->io, MS_IO_FOP_WRITE, n, errs[k]), 0);
            uint64_t before = ms_io_fault_count(fx->io, MS_IO_FOP_WRITE);
            for (uint64_t i = 1; i <= 4; i++) {
                ms_test_fill(w, sizeof(w), i);
                int res = fx_one(fx, io_req(MS_IO_WRITE, fd, w, sizeof(w), i * 64, 0));
                assert_int_equal(res, i == n ? errs[k] : (int)sizeof(w));
                size_t got = 0;
                assert_int_equal(ms_io_pread_all(fx->io, fd, r, sizeof(r), i * 64, &got), 0);
                if (i == n) /* the failed write changed nothing */
                    assert_int_equal(got, 0);
                else
                    assert_memory_equal(r, w, sizeof(w));
            }
            assert_int_equal(ms_io_fault_count(fx->io, MS_IO_FOP_WRITE), before + 4);
        }
    }
    assert_int_equal(ms_io_close(fx->io, fd), 0);
}

static void test_fault_fail_nth_sync_and_namespace_ops_n123(void **state)
{
    struct io_fx *fx = *state;
    static const enum ms_io_fault_op ops[] = {MS_IO_FOP_FDATASYNC, MS_IO_FOP_FSYNC,
                                              MS_IO_FOP_OPEN, MS_IO_FOP_FSYNC_DIR,
                                              MS_IO_FOP_RENAME, MS_IO_FOP_UNLINK};
    for (size_t k = 0; k < MS_ARRAY_LEN(ops); k++) {
        for (uint64_t n = 1; n <= 3; n++) {
            assert_int_equal(ms_io_fault_fail_nth(fx->io, ops[k], n, -EIO), 0);
            for (uint64_t i = 1; i <= 3; i++) {
                /* Made with a plain syscall so only the op under test is counted. */
                int fd = openat(fx->dirfd, "x", O_RDWR | O_CREAT | O_CLOEXEC, 0600);
                assert_true(fd >= 0);
                int rc = 0;
                if (ops[k] == MS_IO_FOP_OPEN)
                    rc = ms_io_open(fx->io, fx->dirfd, "x", O_RDONLY, 0);
                else if (ops[k] == MS_IO_FOP_FDATASYNC)
                    rc = ms_io_fdatasync(fx->io, fd);
                else if (ops[k] == MS_IO_FOP_FSYNC)
                    rc = ms_io_fsync(fx->io, fd);
                else if (ops[k] == MS_IO_FOP_FSYNC_DIR)
                    rc = ms_io_fsync_dir(fx->io, fx->dirfd);
                else if (ops[k] == MS_IO_FOP_RENAME)
                    rc = ms_io_renameat(fx->io, fx->dirfd, "x", fx->dirfd, "y");
                else
                    rc = ms_io_unlinkat(fx->io, fx->dirfd, "x", 0);
                if (ops[k] == MS_IO_FOP_OPEN && rc >= 0)
                    rc = ms_io_close(fx->io, rc);
                assert_int_equal(rc, i == n ? -EIO : 0);
                if (i == n && ops[k] == MS_IO_FOP_RENAME)
                    assert_false(fx_exists(fx, "y")); /* nothing happened */
                if (i == n && ops[k] == MS_IO_FOP_UNLINK)
                    assert_true(fx_exists(fx, "x"));
                close(fd);
                (void)unlinkat(fx->dirfd, "x", 0);
                (void)unlinkat(fx->dirfd, "y", 0);
            }
        }
    }
    assert_int_equal(ms_io_fsync_dir(fx->io, fx->dirfd), 0);
}

static void test_fault_short_write_nth_writes_half_n123(void **state)
{
    struct io_fx *fx = *state;
    int fd = io_fx_open(fx, "s");
    uint8_t w[1000], r[1000];
    for (uint64_t n = 1; n <= 3; n++) {
        assert_int_equal(ms_io_fault_short_write_nth(fx->io, n), 0);
        for (uint64_t i = 1; i <= 3; i++) {
            ms_test_fill(w, sizeof(w), 100 * n + i);
            int res = fx_one(fx, io_req(MS_IO_WRITE, fd, w, sizeof(w), 0, 0));
            assert_int_equal(res, i == n ? 500 : 1000);
            assert_int_equal(ms_io_pread_all(fx->io, fd, r, (size_t)res, 0, NULL), 0);
            assert_memory_equal(r, w, (size_t)res);
        }
    }
    /* pwrite_all resubmits the rest after a short write: the file ends up whole. */
    assert_int_equal(ms_io_fault_short_write_nth(fx->io, 1), 0);
    uint64_t before = ms_io_fault_count(fx->io, MS_IO_FOP_WRITE);
    ms_test_fill(w, sizeof(w), 999);
    assert_int_equal(ms_io_pwrite_all(fx->io, fd, w, sizeof(w), 0), 0);
    assert_int_equal(ms_io_fault_count(fx->io, MS_IO_FOP_WRITE), before + 2);
    assert_int_equal(ms_io_pread_all(fx->io, fd, r, sizeof(r), 0, NULL), 0);
    assert_memory_equal(r, w, sizeof(w));
    assert_int_equal(ms_io_close(fx->io, fd), 0);
}

static void test_fault_short_write_breaks_link(void **state)
{
    struct io_fx *fx = *state;
    int fd = io_fx_open(fx, "sl");
    uint8_t w[64];
    ms_test_fill(w, sizeof(w), 5);
    assert_int_equal(ms_io_fault_short_write_nth(fx->io, 1), 0);
    struct ms_io_req q[2] = {io_req(MS_IO_WRITE, fd, w, sizeof(w), 0, 0),
                             io_req(MS_IO_FDATASYNC, fd, NULL, 0, 0, 1)};
    q[0].flags = MS_IO_LINK;
    int res[2];
    io_run(fx->io, q, 2, res);
    assert_int_equal(res[0], 32);
    assert_int_equal(res[1], -ECANCELED);
    assert_int_equal(ms_io_fault_count(fx->io, MS_IO_FOP_FDATASYNC), 0);
    assert_int_equal(ms_io_close(fx->io, fd), 0);
}

static void test_fault_helpers_retry_eintr(void **state)
{
    struct io_fx *fx = *state;
    int fd = io_fx_open(fx, "e");
    uint8_t w[256], r[256];
    ms_test_fill(w, sizeof(w), 6);
    assert_int_equal(ms_io_fault_fail_nth(fx->io, MS_IO_FOP_WRITE, 1, -EINTR), 0);
    assert_int_equal(ms_io_fault_fail_nth(fx->io, MS_IO_FOP_READ, 1, -EINTR), 0);
    assert_int_equal(ms_io_fault_fail_nth(fx->io, MS_IO_FOP_FDATASYNC, 1, -EINTR), 0);
    assert_int_equal(ms_io_pwrite_all(fx->io, fd, w, sizeof(w), 0), 0);
    assert_int_equal(ms_io_fdatasync(fx->io, fd), 0);
    assert_int_equal(ms_io_pread_all(fx->io, fd, r, sizeof(r), 0, NULL), 0);
    assert_memory_equal(r, w, sizeof(w));
    assert_int_equal(ms_io_fault_count(fx->io, MS_IO_FOP_WRITE), 2);
    assert_int_equal(ms_io_fault_count(fx->io, MS_IO_FOP_READ), 2);
    assert_int_equal(ms_io_fault_count(fx->io, MS_IO_FOP_FDATASYNC), 2);
    /* EIO and ENOSPC are not retried: the caller gets them. */
    assert_int_equal(ms_io_fault_fail_nth(fx->io, MS_IO_FOP_WRITE, 1, -ENOSPC), 0);
    assert_int_equal(ms_io_pwrite_all(fx->io, fd, w, sizeof(w), 0), -ENOSPC);
    assert_int_equal(ms_io_fault_fail_nth(fx->io, MS_IO_FOP_FDATASYNC, 1, -EIO), 0);
    assert_int_equal(ms_io_fdatasync(fx->io, fd), -EIO);
    assert_int_equal(ms_io_close(fx->io, fd), 0);
}

static void test_fault_rules_validated_and_cleared(void **state)
{
    struct io_fx *fx = *state;
    assert_int_equal(ms_io_fault_fail_nth(fx->io, MS_IO_FOP_COUNT, 1, -EIO), -EINVAL);
    assert_int_equal(ms_io_fault_fail_nth(fx->io, MS_IO_FOP_WRITE, 0, -EIO), -EINVAL);
    assert_int_equal(ms_io_fault_fail_nth(fx->io, MS_IO_FOP_WRITE, 1, EIO), -EINVAL);
    assert_int_equal(ms_io_fault_short_write_nth(fx->io, 0), -EINVAL);
    assert_int_equal(ms_io_fault_crash_nth_sync(fx->io, MS_IO_FOP_WRITE, 1,
                                                MS_IO_CRASH_UNDO, 0), -EINVAL);
    for (int i = 0; i < 16; i++)
        assert_int_equal(ms_io_fault_fail_nth(fx->io, MS_IO_FOP_OPEN, 100 + i, -EIO), 0);
    assert_int_equal(ms_io_fault_fail_nth(fx->io, MS_IO_FOP_OPEN, 1, -EIO), -ENOSPC);
    ms_io_fault_clear_rules(fx->io);
    assert_int_equal(ms_io_fault_fail_nth(fx->io, MS_IO_FOP_REGISTER, 1, -ENOMEM), 0);
    uint8_t b[4096];
    struct iovec iov = {b, sizeof(b)};
    assert_int_equal(ms_io_register_buffers(fx->io, &iov, 1), -ENOMEM);
    assert_true(ms_io_is_fault(fx->io));
    assert_string_equal(ms_io_name(fx->io), "fault");
}

/* The atomic-put pattern plus every kind of unsynced change, then a crash at an fdatasync:
 * what was synced stays byte for byte, everything else is undone. */
static void test_fault_crash_at_fdatasync_undoes_unsynced(void **state)
{
    struct io_fx *fx = *state;
    enum { LEN = 10000 };
    static uint8_t a0[LEN], c0[LEN], d0[LEN], e1[LEN], nb[LEN], r[2 * LEN];
    ms_test_fill(a0, LEN, 1);
    ms_test_fill(c0, LEN, 3);
    ms_test_fill(d0, LEN, 4);
    ms_test_fill(e1, LEN, 5);
    ms_test_fill(nb, LEN, 9);
    fx_make_synced(fx, "a", LEN, 1);
    fx_make_synced(fx, "c", LEN, 3);
    fx_make_synced(fx, "d", LEN, 4);
    /* e: created, data synced, renamed into place, directory synced: a completed put. */
    fx_make_synced(fx, "e.tmp", LEN, 5);
    assert_int_equal(ms_io_renameat(fx->io, fx->dirfd, "e.tmp", fx->dirfd, "e"), 0);
    assert_int_equal(ms_io_fsync_dir(fx->io, fx->dirfd), 0);
    /* Unsynced: overwrite + append on a, truncate of d, unlink of c. */
    int fa = ms_io_open(fx->io, fx->dirfd, "a", O_RDWR, 0);
    assert_true(fa >= 0);
    assert_int_equal(ms_io_pwrite_all(fx->io, fa, nb, 4096, 100), 0);
    assert_int_equal(ms_io_pwrite_all(fx->io, fa, nb, LEN, LEN), 0);
    int fd = ms_io_open(fx->io, fx->dirfd, "d", O_RDWR, 0);
    assert_true(fd >= 0);
    assert_int_equal(ms_io_ftruncate(fx->io, fd, 10), 0);
    assert_int_equal(ms_io_unlinkat(fx->io, fx->dirfd, "c", 0), 0);
    /* b: data synced but its create and rename are not (no directory sync). */
    int fb = io_fx_open(fx, "b.tmp");
    assert_int_equal(ms_io_pwrite_all(fx->io, fb, nb, LEN, 0), 0);
    assert_int_equal(ms_io_fdatasync(fx->io, fb), 0);
    assert_int_equal(ms_io_renameat(fx->io, fx->dirfd, "b.tmp", fx->dirfd, "b"), 0);
    /* e replaced by an unsynced rename over it. */
    int fe = io_fx_open(fx, "e.new");
    assert_int_equal(ms_io_pwrite_all(fx->io, fe, nb, 77, 0), 0);
    assert_int_equal(ms_io_renameat(fx->io, fx->dirfd, "e.new", fx->dirfd, "e"), 0);
    assert_int_equal(ms_io_fault_crash_nth_sync(fx->io, MS_IO_FOP_FDATASYNC, 1,
                                                MS_IO_CRASH_UNDO, 0), 0);
    assert_int_equal(ms_io_fdatasync(fx->io, fa), -MEDSTORE_ECRASHED);
    assert_true(ms_io_fault_crashed(fx->io));
    /* Reopen with plain syscalls. */
    assert_int_equal(fx_slurp(fx, "a", r, sizeof(r)), LEN);
    assert_memory_equal(r, a0, LEN);
    assert_int_equal(fx_slurp(fx, "c", r, sizeof(r)), LEN);
    assert_memory_equal(r, c0, LEN);
    assert_int_equal(fx_slurp(fx, "d", r, sizeof(r)), LEN);
    assert_memory_equal(r, d0, LEN);
    assert_int_equal(fx_slurp(fx, "e", r, sizeof(r)), LEN);
    assert_memory_equal(r, e1, LEN);
    assert_false(fx_exists(fx, "b"));
    assert_false(fx_exists(fx, "b.tmp"));
    assert_false(fx_exists(fx, "e.new"));
    assert_false(fx_exists(fx, "e.tmp"));
    assert_true(fx_no_hidden(fx));
    /* The port is dead; close still releases the fds. */
    assert_int_equal(ms_io_pwrite_all(fx->io, fa, nb, 1, 0), -MEDSTORE_ECRASHED);
    assert_int_equal(ms_io_open(fx->io, fx->dirfd, "z", O_RDWR | O_CREAT, 0600),
                     -MEDSTORE_ECRASHED);
    assert_false(fx_exists(fx, "z"));
    int fds[] = {fa, fd, fb, fe};
    for (size_t i = 0; i < MS_ARRAY_LEN(fds); i++) {
        assert_int_equal(ms_io_close(fx->io, fds[i]), -MEDSTORE_ECRASHED);
        assert_int_equal(fcntl(fds[i], F_GETFD), -1);
    }
}

/* Three synced appends to one file; the crash at the Nth fdatasync keeps the first N-1. */
static void test_fault_crash_at_nth_fdatasync_keeps_synced_n123(void **state)
{
    struct io_fx *fx = *state;
    enum { CH = 5000 };
    uint8_t w[3 * CH], r[3 * CH];
    ms_test_fill(w, sizeof(w), 21);
    for (uint64_t n = 1; n <= 3; n++) {
        struct ms_io *io = NULL;
        assert_int_equal(ms_io_fault_create(NULL, &io), 0);
        char name[16];
        snprintf(name, sizeof(name), "n%llu", (unsigned long long)n);
        int fd = ms_io_open(io, fx->dirfd, name, O_RDWR | O_CREAT, 0600);
        assert_true(fd >= 0);
        assert_int_equal(ms_io_fsync_dir(io, fx->dirfd), 0);
        assert_int_equal(ms_io_fault_crash_nth_sync(io, MS_IO_FOP_FDATASYNC, n,
                                                    MS_IO_CRASH_UNDO, 0), 0);
        for (uint64_t i = 1; i <= 3; i++) {
            int rc = ms_io_pwrite_all(io, fd, w + (i - 1) * CH, CH, (i - 1) * CH);
            assert_int_equal(rc, i <= n ? 0 : -MEDSTORE_ECRASHED);
            rc = ms_io_fdatasync(io, fd);
            assert_int_equal(rc, i < n ? 0 : -MEDSTORE_ECRASHED);
        }
        close_dead(io, fd);
        ms_io_destroy(io);
        size_t got = fx_slurp(fx, name, r, sizeof(r));
        assert_int_equal(got, (n - 1) * CH);
        assert_memory_equal(r, w, got);
    }
}

/* A put interrupted at the directory sync: data synced, rename not: nothing visible. */
static void test_fault_crash_at_dir_sync_undoes_rename(void **state)
{
    struct io_fx *fx = *state;
    uint8_t w[3000];
    ms_test_fill(w, sizeof(w), 22);
    int fd = io_fx_open(fx, "p.tmp");
    assert_int_equal(ms_io_pwrite_all(fx->io, fd, w, sizeof(w), 0), 0);
    assert_int_equal(ms_io_fdatasync(fx->io, fd), 0);
    assert_int_equal(ms_io_close(fx->io, fd), 0);
    assert_int_equal(ms_io_renameat(fx->io, fx->dirfd, "p.tmp", fx->dirfd, "p"), 0);
    assert_int_equal(ms_io_fault_crash_nth_sync(fx->io, MS_IO_FOP_COUNT, 1,
                                                MS_IO_CRASH_UNDO, 0), 0);
    assert_int_equal(ms_io_fsync_dir(fx->io, fx->dirfd), -MEDSTORE_ECRASHED);
    assert_false(fx_exists(fx, "p"));
    assert_false(fx_exists(fx, "p.tmp"));
    assert_true(fx_no_hidden(fx));
}

/* Writes, syncs and renames "q.tmp" to "q" (the rename not yet durable). */
static void fx_renamed_unsynced(struct io_fx *fx, const uint8_t *w, size_t len)
{
    int fd = io_fx_open(fx, "q.tmp");
    assert_int_equal(ms_io_pwrite_all(fx->io, fd, w, len, 0), 0);
    assert_int_equal(ms_io_fdatasync(fx->io, fd), 0);
    assert_int_equal(ms_io_close(fx->io, fd), 0);
    assert_int_equal(ms_io_renameat(fx->io, fx->dirfd, "q.tmp", fx->dirfd, "q"), 0);
}

/* An MS_IO_FSYNC request on a directory fd is a directory sync: counted as FSYNC_DIR, and the
 * rename it covers survives a later crash. */
static void test_fault_dir_fsync_request_is_dir_sync(void **state)
{
    struct io_fx *fx = *state;
    uint8_t w[5000], r[sizeof(w)];
    ms_test_fill(w, sizeof(w), 23);
    fx_renamed_unsynced(fx, w, sizeof(w));
    uint64_t dirs = ms_io_fault_count(fx->io, MS_IO_FOP_FSYNC_DIR);
    uint64_t files = ms_io_fault_count(fx->io, MS_IO_FOP_FSYNC);
    struct ms_io_req q = {.op = MS_IO_FSYNC, .fd = fx->dirfd, .buf_index = -1};
    assert_int_equal(fx_one(fx, q), 0);
    assert_int_equal(ms_io_fault_count(fx->io, MS_IO_FOP_FSYNC_DIR), dirs + 1);
    assert_int_equal(ms_io_fault_count(fx->io, MS_IO_FOP_FSYNC), files);
    assert_int_equal(ms_io_fault_crash_now(fx->io, MS_IO_CRASH_UNDO, 0), 0);
    assert_false(fx_exists(fx, "q.tmp"));
    assert_int_equal(fx_slurp(fx, "q", r, sizeof(r)), sizeof(w));
    assert_memory_equal(r, w, sizeof(w));
}

/* Fail and crash rules on FSYNC_DIR hit directory FSYNC requests inside a batch; the file
 * sync beside them is not affected, and an unsynced rename is undone by the crash. */
static void test_fault_dir_fsync_request_fails_and_crashes(void **state)
{
    struct io_fx *fx = *state;
    uint8_t w[3000];
    ms_test_fill(w, sizeof(w), 24);
    fx_renamed_unsynced(fx, w, sizeof(w));
    int fd = ms_io_open(fx->io, fx->dirfd, "q", O_RDWR, 0);
    assert_true(fd >= 0);
    assert_int_equal(ms_io_fault_fail_nth(fx->io, MS_IO_FOP_FSYNC_DIR, 1, -EIO), 0);
    struct ms_io_req q[2] = {
        {.op = MS_IO_FDATASYNC, .fd = fd, .buf_index = -1, .user_data = 0},
        {.op = MS_IO_FSYNC, .fd = fx->dirfd, .buf_index = -1, .user_data = 1},
    };
    int res[2];
    io_run(fx->io, q, 2, res);
    assert_int_equal(res[0], 0);
    assert_int_equal(res[1], -EIO);
    assert_int_equal(ms_io_fault_crash_nth_sync(fx->io, MS_IO_FOP_FSYNC_DIR, 1,
                                                MS_IO_CRASH_UNDO, 0), 0);
    io_run(fx->io, q, 2, res);
    assert_int_equal(res[0], -MEDSTORE_ECRASHED); /* done, but unreaped at the crash (io.h) */
    assert_int_equal(res[1], -MEDSTORE_ECRASHED);
    close_dead(fx->io, fd);
    assert_false(fx_exists(fx, "q"));
    assert_false(fx_exists(fx, "q.tmp"));
    assert_true(fx_no_hidden(fx));
}

/* Garble mode: the unsynced range holds neither the old nor the new bytes; synced bytes stay. */
static void test_fault_crash_garble_mode(void **state)
{
    struct io_fx *fx = *state;
    enum { LEN = 8192 };
    uint8_t old[LEN], neu[LEN], r[LEN];
    fx_make_synced(fx, "g", LEN, 31);
    ms_test_fill(old, LEN, 31);
    ms_test_fill(neu, LEN, 32);
    int fd = ms_io_open(fx->io, fx->dirfd, "g", O_RDWR, 0);
    assert_true(fd >= 0);
    assert_int_equal(ms_io_pwrite_all(fx->io, fd, neu, 4096, 0), 0);
    assert_int_equal(ms_io_fault_crash_now(fx->io, MS_IO_CRASH_GARBLE, 77), 0);
    assert_int_equal(fx_slurp(fx, "g", r, sizeof(r)), LEN);
    assert_memory_not_equal(r, old, 4096);
    assert_memory_not_equal(r, neu, 4096);
    assert_memory_equal(r + 4096, old + 4096, LEN - 4096);
    assert_int_equal(ms_io_close(fx->io, fd), -MEDSTORE_ECRASHED);
}

/* Random mode is a function of the seed: the same run twice leaves the same bytes. */
static void test_fault_crash_random_mode_is_seeded(void **state)
{
    struct io_fx *fx = *state;
    uint8_t out[2][4 * 4096];
    for (int run = 0; run < 2; run++) {
        struct ms_io *io = NULL;
        assert_int_equal(ms_io_fault_create(NULL, &io), 0);
        int fd = ms_io_open(io, fx->dirfd, "rnd", O_RDWR | O_CREAT | O_TRUNC, 0600);
        assert_true(fd >= 0);
        assert_int_equal(ms_io_fsync_dir(io, fx->dirfd), 0);
        uint8_t w[4096];
        ms_test_fill(w, sizeof(w), 40);
        assert_int_equal(ms_io_pwrite_all(io, fd, w, sizeof(w), 0), 0);
        assert_int_equal(ms_io_fdatasync(io, fd), 0);
        for (uint64_t i = 1; i < 4; i++) {
            ms_test_fill(w, sizeof(w), 40 + i);
            assert_int_equal(ms_io_pwrite_all(io, fd, w, sizeof(w), i * 4096), 0);
        }
        assert_int_equal(ms_io_fault_crash_now(io, MS_IO_CRASH_RANDOM, 12345), 0);
        close_dead(io, fd);
        ms_io_destroy(io);
        memset(out[run], 0, sizeof(out[run]));
        (void)fx_slurp(fx, "rnd", out[run], sizeof(out[run]));
    }
    assert_memory_equal(out[0], out[1], sizeof(out[0]));
}

/* Completions not reaped at the crash are still delivered, as -MEDSTORE_ECRASHED. */
static void test_fault_crash_keeps_completion_accounting(void **state)
{
    struct io_fx *fx = *state;
    int fd = io_fx_open(fx, "q");
    uint8_t w[128] = {1};
    struct ms_io_req q[2] = {io_req(MS_IO_WRITE, fd, w, sizeof(w), 0, 0),
                             io_req(MS_IO_FDATASYNC, fd, NULL, 0, 0, 1)};
    assert_int_equal(ms_io_fault_crash_nth_sync(fx->io, MS_IO_FOP_FDATASYNC, 1,
                                                MS_IO_CRASH_UNDO, 0), 0);
    assert_int_equal(ms_io_submit(fx->io, q, 2), 2);
    struct ms_io_cqe c[2];
    assert_int_equal(ms_io_wait(fx->io, c, 2, 2, -1), 2);
    assert_int_equal(c[0].res, -MEDSTORE_ECRASHED);
    assert_int_equal(c[1].res, -MEDSTORE_ECRASHED);
    assert_int_equal(fx->io->inflight, 0);
    assert_int_equal(ms_io_submit(fx->io, q, 1), -MEDSTORE_ECRASHED);
    struct stat st;
    assert_int_equal(fstat(fd, &st), 0);
    assert_int_equal(st.st_size, 0);
    assert_int_equal(ms_io_close(fx->io, fd), -MEDSTORE_ECRASHED);
}

/* Without a crash, destroying the port makes everything final (hidden names removed). */
static void test_fault_clean_destroy_finishes_unlinks(void **state)
{
    struct io_fx *fx = *state;
    fx_make_synced(fx, "u", 100, 50);
    fx_make_synced(fx, "v", 100, 51);
    fx_make_synced(fx, "w", 100, 52);
    assert_int_equal(ms_io_unlinkat(fx->io, fx->dirfd, "u", 0), 0);
    assert_int_equal(ms_io_renameat(fx->io, fx->dirfd, "v", fx->dirfd, "w"), 0);
    assert_false(fx_exists(fx, "u"));
    assert_false(fx_no_hidden(fx));
    ms_io_destroy(fx->io);
    fx->io = NULL;
    assert_true(fx_no_hidden(fx));
    assert_false(fx_exists(fx, "u"));
    assert_false(fx_exists(fx, "v"));
    uint8_t r[100], v0[100];
    ms_test_fill(v0, sizeof(v0), 51);
    assert_int_equal(fx_slurp(fx, "w", r, sizeof(r)), 100);
    assert_memory_equal(r, v0, sizeof(r));
}

/* An O_TRUNC open of a synced file is undone by a crash, as a truncate would be. */
static void test_fault_crash_undoes_o_trunc(void **state)
{
    struct io_fx *fx = *state;
    fx_make_synced(fx, "t", 5000, 60);
    int fd = ms_io_open(fx->io, fx->dirfd, "t", O_RDWR | O_TRUNC, 0);
    assert_true(fd >= 0);
    uint8_t w[10] = {9};
    assert_int_equal(ms_io_pwrite_all(fx->io, fd, w, sizeof(w), 0), 0);
    assert_int_equal(ms_io_fault_crash_now(fx->io, MS_IO_CRASH_UNDO, 0), 0);
    uint8_t r[6000], t0[5000];
    ms_test_fill(t0, sizeof(t0), 60);
    assert_int_equal(fx_slurp(fx, "t", r, sizeof(r)), 5000);
    assert_memory_equal(r, t0, sizeof(t0));
    assert_int_equal(ms_io_close(fx->io, fd), -MEDSTORE_ECRASHED);
}

static void test_fault_wraps_given_inner_port(void **state)
{
    struct io_fx *fx = *state;
    struct ms_io *inner = NULL, *f = NULL;
    assert_int_equal(ms_io_sync_create(&inner), 0);
    assert_int_equal(ms_io_fault_create(&inner, &f), 0);
    assert_null(inner); /* consumed */
    int fd = ms_io_open(f, fx->dirfd, "i", O_RDWR | O_CREAT, 0600);
    assert_true(fd >= 0);
    assert_int_equal(ms_io_fault_count(f, MS_IO_FOP_OPEN), 1);
    assert_int_equal(ms_io_close(f, fd), 0);
    assert_int_equal(ms_io_fault_count(f, MS_IO_FOP_CLOSE), 1);
    ms_io_destroy(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        IO_SUITE_TESTS,
        IO_SUITE_TEST(test_fault_fail_nth_write_each_kind_n123),
        IO_SUITE_TEST(test_fault_fail_nth_sync_and_namespace_ops_n123),
        IO_SUITE_TEST(test_fault_short_write_nth_writes_half_n123),
        IO_SUITE_TEST(test_fault_short_write_breaks_link),
        IO_SUITE_TEST(test_fault_helpers_retry_eintr),
        IO_SUITE_TEST(test_fault_rules_validated_and_cleared),
        IO_SUITE_TEST(test_fault_crash_at_fdatasync_undoes_unsynced),
        IO_SUITE_TEST(test_fault_crash_at_nth_fdatasync_keeps_synced_n123),
        IO_SUITE_TEST(test_fault_crash_at_dir_sync_undoes_rename),
        IO_SUITE_TEST(test_fault_dir_fsync_request_is_dir_sync),
        IO_SUITE_TEST(test_fault_dir_fsync_request_fails_and_crashes),
        IO_SUITE_TEST(test_fault_crash_garble_mode),
        IO_SUITE_TEST(test_fault_crash_random_mode_is_seeded),
        IO_SUITE_TEST(test_fault_crash_keeps_completion_accounting),
        IO_SUITE_TEST(test_fault_clean_destroy_finishes_unlinks),
        IO_SUITE_TEST(test_fault_crash_undoes_o_trunc),
        IO_SUITE_TEST(test_fault_wraps_given_inner_port),
    };
    return cmocka_run_group_tests_name("io_fault", tests, NULL, NULL);
}
