/*
 * test_service.c - the node's RPC handlers (src/node/service.c) on a real fragment store
 * (sync I/O backend, memory kv, temp directory), served by two in-process gRPC servers on
 * 127.0.0.1 in insecure test mode: one whose callers are principal "meta" (a service
 * principal), one whose callers are "alice" (a user). Real gRPC rather than the loopback
 * client: the workers answer from their own threads, racing the completion-queue callbacks,
 * and that is the interleaving to test. mTLS itself is covered by tests/integration.
 *
 * Covers: put / get / range / delete round trips byte for byte; the zero-overwrite delete seen
 * through a hard link (F-STO-4, F-DEL-2); every capability token rejection reaching the client
 * as PERMISSION_DENIED with its reason (Y-TRN-2); service RPCs refused to a user principal;
 * duplicate put ALREADY_EXISTS; an abandoned put leaving nothing visible; damaged bytes never
 * served (DATA_LOSS, verify and scrub report; Y-STO-2); bad headers refused before any write.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <unistd.h>

#include "common/clock.h"
#include "fragtest.h"
#include "node/scrub.h"
#include "node/service.h"
#include "rpc/captoken.h"
#include "rpc/node_rpc.h"

#define NODE_ID 7u
#define NOW_MS 1700000000000ULL

struct fx {
    char *dir;
    struct ms_io *io;
    struct ms_kv *kv;
    struct ms_fragstore *store;
    struct ms_captoken_keyring *ring;
    struct ms_captoken_signer *signer;
    struct ms_captoken_signer *rogue; /* same key id, other key */
    struct ms_clock_fake clock;
    struct ms_node_service *svc;
    struct ms_rpc_server *srv_meta, *srv_alice;
    struct ms_rpc_client *meta;  /* a service principal */
    struct ms_rpc_client *alice; /* a user */
    struct ms_oid oid;
    struct fragtest f;
};

/* Starts an insecure server whose callers are principal, and a client for it. */
static struct ms_rpc_server *serve(const struct ms_rpc_method *m, const char *principal,
                                   struct ms_rpc_client **client)
{
    struct ms_rpc_server *srv;
    struct ms_rpc_server_config sc = {.listen_addr = "127.0.0.1:0", .insecure_for_tests = true,
                                      .insecure_principal = principal, .cq_threads = 1,
                                      .shutdown_grace_ms = 1000};
    assert_int_equal(ms_rpc_server_create(&sc, m, MS_NODE_RPC_METHODS, &srv), 0);
    assert_int_equal(ms_rpc_server_start(srv), 0);
    char target[64];
    snprintf(target, sizeof(target), "127.0.0.1:%d", ms_rpc_server_port(srv));
    struct ms_rpc_client_config cc = {.target = target, .insecure_for_tests = true,
                                      .default_deadline_ms = 10000};
    assert_int_equal(ms_rpc_client_create(&cc, client), 0);
    return srv;
}

