/*
 * captoken.c - capability tokens: encode, decode, sign (meta, tools) and check (nodes).
 *
 * Design. A token is a fixed 56-byte little-endian body plus an Ed25519 signature over the
 * domain prefix "medstore-cap-v1" and the body (captoken_format.h). Decoding is strict and
 * total: exactly 120 bytes, version 1, a known action, reserved 0, node id not 0; anything
 * else is refused before any key is touched. ms_captoken_check() then verifies, in a fixed
 * order, key id -> signature -> expiry -> audience -> object -> action -> fragment, so no
 * field of an unsigned token ever influences a decision beyond "which public key".
 *
 * Invariants kept:
 *  - A body this file encodes always decodes (encode refuses what decode would refuse).
 *  - Secret keys live only in sodium_malloc'd memory, read-only between uses, wiped on free.
 *  - The key ring is filled at startup and only read afterwards; checks allocate nothing and
 *    may run concurrently.
 *  - Nothing here logs token bytes, keys or seeds; errors are codes and reasons.
 * Refuses: a NULL ring or expectation (MS_ASSERT: verification can never be switched off), a
 * skew above MS_CAPTOKEN_SKEW_MS_MAX (MS_ASSERT: the node's config schema bounds it), key
 * files readable by group or others (ms_secret_from_base64_file).
 */
#include "rpc/captoken.h"

#include <errno.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/ms_assert.h"
#include "common/ms_limits.h"
#include "common/secret.h"

_Static_assert(MS_CAPTOKEN_PK_BYTES == crypto_sign_PUBLICKEYBYTES, "Ed25519 public key size");
_Static_assert(MS_CAPTOKEN_SK_BYTES == crypto_sign_SECRETKEYBYTES, "Ed25519 secret key size");
_Static_assert(MS_CAPTOKEN_SEED_BYTES == crypto_sign_SEEDBYTES, "Ed25519 seed size");
_Static_assert(MS_CAPTOKEN_SIG_BYTES == crypto_sign_BYTES, "Ed25519 signature size");
_Static_assert(MS_CAP_ACTION_MAX < 8 * sizeof(unsigned), "action bits fit in unsigned");
_Static_assert(MS_CAPTOKEN_R_COUNT == 10, "reason table below has one row per reason");
_Static_assert(MS_CAPTOKEN_KEYRING_MAX == MS_TOKEN_PUBKEYS_MAX, "ring holds every pubkey line");
_Static_assert(MS_CAPTOKEN_SKEW_MS_DEFAULT == MS_CLOCK_SKEW_DEFAULT_MS, "one default skew");
_Static_assert(MS_CAPTOKEN_TTL_MS_MAX == MS_TOKEN_TTL_MAX_MS, "one token lifetime cap");
_Static_assert(MS_CAPTOKEN_MAX_FRAGS == MS_FRAG_BITMAP_BITS, "one bitmap width");
_Static_assert(MS_CAPTOKEN_SKEW_MS_MAX < MS_TOKEN_TTL_MAX_MS, "skew below token lifetime");

/* Signed message: prefix || body. */
#define SIGNED_BYTES (MS_CAPTOKEN_SIG_PREFIX_LEN + MS_CAPTOKEN_BODY_BYTES)

struct ms_captoken_signer {
    uint32_t key_id;
    uint8_t pk[MS_CAPTOKEN_PK_BYTES];
    struct ms_secret *sk; /* 64-byte Ed25519 secret key; read-only once filled */
};

struct keyring_entry {
    uint32_t key_id;
    uint8_t pk[MS_CAPTOKEN_PK_BYTES];
};

struct ms_captoken_keyring {
    size_t n;
    struct keyring_entry keys[MS_CAPTOKEN_KEYRING_MAX];
};

static const char *const reason_names[MS_CAPTOKEN_R_COUNT] = {
    [MS_CAPTOKEN_OK] = "ok",
    [MS_CAPTOKEN_R_MISSING] = "token-missing",
    [MS_CAPTOKEN_R_FORMAT] = "token-format",
    [MS_CAPTOKEN_R_KEY] = "token-key",
    [MS_CAPTOKEN_R_SIGNATURE] = "token-signature",
    [MS_CAPTOKEN_R_EXPIRED] = "token-expired",
    [MS_CAPTOKEN_R_AUDIENCE] = "token-audience",
    [MS_CAPTOKEN_R_OBJECT] = "token-object",
    [MS_CAPTOKEN_R_ACTION] = "token-action",
    [MS_CAPTOKEN_R_FRAGMENT] = "token-fragment",
};

