/*
 * store_pg_content.c - the PostgreSQL backend's content operations:
 * settings, posts (with their authors and tags, and the posts list),
 * corrections, authors, tags, images, live updates and newsletters.
 *
 * Each operation has the contract of its store.h function; the row
 * readers and binders here map result columns to the store.h structs.
 * Connections, statements and transactions come from store_pg.c
 * (store_pg.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/log.h"
#include "store/store_pg.h"

#define LIST_LIMIT 10       /* rows when a list asks for 0 */
#define LIST_SQL_BYTES 4096 /* longest generated posts-list statement */

/* Parameters: $1 status, $2 tag, $3 author, $4 before, $5 exclude,
 * $6 limit, $7 offset, $8 title search. Every shape declares all eight
 * (LIST_TYPES), so each call passes eight values whatever the filters.
 * F_TITLE: strpos() matches the text literally (no LIKE wildcards), and
 * lower() under COLLATE "C" folds ASCII letters only, as SQLite's does. */
static const char *const filter_sql[F__MAX] = {
    [F_STATUS] = " AND p.status = $1",
    [F_TAG] = " AND p.id IN (SELECT pt.post_id FROM post_tags pt "
              "JOIN tags t ON t.id = pt.tag_id WHERE t.slug = $2)",
    [F_AUTHOR] = " AND p.id IN (SELECT pa.post_id FROM post_authors pa "
                 "JOIN authors au ON au.id = pa.author_id "
                 "WHERE au.slug = $3)",
    [F_FEATURED] = " AND p.featured = 1",
    [F_PICKS] = " AND p.pick_order > 0",
    [F_BEFORE] = " AND p.published_at <= $4",
    [F_EXCLUDE] = " AND p.slug <> $5",
    [F_TITLE] = " AND strpos(lower(p.title COLLATE \"C\"), "
                "lower($8 COLLATE \"C\")) > 0",
    [F_DESK_ORDER] = "",
};
#define LIST_TYPES "tttitiit"
#define LIST_PARAMS 8

/* --- row readers and binders --------------------------------------------- */

/* The image in the 7 IMAGE_COLS columns from col, or NULL if absent. */
static struct store_image *read_image(struct arena *a, const PGresult *r,
                                      int row, int col)
{
    struct store_image *img;

    if (PQgetisnull(r, row, col))
        return NULL;
    img = arena_zalloc(a, sizeof *img);
    img->id = pg_col_int(r, row, col);
    img->name = pg_col_text(a, r, row, col + 1);
    img->width = (unsigned)pg_col_int(r, row, col + 2);
    img->height = (unsigned)pg_col_int(r, row, col + 3);
    img->widths = pg_col_text(a, r, row, col + 4);
    img->formats = pg_col_text(a, r, row, col + 5);
    img->alt = pg_col_text(a, r, row, col + 6);
    return img;
}

static void image_row(struct arena *a, const PGresult *r, int row, void *item)
{
    struct store_image *img = read_image(a, r, row, 0);

    if (img)
        *(struct store_image *)item = *img;
}

typedef void (*bind_fn)(struct pg_params *p, const void *obj);

static void bind_image(struct pg_params *p, const void *obj)
{
    const struct store_image *img = obj;

    pg_param_text(p, 2, img->name);
    pg_param_int(p, 3, img->width);
    pg_param_int(p, 4, img->height);
    pg_param_text_or(p, 5, img->widths, "");
    pg_param_text_or(p, 6, img->formats, "");
    pg_param_int(p, 7, (int64_t)time(NULL));
    pg_param_text(p, 8, img->alt);
}

/* AUTHOR_COLS starting at column col. */
static void read_author(struct arena *a, const PGresult *r, int row, int col,
                        struct store_author *au)
{
    au->id = pg_col_int(r, row, col);
    au->slug = pg_col_text(a, r, row, col + 1);
    au->name = pg_col_text(a, r, row, col + 2);
    au->role = pg_col_text(a, r, row, col + 3);
    au->email = pg_col_text(a, r, row, col + 4);
    au->location = pg_col_text(a, r, row, col + 5);
    au->bio = pg_col_text(a, r, row, col + 6);
    au->avatar_id = pg_col_int(r, row, col + 7);
    au->avatar = read_image(a, r, row, col + COL_AUTHOR_IMAGE);
}

static void author_row(struct arena *a, const PGresult *r, int row, void *item)
{
    read_author(a, r, row, 0, item);
}

static void bind_author(struct pg_params *p, const void *obj)
{
    const struct store_author *au = obj;

    pg_param_text(p, 2, au->slug);
    pg_param_text(p, 3, au->name);
    pg_param_text(p, 4, au->role);
    pg_param_text(p, 5, au->email);
    pg_param_text(p, 6, au->location);
    pg_param_text(p, 7, au->bio);
    pg_param_ref(p, 8, au->avatar_id);
}

/* TAG_COLS starting at column col. */
static void read_tag(struct arena *a, const PGresult *r, int row, int col,
                     struct store_tag *t)
{
    t->id = pg_col_int(r, row, col);
    t->slug = pg_col_text(a, r, row, col + 1);
    t->name = pg_col_text(a, r, row, col + 2);
    t->description = pg_col_text(a, r, row, col + 3);
    t->kind = strcmp(PQgetvalue(r, row, col + 4), "section") == 0
                  ? STORE_TAG_SECTION
                  : STORE_TAG_TAG;
    t->position = (unsigned)pg_col_int(r, row, col + 5);
}

