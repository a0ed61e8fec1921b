/*
 * desk.c - sign-in, the post list, the editor (save, publish, schedule,
 * unpublish, delete, uploads, preview), revisions, corrections, the
 * "Edit post" link and invitation links; see desk.h.
 *
 * Cookies: nr_session (the session token; Path=/desk, HttpOnly,
 * SameSite=Lax, Secure behind TLS) and nr_staff (a "1" with no secret,
 * Path=/, that tells site.js to ask /desk/edit-link on article pages; it
 * grants nothing). The sign-in form itself is guarded by a double-submit
 * token (cookie nr_signin equals the form's csrf field). With TOTP on
 * (content/totp.h), the password form answers with the code form, whose
 * pending token is bound to that same cookie; an administrator who must
 * use TOTP and has not set it up is sent to /desk/security/ first.
 * nr_device (Path=/desk, HttpOnly, SameSite=Strict) is the device cookie
 * of content/session.h: it lets the owner sign in while their account is
 * paused for other browsers.
 */
#include "web/desk.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "content/post.h"
#include "content/site.h"
#include "content/totp.h"
#include "core/arena.h"
#include "core/bounds.h"
#include "core/log.h"
#include "core/str.h"
#include "jobs/jobs.h"
#include "media/img.h"
#include "web/app.h"

#define COOKIE_SESSION "nr_session"
#define COOKIE_STAFF "nr_staff"
#define COOKIE_SIGNIN "nr_signin"
#define COOKIE_DEVICE "nr_device"
#define LIST_PAGE 25 /* posts per desk list page */

/* ---- shared helpers ------------------------------------------------------ */

const char *desk_field(struct desk_req *d, const char *name)
{
    const char *v = http_req_form(d->req, name);
    return v ? v : "";
}

int64_t desk_id(const char *s)
{
    int64_t n = 0;

    if (!s || !*s || strlen(s) > 18)
        return 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return 0;
        n = n * 10 + (*s - '0');
    }
    return n;
}

const char *desk_time(struct desk_req *d, int64_t t)
{
    return t ? view_date(d->a, t, 1) : "";
}

/* t as "YYYY-MM-DDTHH:MM" in the site's zone, for datetime-local. */
static const char *local_input(struct arena *a, int64_t t)
{
    struct tm tm;
    time_t tt = (time_t)t;
    char buf[32];

    if (!t || !localtime_r(&tt, &tm))
        return "";
    strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M", &tm);
    return arena_strdup(a, buf);
}

/* Parses datetime-local text in the site's zone; 0 when empty, -1 when
 * malformed. */
static int64_t parse_local(const char *s)
{
    struct tm tm = {0};
    int y, mo, da, h, mi, sec = 0, n = 0, m = 0;

    if (!s || !*s)
        return 0;
    if (sscanf(s, "%4d-%2d-%2dT%2d:%2d%n", &y, &mo, &da, &h, &mi, &n) != 5)
        return -1;
    if (s[n] == ':' &&
        (sscanf(s + n, ":%2d%n", &sec, &m) != 1 || sec < 0 || sec > 59))
        return -1;
    n += m;
    if (s[n] == '.') /* fractions of a second, as browsers may send */
        n += (int)strspn(s + n + 1, "0123456789") + 1;
    if (s[n] != '\0' || y < 1970 || y > 9999 || mo < 1 || mo > 12 || da < 1 ||
        da > 31 || h > 23 || mi > 59 || h < 0 || mi < 0)
        return -1;
    tm.tm_sec = sec;
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = da;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_isdst = -1;
    time_t t = mktime(&tm);
    return t == (time_t)-1 ? -1 : (int64_t)t;
}

int desk_status(int rc)
{
    switch (rc) {
    case DESK_OK:
        return 200;
    case DESK_INVALID:
        return 400;
    case DESK_FORBIDDEN:
        return 403;
    case DESK_NOTFOUND:
        return 404;
    case DESK_CONFLICT:
        return 409;
    default:
        return page_fault_status() ? page_fault_status() : 500;
    }
}

/* 1 when cookies should carry Secure: the request came through TLS (a
 * proxy says X-Forwarded-Proto: https) or by the https site address. */
static int secure_cookies(struct desk_req *d)
{
    const char *xfp = http_req_header(d->req, "X-Forwarded-Proto");
    const char *host = http_req_header(d->req, "Host");
    const char *url = d->app->cfg.url;

    if (xfp && str_casecmp(xfp, "https") == 0)
        return 1;
    if (str_has_prefix(url, "https://") && host) {
        size_t n = strlen(host);
        return strncmp(url + 8, host, n) == 0 &&
               (url[8 + n] == '\0' || url[8 + n] == '/');
    }
    return 0;
}

static void set_cookie(struct desk_req *d, const char *name, const char *value,
                       const char *path, long max_age, int http_only)
{
    http_resp_header(
        d->req, "Set-Cookie",
        arena_printf(d->a, "%s=%s; Path=%s; Max-Age=%ld; SameSite=Lax%s%s",
                     name, value, path, max_age, http_only ? "; HttpOnly" : "",
                     secure_cookies(d) ? "; Secure" : ""));
}

/* 1 when an Origin header, if any, names this server. */
static int origin_ok(struct http_req *req)
{
    const char *origin = http_req_header(req, "Origin");
    const char *host = http_req_header(req, "Host");

    if (!origin)
        return 1;
    if (!host)
        return 0;
    const char *p = strstr(origin, "://");
    return p && strcmp(p + 3, host) == 0;
}

/* Where to go after sign-in: a desk path, or the post list. */
static const char *safe_next(const char *next)
{
    if (next && str_has_prefix(next, "/desk/") && !strstr(next, "//") &&
        !strchr(next, '\\') && strlen(next) < 512) {
        for (const char *c = next; *c; c++)
            if ((unsigned char)*c < 0x21 || *c == '"' || *c == '<')
                return "/desk/";
        return next;
    }
    return "/desk/";
}

