/*
 * meta.c - struct ms_meta: the value arena, setters, the canonical patient key, the kv list
 * and JSON string escaping.
 *
 * The arena is a list of malloc'd blocks; a value is copied once into the newest block that
 * has room, so pointers handed out stay valid until ms_meta_fini. Blocks are wiped before they
 * are freed, because values are patient data (F-DEL-3). Setting a key twice leaves the old
 * bytes in the arena (wiped at the end); parsers set each key once or twice at most.
 *
 * Invariants: field[k].ptr is NULL or points into a block of this meta's arena (or at the
 * static empty string); field[k].len <= MS_META_VALUE_MAX_BYTES; kv[] lists exactly the
 * present fields in key order after ms_meta_build_kv.
 */
#include "formats/formats.h"
#include "formats/formats_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/ms_assert.h"

#define META_BLOCK_BYTES 4096u

struct ms_meta_block {
    struct ms_meta_block *next;
    size_t used, cap;
    char data[];
};

static const char *const type_names[MS_FMT_COUNT] = {
    [MS_FMT_OTHER] = "other",
    [MS_FMT_DICOM] = "dicom",
    [MS_FMT_FHIR_JSON] = "fhir-json",
    [MS_FMT_FHIR_NDJSON] = "fhir-ndjson",
    [MS_FMT_FHIR_XML] = "fhir-xml",
    [MS_FMT_CDA] = "cda",
    [MS_FMT_HL7V2] = "hl7v2",
    [MS_FMT_PDF] = "pdf",
    [MS_FMT_MP4] = "mp4",
};

static const char *const key_names[MS_META_KEY_COUNT] = {
    [MS_META_PATIENT_KEY] = "patientKey",
    [MS_META_PATIENT_ID] = "PatientID",
    [MS_META_ISSUER] = "IssuerOfPatientID",
    [MS_META_PATIENT_NAME] = "PatientName",
    [MS_META_STUDY_UID] = "StudyInstanceUID",
    [MS_META_SERIES_UID] = "SeriesInstanceUID",
    [MS_META_SOP_INSTANCE_UID] = "SOPInstanceUID",
    [MS_META_SOP_CLASS_UID] = "SOPClassUID",
    [MS_META_MODALITY] = "Modality",
    [MS_META_STUDY_DATE] = "StudyDate",
    [MS_META_TRANSFER_SYNTAX] = "TransferSyntaxUID",
    [MS_META_NUMBER_OF_FRAMES] = "NumberOfFrames",
    [MS_META_CHARSET] = "SpecificCharacterSet",
    [MS_META_RESOURCE_TYPE] = "resourceType",
    [MS_META_RESOURCE_ID] = "id",
    [MS_META_PATIENT_REF] = "patientReference",
    [MS_META_DATE] = "date",
    [MS_META_ENTRY_COUNT] = "entryCount",
    [MS_META_MESSAGE_TYPE] = "messageType",
    [MS_META_CONTROL_ID] = "messageControlId",
    [MS_META_MESSAGE_TIME] = "messageDateTime",
    [MS_META_DOC_CODE] = "documentCode",
    [MS_META_EFFECTIVE_TIME] = "effectiveTime",
    [MS_META_PDF_VERSION] = "pdfVersion",
    [MS_META_MAJOR_BRAND] = "majorBrand",
    [MS_META_DURATION_MS] = "durationMs",
};

_Static_assert(MS_ARRAY_LEN(type_names) == MS_FMT_COUNT, "a name for every type");
_Static_assert(MS_ARRAY_LEN(key_names) == MS_META_KEY_COUNT, "a name for every key");
_Static_assert(MS_META_VALUE_MAX_BYTES * 2 <= META_BLOCK_BYTES,
               "a Latin-1 value converted to UTF-8 fits one block");

/* Present-and-empty values point here, never into freed memory. */
static const char empty_value[1] = "";

const char *ms_formats_type_name(enum ms_fmt_type type)
{
    if ((unsigned)type >= MS_FMT_COUNT)
        return "other";
    return type_names[type];
}

const char *ms_meta_key_name(enum ms_meta_key key)
{
    if ((unsigned)key >= MS_META_KEY_COUNT)
        return NULL;
    return key_names[key];
}

int ms_meta_key_from_name(const char *name, size_t len)
{
    MS_ASSERT(name != NULL || len == 0);
    for (unsigned k = 0; k < MS_META_KEY_COUNT; k++) {
        MS_DASSERT(key_names[k] != NULL);
        if (strlen(key_names[k]) == len && memcmp(key_names[k], name, len) == 0)
            return (int)k;
    }
    return -ENOENT;
}

void ms_meta_init(struct ms_meta *meta)
{
    MS_ASSERT(meta != NULL);
    memset(meta, 0, sizeof(*meta));
    meta->type = MS_FMT_OTHER;
    meta->detected = MS_FMT_OTHER;
    meta->err_offset = UINT64_MAX;
    MS_ASSERT(meta->arena == NULL && meta->n_kv == 0);
}

