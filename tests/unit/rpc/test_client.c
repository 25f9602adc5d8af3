/*
 * test_client.c - src/rpc/client.c: several connections and concurrent callers, the stream
 * API's error paths (send after the server failed, finish twice, destroy unfinished).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "rpc/rpc.h"
#include "rpc_fixture.h"
#include "testutil.h"

struct worker {
    struct ms_rpc_client *c;
    int calls;
    int failures;
    uint64_t seed;
};

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    uint8_t req[1024];
    for (int i = 0; i < w->calls; i++) {
        ms_test_fill(req, sizeof(req), w->seed + (uint64_t)i);
        struct ms_rpc_seg seg = {.ptr = req, .len = sizeof(req)};
        uint8_t *resp = NULL;
        size_t len = 0;
        int rc = ms_rpc_unary(w->c, FX_UNARY, NULL, &seg, 1, &resp, &len, NULL);
        if (rc != 0 || len != sizeof(req) || memcmp(resp, req, len) != 0)
            w->failures++;
        free(resp);
    }
    return NULL;
}

/* 16 callers in flight over one client with 2 connections (the bench's unary shape). */
static void test_concurrent_unary_on_two_connections(void **state)
{
    struct fx_env *s = *state;
    struct ms_rpc_client *c = fx_client(s->port, &s->certs.alice, 2);
    pthread_t t[16];
    struct worker w[16];
    for (int i = 0; i < 16; i++) {
        w[i] = (struct worker){.c = c, .calls = 50, .seed = (uint64_t)i << 32};
        assert_int_equal(pthread_create(&t[i], NULL, worker_main, &w[i]), 0);
    }
    for (int i = 0; i < 16; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(w[i].failures, 0);
    }
    ms_rpc_client_destroy(c);
}

/* Sends after the server has failed the call report -EPIPE; finish tells why, twice. */
static void test_send_after_server_failed(void **state)
{
    struct fx_env *s = *state;
    struct ms_rpc_client *c = fx_client(s->port, &s->certs.alice, 1);
    struct ms_rpc_stream *str;
    assert_int_equal(ms_rpc_stream_open(c, FX_UPLOAD, NULL, &str), 0);
    uint8_t junk[2] = {0x7a, 0x00}; /* data before the header: the handler fails the call */
    int rc = 0;
    for (int i = 0; i < 2000 && rc == 0; i++) { /* until the status has come back */
        struct ms_rpc_seg seg = {.ptr = junk, .len = sizeof(junk)};
        rc = ms_rpc_stream_send(str, &seg, 1);
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    assert_int_equal(rc, -EPIPE);
    struct ms_rpc_status st;
    assert_int_equal(ms_rpc_stream_finish(str, &st), -MEDSTORE_EFORMAT);
    assert_string_equal(st.reason, "format");
    assert_int_equal(ms_rpc_stream_finish(str, NULL), -MEDSTORE_EFORMAT);
    uint8_t one = 1;
    struct ms_rpc_seg seg = {.ptr = &one, .len = 1};
    assert_int_equal(ms_rpc_stream_send(str, &seg, 1), -EPIPE);
    ms_rpc_stream_destroy(str);
    ms_rpc_client_destroy(c);
}

/* A stream destroyed before finish is cancelled; its lent segments still come back. */
static int released;
static void count_release(void *arg)
{
    (void)arg;
    __atomic_add_fetch(&released, 1, __ATOMIC_SEQ_CST);
}

static void test_destroy_unfinished_stream(void **state)
{
    struct fx_env *s = *state;
    struct ms_rpc_client *c = fx_client(s->port, &s->certs.alice, 1);
    struct ms_rpc_stream *str;
    assert_int_equal(ms_rpc_stream_open(c, FX_UPLOAD, NULL, &str), 0);
    assert_int_equal(fx_send_header(str, 1 << 20), 0);
    static uint8_t payload[4096];
    uint8_t prefix[MS_RPC_PB_PREFIX_MAX];
    struct ms_rpc_seg segs[2] = {
        {.ptr = prefix, .len = ms_rpc_pb_bytes_prefix(15, sizeof(payload), prefix)},
        {.ptr = payload, .len = sizeof(payload), .release_cb = count_release},
    };
    assert_int_equal(ms_rpc_stream_send(str, segs, 2), 0);
    ms_rpc_stream_destroy(str);
    ms_rpc_client_destroy(c);
    for (int i = 0; i < 1000 && __atomic_load_n(&released, __ATOMIC_SEQ_CST) == 0; i++) {
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    assert_int_equal(__atomic_load_n(&released, __ATOMIC_SEQ_CST), 1);
    /* Too many segments: refused, and released all the same. */
    assert_int_equal(ms_rpc_stream_open(c = fx_client(s->port, &s->certs.alice, 1), FX_UNARY,
                                        NULL, &str), 0);
    struct ms_rpc_seg many[MS_RPC_MAX_SEGS + 1];
    for (int i = 0; i <= MS_RPC_MAX_SEGS; i++)
        many[i] = (struct ms_rpc_seg){.ptr = payload, .len = 1, .release_cb = count_release};
    assert_int_equal(ms_rpc_stream_send(str, many, MS_RPC_MAX_SEGS + 1), -EINVAL);
    assert_int_equal(__atomic_load_n(&released, __ATOMIC_SEQ_CST), 2 + MS_RPC_MAX_SEGS);
    ms_rpc_stream_destroy(str);
    ms_rpc_client_destroy(c);
}

/* Nobody listens: UNAVAILABLE maps to -MEDSTORE_EUNAVAIL, within the deadline. */
static void test_unreachable_peer(void **state)
{
    struct fx_env *s = *state;
    struct ms_rpc_server *srv;
    int port = fx_server_start(&s->certs.node1, &srv);
    ms_rpc_server_destroy(srv); /* the port is free again */
    struct ms_rpc_client *c = fx_client(port, &s->certs.alice, 1);
    struct ms_rpc_call_opts opts = {.deadline_ms = 3000};
    struct ms_rpc_status st;
    uint8_t *resp = NULL;
    size_t len = 0;
    int rc = ms_rpc_unary(c, FX_UNARY, &opts, NULL, 0, &resp, &len, &st);
    assert_true(rc == -MEDSTORE_EUNAVAIL || rc == -ETIMEDOUT);
    ms_rpc_client_destroy(c);
}

static void test_bad_config(void **state)
{
    (void)state;
    struct ms_rpc_client *c = NULL;
    struct ms_rpc_client_config cfg = {.target = NULL};
    assert_int_equal(ms_rpc_client_create(&cfg, &c), -EINVAL);
    cfg.target = "127.0.0.1:1";
    cfg.insecure_for_tests = true;
    cfg.connections = 17;
    assert_int_equal(ms_rpc_client_create(&cfg, &c), -EINVAL);
    assert_null(c);
}

int main(void)
{
    ms_log_set_level(MS_LOG_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_concurrent_unary_on_two_connections),
        cmocka_unit_test(test_send_after_server_failed),
        cmocka_unit_test(test_destroy_unfinished_stream),
        cmocka_unit_test(test_unreachable_peer),
        cmocka_unit_test(test_bad_config),
    };
    return cmocka_run_group_tests(tests, fx_env_setup, fx_env_teardown);
}
