/*
 * test_node_e2e.c - the real medstore-node over mutual TLS on 127.0.0.1: an object made by the
 * codec goes in as six fragments, comes back byte for byte (whole, byte range, segment range)
 * and decodes; delete zero-overwrites (seen through a hard link); bad requests, bad tokens and
 * users on service RPCs get their exact status; SIGTERM drains and exits 0.
 * Suites: integration and smoke (CI's sanitizer build runs it end to end).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "codec/codec.h"
#include "codec/frag_format.h"
#include "nodeh.h"
#include "testutil.h"

#define K 4
#define M 2
#define OBJ_BYTES (300u * 1024u + 17u)

struct e2e {
    struct nh_pki pki;
    struct nh_node node;
    struct ms_rpc_client *alice, *meta, *scrubber;
    struct ms_captoken_signer *signer;
    struct ms_codec_ctx *codec;
    struct ms_oid oid;
    uint8_t key[MS_CODEC_KEY_BYTES];
    uint8_t *obj;
    struct ms_codec_fragments frags;
};

static struct e2e E;

static int group_setup(void **state)
{
    (void)state;
    ms_rpc_init();
    nh_pki_make(&E.pki);
    assert_int_equal(nh_node_start(&E.node, &E.pki, NULL), 0);
    E.alice = nh_client_as(&E.pki, E.node.port, "alice", "ca");
    E.meta = nh_client_as(&E.pki, E.node.port, "meta", "ca");
    E.scrubber = nh_client_as(&E.pki, E.node.port, "scrubber", "ca");
    E.signer = nh_signer(&E.pki);
    assert_int_equal(ms_codec_ctx_create(&E.codec), 0);
    ms_test_fill(E.oid.b, sizeof(E.oid.b), 11);
    ms_test_fill(E.key, sizeof(E.key), 12);
    E.obj = malloc(OBJ_BYTES);
    assert_non_null(E.obj);
    ms_test_fill(E.obj, OBJ_BYTES, 13);
    struct ms_codec_params p;
    ms_codec_params_default(&p);
    p.segment_size_bytes = 64 * 1024; /* five segments: ranges have something to pick */
    p.k = K;
    p.m = M;
    assert_int_equal(ms_codec_encode(E.codec, &p, &E.oid, E.key, E.obj, OBJ_BYTES, &E.frags), 0);
    assert_int_equal(E.frags.n, K + M);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    ms_rpc_client_destroy(E.alice);
    ms_rpc_client_destroy(E.meta);
    ms_rpc_client_destroy(E.scrubber);
    if (E.node.pid > 0)
        nh_node_kill9(&E.node);
    ms_rpc_fini();
    ms_captoken_signer_destroy(E.signer);
    ms_codec_fragments_free(&E.frags);
    ms_codec_ctx_destroy(E.codec);
    free(E.obj);
    nh_pki_destroy(&E.pki);
    return 0;
}

static struct ms_node_ref ref_of(const struct ms_oid *oid, unsigned i)
{
    struct ms_node_ref r = {.oid = *oid, .frag_index = i};
    return r;
}

static int put_frag(struct ms_rpc_client *c, const struct ms_oid *oid, unsigned i,
                    const uint8_t *frag, size_t len, struct ms_rpc_status *st)
{
    struct nh_tok t;
    struct ms_node_ref r = ref_of(oid, i);
    nh_mint(E.signer, MS_CAP_PUT, oid, 1u << i, 60000, &t);
    return ms_node_rpc_put(c, &t.opts, &r, frag, frag + MS_FRAG_HDR_BYTES,
                           len - MS_FRAG_HDR_BYTES, 0, NULL, st);
}

static int get_frag(unsigned i, enum ms_node_range_kind kind, uint64_t first, uint64_t count,
                    uint8_t *out, size_t cap, size_t *n, struct ms_rpc_status *st)
{
    struct nh_tok t;
    nh_mint(E.signer, MS_CAP_GET, &E.oid, 1u << i, 60000, &t);
    struct ms_node_get_req g = {.ref = ref_of(&E.oid, i), .kind = kind, .first = first,
                                .count = count};
    return ms_node_rpc_get(E.alice, &t.opts, &g, out, cap, n, NULL, st);
}

