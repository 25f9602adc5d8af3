/*
 * test_captoken.c - capability tokens (src/rpc/captoken.c): layout, strict decode, signing,
 * key ring, every rejection reason, tampering, key rotation, expiry at the skew boundary, and
 * the medstore-token tool end to end. Duty: Y-TRN-2 (short-lived capability tokens against
 * replay and hijacking), cited singly per test.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/err.h"
#include "common/ms_assert.h"
#include "rpc/captoken.h"
#include "testutil.h"

#define NODE 7u
#define KEY_A 1u
#define KEY_B 2u
#define EXPIRY 1800000000000ull /* 2027-01-15, unix ms */
#define NOW (EXPIRY - 1000)
#define SKEW MS_CAPTOKEN_SKEW_MS_DEFAULT

struct fx {
    struct ms_captoken_signer *a, *b;
    struct ms_captoken_keyring *ring; /* holds A and B */
    struct ms_captoken tok;           /* a valid token body for A */
    uint8_t wire[MS_CAPTOKEN_WIRE_BYTES];
    struct ms_captoken_expect want; /* what wire grants */
};

static struct ms_captoken_signer *signer_seeded(uint32_t key_id, uint64_t seed_no)
{
    uint8_t seed[MS_CAPTOKEN_SEED_BYTES];
    ms_test_fill(seed, sizeof(seed), seed_no);
    struct ms_captoken_signer *s = NULL;
    assert_int_equal(ms_captoken_signer_from_seed(key_id, seed, sizeof(seed), &s), 0);
    return s;
}

static void ring_add_signer(struct ms_captoken_keyring *ring, const struct ms_captoken_signer *s)
{
    uint8_t pk[MS_CAPTOKEN_PK_BYTES];
    ms_captoken_signer_public_key(s, pk);
    assert_int_equal(ms_captoken_keyring_add(ring, ms_captoken_signer_key_id(s), pk), 0);
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    f->a = signer_seeded(KEY_A, 11);
    f->b = signer_seeded(KEY_B, 22);
    assert_int_equal(ms_captoken_keyring_create(&f->ring), 0);
    ring_add_signer(f->ring, f->a);
    ring_add_signer(f->ring, f->b);
    f->tok = (struct ms_captoken){
        .version = 1, .action = MS_CAP_PUT, .key_id = KEY_A, .node_id = NODE,
        .frag_bitmap = (1u << 0) | (1u << 3) | (1u << 31), .expiry_ms = EXPIRY,
    };
    ms_test_fill(f->tok.oid.b, MS_OID_BYTES, 33);
    ms_test_fill(f->tok.nonce, MS_CAPTOKEN_NONCE_BYTES, 44);
    assert_int_equal(ms_captoken_sign(f->a, &f->tok, f->wire), 0);
    f->want = (struct ms_captoken_expect){
        .actions = MS_CAP_ALLOW(MS_CAP_PUT) | MS_CAP_ALLOW(MS_CAP_REPAIR_PUT),
        .node_id = NODE, .oid = f->tok.oid, .frag_index = 3,
    };
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    ms_captoken_signer_destroy(f->a);
    ms_captoken_signer_destroy(f->b);
    ms_captoken_keyring_destroy(f->ring);
    free(f);
    return 0;
}

/* Runs a check at NOW with the default skew; returns the reason, asserting the code. */
static enum ms_captoken_reason check_at(const struct fx *f, const uint8_t *tok, size_t len,
                                        const struct ms_captoken_expect *want, uint64_t now)
{
    enum ms_captoken_reason why = MS_CAPTOKEN_R_COUNT;
    int rc = ms_captoken_check(f->ring, tok, len, want, now, SKEW, &why, NULL);
    assert_int_equal(rc, why == MS_CAPTOKEN_OK ? 0 : -MEDSTORE_ETOKEN);
    return why;
}

static enum ms_captoken_reason check(const struct fx *f, const uint8_t *tok,
                                     const struct ms_captoken_expect *want)
{
    return check_at(f, tok, MS_CAPTOKEN_WIRE_BYTES, want, NOW);
}

/* ---- Layout and round trip ---- */

static void test_wire_layout_little_endian(void **state)
{
    struct fx *f = *state;
    const uint8_t *w = f->wire;
    assert_int_equal(w[0], 1);
    assert_int_equal(w[1], MS_CAP_PUT);
    assert_int_equal(w[2] | w[3], 0);
    static const uint8_t key[4] = {1, 0, 0, 0}, node[4] = {7, 0, 0, 0};
    static const uint8_t bits[4] = {0x09, 0x00, 0x00, 0x80};
    assert_memory_equal(w + 4, key, 4);
    assert_memory_equal(w + 8, node, 4);
    assert_memory_equal(w + 12, bits, 4);
    uint64_t e = 0;
    for (int i = 7; i >= 0; i--)
        e = (e << 8) | w[16 + i];
    assert_true(e == EXPIRY);
    assert_memory_equal(w + 24, f->tok.oid.b, 16);
    assert_memory_equal(w + 40, f->tok.nonce, 16);
}

