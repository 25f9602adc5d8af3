/*
 * test_dicom.c - the DICOM reader (src/formats/dicom.c) on datasets built here byte by byte:
 * every encoding, sequences and encapsulated Pixel Data, and every refusal with its exact
 * code. The real files of the shared corpus are covered by test_corpus.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "formats/formats.h"
#include "formats/formats_int.h"
#include "meta_expect.h"

#define TS_IMPLICIT "1.2.840.10008.1.2"
#define TS_EXPLICIT "1.2.840.10008.1.2.1"
#define TS_BIG "1.2.840.10008.1.2.2"
#define TS_DEFLATED "1.2.840.10008.1.2.1.99"
#define TS_JPEG "1.2.840.10008.1.2.4.50"
#define UNDEF 0xFFFFFFFFu

/* A growing byte buffer for building files. */
struct dbuf {
    uint8_t *p;
    size_t n, cap;
    bool be; /* dataset elements big endian */
};

static void put(struct dbuf *b, const void *v, size_t n)
{
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2 + 64;
        b->p = realloc(b->p, b->cap);
        assert_non_null(b->p);
    }
    if (n > 0)
        memcpy(b->p + b->n, v, n);
    b->n += n;
}

static void put16(struct dbuf *b, uint16_t v)
{
    uint8_t x[2] = {(uint8_t)(b->be ? v >> 8 : v), (uint8_t)(b->be ? v : v >> 8)};
    put(b, x, 2);
}

static void put32(struct dbuf *b, uint32_t v)
{
    uint8_t x[4];
    for (int i = 0; i < 4; i++)
        x[i] = (uint8_t)(v >> (b->be ? 24 - 8 * i : 8 * i));
    put(b, x, 4);
}

static bool long_vr(const char *vr)
{
    static const char *const l[] = {"OB", "OD", "OF", "OL", "OV", "OW", "SQ", "SV", "UC",
                                    "UN", "UR", "UT", "UV"};
    for (size_t i = 0; i < sizeof(l) / sizeof(l[0]); i++)
        if (strcmp(vr, l[i]) == 0)
            return true;
    return false;
}

/* Explicit VR element header with length len (UNDEF allowed for long VRs). */
static void hdr_x(struct dbuf *b, uint16_t g, uint16_t e, const char *vr, uint32_t len)
{
    put16(b, g);
    put16(b, e);
    put(b, vr, 2);
    if (long_vr(vr)) {
        put16(b, 0);
        put32(b, len);
    } else {
        put16(b, (uint16_t)len);
    }
}

/* Explicit VR element with a string value (padded to even length with pad). */
static void el_x(struct dbuf *b, uint16_t g, uint16_t e, const char *vr, const char *v, char pad)
{
    size_t n = strlen(v);
    hdr_x(b, g, e, vr, (uint32_t)(n + (n & 1)));
    put(b, v, n);
    if (n & 1)
        put(b, &pad, 1);
}

/* Implicit VR element (or item / delimiter when g == 0xFFFE). */
static void hdr_i(struct dbuf *b, uint16_t g, uint16_t e, uint32_t len)
{
    put16(b, g);
    put16(b, e);
    put32(b, len);
}

static void el_i(struct dbuf *b, uint16_t g, uint16_t e, const char *v, char pad)
{
    size_t n = strlen(v);
    hdr_i(b, g, e, (uint32_t)(n + (n & 1)));
    put(b, v, n);
    if (n & 1)
        put(b, &pad, 1);
}

/* Preamble, "DICM" and a File Meta group (always explicit VR little endian). */
static void file_meta(struct dbuf *b, const char *ts)
{
    uint8_t zero[128] = {0};
    put(b, zero, sizeof(zero));
    put(b, "DICM", 4);
    bool be = b->be;
    b->be = false;
    uint8_t version[2] = {0, 1};
    hdr_x(b, 0x0002, 0x0001, "OB", 2);
    put(b, version, 2);
    el_x(b, 0x0002, 0x0010, "UI", ts, '\0');
    b->be = be;
}