static void arena_free(struct ms_meta_block *b)
{
    while (b != NULL) {
        struct ms_meta_block *next = b->next;
        explicit_bzero(b->data, b->cap);
        free(b);
        b = next;
    }
}

void ms_meta_fini(struct ms_meta *meta)
{
    if (meta == NULL)
        return;
    arena_free(meta->arena);
    memset(meta, 0, sizeof(*meta));
    meta->err_offset = UINT64_MAX;
    MS_ASSERT(meta->arena == NULL);
}

void ms_meta_clear_fields(struct ms_meta *m)
{
    MS_ASSERT(m != NULL);
    arena_free(m->arena);
    m->arena = NULL;
    memset(m->field, 0, sizeof(m->field));
    memset(m->kv, 0, sizeof(m->kv));
    m->n_kv = 0;
    MS_ASSERT(m->field[MS_META_PATIENT_KEY].ptr == NULL);
}

/* Returns len bytes of arena storage, or NULL on allocation failure. */
static char *arena_alloc(struct ms_meta *m, size_t len)
{
    MS_ASSERT(len <= META_BLOCK_BYTES);
    struct ms_meta_block *b = m->arena;
    if (b == NULL || b->cap - b->used < len) {
        b = malloc(sizeof(*b) + META_BLOCK_BYTES);
        if (b == NULL)
            return NULL;
        b->next = m->arena;
        b->used = 0;
        b->cap = META_BLOCK_BYTES;
        m->arena = b;
    }
    char *p = b->data + b->used;
    b->used += len;
    MS_ASSERT(b->used <= b->cap);
    return p;
}

int ms_meta_set(struct ms_meta *m, enum ms_meta_key key, const void *p, size_t len)
{
    MS_ASSERT(m != NULL);
    MS_ASSERT((unsigned)key < MS_META_KEY_COUNT);
    MS_ASSERT(p != NULL || len == 0);
    if (len > MS_META_VALUE_MAX_BYTES)
        return ms_meta_fail(m, -MEDSTORE_ELIMIT, "value longer than the 1024-byte limit",
                            UINT64_MAX);
    if (len == 0) {
        m->field[key].ptr = empty_value;
        m->field[key].len = 0;
        return 0;
    }
    char *dst = arena_alloc(m, len);
    if (dst == NULL)
        return ms_meta_fail(m, -ENOMEM, "out of memory", UINT64_MAX);
    memcpy(dst, p, len);
    m->field[key].ptr = dst;
    m->field[key].len = len;
    return 0;
}

int ms_meta_set_latin1(struct ms_meta *m, enum ms_meta_key key, const void *p, size_t len)
{
    MS_ASSERT(m != NULL && (unsigned)key < MS_META_KEY_COUNT);
    MS_ASSERT(p != NULL || len == 0);
    const uint8_t *s = p;
    size_t out_len = 0;
    for (size_t i = 0; i < len; i++)
        out_len += s[i] < 0x80 ? 1 : 2;
    if (out_len == len)
        return ms_meta_set(m, key, p, len);
    if (out_len > MS_META_VALUE_MAX_BYTES)
        return ms_meta_fail(m, -MEDSTORE_ELIMIT, "value longer than the 1024-byte limit",
                            UINT64_MAX);
    char *dst = arena_alloc(m, out_len);
    if (dst == NULL)
        return ms_meta_fail(m, -ENOMEM, "out of memory", UINT64_MAX);
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < 0x80) {
            dst[o++] = (char)s[i];
        } else {
            dst[o++] = (char)(0xC0 | (s[i] >> 6));
            dst[o++] = (char)(0x80 | (s[i] & 0x3F));
        }
    }
    MS_ASSERT(o == out_len);
    m->field[key].ptr = dst;
    m->field[key].len = out_len;
    return 0;
}

int ms_meta_set_u64(struct ms_meta *m, enum ms_meta_key key, uint64_t v)
{
    char buf[24];
    int n = snprintf(buf, sizeof(buf), "%llu", (unsigned long long)v);
    MS_ASSERT(n > 0 && (size_t)n < sizeof(buf));
    return ms_meta_set(m, key, buf, (size_t)n);
}

/* Appends src escaped ('\' -> "\\", '|' -> "\|") at dst[*o]; dst has room (2x). */
static void key_part_append(char *dst, size_t *o, const char *src, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (src[i] == '\\' || src[i] == '|')
            dst[(*o)++] = '\\';
        dst[(*o)++] = src[i];
    }
}

