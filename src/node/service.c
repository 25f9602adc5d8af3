/*
 * service.c - the storage node's RPC handlers: who may do what, then the fragment store, on a
 * pool of worker threads.
 *
 * Requests arrive validated (src/rpc/node_rpc.c). Authorisation happens first, on the
 * completion-queue thread, before any store work: data RPCs check the capability token
 * (captoken.h: signature, key id, expiry with skew, audience = this node, object, fragment,
 * action), service RPCs check the peer principal against the configured list. Refusals are
 * PERMISSION_DENIED with the token's reason (`token-expired`, ...) or `principal`, and are
 * logged with the principal and reason, never the token bytes.
 *
 * Everything that writes or reads fragment files runs on a worker or a committer: the
 * completion-queue thread queues a job and keeps (MS_RPC_HOLD) or holds the call's turn; the
 * worker does the store call, then answers, resumes or finishes the call as its LAST touch of
 * the call. Per call there is at most one job queued or running, because a call has one turn.
 * Work without I/O stays on the completion-queue thread (each hop to another thread costs a
 * wake-up and a context switch, a large share of a 16 KiB put's CPU): opening a put session
 * (header check, busy set, a catalogue lookup RocksDB answers from memory) and checking and
 * staging the bytes that fit the staging buffer.
 *
 * Lifetime of struct svc_call (the core state of one call): created by the first op of the
 * call, freed by whichever comes last of call_done (the call is over; the rpc layer frees the
 * call after it) and the end of the running job. Only GetFragment can see call_done while its
 * job runs (a send failed while the worker waited for on_writable): the worker then wakes,
 * sees `done`, and never touches the call again.
 *
 * PutFragment: header -> token check and session opened here -> data*: each message checked
 * and staged here as far as the stage holds it (zero-copy views of the received slices), the
 * rest by a worker job that writes the full stage first -> half-close -> the commit: queued
 * here for a fragment still whole in the stage (its round creates, writes and syncs the file),
 * else by a worker job that writes the staged tail first; either way the store's committer
 * calls put_done once the round is durable, which answers (ms_fragstore_put_commit_async).
 * Any failure or a client that goes away aborts the session: the store wipes the fragment's
 * file, if it has one yet, and nothing becomes visible.
 */
#include "node/service.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec/frag_format.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/ms_assert.h"
#include "node/fragstore.h"
#include "node/scrub.h"
#include "rpc/captoken.h"

#ifndef MEDSTORE_VERSION
#define MEDSTORE_VERSION "0.1.0"
#endif

/* GetFragment messages carry this many bytes (GRPC-NOTES: 1-4 MiB messages). */
#define GET_CHUNK_BYTES (1024u * 1024u)
#define PRINCIPALS_MAX 64u

enum svc_job {
    JOB_NONE = 0,
    JOB_PUT_DATA,
    JOB_PUT_COMMIT,
    JOB_GET,
    JOB_DELETE,
    JOB_STAT,
    JOB_LIST,
    JOB_VERIFY,
    JOB_SCRUB,
    JOB_INFO,
};

struct svc_call {
    struct svc_call *next; /* job queue link */
    struct ms_node_service *svc;
    struct ms_rpc_call *call;
    enum svc_job job;
    unsigned jobs; /* queued or running (svc->mu) */
    bool done;     /* call_done ran: the call pointer is dead (svc->mu) */
    /* PutFragment */
    struct ms_node_put_hdr hdr;
    struct ms_fragstore_put *put;
    const struct ms_rpc_msg *data; /* a message whose rest a worker appends */
    size_t data_skip;               /* its bytes already staged */
    /* GetFragment */
    struct ms_node_get_req get;
    bool writable;        /* no send in flight (svc->mu) */
    pthread_cond_t cond;  /* signals writable / done */
    uint8_t *chunk;       /* the message being filled */
    size_t chunk_fill;
    uint64_t chunk_off;   /* fragment offset of chunk[0] */
    uint64_t frag_len;
    /* unary requests */
    struct ms_node_ref ref;
    struct ms_node_page_req page;
};

struct ms_node_service {
    struct ms_fragstore *store;
    const struct ms_captoken_keyring *ring;
    struct ms_clock *clock;
    uint32_t node_id;
    char rack[MS_NODE_RACK_MAX + 1];
    char **principals;
    size_t n_principals;
    uint64_t skew_ms;
    struct ms_node_rpc_binding binding;

    pthread_mutex_t mu;
    pthread_cond_t work; /* a job was queued, or stopping */
    struct svc_call *head, *tail;
    bool stopping;
    pthread_t *threads;
    unsigned n_threads;

    _Atomic uint64_t live_calls;
    _Atomic uint64_t c_puts, c_put_fail, c_gets, c_dels, c_denied, c_in, c_out;
};

/* ---- call state and the job queue ----------------------------------------------------- */

static struct svc_call *call_new(struct ms_node_service *svc, struct ms_rpc_call *call,
                                 void **state)
{
    MS_ASSERT(svc != NULL && state != NULL);
    struct svc_call *sc = *state;
    if (sc != NULL)
        return sc;
    sc = calloc(1, sizeof(*sc));
    if (sc == NULL)
        return NULL;
    sc->svc = svc;
    sc->call = call;
    sc->writable = true;
    pthread_cond_init(&sc->cond, NULL);
    atomic_fetch_add(&svc->live_calls, 1);
    *state = sc;
    return sc;
}

