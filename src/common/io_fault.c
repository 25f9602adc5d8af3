/*
 * io_fault.c - the fault backend of the I/O port (tests; STYLE.md 9; SQLite's test6.c is the
 * model): fails the Nth call of an op, tears the Nth write, and simulates power loss.
 *
 * Every request runs at submit time, one at a time, through an inner port (sync or io_uring);
 * the completion is queued in our own ring (io_cq_int.h), so link chains are resolved here.
 *
 * Crash model. Until it is made durable, every change keeps an undo record, oldest first:
 *   data write / ftruncate / fallocate / O_TRUNC open -> prior bytes of the range and prior
 *       size, captured through our own O_RDWR fd on the inode; durable after a successful
 *       fsync or fdatasync of any fd on that inode (files are known by st_dev/st_ino);
 *   create (O_CREAT that made the file)              -> the name, to unlink;
 *   rename                                           -> both names, plus a hidden hard link
 *       ".msfault-<pid>-<n>" to the file it replaced, if any;
 *   unlink                                           -> done as a rename to a hidden name;
 *   namespace records are durable after an fsync of their directory (a rename: of both),
 *       whether by ms_io_fsync_dir() or by an MS_IO_FSYNC request on the directory's fd.
 * At a crash the records are applied newest first (mode UNDO restores, GARBLE writes a seeded
 * pattern over the written range, RANDOM picks keep/undo/garble per record from the seed),
 * every fd of ours is closed, and the port is dead: every call returns -MEDSTORE_ECRASHED
 * (close still releases the caller's fd). Without a crash, destroy makes everything final:
 * hidden names are unlinked, as the kernel would have done.
 *
 * Invariants: base.inflight == cq.count between calls; every record's file or directory is
 * in the port's tables; a file's `pending` counts its data records, and its fd is closed when
 * that reaches 0. Refuses: undo of AT_REMOVEDIR (not modelled; the rmdir is just done).
 * Thread safety (io.h): requests from one thread at a time; namespace operations and the rule
 * and crash calls from any thread. Every entry point takes the port's mutex (see "locking").
 */
#include "common/io.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/io_cq_int.h"
#include "common/log.h"
#include "common/ms_assert.h"

#define FAULT_RULES_MAX 16
#define FAULT_HIDDEN_MAX 48

enum fault_rule_kind { RULE_FAIL = 1, RULE_SHORT, RULE_CRASH };

struct fault_rule {
    enum fault_rule_kind kind; /* 0: free slot */
    enum ms_io_fault_op op;    /* MS_IO_FOP_COUNT: any sync (crash rules) */
    uint64_t at;               /* fires when the op's counter reaches this */
    int err;
    enum ms_io_crash_mode mode;
    uint64_t seed;
};

/* An inode with unsynced data records, and our own O_RDWR fd on it. */
struct fault_file {
    dev_t dev;
    ino_t ino;
    int fd;
    unsigned pending;
};

/* A directory seen by a namespace op, and our own fd on it (kept until destroy). */
struct fault_dir {
    dev_t dev;
    ino_t ino;
    int fd;
};

enum fault_undo_kind { U_DATA = 1, U_SIZE, U_CREATE, U_RENAME, U_UNLINK };

struct fault_undo {
    enum fault_undo_kind kind;
    /* U_DATA, U_SIZE */
    struct fault_file *file;
    uint64_t offset; /* start of the written (or captured) range */
    uint64_t len;    /* bytes written (U_DATA) */
    uint8_t *old;    /* prior bytes at offset */
    size_t old_len;
    uint64_t old_size;
    /* U_CREATE, U_RENAME (dir/name = old, dir2/name2 = new), U_UNLINK */
    struct fault_dir *dir;
    struct fault_dir *dir2;
    char *name;
    char *name2;
    char *hidden; /* hidden name in dir2 (rename) or dir (unlink), or NULL */
    bool dir_synced;
    bool dir2_synced;
};

struct io_fault {
    struct ms_io base; /* first: fault_of() casts */
    struct io_cq cq;
    struct ms_io *inner;
    uint64_t counts[MS_IO_FOP_COUNT];
    uint64_t sync_any; /* FSYNC + FDATASYNC + FSYNC_DIR calls */
    struct fault_rule rules[FAULT_RULES_MAX];
    struct fault_undo **undo; /* oldest first */
    size_t nundo;
    size_t capundo;
    struct fault_file **files;
    size_t nfiles;
    size_t capfiles;
    struct fault_dir **dirs;
    size_t ndirs;
    size_t capdirs;
    struct iovec *bufs; /* copy of the inner port's registered table */
    unsigned nbufs;
    bool crashed;
    pthread_mutex_t mu; /* every entry point runs under it (see "locking" below) */
};

static const struct ms_io_ops fault_ops;

static struct io_fault *fault_of(struct ms_io *io)
{
    MS_ASSERT(io != NULL && io->ops == &fault_ops);
    return (struct io_fault *)io;
}

/* Grows an array of pointers by one slot. Returns 0 or -ENOMEM. */
static int fault_grow(void ***arr, size_t n, size_t *cap)
{
    MS_ASSERT(n <= *cap);
    if (n < *cap)
        return 0;
    size_t c = *cap ? *cap * 2 : 16;
    void **a = realloc(*arr, c * sizeof(*a));
    if (a == NULL)
        return -ENOMEM;
    *arr = a;
    *cap = c;
    return 0;
}

