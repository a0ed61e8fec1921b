/*
 * test_store.c - the store contract (store.h), run on every backend.
 *
 * Every contract_* function takes an empty, freshly migrated store and the
 * URL it was opened with, and uses only the public API; main() runs each
 * of them on SQLite, then on PostgreSQL. The sqlite_* tests check what
 * only the SQLite backend has: files, reopening, kill -9; the pg_* tests
 * what only PostgreSQL has: migrations raced by two processes, connections
 * dropped by the server.
 *
 * PostgreSQL: NEWSROOM_TEST_PG names a server (tests/run.py starts one
 * with scripts/pg.sh); each contract gets a database of its own, created
 * here and dropped at the end. Unset, the PostgreSQL part is skipped,
 * except under CI (CI set), where that is a failure: CI tests both.
 */
#include <ftw.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "core/arena.h"
#include "core/log.h"
#include "store/store.h"

static char tmpdir[] = "/tmp/newsroom-store-XXXXXX";
static int dbseq;

/* "sqlite:<tmpdir>/dbN.sqlite" for a new N. */
static int new_url(char *url, size_t len)
{
    snprintf(url, len, "sqlite:%s/db%d.sqlite", tmpdir, ++dbseq);
    return 0;
}

/* --- PostgreSQL test databases ------------------------------------------- */

#define PG_DBS_MAX 64

static const char *pg_base; /* NEWSROOM_TEST_PG, or NULL */
static PGconn *pg_admin;    /* connection to pg_base, creates databases */
static char pg_dbs[PG_DBS_MAX][64]; /* databases made, dropped at the end */
static int pg_ndbs;

/* pg_base with its database name replaced by db. */
static void pg_url_for(char *url, size_t len, const char *db)
{
    const char *host = strstr(pg_base, "://");
    const char *slash, *query;

    host = host ? host + 3 : pg_base;
    slash = strchr(host, '/');
    query = strchr(host, '?');
    if (slash && query && slash > query)
        slash = NULL;
    if (!slash)
        slash = query ? query : host + strlen(host);
    snprintf(url, len, "%.*s/%s%s", (int)(slash - pg_base), pg_base, db,
             query ? query : "");
}

/* A new empty database on the test server; its URL in url. */
static int pg_new_url(char *url, size_t len)
{
    char sql[128];
    PGresult *res;
    int ok;

    if (pg_ndbs == PG_DBS_MAX)
        return -1;
    snprintf(pg_dbs[pg_ndbs], sizeof pg_dbs[0], "newsroom_t%d_%d",
             (int)getpid(), ++dbseq);
    snprintf(sql, sizeof sql, "CREATE DATABASE %.63s", pg_dbs[pg_ndbs]);
    res = PQexec(pg_admin, sql);
    ok = PQresultStatus(res) == PGRES_COMMAND_OK;
    if (!ok)
        printf("# cannot create database: %s", PQerrorMessage(pg_admin));
    PQclear(res);
    if (!ok)
        return -1;
    pg_url_for(url, len, pg_dbs[pg_ndbs++]);
    return 0;
}

static void pg_drop_all(void)
{
    char sql[128];

    for (int i = 0; i < pg_ndbs; i++) {
        snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %.63s WITH (FORCE)",
                 pg_dbs[i]);
        PQclear(PQexec(pg_admin, sql));
    }
    PQfinish(pg_admin);
    pg_admin = NULL;
}

/* One integer answer of sql on the database at url, or -1. */
static long long pg_query_int(const char *url, const char *sql)
{
    PGconn *c = PQconnectdb(url);
    PGresult *res = PQexec(c, sql);
    long long v = -1;

    if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
        v = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    PQfinish(c);
    return v;
}

/* A store's version moves soon after a commit: at once for this handle's
 * own writes, a moment later for another handle's on PostgreSQL (NOTIFY
 * is delivered after the writer's COMMIT returns). Waits up to 5 s. */
static int version_moves(struct store *st, uint64_t v)
{
    for (int i = 0; i < 500; i++) {
        if (store_version(st) != v)
            return 1;
        usleep(10000);
    }
    return 0;
}

static struct store_post mkpost(const char *slug, enum store_post_status status,
                                int64_t at)
{
    struct store_post p;

    memset(&p, 0, sizeof p);
    p.slug = slug;
    p.title = slug;
    p.excerpt = "excerpt";
    p.markdown = "Body *text*";
    p.html = "<p>Body <em>text</em></p>";
    p.plaintext = "Body text";
    p.language = "en";
    p.status = status;
    p.published_at = at;
    return p;
}

/* "a,b,c" from the slugs of a post list. */
static const char *slugs(struct arena *a, const struct store_post *p, size_t n)
{
    const char *s = "";
    for (size_t i = 0; i < n; i++)
        s = arena_printf(a, "%s%s%s", s, i ? "," : "", p[i].slug);
    return s;
}

static struct store_post_query published(void)
{
    struct store_post_query q;

    memset(&q, 0, sizeof q);
    q.status = STORE_POST_PUBLISHED;
    return q;
}

/* --- contract ------------------------------------------------------------ */

static void contract_settings(struct store *st, const char *url)
{
    struct arena a;

    (void)url;
    arena_init(&a);
    CHECK(store_setting_get(st, &a, "site.title") == NULL,
          "an unset setting reads as NULL");
    CHECK(store_setting_set(st, "site.title", "The Courier") == 0,
          "a setting saves");
    CHECK_STR(store_setting_get(st, &a, "site.title"), "The Courier",
              "a setting reads back");
    CHECK(store_setting_set(st, "site.title", "The Halvany Courier") == 0,
          "a setting is overwritten");
    CHECK_STR(store_setting_get(st, &a, "site.title"), "The Halvany Courier",
              "the overwritten value reads back");
    CHECK(store_setting_set(st, "site.title", NULL) == 0,
          "setting NULL removes a setting");
    CHECK(store_setting_get(st, &a, "site.title") == NULL,
          "a removed setting reads as NULL");
    arena_release(&a);
}

static void contract_images(struct store *st, const char *url)
{
    struct store_image img = {0}, got, dup = {0};
    struct arena a;

    (void)url;
    arena_init(&a);
    img.name = "images/harbour";
    img.width = 1600;
    img.height = 900;
    img.widths = "480,960,1600";
    img.formats = "webp,jpg";
    img.alt = "Cranes over the harbour";
    CHECK(store_image_save(st, &img) == 0 && img.id > 0,
          "an image saves and gets an id");
    CHECK(store_image_get(st, &a, img.id, &got) == 0, "an image reads back");
    CHECK(got.id == img.id && got.width == 1600 && got.height == 900,
          "image size round-trips");
    CHECK_STR(got.name, "images/harbour", "image name round-trips");
    CHECK_STR(got.widths, "480,960,1600", "image widths round-trip");
    CHECK_STR(got.formats, "webp,jpg", "image formats round-trip");
    CHECK_STR(got.alt, "Cranes over the harbour", "image alt round-trips");
    img.alt = NULL;
    CHECK(store_image_save(st, &img) == 0, "an image updates");
    CHECK(store_image_get(st, &a, img.id, &got) == 0 && got.alt == NULL,
          "a NULL alt reads back as NULL");
    dup.name = "images/harbour";
    CHECK(store_image_save(st, &dup) == STORE_CONFLICT && dup.id == 0,
          "a second image with the same name is a conflict");
    CHECK(store_image_get(st, &a, img.id + 100, &got) == STORE_NOTFOUND,
          "a missing image is not found");
    arena_release(&a);
}

static void contract_authors_tags(struct store *st, const char *url)
{
    struct store_image avatar = {0};
    struct store_author zed = {0}, amy = {0}, dup = {0}, got, *list;
    struct store_tag world = {0}, economy = {0}, climate = {0}, tag, *tags;
    struct arena a;
    size_t n;

    (void)url;
    arena_init(&a);
    avatar.name = "images/amy";
    avatar.width = avatar.height = 400;
    avatar.widths = "200,400";
    avatar.formats = "webp,jpg";
    store_image_save(st, &avatar);

    zed.slug = "zed-okafor";
    zed.name = "Zed Okafor";
    amy.slug = "amy-lind";
    amy.name = "Amy Lind";
    amy.role = "Senior correspondent";
    amy.email = "amy@example.org";
    amy.location = "Halvany";
    amy.bio = "Covers *ports*.";
    amy.avatar_id = avatar.id;
    CHECK(store_author_save(st, &zed) == 0 && zed.id > 0, "an author saves");
    CHECK(store_author_save(st, &amy) == 0 && amy.id > 0,
          "a second author saves");
    CHECK(store_author_get_by_slug(st, &a, "amy-lind", &got) == 0,
          "an author reads back by slug");
    CHECK_STR(got.name, "Amy Lind", "author name round-trips");
    CHECK_STR(got.role, "Senior correspondent", "author role round-trips");
    CHECK_STR(got.email, "amy@example.org", "author email round-trips");
    CHECK_STR(got.location, "Halvany", "author location round-trips");
    CHECK_STR(got.bio, "Covers *ports*.", "author bio round-trips");
    CHECK(got.avatar_id == avatar.id && got.avatar && got.avatar->width == 400,
          "an author comes with the avatar image");
    CHECK(store_author_get_by_slug(st, &a, "zed-okafor", &got) == 0 &&
              got.avatar == NULL && got.role == NULL,
          "an author without avatar has none");
    dup.slug = "amy-lind";
    dup.name = "Another Amy";
    CHECK(store_author_save(st, &dup) == STORE_CONFLICT,
          "a taken author slug is a conflict");
    CHECK(store_author_get_by_slug(st, &a, "nobody", &got) == STORE_NOTFOUND,
          "a missing author is not found");
    CHECK(store_authors_list(st, &a, &list, &n) == 0 && n == 2, "authors list");
    CHECK(n == 2 && strcmp(list[0].slug, "amy-lind") == 0 &&
              strcmp(list[1].slug, "zed-okafor") == 0,
          "authors are listed by name");

    world.slug = "world";
    world.name = "World";
    world.kind = STORE_TAG_SECTION;
    world.position = 2;
    economy.slug = "economy";
    economy.name = "Economy";
    economy.kind = STORE_TAG_SECTION;
    economy.position = 1;
    climate.slug = "climate";
    climate.name = "Climate";
    climate.description = "Warming and weather";
    CHECK(store_tag_save(st, &world) == 0 &&
              store_tag_save(st, &economy) == 0 &&
              store_tag_save(st, &climate) == 0,
          "tags and sections save");
    CHECK(store_tag_get_by_slug(st, &a, "climate", &tag) == 0 &&
              tag.kind == STORE_TAG_TAG,
          "a tag reads back by slug");
    CHECK_STR(tag.description, "Warming and weather",
              "tag description round-trips");
    CHECK(store_tag_get_by_slug(st, &a, "world", &tag) == 0 &&
              tag.kind == STORE_TAG_SECTION && tag.position == 2,
          "a section keeps its kind and position");
    tag.name = "The World";
    CHECK(store_tag_save(st, &tag) == 0, "a tag updates");
    CHECK(store_tag_get_by_slug(st, &a, "world", &tag) == 0 &&
              strcmp(tag.name, "The World") == 0,
          "the updated tag reads back");
    CHECK(store_tags_list(st, &a, STORE_TAG_SECTION, &tags, &n) == 0 &&
              n == 2 && strcmp(tags[0].slug, "economy") == 0 &&
              strcmp(tags[1].slug, "world") == 0,
          "sections are listed by position");
    CHECK(store_tags_list(st, &a, -1, &tags, &n) == 0 && n == 3 &&
              strcmp(tags[2].slug, "climate") == 0,
          "all tags: sections first, then tags");
    CHECK(store_tags_list(st, &a, STORE_TAG_TAG, &tags, &n) == 0 && n == 1,
          "free tags list alone");
    climate.id = 0;
    climate.kind = STORE_TAG_SECTION;
    CHECK(store_tag_save(st, &climate) == STORE_CONFLICT,
          "a tag slug is unique across kinds");
    arena_release(&a);
}

static void contract_posts(struct store *st, const char *url)
{
    struct store_image img = {0};
    struct store_author au1 = {0}, au2 = {0};
    struct store_tag sec = {0}, t1 = {0}, t2 = {0};
    struct store_post p, q, got;
    struct arena a;
    int64_t authors[2], tags[3];

    (void)url;
    arena_init(&a);
    img.name = "images/grid";
    img.width = 1200;
    img.height = 800;
    img.widths = "480,1200";
    img.formats = "webp,jpg";
    store_image_save(st, &img);
    au1.slug = "first";
    au1.name = "First Author";
    au2.slug = "second";
    au2.name = "Second Author";
    store_author_save(st, &au1);
    store_author_save(st, &au2);
    sec.slug = "economy";
    sec.name = "Economy";
    sec.kind = STORE_TAG_SECTION;
    t1.slug = "energy";
    t1.name = "Energy";
    t2.slug = "grid";
    t2.name = "Grid";
    store_tag_save(st, &sec);
    store_tag_save(st, &t1);
    store_tag_save(st, &t2);

    p = mkpost("power-grid", STORE_POST_PUBLISHED, 1730430420);
    p.title = "The grid holds";
    p.standfirst = "Winter demand peaked without cuts";
    p.meta_title = "Grid";
    p.meta_description = "How the grid held";
    p.featured = 1;
    p.pick_order = 2;
    p.words = 1234;
    p.reading_minutes = 6;
    p.feature_image_id = img.id;
    p.feature_alt = "Pylons at dusk";
    p.feature_caption = "Pylons near *Ostrev*";
    p.feature_credit = "Photo: Desk";
    p.updated_at = 1730440000;
    /* byline order second, first; tags given with the section last */
    authors[0] = au2.id;
    authors[1] = au1.id;
    tags[0] = t2.id;
    tags[1] = t1.id;
    tags[2] = sec.id;
    CHECK(store_post_save(st, &p, authors, 2, tags, 3) == 0 && p.id > 0,
          "a post saves with authors and tags");
    CHECK(p.created_at > 0, "a new post gets a creation time");
    CHECK(store_post_get_by_slug(st, &a, "power-grid", &got) == 0,
          "a post reads back by slug");
    CHECK(got.id == p.id, "post id round-trips");
    CHECK_STR(got.title, "The grid holds", "post title round-trips");
    CHECK_STR(got.standfirst, "Winter demand peaked without cuts",
              "standfirst round-trips");
    CHECK_STR(got.markdown, "Body *text*", "markdown round-trips");
    CHECK_STR(got.html, "<p>Body <em>text</em></p>", "html round-trips");
    CHECK_STR(got.plaintext, "Body text", "plaintext round-trips");
    CHECK_STR(got.excerpt, "excerpt", "excerpt round-trips");
    CHECK_STR(got.meta_title, "Grid", "meta title round-trips");
    CHECK_STR(got.meta_description, "How the grid held",
              "meta description round-trips");
    CHECK_STR(got.language, "en", "language round-trips");
    CHECK_STR(got.feature_alt, "Pylons at dusk", "feature alt round-trips");
    CHECK_STR(got.feature_caption, "Pylons near *Ostrev*",
              "feature caption round-trips");
    CHECK_STR(got.feature_credit, "Photo: Desk", "feature credit round-trips");
    CHECK(got.status == STORE_POST_PUBLISHED && got.featured == 1 &&
              got.pick_order == 2 && got.words == 1234 &&
              got.reading_minutes == 6,
          "post status, flags and counts round-trip");
    CHECK(got.published_at == 1730430420 && got.updated_at == 1730440000 &&
              got.created_at == p.created_at,
          "post times round-trip");
    CHECK(got.feature_image && got.feature_image->id == img.id &&
              strcmp(got.feature_image->name, "images/grid") == 0 &&
              got.feature_image->width == 1200,
          "the feature image comes with the post");
    CHECK(got.nauthors == 2 && strcmp(got.authors[0].slug, "second") == 0 &&
              strcmp(got.authors[1].slug, "first") == 0,
          "authors keep byline order");
    CHECK(got.ntags == 3 && strcmp(got.tags[0].slug, "economy") == 0 &&
              strcmp(got.tags[1].slug, "grid") == 0 &&
              strcmp(got.tags[2].slug, "energy") == 0,
          "the section comes first, then tags in their order");
    CHECK(store_post_get(st, &a, p.id, &got) == 0 &&
              strcmp(got.slug, "power-grid") == 0 && got.nauthors == 2,
          "a post reads back by id");

    /* update: new title, one author, no tags, no image */
    p.title = "The grid held";
    p.feature_image_id = 0;
    p.standfirst = NULL;
    CHECK(store_post_save(st, &p, &au1.id, 1, NULL, 0) == 0, "a post updates");
    CHECK(store_post_get(st, &a, p.id, &got) == 0 &&
              strcmp(got.title, "The grid held") == 0 && got.nauthors == 1 &&
              got.ntags == 0 && got.feature_image == NULL &&
              got.standfirst == NULL,
          "the update replaces title, authors, tags and image");

    q = mkpost("power-grid", STORE_POST_DRAFT, 0);
    CHECK(store_post_save(st, &q, NULL, 0, NULL, 0) == STORE_CONFLICT &&
              q.id == 0,
          "a taken slug is a conflict and leaves the id unset");
    q = mkpost("other", STORE_POST_DRAFT, 0);
    store_post_save(st, &q, NULL, 0, NULL, 0);
    q.slug = "power-grid";
    CHECK(store_post_save(st, &q, NULL, 0, NULL, 0) == STORE_CONFLICT,
          "renaming to a taken slug is a conflict");
    CHECK(store_post_get_by_slug(st, &a, "other", &got) == 0,
          "the refused rename changed nothing");
    CHECK(store_post_get_by_slug(st, &a, "missing", &got) == STORE_NOTFOUND,
          "a missing slug is not found");
    CHECK(store_post_get(st, &a, 999999, &got) == STORE_NOTFOUND,
          "a missing id is not found");
    q = mkpost("ghost", STORE_POST_DRAFT, 0);
    q.id = 999999;
    CHECK(store_post_save(st, &q, NULL, 0, NULL, 0) == STORE_NOTFOUND,
          "updating a missing post is not found");
    arena_release(&a);
}

static void contract_list(struct store *st, const char *url)
{
    struct store_image img = {0};
    struct store_author ana = {0}, ben = {0};
    struct store_tag world = {0}, economy = {0}, climate = {0};
    struct store_post p[6], *out;
    struct store_post_query q;
    struct arena a;
    size_t n, total;
    int64_t t[2];

    (void)url;
    arena_init(&a);
    img.name = "images/p1";
    store_image_save(st, &img);
    ana.slug = "ana";
    ana.name = "Ana";
    ben.slug = "ben";
    ben.name = "Ben";
    store_author_save(st, &ana);
    store_author_save(st, &ben);
    world.slug = "world";
    world.name = "World";
    world.kind = STORE_TAG_SECTION;
    economy.slug = "economy";
    economy.name = "Economy";
    economy.kind = STORE_TAG_SECTION;
    climate.slug = "climate";
    climate.name = "Climate";
    store_tag_save(st, &world);
    store_tag_save(st, &economy);
    store_tag_save(st, &climate);

    p[0] = mkpost("p1", STORE_POST_PUBLISHED, 1000);
    p[0].featured = 1;
    p[0].feature_image_id = img.id;
    store_post_save(st, &p[0], &ana.id, 1, &world.id, 1);
    p[1] = mkpost("p2", STORE_POST_PUBLISHED, 2000);
    p[1].pick_order = 2;
    t[0] = ben.id;
    t[1] = ana.id;
    int64_t tags2[2] = {climate.id, world.id};
    store_post_save(st, &p[1], t, 2, tags2, 2);
    p[2] = mkpost("p3", STORE_POST_PUBLISHED, 3000);
    p[2].pick_order = 1;
    p[2].featured = 1;
    store_post_save(st, &p[2], &ben.id, 1, &economy.id, 1);
    p[3] = mkpost("p4", STORE_POST_DRAFT, 0);
    store_post_save(st, &p[3], &ana.id, 1, &world.id, 1);
    p[4] = mkpost("p5", STORE_POST_SCHEDULED, 5000);
    store_post_save(st, &p[4], &ben.id, 1, &climate.id, 1);
    p[5] = mkpost("p6", STORE_POST_PUBLISHED, 3000);
    p[5].pick_order = 3;
    store_post_save(st, &p[5], &ana.id, 1, &economy.id, 1);

    q = published();
    CHECK(store_posts_list(st, &a, &q, &out, &n, &total) == 0,
          "published posts list");
    CHECK_STR(slugs(&a, out, n), "p6,p3,p2,p1", "newest first, ties by id");
    CHECK(total == 4, "total counts the published posts");
    CHECK(n == 4 && out[3].feature_image &&
              strcmp(out[3].feature_image->name, "images/p1") == 0,
          "listed posts carry their feature image");
    CHECK(n == 4 && out[2].nauthors == 2 &&
              strcmp(out[2].authors[0].slug, "ben") == 0 &&
              strcmp(out[2].authors[1].slug, "ana") == 0,
          "listed posts carry authors in byline order");
    CHECK(n == 4 && out[2].ntags == 2 &&
              strcmp(out[2].tags[0].slug, "world") == 0 &&
              strcmp(out[2].tags[1].slug, "climate") == 0,
          "listed posts carry tags, section first");
    CHECK(n == 4 && out[0].nauthors == 1 && out[0].ntags == 1 &&
              strcmp(out[0].authors[0].slug, "ana") == 0,
          "each listed post has its own authors");
    CHECK(n == 4 && out[0].markdown == NULL && out[0].html == NULL,
          "bodies are left out unless asked for");
    q.with_body = 1;
    CHECK(store_posts_list(st, &a, &q, &out, &n, NULL) == 0 && n == 4 &&
              out[0].html &&
              strcmp(out[0].html, "<p>Body <em>text</em></p>") == 0,
          "with_body fills the body");

    q = published();
    q.status = -1;
    store_posts_list(st, &a, &q, &out, &n, &total);
    CHECK_STR(slugs(&a, out, n), "p5,p6,p3,p2,p1,p4",
              "status -1 lists every post");
    CHECK(total == 6, "total counts every post");
    memset(&q, 0, sizeof q);
    store_posts_list(st, &a, &q, &out, &n, &total);
    CHECK_STR(slugs(&a, out, n), "p4", "a zeroed query lists drafts");
    q.status = STORE_POST_SCHEDULED;
    store_posts_list(st, &a, &q, &out, &n, &total);
    CHECK_STR(slugs(&a, out, n), "p5", "status scheduled");

    q = published();
    q.tag_slug = "world";
    store_posts_list(st, &a, &q, &out, &n, &total);
    CHECK_STR(slugs(&a, out, n), "p2,p1", "filter by section");
    q.status = -1;
    q.tag_slug = "climate";
    store_posts_list(st, &a, &q, &out, &n, &total);
    CHECK_STR(slugs(&a, out, n), "p5,p2", "filter by tag, any status");
    q.tag_slug = "no-such-tag";
    CHECK(store_posts_list(st, &a, &q, &out, &n, &total) == 0 && n == 0 &&
              total == 0,
          "an unknown tag lists nothing");

    q = published();
    q.author_slug = "ben";
    store_posts_list(st, &a, &q, &out, &n, &total);
    CHECK_STR(slugs(&a, out, n), "p3,p2", "filter by author");
    q.tag_slug = "economy";
    store_posts_list(st, &a, &q, &out, &n, &total);
    CHECK_STR(slugs(&a, out, n), "p3", "filter by author and tag");

    q = published();
    q.featured_only = 1;
    store_posts_list(st, &a, &q, &out, &n, &total);
    CHECK_STR(slugs(&a, out, n), "p3,p1", "featured only");

    q = published();
    q.picks_only = 1;
    store_posts_list(st, &a, &q, &out, &n, &total);
    CHECK_STR(slugs(&a, out, n), "p3,p2,p6", "picks by pick order");

    q = published();
    q.published_before = 2500;
    store_posts_list(st, &a, &q, &out, &n, &total);
    CHECK_STR(slugs(&a, out, n), "p2,p1", "published_before bounds the time");
    q.published_before = 2000;
    store_posts_list(st, &a, &q, &out, &n, &total);
    CHECK_STR(slugs(&a, out, n), "p2,p1", "published_before is inclusive");

    q = published();
    q.exclude_slug = "p3";
    store_posts_list(st, &a, &q, &out, &n, &total);
    CHECK_STR(slugs(&a, out, n), "p6,p2,p1", "exclude leaves one post out");
    CHECK(total == 3, "total honours exclude");

    q = published();
    q.limit = 2;
    q.offset = 1;
    CHECK(store_posts_list(st, &a, &q, &out, &n, &total) == 0,
          "a page of posts lists");
    CHECK_STR(slugs(&a, out, n), "p3,p2", "limit and offset pick a page");
    CHECK(total == 4, "total ignores limit and offset");
    q.offset = 10;
    CHECK(store_posts_list(st, &a, &q, &out, &n, &total) == 0 && n == 0 &&
              total == 4,
          "a page past the end is empty with the right total");
    q.offset = 0;
    q.limit = 0;
    store_posts_list(st, &a, &q, &out, &n, &total);
    CHECK(n == 4, "limit 0 means the default page");
    arena_release(&a);
}

