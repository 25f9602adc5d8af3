/*
 * node_rpc.c - the Node service on the RPC seam, server side: request parsing and validation,
 * per-call stream state, dispatch into the node core (struct ms_node_rpc_ops), answers.
 *
 * Every request is untrusted bytes. A parser first checks the protobuf framing and which
 * fields are present (ms_rpc_pb_scan), then unpacks the small message with protobuf-c and
 * checks every field against the rules in node_rpc.h; unknown fields are refused rather than
 * ignored, so a request means exactly what we validated. Only a request that passed reaches
 * the core, as our own struct; a failure is answered here with the code, the reason
 * `bad-request` (or `range`) and a static message that names the field, never its value.
 *
 * PutFragment stream state (one struct nrpc_call per call, the call's ctx):
 *
 *   [no header] --header msg--> [streaming] --data msg (fits total_length)--> [streaming]
 *        |                           |  --half-close, received == total--> put_end (core)
 *        +--data msg / half-close----+--anything else--> finish(bad-request)
 *
 * Invariants: received <= total_length at all times; the core sees put_data only after
 * put_begin succeeded; a data view handed to the core lives until it resumes the call.
 * Bulk data is never copied here unless gRPC split a chunk into more than NRPC_MAX_IOV pieces.
 */
#include "rpc/node_rpc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "codec/frag_format.h"
#include "common/ms_assert.h"
#include "medstore/v1/node.pb-c.h"

_Static_assert(MS_NODE_FRAG_HDR_BYTES == MS_FRAG_HDR_BYTES, "wire header size is the codec's");
_Static_assert(MS_NODE_FRAG_INDEX_MAX == MS_FRAG_MAX_SHARDS, "fragment indexes are k + m");
_Static_assert(MS_NODE_LIST_LIMIT_DEFAULT <= MS_NODE_LIST_LIMIT_MAX, "page limits");

/* Pieces of one received data chunk viewed without a copy. */
#define NRPC_MAX_IOV 512u

#define FIELD_BIT(f) (1ULL << ((f)-1))

/* Per-call adapter state (the call's ctx). */
struct nrpc_call {
    void *state;           /* the core's per-call state */
    bool got_header;       /* PutFragment: header message seen and accepted */
    uint64_t total_length; /* PutFragment: announced fragment length */
    uint64_t received;     /* PutFragment: header + data bytes so far */
    uint8_t *scratch;      /* a contiguous copy of the held message, when one was needed */
    struct ms_rpc_msg view;
    struct ms_rpc_iov iov[NRPC_MAX_IOV];
};

/* ---- field validation ----------------------------------------------------------------- */

static int bad(const char **why, const char *msg)
{
    *why = msg;
    return -MEDSTORE_EFORMAT;
}

static int parse_ref(const Medstore__V1__FragmentRef *r, struct ms_node_ref *out, const char **why)
{
    MS_ASSERT(out != NULL && why != NULL);
    if (r == NULL)
        return bad(why, "ref is missing");
    if (r->base.n_unknown_fields != 0)
        return bad(why, "ref carries unknown fields");
    if (r->object_id.len != MS_OID_BYTES || r->object_id.data == NULL)
        return bad(why, "object_id must be exactly 16 bytes");
    if (r->fragment_index >= MS_NODE_FRAG_INDEX_MAX)
        return bad(why, "fragment_index must be below 32");
    memcpy(out->oid.b, r->object_id.data, MS_OID_BYTES);
    if (ms_oid_is_nil(&out->oid))
        return bad(why, "object_id must not be all zero");
    out->frag_index = r->fragment_index;
    MS_ASSERT(out->frag_index < MS_NODE_FRAG_INDEX_MAX);
    return 0;
}

/* Scans the framing of a contiguous request and returns the set of top-level fields seen. */
static int scan_fields(const uint8_t *buf, size_t len, uint64_t *seen, const char **why)
{
    struct ms_rpc_iov one = {.ptr = buf, .len = len};
    struct ms_rpc_msg msg = {.len = len, .niov = len > 0 ? 1 : 0, .iov = &one};
    struct ms_rpc_msg view;
    struct ms_rpc_iov viov[1];
    MS_ASSERT(buf != NULL || len == 0);
    *seen = 0;
    /* Field 64 is in no request: if present it shows in *seen and is refused as unknown. */
    int rc = ms_rpc_pb_scan(&msg, 64, seen, &view, viov, 1);
    if (rc < 0 && rc != -E2BIG)
        return bad(why, "request is not valid protobuf");
    MS_ASSERT(rc != 1 || (*seen & FIELD_BIT(64)) != 0);
    return 0;
}

