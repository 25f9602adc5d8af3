/*
 * rpc_fixture.c - run-time certificates and the echo test service (see rpc_fixture.h).
 *
 * The handlers use only the seam API (rpc.h), so the same table runs on the gRPC server and on
 * the loopback client. Upload parses real node.proto PutFragmentRequest messages the way the
 * node does: the header with protobuf-c on a small contiguous copy, data chunks as views found
 * by ms_rpc_pb_scan, hashed in place.
 */
#include "rpc_fixture.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "medstore/v1/node.pb-c.h"
#include "rpc/certs.h"
#include "testutil.h"

atomic_int fx_done_calls;
atomic_int fx_last_done_code;
atomic_int fx_handler_calls;

uint64_t fx_fnv(uint64_t h, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

/* ---- certificates ---------------------------------------------------------------------------- */

/* dir/name+ext into the next path slot. */
static char *fx_path(struct fx_certs *c, unsigned *slot, const char *dir, const char *name,
                     const char *ext)
{
    assert_true(*slot < 16);
    char *p = c->paths[(*slot)++];
    int n = snprintf(p, FX_PATH_MAX, "%s/%s%s", dir, name, ext);
    assert_true(n > 0 && n < FX_PATH_MAX);
    return p;
}

static void fx_issue(const char *cadir, const char *cn, const char *dns, const char *ip)
{
    struct ms_certs_leaf leaf = {.cn = cn};
    const char *d[1] = {dns};
    const char *i[1] = {ip};
    if (dns != NULL) {
        leaf.dns = d;
        leaf.n_dns = 1;
    }
    if (ip != NULL) {
        leaf.ips = i;
        leaf.n_ips = 1;
    }
    struct ms_certs_error err;
    int rc = ms_certs_issue(cadir, &leaf, &err);
    if (rc != 0)
        fprintf(stderr, "ms_certs_issue %s: %s\n", cn, err.msg);
    assert_int_equal(rc, 0);
}

static void fx_files(struct fx_certs *c, unsigned *slot, const char *cadir, const char *cn,
                     struct ms_rpc_tls_files *f)
{
    f->ca_path = fx_path(c, slot, cadir, "ca", ".crt");
    f->cert_path = fx_path(c, slot, cadir, cn, ".crt");
    f->key_path = fx_path(c, slot, cadir, cn, ".key");
}

void fx_certs_make(struct fx_certs *c)
{
    memset(c, 0, sizeof(*c));
    c->dir = ms_test_tmpdir("rpc");
    snprintf(c->ca, sizeof(c->ca), "%s/ca", c->dir);
    snprintf(c->rogue_ca, sizeof(c->rogue_ca), "%s/rogue", c->dir);
    struct ms_certs_error err;
    assert_int_equal(ms_certs_ca_init(c->ca, "test-cluster-ca", 0, &err), 0);
    assert_int_equal(ms_certs_ca_init(c->rogue_ca, "rogue-ca", 0, &err), 0);
    fx_issue(c->ca, "node-1", "localhost", "127.0.0.1");
    fx_issue(c->ca, "node-2", "node-2.cluster", NULL);
    fx_issue(c->ca, "alice", NULL, "127.0.0.1");
    fx_issue(c->ca, "mallory", "admin", "127.0.0.1");
    fx_issue(c->rogue_ca, "alice", NULL, "127.0.0.1");
    unsigned slot = 0;
    fx_files(c, &slot, c->ca, "node-1", &c->node1);
    fx_files(c, &slot, c->ca, "node-2", &c->node2);
    fx_files(c, &slot, c->ca, "alice", &c->alice);
    fx_files(c, &slot, c->ca, "mallory", &c->mallory);
    fx_files(c, &slot, c->rogue_ca, "alice", &c->rogue_alice);
}

void fx_certs_free(struct fx_certs *c)
{
    ms_test_rmtree(c->dir);
    free(c->dir);
    c->dir = NULL;
}

/* ---- handlers -------------------------------------------------------------------------------- */

static void fx_on_done(struct ms_rpc_call *call, int code, void *arg)
{
    (void)arg;
    free(ms_rpc_call_ctx(call));
    ms_rpc_call_set_ctx(call, NULL);
    atomic_store(&fx_last_done_code, code);
    atomic_fetch_add(&fx_done_calls, 1);
}

/* Replies with a copy of the bytes (handed over as a malloc'd segment, not copied again). */
static int fx_reply_bytes(struct ms_rpc_call *call, const void *p, size_t n)
{
    void *buf = malloc(n ? n : 1);
    assert_non_null(buf);
    memcpy(buf, p, n);
    struct ms_rpc_seg seg = ms_rpc_seg_malloced(buf, n);
    return ms_rpc_call_reply(call, &seg, 1);
}

static int fx_unary_cb(struct ms_rpc_call *call, const struct ms_rpc_msg *msg, void *arg)
{
    (void)arg;
    atomic_fetch_add(&fx_handler_calls, 1);
    uint8_t *buf = malloc(msg->len ? msg->len : 1);
    assert_non_null(buf);
    assert_int_equal(ms_rpc_msg_copy(msg, 0, buf, msg->len), 0);
    struct ms_rpc_seg seg = ms_rpc_seg_malloced(buf, msg->len);
    return ms_rpc_call_reply(call, &seg, 1);
}

struct fx_upload_ctx {
    uint64_t expected;
    uint64_t got;
    uint64_t hash;
    bool header;
    bool hold;
};

/* Parses one PutFragmentRequest: the header through protobuf-c, data as views. */
static int fx_upload_take(struct fx_upload_ctx *u, const struct ms_rpc_msg *msg)
{
    uint64_t seen = 0;
    struct ms_rpc_msg view;
    struct ms_rpc_iov *iov = malloc((msg->niov + 1) * sizeof(*iov));
    assert_non_null(iov);
    int rc = ms_rpc_pb_scan(msg, 15, &seen, &view, iov, msg->niov + 1);
    if (rc < 0 || (rc == 1) != u->header) { /* data needs a header first; one header */
        free(iov);
        return rc < 0 ? rc : -MEDSTORE_EFORMAT;
    }
    if (rc == 1) {
        for (size_t i = 0; i < view.niov; i++)
            u->hash = fx_fnv(u->hash, view.iov[i].ptr, view.iov[i].len);
        u->got += view.len;
        rc = 0;
    } else {
        const uint8_t *p;
        uint8_t *scratch;
        assert_int_equal(ms_rpc_msg_contig(msg, &p, &scratch), 0);
        Medstore__V1__PutFragmentRequest *r =
            medstore__v1__put_fragment_request__unpack(NULL, msg->len, p);
        free(scratch);
        rc = r == NULL || r->body_case != MEDSTORE__V1__PUT_FRAGMENT_REQUEST__BODY_HEADER
                 ? -MEDSTORE_EFORMAT
                 : 0;
        if (rc == 0) {
            u->expected = r->header->total_length;
            u->header = true;
        }
        medstore__v1__put_fragment_request__free_unpacked(r, NULL);
    }
    free(iov);
    return rc;
}

static void *fx_resume_thread(void *arg)
{
    struct ms_rpc_call *call = arg;
    struct timespec ts = {0, 200000};
    nanosleep(&ts, NULL);
    assert_int_equal(ms_rpc_call_resume(call), 0);
    return NULL;
}

static int fx_upload_cb(struct ms_rpc_call *call, const struct ms_rpc_msg *msg, void *arg)
{
    atomic_fetch_add(&fx_handler_calls, 1);
    struct fx_upload_ctx *u = ms_rpc_call_ctx(call);
    if (u == NULL) {
        u = calloc(1, sizeof(*u));
        assert_non_null(u);
        u->hash = FX_FNV_INIT;
        u->hold = arg != NULL;
        ms_rpc_call_set_ctx(call, u);
    }
    bool was_header = u->header;
    int rc = fx_upload_take(u, msg);
    if (rc < 0 || !u->hold || !was_header)
        return rc;
    /* Keep the views and give the turn to another thread, as a node's writer would. */
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, fx_resume_thread, call), 0);
    pthread_detach(t);
    return MS_RPC_HOLD;
}

