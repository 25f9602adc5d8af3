/*
 * node_rpc_client.c - the Node service, client side: our structs -> requests -> a struct
 * ms_rpc_client (gRPC or loopback) -> answers -> our structs.
 *
 * Answers come from a peer and are checked like any input: a malformed answer is
 * -MEDSTORE_EFORMAT, never a crash. PutFragment lends the caller's data to the transport
 * (no copy) and finishes the stream before returning, so the borrow ends with the call.
 * Capability tokens are passed as `medstore-cap-bin` metadata and never logged.
 */
#include "rpc/node_rpc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/ms_assert.h"
#include "medstore/v1/node.pb-c.h"

/* Data lent to a stream: released when the stream is finished, by returning. */
static void release_none(void *arg)
{
    (void)arg;
}

static void call_opts(const struct ms_node_call_opts *o, struct ms_rpc_md *md,
                      struct ms_rpc_call_opts *out)
{
    MS_ASSERT(out != NULL && md != NULL);
    memset(out, 0, sizeof(*out));
    if (o == NULL)
        return;
    out->deadline_ms = o->deadline_ms;
    if (o->token != NULL) {
        MS_ASSERT(o->token_len > 0);
        md->key = MS_RPC_MD_CAPTOKEN;
        md->value = o->token;
        md->len = o->token_len;
        out->md = md;
        out->nmd = 1;
    }
}

static void ref_wire(const struct ms_node_ref *ref, Medstore__V1__FragmentRef *r)
{
    MS_ASSERT(ref != NULL && r != NULL);
    medstore__v1__fragment_ref__init(r);
    r->object_id.data = (uint8_t *)ref->oid.b;
    r->object_id.len = MS_OID_BYTES;
    r->fragment_index = ref->frag_index;
}

/* Reads a FragmentRef of an answer without the request-side rules (all-zero ids allowed). */
static int ref_from_wire(const Medstore__V1__FragmentRef *r, struct ms_node_ref *out)
{
    MS_ASSERT(out != NULL);
    if (r == NULL || r->object_id.len != MS_OID_BYTES ||
        r->fragment_index >= MS_NODE_FRAG_INDEX_MAX)
        return -MEDSTORE_EFORMAT;
    memcpy(out->oid.b, r->object_id.data, MS_OID_BYTES);
    out->frag_index = r->fragment_index;
    return 0;
}

/* Packs msg into a malloc'd segment. */
static int pack_seg(const ProtobufCMessage *msg, struct ms_rpc_seg *seg)
{
    MS_ASSERT(msg != NULL && seg != NULL);
    size_t n = protobuf_c_message_get_packed_size(msg);
    uint8_t *buf = malloc(n > 0 ? n : 1);
    if (buf == NULL)
        return -ENOMEM;
    size_t packed = protobuf_c_message_pack(msg, buf);
    MS_ASSERT(packed == n);
    *seg = ms_rpc_seg_malloced(buf, n);
    return 0;
}

int ms_node_rpc_encode_put_header(const struct ms_node_ref *ref, uint64_t total_length,
                                  const uint8_t *frag_header, size_t hdr_len, uint8_t **out,
                                  size_t *out_len)
{
    Medstore__V1__PutFragmentRequest m = MEDSTORE__V1__PUT_FRAGMENT_REQUEST__INIT;
    Medstore__V1__PutFragmentHeader h = MEDSTORE__V1__PUT_FRAGMENT_HEADER__INIT;
    Medstore__V1__FragmentRef r;
    struct ms_rpc_seg seg;
    MS_ASSERT(out != NULL && out_len != NULL);
    if (ref == NULL || (frag_header == NULL && hdr_len > 0))
        return -EINVAL;
    ref_wire(ref, &r);
    h.ref = &r;
    h.total_length = total_length;
    h.fragment_header.data = (uint8_t *)frag_header;
    h.fragment_header.len = hdr_len;
    m.body_case = MEDSTORE__V1__PUT_FRAGMENT_REQUEST__BODY_HEADER;
    m.header = &h;
    int rc = pack_seg(&m.base, &seg);
    if (rc < 0)
        return rc;
    *out = (uint8_t *)seg.ptr;
    *out_len = seg.len;
    MS_ASSERT(*out != NULL);
    return 0;
}

