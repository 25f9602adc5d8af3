/*
 * dicom.c - our DICOM reader: Part 10 files (with or without the 128-byte preamble and
 * "DICM", with or without the File Meta group 0002) and bare datasets; explicit VR little
 * endian, implicit VR little endian, explicit VR big endian, deflated explicit VR little
 * endian (raw deflate after the File Meta, inflated under MS_DICOM_INFLATE_MAX_BYTES) and
 * every encapsulated transfer syntax (fragments skipped item by item, never decoded).
 *
 * What it extracts: top-level PatientID, PatientName, IssuerOfPatientID, StudyInstanceUID,
 * SeriesInstanceUID, SOPInstanceUID, SOPClassUID, Modality, StudyDate, NumberOfFrames,
 * SpecificCharacterSet, and TransferSyntaxUID from the File Meta. Values lose their DICOM
 * padding (trailing spaces and NULs; leading spaces too for CS, DA, IS and UI). PN and LO
 * values in ISO_IR 100 are converted to UTF-8; other character sets are kept as bytes.
 *
 * Every length is checked against the bytes that remain, in the file and in the enclosing
 * defined-length item. Precise errors:
 *   -MEDSTORE_ETRUNCATED  the file ends before a length it declares, or before a delimiter;
 *   -MEDSTORE_EFORMAT     a length overruns its enclosing item, an odd length, an unknown
 *                         VR, a delimiter out of place, a wanted attribute with a wrong VR,
 *                         top-level Pixel Data whose form contradicts the transfer syntax
 *                         (defined length in an encapsulated syntax or the reverse), a
 *                         corrupt deflate stream;
 *   -MEDSTORE_EUNSUPPORTED a transfer syntax outside 1.2.840.10008.1.2[.*];
 *   -MEDSTORE_ELIMIT      sequences nested deeper than MS_DICOM_DEPTH_MAX, a dataset that
 *                         inflates past MS_DICOM_INFLATE_MAX_BYTES, a value over 1 KiB.
 *
 * Why it reads to the end: once past (0028,0008) nothing more is extracted, but the walk
 * goes on hopping element headers (no value is copied, defined-length sequences are jumped
 * over whole) so that a truncated or inconsistent object is refused at ingest instead of
 * being indexed as a valid image. It descends only into undefined-length sequences and
 * items (which must be walked to find their end) and into encapsulated Pixel Data (item by
 * item), with recursion bounded by MS_DICOM_DEPTH_MAX.
 */
#include "formats/formats.h"
#include "formats/formats_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "common/ms_assert.h"

#define TAG(g, e) (((uint32_t)(g) << 16) | (uint32_t)(e))
#define TAG_ITEM TAG(0xFFFE, 0xE000)
#define TAG_ITEM_DELIM TAG(0xFFFE, 0xE00D)
#define TAG_SEQ_DELIM TAG(0xFFFE, 0xE0DD)
#define TAG_PIXEL_DATA TAG(0x7FE0, 0x0010)
#define TAG_TRANSFER_SYNTAX TAG(0x0002, 0x0010)
#define LEN_UNDEFINED 0xFFFFFFFFu

#define TS_PREFIX "1.2.840.10008.1.2"

/* How a dataset is encoded. */
struct dcm_enc {
    bool explicit_vr;
    bool big_endian;
};

/* One element header. */
struct dcm_elem {
    uint32_t tag;
    uint8_t vr[2]; /* zero in implicit VR and for item tags */
    uint32_t len;
    size_t hdr_off;
    size_t val_off;
};

/* The attributes we extract from the top-level dataset. */
static const struct {
    uint32_t tag;
    enum ms_meta_key key;
    char vr[3];
} wanted[] = {
    {TAG(0x0008, 0x0005), MS_META_CHARSET, "CS"},
    {TAG(0x0008, 0x0016), MS_META_SOP_CLASS_UID, "UI"},
    {TAG(0x0008, 0x0018), MS_META_SOP_INSTANCE_UID, "UI"},
    {TAG(0x0008, 0x0020), MS_META_STUDY_DATE, "DA"},
    {TAG(0x0008, 0x0060), MS_META_MODALITY, "CS"},
    {TAG(0x0010, 0x0010), MS_META_PATIENT_NAME, "PN"},
    {TAG(0x0010, 0x0020), MS_META_PATIENT_ID, "LO"},
    {TAG(0x0010, 0x0021), MS_META_ISSUER, "LO"},
    {TAG(0x0020, 0x000D), MS_META_STUDY_UID, "UI"},
    {TAG(0x0020, 0x000E), MS_META_SERIES_UID, "UI"},
    {TAG(0x0028, 0x0008), MS_META_NUMBER_OF_FRAMES, "IS"},
};
#define N_WANTED MS_ARRAY_LEN(wanted)

