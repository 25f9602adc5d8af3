/*
 * fhir_json.c - FHIR JSON (one resource or a Bundle) and FHIR NDJSON (Bulk Data: one
 * resource per line) front-end on json-c.
 *
 * Parsing is strict (JSON_TOKENER_STRICT: no comments, no single quotes, no trailing
 * commas) and validates UTF-8; nesting is bounded by MS_FHIR_JSON_DEPTH_MAX and the input by
 * MS_FORMATS_TEXT_MAX_BYTES. A UTF-8 byte order mark is skipped. Anything after the value
 * other than whitespace is an error. Codes: -MEDSTORE_EFORMAT (syntax, invalid UTF-8, not
 * an object with a resourceType, trailing data), -MEDSTORE_ETRUNCATED (input ends inside a
 * value), -MEDSTORE_ELIMIT, -ENOMEM. Error offsets are byte offsets into the input.
 *
 * From the tree it collects the facts fhir.c needs (struct ms_fhir_res). Elements of the
 * wrong JSON type (an id that is a number) are treated as absent, not as errors: FHIR
 * validation is not our job, indexing is.
 *
 * NDJSON: every non-empty line must be a resource. Extracted: resourceType of the first
 * line, entryCount (resources), and patientKey only when every line yields the same key.
 */
#include "formats/formats.h"
#include "formats/formats_int.h"

#include <errno.h>
#include <json-c/json.h>
#include <string.h>

#include "common/ms_assert.h"

static struct ms_str jstr(json_object *o)
{
    struct ms_str s = {NULL, 0};
    if (o != NULL && json_object_is_type(o, json_type_string)) {
        s.p = json_object_get_string(o);
        s.len = (size_t)json_object_get_string_len(o);
    }
    return s;
}

/* Member k of object o, or NULL. */
static json_object *jget(json_object *o, const char *k)
{
    json_object *v = NULL;
    if (o == NULL || !json_object_is_type(o, json_type_object))
        return NULL;
    return json_object_object_get_ex(o, k, &v) ? v : NULL;
}

/* Element i of array a, or NULL. */
static json_object *jidx(json_object *a, size_t i)
{
    if (a == NULL || !json_object_is_type(a, json_type_array) || i >= json_object_array_length(a))
        return NULL;
    return json_object_array_get_idx(a, i);
}

/* First date element by ms_fhir_date_elems. */
static struct ms_str find_date(json_object *r)
{
    MS_ASSERT(r != NULL);
    for (const struct ms_fhir_date_elem *e = ms_fhir_date_elems; e->leaf != NULL; e++) {
        json_object *holder = e->parent != NULL ? jget(r, e->parent) : r;
        struct ms_str s = jstr(jget(holder, e->leaf));
        if (s.p != NULL)
            return s;
    }
    struct ms_str none = {NULL, 0};
    return none;
}

/* Fills the reference facts from a Reference object. */
static void fill_ref(json_object *ref, bool patient_elem, struct ms_fhir_res *out)
{
    out->ref_is_patient_elem = patient_elem;
    out->ref = jstr(jget(ref, "reference"));
    out->ref_typed_patient = ms_str_eq(jstr(jget(ref, "type")), "Patient");
    json_object *ident = jget(ref, "identifier");
    out->ref_sys = jstr(jget(ident, "system"));
    out->ref_val = jstr(jget(ident, "value"));
}

static void fill_res(json_object *r, struct ms_fhir_res *out)
{
    MS_ASSERT(r != NULL && out != NULL);
    memset(out, 0, sizeof(*out));
    out->type = jstr(jget(r, "resourceType"));
    out->id = jstr(jget(r, "id"));
    json_object *idents = jget(r, "identifier");
    for (size_t i = 0; jidx(idents, i) != NULL; i++) {
        struct ms_str v = jstr(jget(jidx(idents, i), "value"));
        if (v.p != NULL && v.len > 0) {
            out->ident_val = v;
            out->ident_sys = jstr(jget(jidx(idents, i), "system"));
            break;
        }
    }
    json_object *patient = jget(r, "patient");
    json_object *subject = jget(r, "subject");
    if (patient != NULL && json_object_is_type(patient, json_type_object))
        fill_ref(patient, true, out);
    else if (subject != NULL && json_object_is_type(subject, json_type_object))
        fill_ref(subject, false, out);
    out->date = find_date(r);
    MS_ASSERT(out->ident_val.p == NULL || out->ident_val.len > 0);
}