static int check_only(uint64_t seen, uint64_t allowed, const char **why)
{
    if ((seen & ~allowed) != 0)
        return bad(why, "request carries unknown fields");
    return 0;
}

int ms_node_rpc_parse_put_header(const uint8_t *buf, size_t len, struct ms_node_put_hdr *out,
                                 const char **why)
{
    uint64_t seen;
    MS_ASSERT(out != NULL && why != NULL);
    MS_ASSERT(buf != NULL || len == 0);
    int rc = scan_fields(buf, len, &seen, why);
    if (rc < 0)
        return rc;
    if ((seen & FIELD_BIT(15)) != 0 || (seen & FIELD_BIT(1)) == 0)
        return bad(why, "first message must be the header");
    if ((rc = check_only(seen, FIELD_BIT(1), why)) < 0)
        return rc;
    Medstore__V1__PutFragmentRequest *m = medstore__v1__put_fragment_request__unpack(NULL, len,
                                                                                      buf);
    if (m == NULL)
        return bad(why, "first message is not a valid PutFragmentRequest");
    struct ms_node_put_hdr tmp;
    const Medstore__V1__PutFragmentHeader *h = m->header;
    if (m->body_case != MEDSTORE__V1__PUT_FRAGMENT_REQUEST__BODY_HEADER || h == NULL)
        rc = bad(why, "first message must be the header");
    else if (m->base.n_unknown_fields != 0)
        rc = bad(why, "request carries unknown fields");
    else if (h->base.n_unknown_fields != 0)
        rc = bad(why, "header carries unknown fields");
    else
        rc = parse_ref(h->ref, &tmp.ref, why);
    if (rc == 0 && h->fragment_header.len != MS_NODE_FRAG_HDR_BYTES)
        rc = bad(why, "fragment_header must be exactly 128 bytes");
    if (rc == 0 && (h->total_length < MS_NODE_FRAG_HDR_BYTES ||
                    h->total_length > MS_NODE_FRAGMENT_BYTES_MAX))
        rc = bad(why, "total_length must be 128 bytes .. the node's fragment limit");
    if (rc == 0) {
        const uint8_t *fh = h->fragment_header.data;
        if (memcmp(fh + MS_FRAG_OFF_OID, tmp.ref.oid.b, MS_OID_BYTES) != 0 ||
            fh[MS_FRAG_OFF_FRAG_INDEX] != tmp.ref.frag_index)
            rc = bad(why, "fragment_header names another object or fragment than ref");
    }
    if (rc == 0) {
        tmp.total_length = h->total_length;
        memcpy(tmp.frag_header, h->fragment_header.data, MS_NODE_FRAG_HDR_BYTES);
        *out = tmp;
        *why = "ok";
    }
    medstore__v1__put_fragment_request__free_unpacked(m, NULL);
    return rc;
}

int ms_node_rpc_parse_put_data(const struct ms_rpc_msg *msg, struct ms_rpc_msg *data,
                               struct ms_rpc_iov *iov, size_t max_iov, const char **why)
{
    uint64_t seen = 0;
    MS_ASSERT(msg != NULL && data != NULL && why != NULL);
    MS_ASSERT(iov != NULL && max_iov > 0);
    int rc = ms_rpc_pb_scan(msg, 15, &seen, data, iov, max_iov);
    if (rc == -E2BIG) {
        *why = "chunk split into too many pieces";
        return rc;
    }
    if (rc < 0)
        return bad(why, "data message is not valid protobuf");
    if ((seen & FIELD_BIT(1)) != 0)
        return bad(why, "only the first message may carry the header");
    if (rc == 0)
        return bad(why, "message after the header must carry data");
    if (seen != FIELD_BIT(15))
        return bad(why, "data message carries unknown fields");
    /* Exactly one field and nothing else (fields above 64 do not show in seen). */
    uint8_t prefix[MS_RPC_PB_PREFIX_MAX];
    if (ms_rpc_pb_bytes_prefix(15, data->len, prefix) + data->len != msg->len)
        return bad(why, "data message carries more than its data field");
    if (data->len == 0)
        return bad(why, "data chunk is empty");
    if (data->len > MS_RPC_MAX_CHUNK_BYTES)
        return bad(why, "data chunk is larger than 4 MiB");
    *why = "ok";
    return 0;
}

