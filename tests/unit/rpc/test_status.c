/*
 * test_status.c - src/rpc/status.c: reasons and the status mapping are complete, unique and
 * round trip; the table agrees with common/err.c's gRPC statuses.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "rpc/captoken.h"
#include "rpc/rpc.h"
#include "rpc/rpc_int.h"

static void test_every_medstore_code_has_a_distinct_reason(void **state)
{
    (void)state;
    for (int c = MEDSTORE_EBASE; c <= MEDSTORE_ELAST; c++) {
        const char *r = ms_rpc_reason_of_code(-c);
        assert_true(ms_rpc_reason_is_valid(r));
        assert_int_equal(ms_rpc_code_of_reason(r), -c);
        for (int d = MEDSTORE_EBASE; d < c; d++)
            assert_string_not_equal(r, ms_rpc_reason_of_code(-d));
    }
}

static void test_table_rows_unique_and_round_trip(void **state)
{
    (void)state;
    int code, code2;
    const char *reason, *reason2;
    unsigned n = 0;
    for (unsigned i = 0; ms_rpc_reason_table_row(i, &code, &reason) == 0; i++, n++) {
        assert_true(code < 0);
        assert_true(ms_rpc_reason_is_valid(reason));
        assert_int_equal(ms_rpc_code_of_reason(reason), code);
        assert_true(ms_err_is_known(code)); /* a row for a code err.c does not know is a bug */
        for (unsigned j = 0; j < i; j++) {
            assert_int_equal(ms_rpc_reason_table_row(j, &code2, &reason2), 0);
            assert_string_not_equal(reason, reason2);
        }
    }
    assert_true(n >= 60);
    assert_int_equal(ms_rpc_reason_table_row(n, &code, &reason), -ENOENT);
}

static void test_examples_from_the_brief(void **state)
{
    (void)state;
    assert_string_equal(ms_rpc_reason_of_code(-MEDSTORE_ESHREDDED), "shredded");
    assert_string_equal(ms_rpc_reason_of_code(-MEDSTORE_EPLACEMENT), "placement");
    assert_string_equal(ms_rpc_reason_of_code(-MEDSTORE_EEXIST), "exists");
    assert_string_equal(ms_rpc_reason_of_code(-MEDSTORE_ECORRUPT), "corrupt");
    assert_string_equal(ms_rpc_reason_of_code(-ENOSPC), "disk-full");
    assert_int_equal(ms_rpc_code_of_reason("token-expired"), -MEDSTORE_ETOKEN);
    assert_string_equal(ms_rpc_reason_of_code(0), "");
    assert_string_equal(ms_rpc_reason_of_code(-12345), "internal");
}

static void test_unknown_and_malformed_reasons(void **state)
{
    (void)state;
    assert_int_equal(ms_rpc_code_of_reason("no-such-reason"), 0);
    assert_int_equal(ms_rpc_code_of_reason(""), 0);
    assert_int_equal(ms_rpc_code_of_reason("Shredded"), 0);
    assert_false(ms_rpc_reason_is_valid(""));
    assert_false(ms_rpc_reason_is_valid("a b"));
    assert_false(ms_rpc_reason_is_valid("x\n"));
    assert_false(ms_rpc_reason_is_valid("abcdefghijklmnopqrstuvwxyz012345")); /* 32 chars */
    assert_true(ms_rpc_reason_is_valid("abcdefghijklmnopqrstuvwxyz01234"));  /* 31 */
}

/* Without a reason, each gRPC status maps to a code that maps back to the same status. */
static void test_grpc_status_fallback(void **state)
{
    (void)state;
    assert_int_equal(ms_rpc_code_of_grpc_status(0), 0);
    for (int s = 1; s <= 16; s++) {
        int code = ms_rpc_code_of_grpc_status(s);
        assert_true(code < 0);
        if (s != 2 && s != 9 && s != 10) /* UNKNOWN, FAILED_PRECONDITION, ABORTED: coarse */
            assert_int_equal(ms_err_grpc_status(code), s);
    }
    assert_int_equal(ms_rpc_code_of_grpc_status(14), -MEDSTORE_EUNAVAIL);
    assert_int_equal(ms_rpc_code_of_grpc_status(4), -ETIMEDOUT);
    assert_int_equal(ms_rpc_code_of_grpc_status(99), -MEDSTORE_EINTERNAL);
}

/* Every capability-token rejection reason (captoken.h) is known and maps to ETOKEN. */
static void test_captoken_reasons_known__Y_TRN_2(void **state)
{
    (void)state;
    for (int r = MS_CAPTOKEN_OK + 1; r < MS_CAPTOKEN_R_COUNT; r++) {
        const char *reason = ms_captoken_reason_str((enum ms_captoken_reason)r);
        assert_true(ms_rpc_reason_is_valid(reason));
        assert_int_equal(ms_rpc_code_of_reason(reason), -MEDSTORE_ETOKEN);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_medstore_code_has_a_distinct_reason),
        cmocka_unit_test(test_table_rows_unique_and_round_trip),
        cmocka_unit_test(test_examples_from_the_brief),
        cmocka_unit_test(test_unknown_and_malformed_reasons),
        cmocka_unit_test(test_grpc_status_fallback),
        cmocka_unit_test(test_captoken_reasons_known__Y_TRN_2),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
