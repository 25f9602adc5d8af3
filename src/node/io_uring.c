/*
 * io_uring.c - the io_uring backend of the I/O port (io_uring_backend.h, common/io.h): the
 * only file in medstore that calls io_uring_* (liburing 2.3).
 *
 * One ring per port. ms_io_submit() turns each request into one SQE (READ/WRITE, or
 * READ_FIXED/WRITE_FIXED when it names a registered buffer; FSYNC, with
 * IORING_FSYNC_DATASYNC for fdatasync; NOP), sets IOSQE_IO_LINK for MS_IO_LINK, and submits
 * the whole batch with one io_uring_enter. The kernel resolves link chains (an error or a
 * short transfer cancels the rest with -ECANCELED, as io.h promises).
 *
 * Invariants:
 *  - in flight (base.inflight) <= cq_cap = the CQ ring's size, so completions can never
 *    overflow the CQ: submit accepts whole chains only while they fit, else -EAGAIN;
 *  - every accepted SQE is submitted, now or (after -EAGAIN/-EBUSY/-EINTR from the kernel)
 *    at the next submit or wait; `unsubmitted` counts those left in the SQ ring;
 *  - a request naming a registered buffer lies inside it (checked at submit: -EINVAL).
 * Registered buffers: the total must fit ms_io_uring_memlock_budget() (RLIMIT_MEMLOCK minus
 * a reserve for secrets), else -ENOMEM without asking the kernel; the size registered is
 * logged. Namespace operations are plain syscalls: they are rare and io_uring gains nothing.
 * Thread safety: one thread per port.
 */
#include "node/io_uring_backend.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <liburing.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/io_cq_int.h"
#include "common/log.h"
#include "common/ms_assert.h"

struct io_ur {
    struct ms_io base; /* first: io_ur_of() casts */
    struct io_uring ring;
    unsigned cq_cap;      /* CQ entries: the in-flight limit */
    unsigned unsubmitted; /* SQEs prepared but not yet taken by the kernel */
    struct iovec *bufs;   /* registered table (copy), or NULL */
    unsigned nbufs;
};

static const struct ms_io_ops io_ur_ops;

static struct io_ur *io_ur_of(struct ms_io *io)
{
    MS_ASSERT(io != NULL && io->ops == &io_ur_ops);
    return (struct io_ur *)io;
}

static void io_ur_check(const struct io_ur *u)
{
    MS_DASSERT(u->base.inflight <= u->cq_cap);
    MS_DASSERT(u->unsubmitted <= u->base.inflight);
    MS_DASSERT((u->bufs == NULL) == (u->nbufs == 0));
    (void)u; /* release builds compile the checks out */
}

/* ---- submission -------------------------------------------------------------------------- */

static void io_ur_prep(struct io_uring_sqe *sqe, const struct ms_io_req *r)
{
    MS_ASSERT(sqe != NULL && r != NULL);
    MS_ASSERT(r->len <= MS_IO_LEN_MAX); /* fits the SQE's 32-bit length */
    switch (r->op) {
    case MS_IO_NOP:
        io_uring_prep_nop(sqe);
        break;
    case MS_IO_READ:
        if (r->buf_index >= 0)
            io_uring_prep_read_fixed(sqe, r->fd, r->buf, (unsigned)r->len, r->offset,
                                     r->buf_index);
        else
            io_uring_prep_read(sqe, r->fd, r->buf, (unsigned)r->len, r->offset);
        break;
    case MS_IO_WRITE:
        if (r->buf_index >= 0)
            io_uring_prep_write_fixed(sqe, r->fd, r->buf, (unsigned)r->len, r->offset,
                                      r->buf_index);
        else
            io_uring_prep_write(sqe, r->fd, r->buf, (unsigned)r->len, r->offset);
        break;
    case MS_IO_FSYNC:
        io_uring_prep_fsync(sqe, r->fd, 0);
        break;
    case MS_IO_FDATASYNC:
        io_uring_prep_fsync(sqe, r->fd, IORING_FSYNC_DATASYNC);
        break;
    }
    if (r->flags & MS_IO_LINK)
        sqe->flags |= IOSQE_IO_LINK;
    io_uring_sqe_set_data64(sqe, r->user_data);
}

/* Hands the prepared SQEs to the kernel. Transient refusals (-EAGAIN: kernel short of
 * memory, -EBUSY: completions pending, -EINTR) leave them queued for the next call. */
