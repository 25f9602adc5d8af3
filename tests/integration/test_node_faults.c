/*
 * test_node_faults.c - the real medstore-node under bad conditions:
 *  - disk full on a small size-limited tmpfs: RESOURCE_EXHAUSTED, nothing partial left, the
 *    space comes back (needs root to mount; skipped locally otherwise, a failure under CI=true);
 *  - a client that goes away mid-stream leaves no visible fragment;
 *  - a bounded kill -9 loop (<= 5 kills, <= 60 s) during puts, then restart: every
 *    acknowledged fragment is intact and nothing listed is damaged;
 *  - the node running as a non-root user (nobody) with the default RLIMIT_MEMLOCK, so most
 *    staging buffers fall back from io_uring registered buffers, and still serves puts/gets.
 * Every node is stopped at the end, also on failure (nodeh.c kills its children at exit).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <pwd.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "codec/codec.h"
#include "codec/frag_format.h"
#include "nodeh.h"
#include "testutil.h"

static struct nh_pki P;
static struct ms_captoken_signer *S;
static struct ms_codec_ctx *C;

static int group_setup(void **state)
{
    (void)state;
    ms_rpc_init();
    nh_pki_make(&P);
    S = nh_signer(&P);
    assert_int_equal(ms_codec_ctx_create(&C), 0);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    ms_captoken_signer_destroy(S);
    ms_codec_ctx_destroy(C);
    ms_rpc_fini();
    nh_pki_destroy(&P);
    return 0;
}

/* Encodes a seeded object of len bytes with k+m (or rep(2) when m == 0) into *f. */
static void make_object(struct ms_oid *oid, size_t len, uint64_t seed, unsigned k, unsigned m,
                        struct ms_codec_fragments *f)
{
    uint8_t key[MS_CODEC_KEY_BYTES];
    struct ms_codec_params p;
    uint8_t *obj = malloc(len + 1);
    assert_non_null(obj);
    ms_test_fill(oid->b, sizeof(oid->b), seed * 31 + 1);
    ms_test_fill(key, sizeof(key), seed * 31 + 2);
    ms_test_fill(obj, len, seed * 31 + 3);
    ms_codec_params_default(&p);
    p.hint = MS_CODEC_HINT_RAW;
    if (m == 0) {
        assert_int_equal(ms_codec_params_set_replication(&p, 2), 0);
    } else {
        p.k = (uint8_t)k;
        p.m = (uint8_t)m;
    }
    assert_int_equal(ms_codec_encode(C, &p, oid, key, obj, len, f), 0);
    free(obj);
}

static int put_frag(struct ms_rpc_client *c, const struct ms_oid *oid, unsigned i,
                    const uint8_t *frag, size_t len, struct ms_rpc_status *st)
{
    struct nh_tok t;
    struct ms_node_ref r = {.oid = *oid, .frag_index = i};
    nh_mint(S, MS_CAP_PUT, oid, 1u << i, 60000, &t);
    return ms_node_rpc_put(c, &t.opts, &r, frag, frag + MS_FRAG_HDR_BYTES,
                           len - MS_FRAG_HDR_BYTES, 0, NULL, st);
}

/* GET of the whole fragment must equal frag. */
static int check_frag(struct ms_rpc_client *c, const struct ms_oid *oid, unsigned i,
                      const uint8_t *frag, size_t len)
{
    struct nh_tok t;
    uint8_t *buf = malloc(len + 1);
    size_t n = 0;
    assert_non_null(buf);
    nh_mint(S, MS_CAP_GET, oid, 1u << i, 60000, &t);
    struct ms_node_get_req g = {.ref = {.oid = *oid, .frag_index = i}, .kind = MS_NODE_RANGE_ALL};
    int rc = ms_node_rpc_get(c, &t.opts, &g, buf, len + 1, &n, NULL, NULL);
    if (rc == 0 && (n != len || memcmp(buf, frag, len) != 0))
        rc = -EBADMSG;
    free(buf);
    return rc;
}

/* True when dir has no entries besides . and .. (or does not exist). */
static bool dir_is_empty(const char *dir)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return true;
    bool empty = true;
    for (struct dirent *e; empty && (e = readdir(d)) != NULL;)
        empty = strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0;
    closedir(d);
    return empty;
}

static bool wait_empty(const char *dir, unsigned ms)
{
    for (unsigned w = 0; w < ms && !dir_is_empty(dir); w += 20)
        usleep(20000);
    return dir_is_empty(dir);
}

/* Number of committed fragment files under data/frags. */
static int count_frags(const char *data)
{
    char sub[NH_PATH];
    int n = 0;
    for (unsigned i = 0; i < 256; i++) {
        NH_SNPRINTF(sub, sizeof(sub), "%s/frags/%02x", data, i);
        DIR *d = opendir(sub);
        if (d == NULL)
            continue;
        for (struct dirent *e; (e = readdir(d)) != NULL;)
            n += e->d_name[0] != '.';
        closedir(d);
    }
    return n;
}

