/*
 * test_io_suite.c - the behavioural suite every I/O port backend must pass (io.h), written
 * once and #included by each backend's test program (test_io_sync.c, test_io_fault.c,
 * tests/unit/node/test_io_uring.c). Not a program of its own.
 *
 * The including file defines `static int io_suite_make(struct ms_io **out)` (a new port of its
 * backend) before including this file, then runs IO_SUITE_TESTS in its group. Each test gets
 * a fresh temporary directory and port (io_fx_setup / io_fx_teardown).
 *
 * What is proved: bytes written are the bytes read back; batches complete once per request
 * with their own user_data; MS_IO_LINK runs a chain in order and cancels the rest after an
 * error or a short transfer; sync ops and NOP complete with 0; malformed requests are refused
 * whole; the helpers move exact byte counts and report end of file; namespace ops behave as
 * the syscalls; registered buffers work or are refused with a code the caller can fall back on;
 * short writes (made by a fault port around the backend) are resubmitted to the last byte.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/io.h"
#include "testutil.h"

static int io_suite_make(struct ms_io **out);

struct io_fx {
    struct ms_io *io;
    char *dir;
    int dirfd;
};

static int io_fx_setup(void **state)
{
    struct io_fx *fx = calloc(1, sizeof(*fx));
    assert_non_null(fx);
    fx->dir = ms_test_tmpdir("io");
    assert_non_null(fx->dir);
    fx->dirfd = open(fx->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    assert_true(fx->dirfd >= 0);
    assert_int_equal(io_suite_make(&fx->io), 0);
    *state = fx;
    return 0;
}

static int io_fx_teardown(void **state)
{
    struct io_fx *fx = *state;
    ms_io_destroy(fx->io);
    close(fx->dirfd);
    ms_test_rmtree(fx->dir);
    free(fx->dir);
    free(fx);
    return 0;
}

/* Opens (creating) name in the fixture's directory through the port. */
static int io_fx_open(struct io_fx *fx, const char *name)
{
    int fd = ms_io_open(fx->io, fx->dirfd, name, O_RDWR | O_CREAT, 0600);
    assert_true(fd >= 0);
    return fd;
}

/* Submits n requests, waits for all, and stores each completion's res by user_data index. */
static void io_run(struct ms_io *io, const struct ms_io_req *reqs, unsigned n, int *res)
{
    assert_int_equal(ms_io_submit(io, reqs, n), (int)n);
    unsigned got = 0;
    bool seen[64] = {false};
    assert_true(n <= 64);
    while (got < n) {
        struct ms_io_cqe c[64];
        int k = ms_io_wait(io, c, 64, 1, 5000);
        assert_true(k > 0);
        for (int i = 0; i < k; i++) {
            assert_true(c[i].user_data < n);
            assert_false(seen[c[i].user_data]);
            seen[c[i].user_data] = true;
            res[c[i].user_data] = c[i].res;
        }
        got += (unsigned)k;
    }
    assert_int_equal(io->inflight, 0);
}

static struct ms_io_req io_req(enum ms_io_op op, int fd, void *buf, size_t len, uint64_t off,
                               uint64_t tag)
{
    return (struct ms_io_req){.op = op, .fd = fd, .buf_index = -1, .buf = buf, .len = len,
                              .offset = off, .user_data = tag};
}

static void test_io_write_read_round_trip(void **state)
{
    struct io_fx *fx = *state;
    int fd = io_fx_open(fx, "f");
    size_t len = 64 * 1024;
    uint8_t *w = malloc(len), *r = calloc(1, len);
    assert_non_null(w);
    assert_non_null(r);
    ms_test_fill(w, len, 11);
    struct ms_io_req q = io_req(MS_IO_WRITE, fd, w, len, 4096, 0);
    int res[1];
    io_run(fx->io, &q, 1, res);
    assert_int_equal(res[0], (int)len);
    q = io_req(MS_IO_READ, fd, r, len, 4096, 0);
    io_run(fx->io, &q, 1, res);
    assert_int_equal(res[0], (int)len);
    assert_memory_equal(w, r, len);
    struct stat st;
    assert_int_equal(ms_io_fstat(fx->io, fd, &st), 0);
    assert_int_equal(st.st_size, 4096 + len);
    assert_int_equal(ms_io_close(fx->io, fd), 0);
    free(w);
    free(r);
}

