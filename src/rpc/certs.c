/*
 * certs.c - cluster CA, leaf certificates and the token signing key, on OpenSSL 3 libcrypto.
 *
 * Design. Each command builds everything in memory first (key, certificate, PEM text), checks
 * that none of its target files exists, then writes each file whole through
 * write_file_new(): mkstemp (O_EXCL, mode 0600 from the first byte), fchmod to 0644 for
 * certificates before any byte is written, write, fsync, link() to the final name (fails with
 * EEXIST rather than overwrite, so two racing invocations cannot both win), unlink the
 * temporary, fsync the directory. A key file is therefore never visible partial, never wider
 * than 0600 and never chmod'ed after its bytes are written.
 *
 * Certificates: X.509 v3, ecdsa-with-SHA256 over P-256 keys, random positive 128-bit serials,
 * notBefore five minutes in the past (clock skew between hosts). CA: CA:TRUE pathlen 0,
 * keyUsage keyCertSign + cRLSign (critical). Leaf: CA:FALSE, keyUsage digitalSignature
 * (critical), extendedKeyUsage serverAuth + clientAuth, SANs only from validated names and
 * addresses (built as GENERAL_NAMEs, never through OpenSSL's config-string parser, so input
 * cannot inject extra names). Every issued leaf is verified against ca.crt before success.
 *
 * Secrets: OpenSSL holds EC private keys in its own heap (freed with clearing) and the PEM
 * text of a key is cleansed from its memory BIO before release. The token seed and its base64
 * live only in struct ms_secret (locked, wiped). Nothing is logged; messages name paths,
 * never key material.
 */
#include "rpc/certs.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "common/ms_assert.h"
#include "common/secret.h"
#include "rpc/captoken.h"

#define SERIAL_BYTES 16
#define NOT_BEFORE_SLACK_S (-300L)
#define DNS_NAME_MAX 253u

static void err_set(struct ms_certs_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void err_set(struct ms_certs_error *err, const char *fmt, ...)
{
    if (err == NULL)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
}

/* Records the first queued OpenSSL error in err and clears the queue. */
static int ossl_fail(struct ms_certs_error *err, const char *what)
{
    char detail[160] = "no detail";
    unsigned long e = ERR_get_error();
    if (e != 0)
        ERR_error_string_n(e, detail, sizeof(detail));
    ERR_clear_error();
    err_set(err, "%s failed: %s", what, detail);
    return -MEDSTORE_EINTERNAL;
}

bool ms_certs_principal_is_valid(const char *name)
{
    if (name == NULL || name[0] == '\0' || name[0] == '.' || name[0] == '-')
        return false;
    size_t n = 0;
    for (const char *p = name; *p != '\0'; p++, n++) {
        char c = *p;
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '_' || c == '-';
        if (!ok || n >= MS_CERTS_PRINCIPAL_MAX)
            return false;
    }
    return true;
}

/* DNS SAN: 1..253 characters of letters, digits, '-', '.', and a leading "*." wildcard. */
static bool dns_name_is_valid(const char *name)
{
    if (name == NULL)
        return false;
    size_t n = strlen(name);
    if (n == 0 || n > DNS_NAME_MAX || name[0] == '.' || name[0] == '-' || name[n - 1] == '.')
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '-' || c == '.' || (c == '*' && i == 0 && n > 2 && name[1] == '.');
        if (!ok || (c == '.' && name[i + 1] == '.'))
            return false;
    }
    return true;
}

/* ---- Files ---- */

static int path_join(char *out, size_t cap, const char *a, const char *b, const char *suffix)
{
    int n = snprintf(out, cap, "%s%s%s%s", a, b[0] != '\0' ? "/" : "", b, suffix);
    return (n < 0 || (size_t)n >= cap) ? -ENAMETOOLONG : 0;
}

static int path_absent(const char *path, struct ms_certs_error *err)
{
    struct stat st;
    if (lstat(path, &st) == 0) {
        err_set(err, "%s exists: refusing to overwrite", path);
        return -EEXIST;
    }
    if (errno != ENOENT) {
        int e = errno;
        err_set(err, "%s: %s", path, strerror(e));
        return -e;
    }
    return 0;
}

