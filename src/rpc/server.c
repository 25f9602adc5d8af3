/*
 * server.c - gRPC C core server: completion-queue threads, registered methods, and the state
 * machine of a server call for unary, client-streaming and server-streaming methods.
 *
 * Threads: one completion queue per thread (default min(2, cores): gRPC runs threads of its own
 * and more CQ threads than cores only adds switches, GRPC-NOTES). Every method is registered
 * with GRPC_SRM_PAYLOAD_NONE, so the first message is read like any other and streaming works;
 * each CQ keeps REQUESTS_PER_METHOD calls requested per method, plus one generic request that
 * answers UNIMPLEMENTED for unknown methods. A call stays on the CQ that accepted it, so all its
 * completions, and so all its callbacks, run on one thread.
 *
 * A call has at most one batch in flight, and its tag is the call itself. States:
 *
 *   REQUESTED --accepted, peer CN ok--> RECV  (batch: SEND_INITIAL_METADATA + RECV_MESSAGE)
 *   REQUESTED --no single CN / too many calls--> FINISHING (PERMISSION_DENIED / RESOURCE_EXHAUSTED)
 *   RECV --message--> IDLE + on_message_cb      RECV --half-close--> IDLE + on_end_cb
 *   RECV --failed (client gone, deadline)--> ended, on_done_cb(-ECANCELED)
 *   IDLE (the handler's turn) --ms_rpc_call_send--> SEND --done--> IDLE + on_writable_cb
 *   IDLE --ms_rpc_call_resume, or callback returned 0 (client streaming)--> RECV
 *   IDLE --ms_rpc_call_reply / _finish, or callback returned < 0--> FINISHING
 *   FINISHING (SEND_STATUS_FROM_SERVER + RECV_CLOSE_ON_SERVER) --done--> on_done_cb, freed
 *
 *   transition                      function
 *   REQUESTED -> RECV / FINISHING   scall_on_accepted
 *   RECV -> IDLE / ended            scall_on_recv
 *   SEND -> IDLE / ended            scall_on_sent
 *   IDLE -> *                       scall_after_cb (callback returned), rpc_scall_* (handler)
 *   FINISHING -> freed              scall_end
 *
 * The handler acts (send/reply/finish/resume) only in IDLE, from any thread: the call's mutex
 * orders it with the CQ thread. ms_rpc_call_finish is also accepted while a receive or a send is
 * in flight: it is parked and starts when that batch completes, so one batch stays in flight.
 * The received message belongs to the call until the callback returns, or, after MS_RPC_HOLD,
 * until resume/reply/finish.
 *
 * Stop (GRPC-NOTES order): grpc_server_shutdown_and_notify, wait up to the grace period,
 * grpc_server_cancel_all_calls, wait for the notification, grpc_server_destroy, then shut down
 * and drain every CQ and join its thread.
 */
#include "rpc/rpc.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <grpc/support/time.h>

#include "common/log.h"
#include "common/ms_assert.h"
#include "rpc/rpc_int.h"

/* Calls kept requested per method and CQ: a burst of new calls waits less for a re-request. */
#define REQUESTS_PER_METHOD 4
#define DEFAULT_GRACE_MS 5000u
#define DEFAULT_MAX_CALLS 1024u

enum scall_state {
    SC_REQUESTED = 1,
    SC_RECV,
    SC_SEND,
    SC_IDLE,
    SC_FINISHING,
};

struct rpc_cq {
    struct ms_rpc_server *srv;
    grpc_completion_queue *cq;
    pthread_t thread;
    bool thread_started;
};

struct rpc_smethod {
    struct ms_rpc_method m;
    void *handle; /* from grpc_server_register_method */
};

struct ms_rpc_server {
    grpc_server *gs;
    struct rpc_cq *cqs;
    unsigned ncq;
    struct rpc_smethod *methods;
    size_t nmethods;
    int port;
    bool insecure;
    char insecure_principal[MS_RPC_PRINCIPAL_MAX + 1];
    unsigned grace_ms;
    unsigned max_calls;
    atomic_uint active_calls; /* admitted calls (the max_calls limit) */
    atomic_uint live_calls;   /* every call object, requested ones included */
    atomic_bool shutting_down;
    pthread_mutex_t mu; /* guards the flags below */
    pthread_cond_t cv;
    bool started;
    bool stop_requested;
    bool shutdown_notified;
    bool stopped;   /* a caller took on the stopping */
    bool stop_done; /* ... and finished it */
    char shutdown_tag; /* its address is the tag of grpc_server_shutdown_and_notify */
};

