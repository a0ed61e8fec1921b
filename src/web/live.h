/*
 * live.h - the push half of the News Feed: GET /live/events (Server-Sent
 * Events) and the watcher that turns the store's live change log into
 * events for every open stream.
 *
 * DESIGN: the store's change log (live_events, schema 002) is the single
 * source of truth; its seq is the SSE event id. A watcher thread polls
 * store_version() every LIVE_POLL_MS; when it moved, the new log entries
 * are rendered once (the theme's partials/newsfeed-item) and broadcast to
 * every stream through the http layer's hub. Changes made by any process
 * (this server, `newsroom live post`, another node) therefore reach readers
 * within a poll interval. A new stream takes the watcher's lock, lets the
 * watcher catch up, replays the log after the client's Last-Event-ID (or
 * ?after=, the seq its page was rendered at) up to the watcher's position,
 * and registers - so it gets every event exactly once, in order.
 */
#ifndef WEB_LIVE_H
#define WEB_LIVE_H

#include "core/bounds.h"

#define LIVE_POLL_MS 50       /* how often the watcher looks for changes */

struct http_req;
struct web_app;

/* Starts the watcher (and the hub) for app; 0 or -1 (logged). */
int live_start(struct web_app *app);
/* Stops the watcher; call after the HTTP server stopped. NULL-safe. */
void live_stop(struct web_app *app);

/* GET /live/events */
int live_events(struct http_req *req, void *app);

#endif