/* Sends data[0 .. len) as PutFragment data messages of at most chunk bytes. */
static int put_send_data(struct ms_rpc_stream *s, const uint8_t *data, size_t len, size_t chunk)
{
    MS_ASSERT(chunk > 0 && chunk <= MS_RPC_MAX_CHUNK_BYTES);
    MS_ASSERT(data != NULL || len == 0);
    for (size_t off = 0; off < len;) {
        size_t n = len - off < chunk ? len - off : chunk;
        uint8_t prefix[MS_RPC_PB_PREFIX_MAX];
        size_t pn = ms_rpc_pb_bytes_prefix(15, n, prefix);
        struct ms_rpc_seg segs[2] = {
            {.ptr = prefix, .len = pn},
            {.ptr = data + off, .len = n, .release_cb = release_none},
        };
        int rc = ms_rpc_stream_send(s, segs, 2);
        if (rc < 0)
            return rc;
        off += n;
    }
    return 0;
}

static int put_result(const struct ms_rpc_msg *msg, struct ms_node_put_result *res);

int ms_node_rpc_put(struct ms_rpc_client *c, const struct ms_node_call_opts *opts,
                    const struct ms_node_ref *ref, const uint8_t *frag_header, const uint8_t *data,
                    size_t len, size_t chunk_bytes, struct ms_node_put_result *res,
                    struct ms_rpc_status *st)
{
    struct ms_rpc_md md;
    struct ms_rpc_call_opts co;
    struct ms_rpc_stream *s = NULL;
    uint8_t *hbuf;
    size_t hlen;
    MS_ASSERT(c != NULL && ref != NULL && frag_header != NULL);
    MS_ASSERT(chunk_bytes <= MS_RPC_MAX_CHUNK_BYTES);
    if (chunk_bytes == 0)
        chunk_bytes = 1024 * 1024;
    call_opts(opts, &md, &co);
    int rc = ms_node_rpc_encode_put_header(ref, MS_NODE_FRAG_HDR_BYTES + (uint64_t)len,
                                           frag_header, MS_NODE_FRAG_HDR_BYTES, &hbuf, &hlen);
    if (rc < 0)
        return rc;
    rc = ms_rpc_stream_open(c, MS_NODE_RPC_PUT, &co, &s);
    if (rc < 0) {
        free(hbuf);
        return rc;
    }
    struct ms_rpc_seg seg = ms_rpc_seg_malloced(hbuf, hlen);
    rc = ms_rpc_stream_send(s, &seg, 1);
    if (rc == 0)
        rc = put_send_data(s, data, len, chunk_bytes);
    if (rc == 0)
        rc = ms_rpc_stream_close_send(s);
    (void)rc; /* a send failure shows up, with its reason, in the status */
    struct ms_rpc_msg msg;
    int got = ms_rpc_stream_recv(s, &msg);
    int prc = got == 1 ? put_result(&msg, res) : -MEDSTORE_EFORMAT; /* before finish: msg dies */
    rc = ms_rpc_stream_finish(s, st);
    if (rc == 0)
        rc = prc;
    ms_rpc_stream_destroy(s);
    return rc;
}

/* Decodes the PutFragment answer into *res (may be NULL). */
static int put_result(const struct ms_rpc_msg *msg, struct ms_node_put_result *res)
{
    const uint8_t *flat;
    uint8_t *scratch;
    MS_ASSERT(msg != NULL);
    int rc = ms_rpc_msg_contig(msg, &flat, &scratch);
    if (rc < 0)
        return rc;
    Medstore__V1__PutFragmentResponse *m = medstore__v1__put_fragment_response__unpack(NULL,
                                                                                        msg->len,
                                                                                        flat);
    free(scratch);
    if (m == NULL)
        return -MEDSTORE_EFORMAT;
    if (res != NULL) {
        res->stored_bytes = m->stored_bytes;
        res->committed_unix_ms = m->committed_unix_ms;
    }
    medstore__v1__put_fragment_response__free_unpacked(m, NULL);
    return 0;
}