static int setup(void **state)
{
    struct fx *x = calloc(1, sizeof(*x));
    static const uint8_t seed[32] = {1, 2, 3};
    static const uint8_t seed2[32] = {9, 9, 9};
    const char *principals[] = {"meta", "scrubber"};
    uint8_t pk[MS_CAPTOKEN_PK_BYTES];
    assert_non_null(x);
    x->dir = ms_test_tmpdir("service");
    assert_int_equal(ms_io_sync_create(&x->io), 0);
    assert_int_equal(fragtest_kv_open(NULL, &x->kv), 0);
    ms_clock_fake_init(&x->clock, NOW_MS, 0);
    struct ms_fragstore_opts so = {.data_dir = x->dir, .io = x->io, .kv = x->kv,
                                   .clock = &x->clock.clock};
    assert_int_equal(ms_fragstore_open(&so, &x->store), 0);
    assert_int_equal(ms_captoken_signer_from_seed(1, seed, 32, &x->signer), 0);
    assert_int_equal(ms_captoken_signer_from_seed(1, seed2, 32, &x->rogue), 0);
    assert_int_equal(ms_captoken_keyring_create(&x->ring), 0);
    ms_captoken_signer_public_key(x->signer, pk);
    assert_int_equal(ms_captoken_keyring_add(x->ring, 1, pk), 0);
    struct ms_node_service_opts o = {
        .store = x->store, .ring = x->ring, .clock = &x->clock.clock, .node_id = NODE_ID,
        .rack = "rack-a", .service_principals = principals, .n_service_principals = 2,
        .token_skew_ms = 30000, .workers = 4,
    };
    assert_int_equal(ms_node_service_create(&o, &x->svc), 0);
    struct ms_rpc_method m[MS_NODE_RPC_METHODS];
    ms_node_service_methods(x->svc, m);
    ms_rpc_init();
    x->srv_meta = serve(m, "meta", &x->meta);
    x->srv_alice = serve(m, "alice", &x->alice);
    fragtest_oid(&x->oid, 42);
    assert_int_equal(fragtest_build(&x->f, &x->oid, 2, 6, 1024, 4), 0);
    *state = x;
    return 0;
}

static int teardown(void **state)
{
    struct fx *x = *state;
    ms_rpc_client_destroy(x->meta);
    ms_rpc_client_destroy(x->alice);
    ms_rpc_server_destroy(x->srv_meta);
    ms_rpc_server_destroy(x->srv_alice);
    ms_rpc_fini();
    ms_node_service_destroy(x->svc);
    ms_fragstore_close(x->store);
    ms_kv_close(x->kv);
    ms_io_destroy(x->io);
    ms_captoken_keyring_destroy(x->ring);
    ms_captoken_signer_destroy(x->signer);
    ms_captoken_signer_destroy(x->rogue);
    fragtest_free(&x->f);
    ms_test_rmtree(x->dir);
    free(x->dir);
    free(x);
    return 0;
}

/* ---- helpers ------------------------------------------------------------------------------ */

struct tok {
    uint8_t b[MS_CAPTOKEN_WIRE_BYTES];
    struct ms_node_call_opts opts;
};

static void mint_full(struct fx *x, const struct ms_captoken_signer *s, unsigned action,
                      uint32_t node, const struct ms_oid *oid, uint32_t bitmap, uint64_t expiry,
                      struct tok *t)
{
    assert_int_equal(ms_captoken_mint(s, action, node, oid, bitmap, expiry, t->b), 0);
    (void)x;
    t->opts.deadline_ms = 10000;
    t->opts.token = t->b;
    t->opts.token_len = sizeof(t->b);
}

/* A token for action on x->f's fragment, valid for a minute. */
static void mint(struct fx *x, unsigned action, struct tok *t)
{
    mint_full(x, x->signer, action, NODE_ID, &x->oid, 1u << x->f.key.frag_index,
              NOW_MS + 60000, t);
}

static struct ms_node_ref fref(const struct fx *x)
{
    struct ms_node_ref r = {.oid = x->f.key.oid, .frag_index = x->f.key.frag_index};
    return r;
}

static int put_with(struct fx *x, const struct ms_node_call_opts *o, struct ms_rpc_status *st)
{
    struct ms_node_ref r = fref(x);
    return ms_node_rpc_put(x->alice, o, &r, x->f.bytes, x->f.bytes + MS_FRAG_HDR_BYTES,
                           x->f.len - MS_FRAG_HDR_BYTES, 1000, NULL, st);
}

static void put_ok(struct fx *x)
{
    struct tok t;
    struct ms_rpc_status st;
    mint(x, MS_CAP_PUT, &t);
    assert_int_equal(put_with(x, &t.opts, &st), 0);
}

