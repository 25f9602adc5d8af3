/*
 * test_certs.c - the cluster CA library (src/rpc/certs.c) and the medstore-ca tool.
 *
 * Everything is generated at run time in a private temporary directory: no key is ever
 * committed. Results are checked with OpenSSL directly (X509_verify_cert, extension readers),
 * not with certs.c's own helpers, so the library is judged by an independent reader.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "common/err.h"
#include "rpc/captoken.h"
#include "rpc/certs.h"
#include "testutil.h"

struct fx {
    char *dir;      /* temporary root */
    char ca[512];   /* cluster CA directory (initialised) */
    char path[512]; /* scratch */
};

/* snprintf that fails the test on truncation (paths in the tmpdir are short). */
static void pathf(char *buf, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void pathf(char *buf, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, cap, fmt, ap);
    va_end(ap);
    assert_true(n >= 0 && (size_t)n < cap);
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    umask(022);
    f->dir = ms_test_tmpdir("certs");
    pathf(f->ca, sizeof(f->ca), "%s/ca", f->dir);
    struct ms_certs_error err = {{0}};
    assert_int_equal(ms_certs_ca_init(f->ca, "test-cluster", 30, &err), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    ms_test_rmtree(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

static const char *join(struct fx *f, const char *dir, const char *name)
{
    pathf(f->path, sizeof(f->path), "%s/%s", dir, name);
    return f->path;
}

static X509 *load_cert(const char *path)
{
    FILE *fp = fopen(path, "r");
    assert_non_null(fp);
    X509 *x = PEM_read_X509(fp, NULL, NULL, NULL);
    fclose(fp);
    assert_non_null(x);
    return x;
}

static unsigned file_mode(const char *path)
{
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    return st.st_mode & 07777;
}

/* X509_verify_cert of leaf against the single trust anchor ca; returns the X509_V_* code. */
static int verify_with(const char *ca_path, const char *leaf_path, int purpose)
{
    X509 *ca = load_cert(ca_path), *leaf = load_cert(leaf_path);
    X509_STORE *store = X509_STORE_new();
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    assert_non_null(store);
    assert_non_null(ctx);
    assert_int_equal(X509_STORE_add_cert(store, ca), 1);
    assert_int_equal(X509_STORE_CTX_init(ctx, store, leaf, NULL), 1);
    if (purpose != 0)
        X509_STORE_CTX_set_purpose(ctx, purpose);
    int ok = X509_verify_cert(ctx);
    int code = X509_STORE_CTX_get_error(ctx);
    assert_true((ok == 1) == (code == X509_V_OK));
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(store);
    X509_free(leaf);
    X509_free(ca);
    return code;
}

static void cn_of(X509 *x, char *out, size_t cap)
{
    int n = X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, out, (int)cap);
    assert_true(n > 0);
}

static int issue(struct fx *f, const char *cn, const char *const *dns, size_t n_dns,
                 const char *const *ips, size_t n_ips)
{
    struct ms_certs_leaf leaf = {
        .cn = cn, .dns = dns, .n_dns = n_dns, .ips = ips, .n_ips = n_ips,
    };
    struct ms_certs_error err = {{0}};
    return ms_certs_issue(f->ca, &leaf, &err);
}

static void test_ca_init_files_modes_extensions(void **state)
{
    struct fx *f = *state;
    assert_int_equal(file_mode(join(f, f->ca, "ca.key")), 0600);
    assert_int_equal(file_mode(join(f, f->ca, "ca.crt")), 0644);
    assert_int_equal(file_mode(f->ca), 0700);
    X509 *ca = load_cert(join(f, f->ca, "ca.crt"));
    assert_int_equal(X509_check_ca(ca), 1);
    uint32_t ku = X509_get_key_usage(ca);
    assert_true((ku & KU_KEY_CERT_SIGN) != 0);
    assert_true((ku & KU_CRL_SIGN) != 0);
    assert_true((X509_get_extension_flags(ca) & EXFLAG_SS) != 0); /* self-signed */
    char cn[80];
    cn_of(ca, cn, sizeof(cn));
    assert_string_equal(cn, "test-cluster");
    EVP_PKEY *pk = X509_get0_pubkey(ca);
    assert_int_equal(EVP_PKEY_get_base_id(pk), EVP_PKEY_EC);
    char group[32];
    size_t glen = 0;
    assert_int_equal(EVP_PKEY_get_group_name(pk, group, sizeof(group), &glen), 1);
    assert_string_equal(group, "prime256v1");
    assert_int_equal(X509_verify(ca, pk), 1);
    X509_free(ca);
    /* The key file holds the CA's private key. */
    FILE *fp = fopen(join(f, f->ca, "ca.key"), "r");
    assert_non_null(fp);
    EVP_PKEY *key = PEM_read_PrivateKey(fp, NULL, NULL, NULL);
    fclose(fp);
    assert_non_null(key);
    ca = load_cert(join(f, f->ca, "ca.crt"));
    assert_int_equal(X509_check_private_key(ca, key), 1);
    EVP_PKEY_free(key);
    X509_free(ca);
}

/* SANs of x, flattened: "DNS:name" and "IP:addr" strings joined by ','. */
static void sans_of(X509 *x, char *out, size_t cap)
{
    GENERAL_NAMES *names = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
    assert_non_null(names);
    out[0] = '\0';
    for (int i = 0; i < sk_GENERAL_NAME_num(names); i++) {
        const GENERAL_NAME *gn = sk_GENERAL_NAME_value(names, i);
        char item[128];
        if (gn->type == GEN_DNS) {
            pathf(item, sizeof(item), "DNS:%s",
                     (const char *)ASN1_STRING_get0_data(gn->d.dNSName));
        } else {
            assert_int_equal(gn->type, GEN_IPADD);
            int len = ASN1_STRING_length(gn->d.iPAddress);
            char text[INET6_ADDRSTRLEN];
            assert_non_null(inet_ntop(len == 4 ? AF_INET : AF_INET6,
                                      ASN1_STRING_get0_data(gn->d.iPAddress), text,
                                      sizeof(text)));
            pathf(item, sizeof(item), "IP:%s", text);
        }
        if (out[0] != '\0')
            strncat(out, ",", cap - strlen(out) - 1);
        strncat(out, item, cap - strlen(out) - 1);
    }
    GENERAL_NAMES_free(names);
}

static void test_leaf_verifies_cn_sans_eku__Y_TRN_2(void **state)
{
    struct fx *f = *state;
    static const char *const dns[] = {"node1.rack-a.example", "localhost"};
    static const char *const ips[] = {"127.0.0.1", "::1"};
    assert_int_equal(issue(f, "node-1", dns, 2, ips, 2), 0);
    char ca_path[600], crt_path[600];
    pathf(ca_path, sizeof(ca_path), "%s/ca.crt", f->ca);
    pathf(crt_path, sizeof(crt_path), "%s/node-1.crt", f->ca);
    assert_int_equal(verify_with(ca_path, crt_path, 0), X509_V_OK);
    assert_int_equal(verify_with(ca_path, crt_path, X509_PURPOSE_SSL_SERVER), X509_V_OK);
    assert_int_equal(verify_with(ca_path, crt_path, X509_PURPOSE_SSL_CLIENT), X509_V_OK);
    X509 *x = load_cert(crt_path);
    char cn[80], sans[512];
    cn_of(x, cn, sizeof(cn));
    assert_string_equal(cn, "node-1");
    sans_of(x, sans, sizeof(sans));
    assert_string_equal(sans, "DNS:node1.rack-a.example,DNS:localhost,IP:127.0.0.1,IP:::1");
    uint32_t xku = X509_get_extended_key_usage(x);
    assert_true((xku & XKU_SSL_SERVER) != 0);
    assert_true((xku & XKU_SSL_CLIENT) != 0);
    assert_int_equal(X509_check_ca(x), 0);
    assert_int_equal(X509_get_version(x), X509_VERSION_3);
    X509_free(x);
    assert_int_equal(file_mode(join(f, f->ca, "node-1.key")), 0600);
    assert_int_equal(file_mode(join(f, f->ca, "node-1.crt")), 0644);
    /* The library's own verifier agrees and reports the CN. */
    struct ms_certs_error err = {{0}};
    assert_int_equal(ms_certs_verify(ca_path, crt_path, cn, sizeof(cn), &err), 0);
    assert_string_equal(cn, "node-1");
}

static void test_rogue_ca_leaf_does_not_verify__Y_TRN_2(void **state)
{
    struct fx *f = *state;
    char rogue[600], ca_path[600], crt_path[600], own[600];
    pathf(rogue, sizeof(rogue), "%s/rogue", f->dir);
    struct ms_certs_error err = {{0}};
    /* Same CA name as the cluster's: only the key tells them apart. */
    assert_int_equal(ms_certs_ca_init(rogue, "test-cluster", 30, &err), 0);
    static const char *const ips[] = {"127.0.0.1"};
    struct ms_certs_leaf leaf = {.cn = "meta", .ips = ips, .n_ips = 1};
    assert_int_equal(ms_certs_issue(rogue, &leaf, &err), 0);
    pathf(ca_path, sizeof(ca_path), "%s/ca.crt", f->ca);
    pathf(crt_path, sizeof(crt_path), "%s/meta.crt", rogue);
    pathf(own, sizeof(own), "%s/ca.crt", rogue);
    assert_int_equal(verify_with(own, crt_path, 0), X509_V_OK);
    int code = verify_with(ca_path, crt_path, 0);
    assert_true(code == X509_V_ERR_CERT_SIGNATURE_FAILURE ||
                code == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY);
    assert_int_equal(ms_certs_verify(ca_path, crt_path, NULL, 0, &err), -MEDSTORE_EAUTH);
    /* And the rogue CA itself is no leaf of ours either. */
    assert_int_not_equal(verify_with(ca_path, own, 0), X509_V_OK);
}

static void test_refuses_overwrite(void **state)
{
    struct fx *f = *state;
    uint8_t *before = NULL, *after = NULL;
    size_t nb = 0, na = 0;
    assert_int_equal(ms_test_read_file(join(f, f->ca, "ca.key"), &before, &nb), 0);
    struct ms_certs_error err = {{0}};
    assert_int_equal(ms_certs_ca_init(f->ca, NULL, 0, &err), -EEXIST);
    assert_non_null(strstr(err.msg, "refusing to overwrite"));
    assert_int_equal(ms_test_read_file(join(f, f->ca, "ca.key"), &after, &na), 0);
    assert_int_equal(na, nb);
    assert_memory_equal(after, before, nb);
    free(before);
    free(after);
    assert_int_equal(issue(f, "alice", NULL, 0, NULL, 0), 0);
    assert_int_equal(issue(f, "alice", NULL, 0, NULL, 0), -EEXIST);
    /* A stray certificate alone also blocks issuing (the key is not written either). */
    unlink(join(f, f->ca, "alice.key"));
    assert_int_equal(issue(f, "alice", NULL, 0, NULL, 0), -EEXIST);
    assert_int_equal(access(join(f, f->ca, "alice.key"), F_OK), -1);
    /* No temporaries left behind. */
    char cmd[700];
    pathf(cmd, sizeof(cmd), "ls %s | grep -q tmp", f->ca);
    assert_int_not_equal(system(cmd), 0);
}

static void test_rejects_bad_arguments(void **state)
{
    struct fx *f = *state;
    static const char *const bad_cn[] = {"", "a b", "-x", ".x", "a/b", "x\n",
        "0123456789012345678901234567890123456789012345678901234567890123456789"};
    for (size_t i = 0; i < sizeof(bad_cn) / sizeof(bad_cn[0]); i++)
        assert_int_equal(issue(f, bad_cn[i], NULL, 0, NULL, 0), -EINVAL);
    static const char *const bad_dns[] = {"a,DNS:evil", "bad..name", "-x", "x y", ""};
    for (size_t i = 0; i < sizeof(bad_dns) / sizeof(bad_dns[0]); i++)
        assert_int_equal(issue(f, "svc", &bad_dns[i], 1, NULL, 0), -EINVAL);
    static const char *const bad_ip[] = {"256.0.0.1", "localhost", "1.2.3", "::g"};
    for (size_t i = 0; i < sizeof(bad_ip) / sizeof(bad_ip[0]); i++)
        assert_int_equal(issue(f, "svc", NULL, 0, &bad_ip[i], 1), -EINVAL);
    struct ms_certs_error err = {{0}};
    struct ms_certs_leaf leaf = {.cn = "svc", .days = MS_CERTS_DAYS_MAX + 1};
    assert_int_equal(ms_certs_issue(f->ca, &leaf, &err), -EINVAL);
    char other[600];
    pathf(other, sizeof(other), "%s/other", f->dir);
    assert_int_equal(ms_certs_ca_init(other, "bad name", 0, &err), -EINVAL);
    leaf.days = 0;
    assert_int_equal(ms_certs_issue(other, &leaf, &err), -ENOENT); /* no CA there */
    static const char *const wild[] = {"*.nodes.example"};
    assert_int_equal(issue(f, "svc", wild, 1, NULL, 0), 0);
}

static void test_out_prefix_and_serials(void **state)
{
    struct fx *f = *state;
    char prefix[600], a[600], b[600];
    pathf(prefix, sizeof(prefix), "%s/scrubber-cert", f->dir);
    struct ms_certs_leaf leaf = {.cn = "scrubber", .out_prefix = prefix, .days = 2};
    struct ms_certs_error err = {{0}};
    assert_int_equal(ms_certs_issue(f->ca, &leaf, &err), 0);
    pathf(a, sizeof(a), "%s.crt", prefix);
    assert_int_equal(file_mode(join(f, f->dir, "scrubber-cert.key")), 0600);
    leaf.out_prefix = NULL;
    assert_int_equal(ms_certs_issue(f->ca, &leaf, &err), 0);
    pathf(b, sizeof(b), "%s/scrubber.crt", f->ca);
    X509 *xa = load_cert(a), *xb = load_cert(b);
    BIGNUM *sa = ASN1_INTEGER_to_BN(X509_get0_serialNumber(xa), NULL);
    BIGNUM *sb = ASN1_INTEGER_to_BN(X509_get0_serialNumber(xb), NULL);
    assert_int_equal(BN_num_bits(sa), 127); /* 128-bit random, positive */
    assert_int_equal(BN_num_bits(sb), 127);
    assert_int_not_equal(BN_cmp(sa, sb), 0);
    /* --days 2: notAfter between 1 and 3 days from now. */
    int days = 0, secs = 0;
    assert_int_equal(ASN1_TIME_diff(&days, &secs, NULL, X509_get0_notAfter(xa)), 1);
    assert_true(days >= 1 && days <= 2);
    BN_free(sa);
    BN_free(sb);
    X509_free(xa);
    X509_free(xb);
}

static void test_token_key_files_and_line__Y_TRN_2(void **state)
{
    struct fx *f = *state;
    char line[128];
    struct ms_certs_error err = {{0}};
    assert_int_equal(ms_certs_token_key(f->ca, 5, line, sizeof(line), &err), 0);
    assert_int_equal(strncmp(line, "token_pubkey = 5:", 17), 0);
    assert_int_equal(file_mode(join(f, f->ca, "token-5.key")), 0600);
    assert_int_equal(file_mode(join(f, f->ca, "token-5.pub")), 0644);
    uint8_t *pub = NULL;
    size_t pub_len = 0;
    assert_int_equal(ms_test_read_file(join(f, f->ca, "token-5.pub"), &pub, &pub_len), 0);
    assert_int_equal(pub_len, strlen(line) + 1);
    assert_memory_equal(pub, line, strlen(line));
    assert_int_equal(pub[pub_len - 1], '\n');
    free(pub);
    /* Seed file: 44 base64 characters and a newline. */
    uint8_t *seed = NULL;
    size_t seed_len = 0;
    assert_int_equal(ms_test_read_file(join(f, f->ca, "token-5.key"), &seed, &seed_len), 0);
    assert_int_equal(seed_len, 45);
    free(seed);
    /* A token minted with the key file verifies against a ring built from the line. */
    struct ms_captoken_signer *s = NULL;
    assert_int_equal(ms_captoken_signer_from_file(5, join(f, f->ca, "token-5.key"), &s), 0);
    struct ms_captoken_keyring *ring = NULL;
    assert_int_equal(ms_captoken_keyring_create(&ring), 0);
    assert_int_equal(ms_captoken_keyring_add_line(ring, line + 15, strlen(line) - 15), 0);
    struct ms_oid oid = {{1, 2, 3}};
    uint8_t tok[MS_CAPTOKEN_WIRE_BYTES];
    assert_int_equal(ms_captoken_mint(s, MS_CAP_GET, 9, &oid, 1, 1000, tok), 0);
    struct ms_captoken_expect want = {MS_CAP_ALLOW(MS_CAP_GET), 9, oid, 0};
    enum ms_captoken_reason why;
    assert_int_equal(ms_captoken_check(ring, tok, sizeof(tok), &want, 1000, 0, &why, NULL), 0);
    ms_captoken_keyring_destroy(ring);
    ms_captoken_signer_destroy(s);
    assert_int_equal(ms_certs_token_key(f->ca, 5, line, sizeof(line), &err), -EEXIST);
    assert_int_equal(ms_certs_token_key(f->ca, 6, line, sizeof(line), &err), 0);
}

/* Runs argv with stdout/stderr discarded; returns the exit status. */
static int run_tool(char *const argv[])
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int devnull = open("/dev/null", O_WRONLY);
        if (devnull >= 0) {
            dup2(devnull, 1);
            dup2(devnull, 2);
        }
        execv(argv[0], argv);
        _exit(127);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    return WEXITSTATUS(status);
}

static void test_medstore_ca_tool_exit_codes(void **state)
{
    struct fx *f = *state;
    const char *build = getenv("MEDSTORE_BUILD_ROOT");
    ms_test_require(build != NULL, "MEDSTORE_BUILD_ROOT (run under meson test)");
    char tool[512], dir[600];
    pathf(tool, sizeof(tool), "%s/tools/medstore-ca", build);
    pathf(dir, sizeof(dir), "%s/toolca", f->dir);
    char *help[] = {tool, "--help", NULL};
    char *none[] = {tool, NULL};
    char *unknown[] = {tool, "frobnicate", "--dir", dir, NULL};
    char *no_dir[] = {tool, "init", NULL};
    char *bad_opt[] = {tool, "init", "--dir", dir, "--bogus", NULL};
    char *bad_days[] = {tool, "init", "--dir", dir, "--days", "-3", NULL};
    char *no_cn[] = {tool, "issue", "--dir", dir, NULL};
    char *misplaced[] = {tool, "init", "--dir", dir, "--cn", "x", NULL};
    char *init[] = {tool, "init", "--dir", dir, "--name", "toolca", "--days", "10", NULL};
    char *issue_ok[] = {tool, "issue", "--dir", dir, "--cn", "node-2", "--dns", "localhost",
                        "--ip", "127.0.0.1", "--days", "5", NULL};
    char *tok[] = {tool, "token-key", "--dir", dir, "--key-id", "7", NULL};
    assert_int_equal(run_tool(help), 0);
    assert_int_equal(run_tool(none), 2);
    assert_int_equal(run_tool(unknown), 2);
    assert_int_equal(run_tool(no_dir), 2);
    assert_int_equal(run_tool(bad_opt), 2);
    assert_int_equal(run_tool(bad_days), 2);
    assert_int_equal(run_tool(no_cn), 2);
    assert_int_equal(run_tool(misplaced), 2);
    assert_int_equal(access(dir, F_OK), -1); /* nothing created by refused commands */
    assert_int_equal(run_tool(init), 0);
    assert_int_equal(run_tool(init), 1); /* refuses to overwrite */
    assert_int_equal(run_tool(issue_ok), 0);
    assert_int_equal(run_tool(issue_ok), 1);
    assert_int_equal(run_tool(tok), 0);
    assert_int_equal(run_tool(tok), 1);
    char ca_path[700], crt_path[700];
    pathf(ca_path, sizeof(ca_path), "%s/ca.crt", dir);
    pathf(crt_path, sizeof(crt_path), "%s/node-2.crt", dir);
    assert_int_equal(verify_with(ca_path, crt_path, X509_PURPOSE_SSL_CLIENT), X509_V_OK);
}

/* tests/lib/mkcerts.sh, the integration tests' PKI: every file there, chains as intended. */
static void test_mkcerts_script__Y_TRN_2(void **state)
{
    struct fx *f = *state;
    const char *src = getenv("MEDSTORE_SOURCE_ROOT");
    ms_test_require(src != NULL && getenv("MEDSTORE_BUILD_ROOT") != NULL,
                    "MEDSTORE_SOURCE_ROOT and MEDSTORE_BUILD_ROOT (run under meson test)");
    char script[512], out[600], ca[700], crt[700];
    pathf(script, sizeof(script), "%s/tests/lib/mkcerts.sh", src);
    pathf(out, sizeof(out), "%s/pki", f->dir);
    char *argv[] = {"/bin/bash", script, out, NULL};
    assert_int_equal(run_tool(argv), 0);
    pathf(ca, sizeof(ca), "%s/ca/ca.crt", out);
    static const char *const good[] = {"node-1", "meta", "scrubber", "alice", "mallory"};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        pathf(crt, sizeof(crt), "%s/ca/%s.crt", out, good[i]);
        assert_int_equal(verify_with(ca, crt, X509_PURPOSE_SSL_CLIENT), X509_V_OK);
        pathf(crt, sizeof(crt), "%s/ca/%s.key", out, good[i]);
        assert_int_equal(file_mode(crt), 0600);
    }
    static const char *const rogue[] = {"node-1", "alice", "scrubber"};
    for (size_t i = 0; i < sizeof(rogue) / sizeof(rogue[0]); i++) {
        pathf(crt, sizeof(crt), "%s/rogue/%s.crt", out, rogue[i]);
        assert_int_not_equal(verify_with(ca, crt, 0), X509_V_OK);
    }
    uint8_t *line = NULL;
    size_t len = 0;
    pathf(crt, sizeof(crt), "%s/token_pubkey.conf", out);
    assert_int_equal(ms_test_read_file(crt, &line, &len), 0);
    assert_true(len > 15 && memcmp(line, "token_pubkey = ", 15) == 0);
    struct ms_captoken_keyring *ring = NULL;
    assert_int_equal(ms_captoken_keyring_create(&ring), 0);
    assert_int_equal(ms_captoken_keyring_add_line(ring, (char *)line + 15, len - 16), 0);
    ms_captoken_keyring_destroy(ring);
    free(line);
    assert_int_equal(run_tool(argv), 1); /* refuses a non-empty directory */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_ca_init_files_modes_extensions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_leaf_verifies_cn_sans_eku__Y_TRN_2, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rogue_ca_leaf_does_not_verify__Y_TRN_2, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_refuses_overwrite, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rejects_bad_arguments, setup, teardown),
        cmocka_unit_test_setup_teardown(test_out_prefix_and_serials, setup, teardown),
        cmocka_unit_test_setup_teardown(test_token_key_files_and_line__Y_TRN_2, setup, teardown),
        cmocka_unit_test_setup_teardown(test_medstore_ca_tool_exit_codes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mkcerts_script__Y_TRN_2, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
