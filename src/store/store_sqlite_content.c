/*
 * store_sqlite_content.c - the SQLite backend's content operations:
 * settings, posts (with their authors and tags, and the posts list),
 * corrections, authors, tags, images, live updates and newsletters.
 *
 * Each operation has the contract of its store.h function; the row
 * readers and binders here map table columns to the store.h structs.
 * Connections, statements and transactions come from store_sqlite.c
 * (store_sqlite.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/log.h"
#include "store/store_sqlite.h"

/* Parameters: ?1 status, ?2 tag, ?3 author, ?4 before, ?5 exclude,
 * ?6 limit, ?7 offset, ?8 title search. F_TITLE: instr() matches the text
 * literally (no LIKE wildcards) and SQLite's lower() folds ASCII only. */
static const char *const filter_sql[F__MAX] = {
    [F_STATUS] = " AND p.status = ?1",
    [F_TAG] = " AND p.id IN (SELECT pt.post_id FROM post_tags pt "
              "JOIN tags t ON t.id = pt.tag_id WHERE t.slug = ?2)",
    [F_AUTHOR] = " AND p.id IN (SELECT pa.post_id FROM post_authors pa "
                 "JOIN authors au ON au.id = pa.author_id "
                 "WHERE au.slug = ?3)",
    [F_FEATURED] = " AND p.featured = 1",
    [F_PICKS] = " AND p.pick_order > 0",
    [F_BEFORE] = " AND p.published_at <= ?4",
    [F_EXCLUDE] = " AND p.slug <> ?5",
    [F_TITLE] = " AND instr(lower(p.title), lower(?8)) > 0",
    [F_DESK_ORDER] = "",
};

/* --- row readers and binders --------------------------------------------- */

/* The image in the NIMAGE_COLS columns from col, or NULL if absent. */
static struct store_image *read_image(struct arena *a, sqlite3_stmt *st,
                                      int col)
{
    struct store_image *img;

    if (sqlite3_column_type(st, col) == SQLITE_NULL)
        return NULL;
    img = arena_zalloc(a, sizeof *img);
    img->id = sq_col_int(st, col);
    img->name = sq_col_text(a, st, col + 1);
    img->width = (unsigned)sq_col_int(st, col + 2);
    img->height = (unsigned)sq_col_int(st, col + 3);
    img->widths = sq_col_text(a, st, col + 4);
    img->formats = sq_col_text(a, st, col + 5);
    img->alt = sq_col_text(a, st, col + 6);
    return img;
}

static void image_row(struct arena *a, sqlite3_stmt *st, void *item)
{
    struct store_image *img = read_image(a, st, 0);

    if (img)
        *(struct store_image *)item = *img;
}

static int bind_image(sqlite3_stmt *st, const void *obj)
{
    const struct store_image *img = obj;

    return sq_bind_text(st, 2, img->name) | sq_bind_int(st, 3, img->width) |
           sq_bind_int(st, 4, img->height) |
           sq_bind_text_or(st, 5, img->widths, "") |
           sq_bind_text_or(st, 6, img->formats, "") |
           sq_bind_int(st, 7, (int64_t)time(NULL)) |
           sq_bind_text(st, 8, img->alt);
}

/* AUTHOR_COLS starting at column col. */
static void read_author(struct arena *a, sqlite3_stmt *st, int col,
                        struct store_author *au)
{
    au->id = sq_col_int(st, col);
    au->slug = sq_col_text(a, st, col + 1);
    au->name = sq_col_text(a, st, col + 2);
    au->role = sq_col_text(a, st, col + 3);
    au->email = sq_col_text(a, st, col + 4);
    au->location = sq_col_text(a, st, col + 5);
    au->bio = sq_col_text(a, st, col + 6);
    au->avatar_id = sq_col_int(st, col + 7);
    au->avatar = read_image(a, st, col + COL_AUTHOR_IMAGE);
}

static void author_row(struct arena *a, sqlite3_stmt *st, void *item)
{
    read_author(a, st, 0, item);
}

static int bind_author(sqlite3_stmt *st, const void *obj)
{
    const struct store_author *au = obj;

    return sq_bind_text(st, 2, au->slug) | sq_bind_text(st, 3, au->name) |
           sq_bind_text(st, 4, au->role) | sq_bind_text(st, 5, au->email) |
           sq_bind_text(st, 6, au->location) | sq_bind_text(st, 7, au->bio) |
           sq_bind_ref(st, 8, au->avatar_id);
}

/* TAG_COLS starting at column col. */
static void read_tag(struct arena *a, sqlite3_stmt *st, int col,
                     struct store_tag *t)
{
    const unsigned char *kind = sqlite3_column_text(st, col + 4);

    t->id = sq_col_int(st, col);
    t->slug = sq_col_text(a, st, col + 1);
    t->name = sq_col_text(a, st, col + 2);
    t->description = sq_col_text(a, st, col + 3);
    t->kind = kind && strcmp((const char *)kind, "section") == 0
                  ? STORE_TAG_SECTION
                  : STORE_TAG_TAG;
    t->position = (unsigned)sq_col_int(st, col + 5);
}

static void tag_row(struct arena *a, sqlite3_stmt *st, void *item)
{
    read_tag(a, st, 0, item);
}

static int bind_tag(sqlite3_stmt *st, const void *obj)
{
    const struct store_tag *t = obj;

    return sq_bind_text(st, 2, t->slug) | sq_bind_text(st, 3, t->name) |
           sq_bind_text(st, 4, t->description) |
           sq_bind_text(st, 5, store_sql_kind_name((int)t->kind)) |
           sq_bind_int(st, 6, t->position);
}