/* The usual top-level attributes, explicit VR, in tag order up to PatientID. */
static void patient_attrs(struct dbuf *b)
{
    el_x(b, 0x0008, 0x0016, "UI", "1.2.840.10008.5.1.4.1.1.7", '\0');
    el_x(b, 0x0008, 0x0018, "UI", "1.2.3.4", '\0');
    el_x(b, 0x0008, 0x0020, "DA", "20240102", ' ');
    el_x(b, 0x0008, 0x0060, "CS", "MR", ' ');
    el_x(b, 0x0010, 0x0010, "PN", "Doe^Jane", ' ');
    el_x(b, 0x0010, 0x0020, "LO", "PID-7", ' ');
    el_x(b, 0x0010, 0x0021, "LO", "HOSP", ' ');
}

static void tail_attrs(struct dbuf *b)
{
    el_x(b, 0x0020, 0x000D, "UI", "1.2.3.5", '\0');
    el_x(b, 0x0020, 0x000E, "UI", "1.2.3.6", '\0');
    el_x(b, 0x0028, 0x0008, "IS", "3", ' ');
}

/* Extracts through the public entry point; returns the code. */
static int run(const struct dbuf *b, struct ms_meta *m)
{
    return ms_formats_extract(b->p, b->n, m);
}

/* Expects extraction to fail with code; the meta then holds nothing. */
static void assert_refused(const struct dbuf *b, int code)
{
    struct ms_meta m;
    assert_int_equal(run(b, &m), code);
    assert_int_equal(m.type, MS_FMT_OTHER);
    assert_int_equal(m.detected, MS_FMT_DICOM);
    assert_non_null(m.err_detail);
    assert_int_equal(m.n_kv, 0);
    ms_meta_fini(&m);
}

static void test_explicit_le_part10_all_attributes__F_IMG_1(void **state)
{
    (void)state;
    struct dbuf b = {0};
    file_meta(&b, TS_EXPLICIT);
    el_x(&b, 0x0008, 0x0005, "CS", "ISO_IR 192", ' ');
    patient_attrs(&b);
    tail_attrs(&b);
    struct ms_meta m;
    assert_int_equal(run(&b, &m), 0);
    assert_int_equal(m.type, MS_FMT_DICOM);
    assert_val(&m, MS_META_CHARSET, "ISO_IR 192");
    assert_val(&m, MS_META_SOP_CLASS_UID, "1.2.840.10008.5.1.4.1.1.7");
    assert_val(&m, MS_META_SOP_INSTANCE_UID, "1.2.3.4");
    assert_val(&m, MS_META_STUDY_DATE, "20240102");
    assert_val(&m, MS_META_MODALITY, "MR");
    assert_val(&m, MS_META_PATIENT_NAME, "Doe^Jane");
    assert_val(&m, MS_META_PATIENT_ID, "PID-7");
    assert_val(&m, MS_META_ISSUER, "HOSP");
    assert_val(&m, MS_META_STUDY_UID, "1.2.3.5");
    assert_val(&m, MS_META_SERIES_UID, "1.2.3.6");
    assert_val(&m, MS_META_NUMBER_OF_FRAMES, "3");
    assert_val(&m, MS_META_TRANSFER_SYNTAX, TS_EXPLICIT);
    assert_val(&m, MS_META_PATIENT_KEY, "HOSP|PID-7");
    assert_int_equal(m.n_kv, 13);
    ms_meta_fini(&m);
    free(b.p);
}

static void test_dicm_without_preamble_and_bare_datasets(void **state)
{
    (void)state;
    struct dbuf b = {0};
    put(&b, "DICM", 4);
    el_x(&b, 0x0002, 0x0010, "UI", TS_EXPLICIT, '\0');
    patient_attrs(&b);
    struct ms_meta m;
    assert_int_equal(run(&b, &m), 0);
    assert_val(&m, MS_META_PATIENT_KEY, "HOSP|PID-7");
    ms_meta_fini(&m);
    /* No preamble, no File Meta, explicit VR: sniffed from the first element. */
    struct dbuf x = {0};
    el_x(&x, 0x0008, 0x0005, "CS", "ISO_IR 100", ' ');
    patient_attrs(&x);
    assert_int_equal(ms_formats_detect(x.p, x.n), MS_FMT_DICOM);
    assert_int_equal(run(&x, &m), 0);
    assert_val(&m, MS_META_PATIENT_ID, "PID-7");
    assert_val(&m, MS_META_TRANSFER_SYNTAX, NULL);
    ms_meta_fini(&m);
    /* No preamble, no File Meta, implicit VR. */
    struct dbuf i = {0};
    el_i(&i, 0x0008, 0x0016, "1.2.840.10008.5.1.4.1.1.2", '\0');
    el_i(&i, 0x0010, 0x0020, "IMPL", ' ');
    assert_int_equal(ms_formats_detect(i.p, i.n), MS_FMT_DICOM);
    assert_int_equal(run(&i, &m), 0);
    assert_val(&m, MS_META_PATIENT_KEY, "|IMPL");
    ms_meta_fini(&m);
    free(b.p);
    free(x.p);
    free(i.p);
}