static int parse_range(const Medstore__V1__GetFragmentRequest *m, struct ms_node_get_req *out,
                       const char **why)
{
    MS_ASSERT(m != NULL && out != NULL);
    switch (m->range_case) {
    case MEDSTORE__V1__GET_FRAGMENT_REQUEST__RANGE__NOT_SET:
        out->kind = MS_NODE_RANGE_ALL;
        out->first = 0;
        out->count = 0;
        return 0;
    case MEDSTORE__V1__GET_FRAGMENT_REQUEST__RANGE_BYTE_RANGE:
        if (m->byte_range == NULL || m->byte_range->base.n_unknown_fields != 0)
            return bad(why, "byte_range is malformed");
        if (m->byte_range->length == 0)
            return bad(why, "byte_range length must not be 0");
        if (m->byte_range->offset > UINT64_MAX - m->byte_range->length) {
            *why = "byte_range overflows";
            return -MEDSTORE_ERANGE;
        }
        out->kind = MS_NODE_RANGE_BYTES;
        out->first = m->byte_range->offset;
        out->count = m->byte_range->length;
        return 0;
    case MEDSTORE__V1__GET_FRAGMENT_REQUEST__RANGE_SEGMENT_RANGE:
        if (m->segment_range == NULL || m->segment_range->base.n_unknown_fields != 0)
            return bad(why, "segment_range is malformed");
        if (m->segment_range->count == 0)
            return bad(why, "segment_range count must not be 0");
        if ((uint64_t)m->segment_range->first + m->segment_range->count > MS_FRAG_MAX_SEGMENTS) {
            *why = "segment_range beyond the largest fragment";
            return -MEDSTORE_ERANGE;
        }
        out->kind = MS_NODE_RANGE_SEGMENTS;
        out->first = m->segment_range->first;
        out->count = m->segment_range->count;
        return 0;
    default:
        return bad(why, "unknown range kind");
    }
}

int ms_node_rpc_parse_get(const uint8_t *buf, size_t len, struct ms_node_get_req *out,
                          const char **why)
{
    uint64_t seen;
    MS_ASSERT(out != NULL && why != NULL);
    int rc = scan_fields(buf, len, &seen, why);
    if (rc < 0)
        return rc;
    if ((rc = check_only(seen, FIELD_BIT(1) | FIELD_BIT(2) | FIELD_BIT(3), why)) < 0)
        return rc;
    Medstore__V1__GetFragmentRequest *m = medstore__v1__get_fragment_request__unpack(NULL, len,
                                                                                      buf);
    if (m == NULL)
        return bad(why, "request is not a valid GetFragmentRequest");
    struct ms_node_get_req tmp;
    rc = m->base.n_unknown_fields != 0 ? bad(why, "request carries unknown fields")
                                       : parse_ref(m->ref, &tmp.ref, why);
    if (rc == 0)
        rc = parse_range(m, &tmp, why);
    medstore__v1__get_fragment_request__free_unpacked(m, NULL);
    if (rc == 0) {
        MS_ASSERT(tmp.kind == MS_NODE_RANGE_ALL || tmp.count > 0);
        *out = tmp;
        *why = "ok";
    }
    return rc;
}

int ms_node_rpc_parse_ref_req(const uint8_t *buf, size_t len, struct ms_node_ref *out,
                              const char **why)
{
    uint64_t seen;
    MS_ASSERT(out != NULL && why != NULL);
    int rc = scan_fields(buf, len, &seen, why);
    if (rc < 0)
        return rc;
    if ((rc = check_only(seen, FIELD_BIT(1), why)) < 0)
        return rc;
    /* Delete, Stat and Verify requests share one shape: field 1 = FragmentRef. */
    Medstore__V1__StatFragmentRequest *m = medstore__v1__stat_fragment_request__unpack(NULL, len,
                                                                                        buf);
    if (m == NULL)
        return bad(why, "request is not a valid message with a FragmentRef");
    struct ms_node_ref tmp;
    rc = m->base.n_unknown_fields != 0 ? bad(why, "request carries unknown fields")
                                       : parse_ref(m->ref, &tmp, why);
    medstore__v1__stat_fragment_request__free_unpacked(m, NULL);
    if (rc == 0) {
        *out = tmp;
        *why = "ok";
    }
    return rc;
}

