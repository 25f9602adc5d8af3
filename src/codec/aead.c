/*
 * aead.c - per-segment authenticated encryption with the object's 256-bit key.
 *
 * AES-256-GCM through OpenSSL 3's EVP is the default (AES-NI/VAES, ~2.5x libsodium's GCM
 * here, and a software fallback so objects stay readable on any CPU); XChaCha20-Poly1305 from
 * libsodium is the configured alternative. Both append a 16-byte tag.
 * Nonce: derived from the segment index (le64 index, zero filled to 12 or 24 bytes). A key
 * belongs to exactly one object (meta creates a fresh DEK per put) and an object is
 * immutable, so each (key, nonce) pair encrypts exactly one plaintext; re-encoding for repair
 * works on ciphertext and never re-encrypts.
 * Associated data (40 bytes, see ms_aead_ad): magic, format version, algorithm, segment
 * flags (compressed?), object id, segment index, plaintext length and encrypted length, so a
 * segment cannot be moved to another object or position, nor its lengths or flags altered.
 * Output is written straight into the data shards (a scatter list): GCM is a stream mode, so
 * each shard is one EVP update and no staging copy is made. libsodium's XChaCha API is
 * one-shot and needs contiguous buffers, so with k > 1 it stages through scratch and counts
 * the copy. On a failed tag the partial plaintext is wiped before returning.
 * EVP_CIPHER_CTX holds the AES key schedule between calls (a documented exception to
 * "keys only in ms_secret"; EVP_CIPHER_CTX_free cleanses it).
 */
#include "codec/codec_int.h"

#include <errno.h>
#include <openssl/evp.h>
#include <sodium.h>

#include "common/buf.h"
#include "common/log.h"
#include "common/ms_assert.h"

#define AD_MAGIC 0x4441534dU /* "MSAD" */
#define GCM_NONCE_BYTES 12

_Static_assert(crypto_aead_xchacha20poly1305_ietf_ABYTES == MS_FRAG_AEAD_TAG_BYTES, "tag");
_Static_assert(crypto_aead_xchacha20poly1305_ietf_NPUBBYTES == 24, "xchacha nonce");
_Static_assert(crypto_aead_xchacha20poly1305_ietf_KEYBYTES == MS_CODEC_KEY_BYTES, "key");

void ms_aead_ad(const struct ms_aead_bind *b, uint8_t out[MS_AEAD_AD_BYTES])
{
    MS_ASSERT(b != NULL && b->oid != NULL);
    MS_ASSERT(out != NULL);
    memset(out, 0, MS_AEAD_AD_BYTES);
    ms_put_le32(out + 0, AD_MAGIC);
    out[4] = MS_FRAG_VERSION;
    out[5] = b->aead_alg;
    out[6] = b->seg_flags;
    memcpy(out + 8, b->oid->b, MS_OID_BYTES);
    ms_put_le32(out + 24, b->segment_index);
    ms_put_le32(out + 28, b->plain_len);
    ms_put_le32(out + 32, b->body_len);
}

void ms_aead_nonce(uint8_t alg, uint32_t segment_index, uint8_t nonce[24])
{
    MS_ASSERT(alg == MS_AEAD_AES256GCM || alg == MS_AEAD_XCHACHA20POLY1305);
    MS_ASSERT(nonce != NULL);
    memset(nonce, 0, 24);
    ms_put_le64(nonce, segment_index);
}

int ms_aead_init(struct ms_aead *a)
{
    MS_ASSERT(a != NULL);
    MS_ASSERT(a->evp == NULL);
    a->evp = EVP_CIPHER_CTX_new();
    /* Fetch once: the implicit fetch behind EVP_aes_256_gcm() costs per EVP_*Init call. */
    a->gcm = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
    if (a->evp == NULL || a->gcm == NULL) {
        ms_aead_fini(a);
        return -ENOMEM;
    }
    return 0;
}

void ms_aead_fini(struct ms_aead *a)
{
    MS_ASSERT(a != NULL);
    EVP_CIPHER_CTX_free(a->evp); /* cleanses the key schedule */
    EVP_CIPHER_free(a->gcm);
    a->evp = NULL;
    a->gcm = NULL;
}

/* Copies len bytes into the scatter list at stream position pos; a staging copy of object
 * data (counted) when counted is set. */
static void sg_write(const struct ms_sg *sg, uint64_t pos, const uint8_t *src, size_t len,
                     bool counted)
{
    MS_ASSERT(pos + len <= (uint64_t)sg->n * sg->piece_len);
    MS_ASSERT(src != NULL || len == 0);
    while (len > 0) {
        uint32_t i = (uint32_t)(pos / sg->piece_len), o = (uint32_t)(pos % sg->piece_len);
        size_t take = sg->piece_len - o < len ? sg->piece_len - o : len;
        if (counted)
            ms_buf_copy(sg->piece[i] + o, src, take);
        else
            memcpy(sg->piece[i] + o, src, take);
        src += take;
        pos += take;
        len -= take;
    }
}

