/*
 * test_pbscan.c - src/rpc/pbscan.c (and msg.c): the bulk field found in place across pieces.
 *
 * Messages are packed by protobuf-c (an independent writer), cut into pieces at every possible
 * boundary, scanned, and the views compared with what protobuf-c unpacks. Malformed framing
 * (truncations, bad varints, groups, field 0, wrong wire type of the bulk field) is refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "medstore/v1/node.pb-c.h"
#include "rpc/rpc.h"
#include "testutil.h"

/* Splits buf into pieces of at most piece bytes (0 = one piece). */
static struct ms_rpc_msg split(const uint8_t *buf, size_t len, size_t piece,
                               struct ms_rpc_iov *iov, size_t max)
{
    struct ms_rpc_msg m = {.len = len, .iov = iov};
    size_t off = 0;
    while (off < len) {
        size_t n = piece == 0 || len - off < piece ? len - off : piece;
        assert_true(m.niov < max);
        iov[m.niov].ptr = buf + off;
        iov[m.niov].len = n;
        m.niov++;
        off += n;
    }
    return m;
}

static uint8_t *pack_data(const uint8_t *data, size_t n, size_t *len)
{
    Medstore__V1__PutFragmentRequest r = MEDSTORE__V1__PUT_FRAGMENT_REQUEST__INIT;
    r.body_case = MEDSTORE__V1__PUT_FRAGMENT_REQUEST__BODY_DATA;
    r.data.data = (uint8_t *)data;
    r.data.len = n;
    *len = medstore__v1__put_fragment_request__get_packed_size(&r);
    uint8_t *buf = malloc(*len + 1);
    assert_non_null(buf);
    assert_int_equal(medstore__v1__put_fragment_request__pack(&r, buf), *len);
    return buf;
}

static void check_view_equals(const struct ms_rpc_msg *view, const uint8_t *want, size_t n)
{
    assert_int_equal(view->len, n);
    uint8_t *flat = malloc(n + 1);
    assert_non_null(flat);
    assert_int_equal(ms_rpc_msg_copy(view, 0, flat, n), 0);
    if (n > 0)
        assert_memory_equal(flat, want, n);
    free(flat);
}

static void test_data_chunk_every_split(void **state)
{
    (void)state;
    const size_t sizes[] = {0, 1, 127, 128, 300, 16384, 70000};
    for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
        uint8_t *data = malloc(sizes[k] + 1);
        ms_test_fill(data, sizes[k], k + 1);
        size_t len;
        uint8_t *buf = pack_data(data, sizes[k], &len);
        size_t pieces[] = {0, 1, 2, 3, 7, 4096};
        for (size_t p = 0; p < sizeof(pieces) / sizeof(pieces[0]); p++) {
            if (pieces[p] != 0 && len / pieces[p] >= 500)
                continue; /* keeps the iov array small */
            struct ms_rpc_iov iov[512], viov[512];
            struct ms_rpc_msg m = split(buf, len, pieces[p], iov, 512);
            uint64_t seen = 0;
            struct ms_rpc_msg view;
            assert_int_equal(ms_rpc_pb_scan(&m, 15, &seen, &view, viov, 512), 1);
            assert_int_equal(seen, 1ull << 14);
            check_view_equals(&view, data, sizes[k]);
            /* Too few view slots for a split payload. */
            if (view.niov > 1)
                assert_int_equal(ms_rpc_pb_scan(&m, 15, &seen, &view, viov, 1), -E2BIG);
        }
        /* protobuf-c agrees. */
        Medstore__V1__PutFragmentRequest *r =
            medstore__v1__put_fragment_request__unpack(NULL, len, buf);
        assert_non_null(r);
        assert_int_equal(r->data.len, sizes[k]);
        medstore__v1__put_fragment_request__free_unpacked(r, NULL);
        free(buf);
        free(data);
    }
}

