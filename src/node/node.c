/*
 * node.c - medstore-node: configuration -> I/O ring, catalogue, fragment store -> service ->
 * RPC server -> signals -> drain.
 *
 * Start order (each step undone in reverse on failure and at stop):
 *   config (schema below; every value checked, errors name the line)
 *   -> log level -> token key ring (at least one key: verification is never off)
 *   -> data_dir (0700) -> I/O port (io_uring; the sync backend only when io_uring is missing,
 *      logged as a warning) -> RocksDB catalogue in <data_dir>/catalog
 *   -> fragment store (open-time recovery: resumes wipes, removes unacknowledged puts)
 *   -> service (workers) -> ms_rpc_init -> server on `listen` only (Y-PRC-1) -> listening.
 * Stop: the server stops accepting, in-flight calls get a grace period (drain), the rest are
 * cancelled (their puts abort: nothing half-visible); then the service, the store (its syncs
 * are done: every ack was already durable), the catalogue (RocksDB closes and flushes), the
 * ring and gRPC are shut down.
 *
 * Refused: insecure mode (--insecure-for-tests) on anything but a loopback address; a config
 * without token_pubkey; TLS files missing in secure mode; a rack or principal that is not a
 * short plain name. Registration with the metadata service (meta_address) is the seam left
 * for its issue: the node logs that it runs standalone.
 */
#include "node/node.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/config.h"
#include "common/io.h"
#include "common/kv.h"
#include "common/kv_rocksdb.h"
#include "common/log.h"
#include "common/ms_assert.h"
#include "node/fragstore.h"
#include "node/io_uring_backend.h"
#include "node/service.h"
#include "rpc/captoken.h"
#include "rpc/rpc.h"

#define PRINCIPALS_MAX 64u
#define PATH_BYTES 4096u

static const char *const log_levels[] = {"debug", "info", "warn", "error", NULL};

/* The node's configuration schema (docs/node.md "Configuration"). */
static const struct ms_config_key node_keys[] = {
    {.name = "node_id", .type = MS_CONFIG_U64, .flags = MS_CONFIG_REQUIRED, .min = 1,
     .max = UINT32_MAX},
    {.name = "rack", .type = MS_CONFIG_STRING, .flags = MS_CONFIG_REQUIRED},
    {.name = "data_dir", .type = MS_CONFIG_STRING, .flags = MS_CONFIG_REQUIRED},
    {.name = "listen", .type = MS_CONFIG_STRING, .flags = MS_CONFIG_REQUIRED},
    {.name = "tls_ca", .type = MS_CONFIG_STRING},
    {.name = "tls_cert", .type = MS_CONFIG_STRING},
    {.name = "tls_key", .type = MS_CONFIG_STRING},
    {.name = "service_principal", .type = MS_CONFIG_STRING, .flags = MS_CONFIG_LIST,
     .max_count = PRINCIPALS_MAX},
    {.name = "token_pubkey", .type = MS_CONFIG_STRING,
     .flags = MS_CONFIG_LIST | MS_CONFIG_REQUIRED, .max_count = MS_CAPTOKEN_KEYRING_MAX},
    {.name = "token_skew_ms", .type = MS_CONFIG_DURATION, .default_value = "30000",
     .max = MS_CAPTOKEN_SKEW_MS_MAX},
    {.name = "meta_address", .type = MS_CONFIG_STRING},
    {.name = "scrub_rate_bytes_per_s", .type = MS_CONFIG_SIZE, .default_value = "32M"},
    {.name = "log_level", .type = MS_CONFIG_ENUM, .default_value = "info",
     .choices = log_levels},
    {.name = "io_queue_depth", .type = MS_CONFIG_U64, .default_value = "64", .min = 8,
     .max = 4096},
    {.name = "cq_threads", .type = MS_CONFIG_U64, .default_value = "2", .min = 1, .max = 16},
    {.name = "max_put_sessions", .type = MS_CONFIG_U64, .default_value = "32", .min = 1,
     .max = 64},
    {.name = "workers", .type = MS_CONFIG_U64, .default_value = "16", .min = 1,
     .max = MS_NODE_SERVICE_WORKERS_MAX},
    {.name = "io_write_ports", .type = MS_CONFIG_U64, .default_value = "4",
     .max = MS_FRAGSTORE_WRITE_IOS_MAX},
    {.name = "io_read_ports", .type = MS_CONFIG_U64, .default_value = "2",
     .max = MS_FRAGSTORE_READ_IOS_MAX},
    {.name = "rpc_max_calls", .type = MS_CONFIG_U64, .default_value = "1024", .min = 1,
     .max = 65536},
    {.name = "rpc_memory_quota", .type = MS_CONFIG_SIZE, .default_value = "0"},
    {.name = "rpc_stream_window", .type = MS_CONFIG_SIZE, .default_value = "16M",
     .max = MS_RPC_STREAM_WINDOW_MAX},
};

