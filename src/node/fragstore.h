/*
 * fragstore.h - the storage node's fragment store: atomic streaming puts with group commit,
 * verified range reads, zero-overwrite delete, catalogue, scrub report, capacity.
 *
 * A fragment is identified by (object id, fragment index). Its bytes are the codec's fragment
 * format (src/codec/frag_format.h): header, shard records, segment index. The node never
 * decrypts: it validates the header before any write, every shard record's length and
 * checksum as it streams, and the segment index at commit; it serves byte ranges or segment
 * ranges by reading only the records they need and verifying each one.
 *
 * Lifecycle of a fragment (diagram and transition table in fragstore.c and docs/node.md):
 *   absent -> writing (file without record) -> committed -> wiping -> absent.
 * A fragment's file is created under its final name; it is a fragment only once the
 * catalogue records it committed, and every read starts from that record.
 * An acknowledged put (ms_fragstore_put_commit() returned 0) survives power loss; a put that
 * was not acknowledged leaves nothing visible after a crash. A delete returns 0 only once every
 * byte of the file was overwritten with zeros, synced and unlinked (F-STO-4, F-DEL-2, Y-DES-3).
 *
 * Thread safety: every function may be called from any thread concurrently, except that one
 * put session is used by one thread at a time. The store serialises its use of the ms_io port.
 * Errors: 0 / -errno / -MEDSTORE_E* (common/err.h).
 */
#ifndef MS_NODE_FRAGSTORE_H
#define MS_NODE_FRAGSTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "common/ids.h"

struct ms_io;
struct ms_kv;
struct ms_clock;
struct ms_fragstore;
struct ms_fragstore_put;

/* Most read ports a store takes (ms_fragstore_opts.read_ios). */
#define MS_FRAGSTORE_READ_IOS_MAX 16

/* Most write ports a store takes (ms_fragstore_opts.write_ios). */
#define MS_FRAGSTORE_WRITE_IOS_MAX 16

/* Highest fragment index + 1 (k + m <= 32). */
#define MS_FRAGSTORE_MAX_INDEX 32

/* Column families the store needs in its kv (the caller opens the kv with them, NULL-ended):
 * "frags" (catalogue), "wipe" (wipe intents), "scrub" (damage report). */
extern const char *const ms_fragstore_kv_cfs[];

/* Options of ms_fragstore_open(). Zero-initialise, then set what you need. */
struct ms_fragstore_opts {
    const char *data_dir;         /* required; created if missing; fragments live below it */
    struct ms_io *io;             /* required; borrowed, must outlive the store */
    struct ms_io *sync_io;        /* optional second port (borrowed) for commit rounds and
                                   * wipes, so syncs never block data writes; NULL = io */
    struct ms_io *const *read_ios; /* optional ports (borrowed) for reads: get, verify, scrub;
                                    * a reader takes a free one; n_read_ios = 0: reads use io */
    unsigned n_read_ios;          /* <= MS_FRAGSTORE_READ_IOS_MAX */
    struct ms_io *const *write_ios; /* optional ports (borrowed) for the staged O_DIRECT writes
                                     * of fragments > 256 KiB; a session takes a free one per
                                     * stage, so several sessions' data is in flight at once;
                                     * n_write_ios = 0: those writes use io, one at a time */
    unsigned n_write_ios;         /* <= MS_FRAGSTORE_WRITE_IOS_MAX */
    struct ms_kv *kv;             /* required; borrowed, opened with ms_fragstore_kv_cfs */
    const struct ms_clock *clock; /* borrowed; NULL = the real clock */
    uint32_t max_sessions;        /* concurrent put sessions; 0 = default (16) */
    uint32_t stage_bytes;         /* per-session staging buffer; 0 = default (1 MiB) */
    bool no_direct;               /* never try O_DIRECT (tests of the buffered path) */
    bool no_group_commit;         /* commit inline in the caller (measures group commit) */
    uint64_t scrub_rate_bytes_per_s; /* 0 = no background scrub thread */
};