static int get_range(struct fx *x, enum ms_node_range_kind kind, uint64_t first, uint64_t count,
                     uint8_t *out, size_t cap, size_t *n, struct ms_rpc_status *st)
{
    struct tok t;
    mint(x, MS_CAP_GET, &t);
    struct ms_node_get_req g = {.ref = fref(x), .kind = kind, .first = first, .count = count};
    return ms_node_rpc_get(x->alice, &t.opts, &g, out, cap, n, NULL, st);
}

/* ---- round trips -------------------------------------------------------------------------- */

static void test_put_get_roundtrip(void **state)
{
    struct fx *x = *state;
    struct ms_node_put_result res;
    struct tok t;
    struct ms_node_ref r = fref(x);
    mint(x, MS_CAP_PUT, &t);
    assert_int_equal(ms_node_rpc_put(x->alice, &t.opts, &r, x->f.bytes,
                                     x->f.bytes + MS_FRAG_HDR_BYTES, x->f.len - MS_FRAG_HDR_BYTES,
                                     0, &res, NULL),
                     0);
    assert_int_equal(res.stored_bytes, x->f.len);
    uint8_t *buf = malloc(x->f.len);
    size_t n = 0;
    assert_non_null(buf);
    assert_int_equal(get_range(x, MS_NODE_RANGE_ALL, 0, 0, buf, x->f.len, &n, NULL), 0);
    assert_int_equal(n, x->f.len);
    assert_memory_equal(buf, x->f.bytes, x->f.len);
    assert_int_equal(fragtest_check(x->store, &x->f), 0);
    free(buf);
}

static void test_get_ranges(void **state)
{
    struct fx *x = *state;
    uint8_t buf[8192];
    size_t n = 0;
    struct ms_rpc_status st;
    put_ok(x);
    /* A byte range across a record boundary. */
    uint64_t off = fragtest_rec_off(&x->f, 2) - 10;
    assert_int_equal(get_range(x, MS_NODE_RANGE_BYTES, off, 100, buf, sizeof(buf), &n, NULL), 0);
    assert_int_equal(n, 100);
    assert_memory_equal(buf, x->f.bytes + off, 100);
    /* Segments 3 and 4: exactly their two records. */
    assert_int_equal(get_range(x, MS_NODE_RANGE_SEGMENTS, 3, 2, buf, sizeof(buf), &n, NULL), 0);
    size_t rec = MS_FRAG_REC_HDR_BYTES + x->f.payload;
    assert_int_equal(n, 2 * rec);
    assert_memory_equal(buf, x->f.bytes + fragtest_rec_off(&x->f, 3), 2 * rec);
    /* Outside the fragment: OUT_OF_RANGE, no bytes. */
    assert_int_equal(get_range(x, MS_NODE_RANGE_BYTES, x->f.len - 1, 2, buf, sizeof(buf), &n,
                               &st),
                     -MEDSTORE_ERANGE);
    assert_int_equal(st.grpc_status, 11);
    assert_int_equal(get_range(x, MS_NODE_RANGE_SEGMENTS, 5, 2, buf, sizeof(buf), &n, &st),
                     -MEDSTORE_ERANGE);
    assert_int_equal(st.grpc_status, 11);
}

static void test_get_missing_is_not_found(void **state)
{
    struct fx *x = *state;
    uint8_t buf[16];
    size_t n;
    struct ms_rpc_status st;
    assert_int_equal(get_range(x, MS_NODE_RANGE_ALL, 0, 0, buf, sizeof(buf), &n, &st),
                     -MEDSTORE_ENOTFOUND);
    assert_int_equal(st.grpc_status, 5);
}

