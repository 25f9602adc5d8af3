/*
 * test_corpus.c - every file of the shared corpus through ms_formats_extract(), compared
 * exactly with the expectations that tools/gen-expectations.py derived from other readers
 * (pydicom, dcmdump, python json / xml.etree, ffprobe) into tests/unit/formats/expect/.
 *
 * For each file the rows medstore produces ("type", "error" + "detected" on failure, every
 * present key) must equal the expected rows, no more, no fewer. The corpus file set and the
 * expectation file set must be equal too, so a corpus change forces the expectations to be
 * regenerated and reviewed. The corpus is found through MEDSTORE_TESTDATA (skip when missing,
 * failure under CI=true).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "formats/formats.h"
#include "testutil.h"

/* One expected or actual row: "key\tvalue" for one file. */
struct row {
    char *file;
    char *kv; /* key, TAB, value (unescaped, may hold any byte but NUL) */
};

struct rows {
    struct row *v;
    size_t n, cap;
};

static struct rows expected;
static char **corpus_files;
static size_t n_corpus_files;

static void rows_add(struct rows *r, const char *file, const char *kv, size_t kv_len)
{
    if (r->n == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 256;
        r->v = realloc(r->v, r->cap * sizeof(*r->v));
        assert_non_null(r->v);
    }
    r->v[r->n].file = strdup(file);
    r->v[r->n].kv = strndup(kv, kv_len);
    assert_non_null(r->v[r->n].file);
    assert_non_null(r->v[r->n].kv);
    r->n++;
}

static void rows_free(struct rows *r)
{
    for (size_t i = 0; i < r->n; i++) {
        free(r->v[i].file);
        free(r->v[i].kv);
    }
    free(r->v);
    memset(r, 0, sizeof(*r));
}

/* Undoes the TSV escaping of the generator (\\ \t \n \r) in place; returns the length. */
static size_t unescape(char *s)
{
    size_t o = 0;
    for (size_t i = 0; s[i] != '\0'; i++) {
        if (s[i] == '\\' && s[i + 1] != '\0') {
            char c = s[++i];
            s[o++] = c == 't' ? '\t' : c == 'n' ? '\n' : c == 'r' ? '\r' : c;
        } else {
            s[o++] = s[i];
        }
    }
    s[o] = '\0';
    return o;
}

static void load_tsv(const char *path)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    while ((n = getline(&line, &cap, f)) > 0) {
        if (line[0] == '#' || line[0] == '\n')
            continue;
        if (line[n - 1] == '\n')
            line[n - 1] = '\0';
        char *t1 = strchr(line, '\t');
        assert_non_null(t1);
        char *t2 = strchr(t1 + 1, '\t');
        assert_non_null(t2);
        *t1 = '\0';
        unescape(line);
        size_t vlen = unescape(t2 + 1);
        char kv[4096];
        size_t klen = (size_t)(t2 - (t1 + 1));
        assert_true(klen + 1 + vlen < sizeof(kv));
        memcpy(kv, t1 + 1, klen);
        kv[klen] = '\t';
        memcpy(kv + klen + 1, t2 + 1, vlen);
        rows_add(&expected, line, kv, klen + 1 + vlen);
    }
    free(line);
    fclose(f);
}

static void load_expectations(void)
{
    const char *src = getenv("MEDSTORE_SOURCE_ROOT");
    assert_non_null(src);
    char dir[4096];
    snprintf(dir, sizeof(dir), "%s/tests/unit/formats/expect", src);
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t n = strlen(e->d_name);
        if (n < 5 || strcmp(e->d_name + n - 4, ".tsv") != 0)
            continue;
        char path[8192];
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        load_tsv(path);
    }
    closedir(d);
    assert_true(expected.n > 0);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Collects corpus-relative paths of every regular file under dir/rel. */
static void walk(const char *root, const char *rel)
{
    char path[8192];
    snprintf(path, sizeof(path), "%s%s%s", root, rel[0] ? "/" : "", rel);
    DIR *d = opendir(path);
    assert_non_null(d);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char sub[8192], full[16384];
        snprintf(sub, sizeof(sub), "%s%s%s", rel, rel[0] ? "/" : "", e->d_name);
        snprintf(full, sizeof(full), "%s/%s", root, sub);
        struct stat st;
        assert_int_equal(stat(full, &st), 0);
        if (S_ISDIR(st.st_mode)) {
            walk(root, sub);
        } else if (S_ISREG(st.st_mode)) {
            corpus_files = realloc(corpus_files, (n_corpus_files + 1) * sizeof(char *));
            assert_non_null(corpus_files);
            corpus_files[n_corpus_files++] = strdup(sub);
        }
    }
    closedir(d);
}