json_t *desk_data(struct desk_req *d, const char *title, const char *current)
{
    struct web_app *app = d->app;
    json_t *assets = json_object();
    const char *names[][2] = {
        {"css", "desk.css"}, {"js", "desk.js"}, {"icon", "favicon.svg"}};

    for (size_t i = 0; i < 3; i++) {
        const char *u = files_asset_url(app, names[i][1]);
        if (u)
            json_object_set_new(assets, names[i][0], json_string(u));
    }
    json_t *root = json_pack(
        "{s:{s:s, s:s, s:o}, s:{s:s}}", "site", "title", app->cfg.title,
        "language", app->cfg.language, "assets", assets, "page", "title",
        arena_printf(d->a, "%s - Desk - %s", title, app->cfg.title));
    if (d->who.staff_id) {
        json_t *desk =
            json_pack("{s:{s:s, s:s, s:s}, s:s, s:b, s:b, s:b}", "user", "name",
                      d->who.name, "email", d->who.email, "role",
                      staff_role_name(d->who.role), "csrf", d->csrf,
                      "is_editor", d->who.role >= STAFF_EDITOR, "is_admin",
                      d->who.role == STAFF_ADMINISTRATOR, "is_contributor",
                      d->who.role == STAFF_CONTRIBUTOR);
        if (current)
            json_object_set_new(desk, arena_printf(d->a, "nav_%s", current),
                                json_true());
        json_object_set_new(root, "desk", desk);
    }
    return root;
}

int desk_render(struct desk_req *d, int status, const char *name, json_t *data)
{
    http_resp_header(d->req, "X-Robots-Tag", "noindex, nofollow");
    return render_private(d->app, d->req, status,
                          arena_printf(d->a, "desk/%s", name), data);
}

int desk_fail(struct desk_req *d, int rc, const char *err)
{
    int status = desk_status(rc);
    const char *fault = status >= 500 ? page_fault_text(1) : NULL;
    const char *title = status == 403   ? "Not allowed"
                        : status == 404 ? "Not found"
                        : status == 409 ? "Already taken"
                        : status < 500  ? "Please check"
                        : status == 507 ? "The disk is full"
                        : fault         ? "The database is read-only"
                                        : "Something went wrong";
    json_t *data = desk_data(d, title, NULL);

    if (fault) {
        err = fault;
        if (status == 503)
            http_resp_header(d->req, "Retry-After", "60");
    }

    json_object_set_new(
        data, "failure",
        json_pack("{s:i, s:s, s:s}", "status", (json_int_t)status, "title",
                  title, "message",
                  err && *err ? err : "The desk could not do that."));
    return desk_render(d, status, "message", data);
}

static const char *done_message(const char *done);

/* The sign-in page, with a double-submit token for its form. */
static int signin_page(struct desk_req *d, int status, const char *error,
                       const char *email, const char *next)
{
    const char *tok = http_req_cookie(d->req, COOKIE_SIGNIN);
    char fresh[SESSION_TOKEN_HEX + 1], hash[SESSION_TOKEN_HEX + 1];

    if (!tok || strlen(tok) != SESSION_TOKEN_HEX ||
        strspn(tok, "0123456789abcdef") != SESSION_TOKEN_HEX) {
        session_new_token(fresh, hash);
        tok = arena_strdup(d->a, fresh);
        set_cookie(d, COOKIE_SIGNIN, tok, "/desk", 86400, 1);
    }
    json_t *data = desk_data(d, "Sign in", NULL);
    json_object_set_new(
        data, "signin",
        json_pack("{s:s, s:s?, s:s, s:s, s:s?}", "csrf", tok, "error", error,
                  "email", email ? email : "", "next", safe_next(next),
                  "message", done_message(http_req_query(d->req, "done"))));
    return desk_render(d, status, "signin", data);
}

/* The second sign-in form: the TOTP code, carrying pending. */
static int code_page(struct desk_req *d, int status, const char *error,
                     const char *pending, const char *csrf, const char *next)
{
    json_t *data = desk_data(d, "Sign-in code", NULL);

    json_object_set_new(data, "code",
                        json_pack("{s:s, s:s, s:s?, s:s}", "csrf", csrf,
                                  "pending", pending, "error", error, "next",
                                  safe_next(next)));
    return desk_render(d, status, "security", data);
}

/* 1 when the signed-in person is an administrator who must set up TOTP
 * before anything else (the site requires it and theirs is off, or the
 * store cannot say: fail closed). */
static int must_enrol(struct desk_req *d)
{
    return d->who.role == STAFF_ADMINISTRATOR &&
           totp_required(d->app->st, d->a) &&
           totp_enabled(d->app->st, d->a, d->who.staff_id) != 1;
}

int desk_enter(struct http_req *req, void *app, struct desk_req *d, int *sent)
{
    int post = http_req_method(req) == HTTP_POST;

    memset(d, 0, sizeof *d);
    d->app = app;
    d->req = req;
    d->a = http_req_arena(req);
    d->now = (int64_t)time(NULL);
    d->token = http_req_cookie(req, COOKIE_SESSION);
    if (!d->token || session_check(d->app->st, d->a, d->token, d->now,
                                   &d->who) != SESSION_OK) {
        d->who.staff_id = 0;
        if (post) {
            *sent = signin_page(d, 401,
                                "Your session has ended. Sign in again, "
                                "then repeat what you were doing.",
                                NULL, NULL);
            return -1;
        }
        *sent = http_resp_redirect(req, 303,
                                   arena_printf(d->a, "/desk/?next=%s",
                                                safe_next(http_req_path(req))));
        return -1;
    }
    session_csrf(d->token, d->csrf);
    if (!str_has_prefix(http_req_path(req), "/desk/security/") &&
        strcmp(http_req_path(req), "/desk/signout") != 0 && must_enrol(d)) {
        *sent = post ? desk_fail(d, DESK_FORBIDDEN,
                                 "This site requires administrators to use "
                                 "a sign-in code. Set it up under Security "
                                 "(/desk/security/) first.")
                     : http_resp_redirect(req, 303, "/desk/security/");
        return -1;
    }
    if (post && (!origin_ok(req) ||
                 !session_csrf_ok(d->token, http_req_form(req, "csrf")))) {
        *sent = desk_fail(d, DESK_FORBIDDEN,
                          "This form has expired or was sent from another "
                          "site (its security token is missing or wrong). "
                          "Go back, reload the page and try again.");
        return -1;
    }
    return 0;
}

/* ---- sign-in and out ------------------------------------------------------
 */

static int post_list(struct desk_req *d);

int desk_home(struct http_req *req, void *app)
{
    struct desk_req d;
    const char *tok = http_req_cookie(req, COOKIE_SESSION);

    memset(&d, 0, sizeof d);
    d.app = app;
    d.req = req;
    d.a = http_req_arena(req);
    d.now = (int64_t)time(NULL);
    if (!tok ||
        session_check(d.app->st, d.a, tok, d.now, &d.who) != SESSION_OK) {
        memset(&d.who, 0, sizeof d.who);
        return signin_page(&d, 200, NULL, NULL, http_req_query(req, "next"));
    }
    d.token = tok;
    session_csrf(tok, d.csrf);
    if (must_enrol(&d))
        return http_resp_redirect(req, 303, "/desk/security/");
    return post_list(&d);
}

