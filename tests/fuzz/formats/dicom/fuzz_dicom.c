/*
 * fuzz_dicom.c - libFuzzer target for the DICOM reader (src/formats/dicom.c).
 *
 * Properties: the common ones of fuzz_check.h on the bytes read as a DICOM file; a patient
 * key, when present, is exactly IssuerOfPatientID|PatientID escaped; and the same bytes
 * behind a 128-byte preamble + "DICM" give the same result (the reader's offsets are
 * relative, nothing depends on where the dataset starts).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The key rebuilt from the extracted parts must be the key extracted. */
static void check_key(const struct ms_meta *m)
{
    const struct ms_meta_str *id = ms_meta_get(m, MS_META_PATIENT_ID);
    const struct ms_meta_str *is = ms_meta_get(m, MS_META_ISSUER);
    const struct ms_meta_str *key = ms_meta_get(m, MS_META_PATIENT_KEY);
    FUZZ_REQUIRE((key != NULL) == (id != NULL && id->len > 0));
    if (key == NULL)
        return;
    struct ms_meta k;
    ms_meta_init(&k);
    FUZZ_REQUIRE(ms_meta_set_patient_key(&k, is ? is->ptr : "", is ? is->len : 0, id->ptr,
                                         id->len) == 0);
    const struct ms_meta_str *again = ms_meta_get(&k, MS_META_PATIENT_KEY);
    FUZZ_REQUIRE(again->len == key->len && memcmp(again->ptr, key->ptr, key->len) == 0);
    ms_meta_fini(&k);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_one(ms_dicom_extract, data, size);
    fuzz_public(data, size);
    struct ms_meta m, p;
    int rc = fuzz_run(ms_dicom_extract, data, size, &m);
    if (rc == 0)
        check_key(&m);
    bool has_dicm = (size >= 4 && memcmp(data, "DICM", 4) == 0) ||
                    (size >= 132 && memcmp(data + 128, "DICM", 4) == 0);
    uint8_t *framed = malloc(size + 132);
    if (!has_dicm && framed != NULL) {
        memset(framed, 0, 128);
        memcpy(framed + 128, "DICM", 4);
        if (size > 0)
            memcpy(framed + 132, data, size);
        int rc2 = fuzz_run(ms_dicom_extract, framed, size + 132, &p);
        fuzz_check_same(rc, &m, rc2, &p);
        ms_meta_fini(&p);
    }
    free(framed);
    ms_meta_fini(&m);
    return 0;
}
