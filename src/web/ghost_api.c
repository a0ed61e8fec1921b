/*
 * ghost_api.c - the Content API's requests: CORS, the key, Ghost's query
 * parameters, browse and read of each resource, pagination and the error
 * envelope (ghost_api.h; the shapes are in ghost_json.c).
 *
 * DESIGN: a browse without a filter in the default order is one
 * store_posts_list page. A filter (NQL, content/nql.c) or another order
 * reads the public posts without bodies (at most BOUND_API_SCAN), keeps
 * those that match, sorts them in C and cuts the page; bodies are then
 * read for the posts of that page only. Authors and tags are few: always
 * filtered and sorted in C.
 */
#include <ctype.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "content/nql.h"
#include "core/arena.h"
#include "core/bounds.h"
#include "core/log.h"
#include "web/app.h"
#include "web/ghost_api.h"

#define SCAN_BATCH 500 /* posts read per store_posts_list call */
#define ORDER_KEYS 4   /* order=a desc,b asc,... */
#define UUID_SETTING "content_api_uuid_key"
#define NO_KEY_CONTEXT                                                         \
    "Unable to determine the authenticated member or integration. Check "      \
    "the supplied Content API Key and ensure cookies are being passed "        \
    "through if member auth is failing."

/* One request's state. */
struct api {
    struct http_req *req;
    struct web_app *app;
    struct arena *a;
    struct ghost_view view;
    const char *resource; /* "posts" */
    const char *filter;   /* or NULL */
    const char *order;    /* or NULL */
    size_t limit, page;   /* page from 1 */
    struct nql_node *nql; /* parsed filter, or NULL */
    int64_t now;
};

/* ---- responses ---- */

static void common_headers(struct http_req *req)
{
    http_resp_header(req, "Access-Control-Allow-Origin", "*");
    http_resp_header(req, "Content-Version", "v5.0");
    http_resp_header(req, "Vary", "Accept-Version, Accept-Encoding");
}

/* Ghost's error envelope (@tryghost/errors): status, type, message,
 * context (or NULL). */
static int send_error(struct http_req *req, int status, const char *type,
                      const char *message, const char *context)
{
    unsigned char r[16];
    const char *id;
    json_t *o;
    char *s;
    int rc;

    randombytes_buf(r, sizeof r);
    id = ghost_uuid_of(http_req_arena(req), r);
    o = json_pack("{s:[{s:s, s:s?, s:s, s:n, s:n, s:n, s:n, s:s, s:n}]}",
                  "errors", "message", message, "context", context, "type",
                  type, "details", "property", "help", "code", "id", id,
                  "ghostErrorCode");
    s = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    if (!s)
        return -1;
    arena_defer(http_req_arena(req), free, s);
    common_headers(req);
    http_resp_header(req, "Cache-Control",
                     "no-cache, private, no-store, must-revalidate, "
                     "max-stale=0, post-check=0, pre-check=0");
    rc = http_resp_send_static(req, status, "application/json; charset=utf-8",
                               s, strlen(s));
    return rc;
}

static int not_found(struct api *q, const char *what)
{
    return send_error(q->req, 404, "NotFoundError",
                      arena_printf(q->a, "%s not found.", what), NULL);
}

static int bad_request(struct api *q, const char *message, const char *ctx)
{
    return send_error(q->req, 400, "BadRequestError", message, ctx);
}

static int validation(struct api *q, const char *context)
{
    return send_error(
        q->req, 422, "ValidationError",
        arena_printf(q->a, "Validation error, cannot list %s.", q->resource),
        context);
}

/* Sends root (consumed) as the 200 answer, with a weak ETag of its bytes
 * (a 304 when If-None-Match matches) and Ghost's Cache-Control. */