/* The device cookie (content/session.h) that tells later sign-ins this
 * browser signed in to d->who before: the one the browser has when it is
 * genuine for that account (its life renewed), else a new one. Path=/desk,
 * HttpOnly, SameSite=Strict, Secure behind TLS. */
static void set_device_cookie(struct desk_req *d)
{
    const char *have = http_req_cookie(d->req, COOKIE_DEVICE);
    char fresh[SESSION_DEVICE_MAX];

    if (!session_device_ok(d->app->st, d->a, have, d->who.staff_id)) {
        if (session_device_make(d->app->st, d->a, d->who.staff_id, fresh) < 0)
            return;
        have = fresh;
    }
    http_resp_header(d->req, "Set-Cookie",
                     arena_printf(d->a,
                                  "%s=%s; Path=/desk; Max-Age=%ld; "
                                  "SameSite=Strict; HttpOnly%s",
                                  COOKIE_DEVICE, have, (long)SIGNIN_DEVICE_S,
                                  secure_cookies(d) ? "; Secure" : ""));
}

/* Sets the cookies of a new session and goes on: to next, or to
 * /desk/security/ when an administrator must set up TOTP first. The
 * session token is always a new one (session fixation: whatever session
 * cookie the browser had is replaced). */
static int signed_in(struct desk_req *d, const char *token, const char *next)
{
    set_device_cookie(d);
    set_cookie(d, COOKIE_SESSION, token, "/desk", SESSION_MAX_S, 1);
    set_cookie(d, COOKIE_STAFF, "1", "/", SESSION_MAX_S, 0);
    set_cookie(d, COOKIE_SIGNIN, "", "/desk", 0, 1);
    return http_resp_redirect(
        d->req, 303, must_enrol(d) ? "/desk/security/" : safe_next(next));
}

/* Fills d for a post of a sign-in form (password or code) and checks
 * what the form carries against the browser: the Origin, and the
 * pre-sign-in value of its cookie (*pre) echoed in the form's csrf field
 * (and a pending token when need_pending). 0, or the status of the 403
 * page it sent (refilled with email). */
static int signin_form(struct desk_req *d, struct http_req *req, void *app,
                       const char *email, int need_pending, const char **pre)
{
    const char *csrf = http_req_form(req, "csrf");

    memset(d, 0, sizeof *d);
    d->app = app;
    d->req = req;
    d->a = http_req_arena(req);
    d->now = (int64_t)time(NULL);
    *pre = http_req_cookie(req, COOKIE_SIGNIN);
    if (origin_ok(req) && *pre && csrf &&
        (!need_pending || http_req_form(req, "pending")) &&
        strlen(*pre) == strlen(csrf) && strcmp(*pre, csrf) == 0)
        return 0;
    int rc =
        signin_page(d, 403, "This sign-in form has expired. Please try again.",
                    email, http_req_form(req, "next"));
    return rc ? rc : -1;
}

int desk_signin(struct http_req *req, void *app)
{
    struct desk_req d;
    char token[SESSION_TOKEN_HEX + 1], err[300];
    const char *pre;
    const char *email = http_req_form(req, "email");
    const char *next = http_req_form(req, "next");
    int bad = signin_form(&d, req, app, email, 0, &pre);

    if (bad)
        return bad;
    int rc = session_signin_device(
        d.app->st, d.a, email, http_req_form(req, "password"),
        http_req_cookie(req, COOKIE_DEVICE), http_req_client_ip(req), d.now,
        token, &d.who, err, sizeof err);
    if (rc == SESSION_ERROR)
        return -1;
    if (rc == SESSION_TOTP) {
        char pending[TOTP_PENDING_MAX];
        int64_t id = d.who.staff_id;
        memset(&d.who, 0, sizeof d.who);
        if (totp_pending_make(d.app->st, d.a, id, pre, d.now, pending) < 0)
            return -1;
        return code_page(&d, 200, NULL, pending, pre, next);
    }
    if (rc != SESSION_OK) {
        memset(&d.who, 0, sizeof d.who);
        return signin_page(&d, rc == SESSION_LIMITED ? 429 : 401, err, email,
                           next);
    }
    return signed_in(&d, token, next);
}

int desk_signin_code(struct http_req *req, void *app)
{
    struct desk_req d;
    char token[SESSION_TOKEN_HEX + 1], err[300];
    const char *pre;
    const char *pending = http_req_form(req, "pending");
    const char *next = http_req_form(req, "next");
    int bad = signin_form(&d, req, app, NULL, 1, &pre);

    if (bad)
        return bad;
    int rc = session_signin_code_device(
        d.app->st, d.a, pending, pre, http_req_form(req, "code"),
        http_req_cookie(req, COOKIE_DEVICE), http_req_client_ip(req), d.now,
        token, &d.who, err, sizeof err);
    if (rc == SESSION_ERROR)
        return -1;
    if (rc != SESSION_OK) {
        memset(&d.who, 0, sizeof d.who);
        if (rc == SESSION_STALE)
            return signin_page(&d, 401, err, NULL, next);
        return code_page(&d, rc == SESSION_LIMITED ? 429 : 401, err, pending,
                         pre, next);
    }
    return signed_in(&d, token, next);
}

int desk_signout(struct http_req *req, void *app)
{
    struct desk_req d;
    int sent;

    if (desk_enter(req, app, &d, &sent) < 0)
        return sent;
    if (*desk_field(&d, "everywhere"))
        session_signout_all(d.app->st, d.who.staff_id, NULL);
    else
        session_signout(d.app->st, d.token);
    set_cookie(&d, COOKIE_SESSION, "", "/desk", 0, 1);
    set_cookie(&d, COOKIE_STAFF, "", "/", 0, 0);
    return http_resp_redirect(req, 303, "/desk/?done=signed-out");
}

/* s percent-encoded for a query string (RFC 3986 unreserved kept). */
static const char *url_encode(struct arena *a, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = s ? strlen(s) : 0;
    char *out = arena_alloc(a, 3 * n + 1), *o = out;

    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
            (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
            c == '~') {
            *o++ = (char)c;
        } else {
            *o++ = '%';
            *o++ = hex[c >> 4];
            *o++ = hex[c & 15];
        }
    }
    *o = '\0';
    return out;
}

/* ---- the post list ----------------------------------------------------------
 */

static const char *status_name(enum store_post_status s)
{
    return s == STORE_POST_PUBLISHED   ? "published"
           : s == STORE_POST_SCHEDULED ? "scheduled"
                                       : "draft";
}