static void tag_row(struct arena *a, const PGresult *r, int row, void *item)
{
    read_tag(a, r, row, 0, item);
}

static void bind_tag(struct pg_params *p, const void *obj)
{
    const struct store_tag *t = obj;

    pg_param_text(p, 2, t->slug);
    pg_param_text(p, 3, t->name);
    pg_param_text(p, 4, t->description);
    pg_param_text(p, 5, store_sql_kind_name((int)t->kind));
    pg_param_int(p, 6, t->position);
}

/* POST_COLS (and POST_BODY_COLS when body) of one row. */
static void read_post(struct arena *a, const PGresult *r, int row,
                      struct store_post *p, int body)
{
    const char *status = PQgetvalue(r, row, 8);

    p->id = pg_col_int(r, row, 0);
    p->slug = pg_col_text(a, r, row, 1);
    p->title = pg_col_text(a, r, row, 2);
    p->standfirst = pg_col_text(a, r, row, 3);
    p->excerpt = pg_col_text(a, r, row, 4);
    p->meta_title = pg_col_text(a, r, row, 5);
    p->meta_description = pg_col_text(a, r, row, 6);
    p->language = pg_col_text(a, r, row, 7);
    p->status = store_sql_status_parse(status);
    p->featured = pg_col_int(r, row, 9) != 0;
    p->pick_order = (unsigned)pg_col_int(r, row, 10);
    p->words = (unsigned)pg_col_int(r, row, 11);
    p->reading_minutes = (unsigned)pg_col_int(r, row, 12);
    p->feature_image_id = pg_col_int(r, row, 13);
    p->feature_alt = pg_col_text(a, r, row, 14);
    p->feature_caption = pg_col_text(a, r, row, 15);
    p->feature_credit = pg_col_text(a, r, row, 16);
    p->created_at = pg_col_int(r, row, 17);
    p->published_at = pg_col_int(r, row, 18);
    p->updated_at = pg_col_int(r, row, 19);
    p->feature_image = read_image(a, r, row, COL_POST_IMAGE);
    p->narration_off = pg_col_int(r, row, COL_POST_NARRATION_OFF) != 0;
    if (body) {
        p->markdown = pg_col_text(a, r, row, COL_POST_BODY);
        p->html = pg_col_text(a, r, row, COL_POST_BODY + 1);
        p->plaintext = pg_col_text(a, r, row, COL_POST_BODY + 2);
    }
}

static void post_row(struct arena *a, const PGresult *r, int row, void *item)
{
    read_post(a, r, row, item, 0);
}

static void post_body_row(struct arena *a, const PGresult *r, int row,
                          void *item)
{
    read_post(a, r, row, item, 1);
}

static void bind_post(struct pg_params *p, const void *obj)
{
    const struct store_post *po = obj;

    pg_param_text(p, 2, po->slug);
    pg_param_text(p, 3, po->title);
    pg_param_text(p, 4, po->standfirst);
    pg_param_text_or(p, 5, po->excerpt, "");
    pg_param_text(p, 6, po->meta_title);
    pg_param_text(p, 7, po->meta_description);
    pg_param_text_or(p, 8, po->language, "en");
    pg_param_text(p, 9, store_sql_status_name((int)po->status));
    pg_param_int(p, 10, po->featured ? 1 : 0);
    pg_param_int(p, 11, po->pick_order);
    pg_param_int(p, 12, po->words);
    pg_param_int(p, 13, po->reading_minutes);
    pg_param_ref(p, 14, po->feature_image_id);
    pg_param_text(p, 15, po->feature_alt);
    pg_param_text(p, 16, po->feature_caption);
    pg_param_text(p, 17, po->feature_credit);
    pg_param_int(p, 18, po->created_at);
    pg_param_int(p, 19, po->published_at);
    pg_param_int(p, 20, po->updated_at);
    pg_param_text_or(p, 21, po->markdown, "");
    pg_param_text_or(p, 22, po->html, "");
    pg_param_text_or(p, 23, po->plaintext, "");
    pg_param_int(p, 24, po->narration_off ? 1 : 0);
}

static void correction_row(struct arena *a, const PGresult *r, int row,
                           void *item)
{
    struct store_correction *c = item;

    c->id = pg_col_int(r, row, 0);
    c->post_id = pg_col_int(r, row, 1);
    c->at = pg_col_int(r, row, 2);
    c->text = pg_col_text(a, r, row, 3);
}

static void bind_correction(struct pg_params *p, const void *obj)
{
    const struct store_correction *c = obj;

    pg_param_int(p, 2, c->post_id);
    pg_param_int(p, 3, c->at);
    pg_param_text(p, 4, c->text);
}

/* LIVE_COLS from column col. */
static void read_live(struct arena *a, const PGresult *r, int row, int col,
                      struct store_live *lu)
{
    lu->id = pg_col_int(r, row, col);
    lu->at = pg_col_int(r, row, col + 1);
    lu->updated_at = pg_col_int(r, row, col + 2);
    lu->headline = pg_col_text(a, r, row, col + 3);
    lu->body = pg_col_text(a, r, row, col + 4);
    lu->html = pg_col_text(a, r, row, col + 5);
    lu->link_slug = pg_col_text(a, r, row, col + 6);
    lu->key = pg_col_int(r, row, col + 7) != 0;
}