/* The signature is Ed25519 over "medstore-cap-v1" || body, checked independently here. */
static void test_signature_input_is_prefix_and_body(void **state)
{
    struct fx *f = *state;
    uint8_t msg[15 + 56], pk[32];
    memcpy(msg, "medstore-cap-v1", 15);
    memcpy(msg + 15, f->wire, 56);
    ms_captoken_signer_public_key(f->a, pk);
    assert_int_equal(crypto_sign_verify_detached(f->wire + 56, msg, sizeof(msg), pk), 0);
    /* Without the domain prefix the same signature must not verify. */
    assert_int_not_equal(crypto_sign_verify_detached(f->wire + 56, f->wire, 56, pk), 0);
}

static void test_roundtrip_sign_decode_check__Y_TRN_2(void **state)
{
    struct fx *f = *state;
    struct ms_captoken got, checked;
    assert_int_equal(ms_captoken_decode(f->wire, sizeof(f->wire), &got), 0);
    assert_memory_equal(&got.oid, &f->tok.oid, sizeof(got.oid));
    assert_memory_equal(got.nonce, f->tok.nonce, sizeof(got.nonce));
    assert_int_equal(got.version, 1);
    assert_int_equal(got.action, MS_CAP_PUT);
    assert_int_equal(got.key_id, KEY_A);
    assert_int_equal(got.node_id, NODE);
    assert_int_equal(got.frag_bitmap, f->tok.frag_bitmap);
    assert_true(got.expiry_ms == EXPIRY);
    uint8_t body[MS_CAPTOKEN_BODY_BYTES];
    assert_int_equal(ms_captoken_encode_body(&got, body), 0);
    assert_memory_equal(body, f->wire, sizeof(body));
    enum ms_captoken_reason why = MS_CAPTOKEN_R_COUNT;
    assert_int_equal(ms_captoken_check(f->ring, f->wire, sizeof(f->wire), &f->want, NOW, SKEW,
                                       &why, &checked), 0);
    assert_int_equal(why, MS_CAPTOKEN_OK);
    assert_memory_equal(&checked.oid, &got.oid, sizeof(got.oid));
    assert_int_equal(checked.key_id, KEY_A);
}

static void test_mint_random_nonce_and_fields(void **state)
{
    struct fx *f = *state;
    uint8_t t1[MS_CAPTOKEN_WIRE_BYTES], t2[MS_CAPTOKEN_WIRE_BYTES];
    assert_int_equal(ms_captoken_mint(f->b, MS_CAP_GET, NODE, &f->tok.oid, 1u << 3, EXPIRY, t1),
                     0);
    assert_int_equal(ms_captoken_mint(f->b, MS_CAP_GET, NODE, &f->tok.oid, 1u << 3, EXPIRY, t2),
                     0);
    assert_memory_not_equal(t1 + 40, t2 + 40, 16); /* nonces differ */
    struct ms_captoken_expect want = f->want;
    want.actions = MS_CAP_ALLOW(MS_CAP_GET);
    assert_int_equal(check(f, t1, &want), MS_CAPTOKEN_OK);
    assert_int_equal(check(f, t2, &want), MS_CAPTOKEN_OK);
    assert_int_equal(ms_captoken_mint(f->b, 0, NODE, &f->tok.oid, 1, EXPIRY, t1), -EINVAL);
    assert_int_equal(ms_captoken_mint(f->b, 5, NODE, &f->tok.oid, 1, EXPIRY, t1), -EINVAL);
    assert_int_equal(ms_captoken_mint(f->b, MS_CAP_GET, 0, &f->tok.oid, 1, EXPIRY, t1), -EINVAL);
}

static void test_sign_refuses_invalid_fields(void **state)
{
    struct fx *f = *state;
    uint8_t out[MS_CAPTOKEN_WIRE_BYTES];
    struct ms_captoken t = f->tok;
    t.key_id = KEY_B; /* signer A cannot sign for key B */
    assert_int_equal(ms_captoken_sign(f->a, &t, out), -EINVAL);
    t = f->tok;
    t.version = 2;
    assert_int_equal(ms_captoken_sign(f->a, &t, out), -EINVAL);
    t = f->tok;
    t.action = 0;
    assert_int_equal(ms_captoken_encode_body(&t, out), -EINVAL);
    t = f->tok;
    t.node_id = 0;
    assert_int_equal(ms_captoken_encode_body(&t, out), -EINVAL);
}

