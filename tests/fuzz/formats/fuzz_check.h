/*
 * fuzz_check.h - properties every formats fuzz target asserts on a struct ms_meta, whatever
 * the input: a code from the documented set; on failure an empty meta of type other with a
 * reason; on success bounded values, keys in order, a patient key with its separator. And
 * determinism: the same bytes give the same result twice. A broken property aborts (libFuzzer
 * reports it as a crash). Header-only, included by each target.
 */
#ifndef MS_TESTS_FUZZ_FORMATS_FUZZ_CHECK_H
#define MS_TESTS_FUZZ_FORMATS_FUZZ_CHECK_H

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "formats/formats.h"
#include "formats/formats_int.h"

#define FUZZ_REQUIRE(x) ((x) ? (void)0 : abort())

/* Runs an extractor on a fresh meta (as ms_formats_extract does) and builds the kv list. */
static inline int fuzz_run(int (*fn)(const uint8_t *, size_t, struct ms_meta *),
                           const uint8_t *b, size_t n, struct ms_meta *m)
{
    ms_meta_init(m);
    m->size_bytes = n;
    int rc = fn(b, n, m);
    if (rc < 0)
        ms_meta_clear_fields(m);
    ms_meta_build_kv(m);
    return rc;
}

static inline void fuzz_check_meta(int rc, const struct ms_meta *m)
{
    FUZZ_REQUIRE(rc == 0 || rc == -MEDSTORE_EFORMAT || rc == -MEDSTORE_ETRUNCATED ||
                 rc == -MEDSTORE_EUNSUPPORTED || rc == -MEDSTORE_ELIMIT || rc == -ENOMEM);
    if (rc < 0) {
        FUZZ_REQUIRE(m->err_detail != NULL);
        FUZZ_REQUIRE(m->n_kv == 0);
        return;
    }
    for (size_t i = 0; i < m->n_kv; i++) {
        FUZZ_REQUIRE(m->kv[i].val.ptr != NULL);
        FUZZ_REQUIRE(m->kv[i].val.len <= MS_META_VALUE_MAX_BYTES);
        FUZZ_REQUIRE(i == 0 || m->kv[i - 1].key < m->kv[i].key);
        FUZZ_REQUIRE(strcmp(m->kv[i].name, ms_meta_key_name(m->kv[i].key)) == 0);
    }
    const struct ms_meta_str *key = ms_meta_get(m, MS_META_PATIENT_KEY);
    if (key != NULL) {
        /* An unescaped '|' separates issuer and id; the id is not empty. */
        size_t sep = SIZE_MAX;
        for (size_t i = 0; i < key->len; i++) {
            if (key->ptr[i] == '\\')
                i++;
            else if (key->ptr[i] == '|' && sep == SIZE_MAX)
                sep = i;
        }
        FUZZ_REQUIRE(sep != SIZE_MAX && sep + 1 < key->len);
    }
}

/* Same code, same values. */
static inline void fuzz_check_same(int rc1, const struct ms_meta *a, int rc2,
                                   const struct ms_meta *b)
{
    FUZZ_REQUIRE(rc1 == rc2);
    FUZZ_REQUIRE(a->n_kv == b->n_kv);
    for (size_t i = 0; i < a->n_kv; i++) {
        FUZZ_REQUIRE(a->kv[i].key == b->kv[i].key);
        FUZZ_REQUIRE(a->kv[i].val.len == b->kv[i].val.len);
        FUZZ_REQUIRE(memcmp(a->kv[i].val.ptr, b->kv[i].val.ptr, a->kv[i].val.len) == 0);
    }
}

/* One extractor: properties, determinism. */
static inline void fuzz_one(int (*fn)(const uint8_t *, size_t, struct ms_meta *),
                            const uint8_t *b, size_t n)
{
    struct ms_meta m1, m2;
    int rc1 = fuzz_run(fn, b, n, &m1);
    fuzz_check_meta(rc1, &m1);
    int rc2 = fuzz_run(fn, b, n, &m2);
    fuzz_check_same(rc1, &m1, rc2, &m2);
    ms_meta_fini(&m1);
    ms_meta_fini(&m2);
}

/* The public entry point too: detection plus extraction. */
static inline void fuzz_public(const uint8_t *b, size_t n)
{
    struct ms_meta m;
    int rc = ms_formats_extract(b, n, &m);
    fuzz_check_meta(rc, &m);
    FUZZ_REQUIRE(m.detected == ms_formats_detect(b, n));
    FUZZ_REQUIRE(rc == 0 ? m.type == m.detected : m.type == MS_FMT_OTHER);
    ms_meta_fini(&m);
}

#endif