/* POST_COLS (and POST_BODY_COLS when body) of the current row. */
static void read_post(struct arena *a, sqlite3_stmt *st, struct store_post *p,
                      int body)
{
    const unsigned char *status = sqlite3_column_text(st, 8);

    p->id = sq_col_int(st, 0);
    p->slug = sq_col_text(a, st, 1);
    p->title = sq_col_text(a, st, 2);
    p->standfirst = sq_col_text(a, st, 3);
    p->excerpt = sq_col_text(a, st, 4);
    p->meta_title = sq_col_text(a, st, 5);
    p->meta_description = sq_col_text(a, st, 6);
    p->language = sq_col_text(a, st, 7);
    p->status = store_sql_status_parse((const char *)status);
    p->featured = sq_col_int(st, 9) != 0;
    p->pick_order = (unsigned)sq_col_int(st, 10);
    p->words = (unsigned)sq_col_int(st, 11);
    p->reading_minutes = (unsigned)sq_col_int(st, 12);
    p->feature_image_id = sq_col_int(st, 13);
    p->feature_alt = sq_col_text(a, st, 14);
    p->feature_caption = sq_col_text(a, st, 15);
    p->feature_credit = sq_col_text(a, st, 16);
    p->created_at = sq_col_int(st, 17);
    p->published_at = sq_col_int(st, 18);
    p->updated_at = sq_col_int(st, 19);
    p->feature_image = read_image(a, st, COL_POST_IMAGE);
    p->narration_off = sq_col_int(st, COL_POST_NARRATION_OFF) != 0;
    if (body) {
        p->markdown = sq_col_text(a, st, COL_POST_BODY);
        p->html = sq_col_text(a, st, COL_POST_BODY + 1);
        p->plaintext = sq_col_text(a, st, COL_POST_BODY + 2);
    }
}

static void post_row(struct arena *a, sqlite3_stmt *st, void *item)
{
    read_post(a, st, item, 0);
}

static void post_body_row(struct arena *a, sqlite3_stmt *st, void *item)
{
    read_post(a, st, item, 1);
}

static int bind_post(sqlite3_stmt *st, const void *obj)
{
    const struct store_post *p = obj;

    return sq_bind_text(st, 2, p->slug) | sq_bind_text(st, 3, p->title) |
           sq_bind_text(st, 4, p->standfirst) |
           sq_bind_text_or(st, 5, p->excerpt, "") |
           sq_bind_text(st, 6, p->meta_title) |
           sq_bind_text(st, 7, p->meta_description) |
           sq_bind_text_or(st, 8, p->language, "en") |
           sq_bind_text(st, 9, store_sql_status_name((int)p->status)) |
           sq_bind_int(st, 10, p->featured ? 1 : 0) |
           sq_bind_int(st, 11, p->pick_order) | sq_bind_int(st, 12, p->words) |
           sq_bind_int(st, 13, p->reading_minutes) |
           sq_bind_ref(st, 14, p->feature_image_id) |
           sq_bind_text(st, 15, p->feature_alt) |
           sq_bind_text(st, 16, p->feature_caption) |
           sq_bind_text(st, 17, p->feature_credit) |
           sq_bind_int(st, 18, p->created_at) |
           sq_bind_int(st, 19, p->published_at) |
           sq_bind_int(st, 20, p->updated_at) |
           sq_bind_text_or(st, 21, p->markdown, "") |
           sq_bind_text_or(st, 22, p->html, "") |
           sq_bind_text_or(st, 23, p->plaintext, "") |
           sq_bind_int(st, 24, p->narration_off ? 1 : 0);
}

static void correction_row(struct arena *a, sqlite3_stmt *st, void *item)
{
    struct store_correction *c = item;

    c->id = sq_col_int(st, 0);
    c->post_id = sq_col_int(st, 1);
    c->at = sq_col_int(st, 2);
    c->text = sq_col_text(a, st, 3);
}

static int bind_correction(sqlite3_stmt *st, const void *obj)
{
    const struct store_correction *c = obj;

    return sq_bind_int(st, 2, c->post_id) | sq_bind_int(st, 3, c->at) |
           sq_bind_text(st, 4, c->text);
}

static void live_row(struct arena *a, sqlite3_stmt *st, void *item)
{
    struct store_live *lu = item;

    lu->id = sq_col_int(st, 0);
    lu->at = sq_col_int(st, 1);
    lu->updated_at = sq_col_int(st, 2);
    lu->headline = sq_col_text(a, st, 3);
    lu->body = sq_col_text(a, st, 4);
    lu->html = sq_col_text(a, st, 5);
    lu->link_slug = sq_col_text(a, st, 6);
    lu->key = sq_col_int(st, 7) != 0;
}

static int bind_live(sqlite3_stmt *st, const void *obj)
{
    const struct store_live *lu = obj;

    return sq_bind_int(st, 2, lu->at) | sq_bind_int(st, 3, lu->updated_at) |
           sq_bind_text(st, 4, lu->headline) |
           sq_bind_text_or(st, 5, lu->body, "") |
           sq_bind_text_or(st, 6, lu->html, "") |
           sq_bind_text(st, 7, lu->link_slug) |
           sq_bind_int(st, 8, lu->key ? 1 : 0);
}

