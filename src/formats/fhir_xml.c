/*
 * fhir_xml.c - FHIR XML front-end (one resource or a Bundle) on the safe libxml2 settings of
 * xml.c.
 *
 * The root element must be in the FHIR namespace "http://hl7.org/fhir"; its name is the
 * resourceType. Primitive values live in the "value" attribute (<id value="x"/>), Bundle
 * entries in <entry><fullUrl value/><resource><Patient>...</Patient></resource></entry>,
 * contained resources in <contained><Patient>...</Patient></contained>. The facts collected
 * are exactly those of the JSON front-end (struct ms_fhir_res), so both produce the same
 * metadata for the same resource. Elements outside the FHIR namespace (the XHTML narrative)
 * are ignored. Strings are borrowed from the document, freed after ms_fhir_sum_emit.
 */
#include "formats/formats.h"
#include "formats/formats_int.h"

#include <errno.h>
#include <libxml/tree.h>
#include <string.h>

#include "common/ms_assert.h"

#define FHIR_NS "http://hl7.org/fhir"

static struct ms_str value_of(xmlNodePtr n)
{
    return ms_xml_attr(n, "value");
}

static xmlNodePtr child(xmlNodePtr n, const char *name)
{
    return ms_xml_child(n, FHIR_NS, name);
}

/* First date element by ms_fhir_date_elems. */
static struct ms_str find_date(xmlNodePtr r)
{
    MS_ASSERT(r != NULL);
    for (const struct ms_fhir_date_elem *e = ms_fhir_date_elems; e->leaf != NULL; e++) {
        xmlNodePtr holder = e->parent != NULL ? child(r, e->parent) : r;
        struct ms_str s = value_of(child(holder, e->leaf));
        if (s.p != NULL)
            return s;
    }
    struct ms_str none = {NULL, 0};
    return none;
}

static void fill_ref(xmlNodePtr ref, bool patient_elem, struct ms_fhir_res *out)
{
    out->ref_is_patient_elem = patient_elem;
    out->ref = value_of(child(ref, "reference"));
    out->ref_typed_patient = ms_str_eq(value_of(child(ref, "type")), "Patient");
    xmlNodePtr ident = child(ref, "identifier");
    out->ref_sys = value_of(child(ident, "system"));
    out->ref_val = value_of(child(ident, "value"));
}

/* Collects the facts of resource element r. */
static void fill_res(xmlNodePtr r, struct ms_fhir_res *out)
{
    MS_ASSERT(r != NULL && out != NULL);
    memset(out, 0, sizeof(*out));
    out->type.p = (const char *)r->name;
    out->type.len = strlen(out->type.p);
    out->id = value_of(child(r, "id"));
    for (xmlNodePtr i = child(r, "identifier"); i != NULL; i = ms_xml_next(i, FHIR_NS,
                                                                           "identifier")) {
        struct ms_str v = value_of(child(i, "value"));
        if (v.p != NULL && v.len > 0) {
            out->ident_val = v;
            out->ident_sys = value_of(child(i, "system"));
            break;
        }
    }
    xmlNodePtr patient = child(r, "patient");
    if (patient != NULL)
        fill_ref(patient, true, out);
    else if (child(r, "subject") != NULL)
        fill_ref(child(r, "subject"), false, out);
    out->date = find_date(r);
    MS_ASSERT(out->type.len > 0);
}

/* The resource element inside a <resource> or <contained> wrapper, or NULL. */
static xmlNodePtr wrapped(xmlNodePtr wrapper)
{
    xmlNodePtr r = ms_xml_first_element(wrapper);
    return ms_xml_in_ns(r, FHIR_NS) ? r : NULL;
}

static int summarise(xmlNodePtr top, struct ms_fhir_sum *s)
{
    MS_ASSERT(top != NULL && s != NULL);
    MS_ASSERT(s->n_patients == 0);
    fill_res(top, &s->top);
    s->is_bundle = ms_str_eq(s->top.type, "Bundle");
    int rc = 0;
    for (xmlNodePtr c = child(top, "contained"); c != NULL && rc == 0;
         c = ms_xml_next(c, FHIR_NS, "contained")) {
        xmlNodePtr r = wrapped(c);
        struct ms_fhir_res res;
        if (r == NULL)
            continue;
        fill_res(r, &res);
        if (ms_str_eq(res.type, "Patient"))
            rc = ms_fhir_sum_add_patient(s, &res);
    }
    if (!s->is_bundle)
        return rc;
    for (xmlNodePtr e = child(top, "entry"); e != NULL && rc == 0;
         e = ms_xml_next(e, FHIR_NS, "entry")) {
        s->n_entries++;
        xmlNodePtr r = wrapped(child(e, "resource"));
        if (r == NULL)
            continue;
        struct ms_fhir_res res;
        fill_res(r, &res);
        res.full_url = value_of(child(e, "fullUrl"));
        rc = ms_fhir_sum_add_entry(s, &res);
    }
    return rc;
}

int ms_fhir_xml_extract(const uint8_t *b, size_t len, struct ms_meta *m)
{
    MS_ASSERT(m != NULL);
    MS_ASSERT(b != NULL || len == 0);
    xmlDocPtr doc = NULL;
    int rc = ms_xml_parse(b, len, m, &doc);
    if (rc < 0)
        return rc;
    xmlNodePtr root = xmlDocGetRootElement(doc);
    struct ms_fhir_sum s;
    ms_fhir_sum_init(&s);
    if (!ms_xml_in_ns(root, FHIR_NS))
        rc = ms_meta_fail(m, -MEDSTORE_EFORMAT, "fhir-xml: root not in the FHIR namespace", 0);
    else if ((rc = summarise(root, &s)) < 0)
        rc = ms_meta_fail(m, rc, "out of memory", UINT64_MAX);
    else
        rc = ms_fhir_sum_emit(&s, m);
    ms_fhir_sum_fini(&s);
    xmlFreeDoc(doc);
    return rc;
}