static const char *const action_names[MS_CAP_ACTION_MAX + 1] = {
    [MS_CAP_PUT] = "put",
    [MS_CAP_GET] = "get",
    [MS_CAP_DELETE] = "delete",
    [MS_CAP_REPAIR_PUT] = "repair-put",
};

const char *ms_captoken_reason_str(enum ms_captoken_reason r)
{
    if ((unsigned)r >= MS_CAPTOKEN_R_COUNT)
        return "token-unknown";
    return reason_names[r];
}

static bool action_is_known(unsigned action)
{
    return action >= MS_CAP_PUT && action <= MS_CAP_ACTION_MAX;
}

const char *ms_cap_action_name(unsigned action)
{
    return action_is_known(action) ? action_names[action] : "unknown";
}

int ms_cap_action_parse(const char *name, enum ms_cap_action *out)
{
    MS_ASSERT(out != NULL);
    if (name == NULL)
        return -EINVAL;
    for (unsigned a = MS_CAP_PUT; a <= MS_CAP_ACTION_MAX; a++) {
        if (strcmp(name, action_names[a]) == 0) {
            *out = (enum ms_cap_action)a;
            MS_ASSERT(action_is_known((unsigned)*out));
            return 0;
        }
    }
    return -EINVAL;
}

/* ---- Little-endian helpers ---- */