static void newsletter_row(struct arena *a, sqlite3_stmt *st, void *item)
{
    struct store_newsletter *nl = item;

    nl->id = sq_col_int(st, 0);
    nl->slug = sq_col_text(a, st, 1);
    nl->name = sq_col_text(a, st, 2);
    nl->description = sq_col_text(a, st, 3);
    nl->sender_name = sq_col_text(a, st, 4);
    nl->sender_email = sq_col_text(a, st, 5);
    nl->author_id = sq_col_int(st, 6);
    nl->active = sq_col_int(st, 7) != 0;
    nl->position = (unsigned)sq_col_int(st, 8);
}

static int bind_newsletter(sqlite3_stmt *st, const void *obj)
{
    const struct store_newsletter *nl = obj;

    return sq_bind_text(st, 2, nl->slug) | sq_bind_text(st, 3, nl->name) |
           sq_bind_text_or(st, 4, nl->description, "") |
           sq_bind_text_or(st, 5, nl->sender_name, "") |
           sq_bind_text_or(st, 6, nl->sender_email, "") |
           sq_bind_ref(st, 7, nl->author_id) |
           sq_bind_int(st, 8, nl->active ? 1 : 0) |
           sq_bind_int(st, 9, nl->position);
}

static void staff_row(struct arena *a, sqlite3_stmt *st, void *item)
{
    struct store_staff *sf = item;

    sf->id = sq_col_int(st, 0);
    sf->email = sq_col_text(a, st, 1);
    sf->name = sq_col_text(a, st, 2);
    sf->role = sq_col_text(a, st, 3);
    sf->password_hash = sq_col_text(a, st, 4);
    sf->author_id = sq_col_int(st, 5);
    sf->created_at = sq_col_int(st, 6);
    sf->disabled = sq_col_int(st, 7) != 0;
}

static int bind_staff(sqlite3_stmt *st, const void *obj)
{
    const struct store_staff *sf = obj;

    return sq_bind_text(st, 2, sf->email) | sq_bind_text(st, 3, sf->name) |
           sq_bind_text(st, 4, sf->role) |
           sq_bind_text(st, 5, sf->password_hash) |
           sq_bind_ref(st, 6, sf->author_id) |
           sq_bind_int(st, 7, sf->created_at) |
           sq_bind_int(st, 8, sf->disabled ? 1 : 0);
}

/* --- generic writes ------------------------------------------------------ */

typedef int (*bind_fn)(sqlite3_stmt *st, const void *obj);

/* Inserts (*id == 0, then sets *id) or updates row *id of one table with
 * the ins/upd statement pair. No transaction of its own. */
static int row_save(struct sq_conn *c, enum store_sql_stmt ins,
                    enum store_sql_stmt upd, int64_t *id, bind_fn bind,
                    const void *obj, const char *what)
{
    sqlite3_stmt *st = sq_stmt(c, *id ? upd : ins);
    int rc = STORE_ERROR;

    if (!st)
        return STORE_ERROR;
    if (bind(st, obj) != SQLITE_OK ||
        (*id && sqlite3_bind_int64(st, 1, *id) != SQLITE_OK)) {
        rc = sq_fail(c, what);
        goto out;
    }
    rc = sq_step_all(c, st, what);
    if (rc != 0)
        goto out;
    if (!*id)
        *id = sqlite3_last_insert_rowid(c->db);
    else if (sqlite3_changes(c->db) == 0)
        rc = STORE_NOTFOUND;
out:
    sq_finish(st);
    return rc;
}

/* row_save in a write transaction of its own; *id changes only on success. */
static int save_one(struct store *st, enum store_sql_stmt ins,
                    enum store_sql_stmt upd, int64_t *id, bind_fn bind,
                    const void *obj, const char *what)
{
    struct sq_conn *c = sq_conn_get(sq_of(st));
    int64_t newid = *id;
    int rc;

    if (!c)
        return STORE_ERROR;
    rc = sq_write_begin(c);
    if (rc != 0)
        return rc;
    rc = sq_write_end(c, row_save(c, ins, upd, &newid, bind, obj, what));
    if (rc == 0)
        *id = newid;
    return rc;
}

/* Replaces the (post, other, position) rows of a link table. */
static int links_save(struct sq_conn *c, enum store_sql_stmt del,
                      enum store_sql_stmt add, int64_t post_id,
                      const int64_t *ids, size_t n, const char *what)
{
    sqlite3_stmt *st = sq_stmt(c, del);
    int rc;

    if (!st)
        return STORE_ERROR;
    sqlite3_bind_int64(st, 1, post_id);
    rc = sq_step_all(c, st, what);
    sq_finish(st);
    if (rc != 0)
        return rc;
    st = sq_stmt(c, add);
    if (!st)
        return STORE_ERROR;
    for (size_t i = 0; i < n && rc == 0; i++) {
        sqlite3_bind_int64(st, 1, post_id);
        sqlite3_bind_int64(st, 2, ids[i]);
        sqlite3_bind_int64(st, 3, (int64_t)i);
        rc = sq_step_all(c, st, what);
        sq_finish(st);
    }
    return rc;
}

/* --- settings ------------------------------------------------------------ */

const char *sq_setting_get(struct store *st, struct arena *a, const char *key)
{
    struct sq_conn *c = sq_conn_get(sq_of(st));
    sqlite3_stmt *s;
    const char *value = NULL;
    int rc;

    if (!c)
        return NULL;
    s = sq_stmt(c, S_SETTING_GET);
    if (!s)
        return NULL;
    sq_bind_text(s, 1, key);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        value = sq_col_text(a, s, 0);
    else if (rc != SQLITE_DONE)
        sq_fail(c, "read setting");
    sq_finish(s);
    return value;
}

