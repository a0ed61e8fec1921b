/*
 * store_pg_audio.c - the PostgreSQL backend's operations for narrations,
 * the audio version of a post (schema_pg/001 narrations, schema_pg/006):
 * saving a narration, a post's newest and newest ready one, pruning old
 * versions, the podcast feed's episodes, the posts still to narrate and a
 * post's narration_off switch.
 *
 * Each operation has the contract of its store.h function. Statements are
 * sent unprepared (pg_exec_sql, pg_write1, pg_query_*), as the desk's and
 * the mail's are. narrations and posts keep their newsroom_changed()
 * trigger (schema_pg/006): a narration becoming ready changes the article
 * page (its player) and the podcast feed, so every write here moves
 * store_version() on every node (pg_write_end, seen = 1). The save is one
 * INSERT ... ON CONFLICT DO UPDATE on 001's unique (post_id, source_hash,
 * voice); the prune is one DELETE ... RETURNING, so the files it returns
 * are exactly those of the rows it deleted.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/log.h"
#include "store/store_pg.h"

/* --- rows ---------------------------------------------------------------- */

/* NARRATION_COLS (store_sql.h) from column first on. */
static void read_narration(struct arena *a, const PGresult *r, int i, int first,
                           struct store_narration *n)
{
    n->id = pg_col_int(r, i, first);
    n->post_id = pg_col_int(r, i, first + 1);
    n->source_hash = pg_col_text(a, r, i, first + 2);
    n->file = pg_col_text(a, r, i, first + 3);
    n->duration_ms = pg_col_int(r, i, first + 4);
    n->bytes = pg_col_int(r, i, first + 5);
    n->voice = pg_col_text(a, r, i, first + 6);
    n->state = store_sql_nar_state_parse(PQgetvalue(r, i, first + 7));
    n->error = pg_col_text(a, r, i, first + 8);
    n->created_at = pg_col_int(r, i, first + 9);
}

static void narration_row(struct arena *a, const PGresult *r, int i, void *item)
{
    read_narration(a, r, i, 0, item);
}

/* NARRATION_COLS, then the post's slug, title, excerpt, standfirst,
 * published_at, updated_at and the joined author names. */
static void episode_row(struct arena *a, const PGresult *r, int i, void *item)
{
    struct store_episode *e = item;
    int c = NNARRATION_COLS;

    read_narration(a, r, i, 0, &e->nar);
    e->slug = pg_col_text(a, r, i, c);
    e->title = pg_col_text(a, r, i, c + 1);
    e->excerpt = pg_col_text(a, r, i, c + 2);
    e->standfirst = pg_col_text(a, r, i, c + 3);
    e->published_at = pg_col_int(r, i, c + 4);
    e->updated_at = pg_col_int(r, i, c + 5);
    e->authors = pg_col_text(a, r, i, c + 6);
    if (!e->authors)
        e->authors = "";
}

static void id_row(struct arena *a, const PGresult *r, int i, void *item)
{
    (void)a;
    *(int64_t *)item = pg_col_int(r, i, 0);
}

static void text_row(struct arena *a, const PGresult *r, int i, void *item)
{
    *(const char **)item = pg_col_text(a, r, i, 0);
}

/* --- narrations ---------------------------------------------------------- */

int pg_narration_save(struct store *st, struct store_narration *n)
{
    const char *state = store_sql_nar_state_name((int)n->state);
    struct pg_params p = {0};
    int64_t id = 0;
    int rc;

    if (!state || !n->source_hash || !n->voice) {
        log_error("cannot save narration of post %lld: no source hash, "
                  "voice or known state",
                  (long long)n->post_id);
        return STORE_ERROR;
    }
    pg_param_int(&p, 1, n->post_id);
    pg_param_text(&p, 2, n->source_hash);
    pg_param_text(&p, 3, n->file);
    pg_param_int(&p, 4, n->duration_ms);
    pg_param_int(&p, 5, n->bytes);
    pg_param_text(&p, 6, n->voice);
    pg_param_text(&p, 7, state);
    pg_param_text(&p, 8, n->error);
    pg_param_int(&p, 9, n->created_at);
    rc = pg_write1(st, NULL,
                   "INSERT INTO narrations (post_id, source_hash, file, "
                   "duration_ms, bytes, voice, state, error, created_at) "
                   "VALUES ($1::bigint, $2::text, $3::text, $4::bigint, "
                   "$5::bigint, $6::text, $7::text, $8::text, $9::bigint) "
                   "ON CONFLICT (post_id, source_hash, voice) DO UPDATE SET "
                   "file = EXCLUDED.file, duration_ms = EXCLUDED.duration_ms, "
                   "bytes = EXCLUDED.bytes, state = EXCLUDED.state, "
                   "error = EXCLUDED.error, created_at = EXCLUDED.created_at "
                   "RETURNING id",
                   &p, id_row, &id, sizeof id, 1, NULL, 1, "save narration");
    if (rc == 0)
        n->id = id;
    return rc;
}

