/*
 * import_ghost.c - `newsroom import ghost DIR FILE`: a Ghost JSON export
 * (docs/import.md, "Ghost") into a site.
 *
 * DESIGN
 * The file may be far larger than memory, so it is never loaded: libyajl
 * parses it in 64 KB chunks and a small state machine (struct reader)
 * follows the path of containers. Each element of a table array (an array
 * that is a member of a "data" object: data.posts, data.users, ...) is
 * built into one jansson object and handed over, then freed; everything
 * else is skipped as it streams by. This finds the tables in every shape
 * Ghost wrote: {db:[{meta,data}]} (1.x-5.x), a bare {meta,data}, and the
 * importer's {data:{meta,data}}.
 *
 * Tables may come in any order (posts before users), so the file is read
 * twice. Pass 1 keeps the small tables - users, tags, newsletters and the
 * link tables (posts_authors, posts_tags, posts_meta, members_newsletters)
 * - in memory, and writes nothing until the whole file has parsed (a
 * broken file changes nothing). Pass 2 streams posts and members, one at a
 * time, each saved with its links resolved through the import map.
 *
 * Every item imported is recorded in import_map (source "ghost", its kind,
 * the export's id), so a second run of the same export adds nothing. A
 * post or member and its import_map row are one transaction, so this
 * holds for a run that was killed midway too. An
 * author, tag or newsletter whose slug the site already has is matched to
 * the existing one; a post whose slug is taken is skipped with a reason.
 * An item that cannot be imported is reported and skipped; the rest goes
 * on.
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <yajl/yajl_parse.h>

#include "cli/cli.h"
#include "cli/import_images.h"
#include "content/post.h"
#include "content/session.h"
#include "content/site.h"
#include "core/arena.h"
#include "core/bounds.h"
#include "core/config.h"
#include "core/str.h"
#include "render/htmlmd.h"
#include "store/store.h"

static const char usage[] =
    "usage: newsroom import ghost DIR FILE [--images FOLDER]\n"
    "\n"
    "Imports a Ghost JSON export (Ghost 1.x to 5.x: Settings > Labs >\n"
    "Export) into the site in DIR: posts and pages with their bodies,\n"
    "authors, tags, bylines and tag order, featured flags, feature images,\n"
    "newsletters, and members as subscribers of the newsletters they\n"
    "chose. No mail is sent. Slugs and dates are kept, so old URLs keep\n"
    "working. Running it again with the same file adds nothing twice. FILE\n"
    "may be larger than memory. docs/import.md has the details.\n"
    "\n"
    "  --images FOLDER  Ghost's content/images folder (from the Ghost\n"
    "                   server or its backup): the feature images and the\n"
    "                   body images it holds are checked and resized like\n"
    "                   uploads and shown on the pages. Without it images\n"
    "                   are kept as their URLs and not shown.\n";

#define SRC "ghost"
#define CHUNK (64 * 1024)
#define DEPTH_MAX 64  /* containers deep we follow / build */
#define REPORT_MAX 30 /* reasons printed, then "... and N more" */

/* ---- the streaming reader ------------------------------------------------ */

/* One container on the path to where the parser is, outside a capture. */
struct frame {
    int is_map;   /* 1 object, 0 array */
    char key[64]; /* object: the current member's name (cut) */
    int data_map; /* object: it is the value of a "data" member */
    int table;    /* array: it is a table (a member of a data object) */
    int meta_map; /* object: it is the value of a "meta" member */
    int db;       /* array: the root's "db"; object: an element of it */
};

/* What to do with each table row. Returns 0 (-1 stops the read). */
typedef int (*row_fn)(void *ctx, const char *table, json_t *row);

struct reader {
    yajl_handle h;
    struct frame f[DEPTH_MAX];
    int depth;               /* frames in f */
    int skip;                /* containers deeper than DEPTH_MAX */
    const char *const *want; /* tables of this pass (NULL-terminated) */
    row_fn row;              /* called per wanted row */
    void *ctx;
    char table[64];              /* table of the row being captured */
    json_t *cap[DEPTH_MAX];      /* the row being built, outermost first */
    char capkey[DEPTH_MAX][256]; /* current key in each captured object */
    int capdepth;                /* 0 = not capturing */
    int found;                   /* a data object with tables, or meta, seen */
    char version[32];            /* meta.version, or "" */
    size_t base;                 /* file offset of the chunk being parsed */
    long long badkey_off;        /* offset after the first unknown top-level
                                    key, or -1 */
    char badkey[64];             /* that key */
    int stopped;                 /* row() asked to stop */
};

static int wanted(struct reader *r, const char *table)
{
    for (size_t i = 0; r->want[i]; i++)
        if (strcmp(r->want[i], table) == 0)
            return 1;
    return 0;
}

/* Adds v to the capture at its place (the current key, or the end of an
 * array); steals v. */
static void cap_add(struct reader *r, json_t *v)
{
    json_t *top = r->cap[r->capdepth - 1];
    if (json_is_object(top))
        json_object_set_new(top, r->capkey[r->capdepth - 1], v);
    else
        json_array_append_new(top, v);
}

/* A scalar outside a capture: only meta.version matters. */
static void scalar(struct reader *r, const char *s, size_t len)
{
    struct frame *t = r->depth ? &r->f[r->depth - 1] : NULL;
    if (t && t->is_map && t->meta_map && strcmp(t->key, "version") == 0) {
        size_t n = len < sizeof r->version - 1 ? len : sizeof r->version - 1;
        memcpy(r->version, s, n);
        r->version[n] = '\0';
    }
}

static int on_null(void *c)
{
    struct reader *r = c;
    if (r->capdepth)
        cap_add(r, json_null());
    return 1;
}

static int on_bool(void *c, int b)
{
    struct reader *r = c;
    if (r->capdepth)
        cap_add(r, json_boolean(b));
    return 1;
}