static int send_json(struct api *q, json_t *root)
{
    unsigned char h[16];
    char etag[48];
    char *s = json_dumps(root, JSON_COMPACT);
    size_t n;

    json_decref(root);
    if (!s)
        return -1;
    arena_defer(q->a, free, s);
    n = strlen(s);
    if (n > BOUND_API_BYTES) {
        log_error("content API answer too large: %zu bytes", n);
        return -1;
    }
    crypto_generichash(h, sizeof h, (const unsigned char *)s, n, NULL, 0);
    snprintf(etag, sizeof etag, "W/\"");
    for (size_t i = 0; i < 8; i++)
        snprintf(etag + 3 + 2 * i, sizeof etag - 3 - 2 * i, "%02x", h[i]);
    strncat(etag, "\"", sizeof etag - strlen(etag) - 1);
    common_headers(q->req);
    http_resp_header(q->req, "Cache-Control", "public, max-age=0");
    http_resp_header(q->req, "ETag", etag);
    return http_resp_send_static(q->req, 200, "application/json; charset=utf-8",
                                 s, n);
}

/* {resource: [items], meta: {pagination}} */
static int send_page(struct api *q, json_t *items, size_t total)
{
    size_t pages = total ? (total + q->limit - 1) / q->limit : 1;
    json_t *pg = json_pack("{s:I, s:I, s:I, s:I}", "page", (json_int_t)q->page,
                           "limit", (json_int_t)q->limit, "pages",
                           (json_int_t)pages, "total", (json_int_t)total);

    json_object_set_new(pg, "next",
                        q->page < pages ? json_integer((json_int_t)q->page + 1)
                                        : json_null());
    json_object_set_new(pg, "prev",
                        q->page > 1 ? json_integer((json_int_t)q->page - 1)
                                    : json_null());
    return send_json(q, json_pack("{s:o, s:{s:o}}", q->resource, items, "meta",
                                  "pagination", pg));
}

/* {resource: [item]} without meta, as Ghost reads answer. */
static int send_one(struct api *q, json_t *item)
{
    if (q->view.fields)
        ghost_keep_fields(item, q->view.fields, q->view.with_authors,
                          q->view.with_tags);
    return send_json(q, json_pack("{s:[o]}", q->resource, item));
}

/* ---- parameters ---- */

/* A positive integer parameter, or dflt when absent; -1 when bad. */
static long positive(const char *s, long dflt)
{
    char *end;
    long v;

    if (!s || !*s)
        return dflt;
    if (!isdigit((unsigned char)*s))
        return -1;
    v = strtol(s, &end, 10);
    return *end || v < 1 || v > 1000000 ? -1 : v;
}

/* Reads limit, page, include, formats, fields, filter, order. 0, or the
 * status of the error sent. */
static int read_params(struct api *q)
{
    const char *include = http_req_query(q->req, "include");
    const char *formats = http_req_query(q->req, "formats");
    const char *limit = http_req_query(q->req, "limit");
    long l, p;
    char err[200];

    q->view.with_authors = ghost_listed(include, "authors");
    q->view.with_tags = ghost_listed(include, "tags");
    q->view.with_count = ghost_listed(include, "count.posts");
    q->view.html = !formats || ghost_listed(formats, "html");
    q->view.plaintext = formats && ghost_listed(formats, "plaintext");
    q->view.fields = http_req_query(q->req, "fields");
    if (q->view.fields && !*q->view.fields)
        q->view.fields = NULL;
    l = limit && strcmp(limit, "all") == 0 ? BOUND_API_LIMIT
                                           : positive(limit, 15);
    if (l < 0)
        return validation(q, "Validation (isInt) failed for limit");
    q->limit = l > BOUND_API_LIMIT ? BOUND_API_LIMIT : (size_t)l;
    p = positive(http_req_query(q->req, "page"), 1);
    if (p < 0)
        return validation(q, "Validation (isInt) failed for page");
    q->page = (size_t)p;
    q->order = http_req_query(q->req, "order");
    if (q->order && !*q->order)
        q->order = NULL;
    q->filter = http_req_query(q->req, "filter");
    if (q->filter && *q->filter &&
        nql_parse(q->a, q->filter, &q->nql, err, sizeof err) < 0)
        return bad_request(q, "Error parsing filter",
                           arena_printf(q->a, "%s", err));
    return 0;
}