static void call_free(struct svc_call *sc)
{
    MS_ASSERT(sc != NULL && sc->jobs == 0);
    if (sc->put != NULL) {
        ms_fragstore_put_abort(&sc->put);
        atomic_fetch_add(&sc->svc->c_put_fail, 1);
    }
    MS_ASSERT(sc->put == NULL);
    free(sc->chunk);
    pthread_cond_destroy(&sc->cond);
    atomic_fetch_sub(&sc->svc->live_calls, 1);
    free(sc);
}

/* Queues job for sc; the caller holds the call's turn, so no other job of sc is queued. */
static void enqueue(struct svc_call *sc, enum svc_job job)
{
    struct ms_node_service *svc = sc->svc;
    pthread_mutex_lock(&svc->mu);
    MS_ASSERT(!sc->done);
    sc->job = job;
    sc->jobs++;
    sc->next = NULL;
    if (svc->tail != NULL)
        svc->tail->next = sc;
    else
        svc->head = sc;
    svc->tail = sc;
    pthread_cond_signal(&svc->work);
    pthread_mutex_unlock(&svc->mu);
}

static void run_job(struct svc_call *sc, enum svc_job job);

/* Counts a job that runs outside the queue (an asynchronous commit) until job_end. */
static void job_begin(struct svc_call *sc)
{
    struct ms_node_service *svc = sc->svc;
    pthread_mutex_lock(&svc->mu);
    MS_ASSERT(!sc->done);
    sc->jobs++;
    pthread_mutex_unlock(&svc->mu);
}

/* The end of a job: frees sc when the call ended meanwhile and this was its last job. */
static void job_end(struct svc_call *sc)
{
    struct ms_node_service *svc = sc->svc;
    pthread_mutex_lock(&svc->mu);
    MS_ASSERT(sc->jobs > 0);
    sc->jobs--;
    bool free_now = sc->done && sc->jobs == 0;
    pthread_mutex_unlock(&svc->mu);
    if (free_now)
        call_free(sc);
}

static void *worker_main(void *arg)
{
    struct ms_node_service *svc = arg;
    MS_ASSERT(svc != NULL);
    pthread_mutex_lock(&svc->mu);
    for (;;) {
        while (svc->head == NULL && !svc->stopping)
            pthread_cond_wait(&svc->work, &svc->mu);
        if (svc->head == NULL)
            break; /* stopping and nothing left */
        struct svc_call *sc = svc->head;
        svc->head = sc->next;
        if (svc->head == NULL)
            svc->tail = NULL;
        enum svc_job job = sc->job;
        pthread_mutex_unlock(&svc->mu);
        run_job(sc, job);
        job_end(sc);
        pthread_mutex_lock(&svc->mu);
    }
    pthread_mutex_unlock(&svc->mu);
    return NULL;
}

/* ---- authorisation -------------------------------------------------------------------- */

static int deny(struct ms_node_service *svc, struct ms_rpc_call *call, const char *reason,
                const char *message)
{
    MS_ASSERT(reason != NULL && message != NULL);
    atomic_fetch_add(&svc->c_denied, 1);
    ms_log(MS_LOG_WARN, "node", "event=denied method=%s principal=%s reason=%s",
           ms_rpc_call_method(call), ms_rpc_call_principal(call), reason);
    int code = strcmp(reason, "principal") == 0 ? -MEDSTORE_EDENIED : -MEDSTORE_ETOKEN;
    int rc = ms_rpc_call_finish(call, code, reason, message);
    (void)rc; /* -ECANCELED: the client already left */
    return code;
}

/* Checks the call's capability token for actions on ref. 0, or the call is refused. */
static int check_token(struct ms_node_service *svc, struct ms_rpc_call *call,
                       const struct ms_node_ref *ref, unsigned actions)
{
    const uint8_t *tok = NULL;
    size_t len = 0;
    enum ms_captoken_reason why = MS_CAPTOKEN_R_MISSING;
    MS_ASSERT(svc->ring != NULL && actions != 0);
    MS_ASSERT(ref->frag_index < MS_NODE_FRAG_INDEX_MAX);
    int rc = ms_rpc_call_metadata(call, MS_RPC_MD_CAPTOKEN, &tok, &len);
    if (rc == -MEDSTORE_ENOTFOUND || (rc == 0 && len == 0))
        return deny(svc, call, ms_captoken_reason_str(MS_CAPTOKEN_R_MISSING),
                    "capability token missing");
    if (rc < 0)
        return deny(svc, call, ms_captoken_reason_str(MS_CAPTOKEN_R_FORMAT),
                    "capability token given more than once");
    struct ms_captoken_expect want = {
        .actions = actions, .node_id = svc->node_id, .oid = ref->oid,
        .frag_index = ref->frag_index,
    };
    uint64_t now = ms_clock_now_unix_ms(svc->clock);
    rc = ms_captoken_check(svc->ring, tok, len, &want, now, svc->skew_ms, &why, NULL);
    if (rc < 0)
        return deny(svc, call, ms_captoken_reason_str(why), "capability token refused");
    return 0;
}

/* Service RPCs: only the configured service principals. */
static int check_principal(struct ms_node_service *svc, struct ms_rpc_call *call)
{
    const char *p = ms_rpc_call_principal(call);
    MS_ASSERT(p != NULL);
    for (size_t i = 0; i < svc->n_principals; i++)
        if (strcmp(p, svc->principals[i]) == 0)
            return 0;
    return deny(svc, call, "principal", "principal is not a service principal of this node");
}

