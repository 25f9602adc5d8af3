/*
 * test_server.c - src/rpc/server.c (with client.c) over real gRPC and mutual TLS on 127.0.0.1.
 *
 * One server (certificate node-1) and one client (alice) in this process, on a port the kernel
 * picked (bind :0). Certificates are made at run time (rpc_fixture.c). Covered: unary echo,
 * client streaming 1..32 MiB with zero-copy views on the server and lent payloads on the client,
 * held messages resumed from another thread, answers from another thread, server streaming,
 * status + reason round trip for every reason, DEADLINE_EXCEEDED, binary metadata, unknown
 * methods, a missing request, oversized messages, and stopping with a call in flight.
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

#include "common/log.h"
#include "rpc/rpc.h"
#include "rpc/rpc_int.h"
#include "rpc_fixture.h"
#include "testutil.h"

struct st {
    struct fx_certs certs;
    struct ms_rpc_server *srv;
    struct ms_rpc_client *cl;
    int port;
};

static int setup(void **state)
{
    struct st *s = calloc(1, sizeof(*s));
    assert_non_null(s);
    ms_rpc_init();
    fx_certs_make(&s->certs);
    s->port = fx_server_start(&s->certs.node1, &s->srv);
    s->cl = fx_client(s->port, &s->certs.alice, 1);
    *state = s;
    return 0;
}

static int teardown(void **state)
{
    struct st *s = *state;
    ms_rpc_client_destroy(s->cl);
    ms_rpc_server_destroy(s->srv);
    fx_certs_free(&s->certs);
    ms_rpc_fini();
    free(s);
    return 0;
}

static void wait_done_calls(int at_least)
{
    for (int i = 0; i < 5000 && atomic_load(&fx_done_calls) < at_least; i++) {
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    assert_true(atomic_load(&fx_done_calls) >= at_least);
}

/* Unary echo of 0, 1 and 1 KiB..1 MiB, over mutual TLS (Y-TRN-1). */
static void test_unary_echo__Y_TRN_1(void **state)
{
    struct st *s = *state;
    const size_t sizes[] = {0, 1, 1024, 65537, 1 << 20};
    for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
        uint8_t *req = malloc(sizes[k] + 1);
        assert_non_null(req);
        ms_test_fill(req, sizes[k], k);
        struct ms_rpc_seg seg = {.ptr = req, .len = sizes[k]};
        uint8_t *resp = NULL;
        size_t len = 99;
        struct ms_rpc_status st;
        assert_int_equal(ms_rpc_unary(s->cl, FX_UNARY, NULL, &seg, 1, &resp, &len, &st), 0);
        assert_int_equal(st.grpc_status, 0);
        assert_int_equal(len, sizes[k]);
        if (sizes[k] > 0)
            assert_memory_equal(resp, req, sizes[k]);
        else
            assert_null(resp);
        free(resp);
        free(req);
    }
}

/* Upload = PutFragment-shaped client stream; the server hashes the payload views in place. */
static void check_upload(struct ms_rpc_client *cl, const char *method, uint64_t total,
                         size_t chunk)
{
    uint64_t bytes = 0, hash = 0;
    int released = -1;
    assert_int_equal(fx_upload(cl, method, total, chunk, &bytes, &hash, &released), 0);
    assert_int_equal(bytes, total);
    uint64_t want = FX_FNV_INIT;
    for (uint64_t i = 0; i < total; i++) {
        uint8_t b = fx_pattern(i);
        want = fx_fnv(want, &b, 1);
    }
    assert_int_equal(hash, want);
    assert_int_equal(released, 0); /* every lent payload segment was released exactly once */
}

static void test_client_streaming_1_to_32_mib(void **state)
{
    struct st *s = *state;
    check_upload(s->cl, FX_UPLOAD, 0, 1 << 20);
    check_upload(s->cl, FX_UPLOAD, 1 << 20, 1 << 20);
    check_upload(s->cl, FX_UPLOAD, (3u << 20) + 17, 1 << 20);
    check_upload(s->cl, FX_UPLOAD, 32u << 20, 4u << 20);
    check_upload(s->cl, FX_UPLOAD, 32u << 20, 1u << 20);
}

/* A server with a fixed stream window (BDP probing off; medstore-node's rpc_stream_window)
 * still carries uploads far larger than the window, byte-exact, and concurrent ones over one
 * connection; a window above MS_RPC_STREAM_WINDOW_MAX is refused. */
