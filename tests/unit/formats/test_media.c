/*
 * test_media.c - PDF and MP4 (src/formats/media.c): version, %%EOF, box walk, mvhd v0/v1,
 * mehd fallback, 64-bit and to-the-end box sizes, truncation and inconsistent boxes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "formats/formats.h"
#include "formats/formats_int.h"
#include "meta_expect.h"

static int run(const void *b, size_t n, struct ms_meta *m)
{
    return ms_formats_extract(b, n, m);
}

static void test_pdf_version_and_eof_marker(void **state)
{
    (void)state;
    static const char ok[] = "%PDF-1.7\n%\xE2\xE3\xCF\xD3\n1 0 obj\nendobj\n%%EOF\n";
    struct ms_meta m;
    assert_int_equal(run(ok, sizeof(ok) - 1, &m), 0);
    assert_int_equal(m.type, MS_FMT_PDF);
    assert_val(&m, MS_META_PDF_VERSION, "1.7");
    ms_meta_fini(&m);
    static const char cut[] = "%PDF-1.4\n1 0 obj\n"; /* no %%EOF: truncated */
    assert_int_equal(run(cut, sizeof(cut) - 1, &m), -MEDSTORE_ETRUNCATED);
    assert_int_equal(m.detected, MS_FMT_PDF);
    ms_meta_fini(&m);
    static const char nover[] = "%PDF-x\n%%EOF";
    assert_int_equal(run(nover, sizeof(nover) - 1, &m), -MEDSTORE_EFORMAT);
    ms_meta_fini(&m);
    /* %%EOF further than 1 KiB from the end does not count. */
    size_t n = 2048;
    char *far = malloc(n);
    assert_non_null(far);
    memset(far, ' ', n);
    memcpy(far, "%PDF-2.0\n%%EOF", 14);
    assert_int_equal(run(far, n, &m), -MEDSTORE_ETRUNCATED);
    ms_meta_fini(&m);
    free(far);
}

/* A growing box writer. */
struct mbuf {
    uint8_t b[1024];
    size_t n;
};

static void be32(struct mbuf *w, uint32_t v)
{
    for (int i = 3; i >= 0; i--)
        w->b[w->n++] = (uint8_t)(v >> (8 * i));
}

static void be64(struct mbuf *w, uint64_t v)
{
    be32(w, (uint32_t)(v >> 32));
    be32(w, (uint32_t)v);
}

static void fourcc(struct mbuf *w, const char *t)
{
    memcpy(w->b + w->n, t, 4);
    w->n += 4;
}

static void ftyp(struct mbuf *w)
{
    be32(w, 16);
    fourcc(w, "ftyp");
    fourcc(w, "isom");
    be32(w, 0x200);
}

/* moov with an mvhd of version v (timescale, duration) and optionally mvex/mehd. */
static void moov(struct mbuf *w, int v, uint32_t timescale, uint64_t duration, uint64_t mehd)
{
    size_t mvhd_len = 8 + (v == 1 ? 4 + 28 : 4 + 16) + 80;
    size_t mvex_len = mehd ? 8 + 8 + 8 : 0;
    be32(w, (uint32_t)(8 + mvhd_len + mvex_len));
    fourcc(w, "moov");
    be32(w, (uint32_t)mvhd_len);
    fourcc(w, "mvhd");
    be32(w, (uint32_t)v << 24);
    if (v == 1) {
        be64(w, 0);
        be64(w, 0);
        be32(w, timescale);
        be64(w, duration);
    } else {
        be32(w, 0);
        be32(w, 0);
        be32(w, timescale);
        be32(w, (uint32_t)duration);
    }
    memset(w->b + w->n, 0, 80);
    w->n += 80;
    if (mehd) {
        be32(w, (uint32_t)mvex_len);
        fourcc(w, "mvex");
        be32(w, 16);
        fourcc(w, "mehd");
        be32(w, 0);
        be32(w, (uint32_t)mehd);
    }
}

static void mdat(struct mbuf *w, uint32_t payload)
{
    be32(w, 8 + payload);
    fourcc(w, "mdat");
    memset(w->b + w->n, 0xAB, payload);
    w->n += payload;
}