static void test_io_batch_completes_each_once(void **state)
{
    struct io_fx *fx = *state;
    int fd = io_fx_open(fx, "batch");
    enum { N = 16, CHUNK = 8192 };
    uint8_t *w = malloc(N * CHUNK), *r = calloc(1, N * CHUNK);
    assert_non_null(w);
    assert_non_null(r);
    ms_test_fill(w, N * CHUNK, 12);
    struct ms_io_req q[N];
    int res[N];
    for (unsigned i = 0; i < N; i++)
        q[i] = io_req(MS_IO_WRITE, fd, w + i * CHUNK, CHUNK, (uint64_t)i * CHUNK, i);
    io_run(fx->io, q, N, res);
    for (unsigned i = 0; i < N; i++) {
        assert_int_equal(res[i], CHUNK);
        q[i] = io_req(MS_IO_READ, fd, r + i * CHUNK, CHUNK, (uint64_t)i * CHUNK, i);
    }
    io_run(fx->io, q, N, res);
    for (unsigned i = 0; i < N; i++)
        assert_int_equal(res[i], CHUNK);
    assert_memory_equal(w, r, N * CHUNK);
    assert_int_equal(ms_io_close(fx->io, fd), 0);
    free(w);
    free(r);
}

static void test_io_link_chain_runs_in_order(void **state)
{
    struct io_fx *fx = *state;
    int fd = io_fx_open(fx, "link");
    uint8_t w[4096], r[4096];
    ms_test_fill(w, sizeof(w), 13);
    memset(r, 0, sizeof(r));
    struct ms_io_req q[3] = {
        io_req(MS_IO_WRITE, fd, w, sizeof(w), 0, 0),
        io_req(MS_IO_FDATASYNC, fd, NULL, 0, 0, 1),
        io_req(MS_IO_READ, fd, r, sizeof(r), 0, 2),
    };
    q[0].flags = MS_IO_LINK;
    q[1].flags = MS_IO_LINK;
    int res[3];
    io_run(fx->io, q, 3, res);
    assert_int_equal(res[0], (int)sizeof(w));
    assert_int_equal(res[1], 0);
    assert_int_equal(res[2], (int)sizeof(r));
    assert_memory_equal(w, r, sizeof(w));
    assert_int_equal(ms_io_close(fx->io, fd), 0);
}

static void test_io_link_error_cancels_rest_of_chain(void **state)
{
    struct io_fx *fx = *state;
    int wfd = io_fx_open(fx, "ro");
    assert_int_equal(ms_io_close(fx->io, wfd), 0);
    int fd = ms_io_open(fx->io, fx->dirfd, "ro", O_RDONLY, 0);
    assert_true(fd >= 0);
    uint8_t w[512];
    ms_test_fill(w, sizeof(w), 14);
    struct ms_io_req q[4] = {
        io_req(MS_IO_WRITE, fd, w, sizeof(w), 0, 0), /* EBADF: read-only fd */
        io_req(MS_IO_NOP, -1, NULL, 0, 0, 1),
        io_req(MS_IO_FSYNC, fd, NULL, 0, 0, 2),
        io_req(MS_IO_NOP, -1, NULL, 0, 0, 3), /* after the chain: runs */
    };
    q[0].flags = MS_IO_LINK;
    q[1].flags = MS_IO_LINK;
    int res[4];
    io_run(fx->io, q, 4, res);
    assert_int_equal(res[0], -EBADF);
    assert_int_equal(res[1], -ECANCELED);
    assert_int_equal(res[2], -ECANCELED);
    assert_int_equal(res[3], 0);
    assert_int_equal(ms_io_close(fx->io, fd), 0);
}

