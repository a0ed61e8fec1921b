/*
 * arena.h - region allocator: everything a request (or one CLI command)
 * allocates comes from one arena and is freed in one place, arena_free().
 *
 * Non-memory resources (sqlite3_stmt, cmark nodes, json_t) are tied to the
 * arena with arena_defer(): their release runs when the arena is freed, in
 * reverse order of registration, so callers have no cleanup ladders.
 * Out of memory aborts (there is nothing sensible to do at that point).
 */
#ifndef CORE_ARENA_H
#define CORE_ARENA_H

#include <stddef.h>

struct arena_block;
struct arena_defer;

struct arena {
    struct arena_block *head; /* newest block, or NULL before first alloc */
    struct arena_defer *defers; /* newest defer hook, or NULL */
    size_t total;              /* bytes obtained from malloc, for metrics */
};

/* Prepares an empty arena; allocates nothing until first use. */
void arena_init(struct arena *a);
/* Runs defer hooks (newest first) and frees every block. Accepts NULL.
 * The arena may be used again afterwards. */
void arena_release(struct arena *a);

/* n bytes aligned for any type; never NULL (aborts on OOM). */
void *arena_alloc(struct arena *a, size_t n);
/* Like arena_alloc, zero-filled. */
void *arena_zalloc(struct arena *a, size_t n);
/* Copy of s (NUL-terminated) / of n bytes of s plus a NUL. NULL gives NULL. */
char *arena_strdup(struct arena *a, const char *s);
char *arena_strndup(struct arena *a, const char *s, size_t n);
/* printf into the arena. */
char *arena_printf(struct arena *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3), nonnull(2)));

/* Registers fn(arg) to run when the arena is released. */
void arena_defer(struct arena *a, void (*fn)(void *), void *arg);

#endif
