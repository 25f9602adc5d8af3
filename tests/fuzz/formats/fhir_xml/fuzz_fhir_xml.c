/*
 * fuzz_fhir_xml.c - libFuzzer target for FHIR XML and C-CDA (src/formats/fhir_xml.c,
 * cda.c, xml.c): both readers on every input.
 *
 * Properties: the common ones of fuzz_check.h; a document that starts with a DOCTYPE is
 * never parsed (-MEDSTORE_EUNSUPPORTED or a well-formedness error, never success), so no
 * entity is ever expanded; a FHIR document that parses has a resourceType; a CDA patient key
 * is IssuerOfPatientID|PatientID or |PatientID.
 */
#include <stdint.h>
#include <string.h>

#include "../fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_one(ms_fhir_xml_extract, data, size);
    fuzz_one(ms_cda_extract, data, size);
    fuzz_public(data, size);
    struct ms_meta f, c;
    int rf = fuzz_run(ms_fhir_xml_extract, data, size, &f);
    int rcda = fuzz_run(ms_cda_extract, data, size, &c);
    if (size >= 9 && memcmp(data, "<!DOCTYPE", 9) == 0)
        FUZZ_REQUIRE(rf != 0 && rcda != 0);
    if (rf == 0)
        FUZZ_REQUIRE(ms_meta_get(&f, MS_META_RESOURCE_TYPE) != NULL);
    if (rcda == 0 && ms_meta_get(&c, MS_META_PATIENT_KEY) != NULL)
        FUZZ_REQUIRE(ms_meta_get(&c, MS_META_PATIENT_ID) != NULL);
    ms_meta_fini(&f);
    ms_meta_fini(&c);
    return 0;
}