/* The rows medstore produces for bytes. */
static void actual_rows(const char *file, const uint8_t *b, size_t len, struct rows *out)
{
    struct ms_meta m;
    int rc = ms_formats_extract(b, len, &m);
    char kv[4096];
    int n = snprintf(kv, sizeof(kv), "type\t%s", ms_formats_type_name(m.type));
    rows_add(out, file, kv, (size_t)n);
    if (rc < 0) {
        n = snprintf(kv, sizeof(kv), "error\t%s", ms_err_name(rc));
        rows_add(out, file, kv, (size_t)n);
        n = snprintf(kv, sizeof(kv), "detected\t%s", ms_formats_type_name(m.detected));
        rows_add(out, file, kv, (size_t)n);
        assert_non_null(m.err_detail);
        assert_int_equal(m.n_kv, 0);
    }
    for (size_t i = 0; i < m.n_kv; i++) {
        size_t kl = strlen(m.kv[i].name);
        assert_true(kl + 1 + m.kv[i].val.len < sizeof(kv));
        memcpy(kv, m.kv[i].name, kl);
        kv[kl] = '\t';
        memcpy(kv + kl + 1, m.kv[i].val.ptr, m.kv[i].val.len);
        rows_add(out, file, kv, kl + 1 + m.kv[i].val.len);
    }
    ms_meta_fini(&m);
}

static int cmp_row(const void *a, const void *b)
{
    return strcmp(((const struct row *)a)->kv, ((const struct row *)b)->kv);
}

/* Compares the actual rows of one file with its expected rows; prints differences. */
static int compare_file(const char *file, struct rows *act)
{
    struct rows exp = {0};
    for (size_t i = 0; i < expected.n; i++)
        if (strcmp(expected.v[i].file, file) == 0)
            rows_add(&exp, file, expected.v[i].kv, strlen(expected.v[i].kv));
    qsort(exp.v, exp.n, sizeof(*exp.v), cmp_row);
    qsort(act->v, act->n, sizeof(*act->v), cmp_row);
    int diffs = 0;
    size_t i = 0, j = 0;
    while (i < exp.n || j < act->n) {
        int c = i == exp.n ? 1 : j == act->n ? -1 : strcmp(exp.v[i].kv, act->v[j].kv);
        if (c == 0) {
            i++;
            j++;
            continue;
        }
        diffs++;
        if (c < 0)
            fprintf(stderr, "%s: expected row missing: %s\n", file, exp.v[i++].kv);
        else
            fprintf(stderr, "%s: unexpected row: %s\n", file, act->v[j++].kv);
    }
    rows_free(&exp);
    return diffs;
}

static int check_file(const char *rel)
{
    char *path = ms_test_corpus_path(rel);
    uint8_t *b = NULL;
    size_t len = 0;
    assert_int_equal(ms_test_read_file(path, &b, &len), 0);
    struct rows act = {0};
    actual_rows(rel, b, len, &act);
    int diffs = compare_file(rel, &act);
    rows_free(&act);
    free(b);
    free(path);
    return diffs;
}

/* Checks every corpus file whose path matches: prefix, and malformed or not. */
static void check_files(const char *prefix, int malformed, unsigned min_files)
{
    int diffs = 0;
    unsigned checked = 0;
    for (size_t i = 0; i < n_corpus_files; i++) {
        const char *f = corpus_files[i];
        bool is_bad = strstr(f, "/malformed/") != NULL;
        if (strncmp(f, prefix, strlen(prefix)) != 0)
            continue;
        if ((malformed == 1 && !is_bad) || (malformed == 0 && is_bad))
            continue;
        diffs += check_file(f);
        checked++;
    }
    printf("checked %u files under '%s'\n", checked, prefix);
    assert_true(checked >= min_files);
    assert_int_equal(diffs, 0);
}