/* ---- Strict decode ---- */

static void test_decode_strict_length_version_action_reserved(void **state)
{
    struct fx *f = *state;
    struct ms_captoken t;
    uint8_t buf[MS_CAPTOKEN_WIRE_BYTES + 1];
    memcpy(buf, f->wire, sizeof(f->wire));
    buf[120] = 0;
    for (size_t len = 0; len <= sizeof(buf); len++)
        assert_int_equal(ms_captoken_decode(buf, len, &t),
                         len == 120 ? 0 : -MEDSTORE_ETOKEN);
    assert_int_equal(ms_captoken_decode(NULL, 120, &t), -MEDSTORE_ETOKEN);
    static const struct {
        size_t off;
        uint8_t val;
    } bad[] = {{0, 0}, {0, 2}, {0, 255}, {1, 0}, {1, 5}, {1, 255}, {2, 1}, {3, 0x80}};
    for (size_t i = 0; i < MS_ARRAY_LEN(bad); i++) {
        memcpy(buf, f->wire, sizeof(f->wire));
        buf[bad[i].off] = bad[i].val;
        assert_int_equal(ms_captoken_decode(buf, 120, &t), -MEDSTORE_ETOKEN);
    }
    memcpy(buf, f->wire, sizeof(f->wire));
    memset(buf + 8, 0, 4); /* node id 0 is never valid */
    assert_int_equal(ms_captoken_decode(buf, 120, &t), -MEDSTORE_ETOKEN);
    for (unsigned a = 1; a <= 4; a++) {
        buf[1] = (uint8_t)a;
        memcpy(buf + 8, f->wire + 8, 4);
        assert_int_equal(ms_captoken_decode(buf, 120, &t), 0);
        assert_int_equal(t.action, a);
    }
}

/* ---- Every rejection reason, one by one ---- */

static void test_rejects_missing_token__Y_TRN_2(void **state)
{
    struct fx *f = *state;
    assert_int_equal(check_at(f, NULL, 0, &f->want, NOW), MS_CAPTOKEN_R_MISSING);
    assert_int_equal(check_at(f, f->wire, 0, &f->want, NOW), MS_CAPTOKEN_R_MISSING);
}

static void test_rejects_bad_format__Y_TRN_2(void **state)
{
    struct fx *f = *state;
    assert_int_equal(check_at(f, f->wire, 119, &f->want, NOW), MS_CAPTOKEN_R_FORMAT);
    assert_int_equal(check_at(f, f->wire, 56, &f->want, NOW), MS_CAPTOKEN_R_FORMAT);
    uint8_t bad[MS_CAPTOKEN_WIRE_BYTES];
    memcpy(bad, f->wire, sizeof(bad));
    bad[0] = 2; /* version */
    assert_int_equal(check(f, bad, &f->want), MS_CAPTOKEN_R_FORMAT);
}

static void test_rejects_unknown_key_id__Y_TRN_2(void **state)
{
    struct fx *f = *state;
    struct ms_captoken_signer *c = signer_seeded(9, 99);
    uint8_t tok[MS_CAPTOKEN_WIRE_BYTES];
    assert_int_equal(ms_captoken_mint(c, MS_CAP_PUT, NODE, &f->tok.oid, 1u << 3, EXPIRY, tok), 0);
    assert_int_equal(check(f, tok, &f->want), MS_CAPTOKEN_R_KEY);
    ms_captoken_signer_destroy(c);
}

static void test_rejects_bad_signature__Y_TRN_2(void **state)
{
    struct fx *f = *state;
    /* A token of key B's private key that claims key id A. */
    struct ms_captoken_signer *forger = signer_seeded(KEY_A, 22);
    uint8_t tok[MS_CAPTOKEN_WIRE_BYTES];
    assert_int_equal(ms_captoken_sign(forger, &f->tok, tok), 0);
    assert_int_equal(check(f, tok, &f->want), MS_CAPTOKEN_R_SIGNATURE);
    memcpy(tok, f->wire, sizeof(tok));
    memset(tok + 56, 0, 64);
    assert_int_equal(check(f, tok, &f->want), MS_CAPTOKEN_R_SIGNATURE);
    ms_captoken_signer_destroy(forger);
}

static void test_rejects_expired__Y_TRN_2(void **state)
{
    struct fx *f = *state;
    assert_int_equal(check_at(f, f->wire, 120, &f->want, EXPIRY + SKEW + 1),
                     MS_CAPTOKEN_R_EXPIRED);
    assert_int_equal(check_at(f, f->wire, 120, &f->want, UINT64_MAX), MS_CAPTOKEN_R_EXPIRED);
}