static void test_header_message_has_no_data(void **state)
{
    (void)state;
    uint8_t oid[16] = {9};
    Medstore__V1__FragmentRef ref = MEDSTORE__V1__FRAGMENT_REF__INIT;
    ref.object_id.data = oid;
    ref.object_id.len = 16;
    Medstore__V1__PutFragmentHeader h = MEDSTORE__V1__PUT_FRAGMENT_HEADER__INIT;
    h.ref = &ref;
    h.total_length = 1ull << 40;
    Medstore__V1__PutFragmentRequest r = MEDSTORE__V1__PUT_FRAGMENT_REQUEST__INIT;
    r.body_case = MEDSTORE__V1__PUT_FRAGMENT_REQUEST__BODY_HEADER;
    r.header = &h;
    uint8_t buf[128];
    size_t len = medstore__v1__put_fragment_request__pack(&r, buf);
    struct ms_rpc_iov iov[1] = {{buf, len}}, viov[4];
    struct ms_rpc_msg m = {.len = len, .niov = 1, .iov = iov};
    uint64_t seen = 0;
    struct ms_rpc_msg view;
    assert_int_equal(ms_rpc_pb_scan(&m, 15, &seen, &view, viov, 4), 0);
    assert_int_equal(seen, 1);
}

/* The response shape (GetFragmentResponse): small fields first, data last; the last
 * occurrence of a repeated bytes field wins, as in protobuf. */
static void test_fields_and_last_occurrence(void **state)
{
    (void)state;
    uint8_t buf[64];
    size_t n = 0;
    buf[n++] = 0x08; /* field 1 varint */
    buf[n++] = 0x96;
    buf[n++] = 0x01;
    buf[n++] = 0x11; /* field 2 fixed64 */
    memset(buf + n, 0xab, 8);
    n += 8;
    buf[n++] = 0x7a; /* field 15 bytes "ab" */
    buf[n++] = 2;
    buf[n++] = 'a';
    buf[n++] = 'b';
    buf[n++] = 0x1d; /* field 3 fixed32 */
    memset(buf + n, 1, 4);
    n += 4;
    buf[n++] = 0x7a; /* field 15 again: "xyz" */
    buf[n++] = 3;
    memcpy(buf + n, "xyz", 3);
    n += 3;
    struct ms_rpc_iov iov[1] = {{buf, n}}, viov[4];
    struct ms_rpc_msg m = {.len = n, .niov = 1, .iov = iov};
    uint64_t seen = 0;
    struct ms_rpc_msg view;
    assert_int_equal(ms_rpc_pb_scan(&m, 15, &seen, &view, viov, 4), 1);
    assert_int_equal(seen, (1ull << 0) | (1ull << 1) | (1ull << 2) | (1ull << 14));
    check_view_equals(&view, (const uint8_t *)"xyz", 3);
}

static int scan_bytes(const uint8_t *p, size_t n)
{
    struct ms_rpc_iov iov[1] = {{p, n}}, viov[4];
    struct ms_rpc_msg m = {.len = n, .niov = n ? 1 : 0, .iov = iov};
    uint64_t seen;
    struct ms_rpc_msg view;
    return ms_rpc_pb_scan(&m, 15, &seen, &view, viov, 4);
}