/* Appends one GetFragment answer message to out. */
static int get_take(const struct ms_rpc_msg *msg, uint8_t *out, size_t cap, size_t *used,
                    uint64_t *first_off, uint64_t *frag_len)
{
    const uint8_t *flat;
    uint8_t *scratch;
    MS_ASSERT(msg != NULL && used != NULL);
    int rc = ms_rpc_msg_contig(msg, &flat, &scratch);
    if (rc < 0)
        return rc;
    Medstore__V1__GetFragmentResponse *m = medstore__v1__get_fragment_response__unpack(NULL,
                                                                                        msg->len,
                                                                                        flat);
    free(scratch);
    if (m == NULL)
        return -MEDSTORE_EFORMAT;
    if (*used == 0)
        *first_off = m->offset;
    *frag_len = m->fragment_length;
    if (m->offset != *first_off + *used || m->data.len == 0)
        rc = -MEDSTORE_EFORMAT;
    else if (m->data.len > cap - *used)
        rc = -ENOBUFS;
    else {
        memcpy(out + *used, m->data.data, m->data.len);
        *used += m->data.len;
    }
    medstore__v1__get_fragment_response__free_unpacked(m, NULL);
    MS_ASSERT(*used <= cap);
    return rc;
}

static int get_request_seg(const struct ms_node_get_req *req, struct ms_rpc_seg *seg)
{
    Medstore__V1__GetFragmentRequest m = MEDSTORE__V1__GET_FRAGMENT_REQUEST__INIT;
    Medstore__V1__FragmentRef r;
    Medstore__V1__ByteRange br = MEDSTORE__V1__BYTE_RANGE__INIT;
    Medstore__V1__SegmentRange sr = MEDSTORE__V1__SEGMENT_RANGE__INIT;
    MS_ASSERT(req != NULL && seg != NULL);
    ref_wire(&req->ref, &r);
    m.ref = &r;
    if (req->kind == MS_NODE_RANGE_BYTES) {
        br.offset = req->first;
        br.length = req->count;
        m.range_case = MEDSTORE__V1__GET_FRAGMENT_REQUEST__RANGE_BYTE_RANGE;
        m.byte_range = &br;
    } else if (req->kind == MS_NODE_RANGE_SEGMENTS) {
        if (req->first > UINT32_MAX || req->count > UINT32_MAX)
            return -EINVAL;
        sr.first = (uint32_t)req->first;
        sr.count = (uint32_t)req->count;
        m.range_case = MEDSTORE__V1__GET_FRAGMENT_REQUEST__RANGE_SEGMENT_RANGE;
        m.segment_range = &sr;
    }
    return pack_seg(&m.base, seg);
}

int ms_node_rpc_get(struct ms_rpc_client *c, const struct ms_node_call_opts *opts,
                    const struct ms_node_get_req *req, uint8_t *out, size_t cap, size_t *out_len,
                    uint64_t *fragment_length, struct ms_rpc_status *st)
{
    struct ms_rpc_md md;
    struct ms_rpc_call_opts co;
    struct ms_rpc_stream *s = NULL;
    struct ms_rpc_seg seg;
    size_t used = 0;
    uint64_t first_off = 0, flen = 0;
    MS_ASSERT(c != NULL && req != NULL && out_len != NULL);
    MS_ASSERT(out != NULL || cap == 0);
    call_opts(opts, &md, &co);
    int rc = get_request_seg(req, &seg);
    if (rc < 0)
        return rc;
    rc = ms_rpc_stream_open(c, MS_NODE_RPC_GET, &co, &s);
    if (rc < 0) {
        ms_rpc_segs_release(&seg, 1);
        return rc;
    }
    /* No explicit half-close here: ms_rpc_stream_finish() sends it. (The loopback client
     * refuses a half-close that follows a message the handler already sent.) */
    rc = ms_rpc_stream_send(s, &seg, 1);
    int take_rc = 0;
    struct ms_rpc_msg msg;
    while (rc == 0 && take_rc == 0 && ms_rpc_stream_recv(s, &msg) == 1)
        take_rc = get_take(&msg, out, cap, &used, &first_off, &flen);
    if (take_rc != 0) {
        ms_rpc_stream_destroy(s); /* cancels the rest of the stream */
        return take_rc;
    }
    rc = ms_rpc_stream_finish(s, st);
    ms_rpc_stream_destroy(s);
    if (rc == 0) {
        *out_len = used;
        if (fragment_length != NULL)
            *fragment_length = flen;
    }
    return rc;
}