static uint64_t fault_splitmix(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static int fault_pread_full(int fd, uint8_t *buf, size_t len, uint64_t off)
{
    size_t done = 0;
    while (done < len) {
        ssize_t n = pread(fd, buf + done, len - done, (off_t)(off + done));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return n < 0 ? -errno : -EIO;
        done += (size_t)n;
    }
    return 0;
}

static int fault_pwrite_full(int fd, const uint8_t *buf, size_t len, uint64_t off)
{
    size_t done = 0;
    while (done < len) {
        ssize_t n = pwrite(fd, buf + done, len - done, (off_t)(off + done));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return n < 0 ? -errno : -EIO;
        done += (size_t)n;
    }
    return 0;
}

/* ---- files and directories --------------------------------------------------------------- */

/* The tracked file for fd's inode (st from fstat(fd)), opened on first use. NULL + *rc. */
static struct fault_file *fault_file_get(struct io_fault *f, int fd, const struct stat *st,
                                         int *rc)
{
    MS_ASSERT(fd >= 0);
    MS_ASSERT(f->nfiles <= f->capfiles);
    for (size_t i = 0; i < f->nfiles; i++)
        if (f->files[i]->dev == st->st_dev && f->files[i]->ino == st->st_ino)
            return f->files[i];
    *rc = fault_grow((void ***)&f->files, f->nfiles, &f->capfiles);
    if (*rc != 0)
        return NULL;
    char path[64];
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    int own = open(path, O_RDWR | O_CLOEXEC);
    if (own < 0) {
        *rc = -errno;
        ms_log(MS_LOG_ERROR, "io_fault", "event=undo_open_failed err=%d", *rc);
        return NULL;
    }
    struct fault_file *file = calloc(1, sizeof(*file));
    if (file == NULL) {
        close(own);
        *rc = -ENOMEM;
        return NULL;
    }
    *file = (struct fault_file){.dev = st->st_dev, .ino = st->st_ino, .fd = own};
    f->files[f->nfiles++] = file;
    return file;
}

static void fault_file_release(struct io_fault *f, struct fault_file *file)
{
    MS_ASSERT(file->pending > 0);
    if (--file->pending > 0)
        return;
    for (size_t i = 0; i < f->nfiles; i++) {
        if (f->files[i] == file) {
            f->files[i] = f->files[--f->nfiles];
            close(file->fd);
            free(file);
            return;
        }
    }
    MS_ASSERT(!"file not tracked");
}

/* The tracked directory dirfd refers to (AT_FDCWD allowed). NULL + *rc. */
static struct fault_dir *fault_dir_get(struct io_fault *f, int dirfd, int *rc)
{
    MS_ASSERT(rc != NULL);
    MS_ASSERT(f->ndirs <= f->capdirs);
    int own = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    struct stat st;
    if (own < 0 || fstat(own, &st) != 0) {
        *rc = -errno;
        if (own >= 0)
            close(own);
        return NULL;
    }
    for (size_t i = 0; i < f->ndirs; i++) {
        if (f->dirs[i]->dev == st.st_dev && f->dirs[i]->ino == st.st_ino) {
            close(own);
            return f->dirs[i];
        }
    }
    struct fault_dir *d = calloc(1, sizeof(*d));
    *rc = d == NULL ? -ENOMEM : fault_grow((void ***)&f->dirs, f->ndirs, &f->capdirs);
    if (*rc != 0) {
        free(d);
        close(own);
        return NULL;
    }
    *d = (struct fault_dir){.dev = st.st_dev, .ino = st.st_ino, .fd = own};
    f->dirs[f->ndirs++] = d;
    return d;
}

/* ---- undo records ------------------------------------------------------------------------ */

static void fault_undo_free(struct fault_undo *u)
{
    free(u->old);
    free(u->name);
    free(u->name2);
    free(u->hidden);
    free(u);
}

/* Appends u to the log (taking it) or frees it. Returns 0 or -ENOMEM. */
static int fault_undo_push(struct io_fault *f, struct fault_undo *u)
{
    int rc = fault_grow((void ***)&f->undo, f->nundo, &f->capundo);
    if (rc != 0) {
        if (u->file != NULL)
            fault_file_release(f, u->file);
        fault_undo_free(u);
        return rc;
    }
    f->undo[f->nundo++] = u;
    return 0;
}

/* Removes f->undo[i] (made durable or found unneeded), keeping the order of the rest. */
static void fault_undo_remove(struct io_fault *f, size_t i)
{
    MS_ASSERT(i < f->nundo);
    struct fault_undo *u = f->undo[i];
    memmove(&f->undo[i], &f->undo[i + 1], (f->nundo - i - 1) * sizeof(f->undo[0]));
    f->nundo--;
    if (u->hidden != NULL) {
        struct fault_dir *d = u->kind == U_RENAME ? u->dir2 : u->dir;
        if (unlinkat(d->fd, u->hidden, 0) != 0)
            ms_log(MS_LOG_WARN, "io_fault", "event=hidden_unlink_failed err=%d", -errno);
    }
    if (u->file != NULL)
        fault_file_release(f, u->file);
    fault_undo_free(u);
}

/* Records the bytes of fd's inode in [off, off + len) and its size before they change. */
static int fault_capture(struct io_fault *f, enum fault_undo_kind kind, int fd, uint64_t off,
                         uint64_t len)
{
    MS_ASSERT(kind == U_DATA || kind == U_SIZE);
    MS_ASSERT(!f->crashed);
    struct stat st;
    if (fstat(fd, &st) != 0)
        return -errno;
    int rc = 0;
    struct fault_file *file = fault_file_get(f, fd, &st, &rc);
    if (file == NULL)
        return rc;
    struct fault_undo *u = calloc(1, sizeof(*u));
    if (u == NULL) {
        file->pending++;
        fault_file_release(f, file);
        return -ENOMEM;
    }
    file->pending++;
    uint64_t size = (uint64_t)st.st_size;
    *u = (struct fault_undo){.kind = kind, .file = file, .offset = off, .len = len,
                             .old_size = size};
    u->old_len = off < size ? (size_t)(size - off < len ? size - off : len) : 0;
    u->old = malloc(u->old_len ? u->old_len : 1);
    rc = u->old == NULL ? -ENOMEM : fault_pread_full(file->fd, u->old, u->old_len, off);
    if (rc != 0) {
        fault_file_release(f, file);
        fault_undo_free(u);
        return rc;
    }
    return fault_undo_push(f, u);
}

/* Makes the data records of fd's inode durable (after a successful fsync/fdatasync). */
static void fault_commit_file(struct io_fault *f, int fd)
{
    MS_ASSERT(fd >= 0);
    MS_ASSERT(!f->crashed);
    struct stat st;
    if (fstat(fd, &st) != 0)
        return;
    for (size_t i = f->nundo; i-- > 0;) {
        struct fault_file *file = f->undo[i]->file;
        if (file != NULL && file->dev == st.st_dev && file->ino == st.st_ino)
            fault_undo_remove(f, i);
    }
}

/* Makes the namespace records of dirfd's directory durable (after its fsync). */
static void fault_commit_dir(struct io_fault *f, int dirfd)
{
    MS_ASSERT(dirfd >= 0);
    MS_ASSERT(!f->crashed);
    struct stat st;
    if (fstat(dirfd, &st) != 0)
        return;
    for (size_t i = f->nundo; i-- > 0;) {
        struct fault_undo *u = f->undo[i];
        if (u->dir == NULL)
            continue;
        if (u->dir->dev == st.st_dev && u->dir->ino == st.st_ino)
            u->dir_synced = true;
        if (u->dir2 != NULL && u->dir2->dev == st.st_dev && u->dir2->ino == st.st_ino)
            u->dir2_synced = true;
        if (u->dir_synced && (u->dir2 == NULL || u->dir2_synced))
            fault_undo_remove(f, i);
    }
}

/* A fresh hidden name in *out (FAULT_HIDDEN_MAX bytes). */
static void fault_hidden_name(char *out)
{
    static atomic_ulong seq;
    unsigned long n = atomic_fetch_add(&seq, 1);
    snprintf(out, FAULT_HIDDEN_MAX, ".msfault-%ld-%lu", (long)getpid(), n);
}

/* ---- crash ------------------------------------------------------------------------------- */

static int fault_garble(const struct fault_undo *u, uint64_t *rng)
{
    uint8_t chunk[4096];
    uint64_t done = 0;
    while (done < u->len) {
        size_t n = u->len - done < sizeof(chunk) ? (size_t)(u->len - done) : sizeof(chunk);
        for (size_t i = 0; i < n; i++)
            chunk[i] = (uint8_t)fault_splitmix(rng);
        int rc = fault_pwrite_full(u->file->fd, chunk, n, u->offset + done);
        if (rc != 0)
            return rc;
        done += n;
    }
    return 0;
}

/* Puts back the prior size and bytes of a data or size record. */
static int fault_restore(const struct fault_undo *u)
{
    if (ftruncate(u->file->fd, (off_t)u->old_size) != 0)
        return -errno;
    return fault_pwrite_full(u->file->fd, u->old, u->old_len, u->offset);
}

/* Undoes one record at a crash. Returns 0 or -errno. */
static int fault_undo_one(const struct fault_undo *u, enum ms_io_crash_mode mode, uint64_t *rng)
{
    MS_ASSERT(u != NULL && rng != NULL);
    MS_ASSERT((u->file != NULL) == (u->kind == U_DATA || u->kind == U_SIZE));
    unsigned pick = mode == MS_IO_CRASH_RANDOM ? (unsigned)(fault_splitmix(rng) % 3) : 1;
    int rc = 0;
    switch (u->kind) {
    case U_DATA:
        if (mode == MS_IO_CRASH_GARBLE || pick == 2)
            rc = fault_garble(u, rng);
        else if (pick == 1)
            rc = fault_restore(u);
        break;
    case U_SIZE:
        if (pick != 0)
            rc = fault_restore(u);
        break;
    case U_CREATE:
        if (unlinkat(u->dir->fd, u->name, 0) != 0 && errno != ENOENT)
            rc = -errno;
        break;
    case U_RENAME:
        if (renameat(u->dir2->fd, u->name2, u->dir->fd, u->name) != 0)
            rc = -errno;
        else if (u->hidden != NULL && renameat(u->dir2->fd, u->hidden, u->dir2->fd,
                                               u->name2) != 0)
            rc = -errno;
        break;
    case U_UNLINK:
        if (renameat(u->dir->fd, u->hidden, u->dir->fd, u->name) != 0)
            rc = -errno;
        break;
    }
    return rc;
}

/* ms_io_fault_crash_now() with f->mu held. */
static int fault_crash(struct io_fault *f, enum ms_io_crash_mode mode, uint64_t seed)
{
    MS_ASSERT(mode == MS_IO_CRASH_UNDO || mode == MS_IO_CRASH_GARBLE ||
              mode == MS_IO_CRASH_RANDOM);
    if (f->crashed)
        return 0;
    uint64_t rng = seed;
    int first = 0;
    for (size_t i = f->nundo; i-- > 0;) {
        int rc = fault_undo_one(f->undo[i], mode, &rng);
        if (rc != 0 && first == 0)
            first = rc;
    }
    /* The hidden names went back to their places; files are closed below. */
    for (size_t i = 0; i < f->nundo; i++)
        fault_undo_free(f->undo[i]);
    f->nundo = 0;
    for (size_t i = 0; i < f->nfiles; i++) {
        close(f->files[i]->fd);
        free(f->files[i]);
    }
    f->nfiles = 0;
    for (unsigned i = 0; i < f->cq.count; i++)
        f->cq.e[(f->cq.head + i) % MS_IO_SYNC_QUEUE_DEPTH].res = -MEDSTORE_ECRASHED;
    f->crashed = true;
    MS_ASSERT(f->nundo == 0 && f->nfiles == 0);
    ms_log(MS_LOG_INFO, "io_fault", "event=simulated_crash mode=%d seed=%llu rc=%d", (int)mode,
           (unsigned long long)seed, first);
    return first;
}

int ms_io_fault_crash_now(struct ms_io *io, enum ms_io_crash_mode mode, uint64_t seed)
{
    struct io_fault *f = fault_of(io);
    pthread_mutex_lock(&f->mu);
    int rc = fault_crash(f, mode, seed);
    pthread_mutex_unlock(&f->mu);
    return rc;
}

/* ---- rules ------------------------------------------------------------------------------- */

static int fault_add_rule(struct io_fault *f, const struct fault_rule *r)
{
    for (unsigned i = 0; i < FAULT_RULES_MAX; i++) {
        if (f->rules[i].kind == 0) {
            f->rules[i] = *r;
            return 0;
        }
    }
    return -ENOSPC;
}

/* Takes (removes and returns a copy of) the rule of kind for op firing at this call. */
static bool fault_take_rule(struct io_fault *f, enum fault_rule_kind kind,
                            enum ms_io_fault_op op, struct fault_rule *out)
{
    MS_ASSERT(kind == RULE_FAIL || kind == RULE_SHORT || kind == RULE_CRASH);
    MS_ASSERT(op < MS_IO_FOP_COUNT && out != NULL);
    for (unsigned i = 0; i < FAULT_RULES_MAX; i++) {
        struct fault_rule *r = &f->rules[i];
        if (r->kind != kind)
            continue;
        bool any_sync = r->op == MS_IO_FOP_COUNT &&
                        (op == MS_IO_FOP_FSYNC || op == MS_IO_FOP_FDATASYNC ||
                         op == MS_IO_FOP_FSYNC_DIR);
        uint64_t now = any_sync ? f->sync_any : (r->op == op ? f->counts[op] : 0);
        if ((any_sync || r->op == op) && now == r->at) {
            *out = *r;
            r->kind = 0;
            return true;
        }
    }
    return false;
}

/* Entry of every counted call: counts it, then applies a crash or fail rule.
 * Returns 0 to go on, or the call's result (-MEDSTORE_ECRASHED or the rule's error). */
static int fault_enter(struct io_fault *f, enum ms_io_fault_op op)
{
    MS_ASSERT(op < MS_IO_FOP_COUNT);
    f->counts[op]++;
    if (f->crashed)
        return -MEDSTORE_ECRASHED;
    bool sync = op == MS_IO_FOP_FSYNC || op == MS_IO_FOP_FDATASYNC || op == MS_IO_FOP_FSYNC_DIR;
    if (sync)
        f->sync_any++;
    struct fault_rule r;
    if (sync && fault_take_rule(f, RULE_CRASH, op, &r)) {
        int crc = fault_crash(f, r.mode, r.seed);
        if (crc != 0)
            ms_log(MS_LOG_ERROR, "io_fault", "event=crash_restore_failed err=%d", crc);
        return -MEDSTORE_ECRASHED;
    }
    if (fault_take_rule(f, RULE_FAIL, op, &r))
        return r.err;
    MS_ASSERT(!f->crashed);
    return 0;
}

static bool fault_op_ok(enum ms_io_fault_op op)
{
    return (unsigned)op < MS_IO_FOP_COUNT;
}

/* Adds a rule whose `at` is base_op's counter (or sync_any for MS_IO_FOP_COUNT) + nth, under
 * f->mu so the counter cannot move in between. */
static int fault_add_rule_nth(struct io_fault *f, struct fault_rule *r, uint64_t nth)
{
    MS_ASSERT(nth > 0);
    MS_ASSERT(r->op <= MS_IO_FOP_COUNT && r->kind != 0);
    pthread_mutex_lock(&f->mu);
    r->at = (r->op == MS_IO_FOP_COUNT ? f->sync_any : f->counts[r->op]) + nth;
    int rc = fault_add_rule(f, r);
    pthread_mutex_unlock(&f->mu);
    return rc;
}

int ms_io_fault_fail_nth(struct ms_io *io, enum ms_io_fault_op op, uint64_t nth, int err)
{
    struct io_fault *f = fault_of(io);
    if (!fault_op_ok(op) || nth == 0 || err >= 0)
        return -EINVAL;
    struct fault_rule r = {.kind = RULE_FAIL, .op = op, .err = err};
    return fault_add_rule_nth(f, &r, nth);
}

int ms_io_fault_short_write_nth(struct ms_io *io, uint64_t nth)
{
    struct io_fault *f = fault_of(io);
    if (nth == 0)
        return -EINVAL;
    struct fault_rule r = {.kind = RULE_SHORT, .op = MS_IO_FOP_WRITE};
    return fault_add_rule_nth(f, &r, nth);
}

int ms_io_fault_crash_nth_sync(struct ms_io *io, enum ms_io_fault_op op, uint64_t nth,
                               enum ms_io_crash_mode mode, uint64_t seed)
{
    struct io_fault *f = fault_of(io);
    bool op_ok = op == MS_IO_FOP_FSYNC || op == MS_IO_FOP_FDATASYNC ||
                 op == MS_IO_FOP_FSYNC_DIR || op == MS_IO_FOP_COUNT;
    if (!op_ok || nth == 0 || (unsigned)mode > MS_IO_CRASH_RANDOM)
        return -EINVAL;
    struct fault_rule r = {.kind = RULE_CRASH, .op = op, .mode = mode, .seed = seed};
    return fault_add_rule_nth(f, &r, nth);
}

bool ms_io_fault_crashed(const struct ms_io *io)
{
    struct io_fault *f = fault_of((struct ms_io *)io);
    pthread_mutex_lock(&f->mu);
    bool crashed = f->crashed;
    pthread_mutex_unlock(&f->mu);
    return crashed;
}

uint64_t ms_io_fault_count(const struct ms_io *io, enum ms_io_fault_op op)
{
    struct io_fault *f = fault_of((struct ms_io *)io);
    MS_ASSERT(fault_op_ok(op));
    pthread_mutex_lock(&f->mu);
    uint64_t n = f->counts[op];
    pthread_mutex_unlock(&f->mu);
    return n;
}

void ms_io_fault_clear_rules(struct ms_io *io)
{
    struct io_fault *f = fault_of(io);
    pthread_mutex_lock(&f->mu);
    memset(f->rules, 0, sizeof(f->rules));
    MS_ASSERT(f->rules[0].kind == 0);
    pthread_mutex_unlock(&f->mu);
}

bool ms_io_is_fault(const struct ms_io *io)
{
    return io != NULL && io->ops == &fault_ops;
}

/* ---- requests ---------------------------------------------------------------------------- */

/* Runs one request on the (idle) inner port and returns its res. */
static int fault_inner_run(struct io_fault *f, const struct ms_io_req *r)
{
    MS_ASSERT(f->inner->inflight == 0);
    struct ms_io_req one = *r;
    one.flags = 0;
    int rc = ms_io_submit(f->inner, &one, 1);
    if (rc < 0)
        return rc;
    struct ms_io_cqe c = {0};
    do {
        rc = ms_io_wait(f->inner, &c, 1, 1, -1);
    } while (rc == 0 || rc == -EINTR);
    MS_ASSERT(f->inner->inflight == 0);
    return rc < 0 ? rc : c.res;
}

static int fault_write(struct io_fault *f, const struct ms_io_req *r)
{
    int rc = fault_enter(f, MS_IO_FOP_WRITE);
    if (rc != 0)
        return rc;
    struct ms_io_req w = *r;
    struct fault_rule sr;
    if (fault_take_rule(f, RULE_SHORT, MS_IO_FOP_WRITE, &sr) && w.len >= 2)
        w.len /= 2;
    rc = fault_capture(f, U_DATA, w.fd, w.offset, w.len);
    if (rc != 0)
        return rc;
    MS_ASSERT(f->nundo > 0 && f->undo[f->nundo - 1]->kind == U_DATA);
    int res = fault_inner_run(f, &w);
    MS_ASSERT(res <= (int)w.len);
    if (res <= 0)
        fault_undo_remove(f, f->nundo - 1); /* nothing changed */
    else
        f->undo[f->nundo - 1]->len = (uint64_t)res;
    return res;
}

/* An FSYNC or FDATASYNC request. An FSYNC on a directory fd is a directory sync (io.h): it
 * counts as MS_IO_FOP_FSYNC_DIR and, once done, makes the directory's namespace records
 * durable exactly as ms_io_fsync_dir() does; on a file it makes the file's data durable. */
static int fault_sync_req(struct io_fault *f, const struct ms_io_req *r)
{
    MS_ASSERT(r->op == MS_IO_FSYNC || r->op == MS_IO_FDATASYNC);
    struct stat st;
    bool dir = r->op == MS_IO_FSYNC && fstat(r->fd, &st) == 0 && S_ISDIR(st.st_mode);
    enum ms_io_fault_op op = dir                      ? MS_IO_FOP_FSYNC_DIR
                             : r->op == MS_IO_FSYNC ? MS_IO_FOP_FSYNC
                                                    : MS_IO_FOP_FDATASYNC;
    int rc = fault_enter(f, op);
    if (rc != 0)
        return rc;
    rc = fault_inner_run(f, r);
    if (rc == 0 && dir)
        fault_commit_dir(f, r->fd);
    else if (rc == 0)
        fault_commit_file(f, r->fd);
    MS_ASSERT(rc <= 0);
    return rc;
}

/* Runs one request of a submit; returns its completion's res. */
static int fault_exec(struct io_fault *f, const struct ms_io_req *r)
{
    MS_ASSERT(r != NULL);
    MS_ASSERT(f->inner->inflight == 0);
    int rc;
    switch (r->op) {
    case MS_IO_NOP:
        return f->crashed ? -MEDSTORE_ECRASHED : 0;
    case MS_IO_READ:
        rc = fault_enter(f, MS_IO_FOP_READ);
        return rc != 0 ? rc : fault_inner_run(f, r);
    case MS_IO_WRITE:
        return fault_write(f, r);
    case MS_IO_FSYNC:
    case MS_IO_FDATASYNC:
        return fault_sync_req(f, r);
    }
    MS_ASSERT(!"unknown op");
    return -EINVAL;
}

static int fault_submit(struct ms_io *io, const struct ms_io_req *reqs, unsigned n)
{
    struct io_fault *f = fault_of(io);
    MS_DASSERT(f->cq.count == f->base.inflight);
    if (f->crashed)
        return -MEDSTORE_ECRASHED;
    for (unsigned i = 0; i < n; i++)
        if (!io_req_buf_ok(f->bufs, f->nbufs, &reqs[i]))
            return -EINVAL;
    unsigned take = io_chain_fit(reqs, n, MS_IO_SYNC_QUEUE_DEPTH - f->cq.count);
    if (take == 0)
        return -EAGAIN;
    bool cancel = false;
    for (unsigned i = 0; i < take; i++) {
        int res;
        if (f->crashed)
            res = -MEDSTORE_ECRASHED;
        else
            res = cancel ? -ECANCELED : fault_exec(f, &reqs[i]);
        io_cq_push(&f->cq, reqs[i].user_data, res);
        if (!(reqs[i].flags & MS_IO_LINK))
            cancel = false;
        else if (!cancel && !io_req_succeeded(&reqs[i], res))
            cancel = true;
    }
    MS_ASSERT(f->cq.count <= MS_IO_SYNC_QUEUE_DEPTH);
    return (int)take;
}

static int fault_wait(struct ms_io *io, struct ms_io_cqe *cqes, unsigned max,
                      unsigned min_complete, int timeout_ms)
{
    struct io_fault *f = fault_of(io);
    (void)timeout_ms; /* every completion is queued at submit */
    MS_ASSERT(min_complete <= f->cq.count);
    return (int)io_cq_pop(&f->cq, cqes, max);
}

static int fault_register(struct ms_io *io, const struct iovec *iov, unsigned n)
{
    struct io_fault *f = fault_of(io);
    MS_ASSERT(iov != NULL && n > 0);
    int rc = fault_enter(f, MS_IO_FOP_REGISTER);
    if (rc != 0)
        return rc;
    if (f->bufs != NULL)
        return -EBUSY;
    struct iovec *copy = calloc(n, sizeof(*copy));
    if (copy == NULL)
        return -ENOMEM;
    rc = ms_io_register_buffers(f->inner, iov, n);
    if (rc != 0) {
        free(copy);
        return rc;
    }
    memcpy(copy, iov, n * sizeof(*copy));
    f->bufs = copy;
    f->nbufs = n;
    MS_ASSERT(f->nbufs > 0);
    return 0;
}

static int fault_unregister(struct ms_io *io)
{
    struct io_fault *f = fault_of(io);
    if (f->crashed)
        return -MEDSTORE_ECRASHED;
    int rc = ms_io_unregister_buffers(f->inner);
    if (rc == 0) {
        free(f->bufs);
        f->bufs = NULL;
        f->nbufs = 0;
    }
    return rc;
}

/* ---- namespace operations ---------------------------------------------------------------- */

/* Records a create of name in dirfd. Returns 0 or -errno. */
static int fault_note_create(struct io_fault *f, int dirfd, const char *name)
{
    MS_ASSERT(name != NULL && name[0] != '\0');
    MS_ASSERT(!f->crashed);
    int rc = 0;
    struct fault_dir *d = fault_dir_get(f, dirfd, &rc);
    if (d == NULL)
        return rc;
    struct fault_undo *u = calloc(1, sizeof(*u));
    char *copy = strdup(name);
    if (u == NULL || copy == NULL) {
        free(u);
        free(copy);
        return -ENOMEM;
    }
    *u = (struct fault_undo){.kind = U_CREATE, .dir = d, .name = copy};
    return fault_undo_push(f, u);
}

/* O_TRUNC on an existing file: records its whole prior content, read through before_fd. */
static int fault_note_trunc(struct io_fault *f, int before_fd)
{
    struct stat st;
    if (fstat(before_fd, &st) != 0)
        return -errno;
    MS_ASSERT(S_ISREG(st.st_mode));
    return fault_capture(f, U_SIZE, before_fd, 0, (uint64_t)st.st_size);
}

static int fault_open(struct ms_io *io, int dirfd, const char *name, int flags, mode_t mode)
{
    struct io_fault *f = fault_of(io);
    MS_ASSERT(name != NULL);
    int rc = fault_enter(f, MS_IO_FOP_OPEN);
    if (rc != 0)
        return rc;
    struct stat st;
    bool existed = fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
    int before = -1;
    if (existed && (flags & O_TRUNC) && S_ISREG(st.st_mode)) {
        /* Capture the content before the kernel truncates it. */
        before = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (before >= 0 && (rc = fault_note_trunc(f, before)) != 0) {
            close(before);
            return rc;
        }
    }
    int fd = f->inner->ops->open(f->inner, dirfd, name, flags, mode);
    if (before >= 0) {
        if (fd < 0) /* nothing was truncated */
            fault_undo_remove(f, f->nundo - 1);
        close(before);
    }
    MS_ASSERT(fd > -4096);
    if (fd >= 0 && !existed && (flags & O_CREAT)) {
        rc = fault_note_create(f, dirfd, name);
        if (rc != 0) {
            (void)f->inner->ops->close(f->inner, fd);
            (void)unlinkat(dirfd, name, 0);
            return rc;
        }
    }
    return fd;
}

static int fault_close(struct ms_io *io, int fd)
{
    struct io_fault *f = fault_of(io);
    int rc = fault_enter(f, MS_IO_FOP_CLOSE);
    if (rc == -MEDSTORE_ECRASHED) {
        (void)f->inner->ops->close(f->inner, fd); /* a dead port still releases fds */
        return rc;
    }
    if (rc != 0)
        return rc;
    return f->inner->ops->close(f->inner, fd);
}

static int fault_rename_record(struct io_fault *f, int olddirfd, const char *oldname,
                               int newdirfd, const char *newname, struct fault_undo **out)
{
    MS_ASSERT(oldname != NULL && newname != NULL);
    MS_ASSERT(out != NULL);
    int rc = 0;
    struct fault_dir *d1 = fault_dir_get(f, olddirfd, &rc);
    struct fault_dir *d2 = d1 ? fault_dir_get(f, newdirfd, &rc) : NULL;
    if (d2 == NULL)
        return rc;
    struct fault_undo *u = calloc(1, sizeof(*u));
    if (u == NULL)
        return -ENOMEM;
    *u = (struct fault_undo){.kind = U_RENAME, .dir = d1, .dir2 = d2, .name = strdup(oldname),
                             .name2 = strdup(newname)};
    if (u->name == NULL || u->name2 == NULL) {
        fault_undo_free(u);
        return -ENOMEM;
    }
    *out = u;
    return 0;
}

static int fault_renameat(struct ms_io *io, int olddirfd, const char *oldname, int newdirfd,
                          const char *newname)
{
    struct io_fault *f = fault_of(io);
    int rc = fault_enter(f, MS_IO_FOP_RENAME);
    struct fault_undo *u = NULL;
    if (rc == 0)
        rc = fault_rename_record(f, olddirfd, oldname, newdirfd, newname, &u);
    if (rc != 0)
        return rc;
    MS_ASSERT(u != NULL && u->kind == U_RENAME);
    struct stat st;
    char hidden[FAULT_HIDDEN_MAX];
    if (fstatat(newdirfd, newname, &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISDIR(st.st_mode)) {
        /* Keep the file being replaced under a hidden name so a crash can restore it. */
        fault_hidden_name(hidden);
        if (linkat(newdirfd, newname, newdirfd, hidden, 0) == 0)
            u->hidden = strdup(hidden);
    }
    rc = f->inner->ops->renameat(f->inner, olddirfd, oldname, newdirfd, newname);
    if (rc != 0) {
        if (u->hidden != NULL)
            (void)unlinkat(newdirfd, u->hidden, 0);
        fault_undo_free(u);
        return rc;
    }
    MS_ASSERT(u->dir != NULL && u->dir2 != NULL);
    return fault_undo_push(f, u);
}

static int fault_unlinkat(struct ms_io *io, int dirfd, const char *name, int flags)
{
    struct io_fault *f = fault_of(io);
    MS_ASSERT(name != NULL);
    int rc = fault_enter(f, MS_IO_FOP_UNLINK);
    if (rc != 0)
        return rc;
    struct stat st;
    if ((flags & AT_REMOVEDIR) || fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
        return f->inner->ops->unlinkat(f->inner, dirfd, name, flags);
    if (S_ISDIR(st.st_mode))
        return -EISDIR;
    struct fault_dir *d = fault_dir_get(f, dirfd, &rc);
    if (d == NULL)
        return rc;
    char hidden[FAULT_HIDDEN_MAX];
    fault_hidden_name(hidden);
    struct fault_undo *u = calloc(1, sizeof(*u));
    if (u == NULL)
        return -ENOMEM;
    *u = (struct fault_undo){.kind = U_UNLINK, .dir = d, .name = strdup(name),
                             .hidden = strdup(hidden)};
    if (u->name == NULL || u->hidden == NULL) {
        fault_undo_free(u);
        return -ENOMEM;
    }
    /* The unlink, done as a rename so the inode survives until the directory is synced. */
    rc = f->inner->ops->renameat(f->inner, dirfd, name, dirfd, hidden);
    if (rc != 0) {
        fault_undo_free(u);
        return rc;
    }
    MS_ASSERT(u->kind == U_UNLINK && u->dir == d);
    return fault_undo_push(f, u);
}

static int fault_fsync_dir(struct ms_io *io, int dirfd)
{
    struct io_fault *f = fault_of(io);
    int rc = fault_enter(f, MS_IO_FOP_FSYNC_DIR);
    if (rc != 0)
        return rc;
    rc = f->inner->ops->fsync_dir(f->inner, dirfd);
    if (rc == 0)
        fault_commit_dir(f, dirfd);
    return rc;
}

static int fault_ftruncate(struct ms_io *io, int fd, uint64_t size)
{
    struct io_fault *f = fault_of(io);
    int rc = fault_enter(f, MS_IO_FOP_FTRUNCATE);
    struct stat st;
    if (rc == 0 && fstat(fd, &st) != 0)
        rc = -errno;
    if (rc != 0)
        return rc;
    uint64_t old = (uint64_t)st.st_size;
    rc = fault_capture(f, U_SIZE, fd, size, old > size ? old - size : 0);
    if (rc != 0)
        return rc;
    MS_ASSERT(f->undo[f->nundo - 1]->old_size == old);
    rc = f->inner->ops->ftruncate(f->inner, fd, size);
    MS_ASSERT(rc <= 0);
    if (rc != 0)
        fault_undo_remove(f, f->nundo - 1);
    return rc;
}

static int fault_fallocate(struct ms_io *io, int fd, int mode, uint64_t offset, uint64_t len)
{
    struct io_fault *f = fault_of(io);
    int rc = fault_enter(f, MS_IO_FOP_FALLOCATE);
    if (rc != 0)
        return rc;
    /* Modes that change content (punch, zero, collapse, insert) need the bytes; plain
     * allocation only the size. Capturing the range covers both. */
    MS_ASSERT(len > 0);
    rc = fault_capture(f, U_SIZE, fd, offset, len);
    if (rc != 0)
        return rc;
    MS_ASSERT(f->undo[f->nundo - 1]->kind == U_SIZE);
    rc = f->inner->ops->fallocate(f->inner, fd, mode, offset, len);
    if (rc != 0)
        fault_undo_remove(f, f->nundo - 1);
    return rc;
}

static int fault_fstat(struct ms_io *io, int fd, struct stat *st)
{
    struct io_fault *f = fault_of(io);
    int rc = fault_enter(f, MS_IO_FOP_FSTAT);
    return rc != 0 ? rc : f->inner->ops->fstat(f->inner, fd, st);
}

static void fault_destroy(struct ms_io *io)
{
    struct io_fault *f = fault_of(io);
    /* A clean end: everything done is final, so finish the unlinks kept hidden. */
    MS_ASSERT(f->inner != NULL);
    while (f->nundo > 0)
        fault_undo_remove(f, f->nundo - 1);
    MS_ASSERT(f->nfiles == 0);
    for (size_t i = 0; i < f->ndirs; i++) {
        close(f->dirs[i]->fd);
        free(f->dirs[i]);
    }
    free(f->dirs);
    free(f->files);
    free(f->undo);
    free(f->bufs);
    ms_io_destroy(f->inner);
    pthread_mutex_destroy(&f->mu);
    free(f);
}

/* ---- locking ----------------------------------------------------------------------------- */

/* io.h lets namespace operations come from any thread, concurrently with each other and with
 * the one thread that submits and reaps requests (the other backends just make syscalls).
 * Here every entry point of the ops table runs under f->mu, so the counters, rules, undo log
 * and completion ring see one call at a time, in a single order a crash then undoes.
 * FAULT_LOCKED(fn, params, args) defines fn_locked, which calls fn under the lock. */
#define FAULT_LOCKED(fn, params, args)                                                         \
    static int fn##_locked params                                                              \
    {                                                                                          \
        struct io_fault *f_ = fault_of(io);                                                    \
        pthread_mutex_lock(&f_->mu);                                                           \
        int rc_ = fn args;                                                                     \
        pthread_mutex_unlock(&f_->mu);                                                         \
        return rc_;                                                                            \
    }

FAULT_LOCKED(fault_submit, (struct ms_io *io, const struct ms_io_req *reqs, unsigned n),
             (io, reqs, n))
FAULT_LOCKED(fault_wait, (struct ms_io *io, struct ms_io_cqe *cqes, unsigned max,
                          unsigned min_complete, int timeout_ms),
             (io, cqes, max, min_complete, timeout_ms))
FAULT_LOCKED(fault_register, (struct ms_io *io, const struct iovec *iov, unsigned n),
             (io, iov, n))
FAULT_LOCKED(fault_unregister, (struct ms_io *io), (io))
FAULT_LOCKED(fault_open, (struct ms_io *io, int dirfd, const char *name, int flags,
                          mode_t mode),
             (io, dirfd, name, flags, mode))
FAULT_LOCKED(fault_close, (struct ms_io *io, int fd), (io, fd))
FAULT_LOCKED(fault_renameat, (struct ms_io *io, int olddirfd, const char *oldname,
                              int newdirfd, const char *newname),
             (io, olddirfd, oldname, newdirfd, newname))
FAULT_LOCKED(fault_unlinkat, (struct ms_io *io, int dirfd, const char *name, int flags),
             (io, dirfd, name, flags))
FAULT_LOCKED(fault_fsync_dir, (struct ms_io *io, int dirfd), (io, dirfd))
FAULT_LOCKED(fault_ftruncate, (struct ms_io *io, int fd, uint64_t size), (io, fd, size))
FAULT_LOCKED(fault_fallocate, (struct ms_io *io, int fd, int mode, uint64_t offset,
                               uint64_t len),
             (io, fd, mode, offset, len))
FAULT_LOCKED(fault_fstat, (struct ms_io *io, int fd, struct stat *st), (io, fd, st))

static const struct ms_io_ops fault_ops = {
    .name = "fault",
    .submit = fault_submit_locked,
    .wait = fault_wait_locked,
    .register_buffers = fault_register_locked,
    .unregister_buffers = fault_unregister_locked,
    .open = fault_open_locked,
    .close = fault_close_locked,
    .renameat = fault_renameat_locked,
    .unlinkat = fault_unlinkat_locked,
    .fsync_dir = fault_fsync_dir_locked,
    .ftruncate = fault_ftruncate_locked,
    .fallocate = fault_fallocate_locked,
    .fstat = fault_fstat_locked,
    .destroy = fault_destroy,
};

int ms_io_fault_create(struct ms_io **inner, struct ms_io **out)
{
    MS_ASSERT(out != NULL);
    struct io_fault *f = calloc(1, sizeof(*f));
    if (f == NULL)
        return -ENOMEM;
    if (inner != NULL && *inner != NULL) {
        MS_ASSERT((*inner)->inflight == 0);
        f->inner = *inner;
        *inner = NULL;
    } else {
        int rc = ms_io_sync_create(&f->inner);
        if (rc != 0) {
            free(f);
            return rc;
        }
    }
    f->base.ops = &fault_ops;
    pthread_mutex_init(&f->mu, NULL);
    MS_ASSERT(f->cq.count == 0 && !f->crashed);
    *out = &f->base;
    return 0;
}