/* ---- sorting ---- */

enum sort_field {
    SORT_PUBLISHED,
    SORT_UPDATED,
    SORT_CREATED,
    SORT_TITLE,
    SORT_SLUG,
    SORT_NAME,
    SORT_FEATURED,
    SORT_ID,
    SORT_READING,
    SORT_COUNT,
};

struct sort_key {
    enum sort_field f;
    int desc;
};

/* The order parameter into keys (n set); -1 with an unknown field. The
 * fields allowed depend on the resource (posts, or authors/tags). */
static int parse_order(const char *order, int posts, struct sort_key *keys,
                       size_t *n)
{
    static const struct {
        const char *name;
        enum sort_field f;
        int posts; /* 1 = posts only, 0 = authors/tags only, 2 = both */
    } names[] = {
        {"published_at", SORT_PUBLISHED, 1},
        {"updated_at", SORT_UPDATED, 1},
        {"created_at", SORT_CREATED, 1},
        {"title", SORT_TITLE, 1},
        {"slug", SORT_SLUG, 2},
        {"name", SORT_NAME, 0},
        {"featured", SORT_FEATURED, 1},
        {"id", SORT_ID, 2},
        {"reading_time", SORT_READING, 1},
        {"count.posts", SORT_COUNT, 0},
    };
    const char *p = order;

    *n = 0;
    while (*p) {
        char word[40], dir[8] = "";
        int used = 0;
        size_t i;

        while (*p == ' ' || *p == ',')
            p++;
        if (!*p)
            break;
        if (*n == ORDER_KEYS || sscanf(p, "%39[a-zA-Z_.]%n", word, &used) != 1)
            return -1;
        p += used;
        while (*p == ' ')
            p++;
        if (sscanf(p, "%7[a-zA-Z]%n", dir, &used) == 1)
            p += used;
        else
            dir[0] = '\0';
        for (i = 0; i < sizeof names / sizeof names[0]; i++)
            if (strcasecmp(word, names[i].name) == 0 &&
                (names[i].posts == 2 || names[i].posts == posts))
                break;
        if (i == sizeof names / sizeof names[0])
            return -1;
        if (dir[0] && strcasecmp(dir, "asc") && strcasecmp(dir, "desc"))
            return -1;
        keys[*n].f = names[i].f;
        keys[*n].desc = strcasecmp(dir, "desc") == 0;
        (*n)++;
        while (*p == ' ')
            p++;
        if (*p && *p != ',')
            return -1;
    }
    return 0;
}

/* What sorting compares: one row of any resource. */
struct row {
    const char *title, *slug;
    int64_t published, updated, created, id, reading, featured, count;
    void *item;
};

/* The keys of one sort (qsort_r's argument). */
struct sort_by {
    const struct sort_key *keys;
    size_t n;
};

static int64_t row_num(const struct row *r, enum sort_field f)
{
    switch (f) {
    case SORT_PUBLISHED:
        return r->published;
    case SORT_UPDATED:
        return r->updated;
    case SORT_CREATED:
        return r->created;
    case SORT_FEATURED:
        return r->featured;
    case SORT_ID:
        return r->id;
    case SORT_READING:
        return r->reading;
    case SORT_COUNT:
        return r->count;
    default:
        return 0;
    }
}