static void test_rejects_other_audience__Y_TRN_2(void **state)
{
    struct fx *f = *state;
    struct ms_captoken_expect want = f->want;
    want.node_id = NODE + 1;
    assert_int_equal(check(f, f->wire, &want), MS_CAPTOKEN_R_AUDIENCE);
}

static void test_rejects_other_object__Y_TRN_2(void **state)
{
    struct fx *f = *state;
    struct ms_captoken_expect want = f->want;
    want.oid.b[15] ^= 1;
    assert_int_equal(check(f, f->wire, &want), MS_CAPTOKEN_R_OBJECT);
}

static void test_rejects_wrong_action__Y_TRN_2(void **state)
{
    struct fx *f = *state;
    struct ms_captoken_expect want = f->want;
    want.actions = MS_CAP_ALLOW(MS_CAP_GET);
    assert_int_equal(check(f, f->wire, &want), MS_CAPTOKEN_R_ACTION);
    want.actions = MS_CAP_ALLOW(MS_CAP_DELETE);
    assert_int_equal(check(f, f->wire, &want), MS_CAPTOKEN_R_ACTION);
    want.actions = MS_CAP_ALLOW(MS_CAP_REPAIR_PUT); /* a put token is not a repair-put one */
    assert_int_equal(check(f, f->wire, &want), MS_CAPTOKEN_R_ACTION);
    want.actions = MS_CAP_ALLOW(MS_CAP_PUT);
    assert_int_equal(check(f, f->wire, &want), MS_CAPTOKEN_OK);
}

static void test_rejects_fragment_not_in_bitmap__Y_TRN_2(void **state)
{
    struct fx *f = *state;
    struct ms_captoken_expect want = f->want;
    static const uint32_t granted[] = {0, 3, 31};
    static const uint32_t denied[] = {1, 2, 4, 30, 32, 33, UINT32_MAX};
    for (size_t i = 0; i < MS_ARRAY_LEN(granted); i++) {
        want.frag_index = granted[i];
        assert_int_equal(check(f, f->wire, &want), MS_CAPTOKEN_OK);
    }
    for (size_t i = 0; i < MS_ARRAY_LEN(denied); i++) {
        want.frag_index = denied[i];
        assert_int_equal(check(f, f->wire, &want), MS_CAPTOKEN_R_FRAGMENT);
    }
}

/* Reasons have distinct, stable strings for `medstore-reason`. */
static void test_reason_strings(void **state)
{
    (void)state;
    static const char *const want[] = {
        "ok", "token-missing", "token-format", "token-key", "token-signature", "token-expired",
        "token-audience", "token-object", "token-action", "token-fragment",
    };
    assert_int_equal(MS_ARRAY_LEN(want), MS_CAPTOKEN_R_COUNT);
    for (unsigned r = 0; r < MS_CAPTOKEN_R_COUNT; r++)
        assert_string_equal(ms_captoken_reason_str((enum ms_captoken_reason)r), want[r]);
    assert_string_equal(ms_captoken_reason_str(MS_CAPTOKEN_R_COUNT), "token-unknown");
    assert_int_equal(ms_err_grpc_status(-MEDSTORE_ETOKEN), 7); /* PERMISSION_DENIED */
}

/* ---- Tampering ---- */

/* Every bit of every byte flipped: never accepted; from the bitmap on (and in any field
 * where the result still parses) the failure is the signature. */
static void test_tamper_every_bit_rejected__Y_TRN_2(void **state)
{
    struct fx *f = *state;
    for (size_t i = 0; i < MS_CAPTOKEN_WIRE_BYTES; i++) {
        for (unsigned bit = 0; bit < 8; bit++) {
            uint8_t t[MS_CAPTOKEN_WIRE_BYTES];
            memcpy(t, f->wire, sizeof(t));
            t[i] ^= (uint8_t)(1u << bit);
            struct ms_captoken d;
            bool parses = ms_captoken_decode(t, sizeof(t), &d) == 0;
            enum ms_captoken_reason why = check(f, t, &f->want);
            if (!parses)
                assert_int_equal(why, MS_CAPTOKEN_R_FORMAT);
            else if (i >= 4 && i < 8 && d.key_id != KEY_B)
                assert_int_equal(why, MS_CAPTOKEN_R_KEY);
            else
                assert_int_equal(why, MS_CAPTOKEN_R_SIGNATURE);
            if (i >= 12)
                assert_int_equal(why, MS_CAPTOKEN_R_SIGNATURE);
        }
    }
}