static void test_implicit_le_and_big_endian__F_IMG_1(void **state)
{
    (void)state;
    struct dbuf b = {0};
    file_meta(&b, TS_IMPLICIT);
    el_i(&b, 0x0008, 0x0060, "CT", ' ');
    el_i(&b, 0x0010, 0x0020, "ABC", ' ');
    struct ms_meta m;
    assert_int_equal(run(&b, &m), 0);
    assert_val(&m, MS_META_MODALITY, "CT");
    assert_val(&m, MS_META_PATIENT_ID, "ABC");
    ms_meta_fini(&m);
    struct dbuf be = {0};
    file_meta(&be, TS_BIG);
    be.be = true;
    patient_attrs(&be);
    hdr_x(&be, 0x7FE0, 0x0010, "OW", 4);
    put32(&be, 0);
    assert_int_equal(run(&be, &m), 0);
    assert_val(&m, MS_META_PATIENT_KEY, "HOSP|PID-7");
    assert_val(&m, MS_META_TRANSFER_SYNTAX, TS_BIG);
    ms_meta_fini(&m);
    free(b.p);
    free(be.p);
}

/* Raw deflate (no zlib header) of in. */
static void deflate_raw(const uint8_t *in, size_t n, struct dbuf *out)
{
    z_stream zs;
    memset(&zs, 0, sizeof(zs));
    assert_int_equal(deflateInit2(&zs, 9, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY), Z_OK);
    uint8_t tmp[65536];
    zs.next_in = (Bytef *)(uintptr_t)in;
    zs.avail_in = (uInt)n;
    int z;
    do {
        zs.next_out = tmp;
        zs.avail_out = sizeof(tmp);
        z = deflate(&zs, Z_FINISH);
        put(out, tmp, sizeof(tmp) - zs.avail_out);
    } while (z != Z_STREAM_END);
    deflateEnd(&zs);
}

static void test_deflated_dataset(void **state)
{
    (void)state;
    struct dbuf ds = {0};
    patient_attrs(&ds);
    tail_attrs(&ds);
    struct dbuf b = {0};
    file_meta(&b, TS_DEFLATED);
    size_t meta_end = b.n;
    deflate_raw(ds.p, ds.n, &b);
    struct ms_meta m;
    assert_int_equal(run(&b, &m), 0);
    assert_val(&m, MS_META_PATIENT_KEY, "HOSP|PID-7");
    assert_val(&m, MS_META_NUMBER_OF_FRAMES, "3");
    ms_meta_fini(&m);
    /* Cut inside the deflate stream: truncated. */
    struct dbuf cut = b;
    cut.n = meta_end + (b.n - meta_end) / 2;
    assert_refused(&cut, -MEDSTORE_ETRUNCATED);
    /* Garbage instead of a deflate stream: corrupt. */
    memset(b.p + meta_end, 0xFF, b.n - meta_end);
    assert_refused(&b, -MEDSTORE_EFORMAT);
    free(b.p);
    free(ds.p);
}

