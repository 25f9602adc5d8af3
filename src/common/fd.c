/*
 * fd.c - plain file descriptor helpers (fd.h). One read loop for config.c and secret.c, which
 * each had a copy: read(2) may return short counts and EINTR, and both callers want "all of
 * it, up to a cap" with the cap + 1 trick to detect files over their limit.
 */
#include "common/fd.h"

#include <errno.h>
#include <stdint.h>
#include <unistd.h>

#include "common/ms_assert.h"

ssize_t ms_fd_read_full(int fd, void *buf, size_t cap)
{
    MS_ASSERT(fd >= 0);
    MS_ASSERT(buf != NULL);
    uint8_t *p = buf;
    size_t got = 0;
    while (got < cap) {
        ssize_t r = read(fd, p + got, cap - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -errno;
        if (r == 0)
            break;
        got += (size_t)r;
    }
    MS_ASSERT(got <= cap);
    return (ssize_t)got;
}
