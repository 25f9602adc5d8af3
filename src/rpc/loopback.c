/*
 * loopback.c - an in-process struct ms_rpc_client that runs a server method table directly:
 * no gRPC, no sockets, no copies. For unit tests of cores and RPC adapters (node_rpc.c, ...).
 *
 * One struct lb_call is both sides of a call: the client's ms_rpc_stream and the handler's
 * ms_rpc_call. Client operations run the handler's callbacks on the calling thread:
 *   send        -> on_message_cb(view of the caller's segments)  (waits while a HOLD is held)
 *   close_send  -> on_end_cb (client streaming)
 *   recv        -> takes the message the handler sent or replied; then on_writable_cb
 *                  (server streaming) so the handler may send the next one
 *   finish      -> waits for the handler's status (reply/finish, possibly from another thread)
 *   destroy     -> on_done_cb, unless the handler holds the turn: then on_done_cb runs when
 *                  its next action finds the call cancelled (as with gRPC)
 * Deadlines are enforced where the client waits (the handler's turn): -ETIMEDOUT.
 * Status codes travel as themselves, reasons and messages as strings, as over gRPC.
 *
 * The call is freed when the client has destroyed its stream and on_done_cb has run (refs).
 * Lock order: lb_call.mu only; callbacks and release callbacks run without it.
 */
#include "rpc/rpc.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/ms_assert.h"
#include "rpc/rpc_int.h"

struct lb_client {
    struct ms_rpc_client base;
    struct ms_rpc_method *methods;
    size_t nmethods;
    unsigned default_deadline_ms;
    char principal[MS_RPC_PRINCIPAL_MAX + 1];
};

struct lb_md {
    char *key;
    uint8_t *value;
    size_t len;
};

struct lb_call {
    struct ms_rpc_stream stream; /* client side */
    struct ms_rpc_call call;     /* handler side */
    struct lb_client *lb;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int refs;                    /* client stream + handler side */
    struct timespec deadline;    /* CLOCK_MONOTONIC */
    struct lb_md md[MS_RPC_MAX_MD];
    size_t nmd;
    /* client -> handler */
    struct ms_rpc_seg held[MS_RPC_MAX_SEGS]; /* a message the handler holds (MS_RPC_HOLD) */
    size_t nheld;
    bool holding;
    bool closed;
    bool got_request; /* a message reached on_message_cb */
    /* handler -> client */
    struct ms_rpc_seg out[MS_RPC_MAX_SEGS];
    size_t nout;
    bool out_ready;
    struct ms_rpc_seg cur[MS_RPC_MAX_SEGS]; /* the message the client is reading */
    size_t ncur;
    struct ms_rpc_iov cur_iov[MS_RPC_MAX_SEGS];
    /* status */
    bool handler_turn; /* the handler must act (outside callbacks) */
    bool done;         /* status set */
    bool cancelled;    /* the client went away or the deadline passed */
    bool client_gone;  /* the client destroyed its stream */
    bool done_cb_run;
    struct ms_rpc_status st;
};

static const struct rpc_call_ops lb_call_ops;
static const struct ms_rpc_client_ops lb_client_ops;

static struct lb_call *from_stream(struct ms_rpc_stream *s)
{
    MS_ASSERT(s != NULL && s->ops == &lb_client_ops);
    return (struct lb_call *)((char *)s - offsetof(struct lb_call, stream));
}

static struct lb_call *from_call(const struct ms_rpc_call *c)
{
    MS_ASSERT(c != NULL && c->ops == &lb_call_ops);
    return (struct lb_call *)((char *)c - offsetof(struct lb_call, call));
}

static void segs_view(const struct ms_rpc_seg *segs, size_t n, struct ms_rpc_iov *iov,
                      struct ms_rpc_msg *msg)
{
    msg->len = 0;
    for (size_t i = 0; i < n; i++) {
        iov[i].ptr = segs[i].ptr;
        iov[i].len = segs[i].len;
        msg->len += segs[i].len;
    }
    msg->niov = n;
    msg->iov = iov;
}

