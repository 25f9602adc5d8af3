/*
 * io.h - the I/O port: asynchronous submit/complete file I/O shaped for io_uring.
 *
 * Every byte medstore writes to or reads from a local disk goes through a struct ms_io, so tests
 * can swap the backend: the sync backend (pread/pwrite at submit time), the fault backend
 * (fails the Nth call, tears writes, simulates power loss at a sync; SQLite's test6.c is the
 * model) and, in src/node, the io_uring backend (the only file that calls io_uring_*).
 *
 *   struct ms_io_req r = {.op = MS_IO_WRITE, .fd = fd, .buf = p, .len = n, .offset = off,
 *                         .buf_index = -1, .user_data = 7};
 *   int rc = ms_io_submit(io, &r, 1);          -> 1 or -errno
 *   struct ms_io_cqe c;
 *   rc = ms_io_wait(io, &c, 1, 1, -1);         -> 1; c.res = bytes written or -errno
 *
 * Requests: READ and WRITE move len bytes at offset (a completion's res may be short: the
 * caller resubmits the rest, as ms_io_pwrite_all() does); FSYNC and FDATASYNC flush fd
 * (offset, len and buf are ignored); NOP completes with res 0. An FSYNC on a directory fd
 * (opened O_RDONLY | O_DIRECTORY) is a directory sync, the asynchronous form of
 * ms_io_fsync_dir() with the same meaning: it makes the creates, renames and unlinks in that
 * directory durable. Submitted together, several directory syncs and file syncs run
 * concurrently (io_uring hands each to its own worker), so one batch costs about one sync's
 * latency instead of their sum. Use FSYNC, not FDATASYNC, on a directory.
 * MS_IO_LINK chains a request to the next one in the same submit: the next runs only if this
 * one fully succeeds (READ/WRITE: res == len; others: res >= 0); otherwise every later request
 * of the chain completes with -ECANCELED. A chain ends at the first request without
 * MS_IO_LINK or at the end of the submit.
 *
 * Namespace operations (open, rename, unlink, directory fsync, ...) also go through the port so
 * the fault backend can undo the ones not yet made durable by a directory fsync. Names are
 * plain file names relative to a directory fd; the caller validates them (no '/', no "..").
 *
 * Errors: 0 or a count on success, -errno on failure (err.h). A dead fault port returns
 * -MEDSTORE_ECRASHED from every call.
 *
 * Thread safety: requests (ms_io_submit, ms_io_wait, the synchronous helpers built on them,
 * buffer registration) come from one thread at a time per port; the node serialises each port
 * with a lock. Namespace operations (ms_io_open, ms_io_open_direct, ms_io_close,
 * ms_io_renameat, ms_io_unlinkat, ms_io_fsync_dir, ms_io_ftruncate, ms_io_fallocate,
 * ms_io_fstat) and the fault backend's rule and crash calls may come from any thread at any
 * time, concurrently with each other and with that thread's requests: the sync and io_uring
 * backends make plain syscalls for them, the fault backend takes its own lock on every call.
 * So a slow create (a cold inode allocation) need not hold up another thread's data writes.
 * Different ms_io handles are independent.
 */
#ifndef MS_COMMON_IO_H
#define MS_COMMON_IO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "common/err.h"

/* Largest len of one READ/WRITE request (io_uring's res is an int). */
#define MS_IO_LEN_MAX ((size_t)1 << 30)

/* Completion-queue capacity of the sync and fault backends. */
#define MS_IO_SYNC_QUEUE_DEPTH 256u

enum ms_io_op {
    MS_IO_NOP = 0,
    MS_IO_READ = 1,
    MS_IO_WRITE = 2,
    MS_IO_FSYNC = 3,
    MS_IO_FDATASYNC = 4,
};

/* Request flags. */
#define MS_IO_LINK (1u << 0) /* the next request of this submit runs only if this one succeeds */

/* One request. buf_index >= 0 names a buffer registered with ms_io_register_buffers(); then
 * [buf, buf + len) must lie inside that buffer. buf_index = -1 for an ordinary buffer.
 * The buffer is borrowed: it must stay valid until the request's completion is reaped. */
struct ms_io_req {
    enum ms_io_op op;
    uint32_t flags;     /* MS_IO_LINK */
    int fd;
    int buf_index;      /* registered buffer index, or -1 */
    void *buf;          /* READ: destination; WRITE: source */
    size_t len;         /* <= MS_IO_LEN_MAX */
    uint64_t offset;    /* file offset in bytes */
    uint64_t user_data; /* returned unchanged in the completion */
};