/* Finishes a call with a store error; the reason is the code's own. */
static void fail(struct ms_rpc_call *call, int code, const char *message)
{
    MS_ASSERT(code < 0);
    int rc = ms_rpc_call_finish(call, code, NULL, message);
    (void)rc; /* -ECANCELED: nobody to tell */
}

static struct ms_fragstore_key key_of(const struct ms_node_ref *ref)
{
    MS_ASSERT(ref->frag_index < MS_NODE_FRAG_INDEX_MAX);
    struct ms_fragstore_key k = {.oid = ref->oid, .frag_index = (uint8_t)ref->frag_index};
    return k;
}

/* ---- PutFragment ---------------------------------------------------------------------- */

static const char *put_message(int code)
{
    switch (code) {
    case -MEDSTORE_EEXIST:
        return "fragment already exists";
    case -EAGAIN:
        return "too many puts in progress, retry";
    case -EBUSY:
        return "fragment is being deleted";
    case -ENOSPC:
        return "disk full";
    case -MEDSTORE_ECORRUPT:
        return "shard record checksum mismatch";
    default:
        return NULL; /* the code's own text */
    }
}

/* Opens the store session for the validated header. Quick (header check, busy set, one
 * catalogue lookup that RocksDB answers from memory), so it runs on the completion-queue
 * thread. Returns 0 (read on) or the code the call was failed with. */
static int put_begin(struct svc_call *sc)
{
    struct ms_node_service *svc = sc->svc;
    MS_ASSERT(sc->put == NULL);
    int rc = ms_fragstore_put_begin(svc->store, &sc->hdr.ref.oid, (uint8_t)sc->hdr.ref.frag_index,
                                    sc->hdr.frag_header, sizeof(sc->hdr.frag_header), &sc->put);
    if (rc < 0) {
        MS_ASSERT(sc->put == NULL);
        atomic_fetch_add(&svc->c_put_fail, 1);
        ms_log(MS_LOG_INFO, "node", "event=put_refused frag=%u code=%s", sc->hdr.ref.frag_index,
               ms_err_name(rc));
        fail(sc->call, rc, put_message(rc));
        return rc;
    }
    MS_ASSERT(sc->put != NULL);
    return 0;
}

/* Appends one message's pieces (zero-copy views of the received slices) from byte skip on;
 * with stage_only, only what the staging buffer holds without a write (*taken tells how much;
 * completion-queue thread), else all of it (worker). Returns 0, or the code the call was
 * failed with (the session is aborted). */
static int put_data(struct svc_call *sc, const struct ms_rpc_msg *d, size_t skip,
                    bool stage_only, size_t *taken)
{
    int rc = 0;
    size_t done = skip;
    MS_ASSERT(sc->put != NULL && d != NULL);
    MS_ASSERT(d->len > 0 && skip < d->len);
    for (size_t i = 0, at = 0; i < d->niov && rc == 0; at += d->iov[i].len, i++) {
        const struct ms_rpc_iov *v = &d->iov[i];
        if (at + v->len <= done)
            continue; /* before skip */
        size_t from = done - at, n = v->len - from, got = n;
        if (stage_only)
            rc = ms_fragstore_put_stage(sc->put, v->ptr + from, n, &got);
        else
            rc = ms_fragstore_put_append(sc->put, v->ptr + from, n);
        done += got;
        if (got < n)
            break; /* the stage is full */
    }
    if (rc < 0) {
        ms_fragstore_put_abort(&sc->put);
        atomic_fetch_add(&sc->svc->c_put_fail, 1);
        fail(sc->call, rc, put_message(rc));
        return rc;
    }
    MS_ASSERT(done <= d->len && (stage_only || done == d->len));
    atomic_fetch_add(&sc->svc->c_in, done - skip);
    if (taken != NULL)
        *taken = done;
    return 0;
}

/* The rest of a message that did not fit the stage: on a worker, which writes the full stage,
 * stages the rest, then reads the next message. */
static void job_put_data(struct svc_call *sc)
{
    const struct ms_rpc_msg *d = sc->data;
    size_t skip = sc->data_skip;
    sc->data = NULL;
    if (put_data(sc, d, skip, false, NULL) < 0)
        return;
    int rrc = ms_rpc_call_resume(sc->call);
    (void)rrc; /* -ECANCELED: call_done aborts the session */
}

/* The commit's end, on a committer thread (or where the commit failed at once): the answer,
 * then the end of the job that kept sc alive. */
static void put_done(void *arg, int rc)
{
    struct svc_call *sc = arg;
    struct ms_node_service *svc = sc->svc;
    MS_ASSERT(sc->put == NULL); /* consumed by the store */
    if (rc < 0) {
        atomic_fetch_add(&svc->c_put_fail, 1);
        ms_log(MS_LOG_INFO, "node", "event=put_failed frag=%u code=%s", sc->hdr.ref.frag_index,
               ms_err_name(rc));
        fail(sc->call, rc, put_message(rc));
    } else {
        atomic_fetch_add(&svc->c_puts, 1);
        struct ms_node_put_result res = {
            .stored_bytes = sc->hdr.total_length,
            .committed_unix_ms = ms_clock_now_unix_ms(svc->clock),
        };
        int rrc = ms_node_rpc_reply_put(sc->call, &res);
        (void)rrc; /* the fragment is durable; a client that left can stat it */
    }
    job_end(sc);
}