/* fsyncs the directory holding path, so a new name survives a power cut. */
static int sync_parent(const char *path)
{
    char dir[PATH_MAX];
    const char *slash = strrchr(path, '/');
    if (slash == NULL) {
        dir[0] = '.';
        dir[1] = '\0';
    } else {
        size_t n = slash == path ? 1 : (size_t)(slash - path);
        MS_ASSERT(n < sizeof(dir));
        memcpy(dir, path, n);
        dir[n] = '\0';
    }
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    int rc = fsync(fd) == 0 ? 0 : -errno;
    close(fd);
    return rc;
}

static int write_all(int fd, const void *data, size_t len)
{
    const uint8_t *p = data;
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return -errno;
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

/* Writes a new file path holding data with the given mode (0600 or 0644), atomically and
 * without ever overwriting (see the design comment). */
static int write_file_new(const char *path, const void *data, size_t len, mode_t mode,
                          struct ms_certs_error *err)
{
    MS_ASSERT(mode == 0600 || mode == 0644);
    char tmp[PATH_MAX];
    if (path_join(tmp, sizeof(tmp), path, "", ".tmp-XXXXXX") != 0)
        return -ENAMETOOLONG;
    int fd = mkstemp(tmp); /* O_CREAT | O_EXCL, mode 0600 */
    if (fd < 0) {
        int e = errno;
        err_set(err, "cannot create a file beside %s: %s", path, strerror(e));
        return -e;
    }
    int rc = 0;
    if (mode != 0600 && fchmod(fd, mode) != 0)
        rc = -errno;
    if (rc == 0)
        rc = write_all(fd, data, len);
    if (rc == 0 && fsync(fd) != 0)
        rc = -errno;
    if (close(fd) != 0 && rc == 0)
        rc = -errno;
    if (rc == 0 && link(tmp, path) != 0)
        rc = -errno;
    (void)unlink(tmp);
    if (rc == -EEXIST)
        err_set(err, "%s exists: refusing to overwrite", path);
    else if (rc != 0)
        err_set(err, "cannot write %s: %s", path, strerror(-rc));
    if (rc == 0)
        rc = sync_parent(path);
    MS_ASSERT(rc <= 0);
    return rc;
}

/* Writes the PEM of a private key (PKCS#8) or of a certificate to a new file. */
static int write_pem_new(const char *path, EVP_PKEY *key, X509 *cert, struct ms_certs_error *err)
{
    MS_ASSERT((key == NULL) != (cert == NULL));
    BIO *bio = BIO_new(BIO_s_mem());
    if (bio == NULL)
        return ossl_fail(err, "BIO_new");
    int ok = key != NULL ? PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL)
                         : PEM_write_bio_X509(bio, cert);
    if (ok != 1) {
        BIO_free(bio);
        return ossl_fail(err, "PEM encoding");
    }
    char *pem = NULL;
    long n = BIO_get_mem_data(bio, &pem);
    MS_ASSERT(n > 0 && pem != NULL);
    int rc = write_file_new(path, pem, (size_t)n, key != NULL ? 0600 : 0644, err);
    OPENSSL_cleanse(pem, (size_t)n);
    BIO_free(bio);
    return rc;
}

/* ---- Certificates ---- */

static int random_serial(X509 *x)
{
    unsigned char b[SERIAL_BYTES];
    if (RAND_bytes(b, sizeof(b)) != 1)
        return -MEDSTORE_EINTERNAL;
    b[0] &= 0x7f; /* positive */
    b[0] |= 0x40; /* and a full 127 bits, never 0 */
    BIGNUM *bn = BN_bin2bn(b, sizeof(b), NULL);
    if (bn == NULL)
        return -MEDSTORE_EINTERNAL;
    MS_ASSERT(BN_num_bits(bn) == 8 * SERIAL_BYTES - 1);
    int ok = BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL;
    BN_free(bn);
    return ok ? 0 : -MEDSTORE_EINTERNAL;
}

static int add_ext(X509 *x, X509V3_CTX *ctx, int nid, const char *value)
{
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, ctx, nid, value);
    if (ext == NULL)
        return -MEDSTORE_EINTERNAL;
    int ok = X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
    return ok == 1 ? 0 : -MEDSTORE_EINTERNAL;
}

