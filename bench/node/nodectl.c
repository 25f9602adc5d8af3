/*
 * nodectl.c - medstore-nodectl: a small operator and demo client for one storage node, until
 * the medstore CLI and the metadata service take over placement and tokens.
 *
 *   medstore-nodectl put    COMMON --object HEX32 --file FILE [--save DIR]
 *   medstore-nodectl get    COMMON --object HEX32 --frag I [--bytes OFF:LEN |
 *                                  --segments FIRST:COUNT] --out FILE
 *   medstore-nodectl delete COMMON --object HEX32 --frag I
 *   medstore-nodectl stat   COMMON --object HEX32 --frag I
 *   medstore-nodectl info   COMMON
 *   COMMON = --target HOST:PORT --pki DIR --as PRINCIPAL [--node ID] [--key-id N]
 *
 * --pki DIR is a medstore-ca directory: DIR/ca.crt, DIR/<principal>.crt/.key and, for data
 * commands, the token signing key DIR/token-<key id>.key: this tool mints its own short-lived
 * capability tokens as meta would (a test and demo convenience: it needs the signing key).
 * put encodes FILE with the codec (segments, zstd when it pays, AES-256-GCM under a fresh
 * random key that is then wiped, RS 4+2, XXH3 shard records) and puts all six fragments; the
 * node only ever sees ciphertext. --save DIR keeps the six fragment files for comparisons.
 * Exit status: 0 ok, 1 the call failed (status and reason printed), 2 usage.
 */
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "codec/codec.h"
#include "codec/frag_format.h"
#include "common/clock.h"
#include "common/ms_assert.h"
#include "rpc/captoken.h"
#include "rpc/node_rpc.h"
#include "rpc/rpc.h"

#define PATH_BYTES 1024
#define TOKEN_TTL_MS 60000u

struct args {
    const char *cmd, *target, *pki, *as, *object, *file, *save, *out, *bytes, *segments;
    unsigned long node, key_id, frag;
    bool have_frag;
};

static const char usage_text[] =
    "usage: medstore-nodectl put    COMMON --object HEX32 --file FILE [--save DIR]\n"
    "       medstore-nodectl get    COMMON --object HEX32 --frag I [--bytes OFF:LEN |\n"
    "                               --segments FIRST:COUNT] --out FILE\n"
    "       medstore-nodectl delete COMMON --object HEX32 --frag I\n"
    "       medstore-nodectl stat   COMMON --object HEX32 --frag I\n"
    "       medstore-nodectl info   COMMON\n"
    "COMMON = --target HOST:PORT --pki DIR --as PRINCIPAL [--node ID] [--key-id N]\n"
    "  --pki DIR: medstore-ca directory (ca.crt, PRINCIPAL.crt/.key, token-N.key)\n";

static int usage(const char *why)
{
    if (why != NULL)
        fprintf(stderr, "medstore-nodectl: %s\n", why);
    fputs(usage_text, why != NULL ? stderr : stdout);
    return why != NULL ? 2 : 0;
}

static bool parse_ulong(const char *s, unsigned long max, unsigned long *out)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v > max || s[0] == '-')
        return false;
    *out = v;
    return true;
}

/* Table of "--flag value" options: name and where the value goes. */
static const char **str_slot(struct args *a, const char *flag)
{
    static const char *const names[] = {"--target", "--pki", "--as", "--object", "--file",
                                        "--save", "--out", "--bytes", "--segments"};
    const char **slots[] = {&a->target, &a->pki, &a->as, &a->object, &a->file,
                            &a->save, &a->out, &a->bytes, &a->segments};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strcmp(flag, names[i]) == 0)
            return slots[i];
    return NULL;
}