static const struct ms_config_schema node_schema = {
    .keys = node_keys,
    .n_keys = sizeof(node_keys) / sizeof(node_keys[0]),
};

struct ms_node {
    struct ms_config *cfg;
    struct ms_captoken_keyring *ring;
    struct ms_io *io;      /* data writes and reads */
    struct ms_io *sync_io; /* commit rounds and wipes: their fdatasyncs never queue behind data */
    struct ms_io *write_ios[MS_FRAGSTORE_WRITE_IOS_MAX]; /* staged writes of large fragments */
    unsigned n_write_ios;
    struct ms_io *read_ios[MS_FRAGSTORE_READ_IOS_MAX]; /* gets, verify and scrub in parallel */
    unsigned n_read_ios;
    struct ms_kv *kv;
    struct ms_fragstore *store;
    struct ms_node_service *svc;
    struct ms_rpc_server *srv;
    bool rpc_inited;
    bool stop_requested;
    const char *principals[PRINCIPALS_MAX];
    size_t n_principals;
};

/* ---- configuration checks beyond the schema ------------------------------------------- */

static bool is_plain_name(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n == 0 || n > max)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '-' || c == '_' || c == '.';
        if (!ok)
            return false;
    }
    return true;
}

/* host:port or [v6]:port with a decimal port 0..65535. */
static bool is_listen_addr(const char *s)
{
    const char *colon = strrchr(s, ':');
    if (colon == NULL || colon == s || colon[1] == '\0' || strlen(colon + 1) > 5)
        return false;
    unsigned long port = 0;
    for (const char *p = colon + 1; *p != '\0'; p++) {
        if (*p < '0' || *p > '9')
            return false;
        port = port * 10 + (unsigned long)(*p - '0');
    }
    if (s[0] == '[')
        return colon[-1] == ']' && port <= 65535;
    return memchr(s, ':', (size_t)(colon - s)) == NULL && port <= 65535;
}

static int cfg_error(unsigned line, const char *key, const char *what)
{
    MS_ASSERT(key != NULL && what != NULL);
    ms_log(MS_LOG_ERROR, "node", "event=config_refused line=%u key=%s why=\"%s\"", line, key,
           what);
    return -MEDSTORE_ECONFIG;
}

static int check_names(struct ms_node *n)
{
    const struct ms_config *c = n->cfg;
    MS_ASSERT(c != NULL);
    if (!is_plain_name(ms_config_get_str(c, "rack"), MS_NODE_RACK_MAX))
        return cfg_error(ms_config_line(c, "rack"), "rack",
                         "1..64 characters of letters, digits, '-', '_' or '.'");
    if (!is_listen_addr(ms_config_get_str(c, "listen")))
        return cfg_error(ms_config_line(c, "listen"), "listen", "expected host:port");
    n->n_principals = ms_config_list_count(c, "service_principal");
    MS_ASSERT(n->n_principals <= PRINCIPALS_MAX);
    for (size_t i = 0; i < n->n_principals; i++) {
        const char *p = ms_config_list_at(c, "service_principal", i);
        if (!is_plain_name(p, MS_RPC_PRINCIPAL_MAX))
            return cfg_error(ms_config_list_line(c, "service_principal", i), "service_principal",
                             "1..64 characters of letters, digits, '-', '_' or '.'");
        n->principals[i] = p;
    }
    const char *dir = ms_config_get_str(c, "data_dir");
    if (dir[0] == '\0' || strlen(dir) > PATH_BYTES / 2)
        return cfg_error(ms_config_line(c, "data_dir"), "data_dir", "empty or too long");
    return 0;
}

static int check_tls(const struct ms_node *n, bool insecure)
{
    const struct ms_config *c = n->cfg;
    const char *listen = ms_config_get_str(c, "listen");
    MS_ASSERT(listen != NULL);
    if (insecure) {
        if (!ms_rpc_addr_is_loopback(listen)) {
            ms_log(MS_LOG_ERROR, "node",
                   "event=insecure_refused listen=%s why=\"insecure mode only on loopback\"",
                   listen);
            return -EINVAL;
        }
        ms_log(MS_LOG_WARN, "node", "event=insecure_mode listen=%s", listen);
        return 0;
    }
    static const char *const files[] = {"tls_ca", "tls_cert", "tls_key"};
    for (size_t i = 0; i < 3; i++)
        if (!ms_config_has(c, files[i]))
            return cfg_error(0, files[i], "required for mutual TLS");
    return 0;
}