/* ---- round trips -------------------------------------------------------------------------- */

static void test_object_roundtrip_through_node(void **state)
{
    (void)state;
    for (unsigned i = 0; i < E.frags.n; i++)
        assert_int_equal(put_frag(E.alice, &E.oid, i, E.frags.frag[i], E.frags.frag_len[i], NULL),
                         0);
    uint8_t *got[K + M];
    size_t got_len[K + M];
    for (unsigned i = 0; i < E.frags.n; i++) {
        got[i] = malloc(E.frags.frag_len[i]);
        assert_non_null(got[i]);
        assert_int_equal(get_frag(i, MS_NODE_RANGE_ALL, 0, 0, got[i], E.frags.frag_len[i],
                                  &got_len[i], NULL),
                         0);
        assert_int_equal(got_len[i], E.frags.frag_len[i]);
        assert_memory_equal(got[i], E.frags.frag[i], got_len[i]);
    }
    /* Any four of the six fetched fragments rebuild the object. */
    const uint8_t *use[K + M] = {NULL, got[1], NULL, got[3], got[4], got[5]};
    uint8_t *obj;
    size_t len;
    assert_int_equal(ms_codec_decode(E.codec, E.frags.manifest, E.frags.manifest_len, &E.oid,
                                     E.key, use, got_len, K + M, &obj, &len, NULL),
                     0);
    assert_int_equal(len, OBJ_BYTES);
    assert_memory_equal(obj, E.obj, OBJ_BYTES);
    ms_codec_plain_free(obj, len);
    for (unsigned i = 0; i < E.frags.n; i++)
        free(got[i]);
}

static void test_range_reads(void **state)
{
    (void)state;
    const uint8_t *f = E.frags.frag[1];
    size_t flen = E.frags.frag_len[1];
    uint8_t *buf = malloc(flen);
    size_t n;
    assert_non_null(buf);
    assert_int_equal(get_frag(1, MS_NODE_RANGE_BYTES, 100, 5000, buf, flen, &n, NULL), 0);
    assert_int_equal(n, 5000);
    assert_memory_equal(buf, f + 100, 5000);
    /* Segments 1..2: exactly the file span the fragment's own index gives for them. */
    struct ms_frag_hdr hdr;
    struct ms_frag_idx_footer ftr;
    struct ms_frag_idx_entry ents[64];
    assert_int_equal(ms_frag_hdr_decode(f, flen, &hdr), 0);
    assert_int_equal(ms_frag_index_footer_decode(f + flen - MS_FRAG_IDX_FOOTER_BYTES,
                                                 MS_FRAG_IDX_FOOTER_BYTES, flen, &ftr),
                     0);
    uint64_t ib = ms_frag_index_bytes(ftr.segment_count);
    int nseg = ms_frag_index_decode(f + flen - ib, ib, flen, &hdr, ents, 64);
    assert_true(nseg >= 3);
    uint64_t off, len;
    assert_int_equal(ms_frag_locate_segments(ents, (uint32_t)nseg, 1, 2, &off, &len), 0);
    assert_int_equal(get_frag(1, MS_NODE_RANGE_SEGMENTS, 1, 2, buf, flen, &n, NULL), 0);
    assert_int_equal(n, len);
    assert_memory_equal(buf, f + off, len);
    /* Outside the fragment. */
    struct ms_rpc_status st;
    assert_int_equal(get_frag(1, MS_NODE_RANGE_BYTES, flen, 1, buf, flen, &n, &st),
                     -MEDSTORE_ERANGE);
    assert_int_equal(st.grpc_status, 11);
    assert_int_equal(get_frag(1, MS_NODE_RANGE_SEGMENTS, (uint64_t)nseg, 1, buf, flen, &n, &st),
                     -MEDSTORE_ERANGE);
    assert_int_equal(st.grpc_status, 11);
    free(buf);
}

