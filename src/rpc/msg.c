/*
 * msg.c - helpers on received message views and outgoing segments.
 *
 * Received messages are views into bytes the transport owns (struct ms_rpc_msg); these helpers
 * copy out of them on request, bounds-checked. Outgoing segments are lent by the caller until
 * their release callback; every path that takes segments either hands them to the transport
 * or releases them here, so a caller never has to guess whether to free (STYLE.md section 5).
 */
#include "rpc/rpc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/ms_assert.h"

int ms_rpc_msg_copy(const struct ms_rpc_msg *msg, size_t off, void *dst, size_t len)
{
    MS_ASSERT(msg != NULL);
    MS_ASSERT(dst != NULL || len == 0);
    if (off > msg->len || len > msg->len - off)
        return -ERANGE;
    uint8_t *out = dst;
    for (size_t i = 0; i < msg->niov && len > 0; i++) {
        const struct ms_rpc_iov *v = &msg->iov[i];
        if (off >= v->len) {
            off -= v->len;
            continue;
        }
        size_t step = v->len - off < len ? v->len - off : len;
        memcpy(out, v->ptr + off, step);
        out += step;
        len -= step;
        off = 0;
    }
    MS_ASSERT(len == 0);
    return 0;
}

int ms_rpc_msg_contig(const struct ms_rpc_msg *msg, const uint8_t **data, uint8_t **scratch)
{
    MS_ASSERT(msg != NULL && data != NULL && scratch != NULL);
    *scratch = NULL;
    for (size_t i = 0; i < msg->niov; i++) {
        if (msg->iov[i].len == msg->len) {
            *data = msg->iov[i].ptr; /* one piece holds everything (others are empty) */
            return 0;
        }
    }
    if (msg->len == 0) {
        static const uint8_t empty[1];
        *data = empty;
        return 0;
    }
    uint8_t *buf = malloc(msg->len);
    if (buf == NULL)
        return -ENOMEM;
    int rc = ms_rpc_msg_copy(msg, 0, buf, msg->len);
    MS_ASSERT(rc == 0);
    *data = buf;
    *scratch = buf;
    return 0;
}

static void seg_free_cb(void *arg)
{
    free(arg);
}

struct ms_rpc_seg ms_rpc_seg_malloced(void *buf, size_t len)
{
    MS_ASSERT(buf != NULL || len == 0);
    struct ms_rpc_seg s = {.ptr = buf, .len = len, .release_cb = seg_free_cb, .release_arg = buf};
    return s;
}

void ms_rpc_segs_release(const struct ms_rpc_seg *segs, size_t nsegs)
{
    MS_ASSERT(segs != NULL || nsegs == 0);
    for (size_t i = 0; i < nsegs; i++)
        if (segs[i].release_cb != NULL)
            segs[i].release_cb(segs[i].release_arg);
}