/* A commit that writes a staged tail first: on a worker, which then leaves the wait to the
 * committer (put_done answers). */
static void job_put_commit(struct svc_call *sc)
{
    MS_ASSERT(sc->put != NULL);
    job_begin(sc);
    ms_fragstore_put_commit_async(&sc->put, put_done, sc);
}

static int op_put_begin(void *arg, struct ms_rpc_call *call, const struct ms_node_put_hdr *hdr,
                        void **state)
{
    struct ms_node_service *svc = arg;
    MS_ASSERT(svc != NULL && hdr != NULL);
    MS_ASSERT(*state == NULL);
    int rc = check_token(svc, call, &hdr->ref, MS_CAP_ALLOW(MS_CAP_PUT) |
                                                   MS_CAP_ALLOW(MS_CAP_REPAIR_PUT));
    if (rc < 0)
        return rc;
    struct svc_call *sc = call_new(svc, call, state);
    if (sc == NULL)
        return -ENOMEM;
    sc->hdr = *hdr;
    return put_begin(sc);
}

/* A message is checked and staged here, on the completion-queue thread, as far as the stage
 * holds it (checksum and copy while the decrypted bytes are in this core's cache; no I/O);
 * the rest, which needs the full stage written first, goes to a worker. */
static int op_put_data(void *arg, struct ms_rpc_call *call, void **state,
                       const struct ms_rpc_msg *data)
{
    struct svc_call *sc = *state;
    (void)arg;
    (void)call;
    MS_ASSERT(sc != NULL && sc->put != NULL);
    MS_ASSERT(data != NULL && sc->data == NULL);
    size_t taken = 0;
    int rc = put_data(sc, data, 0, true, &taken);
    if (rc < 0 || taken == data->len)
        return rc;
    sc->data = data;
    sc->data_skip = taken;
    enqueue(sc, JOB_PUT_DATA);
    return MS_RPC_HOLD;
}

/* A fragment still whole in the stage is queued for its commit round from here; one with a
 * staged tail to write goes through a worker. Either way the committer answers. */
static int op_put_end(void *arg, struct ms_rpc_call *call, void **state)
{
    struct svc_call *sc = *state;
    (void)arg;
    (void)call;
    MS_ASSERT(sc != NULL && sc->put != NULL);
    MS_ASSERT(sc->data == NULL);
    if (ms_fragstore_put_commit_is_quick(sc->put)) {
        job_begin(sc);
        ms_fragstore_put_commit_async(&sc->put, put_done, sc);
    } else {
        enqueue(sc, JOB_PUT_COMMIT);
    }
    return 0; /* put_done answers */
}

/* ---- GetFragment ---------------------------------------------------------------------- */

/* Sends the filled chunk once the previous send completed. -ECANCELED when the call is over. */
static int get_flush(struct svc_call *sc)
{
    struct ms_node_service *svc = sc->svc;
    MS_ASSERT(sc->chunk != NULL && sc->chunk_fill > 0);
    pthread_mutex_lock(&svc->mu);
    while (!sc->writable && !sc->done)
        pthread_cond_wait(&sc->cond, &svc->mu);
    bool dead = sc->done;
    sc->writable = false;
    pthread_mutex_unlock(&svc->mu);
    if (dead)
        return -ECANCELED;
    uint8_t *buf = sc->chunk;
    size_t n = sc->chunk_fill;
    sc->chunk = NULL;
    sc->chunk_off += n;
    sc->chunk_fill = 0;
    atomic_fetch_add(&svc->c_out, n);
    MS_ASSERT(n <= GET_CHUNK_BYTES);
    return ms_node_rpc_send_data(sc->call, sc->chunk_off - n, sc->frag_len, buf, buf, n);
}

/* Store sink: copies verified bytes into chunks and streams them. */
static int get_sink(void *arg, uint64_t offset, const uint8_t *data, size_t len)
{
    struct svc_call *sc = arg;
    MS_ASSERT(sc != NULL && data != NULL);
    if (sc->chunk_off == UINT64_MAX)
        sc->chunk_off = offset; /* the first piece fixes where the stream starts */
    MS_ASSERT(offset == sc->chunk_off + sc->chunk_fill); /* the store delivers in order */
    while (len > 0) {
        if (sc->chunk == NULL) {
            sc->chunk = malloc(GET_CHUNK_BYTES);
            if (sc->chunk == NULL)
                return -ENOMEM;
        }
        size_t n = GET_CHUNK_BYTES - sc->chunk_fill;
        n = n < len ? n : len;
        memcpy(sc->chunk + sc->chunk_fill, data, n);
        sc->chunk_fill += n;
        data += n;
        len -= n;
        if (sc->chunk_fill == GET_CHUNK_BYTES) {
            int rc = get_flush(sc);
            if (rc < 0)
                return rc;
        }
    }
    return 0;
}

static struct ms_fragstore_range range_of(const struct ms_node_get_req *g)
{
    struct ms_fragstore_range r = {.kind = MS_FRAGSTORE_RANGE_ALL};
    MS_ASSERT(g->kind == MS_NODE_RANGE_ALL || g->count > 0);
    if (g->kind == MS_NODE_RANGE_BYTES)
        r.kind = MS_FRAGSTORE_RANGE_BYTES;
    else if (g->kind == MS_NODE_RANGE_SEGMENTS)
        r.kind = MS_FRAGSTORE_RANGE_SEGMENTS;
    r.first = g->first;
    r.count = g->count;
    MS_ASSERT(r.kind != MS_FRAGSTORE_RANGE_ALL || g->kind == MS_NODE_RANGE_ALL);
    return r;
}

