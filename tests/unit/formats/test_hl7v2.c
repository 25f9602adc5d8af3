/*
 * test_hl7v2.c - the HL7 v2 reader (src/formats/hl7v2.c): separators, byte order mark,
 * delimiters other than the usual ones, escapes, PID-3 assigning authority, refusals.
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

static int run(const char *msg, struct ms_meta *m)
{
    return ms_formats_extract((const uint8_t *)msg, strlen(msg), m);
}

#define MSH "MSH|^~\\&|APP|FAC|RAPP|RFAC|20240102030405+0100||ADT^A01^ADT_A01|CTRL42|P|2.5"
#define PID "PID|1||ID123^^^HOSP&1.2.3&ISO^MR~OTHER^^^X||Doe^Jane"

static void check_adt(const char *msg)
{
    struct ms_meta m;
    assert_int_equal(run(msg, &m), 0);
    assert_int_equal(m.type, MS_FMT_HL7V2);
    assert_val(&m, MS_META_MESSAGE_TYPE, "ADT^A01");
    assert_val(&m, MS_META_CONTROL_ID, "CTRL42");
    assert_val(&m, MS_META_MESSAGE_TIME, "20240102030405+0100");
    assert_val(&m, MS_META_PATIENT_ID, "ID123");
    assert_val(&m, MS_META_ISSUER, "1.2.3"); /* universal ID preferred to the namespace */
    assert_val(&m, MS_META_PATIENT_KEY, "1.2.3|ID123");
    ms_meta_fini(&m);
}

static void test_segment_separators_cr_lf_crlf_and_bom(void **state)
{
    (void)state;
    check_adt(MSH "\r" PID "\r");
    check_adt(MSH "\n" PID "\n");
    check_adt(MSH "\r\n" PID "\r\n");
    check_adt(MSH "\r\n\r\n" PID); /* empty segments skipped, no final separator */
    check_adt("\xEF\xBB\xBF" MSH "\r" PID "\r");
}

static void test_other_delimiters_and_escapes(void **state)
{
    (void)state;
    const char *msg = "MSH#$%!*#A#B#C#D#20240101##ORU$R01#C\\X\\1!F!2\r"
                      "PID#1##A!T!B$$$NS*UNI##X\r";
    struct ms_meta m;
    assert_int_equal(run(msg, &m), 0);
    assert_val(&m, MS_META_MESSAGE_TYPE, "ORU^R01");
    assert_val(&m, MS_META_CONTROL_ID, "C\\X\\1#2"); /* \X..\ kept; !F! is the separator */
    assert_val(&m, MS_META_PATIENT_ID, "A*B");
    assert_val(&m, MS_META_ISSUER, "UNI");
    ms_meta_fini(&m);
}

static void test_issuer_namespace_when_no_universal_id(void **state)
{
    (void)state;
    struct ms_meta m;
    assert_int_equal(run(MSH "\rPID|1||3196695816^^^SIM MRN^MRN\r", &m), 0);
    assert_val(&m, MS_META_ISSUER, "SIM MRN");
    assert_val(&m, MS_META_PATIENT_KEY, "SIM MRN|3196695816");
    ms_meta_fini(&m);
    assert_int_equal(run(MSH "\rPID|1||777\r", &m), 0);
    assert_val(&m, MS_META_ISSUER, NULL);
    assert_val(&m, MS_META_PATIENT_KEY, "|777");
    ms_meta_fini(&m);
    assert_int_equal(run(MSH "\rEVN|A01\r", &m), 0); /* no PID: no key */
    assert_val(&m, MS_META_PATIENT_KEY, NULL);
    assert_val(&m, MS_META_MESSAGE_TYPE, "ADT^A01");
    ms_meta_fini(&m);
}

static void test_refusals(void **state)
{
    (void)state;
    struct ms_meta m;
    /* MSH-9 is required. */
    assert_int_equal(run("MSH|^~\\&|A|B|C|D|20240101||\rPID|1||X\r", &m), -MEDSTORE_EFORMAT);
    assert_int_equal(m.type, MS_FMT_OTHER);
    assert_int_equal(m.detected, MS_FMT_HL7V2);
    ms_meta_fini(&m);
    /* Encoding characters: too few, alphanumeric, component == repetition. */
    const char *bad[] = {"MSH|^~|A\r", "MSH|^~A&|A\r", "MSH|^^\\&|A\r", "MSH|^~\\&%#|A\r"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(run(bad[i], &m), -MEDSTORE_EFORMAT);
        ms_meta_fini(&m);
    }
    /* Direct call on something that is not HL7 v2. */
    ms_meta_init(&m);
    assert_int_equal(ms_hl7v2_extract((const uint8_t *)"MSX|", 4, &m), -MEDSTORE_EFORMAT);
    ms_meta_fini(&m);
}

static void test_value_over_the_limit_is_refused(void **state)
{
    (void)state;
    char msg[4096];
    char id[MS_META_VALUE_MAX_BYTES + 2];
    memset(id, '7', sizeof(id) - 1);
    id[sizeof(id) - 1] = '\0';
    snprintf(msg, sizeof(msg), MSH "\rPID|1||%s\r", id);
    struct ms_meta m;
    assert_int_equal(run(msg, &m), -MEDSTORE_ELIMIT);
    ms_meta_fini(&m);
}

/* Every prefix of a message: a clean result or a clean refusal. */
static void test_every_prefix_is_handled(void **state)
{
    (void)state;
    const char *msg = "\xEF\xBB\xBF" MSH "\r" PID "\r";
    for (size_t n = 0; n <= strlen(msg); n++) {
        struct ms_meta m;
        int rc = ms_formats_extract((const uint8_t *)msg, n, &m);
        assert_true(rc == 0 || rc == -MEDSTORE_EFORMAT);
        ms_meta_fini(&m);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_segment_separators_cr_lf_crlf_and_bom),
        cmocka_unit_test(test_other_delimiters_and_escapes),
        cmocka_unit_test(test_issuer_namespace_when_no_universal_id),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_value_over_the_limit_is_refused),
        cmocka_unit_test(test_every_prefix_is_handled),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
