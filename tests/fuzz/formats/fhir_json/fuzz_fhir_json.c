/*
 * fuzz_fhir_json.c - libFuzzer target for FHIR JSON and NDJSON (src/formats/fhir_json.c,
 * fhir.c).
 *
 * Properties: the common ones of fuzz_check.h for both readers; a JSON resource that parses
 * has a non-empty resourceType; NDJSON's entryCount is the number of non-empty lines; and a
 * single-line resource read as NDJSON gives the same resourceType and key as read as JSON.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "../fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t non_empty_lines(const uint8_t *b, size_t n)
{
    size_t lines = 0;
    bool content = false;
    size_t i = n >= 3 && b[0] == 0xEF && b[1] == 0xBB && b[2] == 0xBF ? 3 : 0;
    for (; i < n; i++) {
        if (b[i] == '\n') {
            lines += content;
            content = false;
        } else if (b[i] != ' ' && b[i] != '\t' && b[i] != '\r') {
            content = true;
        }
    }
    return lines + content;
}

static bool same_value(const struct ms_meta *a, const struct ms_meta *b, enum ms_meta_key k)
{
    const struct ms_meta_str *x = ms_meta_get(a, k), *y = ms_meta_get(b, k);
    if (x == NULL || y == NULL)
        return x == y;
    return x->len == y->len && memcmp(x->ptr, y->ptr, x->len) == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_one(ms_fhir_json_extract, data, size);
    fuzz_one(ms_fhir_ndjson_extract, data, size);
    fuzz_public(data, size);
    struct ms_meta j, nd;
    int rj = fuzz_run(ms_fhir_json_extract, data, size, &j);
    int rn = fuzz_run(ms_fhir_ndjson_extract, data, size, &nd);
    if (rj == 0) {
        const struct ms_meta_str *t = ms_meta_get(&j, MS_META_RESOURCE_TYPE);
        FUZZ_REQUIRE(t != NULL && t->len > 0);
    }
    if (rn == 0) {
        const struct ms_meta_str *c = ms_meta_get(&nd, MS_META_ENTRY_COUNT);
        char want[24];
        int w = snprintf(want, sizeof(want), "%zu", non_empty_lines(data, size));
        FUZZ_REQUIRE(c != NULL && c->len == (size_t)w && memcmp(c->ptr, want, c->len) == 0);
    }
    bool one_line = non_empty_lines(data, size) == 1 && memchr(data, '\n', size) == NULL;
    if (rj == 0 && rn == 0 && one_line) {
        FUZZ_REQUIRE(same_value(&j, &nd, MS_META_RESOURCE_TYPE));
        FUZZ_REQUIRE(same_value(&j, &nd, MS_META_PATIENT_KEY));
    }
    ms_meta_fini(&j);
    ms_meta_fini(&nd);
    return 0;
}