static void *fx_reply_thread(void *arg)
{
    struct ms_rpc_call *call = arg;
    struct fx_upload_ctx *u = ms_rpc_call_ctx(call);
    uint64_t out[2] = {u->got, u->hash};
    struct timespec ts = {0, 2000000};
    nanosleep(&ts, NULL);
    assert_int_equal(fx_reply_bytes(call, out, sizeof(out)), 0);
    return NULL;
}

static int fx_upload_end_cb(struct ms_rpc_call *call, void *arg)
{
    struct fx_upload_ctx *u = ms_rpc_call_ctx(call);
    if (u == NULL || !u->header)
        return -MEDSTORE_EFORMAT;
    if (u->got != u->expected)
        return ms_rpc_call_finish(call, -MEDSTORE_ETRUNCATED, NULL, "stream ended short");
    if (arg == NULL) {
        uint64_t out[2] = {u->got, u->hash};
        return fx_reply_bytes(call, out, sizeof(out));
    }
    pthread_t t; /* answer later from another thread, like a group commit */
    assert_int_equal(pthread_create(&t, NULL, fx_reply_thread, call), 0);
    pthread_detach(t);
    return 0;
}

struct fx_download_ctx {
    uint64_t total;
    uint64_t sent;
    uint32_t chunk;
};