/* One completion: res = bytes moved (READ/WRITE), 0 (others), or -errno. */
struct ms_io_cqe {
    uint64_t user_data;
    int res;
};

struct ms_io;

/* Backend operations. Backends embed struct ms_io as their first member. Callers use the
 * ms_io_* functions below, never the table directly (they keep the in-flight count). */
struct ms_io_ops {
    const char *name; /* "sync", "fault", "io_uring" */
    int (*submit)(struct ms_io *io, const struct ms_io_req *reqs, unsigned n);
    int (*wait)(struct ms_io *io, struct ms_io_cqe *cqes, unsigned max, unsigned min_complete,
                int timeout_ms);
    int (*register_buffers)(struct ms_io *io, const struct iovec *iov, unsigned n);
    int (*unregister_buffers)(struct ms_io *io);
    int (*open)(struct ms_io *io, int dirfd, const char *name, int flags, mode_t mode);
    int (*close)(struct ms_io *io, int fd);
    int (*renameat)(struct ms_io *io, int olddirfd, const char *oldname, int newdirfd,
                    const char *newname);
    int (*unlinkat)(struct ms_io *io, int dirfd, const char *name, int flags);
    int (*fsync_dir)(struct ms_io *io, int dirfd);
    int (*ftruncate)(struct ms_io *io, int fd, uint64_t size);
    int (*fallocate)(struct ms_io *io, int fd, int mode, uint64_t offset, uint64_t len);
    int (*fstat)(struct ms_io *io, int fd, struct stat *st);
    void (*destroy)(struct ms_io *io);
};

/* The handle. Fields are the port's own: read-only for callers. */
struct ms_io {
    const struct ms_io_ops *ops;
    unsigned inflight; /* requests submitted and not yet reaped */
};

/* ---- backends ---------------------------------------------------------------------------- */

/* Creates the synchronous backend: each request runs (pread/pwrite/fdatasync) inside
 * ms_io_submit() and its completion is queued for ms_io_wait(). Registered buffers are
 * accepted (the table is only used to check buf_index). Returns 0 and sets *out (caller owns,
 * ms_io_destroy()), or -ENOMEM. */
MS_MUST_CHECK int ms_io_sync_create(struct ms_io **out);

/* Releases io and everything it owns; accepts NULL. Completions not yet reaped are dropped;
 * the io_uring backend first waits for requests still in flight (they hold the caller's
 * buffers). Files are not closed. */
void ms_io_destroy(struct ms_io *io);

/* Backend name for logs ("sync", "fault", "io_uring"). Static storage. */
const char *ms_io_name(const struct ms_io *io);

/* ---- asynchronous requests --------------------------------------------------------------- */

/* Queues n requests (n >= 1). Returns the number accepted, 1..n (fewer only when the queue is
 * full; a link chain is never split), or -EAGAIN when nothing fits (reap completions first),
 * -EINVAL when a request is malformed (unknown op, len > MS_IO_LEN_MAX, bad buf_index; nothing
 * is queued), -MEDSTORE_ECRASHED on a dead fault port. Buffers are borrowed until completion. */
MS_MUST_CHECK int ms_io_submit(struct ms_io *io, const struct ms_io_req *reqs, unsigned n);

/* Copies up to max completions into cqes. Blocks until at least min_complete are available
 * (min_complete is capped at the number in flight, so it never waits for requests that were
 * not submitted) or timeout_ms passes (-1: no timeout; 0: poll). Returns the number copied
 * (fewer than min_complete only after a timeout), or -errno (-EINTR may be retried). */
MS_MUST_CHECK int ms_io_wait(struct ms_io *io, struct ms_io_cqe *cqes, unsigned max,
                             unsigned min_complete, int timeout_ms);

/* Registers n buffers for zero-copy fixed I/O (io_uring READ_FIXED/WRITE_FIXED). Requests then
 * name a buffer by buf_index. Returns 0; -ENOMEM when locked memory (RLIMIT_MEMLOCK) is short;
 * -ENOTSUP when the backend has no such thing; -EBUSY when buffers are already registered.
 * On any error the caller falls back to unregistered buffers (buf_index = -1). The iovecs'
 * memory is borrowed until ms_io_unregister_buffers() or ms_io_destroy(). */
MS_MUST_CHECK int ms_io_register_buffers(struct ms_io *io, const struct iovec *iov, unsigned n);

/* Drops the registered buffers; no request using one may be in flight. Returns 0 or -errno. */
MS_MUST_CHECK int ms_io_unregister_buffers(struct ms_io *io);

