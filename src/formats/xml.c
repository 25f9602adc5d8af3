/*
 * xml.c - libxml2 with the settings every XML input of medstore gets (FHIR XML, C-CDA).
 *
 * Untrusted XML is dangerous through its DTD: entity expansion ("billion laughs"), external
 * entities (file and network reads), and DTD loading. FHIR and CDA never need a DTD, so a
 * document that declares one is refused outright: the SAX internalSubset callback, which
 * libxml2 calls when it meets <!DOCTYPE, stops the parser before any declaration inside it is
 * read, and the document gets -MEDSTORE_EUNSUPPORTED. On top of that: XML_PARSE_NONET (no
 * network), no XML_PARSE_NOENT (entities never substituted), no XML_PARSE_DTDLOAD, no
 * XML_PARSE_HUGE (libxml2's default limits on depth, text and name sizes stay on), and
 * XML_PARSE_NOERROR / NOWARNING so nothing is printed. Inputs above MS_FORMATS_TEXT_MAX_BYTES
 * are refused before parsing. Undefined entities and invalid encodings are well-formedness
 * errors (-MEDSTORE_EFORMAT).
 *
 * Thread safety: xmlInitParser() runs once (pthread_once); each call uses its own parser
 * context.
 */
#include "formats/formats.h"
#include "formats/formats_int.h"

#include <errno.h>
#include <limits.h>
#include <libxml/parser.h>
#include <pthread.h>
#include <string.h>

#include "common/ms_assert.h"

static pthread_once_t xml_once = PTHREAD_ONCE_INIT;

static void xml_init(void)
{
    xmlInitParser();
}

/* Per-parse state reached through ctxt->_private. */
struct xml_guard {
    bool dtd_seen;
};

/* SAX internalSubset: called at <!DOCTYPE, before its internal subset is parsed. */
static void refuse_dtd(void *ctx, const xmlChar *name, const xmlChar *external_id,
                       const xmlChar *system_id)
{
    (void)name;
    (void)external_id;
    (void)system_id;
    xmlParserCtxtPtr ctxt = ctx;
    struct xml_guard *g = ctxt->_private;
    MS_ASSERT(g != NULL);
    g->dtd_seen = true;
    xmlStopParser(ctxt);
}

/* Swallows libxml2's structured errors (the parser records them in the context). */
static void quiet_error(void *arg, xmlErrorPtr err)
{
    (void)arg;
    (void)err;
}

int ms_xml_parse(const uint8_t *b, size_t len, struct ms_meta *m, struct _xmlDoc **doc)
{
    MS_ASSERT(m != NULL && doc != NULL);
    MS_ASSERT(b != NULL || len == 0);
    if (len > MS_FORMATS_TEXT_MAX_BYTES || len > INT_MAX)
        return ms_meta_fail(m, -MEDSTORE_ELIMIT, "xml: input larger than the limit", 0);
    pthread_once(&xml_once, xml_init);
    xmlParserCtxtPtr ctxt = xmlNewParserCtxt();
    if (ctxt == NULL)
        return ms_meta_fail(m, -ENOMEM, "out of memory", UINT64_MAX);
    struct xml_guard g = {.dtd_seen = false};
    ctxt->_private = &g;
    ctxt->sax->internalSubset = refuse_dtd;
    ctxt->sax->serror = quiet_error;
    int opts = XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING;
    xmlDocPtr d = xmlCtxtReadMemory(ctxt, (const char *)b, (int)len, NULL, NULL, opts);
    bool well_formed = ctxt->wellFormed != 0;
    int err_no = ctxt->errNo;
    xmlFreeParserCtxt(ctxt);
    int rc = 0;
    if (g.dtd_seen)
        rc = ms_meta_fail(m, -MEDSTORE_EUNSUPPORTED, "xml: a DOCTYPE is refused", UINT64_MAX);
    else if (err_no == XML_ERR_NO_MEMORY)
        rc = ms_meta_fail(m, -ENOMEM, "out of memory", UINT64_MAX);
    else if (d == NULL || !well_formed)
        rc = ms_meta_fail(m, -MEDSTORE_EFORMAT, "xml: not well-formed", UINT64_MAX);
    else if (xmlDocGetRootElement(d) == NULL)
        rc = ms_meta_fail(m, -MEDSTORE_EFORMAT, "xml: no root element", UINT64_MAX);
    if (rc < 0) {
        xmlFreeDoc(d);
        return rc;
    }
    *doc = d;
    MS_ASSERT(*doc != NULL);
    return 0;
}

/* The first element named ns:name among c and its following siblings, or NULL. */
static xmlNodePtr element_from(xmlNodePtr c, const char *ns, const char *name)
{
    MS_ASSERT(ns != NULL && name != NULL);
    for (; c != NULL; c = c->next) {
        if (c->type != XML_ELEMENT_NODE || c->ns == NULL)
            continue;
        if (xmlStrEqual(c->name, (const xmlChar *)name) &&
            xmlStrEqual(c->ns->href, (const xmlChar *)ns))
            return c;
    }
    return NULL;
}

struct _xmlNode *ms_xml_child(struct _xmlNode *parent, const char *ns, const char *name)
{
    MS_ASSERT(ns != NULL && name != NULL);
    if (parent == NULL)
        return NULL;
    MS_ASSERT(parent->type == XML_ELEMENT_NODE);
    return element_from(parent->children, ns, name);
}

struct _xmlNode *ms_xml_next(struct _xmlNode *node, const char *ns, const char *name)
{
    MS_ASSERT(ns != NULL && name != NULL);
    return element_from(node == NULL ? NULL : node->next, ns, name);
}

struct _xmlNode *ms_xml_first_element(struct _xmlNode *parent)
{
    for (xmlNodePtr c = parent == NULL ? NULL : parent->children; c != NULL; c = c->next)
        if (c->type == XML_ELEMENT_NODE)
            return c;
    return NULL;
}

struct ms_str ms_xml_attr(struct _xmlNode *node, const char *name)
{
    struct ms_str s = {NULL, 0};
    MS_ASSERT(name != NULL);
    if (node == NULL)
        return s;
    for (xmlAttrPtr a = node->properties; a != NULL; a = a->next) {
        if (a->ns != NULL || !xmlStrEqual(a->name, (const xmlChar *)name))
            continue;
        MS_ASSERT(a->type == XML_ATTRIBUTE_NODE);
        xmlNodePtr t = a->children;
        if (t == NULL) {
            s.p = "";
        } else if (t->type == XML_TEXT_NODE && t->next == NULL && t->content != NULL) {
            s.p = (const char *)t->content;
            s.len = strlen(s.p);
        }
        return s;
    }
    return s;
}

bool ms_xml_in_ns(struct _xmlNode *node, const char *ns)
{
    MS_ASSERT(ns != NULL);
    return node != NULL && node->ns != NULL && xmlStrEqual(node->ns->href, (const xmlChar *)ns);
}