int ms_node_rpc_parse_page(const uint8_t *buf, size_t len, struct ms_node_page_req *out,
                           const char **why)
{
    uint64_t seen;
    MS_ASSERT(out != NULL && why != NULL);
    int rc = scan_fields(buf, len, &seen, why);
    if (rc < 0)
        return rc;
    if ((rc = check_only(seen, FIELD_BIT(1) | FIELD_BIT(2), why)) < 0)
        return rc;
    /* ListFragmentsRequest and ScrubReportRequest share one shape: after = 1, limit = 2. */
    Medstore__V1__ListFragmentsRequest *m = medstore__v1__list_fragments_request__unpack(NULL, len,
                                                                                          buf);
    if (m == NULL)
        return bad(why, "request is not a valid paged request");
    struct ms_node_page_req tmp = {.has_after = m->after != NULL, .limit = m->limit};
    if (m->base.n_unknown_fields != 0)
        rc = bad(why, "request carries unknown fields");
    else if (m->after != NULL)
        rc = parse_ref(m->after, &tmp.after, why);
    if (rc == 0 && tmp.limit > MS_NODE_LIST_LIMIT_MAX)
        rc = bad(why, "limit must be at most 10000");
    medstore__v1__list_fragments_request__free_unpacked(m, NULL);
    if (rc == 0) {
        if (tmp.limit == 0)
            tmp.limit = MS_NODE_LIST_LIMIT_DEFAULT;
        MS_ASSERT(tmp.limit >= 1 && tmp.limit <= MS_NODE_LIST_LIMIT_MAX);
        *out = tmp;
        *why = "ok";
    }
    return rc;
}

int ms_node_rpc_parse_info(const uint8_t *buf, size_t len, const char **why)
{
    uint64_t seen;
    MS_ASSERT(why != NULL);
    int rc = scan_fields(buf, len, &seen, why);
    if (rc < 0)
        return rc;
    if ((rc = check_only(seen, 0, why)) < 0)
        return rc;
    Medstore__V1__NodeInfoRequest *m = medstore__v1__node_info_request__unpack(NULL, len, buf);
    if (m == NULL)
        return bad(why, "request is not a valid NodeInfoRequest");
    bool unknown = m->base.n_unknown_fields != 0;
    medstore__v1__node_info_request__free_unpacked(m, NULL);
    if (unknown)
        return bad(why, "request carries unknown fields");
    *why = "ok";
    return 0;
}

/* ---- per-call state and dispatch ------------------------------------------------------ */

static struct nrpc_call *call_state(struct ms_rpc_call *call)
{
    struct nrpc_call *c = ms_rpc_call_ctx(call);
    if (c != NULL)
        return c;
    c = calloc(1, sizeof(*c));
    if (c != NULL)
        ms_rpc_call_set_ctx(call, c);
    return c;
}

/* Fails the call with a validation error and returns the code for the layer. */
static int refuse(struct ms_rpc_call *call, int code, const char *why)
{
    MS_ASSERT(code < 0);
    const char *reason = code == -MEDSTORE_EFORMAT ? "bad-request" : NULL;
    int rc = ms_rpc_call_finish(call, code, reason, why);
    (void)rc; /* -ECANCELED: the client is gone; nothing more to tell it */
    return code;
}

/* Gives a held message back: frees the contiguous copy made for it, if any. */
static void drop_scratch(struct nrpc_call *c)
{
    free(c->scratch);
    c->scratch = NULL;
}

static int put_on_header(const struct ms_node_rpc_binding *b, struct ms_rpc_call *call,
                         struct nrpc_call *c, const struct ms_rpc_msg *msg)
{
    const uint8_t *data;
    uint8_t *scratch;
    const char *why = "";
    struct ms_node_put_hdr hdr;
    MS_ASSERT(!c->got_header);
    int rc = ms_rpc_msg_contig(msg, &data, &scratch);
    if (rc < 0)
        return rc;
    rc = ms_node_rpc_parse_put_header(data, msg->len, &hdr, &why);
    free(scratch);
    if (rc < 0)
        return refuse(call, rc, why);
    c->got_header = true;
    c->total_length = hdr.total_length;
    c->received = MS_NODE_FRAG_HDR_BYTES;
    MS_ASSERT(c->received <= c->total_length);
    return b->ops->put_begin(b->ops_arg, call, &hdr, &c->state);
}

static int put_on_message(struct ms_rpc_call *call, const struct ms_rpc_msg *msg, void *arg)
{
    const struct ms_node_rpc_binding *b = arg;
    struct nrpc_call *c = call_state(call);
    const char *why = "";
    if (c == NULL)
        return -ENOMEM;
    if (!c->got_header)
        return put_on_header(b, call, c, msg);
    drop_scratch(c);
    int rc = ms_node_rpc_parse_put_data(msg, &c->view, c->iov, NRPC_MAX_IOV, &why);
    if (rc == -E2BIG) {
        /* gRPC split the chunk finely: parse a contiguous copy instead. */
        const uint8_t *data;
        if ((rc = ms_rpc_msg_contig(msg, &data, &c->scratch)) < 0)
            return rc;
        struct ms_rpc_iov one = {.ptr = data, .len = msg->len};
        struct ms_rpc_msg flat = {.len = msg->len, .niov = 1, .iov = &one};
        rc = ms_node_rpc_parse_put_data(&flat, &c->view, c->iov, NRPC_MAX_IOV, &why);
        MS_ASSERT(rc != -E2BIG);
    }
    if (rc < 0)
        return refuse(call, rc, why);
    if (c->view.len > c->total_length - c->received)
        return refuse(call, -MEDSTORE_EFORMAT, "stream carries more bytes than total_length");
    c->received += c->view.len;
    MS_ASSERT(c->received <= c->total_length);
    return b->ops->put_data(b->ops_arg, call, &c->state, &c->view);
}