static int row_cmp(const void *x, const void *y, void *arg)
{
    const struct row *a = x, *b = y;
    const struct sort_by *by = arg;

    for (size_t i = 0; i < by->n; i++) {
        int c;
        enum sort_field f = by->keys[i].f;
        if (f == SORT_TITLE || f == SORT_NAME)
            c = strcasecmp(a->title ? a->title : "", b->title ? b->title : "");
        else if (f == SORT_SLUG)
            c = strcmp(a->slug, b->slug);
        else {
            int64_t u = row_num(a, f), v = row_num(b, f);
            c = u < v ? -1 : u > v;
        }
        if (c)
            return by->keys[i].desc ? -c : c;
    }
    return a->id < b->id ? 1 : a->id > b->id ? -1 : 0; /* newest id first */
}

static void sort_rows(struct row *rows, size_t n, const struct sort_key *keys,
                      size_t nkeys)
{
    struct sort_by by = {keys, nkeys};

    if (n > 1)
        qsort_r(rows, n, sizeof *rows, row_cmp, &by);
}

/* ---- filter lookups ---- */

static struct nql_value *texts(struct arena *a, size_t n)
{
    return arena_zalloc(a, (n ? n : 1) * sizeof(struct nql_value));
}

static void one_text(struct arena *a, struct nql_field *out, const char *s)
{
    out->vals = texts(a, 1);
    if (s) {
        out->vals[0].text = s;
        out->nvals = 1;
    }
}

static void one_num(struct arena *a, struct nql_field *out, int64_t v, int date)
{
    out->vals = texts(a, 1);
    out->is_date = date;
    if (date && v == 0)
        return; /* null */
    out->vals[0].type = NQL_NUMBER;
    out->vals[0].number = v;
    out->vals[0].text = "";
    out->nvals = 1;
}

static void one_bool(struct arena *a, struct nql_field *out, int b)
{
    out->vals = texts(a, 1);
    out->vals[0].type = b ? NQL_TRUE : NQL_FALSE;
    out->vals[0].text = b ? "true" : "false";
    out->nvals = 1;
}

static void post_lookup(void *ctx, struct arena *a, const char *f,
                        struct nql_field *out)
{
    const struct store_post *p = ctx;
    int tags =
        !strcmp(f, "tag") || !strcmp(f, "tags") || !strcmp(f, "tags.slug");
    int authors = !strcmp(f, "author") || !strcmp(f, "authors") ||
                  !strcmp(f, "authors.slug");

    out->known = 1;
    if (!strcmp(f, "slug"))
        one_text(a, out, p->slug);
    else if (!strcmp(f, "id"))
        one_text(a, out, ghost_id(a, p->id));
    else if (!strcmp(f, "title"))
        one_text(a, out, p->title);
    else if (!strcmp(f, "custom_excerpt"))
        one_text(a, out, p->standfirst);
    else if (!strcmp(f, "excerpt"))
        one_text(a, out, p->excerpt);
    else if (!strcmp(f, "status"))
        one_text(a, out, "published");
    else if (!strcmp(f, "visibility"))
        one_text(a, out, "public");
    else if (!strcmp(f, "type"))
        one_text(a, out, "post");
    else if (!strcmp(f, "featured"))
        one_bool(a, out, p->featured);
    else if (!strcmp(f, "published_at"))
        one_num(a, out, p->published_at, 1);
    else if (!strcmp(f, "created_at"))
        one_num(a, out, p->created_at, 1);
    else if (!strcmp(f, "updated_at"))
        one_num(a, out, p->updated_at ? p->updated_at : p->published_at, 1);
    else if (!strcmp(f, "reading_time"))
        one_num(a, out, p->reading_minutes, 0);
    else if (!strcmp(f, "feature_image"))
        one_text(a, out, p->feature_image ? p->feature_image->name : NULL);
    else if (!strcmp(f, "primary_tag") || !strcmp(f, "primary_tag.slug"))
        one_text(a, out, p->ntags ? p->tags[0].slug : NULL);
    else if (!strcmp(f, "primary_author") || !strcmp(f, "primary_author.slug"))
        one_text(a, out, p->nauthors ? p->authors[0].slug : NULL);
    else if (tags || !strcmp(f, "tags.name") || !strcmp(f, "tags.id")) {
        out->vals = texts(a, p->ntags);
        for (size_t i = 0; i < p->ntags; i++)
            out->vals[out->nvals++].text = tags ? p->tags[i].slug
                                           : !strcmp(f, "tags.name")
                                               ? p->tags[i].name
                                               : ghost_id(a, p->tags[i].id);
    } else if (authors || !strcmp(f, "authors.name") ||
               !strcmp(f, "authors.id")) {
        out->vals = texts(a, p->nauthors);
        for (size_t i = 0; i < p->nauthors; i++)
            out->vals[out->nvals++].text = authors ? p->authors[i].slug
                                           : !strcmp(f, "authors.name")
                                               ? p->authors[i].name
                                               : ghost_id(a, p->authors[i].id);
    } else
        out->known = 0;
}