static void live_row(struct arena *a, const PGresult *r, int row, void *item)
{
    read_live(a, r, row, 0, item);
}

static void bind_live(struct pg_params *p, const void *obj)
{
    const struct store_live *lu = obj;

    pg_param_int(p, 2, lu->at);
    pg_param_int(p, 3, lu->updated_at);
    pg_param_text(p, 4, lu->headline);
    pg_param_text_or(p, 5, lu->body, "");
    pg_param_text_or(p, 6, lu->html, "");
    pg_param_text(p, 7, lu->link_slug);
    pg_param_int(p, 8, lu->key ? 1 : 0);
}

static void live_event_row(struct arena *a, const PGresult *r, int row,
                           void *item)
{
    struct store_live_event *ev = item;
    const char *kind = PQgetvalue(r, row, 1);

    ev->seq = pg_col_int(r, row, 0);
    ev->kind = kind[0] == 'p'   ? STORE_LIVE_POST
               : kind[0] == 'e' ? STORE_LIVE_EDIT
                                : STORE_LIVE_DELETE;
    ev->live_id = pg_col_int(r, row, 2);
    ev->present = !PQgetisnull(r, row, 3);
    if (ev->present)
        read_live(a, r, row, 3, &ev->lu);
}

static void newsletter_row(struct arena *a, const PGresult *r, int row,
                           void *item)
{
    struct store_newsletter *nl = item;

    nl->id = pg_col_int(r, row, 0);
    nl->slug = pg_col_text(a, r, row, 1);
    nl->name = pg_col_text(a, r, row, 2);
    nl->description = pg_col_text(a, r, row, 3);
    nl->sender_name = pg_col_text(a, r, row, 4);
    nl->sender_email = pg_col_text(a, r, row, 5);
    nl->author_id = pg_col_int(r, row, 6);
    nl->active = pg_col_int(r, row, 7) != 0;
    nl->position = (unsigned)pg_col_int(r, row, 8);
}

static void bind_newsletter(struct pg_params *p, const void *obj)
{
    const struct store_newsletter *nl = obj;

    pg_param_text(p, 2, nl->slug);
    pg_param_text(p, 3, nl->name);
    pg_param_text_or(p, 4, nl->description, "");
    pg_param_text_or(p, 5, nl->sender_name, "");
    pg_param_text_or(p, 6, nl->sender_email, "");
    pg_param_ref(p, 7, nl->author_id);
    pg_param_int(p, 8, nl->active ? 1 : 0);
    pg_param_int(p, 9, nl->position);
}

static void staff_row(struct arena *a, const PGresult *r, int row, void *item)
{
    struct store_staff *sf = item;

    sf->id = pg_col_int(r, row, 0);
    sf->email = pg_col_text(a, r, row, 1);
    sf->name = pg_col_text(a, r, row, 2);
    sf->role = pg_col_text(a, r, row, 3);
    sf->password_hash = pg_col_text(a, r, row, 4);
    sf->author_id = pg_col_int(r, row, 5);
    sf->created_at = pg_col_int(r, row, 6);
    sf->disabled = pg_col_int(r, row, 7) != 0;
}

static void bind_staff(struct pg_params *p, const void *obj)
{
    const struct store_staff *sf = obj;

    pg_param_text(p, 2, sf->email);
    pg_param_text(p, 3, sf->name);
    pg_param_text(p, 4, sf->role);
    pg_param_text(p, 5, sf->password_hash);
    pg_param_ref(p, 6, sf->author_id);
    pg_param_int(p, 7, sf->created_at);
    pg_param_int(p, 8, sf->disabled ? 1 : 0);
}

/* --- generic writes ------------------------------------------------------ */

/* Inserts (*id == 0, then sets *id) or updates row *id of one table with
 * the ins/upd statement pair. No transaction of its own. */
static int row_save(struct store_pg_conn *c, enum store_sql_stmt ins,
                    enum store_sql_stmt upd, int64_t *id, bind_fn bind,
                    const void *obj, const char *what)
{
    struct pg_params p = {0};
    PGresult *res;
    int rc;

    bind(&p, obj);
    if (*id)
        pg_param_int(&p, 1, *id);
    rc = pg_exec(c, *id ? upd : ins, &p, &res, what);
    if (rc != 0)
        return rc;
    if (!*id)
        *id = PQntuples(res) == 1 ? pg_col_int(res, 0, 0) : 0;
    else if (strcmp(PQcmdTuples(res), "0") == 0)
        rc = STORE_NOTFOUND;
    if (!*id) {
        log_error("cannot %s: no id returned", what);
        rc = STORE_ERROR;
    }
    PQclear(res);
    return rc;
}

/* row_save in a write transaction of its own; *id changes only on success. */
static int save_one(struct store *st, enum store_sql_stmt ins,
                    enum store_sql_stmt upd, int64_t *id, bind_fn bind,
                    const void *obj, const char *what)
{
    struct store_pg_conn *c = pg_conn_get(pg_of(st));
    int64_t newid = *id;
    int rc;

    if (!c)
        return STORE_ERROR;
    rc = pg_write_begin(c);
    if (rc != 0)
        return rc;
    rc = pg_write_end(c, row_save(c, ins, upd, &newid, bind, obj, what));
    if (rc == 0)
        *id = newid;
    return rc;
}

