/*
 * captoken.h - capability tokens: meta mints them, a node checks them (Y-TRN-2).
 *
 * A token grants one action (put, get, delete, repair-put) on chosen fragments of one object
 * on one node until an expiry time. It is 120 bytes (captoken_format.h, docs/formats/
 * captoken.md): a 56-byte body and an Ed25519 signature by meta's token signing key. Nodes
 * hold only public keys, in a key ring filled from `token_pubkey = <key id>:<base64>` config
 * lines; several keys make rotation possible. Checking cannot be switched off: there is no
 * flag, and a NULL ring is a bug that stops the process (MS_ASSERT).
 *
 * Every rejection returns -MEDSTORE_ETOKEN (gRPC PERMISSION_DENIED) and names its reason
 * (enum ms_captoken_reason) so logs, tests and the `medstore-reason` trailer can tell them
 * apart. Token bytes are credentials: never log them.
 */
#ifndef MS_RPC_CAPTOKEN_H
#define MS_RPC_CAPTOKEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "common/ids.h"
#include "rpc/captoken_format.h"

/* Actions a token can grant (the action byte). */
enum ms_cap_action {
    MS_CAP_PUT = 1,
    MS_CAP_GET = 2,
    MS_CAP_DELETE = 3,
    MS_CAP_REPAIR_PUT = 4,
};
#define MS_CAP_ACTION_MAX 4

/* Bit of an action in struct ms_captoken_expect.actions, e.g. a node's PutFragment accepts
 * MS_CAP_ALLOW(MS_CAP_PUT) | MS_CAP_ALLOW(MS_CAP_REPAIR_PUT). */
#define MS_CAP_ALLOW(action) (1u << (unsigned)(action))

/* Clock skew tolerated after the expiry by default, and the most a caller may ask for. */
#define MS_CAPTOKEN_SKEW_MS_DEFAULT 30000u
#define MS_CAPTOKEN_SKEW_MS_MAX 600000u

/* Longest lifetime a minted token should have (tokens are short-lived; RenewCapability
 * extends a long transfer). medstore-token refuses a longer --ttl-ms. */
#define MS_CAPTOKEN_TTL_MS_MAX 3600000u

/* Public keys a ring holds at most (config list token_pubkey). */
#define MS_CAPTOKEN_KEYRING_MAX 16u

/* The decoded body of a token (the signature is not kept: it is checked, then dropped). */
struct ms_captoken {
    uint8_t version;      /* MS_CAPTOKEN_VERSION */
    uint8_t action;       /* enum ms_cap_action */
    uint32_t key_id;      /* signing key, looked up in the ring */
    uint32_t node_id;     /* audience: the only node that accepts it; never 0 */
    uint32_t frag_bitmap; /* bit i grants fragment index i */
    uint64_t expiry_ms;   /* unix milliseconds */
    struct ms_oid oid;
    uint8_t nonce[MS_CAPTOKEN_NONCE_BYTES];
};

/* Why a check failed. Each has a stable reason string for `medstore-reason`. */
enum ms_captoken_reason {
    MS_CAPTOKEN_OK = 0,
    MS_CAPTOKEN_R_MISSING,   /* "token-missing": no token presented (length 0) */
    MS_CAPTOKEN_R_FORMAT,    /* "token-format": length, version, action, reserved or node 0 */
    MS_CAPTOKEN_R_KEY,       /* "token-key": key id not in the ring */
    MS_CAPTOKEN_R_SIGNATURE, /* "token-signature": signature does not verify */
    MS_CAPTOKEN_R_EXPIRED,   /* "token-expired": now > expiry + skew */
    MS_CAPTOKEN_R_AUDIENCE,  /* "token-audience": minted for another node */
    MS_CAPTOKEN_R_OBJECT,    /* "token-object": minted for another object */
    MS_CAPTOKEN_R_ACTION,    /* "token-action": grants another action */
    MS_CAPTOKEN_R_FRAGMENT,  /* "token-fragment": fragment index not in the bitmap */
    MS_CAPTOKEN_R_COUNT,
};