/* Deletes x->f over RPC while a hard link keeps the inode; checks the link sees only zeros. */
static void delete_and_check_link(struct fx *x)
{
    char path[4096], keep[4096];
    struct tok t;
    struct ms_node_delete_result res;
    struct ms_node_ref r = fref(x);
    put_ok(x);
    fragtest_path(x->dir, &x->f.key, path);
    snprintf(keep, sizeof(keep), "%s/keep-link", x->dir);
    assert_int_equal(link(path, keep), 0);
    long long size = ms_test_file_size(path); /* zero-padded to 4 KiB under O_DIRECT */
    assert_true(size >= (long long)x->f.len && size - (long long)x->f.len < 4096);
    mint(x, MS_CAP_DELETE, &t);
    assert_int_equal(ms_node_rpc_delete(x->alice, &t.opts, &r, &res, NULL), 0);
    assert_true(res.existed);
    assert_int_equal(res.wiped_bytes, size); /* the whole file */
    assert_int_equal(access(path, F_OK), -1); /* unlinked */
    uint8_t *buf;
    size_t len;
    assert_int_equal(ms_test_read_file(keep, &buf, &len), 0);
    assert_int_equal(len, size); /* same size, every byte zero */
    for (size_t i = 0; i < len; i++)
        assert_int_equal(buf[i], 0);
    free(buf);
    /* Gone for readers too, and a second delete is still OK. */
    uint8_t small[16];
    size_t n;
    assert_int_equal(get_range(x, MS_NODE_RANGE_ALL, 0, 0, small, 16, &n, NULL),
                     -MEDSTORE_ENOTFOUND);
    assert_int_equal(ms_node_rpc_delete(x->alice, &t.opts, &r, &res, NULL), 0);
    assert_false(res.existed);
}

static void test_delete_rpc_zero_overwrite__F_STO_4(void **state)
{
    delete_and_check_link(*state);
}

static void test_delete_rpc_space_erased_before_release__F_DEL_2(void **state)
{
    struct fx *x = *state;
    delete_and_check_link(x);
    assert_int_equal(fragtest_count_frags(x->dir), 0);
    assert_int_equal(fragtest_count_files(x->dir, "tmp"), 0);
}

static void test_duplicate_put_already_exists(void **state)
{
    struct fx *x = *state;
    struct tok t;
    struct ms_rpc_status st;
    put_ok(x);
    mint(x, MS_CAP_PUT, &t);
    assert_int_equal(put_with(x, &t.opts, &st), -MEDSTORE_EEXIST);
    assert_int_equal(st.grpc_status, 6);
    assert_string_equal(st.reason, "exists");
    assert_int_equal(fragtest_check(x->store, &x->f), 0); /* the first copy is untouched */
}

static void test_repair_put_token_accepted(void **state)
{
    struct fx *x = *state;
    struct tok t;
    mint(x, MS_CAP_REPAIR_PUT, &t);
    assert_int_equal(put_with(x, &t.opts, NULL), 0);
    assert_int_equal(fragtest_check(x->store, &x->f), 0);
}

/* ---- capability tokens (Y-TRN-2) ---------------------------------------------------------- */

static void expect_put_refused(struct fx *x, const struct ms_node_call_opts *o, const char *why)
{
    struct ms_rpc_status st;
    struct ms_node_entry e;
    struct ms_node_ref r = fref(x);
    int rc = put_with(x, o, &st);
    /* The client maps a reason it knows back to -MEDSTORE_ETOKEN; one it does not know (rpc's
     * table lacks captoken's "token-format") to PERMISSION_DENIED's -MEDSTORE_EDENIED. */
    assert_true(rc == -MEDSTORE_ETOKEN || rc == -MEDSTORE_EDENIED);
    assert_int_equal(st.grpc_status, 7); /* PERMISSION_DENIED */
    assert_string_equal(st.reason, why);
    assert_int_equal(ms_node_rpc_stat(x->meta, NULL, &r, &e, NULL), -MEDSTORE_ENOTFOUND);
    assert_int_equal(fragtest_count_files(x->dir, "tmp"), 0); /* refused before any write */
}

static void test_token_missing_refused__Y_TRN_2(void **state)
{
    struct fx *x = *state;
    struct ms_node_call_opts none = {.deadline_ms = 10000};
    expect_put_refused(x, &none, "token-missing");
}

