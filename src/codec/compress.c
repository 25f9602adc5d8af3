/*
 * compress.c - zstd level 1 per segment, kept only when it saves at least 5 %.
 *
 * The contexts are created once per thread (struct ms_codec_ctx) and reused: zstd's per-call
 * context setup would otherwise allocate ~1 MiB per segment. The 5 % rule is enforced by
 * giving zstd an output buffer of exactly the keep limit: when the result does not fit, zstd
 * stops early with dstSize_tooSmall and the segment is stored raw, so incompressible data
 * costs one aborted pass at most (and none at all when the object-level trial or the caller's
 * hint said "raw"). Decompression refuses any output whose length differs from the manifest's.
 */
#include "codec/codec_int.h"

#include <zstd.h>
#include <zstd_errors.h>

#include "common/log.h"
#include "common/ms_assert.h"

#define ZSTD_LEVEL 1

struct ZSTD_CCtx_s *ms_zstd_cctx_new(void)
{
    ZSTD_CCtx *c = ZSTD_createCCtx();
    if (c == NULL)
        return NULL;
    size_t r = ZSTD_CCtx_setParameter(c, ZSTD_c_compressionLevel, ZSTD_LEVEL);
    MS_ASSERT(!ZSTD_isError(r));
    /* No frame checksum or size: the AEAD authenticates and the manifest carries sizes. */
    r = ZSTD_CCtx_setParameter(c, ZSTD_c_checksumFlag, 0);
    MS_ASSERT(!ZSTD_isError(r));
    return c;
}

struct ZSTD_DCtx_s *ms_zstd_dctx_new(void)
{
    return ZSTD_createDCtx();
}

void ms_zstd_cctx_free(struct ZSTD_CCtx_s *c)
{
    ZSTD_freeCCtx(c);
}

void ms_zstd_dctx_free(struct ZSTD_DCtx_s *d)
{
    ZSTD_freeDCtx(d);
}

size_t ms_compress_keep_limit(size_t len)
{
    /* Keep when compressed <= 95 % of len, i.e. it saves >= 5 %. */
    size_t lim = len - (len * MS_CODEC_MIN_SAVING_PCT + 99) / 100;
    MS_DASSERT(lim <= len);
    return lim;
}

int64_t ms_compress(struct ZSTD_CCtx_s *c, const uint8_t *src, size_t len, uint8_t *dst,
                    size_t dst_cap)
{
    MS_ASSERT(c != NULL && src != NULL && dst != NULL);
    MS_ASSERT(len > 0);
    size_t lim = ms_compress_keep_limit(len);
    if (lim == 0)
        return 0;
    if (dst_cap > lim)
        dst_cap = lim;
    size_t r = ZSTD_compress2(c, dst, dst_cap, src, len);
    if (ZSTD_isError(r)) {
        if (ZSTD_getErrorCode(r) == ZSTD_error_dstSize_tooSmall)
            return 0;
        ms_log(MS_LOG_ERROR, "codec", "event=zstd_fail err=%s", ZSTD_getErrorName(r));
        return -MEDSTORE_EINTERNAL;
    }
    MS_ASSERT(r <= lim);
    return (int64_t)r;
}

int ms_decompress(struct ZSTD_DCtx_s *d, const uint8_t *src, size_t len, uint8_t *dst,
                  size_t plain_len)
{
    MS_ASSERT(d != NULL && dst != NULL);
    MS_ASSERT(src != NULL || len == 0);
    size_t r = ZSTD_decompressDCtx(d, dst, plain_len, src, len);
    if (ZSTD_isError(r) || r != plain_len)
        return MS_CORRUPT();
    return 0;
}