static void test_malformed_framing_refused(void **state)
{
    (void)state;
    const int bad = -MEDSTORE_EFORMAT;
    assert_int_equal(scan_bytes((const uint8_t *)"\x7a\x05" "abc", 5), bad);  /* truncated */
    assert_int_equal(scan_bytes((const uint8_t *)"\x7a", 1), bad);            /* no length */
    assert_int_equal(scan_bytes((const uint8_t *)"\x08", 1), bad);            /* no varint */
    assert_int_equal(scan_bytes((const uint8_t *)"\x08\xff\xff\xff\xff\xff\xff\xff\xff\xff\x02",
                                11), bad);                                    /* > 64 bits */
    assert_int_equal(scan_bytes((const uint8_t *)"\x0b\x0c", 2), bad);        /* group */
    assert_int_equal(scan_bytes((const uint8_t *)"\x0e\x00", 2), bad);        /* wire type 6 */
    assert_int_equal(scan_bytes((const uint8_t *)"\x02\x00", 2), bad);        /* field 0 */
    assert_int_equal(scan_bytes((const uint8_t *)"\x78\x01", 2), bad);        /* 15 as varint */
    assert_int_equal(scan_bytes((const uint8_t *)"\x11\x01\x02", 3), bad);    /* short fixed64 */
    assert_int_equal(scan_bytes((const uint8_t *)"\x7a\xff\xff\xff\xff\x0f", 6), bad);
    assert_int_equal(scan_bytes(NULL, 0), 0); /* empty message: valid, no data */
    assert_int_equal(scan_bytes((const uint8_t *)"\x7a\x00", 2), 1); /* empty chunk */
}

static void test_prefix_builds_valid_messages(void **state)
{
    (void)state;
    const uint64_t lens[] = {0, 1, 127, 128, 16383, 16384, 4u << 20, 1ull << 40};
    for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
        uint8_t p[MS_RPC_PB_PREFIX_MAX];
        size_t n = ms_rpc_pb_bytes_prefix(15, lens[i], p);
        assert_true(n >= 2 && n <= MS_RPC_PB_PREFIX_MAX);
        assert_int_equal(p[0], 0x7a);
        if (lens[i] <= 4096) {
            uint8_t *buf = calloc(1, n + lens[i] + 1);
            memcpy(buf, p, n);
            Medstore__V1__PutFragmentRequest *r =
                medstore__v1__put_fragment_request__unpack(NULL, n + lens[i], buf);
            assert_non_null(r);
            assert_int_equal(r->body_case, MEDSTORE__V1__PUT_FRAGMENT_REQUEST__BODY_DATA);
            assert_int_equal(r->data.len, lens[i]);
            medstore__v1__put_fragment_request__free_unpacked(r, NULL);
            free(buf);
        }
    }
    uint8_t p[MS_RPC_PB_PREFIX_MAX];
    assert_int_equal(ms_rpc_pb_bytes_prefix(0x1fffffff, UINT64_MAX, p), 15);
}

static void test_msg_copy_and_contig(void **state)
{
    (void)state;
    uint8_t buf[100];
    for (int i = 0; i < 100; i++)
        buf[i] = (uint8_t)i;
    struct ms_rpc_iov iov[8];
    struct ms_rpc_msg m = split(buf, 100, 13, iov, 8);
    uint8_t out[100];
    assert_int_equal(ms_rpc_msg_copy(&m, 10, out, 50), 0);
    assert_memory_equal(out, buf + 10, 50);
    assert_int_equal(ms_rpc_msg_copy(&m, 0, out, 100), 0);
    assert_int_equal(ms_rpc_msg_copy(&m, 51, out, 50), -ERANGE);
    assert_int_equal(ms_rpc_msg_copy(&m, 101, out, 0), -ERANGE);
    assert_int_equal(ms_rpc_msg_copy(&m, 100, out, 0), 0);
    const uint8_t *p;
    uint8_t *scratch;
    assert_int_equal(ms_rpc_msg_contig(&m, &p, &scratch), 0);
    assert_non_null(scratch);
    assert_memory_equal(p, buf, 100);
    free(scratch);
    struct ms_rpc_msg one = split(buf, 100, 0, iov, 8);
    assert_int_equal(ms_rpc_msg_contig(&one, &p, &scratch), 0);
    assert_null(scratch);
    assert_ptr_equal(p, buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_data_chunk_every_split),
        cmocka_unit_test(test_header_message_has_no_data),
        cmocka_unit_test(test_fields_and_last_occurrence),
        cmocka_unit_test(test_malformed_framing_refused),
        cmocka_unit_test(test_prefix_builds_valid_messages),
        cmocka_unit_test(test_msg_copy_and_contig),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
