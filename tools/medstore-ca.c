/*
 * medstore-ca - creates a cluster's certificate authority, its certificates and the token
 * signing key. A thin main: it parses flags and calls src/rpc/certs.c (docs/certificates.md).
 *
 *   medstore-ca init --dir DIR [--name NAME] [--days N]
 *   medstore-ca issue --dir DIR --cn PRINCIPAL [--dns NAME]... [--ip ADDR]... [--days N]
 *                     [--out PREFIX]
 *   medstore-ca token-key --dir DIR [--key-id N]
 *
 * Exit status: 0 done, 1 the operation failed (message on stderr), 2 bad arguments.
 * Existing keys and certificates are never overwritten.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/ms_assert.h"
#include "rpc/certs.h"
#include "tool_args.h"

static const char usage_text[] =
    "usage: medstore-ca init --dir DIR [--name NAME] [--days N]\n"
    "       medstore-ca issue --dir DIR --cn PRINCIPAL [--dns NAME]... [--ip ADDR]...\n"
    "                         [--days N] [--out PREFIX]\n"
    "       medstore-ca token-key --dir DIR [--key-id N]\n"
    "       medstore-ca --help\n"
    "\n"
    "  init       create the cluster CA: DIR/ca.key (0600) and DIR/ca.crt\n"
    "             (ECDSA P-256, CA:TRUE; default name medstore-cluster-ca, 3650 days)\n"
    "  issue      issue a certificate for a principal (CN): node-<id>, meta, a service or a\n"
    "             user name; DNS and IP subject alternative names; serverAuth+clientAuth;\n"
    "             writes PREFIX.key (0600) and PREFIX.crt, PREFIX defaults to DIR/<cn>;\n"
    "             default 365 days\n"
    "  token-key  create the Ed25519 token signing key DIR/token-<id>.key (0600, base64\n"
    "             seed) and DIR/token-<id>.pub; prints the nodes' config line\n"
    "             token_pubkey = <id>:<base64> (default key id 1)\n"
    "\n"
    "Existing files are never overwritten. Exit status: 0 ok, 1 failure, 2 bad arguments.\n";

struct args {
    const char *dir;
    const char *name;
    const char *cn;
    const char *out;
    const char *dns[MS_CERTS_SAN_MAX];
    size_t n_dns;
    const char *ips[MS_CERTS_SAN_MAX];
    size_t n_ips;
    unsigned days;
    uint32_t key_id;
    bool key_id_set;
};

/* Prints "medstore-ca: MSG[: 'ARG']" and a hint; returns the usage exit status. */
static int usage_error(const char *msg, const char *arg)
{
    return ms_tool_usage_error("medstore-ca", msg, arg);
}

/* Applies one option; returns 0 or the exit status of a usage error. */
static int apply_opt(int c, const char *val, void *arg)
{
    struct args *a = arg;
    uint64_t v = 0;
    switch (c) {
    case 'd': a->dir = val; return 0;
    case 'n': a->name = val; return 0;
    case 'c': a->cn = val; return 0;
    case 'o': a->out = val; return 0;
    case 'D':
        if (a->n_dns == MS_CERTS_SAN_MAX)
            return usage_error("too many --dns names", NULL);
        a->dns[a->n_dns++] = val;
        return 0;
    case 'I':
        if (a->n_ips == MS_CERTS_SAN_MAX)
            return usage_error("too many --ip addresses", NULL);
        a->ips[a->n_ips++] = val;
        return 0;
    case 'y':
        if (ms_tool_parse_u64(val, 1, MS_CERTS_DAYS_MAX, &v) != 0)
            return usage_error("--days: not a number of days in range", val);
        a->days = (unsigned)v;
        return 0;
    case 'k':
        if (ms_tool_parse_u64(val, 0, UINT32_MAX, &v) != 0)
            return usage_error("--key-id: not a 32-bit unsigned number", val);
        a->key_id = (uint32_t)v;
        a->key_id_set = true;
        return 0;
    default:
        return MS_TOOL_EXIT_USAGE;
    }
}

