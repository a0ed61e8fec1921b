/*
 * search.h - the reader's search page, GET /search (search.c), listed in
 * the routes table of site.c. It asks store_search() and renders
 * search.mustache (docs/theme.md).
 */
#ifndef WEB_SEARCH_H
#define WEB_SEARCH_H

struct http_req;

/*
 * GET /search?q=TEXT[&section=SLUG][&author=SLUG][&from=YYYY-MM-DD]
 * [&to=YYYY-MM-DD][&page=N]: published articles matching q, best first,
 * ten a page, as cards with a highlighted snippet. An empty or absent q
 * shows the form only. Answers 400 with a message for an unknown section
 * or author, a malformed date or a from after to, a page number that is
 * malformed or past the last page, and a q longer than 300 bytes; any
 * other q is searched (the store neutralises operators). app is the
 * web_app. Returns the status sent, or -1 (the layer answers 500).
 */
int page_search(struct http_req *req, void *app);

#endif
