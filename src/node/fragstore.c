/*
 * fragstore.c - the node's fragment store: streaming atomic puts with group commit, verified
 * range reads, stat/list/space, and open-time recovery. Zero-overwrite delete is in wipe.c,
 * the damage report and the scrub thread in scrub.c, the catalogue encoding in catalog.c.
 * SQLite's pager.c is the model: state diagram and transition table first, then the code.
 *
 * State of one fragment (docs/node.md "On-disk layout and crash guarantees"). The file lives
 * under its final name frags/xx/<oid>.<i> from its creation on; whether it exists as a
 * fragment is decided by the catalogue record alone, so "writing" files are invisible:
 *
 *            put_begin              put_commit -> a commit round        delete
 *   absent ────────────► writing ─────────────────────────► committed ─────────► wiping
 *     ▲               frags/xx/<oid>.<i>               + catalogue rec            │
 *     │             (no record; created lazily)                                   │
 *     │◄───────────────────┘ put_abort, failed commit, recover_orphans            │
 *     │◄─────────────────────────────────────────────────────────────────────────┘
 *                       ms_wipe_finish (also ms_wipe_resume_all at open)
 *
 *   transition              function                    durable when
 *   absent -> writing       ms_fragstore_put_begin      never (no record: never visible)
 *   writing -> committed    round_sync_phase,           (write +) fdatasync + fsync of
 *                           round_finish_phase          frags/xx in one concurrent batch;
 *                                                       synced kv batch; then the ack
 *   writing -> absent       put_cleanup                 zero-overwrite + unlink + dir fsync
 *   committed -> wiping     ms_fragstore_delete         synced batch: intent + state 2
 *   wiping -> absent        ms_wipe_finish              zeros synced, unlink, dir fsync, batch
 *   file without record     recover_orphans (open)      zero-overwrite + unlink (never acked)
 *   tmp/ file (old layout)  recover_tmp (open)          zero-overwrite + unlink
 *
 * Invariants:
 *   - A catalogue record in state committed exists only for a file that was fdatasynced and
 *     whose directory was fsynced (its name durable) before the record's synced batch
 *     (round_sync_phase completes before round_finish_phase); the ack follows the batch.
 *   - Every read path (get, stat, list, verify, scrub) starts from a committed record, so a
 *     file without one (a put in progress, a put cut by a crash or a failed cleanup) is never
 *     served; open wipes such files, and a put that finds one under its name wipes it first.
 *   - Every byte of a committed file passed the codec's streaming validator (header, each
 *     record's XXH3-128, index block, footer) before its record was written; the file is
 *     the fragment, followed under O_DIRECT by < 4 KiB of zero padding (the record holds
 *     both lengths; reads stop at the logical one).
 *   - At most one put or delete per fragment key at a time (busy set), so the catalogue check
 *     in put_begin cannot race another commit of the same key, and no two sessions ever
 *     create the same name.
 *   - Reads deliver a record's bytes only after its checksum matched (get never returns wrong
 *     bytes); a mismatch is -MEDSTORE_ECORRUPT plus a scrub-report row.
 * Refuses: headers that fail ms_frag_hdr_decode or name another fragment (before any write),
 * duplicate puts of a committed fragment (-MEDSTORE_EEXIST), streams the validator rejects.
 * Names come only from the binary id and the index (< 32): no path is built from client text.
 */
#include "node/fragstore.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/kv.h"
#include "common/log.h"
#include "common/ms_assert.h"
#include "node/fragstore_int.h"
#include "node/io_uring_backend.h"

#define FS_IO_BATCH_MAX 64u
/* One commit round's sync batch: per session a write (small fragments) and an fdatasync,
 * plus one frags/xx per session at most. */
#define FS_ROUND_REQS_MAX (3u * FS_IO_BATCH_MAX)

_Static_assert(FS_DEFAULT_SESSIONS <= FS_IO_BATCH_MAX, "a commit round fits one io batch");
_Static_assert(FS_ROUND_REQS_MAX <= FS_IO_REQS_MAX, "fs_io_run takes a whole round");

const char *const ms_fragstore_kv_cfs[] = {
    MS_CATALOG_CF_FRAGS, MS_CATALOG_CF_WIPE, MS_CATALOG_CF_SCRUB, NULL,
};

/* ---- small helpers ----------------------------------------------------------------------- */

uint64_t fs_now_ms(const struct ms_fragstore *s)
{
    MS_ASSERT(s != NULL);
    struct ms_clock *clk = (struct ms_clock *)s->clock;
    MS_ASSERT(clk != NULL);
    return ms_clock_now_unix_ms(clk);
}

void fs_frag_name(const struct ms_fragstore_key *key, char name[FS_NAME_MAX])
{
    MS_ASSERT(key != NULL);
    MS_ASSERT(key->frag_index < MS_FRAGSTORE_MAX_INDEX);
    char hex[MS_OID_HEX_LEN + 1];
    ms_oid_to_hex(&key->oid, hex);
    int n = snprintf(name, FS_NAME_MAX, "%s.%u", hex, (unsigned)key->frag_index);
    MS_ASSERT(n > 0 && n < FS_NAME_MAX);
}

int fs_subdir_fd(const struct ms_fragstore *s, const struct ms_fragstore_key *key)
{
    MS_ASSERT(s != NULL && key != NULL);
    int fd = s->sub_fd[key->oid.b[0]];
    MS_ASSERT(fd >= 0);
    return fd;
}

static bool key_equal(const struct ms_fragstore_key *a, const struct ms_fragstore_key *b)
{
    return a->frag_index == b->frag_index && ms_oid_equal(&a->oid, &b->oid);
}

int fs_busy_acquire(struct ms_fragstore *s, const struct ms_fragstore_key *key)
{
    MS_ASSERT(s != NULL && key != NULL);
    int rc = 0;
    pthread_mutex_lock(&s->mu);
    MS_ASSERT(s->busy_count <= s->busy_cap);
    for (uint32_t i = 0; i < s->busy_count; i++) {
        if (key_equal(&s->busy[i], key)) {
            rc = -EBUSY;
            break;
        }
    }
    if (rc == 0 && s->busy_count == s->busy_cap)
        rc = -EAGAIN;
    if (rc == 0)
        s->busy[s->busy_count++] = *key;
    pthread_mutex_unlock(&s->mu);
    return rc;
}

void fs_busy_release(struct ms_fragstore *s, const struct ms_fragstore_key *key)
{
    MS_ASSERT(s != NULL && key != NULL);
    bool found = false;
    pthread_mutex_lock(&s->mu);
    for (uint32_t i = 0; i < s->busy_count; i++) {
        if (key_equal(&s->busy[i], key)) {
            s->busy[i] = s->busy[--s->busy_count];
            found = true;
            break;
        }
    }
    pthread_mutex_unlock(&s->mu);
    MS_ASSERT(found);
}

int fs_io_run(struct ms_io *port, struct ms_io_req *reqs, unsigned n, int *res)
{
    MS_ASSERT(n > 0 && n <= FS_IO_REQS_MAX);
    MS_ASSERT(port->inflight == 0);
    for (unsigned i = 0; i < n; i++)
        reqs[i].user_data = i;
    unsigned sub = 0, done = 0;
    int err = 0;
    while (done < n) {
        if (sub < n && err == 0) {
            int rc = ms_io_submit(port, reqs + sub, n - sub);
            if (rc > 0)
                sub += (unsigned)rc;
            else if (rc != -EAGAIN || sub == done)
                err = rc;
        }
        if (done == sub)
            break;
        struct ms_io_cqe cqes[FS_IO_REQS_MAX];
        int got = ms_io_wait(port, cqes, FS_IO_REQS_MAX, 1, -1);
        if (got == -EINTR)
            continue;
        if (got < 0)
            return got;
        for (int j = 0; j < got; j++) {
            MS_ASSERT(cqes[j].user_data < n);
            res[cqes[j].user_data] = cqes[j].res;
            done++;
        }
    }
    MS_ASSERT(err != 0 || done == n);
    return err;
}

/* ---- open: directories, memory, threads -------------------------------------------------- */

/* mkdirat (existing is fine) then opens the directory through the port. */
static int open_dir(struct ms_fragstore *s, int parent, const char *name, bool *created)
{
    MS_ASSERT(s != NULL && name != NULL);
    if (mkdirat(parent, name, 0700) == 0)
        *created = true;
    else if (errno != EEXIST)
        return -errno;
    int fd = ms_io_open(s->io, parent, name, O_RDONLY | O_DIRECTORY, 0);
    MS_ASSERT(fd != 0 || parent != AT_FDCWD);
    return fd;
}

/* Asks the filesystem to spread the subdirectories of dirfd over its allocation groups
 * (FS_TOPDIR_FL, ext2/3/4's Orlov hint for "top of a hierarchy"). Without it ext4 keeps all
 * 256 frags/xx near frags/, so every fragment's inode comes from one group, and there each
 * create scans past the group's recently freed inodes (tens to hundreds of us on this VM
 * kind's journal-less ext4, against ~11 us when spread). A hint only: failures are ignored. */
static void hint_spread_subdirs(int dirfd)
{
    MS_ASSERT(dirfd >= 0);
    MS_ASSERT(dirfd != AT_FDCWD);
    int flags = 0;
    if (ioctl(dirfd, FS_IOC_GETFLAGS, &flags) != 0 || (flags & FS_TOPDIR_FL))
        return;
    flags |= FS_TOPDIR_FL;
    if (ioctl(dirfd, FS_IOC_SETFLAGS, &flags) != 0)
        ms_log(MS_LOG_DEBUG, "node", "event=topdir_hint_refused err=%s", ms_err_name(-errno));
}

