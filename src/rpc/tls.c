/*
 * tls.c - mutual TLS credentials from PEM files, and the peer principal of a call.
 *
 * Credentials: the server requires and verifies a client certificate chaining to the cluster CA
 * (GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY); the client trusts only that CA
 * and presents its own certificate. The PEM files are parsed with OpenSSL first, so a missing
 * file, garbage, or a certificate that does not match its key fails at start-up with a log line
 * naming the file, not later as an opaque handshake failure. The key's PEM text is wiped from
 * our memory after gRPC copied it (gRPC keeps its own copy: docs/security.md).
 *
 * Principal (Y-TRN-2): the CN of the peer certificate, exactly one, read with
 * grpc_auth_context_find_properties_by_name(GRPC_X509_CN_PROPERTY_NAME). Never
 * grpc_auth_context_peer_identity(): in gRPC 1.51 it is the SAN list whenever the certificate
 * has SANs (medstore-ca always writes some), so a certificate whose SAN spells another
 * principal's name would be taken for that principal. Characters are restricted so a principal
 * can be logged and compared safely.
 *
 * Insecure mode exists for tests only and only on loopback: ms_rpc_addr_is_loopback().
 */
#include "rpc/rpc_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "common/log.h"
#include "common/ms_assert.h"

/* PEM files above this size are refused (a CA bundle is a few KiB). */
#define PEM_MAX_BYTES (256u * 1024u)

/* Reads a whole PEM file into a NUL-terminated malloc'd buffer. Returns 0, or -errno. */
static int pem_read(const char *path, char **out)
{
    MS_ASSERT(path != NULL && out != NULL);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size <= 0 ||
        (uint64_t)st.st_size > PEM_MAX_BYTES) {
        close(fd);
        return -EINVAL;
    }
    size_t len = (size_t)st.st_size;
    char *buf = malloc(len + 1);
    if (buf == NULL) {
        close(fd);
        return -ENOMEM;
    }
    size_t got = 0;
    while (got < len) {
        ssize_t n = read(fd, buf + got, len - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            int rc = n < 0 ? -errno : -EIO;
            OPENSSL_cleanse(buf, len);
            free(buf);
            close(fd);
            return rc;
        }
        got += (size_t)n;
    }
    close(fd);
    buf[len] = '\0';
    MS_ASSERT(strlen(buf) <= len);
    *out = buf;
    return 0;
}

static void pem_free(char *pem)
{
    if (pem != NULL) {
        OPENSSL_cleanse(pem, strlen(pem));
        free(pem);
    }
}

/* Checks the CA parses, the certificate parses and matches the key. Logs the reason. */
static int pem_check(const struct ms_rpc_tls_files *f, const char *ca, const char *cert,
                     const char *key)
{
    MS_ASSERT(ca != NULL && cert != NULL && key != NULL);
    int rc = -MEDSTORE_ECONFIG;
    BIO *b_ca = BIO_new_mem_buf(ca, -1);
    BIO *b_cert = BIO_new_mem_buf(cert, -1);
    BIO *b_key = BIO_new_mem_buf(key, -1);
    X509 *x_ca = b_ca ? PEM_read_bio_X509(b_ca, NULL, NULL, NULL) : NULL;
    X509 *x_cert = b_cert ? PEM_read_bio_X509(b_cert, NULL, NULL, NULL) : NULL;
    EVP_PKEY *pkey = b_key ? PEM_read_bio_PrivateKey(b_key, NULL, NULL, NULL) : NULL;
    if (x_ca == NULL)
        ms_log(MS_LOG_ERROR, "rpc", "event=tls_config_bad file=%s why=no_ca_certificate",
               f->ca_path);
    else if (x_cert == NULL)
        ms_log(MS_LOG_ERROR, "rpc", "event=tls_config_bad file=%s why=no_certificate",
               f->cert_path);
    else if (pkey == NULL)
        ms_log(MS_LOG_ERROR, "rpc", "event=tls_config_bad file=%s why=no_private_key",
               f->key_path);
    else if (X509_check_private_key(x_cert, pkey) != 1)
        ms_log(MS_LOG_ERROR, "rpc", "event=tls_config_bad file=%s why=key_does_not_match_cert",
               f->key_path);
    else
        rc = 0;
    EVP_PKEY_free(pkey);
    X509_free(x_cert);
    X509_free(x_ca);
    BIO_free(b_key);
    BIO_free(b_cert);
    BIO_free(b_ca);
    return rc;
}

/* Reads the three files; on success the caller frees them with pem_free. */
static int pem_load_all(const struct ms_rpc_tls_files *f, char **ca, char **cert, char **key)
{
    MS_ASSERT(f != NULL);
    *ca = *cert = *key = NULL;
    if (f->ca_path == NULL || f->cert_path == NULL || f->key_path == NULL) {
        ms_log(MS_LOG_ERROR, "rpc", "event=tls_config_bad why=missing_pem_path");
        return -MEDSTORE_ECONFIG;
    }
    const char *paths[3] = {f->ca_path, f->cert_path, f->key_path};
    char **outs[3] = {ca, cert, key};
    for (int i = 0; i < 3; i++) {
        int rc = pem_read(paths[i], outs[i]);
        if (rc < 0) {
            ms_log(MS_LOG_ERROR, "rpc", "event=tls_config_bad file=%s why=unreadable err=%s",
                   paths[i], ms_err_name(rc));
            pem_free(*ca);
            pem_free(*cert);
            pem_free(*key);
            *ca = *cert = *key = NULL;
            return -MEDSTORE_ECONFIG;
        }
    }
    int rc = pem_check(f, *ca, *cert, *key);
    if (rc < 0) {
        pem_free(*ca);
        pem_free(*cert);
        pem_free(*key);
        *ca = *cert = *key = NULL;
    }
    return rc;
}

