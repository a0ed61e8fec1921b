/*
 * podcast.c - the site's narrated articles as a podcast.
 *
 * Every published article gets an MP3 (src/audio/ makes it as a job; the
 * store keeps one row per version in narrations). Two things here read
 * those rows: the player data of the article page (podcast_audio, used by
 * view_article) and the feed /podcast.xml, which podcast apps subscribe
 * to. The feed is RSS 2.0 (https://www.rssboard.org/rss-specification)
 * with the tags Apple Podcasts requires ("itunes" namespace,
 * https://podcasters.apple.com/support/823-podcast-requirements) and the
 * Podcast Index namespace (https://podcastindex.org/namespace/1.0). It is
 * built on each request from one store read and sent like the News Feed's
 * feeds (send_cached: an ETag of the body, so polling apps get 304s).
 *
 * An episode's guid is the article's URL with "#audio-" and the
 * narration's source hash: it stays the same while the text does, and a
 * new narration of changed text is a new episode.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "core/arena.h"
#include "core/bounds.h"
#include "core/buf.h"
#include "core/log.h"
#include "core/str.h"
#include "render/xml.h"
#include "web/app.h"
#include "web/feeds.h"
#include "web/podcast.h"

#define PODCAST_EPISODES 100    /* newest episodes the feed lists */
#define PODCAST_CATEGORY "News" /* Apple Podcasts category */

/* Whole seconds of a duration in milliseconds, rounded. */
static int64_t seconds_of(int64_t ms)
{
    return ms > 0 ? (ms + 500) / 1000 : 0;
}

/* "6:12", or "1:02:03" from an hour on, in a. */
static char *duration_label(struct arena *a, int64_t s)
{
    if (s >= 3600)
        return arena_printf(a, "%lld:%02lld:%02lld", (long long)(s / 3600),
                            (long long)(s / 60 % 60), (long long)(s % 60));
    return arena_printf(a, "%lld:%02lld", (long long)(s / 60),
                        (long long)(s % 60));
}

/* ISO 8601 duration, "PT6M12S", "PT1H0M3S", "PT0S", in a. */
static char *duration_iso(struct arena *a, int64_t s)
{
    if (s >= 3600)
        return arena_printf(a, "PT%lldH%lldM%lldS", (long long)(s / 3600),
                            (long long)(s / 60 % 60), (long long)(s % 60));
    if (s >= 60)
        return arena_printf(a, "PT%lldM%lldS", (long long)(s / 60),
                            (long long)(s % 60));
    return arena_printf(a, "PT%lldS", (long long)s);
}

json_t *podcast_audio(struct arena *a, const struct store_narration *n)
{
    int64_t s = seconds_of(n->duration_ms);

    return json_pack("{s:s, s:s, s:s, s:s, s:I}", "url",
                     arena_printf(a, "/media/%s", n->file), "type",
                     "audio/mpeg", "duration_label", duration_label(a, s),
                     "duration_iso", duration_iso(a, s), "duration_seconds",
                     (json_int_t)s);
}

/* <name attr="escaped value"/> and a newline. */
static void xml_empty(struct buf *out, const char *name, const char *attr,
                      const char *value)
{
    buf_printf(out, "<%s %s=\"", name, attr);
    xml_add(out, value);
    buf_adds(out, "\"/>\n");
}

/* The enclosure's length: the stored size, or the file's when the row has
 * none (0 if the file is gone too). */
static int64_t episode_bytes(struct web_app *app, struct arena *a,
                             const struct store_narration *n)
{
    struct stat st;

    if (n->bytes > 0)
        return n->bytes;
    if (stat(arena_printf(a, "%s/%s", app->media_dir, n->file), &st) == 0)
        return (int64_t)st.st_size;
    return 0;
}

