/*
 * pages.h - handlers for the reader's pages (pages.c), listed in the
 * routes table of site.c. Each takes the web_app as its app argument and
 * returns the status it sent.
 */
#ifndef WEB_PAGES_H
#define WEB_PAGES_H

struct http_req;

int page_home(struct http_req *req, void *app);
int page_article(struct http_req *req, void *app);
int page_author(struct http_req *req, void *app);
int page_tag(struct http_req *req, void *app);
int page_archive(struct http_req *req, void *app);
/* The 404 page (also the not-found hook of the routes table). */
int page_not_found(struct http_req *req, void *app);

#endif
