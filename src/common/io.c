/*
 * io.c - the I/O port's generic layer: dispatch to the backend, in-flight accounting, request
 * validation, and the synchronous helpers (pwrite_all, pread_all, fdatasync, fsync,
 * open_direct) built on submit + wait.
 *
 * Invariant: io->inflight == requests accepted by submit - completions returned by wait. The
 * helpers need inflight == 0 on entry (their wait would otherwise reap a caller's completion),
 * which is asserted. Requests are validated here once, so backends see only well-formed ones
 * (op known, len <= MS_IO_LEN_MAX, buf set when len > 0, buf_index >= -1); a backend still
 * checks buf_index against its own registered table.
 */
#include "common/io.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>

#include "common/log.h"
#include "common/ms_assert.h"

/* user_data of the helpers' own requests (any value works: the port is idle). */
#define IO_HELPER_TAG 0x6d732d696f2d6877ull

static bool io_req_is_valid(const struct ms_io_req *r)
{
    MS_ASSERT(r != NULL);
    if (r->op != MS_IO_NOP && r->op != MS_IO_READ && r->op != MS_IO_WRITE &&
        r->op != MS_IO_FSYNC && r->op != MS_IO_FDATASYNC)
        return false;
    if ((r->flags & ~MS_IO_LINK) != 0 || r->buf_index < -1)
        return false;
    if (r->op == MS_IO_READ || r->op == MS_IO_WRITE) {
        if (r->len > MS_IO_LEN_MAX || (r->len > 0 && r->buf == NULL) || r->fd < 0)
            return false;
        if (r->offset > (uint64_t)INT64_MAX - r->len)
            return false;
    }
    if ((r->op == MS_IO_FSYNC || r->op == MS_IO_FDATASYNC) && r->fd < 0)
        return false;
    MS_ASSERT(r->op <= MS_IO_FDATASYNC);
    return true;
}

const char *ms_io_name(const struct ms_io *io)
{
    MS_ASSERT(io != NULL);
    return io->ops->name;
}

void ms_io_destroy(struct ms_io *io)
{
    if (io == NULL)
        return;
    MS_ASSERT(io->ops != NULL && io->ops->destroy != NULL);
    io->ops->destroy(io);
}

int ms_io_submit(struct ms_io *io, const struct ms_io_req *reqs, unsigned n)
{
    MS_ASSERT(io != NULL);
    MS_ASSERT(reqs != NULL && n >= 1);
    for (unsigned i = 0; i < n; i++)
        if (!io_req_is_valid(&reqs[i]))
            return -EINVAL;
    int rc = io->ops->submit(io, reqs, n);
    MS_ASSERT(rc != 0 && rc <= (int)n);
    if (rc > 0)
        io->inflight += (unsigned)rc;
    return rc;
}

int ms_io_wait(struct ms_io *io, struct ms_io_cqe *cqes, unsigned max, unsigned min_complete,
               int timeout_ms)
{
    MS_ASSERT(io != NULL);
    MS_ASSERT(cqes != NULL && max >= 1);
    if (min_complete > max)
        min_complete = max;
    if (min_complete > io->inflight)
        min_complete = io->inflight;
    int rc = io->ops->wait(io, cqes, max, min_complete, timeout_ms);
    MS_ASSERT(rc <= (int)max);
    if (rc > 0) {
        MS_ASSERT((unsigned)rc <= io->inflight);
        io->inflight -= (unsigned)rc;
    }
    return rc;
}

int ms_io_register_buffers(struct ms_io *io, const struct iovec *iov, unsigned n)
{
    MS_ASSERT(io != NULL);
    MS_ASSERT(iov != NULL || n == 0);
    if (n == 0)
        return -EINVAL;
    return io->ops->register_buffers(io, iov, n);
}

int ms_io_unregister_buffers(struct ms_io *io)
{
    MS_ASSERT(io != NULL);
    MS_ASSERT(io->inflight == 0);
    return io->ops->unregister_buffers(io);
}

/* Submits one request on an idle port and waits for its completion. Returns res. */
static int io_run_one(struct ms_io *io, const struct ms_io_req *req)
{
    MS_ASSERT(io->inflight == 0);
    int rc;
    do {
        rc = ms_io_submit(io, req, 1);
    } while (rc == -EINTR);
    if (rc < 0)
        return rc;
    struct ms_io_cqe cqe = {0};
    do {
        rc = ms_io_wait(io, &cqe, 1, 1, -1);
    } while (rc == -EINTR || rc == 0);
    if (rc < 0)
        return rc;
    MS_ASSERT(cqe.user_data == req->user_data);
    MS_ASSERT(io->inflight == 0);
    return cqe.res;
}

int ms_io_pwrite_all(struct ms_io *io, int fd, const void *buf, size_t len, uint64_t offset)
{
    MS_ASSERT(io != NULL);
    MS_ASSERT(buf != NULL || len == 0);
    const uint8_t *p = buf;
    size_t done = 0;
    while (done < len) {
        size_t chunk = len - done < MS_IO_LEN_MAX ? len - done : MS_IO_LEN_MAX;
        struct ms_io_req r = {.op = MS_IO_WRITE, .fd = fd, .buf_index = -1,
                              .buf = (void *)(p + done), .len = chunk,
                              .offset = offset + done, .user_data = IO_HELPER_TAG};
        int res = io_run_one(io, &r);
        if (res == -EINTR || res == -EAGAIN)
            continue;
        if (res < 0)
            return res;
        if (res == 0)
            return -EIO;
        MS_ASSERT((size_t)res <= chunk);
        done += (size_t)res;
    }
    MS_ASSERT(done == len);
    return 0;
}

