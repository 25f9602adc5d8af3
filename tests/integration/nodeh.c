/*
 * nodeh.c - integration harness for medstore-node (see nodeh.h).
 *
 * The node runs as a child process (fork + exec of the built binary, stderr to a log file);
 * readiness is its `event=listening addr=HOST:PORT` log line. Children are tracked in a
 * fixed table and SIGKILLed by an atexit handler, and get SIGKILL as parent-death signal (also
 * when the test aborts, e.g. under a sanitizer), so no test leaves a server running.
 */
#include "nodeh.h"

#include <setjmp.h>
#include <stdarg.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/clock.h"
#include "testutil.h"

#define CHILDREN_MAX 32

static pid_t children[CHILDREN_MAX];
static bool atexit_done;

static void kill_children(void)
{
    for (size_t i = 0; i < CHILDREN_MAX; i++) {
        if (children[i] > 0) {
            kill(children[i], SIGKILL);
            waitpid(children[i], NULL, 0);
            children[i] = 0;
        }
    }
}

static void child_add(pid_t pid)
{
    if (!atexit_done) {
        atexit(kill_children);
        atexit_done = true;
    }
    for (size_t i = 0; i < CHILDREN_MAX; i++) {
        if (children[i] == 0) {
            children[i] = pid;
            return;
        }
    }
    fail_msg("too many node processes");
}

static void child_del(pid_t pid)
{
    for (size_t i = 0; i < CHILDREN_MAX; i++)
        if (children[i] == pid)
            children[i] = 0;
}

uint64_t nh_now_ms(void)
{
    return ms_clock_now_unix_ms(ms_clock_real());
}

static void sleep_ms(unsigned ms)
{
    usleep(ms * 1000u);
}

/* ---- PKI ---------------------------------------------------------------------------------- */

void nh_pki_path(const struct nh_pki *p, const char *rel, char out[NH_PATH])
{
    NH_SNPRINTF(out, NH_PATH, "%s/pki/%s", p->root, rel);
}

void nh_pki_make(struct nh_pki *p)
{
    const char *src = getenv("MEDSTORE_SOURCE_ROOT");
    char *tmp = ms_test_tmpdir("nodeint");
    char cmd[2 * NH_PATH], path[NH_PATH];
    assert_non_null(src);
    assert_non_null(tmp);
    NH_SNPRINTF(p->root, sizeof(p->root), "%s", tmp);
    free(tmp);
    /* The PKI must be readable by a non-root node (run_as): the tree is 0755, keys stay 0600
     * and are handed over with chown by the test that needs it. */
    chmod(p->root, 0755);
    NH_SNPRINTF(cmd, sizeof(cmd), "bash %s/tests/lib/mkcerts.sh %s/pki >%s/mkcerts.log 2>&1",
                src, p->root, p->root);
    assert_int_equal(system(cmd), 0);
    nh_pki_path(p, "token_pubkey.conf", path);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    assert_non_null(fgets(p->pubkey_line, sizeof(p->pubkey_line), f));
    fclose(f);
    p->pubkey_line[strcspn(p->pubkey_line, "\n")] = '\0';
    assert_non_null(strstr(p->pubkey_line, "token_pubkey"));
}

void nh_pki_destroy(struct nh_pki *p)
{
    if (p->root[0] != '\0')
        ms_test_rmtree(p->root);
    p->root[0] = '\0';
}

/* ---- the node process --------------------------------------------------------------------- */

static void write_config(struct nh_node *n, const struct nh_pki *p, const struct nh_opts *o)
{
    char ca[NH_PATH], crt[NH_PATH], key[NH_PATH];
    nh_pki_path(p, "ca/ca.crt", ca);
    nh_pki_path(p, "ca/node-1.crt", crt);
    nh_pki_path(p, "ca/node-1.key", key);
    FILE *f = fopen(n->conf, "w");
    assert_non_null(f);
    fprintf(f,
            "# written by tests/integration/nodeh.c\n"
            "node_id = %u\nrack = rack-a\ndata_dir = %s\nlisten = %s\n"
            "tls_ca = %s\ntls_cert = %s\ntls_key = %s\n"
            "service_principal = meta\nservice_principal = scrubber\n%s\n"
            "scrub_rate_bytes_per_s = 0\nlog_level = info\n%s",
            NH_NODE_ID, n->data, o->listen ? o->listen : "127.0.0.1:0", ca, crt, key,
            p->pubkey_line, o->extra ? o->extra : "");
    assert_int_equal(fclose(f), 0);
}