/* One unary call: request msg -> contiguous answer bytes (malloc'd, caller frees). */
static int unary(struct ms_rpc_client *c, const struct ms_node_call_opts *opts,
                 const char *method, const ProtobufCMessage *req, uint8_t **resp, size_t *rlen,
                 struct ms_rpc_status *st)
{
    struct ms_rpc_md md;
    struct ms_rpc_call_opts co;
    struct ms_rpc_seg seg;
    MS_ASSERT(c != NULL && method != NULL && req != NULL);
    MS_ASSERT(resp != NULL && rlen != NULL);
    call_opts(opts, &md, &co);
    int rc = pack_seg(req, &seg);
    if (rc < 0)
        return rc;
    return ms_rpc_unary(c, method, &co, &seg, 1, resp, rlen, st);
}

int ms_node_rpc_raw_unary(struct ms_rpc_client *c, const struct ms_node_call_opts *opts,
                          const char *method, const uint8_t *req, size_t len,
                          struct ms_rpc_status *st)
{
    struct ms_rpc_md md;
    struct ms_rpc_call_opts co;
    uint8_t *resp = NULL;
    size_t rlen = 0;
    MS_ASSERT(c != NULL && method != NULL);
    MS_ASSERT(req != NULL || len == 0);
    call_opts(opts, &md, &co);
    struct ms_rpc_seg seg = {.ptr = req, .len = len};
    int rc = ms_rpc_unary(c, method, &co, &seg, 1, &resp, &rlen, st);
    free(resp);
    return rc;
}

int ms_node_rpc_delete(struct ms_rpc_client *c, const struct ms_node_call_opts *opts,
                       const struct ms_node_ref *ref, struct ms_node_delete_result *res,
                       struct ms_rpc_status *st)
{
    Medstore__V1__DeleteFragmentRequest m = MEDSTORE__V1__DELETE_FRAGMENT_REQUEST__INIT;
    Medstore__V1__FragmentRef r;
    uint8_t *resp = NULL;
    size_t rlen = 0;
    MS_ASSERT(ref != NULL);
    ref_wire(ref, &r);
    m.ref = &r;
    int rc = unary(c, opts, MS_NODE_RPC_DELETE, &m.base, &resp, &rlen, st);
    if (rc < 0)
        return rc;
    Medstore__V1__DeleteFragmentResponse *a =
        medstore__v1__delete_fragment_response__unpack(NULL, rlen, resp);
    free(resp);
    if (a == NULL)
        return -MEDSTORE_EFORMAT;
    if (res != NULL) {
        res->existed = a->existed;
        res->wiped_bytes = a->wiped_bytes;
    }
    medstore__v1__delete_fragment_response__free_unpacked(a, NULL);
    MS_ASSERT(rc == 0);
    return 0;
}

static int entry_from_wire(const Medstore__V1__FragmentEntry *e, struct ms_node_entry *out)
{
    MS_ASSERT(out != NULL);
    if (e == NULL || e->header_checksum.len != MS_NODE_HDR_CSUM_BYTES)
        return -MEDSTORE_EFORMAT;
    int rc = ref_from_wire(e->ref, &out->ref);
    if (rc < 0)
        return rc;
    out->length = e->length;
    out->state = (enum ms_node_frag_state)e->state;
    out->committed_unix_ms = e->committed_unix_ms;
    memcpy(out->header_checksum, e->header_checksum.data, MS_NODE_HDR_CSUM_BYTES);
    return 0;
}

