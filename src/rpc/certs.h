/*
 * certs.h - the cluster's certificate authority and key files (`medstore-ca`, tests).
 *
 * Every process and user presents an X.509 certificate from one cluster CA; its CN names the
 * principal (`node-<id>`, `meta`, service and user names). This module, on OpenSSL 3 libcrypto,
 * creates the CA (ECDSA P-256, self-signed, CA:TRUE, keyCertSign + cRLSign), issues leaf
 * certificates (ECDSA P-256, CN + DNS/IP SANs, serverAuth + clientAuth, random 128-bit serial)
 * and creates the Ed25519 token signing key (base64 seed). Layout of a CA directory:
 *
 *   DIR/ca.key            CA private key (PKCS#8 PEM), mode 0600
 *   DIR/ca.crt            CA certificate (PEM), mode 0644: every process's trust anchor
 *   PREFIX.key/.crt       a leaf key (0600) and certificate (0644); PREFIX defaults to DIR/<cn>
 *   DIR/token-<id>.key    Ed25519 token signing seed, base64, mode 0600 (meta's)
 *   DIR/token-<id>.pub    its config line `token_pubkey = <id>:<base64>`, mode 0644 (nodes')
 *
 * Files are written whole to a private temporary (created O_EXCL, 0600), synced, then linked
 * to their name, so no partial key is ever visible and an existing file is never overwritten
 * (-EEXIST). Key files are never chmod'ed after a write. Errors return a code and, when err is
 * not NULL, a one-line message for the operator (paths, never key material).
 * Not thread safe with respect to the same directory; distinct directories are independent.
 */
#ifndef MS_RPC_CERTS_H
#define MS_RPC_CERTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

#define MS_CERTS_DAYS_CA_DEFAULT 3650u
#define MS_CERTS_DAYS_LEAF_DEFAULT 365u
#define MS_CERTS_DAYS_MAX 36500u
#define MS_CERTS_CA_NAME_DEFAULT "medstore-cluster-ca"
/* Longest principal name (CN); X.509 allows 64 characters for a CN. */
#define MS_CERTS_PRINCIPAL_MAX 64u
#define MS_CERTS_SAN_MAX 16u

/* One-line operator message of a failure. */
struct ms_certs_error {
    char msg[256];
};

/* A leaf certificate to issue. */
struct ms_certs_leaf {
    const char *cn;              /* principal name; ms_certs_principal_is_valid() */
    const char *const *dns;      /* DNS SANs (n_dns of them, <= MS_CERTS_SAN_MAX) */
    size_t n_dns;
    const char *const *ips;      /* IPv4 or IPv6 address SANs, textual (n_ips) */
    size_t n_ips;
    unsigned days;               /* validity; 0 = MS_CERTS_DAYS_LEAF_DEFAULT */
    const char *out_prefix;      /* NULL = DIR/<cn>; writes PREFIX.key and PREFIX.crt */
};

/* True when name is a usable principal name: 1..64 characters of [A-Za-z0-9._-], not
 * starting with '.' or '-'. */
bool ms_certs_principal_is_valid(const char *name);

/* Creates the cluster CA in dir (created 0700 when missing): ca.key and ca.crt with subject
 * CN=name (NULL = MS_CERTS_CA_NAME_DEFAULT), valid days days (0 = default; at most
 * MS_CERTS_DAYS_MAX). Returns 0, -EEXIST (refuses to overwrite either file), -EINVAL (bad
 * argument), -errno of file operations, or -MEDSTORE_EINTERNAL (OpenSSL failure). */
MS_MUST_CHECK int ms_certs_ca_init(const char *dir, const char *name, unsigned days,
                                   struct ms_certs_error *err);

/* Issues a leaf certificate signed by the CA in dir (ca.key, ca.crt), then verifies it
 * against ca.crt before returning. Returns 0, -EEXIST, -EINVAL, -ENOENT (no CA), -errno,
 * -MEDSTORE_EFORMAT (CA files unreadable as PEM), or -MEDSTORE_EINTERNAL. */
MS_MUST_CHECK int ms_certs_issue(const char *dir, const struct ms_certs_leaf *leaf,
                                 struct ms_certs_error *err);

/* Creates the token signing key dir/token-<key_id>.key (32-byte seed, base64, 0600) and
 * dir/token-<key_id>.pub (its config line). Copies the config line
 * "token_pubkey = <key_id>:<base64>" (NUL-terminated, no newline) into line (line_cap >= 80).
 * Returns 0, -EEXIST, -EINVAL, -errno, or -ENOMEM. */
MS_MUST_CHECK int ms_certs_token_key(const char *dir, uint32_t key_id, char *line,
                                     size_t line_cap, struct ms_certs_error *err);

/* Verifies the certificate in cert_path against the single trust anchor in ca_path with
 * OpenSSL's X509_verify_cert (chain, validity, and the TLS client and server purposes).
 * Copies the subject CN into cn (cn_cap bytes, may be 0 with cn NULL). Returns 0,
 * -MEDSTORE_EAUTH (does not verify), -MEDSTORE_EFORMAT (not PEM), -errno. */
MS_MUST_CHECK int ms_certs_verify(const char *ca_path, const char *cert_path, char *cn,
                                  size_t cn_cap, struct ms_certs_error *err);

#endif
