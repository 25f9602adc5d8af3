/*
 * test_meta.c - struct ms_meta (src/formats/meta.c): arena and setters, Latin-1 conversion,
 * the value limit, the canonical patient key, key and type names, the kv list, JSON
 * escaping.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "formats/formats.h"
#include "formats/formats_int.h"
#include "meta_expect.h"

static void test_set_get_and_many_values_stay_valid(void **state)
{
    (void)state;
    struct ms_meta m;
    ms_meta_init(&m);
    assert_int_equal(m.type, MS_FMT_OTHER);
    assert_null(ms_meta_get(&m, MS_META_PATIENT_ID));
    assert_int_equal(ms_meta_set(&m, MS_META_PATIENT_ID, "abc", 3), 0);
    const char *first = ms_meta_get(&m, MS_META_PATIENT_ID)->ptr;
    /* Enough values to need several arena blocks: earlier pointers stay valid. */
    char big[MS_META_VALUE_MAX_BYTES];
    memset(big, 'x', sizeof(big));
    for (int i = 0; i < 20; i++)
        assert_int_equal(ms_meta_set(&m, MS_META_DATE, big, sizeof(big)), 0);
    assert_memory_equal(first, "abc", 3);
    assert_val(&m, MS_META_PATIENT_ID, "abc");
    assert_int_equal(ms_meta_set(&m, MS_META_STUDY_DATE, "", 0), 0);
    assert_val(&m, MS_META_STUDY_DATE, "");
    assert_int_equal(ms_meta_set_u64(&m, MS_META_ENTRY_COUNT, 18446744073709551615ull), 0);
    assert_val(&m, MS_META_ENTRY_COUNT, "18446744073709551615");
    ms_meta_fini(&m);
    assert_null(m.arena);
    ms_meta_fini(&m); /* twice is fine */
    ms_meta_fini(NULL);
}

static void test_value_limit(void **state)
{
    (void)state;
    struct ms_meta m;
    ms_meta_init(&m);
    char big[MS_META_VALUE_MAX_BYTES + 1];
    memset(big, 'y', sizeof(big));
    assert_int_equal(ms_meta_set(&m, MS_META_PATIENT_ID, big, sizeof(big) - 1), 0);
    assert_int_equal(ms_meta_set(&m, MS_META_PATIENT_NAME, big, sizeof(big)), -MEDSTORE_ELIMIT);
    assert_non_null(m.err_detail);
    assert_null(ms_meta_get(&m, MS_META_PATIENT_NAME));
    /* 600 Latin-1 bytes above 0x7F need 1200 UTF-8 bytes: over the limit. */
    memset(big, 0xE9, 600);
    assert_int_equal(ms_meta_set_latin1(&m, MS_META_PATIENT_NAME, big, 600), -MEDSTORE_ELIMIT);
    ms_meta_fini(&m);
}

static void test_latin1_to_utf8(void **state)
{
    (void)state;
    struct ms_meta m;
    ms_meta_init(&m);
    assert_int_equal(ms_meta_set_latin1(&m, MS_META_PATIENT_NAME, "J\xE9r\xF4me\xFF", 7), 0);
    assert_val(&m, MS_META_PATIENT_NAME, "J\xC3\xA9r\xC3\xB4me\xC3\xBF");
    assert_int_equal(ms_meta_set_latin1(&m, MS_META_PATIENT_ID, "plain", 5), 0);
    assert_val(&m, MS_META_PATIENT_ID, "plain");
    ms_meta_fini(&m);
}

static void test_patient_key_rules(void **state)
{
    (void)state;
    struct ms_meta m;
    ms_meta_init(&m);
    assert_int_equal(ms_meta_set_patient_key(&m, "HOSP", 4, "123", 3), 0);
    assert_val(&m, MS_META_PATIENT_KEY, "HOSP|123");
    assert_int_equal(ms_meta_set_patient_key(&m, "urn:oid:1.2.3", 13, "9", 1), 0);
    assert_val(&m, MS_META_PATIENT_KEY, "1.2.3|9");
    assert_int_equal(ms_meta_set_patient_key(&m, "", 0, "9", 1), 0);
    assert_val(&m, MS_META_PATIENT_KEY, "|9");
    assert_int_equal(ms_meta_set_patient_key(&m, "a|b\\", 4, "c|d", 3), 0);
    assert_val(&m, MS_META_PATIENT_KEY, "a\\|b\\\\|c\\|d");
    assert_int_equal(ms_meta_set_patient_key(&m, "urn:oid:", 8, "9", 1), 0);
    assert_val(&m, MS_META_PATIENT_KEY, "urn:oid:|9"); /* nothing after the prefix: kept */
    ms_meta_fini(&m);
    ms_meta_init(&m);
    assert_int_equal(ms_meta_set_patient_key(&m, "HOSP", 4, "", 0), 0); /* no id, no key */
    assert_null(ms_meta_get(&m, MS_META_PATIENT_KEY));
    char big[MS_META_VALUE_MAX_BYTES];
    memset(big, '|', sizeof(big)); /* escaping doubles it: over the limit */
    assert_int_equal(ms_meta_set_patient_key(&m, "", 0, big, sizeof(big)), -MEDSTORE_ELIMIT);
    ms_meta_fini(&m);
}