/* What the node is about to do; a token must grant exactly this. */
struct ms_captoken_expect {
    unsigned actions;    /* MS_CAP_ALLOW() bits of the actions that permit the call; not 0 */
    uint32_t node_id;    /* this node's id */
    struct ms_oid oid;   /* the object the call names */
    uint32_t frag_index; /* the fragment the call names (>= 32 never matches) */
};

/* Reason string ("token-expired", ...) of r; static storage, never NULL ("token-unknown" for a
 * value out of range, "ok" for MS_CAPTOKEN_OK). */
const char *ms_captoken_reason_str(enum ms_captoken_reason r);

/* Parses an action name: "put", "get", "delete", "repair-put". Returns 0 and sets *out, or
 * -EINVAL. */
MS_MUST_CHECK int ms_cap_action_parse(const char *name, enum ms_cap_action *out);

/* Name of an action ("put", ...), or "unknown"; static storage. */
const char *ms_cap_action_name(unsigned action);

/* Writes the 56-byte body of tok. Returns 0, or -EINVAL when a field is out of its domain
 * (version not 1, unknown action, node id 0): never emits a body decode would refuse. */
MS_MUST_CHECK int ms_captoken_encode_body(const struct ms_captoken *tok,
                                          uint8_t body[MS_CAPTOKEN_BODY_BYTES]);

/* Strict parse of a 120-byte token into *out (filled only on success). Does NOT verify the
 * signature: only ms_captoken_check() says whether a token may be honoured. Returns 0, or
 * -MEDSTORE_ETOKEN when len is not 120, the version is not 1, the action is unknown, the
 * reserved field is not 0 or the node id is 0. Thread safe; no allocation. */
MS_MUST_CHECK int ms_captoken_decode(const uint8_t *buf, size_t len, struct ms_captoken *out);

/* ---- Signing (meta and the medstore-token tool) ---- */

/* A signing key: the Ed25519 secret key lives in a struct ms_secret (sodium_malloc'd, locked,
 * read-only once filled, wiped when destroyed). Opaque. */
struct ms_captoken_signer;

/* Makes a signer for key id key_id from a 32-byte Ed25519 seed. The seed is copied (the
 * caller wipes its copy). Returns 0 and sets *out (owned; ms_captoken_signer_destroy), or
 * -EINVAL (seed length not 32), -ENOMEM. */
MS_MUST_CHECK int ms_captoken_signer_from_seed(uint32_t key_id, const uint8_t *seed,
                                               size_t seed_len,
                                               struct ms_captoken_signer **out);

/* Loads a signing key from a file holding the base64 of the 32-byte seed (what
 * `medstore-ca token-key` writes), through ms_secret_from_base64_file_exact(): the file must
 * be a regular file with no group or other permission bits (0600 or 0400). Returns 0 and sets
 * *out, or -errno of open/read, -EACCES (mode), -EINVAL (not a regular file), -EFBIG,
 * -MEDSTORE_EFORMAT (not base64 of 32 bytes), -ENOMEM. */
MS_MUST_CHECK int ms_captoken_signer_from_file(uint32_t key_id, const char *path,
                                               struct ms_captoken_signer **out);

/* Wipes and frees a signer; NULL is accepted. */
void ms_captoken_signer_destroy(struct ms_captoken_signer *signer);

/* Key id of the signer. */
uint32_t ms_captoken_signer_key_id(const struct ms_captoken_signer *signer);

/* Copies the signer's 32-byte public key into pk. */
void ms_captoken_signer_public_key(const struct ms_captoken_signer *signer,
                                   uint8_t pk[MS_CAPTOKEN_PK_BYTES]);