int ms_io_pread_all(struct ms_io *io, int fd, void *buf, size_t len, uint64_t offset,
                    size_t *got)
{
    MS_ASSERT(io != NULL);
    MS_ASSERT(buf != NULL || len == 0);
    uint8_t *p = buf;
    size_t done = 0;
    while (done < len) {
        size_t chunk = len - done < MS_IO_LEN_MAX ? len - done : MS_IO_LEN_MAX;
        struct ms_io_req r = {.op = MS_IO_READ, .fd = fd, .buf_index = -1, .buf = p + done,
                              .len = chunk, .offset = offset + done,
                              .user_data = IO_HELPER_TAG};
        int res = io_run_one(io, &r);
        if (res == -EINTR || res == -EAGAIN)
            continue;
        if (res < 0)
            return res;
        if (res == 0)
            break; /* end of file */
        MS_ASSERT((size_t)res <= chunk);
        done += (size_t)res;
    }
    MS_ASSERT(done <= len);
    if (got != NULL)
        *got = done;
    else if (done < len)
        return -MEDSTORE_ETRUNCATED;
    return 0;
}

static int io_sync_fd(struct ms_io *io, int fd, enum ms_io_op op)
{
    MS_ASSERT(io != NULL);
    MS_ASSERT(op == MS_IO_FSYNC || op == MS_IO_FDATASYNC);
    struct ms_io_req r = {.op = op, .fd = fd, .buf_index = -1, .user_data = IO_HELPER_TAG};
    int res;
    do {
        res = io_run_one(io, &r);
    } while (res == -EINTR);
    return res < 0 ? res : 0;
}

int ms_io_fdatasync(struct ms_io *io, int fd)
{
    return io_sync_fd(io, fd, MS_IO_FDATASYNC);
}

int ms_io_fsync(struct ms_io *io, int fd)
{
    return io_sync_fd(io, fd, MS_IO_FSYNC);
}

int ms_io_open(struct ms_io *io, int dirfd, const char *name, int flags, mode_t mode)
{
    MS_ASSERT(io != NULL);
    MS_ASSERT(name != NULL && name[0] != '\0');
    int fd = io->ops->open(io, dirfd, name, flags | O_CLOEXEC, mode);
    MS_ASSERT(fd > -4096);
    return fd;
}

int ms_io_open_direct(struct ms_io *io, int dirfd, const char *name, int flags, mode_t mode,
                      bool *direct)
{
    static atomic_bool fallback_logged;
    MS_ASSERT(io != NULL);
    MS_ASSERT(direct != NULL);
    bool excl = (flags & (O_CREAT | O_EXCL)) == (O_CREAT | O_EXCL);
    struct stat st;
    bool existed = excl && fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
    int fd = ms_io_open(io, dirfd, name, flags | O_DIRECT, mode);
    if (fd != -EINVAL) {
        *direct = fd >= 0;
        return fd;
    }
    /* Some kernels create the file before refusing O_DIRECT: then O_EXCL would now fail
     * although the name is ours, so reopen it without O_EXCL. */
    if (excl && !existed && fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0)
        flags &= ~O_EXCL;
    fd = ms_io_open(io, dirfd, name, flags & ~O_DIRECT, mode);
    if (fd >= 0 && !atomic_exchange(&fallback_logged, true))
        ms_log(MS_LOG_WARN, "io",
               "event=odirect_unsupported fallback=buffered backend=%s", io->ops->name);
    *direct = false;
    return fd;
}

int ms_io_close(struct ms_io *io, int fd)
{
    MS_ASSERT(io != NULL);
    MS_ASSERT(fd >= 0);
    return io->ops->close(io, fd);
}

int ms_io_renameat(struct ms_io *io, int olddirfd, const char *oldname, int newdirfd,
                   const char *newname)
{
    MS_ASSERT(io != NULL);
    MS_ASSERT(oldname != NULL && newname != NULL);
    return io->ops->renameat(io, olddirfd, oldname, newdirfd, newname);
}

int ms_io_unlinkat(struct ms_io *io, int dirfd, const char *name, int flags)
{
    MS_ASSERT(io != NULL);
    MS_ASSERT(name != NULL && name[0] != '\0');
    return io->ops->unlinkat(io, dirfd, name, flags);
}

int ms_io_fsync_dir(struct ms_io *io, int dirfd)
{
    MS_ASSERT(io != NULL);
    MS_ASSERT(dirfd >= 0);
    return io->ops->fsync_dir(io, dirfd);
}

int ms_io_ftruncate(struct ms_io *io, int fd, uint64_t size)
{
    MS_ASSERT(io != NULL);
    MS_ASSERT(fd >= 0);
    if (size > (uint64_t)INT64_MAX)
        return -EINVAL;
    return io->ops->ftruncate(io, fd, size);
}

int ms_io_fallocate(struct ms_io *io, int fd, int mode, uint64_t offset, uint64_t len)
{
    MS_ASSERT(io != NULL);
    MS_ASSERT(fd >= 0);
    if (len == 0 || offset > (uint64_t)INT64_MAX || len > (uint64_t)INT64_MAX - offset)
        return -EINVAL;
    return io->ops->fallocate(io, fd, mode, offset, len);
}

int ms_io_fstat(struct ms_io *io, int fd, struct stat *st)
{
    MS_ASSERT(io != NULL);
    MS_ASSERT(st != NULL);
    return io->ops->fstat(io, fd, st);
}