static void test_io_short_read_breaks_link(void **state)
{
    struct io_fx *fx = *state;
    int fd = io_fx_open(fx, "short");
    uint8_t w[100], r[200];
    ms_test_fill(w, sizeof(w), 15);
    assert_int_equal(ms_io_pwrite_all(fx->io, fd, w, sizeof(w), 0), 0);
    struct ms_io_req q[2] = {
        io_req(MS_IO_READ, fd, r, sizeof(r), 0, 0),
        io_req(MS_IO_READ, fd, r, 10, 0, 1),
    };
    q[0].flags = MS_IO_LINK;
    int res[2];
    io_run(fx->io, q, 2, res);
    assert_int_equal(res[0], 100);
    assert_memory_equal(r, w, 100);
    assert_int_equal(res[1], -ECANCELED);
    assert_int_equal(ms_io_close(fx->io, fd), 0);
}

static void test_io_sync_ops_and_nop_complete_zero(void **state)
{
    struct io_fx *fx = *state;
    int fd = io_fx_open(fx, "sync");
    struct ms_io_req q[4] = {
        io_req(MS_IO_FDATASYNC, fd, NULL, 0, 0, 0),
        io_req(MS_IO_FSYNC, fd, NULL, 0, 0, 1),
        io_req(MS_IO_NOP, -1, NULL, 0, 0, 2),
        io_req(MS_IO_FSYNC, fx->dirfd, NULL, 0, 0, 3), /* a directory sync (io.h) */
    };
    int res[4];
    io_run(fx->io, q, 4, res);
    assert_int_equal(res[0], 0);
    assert_int_equal(res[1], 0);
    assert_int_equal(res[2], 0);
    assert_int_equal(res[3], 0);
    assert_int_equal(ms_io_fdatasync(fx->io, fd), 0);
    assert_int_equal(ms_io_fsync(fx->io, fd), 0);
    assert_int_equal(ms_io_fsync_dir(fx->io, fx->dirfd), 0);
    assert_int_equal(ms_io_close(fx->io, fd), 0);
}

static void test_io_malformed_request_refused_whole(void **state)
{
    struct io_fx *fx = *state;
    int fd = io_fx_open(fx, "bad");
    uint8_t b[16] = {0};
    struct ms_io_req q[2] = {
        io_req(MS_IO_WRITE, fd, b, sizeof(b), 0, 0),
        io_req((enum ms_io_op)99, fd, b, sizeof(b), 0, 1),
    };
    assert_int_equal(ms_io_submit(fx->io, q, 2), -EINVAL);
    q[1] = io_req(MS_IO_WRITE, fd, b, MS_IO_LEN_MAX + 1, 0, 1);
    assert_int_equal(ms_io_submit(fx->io, q, 2), -EINVAL);
    q[1] = io_req(MS_IO_WRITE, fd, NULL, 8, 0, 1);
    assert_int_equal(ms_io_submit(fx->io, q, 2), -EINVAL);
    q[1] = io_req(MS_IO_READ, fd, b, sizeof(b), 0, 1);
    q[1].buf_index = 5; /* nothing registered */
    assert_int_equal(ms_io_submit(fx->io, q, 2), -EINVAL);
    assert_int_equal(fx->io->inflight, 0);
    struct stat st;
    assert_int_equal(ms_io_fstat(fx->io, fd, &st), 0);
    assert_int_equal(st.st_size, 0); /* the valid first request did not run either */
    struct ms_io_cqe c;
    assert_int_equal(ms_io_wait(fx->io, &c, 1, 1, 0), 0);
    assert_int_equal(ms_io_close(fx->io, fd), 0);
}