int sq_setting_set(struct store *st, const char *key, const char *value)
{
    struct sq_conn *c = sq_conn_get(sq_of(st));
    sqlite3_stmt *s;
    int rc;

    if (!c)
        return STORE_ERROR;
    rc = sq_write_begin(c);
    if (rc != 0)
        return rc;
    s = sq_stmt(c, value ? S_SETTING_SET : S_SETTING_DEL);
    if (!s) {
        rc = STORE_ERROR;
    } else {
        sq_bind_text(s, 1, key);
        if (value)
            sq_bind_text(s, 2, value);
        rc = sq_step_all(c, s, "save setting");
        sq_finish(s);
    }
    return sq_write_end(c, rc);
}

/* --- posts --------------------------------------------------------------- */

int sq_post_save(struct store *st, struct store_post *p,
                 const int64_t *author_ids, size_t n_authors,
                 const int64_t *tag_ids, size_t n_tags)
{
    struct sq_conn *c = sq_conn_get(sq_of(st));
    struct store_post row = *p;
    int64_t id = p->id;
    int rc;

    if (!c)
        return STORE_ERROR;
    if (!id && !row.created_at)
        row.created_at = (int64_t)time(NULL);
    rc = sq_write_begin(c);
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
    rc = sq_write_end(c, rc);
    if (rc == 0) {
        if (!p->id)
            p->created_at = row.created_at;
        p->id = id;
    }
    return rc;
}

/* Reads the authors (tags = 0) or tags (tags = 1) of posts[0..n) from
 * statement id, keyed by ids, into one arena array per call; each post
 * points at its run of it. 0 or a sq_fail() code. */
static int links_read(struct sq_conn *c, struct arena *a,
                      enum store_sql_stmt id, const char *ids,
                      struct store_post *posts, size_t n, int tags)
{
    size_t size = tags ? sizeof(struct store_tag) : sizeof(struct store_author);
    size_t *start = arena_zalloc(a, n * sizeof *start);
    size_t k = 0, total = 0, cap = 0, *count;
    unsigned char *items = NULL;
    sqlite3_stmt *st = sq_stmt(c, id);
    int rc = STORE_ERROR;

    if (!st)
        goto out;
    sq_bind_text(st, 1, ids);
    /* Rows arrive grouped by post, in the posts' order. */
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t pid = sq_col_int(st, 0);
        void *item;

        while (k < n && posts[k].id != pid)
            k++;
        if (k == n)
            break;
        count = tags ? &posts[k].ntags : &posts[k].nauthors;
        if (!*count)
            start[k] = total;
        items = sq_grow(a, items, total, &cap, size);
        item = items + total++ * size;
        memset(item, 0, size);
        if (tags)
            read_tag(a, st, 1, item);
        else
            read_author(a, st, 1, item);
        ++*count;
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        rc = sq_fail(c, tags ? "read post tags" : "read post authors");
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        size_t have = tags ? posts[i].ntags : posts[i].nauthors;
        void *first = have ? items + start[i] * size : NULL;

        if (tags)
            posts[i].tags = first;
        else
            posts[i].authors = first;
    }
    rc = 0;
out:
    sq_finish(st);
    return rc;
}

/* Fills authors, tags of posts[0..n) (feature images come with the row).
 * Two queries for the whole batch, keyed by a JSON array of ids. */
static int links_fill(struct sq_conn *c, struct arena *a,
                      struct store_post *posts, size_t n)
{
    size_t room = n * 21 + 3, used = 1;
    char *ids = arena_alloc(a, room);
    int rc;

    ids[0] = '[';
    for (size_t i = 0; i < n; i++)
        used += (size_t)snprintf(ids + used, room - used, "%s%lld",
                                 i ? "," : "", (long long)posts[i].id);
    snprintf(ids + used, room - used, "]");
    rc = links_read(c, a, S_POSTS_AUTHORS, ids, posts, n, 0);
    if (rc == 0)
        rc = links_read(c, a, S_POSTS_TAGS, ids, posts, n, 1);
    return rc;
}

/* Shared with the search (store_*_search.c): read_post without body
 * and links_fill, under the names the backend's header gives. */
void sq_post_read(struct arena *a, sqlite3_stmt *st, struct store_post *p)
{
    read_post(a, st, p, 0);
}

int sq_posts_links_fill(struct sq_conn *c, struct arena *a,
                        struct store_post *posts, size_t n)
{
    return links_fill(c, a, posts, n);
}

/* One post by slug (slug != NULL) or id, with everything. */
static int post_get(struct store *st, struct arena *a, const char *slug,
                    int64_t id, struct store_post *out)
{
    struct sq_conn *c = sq_conn_get(sq_of(st));
    sqlite3_stmt *s;
    int rc;

    if (!c)
        return STORE_ERROR;
    s = sq_stmt(c, slug ? S_POST_BY_SLUG : S_POST_BY_ID);
    if (!s)
        return STORE_ERROR;
    rc = sq_read_begin(c);
    if (rc != 0)
        return rc;
    if (slug)
        sq_bind_text(s, 1, slug);
    else
        sqlite3_bind_int64(s, 1, id);
    rc = sq_read_one(c, a, s, sizeof *out, post_body_row, out, "read post");
    sq_finish(s);
    if (rc == 0)
        rc = links_fill(c, a, out, 1);
    sq_read_end(c);
    return rc;
}