/* Reader state for one input. */
struct dcm_rd {
    const uint8_t *b;      /* dataset bytes: the input, or the inflated dataset */
    size_t len;
    struct ms_meta *m;
    bool ts_known;         /* the File Meta named a transfer syntax we understood */
    bool encapsulated;     /* ... and it is an encapsulated one */
    struct ms_str val[N_WANTED];
    struct ms_str ts;      /* (0002,0010), from the File Meta */
};

/* Second letters of the value representations we know, by first letter (PS3.5 6.2):
 * AE AS AT CS DA DS DT FD FL IS LO LT OB OD OF OL OV OW PN SH SL SQ SS ST SV TM UC UI UL UN
 * UR US UT UV. A switch, not a table scan: this runs once per element header. */
static const char *vr_seconds(uint8_t first)
{
    switch (first) {
    case 'A':
        return "EST";
    case 'C':
        return "S";
    case 'D':
        return "AST";
    case 'F':
        return "DL";
    case 'I':
        return "S";
    case 'L':
        return "OT";
    case 'O':
        return "BDFLVW";
    case 'P':
        return "N";
    case 'S':
        return "HLQSTV";
    case 'T':
        return "M";
    case 'U':
        return "CILNRSTV";
    default:
        return NULL;
    }
}

bool ms_dicom_is_vr(const uint8_t vr[2])
{
    const char *seconds = vr_seconds(vr[0]);
    return seconds != NULL && vr[1] != 0 && strchr(seconds, vr[1]) != NULL;
}

/* VRs whose explicit header has 2 reserved bytes and a 4-byte length: OB OD OF OL OV OW SQ
 * SV UC UN UR UT UV. Only called on known VRs. */
static bool is_long_vr(const uint8_t vr[2])
{
    MS_DASSERT(ms_dicom_is_vr(vr));
    if (vr[0] == 'O')
        return true;
    if (vr[0] == 'S')
        return vr[1] == 'Q' || vr[1] == 'V';
    return vr[0] == 'U' && strchr("CNRTV", vr[1]) != NULL;
}

static bool vr_is(const uint8_t vr[2], const char *name)
{
    return vr[0] == (uint8_t)name[0] && vr[1] == (uint8_t)name[1];
}

static uint16_t rd16(const uint8_t *p, bool be)
{
    return be ? (uint16_t)((p[0] << 8) | p[1]) : (uint16_t)(p[0] | (p[1] << 8));
}

static uint32_t rd32(const uint8_t *p, bool be)
{
    if (be)
        return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
           ((uint32_t)p[3] << 24);
}

bool ms_dicom_is_signature(const uint8_t *b, size_t len)
{
    if (b == NULL)
        return false;
    if ((len >= 132 && memcmp(b + 128, "DICM", 4) == 0) || (len >= 4 && memcmp(b, "DICM", 4) == 0))
        return true;
    if (len < 8)
        return false;
    MS_ASSERT(len >= 8);
    uint16_t group = rd16(b, false);
    if (group != 0x0002 && group != 0x0008)
        return false;
    if (ms_dicom_is_vr(b + 4)) {
        if (!is_long_vr(b + 4))
            return rd16(b + 6, false) <= len - 8;
        return len >= 12 && (rd32(b + 8, false) <= len - 12 || rd32(b + 8, false) == LEN_UNDEFINED);
    }
    return rd32(b + 4, false) <= len - 8;
}

static int fail(struct dcm_rd *rd, int code, const char *why, size_t off)
{
    MS_ASSERT(code < 0);
    return ms_meta_fail(rd->m, code, why, off);
}

