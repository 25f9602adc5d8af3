/*
 * test_cda.c - C-CDA (src/formats/cda.c): recordTarget id rules, document code, effective
 * time, the root check.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "formats/formats.h"
#include "formats/formats_int.h"
#include "meta_expect.h"

/* A ClinicalDocument whose patientRole holds ids. */
static int run_doc(const char *ids, struct ms_meta *m)
{
    char doc[2048];
    int n = snprintf(doc, sizeof(doc),
                     "<?xml version=\"1.0\"?><ClinicalDocument xmlns=\"urn:hl7-org:v3\">"
                     "<code code=\"34133-9\" codeSystem=\"2.16.840.1.113883.6.1\"/>"
                     "<effectiveTime value=\"20141015103026-0500\"/>"
                     "<recordTarget><patientRole>%s<addr/></patientRole></recordTarget>"
                     "<recordTarget><patientRole><id root=\"9.9\" extension=\"LATER\"/>"
                     "</patientRole></recordTarget></ClinicalDocument>",
                     ids);
    assert_true(n > 0 && (size_t)n < sizeof(doc));
    return ms_formats_extract((const uint8_t *)doc, (size_t)n, m);
}

static void test_first_id_with_extension(void **state)
{
    (void)state;
    struct ms_meta m;
    assert_int_equal(run_doc("<id nullFlavor=\"NI\"/><id root=\"1.1\"/>"
                             "<id extension=\"98765432\" root=\"1.3.6.1.4.1.16517.1\"/>"
                             "<id extension=\"2\" root=\"2.16.840.1.113883.4.1\"/>",
                             &m),
                     0);
    assert_int_equal(m.type, MS_FMT_CDA);
    assert_val(&m, MS_META_PATIENT_ID, "98765432");
    assert_val(&m, MS_META_ISSUER, "1.3.6.1.4.1.16517.1");
    assert_val(&m, MS_META_PATIENT_KEY, "1.3.6.1.4.1.16517.1|98765432");
    assert_val(&m, MS_META_DOC_CODE, "34133-9");
    assert_val(&m, MS_META_EFFECTIVE_TIME, "20141015103026-0500");
    ms_meta_fini(&m);
}

static void test_root_only_id_is_the_identifier(void **state)
{
    (void)state;
    struct ms_meta m;
    assert_int_equal(run_doc("<id nullFlavor=\"UNK\"/><id root=\"2.25.1234\"/>", &m), 0);
    assert_val(&m, MS_META_PATIENT_ID, "2.25.1234");
    assert_val(&m, MS_META_ISSUER, NULL);
    assert_val(&m, MS_META_PATIENT_KEY, "|2.25.1234");
    ms_meta_fini(&m);
    assert_int_equal(run_doc("", &m), 0);
    assert_val(&m, MS_META_PATIENT_KEY, NULL);
    assert_val(&m, MS_META_DOC_CODE, "34133-9");
    ms_meta_fini(&m);
}

static void test_refusals(void **state)
{
    (void)state;
    struct ms_meta m;
    static const char wrong_ns[] = "<ClinicalDocument xmlns=\"urn:other\"/>";
    assert_int_equal(ms_formats_extract((const uint8_t *)wrong_ns, sizeof(wrong_ns) - 1, &m),
                     -MEDSTORE_EFORMAT);
    assert_int_equal(m.detected, MS_FMT_CDA);
    ms_meta_fini(&m);
    static const char cut[] = "<ClinicalDocument xmlns=\"urn:hl7-org:v3\"><recordTarget>";
    assert_int_equal(ms_formats_extract((const uint8_t *)cut, sizeof(cut) - 1, &m),
                     -MEDSTORE_EFORMAT);
    ms_meta_fini(&m);
    ms_meta_init(&m);
    static const char other_root[] = "<Document xmlns=\"urn:hl7-org:v3\"/>";
    assert_int_equal(ms_cda_extract((const uint8_t *)other_root, sizeof(other_root) - 1, &m),
                     -MEDSTORE_EFORMAT);
    ms_meta_fini(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_first_id_with_extension),
        cmocka_unit_test(test_root_only_id_is_the_identifier),
        cmocka_unit_test(test_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
