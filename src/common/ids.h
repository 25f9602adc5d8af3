/*
 * ids.h - binary identifiers shared by every module.
 *
 * An object id is 16 random bytes allocated by meta (DESIGN.md, write path step 1). It is the
 * only thing a node builds file names from, as lowercase hex, so no path ever comes from
 * client-chosen text. A node id is a uint32 (0 is never a valid node id).
 */
#ifndef MS_COMMON_IDS_H
#define MS_COMMON_IDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MS_OID_BYTES 16
#define MS_OID_HEX_LEN 32 /* characters, without the NUL */

struct ms_oid {
    uint8_t b[MS_OID_BYTES];
};

/* Writes 32 lowercase hex characters and a NUL into out (33 bytes). */
void ms_oid_to_hex(const struct ms_oid *oid, char out[MS_OID_HEX_LEN + 1]);

/* Parses exactly 32 hex characters (either case) of len bytes; returns 0 or -EINVAL.
 * Fills *oid only on success. */
int ms_oid_from_hex(const char *hex, size_t len, struct ms_oid *oid);

/* True when every byte is zero (the nil id, never allocated). */
bool ms_oid_is_nil(const struct ms_oid *oid);

bool ms_oid_equal(const struct ms_oid *a, const struct ms_oid *b);

#endif