int ms_node_rpc_stat(struct ms_rpc_client *c, const struct ms_node_call_opts *opts,
                     const struct ms_node_ref *ref, struct ms_node_entry *out,
                     struct ms_rpc_status *st)
{
    Medstore__V1__StatFragmentRequest m = MEDSTORE__V1__STAT_FRAGMENT_REQUEST__INIT;
    Medstore__V1__FragmentRef r;
    uint8_t *resp = NULL;
    size_t rlen = 0;
    MS_ASSERT(ref != NULL && out != NULL);
    ref_wire(ref, &r);
    m.ref = &r;
    int rc = unary(c, opts, MS_NODE_RPC_STAT, &m.base, &resp, &rlen, st);
    if (rc < 0)
        return rc;
    Medstore__V1__StatFragmentResponse *a = medstore__v1__stat_fragment_response__unpack(NULL,
                                                                                          rlen,
                                                                                          resp);
    free(resp);
    if (a == NULL)
        return -MEDSTORE_EFORMAT;
    rc = entry_from_wire(a->entry, out);
    medstore__v1__stat_fragment_response__free_unpacked(a, NULL);
    return rc;
}

/* Packs a ListFragments/ScrubReport-shaped request (same fields). */
static void page_wire(const struct ms_node_page_req *req, Medstore__V1__ListFragmentsRequest *m,
                      Medstore__V1__FragmentRef *r)
{
    MS_ASSERT(req != NULL && m != NULL);
    medstore__v1__list_fragments_request__init(m);
    m->limit = req->limit;
    if (req->has_after) {
        ref_wire(&req->after, r);
        m->after = r;
    }
}

int ms_node_rpc_list(struct ms_rpc_client *c, const struct ms_node_call_opts *opts,
                     const struct ms_node_page_req *req, struct ms_node_entry *out, size_t cap,
                     size_t *n, bool *has_next, struct ms_node_ref *next,
                     struct ms_rpc_status *st)
{
    Medstore__V1__ListFragmentsRequest m;
    Medstore__V1__FragmentRef r;
    uint8_t *resp = NULL;
    size_t rlen = 0;
    MS_ASSERT(n != NULL && has_next != NULL && next != NULL);
    MS_ASSERT(out != NULL || cap == 0);
    page_wire(req, &m, &r);
    int rc = unary(c, opts, MS_NODE_RPC_LIST, &m.base, &resp, &rlen, st);
    if (rc < 0)
        return rc;
    Medstore__V1__ListFragmentsResponse *a =
        medstore__v1__list_fragments_response__unpack(NULL, rlen, resp);
    free(resp);
    if (a == NULL)
        return -MEDSTORE_EFORMAT;
    if (a->n_entries > cap)
        rc = -ENOBUFS;
    for (size_t i = 0; rc == 0 && i < a->n_entries; i++)
        rc = entry_from_wire(a->entries[i], &out[i]);
    *has_next = a->next != NULL;
    if (rc == 0 && a->next != NULL)
        rc = ref_from_wire(a->next, next);
    if (rc == 0)
        *n = a->n_entries;
    medstore__v1__list_fragments_response__free_unpacked(a, NULL);
    return rc;
}

static int damage_from_wire(const Medstore__V1__ScrubDamage *d, struct ms_node_damage *out)
{
    MS_ASSERT(out != NULL);
    memset(out, 0, sizeof(*out));
    if (d == NULL)
        return -MEDSTORE_EFORMAT;
    int rc = ref_from_wire(d->ref, &out->ref);
    if (rc < 0)
        return rc;
    size_t nd = d->n_damaged_segments;
    out->n_damaged = (uint32_t)(nd < MS_NODE_DAMAGED_MAX ? nd : MS_NODE_DAMAGED_MAX);
    if (out->n_damaged > 0)
        memcpy(out->damaged, d->damaged_segments, out->n_damaged * sizeof(uint32_t));
    out->header_damaged = d->header_damaged;
    out->detected_unix_ms = d->detected_unix_ms;
    return 0;
}

