/*
 * store_sqlite_audio.c - the SQLite backend's operations for narrations,
 * the audio version of a post (schema/001 narrations, schema/006): saving
 * a narration, a post's newest and newest ready one, pruning old versions,
 * the podcast feed's episodes, the posts still to narrate and a post's
 * narration_off switch.
 *
 * Each operation has the contract of its store.h function. Statements are
 * prepared per call with the desk's helpers (sq_write1, sq_query_*;
 * store_sqlite.h): the narration worker and the feed call them, and the
 * feed is cached. The prune reads and deletes in one BEGIN IMMEDIATE
 * transaction, so the files it returns are exactly those of the rows it
 * deleted.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/log.h"
#include "store/store_sqlite.h"

/* --- rows ---------------------------------------------------------------- */

/* NARRATION_COLS (store_sql.h) from column first on. */
static void read_narration(struct arena *a, sqlite3_stmt *s, int first,
                           struct store_narration *n)
{
    n->id = sq_col_int(s, first);
    n->post_id = sq_col_int(s, first + 1);
    n->source_hash = sq_col_text(a, s, first + 2);
    n->file = sq_col_text(a, s, first + 3);
    n->duration_ms = sq_col_int(s, first + 4);
    n->bytes = sq_col_int(s, first + 5);
    n->voice = sq_col_text(a, s, first + 6);
    n->state = store_sql_nar_state_parse(
        (const char *)sqlite3_column_text(s, first + 7));
    n->error = sq_col_text(a, s, first + 8);
    n->created_at = sq_col_int(s, first + 9);
}

static void narration_row(struct arena *a, sqlite3_stmt *s, void *item)
{
    read_narration(a, s, 0, item);
}

/* NARRATION_COLS, then the post's slug, title, excerpt, standfirst,
 * published_at, updated_at and the joined author names. */
static void episode_row(struct arena *a, sqlite3_stmt *s, void *item)
{
    struct store_episode *e = item;
    int c = NNARRATION_COLS;

    read_narration(a, s, 0, &e->nar);
    e->slug = sq_col_text(a, s, c);
    e->title = sq_col_text(a, s, c + 1);
    e->excerpt = sq_col_text(a, s, c + 2);
    e->standfirst = sq_col_text(a, s, c + 3);
    e->published_at = sq_col_int(s, c + 4);
    e->updated_at = sq_col_int(s, c + 5);
    e->authors = sq_col_text(a, s, c + 6);
    if (!e->authors)
        e->authors = "";
}

static void id_row(struct arena *a, sqlite3_stmt *s, void *item)
{
    (void)a;
    *(int64_t *)item = sq_col_int(s, 0);
}

/* A deleted row's file and state (the prune's RETURNING). */
struct gone {
    const char *file; /* or NULL */
    int ready;        /* 1 = the row was READY */
};

static void gone_row(struct arena *a, sqlite3_stmt *s, void *item)
{
    struct gone *g = item;

    g->file = sq_col_text(a, s, 0);
    g->ready =
        store_sql_nar_state_parse((const char *)sqlite3_column_text(s, 1)) ==
        STORE_NARRATION_READY;
}

/* v as an int64_t, INT64_MAX when larger (limits). */
static int64_t clamp64(size_t v)
{
    return v > (size_t)INT64_MAX ? INT64_MAX : (int64_t)v;
}

/* --- narrations ---------------------------------------------------------- */

int sq_narration_save(struct store *st, struct store_narration *n)
{
    const char *state = store_sql_nar_state_name((int)n->state);
    const struct sq_val v[] = {
        SQ_NUM(n->post_id),     SQ_TXT(n->source_hash), SQ_TXT(n->file),
        SQ_NUM(n->duration_ms), SQ_NUM(n->bytes),       SQ_TXT(n->voice),
        SQ_TXT(state),          SQ_TXT(n->error),       SQ_NUM(n->created_at),
    };
    int64_t id = 0;
    int rc;

    if (!state || !n->source_hash || !n->voice) {
        log_error("cannot save narration of post %lld: no source hash, "
                  "voice or known state",
                  (long long)n->post_id);
        return STORE_ERROR;
    }
    rc = sq_write1(st, NULL,
                   "INSERT INTO narrations (post_id, source_hash, file, "
                   "duration_ms, bytes, voice, state, error, created_at) "
                   "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) "
                   "ON CONFLICT (post_id, source_hash, voice) DO UPDATE SET "
                   "file = excluded.file, duration_ms = excluded.duration_ms, "
                   "bytes = excluded.bytes, state = excluded.state, "
                   "error = excluded.error, created_at = excluded.created_at "
                   "RETURNING id",
                   v, SQ_NVALS(v), id_row, &id, sizeof id, 1, NULL,
                   "save narration");
    if (rc == 0)
        n->id = id;
    return rc;
}

int sq_narration_latest(struct store *st, struct arena *a, int64_t post_id,
                        struct store_narration *out)
{
    const struct sq_val v[] = {SQ_NUM(post_id)};