static int put_on_end(struct ms_rpc_call *call, void *arg)
{
    const struct ms_node_rpc_binding *b = arg;
    struct nrpc_call *c = call_state(call);
    if (c == NULL)
        return -ENOMEM;
    drop_scratch(c);
    if (!c->got_header)
        return refuse(call, -MEDSTORE_EFORMAT, "stream ended before the header");
    if (c->received != c->total_length)
        return refuse(call, -MEDSTORE_EFORMAT, "stream ended before total_length bytes");
    MS_ASSERT(c->received == c->total_length);
    return b->ops->put_end(b->ops_arg, call, &c->state);
}

static void any_on_done(struct ms_rpc_call *call, int code, void *arg)
{
    const struct ms_node_rpc_binding *b = arg;
    struct nrpc_call *c = ms_rpc_call_ctx(call);
    void *none = NULL;
    MS_ASSERT(b != NULL && b->ops != NULL);
    b->ops->call_done(b->ops_arg, call, c != NULL ? &c->state : &none, code);
    if (c != NULL) {
        drop_scratch(c);
        free(c);
        ms_rpc_call_set_ctx(call, NULL);
    }
}

/* Runs parse on a contiguous copy of a small request message. */
#define WITH_CONTIG(msg, data, body)                                                           \
    do {                                                                                       \
        uint8_t *scratch_;                                                                     \
        const uint8_t *data;                                                                   \
        int crc_ = ms_rpc_msg_contig((msg), &data, &scratch_);                                 \
        if (crc_ < 0)                                                                          \
            return crc_;                                                                       \
        body;                                                                                  \
        free(scratch_);                                                                        \
    } while (0)

static int get_on_message(struct ms_rpc_call *call, const struct ms_rpc_msg *msg, void *arg)
{
    const struct ms_node_rpc_binding *b = arg;
    struct nrpc_call *c = call_state(call);
    struct ms_node_get_req req;
    const char *why = "";
    int rc;
    if (c == NULL)
        return -ENOMEM;
    WITH_CONTIG(msg, data, rc = ms_node_rpc_parse_get(data, msg->len, &req, &why));
    if (rc < 0)
        return refuse(call, rc, why);
    return b->ops->get(b->ops_arg, call, &req, &c->state);
}

static int get_on_writable(struct ms_rpc_call *call, void *arg)
{
    const struct ms_node_rpc_binding *b = arg;
    struct nrpc_call *c = ms_rpc_call_ctx(call);
    MS_ASSERT(c != NULL); /* a send happened, so get_on_message made the state */
    return b->ops->get_writable(b->ops_arg, call, &c->state);
}

/* Delete, Stat and Verify: one FragmentRef. */
static int ref_on_message(struct ms_rpc_call *call, const struct ms_rpc_msg *msg,
                          const struct ms_node_rpc_binding *b,
                          int (*op)(void *, struct ms_rpc_call *, const struct ms_node_ref *,
                                    void **))
{
    struct nrpc_call *c = call_state(call);
    struct ms_node_ref ref;
    const char *why = "";
    int rc;
    if (c == NULL)
        return -ENOMEM;
    WITH_CONTIG(msg, data, rc = ms_node_rpc_parse_ref_req(data, msg->len, &ref, &why));
    if (rc < 0)
        return refuse(call, rc, why);
    return op(b->ops_arg, call, &ref, &c->state);
}

static int del_on_message(struct ms_rpc_call *call, const struct ms_rpc_msg *msg, void *arg)
{
    const struct ms_node_rpc_binding *b = arg;
    return ref_on_message(call, msg, b, b->ops->del);
}

static int stat_on_message(struct ms_rpc_call *call, const struct ms_rpc_msg *msg, void *arg)
{
    const struct ms_node_rpc_binding *b = arg;
    return ref_on_message(call, msg, b, b->ops->stat);
}