static int parse_args(int argc, char **argv, struct args *a)
{
    static const struct option opts[] = {
        {"dir", required_argument, NULL, 'd'},   {"name", required_argument, NULL, 'n'},
        {"days", required_argument, NULL, 'y'},  {"cn", required_argument, NULL, 'c'},
        {"dns", required_argument, NULL, 'D'},   {"ip", required_argument, NULL, 'I'},
        {"out", required_argument, NULL, 'o'},   {"key-id", required_argument, NULL, 'k'},
        {"help", no_argument, NULL, 'h'},        {NULL, 0, NULL, 0},
    };
    int rc = ms_tool_getopt(argc, argv, opts, "medstore-ca", usage_text, apply_opt, a);
    if (rc != 0)
        return rc;
    if (a->dir == NULL)
        return usage_error("--dir is required", NULL);
    return 0;
}

static int fail(int rc, const struct ms_certs_error *err)
{
    if (err->msg[0] != '\0')
        fprintf(stderr, "medstore-ca: %s\n", err->msg);
    else
        fprintf(stderr, "medstore-ca: failed: %s\n", medstore_strerror(rc));
    return rc == -EINVAL ? MS_TOOL_EXIT_USAGE : 1;
}

/* Options each command accepts; anything else is a usage error. */
static int check_allowed(const char *cmd, const struct args *a)
{
    bool init = strcmp(cmd, "init") == 0, issue = strcmp(cmd, "issue") == 0;
    bool tok = strcmp(cmd, "token-key") == 0;
    if (a->name != NULL && !init)
        return usage_error("--name only applies to init", NULL);
    if ((a->cn != NULL || a->out != NULL || a->n_dns > 0 || a->n_ips > 0) && !issue)
        return usage_error("--cn, --dns, --ip and --out only apply to issue", NULL);
    if (a->days != 0 && tok)
        return usage_error("--days does not apply to token-key", NULL);
    if (a->key_id_set && !tok)
        return usage_error("--key-id only applies to token-key", NULL);
    if (issue && a->cn == NULL)
        return usage_error("issue needs --cn PRINCIPAL", NULL);
    return 0;
}

static int run(const char *cmd, const struct args *a)
{
    struct ms_certs_error err = {{0}};
    int rc;
    if (strcmp(cmd, "init") == 0) {
        rc = ms_certs_ca_init(a->dir, a->name, a->days, &err);
        if (rc == 0)
            printf("created %s/ca.key and %s/ca.crt\n", a->dir, a->dir);
    } else if (strcmp(cmd, "issue") == 0) {
        struct ms_certs_leaf leaf = {
            .cn = a->cn, .dns = a->dns, .n_dns = a->n_dns, .ips = a->ips, .n_ips = a->n_ips,
            .days = a->days, .out_prefix = a->out,
        };
        rc = ms_certs_issue(a->dir, &leaf, &err);
        if (rc == 0 && a->out != NULL)
            printf("issued %s: %s.key and %s.crt\n", a->cn, a->out, a->out);
        else if (rc == 0)
            printf("issued %s: %s/%s.key and %s/%s.crt\n", a->cn, a->dir, a->cn, a->dir, a->cn);
    } else {
        char line[128];
        rc = ms_certs_token_key(a->dir, a->key_id, line, sizeof(line), &err);
        if (rc == 0)
            printf("%s\n", line);
    }
    return rc == 0 ? 0 : fail(rc, &err);
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return usage_error("missing command", NULL);
    const char *cmd = argv[1];
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
        fputs(usage_text, stdout);
        return 0;
    }
    if (strcmp(cmd, "init") != 0 && strcmp(cmd, "issue") != 0 && strcmp(cmd, "token-key") != 0)
        return usage_error("unknown command", cmd);
    struct args a = {.key_id = 1};
    int rc = parse_args(argc - 1, argv + 1, &a);
    if (rc == 0)
        rc = check_allowed(cmd, &a);
    return rc != 0 ? rc : run(cmd, &a);
}