static void test_undefined_length_sequences_nested(void **state)
{
    (void)state;
    struct dbuf b = {0};
    file_meta(&b, TS_EXPLICIT);
    el_x(&b, 0x0008, 0x0016, "UI", "1.2.3", '\0');
    hdr_x(&b, 0x0008, 0x1115, "SQ", UNDEF);    /* undefined-length sequence */
    hdr_i(&b, 0xFFFE, 0xE000, UNDEF);          /* undefined-length item */
    el_x(&b, 0x0010, 0x0020, "LO", "NESTED", ' '); /* not top level: never extracted */
    hdr_x(&b, 0x0008, 0x1140, "SQ", UNDEF);    /* nested sequence */
    hdr_i(&b, 0xFFFE, 0xE000, 8);              /* defined-length item, jumped over */
    el_x(&b, 0x0008, 0x0060, "CS", "", ' ');
    hdr_i(&b, 0xFFFE, 0xE0DD, 0);
    hdr_i(&b, 0xFFFE, 0xE00D, 0);
    hdr_i(&b, 0xFFFE, 0xE000, 0);              /* empty defined-length item */
    hdr_i(&b, 0xFFFE, 0xE0DD, 0);
    hdr_x(&b, 0x0008, 0x1250, "SQ", 0);        /* empty defined-length sequence */
    el_x(&b, 0x0010, 0x0020, "LO", "TOP", ' ');
    struct ms_meta m;
    assert_int_equal(run(&b, &m), 0);
    assert_val(&m, MS_META_PATIENT_ID, "TOP");
    assert_val(&m, MS_META_SOP_CLASS_UID, "1.2.3");
    ms_meta_fini(&m);
    free(b.p);
}

static void test_nesting_deeper_than_the_limit_is_refused(void **state)
{
    (void)state;
    struct dbuf b = {0};
    file_meta(&b, TS_EXPLICIT);
    for (unsigned i = 0; i < MS_DICOM_DEPTH_MAX + 1; i++) {
        hdr_x(&b, 0x0040, 0xA730, "SQ", UNDEF);
        hdr_i(&b, 0xFFFE, 0xE000, UNDEF);
    }
    assert_refused(&b, -MEDSTORE_ELIMIT);
    free(b.p);
}

/* Encapsulated Pixel Data: offset table, fragments, delimiter; then trailing padding. */
static void encapsulated_pixels(struct dbuf *b)
{
    uint8_t frag[6] = {0xFF, 0xD8, 0xFF, 0xE0, 0xFF, 0xD9};
    hdr_x(b, 0x7FE0, 0x0010, "OB", UNDEF);
    hdr_i(b, 0xFFFE, 0xE000, 0);
    hdr_i(b, 0xFFFE, 0xE000, sizeof(frag));
    put(b, frag, sizeof(frag));
    hdr_i(b, 0xFFFE, 0xE000, sizeof(frag));
    put(b, frag, sizeof(frag));
    hdr_i(b, 0xFFFE, 0xE0DD, 0);
}

static void test_encapsulated_pixel_data_skipped_item_by_item(void **state)
{
    (void)state;
    struct dbuf b = {0};
    file_meta(&b, TS_JPEG);
    patient_attrs(&b);
    tail_attrs(&b);
    encapsulated_pixels(&b);
    hdr_x(&b, 0xFFFC, 0xFFFC, "OB", 2);
    put16(&b, 0);
    struct ms_meta m;
    assert_int_equal(run(&b, &m), 0);
    assert_val(&m, MS_META_TRANSFER_SYNTAX, TS_JPEG);
    assert_val(&m, MS_META_NUMBER_OF_FRAMES, "3");
    ms_meta_fini(&m);
    /* Cut before the sequence delimiter: truncated. */
    struct dbuf cut = b;
    cut.n -= 8 + 12; /* the padding element and the delimiter */
    assert_refused(&cut, -MEDSTORE_ETRUNCATED);
    free(b.p);
}

static void test_pixel_data_form_must_match_the_transfer_syntax(void **state)
{
    (void)state;
    struct dbuf b = {0}; /* native syntax, encapsulated pixels */
    file_meta(&b, TS_EXPLICIT);
    patient_attrs(&b);
    encapsulated_pixels(&b);
    assert_refused(&b, -MEDSTORE_EFORMAT);
    struct dbuf c = {0}; /* encapsulated syntax, native pixels */
    file_meta(&c, TS_JPEG);
    patient_attrs(&c);
    hdr_x(&c, 0x7FE0, 0x0010, "OB", 4);
    put32(&c, 0);
    assert_refused(&c, -MEDSTORE_EFORMAT);
    free(b.p);
    free(c.p);
}

