/*
 * media.c - PDF and MP4 (ISO base media file format): detected by signature, with the few
 * facts that are cheap to read.
 *
 * PDF: "%PDF-" then the version ("1.7"), and the "%%EOF" marker within the last 1 KiB (where
 * readers look for it): without it the file is truncated (-MEDSTORE_ETRUNCATED). The body is
 * not parsed.
 *
 * MP4: the top-level boxes are walked from the first to the last (each hop reads an 8- or
 * 16-byte header; a box that claims more bytes than remain means the file was truncated),
 * the first box must be "ftyp" (majorBrand). Inside the first "moov" the children are
 * searched, at most MS_MP4_BOXES_MAX of them, for "mvhd" (duration / timescale) and
 * "mvex"/"mehd" (the fragment duration of a fragmented file whose mvhd says 0).
 * durationMs = duration * 1000 / timescale, rounded down; absent when unknown.
 */
#include "formats/formats.h"
#include "formats/formats_int.h"

#include <errno.h>
#include <string.h>

#include "common/ms_assert.h"

#define PDF_EOF_WINDOW_BYTES 1024u
#define PDF_VERSION_MAX 8u

int ms_pdf_extract(const uint8_t *b, size_t len, struct ms_meta *m)
{
    MS_ASSERT(m != NULL);
    MS_ASSERT(b != NULL || len == 0);
    if (len < 5 || memcmp(b, "%PDF-", 5) != 0)
        return ms_meta_fail(m, -MEDSTORE_EFORMAT, "pdf: no %PDF- header", 0);
    size_t n = 0;
    while (5 + n < len && n < PDF_VERSION_MAX &&
           ((b[5 + n] >= '0' && b[5 + n] <= '9') || b[5 + n] == '.'))
        n++;
    if (n == 0)
        return ms_meta_fail(m, -MEDSTORE_EFORMAT, "pdf: no version after %PDF-", 5);
    size_t from = len > PDF_EOF_WINDOW_BYTES ? len - PDF_EOF_WINDOW_BYTES : 0;
    if (memmem(b + from, len - from, "%%EOF", 5) == NULL)
        return ms_meta_fail(m, -MEDSTORE_ETRUNCATED, "pdf: no %%EOF in the last 1 KiB", len);
    return ms_meta_set(m, MS_META_PDF_VERSION, b + 5, n);
}

static uint32_t be32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static uint64_t be64(const uint8_t *p)
{
    return ((uint64_t)be32(p) << 32) | be32(p + 4);
}

/* One box header. */
struct box {
    char type[4];
    size_t off;      /* of the header */
    size_t body;     /* of the payload */
    size_t end;      /* one past the box */
};

/* Reads the box header at off within [off, end). Returns 0, or -MEDSTORE_ETRUNCATED (the
 * box runs past end, which is the end of the file for top-level boxes) / EFORMAT. */
static int read_box(const uint8_t *b, size_t off, size_t end, bool top, struct box *x,
                    struct ms_meta *m)
{
    MS_ASSERT(off <= end);
    int short_rc = top ? -MEDSTORE_ETRUNCATED : -MEDSTORE_EFORMAT;
    if (end - off < 8)
        return ms_meta_fail(m, short_rc, "mp4: box header cut short", off);
    uint64_t size = be32(b + off);
    memcpy(x->type, b + off + 4, 4);
    x->off = off;
    x->body = off + 8;
    if (size == 1) {
        if (end - off < 16)
            return ms_meta_fail(m, short_rc, "mp4: box header cut short", off);
        size = be64(b + off + 8);
        x->body = off + 16;
    } else if (size == 0) {
        size = end - off; /* the box runs to the end of its container */
    }
    if (size < x->body - off)
        return ms_meta_fail(m, -MEDSTORE_EFORMAT, "mp4: box smaller than its header", off);
    if (size > end - off)
        return ms_meta_fail(m, short_rc, "mp4: box runs past the end", off);
    x->end = off + (size_t)size;
    MS_ASSERT(x->body <= x->end && x->end <= end);
    return 0;
}