struct rpc_scall {
    struct ms_rpc_call base;
    struct ms_rpc_server *srv;
    const struct rpc_smethod *sm; /* NULL: an unknown method (generic request) */
    struct rpc_cq *cq;
    grpc_call *gcall;
    gpr_timespec deadline;
    grpc_call_details details; /* generic requests only */
    grpc_metadata_array md;
    grpc_byte_buffer *recv_bb;
    grpc_byte_buffer *send_bb; /* kept until its batch completes */
    struct rpc_inmsg in;
    pthread_mutex_t mu;
    enum scall_state st;
    bool in_cb;      /* a callback of this call is running */
    bool md_sent;    /* initial metadata went out */
    bool authed;     /* passed authentication: on_done_cb is owed */
    bool counted;    /* counted in srv->active_calls */
    bool park;       /* a finish waits for the batch in flight */
    int park_code;
    char park_reason[MS_RPC_REASON_MAX];
    char park_message[MS_RPC_MESSAGE_MAX];
    int final_code;
    int close_cancelled;
    grpc_slice status_details;
    grpc_metadata trailing;
    bool status_slices;
};

static const struct rpc_call_ops grpc_call_ops;

static void scall_start(struct rpc_scall *sc, const grpc_op *ops, size_t n)
{
    grpc_call_error e = grpc_call_start_batch(sc->gcall, ops, n, sc, NULL);
    if (e != GRPC_CALL_OK)
        ms_log(MS_LOG_ERROR, "rpc", "event=start_batch_failed err=%s",
               grpc_call_error_to_string(e));
    MS_ASSERT(e == GRPC_CALL_OK); /* only our own misuse makes start_batch fail */
}

static void scall_free(struct rpc_scall *sc)
{
    MS_ASSERT(sc != NULL);
    struct ms_rpc_server *srv = sc->srv;
    if (sc->counted)
        atomic_fetch_sub(&srv->active_calls, 1);
    if (sc->gcall != NULL)
        grpc_call_unref(sc->gcall);
    if (sc->recv_bb != NULL)
        grpc_byte_buffer_destroy(sc->recv_bb);
    if (sc->send_bb != NULL)
        grpc_byte_buffer_destroy(sc->send_bb);
    rpc_inmsg_fini(&sc->in);
    if (sc->status_slices) {
        grpc_slice_unref(sc->status_details);
        grpc_slice_unref(sc->trailing.value);
    }
    if (sc->sm == NULL)
        grpc_call_details_destroy(&sc->details);
    grpc_metadata_array_destroy(&sc->md);
    pthread_mutex_destroy(&sc->mu);
    free(sc);
    if (atomic_fetch_sub(&srv->live_calls, 1) == 1 && atomic_load(&srv->shutting_down)) {
        pthread_mutex_lock(&srv->mu); /* the stopping thread waits for the last call */
        pthread_cond_broadcast(&srv->cv);
        pthread_mutex_unlock(&srv->mu);
    }
}

/* Asks gRPC for the next call of sm (NULL = any unknown method) on cq. */
static void scall_request(struct ms_rpc_server *srv, const struct rpc_smethod *sm,
                          struct rpc_cq *cq)
{
    MS_ASSERT(srv != NULL && cq != NULL);
    struct rpc_scall *sc = calloc(1, sizeof(*sc));
    MS_ASSERT(sc != NULL); /* startup-sized allocation; without it the server cannot serve */
    sc->base.ops = &grpc_call_ops;
    sc->base.method = sm ? &sm->m : NULL;
    sc->srv = srv;
    sc->sm = sm;
    sc->cq = cq;
    sc->st = SC_REQUESTED;
    atomic_fetch_add(&srv->live_calls, 1);
    pthread_mutex_init(&sc->mu, NULL);
    grpc_metadata_array_init(&sc->md);
    grpc_call_error e;
    if (sm != NULL) {
        e = grpc_server_request_registered_call(srv->gs, sm->handle, &sc->gcall, &sc->deadline,
                                                &sc->md, NULL, cq->cq, cq->cq, sc);
    } else {
        grpc_call_details_init(&sc->details);
        e = grpc_server_request_call(srv->gs, &sc->gcall, &sc->details, &sc->md, cq->cq, cq->cq,
                                     sc);
    }
    if (e != GRPC_CALL_OK) {
        MS_ASSERT(atomic_load(&srv->shutting_down));
        scall_free(sc);
    }
}

/* Starts the final batch. Called with sc->mu held, in state IDLE (or a parked finish). */
static void scall_start_finish(struct rpc_scall *sc, int code, const char *reason,
                               const char *message, grpc_byte_buffer *reply)
{
    MS_ASSERT(code <= 0);
    MS_ASSERT(!sc->status_slices);
    grpc_op ops[4];
    size_t n = 0;
    memset(ops, 0, sizeof(ops));
    if (!sc->md_sent) {
        ops[n++].op = GRPC_OP_SEND_INITIAL_METADATA;
        sc->md_sent = true;
    }
    if (reply != NULL) {
        MS_ASSERT(sc->send_bb == NULL);
        sc->send_bb = reply;
        ops[n].op = GRPC_OP_SEND_MESSAGE;
        ops[n++].data.send_message.send_message = reply;
    }
    ops[n].op = GRPC_OP_SEND_STATUS_FROM_SERVER;
    ops[n].data.send_status_from_server.status = (grpc_status_code)ms_err_grpc_status(code);
    if (code < 0) {
        const char *r = reason ? reason : ms_rpc_reason_of_code(code);
        sc->status_details = grpc_slice_from_copied_string(message ? message
                                                                   : medstore_strerror(code));
        sc->trailing.key = grpc_slice_from_static_string(MS_RPC_MD_REASON);
        sc->trailing.value = grpc_slice_from_copied_string(r);
        sc->status_slices = true;
        ops[n].data.send_status_from_server.status_details = &sc->status_details;
        ops[n].data.send_status_from_server.trailing_metadata = &sc->trailing;
        ops[n].data.send_status_from_server.trailing_metadata_count = 1;
    }
    n++;
    ops[n].op = GRPC_OP_RECV_CLOSE_ON_SERVER;
    ops[n++].data.recv_close_on_server.cancelled = &sc->close_cancelled;
    sc->final_code = code;
    sc->st = SC_FINISHING;
    scall_start(sc, ops, n);
}

