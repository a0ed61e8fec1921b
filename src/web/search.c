/*
 * search.c - the reader's search page, GET /search. The query string is
 * checked by a table of field validators into a search_form, the store's
 * full-text index answers (store_search, docs/store.md), and
 * search.mustache shows the results as cards with a highlighted snippet,
 * the filters (section, author, date range) and pagination whose links
 * keep every parameter. Works without JavaScript.
 *
 * The page goes through the page cache like the other public pages (keyed
 * by the request target and store_version, so a publish retires it) and
 * tells robots not to index it.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/arena.h"
#include "core/bounds.h"
#include "core/str.h"
#include "render/date.h"
#include "web/app.h"
#include "web/cache.h"
#include "web/search.h"

#define SEARCH_PER_PAGE 10 /* results on one page */
#define SEARCH_MAX_Q 300   /* bytes of q accepted (store_search's limit) */

/* What the query string asked for, once checked. */
struct search_form {
    const char *q;       /* the words, as typed ("" = show the form) */
    const char *section; /* section slug, or NULL for all */
    const char *author;  /* author slug, or NULL for all */
    const char *from_s;  /* "YYYY-MM-DD" as typed, or NULL */
    const char *to_s;    /* "YYYY-MM-DD" as typed, or NULL */
    int64_t from, to;    /* published_at range, seconds; 0 = open */
    size_t page;         /* 1.. */
};

typedef const char *(*field_check_fn)(struct web_app *app, struct arena *a,
                                      const char *v, struct search_form *f);

/* ---- field validators: NULL when v is fine, else the reader's message -- */

static const char *check_q(struct web_app *app, struct arena *a, const char *v,
                           struct search_form *f)
{
    (void)app;
    (void)a;
    if (strlen(v) > SEARCH_MAX_Q)
        return "Search for at most 300 characters.";
    for (const char *p = v; *p; p++)
        if (*p != ' ' && *p != '\t' && *p != '\r' && *p != '\n') {
            f->q = v;
            break;
        }
    return NULL;
}

static const char *check_section(struct web_app *app, struct arena *a,
                                 const char *v, struct search_form *f)
{
    struct store_tag t;

    if (!*v)
        return NULL;
    if (!str_slug_valid(v) ||
        store_tag_get_by_slug(app->st, a, v, &t) != STORE_OK ||
        t.kind != STORE_TAG_SECTION)
        return "There is no such section: choose one from the list.";
    f->section = t.slug;
    return NULL;
}

static const char *check_author(struct web_app *app, struct arena *a,
                                const char *v, struct search_form *f)
{
    struct store_author au;

    if (!*v)
        return NULL;
    if (!str_slug_valid(v) ||
        store_author_get_by_slug(app->st, a, v, &au) != STORE_OK)
        return "There is no such author: choose one from the list.";
    f->author = au.slug;
    return NULL;
}

/* Local midnight of "YYYY-MM-DD" into *t; days_after 1 gives the next
 * day's midnight. 0, or -1 when s is not such a date. */
static int parse_day(const char *s, int days_after, int64_t *t)
{
    time_t day;
    struct tm tm;

    if (strlen(s) != 10 || s[4] != '-' || s[7] != '-')
        return -1;
    for (int i = 0; i < 10; i++)
        if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
            return -1;
    if (date_parse_iso(s, &day) < 0)
        return -1;
    if (days_after) {
        localtime_r(&day, &tm);
        tm.tm_mday += days_after;
        tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
        tm.tm_isdst = -1;
        day = mktime(&tm);
    }
    *t = (int64_t)day;
    return 0;
}

static const char *check_from(struct web_app *app, struct arena *a,
                              const char *v, struct search_form *f)
{
    (void)app;
    (void)a;
    if (!*v)
        return NULL;
    if (parse_day(v, 0, &f->from) < 0 || f->from <= 0)
        return "The from date must be a date like 2024-11-01.";
    f->from_s = v;
    return NULL;
}

static const char *check_to(struct web_app *app, struct arena *a, const char *v,
                            struct search_form *f)
{
    (void)app;
    (void)a;
    if (!*v)
        return NULL;
    /* inclusive: up to the last second of that day */
    if (parse_day(v, 1, &f->to) < 0 || f->to <= 1)
        return "The to date must be a date like 2024-11-01.";
    f->to -= 1;
    f->to_s = v;
    return NULL;
}

static const char *check_page(struct web_app *app, struct arena *a,
                              const char *v, struct search_form *f)
{
    size_t n = 0;

    (void)app;
    (void)a;
    if (!*v || strlen(v) > 6)
        goto bad;
    for (const char *p = v; *p; p++) {
        if (*p < '0' || *p > '9')
            goto bad;
        n = n * 10 + (size_t)(*p - '0');
    }
    if (n < 1 || n > BOUND_MAX_PAGE)
        goto bad;
    f->page = n;
    return NULL;
bad:
    return "The page number must be a whole number from 1 to 100000.";
}

/* The query-string parameters, checked in this order. */
static const struct {
    const char *name;
    field_check_fn check;
} fields[] = {
    {"q", check_q},       {"section", check_section}, {"author", check_author},
    {"from", check_from}, {"to", check_to},           {"page", check_page},
};

/* Fills f from req's query string; NULL, or the first field's message. */
static const char *read_form(struct web_app *app, struct http_req *req,
                             struct search_form *f)
{
    struct arena *a = http_req_arena(req);

    memset(f, 0, sizeof *f);
    f->q = "";
    f->page = 1;
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        const char *v = http_req_query(req, fields[i].name);
        const char *msg = v ? fields[i].check(app, a, v, f) : NULL;
        if (msg)
            return msg;
    }
    if (f->from && f->to && f->from > f->to)
        return "The from date must not be after the to date.";
    return NULL;
}