/* Each field changed to another VALID value, body re-encoded, old signature kept. */
static void test_tamper_each_field_bad_signature__Y_TRN_2(void **state)
{
    struct fx *f = *state;
    for (int field = 0; field < 6; field++) {
        struct ms_captoken t = f->tok;
        switch (field) {
        case 0: t.action = MS_CAP_REPAIR_PUT; break;
        case 1: t.node_id = NODE + 1; break;
        case 2: t.frag_bitmap = UINT32_MAX; break;
        case 3: t.expiry_ms = EXPIRY + 3600000; break;
        case 4: t.oid.b[0] ^= 0xff; break;
        default: t.nonce[15] ^= 0x01; break;
        }
        uint8_t forged[MS_CAPTOKEN_WIRE_BYTES];
        memcpy(forged, f->wire, sizeof(forged));
        assert_int_equal(ms_captoken_encode_body(&t, forged), 0);
        assert_memory_not_equal(forged, f->wire, 56);
        struct ms_captoken_expect want = f->want;
        want.node_id = t.node_id;
        assert_int_equal(check(f, forged, &want), MS_CAPTOKEN_R_SIGNATURE);
    }
}

/* ---- Rotation and expiry ---- */

static void test_key_rotation_two_keys__Y_TRN_2(void **state)
{
    struct fx *f = *state;
    uint8_t old_tok[MS_CAPTOKEN_WIRE_BYTES], new_tok[MS_CAPTOKEN_WIRE_BYTES];
    assert_int_equal(ms_captoken_mint(f->a, MS_CAP_PUT, NODE, &f->tok.oid, 8, EXPIRY, old_tok), 0);
    assert_int_equal(ms_captoken_mint(f->b, MS_CAP_PUT, NODE, &f->tok.oid, 8, EXPIRY, new_tok), 0);
    /* Overlap: both keys configured, both accepted. */
    assert_int_equal(check(f, old_tok, &f->want), MS_CAPTOKEN_OK);
    assert_int_equal(check(f, new_tok, &f->want), MS_CAPTOKEN_OK);
    /* After the old key is removed from the config, its tokens are refused. */
    struct ms_captoken_keyring *ring = NULL;
    assert_int_equal(ms_captoken_keyring_create(&ring), 0);
    ring_add_signer(ring, f->b);
    enum ms_captoken_reason why;
    assert_int_equal(ms_captoken_check(ring, old_tok, 120, &f->want, NOW, SKEW, &why, NULL),
                     -MEDSTORE_ETOKEN);
    assert_int_equal(why, MS_CAPTOKEN_R_KEY);
    assert_int_equal(ms_captoken_check(ring, new_tok, 120, &f->want, NOW, SKEW, &why, NULL), 0);
    ms_captoken_keyring_destroy(ring);
}

static void test_expiry_skew_boundary_exact__Y_TRN_2(void **state)
{
    struct fx *f = *state;
    enum ms_captoken_reason why;
    const struct ms_captoken_keyring *r = f->ring;
    /* Default skew: valid through expiry + 30 s inclusive, refused one ms later. */
    assert_int_equal(ms_captoken_check(r, f->wire, 120, &f->want, EXPIRY + 30000, 30000, &why,
                                       NULL), 0);
    assert_int_equal(ms_captoken_check(r, f->wire, 120, &f->want, EXPIRY + 30001, 30000, &why,
                                       NULL), -MEDSTORE_ETOKEN);
    assert_int_equal(why, MS_CAPTOKEN_R_EXPIRED);
    /* No skew: valid at the expiry millisecond itself. */
    assert_int_equal(ms_captoken_check(r, f->wire, 120, &f->want, EXPIRY, 0, &why, NULL), 0);
    assert_int_equal(ms_captoken_check(r, f->wire, 120, &f->want, EXPIRY + 1, 0, &why, NULL),
                     -MEDSTORE_ETOKEN);
    assert_int_equal(why, MS_CAPTOKEN_R_EXPIRED);
    /* Largest skew allowed; and well before the expiry. */
    assert_int_equal(ms_captoken_check(r, f->wire, 120, &f->want, EXPIRY + MS_CAPTOKEN_SKEW_MS_MAX,
                                       MS_CAPTOKEN_SKEW_MS_MAX, &why, NULL), 0);
    assert_int_equal(ms_captoken_check(r, f->wire, 120, &f->want, 0, 0, &why, NULL), 0);
}

static void test_expiry_near_uint64_max_does_not_wrap__Y_TRN_2(void **state)
{
    struct fx *f = *state;
    struct ms_captoken t = f->tok;
    t.expiry_ms = UINT64_MAX - 5;
    uint8_t tok[MS_CAPTOKEN_WIRE_BYTES];
    assert_int_equal(ms_captoken_sign(f->a, &t, tok), 0);
    assert_int_equal(check_at(f, tok, 120, &f->want, UINT64_MAX), MS_CAPTOKEN_OK);
    t.expiry_ms = 0;
    assert_int_equal(ms_captoken_sign(f->a, &t, tok), 0);
    assert_int_equal(check_at(f, tok, 120, &f->want, SKEW), MS_CAPTOKEN_OK);
    assert_int_equal(check_at(f, tok, 120, &f->want, SKEW + 1), MS_CAPTOKEN_R_EXPIRED);
}

