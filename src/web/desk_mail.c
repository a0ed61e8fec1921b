/*
 * desk_mail.c - the desk's newsletter pages (docs/desk.md, "Newsletters"):
 * newsletters (create, edit, counts), sending an issue and following its
 * delivery, and subscribers (search, a chart of confirmations, CSV export
 * and import); see desk.h.
 *
 * Plain forms, post then redirect, as in desk_admin.c. The rules (who may
 * send, what a newsletter needs, how CSV is read and written) are
 * content/newsletter.c's; a page only hides what a role cannot use.
 * Delivery is the mail_outbox job's: a send queues it at once, and the
 * send page shows the outbox filling up (desk.js polls the progress JSON).
 * While the SMTP server cannot be reached (MAIL_DOWN_SETTING, kept by the
 * mail job) the send pages and the progress JSON say so and since when.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "content/newsletter.h"
#include "core/arena.h"
#include "core/bounds.h"
#include "core/buf.h"
#include "core/str.h"
#include "mail/mail.h"
#include "web/app.h"
#include "web/desk.h"

#define SEND_CHOICES 50       /* recent articles offered for a send */
#define SENDS_LISTED 20       /* recent sends listed under the send form */
#define SUBS_PAGE 50          /* subscriptions per page of the search */
#define CHART_DAYS 30         /* days in the confirmations chart */
#define CHART_BAR 12          /* pixels per day in the chart (bar + gap) */
#define CHART_HEIGHT 100      /* pixels of the chart's drawing area */
#define SEARCH_MAX 254        /* bytes of an email search text */
#define DIGEST_DEFAULT 5      /* articles in a digest, as the form offers */
#define REPORT_ENTRY_MAX 2048 /* bytes of one import report entry shown */

/* "Mail server unreachable since HH:MM UTC ..." while the mail job has an
 * outage on record (MAIL_DOWN_SETTING: the SMTP server, or the mail folder
 * without one), else NULL. */
static const char *mail_down(struct desk_req *d)
{
    const char *v = store_setting_get(d->app->st, d->a, MAIL_DOWN_SETTING);
    long long since = 0, last = 0;
    unsigned every = 0;
    int n = 0;
    char hhmm[16];

    if (!v || sscanf(v, "%lld %lld %u %n", &since, &last, &every, &n) != 3 ||
        since <= 0)
        return NULL;
    time_t t = (time_t)since;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(hhmm, sizeof hhmm, "%H:%M", &tm);
    /* without smtp_url the "server" is the mail folder (DIR/mail) */
    int folder = strstr(v + n, "mail folder") != NULL;
    return arena_printf(
        d->a,
        "%s since %s UTC; retrying every %u s. Nothing is "
        "lost: delivery resumes by itself when it %s. (%s)",
        folder ? "Mail folder cannot be written" : "Mail server unreachable",
        hhmm, every, folder ? "can be written" : "answers", v + n);
}

/* s, or "" for NULL (store strings that may be unset). */
static const char *S(const char *s)
{
    return s ? s : "";
}

/* The HTTP status for an enum nl_rc. */
static int nl_status(int rc)
{
    switch (rc) {
    case NL_OK:
        return 200;
    case NL_BAD_EMAIL:
    case NL_INVALID:
        return 400;
    case NL_FORBIDDEN:
        return 403;
    case NL_NOTFOUND:
        return 404;
    case NL_LIMITED:
        return 429;
    default:
        return 500;
    }
}

/* Pages for those nl_newsletter_save / nl_import_csv accept. */
static int is_admin(const struct desk_req *d)
{
    return d->who.role == STAFF_ADMINISTRATOR;
}

/* Pages for those nl_send accepts. */
static int is_sender(const struct desk_req *d)
{
    return d->who.role >= STAFF_EDITOR;
}

/* Subscription states by enum store_sub_state, as forms and tables say
 * them. */
static const char *const sub_states[] = {
    [STORE_SUB_PENDING] = "pending",
    [STORE_SUB_ACTIVE] = "active",
    [STORE_SUB_UNSUBSCRIBED] = "unsubscribed",
};
#define SUB_STATES (sizeof sub_states / sizeof sub_states[0])

