/*
 * medstore.h - the public C API of libmedstore, the medstore client library.
 *
 * Includes only C and POSIX headers; handles are opaque. Every fallible function returns 0 (or
 * a count) on success and a negative code on failure: -errno when errno says it exactly, else
 * -MEDSTORE_E* (1000..1999). medstore_strerror() names any of them.
 *
 * This wave ships the error vocabulary; the client calls (put, get, range get, query, delete)
 * arrive with the client-library issue on top of the codec and RPC layers already in src/.
 */
#ifndef MEDSTORE_MEDSTORE_H
#define MEDSTORE_MEDSTORE_H

#ifdef __cplusplus
extern "C" {
#endif

#define MEDSTORE_VERSION_MAJOR 0
#define MEDSTORE_VERSION_MINOR 1
#define MEDSTORE_VERSION_PATCH 0

#ifndef MEDSTORE_API
#define MEDSTORE_API __attribute__((visibility("default")))
#endif

/* Human-readable text for 0, -errno or -MEDSTORE_E*; never NULL; static storage. */
MEDSTORE_API const char *medstore_strerror(int code);

#ifdef __cplusplus
}
#endif

#endif