/* An author or tag row for filters: slug, name, id, count.posts. */
struct named {
    int64_t id;
    const char *slug, *name, *extra_name; /* extra: "visibility" value */
    long count;
};

static void named_lookup(void *ctx, struct arena *a, const char *f,
                         struct nql_field *out)
{
    const struct named *n = ctx;

    out->known = 1;
    if (!strcmp(f, "slug"))
        one_text(a, out, n->slug);
    else if (!strcmp(f, "name"))
        one_text(a, out, n->name);
    else if (!strcmp(f, "id"))
        one_text(a, out, ghost_id(a, n->id));
    else if (!strcmp(f, "visibility"))
        one_text(a, out, "public");
    else if (!strcmp(f, "count.posts"))
        one_num(a, out, n->count, 0);
    else
        out->known = 0;
}

/* ---- posts ---- */

static int filter_error(struct api *q, const char *err)
{
    return bad_request(q, "Error parsing filter",
                       arena_printf(q->a, "%s", err));
}

/* The page of q as items, from rows[0..n) already in order. */
static json_t *post_items(struct api *q, struct store_post *posts, size_t n,
                          int with_body)
{
    json_t *arr = json_array();

    for (size_t i = 0; i < n; i++) {
        struct store_post full, *p = &posts[i];
        json_t *o;
        if (!with_body && (q->view.html || q->view.plaintext) &&
            store_post_get(q->app->st, q->a, p->id, &full) == 0)
            p = &full;
        o = ghost_post_json(&q->view, p);
        if (q->view.fields)
            ghost_keep_fields(o, q->view.fields, q->view.with_authors,
                              q->view.with_tags);
        json_array_append_new(arr, o);
    }
    return arr;
}