/* s percent-encoded for a query string (RFC 3986 unreserved kept). */
static const char *query_encode(struct arena *a, const char *s)
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

/* ---- newsletters -------------------------------------------------------- */

/* Author options for a newsletter form, author_id selected. */
static json_t *author_options(const struct store_author *au, size_t nau,
                              int64_t author_id)
{
    json_t *arr = json_array();

    for (size_t i = 0; i < nau; i++)
        json_array_append_new(arr, json_pack("{s:I, s:s, s:b}", "id",
                                             (json_int_t)au[i].id, "name",
                                             au[i].name, "selected",
                                             au[i].id == author_id));
    return arr;
}

/* One newsletter's form values. */
static json_t *nl_form(const struct store_newsletter *nl,
                       const struct store_author *au, size_t nau)
{
    return json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:b, s:I, s:o}", "id",
                     (json_int_t)nl->id, "name", S(nl->name), "slug",
                     S(nl->slug), "description", S(nl->description),
                     "sender_name", S(nl->sender_name), "sender_email",
                     S(nl->sender_email), "active", nl->active, "position",
                     (json_int_t)nl->position, "authors",
                     author_options(au, nau, nl->author_id));
}

/* The newsletters page; when error is set, failed (the form as sent) is
 * shown again in place with it. */
static int newsletters_page(struct desk_req *d, int status, const char *error,
                            const struct store_newsletter *failed)
{
    struct store_newsletter *nl = NULL;
    struct store_author *au = NULL;
    size_t n = 0, nau = 0;

    if (store_newsletters_list(d->app->st, d->a, 0, &nl, &n) != 0 ||
        store_authors_list(d->app->st, d->a, &au, &nau) != 0)
        return -1;
    json_t *data = desk_data(d, "Newsletters", "newsletters");
    json_t *list = json_array();
    for (size_t i = 0; i < n; i++) {
        size_t c[3] = {0, 0, 0};
        if (store_subscription_counts(d->app->st, nl[i].id, c) != 0)
            return -1;
        int mine = failed && failed->id == nl[i].id;
        json_t *item = nl_form(mine ? failed : &nl[i], au, nau);
        json_object_update_new(
            item,
            json_pack("{s:s, s:I, s:I, s:I, s:b, s:b, s:s}", "title",
                      nl[i].name, "pending", (json_int_t)c[STORE_SUB_PENDING],
                      "subscribed", (json_int_t)c[STORE_SUB_ACTIVE],
                      "unsubscribed", (json_int_t)c[STORE_SUB_UNSUBSCRIBED],
                      "is_active", nl[i].active, "open", mine,
                      "subscribers_url",
                      arena_printf(d->a, "/desk/subscribers/?newsletter=%lld",
                                   (long long)nl[i].id)));
        json_array_append_new(list, item);
    }
    struct store_newsletter blank = {0};
    blank.active = 1;
    const struct store_newsletter *create =
        failed && failed->id == 0 ? failed : &blank;
    const char *dn = http_req_query(d->req, "done");
    json_object_set_new(
        data, "newsletters",
        json_pack("{s:o, s:o, s:s?, s:s?}", "list", list, "create",
                  nl_form(create, au, nau), "error", error, "message",
                  !error && dn && strcmp(dn, "saved") == 0 ? "Newsletter saved."
                                                           : NULL));
    return desk_render(d, status, "newsletters", data);
}

