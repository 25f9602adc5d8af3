/*
 * test_detect.c - type detection and dispatch (src/formats/detect.c): the documented order,
 * the byte order mark, the XML prolog, JSON versus NDJSON, and "other" for everything else.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "formats/formats.h"
#include "formats/formats_int.h"

static enum ms_fmt_type det(const char *s)
{
    return ms_formats_detect((const uint8_t *)s, strlen(s));
}

static void test_signatures(void **state)
{
    (void)state;
    uint8_t part10[140] = {0};
    memcpy(part10 + 128, "DICM", 4);
    assert_int_equal(ms_formats_detect(part10, sizeof(part10)), MS_FMT_DICOM);
    assert_int_equal(det("DICM\x02\x00\x10\x00UI"), MS_FMT_DICOM);
    assert_int_equal(det("%PDF-1.7\n"), MS_FMT_PDF);
    assert_int_equal(ms_formats_detect((const uint8_t *)"\0\0\0\x10" "ftypisom\0\0\0\0", 16),
                     MS_FMT_MP4);
    assert_int_equal(det("MSH|^~\\&|A"), MS_FMT_HL7V2);
    assert_int_equal(det("\xEF\xBB\xBFMSH|^~\\&|A"), MS_FMT_HL7V2);
    assert_int_equal(det("MSH1^~\\&"), MS_FMT_OTHER); /* alphanumeric separator */
    assert_int_equal(det(" MSH|^~\\&|A"), MS_FMT_OTHER); /* MSH must come first */
    assert_int_equal(ms_formats_detect(NULL, 0), MS_FMT_OTHER);
    assert_int_equal(det(""), MS_FMT_OTHER);
    assert_int_equal(det("   \n"), MS_FMT_OTHER);
    assert_int_equal(det("#!/bin/sh\necho hi\n"), MS_FMT_OTHER);
}

static void test_bare_dicom_dataset_heuristic(void **state)
{
    (void)state;
    /* (0008,0005) CS, length 10, explicit VR. */
    static const uint8_t explicit_ds[] = "\x08\x00\x05\x00" "CS\x0a\x00" "ISO_IR 100";
    assert_int_equal(ms_formats_detect(explicit_ds, sizeof(explicit_ds) - 1), MS_FMT_DICOM);
    /* (0008,0000) implicit, length 4. */
    static const uint8_t implicit_ds[] = "\x08\x00\x00\x00\x04\x00\x00\x00\x6e\x01\x00\x00";
    assert_int_equal(ms_formats_detect(implicit_ds, sizeof(implicit_ds) - 1), MS_FMT_DICOM);
    /* A stray byte first: (0820,0500) is no dataset's first tag. */
    static const uint8_t stray[] = "\x20\x08\x00\x05\x00" "CS\x0a\x00" "ISO_IR 100";
    assert_int_equal(ms_formats_detect(stray, sizeof(stray) - 1), MS_FMT_OTHER);
    /* Group 0008 but an implicit length beyond the input. */
    static const uint8_t lie[] = "\x08\x00\x05\x00\xff\xff\x00\x00";
    assert_int_equal(ms_formats_detect(lie, sizeof(lie) - 1), MS_FMT_OTHER);
}

static void test_xml_roots(void **state)
{
    (void)state;
    assert_int_equal(det("<ClinicalDocument xmlns=\"urn:hl7-org:v3\">"), MS_FMT_CDA);
    assert_int_equal(det("<?xml version=\"1.0\"?>\n<!-- c -->\n<?pi x?>\n<v3:ClinicalDocument "
                         "xmlns:v3=\"urn:hl7-org:v3\"/>"),
                     MS_FMT_CDA);
    assert_int_equal(det("\xEF\xBB\xBF<?xml version=\"1.0\"?>"
                         "<Patient xmlns=\"http://hl7.org/fhir\">"),
                     MS_FMT_FHIR_XML);
    assert_int_equal(det("<Bundle xmlns='http://hl7.org/fhir'>"), MS_FMT_FHIR_XML);
    assert_int_equal(det("<!DOCTYPE x [<!ENTITY a \"b>\">]>"
                         "<Patient xmlns=\"http://hl7.org/fhir\">"),
                     MS_FMT_FHIR_XML);
    assert_int_equal(det("<Patient xmlns=\"http://hl7.org/fhir/other\">"), MS_FMT_OTHER);
    assert_int_equal(det("<component><nonXMLBody/></component>"), MS_FMT_OTHER);
    assert_int_equal(det("<html><body>hi</body></html>"), MS_FMT_OTHER);
    assert_int_equal(det("<!-- never closed"), MS_FMT_OTHER);
    assert_int_equal(det("<Patient xmlns=\"http://hl7.org/fhir\""), MS_FMT_OTHER); /* no '>' */
}

static void test_json_and_ndjson(void **state)
{
    (void)state;
    assert_int_equal(det("{\"resourceType\":\"Patient\"}"), MS_FMT_FHIR_JSON);
    assert_int_equal(det("{\n  \"resourceType\": \"Patient\"\n}\n"), MS_FMT_FHIR_JSON);
    assert_int_equal(det("{\"resourceType\":\"Patient\"}\n"), MS_FMT_FHIR_JSON);
    assert_int_equal(det("{\"a\":\"}\\\"{\"}\n{\"b\":[1]}\n"), MS_FMT_FHIR_NDJSON);
    assert_int_equal(det("{\"a\":1}\r\n{\"a\":2}"), MS_FMT_FHIR_NDJSON);
    assert_int_equal(det("{\"a\":1} {\"a\":2}\n{\"a\":3}"), MS_FMT_FHIR_JSON);
    assert_int_equal(det("// comment\n{\"resourceType\":\"Patient\"}"), MS_FMT_FHIR_JSON);
    assert_int_equal(det("// comment\n{\"kind\":\"x\"}"), MS_FMT_OTHER);
}

static void test_extract_other_is_not_an_error(void **state)
{
    (void)state;
    struct ms_meta m;
    assert_int_equal(ms_formats_extract((const uint8_t *)"hello", 5, &m), 0);
    assert_int_equal(m.type, MS_FMT_OTHER);
    assert_int_equal(m.detected, MS_FMT_OTHER);
    assert_int_equal(m.size_bytes, 5);
    assert_int_equal(m.n_kv, 0);
    assert_null(m.err_detail);
    ms_meta_fini(&m);
    assert_int_equal(ms_formats_extract(NULL, 0, &m), 0);
    assert_int_equal(m.size_bytes, 0);
    ms_meta_fini(&m);
}

static void test_extract_failure_keeps_detected_type_and_reason(void **state)
{
    (void)state;
    struct ms_meta m;
    static const char bad[] = "{\"resourceType\": \"Patient\", }";
    assert_int_equal(ms_formats_extract((const uint8_t *)bad, sizeof(bad) - 1, &m),
                     -MEDSTORE_EFORMAT);
    assert_int_equal(m.type, MS_FMT_OTHER);
    assert_int_equal(m.detected, MS_FMT_FHIR_JSON);
    assert_non_null(m.err_detail);
    assert_int_equal(m.n_kv, 0);
    ms_meta_fini(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_signatures),
        cmocka_unit_test(test_bare_dicom_dataset_heuristic),
        cmocka_unit_test(test_xml_roots),
        cmocka_unit_test(test_json_and_ndjson),
        cmocka_unit_test(test_extract_other_is_not_an_error),
        cmocka_unit_test(test_extract_failure_keeps_detected_type_and_reason),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