/* True when o is an object with a non-empty string resourceType. */
static bool is_resource(json_object *o)
{
    struct ms_str t = jstr(jget(o, "resourceType"));
    return t.p != NULL && t.len > 0;
}

/* Builds the summary of one resource tree. */
static int summarise(json_object *top, struct ms_fhir_sum *s)
{
    MS_ASSERT(top != NULL && s != NULL);
    MS_ASSERT(s->n_patients == 0);
    fill_res(top, &s->top);
    s->is_bundle = ms_str_eq(s->top.type, "Bundle");
    int rc = 0;
    json_object *contained = jget(top, "contained");
    for (size_t i = 0; rc == 0 && jidx(contained, i) != NULL; i++) {
        struct ms_fhir_res c;
        fill_res(jidx(contained, i), &c);
        if (ms_str_eq(c.type, "Patient"))
            rc = ms_fhir_sum_add_patient(s, &c);
    }
    if (!s->is_bundle)
        return rc;
    json_object *entries = jget(top, "entry");
    if (entries != NULL && json_object_is_type(entries, json_type_array))
        s->n_entries = json_object_array_length(entries);
    for (size_t i = 0; rc == 0 && jidx(entries, i) != NULL; i++) {
        json_object *res = jget(jidx(entries, i), "resource");
        if (!is_resource(res))
            continue;
        struct ms_fhir_res e;
        fill_res(res, &e);
        e.full_url = jstr(jget(jidx(entries, i), "fullUrl"));
        rc = ms_fhir_sum_add_entry(s, &e);
    }
    return rc;
}

