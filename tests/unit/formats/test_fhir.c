/*
 * test_fhir.c - the format-neutral FHIR summary (src/formats/fhir.c), fed directly with
 * struct ms_fhir_res: the patient key and reference rules of docs/formats/patient-key.md.
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

static struct ms_str S(const char *s)
{
    struct ms_str r = {s, s ? strlen(s) : 0};
    return r;
}

static struct ms_fhir_res patient(const char *id, const char *url, const char *sys,
                                  const char *val)
{
    struct ms_fhir_res r;
    memset(&r, 0, sizeof(r));
    r.type = S("Patient");
    r.id = S(id);
    r.full_url = S(url);
    r.ident_sys = S(sys);
    r.ident_val = S(val);
    return r;
}

static struct ms_fhir_res observation(const char *ref)
{
    struct ms_fhir_res r;
    memset(&r, 0, sizeof(r));
    r.type = S("Observation");
    r.id = S("obs1");
    r.ref = S(ref);
    r.date = S("2024-01-02");
    return r;
}

/* Emits s into a fresh meta and checks reference and key. */
static void expect(const struct ms_fhir_sum *s, const char *ref, const char *key)
{
    struct ms_meta m;
    ms_meta_init(&m);
    assert_int_equal(ms_fhir_sum_emit(s, &m), 0);
    assert_val(&m, MS_META_PATIENT_REF, ref);
    assert_val(&m, MS_META_PATIENT_KEY, key);
    ms_meta_fini(&m);
}

static void test_patient_key_from_identifier_or_self_reference(void **state)
{
    (void)state;
    struct ms_fhir_sum s;
    ms_fhir_sum_init(&s);
    s.top = patient("p1", NULL, "urn:oid:1.2.36.1", "12345");
    expect(&s, NULL, "1.2.36.1|12345");
    s.top = patient("p1", NULL, NULL, "12345"); /* identifier without system */
    expect(&s, NULL, "|12345");
    s.top = patient("p1", NULL, NULL, NULL);
    expect(&s, NULL, "|Patient/p1");
    s.top = patient(NULL, NULL, NULL, NULL);
    expect(&s, NULL, NULL);
    ms_fhir_sum_fini(&s);
}

static void test_reference_resolution_in_a_bundle(void **state)
{
    (void)state;
    struct ms_fhir_sum s;
    ms_fhir_sum_init(&s);
    s.top.type = S("Bundle");
    s.is_bundle = true;
    s.n_entries = 3;
    struct ms_fhir_res o = observation("urn:uuid:abc");
    assert_int_equal(ms_fhir_sum_add_entry(&s, &o), 0);
    /* The first Patient entry decides, wherever it stands. */
    struct ms_fhir_res p = patient("abc", "urn:uuid:abc", "https://x", "77");
    assert_int_equal(ms_fhir_sum_add_entry(&s, &p), 0);
    expect(&s, "urn:uuid:abc", "https://x|77");
    struct ms_meta m;
    ms_meta_init(&m);
    assert_int_equal(ms_fhir_sum_emit(&s, &m), 0);
    assert_val(&m, MS_META_ENTRY_COUNT, "3");
    assert_val(&m, MS_META_RESOURCE_TYPE, "Bundle");
    assert_val(&m, MS_META_DATE, NULL);
    ms_meta_fini(&m);
    ms_fhir_sum_fini(&s);
    /* Without a Patient entry: the first entry with a patient reference, taken literally. */
    ms_fhir_sum_init(&s);
    s.top.type = S("Bundle");
    s.is_bundle = true;
    struct ms_fhir_res g = observation("Group/101"); /* not a patient: skipped */
    assert_int_equal(ms_fhir_sum_add_entry(&s, &g), 0);
    struct ms_fhir_res o2 = observation("Patient/pat2");
    assert_int_equal(ms_fhir_sum_add_entry(&s, &o2), 0);
    expect(&s, "Patient/pat2", "|Patient/pat2");
    ms_fhir_sum_fini(&s);
}

static void test_single_resource_references(void **state)
{
    (void)state;
    struct ms_fhir_sum s;
    ms_fhir_sum_init(&s);
    s.top = observation("Patient/example");
    expect(&s, "Patient/example", "|Patient/example");
    s.top = observation("https://srv/fhir/Patient/example");
    expect(&s, "https://srv/fhir/Patient/example", "|https://srv/fhir/Patient/example");
    s.top = observation("Group/1");
    expect(&s, NULL, NULL);
    s.top = observation("Group/1");
    s.top.ref_typed_patient = true; /* reference.type says Patient */
    expect(&s, "Group/1", "|Group/1");
    /* A logical reference: identifier only. */
    s.top = observation(NULL);
    s.top.ref_is_patient_elem = true;
    s.top.ref_sys = S("urn:oid:9.8");
    s.top.ref_val = S("X1");
    expect(&s, NULL, "9.8|X1");
    /* A contained Patient resolves "#p". */
    s.top = observation("#p");
    struct ms_fhir_res c = patient("p", NULL, "sys", "C1");
    assert_int_equal(ms_fhir_sum_add_patient(&s, &c), 0);
    expect(&s, "#p", "sys|C1");
    /* A relative reference resolves against a Patient with that id. */
    s.top = observation("Patient/p");
    expect(&s, "Patient/p", "sys|C1");
    s.top = observation("xPatient/p"); /* not "Patient/<id>" */
    expect(&s, NULL, NULL);
    ms_fhir_sum_fini(&s);
}

static void test_patient_table_is_bounded(void **state)
{
    (void)state;
    struct ms_fhir_sum s;
    ms_fhir_sum_init(&s);
    struct ms_fhir_res p = patient("same", NULL, NULL, "1");
    for (unsigned i = 0; i < MS_FHIR_PATIENTS_MAX + 10; i++)
        assert_int_equal(ms_fhir_sum_add_patient(&s, &p), 0);
    assert_int_equal(s.n_patients, MS_FHIR_PATIENTS_MAX);
    ms_fhir_sum_fini(&s);
    assert_null(s.patients);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_patient_key_from_identifier_or_self_reference),
        cmocka_unit_test(test_reference_resolution_in_a_bundle),
        cmocka_unit_test(test_single_resource_references),
        cmocka_unit_test(test_patient_table_is_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