static void test_corpus_and_expectations_match_one_to_one(void **state)
{
    (void)state;
    char **exp_files = calloc(expected.n, sizeof(char *));
    size_t n = 0;
    assert_non_null(exp_files);
    for (size_t i = 0; i < expected.n; i++)
        if (n == 0 || strcmp(exp_files[n - 1], expected.v[i].file) != 0)
            exp_files[n++] = expected.v[i].file;
    qsort(exp_files, n, sizeof(char *), cmp_str);
    size_t u = 0;
    for (size_t i = 0; i < n; i++)
        if (u == 0 || strcmp(exp_files[u - 1], exp_files[i]) != 0)
            exp_files[u++] = exp_files[i];
    for (size_t i = 0; i < n_corpus_files && i < u; i++)
        if (strcmp(corpus_files[i], exp_files[i]) != 0)
            fprintf(stderr, "corpus vs expectations differ at %s / %s\n", corpus_files[i],
                    exp_files[i]);
    assert_int_equal(n_corpus_files, u);
    for (size_t i = 0; i < u; i++)
        assert_string_equal(corpus_files[i], exp_files[i]);
    free(exp_files);
}

/* DICOM Part 10 files (and bare datasets) are read as stored: attributes as pydicom. */
static void test_dicom_attributes_as_pydicom__F_IMG_1(void **state)
{
    (void)state;
    check_files("dicom/", 0, 40);
}

/* Malformed inputs get the precise error an independent reader justifies, never a crash. */
static void test_malformed_inputs_get_precise_errors__Y_QRY_3(void **state)
{
    (void)state;
    check_files("dicom/", 1, 6);
    check_files("emr/", 1, 6);
}

static void test_emr_metadata_as_python_readers(void **state)
{
    (void)state;
    check_files("emr/", 0, 30);
}

static void test_video_and_other_files(void **state)
{
    (void)state;
    check_files("video/", 0, 4);
    check_files("README.md", 0, 1);
    check_files("SHA256SUMS", 0, 1);
}

/* HL7 v2's standard segment separator is CR; the corpus has LF and CRLF only, so the CR-only
 * (and CRLF) copies are made here and must give the expected rows of the LF original. */
static void test_hl7v2_cr_only_and_crlf_copies(void **state)
{
    (void)state;
    const char *rel = "emr/hl7v2/ADT-A01-01.hl7";
    char *path = ms_test_corpus_path(rel);
    uint8_t *b = NULL;
    size_t len = 0;
    assert_int_equal(ms_test_read_file(path, &b, &len), 0);
    assert_non_null(memchr(b, '\n', len));
    uint8_t *cr = malloc(len), *crlf = malloc(2 * len);
    size_t n_crlf = 0;
    assert_true(cr != NULL && crlf != NULL);
    for (size_t i = 0; i < len; i++) {
        cr[i] = b[i] == '\n' ? '\r' : b[i];
        if (b[i] == '\n')
            crlf[n_crlf++] = '\r';
        crlf[n_crlf++] = b[i];
    }
    assert_null(memchr(cr, '\n', len));
    struct rows act = {0};
    actual_rows(rel, cr, len, &act);
    assert_int_equal(compare_file(rel, &act), 0);
    rows_free(&act);
    actual_rows(rel, crlf, n_crlf, &act);
    assert_int_equal(compare_file(rel, &act), 0);
    rows_free(&act);
    free(cr);
    free(crlf);
    free(b);
    free(path);
}

int main(void)
{
    const char *root = ms_test_corpus_dir();
    load_expectations();
    walk(root, "");
    qsort(corpus_files, n_corpus_files, sizeof(char *), cmp_str);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_corpus_and_expectations_match_one_to_one),
        cmocka_unit_test(test_dicom_attributes_as_pydicom__F_IMG_1),
        cmocka_unit_test(test_malformed_inputs_get_precise_errors__Y_QRY_3),
        cmocka_unit_test(test_emr_metadata_as_python_readers),
        cmocka_unit_test(test_video_and_other_files),
        cmocka_unit_test(test_hl7v2_cr_only_and_crlf_copies),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    for (size_t i = 0; i < n_corpus_files; i++)
        free(corpus_files[i]);
    free(corpus_files);
    rows_free(&expected);
    return rc;
}