static void put_le16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void put_le32(uint8_t *p, uint32_t v)
{
    for (unsigned i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void put_le64(uint8_t *p, uint64_t v)
{
    for (unsigned i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint16_t get_le16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}

static uint32_t get_le32(const uint8_t *p)
{
    uint32_t v = 0;
    for (unsigned i = 0; i < 4; i++)
        v |= (uint32_t)p[i] << (8 * i);
    return v;
}

static uint64_t get_le64(const uint8_t *p)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < 8; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

/* ---- Body encode / decode ---- */

static bool fields_are_valid(const struct ms_captoken *tok)
{
    return tok->version == MS_CAPTOKEN_VERSION && action_is_known(tok->action) &&
           tok->node_id != 0;
}

int ms_captoken_encode_body(const struct ms_captoken *tok, uint8_t body[MS_CAPTOKEN_BODY_BYTES])
{
    MS_ASSERT(tok != NULL);
    MS_ASSERT(body != NULL);
    if (!fields_are_valid(tok))
        return -EINVAL;
    body[MS_CAPTOKEN_OFF_VERSION] = tok->version;
    body[MS_CAPTOKEN_OFF_ACTION] = tok->action;
    put_le16(body + MS_CAPTOKEN_OFF_RESERVED, 0);
    put_le32(body + MS_CAPTOKEN_OFF_KEY_ID, tok->key_id);
    put_le32(body + MS_CAPTOKEN_OFF_NODE_ID, tok->node_id);
    put_le32(body + MS_CAPTOKEN_OFF_FRAG_BITMAP, tok->frag_bitmap);
    put_le64(body + MS_CAPTOKEN_OFF_EXPIRY, tok->expiry_ms);
    memcpy(body + MS_CAPTOKEN_OFF_OID, tok->oid.b, MS_OID_BYTES);
    memcpy(body + MS_CAPTOKEN_OFF_NONCE, tok->nonce, MS_CAPTOKEN_NONCE_BYTES);
    MS_DASSERT(get_le32(body + MS_CAPTOKEN_OFF_NODE_ID) == tok->node_id);
    return 0;
}

int ms_captoken_decode(const uint8_t *buf, size_t len, struct ms_captoken *out)
{
    MS_ASSERT(out != NULL);
    if (buf == NULL || len != MS_CAPTOKEN_WIRE_BYTES)
        return -MEDSTORE_ETOKEN;
    if (get_le16(buf + MS_CAPTOKEN_OFF_RESERVED) != 0)
        return -MEDSTORE_ETOKEN;
    struct ms_captoken t;
    t.version = buf[MS_CAPTOKEN_OFF_VERSION];
    t.action = buf[MS_CAPTOKEN_OFF_ACTION];
    t.key_id = get_le32(buf + MS_CAPTOKEN_OFF_KEY_ID);
    t.node_id = get_le32(buf + MS_CAPTOKEN_OFF_NODE_ID);
    t.frag_bitmap = get_le32(buf + MS_CAPTOKEN_OFF_FRAG_BITMAP);
    t.expiry_ms = get_le64(buf + MS_CAPTOKEN_OFF_EXPIRY);
    memcpy(t.oid.b, buf + MS_CAPTOKEN_OFF_OID, MS_OID_BYTES);
    memcpy(t.nonce, buf + MS_CAPTOKEN_OFF_NONCE, MS_CAPTOKEN_NONCE_BYTES);
    if (!fields_are_valid(&t))
        return -MEDSTORE_ETOKEN;
    *out = t;
    MS_ASSERT(fields_are_valid(out));
    return 0;
}

/* Builds prefix || body into msg. */
static void signed_message(const uint8_t *body, uint8_t msg[SIGNED_BYTES])
{
    memcpy(msg, MS_CAPTOKEN_SIG_PREFIX, MS_CAPTOKEN_SIG_PREFIX_LEN);
    memcpy(msg + MS_CAPTOKEN_SIG_PREFIX_LEN, body, MS_CAPTOKEN_BODY_BYTES);
}

/* ---- Signer ---- */

int ms_captoken_signer_from_seed(uint32_t key_id, const uint8_t *seed, size_t seed_len,
                                 struct ms_captoken_signer **out)
{
    MS_ASSERT(out != NULL);
    if (seed == NULL || seed_len != MS_CAPTOKEN_SEED_BYTES)
        return -EINVAL;
    int rc = ms_sodium_init();
    if (rc != 0)
        return rc;
    struct ms_captoken_signer *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return -ENOMEM;
    rc = ms_secret_create(MS_CAPTOKEN_SK_BYTES, &s->sk);
    if (rc != 0) {
        free(s);
        return rc;
    }
    s->key_id = key_id;
    if (crypto_sign_seed_keypair(s->pk, ms_secret_data_mut(s->sk), seed) != 0) {
        ms_captoken_signer_destroy(s);
        return -MEDSTORE_EINTERNAL;
    }
    /* A failed mprotect leaves the key writable but intact: not a reason to refuse. */
    (void)!ms_secret_make_readonly(s->sk);
    *out = s;
    MS_ASSERT(ms_secret_len((*out)->sk) == MS_CAPTOKEN_SK_BYTES);
    return 0;
}

int ms_captoken_signer_from_file(uint32_t key_id, const char *path,
                                 struct ms_captoken_signer **out)
{
    MS_ASSERT(out != NULL);
    MS_ASSERT(path != NULL);
    struct ms_secret *seed = NULL;
    int rc = ms_secret_from_base64_file_exact(path, MS_CAPTOKEN_SEED_BYTES, &seed);
    if (rc != 0)
        return rc;
    rc = ms_captoken_signer_from_seed(key_id, ms_secret_data(seed), ms_secret_len(seed), out);
    ms_secret_destroy(seed); /* wipes */
    return rc;
}

void ms_captoken_signer_destroy(struct ms_captoken_signer *signer)
{
    if (signer == NULL)
        return;
    ms_secret_destroy(signer->sk); /* wipes, whatever the protection */
    sodium_memzero(signer, sizeof(*signer));
    free(signer);
}

uint32_t ms_captoken_signer_key_id(const struct ms_captoken_signer *signer)
{
    MS_ASSERT(signer != NULL);
    return signer->key_id;
}

void ms_captoken_signer_public_key(const struct ms_captoken_signer *signer,
                                   uint8_t pk[MS_CAPTOKEN_PK_BYTES])
{
    MS_ASSERT(signer != NULL);
    memcpy(pk, signer->pk, MS_CAPTOKEN_PK_BYTES);
}

int ms_captoken_sign(const struct ms_captoken_signer *signer, const struct ms_captoken *tok,
                     uint8_t out[MS_CAPTOKEN_WIRE_BYTES])
{
    MS_ASSERT(signer != NULL && signer->sk != NULL);
    MS_ASSERT(tok != NULL && out != NULL);
    const uint8_t *sk = ms_secret_data(signer->sk);
    if (tok->key_id != signer->key_id)
        return -EINVAL;
    int rc = ms_captoken_encode_body(tok, out);
    if (rc != 0)
        return rc;
    uint8_t msg[SIGNED_BYTES];
    signed_message(out, msg);
    /* The key is read-only: signing only reads it, so concurrent signers are fine. */
    if (crypto_sign_detached(out + MS_CAPTOKEN_OFF_SIG, NULL, msg, sizeof(msg), sk) != 0)
        return -MEDSTORE_EINTERNAL;
    MS_DASSERT(crypto_sign_verify_detached(out + MS_CAPTOKEN_OFF_SIG, msg, sizeof(msg),
                                           signer->pk) == 0);
    return 0;
}

int ms_captoken_mint(const struct ms_captoken_signer *signer, unsigned action, uint32_t node_id,
                     const struct ms_oid *oid, uint32_t frag_bitmap, uint64_t expiry_ms,
                     uint8_t out[MS_CAPTOKEN_WIRE_BYTES])
{
    MS_ASSERT(signer != NULL);
    MS_ASSERT(oid != NULL);
    if (!action_is_known(action))
        return -EINVAL;
    struct ms_captoken t = {
        .version = MS_CAPTOKEN_VERSION,
        .action = (uint8_t)action,
        .key_id = signer->key_id,
        .node_id = node_id,
        .frag_bitmap = frag_bitmap,
        .expiry_ms = expiry_ms,
        .oid = *oid,
    };
    randombytes_buf(t.nonce, sizeof(t.nonce));
    return ms_captoken_sign(signer, &t, out);
}

/* ---- Key ring ---- */

int ms_captoken_keyring_create(struct ms_captoken_keyring **out)
{
    MS_ASSERT(out != NULL);
    int rc = ms_sodium_init();
    if (rc != 0)
        return rc;
    struct ms_captoken_keyring *ring = calloc(1, sizeof(*ring));
    if (ring == NULL)
        return -ENOMEM;
    *out = ring;
    MS_ASSERT((*out)->n == 0);
    return 0;
}

void ms_captoken_keyring_destroy(struct ms_captoken_keyring *ring)
{
    free(ring);
}

size_t ms_captoken_keyring_count(const struct ms_captoken_keyring *ring)
{
    MS_ASSERT(ring != NULL);
    return ring->n;
}

static const uint8_t *keyring_find(const struct ms_captoken_keyring *ring, uint32_t key_id)
{
    MS_ASSERT(ring->n <= MS_CAPTOKEN_KEYRING_MAX);
    for (size_t i = 0; i < ring->n; i++)
        if (ring->keys[i].key_id == key_id)
            return ring->keys[i].pk;
    return NULL;
}

int ms_captoken_keyring_add(struct ms_captoken_keyring *ring, uint32_t key_id,
                            const uint8_t pk[MS_CAPTOKEN_PK_BYTES])
{
    MS_ASSERT(ring != NULL);
    MS_ASSERT(pk != NULL);
    if (keyring_find(ring, key_id) != NULL)
        return -EEXIST;
    if (ring->n == MS_CAPTOKEN_KEYRING_MAX)
        return -MEDSTORE_ELIMIT;
    /* Rejects non-canonical encodings and small-order points (which would accept forged
     * signatures for some messages): a config mistake, caught at startup. */
    if (crypto_core_ed25519_is_valid_point(pk) != 1)
        return -EINVAL;
    ring->keys[ring->n].key_id = key_id;
    memcpy(ring->keys[ring->n].pk, pk, MS_CAPTOKEN_PK_BYTES);
    ring->n++;
    MS_ASSERT(keyring_find(ring, key_id) != NULL);
    return 0;
}

static bool is_blank(char c)
{
    return c == ' ' || c == '\t';
}

/* Parses a decimal u32 of [p, end) strictly (digits only, no sign, no overflow). */
static int parse_u32(const char *p, const char *end, uint32_t *out)
{
    MS_ASSERT(p <= end);
    if (p == end || end - p > 10)
        return -EINVAL;
    uint64_t v = 0;
    for (; p < end; p++) {
        if (*p < '0' || *p > '9')
            return -EINVAL;
        v = v * 10 + (uint64_t)(*p - '0');
    }
    if (v > UINT32_MAX)
        return -EINVAL;
    *out = (uint32_t)v;
    return 0;
}

int ms_captoken_keyring_add_line(struct ms_captoken_keyring *ring, const char *value, size_t len)
{
    MS_ASSERT(ring != NULL);
    MS_ASSERT(value != NULL || len == 0);
    const char *p = value, *end = value + len;
    while (p < end && is_blank(*p))
        p++;
    while (end > p && is_blank(end[-1]))
        end--;
    const char *colon = memchr(p, ':', (size_t)(end - p));
    uint32_t key_id = 0;
    if (colon == NULL || parse_u32(p, colon, &key_id) != 0)
        return -MEDSTORE_ECONFIG;
    uint8_t pk[MS_CAPTOKEN_PK_BYTES];
    size_t pk_len = 0;
    const char *b64_end = NULL;
    const char *b64 = colon + 1;
    if (sodium_base642bin(pk, sizeof(pk), b64, (size_t)(end - b64), NULL, &pk_len, &b64_end,
                          sodium_base64_VARIANT_ORIGINAL) != 0 ||
        pk_len != sizeof(pk) || b64_end != end)
        return -MEDSTORE_ECONFIG;
    int rc = ms_captoken_keyring_add(ring, key_id, pk);
    return rc == -EINVAL ? -MEDSTORE_ECONFIG : rc;
}

int ms_captoken_pubkey_line(uint32_t key_id, const uint8_t pk[MS_CAPTOKEN_PK_BYTES], char *buf,
                            size_t cap)
{
    MS_ASSERT(pk != NULL);
    MS_ASSERT(buf != NULL || cap == 0);
    char b64[sodium_base64_ENCODED_LEN(MS_CAPTOKEN_PK_BYTES, sodium_base64_VARIANT_ORIGINAL)];
    sodium_bin2base64(b64, sizeof(b64), pk, MS_CAPTOKEN_PK_BYTES, sodium_base64_VARIANT_ORIGINAL);
    int n = snprintf(buf, cap, "token_pubkey = %" PRIu32 ":%s", key_id, b64);
    if (n < 0 || (size_t)n >= cap)
        return -ENOSPC;
    return n;
}

/* ---- Check ---- */

static int deny(enum ms_captoken_reason *reason, enum ms_captoken_reason why)
{
    MS_ASSERT(why != MS_CAPTOKEN_OK && why < MS_CAPTOKEN_R_COUNT);
    *reason = why;
    return -MEDSTORE_ETOKEN;
}

/* True when now is past expiry + skew (saturating: an expiry near UINT64_MAX never wraps). */
static bool is_expired(uint64_t expiry_ms, uint64_t now_ms, uint64_t skew_ms)
{
    uint64_t limit = expiry_ms > UINT64_MAX - skew_ms ? UINT64_MAX : expiry_ms + skew_ms;
    return now_ms > limit;
}

/* Checks the grant of a signed token t against want. */
static enum ms_captoken_reason grant_matches(const struct ms_captoken *t,
                                             const struct ms_captoken_expect *want)
{
    if (t->node_id != want->node_id)
        return MS_CAPTOKEN_R_AUDIENCE;
    if (!ms_oid_equal(&t->oid, &want->oid))
        return MS_CAPTOKEN_R_OBJECT;
    if ((want->actions & MS_CAP_ALLOW(t->action)) == 0)
        return MS_CAPTOKEN_R_ACTION;
    if (want->frag_index >= MS_CAPTOKEN_MAX_FRAGS ||
        (t->frag_bitmap & (UINT32_C(1) << want->frag_index)) == 0)
        return MS_CAPTOKEN_R_FRAGMENT;
    return MS_CAPTOKEN_OK;
}

int ms_captoken_check(const struct ms_captoken_keyring *ring, const uint8_t *tok, size_t len,
                      const struct ms_captoken_expect *want, uint64_t now_ms, uint64_t skew_ms,
                      enum ms_captoken_reason *reason, struct ms_captoken *out)
{
    MS_ASSERT(ring != NULL);
    MS_ASSERT(want != NULL && reason != NULL);
    MS_ASSERT(want->actions != 0);
    MS_ASSERT(skew_ms <= MS_CAPTOKEN_SKEW_MS_MAX);
    struct ms_captoken t;
    if (len == 0)
        return deny(reason, MS_CAPTOKEN_R_MISSING);
    if (ms_captoken_decode(tok, len, &t) != 0)
        return deny(reason, MS_CAPTOKEN_R_FORMAT);
    const uint8_t *pk = keyring_find(ring, t.key_id);
    if (pk == NULL)
        return deny(reason, MS_CAPTOKEN_R_KEY);
    uint8_t msg[SIGNED_BYTES];
    signed_message(tok, msg);
    if (crypto_sign_verify_detached(tok + MS_CAPTOKEN_OFF_SIG, msg, sizeof(msg), pk) != 0)
        return deny(reason, MS_CAPTOKEN_R_SIGNATURE);
    if (is_expired(t.expiry_ms, now_ms, skew_ms))
        return deny(reason, MS_CAPTOKEN_R_EXPIRED);
    enum ms_captoken_reason why = grant_matches(&t, want);
    if (why != MS_CAPTOKEN_OK)
        return deny(reason, why);
    *reason = MS_CAPTOKEN_OK;
    if (out != NULL)
        *out = t;
    return 0;
}