static void test_io_helpers_exact_bytes_and_eof(void **state)
{
    struct io_fx *fx = *state;
    int fd = io_fx_open(fx, "helpers");
    size_t len = 3 * 1024 * 1024 + 17;
    uint8_t *w = malloc(len), *r = malloc(len + 100);
    assert_non_null(w);
    assert_non_null(r);
    ms_test_fill(w, len, 16);
    assert_int_equal(ms_io_pwrite_all(fx->io, fd, w, len, 0), 0);
    assert_int_equal(ms_io_fdatasync(fx->io, fd), 0);
    size_t got = 0;
    assert_int_equal(ms_io_pread_all(fx->io, fd, r, len + 100, 0, &got), 0);
    assert_int_equal(got, len);
    assert_memory_equal(w, r, len);
    assert_int_equal(ms_io_pread_all(fx->io, fd, r, 100, len - 50, NULL),
                     -MEDSTORE_ETRUNCATED);
    assert_int_equal(ms_io_pread_all(fx->io, fd, r, 100, len - 100, NULL), 0);
    assert_memory_equal(r, w + len - 100, 100);
    assert_int_equal(ms_io_pread_all(fx->io, fd, r, 0, 0, &got), 0);
    assert_int_equal(got, 0);
    assert_int_equal(ms_io_close(fx->io, fd), 0);
    free(w);
    free(r);
}

static void test_io_namespace_ops(void **state)
{
    struct io_fx *fx = *state;
    int fd = io_fx_open(fx, "a.tmp");
    uint8_t w[1000];
    ms_test_fill(w, sizeof(w), 17);
    assert_int_equal(ms_io_pwrite_all(fx->io, fd, w, sizeof(w), 0), 0);
    assert_int_equal(ms_io_ftruncate(fx->io, fd, 600), 0);
    int rc = ms_io_fallocate(fx->io, fd, 0, 0, 8192);
    assert_true(rc == 0 || rc == -EOPNOTSUPP);
    struct stat st;
    assert_int_equal(ms_io_fstat(fx->io, fd, &st), 0);
    assert_int_equal(st.st_size, rc == 0 ? 8192 : 600);
    assert_int_equal(ms_io_ftruncate(fx->io, fd, 600), 0);
    assert_int_equal(ms_io_close(fx->io, fd), 0);
    assert_int_equal(ms_io_renameat(fx->io, fx->dirfd, "a.tmp", fx->dirfd, "a"), 0);
    assert_int_equal(ms_io_fsync_dir(fx->io, fx->dirfd), 0);
    assert_int_equal(ms_io_open(fx->io, fx->dirfd, "a.tmp", O_RDONLY, 0), -ENOENT);
    fd = ms_io_open(fx->io, fx->dirfd, "a", O_RDONLY, 0);
    assert_true(fd >= 0);
    uint8_t r[600];
    assert_int_equal(ms_io_pread_all(fx->io, fd, r, sizeof(r), 0, NULL), 0);
    assert_memory_equal(r, w, sizeof(r));
    assert_int_equal(ms_io_close(fx->io, fd), 0);
    assert_int_equal(ms_io_open(fx->io, fx->dirfd, "a", O_RDWR | O_CREAT | O_EXCL, 0600),
                     -EEXIST);
    assert_int_equal(ms_io_unlinkat(fx->io, fx->dirfd, "a", 0), 0);
    assert_int_equal(ms_io_unlinkat(fx->io, fx->dirfd, "a", 0), -ENOENT);
    assert_int_equal(ms_io_renameat(fx->io, fx->dirfd, "a", fx->dirfd, "b"), -ENOENT);
    assert_int_equal(ms_io_fsync_dir(fx->io, fx->dirfd), 0);
    assert_int_equal(faccessat(fx->dirfd, "a", F_OK, 0), -1);
}