static int posts_browse(struct api *q)
{
    struct store_post_query sq = {0};
    struct sort_key keys[ORDER_KEYS];
    size_t nkeys = 0, n = 0, total = 0, nrows = 0, cap = 0;
    struct store_post *posts = NULL;
    struct row *rows = NULL;
    char err[200];

    if (q->order && parse_order(q->order, 1, keys, &nkeys) < 0)
        return bad_request(
            q, "Invalid order",
            arena_printf(q->a, "cannot order posts by '%s'", q->order));
    sq.status = STORE_POST_PUBLISHED;
    sq.published_before = q->now;
    if (!q->nql && (nkeys == 0 || (nkeys == 1 && keys[0].f == SORT_PUBLISHED &&
                                   keys[0].desc))) {
        /* the fast path: one page in the store's own order */
        sq.limit = q->limit;
        sq.offset = (q->page - 1) * q->limit;
        sq.with_body = q->view.html || q->view.plaintext;
        if (store_posts_list(q->app->st, q->a, &sq, &posts, &n, &total) < 0)
            return -1;
        return send_page(q, post_items(q, posts, n, 1), total);
    }
    /* scan, filter, sort, cut */
    sq.limit = SCAN_BATCH;
    for (;;) {
        if (store_posts_list(q->app->st, q->a, &sq, &posts, &n, NULL) < 0)
            return -1;
        for (size_t i = 0; i < n && nrows < BOUND_API_SCAN; i++) {
            struct store_post *p = &posts[i];
            if (q->nql) {
                int m =
                    nql_match(q->nql, q->a, post_lookup, p, err, sizeof err);
                if (m < 0)
                    return filter_error(q, err);
                if (!m)
                    continue;
            }
            if (nrows == cap) {
                struct row *more;
                cap = cap ? 2 * cap : 256;
                more = arena_alloc(q->a, cap * sizeof *more);
                if (nrows)
                    memcpy(more, rows, nrows * sizeof *more);
                rows = more;
            }
            rows[nrows++] =
                (struct row){p->title,
                             p->slug,
                             p->published_at,
                             p->updated_at ? p->updated_at : p->published_at,
                             p->created_at,
                             p->id,
                             p->reading_minutes,
                             p->featured,
                             0,
                             p};
        }
        if (n < SCAN_BATCH || nrows >= BOUND_API_SCAN)
            break;
        sq.offset += SCAN_BATCH;
    }
    if (nkeys == 0) {
        keys[0] = (struct sort_key){SORT_PUBLISHED, 1};
        nkeys = 1;
    }
    sort_rows(rows, nrows, keys, nkeys);
    total = nrows;
    size_t from = (q->page - 1) * q->limit;
    size_t cnt = from < total ? total - from : 0;
    if (cnt > q->limit)
        cnt = q->limit;
    struct store_post *page = arena_alloc(q->a, (cnt ? cnt : 1) * sizeof *page);
    for (size_t i = 0; i < cnt; i++)
        page[i] = *(struct store_post *)rows[from + i].item;
    return send_page(q, post_items(q, page, cnt, 0), total);
}

/* Reads one public post by id or slug (NULL for the other). */
static int posts_read(struct api *q, const char *id, const char *slug)
{
    struct store_post p;
    int rc;

    if (id) {
        int64_t n = ghost_id_parse(id);
        if (n < 0)
            return not_found(q, "Post");
        rc = store_post_get(q->app->st, q->a, n, &p);
    } else {
        rc = store_post_get_by_slug(q->app->st, q->a, slug, &p);
    }
    if (rc == STORE_NOTFOUND || (rc == 0 && (p.status != STORE_POST_PUBLISHED ||
                                             p.published_at > q->now)))
        return not_found(q, "Post");
    if (rc < 0)
        return -1;
    if (q->nql) {
        char err[200];
        int m = nql_match(q->nql, q->a, post_lookup, &p, err, sizeof err);
        if (m < 0)
            return filter_error(q, err);
        if (!m)
            return not_found(q, "Post");
    }
    return send_one(q, ghost_post_json(&q->view, &p));
}

/* ---- authors and tags ---- */

/* Public posts by author / with tag slug (one count query). */
static long count_posts(struct api *q, int author, const char *slug)
{
    struct store_post_query sq = {0};
    struct store_post *posts;
    size_t n, total = 0;

    sq.status = STORE_POST_PUBLISHED;
    sq.published_before = q->now;
    sq.limit = 1;
    if (author)
        sq.author_slug = slug;
    else
        sq.tag_slug = slug;
    if (store_posts_list(q->app->st, q->a, &sq, &posts, &n, &total) < 0)
        return 0;
    return (long)total;
}