static int load_keyring(struct ms_node *n)
{
    const struct ms_config *c = n->cfg;
    size_t count = ms_config_list_count(c, "token_pubkey");
    MS_ASSERT(count >= 1); /* the schema requires one */
    int rc = ms_captoken_keyring_create(&n->ring);
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < count; i++) {
        const char *v = ms_config_list_at(c, "token_pubkey", i);
        rc = ms_captoken_keyring_add_line(n->ring, v, strlen(v));
        if (rc == -EEXIST)
            return cfg_error(ms_config_list_line(c, "token_pubkey", i), "token_pubkey",
                             "key id given twice");
        if (rc < 0)
            return cfg_error(ms_config_list_line(c, "token_pubkey", i), "token_pubkey",
                             "expected <key id>:<base64 of a 32-byte Ed25519 public key>");
    }
    MS_ASSERT(ms_captoken_keyring_count(n->ring) == count);
    return 0;
}

static int load_config(struct ms_node *n, const struct ms_node_opts *opts)
{
    struct ms_config_error err = {0};
    MS_ASSERT(opts->config_path != NULL);
    int rc = ms_config_parse_file(&node_schema, opts->config_path, &n->cfg, &err);
    if (rc < 0) {
        ms_log(MS_LOG_ERROR, "node", "event=config_refused path=%s line=%u why=\"%s\"",
               opts->config_path, err.line, err.msg);
        return rc;
    }
    enum ms_log_level lvl = (enum ms_log_level)ms_config_get_enum(n->cfg, "log_level");
    ms_log_set_level(lvl);
    if ((rc = check_names(n)) < 0 || (rc = check_tls(n, opts->insecure_for_tests)) < 0)
        return rc;
    rc = load_keyring(n);
    MS_ASSERT(rc < 0 || n->ring != NULL);
    return rc;
}

/* ---- storage -------------------------------------------------------------------------- */

/* One I/O port: io_uring, or the sync backend when this kernel or sandbox has no io_uring. */
static int open_io_port(unsigned depth, const char *role, struct ms_io **out)
{
    MS_ASSERT(depth >= 8 && depth <= 4096);
    int rc = ms_io_uring_create(depth, out);
    if (rc == 0) {
        ms_log(MS_LOG_INFO, "node", "event=io_backend role=%s backend=io_uring queue_depth=%u",
               role, depth);
        return 0;
    }
    ms_log(MS_LOG_WARN, "node", "event=io_backend role=%s backend=sync why=%s", role,
           ms_err_name(rc));
    rc = ms_io_sync_create(out);
    MS_ASSERT(rc < 0 || *out != NULL);
    return rc;
}

static int open_io(struct ms_node *n)
{
    unsigned depth = (unsigned)ms_config_get_u64(n->cfg, "io_queue_depth");
    unsigned n_write = (unsigned)ms_config_get_u64(n->cfg, "io_write_ports");
    unsigned n_read = (unsigned)ms_config_get_u64(n->cfg, "io_read_ports");
    MS_ASSERT(n_write <= MS_FRAGSTORE_WRITE_IOS_MAX && n_read <= MS_FRAGSTORE_READ_IOS_MAX);
    int rc = open_io_port(depth, "data", &n->io);
    if (rc == 0)
        rc = open_io_port(depth, "sync", &n->sync_io);
    /* Several large fragments' O_DIRECT writes in flight at once roughly doubled 1-4 MiB puts
     * in bench-fragstore; reads get ports of their own so a get never waits behind a put. */
    while (rc == 0 && n->n_write_ios < n_write) {
        rc = open_io_port(depth, "write", &n->write_ios[n->n_write_ios]);
        n->n_write_ios += rc == 0;
    }
    while (rc == 0 && n->n_read_ios < n_read) {
        rc = open_io_port(depth, "read", &n->read_ios[n->n_read_ios]);
        n->n_read_ios += rc == 0;
    }
    return rc;
}

