/*
 * testutil.h - helpers shared by medstore's test programs.
 *
 * The shared corpus (../shared/testdata beside the project root) is passed by meson in
 * MEDSTORE_TESTDATA. Where it is missing a test skips with a message (exit 77), except when
 * CI=true: a green run that tested nothing is worse than red, so there it fails.
 */
#ifndef MS_TESTS_TESTUTIL_H
#define MS_TESTS_TESTUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MS_TEST_SKIP 77

/* True when CI=true in the environment. */
bool ms_test_in_ci(void);

/* Returns the corpus directory (static storage). When it is missing: prints why, then exits
 * 77 (skip) or, under CI=true, 1 (fail). */
const char *ms_test_corpus_dir(void);

/* Joins the corpus dir and rel into a malloc'd path (caller frees). Exits like above. */
char *ms_test_corpus_path(const char *rel);

/* Reads a whole file into a malloc'd buffer; returns 0 or -errno. */
int ms_test_read_file(const char *path, uint8_t **data, size_t *len);

/* The size of the file at path (stat), or -1 when it cannot be stat'ed. */
long long ms_test_file_size(const char *path);

/* Writes len bytes to path (created 0600, truncated); returns 0 or -errno. */
int ms_test_write_file(const char *path, const void *data, size_t len);

/* Creates a fresh private temporary directory under $TMPDIR or /tmp; caller frees the path
 * and removes the tree with ms_test_rmtree(). */
char *ms_test_tmpdir(const char *tag);
void ms_test_rmtree(const char *path);

/* Skips (or fails under CI=true) with a message when cond is false. */
void ms_test_require(bool cond, const char *what);

/* Deterministic PRNG for test data (splitmix64); never for keys. */
uint64_t ms_test_rand(uint64_t *state);
void ms_test_fill(uint8_t *buf, size_t len, uint64_t seed);

#endif