static void job_get(struct svc_call *sc)
{
    struct ms_node_service *svc = sc->svc;
    struct ms_fragstore_key key = key_of(&sc->get.ref);
    struct ms_fragstore_info info;
    MS_ASSERT(sc->chunk == NULL && sc->writable);
    atomic_fetch_add(&svc->c_gets, 1);
    int rc = ms_fragstore_stat(svc->store, &key, &info);
    if (rc < 0) {
        fail(sc->call, rc, rc == -MEDSTORE_ENOTFOUND ? "no such fragment" : NULL);
        return;
    }
    sc->frag_len = info.size_bytes;
    struct ms_fragstore_range range = range_of(&sc->get);
    if (range.kind == MS_FRAGSTORE_RANGE_BYTES && range.first + range.count > info.size_bytes) {
        fail(sc->call, -MEDSTORE_ERANGE, "byte range outside the fragment");
        return;
    }
    if (range.kind == MS_FRAGSTORE_RANGE_SEGMENTS &&
        range.first + range.count > info.segment_count) {
        fail(sc->call, -MEDSTORE_ERANGE, "segment range outside the fragment");
        return;
    }
    /* The first chunk starts where the store's first piece will: learned from the sink. */
    sc->chunk_off = UINT64_MAX;
    rc = ms_fragstore_get(svc->store, &key, &range, get_sink, sc);
    if (rc == 0 && sc->chunk_fill > 0)
        rc = get_flush(sc);
    if (rc == -ECANCELED)
        return; /* the call is over: never touch it again */
    if (rc < 0) {
        fail(sc->call, rc, rc == -MEDSTORE_ECORRUPT ? "stored fragment is damaged" : NULL);
        return;
    }
    int frc = ms_rpc_call_finish(sc->call, 0, NULL, NULL);
    (void)frc; /* parked behind the last send; -ECANCELED when the client left */
}

static int op_get(void *arg, struct ms_rpc_call *call, const struct ms_node_get_req *req,
                  void **state)
{
    struct ms_node_service *svc = arg;
    MS_ASSERT(svc != NULL && req != NULL);
    MS_ASSERT(*state == NULL);
    int rc = check_token(svc, call, &req->ref, MS_CAP_ALLOW(MS_CAP_GET));
    if (rc < 0)
        return rc;
    struct svc_call *sc = call_new(svc, call, state);
    if (sc == NULL)
        return -ENOMEM;
    sc->get = *req;
    enqueue(sc, JOB_GET);
    return 0;
}

static int op_get_writable(void *arg, struct ms_rpc_call *call, void **state)
{
    struct ms_node_service *svc = arg;
    struct svc_call *sc = *state;
    (void)call;
    MS_ASSERT(svc != NULL && sc != NULL);
    pthread_mutex_lock(&svc->mu);
    MS_ASSERT(!sc->writable);
    sc->writable = true;
    pthread_cond_signal(&sc->cond);
    pthread_mutex_unlock(&svc->mu);
    return 0; /* the worker holds the turn and sends the next chunk */
}

static void op_call_done(void *arg, struct ms_rpc_call *call, void **state, int code)
{
    struct ms_node_service *svc = arg;
    struct svc_call *sc = *state;
    (void)call;
    (void)code;
    MS_ASSERT(svc != NULL);
    if (sc == NULL)
        return;
    MS_ASSERT(sc->svc == svc);
    *state = NULL;
    pthread_mutex_lock(&svc->mu);
    sc->done = true;
    pthread_cond_signal(&sc->cond);
    bool free_now = sc->jobs == 0;
    pthread_mutex_unlock(&svc->mu);
    if (free_now)
        call_free(sc); /* else the worker frees it when its job returns */
}

/* ---- DeleteFragment and the service RPCs ---------------------------------------------- */

static void job_delete(struct svc_call *sc)
{
    struct ms_node_service *svc = sc->svc;
    struct ms_fragstore_key key = key_of(&sc->ref);
    struct ms_fragstore_info info;
    struct ms_node_delete_result res = {0};
    int rc = ms_fragstore_stat(svc->store, &key, &info);
    if (rc == 0) {
        res.existed = true;
        res.wiped_bytes = info.file_bytes; /* the whole file, padding included */
    } else if (rc != -MEDSTORE_ENOTFOUND) {
        fail(sc->call, rc, NULL);
        return;
    }
    /* F-STO-4, F-DEL-2: zero-overwrite, sync, unlink, then the answer. */
    rc = ms_fragstore_delete(svc->store, &key);
    if (rc < 0) {
        fail(sc->call, rc, rc == -EBUSY ? "fragment is being written, retry" : NULL);
        return;
    }
    atomic_fetch_add(&svc->c_dels, 1);
    ms_log(MS_LOG_DEBUG, "node", "event=deleted frag=%u existed=%d wiped_bytes=%llu",
           sc->ref.frag_index, res.existed, (unsigned long long)res.wiped_bytes);
    int rrc = ms_node_rpc_reply_delete(sc->call, &res);
    (void)rrc;
}

