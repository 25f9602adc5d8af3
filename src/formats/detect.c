/*
 * detect.c - type detection from signatures, and ms_formats_extract(), which dispatches to
 * the parser of the detected type.
 *
 * Detection order (first match wins; docs/formats/metadata.md explains each rule):
 *   1. DICOM Part 10: "DICM" at offset 128 (after the preamble) or at offset 0;
 *   2. PDF: "%PDF-" at offset 0;
 *   3. MP4 / ISO BMFF: a box of type "ftyp" at offset 0;
 *   4. bare DICOM dataset: a plausible group 0002 or 0008 element at offset 0;
 *   then, after an optional UTF-8 byte order mark:
 *   5. HL7 v2: "MSH" followed by the field separator;
 *   after optional whitespace:
 *   6. XML: root element "ClinicalDocument" -> cda; root in the namespace
 *      "http://hl7.org/fhir" -> fhir-xml; any other XML -> other;
 *   7. '{': fhir-ndjson when the first line is one complete JSON object and another
 *      non-empty line follows, else fhir-json;
 *   8. '/' (a comment, which JSON forbids) with "resourceType" in the first 4 KiB:
 *      fhir-json, so extraction reports the syntax error rather than "other";
 *   9. anything else: other.
 * Detection reads at most the first 64 KiB, except the NDJSON rule which scans the first
 * line. It never allocates and never fails.
 */
#include "formats/formats.h"
#include "formats/formats_int.h"

#include <errno.h>
#include <string.h>

#include "common/ms_assert.h"

#define DETECT_SCAN_BYTES (64u << 10)
#define DETECT_JSON_HINT_BYTES 4096u

size_t ms_bom_len(const uint8_t *b, size_t len)
{
    MS_ASSERT(b != NULL || len == 0);
    if (len >= 3 && b[0] == 0xEF && b[1] == 0xBB && b[2] == 0xBF)
        return 3;
    return 0;
}