/* Reads the newsletter form into nl. 0, or -1 with err. */
static int read_newsletter(struct desk_req *d, struct store_newsletter *nl,
                           char *err, size_t errlen)
{
    const char *pos = desk_field(d, "position");
    const char *author = desk_field(d, "author");

    memset(nl, 0, sizeof *nl);
    nl->id = desk_id(desk_field(d, "id"));
    nl->name = desk_field(d, "name");
    nl->slug = desk_field(d, "slug");
    nl->description = desk_field(d, "description");
    nl->sender_name = desk_field(d, "sender_name");
    nl->sender_email = desk_field(d, "sender_email");
    nl->author_id = desk_id(author);
    nl->active = *desk_field(d, "active") != '\0';
    nl->position = *pos ? (unsigned)desk_id(pos) : 0;
    if (*pos && strcmp(pos, "0") != 0 &&
        (!nl->position || desk_id(pos) > 1000000)) {
        snprintf(err, errlen, "The position is a whole number (0 or more).");
        return -1;
    }
    if (*author && !nl->author_id) {
        snprintf(err, errlen, "There is no such author.");
        return -1;
    }
    return 0;
}

int desk_newsletters(struct http_req *req, void *app)
{
    struct desk_req d;
    struct store_newsletter nl, old;
    char err[300] = "";
    int sent;

    if (desk_enter(req, app, &d, &sent) < 0)
        return sent;
    if (http_req_method(req) != HTTP_POST) {
        if (!is_admin(&d))
            return desk_fail(&d, DESK_FORBIDDEN,
                             "Only administrators manage newsletters.");
        return newsletters_page(&d, 200, NULL, NULL);
    }
    if (read_newsletter(&d, &nl, err, sizeof err) < 0)
        return is_admin(&d) ? newsletters_page(&d, 400, err, &nl)
                            : desk_fail(&d, DESK_FORBIDDEN,
                                        "Only administrators manage "
                                        "newsletters.");
    if (is_admin(&d) && nl.id &&
        store_newsletter_get(d.app->st, d.a, nl.id, &old) != STORE_OK)
        return desk_fail(&d, DESK_NOTFOUND, "There is no such newsletter.");
    if (is_admin(&d) && nl.author_id) {
        struct store_author *au = NULL;
        size_t nau = 0, i;
        if (store_authors_list(d.app->st, d.a, &au, &nau) != 0)
            return -1;
        for (i = 0; i < nau && au[i].id != nl.author_id; i++)
            ;
        if (i == nau)
            return newsletters_page(&d, 400, "There is no such author.", &nl);
    }
    int rc = nl_newsletter_save(d.app->st, d.a, &d.who, &nl, err, sizeof err);
    if (rc == NL_FORBIDDEN)
        return desk_fail(&d, DESK_FORBIDDEN, err);
    if (rc == NL_ERROR)
        return -1;
    if (rc != NL_OK)
        return newsletters_page(&d, nl_status(rc), err, &nl);
    return http_resp_redirect(req, 303, "/desk/newsletters/?done=saved");
}

/* ---- sends ------------------------------------------------------------- */

/* The recent sends, newest first, for the send form's page. */
static json_t *recent_sends(struct desk_req *d,
                            const struct store_newsletter *nl, size_t nn)
{
    struct store_send *s = NULL;
    size_t n = 0;
    json_t *arr = json_array();

    if (store_sends_list(d->app->st, d->a, 0, SENDS_LISTED, &s, &n) != 0)
        return arr;
    for (size_t i = 0; i < n; i++) {
        const char *name = "";
        for (size_t j = 0; j < nn; j++)
            if (nl[j].id == s[i].newsletter_id)
                name = nl[j].name;
        json_array_append_new(arr,
                              json_pack("{s:I, s:s, s:s, s:s, s:I, s:s}", "id",
                                        (json_int_t)s[i].id, "newsletter", name,
                                        "subject", S(s[i].subject), "when",
                                        desk_time(d, s[i].created_at), "total",
                                        (json_int_t)s[i].total, "url",
                                        arena_printf(d->a, "/desk/sends/%lld/",
                                                     (long long)s[i].id)));
    }
    return arr;
}

