/*
 * meta_expect.h - the check every formats test makes on extracted metadata: key k of m holds
 * exactly want (or is absent when want is NULL). One copy for the test programs of
 * tests/unit/formats, which each carried their own. Header-only (static inline), so each
 * test program stays one source file.
 */
#ifndef MS_TESTS_UNIT_FORMATS_META_EXPECT_H
#define MS_TESTS_UNIT_FORMATS_META_EXPECT_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "formats/formats.h"

/* Fails the running test unless key k of m holds exactly the bytes of the string want, or is
 * absent when want is NULL. m is borrowed for the call. */
static inline void assert_val(const struct ms_meta *m, enum ms_meta_key k, const char *want)
{
    const struct ms_meta_str *v = ms_meta_get(m, k);
    if (want == NULL) {
        assert_null(v);
        return;
    }
    assert_non_null(v);
    assert_int_equal(v->len, strlen(want));
    assert_memory_equal(v->ptr, want, v->len);
}

#endif