static void test_fragment_rules(void **state)
{
    (void)state;
    struct dbuf b = {0}; /* undefined-length fragment */
    file_meta(&b, TS_JPEG);
    hdr_x(&b, 0x7FE0, 0x0010, "OB", UNDEF);
    hdr_i(&b, 0xFFFE, 0xE000, UNDEF);
    hdr_i(&b, 0xFFFE, 0xE0DD, 0);
    assert_refused(&b, -MEDSTORE_EFORMAT);
    struct dbuf c = {0}; /* something not an item inside Pixel Data */
    file_meta(&c, TS_JPEG);
    hdr_x(&c, 0x7FE0, 0x0010, "OB", UNDEF);
    hdr_i(&c, 0x0008, 0x0060, 0);
    assert_refused(&c, -MEDSTORE_EFORMAT);
    struct dbuf d = {0}; /* sequence delimiter with a length */
    file_meta(&d, TS_JPEG);
    hdr_x(&d, 0x7FE0, 0x0010, "OB", UNDEF);
    hdr_i(&d, 0xFFFE, 0xE0DD, 2);
    put16(&d, 0);
    assert_refused(&d, -MEDSTORE_EFORMAT);
    free(b.p);
    free(c.p);
    free(d.p);
}

static void test_length_lies_and_odd_lengths(void **state)
{
    (void)state;
    struct dbuf b = {0}; /* a value longer than the file */
    file_meta(&b, TS_EXPLICIT);
    hdr_x(&b, 0x0010, 0x0020, "LO", 100);
    put(&b, "SHORT", 5);
    struct ms_meta m;
    assert_int_equal(run(&b, &m), -MEDSTORE_ETRUNCATED);
    assert_int_equal(m.err_offset, 128 + 4 + 14 + 8 + 20); /* the element's header */
    ms_meta_fini(&m);
    struct dbuf c = {0}; /* an odd length */
    file_meta(&c, TS_EXPLICIT);
    hdr_x(&c, 0x0010, 0x0020, "LO", 3);
    put(&c, "ABC", 3);
    assert_refused(&c, -MEDSTORE_EFORMAT);
    struct dbuf d = {0}; /* a header cut short */
    file_meta(&d, TS_EXPLICIT);
    put(&d, "\x10\x00\x20\x00LO", 6);
    assert_refused(&d, -MEDSTORE_ETRUNCATED);
    struct dbuf e = {0}; /* an undefined-length sequence that never ends */
    file_meta(&e, TS_EXPLICIT);
    hdr_x(&e, 0x0008, 0x1115, "SQ", UNDEF);
    hdr_i(&e, 0xFFFE, 0xE000, UNDEF);
    el_x(&e, 0x0008, 0x0060, "CS", "CT", ' ');
    assert_refused(&e, -MEDSTORE_ETRUNCATED);
    free(b.p);
    free(c.p);
    free(d.p);
    free(e.p);
}

static void test_structural_errors(void **state)
{
    (void)state;
    struct dbuf b = {0}; /* an invalid VR */
    file_meta(&b, TS_EXPLICIT);
    hdr_x(&b, 0x0010, 0x0020, "LO", 2);
    put(&b, "AB", 2);
    b.p[b.n - 6] = 'Z';
    b.p[b.n - 5] = 'Z';
    assert_refused(&b, -MEDSTORE_EFORMAT);
    struct dbuf c = {0}; /* an item delimiter outside an item */
    file_meta(&c, TS_EXPLICIT);
    hdr_i(&c, 0xFFFE, 0xE00D, 0);
    assert_refused(&c, -MEDSTORE_EFORMAT);
    struct dbuf d = {0}; /* undefined length on a VR that cannot have it */
    file_meta(&d, TS_EXPLICIT);
    hdr_x(&d, 0x0010, 0x1000, "UT", UNDEF);
    assert_refused(&d, -MEDSTORE_EFORMAT);
    struct dbuf e = {0}; /* a wanted attribute with a VR it cannot have */
    file_meta(&e, TS_EXPLICIT);
    el_x(&e, 0x0010, 0x0020, "UT", "X", ' ');
    assert_refused(&e, -MEDSTORE_EFORMAT);
    struct dbuf f = {0}; /* something other than an item in a sequence */
    file_meta(&f, TS_EXPLICIT);
    hdr_x(&f, 0x0008, 0x1115, "SQ", UNDEF);
    el_x(&f, 0x0008, 0x0060, "CS", "CT", ' ');
    assert_refused(&f, -MEDSTORE_EFORMAT);
    free(b.p);
    free(c.p);
    free(d.p);
    free(e.p);
    free(f.p);
}