static int on_number(void *c, const char *s, size_t len)
{
    struct reader *r = c;
    char tmp[64];
    if (!r->capdepth) {
        scalar(r, s, len);
        return 1;
    }
    if (len >= sizeof tmp) {
        cap_add(r, json_stringn(s, len));
        return 1;
    }
    memcpy(tmp, s, len);
    tmp[len] = '\0';
    if (strpbrk(tmp, ".eE"))
        cap_add(r, json_real(strtod(tmp, NULL)));
    else if (len > 18)
        cap_add(r, json_string(tmp));
    else
        cap_add(r, json_integer(strtoll(tmp, NULL, 10)));
    return 1;
}

static int on_string(void *c, const unsigned char *s, size_t len)
{
    struct reader *r = c;
    if (r->capdepth)
        cap_add(r, json_stringn((const char *)s, len));
    else
        scalar(r, (const char *)s, len);
    return 1;
}

static int open_container(struct reader *r, int is_map)
{
    json_t *v;
    if (r->capdepth) {
        if (r->capdepth >= DEPTH_MAX)
            return 0; /* a row nested this deep is not Ghost's */
        v = is_map ? json_object() : json_array();
        cap_add(r, json_incref(v));
        json_decref(v);
        r->capkey[r->capdepth][0] = '\0';
        r->cap[r->capdepth++] = v;
        return 1;
    }
    struct frame *t = r->depth ? &r->f[r->depth - 1] : NULL;
    if (is_map && t && !t->is_map && t->table && wanted(r, r->table)) {
        r->cap[0] = json_object();
        r->capkey[0][0] = '\0';
        r->capdepth = 1;
        return 1;
    }
    if (r->skip || r->depth >= DEPTH_MAX) {
        r->skip++;
        return 1;
    }
    struct frame *f = &r->f[r->depth++];
    memset(f, 0, sizeof *f);
    f->is_map = is_map;
    /* where Ghost puts things: root.db[i].{meta,data}, root.{meta,data},
     * root.data.{meta,data} */
    int top = t && t->is_map &&
              (r->depth == 2 || t->db || (r->depth == 3 && t->data_map));
    if (t && t->is_map && top) {
        f->data_map = is_map && strcmp(t->key, "data") == 0;
        f->meta_map = is_map && strcmp(t->key, "meta") == 0;
        f->db = !is_map && r->depth == 2 && strcmp(t->key, "db") == 0;
    } else if (t && !t->is_map && t->db)
        f->db = is_map;
    if (t && t->is_map && t->data_map && !is_map) {
        f->table = 1;
        r->found = 1;
        snprintf(r->table, sizeof r->table, "%s", t->key);
    }
    return 1;
}

static int close_container(struct reader *r)
{
    if (r->capdepth) {
        r->capdepth--;
        if (r->capdepth == 0) {
            int rc = r->row(r->ctx, r->table, r->cap[0]);
            json_decref(r->cap[0]);
            r->cap[0] = NULL;
            if (rc < 0) {
                r->stopped = 1;
                return 0;
            }
        }
        return 1;
    }
    if (r->skip) {
        r->skip--;
        return 1;
    }
    if (r->depth)
        r->depth--;
    /* back in a table: its name again (a nested data.x may have moved it) */
    if (r->depth && !r->f[r->depth - 1].is_map && r->f[r->depth - 1].table &&
        r->depth >= 2)
        snprintf(r->table, sizeof r->table, "%s", r->f[r->depth - 2].key);
    return 1;
}

static int on_start_map(void *c)
{
    return open_container(c, 1);
}

static int on_end_map(void *c)
{
    return close_container(c);
}

static int on_start_array(void *c)
{
    return open_container(c, 0);
}

static int on_end_array(void *c)
{
    return close_container(c);
}

static int on_key(void *c, const unsigned char *k, size_t len)
{
    struct reader *r = c;
    if (r->capdepth) {
        size_t n = len < 255 ? len : 255;
        memcpy(r->capkey[r->capdepth - 1], k, n);
        r->capkey[r->capdepth - 1][n] = '\0';
        return 1;
    }
    if (r->skip || !r->depth)
        return 1;
    struct frame *t = &r->f[r->depth - 1];
    size_t n = len < sizeof t->key - 1 ? len : sizeof t->key - 1;
    memcpy(t->key, k, n);
    t->key[n] = '\0';
    if (r->depth == 1 && r->badkey_off < 0 && strcmp(t->key, "db") &&
        strcmp(t->key, "data") && strcmp(t->key, "meta")) {
        /* back over the key and its quotes: where it starts */
        long long end = (long long)(r->base + yajl_get_bytes_consumed(r->h));
        r->badkey_off =
            end - (long long)len - 2 > 0 ? end - (long long)len - 2 : 0;
        snprintf(r->badkey, sizeof r->badkey, "%s", t->key);
    }
    return 1;
}

static const yajl_callbacks callbacks = {
    on_null,      on_bool, NULL,       NULL,           on_number,   on_string,
    on_start_map, on_key,  on_end_map, on_start_array, on_end_array};

/* Line and column (from 1) of byte offset off in path. */
static void line_col(const char *path, long long off, long long *line,
                     long long *col)
{
    FILE *f = fopen(path, "rb");
    int ch;
    *line = 1;
    *col = 1;
    if (!f)
        return;
    for (long long i = 0; i < off && (ch = getc(f)) != EOF; i++) {
        if (ch == '\n') {
            (*line)++;
            *col = 1;
        } else if ((ch & 0xC0) != 0x80) /* count characters, not bytes */
            (*col)++;
    }
    fclose(f);
}

/* Progress on a terminal: "\rimporting: pass 1/2  45%". */
struct progress {
    int on;     /* stderr is a terminal */
    int last;   /* percent shown last, or -1 */
    off_t size; /* bytes of the file */
    const char *what;
};