int ms_meta_set_patient_key(struct ms_meta *m, const char *issuer, size_t issuer_len,
                            const char *id, size_t id_len)
{
    MS_ASSERT(m != NULL);
    MS_ASSERT(issuer != NULL || issuer_len == 0);
    if (id == NULL || id_len == 0)
        return 0;
    static const char oid_prefix[] = "urn:oid:";
    const size_t oid_prefix_len = sizeof(oid_prefix) - 1;
    if (issuer_len > oid_prefix_len && memcmp(issuer, oid_prefix, oid_prefix_len) == 0) {
        issuer += oid_prefix_len;
        issuer_len -= oid_prefix_len;
    }
    if (issuer_len > MS_META_VALUE_MAX_BYTES || id_len > MS_META_VALUE_MAX_BYTES)
        return ms_meta_fail(m, -MEDSTORE_ELIMIT, "value longer than the 1024-byte limit",
                            UINT64_MAX);
    /* Worst case every byte escaped: 2 * (1024 + 1024) + 1 fits the 1024 limit check below. */
    char buf[2 * 2 * MS_META_VALUE_MAX_BYTES + 1];
    size_t o = 0;
    key_part_append(buf, &o, issuer, issuer_len);
    buf[o++] = '|';
    key_part_append(buf, &o, id, id_len);
    MS_ASSERT(o <= sizeof(buf));
    return ms_meta_set(m, MS_META_PATIENT_KEY, buf, o);
}

int ms_meta_fail(struct ms_meta *m, int code, const char *reason, uint64_t offset)
{
    MS_ASSERT(m != NULL);
    MS_ASSERT(code < 0 && reason != NULL);
    if (m->err_detail == NULL) {
        m->err_detail = reason;
        m->err_offset = offset;
    }
    return code;
}

void ms_meta_build_kv(struct ms_meta *m)
{
    MS_ASSERT(m != NULL);
    size_t n = 0;
    for (unsigned k = 0; k < MS_META_KEY_COUNT; k++) {
        if (m->field[k].ptr == NULL)
            continue;
        m->kv[n].key = (enum ms_meta_key)k;
        m->kv[n].name = key_names[k];
        m->kv[n].val = m->field[k];
        n++;
    }
    m->n_kv = n;
    MS_ASSERT(m->n_kv <= MS_META_KEY_COUNT);
}

const struct ms_meta_str *ms_meta_get(const struct ms_meta *meta, enum ms_meta_key key)
{
    MS_ASSERT(meta != NULL);
    if ((unsigned)key >= MS_META_KEY_COUNT || meta->field[key].ptr == NULL)
        return NULL;
    return &meta->field[key];
}

bool ms_str_eq(struct ms_str a, const char *lit)
{
    size_t n = strlen(lit);
    return a.p != NULL && a.len == n && memcmp(a.p, lit, n) == 0;
}

bool ms_str_eq2(struct ms_str a, struct ms_str b)
{
    return a.p != NULL && b.p != NULL && a.len == b.len && memcmp(a.p, b.p, a.len) == 0;
}

/* Length of the valid UTF-8 sequence starting at s[i], or 0 when it is not valid
 * (overlong forms, surrogates and code points above U+10FFFF are invalid). */
static size_t utf8_seq_len(const uint8_t *s, size_t len, size_t i)
{
    MS_ASSERT(i < len);
    uint8_t c = s[i];
    size_t n;
    uint32_t cp;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
        cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (len - i < n)
        return 0;
    for (size_t j = 1; j < n; j++) {
        if ((s[i + j] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i + j] & 0x3F);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    MS_ASSERT(n >= 2 && n <= 4);
    return n;
}

/* Appends n bytes to out when they fit; always advances *o. */
static void out_put(char *out, size_t cap, size_t *o, const char *src, size_t n)
{
    for (size_t i = 0; i < n; i++, (*o)++)
        if (*o + 1 < cap)
            out[*o] = src[i];
}

size_t ms_json_escape(const char *s, size_t len, char *out, size_t cap)
{
    MS_ASSERT(s != NULL || len == 0);
    MS_ASSERT(out != NULL || cap == 0);
    const uint8_t *u = (const uint8_t *)s;
    size_t o = 0;
    char esc[8];
    for (size_t i = 0; i < len;) {
        uint8_t c = u[i];
        if (c == '"' || c == '\\') {
            esc[0] = '\\';
            esc[1] = (char)c;
            out_put(out, cap, &o, esc, 2);
            i++;
        } else if (c < 0x20 || c == 0x7F) {
            int n = snprintf(esc, sizeof(esc), "\\u%04x", c);
            out_put(out, cap, &o, esc, (size_t)n);
            i++;
        } else {
            size_t n = utf8_seq_len(u, len, i);
            if (n == 0) {
                out_put(out, cap, &o, "\xEF\xBF\xBD", 3); /* U+FFFD */
                i++;
            } else {
                out_put(out, cap, &o, s + i, n);
                i += n;
            }
        }
    }
    if (cap > 0)
        out[o < cap ? o : cap - 1] = '\0';
    MS_ASSERT(o <= 6 * len);
    return o;
}
