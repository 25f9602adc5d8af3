/*
 * fragstore_int.h - private structures shared by fragstore.c, wipe.c and scrub.c.
 *
 * Locks (order: io_mu, then *sio_mu, then mu; never the reverse):
 *   io_mu  serialises requests on the data port `io` (one thread at a time, io.h's rule):
 *          staged writes, reads. Each operation submits its whole batch (several aligned
 *          writes) and reaps it before releasing the lock, so completions always belong to the
 *          holder. Namespace operations (creating a fragment's file, truncating it, closing)
 *          need no lock: io.h makes them thread safe.
 *   sio_mu serialises requests on the sync port `sio` the same way: commit rounds
 *          (fdatasyncs and directory fsyncs), wipes. When the caller gives no second
 *          port, sio == io and sio_mu points at io_mu.
 *   wio_mu[i] serialises write port i (staged writes of large fragments); a session takes a
 *          free one per stage, so several sessions' stages are in flight at once. Without
 *          write ports, stage writes use io under io_mu.
 *   rio_mu[i] serialises read port i (opens, reads and closes of readers); a reader takes a
 *          free one per call (never two at once), so reads run in parallel with each other
 *          and with writes. Without read ports, readers use io under io_mu.
 *   mu     session slots, the busy-key set, the commit queue, thread stop flags.
 * A put that must wipe a leftover file under its name takes *sio_mu alone.
 * The kv is thread safe on its own (kv.h). Counters are atomics.
 */
#ifndef MS_NODE_FRAGSTORE_INT_H
#define MS_NODE_FRAGSTORE_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "codec/frag_format.h"
#include "common/io.h"
#include "node/catalog.h"
#include "node/fragstore.h"

#define FS_SUBDIRS 256
#define FS_ALIGN 4096u
#define FS_NAME_MAX 64          /* "<32 hex>.<idx>.<16 hex>" and NUL fit */
#define FS_DEFAULT_SESSIONS 16u
#define FS_DEFAULT_STAGE (1u << 20)
#define FS_WRITE_CHUNK (256u << 10)  /* one write request; a full stage is several in flight */
#define FS_ZERO_BYTES (1u << 20)     /* zero buffer of the wipe; one write request */
#define FS_WIPE_INFLIGHT 8u          /* zero writes in flight per wipe round */
#define FS_MAX_DELETES 64u           /* concurrent deletes (busy-set capacity beyond puts) */
#define FS_IO_REQS_MAX 192u          /* largest batch fs_io_run() takes */
#define FS_COMMITTERS 2u             /* one syncs a round while another writes its catalogue */
/* A fragment up to this size that is still whole in the stage at commit is created and
 * written by its commit round (one write linked to its fdatasync), so its put does no I/O
 * before the round; longer ones write their stages as they fill. */
#define FS_ROUND_WRITE_MAX (256u << 10)
/* Staged O_DIRECT writes go into space preallocated this far ahead (fallocate), so none of
 * them extends the file: ext4 then takes them without blocking and io_uring issues them
 * inline instead of handing each one to a kernel worker thread. */
#define FS_PREALLOC_BYTES (4u << 20)

_Static_assert(FS_DEFAULT_STAGE % FS_WRITE_CHUNK == 0, "stage is whole chunks");
_Static_assert(FS_WRITE_CHUNK % FS_ALIGN == 0, "chunks keep O_DIRECT alignment");
_Static_assert(FS_ZERO_BYTES % FS_ALIGN == 0, "zero writes keep O_DIRECT alignment");