static void progress_show(struct progress *p, size_t done)
{
    if (!p->on || p->size <= 0)
        return;
    int pct = (int)((double)done * 100.0 / (double)p->size);
    if (pct > 100)
        pct = 100;
    if (pct == p->last)
        return;
    p->last = pct;
    int bar = pct * 30 / 100;
    fprintf(stderr, "\r%-22s [%.*s%*s] %3d%%", p->what, bar,
            "##############################", 30 - bar, "", pct);
    fflush(stderr);
}

static void progress_end(struct progress *p)
{
    if (p->on && p->last >= 0)
        fputs("\r\033[K", stderr);
    p->last = -1;
}

/* Reads path once, calling row for each row of the tables in want.
 * 0, or -1 with a one-line reason in err (with line and column). */
static int read_pass(const char *path, const char *const *want, row_fn row,
                     void *ctx, struct reader *out, struct progress *pg,
                     char *err, size_t errlen)
{
    struct reader *r = out;
    unsigned char *chunk = malloc(CHUNK);
    FILE *f = fopen(path, "rb");
    int rc = -1;
    size_t n;

    memset(r, 0, sizeof *r);
    r->want = want;
    r->row = row;
    r->ctx = ctx;
    r->badkey_off = -1;
    r->h = yajl_alloc(&callbacks, NULL, r);
    if (!f || !chunk || !r->h) {
        snprintf(err, errlen, "cannot read '%s'", path);
        goto out;
    }
    yajl_config(r->h, yajl_allow_comments, 0);
    for (;;) {
        n = fread(chunk, 1, CHUNK, f);
        yajl_status s =
            n ? yajl_parse(r->h, chunk, n) : yajl_complete_parse(r->h);
        if (s != yajl_status_ok) {
            if (r->stopped) {
                snprintf(err, errlen, "import stopped");
                goto out;
            }
            unsigned char *msg = yajl_get_error(r->h, 0, NULL, 0);
            long long line, col;
            size_t at = r->base + (n ? yajl_get_bytes_consumed(r->h) : 0);
            char *nl;
            line_col(path, (long long)at, &line, &col);
            nl = strchr((char *)msg, '\n');
            if (nl)
                *nl = '\0';
            snprintf(err, errlen,
                     "'%s' line %lld, column %lld: not valid "
                     "JSON (%s)",
                     path, line, col,
                     strncmp((char *)msg, "parse error: ", 13) == 0
                         ? (char *)msg + 13
                         : (char *)msg);
            yajl_free_error(r->h, msg);
            goto out;
        }
        if (!n)
            break;
        r->base += n;
        progress_show(pg, r->base);
    }
    if (ferror(f)) {
        snprintf(err, errlen, "cannot read '%s'", path);
        goto out;
    }
    rc = 0;
out:
    progress_end(pg);
    if (r->capdepth) /* stopped inside a row */
        json_decref(r->cap[0]);
    if (r->h)
        yajl_free(r->h);
    if (f)
        fclose(f);
    free(chunk);
    return rc;
}

/* ---- what the import keeps in memory --------------------------------- */

/* A row of a link table: a (post or member) id, the other id, its order. */
struct link {
    char *a;        /* post_id / member_id */
    char *b;        /* author_id / tag_id / newsletter_id */
    long long sort; /* sort_order, or the row's position */
};

struct links {
    struct link *v;
    size_t n, cap;
};

/* What counts are printed for. */
enum kind { K_POST, K_PAGE, K_AUTHOR, K_TAG, K_NEWSLETTER, K_MEMBER, K__MAX };
static const char *const kind_name[K__MAX] = {
    "posts", "pages", "authors", "tags", "newsletters", "members"};

struct count {
    size_t imported; /* created now */
    size_t matched;  /* an existing item with the same slug used */
    size_t already;  /* imported by an earlier run */
    size_t skipped;  /* not imported, a reason reported */
};

struct import {
    struct store *st;
    struct config cfg;
    struct arena a;                     /* per item: reset after each one */
    json_t *users, *tags, *newsletters; /* pass 1 rows */
    struct links posts_authors, posts_tags, members_nl;
    json_t *posts_meta;  /* post id -> posts_meta row */
    int has_newsletters; /* the export has a newsletters table */
    int64_t default_nl;  /* the site's first active newsletter, or 0 */
    int64_t page_tag;    /* the "page" tag's id, or 0 until needed */
    struct count c[K__MAX];
    char *reasons[REPORT_MAX], *warnings[REPORT_MAX];
    size_t nreasons, nwarnings; /* all, also past REPORT_MAX */
    int64_t now;
    struct import_images local; /* --images: Ghost's content/images */
    const char *slug;           /* the post being imported, for warnings */
};