static void contract_corrections(struct store *st, const char *url)
{
    struct store_post p = mkpost("corrected", STORE_POST_PUBLISHED, 100);
    struct store_correction c1 = {0}, c2 = {0}, c3 = {0}, *out;
    struct arena a;
    size_t n;

    (void)url;
    arena_init(&a);
    store_post_save(st, &p, NULL, 0, NULL, 0);
    c1.post_id = c2.post_id = c3.post_id = p.id;
    c1.at = 300;
    c1.text = "Third";
    c2.at = 100;
    c2.text = "First";
    c3.at = 200;
    c3.text = "Second";
    CHECK(store_correction_add(st, &c1) == 0 && c1.id > 0, "a correction adds");
    store_correction_add(st, &c2);
    store_correction_add(st, &c3);
    CHECK(store_corrections_list(st, &a, p.id, &out, &n) == 0 && n == 3,
          "corrections list");
    CHECK(n == 3 && strcmp(out[0].text, "First") == 0 &&
              strcmp(out[1].text, "Second") == 0 &&
              strcmp(out[2].text, "Third") == 0 && out[0].post_id == p.id,
          "corrections are oldest first");
    CHECK(store_corrections_list(st, &a, p.id + 1, &out, &n) == 0 && n == 0,
          "another post has no corrections");
    arena_release(&a);
}

static void contract_live(struct store *st, const char *url)
{
    struct store_live lu[4], *out;
    struct arena a;
    size_t n;

    (void)url;
    arena_init(&a);
    memset(lu, 0, sizeof lu);
    for (int i = 0; i < 4; i++) {
        lu[i].at = i < 3 ? (i + 1) * 100 : 300;
        lu[i].headline = arena_printf(&a, "Update %d", i + 1);
        lu[i].body = "Short *text*";
        lu[i].html = "<p>Short <em>text</em></p>";
    }
    lu[1].link_slug = "power-grid";
    lu[1].key = 1;
    for (int i = 0; i < 4; i++)
        CHECK(store_live_save(st, &lu[i]) == 0 && lu[i].id > 0,
              "live update %d saves", i + 1);
    CHECK(store_live_list(st, &a, 0, 10, &out, &n) == 0 && n == 4,
          "live updates list");
    CHECK(n == 4 && out[0].id == lu[3].id && out[1].id == lu[2].id &&
              out[2].id == lu[1].id && out[3].id == lu[0].id,
          "live updates are newest first, ties newest id first");
    CHECK(n == 4 && out[2].key == 1 && out[2].link_slug &&
              strcmp(out[2].link_slug, "power-grid") == 0 &&
              strcmp(out[2].html, "<p>Short <em>text</em></p>") == 0,
          "live update fields round-trip");
    CHECK(store_live_list(st, &a, 300, 10, &out, &n) == 0 && n == 2 &&
              out[0].id == lu[1].id && out[1].id == lu[0].id,
          "before lists only older updates");
    CHECK(store_live_list(st, &a, 0, 1, &out, &n) == 0 && n == 1 &&
              out[0].id == lu[3].id,
          "limit caps the list");
    lu[0].headline = "Update 1, corrected";
    lu[0].updated_at = 150;
    CHECK(store_live_save(st, &lu[0]) == 0, "a live update is edited");
    store_live_list(st, &a, 200, 10, &out, &n);
    CHECK(n == 1 && strcmp(out[0].headline, "Update 1, corrected") == 0 &&
              out[0].updated_at == 150,
          "the edit reads back");
    CHECK(store_live_delete(st, lu[1].id) == 0, "a live update deletes");
    CHECK(store_live_list(st, &a, 0, 10, &out, &n) == 0 && n == 3,
          "the deleted update is gone");
    CHECK(store_live_delete(st, lu[1].id) == STORE_NOTFOUND,
          "deleting twice is not found");
    arena_release(&a);
}

/* The change log readers resume from: every post, edit and delete, in
 * order, with the update's current content, whoever wrote it. */
static void contract_live_events(struct store *st, const char *url)
{
    struct store_live a1 = {0}, a2 = {0}, got;
    struct store_live_event *ev;
    struct arena a;
    size_t n;

    arena_init(&a);
    CHECK(store_live_last_seq(st) == 0, "empty log has seq 0");
    a1.headline = "First";
    a1.at = 1000;
    a2.headline = "Second";
    a2.at = 1001;
    store_live_save(st, &a1);
    store_live_save(st, &a2);
    a1.headline = "First, edited";
    a1.updated_at = 1005;
    store_live_save(st, &a1);
    store_live_delete(st, a2.id);
    CHECK(store_live_get(st, &a, a1.id, &got) == 0 &&
              strcmp(got.headline, "First, edited") == 0,
          "live update reads back by id");
    CHECK(store_live_get(st, &a, a2.id, &got) == STORE_NOTFOUND,
          "deleted update is not found by id");
    CHECK(store_live_events(st, &a, 0, 100, &ev, &n) == 0 && n == 4,
          "four changes logged (got %zu)", n);
    CHECK(n == 4 && ev[0].kind == STORE_LIVE_POST && ev[0].live_id == a1.id &&
              ev[1].kind == STORE_LIVE_POST && ev[1].live_id == a2.id &&
              ev[2].kind == STORE_LIVE_EDIT && ev[2].live_id == a1.id &&
              ev[3].kind == STORE_LIVE_DELETE && ev[3].live_id == a2.id,
          "changes are logged in commit order");
    CHECK(n == 4 && ev[0].seq < ev[1].seq && ev[1].seq < ev[2].seq &&
              ev[2].seq < ev[3].seq && store_live_last_seq(st) == ev[3].seq,
          "seq only grows and last_seq is the newest");
    CHECK(n == 4 && ev[0].present &&
              strcmp(ev[0].lu.headline, "First, edited") == 0 &&
              !ev[1].present && !ev[3].present,
          "entries carry the update as it is now");
    int64_t mid = n == 4 ? ev[1].seq : 0;
    CHECK(store_live_events(st, &a, mid, 100, &ev, &n) == 0 && n == 2 &&
              ev[0].kind == STORE_LIVE_EDIT,
          "resuming after a seq gives only what came later");
    CHECK(store_live_events(st, &a, mid, 1, &ev, &n) == 0 && n == 1,
          "limit caps the replay");
    /* another handle on the same database (another process) sees them */
    char err[256];
    struct store *other = store_open(url, err, sizeof err);
    CHECK(other != NULL, "second handle opens (%s)", other ? "" : err);
    if (other) {
        struct store_live a3 = {0};
        a3.headline = "From elsewhere";
        a3.at = 1010;
        store_live_save(other, &a3);
        CHECK(store_live_last_seq(st) > mid + 2,
              "a write by another handle is logged");
        store_close(other);
    }
    arena_release(&a);
}

/* Writers post live updates on three threads while a reader follows the
 * log as a live stream does (events after the last seq it saw): the
 * reader must get every update exactly once, so no seq may become visible
 * after a higher one was read. */
#define LIVE_WRITERS 3
#define LIVE_POSTS 40

struct live_writer {
    struct store *st; /* shared store */
    int errors;       /* failed saves */
    atomic_int *done; /* writers finished, shared */
};

static void *live_writer_run(void *arg)
{
    struct live_writer *w = arg;

    for (int i = 0; i < LIVE_POSTS; i++) {
        struct store_live lu = {0};
        lu.headline = "Concurrent";
        lu.at = 1000 + i;
        if (store_live_save(w->st, &lu) != 0)
            w->errors++;
    }
    atomic_fetch_add(w->done, 1);
    return NULL;
}

static void contract_live_order(struct store *st, const char *url)
{
    struct live_writer w[LIVE_WRITERS];
    pthread_t th[LIVE_WRITERS];
    struct store_live_event *ev;
    struct arena a;
    atomic_int done;
    int64_t last = 0;
    size_t n, seen = 0;
    int errors = 0, backwards = 0, finished;

    (void)url;
    atomic_init(&done, 0);
    for (int i = 0; i < LIVE_WRITERS; i++) {
        w[i].st = st;
        w[i].errors = 0;
        w[i].done = &done;
        pthread_create(&th[i], NULL, live_writer_run, &w[i]);
    }
    arena_init(&a);
    do {
        /* read once more after the writers are done, up to the end */
        finished = atomic_load(&done) == LIVE_WRITERS;
        if (store_live_events(st, &a, last, 7, &ev, &n) != 0) {
            errors++;
            break;
        }
        for (size_t i = 0; i < n; i++) {
            if (ev[i].seq <= last)
                backwards++;
            last = ev[i].seq;
            seen++;
        }
        arena_release(&a);
    } while (!finished || n > 0);
    for (int i = 0; i < LIVE_WRITERS; i++) {
        pthread_join(th[i], NULL);
        errors += w[i].errors;
    }
    CHECK(errors == 0, "3 threads post live updates while one reads (%d)",
          errors);
    CHECK(seen == (size_t)LIVE_WRITERS * LIVE_POSTS && backwards == 0,
          "a reader following the log sees every update once, in order "
          "(%zu of %d)",
          seen, LIVE_WRITERS * LIVE_POSTS);
}

static void contract_newsletters(struct store *st, const char *url)
{
    struct store_author au = {0};
    struct store_newsletter a1 = {0}, a2 = {0}, off = {0}, dup = {0}, *out;
    struct arena a;
    size_t n;

    (void)url;
    arena_init(&a);
    au.slug = "columnist";
    au.name = "Columnist";
    store_author_save(st, &au);
    a1.slug = "explaining-ports";
    a1.name = "Explaining Ports";
    a1.description = "A weekly letter";
    a1.sender_name = "Amy Lind";
    a1.sender_email = "amy@example.org";
    a1.author_id = au.id;
    a1.active = 1;
    a1.position = 2;
    a2.slug = "morning";
    a2.name = "Morning Briefing";
    a2.active = 1;
    a2.position = 1;
    off.slug = "retired";
    off.name = "Retired";
    off.position = 0;
    CHECK(store_newsletter_save(st, &a1) == 0 && a1.id > 0,
          "a newsletter saves");
    store_newsletter_save(st, &a2);
    store_newsletter_save(st, &off);
    CHECK(store_newsletters_list(st, &a, 1, &out, &n) == 0 && n == 2,
          "active newsletters list");
    CHECK(n == 2 && strcmp(out[0].slug, "morning") == 0 &&
              strcmp(out[1].slug, "explaining-ports") == 0,
          "newsletters are ordered by position");
    CHECK(n == 2 && out[1].author_id == au.id &&
              strcmp(out[1].sender_email, "amy@example.org") == 0 &&
              strcmp(out[1].description, "A weekly letter") == 0 &&
              out[1].active == 1 && out[0].author_id == 0,
          "newsletter fields round-trip");
    CHECK(store_newsletters_list(st, &a, 0, &out, &n) == 0 && n == 3 &&
              strcmp(out[0].slug, "retired") == 0,
          "all newsletters include inactive ones");
    dup.slug = "morning";
    dup.name = "Dup";
    CHECK(store_newsletter_save(st, &dup) == STORE_CONFLICT,
          "a taken newsletter slug is a conflict");
    arena_release(&a);
}

static void contract_staff(struct store *st, const char *url)
{
    struct store_author au = {0};
    struct store_staff s1 = {0}, s2 = {0}, dup = {0}, got, *out;
    struct arena a;
    size_t n;
    int rc;

    (void)url;
    arena_init(&a);
    au.slug = "zoe";
    au.name = "Zoe Ward";
    store_author_save(st, &au);
    s1.email = "zoe@example.org";
    s1.name = "Zoe Ward";
    s1.role = "editor";
    s1.password_hash = "$argon2id$v=19$m=65536,t=2,p=1$one";
    s1.author_id = au.id;
    s1.created_at = 1700000000;
    s2.email = "abe@example.org";
    s2.name = "Abe Brown";
    s2.role = "contributor";
    s2.password_hash = "$argon2id$v=19$m=65536,t=2,p=1$two";
    CHECK(store_staff_save(st, &s1) == 0 && s1.id > 0, "an account saves");
    CHECK(store_staff_save(st, &s2) == 0 && s2.id > s1.id,
          "a second account saves");
    CHECK(store_staff_get_by_email(st, &a, "zoe@example.org", &got) == 0 &&
              got.id == s1.id && strcmp(got.name, "Zoe Ward") == 0 &&
              strcmp(got.role, "editor") == 0 &&
              strcmp(got.password_hash, s1.password_hash) == 0 &&
              got.author_id == au.id && got.created_at == 1700000000 &&
              got.disabled == 0,
          "account fields round-trip by email");
    CHECK(store_staff_get(st, &a, s2.id, &got) == 0 &&
              strcmp(got.email, "abe@example.org") == 0 && got.author_id == 0 &&
              got.created_at == 0,
          "an account reads by id");
    CHECK(store_staff_get_by_email(st, &a, "nobody@example.org", &got) ==
              STORE_NOTFOUND,
          "a missing email is not found");
    CHECK(store_staff_get(st, &a, s2.id + 100, &got) == STORE_NOTFOUND,
          "a missing id is not found");
    CHECK(store_staff_list(st, &a, &out, &n) == 0 && n == 2 &&
              strcmp(out[0].name, "Abe Brown") == 0 &&
              strcmp(out[1].name, "Zoe Ward") == 0,
          "accounts list by name");
    dup.email = "zoe@example.org";
    dup.name = "Another";
    dup.role = "author";
    dup.password_hash = "x";
    CHECK(store_staff_save(st, &dup) == STORE_CONFLICT && dup.id == 0,
          "a taken email is a conflict");
    s2.password_hash = "$argon2id$v=19$m=65536,t=2,p=1$new";
    s2.disabled = 1;
    s2.role = "administrator";
    s2.created_at = 5; /* ignored by an update */
    CHECK(store_staff_save(st, &s2) == 0, "an account updates");
    CHECK(store_staff_get(st, &a, s2.id, &got) == 0 &&
              strcmp(got.password_hash, s2.password_hash) == 0 &&
              got.disabled == 1 && strcmp(got.role, "administrator") == 0 &&
              got.created_at == 0,
          "an update changes hash, role and disabled, not created_at");
    s2.email = "zoe@example.org";
    rc = store_staff_save(st, &s2);
    CHECK(rc == STORE_CONFLICT, "an update to a taken email is a conflict");
    s2.email = "abe@example.org";
    s2.role = "boss";
    CHECK(store_staff_save(st, &s2) == STORE_ERROR,
          "the database refuses an unknown role");
    arena_release(&a);
}

/* TOTP state of staff (migration 013): set, read, take a step once. */
static void contract_staff_totp(struct store *st, const char *url)
{
    struct store_staff s = {0};
    struct store_staff_totp t;
    struct arena a;

    (void)url;
    arena_init(&a);
    s.email = "amy@example.org";
    s.name = "Amy";
    s.role = "administrator";
    s.password_hash = "$argon2id$v=19$m=65536,t=2,p=1$one";
    s.created_at = 1700000000;
    store_staff_save(st, &s);
    CHECK(store_staff_totp_get(st, &a, s.id, &t) == STORE_OK &&
              t.secret == NULL && t.last_step == 0,
          "an account starts without TOTP");
    CHECK(store_staff_totp_use(st, s.id, 5) == STORE_NOTFOUND,
          "no step is taken while TOTP is off");
    CHECK(store_staff_totp_set(st, s.id, "GEZDGNBVGY3TQOJQ", 10) == STORE_OK &&
              store_staff_totp_get(st, &a, s.id, &t) == STORE_OK && t.secret &&
              strcmp(t.secret, "GEZDGNBVGY3TQOJQ") == 0 && t.last_step == 10,
          "a secret and its last step are stored");
    CHECK(store_staff_totp_use(st, s.id, 10) == STORE_NOTFOUND &&
              store_staff_totp_use(st, s.id, 9) == STORE_NOTFOUND,
          "a step at or before the last one is refused (replay)");
    CHECK(store_staff_totp_use(st, s.id, 11) == STORE_OK &&
              store_staff_totp_use(st, s.id, 11) == STORE_NOTFOUND &&
              store_staff_totp_get(st, &a, s.id, &t) == STORE_OK &&
              t.last_step == 11,
          "a newer step is taken exactly once");
    CHECK(store_staff_totp_set(st, s.id, NULL, 0) == STORE_OK &&
              store_staff_totp_get(st, &a, s.id, &t) == STORE_OK &&
              t.secret == NULL,
          "TOTP turns off");
    CHECK(store_staff_totp_get(st, &a, s.id + 100, &t) == STORE_NOTFOUND &&
              store_staff_totp_set(st, s.id + 100, "AA", 0) == STORE_NOTFOUND,
          "a missing account is STORE_NOTFOUND");
    arena_release(&a);
}

static void contract_tx(struct store *st, const char *url)
{
    struct store_author au = {0};
    struct store_tag tag = {0};
    struct store_post p, dup, c, got;
    struct arena a;

    (void)url;
    arena_init(&a);
    CHECK(store_tx_begin(st) == 0, "a transaction begins");
    CHECK(store_tx_begin(st) != 0, "a second begin on the thread fails");
    au.slug = "tx-author";
    au.name = "Tx";
    tag.slug = "tx-tag";
    tag.name = "Tx";
    store_author_save(st, &au);
    store_tag_save(st, &tag);
    p = mkpost("tx-post", STORE_POST_PUBLISHED, 10);
    CHECK(store_post_save(st, &p, &au.id, 1, &tag.id, 1) == 0,
          "a post saves inside a transaction");
    store_setting_set(st, "tx.key", "v");
    CHECK(store_post_get_by_slug(st, &a, "tx-post", &got) == 0,
          "the thread sees its uncommitted post");
    store_tx_rollback(st);
    CHECK(store_post_get_by_slug(st, &a, "tx-post", &got) == STORE_NOTFOUND,
          "rollback removes the post");
    CHECK(store_author_get_by_slug(st, &a, "tx-author", &au) ==
                  STORE_NOTFOUND &&
              store_tag_get_by_slug(st, &a, "tx-tag", &tag) == STORE_NOTFOUND &&
              store_setting_get(st, &a, "tx.key") == NULL,
          "rollback leaves nothing behind");
    CHECK(store_tx_commit(st) != 0, "commit without a transaction fails");

    CHECK(store_tx_begin(st) == 0, "a second transaction begins");
    p = mkpost("tx-a", STORE_POST_DRAFT, 0);
    store_post_save(st, &p, NULL, 0, NULL, 0);
    dup = mkpost("tx-a", STORE_POST_DRAFT, 0);
    CHECK(store_post_save(st, &dup, NULL, 0, NULL, 0) == STORE_CONFLICT,
          "a conflict inside a transaction is reported");
    c = mkpost("tx-c", STORE_POST_DRAFT, 0);
    CHECK(store_post_save(st, &c, NULL, 0, NULL, 0) == 0,
          "the transaction goes on after a refused write");
    CHECK(store_tx_commit(st) == 0, "the transaction commits");
    CHECK(store_post_get_by_slug(st, &a, "tx-a", &got) == 0 &&
              store_post_get_by_slug(st, &a, "tx-c", &got) == 0,
          "both accepted writes are committed");
    arena_release(&a);
}

static void contract_hostile(struct store *st, const char *url)
{
    static const char *const evil[] = {
        "'); DROP TABLE posts;--",
        "\"double\" 'single' `back` \\ %s %n ?1 :name @x $1",
        ("Z\xc3\xbcrich \xe2\x80\x94 \xe2\x80\x9cquoted\xe2\x80\x9d "
         "\xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x99\x82 \xe2\x80\xae"),
        "line1\nline2\r\n\ttab",
        "Robert'); DELETE FROM authors WHERE ('1'='1",
    };
    struct arena a;
    struct store_post p, got, *out;
    struct store_post_query q;
    struct store_author au = {0}, aug;
    size_t n, total;

    (void)url;
    arena_init(&a);
    for (size_t i = 0; i < sizeof evil / sizeof evil[0]; i++) {
        p = mkpost(evil[i], STORE_POST_PUBLISHED, (int64_t)i + 1);
        p.title = evil[(i + 1) % 5];
        p.markdown = evil[(i + 2) % 5];
        CHECK(store_post_save(st, &p, NULL, 0, NULL, 0) == 0,
              "a post with hostile text %zu saves", i);
        CHECK(store_post_get_by_slug(st, &a, evil[i], &got) == 0,
              "it is found by its hostile slug");
        CHECK_STR(got.slug, evil[i], "hostile slug round-trips");
        CHECK_STR(got.title, evil[(i + 1) % 5], "hostile title round-trips");
        CHECK_STR(got.markdown, evil[(i + 2) % 5],
                  "hostile markdown round-trips");
        CHECK(store_setting_set(st, evil[i], evil[(i + 3) % 5]) == 0,
              "a hostile setting saves");
        CHECK_STR(store_setting_get(st, &a, evil[i]), evil[(i + 3) % 5],
                  "a hostile setting round-trips");
    }
    au.slug = "robert";
    au.name = evil[4];
    au.bio = evil[0];
    store_author_save(st, &au);
    CHECK(store_author_get_by_slug(st, &a, "robert", &aug) == 0 &&
              strcmp(aug.name, evil[4]) == 0 && strcmp(aug.bio, evil[0]) == 0,
          "a hostile author round-trips");
    q = published();
    q.exclude_slug = evil[0];
    q.tag_slug = NULL;
    CHECK(store_posts_list(st, &a, &q, &out, &n, &total) == 0 && n == 4,
          "the posts table survived and exclude matches hostile text");
    q = published();
    q.tag_slug = evil[0];
    q.author_slug = evil[4];
    CHECK(store_posts_list(st, &a, &q, &out, &n, &total) == 0 && n == 0,
          "hostile filter text matches nothing");
    arena_release(&a);
}