/* Adds one SAN of type GEN_DNS (text) or GEN_IPADD (binary address) to names. */
static int san_push(GENERAL_NAMES *names, int type, const void *data, int len)
{
    GENERAL_NAME *gn = GENERAL_NAME_new();
    ASN1_STRING *s = ASN1_STRING_type_new(type == GEN_DNS ? V_ASN1_IA5STRING : V_ASN1_OCTET_STRING);
    if (gn == NULL || s == NULL || ASN1_STRING_set(s, data, len) != 1) {
        GENERAL_NAME_free(gn);
        ASN1_STRING_free(s);
        return -ENOMEM;
    }
    GENERAL_NAME_set0_value(gn, type, s);
    if (sk_GENERAL_NAME_push(names, gn) <= 0) {
        GENERAL_NAME_free(gn);
        return -ENOMEM;
    }
    return 0;
}

/* Adds the subjectAltName extension of a leaf; names were validated by the caller. */
static int add_sans(X509 *x, const struct ms_certs_leaf *leaf)
{
    if (leaf->n_dns == 0 && leaf->n_ips == 0)
        return 0;
    GENERAL_NAMES *names = sk_GENERAL_NAME_new_null();
    if (names == NULL)
        return -ENOMEM;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < leaf->n_dns; i++)
        rc = san_push(names, GEN_DNS, leaf->dns[i], (int)strlen(leaf->dns[i]));
    for (size_t i = 0; rc == 0 && i < leaf->n_ips; i++) {
        unsigned char addr[16];
        int len = inet_pton(AF_INET, leaf->ips[i], addr) == 1 ? 4 : 16;
        if (len == 16 && inet_pton(AF_INET6, leaf->ips[i], addr) != 1)
            rc = -EINVAL;
        if (rc == 0)
            rc = san_push(names, GEN_IPADD, addr, len);
    }
    if (rc == 0 && X509_add1_ext_i2d(x, NID_subject_alt_name, names, 0, X509V3_ADD_DEFAULT) != 1)
        rc = -MEDSTORE_EINTERNAL;
    GENERAL_NAMES_free(names);
    MS_ASSERT(rc <= 0);
    return rc;
}

static int set_name(X509_NAME *name, const char *cn, bool with_org)
{
    if (with_org && X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                                               (const unsigned char *)"medstore", -1, -1, 0) != 1)
        return -MEDSTORE_EINTERNAL;
    if (X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1,
                                   0) != 1)
        return -MEDSTORE_EINTERNAL;
    return 0;
}

/* Fills version, serial, validity, subject, issuer and public key of x. */
static int cert_base(X509 *x, const char *cn, bool is_ca, EVP_PKEY *key, X509 *issuer,
                     unsigned days)
{
    MS_ASSERT(days > 0 && days <= MS_CERTS_DAYS_MAX);
    MS_ASSERT(is_ca == (issuer == NULL));
    if (X509_set_version(x, X509_VERSION_3) != 1 || random_serial(x) != 0)
        return -MEDSTORE_EINTERNAL;
    if (X509_gmtime_adj(X509_getm_notBefore(x), NOT_BEFORE_SLACK_S) == NULL ||
        X509_time_adj_ex(X509_getm_notAfter(x), (int)days, 0, NULL) == NULL)
        return -MEDSTORE_EINTERNAL;
    if (set_name(X509_get_subject_name(x), cn, is_ca) != 0)
        return -MEDSTORE_EINTERNAL;
    X509_NAME *iname = is_ca ? X509_get_subject_name(x) : X509_get_subject_name(issuer);
    if (X509_set_issuer_name(x, iname) != 1 || X509_set_pubkey(x, key) != 1)
        return -MEDSTORE_EINTERNAL;
    return 0;
}

/* Builds and signs a certificate for key: self-signed CA when issuer is NULL, else a leaf
 * signed by issuer_key. Returns the certificate (caller frees) or NULL. */