/* Replaces the (post, other, position) rows of a link table. */
static int links_save(struct store_pg_conn *c, enum store_sql_stmt del,
                      enum store_sql_stmt add, int64_t post_id,
                      const int64_t *ids, size_t n, const char *what)
{
    struct pg_params p = {0};
    int rc;

    pg_param_int(&p, 1, post_id);
    rc = pg_run(c, del, &p, what);
    for (size_t i = 0; i < n && rc == 0; i++) {
        pg_param_int(&p, 2, ids[i]);
        pg_param_int(&p, 3, (int64_t)i);
        rc = pg_run(c, add, &p, what);
    }
    return rc;
}

/* --- settings ------------------------------------------------------------ */

const char *pg_setting_get(struct store *st, struct arena *a, const char *key)
{
    struct store_pg_conn *c = pg_conn_get(pg_of(st));
    struct pg_params p = {0};
    const char *value = NULL;
    PGresult *res;

    if (!c || !key)
        return NULL;
    pg_param_text(&p, 1, key);
    if (pg_exec(c, S_SETTING_GET, &p, &res, "read setting") == 0 &&
        PQntuples(res) == 1)
        value = pg_col_text(a, res, 0, 0);
    PQclear(res);
    return value;
}

int pg_setting_set(struct store *st, const char *key, const char *value)
{
    struct store_pg_conn *c = pg_conn_get(pg_of(st));
    struct pg_params p = {0};
    int rc;

    if (!c)
        return STORE_ERROR;
    rc = pg_write_begin(c);
    if (rc != 0)
        return rc;
    pg_param_text(&p, 1, key);
    if (value)
        pg_param_text(&p, 2, value);
    rc = pg_run(c, value ? S_SETTING_SET : S_SETTING_DEL, &p, "save setting");
    return pg_write_end(c, rc);
}

/* --- posts --------------------------------------------------------------- */

int pg_post_save(struct store *st, struct store_post *p,
                 const int64_t *author_ids, size_t n_authors,
                 const int64_t *tag_ids, size_t n_tags)
{
    struct store_pg_conn *c = pg_conn_get(pg_of(st));
    struct store_post row = *p;
    int64_t id = p->id;
    int rc;

    if (!c)
        return STORE_ERROR;
    if (!id && !row.created_at)
        row.created_at = (int64_t)time(NULL);
    rc = pg_write_begin(c);
    if (rc != 0)
        return rc;
    rc = row_save(c, S_POST_INSERT, S_POST_UPDATE, &id, bind_post, &row,
                  "save post");
    if (rc == 0)
        rc = links_save(c, S_POST_AUTHORS_DEL, S_POST_AUTHOR_ADD, id,
                        author_ids, n_authors, "save post authors");
    if (rc == 0)
        rc = links_save(c, S_POST_TAGS_DEL, S_POST_TAG_ADD, id, tag_ids, n_tags,
                        "save post tags");
    rc = pg_write_end(c, rc);
    if (rc == 0) {
        if (!p->id)
            p->created_at = row.created_at;
        p->id = id;
    }
    return rc;
}

/* Reads the authors (tags == 0) or tags of posts[0..n) with statement id,
 * whose rows come grouped by post in the order of the ids array. */
static int links_read(struct store_pg_conn *c, struct arena *a,
                      enum store_sql_stmt id, const char *ids,
                      struct store_post *posts, size_t n, int tags)
{
    struct pg_params p = {0};
    PGresult *res;
    size_t k = 0, *count, size;
    unsigned char *items;
    int rows, rc;

    pg_param_text(&p, 1, ids);
    rc =
        pg_exec(c, id, &p, &res, tags ? "read post tags" : "read post authors");
    if (rc != 0)
        return rc;
    rows = PQntuples(res);
    size = tags ? sizeof(struct store_tag) : sizeof(struct store_author);
    items = rows ? arena_zalloc(a, (size_t)rows * size) : NULL;
    for (int i = 0; i < rows; i++) {
        int64_t pid = pg_col_int(res, i, 0);
        void *item = items + (size_t)i * size;
        while (k < n && posts[k].id != pid)
            k++;
        if (k == n)
            break;
        if (tags) {
            read_tag(a, res, i, 1, item);
            count = &posts[k].ntags;
            if (!*count)
                posts[k].tags = item;
        } else {
            read_author(a, res, i, 1, item);
            count = &posts[k].nauthors;
            if (!*count)
                posts[k].authors = item;
        }
        ++*count;
    }
    PQclear(res);
    return 0;
}

/* Fills authors, tags of posts[0..n) (feature images come with the row).
 * Two queries for the whole batch, keyed by an array of ids. */
static int links_fill(struct store_pg_conn *c, struct arena *a,
                      struct store_post *posts, size_t n)
{
    size_t room = n * 21 + 3, used = 1;
    char *ids = arena_alloc(a, room);
    int rc;

    ids[0] = '{';
    for (size_t i = 0; i < n; i++)
        used += (size_t)snprintf(ids + used, room - used, "%s%lld",
                                 i ? "," : "", (long long)posts[i].id);
    snprintf(ids + used, room - used, "}");
    rc = links_read(c, a, S_POSTS_AUTHORS, ids, posts, n, 0);
    if (rc == 0)
        rc = links_read(c, a, S_POSTS_TAGS, ids, posts, n, 1);
    return rc;
}

