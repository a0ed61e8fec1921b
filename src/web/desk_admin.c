/*
 * desk_admin.c - the desk pages beyond posts: Editors' Picks, live updates,
 * tags and sections, staff accounts (invitations, roles, password resets,
 * removing another person's sign-in codes) and the audit log; see desk.h. Each
 * page is plain forms (post, then redirect); the role checks are
 * content/desk.c's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "content/totp.h"
#include "core/arena.h"
#include "core/bounds.h"
#include "core/str.h"
#include "web/app.h"
#include "web/desk.h"

#define LIVE_LIST 30    /* live updates listed for editing */
#define AUDIT_PAGE 50   /* audit entries per page */
#define PICK_CHOICES 60 /* recent articles offered as new picks */

/* Redirects to path with ?done=what after a successful change. */
static int done(struct desk_req *d, const char *path, const char *what)
{
    return http_resp_redirect(d->req, 303,
                              arena_printf(d->a, "%s?done=%s", path, what));
}

/* Sends rc's page unless it is DESK_OK (then returns 0). */
static int failed(struct desk_req *d, int rc, const char *err, int *sent)
{
    if (rc == DESK_OK)
        return 0;
    *sent = rc == DESK_ERROR ? -1 : desk_fail(d, rc, err);
    return 1;
}

/* ---- Editors' Picks ------------------------------------------------------ */

/* The new order of picks from the form: the listed picks (field "pick",
 * in page order) by their position fields, less those dropped, with
 * "move" (up:ID / down:ID) applied and "add" appended. */
static size_t picks_from_form(struct desk_req *d, int64_t *ids, char *err,
                              size_t errlen)
{
    const char *vals[BOUND_PICKS + 1];
    double pos[BOUND_PICKS + 1];
    size_t n = http_req_form_all(d->req, "pick", vals, BOUND_PICKS + 1), k = 0;
    const char *move = desk_field(d, "move");

    if (n > BOUND_PICKS) {
        snprintf(err, errlen, "Choose at most %d Editors' Picks.", BOUND_PICKS);
        return (size_t)-1;
    }
    for (size_t i = 0; i < n; i++) {
        int64_t id = desk_id(vals[i]);
        if (!id) {
            snprintf(err, errlen, "A pick in the form is not valid.");
            return (size_t)-1;
        }
        if (*desk_field(d, arena_printf(d->a, "drop_%lld", (long long)id)))
            continue;
        const char *p =
            desk_field(d, arena_printf(d->a, "pos_%lld", (long long)id));
        char *end;
        double v = *p ? strtod(p, &end) : (double)(i + 1);
        if (*p && (*end || v < 0 || v > 1000)) {
            snprintf(err, errlen, "Positions are numbers from 1 to %d.",
                     BOUND_PICKS);
            return (size_t)-1;
        }
        /* ties keep page order */
        pos[k] = v + (double)i / 1000.0;
        ids[k++] = id;
    }
    for (size_t i = 1; i < k; i++) /* insertion sort by position */
        for (size_t j = i; j > 0 && pos[j - 1] > pos[j]; j--) {
            double tp = pos[j];
            int64_t ti = ids[j];
            pos[j] = pos[j - 1];
            ids[j] = ids[j - 1];
            pos[j - 1] = tp;
            ids[j - 1] = ti;
        }
    if (*move) {
        int up = str_has_prefix(move, "up:");
        int64_t id = desk_id(strchr(move, ':') ? strchr(move, ':') + 1 : "");
        for (size_t i = 0; i < k; i++)
            if (ids[i] == id) {
                size_t j = up ? i - 1 : i + 1;
                if ((up && i > 0) || (!up && i + 1 < k)) {
                    ids[i] = ids[j];
                    ids[j] = id;
                }
                break;
            }
    }
    int64_t add = desk_id(desk_field(d, "add"));
    if (add) {
        if (k >= BOUND_PICKS) {
            snprintf(err, errlen, "Choose at most %d Editors' Picks.",
                     BOUND_PICKS);
            return (size_t)-1;
        }
        ids[k++] = add;
    }
    return k;
}

