/*
 * newsletter.h - the reader's newsletter pages (newsletter.c): the sign-up
 * forms' target, the confirmation link, one-click unsubscribe (RFC 8058)
 * and the preferences page. Listed in the routes table of site.c.
 */
#ifndef WEB_NEWSLETTER_H
#define WEB_NEWSLETTER_H

struct http_req;

/* POST /newsletters/SLUG/subscribe: a sign-up form (or fetch, answered
 * with JSON when it asks for application/json). */
int nl_page_subscribe(struct http_req *req, void *app);
/* GET /newsletters/confirm/?token=: the link in the confirmation mail. */
int nl_page_confirm(struct http_req *req, void *app);
/* GET shows a button; POST (the one-click of RFC 8058, or the button)
 * unsubscribes. No session or CSRF token: the signed link is the proof. */
int nl_page_unsubscribe(struct http_req *req, void *app);
/* GET/POST /newsletters/preferences/?token=: every newsletter, toggles. */
int nl_page_preferences(struct http_req *req, void *app);

#endif
