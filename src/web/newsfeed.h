/*
 * newsfeed.h - the News Feed's own pages and feeds (newsfeed.c), listed in
 * the routes table of site.c:
 *   /news-feed/              every update, newest first, FEED_PAGE a page,
 *                            older pages at ?before=UNIX_SECONDS
 *   /news-feed/ID/           one update's permalink page
 *   /news-feed/feed.json     JSON Feed 1.1, newest FEED_SYNDICATED
 *   /news-feed/rss.xml       RSS 2.0, the same updates
 * Each handler takes the web_app as its app argument and returns the
 * status it sent, or -1 (the layer answers 500) on a store failure.
 */
#ifndef WEB_NEWSFEED_H
#define WEB_NEWSFEED_H

#include "core/bounds.h"

struct http_req;

#define FEED_PAGE_TIES                                                         \
    20                     /* extra rows read so a page never splits a         \
                              second that updates share (see newsfeed.c) */

/* The feed page, template "newsfeed"; 400 for a malformed ?before=. Uses
 * the page cache. */
int page_newsfeed(struct http_req *req, void *app);
/* One update, template "update"; 404 for an unknown or malformed id. Uses
 * the page cache. */
int page_live_update(struct http_req *req, void *app);
/* JSON Feed 1.1 (application/feed+json), with ETag and Cache-Control. */
int feed_live_json(struct http_req *req, void *app);
/* RSS 2.0 (application/rss+xml), with ETag and Cache-Control. */
int feed_live_rss(struct http_req *req, void *app);

#endif