/* Verification cannot be switched off: a NULL ring stops the process. */
static void test_null_ring_aborts__Y_TRN_2(void **state)
{
    struct fx *f = *state;
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int devnull = open("/dev/null", O_WRONLY);
        if (devnull >= 0)
            dup2(devnull, 2); /* keep the expected assertion report out of the test log */
        enum ms_captoken_reason why;
        int rc = ms_captoken_check(NULL, f->wire, 120, &f->want, NOW, SKEW, &why, NULL);
        _exit(rc == 0 ? 0 : 1);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGABRT);
}

/* ---- Key ring from config lines ---- */

static void test_keyring_line_roundtrip(void **state)
{
    struct fx *f = *state;
    uint8_t pk[MS_CAPTOKEN_PK_BYTES];
    ms_captoken_signer_public_key(f->a, pk);
    char line[128];
    int n = ms_captoken_pubkey_line(4000000000u, pk, line, sizeof(line));
    assert_int_equal(n, (int)strlen(line));
    assert_int_equal(strncmp(line, "token_pubkey = 4000000000:", 26), 0);
    assert_int_equal(strlen(line), 26 + 44);
    assert_int_equal(ms_captoken_pubkey_line(1, pk, line, 40), -ENOSPC);
    n = ms_captoken_pubkey_line(4000000000u, pk, line, sizeof(line));
    struct ms_captoken_keyring *ring = NULL;
    assert_int_equal(ms_captoken_keyring_create(&ring), 0);
    char value[128];
    int m = snprintf(value, sizeof(value), " \t%s \t", line + 15);
    assert_int_equal(ms_captoken_keyring_add_line(ring, value, (size_t)m), 0);
    assert_int_equal(ms_captoken_keyring_count(ring), 1);
    assert_int_equal(ms_captoken_keyring_add_line(ring, line + 15, (size_t)n - 15), -EEXIST);
    ms_captoken_keyring_destroy(ring);
}

static void test_keyring_line_rejects_malformed(void **state)
{
    struct fx *f = *state;
    uint8_t pk[MS_CAPTOKEN_PK_BYTES];
    char good[128], b64[64];
    ms_captoken_signer_public_key(f->a, pk);
    (void)!ms_captoken_pubkey_line(1, pk, good, sizeof(good));
    snprintf(b64, sizeof(b64), "%s", strchr(good, ':') + 1);
    char zero_key[64];
    uint8_t zeros[32] = {0};
    sodium_bin2base64(zero_key, sizeof(zero_key), zeros, 32, sodium_base64_VARIANT_ORIGINAL);
    char bad[8][128];
    snprintf(bad[0], 128, "%s", b64);             /* no key id */
    snprintf(bad[1], 128, ":%s", b64);            /* empty key id */
    snprintf(bad[2], 128, "4294967296:%s", b64);  /* key id overflow */
    snprintf(bad[3], 128, "+1:%s", b64);          /* sign */
    snprintf(bad[4], 128, "1:%.43s", b64);        /* truncated base64 */
    snprintf(bad[5], 128, "1:%sAAAA", b64);       /* too long */
    snprintf(bad[6], 128, "1:%s x", b64);         /* trailing garbage */
    snprintf(bad[7], 128, "1:%s", zero_key);      /* not a valid Ed25519 point */
    struct ms_captoken_keyring *ring = NULL;
    assert_int_equal(ms_captoken_keyring_create(&ring), 0);
    for (size_t i = 0; i < 8; i++)
        assert_int_equal(ms_captoken_keyring_add_line(ring, bad[i], strlen(bad[i])),
                         -MEDSTORE_ECONFIG);
    assert_int_equal(ms_captoken_keyring_add_line(ring, "", 0), -MEDSTORE_ECONFIG);
    assert_int_equal(ms_captoken_keyring_count(ring), 0);
    ms_captoken_keyring_destroy(ring);
}

static void test_keyring_limit(void **state)
{
    (void)state;
    struct ms_captoken_keyring *ring = NULL;
    assert_int_equal(ms_captoken_keyring_create(&ring), 0);
    for (uint32_t i = 0; i <= MS_CAPTOKEN_KEYRING_MAX; i++) {
        struct ms_captoken_signer *s = signer_seeded(i, 1000 + i);
        uint8_t pk[MS_CAPTOKEN_PK_BYTES];
        ms_captoken_signer_public_key(s, pk);
        int want = i < MS_CAPTOKEN_KEYRING_MAX ? 0 : -MEDSTORE_ELIMIT;
        assert_int_equal(ms_captoken_keyring_add(ring, i, pk), want);
        ms_captoken_signer_destroy(s);
    }
    assert_int_equal(ms_captoken_keyring_count(ring), MS_CAPTOKEN_KEYRING_MAX);
    ms_captoken_keyring_destroy(ring);
}