static int io_ur_flush(struct io_ur *u)
{
    MS_ASSERT(u->unsubmitted <= u->base.inflight + u->cq_cap);
    while (u->unsubmitted > 0) {
        int rc = io_uring_submit(&u->ring);
        if (rc == -EAGAIN || rc == -EBUSY || rc == -EINTR)
            return 0;
        if (rc < 0) {
            ms_log(MS_LOG_ERROR, "io_uring", "event=submit_failed code=%s", ms_err_name(rc));
            return rc;
        }
        if (rc == 0)
            return 0;
        MS_ASSERT((unsigned)rc <= u->unsubmitted);
        u->unsubmitted -= (unsigned)rc;
    }
    return 0;
}

static int io_ur_submit(struct ms_io *io, const struct ms_io_req *reqs, unsigned n)
{
    struct io_ur *u = io_ur_of(io);
    io_ur_check(u);
    for (unsigned i = 0; i < n; i++)
        if (!io_req_buf_ok(u->bufs, u->nbufs, &reqs[i]))
            return -EINVAL;
    unsigned room = u->cq_cap - u->base.inflight;
    unsigned sq_room = io_uring_sq_space_left(&u->ring);
    unsigned take = io_chain_fit(reqs, n, room < sq_room ? room : sq_room);
    if (take == 0) {
        int rc = io_ur_flush(u); /* make SQ room for the next try */
        return rc < 0 ? rc : -EAGAIN;
    }
    for (unsigned i = 0; i < take; i++) {
        struct io_uring_sqe *sqe = io_uring_get_sqe(&u->ring);
        MS_ASSERT(sqe != NULL); /* sq_space_left said there was room */
        io_ur_prep(sqe, &reqs[i]);
    }
    u->unsubmitted += take;
    MS_ASSERT(u->base.inflight + take <= u->cq_cap);
    int rc = io_ur_flush(u);
    if (rc < 0)
        ms_log(MS_LOG_WARN, "io_uring", "event=submit_deferred queued=%u", u->unsubmitted);
    return (int)take;
}

/* ---- completion -------------------------------------------------------------------------- */

/* Moves up to max ready completions into cqes. */
static unsigned io_ur_reap(struct io_ur *u, struct ms_io_cqe *cqes, unsigned max)
{
    unsigned n = 0;
    struct io_uring_cqe *cqe;
    while (n < max && io_uring_peek_cqe(&u->ring, &cqe) == 0 && cqe != NULL) {
        cqes[n].user_data = io_uring_cqe_get_data64(cqe);
        cqes[n].res = cqe->res;
        io_uring_cqe_seen(&u->ring, cqe);
        n++;
    }
    MS_ASSERT(n <= max);
    return n;
}

static int io_ur_wait(struct ms_io *io, struct ms_io_cqe *cqes, unsigned max,
                      unsigned min_complete, int timeout_ms)
{
    struct io_ur *u = io_ur_of(io);
    io_ur_check(u);
    MS_ASSERT(min_complete <= u->base.inflight);
    int rc = io_ur_flush(u);
    if (rc < 0)
        return rc;
    unsigned got = io_ur_reap(u, cqes, max);
    if (got >= min_complete || timeout_ms == 0)
        return (int)got;
    struct __kernel_timespec ts = {.tv_sec = timeout_ms / 1000,
                                   .tv_nsec = (long long)(timeout_ms % 1000) * 1000000};
    struct io_uring_cqe *cqe = NULL;
    rc = io_uring_wait_cqes(&u->ring, &cqe, min_complete - got, timeout_ms < 0 ? NULL : &ts,
                            NULL);
    if (rc < 0 && rc != -ETIME && rc != -EINTR)
        return got > 0 ? (int)got : rc;
    got += io_ur_reap(u, cqes + got, max - got);
    if (rc == -EINTR && got == 0)
        return -EINTR;
    MS_ASSERT(got <= max && got <= u->base.inflight);
    return (int)got;
}

/* ---- registered buffers ------------------------------------------------------------------ */

/* True when the process has CAP_IPC_LOCK in its effective set. */
static bool io_ur_has_ipc_lock(void)
{
    struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
    struct __user_cap_data_struct data[2];
    memset(data, 0, sizeof(data));
    if (syscall(SYS_capget, &hdr, data) != 0)
        return false;
    return (data[CAP_IPC_LOCK / 32].effective & (1u << (CAP_IPC_LOCK % 32))) != 0;
}