/* Messages shown after a redirect (?done=...): fixed texts only. */
static const char *done_message(const char *done)
{
    static const char *const msgs[][2] = {
        {"saved", "Saved."},
        {"published", "Published. The article is live."},
        {"scheduled", "Scheduled. It goes live at the time shown."},
        {"unpublished", "Unpublished. Readers no longer see it."},
        {"deleted", "The post was deleted."},
        {"corrected", "Correction added; the article shows it."},
        {"restored", "Revision restored as the current text."},
        {"picks", "Editors' Picks saved."},
        {"live", "Live update saved."},
        {"live-deleted", "Live update deleted."},
        {"tag", "Tag saved."},
        {"staff", "Account saved."},
        {"password", "Password set. Sign in with it."},
        {"signed-out", "You are signed out."},
        {"audio", "The audio version is being made; it appears here and on "
                  "the article when ready."},
        {"audio-off", "This article has no audio version now."},
    };
    for (size_t i = 0; done && i < sizeof msgs / sizeof msgs[0]; i++)
        if (strcmp(done, msgs[i][0]) == 0)
            return msgs[i][1];
    return NULL;
}

static json_t *section_options(struct desk_req *d, const char *current)
{
    json_t *arr = json_array();
    struct store_tag *t = NULL;
    size_t n = 0;

    if (store_tags_list(d->app->st, d->a, STORE_TAG_SECTION, &t, &n) == 0)
        for (size_t i = 0; i < n; i++)
            json_array_append_new(
                arr, json_pack("{s:s, s:s, s:b}", "value", t[i].slug, "name",
                               t[i].name, "selected",
                               current && strcmp(current, t[i].slug) == 0));
    return arr;
}

/* The posts of q's page: from the search index (every status, best match
 * first, the same engine as /search) when text is given, else q's list
 * in desk order. */
static int list_or_search(struct desk_req *d, const struct store_post_query *q,
                          const char *text, struct store_post **p, size_t *n,
                          size_t *total)
{
    struct store_search_query sq = {0};
    struct store_search_hit *h = NULL;

    if (!text)
        return store_posts_list(d->app->st, d->a, q, p, n, total);
    sq.q = text;
    sq.any_status = 1;
    sq.status = q->status;
    sq.tag_slug = q->tag_slug;
    sq.author_slug = q->author_slug;
    sq.limit = q->limit;
    sq.offset = q->offset;
    if (store_search(d->app->st, d->a, &sq, &h, n, total) != 0)
        return -1;
    *p = arena_alloc(d->a, (*n ? *n : 1) * sizeof **p);
    for (size_t i = 0; i < *n; i++)
        (*p)[i] = h[i].post;
    return 0;
}

static int post_list(struct desk_req *d)
{
    struct http_req *req = d->req;
    struct store_post_query q = {0};
    struct store_post *p = NULL;
    struct store_author *au = NULL;
    size_t n = 0, total = 0, nau = 0;
    const char *status = http_req_query(req, "status");
    const char *section = http_req_query(req, "section");
    const char *author = http_req_query(req, "author");
    const char *search = http_req_query(req, "q");
    const char *pg = http_req_query(req, "page");
    int64_t page = pg ? desk_id(pg) : 1;

    if (page < 1 || page > BOUND_MAX_PAGE)
        return desk_fail(d, DESK_INVALID,
                         "The page number must be a whole "
                         "number from 1 to 100000.");
    q.status = -1;
    if (status && *status) {
        if (strcmp(status, "draft") == 0)
            q.status = STORE_POST_DRAFT;
        else if (strcmp(status, "scheduled") == 0)
            q.status = STORE_POST_SCHEDULED;
        else if (strcmp(status, "published") == 0)
            q.status = STORE_POST_PUBLISHED;
        else
            return desk_fail(d, DESK_INVALID,
                             "Status must be draft, scheduled or "
                             "published.");
    }
    if (section && *section && !str_slug_valid(section))
        return desk_fail(d, DESK_INVALID, "There is no such section.");
    if (author && *author && !str_slug_valid(author))
        return desk_fail(d, DESK_INVALID, "There is no such author.");
    if (search && strlen(search) > BOUND_TITLE_LEN)
        return desk_fail(d, DESK_INVALID, "The search text is too long.");
    q.tag_slug = section && *section ? section : NULL;
    q.author_slug = author && *author ? author : NULL;
    q.desk_order = 1;
    q.limit = LIST_PAGE;
    q.offset = (size_t)(page - 1) * LIST_PAGE;
    if (list_or_search(d, &q, search && *search ? search : NULL, &p, &n,
                       &total) != 0)
        return -1;

    json_t *data = desk_data(d, "Posts", "posts");
    json_t *rows = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *names = json_array();
        for (size_t j = 0; j < p[i].nauthors; j++)
            json_array_append_new(names, json_string(p[i].authors[j].name));
        const char *when = p[i].status == STORE_POST_DRAFT
                               ? desk_time(d, p[i].created_at)
                               : desk_time(d, p[i].published_at);
        json_array_append_new(
            rows, json_pack("{s:I, s:s, s:s, s:s, s:s, s:o, s:s, s:s?}", "id",
                            (json_int_t)p[i].id, "title", p[i].title, "status",
                            status_name(p[i].status), "when", when, "edit_url",
                            arena_printf(d->a, "/desk/posts/%lld/",
                                         (long long)p[i].id),
                            "authors", names, "slug", p[i].slug, "section",
                            p[i].ntags && p[i].tags[0].kind == STORE_TAG_SECTION
                                ? p[i].tags[0].name
                                : NULL));
    }
    json_t *authors = json_array();
    if (store_authors_list(d->app->st, d->a, &au, &nau) == 0)
        for (size_t i = 0; i < nau; i++)
            json_array_append_new(
                authors, json_pack("{s:s, s:s, s:b}", "value", au[i].slug,
                                   "name", au[i].name, "selected",
                                   author && strcmp(author, au[i].slug) == 0));
    json_t *statuses = json_array();
    const char *sn[] = {"draft", "scheduled", "published"};
    for (size_t i = 0; i < 3; i++)
        json_array_append_new(statuses,
                              json_pack("{s:s, s:s, s:b}", "value", sn[i],
                                        "name", sn[i], "selected",
                                        status && strcmp(status, sn[i]) == 0));
    size_t pages = (total + LIST_PAGE - 1) / LIST_PAGE;
    const char *base = arena_printf(
        d->a, "/desk/?status=%s&section=%s&author=%s&q=%s",
        q.status >= 0 ? status : "", q.tag_slug ? q.tag_slug : "",
        q.author_slug ? q.author_slug : "", url_encode(d->a, search));
    json_object_set_new(
        data, "list",
        json_pack("{s:o, s:I, s:o, s:o, s:o, s:s, s:s?, s:s?, s:s?}", "posts",
                  rows, "total", (json_int_t)total, "statuses", statuses,
                  "sections", section_options(d, section), "authors", authors,
                  "q", search ? search : "", "prev",
                  page > 1 ? arena_printf(d->a, "%lld", (long long)page - 1)
                           : NULL,
                  "next",
                  (size_t)page < pages
                      ? arena_printf(d->a, "%lld", (long long)page + 1)
                      : NULL,
                  "message", done_message(http_req_query(req, "done"))));
    json_object_set_new(json_object_get(data, "list"), "base",
                        json_string(base));
    return desk_render(d, 200, "posts", data);
}

