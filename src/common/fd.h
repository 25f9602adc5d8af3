/*
 * fd.h - small helpers on plain file descriptors, for the startup-time readers of src/common
 * (config files, key files) that do not go through the io port.
 *
 * Thread safety: each call uses only its own arguments; concurrent calls on one fd race as
 * read(2) does.
 */
#ifndef MS_COMMON_FD_H
#define MS_COMMON_FD_H

#include <stddef.h>
#include <sys/types.h>

#include "common/err.h"

/* Reads from fd into buf until cap bytes are in or end of file, retrying on EINTR. Returns
 * the count read (< cap only at end of file; give cap one more than the largest size
 * accepted to detect a larger file), or -errno of the failing read (what was read is then
 * in buf but not counted). buf is borrowed for the call; fd stays open. */
MS_MUST_CHECK ssize_t ms_fd_read_full(int fd, void *buf, size_t cap);

#endif