static void test_unknown_transfer_syntax_is_unsupported(void **state)
{
    (void)state;
    struct dbuf b = {0};
    file_meta(&b, "1.2.840.113619.5.2"); /* GE private implicit big endian */
    patient_attrs(&b);
    assert_refused(&b, -MEDSTORE_EUNSUPPORTED);
    free(b.p);
}

/* PS3.5 6.2.2: UN of undefined length holds an implicit VR little endian sequence. */
static void test_un_of_undefined_length_read_as_implicit_sequence(void **state)
{
    (void)state;
    struct dbuf b = {0};
    file_meta(&b, TS_EXPLICIT);
    hdr_x(&b, 0x0009, 0x1010, "UN", UNDEF);
    hdr_i(&b, 0xFFFE, 0xE000, UNDEF);
    el_i(&b, 0x0009, 0x0011, "PRIVATE", ' ');
    hdr_i(&b, 0xFFFE, 0xE00D, 0);
    hdr_i(&b, 0xFFFE, 0xE0DD, 0);
    el_x(&b, 0x0010, 0x0020, "UN", "AFTER", ' '); /* UN accepted for a wanted attribute */
    struct ms_meta m;
    assert_int_equal(run(&b, &m), 0);
    assert_val(&m, MS_META_PATIENT_ID, "AFTER");
    ms_meta_fini(&m);
    free(b.p);
}

static void test_character_sets_and_padding(void **state)
{
    (void)state;
    struct dbuf b = {0};
    file_meta(&b, TS_EXPLICIT);
    el_x(&b, 0x0008, 0x0005, "CS", "ISO_IR 100", ' ');
    el_x(&b, 0x0008, 0x0060, "CS", " MR  ", ' ');            /* CS: both sides trimmed */
    el_x(&b, 0x0010, 0x0010, "PN", " Buc^J\xE9r\xF4me", ' '); /* Latin-1; leading kept */
    el_x(&b, 0x0020, 0x000D, "UI", "1.2.3", '\0');
    el_x(&b, 0x0028, 0x0008, "IS", " 12 ", ' ');
    struct ms_meta m;
    assert_int_equal(run(&b, &m), 0);
    assert_val(&m, MS_META_MODALITY, "MR");
    assert_val(&m, MS_META_PATIENT_NAME, " Buc^J\xC3\xA9r\xC3\xB4me");
    assert_val(&m, MS_META_STUDY_UID, "1.2.3");
    assert_val(&m, MS_META_NUMBER_OF_FRAMES, "12");
    ms_meta_fini(&m);
    /* Another character set: bytes kept as they are. */
    struct dbuf c = {0};
    file_meta(&c, TS_EXPLICIT);
    el_x(&c, 0x0008, 0x0005, "CS", "ISO_IR 144", ' ');
    el_x(&c, 0x0010, 0x0010, "PN", "\xC8\xD2", ' ');
    assert_int_equal(run(&c, &m), 0);
    assert_val(&m, MS_META_PATIENT_NAME, "\xC8\xD2");
    ms_meta_fini(&m);
    free(b.p);
    free(c.p);
}

static void test_first_occurrence_wins_and_empty_values_are_present(void **state)
{
    (void)state;
    struct dbuf b = {0};
    file_meta(&b, TS_EXPLICIT);
    el_x(&b, 0x0010, 0x0020, "LO", "", ' ');
    el_x(&b, 0x0010, 0x0020, "LO", "SECOND", ' ');
    struct ms_meta m;
    assert_int_equal(run(&b, &m), 0);
    assert_val(&m, MS_META_PATIENT_ID, "");
    assert_val(&m, MS_META_PATIENT_KEY, NULL); /* an empty id gives no key */
    ms_meta_fini(&m);
    free(b.p);
}

static void test_implicit_file_meta_is_accepted(void **state)
{
    (void)state;
    struct dbuf b = {0};
    el_i(&b, 0x0002, 0x0010, TS_IMPLICIT, '\0');
    el_i(&b, 0x0010, 0x0020, "X1", ' ');
    struct ms_meta m;
    assert_int_equal(run(&b, &m), 0);
    assert_val(&m, MS_META_TRANSFER_SYNTAX, TS_IMPLICIT);
    assert_val(&m, MS_META_PATIENT_ID, "X1");
    ms_meta_fini(&m);
    free(b.p);
}