static pid_t spawn(const struct nh_node *n, const struct nh_opts *o)
{
    const char *build = getenv("MEDSTORE_BUILD_ROOT");
    char bin[NH_PATH];
    assert_non_null(build);
    NH_SNPRINTF(bin, sizeof(bin), "%s/src/node/medstore-node", build);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid > 0)
        return pid;
    /* The node dies with the test even when the test aborts (no atexit then). */
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() == 1)
        _exit(125);
    int fd = open(n->log, O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd < 0 || dup2(fd, 2) < 0)
        _exit(126);
    /* Under LeakSanitizer, ignore gRPC's own per-connection leak (lsan-grpc.supp). */
    char lsan[2 * NH_PATH];
    const char *src = getenv("MEDSTORE_SOURCE_ROOT");
    const char *prev = getenv("LSAN_OPTIONS");
    if (src != NULL && snprintf(lsan, sizeof(lsan),
                                "%s%ssuppressions=%s/tests/integration/lsan-grpc.supp",
                                prev ? prev : "", prev ? ":" : "", src) < (int)sizeof(lsan))
        setenv("LSAN_OPTIONS", lsan, 1);
    int devnull = open("/dev/null", O_RDWR);
    if (devnull >= 0) {
        dup2(devnull, 0);
        dup2(devnull, 1);
    }
    if (o->run_as != NULL) {
        char user[64];
        NH_SNPRINTF(user, sizeof(user), "--reuid=%s", o->run_as);
        execl("/usr/bin/setpriv", "setpriv", user, "--regid=nogroup", "--clear-groups",
              "--inh-caps=-all", "--pdeathsig=KILL", bin, "--config", n->conf,
              o->insecure ? "--insecure-for-tests" : (char *)NULL, (char *)NULL);
    } else {
        execl(bin, "medstore-node", "--config", n->conf,
              o->insecure ? "--insecure-for-tests" : (char *)NULL, (char *)NULL);
    }
    _exit(127);
}

/* Reads the port from the last `event=listening addr=...:PORT` line of the log; 0 if none. */
static int log_port(const struct nh_node *n)
{
    uint8_t *buf;
    size_t len;
    if (ms_test_read_file(n->log, &buf, &len) != 0)
        return 0;
    int port = 0;
    char *text = realloc(buf, len + 1);
    if (text == NULL) {
        free(buf);
        return 0;
    }
    text[len] = '\0';
    for (char *at = strstr(text, "event=listening addr="); at != NULL;
         at = strstr(at + 1, "event=listening addr=")) {
        char *sp = strchr(at + 21, ' ');
        char *colon = at + 21;
        for (char *c = at + 21; *c != '\0' && c != sp; c++)
            if (*c == ':')
                colon = c;
        port = (int)strtol(colon + 1, NULL, 10);
    }
    free(text);
    return port;
}

int nh_node_start(struct nh_node *n, const struct nh_pki *p, const struct nh_opts *o)
{
    static const struct nh_opts none = {0};
    static unsigned seq;
    o = o != NULL ? o : &none;
    if (n->dir[0] == '\0') {
        NH_SNPRINTF(n->dir, sizeof(n->dir), "%s/node%u", p->root, seq++);
        assert_int_equal(mkdir(n->dir, 0755), 0);
    }
    NH_SNPRINTF(n->conf, sizeof(n->conf), "%s/node.conf", n->dir);
    /* One log per start, so a restart's readiness line is its own. */
    NH_SNPRINTF(n->log, sizeof(n->log), "%s/node-%u.log", n->dir, seq++);
    NH_SNPRINTF(n->data, sizeof(n->data), "%s%s", o->data_dir ? o->data_dir : n->dir,
             o->data_dir ? "" : "/data");
    write_config(n, p, o);
    n->port = 0;
    n->pid = spawn(n, o);
    child_add(n->pid);
    unsigned wait = o->wait_ms ? o->wait_ms : 20000;
    for (unsigned waited = 0; waited < wait; waited += 20) {
        int status;
        if (waitpid(n->pid, &status, WNOHANG) == n->pid) {
            child_del(n->pid);
            n->pid = status;
            return -1;
        }
        int port = log_port(n);
        if (port > 0) {
            n->port = port;
            return 0;
        }
        sleep_ms(20);
    }
    nh_node_kill9(n);
    return -1;
}

/* Copies the last 8 KiB of the node's log to stderr (diagnosis of a failed stop). */
static void dump_log(const struct nh_node *n)
{
    uint8_t *buf;
    size_t len;
    if (ms_test_read_file(n->log, &buf, &len) != 0)
        return;
    size_t from = len > 8192 ? len - 8192 : 0;
    fprintf(stderr, "---- %s (tail) ----\n%.*s\n----\n", n->log, (int)(len - from),
            (const char *)buf + from);
    free(buf);
}

int nh_node_stop(struct nh_node *n)
{
    int status = 0;
    assert_true(n->pid > 0);
    kill(n->pid, SIGTERM);
    for (unsigned waited = 0; waited < 30000; waited += 20) {
        if (waitpid(n->pid, &status, WNOHANG) == n->pid) {
            child_del(n->pid);
            n->pid = 0;
            int rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
            if (rc != 0)
                dump_log(n);
            return rc;
        }
        sleep_ms(20);
    }
    nh_node_kill9(n);
    return 128 + SIGKILL;
}

void nh_node_kill9(struct nh_node *n)
{
    if (n->pid <= 0)
        return;
    kill(n->pid, SIGKILL);
    waitpid(n->pid, NULL, 0);
    child_del(n->pid);
    n->pid = 0;
}