/* Lent segments are used in place; others are copied now, as the API promises. */
static int segs_keep(const struct ms_rpc_seg *in, size_t n, struct ms_rpc_seg *out)
{
    for (size_t i = 0; i < n; i++) {
        out[i] = in[i];
        if (in[i].release_cb != NULL || in[i].len == 0)
            continue;
        void *copy = malloc(in[i].len);
        if (copy == NULL) {
            ms_rpc_segs_release(out, i);
            ms_rpc_segs_release(in + i, n - i);
            return -ENOMEM;
        }
        memcpy(copy, in[i].ptr, in[i].len);
        out[i] = ms_rpc_seg_malloced(copy, in[i].len);
    }
    return 0;
}

static void lb_set_status(struct lb_call *c, int code, const char *reason, const char *message)
{
    MS_ASSERT(!c->done && code <= 0);
    c->done = true;
    c->st.code = code;
    c->st.grpc_status = ms_err_grpc_status(code);
    snprintf(c->st.reason, sizeof(c->st.reason), "%s",
             reason ? reason : ms_rpc_reason_of_code(code));
    snprintf(c->st.message, sizeof(c->st.message), "%s",
             message ? message : (code < 0 ? medstore_strerror(code) : ""));
    pthread_cond_broadcast(&c->cv);
}