int sq_post_get_by_slug(struct store *st, struct arena *a, const char *slug,
                        struct store_post *out)
{
    if (!slug)
        return STORE_NOTFOUND;
    return post_get(st, a, slug, 0, out);
}

int sq_post_get(struct store *st, struct arena *a, int64_t id,
                struct store_post *out)
{
    return post_get(st, a, NULL, id, out);
}

/* The cached posts-list statement for a filter shape: the rows (with or
 * without body) or, when count, the number of rows. */
static sqlite3_stmt *list_stmt(struct sq_conn *c, unsigned shape, int body,
                               int count)
{
    sqlite3_stmt **slot =
        count ? &c->counts[shape] : &c->lists[shape + (body ? LIST_SHAPES : 0)];
    struct buf b;
    char *sql;

    if (*slot)
        return *slot;
    buf_init(&b, LIST_SQL_BYTES);
    if (count)
        buf_adds(&b, "SELECT count(*) FROM posts p WHERE 1 = 1");
    else
        buf_printf(&b, "SELECT %s%s%s WHERE 1 = 1", POST_COLS,
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
        buf_adds(&b, " LIMIT ?6 OFFSET ?7");
    }
    if (b.overflow) {
        log_error("cannot build posts query: longer than %d bytes",
                  LIST_SQL_BYTES);
        buf_release(&b);
        return NULL;
    }
    sql = buf_steal(&b, NULL);
    *slot = sq_prepare(c, sql);
    free(sql);
    return *slot;
}

/* Binds the filter parameters of q that shape uses. */
static int bind_query(sqlite3_stmt *st, unsigned shape,
                      const struct store_post_query *q)
{
    int rc = 0;

    if (shape & (1u << F_STATUS))
        rc |= sq_bind_text(st, 1, store_sql_status_name(q->status));
    if (shape & (1u << F_TAG))
        rc |= sq_bind_text(st, 2, q->tag_slug);
    if (shape & (1u << F_AUTHOR))
        rc |= sq_bind_text(st, 3, q->author_slug);
    if (shape & (1u << F_BEFORE))
        rc |= sq_bind_int(st, 4, q->published_before);
    if (shape & (1u << F_EXCLUDE))
        rc |= sq_bind_text(st, 5, q->exclude_slug);
    if (shape & (1u << F_TITLE))
        rc |= sq_bind_text(st, 8, q->title_search);
    return rc;
}

static int64_t clamp64(size_t v)
{
    return v > (size_t)INT64_MAX ? INT64_MAX : (int64_t)v;
}

int sq_posts_list(struct store *st, struct arena *a,
                  const struct store_post_query *query, struct store_post **out,
                  size_t *n, size_t *total)
{
    static const struct store_post_query zero;
    const struct store_post_query *q = query ? query : &zero;
    struct sq_conn *c = sq_conn_get(sq_of(st));
    sqlite3_stmt *s = NULL;
    size_t limit = q->limit ? q->limit : LIST_LIMIT;
    unsigned shape = 0;
    void *rows = NULL;
    size_t nrows = 0;
    int rc;

    *out = NULL;
    *n = 0;
    if (!c)
        return STORE_ERROR;
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

    rc = sq_read_begin(c);
    if (rc != 0)
        return rc;
    s = list_stmt(c, shape, q->with_body, 0);
    if (!s) {
        rc = STORE_ERROR;
        goto out;
    }
    if (bind_query(s, shape, q) | sq_bind_int(s, 6, clamp64(limit)) |
        sq_bind_int(s, 7, clamp64(q->offset))) {
        rc = sq_fail(c, "list posts");
        goto out;
    }
    rc = sq_read_rows(c, a, s, sizeof(struct store_post),
                      q->with_body ? post_body_row : post_row, &rows, &nrows,
                      "list posts");
    sq_finish(s);
    s = NULL;
    if (rc != 0)
        goto out;
    if (nrows) {
        rc = links_fill(c, a, rows, nrows);
        if (rc != 0)
            goto out;
    }
    if (total && q->offset == 0 && nrows < limit) {
        *total = nrows; /* everything there is fitted on this page */
    } else if (total) {
        s = list_stmt(c, shape, 0, 1);
        if (!s) {
            rc = STORE_ERROR;
            goto out;
        }
        if (bind_query(s, shape, q) != SQLITE_OK) {
            rc = sq_fail(c, "count posts");
            goto out;
        }
        rc = sqlite3_step(s);
        if (rc != SQLITE_ROW) {
            rc = sq_fail(c, "count posts");
            goto out;
        }
        *total = (size_t)sq_col_int(s, 0);
        rc = 0;
    }
    *out = rows;
    *n = nrows;
out:
    sq_finish(s);
    sq_read_end(c);
    return rc;
}

int sq_correction_add(struct store *st, struct store_correction *cr)
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

/* Runs a list statement s (already bound) into *out. */
static int list(struct sq_conn *c, struct arena *a, sqlite3_stmt *s,
                size_t size, sq_row_fn row, void **out, size_t *n,
                const char *what)
{
    int rc = sq_read_rows(c, a, s, size, row, out, n, what);

    sq_finish(s);
    return rc;
}

