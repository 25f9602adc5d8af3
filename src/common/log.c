/*
 * log.c - key=value log lines on stderr (or a test's fd), one write(2) per line.
 *
 * Lines longer than the buffer are truncated and marked "truncated=1" rather than split, so a
 * reader never sees half of one event glued to another.
 */
#include "common/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum ms_log_level ms_log_threshold = MS_LOG_INFO;
static int log_fd = 2;

static const char *const level_names[] = {"debug", "info", "warn", "error", "off"};

void ms_log_set_level(enum ms_log_level level)
{
    ms_log_threshold = level;
}

int ms_log_level_parse(const char *name, enum ms_log_level *out)
{
    for (unsigned i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
        if (strcmp(name, level_names[i]) == 0) {
            *out = (enum ms_log_level)i;
            return 0;
        }
    }
    return -EINVAL;
}

void ms_log_set_fd(int fd)
{
    log_fd = fd;
}

void ms_log_emit(enum ms_log_level level, const char *subsystem, const char *fmt, ...)
{
    char line[1024];
    struct timespec ts;
    struct tm tm;
    /* Wall-clock time for humans; ordering inside the process uses ms_clock. */
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    int n = snprintf(line, sizeof(line), "ts=%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ level=%s sub=%s ",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                     tm.tm_sec, ts.tv_nsec / 1000000L,
                     level_names[level <= MS_LOG_ERROR ? level : MS_LOG_ERROR], subsystem);
    if (n < 0)
        return;
    size_t used = (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1;
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + used, sizeof(line) - used, fmt, ap);
    va_end(ap);
    static const char trunc[] = " truncated=1";
    if (m < 0)
        m = 0;
    if (used + (size_t)m >= sizeof(line) - 1) {
        used = sizeof(line) - sizeof(trunc) - 1;
        memcpy(line + used, trunc, sizeof(trunc) - 1);
        used += sizeof(trunc) - 1;
    } else {
        used += (size_t)m;
    }
    line[used++] = '\n';
    ssize_t w;
    do {
        w = write(log_fd, line, used);
    } while (w < 0 && errno == EINTR);
}
