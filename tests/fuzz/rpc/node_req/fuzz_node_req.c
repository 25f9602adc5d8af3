/*
 * fuzz_node_req.c - libFuzzer target for every Node service request validator
 * (src/rpc/node_rpc.c: ms_node_rpc_parse_*), Y-QRY-3.
 *
 * Input: byte 0 selects the validator (mod 6), the rest is the request message as it would
 * arrive from the network. Properties asserted (abort on violation):
 *  - a validator returns 0, -MEDSTORE_EFORMAT, -MEDSTORE_ERANGE or -E2BIG (data chunks split
 *    in too many pieces), always with a message;
 *  - an accepted request obeys every rule of node_rpc.h: id 16 non-zero bytes, fragment index
 *    < 32, header 128 bytes naming the same object and index, total_length in bounds, ranges
 *    non-empty without overflow, page limits 1 .. 10000;
 *  - round trip: an accepted request, re-encoded by protobuf-c from the parsed struct and
 *    parsed again, yields the same struct;
 *  - put data: the zero-copy view holds exactly the bytes protobuf-c unpacks for `data`, also
 *    when the message is cut into many pieces.
 * Deterministic: no clock, no randomness.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "codec/frag_format.h"
#include "common/ms_assert.h"
#include "medstore/v1/node.pb-c.h"
#include "rpc/node_rpc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t *pack(const ProtobufCMessage *m, size_t *len)
{
    *len = protobuf_c_message_get_packed_size(m);
    uint8_t *buf = malloc(*len + 1);
    MS_ASSERT(buf != NULL);
    MS_ASSERT(protobuf_c_message_pack(m, buf) == *len);
    return buf;
}

static void check_ref(const struct ms_node_ref *r)
{
    MS_ASSERT(r->frag_index < MS_NODE_FRAG_INDEX_MAX);
    MS_ASSERT(!ms_oid_is_nil(&r->oid));
}

static void ref_wire(const struct ms_node_ref *r, Medstore__V1__FragmentRef *w)
{
    medstore__v1__fragment_ref__init(w);
    w->object_id.data = (uint8_t *)r->oid.b;
    w->object_id.len = MS_OID_BYTES;
    w->fragment_index = r->frag_index;
}

static void fuzz_put_header(const uint8_t *d, size_t n)
{
    struct ms_node_put_hdr h, h2;
    const char *why = NULL;
    int rc = ms_node_rpc_parse_put_header(d, n, &h, &why);
    MS_ASSERT(why != NULL && (rc == 0 || rc == -MEDSTORE_EFORMAT));
    if (rc != 0)
        return;
    check_ref(&h.ref);
    MS_ASSERT(h.total_length >= MS_NODE_FRAG_HDR_BYTES);
    MS_ASSERT(h.total_length <= MS_NODE_FRAGMENT_BYTES_MAX);
    MS_ASSERT(memcmp(h.frag_header + MS_FRAG_OFF_OID, h.ref.oid.b, MS_OID_BYTES) == 0);
    MS_ASSERT(h.frag_header[MS_FRAG_OFF_FRAG_INDEX] == h.ref.frag_index);
    uint8_t *buf;
    size_t len;
    MS_ASSERT(ms_node_rpc_encode_put_header(&h.ref, h.total_length, h.frag_header,
                                            sizeof(h.frag_header), &buf, &len) == 0);
    MS_ASSERT(ms_node_rpc_parse_put_header(buf, len, &h2, &why) == 0);
    MS_ASSERT(memcmp(&h.ref.oid, &h2.ref.oid, sizeof(h.ref.oid)) == 0);
    MS_ASSERT(h.ref.frag_index == h2.ref.frag_index && h.total_length == h2.total_length);
    MS_ASSERT(memcmp(h.frag_header, h2.frag_header, sizeof(h.frag_header)) == 0);
    free(buf);
}

/* Views the message in pieces of `piece` bytes and checks the data view against protobuf-c. */
static void fuzz_put_data(const uint8_t *d, size_t n)
{
    struct ms_rpc_iov pieces[64];
    struct ms_rpc_iov view_iov[64];
    struct ms_rpc_msg msg = {.len = n, .iov = pieces}, view;
    const char *why = NULL;
    size_t piece = n / 64 + 1;
    for (size_t off = 0; off < n; off += piece) {
        pieces[msg.niov].ptr = d + off;
        pieces[msg.niov++].len = n - off < piece ? n - off : piece;
    }
    MS_ASSERT(msg.niov <= 64);
    int rc = ms_node_rpc_parse_put_data(&msg, &view, view_iov, 64, &why);
    MS_ASSERT(why != NULL && (rc == 0 || rc == -MEDSTORE_EFORMAT || rc == -E2BIG));
    if (rc != 0)
        return;
    MS_ASSERT(view.len > 0 && view.len <= MS_RPC_MAX_CHUNK_BYTES);
    Medstore__V1__PutFragmentRequest *m = medstore__v1__put_fragment_request__unpack(NULL, n, d);
    MS_ASSERT(m != NULL);
    MS_ASSERT(m->body_case == MEDSTORE__V1__PUT_FRAGMENT_REQUEST__BODY_DATA);
    MS_ASSERT(m->data.len == view.len);
    uint8_t *flat = malloc(view.len);
    MS_ASSERT(flat != NULL);
    MS_ASSERT(ms_rpc_msg_copy(&view, 0, flat, view.len) == 0);
    MS_ASSERT(memcmp(flat, m->data.data, view.len) == 0);
    free(flat);
    medstore__v1__put_fragment_request__free_unpacked(m, NULL);
}

