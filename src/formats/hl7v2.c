/*
 * hl7v2.c - a small HL7 v2 (ER7, "pipe") reader: enough to index a message.
 *
 * Accepted shape: an optional UTF-8 byte order mark, then "MSH", the field separator (any
 * printable non-alphanumeric byte) and MSH-2, the encoding characters (4 or 5 bytes:
 * component, repetition, escape, subcomponent[, truncation]; none may be the field separator,
 * a control byte or alphanumeric, and component and repetition must differ). Segments end
 * with CR (the standard), LF or CRLF; empty segments are skipped.
 *
 * Extracted: MSH-7 first component (messageDateTime), MSH-9 components 1 and 2 joined by
 * '^' (messageType, e.g. "ADT^A01"), MSH-10 (messageControlId), and from the first PID
 * segment PID-3's first repetition: component 1 (PatientID) and component 4, the assigning
 * authority HD, whose universal ID (subcomponent 2) is used when present, else its namespace
 * ID (subcomponent 1) (IssuerOfPatientID). Values are set only when non-empty. The escape
 * sequences \F\ \S\ \T\ \R\ \E\ are decoded when the escape character differs from the
 * other delimiters; other escape sequences are kept verbatim.
 *
 * Refused with -MEDSTORE_EFORMAT: no MSH header, bad encoding characters, an MSH without a
 * message type (MSH-9 is required by every HL7 v2 version). A value over 1 KiB gives
 * -MEDSTORE_ELIMIT. The reader never looks past the end of the input; it keeps no state
 * beyond the call.
 */
#include "formats/formats.h"
#include "formats/formats_int.h"

#include <errno.h>
#include <string.h>

#include "common/ms_assert.h"

/* The delimiters of one message. */
struct hl7_delims {
    char field, comp, rep, esc, sub;
    bool decode_escapes;
};

static bool is_delim_char(uint8_t c)
{
    return c > 0x20 && c < 0x7F && !(c >= '0' && c <= '9') && !(c >= 'A' && c <= 'Z') &&
           !(c >= 'a' && c <= 'z');
}

/* Parses "MSH" + field separator + MSH-2 at b[off]. */
static int read_delims(const uint8_t *b, size_t len, size_t off, struct hl7_delims *d,
                       struct ms_meta *m)
{
    MS_ASSERT(off <= len);
    if (len - off < 4 || memcmp(b + off, "MSH", 3) != 0 || !is_delim_char(b[off + 3]))
        return ms_meta_fail(m, -MEDSTORE_EFORMAT, "hl7v2: message does not start with MSH",
                            off);
    d->field = (char)b[off + 3];
    size_t i = off + 4, n = 0;
    char enc[5];
    while (i < len && b[i] != (uint8_t)d->field && b[i] != '\r' && b[i] != '\n') {
        if (n == sizeof(enc) || !is_delim_char(b[i]))
            return ms_meta_fail(m, -MEDSTORE_EFORMAT, "hl7v2: bad encoding characters (MSH-2)",
                                i);
        enc[n++] = (char)b[i++];
    }
    if (n < 4 || enc[0] == enc[1])
        return ms_meta_fail(m, -MEDSTORE_EFORMAT, "hl7v2: bad encoding characters (MSH-2)",
                            off + 4);
    d->comp = enc[0];
    d->rep = enc[1];
    d->esc = enc[2];
    d->sub = enc[3];
    d->decode_escapes = d->esc != d->comp && d->esc != d->rep && d->esc != d->sub;
    MS_ASSERT(d->comp != d->field && d->rep != d->field);
    return 0;
}

/* The n-th (0-based) piece of s split at sep; {NULL, 0} when there are fewer pieces. */
static struct ms_str piece(struct ms_str s, char sep, unsigned n)
{
    struct ms_str none = {NULL, 0};
    if (s.p == NULL)
        return none;
    MS_ASSERT(sep != '\0');
    size_t start = 0;
    for (size_t i = 0; i <= s.len; i++) {
        if (i < s.len && s.p[i] != sep)
            continue;
        if (n == 0) {
            struct ms_str r = {s.p + start, i - start};
            MS_ASSERT(start <= i && i <= s.len);
            return r;
        }
        n--;
        start = i + 1;
    }
    return none;
}

/* Decodes the delimiter escapes of raw into out (cap bytes); returns the length or -1 when
 * it does not fit. */
static long unescape(const struct hl7_delims *d, struct ms_str raw, char *out, size_t cap)
{
    MS_ASSERT(d != NULL && out != NULL);
    MS_ASSERT(raw.p != NULL || raw.len == 0);
    size_t o = 0;
    for (size_t i = 0; i < raw.len; i++) {
        char c = raw.p[i];
        if (d->decode_escapes && c == d->esc && raw.len - i >= 3 && raw.p[i + 2] == d->esc) {
            const char *map = strchr("FSTRE", raw.p[i + 1]);
            if (map != NULL && raw.p[i + 1] != '\0') {
                const char decoded[] = {d->field, d->comp, d->sub, d->rep, d->esc};
                c = decoded[map - "FSTRE"];
                i += 2;
            }
        }
        if (o == cap)
            return -1;
        out[o++] = c;
    }
    return (long)o;
}