/* The code for "not enough bytes before end": the file ran out (truncated) or a
 * defined-length container ran out (its length lies). */
static int short_code(const struct dcm_rd *rd, size_t end)
{
    return end == rd->len ? -MEDSTORE_ETRUNCATED : -MEDSTORE_EFORMAT;
}

/* Reads the element header at off (within end). Item tags (group FFFE) carry no VR. */
static int read_elem(struct dcm_rd *rd, size_t off, size_t end, struct dcm_enc enc,
                     struct dcm_elem *e)
{
    MS_ASSERT(off <= end && end <= rd->len);
    const uint8_t *p = rd->b + off;
    if (end - off < 8)
        return fail(rd, short_code(rd, end), "dicom: element header cut short", off);
    memset(e, 0, sizeof(*e));
    e->hdr_off = off;
    e->tag = TAG(rd16(p, enc.big_endian), rd16(p + 2, enc.big_endian));
    if ((e->tag >> 16) == 0xFFFE || !enc.explicit_vr) {
        e->len = rd32(p + 4, enc.big_endian);
        e->val_off = off + 8;
        return 0;
    }
    if (!ms_dicom_is_vr(p + 4))
        return fail(rd, -MEDSTORE_EFORMAT, "dicom: invalid value representation", off);
    memcpy(e->vr, p + 4, 2);
    if (!is_long_vr(e->vr)) {
        e->len = rd16(p + 6, enc.big_endian);
        e->val_off = off + 8;
        return 0;
    }
    if (end - off < 12)
        return fail(rd, short_code(rd, end), "dicom: element header cut short", off);
    e->len = rd32(p + 8, enc.big_endian);
    e->val_off = off + 12;
    MS_ASSERT(e->val_off <= end);
    return 0;
}

/* Checks a defined length against the bytes left before end. */
static int check_len(struct dcm_rd *rd, const struct dcm_elem *e, size_t end)
{
    MS_ASSERT(e->len != LEN_UNDEFINED);
    MS_ASSERT(e->val_off <= end);
    if (e->len > end - e->val_off)
        return fail(rd, short_code(rd, end), "dicom: value length exceeds the bytes that remain",
                    e->hdr_off);
    if (e->len & 1u)
        return fail(rd, -MEDSTORE_EFORMAT, "dicom: odd value length", e->hdr_off);
    return 0;
}

static int walk_dataset(struct dcm_rd *rd, size_t *off, size_t end, struct dcm_enc enc,
                        unsigned depth, bool in_item, bool top);

/* Reads the next element of an undefined-length container at *off (before end; missing is
 * the failure reason when none is). Returns 1 with *off moved past it at the sequence
 * delimiter, 0 with *e filled for any other element, or a negative code. */
static int read_until_delim(struct dcm_rd *rd, size_t *off, size_t end, struct dcm_enc enc,
                            const char *missing, struct dcm_elem *e)
{
    MS_ASSERT(*off <= end);
    MS_ASSERT(missing != NULL && e != NULL);
    if (*off >= end)
        return fail(rd, short_code(rd, end), missing, *off);
    int rc = read_elem(rd, *off, end, enc, e);
    if (rc < 0)
        return rc;
    if (e->tag != TAG_SEQ_DELIM)
        return 0;
    if (e->len != 0)
        return fail(rd, -MEDSTORE_EFORMAT, "dicom: sequence delimiter with a length",
                    e->hdr_off);
    *off = e->val_off;
    return 1;
}

/* Walks encapsulated Pixel Data: fragment items up to the sequence delimiter. */
static int walk_fragments(struct dcm_rd *rd, size_t *off, size_t end, struct dcm_enc enc)
{
    MS_ASSERT(*off <= end);
    MS_ASSERT(end <= rd->len);
    for (;;) {
        struct dcm_elem e = {0};
        int rc = read_until_delim(rd, off, end, enc,
                                  "dicom: Pixel Data lacks its sequence delimiter", &e);
        if (rc != 0)
            return rc < 0 ? rc : 0;
        if (e.tag != TAG_ITEM)
            return fail(rd, -MEDSTORE_EFORMAT, "dicom: Pixel Data fragment is not an item",
                        e.hdr_off);
        if (e.len == LEN_UNDEFINED)
            return fail(rd, -MEDSTORE_EFORMAT, "dicom: Pixel Data fragment of undefined length",
                        e.hdr_off);
        rc = check_len(rd, &e, end);
        if (rc < 0)
            return rc;
        *off = e.val_off + e.len;
    }
}