static int open_dirs(struct ms_fragstore *s, const char *data_dir)
{
    MS_ASSERT(data_dir != NULL && s->data_fd < 0);
    bool created = false;
    int fd = open_dir(s, AT_FDCWD, data_dir, &created);
    if (fd < 0)
        return fd;
    s->data_fd = fd;
    created = false;
    if ((fd = open_dir(s, s->data_fd, "frags", &created)) < 0)
        return fd;
    s->frags_fd = fd;
    if (created) /* before its subdirectories exist */
        hint_spread_subdirs(fd);
    if ((fd = open_dir(s, s->data_fd, "tmp", &created)) < 0)
        return fd;
    s->tmp_fd = fd;
    int rc = created ? ms_io_fsync_dir(s->io, s->data_fd) : 0;
    created = false;
    for (unsigned i = 0; i < FS_SUBDIRS && rc == 0; i++) {
        char name[4];
        snprintf(name, sizeof(name), "%02x", i);
        fd = open_dir(s, s->frags_fd, name, &created);
        if (fd < 0)
            return fd;
        s->sub_fd[i] = fd;
    }
    if (rc == 0 && created)
        rc = ms_io_fsync_dir(s->io, s->frags_fd);
    MS_ASSERT(rc != 0 || s->sub_fd[FS_SUBDIRS - 1] >= 0);
    return rc;
}

/* Registers slots [0, n) of the staging memory with port; true when it took them. */
static bool reg_port(struct ms_io *port, const struct iovec *iov, unsigned n)
{
    int rc = ms_io_register_buffers(port, iov, n);
    if (rc < 0)
        ms_log(MS_LOG_INFO, "node", "event=stage_register_skipped io=%s reason=%s",
               ms_io_name(port), ms_err_name(rc));
    return rc == 0;
}

/* Registers the staging buffers with every port that writes from them (write ports: staged
 * writes; sio: the tails written in commit rounds; io: staged writes without write ports), as
 * far as locked memory allows (RLIMIT_MEMLOCK minus the secrets' reserve, DESIGN.md "Facts of
 * this platform"; each registration pins its own pages). A fixed-buffer write skips pinning the
 * user pages for every request (get_user_pages), ~2.5 % of the node's CPU at 4 MiB puts. When
 * the budget cannot cover every port, io alone gets what fits; unregistered slots and ports
 * write from plain buffers. */
static void reg_stages(struct ms_fragstore *s, const struct iovec *iov)
{
    bool uring = strcmp(ms_io_name(s->io), "io_uring") == 0;
    size_t budget = uring ? ms_io_uring_memlock_budget() : SIZE_MAX;
    unsigned nports = 1 + (s->sio != s->io) + s->n_wio;
    size_t fit = budget / s->stage_bytes;
    bool all = fit / nports >= s->max_sessions;
    unsigned n_reg = fit < s->max_sessions ? (unsigned)fit : s->max_sessions;
    s->io_reg = n_reg > 0 && reg_port(s->io, iov, n_reg);
    s->registered = s->io_reg ? n_reg : 0;
    if (s->io_reg && all) {
        s->sio_reg = s->sio != s->io && reg_port(s->sio, iov, n_reg);
        for (unsigned i = 0; i < s->n_wio; i++)
            s->wio_reg[i] = reg_port(s->wio[i], iov, n_reg);
    }
    ms_log(MS_LOG_INFO, "node", "event=fragstore_buffers sessions=%u stage_bytes=%u "
           "registered=%u ports=%u all_ports=%s io=%s", s->max_sessions, s->stage_bytes,
           s->registered, nports, s->io_reg && all ? "yes" : "no", ms_io_name(s->io));
}

/* Allocates the session slots, their staging memory, the busy set and the zero buffer, and
 * registers the staging buffers (reg_stages). */
static int alloc_memory(struct ms_fragstore *s)
{
    MS_ASSERT(s->max_sessions > 0 && s->stage_bytes % FS_WRITE_CHUNK == 0);
    size_t total = (size_t)s->max_sessions * s->stage_bytes;
    s->stage_mem = aligned_alloc(FS_ALIGN, total);
    s->zeros = aligned_alloc(FS_ALIGN, FS_ZERO_BYTES);
    /* The codec's validator state holds 64-byte aligned XXH3 states: calloc is not enough. */
    size_t slots_bytes = (size_t)s->max_sessions * sizeof(*s->slots);
    s->slots = aligned_alloc(_Alignof(struct ms_fragstore_put), slots_bytes);
    if (s->slots) {
        memset(s->slots, 0, slots_bytes);
        for (uint32_t i = 0; i < s->max_sessions; i++)
            pthread_cond_init(&s->slots[i].done_cv, NULL);
    }
    s->busy_cap = s->max_sessions + FS_MAX_DELETES;
    s->busy = calloc(s->busy_cap, sizeof(*s->busy));
    if (!s->stage_mem || !s->zeros || !s->slots || !s->busy)
        return -ENOMEM;
    memset(s->zeros, 0, FS_ZERO_BYTES);
    struct iovec *iov = calloc(s->max_sessions, sizeof(*iov));
    if (!iov)
        return -ENOMEM;
    for (uint32_t i = 0; i < s->max_sessions; i++) {
        s->slots[i].slot = i;
        s->slots[i].store = s;
        s->slots[i].fd = -1;
        s->slots[i].stage = s->stage_mem + (size_t)i * s->stage_bytes;
        iov[i].iov_base = s->slots[i].stage;
        iov[i].iov_len = s->stage_bytes;
    }
    reg_stages(s, iov);
    free(iov);
    MS_ASSERT(s->slots[0].stage == s->stage_mem);
    return 0;
}

static void *committer_main(void *arg);
static int recover(struct ms_fragstore *s);

static int store_init(struct ms_fragstore *s, const struct ms_fragstore_opts *o)
{
    MS_ASSERT(s != NULL && o != NULL);
    s->io = o->io;
    s->sio = o->sync_io ? o->sync_io : o->io;
    s->clock = o->clock ? o->clock : ms_clock_real();
    s->data_fd = s->frags_fd = s->tmp_fd = -1;
    for (unsigned i = 0; i < FS_SUBDIRS; i++)
        s->sub_fd[i] = -1;
    s->try_direct = !o->no_direct;
    atomic_init(&s->direct, s->try_direct);
    s->group_commit = !o->no_group_commit;
    s->max_sessions = o->max_sessions ? o->max_sessions : FS_DEFAULT_SESSIONS;
    s->stage_bytes = o->stage_bytes ? o->stage_bytes : FS_DEFAULT_STAGE;
    if (s->max_sessions > FS_IO_BATCH_MAX || s->stage_bytes % FS_WRITE_CHUNK != 0)
        return -EINVAL;
    if (o->n_read_ios > MS_FRAGSTORE_READ_IOS_MAX || (o->n_read_ios > 0 && !o->read_ios))
        return -EINVAL;
    if (o->n_write_ios > MS_FRAGSTORE_WRITE_IOS_MAX || (o->n_write_ios > 0 && !o->write_ios))
        return -EINVAL;
    s->n_wio = o->n_write_ios;
    atomic_init(&s->wio_next, 0);
    for (unsigned i = 0; i < MS_FRAGSTORE_WRITE_IOS_MAX; i++) {
        pthread_mutex_init(&s->wio_mu[i], NULL);
        s->wio[i] = i < s->n_wio ? o->write_ios[i] : NULL;
    }
    s->n_rio = o->n_read_ios;
    atomic_init(&s->rio_next, 0);
    for (unsigned i = 0; i < MS_FRAGSTORE_READ_IOS_MAX; i++) {
        pthread_mutex_init(&s->rio_mu[i], NULL);
        s->rio[i] = i < s->n_rio ? o->read_ios[i] : NULL;
    }
    pthread_mutex_init(&s->io_mu, NULL);
    pthread_mutex_init(&s->sio_mu_own, NULL);
    s->sio_mu = s->sio == s->io ? &s->io_mu : &s->sio_mu_own;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->commit_cv, NULL);
    int rc = ms_catalog_init(&s->cat, o->kv);
    if (rc == 0)
        rc = open_dirs(s, o->data_dir);
    if (rc == 0)
        rc = alloc_memory(s);
    MS_ASSERT(s->clock != NULL);
    return rc;
}

int ms_fragstore_open(const struct ms_fragstore_opts *opts, struct ms_fragstore **out)
{
    MS_ASSERT(opts != NULL && out != NULL);
    if (!opts->data_dir || !opts->io || !opts->kv)
        return -EINVAL;
    MS_ASSERT(opts->io->ops != NULL && opts->kv->ops != NULL);
    struct ms_fragstore *s = calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    int rc = store_init(s, opts);
    if (rc == 0)
        rc = recover(s);
    for (unsigned i = 0; rc == 0 && s->group_commit && i < FS_COMMITTERS; i++) {
        rc = -pthread_create(&s->committer[i], NULL, committer_main, s);
        s->committers_started += rc == 0;
    }
    if (rc == 0 && opts->scrub_rate_bytes_per_s > 0)
        rc = ms_scrub_start(s, opts->scrub_rate_bytes_per_s);
    if (rc < 0) {
        ms_log(MS_LOG_ERROR, "node", "event=fragstore_open_failed err=%s", ms_err_name(rc));
        ms_fragstore_close(s);
        return rc;
    }
    ms_log(MS_LOG_INFO, "node", "event=fragstore_open fragments=%" PRIu64 " damaged=%" PRIu64,
           (uint64_t)atomic_load(&s->fragment_count), (uint64_t)atomic_load(&s->damaged_count));
    *out = s;
    return 0;
}

void fs_close_quietly(struct ms_io *port, int fd)
{
    MS_ASSERT(port != NULL && fd >= 0);
    int rc = ms_io_close(port, fd);
    if (rc < 0)
        ms_log(MS_LOG_DEBUG, "node", "event=close_failed err=%s", ms_err_name(rc));
}

static void close_fd(struct ms_fragstore *s, int *fd)
{
    if (*fd >= 0)
        fs_close_quietly(s->io, *fd);
    *fd = -1;
}

