/*
 * test_fd.c - ms_fd_read_full (src/common/fd.c): reads everything up to the cap across short
 * reads, stops at end of file, and returns -errno of a failing read.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/fd.h"

/* A pipe holding "abc" then "defgh" (two writes), write end closed: end of file after 8. */
static int pipe_with_data(void)
{
    int p[2];
    assert_int_equal(pipe(p), 0);
    assert_int_equal(write(p[1], "abc", 3), 3);
    assert_int_equal(write(p[1], "defgh", 5), 5);
    assert_int_equal(close(p[1]), 0);
    return p[0];
}

static void test_reads_to_end_of_file_below_the_cap(void **state)
{
    (void)state;
    int fd = pipe_with_data();
    char buf[16];
    assert_int_equal(ms_fd_read_full(fd, buf, sizeof(buf)), 8);
    assert_memory_equal(buf, "abcdefgh", 8);
    assert_int_equal(close(fd), 0);
}

static void test_stops_at_the_cap(void **state)
{
    (void)state;
    int fd = pipe_with_data();
    char buf[5];
    assert_int_equal(ms_fd_read_full(fd, buf, sizeof(buf)), 5);
    assert_memory_equal(buf, "abcde", 5);
    assert_int_equal(ms_fd_read_full(fd, buf, sizeof(buf)), 3);
    assert_memory_equal(buf, "fgh", 3);
    assert_int_equal(ms_fd_read_full(fd, buf, sizeof(buf)), 0);
    assert_int_equal(close(fd), 0);
}

static void test_failing_read_returns_minus_errno(void **state)
{
    (void)state;
    int p[2];
    assert_int_equal(pipe(p), 0);
    char buf[4];
    /* The write end of a pipe cannot be read. */
    assert_int_equal(ms_fd_read_full(p[1], buf, sizeof(buf)), -EBADF);
    assert_int_equal(close(p[0]), 0);
    assert_int_equal(close(p[1]), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reads_to_end_of_file_below_the_cap),
        cmocka_unit_test(test_stops_at_the_cap),
        cmocka_unit_test(test_failing_read_returns_minus_errno),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
