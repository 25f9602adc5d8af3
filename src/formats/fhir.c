/*
 * fhir.c - the format-neutral part of FHIR extraction: from the few facts the JSON and XML
 * front-ends collect per resource (struct ms_fhir_res) to resourceType, id, date,
 * entryCount, patientReference and the canonical patient key.
 *
 * Rules (docs/formats/patient-key.md and docs/formats/metadata.md hold the prose):
 *   - a Patient's key: its first identifier with a value, "<system>|<value>"; without one,
 *     "|<self reference>", the self reference being its Bundle fullUrl, else "Patient/<id>";
 *   - a Bundle: the key of its first Patient entry; without one, the key the first entry
 *     with a patient reference resolves to;
 *   - any other resource: its patient reference resolved: to a Patient the document holds
 *     (Bundle fullUrl, "Patient/<id>" relative or absolute, "#<id>" for contained), else its
 *     logical identifier "<system>|<value>", else "|<reference>";
 *   - the reference is the "patient" element, else "subject" when it points at a Patient
 *     ("Patient/..." in the reference, type "Patient", or it resolves to a Patient held in
 *     the document).
 * Strings are borrowed from the front-end's tree; nothing here allocates except the table
 * of Patients used for lookups (bounded by MS_FHIR_PATIENTS_MAX, beyond which later Patients
 * are not found by reference and the literal reference is used instead).
 */
#include "formats/formats.h"
#include "formats/formats_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/ms_assert.h"

const struct ms_fhir_date_elem ms_fhir_date_elems[] = {
    {NULL, "effectiveDateTime"}, {NULL, "effectiveInstant"}, {"effectivePeriod", "start"},
    {NULL, "issued"}, {NULL, "date"}, {NULL, "authoredOn"}, {NULL, "recordedDate"},
    {NULL, "onsetDateTime"}, {NULL, "performedDateTime"}, {NULL, "occurrenceDateTime"},
    {NULL, "started"}, {NULL, "birthDate"}, {NULL, "timestamp"}, {NULL, NULL},
};

void ms_fhir_sum_init(struct ms_fhir_sum *s)
{
    MS_ASSERT(s != NULL);
    memset(s, 0, sizeof(*s));
    MS_ASSERT(s->patients == NULL && s->n_patients == 0);
}

void ms_fhir_sum_fini(struct ms_fhir_sum *s)
{
    if (s == NULL)
        return;
    free(s->patients);
    memset(s, 0, sizeof(*s));
}

static bool present(struct ms_str s)
{
    return s.p != NULL && s.len > 0;
}

int ms_fhir_sum_add_patient(struct ms_fhir_sum *s, const struct ms_fhir_res *r)
{
    MS_ASSERT(s != NULL && r != NULL);
    MS_ASSERT(s->n_patients <= s->cap_patients);
    if (s->n_patients == MS_FHIR_PATIENTS_MAX)
        return 0;
    if (s->n_patients == s->cap_patients) {
        size_t ncap = s->cap_patients == 0 ? 16 : s->cap_patients * 2;
        struct ms_fhir_res *n = realloc(s->patients, ncap * sizeof(*n));
        if (n == NULL)
            return -ENOMEM;
        s->patients = n;
        s->cap_patients = ncap;
    }
    s->patients[s->n_patients++] = *r;
    return 0;
}

/* A reference that names a Patient by its form alone. */
static bool ref_is_patient_syntax(const struct ms_fhir_res *r)
{
    if (r->ref_is_patient_elem || r->ref_typed_patient)
        return true;
    if (!present(r->ref))
        return false;
    if (r->ref.len > 8 && memcmp(r->ref.p, "Patient/", 8) == 0)
        return true;
    return memmem(r->ref.p, r->ref.len, "/Patient/", 9) != NULL;
}

int ms_fhir_sum_add_entry(struct ms_fhir_sum *s, const struct ms_fhir_res *r)
{
    MS_ASSERT(s != NULL && r != NULL);
    MS_ASSERT(s->is_bundle);
    if (ms_str_eq(r->type, "Patient")) {
        if (!s->has_patient) {
            s->has_patient = true;
            s->patient = *r;
        }
        return ms_fhir_sum_add_patient(s, r);
    }
    if (!s->has_ref && ref_is_patient_syntax(r) && (present(r->ref) || present(r->ref_val))) {
        s->has_ref = true;
        s->ref_res = *r;
    }
    return 0;
}

/* True when ref ends with "Patient/<id>" preceded by nothing or by '/'. */
static bool ref_names_id(struct ms_str ref, struct ms_str id)
{
    size_t n = 8 + id.len;
    if (!present(id) || ref.len < n)
        return false;
    const char *tail = ref.p + ref.len - n;
    if (memcmp(tail, "Patient/", 8) != 0 || memcmp(tail + 8, id.p, id.len) != 0)
        return false;
    return ref.len == n || tail[-1] == '/';
}

/* The Patient of the document that ref points at, or NULL. */
static const struct ms_fhir_res *lookup(const struct ms_fhir_sum *s, struct ms_str ref)
{
    MS_ASSERT(s != NULL);
    MS_ASSERT(s->n_patients <= MS_FHIR_PATIENTS_MAX);
    if (!present(ref))
        return NULL;
    for (size_t i = 0; i < s->n_patients; i++) {
        const struct ms_fhir_res *p = &s->patients[i];
        if (ms_str_eq2(ref, p->full_url) || ref_names_id(ref, p->id))
            return p;
        if (ref.p[0] == '#' && present(p->id) && ref.len == p->id.len + 1 &&
            memcmp(ref.p + 1, p->id.p, p->id.len) == 0 && !present(p->full_url))
            return p;
    }
    return NULL;
}

