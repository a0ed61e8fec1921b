/*
 * cache.c - the in-memory page cache; see cache.h for the design.
 *
 * Locks: the table's mutex guards the buckets, the CLOCK ring and the
 * pending entries' state; an entry's fields are fixed once it is ready
 * (only refs, used and retired change, atomically). A worker thread's
 * table (struct l1) is its own: no lock. Lifetime: an entry is freed when
 * the last of its references goes - the shared table's, each worker
 * table's slot, each request that is sending it or waiting for it.
 */
#include "web/cache.h"

#include <brotli/encode.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

#include <sodium.h>

#include "core/arena.h"
#include "core/log.h"
#include "http/http.h"
#include "render/date.h"
#include "web/app.h"

#define BUCKETS 4096u
#define CACHE_CONTROL                                                          \
    "public, max-age=0, s-maxage=300, stale-while-revalidate=60, "             \
    "stale-if-error=86400"
#define GZIP_LEVEL 6     /* zlib: 9 costs twice the time for ~2% */
#define BROTLI_QUALITY 5 /* 0..11: 5 beats gzip -9 at a tenth of 11's cost */
#define MIN_COMPRESS 256 /* bodies smaller than this are sent as they are */

enum { ENC_IDENTITY, ENC_GZIP, ENC_BR, ENC_N };
static const char *const enc_name[ENC_N] = {NULL, "gzip", "br"};
static const char *const enc_suffix[ENC_N] = {"", ".gz", ".br"};

struct entry {
    struct entry *next;      /* bucket chain (table lock) */
    struct entry *ring_next; /* CLOCK ring of ready entries (table lock) */
    struct entry *ring_prev;
    atomic_uint refs;   /* see the file comment */
    atomic_int used;    /* CLOCK bit: set by hits */
    atomic_int retired; /* 1 once out of the table */
    int ready;          /* 0 = pending: a render is on its way */
    uint64_t version;   /* store_version() the render started at */
    unsigned hash;      /* of key */
    char *key;          /* request target */
    size_t bytes;       /* charged to the budget */
    struct http_prebuilt *resp[ENC_N]; /* NULL = that encoding not kept */
};

/* One worker thread's own table; see cache.h, "Hot path". */
struct l1 {
    struct page_cache *cache;
    struct entry *slot[CACHE_L1];
    struct l1 *next_all;   /* every thread's (table lock) */
    uint64_t hits, misses; /* written by the thread only */
};

struct page_cache {
    pthread_mutex_t lock;
    pthread_cond_t filled; /* a pending entry became ready or went */
    struct entry *b[BUCKETS];
    struct entry *hand; /* CLOCK hand, NULL when the ring is empty */
    size_t bytes, max_bytes, count;
    uint64_t waits, evicted; /* table lock */
    struct l1 *l1s;          /* table lock */
    pthread_key_t l1_key;    /* this thread's l1 */
};

/* What a miss hands to cache_send of the same request (same thread). */
static _Thread_local struct {
    struct page_cache *cache;
    struct http_req *req;
    struct entry *pending; /* the entry this request is to fill, or NULL */
    uint64_t version;
} miss;