static int parse_args(int argc, char **argv, struct args *a)
{
    MS_ASSERT(a != NULL && argc >= 2);
    memset(a, 0, sizeof(*a));
    a->cmd = argv[1];
    a->node = 1;
    a->key_id = 1;
    for (int i = 2; i < argc; i++) {
        if (i + 1 >= argc)
            return usage("an option lacks its value");
        const char **slot = str_slot(a, argv[i]);
        const char *v = argv[++i];
        if (slot != NULL)
            *slot = v;
        else if (strcmp(argv[i - 1], "--node") == 0 && parse_ulong(v, UINT32_MAX, &a->node))
            continue;
        else if (strcmp(argv[i - 1], "--key-id") == 0 && parse_ulong(v, UINT32_MAX, &a->key_id))
            continue;
        else if (strcmp(argv[i - 1], "--frag") == 0 && parse_ulong(v, 31, &a->frag))
            a->have_frag = true;
        else
            return usage("unknown option or bad value");
    }
    if (a->target == NULL || a->pki == NULL || a->as == NULL)
        return usage("--target, --pki and --as are required");
    return -1;
}

static struct ms_rpc_client *connect_node(const struct args *a)
{
    char ca[PATH_BYTES], crt[PATH_BYTES], key[PATH_BYTES];
    snprintf(ca, sizeof(ca), "%s/ca.crt", a->pki);
    snprintf(crt, sizeof(crt), "%s/%s.crt", a->pki, a->as);
    snprintf(key, sizeof(key), "%s/%s.key", a->pki, a->as);
    struct ms_rpc_client_config cc = {.target = a->target, .tls = {ca, crt, key},
                                      .default_deadline_ms = 60000, .data_tuning = true};
    struct ms_rpc_client *c = NULL;
    int rc = ms_rpc_client_create(&cc, &c);
    if (rc < 0)
        fprintf(stderr, "medstore-nodectl: client: %s\n", medstore_strerror(rc));
    return c;
}

/* Mints a token for action on the object's fragments in bitmap. */
static int mint(const struct args *a, unsigned action, const struct ms_oid *oid, uint32_t bitmap,
                uint8_t out[MS_CAPTOKEN_WIRE_BYTES])
{
    char path[PATH_BYTES];
    struct ms_captoken_signer *s = NULL;
    snprintf(path, sizeof(path), "%s/token-%lu.key", a->pki, a->key_id);
    int rc = ms_captoken_signer_from_file((uint32_t)a->key_id, path, &s);
    if (rc < 0) {
        fprintf(stderr, "medstore-nodectl: token key %s: %s\n", path, medstore_strerror(rc));
        return rc;
    }
    uint64_t expiry = ms_clock_now_unix_ms(ms_clock_real()) + TOKEN_TTL_MS;
    rc = ms_captoken_mint(s, action, (uint32_t)a->node, oid, bitmap, expiry, out);
    ms_captoken_signer_destroy(s);
    return rc;
}

static int report(const char *what, int rc, const struct ms_rpc_status *st)
{
    if (rc == 0)
        return 0;
    fprintf(stderr, "medstore-nodectl: %s failed: %s (grpc status %d, reason %s): %s\n", what,
            ms_err_name(rc), st->grpc_status, st->reason[0] ? st->reason : "-", st->message);
    return 1;
}

/* Reads a whole file into a malloc'd buffer; sets *data and *len only on success. */
static int read_file(const char *path, uint8_t **data, size_t *len)
{
    FILE *f = fopen(path, "rb");
    struct stat st;
    if (f == NULL)
        return -errno;
    if (fstat(fileno(f), &st) != 0 || st.st_size < 0) {
        int rc = -errno;
        fclose(f);
        return rc;
    }
    size_t n = (size_t)st.st_size;
    uint8_t *buf = malloc(n + 1);
    size_t got = buf != NULL ? fread(buf, 1, n, f) : 0;
    fclose(f);
    if (buf == NULL || got != n) {
        int rc = buf == NULL ? -ENOMEM : -EIO;
        free(buf);
        return rc;
    }
    *data = buf;
    *len = n;
    return 0;
}

static int write_file(const char *path, const uint8_t *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (f == NULL)
        return -errno;
    size_t n = fwrite(data, 1, len, f);
    int rc = fclose(f);
    return n == len && rc == 0 ? 0 : -EIO;
}