/* ---- the editor --------------------------------------------------------- */

/* Queues the audio version of post id when it is live (the job does
 * nothing when its text is unchanged). */
static void narrate_if_live(struct desk_req *d, int64_t id)
{
    struct store_post p;

    if (store_post_get(d->app->st, d->a, id, &p) == STORE_OK &&
        p.status == STORE_POST_PUBLISHED && !p.narration_off)
        job_narrate_queue(d->app->st, &p);
}

/* The narration's state for the editor: {state, duration, error, url}. */
static json_t *narration_json(struct desk_req *d, const struct store_post *p)
{
    struct store_narration n;

    if (p->narration_off)
        return json_pack("{s:s, s:b}", "state", "off", "is_off", 1);
    if (store_narration_latest(d->app->st, d->a, p->id, &n) != STORE_OK)
        return p->status == STORE_POST_PUBLISHED
                   ? json_pack("{s:s, s:b}", "state", "pending", "is_pending",
                               1)
                   : json_pack("{s:s}", "state", "none");
    const char *state = n.state == STORE_NARRATION_READY    ? "ready"
                        : n.state == STORE_NARRATION_FAILED ? "failed"
                                                            : "pending";
    json_t *j = json_pack("{s:s, s:s?}", "state", state, "error", n.error);
    json_object_set_new(j, arena_printf(d->a, "is_%s", state), json_true());
    if (n.state == STORE_NARRATION_READY) {
        json_object_set_new(
            j, "url", json_string(arena_printf(d->a, "/media/%s", n.file)));
        json_object_set_new(
            j, "duration",
            json_string(arena_printf(d->a, "%lld:%02lld",
                                     (long long)(n.duration_ms / 60000),
                                     (long long)(n.duration_ms / 1000 % 60))));
    }
    return j;
}

/* Reads the editor form into in and *intent. 0, or DESK_INVALID with err. */
static int read_post_form(struct desk_req *d, struct desk_post_input *in,
                          enum desk_intent *intent, char *err, size_t errlen)
{
    const char *vals[BOUND_POST_AUTHORS + 1];
    const char *action = desk_field(d, "action");
    size_t n;

    memset(in, 0, sizeof *in);
    in->id = desk_id(http_req_param(d->req, "id"));
    in->title = desk_field(d, "title");
    in->standfirst = desk_field(d, "standfirst");
    in->slug = desk_field(d, "slug");
    in->markdown = desk_field(d, "body");
    in->section = desk_field(d, "section");
    in->tags = desk_field(d, "tags");
    n = http_req_form_all(d->req, "author", vals, BOUND_POST_AUTHORS + 1);
    if (n > BOUND_POST_AUTHORS) {
        snprintf(err, errlen, "A post can have at most %d authors.",
                 BOUND_POST_AUTHORS);
        return DESK_INVALID;
    }
    int64_t *ids = arena_alloc(d->a, (n + 1) * sizeof *ids);
    for (size_t i = 0; i < n; i++) {
        ids[i] = desk_id(vals[i]);
        if (!ids[i]) {
            snprintf(err, errlen, "An author choice is not valid.");
            return DESK_INVALID;
        }
    }
    in->author_ids = ids;
    in->nauthors = n;
    in->feature_image_id =
        *desk_field(d, "remove_image") ? 0 : desk_id(desk_field(d, "image_id"));
    in->feature_alt = desk_field(d, "alt");
    in->feature_caption = desk_field(d, "caption");
    in->feature_credit = desk_field(d, "credit");
    /* absent (an older form) = leave the stored overrides alone */
    in->meta_title = http_req_form(d->req, "meta_title");
    in->meta_description = http_req_form(d->req, "meta_description");
    in->pick =
        http_req_form(d->req, "pick_shown") ? !!*desk_field(d, "pick") : -1;
    in->featured =
        http_req_form(d->req, "pick_shown") ? !!*desk_field(d, "featured") : -1;
    in->publish_at = parse_local(desk_field(d, "publish_at"));
    if (in->publish_at < 0) {
        snprintf(err, errlen,
                 "The publication time must be a date and time "
                 "like 2026-11-27T14:30.");
        return DESK_INVALID;
    }
    if (!*action || strcmp(action, "save") == 0)
        *intent = DESK_SAVE;
    else if (strcmp(action, "publish") == 0)
        *intent = DESK_PUBLISH;
    else if (strcmp(action, "schedule") == 0)
        *intent = DESK_SCHEDULE;
    else if (strcmp(action, "unpublish") == 0)
        *intent = DESK_UNPUBLISH;
    else {
        snprintf(err, errlen, "Unknown action; use the form's buttons.");
        return DESK_INVALID;
    }
    return 0;
}

/* Imports the uploaded feature image, if any, into in. 0 or a desk_rc.
 * When the media folder cannot be written (full or read-only disk),
 * *fault is the status to answer with (507 or 503) and err says so. */
static int take_upload(struct desk_req *d, struct desk_post_input *in,
                       char *err, size_t errlen, int *fault)
{
    const struct http_file *f = http_req_file(d->req, "image");
    struct img_info info;

    if (!f)
        return 0;
    if (!desk_can(&d->who, DESK_UPLOAD, NULL)) {
        snprintf(err, errlen, "Your role does not allow uploads.");
        return DESK_FORBIDDEN;
    }
    const char *base = str_slugify(d->a, in->title, 40);
    if (!base || !*base)
        base = "image";
    const char *originals = arena_printf(d->a, "%s/originals", d->app->dir);
    if (img_import_upload(f->data, f->len, d->app->media_dir, originals, base,
                          &info, err, errlen) < 0) {
        int e = img_last_io_fault();
        *fault = e == EROFS ? 503 : e ? 507 : 0;
        return DESK_INVALID;
    }
    if (site_image_save(d->app->st, &info,
                        *in->feature_alt ? in->feature_alt : NULL,
                        &in->feature_image_id) != STORE_OK)
        return DESK_ERROR;
    return 0;
}

