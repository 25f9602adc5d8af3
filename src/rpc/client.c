/*
 * client.c - the gRPC implementation of struct ms_rpc_client, and the ms_rpc_stream_* /
 * ms_rpc_unary entry points every client implementation shares.
 *
 * A client owns `connections` channels to one target, each with GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL
 * so each is its own TCP connection (GRPC-NOTES: a second connection beats more calls on one);
 * calls go round robin over them. Methods are registered per channel on first use
 * (grpc_channel_register_call), so the path is not re-parsed per call.
 *
 * A call (stream) owns a pluck completion queue, so the thread that drives it waits only for
 * its own events. At open, one batch {SEND_INITIAL_METADATA, RECV_STATUS_ON_CLIENT} is started;
 * its tag completes when the call ends, and finish plucks it. Sends are one batch each with at
 * most one in flight (the next send plucks the previous one first), so a thread can keep
 * several streams busy. Receives pluck at once. Tags are addresses of fields of the stream.
 * Unary calls take the fast path: one batch with all six operations and one pluck.
 *
 * Status mapping (docs/rpc.md): a known `medstore-reason` gives the exact code, else the gRPC
 * status does (ms_rpc_code_of_grpc_status). UNAVAILABLE is logged here with gRPC's text, which
 * names TLS handshake failures (wrong CA, missing certificate): they never reach server code.
 */
#include "rpc/rpc.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <grpc/support/alloc.h>
#include <grpc/support/time.h>

#include "common/log.h"
#include "common/ms_assert.h"
#include "rpc/rpc_int.h"

#define MAX_CHANNELS 16
#define MAX_METHODS 64
#define TARGET_MAX 256

struct rpc_cmethod {
    char *path;
    void *handles[MAX_CHANNELS];
};

struct rpc_client {
    struct ms_rpc_client base;
    grpc_channel *ch[MAX_CHANNELS];
    unsigned nch;
    atomic_uint rr;
    unsigned default_deadline_ms;
    char target[TARGET_MAX];
    pthread_mutex_t mu; /* guards methods */
    struct rpc_cmethod methods[MAX_METHODS];
    size_t nmethods;
};

struct rpc_cstream {
    struct ms_rpc_stream base;
    struct rpc_client *cl;
    const char *method; /* the client's copy of the path */
    grpc_call *gcall;
    grpc_completion_queue *cq;
    grpc_metadata md[MS_RPC_MAX_MD];
    size_t nmd;
    grpc_byte_buffer *send_bb;
    grpc_byte_buffer *recv_bb;
    struct rpc_inmsg in;
    grpc_metadata_array init_md;
    grpc_metadata_array trail_md;
    grpc_status_code status;
    grpc_slice details;
    bool send_pending;
    bool recv_md_started;
    bool closed;     /* half-closed (or tried) */
    bool broken;     /* an operation failed: the status says why */
    bool at_end;     /* recv saw the end of the server's messages */
    bool status_in;  /* tag_status plucked */
    struct ms_rpc_status st;
    char tag_send, tag_recv, tag_status, tag_close; /* addresses are the tags */
};

static const struct ms_rpc_client_ops grpc_client_ops;

/* ---- status -------------------------------------------------------------------------------- */

/* Fills st from a received status, its details and trailing metadata; logs transport failures. */
static void status_fill(struct ms_rpc_status *st, grpc_status_code status, grpc_slice details,
                        const grpc_metadata_array *trail, const char *target, const char *method)
{
    MS_ASSERT(st != NULL && trail != NULL);
    memset(st, 0, sizeof(*st));
    st->grpc_status = (int)status;
    rpc_slice_to_text(details, st->message, sizeof(st->message));
    for (size_t i = 0; i < trail->count; i++) {
        if (grpc_slice_str_cmp(trail->metadata[i].key, MS_RPC_MD_REASON) == 0)
            rpc_slice_to_text(trail->metadata[i].value, st->reason, sizeof(st->reason));
    }
    if (status == GRPC_STATUS_OK) {
        st->code = 0;
        return;
    }
    int code = st->reason[0] ? ms_rpc_code_of_reason(st->reason) : 0;
    st->code = code < 0 ? code : ms_rpc_code_of_grpc_status((int)status);
    MS_ASSERT(st->code < 0);
    if (status == GRPC_STATUS_UNAVAILABLE && st->reason[0] == '\0') {
        /* Log gRPC's whole text: it names the TLS failure. A server refusing our certificate
         * shows only as "Socket closed" here (TLS 1.3 checks it after our side finished). */
        char detail[512];
        rpc_slice_to_text(details, detail, sizeof(detail));
        bool tls = strstr(detail, "andshake") != NULL || strstr(detail, "SSL") != NULL;
        ms_log(MS_LOG_WARN, "rpc", "event=%s target=%s method=%s detail=\"%s\"",
               tls ? "tls_handshake_failed" : "peer_unavailable", target, method, detail);
    }
}