/* Codec-encodes obj into k + m fragments under a fresh random key, wiped afterwards. */
static int encode(const struct ms_oid *oid, const uint8_t *obj, size_t len,
                  struct ms_codec_fragments *f)
{
    struct ms_codec_ctx *ctx = NULL;
    struct ms_codec_params p;
    uint8_t key[MS_CODEC_KEY_BYTES];
    MS_ASSERT(oid != NULL && f != NULL);
    ms_codec_params_default(&p);
    int rc = ms_codec_ctx_create(&ctx);
    if (rc < 0)
        return rc;
    randombytes_buf(key, sizeof(key));
    rc = ms_codec_encode(ctx, &p, oid, key, obj, len, f);
    sodium_memzero(key, sizeof(key));
    ms_codec_ctx_destroy(ctx);
    return rc;
}

static int cmd_put(const struct args *a, struct ms_rpc_client *c, const struct ms_oid *oid)
{
    uint8_t *obj = NULL;
    size_t len = 0;
    struct ms_codec_fragments f = {0};
    if (a->file == NULL)
        return usage("put needs --file");
    int rc = read_file(a->file, &obj, &len);
    if (rc == 0)
        rc = encode(oid, obj, len, &f);
    if (obj != NULL)
        sodium_memzero(obj, len);
    free(obj);
    if (rc < 0) {
        fprintf(stderr, "medstore-nodectl: %s: %s\n", a->file, medstore_strerror(rc));
        return 1;
    }
    printf("object %s: %zu bytes -> %u fragments (RS 4+2, AES-256-GCM, XXH3 records)\n",
           a->object, len, f.n);
    int status = 0;
    for (unsigned i = 0; i < f.n && status == 0; i++) {
        uint8_t tok[MS_CAPTOKEN_WIRE_BYTES];
        struct ms_rpc_status st = {0};
        struct ms_node_put_result res = {0};
        struct ms_node_ref r = {.oid = *oid, .frag_index = i};
        if (mint(a, MS_CAP_PUT, oid, 1u << i, tok) < 0)
            status = 1;
        struct ms_node_call_opts o = {.token = tok, .token_len = sizeof(tok)};
        rc = status ? -EINVAL : ms_node_rpc_put(c, &o, &r, f.frag[i], f.frag[i] + MS_FRAG_HDR_BYTES,
                                                f.frag_len[i] - MS_FRAG_HDR_BYTES, 0, &res, &st);
        status = status ? status : report("put", rc, &st);
        if (status == 0)
            printf("  fragment %u: %llu bytes stored, durable\n", i,
                   (unsigned long long)res.stored_bytes);
        if (status == 0 && a->save != NULL) {
            char path[PATH_BYTES];
            snprintf(path, sizeof(path), "%s/frag.%u", a->save, i);
            status = write_file(path, f.frag[i], f.frag_len[i]) == 0 ? 0 : 1;
        }
    }
    ms_codec_fragments_free(&f);
    return status;
}

/* "A:B" into two numbers. */
static bool parse_pair(const char *s, uint64_t *x, uint64_t *y)
{
    char *end;
    errno = 0;
    unsigned long long a = strtoull(s, &end, 10);
    if (errno != 0 || end == s || *end != ':')
        return false;
    const char *t = end + 1;
    unsigned long long b = strtoull(t, &end, 10);
    if (errno != 0 || end == t || *end != '\0')
        return false;
    *x = a;
    *y = b;
    return true;
}

static int cmd_get(const struct args *a, struct ms_rpc_client *c, const struct ms_oid *oid)
{
    struct ms_node_get_req g = {.ref = {.oid = *oid, .frag_index = (uint32_t)a->frag}};
    if (!a->have_frag || a->out == NULL)
        return usage("get needs --frag and --out");
    if (a->bytes != NULL && !parse_pair(a->bytes, &g.first, &g.count))
        return usage("--bytes OFF:LEN");
    if (a->segments != NULL && !parse_pair(a->segments, &g.first, &g.count))
        return usage("--segments FIRST:COUNT");
    g.kind = a->bytes ? MS_NODE_RANGE_BYTES
                      : a->segments ? MS_NODE_RANGE_SEGMENTS : MS_NODE_RANGE_ALL;
    uint8_t tok[MS_CAPTOKEN_WIRE_BYTES];
    if (mint(a, MS_CAP_GET, oid, 1u << a->frag, tok) < 0)
        return 1;
    struct ms_node_call_opts o = {.token = tok, .token_len = sizeof(tok)};
    size_t cap = 256u << 20, n = 0;
    uint64_t flen = 0;
    uint8_t *buf = malloc(cap);
    struct ms_rpc_status st = {0};
    int rc = buf != NULL ? ms_node_rpc_get(c, &o, &g, buf, cap, &n, &flen, &st) : -ENOMEM;
    int status = report("get", rc, &st);
    if (status == 0)
        status = write_file(a->out, buf, n) == 0 ? 0 : 1;
    if (status == 0)
        printf("fragment %lu: read %zu bytes (of %llu stored), every shard record verified\n",
               a->frag, n, (unsigned long long)flen);
    free(buf);
    return status;
}