/* Starts RECV_MESSAGE (with the initial metadata the first time). sc->mu held. */
static void scall_start_recv(struct rpc_scall *sc)
{
    MS_ASSERT(sc->recv_bb == NULL);
    grpc_op ops[2];
    size_t n = 0;
    memset(ops, 0, sizeof(ops));
    if (!sc->md_sent) {
        ops[n++].op = GRPC_OP_SEND_INITIAL_METADATA;
        sc->md_sent = true;
    }
    ops[n].op = GRPC_OP_RECV_MESSAGE;
    ops[n++].data.recv_message.recv_message = &sc->recv_bb;
    sc->st = SC_RECV;
    scall_start(sc, ops, n);
}

/* The call is over: tell the handler, free. No lock held; no batch in flight. */
static void scall_end(struct rpc_scall *sc, int code)
{
    MS_ASSERT(sc->st == SC_FINISHING || sc->st == SC_RECV || sc->st == SC_SEND);
    rpc_inmsg_release(&sc->in);
    if (sc->authed && sc->sm != NULL && sc->sm->m.on_done_cb != NULL)
        sc->sm->m.on_done_cb(&sc->base, code, sc->sm->m.arg);
    scall_free(sc);
}

/* A finish parked while a batch was in flight starts now. sc->mu held. */
static bool scall_unpark(struct rpc_scall *sc)
{
    if (!sc->park)
        return false;
    sc->park = false;
    rpc_inmsg_release(&sc->in);
    scall_start_finish(sc, sc->park_code, sc->park_reason[0] ? sc->park_reason : NULL,
                       sc->park_message[0] ? sc->park_message : NULL, NULL);
    return true;
}

/* A callback returned rc; decides what happens next unless the handler already acted. */
static void scall_after_cb(struct rpc_scall *sc, int rc, bool was_message)
{
    pthread_mutex_lock(&sc->mu);
    MS_ASSERT(sc->in_cb);
    sc->in_cb = false;
    bool keep = rc == MS_RPC_HOLD && sc->st == SC_IDLE;
    MS_ASSERT(rc != MS_RPC_HOLD || (was_message && sc->sm->m.kind == MS_RPC_CLIENT_STREAMING));
    if (!keep)
        rpc_inmsg_release(&sc->in);
    if (sc->st == SC_IDLE && !keep) {
        if (rc < 0)
            scall_start_finish(sc, rc, NULL, NULL, NULL);
        else if (was_message && sc->sm->m.kind == MS_RPC_CLIENT_STREAMING)
            scall_start_recv(sc);
        /* else: unary / server streaming / end of stream: the handler holds the turn */
    } else if (rc < 0 && sc->st != SC_IDLE) {
        ms_log(MS_LOG_DEBUG, "rpc", "event=handler_code_ignored method=%s code=%s",
               sc->sm->m.path, ms_err_name(rc));
    }
    pthread_mutex_unlock(&sc->mu);
}

/* Reads the principal and admits the call, or refuses it. Runs on the CQ thread. */
static void scall_on_accepted(struct rpc_scall *sc)
{
    struct ms_rpc_server *srv = sc->srv;
    const char *why = NULL;
    int rc = 0;
    if (srv->insecure) {
        memcpy(sc->base.principal, srv->insecure_principal, sizeof(sc->base.principal));
    } else {
        rc = rpc_tls_peer_principal(sc->gcall, sc->base.principal, &why);
        if (rc < 0)
            ms_log(MS_LOG_WARN, "rpc", "event=peer_refused method=%s why=%s",
                   sc->sm ? sc->sm->m.path : "unknown", why);
    }
    pthread_mutex_lock(&sc->mu);
    if (rc < 0) {
        scall_start_finish(sc, -MEDSTORE_EDENIED, "principal", "peer certificate has no single CN",
                           NULL);
    } else if (sc->sm == NULL) {
        char m[96];
        rpc_slice_to_text(sc->details.method, m, sizeof(m));
        ms_log(MS_LOG_INFO, "rpc", "event=unknown_method method=%s principal=%s", m,
               sc->base.principal);
        scall_start_finish(sc, -MEDSTORE_EUNSUPPORTED, NULL, "unknown method", NULL);
    } else if (atomic_fetch_add(&srv->active_calls, 1) >= srv->max_calls) {
        sc->counted = true;
        scall_start_finish(sc, -MEDSTORE_ELIMIT, "too-many-calls", "server busy, retry", NULL);
    } else {
        sc->counted = true;
        sc->authed = true;
        scall_start_recv(sc);
    }
    pthread_mutex_unlock(&sc->mu);
}