/* One put session (state "writing"). Lives in a preallocated slot of the store. */
struct ms_fragstore_put {
    struct ms_fragstore *store;
    uint32_t slot;
    bool in_use;
    struct ms_fragstore_key key;
    struct ms_frag_hdr hdr;
    uint8_t hdr_csum[MS_FRAG_CSUM_BYTES];
    int fd;
    bool direct;
    int err;                  /* sticky first failure; 0 while healthy */
    /* Staging: stage[0..stage_len) belongs at file offset stage_off. */
    uint8_t *stage;
    uint32_t stage_cap;
    uint32_t stage_len;
    uint64_t stage_off;
    int buf_index;            /* registered buffer index of stage, or -1 */
    uint64_t file_bytes;      /* logical bytes accepted so far (header included) */
    uint64_t alloc_end;       /* the file is preallocated (fallocate) up to here */
    uint64_t disk_bytes;      /* the file's length once finished: file_bytes, rounded up to
                               * FS_ALIGN when written with O_DIRECT (zero padding) */
    /* Streaming validator (codec): every byte after the header goes through it. */
    struct ms_frag_check chk;
    /* Commit queue. */
    bool open_in_round;       /* the commit round creates the (small) file */
    bool tail_in_round;       /* the whole (small) file is written by the commit round */
    uint32_t tail_len;        /* ... with this many bytes of the stage (padded if direct) */
    struct ms_fragstore_put *next_commit;
    bool commit_done;
    int commit_rc;
    pthread_cond_t done_cv;   /* its caller waits here for its round (under store mu) */
    ms_fragstore_done_cb done_cb; /* put_commit_async: the committer finishes the put, then */
    void *done_arg;               /* calls done_cb(done_arg, rc); NULL for put_commit */
};

struct ms_scrub;

/* The store. */
struct ms_fragstore {
    struct ms_io *io;
    struct ms_io *sio;
    struct ms_catalog cat;
    const struct ms_clock *clock;
    int data_fd;
    int frags_fd;
    int tmp_fd;               /* tmp/: only temp files of earlier versions, wiped at open */
    int sub_fd[FS_SUBDIRS];
    bool try_direct;
    atomic_bool direct;       /* what the last O_DIRECT open got */
    bool group_commit;

    pthread_mutex_t io_mu;
    pthread_mutex_t sio_mu_own;  /* used when sio != io */
    pthread_mutex_t *sio_mu;
    /* Read ports: rio[i] guarded by rio_mu[i]; n_rio = 0 means reads use io under io_mu. */
    struct ms_io *rio[MS_FRAGSTORE_READ_IOS_MAX];
    pthread_mutex_t rio_mu[MS_FRAGSTORE_READ_IOS_MAX];
    unsigned n_rio;
    atomic_uint rio_next;
    /* Write ports: wio[i] guarded by wio_mu[i]; n_wio = 0 means stage writes use io. */
    struct ms_io *wio[MS_FRAGSTORE_WRITE_IOS_MAX];
    pthread_mutex_t wio_mu[MS_FRAGSTORE_WRITE_IOS_MAX];
    unsigned n_wio;
    atomic_uint wio_next;
    pthread_mutex_t mu;

    /* Session slots and their staging memory (one aligned block, registered if possible). */
    uint32_t max_sessions;
    uint32_t stage_bytes;
    struct ms_fragstore_put *slots;
    uint8_t *stage_mem;
    uint32_t registered;      /* slots [0, registered) have registered staging buffers ... */
    bool io_reg, sio_reg;     /* ... with io, with sio (when sio != io), */
    bool wio_reg[MS_FRAGSTORE_WRITE_IOS_MAX]; /* and with each write port */

    /* Busy keys: fragments with a put session or a delete in progress. */
    struct ms_fragstore_key *busy;
    uint32_t busy_cap;
    uint32_t busy_count;

    /* Group commit: FS_COMMITTERS threads; the one with `syncing` runs a round's syncs. */
    pthread_t committer[FS_COMMITTERS];
    unsigned committers_started;
    bool syncing;
    pthread_cond_t commit_cv;  /* committers wait for work and for their turn to sync */
    struct ms_fragstore_put *commit_head;
    struct ms_fragstore_put *commit_tail;
    bool stopping;
    atomic_uint_fast64_t commit_rounds;
    atomic_uint_fast64_t commit_frags;

    uint8_t *zeros;            /* FS_ZERO_BYTES of zeros, aligned; never written */
    atomic_uint_fast64_t fragment_count;
    atomic_uint_fast64_t damaged_count;
    atomic_uint_fast64_t scrub_scanned_bytes;
    atomic_uint_fast64_t scrub_checked;
    atomic_uint_fast64_t scrub_passes;
    struct ms_scrub *scrub;   /* the background thread, NULL when not running */
};

/* ---- fragstore.c helpers used by wipe.c and scrub.c -------------------------------------- */

