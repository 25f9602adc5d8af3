/*
 * fuzz_frag_record.c - libFuzzer target: shard records and the streaming fragment validator.
 * Input: a fragment (header, then any bytes). When the first 128 bytes are not a valid header
 * a fixed one is used, so the body is always exercised.
 * Properties: no crash or overread; a record that checks re-encodes to the same 32 header
 * bytes; the streaming validator gives the same verdict whatever the chunking (two chunkings
 * derived from the input), and a complete fragment ends exactly at the input's end.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "codec/frag_format.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct ms_frag_hdr fallback(void)
{
    struct ms_frag_hdr h;
    memset(&h, 0, sizeof(h));
    memset(h.oid.b, 0x11, sizeof(h.oid.b));
    h.k = 2;
    h.m = 1;
    h.frag_index = 0;
    h.ec_alg = MS_EC_CAUCHY1;
    h.aead_alg = MS_AEAD_AES256GCM;
    h.comp_alg = MS_COMPRESS_ZSTD;
    h.csum_alg = MS_CSUM_XXH3_128;
    h.segment_size_bytes = 65536;
    h.shard_align_bytes = 64;
    h.segment_count = MS_FRAG_SEGS_UNKNOWN;
    h.object_len_bytes = MS_FRAG_LEN_UNKNOWN;
    return h;
}

static int run_validator(const struct ms_frag_hdr *h, const uint8_t *p, size_t n, size_t chunk,
                         uint64_t *end, uint32_t *records)
{
    static struct ms_frag_check chk;
    ms_frag_check_init(&chk, h);
    int rc = 0;
    for (size_t o = 0; o < n && rc == 0; o += chunk)
        rc = ms_frag_check_feed(&chk, p + o, n - o < chunk ? n - o : chunk);
    if (rc == 0)
        rc = ms_frag_check_finish(&chk);
    *end = ms_frag_check_offset(&chk);
    *records = ms_frag_check_records(&chk);
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ms_frag_hdr h;
    if (ms_frag_hdr_decode(data, size, &h) != 0)
        h = fallback();
    const uint8_t *body = size >= MS_FRAG_HDR_BYTES ? data + MS_FRAG_HDR_BYTES : data;
    size_t n = size >= MS_FRAG_HDR_BYTES ? size - MS_FRAG_HDR_BYTES : size;
    struct ms_frag_rec rec;
    const uint8_t *payload;
    size_t used;
    if (ms_frag_record_check(body, n, &h, &rec, &payload, &used) == 0) {
        uint8_t again[MS_FRAG_REC_HDR_BYTES];
        if (used > n || payload != body + MS_FRAG_REC_HDR_BYTES ||
            ms_frag_rec_encode(&rec, payload, rec.payload_len_bytes, again, sizeof(again)) != 0 ||
            memcmp(again, body, sizeof(again)) != 0)
            abort();
    }
    uint64_t end1, end2;
    uint32_t rec1, rec2;
    size_t chunk = 1 + (size > 0 ? data[size - 1] : 0);
    int rc1 = run_validator(&h, body, n, n > 0 ? n : 1, &end1, &rec1);
    int rc2 = run_validator(&h, body, n, chunk, &end2, &rec2);
    if (rc1 != rc2 || (rc1 == 0 && (end1 != end2 || rec1 != rec2)))
        abort();
    if (rc1 == 0 && end1 != MS_FRAG_HDR_BYTES + n)
        abort();
    return 0;
}
