/*
 * grpc_util.c - small gRPC helpers shared by server.c and client.c: channel arguments, byte
 * buffers made from lent segments without copying, received messages as views, deadlines.
 *
 * Zero copy: an outgoing segment with a release callback becomes a slice that points at the
 * caller's bytes (grpc_slice_new_with_user_data); gRPC calls the release callback when it drops
 * its last reference, possibly on one of its own threads. A received byte buffer is walked with
 * grpc_byte_buffer_reader_peek, which yields gRPC's own slices; the reader is kept alive with
 * the message because for a compressed message it owns the decompressed slices.
 */
#include "rpc/rpc_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <grpc/slice.h>
#include <grpc/support/time.h>

#include "common/ms_assert.h"

/* GRPC-NOTES: 1 MiB TCP reads took gRPC from ~360-800 to ~1750 MiB/s on loopback. */
#define DATA_READ_CHUNK_BYTES (1024 * 1024)

static grpc_arg arg_int(const char *key, int value)
{
    grpc_arg a;
    memset(&a, 0, sizeof(a));
    a.type = GRPC_ARG_INTEGER;
    a.key = (char *)key; /* gRPC's API is not const-correct; it copies the arguments */
    a.value.integer = value;
    return a;
}

void rpc_args_init(struct rpc_args *a, size_t max_message_bytes, bool data_tuning,
                   bool local_pool, const char *override_name)
{
    MS_ASSERT(a != NULL);
    MS_ASSERT(max_message_bytes > 0 && max_message_bytes <= (size_t)INT32_MAX);
    size_t n = 0;
    a->arg[n++] = arg_int(GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH, (int)max_message_bytes);
    a->arg[n++] = arg_int(GRPC_ARG_MAX_SEND_MESSAGE_LENGTH, (int)max_message_bytes);
    if (data_tuning) {
        a->arg[n++] = arg_int("grpc.experimental.tcp_min_read_chunk_size", DATA_READ_CHUNK_BYTES);
        a->arg[n++] = arg_int("grpc.experimental.tcp_read_chunk_size", DATA_READ_CHUNK_BYTES);
    }
    if (local_pool)
        a->arg[n++] = arg_int(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    if (override_name != NULL) {
        grpc_arg s;
        memset(&s, 0, sizeof(s));
        s.type = GRPC_ARG_STRING;
        s.key = (char *)GRPC_SSL_TARGET_NAME_OVERRIDE_ARG;
        s.value.string = (char *)override_name;
        a->arg[n++] = s;
    }
    MS_ASSERT(n <= MS_ARRAY_LEN(a->arg));
    a->args.num_args = n;
    a->args.args = a->arg;
}

void rpc_args_add_int(struct rpc_args *a, const char *key, int value)
{
    MS_ASSERT(a != NULL && key != NULL);
    MS_ASSERT(a->args.num_args < MS_ARRAY_LEN(a->arg));
    a->arg[a->args.num_args++] = arg_int(key, value);
}

void rpc_args_add_quota(struct rpc_args *a, grpc_resource_quota *quota)
{
    MS_ASSERT(a != NULL && quota != NULL);
    MS_ASSERT(a->args.num_args < MS_ARRAY_LEN(a->arg));
    grpc_arg q;
    memset(&q, 0, sizeof(q));
    q.type = GRPC_ARG_POINTER;
    q.key = (char *)GRPC_ARG_RESOURCE_QUOTA;
    q.value.pointer.p = quota;
    q.value.pointer.vtable = grpc_resource_quota_arg_vtable();
    a->arg[a->args.num_args++] = q;
}

grpc_byte_buffer *rpc_bb_from_segs(const struct ms_rpc_seg *segs, size_t nsegs)
{
    MS_ASSERT(segs != NULL || nsegs == 0);
    if (nsegs > MS_RPC_MAX_SEGS) {
        ms_rpc_segs_release(segs, nsegs);
        return NULL;
    }
    grpc_slice slices[MS_RPC_MAX_SEGS];
    size_t n = 0;
    for (size_t i = 0; i < nsegs; i++) {
        const struct ms_rpc_seg *s = &segs[i];
        MS_ASSERT(s->ptr != NULL || s->len == 0);
        if (s->len == 0) {
            if (s->release_cb != NULL)
                s->release_cb(s->release_arg);
            continue;
        }
        if (s->release_cb != NULL)
            slices[n++] = grpc_slice_new_with_user_data((void *)s->ptr, s->len, s->release_cb,
                                                        s->release_arg);
        else
            slices[n++] = grpc_slice_from_copied_buffer(s->ptr, s->len);
    }
    grpc_byte_buffer *bb = grpc_raw_byte_buffer_create(slices, n);
    for (size_t i = 0; i < n; i++)
        grpc_slice_unref(slices[i]); /* the byte buffer holds its own references */
    MS_ASSERT(bb != NULL);
    return bb;
}

int rpc_inmsg_load(struct rpc_inmsg *m, grpc_byte_buffer *bb)
{
    MS_ASSERT(m != NULL && bb != NULL);
    MS_ASSERT(!m->loaded);
    if (!grpc_byte_buffer_reader_init(&m->rd, bb)) {
        grpc_byte_buffer_destroy(bb);
        return -MEDSTORE_EFORMAT; /* undecompressable message */
    }
    m->bb = bb;
    m->loaded = true;
    m->msg.len = 0;
    m->msg.niov = 0;
    grpc_slice *s;
    while (grpc_byte_buffer_reader_peek(&m->rd, &s)) {
        if (m->msg.niov == m->iov_cap) {
            size_t cap = m->iov_cap ? m->iov_cap * 2 : 16;
            struct ms_rpc_iov *iov = realloc(m->iov, cap * sizeof(*iov));
            if (iov == NULL) {
                rpc_inmsg_release(m);
                return -ENOMEM;
            }
            m->iov = iov;
            m->iov_cap = cap;
        }
        m->iov[m->msg.niov].ptr = GRPC_SLICE_START_PTR(*s);
        m->iov[m->msg.niov].len = GRPC_SLICE_LENGTH(*s);
        m->msg.len += GRPC_SLICE_LENGTH(*s);
        m->msg.niov++;
    }
    m->msg.iov = m->iov;
    MS_ASSERT(m->msg.len == grpc_byte_buffer_length(bb) || bb->data.raw.compression);
    return 0;
}

void rpc_inmsg_release(struct rpc_inmsg *m)
{
    MS_ASSERT(m != NULL);
    if (!m->loaded)
        return;
    grpc_byte_buffer_reader_destroy(&m->rd);
    grpc_byte_buffer_destroy(m->bb);
    m->bb = NULL;
    m->loaded = false;
    m->msg.len = 0;
    m->msg.niov = 0;
}

void rpc_inmsg_fini(struct rpc_inmsg *m)
{
    if (m == NULL)
        return;
    rpc_inmsg_release(m);
    free(m->iov);
    m->iov = NULL;
    m->iov_cap = 0;
}

int64_t rpc_deadline_left_ms(gpr_timespec deadline)
{
    gpr_timespec inf = gpr_inf_future(deadline.clock_type);
    if (gpr_time_cmp(deadline, inf) == 0)
        return INT64_MAX;
    gpr_timespec d = gpr_convert_clock_type(deadline, GPR_CLOCK_MONOTONIC);
    gpr_timespec left = gpr_time_sub(d, gpr_now(GPR_CLOCK_MONOTONIC));
    return (int64_t)left.tv_sec * 1000 + left.tv_nsec / 1000000;
}

gpr_timespec rpc_deadline_in(unsigned deadline_ms)
{
    MS_ASSERT(deadline_ms > 0);
    return gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC),
                        gpr_time_from_millis((int64_t)deadline_ms, GPR_TIMESPAN));
}

void rpc_slice_to_text(grpc_slice s, char *out, size_t cap)
{
    MS_ASSERT(out != NULL && cap > 0);
    size_t n = GRPC_SLICE_LENGTH(s);
    if (n > cap - 1)
        n = cap - 1;
    const uint8_t *p = GRPC_SLICE_START_PTR(s);
    for (size_t i = 0; i < n; i++)
        out[i] = (p[i] >= 0x20 && p[i] < 0x7f) ? (char)p[i] : '?';
    out[n] = '\0';
}
