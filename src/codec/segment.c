/*
 * segment.c - segment arithmetic and the object-level compression choice.
 *
 * An object of len bytes is cut into ceil(len / segment_size) segments; all but the last are
 * exactly segment_size, the last is short (1 .. segment_size bytes); an empty object has zero
 * segments and still a valid manifest. Whether zstd runs at all is decided once per object,
 * cheaply: the caller's hint (video and other already-compressed media say RAW), else a
 * trial compression of the first 64 KiB. Segments of an object that passed are compressed
 * one by one and each kept only if it saves >= 5 % (compress.c).
 */
#include "codec/codec_int.h"

#include "common/ms_assert.h"

uint32_t ms_seg_plain_len(uint64_t len, uint32_t segment_size, uint32_t seg)
{
    MS_ASSERT(segment_size > 0);
    uint64_t start = (uint64_t)seg * segment_size;
    MS_ASSERT(start < len);
    uint64_t left = len - start;
    return left < segment_size ? (uint32_t)left : segment_size;
}

int ms_seg_should_compress(struct ZSTD_CCtx_s *c, enum ms_codec_hint hint, const uint8_t *sample,
                           size_t len, uint8_t *scratch, size_t scratch_cap, bool *compress)
{
    MS_ASSERT(compress != NULL);
    MS_ASSERT(sample != NULL || len == 0);
    if (hint == MS_CODEC_HINT_RAW || len == 0) {
        *compress = false;
        return 0;
    }
    if (hint == MS_CODEC_HINT_COMPRESS) {
        *compress = true;
        return 0;
    }
    if (len > MS_CODEC_SAMPLE_BYTES)
        len = MS_CODEC_SAMPLE_BYTES;
    MS_ASSERT(c != NULL && scratch != NULL && scratch_cap >= len);
    int64_t r = ms_compress(c, sample, len, scratch, scratch_cap);
    if (r < 0)
        return (int)r;
    *compress = r > 0;
    return 0;
}