static void contract_version(struct store *st, const char *url)
{
    struct store *other;
    char err[256];
    uint64_t v0, v1, v2;

    v0 = store_version(st);
    CHECK(store_version(st) == v0, "the version is stable without writes");
    store_setting_set(st, "k", "1");
    v1 = store_version(st);
    CHECK(v1 != v0, "a write changes the version at once");
    usleep(200000);
    CHECK(store_version(st) == v1,
          "the version then stays put (a write here counts once)");
    store_tx_begin(st);
    store_setting_set(st, "k", "2");
    store_tx_rollback(st);
    usleep(100000);
    CHECK(store_version(st) == v1, "a rolled-back write does not");

    other = store_open(url, err, sizeof err);
    CHECK(other != NULL, "a second handle opens the same database");
    if (!other)
        return;
    v2 = store_version(st);
    store_setting_set(other, "k", "3");
    CHECK(version_moves(st, v2),
          "a write through another handle changes the version");
    v2 = store_version(other);
    store_setting_set(st, "k", "4");
    CHECK(version_moves(other, v2),
          "and the other handle sees writes made here");
    v2 = store_version(st);
    store_tx_begin(other);
    store_setting_set(other, "k", "5");
    store_tx_rollback(other);
    usleep(200000);
    CHECK(store_version(st) == v2,
          "another handle's rolled-back write changes nothing");
    /* the job queue is bookkeeping: pages stay cached across it */
    v2 = store_version(st);
    CHECK(store_job_add(other, "noop", "", 0, NULL, NULL) == 0 &&
              store_job_add(st, "noop", "", 0, NULL, NULL) == 0,
          "jobs added through both handles");
    usleep(250000);
    CHECK(store_version(st) == v2 && store_version(st) == v2,
          "queueing jobs leaves the version alone");
    store_setting_set(other, "k", "6");
    CHECK(version_moves(st, v2), "while a content write still moves it");
    store_close(other);
}

/* Four threads reading and writing at once. */
struct worker {
    struct store *st; /* shared store */
    int id;           /* 0..3 */
    int errors;       /* failed calls */
};

#define WORKER_ROUNDS 60

static void *worker_run(void *arg)
{
    struct worker *w = arg;
    struct store_author au = {0};
    struct arena a;

    arena_init(&a);
    au.slug = arena_printf(&a, "writer-%d", w->id);
    au.name = au.slug;
    if (store_author_save(w->st, &au) != 0)
        w->errors++;
    for (int i = 0; i < WORKER_ROUNDS; i++) {
        struct store_post p, got, *out;
        struct store_post_query q = published();
        const char *slug = arena_printf(&a, "w%d-%d", w->id, i);
        size_t n, total;
        int in_tx = i % 10 == 0;

        if (in_tx && store_tx_begin(w->st) != 0)
            w->errors++;
        p = mkpost(slug, STORE_POST_PUBLISHED, i);
        if (store_post_save(w->st, &p, &au.id, 1, NULL, 0) != 0)
            w->errors++;
        if (store_setting_set(w->st, slug, slug) != 0)
            w->errors++;
        if (in_tx && store_tx_commit(w->st) != 0)
            w->errors++;
        q.limit = 5;
        if (store_posts_list(w->st, &a, &q, &out, &n, &total) != 0 || n == 0)
            w->errors++;
        if (store_post_get_by_slug(w->st, &a, slug, &got) != 0 ||
            got.nauthors != 1)
            w->errors++;
        store_version(w->st);
        if (i % 8 == 7) {
            arena_release(&a);
            au.slug = NULL;
        }
    }
    arena_release(&a);
    return NULL;
}

static void contract_concurrency(struct store *st, const char *url)
{
    struct worker w[4];
    pthread_t th[4];
    struct store_post_query q = published();
    struct store_post *out;
    struct arena a;
    size_t n, total = 0;
    int errors = 0;

    (void)url;
    for (int i = 0; i < 4; i++) {
        w[i].st = st;
        w[i].id = i;
        w[i].errors = 0;
        pthread_create(&th[i], NULL, worker_run, &w[i]);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        errors += w[i].errors;
    }
    CHECK(errors == 0, "4 threads read and write without errors (%d)", errors);
    arena_init(&a);
    CHECK(store_posts_list(st, &a, &q, &out, &n, &total) == 0 &&
              total == 4 * WORKER_ROUNDS,
          "every post written by the threads is there (%zu)", total);
    arena_release(&a);
}

/* --- jobs ---------------------------------------------------------------- */

static const char *const job_kinds_ab[] = {"a", "b"};

static void contract_jobs(struct store *st, const char *url)
{
    struct store_job j;
    struct arena a;
    int64_t j1 = 0, j2 = 0, j3 = 0, j4 = 0, dup = 0;
    size_t n = 99;
    uint64_t v;

    (void)url;
    arena_init(&a);
    CHECK(store_job_claim(st, &a, job_kinds_ab, 2, 1000, 30, &j) ==
              STORE_NOTFOUND,
          "an empty queue has nothing to claim");
    CHECK(store_job_add(st, "a", "{\"x\":1}", 200, NULL, &j2) == 0 &&
              store_job_add(st, "b", NULL, 100, NULL, &j1) == 0 &&
              store_job_add(st, "a", "", 5000, NULL, &j3) == 0 &&
              store_job_add(st, "c", "", 0, NULL, &j4) == 0 && j1 > 0 &&
              j2 > 0 && j3 > 0 && j4 > 0,
          "jobs are added");
    CHECK(store_jobs_count(st, "queued", &n) == 0 && n == 4,
          "four queued (%zu)", n);
    v = store_version(st);
    CHECK(store_job_claim(st, &a, job_kinds_ab, 2, 50, 30, &j) ==
              STORE_NOTFOUND,
          "a job not yet due is not claimed");
    CHECK(store_version(st) == v, "a claim that finds nothing writes "
                                  "nothing");
    CHECK(store_job_claim(st, &a, job_kinds_ab, 2, 1000, 30, &j) == 0 &&
              j.id == j1 && strcmp(j.kind, "b") == 0 &&
              strcmp(j.payload, "") == 0 && j.attempts == 1 &&
              j.run_at == 100 && j.lease_until == 1030,
          "the oldest due job is claimed first (id %lld)", (long long)j.id);
    CHECK(store_job_claim(st, &a, job_kinds_ab, 2, 1000, 30, &j) == 0 &&
              j.id == j2 && strcmp(j.payload, "{\"x\":1}") == 0,
          "then the next one, with its payload");
    CHECK(store_job_claim(st, &a, job_kinds_ab, 2, 1000, 30, &j) ==
              STORE_NOTFOUND,
          "running jobs, future jobs and other kinds are not claimed");
    CHECK(store_job_claim(st, &a, job_kinds_ab, 1, 1031, 30, &j) == 0 &&
              j.id == j2 && j.attempts == 2,
          "an expired lease lets another worker take the job");
    v = store_version(st);
    CHECK(store_job_extend(st, j2, 1, 5000) == STORE_NOTFOUND,
          "the claim that lost its lease cannot renew it");
    CHECK(store_job_extend(st, j2, 2, 1100) == 0 &&
              store_job_claim(st, &a, job_kinds_ab, 1, 1090, 30, &j) ==
                  STORE_NOTFOUND,
          "the current claim renews its lease: nobody takes the job");
    CHECK(store_version(st) == v, "renewing a lease leaves the version");
    CHECK(store_job_extend(st, 999999, 1, 1100) == STORE_NOTFOUND,
          "an unknown job has no lease to renew");
    CHECK(store_job_done(st, j1) == 0 &&
              store_job_done(st, 999999) == STORE_NOTFOUND,
          "done marks a job done; an unknown id is not found");
    CHECK(store_job_extend(st, j1, 1, 5000) == STORE_NOTFOUND,
          "a finished job cannot be renewed");
    CHECK(store_job_retry(st, j2, 2000, "busy") == 0 &&
              store_job_claim(st, &a, job_kinds_ab, 2, 1999, 30, &j) ==
                  STORE_NOTFOUND,
          "a retried job waits for its new time");
    CHECK(store_job_claim(st, &a, job_kinds_ab, 2, 2000, 30, &j) == 0 &&
              j.id == j2 && j.attempts == 3 && j.last_error &&
              strcmp(j.last_error, "busy") == 0,
          "then runs again, with the last error");
    CHECK(store_job_fail(st, j2, "gave up") == 0, "fail");
    CHECK(store_jobs_count(st, "done", &n) == 0 && n == 1, "one done");
    CHECK(store_jobs_count(st, "failed", &n) == 0 && n == 1, "one failed");
    CHECK(store_jobs_count(st, "queued", &n) == 0 && n == 2, "two queued");
    CHECK(store_jobs_count(st, "running", &n) == 0 && n == 0, "none running");

    /* unique keys */
    CHECK(store_job_add(st, "tick", "", 0, "k", &dup) == 0,
          "a keyed job is added");
    CHECK(store_job_add(st, "tick", "", 0, "k", NULL) == STORE_CONFLICT,
          "the same kind and key again is refused while pending");
    CHECK(store_job_add(st, "tock", "", 0, "k", NULL) == 0,
          "another kind may use the key");
    {
        const char *tick[] = {"tick"};
        CHECK(store_job_claim(st, &a, tick, 1, 5000, 30, &j) == 0 &&
                  j.id == dup,
              "claim the keyed job");
        CHECK(store_job_add(st, "tick", "", 0, "k", NULL) == STORE_CONFLICT,
              "refused while running");
        CHECK(store_job_done(st, dup) == 0 &&
                  store_job_add(st, "tick", "", 0, "k", NULL) == 0,
              "accepted again once the first is done");
    }
    CHECK(store_jobs_prune(st, INT64_MAX, &n) == 0 && n == 3,
          "prune deletes the finished jobs (%zu)", n);
    CHECK(store_jobs_count(st, "done", &n) == 0 && n == 0, "none done left");
    arena_release(&a);
}

static void contract_publish_due(struct store *st, const char *url)
{
    struct store_post due = mkpost("due", STORE_POST_SCHEDULED, 100);
    struct store_post later = mkpost("later", STORE_POST_SCHEDULED, 900);
    struct store_post draft = mkpost("draft", STORE_POST_DRAFT, 50);
    struct store_post got;
    struct arena a;
    size_t n = 99;

    (void)url;
    arena_init(&a);
    due.updated_at = 77;
    CHECK(store_post_save(st, &due, NULL, 0, NULL, 0) == 0 &&
              store_post_save(st, &later, NULL, 0, NULL, 0) == 0 &&
              store_post_save(st, &draft, NULL, 0, NULL, 0) == 0,
          "posts saved");
    CHECK(store_posts_publish_due(st, 500, &n) == 0 && n == 1,
          "one post is due (%zu)", n);
    CHECK(store_post_get_by_slug(st, &a, "due", &got) == 0 &&
              got.status == STORE_POST_PUBLISHED && got.published_at == 100 &&
              got.updated_at == 77,
          "it is published, times kept");
    CHECK(store_post_get_by_slug(st, &a, "later", &got) == 0 &&
              got.status == STORE_POST_SCHEDULED,
          "a future one stays scheduled");
    CHECK(store_post_get_by_slug(st, &a, "draft", &got) == 0 &&
              got.status == STORE_POST_DRAFT,
          "a draft stays a draft");
    CHECK(store_posts_publish_due(st, 500, &n) == 0 && n == 0, "nothing twice");
    arena_release(&a);
}

#define CLAIM_JOBS 200  /* jobs the claimers share */
#define CLAIM_THREADS 4 /* claiming threads, each with its own handle */

struct claimer {
    const char *url;     /* database to open */
    int errors;          /* failed calls */
    unsigned char *seen; /* per job id - base: times claimed */
    int64_t base;        /* id of the first job */
    atomic_int *claims;  /* total claims */
};

static void *claimer_run(void *arg)
{
    struct claimer *c = arg;
    const char *kinds[] = {"work"};
    struct store *st;
    struct store_job j;
    struct arena a;
    char err[256];
    int rc;

    st = store_open(c->url, err, sizeof err);
    if (!st) {
        c->errors++;
        return NULL;
    }
    arena_init(&a);
    for (;;) {
        rc = store_job_claim(st, &a, kinds, 1, 1000, 600, &j);
        if (rc == STORE_NOTFOUND)
            break;
        if (rc != 0) {
            c->errors++;
            break;
        }
        if (j.id >= c->base && j.id < c->base + CLAIM_JOBS)
            __atomic_fetch_add(&c->seen[j.id - c->base], 1, __ATOMIC_SEQ_CST);
        else
            c->errors++;
        atomic_fetch_add(c->claims, 1);
        if (store_job_done(st, j.id) != 0)
            c->errors++;
        arena_release(&a);
    }
    arena_release(&a);
    store_close(st);
    return NULL;
}

static void contract_jobs_concurrency(struct store *st, const char *url)
{
    struct claimer c[CLAIM_THREADS];
    pthread_t th[CLAIM_THREADS];
    unsigned char seen[CLAIM_JOBS] = {0};
    atomic_int claims;
    int64_t id, base = 0;
    int errors = 0, once = 0;
    size_t n = 0;

    atomic_init(&claims, 0);
    for (int i = 0; i < CLAIM_JOBS; i++) {
        if (store_job_add(st, "work", "", 0, NULL, &id) != 0)
            errors++;
        if (i == 0)
            base = id;
    }
    CHECK(errors == 0 && base > 0, "%d jobs added", CLAIM_JOBS);
    for (int i = 0; i < CLAIM_THREADS; i++) {
        c[i] = (struct claimer){url, 0, seen, base, &claims};
        pthread_create(&th[i], NULL, claimer_run, &c[i]);
    }
    for (int i = 0; i < CLAIM_THREADS; i++) {
        pthread_join(th[i], NULL);
        errors += c[i].errors;
    }
    for (int i = 0; i < CLAIM_JOBS; i++)
        once += seen[i] == 1;
    CHECK(errors == 0, "%d threads claim without errors (%d)", CLAIM_THREADS,
          errors);
    CHECK(atomic_load(&claims) == CLAIM_JOBS && once == CLAIM_JOBS,
          "every job claimed exactly once (%d claims, %d once)",
          atomic_load(&claims), once);
    CHECK(store_jobs_count(st, "done", &n) == 0 && n == CLAIM_JOBS,
          "none lost: %zu done", n);
}

/* --- the editorial desk -------------------------------------------------- */

/* title_search: a case-insensitive substring of the title, with LIKE's
 * wildcards taken literally; desk_order: newest created first. */
static void contract_desk_list(struct store *st, const char *url)
{
    static const char *const titles[] = {"Budget Talks Stall",
                                         "budget 100% done", "snake_case_news",
                                         "Budgetary rules", "Harbour reopens"};
    struct store_post p[5], *out;
    struct store_post_query q;
    struct arena a;
    size_t n, total;

    (void)url;
    arena_init(&a);
    for (int i = 0; i < 5; i++) {
        p[i] =
            mkpost(arena_printf(&a, "t%d", i), STORE_POST_PUBLISHED, 100 + i);
        p[i].title = titles[i];
        /* created in an order unlike the published one */
        p[i].created_at = 1000 + (int64_t)((i * 3) % 5);
        store_post_save(st, &p[i], NULL, 0, NULL, 0);
    }
    memset(&q, 0, sizeof q);
    q.status = -1;
    q.title_search = "BUDGET";
    CHECK(store_posts_list(st, &a, &q, &out, &n, NULL) == 0 &&
              strcmp(slugs(&a, out, n), "t3,t1,t0") == 0,
          "title search ignores ASCII case (%s)", slugs(&a, out, n));
    q.limit = 1;
    CHECK(store_posts_list(st, &a, &q, &out, &n, &total) == 0 && n == 1 &&
              total == 3,
          "the total of a title search counts the matches (%zu)", total);
    q.limit = 0;
    q.title_search = "%";
    CHECK(store_posts_list(st, &a, &q, &out, &n, NULL) == 0 &&
              strcmp(slugs(&a, out, n), "t1") == 0,
          "a %% in the search matches a literal %% only (%s)",
          slugs(&a, out, n));
    q.title_search = "1_0";
    CHECK(store_posts_list(st, &a, &q, &out, &n, NULL) == 0 && n == 0,
          "an _ in the search is not a one-character wildcard");
    q.title_search = "e_c";
    CHECK(store_posts_list(st, &a, &q, &out, &n, NULL) == 0 &&
              strcmp(slugs(&a, out, n), "t2") == 0,
          "an _ in the search matches a literal _ (%s)", slugs(&a, out, n));
    q.title_search = "";
    CHECK(store_posts_list(st, &a, &q, &out, &n, NULL) == 0 && n == 5,
          "an empty search is no filter");
    q.title_search = NULL;
    q.desk_order = 1;
    CHECK(store_posts_list(st, &a, &q, &out, &n, NULL) == 0 &&
              strcmp(slugs(&a, out, n), "t3,t1,t4,t2,t0") == 0,
          "desk order is newest created first (%s)", slugs(&a, out, n));
    q.desk_order = 0;
    CHECK(store_posts_list(st, &a, &q, &out, &n, NULL) == 0 &&
              strcmp(slugs(&a, out, n), "t4,t3,t2,t1,t0") == 0,
          "without desk order the public order stays (%s)", slugs(&a, out, n));
    q.desk_order = 1;
    q.title_search = "budget";
    q.limit = 2;
    q.offset = 1;
    CHECK(store_posts_list(st, &a, &q, &out, &n, &total) == 0 &&
              strcmp(slugs(&a, out, n), "t1,t0") == 0 && total == 3,
          "search, desk order and paging combine (%s)", slugs(&a, out, n));
    arena_release(&a);
}

static void contract_post_delete(struct store *st, const char *url)
{
    struct store_author au = {.slug = "ana", .name = "Ana"};
    struct store_tag tag = {.slug = "world", .name = "World"};
    struct store_post p = mkpost("doomed", STORE_POST_PUBLISHED, 10);
    struct store_post keep = mkpost("kept", STORE_POST_PUBLISHED, 20), got;
    struct store_correction cr = {0};
    struct store_revision rv = {0}, *revs;
    struct store_correction *crs;
    struct arena a;
    size_t n;

    (void)url;
    arena_init(&a);
    store_author_save(st, &au);
    store_tag_save(st, &tag);
    store_post_save(st, &p, &au.id, 1, &tag.id, 1);
    store_post_save(st, &keep, &au.id, 1, &tag.id, 1);
    cr.post_id = p.id;
    cr.text = "Fixed";
    store_correction_add(st, &cr);
    rv.post_id = p.id;
    rv.title = "Doomed";
    rv.markdown = "text";
    CHECK(store_revision_add(st, &rv) == 0, "delete: a revision is added");
    CHECK(store_post_delete(st, p.id) == 0, "a post deletes");
    CHECK(store_post_get(st, &a, p.id, &got) == STORE_NOTFOUND,
          "a deleted post is gone");
    CHECK(store_corrections_list(st, &a, p.id, &crs, &n) == 0 && n == 0,
          "its corrections went with it");
    CHECK(store_revisions_list(st, &a, p.id, &revs, &n) == 0 && n == 0 &&
              store_revision_get(st, &a, rv.id, &rv) == STORE_NOTFOUND,
          "its revisions went with it");
    CHECK(store_table_rows(st, "post_authors") == 1 &&
              store_table_rows(st, "post_tags") == 1,
          "its byline and tags went with it, the other post's stayed");
    CHECK(store_post_get(st, &a, keep.id, &got) == 0 && got.nauthors == 1 &&
              got.ntags == 1,
          "the other post keeps its byline and tags");
    CHECK(store_author_get_by_slug(st, &a, "ana", &au) == 0 &&
              store_tag_get_by_slug(st, &a, "world", &tag) == 0,
          "the author and the tag stay");
    CHECK(store_post_delete(st, p.id) == STORE_NOTFOUND,
          "deleting a missing post is not found");
    arena_release(&a);
}

static void contract_picks(struct store *st, const char *url)
{
    struct store_post p[3], *out;
    struct store_post_query q = published();
    struct arena a;
    size_t n;
    int64_t ids[2];

    (void)url;
    arena_init(&a);
    for (int i = 0; i < 3; i++) {
        p[i] = mkpost(arena_printf(&a, "p%d", i), STORE_POST_PUBLISHED, i + 1);
        store_post_save(st, &p[i], NULL, 0, NULL, 0);
    }
    q.picks_only = 1;
    ids[0] = p[2].id;
    ids[1] = p[0].id;
    CHECK(store_picks_set(st, ids, 2) == 0, "picks are set");
    CHECK(store_posts_list(st, &a, &q, &out, &n, NULL) == 0 &&
              strcmp(slugs(&a, out, n), "p2,p0") == 0 &&
              out[0].pick_order == 1 && out[1].pick_order == 2,
          "picks list in the order given (%s)", slugs(&a, out, n));
    ids[0] = p[1].id;
    ids[1] = p[2].id + 1000;
    CHECK(store_picks_set(st, ids, 2) == STORE_NOTFOUND,
          "a missing post among the picks is not found");
    CHECK(store_posts_list(st, &a, &q, &out, &n, NULL) == 0 &&
              strcmp(slugs(&a, out, n), "p2,p0") == 0,
          "a refused set leaves the old picks (%s)", slugs(&a, out, n));
    ids[0] = p[1].id;
    CHECK(store_picks_set(st, ids, 1) == 0 &&
              store_posts_list(st, &a, &q, &out, &n, NULL) == 0 &&
              strcmp(slugs(&a, out, n), "p1") == 0,
          "a new set replaces the picks (%s)", slugs(&a, out, n));
    CHECK(store_picks_set(st, NULL, 0) == 0 &&
              store_posts_list(st, &a, &q, &out, &n, NULL) == 0 && n == 0,
          "an empty set clears the picks");
    arena_release(&a);
}