/* Shared with the search (store_*_search.c): read_post without body
 * and links_fill, under the names the backend's header gives. */
void pg_post_read(struct arena *a, const PGresult *r, int row,
                  struct store_post *p)
{
    read_post(a, r, row, p, 0);
}

int pg_posts_links_fill(struct store_pg_conn *c, struct arena *a,
                        struct store_post *posts, size_t n)
{
    return links_fill(c, a, posts, n);
}

/* One post by slug (slug != NULL) or id, with everything. */
static int post_get(struct store *st, struct arena *a, const char *slug,
                    int64_t id, struct store_post *out)
{
    struct store_pg_conn *c = pg_conn_get(pg_of(st));
    struct pg_params p = {0};
    int rc;

    if (!c)
        return STORE_ERROR;
    rc = pg_read_begin(c);
    if (rc != 0)
        return rc;
    if (slug)
        pg_param_text(&p, 1, slug);
    else
        pg_param_int(&p, 1, id);
    rc = pg_get_one(c, a, slug ? S_POST_BY_SLUG : S_POST_BY_ID, &p, sizeof *out,
                    post_body_row, out, "read post");
    if (rc == 0)
        rc = links_fill(c, a, out, 1);
    pg_read_end(c);
    return rc;
}

int pg_post_get_by_slug(struct store *st, struct arena *a, const char *slug,
                        struct store_post *out)
{
    if (!slug)
        return STORE_NOTFOUND;
    return post_get(st, a, slug, 0, out);
}

int pg_post_get(struct store *st, struct arena *a, int64_t id,
                struct store_post *out)
{
    return post_get(st, a, NULL, id, out);
}

/* The slot of the posts-list statement for a filter shape, prepared on
 * first use: the rows (with or without body) or, when count, the number
 * of rows. -1 (logged) if it cannot be prepared. */
static int list_stmt(struct store_pg_conn *c, unsigned shape, int body,
                     int count)
{
    int slot = count ? (int)SLOT_COUNT(shape) : (int)SLOT_LIST(shape, body);
    struct buf b;
    char *sql;
    int rc;

    if (c->prepared[slot])
        return slot;
    buf_init(&b, LIST_SQL_BYTES);
    if (count)
        buf_adds(&b, "SELECT count(*) FROM posts p WHERE true");
    else
        buf_printf(&b, "SELECT %s%s%s WHERE true", POST_COLS,
                   body ? POST_BODY_COLS : "", POST_FROM);
    for (int f = 0; f < F__MAX; f++)
        if (shape & (1u << f))
            buf_adds(&b, filter_sql[f]);
    if (!count) {
        if (shape & (1u << F_DESK_ORDER))
            buf_adds(&b, " ORDER BY p.created_at DESC, p.id DESC");
        else if (shape & (1u << F_PICKS))
            buf_adds(&b, " ORDER BY p.pick_order, p.published_at DESC, "
                         "p.id DESC");
        else
            buf_adds(&b, " ORDER BY p.published_at DESC, p.id DESC");
        buf_adds(&b, " LIMIT $6 OFFSET $7");
    }
    if (b.overflow) {
        log_error("cannot build posts query: longer than %d bytes",
                  LIST_SQL_BYTES);
        buf_release(&b);
        return -1;
    }
    sql = buf_steal(&b, NULL);
    rc = pg_prepare(c, slot, sql, LIST_TYPES);
    free(sql);
    return rc == 0 ? slot : -1;
}

/* The filter parameters of q that shape uses, then limit and offset. */
static void bind_query(struct pg_params *p, unsigned shape,
                       const struct store_post_query *q, size_t limit)
{
    if (shape & (1u << F_STATUS))
        pg_param_text(p, 1, store_sql_status_name(q->status));
    if (shape & (1u << F_TAG))
        pg_param_text(p, 2, q->tag_slug);
    if (shape & (1u << F_AUTHOR))
        pg_param_text(p, 3, q->author_slug);
    if (shape & (1u << F_BEFORE))
        pg_param_int(p, 4, q->published_before);
    if (shape & (1u << F_EXCLUDE))
        pg_param_text(p, 5, q->exclude_slug);
    if (shape & (1u << F_TITLE))
        pg_param_text(p, 8, q->title_search);
    pg_param_int(p, 6, pg_clamp64(limit));
    pg_param_int(p, 7, pg_clamp64(q->offset));
    p->n = LIST_PARAMS;
}

static unsigned query_shape(const struct store_post_query *q)
{
    unsigned shape = 0;

    if (q->status != -1)
        shape |= 1u << F_STATUS;
    if (q->tag_slug)
        shape |= 1u << F_TAG;
    if (q->author_slug)
        shape |= 1u << F_AUTHOR;
    if (q->featured_only)
        shape |= 1u << F_FEATURED;
    if (q->picks_only)
        shape |= 1u << F_PICKS;
    if (q->published_before)
        shape |= 1u << F_BEFORE;
    if (q->exclude_slug)
        shape |= 1u << F_EXCLUDE;
    if (q->title_search && *q->title_search)
        shape |= 1u << F_TITLE;
    if (q->desk_order)
        shape |= 1u << F_DESK_ORDER;
    return shape;
}