/* ---- synchronous helpers (submit + wait) ------------------------------------------------- */
/* These need an idle port: no request of the caller in flight (asserted). */

/* Writes all len bytes at offset, resubmitting after short writes. Returns 0 or -errno (a
 * zero-byte write is -EIO). On error some prefix may have been written. */
MS_MUST_CHECK int ms_io_pwrite_all(struct ms_io *io, int fd, const void *buf, size_t len,
                                   uint64_t offset);

/* Reads len bytes at offset, resubmitting after short reads, stopping at end of file.
 * Returns 0 and sets *got (< len only at end of file; got may be NULL when the caller needs
 * all len bytes, then a short file is -MEDSTORE_ETRUNCATED), or -errno. */
MS_MUST_CHECK int ms_io_pread_all(struct ms_io *io, int fd, void *buf, size_t len,
                                  uint64_t offset, size_t *got);

/* fdatasync / fsync of fd through the port. Returns 0 or -errno. */
MS_MUST_CHECK int ms_io_fdatasync(struct ms_io *io, int fd);
MS_MUST_CHECK int ms_io_fsync(struct ms_io *io, int fd);

/* ---- namespace operations ---------------------------------------------------------------- */

/* openat(dirfd, name, flags | O_CLOEXEC, mode). Returns the fd (>= 0) or -errno. A file
 * created here is durable only after a directory sync of dirfd (ms_io_fsync_dir(), or an
 * MS_IO_FSYNC request on dirfd). */
MS_MUST_CHECK int ms_io_open(struct ms_io *io, int dirfd, const char *name, int flags,
                             mode_t mode);

/* Like ms_io_open() with O_DIRECT added; when the filesystem refuses O_DIRECT (EINVAL, e.g.
 * tmpfs before Linux 6.6) it opens buffered instead, logs that once per process, and sets
 * *direct = false (true when O_DIRECT was granted). Returns the fd or -errno. */
MS_MUST_CHECK int ms_io_open_direct(struct ms_io *io, int dirfd, const char *name, int flags,
                                    mode_t mode, bool *direct);

/* close(fd). Returns 0 or -errno (the fd is released either way). */
MS_MUST_CHECK int ms_io_close(struct ms_io *io, int fd);

/* renameat(). Durable only after a directory sync of newdirfd (and of olddirfd if
 * different): ms_io_fsync_dir() or an MS_IO_FSYNC request on the directory fd. */
MS_MUST_CHECK int ms_io_renameat(struct ms_io *io, int olddirfd, const char *oldname,
                                 int newdirfd, const char *newname);

/* unlinkat(dirfd, name, flags) (flags: 0 or AT_REMOVEDIR). Durable after a directory sync
 * of dirfd (ms_io_fsync_dir() or an MS_IO_FSYNC request on dirfd). */
MS_MUST_CHECK int ms_io_unlinkat(struct ms_io *io, int dirfd, const char *name, int flags);

/* fsync() of a directory fd: makes creates, renames and unlinks in it durable. Blocks for
 * one sync; to sync several directories at once submit MS_IO_FSYNC requests on their fds
 * (same meaning, same fault-backend semantics). */
MS_MUST_CHECK int ms_io_fsync_dir(struct ms_io *io, int dirfd);

/* ftruncate(). Durable after ms_io_fsync()/ms_io_fdatasync() of fd. */
MS_MUST_CHECK int ms_io_ftruncate(struct ms_io *io, int fd, uint64_t size);

/* fallocate(fd, mode, offset, len) (mode: 0, FALLOC_FL_KEEP_SIZE, ...). Returns 0, -ENOTSUP
 * (-EOPNOTSUPP) when the filesystem lacks it, or -errno. */
MS_MUST_CHECK int ms_io_fallocate(struct ms_io *io, int fd, int mode, uint64_t offset,
                                  uint64_t len);

/* fstat(). Returns 0 and fills *st, or -errno. */
MS_MUST_CHECK int ms_io_fstat(struct ms_io *io, int fd, struct stat *st);

/* ---- fault backend (tests; STYLE.md 9) --------------------------------------------------- */

