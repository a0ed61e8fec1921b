/*
 * xml.h - writing XML 1.0 text safely, for the feeds (RSS of the News Feed,
 * the podcast): escaping and one-line elements. Anything a feed carries
 * passes through xml_add, so no title or name can break the document.
 */
#ifndef RENDER_XML_H
#define RENDER_XML_H

struct buf;

/* Appends s (NULL = "") to out escaped for XML 1.0 text and attribute
 * values: & < > " ' as entities. Bytes that are not well-formed UTF-8 and
 * characters XML 1.0 does not allow (controls other than tab, LF and CR;
 * U+FFFE, U+FFFF) are left out. */
void xml_add(struct buf *out, const char *s);

/* <name>escaped text</name> and a newline. */
void xml_elem(struct buf *out, const char *name, const char *text);

#endif