/* Copies len bytes out of the scatter list from stream position pos (counted: see sg_write). */
static void sg_read(const struct ms_sg *sg, uint64_t pos, uint8_t *dst, size_t len, bool counted)
{
    MS_ASSERT(pos + len <= (uint64_t)sg->n * sg->piece_len);
    MS_ASSERT(dst != NULL || len == 0);
    while (len > 0) {
        uint32_t i = (uint32_t)(pos / sg->piece_len), o = (uint32_t)(pos % sg->piece_len);
        size_t take = sg->piece_len - o < len ? sg->piece_len - o : len;
        if (counted)
            ms_buf_copy(dst, sg->piece[i] + o, take);
        else
            memcpy(dst, sg->piece[i] + o, take);
        dst += take;
        pos += take;
        len -= take;
    }
}

/* Zeroes the stream from pos to the end of the last piece (the shard padding). */
static void sg_zero_tail(const struct ms_sg *sg, uint64_t pos)
{
    uint64_t end = (uint64_t)sg->n * sg->piece_len;
    MS_ASSERT(pos <= end);
    while (pos < end) {
        uint32_t i = (uint32_t)(pos / sg->piece_len), o = (uint32_t)(pos % sg->piece_len);
        memset(sg->piece[i] + o, 0, sg->piece_len - o);
        pos += sg->piece_len - o;
    }
    MS_DASSERT(pos == end);
}

/* Runs EVP update over the body spread across pieces (enc: src contiguous -> pieces;
 * dec: pieces -> dst contiguous). */
static int gcm_update(struct ms_aead *a, bool enc, const struct ms_sg *sg, const uint8_t *src,
                      uint8_t *dst, uint32_t body_len)
{
    MS_ASSERT(sg->piece_len > 0);
    MS_ASSERT((uint64_t)body_len + MS_FRAG_AEAD_TAG_BYTES <= (uint64_t)sg->n * sg->piece_len);
    uint32_t pos = 0;
    for (uint32_t i = 0; pos < body_len; i++) {
        int take = (int)(body_len - pos < sg->piece_len ? body_len - pos : sg->piece_len);
        int outl = 0;
        int ok = enc ? EVP_EncryptUpdate(a->evp, sg->piece[i], &outl, src + pos, take)
                     : EVP_DecryptUpdate(a->evp, dst + pos, &outl, sg->piece[i], take);
        if (ok != 1 || outl != take)
            return -MEDSTORE_EINTERNAL;
        pos += (uint32_t)take;
    }
    return 0;
}

static int gcm_start(struct ms_aead *a, bool enc, const uint8_t *key, const struct ms_aead_bind *b)
{
    MS_ASSERT(a->evp != NULL && a->gcm != NULL);
    MS_ASSERT(key != NULL);
    uint8_t nonce[24], ad[MS_AEAD_AD_BYTES];
    ms_aead_nonce(MS_AEAD_AES256GCM, b->segment_index, nonce);
    ms_aead_ad(b, ad);
    int outl = 0;
    int ok = enc ? EVP_EncryptInit_ex2(a->evp, a->gcm, key, nonce, NULL)
                 : EVP_DecryptInit_ex2(a->evp, a->gcm, key, nonce, NULL);
    if (ok != 1)
        return -MEDSTORE_EINTERNAL;
    ok = enc ? EVP_EncryptUpdate(a->evp, NULL, &outl, ad, sizeof(ad))
             : EVP_DecryptUpdate(a->evp, NULL, &outl, ad, sizeof(ad));
    return ok == 1 ? 0 : -MEDSTORE_EINTERNAL;
}

static int gcm_seal(struct ms_aead *a, const uint8_t *key, const struct ms_aead_bind *b,
                    const uint8_t *src, const struct ms_sg *out)
{
    int rc = gcm_start(a, true, key, b);
    if (rc == 0)
        rc = gcm_update(a, true, out, src, NULL, b->body_len);
    if (rc != 0)
        return rc;
    uint8_t fin[16], tag[MS_FRAG_AEAD_TAG_BYTES];
    int outl = 0;
    if (EVP_EncryptFinal_ex(a->evp, fin, &outl) != 1 || outl != 0 ||
        EVP_CIPHER_CTX_ctrl(a->evp, EVP_CTRL_GCM_GET_TAG, sizeof(tag), tag) != 1)
        return -MEDSTORE_EINTERNAL;
    sg_write(out, b->body_len, tag, sizeof(tag), false);
    return 0;
}

static int gcm_open(struct ms_aead *a, const uint8_t *key, const struct ms_aead_bind *b,
                    const struct ms_sg *in, uint8_t *dst)
{
    int rc = gcm_start(a, false, key, b);
    if (rc == 0)
        rc = gcm_update(a, false, in, NULL, dst, b->body_len);
    if (rc != 0)
        return rc;
    uint8_t fin[16], tag[MS_FRAG_AEAD_TAG_BYTES];
    sg_read(in, b->body_len, tag, sizeof(tag), false);
    int outl = 0;
    if (EVP_CIPHER_CTX_ctrl(a->evp, EVP_CTRL_GCM_SET_TAG, sizeof(tag), tag) != 1)
        return -MEDSTORE_EINTERNAL;
    if (EVP_DecryptFinal_ex(a->evp, fin, &outl) != 1)
        return MS_CORRUPT();
    return 0;
}

