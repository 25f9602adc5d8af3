/*
 * test_fhir_json.c - FHIR JSON and NDJSON (src/formats/fhir_json.c): what is collected from a
 * resource, Bundles, contained Patients, the date order, strict parsing and every refusal.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/formats.h"
#include "formats/formats_int.h"
#include "meta_expect.h"

static int run(const char *s, struct ms_meta *m)
{
    return ms_formats_extract((const uint8_t *)s, strlen(s), m);
}

static void test_patient_resource(void **state)
{
    (void)state;
    struct ms_meta m;
    assert_int_equal(run("\xEF\xBB\xBF{\"resourceType\":\"Patient\",\"id\":\"example\","
                         "\"identifier\":[{\"use\":\"old\"},{\"system\":\"urn:oid:1.2.36\","
                         "\"value\":\"12345\"}],\"birthDate\":\"1974-12-25\"}",
                         &m),
                     0);
    assert_int_equal(m.type, MS_FMT_FHIR_JSON);
    assert_val(&m, MS_META_RESOURCE_TYPE, "Patient");
    assert_val(&m, MS_META_RESOURCE_ID, "example");
    assert_val(&m, MS_META_DATE, "1974-12-25");
    assert_val(&m, MS_META_PATIENT_KEY, "1.2.36|12345");
    assert_val(&m, MS_META_PATIENT_REF, NULL);
    assert_val(&m, MS_META_ENTRY_COUNT, NULL);
    ms_meta_fini(&m);
}

static void test_date_order_and_wrong_json_types(void **state)
{
    (void)state;
    struct ms_meta m;
    /* effectivePeriod.start comes before issued; an id that is a number is ignored. */
    assert_int_equal(run("{\"resourceType\":\"Observation\",\"id\":7,\"issued\":\"2024-02\","
                         "\"effectivePeriod\":{\"start\":\"2024-01\"},"
                         "\"subject\":{\"reference\":\"Patient/x\"}}",
                         &m),
                     0);
    assert_val(&m, MS_META_RESOURCE_ID, NULL);
    assert_val(&m, MS_META_DATE, "2024-01");
    assert_val(&m, MS_META_PATIENT_KEY, "|Patient/x");
    ms_meta_fini(&m);
    /* "patient" wins over "subject"; a logical reference gives system|value. */
    assert_int_equal(run("{\"resourceType\":\"Claim\",\"subject\":{\"reference\":\"Patient/a\"},"
                         "\"patient\":{\"identifier\":{\"system\":\"S\",\"value\":\"V\"}}}",
                         &m),
                     0);
    assert_val(&m, MS_META_PATIENT_KEY, "S|V");
    assert_val(&m, MS_META_PATIENT_REF, NULL);
    ms_meta_fini(&m);
}

static void test_contained_patient_resolves(void **state)
{
    (void)state;
    struct ms_meta m;
    assert_int_equal(run("{\"resourceType\":\"DiagnosticReport\",\"contained\":[{\"resourceType\":"
                         "\"Patient\",\"id\":\"p1\",\"identifier\":[{\"system\":\"H\","
                         "\"value\":\"9\"}]}],\"subject\":{\"reference\":\"#p1\"}}",
                         &m),
                     0);
    assert_val(&m, MS_META_PATIENT_REF, "#p1");
    assert_val(&m, MS_META_PATIENT_KEY, "H|9");
    ms_meta_fini(&m);
}

static void test_bundle(void **state)
{
    (void)state;
    struct ms_meta m;
    assert_int_equal(run("{\"resourceType\":\"Bundle\",\"id\":\"b\",\"timestamp\":\"2024-03-04\","
                         "\"entry\":[{\"fullUrl\":\"urn:uuid:o\",\"resource\":{\"resourceType\":"
                         "\"Observation\",\"subject\":{\"reference\":\"urn:uuid:p\"}}},"
                         "{\"request\":{\"method\":\"DELETE\"}},"
                         "{\"fullUrl\":\"urn:uuid:p\",\"resource\":"
                         "{\"resourceType\":\"Patient\"}}]}",
                         &m),
                     0);
    assert_val(&m, MS_META_RESOURCE_TYPE, "Bundle");
    assert_val(&m, MS_META_DATE, "2024-03-04");
    assert_val(&m, MS_META_ENTRY_COUNT, "3");
    assert_val(&m, MS_META_PATIENT_REF, "urn:uuid:p");
    assert_val(&m, MS_META_PATIENT_KEY, "|urn:uuid:p");
    ms_meta_fini(&m);
}