/* Current wall-clock time in unix ms (clock port when set). */
uint64_t fs_now_ms(const struct ms_fragstore *s);

/* Closes fd through port (whose lock the caller holds), logging (not returning) a failure:
 * for paths that already fail or that cannot act on a close error. */
void fs_close_quietly(struct ms_io *port, int fd);

/* Writes "<32 hex>.<idx>" into name (FS_NAME_MAX bytes). */
void fs_frag_name(const struct ms_fragstore_key *key, char name[FS_NAME_MAX]);

/* Directory fd of key's file (frags/<first oid byte as 2 hex>). */
int fs_subdir_fd(const struct ms_fragstore *s, const struct ms_fragstore_key *key);

/* Marks key busy (a put or delete in progress). Returns 0, -EBUSY when already busy,
 * -EAGAIN when the set is full. */
MS_MUST_CHECK int fs_busy_acquire(struct ms_fragstore *s, const struct ms_fragstore_key *key);
void fs_busy_release(struct ms_fragstore *s, const struct ms_fragstore_key *key);

/* Submits reqs[0..n) (n <= FS_IO_REQS_MAX) to port (s->io or s->sio, whose lock the caller
 * holds), in several submits when the port's queue is shorter, and reaps all n completions
 * into res[] (by position; user_data is overwritten). Returns 0 (per-request results in res)
 * or the port's -errno when submitting or waiting failed (then res is meaningless). */
MS_MUST_CHECK int fs_io_run(struct ms_io *port, struct ms_io_req *reqs, unsigned n, int *res);

/* Verifies the whole committed fragment of key against rec from the disk (its clean pages are
 * dropped from the page cache first), calling sink_cb like ms_fragstore_get() (sink_cb may
 * be NULL). Records damage in the scrub report. */
MS_MUST_CHECK int fs_verify_all(struct ms_fragstore *s, const struct ms_fragstore_key *key,
                                const struct ms_catalog_rec *rec,
                                int (*sink_cb)(void *arg, uint64_t offset, const uint8_t *data,
                                               size_t len),
                                void *arg);

/* ---- wipe.c ------------------------------------------------------------------------------ */

/* Zero-overwrites every byte of dirfd/name (the aligned tail block included, size kept),
 * fdatasyncs, closes and unlinks it, through s->sio; the caller holds *sio_mu and fsyncs
 * dirfd afterwards.
 * A missing file is 0. Returns 0 or -errno. */
MS_MUST_CHECK int ms_wipe_file(struct ms_fragstore *s, int dirfd, const char *name);

/* Same on an open fd (consumed: closed in every case). */
MS_MUST_CHECK int ms_wipe_fd(struct ms_fragstore *s, int fd, int dirfd, const char *name);

/* Finishes the wipe of key whose intent is recorded: file zeroed and unlinked, directory
 * synced, record + intent removed in one synced batch. Takes *sio_mu itself. */
MS_MUST_CHECK int ms_wipe_finish(struct ms_fragstore *s, const struct ms_fragstore_key *key);

/* Resumes every recorded wipe intent (open). Returns 0 or the first error. */
MS_MUST_CHECK int ms_wipe_resume_all(struct ms_fragstore *s);

/* ---- scrub.c ----------------------------------------------------------------------------- */

/* Records damage of key in the scrub report (synced) and counts it once per fragment, if the
 * fragment is still committed. Logs the key and reason (never data). Returns 0 (a kv failure
 * to record is logged, not returned: the caller is already failing with -MEDSTORE_ECORRUPT),
 * or -MEDSTORE_ENOTFOUND when the fragment is no longer committed (a delete raced the read:
 * the zeros it read are not damage). */
int ms_scrub_note(struct ms_fragstore *s, const struct ms_fragstore_key *key,
                  enum ms_scrub_reason reason, uint32_t record);

/* Adds scrub's counters (scanned bytes) to *out. */
void ms_scrub_fill_space(struct ms_fragstore *s, struct ms_fragstore_space *out);

/* Starts / stops the background scrub thread. */
MS_MUST_CHECK int ms_scrub_start(struct ms_fragstore *s, uint64_t rate_bytes_per_s);
void ms_scrub_stop(struct ms_fragstore *s);

#endif