/* Sends the next chunk, or ends the stream. */
static int fx_download_next(struct ms_rpc_call *call)
{
    struct fx_download_ctx *d = ms_rpc_call_ctx(call);
    if (d->sent == d->total)
        return ms_rpc_call_finish(call, 0, NULL, NULL);
    uint64_t n = d->total - d->sent < d->chunk ? d->total - d->sent : d->chunk;
    uint8_t *buf = malloc(n);
    assert_non_null(buf);
    for (uint64_t i = 0; i < n; i++)
        buf[i] = fx_pattern(d->sent + i);
    d->sent += n;
    struct ms_rpc_seg seg = ms_rpc_seg_malloced(buf, n);
    return ms_rpc_call_send(call, &seg, 1);
}

static int fx_download_cb(struct ms_rpc_call *call, const struct ms_rpc_msg *msg, void *arg)
{
    (void)arg;
    atomic_fetch_add(&fx_handler_calls, 1);
    uint8_t req[12];
    if (ms_rpc_msg_copy(msg, 0, req, sizeof(req)) < 0 || msg->len != sizeof(req))
        return -EINVAL;
    struct fx_download_ctx *d = calloc(1, sizeof(*d));
    assert_non_null(d);
    memcpy(&d->total, req, 8);
    memcpy(&d->chunk, req + 8, 4);
    ms_rpc_call_set_ctx(call, d);
    if (d->chunk == 0 || d->chunk > MS_RPC_MAX_CHUNK_BYTES)
        return -EINVAL;
    return fx_download_next(call);
}

static int fx_download_writable_cb(struct ms_rpc_call *call, void *arg)
{
    (void)arg;
    return fx_download_next(call);
}

static int fx_fail_cb(struct ms_rpc_call *call, const struct ms_rpc_msg *msg, void *arg)
{
    (void)arg;
    atomic_fetch_add(&fx_handler_calls, 1);
    char buf[64] = {0};
    if (msg->len < 4 || msg->len >= sizeof(buf))
        return -EINVAL;
    assert_int_equal(ms_rpc_msg_copy(msg, 0, buf, msg->len), 0);
    int32_t code;
    memcpy(&code, buf, 4);
    const char *reason = msg->len > 4 ? buf + 4 : NULL;
    return ms_rpc_call_finish(call, code, reason, "test failure");
}

struct fx_sleep_arg {
    struct ms_rpc_call *call;
    uint32_t ms;
};

