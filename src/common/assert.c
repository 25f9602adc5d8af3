/*
 * assert.c - failure paths of MS_ASSERT and MS_CORRUPT.
 */
#include "common/ms_assert.h"

#include <execinfo.h>
#include <stdlib.h>
#include <unistd.h>

#include "common/log.h"

void ms_assert_fail(const char *expr, const char *file, int line)
{
    ms_log_emit(MS_LOG_ERROR, "assert", "event=assert_failed expr=\"%s\" at=%s:%d", expr, file,
                line);
    void *frames[32];
    int n = backtrace(frames, 32);
    backtrace_symbols_fd(frames, n, 2);
    abort();
}

int ms_corrupt_at(const char *file, int line)
{
    ms_log_emit(MS_LOG_WARN, "corrupt", "event=corruption_detected at=%s:%d", file, line);
    return MEDSTORE_ECORRUPT;
}