static void note(char **list, size_t *n, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

static void note(char **list, size_t *n, const char *fmt, va_list ap)
{
    if (*n < REPORT_MAX) {
        char line[400];
        vsnprintf(line, sizeof line, fmt, ap);
        list[*n] = strdup(line);
    }
    (*n)++;
}

static void skip(struct import *im, enum kind k, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void skip(struct import *im, enum kind k, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    note(im->reasons, &im->nreasons, fmt, ap);
    va_end(ap);
    im->c[k].skipped++;
}

static void warn(struct import *im, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void warn(struct import *im, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    note(im->warnings, &im->nwarnings, fmt, ap);
    va_end(ap);
}

/* A member as text ("" when absent or null); numbers become decimal. */
static const char *text(struct import *im, json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    if (json_is_string(v))
        return json_string_value(v);
    if (json_is_integer(v))
        return arena_printf(&im->a, "%" JSON_INTEGER_FORMAT,
                            json_integer_value(v));
    return "";
}

/* The member as text, or NULL when absent, null or empty. */
static const char *opt(struct import *im, json_t *o, const char *key)
{
    const char *s = text(im, o, key);
    return *s ? s : NULL;
}

static int truthy(json_t *v)
{
    if (json_is_boolean(v))
        return json_is_true(v);
    if (json_is_integer(v))
        return json_integer_value(v) != 0;
    if (json_is_string(v))
        return strcmp(json_string_value(v), "true") == 0 ||
               strcmp(json_string_value(v), "1") == 0;
    return 0;
}

/* A Ghost time: ISO 8601 ("2021-03-24T04:34:09.000Z", "+02:00" offsets),
 * SQL ("2021-03-24 04:34:09", UTC), or a number (milliseconds, or seconds
 * when small). 0 when absent or unreadable. */
static int64_t ghost_time(json_t *v)
{
    if (json_is_integer(v)) {
        int64_t t = json_integer_value(v);
        return t > 100000000000LL ? t / 1000 : t;
    }
    if (!json_is_string(v))
        return 0;
    const char *s = json_string_value(v);
    struct tm tm;
    int n = 0;
    memset(&tm, 0, sizeof tm);
    if (sscanf(s, "%4d-%2d-%2d%*1[T ]%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon,
               &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &n) < 6)
        return 0;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    int64_t t = (int64_t)timegm(&tm);
    const char *z = s + n;
    if (*z == '.')
        for (z++; isdigit((unsigned char)*z); z++)
            ;
    if (*z == '+' || *z == '-') {
        int hh = 0, mm = 0;
        if (sscanf(z + 1, "%2d:%2d", &hh, &mm) >= 1)
            t -= (*z == '+' ? 1 : -1) * (int64_t)(hh * 3600 + mm * 60);
    }
    return t;
}

static void links_add(struct links *l, const char *a, const char *b,
                      long long sort)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 64;
        l->v = realloc(l->v, l->cap * sizeof *l->v);
        if (!l->v)
            abort();
    }
    l->v[l->n].a = strdup(a);
    l->v[l->n].b = strdup(b);
    l->v[l->n].sort = sort;
    l->n++;
}

static int link_cmp(const void *x, const void *y)
{
    const struct link *p = x, *q = y;
    int c = strcmp(p->a, q->a);
    if (c)
        return c;
    return p->sort < q->sort ? -1 : p->sort > q->sort;
}

static void links_sort(struct links *l)
{
    if (l->n > 1)
        qsort(l->v, l->n, sizeof *l->v, link_cmp);
}

/* The links of id a, in order: *first index and *n. */
static void links_of(const struct links *l, const char *a, size_t *first,
                     size_t *n)
{
    size_t lo = 0, hi = l->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (strcmp(l->v[mid].a, a) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *first = lo;
    for (*n = 0; lo + *n < l->n && strcmp(l->v[lo + *n].a, a) == 0; (*n)++)
        ;
}

static void links_free(struct links *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->v[i].a);
        free(l->v[i].b);
    }
    free(l->v);
}

/* ---- pass 1: the small tables ---------------------------------------- */

static const char *const pass1_tables[] = {
    "users",      "tags",       "newsletters",         "posts_authors",
    "posts_tags", "posts_meta", "members_newsletters", NULL};
static const char *const pass2_tables[] = {"posts", "members", NULL};

static int pass1_row(void *ctx, const char *table, json_t *row)
{
    struct import *im = ctx;
    long long pos;

    if (!json_is_object(row))
        return 0;
    if (strcmp(table, "users") == 0)
        json_array_append(im->users, row);
    else if (strcmp(table, "tags") == 0)
        json_array_append(im->tags, row);
    else if (strcmp(table, "newsletters") == 0)
        json_array_append(im->newsletters, row);
    else if (strcmp(table, "posts_meta") == 0) {
        arena_release(&im->a);
        const char *pid = text(im, row, "post_id");
        if (*pid)
            json_object_set(im->posts_meta, pid, row);
    } else {
        struct links *l = strcmp(table, "posts_authors") == 0
                              ? &im->posts_authors
                          : strcmp(table, "posts_tags") == 0 ? &im->posts_tags
                                                             : &im->members_nl;
        const char *bkey = l == &im->posts_authors ? "author_id"
                           : l == &im->posts_tags  ? "tag_id"
                                                   : "newsletter_id";
        arena_release(&im->a);
        const char *a =
            text(im, row, l == &im->members_nl ? "member_id" : "post_id");
        const char *b = text(im, row, bkey);
        json_t *so = json_object_get(row, "sort_order");
        pos = json_is_integer(so) ? (long long)json_integer_value(so) : 0;
        /* ties keep the file's order */
        pos = pos * 1000000 + (long long)(l->n % 1000000);
        if (*a && *b)
            links_add(l, a, b, pos);
    }
    return 0;
}

/* The source id of a row: its id, else an email or slug key. */
static const char *source_id(struct import *im, json_t *row)
{
    const char *id = text(im, row, "id");
    if (*id)
        return id;
    if (*text(im, row, "email"))
        return arena_printf(&im->a, "email:%s", text(im, row, "email"));
    if (*text(im, row, "slug"))
        return arena_printf(&im->a, "slug:%s", text(im, row, "slug"));
    return NULL;
}

/* A slug for the row: its own when valid, else made from name. */
static const char *slug_for(struct import *im, json_t *row, const char *name)
{
    const char *s = text(im, row, "slug");
    if (*s && strlen(s) <= BOUND_SLUG_LEN && str_slug_valid(s))
        return s;
    s = str_slugify(&im->a, *s ? s : name, BOUND_SLUG_LEN);
    return s && *s ? s : NULL;
}

/* Already imported: 1 (counted), else 0. */
static int seen(struct import *im, enum kind k, const char *kind,
                const char *sid)
{
    int64_t local;
    if (store_import_map_get(im->st, SRC, kind, sid, &local) == STORE_OK) {
        im->c[k].already++;
        return 1;
    }
    return 0;
}