void ms_fragstore_close(struct ms_fragstore *s)
{
    if (!s)
        return;
    ms_scrub_stop(s);
    if (s->committers_started > 0) {
        pthread_mutex_lock(&s->mu);
        s->stopping = true;
        pthread_cond_broadcast(&s->commit_cv);
        pthread_mutex_unlock(&s->mu);
        for (unsigned i = 0; i < s->committers_started; i++)
            pthread_join(s->committer[i], NULL);
    }
    for (uint32_t i = 0; s->slots && i < s->max_sessions; i++) {
        if (s->slots[i].in_use) { /* a caller forgot its session: nothing may stay visible */
            ms_log(MS_LOG_WARN, "node", "event=close_aborts_session slot=%u", i);
            struct ms_fragstore_put *p = &s->slots[i];
            ms_fragstore_put_abort(&p);
        }
    }
    bool unreg_ok = !s->io_reg || ms_io_unregister_buffers(s->io) == 0;
    unreg_ok &= !s->sio_reg || ms_io_unregister_buffers(s->sio) == 0;
    for (unsigned i = 0; i < s->n_wio; i++)
        unreg_ok &= !s->wio_reg[i] || ms_io_unregister_buffers(s->wio[i]) == 0;
    if (!unreg_ok)
        ms_log(MS_LOG_WARN, "node", "event=unregister_buffers_failed");
    for (unsigned i = 0; i < FS_SUBDIRS; i++)
        close_fd(s, &s->sub_fd[i]);
    close_fd(s, &s->tmp_fd);
    close_fd(s, &s->frags_fd);
    close_fd(s, &s->data_fd);
    pthread_cond_destroy(&s->commit_cv);
    pthread_mutex_destroy(&s->mu);
    pthread_mutex_destroy(&s->sio_mu_own);
    pthread_mutex_destroy(&s->io_mu);
    for (unsigned i = 0; i < MS_FRAGSTORE_READ_IOS_MAX; i++)
        pthread_mutex_destroy(&s->rio_mu[i]);
    for (unsigned i = 0; i < MS_FRAGSTORE_WRITE_IOS_MAX; i++)
        pthread_mutex_destroy(&s->wio_mu[i]);
    free(s->busy);
    for (uint32_t i = 0; s->slots && i < s->max_sessions; i++)
        pthread_cond_destroy(&s->slots[i].done_cv);
    free(s->slots);
    free(s->zeros);
    free(s->stage_mem);
    free(s);
}

void ms_fragstore_commit_counters(struct ms_fragstore *s, uint64_t *rounds, uint64_t *fragments)
{
    MS_ASSERT(s != NULL);
    if (rounds)
        *rounds = atomic_load(&s->commit_rounds);
    if (fragments)
        *fragments = atomic_load(&s->commit_frags);
}

bool ms_fragstore_is_direct(const struct ms_fragstore *s)
{
    MS_ASSERT(s != NULL);
    return atomic_load(&((struct ms_fragstore *)s)->direct);
}

/* ---- open-time recovery ------------------------------------------------------------------ */

/* Parses "<32 hex>.<idx>" (idx decimal 0..31, no leading zeros). Returns 0 or -EINVAL. */
static int parse_frag_name(const char *name, struct ms_fragstore_key *key)
{
    MS_ASSERT(name != NULL && key != NULL);
    size_t len = strlen(name);
    if (len < MS_OID_HEX_LEN + 2 || len > MS_OID_HEX_LEN + 3 || name[MS_OID_HEX_LEN] != '.')
        return -EINVAL;
    if (ms_oid_from_hex(name, MS_OID_HEX_LEN, &key->oid) != 0)
        return -EINVAL;
    const char *d = name + MS_OID_HEX_LEN + 1;
    unsigned idx = 0;
    for (; *d; d++) {
        if (*d < '0' || *d > '9')
            return -EINVAL;
        idx = idx * 10 + (unsigned)(*d - '0');
    }
    if (idx >= MS_FRAGSTORE_MAX_INDEX)
        return -EINVAL;
    key->frag_index = (uint8_t)idx;
    char check[FS_NAME_MAX];
    fs_frag_name(key, check);
    return strcmp(check, name) == 0 ? 0 : -EINVAL; /* uppercase hex is not ours */
}

/* Calls file_cb for every entry of dirfd whose name does not start with '.'. Names are
 * copied first so the callback may unlink; file_cb returns 1 when it removed the file, 0 when
 * it kept it, or -errno. Returns the number removed, or the first error. */
static int for_each_file(struct ms_fragstore *s, int dirfd,
                         int (*file_cb)(struct ms_fragstore *s, int dirfd, const char *name))
{
    MS_ASSERT(s != NULL && dirfd >= 0);
    MS_ASSERT(file_cb != NULL);
    int dup_fd = dup(dirfd);
    if (dup_fd < 0)
        return -errno;
    DIR *d = fdopendir(dup_fd);
    if (!d) {
        close(dup_fd);
        return -errno;
    }
    rewinddir(d);
    char (*names)[FS_NAME_MAX] = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;
    for (struct dirent *e; rc == 0 && (e = readdir(d)) != NULL;) {
        if (e->d_name[0] == '.' || strlen(e->d_name) >= FS_NAME_MAX)
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            void *p = realloc(names, cap * sizeof(*names));
            if (!p)
                rc = -ENOMEM;
            else
                names = p;
        }
        if (rc == 0)
            memcpy(names[n++], e->d_name, strlen(e->d_name) + 1);
    }
    closedir(d);
    int removed = 0;
    for (size_t i = 0; i < n && rc >= 0; i++) {
        rc = file_cb(s, dirfd, names[i]);
        removed += rc > 0;
    }
    free(names);
    return rc < 0 ? rc : removed;
}

static int recover_tmp_file(struct ms_fragstore *s, int dirfd, const char *name)
{
    MS_ASSERT(dirfd == s->tmp_fd);
    ms_log(MS_LOG_INFO, "node", "event=recover_tmp action=wipe");
    int rc = ms_wipe_file(s, dirfd, name);
    return rc < 0 ? rc : 1;
}

static int recover_orphan_file(struct ms_fragstore *s, int dirfd, const char *name)
{
    MS_ASSERT(s != NULL && name != NULL);
    struct ms_fragstore_key key;
    if (parse_frag_name(name, &key) != 0 || fs_subdir_fd(s, &key) != dirfd) {
        ms_log(MS_LOG_WARN, "node", "event=recover_unknown_file action=keep");
        return 0;
    }
    struct ms_catalog_rec rec;
    int rc = ms_catalog_get(&s->cat, &key, &rec);
    if (rc == 0)
        return 0;
    if (rc != -MEDSTORE_ENOTFOUND)
        return rc;
    char hex[MS_OID_HEX_LEN + 1];
    ms_oid_to_hex(&key.oid, hex);
    ms_log(MS_LOG_WARN, "node", "event=recover_orphan oid=%s frag=%u action=wipe", hex,
           (unsigned)key.frag_index);
    rc = ms_wipe_file(s, dirfd, name);
    return rc < 0 ? rc : 1;
}

/* Checks that the file of a committed record exists with the recorded size. */
static int check_record(struct ms_fragstore *s, const struct ms_fragstore_key *key,
                        const struct ms_catalog_rec *rec)
{
    MS_ASSERT(rec->state == MS_CATALOG_COMMITTED);
    char name[FS_NAME_MAX];
    fs_frag_name(key, name);
    int fd = ms_io_open(s->io, fs_subdir_fd(s, key), name, O_RDONLY, 0);
    if (fd == -ENOENT) {
        ms_scrub_note(s, key, MS_SCRUB_MISSING, UINT32_MAX);
        return 0;
    }
    if (fd < 0)
        return fd;
    struct stat st;
    int rc = ms_io_fstat(s->io, fd, &st);
    fs_close_quietly(s->io, fd);
    if (rc == 0 && (uint64_t)st.st_size != rec->file_bytes)
        ms_scrub_note(s, key, MS_SCRUB_SIZE, UINT32_MAX);
    MS_ASSERT(rc <= 0);
    return rc;
}

/* Walks the catalogue: counts committed fragments, checks each file exists with its size. */
static int check_catalogue(struct ms_fragstore *s)
{
    MS_ASSERT(s != NULL && s->cat.kv != NULL);
    struct ms_kv_iter *it = NULL;
    int rc = ms_kv_iter_create(s->cat.kv, s->cat.cf_frags, NULL, 0, NULL, 0, &it);
    if (rc < 0)
        return rc;
    uint64_t count = 0;
    for (ms_kv_iter_seek_to_first(it); rc == 0 && ms_kv_iter_valid(it); ms_kv_iter_next(it)) {
        size_t klen = 0, vlen = 0;
        const void *k = ms_kv_iter_key(it, &klen);
        const void *v = ms_kv_iter_value(it, &vlen);
        struct ms_fragstore_key key;
        struct ms_catalog_rec rec;
        rc = ms_catalog_key_decode(k, klen, &key);
        if (rc == 0)
            rc = ms_catalog_rec_decode(v, vlen, &rec);
        if (rc == 0 && rec.state == MS_CATALOG_COMMITTED) {
            count++;
            rc = check_record(s, &key, &rec);
        }
    }
    if (rc == 0)
        rc = ms_kv_iter_status(it);
    ms_kv_iter_destroy(it);
    atomic_store(&s->fragment_count, count);
    MS_ASSERT(rc <= 0);
    return rc;
}

/* Open-time recovery, in order: pending wipes, temp files, orphans, catalogue check. */
static int recover(struct ms_fragstore *s)
{
    MS_ASSERT(s->tmp_fd >= 0 && s->frags_fd >= 0);
    int rc = ms_wipe_resume_all(s);
    pthread_mutex_lock(&s->io_mu);
    if (s->sio_mu != &s->io_mu)
        pthread_mutex_lock(s->sio_mu);
    if (rc == 0)
        rc = for_each_file(s, s->tmp_fd, recover_tmp_file);
    if (rc > 0) /* something was removed: make the unlinks durable */
        rc = ms_io_fsync_dir(s->sio, s->tmp_fd);
    for (unsigned i = 0; i < FS_SUBDIRS && rc >= 0; i++) {
        rc = for_each_file(s, s->sub_fd[i], recover_orphan_file);
        if (rc > 0)
            rc = ms_io_fsync_dir(s->sio, s->sub_fd[i]);
    }
    if (rc >= 0)
        rc = check_catalogue(s);
    if (s->sio_mu != &s->io_mu)
        pthread_mutex_unlock(s->sio_mu);
    pthread_mutex_unlock(&s->io_mu);
    int64_t damaged = rc == 0 ? ms_catalog_count(&s->cat, s->cat.cf_scrub) : 0;
    if (damaged < 0)
        rc = (int)damaged;
    else
        atomic_store(&s->damaged_count, (uint64_t)damaged);
    MS_ASSERT(rc <= 0);
    return rc;
}

