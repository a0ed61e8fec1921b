/*
 * feeds.h - the site's article feeds (feeds.c): RSS 2.0, Atom 1.0 and
 * JSON Feed 1.1 of the whole site, of each section, each tag and each
 * author, and the list of them a page advertises in its <head>
 * (docs/feeds.md). Handlers take the web_app as their app argument.
 */
#ifndef WEB_FEEDS_H
#define WEB_FEEDS_H

#include <jansson.h>
#include <stdint.h>

struct arena;
struct config;
struct http_req;

/* The feeds of one format. The path says whose: "/rss.xml" the site's,
 * "/section/SLUG/rss.xml", "/tag/SLUG/rss.xml", "/author/SLUG/rss.xml"
 * one section's, tag's or author's. An unknown slug gets the 404 page; a
 * section asked for under /tag/ (or the reverse) a 301 to its address.
 * Return the status sent, or -1 (a 500). */
int feeds_rss(struct http_req *req, void *app);
int feeds_atom(struct http_req *req, void *app);
int feeds_json(struct http_req *req, void *app);

/* The feeds the page at path advertises, as a new json array of
 * {type, title, url} (url relative to the site): the feeds of the
 * section, tag or author when path is "/section/SLUG/", "/tag/SLUG/" or
 * "/author/SLUG/" (name is then its display name, for the titles), then
 * the site's own three. Strings are in a; the caller owns the array. */
json_t *feeds_links(const struct config *c, struct arena *a, const char *path,
                    const char *name);

/* The RFC 822 date of t (the RFC 1123 form, "Fri, 01 Nov 2024 01:07:00
 * GMT") that RSS wants, in a; "" when t cannot be shown. */
char *feeds_rss_date(struct arena *a, int64_t t);

#endif