static void import_user(struct import *im, json_t *u)
{
    const char *name = text(im, u, "name"), *sid = source_id(im, u);
    struct store_author au, old;
    if (!*name || !sid) {
        skip(im, K_AUTHOR, "user '%s': no name or id", text(im, u, "email"));
        return;
    }
    if (seen(im, K_AUTHOR, "author", sid))
        return;
    const char *slug = slug_for(im, u, name);
    if (!slug) {
        skip(im, K_AUTHOR, "user '%s': no usable slug", name);
        return;
    }
    if (store_author_get_by_slug(im->st, &im->a, slug, &old) == STORE_OK) {
        store_import_map_put(im->st, SRC, "author", sid, old.id);
        im->c[K_AUTHOR].matched++;
        return;
    }
    memset(&au, 0, sizeof au);
    au.slug = slug;
    au.name = name;
    au.email = opt(im, u, "email");
    if (au.email &&
        str_has_prefix(strchr(au.email, '@') ? strchr(au.email, '@') : "",
                       "@example.invalid"))
        au.email = NULL; /* our export's placeholder */
    au.bio = opt(im, u, "bio");
    au.location = opt(im, u, "location");
    int rc = store_author_save(im->st, &au);
    if (rc != STORE_OK) {
        skip(im, K_AUTHOR, "user '%s': %s", slug, store_strerror(rc));
        return;
    }
    store_import_map_put(im->st, SRC, "author", sid, au.id);
    im->c[K_AUTHOR].imported++;
}

static void import_tag(struct import *im, json_t *t)
{
    const char *name = text(im, t, "name"), *sid = source_id(im, t);
    struct store_tag tag, old;
    if (!*name || !sid) {
        skip(im, K_TAG, "tag '%s': no name or id", text(im, t, "slug"));
        return;
    }
    if (seen(im, K_TAG, "tag", sid))
        return;
    const char *slug = slug_for(im, t, name);
    if (!slug) {
        skip(im, K_TAG, "tag '%s': no usable slug", name);
        return;
    }
    if (store_tag_get_by_slug(im->st, &im->a, slug, &old) == STORE_OK) {
        store_import_map_put(im->st, SRC, "tag", sid, old.id);
        im->c[K_TAG].matched++;
        return;
    }
    memset(&tag, 0, sizeof tag);
    tag.slug = slug;
    tag.name = strlen(name) > BOUND_FIELD_LEN
                   ? arena_strndup(&im->a, name, BOUND_FIELD_LEN)
                   : name;
    tag.description = opt(im, t, "description");
    tag.kind = STORE_TAG_TAG;
    int rc = store_tag_save(im->st, &tag);
    if (rc != STORE_OK) {
        skip(im, K_TAG, "tag '%s': %s", slug, store_strerror(rc));
        return;
    }
    store_import_map_put(im->st, SRC, "tag", sid, tag.id);
    im->c[K_TAG].imported++;
}

static void import_newsletter(struct import *im, json_t *n)
{
    const char *name = text(im, n, "name"), *sid = source_id(im, n);
    struct store_newsletter nl, old;
    if (!*name || !sid) {
        skip(im, K_NEWSLETTER, "newsletter '%s': no name or id",
             text(im, n, "slug"));
        return;
    }
    if (seen(im, K_NEWSLETTER, "newsletter", sid))
        return;
    const char *slug = slug_for(im, n, name);
    if (!slug) {
        skip(im, K_NEWSLETTER, "newsletter '%s': no usable slug", name);
        return;
    }
    if (store_newsletter_get_by_slug(im->st, &im->a, slug, &old) == STORE_OK) {
        store_import_map_put(im->st, SRC, "newsletter", sid, old.id);
        im->c[K_NEWSLETTER].matched++;
        return;
    }
    memset(&nl, 0, sizeof nl);
    nl.slug = slug;
    nl.name = name;
    nl.description = text(im, n, "description");
    nl.sender_name = text(im, n, "sender_name");
    nl.sender_email = text(im, n, "sender_email");
    nl.active = strcmp(text(im, n, "status"), "archived") != 0;
    json_t *so = json_object_get(n, "sort_order");
    nl.position = json_is_integer(so) ? (unsigned)json_integer_value(so) : 0;
    int rc = store_newsletter_save(im->st, &nl);
    if (rc != STORE_OK) {
        skip(im, K_NEWSLETTER, "newsletter '%s': %s", slug, store_strerror(rc));
        return;
    }
    store_import_map_put(im->st, SRC, "newsletter", sid, nl.id);
    im->c[K_NEWSLETTER].imported++;
}

/* ---- pass 2: posts and members ----------------------------------------- */

/* The Markdown of a mobiledoc or lexical document that is one Markdown
 * card (what Ghost's Markdown editor, and our export, write), or NULL. */
static const char *markdown_card(struct import *im, const char *doc)
{
    json_t *d = doc && *doc ? json_loads(doc, 0, NULL) : NULL;
    const char *md = NULL;
    json_t *cards = json_object_get(d, "cards");
    json_t *root = json_object_get(d, "root");
    if (json_is_array(cards) && json_array_size(cards) == 1 &&
        json_array_size(json_object_get(d, "sections")) <= 1) {
        json_t *c = json_array_get(cards, 0);
        const char *type = json_string_value(json_array_get(c, 0));
        json_t *m = json_object_get(json_array_get(c, 1), "markdown");
        if (type &&
            (!strcmp(type, "markdown") || !strcmp(type, "card-markdown")) &&
            json_is_string(m))
            md = arena_strdup(&im->a, json_string_value(m));
    } else if (json_is_object(root)) {
        json_t *ch = json_object_get(root, "children");
        json_t *c = json_array_get(ch, 0);
        json_t *m = json_object_get(c, "markdown");
        if (json_array_size(ch) == 1 && json_is_string(m))
            md = arena_strdup(&im->a, json_string_value(m));
    }
    json_decref(d);
    return md;
}

/* The image row for an external URL (made once, kept by its URL): it has
 * no size, so pages leave it out until it is uploaded in the desk. */
/* htmlmd_src_fn: a body image found under --images is shown from our
 * copy, else kept as it was (a missing or refused file is warned). */
static const char *body_src(void *ctx, struct arena *a, const char *src)
{
    struct import *im = ctx;
    char err[600];
    const char *ours =
        import_images_body_src(&im->local, im->st, a, src, err, sizeof err);

    if (*err)
        warn(im, "post '%s': image %s", im->slug ? im->slug : "?", err);
    return ours;
}