int rpc_tls_server_creds(const struct ms_rpc_tls_files *files, grpc_server_credentials **out)
{
    MS_ASSERT(files != NULL && out != NULL);
    char *ca, *cert, *key;
    int rc = pem_load_all(files, &ca, &cert, &key);
    if (rc < 0)
        return rc;
    grpc_ssl_pem_key_cert_pair pair = {.private_key = key, .cert_chain = cert};
    grpc_server_credentials *creds = grpc_ssl_server_credentials_create_ex(
        ca, &pair, 1, GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY, NULL);
    pem_free(ca);
    pem_free(cert);
    pem_free(key);
    if (creds == NULL)
        return -MEDSTORE_ECONFIG;
    *out = creds;
    return 0;
}

int rpc_tls_channel_creds(const struct ms_rpc_tls_files *files, grpc_channel_credentials **out)
{
    MS_ASSERT(files != NULL && out != NULL);
    char *ca, *cert, *key;
    int rc = pem_load_all(files, &ca, &cert, &key);
    if (rc < 0)
        return rc;
    grpc_ssl_pem_key_cert_pair pair = {.private_key = key, .cert_chain = cert};
    grpc_channel_credentials *creds = grpc_ssl_credentials_create_ex(ca, &pair, NULL, NULL);
    pem_free(ca);
    pem_free(cert);
    pem_free(key);
    if (creds == NULL)
        return -MEDSTORE_ECONFIG;
    *out = creds;
    return 0;
}

static bool principal_char_ok(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           ch == '.' || ch == '_' || ch == '-' || ch == '@';
}

/* Checks one CN value and copies it. */
static int principal_copy(const grpc_auth_property *p, char out[MS_RPC_PRINCIPAL_MAX + 1],
                          const char **why)
{
    MS_ASSERT(p != NULL && why != NULL);
    if (p->value == NULL || p->value_length == 0 || p->value_length > MS_RPC_PRINCIPAL_MAX) {
        *why = "cn_length";
        return -MEDSTORE_EDENIED;
    }
    for (size_t i = 0; i < p->value_length; i++) {
        if (!principal_char_ok(p->value[i])) {
            *why = "cn_characters";
            return -MEDSTORE_EDENIED;
        }
    }
    memcpy(out, p->value, p->value_length);
    out[p->value_length] = '\0';
    MS_ASSERT(strlen(out) == p->value_length);
    return 0;
}

int rpc_tls_peer_principal(grpc_call *call, char out[MS_RPC_PRINCIPAL_MAX + 1], const char **why)
{
    MS_ASSERT(call != NULL && out != NULL && why != NULL);
    grpc_auth_context *ctx = grpc_call_auth_context(call);
    if (ctx == NULL) {
        *why = "no_auth_context";
        return -MEDSTORE_EDENIED;
    }
    int rc = -MEDSTORE_EDENIED;
    *why = "not_authenticated";
    if (grpc_auth_context_peer_is_authenticated(ctx)) {
        grpc_auth_property_iterator it =
            grpc_auth_context_find_properties_by_name(ctx, GRPC_X509_CN_PROPERTY_NAME);
        const grpc_auth_property *first = grpc_auth_property_iterator_next(&it);
        const grpc_auth_property *second = first ? grpc_auth_property_iterator_next(&it) : NULL;
        if (first == NULL)
            *why = "no_cn";
        else if (second != NULL)
            *why = "several_cn";
        else
            rc = principal_copy(first, out, why);
    }
    grpc_auth_context_release(ctx);
    return rc;
}

/* Splits "host:port" / "[v6]:port" and returns the host length and start. */
static bool addr_host(const char *addr, const char **host, size_t *len)
{
    if (addr[0] == '[') {
        const char *end = strchr(addr, ']');
        if (end == NULL)
            return false;
        *host = addr + 1;
        *len = (size_t)(end - addr - 1);
        return true;
    }
    const char *colon = strrchr(addr, ':');
    if (colon == NULL || strchr(addr, ':') != colon)
        return false; /* no port, or an unbracketed IPv6 address: ambiguous, refuse */
    *host = addr;
    *len = (size_t)(colon - addr);
    return true;
}

bool ms_rpc_addr_is_loopback(const char *addr)
{
    MS_ASSERT(addr != NULL);
    const char *h;
    size_t n;
    if (strncmp(addr, "ipv4:", 5) == 0)
        addr += 5;
    else if (strncmp(addr, "ipv6:", 5) == 0)
        addr += 5;
    if (!addr_host(addr, &h, &n) || n == 0)
        return false;
    if (n == 9 && memcmp(h, "localhost", 9) == 0)
        return true;
    if (n == 3 && memcmp(h, "::1", 3) == 0)
        return true;
    /* 127.0.0.0/8: "127." followed only by digits and dots. */
    if (n < 5 || n > 15 || memcmp(h, "127.", 4) != 0)
        return false;
    for (size_t i = 4; i < n; i++)
        if (!((h[i] >= '0' && h[i] <= '9') || h[i] == '.'))
            return false;
    return true;
}