int desk_picks(struct http_req *req, void *app)
{
    struct desk_req d;
    struct store_post_query q = {0};
    struct store_post *p = NULL, *c = NULL;
    size_t n = 0, nc = 0;
    char err[300] = "";
    int sent;

    if (desk_enter(req, app, &d, &sent) < 0)
        return sent;
    if (!desk_can(&d.who, DESK_PICKS, NULL))
        return desk_fail(&d, DESK_FORBIDDEN,
                         "Only editors and administrators choose Editors' "
                         "Picks.");
    if (http_req_method(req) == HTTP_POST) {
        int64_t ids[BOUND_PICKS + 1];
        size_t k = picks_from_form(&d, ids, err, sizeof err);
        int rc = k == (size_t)-1 ? DESK_INVALID
                                 : desk_picks_set(d.app->st, d.a, &d.who, ids,
                                                  k, d.now, err, sizeof err);
        if (failed(&d, rc, err, &sent))
            return sent;
        return done(&d, "/desk/picks/", "picks");
    }
    q.status = STORE_POST_PUBLISHED;
    q.picks_only = 1;
    q.limit = BOUND_PICKS;
    if (store_posts_list(d.app->st, d.a, &q, &p, &n, NULL) != 0)
        return -1;
    memset(&q, 0, sizeof q);
    q.status = STORE_POST_PUBLISHED;
    q.limit = PICK_CHOICES;
    if (store_posts_list(d.app->st, d.a, &q, &c, &nc, NULL) != 0)
        return -1;
    json_t *data = desk_data(&d, "Editors' Picks", "picks");
    json_t *picks = json_array(), *choices = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(picks, json_pack("{s:I, s:s, s:i, s:b, s:b}",
                                               "id", (json_int_t)p[i].id,
                                               "title", p[i].title, "position",
                                               (json_int_t)(i + 1), "first",
                                               i == 0, "last", i + 1 == n));
    for (size_t i = 0; i < nc; i++) {
        if (c[i].pick_order)
            continue;
        json_array_append_new(choices,
                              json_pack("{s:I, s:s}", "id", (json_int_t)c[i].id,
                                        "title", c[i].title));
    }
    json_object_set_new(
        data, "picks",
        json_pack("{s:o, s:o, s:s?, s:i}", "list", picks, "choices", choices,
                  "message",
                  http_req_query(req, "done") ? "Editors' Picks saved." : NULL,
                  "max", (json_int_t)BOUND_PICKS));
    return desk_render(&d, 200, "picks", data);
}

/* ---- live updates ----------------------------------------------------------
 */

int desk_live(struct http_req *req, void *app)
{
    struct desk_req d;
    struct store_live *lu = NULL;
    size_t n = 0;
    char err[300] = "";
    int sent;

    if (desk_enter(req, app, &d, &sent) < 0)
        return sent;
    if (!desk_can(&d.who, DESK_LIVE, NULL))
        return desk_fail(&d, DESK_FORBIDDEN,
                         "Only editors and administrators post live "
                         "updates.");
    if (http_req_method(req) == HTTP_POST) {
        int rc = desk_live_save(
            d.app->st, d.a, &d.who, 0, desk_field(&d, "headline"),
            desk_field(&d, "body"), desk_field(&d, "link"),
            *desk_field(&d, "key") != '\0', 0, d.now, err, sizeof err);
        if (failed(&d, rc, err, &sent))
            return sent;
        return done(&d, "/desk/live/", "live");
    }
    if (store_live_list(d.app->st, d.a, 0, LIVE_LIST, &lu, &n) != 0)
        return -1;
    json_t *data = desk_data(&d, "Live updates", "live");
    json_t *list = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(
            list,
            json_pack(
                "{s:I, s:s, s:s, s:s, s:s, s:b, s:s, s:s}", "id",
                (json_int_t)lu[i].id, "when", desk_time(&d, lu[i].at),
                "headline", lu[i].headline, "body", lu[i].body, "link",
                lu[i].link_slug ? lu[i].link_slug : "", "key", lu[i].key, "url",
                arena_printf(d.a, "/desk/live/%lld/", (long long)lu[i].id),
                "public_url",
                arena_printf(d.a, "/news-feed/%lld/", (long long)lu[i].id)));
    const char *dn = http_req_query(req, "done");
    json_object_set_new(data, "live",
                        json_pack("{s:o, s:s?}", "list", list, "message",
                                  !dn ? NULL
                                  : strcmp(dn, "live-deleted") == 0
                                      ? "Live update deleted."
                                      : "Live update saved."));
    return desk_render(&d, 200, "live", data);
}