static X509 *cert_make(const char *cn, EVP_PKEY *key, X509 *issuer, EVP_PKEY *issuer_key,
                       unsigned days, const struct ms_certs_leaf *leaf)
{
    MS_ASSERT(cn != NULL && key != NULL && issuer_key != NULL);
    bool is_ca = issuer == NULL;
    MS_ASSERT(is_ca == (leaf == NULL));
    X509 *x = X509_new();
    if (x == NULL || cert_base(x, cn, is_ca, key, issuer, days) != 0)
        goto fail;
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, is_ca ? x : issuer, x, NULL, NULL, 0);
    int rc = add_ext(x, &ctx, NID_basic_constraints,
                     is_ca ? "critical,CA:TRUE,pathlen:0" : "critical,CA:FALSE");
    if (rc == 0)
        rc = add_ext(x, &ctx, NID_key_usage,
                     is_ca ? "critical,keyCertSign,cRLSign" : "critical,digitalSignature");
    if (rc == 0)
        rc = add_ext(x, &ctx, NID_subject_key_identifier, "hash");
    if (rc == 0)
        rc = add_ext(x, &ctx, NID_authority_key_identifier, "keyid:always");
    if (rc == 0 && !is_ca)
        rc = add_ext(x, &ctx, NID_ext_key_usage, "serverAuth,clientAuth");
    if (rc == 0 && !is_ca)
        rc = add_sans(x, leaf);
    if (rc != 0 || X509_sign(x, issuer_key, EVP_sha256()) <= 0)
        goto fail;
    return x;
fail:
    X509_free(x);
    return NULL;
}

static int days_or_default(unsigned days, unsigned dflt, unsigned *out,
                           struct ms_certs_error *err)
{
    *out = days == 0 ? dflt : days;
    if (*out > MS_CERTS_DAYS_MAX) {
        err_set(err, "--days must be between 1 and %u", MS_CERTS_DAYS_MAX);
        return -EINVAL;
    }
    return 0;
}

/* Creates dir and its missing parents (0700 each) unless dir exists as a directory. */
static int ensure_dir(const char *dir, struct ms_certs_error *err)
{
    char path[PATH_MAX];
    size_t n = strlen(dir);
    if (n == 0 || n >= sizeof(path)) {
        err_set(err, "directory name is empty or too long");
        return -ENAMETOOLONG;
    }
    memcpy(path, dir, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (path[i] != '/' && path[i] != '\0')
            continue;
        char saved = path[i];
        path[i] = '\0';
        if (mkdir(path, 0700) != 0 && errno != EEXIST) {
            int e = errno;
            err_set(err, "cannot create %s: %s", path, strerror(e));
            return -e;
        }
        path[i] = saved;
    }
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        err_set(err, "%s is not a directory", dir);
        return -ENOTDIR;
    }
    MS_ASSERT(S_ISDIR(st.st_mode));
    return 0;
}

/* Writes key then certificate; removes the key again when the certificate cannot be
 * written, so a failed command leaves nothing behind. */
static int write_pair(const char *key_path, EVP_PKEY *key, const char *crt_path, X509 *x,
                      struct ms_certs_error *err)
{
    int rc = write_pem_new(key_path, key, NULL, err);
    if (rc != 0)
        return rc;
    rc = write_pem_new(crt_path, NULL, x, err);
    if (rc != 0)
        (void)unlink(key_path);
    return rc;
}

int ms_certs_ca_init(const char *dir, const char *name, unsigned days, struct ms_certs_error *err)
{
    MS_ASSERT(dir != NULL);
    name = name != NULL ? name : MS_CERTS_CA_NAME_DEFAULT;
    if (!ms_certs_principal_is_valid(name)) {
        err_set(err, "CA name must be 1-64 characters of [A-Za-z0-9._-]");
        return -EINVAL;
    }
    int rc = days_or_default(days, MS_CERTS_DAYS_CA_DEFAULT, &days, err);
    char key_path[PATH_MAX], crt_path[PATH_MAX];
    if (rc == 0 && (path_join(key_path, sizeof(key_path), dir, "ca", ".key") != 0 ||
                    path_join(crt_path, sizeof(crt_path), dir, "ca", ".crt") != 0))
        rc = -ENAMETOOLONG;
    if (rc == 0)
        rc = ensure_dir(dir, err);
    if (rc == 0)
        rc = path_absent(key_path, err);
    if (rc == 0)
        rc = path_absent(crt_path, err);
    if (rc != 0)
        return rc;
    EVP_PKEY *key = EVP_EC_gen("P-256");
    X509 *x = key != NULL ? cert_make(name, key, NULL, key, days, NULL) : NULL;
    if (x == NULL)
        rc = ossl_fail(err, "CA generation");
    else
        rc = write_pair(key_path, key, crt_path, x, err);
    X509_free(x);
    EVP_PKEY_free(key);
    MS_ASSERT(rc <= 0);
    return rc;
}

