/*
 * test_ids.c - object id hex encoding: round trip, and the decoder refuses anything that is
 * not exactly 32 hex digits, so no file name built from an id can hold '/', '.' or NUL
 * (Y-QRY-3: no path is ever built from client text).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "common/ids.h"
#include "testutil.h"

static void test_hex_round_trip(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 64; seed++) {
        struct ms_oid a, b;
        char hex[MS_OID_HEX_LEN + 1];
        ms_test_fill(a.b, sizeof(a.b), seed);
        ms_oid_to_hex(&a, hex);
        assert_int_equal(strlen(hex), MS_OID_HEX_LEN);
        for (size_t i = 0; i < MS_OID_HEX_LEN; i++)
            assert_non_null(strchr("0123456789abcdef", hex[i]));
        assert_int_equal(ms_oid_from_hex(hex, MS_OID_HEX_LEN, &b), 0);
        assert_memory_equal(a.b, b.b, MS_OID_BYTES);
        assert_true(ms_oid_equal(&a, &b));
    }
}

static void test_known_value_and_upper_case(void **state)
{
    (void)state;
    struct ms_oid a;
    for (size_t i = 0; i < MS_OID_BYTES; i++)
        a.b[i] = (uint8_t)(i * 17);
    char hex[MS_OID_HEX_LEN + 1];
    ms_oid_to_hex(&a, hex);
    assert_string_equal(hex, "00112233445566778899aabbccddeeff");
    struct ms_oid b;
    assert_int_equal(ms_oid_from_hex("00112233445566778899AABBCCDDEEFF", 32, &b), 0);
    assert_true(ms_oid_equal(&a, &b));
}

static void test_rejects_slash_and_non_hex__Y_QRY_3(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "0011223344556677/899aabbccddeeff", "../11223344556677889900aabbccdde",
        "0011223344556677889900aabbccdde.", "g0112233445566778899aabbccddeeff",
        "0011223344556677 899aabbccddeeff", "-0112233445566778899aabbccddeeff",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct ms_oid o;
        memset(o.b, 0x5a, sizeof(o.b));
        assert_int_equal(strlen(bad[i]), MS_OID_HEX_LEN);
        assert_int_equal(ms_oid_from_hex(bad[i], MS_OID_HEX_LEN, &o), -EINVAL);
        for (size_t j = 0; j < MS_OID_BYTES; j++)
            assert_int_equal(o.b[j], 0x5a); /* filled only on success */
    }
    /* An embedded NUL is not a hex digit either. */
    char nul[MS_OID_HEX_LEN];
    memset(nul, 'a', sizeof(nul));
    nul[7] = '\0';
    struct ms_oid o;
    assert_int_equal(ms_oid_from_hex(nul, sizeof(nul), &o), -EINVAL);
}

static void test_rejects_wrong_length(void **state)
{
    (void)state;
    const char *hex = "00112233445566778899aabbccddeeff00";
    struct ms_oid o;
    assert_int_equal(ms_oid_from_hex(hex, 31, &o), -EINVAL);
    assert_int_equal(ms_oid_from_hex(hex, 33, &o), -EINVAL);
    assert_int_equal(ms_oid_from_hex(hex, 0, &o), -EINVAL);
    assert_int_equal(ms_oid_from_hex(NULL, 32, &o), -EINVAL);
    assert_int_equal(ms_oid_from_hex(hex, 32, &o), 0);
}

static void test_nil_and_equal(void **state)
{
    (void)state;
    struct ms_oid a, b;
    memset(&a, 0, sizeof(a));
    assert_true(ms_oid_is_nil(&a));
    b = a;
    b.b[MS_OID_BYTES - 1] = 1;
    assert_false(ms_oid_is_nil(&b));
    assert_false(ms_oid_equal(&a, &b));
    b.b[MS_OID_BYTES - 1] = 0;
    assert_true(ms_oid_equal(&a, &b));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hex_round_trip),
        cmocka_unit_test(test_known_value_and_upper_case),
        cmocka_unit_test(test_rejects_slash_and_non_hex__Y_QRY_3),
        cmocka_unit_test(test_rejects_wrong_length),
        cmocka_unit_test(test_nil_and_equal),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