static void entry_of(const struct ms_fragstore_key *k, const struct ms_fragstore_info *info,
                     struct ms_node_entry *e)
{
    MS_ASSERT(k != NULL && info != NULL && e != NULL);
    MS_ASSERT(k->frag_index < MS_NODE_FRAG_INDEX_MAX);
    memset(e, 0, sizeof(*e));
    e->ref.oid = k->oid;
    e->ref.frag_index = k->frag_index;
    e->length = info->size_bytes;
    e->state = MS_NODE_STATE_COMMITTED;
    e->committed_unix_ms = info->created_ms;
    memcpy(e->header_checksum, info->header_checksum, sizeof(e->header_checksum));
}

static void job_stat(struct svc_call *sc)
{
    struct ms_fragstore_key key = key_of(&sc->ref);
    struct ms_fragstore_info info;
    struct ms_node_entry e;
    int rc = ms_fragstore_stat(sc->svc->store, &key, &info);
    if (rc < 0) {
        fail(sc->call, rc, rc == -MEDSTORE_ENOTFOUND ? "no such fragment" : NULL);
        return;
    }
    entry_of(&key, &info, &e);
    int rrc = ms_node_rpc_reply_stat(sc->call, &e);
    (void)rrc;
}

static void job_list(struct svc_call *sc)
{
    const struct ms_node_page_req *p = &sc->page;
    MS_ASSERT(p->limit >= 1 && p->limit <= MS_NODE_LIST_LIMIT_MAX);
    struct ms_fragstore_key after = key_of(&p->after);
    struct ms_fragstore_entry *rows = calloc((size_t)p->limit + 1, sizeof(*rows));
    struct ms_node_entry *out = calloc(p->limit, sizeof(*out));
    if (rows == NULL || out == NULL) {
        fail(sc->call, -ENOMEM, "node out of memory");
        goto free_rows;
    }
    int n = ms_fragstore_list(sc->svc->store, p->has_after ? &after : NULL, rows,
                              (size_t)p->limit + 1);
    if (n < 0) {
        fail(sc->call, n, NULL);
        goto free_rows;
    }
    struct ms_node_list_page page = {.entries = out};
    page.n_entries = (size_t)n > p->limit ? p->limit : (size_t)n;
    for (size_t i = 0; i < page.n_entries; i++)
        entry_of(&rows[i].key, &rows[i].info, &out[i]);
    if ((size_t)n > p->limit) {
        page.has_next = true;
        page.next = out[page.n_entries - 1].ref;
    }
    int rrc = ms_node_rpc_reply_list(sc->call, &page);
    (void)rrc;
free_rows:
    free(rows);
    free(out);
}

/* The key just before k in catalogue order (k is never the nil id, so one exists). */
static struct ms_fragstore_key key_pred(const struct ms_fragstore_key *k)
{
    struct ms_fragstore_key p = *k;
    MS_ASSERT(!ms_oid_is_nil(&k->oid));
    if (p.frag_index > 0) {
        p.frag_index--;
        return p;
    }
    p.frag_index = UINT8_MAX;
    for (int i = MS_OID_BYTES - 1; i >= 0; i--)
        if (p.oid.b[i]-- != 0)
            break;
    MS_ASSERT(memcmp(&p.oid, &k->oid, sizeof(p.oid)) != 0);
    return p;
}

/* Fills d from a damage row (scrub.h reasons: 2 = header). */
static void damage_of(const struct ms_scrub_entry *row, struct ms_node_damage *d)
{
    MS_ASSERT(row != NULL && d != NULL);
    memset(d, 0, sizeof(*d));
    d->ref.oid = row->key.oid;
    d->ref.frag_index = row->key.frag_index;
    d->header_damaged = row->reason == 2;
    d->detected_unix_ms = row->time_ms;
    if (row->record != UINT32_MAX) {
        d->damaged[0] = row->record;
        d->n_damaged = 1;
    }
    MS_ASSERT(d->n_damaged <= MS_NODE_DAMAGED_MAX);
}

static void job_verify(struct svc_call *sc)
{
    struct ms_fragstore_key key = key_of(&sc->ref);
    struct ms_fragstore_info info;
    struct ms_node_damage res = {.ref = sc->ref};
    int rc = ms_fragstore_stat(sc->svc->store, &key, &info);
    if (rc < 0) {
        fail(sc->call, rc, rc == -MEDSTORE_ENOTFOUND ? "no such fragment" : NULL);
        return;
    }
    rc = ms_fragstore_verify(sc->svc->store, &key);
    if (rc < 0 && rc != -MEDSTORE_ECORRUPT) {
        fail(sc->call, rc, rc == -MEDSTORE_ENOTFOUND ? "no such fragment" : NULL);
        return;
    }
    res.ok = rc == 0;
    res.segments_checked = info.segment_count;
    if (!res.ok) {
        /* The store recorded the damage in the scrub report: read that row for detail. */
        struct ms_fragstore_key before = key_pred(&key);
        struct ms_scrub_entry row;
        int n = ms_scrub_report(sc->svc->store, &before, &row, 1);
        if (n == 1 && memcmp(&row.key.oid, &key.oid, sizeof(key.oid)) == 0 &&
            row.key.frag_index == key.frag_index) {
            damage_of(&row, &res);
            res.ref = sc->ref;
        }
        res.ok = false;
        res.segments_checked = info.segment_count;
    }
    int rrc = ms_node_rpc_reply_verify(sc->call, &res);
    (void)rrc;
}

