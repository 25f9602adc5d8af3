/*
 * formats.h - metadata extraction from untrusted bytes: DICOM, FHIR (JSON, NDJSON, XML),
 * HL7 v2, C-CDA, PDF and MP4. Module interface of src/formats.
 *
 *   struct ms_meta m;
 *   int rc = ms_formats_extract(bytes, len, &m);   (always initialises m)
 *   ... m.type, ms_meta_get(&m, MS_META_PATIENT_KEY), m.kv[0 .. m.n_kv) ...
 *   ms_meta_fini(&m);
 *
 * Storing never depends on parsing: when extraction fails the object is still a valid object
 * of type "other". ms_formats_extract then returns a precise code (-MEDSTORE_EFORMAT,
 * -MEDSTORE_ETRUNCATED, -MEDSTORE_EUNSUPPORTED, -MEDSTORE_ELIMIT, -ENOMEM), sets m.type to
 * MS_FMT_OTHER, keeps what the signature claimed in m.detected and a static reason in
 * m.err_detail, and the caller decides (the CLI warns, a strict put refuses).
 *
 * Detection order, the fields per format, the date rules and the decisions taken for the
 * malformed corpus files are in docs/formats/metadata.md; the canonical patient key
 * "<issuer>|<id>" in docs/formats/patient-key.md.
 *
 * Privacy: metadata values are patient data. Nothing in this module logs a value; the
 * arena holding them is wiped before it is freed (F-DEL-3).
 * Threads: every function is reentrant; a struct ms_meta belongs to one thread at a time.
 */
#ifndef MS_FORMATS_FORMATS_H
#define MS_FORMATS_FORMATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

/* Longest single value we keep (bytes, after charset conversion). A longer value makes
 * extraction fail with -MEDSTORE_ELIMIT rather than silently truncating an identifier. */
#define MS_META_VALUE_MAX_BYTES 1024u
/* Inputs larger than this are not parsed as JSON or XML (-MEDSTORE_ELIMIT). */
#define MS_FORMATS_TEXT_MAX_BYTES (256u << 20)
/* A deflated DICOM dataset may inflate to at most this many bytes (-MEDSTORE_ELIMIT). */
#define MS_DICOM_INFLATE_MAX_BYTES (64u << 20)
/* Nesting of undefined-length DICOM sequences + items, JSON containers, XML elements. */
#define MS_DICOM_DEPTH_MAX 64u
#define MS_FHIR_JSON_DEPTH_MAX 64
/* Patients remembered per FHIR document for resolving references to them. */
#define MS_FHIR_PATIENTS_MAX 4096u
/* ISO BMFF boxes visited while looking for moov/mvhd. */
#define MS_MP4_BOXES_MAX 4096u

/* Detected object type. Names (ms_formats_type_name) are stable: they are stored in the
 * catalogue and printed by `medstore inspect`. */
enum ms_fmt_type {
    MS_FMT_OTHER = 0,   /* "other": unrecognised, or recognised but unparseable */
    MS_FMT_DICOM,       /* "dicom": DICOM Part 10 file or bare dataset */
    MS_FMT_FHIR_JSON,   /* "fhir-json": one FHIR resource (or Bundle) as JSON */
    MS_FMT_FHIR_NDJSON, /* "fhir-ndjson": FHIR Bulk Data, one resource per line */
    MS_FMT_FHIR_XML,    /* "fhir-xml": one FHIR resource (or Bundle) as XML */
    MS_FMT_CDA,         /* "cda": HL7 CDA / C-CDA ClinicalDocument */
    MS_FMT_HL7V2,       /* "hl7v2": HL7 v2 ER7 message */
    MS_FMT_PDF,         /* "pdf" */
    MS_FMT_MP4,         /* "mp4": ISO base media file (MP4, MOV, 3GP...) */
    MS_FMT_COUNT,
};

/* Metadata keys. The printed names (ms_meta_key_name) are the DICOM keywords where one
 * exists ("PatientID"), FHIR element names for FHIR ("resourceType"), else lowerCamelCase.
 * The order here is the order of m.kv and of `medstore inspect` output. */
enum ms_meta_key {
    MS_META_PATIENT_KEY = 0,    /* "patientKey": canonical "<issuer>|<id>" */
    MS_META_PATIENT_ID,         /* "PatientID" (DICOM, HL7 v2 PID-3.1, CDA id/@extension) */
    MS_META_ISSUER,             /* "IssuerOfPatientID" (DICOM, HL7 v2 PID-3.4, CDA @root) */
    MS_META_PATIENT_NAME,       /* "PatientName" (DICOM) */
    MS_META_STUDY_UID,          /* "StudyInstanceUID" */
    MS_META_SERIES_UID,         /* "SeriesInstanceUID" */
    MS_META_SOP_INSTANCE_UID,   /* "SOPInstanceUID" */
    MS_META_SOP_CLASS_UID,      /* "SOPClassUID" */
    MS_META_MODALITY,           /* "Modality" */
    MS_META_STUDY_DATE,         /* "StudyDate" */
    MS_META_TRANSFER_SYNTAX,    /* "TransferSyntaxUID" (File Meta only) */
    MS_META_NUMBER_OF_FRAMES,   /* "NumberOfFrames" */
    MS_META_CHARSET,            /* "SpecificCharacterSet" */
    MS_META_RESOURCE_TYPE,      /* "resourceType" (FHIR) */
    MS_META_RESOURCE_ID,        /* "id" (FHIR) */
    MS_META_PATIENT_REF,        /* "patientReference" (FHIR subject/patient reference) */
    MS_META_DATE,               /* "date" (FHIR; rule in docs/formats/metadata.md) */
    MS_META_ENTRY_COUNT,        /* "entryCount" (FHIR Bundle entries, NDJSON lines) */
    MS_META_MESSAGE_TYPE,       /* "messageType" (HL7 v2 MSH-9, "ADT^A01") */
    MS_META_CONTROL_ID,         /* "messageControlId" (HL7 v2 MSH-10) */
    MS_META_MESSAGE_TIME,       /* "messageDateTime" (HL7 v2 MSH-7) */
    MS_META_DOC_CODE,           /* "documentCode" (CDA code/@code) */
    MS_META_EFFECTIVE_TIME,     /* "effectiveTime" (CDA effectiveTime/@value) */
    MS_META_PDF_VERSION,        /* "pdfVersion" ("1.4") */
    MS_META_MAJOR_BRAND,        /* "majorBrand" (MP4 ftyp) */
    MS_META_DURATION_MS,        /* "durationMs" (MP4 moov/mvhd, or mvex/mehd) */
    MS_META_KEY_COUNT,
};

