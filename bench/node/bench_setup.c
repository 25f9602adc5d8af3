/*
 * bench_setup.c - bench-node's setup: PKI (src/rpc/certs.c, as medstore-ca does), the real
 * medstore-node process, synthetic fragments in the codec's format, and fio on the same disk.
 *
 * The node is a child process started with a generated config on a free 127.0.0.1 port;
 * readiness is its `event=listening` log line. Fragments are built with the codec's key-free
 * format functions: the node validates and stores ciphertext it cannot read, so random bytes
 * with correct record checksums are exactly what it sees from real clients.
 */
#include "bench_node.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "benchlib.h"
#include "codec/frag_format.h"
#include "common/ms_assert.h"
#include "rpc/certs.h"

static int path_join(char *out, const char *dir, const char *rel)
{
    int n = snprintf(out, BN_PATH, "%s/%s", dir, rel);
    return n > 0 && n < BN_PATH ? 0 : -ENAMETOOLONG;
}

int bn_pki_make(const char *dir)
{
    char pki[BN_PATH];
    struct ms_certs_error err;
    static const char *const ips[] = {"127.0.0.1"};
    char line[256];
    int rc = path_join(pki, dir, "pki");
    if (rc == 0)
        rc = ms_certs_ca_init(pki, NULL, 0, &err);
    struct ms_certs_leaf node = {.cn = "node-1", .ips = ips, .n_ips = 1};
    struct ms_certs_leaf user = {.cn = "bench"};
    if (rc == 0)
        rc = ms_certs_issue(pki, &node, &err);
    if (rc == 0)
        rc = ms_certs_issue(pki, &user, &err);
    if (rc == 0)
        rc = ms_certs_token_key(pki, 1, line, sizeof(line), &err);
    if (rc < 0)
        fprintf(stderr, "bench-node: pki: %s\n", err.msg);
    return rc;
}

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    if (fd < 0)
        return -errno;
    int rc = bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
                     getsockname(fd, (struct sockaddr *)&a, &len) == 0
                 ? ntohs(a.sin_port)
                 : -errno;
    close(fd);
    return rc;
}

static int write_config(const struct bn_node *n)
{
    char path[BN_PATH], pub[BN_PATH];
    char line[256] = {0};
    if (path_join(pub, n->dir, "pki/token-1.pub") < 0 || path_join(path, n->dir, "node.conf") < 0)
        return -ENAMETOOLONG;
    FILE *p = fopen(pub, "r");
    if (p == NULL || fgets(line, sizeof(line), p) == NULL) {
        if (p != NULL)
            fclose(p);
        return -EIO;
    }
    fclose(p);
    FILE *f = fopen(path, "w");
    if (f == NULL)
        return -errno;
    fprintf(f,
            "node_id = 1\nrack = rack-a\ndata_dir = %s/data-%u\nlisten = 127.0.0.1:%d\n"
            "tls_ca = %s/pki/ca.crt\ntls_cert = %s/pki/node-1.crt\ntls_key = %s/pki/node-1.key\n"
            "service_principal = bench\n%s%s"
            "scrub_rate_bytes_per_s = 0\nlog_level = info\nmax_put_sessions = %u\n",
            n->dir, n->run, n->port, n->dir, n->dir, n->dir,
            strncmp(line, "token_pubkey", 12) == 0 ? "" : "token_pubkey = ", line, n->sessions);
    return fclose(f) == 0 ? 0 : -EIO;
}

/* True once the node's log has its listening line. */
static bool node_listening(const struct bn_node *n)
{
    char log[BN_PATH], buf[8192];
    if (path_join(log, n->dir, "node.log") < 0)
        return false;
    FILE *f = fopen(log, "r");
    bool found = false;
    while (f != NULL && !found && fgets(buf, sizeof(buf), f) != NULL)
        found = strstr(buf, "event=listening") != NULL;
    if (f != NULL)
        fclose(f);
    return found;
}

static pid_t spawn_node(const struct bn_node *n)
{
    char conf[BN_PATH], log[BN_PATH];
    if (path_join(conf, n->dir, "node.conf") < 0 || path_join(log, n->dir, "node.log") < 0)
        return -1;
    pid_t pid = fork();
    if (pid != 0)
        return pid;
    int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || dup2(fd, 2) < 0)
        _exit(126);
    execl(n->bin, "medstore-node", "--config", conf, (char *)NULL);
    _exit(127);
}

