/*
 * newsletter.c - the reader's newsletter pages; see newsletter.h. The
 * rules are content/newsletter.c's; this file reads forms and renders the
 * "newsletter" template (docs/theme.md). Pages reached through a signed
 * link are never cached and send no Referer, so the token stays private.
 */
#include "web/newsletter.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "content/newsletter.h"
#include "core/arena.h"
#include "core/str.h"
#include "web/app.h"

#define SUBSCRIBED_TITLE "Successfully subscribed"
#define SUBSCRIBED_TEXT                                                        \
    "Thank you for signing up for this newsletter. We've sent you a "          \
    "confirmation email."

/* Renders the newsletter page with box (consumed) under "nlpage". */
static int nl_render(struct web_app *app, struct http_req *req, int status,
                     const char *title, json_t *box)
{
    struct arena *a = http_req_arena(req);
    json_t *d = view_page(app, a, title, NULL, http_req_path(req), NULL, 0);

    json_object_set_new(json_object_get(d, "page"), "robots",
                        json_string("noindex"));
    json_object_set_new(box, "title", json_string(title));
    json_object_set_new(d, "nlpage", box);
    http_resp_header(req, "Referrer-Policy", "no-referrer");
    return render_private(app, req, status, "newsletter", d);
}

/* The 503 page for a failed write that was the storage's fault, or -1
 * (a plain failure: the layer answers 500). */
static int nl_fault(struct web_app *app, struct http_req *req)
{
    if (!page_fault_text(0))
        return -1;
    http_resp_header(req, "Retry-After", "60");
    return nl_render(app, req, 503, "Please try again later",
                     json_pack("{s:s}", "error", page_fault_text(0)));
}

/* 1 when the client asked for JSON (the enhanced form's fetch). */
static int wants_json(struct http_req *req)
{
    const char *acc = http_req_header(req, "Accept");
    return acc && strstr(acc, "application/json") != NULL;
}

static int send_json(struct http_req *req, int status, json_t *j)
{
    char *s = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    if (!s)
        return -1;
    char *copy = arena_strdup(http_req_arena(req), s);
    free(s);
    http_resp_header(req, "Cache-Control", "no-store");
    return http_resp_send(req, status, "application/json", copy, strlen(copy));
}

int nl_page_subscribe(struct http_req *req, void *ctx)
{
    struct web_app *app = ctx;
    struct arena *a = http_req_arena(req);
    const char *slug = http_req_param(req, "slug");
    const char *email = http_req_form(req, "email");
    const char *honey = http_req_form(req, "website");
    char err[300] = "";
    int rc = NL_OK, status = 200;

    /* a bot filled the honeypot: answer as if it worked, store nothing */
    if (!(honey && *honey))
        rc = nl_signup(app->st, a, slug, email, http_req_client_ip(req),
                       (int64_t)time(NULL), err, sizeof err);
    if (rc == NL_ERROR && !page_fault_text(0))
        return -1;
    if (rc == NL_ERROR) { /* RFC 9110 15.6.4: the form again, with why */
        snprintf(err, sizeof err, "%s", page_fault_text(0));
        http_resp_header(req, "Retry-After", "60");
    }
    status = rc == NL_OK         ? 200
             : rc == NL_ERROR    ? 503
             : rc == NL_LIMITED  ? 429
             : rc == NL_NOTFOUND ? 404
                                 : 400;
    if (wants_json(req))
        return send_json(req, status,
                         rc == NL_OK
                             ? json_pack("{s:b, s:s, s:s}", "ok", 1, "title",
                                         SUBSCRIBED_TITLE, "message",
                                         SUBSCRIBED_TEXT)
                             : json_pack("{s:b, s:s}", "ok", 0, "error", err));
    if (rc == NL_OK)
        return nl_render(app, req, 200, SUBSCRIBED_TITLE,
                         json_pack("{s:s}", "message", SUBSCRIBED_TEXT));
    /* the form again, with the message and what was typed */
    json_t *box = json_pack("{s:s, s:s?}", "error", err, "email", email);
    struct store_newsletter nl;
    if (slug && str_slug_valid(slug) &&
        store_newsletter_get_by_slug(app->st, a, slug, &nl) == STORE_OK)
        json_object_set_new(
            box, "retry",
            json_pack("{s:s, s:s, s:s}", "name", nl.name, "slug", nl.slug,
                      "action",
                      arena_printf(a, "/newsletters/%s/subscribe", nl.slug)));
    return nl_render(app, req, status, "Newsletter sign-up", box);
}