static int verify_on_message(struct ms_rpc_call *call, const struct ms_rpc_msg *msg, void *arg)
{
    const struct ms_node_rpc_binding *b = arg;
    return ref_on_message(call, msg, b, b->ops->verify);
}

/* List and ScrubReport: a page request. */
static int page_on_message(struct ms_rpc_call *call, const struct ms_rpc_msg *msg,
                           const struct ms_node_rpc_binding *b,
                           int (*op)(void *, struct ms_rpc_call *,
                                     const struct ms_node_page_req *, void **))
{
    struct nrpc_call *c = call_state(call);
    struct ms_node_page_req req;
    const char *why = "";
    int rc;
    if (c == NULL)
        return -ENOMEM;
    WITH_CONTIG(msg, data, rc = ms_node_rpc_parse_page(data, msg->len, &req, &why));
    if (rc < 0)
        return refuse(call, rc, why);
    return op(b->ops_arg, call, &req, &c->state);
}

static int list_on_message(struct ms_rpc_call *call, const struct ms_rpc_msg *msg, void *arg)
{
    const struct ms_node_rpc_binding *b = arg;
    return page_on_message(call, msg, b, b->ops->list);
}

static int scrub_on_message(struct ms_rpc_call *call, const struct ms_rpc_msg *msg, void *arg)
{
    const struct ms_node_rpc_binding *b = arg;
    return page_on_message(call, msg, b, b->ops->scrub_report);
}

static int info_on_message(struct ms_rpc_call *call, const struct ms_rpc_msg *msg, void *arg)
{
    const struct ms_node_rpc_binding *b = arg;
    struct nrpc_call *c = call_state(call);
    const char *why = "";
    int rc;
    if (c == NULL)
        return -ENOMEM;
    WITH_CONTIG(msg, data, rc = ms_node_rpc_parse_info(data, msg->len, &why));
    if (rc < 0)
        return refuse(call, rc, why);
    return b->ops->info(b->ops_arg, call, &c->state);
}

void ms_node_rpc_methods(const struct ms_node_rpc_binding *binding,
                         struct ms_rpc_method out[MS_NODE_RPC_METHODS])
{
    MS_ASSERT(binding != NULL && binding->ops != NULL && out != NULL);
    const struct ms_node_rpc_ops *o = binding->ops;
    MS_ASSERT(o->put_begin && o->put_data && o->put_end && o->get && o->get_writable);
    MS_ASSERT(o->del && o->stat && o->list && o->verify && o->scrub_report && o->info);
    MS_ASSERT(o->call_done != NULL);
    void *arg = (void *)binding;
    const struct ms_rpc_method table[MS_NODE_RPC_METHODS] = {
        {MS_NODE_RPC_PUT, MS_RPC_CLIENT_STREAMING, put_on_message, put_on_end, NULL, any_on_done,
         arg},
        {MS_NODE_RPC_GET, MS_RPC_SERVER_STREAMING, get_on_message, NULL, get_on_writable,
         any_on_done, arg},
        {MS_NODE_RPC_DELETE, MS_RPC_UNARY, del_on_message, NULL, NULL, any_on_done, arg},
        {MS_NODE_RPC_STAT, MS_RPC_UNARY, stat_on_message, NULL, NULL, any_on_done, arg},
        {MS_NODE_RPC_LIST, MS_RPC_UNARY, list_on_message, NULL, NULL, any_on_done, arg},
        {MS_NODE_RPC_VERIFY, MS_RPC_UNARY, verify_on_message, NULL, NULL, any_on_done, arg},
        {MS_NODE_RPC_SCRUB, MS_RPC_UNARY, scrub_on_message, NULL, NULL, any_on_done, arg},
        {MS_NODE_RPC_INFO, MS_RPC_UNARY, info_on_message, NULL, NULL, any_on_done, arg},
    };
    memcpy(out, table, sizeof(table));
}

/* ---- answers -------------------------------------------------------------------------- */

/* Packs msg into a malloc'd buffer and replies with it; fails the call on ENOMEM. */
static int reply_packed(struct ms_rpc_call *call, const ProtobufCMessage *msg)
{
    MS_ASSERT(call != NULL && msg != NULL);
    size_t n = protobuf_c_message_get_packed_size(msg);
    uint8_t *buf = malloc(n > 0 ? n : 1);
    if (buf == NULL) {
        int rc = ms_rpc_call_finish(call, -ENOMEM, NULL, "node out of memory");
        return rc < 0 ? rc : -ENOMEM;
    }
    size_t packed = protobuf_c_message_pack(msg, buf);
    MS_ASSERT(packed == n);
    struct ms_rpc_seg seg = ms_rpc_seg_malloced(buf, n);
    return ms_rpc_call_reply(call, &seg, 1);
}

