/*
 * fuzz_captoken.c - libFuzzer target for capability tokens (src/rpc/captoken.c).
 *
 * Input: arbitrary bytes presented as a token. Properties asserted (abort on violation):
 *  - decode either refuses with -MEDSTORE_ETOKEN or yields a body that re-encodes to exactly
 *    the first 56 input bytes (decode/encode round trip);
 *  - check never crashes, always names a reason, and returns 0 only for a token that decodes,
 *    carries the fuzz key's id and grants what was asked;
 *  - a decoded body re-signed with the fuzz key is accepted for exactly its own grant, decodes
 *    to the same fields, and is refused once any one of its 120 bytes is changed.
 * Deterministic: a fixed signing seed (key id 7); Ed25519 signatures are deterministic.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/ms_assert.h"
#include "rpc/captoken.h"

#define FUZZ_KEY_ID 7u

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct ms_captoken_signer *signer;
static struct ms_captoken_keyring *ring;

static void fuzz_init(void)
{
    if (signer != NULL)
        return;
    uint8_t seed[MS_CAPTOKEN_SEED_BYTES];
    for (unsigned i = 0; i < sizeof(seed); i++)
        seed[i] = (uint8_t)(i * 7 + 1);
    uint8_t pk[MS_CAPTOKEN_PK_BYTES];
    MS_ASSERT(ms_captoken_signer_from_seed(FUZZ_KEY_ID, seed, sizeof(seed), &signer) == 0);
    MS_ASSERT(ms_captoken_keyring_create(&ring) == 0);
    ms_captoken_signer_public_key(signer, pk);
    MS_ASSERT(ms_captoken_keyring_add(ring, FUZZ_KEY_ID, pk) == 0);
}

static bool same_fields(const struct ms_captoken *a, const struct ms_captoken *b)
{
    return a->version == b->version && a->action == b->action && a->key_id == b->key_id &&
           a->node_id == b->node_id && a->frag_bitmap == b->frag_bitmap &&
           a->expiry_ms == b->expiry_ms && ms_oid_equal(&a->oid, &b->oid) &&
           memcmp(a->nonce, b->nonce, sizeof(a->nonce)) == 0;
}

/* The grant a token body asks for: its node, object, action and lowest fragment. */
static struct ms_captoken_expect grant_of(const struct ms_captoken *t)
{
    struct ms_captoken_expect want = {
        .actions = MS_CAP_ALLOW(t->action), .node_id = t->node_id, .oid = t->oid,
        .frag_index = t->frag_bitmap == 0 ? 0 : (uint32_t)__builtin_ctz(t->frag_bitmap),
    };
    return want;
}

/* Re-signs t with the fuzz key and checks the valid-token properties. */
static void resign_roundtrip(struct ms_captoken t, const uint8_t *data, size_t size)
{
    t.key_id = FUZZ_KEY_ID;
    uint8_t wire[MS_CAPTOKEN_WIRE_BYTES];
    MS_ASSERT(ms_captoken_sign(signer, &t, wire) == 0);
    struct ms_captoken back, out;
    MS_ASSERT(ms_captoken_decode(wire, sizeof(wire), &back) == 0);
    MS_ASSERT(same_fields(&back, &t));
    struct ms_captoken_expect want = grant_of(&t);
    enum ms_captoken_reason why;
    int rc = ms_captoken_check(ring, wire, sizeof(wire), &want, t.expiry_ms, 0, &why, &out);
    bool granted = t.frag_bitmap != 0;
    MS_ASSERT((rc == 0) == granted);
    MS_ASSERT(granted ? same_fields(&out, &t) : why == MS_CAPTOKEN_R_FRAGMENT);
    if (!granted)
        return;
    /* One changed byte anywhere: refused. */
    size_t pos = (size > 0 ? data[size - 1] : 0) % MS_CAPTOKEN_WIRE_BYTES;
    wire[pos] ^= (uint8_t)((size > 1 ? data[size - 2] : 0) | 1);
    MS_ASSERT(ms_captoken_check(ring, wire, sizeof(wire), &want, t.expiry_ms, 0, &why, NULL) ==
              -MEDSTORE_ETOKEN);
    MS_ASSERT(why != MS_CAPTOKEN_OK);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_init();
    struct ms_captoken t;
    int rc = ms_captoken_decode(data, size, &t);
    MS_ASSERT(rc == 0 || rc == -MEDSTORE_ETOKEN);
    if (rc == 0) {
        uint8_t body[MS_CAPTOKEN_BODY_BYTES];
        MS_ASSERT(ms_captoken_encode_body(&t, body) == 0);
        MS_ASSERT(memcmp(body, data, sizeof(body)) == 0);
    }
    struct ms_captoken_expect want = {.actions = MS_CAP_ALLOW(MS_CAP_GET), .node_id = 1};
    uint64_t now = 0;
    if (rc == 0) {
        want = grant_of(&t);
        now = t.expiry_ms;
    }
    uint64_t skew = size % (MS_CAPTOKEN_SKEW_MS_MAX + 1);
    enum ms_captoken_reason why = MS_CAPTOKEN_R_COUNT;
    int crc = ms_captoken_check(ring, data, size, &want, now, skew, &why, NULL);
    MS_ASSERT(why < MS_CAPTOKEN_R_COUNT);
    MS_ASSERT((crc == 0) == (why == MS_CAPTOKEN_OK));
    MS_ASSERT(crc == 0 || crc == -MEDSTORE_ETOKEN);
    if (rc != 0)
        MS_ASSERT(why == MS_CAPTOKEN_R_MISSING || why == MS_CAPTOKEN_R_FORMAT);
    if (crc == 0)
        MS_ASSERT(rc == 0 && t.key_id == FUZZ_KEY_ID && t.frag_bitmap != 0);
    if (rc == 0)
        resign_roundtrip(t, data, size);
    return 0;
}
