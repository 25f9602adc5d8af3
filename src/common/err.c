/*
 * err.c - the one table of error codes: code -> name, text, gRPC status.
 *
 * Both bands live here: the errno values medstore returns and its own -MEDSTORE_E* codes.
 * tests/unit/common/test_err.c proves every MEDSTORE_E* code has a row and that rows are unique.
 * gRPC status numbers are written as numbers (grpc_status_code values) so common does not
 * depend on gRPC; src/rpc static_asserts they match <grpc/status.h>.
 */
#include "common/err.h"

#include <errno.h>
#include <stddef.h>

/* grpc_status_code values (grpc/impl/codegen/status.h). */
enum {
    ST_OK = 0, ST_CANCELLED = 1, ST_UNKNOWN = 2, ST_INVALID_ARGUMENT = 3, ST_DEADLINE = 4,
    ST_NOT_FOUND = 5, ST_ALREADY_EXISTS = 6, ST_PERMISSION_DENIED = 7, ST_RESOURCE_EXHAUSTED = 8,
    ST_FAILED_PRECONDITION = 9, ST_ABORTED = 10, ST_OUT_OF_RANGE = 11, ST_UNIMPLEMENTED = 12,
    ST_INTERNAL = 13, ST_UNAVAILABLE = 14, ST_DATA_LOSS = 15, ST_UNAUTHENTICATED = 16,
};

struct err_row {
    int code; /* positive: errno or MEDSTORE_E* */
    const char *name;
    const char *text;
    int grpc_status;
};

static const struct err_row errno_rows[] = {
    {EPERM, "EPERM", "operation not permitted", ST_PERMISSION_DENIED},
    {ENOENT, "ENOENT", "no such file or directory", ST_NOT_FOUND},
    {EINTR, "EINTR", "interrupted", ST_UNAVAILABLE},
    {EIO, "EIO", "input/output error", ST_UNAVAILABLE},
    {EBADF, "EBADF", "bad file descriptor", ST_INTERNAL},
    {EAGAIN, "EAGAIN", "resource temporarily unavailable, retry", ST_RESOURCE_EXHAUSTED},
    {ENOMEM, "ENOMEM", "out of memory", ST_RESOURCE_EXHAUSTED},
    {EACCES, "EACCES", "permission denied", ST_PERMISSION_DENIED},
    {EFAULT, "EFAULT", "bad address", ST_INTERNAL},
    {EBUSY, "EBUSY", "device or resource busy", ST_UNAVAILABLE},
    {EEXIST, "EEXIST", "already exists", ST_ALREADY_EXISTS},
    {ENOTDIR, "ENOTDIR", "not a directory", ST_FAILED_PRECONDITION},
    {EISDIR, "EISDIR", "is a directory", ST_FAILED_PRECONDITION},
    {EINVAL, "EINVAL", "invalid argument", ST_INVALID_ARGUMENT},
    {EMFILE, "EMFILE", "too many open files", ST_RESOURCE_EXHAUSTED},
    {EFBIG, "EFBIG", "file too large", ST_OUT_OF_RANGE},
    {ENOSPC, "ENOSPC", "no space left on device", ST_RESOURCE_EXHAUSTED},
    {EROFS, "EROFS", "read-only file system", ST_UNAVAILABLE},
    {EPIPE, "EPIPE", "broken pipe", ST_UNAVAILABLE},
    {ERANGE, "ERANGE", "result out of range", ST_OUT_OF_RANGE},
    {ENAMETOOLONG, "ENAMETOOLONG", "name too long", ST_INVALID_ARGUMENT},
    {ENOSYS, "ENOSYS", "function not implemented", ST_UNIMPLEMENTED},
    {ENOTSUP, "ENOTSUP", "operation not supported", ST_UNIMPLEMENTED},
    {EOVERFLOW, "EOVERFLOW", "value too large", ST_OUT_OF_RANGE},
    {EBADMSG, "EBADMSG", "bad message", ST_INVALID_ARGUMENT},
    {EPROTO, "EPROTO", "protocol error", ST_INTERNAL},
    {ECONNREFUSED, "ECONNREFUSED", "connection refused", ST_UNAVAILABLE},
    {ECONNRESET, "ECONNRESET", "connection reset", ST_UNAVAILABLE},
    {ETIMEDOUT, "ETIMEDOUT", "timed out", ST_DEADLINE},
    {ECANCELED, "ECANCELED", "operation canceled", ST_CANCELLED},
    {EDQUOT, "EDQUOT", "disk quota exceeded", ST_RESOURCE_EXHAUSTED},
};

