/*
 * arena.c - region allocator; see arena.h.
 *
 * Blocks grow geometrically from BOUND_ARENA_BLOCK; an allocation larger
 * than half a block gets a block of its own. Alignment is that of
 * max_align_t.
 *
 * Each thread keeps one released first-size block for its next arena: a
 * server thread serving request after request then allocates nothing
 * from malloc on a page-cache hit (DESIGN.md, "Speed").
 */
#include "core/arena.h"

#include <pthread.h>
#include <stdalign.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/bounds.h"

struct arena_block {
    struct arena_block *next; /* older block, or NULL */
    size_t size;              /* usable bytes in data */
    size_t used;              /* bytes handed out */
    alignas(max_align_t) unsigned char data[];
};

struct arena_defer {
    struct arena_defer *next; /* older hook, or NULL */
    void (*fn)(void *);
    void *arg;
};

/* This thread's spare BOUND_ARENA_BLOCK block, or NULL. */
static _Thread_local struct arena_block *spare;

/* Frees this thread's spare block when the thread ends. */
static pthread_key_t spare_key;
static pthread_once_t spare_once = PTHREAD_ONCE_INIT;

static void spare_free(void *p)
{
    free(p);
    spare = NULL;
}

static void spare_key_make(void)
{
    pthread_key_create(&spare_key, spare_free);
}

static void *xmalloc(size_t n)
{
    void *p = malloc(n);
    if (!p) {
        fputs("out of memory\n", stderr);
        abort();
    }
    return p;
}

void arena_init(struct arena *a)
{
    a->head = NULL;
    a->defers = NULL;
    a->total = 0;
}

void arena_release(struct arena *a)
{
    if (!a)
        return;
    while (a->defers) {
        struct arena_defer *d = a->defers;
        a->defers = d->next;
        d->fn(d->arg); /* d itself lives in the arena: freed below */
    }
    while (a->head) {
        struct arena_block *b = a->head;
        a->head = b->next;
        if (!spare && b->size == BOUND_ARENA_BLOCK) {
            spare = b;
            pthread_once(&spare_once, spare_key_make);
            pthread_setspecific(spare_key, b);
            continue;
        }
        free(b);
    }
    a->total = 0;
}

void *arena_alloc(struct arena *a, size_t n)
{
    const size_t align = alignof(max_align_t);
    size_t need = (n + align - 1) & ~(align - 1);
    struct arena_block *b = a->head;

    if (need == 0)
        need = align;
    if (!b || b->size - b->used < need) {
        size_t size = b ? b->size * 2 : BOUND_ARENA_BLOCK;
        if (size > 4 * 1024 * 1024)
            size = 4 * 1024 * 1024;
        if (size < need)
            size = need;
        if (size == BOUND_ARENA_BLOCK && spare) {
            b = spare;
            spare = NULL;
            pthread_setspecific(spare_key, NULL);
        } else {
            b = xmalloc(sizeof(*b) + size);
        }
        b->size = size;
        b->used = 0;
        b->next = a->head;
        a->head = b;
        a->total += size;
    }
    void *p = b->data + b->used;
    b->used += need;
    return p;
}

void *arena_zalloc(struct arena *a, size_t n)
{
    void *p = arena_alloc(a, n);
    memset(p, 0, n);
    return p;
}

char *arena_strndup(struct arena *a, const char *s, size_t n)
{
    if (!s)
        return NULL;
    char *p = arena_alloc(a, n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *arena_strdup(struct arena *a, const char *s)
{
    return s ? arena_strndup(a, s, strlen(s)) : NULL;
}

char *arena_printf(struct arena *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return arena_strdup(a, "");
    char *p = arena_alloc(a, (size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return p;
}

void arena_defer(struct arena *a, void (*fn)(void *), void *arg)
{
    struct arena_defer *d = arena_alloc(a, sizeof(*d));
    d->fn = fn;
    d->arg = arg;
    d->next = a->defers;
    a->defers = d;
}