static void test_token_wrong_action_refused__Y_TRN_2(void **state)
{
    struct fx *x = *state;
    struct tok t;
    mint(x, MS_CAP_GET, &t);
    expect_put_refused(x, &t.opts, "token-action");
    mint(x, MS_CAP_DELETE, &t);
    expect_put_refused(x, &t.opts, "token-action");
}

static void test_token_other_audience_refused__Y_TRN_2(void **state)
{
    struct fx *x = *state;
    struct tok t;
    mint_full(x, x->signer, MS_CAP_PUT, NODE_ID + 1, &x->oid, 1u << x->f.key.frag_index,
              NOW_MS + 60000, &t);
    expect_put_refused(x, &t.opts, "token-audience");
}

static void test_token_other_object_refused__Y_TRN_2(void **state)
{
    struct fx *x = *state;
    struct tok t;
    struct ms_oid other;
    fragtest_oid(&other, 43);
    mint_full(x, x->signer, MS_CAP_PUT, NODE_ID, &other, 1u << x->f.key.frag_index,
              NOW_MS + 60000, &t);
    expect_put_refused(x, &t.opts, "token-object");
}

static void test_token_other_fragment_refused__Y_TRN_2(void **state)
{
    struct fx *x = *state;
    struct tok t;
    mint_full(x, x->signer, MS_CAP_PUT, NODE_ID, &x->oid, ~(1u << x->f.key.frag_index),
              NOW_MS + 60000, &t);
    expect_put_refused(x, &t.opts, "token-fragment");
}

static void test_token_expired_refused__Y_TRN_2(void **state)
{
    struct fx *x = *state;
    struct tok t;
    mint_full(x, x->signer, MS_CAP_PUT, NODE_ID, &x->oid, 1u << x->f.key.frag_index,
              NOW_MS - 30001, &t);
    expect_put_refused(x, &t.opts, "token-expired");
    /* Within the skew it still counts. */
    mint_full(x, x->signer, MS_CAP_PUT, NODE_ID, &x->oid, 1u << x->f.key.frag_index,
              NOW_MS - 30000, &t);
    assert_int_equal(put_with(x, &t.opts, NULL), 0);
}

static void test_token_tampered_refused__Y_TRN_2(void **state)
{
    struct fx *x = *state;
    struct tok t;
    mint(x, MS_CAP_PUT, &t);
    t.b[20] ^= 0x01; /* inside the fragment bitmap: the signature no longer covers it */
    expect_put_refused(x, &t.opts, "token-signature");
    mint_full(x, x->rogue, MS_CAP_PUT, NODE_ID, &x->oid, 1u << x->f.key.frag_index,
              NOW_MS + 60000, &t);
    expect_put_refused(x, &t.opts, "token-signature");
    mint(x, MS_CAP_PUT, &t);
    t.opts.token_len = 119;
    expect_put_refused(x, &t.opts, "token-format");
}

static void test_get_and_delete_need_their_token__Y_TRN_2(void **state)
{
    struct fx *x = *state;
    struct tok t;
    struct ms_rpc_status st;
    struct ms_node_ref r = fref(x);
    uint8_t buf[64];
    size_t n;
    put_ok(x);
    mint(x, MS_CAP_PUT, &t);
    struct ms_node_get_req g = {.ref = r, .kind = MS_NODE_RANGE_BYTES, .first = 0, .count = 10};
    assert_int_equal(ms_node_rpc_get(x->alice, &t.opts, &g, buf, sizeof(buf), &n, NULL, &st),
                     -MEDSTORE_ETOKEN);
    assert_string_equal(st.reason, "token-action");
    struct ms_node_delete_result dr;
    mint(x, MS_CAP_GET, &t);
    assert_int_equal(ms_node_rpc_delete(x->alice, &t.opts, &r, &dr, &st), -MEDSTORE_ETOKEN);
    assert_int_equal(st.grpc_status, 7);
    assert_int_equal(fragtest_check(x->store, &x->f), 0); /* still there */
}

