/*
 * test_loopback.c - src/rpc/loopback.c: the in-process client runs the same method table with
 * the same semantics as gRPC (the echo service of rpc_fixture.c, unchanged).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rpc/rpc.h"
#include "rpc/rpc_int.h"
#include "rpc_fixture.h"
#include "testutil.h"

static int setup(void **state)
{
    size_t n;
    const struct ms_rpc_method *m = fx_methods(&n);
    struct ms_rpc_client *c = NULL;
    assert_int_equal(ms_rpc_loopback_create(m, n, "svc-test", &c), 0);
    *state = c;
    return 0;
}

static int teardown(void **state)
{
    ms_rpc_client_destroy(*state);
    return 0;
}

static void wait_last_done(int code)
{
    for (int i = 0; i < 3000 && atomic_load(&fx_last_done_code) != code; i++) {
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    assert_int_equal(atomic_load(&fx_last_done_code), code);
}

static void test_unary_echo(void **state)
{
    uint8_t req[3000];
    ms_test_fill(req, sizeof(req), 7);
    struct ms_rpc_seg seg = {.ptr = req, .len = sizeof(req)};
    uint8_t *resp = NULL;
    size_t len = 0;
    struct ms_rpc_status st;
    assert_int_equal(ms_rpc_unary(*state, FX_UNARY, NULL, &seg, 1, &resp, &len, &st), 0);
    assert_int_equal(len, sizeof(req));
    assert_memory_equal(resp, req, sizeof(req));
    free(resp);
}

static void check_upload(struct ms_rpc_client *c, const char *method, uint64_t total)
{
    uint64_t bytes = 0, hash = 0;
    int released = -1;
    assert_int_equal(fx_upload(c, method, total, 1 << 20, &bytes, &hash, &released), 0);
    assert_int_equal(bytes, total);
    uint64_t want = FX_FNV_INIT;
    for (uint64_t i = 0; i < total; i++) {
        uint8_t b = fx_pattern(i);
        want = fx_fnv(want, &b, 1);
    }
    assert_int_equal(hash, want);
    assert_int_equal(released, 0);
}

static void test_client_streaming_inline_hold_and_async(void **state)
{
    check_upload(*state, FX_UPLOAD, 0);
    check_upload(*state, FX_UPLOAD, (3u << 20) + 5);
    check_upload(*state, FX_UPLOAD_HOLD, (3u << 20) + 5);
}

static void test_server_streaming(void **state)
{
    unsigned msgs;
    assert_int_equal(fx_download(*state, (5u << 20) + 9, 1u << 20, &msgs), 0);
    assert_int_equal(msgs, 6);
    assert_int_equal(fx_download(*state, 0, 1, &msgs), 0);
    assert_int_equal(msgs, 0);
}

static void test_status_round_trip(void **state)
{
    int code;
    const char *reason;
    for (unsigned i = 0; ms_rpc_reason_table_row(i, &code, &reason) == 0; i++) {
        struct ms_rpc_status st;
        assert_int_equal(fx_fail(*state, code, reason, &st), code);
        assert_string_equal(st.reason, reason);
        assert_int_equal(st.grpc_status, ms_err_grpc_status(code));
    }
}

static void test_deadline_and_late_answer(void **state)
{
    assert_int_equal(fx_sleep(*state, 300, 30), -ETIMEDOUT);
    wait_last_done(-ECANCELED); /* the late reply found the call gone */
    assert_int_equal(fx_sleep(*state, 1, 5000), 0);
}

static void test_principal_metadata_unknown_method(void **state)
{
    uint8_t cap[40] = {0, 1, 2, 255};
    struct ms_rpc_md md = {.key = MS_RPC_MD_CAPTOKEN, .value = cap, .len = sizeof(cap)};
    struct ms_rpc_call_opts opts = {.md = &md, .nmd = 1};
    char who[80];
    uint8_t got[64];
    size_t got_len = 0;
    assert_int_equal(fx_whoami(*state, &opts, who, sizeof(who), got, &got_len), 0);
    assert_string_equal(who, "svc-test");
    assert_int_equal(got_len, sizeof(cap));
    assert_memory_equal(got, cap, sizeof(cap));
    uint8_t *resp = NULL;
    size_t len = 0;
    struct ms_rpc_status st;
    assert_int_equal(ms_rpc_unary(*state, "/x.Y/Z", NULL, NULL, 0, &resp, &len, &st),
                     -MEDSTORE_EUNSUPPORTED);
    struct ms_rpc_stream *s;
    assert_int_equal(ms_rpc_stream_open(*state, FX_UNARY, NULL, &s), 0);
    assert_int_equal(ms_rpc_stream_close_send(s), 0);
    assert_int_equal(ms_rpc_stream_finish(s, &st), -MEDSTORE_EFORMAT);
    ms_rpc_stream_destroy(s);
}

static void test_client_drops_stream(void **state)
{
    struct ms_rpc_stream *s;
    assert_int_equal(ms_rpc_stream_open(*state, FX_UPLOAD, NULL, &s), 0);
    assert_int_equal(fx_send_header(s, 10), 0);
    atomic_store(&fx_last_done_code, 1);
    ms_rpc_stream_destroy(s);
    assert_int_equal(atomic_load(&fx_last_done_code), -ECANCELED);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unary_echo),
        cmocka_unit_test(test_client_streaming_inline_hold_and_async),
        cmocka_unit_test(test_server_streaming),
        cmocka_unit_test(test_status_round_trip),
        cmocka_unit_test(test_deadline_and_late_answer),
        cmocka_unit_test(test_principal_metadata_unknown_method),
        cmocka_unit_test(test_client_drops_stream),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
