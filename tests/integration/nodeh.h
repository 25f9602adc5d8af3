/*
 * nodeh.h - harness for the storage node's integration tests: a throw-away PKI made at run
 * time by the real tools (tests/lib/mkcerts.sh -> medstore-ca), the REAL medstore-node binary
 * started on 127.0.0.1 with a generated config, mTLS clients as any principal, tokens.
 *
 * Every node started here is recorded in a process-wide list and killed at exit, so a failing
 * test never leaves a server behind; every wait is bounded in time. Functions assert (cmocka)
 * on setup failures rather than returning codes, except where a test wants the failure.
 */
#ifndef MS_TESTS_NODEH_H
#define MS_TESTS_NODEH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/types.h>

#include "common/ids.h"
#include "rpc/captoken.h"
#include "rpc/node_rpc.h"
#include "rpc/rpc.h"

#define NH_PATH 512

/* snprintf that must fit (test setup: a truncated path is a failed test, not a surprise). */
#define NH_SNPRINTF(buf, cap, ...)                                                             \
    do {                                                                                       \
        int nh_n_ = snprintf((buf), (cap), __VA_ARGS__);                                       \
        if (nh_n_ < 0 || (size_t)nh_n_ >= (size_t)(cap))                                       \
            abort();                                                                           \
    } while (0)
#define NH_NODE_ID 1u

/* A PKI made by mkcerts.sh under root (see tests/lib/mkcerts.sh for the principals). */
struct nh_pki {
    char root[NH_PATH];
    char pubkey_line[256]; /* token_pubkey = 1:<base64> */
};

/* Makes the PKI in a fresh temp directory (removed by nh_pki_destroy). */
void nh_pki_make(struct nh_pki *p);
void nh_pki_destroy(struct nh_pki *p);

/* Path of a PKI file: rel like "ca/ca.crt", "ca/alice.key", "rogue/alice.crt". */
void nh_pki_path(const struct nh_pki *p, const char *rel, char out[NH_PATH]);

struct nh_opts {
    const char *listen;     /* NULL = "127.0.0.1:0" */
    const char *data_dir;   /* NULL = <dir>/data */
    const char *extra;      /* more config lines (ends with a newline), or NULL */
    const char *run_as;     /* NULL, or a user name: the node runs under setpriv as that user */
    bool insecure;          /* --insecure-for-tests */
    unsigned wait_ms;       /* how long to wait for `event=listening`; 0 = 20000 */
};

struct nh_node {
    pid_t pid;
    int port;
    char dir[NH_PATH];  /* working directory: config, log, default data dir */
    char conf[NH_PATH];
    char log[NH_PATH];
    char data[NH_PATH];
};

/* Writes the config and starts medstore-node; waits for its listening line. Returns 0 and
 * fills n->port, or -1 when the process exited first (n->pid then holds its exit status
 * encoded as by waitpid, and the log says why) or did not listen in time (it is killed). */
int nh_node_start(struct nh_node *n, const struct nh_pki *p, const struct nh_opts *o);

/* SIGTERM, then waits (bounded: 30 s, then SIGKILL). Returns the exit status, 128 + signal
 * when killed by a signal. */
int nh_node_stop(struct nh_node *n);

/* kill -9 and reap. */
void nh_node_kill9(struct nh_node *n);

/* True when the node's log contains s. */
bool nh_log_contains(const struct nh_node *n, const char *s);

/* An mTLS client to 127.0.0.1:port presenting the certificate of who ("alice", "meta",
 * "rogue/alice", ...), trusting ca ("ca" = the cluster CA, "rogue" = the rogue one). */
struct ms_rpc_client *nh_client_as(const struct nh_pki *p, int port, const char *who,
                                   const char *ca);

/* The token signing key of the PKI (key id 1). */
struct ms_captoken_signer *nh_signer(const struct nh_pki *p);

/* A token and call options carrying it. */
struct nh_tok {
    uint8_t b[MS_CAPTOKEN_WIRE_BYTES];
    struct ms_node_call_opts opts;
};

/* Mints action on (oid, fragments in bitmap) for node NH_NODE_ID, valid for ttl_ms. */
void nh_mint(const struct ms_captoken_signer *s, unsigned action, const struct ms_oid *oid,
             uint32_t bitmap, int64_t ttl_ms, struct nh_tok *t);

/* Unix ms now (tests only; the node has its own clock port). */
uint64_t nh_now_ms(void);

/* Distinct TCP ports pid listens on (from /proc/net/tcp{,6} and /proc/pid/fd). Returns the
 * count written to ports (at most cap). */
size_t nh_listening_ports(pid_t pid, int *ports, size_t cap);

/* A free TCP port on 127.0.0.1 (bind :0, read, close; racy but fine for tests). */
int nh_free_port(void);

#endif