static const char *intent_done(enum desk_intent i)
{
    return i == DESK_PUBLISH     ? "published"
           : i == DESK_SCHEDULE  ? "scheduled"
           : i == DESK_UNPUBLISH ? "unpublished"
                                 : "saved";
}

/* The editor page for in (as typed, or as stored), with stored the post
 * as it is in the store (NULL for a new one). */
static int editor_page(struct desk_req *d, int status,
                       const struct desk_post_input *in,
                       const struct store_post *stored, const char *error,
                       const char *message)
{
    struct store_author *au = NULL;
    size_t nau = 0;
    int64_t mine = d->who.author_id;
    json_t *data = desk_data(d, stored ? stored->title : "New post",
                             stored ? "posts" : "new");
    json_t *authors = json_array();

    if (store_authors_list(d->app->st, d->a, &au, &nau) == 0)
        for (size_t i = 0; i < nau; i++) {
            int checked = 0;
            for (size_t j = 0; j < in->nauthors; j++)
                checked |= in->author_ids[j] == au[i].id;
            if (!in->nauthors && !in->id && au[i].id == mine)
                checked = 1;
            json_array_append_new(authors,
                                  json_pack("{s:I, s:s, s:b}", "id",
                                            (json_int_t)au[i].id, "name",
                                            au[i].name, "checked", checked));
        }
    json_t *e = json_pack(
        "{s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:s, s:s, s:s, s:s, "
        "s:b, s:b, s:b, s:s?, s:s?, s:b}",
        "action_url",
        in->id ? arena_printf(d->a, "/desk/posts/%lld/", (long long)in->id)
               : "/desk/posts/",
        "title", in->title ? in->title : "", "standfirst",
        in->standfirst ? in->standfirst : "", "slug", in->slug ? in->slug : "",
        "markdown", in->markdown ? in->markdown : "", "tags",
        in->tags ? in->tags : "", "sections", section_options(d, in->section),
        "authors", authors, "alt", in->feature_alt ? in->feature_alt : "",
        "caption", in->feature_caption ? in->feature_caption : "", "credit",
        in->feature_credit ? in->feature_credit : "", "publish_at",
        local_input(d->a, in->publish_at), "is_new", !in->id, "pick",
        in->pick > 0 || (in->pick < 0 && stored && stored->pick_order > 0),
        "featured",
        in->featured > 0 || (in->featured < 0 && stored && stored->featured),
        "error", error, "message", message, "can_pick",
        desk_can(&d->who, DESK_PICKS, NULL));
    json_object_set_new(e, "meta_title",
                        json_string(in->meta_title ? in->meta_title
                                    : stored && stored->meta_title
                                        ? stored->meta_title
                                        : ""));
    json_object_set_new(e, "meta_description",
                        json_string(in->meta_description ? in->meta_description
                                    : stored && stored->meta_description
                                        ? stored->meta_description
                                        : ""));
    if (in->feature_image_id) {
        struct store_image img;
        if (store_image_get(d->app->st, d->a, in->feature_image_id, &img) ==
            STORE_OK) {
            json_t *v = view_image(&img, in->feature_alt, "240px");
            json_object_set_new(v, "id", json_integer(img.id));
            json_object_set_new(e, "image", v);
        }
    }
    const struct store_post *subject = stored;
    /* a live post's save changes the public page at once: say so */
    json_object_set_new(
        e, "save_label",
        json_string(!stored || stored->status == STORE_POST_DRAFT ? "Save draft"
                    : stored->status == STORE_POST_SCHEDULED
                        ? "Save changes"
                        : "Update the published article"));
    json_object_set_new(
        e, "can_edit",
        json_boolean(desk_can(&d->who, DESK_POST_EDIT, subject)));
    json_object_set_new(
        e, "can_publish",
        json_boolean(desk_can(&d->who, DESK_POST_PUBLISH, subject)));
    if (stored) {
        struct store_revision *rev = NULL;
        struct store_correction *cor = NULL;
        size_t nrev = 0, ncor = 0;
        json_object_set_new(e, "id", json_integer(stored->id));
        json_object_set_new(e, "status",
                            json_string(status_name(stored->status)));
        json_object_set_new(
            e, "when",
            json_string(desk_time(d, stored->status == STORE_POST_DRAFT
                                         ? stored->created_at
                                         : stored->published_at)));
        if (post_is_public(stored, d->now))
            json_object_set_new(
                e, "public_url",
                json_string(arena_printf(d->a, "/%s/", stored->slug)));
        json_object_set_new(
            e, "can_unpublish",
            json_boolean(stored->status != STORE_POST_DRAFT &&
                         desk_can(&d->who, DESK_POST_UNPUBLISH, stored)));
        json_object_set_new(
            e, "can_delete",
            json_boolean(desk_can(&d->who, DESK_POST_DELETE, stored)));
        json_object_set_new(
            e, "can_correct",
            json_boolean(stored->status == STORE_POST_PUBLISHED &&
                         desk_can(&d->who, DESK_POST_CORRECT, stored)));
        json_t *revs = json_array();
        if (store_revisions_list(d->app->st, d->a, stored->id, &rev, &nrev) ==
            0)
            for (size_t i = 0; i < nrev; i++)
                json_array_append_new(
                    revs,
                    json_pack("{s:s, s:s, s:s, s:b}", "when",
                              desk_time(d, rev[i].created_at), "by",
                              rev[i].staff_name ? rev[i].staff_name : "", "url",
                              arena_printf(
                                  d->a, "/desk/posts/%lld/revisions/%lld/",
                                  (long long)stored->id, (long long)rev[i].id),
                              "current", i == 0));
        json_object_set_new(e, "revisions", revs);
        json_t *cors = json_array();
        if (store_corrections_list(d->app->st, d->a, stored->id, &cor, &ncor) ==
            0)
            for (size_t i = 0; i < ncor; i++)
                json_array_append_new(cors, json_pack("{s:s, s:s}", "when",
                                                      desk_time(d, cor[i].at),
                                                      "text", cor[i].text));
        json_object_set_new(e, "has_corrections",
                            json_boolean(json_array_size(cors) > 0));
        json_object_set_new(e, "corrections", cors);
        json_object_set_new(e, "narration", narration_json(d, stored));
    }
    json_object_set_new(data, "editor", e);
    return desk_render(d, status, "edit", data);
}