/* Browse or read (want_id / want_slug) of authors or tags. */
static int named_serve(struct api *q, int author, const char *want_id,
                       const char *want_slug)
{
    struct store_author *aus = NULL;
    struct store_tag *tags = NULL;
    struct sort_key keys[ORDER_KEYS];
    size_t n = 0, nkeys = 0, nrows = 0;
    int need_count = q->view.with_count ||
                     (q->order && strstr(q->order, "count.posts")) ||
                     (q->filter && strstr(q->filter, "count.posts"));
    int rc = author ? store_authors_list(q->app->st, q->a, &aus, &n)
                    : store_tags_list(q->app->st, q->a, -1, &tags, &n);
    int64_t id = want_id ? ghost_id_parse(want_id) : 0;
    struct row *rows;
    char err[200];

    if (rc < 0)
        return -1;
    if (q->order && parse_order(q->order, 0, keys, &nkeys) < 0)
        return bad_request(q, "Invalid order",
                           arena_printf(q->a, "cannot order %s by '%s'",
                                        q->resource, q->order));
    rows = arena_zalloc(q->a, (n ? n : 1) * sizeof *rows);
    for (size_t i = 0; i < n; i++) {
        struct named nm;
        nm.id = author ? aus[i].id : tags[i].id;
        nm.slug = author ? aus[i].slug : tags[i].slug;
        nm.name = author ? aus[i].name : tags[i].name;
        nm.count = 0;
        if ((want_id && nm.id != id) ||
            (want_slug && strcmp(nm.slug, want_slug) != 0))
            continue;
        if (need_count)
            nm.count = count_posts(q, author, nm.slug);
        if (q->nql) {
            int m = nql_match(q->nql, q->a, named_lookup, &nm, err, sizeof err);
            if (m < 0)
                return filter_error(q, err);
            if (!m)
                continue;
        }
        rows[nrows++] =
            (struct row){nm.name,  nm.slug,
                         0,        0,
                         0,        nm.id,
                         0,        0,
                         nm.count, author ? (void *)&aus[i] : (void *)&tags[i]};
    }
    if (want_id || want_slug) {
        if (!nrows)
            return not_found(q, author ? "Author" : "Tag");
        return send_one(
            q, author
                   ? ghost_author_json(&q->view, rows[0].item,
                                       q->view.with_count ? rows[0].count : -1)
                   : ghost_tag_json(&q->view, rows[0].item,
                                    q->view.with_count ? rows[0].count : -1));
    }
    if (nkeys == 0) {
        keys[0] = (struct sort_key){SORT_NAME, 0};
        nkeys = 1;
    }
    sort_rows(rows, nrows, keys, nkeys);
    json_t *arr = json_array();
    for (size_t i = (q->page - 1) * q->limit;
         i < nrows && i < q->page * q->limit; i++) {
        long c = q->view.with_count ? rows[i].count : -1;
        json_t *o = author ? ghost_author_json(&q->view, rows[i].item, c)
                           : ghost_tag_json(&q->view, rows[i].item, c);
        if (q->view.fields)
            ghost_keep_fields(o, q->view.fields, 0, 0);
        json_array_append_new(arr, o);
    }
    return send_page(q, arr, nrows);
}

/* ---- the handler ---- */

/* Checks the key parameter: 0, or the status of the error sent. */
static int check_key(struct api *q)
{
    const char *key = http_req_query(q->req, "key");
    struct store_api_key k;
    int rc;

    if (!key || !*key)
        return send_error(q->req, 403, "NoPermissionError",
                          "Authorization failed", NO_KEY_CONTEXT);
    rc = strlen(key) == 26 ? store_api_key_find(q->app->st, q->a, key, &k)
                           : STORE_NOTFOUND;
    if (rc == STORE_NOTFOUND)
        return send_error(q->req, 401, "UnauthorizedError",
                          "Unknown Content API Key", NULL);
    return rc < 0 ? -1 : 0;
}

/* The site secret post uuids are derived from (made once). */
static const char *uuid_key(struct api *q)
{
    unsigned char r[16];
    char hex[33];
    const char *have = store_setting_get(q->app->st, q->a, UUID_SETTING);

    if (have)
        return have;
    randombytes_buf(r, sizeof r);
    sodium_bin2hex(hex, sizeof hex, r, sizeof r);
    if (store_setting_init(q->app->st, q->a, UUID_SETTING, hex, &have) < 0)
        return hex[0] ? arena_strdup(q->a, hex) : "";
    return have;
}

