/*
 * test_store.c - the store contract (store.h), run on the SQLite backend.
 *
 * Every contract_* function takes an empty, freshly migrated store and the
 * URL it was opened with, and uses only the public API, so the PostgreSQL
 * backend can run the same functions later. The sqlite_* tests check what
 * only the SQLite backend has: files, reopening, kill -9.
 */
#include <ftw.h>
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
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
static void new_url(char *url, size_t len)
{
    snprintf(url, len, "sqlite:%s/db%d.sqlite", tmpdir, ++dbseq);
}

static struct store_post mkpost(const char *slug,
                                enum store_post_status status, int64_t at)
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
static const char *slugs(struct arena *a, const struct store_post *p,
                         size_t n)
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
    CHECK(got.avatar_id == avatar.id && got.avatar &&
              got.avatar->width == 400,
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
    CHECK(store_authors_list(st, &a, &list, &n) == 0 && n == 2,
          "authors list");
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
    CHECK(store_post_save(st, &p, &au1.id, 1, NULL, 0) == 0,
          "a post updates");
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
    CHECK_STR(slugs(&a, out, n), "p6,p3,p2,p1",
              "newest first, ties by id");
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
    CHECK(store_correction_add(st, &c1) == 0 && c1.id > 0,
          "a correction adds");
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
              store_tag_get_by_slug(st, &a, "tx-tag", &tag) ==
                  STORE_NOTFOUND &&
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
    CHECK(v1 != v0, "a write changes the version");
    store_tx_begin(st);
    store_setting_set(st, "k", "2");
    store_tx_rollback(st);
    CHECK(store_version(st) == v1, "a rolled-back write does not");

    other = store_open(url, err, sizeof err);
    CHECK(other != NULL, "a second handle opens the same database");
    if (!other)
        return;
    v2 = store_version(st);
    store_setting_set(other, "k", "3");
    CHECK(store_version(st) != v2,
          "a write through another handle changes the version");
    v2 = store_version(other);
    store_setting_set(st, "k", "4");
    CHECK(store_version(other) != v2,
          "and the other handle sees writes made here");
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
    CHECK(errors == 0, "4 threads read and write without errors (%d)",
          errors);
    arena_init(&a);
    CHECK(store_posts_list(st, &a, &q, &out, &n, &total) == 0 &&
              total == 4 * WORKER_ROUNDS,
          "every post written by the threads is there (%zu)", total);
    arena_release(&a);
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
    CHECK(count_rows(file, "SELECT count(*) FROM schema_migrations") ==
              applied,
          "reopening applies nothing twice");
    CHECK(count_rows(file, "SELECT count(*) FROM pragma_journal_mode "
                           "WHERE journal_mode = 'wal'") == 1,
          "the database is in WAL mode");
}

static void sqlite_open_errors(void)
{
    char err[256] = "";

    CHECK(store_open("postgresql://localhost/news", err, sizeof err) ==
                  NULL &&
              strcmp(err, "postgresql backend not built yet") == 0,
          "postgresql urls are refused for now");
    CHECK(store_open("postgres://localhost/news", err, sizeof err) == NULL,
          "postgres urls too");
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

static void run_contract(const char *name,
                         void (*fn)(struct store *st, const char *url))
{
    char url[512], err[256];
    struct store *st;

    new_url(url, sizeof url);
    st = store_open(url, err, sizeof err);
    CHECK(st != NULL, "%s: a fresh store opens (%s)", name,
          st ? "ok" : err);
    if (!st)
        return;
    fn(st, url);
    store_close(st);
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
    run_contract("settings", contract_settings);
    run_contract("images", contract_images);
    run_contract("authors and tags", contract_authors_tags);
    run_contract("posts", contract_posts);
    run_contract("post lists", contract_list);
    run_contract("corrections", contract_corrections);
    run_contract("live updates", contract_live);
    run_contract("newsletters", contract_newsletters);
    run_contract("transactions", contract_tx);
    run_contract("hostile text", contract_hostile);
    run_contract("version", contract_version);
    run_contract("concurrency", contract_concurrency);
    nftw(tmpdir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
    return check_done();
}
