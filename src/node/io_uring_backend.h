/*
 * io_uring_backend.h - the io_uring backend of the I/O port (common/io.h), for the node.
 *
 * src/node/io_uring.c is the only file in medstore that calls io_uring_* (liburing 2.3): one
 * ring per struct ms_io, READ/WRITE (READ_FIXED/WRITE_FIXED on registered buffers), FSYNC
 * with IORING_FSYNC_DATASYNC for fdatasync, IOSQE_IO_LINK for MS_IO_LINK. Everything else
 * uses the port through io.h.
 *
 * Registered buffers are locked memory, charged to RLIMIT_MEMLOCK unless the process has
 * CAP_IPC_LOCK (DESIGN.md "Facts of this platform"); ms_io_uring_memlock_budget() says how
 * much a caller may register, and ms_io_register_buffers() refuses more with -ENOMEM so the
 * caller falls back to unregistered buffers.
 */
#ifndef MS_NODE_IO_URING_BACKEND_H
#define MS_NODE_IO_URING_BACKEND_H

#include <stddef.h>

#include "common/err.h"
#include "common/io.h"

/* Locked memory kept free for secrets (sodium_malloc mlocks them under the same limit). */
#define MS_IO_URING_MEMLOCK_RESERVE ((size_t)1 << 20)

/* Queue depth bounds accepted by ms_io_uring_create(). */
#define MS_IO_URING_DEPTH_MIN 1u
#define MS_IO_URING_DEPTH_MAX 4096u

/* Creates an io_uring port with a submission queue of queue_depth entries (the completion
 * queue is twice that; at most that many requests are in flight, so completions can never
 * overflow). Returns 0 and sets *out (caller owns, ms_io_destroy()), or -EINVAL (depth out
 * of bounds), -ENOMEM, -ENOSYS / -EPERM (no io_uring in this kernel or sandbox).
 * Thread safety: one thread per port (io.h). */
MS_MUST_CHECK int ms_io_uring_create(unsigned queue_depth, struct ms_io **out);

/* Returns 0 when io_uring works here (a ring is created and a NOP completes), else -errno.
 * Tests skip (exit 77) on failure, or fail under CI=true (STYLE.md section 9). */
MS_MUST_CHECK int ms_io_uring_probe(void);

/* Bytes of buffers this process may register: RLIMIT_MEMLOCK minus
 * MS_IO_URING_MEMLOCK_RESERVE (0 when the limit is below the reserve), or SIZE_MAX when the
 * limit is infinite or the process has CAP_IPC_LOCK. */
size_t ms_io_uring_memlock_budget(void);

#endif