/* Operations the fault backend counts and can fail. */
enum ms_io_fault_op {
    MS_IO_FOP_READ = 0,
    MS_IO_FOP_WRITE,
    MS_IO_FOP_FSYNC,
    MS_IO_FOP_FDATASYNC,
    MS_IO_FOP_OPEN,
    MS_IO_FOP_CLOSE,
    MS_IO_FOP_RENAME,
    MS_IO_FOP_UNLINK,
    MS_IO_FOP_FSYNC_DIR, /* ms_io_fsync_dir() and MS_IO_FSYNC requests on directory fds */
    MS_IO_FOP_FTRUNCATE,
    MS_IO_FOP_FALLOCATE,
    MS_IO_FOP_FSTAT,
    MS_IO_FOP_REGISTER,
    MS_IO_FOP_COUNT,
};

/* What a simulated crash does to data written since the last sync of its file. */
enum ms_io_crash_mode {
    MS_IO_CRASH_UNDO = 0, /* restore the prior bytes and file size */
    MS_IO_CRASH_GARBLE,   /* overwrite the written range with a seeded pattern */
    MS_IO_CRASH_RANDOM,   /* per write, seeded: keep it, undo it, or garble it */
};

/* Creates a fault backend around *inner (consumed: set to NULL, destroyed with the fault port)
 * or, when inner or *inner is NULL, around a new sync backend. Requests run one at a time
 * through the inner port, so the fault port completes every request inside ms_io_submit().
 * Until its directory is synced, an unlinked (or renamed-over) file lives on under a hidden
 * name ".msfault-<n>" in the same directory so a crash can bring it back. An MS_IO_FSYNC
 * request on a directory fd is counted as MS_IO_FOP_FSYNC_DIR (fail and crash rules on that op
 * hit it) and, once done, is a directory sync exactly like ms_io_fsync_dir().
 * Returns 0 and sets *out, or -ENOMEM (then *inner is left untouched). */
MS_MUST_CHECK int ms_io_fault_create(struct ms_io **inner, struct ms_io **out);

/* True when io was made by ms_io_fault_create(). */
bool ms_io_is_fault(const struct ms_io *io);

/* Rule: the nth call (1-based, counted from when the rule is added) of op fails with err
 * (negative, e.g. -EIO, -ENOSPC, -EINTR) without touching the file. Several rules may coexist
 * (up to 16); a rule fires once. Returns 0, -EINVAL (bad op, nth 0, err >= 0) or -ENOSPC (too
 * many rules). */
MS_MUST_CHECK int ms_io_fault_fail_nth(struct ms_io *io, enum ms_io_fault_op op, uint64_t nth,
                                       int err);

/* Rule: the nth WRITE writes only the first half of its bytes (at least 1 byte for len >= 2)
 * and completes with that short count. Returns 0 or -EINVAL / -ENOSPC as above. */
MS_MUST_CHECK int ms_io_fault_short_write_nth(struct ms_io *io, uint64_t nth);

/* Rule: the nth call of op (MS_IO_FOP_FSYNC, MS_IO_FOP_FDATASYNC or MS_IO_FOP_FSYNC_DIR; use
 * MS_IO_FOP_COUNT for "any of the three", counted together) does not happen: the port
 * simulates power loss instead (ms_io_fault_crash_now()) and the call returns
 * -MEDSTORE_ECRASHED. Returns 0 or -EINVAL / -ENOSPC as above. */
MS_MUST_CHECK int ms_io_fault_crash_nth_sync(struct ms_io *io, enum ms_io_fault_op op,
                                             uint64_t nth, enum ms_io_crash_mode mode,
                                             uint64_t seed);

/* Simulates power loss now: every data write, truncate or fallocate not yet covered by a
 * successful fsync/fdatasync of its file is undone (or garbled, per mode), every create,
 * rename and unlink not yet covered by an fsync of its directory is undone (newest first),
 * and from then on every call returns -MEDSTORE_ECRASHED. Completions not yet reaped are
 * still delivered by ms_io_wait(), with res = -MEDSTORE_ECRASHED; a submit that crashes half
 * way accepts all its requests and completes the rest with -MEDSTORE_ECRASHED too.
 * Unlinks with AT_REMOVEDIR are not undone. Returns 0, or -errno when restoring the files
 * failed (the test cannot trust the disk then). */
MS_MUST_CHECK int ms_io_fault_crash_now(struct ms_io *io, enum ms_io_crash_mode mode,
                                        uint64_t seed);

/* True after a simulated crash. */
bool ms_io_fault_crashed(const struct ms_io *io);

/* Number of calls of op so far (failed and crashed calls included). */
uint64_t ms_io_fault_count(const struct ms_io *io, enum ms_io_fault_op op);

/* Removes every rule not yet fired (counters keep running). */
void ms_io_fault_clear_rules(struct ms_io *io);

#endif