static void contract_revisions(struct store *st, const char *url)
{
    struct store_staff s = {.email = "zoe@example.org",
                            .name = "Zoe Ward",
                            .role = "editor",
                            .password_hash = "x"};
    struct store_post p = mkpost("rev", STORE_POST_DRAFT, 0);
    struct store_post other = mkpost("other", STORE_POST_DRAFT, 0);
    struct store_revision r[3], got, *out;
    struct arena a;
    size_t n;

    (void)url;
    arena_init(&a);
    store_staff_save(st, &s);
    store_post_save(st, &p, NULL, 0, NULL, 0);
    store_post_save(st, &other, NULL, 0, NULL, 0);
    memset(r, 0, sizeof r);
    for (int i = 0; i < 3; i++) {
        r[i].post_id = p.id;
        r[i].title = arena_printf(&a, "Title %d", i);
        r[i].markdown = arena_printf(&a, "Body %d", i);
        r[i].created_at = i == 0 ? 100 : 200; /* r1, r2 at the same time */
    }
    r[0].staff_id = s.id;
    r[2].standfirst = "A dek";
    for (int i = 0; i < 3; i++)
        CHECK(store_revision_add(st, &r[i]) == 0 && r[i].id > 0,
              "revision %d is stored", i);
    CHECK(store_revisions_list(st, &a, p.id, &out, &n) == 0 && n == 3 &&
              out[0].id == r[2].id && out[1].id == r[1].id &&
              out[2].id == r[0].id,
          "revisions list newest first, ties by id");
    CHECK(n == 3 && out[2].staff_id == s.id && out[2].staff_name &&
              strcmp(out[2].staff_name, "Zoe Ward") == 0 &&
              out[0].staff_id == 0 && out[0].staff_name == NULL,
          "a revision names who saved it, or nobody");
    CHECK(n == 3 && strcmp(out[0].markdown, "Body 2") == 0 &&
              strcmp(out[0].title, "Title 2") == 0 && out[0].standfirst &&
              strcmp(out[0].standfirst, "A dek") == 0 &&
              out[1].standfirst == NULL && out[0].created_at == 200,
          "a listed revision has its text");
    CHECK(store_revision_get(st, &a, r[0].id, &got) == 0 &&
              got.post_id == p.id && strcmp(got.markdown, "Body 0") == 0 &&
              got.created_at == 100 && strcmp(got.staff_name, "Zoe Ward") == 0,
          "one revision reads back");
    CHECK(store_revision_get(st, &a, r[2].id + 100, &got) == STORE_NOTFOUND,
          "a missing revision is not found");
    CHECK(store_revisions_list(st, &a, other.id, &out, &n) == 0 && n == 0,
          "another post has none");
    arena_release(&a);
}

static int version_settles(struct store *st);

/* Whether st's version stays put for a moment (another handle's writes to
 * tables that do not show arrive within this on PostgreSQL, if at all). */
static int version_stays(struct store *st, uint64_t v)
{
    usleep(300000);
    return store_version(st) == v;
}

static void contract_sessions(struct store *st, const char *url)
{
    struct store_staff s1 = {.email = "a@example.org",
                             .name = "A",
                             .role = "editor",
                             .password_hash = "x"};
    struct store_staff s2 = {.email = "b@example.org",
                             .name = "B",
                             .role = "author",
                             .password_hash = "x"};
    struct store_session se = {0}, got;
    struct arena a;
    size_t n = 99;
    int is_pg = strncmp(url, "postgres", 8) == 0;

    arena_init(&a);
    store_staff_save(st, &s1);
    store_staff_save(st, &s2);
    se.staff_id = s1.id;
    se.created_at = 100;
    se.last_seen_at = 100;
    se.expires_at = 1000;
    se.token_hash = "aa01";
    CHECK(store_session_add(st, &se) == 0, "a session is added");
    se.token_hash = "aa02";
    store_session_add(st, &se);
    se.token_hash = "bb01";
    se.staff_id = s2.id;
    store_session_add(st, &se);
    se.token_hash = "aa01";
    CHECK(store_session_add(st, &se) == STORE_CONFLICT,
          "a taken token hash is a conflict");
    CHECK(store_session_get(st, &a, "aa01", &got) == 0 &&
              strcmp(got.token_hash, "aa01") == 0 && got.staff_id == s1.id &&
              got.created_at == 100 && got.last_seen_at == 100 &&
              got.expires_at == 1000,
          "a session reads back");
    CHECK(store_session_get(st, &a, "zz", &got) == STORE_NOTFOUND,
          "a missing session is not found");
    CHECK(store_session_touch(st, "aa01", 150) == 0 &&
              store_session_get(st, &a, "aa01", &got) == 0 &&
              got.last_seen_at == 150 && got.created_at == 100,
          "touch sets last_seen_at");
    CHECK(store_session_touch(st, "zz", 150) == STORE_NOTFOUND,
          "touching a missing session is not found");
    CHECK(store_session_delete(st, "bb01") == 0 &&
              store_session_get(st, &a, "bb01", &got) == STORE_NOTFOUND,
          "a session deletes");
    CHECK(store_session_delete(st, "bb01") == STORE_NOTFOUND,
          "deleting a missing session is not found");
    se.token_hash = "bb02";
    store_session_add(st, &se);
    CHECK(store_sessions_delete_staff(st, s1.id, &n) == 0 && n == 2 &&
              store_session_get(st, &a, "aa01", &got) == STORE_NOTFOUND &&
              store_session_get(st, &a, "aa02", &got) == STORE_NOTFOUND,
          "signing out everywhere ends every session of the account (%zu)", n);
    CHECK(store_session_get(st, &a, "bb02", &got) == 0,
          "another account's session stays");
    CHECK(store_sessions_delete_staff(st, s1.id, &n) == 0 && n == 0 &&
              store_sessions_delete_staff(st, s1.id, NULL) == 0,
          "signing out everywhere with no sessions deletes none");
    /* prune at now = 500, idle before 200 */
    se.staff_id = s1.id;
    se.token_hash = "expired";
    se.last_seen_at = 400;
    se.expires_at = 500;
    store_session_add(st, &se);
    se.token_hash = "idle";
    se.last_seen_at = 199;
    se.expires_at = 2000;
    store_session_add(st, &se);
    se.token_hash = "live";
    se.last_seen_at = 200;
    se.expires_at = 501;
    store_session_add(st, &se);
    CHECK(store_sessions_prune(st, 500, 200, &n) == 0 && n == 3,
          "prune deletes expired and idle sessions (%zu)", n);
    CHECK(store_session_get(st, &a, "live", &got) == 0 &&
              store_session_get(st, &a, "expired", &got) == STORE_NOTFOUND &&
              store_session_get(st, &a, "idle", &got) == STORE_NOTFOUND,
          "prune keeps a session that is neither");
    CHECK(store_sessions_prune(st, 500, 200, NULL) == 0,
          "prune with nothing to delete is fine");
    if (is_pg) {
        char err[256];
        struct store *other = store_open(url, err, sizeof err);
        struct store_audit e = {.actor = "x", .action = "y"};
        struct store_staff_token t = {
            .token_hash = "t", .staff_id = s1.id, .purpose = "reset"};
        uint64_t v0 = store_version(st), v1;
        unsigned c;

        CHECK(other != NULL, "a second handle opens");
        if (!other)
            goto out;
        version_settles(other);
        v1 = store_version(other);
        se.token_hash = "quiet";
        store_session_add(st, &se);
        store_session_touch(st, "quiet", 600);
        store_session_delete(st, "quiet");
        store_rate_hit(st, "signin", 1, 60, &c);
        store_staff_token_add(st, &t);
        store_audit_add(st, &e);
        CHECK(store_version(st) == v0,
              "postgresql: desk bookkeeping leaves this handle's version");
        CHECK(version_stays(other, v1),
              "postgresql: desk bookkeeping leaves other nodes' version");
        store_setting_set(st, "k", "v");
        CHECK(version_moves(other, v1) && store_version(st) != v0,
              "postgresql: a content write still moves it");
        store_close(other);
    }
out:
    arena_release(&a);
}

static void contract_rate(struct store *st, const char *url)
{
    unsigned c = 99;
    size_t n = 99;

    (void)url;
    CHECK(store_rate_peek(st, "ip:1", 1000, 60, &c) == 0 && c == 0,
          "a new key counts 0");
    CHECK(store_rate_hit(st, "ip:1", 1000, 60, &c) == 0 && c == 1,
          "the first hit counts 1");
    CHECK(store_rate_hit(st, "ip:1", 1010, 60, &c) == 0 && c == 2 &&
              store_rate_hit(st, "ip:1", 1059, 60, &c) == 0 && c == 3,
          "hits in the window add up (%u)", c);
    CHECK(store_rate_peek(st, "ip:1", 1059, 60, &c) == 0 && c == 3,
          "peek reads the count without adding (%u)", c);
    CHECK(store_rate_peek(st, "ip:1", 1060, 60, &c) == 0 && c == 0,
          "a passed window peeks as 0");
    CHECK(store_rate_hit(st, "ip:1", 1060, 60, &c) == 0 && c == 1,
          "a hit once the window passed restarts it at 1");
    CHECK(store_rate_hit(st, "ip:1", 1119, 60, &c) == 0 && c == 2,
          "the restarted window runs from the restart (%u)", c);
    CHECK(store_rate_hit(st, "ip:2", 1119, 60, &c) == 0 && c == 1,
          "keys count apart");
    CHECK(store_rate_clear(st, "ip:1") == 0 &&
              store_rate_peek(st, "ip:1", 1119, 60, &c) == 0 && c == 0,
          "clear forgets a key");
    CHECK(store_rate_clear(st, "ip:1") == 0, "clearing a missing key is 0");
    store_rate_hit(st, "ip:3", 5000, 60, &c);
    CHECK(store_rate_prune(st, 2000, &n) == 0 && n == 1 &&
              store_rate_peek(st, "ip:3", 5000, 60, &c) == 0 && c == 1,
          "prune deletes old windows only (%zu)", n);
    CHECK(store_rate_prune(st, 2000, NULL) == 0,
          "prune with nothing to delete is fine");
}

#define HIT_THREADS 8
#define HIT_ROUNDS 40

/* One of the threads hitting one key: on the shared store, or (odd ones)
 * on a handle of its own, as another process would. */
struct hitter {
    struct store *st;   /* shared store */
    const char *url;    /* for a handle of its own */
    int own;            /* 1 = open its own handle */
    unsigned char *got; /* counts returned, HIT_THREADS * HIT_ROUNDS + 1 */
    int errors;
};

static void *hitter_run(void *arg)
{
    struct hitter *h = arg;
    struct store *st = h->st;
    char err[256];
    unsigned c;

    if (h->own)
        st = store_open(h->url, err, sizeof err);
    if (!st) {
        h->errors++;
        return NULL;
    }
    for (int i = 0; i < HIT_ROUNDS; i++) {
        if (store_rate_hit(st, "hot", 1000, 3600, &c) != 0 ||
            c > HIT_THREADS * HIT_ROUNDS)
            h->errors++;
        else
            __atomic_fetch_add(&h->got[c], 1, __ATOMIC_SEQ_CST);
    }
    if (h->own)
        store_close(st);
    return NULL;
}

static void contract_rate_concurrency(struct store *st, const char *url)
{
    struct hitter h[HIT_THREADS];
    pthread_t th[HIT_THREADS];
    unsigned char got[HIT_THREADS * HIT_ROUNDS + 1] = {0};
    unsigned c = 0;
    int errors = 0, once = 0;

    for (int i = 0; i < HIT_THREADS; i++) {
        h[i] = (struct hitter){st, url, i % 2, got, 0};
        pthread_create(&th[i], NULL, hitter_run, &h[i]);
    }
    for (int i = 0; i < HIT_THREADS; i++) {
        pthread_join(th[i], NULL);
        errors += h[i].errors;
    }
    for (int i = 1; i <= HIT_THREADS * HIT_ROUNDS; i++)
        once += got[i] == 1;
    CHECK(errors == 0, "%d threads hit one key without errors (%d)",
          HIT_THREADS, errors);
    CHECK(store_rate_peek(st, "hot", 1000, 3600, &c) == 0 &&
              c == HIT_THREADS * HIT_ROUNDS,
          "no hit is lost: %u of %d", c, HIT_THREADS * HIT_ROUNDS);
    CHECK(once == HIT_THREADS * HIT_ROUNDS,
          "every caller saw a different count (%d)", once);
}

/* Threads taking one token at once. */
struct taker {
    struct store *st;
    const char *hash;
    atomic_int *took;
    int errors;
};

static void *taker_run(void *arg)
{
    struct taker *t = arg;
    struct store_staff_token out;
    struct arena a;
    int rc;

    arena_init(&a);
    rc = store_staff_token_take(t->st, &a, t->hash, &out);
    if (rc == 0)
        atomic_fetch_add(t->took, 1);
    else if (rc != STORE_NOTFOUND)
        t->errors++;
    arena_release(&a);
    return NULL;
}

static void contract_staff_tokens(struct store *st, const char *url)
{
    struct store_staff s = {.email = "a@example.org",
                            .name = "A",
                            .role = "editor",
                            .password_hash = "x"};
    struct store_staff_token t = {0}, got;
    struct taker tk[4];
    pthread_t th[4];
    atomic_int took;
    struct arena a;
    int errors = 0;

    (void)url;
    arena_init(&a);
    store_staff_save(st, &s);
    t.token_hash = "feed01";
    t.staff_id = s.id;
    t.purpose = "invite";
    t.created_at = 10;
    t.expires_at = 20;
    CHECK(store_staff_token_add(st, &t) == 0, "a token is added");
    CHECK(store_staff_token_add(st, &t) == STORE_CONFLICT,
          "a taken token hash is a conflict");
    t.token_hash = "feed02";
    t.purpose = "promote";
    CHECK(store_staff_token_add(st, &t) == STORE_ERROR,
          "the database refuses an unknown purpose");
    CHECK(store_staff_token_get(st, &a, "feed01", &got) == 0 &&
              strcmp(got.token_hash, "feed01") == 0 && got.staff_id == s.id &&
              strcmp(got.purpose, "invite") == 0 && got.created_at == 10 &&
              got.expires_at == 20,
          "a token reads back");
    CHECK(store_staff_token_get(st, &a, "feed01", &got) == 0,
          "reading a token keeps it");
    CHECK(store_staff_token_take(st, &a, "feed01", &got) == 0 &&
              got.staff_id == s.id && strcmp(got.purpose, "invite") == 0 &&
              got.expires_at == 20,
          "a token is taken with its fields");
    CHECK(store_staff_token_take(st, &a, "feed01", &got) == STORE_NOTFOUND,
          "a taken token cannot be taken again");
    CHECK(store_staff_token_get(st, &a, "feed01", &got) == STORE_NOTFOUND,
          "a taken token is gone");
    t.token_hash = "feed03";
    t.purpose = "reset";
    store_staff_token_add(st, &t);
    atomic_init(&took, 0);
    for (int i = 0; i < 4; i++) {
        tk[i] = (struct taker){st, "feed03", &took, 0};
        pthread_create(&th[i], NULL, taker_run, &tk[i]);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        errors += tk[i].errors;
    }
    CHECK(errors == 0 && atomic_load(&took) == 1,
          "of 4 threads taking one token, one gets it (%d)",
          atomic_load(&took));
    arena_release(&a);
}

static void contract_audit(struct store *st, const char *url)
{
    struct store_audit e[7], *out;
    struct arena a;
    size_t n;

    (void)url;
    arena_init(&a);
    memset(e, 0, sizeof e);
    for (int i = 0; i < 7; i++) {
        e[i].at = 100 + i;
        e[i].staff_id = i % 2 ? 42 : 0; /* no such staff: history stays */
        e[i].actor = i % 2 ? "Zoe <zoe@example.org>" : "command line";
        e[i].action = "post.publish";
        e[i].target = arena_printf(&a, "post %d 'p%d'", i, i);
        e[i].detail = i == 3 ? "from draft" : NULL;
        CHECK(store_audit_add(st, &e[i]) == 0 &&
                  (i == 0 || e[i].id > e[i - 1].id),
              "audit entry %d is stored with a growing id", i);
    }
    CHECK(store_audit_list(st, &a, 0, 3, &out, &n) == 0 && n == 3 &&
              out[0].id == e[6].id && out[1].id == e[5].id &&
              out[2].id == e[4].id,
          "the audit log lists newest first");
    CHECK(store_audit_list(st, &a, out[2].id, 3, &out, &n) == 0 && n == 3 &&
              out[0].id == e[3].id && out[2].id == e[1].id,
          "the next page starts before the last id shown");
    CHECK(n == 3 && out[0].at == 103 && out[0].staff_id == 42 &&
              strcmp(out[0].actor, "Zoe <zoe@example.org>") == 0 &&
              strcmp(out[0].action, "post.publish") == 0 &&
              strcmp(out[0].target, "post 3 'p3'") == 0 && out[0].detail &&
              strcmp(out[0].detail, "from draft") == 0 &&
              out[1].detail == NULL && out[1].staff_id == 0,
          "an audit entry reads back whole");
    CHECK(store_audit_list(st, &a, e[1].id, 3, &out, &n) == 0 && n == 1 &&
              out[0].id == e[0].id,
          "the last page is short");
    CHECK(store_audit_list(st, &a, 0, 0, &out, &n) == 0 && n == 7,
          "limit 0 lists up to the default");
    arena_release(&a);
}

/* --- newsletters going out (schema 005) ---------------------------------- */

/* Two newsletters, A (position 2) and B (position 1), into *na and *nb. */
static void mail_newsletters(struct store *st, struct store_newsletter *na,
                             struct store_newsletter *nb)
{
    *na = (struct store_newsletter){
        .slug = "ports", .name = "Ports", .active = 1, .position = 2};
    *nb = (struct store_newsletter){
        .slug = "morning", .name = "Morning", .active = 1, .position = 1};
    store_newsletter_save(st, na);
    store_newsletter_save(st, nb);
}

#define INIT_RACERS 4 /* threads racing store_setting_init, own handles */

struct init_racer {
    const char *url;       /* database to open */
    char mine[16];         /* the value this thread offers */
    char got[16];          /* the value it was told the store holds */
    int64_t sub_id;        /* what store_subscriber_upsert gave */
    int errors;            /* failed calls */
    pthread_barrier_t *go; /* all start together */
};

static void *init_racer_run(void *arg)
{
    struct init_racer *r = arg;
    char err[256];
    struct store *st = store_open(r->url, err, sizeof err);
    struct arena a;
    const char *out = NULL;

    pthread_barrier_wait(r->go);
    if (!st) {
        r->errors++;
        return NULL;
    }
    arena_init(&a);
    if (store_setting_init(st, &a, "secret", r->mine, &out) != 0 || !out)
        r->errors++;
    else
        snprintf(r->got, sizeof r->got, "%s", out);
    if (store_subscriber_upsert(st, "race@example.org", 50, &r->sub_id) != 0)
        r->errors++;
    arena_release(&a);
    store_close(st);
    return NULL;
}

static void contract_setting_init(struct store *st, const char *url)
{
    struct init_racer r[INIT_RACERS];
    pthread_t th[INIT_RACERS];
    pthread_barrier_t go;
    const char *out = NULL;
    struct arena a;
    int errors = 0, same = 0;

    arena_init(&a);
    CHECK(store_setting_init(st, &a, "key", "first", &out) == 0 && out &&
              strcmp(out, "first") == 0,
          "setting_init sets a key that has no value");
    CHECK(store_setting_init(st, &a, "key", "second", &out) == 0 && out &&
              strcmp(out, "first") == 0,
          "a second setting_init keeps the first value and reports it");
    CHECK_STR(store_setting_get(st, &a, "key"), "first",
              "the store holds the first value");
    store_setting_set(st, "set", "by hand");
    CHECK(store_setting_init(st, &a, "set", "other", &out) == 0 && out &&
              strcmp(out, "by hand") == 0,
          "setting_init keeps a value set by store_setting_set");
    pthread_barrier_init(&go, NULL, INIT_RACERS);
    for (int i = 0; i < INIT_RACERS; i++) {
        r[i] = (struct init_racer){.url = url, .go = &go};
        snprintf(r[i].mine, sizeof r[i].mine, "value-%d", i);
        pthread_create(&th[i], NULL, init_racer_run, &r[i]);
    }
    for (int i = 0; i < INIT_RACERS; i++) {
        pthread_join(th[i], NULL);
        errors += r[i].errors;
    }
    pthread_barrier_destroy(&go);
    out = store_setting_get(st, &a, "secret");
    for (int i = 0; i < INIT_RACERS; i++)
        same += out && strcmp(r[i].got, out) == 0 &&
                r[i].sub_id == r[0].sub_id && r[i].sub_id > 0;
    CHECK(errors == 0, "%d racing handles init without errors (%d)",
          INIT_RACERS, errors);
    CHECK(same == INIT_RACERS,
          "racing handles all get the one value stored (%s), and one "
          "subscriber id for one email",
          out ? out : "none");
    arena_release(&a);
}

static void contract_subscribers(struct store *st, const char *url)
{
    struct store_newsletter na, nb, got;
    struct store_subscriber sb;
    int64_t id = 0, id2 = 0;
    struct arena a;

    (void)url;
    arena_init(&a);
    mail_newsletters(st, &na, &nb);
    CHECK(store_newsletter_get(st, &a, na.id, &got) == 0 &&
              strcmp(got.slug, "ports") == 0 && got.position == 2 &&
              got.active == 1,
          "a newsletter reads back by id");
    CHECK(store_newsletter_get_by_slug(st, &a, "morning", &got) == 0 &&
              got.id == nb.id && strcmp(got.name, "Morning") == 0,
          "a newsletter reads back by slug");
    CHECK(store_newsletter_get(st, &a, na.id + 100, &got) == STORE_NOTFOUND &&
              store_newsletter_get_by_slug(st, &a, "nope", &got) ==
                  STORE_NOTFOUND,
          "a missing newsletter is not found");
    CHECK(store_subscriber_upsert(st, "ann@example.org", 100, &id) == 0 &&
              id > 0,
          "a subscriber is created");
    CHECK(store_subscriber_upsert(st, "ann@example.org", 200, &id2) == 0 &&
              id2 == id,
          "the same email gives the same subscriber");
    CHECK(store_subscriber_get(st, &a, id, &sb) == 0 && sb.id == id &&
              strcmp(sb.email, "ann@example.org") == 0 && sb.created_at == 100,
          "a subscriber reads back by id, created_at from its creation");
    CHECK(store_subscriber_get_by_email(st, &a, "ann@example.org", &sb) == 0 &&
              sb.id == id,
          "a subscriber reads back by email");
    CHECK(store_subscriber_get(st, &a, id + 100, &sb) == STORE_NOTFOUND &&
              store_subscriber_get_by_email(st, &a, "bob@example.org", &sb) ==
                  STORE_NOTFOUND,
          "a missing subscriber is not found");
    arena_release(&a);
}