/* A fragment's key: catalogue order is oid bytes, then frag_index. */
struct ms_fragstore_key {
    struct ms_oid oid;
    uint8_t frag_index;
};

/* What the catalogue knows of a committed fragment. */
struct ms_fragstore_info {
    uint64_t size_bytes;      /* logical size: header + records + segment index */
    uint64_t file_bytes;      /* the file on disk: size_bytes plus any O_DIRECT zero padding */
    uint64_t created_ms;      /* unix ms of the commit */
    uint32_t segment_count;   /* shard records in the fragment */
    uint8_t header_checksum[16]; /* XXH3-128 of the fragment header bytes */
};

/* One row of ms_fragstore_list(). */
struct ms_fragstore_entry {
    struct ms_fragstore_key key;
    struct ms_fragstore_info info;
};

/* Capacity and counters for NodeInfo / Heartbeat. */
struct ms_fragstore_space {
    uint64_t capacity_bytes;  /* statvfs of the data directory */
    uint64_t free_bytes;      /* available to this (unprivileged) process */
    uint64_t fragment_count;  /* committed fragments */
    uint64_t damaged_count;   /* entries in the scrub report */
    uint64_t scrub_scanned_bytes; /* bytes re-verified by scrub since open */
};

/* Which part of a fragment ms_fragstore_get() returns. */
enum ms_fragstore_range_kind {
    MS_FRAGSTORE_RANGE_ALL = 0,      /* the whole fragment file, verified */
    MS_FRAGSTORE_RANGE_BYTES = 1,    /* bytes [first, first + count) of the fragment */
    MS_FRAGSTORE_RANGE_SEGMENTS = 2, /* shard records of segments [first, first + count) */
};

struct ms_fragstore_range {
    enum ms_fragstore_range_kind kind;
    uint64_t first;
    uint64_t count; /* must be > 0 for BYTES and SEGMENTS */
};

/* Opens (creating if needed) the store on opts->data_dir, then recovers: resumes every pending
 * wipe intent, wipes and removes every fragment file the catalogue does not record committed
 * (puts never acknowledged) and any temp file an earlier version left in tmp/, and records
 * catalogue entries whose
 * file is missing or has the wrong size in the scrub report. Starts the committer thread and,
 * when opts->scrub_rate_bytes_per_s > 0, the scrub thread.
 * Returns 0 and sets *out (caller owns it, free with ms_fragstore_close()), or -errno /
 * -MEDSTORE_E*; *out is untouched on failure. */
MS_MUST_CHECK int ms_fragstore_open(const struct ms_fragstore_opts *opts,
                                    struct ms_fragstore **out);

/* Stops the threads, aborts (wipes) any put session still open, closes the directory fds.
 * No other call on the store may run concurrently or follow. Does not close opts->io or
 * opts->kv. Accepts NULL. */
void ms_fragstore_close(struct ms_fragstore *store);

/* Starts a put of fragment (oid, frag_index) whose header bytes are hdr[0..hdr_len).
 * Validates the header (codec decoder; its object id and index must equal oid and frag_index)
 * BEFORE any write, refuses if the fragment exists committed (-MEDSTORE_EEXIST: defeats token
 * replay) or is being wiped (-EBUSY), then stages the header. Nothing touches the disk yet:
 * the file frags/<xx>/<oid>.<idx> is created when the staging buffer first fills (O_DIRECT
 * where the filesystem allows), or at commit for a fragment that fits it; without a
 * committed catalogue record no read ever sees it.
 * Returns 0 and sets *out (owned by the caller until put_commit/put_abort consumes it);
 * -MEDSTORE_EFORMAT/-EVERSION/-ECORRUPT for a bad header, -EINVAL for bad arguments, -EAGAIN
 * when max_sessions are open. */