/* Reads (timescale, duration) from a full box "mvhd" or the duration of "mehd". */
static int read_duration(const uint8_t *b, const struct box *x, bool mvhd, uint32_t *timescale,
                         uint64_t *duration, struct ms_meta *m)
{
    MS_ASSERT(x->body <= x->end);
    MS_ASSERT(timescale != NULL && duration != NULL);
    size_t n = x->end - x->body;
    const uint8_t *p = b + x->body;
    if (n < 4)
        return ms_meta_fail(m, -MEDSTORE_EFORMAT, "mp4: full box too short", x->off);
    bool v1 = p[0] == 1;
    size_t need = mvhd ? (v1 ? 4 + 28 : 4 + 16) : (v1 ? 12 : 8);
    if (n < need)
        return ms_meta_fail(m, -MEDSTORE_EFORMAT, "mp4: mvhd or mehd too short", x->off);
    if (!mvhd) {
        *duration = v1 ? be64(p + 4) : be32(p + 4);
        return 0;
    }
    *timescale = be32(p + (v1 ? 20 : 12));
    *duration = v1 ? be64(p + 24) : be32(p + 16);
    if (!v1 && *duration == UINT32_MAX)
        *duration = 0; /* all ones: unknown */
    return 0;
}

/* Searches moov for mvhd and mvex/mehd; sets durationMs when known. */
static int read_moov(const uint8_t *b, const struct box *moov, struct ms_meta *m)
{
    MS_ASSERT(memcmp(moov->type, "moov", 4) == 0);
    MS_ASSERT(moov->body <= moov->end);
    uint32_t timescale = 0;
    uint64_t duration = 0, frag_duration = 0;
    unsigned visited = 0;
    for (size_t off = moov->body; off < moov->end && visited < MS_MP4_BOXES_MAX; visited++) {
        struct box x;
        int rc = read_box(b, off, moov->end, false, &x, m);
        if (rc < 0)
            return rc;
        if (memcmp(x.type, "mvhd", 4) == 0)
            rc = read_duration(b, &x, true, &timescale, &duration, m);
        if (rc == 0 && memcmp(x.type, "mvex", 4) == 0) {
            struct box h;
            if (x.end - x.body >= 8 && read_box(b, x.body, x.end, false, &h, m) == 0 &&
                memcmp(h.type, "mehd", 4) == 0)
                rc = read_duration(b, &h, false, &timescale, &frag_duration, m);
        }
        if (rc < 0)
            return rc;
        off = x.end;
    }
    if (duration == 0)
        duration = frag_duration;
    if (timescale == 0 || duration == 0 || duration / timescale > UINT64_MAX / 1000 - 1)
        return 0;
    uint64_t ms = duration / timescale * 1000 + duration % timescale * 1000 / timescale;
    return ms_meta_set_u64(m, MS_META_DURATION_MS, ms);
}

int ms_mp4_extract(const uint8_t *b, size_t len, struct ms_meta *m)
{
    MS_ASSERT(m != NULL);
    MS_ASSERT(b != NULL || len == 0);
    bool seen_moov = false;
    for (size_t off = 0; off < len;) {
        struct box x;
        int rc = read_box(b, off, len, true, &x, m);
        if (rc < 0)
            return rc;
        if (off == 0) {
            if (memcmp(x.type, "ftyp", 4) != 0 || x.end - x.body < 8)
                return ms_meta_fail(m, -MEDSTORE_EFORMAT, "mp4: first box is not ftyp", 0);
            rc = ms_meta_set(m, MS_META_MAJOR_BRAND, b + x.body, 4);
        } else if (!seen_moov && memcmp(x.type, "moov", 4) == 0) {
            seen_moov = true;
            rc = read_moov(b, &x, m);
        }
        if (rc < 0)
            return rc;
        off = x.end;
    }
    return len == 0 ? ms_meta_fail(m, -MEDSTORE_EFORMAT, "mp4: empty input", 0) : 0;
}
