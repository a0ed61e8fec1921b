/*
 * store_pg_search.c - the PostgreSQL backend's store_search, over the
 * post_search table of schema_pg/007_search.sql and 008 (tsvector per
 * post, weighted A headline, B standfirst, C body, D authors and tags;
 * kept in sync by triggers).
 *
 * The reader's text becomes plain terms (store_search_terms), passed as
 * one newline-separated parameter; each term goes through
 * phraseto_tsquery('english', ...) (a word, or a phrase of words in
 * order) and the non-empty ones are ANDed, so no tsquery syntax ever
 * comes from the reader. Terms that are only stop words drop out; a query
 * left with none finds nothing. Rank is ts_rank with the default weights
 * (A 1.0, B 0.4, C 0.2, D 0.1): a headline hit outranks a body mention.
 *
 * The page's rows are picked by rank first (a CTE), so ts_headline runs
 * only for them; its StartSel/StopSel are the sentinel bytes that
 * store_search_snippet_html turns into <mark> after escaping, and < and >
 * of the body pass through it as stand-ins (TAG_OPEN, TAG_CLOSE).
 */
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/log.h"
#include "store/store_pg.h"

#define SEARCH_LIMIT 10 /* hits when a search asks for 0 */
/* Stand-ins for < and > while ts_headline works: its parser takes
 * "<script>" for a tag and leaves it out of the headline, and the reader
 * must see the text as it is (escaped). */
#define TAG_OPEN '\x03'  /* chr(3) */
#define TAG_CLOSE '\x04' /* chr(4) */

/* q: the ANDed tsquery of the terms in $1 (NULL when none is left). */
#define QUERY_CTE                                                              \
    "WITH q AS (SELECT (SELECT string_agg('(' || x::text || ')', ' & ') "      \
    "FROM (SELECT phraseto_tsquery('english', w) AS x "                        \
    "FROM unnest(string_to_array($1::text, E'\\n')) w) z "                     \
    "WHERE x::text <> '')::tsquery AS tq) "

/* The posts matching q that pass the filters $2..$6 ($6: the status
 * wanted, NULL for any: store_search_status). */
#define MATCHES                                                                \
    "FROM q, post_search s JOIN posts p ON p.id = s.post_id "                  \
    "WHERE s.doc @@ q.tq AND ($6::text IS NULL OR p.status = $6::text) "       \
    "AND ($2::text IS NULL OR EXISTS (SELECT 1 FROM post_tags pt "             \
    "JOIN tags t ON t.id = pt.tag_id WHERE pt.post_id = p.id "                 \
    "AND t.slug = $2::text)) "                                                 \
    "AND ($3::text IS NULL OR EXISTS (SELECT 1 FROM post_authors pa "          \
    "JOIN authors au ON au.id = pa.author_id WHERE pa.post_id = p.id "         \
    "AND au.slug = $3::text)) "                                                \
    "AND ($4::bigint = 0 OR p.published_at >= $4::bigint) "                    \
    "AND ($5::bigint = 0 OR p.published_at <= $5::bigint)"

static const char page_sql[] =
    QUERY_CTE ", hits AS (SELECT p.id AS id, ts_rank(s.doc, q.tq) AS score, "
              "p.published_at AS at " MATCHES " "
              "ORDER BY score DESC, at DESC, id DESC "
              "LIMIT $7::bigint OFFSET $8::bigint) "
              "SELECT " POST_COLS ", h.score, "
              "ts_headline('english', translate(p.plaintext, '<>', "
              "chr(3) || chr(4)), q.tq, 'StartSel=' || "
              "chr(1) || ', StopSel=' || chr(2) || ', MaxWords=35, "
              "MinWords=15, ShortWord=2, MaxFragments=2, "
              "FragmentDelimiter=\" … \"') "
              "FROM q, hits h JOIN posts p ON p.id = h.id "
              "LEFT JOIN images fi ON fi.id = p.feature_image_id "
              "ORDER BY h.score DESC, h.at DESC, h.id DESC";

static const char count_sql[] = QUERY_CTE "SELECT count(*) " MATCHES;

/* s (in a) with the stand-ins TAG_OPEN and TAG_CLOSE back to < and >. */
static const char *untag(struct arena *a, const char *s)
{
    char *t = arena_strdup(a, s);

    for (char *c = t; *c; c++)
        if (*c == TAG_OPEN)
            *c = '<';
        else if (*c == TAG_CLOSE)
            *c = '>';
    return t;
}

static void hit_row(struct arena *a, const PGresult *r, int row, void *item)
{
    struct store_search_hit *h = item;

    pg_post_read(a, r, row, &h->post);
    h->rank = strtod(PQgetvalue(r, row, COL_POST_BODY), NULL);
    h->snippet_html = store_search_snippet_html(
        a, untag(a, PQgetvalue(r, row, COL_POST_BODY + 1)));
}

/* The terms of t joined by newlines. */
static char *terms_text(struct arena *a, const struct store_search_terms *t)
{
    size_t room = 1, len = 0;
    char *s;

    for (size_t i = 0; i < t->n; i++)
        room += strlen(t->term[i]) + 1;
    s = arena_alloc(a, room);
    for (size_t i = 0; i < t->n; i++) {
        size_t l = strlen(t->term[i]);
        if (i)
            s[len++] = '\n';
        memcpy(s + len, t->term[i], l);
        len += l;
    }
    s[len] = '\0';
    return s;
}

int pg_search(struct store *st, struct arena *a,
              const struct store_search_query *q, struct store_search_hit **out,
              size_t *n, size_t *total)
{
    struct store_pg_conn *c = pg_conn_get(pg_of(st));
    size_t limit = q->limit ? q->limit : SEARCH_LIMIT;
    struct store_search_terms t;
    struct store_search_hit *hits = NULL;
    struct store_post *posts;
    struct pg_params p = {0};
    PGresult *res = NULL;
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
    pg_param_text(&p, 1, terms_text(a, &t));
    pg_param_text(&p, 2, q->tag_slug);
    pg_param_text(&p, 3, q->author_slug);
    pg_param_int(&p, 4, q->from);
    pg_param_int(&p, 5, q->to);
    pg_param_text(&p, 6, store_search_status(q));
    pg_param_int(&p, 7, pg_clamp64(limit));
    pg_param_int(&p, 8, pg_clamp64(q->offset));
    rc = pg_read_begin(c);
    if (rc != 0)
        return rc;
    rc = pg_exec_sql(c, page_sql, &p, &res, "search posts");
    if (rc != 0)
        goto out;
    pg_read_rows(a, res, sizeof *hits, hit_row, (void **)&hits, &nhits);
    PQclear(res);
    res = NULL;
    if (nhits) {
        posts = arena_alloc(a, nhits * sizeof *posts);
        for (size_t i = 0; i < nhits; i++)
            posts[i] = hits[i].post;
        rc = pg_posts_links_fill(c, a, posts, nhits);
        if (rc != 0)
            goto out;
        for (size_t i = 0; i < nhits; i++)
            hits[i].post = posts[i];
    }
    if (total && q->offset == 0 && nhits < limit) {
        *total = nhits;
    } else if (total) {
        p.n = 6; /* the count takes $1..$6 */
        rc = pg_exec_sql(c, count_sql, &p, &res, "count search hits");
        if (rc != 0)
            goto out;
        *total = (size_t)pg_col_int(res, 0, 0);
    }
    *out = hits;
    *n = nhits;
out:
    PQclear(res);
    pg_read_end(c);
    return rc;
}