/* The send form (values as sent when error is set) and the recent sends. */
static int send_form(struct desk_req *d, int status, const char *error)
{
    struct store_newsletter *nl = NULL;
    struct store_post *p = NULL;
    struct store_post_query q = {0};
    size_t n = 0, np = 0;
    const char *chosen = desk_field(d, "newsletter");
    const char *post = desk_field(d, "post");
    const char *dg = desk_field(d, "digest");
    int digest = strcmp(desk_field(d, "what"), "digest") == 0;

    if (store_newsletters_list(d->app->st, d->a, 0, &nl, &n) != 0)
        return -1;
    q.status = STORE_POST_PUBLISHED;
    q.limit = SEND_CHOICES;
    if (store_posts_list(d->app->st, d->a, &q, &p, &np, NULL) != 0)
        return -1;
    json_t *data = desk_data(d, "Send a newsletter", "newsletters");
    json_t *nls = json_array(), *posts = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(nls, json_pack("{s:s, s:s, s:b, s:b}", "slug",
                                             nl[i].slug, "name", nl[i].name,
                                             "active", nl[i].active, "selected",
                                             strcmp(chosen, nl[i].slug) == 0));
    for (size_t i = 0; i < np; i++)
        json_array_append_new(
            posts,
            json_pack("{s:s, s:s, s:s, s:b}", "slug", p[i].slug, "title",
                      p[i].title, "when", desk_time(d, p[i].published_at),
                      "selected", strcmp(post, p[i].slug) == 0));
    json_object_set_new(
        data, "send",
        json_pack("{s:o, s:o, s:b, s:s, s:I, s:s?, s:o, s:s?}", "newsletters",
                  nls, "posts", posts, "digest", digest, "digest_n",
                  *dg ? dg : arena_printf(d->a, "%d", DIGEST_DEFAULT),
                  "digest_max", (json_int_t)NL_DIGEST_MAX, "error", error,
                  "recent", recent_sends(d, nl, n), "mail_down", mail_down(d)));
    return desk_render(d, status, "sends", data);
}

int desk_nl_send(struct http_req *req, void *app)
{
    struct desk_req d;
    struct store_send s;
    char err[300] = "";
    int sent;

    if (desk_enter(req, app, &d, &sent) < 0)
        return sent;
    if (http_req_method(req) != HTTP_POST) {
        if (!is_sender(&d))
            return desk_fail(&d, DESK_FORBIDDEN,
                             "Only editors and administrators send "
                             "newsletters.");
        return send_form(&d, 200, NULL);
    }
    int digest = strcmp(desk_field(&d, "what"), "digest") == 0;
    const char *dg = desk_field(&d, "digest");
    int64_t n = digest ? desk_id(dg) : 0;
    int rc = nl_send(d.app->st, d.a, &d.who, desk_field(&d, "newsletter"),
                     digest ? NULL : desk_field(&d, "post"),
                     n > NL_DIGEST_MAX ? NL_DIGEST_MAX + 1 : (unsigned)n, d.now,
                     &s, err, sizeof err);
    if (rc == NL_FORBIDDEN)
        return desk_fail(&d, DESK_FORBIDDEN, err);
    if (rc == NL_ERROR)
        return -1;
    if (rc != NL_OK)
        return send_form(&d, nl_status(rc), err);
    return http_resp_redirect(
        req, 303, arena_printf(d.a, "/desk/sends/%lld/", (long long)s.id));
}

/* Loads send :id and its outbox counts. 0, or the response sent in *sent. */
static int load_send(struct desk_req *d, struct store_send *s, size_t c[3],
                     int *sent)
{
    int64_t id = desk_id(http_req_param(d->req, "id"));
    int rc;

    if (!is_sender(d)) {
        *sent = desk_fail(d, DESK_FORBIDDEN,
                          "Only editors and administrators follow sends.");
        return -1;
    }
    rc = id ? store_send_get(d->app->st, d->a, id, s) : STORE_NOTFOUND;
    if (rc == STORE_NOTFOUND) {
        *sent = desk_fail(d, DESK_NOTFOUND, "There is no such send.");
        return -1;
    }
    if (rc != STORE_OK ||
        store_outbox_progress(d->app->st,
                              arena_printf(d->a, "send:%lld", (long long)id),
                              &c[0], &c[1], &c[2]) != 0) {
        *sent = -1;
        return -1;
    }
    return 0;
}