static void test_refusals(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        int rc;
    } cases[] = {
        {"{\"resourceType\":\"Patient\",}", -MEDSTORE_EFORMAT},          /* trailing comma */
        {"{'resourceType':'Patient'}", -MEDSTORE_EFORMAT},               /* single quotes */
        {"// c\n{\"resourceType\":\"Patient\"}", -MEDSTORE_EFORMAT},     /* comment */
        {"{\"resourceType\":\"Patient\"} x", -MEDSTORE_EFORMAT},         /* trailing data */
        {"{\"resourceType\":\"Pat\xC3\x28\"}", -MEDSTORE_EFORMAT},       /* invalid UTF-8 */
        {"{\"kind\":\"Patient\"}", -MEDSTORE_EFORMAT},                   /* not FHIR */
        {"{\"resourceType\":\"\"}", -MEDSTORE_EFORMAT},                  /* empty type */
        {"{\"resourceType\":\"Patient\",\"id\":\"ab", -MEDSTORE_ETRUNCATED},
        {"{", -MEDSTORE_ETRUNCATED},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct ms_meta m;
        assert_int_equal(run(cases[i].in, &m), cases[i].rc);
        assert_int_equal(m.type, MS_FMT_OTHER);
        assert_int_equal(m.detected, MS_FMT_FHIR_JSON);
        assert_non_null(m.err_detail);
        ms_meta_fini(&m);
    }
}

static void test_nesting_limit(void **state)
{
    (void)state;
    char buf[512];
    size_t n = 0;
    n += (size_t)snprintf(buf, sizeof(buf), "{\"resourceType\":\"Basic\",\"x\":");
    for (int i = 0; i < MS_FHIR_JSON_DEPTH_MAX + 2; i++)
        buf[n++] = '[';
    for (int i = 0; i < MS_FHIR_JSON_DEPTH_MAX + 2; i++)
        buf[n++] = ']';
    buf[n++] = '}';
    struct ms_meta m;
    assert_int_equal(ms_formats_extract((const uint8_t *)buf, n, &m), -MEDSTORE_ELIMIT);
    ms_meta_fini(&m);
}

static void test_ndjson(void **state)
{
    (void)state;
    struct ms_meta m;
    static const char same[] =
        "{\"resourceType\":\"Condition\",\"subject\":{\"reference\":\"Patient/1\"}}\r\n"
        "\n"
        "{\"resourceType\":\"Observation\",\"subject\":{\"reference\":\"Patient/1\"}}\n";
    assert_int_equal(run(same, &m), 0);
    assert_int_equal(m.type, MS_FMT_FHIR_NDJSON);
    assert_val(&m, MS_META_RESOURCE_TYPE, "Condition");
    assert_val(&m, MS_META_ENTRY_COUNT, "2");
    assert_val(&m, MS_META_PATIENT_KEY, "|Patient/1");
    assert_val(&m, MS_META_RESOURCE_ID, NULL);
    ms_meta_fini(&m);
    static const char differ[] =
        "{\"resourceType\":\"Patient\",\"id\":\"a\"}\n{\"resourceType\":\"Patient\",\"id\":\"b\"}";
    assert_int_equal(run(differ, &m), 0);
    assert_val(&m, MS_META_PATIENT_KEY, NULL);
    ms_meta_fini(&m);
    static const char bad_line[] = "{\"resourceType\":\"Patient\"}\n{\"resourceType\":}\n";
    assert_int_equal(run(bad_line, &m), -MEDSTORE_EFORMAT);
    assert_int_equal(m.detected, MS_FMT_FHIR_NDJSON);
    assert_true(m.err_offset >= 27 && m.err_offset < sizeof(bad_line));
    ms_meta_fini(&m);
    ms_meta_init(&m);
    assert_int_equal(ms_fhir_ndjson_extract((const uint8_t *)"\n \n", 3, &m), -MEDSTORE_EFORMAT);
    ms_meta_fini(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_patient_resource),
        cmocka_unit_test(test_date_order_and_wrong_json_types),
        cmocka_unit_test(test_contained_patient_resolves),
        cmocka_unit_test(test_bundle),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_nesting_limit),
        cmocka_unit_test(test_ndjson),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