static unsigned hash(const char *s)
{
    unsigned h = 2166136261u; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

static void unref(struct entry *e)
{
    if (!e || atomic_fetch_sub(&e->refs, 1) != 1)
        return;
    for (int i = 0; i < ENC_N; i++)
        http_prebuilt_free(e->resp[i]);
    free(e->key);
    free(e);
}

static void unref_arg(void *p)
{
    unref(p);
}

/* Releases a thread's table when the thread ends. */
static void l1_free(void *p)
{
    struct l1 *t = p;

    for (int i = 0; i < CACHE_L1; i++)
        unref(t->slot[i]);
    memset(t->slot, 0, sizeof t->slot); /* the stats stay for /metrics */
}

struct page_cache *cache_new(size_t max_bytes)
{
    struct page_cache *c = calloc(1, sizeof *c);

    if (!c)
        abort();
    pthread_mutex_init(&c->lock, NULL);
    pthread_cond_init(&c->filled, NULL);
    c->max_bytes = max_bytes;
    if (pthread_key_create(&c->l1_key, l1_free) != 0)
        abort();
    return c;
}

/* Takes e out of the ring; the caller holds the lock. */
static void ring_remove(struct page_cache *c, struct entry *e)
{
    if (!e->ring_next)
        return;
    if (e->ring_next == e) {
        c->hand = NULL;
    } else {
        e->ring_prev->ring_next = e->ring_next;
        e->ring_next->ring_prev = e->ring_prev;
        if (c->hand == e)
            c->hand = e->ring_next;
    }
    e->ring_next = e->ring_prev = NULL;
}

/* Takes e (found in bucket h) out of the table and drops the table's
 * reference; the caller holds the lock. */
static void table_remove(struct page_cache *c, struct entry *e)
{
    struct entry **pp = &c->b[e->hash % BUCKETS];

    while (*pp && *pp != e)
        pp = &(*pp)->next;
    if (*pp)
        *pp = e->next;
    ring_remove(c, e);
    c->bytes -= e->bytes;
    c->count--;
    atomic_store(&e->retired, 1);
    unref(e);
}

void cache_free(struct page_cache *c)
{
    if (!c)
        return;
    for (unsigned i = 0; i < BUCKETS; i++)
        while (c->b[i])
            table_remove(c, c->b[i]);
    struct l1 *t = pthread_getspecific(c->l1_key);
    if (t)
        l1_free(t);
    for (struct l1 *n; c->l1s; c->l1s = n) {
        n = c->l1s->next_all;
        free(c->l1s); /* other threads have ended (the server stopped) */
    }
    pthread_key_delete(c->l1_key);
    pthread_cond_destroy(&c->filled);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

void cache_stats(struct page_cache *c, struct cache_stats *out)
{
    memset(out, 0, sizeof *out);
    pthread_mutex_lock(&c->lock);
    for (struct l1 *t = c->l1s; t; t = t->next_all) {
        out->hits += t->hits;
        out->misses += t->misses;
    }
    out->waits = c->waits;
    out->evicted = c->evicted;
    out->entries = c->count;
    out->bytes = c->bytes;
    pthread_mutex_unlock(&c->lock);
}

/* This thread's table, made on first use. */
static struct l1 *l1_get(struct page_cache *c)
{
    struct l1 *t = pthread_getspecific(c->l1_key);

    if (t)
        return t;
    t = calloc(1, sizeof *t);
    if (!t)
        abort();
    t->cache = c;
    pthread_mutex_lock(&c->lock);
    t->next_all = c->l1s;
    c->l1s = t;
    pthread_mutex_unlock(&c->lock);
    pthread_setspecific(c->l1_key, t);
    return t;
}

/* 1 for targets whose answers are the same for every reader. */
static int cacheable(const char *path)
{
    static const char *const never[] = {
        "/desk",         "/assets/", "/media/",  "/live/",
        "/newsletters/", "/ghost/",  "/metrics",
    };

    for (size_t i = 0; i < sizeof never / sizeof never[0]; i++)
        if (strncmp(path, never[i], strlen(never[i])) == 0)
            return 0;
    return 1;
}

/* Sends the encoding of e the request accepts. */
static int send_entry(struct http_req *req, struct entry *e)
{
    const char *accept = http_req_header(req, "Accept-Encoding");

    for (int i = ENC_N - 1; i > ENC_IDENTITY; i--)
        if (e->resp[i] && http_accept_coding(accept, enc_name[i]))
            return http_resp_send_prebuilt(req, e->resp[i]);
    return http_resp_send_prebuilt(req, e->resp[ENC_IDENTITY]);
}

/* The entry for key in the table (the caller holds the lock), or NULL. */
static struct entry *table_find(struct page_cache *c, const char *key,
                                unsigned h)
{
    for (struct entry *e = c->b[h % BUCKETS]; e; e = e->next)
        if (e->hash == h && strcmp(e->key, key) == 0)
            return e;
    return NULL;
}

/* Puts e (with one reference for the table) into bucket e->hash; the
 * caller holds the lock and has removed any entry with the same key. */
static void table_add(struct page_cache *c, struct entry *e)
{
    unsigned i = e->hash % BUCKETS;

    e->next = c->b[i];
    c->b[i] = e;
    c->count++;
}

int cache_fast(struct http_req *req, void *ctx)
{
    struct web_app *app = ctx;
    struct page_cache *c = app->cache;
    const char *key = http_req_target(req);
    unsigned h = hash(key);
    uint64_t v = store_version(app->st);
    struct l1 *t;
    struct entry *e, **slot;
    int waited = 0;

    miss.req = NULL;
    miss.pending = NULL;
    if (!c->max_bytes || !cacheable(http_req_path(req)))
        return 0;
    t = l1_get(c);
    slot = &t->slot[h % CACHE_L1];
    e = *slot;
    if (e && e->version == v &&
        !atomic_load_explicit(&e->retired, memory_order_relaxed) &&
        e->hash == h && strcmp(e->key, key) == 0) {
        t->hits++;
        if (!atomic_load_explicit(&e->used, memory_order_relaxed))
            atomic_store_explicit(&e->used, 1, memory_order_relaxed);
        return send_entry(req, e);
    }
    pthread_mutex_lock(&c->lock);
    for (;;) {
        e = table_find(c, key, h);
        if (!e || e->version != v)
            break;
        if (e->ready) {
            atomic_fetch_add(&e->refs, 1); /* for the slot */
            atomic_store(&e->used, 1);
            pthread_mutex_unlock(&c->lock);
            unref(*slot);
            *slot = e;
            t->hits++;
            return send_entry(req, e);
        }
        /* another request is rendering it: wait for that */
        if (waited) {
            e = NULL; /* it took too long: render here, keep nothing */
            break;
        }
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += CACHE_WAIT_MS / 1000;
        until.tv_nsec += (CACHE_WAIT_MS % 1000) * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        c->waits++;
        atomic_fetch_add(&e->refs, 1);
        while (!e->ready && !atomic_load(&e->retired))
            if (pthread_cond_timedwait(&c->filled, &c->lock, &until) != 0)
                break;
        waited = !e->ready && !atomic_load(&e->retired);
        pthread_mutex_unlock(&c->lock);
        unref(e);
        pthread_mutex_lock(&c->lock);
        if (waited)
            break;
    }
    t->misses++;
    miss.cache = c;
    miss.req = req;
    miss.version = v;
    if (!waited) {
        /* this request renders it: leave a pending entry for the others */
        if (e)
            table_remove(c, e); /* an older version */
        e = calloc(1, sizeof *e);
        if (!e)
            abort();
        e->key = strdup(key);
        if (!e->key)
            abort();
        e->hash = h;
        e->version = v;
        atomic_init(&e->refs, 2); /* the table's and this request's */
        table_add(c, e);
        miss.pending = e;
        arena_defer(http_req_arena(req), unref_arg, e);
    }
    pthread_mutex_unlock(&c->lock);
    return 0;
}

/* The render of the entry e ended without a page to keep: take it out and
 * let the waiters render for themselves. */
static void abandon(struct page_cache *c, struct entry *e)
{
    pthread_mutex_lock(&c->lock);
    if (!e->ready && !atomic_load(&e->retired))
        table_remove(c, e);
    pthread_cond_broadcast(&c->filled);
    pthread_mutex_unlock(&c->lock);
}

/* Drops entries, least recently used first, until need more bytes fit;
 * the caller holds the lock. */
static void make_room(struct page_cache *c, size_t need)
{
    while (c->hand && c->bytes + need > c->max_bytes) {
        struct entry *e = c->hand;
        if (atomic_exchange(&e->used, 0)) {
            c->hand = e->ring_next;
            continue;
        }
        c->evicted++;
        table_remove(c, e);
    }
}

/* gzip of len bytes at body into a malloc'd buffer (*out_len), or NULL. */
static unsigned char *gzip(const char *body, size_t len, size_t *out_len)
{
    z_stream z = {0};
    size_t cap = len + len / 1000 + 64;
    unsigned char *out = malloc(cap);

    if (!out || deflateInit2(&z, GZIP_LEVEL, Z_DEFLATED, 15 + 16, 8,
                             Z_DEFAULT_STRATEGY) != Z_OK) {
        free(out);
        return NULL;
    }
    z.next_in = (unsigned char *)body;
    z.avail_in = (uInt)len;
    z.next_out = out;
    z.avail_out = (uInt)cap;
    int rc = deflate(&z, Z_FINISH);
    *out_len = z.total_out;
    deflateEnd(&z);
    if (rc != Z_STREAM_END) {
        free(out);
        return NULL;
    }
    return out;
}

/* brotli of len bytes at body into a malloc'd buffer (*out_len), or NULL. */
static unsigned char *brotli(const char *body, size_t len, size_t *out_len)
{
    size_t cap = BrotliEncoderMaxCompressedSize(len);
    unsigned char *out = cap ? malloc(cap) : NULL;

    *out_len = cap;
    if (!out || !BrotliEncoderCompress(BROTLI_QUALITY, BROTLI_DEFAULT_WINDOW,
                                       BROTLI_MODE_TEXT, len,
                                       (const uint8_t *)body, out_len, out)) {
        free(out);
        return NULL;
    }
    return out;
}

/* 1 for media types worth compressing. */
static int compressible(const char *type)
{
    return strncmp(type, "text/", 5) == 0 || strstr(type, "xml") ||
           strstr(type, "json") || strstr(type, "javascript");
}

/* Fills e's responses from body: the identity one and the compressed
 * ones that save at least a tenth. Then answers req, the request that
 * rendered the page, with the copy its Accept-Encoding prefers: the same
 * bytes and headers but for "X-Cache: hit". Returns the status sent, or
 * 0 when e got no identity response (nothing sent). */
static int build(struct entry *e, struct http_req *req, const char *type,
                 const char *body, size_t len, const char *keys)
{
    const char *accept = http_req_header(req, "Accept-Encoding");
    struct arena *a = http_req_arena(req);
    unsigned char hsh[16];
    char hex[33], modified[DATE_BUF], surrogate[512];
    const char *data[ENC_N] = {body}, *etag[ENC_N];
    size_t n[ENC_N] = {len};
    int pick = ENC_IDENTITY, rc = 0;

    crypto_generichash(hsh, sizeof hsh, (const unsigned char *)body, len, NULL,
                       0);
    sodium_bin2hex(hex, sizeof hex, hsh, sizeof hsh);
    date_format_rfc1123(time(NULL), modified, sizeof modified);
    snprintf(surrogate, sizeof surrogate, "newsroom%s%s", keys ? " " : "",
             keys ? keys : "");
    for (int i = 0; i < ENC_N; i++) {
        if (i != ENC_IDENTITY) {
            unsigned char *z;
            if (len < MIN_COMPRESS || !compressible(type))
                continue;
            z = i == ENC_GZIP ? gzip(body, len, &n[i])
                              : brotli(body, len, &n[i]);
            if (!z || n[i] > len - len / 10) {
                free(z);
                continue;
            }
            data[i] = arena_strndup(a, (const char *)z, n[i]);
            free(z);
        }
        etag[i] = arena_printf(a, "\"%s%s\"", hex, enc_suffix[i]);
        const char *headers[] = {
            "ETag",
            etag[i],
            "Last-Modified",
            modified,
            "Cache-Control",
            CACHE_CONTROL,
            "Vary",
            "Accept-Encoding",
            "Surrogate-Key",
            surrogate,
            "X-Cache",
            "hit",
            enc_name[i] ? "Content-Encoding" : NULL,
            enc_name[i],
            NULL,
        };
        e->resp[i] = http_prebuilt_new(type, data[i], n[i], headers);
        if (!e->resp[i])
            continue;
        e->bytes += n[i];
        if (i != ENC_IDENTITY && http_accept_coding(accept, enc_name[i]))
            pick = i; /* brotli comes last: it wins when both are allowed */
    }
    if (!e->resp[ENC_IDENTITY])
        return 0;
    http_resp_header(req, "ETag", etag[pick]);
    http_resp_header(req, "Last-Modified", modified);
    http_resp_header(req, "Cache-Control", CACHE_CONTROL);
    http_resp_header(req, "Vary", "Accept-Encoding");
    http_resp_header(req, "Surrogate-Key", surrogate);
    if (enc_name[pick])
        http_resp_header(req, "Content-Encoding", enc_name[pick]);
    rc = http_resp_send_static(req, 200, type, data[pick], n[pick]);
    return rc ? rc : -1;
}

int cache_send(struct http_req *req, const char *type, const char *body,
               size_t len, const char *keys)
{
    struct page_cache *c = miss.cache;
    struct entry *e = miss.req == req ? miss.pending : NULL;
    int rc;

    miss.req = NULL;
    miss.pending = NULL;
    if (!e || len > CACHE_MAX_ENTRY) {
        if (e)
            abandon(c, e);
        /* not kept: the same headers, sent once */
        unsigned char hsh[16];
        char hex[33];
        crypto_generichash(hsh, sizeof hsh, (const unsigned char *)body, len,
                           NULL, 0);
        sodium_bin2hex(hex, sizeof hex, hsh, sizeof hsh);
        http_resp_header(req, "ETag",
                         arena_printf(http_req_arena(req), "\"%s\"", hex));
        http_resp_header(req, "Cache-Control", CACHE_CONTROL);
        return http_resp_send_static(req, 200, type, body, len);
    }
    rc = build(e, req, type, body, len, keys);
    if (!rc) {
        abandon(c, e);
        return http_resp_send_static(req, 200, type, body, len);
    }
    pthread_mutex_lock(&c->lock);
    if (!atomic_load(&e->retired)) {
        /* still in the table: charge it, make room, put it on the ring */
        make_room(c, e->bytes);
        c->bytes += e->bytes;
        e->ready = 1;
        if (c->hand) {
            e->ring_next = c->hand;
            e->ring_prev = c->hand->ring_prev;
            e->ring_prev->ring_next = e;
            c->hand->ring_prev = e;
        } else {
            e->ring_next = e->ring_prev = e;
            c->hand = e;
        }
        if (c->bytes > c->max_bytes) /* bigger than the whole budget */
            table_remove(c, e);
    }
    pthread_cond_broadcast(&c->filled);
    pthread_mutex_unlock(&c->lock);
    return rc;
}
