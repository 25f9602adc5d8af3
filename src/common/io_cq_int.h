/*
 * io_cq_int.h - private to the I/O port backends: the completion ring shared by the sync and
 * fault backends (which complete every request inside submit) and the link-chain rules all
 * backends follow.
 *
 * The ring holds MS_IO_SYNC_QUEUE_DEPTH completions; the owner keeps count == base.inflight.
 * Not thread safe (one thread per port, io.h).
 */
#ifndef MS_COMMON_IO_CQ_INT_H
#define MS_COMMON_IO_CQ_INT_H

#include "common/io.h"
#include "common/ms_assert.h"

struct io_cq {
    struct ms_io_cqe e[MS_IO_SYNC_QUEUE_DEPTH];
    unsigned head;  /* index of the oldest completion */
    unsigned count; /* completions queued */
};

/* Queues one completion; the caller made sure there is room (io_chain_fit). */
static inline void io_cq_push(struct io_cq *cq, uint64_t user_data, int res)
{
    MS_ASSERT(cq->count < MS_IO_SYNC_QUEUE_DEPTH);
    unsigned slot = (cq->head + cq->count) % MS_IO_SYNC_QUEUE_DEPTH;
    cq->e[slot] = (struct ms_io_cqe){.user_data = user_data, .res = res};
    cq->count++;
    MS_ASSERT(cq->head < MS_IO_SYNC_QUEUE_DEPTH);
}

/* Moves up to max completions to out; returns how many. */
static inline unsigned io_cq_pop(struct io_cq *cq, struct ms_io_cqe *out, unsigned max)
{
    MS_ASSERT(cq->count <= MS_IO_SYNC_QUEUE_DEPTH);
    unsigned n = cq->count < max ? cq->count : max;
    for (unsigned i = 0; i < n; i++) {
        out[i] = cq->e[cq->head];
        cq->head = (cq->head + 1) % MS_IO_SYNC_QUEUE_DEPTH;
    }
    cq->count -= n;
    MS_ASSERT(cq->head < MS_IO_SYNC_QUEUE_DEPTH);
    return n;
}

/* True when res counts as full success for MS_IO_LINK: READ/WRITE moved all len bytes, any
 * other op did not fail. */
static inline bool io_req_succeeded(const struct ms_io_req *r, int res)
{
    if (res < 0)
        return false;
    if (r->op == MS_IO_READ || r->op == MS_IO_WRITE)
        return (size_t)res == r->len;
    return true;
}

/* True when r's buffer lies inside its registered buffer bufs[r->buf_index] (or r names
 * none). Backends check this at submit so a bad index is -EINVAL everywhere. */
static inline bool io_req_buf_ok(const struct iovec *bufs, unsigned nbufs,
                                 const struct ms_io_req *r)
{
    if (r->buf_index < 0 || (r->op != MS_IO_READ && r->op != MS_IO_WRITE))
        return true;
    if ((unsigned)r->buf_index >= nbufs)
        return false;
    const struct iovec *v = &bufs[r->buf_index];
    uintptr_t lo = (uintptr_t)v->iov_base;
    uintptr_t p = (uintptr_t)r->buf;
    return p >= lo && p - lo <= v->iov_len && r->len <= v->iov_len - (p - lo);
}

/* Number of leading requests of reqs[0..n) that fit in room slots, taking whole link chains
 * only (a chain runs to the first request without MS_IO_LINK, or to the end of the submit). */
static inline unsigned io_chain_fit(const struct ms_io_req *reqs, unsigned n, unsigned room)
{
    unsigned take = 0;
    unsigned i = 0;
    while (i < n) {
        unsigned end = i;
        while (end + 1 < n && (reqs[end].flags & MS_IO_LINK))
            end++;
        if (end + 1 > room)
            break;
        take = end + 1;
        i = end + 1;
    }
    MS_ASSERT(take <= n && take <= room);
    return take;
}

#endif