/* Walks the items of an undefined-length sequence up to its delimiter. */
static int walk_sequence(struct dcm_rd *rd, size_t *off, size_t end, struct dcm_enc enc,
                         unsigned depth)
{
    MS_ASSERT(*off <= end);
    MS_ASSERT(end <= rd->len);
    if (depth >= MS_DICOM_DEPTH_MAX)
        return fail(rd, -MEDSTORE_ELIMIT, "dicom: sequences nested too deep", *off);
    for (;;) {
        struct dcm_elem e = {0};
        int rc = read_until_delim(rd, off, end, enc, "dicom: sequence lacks its delimiter", &e);
        if (rc != 0)
            return rc < 0 ? rc : 0;
        if (e.tag != TAG_ITEM)
            return fail(rd, -MEDSTORE_EFORMAT, "dicom: sequence holds something not an item",
                        e.hdr_off);
        *off = e.val_off;
        if (e.len == LEN_UNDEFINED) {
            rc = walk_dataset(rd, off, end, enc, depth + 1, true, false);
        } else {
            rc = check_len(rd, &e, end);
            *off = e.val_off + e.len; /* a defined-length item is jumped over whole */
        }
        if (rc < 0)
            return rc;
    }
}

/* An element of undefined length: a sequence, UN holding an implicit VR sequence, or
 * encapsulated Pixel Data. */
static int walk_undefined(struct dcm_rd *rd, const struct dcm_elem *e, size_t *off, size_t end,
                          struct dcm_enc enc, unsigned depth, bool top)
{
    MS_ASSERT(e->len == LEN_UNDEFINED);
    MS_ASSERT(*off == e->val_off);
    if (e->tag == TAG_PIXEL_DATA) {
        if (top && rd->ts_known && !rd->encapsulated)
            return fail(rd, -MEDSTORE_EFORMAT,
                        "dicom: encapsulated Pixel Data in a native transfer syntax", e->hdr_off);
        if (enc.explicit_vr && !vr_is(e->vr, "OB") && !vr_is(e->vr, "OW"))
            return fail(rd, -MEDSTORE_EFORMAT, "dicom: encapsulated Pixel Data is not OB or OW",
                        e->hdr_off);
        return walk_fragments(rd, off, end, enc);
    }
    if (!enc.explicit_vr || vr_is(e->vr, "SQ"))
        return walk_sequence(rd, off, end, enc, depth);
    if (vr_is(e->vr, "UN")) {
        /* PS3.5 6.2.2: UN of undefined length holds an implicit VR little endian sequence. */
        struct dcm_enc implicit = {.explicit_vr = false, .big_endian = false};
        return walk_sequence(rd, off, end, implicit, depth);
    }
    return fail(rd, -MEDSTORE_EFORMAT, "dicom: undefined length on a VR that cannot have it",
                e->hdr_off);
}

/* Remembers a wanted top-level attribute (first occurrence wins). */
static int capture(struct dcm_rd *rd, const struct dcm_elem *e, struct dcm_enc enc)
{
    MS_ASSERT(e->val_off <= rd->len);
    for (size_t i = 0; i < N_WANTED; i++) {
        if (wanted[i].tag != e->tag)
            continue;
        if (e->len == LEN_UNDEFINED)
            return fail(rd, -MEDSTORE_EFORMAT, "dicom: wanted attribute of undefined length",
                        e->hdr_off);
        if (enc.explicit_vr && !vr_is(e->vr, wanted[i].vr) && !vr_is(e->vr, "UN"))
            return fail(rd, -MEDSTORE_EFORMAT, "dicom: wanted attribute with an unexpected VR",
                        e->hdr_off);
        MS_ASSERT(e->val_off + e->len <= rd->len);
        if (rd->val[i].p == NULL) {
            rd->val[i].p = (const char *)rd->b + e->val_off;
            rd->val[i].len = e->len;
        }
        return 0;
    }
    return 0;
}