static void test_duplicate_put_already_exists(void **state)
{
    (void)state;
    struct ms_rpc_status st;
    assert_int_equal(put_frag(E.alice, &E.oid, 0, E.frags.frag[0], E.frags.frag_len[0], &st),
                     -MEDSTORE_EEXIST);
    assert_int_equal(st.grpc_status, 6);
    assert_string_equal(st.reason, "exists");
}

/* Path of fragment i's committed file in the node's data directory. */
static void frag_path(unsigned i, char out[NH_PATH])
{
    char hex[MS_OID_HEX_LEN + 1];
    ms_oid_to_hex(&E.oid, hex);
    NH_SNPRINTF(out, NH_PATH, "%s/frags/%.2s/%s.%u", E.node.data, hex, hex, i);
}

/* Deletes fragment i over RPC with a hard link kept to its file; the link must then hold
 * exactly as many bytes as the fragment, all zero. */
static void delete_keeping_link(unsigned i)
{
    char path[NH_PATH], keep[NH_PATH];
    struct nh_tok t;
    struct ms_node_delete_result res;
    struct ms_node_ref r = ref_of(&E.oid, i);
    frag_path(i, path);
    NH_SNPRINTF(keep, sizeof(keep), "%s/keep-%u", E.node.dir, i);
    assert_int_equal(link(path, keep), 0);
    long long size = ms_test_file_size(path); /* zero-padded to 4 KiB under O_DIRECT */
    assert_true(size >= (long long)E.frags.frag_len[i] &&
                size - (long long)E.frags.frag_len[i] < 4096);
    nh_mint(E.signer, MS_CAP_DELETE, &E.oid, 1u << i, 60000, &t);
    assert_int_equal(ms_node_rpc_delete(E.alice, &t.opts, &r, &res, NULL), 0);
    assert_true(res.existed);
    assert_int_equal(res.wiped_bytes, size); /* the whole file */
    assert_int_equal(access(path, F_OK), -1);
    uint8_t *buf;
    size_t len;
    assert_int_equal(ms_test_read_file(keep, &buf, &len), 0);
    assert_int_equal(len, size); /* same size, every byte zero */
    for (size_t j = 0; j < len; j++)
        assert_int_equal(buf[j], 0);
    free(buf);
    unlink(keep);
    struct ms_rpc_status st;
    size_t n;
    uint8_t small[8];
    assert_int_equal(get_frag(i, MS_NODE_RANGE_ALL, 0, 0, small, sizeof(small), &n, &st),
                     -MEDSTORE_ENOTFOUND);
    assert_int_equal(st.grpc_status, 5);
}

static void test_delete_overwrites_with_zeros__F_STO_4(void **state)
{
    (void)state;
    delete_keeping_link(5);
}

static void test_delete_erases_space_before_release__F_DEL_2(void **state)
{
    (void)state;
    delete_keeping_link(4);
    /* Deleting what is gone is still OK, and says so. */
    struct nh_tok t;
    struct ms_node_delete_result res;
    struct ms_node_ref r = ref_of(&E.oid, 4);
    nh_mint(E.signer, MS_CAP_DELETE, &E.oid, 1u << 4, 60000, &t);
    assert_int_equal(ms_node_rpc_delete(E.alice, &t.opts, &r, &res, NULL), 0);
    assert_false(res.existed);
}

/* ---- bad input (Y-QRY-3) ------------------------------------------------------------------ */

struct raw_case {
    const char *method;
    const uint8_t *req;
    size_t len;
    int grpc_status;
};