static void test_io_registered_buffers_or_fallback(void **state)
{
    struct io_fx *fx = *state;
    int fd = io_fx_open(fx, "fixed");
    size_t len = 64 * 1024;
    uint8_t *b0 = aligned_alloc(4096, len), *b1 = aligned_alloc(4096, len);
    assert_non_null(b0);
    assert_non_null(b1);
    ms_test_fill(b0, len, 18);
    memset(b1, 0, len);
    struct iovec iov[2] = {{b0, len}, {b1, len}};
    int rc = ms_io_register_buffers(fx->io, iov, 2);
    assert_true(rc == 0 || rc == -ENOMEM || rc == -ENOTSUP);
    int idx0 = rc == 0 ? 0 : -1, idx1 = rc == 0 ? 1 : -1;
    if (rc == 0)
        assert_int_equal(ms_io_register_buffers(fx->io, iov, 2), -EBUSY);
    struct ms_io_req q = io_req(MS_IO_WRITE, fd, b0 + 4096, len - 4096, 0, 0);
    q.buf_index = idx0;
    int res[1];
    io_run(fx->io, &q, 1, res);
    assert_int_equal(res[0], (int)(len - 4096));
    q = io_req(MS_IO_READ, fd, b1, len - 4096, 0, 0);
    q.buf_index = idx1;
    io_run(fx->io, &q, 1, res);
    assert_int_equal(res[0], (int)(len - 4096));
    assert_memory_equal(b1, b0 + 4096, len - 4096);
    if (rc == 0) {
        q = io_req(MS_IO_READ, fd, b1 + 4096, len, 0, 0); /* runs past buffer 1 */
        q.buf_index = 1;
        assert_int_equal(ms_io_submit(fx->io, &q, 1), -EINVAL);
        q.buf_index = 2; /* no such buffer */
        q.len = 16;
        assert_int_equal(ms_io_submit(fx->io, &q, 1), -EINVAL);
        assert_int_equal(ms_io_unregister_buffers(fx->io), 0);
    }
    assert_int_equal(ms_io_close(fx->io, fd), 0);
    free(b0);
    free(b1);
}

static void test_io_wait_never_blocks_when_idle(void **state)
{
    struct io_fx *fx = *state;
    struct ms_io_cqe c[4];
    assert_int_equal(ms_io_wait(fx->io, c, 4, 4, -1), 0);
    assert_int_equal(ms_io_wait(fx->io, c, 4, 0, 0), 0);
    assert_non_null(ms_io_name(fx->io));
}

/* Short writes from the backend under test (made by a fault port wrapped around it) are
 * resubmitted by ms_io_pwrite_all() until every byte is on disk. */
static void test_io_short_write_resubmitted(void **state)
{
    struct io_fx *fx = *state;
    struct ms_io *inner = NULL, *f = NULL;
    assert_int_equal(io_suite_make(&inner), 0);
    assert_int_equal(ms_io_fault_create(&inner, &f), 0);
    int fd = ms_io_open(f, fx->dirfd, "sw", O_RDWR | O_CREAT, 0600);
    assert_true(fd >= 0);
    size_t len = 10000;
    uint8_t *w = malloc(len), *r = malloc(len);
    assert_non_null(w);
    assert_non_null(r);
    ms_test_fill(w, len, 19);
    assert_int_equal(ms_io_fault_short_write_nth(f, 1), 0);
    assert_int_equal(ms_io_fault_short_write_nth(f, 3), 0);
    assert_int_equal(ms_io_pwrite_all(f, fd, w, len, 100), 0);
    /* 10000 -> 5000 short, 5000 full: 2 writes; the rule for the 3rd stays for the next. */
    assert_int_equal(ms_io_fault_count(f, MS_IO_FOP_WRITE), 2);
    assert_int_equal(ms_io_pwrite_all(f, fd, w, len, 100), 0);
    assert_int_equal(ms_io_fault_count(f, MS_IO_FOP_WRITE), 4);
    assert_int_equal(ms_io_fdatasync(f, fd), 0);
    assert_int_equal(ms_io_pread_all(fx->io, fd, r, len, 100, NULL), 0);
    assert_memory_equal(r, w, len);
    assert_int_equal(ms_io_close(f, fd), 0);
    ms_io_destroy(f);
    free(w);
    free(r);
}

enum { IO_NS_THREADS = 4, IO_NS_FILES = 40 };

struct io_ns_arg {
    struct io_fx *fx;
    unsigned id;
    int failures;
};

