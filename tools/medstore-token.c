/*
 * medstore-token - mints a capability token from a token signing key, for tests and
 * operators (meta mints the tokens of real traffic). A thin main over src/rpc/captoken.c.
 *
 *   medstore-token mint --key FILE --key-id N --action put|get|delete|repair-put --node ID
 *                       --object HEX32 --frags 0,1,5 (--ttl-ms N | --expiry-ms UNIX_MS)
 *                       [--out FILE]
 *
 * Prints the 120-byte token as 240 lowercase hex characters and a newline, or writes the raw
 * bytes to a new file (mode 0600) with --out. The token is a credential: it goes only where
 * asked, never to a log. Exit status: 0 done, 1 failure, 2 bad arguments.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/err.h"
#include "common/ids.h"
#include "common/ms_assert.h"
#include "rpc/captoken.h"
#include "tool_args.h"

static const char usage_text[] =
    "usage: medstore-token mint --key FILE --key-id N --action put|get|delete|repair-put\n"
    "                           --node ID --object HEX32 --frags LIST\n"
    "                           (--ttl-ms N | --expiry-ms UNIX_MS) [--out FILE]\n"
    "       medstore-token --help\n"
    "\n"
    "  --key FILE        token signing key (base64 Ed25519 seed, mode 0600), from\n"
    "                    medstore-ca token-key\n"
    "  --key-id N        its key id (as in the nodes' token_pubkey = N:... line)\n"
    "  --node ID         audience node id (1..4294967295)\n"
    "  --object HEX32    object id, 32 hex digits\n"
    "  --frags LIST      fragment indexes 0..31, comma separated (e.g. 0,1,5)\n"
    "  --ttl-ms N        lifetime from now, 1..3600000 ms; or --expiry-ms for an absolute\n"
    "                    unix-ms expiry (tests: tokens already expired or at a boundary)\n"
    "  --out FILE        write the 120 raw bytes to a new file (0600) instead of hex on stdout\n";

struct args {
    const char *key_path;
    const char *out_path;
    uint32_t key_id;
    uint32_t node_id;
    uint32_t frag_bitmap;
    uint64_t ttl_ms;
    uint64_t expiry_ms;
    enum ms_cap_action action;
    struct ms_oid oid;
    bool have_key_id, have_action, have_node, have_oid, have_frags, have_ttl, have_expiry;
};

/* Prints "medstore-token: MSG[: 'ARG']" and a hint; returns the usage exit status. */
static int usage_error(const char *msg, const char *arg)
{
    return ms_tool_usage_error("medstore-token", msg, arg);
}

/* Parses "0,1,5" into a bitmap; each index < 32, no empty items, no duplicates. */
static int parse_frags(const char *s, uint32_t *bitmap)
{
    MS_ASSERT(s != NULL && bitmap != NULL);
    uint32_t bits = 0;
    const char *p = s;
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t n = comma != NULL ? (size_t)(comma - p) : strlen(p);
        char item[4];
        uint64_t idx = 0;
        if (n == 0 || n >= sizeof(item))
            return -EINVAL;
        memcpy(item, p, n);
        item[n] = '\0';
        if (ms_tool_parse_u64(item, 0, MS_CAPTOKEN_MAX_FRAGS - 1, &idx) != 0)
            return -EINVAL;
        if ((bits & (UINT32_C(1) << idx)) != 0)
            return -EINVAL;
        bits |= UINT32_C(1) << idx;
        if (comma == NULL)
            break;
        p = comma + 1;
    }
    *bitmap = bits;
    return 0;
}