static void scall_on_recv(struct rpc_scall *sc, bool ok)
{
    pthread_mutex_lock(&sc->mu);
    grpc_byte_buffer *bb = sc->recv_bb;
    sc->recv_bb = NULL;
    if (!ok || scall_unpark(sc)) {
        pthread_mutex_unlock(&sc->mu);
        if (bb != NULL)
            grpc_byte_buffer_destroy(bb);
        if (!ok)
            scall_end(sc, -ECANCELED);
        return;
    }
    const struct ms_rpc_method *m = &sc->sm->m;
    sc->st = SC_IDLE;
    sc->in_cb = true;
    int rc = 0;
    if (bb == NULL && m->kind != MS_RPC_CLIENT_STREAMING)
        rc = -MEDSTORE_EFORMAT; /* a unary or server-streaming call without its request */
    else if (bb != NULL)
        rc = rpc_inmsg_load(&sc->in, bb);
    pthread_mutex_unlock(&sc->mu);
    if (rc == 0 && bb == NULL)
        rc = m->on_end_cb(&sc->base, m->arg);
    else if (rc == 0)
        rc = m->on_message_cb(&sc->base, &sc->in.msg, m->arg);
    scall_after_cb(sc, rc, bb != NULL);
}

static void scall_on_sent(struct rpc_scall *sc, bool ok)
{
    pthread_mutex_lock(&sc->mu);
    MS_ASSERT(sc->send_bb != NULL);
    grpc_byte_buffer_destroy(sc->send_bb);
    sc->send_bb = NULL;
    if (ok && scall_unpark(sc)) {
        pthread_mutex_unlock(&sc->mu);
        return;
    }
    if (!ok) {
        pthread_mutex_unlock(&sc->mu);
        scall_end(sc, -ECANCELED);
        return;
    }
    sc->st = SC_IDLE;
    sc->in_cb = true;
    pthread_mutex_unlock(&sc->mu);
    int rc = sc->sm->m.on_writable_cb(&sc->base, sc->sm->m.arg);
    scall_after_cb(sc, rc, false);
}

/* One completion of a call's batch (or of its request). */
static void scall_on_event(struct rpc_scall *sc, bool ok)
{
    pthread_mutex_lock(&sc->mu);
    enum scall_state st = sc->st;
    pthread_mutex_unlock(&sc->mu);
    switch (st) {
    case SC_REQUESTED:
        if (!ok) { /* server shutting down */
            scall_free(sc);
            return;
        }
        if (!atomic_load(&sc->srv->shutting_down))
            scall_request(sc->srv, sc->sm, sc->cq);
        scall_on_accepted(sc);
        return;
    case SC_RECV:
        scall_on_recv(sc, ok);
        return;
    case SC_SEND:
        scall_on_sent(sc, ok);
        return;
    case SC_FINISHING:
        scall_end(sc, sc->close_cancelled ? -ECANCELED : sc->final_code);
        return;
    case SC_IDLE:
    default:
        MS_ASSERT(!"completion in a state without a batch");
    }
}

static void *cq_thread_main(void *arg)
{
    struct rpc_cq *cq = arg;
    MS_ASSERT(cq != NULL && cq->cq != NULL);
    for (;;) {
        grpc_event ev = grpc_completion_queue_next(cq->cq, gpr_inf_future(GPR_CLOCK_REALTIME),
                                                   NULL);
        if (ev.type == GRPC_QUEUE_SHUTDOWN)
            break;
        if (ev.type != GRPC_OP_COMPLETE)
            continue;
        if (ev.tag == &cq->srv->shutdown_tag) {
            pthread_mutex_lock(&cq->srv->mu);
            cq->srv->shutdown_notified = true;
            pthread_cond_broadcast(&cq->srv->cv);
            pthread_mutex_unlock(&cq->srv->mu);
            continue;
        }
        scall_on_event(ev.tag, ev.success != 0);
    }
    return NULL;
}

/* ---- handler actions (struct rpc_call_ops for gRPC calls) ---------------------------------- */

static struct rpc_scall *to_scall(struct ms_rpc_call *call)
{
    MS_ASSERT(call != NULL && call->ops == &grpc_call_ops);
    return (struct rpc_scall *)call;
}

/* The held message goes back to gRPC when the handler acts outside a callback. */
static void scall_drop_held(struct rpc_scall *sc)
{
    if (!sc->in_cb)
        rpc_inmsg_release(&sc->in);
}