int desk_send_page(struct http_req *req, void *app)
{
    struct desk_req d;
    struct store_send s;
    struct store_newsletter nl;
    struct store_staff by;
    size_t c[3]; /* sent, failed, pending */
    int sent;

    if (desk_enter(req, app, &d, &sent) < 0 || load_send(&d, &s, c, &sent))
        return sent;
    if (store_newsletter_get(d.app->st, d.a, s.newsletter_id, &nl) != 0)
        return -1;
    const char *who = "the command line";
    if (s.created_by &&
        store_staff_get(d.app->st, d.a, s.created_by, &by) == STORE_OK)
        who = by.name;
    const char *what = s.digest ? arena_printf(d.a,
                                               "a digest of the latest %u "
                                               "articles",
                                               s.digest)
                                : NULL;
    struct store_post p;
    if (s.post_id && store_post_get(d.app->st, d.a, s.post_id, &p) == 0)
        what = arena_printf(d.a, "the article \"%s\"", p.title);
    json_t *data = desk_data(&d, "Send", "newsletters");
    json_object_set_new(
        data, "send",
        json_pack(
            "{s:I, s:s, s:s, s:s, s:s, s:s?, s:I, s:I, s:I, s:I, s:I, "
            "s:I, s:b, s:s, s:s, s:s?}",
            "id", (json_int_t)s.id, "newsletter", nl.name, "subject",
            S(s.subject), "when", desk_time(&d, s.created_at), "by", who,
            "what", what, "total", (json_int_t)s.total, "sent",
            (json_int_t)c[0], "failed", (json_int_t)c[1], "pending",
            (json_int_t)c[2], "bar_max", (json_int_t)(s.total ? s.total : 1),
            "bar_value", (json_int_t)(s.total ? c[0] + c[1] : 1), "done",
            c[2] == 0, "url",
            arena_printf(d.a, "/desk/sends/%lld/", (long long)s.id),
            "progress_url",
            arena_printf(d.a, "/desk/sends/%lld/progress", (long long)s.id),
            "mail_down", mail_down(&d)));
    return desk_render(&d, 200, "send", data);
}

int desk_send_progress(struct http_req *req, void *app)
{
    struct desk_req d;
    struct store_send s;
    size_t c[3];
    int sent;

    if (desk_enter(req, app, &d, &sent) < 0 || load_send(&d, &s, c, &sent))
        return sent;
    json_t *j = json_pack("{s:I, s:I, s:I, s:I}", "total", (json_int_t)s.total,
                          "sent", (json_int_t)c[0], "failed", (json_int_t)c[1],
                          "pending", (json_int_t)c[2]);
    const char *down = mail_down(&d);
    if (down) /* only during an outage */
        json_object_set_new(j, "mail_down", json_string(down));
    char *text = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    const char *body = arena_printf(d.a, "%s\n", text ? text : "{}");
    free(text);
    http_resp_header(req, "Cache-Control", "no-store");
    return http_resp_send_static(req, 200, "application/json", body,
                                 strlen(body));
}

/* ---- subscribers ------------------------------------------------------- */

/* The chart of confirmations per day (the last CHART_DAYS days up to now)
 * for newsletter_id (0 = all): bars as SVG geometry, and the numbers for
 * the table screen readers get. NULL when the store fails. */