static bool is_space(uint8_t c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* True for an HL7 v2 field separator: printable, not alphanumeric, not a space. */
static bool is_hl7_sep(uint8_t c)
{
    return c > 0x20 && c < 0x7F && !(c >= '0' && c <= '9') && !(c >= 'A' && c <= 'Z') &&
           !(c >= 'a' && c <= 'z');
}

/* Offset just past the first occurrence of pat in b[from, end), or 0 when absent. */
static size_t skip_past(const uint8_t *b, size_t from, size_t end, const char *pat)
{
    size_t n = strlen(pat);
    if (end < from || end - from < n)
        return 0;
    const uint8_t *hit = memmem(b + from, end - from, pat, n);
    return hit == NULL ? 0 : (size_t)(hit - b) + n;
}

/* Skips a DOCTYPE declaration starting at b[i] ("<!DOCTYPE"), including an internal
 * subset in brackets. Returns the offset after it or 0 when it does not end in range. */
static size_t skip_doctype(const uint8_t *b, size_t i, size_t end)
{
    MS_ASSERT(b != NULL);
    MS_ASSERT(i <= end);
    int bracket = 0;
    for (; i < end; i++) {
        if (b[i] == '[')
            bracket++;
        else if (b[i] == ']' && bracket > 0)
            bracket--;
        else if (b[i] == '>' && bracket == 0)
            return i + 1;
    }
    return 0;
}

/* Classifies the root start tag at b[i] ('<' + name ...). */
static enum ms_fmt_type xml_root_type(const uint8_t *b, size_t i, size_t end)
{
    MS_ASSERT(i < end);
    MS_ASSERT(b[i] == '<');
    size_t name = i + 1, j = name, local = name;
    while (j < end && !is_space(b[j]) && b[j] != '>' && b[j] != '/') {
        if (b[j] == ':')
            local = j + 1;
        j++;
    }
    static const char cda_root[] = "ClinicalDocument";
    if (j - local == sizeof(cda_root) - 1 && memcmp(b + local, cda_root, j - local) == 0)
        return MS_FMT_CDA;
    size_t tag_end = skip_past(b, j, end, ">");
    if (tag_end == 0)
        return MS_FMT_OTHER;
    if (skip_past(b, j, tag_end, "\"http://hl7.org/fhir\"") != 0 ||
        skip_past(b, j, tag_end, "'http://hl7.org/fhir'") != 0)
        return MS_FMT_FHIR_XML;
    return MS_FMT_OTHER;
}

/* XML prolog walk: declarations, comments, processing instructions, DOCTYPE, then root. */
static enum ms_fmt_type detect_xml(const uint8_t *b, size_t i, size_t len)
{
    MS_ASSERT(i < len);
    MS_ASSERT(b[i] == '<');
    size_t end = len < DETECT_SCAN_BYTES ? len : DETECT_SCAN_BYTES;
    while (i < end) {
        while (i < end && is_space(b[i]))
            i++;
        if (i >= end || b[i] != '<')
            return MS_FMT_OTHER;
        if (end - i >= 2 && b[i + 1] == '?')
            i = skip_past(b, i + 2, end, "?>");
        else if (end - i >= 4 && memcmp(b + i, "<!--", 4) == 0)
            i = skip_past(b, i + 4, end, "-->");
        else if (end - i >= 2 && b[i + 1] == '!')
            i = skip_doctype(b, i + 2, end);
        else
            return xml_root_type(b, i, end);
        if (i == 0)
            return MS_FMT_OTHER;
    }
    return MS_FMT_OTHER;
}

/* True when the line starting at b[i] (a '{') is one complete JSON object followed only by
 * whitespace, and a later line holds something: the shape of NDJSON. */
static bool is_ndjson(const uint8_t *b, size_t i, size_t len)
{
    MS_ASSERT(i < len);
    MS_ASSERT(b[i] == '{');
    unsigned depth = 0;
    bool in_str = false, esc = false, closed = false;
    for (; i < len && b[i] != '\n'; i++) {
        uint8_t c = b[i];
        if (closed) {
            if (!is_space(c))
                return false;
        } else if (in_str) {
            if (esc)
                esc = false;
            else if (c == '\\')
                esc = true;
            else if (c == '"')
                in_str = false;
        } else if (c == '"') {
            in_str = true;
        } else if (c == '{' || c == '[') {
            depth++;
        } else if (c == '}' || c == ']') {
            if (depth == 0)
                return false;
            if (--depth == 0)
                closed = true;
        }
    }
    if (!closed)
        return false;
    for (; i < len; i++)
        if (!is_space(b[i]))
            return true;
    return false;
}

enum ms_fmt_type ms_formats_detect(const uint8_t *b, size_t len)
{
    if (b == NULL || len == 0)
        return MS_FMT_OTHER;
    MS_ASSERT(b != NULL && len > 0);
    if ((len >= 132 && memcmp(b + 128, "DICM", 4) == 0) || (len >= 4 && memcmp(b, "DICM", 4) == 0))
        return MS_FMT_DICOM;
    if (len >= 5 && memcmp(b, "%PDF-", 5) == 0)
        return MS_FMT_PDF;
    if (len >= 8 && memcmp(b + 4, "ftyp", 4) == 0)
        return MS_FMT_MP4;
    if (ms_dicom_is_signature(b, len))
        return MS_FMT_DICOM;
    size_t i = ms_bom_len(b, len);
    MS_ASSERT(i <= len);
    if (len - i >= 4 && memcmp(b + i, "MSH", 3) == 0 && is_hl7_sep(b[i + 3]))
        return MS_FMT_HL7V2;
    while (i < len && i < DETECT_SCAN_BYTES && is_space(b[i]))
        i++;
    if (i >= len)
        return MS_FMT_OTHER;
    if (b[i] == '<')
        return detect_xml(b, i, len);
    if (b[i] == '{')
        return is_ndjson(b, i, len) ? MS_FMT_FHIR_NDJSON : MS_FMT_FHIR_JSON;
    if (b[i] == '/') {
        size_t end = len < DETECT_JSON_HINT_BYTES ? len : DETECT_JSON_HINT_BYTES;
        if (skip_past(b, i, end, "\"resourceType\"") != 0)
            return MS_FMT_FHIR_JSON;
    }
    return MS_FMT_OTHER;
}

/* Runs the parser of type t. */
static int extract_typed(enum ms_fmt_type t, const uint8_t *b, size_t len, struct ms_meta *m)
{
    MS_ASSERT(m != NULL && m->detected == t);
    MS_ASSERT(b != NULL || len == 0);
    switch (t) {
    case MS_FMT_DICOM:
        return ms_dicom_extract(b, len, m);
    case MS_FMT_FHIR_JSON:
        return ms_fhir_json_extract(b, len, m);
    case MS_FMT_FHIR_NDJSON:
        return ms_fhir_ndjson_extract(b, len, m);
    case MS_FMT_FHIR_XML:
        return ms_fhir_xml_extract(b, len, m);
    case MS_FMT_CDA:
        return ms_cda_extract(b, len, m);
    case MS_FMT_HL7V2:
        return ms_hl7v2_extract(b, len, m);
    case MS_FMT_PDF:
        return ms_pdf_extract(b, len, m);
    case MS_FMT_MP4:
        return ms_mp4_extract(b, len, m);
    case MS_FMT_OTHER:
    case MS_FMT_COUNT:
        break;
    }
    return 0;
}

int ms_formats_extract(const uint8_t *bytes, size_t len, struct ms_meta *meta)
{
    MS_ASSERT(meta != NULL);
    MS_ASSERT(bytes != NULL || len == 0);
    ms_meta_init(meta);
    meta->size_bytes = len;
    enum ms_fmt_type t = ms_formats_detect(bytes, len);
    meta->detected = t;
    meta->type = t;
    int rc = extract_typed(t, bytes, len, meta);
    if (rc < 0) {
        MS_ASSERT(rc == -MEDSTORE_EFORMAT || rc == -MEDSTORE_ETRUNCATED ||
                  rc == -MEDSTORE_EUNSUPPORTED || rc == -MEDSTORE_ELIMIT || rc == -ENOMEM);
        ms_meta_clear_fields(meta);
        meta->type = MS_FMT_OTHER;
        if (meta->err_detail == NULL)
            meta->err_detail = medstore_strerror(rc);
    } else {
        rc = 0;
        meta->err_detail = NULL;
        meta->err_offset = UINT64_MAX;
    }
    ms_meta_build_kv(meta);
    return rc;
}