static void *fx_sleep_thread(void *p)
{
    struct fx_sleep_arg *a = p;
    struct timespec ts = {a->ms / 1000, (long)(a->ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
    uint32_t ok = 0x4b4f;
    (void)fx_reply_bytes(a->call, &ok, sizeof(ok)); /* may find the call cancelled */
    free(a);
    return NULL;
}

static int fx_sleep_cb(struct ms_rpc_call *call, const struct ms_rpc_msg *msg, void *arg)
{
    (void)arg;
    atomic_fetch_add(&fx_handler_calls, 1);
    struct fx_sleep_arg *a = calloc(1, sizeof(*a));
    assert_non_null(a);
    a->call = call;
    if (ms_rpc_msg_copy(msg, 0, &a->ms, 4) < 0) {
        free(a);
        return -EINVAL;
    }
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, fx_sleep_thread, a), 0);
    pthread_detach(t);
    return 0;
}

static int fx_whoami_cb(struct ms_rpc_call *call, const struct ms_rpc_msg *msg, void *arg)
{
    (void)arg;
    (void)msg;
    atomic_fetch_add(&fx_handler_calls, 1);
    uint8_t out[256];
    const char *who = ms_rpc_call_principal(call);
    size_t n = strlen(who);
    memcpy(out, who, n);
    out[n++] = '\n';
    const uint8_t *v;
    size_t vlen;
    int rc = ms_rpc_call_metadata(call, MS_RPC_MD_CAPTOKEN, &v, &vlen);
    if (rc == 0 && vlen <= sizeof(out) - n) {
        memcpy(out + n, v, vlen);
        n += vlen;
    } else if (rc != -MEDSTORE_ENOTFOUND) {
        return rc < 0 ? rc : -E2BIG;
    }
    return fx_reply_bytes(call, out, n);
}

static const struct ms_rpc_method fx_table[] = {
    {.path = FX_UNARY, .kind = MS_RPC_UNARY, .on_message_cb = fx_unary_cb,
     .on_done_cb = fx_on_done},
    {.path = FX_UPLOAD, .kind = MS_RPC_CLIENT_STREAMING, .on_message_cb = fx_upload_cb,
     .on_end_cb = fx_upload_end_cb, .on_done_cb = fx_on_done},
    {.path = FX_UPLOAD_HOLD, .kind = MS_RPC_CLIENT_STREAMING, .on_message_cb = fx_upload_cb,
     .on_end_cb = fx_upload_end_cb, .on_done_cb = fx_on_done, .arg = (void *)fx_table},
    {.path = FX_DOWNLOAD, .kind = MS_RPC_SERVER_STREAMING, .on_message_cb = fx_download_cb,
     .on_writable_cb = fx_download_writable_cb, .on_done_cb = fx_on_done},
    {.path = FX_FAIL, .kind = MS_RPC_UNARY, .on_message_cb = fx_fail_cb, .on_done_cb = fx_on_done},
    {.path = FX_SLEEP, .kind = MS_RPC_UNARY, .on_message_cb = fx_sleep_cb,
     .on_done_cb = fx_on_done},
    {.path = FX_WHOAMI, .kind = MS_RPC_UNARY, .on_message_cb = fx_whoami_cb,
     .on_done_cb = fx_on_done},
};

const struct ms_rpc_method *fx_methods(size_t *n)
{
    *n = sizeof(fx_table) / sizeof(fx_table[0]);
    return fx_table;
}

/* ---- client side helpers --------------------------------------------------------------------- */

int fx_server_start(const struct ms_rpc_tls_files *tls, struct ms_rpc_server **out)
{
    struct ms_rpc_server_config cfg = {.listen_addr = "127.0.0.1:0", .shutdown_grace_ms = 500};
    if (tls != NULL)
        cfg.tls = *tls;
    else
        cfg.insecure_for_tests = true;
    size_t n;
    const struct ms_rpc_method *m = fx_methods(&n);
    assert_int_equal(ms_rpc_server_create(&cfg, m, n, out), 0);
    assert_int_equal(ms_rpc_server_start(*out), 0);
    return ms_rpc_server_port(*out);
}