int ms_node_rpc_scrub(struct ms_rpc_client *c, const struct ms_node_call_opts *opts,
                      const struct ms_node_page_req *req, struct ms_node_damage *out, size_t cap,
                      struct ms_node_scrub_page *page, struct ms_rpc_status *st)
{
    Medstore__V1__ListFragmentsRequest m;
    Medstore__V1__FragmentRef r;
    uint8_t *resp = NULL;
    size_t rlen = 0;
    MS_ASSERT(page != NULL);
    MS_ASSERT(out != NULL || cap == 0);
    page_wire(req, &m, &r);
    int rc = unary(c, opts, MS_NODE_RPC_SCRUB, &m.base, &resp, &rlen, st);
    if (rc < 0)
        return rc;
    Medstore__V1__ScrubReportResponse *a = medstore__v1__scrub_report_response__unpack(NULL,
                                                                                        rlen,
                                                                                        resp);
    free(resp);
    if (a == NULL)
        return -MEDSTORE_EFORMAT;
    memset(page, 0, sizeof(*page));
    if (a->n_entries > cap)
        rc = -ENOBUFS;
    for (size_t i = 0; rc == 0 && i < a->n_entries; i++)
        rc = damage_from_wire(a->entries[i], &out[i]);
    page->entries = out;
    page->n_entries = rc == 0 ? a->n_entries : 0;
    page->has_next = a->next != NULL;
    if (rc == 0 && a->next != NULL)
        rc = ref_from_wire(a->next, &page->next);
    page->scrubbed_fragments = a->scrubbed_fragments;
    page->last_pass_unix_ms = a->last_pass_unix_ms;
    medstore__v1__scrub_report_response__free_unpacked(a, NULL);
    return rc;
}

int ms_node_rpc_verify(struct ms_rpc_client *c, const struct ms_node_call_opts *opts,
                       const struct ms_node_ref *ref, struct ms_node_damage *out,
                       struct ms_rpc_status *st)
{
    Medstore__V1__VerifyFragmentRequest m = MEDSTORE__V1__VERIFY_FRAGMENT_REQUEST__INIT;
    Medstore__V1__FragmentRef r;
    uint8_t *resp = NULL;
    size_t rlen = 0;
    MS_ASSERT(ref != NULL && out != NULL);
    ref_wire(ref, &r);
    m.ref = &r;
    int rc = unary(c, opts, MS_NODE_RPC_VERIFY, &m.base, &resp, &rlen, st);
    if (rc < 0)
        return rc;
    Medstore__V1__VerifyFragmentResponse *a =
        medstore__v1__verify_fragment_response__unpack(NULL, rlen, resp);
    free(resp);
    if (a == NULL)
        return -MEDSTORE_EFORMAT;
    memset(out, 0, sizeof(*out));
    out->ref = *ref;
    out->ok = a->ok;
    out->header_damaged = a->header_damaged;
    out->segments_checked = a->segments_checked;
    size_t nd = a->n_damaged_segments;
    out->n_damaged = (uint32_t)(nd < MS_NODE_DAMAGED_MAX ? nd : MS_NODE_DAMAGED_MAX);
    if (out->n_damaged > 0)
        memcpy(out->damaged, a->damaged_segments, out->n_damaged * sizeof(uint32_t));
    medstore__v1__verify_fragment_response__free_unpacked(a, NULL);
    return 0;
}

int ms_node_rpc_info(struct ms_rpc_client *c, const struct ms_node_call_opts *opts,
                     struct ms_node_info *out, struct ms_rpc_status *st)
{
    Medstore__V1__NodeInfoRequest m = MEDSTORE__V1__NODE_INFO_REQUEST__INIT;
    uint8_t *resp = NULL;
    size_t rlen = 0;
    MS_ASSERT(c != NULL && out != NULL);
    int rc = unary(c, opts, MS_NODE_RPC_INFO, &m.base, &resp, &rlen, st);
    if (rc < 0)
        return rc;
    Medstore__V1__NodeInfoResponse *a = medstore__v1__node_info_response__unpack(NULL, rlen,
                                                                                  resp);
    free(resp);
    if (a == NULL)
        return -MEDSTORE_EFORMAT;
    memset(out, 0, sizeof(*out));
    out->node_id = a->node_id;
    snprintf(out->rack, sizeof(out->rack), "%s", a->rack != NULL ? a->rack : "");
    out->capacity_bytes = a->capacity_bytes;
    out->free_bytes = a->free_bytes;
    out->fragment_count = a->fragment_count;
    if (a->version != NULL) {
        const char *sv = a->version->software_version;
        snprintf(out->software_version, sizeof(out->software_version), "%s", sv ? sv : "");
        out->format_version = a->version->format_version;
        out->protocol_version = a->version->protocol_version;
    }
    medstore__v1__node_info_response__free_unpacked(a, NULL);
    MS_ASSERT(out->rack[sizeof(out->rack) - 1] == '\0');
    return 0;
}