/* A value: bytes in the struct's arena, not NUL-terminated. ptr == NULL: absent; len == 0
 * with ptr != NULL: present and empty (a DICOM element of length 0). Values are UTF-8 except
 * DICOM text in a character set other than default, ISO_IR 100 and ISO_IR 192, which is kept
 * as the raw bytes (printers must escape invalid UTF-8). */
struct ms_meta_str {
    const char *ptr;
    size_t len;
};

/* One present value, in key order. */
struct ms_meta_kv {
    enum ms_meta_key key;
    const char *name; /* ms_meta_key_name(key), static storage */
    struct ms_meta_str val;
};

struct ms_meta_block; /* arena block, private to meta.c */

/* Extracted metadata. Initialised by ms_formats_extract (or ms_meta_init); owns its arena;
 * release with ms_meta_fini. The strings stay valid until ms_meta_fini. */
struct ms_meta {
    enum ms_fmt_type type;      /* MS_FMT_OTHER when extraction failed */
    enum ms_fmt_type detected;  /* what the signature said, even when extraction failed */
    uint64_t size_bytes;        /* input length */
    struct ms_meta_str field[MS_META_KEY_COUNT];
    struct ms_meta_kv kv[MS_META_KEY_COUNT]; /* the present fields, in key order */
    size_t n_kv;
    const char *err_detail;     /* static reason when extraction failed, else NULL */
    uint64_t err_offset;        /* byte offset the reason refers to (UINT64_MAX: none); in
                                 * a deflated DICOM dataset, an offset in the inflated bytes */
    struct ms_meta_block *arena;
};

/* Stable name of a type ("dicom", "fhir-json", ...); "other" for out-of-range values. */
const char *ms_formats_type_name(enum ms_fmt_type type);

/* Stable printed name of a key ("PatientID"); NULL for out-of-range values. */
const char *ms_meta_key_name(enum ms_meta_key key);

/* Looks a printed key name up (exact, case-sensitive). Returns the key (>= 0) or -ENOENT. */
MS_MUST_CHECK int ms_meta_key_from_name(const char *name, size_t len);

/* Detects the type of bytes from signatures only (cheap: looks at most at the first few KiB,
 * except an NDJSON check that scans the first line). Never fails; MS_FMT_OTHER when nothing
 * matches. Order and rules: docs/formats/metadata.md. */
enum ms_fmt_type ms_formats_detect(const uint8_t *bytes, size_t len);

/* Detects and extracts. bytes may be NULL when len is 0. Always initialises *meta, which the
 * caller must release with ms_meta_fini whatever the result. Returns 0 (also for
 * MS_FMT_OTHER: unknown bytes are not an error), or on failure -MEDSTORE_EFORMAT (not what
 * the signature claimed, syntax error, a length lie), -MEDSTORE_ETRUNCATED (input ends early),
 * -MEDSTORE_EUNSUPPORTED (valid but uses something we refuse, e.g. an XML DTD, an unknown
 * DICOM transfer syntax), -MEDSTORE_ELIMIT (a bound above was exceeded) or -ENOMEM; then
 * meta->type is MS_FMT_OTHER, no field is set and err_detail says why. */
MS_MUST_CHECK int ms_formats_extract(const uint8_t *bytes, size_t len, struct ms_meta *meta);

/* Initialises an empty meta (type other, no fields, no arena). */
void ms_meta_init(struct ms_meta *meta);

/* Wipes and frees the arena and zeroes *meta. Accepts a zeroed or already finished meta. */
void ms_meta_fini(struct ms_meta *meta);

/* The value of key, or NULL when absent. Borrowed: valid until ms_meta_fini. */
const struct ms_meta_str *ms_meta_get(const struct ms_meta *meta, enum ms_meta_key key);

/* Writes s (len bytes) as the inside of a JSON string (no quotes) into out, which holds cap
 * bytes, and NUL-terminates it when cap > 0. Escapes '"', '\\' and control characters;
 * replaces every byte that is not part of valid UTF-8 by U+FFFD. Returns the length the
 * escaped text needs (without the NUL), like snprintf: the output is complete when the
 * return value is < cap. At most 6 * len bytes are ever needed. */
size_t ms_json_escape(const char *s, size_t len, char *out, size_t cap);

#endif