size_t ms_io_uring_memlock_budget(void)
{
    struct rlimit rl;
    if (io_ur_has_ipc_lock())
        return SIZE_MAX;
    if (getrlimit(RLIMIT_MEMLOCK, &rl) != 0)
        return 0;
    if (rl.rlim_cur == RLIM_INFINITY)
        return SIZE_MAX;
    if (rl.rlim_cur <= MS_IO_URING_MEMLOCK_RESERVE)
        return 0;
    size_t budget = (size_t)rl.rlim_cur - MS_IO_URING_MEMLOCK_RESERVE;
    MS_ASSERT(budget < (size_t)rl.rlim_cur);
    return budget;
}

static int io_ur_register(struct ms_io *io, const struct iovec *iov, unsigned n)
{
    struct io_ur *u = io_ur_of(io);
    MS_ASSERT(iov != NULL && n > 0);
    if (u->bufs != NULL)
        return -EBUSY;
    size_t total = 0;
    for (unsigned i = 0; i < n; i++) {
        if (iov[i].iov_len > SIZE_MAX - total)
            return -ENOMEM;
        total += iov[i].iov_len;
    }
    size_t budget = ms_io_uring_memlock_budget();
    if (total > budget) {
        ms_log(MS_LOG_WARN, "io_uring", "event=register_refused bytes=%zu budget_bytes=%zu",
               total, budget);
        return -ENOMEM;
    }
    struct iovec *copy = calloc(n, sizeof(*copy));
    if (copy == NULL)
        return -ENOMEM;
    int rc = io_uring_register_buffers(&u->ring, iov, n);
    if (rc < 0) {
        free(copy);
        ms_log(MS_LOG_WARN, "io_uring", "event=register_failed bytes=%zu code=%s", total,
               ms_err_name(rc));
        return rc == -EFAULT || rc == -EOVERFLOW ? -ENOMEM : rc;
    }
    memcpy(copy, iov, n * sizeof(*copy));
    u->bufs = copy;
    u->nbufs = n;
    MS_ASSERT(total <= budget);
    ms_log(MS_LOG_INFO, "io_uring", "event=buffers_registered count=%u bytes=%zu", n, total);
    return 0;
}

static int io_ur_unregister(struct ms_io *io)
{
    struct io_ur *u = io_ur_of(io);
    if (u->bufs == NULL)
        return -ENXIO;
    int rc = io_uring_unregister_buffers(&u->ring);
    if (rc < 0)
        return rc;
    free(u->bufs);
    u->bufs = NULL;
    u->nbufs = 0;
    return 0;
}

/* ---- namespace operations: plain syscalls ------------------------------------------------ */

static int io_ur_open(struct ms_io *io, int dirfd, const char *name, int flags, mode_t mode)
{
    (void)io_ur_of(io);
    int fd = openat(dirfd, name, flags, mode);
    return fd < 0 ? -errno : fd;
}

static int io_ur_close(struct ms_io *io, int fd)
{
    (void)io_ur_of(io);
    return close(fd) == 0 ? 0 : -errno; /* never retried: Linux frees the fd regardless */
}

static int io_ur_renameat(struct ms_io *io, int olddirfd, const char *oldname, int newdirfd,
                          const char *newname)
{
    (void)io_ur_of(io);
    return renameat(olddirfd, oldname, newdirfd, newname) == 0 ? 0 : -errno;
}

static int io_ur_unlinkat(struct ms_io *io, int dirfd, const char *name, int flags)
{
    (void)io_ur_of(io);
    return unlinkat(dirfd, name, flags) == 0 ? 0 : -errno;
}

static int io_ur_fsync_dir(struct ms_io *io, int dirfd)
{
    (void)io_ur_of(io);
    return fsync(dirfd) == 0 ? 0 : -errno;
}

static int io_ur_ftruncate(struct ms_io *io, int fd, uint64_t size)
{
    (void)io_ur_of(io);
    return ftruncate(fd, (off_t)size) == 0 ? 0 : -errno;
}

static int io_ur_fallocate(struct ms_io *io, int fd, int mode, uint64_t offset, uint64_t len)
{
    (void)io_ur_of(io);
    return fallocate(fd, mode, (off_t)offset, (off_t)len) == 0 ? 0 : -errno;
}

