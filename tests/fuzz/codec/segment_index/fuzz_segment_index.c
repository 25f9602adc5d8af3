/*
 * fuzz_segment_index.c - libFuzzer target: the segment index (block + footer) decoder.
 * Input: a fragment; its header (or a fixed one) gives the limits, its tail is parsed as the
 * index. Properties: no crash or overread; an index that decodes re-encodes to the same
 * bytes; every segment range maps to a span inside the records area.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "codec/frag_format.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_ENTRIES 4096

static struct ms_frag_idx_entry g_ent[MAX_ENTRIES];
static uint8_t g_again[8 + MAX_ENTRIES * 16 + 32];

static struct ms_frag_hdr fallback(void)
{
    struct ms_frag_hdr h;
    memset(&h, 0, sizeof(h));
    memset(h.oid.b, 0x22, sizeof(h.oid.b));
    h.k = 4;
    h.m = 2;
    h.ec_alg = MS_EC_CAUCHY1;
    h.aead_alg = MS_AEAD_AES256GCM;
    h.comp_alg = MS_COMPRESS_ZSTD;
    h.csum_alg = MS_CSUM_XXH3_128;
    h.segment_size_bytes = 65536;
    h.shard_align_bytes = 1;
    h.segment_count = MS_FRAG_SEGS_UNKNOWN;
    h.object_len_bytes = MS_FRAG_LEN_UNKNOWN;
    return h;
}

static void check_spans(uint32_t n, uint64_t index_offset)
{
    for (uint32_t a = 0; a < n; a++) {
        uint64_t off, len;
        uint32_t cnt = n - a < 3 ? n - a : 3;
        if (ms_frag_locate_segments(g_ent, n, a, cnt, &off, &len) != 0)
            abort();
        if (off < MS_FRAG_HDR_BYTES || off + len > index_offset)
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ms_frag_hdr h;
    if (ms_frag_hdr_decode(data, size, &h) != 0)
        h = fallback();
    if (size < MS_FRAG_IDX_FOOTER_BYTES)
        return 0;
    struct ms_frag_idx_footer ftr;
    const uint8_t *tail = data + size - MS_FRAG_IDX_FOOTER_BYTES;
    if (ms_frag_index_footer_decode(tail, MS_FRAG_IDX_FOOTER_BYTES, size, &ftr) != 0)
        return 0;
    uint64_t ib = ms_frag_index_bytes(ftr.segment_count);
    if (ib > size || ftr.segment_count > MAX_ENTRIES)
        return 0;
    int n = ms_frag_index_decode(data + size - ib, (size_t)ib, size, &h, g_ent, MAX_ENTRIES);
    if (n < 0)
        return 0;
    if ((uint32_t)n != ftr.segment_count ||
        ms_frag_index_encode(g_ent, (uint32_t)n, ftr.index_offset, g_again, sizeof(g_again)) != 0 ||
        memcmp(g_again, data + size - ib, (size_t)ib) != 0)
        abort();
    check_spans((uint32_t)n, ftr.index_offset);
    return 0;
}
