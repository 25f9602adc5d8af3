/*
 * init.c - gRPC library lifetime and the signal discipline of medstore daemons.
 *
 * gRPC starts threads of its own at grpc_init and later. A SIGTERM delivered to one of them
 * would run a sigaction handler there, which cannot wake a completion queue. So a daemon blocks
 * SIGTERM, SIGINT (and SIGPIPE) first thing in main(), before grpc_init, so every thread
 * inherits the mask, and one thread takes the signals with sigwait() and starts the shutdown
 * (GRPC-NOTES). Stopping the waiter sends it SIGTERM with pthread_kill after setting a flag.
 *
 * Daemon main, in order:
 *   ms_rpc_signals_block(); ms_rpc_init(); ms_rpc_server_create(); ms_rpc_server_start();
 *   ms_rpc_sigwait_start(cb calling ms_rpc_server_request_stop); ms_rpc_server_wait();
 *   ms_rpc_sigwait_stop(); ms_rpc_server_destroy(); ms_rpc_fini();
 */
#include "rpc/rpc.h"

#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>

#include <grpc/grpc.h>

#include "common/log.h"
#include "common/ms_assert.h"

static pthread_mutex_t init_mu = PTHREAD_MUTEX_INITIALIZER;
static unsigned init_refs;

void ms_rpc_init(void)
{
    pthread_mutex_lock(&init_mu);
    if (init_refs++ == 0)
        grpc_init();
    MS_ASSERT(init_refs > 0);
    pthread_mutex_unlock(&init_mu);
}

void ms_rpc_fini(void)
{
    pthread_mutex_lock(&init_mu);
    MS_ASSERT(init_refs > 0);
    if (--init_refs == 0)
        grpc_shutdown_blocking();
    pthread_mutex_unlock(&init_mu);
}

int ms_rpc_malloc_tune_bulk(void)
{
    /* glibc's limit for the mmap threshold is HEAP_MAX_SIZE / 2: 32 MiB on 64-bit. */
    if (mallopt(M_MMAP_THRESHOLD, 32 << 20) != 1 || mallopt(M_TRIM_THRESHOLD, 512 << 20) != 1)
        return -EINVAL;
    return 0;
}

static void stop_signals(sigset_t *set)
{
    sigemptyset(set);
    sigaddset(set, SIGTERM);
    sigaddset(set, SIGINT);
}

int ms_rpc_signals_block(void)
{
    sigset_t set;
    stop_signals(&set);
    sigaddset(&set, SIGPIPE); /* a peer closing a socket must not kill the daemon */
    int rc = pthread_sigmask(SIG_BLOCK, &set, NULL);
    return rc == 0 ? 0 : -rc;
}

struct ms_rpc_sigwait {
    pthread_t thread;
    void (*on_signal_cb)(int signo, void *arg);
    void *arg;
    atomic_bool stopping;
};

static void *sigwait_main(void *p)
{
    struct ms_rpc_sigwait *sw = p;
    MS_ASSERT(sw != NULL && sw->on_signal_cb != NULL);
    sigset_t set;
    stop_signals(&set);
    for (;;) {
        int signo = 0;
        if (sigwait(&set, &signo) != 0)
            continue;
        if (atomic_load(&sw->stopping))
            break;
        ms_log(MS_LOG_INFO, "rpc", "event=signal signo=%d action=shutdown", signo);
        sw->on_signal_cb(signo, sw->arg);
    }
    return NULL;
}

int ms_rpc_sigwait_start(void (*on_signal_cb)(int signo, void *arg), void *arg,
                         struct ms_rpc_sigwait **out)
{
    MS_ASSERT(on_signal_cb != NULL && out != NULL);
    sigset_t cur;
    pthread_sigmask(SIG_BLOCK, NULL, &cur);
    if (!sigismember(&cur, SIGTERM) || !sigismember(&cur, SIGINT))
        return -EINVAL; /* ms_rpc_signals_block() first, else another thread may take them */
    struct ms_rpc_sigwait *sw = calloc(1, sizeof(*sw));
    if (sw == NULL)
        return -ENOMEM;
    sw->on_signal_cb = on_signal_cb;
    sw->arg = arg;
    int rc = pthread_create(&sw->thread, NULL, sigwait_main, sw);
    if (rc != 0) {
        free(sw);
        return -rc;
    }
    *out = sw;
    return 0;
}

void ms_rpc_sigwait_stop(struct ms_rpc_sigwait *sw)
{
    if (sw == NULL)
        return;
    atomic_store(&sw->stopping, true);
    pthread_kill(sw->thread, SIGTERM);
    pthread_join(sw->thread, NULL);
    free(sw);
}