int sq_corrections_list(struct store *st, struct arena *a, int64_t post_id,
                        struct store_correction **out, size_t *n)
{
    struct sq_conn *c = sq_conn_get(sq_of(st));
    sqlite3_stmt *s = c ? sq_stmt(c, S_CORRECTIONS) : NULL;

    *out = NULL;
    *n = 0;
    if (!s)
        return STORE_ERROR;
    sqlite3_bind_int64(s, 1, post_id);
    return list(c, a, s, sizeof **out, correction_row, (void **)out, n,
                "list corrections");
}

/* --- authors, tags, images ----------------------------------------------- */

int sq_author_save(struct store *st, struct store_author *au)
{
    return save_one(st, S_AUTHOR_INSERT, S_AUTHOR_UPDATE, &au->id, bind_author,
                    au, "save author");
}

/* One row by a text key into out, with statement id. */
static int get_by_text(struct store *st, struct arena *a,
                       enum store_sql_stmt id, const char *key, size_t size,
                       sq_row_fn row, void *out, const char *what)
{
    struct sq_conn *c = sq_conn_get(sq_of(st));
    sqlite3_stmt *s = c ? sq_stmt(c, id) : NULL;
    int rc;

    if (!s)
        return STORE_ERROR;
    if (!key)
        return STORE_NOTFOUND;
    sq_bind_text(s, 1, key);
    rc = sq_read_one(c, a, s, size, row, out, what);
    sq_finish(s);
    return rc;
}

/* One row by an integer key into out, with statement id. */
static int get_by_id(struct store *st, struct arena *a, enum store_sql_stmt id,
                     int64_t key, size_t size, sq_row_fn row, void *out,
                     const char *what)
{
    struct sq_conn *c = sq_conn_get(sq_of(st));
    sqlite3_stmt *s = c ? sq_stmt(c, id) : NULL;
    int rc;

    if (!s)
        return STORE_ERROR;
    sqlite3_bind_int64(s, 1, key);
    rc = sq_read_one(c, a, s, size, row, out, what);
    sq_finish(s);
    return rc;
}

int sq_author_get_by_slug(struct store *st, struct arena *a, const char *slug,
                          struct store_author *out)
{
    return get_by_text(st, a, S_AUTHOR_BY_SLUG, slug, sizeof *out, author_row,
                       out, "read author");
}

int sq_authors_list(struct store *st, struct arena *a,
                    struct store_author **out, size_t *n)
{
    struct sq_conn *c = sq_conn_get(sq_of(st));
    sqlite3_stmt *s = c ? sq_stmt(c, S_AUTHORS) : NULL;

    *out = NULL;
    *n = 0;
    if (!s)
        return STORE_ERROR;
    return list(c, a, s, sizeof **out, author_row, (void **)out, n,
                "list authors");
}

int sq_tag_save(struct store *st, struct store_tag *t)
{
    return save_one(st, S_TAG_INSERT, S_TAG_UPDATE, &t->id, bind_tag, t,
                    "save tag");
}

int sq_tag_get_by_slug(struct store *st, struct arena *a, const char *slug,
                       struct store_tag *out)
{
    return get_by_text(st, a, S_TAG_BY_SLUG, slug, sizeof *out, tag_row, out,
                       "read tag");
}

int sq_tags_list(struct store *st, struct arena *a, int kind,
                 struct store_tag **out, size_t *n)
{
    struct sq_conn *c = sq_conn_get(sq_of(st));
    sqlite3_stmt *s = c ? sq_stmt(c, S_TAGS) : NULL;

    *out = NULL;
    *n = 0;
    if (!s)
        return STORE_ERROR;
    if (kind != -1 && !store_sql_kind_name(kind)) {
        log_error("cannot list tags: unknown kind %d", kind);
        return STORE_ERROR;
    }
    sq_bind_text(s, 1, kind == -1 ? NULL : store_sql_kind_name(kind));
    return list(c, a, s, sizeof **out, tag_row, (void **)out, n, "list tags");
}

int sq_image_save(struct store *st, struct store_image *img)
{
    return save_one(st, S_IMAGE_INSERT, S_IMAGE_UPDATE, &img->id, bind_image,
                    img, "save image");
}

int sq_image_get(struct store *st, struct arena *a, int64_t id,
                 struct store_image *out)
{
    return get_by_id(st, a, S_IMAGE_GET, id, sizeof *out, image_row, out,
                     "read image");
}

int sq_image_get_by_name(struct store *st, struct arena *a, const char *name,
                         struct store_image *out)
{
    struct sq_conn *c = sq_conn_get(sq_of(st));
    sqlite3_stmt *s = c ? sq_stmt(c, S_IMAGE_BY_NAME) : NULL;
    int rc;

    if (!s)
        return STORE_ERROR;
    sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
    rc = sq_read_one(c, a, s, sizeof *out, image_row, out, "read image");
    sq_finish(s);
    return rc;
}

/* --- live updates -------------------------------------------------------- */

int sq_live_save(struct store *st, struct store_live *lu)
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

int sq_live_delete(struct store *st, int64_t id)
{
    struct sq_conn *c = sq_conn_get(sq_of(st));
    sqlite3_stmt *s;
    int rc;

    if (!c)
        return STORE_ERROR;
    rc = sq_write_begin(c);
    if (rc != 0)
        return rc;
    s = sq_stmt(c, S_LIVE_DELETE);
    if (!s) {
        rc = STORE_ERROR;
    } else {
        sqlite3_bind_int64(s, 1, id);
        rc = sq_step_all(c, s, "delete live update");
        if (rc == 0 && sqlite3_changes(c->db) == 0)
            rc = STORE_NOTFOUND;
        sq_finish(s);
    }
    return sq_write_end(c, rc);
}