static void contract_subscriptions(struct store *st, const char *url)
{
    struct store_newsletter na, nb;
    struct store_subscription s, *list;
    int64_t ann, bob;
    struct arena a;
    size_t n;

    (void)url;
    arena_init(&a);
    mail_newsletters(st, &na, &nb);
    store_subscriber_upsert(st, "ann@example.org", 1, &ann);
    store_subscriber_upsert(st, "bob@example.org", 1, &bob);
    CHECK(store_subscription_request(st, &a, ann, na.id, 100, "t1", &s) == 0 &&
              s.id > 0 && s.state == STORE_SUB_PENDING &&
              strcmp(s.token, "t1") == 0 && s.created_at == 100 &&
              s.confirmed_at == 0 && s.subscriber_id == ann &&
              s.newsletter_id == na.id &&
              strcmp(s.email, "ann@example.org") == 0 &&
              strcmp(s.newsletter_slug, "ports") == 0,
          "a sign-up makes a pending subscription");
    CHECK(store_subscription_request(st, &a, ann, na.id, 200, "t2", &s) == 0 &&
              s.state == STORE_SUB_PENDING && strcmp(s.token, "t1") == 0 &&
              s.created_at == 100,
          "signing up again while pending changes nothing");
    CHECK(store_subscription_set(st, ann, na.id, STORE_SUB_ACTIVE, 300, NULL) ==
              0,
          "a pending subscription is confirmed");
    store_subscription_set(st, ann, na.id, STORE_SUB_ACTIVE, 400, NULL);
    CHECK(store_subscription_request(st, &a, ann, na.id, 500, "t3", &s) == 0 &&
              s.state == STORE_SUB_ACTIVE && strcmp(s.token, "t1") == 0 &&
              s.confirmed_at == 300,
          "signing up while active changes nothing; confirming twice keeps "
          "the first confirmed_at");
    CHECK(store_subscription_set(st, ann, na.id, STORE_SUB_UNSUBSCRIBED, 600,
                                 NULL) == 0,
          "an active subscription is left");
    CHECK(store_subscription_request(st, &a, ann, na.id, 700, "t4", &s) == 0 &&
              s.state == STORE_SUB_PENDING && strcmp(s.token, "t4") == 0 &&
              s.created_at == 700 && s.confirmed_at == 0,
          "signing up after leaving makes it pending with the new token");
    CHECK(store_subscription_set(st, ann, nb.id, STORE_SUB_UNSUBSCRIBED, 800,
                                 "x") == STORE_NOTFOUND &&
              store_subscription_set(st, ann, nb.id, STORE_SUB_PENDING, 800,
                                     "x") == STORE_NOTFOUND &&
              store_subscription_set(st, ann, nb.id, STORE_SUB_ACTIVE, 800,
                                     NULL) == STORE_NOTFOUND,
          "setting a missing subscription is not found (but for ACTIVE "
          "with a token)");
    CHECK(store_subscription_set(st, ann, nb.id, STORE_SUB_ACTIVE, 800, "t5") ==
              0,
          "ACTIVE with a token creates a missing subscription");
    CHECK(store_subscriptions_of(st, &a, ann, &list, &n) == 0 && n == 2 &&
              list[0].newsletter_id == nb.id &&
              list[0].state == STORE_SUB_ACTIVE &&
              list[0].confirmed_at == 800 && list[0].created_at == 800 &&
              strcmp(list[0].token, "t5") == 0 &&
              strcmp(list[0].newsletter_slug, "morning") == 0 &&
              strcmp(list[0].email, "ann@example.org") == 0 &&
              list[1].newsletter_id == na.id,
          "a subscriber's subscriptions list by newsletter position");
    CHECK(store_subscription_set(st, ann, na.id, STORE_SUB_ACTIVE, 900, "t6") ==
                  0 &&
              store_subscriptions_of(st, &a, ann, &list, &n) == 0 && n == 2 &&
              list[1].state == STORE_SUB_ACTIVE &&
              list[1].confirmed_at == 900 && strcmp(list[1].token, "t4") == 0,
          "ACTIVE on an existing row keeps its token");
    store_subscription_set(st, ann, na.id, STORE_SUB_PENDING, 950, NULL);
    CHECK(store_subscriptions_of(st, &a, ann, &list, &n) == 0 && n == 2 &&
              list[1].state == STORE_SUB_PENDING && list[1].created_at == 950,
          "PENDING restarts created_at");
    CHECK(store_subscription_request(st, &a, bob, na.id, 1000, "t5", &s) ==
              STORE_CONFLICT,
          "a sign-up with a taken token is a conflict");
    CHECK(store_subscriptions_of(st, &a, bob, &list, &n) == 0 && n == 0,
          "a refused sign-up leaves nothing behind");
    arena_release(&a);
}

static void contract_subscriptions_purge(struct store *st, const char *url)
{
    struct store_newsletter na, nb;
    struct store_subscription s, *list;
    struct store_subscriber sb;
    int64_t x, y, z, w, v;
    size_t n = 99, sent, failed, pending;
    struct arena a;

    (void)url;
    arena_init(&a);
    mail_newsletters(st, &na, &nb);
    store_subscriber_upsert(st, "x@example.org", 100, &x);
    store_subscriber_upsert(st, "y@example.org", 100, &y);
    store_subscriber_upsert(st, "z@example.org", 100, &z);
    store_subscriber_upsert(st, "w@example.org", 100, &w);
    store_subscriber_upsert(st, "v@example.org", 2000, &v);
    store_subscription_request(st, &a, x, na.id, 100, "x", &s);
    store_subscription_request(st, &a, y, na.id, 900, "y", &s);
    store_subscription_set(st, z, na.id, STORE_SUB_ACTIVE, 100, "za");
    store_subscription_request(st, &a, z, nb.id, 100, "zb", &s);
    store_outbox_add(st, "confirm:x", x, 100);
    CHECK(store_subscriptions_purge(st, 500, &n) == 0 && n == 2,
          "purge deletes the pending subscriptions made before (%zu)", n);
    CHECK(store_subscriber_get(st, &a, x, &sb) == STORE_NOTFOUND &&
              store_subscriber_get(st, &a, w, &sb) == STORE_NOTFOUND,
          "purge deletes old subscribers left with no subscription");
    CHECK(store_subscriber_get(st, &a, v, &sb) == 0,
          "purge keeps a subscriber made after `before` (a sign-up under "
          "way)");
    CHECK(store_subscriptions_of(st, &a, y, &list, &n) == 0 && n == 1 &&
              list[0].state == STORE_SUB_PENDING,
          "purge keeps a recent pending subscription");
    CHECK(store_subscriptions_of(st, &a, z, &list, &n) == 0 && n == 1 &&
              list[0].state == STORE_SUB_ACTIVE,
          "purge keeps active subscriptions and their subscriber");
    CHECK(store_outbox_progress(st, "confirm:x", &sent, &failed, &pending) ==
                  0 &&
              pending == 0,
          "a purged subscriber's mail goes with it");
    CHECK(store_subscriptions_purge(st, 500, NULL) == 0,
          "purge with nothing to delete is fine");
    arena_release(&a);
}

static void contract_subscriptions_search(struct store *st, const char *url)
{
    static const char *const emails[] = {
        "Alice@Example.org", "bob_smith@example.org", "carol%@example.net",
        "dave@example.net"};
    struct store_newsletter na, nb;
    struct store_subscription s, *out;
    int64_t id[4];
    size_t n, total, counts[3];
    struct arena a;

    (void)url;
    arena_init(&a);
    mail_newsletters(st, &na, &nb);
    for (int i = 0; i < 4; i++) {
        char tok[16];
        store_subscriber_upsert(st, emails[i], 1, &id[i]);
        snprintf(tok, sizeof tok, "a%d", i);
        store_subscription_request(st, &a, id[i], na.id, 100 + i, tok, &s);
    }
    /* alice: ports pending (100), morning active (50);
     * bob: ports active; carol: ports unsubscribed; dave: ports pending */
    store_subscription_set(st, id[0], nb.id, STORE_SUB_ACTIVE, 50, "b0");
    store_subscription_set(st, id[1], na.id, STORE_SUB_ACTIVE, 200, NULL);
    store_subscription_set(st, id[2], na.id, STORE_SUB_UNSUBSCRIBED, 200, NULL);
    CHECK(store_subscriptions_search(st, &a, NULL, 0, -1, 0, 0, &out, &n,
                                     &total) == 0 &&
              n == 5 && total == 5 && out[0].subscriber_id == id[3] &&
              out[3].subscriber_id == id[0] && out[4].newsletter_id == nb.id &&
              strcmp(out[0].email, "dave@example.net") == 0 &&
              strcmp(out[0].newsletter_slug, "ports") == 0,
          "search with no filter lists every subscription, newest first");
    CHECK(store_subscriptions_search(st, &a, "EXAMPLE.ORG", 0, -1, 0, 0, &out,
                                     &n, &total) == 0 &&
              n == 3 && total == 3,
          "search matches the email case-insensitively (%zu)", n);
    CHECK(store_subscriptions_search(st, &a, "_", 0, -1, 0, 0, &out, &n,
                                     &total) == 0 &&
              n == 1 && out[0].subscriber_id == id[1],
          "an underscore in the search is literal");
    CHECK(store_subscriptions_search(st, &a, "%", 0, -1, 0, 0, &out, &n,
                                     &total) == 0 &&
              n == 1 && out[0].subscriber_id == id[2],
          "a percent sign in the search is literal");
    CHECK(store_subscriptions_search(st, &a, "", nb.id, -1, 0, 0, &out, &n,
                                     &total) == 0 &&
              n == 1 && out[0].subscriber_id == id[0],
          "search by newsletter");
    CHECK(store_subscriptions_search(st, &a, NULL, na.id, STORE_SUB_PENDING, 0,
                                     0, &out, &n, &total) == 0 &&
              n == 2 && total == 2 && out[0].subscriber_id == id[3] &&
              out[1].subscriber_id == id[0],
          "search by newsletter and state");
    CHECK(store_subscriptions_search(st, &a, "example", 0, -1, 2, 1, &out, &n,
                                     &total) == 0 &&
              n == 2 && total == 5 && out[0].subscriber_id == id[2] &&
              out[1].subscriber_id == id[1],
          "limit and offset page the results; total counts them all");
    CHECK(store_subscriptions_search(st, &a, "nobody", 0, -1, 0, 0, &out, &n,
                                     NULL) == 0 &&
              n == 0,
          "a search matching nothing is empty");
    CHECK(store_subscription_counts(st, na.id, counts) == 0 &&
              counts[STORE_SUB_PENDING] == 2 && counts[STORE_SUB_ACTIVE] == 1 &&
              counts[STORE_SUB_UNSUBSCRIBED] == 1,
          "counts by state for one newsletter");
    CHECK(store_subscription_counts(st, 0, counts) == 0 &&
              counts[STORE_SUB_PENDING] == 2 && counts[STORE_SUB_ACTIVE] == 2 &&
              counts[STORE_SUB_UNSUBSCRIBED] == 1,
          "counts by state for all newsletters");
    CHECK(store_subscription_counts(st, nb.id + 100, counts) == 0 &&
              counts[0] == 0 && counts[1] == 0 && counts[2] == 0,
          "counts of a newsletter without subscriptions are zero");
    arena_release(&a);
}

static void contract_subscription_daily(struct store *st, const char *url)
{
    const int64_t day = 86400, today = 20000 * day, now = today + 3600;
    struct store_newsletter na, nb;
    struct store_subscription s;
    size_t out[7], all[7];
    struct arena a;
    int64_t id;
    /* confirmed_at of active ports subscriptions */
    const int64_t when[] = {today,           today + 3599,
                            today - 1,       today - 2 * day + 5,
                            today - 6 * day, today - 6 * day - 1};

    (void)url;
    arena_init(&a);
    mail_newsletters(st, &na, &nb);
    for (size_t i = 0; i < sizeof when / sizeof when[0]; i++) {
        char email[32], tok[16];
        snprintf(email, sizeof email, "d%zu@example.org", i);
        snprintf(tok, sizeof tok, "d%zu", i);
        store_subscriber_upsert(st, email, 1, &id);
        store_subscription_set(st, id, na.id, STORE_SUB_ACTIVE, when[i], tok);
    }
    /* not counted: a pending one, an unsubscribed one */
    store_subscriber_upsert(st, "p@example.org", 1, &id);
    store_subscription_request(st, &a, id, na.id, today, "p", &s);
    store_subscription_set(st, id, nb.id, STORE_SUB_ACTIVE, today, "pb");
    store_subscription_set(st, id, nb.id, STORE_SUB_UNSUBSCRIBED, today, NULL);
    /* counted for all newsletters only */
    store_subscriber_upsert(st, "q@example.org", 1, &id);
    store_subscription_set(st, id, nb.id, STORE_SUB_ACTIVE, today - day, "q");
    memset(out, 0xff, sizeof out);
    CHECK(store_subscription_daily(st, na.id, now, 7, out) == 0,
          "daily counts read");
    CHECK(out[6] == 2 && out[5] == 1 && out[4] == 1 && out[3] == 0 &&
              out[2] == 0 && out[1] == 0 && out[0] == 1,
          "confirmations are bucketed by UTC day, zeros where none "
          "(%zu %zu %zu %zu %zu %zu %zu)",
          out[0], out[1], out[2], out[3], out[4], out[5], out[6]);
    CHECK(store_subscription_daily(st, 0, now, 7, all) == 0 && all[6] == 2 &&
              all[5] == 2 && all[0] == 1,
          "daily counts for all newsletters");
    CHECK(store_subscription_daily(st, na.id, now, 1, out) == 0 && out[0] == 2,
          "one day is today");
    CHECK(store_subscription_daily(st, na.id, now, 367, out) == STORE_ERROR,
          "more than 366 days is refused");
    arena_release(&a);
}

/* Newsletter na with three active subscribers, one pending, one
 * unsubscribed; nb with one active. */
static void mail_audience(struct store *st, struct arena *a,
                          struct store_newsletter *na,
                          struct store_newsletter *nb, int64_t ids[6])
{
    struct store_subscription s;

    mail_newsletters(st, na, nb);
    for (int i = 0; i < 6; i++) {
        char email[32], tok[16];
        snprintf(email, sizeof email, "r%d@example.org", i);
        snprintf(tok, sizeof tok, "r%d", i);
        store_subscriber_upsert(st, email, 1, &ids[i]);
        if (i < 3)
            store_subscription_set(st, ids[i], na->id, STORE_SUB_ACTIVE, 10,
                                   tok);
        else if (i < 5)
            store_subscription_request(st, a, ids[i], na->id, 10, tok, &s);
    }
    store_subscription_set(st, ids[4], na->id, STORE_SUB_UNSUBSCRIBED, 11,
                           NULL);
    store_subscription_set(st, ids[5], nb->id, STORE_SUB_ACTIVE, 10, "r5b");
}

#define SEND_ROUNDS 15 /* sends made while a reader watches */

struct send_watch {
    struct store *st; /* shared handle */
    atomic_int *done; /* 1 once the writer is finished */
    int bad;          /* sends seen without all their rows */
    int errors;       /* failed calls */
};

/* Reads sends while they are being made: each one seen must already
 * have its total and every outbox row. */
static void *send_watch_run(void *arg)
{
    struct send_watch *w = arg;
    struct store_send *list;
    struct arena a;
    size_t n, sent, failed, pending;
    char sid[32];

    arena_init(&a);
    while (!atomic_load(w->done)) {
        if (store_sends_list(w->st, &a, 0, 100, &list, &n) != 0) {
            w->errors++;
            break;
        }
        for (size_t i = 0; i < n; i++) {
            if (strcmp(list[i].subject, "R") != 0)
                continue;
            snprintf(sid, sizeof sid, "send:%lld", (long long)list[i].id);
            if (store_outbox_progress(w->st, sid, &sent, &failed, &pending))
                w->errors++;
            else if (list[i].total != 3 || pending != 3)
                w->bad++;
        }
        arena_release(&a);
    }
    arena_release(&a);
    return NULL;
}

static void contract_sends(struct store *st, const char *url)
{
    struct store_newsletter na, nb;
    struct store_send s1 = {0}, s2 = {0}, s3 = {0}, got, *list;
    struct store_outbox *o;
    struct store_post p = mkpost("issue", STORE_POST_PUBLISHED, 5);
    int64_t ids[6];
    size_t n, sent, failed, pending;
    struct arena a;
    char sid[32];

    (void)url;
    arena_init(&a);
    mail_audience(st, &a, &na, &nb, ids);
    store_post_save(st, &p, NULL, 0, NULL, 0);
    s1 = (struct store_send){.newsletter_id = na.id,
                             .post_id = p.id,
                             .subject = "Ports this week",
                             .created_by = 7,
                             .created_at = 1000};
    CHECK(store_send_create(st, &s1) == 0 && s1.id > 0 && s1.total == 3,
          "a send makes one mail per active subscription (%zu)", s1.total);
    snprintf(sid, sizeof sid, "send:%lld", (long long)s1.id);
    CHECK(store_outbox_progress(st, sid, &sent, &failed, &pending) == 0 &&
              pending == 3 && sent == 0 && failed == 0,
          "the send's mails are pending");
    CHECK(store_send_get(st, &a, s1.id, &got) == 0 && got.id == s1.id &&
              got.newsletter_id == na.id && got.post_id == p.id &&
              got.digest == 0 && strcmp(got.subject, "Ports this week") == 0 &&
              got.created_by == 7 && got.created_at == 1000 && got.total == 3,
          "a send reads back");
    CHECK(store_outbox_claim(st, &a, 999, 60, 10, &o, &n) == 0 && n == 0,
          "a send's mails are due at its created_at, not before");
    CHECK(store_outbox_claim(st, &a, 1000, 60, 10, &o, &n) == 0 && n == 3 &&
              strcmp(o[0].send_id, sid) == 0 && o[0].attempts == 1 &&
              (o[0].subscriber_id == ids[0] || o[0].subscriber_id == ids[1] ||
               o[0].subscriber_id == ids[2]),
          "the mails go to the active subscribers");
    CHECK(store_outbox_progress(st, sid, &sent, &failed, &pending) == 0 &&
              pending == 3,
          "claimed mails still count as pending");
    s2 = (struct store_send){.newsletter_id = nb.id,
                             .digest = 5,
                             .subject = "Digest",
                             .created_at = 2000};
    s3 = (struct store_send){.newsletter_id = na.id, .subject = "Later"};
    CHECK(store_send_create(st, &s2) == 0 && s2.total == 1 &&
              store_send_create(st, &s3) == 0 && s3.created_at > 2000,
          "a digest send; created_at 0 is now");
    CHECK(store_send_get(st, &a, s2.id, &got) == 0 && got.post_id == 0 &&
              got.digest == 5 && got.created_by == 0,
          "a digest send has no post and no staff");
    CHECK(store_sends_list(st, &a, 0, 0, &list, &n) == 0 && n == 3 &&
              list[0].id == s3.id && list[1].id == s2.id && list[2].id == s1.id,
          "sends list newest first");
    CHECK(store_sends_list(st, &a, na.id, 1, &list, &n) == 0 && n == 1 &&
              list[0].id == s3.id,
          "sends list by newsletter, with a limit");
    CHECK(store_send_get(st, &a, s3.id + 100, &got) == STORE_NOTFOUND,
          "a missing send is not found");
    CHECK(store_post_delete(st, p.id) == 0 &&
              store_send_get(st, &a, s1.id, &got) == 0 && got.post_id == 0,
          "deleting the article keeps its send");
    /* one transaction: rolled back, none of it stays */
    {
        struct store_send s4 = {
            .newsletter_id = na.id, .subject = "Undone", .created_at = 3000};
        store_tx_begin(st);
        store_send_create(st, &s4);
        store_tx_rollback(st);
        snprintf(sid, sizeof sid, "send:%lld", (long long)s4.id);
        CHECK(s4.id > 0 &&
                  store_send_get(st, &a, s4.id, &got) == STORE_NOTFOUND &&
                  store_outbox_progress(st, sid, &sent, &failed, &pending) ==
                      0 &&
                  pending == 0,
              "a rolled-back send leaves neither send nor mails");
    }
    /* a reader never sees a send without all of its mails */
    {
        struct send_watch w = {0};
        atomic_int done;
        pthread_t th;
        int errors = 0;

        atomic_init(&done, 0);
        w.st = st;
        w.done = &done;
        pthread_create(&th, NULL, send_watch_run, &w);
        for (int i = 0; i < SEND_ROUNDS; i++) {
            struct store_send si = {
                .newsletter_id = na.id, .subject = "R", .created_at = 5000 + i};
            errors += store_send_create(st, &si) != 0 || si.total != 3;
        }
        atomic_store(&done, 1);
        pthread_join(th, NULL);
        CHECK(errors == 0 && w.errors == 0,
              "sends are made while read (%d, %d errors)", errors, w.errors);
        CHECK(w.bad == 0,
              "no send is seen before all of its mails (%d seen early)", w.bad);
    }
    /* one transaction: when a mail cannot be queued (a row of that send
     * id is already there), the send is not made either */
    {
        struct store_send s5 = {
            .newsletter_id = na.id, .subject = "Clash", .created_at = 2500};
        int64_t next = 1;
        int rc;

        store_sends_list(st, &a, 0, 100, &list, &n);
        for (size_t i = 0; i < n; i++) /* the id the next send gets */
            if (list[i].id >= next)
                next = list[i].id + 1;
        snprintf(sid, sizeof sid, "send:%lld", (long long)next);
        store_outbox_add(st, sid, ids[1], 1);
        rc = store_send_create(st, &s5);
        CHECK(rc != 0 && store_send_get(st, &a, next, &got) == STORE_NOTFOUND &&
                  store_sends_list(st, &a, 0, 100, &list, &n) == 0 &&
                  n == 3 + SEND_ROUNDS &&
                  store_outbox_progress(st, sid, &sent, &failed, &pending) ==
                      0 &&
                  pending == 1,
              "a send whose mails cannot all be queued is not made (%d)", rc);
    }
    arena_release(&a);
}