MS_MUST_CHECK int ms_fragstore_put_begin(struct ms_fragstore *store, const struct ms_oid *oid,
                                         uint8_t frag_index, const uint8_t *hdr, size_t hdr_len,
                                         struct ms_fragstore_put **out);

/* Appends the next len bytes of the fragment (shard records, then the segment index).
 * Every shard record is checked (length and XXH3-128) as soon as its last byte arrives;
 * bytes are written in aligned chunks, several in flight, a full stage only once more bytes
 * arrive (or at commit). Any failure poisons the session:
 * later appends and the commit return the same code; the caller then calls put_abort.
 * Returns 0, -MEDSTORE_ECORRUPT (bad checksum), -MEDSTORE_EFORMAT (bad record header or
 * more bytes than the header announces), -ENOSPC, -EIO. */
MS_MUST_CHECK int ms_fragstore_put_append(struct ms_fragstore_put *put, const uint8_t *bytes,
                                          size_t len);

/* Validates the complete fragment (every record seen, segment index consistent with the
 * records' offsets), writes the tail (a fragment of at most 256 KiB: the whole file, one
 * write in the commit round), syncs the data and the file's directory (group commit: the
 * fdatasyncs and directory fsyncs of concurrent commits run as one concurrent batch), then
 * writes the catalogue entries in one synced kv batch, which makes the fragment exist.
 * Returns 0 only after all of that: the ack.
 * Always consumes *put (sets it NULL). On failure nothing is visible: the file is wiped and
 * removed. Returns 0, -MEDSTORE_EEXIST (a concurrent put won),
 * -MEDSTORE_EFORMAT / -ECORRUPT / -ETRUNCATED (incomplete or inconsistent fragment),
 * -ENOSPC, -EIO, -MEDSTORE_ECRASHED (fault port). */
MS_MUST_CHECK int ms_fragstore_put_commit(struct ms_fragstore_put **put);

/* The end of an asynchronous commit: rc as put_commit() would return it. Runs on a committer
 * thread (or on the caller's, when the commit failed at once or the store has no group
 * commit), after the put was consumed; it must not block for long (answer, hand off). */
typedef void (*ms_fragstore_done_cb)(void *arg, int rc);

/* True when committing put does no data I/O on the caller's thread: the whole fragment (at
 * most 256 KiB) is still in the staging buffer, so its commit round creates, writes and syncs
 * the file. Then ms_fragstore_put_commit_async() returns after a little CPU work (the final
 * validation) and a queue append, and may be called from a completion-queue thread. */
bool ms_fragstore_put_commit_is_quick(const struct ms_fragstore_put *put);

/* Checks and stages as much of bytes[0..len) as the staging buffer still holds, without
 * writing anything (no I/O: callable from a completion-queue thread, where the bytes are
 * still in this core's cache); *taken = the bytes consumed. The rest goes through
 * ms_fragstore_put_append(), which first writes the full stage. Returns 0 or an error of
 * ms_fragstore_put_append() (the session is poisoned alike). */
MS_MUST_CHECK int ms_fragstore_put_stage(struct ms_fragstore_put *put, const uint8_t *bytes,
                                         size_t len, size_t *taken);

/* put_commit() without the wait: finishes the stream on the caller's thread (for a put that is
 * not quick, its staged tail is written here), queues the put for the next commit round and
 * returns at once; done_cb(arg, rc) follows once the put is acknowledged (rc 0: durable, as
 * put_commit() returning 0) or failed (nothing visible). Always consumes *put. */
void ms_fragstore_put_commit_async(struct ms_fragstore_put **put, ms_fragstore_done_cb done_cb,
                                   void *arg);

/* Abandons a put (client disconnected, any error): wipes and removes its file; nothing
 * becomes visible. Consumes *put (sets it NULL). Accepts NULL and *put == NULL. */
void ms_fragstore_put_abort(struct ms_fragstore_put **put);

