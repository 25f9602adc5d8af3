/*
 * fuzz_manifest.c - libFuzzer target: the manifest decoder (bytes that come back from meta).
 * Properties: no crash or overread; a manifest that decodes re-encodes to the same bytes and
 * passes ms_manifest_check; every fragment header it implies is valid; opening it for
 * decoding with a test key works (the key is not checked until a segment is decrypted).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "codec/codec.h"
#include "codec/codec_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ms_manifest m;
    if (ms_manifest_decode(data, size, &m) != 0)
        return 0;
    uint8_t *again = NULL;
    size_t again_len = 0;
    if (ms_manifest_check(&m) != 0 || ms_manifest_encode(&m, &again, &again_len) != 0 ||
        again_len != size || memcmp(again, data, size) != 0)
        abort();
    free(again);
    for (unsigned i = 0; i < (unsigned)m.k + m.m; i++) {
        struct ms_frag_hdr h;
        if (ms_manifest_frag_hdr(&m, (uint8_t)i, &h) != 0 || ms_frag_hdr_check(&h) != 0)
            abort();
    }
    uint8_t key[MS_CODEC_KEY_BYTES] = {1};
    struct ms_codec_dec *d = NULL;
    if (ms_codec_dec_create(data, size, &m.oid, key, &d) != 0)
        abort();
    ms_codec_dec_destroy(d);
    ms_manifest_fini(&m);
    return 0;
}
