/*
 * cache.h - rendered public pages kept in memory, so a story that breaks
 * is served from RAM rather than rendered per reader.
 *
 * DESIGN: an entry is the full response body of a 200 page for one request
 * target (path and query), tagged with the store_version() read before the
 * page's data was loaded. A lookup whose tag differs from the current
 * store_version() is a miss, so any committed write - by this process or a
 * CLI command on the same database - retires every page at once; nothing
 * can be served stale after a save returns. Entries are reference-counted:
 * a response being sent keeps its body alive after the entry is replaced.
 * Memory is bounded (CACHE_MAX_BYTES, CACHE_MAX_ENTRIES); when full, the
 * whole table is emptied (issue 8 brings per-entry LRU eviction,
 * precompression and finer invalidation).
 */
#ifndef WEB_CACHE_H
#define WEB_CACHE_H

#include <stddef.h>
#include <stdint.h>

#define CACHE_MAX_BYTES (64u * 1024u * 1024u) /* bodies in all */
#define CACHE_MAX_ENTRIES 4096u               /* pages in all */

struct http_req;
struct web_app;
struct page_cache;

struct page_cache *cache_new(void);
void cache_free(struct page_cache *c); /* NULL is fine */

/* Sends the cached page for req's target if it is current and returns its
 * status (200 or 304); returns 0 on a miss, after noting the store version
 * the caller's render will be tagged with (see cache_put). */
int cache_serve(struct web_app *app, struct http_req *req);

/* Keeps body (len bytes, copied) with its ETag for req's target, tagged
 * with the version noted by this thread's last cache_serve miss. */
void cache_put(struct web_app *app, struct http_req *req, const char *body,
               size_t len, const char *etag);

#endif