/* ---- Signing key files ---- */

static void write_key_file(const char *path, const char *text, mode_t mode)
{
    unlink(path);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, mode);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    assert_int_equal(fchmod(fd, mode), 0);
    close(fd);
}

static void test_signer_from_file_modes_and_format(void **state)
{
    struct fx *f = *state;
    char *dir = ms_test_tmpdir("captoken");
    char path[512], b64[64];
    snprintf(path, sizeof(path), "%s/token.key", dir);
    uint8_t seed[32];
    ms_test_fill(seed, sizeof(seed), 11); /* signer A's seed */
    sodium_bin2base64(b64, sizeof(b64), seed, sizeof(seed), sodium_base64_VARIANT_ORIGINAL);
    char text[80];
    snprintf(text, sizeof(text), "%s\n", b64);
    static const mode_t ok_modes[] = {0600, 0400};
    for (size_t i = 0; i < 2; i++) {
        write_key_file(path, text, ok_modes[i]);
        struct ms_captoken_signer *s = NULL;
        assert_int_equal(ms_captoken_signer_from_file(KEY_A, path, &s), 0);
        uint8_t pk1[32], pk2[32];
        ms_captoken_signer_public_key(s, pk1);
        ms_captoken_signer_public_key(f->a, pk2);
        assert_memory_equal(pk1, pk2, 32);
        ms_captoken_signer_destroy(s);
    }
    static const mode_t bad_modes[] = {0640, 0604, 0644, 0660};
    struct ms_captoken_signer *s = NULL;
    for (size_t i = 0; i < 4; i++) {
        write_key_file(path, text, bad_modes[i]);
        assert_int_equal(ms_captoken_signer_from_file(KEY_A, path, &s), -EACCES);
    }
    write_key_file(path, "not base64 at all\n", 0600);
    assert_int_equal(ms_captoken_signer_from_file(KEY_A, path, &s), -MEDSTORE_EFORMAT);
    sodium_bin2base64(b64, sizeof(b64), seed, 31, sodium_base64_VARIANT_ORIGINAL);
    write_key_file(path, b64, 0600);
    assert_int_equal(ms_captoken_signer_from_file(KEY_A, path, &s), -MEDSTORE_EFORMAT);
    char link_path[512];
    snprintf(link_path, sizeof(link_path), "%s/link.key", dir);
    write_key_file(path, text, 0644);
    assert_int_equal(symlink(path, link_path), 0); /* the target's mode is what counts */
    assert_int_equal(ms_captoken_signer_from_file(KEY_A, link_path, &s), -EACCES);
    assert_int_equal(ms_captoken_signer_from_file(KEY_A, dir, &s), -EINVAL);
    snprintf(path, sizeof(path), "%s/missing.key", dir);
    assert_int_equal(ms_captoken_signer_from_file(KEY_A, path, &s), -ENOENT);
    assert_null(s);
    ms_test_rmtree(dir);
    free(dir);
}

static void test_action_names(void **state)
{
    (void)state;
    static const char *const names[] = {"put", "get", "delete", "repair-put"};
    for (unsigned a = 1; a <= 4; a++) {
        enum ms_cap_action got;
        assert_int_equal(ms_cap_action_parse(names[a - 1], &got), 0);
        assert_int_equal(got, a);
        assert_string_equal(ms_cap_action_name(a), names[a - 1]);
    }
    enum ms_cap_action got;
    assert_int_equal(ms_cap_action_parse("PUT", &got), -EINVAL);
    assert_int_equal(ms_cap_action_parse("", &got), -EINVAL);
    assert_string_equal(ms_cap_action_name(0), "unknown");
}

/* ---- medstore-token, the tool, end to end ---- */

/* Runs argv, returns its exit status and up to cap-1 bytes of its stdout in out. */
static int run_tool(char *const argv[], char *out, size_t cap)
{
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(fds[1], 1);
        int devnull = open("/dev/null", O_WRONLY);
        if (devnull >= 0)
            dup2(devnull, 2);
        close(fds[0]);
        execv(argv[0], argv);
        _exit(127);
    }
    close(fds[1]);
    size_t n = 0;
    ssize_t r;
    while (n + 1 < cap && (r = read(fds[0], out + n, cap - 1 - n)) > 0)
        n += (size_t)r;
    out[n] = '\0';
    close(fds[0]);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    return WEXITSTATUS(status);
}