int nl_page_confirm(struct http_req *req, void *ctx)
{
    struct web_app *app = ctx;
    struct store_newsletter nl;
    int rc = nl_confirm(app->st, http_req_arena(req),
                        http_req_query(req, "token"), (int64_t)time(NULL), &nl);

    if (rc == NL_ERROR)
        return nl_fault(app, req);
    if (rc != NL_OK)
        return nl_render(app, req, 404, "Link expired",
                         json_pack("{s:s}", "error",
                                   "This confirmation link has expired or "
                                   "is not valid. Please sign up again."));
    return nl_render(
        app, req, 200, "Subscription confirmed",
        json_pack("{s:s}", "message",
                  arena_printf(http_req_arena(req),
                               "You will now receive %s. Every email has a "
                               "link to unsubscribe.",
                               nl.name)));
}

int nl_page_unsubscribe(struct http_req *req, void *ctx)
{
    struct web_app *app = ctx;
    struct arena *a = http_req_arena(req);
    const char *token = http_req_query(req, "token");
    struct store_newsletter nl;
    int64_t sid, nid;

    if (http_req_method(req) != HTTP_POST) {
        if (nl_link_check(app->st, a, token, NL_LINK_UNSUB, 0, &sid, &nid) <
                0 ||
            store_newsletter_get(app->st, a, nid, &nl) != STORE_OK)
            return nl_render(app, req, 404, "Link not valid",
                             json_pack("{s:s}", "error",
                                       "This unsubscribe link is not "
                                       "valid."));
        return nl_render(
            app, req, 200, "Unsubscribe",
            json_pack(
                "{s:{s:s, s:s}}", "unsubscribe", "name", nl.name, "action",
                arena_printf(a, "/newsletters/unsubscribe/?token=%s", token)));
    }
    int rc = nl_unsubscribe(app->st, a, token, (int64_t)time(NULL), &nl);
    if (rc == NL_ERROR)
        return nl_fault(app, req);
    if (rc != NL_OK)
        return nl_render(
            app, req, 404, "Link not valid",
            json_pack("{s:s}", "error", "This unsubscribe link is not valid."));
    return nl_render(
        app, req, 200, "You are unsubscribed",
        json_pack(
            "{s:s}", "message",
            arena_printf(a, "You will not receive %s any more.", nl.name)));
}

int nl_page_preferences(struct http_req *req, void *ctx)
{
    struct web_app *app = ctx;
    struct arena *a = http_req_arena(req);
    const char *token = http_req_query(req, "token");
    struct store_subscriber who;
    struct nl_pref *prefs = NULL;
    size_t n = 0;
    const char *message = NULL;

    if (http_req_method(req) == HTTP_POST) {
        const char *chosen[64];
        size_t k = http_req_form_all(req, "newsletter", chosen, 64);
        int rc =
            nl_prefs_save(app->st, a, token, chosen, k, (int64_t)time(NULL));
        if (rc == NL_ERROR)
            return nl_fault(app, req);
        if (rc == NL_OK)
            message = "Your choices are saved.";
    }
    int rc = nl_prefs_load(app->st, a, token, &who, &prefs, &n);
    if (rc == NL_ERROR)
        return -1;
    if (rc != NL_OK)
        return nl_render(app, req, 404, "Link not valid",
                         json_pack("{s:s}", "error",
                                   "This link is not valid. Use the link "
                                   "in one of our emails."));
    json_t *list = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(
            list,
            json_pack("{s:s, s:s, s:s, s:b}", "slug", prefs[i].nl.slug, "name",
                      prefs[i].nl.name, "description",
                      prefs[i].nl.description ? prefs[i].nl.description : "",
                      "subscribed", prefs[i].subscribed));
    return nl_render(
        app, req, 200, "Your newsletters",
        json_pack("{s:{s:s, s:s, s:o}, s:s?}", "preferences", "email",
                  who.email, "action",
                  arena_printf(a, "/newsletters/preferences/?token=%s", token),
                  "newsletters", list, "message", message));
}
