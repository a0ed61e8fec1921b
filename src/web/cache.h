/*
 * cache.h - rendered public responses kept in memory, so a story that
 * breaks is served from RAM, compressed once, rather than rendered per
 * reader (docs/caching.md).
 *
 * DESIGN
 * - Key: the request target (path and query). Each entry holds the body
 *   three ways - identity, gzip (zlib) and brotli (libbrotlienc), the
 *   compressed forms only when they are smaller - each as an
 *   http_prebuilt response (built once, headers fixed; http.h), and
 *   the one the request's Accept-Encoding prefers is sent. ETags are
 *   strong and differ per encoding ("HASH", "HASH.gz", "HASH.br");
 *   Last-Modified is the render time; 304s come from the http layer.
 * - Freshness: an entry is tagged with store_version() read before its
 *   data was loaded. store_version() moves on every write a reader can
 *   see (store.h: the content version) and is an atomic read, so a lookup
 *   whose tag differs is a miss: a page the newsroom changed is never
 *   served once the save has returned, and bookkeeping writes (sessions,
 *   jobs, mail) keep every page.
 * - Hot path: cache_fast() is the server's fast hook, run before routing.
 *   Each worker thread keeps a small direct-mapped table of entries it
 *   served (holding a reference), so a hit takes no lock and runs no SQL;
 *   only a thread's first look at a page takes the shared table's lock.
 * - Stampede: the first miss for a target leaves a pending entry; other
 *   requests for it wait (up to CACHE_WAIT_MS) for that render instead of
 *   rendering it again.
 * - Memory: bodies are charged to a budget (cache_mb in site.conf); past
 *   it the least recently used entries go (the CLOCK approximation: a hit
 *   sets a bit, eviction clears bits until it finds an unset one). An
 *   evicted entry stays alive while a response or a worker thread's table
 *   still holds it (at most CACHE_L1 per worker thread).
 * - Only GET and HEAD of public pages are cached: never /desk, files
 *   (/assets/, /media/ have their own ETags), the live stream or the
 *   newsletter forms.
 */
#ifndef WEB_CACHE_H
#define WEB_CACHE_H

#include <stddef.h>
#include <stdint.h>

#define CACHE_MAX_ENTRY (8u * 1024u * 1024u) /* bigger bodies are not kept */
#define CACHE_WAIT_MS 5000 /* a request waits this long for another's render   \
                            */
#define CACHE_L1 64        /* entries each worker thread keeps at hand */

struct http_req;
struct web_app;
struct page_cache;

/* What the cache has done since it was made (for /metrics). */
struct cache_stats {
    uint64_t hits;    /* answered from memory */
    uint64_t misses;  /* rendered */
    uint64_t waits;   /* waited for another request's render */
    uint64_t evicted; /* entries dropped for room */
    size_t entries;   /* entries held now */
    size_t bytes;     /* bytes charged now (all encodings) */
};

/* A cache holding at most max_bytes of bodies; 0 turns caching off
 * (every request renders). */
struct page_cache *cache_new(size_t max_bytes);
void cache_free(struct page_cache *c); /* NULL is fine */
void cache_stats(struct page_cache *c, struct cache_stats *out);

/* The http fast hook (http_config.fast; ctx is the web_app): answers a
 * GET or HEAD of a public page from the cache and returns its status;
 * on a miss, makes this request the one that renders the page (cache_send
 * keeps it) and returns 0. */
int cache_fast(struct http_req *req, void *ctx);

/* Sends body (len bytes of type) as req's 200 response and, when req
 * missed in cache_fast, keeps it for the next readers. keys is the
 * Surrogate-Key list for a CDN ("post-12 list"; NULL = none beyond
 * "newsroom"). Returns the status sent (200, or 304 when the request's
 * validators match), or -1. */
int cache_send(struct http_req *req, const char *type, const char *body,
               size_t len, const char *keys);

#endif
