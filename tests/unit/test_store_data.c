/*
 * test_store_data.c - the store contract for what readers and
 * other programs find: full-text search (and the migration that builds
 * its index), the import map, Content API keys, redirects, sitemap
 * stamps.
 * The fixtures and the runner are in store_contract.h.
 */
#include "store_contract.h"

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

int main(void)
{
    static const struct store_contract contracts[] = {
        {"search", contract_search},
        {"import map", contract_import_map},
        {"api keys", contract_api_keys},
        {"redirects", contract_redirects},
        {"search index built by its migration", contract_search_migration},
        {"sitemaps", contract_sitemaps},
    };

    return store_contracts_main(contracts,
                                sizeof contracts / sizeof contracts[0]);
}
