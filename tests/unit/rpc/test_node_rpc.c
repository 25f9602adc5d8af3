/*
 * test_node_rpc.c - the Node service adapter (src/rpc/node_rpc.c, node_rpc_client.c).
 *
 * Parsers: every rule of the validation table in node_rpc.h, one test each, with the exact
 * code (Y-QRY-3). Streams and answers: a mock node core behind the in-process loopback client,
 * so the PutFragment stream rules (header first, byte accounting) and every answer encoder /
 * client decoder pair are exercised without gRPC.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "codec/frag_format.h"
#include "medstore/v1/node.pb-c.h"
#include "rpc/node_rpc.h"
#include "testutil.h"

/* ---- request builders ---------------------------------------------------------------------- */

static const uint8_t OID[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

static uint8_t *pack(const ProtobufCMessage *m, size_t *len)
{
    *len = protobuf_c_message_get_packed_size(m);
    uint8_t *buf = malloc(*len + 1);
    assert_non_null(buf);
    assert_int_equal(protobuf_c_message_pack(m, buf), *len);
    return buf;
}

/* A 128-byte "header" naming OID / idx at the codec's offsets (the adapter checks only those;
 * the store decodes the rest). */
static void fake_header(uint8_t hdr[128], const uint8_t *oid, uint8_t idx)
{
    memset(hdr, 0xab, 128);
    memcpy(hdr + MS_FRAG_OFF_OID, oid, 16);
    hdr[MS_FRAG_OFF_FRAG_INDEX] = idx;
}

struct put_hdr_spec {
    const uint8_t *oid;
    size_t oid_len;
    uint32_t idx;
    uint64_t total;
    size_t hdr_len;
    const uint8_t *hdr_oid; /* oid written into the header bytes */
    uint8_t hdr_idx;
};

static uint8_t *put_header_msg(const struct put_hdr_spec *s, size_t *len)
{
    Medstore__V1__PutFragmentRequest m = MEDSTORE__V1__PUT_FRAGMENT_REQUEST__INIT;
    Medstore__V1__PutFragmentHeader h = MEDSTORE__V1__PUT_FRAGMENT_HEADER__INIT;
    Medstore__V1__FragmentRef r = MEDSTORE__V1__FRAGMENT_REF__INIT;
    uint8_t hdr[256];
    fake_header(hdr, s->hdr_oid, s->hdr_idx);
    r.object_id.data = (uint8_t *)s->oid;
    r.object_id.len = s->oid_len;
    r.fragment_index = s->idx;
    h.ref = &r;
    h.total_length = s->total;
    h.fragment_header.data = hdr;
    h.fragment_header.len = s->hdr_len;
    m.body_case = MEDSTORE__V1__PUT_FRAGMENT_REQUEST__BODY_HEADER;
    m.header = &h;
    return pack(&m.base, len);
}

static struct put_hdr_spec good_spec(void)
{
    struct put_hdr_spec s = {OID, 16, 3, 1000, 128, OID, 3};
    return s;
}

static int parse_hdr(const struct put_hdr_spec *s, struct ms_node_put_hdr *out)
{
    size_t len;
    const char *why = NULL;
    uint8_t *buf = put_header_msg(s, &len);
    int rc = ms_node_rpc_parse_put_header(buf, len, out, &why);
    assert_non_null(why);
    free(buf);
    return rc;
}

/* ---- PutFragment header ------------------------------------------------------------------- */

static void test_put_header_valid(void **state)
{
    (void)state;
    struct put_hdr_spec s = good_spec();
    struct ms_node_put_hdr h;
    assert_int_equal(parse_hdr(&s, &h), 0);
    assert_memory_equal(h.ref.oid.b, OID, 16);
    assert_int_equal(h.ref.frag_index, 3);
    assert_int_equal(h.total_length, 1000);
    assert_int_equal(h.frag_header[MS_FRAG_OFF_FRAG_INDEX], 3);
}

static void test_put_header_bad_oid_length__Y_QRY_3(void **state)
{
    (void)state;
    struct put_hdr_spec s = good_spec();
    struct ms_node_put_hdr h;
    s.oid_len = 15;
    assert_int_equal(parse_hdr(&s, &h), -MEDSTORE_EFORMAT);
    s.oid_len = 0;
    assert_int_equal(parse_hdr(&s, &h), -MEDSTORE_EFORMAT);
}

static void test_put_header_nil_oid__Y_QRY_3(void **state)
{
    (void)state;
    static const uint8_t nil[16];
    struct put_hdr_spec s = good_spec();
    struct ms_node_put_hdr h;
    s.oid = nil;
    s.hdr_oid = nil;
    assert_int_equal(parse_hdr(&s, &h), -MEDSTORE_EFORMAT);
}

static void test_put_header_index_32__Y_QRY_3(void **state)
{
    (void)state;
    struct put_hdr_spec s = good_spec();
    struct ms_node_put_hdr h;
    s.idx = 32;
    s.hdr_idx = 32;
    assert_int_equal(parse_hdr(&s, &h), -MEDSTORE_EFORMAT);
    s.idx = 31;
    s.hdr_idx = 31;
    assert_int_equal(parse_hdr(&s, &h), 0);
}

static void test_put_header_wrong_header_size__Y_QRY_3(void **state)
{
    (void)state;
    struct put_hdr_spec s = good_spec();
    struct ms_node_put_hdr h;
    s.hdr_len = 127;
    assert_int_equal(parse_hdr(&s, &h), -MEDSTORE_EFORMAT);
    s.hdr_len = 129;
    assert_int_equal(parse_hdr(&s, &h), -MEDSTORE_EFORMAT);
}

static void test_put_header_inconsistent__Y_QRY_3(void **state)
{
    (void)state;
    static const uint8_t other[16] = {9, 9, 9};
    struct put_hdr_spec s = good_spec();
    struct ms_node_put_hdr h;
    s.hdr_oid = other;
    assert_int_equal(parse_hdr(&s, &h), -MEDSTORE_EFORMAT);
    s = good_spec();
    s.hdr_idx = 4;
    assert_int_equal(parse_hdr(&s, &h), -MEDSTORE_EFORMAT);
}

static void test_put_header_total_length_bounds__Y_QRY_3(void **state)
{
    (void)state;
    struct put_hdr_spec s = good_spec();
    struct ms_node_put_hdr h;
    s.total = 127;
    assert_int_equal(parse_hdr(&s, &h), -MEDSTORE_EFORMAT);
    s.total = 128;
    assert_int_equal(parse_hdr(&s, &h), 0);
    s.total = MS_NODE_FRAGMENT_BYTES_MAX + 1;
    assert_int_equal(parse_hdr(&s, &h), -MEDSTORE_EFORMAT);
    s.total = MS_NODE_FRAGMENT_BYTES_MAX;
    assert_int_equal(parse_hdr(&s, &h), 0);
}

static void test_put_first_message_data__Y_QRY_3(void **state)
{
    (void)state;
    Medstore__V1__PutFragmentRequest m = MEDSTORE__V1__PUT_FRAGMENT_REQUEST__INIT;
    uint8_t data[10] = {0};
    struct ms_node_put_hdr h;
    const char *why;
    size_t len;
    m.body_case = MEDSTORE__V1__PUT_FRAGMENT_REQUEST__BODY_DATA;
    m.data.data = data;
    m.data.len = sizeof(data);
    uint8_t *buf = pack(&m.base, &len);
    assert_int_equal(ms_node_rpc_parse_put_header(buf, len, &h, &why), -MEDSTORE_EFORMAT);
    assert_string_equal(why, "first message must be the header");
    free(buf);
    /* An empty first message is no header either. */
    assert_int_equal(ms_node_rpc_parse_put_header(data, 0, &h, &why), -MEDSTORE_EFORMAT);
}

static void test_put_header_garbage_and_unknown_field__Y_QRY_3(void **state)
{
    (void)state;
    static const uint8_t garbage[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                      0xff};
    struct ms_node_put_hdr h;
    const char *why;
    assert_int_equal(ms_node_rpc_parse_put_header(garbage, sizeof(garbage), &h, &why),
                     -MEDSTORE_EFORMAT);
    /* A valid header followed by unknown field 7 (varint 1). */
    struct put_hdr_spec s = good_spec();
    size_t len;
    uint8_t *buf = put_header_msg(&s, &len);
    buf = realloc(buf, len + 2);
    assert_non_null(buf);
    buf[len] = 0x38;
    buf[len + 1] = 0x01;
    assert_int_equal(ms_node_rpc_parse_put_header(buf, len + 2, &h, &why), -MEDSTORE_EFORMAT);
    free(buf);
}

/* ---- PutFragment data --------------------------------------------------------------------- */

static int parse_data(const uint8_t *buf, size_t len, struct ms_rpc_msg *view)
{
    struct ms_rpc_iov one = {.ptr = buf, .len = len};
    struct ms_rpc_msg msg = {.len = len, .niov = 1, .iov = &one};
    static struct ms_rpc_iov iov[8];
    const char *why;
    return ms_node_rpc_parse_put_data(&msg, view, iov, 8, &why);
}

static uint8_t *data_msg(size_t n, size_t *len)
{
    uint8_t prefix[MS_RPC_PB_PREFIX_MAX];
    size_t pn = ms_rpc_pb_bytes_prefix(15, n, prefix);
    uint8_t *buf = malloc(pn + n + 2);
    assert_non_null(buf);
    memcpy(buf, prefix, pn);
    ms_test_fill(buf + pn, n, 7);
    *len = pn + n;
    return buf;
}

static void test_put_data_valid_zero_copy(void **state)
{
    (void)state;
    size_t len;
    uint8_t *buf = data_msg(5000, &len);
    struct ms_rpc_msg view;
    assert_int_equal(parse_data(buf, len, &view), 0);
    assert_int_equal(view.len, 5000);
    assert_int_equal(view.niov, 1);
    assert_ptr_equal(view.iov[0].ptr, buf + (len - 5000)); /* a view, not a copy */
    free(buf);
}

static void test_put_data_rules__Y_QRY_3(void **state)
{
    (void)state;
    struct ms_rpc_msg view;
    size_t len;
    /* empty chunk */
    uint8_t *buf = data_msg(0, &len);
    assert_int_equal(parse_data(buf, len, &view), -MEDSTORE_EFORMAT);
    free(buf);
    /* chunk above 4 MiB */
    buf = data_msg(MS_RPC_MAX_CHUNK_BYTES + 1, &len);
    assert_int_equal(parse_data(buf, len, &view), -MEDSTORE_EFORMAT);
    free(buf);
    /* exactly 4 MiB is fine */
    buf = data_msg(MS_RPC_MAX_CHUNK_BYTES, &len);
    assert_int_equal(parse_data(buf, len, &view), 0);
    free(buf);
    /* a second header */
    struct put_hdr_spec s = good_spec();
    buf = put_header_msg(&s, &len);
    assert_int_equal(parse_data(buf, len, &view), -MEDSTORE_EFORMAT);
    free(buf);
    /* data plus an unknown field */
    buf = data_msg(10, &len);
    buf[len] = 0x38;
    buf[len + 1] = 0x01;
    assert_int_equal(parse_data(buf, len + 2, &view), -MEDSTORE_EFORMAT);
    /* truncated framing */
    assert_int_equal(parse_data(buf, len - 1, &view), -MEDSTORE_EFORMAT);
    free(buf);
}

/* ---- GetFragment ------------------------------------------------------------------------- */

static int parse_get_with(int kind, uint64_t a, uint64_t b, struct ms_node_get_req *out)
{
    Medstore__V1__GetFragmentRequest m = MEDSTORE__V1__GET_FRAGMENT_REQUEST__INIT;
    Medstore__V1__FragmentRef r = MEDSTORE__V1__FRAGMENT_REF__INIT;
    Medstore__V1__ByteRange br = MEDSTORE__V1__BYTE_RANGE__INIT;
    Medstore__V1__SegmentRange sr = MEDSTORE__V1__SEGMENT_RANGE__INIT;
    const char *why;
    size_t len;
    r.object_id.data = (uint8_t *)OID;
    r.object_id.len = 16;
    r.fragment_index = 2;
    m.ref = &r;
    if (kind == 1) {
        br.offset = a;
        br.length = b;
        m.range_case = MEDSTORE__V1__GET_FRAGMENT_REQUEST__RANGE_BYTE_RANGE;
        m.byte_range = &br;
    } else if (kind == 2) {
        sr.first = (uint32_t)a;
        sr.count = (uint32_t)b;
        m.range_case = MEDSTORE__V1__GET_FRAGMENT_REQUEST__RANGE_SEGMENT_RANGE;
        m.segment_range = &sr;
    }
    uint8_t *buf = pack(&m.base, &len);
    int rc = ms_node_rpc_parse_get(buf, len, out, &why);
    free(buf);
    return rc;
}

static void test_get_ranges__Y_QRY_3(void **state)
{
    (void)state;
    struct ms_node_get_req g;
    assert_int_equal(parse_get_with(0, 0, 0, &g), 0);
    assert_int_equal(g.kind, MS_NODE_RANGE_ALL);
    assert_int_equal(parse_get_with(1, 100, 50, &g), 0);
    assert_int_equal(g.kind, MS_NODE_RANGE_BYTES);
    assert_int_equal(g.first, 100);
    assert_int_equal(g.count, 50);
    assert_int_equal(parse_get_with(1, 100, 0, &g), -MEDSTORE_EFORMAT);
    assert_int_equal(parse_get_with(1, UINT64_MAX, 2, &g), -MEDSTORE_ERANGE);
    assert_int_equal(parse_get_with(2, 3, 2, &g), 0);
    assert_int_equal(g.kind, MS_NODE_RANGE_SEGMENTS);
    assert_int_equal(parse_get_with(2, 3, 0, &g), -MEDSTORE_EFORMAT);
    assert_int_equal(parse_get_with(2, MS_FRAG_MAX_SEGMENTS, 1, &g), -MEDSTORE_ERANGE);
    assert_int_equal(parse_get_with(2, MS_FRAG_MAX_SEGMENTS - 1, 1, &g), 0);
}

static void test_get_missing_ref__Y_QRY_3(void **state)
{
    (void)state;
    Medstore__V1__GetFragmentRequest m = MEDSTORE__V1__GET_FRAGMENT_REQUEST__INIT;
    struct ms_node_get_req g;
    const char *why;
    size_t len;
    uint8_t *buf = pack(&m.base, &len);
    assert_int_equal(ms_node_rpc_parse_get(buf, len, &g, &why), -MEDSTORE_EFORMAT);
    assert_string_equal(why, "ref is missing");
    free(buf);
}

/* ---- ref and page requests --------------------------------------------------------------- */

static int parse_ref_with(const uint8_t *oid, size_t oid_len, uint32_t idx)
{
    Medstore__V1__StatFragmentRequest m = MEDSTORE__V1__STAT_FRAGMENT_REQUEST__INIT;
    Medstore__V1__FragmentRef r = MEDSTORE__V1__FRAGMENT_REF__INIT;
    struct ms_node_ref out;
    const char *why;
    size_t len;
    r.object_id.data = (uint8_t *)oid;
    r.object_id.len = oid_len;
    r.fragment_index = idx;
    m.ref = &r;
    uint8_t *buf = pack(&m.base, &len);
    int rc = ms_node_rpc_parse_ref_req(buf, len, &out, &why);
    free(buf);
    return rc;
}

static void test_ref_request_rules__Y_QRY_3(void **state)
{
    (void)state;
    static const uint8_t long_oid[17] = {1};
    assert_int_equal(parse_ref_with(OID, 16, 0), 0);
    assert_int_equal(parse_ref_with(OID, 16, 32), -MEDSTORE_EFORMAT);
    assert_int_equal(parse_ref_with(long_oid, 17, 0), -MEDSTORE_EFORMAT);
    assert_int_equal(parse_ref_with(OID, 8, 0), -MEDSTORE_EFORMAT);
}

static int parse_page_with(bool after, uint32_t limit, uint32_t after_idx,
                           struct ms_node_page_req *out)
{
    Medstore__V1__ListFragmentsRequest m = MEDSTORE__V1__LIST_FRAGMENTS_REQUEST__INIT;
    Medstore__V1__FragmentRef r = MEDSTORE__V1__FRAGMENT_REF__INIT;
    const char *why;
    size_t len;
    r.object_id.data = (uint8_t *)OID;
    r.object_id.len = 16;
    r.fragment_index = after_idx;
    m.limit = limit;
    if (after)
        m.after = &r;
    uint8_t *buf = pack(&m.base, &len);
    int rc = ms_node_rpc_parse_page(buf, len, out, &why);
    free(buf);
    return rc;
}

static void test_page_request_rules__Y_QRY_3(void **state)
{
    (void)state;
    struct ms_node_page_req p;
    assert_int_equal(parse_page_with(false, 0, 0, &p), 0);
    assert_false(p.has_after);
    assert_int_equal(p.limit, MS_NODE_LIST_LIMIT_DEFAULT);
    assert_int_equal(parse_page_with(true, 10000, 5, &p), 0);
    assert_true(p.has_after);
    assert_int_equal(p.after.frag_index, 5);
    assert_int_equal(p.limit, 10000);
    assert_int_equal(parse_page_with(false, 10001, 0, &p), -MEDSTORE_EFORMAT);
    assert_int_equal(parse_page_with(true, 1, 40, &p), -MEDSTORE_EFORMAT);
}

static void test_info_request_rules__Y_QRY_3(void **state)
{
    (void)state;
    static const uint8_t field1[] = {0x08, 0x01};
    const char *why;
    assert_int_equal(ms_node_rpc_parse_info(field1, 0, &why), 0);
    assert_int_equal(ms_node_rpc_parse_info(field1, sizeof(field1), &why), -MEDSTORE_EFORMAT);
}

/* ---- a mock node core behind the loopback client ------------------------------------------ */

struct mock {
    struct ms_node_put_hdr hdr;
    uint8_t got[1 << 16];
    size_t got_len;
    int begins, ends, done_calls, last_done;
    const uint8_t *src;
    size_t src_len, sent;
};

static struct mock M;

static int m_put_begin(void *a, struct ms_rpc_call *call, const struct ms_node_put_hdr *h,
                       void **st)
{
    (void)a;
    (void)call;
    (void)st;
    M.hdr = *h;
    M.begins++;
    return 0;
}

static int m_put_data(void *a, struct ms_rpc_call *call, void **st, const struct ms_rpc_msg *d)
{
    (void)a;
    (void)call;
    (void)st;
    assert_true(M.got_len + d->len <= sizeof(M.got));
    assert_int_equal(ms_rpc_msg_copy(d, 0, M.got + M.got_len, d->len), 0);
    M.got_len += d->len;
    return 0;
}

static int m_put_end(void *a, struct ms_rpc_call *call, void **st)
{
    (void)a;
    (void)st;
    M.ends++;
    struct ms_node_put_result r = {.stored_bytes = M.hdr.total_length, .committed_unix_ms = 42};
    return ms_node_rpc_reply_put(call, &r);
}

static int m_send_next(struct ms_rpc_call *call)
{
    if (M.sent == M.src_len)
        return ms_rpc_call_finish(call, 0, NULL, NULL);
    size_t n = M.src_len - M.sent < 1000 ? M.src_len - M.sent : 1000;
    uint8_t *buf = malloc(n);
    assert_non_null(buf);
    memcpy(buf, M.src + M.sent, n);
    int rc = ms_node_rpc_send_data(call, 500 + M.sent, 500 + M.src_len, buf, buf, n);
    M.sent += n;
    return rc;
}

static int m_get(void *a, struct ms_rpc_call *call, const struct ms_node_get_req *r, void **st)
{
    (void)a;
    (void)st;
    if (r->kind == MS_NODE_RANGE_BYTES && r->first == 999)
        return ms_rpc_call_finish(call, -MEDSTORE_ECORRUPT, NULL, "damaged");
    M.sent = 0;
    return m_send_next(call);
}

static int m_get_writable(void *a, struct ms_rpc_call *call, void **st)
{
    (void)a;
    (void)st;
    return m_send_next(call);
}

static int m_del(void *a, struct ms_rpc_call *call, const struct ms_node_ref *ref, void **st)
{
    (void)a;
    (void)st;
    struct ms_node_delete_result r = {.existed = ref->frag_index == 1, .wiped_bytes = 4096};
    return ms_node_rpc_reply_delete(call, &r);
}

static struct ms_node_entry mk_entry(const struct ms_node_ref *ref, uint64_t len)
{
    struct ms_node_entry e = {.ref = *ref, .length = len, .state = MS_NODE_STATE_COMMITTED,
                              .committed_unix_ms = 123};
    memset(e.header_checksum, 0x5a, sizeof(e.header_checksum));
    return e;
}

static int m_stat(void *a, struct ms_rpc_call *call, const struct ms_node_ref *ref, void **st)
{
    (void)a;
    (void)st;
    if (ref->frag_index == 9)
        return -MEDSTORE_ENOTFOUND;
    struct ms_node_entry e = mk_entry(ref, 777);
    return ms_node_rpc_reply_stat(call, &e);
}

static int m_list(void *a, struct ms_rpc_call *call, const struct ms_node_page_req *p, void **st)
{
    (void)a;
    (void)st;
    struct ms_node_entry es[3];
    for (uint32_t i = 0; i < 3; i++) {
        struct ms_node_ref r = {.frag_index = i};
        memcpy(r.oid.b, OID, 16);
        es[i] = mk_entry(&r, 100 + i);
    }
    struct ms_node_list_page page = {.entries = es, .n_entries = p->limit < 3 ? p->limit : 3};
    page.has_next = p->limit < 3;
    page.next = es[page.n_entries - 1].ref;
    return ms_node_rpc_reply_list(call, &page);
}

static int m_verify(void *a, struct ms_rpc_call *call, const struct ms_node_ref *ref, void **st)
{
    (void)a;
    (void)st;
    struct ms_node_damage d = {.ref = *ref, .ok = false, .segments_checked = 8, .n_damaged = 2,
                               .damaged = {2, 5}};
    return ms_node_rpc_reply_verify(call, &d);
}

static int m_scrub(void *a, struct ms_rpc_call *call, const struct ms_node_page_req *p, void **st)
{
    (void)a;
    (void)p;
    (void)st;
    struct ms_node_damage d[2] = {
        {.header_damaged = true, .detected_unix_ms = 7},
        {.n_damaged = 1, .damaged = {3}, .detected_unix_ms = 8},
    };
    memcpy(d[0].ref.oid.b, OID, 16);
    memcpy(d[1].ref.oid.b, OID, 16);
    d[1].ref.frag_index = 4;
    struct ms_node_scrub_page page = {.entries = d, .n_entries = 2, .scrubbed_fragments = 11,
                                      .last_pass_unix_ms = 99};
    return ms_node_rpc_reply_scrub(call, &page);
}

static int m_info(void *a, struct ms_rpc_call *call, void **st)
{
    (void)a;
    (void)st;
    struct ms_node_info i = {.node_id = 9, .rack = "rack-z", .capacity_bytes = 1000,
                             .free_bytes = 600, .fragment_count = 3, .software_version = "0.1.0",
                             .format_version = 1, .protocol_version = 1};
    return ms_node_rpc_reply_info(call, &i);
}

static void m_done(void *a, struct ms_rpc_call *call, void **st, int code)
{
    (void)a;
    (void)call;
    (void)st;
    M.done_calls++;
    M.last_done = code;
}

static const struct ms_node_rpc_ops mock_ops = {
    m_put_begin, m_put_data, m_put_end, m_get, m_get_writable, m_del,
    m_stat,      m_list,     m_verify,  m_scrub, m_info,       m_done,
};
static const struct ms_node_rpc_binding mock_binding = {&mock_ops, NULL};

static int setup_client(void **state)
{
    struct ms_rpc_method methods[MS_NODE_RPC_METHODS];
    struct ms_rpc_client *c;
    memset(&M, 0, sizeof(M));
    ms_node_rpc_methods(&mock_binding, methods);
    assert_int_equal(ms_rpc_loopback_create(methods, MS_NODE_RPC_METHODS, "meta", &c), 0);
    *state = c;
    return 0;
}

static int teardown_client(void **state)
{
    ms_rpc_client_destroy(*state);
    return 0;
}

static struct ms_node_ref test_ref(uint32_t idx)
{
    struct ms_node_ref r = {.frag_index = idx};
    memcpy(r.oid.b, OID, 16);
    return r;
}

static void test_put_stream_roundtrip(void **state)
{
    struct ms_rpc_client *c = *state;
    uint8_t hdr[128], data[5000];
    struct ms_node_ref ref = test_ref(3);
    struct ms_node_put_result res;
    struct ms_rpc_status st;
    fake_header(hdr, OID, 3);
    ms_test_fill(data, sizeof(data), 1);
    assert_int_equal(ms_node_rpc_put(c, NULL, &ref, hdr, data, sizeof(data), 1024, &res, &st), 0);
    assert_int_equal(M.begins, 1);
    assert_int_equal(M.ends, 1);
    assert_int_equal(M.got_len, sizeof(data));
    assert_memory_equal(M.got, data, sizeof(data));
    assert_int_equal(res.stored_bytes, 128 + sizeof(data));
    assert_int_equal(res.committed_unix_ms, 42);
    assert_int_equal(M.done_calls, 1);
    assert_int_equal(M.last_done, 0);
}

/* Drives a PutFragment stream by hand: msgs in order, then half-close; returns the status. */
static int put_raw(struct ms_rpc_client *c, uint8_t **msgs, const size_t *lens, size_t n,
                   struct ms_rpc_status *st)
{
    struct ms_rpc_stream *s;
    assert_int_equal(ms_rpc_stream_open(c, MS_NODE_RPC_PUT, NULL, &s), 0);
    for (size_t i = 0; i < n; i++) {
        struct ms_rpc_seg seg = ms_rpc_seg_malloced(msgs[i], lens[i]);
        if (ms_rpc_stream_send(s, &seg, 1) < 0) {
            for (size_t j = i + 1; j < n; j++)
                free(msgs[j]);
            break;
        }
    }
    int rc = ms_rpc_stream_finish(s, st);
    ms_rpc_stream_destroy(s);
    return rc;
}

static void test_put_stream_data_first__Y_QRY_3(void **state)
{
    struct ms_rpc_status st;
    uint8_t *msgs[1];
    size_t lens[1];
    msgs[0] = data_msg(100, &lens[0]);
    assert_int_equal(put_raw(*state, msgs, lens, 1, &st), -MEDSTORE_EFORMAT);
    assert_int_equal(st.grpc_status, 3); /* INVALID_ARGUMENT */
    assert_string_equal(st.reason, "bad-request");
    assert_int_equal(M.begins, 0);
}

static void test_put_stream_too_many_bytes__Y_QRY_3(void **state)
{
    struct ms_rpc_status st;
    struct put_hdr_spec s = good_spec();
    uint8_t *msgs[3];
    size_t lens[3];
    s.total = 128 + 150;
    msgs[0] = put_header_msg(&s, &lens[0]);
    msgs[1] = data_msg(100, &lens[1]);
    msgs[2] = data_msg(100, &lens[2]);
    assert_int_equal(put_raw(*state, msgs, lens, 3, &st), -MEDSTORE_EFORMAT);
    assert_int_equal(st.grpc_status, 3);
    assert_string_equal(st.reason, "bad-request");
    assert_int_equal(M.got_len, 100); /* the excess never reached the core */
    assert_int_equal(M.ends, 0);
}

static void test_put_stream_ends_short__Y_QRY_3(void **state)
{
    struct ms_rpc_status st;
    struct put_hdr_spec s = good_spec();
    uint8_t *msgs[2];
    size_t lens[2];
    s.total = 128 + 150;
    msgs[0] = put_header_msg(&s, &lens[0]);
    msgs[1] = data_msg(100, &lens[1]);
    assert_int_equal(put_raw(*state, msgs, lens, 2, &st), -MEDSTORE_EFORMAT);
    assert_int_equal(st.grpc_status, 3);
    assert_int_equal(M.ends, 0);
    assert_int_equal(M.done_calls, 1);
    assert_int_equal(M.last_done, -MEDSTORE_EFORMAT);
}

static void test_put_stream_empty__Y_QRY_3(void **state)
{
    struct ms_rpc_status st;
    assert_int_equal(put_raw(*state, NULL, NULL, 0, &st), -MEDSTORE_EFORMAT);
    assert_int_equal(st.grpc_status, 3);
    assert_int_equal(M.begins, 0);
}

static void test_get_stream_roundtrip(void **state)
{
    struct ms_rpc_client *c = *state;
    uint8_t src[3500], out[4000];
    size_t n = 0;
    uint64_t flen = 0;
    ms_test_fill(src, sizeof(src), 3);
    M.src = src;
    M.src_len = sizeof(src);
    struct ms_node_get_req g = {.ref = test_ref(1), .kind = MS_NODE_RANGE_ALL};
    assert_int_equal(ms_node_rpc_get(c, NULL, &g, out, sizeof(out), &n, &flen, NULL), 0);
    assert_int_equal(n, sizeof(src));
    assert_int_equal(flen, 500 + sizeof(src));
    assert_memory_equal(out, src, sizeof(src));
    /* Too small a buffer is the client's own error. */
    assert_int_equal(ms_node_rpc_get(c, NULL, &g, out, 100, &n, &flen, NULL), -ENOBUFS);
    /* A core error travels with its status. */
    struct ms_rpc_status st;
    g.kind = MS_NODE_RANGE_BYTES;
    g.first = 999;
    g.count = 1;
    assert_int_equal(ms_node_rpc_get(c, NULL, &g, out, sizeof(out), &n, &flen, &st),
                     -MEDSTORE_ECORRUPT);
    assert_int_equal(st.grpc_status, 15); /* DATA_LOSS */
}

static void test_unary_answers_roundtrip(void **state)
{
    struct ms_rpc_client *c = *state;
    struct ms_node_ref ref = test_ref(1);
    struct ms_node_delete_result dr;
    assert_int_equal(ms_node_rpc_delete(c, NULL, &ref, &dr, NULL), 0);
    assert_true(dr.existed);
    assert_int_equal(dr.wiped_bytes, 4096);
    struct ms_node_entry e;
    assert_int_equal(ms_node_rpc_stat(c, NULL, &ref, &e, NULL), 0);
    assert_int_equal(e.length, 777);
    assert_int_equal(e.state, MS_NODE_STATE_COMMITTED);
    assert_int_equal(e.header_checksum[15], 0x5a);
    struct ms_rpc_status st;
    ref.frag_index = 9;
    assert_int_equal(ms_node_rpc_stat(c, NULL, &ref, &e, &st), -MEDSTORE_ENOTFOUND);
    assert_int_equal(st.grpc_status, 5);
    struct ms_node_entry es[4];
    struct ms_node_page_req p = {.limit = 2};
    struct ms_node_ref next;
    size_t n;
    bool more;
    assert_int_equal(ms_node_rpc_list(c, NULL, &p, es, 4, &n, &more, &next, NULL), 0);
    assert_int_equal(n, 2);
    assert_true(more);
    assert_int_equal(next.frag_index, 1);
    assert_int_equal(es[1].length, 101);
    struct ms_node_damage d;
    assert_int_equal(ms_node_rpc_verify(c, NULL, &ref, &d, NULL), 0);
    assert_false(d.ok);
    assert_int_equal(d.segments_checked, 8);
    assert_int_equal(d.n_damaged, 2);
    assert_int_equal(d.damaged[1], 5);
}

static void test_scrub_and_info_roundtrip(void **state)
{
    struct ms_rpc_client *c = *state;
    struct ms_node_damage ds[4];
    struct ms_node_scrub_page page;
    struct ms_node_page_req p = {.limit = 10};
    assert_int_equal(ms_node_rpc_scrub(c, NULL, &p, ds, 4, &page, NULL), 0);
    assert_int_equal(page.n_entries, 2);
    assert_true(ds[0].header_damaged);
    assert_int_equal(ds[1].ref.frag_index, 4);
    assert_int_equal(ds[1].damaged[0], 3);
    assert_int_equal(page.scrubbed_fragments, 11);
    assert_int_equal(page.last_pass_unix_ms, 99);
    assert_false(page.has_next);
    struct ms_node_info info;
    assert_int_equal(ms_node_rpc_info(c, NULL, &info, NULL), 0);
    assert_int_equal(info.node_id, 9);
    assert_string_equal(info.rack, "rack-z");
    assert_int_equal(info.free_bytes, 600);
    assert_string_equal(info.software_version, "0.1.0");
}

static void test_raw_garbage_request__Y_QRY_3(void **state)
{
    struct ms_rpc_client *c = *state;
    static const uint8_t garbage[] = {0x0a, 0x7f, 0x01};
    struct ms_rpc_status st;
    assert_int_equal(ms_node_rpc_raw_unary(c, NULL, MS_NODE_RPC_STAT, garbage, sizeof(garbage),
                                           &st),
                     -MEDSTORE_EFORMAT);
    assert_int_equal(st.grpc_status, 3);
    assert_string_equal(st.reason, "bad-request");
    assert_int_equal(ms_node_rpc_raw_unary(c, NULL, MS_NODE_RPC_DELETE, garbage, 0, &st),
                     -MEDSTORE_EFORMAT);
    assert_string_equal(st.message, "ref is missing");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_put_header_valid),
        cmocka_unit_test(test_put_header_bad_oid_length__Y_QRY_3),
        cmocka_unit_test(test_put_header_nil_oid__Y_QRY_3),
        cmocka_unit_test(test_put_header_index_32__Y_QRY_3),
        cmocka_unit_test(test_put_header_wrong_header_size__Y_QRY_3),
        cmocka_unit_test(test_put_header_inconsistent__Y_QRY_3),
        cmocka_unit_test(test_put_header_total_length_bounds__Y_QRY_3),
        cmocka_unit_test(test_put_first_message_data__Y_QRY_3),
        cmocka_unit_test(test_put_header_garbage_and_unknown_field__Y_QRY_3),
        cmocka_unit_test(test_put_data_valid_zero_copy),
        cmocka_unit_test(test_put_data_rules__Y_QRY_3),
        cmocka_unit_test(test_get_ranges__Y_QRY_3),
        cmocka_unit_test(test_get_missing_ref__Y_QRY_3),
        cmocka_unit_test(test_ref_request_rules__Y_QRY_3),
        cmocka_unit_test(test_page_request_rules__Y_QRY_3),
        cmocka_unit_test(test_info_request_rules__Y_QRY_3),
        cmocka_unit_test_setup_teardown(test_put_stream_roundtrip, setup_client, teardown_client),
        cmocka_unit_test_setup_teardown(test_put_stream_data_first__Y_QRY_3, setup_client,
                                        teardown_client),
        cmocka_unit_test_setup_teardown(test_put_stream_too_many_bytes__Y_QRY_3, setup_client,
                                        teardown_client),
        cmocka_unit_test_setup_teardown(test_put_stream_ends_short__Y_QRY_3, setup_client,
                                        teardown_client),
        cmocka_unit_test_setup_teardown(test_put_stream_empty__Y_QRY_3, setup_client,
                                        teardown_client),
        cmocka_unit_test_setup_teardown(test_get_stream_roundtrip, setup_client, teardown_client),
        cmocka_unit_test_setup_teardown(test_unary_answers_roundtrip, setup_client,
                                        teardown_client),
        cmocka_unit_test_setup_teardown(test_scrub_and_info_roundtrip, setup_client,
                                        teardown_client),
        cmocka_unit_test_setup_teardown(test_raw_garbage_request__Y_QRY_3, setup_client,
                                        teardown_client),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