static json_t *daily_chart(struct desk_req *d, int64_t newsletter_id)
{
    size_t v[CHART_DAYS], max = 0, sum = 0;

    if (store_subscription_daily(d->app->st, newsletter_id, d->now, CHART_DAYS,
                                 v) != 0)
        return NULL;
    for (size_t i = 0; i < CHART_DAYS; i++) {
        sum += v[i];
        if (v[i] > max)
            max = v[i];
    }
    json_t *days = json_array();
    const char *first = "", *last = "";
    for (size_t i = 0; i < CHART_DAYS; i++) {
        time_t t = (time_t)(d->now - (int64_t)(CHART_DAYS - 1 - i) * 86400);
        struct tm tm;
        char day[16] = "";
        if (gmtime_r(&t, &tm))
            strftime(day, sizeof day, "%Y-%m-%d", &tm);
        unsigned h = max ? (unsigned)(v[i] * (CHART_HEIGHT - 10) / max) : 0;
        if (v[i] && !h)
            h = 1;
        json_array_append_new(
            days,
            json_pack("{s:s, s:I, s:I, s:I, s:I}", "day", day, "count",
                      (json_int_t)v[i], "x", (json_int_t)(i * CHART_BAR + 1),
                      "y", (json_int_t)(CHART_HEIGHT - h), "h", (json_int_t)h));
        if (i == 0)
            first = arena_strdup(d->a, day);
        last = arena_strdup(d->a, day);
    }
    return json_pack(
        "{s:o, s:I, s:I, s:s, s:s, s:I, s:I, s:I, s:I}", "days", days, "total",
        (json_int_t)sum, "max", (json_int_t)max, "first", first, "last", last,
        "width", (json_int_t)(CHART_DAYS * CHART_BAR), "height",
        (json_int_t)CHART_HEIGHT, "bar", (json_int_t)(CHART_BAR - 2), "ndays",
        (json_int_t)CHART_DAYS);
}

/* The entries of an import report (one a line, each "line N: ..." or
 * "(more ...)") as a JSON array. A quoted cell may hold CR or LF: those
 * stay inside their entry, shown as \r and \n. */
static json_t *report_lines(struct arena *a, const char *rep)
{
    json_t *arr = json_array();
    struct buf b;

    if (!rep || !*rep)
        return arr;
    buf_init(&b, REPORT_ENTRY_MAX);
    for (const char *c = rep;; c++) {
        int end =
            !*c || (*c == '\n' &&
                    (!c[1] || str_has_prefix(c + 1, "line ") || c[1] == '('));
        if (end) {
            if (b.len)
                json_array_append_new(
                    arr, json_string(arena_strndup(a, b.data, b.len)));
            buf_reset(&b);
            if (!*c || !c[1])
                break;
        } else if (*c == '\r' || *c == '\n') {
            buf_add(&b, *c == '\r' ? "\\r" : "\\n", 2);
        } else {
            buf_add(&b, c, 1);
        }
    }
    buf_release(&b);
    return arr;
}

/* The import's outcome for the page: message, error, report lines. */
struct import_result {
    const char *message; /* "N rows imported", or NULL */
    const char *error;   /* why nothing was imported, or NULL */
    const char *report;  /* bad lines, one a line, or NULL */
};

/* The subscribers page's filters, from its query string. */
struct sub_filter {
    const char *q;         /* email contains this, "" = any */
    int64_t newsletter_id; /* 0 = any */
    int state;             /* enum store_sub_state, -1 = any */
    int64_t page;          /* 1.. */
};

/* Reads the filters; 0, or -1 with the reason in *err. */
static int read_filter(struct desk_req *d, struct sub_filter *f,
                       const char **err)
{
    const char *nls = http_req_query(d->req, "newsletter");
    const char *state = http_req_query(d->req, "state");
    const char *pg = http_req_query(d->req, "page");

    f->q = http_req_query(d->req, "q");
    f->q = f->q ? f->q : "";
    f->page = pg ? desk_id(pg) : 1;
    f->newsletter_id = nls && *nls ? desk_id(nls) : 0;
    f->state = -1;
    for (size_t i = 0; state && i < SUB_STATES; i++)
        if (strcmp(state, sub_states[i]) == 0)
            f->state = (int)i;
    if (f->page < 1 || f->page > BOUND_MAX_PAGE)
        *err = "The page number must be a whole number from 1 to 100000.";
    else if (strlen(f->q) > SEARCH_MAX)
        *err = "The search text is too long.";
    else if (nls && *nls && !f->newsletter_id)
        *err = "There is no such newsletter.";
    else if (state && *state && f->state < 0)
        *err = "The state must be pending, active or unsubscribed.";
    else
        return 0;
    return -1;
}