/* ---- service principals ------------------------------------------------------------------- */

static void test_user_denied_service_rpcs(void **state)
{
    struct fx *x = *state;
    struct ms_rpc_status st;
    struct ms_node_ref r = fref(x);
    struct ms_node_entry e[4];
    struct ms_node_page_req p = {.limit = 4};
    struct ms_node_damage d[2];
    struct ms_node_scrub_page sp;
    struct ms_node_info info;
    struct ms_node_ref next;
    size_t n;
    bool more;
    struct tok t;
    put_ok(x);
    mint(x, MS_CAP_GET, &t); /* a token does not make a user a service principal */
    assert_int_equal(ms_node_rpc_stat(x->alice, &t.opts, &r, e, &st), -MEDSTORE_EDENIED);
    assert_int_equal(st.grpc_status, 7);
    assert_string_equal(st.reason, "principal");
    assert_int_equal(ms_node_rpc_list(x->alice, NULL, &p, e, 4, &n, &more, &next, &st),
                     -MEDSTORE_EDENIED);
    assert_int_equal(ms_node_rpc_verify(x->alice, NULL, &r, d, &st), -MEDSTORE_EDENIED);
    assert_int_equal(ms_node_rpc_scrub(x->alice, NULL, &p, d, 2, &sp, &st), -MEDSTORE_EDENIED);
    assert_int_equal(ms_node_rpc_info(x->alice, NULL, &info, &st), -MEDSTORE_EDENIED);
    assert_string_equal(st.reason, "principal");
    /* The service principal gets answers. */
    assert_int_equal(ms_node_rpc_stat(x->meta, NULL, &r, e, NULL), 0);
    assert_int_equal(e[0].length, x->f.len);
    assert_int_equal(e[0].state, MS_NODE_STATE_COMMITTED);
    assert_int_equal(ms_node_rpc_list(x->meta, NULL, &p, e, 4, &n, &more, &next, NULL), 0);
    assert_int_equal(n, 1);
    assert_false(more);
    assert_int_equal(ms_node_rpc_info(x->meta, NULL, &info, NULL), 0);
    assert_int_equal(info.node_id, NODE_ID);
    assert_string_equal(info.rack, "rack-a");
    assert_int_equal(info.fragment_count, 1);
    assert_int_equal(info.format_version, MS_FRAG_VERSION);
}

static void test_list_pages(void **state)
{
    struct fx *x = *state;
    struct tok t;
    for (uint8_t i = 0; i < 5; i++) {
        struct fragtest f;
        assert_int_equal(fragtest_build(&f, &x->oid, i, 1, 64, 10 + i), 0);
        mint_full(x, x->signer, MS_CAP_PUT, NODE_ID, &x->oid, 1u << i, NOW_MS + 60000, &t);
        struct ms_node_ref r = {.oid = x->oid, .frag_index = i};
        assert_int_equal(ms_node_rpc_put(x->alice, &t.opts, &r, f.bytes,
                                         f.bytes + MS_FRAG_HDR_BYTES, f.len - MS_FRAG_HDR_BYTES,
                                         0, NULL, NULL),
                         0);
        fragtest_free(&f);
    }
    struct ms_node_entry e[8];
    struct ms_node_page_req p = {.limit = 2};
    size_t n, total = 0;
    bool more = true;
    for (unsigned page = 0; more && page < 10; page++) {
        assert_int_equal(ms_node_rpc_list(x->meta, NULL, &p, e, 8, &n, &more, &p.after, NULL), 0);
        p.has_after = true;
        for (size_t i = 0; i < n; i++)
            assert_int_equal(e[i].ref.frag_index, total + i);
        total += n;
    }
    assert_int_equal(total, 5);
}

/* ---- failures leave nothing visible ------------------------------------------------------- */