/* ---- put: begin, append, abort ----------------------------------------------------------- */

static struct ms_fragstore_put *slot_acquire(struct ms_fragstore *s)
{
    struct ms_fragstore_put *p = NULL;
    pthread_mutex_lock(&s->mu);
    for (uint32_t i = 0; i < s->max_sessions && !p; i++) {
        if (!s->slots[i].in_use) {
            p = &s->slots[i];
            p->in_use = true;
        }
    }
    pthread_mutex_unlock(&s->mu);
    MS_ASSERT(p == NULL || p->store == s);
    return p;
}

static void slot_release(struct ms_fragstore_put *p)
{
    struct ms_fragstore *s = p->store;
    MS_ASSERT(p->in_use && p->fd < 0);
    pthread_mutex_lock(&s->mu);
    p->in_use = false;
    pthread_mutex_unlock(&s->mu);
}

/* Resets a fresh slot for key. The fragment's file is created only when the stage first
 * fills (session_open): a fragment that fits the stage touches the disk only at commit, and
 * an abort before then has nothing to wipe. */
static void session_start(struct ms_fragstore_put *p, const struct ms_fragstore_key *key,
                          const struct ms_frag_hdr *hdr, const uint8_t *hdr_bytes)
{
    struct ms_fragstore *s = p->store;
    MS_ASSERT(p->in_use && p->fd < 0);
    p->key = *key;
    p->hdr = *hdr;
    memcpy(p->hdr_csum, hdr_bytes + MS_FRAG_OFF_CSUM, MS_FRAG_CSUM_BYTES);
    p->err = 0;
    p->commit_done = false;
    p->commit_rc = 0;
    p->next_commit = NULL;
    p->stage_cap = s->stage_bytes;
    p->stage_off = 0;
    p->buf_index = p->slot < s->registered ? (int)p->slot : -1;
    memcpy(p->stage, hdr_bytes, MS_FRAG_HDR_BYTES);
    p->stage_len = MS_FRAG_HDR_BYTES;
    p->file_bytes = MS_FRAG_HDR_BYTES;
    p->alloc_end = 0;
    p->disk_bytes = 0;
    p->direct = false;
    ms_frag_check_init(&p->chk, hdr);
    MS_ASSERT(p->stage_len <= p->stage_cap);
}

/* Creates (O_EXCL) the fragment's file under its final name frags/xx/<oid>.<idx>; the name
 * is not visible through the store until the catalogue records the fragment committed. */
static int session_create(struct ms_fragstore_put *p, bool *direct)
{
    struct ms_fragstore *s = p->store;
    MS_ASSERT(p->in_use && p->fd < 0);
    MS_ASSERT(direct != NULL);
    char name[FS_NAME_MAX];
    fs_frag_name(&p->key, name);
    int dirfd = fs_subdir_fd(s, &p->key);
    int flags = O_WRONLY | O_CREAT | O_EXCL;
    *direct = false;
    /* No port lock: namespace operations are thread safe (io.h), so creates (which can cost
     * a cold inode allocation) run in parallel with each other and with data writes. */
    int fd = s->try_direct
                 ? ms_io_open_direct(s->io, dirfd, name, flags, 0600, direct)
                 : ms_io_open(s->io, dirfd, name, flags, 0600);
    if (fd != -EEXIST)
        return fd;
    /* A file without a committed record under our name (we hold the key and the catalogue
     * had no record): left by a put whose cleanup failed. It was never acknowledged; it
     * holds ciphertext, so it is wiped like an orphan, then the name is ours. */
    ms_log(MS_LOG_WARN, "node", "event=put_found_leftover action=wipe frag=%u",
           (unsigned)p->key.frag_index);
    pthread_mutex_lock(s->sio_mu);
    int rc = ms_wipe_file(s, dirfd, name);
    pthread_mutex_unlock(s->sio_mu);
    return rc < 0 ? rc : -EAGAIN;
}

/* Creates the session's file, O_DIRECT where the filesystem allows (written in aligned
 * chunks, the last one zero-padded), else buffered (exact length). */
static int session_open(struct ms_fragstore_put *p)
{
    struct ms_fragstore *s = p->store;
    MS_ASSERT(p->in_use && p->fd < 0);
    bool direct = false;
    int fd = session_create(p, &direct);
    if (fd == -EAGAIN) /* a leftover was wiped: once more */
        fd = session_create(p, &direct);
    if (fd < 0)
        return fd == -EAGAIN ? -EEXIST : fd;
    p->fd = fd;
    p->direct = direct;
    if (s->try_direct)
        atomic_store(&s->direct, direct);
    MS_ASSERT(p->fd >= 0 && (!direct || s->try_direct));
    return 0;
}

int ms_fragstore_put_begin(struct ms_fragstore *s, const struct ms_oid *oid, uint8_t frag_index,
                           const uint8_t *hdr, size_t hdr_len, struct ms_fragstore_put **out)
{
    MS_ASSERT(s != NULL && out != NULL);
    if (!oid || !hdr || frag_index >= MS_FRAGSTORE_MAX_INDEX)
        return -EINVAL;
    if (hdr_len < MS_FRAG_HDR_BYTES)
        return -MEDSTORE_ETRUNCATED;
    if (hdr_len != MS_FRAG_HDR_BYTES)
        return -MEDSTORE_EFORMAT;
    struct ms_frag_hdr h;
    int rc = ms_frag_hdr_decode(hdr, hdr_len, &h);
    if (rc < 0)
        return rc;
    if (!ms_oid_equal(&h.oid, oid) || h.frag_index != frag_index)
        return -MEDSTORE_EFORMAT;
    struct ms_fragstore_key key = {.oid = *oid, .frag_index = frag_index};
    if ((rc = fs_busy_acquire(s, &key)) < 0)
        return rc;
    struct ms_catalog_rec rec;
    rc = ms_catalog_get(&s->cat, &key, &rec);
    if (rc == 0)
        rc = rec.state == MS_CATALOG_COMMITTED ? -MEDSTORE_EEXIST : -EBUSY;
    else if (rc == -MEDSTORE_ENOTFOUND)
        rc = 0;
    struct ms_fragstore_put *p = NULL;
    if (rc == 0 && (p = slot_acquire(s)) == NULL)
        rc = -EAGAIN;
    if (rc < 0) {
        fs_busy_release(s, &key);
        return rc;
    }
    session_start(p, &key, &h, hdr);
    MS_ASSERT(p->fd < 0 && p->stage_len == MS_FRAG_HDR_BYTES);
    *out = p;
    return 0;
}

/* Takes a port for a stage write: a free write port if any (round robin), else waits for
 * one; io (under io_mu) when the store has no write ports. Returns the write port's index or
 * -1 for io; *port is the port, whose lock the caller then holds. */
static int wr_port_take(struct ms_fragstore *s, struct ms_io **port)
{
    MS_ASSERT(s != NULL && port != NULL);
    if (s->n_wio == 0) {
        pthread_mutex_lock(&s->io_mu);
        *port = s->io;
        return -1;
    }
    unsigned start = atomic_fetch_add(&s->wio_next, 1);
    unsigned i = start % s->n_wio;
    bool got = false;
    for (unsigned k = 0; k < s->n_wio && !got; k++) {
        i = (start + k) % s->n_wio;
        got = pthread_mutex_trylock(&s->wio_mu[i]) == 0;
    }
    if (!got) {
        i = start % s->n_wio;
        pthread_mutex_lock(&s->wio_mu[i]);
    }
    *port = s->wio[i];
    MS_ASSERT(*port != NULL);
    return (int)i;
}

static void wr_port_give(struct ms_fragstore *s, int i)
{
    MS_ASSERT(i < (int)s->n_wio);
    pthread_mutex_unlock(i < 0 ? &s->io_mu : &s->wio_mu[i]);
}

/* Preallocates the file of an O_DIRECT session ahead of a stage write of len bytes, so the
 * write lands inside the file (FS_PREALLOC_BYTES at a time). A filesystem without fallocate
 * just gets extending writes. Returns 0 or -errno (-ENOSPC: the disk is full). */
static int stage_prealloc(struct ms_fragstore_put *p, uint32_t len)
{
    uint64_t end = p->stage_off + len;
    if (!p->direct || end <= p->alloc_end)
        return 0;
    uint64_t want = end - p->stage_off > FS_PREALLOC_BYTES ? end - p->stage_off
                                                           : FS_PREALLOC_BYTES;
    int rc = ms_io_fallocate(p->store->io, p->fd, 0, p->stage_off, want);
    if (rc == -ENOTSUP || rc == -EOPNOTSUPP) {
        p->alloc_end = UINT64_MAX; /* never again for this session */
        return 0;
    }
    if (rc == 0)
        p->alloc_end = p->stage_off + want;
    MS_ASSERT(rc <= 0);
    return rc;
}

/* Writes stage[0..len) at stage_off in FS_WRITE_CHUNK requests, all in flight together, on a
 * write port (from the registered buffer where that port has it).
 * len is a multiple of FS_ALIGN when the file is O_DIRECT. */
static int stage_write(struct ms_fragstore_put *p, uint32_t len)
{
    struct ms_fragstore *s = p->store;
    MS_ASSERT(len <= p->stage_cap);
    MS_ASSERT(!p->direct || (len % FS_ALIGN == 0 && p->stage_off % FS_ALIGN == 0));
    int prc = stage_prealloc(p, len); /* a namespace operation: no port lock (io.h) */
    if (prc < 0)
        return prc;
    struct ms_io_req reqs[FS_IO_BATCH_MAX];
    int res[FS_IO_BATCH_MAX];
    struct ms_io *port = NULL;
    int wi = len > 0 ? wr_port_take(s, &port) : -1;
    bool port_reg = wi < 0 ? s->io_reg : s->wio_reg[wi];
    unsigned n = 0;
    for (uint32_t off = 0; off < len; off += FS_WRITE_CHUNK, n++) {
        MS_ASSERT(n < FS_IO_BATCH_MAX);
        uint32_t l = len - off < FS_WRITE_CHUNK ? len - off : FS_WRITE_CHUNK;
        reqs[n] = (struct ms_io_req){.op = MS_IO_WRITE, .fd = p->fd, .buf = p->stage + off,
                                     .len = l, .offset = p->stage_off + off,
                                     .buf_index = port_reg ? p->buf_index : -1};
    }
    if (n == 0)
        return 0;
    int rc = fs_io_run(port, reqs, n, res);
    for (unsigned i = 0; i < n && rc == 0; i++) {
        if (res[i] < 0)
            rc = res[i];
        else if ((size_t)res[i] < reqs[i].len) /* short write: finish it synchronously */
            rc = ms_io_pwrite_all(port, p->fd, (uint8_t *)reqs[i].buf + res[i],
                                  reqs[i].len - (size_t)res[i], reqs[i].offset + (size_t)res[i]);
    }
    wr_port_give(s, wi);
    return rc;
}

