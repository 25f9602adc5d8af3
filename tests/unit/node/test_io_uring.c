/*
 * test_io_uring.c - the io_uring backend of the I/O port (src/node/io_uring.c): the shared
 * behavioural suite (tests/unit/common/test_io_suite.c) on a real ring, then what only a ring
 * has: a bounded number in flight (-EAGAIN beyond, so the CQ cannot overflow), wait with a
 * timeout on a request that cannot complete yet, fixed-buffer I/O within the locked-memory
 * budget, and the fault port wrapped around a ring. Without io_uring here the program skips
 * (exit 77), or fails under CI=true.
 */
#include "../common/test_io_suite.c"

#include <stdio.h>

#include "common/log.h"
#include "node/io_uring_backend.h"

static int io_suite_make(struct ms_io **out)
{
    return ms_io_uring_create(32, out);
}

static void test_uring_bounds_in_flight(void **state)
{
    struct io_fx *fx = *state;
    int p[2];
    assert_int_equal(pipe2(p, O_CLOEXEC), 0);
    struct ms_io *io = NULL;
    assert_int_equal(ms_io_uring_create(4, &io), 0); /* CQ of 8 */
    uint8_t b[8][16];
    struct ms_io_req q[9];
    for (unsigned i = 0; i < 9; i++)
        q[i] = io_req(MS_IO_READ, p[0], b[i % 8], sizeof(b[0]), 0, i);
    /* Reads of an empty pipe stay in flight. At most 4 fit the SQ in one submit. */
    unsigned in = 0;
    while (in < 8) {
        int rc = ms_io_submit(io, q + in, 8 - in);
        assert_true(rc > 0);
        in += (unsigned)rc;
    }
    assert_int_equal(io->inflight, 8);
    assert_int_equal(ms_io_submit(io, q + 8, 1), -EAGAIN);
    struct ms_io_cqe c[8];
    assert_int_equal(ms_io_wait(io, c, 8, 1, 50), 0); /* timeout: nothing can complete */
    uint8_t data[8 * 16];
    memset(data, 7, sizeof(data));
    assert_int_equal(write(p[1], data, sizeof(data)), (ssize_t)sizeof(data));
    unsigned got = 0;
    while (got < 8) {
        int rc = ms_io_wait(io, c, 8, 1, 5000);
        assert_true(rc > 0);
        for (int i = 0; i < rc; i++)
            assert_int_equal(c[i].res, 16);
        got += (unsigned)rc;
    }
    assert_int_equal(io->inflight, 0);
    ms_io_destroy(io);
    close(p[0]);
    close(p[1]);
    (void)fx;
}

static void test_uring_fixed_buffers_within_budget(void **state)
{
    struct io_fx *fx = *state;
    size_t budget = ms_io_uring_memlock_budget();
    size_t len = 256 * 1024;
    uint8_t *b = aligned_alloc(4096, len);
    assert_non_null(b);
    ms_test_fill(b, len, 7);
    struct iovec iov = {b, len};
    int rc = ms_io_register_buffers(fx->io, &iov, 1);
    if (budget < len) {
        assert_int_equal(rc, -ENOMEM); /* refused without asking the kernel */
    } else {
        assert_int_equal(rc, 0);
        int fd = io_fx_open(fx, "fixed");
        struct ms_io_req q = io_req(MS_IO_WRITE, fd, b, len, 0, 0);
        q.buf_index = 0;
        int res[1];
        io_run(fx->io, &q, 1, res);
        assert_int_equal(res[0], (int)len);
        uint8_t *r = malloc(len);
        assert_non_null(r);
        assert_int_equal(ms_io_pread_all(fx->io, fd, r, len, 0, NULL), 0);
        assert_memory_equal(r, b, len);
        free(r);
        assert_int_equal(ms_io_close(fx->io, fd), 0);
        assert_int_equal(ms_io_unregister_buffers(fx->io), 0);
    }
    /* More than any budget allows is refused with -ENOMEM (the caller's fallback cue). */
    if (budget != SIZE_MAX) {
        struct iovec huge = {b, budget + 1};
        assert_int_equal(ms_io_register_buffers(fx->io, &huge, 1), -ENOMEM);
    }
    free(b);
}

static void test_uring_create_validates_depth(void **state)
{
    (void)state;
    struct ms_io *io = NULL;
    assert_int_equal(ms_io_uring_create(0, &io), -EINVAL);
    assert_int_equal(ms_io_uring_create(MS_IO_URING_DEPTH_MAX + 1, &io), -EINVAL);
    assert_null(io);
    assert_int_equal(ms_io_uring_create(1, &io), 0);
    assert_string_equal(ms_io_name(io), "io_uring");
    ms_io_destroy(io);
}

/* The fault port around a ring: crash at the 2nd fdatasync keeps the 1st chunk only. */
static void test_uring_under_fault_port_crash(void **state)
{
    struct io_fx *fx = *state;
    struct ms_io *f = NULL;
    assert_int_equal(ms_io_fault_create(&fx->io, &f), 0);
    assert_null(fx->io);
    fx->io = f;
    int fd = io_fx_open(fx, "c");
    assert_int_equal(ms_io_fsync_dir(f, fx->dirfd), 0);
    uint8_t w[8192], r[8192];
    ms_test_fill(w, sizeof(w), 3);
    assert_int_equal(ms_io_fault_crash_nth_sync(f, MS_IO_FOP_FDATASYNC, 2, MS_IO_CRASH_UNDO,
                                                0), 0);
    assert_int_equal(ms_io_pwrite_all(f, fd, w, 4096, 0), 0);
    assert_int_equal(ms_io_fdatasync(f, fd), 0);
    assert_int_equal(ms_io_pwrite_all(f, fd, w + 4096, 4096, 4096), 0);
    assert_int_equal(ms_io_fdatasync(f, fd), -MEDSTORE_ECRASHED);
    assert_int_equal(ms_io_close(f, fd), -MEDSTORE_ECRASHED);
    int rfd = openat(fx->dirfd, "c", O_RDONLY | O_CLOEXEC);
    assert_true(rfd >= 0);
    assert_int_equal(pread(rfd, r, sizeof(r), 0), 4096);
    assert_memory_equal(r, w, 4096);
    close(rfd);
}

int main(void)
{
    ms_log_set_level(MS_LOG_WARN);
    int rc = ms_io_uring_probe();
    if (rc != 0)
        fprintf(stderr, "io_uring probe: %s\n", ms_err_name(rc));
    ms_test_require(rc == 0, "io_uring is not available here");
    const struct CMUnitTest tests[] = {
        IO_SUITE_TESTS,
        IO_SUITE_TEST(test_uring_bounds_in_flight),
        IO_SUITE_TEST(test_uring_fixed_buffers_within_budget),
        cmocka_unit_test(test_uring_create_validates_depth),
        IO_SUITE_TEST(test_uring_under_fault_port_crash),
    };
    return cmocka_run_group_tests_name("io_uring", tests, NULL, NULL);
}