/* Signs tok into the 120-byte wire form. tok->key_id must be the signer's key id and every
 * field valid (else -EINVAL); the nonce is taken as given. Thread safe: a signer may sign
 * from several threads at once. */
MS_MUST_CHECK int ms_captoken_sign(const struct ms_captoken_signer *signer,
                                   const struct ms_captoken *tok,
                                   uint8_t out[MS_CAPTOKEN_WIRE_BYTES]);

/* Builds and signs a token with a fresh random nonce: version 1, the signer's key id and the
 * given fields. Returns 0 or -EINVAL like ms_captoken_sign(). */
MS_MUST_CHECK int ms_captoken_mint(const struct ms_captoken_signer *signer, unsigned action,
                                   uint32_t node_id, const struct ms_oid *oid,
                                   uint32_t frag_bitmap, uint64_t expiry_ms,
                                   uint8_t out[MS_CAPTOKEN_WIRE_BYTES]);

/* ---- Verification (nodes) ---- */

/* Public keys by key id. Built once at startup, then only read: concurrent checks on one
 * ring are safe, adding keys while checks run is not. Opaque. */
struct ms_captoken_keyring;

/* Creates an empty ring. Returns 0 and sets *out (owned; ms_captoken_keyring_destroy), or
 * -ENOMEM. */
MS_MUST_CHECK int ms_captoken_keyring_create(struct ms_captoken_keyring **out);

/* Frees a ring; NULL is accepted. */
void ms_captoken_keyring_destroy(struct ms_captoken_keyring *ring);

/* Adds a public key. Returns 0, -EEXIST (key id already present), -MEDSTORE_ELIMIT (ring
 * full), or -EINVAL (not a valid Ed25519 public key). */
MS_MUST_CHECK int ms_captoken_keyring_add(struct ms_captoken_keyring *ring, uint32_t key_id,
                                          const uint8_t pk[MS_CAPTOKEN_PK_BYTES]);

/* Adds a key from the value of a `token_pubkey` config line: "<key id>:<base64>" (decimal key
 * id, standard base64 of 32 bytes; surrounding blanks ignored). Returns 0, -MEDSTORE_ECONFIG
 * (malformed value or invalid key), -EEXIST, -MEDSTORE_ELIMIT. */
MS_MUST_CHECK int ms_captoken_keyring_add_line(struct ms_captoken_keyring *ring,
                                               const char *value, size_t len);

/* Number of keys in the ring. */
size_t ms_captoken_keyring_count(const struct ms_captoken_keyring *ring);

/* Formats the config line "token_pubkey = <key id>:<base64>" (no newline) into buf. Returns
 * the length written (without the NUL), or -ENOSPC when cap is too small. */
MS_MUST_CHECK int ms_captoken_pubkey_line(uint32_t key_id, const uint8_t pk[MS_CAPTOKEN_PK_BYTES],
                                          char *buf, size_t cap);

/* Decides whether a presented token permits the call described by want at now_ms (unix ms),
 * tolerating skew_ms of clock difference after the expiry (MS_CAPTOKEN_SKEW_MS_DEFAULT unless
 * configured; at most MS_CAPTOKEN_SKEW_MS_MAX). Order: format, key id, signature, expiry,
 * audience, object, action, fragment; a token is valid up to and including
 * now_ms == expiry_ms + skew_ms.
 * Returns 0 (and fills *out when out is not NULL), or -MEDSTORE_ETOKEN; *reason is always
 * set. ring and want must not be NULL (checked with MS_ASSERT: verification is never off).
 * Thread safe for concurrent calls on one ring; no allocation; never logs token bytes. */
MS_MUST_CHECK int ms_captoken_check(const struct ms_captoken_keyring *ring, const uint8_t *tok,
                                    size_t len, const struct ms_captoken_expect *want,
                                    uint64_t now_ms, uint64_t skew_ms,
                                    enum ms_captoken_reason *reason, struct ms_captoken *out);

#endif