static int64_t image_for(struct import *im, const char *url, const char *alt)
{
    struct store_image img;
    char err[600];
    int64_t id;
    int r = import_images_take(&im->local, im->st, &im->a, url, alt, &id, err,
                               sizeof err);
    if (r == 0)
        return id;
    if (r < 0)
        warn(im, "post '%s': feature image %s", im->slug ? im->slug : "?", err);
    if (store_image_get_by_name(im->st, &im->a, url, &img) == STORE_OK)
        return img.id;
    memset(&img, 0, sizeof img);
    img.name = url;
    img.widths = "";
    img.formats = "";
    img.alt = alt;
    return store_image_save(im->st, &img) == STORE_OK ? img.id : 0;
}

/* Ids of the links of id (source ids mapped through kind), in order. */
static size_t map_links(struct import *im, const struct links *l,
                        const char *id, const char *kind, int64_t *out,
                        size_t max, const char *what, const char *slug)
{
    size_t first, n, got = 0;
    links_of(l, id, &first, &n);
    for (size_t i = 0; i < n; i++) {
        int64_t local;
        if (store_import_map_get(im->st, SRC, kind, l->v[first + i].b,
                                 &local) != STORE_OK) {
            warn(im, "post '%s': %s '%s' is not in the export", slug, what,
                 l->v[first + i].b);
            continue;
        }
        int dup = 0;
        for (size_t j = 0; j < got; j++)
            dup |= out[j] == local;
        if (dup)
            continue;
        if (got == max) {
            warn(im, "post '%s': more than %zu %ss, the rest left out", slug,
                 max, what);
            break;
        }
        out[got++] = local;
    }
    return got;
}

/* The id of the tag "page" that marks imported pages (newsroom has no
 * pages; the WordPress import marks them the same way), made when first
 * needed; -1 when it cannot be. */
static int64_t page_tag(struct import *im)
{
    struct store_tag t;
    if (im->page_tag)
        return im->page_tag;
    if (store_tag_get_by_slug(im->st, &im->a, "page", &t) != STORE_OK) {
        memset(&t, 0, sizeof t);
        t.slug = "page";
        t.name = "Page";
        t.kind = STORE_TAG_TAG;
        if (store_tag_save(im->st, &t) != STORE_OK)
            return im->page_tag = -1;
    }
    return im->page_tag = t.id;
}

static void import_post(struct import *im, json_t *row)
{
    const char *id = text(im, row, "id");
    const char *title = text(im, row, "title");
    int page = !strcmp(text(im, row, "type"), "page") ||
               truthy(json_object_get(row, "page"));
    enum kind k = page ? K_PAGE : K_POST;
    struct store_post p, old;
    int64_t authors[BOUND_POST_AUTHORS], tags[BOUND_POST_TAGS];
    size_t na = 0, nt = 0;

    if (!*id) {
        skip(im, k, "post '%s': no id", text(im, row, "slug"));
        return;
    }
    if (seen(im, k, "post", id))
        return;
    if (!*title) {
        title = "(untitled)";
        warn(im, "post '%s': no title, '(untitled)' used", id);
    }
    if (strlen(title) > BOUND_TITLE_LEN) {
        size_t n = BOUND_TITLE_LEN;
        while (n && ((unsigned char)title[n] & 0xC0) == 0x80)
            n--;
        title = arena_strndup(&im->a, title, n);
        warn(im, "post '%s': title cut to %d bytes", id, BOUND_TITLE_LEN);
    }
    const char *slug = slug_for(im, row, title);
    im->slug = slug;
    if (!slug) {
        skip(im, k, "post '%s': no usable slug", id);
        return;
    }
    if (store_post_get_by_slug(im->st, &im->a, slug, &old) == STORE_OK) {
        skip(im, k, "post '%s': the slug is taken by another post", slug);
        return;
    }

    memset(&p, 0, sizeof p);
    p.slug = slug;
    p.title = title;
    /* the body: Markdown where Ghost kept it, else the HTML converted */
    const char *md = markdown_card(im, opt(im, row, "mobiledoc"));
    if (!md)
        md = markdown_card(im, opt(im, row, "lexical"));
    if (!md)
        md = opt(im, row, "markdown");
    if (!md && opt(im, row, "html")) {
        const char *html = text(im, row, "html");
        md = htmlmd_convert_map(&im->a, html, strlen(html), BOUND_MARKDOWN,
                                body_src, im);
        if (!md) {
            skip(im, k,
                 "post '%s': the body is too large (over %d KB as "
                 "Markdown)",
                 slug, BOUND_MARKDOWN / 1024);
            return;
        }
    }
    p.markdown = md ? md : "";
    p.standfirst = opt(im, row, "custom_excerpt");

    json_t *meta = json_object_get(im->posts_meta, id);
    p.meta_title = opt(im, row, "meta_title");
    p.meta_description = opt(im, row, "meta_description");
    if (!p.meta_title && meta)
        p.meta_title = opt(im, meta, "meta_title");
    if (!p.meta_description && meta)
        p.meta_description = opt(im, meta, "meta_description");

    const char *loc = opt(im, row, "locale");
    if (!loc)
        loc = opt(im, row, "language");
    if (loc && strlen(loc) < 36) {
        char *l = arena_strdup(&im->a, loc);
        for (char *c = l; *c; c++)
            if (*c == '_')
                *c = '-';
        p.language = l;
    } else
        p.language = im->cfg.language;

    const char *status = text(im, row, "status");
    const char *vis = text(im, row, "visibility");
    if (!strcmp(status, "published") || !strcmp(status, "sent"))
        p.status = STORE_POST_PUBLISHED;
    else if (!strcmp(status, "scheduled"))
        p.status = STORE_POST_SCHEDULED;
    else
        p.status = STORE_POST_DRAFT;
    if (*vis && strcmp(vis, "public") && p.status != STORE_POST_DRAFT) {
        warn(im,
             "post '%s': visible to '%s' only in Ghost, imported as a "
             "draft",
             slug, vis);
        p.status = STORE_POST_DRAFT;
    }
    p.featured = truthy(json_object_get(row, "featured"));
    p.created_at = ghost_time(json_object_get(row, "created_at"));
    p.published_at = ghost_time(json_object_get(row, "published_at"));
    p.updated_at = ghost_time(json_object_get(row, "updated_at"));
    if (!p.created_at)
        p.created_at = p.published_at ? p.published_at : im->now;
    if (p.status != STORE_POST_DRAFT && !p.published_at)
        p.published_at = p.created_at;

    const char *img = opt(im, row, "feature_image");
    if (img) {
        p.feature_alt = opt(im, row, "feature_image_alt");
        const char *cap = opt(im, row, "feature_image_caption");
        if (!p.feature_alt && meta)
            p.feature_alt = opt(im, meta, "feature_image_alt");
        if (!cap && meta)
            cap = opt(im, meta, "feature_image_caption");
        if (cap)
            p.feature_caption =
                htmlmd_convert(&im->a, cap, strlen(cap), BOUND_FIELD_LEN);
        p.feature_image_id = image_for(im, img, p.feature_alt);
    }

    na = map_links(im, &im->posts_authors, id, "author", authors,
                   BOUND_POST_AUTHORS, "author", slug);
    if (!na && opt(im, row, "author_id")) {
        int64_t local;
        if (store_import_map_get(im->st, SRC, "author",
                                 text(im, row, "author_id"),
                                 &local) == STORE_OK)
            authors[na++] = local;
        else
            warn(im, "post '%s': author '%s' is not in the export", slug,
                 text(im, row, "author_id"));
    }
    nt = map_links(im, &im->posts_tags, id, "tag", tags, BOUND_POST_TAGS, "tag",
                   slug);
    if (page && page_tag(im) > 0) {
        int dup = 0;
        for (size_t i = 0; i < nt; i++)
            dup |= tags[i] == im->page_tag;
        if (!dup && nt < BOUND_POST_TAGS)
            tags[nt++] = im->page_tag;
    }

    int rc = post_save(im->st, &im->a, &p, authors, na, tags, nt,
                       im->cfg.reading_speed);
    if (rc != STORE_OK) {
        skip(im, k, "post '%s': %s", slug,
             rc == -1 ? "cannot save it (body unusable or database error)"
                      : store_strerror(rc));
        return;
    }
    store_import_map_put(im->st, SRC, "post", id, p.id);
    im->c[k].imported++;
}