/* ---- channels and methods ------------------------------------------------------------------ */

/* The registered-call handle of path on channel i (registering it on first use). */
static void *client_method(struct rpc_client *cl, const char *path, unsigned i,
                           const char **stable_path)
{
    MS_ASSERT(i < cl->nch);
    pthread_mutex_lock(&cl->mu);
    struct rpc_cmethod *m = NULL;
    for (size_t k = 0; k < cl->nmethods && m == NULL; k++)
        if (strcmp(cl->methods[k].path, path) == 0)
            m = &cl->methods[k];
    if (m == NULL && cl->nmethods < MAX_METHODS) {
        char *copy = strdup(path);
        if (copy != NULL) {
            m = &cl->methods[cl->nmethods++];
            m->path = copy;
            for (unsigned c = 0; c < cl->nch; c++)
                m->handles[c] = grpc_channel_register_call(cl->ch[c], copy, NULL, NULL);
        }
    }
    void *h = m ? m->handles[i] : NULL;
    *stable_path = m ? m->path : NULL;
    pthread_mutex_unlock(&cl->mu);
    return h;
}

/* Creates the grpc_call of a new stream on the next channel. */
static int cstream_call(struct rpc_cstream *cs, const char *method, unsigned deadline_ms)
{
    struct rpc_client *cl = cs->cl;
    unsigned i = atomic_fetch_add(&cl->rr, 1) % cl->nch;
    void *h = client_method(cl, method, i, &cs->method);
    if (h == NULL)
        return -ENOMEM;
    cs->cq = grpc_completion_queue_create_for_pluck(NULL);
    if (cs->cq == NULL)
        return -ENOMEM;
    cs->gcall = grpc_channel_create_registered_call(cl->ch[i], NULL, GRPC_PROPAGATE_DEFAULTS,
                                                    cs->cq, h, rpc_deadline_in(deadline_ms), NULL);
    return cs->gcall != NULL ? 0 : -ENOMEM;
}

/* Copies the caller's metadata into slices the stream owns. */
static int cstream_md(struct rpc_cstream *cs, const struct ms_rpc_call_opts *opts)
{
    if (opts == NULL || opts->nmd == 0)
        return 0;
    if (opts->nmd > MS_RPC_MAX_MD || opts->md == NULL)
        return -EINVAL;
    for (size_t i = 0; i < opts->nmd; i++) {
        const struct ms_rpc_md *m = &opts->md[i];
        if (m->key == NULL || (m->value == NULL && m->len > 0))
            return -EINVAL;
        grpc_slice k = grpc_slice_from_copied_string(m->key);
        grpc_slice v = grpc_slice_from_copied_buffer(m->value, m->len);
        bool ok = grpc_header_key_is_legal(k) &&
                  (grpc_is_binary_header(k) || grpc_header_nonbin_value_is_legal(v));
        cs->md[cs->nmd].key = k;
        cs->md[cs->nmd].value = v;
        cs->nmd++;
        if (!ok)
            return -EINVAL;
    }
    return 0;
}