int sq_live_list(struct store *st, struct arena *a, int64_t before,
                 size_t limit, struct store_live **out, size_t *n)
{
    struct sq_conn *c = sq_conn_get(sq_of(st));
    sqlite3_stmt *s =
        c ? sq_stmt(c, before ? S_LIVE_BEFORE : S_LIVE_LATEST) : NULL;

    *out = NULL;
    *n = 0;
    if (!s)
        return STORE_ERROR;
    if (before)
        sqlite3_bind_int64(s, 1, before);
    sqlite3_bind_int64(s, 2, clamp64(limit ? limit : LIST_LIMIT));
    return list(c, a, s, sizeof **out, live_row, (void **)out, n,
                "list live updates");
}

int sq_live_get(struct store *st, struct arena *a, int64_t id,
                struct store_live *out)
{
    return get_by_id(st, a, S_LIVE_GET, id, sizeof *out, live_row, out,
                     "read live update");
}

static void live_event_row(struct arena *a, sqlite3_stmt *st, void *item)
{
    struct store_live_event *ev = item;
    const char *kind = (const char *)sqlite3_column_text(st, 1);

    ev->seq = sq_col_int(st, 0);
    ev->kind = !kind || kind[0] == 'p' ? STORE_LIVE_POST
               : kind[0] == 'e'        ? STORE_LIVE_EDIT
                                       : STORE_LIVE_DELETE;
    ev->live_id = sq_col_int(st, 2);
    ev->present = sqlite3_column_type(st, 3) != SQLITE_NULL;
    if (!ev->present)
        return;
    ev->lu.id = sq_col_int(st, 3);
    ev->lu.at = sq_col_int(st, 4);
    ev->lu.updated_at = sq_col_int(st, 5);
    ev->lu.headline = sq_col_text(a, st, 6);
    ev->lu.body = sq_col_text(a, st, 7);
    ev->lu.html = sq_col_text(a, st, 8);
    ev->lu.link_slug = sq_col_text(a, st, 9);
    ev->lu.key = sq_col_int(st, 10) != 0;
}

int sq_live_events(struct store *st, struct arena *a, int64_t after,
                   size_t limit, struct store_live_event **out, size_t *n)
{
    struct sq_conn *c = sq_conn_get(sq_of(st));
    sqlite3_stmt *s = c ? sq_stmt(c, S_LIVE_EVENTS) : NULL;

    *out = NULL;
    *n = 0;
    if (!s)
        return STORE_ERROR;
    sqlite3_bind_int64(s, 1, after);
    sqlite3_bind_int64(s, 2, clamp64(limit ? limit : LIST_LIMIT));
    return list(c, a, s, sizeof **out, live_event_row, (void **)out, n,
                "list live events");
}

int64_t sq_live_last_seq(struct store *st)
{
    struct sq_conn *c = sq_conn_get(sq_of(st));
    sqlite3_stmt *s = c ? sq_stmt(c, S_LIVE_LAST_SEQ) : NULL;
    int64_t seq = -1;

    if (!s)
        return -1;
    if (sqlite3_step(s) == SQLITE_ROW)
        seq = sqlite3_column_int64(s, 0);
    else
        sq_fail(c, "read live events");
    sq_finish(s);
    return seq;
}

/* --- newsletters --------------------------------------------------------- */

int sq_newsletter_save(struct store *st, struct store_newsletter *nl)
{
    return save_one(st, S_NEWSLETTER_INSERT, S_NEWSLETTER_UPDATE, &nl->id,
                    bind_newsletter, nl, "save newsletter");
}

int sq_newsletters_list(struct store *st, struct arena *a, int active_only,
                        struct store_newsletter **out, size_t *n)
{
    struct sq_conn *c = sq_conn_get(sq_of(st));
    sqlite3_stmt *s = c ? sq_stmt(c, S_NEWSLETTERS) : NULL;

    *out = NULL;
    *n = 0;
    if (!s)
        return STORE_ERROR;
    sqlite3_bind_int(s, 1, active_only ? 1 : 0);
    return list(c, a, s, sizeof **out, newsletter_row, (void **)out, n,
                "list newsletters");
}

/* --- staff ---------------------------------------------------------------- */

int sq_staff_save(struct store *st, struct store_staff *sf)
{
    return save_one(st, S_STAFF_INSERT, S_STAFF_UPDATE, &sf->id, bind_staff, sf,
                    "save staff");
}

int sq_staff_get_by_email(struct store *st, struct arena *a, const char *email,
                          struct store_staff *out)
{
    return get_by_text(st, a, S_STAFF_BY_EMAIL, email, sizeof *out, staff_row,
                       out, "read staff");
}

int sq_staff_get(struct store *st, struct arena *a, int64_t id,
                 struct store_staff *out)
{
    return get_by_id(st, a, S_STAFF_BY_ID, id, sizeof *out, staff_row, out,
                     "read staff");
}

int sq_staff_list(struct store *st, struct arena *a, struct store_staff **out,
                  size_t *n)
{
    struct sq_conn *c = sq_conn_get(sq_of(st));
    sqlite3_stmt *s = c ? sq_stmt(c, S_STAFF_LIST) : NULL;

    *out = NULL;
    *n = 0;
    if (!s)
        return STORE_ERROR;
    return list(c, a, s, sizeof **out, staff_row, (void **)out, n,
                "list staff");
}