/* Waits (bounded) until the store has no temp file left. */
static void wait_tmp_empty(struct fx *x)
{
    for (int i = 0; i < 500 && fragtest_count_files(x->dir, "tmp") != 0; i++)
        usleep(10000);
    assert_int_equal(fragtest_count_files(x->dir, "tmp"), 0);
}

static void test_client_gone_mid_stream_leaves_nothing(void **state)
{
    struct fx *x = *state;
    struct tok t;
    struct ms_rpc_stream *s;
    struct ms_node_ref r = fref(x);
    uint8_t *hdr;
    size_t hlen;
    mint(x, MS_CAP_PUT, &t);
    struct ms_rpc_md md = {MS_RPC_MD_CAPTOKEN, t.b, sizeof(t.b)};
    struct ms_rpc_call_opts co = {.deadline_ms = 10000, .md = &md, .nmd = 1};
    assert_int_equal(ms_node_rpc_encode_put_header(&r, x->f.len, x->f.bytes, MS_FRAG_HDR_BYTES,
                                                   &hdr, &hlen),
                     0);
    assert_int_equal(ms_rpc_stream_open(x->alice, MS_NODE_RPC_PUT, &co, &s), 0);
    struct ms_rpc_seg seg = ms_rpc_seg_malloced(hdr, hlen);
    assert_int_equal(ms_rpc_stream_send(s, &seg, 1), 0);
    uint8_t prefix[MS_RPC_PB_PREFIX_MAX];
    size_t half = (x->f.len - MS_FRAG_HDR_BYTES) / 2;
    size_t pn = ms_rpc_pb_bytes_prefix(15, half, prefix);
    uint8_t *msg = malloc(pn + half);
    assert_non_null(msg);
    memcpy(msg, prefix, pn);
    memcpy(msg + pn, x->f.bytes + MS_FRAG_HDR_BYTES, half);
    seg = ms_rpc_seg_malloced(msg, pn + half);
    assert_int_equal(ms_rpc_stream_send(s, &seg, 1), 0);
    ms_rpc_stream_destroy(s); /* the client goes away without half-closing */
    wait_tmp_empty(x);
    struct ms_node_entry e;
    assert_int_equal(ms_node_rpc_stat(x->meta, NULL, &r, &e, NULL), -MEDSTORE_ENOTFOUND);
    assert_int_equal(fragtest_count_frags(x->dir), 0);
    /* The fragment can be put afterwards: nothing half-made blocks it. */
    put_ok(x);
}

static void test_transit_damage_refused__F_TRN_1(void **state)
{
    struct fx *x = *state;
    struct tok t;
    struct ms_rpc_status st;
    x->f.bytes[fragtest_rec_off(&x->f, 1) + MS_FRAG_REC_HDR_BYTES + 5] ^= 0x40;
    mint(x, MS_CAP_PUT, &t);
    assert_int_equal(put_with(x, &t.opts, &st), -MEDSTORE_ECORRUPT);
    assert_int_equal(st.grpc_status, 15);
    wait_tmp_empty(x);
    assert_int_equal(fragtest_count_frags(x->dir), 0);
}

static void test_bad_header_refused_before_write__Y_QRY_3(void **state)
{
    struct fx *x = *state;
    struct tok t;
    struct ms_rpc_status st;
    x->f.bytes[0] ^= 0xff; /* magic; object id and index still match the ref */
    mint(x, MS_CAP_PUT, &t);
    int rc = put_with(x, &t.opts, &st);
    assert_true(rc == -MEDSTORE_EFORMAT || rc == -MEDSTORE_ECORRUPT);
    assert_int_equal(st.grpc_status, rc == -MEDSTORE_EFORMAT ? 3 : 15);
    assert_int_equal(fragtest_count_files(x->dir, "tmp"), 0);
    assert_int_equal(fragtest_count_frags(x->dir), 0);
}

