/*
 * cache.c - the in-memory page cache; see cache.h for the design.
 */
#include "web/cache.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "web/app.h"

#define BUCKETS 1024u
#define CACHE_CONTROL "public, max-age=60, s-maxage=300, stale-while-revalidate=60"

struct entry {
    struct entry *next;  /* bucket chain */
    atomic_uint refs;    /* table's reference + responses in flight */
    uint64_t version;    /* store_version() the page was rendered at */
    char *key;           /* request target */
    char *body;          /* response body */
    size_t len;          /* bytes of body */
    char etag[40];       /* quoted ETag */
};

struct page_cache {
    pthread_mutex_t lock;     /* guards the table, not entry contents */
    struct entry *b[BUCKETS]; /* chains */
    size_t bytes;             /* bodies held */
    size_t count;             /* entries held */
};

/* version a miss saw, for the cache_put of the same request */
static _Thread_local uint64_t miss_version;
static _Thread_local int miss_noted;

static unsigned hash(const char *s)
{
    unsigned h = 2166136261u; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h % BUCKETS;
}

static void unref(void *p)
{
    struct entry *e = p;
    if (atomic_fetch_sub(&e->refs, 1) == 1) {
        free(e->key);
        free(e->body);
        free(e);
    }
}

struct page_cache *cache_new(void)
{
    struct page_cache *c = calloc(1, sizeof(*c));
    if (!c)
        abort();
    pthread_mutex_init(&c->lock, NULL);
    return c;
}

/* Drops every entry; the caller holds the lock. */
static void clear(struct page_cache *c)
{
    for (unsigned i = 0; i < BUCKETS; i++)
        while (c->b[i]) {
            struct entry *e = c->b[i];
            c->b[i] = e->next;
            unref(e);
        }
    c->bytes = c->count = 0;
}

void cache_free(struct page_cache *c)
{
    if (!c)
        return;
    clear(c);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

int cache_serve(struct web_app *app, struct http_req *req)
{
    struct page_cache *c = app->cache;
    const char *key = http_req_target(req);
    uint64_t v = store_version(app->st);
    struct entry *e;

    miss_version = v;
    miss_noted = 1;
    pthread_mutex_lock(&c->lock);
    for (e = c->b[hash(key)]; e; e = e->next)
        if (strcmp(e->key, key) == 0)
            break;
    if (e && e->version == v)
        atomic_fetch_add(&e->refs, 1);
    else
        e = NULL;
    pthread_mutex_unlock(&c->lock);
    if (!e)
        return 0;
    arena_defer(http_req_arena(req), unref, e);
    http_resp_header(req, "ETag", e->etag);
    http_resp_header(req, "Cache-Control", CACHE_CONTROL);
    http_resp_header(req, "X-Cache", "hit");
    return http_resp_send_static(req, 200, "text/html; charset=utf-8",
                                 e->body, e->len);
}

void cache_put(struct web_app *app, struct http_req *req, const char *body,
               size_t len, const char *etag)
{
    struct page_cache *c = app->cache;
    const char *key = http_req_target(req);
    unsigned h = hash(key);
    struct entry *e, **pp;

    if (!miss_noted || len > CACHE_MAX_BYTES / 16)
        return;
    miss_noted = 0;
    e = calloc(1, sizeof(*e));
    if (!e)
        abort();
    atomic_init(&e->refs, 1);
    e->version = miss_version;
    e->key = strdup(key);
    e->body = malloc(len ? len : 1);
    if (!e->key || !e->body)
        abort();
    memcpy(e->body, body, len);
    e->len = len;
    snprintf(e->etag, sizeof e->etag, "%s", etag);
    pthread_mutex_lock(&c->lock);
    for (pp = &c->b[h]; *pp; pp = &(*pp)->next)
        if (strcmp((*pp)->key, key) == 0) {
            struct entry *old = *pp;
            *pp = old->next;
            c->bytes -= old->len;
            c->count--;
            unref(old);
            break;
        }
    if (c->count + 1 > CACHE_MAX_ENTRIES || c->bytes + len > CACHE_MAX_BYTES)
        clear(c);
    e->next = c->b[h];
    c->b[h] = e;
    c->bytes += len;
    c->count++;
    pthread_mutex_unlock(&c->lock);
}