/* ---- disk full ----------------------------------------------------------------------------- */

static void test_disk_full_resource_exhausted_nothing_partial(void **state)
{
    (void)state;
    char mnt[NH_PATH], tmpdir[NH_PATH];
    NH_SNPRINTF(mnt, sizeof(mnt), "%s/tmpfs", P.root);
    assert_int_equal(mkdir(mnt, 0755), 0);
    if (geteuid() != 0 || mount("tmpfs", mnt, "tmpfs", 0, "size=8m") != 0) {
        ms_test_require(false, "mounting an 8 MiB tmpfs needs root (CAP_SYS_ADMIN)");
        return;
    }
    struct nh_node n = {0};
    struct nh_opts o = {.data_dir = mnt};
    int started = nh_node_start(&n, &P, &o);
    struct ms_rpc_client *c = started == 0 ? nh_client_as(&P, n.port, "alice", "ca") : NULL;
    struct ms_codec_fragments big = {0}, small = {0};
    struct ms_oid big_oid, small_oid;
    struct ms_rpc_status st = {0};
    int rc_big = -1, rc_small = -1;
    if (started == 0) {
        make_object(&big_oid, 12u << 20, 1, 0, 0, &big); /* rep(2): 12 MiB fragments */
        rc_big = put_frag(c, &big_oid, 0, big.frag[0], big.frag_len[0], &st);
    }
    NH_SNPRINTF(tmpdir, sizeof(tmpdir), "%s/tmp", mnt);
    bool tmp_empty = started == 0 && wait_empty(tmpdir, 5000);
    int frags = started == 0 ? count_frags(mnt) : -1;
    if (started == 0) {
        make_object(&small_oid, 64u << 10, 2, 4, 2, &small);
        rc_small = put_frag(c, &small_oid, 0, small.frag[0], small.frag_len[0], NULL);
    }
    ms_rpc_client_destroy(c);
    int stop = started == 0 ? nh_node_stop(&n) : -1;
    assert_int_equal(umount(mnt), 0); /* before any assertion can leave it mounted */
    ms_codec_fragments_free(&big);
    ms_codec_fragments_free(&small);
    assert_int_equal(started, 0);
    assert_int_equal(rc_big, -ENOSPC);
    assert_int_equal(st.grpc_status, 8); /* RESOURCE_EXHAUSTED */
    assert_string_equal(st.reason, "disk-full");
    assert_true(tmp_empty);   /* the partial temp file was wiped and removed */
    assert_int_equal(frags, 0);
    assert_int_equal(rc_small, 0); /* the space came back */
    assert_int_equal(stop, 0);
}

/* ---- client gone mid-stream ---------------------------------------------------------------- */

static void test_client_gone_mid_stream_leaves_nothing(void **state)
{
    (void)state;
    struct nh_node n = {0};
    assert_int_equal(nh_node_start(&n, &P, NULL), 0);
    struct ms_rpc_client *c = nh_client_as(&P, n.port, "alice", "ca");
    struct ms_codec_fragments f = {0};
    struct ms_oid oid;
    make_object(&oid, 3u << 20, 3, 0, 0, &f);
    struct nh_tok t;
    nh_mint(S, MS_CAP_PUT, &oid, 1u, 60000, &t);
    struct ms_rpc_md md = {MS_RPC_MD_CAPTOKEN, t.b, sizeof(t.b)};
    struct ms_rpc_call_opts co = {.deadline_ms = 20000, .md = &md, .nmd = 1};
    struct ms_node_ref r = {.oid = oid, .frag_index = 0};
    uint8_t *hdr;
    size_t hlen;
    struct ms_rpc_stream *s;
    assert_int_equal(ms_node_rpc_encode_put_header(&r, f.frag_len[0], f.frag[0],
                                                   MS_FRAG_HDR_BYTES, &hdr, &hlen),
                     0);
    assert_int_equal(ms_rpc_stream_open(c, MS_NODE_RPC_PUT, &co, &s), 0);
    struct ms_rpc_seg seg = ms_rpc_seg_malloced(hdr, hlen);
    assert_int_equal(ms_rpc_stream_send(s, &seg, 1), 0);
    size_t half = (f.frag_len[0] - MS_FRAG_HDR_BYTES) / 2;
    uint8_t prefix[MS_RPC_PB_PREFIX_MAX];
    size_t pn = ms_rpc_pb_bytes_prefix(15, half, prefix);
    uint8_t *msg = malloc(pn + half);
    assert_non_null(msg);
    memcpy(msg, prefix, pn);
    memcpy(msg + pn, f.frag[0] + MS_FRAG_HDR_BYTES, half);
    seg = ms_rpc_seg_malloced(msg, pn + half);
    assert_int_equal(ms_rpc_stream_send(s, &seg, 1), 0);
    usleep(200000);
    ms_rpc_stream_destroy(s); /* cancels: the node sees the client go away */
    char tmpdir[NH_PATH];
    NH_SNPRINTF(tmpdir, sizeof(tmpdir), "%s/tmp", n.data);
    assert_true(wait_empty(tmpdir, 10000));
    /* The session's file lives under its final name (no catalogue record) until the abort
     * has wiped it. */
    for (unsigned w = 0; w < 10000 && count_frags(n.data) != 0; w += 20)
        usleep(20000);
    assert_int_equal(count_frags(n.data), 0);
    struct ms_rpc_client *meta = nh_client_as(&P, n.port, "meta", "ca");
    struct ms_node_entry e;
    assert_int_equal(ms_node_rpc_stat(meta, NULL, &r, &e, NULL), -MEDSTORE_ENOTFOUND);
    ms_rpc_client_destroy(meta);
    ms_rpc_client_destroy(c);
    ms_codec_fragments_free(&f);
    assert_int_equal(nh_node_stop(&n), 0);
}