static int open_store(struct ms_node *n)
{
    const char *dir = ms_config_get_str(n->cfg, "data_dir");
    char path[PATH_BYTES];
    MS_ASSERT(dir != NULL);
    if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
        int rc = -errno;
        ms_log(MS_LOG_ERROR, "node", "event=data_dir_failed code=%s", ms_err_name(rc));
        return rc;
    }
    int rc = open_io(n);
    if (rc < 0)
        return rc;
    snprintf(path, sizeof(path), "%s/catalog", dir);
    size_t ncf = 0;
    while (ms_fragstore_kv_cfs[ncf] != NULL)
        ncf++;
    rc = ms_kv_rocksdb_open(path, ms_fragstore_kv_cfs, ncf, NULL, &n->kv);
    if (rc < 0) {
        ms_log(MS_LOG_ERROR, "node", "event=catalog_failed code=%s", ms_err_name(rc));
        return rc;
    }
    struct ms_fragstore_opts so = {
        .data_dir = dir,
        .io = n->io,
        .sync_io = n->sync_io,
        .write_ios = n->write_ios,
        .n_write_ios = n->n_write_ios,
        .read_ios = n->read_ios,
        .n_read_ios = n->n_read_ios,
        .kv = n->kv,
        .max_sessions = (uint32_t)ms_config_get_u64(n->cfg, "max_put_sessions"),
        .scrub_rate_bytes_per_s = ms_config_get_u64(n->cfg, "scrub_rate_bytes_per_s"),
    };
    rc = ms_fragstore_open(&so, &n->store);
    if (rc < 0)
        ms_log(MS_LOG_ERROR, "node", "event=store_failed code=%s", ms_err_name(rc));
    MS_ASSERT(rc < 0 || n->store != NULL);
    return rc;
}

static int start_service(struct ms_node *n, const struct ms_node_opts *opts)
{
    const struct ms_config *c = n->cfg;
    struct ms_rpc_method methods[MS_NODE_RPC_METHODS];
    struct ms_node_service_opts so = {
        .store = n->store,
        .ring = n->ring,
        .node_id = (uint32_t)ms_config_get_u64(c, "node_id"),
        .rack = ms_config_get_str(c, "rack"),
        .service_principals = n->principals,
        .n_service_principals = n->n_principals,
        .token_skew_ms = ms_config_get_u64(c, "token_skew_ms"),
        .workers = (unsigned)ms_config_get_u64(c, "workers"),
    };
    MS_ASSERT(so.node_id != 0 && so.rack != NULL);
    int rc = ms_node_service_create(&so, &n->svc);
    if (rc < 0)
        return rc;
    ms_node_service_methods(n->svc, methods);
    ms_rpc_init();
    n->rpc_inited = true;
    struct ms_rpc_server_config sc = {
        .listen_addr = ms_config_get_str(c, "listen"),
        .tls = {ms_config_get_str(c, "tls_ca"), ms_config_get_str(c, "tls_cert"),
                ms_config_get_str(c, "tls_key")},
        .insecure_for_tests = opts->insecure_for_tests,
        .cq_threads = (unsigned)ms_config_get_u64(c, "cq_threads"),
        .data_tuning = true,
        .max_calls = (unsigned)ms_config_get_u64(c, "rpc_max_calls"),
        .memory_quota_bytes = (size_t)ms_config_get_u64(c, "rpc_memory_quota"),
        .stream_window_bytes = (size_t)ms_config_get_u64(c, "rpc_stream_window"),
    };
    rc = ms_rpc_server_create(&sc, methods, MS_NODE_RPC_METHODS, &n->srv);
    if (rc == 0)
        rc = ms_rpc_server_start(n->srv);
    if (rc < 0) {
        ms_log(MS_LOG_ERROR, "node", "event=server_failed listen=%s code=%s", sc.listen_addr,
               ms_err_name(rc));
        return rc;
    }
    MS_ASSERT(ms_rpc_server_port(n->srv) > 0);
    return 0;
}

/* Prints the bound address: host of `listen` with the real port. */
static void log_listening(const struct ms_node *n)
{
    const char *listen = ms_config_get_str(n->cfg, "listen");
    const char *colon = strrchr(listen, ':');
    MS_ASSERT(colon != NULL);
    int port = ms_rpc_server_port(n->srv);
    MS_ASSERT(port > 0 && port <= 65535);
    ms_log(MS_LOG_INFO, "node", "event=listening addr=%.*s:%d node_id=%" PRIu64 " rack=%s",
           (int)(colon - listen), listen, port, ms_config_get_u64(n->cfg, "node_id"),
           ms_config_get_str(n->cfg, "rack"));
    if (!ms_config_has(n->cfg, "meta_address"))
        ms_log(MS_LOG_INFO, "node", "event=standalone why=\"no meta_address\"");
    else /* Registration and heartbeats come with the metadata service (its issue). */
        ms_log(MS_LOG_INFO, "node", "event=meta_configured registration=pending");
}