static void test_fixed_stream_window(void **state)
{
    (void)state;
    size_t n;
    const struct ms_rpc_method *m = fx_methods(&n);
    struct ms_rpc_server_config cfg = {.listen_addr = "127.0.0.1:0", .insecure_for_tests = true,
                                       .data_tuning = true,
                                       .stream_window_bytes = MS_RPC_STREAM_WINDOW_MAX + 1};
    struct ms_rpc_server *srv = NULL;
    assert_int_equal(ms_rpc_server_create(&cfg, m, n, &srv), -EINVAL);
    assert_null(srv);
    cfg.stream_window_bytes = 256u << 10; /* far below one 4 MiB message */
    cfg.shutdown_grace_ms = 500;
    assert_int_equal(ms_rpc_server_create(&cfg, m, n, &srv), 0);
    assert_int_equal(ms_rpc_server_start(srv), 0);
    struct ms_rpc_client *c = fx_client(ms_rpc_server_port(srv), NULL, 1);
    check_upload(c, FX_UPLOAD, 16u << 20, 4u << 20);
    check_upload(c, FX_UPLOAD, (3u << 20) + 5, 1u << 20);
    check_upload(c, FX_UPLOAD_HOLD, 9u << 20, 1u << 20);
    ms_rpc_client_destroy(c);
    ms_rpc_server_request_stop(srv);
    ms_rpc_server_wait(srv);
    ms_rpc_server_destroy(srv);
}

/* MS_RPC_HOLD + ms_rpc_call_resume from another thread, reply from another thread. */
static void test_client_streaming_hold_and_async_reply(void **state)
{
    struct st *s = *state;
    check_upload(s->cl, FX_UPLOAD_HOLD, (5u << 20) + 3, 1 << 20);
    check_upload(s->cl, FX_UPLOAD_HOLD, 0, 1 << 20);
}

static void test_server_streaming(void **state)
{
    struct st *s = *state;
    unsigned msgs = 0;
    assert_int_equal(fx_download(s->cl, 9u << 20, 1u << 20, &msgs), 0);
    assert_int_equal(msgs, 9);
    assert_int_equal(fx_download(s->cl, (8u << 20) + 1, 4u << 20, &msgs), 0);
    assert_int_equal(msgs, 3);
    assert_int_equal(fx_download(s->cl, 0, 1024, &msgs), 0);
    assert_int_equal(msgs, 0);
    /* A handler's error ends the stream with that code. */
    assert_int_equal(fx_download(s->cl, 10, 0, &msgs), -EINVAL);
}

/* Every code in the reason table crosses the wire and comes back as itself. */
static void test_status_and_reason_round_trip(void **state)
{
    struct st *s = *state;
    int code;
    const char *reason;
    unsigned n = 0;
    for (unsigned i = 0; ms_rpc_reason_table_row(i, &code, &reason) == 0; i++, n++) {
        struct ms_rpc_status st;
        assert_int_equal(fx_fail(s->cl, code, reason, &st), code);
        assert_int_equal(st.code, code);
        assert_int_equal(st.grpc_status, ms_err_grpc_status(code));
        assert_string_equal(st.reason, reason);
        assert_string_equal(st.message, "test failure");
    }
    assert_true(n > 40);
    /* Without an explicit reason the code's own reason is sent. */
    struct ms_rpc_status st;
    assert_int_equal(fx_fail(s->cl, -MEDSTORE_ESHREDDED, NULL, &st), -MEDSTORE_ESHREDDED);
    assert_string_equal(st.reason, "shredded");
    assert_int_equal(st.grpc_status, 5); /* NOT_FOUND, told apart from ENOTFOUND by reason */
    assert_int_equal(fx_fail(s->cl, -ENOSPC, NULL, &st), -ENOSPC);
    assert_string_equal(st.reason, "disk-full");
    assert_int_equal(st.grpc_status, 8); /* RESOURCE_EXHAUSTED */
}