static int load_pem(const char *path, EVP_PKEY **key, X509 **cert, struct ms_certs_error *err)
{
    MS_ASSERT((key == NULL) != (cert == NULL));
    BIO *bio = BIO_new_file(path, "r");
    if (bio == NULL) {
        ERR_clear_error();
        int e = errno != 0 ? errno : ENOENT;
        err_set(err, "cannot read %s: %s", path, strerror(e));
        return -e;
    }
    if (key != NULL)
        *key = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
    else
        *cert = PEM_read_bio_X509(bio, NULL, NULL, NULL);
    BIO_free(bio);
    if ((key != NULL && *key == NULL) || (cert != NULL && *cert == NULL)) {
        ERR_clear_error();
        err_set(err, "%s is not a PEM %s", path, key != NULL ? "private key" : "certificate");
        return -MEDSTORE_EFORMAT;
    }
    return 0;
}

/* Loads ca.key and ca.crt of dir and checks that they belong together. */
static int load_ca(const char *dir, EVP_PKEY **key, X509 **cert, char *crt_path, size_t cap,
                   struct ms_certs_error *err)
{
    char key_path[PATH_MAX];
    if (path_join(key_path, sizeof(key_path), dir, "ca", ".key") != 0 ||
        path_join(crt_path, cap, dir, "ca", ".crt") != 0)
        return -ENAMETOOLONG;
    int rc = load_pem(key_path, key, NULL, err);
    if (rc != 0)
        return rc;
    rc = load_pem(crt_path, NULL, cert, err);
    if (rc == 0 && X509_check_private_key(*cert, *key) != 1) {
        ERR_clear_error();
        err_set(err, "%s does not match %s", key_path, crt_path);
        rc = -MEDSTORE_EFORMAT;
    }
    if (rc != 0) {
        EVP_PKEY_free(*key);
        X509_free(*cert);
        *key = NULL;
        *cert = NULL;
    }
    return rc;
}

static int leaf_validate(const struct ms_certs_leaf *leaf, struct ms_certs_error *err)
{
    if (!ms_certs_principal_is_valid(leaf->cn)) {
        err_set(err, "--cn must be 1-64 characters of [A-Za-z0-9._-]");
        return -EINVAL;
    }
    if (leaf->n_dns > MS_CERTS_SAN_MAX || leaf->n_ips > MS_CERTS_SAN_MAX) {
        err_set(err, "at most %u --dns and %u --ip names", MS_CERTS_SAN_MAX, MS_CERTS_SAN_MAX);
        return -EINVAL;
    }
    for (size_t i = 0; i < leaf->n_dns; i++) {
        if (!dns_name_is_valid(leaf->dns[i])) {
            err_set(err, "invalid DNS name '%s'", leaf->dns[i] != NULL ? leaf->dns[i] : "");
            return -EINVAL;
        }
    }
    for (size_t i = 0; i < leaf->n_ips; i++) {
        unsigned char a[16];
        const char *ip = leaf->ips[i];
        if (ip == NULL || (inet_pton(AF_INET, ip, a) != 1 && inet_pton(AF_INET6, ip, a) != 1)) {
            err_set(err, "invalid IP address '%s'", ip != NULL ? ip : "");
            return -EINVAL;
        }
    }
    return 0;
}

static int leaf_paths(const char *dir, const struct ms_certs_leaf *leaf, char *key_path,
                      char *crt_path, size_t cap, struct ms_certs_error *err)
{
    const char *base = leaf->out_prefix != NULL ? leaf->out_prefix : dir;
    const char *name = leaf->out_prefix != NULL ? "" : leaf->cn;
    if (base[0] == '\0' || path_join(key_path, cap, base, name, ".key") != 0 ||
        path_join(crt_path, cap, base, name, ".crt") != 0) {
        err_set(err, "output path is empty or too long");
        return -ENAMETOOLONG;
    }
    int rc = path_absent(key_path, err);
    return rc == 0 ? path_absent(crt_path, err) : rc;
}

