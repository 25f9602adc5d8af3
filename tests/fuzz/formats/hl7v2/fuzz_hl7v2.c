/*
 * fuzz_hl7v2.c - libFuzzer target for the HL7 v2 reader (src/formats/hl7v2.c).
 *
 * Properties: the common ones of fuzz_check.h; a message that parses has a messageType; CR
 * and LF are interchangeable segment separators (every LF turned into CR gives the same
 * result); a leading byte order mark changes nothing.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_one(ms_hl7v2_extract, data, size);
    fuzz_public(data, size);
    struct ms_meta m, v;
    int rc = fuzz_run(ms_hl7v2_extract, data, size, &m);
    if (rc == 0)
        FUZZ_REQUIRE(ms_meta_get(&m, MS_META_MESSAGE_TYPE) != NULL);
    uint8_t *copy = malloc(size + 3);
    if (copy != NULL) {
        for (size_t i = 0; i < size; i++)
            copy[i] = data[i] == '\n' ? '\r' : data[i];
        int rc2 = fuzz_run(ms_hl7v2_extract, copy, size, &v);
        fuzz_check_same(rc, &m, rc2, &v);
        ms_meta_fini(&v);
        if (!(size >= 3 && data[0] == 0xEF && data[1] == 0xBB && data[2] == 0xBF)) {
            memcpy(copy, "\xEF\xBB\xBF", 3);
            if (size > 0)
                memcpy(copy + 3, data, size);
            rc2 = fuzz_run(ms_hl7v2_extract, copy, size + 3, &v);
            fuzz_check_same(rc, &m, rc2, &v);
            ms_meta_fini(&v);
        }
        free(copy);
    }
    ms_meta_fini(&m);
    return 0;
}