int desk_live_change(struct http_req *req, void *app)
{
    struct desk_req d;
    char err[300] = "";
    int sent;

    if (desk_enter(req, app, &d, &sent) < 0)
        return sent;
    int del = strcmp(desk_field(&d, "action"), "delete") == 0;
    int64_t id = desk_id(http_req_param(req, "id"));
    if (!id)
        return desk_fail(&d, DESK_NOTFOUND, "There is no such live update.");
    int rc = desk_live_save(
        d.app->st, d.a, &d.who, id, desk_field(&d, "headline"),
        desk_field(&d, "body"), desk_field(&d, "link"),
        *desk_field(&d, "key") != '\0', del, d.now, err, sizeof err);
    if (failed(&d, rc, err, &sent))
        return sent;
    return done(&d, "/desk/live/", del ? "live-deleted" : "live");
}

/* ---- tags and sections -----------------------------------------------------
 */

int desk_tags(struct http_req *req, void *app)
{
    struct desk_req d;
    struct store_tag *t = NULL;
    size_t n = 0;
    char err[300] = "";
    int sent;

    if (desk_enter(req, app, &d, &sent) < 0)
        return sent;
    if (!desk_can(&d.who, DESK_TAGS, NULL))
        return desk_fail(&d, DESK_FORBIDDEN,
                         "Only editors and administrators manage tags.");
    if (http_req_method(req) == HTTP_POST) {
        struct store_tag tag = {0};
        const char *pos = desk_field(&d, "position");
        tag.id = desk_id(desk_field(&d, "id"));
        tag.name = desk_field(&d, "name");
        tag.slug = desk_field(&d, "slug");
        tag.description = desk_field(&d, "description");
        tag.kind = strcmp(desk_field(&d, "kind"), "section") == 0
                       ? STORE_TAG_SECTION
                       : STORE_TAG_TAG;
        tag.position = *pos ? (unsigned)desk_id(pos) : 0;
        if (*pos && strcmp(pos, "0") != 0 && !tag.position) {
            return desk_fail(&d, DESK_INVALID,
                             "The position is a whole number (0 or more).");
        }
        int rc = desk_tag_save(d.app->st, d.a, &d.who, &tag, err, sizeof err);
        if (failed(&d, rc, err, &sent))
            return sent;
        return done(&d, "/desk/tags/", "tag");
    }
    if (store_tags_list(d.app->st, d.a, -1, &t, &n) != 0)
        return -1;
    json_t *data = desk_data(&d, "Tags and sections", "tags");
    json_t *list = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(
            list,
            json_pack(
                "{s:I, s:s, s:s, s:s, s:b, s:i, s:s}", "id",
                (json_int_t)t[i].id, "name", t[i].name, "slug", t[i].slug,
                "description", t[i].description ? t[i].description : "",
                "section", t[i].kind == STORE_TAG_SECTION, "position",
                (json_int_t)t[i].position, "url",
                arena_printf(d.a, "/%s/%s/",
                             t[i].kind == STORE_TAG_SECTION ? "section" : "tag",
                             t[i].slug)));
    json_object_set_new(
        data, "tags",
        json_pack("{s:o, s:s?}", "list", list, "message",
                  http_req_query(req, "done") ? "Tag saved." : NULL));
    return desk_render(&d, 200, "tags", data);
}

