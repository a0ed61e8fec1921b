/*
 * desk.h - the editorial desk's pages under /desk (docs/desk.md):
 * sign-in, the post list, the editor with preview, revisions and
 * corrections (desk.c); picks, live updates, tags, staff and the audit
 * log (desk_admin.c). Server-rendered HTML that works without
 * JavaScript; desk.js enhances it (live preview, slug, "Edit post").
 *
 * Every handler first calls desk_enter(): a live session, and on POST a
 * matching CSRF token and same-origin Origin. Rules about roles live in
 * content/desk.c, not here; pages only hide what a role cannot use.
 * Internal to web/.
 */
#ifndef WEB_DESK_H
#define WEB_DESK_H

#include <jansson.h>
#include <stdint.h>

#include "content/desk.h"

struct http_req;
struct web_app;

/* One desk request after desk_enter(). */
struct desk_req {
    struct web_app *app;
    struct http_req *req;
    struct arena *a;
    struct desk_actor who;            /* the signed-in person */
    const char *token;                /* their session token */
    char csrf[SESSION_TOKEN_HEX + 1]; /* the token forms carry */
    int64_t now;
};

/* Checks the session (and, for POST, the CSRF token and Origin). 0 when
 * the request may go on; otherwise the response was sent (the sign-in
 * page, 401 or 403) and the handler returns *sent. */
int desk_enter(struct http_req *req, void *app, struct desk_req *d, int *sent);
/* The root data of a desk page: site, page title, desk (user, csrf,
 * nav[current]); consumed by desk_render. */
json_t *desk_data(struct desk_req *d, const char *title, const char *current);
/* Renders desk/<name> privately with status. */
int desk_render(struct desk_req *d, int status, const char *name, json_t *data);
/* The HTTP status for a desk_rc. */
int desk_status(int rc);
/* Sends a desk error page for rc with message err. */
int desk_fail(struct desk_req *d, int rc, const char *err);
/* A form field, "" when absent. */
const char *desk_field(struct desk_req *d, const char *name);
/* A positive id from text, or 0. */
int64_t desk_id(const char *s);
/* Formats t (site zone) for people / for <input type=datetime-local>. */
const char *desk_time(struct desk_req *d, int64_t t);

/* desk.c */
int desk_home(struct http_req *req, void *app);
int desk_signin(struct http_req *req, void *app);
/* POST /desk/signin/code: the TOTP code after the password. */
int desk_signin_code(struct http_req *req, void *app);
int desk_signout(struct http_req *req, void *app);
int desk_post_new(struct http_req *req, void *app);
int desk_post_edit(struct http_req *req, void *app);
int desk_post_submit(struct http_req *req, void *app);
int desk_post_remove(struct http_req *req, void *app);
int desk_post_correct(struct http_req *req, void *app);
int desk_revision_view(struct http_req *req, void *app);
int desk_revision_back(struct http_req *req, void *app);
int desk_preview(struct http_req *req, void *app);
/* POST /desk/posts/:id/narration: action regenerate, off or on. */
int desk_post_narration(struct http_req *req, void *app);
int desk_edit_link(struct http_req *req, void *app);
int desk_welcome(struct http_req *req, void *app);

/* desk_admin.c */
int desk_picks(struct http_req *req, void *app);
int desk_live(struct http_req *req, void *app);
int desk_live_change(struct http_req *req, void *app);
int desk_tags(struct http_req *req, void *app);
int desk_staff(struct http_req *req, void *app);
int desk_staff_change(struct http_req *req, void *app);
int desk_audit_page(struct http_req *req, void *app);

/* desk_security.c: GET/POST /desk/security/, the signed-in person's TOTP
 * (and, for administrators, the site's "require for administrators") */
int desk_security(struct http_req *req, void *app);

/* desk_keys.c: GET/POST /desk/keys/, Content API keys (administrators) */
int desk_keys(struct http_req *req, void *app);

/* desk_mail.c: newsletters, sends and their progress, subscribers */
int desk_newsletters(struct http_req *req, void *app);
int desk_nl_send(struct http_req *req, void *app);
int desk_send_page(struct http_req *req, void *app);
int desk_send_progress(struct http_req *req, void *app);
int desk_subscribers(struct http_req *req, void *app);
int desk_subscribers_csv(struct http_req *req, void *app);
int desk_subscribers_import(struct http_req *req, void *app);

#endif