/* A random token for the subscriptions.token column (as newsletter.c
 * makes them). */
static const char *row_token(struct arena *a)
{
    char tok[SESSION_TOKEN_HEX + 1], hash[SESSION_TOKEN_HEX + 1];
    session_new_token(tok, hash);
    return arena_strdup(a, hash);
}

static void import_member(struct import *im, json_t *row)
{
    const char *sid = source_id(im, row);
    const char *email = text(im, row, "email");
    int64_t sub;
    if (!sid || !strchr(email, '@') || strlen(email) > STAFF_EMAIL_MAX) {
        skip(im, K_MEMBER, "member '%s': no usable email address", email);
        return;
    }
    if (seen(im, K_MEMBER, "member", sid))
        return;
    char *addr = arena_strdup(&im->a, email);
    for (char *c = addr; *c; c++)
        *c = (char)tolower((unsigned char)*c);
    int64_t created = ghost_time(json_object_get(row, "created_at"));
    if (store_subscriber_upsert(im->st, str_trim(addr),
                                created ? created : im->now,
                                &sub) != STORE_OK) {
        skip(im, K_MEMBER, "member '%s': cannot save it", addr);
        return;
    }
    size_t active = 0;
    if (im->has_newsletters) {
        size_t first, n;
        links_of(&im->members_nl, text(im, row, "id"), &first, &n);
        for (size_t i = 0; i < n; i++) {
            int64_t nl;
            if (store_import_map_get(im->st, SRC, "newsletter",
                                     im->members_nl.v[first + i].b,
                                     &nl) == STORE_OK &&
                store_subscription_set(im->st, sub, nl, STORE_SUB_ACTIVE,
                                       im->now, row_token(&im->a)) == STORE_OK)
                active++;
        }
    } else {
        json_t *s = json_object_get(row, "subscribed");
        if ((!s || truthy(s)) && im->default_nl &&
            store_subscription_set(im->st, sub, im->default_nl,
                                   STORE_SUB_ACTIVE, im->now,
                                   row_token(&im->a)) == STORE_OK)
            active++;
    }
    /* A member who receives nothing is kept as unsubscribed from the
     * first newsletter: a subscriber with no subscription at all would be
     * purged, and a re-sign-up is recognised. No mail either way. */
    if (!active && im->default_nl &&
        store_subscription_set(im->st, sub, im->default_nl, STORE_SUB_ACTIVE,
                               im->now, row_token(&im->a)) == STORE_OK)
        store_subscription_set(im->st, sub, im->default_nl,
                               STORE_SUB_UNSUBSCRIBED, im->now, NULL);
    store_import_map_put(im->st, SRC, "member", sid, sub);
    im->c[K_MEMBER].imported++;
}

/* Each post or member is one transaction: the item, its links and its
 * import_map row are written together, so an import killed midway (or
 * cut by a database error) and run again finds every item either fully
 * imported and mapped, or not at all. */
static int pass2_row(void *ctx, const char *table, json_t *row)
{
    struct import *im = ctx;
    int post = strcmp(table, "posts") == 0;
    size_t before[K__MAX];

    arena_release(&im->a);
    if (!json_is_object(row))
        return 0;
    for (int k = 0; k < K__MAX; k++)
        before[k] = im->c[k].imported;
    if (store_tx_begin(im->st) != STORE_OK) {
        skip(im, post ? K_POST : K_MEMBER, "database error (see the log)");
        return 0;
    }
    if (post)
        import_post(im, row);
    else
        import_member(im, row);
    if (store_tx_commit(im->st) == STORE_OK)
        return 0;
    store_tx_rollback(im->st);
    im->page_tag = 0; /* it may have been made in the rolled back write */
    for (int k = 0; k < K__MAX; k++)
        im->c[k].imported = before[k];
    skip(im, post ? K_POST : K_MEMBER, "database error (see the log)");
    return 0;
}