/* ---- kill -9 loop -------------------------------------------------------------------------- */

#define KILL_OBJECTS 48u
#define KILL_ROUNDS 5u
#define KILL_BUDGET_MS 60000u

struct kobj {
    struct ms_oid oid;
    struct ms_codec_fragments f;
    _Atomic uint32_t acked; /* bit i: fragment i acknowledged */
};

struct writer {
    struct ms_rpc_client *c;
    struct kobj *objs;
    _Atomic unsigned next; /* next fragment to put: object * 6 + index */
    atomic_bool stop;
};

static void *writer_main(void *arg)
{
    struct writer *w = arg;
    while (!atomic_load(&w->stop)) {
        unsigned at = atomic_load(&w->next);
        if (at >= KILL_OBJECTS * 6)
            break;
        struct kobj *o = &w->objs[at / 6];
        unsigned i = at % 6;
        struct ms_rpc_status st;
        int rc = put_frag(w->c, &o->oid, i, o->f.frag[i], o->f.frag_len[i], &st);
        if (rc == 0 || rc == -MEDSTORE_EEXIST) {
            if (rc == 0)
                atomic_fetch_or(&o->acked, 1u << i);
            atomic_fetch_add(&w->next, 1);
        } else {
            usleep(10000); /* the node is down: retry the same fragment after the restart */
        }
    }
    return NULL;
}

/* One round: start (or restart) the node, write until the kill, kill -9, stop the writer. */
static void kill_round(struct nh_node *n, struct writer *w, uint64_t *rng)
{
    assert_int_equal(nh_node_start(n, &P, NULL), 0);
    w->c = nh_client_as(&P, n->port, "alice", "ca");
    atomic_store(&w->stop, false);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, writer_main, w), 0);
    usleep((useconds_t)(150000 + ms_test_rand(rng) % 450000));
    nh_node_kill9(n);
    atomic_store(&w->stop, true);
    pthread_join(th, NULL);
    ms_rpc_client_destroy(w->c);
    w->c = NULL;
}

/* After the crashes: every acked fragment reads back intact; everything listed verifies. */
static void kill_verify(struct nh_node *n, struct kobj *objs)
{
    assert_int_equal(nh_node_start(n, &P, NULL), 0);
    struct ms_rpc_client *c = nh_client_as(&P, n->port, "alice", "ca");
    struct ms_rpc_client *meta = nh_client_as(&P, n->port, "meta", "ca");
    unsigned acked = 0;
    for (unsigned k = 0; k < KILL_OBJECTS; k++)
        for (unsigned i = 0; i < 6; i++)
            if (atomic_load(&objs[k].acked) & (1u << i)) {
                assert_int_equal(check_frag(c, &objs[k].oid, i, objs[k].f.frag[i],
                                            objs[k].f.frag_len[i]),
                                 0);
                acked++;
            }
    struct ms_node_entry e[512];
    struct ms_node_page_req p = {.limit = 512};
    struct ms_node_ref next;
    size_t cnt = 0;
    bool more = false;
    assert_int_equal(ms_node_rpc_list(meta, NULL, &p, e, 512, &cnt, &more, &next, NULL), 0);
    assert_false(more);
    assert_true(cnt >= acked); /* an unacked put may have committed just before its kill */
    for (size_t j = 0; j < cnt; j++) {
        struct ms_node_damage d;
        assert_int_equal(ms_node_rpc_verify(meta, NULL, &e[j].ref, &d, NULL), 0);
        assert_true(d.ok);
    }
    char tmpdir[NH_PATH];
    NH_SNPRINTF(tmpdir, sizeof(tmpdir), "%s/tmp", n->data);
    assert_true(dir_is_empty(tmpdir)); /* recovery removed every unacknowledged temp file */
    fprintf(stderr, "note: kill -9 loop: %u acknowledged fragments intact, %zu listed\n", acked,
            cnt);
    ms_rpc_client_destroy(c);
    ms_rpc_client_destroy(meta);
    assert_int_equal(nh_node_stop(n), 0);
}