static int g_send(struct ms_rpc_call *call, const struct ms_rpc_seg *segs, size_t nsegs)
{
    struct rpc_scall *sc = to_scall(call);
    pthread_mutex_lock(&sc->mu);
    if (sc->st != SC_IDLE || sc->park) {
        int rc = sc->st == SC_SEND ? -EBUSY : -ECANCELED;
        pthread_mutex_unlock(&sc->mu);
        ms_rpc_segs_release(segs, nsegs);
        return rc;
    }
    MS_ASSERT(sc->send_bb == NULL);
    sc->send_bb = rpc_bb_from_segs(segs, nsegs);
    grpc_op ops[2];
    size_t n = 0;
    memset(ops, 0, sizeof(ops));
    if (!sc->md_sent) {
        ops[n++].op = GRPC_OP_SEND_INITIAL_METADATA;
        sc->md_sent = true;
    }
    ops[n].op = GRPC_OP_SEND_MESSAGE;
    ops[n++].data.send_message.send_message = sc->send_bb;
    sc->st = SC_SEND;
    scall_start(sc, ops, n);
    pthread_mutex_unlock(&sc->mu);
    return 0;
}

static int g_reply(struct ms_rpc_call *call, const struct ms_rpc_seg *segs, size_t nsegs)
{
    struct rpc_scall *sc = to_scall(call);
    pthread_mutex_lock(&sc->mu);
    if (sc->st != SC_IDLE || sc->park) {
        pthread_mutex_unlock(&sc->mu);
        ms_rpc_segs_release(segs, nsegs);
        return -ECANCELED;
    }
    scall_drop_held(sc);
    scall_start_finish(sc, 0, NULL, NULL, rpc_bb_from_segs(segs, nsegs));
    pthread_mutex_unlock(&sc->mu);
    return 0;
}

static int g_finish(struct ms_rpc_call *call, int code, const char *reason, const char *message)
{
    struct rpc_scall *sc = to_scall(call);
    char msg[MS_RPC_MESSAGE_MAX];
    if (message != NULL) {
        size_t n = strnlen(message, sizeof(msg) - 1);
        memcpy(msg, message, n);
        msg[n] = '\0';
    }
    int rc = 0;
    pthread_mutex_lock(&sc->mu);
    if (sc->st == SC_IDLE && !sc->park) {
        scall_drop_held(sc);
        scall_start_finish(sc, code, reason, message ? msg : NULL, NULL);
    } else if ((sc->st == SC_RECV || sc->st == SC_SEND) && !sc->park) {
        sc->park = true;
        sc->park_code = code;
        snprintf(sc->park_reason, sizeof(sc->park_reason), "%s", reason ? reason : "");
        snprintf(sc->park_message, sizeof(sc->park_message), "%s", message ? msg : "");
    } else {
        rc = -ECANCELED;
    }
    pthread_mutex_unlock(&sc->mu);
    return rc;
}

static int g_resume(struct ms_rpc_call *call)
{
    struct rpc_scall *sc = to_scall(call);
    pthread_mutex_lock(&sc->mu);
    if (sc->st != SC_IDLE || sc->park) {
        pthread_mutex_unlock(&sc->mu);
        return -ECANCELED;
    }
    scall_drop_held(sc);
    scall_start_recv(sc);
    pthread_mutex_unlock(&sc->mu);
    return 0;
}

static int g_metadata(const struct ms_rpc_call *call, const char *key, const uint8_t **value,
                      size_t *len)
{
    const struct rpc_scall *sc = (const struct rpc_scall *)call;
    int found = 0;
    for (size_t i = 0; i < sc->md.count; i++) {
        const grpc_metadata *m = &sc->md.metadata[i];
        if (grpc_slice_str_cmp(m->key, key) != 0)
            continue;
        if (++found > 1)
            return -EINVAL;
        *value = GRPC_SLICE_START_PTR(m->value);
        *len = GRPC_SLICE_LENGTH(m->value);
    }
    return found == 1 ? 0 : -MEDSTORE_ENOTFOUND;
}

static int64_t g_deadline_left_ms(const struct ms_rpc_call *call)
{
    const struct rpc_scall *sc = (const struct rpc_scall *)call;
    return rpc_deadline_left_ms(sc->deadline);
}

static const struct rpc_call_ops grpc_call_ops = {
    .send = g_send,
    .reply = g_reply,
    .finish = g_finish,
    .resume = g_resume,
    .metadata = g_metadata,
    .deadline_left_ms = g_deadline_left_ms,
};

/* ---- the ms_rpc_call_* API (any transport) ------------------------------------------------- */

const char *ms_rpc_call_principal(const struct ms_rpc_call *call)
{
    MS_ASSERT(call != NULL);
    MS_ASSERT(call->principal[0] != '\0');
    return call->principal;
}

const char *ms_rpc_call_method(const struct ms_rpc_call *call)
{
    MS_ASSERT(call != NULL && call->method != NULL);
    return call->method->path;
}

int ms_rpc_call_metadata(const struct ms_rpc_call *call, const char *key, const uint8_t **value,
                         size_t *len)
{
    MS_ASSERT(call != NULL && key != NULL);
    MS_ASSERT(value != NULL && len != NULL);
    return call->ops->metadata(call, key, value, len);
}

int64_t ms_rpc_call_deadline_left_ms(const struct ms_rpc_call *call)
{
    MS_ASSERT(call != NULL);
    return call->ops->deadline_left_ms(call);
}