/* Every newsletter with its counts by state and export link; NULL when the
 * store fails. */
static json_t *newsletter_counts(struct desk_req *d,
                                 const struct store_newsletter *nl, size_t nn,
                                 int64_t selected)
{
    json_t *arr = json_array();

    for (size_t i = 0; i < nn; i++) {
        size_t c[3] = {0, 0, 0};
        if (store_subscription_counts(d->app->st, nl[i].id, c) != 0) {
            json_decref(arr);
            return NULL;
        }
        json_array_append_new(
            arr, json_pack(
                     "{s:I, s:s, s:s, s:b, s:I, s:I, s:I, s:s}", "id",
                     (json_int_t)nl[i].id, "slug", nl[i].slug, "name",
                     nl[i].name, "selected", nl[i].id == selected, "pending",
                     (json_int_t)c[STORE_SUB_PENDING], "subscribed",
                     (json_int_t)c[STORE_SUB_ACTIVE], "unsubscribed",
                     (json_int_t)c[STORE_SUB_UNSUBSCRIBED], "export_url",
                     arena_printf(d->a, "/desk/subscribers.csv?newsletter=%lld",
                                  (long long)nl[i].id)));
    }
    return arr;
}

/* The subscribers page for the query's filters, with an import's result
 * (or NULL). */
static int subscribers_page(struct desk_req *d, int status,
                            const struct import_result *imp)
{
    struct sub_filter f;
    struct store_newsletter *nl = NULL;
    struct store_subscription *s = NULL;
    size_t n = 0, nn = 0, total = 0, all[3] = {0, 0, 0};
    const char *err = NULL;

    if (read_filter(d, &f, &err) < 0)
        return desk_fail(d, DESK_INVALID, err);
    if (store_newsletters_list(d->app->st, d->a, 0, &nl, &nn) != 0 ||
        store_subscription_counts(d->app->st, 0, all) != 0 ||
        store_subscriptions_search(
            d->app->st, d->a, f.q, f.newsletter_id, f.state, SUBS_PAGE,
            (size_t)(f.page - 1) * SUBS_PAGE, &s, &n, &total) != 0)
        return -1;
    json_t *chart = daily_chart(d, f.newsletter_id);
    json_t *counts = newsletter_counts(d, nl, nn, f.newsletter_id);
    if (!chart || !counts) {
        json_decref(chart);
        json_decref(counts);
        return -1;
    }
    json_t *rows = json_array(), *sts = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(
            rows, json_pack("{s:s, s:s, s:s, s:s, s:s}", "email", S(s[i].email),
                            "newsletter", S(s[i].newsletter_slug), "state",
                            sub_states[s[i].state], "since",
                            desk_time(d, s[i].created_at), "confirmed",
                            desk_time(d, s[i].confirmed_at)));
    for (size_t i = 0; i < SUB_STATES; i++)
        json_array_append_new(sts,
                              json_pack("{s:s, s:b}", "value", sub_states[i],
                                        "selected", f.state == (int)i));
    json_t *report = report_lines(d->a, imp ? imp->report : NULL);
    size_t pages = (total + SUBS_PAGE - 1) / SUBS_PAGE;
    const char *nl_arg =
        f.newsletter_id ? arena_printf(d->a, "%lld", (long long)f.newsletter_id)
                        : "";
    json_t *subs = json_pack(
        "{s:o, s:o, s:o, s:s, s:I, s:I, s:I, s:I, s:o, s:s, s:s?, s:s?, s:s}",
        "newsletters", counts, "list", rows, "states", sts, "q", f.q, "total",
        (json_int_t)total, "all_pending", (json_int_t)all[STORE_SUB_PENDING],
        "all_subscribed", (json_int_t)all[STORE_SUB_ACTIVE], "all_unsubscribed",
        (json_int_t)all[STORE_SUB_UNSUBSCRIBED], "chart", chart, "export_url",
        *nl_arg
            ? arena_printf(d->a, "/desk/subscribers.csv?newsletter=%s", nl_arg)
            : "/desk/subscribers.csv",
        "prev",
        f.page > 1 ? arena_printf(d->a, "%lld", (long long)f.page - 1) : NULL,
        "next",
        (size_t)f.page < pages
            ? arena_printf(d->a, "%lld", (long long)f.page + 1)
            : NULL,
        "base",
        arena_printf(d->a, "/desk/subscribers/?q=%s&newsletter=%s&state=%s",
                     query_encode(d->a, f.q), nl_arg,
                     f.state >= 0 ? sub_states[f.state] : ""));
    json_object_set_new(subs, "has_report",
                        json_boolean(json_array_size(report) > 0));
    json_object_set_new(subs, "report", report);
    if (imp && imp->message)
        json_object_set_new(subs, "message", json_string(imp->message));
    if (imp && imp->error)
        json_object_set_new(subs, "error", json_string(imp->error));
    json_t *data = desk_data(d, "Subscribers", "subscribers");
    json_object_set_new(data, "subs", subs);
    return desk_render(d, status, "subscribers", data);
}

