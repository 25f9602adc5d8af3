/*
 * secret.h - keys, tokens and passphrases in locked, guarded memory (F-DEL-3, Y-COM-2).
 *
 * A struct ms_secret owns len bytes allocated with sodium_malloc: locked in RAM (never
 * swapped, excluded from core dumps), with guard pages on both sides, and wiped by
 * sodium_free when destroyed. It may be made read-only once filled. Every key medstore
 * holds lives in one (STYLE.md section 5); the exceptions are listed in docs/security.md.
 *
 *   struct ms_secret *seed;
 *   int rc = ms_secret_from_base64_file("/etc/medstore/token.key", &seed);
 *   if (rc != 0) return rc;                     (mode 0644 is refused: -EACCES)
 *   sign(ms_secret_data(seed), ms_secret_len(seed));
 *   ms_secret_destroy(seed);                     (wiped and freed)
 *
 * Thread safety: a secret is not synchronised; share it read-only (after
 * ms_secret_make_readonly) or guard it. ms_sodium_init() is thread safe.
 * Never log a secret's bytes, its base64, or its length when the length reveals anything.
 */
#ifndef MS_COMMON_SECRET_H
#define MS_COMMON_SECRET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

struct ms_secret;

/* Initialises libsodium once per process; later calls are cheap. Every function here calls
 * it itself; call it directly before other libsodium use (Ed25519, randombytes).
 * Returns 0, or -MEDSTORE_EINTERNAL when libsodium cannot initialise (no entropy source).
 * Thread safe. */
MS_MUST_CHECK int ms_sodium_init(void);

/* Allocates a zero-filled secret of len bytes (1 <= len <= MS_SECRET_MAX) in locked memory.
 * Fill it through ms_secret_data_mut(). On success *out owns the secret (free it with
 * ms_secret_destroy); on failure *out is untouched. Returns 0, -EINVAL (len out of range),
 * -ENOMEM. A failure to lock the pages is logged once per process as a warning (raise
 * RLIMIT_MEMLOCK / LimitMEMLOCK=) and is not an error. */
MS_MUST_CHECK int ms_secret_create(size_t len, struct ms_secret **out);

/* Like ms_secret_create, then copies len bytes from data. The caller still owns data and
 * should wipe its copy (sodium_memzero) as soon as it can. */
MS_MUST_CHECK int ms_secret_from_bytes(const void *data, size_t len, struct ms_secret **out);

/* Reads a key file holding base64 (standard alphabet, padding optional, surrounding
 * whitespace and newlines ignored) and decodes it into a new secret. The file must be a
 * regular file of at most MS_KEY_FILE_MAX bytes whose mode grants nothing to group or other
 * (0600 or 0400): anything else is refused with -EACCES and a log line saying why and how to
 * fix it (chmod 600). Returns 0, -errno from open/read (-ENOENT, ...), -EACCES (mode),
 * -EINVAL (not a regular file), -EFBIG (too large), -MEDSTORE_EFORMAT (not base64, empty,
 * or longer than MS_SECRET_MAX once decoded), -ENOMEM. The file's text is read into locked
 * memory and wiped. The key bytes are never logged. */
MS_MUST_CHECK int ms_secret_from_base64_file(const char *path, struct ms_secret **out);

/* ms_secret_from_base64_file, and the decoded key must be exactly want_len bytes (the
 * Ed25519 seed: 32); a different length is -MEDSTORE_EFORMAT. */
MS_MUST_CHECK int ms_secret_from_base64_file_exact(const char *path, size_t want_len,
                                                   struct ms_secret **out);

/* The secret's bytes, valid until ms_secret_destroy(s). Never NULL. */
const uint8_t *ms_secret_data(const struct ms_secret *s);

/* Writable view of the bytes, for filling a secret after ms_secret_create; valid until
 * ms_secret_destroy(s). Must not be called once the secret is read-only (asserts). */
uint8_t *ms_secret_data_mut(struct ms_secret *s);

/* Length in bytes (>= 1). */
size_t ms_secret_len(const struct ms_secret *s);

/* Makes the bytes read-only (sodium_mprotect_readonly): a stray write then faults instead
 * of corrupting a key. Returns 0 or -errno from mprotect. */
MS_MUST_CHECK int ms_secret_make_readonly(struct ms_secret *s);

/* True once ms_secret_make_readonly succeeded. */
bool ms_secret_is_readonly(const struct ms_secret *s);

/* Overwrites the bytes with zeros now (sodium_memzero), read-only secrets included; the
 * secret stays allocated and keeps its length and protection. For keys that must be gone
 * before their holder is (F-DEL-3). */
void ms_secret_wipe(struct ms_secret *s);

/* Constant-time comparison of two secrets' lengths and bytes. */
bool ms_secret_equal(const struct ms_secret *a, const struct ms_secret *b);

/* Wipes and frees s (sodium_free zeroes the whole allocation). NULL is accepted. */
void ms_secret_destroy(struct ms_secret *s);

#endif