void ms_rpc_call_set_ctx(struct ms_rpc_call *call, void *ctx)
{
    MS_ASSERT(call != NULL);
    call->ctx = ctx;
}

void *ms_rpc_call_ctx(const struct ms_rpc_call *call)
{
    MS_ASSERT(call != NULL);
    return call->ctx;
}

int ms_rpc_call_send(struct ms_rpc_call *call, const struct ms_rpc_seg *segs, size_t nsegs)
{
    MS_ASSERT(call != NULL && call->method->kind == MS_RPC_SERVER_STREAMING);
    MS_ASSERT(nsegs <= MS_RPC_MAX_SEGS);
    return call->ops->send(call, segs, nsegs);
}

int ms_rpc_call_reply(struct ms_rpc_call *call, const struct ms_rpc_seg *segs, size_t nsegs)
{
    MS_ASSERT(call != NULL && call->method->kind != MS_RPC_SERVER_STREAMING);
    MS_ASSERT(nsegs <= MS_RPC_MAX_SEGS);
    return call->ops->reply(call, segs, nsegs);
}

int ms_rpc_call_finish(struct ms_rpc_call *call, int code, const char *reason,
                       const char *message)
{
    MS_ASSERT(call != NULL && code <= 0);
    /* OK without a message only ends a server stream; unary answers use ms_rpc_call_reply. */
    MS_ASSERT(code < 0 || call->method->kind == MS_RPC_SERVER_STREAMING);
    MS_ASSERT(reason == NULL || ms_rpc_reason_is_valid(reason));
    return call->ops->finish(call, code, reason, message);
}

int ms_rpc_call_resume(struct ms_rpc_call *call)
{
    MS_ASSERT(call != NULL && call->method->kind == MS_RPC_CLIENT_STREAMING);
    return call->ops->resume(call);
}

/* ---- server lifecycle ---------------------------------------------------------------------- */

static int methods_check(const struct ms_rpc_method *methods, size_t n)
{
    if (methods == NULL || n == 0 || n > 256)
        return -EINVAL;
    for (size_t i = 0; i < n; i++) {
        const struct ms_rpc_method *m = &methods[i];
        bool ok = m->path != NULL && m->path[0] == '/' && m->on_message_cb != NULL;
        if (m->kind == MS_RPC_CLIENT_STREAMING)
            ok = ok && m->on_end_cb != NULL;
        else if (m->kind == MS_RPC_SERVER_STREAMING)
            ok = ok && m->on_writable_cb != NULL;
        else
            ok = ok && m->kind == MS_RPC_UNARY;
        for (size_t j = 0; ok && j < i; j++)
            ok = strcmp(methods[j].path, m->path) != 0;
        if (!ok) {
            ms_log(MS_LOG_ERROR, "rpc", "event=bad_method_table index=%zu", i);
            return -EINVAL;
        }
    }
    return 0;
}

static unsigned default_cq_threads(void)
{
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    return cores >= 2 ? 2u : 1u;
}

/* Credentials for cfg, or an error with a log line. */
static int server_creds(const struct ms_rpc_server_config *cfg, grpc_server_credentials **out)
{
    if (!cfg->insecure_for_tests)
        return rpc_tls_server_creds(&cfg->tls, out);
    if (!ms_rpc_addr_is_loopback(cfg->listen_addr)) {
        ms_log(MS_LOG_ERROR, "rpc",
               "event=insecure_refused addr=%s why=insecure_mode_only_on_loopback",
               cfg->listen_addr);
        return -EINVAL;
    }
    ms_log(MS_LOG_WARN, "rpc", "event=insecure_server addr=%s why=tests_only", cfg->listen_addr);
    *out = grpc_insecure_server_credentials_create();
    return 0;
}

static int server_alloc(const struct ms_rpc_server_config *cfg,
                        const struct ms_rpc_method *methods, size_t n,
                        struct ms_rpc_server **out)
{
    struct ms_rpc_server *srv = calloc(1, sizeof(*srv));
    if (srv == NULL)
        return -ENOMEM;
    srv->ncq = cfg->cq_threads ? cfg->cq_threads : default_cq_threads();
    srv->methods = calloc(n, sizeof(*srv->methods));
    srv->cqs = calloc(srv->ncq, sizeof(*srv->cqs));
    if (srv->methods == NULL || srv->cqs == NULL) {
        free(srv->methods);
        free(srv->cqs);
        free(srv);
        return -ENOMEM;
    }
    for (size_t i = 0; i < n; i++)
        srv->methods[i].m = methods[i];
    srv->nmethods = n;
    srv->insecure = cfg->insecure_for_tests;
    snprintf(srv->insecure_principal, sizeof(srv->insecure_principal), "%s",
             cfg->insecure_principal ? cfg->insecure_principal : "insecure");
    srv->grace_ms = cfg->shutdown_grace_ms ? cfg->shutdown_grace_ms : DEFAULT_GRACE_MS;
    srv->max_calls = cfg->max_calls ? cfg->max_calls : DEFAULT_MAX_CALLS;
    pthread_mutex_init(&srv->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&srv->cv, &ca);
    pthread_condattr_destroy(&ca);
    *out = srv;
    return 0;
}