/* Indexed by code - MEDSTORE_EBASE. */
static const struct err_row ms_rows[] = {
    {MEDSTORE_ECORRUPT, "ECORRUPT", "data corrupt (checksum or format check failed)",
     ST_DATA_LOSS},
    {MEDSTORE_EPLACEMENT, "EPLACEMENT", "fragments cannot be placed on distinct racks",
     ST_FAILED_PRECONDITION},
    {MEDSTORE_EDENIED, "EDENIED", "access denied", ST_PERMISSION_DENIED},
    {MEDSTORE_ESHREDDED, "ESHREDDED", "object was deleted (key destroyed)", ST_NOT_FOUND},
    {MEDSTORE_ETOKEN, "ETOKEN", "capability token invalid or expired", ST_PERMISSION_DENIED},
    {MEDSTORE_EINTERNAL, "EINTERNAL", "internal error", ST_INTERNAL},
    {MEDSTORE_EFORMAT, "EFORMAT", "input is not in the expected format", ST_INVALID_ARGUMENT},
    {MEDSTORE_ETRUNCATED, "ETRUNCATED", "input truncated", ST_INVALID_ARGUMENT},
    {MEDSTORE_EUNSUPPORTED, "EUNSUPPORTED", "feature not supported", ST_UNIMPLEMENTED},
    {MEDSTORE_EVERSION, "EVERSION", "unknown format version", ST_FAILED_PRECONDITION},
    {MEDSTORE_ECONFIG, "ECONFIG", "invalid configuration", ST_INVALID_ARGUMENT},
    {MEDSTORE_EEXIST, "EEXIST_COMMITTED", "already exists committed", ST_ALREADY_EXISTS},
    {MEDSTORE_ENOTFOUND, "ENOTFOUND", "not found", ST_NOT_FOUND},
    {MEDSTORE_ERANGE, "ERANGE_OBJECT", "range outside the object", ST_OUT_OF_RANGE},
    {MEDSTORE_ELIMIT, "ELIMIT", "limit exceeded", ST_RESOURCE_EXHAUSTED},
    {MEDSTORE_EAUTH, "EAUTH", "authentication failed", ST_UNAUTHENTICATED},
    {MEDSTORE_EUNAVAIL, "EUNAVAIL", "service unavailable", ST_UNAVAILABLE},
    {MEDSTORE_ECRASHED, "ECRASHED", "simulated crash: port is dead", ST_UNAVAILABLE},
};

_Static_assert(sizeof(ms_rows) / sizeof(ms_rows[0]) == MEDSTORE_ELAST - MEDSTORE_EBASE + 1,
               "every MEDSTORE_E* code has exactly one row");

static const struct err_row *err_find(int code)
{
    int c = code < 0 ? -code : code;
    if (c >= MEDSTORE_EBASE && c <= MEDSTORE_ELAST)
        return &ms_rows[c - MEDSTORE_EBASE];
    for (size_t i = 0; i < sizeof(errno_rows) / sizeof(errno_rows[0]); i++)
        if (errno_rows[i].code == c)
            return &errno_rows[i];
    return NULL;
}

const char *ms_err_name(int code)
{
    if (code == 0)
        return "OK";
    const struct err_row *r = err_find(code);
    return r ? r->name : "EUNKNOWN";
}

const char *medstore_strerror(int code)
{
    if (code == 0)
        return "success";
    const struct err_row *r = err_find(code);
    return r ? r->text : "unknown error";
}

int ms_err_grpc_status(int code)
{
    if (code >= 0)
        return ST_OK;
    const struct err_row *r = err_find(code);
    return r ? r->grpc_status : ST_UNKNOWN;
}

bool ms_err_is_known(int code)
{
    return code == 0 || err_find(code) != NULL;
}

/* For tests: lets test_err walk the table. */
int ms_err_table_row(unsigned i, int *code, const char **name, int *grpc_status);
int ms_err_table_row(unsigned i, int *code, const char **name, int *grpc_status)
{
    const unsigned n_errno = sizeof(errno_rows) / sizeof(errno_rows[0]);
    const unsigned n_ms = sizeof(ms_rows) / sizeof(ms_rows[0]);
    const struct err_row *r;
    if (i < n_errno)
        r = &errno_rows[i];
    else if (i < n_errno + n_ms)
        r = &ms_rows[i - n_errno];
    else
        return -ENOENT;
    *code = -r->code;
    *name = r->name;
    *grpc_status = r->grpc_status;
    return 0;
}