int bn_node_drop_data(const struct bn_node *n)
{
    char cmd[2 * BN_PATH];
    int w = snprintf(cmd, sizeof(cmd), "rm -rf '%s/data-%u'", n->dir, n->run);
    return w < 0 || (size_t)w >= sizeof(cmd) || system(cmd) != 0 ? -1 : 0;
}

int bn_node_start(struct bn_node *n)
{
    MS_ASSERT(n != NULL && n->bin[0] != '\0');
    if (bn_node_drop_data(n) != 0)
        return -1;
    n->port = free_port();
    if (n->port <= 0 || write_config(n) < 0)
        return -1;
    char log[BN_PATH];
    if (path_join(log, n->dir, "node.log") < 0 || (unlink(log) != 0 && errno != ENOENT))
        return -1; /* an old log's listening line must not pass for this start's */
    n->pid = spawn_node(n);
    if (n->pid < 0)
        return -1;
    for (unsigned waited = 0; waited < 30000; waited += 20) {
        if (waitpid(n->pid, NULL, WNOHANG) == n->pid) {
            n->pid = 0;
            return -1;
        }
        if (node_listening(n))
            return 0;
        usleep(20000);
    }
    kill(n->pid, SIGKILL);
    waitpid(n->pid, NULL, 0);
    n->pid = 0;
    return -1;
}

int bn_node_stop(struct bn_node *n)
{
    int status = 0;
    if (n->pid <= 0)
        return -1;
    kill(n->pid, SIGTERM);
    for (unsigned waited = 0; waited < 30000; waited += 20) {
        if (waitpid(n->pid, &status, WNOHANG) == n->pid) {
            n->pid = 0;
            return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        }
        usleep(20000);
    }
    kill(n->pid, SIGKILL);
    waitpid(n->pid, NULL, 0);
    n->pid = 0;
    return 128 + SIGKILL;
}

int bn_client(const struct bn_node *n, unsigned connections, struct ms_rpc_client **out)
{
    char ca[BN_PATH], crt[BN_PATH], key[BN_PATH], target[64];
    if (path_join(ca, n->dir, "pki/ca.crt") < 0 || path_join(crt, n->dir, "pki/bench.crt") < 0 ||
        path_join(key, n->dir, "pki/bench.key") < 0)
        return -ENAMETOOLONG;
    snprintf(target, sizeof(target), "127.0.0.1:%d", n->port);
    struct ms_rpc_client_config cc = {.target = target, .tls = {ca, crt, key},
                                      .connections = connections, .default_deadline_ms = 60000,
                                      .data_tuning = true};
    return ms_rpc_client_create(&cc, out);
}

int bn_signer(const struct bn_node *n, struct ms_captoken_signer **out)
{
    char key[BN_PATH];
    if (path_join(key, n->dir, "pki/token-1.key") < 0)
        return -ENAMETOOLONG;
    return ms_captoken_signer_from_file(1, key, out);
}

/* ---- fragments --------------------------------------------------------------------------- */

/* The header of the template (object id varies per put; fragment index 0 of 4+2). */
static struct ms_frag_hdr tmpl_hdr(const struct bn_frag *f, const struct ms_oid *oid)
{
    uint32_t seg = f->payload * 4 > MS_FRAG_SEG_MIN_BYTES ? f->payload * 4 : MS_FRAG_SEG_MIN_BYTES;
    struct ms_frag_hdr h = {.oid = *oid, .frag_index = 0, .k = 4, .m = 2,
                            .ec_alg = MS_EC_CAUCHY1, .aead_alg = MS_AEAD_AES256GCM,
                            .comp_alg = MS_COMPRESS_NONE, .csum_alg = MS_CSUM_XXH3_128,
                            .segment_size_bytes = seg, .shard_align_bytes = 64,
                            .segment_count = f->n_seg,
                            .object_len_bytes = (uint64_t)f->n_seg * seg};
    return h;
}