/* Sets key to the unescaped raw value when it is non-empty. */
static int set_value(struct ms_meta *m, const struct hl7_delims *d, enum ms_meta_key key,
                     struct ms_str raw)
{
    char buf[MS_META_VALUE_MAX_BYTES];
    if (raw.p == NULL || raw.len == 0)
        return 0;
    long n = unescape(d, raw, buf, sizeof(buf));
    if (n < 0)
        return ms_meta_fail(m, -MEDSTORE_ELIMIT, "value longer than the 1024-byte limit",
                            UINT64_MAX);
    MS_ASSERT((size_t)n <= raw.len);
    return n == 0 ? 0 : ms_meta_set(m, key, buf, (size_t)n);
}

/* MSH-7, MSH-9, MSH-10. fields = the MSH segment; MSH-n is piece n - 1. */
static int read_msh(struct ms_meta *m, const struct hl7_delims *d, struct ms_str seg)
{
    MS_ASSERT(m != NULL && d != NULL);
    MS_ASSERT(seg.len >= 4 && memcmp(seg.p, "MSH", 3) == 0);
    struct ms_str msh9 = piece(seg, d->field, 8);
    struct ms_str type = piece(msh9, d->comp, 0), event = piece(msh9, d->comp, 1);
    if (type.p == NULL || type.len == 0)
        return ms_meta_fail(m, -MEDSTORE_EFORMAT, "hl7v2: MSH-9 message type missing",
                            (uint64_t)0);
    char buf[MS_META_VALUE_MAX_BYTES];
    long n1 = unescape(d, type, buf, sizeof(buf));
    long n2 = -1;
    if (n1 >= 0 && event.p != NULL && event.len > 0 && (size_t)n1 < sizeof(buf)) {
        buf[n1] = '^';
        n2 = unescape(d, event, buf + n1 + 1, sizeof(buf) - (size_t)n1 - 1);
        if (n2 < 0)
            n1 = -1;
    }
    if (n1 < 0)
        return ms_meta_fail(m, -MEDSTORE_ELIMIT, "value longer than the 1024-byte limit",
                            UINT64_MAX);
    size_t total = (size_t)n1 + (n2 >= 0 ? (size_t)n2 + 1 : 0);
    int rc = ms_meta_set(m, MS_META_MESSAGE_TYPE, buf, total);
    if (rc == 0)
        rc = set_value(m, d, MS_META_MESSAGE_TIME, piece(piece(seg, d->field, 6), d->comp, 0));
    if (rc == 0)
        rc = set_value(m, d, MS_META_CONTROL_ID, piece(seg, d->field, 9));
    return rc;
}

/* PID-3 first repetition: id and assigning authority, and the patient key. */
static int read_pid(struct ms_meta *m, const struct hl7_delims *d, struct ms_str seg)
{
    MS_ASSERT(m != NULL && d != NULL);
    MS_ASSERT(seg.len >= 3 && memcmp(seg.p, "PID", 3) == 0);
    struct ms_str cx = piece(piece(seg, d->field, 3), d->rep, 0);
    struct ms_str hd = piece(cx, d->comp, 3);
    struct ms_str issuer = piece(hd, d->sub, 1);
    if (issuer.p == NULL || issuer.len == 0)
        issuer = piece(hd, d->sub, 0);
    int rc = set_value(m, d, MS_META_PATIENT_ID, piece(cx, d->comp, 0));
    if (rc == 0)
        rc = set_value(m, d, MS_META_ISSUER, issuer);
    const struct ms_meta_str *id = ms_meta_get(m, MS_META_PATIENT_ID);
    const struct ms_meta_str *is = ms_meta_get(m, MS_META_ISSUER);
    if (rc == 0 && id != NULL)
        rc = ms_meta_set_patient_key(m, is ? is->ptr : "", is ? is->len : 0, id->ptr, id->len);
    return rc;
}

int ms_hl7v2_extract(const uint8_t *b, size_t len, struct ms_meta *m)
{
    MS_ASSERT(m != NULL);
    MS_ASSERT(b != NULL || len == 0);
    size_t off = ms_bom_len(b, len);
    struct hl7_delims d;
    int rc = read_delims(b, len, off, &d, m);
    if (rc < 0)
        return rc;
    bool seen_pid = false;
    for (size_t i = off; i < len && rc == 0;) {
        size_t j = i;
        while (j < len && b[j] != '\r' && b[j] != '\n')
            j++;
        struct ms_str seg = {(const char *)b + i, j - i};
        if (i == off) {
            rc = read_msh(m, &d, seg);
        } else if (!seen_pid && seg.len >= 3 && memcmp(seg.p, "PID", 3) == 0 &&
                   (seg.len == 3 || seg.p[3] == d.field)) {
            seen_pid = true;
            rc = read_pid(m, &d, seg);
        }
        i = j + 1;
    }
    return rc;
}