static void test_malformed_requests_exact_status__Y_QRY_3(void **state)
{
    (void)state;
    static const uint8_t garbage[] = {0xff, 0xff, 0xff};
    static const uint8_t short_oid[] = {0x0a, 0x04, 0x0a, 0x02, 0x01, 0x02}; /* ref.oid 2 B */
    static const uint8_t limit_big[] = {0x10, 0x91, 0x4e};                /* limit 10001 */
    static const uint8_t idx_40[] = {0x0a, 0x14, 0x0a, 0x10, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11,
                                     12, 13, 14, 15, 16, 0x10, 0x28};     /* index 40 */
    static const uint8_t info_field[] = {0x08, 0x01};
    const struct raw_case cases[] = {
        {MS_NODE_RPC_STAT, garbage, sizeof(garbage), 3},
        {MS_NODE_RPC_STAT, short_oid, sizeof(short_oid), 3},
        {MS_NODE_RPC_VERIFY, idx_40, sizeof(idx_40), 3},
        {MS_NODE_RPC_LIST, limit_big, sizeof(limit_big), 3},
        {MS_NODE_RPC_SCRUB, garbage, sizeof(garbage), 3},
        {MS_NODE_RPC_INFO, info_field, sizeof(info_field), 3},
        {MS_NODE_RPC_STAT, garbage, 0, 3}, /* no ref at all */
        {"/medstore.v1.Node/NoSuchMethod", garbage, 0, 12},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct ms_rpc_status st;
        int rc = ms_node_rpc_raw_unary(E.meta, NULL, cases[i].method, cases[i].req, cases[i].len,
                                       &st);
        assert_true(rc < 0);
        assert_int_equal(st.grpc_status, cases[i].grpc_status);
        if (cases[i].grpc_status == 3)
            assert_string_equal(st.reason, "bad-request");
    }
    /* Stat of an absent fragment: NOT_FOUND; and the node is alive and well afterwards. */
    struct ms_node_entry e;
    struct ms_rpc_status st;
    struct ms_oid other;
    ms_test_fill(other.b, sizeof(other.b), 99);
    struct ms_node_ref r = ref_of(&other, 0);
    assert_int_equal(ms_node_rpc_stat(E.meta, NULL, &r, &e, &st), -MEDSTORE_ENOTFOUND);
    assert_int_equal(st.grpc_status, 5);
    struct ms_node_info info;
    assert_int_equal(ms_node_rpc_info(E.meta, NULL, &info, NULL), 0);
    assert_int_equal(info.node_id, NH_NODE_ID);
}

/* A PutFragment stream by hand: header (or not), data chunks, optional half-close. */
static int put_stream_raw(const uint8_t *hdr_msg, size_t hdr_len, size_t data_len,
                          const struct nh_tok *t, struct ms_rpc_status *st)
{
    struct ms_rpc_md md = {MS_RPC_MD_CAPTOKEN, t->b, sizeof(t->b)};
    struct ms_rpc_call_opts co = {.deadline_ms = 20000, .md = &md, .nmd = 1};
    struct ms_rpc_stream *s;
    assert_int_equal(ms_rpc_stream_open(E.alice, MS_NODE_RPC_PUT, &co, &s), 0);
    if (hdr_msg != NULL) {
        struct ms_rpc_seg seg = {.ptr = hdr_msg, .len = hdr_len};
        int src_ = ms_rpc_stream_send(s, &seg, 1);
        (void)src_; /* a refused send shows in the status */
    }
    if (data_len > 0) {
        uint8_t prefix[MS_RPC_PB_PREFIX_MAX];
        size_t pn = ms_rpc_pb_bytes_prefix(15, data_len, prefix);
        uint8_t *msg = calloc(1, pn + data_len);
        assert_non_null(msg);
        memcpy(msg, prefix, pn);
        struct ms_rpc_seg seg = ms_rpc_seg_malloced(msg, pn + data_len);
        int src_ = ms_rpc_stream_send(s, &seg, 1);
        (void)src_; /* a refused send shows in the status */
    }
    int rc = ms_rpc_stream_finish(s, st);
    ms_rpc_stream_destroy(s);
    return rc;
}

