/*
 * io_sync.c - the synchronous backend of the I/O port.
 *
 * Each request runs inside ms_io_submit() (pread, pwrite, fsync, fdatasync) and its completion
 * goes into a fixed ring of MS_IO_SYNC_QUEUE_DEPTH entries that ms_io_wait() drains, so the
 * caller sees the same submit/complete protocol as with io_uring. Nothing is allocated after
 * creation except the registered-buffer table.
 *
 * Invariants: 0 <= count <= MS_IO_SYNC_QUEUE_DEPTH; count == base.inflight between calls
 * (every accepted request has its completion queued at once). A link chain is accepted whole
 * or not at all; after a request of a chain fails (or is short) the rest complete -ECANCELED,
 * as io_uring does. Registered buffers are only bookkeeping here: a request naming one must
 * lie inside it, which catches caller bugs the io_uring backend would report as -EFAULT.
 *
 * Thread safety: one thread per handle (io.h).
 */
#include "common/io.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "common/io_cq_int.h"
#include "common/ms_assert.h"

struct io_sync {
    struct ms_io base; /* first: io_sync_of() casts */
    struct io_cq cq;
    struct iovec *bufs;
    unsigned nbufs;
};

static struct io_sync *io_sync_of(struct ms_io *io)
{
    MS_ASSERT(io != NULL);
    return (struct io_sync *)io;
}

static void io_sync_check(const struct io_sync *s)
{
    MS_DASSERT(s->cq.count <= MS_IO_SYNC_QUEUE_DEPTH);
    MS_DASSERT(s->cq.head < MS_IO_SYNC_QUEUE_DEPTH);
    MS_DASSERT(s->cq.count == s->base.inflight);
    (void)s; /* release builds compile the checks out */
}

/* Runs one request; returns the completion's res. */
static int io_sync_exec(const struct ms_io_req *r)
{
    MS_ASSERT(r != NULL);
    ssize_t n;
    switch (r->op) {
    case MS_IO_NOP:
        return 0;
    case MS_IO_READ:
        do {
            n = pread(r->fd, r->buf, r->len, (off_t)r->offset);
        } while (n < 0 && errno == EINTR);
        break;
    case MS_IO_WRITE:
        do {
            n = pwrite(r->fd, r->buf, r->len, (off_t)r->offset);
        } while (n < 0 && errno == EINTR);
        break;
    case MS_IO_FSYNC:
        n = fsync(r->fd);
        break;
    case MS_IO_FDATASYNC:
        n = fdatasync(r->fd);
        break;
    default:
        MS_ASSERT(!"unknown op");
        return -EINVAL;
    }
    MS_ASSERT(n <= (ssize_t)MS_IO_LEN_MAX);
    return n < 0 ? -errno : (int)n;
}

static int io_sync_submit(struct ms_io *io, const struct ms_io_req *reqs, unsigned n)
{
    struct io_sync *s = io_sync_of(io);
    io_sync_check(s);
    for (unsigned i = 0; i < n; i++)
        if (!io_req_buf_ok(s->bufs, s->nbufs, &reqs[i]))
            return -EINVAL;
    unsigned take = io_chain_fit(reqs, n, MS_IO_SYNC_QUEUE_DEPTH - s->cq.count);
    if (take == 0)
        return -EAGAIN;
    bool cancel = false;
    for (unsigned i = 0; i < take; i++) {
        int res = cancel ? -ECANCELED : io_sync_exec(&reqs[i]);
        io_cq_push(&s->cq, reqs[i].user_data, res);
        if (!(reqs[i].flags & MS_IO_LINK))
            cancel = false;
        else if (!cancel && !io_req_succeeded(&reqs[i], res))
            cancel = true;
    }
    MS_ASSERT(s->cq.count <= MS_IO_SYNC_QUEUE_DEPTH);
    MS_ASSERT(take >= 1 && take <= n);
    return (int)take;
}