/* ---- staff ------------------------------------------------------------------
 */

/* The staff page; link (or NULL) is a just-made invitation/reset link. */
static int staff_page(struct desk_req *d, const char *link,
                      const char *link_for, const char *message)
{
    struct store_staff *s = NULL;
    size_t n = 0;
    static const char *const roles[] = {"contributor", "author", "editor",
                                        "administrator"};

    if (store_staff_list(d->app->st, d->a, &s, &n) != 0)
        return -1;
    json_t *data = desk_data(d, "Staff", "staff");
    json_t *list = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *opts = json_array();
        for (size_t r = 0; r < 4; r++)
            json_array_append_new(
                opts, json_pack("{s:s, s:b}", "value", roles[r], "selected",
                                strcmp(s[i].role, roles[r]) == 0));
        json_array_append_new(
            list,
            json_pack(
                "{s:I, s:s, s:s, s:s, s:o, s:b, s:b, s:s, s:b}", "id",
                (json_int_t)s[i].id, "name", s[i].name, "email", s[i].email,
                "role", s[i].role, "roles", opts, "disabled", s[i].disabled,
                "self", s[i].id == d->who.staff_id, "url",
                arena_printf(d->a, "/desk/staff/%lld/", (long long)s[i].id),
                "totp", totp_enabled(d->app->st, d->a, s[i].id) == 1));
    }
    json_object_set_new(data, "staff",
                        json_pack("{s:o, s:s?, s:s?, s:s?}", "list", list,
                                  "link", link, "link_for", link_for, "message",
                                  message));
    return desk_render(d, 200, "staff", data);
}

/* The absolute address of a one-time link. */
static const char *link_url(struct desk_req *d, const char *token)
{
    const char *url = d->app->cfg.url;
    size_t n = strlen(url);

    while (n && url[n - 1] == '/')
        n--;
    return arena_printf(d->a, "%.*s/desk/welcome/%s/", (int)n, url, token);
}

int desk_staff(struct http_req *req, void *app)
{
    struct desk_req d;
    char err[300] = "", token[SESSION_TOKEN_HEX + 1];
    int sent;

    if (desk_enter(req, app, &d, &sent) < 0)
        return sent;
    if (!desk_can(&d.who, DESK_STAFF, NULL))
        return desk_fail(&d, DESK_FORBIDDEN,
                         "Only administrators manage staff accounts.");
    if (http_req_method(req) == HTTP_POST) {
        const char *email = desk_field(&d, "email");
        int rc = desk_staff_invite(
            d.app->st, d.a, &d.who, email, desk_field(&d, "name"),
            desk_field(&d, "role"), d.now, token, err, sizeof err);
        if (failed(&d, rc, err, &sent))
            return sent;
        return staff_page(&d, link_url(&d, token), email,
                          "Invitation created. Send this link to the new "
                          "colleague; it works once, for 72 hours.");
    }
    return staff_page(&d, NULL, NULL,
                      http_req_query(req, "done") ? "Account saved." : NULL);
}

/* Removes the sign-in codes of account id for an administrator (a lost
 * authenticator), audited; their own only under /desk/security/, which
 * asks for a code. */