/* One element of a dataset, header already read; advances *off past it. */
static int walk_element(struct dcm_rd *rd, const struct dcm_elem *e, size_t *off, size_t end,
                        struct dcm_enc enc, unsigned depth, bool top)
{
    MS_ASSERT(e->hdr_off == *off);
    if ((e->tag >> 16) == 0xFFFE)
        return fail(rd, -MEDSTORE_EFORMAT, "dicom: item or delimiter where an element belongs",
                    e->hdr_off);
    /* The length is checked before anything looks at the value. */
    int rc = e->len == LEN_UNDEFINED ? 0 : check_len(rd, e, end);
    if (rc == 0 && top)
        rc = capture(rd, e, enc);
    if (rc < 0)
        return rc;
    *off = e->val_off;
    if (e->len == LEN_UNDEFINED)
        return walk_undefined(rd, e, off, end, enc, depth, top);
    if (top && e->tag == TAG_PIXEL_DATA && rd->encapsulated)
        return fail(rd, -MEDSTORE_EFORMAT,
                    "dicom: defined-length Pixel Data in an encapsulated transfer syntax",
                    e->hdr_off);
    *off = e->val_off + e->len;
    MS_ASSERT(*off <= end);
    return 0;
}

/* Walks the elements in [*off, end). In an undefined-length item (in_item) the walk ends
 * after the item delimiter; otherwise it must end exactly at end. */
static int walk_dataset(struct dcm_rd *rd, size_t *off, size_t end, struct dcm_enc enc,
                        unsigned depth, bool in_item, bool top)
{
    MS_ASSERT(*off <= end && end <= rd->len);
    MS_ASSERT(!(top && in_item));
    while (*off < end) {
        struct dcm_elem e = {0};
        int rc = read_elem(rd, *off, end, enc, &e);
        if (rc < 0)
            return rc;
        if (e.tag == TAG_ITEM_DELIM) {
            if (!in_item)
                return fail(rd, -MEDSTORE_EFORMAT, "dicom: item delimiter outside an item",
                            e.hdr_off);
            if (e.len != 0)
                return fail(rd, -MEDSTORE_EFORMAT, "dicom: item delimiter with a length",
                            e.hdr_off);
            *off = e.val_off;
            return 0;
        }
        rc = walk_element(rd, &e, off, end, enc, depth, top);
        if (rc < 0)
            return rc;
    }
    if (in_item)
        return fail(rd, short_code(rd, end), "dicom: item lacks its delimiter", *off);
    return 0;
}

/* Reads the File Meta group at *off (explicit VR LE; implicit accepted, as pydicom and
 * dcmtk do, when the first element carries no VR) and records the transfer syntax. */
static int read_file_meta(struct dcm_rd *rd, size_t *off)
{
    MS_ASSERT(*off <= rd->len);
    struct dcm_enc enc = {.explicit_vr = true, .big_endian = false};
    if (rd->len - *off >= 6 && !ms_dicom_is_vr(rd->b + *off + 4))
        enc.explicit_vr = false;
    while (rd->len - *off >= 4 && rd16(rd->b + *off, false) == 0x0002) {
        struct dcm_elem e = {0};
        int rc = read_elem(rd, *off, rd->len, enc, &e);
        if (rc < 0)
            return rc;
        if (e.len == LEN_UNDEFINED)
            return fail(rd, -MEDSTORE_EFORMAT, "dicom: File Meta element of undefined length",
                        e.hdr_off);
        rc = check_len(rd, &e, rd->len);
        if (rc < 0)
            return rc;
        if (e.tag == TAG_TRANSFER_SYNTAX && rd->ts.p == NULL) {
            rd->ts.p = (const char *)rd->b + e.val_off;
            rd->ts.len = e.len;
        }
        *off = e.val_off + e.len;
    }
    MS_ASSERT(*off <= rd->len);
    return 0;
}

/* Strips DICOM padding: trailing spaces and NULs, and leading spaces when lead is set. */
static struct ms_str trim(struct ms_str s, bool lead)
{
    while (s.len > 0 && (s.p[s.len - 1] == ' ' || s.p[s.len - 1] == '\0'))
        s.len--;
    while (lead && s.len > 0 && s.p[0] == ' ') {
        s.p++;
        s.len--;
    }
    return s;
}