    return sq_query_one(st, a,
                        "SELECT " NARRATION_COLS " FROM narrations n "
                        "WHERE n.post_id = ?1 "
                        "ORDER BY n.created_at DESC, n.id DESC LIMIT 1",
                        v, SQ_NVALS(v), sizeof *out, narration_row, out,
                        "read narration");
}

int sq_narration_ready(struct store *st, struct arena *a, int64_t post_id,
                       struct store_narration *out)
{
    const struct sq_val v[] = {SQ_NUM(post_id)};

    return sq_query_one(st, a,
                        "SELECT " NARRATION_COLS " FROM narrations n "
                        "WHERE n.post_id = ?1 AND n.state = 'ready' "
                        "ORDER BY n.created_at DESC, n.id DESC LIMIT 1",
                        v, SQ_NVALS(v), sizeof *out, narration_row, out,
                        "read narration");
}

int sq_narrations_prune(struct store *st, struct arena *a, int64_t post_id,
                        int64_t keep_id, const char ***files, size_t *n)
{
    struct sq_conn *c = sq_conn_get(sq_of(st));
    const struct sq_val v[] = {SQ_NUM(post_id), SQ_NUM(keep_id)};
    struct gone *g = NULL;
    sqlite3_stmt *s;
    struct arena tmp;
    size_t ng = 0;
    int rc;

    if (files)
        *files = NULL;
    *n = 0;
    if (!c)
        return STORE_ERROR;
    rc = sq_write_begin(c);
    if (rc != 0)
        return rc;
    arena_init(&tmp);
    s = sq_prepare_bound(c,
                         "DELETE FROM narrations WHERE post_id = ?1 "
                         "AND id <> ?2 RETURNING file, state",
                         v, SQ_NVALS(v));
    if (!s)
        rc = STORE_ERROR;
    else
        rc = sq_read_rows(c, &tmp, s, sizeof *g, gone_row, (void **)&g, &ng,
                          "prune narrations");
    sqlite3_finalize(s);
    rc = sq_write_end(c, rc);
    if (rc == 0 && files && ng)
        *files = arena_alloc(a, ng * sizeof **files);
    for (size_t i = 0; rc == 0 && i < ng; i++) {
        if (!g[i].ready || !g[i].file)
            continue;
        if (files)
            (*files)[*n] = arena_strdup(a, g[i].file);
        (*n)++;
    }
    arena_release(&tmp);
    return rc;
}

/* --- the feed and the worker's list -------------------------------------- */

/* A post's authors by byline order, joined with ", " (a subquery keeps
 * the order: group_concat takes rows as they come). */
#define EPISODE_AUTHORS                                                        \
    "(SELECT group_concat(name, ', ') FROM (SELECT a.name AS name "            \
    "FROM post_authors pa JOIN authors a ON a.id = pa.author_id "              \
    "WHERE pa.post_id = p.id ORDER BY pa.position, a.id))"

int sq_episodes(struct store *st, struct arena *a, size_t limit,
                struct store_episode **out, size_t *n)
{
    const struct sq_val v[] = {SQ_NUM(limit ? clamp64(limit) : EPISODES_LIMIT)};

    return sq_query_rows(
        st, a,
        "SELECT " NARRATION_COLS ", p.slug, p.title, p.excerpt, "
        "p.standfirst, p.published_at, p.updated_at, " EPISODE_AUTHORS " "
        "FROM narrations n JOIN posts p ON p.id = n.post_id "
        "WHERE p.status = 'published' AND n.state = 'ready' "
        "AND n.id = (SELECT r.id FROM narrations r WHERE r.post_id = p.id "
        "AND r.state = 'ready' ORDER BY r.created_at DESC, r.id DESC "
        "LIMIT 1) "
        "ORDER BY p.published_at DESC, p.id DESC LIMIT ?1",
        v, SQ_NVALS(v), sizeof **out, episode_row, (void **)out, n,
        "list episodes");
}

int sq_posts_unnarrated(struct store *st, struct arena *a, size_t limit,
                        int64_t **ids, size_t *n)
{
    const struct sq_val v[] = {
        SQ_NUM(limit ? clamp64(limit) : UNNARRATED_LIMIT)};

    return sq_query_rows(st, a,
                         "SELECT p.id FROM posts p "
                         "WHERE p.status = 'published' "
                         "AND p.narration_off = 0 AND NOT EXISTS "
                         "(SELECT 1 FROM narrations n WHERE n.post_id = p.id) "
                         "ORDER BY p.published_at, p.id LIMIT ?1",
                         v, SQ_NVALS(v), sizeof **ids, id_row, (void **)ids, n,
                         "list posts to narrate");
}

int sq_post_set_narration_off(struct store *st, int64_t post_id, int off)
{
    const struct sq_val v[] = {SQ_NUM(post_id), SQ_NUM(off ? 1 : 0)};

    return sq_write1(st, NULL,
                     "UPDATE posts SET narration_off = ?2 WHERE id = ?1", v,
                     SQ_NVALS(v), NULL, NULL, 0, 1, NULL, "set narration off");
}
