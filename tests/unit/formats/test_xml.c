/*
 * test_xml.c - the libxml2 settings of src/formats/xml.c: no DTD at all (billion laughs,
 * external entities, parameter entities are never expanded or fetched), well-formedness
 * errors, the attribute and child helpers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <libxml/tree.h>
#include <string.h>

#include "formats/formats.h"
#include "formats/formats_int.h"

static int parse(const char *s, xmlDocPtr *doc)
{
    struct ms_meta m;
    ms_meta_init(&m);
    int rc = ms_xml_parse((const uint8_t *)s, strlen(s), &m, doc);
    if (rc < 0)
        assert_non_null(m.err_detail);
    ms_meta_fini(&m);
    return rc;
}

static const char laughs[] =
    "<?xml version=\"1.0\"?>\n"
    "<!DOCTYPE lolz [\n"
    " <!ENTITY lol \"lol\">\n"
    " <!ENTITY lol1 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">\n"
    " <!ENTITY lol2 \"&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;\">\n"
    " <!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">\n"
    " <!ENTITY lol4 \"&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;\">\n"
    " <!ENTITY lol5 \"&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;\">\n"
    " <!ENTITY lol6 \"&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;\">\n"
    " <!ENTITY lol7 \"&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;\">\n"
    " <!ENTITY lol8 \"&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;\">\n"
    " <!ENTITY lol9 \"&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;\">\n"
    "]>\n"
    "<Patient xmlns=\"http://hl7.org/fhir\"><id value=\"&lol9;\"/></Patient>\n";

static void test_billion_laughs_is_refused__Y_QRY_3(void **state)
{
    (void)state;
    xmlDocPtr doc = NULL;
    assert_int_equal(parse(laughs, &doc), -MEDSTORE_EUNSUPPORTED);
    assert_null(doc);
    /* Through the public entry point too. */
    struct ms_meta m;
    assert_int_equal(ms_formats_extract((const uint8_t *)laughs, sizeof(laughs) - 1, &m),
                     -MEDSTORE_EUNSUPPORTED);
    assert_int_equal(m.detected, MS_FMT_FHIR_XML);
    ms_meta_fini(&m);
}

static void test_external_entities_and_dtds_are_refused(void **state)
{
    (void)state;
    xmlDocPtr doc = NULL;
    assert_int_equal(parse("<!DOCTYPE r [<!ENTITY x SYSTEM \"file:///etc/passwd\">]><r>&x;</r>",
                           &doc),
                     -MEDSTORE_EUNSUPPORTED);
    assert_int_equal(parse("<!DOCTYPE r SYSTEM \"http://127.0.0.1:1/x.dtd\"><r/>", &doc),
                     -MEDSTORE_EUNSUPPORTED);
    assert_int_equal(parse("<!DOCTYPE r [<!ENTITY % p SYSTEM \"file:///etc/passwd\"> %p;]><r/>",
                           &doc),
                     -MEDSTORE_EUNSUPPORTED);
    assert_null(doc);
}

static void test_not_well_formed(void **state)
{
    (void)state;
    xmlDocPtr doc = NULL;
    assert_int_equal(parse("<a><b></a>", &doc), -MEDSTORE_EFORMAT);
    assert_int_equal(parse("<a>&nbsp;</a>", &doc), -MEDSTORE_EFORMAT); /* undefined entity */
    assert_int_equal(parse("<a>\x93\x94</a>", &doc), -MEDSTORE_EFORMAT); /* not UTF-8 */
    assert_int_equal(parse("", &doc), -MEDSTORE_EFORMAT);
    assert_int_equal(parse("<a/><b/>", &doc), -MEDSTORE_EFORMAT);
    assert_null(doc);
}

static void test_helpers(void **state)
{
    (void)state;
    xmlDocPtr doc = NULL;
    assert_int_equal(parse("<r xmlns=\"urn:x\" xmlns:o=\"urn:o\"><!-- c --><o:k value=\"no\"/>"
                           "<k value=\"a&amp;b&#x41;\"/><k value=\"\"/><k/></r>",
                           &doc),
                     0);
    xmlNodePtr root = xmlDocGetRootElement(doc);
    assert_true(ms_xml_in_ns(root, "urn:x"));
    assert_false(ms_xml_in_ns(root, "urn:o"));
    xmlNodePtr k = ms_xml_child(root, "urn:x", "k");
    assert_non_null(k);
    struct ms_str v = ms_xml_attr(k, "value");
    assert_int_equal(v.len, 4);
    assert_memory_equal(v.p, "a&bA", 4);
    k = ms_xml_next(k, "urn:x", "k");
    v = ms_xml_attr(k, "value");
    assert_non_null(v.p);
    assert_int_equal(v.len, 0);
    k = ms_xml_next(k, "urn:x", "k");
    assert_null(ms_xml_attr(k, "value").p);
    assert_null(ms_xml_next(k, "urn:x", "k"));
    assert_non_null(ms_xml_first_element(root));
    assert_null(ms_xml_child(NULL, "urn:x", "k"));
    assert_null(ms_xml_attr(NULL, "value").p);
    xmlFreeDoc(doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_billion_laughs_is_refused__Y_QRY_3),
        cmocka_unit_test(test_external_entities_and_dtds_are_refused),
        cmocka_unit_test(test_not_well_formed),
        cmocka_unit_test(test_helpers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
