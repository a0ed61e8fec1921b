/*
 * podcast.h - the narrated articles as a podcast (podcast.c): the feed at
 * /podcast.xml (RSS 2.0 with the Apple Podcasts "itunes" and Podcast
 * Index "podcast" namespaces, docs/podcast.md) and the `post.audio` data
 * of the article page's player (docs/theme.md). Internal to web/.
 */
#ifndef WEB_PODCAST_H
#define WEB_PODCAST_H

#include <jansson.h>

struct arena;
struct http_req;
struct store_narration;

/* The cover art's path under the site URL, linked as itunes:image. */
#define PODCAST_COVER "/assets/podcast-cover.png"

/*
 * GET /podcast.xml: the newest ready narration of each published post
 * (store_episodes, newest post first), one <item> each, sent with
 * send_cached (ETag, public Cache-Control, 304 on a match) as
 * application/rss+xml. Returns the status sent, or -1 (the layer answers
 * 500) on a store failure or a feed past BOUND_PAGE_BYTES.
 */
int podcast_feed(struct http_req *req, void *app);

/*
 * The player data for a ready narration n (n->file set): a new object
 * {url: "/media/FILE", type: "audio/mpeg", duration_label: "6:12" (m:ss,
 * or h:mm:ss from an hour), duration_iso: "PT6M12S", duration_seconds}
 * with strings from a. The caller owns the reference.
 */
json_t *podcast_audio(struct arena *a, const struct store_narration *n);

#endif
