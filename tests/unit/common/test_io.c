/*
 * test_io.c - the I/O port's generic layer (src/common/io.c): in-flight accounting, request
 * validation, and ms_io_open_direct()'s fallback to buffered I/O when the filesystem refuses
 * O_DIRECT with EINVAL (tmpfs before Linux 6.6; DESIGN.md "Facts of this platform"). The
 * refusal is injected through the fault port, since this machine's filesystems accept it.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/io.h"
#include "common/log.h"
#include "testutil.h"

struct fx {
    char *dir;
    int dirfd;
};

static int fx_setup(void **state)
{
    struct fx *fx = calloc(1, sizeof(*fx));
    assert_non_null(fx);
    fx->dir = ms_test_tmpdir("io");
    assert_non_null(fx->dir);
    fx->dirfd = open(fx->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    assert_true(fx->dirfd >= 0);
    *state = fx;
    return 0;
}

static int fx_teardown(void **state)
{
    struct fx *fx = *state;
    close(fx->dirfd);
    ms_test_rmtree(fx->dir);
    free(fx->dir);
    free(fx);
    return 0;
}

static void test_open_direct_falls_back_on_einval(void **state)
{
    struct fx *fx = *state;
    struct ms_io *io = NULL;
    assert_int_equal(ms_io_fault_create(NULL, &io), 0);
    assert_int_equal(ms_io_fault_fail_nth(io, MS_IO_FOP_OPEN, 1, -EINVAL), 0);
    bool direct = true;
    int fd = ms_io_open_direct(io, fx->dirfd, "d", O_RDWR | O_CREAT | O_EXCL, 0600, &direct);
    assert_true(fd >= 0);
    assert_false(direct);
    assert_int_equal(fcntl(fd, F_GETFL) & O_DIRECT, 0);
    assert_int_equal(ms_io_fault_count(io, MS_IO_FOP_OPEN), 2);
    /* Buffered I/O + fdatasync is the fallback's durability path: it works. */
    uint8_t w[4096], r[4096];
    ms_test_fill(w, sizeof(w), 1);
    assert_int_equal(ms_io_pwrite_all(io, fd, w, sizeof(w), 0), 0);
    assert_int_equal(ms_io_fdatasync(io, fd), 0);
    assert_int_equal(ms_io_pread_all(io, fd, r, sizeof(r), 0, NULL), 0);
    assert_memory_equal(w, r, sizeof(w));
    assert_int_equal(ms_io_close(io, fd), 0);
    ms_io_destroy(io);
}

static void test_open_direct_grants_or_reports(void **state)
{
    struct fx *fx = *state;
    struct ms_io *io = NULL;
    assert_int_equal(ms_io_sync_create(&io), 0);
    bool direct = false;
    int fd = ms_io_open_direct(io, fx->dirfd, "g", O_RDWR | O_CREAT | O_EXCL, 0600, &direct);
    assert_true(fd >= 0);
    /* What was granted is what the flag says. */
    assert_int_equal((fcntl(fd, F_GETFL) & O_DIRECT) != 0, direct);
    if (direct) {
        void *b = aligned_alloc(4096, 4096);
        assert_non_null(b);
        memset(b, 0x5a, 4096);
        assert_int_equal(ms_io_pwrite_all(io, fd, b, 4096, 0), 0);
        free(b);
    }
    assert_int_equal(ms_io_close(io, fd), 0);
    /* Other errors are not retried buffered. */
    fd = ms_io_open_direct(io, fx->dirfd, "g", O_RDWR | O_CREAT | O_EXCL, 0600, &direct);
    assert_int_equal(fd, -EEXIST);
    assert_false(direct);
    ms_io_destroy(io);
}

static void test_inflight_accounting(void **state)
{
    struct fx *fx = *state;
    struct ms_io *io = NULL;
    assert_int_equal(ms_io_sync_create(&io), 0);
    struct ms_io_req q[3];
    for (unsigned i = 0; i < 3; i++)
        q[i] = (struct ms_io_req){.op = MS_IO_NOP, .fd = -1, .buf_index = -1, .user_data = i};
    assert_int_equal(ms_io_submit(io, q, 3), 3);
    assert_int_equal(io->inflight, 3);
    struct ms_io_cqe c[3];
    /* min_complete above what is in flight is capped: never waits for the impossible. */
    assert_int_equal(ms_io_wait(io, c, 1, 5, -1), 1);
    assert_int_equal(io->inflight, 2);
    assert_int_equal(ms_io_wait(io, c, 3, 3, -1), 2);
    assert_int_equal(io->inflight, 0);
    q[0].flags = 0x80; /* unknown flag */
    assert_int_equal(ms_io_submit(io, q, 1), -EINVAL);
    q[0].flags = 0;
    q[0].buf_index = -2;
    assert_int_equal(ms_io_submit(io, q, 1), -EINVAL);
    assert_int_equal(ms_io_fallocate(io, fx->dirfd, 0, 0, 0), -EINVAL);
    assert_int_equal(ms_io_ftruncate(io, fx->dirfd, UINT64_MAX), -EINVAL);
    assert_int_equal(io->inflight, 0);
    ms_io_destroy(io);
    ms_io_destroy(NULL);
}

int main(void)
{
    ms_log_set_level(MS_LOG_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_open_direct_falls_back_on_einval, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_open_direct_grants_or_reports, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_inflight_accounting, fx_setup, fx_teardown),
    };
    return cmocka_run_group_tests_name("io", tests, NULL, NULL);
}