/* Copies validated bytes into the stage, writing it out whenever it fills. */
static int stage_bytes(struct ms_fragstore_put *p, const uint8_t *b, size_t len)
{
    MS_ASSERT(p->stage_len <= p->stage_cap);
    while (len > 0) {
        if (p->stage_len == p->stage_cap) { /* full: written only now that more bytes come */
            int rc = p->fd < 0 ? session_open(p) : 0;
            if (rc == 0)
                rc = stage_write(p, p->stage_cap);
            if (rc < 0)
                return rc;
            p->stage_off += p->stage_cap;
            p->stage_len = 0;
        }
        size_t room = p->stage_cap - p->stage_len;
        size_t take = len < room ? len : room;
        memcpy(p->stage + p->stage_len, b, take);
        p->stage_len += (uint32_t)take;
        p->file_bytes += take;
        b += take;
        len -= take;
    }
    MS_ASSERT(p->stage_off + p->stage_len == p->file_bytes);
    return 0;
}

int ms_fragstore_put_append(struct ms_fragstore_put *p, const uint8_t *bytes, size_t len)
{
    MS_ASSERT(p != NULL && p->in_use);
    if (p->err)
        return p->err;
    if (len == 0)
        return 0;
    if (!bytes)
        return p->err = -EINVAL;
    int rc = ms_frag_check_feed(&p->chk, bytes, len);
    if (rc == 0)
        rc = stage_bytes(p, bytes, len);
    if (rc < 0)
        p->err = rc;
    MS_ASSERT(rc <= 0);
    return rc;
}

/* Removes every trace of a put that will not be acknowledged: wipes the file (there is none
 * when the fragment never left the stage), syncs its directory, and releases the slot and the
 * key. A failure here (dead port) leaves a file without a committed record, which no read
 * sees and the next open's recovery (or the next put of the key) wipes. */
static void put_cleanup(struct ms_fragstore_put *p)
{
    struct ms_fragstore *s = p->store;
    MS_ASSERT(p->in_use);
    MS_ASSERT(s != NULL && p->next_commit == NULL);
    if (p->fd >= 0) {
        char name[FS_NAME_MAX];
        fs_frag_name(&p->key, name);
        int dirfd = fs_subdir_fd(s, &p->key);
        pthread_mutex_lock(s->sio_mu);
        int rc = ms_wipe_fd(s, p->fd, dirfd, name);
        if (rc == 0)
            rc = ms_io_fsync_dir(s->sio, dirfd);
        pthread_mutex_unlock(s->sio_mu);
        p->fd = -1;
        if (rc < 0)
            ms_log(MS_LOG_WARN, "node", "event=put_cleanup_failed err=%s", ms_err_name(rc));
    }
    struct ms_fragstore_key key = p->key;
    slot_release(p);
    fs_busy_release(s, &key);
}

void ms_fragstore_put_abort(struct ms_fragstore_put **pp)
{
    if (!pp || !*pp)
        return;
    struct ms_fragstore_put *p = *pp;
    *pp = NULL;
    MS_ASSERT(p->in_use && p->next_commit == NULL);
    put_cleanup(p);
}

/* ---- put: commit ------------------------------------------------------------------------- */

bool ms_fragstore_put_commit_is_quick(const struct ms_fragstore_put *p)
{
    MS_ASSERT(p != NULL && p->in_use);
    return p->err == 0 && p->fd < 0 && p->stage_off == 0 && p->file_bytes <= FS_ROUND_WRITE_MAX;
}

int ms_fragstore_put_stage(struct ms_fragstore_put *p, const uint8_t *bytes, size_t len,
                           size_t *taken)
{
    MS_ASSERT(p != NULL && p->in_use && taken != NULL);
    MS_ASSERT(p->stage_len <= p->stage_cap);
    *taken = 0;
    size_t room = p->stage_cap - p->stage_len;
    size_t n = len < room ? len : room;
    if (p->err || n == 0)
        return p->err;
    if (!bytes)
        return p->err = -EINVAL;
    int rc = ms_frag_check_feed(&p->chk, bytes, n);
    if (rc == 0)
        rc = stage_bytes(p, bytes, n); /* fits: copies, never writes */
    if (rc < 0)
        return p->err = rc;
    *taken = n;
    MS_ASSERT(p->stage_len <= p->stage_cap);
    return 0;
}

/* The length of the stage's last write: its bytes, zero-padded to FS_ALIGN when the file is
 * O_DIRECT (the padding stays: the file is the fragment plus < 4 KiB of zeros, and the
 * catalogue records both lengths; truncating to an unaligned length would make ext4 read the
 * last block back just to zero its tail). */
static uint32_t stage_pad(struct ms_fragstore_put *p)
{
    uint32_t len = p->stage_len;
    if (p->direct) {
        uint32_t padded = (len + FS_ALIGN - 1) / FS_ALIGN * FS_ALIGN;
        MS_ASSERT(padded <= p->stage_cap);
        memset(p->stage + len, 0, padded - len);
        len = padded;
    }
    return len;
}

/* Checks the stream is complete and writes the staged tail. A quick put (a small fragment,
 * at most FS_ROUND_WRITE_MAX, that never left the stage) leaves everything to its commit round,
 * which creates its file (open_in_round) and writes it with one write linked to its fdatasync
 * (tail_in_round), so the caller does no I/O at all. A longer one writes its tail here (both
 * zero-padded to FS_ALIGN under O_DIRECT, stage_pad) and truncates the preallocated rest. */
static int put_finish_stream(struct ms_fragstore_put *p)
{
    bool quick = ms_fragstore_put_commit_is_quick(p);
    int rc = ms_frag_check_finish(&p->chk);
    p->tail_in_round = false;
    p->open_in_round = false;
    if (rc < 0)
        return rc;
    MS_ASSERT(ms_frag_check_offset(&p->chk) == p->file_bytes);
    if (quick) {
        p->open_in_round = true;
        return 0;
    }
    if (p->fd < 0)
        rc = session_open(p);
    if (rc < 0)
        return rc;
    uint32_t len = stage_pad(p);
    rc = stage_write(p, len);
    p->disk_bytes = p->stage_off + len;
    bool longer = p->alloc_end > p->disk_bytes && p->alloc_end != UINT64_MAX;
    if (rc == 0 && longer) /* preallocation: a namespace op, no port lock (io.h) */
        rc = ms_io_ftruncate(p->store->io, p->fd, p->disk_bytes);
    MS_ASSERT(p->disk_bytes >= p->file_bytes && p->disk_bytes - p->file_bytes < FS_ALIGN);
    return rc;
}

/* A round's sync batch and, per put (by list position), which requests cover it. */
struct round_plan {
    struct ms_io_req reqs[FS_ROUND_REQS_MAX];
    unsigned n;
    unsigned write_i[FS_IO_BATCH_MAX]; /* the put's linked tail write, when tail_in_round */
    unsigned data_i[FS_IO_BATCH_MAX];  /* the put's fdatasync */
    unsigned dir_i[FS_IO_BATCH_MAX];   /* the FSYNC of the put's frags/xx */
};

/* Plans the sync batch of a round: per put its fdatasync (preceded by its whole-file write,
 * linked, for a small fragment), then one directory FSYNC for each distinct frags/xx (the
 * creates of the round's files become durable). */
static void round_plan_make(struct ms_fragstore *s, struct ms_fragstore_put *list,
                            struct round_plan *pl)
{
    int dir_req[FS_SUBDIRS];
    for (unsigned d = 0; d < FS_SUBDIRS; d++)
        dir_req[d] = -1;
    struct ms_io_req *reqs = pl->reqs;
    unsigned n = 0, k = 0;
    unsigned live = 0;
    bool sio_reg = s->sio == s->io ? s->io_reg : s->sio_reg; /* the stages are registered */
    for (struct ms_fragstore_put *p = list; p; p = p->next_commit, k++) {
        if (p->commit_rc != 0) /* its file could not be created: not in the batch */
            continue;
        live++;
        if (p->tail_in_round)
            reqs[pl->write_i[k] = n++] = (struct ms_io_req){
                .op = MS_IO_WRITE, .flags = MS_IO_LINK, .fd = p->fd, .buf = p->stage,
                .len = p->tail_len, .offset = 0, .buf_index = sio_reg ? p->buf_index : -1};
        reqs[pl->data_i[k] = n++] = (struct ms_io_req){.op = MS_IO_FDATASYNC, .fd = p->fd,
                                                         .buf_index = -1};
    }
    k = 0;
    for (struct ms_fragstore_put *p = list; p; p = p->next_commit, k++) {
        if (p->commit_rc != 0)
            continue;
        unsigned d = p->key.oid.b[0];
        if (dir_req[d] < 0) {
            dir_req[d] = (int)n;
            reqs[n++] = (struct ms_io_req){.op = MS_IO_FSYNC, .fd = s->sub_fd[d], .buf_index = -1};
        }
        pl->dir_i[k] = (unsigned)dir_req[d];
    }
    pl->n = n;
    MS_ASSERT(n <= FS_ROUND_REQS_MAX);
    MS_ASSERT(live <= k);
    MS_ASSERT(n == 0 ? live == 0 : n > live && n <= 3 * live); /* fdatasyncs, writes, dirs */
}

/* A put's write + fdatasync chain after the batch: a short write (res >= 0 but < len) cut the
 * chain, so the rest is written and synced synchronously here. Returns 0 or -errno. The
 * caller holds *sio_mu. */