static int io_ur_fstat(struct ms_io *io, int fd, struct stat *st)
{
    (void)io_ur_of(io);
    return fstat(fd, st) == 0 ? 0 : -errno;
}

/* ---- lifetime ---------------------------------------------------------------------------- */

static void io_ur_destroy(struct ms_io *io)
{
    struct io_ur *u = io_ur_of(io);
    io_ur_check(u);
    MS_ASSERT(u->unsubmitted <= u->base.inflight);
    /* Requests still in flight hold the caller's buffers: let them finish first. */
    if (u->base.inflight > 0) {
        (void)io_ur_flush(u);
        struct io_uring_cqe *cqe;
        while (u->base.inflight > 0 && io_uring_wait_cqe(&u->ring, &cqe) == 0) {
            io_uring_cqe_seen(&u->ring, cqe);
            u->base.inflight--;
        }
    }
    MS_ASSERT(u->base.inflight == 0);
    io_uring_queue_exit(&u->ring); /* also drops registered buffers */
    free(u->bufs);
    free(u);
}

static const struct ms_io_ops io_ur_ops = {
    .name = "io_uring",
    .submit = io_ur_submit,
    .wait = io_ur_wait,
    .register_buffers = io_ur_register,
    .unregister_buffers = io_ur_unregister,
    .open = io_ur_open,
    .close = io_ur_close,
    .renameat = io_ur_renameat,
    .unlinkat = io_ur_unlinkat,
    .fsync_dir = io_ur_fsync_dir,
    .ftruncate = io_ur_ftruncate,
    .fallocate = io_ur_fallocate,
    .fstat = io_ur_fstat,
    .destroy = io_ur_destroy,
};

/* Initialises ring with the best flags this kernel accepts. */
static int io_ur_init_ring(struct io_uring *ring, unsigned depth)
{
    /* SUBMIT_ALL (5.18): one bad SQE does not stop the rest of a batch; COOP_TASKRUN (5.19):
     * no interrupts to deliver completions, we reap them ourselves. Older kernels: plain. */
    static const unsigned flag_sets[] = {IORING_SETUP_SUBMIT_ALL | IORING_SETUP_COOP_TASKRUN,
                                         IORING_SETUP_SUBMIT_ALL, 0};
    int rc = -EINVAL;
    for (size_t i = 0; i < MS_ARRAY_LEN(flag_sets); i++) {
        rc = io_uring_queue_init(depth, ring, flag_sets[i]);
        if (rc != -EINVAL)
            break;
    }
    return rc;
}

int ms_io_uring_create(unsigned queue_depth, struct ms_io **out)
{
    MS_ASSERT(out != NULL);
    if (queue_depth < MS_IO_URING_DEPTH_MIN || queue_depth > MS_IO_URING_DEPTH_MAX)
        return -EINVAL;
    struct io_ur *u = calloc(1, sizeof(*u));
    if (u == NULL)
        return -ENOMEM;
    int rc = io_ur_init_ring(&u->ring, queue_depth);
    if (rc < 0) {
        free(u);
        return rc;
    }
    u->cq_cap = u->ring.cq.ring_entries;
    u->base.ops = &io_ur_ops;
    io_ur_check(u);
    MS_ASSERT(u->cq_cap >= queue_depth);
    *out = &u->base;
    return 0;
}

int ms_io_uring_probe(void)
{
    struct io_uring ring;
    int rc = io_uring_queue_init(2, &ring, 0);
    if (rc < 0)
        return rc;
    struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
    MS_ASSERT(sqe != NULL);
    MS_ASSERT(io_uring_sq_ready(&ring) == 1);
    io_uring_prep_nop(sqe);
    io_uring_sqe_set_data64(sqe, 42);
    rc = io_uring_submit(&ring);
    struct io_uring_cqe *cqe = NULL;
    if (rc == 1)
        rc = io_uring_wait_cqe(&ring, &cqe);
    else if (rc >= 0)
        rc = -EIO;
    if (rc == 0) {
        rc = (cqe->res == 0 && io_uring_cqe_get_data64(cqe) == 42) ? 0 : -EIO;
        io_uring_cqe_seen(&ring, cqe);
    }
    io_uring_queue_exit(&ring);
    return rc;
}