static void test_malformed_put_streams__Y_QRY_3(void **state)
{
    (void)state;
    struct ms_oid oid;
    struct nh_tok t;
    struct ms_rpc_status st;
    uint8_t *hdr;
    size_t hlen;
    ms_test_fill(oid.b, sizeof(oid.b), 21);
    nh_mint(E.signer, MS_CAP_PUT, &oid, 1u, 60000, &t);
    /* Data before the header. */
    assert_true(put_stream_raw(NULL, 0, 100, &t, &st) < 0);
    assert_int_equal(st.grpc_status, 3);
    /* A header whose bytes name another object than ref (the codec header of E.oid). */
    struct ms_node_ref r = ref_of(&oid, 0);
    assert_int_equal(ms_node_rpc_encode_put_header(&r, 5000, E.frags.frag[0], MS_FRAG_HDR_BYTES,
                                                   &hdr, &hlen),
                     0);
    assert_true(put_stream_raw(hdr, hlen, 0, &t, &st) < 0);
    assert_int_equal(st.grpc_status, 3);
    free(hdr);
    /* The stream ends before total_length. */
    struct ms_node_ref r0 = ref_of(&E.oid, 4);
    nh_mint(E.signer, MS_CAP_PUT, &E.oid, 1u << 4, 60000, &t);
    assert_int_equal(ms_node_rpc_encode_put_header(&r0, E.frags.frag_len[4], E.frags.frag[4],
                                                   MS_FRAG_HDR_BYTES, &hdr, &hlen),
                     0);
    assert_true(put_stream_raw(hdr, hlen, 0, &t, &st) < 0);
    assert_int_equal(st.grpc_status, 3);
    /* A chunk above 4 MiB never passes (gRPC's own limit or ours). */
    assert_true(put_stream_raw(hdr, hlen, MS_RPC_MAX_MESSAGE_BYTES + 1, &t, &st) < 0);
    assert_true(st.grpc_status == 3 || st.grpc_status == 8);
    free(hdr);
    struct ms_node_entry e;
    assert_int_equal(ms_node_rpc_stat(E.meta, NULL, &r0, &e, NULL), -MEDSTORE_ENOTFOUND);
}

/* ---- who may do what ---------------------------------------------------------------------- */

static void test_user_cert_denied_service_rpcs__Y_QRY_2(void **state)
{
    (void)state;
    struct ms_rpc_status st;
    struct ms_node_ref r = ref_of(&E.oid, 0);
    struct ms_node_entry e[8];
    struct ms_node_page_req p = {.limit = 8};
    struct ms_node_damage d[2];
    struct ms_node_scrub_page sp;
    struct ms_node_info info;
    struct ms_node_ref next;
    size_t n;
    bool more;
    assert_int_equal(ms_node_rpc_stat(E.alice, NULL, &r, e, &st), -MEDSTORE_EDENIED);
    assert_int_equal(st.grpc_status, 7);
    assert_string_equal(st.reason, "principal");
    assert_int_equal(ms_node_rpc_list(E.alice, NULL, &p, e, 8, &n, &more, &next, &st),
                     -MEDSTORE_EDENIED);
    assert_int_equal(ms_node_rpc_verify(E.alice, NULL, &r, d, &st), -MEDSTORE_EDENIED);
    assert_int_equal(ms_node_rpc_scrub(E.alice, NULL, &p, d, 2, &sp, &st), -MEDSTORE_EDENIED);
    assert_int_equal(ms_node_rpc_info(E.alice, NULL, &info, &st), -MEDSTORE_EDENIED);
    assert_int_equal(st.grpc_status, 7);
    /* Service principals from the config are served. */
    assert_int_equal(ms_node_rpc_stat(E.meta, NULL, &r, e, NULL), 0);
    assert_int_equal(e[0].length, E.frags.frag_len[0]);
    assert_int_equal(ms_node_rpc_verify(E.scrubber, NULL, &r, d, NULL), 0);
    assert_true(d[0].ok);
    assert_int_equal(ms_node_rpc_list(E.scrubber, NULL, &p, e, 8, &n, &more, &next, NULL), 0);
    assert_true(n >= 1);
    assert_int_equal(ms_node_rpc_scrub(E.meta, NULL, &p, d, 2, &sp, NULL), 0);
    assert_int_equal(sp.n_entries, 0);
    assert_int_equal(ms_node_rpc_info(E.meta, NULL, &info, NULL), 0);
    assert_string_equal(info.rack, "rack-a");
    assert_true(info.capacity_bytes >= info.free_bytes && info.free_bytes > 0);
}