/* --- sitemaps ------------------------------------------------------------- */

/* A post's lastmod: max(updated_at, published_at). */
#define STAMP_LASTMOD                                                          \
    "CASE WHEN p.updated_at > p.published_at THEN p.updated_at "               \
    "ELSE p.published_at END"

/* Public at ?1 (store.h, "sitemaps"). */
#define STAMP_PUBLIC "p.status = 'published' AND p.published_at <= ?1"

/* A size as an SQL integer. */
static int64_t stamp_num(size_t v)
{
    return v > (size_t)INT64_MAX ? INT64_MAX : (int64_t)v;
}

static void post_stamp_row(struct arena *a, sqlite3_stmt *s, void *item)
{
    struct store_post_stamp *p = item;

    p->slug = sq_col_text(a, s, 0);
    p->title = sq_col_text(a, s, 1);
    p->language = sq_col_text(a, s, 2);
    p->image = sq_col_text(a, s, 3);
    p->image_widths = sq_col_text(a, s, 4);
    p->published_at = sq_col_int(s, 5);
    p->lastmod = sq_col_int(s, 6);
}

int sq_post_stamps(struct store *st, struct arena *a, int64_t now,
                   int64_t since, size_t offset, size_t limit,
                   struct store_post_stamp **out, size_t *n)
{
    const struct sq_val v[] = {SQ_NUM(now), SQ_NUM(since),
                               SQ_NUM(stamp_num(limit ? limit : LIST_LIMIT)),
                               SQ_NUM(stamp_num(offset))};

    return sq_query_rows(
        st, a,
        "SELECT p.slug, p.title, p.language, i.name, i.widths, "
        "p.published_at, " STAMP_LASTMOD " FROM posts p "
        "LEFT JOIN images i ON i.id = p.feature_image_id "
        "WHERE " STAMP_PUBLIC " AND p.published_at >= ?2 "
        "ORDER BY p.published_at DESC, p.id DESC LIMIT ?3 OFFSET ?4",
        v, SQ_NVALS(v), sizeof **out, post_stamp_row, (void **)out, n,
        "list post stamps");
}

/* One query per page (LIMIT/OFFSET on the posts_status_published index):
 * SQLite's row_number() over every public post is several times slower.
 * Pages are read one statement each, not in one snapshot; a post
 * published meanwhile can only shift a page's lastmod, as it would a
 * moment later anyway. */
int sq_post_stamp_pages(struct store *st, struct arena *a, int64_t now,
                        size_t per, int64_t **lastmod, size_t *npages)
{
    struct sq_conn *c = sq_conn_get(sq_of(st));
    sqlite3_stmt *s = c ? sq_prepare(c, "SELECT count(*), max(m) FROM "
                                        "(SELECT " STAMP_LASTMOD " AS m "
                                        "FROM posts p WHERE " STAMP_PUBLIC " "
                                        "ORDER BY p.published_at DESC, "
                                        "p.id DESC LIMIT ?2 OFFSET ?3)")
                        : NULL;
    int64_t step = stamp_num(per ? per : 1), got = 0;
    size_t cap = 0;
    int rc = STORE_OK;

    *lastmod = NULL;
    *npages = 0;
    if (!s)
        return STORE_ERROR;
    sq_bind_int(s, 1, now);
    sq_bind_int(s, 2, step);
    do {
        sq_bind_int(s, 3, (int64_t)*npages * step);
        if (sqlite3_step(s) != SQLITE_ROW) {
            rc = sq_fail(c, "count post stamp pages");
            break;
        }
        got = sqlite3_column_int64(s, 0);
        if (got > 0) {
            *lastmod = sq_grow(a, *lastmod, *npages, &cap, sizeof **lastmod);
            (*lastmod)[(*npages)++] = sqlite3_column_int64(s, 1);
        }
        sqlite3_reset(s);
    } while (got == step);
    sqlite3_finalize(s);
    return rc;
}

static void archive_stamp_row(struct arena *a, sqlite3_stmt *s, void *item)
{
    struct store_archive_stamp *t = item;

    t->kind = (enum store_archive_kind)sq_col_int(s, 0);
    t->slug = sq_col_text(a, s, 1);
    t->lastmod = sq_col_int(s, 2);
}

int sq_archive_stamps(struct store *st, struct arena *a, int64_t now,
                      struct store_archive_stamp **out, size_t *n)
{
    const struct sq_val v[] = {SQ_NUM(now)};

    return sq_query_rows(
        st, a,
        "SELECT 0 AS kind, au.slug AS slug, max(" STAMP_LASTMOD ") "
        "FROM authors au JOIN post_authors pa ON pa.author_id = au.id "
        "JOIN posts p ON p.id = pa.post_id WHERE " STAMP_PUBLIC " "
        "GROUP BY au.id, au.slug "
        "UNION ALL "
        "SELECT CASE t.kind WHEN 'section' THEN 1 ELSE 2 END, t.slug, "
        "max(" STAMP_LASTMOD ") "
        "FROM tags t JOIN post_tags pt ON pt.tag_id = t.id "
        "JOIN posts p ON p.id = pt.post_id WHERE " STAMP_PUBLIC " "
        "GROUP BY t.id, t.slug, t.kind "
        "ORDER BY kind, slug",
        v, SQ_NVALS(v), sizeof **out, archive_stamp_row, (void **)out, n,
        "list archive stamps");
}