/* Tears down whatever was started, in reverse order. Returns the first close error. */
static int node_teardown(struct ms_node *n)
{
    MS_ASSERT(n != NULL);
    ms_rpc_server_destroy(n->srv); /* drains, then cancels: every call ends here */
    n->srv = NULL;
    ms_node_service_destroy(n->svc);
    ms_fragstore_close(n->store);
    ms_kv_close(n->kv);
    for (unsigned i = 0; i < n->n_write_ios; i++)
        ms_io_destroy(n->write_ios[i]);
    for (unsigned i = 0; i < n->n_read_ios; i++)
        ms_io_destroy(n->read_ios[i]);
    ms_io_destroy(n->sync_io);
    ms_io_destroy(n->io);
    ms_captoken_keyring_destroy(n->ring);
    ms_config_destroy(n->cfg);
    if (n->rpc_inited)
        ms_rpc_fini();
    free(n);
    return 0;
}

int ms_node_start(const struct ms_node_opts *opts, struct ms_node **out)
{
    MS_ASSERT(opts != NULL && out != NULL);
    if (opts->config_path == NULL)
        return -EINVAL;
    struct ms_node *n = calloc(1, sizeof(*n));
    if (n == NULL)
        return -ENOMEM;
    int rc = load_config(n, opts);
    if (rc == 0)
        rc = open_store(n);
    if (rc == 0)
        rc = start_service(n, opts);
    if (rc < 0) {
        int trc = node_teardown(n);
        (void)trc;
        return rc;
    }
    log_listening(n);
    *out = n;
    return 0;
}

int ms_node_port(const struct ms_node *node)
{
    MS_ASSERT(node != NULL && node->srv != NULL);
    return ms_rpc_server_port(node->srv);
}

void ms_node_request_stop(struct ms_node *node)
{
    MS_ASSERT(node != NULL && node->srv != NULL);
    ms_rpc_server_request_stop(node->srv);
}

int ms_node_stop(struct ms_node *node, bool wait)
{
    if (node == NULL)
        return 0;
    MS_ASSERT(node->srv != NULL);
    if (!wait)
        ms_rpc_server_request_stop(node->srv);
    ms_rpc_server_wait(node->srv);
    ms_log(MS_LOG_INFO, "node", "event=drained");
    struct ms_node_service_counters cnt;
    ms_node_service_counters(node->svc, &cnt);
    ms_log(MS_LOG_INFO, "node",
           "event=stopped puts=%" PRIu64 " put_failures=%" PRIu64 " gets=%" PRIu64
           " deletes=%" PRIu64 " denied=%" PRIu64,
           cnt.puts_committed, cnt.puts_failed, cnt.gets, cnt.deletes, cnt.denied);
    return node_teardown(node);
}

static void on_signal(int signo, void *arg)
{
    struct ms_node *n = arg;
    MS_ASSERT(n != NULL);
    ms_log(MS_LOG_INFO, "node", "event=signal signo=%d action=drain", signo);
    ms_node_request_stop(n);
}

int ms_node_run(const struct ms_node_opts *opts)
{
    struct ms_node *n = NULL;
    struct ms_rpc_sigwait *sw = NULL;
    MS_ASSERT(opts != NULL);
    /* Before any thread exists (RocksDB, io, workers, gRPC): every thread inherits the mask. */
    int rc = ms_rpc_signals_block();
    if (rc < 0)
        return rc;
    rc = ms_node_start(opts, &n);
    if (rc < 0)
        return rc;
    rc = ms_rpc_sigwait_start(on_signal, n, &sw);
    if (rc < 0)
        ms_node_request_stop(n);
    int src = ms_node_stop(n, true);
    ms_rpc_sigwait_stop(sw);
    return rc < 0 ? rc : src;
}

void ms_node_config_usage(int fd)
{
    MS_ASSERT(fd >= 0);
    dprintf(fd, "configuration keys (key = value; docs/node.md, deploy/config/node.conf):\n");
    for (size_t i = 0; i < node_schema.n_keys; i++) {
        const struct ms_config_key *k = &node_keys[i];
        dprintf(fd, "  %-24s %s%s%s%s\n", k->name,
                (k->flags & MS_CONFIG_REQUIRED) ? "required" : "optional",
                (k->flags & MS_CONFIG_LIST) ? ", list (may repeat)" : "",
                k->default_value != NULL ? ", default " : "",
                k->default_value != NULL ? k->default_value : "");
    }
}
