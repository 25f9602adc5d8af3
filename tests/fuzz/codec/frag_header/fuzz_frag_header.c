/*
 * fuzz_frag_header.c - libFuzzer target: the fragment header decoder on arbitrary bytes.
 * Properties: never crashes or reads past len; a header that decodes re-encodes to exactly
 * the same 128 bytes (the format has one valid encoding per header); a decoded header always
 * passes ms_frag_hdr_check and its derived limits are sane.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "codec/frag_format.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ms_frag_hdr h;
    if (ms_frag_hdr_decode(data, size, &h) != 0)
        return 0;
    uint8_t again[MS_FRAG_HDR_BYTES];
    if (ms_frag_hdr_check(&h) != 0 || ms_frag_hdr_encode(&h, again, sizeof(again)) != 0)
        abort();
    if (memcmp(again, data, MS_FRAG_HDR_BYTES) != 0)
        abort();
    uint32_t max = ms_frag_max_payload(&h);
    if (max == 0 || max % h.shard_align_bytes != 0 || max < h.segment_size_bytes / h.k)
        abort();
    return 0;
}