static void expect_token_refused(const struct nh_tok *t, const char *reason)
{
    struct ms_rpc_status st;
    uint8_t buf[64];
    size_t n;
    struct ms_node_get_req g = {.ref = ref_of(&E.oid, 0), .kind = MS_NODE_RANGE_BYTES,
                                .first = 0, .count = 10};
    assert_true(ms_node_rpc_get(E.alice, &t->opts, &g, buf, sizeof(buf), &n, NULL, &st) < 0);
    assert_int_equal(st.grpc_status, 7);
    assert_string_equal(st.reason, reason);
}

static void test_token_tampered_refused__Y_TRN_2(void **state)
{
    (void)state;
    struct nh_tok t;
    for (size_t byte = 0; byte < MS_CAPTOKEN_WIRE_BYTES; byte += 13) {
        nh_mint(E.signer, MS_CAP_GET, &E.oid, 1u, 60000, &t);
        t.b[byte] ^= 0x04;
        struct ms_rpc_status st;
        uint8_t buf[16];
        size_t n;
        struct ms_node_get_req g = {.ref = ref_of(&E.oid, 0), .kind = MS_NODE_RANGE_BYTES,
                                    .first = 0, .count = 10};
        assert_true(ms_node_rpc_get(E.alice, &t.opts, &g, buf, sizeof(buf), &n, NULL, &st) < 0);
        assert_int_equal(st.grpc_status, 7);
    }
    nh_mint(E.signer, MS_CAP_GET, &E.oid, 1u, 60000, &t);
    t.b[70] ^= 0x01; /* inside the signature */
    expect_token_refused(&t, "token-signature");
}

static void test_token_expired_refused__Y_TRN_2(void **state)
{
    (void)state;
    struct nh_tok t;
    nh_mint(E.signer, MS_CAP_GET, &E.oid, 1u, -31000, &t); /* beyond the 30 s skew */
    expect_token_refused(&t, "token-expired");
}

static void test_token_other_audience_refused__Y_TRN_2(void **state)
{
    (void)state;
    struct nh_tok t;
    uint64_t expiry = nh_now_ms() + 60000;
    assert_int_equal(ms_captoken_mint(E.signer, MS_CAP_GET, NH_NODE_ID + 1, &E.oid, 1u, expiry,
                                      t.b),
                     0);
    t.opts.deadline_ms = 20000;
    t.opts.token = t.b;
    t.opts.token_len = sizeof(t.b);
    expect_token_refused(&t, "token-audience");
    nh_mint(E.signer, MS_CAP_GET, &E.oid, 1u << 3, 60000, &t); /* another fragment */
    expect_token_refused(&t, "token-fragment");
    nh_mint(E.signer, MS_CAP_DELETE, &E.oid, 1u, 60000, &t); /* another action */
    expect_token_refused(&t, "token-action");
    struct ms_node_call_opts none = {.deadline_ms = 20000};
    t.opts = none;
    expect_token_refused(&t, "token-missing");
}

/* Last: SIGTERM drains in-flight calls and exits 0. */
static void test_sigterm_drains_and_exits_0(void **state)
{
    (void)state;
    assert_int_equal(nh_node_stop(&E.node), 0);
    assert_true(nh_log_contains(&E.node, "event=drained"));
    assert_true(nh_log_contains(&E.node, "event=stopped"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_object_roundtrip_through_node),
        cmocka_unit_test(test_range_reads),
        cmocka_unit_test(test_duplicate_put_already_exists),
        cmocka_unit_test(test_delete_overwrites_with_zeros__F_STO_4),
        cmocka_unit_test(test_delete_erases_space_before_release__F_DEL_2),
        cmocka_unit_test(test_malformed_requests_exact_status__Y_QRY_3),
        cmocka_unit_test(test_malformed_put_streams__Y_QRY_3),
        cmocka_unit_test(test_user_cert_denied_service_rpcs__Y_QRY_2),
        cmocka_unit_test(test_token_tampered_refused__Y_TRN_2),
        cmocka_unit_test(test_token_expired_refused__Y_TRN_2),
        cmocka_unit_test(test_token_other_audience_refused__Y_TRN_2),
        cmocka_unit_test(test_sigterm_drains_and_exits_0),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