struct ms_rpc_client *fx_client(int port, const struct ms_rpc_tls_files *tls, unsigned conns)
{
    char target[64];
    snprintf(target, sizeof(target), "127.0.0.1:%d", port);
    struct ms_rpc_client_config cfg = {.target = target, .connections = conns};
    if (tls != NULL)
        cfg.tls = *tls;
    else
        cfg.insecure_for_tests = true;
    struct ms_rpc_client *c = NULL;
    assert_int_equal(ms_rpc_client_create(&cfg, &c), 0);
    return c;
}

static void fx_count_release(void *arg)
{
    atomic_fetch_add((atomic_int *)arg, 1);
}

int fx_send_header(struct ms_rpc_stream *s, uint64_t total)
{
    uint8_t oid[16] = {1, 2, 3};
    Medstore__V1__FragmentRef ref = MEDSTORE__V1__FRAGMENT_REF__INIT;
    ref.object_id.data = oid;
    ref.object_id.len = sizeof(oid);
    Medstore__V1__PutFragmentHeader hdr = MEDSTORE__V1__PUT_FRAGMENT_HEADER__INIT;
    hdr.ref = &ref;
    hdr.total_length = total;
    Medstore__V1__PutFragmentRequest req = MEDSTORE__V1__PUT_FRAGMENT_REQUEST__INIT;
    req.body_case = MEDSTORE__V1__PUT_FRAGMENT_REQUEST__BODY_HEADER;
    req.header = &hdr;
    size_t n = medstore__v1__put_fragment_request__get_packed_size(&req);
    uint8_t *buf = malloc(n);
    assert_non_null(buf);
    assert_int_equal(medstore__v1__put_fragment_request__pack(&req, buf), n);
    struct ms_rpc_seg seg = ms_rpc_seg_malloced(buf, n);
    return ms_rpc_stream_send(s, &seg, 1);
}

