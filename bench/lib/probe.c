/*
 * probe.c - how fast this machine is right now, for comparing absolute figures across runs.
 *
 * The benchmarks report ratios measured in one run (PERF.md), which cancel the machine's
 * speed; absolute floors (16 KiB puts per second) do not. A shared VM's speed moves by 2x
 * between hours, so every benchmark prints one core's AES-256-GCM rate (the cipher TLS and
 * the codec spend most CPU in) next to PERF.md's figure for this machine kind.
 */
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "benchlib.h"
#include "common/ms_assert.h"

#define PROBE_BUF_BYTES (16u * 1024u)

double ms_bench_probe_aes_gcm_mib_s(double seconds)
{
    static const unsigned char key[32], iv[12]; /* a probe: no secret is involved */
    unsigned char *buf = malloc(PROBE_BUF_BYTES);
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    double mib_s = 0;
    MS_ASSERT(seconds > 0 && seconds <= 10);
    if (buf != NULL && ctx != NULL &&
        EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, iv) == 1) {
        memset(buf, 0x5a, PROBE_BUF_BYTES);
        uint64_t t0 = ms_bench_clock_ns(), bytes = 0, budget = (uint64_t)(seconds * 1e9);
        int len = 0;
        bool ok = true;
        for (unsigned i = 0; ok && i < 1000000u && ms_bench_clock_ns() - t0 < budget; i++) {
            ok = EVP_EncryptInit_ex(ctx, NULL, NULL, NULL, iv) == 1 &&
                 EVP_EncryptUpdate(ctx, buf, &len, buf, (int)PROBE_BUF_BYTES) == 1 &&
                 EVP_EncryptFinal_ex(ctx, buf + len, &len) == 1;
            bytes += PROBE_BUF_BYTES;
        }
        if (ok)
            mib_s = ms_bench_mib_s(bytes, ms_bench_clock_ns() - t0);
    }
    EVP_CIPHER_CTX_free(ctx);
    free(buf);
    return mib_s;
}

void ms_bench_probe_print(const char *who, const char *when)
{
    double r = ms_bench_probe_aes_gcm_mib_s(0.5);
    printf("%s: machine probe (%s): one core AES-256-GCM %.0f MiB/s = %.2fx of PERF.md's %.0f\n",
           who, when, r, r / MS_BENCH_PERF_AES_GCM_MIB_S, MS_BENCH_PERF_AES_GCM_MIB_S);
    fflush(stdout);
}