/* Applies one option; returns 0 or the usage exit status. */
static int apply_opt(int c, const char *val, void *arg)
{
    struct args *a = arg;
    uint64_t v = 0;
    switch (c) {
    case 'K': a->key_path = val; return 0;
    case 'o': a->out_path = val; return 0;
    case 'k':
        if (ms_tool_parse_u64(val, 0, UINT32_MAX, &v) != 0)
            return usage_error("--key-id: not a 32-bit unsigned number", val);
        a->key_id = (uint32_t)v;
        a->have_key_id = true;
        return 0;
    case 'a':
        if (ms_cap_action_parse(val, &a->action) != 0)
            return usage_error("--action: expected put, get, delete or repair-put", val);
        a->have_action = true;
        return 0;
    case 'n':
        if (ms_tool_parse_u64(val, 1, UINT32_MAX, &v) != 0)
            return usage_error("--node: not a node id (1..4294967295)", val);
        a->node_id = (uint32_t)v;
        a->have_node = true;
        return 0;
    case 'O':
        if (ms_oid_from_hex(val, strlen(val), &a->oid) != 0)
            return usage_error("--object: expected 32 hex digits", val);
        a->have_oid = true;
        return 0;
    case 'f':
        if (parse_frags(val, &a->frag_bitmap) != 0)
            return usage_error("--frags: expected distinct indexes 0..31, e.g. 0,1,5", val);
        a->have_frags = true;
        return 0;
    case 't':
        if (ms_tool_parse_u64(val, 1, MS_CAPTOKEN_TTL_MS_MAX, &a->ttl_ms) != 0)
            return usage_error("--ttl-ms: expected 1..3600000", val);
        a->have_ttl = true;
        return 0;
    case 'e':
        if (ms_tool_parse_u64(val, 0, UINT64_MAX, &a->expiry_ms) != 0)
            return usage_error("--expiry-ms: expected unix milliseconds", val);
        a->have_expiry = true;
        return 0;
    default:
        return MS_TOOL_EXIT_USAGE;
    }
}

static int check_complete(const struct args *a)
{
    if (a->key_path == NULL || !a->have_key_id)
        return usage_error("--key FILE and --key-id N are required", NULL);
    if (!a->have_action || !a->have_node || !a->have_oid || !a->have_frags)
        return usage_error("--action, --node, --object and --frags are required", NULL);
    if (a->have_ttl == a->have_expiry)
        return usage_error("give exactly one of --ttl-ms and --expiry-ms", NULL);
    return 0;
}

static int parse_args(int argc, char **argv, struct args *a)
{
    static const struct option opts[] = {
        {"key", required_argument, NULL, 'K'},    {"key-id", required_argument, NULL, 'k'},
        {"action", required_argument, NULL, 'a'}, {"node", required_argument, NULL, 'n'},
        {"object", required_argument, NULL, 'O'}, {"frags", required_argument, NULL, 'f'},
        {"ttl-ms", required_argument, NULL, 't'}, {"expiry-ms", required_argument, NULL, 'e'},
        {"out", required_argument, NULL, 'o'},    {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int rc = ms_tool_getopt(argc, argv, opts, "medstore-token", usage_text, apply_opt, a);
    if (rc != 0)
        return rc;
    return check_complete(a);
}

static int emit(const uint8_t tok[MS_CAPTOKEN_WIRE_BYTES], const char *out_path)
{
    if (out_path == NULL) {
        char hex[2 * MS_CAPTOKEN_WIRE_BYTES + 1];
        sodium_bin2hex(hex, sizeof(hex), tok, MS_CAPTOKEN_WIRE_BYTES);
        return printf("%s\n", hex) < 0 || fflush(stdout) != 0 ? -EIO : 0;
    }
    int fd = open(out_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return -errno;
    ssize_t w = write(fd, tok, MS_CAPTOKEN_WIRE_BYTES);
    int rc = w == (ssize_t)MS_CAPTOKEN_WIRE_BYTES ? 0 : (w < 0 ? -errno : -EIO);
    if (close(fd) != 0 && rc == 0)
        rc = -errno;
    return rc;
}

static int mint(const struct args *a)
{
    struct ms_captoken_signer *signer = NULL;
    int rc = ms_captoken_signer_from_file(a->key_id, a->key_path, &signer);
    if (rc != 0) {
        fprintf(stderr, "medstore-token: cannot load key %s: %s\n", a->key_path,
                medstore_strerror(rc));
        return 1;
    }
    uint64_t expiry =
        a->have_expiry ? a->expiry_ms : ms_clock_now_unix_ms(ms_clock_real()) + a->ttl_ms;
    uint8_t tok[MS_CAPTOKEN_WIRE_BYTES];
    rc = ms_captoken_mint(signer, a->action, a->node_id, &a->oid, a->frag_bitmap, expiry, tok);
    ms_captoken_signer_destroy(signer);
    if (rc == 0)
        rc = emit(tok, a->out_path);
    sodium_memzero(tok, sizeof(tok));
    if (rc != 0) {
        fprintf(stderr, "medstore-token: %s\n", medstore_strerror(rc));
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return usage_error("missing command", NULL);
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        fputs(usage_text, stdout);
        return 0;
    }
    if (strcmp(argv[1], "mint") != 0)
        return usage_error("unknown command", argv[1]);
    struct args a = {.key_id = 0};
    int rc = parse_args(argc - 1, argv + 1, &a);
    return rc != 0 ? rc : mint(&a);
}