/* Reads a range of a committed fragment, reading only the shard records it needs (located
 * through the segment index) and verifying each one before any of its bytes is delivered.
 * sink_cb is called in order with consecutive verified pieces: offset is the position of
 * data[0] in the fragment; data is valid only during the call; a non-zero return stops the
 * read and is returned. Returns 0, -MEDSTORE_ENOTFOUND, -MEDSTORE_ERANGE (range outside the
 * fragment), -MEDSTORE_ECORRUPT (a checksum failed: the scrub report records it; no wrong
 * byte is ever delivered, but verified pieces before it may have been), -EIO. */
MS_MUST_CHECK int ms_fragstore_get(struct ms_fragstore *store, const struct ms_fragstore_key *key,
                                   const struct ms_fragstore_range *range,
                                   int (*sink_cb)(void *arg, uint64_t offset,
                                                  const uint8_t *data, size_t len),
                                   void *arg);

/* ms_fragstore_get() into buf[0..cap); sets *out_len to the bytes written. Returns -ENOBUFS
 * (with nothing meaningful in buf) when the range does not fit, else as ms_fragstore_get(). */
MS_MUST_CHECK int ms_fragstore_get_buf(struct ms_fragstore *store,
                                       const struct ms_fragstore_key *key,
                                       const struct ms_fragstore_range *range, uint8_t *buf,
                                       size_t cap, size_t *out_len);

/* Catalogue facts of a committed fragment. Returns 0, -MEDSTORE_ENOTFOUND (absent or being
 * wiped), -EIO. */
MS_MUST_CHECK int ms_fragstore_stat(struct ms_fragstore *store, const struct ms_fragstore_key *key,
                                    struct ms_fragstore_info *out);

/* Lists committed fragments in key order, starting after *after (NULL = from the first),
 * at most limit rows into out. Returns the row count (0 = end), or -errno. */
MS_MUST_CHECK int ms_fragstore_list(struct ms_fragstore *store,
                                    const struct ms_fragstore_key *after,
                                    struct ms_fragstore_entry *out, size_t limit);

/* Re-verifies the whole fragment (header, every record, segment index, size). Returns 0,
 * -MEDSTORE_ENOTFOUND, -MEDSTORE_ECORRUPT (also recorded in the scrub report), -EIO. */
MS_MUST_CHECK int ms_fragstore_verify(struct ms_fragstore *store,
                                      const struct ms_fragstore_key *key);

/* Zero-overwrite delete (F-STO-4, F-DEL-2, Y-DES-3): records a synced wipe intent, overwrites
 * every byte of the file with zeros through the io port, fdatasyncs, unlinks, syncs the
 * directory, then removes the catalogue entry and the intent in one synced batch. Returns 0
 * only after all of that, and 0 when the fragment does not exist. A crash at any point is
 * resumed by the next ms_fragstore_open(). Returns -EBUSY while a put of the same fragment
 * is committing, -EIO / -MEDSTORE_ECRASHED on failure (the intent stays; open resumes it). */
MS_MUST_CHECK int ms_fragstore_delete(struct ms_fragstore *store,
                                      const struct ms_fragstore_key *key);

/* Capacity (statvfs of the data directory) and counters. Returns 0 or -errno. */
MS_MUST_CHECK int ms_fragstore_space(struct ms_fragstore *store, struct ms_fragstore_space *out);

/* Group-commit counters since open: commit rounds run and fragments committed through them
 * (fragments / rounds is the batching factor). Either pointer may be NULL. */
void ms_fragstore_commit_counters(struct ms_fragstore *store, uint64_t *rounds,
                                  uint64_t *fragments);

/* True when the fragment files written in aligned chunks (fragments larger than 256 KiB)
 * were opened with O_DIRECT (false after the EINVAL fallback to buffered writes + fdatasync,
 * e.g. on tmpfs, or with opts.no_direct). Smaller fragments are always written buffered. */
bool ms_fragstore_is_direct(const struct ms_fragstore *store);

#endif