static void test_medstore_token_tool_mints_valid_token__Y_TRN_2(void **state)
{
    struct fx *f = *state;
    const char *build = getenv("MEDSTORE_BUILD_ROOT");
    ms_test_require(build != NULL, "MEDSTORE_BUILD_ROOT (run under meson test)");
    char tool[512], key[512], out[1024];
    snprintf(tool, sizeof(tool), "%s/tools/medstore-token", build);
    char *dir = ms_test_tmpdir("captoken-tool");
    snprintf(key, sizeof(key), "%s/token-2.key", dir);
    uint8_t seed[32];
    char b64[64];
    ms_test_fill(seed, sizeof(seed), 22); /* signer B's seed */
    sodium_bin2base64(b64, sizeof(b64), seed, sizeof(seed), sodium_base64_VARIANT_ORIGINAL);
    write_key_file(key, b64, 0600);
    char oid_hex[33];
    ms_oid_to_hex(&f->tok.oid, oid_hex);
    char *mint[] = {tool, "mint", "--key", key, "--key-id", "2", "--action", "repair-put",
                    "--node", "7", "--object", oid_hex, "--frags", "3,5", "--ttl-ms", "60000",
                    NULL};
    assert_int_equal(run_tool(mint, out, sizeof(out)), 0);
    assert_int_equal(strlen(out), 241);
    uint8_t tok[MS_CAPTOKEN_WIRE_BYTES];
    size_t len = 0;
    assert_int_equal(sodium_hex2bin(tok, sizeof(tok), out, 240, NULL, &len, NULL), 0);
    assert_int_equal(len, 120);
    struct ms_captoken got;
    assert_int_equal(ms_captoken_decode(tok, len, &got), 0);
    assert_int_equal(got.frag_bitmap, (1u << 3) | (1u << 5));
    assert_int_equal(got.action, MS_CAP_REPAIR_PUT);
    /* Expiry = the tool's wall clock + ttl: within a minute of ours. */
    struct timespec ts;
    assert_int_equal(clock_gettime(CLOCK_REALTIME, &ts), 0);
    uint64_t now_ms = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
    assert_true(got.expiry_ms >= now_ms && got.expiry_ms <= now_ms + 120000);
    assert_int_equal(check_at(f, tok, len, &f->want, got.expiry_ms - 60000), MS_CAPTOKEN_OK);
    char *bad[] = {tool, "mint", "--key", key, "--key-id", "2", "--action", "fetch", NULL};
    assert_int_equal(run_tool(bad, out, sizeof(out)), 2);
    char *help[] = {tool, "--help", NULL};
    assert_int_equal(run_tool(help, out, sizeof(out)), 0);
    ms_test_rmtree(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_wire_layout_little_endian, setup, teardown),
        cmocka_unit_test_setup_teardown(test_signature_input_is_prefix_and_body, setup, teardown),
        cmocka_unit_test_setup_teardown(test_roundtrip_sign_decode_check__Y_TRN_2, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_mint_random_nonce_and_fields, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sign_refuses_invalid_fields, setup, teardown),
        cmocka_unit_test_setup_teardown(test_decode_strict_length_version_action_reserved, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_rejects_missing_token__Y_TRN_2, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rejects_bad_format__Y_TRN_2, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rejects_unknown_key_id__Y_TRN_2, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rejects_bad_signature__Y_TRN_2, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rejects_expired__Y_TRN_2, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rejects_other_audience__Y_TRN_2, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rejects_other_object__Y_TRN_2, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rejects_wrong_action__Y_TRN_2, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rejects_fragment_not_in_bitmap__Y_TRN_2, setup,
                                        teardown),
        cmocka_unit_test(test_reason_strings),
        cmocka_unit_test_setup_teardown(test_tamper_every_bit_rejected__Y_TRN_2, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tamper_each_field_bad_signature__Y_TRN_2, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_key_rotation_two_keys__Y_TRN_2, setup, teardown),
        cmocka_unit_test_setup_teardown(test_expiry_skew_boundary_exact__Y_TRN_2, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_expiry_near_uint64_max_does_not_wrap__Y_TRN_2, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_null_ring_aborts__Y_TRN_2, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keyring_line_roundtrip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keyring_line_rejects_malformed, setup, teardown),
        cmocka_unit_test(test_keyring_limit),
        cmocka_unit_test_setup_teardown(test_signer_from_file_modes_and_format, setup, teardown),
        cmocka_unit_test(test_action_names),
        cmocka_unit_test_setup_teardown(test_medstore_token_tool_mints_valid_token__Y_TRN_2,
                                        setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