/* One thread's namespace work: create, fstat, close, rename, unlink, then a directory sync. */
static void *io_ns_thread(void *arg)
{
    struct io_ns_arg *a = arg;
    struct ms_io *io = a->fx->io;
    int dirfd = a->fx->dirfd;
    for (unsigned k = 0; k < IO_NS_FILES; k++) {
        char n1[32], n2[32];
        snprintf(n1, sizeof(n1), "t%u.%u", a->id, k);
        snprintf(n2, sizeof(n2), "r%u.%u", a->id, k);
        int fd = ms_io_open(io, dirfd, n1, O_RDWR | O_CREAT | O_EXCL, 0600);
        struct stat st;
        a->failures += fd < 0;
        if (fd >= 0) {
            a->failures += ms_io_fstat(io, fd, &st) != 0 || st.st_size != 0;
            a->failures += ms_io_close(io, fd) != 0;
        }
        a->failures += ms_io_renameat(io, dirfd, n1, dirfd, n2) != 0;
        a->failures += ms_io_unlinkat(io, dirfd, n2, 0) != 0;
    }
    a->failures += ms_io_fsync_dir(io, dirfd) != 0;
    return NULL;
}

/* Namespace operations may come from other threads while one thread writes and syncs
 * (io.h, thread safety): every call still does exactly its syscall's work. */
static void test_io_namespace_ops_from_other_threads(void **state)
{
    struct io_fx *fx = *state;
    pthread_t th[IO_NS_THREADS];
    struct io_ns_arg args[IO_NS_THREADS];
    for (unsigned i = 0; i < IO_NS_THREADS; i++) {
        args[i] = (struct io_ns_arg){.fx = fx, .id = i};
        assert_int_equal(pthread_create(&th[i], NULL, io_ns_thread, &args[i]), 0);
    }
    int fd = io_fx_open(fx, "data");
    uint8_t w[4096], r[sizeof(w)];
    for (unsigned k = 0; k < 50; k++) {
        ms_test_fill(w, sizeof(w), k);
        assert_int_equal(ms_io_pwrite_all(fx->io, fd, w, sizeof(w), (uint64_t)k * sizeof(w)),
                         0);
        assert_int_equal(ms_io_fdatasync(fx->io, fd), 0);
    }
    for (unsigned i = 0; i < IO_NS_THREADS; i++) {
        assert_int_equal(pthread_join(th[i], NULL), 0);
        assert_int_equal(args[i].failures, 0);
    }
    assert_int_equal(ms_io_pread_all(fx->io, fd, r, sizeof(r), 49 * sizeof(w), NULL), 0);
    assert_memory_equal(r, w, sizeof(w));
    assert_int_equal(ms_io_close(fx->io, fd), 0);
    for (unsigned i = 0; i < IO_NS_THREADS; i++) {
        char n2[32];
        snprintf(n2, sizeof(n2), "r%u.%u", i, IO_NS_FILES - 1u);
        assert_int_equal(faccessat(fx->dirfd, n2, F_OK, 0), -1);
    }
}

#define IO_SUITE_TEST(f) cmocka_unit_test_setup_teardown(f, io_fx_setup, io_fx_teardown)
#define IO_SUITE_TESTS                                                                         \
    IO_SUITE_TEST(test_io_write_read_round_trip),                                              \
        IO_SUITE_TEST(test_io_batch_completes_each_once),                                      \
        IO_SUITE_TEST(test_io_link_chain_runs_in_order),                                       \
        IO_SUITE_TEST(test_io_link_error_cancels_rest_of_chain),                               \
        IO_SUITE_TEST(test_io_short_read_breaks_link),                                         \
        IO_SUITE_TEST(test_io_sync_ops_and_nop_complete_zero),                                 \
        IO_SUITE_TEST(test_io_malformed_request_refused_whole),                                \
        IO_SUITE_TEST(test_io_helpers_exact_bytes_and_eof),                                    \
        IO_SUITE_TEST(test_io_namespace_ops),                                                  \
        IO_SUITE_TEST(test_io_registered_buffers_or_fallback),                                 \
        IO_SUITE_TEST(test_io_wait_never_blocks_when_idle),                                    \
        IO_SUITE_TEST(test_io_short_write_resubmitted),                                        \
        IO_SUITE_TEST(test_io_namespace_ops_from_other_threads)
