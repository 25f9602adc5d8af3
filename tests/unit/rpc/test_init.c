/*
 * test_init.c - src/rpc/init.c: gRPC init reference counting and the signal discipline
 * (SIGTERM blocked before gRPC starts threads, taken by the sigwait thread, which stops a
 * running server).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include "common/log.h"
#include "rpc/rpc.h"
#include "rpc_fixture.h"

static void on_signal_cb(int signo, void *arg)
{
    assert_int_equal(signo, SIGTERM);
    ms_rpc_server_request_stop(arg);
}

static void test_sigterm_stops_server(void **state)
{
    (void)state;
    struct ms_rpc_sigwait *sw = NULL;
    assert_int_equal(ms_rpc_sigwait_start(on_signal_cb, NULL, &sw), -EINVAL); /* not blocked */
    assert_int_equal(ms_rpc_signals_block(), 0);
    ms_rpc_init();
    ms_rpc_init(); /* reference counted */
    struct ms_rpc_server *srv;
    int port = fx_server_start(NULL, &srv);
    assert_true(port > 0);
    assert_int_equal(ms_rpc_sigwait_start(on_signal_cb, srv, &sw), 0);
    assert_int_equal(kill(getpid(), SIGTERM), 0); /* process-directed: only sigwait takes it */
    ms_rpc_server_wait(srv);                      /* returns once stopped */
    ms_rpc_sigwait_stop(sw);
    ms_rpc_server_destroy(srv);
    ms_rpc_fini();
    ms_rpc_fini();
}

int main(void)
{
    ms_log_set_level(MS_LOG_WARN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sigterm_stops_server),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