static int totp_remove(struct desk_req *d, int64_t id)
{
    struct store_staff s;

    if (!desk_can(&d->who, DESK_STAFF, NULL))
        return desk_fail(d, DESK_FORBIDDEN,
                         "Only administrators remove another person's "
                         "sign-in codes.");
    if (id == d->who.staff_id)
        return desk_fail(d, DESK_FORBIDDEN,
                         "To remove your own sign-in codes, use Security "
                         "(/desk/security/): it asks for a current code.");
    if (id <= 0 || store_staff_get(d->app->st, d->a, id, &s) != STORE_OK)
        return desk_fail(d, DESK_NOTFOUND, "There is no such account.");
    int rc = totp_reset(d->app->st, d->a, id);
    if (rc < 0)
        return -1;
    if (rc == 0)
        return staff_page(
            d, NULL, NULL,
            arena_printf(d->a, "%s has no sign-in codes to remove.", s.email));
    desk_audit(d->app->st, d->a, &d->who, d->now, "staff.totp_reset",
               arena_printf(d->a, "staff %lld <%s>", (long long)id, s.email),
               NULL);
    return staff_page(d, NULL, NULL,
                      arena_printf(d->a,
                                   "Sign-in codes removed for %s: they sign "
                                   "in with their password alone and can set "
                                   "up a new device under Security.",
                                   s.email));
}

int desk_staff_change(struct http_req *req, void *app)
{
    struct desk_req d;
    char err[300] = "", token[SESSION_TOKEN_HEX + 1];
    int sent, rc;

    if (desk_enter(req, app, &d, &sent) < 0)
        return sent;
    int64_t id = desk_id(http_req_param(req, "id"));
    if (strcmp(desk_field(&d, "action"), "totp-reset") == 0)
        return totp_remove(&d, id);
    if (strcmp(desk_field(&d, "action"), "reset") == 0) {
        rc = desk_staff_reset(d.app->st, d.a, &d.who, id, d.now, token, err,
                              sizeof err);
        if (failed(&d, rc, err, &sent))
            return sent;
        struct store_staff s;
        if (store_staff_get(d.app->st, d.a, id, &s) != STORE_OK)
            return -1;
        return staff_page(&d, link_url(&d, token), s.email,
                          "Password reset link created; the account's "
                          "sessions have ended. Send the link to its owner; "
                          "it works once, for 72 hours.");
    }
    rc = desk_staff_update(d.app->st, d.a, &d.who, id, desk_field(&d, "role"),
                           *desk_field(&d, "disabled") != '\0', d.now, err,
                           sizeof err);
    if (failed(&d, rc, err, &sent))
        return sent;
    return done(&d, "/desk/staff/", "staff");
}

/* ---- audit log
 * ---------------------------------------------------------------- */

int desk_audit_page(struct http_req *req, void *app)
{
    struct desk_req d;
    struct store_audit *e = NULL;
    size_t n = 0;
    int sent;

    if (desk_enter(req, app, &d, &sent) < 0)
        return sent;
    if (!desk_can(&d.who, DESK_AUDIT, NULL))
        return desk_fail(&d, DESK_FORBIDDEN,
                         "Only administrators read the audit log.");
    const char *b = http_req_query(req, "before");
    int64_t before = b ? desk_id(b) : 0;
    if (b && !before)
        return desk_fail(&d, DESK_INVALID, "'before' must be an entry id.");
    if (store_audit_list(d.app->st, d.a, before, AUDIT_PAGE, &e, &n) != 0)
        return -1;
    json_t *data = desk_data(&d, "Audit log", "audit");
    json_t *list = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(
            list, json_pack("{s:s, s:s, s:s, s:s, s:s}", "when",
                            desk_time(&d, e[i].at), "actor", e[i].actor,
                            "action", e[i].action, "target", e[i].target,
                            "detail", e[i].detail ? e[i].detail : ""));
    json_object_set_new(
        data, "audit",
        json_pack("{s:o, s:s?}", "list", list, "older",
                  n == AUDIT_PAGE
                      ? arena_printf(d.a, "/desk/audit/?before=%lld",
                                     (long long)e[n - 1].id)
                      : NULL));
    return desk_render(&d, 200, "audit", data);
}