int pg_posts_list(struct store *st, struct arena *a,
                  const struct store_post_query *query, struct store_post **out,
                  size_t *n, size_t *total)
{
    static const struct store_post_query zero;
    const struct store_post_query *q = query ? query : &zero;
    struct store_pg_conn *c = pg_conn_get(pg_of(st));
    size_t limit = q->limit ? q->limit : LIST_LIMIT;
    unsigned shape = query_shape(q);
    struct pg_params p = {0};
    PGresult *res = NULL;
    int slot;
    void *rows = NULL;
    size_t nrows = 0;
    int rc;

    *out = NULL;
    *n = 0;
    if (!c)
        return STORE_ERROR;
    bind_query(&p, shape, q, limit);
    rc = pg_read_begin(c);
    if (rc != 0)
        return rc;
    slot = list_stmt(c, shape, q->with_body, 0);
    if (slot < 0) {
        rc = STORE_ERROR;
        goto out;
    }
    rc = pg_exec_slot(c, slot, &p, &res, "list posts");
    if (rc != 0)
        goto out;
    pg_read_rows(a, res, sizeof(struct store_post),
                 q->with_body ? post_body_row : post_row, &rows, &nrows);
    PQclear(res);
    res = NULL;
    if (nrows) {
        rc = links_fill(c, a, rows, nrows);
        if (rc != 0)
            goto out;
    }
    if (total && q->offset == 0 && nrows < limit) {
        *total = nrows; /* everything there is fitted on this page */
    } else if (total) {
        slot = list_stmt(c, shape, 0, 1);
        if (slot < 0) {
            rc = STORE_ERROR;
            goto out;
        }
        rc = pg_exec_slot(c, slot, &p, &res, "count posts");
        if (rc != 0)
            goto out;
        *total = (size_t)pg_col_int(res, 0, 0);
    }
    *out = rows;
    *n = nrows;
out:
    PQclear(res);
    pg_read_end(c);
    return rc;
}

int pg_correction_add(struct store *st, struct store_correction *cr)
{
    struct store_correction row = *cr;
    int64_t id = 0;
    int rc;

    if (!row.at)
        row.at = (int64_t)time(NULL);
    rc = save_one(st, S_CORRECTION_ADD, S_CORRECTION_ADD, &id, bind_correction,
                  &row, "add correction");
    if (rc == 0) {
        cr->id = id;
        cr->at = row.at;
    }
    return rc;
}

int pg_corrections_list(struct store *st, struct arena *a, int64_t post_id,
                        struct store_correction **out, size_t *n)
{
    struct store_pg_conn *c = pg_conn_get(pg_of(st));
    struct pg_params p = {0};

    *out = NULL;
    *n = 0;
    if (!c)
        return STORE_ERROR;
    pg_param_int(&p, 1, post_id);
    return pg_list(c, a, S_CORRECTIONS, &p, sizeof **out, correction_row,
                   (void **)out, n, "list corrections");
}

/* --- authors, tags, images ----------------------------------------------- */

int pg_author_save(struct store *st, struct store_author *au)
{
    return save_one(st, S_AUTHOR_INSERT, S_AUTHOR_UPDATE, &au->id, bind_author,
                    au, "save author");
}

/* One row by a text key into out, with statement id. */
static int get_by_text(struct store *st, struct arena *a,
                       enum store_sql_stmt id, const char *key, size_t size,
                       pg_row_fn row, void *out, const char *what)
{
    struct store_pg_conn *c = pg_conn_get(pg_of(st));
    struct pg_params p = {0};

    if (!c)
        return STORE_ERROR;
    if (!key)
        return STORE_NOTFOUND;
    pg_param_text(&p, 1, key);
    return pg_get_one(c, a, id, &p, size, row, out, what);
}

/* One row by an integer key into out, with statement id. */
static int get_by_id(struct store *st, struct arena *a, enum store_sql_stmt id,
                     int64_t key, size_t size, pg_row_fn row, void *out,
                     const char *what)
{
    struct store_pg_conn *c = pg_conn_get(pg_of(st));
    struct pg_params p = {0};

    if (!c)
        return STORE_ERROR;
    pg_param_int(&p, 1, key);
    return pg_get_one(c, a, id, &p, size, row, out, what);
}

int pg_author_get_by_slug(struct store *st, struct arena *a, const char *slug,
                          struct store_author *out)
{
    return get_by_text(st, a, S_AUTHOR_BY_SLUG, slug, sizeof *out, author_row,
                       out, "read author");
}

int pg_authors_list(struct store *st, struct arena *a,
                    struct store_author **out, size_t *n)
{
    struct store_pg_conn *c = pg_conn_get(pg_of(st));

    *out = NULL;
    *n = 0;
    if (!c)
        return STORE_ERROR;
    return pg_list(c, a, S_AUTHORS, NULL, sizeof **out, author_row,
                   (void **)out, n, "list authors");
}

int pg_tag_save(struct store *st, struct store_tag *t)
{
    return save_one(st, S_TAG_INSERT, S_TAG_UPDATE, &t->id, bind_tag, t,
                    "save tag");
}

int pg_tag_get_by_slug(struct store *st, struct arena *a, const char *slug,
                       struct store_tag *out)
{
    return get_by_text(st, a, S_TAG_BY_SLUG, slug, sizeof *out, tag_row, out,
                       "read tag");
}

int pg_tags_list(struct store *st, struct arena *a, int kind,
                 struct store_tag **out, size_t *n)
{
    struct store_pg_conn *c = pg_conn_get(pg_of(st));
    struct pg_params p = {0};