static int xchacha_seal(const uint8_t *key, const struct ms_aead_bind *b, const uint8_t *src,
                        const struct ms_sg *out, uint8_t *stage, uint64_t *staged_bytes)
{
    MS_ASSERT(out->n == 1 || stage != NULL);
    MS_ASSERT(staged_bytes != NULL);
    uint8_t nonce[24], ad[MS_AEAD_AD_BYTES], tag[MS_FRAG_AEAD_TAG_BYTES];
    ms_aead_nonce(MS_AEAD_XCHACHA20POLY1305, b->segment_index, nonce);
    ms_aead_ad(b, ad);
    uint8_t *c = out->n == 1 ? out->piece[0] : stage;
    unsigned long long taglen = 0;
    if (crypto_aead_xchacha20poly1305_ietf_encrypt_detached(c, tag, &taglen, src, b->body_len,
                                                            ad, sizeof(ad), NULL, nonce,
                                                            key) != 0)
        return -MEDSTORE_EINTERNAL;
    if (c == stage) {
        sg_write(out, 0, stage, b->body_len, true);
        *staged_bytes += b->body_len;
    }
    sg_write(out, b->body_len, tag, sizeof(tag), false);
    return 0;
}

static int xchacha_open(const uint8_t *key, const struct ms_aead_bind *b, const struct ms_sg *in,
                        uint8_t *dst, uint8_t *stage, uint64_t *staged_bytes)
{
    MS_ASSERT(staged_bytes != NULL);
    MS_ASSERT(dst != NULL || b->body_len == 0);
    uint8_t nonce[24], ad[MS_AEAD_AD_BYTES], tag[MS_FRAG_AEAD_TAG_BYTES];
    ms_aead_nonce(MS_AEAD_XCHACHA20POLY1305, b->segment_index, nonce);
    ms_aead_ad(b, ad);
    const uint8_t *c = in->piece[0];
    if (b->body_len > in->piece_len) {
        MS_ASSERT(stage != NULL);
        sg_read(in, 0, stage, b->body_len, true);
        *staged_bytes += b->body_len;
        c = stage;
    }
    sg_read(in, b->body_len, tag, sizeof(tag), false);
    if (crypto_aead_xchacha20poly1305_ietf_decrypt_detached(dst, NULL, c, b->body_len, tag, ad,
                                                            sizeof(ad), nonce, key) != 0)
        return MS_CORRUPT();
    return 0;
}

int ms_aead_seal(struct ms_aead *a, const uint8_t key[MS_CODEC_KEY_BYTES],
                 const struct ms_aead_bind *b, const uint8_t *src, const struct ms_sg *out,
                 uint8_t *stage, uint64_t *staged_bytes)
{
    MS_ASSERT(a != NULL && key != NULL && b != NULL && out != NULL);
    MS_ASSERT(src != NULL || b->body_len == 0);
    if ((uint64_t)b->body_len + MS_FRAG_AEAD_TAG_BYTES > (uint64_t)out->n * out->piece_len)
        return -EINVAL;
    int rc;
    if (b->aead_alg == MS_AEAD_AES256GCM)
        rc = gcm_seal(a, key, b, src, out);
    else if (b->aead_alg == MS_AEAD_XCHACHA20POLY1305)
        rc = xchacha_seal(key, b, src, out, stage, staged_bytes);
    else
        return -EINVAL;
    if (rc != 0) {
        ms_log(MS_LOG_ERROR, "codec", "event=aead_seal_fail alg=%u", b->aead_alg);
        return rc;
    }
    sg_zero_tail(out, (uint64_t)b->body_len + MS_FRAG_AEAD_TAG_BYTES);
    return 0;
}

int ms_aead_open(struct ms_aead *a, const uint8_t key[MS_CODEC_KEY_BYTES],
                 const struct ms_aead_bind *b, const struct ms_sg *in, uint8_t *dst,
                 uint8_t *stage, uint64_t *staged_bytes)
{
    MS_ASSERT(a != NULL && key != NULL && b != NULL && in != NULL);
    MS_ASSERT(dst != NULL || b->body_len == 0);
    if ((uint64_t)b->body_len + MS_FRAG_AEAD_TAG_BYTES > (uint64_t)in->n * in->piece_len)
        return -EINVAL;
    int rc;
    if (b->aead_alg == MS_AEAD_AES256GCM)
        rc = gcm_open(a, key, b, in, dst);
    else if (b->aead_alg == MS_AEAD_XCHACHA20POLY1305)
        rc = xchacha_open(key, b, in, dst, stage, staged_bytes);
    else
        return -EINVAL;
    if (rc != 0 && b->body_len > 0)
        sodium_memzero(dst, b->body_len); /* never leave unauthenticated plaintext behind */
    return rc;
}