static void fuzz_get(const uint8_t *d, size_t n)
{
    struct ms_node_get_req g, g2;
    const char *why = NULL;
    int rc = ms_node_rpc_parse_get(d, n, &g, &why);
    MS_ASSERT(why != NULL && (rc == 0 || rc == -MEDSTORE_EFORMAT || rc == -MEDSTORE_ERANGE));
    if (rc != 0)
        return;
    check_ref(&g.ref);
    MS_ASSERT(g.kind == MS_NODE_RANGE_ALL || g.count > 0);
    MS_ASSERT(g.first <= UINT64_MAX - g.count);
    Medstore__V1__GetFragmentRequest m = MEDSTORE__V1__GET_FRAGMENT_REQUEST__INIT;
    Medstore__V1__FragmentRef r;
    Medstore__V1__ByteRange br = MEDSTORE__V1__BYTE_RANGE__INIT;
    Medstore__V1__SegmentRange sr = MEDSTORE__V1__SEGMENT_RANGE__INIT;
    ref_wire(&g.ref, &r);
    m.ref = &r;
    if (g.kind == MS_NODE_RANGE_BYTES) {
        br.offset = g.first;
        br.length = g.count;
        m.range_case = MEDSTORE__V1__GET_FRAGMENT_REQUEST__RANGE_BYTE_RANGE;
        m.byte_range = &br;
    } else if (g.kind == MS_NODE_RANGE_SEGMENTS) {
        MS_ASSERT(g.first + g.count <= MS_FRAG_MAX_SEGMENTS);
        sr.first = (uint32_t)g.first;
        sr.count = (uint32_t)g.count;
        m.range_case = MEDSTORE__V1__GET_FRAGMENT_REQUEST__RANGE_SEGMENT_RANGE;
        m.segment_range = &sr;
    }
    size_t len;
    uint8_t *buf = pack(&m.base, &len);
    MS_ASSERT(ms_node_rpc_parse_get(buf, len, &g2, &why) == 0);
    MS_ASSERT(memcmp(&g.ref.oid, &g2.ref.oid, sizeof(g.ref.oid)) == 0);
    MS_ASSERT(g.ref.frag_index == g2.ref.frag_index && g.kind == g2.kind);
    MS_ASSERT(g.first == g2.first && g.count == g2.count);
    free(buf);
}

static void fuzz_ref(const uint8_t *d, size_t n)
{
    struct ms_node_ref r, r2;
    const char *why = NULL;
    int rc = ms_node_rpc_parse_ref_req(d, n, &r, &why);
    MS_ASSERT(why != NULL && (rc == 0 || rc == -MEDSTORE_EFORMAT));
    if (rc != 0)
        return;
    check_ref(&r);
    Medstore__V1__DeleteFragmentRequest m = MEDSTORE__V1__DELETE_FRAGMENT_REQUEST__INIT;
    Medstore__V1__FragmentRef w;
    ref_wire(&r, &w);
    m.ref = &w;
    size_t len;
    uint8_t *buf = pack(&m.base, &len);
    MS_ASSERT(ms_node_rpc_parse_ref_req(buf, len, &r2, &why) == 0);
    MS_ASSERT(memcmp(&r.oid, &r2.oid, sizeof(r.oid)) == 0 && r.frag_index == r2.frag_index);
    free(buf);
}

static void fuzz_page(const uint8_t *d, size_t n)
{
    struct ms_node_page_req p, p2;
    const char *why = NULL;
    int rc = ms_node_rpc_parse_page(d, n, &p, &why);
    MS_ASSERT(why != NULL && (rc == 0 || rc == -MEDSTORE_EFORMAT));
    if (rc != 0)
        return;
    MS_ASSERT(p.limit >= 1 && p.limit <= MS_NODE_LIST_LIMIT_MAX);
    if (p.has_after)
        check_ref(&p.after);
    Medstore__V1__ScrubReportRequest m = MEDSTORE__V1__SCRUB_REPORT_REQUEST__INIT;
    Medstore__V1__FragmentRef w;
    m.limit = p.limit;
    if (p.has_after) {
        ref_wire(&p.after, &w);
        m.after = &w;
    }
    size_t len;
    uint8_t *buf = pack(&m.base, &len);
    memset(&p2, 0, sizeof(p2));
    MS_ASSERT(ms_node_rpc_parse_page(buf, len, &p2, &why) == 0);
    MS_ASSERT(p.has_after == p2.has_after && p.limit == p2.limit);
    MS_ASSERT(!p.has_after || (memcmp(&p.after.oid, &p2.after.oid, sizeof(p.after.oid)) == 0 &&
                               p.after.frag_index == p2.after.frag_index));
    free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    const uint8_t *d = data + 1;
    size_t n = size - 1;
    const char *why = NULL;
    switch (data[0] % 6) {
    case 0: fuzz_put_header(d, n); break;
    case 1: fuzz_put_data(d, n); break;
    case 2: fuzz_get(d, n); break;
    case 3: fuzz_ref(d, n); break;
    case 4: fuzz_page(d, n); break;
    default: {
        int rc = ms_node_rpc_parse_info(d, n, &why);
        MS_ASSERT(why != NULL && (rc == 0 || rc == -MEDSTORE_EFORMAT));
        MS_ASSERT(rc != 0 || n == 0); /* NodeInfoRequest has no fields: only empty passes */
        break;
    }
    }
    return 0;
}