static void job_scrub(struct svc_call *sc)
{
    const struct ms_node_page_req *p = &sc->page;
    MS_ASSERT(p->limit >= 1 && p->limit <= MS_NODE_LIST_LIMIT_MAX);
    struct ms_fragstore_key after = key_of(&p->after);
    struct ms_scrub_entry *rows = calloc((size_t)p->limit + 1, sizeof(*rows));
    struct ms_node_damage *out = calloc(p->limit, sizeof(*out));
    struct ms_scrub_counters cnt;
    if (rows == NULL || out == NULL) {
        fail(sc->call, -ENOMEM, "node out of memory");
        goto free_rows;
    }
    int n = ms_scrub_report(sc->svc->store, p->has_after ? &after : NULL, rows,
                            (size_t)p->limit + 1);
    if (n < 0) {
        fail(sc->call, n, NULL);
        goto free_rows;
    }
    ms_scrub_counters(sc->svc->store, &cnt);
    struct ms_node_scrub_page page = {.entries = out, .scrubbed_fragments = cnt.fragments_checked};
    page.n_entries = (size_t)n > p->limit ? p->limit : (size_t)n;
    for (size_t i = 0; i < page.n_entries; i++)
        damage_of(&rows[i], &out[i]);
    if ((size_t)n > p->limit) {
        page.has_next = true;
        page.next = out[page.n_entries - 1].ref;
    }
    int rrc = ms_node_rpc_reply_scrub(sc->call, &page);
    (void)rrc;
free_rows:
    free(rows);
    free(out);
}

static void job_info(struct svc_call *sc)
{
    struct ms_node_service *svc = sc->svc;
    struct ms_fragstore_space space;
    struct ms_node_info info;
    int rc = ms_fragstore_space(svc->store, &space);
    if (rc < 0) {
        fail(sc->call, rc, NULL);
        return;
    }
    memset(&info, 0, sizeof(info));
    info.node_id = svc->node_id;
    memcpy(info.rack, svc->rack, sizeof(info.rack));
    info.capacity_bytes = space.capacity_bytes;
    info.free_bytes = space.free_bytes;
    info.fragment_count = space.fragment_count;
    snprintf(info.software_version, sizeof(info.software_version), "%s", MEDSTORE_VERSION);
    info.format_version = MS_FRAG_VERSION;
    info.protocol_version = 1;
    int rrc = ms_node_rpc_reply_info(sc->call, &info);
    (void)rrc;
}

static void run_job(struct svc_call *sc, enum svc_job job)
{
    MS_ASSERT(sc != NULL && !sc->done);
    switch (job) {
    case JOB_PUT_DATA: job_put_data(sc); break;
    case JOB_PUT_COMMIT: job_put_commit(sc); break;
    case JOB_GET: job_get(sc); break;
    case JOB_DELETE: job_delete(sc); break;
    case JOB_STAT: job_stat(sc); break;
    case JOB_LIST: job_list(sc); break;
    case JOB_VERIFY: job_verify(sc); break;
    case JOB_SCRUB: job_scrub(sc); break;
    case JOB_INFO: job_info(sc); break;
    case JOB_NONE:
    default: MS_ASSERT(!"unknown job");
    }
}

/* Delete needs a delete token; the others a service principal. Then a job does the work. */
static int op_ref(struct ms_node_service *svc, struct ms_rpc_call *call,
                  const struct ms_node_ref *ref, void **state, enum svc_job job)
{
    MS_ASSERT(svc != NULL && ref != NULL);
    MS_ASSERT(*state == NULL);
    int rc = job == JOB_DELETE ? check_token(svc, call, ref, MS_CAP_ALLOW(MS_CAP_DELETE))
                               : check_principal(svc, call);
    if (rc < 0)
        return rc;
    struct svc_call *sc = call_new(svc, call, state);
    if (sc == NULL)
        return -ENOMEM;
    sc->ref = *ref;
    enqueue(sc, job);
    return 0;
}

static int op_del(void *arg, struct ms_rpc_call *call, const struct ms_node_ref *ref,
                  void **state)
{
    return op_ref(arg, call, ref, state, JOB_DELETE);
}

static int op_stat(void *arg, struct ms_rpc_call *call, const struct ms_node_ref *ref,
                   void **state)
{
    return op_ref(arg, call, ref, state, JOB_STAT);
}

static int op_verify(void *arg, struct ms_rpc_call *call, const struct ms_node_ref *ref,
                     void **state)
{
    return op_ref(arg, call, ref, state, JOB_VERIFY);
}

static int op_page(struct ms_node_service *svc, struct ms_rpc_call *call,
                   const struct ms_node_page_req *req, void **state, enum svc_job job)
{
    MS_ASSERT(svc != NULL && req != NULL);
    MS_ASSERT(*state == NULL);
    int rc = check_principal(svc, call);
    if (rc < 0)
        return rc;
    struct svc_call *sc = call_new(svc, call, state);
    if (sc == NULL)
        return -ENOMEM;
    sc->page = *req;
    enqueue(sc, job);
    return 0;
}

static int op_list(void *arg, struct ms_rpc_call *call, const struct ms_node_page_req *req,
                   void **state)
{
    return op_page(arg, call, req, state, JOB_LIST);
}

static int op_scrub(void *arg, struct ms_rpc_call *call, const struct ms_node_page_req *req,
                    void **state)
{
    return op_page(arg, call, req, state, JOB_SCRUB);
}

static int op_info(void *arg, struct ms_rpc_call *call, void **state)
{
    struct ms_node_service *svc = arg;
    MS_ASSERT(svc != NULL && *state == NULL);
    int rc = check_principal(svc, call);
    if (rc < 0)
        return rc;
    struct svc_call *sc = call_new(svc, call, state);
    if (sc == NULL)
        return -ENOMEM;
    enqueue(sc, JOB_INFO);
    return 0;
}