static void lb_free(struct lb_call *c)
{
    MS_ASSERT(c->refs == 0);
    ms_rpc_segs_release(c->held, c->holding ? c->nheld : 0);
    ms_rpc_segs_release(c->out, c->out_ready ? c->nout : 0);
    ms_rpc_segs_release(c->cur, c->ncur);
    for (size_t i = 0; i < c->nmd; i++) {
        free(c->md[i].key);
        free(c->md[i].value);
    }
    pthread_cond_destroy(&c->cv);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

/* Drops one reference (c->mu held, released here). */
static void lb_unref_unlock(struct lb_call *c)
{
    MS_ASSERT(c->refs > 0);
    bool last = --c->refs == 0;
    pthread_mutex_unlock(&c->mu);
    if (last)
        lb_free(c);
}

/* Runs on_done_cb once and drops the handler side's reference (c->mu held, released here). */
static void lb_end_handler_unlock(struct lb_call *c, int code)
{
    MS_ASSERT(!c->done_cb_run);
    c->done_cb_run = true;
    pthread_mutex_unlock(&c->mu);
    const struct ms_rpc_method *m = c->call.method;
    if (m != NULL && m->on_done_cb != NULL)
        m->on_done_cb(&c->call, code, m->arg);
    pthread_mutex_lock(&c->mu);
    lb_unref_unlock(c);
}

/* Waits on cv until cond_fn or the deadline; on the deadline the call fails (c->mu held). */
static void lb_wait(struct lb_call *c, bool (*cond_fn)(const struct lb_call *c))
{
    while (!cond_fn(c)) {
        if (pthread_cond_timedwait(&c->cv, &c->mu, &c->deadline) == ETIMEDOUT && !cond_fn(c)) {
            if (!c->done)
                lb_set_status(c, -ETIMEDOUT, "timeout", "deadline exceeded");
            c->cancelled = true;
            return;
        }
    }
}

static bool cond_not_holding(const struct lb_call *c)
{
    return !c->holding || c->done;
}

static bool cond_out_or_done(const struct lb_call *c)
{
    return c->out_ready || c->done;
}

static bool cond_done(const struct lb_call *c)
{
    return c->done;
}

/* ---- callbacks ------------------------------------------------------------------------------ */

/* After a callback returned rc: applies rc unless the handler acted (c->mu held). */
static void lb_after_cb(struct lb_call *c, int rc, bool hold_ok)
{
    if (c->done)
        return;
    if (rc < 0) {
        lb_set_status(c, rc, NULL, NULL);
        c->handler_turn = false;
    } else if (rc == MS_RPC_HOLD) {
        MS_ASSERT(hold_ok);
        c->handler_turn = true;
    }
}

/* Delivers one client message to on_message_cb (c->mu held on entry and exit). */
static void lb_deliver(struct lb_call *c, const struct ms_rpc_seg *segs, size_t n)
{
    const struct ms_rpc_method *m = c->call.method;
    struct ms_rpc_iov iov[MS_RPC_MAX_SEGS];
    struct ms_rpc_msg msg;
    segs_view(segs, n, iov, &msg);
    bool cstream = m->kind == MS_RPC_CLIENT_STREAMING;
    c->got_request = true;
    /* Unary and server streaming: after the request the handler owns the turn. */
    c->handler_turn = !cstream;
    pthread_mutex_unlock(&c->mu);
    int rc = m->on_message_cb(&c->call, &msg, m->arg);
    pthread_mutex_lock(&c->mu);
    lb_after_cb(c, rc, cstream);
    if (rc == MS_RPC_HOLD && !c->done) {
        memcpy(c->held, segs, n * sizeof(*segs)); /* the handler keeps the views */
        c->nheld = n;
        c->holding = true;
        return;
    }
    pthread_mutex_unlock(&c->mu);
    ms_rpc_segs_release(segs, n);
    pthread_mutex_lock(&c->mu);
}

static int lb_send(struct ms_rpc_stream *s, const struct ms_rpc_seg *segs, size_t nsegs)
{
    struct lb_call *c = from_stream(s);
    struct ms_rpc_seg kept[MS_RPC_MAX_SEGS];
    int rc = segs_keep(segs, nsegs, kept);
    if (rc < 0)
        return rc;
    pthread_mutex_lock(&c->mu);
    lb_wait(c, cond_not_holding);
    bool refuse = c->done || c->closed || c->call.method == NULL ||
                  (c->call.method->kind != MS_RPC_CLIENT_STREAMING && c->got_request);
    if (refuse) {
        pthread_mutex_unlock(&c->mu);
        ms_rpc_segs_release(kept, nsegs);
        return -EPIPE;
    }
    lb_deliver(c, kept, nsegs);
    pthread_mutex_unlock(&c->mu);
    return 0;
}

static int lb_close_send(struct ms_rpc_stream *s)
{
    struct lb_call *c = from_stream(s);
    pthread_mutex_lock(&c->mu);
    lb_wait(c, cond_not_holding);
    if (c->closed || c->done || c->call.method == NULL) {
        bool done = c->done;
        c->closed = true;
        pthread_mutex_unlock(&c->mu);
        return done ? -EPIPE : 0;
    }
    c->closed = true;
    const struct ms_rpc_method *m = c->call.method;
    if (m->kind == MS_RPC_CLIENT_STREAMING) {
        c->handler_turn = true;
        pthread_mutex_unlock(&c->mu);
        int rc = m->on_end_cb(&c->call, m->arg);
        pthread_mutex_lock(&c->mu);
        lb_after_cb(c, rc, false);
    } else if (!c->got_request && !c->done) {
        lb_set_status(c, -MEDSTORE_EFORMAT, NULL, "request message missing");
    }
    pthread_mutex_unlock(&c->mu);
    return 0;
}

static int lb_recv(struct ms_rpc_stream *s, struct ms_rpc_msg *msg)
{
    struct lb_call *c = from_stream(s);
    pthread_mutex_lock(&c->mu);
    size_t nprev = c->ncur;
    struct ms_rpc_seg prev[MS_RPC_MAX_SEGS];
    memcpy(prev, c->cur, nprev * sizeof(prev[0]));
    c->ncur = 0;
    pthread_mutex_unlock(&c->mu);
    ms_rpc_segs_release(prev, nprev);
    pthread_mutex_lock(&c->mu);
    lb_wait(c, cond_out_or_done);
    if (!c->out_ready) {
        int rc = c->st.code == 0 ? 0 : -EPIPE;
        pthread_mutex_unlock(&c->mu);
        return rc;
    }
    memcpy(c->cur, c->out, c->nout * sizeof(c->out[0]));
    c->ncur = c->nout;
    c->out_ready = false;
    c->nout = 0;
    segs_view(c->cur, c->ncur, c->cur_iov, msg);
    const struct ms_rpc_method *m = c->call.method;
    if (m->kind == MS_RPC_SERVER_STREAMING && !c->done) {
        c->handler_turn = true;
        pthread_mutex_unlock(&c->mu);
        int rc = m->on_writable_cb(&c->call, m->arg);
        pthread_mutex_lock(&c->mu);
        lb_after_cb(c, rc, false);
    }
    pthread_mutex_unlock(&c->mu);
    return 1;
}

static int lb_finish(struct ms_rpc_stream *s, struct ms_rpc_status *st)
{
    struct lb_call *c = from_stream(s);
    if (!c->closed)
        (void)lb_close_send(s);
    struct ms_rpc_msg m;
    int rc;
    while ((rc = lb_recv(s, &m)) > 0) { /* unread messages are dropped, as gRPC's finish does */
    }
    pthread_mutex_lock(&c->mu);
    lb_wait(c, cond_done);
    if (st != NULL)
        *st = c->st;
    rc = c->st.code;
    pthread_mutex_unlock(&c->mu);
    return rc;
}

static void lb_stream_destroy(struct ms_rpc_stream *s)
{
    struct lb_call *c = from_stream(s);
    pthread_mutex_lock(&c->mu);
    if (!c->done) {
        lb_set_status(c, -ECANCELED, NULL, "cancelled by the client");
        c->cancelled = true;
    }
    c->client_gone = true;
    if (!c->done_cb_run && c->call.method != NULL && !c->handler_turn) {
        int code = c->cancelled ? -ECANCELED : c->st.code;
        lb_end_handler_unlock(c, code); /* re-locks to drop the handler's reference */
        pthread_mutex_lock(&c->mu);
    }
    lb_unref_unlock(c);
}

/* ---- handler actions ------------------------------------------------------------------------ */

/* The handler acted on an ended call: its turn is over; when the client is gone too, the call
 * ends here (c->mu held, released here). Returns -ECANCELED. */
static int lb_refuse_unlock(struct lb_call *c)
{
    c->handler_turn = false;
    if (c->client_gone && !c->done_cb_run) {
        lb_end_handler_unlock(c, -ECANCELED);
        return -ECANCELED;
    }
    pthread_mutex_unlock(&c->mu);
    return -ECANCELED;
}

/* Queues a message for the client; with final the call ends OK. */
static int lb_h_out(struct ms_rpc_call *call, const struct ms_rpc_seg *segs, size_t nsegs,
                    bool final)
{
    struct lb_call *c = from_call(call);
    struct ms_rpc_seg kept[MS_RPC_MAX_SEGS];
    int rc = segs_keep(segs, nsegs, kept);
    if (rc < 0)
        return rc;
    pthread_mutex_lock(&c->mu);
    if (c->done || c->out_ready) {
        bool busy = !c->done;
        int r = busy ? -EBUSY : lb_refuse_unlock(c);
        if (busy)
            pthread_mutex_unlock(&c->mu);
        ms_rpc_segs_release(kept, nsegs);
        return r;
    }
    memcpy(c->out, kept, nsegs * sizeof(kept[0]));
    c->nout = nsegs;
    c->out_ready = true;
    c->handler_turn = false;
    if (final)
        lb_set_status(c, 0, NULL, NULL);
    pthread_cond_broadcast(&c->cv);
    pthread_mutex_unlock(&c->mu);
    return 0;
}

static int lb_h_send(struct ms_rpc_call *call, const struct ms_rpc_seg *segs, size_t nsegs)
{
    return lb_h_out(call, segs, nsegs, false);
}

static int lb_h_reply(struct ms_rpc_call *call, const struct ms_rpc_seg *segs, size_t nsegs)
{
    return lb_h_out(call, segs, nsegs, true);
}

/* Takes the held message back from the handler (c->mu held); the caller releases it. */
static size_t lb_take_held(struct lb_call *c, struct ms_rpc_seg *out)
{
    size_t n = c->holding ? c->nheld : 0;
    memcpy(out, c->held, n * sizeof(out[0]));
    c->holding = false;
    c->nheld = 0;
    return n;
}

static int lb_h_finish(struct ms_rpc_call *call, int code, const char *reason, const char *message)
{
    struct lb_call *c = from_call(call);
    pthread_mutex_lock(&c->mu);
    if (c->done)
        return lb_refuse_unlock(c);
    struct ms_rpc_seg held[MS_RPC_MAX_SEGS];
    size_t n = lb_take_held(c, held);
    c->handler_turn = false;
    lb_set_status(c, code, reason, message);
    pthread_mutex_unlock(&c->mu);
    ms_rpc_segs_release(held, n);
    return 0;
}

static int lb_h_resume(struct ms_rpc_call *call)
{
    struct lb_call *c = from_call(call);
    pthread_mutex_lock(&c->mu);
    if (c->done)
        return lb_refuse_unlock(c);
    struct ms_rpc_seg held[MS_RPC_MAX_SEGS];
    size_t n = lb_take_held(c, held);
    c->handler_turn = false;
    pthread_cond_broadcast(&c->cv);
    pthread_mutex_unlock(&c->mu);
    ms_rpc_segs_release(held, n);
    return 0;
}

static int lb_h_metadata(const struct ms_rpc_call *call, const char *key, const uint8_t **value,
                         size_t *len)
{
    const struct lb_call *c = from_call(call);
    int found = 0;
    for (size_t i = 0; i < c->nmd; i++) {
        if (strcmp(c->md[i].key, key) != 0)
            continue;
        if (++found > 1)
            return -EINVAL;
        *value = c->md[i].value;
        *len = c->md[i].len;
    }
    return found == 1 ? 0 : -MEDSTORE_ENOTFOUND;
}

static int64_t lb_h_deadline_left_ms(const struct ms_rpc_call *call)
{
    const struct lb_call *c = from_call(call);
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (int64_t)(c->deadline.tv_sec - now.tv_sec) * 1000 +
           (c->deadline.tv_nsec - now.tv_nsec) / 1000000;
}

static const struct rpc_call_ops lb_call_ops = {
    .send = lb_h_send,
    .reply = lb_h_reply,
    .finish = lb_h_finish,
    .resume = lb_h_resume,
    .metadata = lb_h_metadata,
    .deadline_left_ms = lb_h_deadline_left_ms,
};

/* ---- client --------------------------------------------------------------------------------- */

static int lb_copy_md(struct lb_call *c, const struct ms_rpc_call_opts *opts)
{
    if (opts == NULL || opts->nmd == 0)
        return 0;
    if (opts->nmd > MS_RPC_MAX_MD || opts->md == NULL)
        return -EINVAL;
    for (size_t i = 0; i < opts->nmd; i++) {
        const struct ms_rpc_md *m = &opts->md[i];
        if (m->key == NULL || (m->value == NULL && m->len > 0))
            return -EINVAL;
        struct lb_md *d = &c->md[c->nmd];
        d->key = strdup(m->key);
        d->value = malloc(m->len ? m->len : 1);
        c->nmd++;
        if (d->key == NULL || d->value == NULL)
            return -ENOMEM;
        if (m->len > 0)
            memcpy(d->value, m->value, m->len);
        d->len = m->len;
    }
    return 0;
}

static const struct ms_rpc_method *lb_find(const struct lb_client *lb, const char *path)
{
    for (size_t i = 0; i < lb->nmethods; i++)
        if (strcmp(lb->methods[i].path, path) == 0)
            return &lb->methods[i];
    return NULL;
}

static int lb_open(struct ms_rpc_client *cl, const char *method,
                   const struct ms_rpc_call_opts *opts, struct ms_rpc_stream **out)
{
    struct lb_client *lb = (struct lb_client *)cl;
    struct lb_call *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return -ENOMEM;
    c->stream.ops = &lb_client_ops;
    c->call.ops = &lb_call_ops;
    c->call.method = lb_find(lb, method);
    memcpy(c->call.principal, lb->principal, sizeof(c->call.principal));
    c->lb = lb;
    c->refs = c->call.method ? 2 : 1;
    pthread_mutex_init(&c->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&c->cv, &ca);
    pthread_condattr_destroy(&ca);
    unsigned ms = opts && opts->deadline_ms ? opts->deadline_ms : lb->default_deadline_ms;
    clock_gettime(CLOCK_MONOTONIC, &c->deadline);
    c->deadline.tv_sec += ms / 1000;
    c->deadline.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (c->deadline.tv_nsec >= 1000000000L) {
        c->deadline.tv_sec++;
        c->deadline.tv_nsec -= 1000000000L;
    }
    int rc = lb_copy_md(c, opts);
    if (rc < 0) {
        c->refs = 0;
        lb_free(c);
        return rc;
    }
    if (c->call.method == NULL)
        lb_set_status(c, -MEDSTORE_EUNSUPPORTED, NULL, "unknown method");
    *out = &c->stream;
    return 0;
}

/* Unary over the stream operations: the loopback has no faster path. */
static int lb_unary(struct ms_rpc_client *cl, const char *method,
                    const struct ms_rpc_call_opts *opts, const struct ms_rpc_seg *segs,
                    size_t nsegs, uint8_t **resp, size_t *resp_len, struct ms_rpc_status *st)
{
    struct ms_rpc_stream *s;
    int rc = lb_open(cl, method, opts, &s);
    if (rc < 0) {
        ms_rpc_segs_release(segs, nsegs);
        return rc;
    }
    (void)lb_send(s, segs, nsegs); /* failures show in the status */
    (void)lb_close_send(s);
    struct ms_rpc_msg m;
    uint8_t *buf = NULL;
    size_t len = 0;
    int got = lb_recv(s, &m);
    if (got > 0 && m.len > 0) {
        buf = malloc(m.len);
        if (buf == NULL || ms_rpc_msg_copy(&m, 0, buf, m.len) < 0)
            got = -ENOMEM;
        len = m.len;
    }
    rc = lb_finish(s, st);
    if (rc == 0 && got <= 0)
        rc = got < 0 ? got : -MEDSTORE_EFORMAT; /* OK without the response message */
    if (st != NULL && rc != st->code)
        st->code = rc;
    lb_stream_destroy(s);
    if (rc < 0) {
        free(buf);
        return rc;
    }
    *resp = buf;
    *resp_len = len;
    return 0;
}

static void lb_destroy(struct ms_rpc_client *cl)
{
    struct lb_client *lb = (struct lb_client *)cl;
    free(lb->methods);
    free(lb);
}

static const struct ms_rpc_client_ops lb_client_ops = {
    .open = lb_open,
    .send = lb_send,
    .close_send = lb_close_send,
    .recv = lb_recv,
    .finish = lb_finish,
    .stream_destroy = lb_stream_destroy,
    .unary = lb_unary,
    .destroy = lb_destroy,
};

int ms_rpc_loopback_create(const struct ms_rpc_method *methods, size_t nmethods,
                           const char *principal, struct ms_rpc_client **out)
{
    MS_ASSERT(out != NULL);
    if (methods == NULL || nmethods == 0 || principal == NULL || principal[0] == '\0' ||
        strlen(principal) > MS_RPC_PRINCIPAL_MAX)
        return -EINVAL;
    struct lb_client *lb = calloc(1, sizeof(*lb));
    if (lb == NULL)
        return -ENOMEM;
    lb->methods = calloc(nmethods, sizeof(*lb->methods));
    if (lb->methods == NULL) {
        free(lb);
        return -ENOMEM;
    }
    memcpy(lb->methods, methods, nmethods * sizeof(*methods));
    lb->nmethods = nmethods;
    lb->base.ops = &lb_client_ops;
    lb->default_deadline_ms = MS_RPC_DEFAULT_DEADLINE_MS;
    snprintf(lb->principal, sizeof(lb->principal), "%s", principal);
    MS_ASSERT(lb->nmethods > 0);
    *out = &lb->base;
    return 0;
}
