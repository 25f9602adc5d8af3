/*
 * scrub.h - background re-verification of stored fragments and the damage report.
 *
 * A scrub pass walks the catalogue in key order and re-verifies every committed fragment
 * (header, every shard record's XXH3-128, segment index, size), reading at most a configured
 * number of bytes per second. Damage found by scrub, by a read (ms_fragstore_get) or by
 * ms_fragstore_verify is recorded in the kv column family "scrub" (oid, fragment index,
 * reason, record number, time) and served by ms_scrub_report() for the ScrubReport RPC.
 * Repair comes later (issue 4 leaves the seam): a repair that rewrites a fragment calls
 * ms_scrub_clear() for it; a delete clears its row itself.
 *
 * Thread safety: every function may be called from any thread.
 */
#ifndef MS_NODE_SCRUB_H
#define MS_NODE_SCRUB_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "node/fragstore.h"

/* One row of the damage report. reason is enum ms_scrub_reason (catalog.h): 1 checksum,
 * 2 header, 3 index, 4 missing file, 5 wrong size, 6 read error. record is the shard record
 * number, or UINT32_MAX when the damage is not in one record. */
struct ms_scrub_entry {
    struct ms_fragstore_key key;
    uint32_t reason;
    uint32_t record;
    uint64_t time_ms;
};

/* Scrub counters since the store was opened (damaged_count: rows in the report now). */
struct ms_scrub_counters {
    uint64_t scanned_bytes;
    uint64_t fragments_checked;
    uint64_t passes;
    uint64_t damaged_count;
};

/* Lists damage rows in key order after *after (NULL = from the first), at most limit rows.
 * Returns the row count (0 = end) or -errno / -MEDSTORE_ECORRUPT (an undecodable row). */
MS_MUST_CHECK int ms_scrub_report(struct ms_fragstore *store, const struct ms_fragstore_key *after,
                                  struct ms_scrub_entry *out, size_t limit);

/* Copies the counters. */
void ms_scrub_counters(struct ms_fragstore *store, struct ms_scrub_counters *out);

/* Runs one whole pass now in the calling thread, at most rate_bytes_per_s (0 = unlimited).
 * Returns the number of damaged fragments found in this pass (>= 0), or -errno when the
 * catalogue could not be walked. Damage itself is not an error. */
MS_MUST_CHECK int ms_scrub_run_pass(struct ms_fragstore *store, uint64_t rate_bytes_per_s);

/* Removes key's damage row (repair seam). Returns 0 (also when there was none) or -errno. */
MS_MUST_CHECK int ms_scrub_clear(struct ms_fragstore *store, const struct ms_fragstore_key *key);

/* Stable lower-case name of a reason ("checksum", "missing", ...); never NULL. */
const char *ms_scrub_reason_name(uint32_t reason);

#endif
