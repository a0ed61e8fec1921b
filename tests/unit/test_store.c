/*
 * test_store.c - the store contract (store.h), run on every backend: the
 * core of it (settings, images, authors and tags, posts and their lists,
 * corrections, live updates, picks, revisions, transactions, hostile
 * text, versions, concurrency, table copies), plus what only one backend
 * has: the sqlite_* tests check files, reopening and kill -9; the pg_*
 * tests migrations raced by two processes and connections dropped by the
 * server.
 *
 * The rest of the contract is in test_store_ops.c, test_store_mail.c and
 * test_store_data.c; how a contract runs on SQLite and on PostgreSQL
 * (NEWSROOM_TEST_PG) is in store_contract.h.
 */
#include "store_contract.h"

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

int main(void)
{
    static const struct store_contract contracts[] = {
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
        {"transactions", contract_tx},
        {"hostile text", contract_hostile},
        {"version", contract_version},
        {"concurrency", contract_concurrency},
        {"post list search and desk order", contract_desk_list},
        {"post delete", contract_post_delete},
        {"editors' picks", contract_picks},
        {"revisions", contract_revisions},
        {"table list", contract_table_list},
        {"copy", contract_copy},
    };
    size_t n = sizeof contracts / sizeof contracts[0];

    log_set_level(LOG_WARN);
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    sqlite_open_errors();
    sqlite_open_and_migrate();
    sqlite_kill9();
    store_contracts_run("sqlite", new_url, contracts, n);
    if (store_contract_pg_connect()) {
        pg_open_race(sqlite_schema());
        store_contracts_run("postgresql", pg_new_url, contracts, n);
        pg_reconnect();
        pg_drop_all();
    }
    nftw(tmpdir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
    return check_done();
}