/* Splits rest ("posts/", "posts/ID/", "posts/slug/SLUG/") into its up to
 * three segments; the count, or -1 when there are more. */
static int split(struct arena *a, const char *rest, const char **seg)
{
    int n = 0;
    const char *p = rest;

    while (*p) {
        const char *end = strchr(p, '/');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len) {
            if (n == 3)
                return -1;
            seg[n++] = arena_strndup(a, p, len);
        }
        p += len + (end ? 1 : 0);
    }
    return n;
}

int ghost_api_serve(struct http_req *req, void *arg)
{
    struct api q = {0};
    const char *seg[3] = {NULL, NULL, NULL};
    const char *rest = http_req_param(req, "*");
    int nseg, rc;

    q.req = req;
    q.app = arg;
    q.a = http_req_arena(req);
    q.now = (int64_t)time(NULL);
    if (http_req_method(req) == HTTP_OPTIONS) {
        const char *want =
            http_req_header(req, "Access-Control-Request-Headers");
        common_headers(req);
        http_resp_header(req, "Access-Control-Allow-Methods",
                         "GET,HEAD,OPTIONS");
        http_resp_header(req, "Access-Control-Allow-Headers",
                         want && strlen(want) < 512 ? want : "Accept-Version");
        http_resp_header(req, "Access-Control-Max-Age", "86400");
        return http_resp_send(req, 204, NULL, "", 0);
    }
    nseg = split(q.a, rest ? rest : "", seg);
    if (nseg < 1)
        return send_error(req, 404, "NotFoundError", "Resource not found",
                          NULL);
    q.resource = seg[0];
    q.view.app = q.app;
    q.view.a = q.a;
    rc = check_key(&q);
    if (rc)
        return rc;
    rc = read_params(&q);
    if (rc)
        return rc;
    q.view.uuid_key = uuid_key(&q);
    if (!strcmp(q.resource, "posts") || !strcmp(q.resource, "pages")) {
        int pages = q.resource[1] == 'a';
        if (nseg == 1)
            return pages ? send_page(&q, json_array(), 0) : posts_browse(&q);
        if (pages)
            return not_found(&q, "Page");
        if (nseg == 2)
            return posts_read(&q, seg[1], NULL);
        if (!strcmp(seg[1], "slug"))
            return posts_read(&q, NULL, seg[2]);
    } else if (!strcmp(q.resource, "authors") || !strcmp(q.resource, "tags")) {
        int author = q.resource[0] == 'a';
        if (nseg == 1)
            return named_serve(&q, author, NULL, NULL);
        if (nseg == 2)
            return named_serve(&q, author, seg[1], NULL);
        if (!strcmp(seg[1], "slug"))
            return named_serve(&q, author, NULL, seg[2]);
    } else if (!strcmp(q.resource, "settings") && nseg == 1) {
        return send_json(&q, json_pack("{s:o, s:{}}", "settings",
                                       ghost_settings_json(&q.view), "meta"));
    } else if (!strcmp(q.resource, "tiers") && nseg == 1) {
        return send_page(&q, json_pack("[o]", ghost_free_tier_json(&q.view)),
                         1);
    } else if (!strcmp(q.resource, "newsletters") && nseg == 1) {
        struct store_newsletter *nls = NULL;
        size_t n = 0;
        json_t *arr;
        if (store_newsletters_list(q.app->st, q.a, 1, &nls, &n) < 0)
            return -1;
        arr = json_array();
        for (size_t i = (q.page - 1) * q.limit; i < n && i < q.page * q.limit;
             i++)
            json_array_append_new(arr, ghost_newsletter_json(&q.view, &nls[i]));
        return send_page(&q, arr, n);
    }
    return send_error(req, 404, "NotFoundError", "Resource not found", NULL);
}