    *out = NULL;
    *n = 0;
    if (!c)
        return STORE_ERROR;
    if (kind != -1 && !store_sql_kind_name(kind)) {
        log_error("cannot list tags: unknown kind %d", kind);
        return STORE_ERROR;
    }
    pg_param_text(&p, 1, kind == -1 ? NULL : store_sql_kind_name(kind));
    return pg_list(c, a, S_TAGS, &p, sizeof **out, tag_row, (void **)out, n,
                   "list tags");
}

int pg_image_save(struct store *st, struct store_image *img)
{
    return save_one(st, S_IMAGE_INSERT, S_IMAGE_UPDATE, &img->id, bind_image,
                    img, "save image");
}

int pg_image_get(struct store *st, struct arena *a, int64_t id,
                 struct store_image *out)
{
    return get_by_id(st, a, S_IMAGE_GET, id, sizeof *out, image_row, out,
                     "read image");
}

int pg_image_get_by_name(struct store *st, struct arena *a, const char *name,
                         struct store_image *out)
{
    return get_by_text(st, a, S_IMAGE_BY_NAME, name, sizeof *out, image_row,
                       out, "read image");
}

/* --- live updates -------------------------------------------------------- */

int pg_live_save(struct store *st, struct store_live *lu)
{
    struct store_live row = *lu;
    int rc;

    if (!row.id && !row.at)
        row.at = (int64_t)time(NULL);
    rc = save_one(st, S_LIVE_INSERT, S_LIVE_UPDATE, &row.id, bind_live, &row,
                  "save live update");
    if (rc == 0) {
        lu->id = row.id;
        lu->at = row.at;
    }
    return rc;
}

int pg_live_delete(struct store *st, int64_t id)
{
    struct store_pg_conn *c = pg_conn_get(pg_of(st));
    struct pg_params p = {0};
    PGresult *res;
    int rc;

    if (!c)
        return STORE_ERROR;
    rc = pg_write_begin(c);
    if (rc != 0)
        return rc;
    pg_param_int(&p, 1, id);
    rc = pg_exec(c, S_LIVE_DELETE, &p, &res, "delete live update");
    if (rc == 0 && strcmp(PQcmdTuples(res), "0") == 0)
        rc = STORE_NOTFOUND;
    PQclear(res);
    return pg_write_end(c, rc);
}

int pg_live_list(struct store *st, struct arena *a, int64_t before,
                 size_t limit, struct store_live **out, size_t *n)
{
    struct store_pg_conn *c = pg_conn_get(pg_of(st));
    struct pg_params p = {0};

    *out = NULL;
    *n = 0;
    if (!c)
        return STORE_ERROR;
    pg_param_int(&p, 1, before);
    pg_param_int(&p, 2, pg_clamp64(limit ? limit : LIST_LIMIT));
    return pg_list(c, a, before ? S_LIVE_BEFORE : S_LIVE_LATEST, &p,
                   sizeof **out, live_row, (void **)out, n,
                   "list live updates");
}

int pg_live_get(struct store *st, struct arena *a, int64_t id,
                struct store_live *out)
{
    return get_by_id(st, a, S_LIVE_GET, id, sizeof *out, live_row, out,
                     "read live update");
}

int pg_live_events(struct store *st, struct arena *a, int64_t after,
                   size_t limit, struct store_live_event **out, size_t *n)
{
    struct store_pg_conn *c = pg_conn_get(pg_of(st));
    struct pg_params p = {0};

    *out = NULL;
    *n = 0;
    if (!c)
        return STORE_ERROR;
    pg_param_int(&p, 1, after);
    pg_param_int(&p, 2, pg_clamp64(limit ? limit : LIST_LIMIT));
    return pg_list(c, a, S_LIVE_EVENTS, &p, sizeof **out, live_event_row,
                   (void **)out, n, "list live events");
}

int64_t pg_live_last_seq(struct store *st)
{
    struct store_pg_conn *c = pg_conn_get(pg_of(st));

    return c ? pg_get_int(c, S_LIVE_LAST_SEQ, -1, "read live events") : -1;
}

/* --- newsletters --------------------------------------------------------- */

int pg_newsletter_save(struct store *st, struct store_newsletter *nl)
{
    return save_one(st, S_NEWSLETTER_INSERT, S_NEWSLETTER_UPDATE, &nl->id,
                    bind_newsletter, nl, "save newsletter");
}

int pg_newsletters_list(struct store *st, struct arena *a, int active_only,
                        struct store_newsletter **out, size_t *n)
{
    struct store_pg_conn *c = pg_conn_get(pg_of(st));
    struct pg_params p = {0};

    *out = NULL;
    *n = 0;
    if (!c)
        return STORE_ERROR;
    pg_param_int(&p, 1, active_only ? 1 : 0);
    return pg_list(c, a, S_NEWSLETTERS, &p, sizeof **out, newsletter_row,
                   (void **)out, n, "list newsletters");
}

/* --- staff ---------------------------------------------------------------- */

int pg_staff_save(struct store *st, struct store_staff *sf)
{
    return save_one(st, S_STAFF_INSERT, S_STAFF_UPDATE, &sf->id, bind_staff, sf,
                    "save staff");
}

int pg_staff_get_by_email(struct store *st, struct arena *a, const char *email,
                          struct store_staff *out)
{
    return get_by_text(st, a, S_STAFF_BY_EMAIL, email, sizeof *out, staff_row,
                       out, "read staff");
}