int desk_post_new(struct http_req *req, void *app)
{
    struct desk_req d;
    struct desk_post_input in = {0};
    int sent;

    if (desk_enter(req, app, &d, &sent) < 0)
        return sent;
    in.pick = -1;
    in.featured = -1;
    return editor_page(&d, 200, &in, NULL, NULL, NULL);
}

/* Loads the post named by the route's :id into p; sends 404 if none. */
static int load_post(struct desk_req *d, struct store_post *p, int *sent)
{
    int64_t id = desk_id(http_req_param(d->req, "id"));
    int rc = id ? store_post_get(d->app->st, d->a, id, p) : STORE_NOTFOUND;

    if (rc == STORE_OK)
        return 0;
    *sent = rc == STORE_NOTFOUND
                ? desk_fail(d, DESK_NOTFOUND, "There is no such post.")
                : -1;
    return -1;
}

int desk_post_edit(struct http_req *req, void *app)
{
    struct desk_req d;
    struct store_post p;
    struct desk_post_input in;
    int sent;

    if (desk_enter(req, app, &d, &sent) < 0 || load_post(&d, &p, &sent) < 0)
        return sent;
    desk_input_from_post(d.a, &p, &in);
    return editor_page(&d, 200, &in, &p, NULL,
                       done_message(http_req_query(req, "done")));
}

int desk_post_submit(struct http_req *req, void *app)
{
    struct desk_req d;
    struct desk_post_input in;
    struct store_post stored, *sp = NULL;
    enum desk_intent intent = DESK_SAVE;
    char err[400] = "";
    int64_t id = 0;
    int sent, rc, fault = 0;

    if (desk_enter(req, app, &d, &sent) < 0)
        return sent;
    if (http_req_param(req, "id")) {
        if (load_post(&d, &stored, &sent) < 0)
            return sent;
        sp = &stored;
    }
    rc = read_post_form(&d, &in, &intent, err, sizeof err);
    if (rc == 0)
        rc = take_upload(&d, &in, err, sizeof err, &fault);
    if (rc == 0)
        rc = desk_post_save(d.app->st, d.a, &d.who, &in, intent, d.now,
                            d.app->cfg.reading_speed, &id, err, sizeof err);
    if (rc == DESK_ERROR && !page_fault_text(1))
        return -1;
    if (rc == DESK_ERROR) /* disk full or read-only: keep what they typed */
        snprintf(err, sizeof err, "%s Your text is still in the form below.",
                 page_fault_text(1));
    if (fault) { /* the media disk: nothing saved, the form kept */
        err[0] = (char)toupper((unsigned char)err[0]);
        snprintf(err + strlen(err), sizeof err - strlen(err),
                 ". Your text is still in the form below.");
    }
    if (rc == DESK_FORBIDDEN)
        return desk_fail(&d, rc, err);
    if (rc != DESK_OK)
        return editor_page(&d, fault ? fault : desk_status(rc), &in, sp, err,
                           NULL);
    narrate_if_live(&d, id);
    return http_resp_redirect(req, 303,
                              arena_printf(d.a, "/desk/posts/%lld/?done=%s",
                                           (long long)id, intent_done(intent)));
}

int desk_post_remove(struct http_req *req, void *app)
{
    struct desk_req d;
    char err[300] = "";
    int sent;

    if (desk_enter(req, app, &d, &sent) < 0)
        return sent;
    int rc = desk_post_delete(d.app->st, d.a, &d.who,
                              desk_id(http_req_param(req, "id")), d.now, err,
                              sizeof err);
    if (rc != DESK_OK)
        return rc == DESK_ERROR ? -1 : desk_fail(&d, rc, err);
    return http_resp_redirect(req, 303, "/desk/?done=deleted");
}

int desk_post_correct(struct http_req *req, void *app)
{
    struct desk_req d;
    char err[300] = "";
    int sent;
    int64_t id;

    if (desk_enter(req, app, &d, &sent) < 0)
        return sent;
    id = desk_id(http_req_param(req, "id"));
    int rc =
        desk_correction_add(d.app->st, d.a, &d.who, id, desk_field(&d, "text"),
                            d.now, d.app->cfg.reading_speed, err, sizeof err);
    if (rc != DESK_OK)
        return rc == DESK_ERROR ? -1 : desk_fail(&d, rc, err);
    return http_resp_redirect(
        req, 303,
        arena_printf(d.a, "/desk/posts/%lld/?done=corrected", (long long)id));
}

int desk_revision_view(struct http_req *req, void *app)
{
    struct desk_req d;
    struct store_post p;
    struct store_revision r;
    int sent;

    if (desk_enter(req, app, &d, &sent) < 0 || load_post(&d, &p, &sent) < 0)
        return sent;
    int64_t rid = desk_id(http_req_param(req, "rev"));
    int rc = rid ? store_revision_get(d.app->st, d.a, rid, &r) : STORE_NOTFOUND;
    if (rc == STORE_NOTFOUND || (rc == STORE_OK && r.post_id != p.id))
        return desk_fail(&d, DESK_NOTFOUND, "There is no such revision.");
    if (rc != STORE_OK)
        return -1;
    char *html = post_render_markdown(d.app->st, d.a, r.markdown, NULL, NULL);
    json_t *data = desk_data(&d, "Revision", "posts");
    json_object_set_new(
        data, "revision",
        json_pack("{s:s, s:s?, s:s, s:s, s:s, s:s, s:s, s:s, s:b}", "title",
                  r.title, "standfirst", r.standfirst, "markdown", r.markdown,
                  "html", html ? html : "", "when", desk_time(&d, r.created_at),
                  "by", r.staff_name ? r.staff_name : "", "post_url",
                  arena_printf(d.a, "/desk/posts/%lld/", (long long)p.id),
                  "restore_url",
                  arena_printf(d.a, "/desk/posts/%lld/revisions/%lld/restore",
                               (long long)p.id, (long long)r.id),
                  "can_edit", desk_can(&d.who, DESK_POST_EDIT, &p)));
    return desk_render(&d, 200, "revision", data);
}

int desk_revision_back(struct http_req *req, void *app)
{
    struct desk_req d;
    char err[300] = "";
    int sent;

    if (desk_enter(req, app, &d, &sent) < 0)
        return sent;
    int64_t id = desk_id(http_req_param(req, "id"));
    int rc = desk_revision_restore(d.app->st, d.a, &d.who, id,
                                   desk_id(http_req_param(req, "rev")), d.now,
                                   d.app->cfg.reading_speed, err, sizeof err);
    if (rc != DESK_OK)
        return rc == DESK_ERROR ? -1 : desk_fail(&d, rc, err);
    narrate_if_live(&d, id);
    return http_resp_redirect(
        req, 303,
        arena_printf(d.a, "/desk/posts/%lld/?done=restored", (long long)id));
}