static bool is_space(uint8_t c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Parses exactly one JSON value from b[0, len) (base = its offset in the input). */
static int parse_one(const uint8_t *b, size_t len, uint64_t base, struct ms_meta *m,
                     json_object **out)
{
    MS_ASSERT(out != NULL);
    if (len > MS_FORMATS_TEXT_MAX_BYTES)
        return ms_meta_fail(m, -MEDSTORE_ELIMIT, "fhir-json: input larger than the limit", 0);
    json_tokener *tok = json_tokener_new_ex(MS_FHIR_JSON_DEPTH_MAX);
    if (tok == NULL)
        return ms_meta_fail(m, -ENOMEM, "out of memory", UINT64_MAX);
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
    json_object *o = json_tokener_parse_ex(tok, (const char *)b, (int)len);
    enum json_tokener_error err = json_tokener_get_error(tok);
    size_t end = json_tokener_get_parse_end(tok);
    json_tokener_free(tok);
    int rc = 0;
    if (o == NULL && err == json_tokener_continue)
        rc = ms_meta_fail(m, -MEDSTORE_ETRUNCATED, "fhir-json: input ends inside a value",
                          base + len);
    else if (o == NULL && err == json_tokener_error_depth)
        rc = ms_meta_fail(m, -MEDSTORE_ELIMIT, "fhir-json: nesting too deep", base + end);
    else if (o == NULL && err == json_tokener_error_size)
        rc = ms_meta_fail(m, -MEDSTORE_ELIMIT, "fhir-json: value too large", base + end);
    else if (o == NULL)
        rc = ms_meta_fail(m, -MEDSTORE_EFORMAT, "fhir-json: JSON syntax error", base + end);
    for (size_t i = end; rc == 0 && i < len; i++)
        if (!is_space(b[i]))
            rc = ms_meta_fail(m, -MEDSTORE_EFORMAT, "fhir-json: data after the JSON value",
                              base + i);
    if (rc == 0 && !is_resource(o))
        rc = ms_meta_fail(m, -MEDSTORE_EFORMAT, "fhir-json: not a FHIR resource", base);
    if (rc < 0) {
        json_object_put(o);
        return rc;
    }
    *out = o;
    MS_ASSERT(*out != NULL);
    return 0;
}

int ms_fhir_json_extract(const uint8_t *b, size_t len, struct ms_meta *m)
{
    MS_ASSERT(m != NULL);
    MS_ASSERT(b != NULL || len == 0);
    size_t bom = ms_bom_len(b, len);
    json_object *top = NULL;
    int rc = parse_one(b + bom, len - bom, bom, m, &top);
    if (rc < 0)
        return rc;
    struct ms_fhir_sum s;
    ms_fhir_sum_init(&s);
    rc = summarise(top, &s);
    if (rc < 0)
        rc = ms_meta_fail(m, rc, "out of memory", UINT64_MAX);
    else
        rc = ms_fhir_sum_emit(&s, m);
    ms_fhir_sum_fini(&s);
    json_object_put(top);
    return rc;
}

/* Extracts one NDJSON line into a scratch meta. */
static int ndjson_line(const uint8_t *b, size_t len, uint64_t base, struct ms_meta *m,
                       struct ms_meta *line)
{
    MS_ASSERT(b != NULL && len > 0);
    MS_ASSERT(m != NULL && line != NULL && m != line);
    json_object *o = NULL;
    int rc = parse_one(b, len, base, m, &o);
    if (rc < 0)
        return rc;
    struct ms_fhir_sum s;
    ms_fhir_sum_init(&s);
    rc = summarise(o, &s);
    if (rc < 0)
        rc = ms_meta_fail(m, rc, "out of memory", UINT64_MAX);
    else if ((rc = ms_fhir_sum_emit(&s, line)) < 0)
        rc = ms_meta_fail(m, rc, line->err_detail ? line->err_detail : "out of memory", base);
    ms_fhir_sum_fini(&s);
    json_object_put(o);
    return rc;
}

static bool same_value(const struct ms_meta_str *a, const struct ms_meta_str *b)
{
    return a != NULL && b != NULL && a->len == b->len && memcmp(a->ptr, b->ptr, a->len) == 0;
}

/* Keeps the first line's type and key; drops the key once two lines disagree. */
static int ndjson_merge(struct ms_meta *m, const struct ms_meta *line, uint64_t n,
                        bool *uniform)
{
    MS_ASSERT(m != NULL && line != NULL && uniform != NULL);
    const struct ms_meta_str *key = ms_meta_get(line, MS_META_PATIENT_KEY);
    if (n > 0) {
        if (!same_value(key, ms_meta_get(m, MS_META_PATIENT_KEY)))
            *uniform = false;
        return 0;
    }
    const struct ms_meta_str *type = ms_meta_get(line, MS_META_RESOURCE_TYPE);
    MS_ASSERT(type != NULL);
    int rc = ms_meta_set(m, MS_META_RESOURCE_TYPE, type->ptr, type->len);
    if (rc == 0 && key != NULL)
        rc = ms_meta_set(m, MS_META_PATIENT_KEY, key->ptr, key->len);
    *uniform = key != NULL;
    return rc;
}

int ms_fhir_ndjson_extract(const uint8_t *b, size_t len, struct ms_meta *m)
{
    MS_ASSERT(m != NULL);
    MS_ASSERT(b != NULL || len == 0);
    uint64_t n = 0;
    bool uniform = false;
    int rc = 0;
    for (size_t i = ms_bom_len(b, len); i < len && rc == 0;) {
        size_t j = i;
        while (j < len && b[j] != '\n')
            j++;
        size_t k = i;
        while (k < j && is_space(b[k]))
            k++;
        if (k < j) {
            struct ms_meta line;
            ms_meta_init(&line);
            rc = ndjson_line(b + i, j - i, i, m, &line);
            if (rc == 0)
                rc = ndjson_merge(m, &line, n++, &uniform);
            ms_meta_fini(&line);
        }
        i = j + 1;
    }
    if (rc == 0 && n == 0)
        rc = ms_meta_fail(m, -MEDSTORE_EFORMAT, "fhir-ndjson: no resource", 0);
    if (rc == 0 && !uniform) {
        m->field[MS_META_PATIENT_KEY].ptr = NULL;
        m->field[MS_META_PATIENT_KEY].len = 0;
    }
    if (rc == 0)
        rc = ms_meta_set_u64(m, MS_META_ENTRY_COUNT, n);
    return rc;
}