/* ---- output ------------------------------------------------------------ */

/* s percent-encoded for a query-string value (RFC 3986 unreserved bytes
 * kept), in a. */
static char *url_encode(struct arena *a, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    char *out = arena_alloc(a, strlen(s) * 3 + 1);
    char *o = out;

    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
            (*p >= '0' && *p <= '9') || strchr("-._~", *p)) {
            *o++ = (char)*p;
        } else {
            *o++ = '%';
            *o++ = hex[*p >> 4];
            *o++ = hex[*p & 15];
        }
    }
    *o = '\0';
    return out;
}

/* "/search?q=...&section=..." for f at page (1 leaves page out). */
static const char *search_url(struct arena *a, const struct search_form *f,
                              size_t page)
{
    const char *names[] = {"section", "author", "from", "to"};
    const char *vals[] = {f->section, f->author, f->from_s, f->to_s};
    char *u = arena_printf(a, "/search?q=%s", url_encode(a, f->q));

    for (size_t i = 0; i < 4; i++)
        if (vals[i])
            u = arena_printf(a, "%s&%s=%s", u, names[i],
                             url_encode(a, vals[i]));
    if (page > 1)
        u = arena_printf(a, "%s&page=%zu", u, page);
    return u;
}

/* The filter choices: [{slug, name, selected}] of sections or authors. */
static json_t *choices(struct web_app *app, struct arena *a, int authors,
                       const char *current)
{
    json_t *arr = json_array();
    struct store_tag *t = NULL;
    struct store_author *au = NULL;
    size_t n = 0;

    if (authors && store_authors_list(app->st, a, &au, &n) != 0)
        n = 0;
    if (!authors && store_tags_list(app->st, a, STORE_TAG_SECTION, &t, &n) != 0)
        n = 0;
    for (size_t i = 0; i < n; i++) {
        const char *slug = authors ? au[i].slug : t[i].slug;
        json_array_append_new(
            arr, json_pack("{s:s, s:s, s:b}", "slug", slug, "name",
                           authors ? au[i].name : t[i].name, "selected",
                           current && strcmp(current, slug) == 0));
    }
    return arr;
}

/* Runs the search for f into s (results, total, pagination on d);
 * NULL, a message for a page past the last, or "" on a store failure. */
static const char *add_results(struct web_app *app, struct arena *a,
                               const struct search_form *f, json_t *d,
                               json_t *s)
{
    struct store_search_query q = {0};
    struct store_search_hit *hits = NULL;
    size_t n = 0, total = 0;

    q.q = f->q;
    q.tag_slug = f->section;
    q.author_slug = f->author;
    q.from = f->from;
    q.to = f->to;
    q.limit = SEARCH_PER_PAGE;
    q.offset = (f->page - 1) * SEARCH_PER_PAGE;
    if (store_search(app->st, a, &q, &hits, &n, &total) != 0)
        return "";
    size_t pages = (total + SEARCH_PER_PAGE - 1) / SEARCH_PER_PAGE;
    if (f->page > 1 && f->page > pages)
        return "There is no such page of results.";
    json_t *results = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *c = view_card(app, a, &hits[i].post);
        json_object_set_new(
            c, "snippet_html",
            json_string(hits[i].snippet_html ? hits[i].snippet_html : ""));
        json_array_append_new(results, c);
    }
    json_object_set_new(s, "results", results);
    json_object_set_new(s, "total", json_integer((json_int_t)total));
    json_object_set_new(s, "total_label",
                        json_string(arena_printf(a, "%zu result%s", total,
                                                 total == 1 ? "" : "s")));
    json_object_set_new(s, "has_results", json_boolean(total > 0));
    json_object_set_new(s, "no_results", json_boolean(total == 0));
    json_t *pg = json_pack("{s:i, s:i}", "page", (json_int_t)f->page, "pages",
                           (json_int_t)(pages ? pages : 1));
    if (f->page > 1)
        json_object_set_new(pg, "prev_url",
                            json_string(search_url(a, f, f->page - 1)));
    if (f->page < pages)
        json_object_set_new(pg, "next_url",
                            json_string(search_url(a, f, f->page + 1)));
    if (pages > 1)
        json_object_set_new(d, "pagination", pg);
    else
        json_decref(pg);
    return NULL;
}

int page_search(struct http_req *req, void *ctx)
{
    struct web_app *app = ctx;
    struct arena *a = http_req_arena(req);
    struct search_form f;

    const char *msg = read_form(app, req, &f);
    if (msg)
        return http_error(req, 400, msg);
    json_t *d =
        view_page(app, a, *f.q ? arena_printf(a, "Search: %s", f.q) : "Search",
                  NULL, "/search", NULL, 0);
    json_object_set_new(json_object_get(d, "page"), "robots",
                        json_string("noindex"));
    json_t *s = json_pack(
        "{s:s, s:b, s:o, s:o, s:s?, s:s?, s:b}", "q", f.q, "has_query",
        *f.q != '\0', "sections", choices(app, a, 0, f.section), "authors",
        choices(app, a, 1, f.author), "from", f.from_s, "to", f.to_s,
        "filtered", f.section || f.author || f.from_s || f.to_s);
    json_object_set_new(s, "q_url", json_string(url_encode(a, f.q)));
    json_object_set_new(d, "search", s);
    if (*f.q) {
        msg = add_results(app, a, &f, d, s);
        if (msg) {
            json_decref(d);
            return *msg ? http_error(req, 400, msg) : -1;
        }
    } else if (f.page > 1) {
        json_decref(d);
        return http_error(req, 400, "There is no such page of results.");
    }
    return render_page(app, req, 200, "search", d);
}