static void contract_outbox(struct store *st, const char *url)
{
    struct store_newsletter na, nb;
    struct store_outbox *o;
    int64_t ids[6];
    size_t n, sent, failed, pending;
    struct arena a;
    int is_pg = strncmp(url, "postgres", 8) == 0;

    arena_init(&a);
    mail_audience(st, &a, &na, &nb, ids);
    CHECK(store_outbox_add(st, "confirm:1", ids[0], 100) == 0,
          "a confirmation mail is queued");
    CHECK(store_outbox_add(st, "confirm:1", ids[0], 200) == STORE_CONFLICT,
          "the same mail to the same subscriber twice is a conflict");
    CHECK(store_outbox_claim(st, &a, 99, 60, 10, &o, &n) == 0 && n == 0 &&
              o == NULL,
          "nothing is claimed before it is due");
    CHECK(store_outbox_claim(st, &a, 100, 60, 10, &o, &n) == 0 && n == 1 &&
              strcmp(o[0].send_id, "confirm:1") == 0 &&
              o[0].subscriber_id == ids[0] &&
              strcmp(o[0].email, "r0@example.org") == 0 && o[0].attempts == 1,
          "a due mail is claimed with its address");
    CHECK(store_outbox_claim(st, &a, 160, 60, 10, &o, &n) == 0 && n == 0,
          "a claimed mail is not claimed again while its lease holds");
    CHECK(store_outbox_claim(st, &a, 161, 60, 10, &o, &n) == 0 && n == 1 &&
              o[0].attempts == 2,
          "a mail whose lease ended is claimed again (a worker died)");
    CHECK(store_outbox_retry(st, o[0].id, 300, "timeout") == 0 &&
              store_outbox_claim(st, &a, 299, 60, 10, &o, &n) == 0 && n == 0,
          "a retried mail waits for its next attempt");
    CHECK(store_outbox_claim(st, &a, 300, 60, 10, &o, &n) == 0 && n == 1 &&
              o[0].attempts == 3,
          "a retried mail is claimed again when due");
    CHECK(store_outbox_fail(st, o[0].id, "bounced") == 0 &&
              store_outbox_progress(st, "confirm:1", &sent, &failed,
                                    &pending) == 0 &&
              failed == 1 && sent == 0 && pending == 0,
          "a failed mail counts as failed");
    CHECK(store_outbox_claim(st, &a, 100000, 60, 10, &o, &n) == 0 && n == 0,
          "a failed mail is never claimed");
    /* order: oldest due first, up to max */
    store_outbox_add(st, "confirm:2", ids[1], 10);
    store_outbox_add(st, "confirm:2", ids[2], 5);
    store_outbox_add(st, "confirm:2", ids[3], 7);
    CHECK(store_outbox_claim(st, &a, 1000, 60, 2, &o, &n) == 0 && n == 2 &&
              o[0].subscriber_id == ids[2] && o[1].subscriber_id == ids[3],
          "claims take the oldest due first, at most max");
    CHECK(store_outbox_sent(st, o[0].id, 1001) == 0 &&
              store_outbox_progress(st, "confirm:2", &sent, &failed,
                                    &pending) == 0 &&
              sent == 1 && failed == 0 && pending == 2,
          "progress counts sent, failed and pending mails");
    CHECK(store_outbox_claim(st, &a, 1000, 60, 0, &o, &n) == 0 && n == 0,
          "claiming at most 0 claims nothing");
    CHECK(store_outbox_sent(st, 999999, 1) == STORE_NOTFOUND &&
              store_outbox_retry(st, 999999, 1, NULL) == STORE_NOTFOUND &&
              store_outbox_fail(st, 999999, NULL) == STORE_NOTFOUND,
          "marking a missing mail is not found");
    if (is_pg) {
        char err[256];
        struct store *other = store_open(url, err, sizeof err);
        struct store_subscription s;
        struct store_send sd = {
            .newsletter_id = na.id, .subject = "Quiet", .created_at = 1};
        struct store_newsletter nc = {.slug = "new", .name = "New"};
        uint64_t v0 = store_version(st), v1;
        int64_t id;

        CHECK(other != NULL, "a second handle opens");
        if (!other)
            goto out;
        version_settles(other);
        v1 = store_version(other);
        store_subscriber_upsert(st, "quiet@example.org", 1, &id);
        store_subscription_request(st, &a, id, na.id, 1, "quiet", &s);
        store_subscription_set(st, id, na.id, STORE_SUB_ACTIVE, 2, NULL);
        store_send_create(st, &sd);
        store_outbox_add(st, "confirm:q", id, 1);
        store_outbox_claim(st, &a, 1 << 30, 60, 100, &o, &n);
        store_outbox_sent(st, o[0].id, 3);
        store_outbox_retry(st, o[1].id, 3, "x");
        store_outbox_fail(st, o[2].id, "x");
        store_subscriptions_purge(st, 1 << 30, NULL);
        CHECK(store_version(st) == v0,
              "postgresql: subscriber, send and outbox writes leave this "
              "handle's version");
        CHECK(version_stays(other, v1),
              "postgresql: subscriber, send and outbox writes leave other "
              "nodes' version");
        store_newsletter_save(st, &nc);
        CHECK(version_moves(other, v1) && store_version(st) != v0,
              "postgresql: a newsletter write still moves it");
        store_close(other);
    }
out:
    arena_release(&a);
}

#define OUTBOX_ROWS 2000 /* mails the claimers share */
#define OUTBOX_THREADS 4 /* claiming threads */
#define OUTBOX_BATCH 25  /* rows per claim */

struct outbox_claimer {
    struct store *st;    /* shared handle, or NULL to open url */
    const char *url;     /* database */
    const int64_t *subs; /* subscriber ids, ascending */
    atomic_int *seen;    /* per subscriber index: times claimed */
    int errors;          /* failed calls or strange rows */
};

static void *outbox_claimer_run(void *arg)
{
    struct outbox_claimer *c = arg;
    struct store *st = c->st;
    struct store_outbox *o;
    struct arena a;
    char err[256];
    size_t n;

    if (!st)
        st = store_open(c->url, err, sizeof err);
    if (!st) {
        c->errors++;
        return NULL;
    }
    arena_init(&a);
    for (;;) {
        if (store_outbox_claim(st, &a, 1000, 600, OUTBOX_BATCH, &o, &n) != 0) {
            c->errors++;
            break;
        }
        if (n == 0)
            break;
        for (size_t i = 0; i < n; i++) {
            size_t lo = 0, hi = OUTBOX_ROWS;
            while (lo < hi) { /* the subscriber's index */
                size_t mid = (lo + hi) / 2;
                if (c->subs[mid] < o[i].subscriber_id)
                    lo = mid + 1;
                else
                    hi = mid;
            }
            if (lo < OUTBOX_ROWS && c->subs[lo] == o[i].subscriber_id)
                atomic_fetch_add(&c->seen[lo], 1);
            else
                c->errors++;
            if (store_outbox_sent(st, o[i].id, 1000) != 0)
                c->errors++;
        }
        arena_release(&a);
    }
    arena_release(&a);
    if (!c->st)
        store_close(st);
    return NULL;
}

static void contract_outbox_concurrency(struct store *st, const char *url)
{
    static int64_t subs[OUTBOX_ROWS];
    static atomic_int seen[OUTBOX_ROWS];
    struct outbox_claimer c[OUTBOX_THREADS];
    pthread_t th[OUTBOX_THREADS];
    struct store_newsletter na, nb;
    struct store_send sd = {.subject = "Everyone", .created_at = 1000};
    size_t sent, failed, pending;
    int errors = 0, once = 0;
    char sid[32];

    mail_newsletters(st, &na, &nb);
    store_tx_begin(st);
    for (int i = 0; i < OUTBOX_ROWS; i++) {
        char email[32], tok[16];
        snprintf(email, sizeof email, "c%04d@example.org", i);
        snprintf(tok, sizeof tok, "c%d", i);
        errors += store_subscriber_upsert(st, email, 1, &subs[i]) != 0;
        errors += store_subscription_set(st, subs[i], na.id, STORE_SUB_ACTIVE,
                                         1, tok) != 0;
        atomic_init(&seen[i], 0);
    }
    errors += store_tx_commit(st) != 0;
    for (int i = 1; i < OUTBOX_ROWS; i++)
        errors += subs[i] <= subs[i - 1];
    sd.newsletter_id = na.id;
    CHECK(errors == 0 && store_send_create(st, &sd) == 0 &&
              sd.total == OUTBOX_ROWS,
          "a send of %d mails is made (%zu)", OUTBOX_ROWS, sd.total);
    for (int i = 0; i < OUTBOX_THREADS; i++) {
        c[i] = (struct outbox_claimer){i < 2 ? st : NULL, url, subs, seen, 0};
        pthread_create(&th[i], NULL, outbox_claimer_run, &c[i]);
    }
    for (int i = 0; i < OUTBOX_THREADS; i++) {
        pthread_join(th[i], NULL);
        errors += c[i].errors;
    }
    for (int i = 0; i < OUTBOX_ROWS; i++)
        once += atomic_load(&seen[i]) == 1;
    CHECK(errors == 0,
          "%d threads (2 with their own handle) claim without "
          "errors (%d)",
          OUTBOX_THREADS, errors);
    CHECK(once == OUTBOX_ROWS, "every mail is claimed exactly once (%d)", once);
    snprintf(sid, sizeof sid, "send:%lld", (long long)sd.id);
    CHECK(store_outbox_progress(st, sid, &sent, &failed, &pending) == 0 &&
              sent == OUTBOX_ROWS && pending == 0,
          "every mail is sent (%zu)", sent);
}

/* --- SQLite only --------------------------------------------------------- */

static int count_rows(const char *file, const char *sql)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    int n = -1;

    if (sqlite3_open_v2(file, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return n;
}

static void sqlite_open_and_migrate(void)
{
    char url[512], err[256];
    const char *file;
    struct store *st;
    struct arena a;
    int v, applied;

    new_url(url, sizeof url);
    file = url + strlen("sqlite:");
    st = store_open(url, err, sizeof err);
    CHECK(st != NULL, "a new database opens (%s)", st ? "ok" : err);
    if (!st)
        return;
    v = store_schema_version(st);
    CHECK(v >= 1, "migrations are applied (schema %d)", v);
    CHECK(store_setting_set(st, "kept", "yes") == 0, "a setting saves");
    store_close(st);
    applied = count_rows(file, "SELECT count(*) FROM schema_migrations");
    CHECK(applied >= 1, "migrations are recorded");

    st = store_open(file, err, sizeof err);
    CHECK(st != NULL, "a plain path opens the same database");
    if (!st)
        return;
    CHECK(store_schema_version(st) == v, "reopening keeps the version");
    arena_init(&a);
    CHECK_STR(store_setting_get(st, &a, "kept"), "yes",
              "data survives reopening");
    arena_release(&a);
    store_close(st);
    CHECK(count_rows(file, "SELECT count(*) FROM schema_migrations") == applied,
          "reopening applies nothing twice");
    CHECK(count_rows(file, "SELECT count(*) FROM pragma_journal_mode "
                           "WHERE journal_mode = 'wal'") == 1,
          "the database is in WAL mode");
}

static void sqlite_open_errors(void)
{
    char err[256] = "";

    CHECK(store_open("postgresql://news:s3cret@127.0.0.1:1/news", err,
                     sizeof err) == NULL &&
              strstr(err, "cannot connect to 'postgresql://news@127.0.0.1:1"
                          "/news'") != NULL &&
              strstr(err, "s3cret") == NULL,
          "an unreachable postgresql server gives a reason without the "
          "password (%s)",
          err);
    CHECK(store_open("postgres://127.0.0.1:1/news", err, sizeof err) == NULL &&
              strstr(err, "cannot connect") != NULL,
          "postgres:// urls go to the postgresql backend too");
    CHECK(store_open("mysql://localhost/news", err, sizeof err) == NULL &&
              strstr(err, "unknown database url") != NULL,
          "an unknown scheme is refused");
    err[0] = '\0';
    CHECK(store_open("sqlite:/nonexistent-dir/x/news.db", err, sizeof err) ==
                  NULL &&
              strstr(err, "cannot open database") != NULL,
          "a bad path gives a reason (%s)", err);
    CHECK(strcmp(store_strerror(STORE_CONFLICT), "already taken") == 0 &&
              strcmp(store_strerror(STORE_NOTFOUND), "not found") == 0,
          "errors have names");
    store_close(NULL);
}

/* An acknowledged write survives the process dying at once. */
static void sqlite_kill9(void)
{
    char url[512], err[256];
    struct store *st;
    struct arena a;
    struct store_post got;
    pid_t pid;
    int status = 0;

    new_url(url, sizeof url);
    pid = fork();
    if (pid == 0) {
        struct store *cst = store_open(url, err, sizeof err);
        struct store_post p = mkpost("survivor", STORE_POST_PUBLISHED, 1);
        if (cst && store_post_save(cst, &p, NULL, 0, NULL, 0) == 0)
            raise(SIGKILL);
        _exit(1);
    }
    waitpid(pid, &status, 0);
    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
          "the writer was killed right after its save");
    st = store_open(url, err, sizeof err);
    if (!st)
        return;
    arena_init(&a);
    CHECK(store_post_get_by_slug(st, &a, "survivor", &got) == 0,
          "the acknowledged post survives kill -9");
    arena_release(&a);
    store_close(st);
}