static void test_names_and_kv_order(void **state)
{
    (void)state;
    for (int k = 0; k < MS_META_KEY_COUNT; k++) {
        const char *name = ms_meta_key_name((enum ms_meta_key)k);
        assert_non_null(name);
        assert_int_equal(ms_meta_key_from_name(name, strlen(name)), k);
    }
    assert_null(ms_meta_key_name(MS_META_KEY_COUNT));
    assert_int_equal(ms_meta_key_from_name("PatientId", 9), -ENOENT);
    assert_string_equal(ms_meta_key_name(MS_META_PATIENT_ID), "PatientID");
    assert_string_equal(ms_meta_key_name(MS_META_RESOURCE_TYPE), "resourceType");
    assert_string_equal(ms_formats_type_name(MS_FMT_FHIR_NDJSON), "fhir-ndjson");
    assert_string_equal(ms_formats_type_name(MS_FMT_COUNT), "other");
    struct ms_meta m;
    ms_meta_init(&m);
    assert_int_equal(ms_meta_set(&m, MS_META_DURATION_MS, "1", 1), 0);
    assert_int_equal(ms_meta_set(&m, MS_META_PATIENT_ID, "2", 1), 0);
    ms_meta_build_kv(&m);
    assert_int_equal(m.n_kv, 2);
    assert_int_equal(m.kv[0].key, MS_META_PATIENT_ID);
    assert_string_equal(m.kv[1].name, "durationMs");
    ms_meta_clear_fields(&m);
    ms_meta_build_kv(&m);
    assert_int_equal(m.n_kv, 0);
    ms_meta_fini(&m);
}

static void test_first_failure_reason_wins(void **state)
{
    (void)state;
    struct ms_meta m;
    ms_meta_init(&m);
    assert_int_equal(ms_meta_fail(&m, -MEDSTORE_EFORMAT, "first", 7), -MEDSTORE_EFORMAT);
    assert_int_equal(ms_meta_fail(&m, -ENOMEM, "second", 9), -ENOMEM);
    assert_string_equal(m.err_detail, "first");
    assert_int_equal(m.err_offset, 7);
    ms_meta_fini(&m);
}

static void check_escape(const char *in, size_t n, const char *want)
{
    char out[256];
    size_t need = ms_json_escape(in, n, out, sizeof(out));
    assert_int_equal(need, strlen(want));
    assert_string_equal(out, want);
}

static void test_json_escape(void **state)
{
    (void)state;
    check_escape("plain", 5, "plain");
    check_escape("a\"b\\c", 5, "a\\\"b\\\\c");
    check_escape("\n\t\x01\x7F", 4, "\\u000a\\u0009\\u0001\\u007f");
    check_escape("nul\0x", 5, "nul\\u0000x");
    check_escape("\xC3\xA9\xE7\x8E\x8B\xF0\x9F\x98\x80", 9, "\xC3\xA9\xE7\x8E\x8B\xF0\x9F\x98\x80");
    check_escape("\xE9t\xE9", 3, "\xEF\xBF\xBDt\xEF\xBF\xBD");           /* Latin-1 bytes */
    check_escape("\xC0\xAF", 2, "\xEF\xBF\xBD\xEF\xBF\xBD");             /* overlong */
    check_escape("\xED\xA0\x80", 3, "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"); /* surrogate */
    check_escape("\xF4\x90\x80\x80", 4,
                 "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"); /* > U+10FFFF */
    check_escape("\xE7\x8E", 2, "\xEF\xBF\xBD\xEF\xBF\xBD");           /* cut sequence */
    /* Output too small: truncated, NUL-terminated, full length returned. */
    char small[4];
    assert_int_equal(ms_json_escape("abcdef", 6, small, sizeof(small)), 6);
    assert_string_equal(small, "abc");
    assert_int_equal(ms_json_escape("\x01", 1, NULL, 0), 6);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_set_get_and_many_values_stay_valid),
        cmocka_unit_test(test_value_limit),
        cmocka_unit_test(test_latin1_to_utf8),
        cmocka_unit_test(test_patient_key_rules),
        cmocka_unit_test(test_names_and_kv_order),
        cmocka_unit_test(test_first_failure_reason_wins),
        cmocka_unit_test(test_json_escape),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
