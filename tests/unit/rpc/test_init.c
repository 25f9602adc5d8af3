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
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
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

/* After the bulk tuning, an 8 MiB message buffer comes from the heap instead of its own
 * mmap, and freeing it leaves the heap where it was (no trim): the next message reuses the
 * same pages instead of faulting fresh ones in. */
static void test_malloc_tune_bulk_keeps_buffers_in_heap(void **state)
{
    (void)state;
#if defined(__SANITIZE_ADDRESS__)
    skip(); /* the sanitizer's allocator replaces glibc's: mallopt does not apply */
#else
    assert_int_equal(ms_rpc_malloc_tune_bulk(), 0);
    struct mallinfo2 before = mallinfo2();
    size_t n = 8u << 20;
    char *buf = malloc(n);
    assert_non_null(buf);
    memset(buf, 1, n);
    struct mallinfo2 during = mallinfo2();
    assert_int_equal(during.hblks, before.hblks); /* not an mmap of its own */
    assert_true(during.arena >= before.arena + n - (1u << 20) || before.arena >= n);
    free(buf);
    struct mallinfo2 after = mallinfo2();
    assert_int_equal(after.arena, during.arena); /* not trimmed */
    assert_true(after.fordblks >= n);
#endif
}

int main(void)
{
    ms_log_set_level(MS_LOG_WARN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sigterm_stops_server),
        cmocka_unit_test(test_malloc_tune_bulk_keeps_buffers_in_heap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