static void cstream_free(struct rpc_cstream *cs)
{
    MS_ASSERT(cs != NULL);
    MS_ASSERT(!cs->send_pending);
    if (cs->gcall != NULL)
        grpc_call_unref(cs->gcall);
    if (cs->cq != NULL) {
        grpc_completion_queue_shutdown(cs->cq);
        grpc_event ev = grpc_completion_queue_pluck(cs->cq, NULL,
                                                    gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
        MS_ASSERT(ev.type == GRPC_QUEUE_SHUTDOWN);
        grpc_completion_queue_destroy(cs->cq);
    }
    for (size_t i = 0; i < cs->nmd; i++) {
        grpc_slice_unref(cs->md[i].key);
        grpc_slice_unref(cs->md[i].value);
    }
    if (cs->send_bb != NULL)
        grpc_byte_buffer_destroy(cs->send_bb);
    if (cs->recv_bb != NULL)
        grpc_byte_buffer_destroy(cs->recv_bb);
    rpc_inmsg_fini(&cs->in);
    grpc_metadata_array_destroy(&cs->init_md);
    grpc_metadata_array_destroy(&cs->trail_md);
    grpc_slice_unref(cs->details);
    free(cs);
}

/* Waits for tag; returns the batch's success. */
static bool cstream_pluck(struct rpc_cstream *cs, void *tag)
{
    grpc_event ev = grpc_completion_queue_pluck(cs->cq, tag, gpr_inf_future(GPR_CLOCK_REALTIME),
                                                NULL);
    MS_ASSERT(ev.type == GRPC_OP_COMPLETE && ev.tag == tag);
    return ev.success != 0;
}

static void cstream_start(struct rpc_cstream *cs, const grpc_op *ops, size_t n, void *tag)
{
    grpc_call_error e = grpc_call_start_batch(cs->gcall, ops, n, tag, NULL);
    MS_ASSERT(e == GRPC_CALL_OK); /* only our own misuse makes start_batch fail */
}

/* ---- stream operations --------------------------------------------------------------------- */

static int g_open(struct ms_rpc_client *c, const char *method, const struct ms_rpc_call_opts *opts,
                  struct ms_rpc_stream **out)
{
    struct rpc_client *cl = (struct rpc_client *)c;
    struct rpc_cstream *cs = calloc(1, sizeof(*cs));
    if (cs == NULL)
        return -ENOMEM;
    cs->base.ops = &grpc_client_ops;
    cs->cl = cl;
    cs->details = grpc_empty_slice();
    grpc_metadata_array_init(&cs->init_md);
    grpc_metadata_array_init(&cs->trail_md);
    unsigned deadline = opts && opts->deadline_ms ? opts->deadline_ms : cl->default_deadline_ms;
    int rc = cstream_md(cs, opts);
    if (rc == 0)
        rc = cstream_call(cs, method, deadline);
    if (rc < 0) {
        cstream_free(cs);
        return rc;
    }
    grpc_op ops[2];
    memset(ops, 0, sizeof(ops));
    ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
    ops[0].data.send_initial_metadata.count = cs->nmd;
    ops[0].data.send_initial_metadata.metadata = cs->nmd ? cs->md : NULL;
    ops[1].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
    ops[1].data.recv_status_on_client.trailing_metadata = &cs->trail_md;
    ops[1].data.recv_status_on_client.status = &cs->status;
    ops[1].data.recv_status_on_client.status_details = &cs->details;
    cstream_start(cs, ops, 2, &cs->tag_status);
    *out = &cs->base;
    return 0;
}

/* Waits for the send in flight, if any. Returns false when it failed. */
static bool cstream_send_wait(struct rpc_cstream *cs)
{
    if (!cs->send_pending)
        return !cs->broken;
    cs->send_pending = false;
    bool ok = cstream_pluck(cs, &cs->tag_send);
    grpc_byte_buffer_destroy(cs->send_bb);
    cs->send_bb = NULL;
    if (!ok)
        cs->broken = true;
    return ok;
}

static int g_send(struct ms_rpc_stream *s, const struct ms_rpc_seg *segs, size_t nsegs)
{
    struct rpc_cstream *cs = (struct rpc_cstream *)s;
    if (!cstream_send_wait(cs) || cs->closed) {
        ms_rpc_segs_release(segs, nsegs);
        return -EPIPE;
    }
    MS_ASSERT(cs->send_bb == NULL);
    cs->send_bb = rpc_bb_from_segs(segs, nsegs);
    grpc_op op;
    memset(&op, 0, sizeof(op));
    op.op = GRPC_OP_SEND_MESSAGE;
    op.data.send_message.send_message = cs->send_bb;
    cs->send_pending = true;
    cstream_start(cs, &op, 1, &cs->tag_send);
    return 0;
}

static int g_close_send(struct ms_rpc_stream *s)
{
    struct rpc_cstream *cs = (struct rpc_cstream *)s;
    bool ok = cstream_send_wait(cs);
    if (cs->closed)
        return ok ? 0 : -EPIPE;
    cs->closed = true;
    if (!ok)
        return -EPIPE;
    grpc_op op;
    memset(&op, 0, sizeof(op));
    op.op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
    cstream_start(cs, &op, 1, &cs->tag_close);
    if (!cstream_pluck(cs, &cs->tag_close)) {
        cs->broken = true;
        return -EPIPE;
    }
    return 0;
}

static int g_recv(struct ms_rpc_stream *s, struct ms_rpc_msg *msg)
{
    struct rpc_cstream *cs = (struct rpc_cstream *)s;
    rpc_inmsg_release(&cs->in);
    if (cs->at_end)
        return 0;
    grpc_op ops[2];
    size_t n = 0;
    memset(ops, 0, sizeof(ops));
    if (!cs->recv_md_started) {
        ops[n].op = GRPC_OP_RECV_INITIAL_METADATA;
        ops[n++].data.recv_initial_metadata.recv_initial_metadata = &cs->init_md;
        cs->recv_md_started = true;
    }
    ops[n].op = GRPC_OP_RECV_MESSAGE;
    ops[n++].data.recv_message.recv_message = &cs->recv_bb;
    cstream_start(cs, ops, n, &cs->tag_recv);
    bool ok = cstream_pluck(cs, &cs->tag_recv);
    grpc_byte_buffer *bb = cs->recv_bb;
    cs->recv_bb = NULL;
    if (!ok || bb == NULL) {
        if (bb != NULL)
            grpc_byte_buffer_destroy(bb);
        cs->at_end = true;
        cs->broken = cs->broken || !ok;
        return ok ? 0 : -EPIPE;
    }
    int rc = rpc_inmsg_load(&cs->in, bb);
    if (rc < 0)
        return rc;
    *msg = cs->in.msg;
    return 1;
}

static int g_finish(struct ms_rpc_stream *s, struct ms_rpc_status *st)
{
    struct rpc_cstream *cs = (struct rpc_cstream *)s;
    if (!cs->status_in) {
        if (!cs->closed)
            (void)g_close_send(s);
        cstream_send_wait(cs);
        /* Unread server messages would hold the status back: drain them. */
        struct ms_rpc_msg m;
        while (!cs->at_end && g_recv(s, &m) > 0) {
        }
        rpc_inmsg_release(&cs->in);
        bool ok = cstream_pluck(cs, &cs->tag_status);
        MS_ASSERT(ok); /* RECV_STATUS_ON_CLIENT always completes with a status */
        cs->status_in = true;
        status_fill(&cs->st, cs->status, cs->details, &cs->trail_md, cs->cl->target, cs->method);
    }
    if (st != NULL)
        *st = cs->st;
    return cs->st.code;
}

static void g_stream_destroy(struct ms_rpc_stream *s)
{
    struct rpc_cstream *cs = (struct rpc_cstream *)s;
    if (!cs->status_in) {
        grpc_call_cancel(cs->gcall, NULL);
        cstream_send_wait(cs);
        (void)cstream_pluck(cs, &cs->tag_status);
        cs->status_in = true;
    }
    cstream_free(cs);
}

/* ---- unary fast path ------------------------------------------------------------------------ */

/* Copies a received message into a malloc'd buffer (NULL for an empty one). */
static int msg_flatten(grpc_byte_buffer *bb, uint8_t **resp, size_t *resp_len)
{
    struct rpc_inmsg in;
    memset(&in, 0, sizeof(in));
    int rc = rpc_inmsg_load(&in, bb);
    if (rc < 0)
        return rc;
    uint8_t *buf = NULL;
    if (in.msg.len > 0) {
        buf = malloc(in.msg.len);
        if (buf == NULL) {
            rpc_inmsg_fini(&in);
            return -ENOMEM;
        }
        rc = ms_rpc_msg_copy(&in.msg, 0, buf, in.msg.len);
        MS_ASSERT(rc == 0);
    }
    *resp = buf;
    *resp_len = in.msg.len;
    rpc_inmsg_fini(&in);
    return 0;
}

static int g_unary(struct ms_rpc_client *c, const char *method, const struct ms_rpc_call_opts *opts,
                   const struct ms_rpc_seg *segs, size_t nsegs, uint8_t **resp, size_t *resp_len,
                   struct ms_rpc_status *st)
{
    struct rpc_client *cl = (struct rpc_client *)c;
    struct rpc_cstream *cs = calloc(1, sizeof(*cs));
    if (cs == NULL) {
        ms_rpc_segs_release(segs, nsegs);
        return -ENOMEM;
    }
    cs->base.ops = &grpc_client_ops;
    cs->cl = cl;
    cs->details = grpc_empty_slice();
    grpc_metadata_array_init(&cs->init_md);
    grpc_metadata_array_init(&cs->trail_md);
    unsigned deadline = opts && opts->deadline_ms ? opts->deadline_ms : cl->default_deadline_ms;
    int rc = cstream_md(cs, opts);
    if (rc == 0)
        rc = cstream_call(cs, method, deadline);
    if (rc < 0) {
        ms_rpc_segs_release(segs, nsegs);
        cstream_free(cs);
        return rc;
    }
    cs->send_bb = rpc_bb_from_segs(segs, nsegs);
    grpc_op ops[6];
    memset(ops, 0, sizeof(ops));
    ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
    ops[0].data.send_initial_metadata.count = cs->nmd;
    ops[0].data.send_initial_metadata.metadata = cs->nmd ? cs->md : NULL;
    ops[1].op = GRPC_OP_SEND_MESSAGE;
    ops[1].data.send_message.send_message = cs->send_bb;
    ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
    ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
    ops[3].data.recv_initial_metadata.recv_initial_metadata = &cs->init_md;
    ops[4].op = GRPC_OP_RECV_MESSAGE;
    ops[4].data.recv_message.recv_message = &cs->recv_bb;
    ops[5].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
    ops[5].data.recv_status_on_client.trailing_metadata = &cs->trail_md;
    ops[5].data.recv_status_on_client.status = &cs->status;
    ops[5].data.recv_status_on_client.status_details = &cs->details;
    cstream_start(cs, ops, 6, &cs->tag_status);
    (void)cstream_pluck(cs, &cs->tag_status); /* the status tells what failed */
    cs->status_in = true;
    status_fill(&cs->st, cs->status, cs->details, &cs->trail_md, cl->target, cs->method);
    rc = cs->st.code;
    if (rc == 0 && cs->recv_bb == NULL) {
        rc = -MEDSTORE_EFORMAT; /* OK without the response message: a broken server */
        cs->st.code = rc;
    }
    if (rc == 0) {
        grpc_byte_buffer *bb = cs->recv_bb;
        cs->recv_bb = NULL;
        rc = msg_flatten(bb, resp, resp_len);
    }
    if (st != NULL)
        *st = cs->st;
    cstream_free(cs);
    return rc;
}

/* ---- client lifecycle ---------------------------------------------------------------------- */

static void g_client_destroy(struct ms_rpc_client *c)
{
    struct rpc_client *cl = (struct rpc_client *)c;
    for (unsigned i = 0; i < cl->nch; i++)
        grpc_channel_destroy(cl->ch[i]);
    for (size_t i = 0; i < cl->nmethods; i++)
        free(cl->methods[i].path);
    pthread_mutex_destroy(&cl->mu);
    free(cl);
}

static const struct ms_rpc_client_ops grpc_client_ops = {
    .open = g_open,
    .send = g_send,
    .close_send = g_close_send,
    .recv = g_recv,
    .finish = g_finish,
    .stream_destroy = g_stream_destroy,
    .unary = g_unary,
    .destroy = g_client_destroy,
};

static int client_creds(const struct ms_rpc_client_config *cfg, grpc_channel_credentials **out)
{
    if (!cfg->insecure_for_tests)
        return rpc_tls_channel_creds(&cfg->tls, out);
    if (!ms_rpc_addr_is_loopback(cfg->target)) {
        ms_log(MS_LOG_ERROR, "rpc",
               "event=insecure_refused target=%s why=insecure_mode_only_on_loopback", cfg->target);
        return -EINVAL;
    }
    *out = grpc_insecure_credentials_create();
    return 0;
}

int ms_rpc_client_create(const struct ms_rpc_client_config *cfg, struct ms_rpc_client **out)
{
    MS_ASSERT(out != NULL);
    if (cfg == NULL || cfg->target == NULL || strlen(cfg->target) >= TARGET_MAX ||
        cfg->connections > MAX_CHANNELS || cfg->max_message_bytes > MS_RPC_MSG_MAX)
        return -EINVAL;
    grpc_channel_credentials *creds;
    int rc = client_creds(cfg, &creds);
    if (rc < 0)
        return rc;
    struct rpc_client *cl = calloc(1, sizeof(*cl));
    if (cl == NULL) {
        grpc_channel_credentials_release(creds);
        return -ENOMEM;
    }
    cl->base.ops = &grpc_client_ops;
    cl->nch = cfg->connections ? cfg->connections : 1;
    cl->default_deadline_ms = cfg->default_deadline_ms ? cfg->default_deadline_ms
                                                       : MS_RPC_DEFAULT_DEADLINE_MS;
    snprintf(cl->target, sizeof(cl->target), "%s", cfg->target);
    pthread_mutex_init(&cl->mu, NULL);
    struct rpc_args a;
    rpc_args_init(&a, cfg->max_message_bytes ? cfg->max_message_bytes : MS_RPC_MAX_MESSAGE_BYTES,
                  cfg->data_tuning, true, cfg->target_name_override);
    for (unsigned i = 0; i < cl->nch; i++) {
        cl->ch[i] = grpc_channel_create(cfg->target, creds, &a.args);
        MS_ASSERT(cl->ch[i] != NULL); /* gRPC returns a lame channel rather than NULL */
    }
    grpc_channel_credentials_release(creds);
    MS_ASSERT(cl->nch >= 1 && cl->nch <= MAX_CHANNELS);
    *out = &cl->base;
    return 0;
}

/* ---- the entry points (any client implementation) ------------------------------------------ */

void ms_rpc_client_destroy(struct ms_rpc_client *c)
{
    if (c == NULL)
        return;
    MS_ASSERT(c->ops != NULL && c->ops->destroy != NULL);
    c->ops->destroy(c);
}

int ms_rpc_stream_open(struct ms_rpc_client *c, const char *method,
                       const struct ms_rpc_call_opts *opts, struct ms_rpc_stream **out)
{
    MS_ASSERT(c != NULL && c->ops != NULL && out != NULL);
    if (method == NULL || method[0] != '/')
        return -EINVAL;
    int rc = c->ops->open(c, method, opts, out);
    MS_ASSERT(rc < 0 || (*out != NULL && (*out)->ops == c->ops));
    return rc;
}

int ms_rpc_stream_send(struct ms_rpc_stream *s, const struct ms_rpc_seg *segs, size_t nsegs)
{
    MS_ASSERT(s != NULL && s->ops != NULL);
    if (nsegs > MS_RPC_MAX_SEGS || (segs == NULL && nsegs > 0)) {
        ms_rpc_segs_release(segs, nsegs);
        return -EINVAL;
    }
    return s->ops->send(s, segs, nsegs);
}

int ms_rpc_stream_close_send(struct ms_rpc_stream *s)
{
    MS_ASSERT(s != NULL && s->ops != NULL);
    return s->ops->close_send(s);
}

int ms_rpc_stream_recv(struct ms_rpc_stream *s, struct ms_rpc_msg *msg)
{
    MS_ASSERT(s != NULL && s->ops != NULL);
    MS_ASSERT(msg != NULL);
    return s->ops->recv(s, msg);
}

int ms_rpc_stream_finish(struct ms_rpc_stream *s, struct ms_rpc_status *st)
{
    MS_ASSERT(s != NULL && s->ops != NULL);
    int rc = s->ops->finish(s, st);
    MS_ASSERT(rc <= 0);
    return rc;
}

void ms_rpc_stream_destroy(struct ms_rpc_stream *s)
{
    if (s == NULL)
        return;
    MS_ASSERT(s->ops != NULL);
    s->ops->stream_destroy(s);
}

int ms_rpc_unary(struct ms_rpc_client *c, const char *method, const struct ms_rpc_call_opts *opts,
                 const struct ms_rpc_seg *segs, size_t nsegs, uint8_t **resp, size_t *resp_len,
                 struct ms_rpc_status *st)
{
    MS_ASSERT(c != NULL && c->ops != NULL);
    MS_ASSERT(resp != NULL && resp_len != NULL);
    if (method == NULL || method[0] != '/' || nsegs > MS_RPC_MAX_SEGS ||
        (segs == NULL && nsegs > 0)) {
        ms_rpc_segs_release(segs, nsegs);
        return -EINVAL;
    }
    int rc = c->ops->unary(c, method, opts, segs, nsegs, resp, resp_len, st);
    MS_ASSERT(rc <= 0);
    return rc;
}