int ms_certs_issue(const char *dir, const struct ms_certs_leaf *leaf, struct ms_certs_error *err)
{
    MS_ASSERT(dir != NULL && leaf != NULL);
    unsigned days = 0;
    int rc = leaf_validate(leaf, err);
    if (rc == 0)
        rc = days_or_default(leaf->days, MS_CERTS_DAYS_LEAF_DEFAULT, &days, err);
    char key_path[PATH_MAX], crt_path[PATH_MAX], ca_path[PATH_MAX];
    if (rc == 0)
        rc = leaf_paths(dir, leaf, key_path, crt_path, sizeof(key_path), err);
    EVP_PKEY *ca_key = NULL, *key = NULL;
    X509 *ca = NULL, *x = NULL;
    if (rc == 0)
        rc = load_ca(dir, &ca_key, &ca, ca_path, sizeof(ca_path), err);
    if (rc == 0) {
        key = EVP_EC_gen("P-256");
        x = key != NULL ? cert_make(leaf->cn, key, ca, ca_key, days, leaf) : NULL;
        rc = x == NULL ? ossl_fail(err, "certificate generation") : 0;
    }
    if (rc == 0)
        rc = write_pair(key_path, key, crt_path, x, err);
    /* Postcondition: what we wrote verifies against the CA on disk. */
    if (rc == 0 && ms_certs_verify(ca_path, crt_path, NULL, 0, err) != 0) {
        (void)unlink(key_path);
        (void)unlink(crt_path);
        rc = -MEDSTORE_EINTERNAL;
    }
    X509_free(x);
    EVP_PKEY_free(key);
    X509_free(ca);
    EVP_PKEY_free(ca_key);
    MS_ASSERT(rc <= 0);
    return rc;
}

/* ---- Verification ---- */

static int verify_purpose(X509_STORE *store, X509 *x, int purpose, struct ms_certs_error *err)
{
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    if (ctx == NULL || X509_STORE_CTX_init(ctx, store, x, NULL) != 1) {
        X509_STORE_CTX_free(ctx);
        return ossl_fail(err, "X509_STORE_CTX_init");
    }
    X509_STORE_CTX_set_purpose(ctx, purpose);
    int ok = X509_verify_cert(ctx);
    int rc = 0;
    if (ok != 1) {
        err_set(err, "certificate does not verify: %s",
                X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)));
        rc = -MEDSTORE_EAUTH;
    }
    X509_STORE_CTX_free(ctx);
    ERR_clear_error();
    return rc;
}

/* Copies the one subject CN of x into cn. */
static int copy_cn(X509 *x, char *cn, size_t cap, struct ms_certs_error *err)
{
    X509_NAME *name = X509_get_subject_name(x);
    int i = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
    if (i < 0 || X509_NAME_get_index_by_NID(name, NID_commonName, i) >= 0) {
        err_set(err, "certificate subject must hold exactly one CN");
        return -MEDSTORE_EAUTH;
    }
    const ASN1_STRING *s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i));
    int n = ASN1_STRING_length(s);
    if (n < 0 || (size_t)n >= cap) {
        err_set(err, "certificate CN too long");
        return -ENOSPC;
    }
    memcpy(cn, ASN1_STRING_get0_data(s), (size_t)n);
    cn[n] = '\0';
    return 0;
}

int ms_certs_verify(const char *ca_path, const char *cert_path, char *cn, size_t cn_cap,
                    struct ms_certs_error *err)
{
    MS_ASSERT(ca_path != NULL && cert_path != NULL);
    MS_ASSERT(cn != NULL || cn_cap == 0);
    X509 *ca = NULL, *x = NULL;
    X509_STORE *store = NULL;
    int rc = load_pem(ca_path, NULL, &ca, err);
    if (rc == 0)
        rc = load_pem(cert_path, NULL, &x, err);
    if (rc == 0 && ((store = X509_STORE_new()) == NULL || X509_STORE_add_cert(store, ca) != 1))
        rc = ossl_fail(err, "X509_STORE");
    if (rc == 0)
        rc = verify_purpose(store, x, X509_PURPOSE_SSL_CLIENT, err);
    if (rc == 0)
        rc = verify_purpose(store, x, X509_PURPOSE_SSL_SERVER, err);
    if (rc == 0 && cn_cap > 0)
        rc = copy_cn(x, cn, cn_cap, err);
    X509_STORE_free(store);
    X509_free(x);
    X509_free(ca);
    return rc;
}