int desk_preview(struct http_req *req, void *app)
{
    struct desk_req d;
    struct desk_post_input in;
    struct store_post p;
    enum desk_intent intent;
    char err[400] = "";
    int sent;

    if (desk_enter(req, app, &d, &sent) < 0)
        return sent;
    int rc = read_post_form(&d, &in, &intent, err, sizeof err);
    in.id = desk_id(desk_field(&d, "id"));
    if (!*in.title)
        in.title = "Untitled";
    if (rc == 0)
        rc = desk_post_build(d.app->st, d.a, &d.who, &in, d.now,
                             d.app->cfg.reading_speed, &p, NULL, NULL, NULL,
                             NULL, 0, err, sizeof err);
    if (rc == DESK_ERROR)
        return -1;
    if (rc != DESK_OK)
        return desk_fail(&d, rc, err);
    if (!p.published_at)
        p.published_at = d.now;
    json_t *data = view_article(d.app, d.a, &p);
    if (!data)
        return -1;
    json_object_set_new(json_object_get(data, "page"), "robots",
                        json_string("noindex"));
    /* the desk shows it in a sandboxed frame where scripts may not run */
    json_object_del(json_object_get(json_object_get(data, "site"), "assets"),
                    "js");
    http_resp_header(req, "X-Robots-Tag", "noindex, nofollow");
    return render_private(d.app, req, 200, "article", data);
}

int desk_edit_link(struct http_req *req, void *app)
{
    struct web_app *w = app;
    struct arena *a = http_req_arena(req);
    const char *tok = http_req_cookie(req, COOKIE_SESSION);
    const char *slug = http_req_query(req, "slug");
    struct desk_actor who;
    struct store_post p;
    const char *body = "{}";

    http_resp_header(req, "Cache-Control", "no-store, private");
    if (tok && slug && str_slug_valid(slug) &&
        session_check(w->st, a, tok, (int64_t)time(NULL), &who) == SESSION_OK &&
        store_post_get_by_slug(w->st, a, slug, &p) == STORE_OK &&
        desk_can(&who, DESK_POST_EDIT, &p))
        body = arena_printf(a, "{\"edit_url\":\"/desk/posts/%lld/\"}",
                            (long long)p.id);
    return http_resp_send(req, 200, "application/json", body, strlen(body));
}

int desk_post_narration(struct http_req *req, void *app)
{
    struct desk_req d;
    struct store_post p;
    const char **files = NULL;
    size_t nfiles = 0;
    int sent;

    if (desk_enter(req, app, &d, &sent) < 0 || load_post(&d, &p, &sent) < 0)
        return sent;
    if (!desk_can(&d.who, DESK_POST_EDIT, &p))
        return desk_fail(&d, DESK_FORBIDDEN,
                         "Your role does not allow you to change this "
                         "post's audio.");
    const char *action = desk_field(&d, "action");
    int off = strcmp(action, "off") == 0;
    if (!off && strcmp(action, "on") != 0 && strcmp(action, "regenerate") != 0)
        return desk_fail(&d, DESK_INVALID,
                         "Unknown action; use the form's "
                         "buttons.");
    if (store_post_set_narration_off(d.app->st, p.id, off) != STORE_OK)
        return -1;
    if (off || strcmp(action, "regenerate") == 0) {
        /* forget the old audio (and its files): regenerate makes it anew */
        if (store_narrations_prune(d.app->st, d.a, p.id, 0, &files, &nfiles) !=
            STORE_OK)
            return -1;
        for (size_t i = 0; i < nfiles; i++)
            if (files[i] && !strstr(files[i], ".."))
                unlink(arena_printf(d.a, "%s/%s", d.app->media_dir, files[i]));
    }
    if (!off)
        narrate_if_live(&d, p.id);
    desk_audit(d.app->st, d.a, &d.who, d.now,
               off ? "narration.off" : "narration.regenerate",
               arena_printf(d.a, "post %lld '%s'", (long long)p.id, p.slug),
               NULL);
    return http_resp_redirect(req, 303,
                              arena_printf(d.a, "/desk/posts/%lld/?done=%s",
                                           (long long)p.id,
                                           off ? "audio-off" : "audio"));
}

/* ---- invitation and reset links ---------------------------------------- */

int desk_welcome(struct http_req *req, void *app)
{
    struct desk_req d;
    const char *token = http_req_param(req, "token");
    const char *purpose = NULL;
    int64_t staff_id = 0;
    char err[300] = "";
    int status = 200;

    memset(&d, 0, sizeof d);
    d.app = app;
    d.req = req;
    d.a = http_req_arena(req);
    d.now = (int64_t)time(NULL);
    if (session_link_peek(d.app->st, d.a, token, d.now, &staff_id, &purpose) !=
        SESSION_OK)
        return desk_fail(&d, DESK_NOTFOUND,
                         "This link has expired or was already used. Ask an "
                         "administrator for a new one.");
    if (http_req_method(req) == HTTP_POST) {
        const char *pw = http_req_form(req, "password");
        const char *pw2 = http_req_form(req, "password2");
        if (!origin_ok(req)) {
            return desk_fail(&d, DESK_FORBIDDEN,
                             "This form was sent from another site.");
        } else if (!pw || !pw2 || strcmp(pw, pw2) != 0) {
            snprintf(err, sizeof err, "The two passwords differ.");
            status = 400;
        } else {
            int rc = session_link_use(d.app->st, d.a, token, pw, d.now, err,
                                      sizeof err);
            if (rc == SESSION_OK)
                return http_resp_redirect(req, 303, "/desk/?done=password");
            if (rc == SESSION_ERROR)
                return -1;
            status = rc == SESSION_BAD ? 404 : 400;
        }
    }
    struct store_staff s;
    if (store_staff_get(d.app->st, d.a, staff_id, &s) != STORE_OK)
        return -1;
    json_t *data = desk_data(&d, "Set your password", NULL);
    json_object_set_new(
        data, "welcome",
        json_pack("{s:s, s:s, s:b, s:s?, s:i}", "name", s.name, "email",
                  s.email, "invite", strcmp(purpose, "invite") == 0, "error",
                  *err ? err : NULL, "min", (json_int_t)STAFF_PASSWORD_MIN));
    return desk_render(&d, status, "welcome", data);
}