/* The <channel> head: who, what, artwork and category. */
static void channel_head(struct web_app *app, struct arena *a, struct buf *b,
                         int64_t built)
{
    const struct config *c = &app->cfg;
    char name[256], addr[512];
    const char *desc =
        *c->description
            ? c->description
            : arena_printf(a, "The articles of %s, read aloud.", c->title);
    const char *cover = arena_printf(a, "%s" PODCAST_COVER, c->url);
    const char *title = arena_printf(a, "%s Podcast", c->title);
    const char *home = arena_printf(a, "%s/", c->url);

    config_mail_from(c, name, sizeof name, addr, sizeof addr);
    xml_elem(b, "title", title);
    xml_elem(b, "link", home);
    xml_elem(b, "description", desc);
    xml_elem(b, "language", c->language);
    if (built)
        xml_elem(b, "lastBuildDate", feeds_rss_date(a, built));
    buf_adds(b, "<atom:link href=\"");
    xml_add(b, arena_printf(a, "%s/podcast.xml", c->url));
    buf_adds(b, "\" rel=\"self\" type=\"application/rss+xml\"/>\n");
    buf_adds(b, "<image>\n");
    xml_elem(b, "url", cover);
    xml_elem(b, "title", title);
    xml_elem(b, "link", home);
    buf_adds(b, "</image>\n");
    xml_elem(b, "itunes:author", c->title);
    xml_elem(b, "itunes:summary", desc);
    buf_adds(b, "<itunes:owner>\n");
    xml_elem(b, "itunes:name", c->title);
    xml_elem(b, "itunes:email", addr);
    buf_adds(b, "</itunes:owner>\n");
    xml_empty(b, "itunes:image", "href", cover);
    xml_empty(b, "itunes:category", "text", PODCAST_CATEGORY);
    xml_elem(b, "itunes:explicit", "false");
    xml_elem(b, "itunes:type", "episodic");
    xml_elem(b, "podcast:locked", "no");
    xml_elem(b, "podcast:medium", "podcast");
}

/* One <item>. */
static void episode_item(struct web_app *app, struct arena *a, struct buf *b,
                         const struct store_episode *e)
{
    const struct config *c = &app->cfg;
    const char *url = arena_printf(a, "%s/%s/", c->url, e->slug);
    const char *summary =
        e->standfirst && *e->standfirst ? e->standfirst : e->excerpt;
    const char *desc =
        arena_printf(a, "%s%sThis audio is created with AI assistance.",
                     summary ? summary : "", summary && *summary ? " " : "");
    const char *guid =
        e->nar.source_hash && *e->nar.source_hash
            ? arena_printf(a, "%s#audio-%s", url, e->nar.source_hash)
            : arena_printf(a, "%s#audio-%lld", url, (long long)e->nar.id);

    buf_adds(b, "<item>\n");
    xml_elem(b, "title", e->title);
    xml_elem(b, "link", url);
    buf_adds(b, "<guid isPermaLink=\"false\">");
    xml_add(b, guid);
    buf_adds(b, "</guid>\n");
    xml_elem(b, "pubDate", feeds_rss_date(a, e->published_at));
    xml_elem(b, "description", desc);
    buf_adds(b, "<enclosure url=\"");
    xml_add(b, arena_printf(a, "%s/media/%s", c->url, e->nar.file));
    buf_printf(b, "\" length=\"%lld\" type=\"audio/mpeg\"/>\n",
               (long long)episode_bytes(app, a, &e->nar));
    xml_elem(b, "itunes:title", e->title);
    xml_elem(b, "itunes:author",
             e->authors && *e->authors ? e->authors : c->title);
    xml_elem(
        b, "itunes:duration",
        arena_printf(a, "%lld", (long long)seconds_of(e->nar.duration_ms)));
    xml_elem(b, "itunes:explicit", "false");
    xml_elem(b, "itunes:episodeType", "full");
    buf_adds(b, "</item>\n");
}

int podcast_feed(struct http_req *req, void *ctx)
{
    struct web_app *app = ctx;
    struct arena *a = http_req_arena(req);
    struct store_episode *e = NULL;
    size_t n = 0;
    int64_t built = 0;
    struct buf b;

    if (store_episodes(app->st, a, PODCAST_EPISODES, &e, &n) != 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (e[i].nar.created_at > built)
            built = e[i].nar.created_at;
        if (e[i].published_at > built)
            built = e[i].published_at;
    }
    buf_init(&b, BOUND_PAGE_BYTES);
    buf_adds(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                 "<rss version=\"2.0\" "
                 "xmlns:itunes=\"http://www.itunes.com/dtds/podcast-1.0.dtd\" "
                 "xmlns:podcast=\"https://podcastindex.org/namespace/1.0\" "
                 "xmlns:atom=\"http://www.w3.org/2005/Atom\">\n"
                 "<channel>\n");
    channel_head(app, a, &b, built);
    for (size_t i = 0; i < n; i++)
        if (e[i].nar.file && e[i].slug)
            episode_item(app, a, &b, &e[i]);
    buf_adds(&b, "</channel>\n</rss>\n");
    return send_cached_buf(req, &b, "application/rss+xml; charset=utf-8");
}
