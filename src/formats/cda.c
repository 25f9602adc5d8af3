/*
 * cda.c - HL7 CDA / C-CDA ClinicalDocument front-end on the safe libxml2 settings of xml.c.
 *
 * The root must be ClinicalDocument in the HL7 v3 namespace "urn:hl7-org:v3", else
 * -MEDSTORE_EFORMAT. Extracted (all optional):
 *   - recordTarget/patientRole/id: the first <id> with a non-empty extension gives
 *     PatientID = @extension and IssuerOfPatientID = @root (the assigning authority's OID);
 *     without any extension, the first <id> with a root is the identifier itself
 *     (PatientID = @root, no issuer). patientKey = "<root>|<extension>" or "|<root>".
 *   - code/@code: documentCode (the LOINC document type);
 *   - effectiveTime/@value: effectiveTime.
 * Only the first recordTarget counts. Strings are borrowed from the document and copied into
 * the meta before it is freed.
 */
#include "formats/formats.h"
#include "formats/formats_int.h"

#include <errno.h>
#include <libxml/tree.h>
#include <string.h>

#include "common/ms_assert.h"

#define V3_NS "urn:hl7-org:v3"

static int set_opt(struct ms_meta *m, enum ms_meta_key key, struct ms_str v)
{
    return v.p == NULL || v.len == 0 ? 0 : ms_meta_set(m, key, v.p, v.len);
}

/* PatientID, IssuerOfPatientID and the key from patientRole's ids. */
static int read_patient(xmlNodePtr role, struct ms_meta *m)
{
    MS_ASSERT(m != NULL);
    struct ms_str root = {NULL, 0}, ext = {NULL, 0}, root_only = {NULL, 0};
    for (xmlNodePtr id = ms_xml_child(role, V3_NS, "id"); id != NULL;
         id = ms_xml_next(id, V3_NS, "id")) {
        struct ms_str e = ms_xml_attr(id, "extension"), r = ms_xml_attr(id, "root");
        if (e.p != NULL && e.len > 0) {
            ext = e;
            root = r;
            break;
        }
        if (root_only.p == NULL && r.p != NULL && r.len > 0)
            root_only = r;
    }
    if (ext.p == NULL) {
        ext = root_only;
        root.p = NULL;
        root.len = 0;
    }
    MS_ASSERT(ext.p == NULL || ext.len > 0);
    int rc = set_opt(m, MS_META_PATIENT_ID, ext);
    if (rc == 0)
        rc = set_opt(m, MS_META_ISSUER, root);
    if (rc == 0 && ext.p != NULL)
        rc = ms_meta_set_patient_key(m, root.p ? root.p : "", root.len, ext.p, ext.len);
    return rc;
}

int ms_cda_extract(const uint8_t *b, size_t len, struct ms_meta *m)
{
    MS_ASSERT(m != NULL);
    MS_ASSERT(b != NULL || len == 0);
    xmlDocPtr doc = NULL;
    int rc = ms_xml_parse(b, len, m, &doc);
    if (rc < 0)
        return rc;
    xmlNodePtr root = xmlDocGetRootElement(doc);
    if (!ms_xml_in_ns(root, V3_NS) ||
        !xmlStrEqual(root->name, (const xmlChar *)"ClinicalDocument")) {
        xmlFreeDoc(doc);
        return ms_meta_fail(m, -MEDSTORE_EFORMAT, "cda: root is not an HL7 v3 ClinicalDocument",
                            0);
    }
    xmlNodePtr role = ms_xml_child(ms_xml_child(root, V3_NS, "recordTarget"), V3_NS,
                                   "patientRole");
    rc = read_patient(role, m);
    if (rc == 0)
        rc = set_opt(m, MS_META_DOC_CODE, ms_xml_attr(ms_xml_child(root, V3_NS, "code"), "code"));
    if (rc == 0)
        rc = set_opt(m, MS_META_EFFECTIVE_TIME,
                     ms_xml_attr(ms_xml_child(root, V3_NS, "effectiveTime"), "value"));
    xmlFreeDoc(doc);
    return rc;
}
