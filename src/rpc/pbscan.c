/*
 * pbscan.c - protobuf framing without protobuf-c: find a bulk `bytes` field in place.
 *
 * A 4 MiB PutFragment chunk arrives as gRPC slices. protobuf-c's unpack needs one contiguous
 * buffer (a copy, grpc_byte_buffer_reader_readall) and copies `bytes` fields again. This scanner
 * walks the top-level protobuf framing across the slices instead and yields the payload of one
 * length-delimited field as views into them, so the node can write shard records straight from
 * the received bytes. The few small fields beside it are left to protobuf-c on a small copy.
 *
 * Input is untrusted: every varint is bounded to 10 bytes (the 10th <= 1), every length is
 * checked against the bytes left before use, field number 0, groups (wire types 3, 4) and wire
 * types 6, 7 are refused, and the bulk field must be length-delimited. Fuzzed by
 * tests/fuzz/rpc/pbscan (property: the views hold exactly the bytes protobuf-c unpacks).
 */
#include "rpc/rpc.h"

#include <errno.h>
#include <string.h>

#include "common/ms_assert.h"

/* A read position inside a message made of pieces. */
struct pb_cursor {
    const struct ms_rpc_msg *msg;
    size_t piece;  /* index of the current piece */
    size_t off;    /* offset inside that piece */
    size_t pos;    /* bytes consumed from the start of the message */
};

static void cursor_settle(struct pb_cursor *c)
{
    while (c->piece < c->msg->niov && c->off == c->msg->iov[c->piece].len) {
        c->piece++;
        c->off = 0;
    }
}

static int cursor_byte(struct pb_cursor *c, uint8_t *out)
{
    if (c->pos >= c->msg->len)
        return -MEDSTORE_EFORMAT;
    cursor_settle(c);
    MS_ASSERT(c->piece < c->msg->niov);
    *out = c->msg->iov[c->piece].ptr[c->off];
    c->off++;
    c->pos++;
    return 0;
}

/* Advances n bytes; the caller checked n <= bytes left. */
static void cursor_skip(struct pb_cursor *c, size_t n)
{
    MS_ASSERT(n <= c->msg->len - c->pos);
    c->pos += n;
    while (n > 0) {
        cursor_settle(c);
        MS_ASSERT(c->piece < c->msg->niov);
        size_t avail = c->msg->iov[c->piece].len - c->off;
        size_t step = n < avail ? n : avail;
        c->off += step;
        n -= step;
    }
}

static int cursor_varint(struct pb_cursor *c, uint64_t *out)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < 10; i++) {
        uint8_t b;
        int rc = cursor_byte(c, &b);
        if (rc < 0)
            return rc;
        if (i == 9 && b > 1)
            return -MEDSTORE_EFORMAT; /* more than 64 bits */
        v |= (uint64_t)(b & 0x7f) << (7 * i);
        if ((b & 0x80) == 0) {
            *out = v;
            return 0;
        }
    }
    return -MEDSTORE_EFORMAT;
}

/* Skips the value of one field of wire type wt; for wire type 2 returns its length. */
static int skip_value(struct pb_cursor *c, unsigned wt, uint64_t *len_out)
{
    uint64_t v;
    size_t left = c->msg->len - c->pos;
    switch (wt) {
    case 0:
        return cursor_varint(c, &v);
    case 1:
        if (left < 8)
            return -MEDSTORE_EFORMAT;
        cursor_skip(c, 8);
        return 0;
    case 5:
        if (left < 4)
            return -MEDSTORE_EFORMAT;
        cursor_skip(c, 4);
        return 0;
    case 2: {
        int rc = cursor_varint(c, &v);
        if (rc < 0)
            return rc;
        if (v > c->msg->len - c->pos)
            return -MEDSTORE_EFORMAT;
        *len_out = v;
        cursor_skip(c, (size_t)v);
        return 0;
    }
    default:
        return -MEDSTORE_EFORMAT; /* groups (3, 4) and undefined wire types (6, 7) */
    }
}

/* Describes len bytes from cursor position start as views into msg's pieces. */
static int make_view(const struct pb_cursor *start, size_t len, struct ms_rpc_msg *view,
                     struct ms_rpc_iov *iov, size_t max_iov)
{
    struct pb_cursor c = *start;
    size_t n = 0;
    size_t left = len;
    while (left > 0) {
        cursor_settle(&c);
        MS_ASSERT(c.piece < c.msg->niov);
        if (n == max_iov)
            return -E2BIG;
        size_t avail = c.msg->iov[c.piece].len - c.off;
        size_t step = left < avail ? left : avail;
        iov[n].ptr = c.msg->iov[c.piece].ptr + c.off;
        iov[n].len = step;
        n++;
        c.off += step;
        left -= step;
    }
    view->len = len;
    view->niov = n;
    view->iov = iov;
    return 0;
}

int ms_rpc_pb_scan(const struct ms_rpc_msg *msg, uint32_t bytes_field, uint64_t *fields_seen,
                   struct ms_rpc_msg *view, struct ms_rpc_iov *iov, size_t max_iov)
{
    MS_ASSERT(msg != NULL && fields_seen != NULL && view != NULL);
    MS_ASSERT(bytes_field > 0 && (iov != NULL || max_iov == 0));
    struct pb_cursor c = {.msg = msg};
    struct pb_cursor found_at = {0};
    uint64_t found_len = 0;
    bool found = false;
    *fields_seen = 0;
    while (c.pos < msg->len) {
        uint64_t key;
        int rc = cursor_varint(&c, &key);
        if (rc < 0)
            return rc;
        uint64_t field = key >> 3;
        unsigned wt = (unsigned)(key & 7);
        if (field == 0 || field > 0x1fffffffu)
            return -MEDSTORE_EFORMAT;
        if (field <= 64)
            *fields_seen |= 1ull << (field - 1);
        if (field == bytes_field && wt != 2)
            return -MEDSTORE_EFORMAT;
        uint64_t len = 0;
        struct pb_cursor before = c;
        rc = skip_value(&c, wt, &len);
        if (rc < 0)
            return rc;
        if (field == bytes_field) {
            /* Re-read the length to find where the payload starts; the last occurrence wins. */
            uint64_t again;
            rc = cursor_varint(&before, &again);
            MS_ASSERT(rc == 0 && again == len);
            found_at = before;
            found_len = len;
            found = true;
        }
    }
    MS_ASSERT(c.pos == msg->len);
    if (!found)
        return 0;
    int rc = make_view(&found_at, (size_t)found_len, view, iov, max_iov);
    return rc < 0 ? rc : 1;
}

size_t ms_rpc_pb_bytes_prefix(uint32_t field, uint64_t len, uint8_t out[MS_RPC_PB_PREFIX_MAX])
{
    MS_ASSERT(field > 0 && field <= 0x1fffffffu);
    size_t n = 0;
    uint64_t key = ((uint64_t)field << 3) | 2u;
    uint64_t vals[2] = {key, len};
    for (unsigned k = 0; k < 2; k++) {
        uint64_t v = vals[k];
        while (v >= 0x80) {
            out[n++] = (uint8_t)(v | 0x80);
            v >>= 7;
        }
        out[n++] = (uint8_t)v;
    }
    MS_ASSERT(n >= 2 && n <= MS_RPC_PB_PREFIX_MAX);
    return n;
}