static void test_damaged_fragment_never_served__Y_STO_2(void **state)
{
    struct fx *x = *state;
    char path[4096];
    struct ms_rpc_status st;
    struct ms_node_ref r = fref(x);
    put_ok(x);
    fragtest_path(x->dir, &x->f.key, path);
    int fd = open(path, O_RDWR);
    assert_true(fd >= 0);
    uint8_t b;
    off_t at = (off_t)(fragtest_rec_off(&x->f, 3) + MS_FRAG_REC_HDR_BYTES + 17);
    assert_int_equal(pread(fd, &b, 1, at), 1);
    b ^= 0x10;
    assert_int_equal(pwrite(fd, &b, 1, at), 1);
    close(fd);
    uint8_t *buf = malloc(x->f.len);
    size_t n;
    assert_non_null(buf);
    assert_int_equal(get_range(x, MS_NODE_RANGE_SEGMENTS, 3, 1, buf, x->f.len, &n, &st),
                     -MEDSTORE_ECORRUPT);
    assert_int_equal(st.grpc_status, 15);
    assert_string_equal(st.reason, "corrupt");
    /* Segment 0 is intact and still served. */
    assert_int_equal(get_range(x, MS_NODE_RANGE_SEGMENTS, 0, 1, buf, x->f.len, &n, NULL), 0);
    assert_memory_equal(buf, x->f.bytes + fragtest_rec_off(&x->f, 0), n);
    struct ms_node_damage d;
    assert_int_equal(ms_node_rpc_verify(x->meta, NULL, &r, &d, NULL), 0);
    assert_false(d.ok);
    assert_int_equal(d.segments_checked, x->f.n_seg);
    struct ms_node_damage rows[4];
    struct ms_node_scrub_page page;
    struct ms_node_page_req p = {.limit = 4};
    assert_int_equal(ms_node_rpc_scrub(x->meta, NULL, &p, rows, 4, &page, NULL), 0);
    assert_int_equal(page.n_entries, 1);
    assert_memory_equal(rows[0].ref.oid.b, x->oid.b, 16);
    assert_int_equal(rows[0].ref.frag_index, x->f.key.frag_index);
    free(buf);
}

static void test_verify_intact(void **state)
{
    struct fx *x = *state;
    struct ms_node_ref r = fref(x);
    struct ms_node_damage d;
    struct ms_rpc_status st;
    assert_int_equal(ms_node_rpc_verify(x->meta, NULL, &r, &d, &st), -MEDSTORE_ENOTFOUND);
    put_ok(x);
    assert_int_equal(ms_node_rpc_verify(x->meta, NULL, &r, &d, NULL), 0);
    assert_true(d.ok);
    assert_int_equal(d.n_damaged, 0);
    assert_int_equal(d.segments_checked, x->f.n_seg);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_put_get_roundtrip),
        T(test_get_ranges),
        T(test_get_missing_is_not_found),
        T(test_delete_rpc_zero_overwrite__F_STO_4),
        T(test_delete_rpc_space_erased_before_release__F_DEL_2),
        T(test_duplicate_put_already_exists),
        T(test_repair_put_token_accepted),
        T(test_token_missing_refused__Y_TRN_2),
        T(test_token_wrong_action_refused__Y_TRN_2),
        T(test_token_other_audience_refused__Y_TRN_2),
        T(test_token_other_object_refused__Y_TRN_2),
        T(test_token_other_fragment_refused__Y_TRN_2),
        T(test_token_expired_refused__Y_TRN_2),
        T(test_token_tampered_refused__Y_TRN_2),
        T(test_get_and_delete_need_their_token__Y_TRN_2),
        T(test_user_denied_service_rpcs),
        T(test_list_pages),
        T(test_client_gone_mid_stream_leaves_nothing),
        T(test_transit_damage_refused__F_TRN_1),
        T(test_bad_header_refused_before_write__Y_QRY_3),
        T(test_damaged_fragment_never_served__Y_STO_2),
        T(test_verify_intact),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
