/*
 * test_fhir_xml.c - FHIR XML (src/formats/fhir_xml.c): the same facts as the JSON front-end
 * (a resource written both ways gives identical metadata), Bundles, contained resources,
 * the namespace check.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "formats/formats.h"
#include "formats/formats_int.h"
#include "meta_expect.h"

static int run(const char *s, struct ms_meta *m)
{
    return ms_formats_extract((const uint8_t *)s, strlen(s), m);
}

static const char bundle_xml[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<Bundle xmlns=\"http://hl7.org/fhir\">\n"
    "  <id value=\"doc1\"/><timestamp value=\"2024-05-06T07:08:09Z\"/>\n"
    "  <entry><fullUrl value=\"urn:uuid:c\"/><resource><Composition>\n"
    "    <subject><reference value=\"urn:uuid:p\"/></subject></Composition></resource></entry>\n"
    "  <entry><fullUrl value=\"urn:uuid:p\"/><resource><Patient>\n"
    "    <text><div xmlns=\"http://www.w3.org/1999/xhtml\"><identifier/></div></text>\n"
    "    <identifier><system value=\"urn:oid:2.16.840.1\"/><value value=\"574687583\"/>"
    "</identifier></Patient></resource></entry>\n"
    "</Bundle>\n";

static const char bundle_json[] =
    "{\"resourceType\":\"Bundle\",\"id\":\"doc1\",\"timestamp\":\"2024-05-06T07:08:09Z\","
    "\"entry\":[{\"fullUrl\":\"urn:uuid:c\",\"resource\":{\"resourceType\":\"Composition\","
    "\"subject\":{\"reference\":\"urn:uuid:p\"}}},{\"fullUrl\":\"urn:uuid:p\",\"resource\":"
    "{\"resourceType\":\"Patient\",\"identifier\":[{\"system\":\"urn:oid:2.16.840.1\","
    "\"value\":\"574687583\"}]}}]}";

static void test_same_metadata_as_json(void **state)
{
    (void)state;
    struct ms_meta x, j;
    assert_int_equal(run(bundle_xml, &x), 0);
    assert_int_equal(run(bundle_json, &j), 0);
    assert_int_equal(x.type, MS_FMT_FHIR_XML);
    assert_int_equal(j.type, MS_FMT_FHIR_JSON);
    assert_int_equal(x.n_kv, j.n_kv);
    for (size_t i = 0; i < x.n_kv; i++) {
        assert_int_equal(x.kv[i].key, j.kv[i].key);
        assert_int_equal(x.kv[i].val.len, j.kv[i].val.len);
        assert_memory_equal(x.kv[i].val.ptr, j.kv[i].val.ptr, x.kv[i].val.len);
    }
    assert_val(&x, MS_META_PATIENT_KEY, "2.16.840.1|574687583");
    assert_val(&x, MS_META_ENTRY_COUNT, "2");
    assert_val(&x, MS_META_DATE, "2024-05-06T07:08:09Z");
    ms_meta_fini(&x);
    ms_meta_fini(&j);
}

static void test_single_resource_and_contained(void **state)
{
    (void)state;
    struct ms_meta m;
    assert_int_equal(run("<Observation xmlns=\"http://hl7.org/fhir\"><id value=\"o1\"/>"
                         "<contained><Patient><id value=\"p\"/><identifier><value value=\"V\"/>"
                         "</identifier></Patient></contained>"
                         "<effectivePeriod><start value=\"2020-01-01\"/></effectivePeriod>"
                         "<subject><reference value=\"#p\"/></subject></Observation>",
                         &m),
                     0);
    assert_val(&m, MS_META_RESOURCE_TYPE, "Observation");
    assert_val(&m, MS_META_RESOURCE_ID, "o1");
    assert_val(&m, MS_META_DATE, "2020-01-01");
    assert_val(&m, MS_META_PATIENT_REF, "#p");
    assert_val(&m, MS_META_PATIENT_KEY, "|V");
    ms_meta_fini(&m);
}

static void test_refusals(void **state)
{
    (void)state;
    struct ms_meta m;
    assert_int_equal(run("<Patient xmlns=\"http://hl7.org/fhir\"><id value=\"x\"></Patient>", &m),
                     -MEDSTORE_EFORMAT);
    assert_int_equal(m.detected, MS_FMT_FHIR_XML);
    ms_meta_fini(&m);
    /* Direct call: a root outside the FHIR namespace. */
    ms_meta_init(&m);
    static const char other[] = "<Patient xmlns=\"urn:other\"/>";
    assert_int_equal(ms_fhir_xml_extract((const uint8_t *)other, sizeof(other) - 1, &m),
                     -MEDSTORE_EFORMAT);
    ms_meta_fini(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_metadata_as_json),
        cmocka_unit_test(test_single_resource_and_contained),
        cmocka_unit_test(test_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