/* Chooses the dataset encoding from the transfer syntax. *deflated is set for
 * 1.2.840.10008.1.2.1.99. Returns 0 or -MEDSTORE_EUNSUPPORTED. */
static int ts_encoding(struct dcm_rd *rd, struct dcm_enc *enc, bool *deflated)
{
    MS_ASSERT(rd->ts.p != NULL);
    struct ms_str ts = trim(rd->ts, true);
    *deflated = false;
    enc->big_endian = false;
    enc->explicit_vr = true;
    rd->ts_known = true;
    rd->encapsulated = false;
    if (ms_str_eq(ts, TS_PREFIX)) {
        enc->explicit_vr = false;
    } else if (ms_str_eq(ts, TS_PREFIX ".1")) {
        /* explicit VR little endian */
    } else if (ms_str_eq(ts, TS_PREFIX ".2")) {
        enc->big_endian = true;
    } else if (ms_str_eq(ts, TS_PREFIX ".1.99")) {
        *deflated = true;
    } else if (ts.len > sizeof(TS_PREFIX) && memcmp(ts.p, TS_PREFIX ".", sizeof(TS_PREFIX)) == 0) {
        rd->encapsulated = true;
    } else {
        rd->ts_known = false;
        return fail(rd, -MEDSTORE_EUNSUPPORTED, "dicom: unknown transfer syntax", 0);
    }
    MS_ASSERT(!(rd->encapsulated && enc->big_endian));
    return 0;
}

/* Doubles the inflate buffer up to the limit. Returns 0, -ENOMEM or -MEDSTORE_ELIMIT. */
static int inflate_grow(struct dcm_rd *rd, uint8_t **buf, size_t *cap, size_t used)
{
    MS_ASSERT(used == *cap);
    if (*cap >= MS_DICOM_INFLATE_MAX_BYTES)
        return fail(rd, -MEDSTORE_ELIMIT, "dicom: deflated dataset inflates past the limit", 0);
    size_t ncap = *cap * 2 > MS_DICOM_INFLATE_MAX_BYTES ? MS_DICOM_INFLATE_MAX_BYTES : *cap * 2;
    uint8_t *n = malloc(ncap);
    if (n == NULL)
        return fail(rd, -ENOMEM, "out of memory", 0);
    memcpy(n, *buf, used);
    explicit_bzero(*buf, *cap);
    free(*buf);
    *buf = n;
    *cap = ncap;
    MS_ASSERT(*cap > used);
    return 0;
}

/* Inflates the raw deflate stream in[0, in_len) into a malloc'd buffer. */
static int inflate_dataset(struct dcm_rd *rd, const uint8_t *in, size_t in_len, uint8_t **out,
                           size_t *out_len)
{
    MS_ASSERT(in != NULL || in_len == 0);
    MS_ASSERT(out != NULL && out_len != NULL);
    z_stream zs;
    memset(&zs, 0, sizeof(zs));
    if (inflateInit2(&zs, -MAX_WBITS) != Z_OK)
        return fail(rd, -ENOMEM, "out of memory", 0);
    size_t cap = 64u << 10, used = 0, in_used = 0;
    uint8_t *buf = malloc(cap);
    int rc = buf == NULL ? fail(rd, -ENOMEM, "out of memory", 0) : 0;
    while (rc == 0) {
        if (used == cap && (rc = inflate_grow(rd, &buf, &cap, used)) < 0)
            break;
        size_t in_chunk = in_len - in_used > 1u << 30 ? 1u << 30 : in_len - in_used;
        zs.next_in = (Bytef *)(uintptr_t)(in + in_used);
        zs.avail_in = (uInt)in_chunk;
        zs.next_out = buf + used;
        zs.avail_out = (uInt)(cap - used);
        int z = inflate(&zs, Z_NO_FLUSH);
        in_used += in_chunk - zs.avail_in;
        used = cap - zs.avail_out;
        if (z == Z_STREAM_END)
            break;
        if (z == Z_MEM_ERROR)
            rc = fail(rd, -ENOMEM, "out of memory", 0);
        else if (z == Z_DATA_ERROR || z == Z_NEED_DICT || z == Z_STREAM_ERROR)
            rc = fail(rd, -MEDSTORE_EFORMAT, "dicom: deflated dataset is corrupt", 0);
        else if (in_used == in_len && used < cap)
            rc = fail(rd, -MEDSTORE_ETRUNCATED, "dicom: deflated dataset ends early", in_len);
    }
    inflateEnd(&zs);
    if (rc < 0) {
        if (buf != NULL)
            explicit_bzero(buf, cap);
        free(buf);
        return rc;
    }
    MS_ASSERT(used <= MS_DICOM_INFLATE_MAX_BYTES);
    *out = buf;
    *out_len = used;
    return 0;
}