static int round_tail_result(struct ms_fragstore *s, struct ms_fragstore_put *p, int wres,
                             int sres)
{
    MS_ASSERT(p->tail_in_round);
    if (wres < 0)
        return wres;
    if ((size_t)wres == p->tail_len)
        return sres;
    int rc = ms_io_pwrite_all(s->sio, p->fd, p->stage + wres, p->tail_len - (size_t)wres,
                              (uint64_t)wres);
    if (rc == 0)
        rc = ms_io_fdatasync(s->sio, p->fd);
    MS_ASSERT(rc <= 0);
    return rc;
}

/* Runs the round's syncs as one concurrent batch on the sync port: every fdatasync and every
 * directory fsync are in flight together, so the round waits about one sync, not one per
 * file and directory. A put fails with its file's or its directory's sync failure. The
 * caller holds *sio_mu. */
static void round_sync(struct ms_fragstore *s, struct ms_fragstore_put *list)
{
    struct round_plan pl;
    int res[FS_ROUND_REQS_MAX];
    round_plan_make(s, list, &pl);
    MS_ASSERT(pl.n <= FS_ROUND_REQS_MAX);
    int rc = pl.n > 0 ? fs_io_run(s->sio, pl.reqs, pl.n, res) : 0;
    unsigned k = 0;
    for (struct ms_fragstore_put *p = list; p; p = p->next_commit, k++) {
        if (p->commit_rc != 0)
            continue;
        int r = rc;
        int data = r == 0 ? res[pl.data_i[k]] : r;
        if (r == 0 && p->tail_in_round)
            data = round_tail_result(s, p, res[pl.write_i[k]], data);
        if (r == 0)
            r = data < 0 ? data : res[pl.dir_i[k]];
        p->commit_rc = r < 0 ? r : 0;
    }
    MS_ASSERT(k > 0 && k <= FS_IO_BATCH_MAX);
}

/* Writes the catalogue records of every surviving put in one synced batch. */
static void round_catalogue(struct ms_fragstore *s, struct ms_fragstore_put *list)
{
    MS_ASSERT(list != NULL);
    struct ms_kv_batch b;
    ms_kv_batch_init(&b);
    uint64_t now = fs_now_ms(s);
    int rc = 0;
    unsigned n = 0;
    for (struct ms_fragstore_put *p = list; p && rc == 0; p = p->next_commit) {
        if (p->commit_rc != 0)
            continue;
        struct ms_catalog_rec rec = {
            .state = MS_CATALOG_COMMITTED, .segment_count = ms_frag_check_records(&p->chk),
            .logical_bytes = p->file_bytes, .file_bytes = p->disk_bytes, .created_ms = now};
        memcpy(rec.header_checksum, p->hdr_csum, sizeof(rec.header_checksum));
        rc = ms_catalog_batch_put(&s->cat, &b, &p->key, &rec);
        n++;
    }
    if (rc == 0 && n > 0)
        rc = ms_kv_write(s->cat.kv, &b, true);
    ms_kv_batch_fini(&b);
    for (struct ms_fragstore_put *p = list; p; p = p->next_commit) {
        if (p->commit_rc == 0 && rc != 0)
            p->commit_rc = rc;
    }
    MS_ASSERT(rc <= 0);
}

/* First phase of a commit round over puts whose data is staged or written: every (linked)
 * tail write, fdatasync and directory fsync in one concurrent batch on the sync port. Sets
 * each commit_rc. */
static void round_sync_phase(struct ms_fragstore *s, struct ms_fragstore_put *list)
{
    unsigned n = 0;
    for (struct ms_fragstore_put *p = list; p; p = p->next_commit, n++) {
        MS_ASSERT(n < FS_IO_BATCH_MAX);
        p->commit_rc = 0;
        if (p->open_in_round) { /* a quick put: its file is created here (no port lock) */
            p->open_in_round = false;
            p->commit_rc = session_open(p);
            p->tail_in_round = p->commit_rc == 0;
            p->tail_len = p->tail_in_round ? stage_pad(p) : 0;
            p->disk_bytes = p->tail_len;
        }
        MS_ASSERT(p->commit_rc != 0 || p->fd >= 0);
    }
    pthread_mutex_lock(s->sio_mu);
    round_sync(s, list);
    pthread_mutex_unlock(s->sio_mu);
    MS_ASSERT(n > 0);
}

/* Second phase: one synced catalogue batch for the puts whose syncs succeeded (it runs while
 * the next round syncs), then their fds are closed. */
static void round_finish_phase(struct ms_fragstore *s, struct ms_fragstore_put *list)
{
    MS_ASSERT(s != NULL && list != NULL);
    round_catalogue(s, list);
    unsigned ok = 0, n = 0;
    for (struct ms_fragstore_put *p = list; p; p = p->next_commit, n++) {
        if (p->commit_rc == 0) { /* close needs no port lock (io.h) */
            fs_close_quietly(s->sio, p->fd);
            p->fd = -1;
            ok++;
        }
    }
    atomic_fetch_add(&s->fragment_count, ok);
    atomic_fetch_add(&s->commit_rounds, 1);
    atomic_fetch_add(&s->commit_frags, n);
    MS_ASSERT(ok <= n);
}

/* A committer thread. The FS_COMMITTERS threads form a two-stage pipeline: the one whose turn
 * it is (s->syncing) takes the whole queue and runs its sync phase; as soon as that is done
 * the next one may take the queue that built up meanwhile and sync it, while this one writes
 * its round's catalogue batch. Each record is still written only after its own round's
 * syncs completed; rounds never share a put. */
static void put_complete_async(struct ms_fragstore_put *p, int rc);

static void *committer_main(void *arg)
{
    struct ms_fragstore *s = arg;
    MS_ASSERT(s != NULL && s->group_commit);
    pthread_mutex_lock(&s->mu);
    for (;;) {
        while ((s->commit_head == NULL || s->syncing) && !(s->stopping && !s->commit_head))
            pthread_cond_wait(&s->commit_cv, &s->mu);
        if (!s->commit_head)
            break;
        struct ms_fragstore_put *list = s->commit_head;
        s->commit_head = s->commit_tail = NULL;
        s->syncing = true;
        pthread_mutex_unlock(&s->mu);
        round_sync_phase(s, list);
        pthread_mutex_lock(&s->mu);
        s->syncing = false;
        pthread_cond_broadcast(&s->commit_cv); /* the next round may sync now */
        pthread_mutex_unlock(&s->mu);
        round_finish_phase(s, list);
        pthread_mutex_lock(&s->mu);
        struct ms_fragstore_put *async = NULL;
        for (struct ms_fragstore_put *p = list, *next; p; p = next) {
            next = p->next_commit;
            if (p->done_cb != NULL) { /* finished below, outside the lock */
                p->next_commit = async;
                async = p;
                continue;
            }
            p->next_commit = NULL;
            p->commit_done = true;
            pthread_cond_signal(&p->done_cv); /* only its own caller: no thundering herd */
        }
        pthread_mutex_unlock(&s->mu);
        for (struct ms_fragstore_put *p = async, *next; p; p = next) {
            next = p->next_commit;
            p->next_commit = NULL;
            put_complete_async(p, p->commit_rc);
        }
        pthread_mutex_lock(&s->mu);
    }
    pthread_mutex_unlock(&s->mu);
    MS_ASSERT(s->commit_head == NULL);
    return NULL;
}

/* Appends p to the commit queue and wakes a committer. The caller holds s->mu. */
static void commit_enqueue(struct ms_fragstore *s, struct ms_fragstore_put *p)
{
    MS_ASSERT(s->committers_started > 0);
    MS_ASSERT(!s->stopping);
    p->next_commit = NULL;
    p->commit_done = false;
    if (s->commit_tail)
        s->commit_tail->next_commit = p;
    else
        s->commit_head = p;
    s->commit_tail = p;
    pthread_cond_signal(&s->commit_cv);
}

/* Queues p for the committer and waits for its round. */
static int commit_queued(struct ms_fragstore *s, struct ms_fragstore_put *p)
{
    pthread_mutex_lock(&s->mu);
    commit_enqueue(s, p);
    while (!p->commit_done)
        pthread_cond_wait(&p->done_cv, &s->mu);
    int rc = p->commit_rc;
    pthread_mutex_unlock(&s->mu);
    return rc;
}

/* The end of every commit: a failed put is wiped (nothing visible), a committed one gives its
 * slot and key back. Returns rc. */
static int put_complete(struct ms_fragstore_put *p, int rc)
{
    struct ms_fragstore *s = p->store;
    MS_ASSERT(rc <= 0 && p->next_commit == NULL);
    if (rc < 0) {
        put_cleanup(p);
        return rc;
    }
    MS_ASSERT(p->fd < 0);
    struct ms_fragstore_key key = p->key;
    slot_release(p);
    fs_busy_release(s, &key);
    return 0;
}

static void put_complete_async(struct ms_fragstore_put *p, int rc)
{
    ms_fragstore_done_cb cb = p->done_cb;
    void *arg = p->done_arg;
    MS_ASSERT(cb != NULL);
    p->done_cb = NULL;
    p->done_arg = NULL;
    rc = put_complete(p, rc); /* p is free from here on */
    cb(arg, rc);
}

/* Without group commit a put is its own round, synced on the caller's thread. */
static int commit_alone(struct ms_fragstore *s, struct ms_fragstore_put *p)
{
    p->next_commit = NULL;
    round_sync_phase(s, p);
    round_finish_phase(s, p);
    return p->commit_rc;
}

int ms_fragstore_put_commit(struct ms_fragstore_put **pp)
{
    MS_ASSERT(pp != NULL && *pp != NULL);
    struct ms_fragstore_put *p = *pp;
    struct ms_fragstore *s = p->store;
    *pp = NULL;
    MS_ASSERT(p->in_use && p->next_commit == NULL && p->done_cb == NULL);
    int rc = p->err ? p->err : put_finish_stream(p);
    if (rc == 0)
        rc = s->group_commit ? commit_queued(s, p) : commit_alone(s, p);
    return put_complete(p, rc);
}