static void test_kill9_loop_acked_fragments_intact(void **state)
{
    (void)state;
    struct kobj *objs = calloc(KILL_OBJECTS, sizeof(*objs));
    struct writer w = {.objs = objs};
    struct nh_node n = {0};
    uint64_t rng = 77;
    assert_non_null(objs);
    for (unsigned k = 0; k < KILL_OBJECTS; k++)
        make_object(&objs[k].oid, 16u << 10, 100 + k, 4, 2, &objs[k].f);
    uint64_t t0 = nh_now_ms();
    unsigned rounds = 0;
    while (rounds < KILL_ROUNDS && nh_now_ms() - t0 < KILL_BUDGET_MS &&
           atomic_load(&w.next) < KILL_OBJECTS * 6) {
        kill_round(&n, &w, &rng);
        rounds++;
    }
    assert_true(rounds >= 1);
    fprintf(stderr, "note: kill -9 loop: %u kills in %llu ms\n", rounds,
            (unsigned long long)(nh_now_ms() - t0));
    kill_verify(&n, objs);
    for (unsigned k = 0; k < KILL_OBJECTS; k++)
        ms_codec_fragments_free(&objs[k].f);
    free(objs);
}

/* ---- non-root ------------------------------------------------------------------------------ */

static void test_runs_as_non_root_user(void **state)
{
    (void)state;
    struct passwd *pw = getpwnam("nobody");
    if (geteuid() != 0 || pw == NULL || access("/usr/bin/setpriv", X_OK) != 0) {
        ms_test_require(false, "running the node as nobody needs root, setpriv and a nobody user");
        return;
    }
    char path[NH_PATH];
    struct nh_node n = {0};
    /* nobody must read the CA, its certificate and (its own) key, and own the data dir. */
    nh_pki_path(&P, "", path);
    assert_int_equal(chmod(path, 0755), 0);
    nh_pki_path(&P, "ca", path);
    assert_int_equal(chmod(path, 0755), 0);
    nh_pki_path(&P, "ca/node-1.key", path);
    assert_int_equal(chown(path, pw->pw_uid, pw->pw_gid), 0);
    NH_SNPRINTF(n.dir, sizeof(n.dir), "%s/nobody-node", P.root);
    assert_int_equal(mkdir(n.dir, 0755), 0);
    char data[NH_PATH];
    NH_SNPRINTF(data, sizeof(data), "%s/data", n.dir);
    assert_int_equal(mkdir(data, 0700), 0);
    assert_int_equal(chown(data, pw->pw_uid, pw->pw_gid), 0);
    struct nh_opts o = {.run_as = "nobody", .data_dir = data};
    int started = nh_node_start(&n, &P, &o);
    nh_pki_path(&P, "ca/node-1.key", path);
    assert_int_equal(chown(path, 0, 0), 0);
    assert_int_equal(started, 0);
    /* Default RLIMIT_MEMLOCK (8 MiB) and no CAP_IPC_LOCK: the io_uring backend registers only
     * what the limit allows (a few of the 32 staging buffers); the rest are plain buffers. */
    assert_true(nh_log_contains(&n, "event=fragstore_buffers sessions=32"));
    assert_false(nh_log_contains(&n, "registered=32"));
    struct ms_rpc_client *c = nh_client_as(&P, n.port, "alice", "ca");
    struct ms_codec_fragments f = {0};
    struct ms_oid oid;
    make_object(&oid, 200u << 10, 5, 4, 2, &f);
    for (unsigned i = 0; i < f.n; i++)
        assert_int_equal(put_frag(c, &oid, i, f.frag[i], f.frag_len[i], NULL), 0);
    for (unsigned i = 0; i < f.n; i++)
        assert_int_equal(check_frag(c, &oid, i, f.frag[i], f.frag_len[i]), 0);
    ms_rpc_client_destroy(c);
    ms_codec_fragments_free(&f);
    assert_int_equal(nh_node_stop(&n), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_disk_full_resource_exhausted_nothing_partial),
        cmocka_unit_test(test_client_gone_mid_stream_leaves_nothing),
        cmocka_unit_test(test_kill9_loop_acked_fragments_intact),
        cmocka_unit_test(test_runs_as_non_root_user),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
