/*
 * fuzz_pbscan.c - libFuzzer target for ms_rpc_pb_scan (src/rpc/pbscan.c), the zero-copy parser
 * of PutFragment chunks from the network (untrusted bytes).
 *
 * Input: byte 0 picks how the rest is cut into pieces (as gRPC slices would cut it), byte 1
 * picks the bulk field number; the rest is the message. Properties:
 * - the result does not depend on how the message is cut (same code, same fields, same view
 *   bytes);
 * - views stay inside the message and have the announced length;
 * - when the bulk field is 15 and protobuf-c parses the bytes as a PutFragmentRequest carrying
 *   data, the view holds exactly protobuf-c's bytes, and pbscan accepted the framing.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/ms_assert.h"
#include "medstore/v1/node.pb-c.h"
#include "rpc/rpc.h"

#define MAX_PIECES 4096

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct ms_rpc_iov one_iov[1], cut_iov[MAX_PIECES];
static struct ms_rpc_iov view_iov_a[MAX_PIECES], view_iov_b[MAX_PIECES];
static uint8_t flat_a[1 << 16], flat_b[1 << 16];

static struct ms_rpc_msg cut(const uint8_t *p, size_t n, uint8_t how)
{
    struct ms_rpc_msg m = {.len = n, .iov = cut_iov};
    size_t step = (size_t)(how % 17) + 1;
    size_t off = 0;
    while (off < n && m.niov < MAX_PIECES - 1) {
        size_t len = n - off < step ? n - off : step;
        if (how & 0x80)
            step = step % 13 + 1; /* vary the piece sizes */
        cut_iov[m.niov].ptr = p + off;
        cut_iov[m.niov].len = len;
        m.niov++;
        off += len;
    }
    if (off < n) {
        cut_iov[m.niov].ptr = p + off;
        cut_iov[m.niov].len = n - off;
        m.niov++;
    }
    return m;
}

static void check_view(const struct ms_rpc_msg *msg, const struct ms_rpc_msg *view)
{
    size_t total = 0;
    for (size_t i = 0; i < view->niov; i++) {
        total += view->iov[i].len;
        bool inside = false;
        for (size_t j = 0; j < msg->niov && !inside; j++)
            inside = view->iov[i].ptr >= msg->iov[j].ptr &&
                     view->iov[i].ptr + view->iov[i].len <= msg->iov[j].ptr + msg->iov[j].len;
        MS_ASSERT(inside);
    }
    MS_ASSERT(total == view->len && view->len <= msg->len);
}

static void cross_check_protobuf_c(const uint8_t *p, size_t n, int rc, const uint8_t *view_flat,
                                   size_t view_len)
{
    Medstore__V1__PutFragmentRequest *r = medstore__v1__put_fragment_request__unpack(NULL, n, p);
    if (r == NULL)
        return;
    if (r->body_case == MEDSTORE__V1__PUT_FRAGMENT_REQUEST__BODY_DATA) {
        /* protobuf-c accepted it: pbscan must agree, unless it used framing pbscan refuses on
         * purpose (groups are refused by both; protobuf-c may skip unknown wire types). */
        if (rc >= 0) {
            MS_ASSERT(rc == 1);
            MS_ASSERT(view_len == r->data.len);
            MS_ASSERT(view_len == 0 || memcmp(view_flat, r->data.data, view_len) == 0);
        }
    }
    medstore__v1__put_fragment_request__free_unpacked(r, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2 || size - 2 > sizeof(flat_a))
        return 0;
    uint8_t how = data[0];
    uint32_t field = (uint32_t)(data[1] % 20) + 1;
    const uint8_t *p = data + 2;
    size_t n = size - 2;
    one_iov[0].ptr = p;
    one_iov[0].len = n;
    struct ms_rpc_msg whole = {.len = n, .niov = n ? 1 : 0, .iov = one_iov};
    struct ms_rpc_msg pieces = cut(p, n, how);
    uint64_t seen_a = 0, seen_b = 0;
    struct ms_rpc_msg va = {0}, vb = {0};
    int a = ms_rpc_pb_scan(&whole, field, &seen_a, &va, view_iov_a, MAX_PIECES);
    int b = ms_rpc_pb_scan(&pieces, field, &seen_b, &vb, view_iov_b, MAX_PIECES);
    MS_ASSERT(a == b);
    MS_ASSERT(a < 0 || seen_a == seen_b);
    if (a == 1) {
        check_view(&whole, &va);
        check_view(&pieces, &vb);
        MS_ASSERT(va.len == vb.len);
        MS_ASSERT(ms_rpc_msg_copy(&va, 0, flat_a, va.len) == 0);
        MS_ASSERT(ms_rpc_msg_copy(&vb, 0, flat_b, vb.len) == 0);
        MS_ASSERT(memcmp(flat_a, flat_b, va.len) == 0);
    }
    if (field == 15)
        cross_check_protobuf_c(p, n, a, flat_a, a == 1 ? va.len : 0);
    return 0;
}
