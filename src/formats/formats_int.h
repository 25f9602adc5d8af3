/*
 * formats_int.h - private interface between the files of src/formats (and their unit tests
 * and fuzz targets). Not for other modules: they use formats.h.
 *
 * Each parser entry point works on a meta already initialised by ms_meta_init() and sets the
 * fields it found; on failure it returns the code and leaves the reason in meta->err_detail
 * (static string) via ms_meta_fail(). ms_formats_extract() then clears the fields, sets the
 * type to other and builds the kv list.
 */
#ifndef MS_FORMATS_FORMATS_INT_H
#define MS_FORMATS_FORMATS_INT_H

#include "formats/formats.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A borrowed byte string (input bytes, or a parser library's storage). */
struct ms_str {
    const char *p;
    size_t len;
};

/* --- meta.c: arena, setters, patient key, kv list ------------------------------------- */

/* Copies len bytes into the arena as the value of key (replacing an earlier value).
 * Returns 0, -ENOMEM, or -MEDSTORE_ELIMIT (len > MS_META_VALUE_MAX_BYTES). */
MS_MUST_CHECK int ms_meta_set(struct ms_meta *m, enum ms_meta_key key, const void *p, size_t len);

/* As ms_meta_set, converting ISO 8859-1 bytes to UTF-8 on the way. */
MS_MUST_CHECK int ms_meta_set_latin1(struct ms_meta *m, enum ms_meta_key key, const void *p,
                                     size_t len);

/* Formats an unsigned number as the value of key. Returns as ms_meta_set. */
MS_MUST_CHECK int ms_meta_set_u64(struct ms_meta *m, enum ms_meta_key key, uint64_t v);

/* Sets the canonical patient key "<issuer>|<id>" (docs/formats/patient-key.md): an issuer of
 * the form "urn:oid:X" becomes "X"; '\' and '|' inside either part are escaped as "\\" and
 * "\|" (FHIR token search escaping). Does nothing when id is empty. Returns as ms_meta_set. */
MS_MUST_CHECK int ms_meta_set_patient_key(struct ms_meta *m, const char *issuer,
                                          size_t issuer_len, const char *id, size_t id_len);

/* Records a failure: reason (static string) and the offset it refers to. Returns code, so
 * parsers write `return ms_meta_fail(m, -MEDSTORE_EFORMAT, "dicom: ...", off);`. The first
 * failure recorded wins. */
int ms_meta_fail(struct ms_meta *m, int code, const char *reason, uint64_t offset);

/* Drops every field (wiping the arena contents, keeping nothing). */
void ms_meta_clear_fields(struct ms_meta *m);

/* Rebuilds m->kv / m->n_kv from m->field. */
void ms_meta_build_kv(struct ms_meta *m);

/* True when the two byte strings are equal. */
bool ms_str_eq(struct ms_str a, const char *lit);
bool ms_str_eq2(struct ms_str a, struct ms_str b);

/* --- per-format extractors (bytes are the whole input) --------------------------------- */

MS_MUST_CHECK int ms_dicom_extract(const uint8_t *b, size_t len, struct ms_meta *m);
MS_MUST_CHECK int ms_fhir_json_extract(const uint8_t *b, size_t len, struct ms_meta *m);
MS_MUST_CHECK int ms_fhir_ndjson_extract(const uint8_t *b, size_t len, struct ms_meta *m);
MS_MUST_CHECK int ms_fhir_xml_extract(const uint8_t *b, size_t len, struct ms_meta *m);
MS_MUST_CHECK int ms_cda_extract(const uint8_t *b, size_t len, struct ms_meta *m);
MS_MUST_CHECK int ms_hl7v2_extract(const uint8_t *b, size_t len, struct ms_meta *m);
MS_MUST_CHECK int ms_pdf_extract(const uint8_t *b, size_t len, struct ms_meta *m);
MS_MUST_CHECK int ms_mp4_extract(const uint8_t *b, size_t len, struct ms_meta *m);

/* --- detect.c helpers shared with the parsers ------------------------------------------ */

/* True when bytes start a DICOM Part 10 file (preamble + "DICM", or "DICM" at 0) or a bare
 * dataset whose first element is a plausible group 0002 / 0008 element. */
bool ms_dicom_is_signature(const uint8_t *b, size_t len);

/* Length of a UTF-8 byte order mark at the start of b (3 or 0). */
size_t ms_bom_len(const uint8_t *b, size_t len);

/* --- dicom.c helpers shared with detect.c --------------------------------------------- */

/* True when the two bytes are a DICOM value representation we know ("AE" ... "UV"). */
bool ms_dicom_is_vr(const uint8_t vr[2]);

