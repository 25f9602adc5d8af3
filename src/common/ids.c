/*
 * ids.c - object id hex encoding. The decoder refuses anything but exactly 32 hex digits, so
 * a name built from an id can never contain '/', '.' or NUL.
 */
#include "common/ids.h"

#include <errno.h>
#include <string.h>

void ms_oid_to_hex(const struct ms_oid *oid, char out[MS_OID_HEX_LEN + 1])
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < MS_OID_BYTES; i++) {
        out[2 * i] = digits[oid->b[i] >> 4];
        out[2 * i + 1] = digits[oid->b[i] & 0xf];
    }
    out[MS_OID_HEX_LEN] = '\0';
}

static int hex_val(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int ms_oid_from_hex(const char *hex, size_t len, struct ms_oid *oid)
{
    struct ms_oid tmp;
    if (hex == NULL || len != MS_OID_HEX_LEN)
        return -EINVAL;
    for (size_t i = 0; i < MS_OID_BYTES; i++) {
        int hi = hex_val(hex[2 * i]);
        int lo = hex_val(hex[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return -EINVAL;
        tmp.b[i] = (uint8_t)(hi << 4 | lo);
    }
    *oid = tmp;
    return 0;
}

bool ms_oid_is_nil(const struct ms_oid *oid)
{
    uint8_t acc = 0;
    for (size_t i = 0; i < MS_OID_BYTES; i++)
        acc |= oid->b[i];
    return acc == 0;
}

bool ms_oid_equal(const struct ms_oid *a, const struct ms_oid *b)
{
    return memcmp(a->b, b->b, MS_OID_BYTES) == 0;
}