int pg_narration_latest(struct store *st, struct arena *a, int64_t post_id,
                        struct store_narration *out)
{
    struct pg_params p = {0};

    pg_param_int(&p, 1, post_id);
    return pg_query_one(st, a,
                        "SELECT " NARRATION_COLS " FROM narrations n "
                        "WHERE n.post_id = $1::bigint "
                        "ORDER BY n.created_at DESC, n.id DESC LIMIT 1",
                        &p, sizeof *out, narration_row, out, "read narration");
}

int pg_narration_ready(struct store *st, struct arena *a, int64_t post_id,
                       struct store_narration *out)
{
    struct pg_params p = {0};

    pg_param_int(&p, 1, post_id);
    return pg_query_one(st, a,
                        "SELECT " NARRATION_COLS " FROM narrations n "
                        "WHERE n.post_id = $1::bigint AND n.state = 'ready' "
                        "ORDER BY n.created_at DESC, n.id DESC LIMIT 1",
                        &p, sizeof *out, narration_row, out, "read narration");
}

int pg_narrations_prune(struct store *st, struct arena *a, int64_t post_id,
                        int64_t keep_id, const char ***files, size_t *n)
{
    struct store_pg_conn *c = pg_conn_get(pg_of(st));
    struct pg_params p = {0};
    PGresult *res = NULL;
    const char **got = NULL;
    size_t ngot = 0;
    int rc;

    if (files)
        *files = NULL;
    *n = 0;
    if (!c)
        return STORE_ERROR;
    pg_param_int(&p, 1, post_id);
    pg_param_int(&p, 2, keep_id);
    rc = pg_write_begin(c);
    if (rc != 0)
        return rc;
    rc = pg_exec_sql(c,
                     "WITH gone AS (DELETE FROM narrations "
                     "WHERE post_id = $1::bigint AND id <> $2::bigint "
                     "RETURNING file, state) "
                     "SELECT file FROM gone "
                     "WHERE state = 'ready' AND file IS NOT NULL",
                     &p, &res, "prune narrations");
    rc = pg_write_end(c, rc);
    if (rc == 0) {
        *n = (size_t)PQntuples(res);
        if (files && *n) {
            pg_read_rows(a, res, sizeof *got, text_row, (void **)&got, &ngot);
            *files = got;
        }
    }
    PQclear(res);
    return rc;
}

/* --- the feed and the worker's list -------------------------------------- */

/* A post's authors by byline order, joined with ", ". */
#define EPISODE_AUTHORS                                                        \
    "(SELECT string_agg(a.name, ', ' ORDER BY pa.position, a.id) "             \
    "FROM post_authors pa JOIN authors a ON a.id = pa.author_id "              \
    "WHERE pa.post_id = p.id)"

int pg_episodes(struct store *st, struct arena *a, size_t limit,
                struct store_episode **out, size_t *n)
{
    struct pg_params p = {0};

    pg_param_int(&p, 1, limit ? pg_clamp64(limit) : EPISODES_LIMIT);
    return pg_query_rows(
        st, a,
        "SELECT " NARRATION_COLS ", p.slug, p.title, p.excerpt, "
        "p.standfirst, p.published_at, p.updated_at, " EPISODE_AUTHORS " "
        "FROM narrations n JOIN posts p ON p.id = n.post_id "
        "WHERE p.status = 'published' AND n.state = 'ready' "
        "AND n.id = (SELECT r.id FROM narrations r WHERE r.post_id = p.id "
        "AND r.state = 'ready' ORDER BY r.created_at DESC, r.id DESC "
        "LIMIT 1) "
        "ORDER BY p.published_at DESC, p.id DESC LIMIT $1::bigint",
        &p, sizeof **out, episode_row, (void **)out, n, "list episodes");
}

int pg_posts_unnarrated(struct store *st, struct arena *a, size_t limit,
                        int64_t **ids, size_t *n)
{
    struct pg_params p = {0};

    pg_param_int(&p, 1, limit ? pg_clamp64(limit) : UNNARRATED_LIMIT);
    return pg_query_rows(st, a,
                         "SELECT p.id FROM posts p "
                         "WHERE p.status = 'published' "
                         "AND p.narration_off = 0 AND NOT EXISTS "
                         "(SELECT 1 FROM narrations n WHERE n.post_id = p.id) "
                         "ORDER BY p.published_at, p.id LIMIT $1::bigint",
                         &p, sizeof **ids, id_row, (void **)ids, n,
                         "list posts to narrate");
}

int pg_post_set_narration_off(struct store *st, int64_t post_id, int off)
{
    struct pg_params p = {0};

    pg_param_int(&p, 1, post_id);
    pg_param_int(&p, 2, off ? 1 : 0);
    return pg_write1(st, NULL,
                     "UPDATE posts SET narration_off = $2::integer "
                     "WHERE id = $1::bigint",
                     &p, NULL, NULL, 0, 1, NULL, 1, "set narration off");
}