static int io_sync_wait(struct ms_io *io, struct ms_io_cqe *cqes, unsigned max,
                        unsigned min_complete, int timeout_ms)
{
    struct io_sync *s = io_sync_of(io);
    io_sync_check(s);
    (void)timeout_ms; /* every completion is already queued: never blocks */
    MS_ASSERT(min_complete <= s->cq.count);
    return (int)io_cq_pop(&s->cq, cqes, max);
}

static int io_sync_register(struct ms_io *io, const struct iovec *iov, unsigned n)
{
    struct io_sync *s = io_sync_of(io);
    MS_ASSERT(iov != NULL && n > 0);
    if (s->bufs != NULL)
        return -EBUSY;
    struct iovec *copy = calloc(n, sizeof(*copy));
    if (copy == NULL)
        return -ENOMEM;
    for (unsigned i = 0; i < n; i++)
        copy[i] = iov[i];
    s->bufs = copy;
    s->nbufs = n;
    return 0;
}

static int io_sync_unregister(struct ms_io *io)
{
    struct io_sync *s = io_sync_of(io);
    if (s->bufs == NULL)
        return -ENXIO;
    free(s->bufs);
    s->bufs = NULL;
    s->nbufs = 0;
    return 0;
}

static int io_sync_open(struct ms_io *io, int dirfd, const char *name, int flags, mode_t mode)
{
    (void)io;
    int fd = openat(dirfd, name, flags, mode);
    return fd < 0 ? -errno : fd;
}

static int io_sync_close(struct ms_io *io, int fd)
{
    (void)io;
    /* Linux releases the fd even when close fails; never retry (EINTR included). */
    return close(fd) == 0 ? 0 : -errno;
}

static int io_sync_renameat(struct ms_io *io, int olddirfd, const char *oldname, int newdirfd,
                            const char *newname)
{
    (void)io;
    return renameat(olddirfd, oldname, newdirfd, newname) == 0 ? 0 : -errno;
}

static int io_sync_unlinkat(struct ms_io *io, int dirfd, const char *name, int flags)
{
    (void)io;
    return unlinkat(dirfd, name, flags) == 0 ? 0 : -errno;
}

static int io_sync_fsync_dir(struct ms_io *io, int dirfd)
{
    (void)io;
    return fsync(dirfd) == 0 ? 0 : -errno;
}

static int io_sync_ftruncate(struct ms_io *io, int fd, uint64_t size)
{
    (void)io;
    return ftruncate(fd, (off_t)size) == 0 ? 0 : -errno;
}

static int io_sync_fallocate(struct ms_io *io, int fd, int mode, uint64_t offset, uint64_t len)
{
    (void)io;
    return fallocate(fd, mode, (off_t)offset, (off_t)len) == 0 ? 0 : -errno;
}

static int io_sync_fstat(struct ms_io *io, int fd, struct stat *st)
{
    (void)io;
    return fstat(fd, st) == 0 ? 0 : -errno;
}

static void io_sync_destroy(struct ms_io *io)
{
    struct io_sync *s = io_sync_of(io);
    free(s->bufs);
    free(s);
}

static const struct ms_io_ops io_sync_ops = {
    .name = "sync",
    .submit = io_sync_submit,
    .wait = io_sync_wait,
    .register_buffers = io_sync_register,
    .unregister_buffers = io_sync_unregister,
    .open = io_sync_open,
    .close = io_sync_close,
    .renameat = io_sync_renameat,
    .unlinkat = io_sync_unlinkat,
    .fsync_dir = io_sync_fsync_dir,
    .ftruncate = io_sync_ftruncate,
    .fallocate = io_sync_fallocate,
    .fstat = io_sync_fstat,
    .destroy = io_sync_destroy,
};

int ms_io_sync_create(struct ms_io **out)
{
    MS_ASSERT(out != NULL);
    struct io_sync *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return -ENOMEM;
    s->base.ops = &io_sync_ops;
    io_sync_check(s);
    *out = &s->base;
    return 0;
}