static void test_value_over_the_limit_is_refused(void **state)
{
    (void)state;
    struct dbuf b = {0};
    file_meta(&b, TS_EXPLICIT);
    char *big = malloc(MS_META_VALUE_MAX_BYTES + 3);
    assert_non_null(big);
    memset(big, 'A', MS_META_VALUE_MAX_BYTES + 2);
    big[MS_META_VALUE_MAX_BYTES + 2] = '\0';
    el_x(&b, 0x0010, 0x0020, "LO", big, ' ');
    assert_refused(&b, -MEDSTORE_ELIMIT);
    free(big);
    free(b.p);
}

/* Every prefix of a valid file: a clean result or a clean refusal, never a crash; a cut
 * inside a value or header is -MEDSTORE_ETRUNCATED. */
static void test_every_truncation_fails_cleanly(void **state)
{
    (void)state;
    struct dbuf b = {0};
    file_meta(&b, TS_JPEG);
    patient_attrs(&b);
    hdr_x(&b, 0x0008, 0x1115, "SQ", UNDEF);
    hdr_i(&b, 0xFFFE, 0xE000, UNDEF);
    el_x(&b, 0x0008, 0x0060, "CS", "CT", ' ');
    hdr_i(&b, 0xFFFE, 0xE00D, 0);
    hdr_i(&b, 0xFFFE, 0xE0DD, 0);
    tail_attrs(&b);
    size_t data_start = b.n;
    encapsulated_pixels(&b);
    for (size_t n = 133; n < b.n; n++) {
        struct ms_meta m;
        int rc = ms_dicom_extract(b.p, n, (ms_meta_init(&m), &m));
        assert_true(rc == 0 || rc == -MEDSTORE_ETRUNCATED);
        if (n > data_start)
            assert_int_equal(rc, -MEDSTORE_ETRUNCATED);
        ms_meta_fini(&m);
    }
    free(b.p);
}

/* The VR recogniser accepts exactly the 34 value representations of PS3.5 6.2. */
static void test_value_representations(void **state)
{
    (void)state;
    static const char known[] = "AE AS AT CS DA DS DT FD FL IS LO LT OB OD OF OL OV OW PN SH SL "
                                "SQ SS ST SV TM UC UI UL UN UR US UT UV";
    unsigned accepted = 0;
    for (unsigned a = 0; a < 256; a++) {
        for (unsigned b = 0; b < 256; b++) {
            uint8_t vr[2] = {(uint8_t)a, (uint8_t)b};
            bool listed = false;
            for (size_t i = 0; i + 1 < sizeof(known); i += 3)
                listed |= known[i] == (char)a && known[i + 1] == (char)b;
            assert_int_equal(ms_dicom_is_vr(vr), listed);
            accepted += listed;
        }
    }
    assert_int_equal(accepted, 34);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_explicit_le_part10_all_attributes__F_IMG_1),
        cmocka_unit_test(test_dicm_without_preamble_and_bare_datasets),
        cmocka_unit_test(test_implicit_le_and_big_endian__F_IMG_1),
        cmocka_unit_test(test_deflated_dataset),
        cmocka_unit_test(test_undefined_length_sequences_nested),
        cmocka_unit_test(test_nesting_deeper_than_the_limit_is_refused),
        cmocka_unit_test(test_encapsulated_pixel_data_skipped_item_by_item),
        cmocka_unit_test(test_pixel_data_form_must_match_the_transfer_syntax),
        cmocka_unit_test(test_fragment_rules),
        cmocka_unit_test(test_length_lies_and_odd_lengths),
        cmocka_unit_test(test_structural_errors),
        cmocka_unit_test(test_unknown_transfer_syntax_is_unsupported),
        cmocka_unit_test(test_un_of_undefined_length_read_as_implicit_sequence),
        cmocka_unit_test(test_character_sets_and_padding),
        cmocka_unit_test(test_first_occurrence_wins_and_empty_values_are_present),
        cmocka_unit_test(test_implicit_file_meta_is_accepted),
        cmocka_unit_test(test_value_over_the_limit_is_refused),
        cmocka_unit_test(test_every_truncation_fails_cleanly),
        cmocka_unit_test(test_value_representations),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