/* A key as parts: issuer, then the id as prefix + id ("Patient/" + id, or "" + value). */
struct key_parts {
    struct ms_str issuer, id_prefix, id;
};

/* The self reference of Patient p: its fullUrl, else "Patient/<id>". */
static bool self_ref(const struct ms_fhir_res *p, struct ms_str *prefix, struct ms_str *id)
{
    MS_ASSERT(p != NULL);
    MS_ASSERT(prefix != NULL && id != NULL);
    static const char patient_slash[] = "Patient/";
    prefix->p = "";
    prefix->len = 0;
    if (present(p->full_url) && p->full_url.p[0] != '#') {
        *id = p->full_url;
        return true;
    }
    if (!present(p->id))
        return false;
    prefix->p = patient_slash;
    prefix->len = sizeof(patient_slash) - 1;
    *id = p->id;
    return true;
}

static bool patient_key(const struct ms_fhir_res *p, struct key_parts *k)
{
    MS_ASSERT(p != NULL && k != NULL);
    memset(k, 0, sizeof(*k));
    k->issuer.p = "";
    k->id_prefix.p = "";
    if (present(p->ident_val)) {
        if (p->ident_sys.p != NULL)
            k->issuer = p->ident_sys;
        k->id = p->ident_val;
        MS_ASSERT(k->id.len > 0);
        return true;
    }
    return self_ref(p, &k->id_prefix, &k->id);
}

static bool resolve_key(const struct ms_fhir_sum *s, const struct ms_fhir_res *r,
                        struct key_parts *k)
{
    MS_ASSERT(s != NULL && r != NULL);
    MS_ASSERT(k != NULL);
    const struct ms_fhir_res *p = lookup(s, r->ref);
    if (p != NULL)
        return patient_key(p, k);
    memset(k, 0, sizeof(*k));
    k->issuer.p = "";
    k->id_prefix.p = "";
    if (present(r->ref_val)) {
        if (r->ref_sys.p != NULL)
            k->issuer = r->ref_sys;
        k->id = r->ref_val;
        return true;
    }
    if (!present(r->ref))
        return false;
    k->id = r->ref;
    return true;
}

/* Writes prefix + id into a value of key. */
static int set_joined(struct ms_meta *m, enum ms_meta_key key, struct ms_str prefix,
                      struct ms_str id)
{
    char buf[MS_META_VALUE_MAX_BYTES + 16];
    if (prefix.len + id.len > MS_META_VALUE_MAX_BYTES)
        return ms_meta_fail(m, -MEDSTORE_ELIMIT, "value longer than the 1024-byte limit",
                            UINT64_MAX);
    memcpy(buf, prefix.p, prefix.len);
    memcpy(buf + prefix.len, id.p, id.len);
    return ms_meta_set(m, key, buf, prefix.len + id.len);
}

static int set_key(struct ms_meta *m, const struct key_parts *k)
{
    char buf[MS_META_VALUE_MAX_BYTES + 16];
    if (k->id_prefix.len + k->id.len > MS_META_VALUE_MAX_BYTES)
        return ms_meta_fail(m, -MEDSTORE_ELIMIT, "value longer than the 1024-byte limit",
                            UINT64_MAX);
    memcpy(buf, k->id_prefix.p, k->id_prefix.len);
    memcpy(buf + k->id_prefix.len, k->id.p, k->id.len);
    return ms_meta_set_patient_key(m, k->issuer.p, k->issuer.len, buf,
                                   k->id_prefix.len + k->id.len);
}

static int set_opt(struct ms_meta *m, enum ms_meta_key key, struct ms_str v)
{
    return v.p == NULL ? 0 : ms_meta_set(m, key, v.p, v.len);
}

/* patientReference and patientKey. */
static int emit_patient(const struct ms_fhir_sum *s, struct ms_meta *m)
{
    MS_ASSERT(s != NULL && m != NULL);
    MS_ASSERT(!s->has_patient || s->is_bundle);
    struct key_parts k;
    const struct ms_fhir_res *top = &s->top;
    struct ms_str none = {"", 0};
    if (ms_str_eq(top->type, "Patient"))
        return patient_key(top, &k) ? set_key(m, &k) : 0;
    if (s->is_bundle && s->has_patient) {
        struct ms_str prefix, id;
        int rc = self_ref(&s->patient, &prefix, &id) ? set_joined(m, MS_META_PATIENT_REF,
                                                                  prefix, id) : 0;
        if (rc == 0 && patient_key(&s->patient, &k))
            rc = set_key(m, &k);
        return rc;
    }
    const struct ms_fhir_res *r = s->is_bundle ? (s->has_ref ? &s->ref_res : NULL) : top;
    if (r == NULL || !(ref_is_patient_syntax(r) || lookup(s, r->ref) != NULL))
        return 0;
    int rc = present(r->ref) ? set_joined(m, MS_META_PATIENT_REF, none, r->ref) : 0;
    if (rc == 0 && resolve_key(s, r, &k))
        rc = set_key(m, &k);
    return rc;
}

int ms_fhir_sum_emit(const struct ms_fhir_sum *s, struct ms_meta *m)
{
    MS_ASSERT(s != NULL && m != NULL);
    MS_ASSERT(present(s->top.type));
    int rc = set_opt(m, MS_META_RESOURCE_TYPE, s->top.type);
    if (rc == 0)
        rc = set_opt(m, MS_META_RESOURCE_ID, s->top.id);
    if (rc == 0)
        rc = set_opt(m, MS_META_DATE, s->top.date);
    if (rc == 0 && s->is_bundle)
        rc = ms_meta_set_u64(m, MS_META_ENTRY_COUNT, s->n_entries);
    if (rc == 0)
        rc = emit_patient(s, m);
    return rc;
}