int desk_subscribers(struct http_req *req, void *app)
{
    struct desk_req d;
    int sent;

    if (desk_enter(req, app, &d, &sent) < 0)
        return sent;
    if (!is_admin(&d))
        return desk_fail(&d, DESK_FORBIDDEN,
                         "Only administrators see subscribers.");
    return subscribers_page(&d, 200, NULL);
}

int desk_subscribers_csv(struct http_req *req, void *app)
{
    struct desk_req d;
    struct store_newsletter nl;
    const char *nls = http_req_query(req, "newsletter");
    const char *name = "subscribers.csv";
    char *csv = NULL;
    size_t len = 0;
    int64_t id = 0;
    int sent;

    if (desk_enter(req, app, &d, &sent) < 0)
        return sent;
    if (!is_admin(&d))
        return desk_fail(&d, DESK_FORBIDDEN,
                         "Only administrators export subscribers.");
    if (nls && *nls) {
        id = desk_id(nls);
        if (!id || store_newsletter_get(d.app->st, d.a, id, &nl) != STORE_OK)
            return desk_fail(&d, DESK_NOTFOUND, "There is no such newsletter.");
        name = arena_printf(d.a, "subscribers-%s.csv", nl.slug);
    }
    if (nl_export_csv(d.app->st, d.a, id, &csv, &len) != NL_OK)
        return -1;
    arena_defer(d.a, free, csv);
    http_resp_header(req, "Cache-Control", "no-store, private");
    http_resp_header(req, "Content-Disposition",
                     arena_printf(d.a, "attachment; filename=\"%s\"", name));
    return http_resp_send_static(req, 200, "text/csv; charset=utf-8", csv, len);
}

int desk_subscribers_import(struct http_req *req, void *app)
{
    struct desk_req d;
    struct import_result imp = {0};
    char err[300] = "";
    size_t added = 0;
    const char *report = NULL;
    int sent;

    if (desk_enter(req, app, &d, &sent) < 0)
        return sent;
    const struct http_file *f = http_req_file(req, "csv");
    int confirm = *desk_field(&d, "confirm") != '\0';
    int rc =
        nl_import_csv(d.app->st, d.a, &d.who, f ? (const char *)f->data : "",
                      f ? f->len : 0, desk_field(&d, "newsletter"), confirm,
                      d.now, &added, &report, err, sizeof err);
    if (rc == NL_FORBIDDEN)
        return desk_fail(&d, DESK_FORBIDDEN, err);
    if (rc == NL_ERROR)
        return -1;
    if (!f) { /* nothing read: the empty text only lacked its header */
        rc = NL_INVALID;
        snprintf(err, sizeof err, "Choose a CSV file to import.");
    }
    if (rc != NL_OK) {
        imp.error = err;
        return subscribers_page(&d, nl_status(rc), &imp);
    }
    imp.message = arena_printf(d.a, "%zu %s imported.", added,
                               added == 1 ? "row" : "rows");
    imp.report = report;
    return subscribers_page(&d, 200, &imp);
}