static void test_mp4_brand_and_duration(void **state)
{
    (void)state;
    struct mbuf w = {.n = 0};
    ftyp(&w);
    moov(&w, 0, 1000, 10000, 0);
    mdat(&w, 32);
    struct ms_meta m;
    assert_int_equal(run(w.b, w.n, &m), 0);
    assert_int_equal(m.type, MS_FMT_MP4);
    assert_val(&m, MS_META_MAJOR_BRAND, "isom");
    assert_val(&m, MS_META_DURATION_MS, "10000");
    ms_meta_fini(&m);
    struct mbuf v1 = {.n = 0};
    ftyp(&v1);
    moov(&v1, 1, 90000, 90000ull * 3600 + 45000, 0); /* 1 h + 0.5 s */
    assert_int_equal(run(v1.b, v1.n, &m), 0);
    assert_val(&m, MS_META_DURATION_MS, "3600500");
    ms_meta_fini(&m);
}

static void test_mp4_fragmented_uses_mehd_else_no_duration(void **state)
{
    (void)state;
    struct mbuf w = {.n = 0};
    ftyp(&w);
    moov(&w, 0, 600, 0, 1800);
    struct ms_meta m;
    assert_int_equal(run(w.b, w.n, &m), 0);
    assert_val(&m, MS_META_DURATION_MS, "3000");
    ms_meta_fini(&m);
    struct mbuf u = {.n = 0};
    ftyp(&u);
    moov(&u, 0, 600, 0, 0);
    assert_int_equal(run(u.b, u.n, &m), 0);
    assert_val(&m, MS_META_DURATION_MS, NULL);
    ms_meta_fini(&m);
}

static void test_mp4_box_sizes(void **state)
{
    (void)state;
    struct mbuf w = {.n = 0};
    ftyp(&w);
    be32(&w, 1); /* 64-bit size */
    fourcc(&w, "free");
    be64(&w, 24);
    be64(&w, 0);
    be32(&w, 0); /* size 0: to the end */
    fourcc(&w, "mdat");
    be32(&w, 0xDEADBEEF);
    struct ms_meta m;
    assert_int_equal(run(w.b, w.n, &m), 0);
    ms_meta_fini(&m);
    /* A box larger than what remains: truncated file. */
    struct mbuf t = {.n = 0};
    ftyp(&t);
    mdat(&t, 64);
    assert_int_equal(run(t.b, t.n - 1, &m), -MEDSTORE_ETRUNCATED);
    assert_int_equal(m.detected, MS_FMT_MP4);
    ms_meta_fini(&m);
    /* A box smaller than its header. */
    struct mbuf s = {.n = 0};
    ftyp(&s);
    be32(&s, 4);
    fourcc(&s, "free");
    assert_int_equal(run(s.b, s.n, &m), -MEDSTORE_EFORMAT);
    ms_meta_fini(&m);
    /* mvhd too short inside moov: inconsistent. */
    struct mbuf h = {.n = 0};
    ftyp(&h);
    be32(&h, 8 + 12);
    fourcc(&h, "moov");
    be32(&h, 12);
    fourcc(&h, "mvhd");
    be32(&h, 0);
    assert_int_equal(run(h.b, h.n, &m), -MEDSTORE_EFORMAT);
    ms_meta_fini(&m);
}

static void test_mp4_direct_call_needs_ftyp_first(void **state)
{
    (void)state;
    struct mbuf w = {.n = 0};
    mdat(&w, 8);
    struct ms_meta m;
    ms_meta_init(&m);
    assert_int_equal(ms_mp4_extract(w.b, w.n, &m), -MEDSTORE_EFORMAT);
    ms_meta_fini(&m);
    ms_meta_init(&m);
    assert_int_equal(ms_mp4_extract(w.b, 0, &m), -MEDSTORE_EFORMAT);
    ms_meta_fini(&m);
}

/* Every prefix: clean result or clean refusal. */
static void test_every_prefix_is_handled(void **state)
{
    (void)state;
    struct mbuf w = {.n = 0};
    ftyp(&w);
    moov(&w, 1, 1000, 5000, 0);
    mdat(&w, 16);
    for (size_t n = 0; n <= w.n; n++) {
        struct ms_meta m;
        int rc = run(w.b, n, &m);
        assert_true(rc == 0 || rc == -MEDSTORE_ETRUNCATED || rc == -MEDSTORE_EFORMAT);
        ms_meta_fini(&m);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pdf_version_and_eof_marker),
        cmocka_unit_test(test_mp4_brand_and_duration),
        cmocka_unit_test(test_mp4_fragmented_uses_mehd_else_no_duration),
        cmocka_unit_test(test_mp4_box_sizes),
        cmocka_unit_test(test_mp4_direct_call_needs_ftyp_first),
        cmocka_unit_test(test_every_prefix_is_handled),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
