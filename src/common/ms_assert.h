/*
 * ms_assert.h - assertions that stay compiled.
 *
 * MS_ASSERT(x): always checked; logs the expression, file:line and a backtrace, then aborts.
 *   In node and meta a broken invariant stops the process (systemd restarts it) rather than
 *   risk stored data.
 * MS_DASSERT(x): debug and test builds only (MS_DEBUG), for costly checks.
 * MS_ALWAYS(x) / MS_NEVER(x): for libmedstore, whose bugs must not kill a clinical app:
 *   abort in debug/test, evaluate to the condition in release so the caller can return
 *   -MEDSTORE_EINTERNAL, and constant under coverage builds.
 * MS_TESTCASE(x): marks a boundary that tests must reach (no-op outside coverage builds).
 * MS_CORRUPT(): logs where corruption was first seen and evaluates to -MEDSTORE_ECORRUPT
 *   (SQLite's SQLITE_CORRUPT_BKPT).
 * Plain assert() is banned: NDEBUG would erase it.
 */
#ifndef MS_COMMON_MS_ASSERT_H
#define MS_COMMON_MS_ASSERT_H

#include "common/err.h"

_Noreturn void ms_assert_fail(const char *expr, const char *file, int line);
int ms_corrupt_at(const char *file, int line);

#define MS_ASSERT(x) ((x) ? (void)0 : ms_assert_fail(#x, __FILE__, __LINE__))

#if defined(MS_DEBUG) && MS_DEBUG
#define MS_DASSERT(x) MS_ASSERT(x)
#else
#define MS_DASSERT(x) ((void)0)
#endif

#if defined(MS_COVERAGE) && MS_COVERAGE
#define MS_ALWAYS(x) (1)
#define MS_NEVER(x) (0)
#elif defined(MS_DEBUG) && MS_DEBUG
#define MS_ALWAYS(x) ((x) ? 1 : (ms_assert_fail(#x, __FILE__, __LINE__), 0))
#define MS_NEVER(x) ((x) ? (ms_assert_fail("!(" #x ")", __FILE__, __LINE__), 1) : 0)
#else
#define MS_ALWAYS(x) (!!(x))
#define MS_NEVER(x) (!!(x))
#endif

#define MS_TESTCASE(x) ((void)0)
#define MS_CORRUPT() (-ms_corrupt_at(__FILE__, __LINE__))

#define MS_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#endif