int ms_node_rpc_reply_put(struct ms_rpc_call *call, const struct ms_node_put_result *res)
{
    Medstore__V1__PutFragmentResponse m = MEDSTORE__V1__PUT_FRAGMENT_RESPONSE__INIT;
    MS_ASSERT(res != NULL);
    m.stored_bytes = res->stored_bytes;
    m.committed_unix_ms = res->committed_unix_ms;
    return reply_packed(call, &m.base);
}

static void fill_varint(uint8_t *out, size_t *pos, uint64_t v)
{
    while (v >= 0x80) {
        out[(*pos)++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    out[(*pos)++] = (uint8_t)v;
}

int ms_node_rpc_send_data(struct ms_rpc_call *call, uint64_t offset, uint64_t fragment_length,
                          void *buf, const uint8_t *data, size_t len)
{
    MS_ASSERT(call != NULL && buf != NULL && data != NULL);
    MS_ASSERT(len > 0 && len <= MS_RPC_MAX_CHUNK_BYTES);
    /* GetFragmentResponse: offset (1, varint), fragment_length (2, varint), data (15). */
    uint8_t prefix[2 * 11 + MS_RPC_PB_PREFIX_MAX];
    size_t n = 0;
    prefix[n++] = 0x08;
    fill_varint(prefix, &n, offset);
    prefix[n++] = 0x10;
    fill_varint(prefix, &n, fragment_length);
    n += ms_rpc_pb_bytes_prefix(15, len, prefix + n);
    MS_ASSERT(n <= sizeof(prefix));
    struct ms_rpc_seg segs[2] = {
        {.ptr = prefix, .len = n}, /* no release_cb: copied at once */
        ms_rpc_seg_malloced(buf, 0),
    };
    segs[1].ptr = data;
    segs[1].len = len;
    return ms_rpc_call_send(call, segs, 2);
}

int ms_node_rpc_reply_delete(struct ms_rpc_call *call, const struct ms_node_delete_result *res)
{
    Medstore__V1__DeleteFragmentResponse m = MEDSTORE__V1__DELETE_FRAGMENT_RESPONSE__INIT;
    MS_ASSERT(res != NULL);
    m.existed = res->existed;
    m.wiped_bytes = res->wiped_bytes;
    return reply_packed(call, &m.base);
}

/* Fills a FragmentRef whose object_id points into ref (valid while ref lives). */
static void ref_out(const struct ms_node_ref *ref, Medstore__V1__FragmentRef *r)
{
    MS_ASSERT(ref->frag_index < MS_NODE_FRAG_INDEX_MAX);
    medstore__v1__fragment_ref__init(r);
    r->object_id.data = (uint8_t *)ref->oid.b;
    r->object_id.len = MS_OID_BYTES;
    r->fragment_index = ref->frag_index;
}

static void entry_out(const struct ms_node_entry *e, Medstore__V1__FragmentEntry *m,
                      Medstore__V1__FragmentRef *r)
{
    MS_ASSERT(e != NULL && m != NULL);
    medstore__v1__fragment_entry__init(m);
    ref_out(&e->ref, r);
    m->ref = r;
    m->length = e->length;
    m->state = (Medstore__V1__FragmentState)e->state;
    m->committed_unix_ms = e->committed_unix_ms;
    m->header_checksum.data = (uint8_t *)e->header_checksum;
    m->header_checksum.len = MS_NODE_HDR_CSUM_BYTES;
}

int ms_node_rpc_reply_stat(struct ms_rpc_call *call, const struct ms_node_entry *entry)
{
    Medstore__V1__StatFragmentResponse m = MEDSTORE__V1__STAT_FRAGMENT_RESPONSE__INIT;
    Medstore__V1__FragmentEntry e;
    Medstore__V1__FragmentRef r;
    MS_ASSERT(entry != NULL);
    entry_out(entry, &e, &r);
    m.entry = &e;
    return reply_packed(call, &m.base);
}

int ms_node_rpc_reply_list(struct ms_rpc_call *call, const struct ms_node_list_page *page)
{
    Medstore__V1__ListFragmentsResponse m = MEDSTORE__V1__LIST_FRAGMENTS_RESPONSE__INIT;
    Medstore__V1__FragmentRef next;
    MS_ASSERT(page != NULL && page->n_entries <= MS_NODE_LIST_LIMIT_MAX);
    size_t n = page->n_entries;
    Medstore__V1__FragmentEntry *es = calloc(n > 0 ? n : 1, sizeof(*es));
    Medstore__V1__FragmentRef *rs = calloc(n > 0 ? n : 1, sizeof(*rs));
    Medstore__V1__FragmentEntry **ps = calloc(n > 0 ? n : 1, sizeof(*ps));
    int rc;
    if (es == NULL || rs == NULL || ps == NULL) {
        rc = ms_rpc_call_finish(call, -ENOMEM, NULL, "node out of memory");
        rc = rc < 0 ? rc : -ENOMEM;
        goto free_arrays;
    }
    for (size_t i = 0; i < n; i++) {
        entry_out(&page->entries[i], &es[i], &rs[i]);
        ps[i] = &es[i];
    }
    m.n_entries = n;
    m.entries = ps;
    if (page->has_next) {
        ref_out(&page->next, &next);
        m.next = &next;
    }
    rc = reply_packed(call, &m.base);
free_arrays:
    free(es);
    free(rs);
    free(ps);
    return rc;
}

int ms_node_rpc_reply_verify(struct ms_rpc_call *call, const struct ms_node_damage *res)
{
    Medstore__V1__VerifyFragmentResponse m = MEDSTORE__V1__VERIFY_FRAGMENT_RESPONSE__INIT;
    MS_ASSERT(res != NULL && res->n_damaged <= MS_NODE_DAMAGED_MAX);
    m.ok = res->ok;
    m.segments_checked = res->segments_checked;
    m.n_damaged_segments = res->n_damaged;
    m.damaged_segments = (uint32_t *)res->damaged;
    m.header_damaged = res->header_damaged;
    return reply_packed(call, &m.base);
}

int ms_node_rpc_reply_scrub(struct ms_rpc_call *call, const struct ms_node_scrub_page *page)
{
    Medstore__V1__ScrubReportResponse m = MEDSTORE__V1__SCRUB_REPORT_RESPONSE__INIT;
    Medstore__V1__FragmentRef next;
    MS_ASSERT(page != NULL && page->n_entries <= MS_NODE_LIST_LIMIT_MAX);
    size_t n = page->n_entries;
    Medstore__V1__ScrubDamage *ds = calloc(n > 0 ? n : 1, sizeof(*ds));
    Medstore__V1__FragmentRef *rs = calloc(n > 0 ? n : 1, sizeof(*rs));
    Medstore__V1__ScrubDamage **ps = calloc(n > 0 ? n : 1, sizeof(*ps));
    int rc;
    if (ds == NULL || rs == NULL || ps == NULL) {
        rc = ms_rpc_call_finish(call, -ENOMEM, NULL, "node out of memory");
        rc = rc < 0 ? rc : -ENOMEM;
        goto free_arrays;
    }
    for (size_t i = 0; i < n; i++) {
        const struct ms_node_damage *d = &page->entries[i];
        MS_ASSERT(d->n_damaged <= MS_NODE_DAMAGED_MAX);
        medstore__v1__scrub_damage__init(&ds[i]);
        ref_out(&d->ref, &rs[i]);
        ds[i].ref = &rs[i];
        ds[i].n_damaged_segments = d->n_damaged;
        ds[i].damaged_segments = (uint32_t *)d->damaged;
        ds[i].header_damaged = d->header_damaged;
        ds[i].detected_unix_ms = d->detected_unix_ms;
        ps[i] = &ds[i];
    }
    m.n_entries = n;
    m.entries = ps;
    if (page->has_next) {
        ref_out(&page->next, &next);
        m.next = &next;
    }
    m.scrubbed_fragments = page->scrubbed_fragments;
    m.last_pass_unix_ms = page->last_pass_unix_ms;
    rc = reply_packed(call, &m.base);
free_arrays:
    free(ds);
    free(rs);
    free(ps);
    return rc;
}

int ms_node_rpc_reply_info(struct ms_rpc_call *call, const struct ms_node_info *info)
{
    Medstore__V1__NodeInfoResponse m = MEDSTORE__V1__NODE_INFO_RESPONSE__INIT;
    Medstore__V1__VersionInfo v = MEDSTORE__V1__VERSION_INFO__INIT;
    MS_ASSERT(info != NULL && info->node_id != 0);
    MS_ASSERT(memchr(info->rack, '\0', sizeof(info->rack)) != NULL);
    m.node_id = info->node_id;
    m.rack = (char *)info->rack;
    m.capacity_bytes = info->capacity_bytes;
    m.free_bytes = info->free_bytes;
    m.fragment_count = info->fragment_count;
    v.software_version = (char *)info->software_version;
    v.format_version = info->format_version;
    v.protocol_version = info->protocol_version;
    m.version = &v;
    return reply_packed(call, &m.base);
}
