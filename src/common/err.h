/*
 * err.h - medstore's error codes.
 *
 * Every fallible call returns int: 0 (or a count) on success, a negative code on failure.
 * A failure is -errno when errno says it exactly (-ENOMEM, -EIO, -ENOSPC, -EINVAL, ...),
 * else -MEDSTORE_E* from the band 1000..1999 below. This is the contract of the kernel and
 * liburing under us: allocation-free and nothing to own or leak. gRPC status codes exist only
 * in src/rpc, which maps codes through ms_err_grpc_status().
 *
 * Checklist: a new code needs a row in the table in err.c (test_err proves it complete) and,
 * when it can cross the wire, a line in docs/rpc.md.
 */
#ifndef MS_COMMON_ERR_H
#define MS_COMMON_ERR_H

#include <stdbool.h>

#define MS_MUST_CHECK __attribute__((warn_unused_result))

enum medstore_err {
    MEDSTORE_EBASE = 1000,
    MEDSTORE_ECORRUPT = 1000,    /* stored or received bytes fail a checksum or format check */
    MEDSTORE_EPLACEMENT = 1001,  /* fragments cannot be placed on distinct racks */
    MEDSTORE_EDENIED = 1002,     /* the principal lacks the right */
    MEDSTORE_ESHREDDED = 1003,   /* the object was deleted: its key is destroyed */
    MEDSTORE_ETOKEN = 1004,      /* capability token malformed, forged or expired */
    MEDSTORE_EINTERNAL = 1005,   /* a medstore bug: an invariant did not hold */
    MEDSTORE_EFORMAT = 1006,     /* input is not of the expected format (parser refused it) */
    MEDSTORE_ETRUNCATED = 1007,  /* input ends before a length it declares */
    MEDSTORE_EUNSUPPORTED = 1008,/* valid but uses a feature we do not implement */
    MEDSTORE_EVERSION = 1009,    /* on-disk or wire version we do not understand */
    MEDSTORE_ECONFIG = 1010,     /* configuration file or value invalid */
    MEDSTORE_EEXIST = 1011,      /* the object or fragment already exists committed */
    MEDSTORE_ENOTFOUND = 1012,   /* no such object or fragment */
    MEDSTORE_ERANGE = 1013,      /* offset or length outside the object */
    MEDSTORE_ELIMIT = 1014,      /* a configured limit would be exceeded */
    MEDSTORE_EAUTH = 1015,       /* authentication failed (bad certificate or signature) */
    MEDSTORE_EUNAVAIL = 1016,    /* peer or service unavailable; retry may succeed */
    MEDSTORE_ECRASHED = 1017,    /* fault port: simulated power loss, the port is dead */
    MEDSTORE_ELAST = 1017,
};

/* Short stable name of a code ("ECORRUPT", "ENOSPC"); never NULL. Accepts 0, -errno and
 * -MEDSTORE_E*; an unknown code yields "EUNKNOWN". */
const char *ms_err_name(int code);

/* Human text for a code; never NULL, static storage. */
const char *medstore_strerror(int code);

/* gRPC status (numeric, grpc_status_code values) a code maps to. 0 maps to 0 (OK). */
int ms_err_grpc_status(int code);

/* True when code is one of ours (in the -MEDSTORE band) or a known errno. */
bool ms_err_is_known(int code);

/* For tests: row i of the error table (errno rows, then MEDSTORE_E* rows). Fills *code
 * (negative), *name and *grpc_status; returns 0, or -ENOENT past the last row. */
MS_MUST_CHECK int ms_err_table_row(unsigned i, int *code, const char **name,
                                  int *grpc_status);

#endif
