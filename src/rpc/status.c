/*
 * status.c - medstore codes <-> gRPC status and the `medstore-reason` machine reason.
 *
 * A failed call carries three things (docs/rpc.md): the gRPC status from the one table in
 * common/err.c (ms_err_grpc_status), a human message, and a reason in the trailing metadata
 * entry `medstore-reason` that names the medstore code exactly, because several codes share
 * one gRPC status (ESHREDDED and ENOTFOUND are both NOT_FOUND). The client maps the reason
 * back to the code; without a known reason (another implementation, or gRPC's own failures:
 * UNAVAILABLE, DEADLINE_EXCEEDED) it falls back to a per-status code.
 *
 * Invariants: every MEDSTORE_E* code has a distinct reason (static_assert on the table size and
 * tests/unit/rpc/test_status.c for uniqueness and round trips); reasons are [a-z0-9-], at most
 * MS_RPC_REASON_MAX-1 characters. Finer reasons (token-expired, ...) map to one code each.
 *
 * Checklist: a new MEDSTORE_E* code needs a row in ms_reasons and a line in docs/rpc.md.
 */
#include "rpc/rpc.h"

#include <errno.h>
#include <string.h>

#include <grpc/status.h>

#include "common/ms_assert.h"
#include "rpc/rpc_int.h"

struct reason_row {
    int code; /* positive errno or MEDSTORE_E* */
    const char *reason;
};

/* Indexed by code - MEDSTORE_EBASE. */
static const struct reason_row ms_reasons[] = {
    {MEDSTORE_ECORRUPT, "corrupt"},
    {MEDSTORE_EPLACEMENT, "placement"},
    {MEDSTORE_EDENIED, "denied"},
    {MEDSTORE_ESHREDDED, "shredded"},
    {MEDSTORE_ETOKEN, "token"},
    {MEDSTORE_EINTERNAL, "internal"},
    {MEDSTORE_EFORMAT, "format"},
    {MEDSTORE_ETRUNCATED, "truncated"},
    {MEDSTORE_EUNSUPPORTED, "unsupported"},
    {MEDSTORE_EVERSION, "version"},
    {MEDSTORE_ECONFIG, "config"},
    {MEDSTORE_EEXIST, "exists"},
    {MEDSTORE_ENOTFOUND, "not-found"},
    {MEDSTORE_ERANGE, "range"},
    {MEDSTORE_ELIMIT, "limit"},
    {MEDSTORE_EAUTH, "auth"},
    {MEDSTORE_EUNAVAIL, "unavailable"},
    {MEDSTORE_ECRASHED, "crashed"},
};

_Static_assert(MS_ARRAY_LEN(ms_reasons) == MEDSTORE_ELAST - MEDSTORE_EBASE + 1,
              "every MEDSTORE_E* code has a reason");

/* errno codes a server may send (the errno rows of common/err.c). */
static const struct reason_row errno_reasons[] = {
    {EPERM, "not-permitted"},        {ENOENT, "no-such-file"},
    {EINTR, "interrupted"},          {EIO, "io-error"},
    {EBADF, "bad-descriptor"},       {EAGAIN, "busy"},
    {ENOMEM, "out-of-memory"},       {EACCES, "access-denied"},
    {EFAULT, "bad-address"},         {EBUSY, "device-busy"},
    {EEXIST, "file-exists"},         {ENOTDIR, "not-a-directory"},
    {EISDIR, "is-a-directory"},      {EINVAL, "invalid-argument"},
    {EMFILE, "too-many-files"},      {EFBIG, "too-large"},
    {ENOSPC, "disk-full"},           {EROFS, "read-only"},
    {EPIPE, "broken-pipe"},          {ERANGE, "out-of-range"},
    {ENAMETOOLONG, "name-too-long"}, {ENOSYS, "not-implemented"},
    {ENOTSUP, "not-supported"},      {EOVERFLOW, "overflow"},
    {EBADMSG, "bad-message"},        {EPROTO, "protocol-error"},
    {ECONNREFUSED, "refused"},       {ECONNRESET, "reset"},
    {ETIMEDOUT, "timeout"},          {ECANCELED, "cancelled"},
    {EDQUOT, "quota-exceeded"},
};

/* Finer reasons a handler may send instead of the code's own; each names one code. */
static const struct reason_row fine_reasons[] = {
    {MEDSTORE_ETOKEN, "token-format"}, {MEDSTORE_ETOKEN, "token-signature"},
    {MEDSTORE_ETOKEN, "token-key"},       {MEDSTORE_ETOKEN, "token-expired"},
    {MEDSTORE_ETOKEN, "token-audience"},  {MEDSTORE_ETOKEN, "token-object"},
    {MEDSTORE_ETOKEN, "token-fragment"},  {MEDSTORE_ETOKEN, "token-action"},
    {MEDSTORE_ETOKEN, "token-missing"},   {MEDSTORE_EDENIED, "principal"},
    {MEDSTORE_EFORMAT, "bad-request"},    {MEDSTORE_ELIMIT, "too-many-calls"},
};

/* grpc_status_code values are written as numbers in common/err.c; they must match. */
_Static_assert(GRPC_STATUS_OK == 0 && GRPC_STATUS_CANCELLED == 1 && GRPC_STATUS_UNKNOWN == 2,
              "grpc status numbering");