/* ---- Token signing key ---- */

/* Derives the public key line of seed into line. */
static int token_pub_line(uint32_t key_id, const unsigned char *seed, char *line, size_t cap)
{
    struct ms_captoken_signer *signer = NULL;
    int rc = ms_captoken_signer_from_seed(key_id, seed, MS_CAPTOKEN_SEED_BYTES, &signer);
    if (rc != 0)
        return rc;
    uint8_t pk[MS_CAPTOKEN_PK_BYTES];
    ms_captoken_signer_public_key(signer, pk);
    ms_captoken_signer_destroy(signer);
    rc = ms_captoken_pubkey_line(key_id, pk, line, cap);
    MS_ASSERT(rc < 0 || (size_t)rc < cap);
    return rc < 0 ? rc : 0;
}

enum { SEED_B64 = sodium_base64_ENCODED_LEN(MS_CAPTOKEN_SEED_BYTES,
                                            sodium_base64_VARIANT_ORIGINAL) };

/* Makes a fresh seed, writes its base64 to key_path (0600) and the public line to pub_path
 * (0644); copies the line into line. Seed and text stay in locked memory (struct ms_secret). */
static int token_key_write(uint32_t key_id, const char *key_path, const char *pub_path,
                           char *line, size_t cap, struct ms_certs_error *err)
{
    struct ms_secret *seed = NULL, *text = NULL;
    int rc = ms_secret_create(MS_CAPTOKEN_SEED_BYTES, &seed);
    if (rc == 0)
        rc = ms_secret_create(SEED_B64 + 1, &text);
    if (rc != 0)
        goto wipe;
    char *b64 = (char *)ms_secret_data_mut(text);
    randombytes_buf(ms_secret_data_mut(seed), MS_CAPTOKEN_SEED_BYTES);
    sodium_bin2base64(b64, SEED_B64, ms_secret_data(seed), MS_CAPTOKEN_SEED_BYTES,
                      sodium_base64_VARIANT_ORIGINAL);
    size_t n = strlen(b64);
    MS_ASSERT(n + 1 < SEED_B64 + 1);
    b64[n++] = '\n';
    rc = token_pub_line(key_id, ms_secret_data(seed), line, cap);
    if (rc == 0)
        rc = write_file_new(key_path, b64, n, 0600, err);
    if (rc == 0) {
        char pub[128];
        int m = snprintf(pub, sizeof(pub), "%s\n", line);
        MS_ASSERT(m > 0 && (size_t)m < sizeof(pub));
        rc = write_file_new(pub_path, pub, (size_t)m, 0644, err);
        if (rc != 0)
            (void)unlink(key_path);
    }
wipe:
    ms_secret_destroy(text);
    ms_secret_destroy(seed);
    return rc;
}

int ms_certs_token_key(const char *dir, uint32_t key_id, char *line, size_t line_cap,
                       struct ms_certs_error *err)
{
    MS_ASSERT(dir != NULL && line != NULL);
    MS_ASSERT(line_cap >= 80);
    char key_path[PATH_MAX], pub_path[PATH_MAX], stem[32];
    snprintf(stem, sizeof(stem), "token-%u", (unsigned)key_id);
    if (path_join(key_path, sizeof(key_path), dir, stem, ".key") != 0 ||
        path_join(pub_path, sizeof(pub_path), dir, stem, ".pub") != 0)
        return -ENAMETOOLONG;
    int rc = ensure_dir(dir, err);
    if (rc == 0)
        rc = path_absent(key_path, err);
    if (rc == 0)
        rc = path_absent(pub_path, err);
    if (rc == 0)
        rc = ms_sodium_init();
    if (rc == 0)
        rc = token_key_write(key_id, key_path, pub_path, line, line_cap, err);
    return rc;
}