static const struct ms_node_rpc_ops svc_ops = {
    .put_begin = op_put_begin,
    .put_data = op_put_data,
    .put_end = op_put_end,
    .get = op_get,
    .get_writable = op_get_writable,
    .del = op_del,
    .stat = op_stat,
    .list = op_list,
    .verify = op_verify,
    .scrub_report = op_scrub,
    .info = op_info,
    .call_done = op_call_done,
};

/* ---- lifecycle ------------------------------------------------------------------------ */

static int opts_check(const struct ms_node_service_opts *o)
{
    MS_ASSERT(o != NULL);
    if (o->store == NULL || o->ring == NULL || o->node_id == 0)
        return -EINVAL;
    if (o->rack == NULL || strlen(o->rack) > MS_NODE_RACK_MAX)
        return -EINVAL;
    if (o->n_service_principals > PRINCIPALS_MAX || o->workers > MS_NODE_SERVICE_WORKERS_MAX)
        return -EINVAL;
    if (o->token_skew_ms > MS_CAPTOKEN_SKEW_MS_MAX)
        return -EINVAL;
    for (size_t i = 0; i < o->n_service_principals; i++)
        if (o->service_principals[i] == NULL ||
            strlen(o->service_principals[i]) > MS_RPC_PRINCIPAL_MAX)
            return -EINVAL;
    return 0;
}

static void svc_free(struct ms_node_service *svc)
{
    MS_ASSERT(svc != NULL && svc->n_threads == 0);
    for (size_t i = 0; i < svc->n_principals; i++)
        free(svc->principals[i]);
    free(svc->principals);
    free(svc->threads);
    pthread_cond_destroy(&svc->work);
    pthread_mutex_destroy(&svc->mu);
    free(svc);
}

static void svc_stop_workers(struct ms_node_service *svc)
{
    MS_ASSERT(svc != NULL);
    pthread_mutex_lock(&svc->mu);
    svc->stopping = true;
    pthread_cond_broadcast(&svc->work);
    pthread_mutex_unlock(&svc->mu);
    for (unsigned i = 0; i < svc->n_threads; i++)
        pthread_join(svc->threads[i], NULL);
    svc->n_threads = 0;
    MS_ASSERT(svc->head == NULL);
}

int ms_node_service_create(const struct ms_node_service_opts *opts,
                           struct ms_node_service **out)
{
    MS_ASSERT(out != NULL);
    int rc = opts_check(opts);
    if (rc < 0)
        return rc;
    struct ms_node_service *svc = calloc(1, sizeof(*svc));
    if (svc == NULL)
        return -ENOMEM;
    pthread_mutex_init(&svc->mu, NULL);
    pthread_cond_init(&svc->work, NULL);
    svc->store = opts->store;
    svc->ring = opts->ring;
    svc->clock = opts->clock != NULL ? opts->clock : ms_clock_real();
    svc->node_id = opts->node_id;
    snprintf(svc->rack, sizeof(svc->rack), "%s", opts->rack);
    svc->skew_ms = opts->token_skew_ms;
    svc->binding.ops = &svc_ops;
    svc->binding.ops_arg = svc;
    unsigned nw = opts->workers != 0 ? opts->workers : MS_NODE_SERVICE_WORKERS_DEFAULT;
    svc->principals = calloc(opts->n_service_principals + 1, sizeof(char *));
    svc->threads = calloc(nw, sizeof(pthread_t));
    rc = svc->principals != NULL && svc->threads != NULL ? 0 : -ENOMEM;
    for (size_t i = 0; rc == 0 && i < opts->n_service_principals; i++) {
        svc->principals[i] = strdup(opts->service_principals[i]);
        rc = svc->principals[i] != NULL ? 0 : -ENOMEM;
        svc->n_principals += rc == 0;
    }
    for (unsigned i = 0; rc == 0 && i < nw; i++) {
        rc = -pthread_create(&svc->threads[i], NULL, worker_main, svc);
        svc->n_threads += rc == 0;
    }
    if (rc < 0) {
        svc_stop_workers(svc);
        svc_free(svc);
        return rc;
    }
    MS_ASSERT(svc->n_threads == nw);
    *out = svc;
    return 0;
}

void ms_node_service_methods(struct ms_node_service *svc,
                             struct ms_rpc_method out[MS_NODE_RPC_METHODS])
{
    MS_ASSERT(svc != NULL && out != NULL);
    ms_node_rpc_methods(&svc->binding, out);
}

void ms_node_service_counters(const struct ms_node_service *svc,
                              struct ms_node_service_counters *out)
{
    MS_ASSERT(svc != NULL && out != NULL);
    out->puts_committed = atomic_load(&svc->c_puts);
    out->puts_failed = atomic_load(&svc->c_put_fail);
    out->gets = atomic_load(&svc->c_gets);
    out->deletes = atomic_load(&svc->c_dels);
    out->denied = atomic_load(&svc->c_denied);
    out->bytes_in = atomic_load(&svc->c_in);
    out->bytes_out = atomic_load(&svc->c_out);
}

void ms_node_service_destroy(struct ms_node_service *svc)
{
    if (svc == NULL)
        return;
    svc_stop_workers(svc);
    MS_ASSERT(atomic_load(&svc->live_calls) == 0); /* every call ended before */
    svc_free(svc);
}