int pg_staff_get(struct store *st, struct arena *a, int64_t id,
                 struct store_staff *out)
{
    return get_by_id(st, a, S_STAFF_BY_ID, id, sizeof *out, staff_row, out,
                     "read staff");
}

int pg_staff_list(struct store *st, struct arena *a, struct store_staff **out,
                  size_t *n)
{
    struct store_pg_conn *c = pg_conn_get(pg_of(st));

    *out = NULL;
    *n = 0;
    if (!c)
        return STORE_ERROR;
    return pg_list(c, a, S_STAFF_LIST, NULL, sizeof **out, staff_row,
                   (void **)out, n, "list staff");
}

/* --- sitemaps ------------------------------------------------------------- */

/* A post's lastmod: max(updated_at, published_at). */
#define STAMP_LASTMOD                                                          \
    "CASE WHEN p.updated_at > p.published_at THEN p.updated_at "               \
    "ELSE p.published_at END"

/* Public at $1 (store.h, "sitemaps"). */
#define STAMP_PUBLIC "p.status = 'published' AND p.published_at <= $1::bigint"

static void post_stamp_row(struct arena *a, const PGresult *r, int i,
                           void *item)
{
    struct store_post_stamp *p = item;

    p->slug = pg_col_text(a, r, i, 0);
    p->title = pg_col_text(a, r, i, 1);
    p->language = pg_col_text(a, r, i, 2);
    p->image = pg_col_text(a, r, i, 3);
    p->image_widths = pg_col_text(a, r, i, 4);
    p->published_at = pg_col_int(r, i, 5);
    p->lastmod = pg_col_int(r, i, 6);
}

int pg_post_stamps(struct store *st, struct arena *a, int64_t now,
                   int64_t since, size_t offset, size_t limit,
                   struct store_post_stamp **out, size_t *n)
{
    struct pg_params p = {0};

    pg_param_int(&p, 1, now);
    pg_param_int(&p, 2, since);
    pg_param_int(&p, 3, pg_clamp64(limit ? limit : LIST_LIMIT));
    pg_param_int(&p, 4, pg_clamp64(offset));
    return pg_query_rows(
        st, a,
        "SELECT p.slug, p.title, p.language, i.name, i.widths, "
        "p.published_at, " STAMP_LASTMOD " FROM posts p "
        "LEFT JOIN images i ON i.id = p.feature_image_id "
        "WHERE " STAMP_PUBLIC " AND p.published_at >= $2::bigint "
        "ORDER BY p.published_at DESC, p.id DESC "
        "LIMIT $3::bigint OFFSET $4::bigint",
        &p, sizeof **out, post_stamp_row, (void **)out, n, "list post stamps");
}

static void lastmod_row(struct arena *a, const PGresult *r, int i, void *item)
{
    (void)a;
    *(int64_t *)item = pg_col_int(r, i, 1);
}

int pg_post_stamp_pages(struct store *st, struct arena *a, int64_t now,
                        size_t per, int64_t **lastmod, size_t *npages)
{
    struct pg_params p = {0};

    pg_param_int(&p, 1, now);
    pg_param_int(&p, 2, pg_clamp64(per ? per : 1));
    return pg_query_rows(st, a,
                         "SELECT k, max(m) FROM (SELECT (row_number() OVER "
                         "(ORDER BY p.published_at DESC, p.id DESC) - 1) / "
                         "$2::bigint AS k, " STAMP_LASTMOD
                         " AS m FROM posts p WHERE " STAMP_PUBLIC ") s "
                         "GROUP BY k ORDER BY k",
                         &p, sizeof **lastmod, lastmod_row, (void **)lastmod,
                         npages, "count post stamp pages");
}

static void archive_stamp_row(struct arena *a, const PGresult *r, int i,
                              void *item)
{
    struct store_archive_stamp *t = item;

    t->kind = (enum store_archive_kind)pg_col_int(r, i, 0);
    t->slug = pg_col_text(a, r, i, 1);
    t->lastmod = pg_col_int(r, i, 2);
}

int pg_archive_stamps(struct store *st, struct arena *a, int64_t now,
                      struct store_archive_stamp **out, size_t *n)
{
    struct pg_params p = {0};

    pg_param_int(&p, 1, now);
    /* COLLATE "C": slugs in byte order, as SQLite sorts them */
    return pg_query_rows(
        st, a,
        "SELECT kind, slug, m FROM ("
        "SELECT 0 AS kind, au.slug AS slug, max(" STAMP_LASTMOD ") AS m "
        "FROM authors au JOIN post_authors pa ON pa.author_id = au.id "
        "JOIN posts p ON p.id = pa.post_id WHERE " STAMP_PUBLIC " "
        "GROUP BY au.id, au.slug "
        "UNION ALL "
        "SELECT CASE t.kind WHEN 'section' THEN 1 ELSE 2 END, t.slug, "
        "max(" STAMP_LASTMOD ") "
        "FROM tags t JOIN post_tags pt ON pt.tag_id = t.id "
        "JOIN posts p ON p.id = pt.post_id WHERE " STAMP_PUBLIC " "
        "GROUP BY t.id, t.slug, t.kind) s "
        "ORDER BY kind, slug COLLATE \"C\"",
        &p, sizeof **out, archive_stamp_row, (void **)out, n,
        "list archive stamps");
}