int fx_upload(struct ms_rpc_client *c, const char *method, uint64_t total, size_t chunk,
              uint64_t *bytes, uint64_t *hash, int *released)
{
    uint8_t *payload = malloc(total ? total : 1);
    assert_non_null(payload);
    for (uint64_t i = 0; i < total; i++)
        payload[i] = fx_pattern(i);
    static atomic_int rel;
    atomic_store(&rel, 0);
    struct ms_rpc_stream *s;
    struct ms_rpc_call_opts opts = {.deadline_ms = 60000};
    assert_int_equal(ms_rpc_stream_open(c, method, &opts, &s), 0);
    int rc = fx_send_header(s, total);
    int nchunks = 0;
    for (uint64_t off = 0; rc == 0 && off < total; off += chunk, nchunks++) {
        size_t n = total - off < chunk ? (size_t)(total - off) : chunk;
        uint8_t prefix[MS_RPC_PB_PREFIX_MAX];
        struct ms_rpc_seg segs[2] = {
            {.ptr = prefix, .len = ms_rpc_pb_bytes_prefix(15, n, prefix)}, /* copied */
            {.ptr = payload + off, .len = n, .release_cb = fx_count_release, .release_arg = &rel},
        };
        rc = ms_rpc_stream_send(s, segs, 2);
    }
    if (rc == 0)
        rc = ms_rpc_stream_close_send(s);
    struct ms_rpc_msg m;
    int got = rc == 0 ? ms_rpc_stream_recv(s, &m) : 0;
    if (got == 1 && m.len == 16) {
        uint64_t out[2];
        assert_int_equal(ms_rpc_msg_copy(&m, 0, out, sizeof(out)), 0);
        *bytes = out[0];
        *hash = out[1];
    }
    int code = ms_rpc_stream_finish(s, NULL);
    ms_rpc_stream_destroy(s);
    /* gRPC drops its references to lent slices asynchronously; give it a moment. */
    for (int i = 0; i < 1000 && atomic_load(&rel) < nchunks; i++) {
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    if (released != NULL)
        *released = atomic_load(&rel) - nchunks; /* 0 when every lent payload came back */
    free(payload);
    if (code == 0 && got != 1)
        code = -EBADMSG;
    return code;
}

int fx_download(struct ms_rpc_client *c, uint64_t total, uint32_t chunk, unsigned *messages)
{
    uint8_t req[12];
    memcpy(req, &total, 8);
    memcpy(req + 8, &chunk, 4);
    struct ms_rpc_stream *s;
    struct ms_rpc_call_opts opts = {.deadline_ms = 60000};
    assert_int_equal(ms_rpc_stream_open(c, FX_DOWNLOAD, &opts, &s), 0);
    struct ms_rpc_seg seg = {.ptr = req, .len = sizeof(req)};
    int rc = ms_rpc_stream_send(s, &seg, 1);
    if (rc == 0)
        rc = ms_rpc_stream_close_send(s);
    uint64_t off = 0;
    bool bad = false;
    *messages = 0;
    struct ms_rpc_msg m;
    while (rc == 0 && ms_rpc_stream_recv(s, &m) == 1) {
        (*messages)++;
        for (size_t v = 0; v < m.niov; v++) {
            for (size_t i = 0; i < m.iov[v].len; i++)
                bad = bad || m.iov[v].ptr[i] != fx_pattern(off + i);
            off += m.iov[v].len;
        }
    }
    int code = ms_rpc_stream_finish(s, NULL);
    ms_rpc_stream_destroy(s);
    if (code == 0 && (bad || off != total))
        return -EBADMSG;
    return code;
}

int fx_fail(struct ms_rpc_client *c, int code, const char *reason, struct ms_rpc_status *st)
{
    uint8_t req[64];
    int32_t c32 = code;
    memcpy(req, &c32, 4);
    size_t n = reason ? strlen(reason) : 0;
    assert_true(n + 4 < sizeof(req));
    memcpy(req + 4, reason ? reason : "", n);
    struct ms_rpc_seg seg = {.ptr = req, .len = 4 + n};
    uint8_t *resp = NULL;
    size_t len = 0;
    int rc = ms_rpc_unary(c, FX_FAIL, NULL, &seg, 1, &resp, &len, st);
    free(resp);
    return rc;
}

int fx_sleep(struct ms_rpc_client *c, uint32_t ms, unsigned deadline_ms)
{
    struct ms_rpc_call_opts opts = {.deadline_ms = deadline_ms};
    struct ms_rpc_seg seg = {.ptr = &ms, .len = sizeof(ms)};
    uint8_t *resp = NULL;
    size_t len = 0;
    int rc = ms_rpc_unary(c, FX_SLEEP, &opts, &seg, 1, &resp, &len, NULL);
    if (rc == 0)
        assert_int_equal(len, 4);
    free(resp);
    return rc;
}

int fx_whoami(struct ms_rpc_client *c, const struct ms_rpc_call_opts *opts, char *who,
              size_t cap, uint8_t *md, size_t *md_len)
{
    uint8_t *resp = NULL;
    size_t len = 0;
    int rc = ms_rpc_unary(c, FX_WHOAMI, opts, NULL, 0, &resp, &len, NULL);
    if (rc < 0)
        return rc;
    uint8_t *nl = memchr(resp, '\n', len);
    assert_non_null(nl);
    size_t n = (size_t)(nl - resp);
    assert_true(n < cap);
    memcpy(who, resp, n);
    who[n] = '\0';
    *md_len = len - n - 1;
    memcpy(md, nl + 1, *md_len);
    free(resp);
    return 0;
}

int fx_env_setup(void **state)
{
    struct fx_env *e = calloc(1, sizeof(*e));
    assert_non_null(e);
    ms_rpc_init();
    fx_certs_make(&e->certs);
    e->port = fx_server_start(&e->certs.node1, &e->srv);
    *state = e;
    return 0;
}

int fx_env_teardown(void **state)
{
    struct fx_env *e = *state;
    ms_rpc_server_destroy(e->srv);
    fx_certs_free(&e->certs);
    ms_rpc_fini();
    free(e);
    return 0;
}