/* Builds the grpc_server, its methods and CQs. */
static void server_build(struct ms_rpc_server *srv, const struct ms_rpc_server_config *cfg)
{
    struct rpc_args a;
    rpc_args_init(&a, cfg->max_message_bytes ? cfg->max_message_bytes : MS_RPC_MAX_MESSAGE_BYTES,
                  cfg->data_tuning, false, NULL);
    /* gRPC 1.51 clones the listener once per completion queue with SO_REUSEPORT; bound to port
     * 0, a clone gets a second random port, so a server would listen where it was not told to
     * (Y-PRC-1). Without reuseport every CQ shares the one listener. */
    rpc_args_add_int(&a, GRPC_ARG_ALLOW_REUSEPORT, 0);
    if (cfg->stream_window_bytes > 0) {
        rpc_args_add_int(&a, GRPC_ARG_HTTP2_BDP_PROBE, 0);
        rpc_args_add_int(&a, GRPC_ARG_HTTP2_STREAM_LOOKAHEAD_BYTES, (int)cfg->stream_window_bytes);
    }
    grpc_resource_quota *quota = NULL;
    if (cfg->memory_quota_bytes > 0) {
        quota = grpc_resource_quota_create("medstore-server");
        grpc_resource_quota_resize(quota, cfg->memory_quota_bytes);
        rpc_args_add_quota(&a, quota);
    }
    srv->gs = grpc_server_create(&a.args, NULL);
    MS_ASSERT(srv->gs != NULL);
    if (quota != NULL)
        grpc_resource_quota_unref(quota); /* the server holds its own reference */
    for (size_t i = 0; i < srv->nmethods; i++) {
        srv->methods[i].handle = grpc_server_register_method(
            srv->gs, srv->methods[i].m.path, NULL, GRPC_SRM_PAYLOAD_NONE, 0);
        MS_ASSERT(srv->methods[i].handle != NULL);
    }
    for (unsigned i = 0; i < srv->ncq; i++) {
        srv->cqs[i].srv = srv;
        srv->cqs[i].cq = grpc_completion_queue_create_for_next(NULL);
        grpc_server_register_completion_queue(srv->gs, srv->cqs[i].cq, NULL);
    }
}

int ms_rpc_server_create(const struct ms_rpc_server_config *cfg,
                         const struct ms_rpc_method *methods, size_t nmethods,
                         struct ms_rpc_server **out)
{
    MS_ASSERT(out != NULL);
    if (cfg == NULL || cfg->listen_addr == NULL || cfg->cq_threads > 64 ||
        cfg->max_message_bytes > MS_RPC_MSG_MAX ||
        cfg->stream_window_bytes > MS_RPC_STREAM_WINDOW_MAX)
        return -EINVAL;
    int rc = methods_check(methods, nmethods);
    if (rc < 0)
        return rc;
    grpc_server_credentials *creds;
    rc = server_creds(cfg, &creds);
    if (rc < 0)
        return rc;
    struct ms_rpc_server *srv;
    rc = server_alloc(cfg, methods, nmethods, &srv);
    if (rc < 0) {
        grpc_server_credentials_release(creds);
        return rc;
    }
    server_build(srv, cfg);
    srv->port = grpc_server_add_http2_port(srv->gs, cfg->listen_addr, creds);
    grpc_server_credentials_release(creds);
    if (srv->port <= 0) {
        ms_log(MS_LOG_ERROR, "rpc", "event=bind_failed addr=%s", cfg->listen_addr);
        ms_rpc_server_destroy(srv);
        return -EADDRINUSE;
    }
    ms_log(MS_LOG_INFO, "rpc", "event=server_bound addr=%s port=%d tls=%d cq_threads=%u",
           cfg->listen_addr, srv->port, !srv->insecure, srv->ncq);
    MS_ASSERT(srv->port > 0 && srv->port < 65536);
    *out = srv;
    return 0;
}

int ms_rpc_server_port(const struct ms_rpc_server *srv)
{
    MS_ASSERT(srv != NULL && srv->port > 0);
    return srv->port;
}

int ms_rpc_server_start(struct ms_rpc_server *srv)
{
    MS_ASSERT(srv != NULL && srv->gs != NULL);
    MS_ASSERT(!srv->started);
    grpc_server_start(srv->gs);
    for (unsigned i = 0; i < srv->ncq; i++) {
        for (size_t j = 0; j < srv->nmethods; j++)
            for (int k = 0; k < REQUESTS_PER_METHOD; k++)
                scall_request(srv, &srv->methods[j], &srv->cqs[i]);
        scall_request(srv, NULL, &srv->cqs[i]);
    }
    pthread_mutex_lock(&srv->mu);
    srv->started = true;
    pthread_mutex_unlock(&srv->mu);
    for (unsigned i = 0; i < srv->ncq; i++) {
        int rc = pthread_create(&srv->cqs[i].thread, NULL, cq_thread_main, &srv->cqs[i]);
        if (rc != 0)
            return -rc; /* the stop path joins the threads that did start */
        srv->cqs[i].thread_started = true;
    }
    return 0;
}