/* ---- the command --------------------------------------------------------- */

static void summary(struct import *im, const char *file, const char *version)
{
    printf("imported '%s' (Ghost %s):\n", file, *version ? version : "?");
    for (int k = 0; k < K__MAX; k++) {
        struct count *c = &im->c[k];
        if (!c->imported && !c->matched && !c->already && !c->skipped)
            continue;
        printf("  %-12s %6zu imported", kind_name[k], c->imported);
        if (c->matched)
            printf(", %zu matched to existing ones by slug", c->matched);
        if (c->already)
            printf(", %zu already imported", c->already);
        if (c->skipped)
            printf(", %zu skipped", c->skipped);
        putchar('\n');
    }
    if (im->local.folder)
        printf("  %-12s %6zu taken from '%s'\n", "images", im->local.taken,
               im->local.folder);
    if (im->nreasons)
        printf("skipped (%zu):\n", im->nreasons);
    for (size_t i = 0; i < im->nreasons && i < REPORT_MAX; i++)
        printf("  %s\n", im->reasons[i]);
    if (im->nreasons > REPORT_MAX)
        printf("  ... and %zu more\n", im->nreasons - REPORT_MAX);
    if (im->nwarnings)
        printf("warnings (%zu):\n", im->nwarnings);
    for (size_t i = 0; i < im->nwarnings && i < REPORT_MAX; i++)
        printf("  %s\n", im->warnings[i]);
    if (im->nwarnings > REPORT_MAX)
        printf("  ... and %zu more\n", im->nwarnings - REPORT_MAX);
}

/* Everything that pass 1 kept, written in dependency order. */
static void apply_pass1(struct import *im)
{
    size_t i;
    json_t *row;
    json_array_foreach(im->users, i, row)
    {
        arena_release(&im->a);
        import_user(im, row);
    }
    json_array_foreach(im->tags, i, row)
    {
        arena_release(&im->a);
        import_tag(im, row);
    }
    json_array_foreach(im->newsletters, i, row)
    {
        arena_release(&im->a);
        import_newsletter(im, row);
    }
    arena_release(&im->a);
    struct store_newsletter *nl;
    size_t n;
    if (store_newsletters_list(im->st, &im->a, 1, &nl, &n) == STORE_OK && n)
        im->default_nl = nl[0].id;
    arena_release(&im->a);
}

static int run_import(const char *dir, const char *file, const char *images)
{
    struct import im;
    struct reader r;
    struct progress pg = {.on = isatty(2), .last = -1};
    struct stat sb;
    char err[768], version[32] = "";
    int rc = 1;

    memset(&im, 0, sizeof im);
    if (stat(file, &sb) < 0 || !S_ISREG(sb.st_mode))
        return cli_fail("import ghost: cannot read '%s': no such file", file);
    pg.size = sb.st_size;
    im.st = site_open(dir, &im.cfg, err, sizeof err);
    if (!im.st)
        return cli_fail("%s", err);
    arena_init(&im.a);
    im.now = (int64_t)time(NULL);
    if (import_images_open(&im.local, dir, images, "/content/images/", SRC) <
        0) {
        cli_fail("import ghost: cannot start the image library");
        goto out;
    }
    im.users = json_array();
    im.tags = json_array();
    im.newsletters = json_array();
    im.posts_meta = json_object();

    pg.what = "reading (1/2)";
    if (read_pass(file, pass1_tables, pass1_row, &im, &r, &pg, err,
                  sizeof err) < 0) {
        cli_fail("import ghost: %s", err);
        goto out;
    }
    if (!r.found) {
        long long line = 1, col = 1;
        if (r.badkey_off >= 0)
            line_col(file, r.badkey_off, &line, &col);
        if (r.badkey_off >= 0)
            cli_fail("import ghost: '%s' line %lld, column %lld: not a Ghost "
                     "export: found '%s' where 'db' or 'data' was expected",
                     file, line, col, r.badkey);
        else
            cli_fail("import ghost: '%s' line 1, column 1: not a Ghost "
                     "export: no 'db' or 'data' object",
                     file);
        goto out;
    }
    snprintf(version, sizeof version, "%s", r.version);
    im.has_newsletters = json_array_size(im.newsletters) > 0;
    links_sort(&im.posts_authors);
    links_sort(&im.posts_tags);
    links_sort(&im.members_nl);
    apply_pass1(&im);

    pg.what = "importing (2/2)";
    if (read_pass(file, pass2_tables, pass2_row, &im, &r, &pg, err,
                  sizeof err) < 0) {
        cli_fail("import ghost: %s (changed while importing?)", err);
        goto out;
    }
    summary(&im, file, version);
    rc = 0;
out:
    import_images_close(&im.local);
    for (size_t i = 0; i < im.nreasons && i < REPORT_MAX; i++)
        free(im.reasons[i]);
    for (size_t i = 0; i < im.nwarnings && i < REPORT_MAX; i++)
        free(im.warnings[i]);
    links_free(&im.posts_authors);
    links_free(&im.posts_tags);
    links_free(&im.members_nl);
    json_decref(im.users);
    json_decref(im.tags);
    json_decref(im.newsletters);
    json_decref(im.posts_meta);
    arena_release(&im.a);
    store_close(im.st);
    return rc;
}

int cli_import_ghost(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        fputs(usage, stdout);
        return 0;
    }
    const char *dir, *file, *images;
    int rc = import_images_arg("import ghost", &argc, argv, &images);

    if (!rc)
        rc = cli_dir_file("import ghost", argc, argv, NULL, NULL, &dir, &file);
    return rc ? rc : run_import(dir, file, images);
}