_Static_assert(GRPC_STATUS_INVALID_ARGUMENT == 3 && GRPC_STATUS_DEADLINE_EXCEEDED == 4,
              "grpc status numbering");
_Static_assert(GRPC_STATUS_NOT_FOUND == 5 && GRPC_STATUS_ALREADY_EXISTS == 6 &&
                  GRPC_STATUS_PERMISSION_DENIED == 7 && GRPC_STATUS_RESOURCE_EXHAUSTED == 8,
              "grpc status numbering");
_Static_assert(GRPC_STATUS_FAILED_PRECONDITION == 9 && GRPC_STATUS_ABORTED == 10 &&
                  GRPC_STATUS_OUT_OF_RANGE == 11 && GRPC_STATUS_UNIMPLEMENTED == 12,
              "grpc status numbering");
_Static_assert(GRPC_STATUS_INTERNAL == 13 && GRPC_STATUS_UNAVAILABLE == 14 &&
                  GRPC_STATUS_DATA_LOSS == 15 && GRPC_STATUS_UNAUTHENTICATED == 16,
              "grpc status numbering");

const char *ms_rpc_reason_of_code(int code)
{
    if (code >= 0)
        return "";
    int c = -code;
    if (c >= MEDSTORE_EBASE && c <= MEDSTORE_ELAST) {
        const struct reason_row *r = &ms_reasons[c - MEDSTORE_EBASE];
        MS_ASSERT(r->code == c);
        return r->reason;
    }
    for (size_t i = 0; i < MS_ARRAY_LEN(errno_reasons); i++)
        if (errno_reasons[i].code == c)
            return errno_reasons[i].reason;
    /* A code outside the tables is a bug of the sender; say so rather than invent one. */
    return "internal";
}

static int reason_find(const struct reason_row *rows, size_t n, const char *reason)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(rows[i].reason, reason) == 0)
            return -rows[i].code;
    return 0;
}

int ms_rpc_code_of_reason(const char *reason)
{
    MS_ASSERT(reason != NULL);
    if (!ms_rpc_reason_is_valid(reason))
        return 0;
    int code = reason_find(ms_reasons, MS_ARRAY_LEN(ms_reasons), reason);
    if (code == 0)
        code = reason_find(errno_reasons, MS_ARRAY_LEN(errno_reasons), reason);
    if (code == 0)
        code = reason_find(fine_reasons, MS_ARRAY_LEN(fine_reasons), reason);
    MS_ASSERT(code <= 0);
    return code;
}

int ms_rpc_code_of_grpc_status(int grpc_status)
{
    switch (grpc_status) {
    case GRPC_STATUS_OK: return 0;
    case GRPC_STATUS_CANCELLED: return -ECANCELED;
    case GRPC_STATUS_INVALID_ARGUMENT: return -EINVAL;
    case GRPC_STATUS_DEADLINE_EXCEEDED: return -ETIMEDOUT;
    case GRPC_STATUS_NOT_FOUND: return -MEDSTORE_ENOTFOUND;
    case GRPC_STATUS_ALREADY_EXISTS: return -MEDSTORE_EEXIST;
    case GRPC_STATUS_PERMISSION_DENIED: return -MEDSTORE_EDENIED;
    case GRPC_STATUS_RESOURCE_EXHAUSTED: return -MEDSTORE_ELIMIT;
    case GRPC_STATUS_FAILED_PRECONDITION: return -EINVAL;
    case GRPC_STATUS_ABORTED: return -EAGAIN;
    case GRPC_STATUS_OUT_OF_RANGE: return -MEDSTORE_ERANGE;
    case GRPC_STATUS_UNIMPLEMENTED: return -MEDSTORE_EUNSUPPORTED;
    case GRPC_STATUS_UNAVAILABLE: return -MEDSTORE_EUNAVAIL;
    case GRPC_STATUS_DATA_LOSS: return -MEDSTORE_ECORRUPT;
    case GRPC_STATUS_UNAUTHENTICATED: return -MEDSTORE_EAUTH;
    default: return -MEDSTORE_EINTERNAL; /* UNKNOWN, INTERNAL and numbers we do not know */
    }
}

bool ms_rpc_reason_is_valid(const char *reason)
{
    MS_ASSERT(reason != NULL);
    size_t n = 0;
    for (; reason[n] != '\0'; n++) {
        char ch = reason[n];
        bool ok = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-';
        if (!ok || n + 1 >= MS_RPC_REASON_MAX)
            return false;
    }
    return n > 0;
}

int ms_rpc_reason_table_row(unsigned i, int *code, const char **reason)
{
    const struct reason_row *tables[] = {ms_reasons, errno_reasons, fine_reasons};
    const size_t sizes[] = {MS_ARRAY_LEN(ms_reasons), MS_ARRAY_LEN(errno_reasons),
                            MS_ARRAY_LEN(fine_reasons)};
    for (size_t t = 0; t < MS_ARRAY_LEN(tables); t++) {
        if (i < sizes[t]) {
            *code = -tables[t][i].code;
            *reason = tables[t][i].reason;
            return 0;
        }
        i -= (unsigned)sizes[t];
    }
    return -ENOENT;
}
