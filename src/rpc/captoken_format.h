/*
 * captoken_format.h - wire layout of a capability token (docs/formats/captoken.md).
 *
 * A token is a 56-byte body followed by a 64-byte Ed25519 signature: 120 bytes on the wire,
 * carried in the gRPC metadata entry `medstore-cap-bin`. All integers are little endian.
 *
 *   offset size field
 *   ------ ---- ------------------------------------------------------------
 *        0    1 version            1
 *        1    1 action             1 put, 2 get, 3 delete, 4 repair-put
 *        2    2 reserved           0
 *        4    4 key id             which signing key (rotation)
 *        8    4 audience node id   the one node that may accept it (never 0)
 *       12    4 fragment bitmap    bit i set = fragment index i allowed
 *       16    8 expiry             unix milliseconds
 *       24   16 object id
 *       40   16 nonce              random; makes every token unique
 *       56   64 signature          Ed25519 over "medstore-cap-v1" || bytes 0..55
 *
 * The signed message is the 15 ASCII bytes of MS_CAPTOKEN_SIG_PREFIX (no NUL) followed by the
 * 56-byte body, so a signature made for another medstore message can never pass as a token.
 * Checklist: a change here changes the version byte, docs/formats/captoken.md and the fuzz seeds.
 */
#ifndef MS_RPC_CAPTOKEN_FORMAT_H
#define MS_RPC_CAPTOKEN_FORMAT_H

#include <stdint.h>

#include "common/ids.h"

#define MS_CAPTOKEN_VERSION 1u

#define MS_CAPTOKEN_OFF_VERSION 0u
#define MS_CAPTOKEN_OFF_ACTION 1u
#define MS_CAPTOKEN_OFF_RESERVED 2u
#define MS_CAPTOKEN_OFF_KEY_ID 4u
#define MS_CAPTOKEN_OFF_NODE_ID 8u
#define MS_CAPTOKEN_OFF_FRAG_BITMAP 12u
#define MS_CAPTOKEN_OFF_EXPIRY 16u
#define MS_CAPTOKEN_OFF_OID 24u
#define MS_CAPTOKEN_OFF_NONCE 40u
#define MS_CAPTOKEN_OFF_SIG 56u

#define MS_CAPTOKEN_NONCE_BYTES 16u
#define MS_CAPTOKEN_BODY_BYTES 56u
#define MS_CAPTOKEN_SIG_BYTES 64u
#define MS_CAPTOKEN_WIRE_BYTES 120u

/* Bits of the fragment bitmap: fragment indexes 0..31 (k + m <= 32). */
#define MS_CAPTOKEN_MAX_FRAGS 32u

/* Domain separation prefix of the signed message (15 ASCII bytes, no NUL). */
#define MS_CAPTOKEN_SIG_PREFIX "medstore-cap-v1"
#define MS_CAPTOKEN_SIG_PREFIX_LEN 15u

/* Ed25519 key sizes (libsodium crypto_sign_*BYTES; checked against sodium.h in captoken.c). */
#define MS_CAPTOKEN_PK_BYTES 32u
#define MS_CAPTOKEN_SEED_BYTES 32u
#define MS_CAPTOKEN_SK_BYTES 64u

/* gRPC metadata key the token travels in (binary: the -bin suffix). */
#define MS_CAPTOKEN_METADATA_KEY "medstore-cap-bin"

_Static_assert(MS_CAPTOKEN_OFF_ACTION == MS_CAPTOKEN_OFF_VERSION + 1, "action follows version");
_Static_assert(MS_CAPTOKEN_OFF_RESERVED == MS_CAPTOKEN_OFF_ACTION + 1, "reserved after action");
_Static_assert(MS_CAPTOKEN_OFF_KEY_ID == MS_CAPTOKEN_OFF_RESERVED + 2, "u16 reserved");
_Static_assert(MS_CAPTOKEN_OFF_NODE_ID == MS_CAPTOKEN_OFF_KEY_ID + 4, "u32 key id");
_Static_assert(MS_CAPTOKEN_OFF_FRAG_BITMAP == MS_CAPTOKEN_OFF_NODE_ID + 4, "u32 node id");
_Static_assert(MS_CAPTOKEN_OFF_EXPIRY == MS_CAPTOKEN_OFF_FRAG_BITMAP + 4, "u32 bitmap");
_Static_assert(MS_CAPTOKEN_OFF_OID == MS_CAPTOKEN_OFF_EXPIRY + 8, "u64 expiry");
_Static_assert(MS_CAPTOKEN_OFF_NONCE == MS_CAPTOKEN_OFF_OID + MS_OID_BYTES, "16-byte oid");
_Static_assert(MS_CAPTOKEN_BODY_BYTES == MS_CAPTOKEN_OFF_NONCE + MS_CAPTOKEN_NONCE_BYTES,
               "nonce ends the body");
_Static_assert(MS_CAPTOKEN_OFF_SIG == MS_CAPTOKEN_BODY_BYTES, "signature follows the body");
_Static_assert(MS_CAPTOKEN_WIRE_BYTES == MS_CAPTOKEN_BODY_BYTES + MS_CAPTOKEN_SIG_BYTES,
               "120 bytes on the wire");
_Static_assert(sizeof(MS_CAPTOKEN_SIG_PREFIX) == MS_CAPTOKEN_SIG_PREFIX_LEN + 1,
               "prefix length without the NUL");
_Static_assert(MS_CAPTOKEN_MAX_FRAGS == 8 * sizeof(uint32_t), "one bitmap bit per fragment");

#endif
