/*
 * store_sqlite_search.c - the SQLite backend's store_search, over the FTS5
 * table post_search of schema/007_search.sql and 008 (every post; kept in
 * sync by triggers).
 *
 * The reader's text becomes plain terms (store_search_terms), each quoted
 * as an FTS5 string, so no FTS5 syntax ever reaches MATCH; FTS5 ANDs them.
 * Rank is -bm25() with column weights: headline 10, standfirst 4, body 1,
 * authors and tags 2 each, so a headline hit outranks a body mention.
 *
 * Two statements in one read snapshot: the page (a CTE picks the page's
 * rows by rank first, so snippet() runs for those rows only) and, when
 * the page does not show everything, the count. Post rows are read as
 * store_posts_list reads them (sq_post_read, sq_posts_links_fill).
 */
#include <stdio.h>
#include <string.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/log.h"
#include "store/store_sqlite.h"

/* bm25 weights by column: title, standfirst, body, people, tags. */
#define RANK "-bm25(post_search, 10.0, 4.0, 1.0, 2.0, 2.0)"

/* The posts matching ?1 that pass the filters ?2..?6 (?6: the status
 * wanted, NULL for any: store_search_status). CROSS
 * JOIN keeps the index first: else the planner may walk every published
 * post and probe the index for each (seconds at 100,000 posts). */
#define MATCHES                                                                \
    "FROM post_search CROSS JOIN posts p ON p.id = post_search.rowid "         \
    "WHERE post_search MATCH ?1 AND (?6 IS NULL OR p.status = ?6) "            \
    "AND (?2 IS NULL OR EXISTS (SELECT 1 FROM post_tags pt "                   \
    "JOIN tags t ON t.id = pt.tag_id WHERE pt.post_id = p.id "                 \
    "AND t.slug = ?2)) "                                                       \
    "AND (?3 IS NULL OR EXISTS (SELECT 1 FROM post_authors pa "                \
    "JOIN authors au ON au.id = pa.author_id WHERE pa.post_id = p.id "         \
    "AND au.slug = ?3)) "                                                      \
    "AND (?4 = 0 OR p.published_at >= ?4) "                                    \
    "AND (?5 = 0 OR p.published_at <= ?5)"

/* Page: POST_COLS, rank, raw snippet of the body. */
static const char page_sql[] =
    "WITH hits AS (SELECT p.id AS id, " RANK " AS score, "
    "p.published_at AS at " MATCHES " "
    "ORDER BY score DESC, at DESC, id DESC LIMIT ?7 OFFSET ?8) "
    "SELECT " POST_COLS ", h.score, "
    "snippet(post_search, 2, char(1), char(2), '…', 32) "
    "FROM hits h JOIN post_search ON post_search.rowid = h.id "
    "JOIN posts p ON p.id = h.id "
    "LEFT JOIN images fi ON fi.id = p.feature_image_id "
    "WHERE post_search MATCH ?1 "
    "ORDER BY h.score DESC, h.at DESC, h.id DESC";

static const char count_sql[] = "SELECT count(*) " MATCHES;

static void hit_row(struct arena *a, sqlite3_stmt *s, void *item)
{
    struct store_search_hit *h = item;

    sq_post_read(a, s, &h->post);
    h->rank = sqlite3_column_double(s, COL_POST_BODY);
    h->snippet_html = store_search_snippet_html(
        a, (const char *)sqlite3_column_text(s, COL_POST_BODY + 1));
}

/* The FTS5 query of t: every term as a quoted string ("w" or "w1 w2"),
 * space-separated (AND). Terms hold no '"' (store_search_terms). */
static char *fts_query(struct arena *a, const struct store_search_terms *t)
{
    size_t room = 1, len = 0;
    char *q;

    for (size_t i = 0; i < t->n; i++)
        room += strlen(t->term[i]) + 3;
    q = arena_alloc(a, room);
    for (size_t i = 0; i < t->n; i++)
        len += (size_t)snprintf(q + len, room - len, "%s\"%s\"", i ? " " : "",
                                t->term[i]);
    q[len] = '\0';
    return q;
}

static int64_t clamp64(size_t v)
{
    return v > (size_t)INT64_MAX ? INT64_MAX : (int64_t)v;
}

/* Binds ?1..?6 of s. */
static int bind_filters(sqlite3_stmt *s, const char *match,
                        const struct store_search_query *q)
{
    return sq_bind_text(s, 1, match) | sq_bind_text(s, 2, q->tag_slug) |
           sq_bind_text(s, 3, q->author_slug) | sq_bind_int(s, 4, q->from) |
           sq_bind_int(s, 5, q->to) |
           sq_bind_text(s, 6, store_search_status(q));
}

int sq_search(struct store *st, struct arena *a,
              const struct store_search_query *q, struct store_search_hit **out,
              size_t *n, size_t *total)
{
    struct sq_conn *c = sq_conn_get(sq_of(st));
    size_t limit = q->limit ? q->limit : LIST_LIMIT;
    struct store_search_terms t;
    struct store_search_hit *hits = NULL;
    struct store_post *posts;
    sqlite3_stmt *s = NULL;
    const char *match;
    size_t nhits = 0;
    int rc;

    *out = NULL;
    *n = 0;
    if (total)
        *total = 0;
    if (!c)
        return STORE_ERROR;
    store_search_terms(a, q->q, &t);
    if (t.n == 0)
        return 0;
    match = fts_query(a, &t);
    rc = sq_read_begin(c);
    if (rc != 0)
        return rc;
    s = sq_prepare(c, page_sql);
    if (!s) {
        rc = STORE_ERROR;
        goto out;
    }
    if (bind_filters(s, match, q) | sq_bind_int(s, 7, clamp64(limit)) |
        sq_bind_int(s, 8, clamp64(q->offset))) {
        rc = sq_fail(c, "search posts");
        goto out;
    }
    rc = sq_read_rows(c, a, s, sizeof *hits, hit_row, (void **)&hits, &nhits,
                      "search posts");
    sqlite3_finalize(s);
    s = NULL;
    if (rc != 0)
        goto out;
    if (nhits) {
        posts = arena_alloc(a, nhits * sizeof *posts);
        for (size_t i = 0; i < nhits; i++)
            posts[i] = hits[i].post;
        rc = sq_posts_links_fill(c, a, posts, nhits);
        if (rc != 0)
            goto out;
        for (size_t i = 0; i < nhits; i++)
            hits[i].post = posts[i];
    }
    if (total && q->offset == 0 && nhits < limit) {
        *total = nhits;
    } else if (total) {
        s = sq_prepare(c, count_sql);
        if (!s || bind_filters(s, match, q) != SQLITE_OK ||
            sqlite3_step(s) != SQLITE_ROW) {
            rc = s ? sq_fail(c, "count search hits") : STORE_ERROR;
            goto out;
        }
        *total = (size_t)sq_col_int(s, 0);
    }
    *out = hits;
    *n = nhits;
out:
    sqlite3_finalize(s);
    sq_read_end(c);
    return rc;
}