/* --- fhir.c: format-neutral FHIR summary ----------------------------------------------- */

/* What the summary needs from one resource. Strings are borrowed from the parser's tree
 * and must stay valid until ms_fhir_sum_emit returns. p == NULL: absent. */
struct ms_fhir_res {
    struct ms_str type;       /* resourceType */
    struct ms_str id;
    struct ms_str full_url;   /* Bundle entry fullUrl; "#id" style for contained */
    struct ms_str ident_sys;  /* first identifier with a value: system ... */
    struct ms_str ident_val;  /* ... and value */
    struct ms_str ref;        /* patient / subject .reference */
    bool ref_is_patient_elem; /* taken from "patient" (always a Patient) not "subject" */
    bool ref_typed_patient;   /* reference.type == "Patient" */
    struct ms_str ref_sys;    /* patient / subject .identifier.system (logical reference) */
    struct ms_str ref_val;    /* ... .value */
    struct ms_str date;       /* first date element by the documented order */
};

/* One date element: child leaf of element parent ("effectivePeriod" / "start"), or the
 * resource's own element leaf when parent is NULL. */
struct ms_fhir_date_elem {
    const char *parent;
    const char *leaf;
};

/* The date elements in the order they are tried, ended by an entry whose leaf is NULL.
 * Shared by the JSON and XML front-ends, so both pick the same date. */
extern const struct ms_fhir_date_elem ms_fhir_date_elems[];

/* Summary of one document (single resource or Bundle). */
struct ms_fhir_sum {
    struct ms_fhir_res top;
    bool is_bundle;
    uint64_t n_entries;            /* Bundle.entry elements (set by the front-end) */
    bool has_patient;              /* first Patient among the entries */
    struct ms_fhir_res patient;
    bool has_ref;                  /* first entry carrying a patient reference */
    struct ms_fhir_res ref_res;
    struct ms_fhir_res *patients;  /* every Patient seen (entries, contained), for lookup */
    size_t n_patients, cap_patients;
};

void ms_fhir_sum_init(struct ms_fhir_sum *s);
void ms_fhir_sum_fini(struct ms_fhir_sum *s);

/* Adds the resource of a Bundle entry (not counted: the front-end sets n_entries). Returns 0
 * or -ENOMEM. */
MS_MUST_CHECK int ms_fhir_sum_add_entry(struct ms_fhir_sum *s, const struct ms_fhir_res *r);

/* Remembers a Patient for reference lookup only (contained resources). 0 or -ENOMEM. */
MS_MUST_CHECK int ms_fhir_sum_add_patient(struct ms_fhir_sum *s, const struct ms_fhir_res *r);

/* Sets resourceType, id, date, entryCount, patientReference and patientKey. Returns 0 or
 * the code of a setter. */
MS_MUST_CHECK int ms_fhir_sum_emit(const struct ms_fhir_sum *s, struct ms_meta *m);

/* --- xml.c: libxml2 with the safety settings ------------------------------------------- */

struct _xmlDoc;

/* Parses len bytes as XML: no network, no entity substitution, no DTD at all (a document
 * with a DOCTYPE is refused: -MEDSTORE_EUNSUPPORTED), libxml2's default size and depth
 * limits, errors never printed. On success *doc is owned by the caller (xmlFreeDoc).
 * Returns 0, -MEDSTORE_EFORMAT (not well-formed, invalid encoding), -MEDSTORE_EUNSUPPORTED,
 * -MEDSTORE_ELIMIT (input > MS_FORMATS_TEXT_MAX_BYTES) or -ENOMEM, with the reason in m. */
MS_MUST_CHECK int ms_xml_parse(const uint8_t *b, size_t len, struct ms_meta *m,
                               struct _xmlDoc **doc);

struct _xmlNode;

/* First child element of parent (NULL allowed) named name in namespace ns, or NULL. */
struct _xmlNode *ms_xml_child(struct _xmlNode *parent, const char *ns, const char *name);

/* Next sibling element of node named name in namespace ns, or NULL. */
struct _xmlNode *ms_xml_next(struct _xmlNode *node, const char *ns, const char *name);

/* First child element of parent, whatever its name, or NULL. */
struct _xmlNode *ms_xml_first_element(struct _xmlNode *parent);

/* The value of node's attribute name (no namespace), borrowed from the document (valid until
 * xmlFreeDoc). {NULL, 0} when node is NULL or the attribute is absent; "" when empty. */
struct ms_str ms_xml_attr(struct _xmlNode *node, const char *name);

/* True when node is an element in namespace ns. */
bool ms_xml_in_ns(struct _xmlNode *node, const char *ns);

#endif