bool nh_log_contains(const struct nh_node *n, const char *s)
{
    uint8_t *buf;
    size_t len;
    if (ms_test_read_file(n->log, &buf, &len) != 0)
        return false;
    char *text = realloc(buf, len + 1);
    if (text == NULL) {
        free(buf);
        return false;
    }
    text[len] = '\0';
    bool found = strstr(text, s) != NULL;
    free(text);
    return found;
}

/* ---- clients and tokens ------------------------------------------------------------------- */

struct ms_rpc_client *nh_client_as(const struct nh_pki *p, int port, const char *who,
                                   const char *ca)
{
    char ca_path[NH_PATH], crt[NH_PATH], key[NH_PATH], rel[128], target[64];
    NH_SNPRINTF(rel, sizeof(rel), "%s/ca.crt", ca);
    nh_pki_path(p, rel, ca_path);
    NH_SNPRINTF(rel, sizeof(rel), "%s%s.crt", strchr(who, '/') ? "" : "ca/", who);
    nh_pki_path(p, rel, crt);
    NH_SNPRINTF(rel, sizeof(rel), "%s%s.key", strchr(who, '/') ? "" : "ca/", who);
    nh_pki_path(p, rel, key);
    NH_SNPRINTF(target, sizeof(target), "127.0.0.1:%d", port);
    struct ms_rpc_client_config cc = {
        .target = target, .tls = {ca_path, crt, key}, .default_deadline_ms = 20000,
        /* Default TCP read chunks: the tuned ones make gRPC 1.51 leak at exit under LSan
         * (lsan-grpc.supp); the node keeps its tuning. */
        .data_tuning = false,
    };
    struct ms_rpc_client *c = NULL;
    assert_int_equal(ms_rpc_client_create(&cc, &c), 0);
    return c;
}

struct ms_captoken_signer *nh_signer(const struct nh_pki *p)
{
    char path[NH_PATH];
    struct ms_captoken_signer *s = NULL;
    nh_pki_path(p, "ca/token-1.key", path);
    assert_int_equal(ms_captoken_signer_from_file(1, path, &s), 0);
    return s;
}

void nh_mint(const struct ms_captoken_signer *s, unsigned action, const struct ms_oid *oid,
             uint32_t bitmap, int64_t ttl_ms, struct nh_tok *t)
{
    uint64_t expiry = (uint64_t)((int64_t)nh_now_ms() + ttl_ms);
    assert_int_equal(ms_captoken_mint(s, action, NH_NODE_ID, oid, bitmap, expiry, t->b), 0);
    t->opts.deadline_ms = 20000;
    t->opts.token = t->b;
    t->opts.token_len = sizeof(t->b);
}

/* ---- sockets ------------------------------------------------------------------------------ */

/* Collects the socket inodes of pid's open fds. */
static size_t socket_inodes(pid_t pid, unsigned long *out, size_t cap)
{
    char dir[64], link[NH_PATH], target[128];
    size_t n = 0;
    NH_SNPRINTF(dir, sizeof(dir), "/proc/%d/fd", (int)pid);
    DIR *d = opendir(dir);
    if (d == NULL)
        return 0;
    for (struct dirent *e; (e = readdir(d)) != NULL && n < cap;) {
        NH_SNPRINTF(link, sizeof(link), "%s/%s", dir, e->d_name);
        ssize_t len = readlink(link, target, sizeof(target) - 1);
        if (len <= 0)
            continue;
        target[len] = '\0';
        if (strncmp(target, "socket:[", 8) == 0)
            out[n++] = strtoul(target + 8, NULL, 10);
    }
    closedir(d);
    return n;
}

/* Adds the ports of LISTEN sockets (state 0A) of table whose inode is in inodes. */
static size_t listen_ports(const char *table, const unsigned long *inodes, size_t ninodes,
                           int *ports, size_t n, size_t cap)
{
    FILE *f = fopen(table, "r");
    char line[512];
    if (f == NULL)
        return n;
    while (fgets(line, sizeof(line), f) != NULL) {
        char local[128], rem[128], st[8];
        unsigned long inode;
        unsigned port;
        if (sscanf(line, " %*d: %127s %127s %7s %*s %*s %*s %*s %*s %lu", local, rem, st,
                   &inode) != 4 || strcmp(st, "0A") != 0)
            continue;
        char *colon = strrchr(local, ':');
        if (colon == NULL || sscanf(colon + 1, "%x", &port) != 1)
            continue;
        for (size_t i = 0; i < ninodes; i++) {
            bool dup = false;
            for (size_t j = 0; j < n; j++)
                dup = dup || ports[j] == (int)port;
            if (inodes[i] == inode && !dup && n < cap)
                ports[n++] = (int)port;
        }
    }
    fclose(f);
    return n;
}

size_t nh_listening_ports(pid_t pid, int *ports, size_t cap)
{
    unsigned long inodes[1024];
    size_t ni = socket_inodes(pid, inodes, 1024);
    size_t n = listen_ports("/proc/net/tcp", inodes, ni, ports, 0, cap);
    return listen_ports("/proc/net/tcp6", inodes, ni, ports, n, cap);
}

int nh_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    close(fd);
    return ntohs(a.sin_port);
}
