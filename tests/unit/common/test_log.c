/*
 * test_log.c - log lines: one key=value line per event written to the configured fd, levels
 * filtered before the arguments are evaluated, long lines truncated and marked.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/log.h"

static int pipe_fds[2];

static int setup(void **state)
{
    (void)state;
    if (pipe2(pipe_fds, O_NONBLOCK | O_CLOEXEC) != 0)
        return -1;
    ms_log_set_fd(pipe_fds[1]);
    ms_log_set_level(MS_LOG_DEBUG);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    ms_log_set_fd(2);
    ms_log_set_level(MS_LOG_INFO);
    close(pipe_fds[0]);
    close(pipe_fds[1]);
    return 0;
}

/* Reads what is in the pipe (non-blocking) into buf, NUL-terminated; returns the length. */
static size_t drain(char *buf, size_t cap)
{
    size_t got = 0;
    for (;;) {
        ssize_t r = read(pipe_fds[0], buf + got, cap - 1 - got);
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    buf[got] = '\0';
    return got;
}

static void test_writes_key_value_line(void **state)
{
    (void)state;
    char buf[4096];
    ms_log(MS_LOG_INFO, "test", "event=put_done size_bytes=%d", 42);
    size_t n = drain(buf, sizeof(buf));
    assert_true(n > 0);
    assert_int_equal(strncmp(buf, "ts=", 3), 0);
    assert_non_null(strstr(buf, " level=info sub=test event=put_done size_bytes=42\n"));
    /* Exactly one line. */
    assert_ptr_equal(strchr(buf, '\n'), buf + n - 1);
}

static int evaluated;

static int count_evaluation(void)
{
    evaluated++;
    return evaluated;
}

static void test_level_filtering(void **state)
{
    (void)state;
    char buf[4096];
    ms_log_set_level(MS_LOG_WARN);
    evaluated = 0;
    ms_log(MS_LOG_INFO, "test", "event=hidden n=%d", count_evaluation());
    ms_log(MS_LOG_DEBUG, "test", "event=hidden n=%d", count_evaluation());
    assert_int_equal(drain(buf, sizeof(buf)), 0);
    assert_int_equal(evaluated, 0); /* arguments of a filtered line are not evaluated */
    ms_log(MS_LOG_WARN, "test", "event=shown n=%d", count_evaluation());
    ms_log(MS_LOG_ERROR, "test", "event=shown2");
    drain(buf, sizeof(buf));
    assert_int_equal(evaluated, 1);
    assert_non_null(strstr(buf, "level=warn sub=test event=shown n=1\n"));
    assert_non_null(strstr(buf, "level=error sub=test event=shown2\n"));
    ms_log_set_level(MS_LOG_OFF);
    ms_log(MS_LOG_ERROR, "test", "event=off");
    assert_int_equal(drain(buf, sizeof(buf)), 0);
    ms_log_set_level(MS_LOG_DEBUG);
}

static void test_long_line_truncated_and_marked(void **state)
{
    (void)state;
    char big[3000];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    ms_log(MS_LOG_INFO, "test", "event=big blob=%s", big);
    char buf[8192];
    size_t n = drain(buf, sizeof(buf));
    assert_true(n <= 1024);
    assert_true(n > 20);
    assert_string_equal(buf + n - strlen(" truncated=1\n"), " truncated=1\n");
    assert_ptr_equal(strchr(buf, '\n'), buf + n - 1);
}

static void test_level_parse(void **state)
{
    (void)state;
    enum ms_log_level l = MS_LOG_DEBUG;
    assert_int_equal(ms_log_level_parse("warn", &l), 0);
    assert_int_equal(l, MS_LOG_WARN);
    assert_int_equal(ms_log_level_parse("off", &l), 0);
    assert_int_equal(l, MS_LOG_OFF);
    assert_int_equal(ms_log_level_parse("WARN", &l), -EINVAL);
    assert_int_equal(ms_log_level_parse("verbose", &l), -EINVAL);
    assert_int_equal(l, MS_LOG_OFF);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_writes_key_value_line),
        cmocka_unit_test(test_level_filtering),
        cmocka_unit_test(test_long_line_truncated_and_marked),
        cmocka_unit_test(test_level_parse),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