/* Copies the captured values into the meta, converting text in ISO_IR 100. */
static int emit(struct dcm_rd *rd)
{
    struct ms_meta *m = rd->m;
    MS_ASSERT(m != NULL && m->n_kv == 0);
    struct ms_str cs = trim(rd->val[0], true);
    MS_ASSERT(wanted[0].key == MS_META_CHARSET);
    bool latin1 = ms_str_eq(cs, "ISO_IR 100") || ms_str_eq(cs, "ISO 2022 IR 100");
    int rc = 0;
    for (size_t i = 0; i < N_WANTED && rc == 0; i++) {
        if (rd->val[i].p == NULL)
            continue;
        bool text = strcmp(wanted[i].vr, "PN") == 0 || strcmp(wanted[i].vr, "LO") == 0;
        struct ms_str v = trim(rd->val[i], !text);
        if (text && latin1)
            rc = ms_meta_set_latin1(m, wanted[i].key, v.p, v.len);
        else
            rc = ms_meta_set(m, wanted[i].key, v.p, v.len);
    }
    if (rc == 0 && rd->ts.p != NULL) {
        struct ms_str ts = trim(rd->ts, true);
        rc = ms_meta_set(m, MS_META_TRANSFER_SYNTAX, ts.p, ts.len);
    }
    const struct ms_meta_str *id = ms_meta_get(m, MS_META_PATIENT_ID);
    const struct ms_meta_str *issuer = ms_meta_get(m, MS_META_ISSUER);
    if (rc == 0 && id != NULL)
        rc = ms_meta_set_patient_key(m, issuer ? issuer->ptr : "", issuer ? issuer->len : 0,
                                     id->ptr, id->len);
    return rc;
}

/* Finds where the File Meta or dataset starts: after preamble + "DICM", after "DICM", or 0. */
static size_t dataset_start(const uint8_t *b, size_t len)
{
    if (len >= 132 && memcmp(b + 128, "DICM", 4) == 0)
        return 132;
    if (len >= 4 && memcmp(b, "DICM", 4) == 0)
        return 4;
    return 0;
}

int ms_dicom_extract(const uint8_t *b, size_t len, struct ms_meta *m)
{
    MS_ASSERT(m != NULL);
    MS_ASSERT(b != NULL || len == 0);
    struct dcm_rd rd = {.b = b, .len = len, .m = m};
    size_t off = dataset_start(b, len);
    int rc = read_file_meta(&rd, &off);
    if (rc < 0)
        return rc;
    struct dcm_enc enc = {.explicit_vr = true, .big_endian = false};
    bool deflated = false;
    if (rd.ts.p != NULL && trim(rd.ts, true).len > 0) {
        rc = ts_encoding(&rd, &enc, &deflated);
        if (rc < 0)
            return rc;
    } else {
        /* No transfer syntax: explicit VR when the first element carries a VR, as pydicom. */
        enc.explicit_vr = len - off >= 6 && ms_dicom_is_vr(b + off + 4);
    }
    uint8_t *inflated = NULL;
    size_t inflated_len = 0;
    if (deflated) {
        rc = inflate_dataset(&rd, b + off, len - off, &inflated, &inflated_len);
        if (rc < 0)
            return rc;
        rd.b = inflated;
        rd.len = inflated_len;
        off = 0;
    }
    rc = walk_dataset(&rd, &off, rd.len, enc, 0, false, true);
    if (rc == 0)
        rc = emit(&rd);
    if (inflated != NULL) {
        explicit_bzero(inflated, inflated_len);
        free(inflated);
    }
    return rc;
}