void ms_rpc_server_request_stop(struct ms_rpc_server *srv)
{
    MS_ASSERT(srv != NULL);
    pthread_mutex_lock(&srv->mu);
    srv->stop_requested = true;
    pthread_cond_broadcast(&srv->cv);
    pthread_mutex_unlock(&srv->mu);
}

/* Waits for the shutdown tag; after grace_ms, cancels every call. srv->mu held. */
static void server_await_shutdown(struct ms_rpc_server *srv)
{
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += srv->grace_ms / 1000;
    until.tv_nsec += (long)(srv->grace_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    while (!srv->shutdown_notified) {
        if (pthread_cond_timedwait(&srv->cv, &srv->mu, &until) == ETIMEDOUT)
            break;
    }
    if (!srv->shutdown_notified) {
        ms_log(MS_LOG_WARN, "rpc", "event=shutdown_grace_over action=cancel_all_calls");
        grpc_server_cancel_all_calls(srv->gs);
        while (!srv->shutdown_notified)
            pthread_cond_wait(&srv->cv, &srv->mu);
    }
    /* gRPC's notification does not wait for calls a handler holds: they are cancelled, and
     * end (on their CQ, which must outlive them) when the handler answers. */
    unsigned live = atomic_load(&srv->live_calls);
    if (live > 0)
        ms_log(MS_LOG_INFO, "rpc", "event=shutdown_waiting_for_handlers calls=%u", live);
    while (atomic_load(&srv->live_calls) > 0)
        pthread_cond_wait(&srv->cv, &srv->mu);
}

/* No thread runs the CQs (never started): pull events here until the tag or shutdown. */
static void server_drain_unstarted(struct ms_rpc_server *srv, bool want_tag)
{
    for (unsigned i = 0; i < srv->ncq; i++) {
        for (;;) {
            grpc_event ev = grpc_completion_queue_next(
                srv->cqs[i].cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
            if (ev.type == GRPC_QUEUE_SHUTDOWN)
                break;
            if (want_tag && i == 0 && ev.tag == &srv->shutdown_tag)
                break;
        }
        if (want_tag)
            return;
    }
}

static void server_shutdown(struct ms_rpc_server *srv)
{
    atomic_store(&srv->shutting_down, true);
    grpc_server_shutdown_and_notify(srv->gs, srv->cqs[0].cq, &srv->shutdown_tag);
    pthread_mutex_lock(&srv->mu);
    bool started = srv->started;
    if (started)
        server_await_shutdown(srv);
    pthread_mutex_unlock(&srv->mu);
    if (!started)
        server_drain_unstarted(srv, true);
    grpc_server_destroy(srv->gs);
    srv->gs = NULL;
    for (unsigned i = 0; i < srv->ncq; i++)
        grpc_completion_queue_shutdown(srv->cqs[i].cq);
    for (unsigned i = 0; i < srv->ncq; i++)
        if (srv->cqs[i].thread_started)
            pthread_join(srv->cqs[i].thread, NULL);
    if (!started)
        server_drain_unstarted(srv, false);
    for (unsigned i = 0; i < srv->ncq; i++)
        grpc_completion_queue_destroy(srv->cqs[i].cq);
    MS_ASSERT(atomic_load(&srv->active_calls) == 0);
    MS_ASSERT(atomic_load(&srv->live_calls) == 0);
}

void ms_rpc_server_wait(struct ms_rpc_server *srv)
{
    MS_ASSERT(srv != NULL);
    pthread_mutex_lock(&srv->mu);
    while (!srv->stop_requested)
        pthread_cond_wait(&srv->cv, &srv->mu);
    bool mine = !srv->stopped;
    srv->stopped = true; /* one caller stops; the others wait for it */
    if (!mine) {
        while (!srv->stop_done)
            pthread_cond_wait(&srv->cv, &srv->mu);
        pthread_mutex_unlock(&srv->mu);
        return;
    }
    pthread_mutex_unlock(&srv->mu);
    server_shutdown(srv);
    ms_log(MS_LOG_INFO, "rpc", "event=server_stopped port=%d", srv->port);
    pthread_mutex_lock(&srv->mu);
    srv->stop_done = true;
    pthread_cond_broadcast(&srv->cv);
    pthread_mutex_unlock(&srv->mu);
}

void ms_rpc_server_stop(struct ms_rpc_server *srv)
{
    ms_rpc_server_request_stop(srv);
    ms_rpc_server_wait(srv);
}

void ms_rpc_server_destroy(struct ms_rpc_server *srv)
{
    if (srv == NULL)
        return;
    ms_rpc_server_stop(srv);
    MS_ASSERT(srv->gs == NULL);
    pthread_cond_destroy(&srv->cv);
    pthread_mutex_destroy(&srv->mu);
    free(srv->methods);
    free(srv->cqs);
    free(srv);
}