static int rm_entry(const char *path, const struct stat *sb, int flag,
                    struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* --- PostgreSQL only ----------------------------------------------------- */

/* Two processes opening a new database at once apply each migration once,
 * and PostgreSQL ends on the same schema number as SQLite. Runs while no
 * store is open in this process (fork). */
static void pg_open_race(int sqlite_version)
{
    char url[512], err[256];
    pid_t pid[2];
    int status, ok = 1;

    if (pg_new_url(url, sizeof url) != 0) {
        CHECK(0, "postgresql: a test database is created");
        return;
    }
    for (int i = 0; i < 2; i++) {
        pid[i] = fork();
        if (pid[i] == 0) {
            struct store *st = store_open(url, err, sizeof err);
            if (!st)
                fprintf(stderr, "%s\n", err);
            store_close(st);
            _exit(st ? 0 : 1);
        }
    }
    for (int i = 0; i < 2; i++) {
        if (pid[i] < 0 || waitpid(pid[i], &status, 0) != pid[i] ||
            !WIFEXITED(status) || WEXITSTATUS(status) != 0)
            ok = 0;
    }
    CHECK(ok, "postgresql: two processes open a new database at once");
    CHECK(pg_query_int(url, "SELECT max(version) FROM schema_migrations") ==
                  sqlite_version &&
              pg_query_int(url, "SELECT count(*) FROM schema_migrations") ==
                  sqlite_version,
          "postgresql: each migration is applied once, up to SQLite's "
          "schema %d",
          sqlite_version);
}

/* 1 once store_version(st) holds still for 200 ms; waits up to 5 s. */
static int version_settles(struct store *st)
{
    for (int i = 0; i < 25; i++) {
        uint64_t v = store_version(st);
        usleep(200000);
        if (store_version(st) == v)
            return 1;
    }
    return 0;
}

/* The server drops every connection of a store (as in a restart): the
 * next calls reconnect, and the listener comes back. */
static void pg_reconnect(void)
{
    char url[512], err[256], sql[256];
    struct store *st, *other;
    struct arena a;
    PGresult *res;
    uint64_t v;

    if (pg_new_url(url, sizeof url) != 0) {
        CHECK(0, "postgresql: a test database is created");
        return;
    }
    st = store_open(url, err, sizeof err);
    CHECK(st != NULL, "postgresql: a store opens (%s)", st ? "ok" : err);
    if (!st)
        return;
    arena_init(&a);
    store_setting_set(st, "k", "1");
    snprintf(sql, sizeof sql,
             "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
             "WHERE datname = '%.63s'",
             pg_dbs[pg_ndbs - 1]);
    res = PQexec(pg_admin, sql);
    CHECK(PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 2,
          "postgresql: the server drops the store's two connections");
    PQclear(res);
    CHECK_STR(store_setting_get(st, &a, "k"), "1",
              "postgresql: the next read reconnects and succeeds");
    CHECK(store_setting_set(st, "k", "2") == 0,
          "postgresql: writes work again");
    CHECK(version_settles(st),
          "postgresql: the listener reconnects (the version holds still)");
    other = store_open(url, err, sizeof err);
    if (other) {
        v = store_version(st);
        store_setting_set(other, "k", "3");
        CHECK(version_moves(st, v),
              "postgresql: others' writes are seen again after it");
        store_close(other);
    }
    arena_release(&a);
    store_close(st);
}

/* Every table the migrations create is in store_table's list (what
 * store_copy copies), and every listed table exists: a migration that adds
 * a table must add it to store.c's list too. */
static void contract_table_list(struct store *st, const char *url)
{
    const char **names;
    struct arena a;
    size_t n, listed = 0;

    (void)url;
    arena_init(&a);
    CHECK(store_table_names(st, &a, &names, &n) == 0 && n > 0,
          "the database's tables are listed");
    for (size_t i = 0; i < n; i++) {
        int found = 0;
        for (size_t j = 0; store_table(j); j++)
            found |= strcmp(names[i], store_table(j)) == 0;
        CHECK(found, "table '%s' is in store.c's copy list", names[i]);
    }
    for (size_t j = 0; store_table(j); j++, listed++) {
        int found = 0;
        for (size_t i = 0; i < n; i++)
            found |= strcmp(names[i], store_table(j)) == 0;
        CHECK(found, "listed table '%s' exists", store_table(j));
        CHECK(store_table_rows(st, store_table(j)) == 0,
              "a fresh '%s' is empty", store_table(j));
    }
    CHECK(listed == n, "as many tables listed (%zu) as exist (%zu)", listed, n);
    arena_release(&a);
}

static void count_progress(void *ctx, const char *table, int64_t done,
                           int64_t total)
{
    (void)table;
    (*(int *)ctx)++;
    if (done > total)
        (*(int *)ctx) = -1000;
}

/* store_copy from a SQLite store with data into st (empty). */
static void contract_copy(struct store *st, const char *url)
{
    char src_url[512], err[256];
    struct store *src;
    struct store_image img = {.name = "images/x",
                              .width = 4,
                              .height = 3,
                              .widths = "480",
                              .formats = "jpg"};
    struct store_author au = {.slug = "ana", .name = "Ana"};
    struct store_tag tag = {
        .slug = "world", .name = "World", .kind = STORE_TAG_SECTION};
    struct store_post p = {0}, got;
    struct store_live lu = {
        .at = 5, .headline = "Live", .body = "b", .html = "<p>b</p>"};
    int calls = 0;
    struct store_live_event *ev;
    struct arena a;
    size_t n;

    (void)url;
    arena_init(&a);
    new_url(src_url, sizeof src_url);
    src = store_open(src_url, err, sizeof err);
    CHECK(src != NULL, "copy: a source store opens");
    if (!src)
        return;
    store_image_save(src, &img);
    au.avatar_id = img.id;
    store_author_save(src, &au);
    store_tag_save(src, &tag);
    p.slug = "copied";
    p.title = "Copied";
    p.markdown = "Body";
    p.html = "<p>Body</p>";
    p.plaintext = "Body";
    p.excerpt = "Body";
    p.language = "en";
    p.status = STORE_POST_PUBLISHED;
    p.published_at = 10;
    p.feature_image_id = img.id;
    /* a gap in the ids: the copy keeps them */
    for (int i = 0; i < 3; i++) {
        struct store_post tmp = p;
        tmp.slug = arena_printf(&a, "gap-%d", i);
        store_post_save(src, &tmp, NULL, 0, NULL, 0);
    }
    CHECK(store_post_save(src, &p, &au.id, 1, &tag.id, 1) == 0 && p.id == 4,
          "copy: the source has a post with id 4");
    store_live_save(src, &lu);
    store_setting_set(src, "title", "The Copy");
    /* the desk's tables (004) */
    {
        struct store_staff sf = {.email = "e@example.org",
                                 .name = "Ed",
                                 .role = "editor",
                                 .password_hash = "x"};
        struct store_session se = {.token_hash = "s1", .expires_at = 9};
        struct store_staff_token tk = {.token_hash = "t1", .purpose = "reset"};
        struct store_revision rv = {
            .title = "Old", .standfirst = "Dek", .markdown = "Was"};
        struct store_audit e = {.at = 1, .actor = "Ed", .action = "x"};
        unsigned c;

        store_staff_save(src, &sf);
        se.staff_id = tk.staff_id = rv.staff_id = e.staff_id = sf.id;
        rv.post_id = p.id;
        CHECK(store_session_add(src, &se) == 0 &&
                  store_staff_token_add(src, &tk) == 0 &&
                  store_revision_add(src, &rv) == 0 &&
                  store_audit_add(src, &e) == 0 &&
                  store_audit_add(src, &e) == 0 &&
                  store_rate_hit(src, "k", 5, 60, &c) == 0,
              "copy: the source has desk rows");
    }
    /* newsletters going out (005) */
    {
        struct store_newsletter nl = {
            .slug = "letter", .name = "Letter", .active = 1};
        struct store_send sd = {.subject = "Issue 1", .created_at = 7};
        struct store_subscription sub;
        int64_t sid;

        store_newsletter_save(src, &nl);
        store_subscriber_upsert(src, "reader@example.org", 3, &sid);
        store_subscription_request(src, &a, sid, nl.id, 4, "tok", &sub);
        store_subscription_set(src, sid, nl.id, STORE_SUB_ACTIVE, 5, NULL);
        sd.newsletter_id = nl.id;
        sd.post_id = p.id;
        CHECK(store_send_create(src, &sd) == 0 && sd.total == 1 &&
                  store_outbox_add(src, "confirm:x", sid, 6) == 0,
              "copy: the source has mail rows");
    }

    /* narrations (006) */
    {
        struct store_narration nr = {.post_id = p.id,
                                     .source_hash = "h",
                                     .voice = "espeak:en",
                                     .state = STORE_NARRATION_READY,
                                     .file = "audio/copied.mp3",
                                     .bytes = 4321,
                                     .error = "was slow"};
        CHECK(store_narration_save(src, &nr) == 0 &&
                  store_post_set_narration_off(src, p.id, 1) == 0,
              "copy: the source has a narration");
    }
    CHECK(store_copy(src, st, 0, count_progress, &calls) == 0,
          "copy: into an empty store");
    {
        struct store_narration nr;
        struct store_post po;
        CHECK(
            store_narration_ready(st, &a, p.id, &nr) == 0 && nr.bytes == 4321 &&
                nr.error && strcmp(nr.error, "was slow") == 0 &&
                store_post_get(st, &a, p.id, &po) == 0 && po.narration_off == 1,
            "copy: narrations keep bytes and error, posts narration_off");
    }
    CHECK(calls > 0, "copy: progress is reported");
    CHECK(store_post_get_by_slug(st, &a, "copied", &got) == 0 &&
              got.id == p.id && got.nauthors == 1 && got.ntags == 1 &&
              got.feature_image &&
              strcmp(got.feature_image->name, "images/x") == 0 &&
              strcmp(got.html, "<p>Body</p>") == 0 && got.standfirst == NULL,
          "copy: a post arrives whole, same id, NULLs kept");
    for (size_t i = 0; store_table(i); i++)
        CHECK(store_table_rows(st, store_table(i)) ==
                  store_table_rows(src, store_table(i)),
              "copy: '%s' has as many rows on both sides", store_table(i));
    CHECK(store_live_events(st, &a, 0, 10, &ev, &n) == 0 && n == 1 &&
              ev[0].live_id == lu.id,
          "copy: the live log is the source's, not doubled");
    {
        struct store_revision *rv;
        struct store_staff_token tk;
        struct store_audit e = {.at = 2, .actor = "Ed", .action = "y"};
        unsigned c = 0;

        CHECK(store_revisions_list(st, &a, p.id, &rv, &n) == 0 && n == 1 &&
                  strcmp(rv[0].standfirst, "Dek") == 0 &&
                  strcmp(rv[0].staff_name, "Ed") == 0,
              "copy: revisions arrive with their standfirst and staff");
        CHECK(store_staff_token_get(st, &a, "t1", &tk) == 0 &&
                  store_rate_peek(st, "k", 5, 60, &c) == 0 && c == 1,
              "copy: staff tokens and rate limits arrive");
        CHECK(store_audit_add(st, &e) == 0 && e.id == 3,
              "copy: new audit ids come after the copied ones");
    }
    {
        struct store_send *sends,
            next = {.subject = "Issue 2", .created_at = 8};
        struct store_subscription *subs;
        size_t sent, failed, pending;
        char sid[32];

        CHECK(store_sends_list(st, &a, 0, 0, &sends, &n) == 0 && n == 1 &&
                  sends[0].post_id == p.id && sends[0].total == 1 &&
                  strcmp(sends[0].subject, "Issue 1") == 0,
              "copy: the send arrives");
        snprintf(sid, sizeof sid, "send:%lld", (long long)sends[0].id);
        CHECK(store_outbox_progress(st, sid, &sent, &failed, &pending) == 0 &&
                  pending == 1 &&
                  store_outbox_progress(st, "confirm:x", &sent, &failed,
                                        &pending) == 0 &&
                  pending == 1,
              "copy: the outbox arrives");
        next.newsletter_id = sends[0].newsletter_id;
        CHECK(store_subscriptions_of(st, &a, 1, &subs, &n) == 0 && n == 1 &&
                  subs[0].state == STORE_SUB_ACTIVE &&
                  strcmp(subs[0].email, "reader@example.org") == 0,
              "copy: subscriptions arrive");
        CHECK(store_send_create(st, &next) == 0 && next.id > sends[0].id &&
                  next.total == 1,
              "copy: new send ids come after the copied ones");
    }
    {
        struct store_post next = p;
        next.id = 0;
        next.slug = "after-copy";
        CHECK(store_post_save(st, &next, NULL, 0, NULL, 0) == 0 &&
                  next.id > p.id,
              "copy: new ids come after the copied ones");
    }
    CHECK(store_copy(src, st, 0, NULL, NULL) == STORE_CONFLICT,
          "copy: a target with rows is refused");
    CHECK(store_post_get_by_slug(st, &a, "after-copy", &got) == 0,
          "copy: a refused copy changes nothing");
    CHECK(store_copy(src, st, 1, NULL, NULL) == 0,
          "copy: replace empties the target first");
    CHECK(store_post_get_by_slug(st, &a, "after-copy", &got) ==
                  STORE_NOTFOUND &&
              store_table_rows(st, "posts") == store_table_rows(src, "posts"),
          "copy: after replace the target equals the source");
    store_close(src);
    arena_release(&a);
}

/* --- narrations (schema 006) --------------------------------------------- */

/* "a,b" from the slugs of episodes. */
static const char *episode_slugs(struct arena *a, const struct store_episode *e,
                                 size_t n)
{
    const char *s = "";
    for (size_t i = 0; i < n; i++)
        s = arena_printf(a, "%s%s%s", s, i ? "," : "", e[i].slug);
    return s;
}

static struct store_narration mknar(int64_t post_id, const char *hash,
                                    enum store_narration_state state,
                                    const char *file, int64_t at)
{
    struct store_narration n;

    memset(&n, 0, sizeof n);
    n.post_id = post_id;
    n.source_hash = hash;
    n.voice = "espeak:en-gb";
    n.state = state;
    n.file = file;
    n.created_at = at;
    return n;
}

static void contract_narration_off(struct store *st, const char *url)
{
    struct store_post p = mkpost("quiet", STORE_POST_PUBLISHED, 10), got;
    struct store_post *list;
    struct store_post_query q = published();
    struct arena a;
    size_t n;

    (void)url;
    arena_init(&a);
    p.narration_off = 1;
    CHECK(store_post_save(st, &p, NULL, 0, NULL, 0) == 0,
          "narration off: a post saves with narration_off");
    CHECK(store_post_get(st, &a, p.id, &got) == 0 && got.narration_off == 1 &&
              store_post_get_by_slug(st, &a, "quiet", &got) == 0 &&
              got.narration_off == 1,
          "narration_off = 1 round-trips through save and get");
    CHECK(store_posts_list(st, &a, &q, &list, &n, NULL) == 0 && n == 1 &&
              list[0].narration_off == 1,
          "post lists read narration_off too");
    p.narration_off = 0;
    CHECK(store_post_save(st, &p, NULL, 0, NULL, 0) == 0 &&
              store_post_get(st, &a, p.id, &got) == 0 && got.narration_off == 0,
          "saving the post with narration_off = 0 turns audio back on");
    CHECK(store_post_set_narration_off(st, p.id, 1) == 0 &&
              store_post_get(st, &a, p.id, &got) == 0 &&
              got.narration_off == 1 && strcmp(got.title, "quiet") == 0 &&
              strcmp(got.html, p.html) == 0,
          "set_narration_off turns audio off and leaves the rest");
    CHECK(store_post_set_narration_off(st, p.id, 1) == 0,
          "setting the same value again is no error");
    CHECK(store_post_set_narration_off(st, p.id, 0) == 0 &&
              store_post_get(st, &a, p.id, &got) == 0 && got.narration_off == 0,
          "set_narration_off turns audio back on");
    CHECK(store_post_set_narration_off(st, p.id + 100, 1) == STORE_NOTFOUND,
          "set_narration_off on a missing post is not found");
    arena_release(&a);
}

static void contract_narrations(struct store *st, const char *url)
{
    struct store_author ana = {.slug = "ana", .name = "Ana Lima"};
    struct store_author ben = {.slug = "ben", .name = "Ben Okafor"};
    struct store_post old = mkpost("old", STORE_POST_PUBLISHED, 100);
    struct store_post fresh = mkpost("new", STORE_POST_PUBLISHED, 200);
    struct store_post draft = mkpost("draft", STORE_POST_DRAFT, 0);
    struct store_post off = mkpost("off", STORE_POST_PUBLISHED, 150);
    struct store_post bare = mkpost("bare", STORE_POST_PUBLISHED, 50);
    struct store_post bare2 = mkpost("bare2", STORE_POST_PUBLISHED, 60);
    struct store_post waiting = mkpost("waiting", STORE_POST_PUBLISHED, 70);
    struct store_narration n1, n1b, n2, n3, n4, n5, n6, other, got;
    struct store *other_st;
    char err[256];
    struct store_episode *ep;
    const char **files;
    int64_t *ids, byline[2];
    struct arena a;
    uint64_t v;
    size_t n;

    arena_init(&a);
    store_author_save(st, &ana);
    store_author_save(st, &ben);
    byline[0] = ben.id;
    byline[1] = ana.id;
    old.standfirst = "The dek";
    off.narration_off = 1;
    CHECK(store_post_save(st, &old, byline, 2, NULL, 0) == 0 &&
              store_post_save(st, &fresh, &ana.id, 1, NULL, 0) == 0 &&
              store_post_save(st, &draft, &ana.id, 1, NULL, 0) == 0 &&
              store_post_save(st, &off, NULL, 0, NULL, 0) == 0 &&
              store_post_save(st, &bare, NULL, 0, NULL, 0) == 0 &&
              store_post_save(st, &bare2, NULL, 0, NULL, 0) == 0 &&
              store_post_save(st, &waiting, NULL, 0, NULL, 0) == 0,
          "narrations: the posts save");

    CHECK(store_narration_latest(st, &a, old.id, &got) == STORE_NOTFOUND &&
              store_narration_ready(st, &a, old.id, &got) == STORE_NOTFOUND,
          "a post without narrations has no latest or ready one");
    n1 = mknar(old.id, "h1", STORE_NARRATION_PENDING, NULL, 10);
    v = store_version(st);
    CHECK(store_narration_save(st, &n1) == 0 && n1.id > 0,
          "a pending narration saves and gets an id");
    CHECK(version_moves(st, v),
          "saving a narration moves the store version (page caches)");
    CHECK(store_narration_latest(st, &a, old.id, &got) == 0 &&
              got.id == n1.id && got.state == STORE_NARRATION_PENDING &&
              got.file == NULL && got.error == NULL &&
              strcmp(got.source_hash, "h1") == 0 &&
              strcmp(got.voice, "espeak:en-gb") == 0 && got.created_at == 10,
          "the latest narration is the pending one, as saved");
    CHECK(store_narration_ready(st, &a, old.id, &got) == STORE_NOTFOUND,
          "a pending narration is not ready");

    n1b = mknar(old.id, "h1", STORE_NARRATION_READY, "audio/old-1.mp3", 20);
    n1b.duration_ms = 61000;
    n1b.bytes = 123456;
    CHECK(store_narration_save(st, &n1b) == 0 && n1b.id == n1.id &&
              store_table_rows(st, "narrations") == 1,
          "saving the same post, hash and voice updates the row");
    CHECK(store_narration_ready(st, &a, old.id, &got) == 0 && got.id == n1.id &&
              got.state == STORE_NARRATION_READY && got.file &&
              strcmp(got.file, "audio/old-1.mp3") == 0 &&
              got.duration_ms == 61000 && got.bytes == 123456 &&
              got.created_at == 20,
          "the update wrote file, duration, bytes, state and time");
    other = mknar(old.id, "h1", STORE_NARRATION_PENDING, NULL, 5);
    other.voice = "command";
    CHECK(store_narration_save(st, &other) == 0 && other.id != n1.id,
          "another voice for the same text is a row of its own");

    n2 = mknar(old.id, "h2", STORE_NARRATION_FAILED, "audio/partial.mp3", 30);
    n2.error = "espeak-ng exited with status 1";
    CHECK(store_narration_save(st, &n2) == 0, "a failed narration saves");
    CHECK(store_narration_latest(st, &a, old.id, &got) == 0 &&
              got.id == n2.id && got.state == STORE_NARRATION_FAILED &&
              got.error && strcmp(got.error, n2.error) == 0,
          "the latest is the failed one, with why it failed");
    CHECK(store_narration_ready(st, &a, old.id, &got) == 0 && got.id == n1.id,
          "the ready one is still the older ready narration");
    n2.error = NULL;
    n2.state = STORE_NARRATION_PENDING;
    CHECK(store_narration_save(st, &n2) == 0 &&
              store_narration_latest(st, &a, old.id, &got) == 0 &&
              got.id == n2.id && got.error == NULL &&
              got.state == STORE_NARRATION_PENDING,
          "a retry clears the error");
    n2.error = "espeak-ng exited with status 1";
    n2.state = STORE_NARRATION_FAILED;
    store_narration_save(st, &n2);

    n3 = mknar(old.id, "h3", STORE_NARRATION_READY, "audio/old-3.mp3", 40);
    n3.bytes = 2000;
    n4 = mknar(fresh.id, "h4", STORE_NARRATION_READY, "audio/new-4.mp3", 15);
    n5 = mknar(draft.id, "h5", STORE_NARRATION_READY, "audio/draft.mp3", 16);
    n6 = mknar(waiting.id, "h6", STORE_NARRATION_PENDING, NULL, 17);
    CHECK(store_narration_save(st, &n3) == 0 &&
              store_narration_save(st, &n4) == 0 &&
              store_narration_save(st, &n5) == 0 &&
              store_narration_save(st, &n6) == 0,
          "narrations of several posts save");
    CHECK(store_narration_ready(st, &a, old.id, &got) == 0 && got.id == n3.id &&
              store_narration_latest(st, &a, old.id, &got) == 0 &&
              got.id == n3.id,
          "a newer ready narration is both latest and ready");
    got = mknar(old.id, "h9", (enum store_narration_state)7, NULL, 1);
    CHECK(store_narration_save(st, &got) == STORE_ERROR,
          "a narration with an unknown state is refused");

    CHECK(store_episodes(st, &a, 0, &ep, &n) == 0 &&
              strcmp(episode_slugs(&a, ep, n), "new,old") == 0,
          "episodes: published posts only, newest published first (%s)",
          episode_slugs(&a, ep, n));
    CHECK(n == 2 && ep[1].nar.id == n3.id && ep[1].nar.bytes == 2000 &&
              strcmp(ep[1].nar.file, "audio/old-3.mp3") == 0 &&
              ep[0].nar.id == n4.id,
          "episodes: one per post, its newest ready narration");
    CHECK(n == 2 && strcmp(ep[1].title, "old") == 0 &&
              strcmp(ep[1].excerpt, "excerpt") == 0 && ep[1].standfirst &&
              strcmp(ep[1].standfirst, "The dek") == 0 &&
              ep[1].published_at == 100 && ep[0].standfirst == NULL,
          "episodes: the post's title, excerpt, standfirst and date");
    CHECK_STR(n == 2 ? ep[1].authors : NULL, "Ben Okafor, Ana Lima",
              "episodes: authors joined in byline order");
    CHECK_STR(n == 2 ? ep[0].authors : NULL, "Ana Lima",
              "episodes: a single author");
    CHECK(store_episodes(st, &a, 1, &ep, &n) == 0 && n == 1 &&
              strcmp(ep[0].slug, "new") == 0,
          "episodes: at most limit");

    CHECK(store_posts_unnarrated(st, &a, 0, &ids, &n) == 0 && n == 2 &&
              ids[0] == bare.id && ids[1] == bare2.id,
          "unnarrated: published, not switched off, without any "
          "narration row, oldest first (%zu)",
          n);
    CHECK(store_posts_unnarrated(st, &a, 1, &ids, &n) == 0 && n == 1 &&
              ids[0] == bare.id,
          "unnarrated: at most limit");
    store_post_set_narration_off(st, off.id, 0);
    CHECK(store_posts_unnarrated(st, &a, 0, &ids, &n) == 0 && n == 3 &&
              ids[2] == off.id,
          "unnarrated: a post switched back on is to narrate again");

    CHECK(store_narrations_prune(st, &a, old.id, n3.id, &files, &n) == 0 &&
              n == 1 && strcmp(files[0], "audio/old-1.mp3") == 0,
          "prune: the files of the deleted ready rows, not the failed one's");
    CHECK(store_narration_latest(st, &a, old.id, &got) == 0 &&
              got.id == n3.id &&
              store_narration_ready(st, &a, old.id, &got) == 0 &&
              got.id == n3.id && store_table_rows(st, "narrations") == 4,
          "prune: keep_id stays, other posts' narrations stay");
    CHECK(store_narrations_prune(st, &a, old.id, n3.id, &files, &n) == 0 &&
              n == 0,
          "prune: nothing more to delete");
    CHECK(store_narrations_prune(st, &a, fresh.id, 0, NULL, &n) == 0 &&
              n == 1 &&
              store_narration_latest(st, &a, fresh.id, &got) == STORE_NOTFOUND,
          "prune: keep_id 0 deletes them all; files may be NULL");
    CHECK(store_episodes(st, &a, 0, &ep, &n) == 0 && n == 1 &&
              strcmp(ep[0].slug, "old") == 0,
          "episodes: a post without ready narrations drops out");
    other_st = store_open(url, err, sizeof err);
    CHECK(other_st != NULL, "narrations: a second handle opens");
    if (other_st) {
        n4.id = 0;
        CHECK(version_settles(st), "narrations: the version settles");
        v = store_version(st);
        CHECK(store_narration_save(other_st, &n4) == 0 && version_moves(st, v),
              "a narration made by another process (the worker) moves "
              "this one's version: pages with the player are rebuilt");
        store_close(other_st);
    }
    CHECK(store_post_delete(st, old.id) == 0 &&
              store_narration_latest(st, &a, old.id, &got) == STORE_NOTFOUND,
          "deleting a post deletes its narrations");
    arena_release(&a);
}

/* --- running the contract on each backend -------------------------------- */

/* --- search (store_search; schema 007) ------------------------------------ */

/* The slugs of hits, "a,b". */
static const char *hit_slugs(struct arena *a, const struct store_search_hit *h,
                             size_t n)
{
    const char *s = "";
    for (size_t i = 0; i < n; i++)
        s = arena_printf(a, "%s%s%s", s, i ? "," : "", h[i].post.slug);
    return s;
}

/* The slugs store_search finds for q (filters zero), or "ERROR". */
static const char *found(struct store *st, struct arena *a, const char *q)
{
    struct store_search_query sq = {.q = q};
    struct store_search_hit *h;
    size_t n, total;

    if (store_search(st, a, &sq, &h, &n, &total) != 0)
        return "ERROR";
    return hit_slugs(a, h, n);
}

/* The slugs the desk finds for q among posts of status (-1 = any). */
static const char *desk_found(struct store *st, struct arena *a, const char *q,
                              int status)
{
    struct store_search_query sq = {.q = q, .any_status = 1, .status = status};
    struct store_search_hit *h;
    size_t n, total;

    if (store_search(st, a, &sq, &h, &n, &total) != 0)
        return "ERROR";
    return hit_slugs(a, h, n);
}

static void contract_search(struct store *st, const char *url)
{
    struct store_author ada = {.slug = "ada", .name = "Ada Lovelace"};
    struct store_author bob = {.slug = "bob", .name = "Bob Woodward"};
    struct store_tag world = {
        .slug = "world", .name = "World", .kind = STORE_TAG_SECTION};
    struct store_tag energy = {.slug = "energy", .name = "Energy"};
    struct store_post head = mkpost("headline", STORE_POST_PUBLISHED, 1000);
    struct store_post mention = mkpost("mention", STORE_POST_PUBLISHED, 2000);
    struct store_post runner = mkpost("runner", STORE_POST_PUBLISHED, 3000);
    struct store_post draft = mkpost("draft", STORE_POST_DRAFT, 0);
    struct store_post sched = mkpost("sched", STORE_POST_SCHEDULED, 5000);
    struct store_search_query q;
    struct store_search_hit *h;
    int64_t au[1], tg[1];
    size_t n, total;
    struct arena a;
    char big[301], broken[] = "\xff\xfeoil\xc3 \xe2\x82 exports\xf0";
    static const char *const hostile[] = {
        "\"",
        "\"unclosed",
        "a AND OR NOT",
        "*",
        "NEAR(a b)",
        "col:foo",
        "(((",
        "-x",
        "^",
        "title:oil",
        "oil*",
        "\"oil\" OR \"",
        "'; --",
        "",
        "   ",
        "!!!",
        "\xc3",
        "NEAR(oil exports, 2)",
        "{title}: oil",
    };

    (void)url;
    arena_init(&a);
    store_author_save(st, &ada);
    store_author_save(st, &bob);
    store_tag_save(st, &world);
    store_tag_save(st, &energy);
    head.title = "Sanctions tighten on oil exports";
    head.standfirst = "Ministers agree a new \xe2\x80\x9cpackage\xe2\x80\x9d";
    head.plaintext = "Officials met on Tuesday to agree the measures.";
    mention.title = "Weekly market wrap";
    mention.plaintext =
        "Shares rose and bonds fell as traders weighed earnings, a new "
        "factory order report, the weather in the plains and, in a passing "
        "note, sanctions on one exporter, before the long weekend began.";
    runner.title = "Marathon day";
    runner.plaintext =
        "She will run the city course <script>alert(1)</script> & more.";
    draft.title = "Sanctions secret draft";
    draft.plaintext = "zebraword";
    sched.title = "Embargo lifts";
    sched.plaintext = "quokka";
    au[0] = ada.id;
    tg[0] = world.id;
    CHECK(store_post_save(st, &head, au, 1, tg, 1) == 0, "headline saved");
    au[0] = bob.id;
    tg[0] = energy.id;
    CHECK(store_post_save(st, &mention, au, 1, tg, 1) == 0, "mention saved");
    au[0] = ada.id;
    CHECK(store_post_save(st, &runner, au, 1, tg, 1) == 0 &&
              store_post_save(st, &draft, au, 1, NULL, 0) == 0 &&
              store_post_save(st, &sched, au, 1, NULL, 0) == 0,
          "other posts saved");

    /* ranking and stemming */
    memset(&q, 0, sizeof q);
    q.q = "sanctions";
    CHECK(store_search(st, &a, &q, &h, &n, &total) == 0 && n == 2 && total == 2,
          "two published posts mention sanctions (%zu)", n);
    CHECK_STR(hit_slugs(&a, h, n), "headline,mention",
              "a headline hit ranks above a passing mention");
    CHECK(n == 2 && h[0].rank > h[1].rank && h[1].rank > 0,
          "ranks are positive and fall (%g, %g)", n ? h[0].rank : 0.0,
          n > 1 ? h[1].rank : 0.0);
    CHECK(n >= 1 && h[0].post.nauthors == 1 &&
              strcmp(h[0].post.authors[0].slug, "ada") == 0 &&
              h[0].post.ntags == 1 &&
              strcmp(h[0].post.tags[0].slug, "world") == 0 && h[0].post.title &&
              !h[0].post.plaintext,
          "a hit's post comes with authors and tags, without body");
    CHECK_STR(found(st, &a, "sanction"), "headline,mention",
              "'sanction' finds 'sanctions'");
    CHECK_STR(found(st, &a, "running"), "runner", "'running' finds 'run'");
    CHECK_STR(found(st, &a, "SANCTIONS Oil"), "headline",
              "every word must match, any case");
    CHECK_STR(found(st, &a, "\"oil exports\""), "headline", "a phrase");
    CHECK_STR(found(st, &a, "\"exports oil\""), "",
              "a phrase keeps its word order");
    CHECK_STR(found(st, &a, "lovelace"), "runner,headline",
              "author names are searched");
    CHECK_STR(found(st, &a, "world"), "headline", "tag names are searched");
    CHECK_STR(found(st, &a, "package"), "headline",
              "a word in curly quotes is found");

    /* only published posts */
    CHECK_STR(found(st, &a, "zebraword"), "", "a draft is never found");
    CHECK_STR(found(st, &a, "secret"), "", "not by its title either");
    CHECK_STR(found(st, &a, "quokka"), "", "a scheduled post is not found");
    /* the desk searches every post with the same engine */
    CHECK_STR(desk_found(st, &a, "zebraword", -1), "draft",
              "the desk finds a draft by a word of its body");
    const char *all = desk_found(st, &a, "sanction", -1);
    CHECK(strcmp(all, "headline,draft,mention") == 0 ||
              strcmp(all, "draft,headline,mention") == 0,
          "the desk's stemmed search ranks headline hits, a draft's too, "
          "above a mention (%s)",
          all);
    CHECK_STR(desk_found(st, &a, "sanction", STORE_POST_DRAFT), "draft",
              "the desk can keep drafts only");
    CHECK_STR(desk_found(st, &a, "sanction", STORE_POST_PUBLISHED),
              "headline,mention", "or published posts only");
    CHECK_STR(desk_found(st, &a, "quokka", STORE_POST_SCHEDULED), "sched",
              "and finds a scheduled post");
    CHECK(store_posts_publish_due(st, 6000, &n) == 0 && n == 1,
          "the scheduled post is published");
    CHECK_STR(found(st, &a, "quokka"), "sched", "once published it is found");
    sched.status = STORE_POST_DRAFT;
    au[0] = ada.id;
    CHECK(store_post_save(st, &sched, au, 1, NULL, 0) == 0, "unpublished");
    CHECK_STR(found(st, &a, "quokka"), "", "unpublished, it is gone");
    runner.plaintext = "A kumquat stall on the corner.";
    tg[0] = energy.id;
    CHECK(store_post_save(st, &runner, au, 1, tg, 1) == 0, "runner edited");
    CHECK_STR(found(st, &a, "kumquat"), "runner", "new words are found");
    CHECK_STR(found(st, &a, "city"), "", "old words are gone");
    ada.name = "Ada Byron";
    CHECK(store_author_save(st, &ada) == 0, "author renamed");
    CHECK_STR(found(st, &a, "byron"), "runner,headline",
              "an author's new name is found");
    CHECK_STR(found(st, &a, "lovelace"), "", "the old name is gone");
    runner.plaintext =
        "She will run the city course <script>alert(1)</script> & more.";
    CHECK(store_post_save(st, &runner, au, 1, tg, 1) == 0, "runner restored");

    /* filters */
    memset(&q, 0, sizeof q);
    q.q = "sanctions";
    q.tag_slug = "world";
    CHECK(store_search(st, &a, &q, &h, &n, &total) == 0 && total == 1,
          "tag filter");
    CHECK_STR(hit_slugs(&a, h, n), "headline", "tag filter keeps the tagged");
    q.tag_slug = NULL;
    q.author_slug = "bob";
    CHECK(store_search(st, &a, &q, &h, &n, &total) == 0 && total == 1,
          "author filter");
    CHECK_STR(hit_slugs(&a, h, n), "mention", "author filter keeps theirs");
    q.author_slug = NULL;
    q.from = 1500;
    CHECK(store_search(st, &a, &q, &h, &n, &total) == 0 && total == 1,
          "from filter");
    CHECK_STR(hit_slugs(&a, h, n), "mention", "from leaves older posts out");
    q.from = 0;
    q.to = 1500;
    CHECK(store_search(st, &a, &q, &h, &n, &total) == 0 && total == 1,
          "to filter");
    CHECK_STR(hit_slugs(&a, h, n), "headline", "to leaves newer posts out");
    q.to = 0;
    q.tag_slug = "nope";
    CHECK(store_search(st, &a, &q, &h, &n, &total) == 0 && n == 0 && total == 0,
          "an unknown tag finds nothing");
    q.tag_slug = NULL;

    /* pagination */
    q.limit = 1;
    CHECK(store_search(st, &a, &q, &h, &n, &total) == 0 && n == 1 && total == 2,
          "page 1: one hit of two");
    CHECK_STR(hit_slugs(&a, h, n), "headline", "page 1 is the best hit");
    q.offset = 1;
    CHECK(store_search(st, &a, &q, &h, &n, &total) == 0 && n == 1 && total == 2,
          "page 2: one hit of two");
    CHECK_STR(hit_slugs(&a, h, n), "mention", "page 2 is the next hit");
    q.offset = 5;
    CHECK(store_search(st, &a, &q, &h, &n, &total) == 0 && n == 0 && total == 2,
          "past the end: no hits, the total still counts (%zu)", total);

    /* snippets are HTML-safe */
    memset(&q, 0, sizeof q);
    q.q = "run";
    CHECK(store_search(st, &a, &q, &h, &n, &total) == 0 && n == 1 &&
              h[0].snippet_html,
          "the runner is found with a snippet");
    CHECK(n == 1 && strstr(h[0].snippet_html, "<mark>run</mark>"),
          "the hit is marked (%s)", n ? h[0].snippet_html : "");
    CHECK(n == 1 && strstr(h[0].snippet_html, "&lt;script&gt;") &&
              !strstr(h[0].snippet_html, "<script") &&
              strstr(h[0].snippet_html, "&amp;"),
          "the body's markup comes back escaped (%s)",
          n ? h[0].snippet_html : "");

    /* hostile queries: never an error */
    memset(big, 'a', 300);
    big[300] = '\0';
    for (size_t i = 0; i < sizeof hostile / sizeof hostile[0]; i++) {
        memset(&q, 0, sizeof q);
        q.q = hostile[i];
        CHECK(store_search(st, &a, &q, &h, &n, &total) == 0 && n <= total,
              "hostile query %zu is not an error", i);
    }
    q.q = big;
    CHECK(store_search(st, &a, &q, &h, &n, &total) == 0 && n == 0,
          "300 'a's: no error, no hit");
    q.q = NULL;
    CHECK(store_search(st, &a, &q, &h, &n, &total) == 0 && n == 0 && total == 0,
          "no query: no hits");
    CHECK_STR(found(st, &a, ""), "", "an empty query finds nothing");
    CHECK_STR(found(st, &a, "(((*)))"), "", "all punctuation finds nothing");
    CHECK_STR(found(st, &a, broken), "headline",
              "broken UTF-8 is dropped, the words stay");
    CHECK_STR(found(st, &a, "oil* -(exports^"), "headline",
              "operators become plain words");
    CHECK_STR(found(st, &a, "\xe2\x80\x94 \xe2\x80\x9coil\xe2\x80\x9d"),
              "headline", "Unicode punctuation is no word");
    CHECK_STR(found(st, &a, "exports:oil"), "headline",
              "a column filter is a plain word");
    CHECK_STR(found(st, &a, "title:oil"), "",
              "... and all words must match, 'title' too");
    arena_release(&a);
}

/* Undoes migrations 007 on (the search index, the content version, the
 * import map, redirects, the API key column) on the
 * database at url with raw SQL: their tables and triggers go, and they are
 * no longer recorded, so the next store_open applies them again. 0 or -1. */
static int unmigrate_search(const char *url)
{
    static const char pg_sql[] =
        "SET client_min_messages = warning; DROP TABLE post_search; "
        "DROP FUNCTION post_search_sync() CASCADE; "
        "DROP FUNCTION post_search_refresh(BIGINT); "
        "DROP FUNCTION post_search_text(TEXT); DROP TABLE import_map; "
        "DROP TABLE redirects; "
        "ALTER TABLE api_keys RENAME COLUMN content_key TO secret_hash; "
        "ALTER TABLE staff DROP COLUMN totp_secret; "
        "ALTER TABLE staff DROP COLUMN totp_last_step; "
        "DELETE FROM schema_migrations WHERE version >= 7";
    sqlite3 *db = NULL;
    sqlite3_stmt *s = NULL;
    int rc = -1;

    if (strncmp(url, "sqlite:", 7) != 0) {
        PGconn *c = PQconnectdb(url);
        PGresult *res = PQexec(c, pg_sql);
        rc = PQresultStatus(res) == PGRES_COMMAND_OK ? 0 : -1;
        PQclear(res);
        PQfinish(c);
        return rc;
    }
    if (sqlite3_open(url + 7, &db) != SQLITE_OK ||
        sqlite3_prepare_v2(db,
                           "SELECT name FROM sqlite_master WHERE type = "
                           "'trigger' AND (name LIKE 'post_search%' OR "
                           "name LIKE '%\\_cv\\_%' ESCAPE '\\')",
                           -1, &s, NULL) != SQLITE_OK)
        goto out;
    while (sqlite3_step(s) == SQLITE_ROW) {
        char *sql = sqlite3_mprintf("DROP TRIGGER \"%w\"",
                                    (const char *)sqlite3_column_text(s, 0));
        sqlite3_exec(db, sql, NULL, NULL, NULL);
        sqlite3_free(sql);
    }
    sqlite3_finalize(s);
    s = NULL;
    if (sqlite3_exec(db,
                     "DROP TABLE post_search; DROP VIEW post_search_source; "
                     "DROP TABLE content_version; DROP TABLE import_map; "
                     "DROP TABLE redirects; "
                     "ALTER TABLE api_keys RENAME COLUMN content_key TO "
                     "secret_hash; "
                     "ALTER TABLE staff DROP COLUMN totp_secret; "
                     "ALTER TABLE staff DROP COLUMN totp_last_step; "
                     "DELETE FROM schema_migrations WHERE version >= 7",
                     NULL, NULL, NULL) == SQLITE_OK)
        rc = 0;
out:
    sqlite3_finalize(s);
    sqlite3_close(db);
    return rc;
}

/* Migration 007 indexes the published posts a database already has. */
static void contract_search_migration(struct store *st, const char *url)
{
    struct store_author au = {.slug = "vera", .name = "Vera Quill"};
    struct store_post pub = mkpost("old-news", STORE_POST_PUBLISHED, 100);
    struct store_post draft = mkpost("old-draft", STORE_POST_DRAFT, 0);
    struct store *again;
    struct arena a;
    char err[256];
    int64_t ids[1];

    arena_init(&a);
    store_author_save(st, &au);
    ids[0] = au.id;
    pub.plaintext = "The harbour flooded at dawn.";
    draft.plaintext = "The harbour plan is secret.";
    CHECK(store_post_save(st, &pub, ids, 1, NULL, 0) == 0 &&
              store_post_save(st, &draft, ids, 1, NULL, 0) == 0,
          "posts saved");
    CHECK(unmigrate_search(url) == 0, "migrations from 007 on undone by hand");
    again = store_open(url, err, sizeof err);
    CHECK(again != NULL, "the store opens and migrates again (%s)",
          again ? "ok" : err);
    if (again) {
        CHECK(store_schema_version(again) >= 7, "007 is applied again");
        CHECK_STR(found(again, &a, "harbour"), "old-news",
                  "readers find the published post, not the draft");
        CHECK_STR(desk_found(again, &a, "harbour", -1), "old-news,old-draft",
                  "the migrations indexed the draft for the desk too");
        CHECK_STR(found(again, &a, "quill"), "old-news",
                  "with its author's name");
        store_close(again);
    }
    arena_release(&a);
}

static void contract_import_map(struct store *st, const char *url)
{
    int64_t id = -1;
    uint64_t v;

    (void)url;
    CHECK(store_import_map_get(st, "ghost", "post", "5f1a", &id) ==
              STORE_NOTFOUND,
          "an item never imported is not found");
    v = store_version(st);
    CHECK(store_import_map_put(st, "ghost", "post", "5f1a", 42) == 0 &&
              store_import_map_get(st, "ghost", "post", "5f1a", &id) == 0 &&
              id == 42,
          "what an item became is remembered (%lld)", (long long)id);
    CHECK(store_version(st) == v, "the import map is bookkeeping");
    CHECK(store_import_map_put(st, "ghost", "post", "5f1a", 43) == 0 &&
              store_import_map_get(st, "ghost", "post", "5f1a", &id) == 0 &&
              id == 43,
          "and can be moved");
    CHECK(store_import_map_get(st, "wxr", "post", "5f1a", &id) ==
                  STORE_NOTFOUND &&
              store_import_map_get(st, "ghost", "tag", "5f1a", &id) ==
                  STORE_NOTFOUND,
          "sources and kinds are kept apart");
}

static void contract_api_keys(struct store *st, const char *url)
{
    struct arena a;
    struct store_api_key k1 = {0, "Mobile app", "0123456789abcdef0123456789",
                               1700000000},
                         k2 = {0, "Front-end", "ffffffffffffffffffffffffff",
                               1700000100},
                         dup = {0, "Again", "0123456789abcdef0123456789", 1},
                         got = {0}, *list = NULL;
    size_t n = 0;
    uint64_t v;

    (void)url;
    arena_init(&a);
    v = store_version(st);
    CHECK(store_api_key_add(st, &k1) == 0 && k1.id > 0 &&
              store_api_key_add(st, &k2) == 0 && k2.id > k1.id,
          "API keys are stored with ids");
    CHECK(store_version(st) == v, "API keys are bookkeeping");
    CHECK(store_api_key_add(st, &dup) == STORE_CONFLICT,
          "a key cannot be stored twice");
    CHECK(store_api_key_find(st, &a, "0123456789abcdef0123456789", &got) == 0 &&
              got.id == k1.id && got.name &&
              strcmp(got.name, "Mobile app") == 0 &&
              got.created_at == 1700000000,
          "a key is found by its secret, with its name and date");
    CHECK(store_api_key_find(st, &a, "0123456789abcdef012345678a", &got) ==
              STORE_NOTFOUND,
          "an unknown key is not found");
    CHECK(store_api_keys_list(st, &a, &list, &n) == 0 && n == 2 &&
              list[0].id == k1.id && list[1].secret &&
              strcmp(list[1].secret, "ffffffffffffffffffffffffff") == 0,
          "keys are listed oldest first with the key itself (%zu)", n);
    CHECK(store_api_key_delete(st, k1.id) == 0 &&
              store_api_key_find(st, &a, "0123456789abcdef0123456789", &got) ==
                  STORE_NOTFOUND &&
              store_api_key_delete(st, k1.id) == STORE_NOTFOUND,
          "a deleted key no longer opens the API");
    arena_release(&a);
}

static void contract_redirects(struct store *st, const char *url)
{
    struct arena a;
    const char *to = NULL;
    uint64_t v;

    (void)url;
    arena_init(&a);
    CHECK(store_redirect_get(st, &a, "/2024/05/old/", &to) == STORE_NOTFOUND,
          "an unknown path has no redirect");
    v = store_version(st);
    CHECK(store_redirect_put(st, "/2024/05/old/", "/old/") == 0 &&
              store_redirect_get(st, &a, "/2024/05/old/", &to) == 0 && to &&
              strcmp(to, "/old/") == 0,
          "a redirect is remembered (%s)", to ? to : "(null)");
    CHECK(store_version(st) != v, "readers see redirects: the version moves");
    CHECK(store_redirect_put(st, "/?p=12", "/old/") == 0 &&
              store_redirect_put(st, "/2024/05/old/", "/new/") == 0 &&
              store_redirect_get(st, &a, "/2024/05/old/", &to) == 0 &&
              strcmp(to, "/new/") == 0 &&
              store_redirect_get(st, &a, "/?p=12", &to) == 0 &&
              strcmp(to, "/old/") == 0,
          "a path can be moved, and several paths lead to one post");
    CHECK(store_redirect_get(st, &a, "/2024/05/OLD/", &to) == STORE_NOTFOUND,
          "paths match exactly");
    arena_release(&a);
}

static void run_contract(const char *backend, int (*new_db)(char *, size_t),
                         const char *name,
                         void (*fn)(struct store *st, const char *url))
{
    char url[512], err[256];
    struct store *st;
    int failed = check_failed_count;

    if (new_db(url, sizeof url) != 0) {
        CHECK(0, "%s: %s: a fresh database is made", backend, name);
        return;
    }
    st = store_open(url, err, sizeof err);
    CHECK(st != NULL, "%s: %s: a fresh store opens (%s)", backend, name,
          st ? "ok" : err);
    if (!st)
        return;
    fn(st, url);
    store_close(st);
    CHECK(check_failed_count == failed, "%s: the %s contract holds", backend,
          name);
}

/* "slug:lastmod" of stamps, joined with ",". */
static const char *stamp_list(struct arena *a, const struct store_post_stamp *s,
                              size_t n)
{
    const char *out = "";

    for (size_t i = 0; i < n; i++)
        out = arena_printf(a, "%s%s%s:%lld", out, i ? "," : "", s[i].slug,
                           (long long)s[i].lastmod);
    return out;
}

/* The sitemaps' light reads: only posts public at now, newest first, with
 * lastmod = max(updated_at, published_at); pages of the same order; the
 * authors, sections and tags that have public posts. */
static void contract_sitemaps(struct store *st, const char *url)
{
    static const char *const kinds = "ast";
    struct store_image img = {0};
    struct store_author ana = {0}, ben = {0}, cy = {0};
    struct store_tag world = {0}, empty = {0}, zeta = {0}, alpha = {0};
    struct store_post p;
    struct store_post_stamp *s = NULL;
    struct store_archive_stamp *t = NULL;
    int64_t *pages = NULL, ids[2];
    struct arena a;
    size_t n = 0;
    const char *got = "";

    (void)url;
    arena_init(&a);
    CHECK(store_post_stamp_pages(st, &a, 8000, 3, &pages, &n) == 0 && n == 0,
          "no public post: no sitemap page");
    CHECK(store_post_stamps(st, &a, 8000, 0, 0, 10, &s, &n) == 0 && n == 0,
          "no public post: no stamp");
    img.name = "images/s1";
    img.widths = "480,960";
    img.formats = "jpg";
    store_image_save(st, &img);
    ana.slug = "ana";
    ana.name = "Ana";
    ben.slug = "ben";
    ben.name = "Ben";
    cy.slug = "cy";
    cy.name = "Cy";
    store_author_save(st, &ana);
    store_author_save(st, &ben);
    store_author_save(st, &cy);
    world.slug = "world";
    world.name = "World";
    world.kind = STORE_TAG_SECTION;
    empty.slug = "empty";
    empty.name = "Empty";
    empty.kind = STORE_TAG_SECTION;
    zeta.slug = "zeta";
    zeta.name = "Zeta";
    alpha.slug = "alpha";
    alpha.name = "Alpha";
    store_tag_save(st, &world);
    store_tag_save(st, &empty);
    store_tag_save(st, &zeta);
    store_tag_save(st, &alpha);

    p = mkpost("s1", STORE_POST_PUBLISHED, 1000);
    p.updated_at = 1500;
    p.feature_image_id = img.id;
    ids[0] = world.id;
    ids[1] = zeta.id;
    store_post_save(st, &p, &ana.id, 1, ids, 2);
    p = mkpost("s2", STORE_POST_PUBLISHED, 2000);
    p.language = "de";
    ids[0] = ben.id;
    ids[1] = ana.id;
    store_post_save(st, &p, ids, 2, &world.id, 1);
    p = mkpost("s3", STORE_POST_PUBLISHED, 3000);
    p.updated_at = 2500;
    store_post_save(st, &p, &ben.id, 1, &alpha.id, 1);
    p = mkpost("s4", STORE_POST_DRAFT, 0);
    store_post_save(st, &p, &cy.id, 1, &empty.id, 1);
    p = mkpost("s5", STORE_POST_SCHEDULED, 5000);
    store_post_save(st, &p, &cy.id, 1, &empty.id, 1);
    p = mkpost("s6", STORE_POST_PUBLISHED, 9000); /* after now */
    store_post_save(st, &p, &ben.id, 1, &alpha.id, 1);
    p = mkpost("s7", STORE_POST_PUBLISHED, 3000);
    store_post_save(st, &p, NULL, 0, &alpha.id, 1);

    CHECK(store_post_stamps(st, &a, 8000, 0, 0, 100, &s, &n) == 0,
          "post stamps");
    CHECK_STR(stamp_list(&a, s, n), "s7:3000,s3:3000,s2:2000,s1:1500",
              "public posts newest first (ties by id), lastmod the later "
              "of updated and published; no draft, scheduled or future one");
    CHECK(n == 4 && strcmp(s[3].title, "s1") == 0 &&
              strcmp(s[3].language, "en") == 0 &&
              strcmp(s[2].language, "de") == 0 && s[3].published_at == 1000,
          "stamps carry title, language and published_at");
    CHECK(n == 4 && s[3].image && strcmp(s[3].image, "images/s1") == 0 &&
              s[3].image_widths && strcmp(s[3].image_widths, "480,960") == 0 &&
              !s[2].image,
          "stamps carry the feature image's name and widths");
    CHECK(store_post_stamps(st, &a, 8000, 2500, 0, 100, &s, &n) == 0,
          "post stamps since");
    CHECK_STR(stamp_list(&a, s, n), "s7:3000,s3:3000",
              "since keeps posts published at or after it");
    CHECK(store_post_stamps(st, &a, 8000, 0, 1, 2, &s, &n) == 0,
          "post stamps with offset");
    CHECK_STR(stamp_list(&a, s, n), "s3:3000,s2:2000", "offset and limit");
    CHECK(store_post_stamps(st, &a, 9000, 0, 0, 1, &s, &n) == 0,
          "post stamps later");
    CHECK_STR(stamp_list(&a, s, n), "s6:9000", "public once its time comes");

    CHECK(store_post_stamp_pages(st, &a, 8000, 3, &pages, &n) == 0 && n == 2 &&
              pages[0] == 3000 && pages[1] == 1500,
          "pages of 3: the newest lastmod of each");
    CHECK(store_post_stamp_pages(st, &a, 8000, 4, &pages, &n) == 0 && n == 1 &&
              pages[0] == 3000,
          "pages of 4: one page");
    CHECK(store_post_stamp_pages(st, &a, 8000, 1, &pages, &n) == 0 && n == 4 &&
              pages[3] == 1500,
          "pages of 1: one per post");

    CHECK(store_archive_stamps(st, &a, 8000, &t, &n) == 0, "archive stamps");
    for (size_t i = 0; i < n; i++)
        got =
            arena_printf(&a, "%s%s%c:%s:%lld", got, i ? "," : "",
                         kinds[t[i].kind], t[i].slug, (long long)t[i].lastmod);
    CHECK_STR(got,
              "a:ana:2000,a:ben:3000,s:world:2000,t:alpha:3000,"
              "t:zeta:1500",
              "authors, sections, tags with public posts, by slug, with "
              "their newest public post's lastmod");
    arena_release(&a);
}

static void run_contracts(const char *backend, int (*new_db)(char *, size_t))
{
    static const struct {
        const char *name;
        void (*fn)(struct store *st, const char *url);
    } contracts[] = {
        {"settings", contract_settings},
        {"images", contract_images},
        {"authors and tags", contract_authors_tags},
        {"posts", contract_posts},
        {"post lists", contract_list},
        {"corrections", contract_corrections},
        {"live updates", contract_live},
        {"live change log", contract_live_events},
        {"live log order", contract_live_order},
        {"newsletters", contract_newsletters},
        {"staff", contract_staff},
        {"staff totp", contract_staff_totp},
        {"transactions", contract_tx},
        {"hostile text", contract_hostile},
        {"version", contract_version},
        {"concurrency", contract_concurrency},
        {"jobs", contract_jobs},
        {"publish due posts", contract_publish_due},
        {"jobs claimed once", contract_jobs_concurrency},
        {"post list search and desk order", contract_desk_list},
        {"post delete", contract_post_delete},
        {"editors' picks", contract_picks},
        {"revisions", contract_revisions},
        {"sessions", contract_sessions},
        {"rate limits", contract_rate},
        {"rate limit hits counted once", contract_rate_concurrency},
        {"staff tokens", contract_staff_tokens},
        {"audit log", contract_audit},
        {"setting init", contract_setting_init},
        {"subscribers", contract_subscribers},
        {"subscriptions", contract_subscriptions},
        {"subscriptions purge", contract_subscriptions_purge},
        {"subscriptions search and counts", contract_subscriptions_search},
        {"subscriptions by day", contract_subscription_daily},
        {"sends", contract_sends},
        {"outbox", contract_outbox},
        {"outbox claimed once", contract_outbox_concurrency},
        {"narration off", contract_narration_off},
        {"narrations", contract_narrations},
        {"table list", contract_table_list},
        {"copy", contract_copy},
        {"search", contract_search},
        {"import map", contract_import_map},
        {"api keys", contract_api_keys},
        {"redirects", contract_redirects},
        {"search index built by its migration", contract_search_migration},
        {"sitemaps", contract_sitemaps},
    };

    for (size_t i = 0; i < sizeof contracts / sizeof contracts[0]; i++)
        run_contract(backend, new_db, contracts[i].name, contracts[i].fn);
}

/* The schema number SQLite migrates to, or -1. */
static int sqlite_schema(void)
{
    char url[512], err[256];
    struct store *st;
    int v;

    new_url(url, sizeof url);
    st = store_open(url, err, sizeof err);
    v = st ? store_schema_version(st) : -1;
    store_close(st);
    return v;
}

static void run_postgresql(void)
{
    char line[512];

    pg_base = getenv("NEWSROOM_TEST_PG");
    if (!pg_base || !*pg_base) {
        if (getenv("CI"))
            CHECK(0, "postgresql: NEWSROOM_TEST_PG names a server (CI must "
                     "test both backends)");
        else
            printf("# postgresql contract skipped: NEWSROOM_TEST_PG unset "
                   "(tests/run.py sets it)\n");
        return;
    }
    pg_admin = PQconnectdb(pg_base);
    if (PQstatus(pg_admin) != CONNECTION_OK) {
        snprintf(line, sizeof line, "%s", PQerrorMessage(pg_admin));
        line[strcspn(line, "\n")] = '\0';
        CHECK(0, "postgresql: the test server answers (%s)", line);
        PQfinish(pg_admin);
        return;
    }
    pg_open_race(sqlite_schema());
    run_contracts("postgresql", pg_new_url);
    pg_reconnect();
    pg_drop_all();
}

int main(void)
{
    log_set_level(LOG_WARN);
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    sqlite_open_errors();
    sqlite_open_and_migrate();
    sqlite_kill9();
    run_contracts("sqlite", new_url);
    run_postgresql();
    nftw(tmpdir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
    return check_done();
}