void ms_fragstore_put_commit_async(struct ms_fragstore_put **pp, ms_fragstore_done_cb done_cb,
                                   void *arg)
{
    MS_ASSERT(pp != NULL && *pp != NULL && done_cb != NULL);
    struct ms_fragstore_put *p = *pp;
    struct ms_fragstore *s = p->store;
    *pp = NULL;
    MS_ASSERT(p->in_use && p->next_commit == NULL && p->done_cb == NULL);
    p->done_cb = done_cb;
    p->done_arg = arg;
    int rc = p->err ? p->err : put_finish_stream(p);
    if (rc == 0 && s->group_commit) {
        pthread_mutex_lock(&s->mu);
        commit_enqueue(s, p); /* the committer calls done_cb */
        pthread_mutex_unlock(&s->mu);
        return;
    }
    if (rc == 0)
        rc = commit_alone(s, p);
    put_complete_async(p, rc);
}

/* ---- reads ------------------------------------------------------------------------------- */

/* An open committed fragment with its header and index verified. */
struct reader {
    struct ms_fragstore *s;
    struct ms_fragstore_key key;
    int fd;
    uint64_t size;
    struct ms_frag_hdr hdr;
    uint8_t hdr_bytes[MS_FRAG_HDR_BYTES];
    uint8_t *idx_bytes;               /* the index block + footer, verified */
    uint64_t idx_off;
    size_t idx_len;
    struct ms_frag_idx_entry *entries;
    uint32_t n;
    uint8_t *rec_buf;                 /* one record */
    size_t rec_cap;
    bool cold;                        /* verify the disk, not the page cache (scrub, verify) */
};

/* Takes a read port: a free one if any, else waits for one (round robin). Returns its index,
 * or -1 for the data port io (no read ports configured). */
static int rd_port_take(struct ms_fragstore *s)
{
    if (s->n_rio == 0) {
        pthread_mutex_lock(&s->io_mu);
        return -1;
    }
    unsigned start = atomic_fetch_add(&s->rio_next, 1);
    for (unsigned k = 0; k < s->n_rio; k++) {
        unsigned i = (start + k) % s->n_rio;
        if (pthread_mutex_trylock(&s->rio_mu[i]) == 0)
            return (int)i;
    }
    unsigned i = start % s->n_rio;
    pthread_mutex_lock(&s->rio_mu[i]);
    MS_ASSERT(s->rio[i] != NULL);
    return (int)i;
}

static struct ms_io *rd_port(struct ms_fragstore *s, int i)
{
    MS_ASSERT(i < (int)s->n_rio);
    return i < 0 ? s->io : s->rio[i];
}

static void rd_port_give(struct ms_fragstore *s, int i)
{
    MS_ASSERT(i < (int)s->n_rio);
    pthread_mutex_unlock(i < 0 ? &s->io_mu : &s->rio_mu[i]);
}

static int rd_pread(struct reader *r, void *buf, size_t len, uint64_t off)
{
    MS_ASSERT(r->fd >= 0);
    MS_ASSERT(off + len <= r->size);
    int port = rd_port_take(r->s);
    int rc = ms_io_pread_all(rd_port(r->s, port), r->fd, buf, len, off, NULL);
    rd_port_give(r->s, port);
    if (rc == -MEDSTORE_ETRUNCATED)
        rc = MS_CORRUPT(); /* the file shrank under us */
    return rc;
}

/* Marks damage, returns -MEDSTORE_ECORRUPT (or keeps an I/O error as such). */
static int rd_damage(struct reader *r, int rc, enum ms_scrub_reason why, uint32_t record)
{
    MS_ASSERT(rc < 0);
    if (rc == -MEDSTORE_ECORRUPT || rc == -MEDSTORE_EFORMAT || rc == -MEDSTORE_ETRUNCATED ||
        rc == -MEDSTORE_EVERSION || rc == -MEDSTORE_EUNSUPPORTED || rc == -MEDSTORE_ERANGE)
        return ms_scrub_note(r->s, &r->key, why, record) < 0 ? -MEDSTORE_ENOTFOUND
                                                             : -MEDSTORE_ECORRUPT;
    if (rc == -EIO && ms_scrub_note(r->s, &r->key, MS_SCRUB_IO, record) < 0)
        return -MEDSTORE_ENOTFOUND;
    return rc;
}

static int rd_index(struct reader *r)
{
    MS_ASSERT(r->fd >= 0 && r->idx_bytes == NULL);
    uint8_t ftr_bytes[MS_FRAG_IDX_FOOTER_BYTES];
    if (r->size < MS_FRAG_HDR_BYTES + MS_FRAG_IDX_FOOTER_BYTES)
        return rd_damage(r, -MEDSTORE_ETRUNCATED, MS_SCRUB_SIZE, UINT32_MAX);
    int rc = rd_pread(r, ftr_bytes, sizeof(ftr_bytes), r->size - sizeof(ftr_bytes));
    struct ms_frag_idx_footer ftr;
    if (rc == 0)
        rc = ms_frag_index_footer_decode(ftr_bytes, sizeof(ftr_bytes), r->size, &ftr);
    if (rc < 0)
        return rd_damage(r, rc, MS_SCRUB_INDEX, UINT32_MAX);
    r->n = ftr.segment_count;
    r->idx_len = (size_t)ms_frag_index_bytes(r->n);
    r->idx_off = r->size - r->idx_len;
    r->idx_bytes = malloc(r->idx_len);
    r->entries = malloc(((size_t)r->n + 1) * sizeof(*r->entries));
    if (!r->idx_bytes || !r->entries)
        return -ENOMEM;
    rc = rd_pread(r, r->idx_bytes, r->idx_len, r->idx_off);
    if (rc == 0)
        rc = ms_frag_index_decode(r->idx_bytes, r->idx_len, r->size, &r->hdr, r->entries, r->n);
    if (rc < 0)
        return rd_damage(r, rc, MS_SCRUB_INDEX, UINT32_MAX);
    MS_ASSERT((uint32_t)rc == r->n);
    return 0;
}

/* Opens key's committed file and verifies its size, header and index against rec. */
static int rd_open(struct reader *r, struct ms_fragstore *s, const struct ms_fragstore_key *key,
                   const struct ms_catalog_rec *rec, bool cold)
{
    memset(r, 0, sizeof(*r));
    r->s = s;
    r->cold = cold;
    r->key = *key;
    r->size = rec->logical_bytes;
    char name[FS_NAME_MAX];
    fs_frag_name(key, name);
    int port = rd_port_take(s);
    r->fd = ms_io_open(rd_port(s, port), fs_subdir_fd(s, key), name, O_RDONLY, 0);
    struct stat st;
    int rc = r->fd >= 0 ? ms_io_fstat(rd_port(s, port), r->fd, &st) : r->fd;
    rd_port_give(s, port);
    if (rc == -ENOENT)
        return rd_damage(r, MS_CORRUPT(), MS_SCRUB_MISSING, UINT32_MAX);
    if (rc < 0)
        return rc;
    /* Committed files are clean in the page cache: dropping them makes scrub and verify read
     * the disk, where bit rot lives (advice only; reads still go through the port). */
    if (r->cold)
        (void)posix_fadvise(r->fd, 0, 0, POSIX_FADV_DONTNEED);
    if ((uint64_t)st.st_size != rec->file_bytes)
        return rd_damage(r, MS_CORRUPT(), MS_SCRUB_SIZE, UINT32_MAX);
    rc = rd_pread(r, r->hdr_bytes, MS_FRAG_HDR_BYTES, 0);
    if (rc == 0)
        rc = ms_frag_hdr_decode(r->hdr_bytes, MS_FRAG_HDR_BYTES, &r->hdr);
    if (rc == 0 && (memcmp(r->hdr_bytes + MS_FRAG_OFF_CSUM, rec->header_checksum, 16) != 0 ||
                    !ms_oid_equal(&r->hdr.oid, &key->oid) ||
                    r->hdr.frag_index != key->frag_index))
        rc = MS_CORRUPT();
    if (rc < 0)
        return rd_damage(r, rc, MS_SCRUB_HEADER, UINT32_MAX);
    rc = rd_index(r);
    if (rc == 0 && r->n != rec->segment_count)
        rc = rd_damage(r, MS_CORRUPT(), MS_SCRUB_INDEX, UINT32_MAX);
    MS_ASSERT(rc != 0 || r->n == rec->segment_count);
    return rc;
}

static void rd_close(struct reader *r)
{
    if (r->fd >= 0 && r->cold) /* and do not leave scrub's reads to evict hot data */
        (void)posix_fadvise(r->fd, 0, 0, POSIX_FADV_DONTNEED);
    if (r->fd >= 0) {
        int port = rd_port_take(r->s);
        fs_close_quietly(rd_port(r->s, port), r->fd);
        rd_port_give(r->s, port);
    }
    free(r->idx_bytes);
    free(r->entries);
    free(r->rec_buf);
    r->fd = -1;
}

/* Reads and verifies record i into rec_buf. */
static int rd_record(struct reader *r, uint32_t i)
{
    MS_ASSERT(i < r->n);
    const struct ms_frag_idx_entry *e = &r->entries[i];
    if (e->rec_len_bytes > r->rec_cap) {
        free(r->rec_buf);
        r->rec_buf = malloc(e->rec_len_bytes);
        r->rec_cap = r->rec_buf ? e->rec_len_bytes : 0;
        if (!r->rec_buf)
            return -ENOMEM;
    }
    int rc = rd_pread(r, r->rec_buf, e->rec_len_bytes, e->rec_offset);
    struct ms_frag_rec rec;
    const uint8_t *payload = NULL;
    size_t consumed = 0;
    if (rc == 0)
        rc = ms_frag_record_check(r->rec_buf, e->rec_len_bytes, &r->hdr, &rec, &payload,
                                  &consumed);
    if (rc == 0 && (consumed != e->rec_len_bytes || rec.segment_index != i))
        rc = MS_CORRUPT();
    if (rc < 0)
        return rd_damage(r, rc, MS_SCRUB_CHECKSUM, i);
    MS_ASSERT(payload == r->rec_buf + MS_FRAG_REC_HDR_BYTES);
    return 0;
}

