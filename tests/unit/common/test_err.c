/*
 * test_err.c - the error table of src/common/err.c is complete and consistent.
 *
 * Walks the table through ms_err_table_row(): every MEDSTORE_E* code from MEDSTORE_EBASE to
 * MEDSTORE_ELAST has exactly one row with a unique name, non-empty text and a gRPC status in
 * 0..16; names and codes are unique across the whole table (errno rows included); and the
 * mappings the RPC layer relies on are pinned (Y-QRY-3: bad input gets a precise status).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "common/err.h"

#define GRPC_STATUS_MAX 16

struct row {
    int code;
    const char *name;
    int status;
};

/* Reads the whole table into rows (at most cap); returns the count. */
static unsigned table_read(struct row *rows, unsigned cap)
{
    unsigned n = 0;
    for (;;) {
        struct row r;
        int rc = ms_err_table_row(n, &r.code, &r.name, &r.status);
        if (rc == -ENOENT)
            break;
        assert_int_equal(rc, 0);
        assert_true(n < cap);
        rows[n++] = r;
    }
    return n;
}

static void test_every_medstore_code_has_one_row(void **state)
{
    (void)state;
    struct row rows[256];
    unsigned n = table_read(rows, 256);
    for (int c = MEDSTORE_EBASE; c <= MEDSTORE_ELAST; c++) {
        unsigned found = 0;
        for (unsigned i = 0; i < n; i++)
            if (rows[i].code == -c)
                found++;
        assert_int_equal(found, 1);
        assert_true(ms_err_is_known(-c));
        assert_string_not_equal(ms_err_name(-c), "EUNKNOWN");
    }
}

static void test_rows_are_well_formed(void **state)
{
    (void)state;
    struct row rows[256];
    unsigned n = table_read(rows, 256);
    assert_true(n >= (unsigned)(MEDSTORE_ELAST - MEDSTORE_EBASE + 1));
    for (unsigned i = 0; i < n; i++) {
        assert_true(rows[i].code < 0);
        assert_non_null(rows[i].name);
        assert_true(strlen(rows[i].name) > 0);
        assert_string_equal(ms_err_name(rows[i].code), rows[i].name);
        const char *text = medstore_strerror(rows[i].code);
        assert_non_null(text);
        assert_true(strlen(text) > 0);
        assert_string_not_equal(text, "unknown error");
        assert_in_range(rows[i].status, 0, GRPC_STATUS_MAX);
        /* A failure never maps to OK: the caller would think it worked. */
        assert_int_not_equal(rows[i].status, 0);
        assert_int_equal(ms_err_grpc_status(rows[i].code), rows[i].status);
        assert_true(ms_err_is_known(rows[i].code));
    }
}

static void test_names_and_codes_unique(void **state)
{
    (void)state;
    struct row rows[256];
    unsigned n = table_read(rows, 256);
    for (unsigned i = 0; i < n; i++) {
        for (unsigned j = i + 1; j < n; j++) {
            assert_string_not_equal(rows[i].name, rows[j].name);
            assert_int_not_equal(rows[i].code, rows[j].code);
        }
    }
}

static void test_grpc_mappings__Y_QRY_3(void **state)
{
    (void)state;
    assert_int_equal(ms_err_grpc_status(-MEDSTORE_ECORRUPT), 15);  /* DATA_LOSS */
    assert_int_equal(ms_err_grpc_status(-MEDSTORE_ETOKEN), 7);     /* PERMISSION_DENIED */
    assert_int_equal(ms_err_grpc_status(-ENOSPC), 8);              /* RESOURCE_EXHAUSTED */
    assert_int_equal(ms_err_grpc_status(-EINVAL), 3);              /* INVALID_ARGUMENT */
    assert_int_equal(ms_err_grpc_status(-MEDSTORE_ENOTFOUND), 5);  /* NOT_FOUND */
    assert_int_equal(ms_err_grpc_status(-MEDSTORE_EEXIST), 6);     /* ALREADY_EXISTS */
}

static void test_success_and_unknown_codes(void **state)
{
    (void)state;
    assert_string_equal(ms_err_name(0), "OK");
    assert_string_equal(medstore_strerror(0), "success");
    assert_int_equal(ms_err_grpc_status(0), 0);
    assert_int_equal(ms_err_grpc_status(5), 0); /* a count is success */
    assert_true(ms_err_is_known(0));
    assert_false(ms_err_is_known(-1999));
    assert_string_equal(ms_err_name(-1999), "EUNKNOWN");
    assert_string_equal(medstore_strerror(-1999), "unknown error");
    assert_int_equal(ms_err_grpc_status(-1999), 2); /* UNKNOWN */
    /* Both signs name the same code. */
    assert_string_equal(ms_err_name(MEDSTORE_ECORRUPT), "ECORRUPT");
    assert_string_equal(ms_err_name(-MEDSTORE_ECORRUPT), "ECORRUPT");
    assert_string_equal(ms_err_name(-ENOSPC), "ENOSPC");
}

static void test_row_index_past_end(void **state)
{
    (void)state;
    int code = 42;
    const char *name = "untouched";
    int status = 42;
    assert_int_equal(ms_err_table_row(100000, &code, &name, &status), -ENOENT);
    assert_int_equal(code, 42);
    assert_string_equal(name, "untouched");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_medstore_code_has_one_row),
        cmocka_unit_test(test_rows_are_well_formed),
        cmocka_unit_test(test_names_and_codes_unique),
        cmocka_unit_test(test_grpc_mappings__Y_QRY_3),
        cmocka_unit_test(test_success_and_unknown_codes),
        cmocka_unit_test(test_row_index_past_end),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