int bn_frag_build(struct bn_frag *f, uint32_t n_seg, uint32_t payload, uint64_t seed)
{
    MS_ASSERT(f != NULL && n_seg > 0 && payload % 64 == 0);
    memset(f, 0, sizeof(*f));
    f->n_seg = n_seg;
    f->payload = payload;
    uint64_t rec = MS_FRAG_REC_HDR_BYTES + (uint64_t)payload;
    uint64_t idx_off = MS_FRAG_HDR_BYTES + rec * n_seg;
    f->body_len = (size_t)(idx_off + ms_frag_index_bytes(n_seg) - MS_FRAG_HDR_BYTES);
    f->body = malloc(f->body_len);
    struct ms_frag_idx_entry *e = calloc(n_seg, sizeof(*e));
    int rc = f->body != NULL && e != NULL ? 0 : -ENOMEM;
    uint64_t x = seed | 1;
    for (uint32_t i = 0; rc == 0 && i < n_seg; i++) {
        uint8_t *r = f->body + rec * i;
        for (uint32_t j = 0; j < payload; j += 8) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17; /* xorshift: incompressible filler */
            memcpy(r + MS_FRAG_REC_HDR_BYTES + j, &x, 8);
        }
        struct ms_frag_rec fr = {.segment_index = i, .payload_len_bytes = payload};
        rc = ms_frag_rec_encode(&fr, r + MS_FRAG_REC_HDR_BYTES, payload, r,
                                MS_FRAG_REC_HDR_BYTES);
        e[i] = (struct ms_frag_idx_entry){.rec_offset = MS_FRAG_HDR_BYTES + rec * i,
                                          .rec_len_bytes = (uint32_t)rec, .segment_index = i};
    }
    if (rc == 0)
        rc = ms_frag_index_encode(e, n_seg, idx_off, f->body + (idx_off - MS_FRAG_HDR_BYTES),
                                  ms_frag_index_bytes(n_seg));
    free(e);
    if (rc < 0)
        bn_frag_free(f);
    return rc;
}

void bn_frag_free(struct bn_frag *f)
{
    if (f == NULL)
        return;
    free(f->body);
    f->body = NULL;
}

int bn_frag_header(const struct bn_frag *f, const struct ms_oid *oid, uint8_t hdr[128])
{
    MS_ASSERT(f != NULL && oid != NULL);
    struct ms_frag_hdr h = tmpl_hdr(f, oid);
    return ms_frag_hdr_encode(&h, hdr, MS_FRAG_HDR_BYTES);
}

/* ---- disk ------------------------------------------------------------------------------ */

uint64_t bn_free_bytes(const char *dir)
{
    struct statvfs s;
    if (statvfs(dir, &s) != 0)
        return 0;
    return (uint64_t)s.f_bavail * s.f_frsize;
}

/* Runs one fio job; returns the number after `key` in the write section of its JSON. */
static double fio_job(const char *dir, const char *args, const char *key)
{
    char cmd[3 * BN_PATH];
    static char out[1 << 16];
    int n = snprintf(cmd, sizeof(cmd),
                     "cd '%s' && fio --output-format=json --name=bench --filename=fio.dat %s "
                     "2>/dev/null; rm -f fio.dat",
                     dir, args);
    if (n < 0 || (size_t)n >= sizeof(cmd) || ms_bench_cmd_capture(cmd, out, sizeof(out)) != 0)
        return 0;
    const char *w = strstr(out, "\"write\" : {");
    const char *k = w != NULL ? strstr(w, key) : NULL;
    return k != NULL ? strtod(k + strlen(key), NULL) : 0;
}

void bn_fio_run(const char *dir, unsigned seq_s, unsigned sync_s, uint64_t size_bytes,
                struct bn_fio *out)
{
    char args[512];
    MS_ASSERT(dir != NULL && out != NULL);
    memset(out, 0, sizeof(*out));
    snprintf(args, sizeof(args),
             "--rw=write --bs=1M --direct=1 --ioengine=io_uring --iodepth=16 --size=%llu "
             "--time_based --runtime=%u",
             (unsigned long long)size_bytes, seq_s);
    out->seq_write_mib_s = fio_job(dir, args, "\"bw\" : ") / 1024.0; /* KiB/s */
    snprintf(args, sizeof(args),
             "--rw=write --bs=4k --direct=1 --ioengine=psync --fdatasync=1 --size=256M "
             "--time_based --runtime=%u",
             sync_s);
    out->sync4k_iops = fio_job(dir, args, "\"iops\" : ");
}