/* Hands the part of [base, base + len) (bytes at data) inside [lo, hi) to the sink. */
static int deliver(const uint8_t *data, uint64_t base, uint64_t len, uint64_t lo, uint64_t hi,
                   int (*sink_cb)(void *, uint64_t, const uint8_t *, size_t), void *arg)
{
    uint64_t a = base > lo ? base : lo;
    uint64_t b = base + len < hi ? base + len : hi;
    if (a >= b || !sink_cb)
        return 0;
    MS_ASSERT(a - base < len && b - base <= len);
    return sink_cb(arg, a, data + (a - base), (size_t)(b - a));
}

/* Delivers verified bytes [lo, hi) of the open fragment: header, records, index. */
static int rd_bytes(struct reader *r, uint64_t lo, uint64_t hi,
                    int (*sink_cb)(void *, uint64_t, const uint8_t *, size_t), void *arg)
{
    MS_ASSERT(lo < hi && hi <= r->size);
    int rc = deliver(r->hdr_bytes, 0, MS_FRAG_HDR_BYTES, lo, hi, sink_cb, arg);
    for (uint32_t i = 0; i < r->n && rc == 0; i++) {
        const struct ms_frag_idx_entry *e = &r->entries[i];
        if (e->rec_offset >= hi)
            break;
        if (e->rec_offset + e->rec_len_bytes <= lo)
            continue;
        rc = rd_record(r, i);
        if (rc == 0)
            rc = deliver(r->rec_buf, e->rec_offset, e->rec_len_bytes, lo, hi, sink_cb, arg);
    }
    if (rc == 0)
        rc = deliver(r->idx_bytes, r->idx_off, r->idx_len, lo, hi, sink_cb, arg);
    return rc;
}

/* Delivers whole verified records of segments [first, first + count). */
static int rd_segments(struct reader *r, uint64_t first, uint64_t count,
                       int (*sink_cb)(void *, uint64_t, const uint8_t *, size_t), void *arg)
{
    MS_ASSERT(r->fd >= 0 && count > 0);
    uint64_t off = 0, len = 0;
    if (first > UINT32_MAX || count > UINT32_MAX ||
        ms_frag_locate_segments(r->entries, r->n, (uint32_t)first, (uint32_t)count, &off,
                                &len) != 0)
        return -MEDSTORE_ERANGE;
    MS_ASSERT(first + count <= r->n);
    int rc = 0;
    for (uint32_t i = (uint32_t)first; i < first + count && rc == 0; i++) {
        const struct ms_frag_idx_entry *e = &r->entries[i];
        rc = rd_record(r, i);
        if (rc == 0 && sink_cb)
            rc = sink_cb(arg, e->rec_offset, r->rec_buf, e->rec_len_bytes);
    }
    return rc;
}

static int get_record_of(struct ms_fragstore *s, const struct ms_fragstore_key *key,
                         struct ms_catalog_rec *rec)
{
    if (!key || key->frag_index >= MS_FRAGSTORE_MAX_INDEX)
        return -EINVAL;
    int rc = ms_catalog_get(&s->cat, key, rec);
    if (rc == 0 && rec->state != MS_CATALOG_COMMITTED)
        rc = -MEDSTORE_ENOTFOUND;
    MS_ASSERT(rc != 0 || rec->state == MS_CATALOG_COMMITTED);
    return rc;
}

static int get_range(struct ms_fragstore *s, const struct ms_fragstore_key *key,
                     const struct ms_catalog_rec *rec, const struct ms_fragstore_range *range,
                     bool cold, int (*sink_cb)(void *, uint64_t, const uint8_t *, size_t),
                     void *arg)
{
    MS_ASSERT(range != NULL);
    MS_ASSERT(rec->state == MS_CATALOG_COMMITTED);
    uint64_t size = rec->logical_bytes;
    if (range->kind == MS_FRAGSTORE_RANGE_BYTES &&
        (range->count == 0 || range->first >= size || range->count > size - range->first))
        return -MEDSTORE_ERANGE;
    if (range->kind == MS_FRAGSTORE_RANGE_SEGMENTS &&
        (range->count == 0 || range->first >= rec->segment_count ||
         range->count > rec->segment_count - range->first))
        return -MEDSTORE_ERANGE;
    if (range->kind > MS_FRAGSTORE_RANGE_SEGMENTS)
        return -EINVAL;
    struct reader r;
    int rc = rd_open(&r, s, key, rec, cold);
    if (rc == 0 && range->kind == MS_FRAGSTORE_RANGE_SEGMENTS)
        rc = rd_segments(&r, range->first, range->count, sink_cb, arg);
    else if (rc == 0 && range->kind == MS_FRAGSTORE_RANGE_BYTES)
        rc = rd_bytes(&r, range->first, range->first + range->count, sink_cb, arg);
    else if (rc == 0)
        rc = rd_bytes(&r, 0, size, sink_cb, arg);
    rd_close(&r);
    return rc;
}

int ms_fragstore_get(struct ms_fragstore *s, const struct ms_fragstore_key *key,
                     const struct ms_fragstore_range *range,
                     int (*sink_cb)(void *arg, uint64_t offset, const uint8_t *data, size_t len),
                     void *arg)
{
    MS_ASSERT(s != NULL);
    MS_ASSERT(sink_cb != NULL);
    if (!range)
        return -EINVAL;
    struct ms_catalog_rec rec;
    int rc = get_record_of(s, key, &rec);
    if (rc < 0)
        return rc;
    return get_range(s, key, &rec, range, false, sink_cb, arg);
}

struct buf_sink {
    uint8_t *buf;
    size_t cap;
    size_t len;
};

static int buf_sink_cb(void *arg, uint64_t offset, const uint8_t *data, size_t len)
{
    struct buf_sink *b = arg;
    (void)offset;
    if (len > b->cap - b->len)
        return -ENOBUFS;
    memcpy(b->buf + b->len, data, len);
    b->len += len;
    MS_ASSERT(b->len <= b->cap);
    return 0;
}

int ms_fragstore_get_buf(struct ms_fragstore *s, const struct ms_fragstore_key *key,
                         const struct ms_fragstore_range *range, uint8_t *buf, size_t cap,
                         size_t *out_len)
{
    MS_ASSERT(out_len != NULL);
    MS_ASSERT(buf != NULL || cap == 0);
    struct buf_sink b = {.buf = buf, .cap = cap, .len = 0};
    int rc = ms_fragstore_get(s, key, range, buf_sink_cb, &b);
    *out_len = rc == 0 ? b.len : 0;
    return rc;
}

int fs_verify_all(struct ms_fragstore *s, const struct ms_fragstore_key *key,
                  const struct ms_catalog_rec *rec,
                  int (*sink_cb)(void *arg, uint64_t offset, const uint8_t *data, size_t len),
                  void *arg)
{
    MS_ASSERT(s != NULL && rec != NULL);
    MS_ASSERT(rec->state == MS_CATALOG_COMMITTED);
    struct ms_fragstore_range all = {.kind = MS_FRAGSTORE_RANGE_ALL};
    return get_range(s, key, rec, &all, true, sink_cb, arg);
}

int ms_fragstore_verify(struct ms_fragstore *s, const struct ms_fragstore_key *key)
{
    MS_ASSERT(s != NULL);
    struct ms_catalog_rec rec;
    int rc = get_record_of(s, key, &rec);
    if (rc < 0)
        return rc;
    rc = fs_verify_all(s, key, &rec, NULL, NULL);
    MS_ASSERT(rc <= 0);
    return rc;
}

/* ---- stat, list, space ------------------------------------------------------------------- */

static void info_of(const struct ms_catalog_rec *rec, struct ms_fragstore_info *out)
{
    MS_ASSERT(rec->state == MS_CATALOG_COMMITTED);
    out->size_bytes = rec->logical_bytes;
    out->file_bytes = rec->file_bytes;
    out->created_ms = rec->created_ms;
    out->segment_count = rec->segment_count;
    memcpy(out->header_checksum, rec->header_checksum, sizeof(out->header_checksum));
    MS_ASSERT(out->size_bytes >= MS_FRAG_HDR_BYTES || out->size_bytes == 0);
}

int ms_fragstore_stat(struct ms_fragstore *s, const struct ms_fragstore_key *key,
                      struct ms_fragstore_info *out)
{
    MS_ASSERT(s != NULL && out != NULL);
    struct ms_catalog_rec rec;
    int rc = get_record_of(s, key, &rec);
    if (rc == 0)
        info_of(&rec, out);
    return rc;
}

/* ms_catalog_page row: committed records only (a record in another state is not listed). */
static int list_row(const struct ms_fragstore_key *key, const void *val, size_t vlen, size_t n,
                    void *arg)
{
    struct ms_fragstore_entry *out = arg;
    struct ms_catalog_rec rec;
    int rc = ms_catalog_rec_decode(val, vlen, &rec);
    if (rc < 0)
        return rc;
    if (rec.state != MS_CATALOG_COMMITTED)
        return 0;
    out[n].key = *key;
    info_of(&rec, &out[n].info);
    return 1;
}

int ms_fragstore_list(struct ms_fragstore *s, const struct ms_fragstore_key *after,
                      struct ms_fragstore_entry *out, size_t limit)
{
    MS_ASSERT(s != NULL);
    MS_ASSERT(out != NULL || limit == 0);
    if (limit == 0 || limit > INT32_MAX)
        return limit == 0 ? 0 : -EINVAL;
    if (after && after->frag_index >= MS_FRAGSTORE_MAX_INDEX)
        return -EINVAL;
    return ms_catalog_page(&s->cat, s->cat.cf_frags, after, limit, list_row, out);
}

int ms_fragstore_space(struct ms_fragstore *s, struct ms_fragstore_space *out)
{
    MS_ASSERT(s != NULL && out != NULL);
    struct statvfs v;
    if (fstatvfs(s->data_fd, &v) != 0)
        return -errno;
    memset(out, 0, sizeof(*out));
    out->capacity_bytes = (uint64_t)v.f_blocks * v.f_frsize;
    out->free_bytes = (uint64_t)v.f_bavail * v.f_frsize;
    out->fragment_count = atomic_load(&s->fragment_count);
    out->damaged_count = atomic_load(&s->damaged_count);
    ms_scrub_fill_space(s, out);
    MS_ASSERT(out->free_bytes <= out->capacity_bytes || v.f_bavail > v.f_blocks);
    return 0;
}