static int cmd_delete(const struct args *a, struct ms_rpc_client *c, const struct ms_oid *oid)
{
    if (!a->have_frag)
        return usage("delete needs --frag");
    uint8_t tok[MS_CAPTOKEN_WIRE_BYTES];
    if (mint(a, MS_CAP_DELETE, oid, 1u << a->frag, tok) < 0)
        return 1;
    struct ms_node_call_opts o = {.token = tok, .token_len = sizeof(tok)};
    struct ms_node_ref r = {.oid = *oid, .frag_index = (uint32_t)a->frag};
    struct ms_node_delete_result res = {0};
    struct ms_rpc_status st = {0};
    int status = report("delete", ms_node_rpc_delete(c, &o, &r, &res, &st), &st);
    if (status == 0)
        printf("fragment %lu: %s, %llu bytes overwritten with zeros, synced, unlinked\n",
               a->frag, res.existed ? "deleted" : "did not exist",
               (unsigned long long)res.wiped_bytes);
    return status;
}

static int cmd_stat_info(const struct args *a, struct ms_rpc_client *c, const struct ms_oid *oid)
{
    struct ms_rpc_status st = {0};
    if (strcmp(a->cmd, "info") == 0) {
        struct ms_node_info i;
        int status = report("info", ms_node_rpc_info(c, NULL, &i, &st), &st);
        if (status == 0)
            printf("node %u rack %s: %llu fragments, %llu of %llu bytes free, software %s, "
                   "format %u, protocol %u\n",
                   i.node_id, i.rack, (unsigned long long)i.fragment_count,
                   (unsigned long long)i.free_bytes, (unsigned long long)i.capacity_bytes,
                   i.software_version, i.format_version, i.protocol_version);
        return status;
    }
    if (!a->have_frag)
        return usage("stat needs --frag");
    struct ms_node_ref r = {.oid = *oid, .frag_index = (uint32_t)a->frag};
    struct ms_node_entry e;
    int status = report("stat", ms_node_rpc_stat(c, NULL, &r, &e, &st), &st);
    if (status == 0)
        printf("fragment %lu: %llu bytes, committed at %llu (unix ms)\n", a->frag,
               (unsigned long long)e.length, (unsigned long long)e.committed_unix_ms);
    return status;
}

int main(int argc, char **argv)
{
    struct args a;
    struct ms_oid oid = {{0}};
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)
        return usage(argc < 2 ? "a command is required" : NULL);
    int rc = parse_args(argc, argv, &a);
    if (rc >= 0)
        return rc;
    bool needs_oid = strcmp(a.cmd, "info") != 0;
    if (needs_oid && (a.object == NULL ||
                      ms_oid_from_hex(a.object, strlen(a.object), &oid) < 0 ||
                      ms_oid_is_nil(&oid)))
        return usage("--object must be 32 hex digits, not all zero");
    if (sodium_init() < 0)
        return 1;
    ms_rpc_init();
    struct ms_rpc_client *c = connect_node(&a);
    int status = 2;
    if (c == NULL)
        status = 1;
    else if (strcmp(a.cmd, "put") == 0)
        status = cmd_put(&a, c, &oid);
    else if (strcmp(a.cmd, "get") == 0)
        status = cmd_get(&a, c, &oid);
    else if (strcmp(a.cmd, "delete") == 0)
        status = cmd_delete(&a, c, &oid);
    else if (strcmp(a.cmd, "stat") == 0 || strcmp(a.cmd, "info") == 0)
        status = cmd_stat_info(&a, c, &oid);
    else
        status = usage("unknown command");
    ms_rpc_client_destroy(c);
    ms_rpc_fini();
    return status;
}