static void test_deadline_exceeded(void **state)
{
    struct st *s = *state;
    int before = atomic_load(&fx_done_calls);
    struct ms_rpc_status st;
    struct ms_rpc_call_opts opts = {.deadline_ms = 50};
    uint32_t ms = 400;
    struct ms_rpc_seg seg = {.ptr = &ms, .len = sizeof(ms)};
    uint8_t *resp = NULL;
    size_t len = 0;
    assert_int_equal(ms_rpc_unary(s->cl, FX_SLEEP, &opts, &seg, 1, &resp, &len, &st),
                     -ETIMEDOUT);
    assert_int_equal(st.grpc_status, 4); /* DEADLINE_EXCEEDED */
    assert_null(resp);
    /* The handler's late answer finds the call cancelled; on_done_cb still runs. (Other
     * calls' on_done_cb may land late too: wait for this code, not for a count.) */
    wait_done_calls(before + 1);
    for (int i = 0; i < 2000 && atomic_load(&fx_last_done_code) != -ECANCELED; i++) {
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    assert_int_equal(atomic_load(&fx_last_done_code), -ECANCELED);
    /* An answer from another thread within the deadline is fine. */
    assert_int_equal(fx_sleep(s->cl, 5, 5000), 0);
}

static void test_principal_and_binary_metadata(void **state)
{
    struct st *s = *state;
    uint8_t cap[120];
    for (size_t i = 0; i < sizeof(cap); i++)
        cap[i] = (uint8_t)(255 - i * 7); /* includes 0x00 and high bytes */
    struct ms_rpc_md md = {.key = MS_RPC_MD_CAPTOKEN, .value = cap, .len = sizeof(cap)};
    struct ms_rpc_call_opts opts = {.md = &md, .nmd = 1};
    char who[80];
    uint8_t got[200];
    size_t got_len = 0;
    assert_int_equal(fx_whoami(s->cl, &opts, who, sizeof(who), got, &got_len), 0);
    assert_string_equal(who, "alice");
    assert_int_equal(got_len, sizeof(cap));
    assert_memory_equal(got, cap, sizeof(cap));
    assert_int_equal(fx_whoami(s->cl, NULL, who, sizeof(who), got, &got_len), 0);
    assert_int_equal(got_len, 0);
    /* Duplicated keys are ambiguous: the handler refuses. */
    struct ms_rpc_md two[2] = {md, md};
    struct ms_rpc_call_opts opts2 = {.md = two, .nmd = 2};
    assert_int_equal(fx_whoami(s->cl, &opts2, who, sizeof(who), got, &got_len), -EINVAL);
    /* Illegal keys are refused at the client. */
    struct ms_rpc_md bad = {.key = "Upper Case", .value = "x", .len = 1};
    struct ms_rpc_call_opts opts3 = {.md = &bad, .nmd = 1};
    assert_int_equal(fx_whoami(s->cl, &opts3, who, sizeof(who), got, &got_len), -EINVAL);
}

static void test_unknown_method_and_missing_request(void **state)
{
    struct st *s = *state;
    struct ms_rpc_status st;
    uint8_t *resp = NULL;
    size_t len = 0;
    assert_int_equal(ms_rpc_unary(s->cl, "/medstore.test.Echo/Nope", NULL, NULL, 0, &resp, &len,
                                  &st),
                     -MEDSTORE_EUNSUPPORTED);
    assert_int_equal(st.grpc_status, 12); /* UNIMPLEMENTED */
    /* A unary call that half-closes without its request. */
    struct ms_rpc_stream *str;
    assert_int_equal(ms_rpc_stream_open(s->cl, FX_UNARY, NULL, &str), 0);
    assert_int_equal(ms_rpc_stream_close_send(str), 0);
    assert_int_equal(ms_rpc_stream_finish(str, &st), -MEDSTORE_EFORMAT);
    assert_int_equal(st.grpc_status, 3); /* INVALID_ARGUMENT */
    ms_rpc_stream_destroy(str);
    assert_int_equal(ms_rpc_unary(s->cl, "no-slash", NULL, NULL, 0, &resp, &len, &st), -EINVAL);
}

static void test_message_too_large(void **state)
{
    struct st *s = *state;
    size_t n = MS_RPC_MAX_MESSAGE_BYTES + 1;
    uint8_t *req = calloc(1, n);
    assert_non_null(req);
    struct ms_rpc_seg seg = {.ptr = req, .len = n};
    struct ms_rpc_status st;
    uint8_t *resp = NULL;
    size_t len = 0;
    assert_int_equal(ms_rpc_unary(s->cl, FX_UNARY, NULL, &seg, 1, &resp, &len, &st),
                     -MEDSTORE_ELIMIT);
    assert_int_equal(st.grpc_status, 8); /* RESOURCE_EXHAUSTED */
    free(req);
    /* The largest chunk plus its framing passes (the 4 MiB default would refuse it). */
    n = MS_RPC_MAX_CHUNK_BYTES + 16;
    req = calloc(1, n);
    assert_non_null(req);
    struct ms_rpc_seg seg2 = {.ptr = req, .len = n};
    assert_int_equal(ms_rpc_unary(s->cl, FX_UNARY, NULL, &seg2, 1, &resp, &len, &st), 0);
    assert_int_equal(len, n);
    free(resp);
    free(req);
}

/* A stream the client abandons: the handler's on_done_cb sees -ECANCELED. */
static void test_client_cancel(void **state)
{
    struct st *s = *state;
    int before = atomic_load(&fx_done_calls);
    struct ms_rpc_stream *str;
    assert_int_equal(ms_rpc_stream_open(s->cl, FX_UPLOAD, NULL, &str), 0);
    uint8_t junk[3] = {0x7a, 0x01, 0x00}; /* field 15, length 1, but before any header */
    struct ms_rpc_seg seg = {.ptr = junk, .len = sizeof(junk)};
    assert_int_equal(ms_rpc_stream_send(str, &seg, 1), 0);
    struct ms_rpc_status st;
    assert_int_equal(ms_rpc_stream_finish(str, &st), -MEDSTORE_EFORMAT);
    ms_rpc_stream_destroy(str);
    wait_done_calls(before + 1);
    /* A call the server admitted (it read the header) and the client then drops: the
     * server's receive fails and the handler learns it in on_done_cb. */
    int handled = atomic_load(&fx_handler_calls);
    assert_int_equal(ms_rpc_stream_open(s->cl, FX_UPLOAD, NULL, &str), 0);
    assert_int_equal(fx_send_header(str, 100), 0);
    for (int i = 0; i < 5000 && atomic_load(&fx_handler_calls) == handled; i++) {
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    ms_rpc_stream_destroy(str);
    wait_done_calls(before + 2);
    for (int i = 0; i < 2000 && atomic_load(&fx_last_done_code) != -ECANCELED; i++) {
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    assert_int_equal(atomic_load(&fx_last_done_code), -ECANCELED);
}

/* Stop while a handler holds a call: the grace period passes, the call is cancelled. */
static void test_stop_with_call_in_flight(void **state)
{
    struct st *s = *state;
    struct ms_rpc_server *srv;
    int port = fx_server_start(&s->certs.node1, &srv);
    struct ms_rpc_client *cl = fx_client(port, &s->certs.alice, 1);
    assert_int_equal(fx_sleep(cl, 1, 5000), 0);
    struct ms_rpc_stream *str;
    struct ms_rpc_call_opts opts = {.deadline_ms = 10000};
    uint32_t ms = 800;
    assert_int_equal(ms_rpc_stream_open(cl, FX_SLEEP, &opts, &str), 0);
    struct ms_rpc_seg seg = {.ptr = &ms, .len = sizeof(ms)};
    assert_int_equal(ms_rpc_stream_send(str, &seg, 1), 0);
    assert_int_equal(ms_rpc_stream_close_send(str), 0);
    struct timespec ts = {0, 50000000};
    nanosleep(&ts, NULL);
    ms_rpc_server_destroy(srv); /* returns once the held call ended */
    assert_true(ms_rpc_stream_finish(str, NULL) < 0);
    ms_rpc_stream_destroy(str);
    ms_rpc_client_destroy(cl);
}

int main(void)
{
    ms_log_set_level(MS_LOG_WARN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unary_echo__Y_TRN_1),
        cmocka_unit_test(test_client_streaming_1_to_32_mib),
        cmocka_unit_test(test_client_streaming_hold_and_async_reply),
        cmocka_unit_test(test_fixed_stream_window),
        cmocka_unit_test(test_server_streaming),
        cmocka_unit_test(test_status_and_reason_round_trip),
        cmocka_unit_test(test_deadline_exceeded),
        cmocka_unit_test(test_principal_and_binary_metadata),
        cmocka_unit_test(test_unknown_method_and_missing_request),
        cmocka_unit_test(test_message_too_large),
        cmocka_unit_test(test_client_cancel),
        cmocka_unit_test(test_stop_with_call_in_flight),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
