/*
 * buf.h - bounded, growable byte buffer (always NUL-terminated).
 *
 * A buffer never grows past the limit given to buf_init(); an append that
 * would cross it fails with -1, sets b->overflow and leaves the content as
 * it was, so callers can report "too large" instead of crashing.
 * Memory comes from malloc and is freed by buf_release(), or handed over
 * with buf_steal(). Out of memory aborts.
 */
#ifndef CORE_BUF_H
#define CORE_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct buf {
    char *data;   /* bytes, NUL-terminated; NULL until first append */
    size_t len;   /* bytes used, excluding the NUL */
    size_t cap;   /* bytes allocated */
    size_t limit; /* most bytes len may reach */
    int overflow; /* 1 once an append was refused for the limit */
};

/* Empty buffer that may hold up to limit bytes. */
void buf_init(struct buf *b, size_t limit);
/* Frees the bytes; the buffer is empty (and reusable) afterwards. NULL ok. */
void buf_release(struct buf *b);
/* Empties the buffer but keeps its memory. */
void buf_reset(struct buf *b);

/* Appends; 0 on success, -1 (nothing appended) if the limit is crossed. */
int buf_add(struct buf *b, const void *p, size_t n);
int buf_adds(struct buf *b, const char *s);
int buf_addc(struct buf *b, char c);
int buf_printf(struct buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int buf_vprintf(struct buf *b, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

/* Returns the bytes (caller frees with free()) and empties the buffer.
 * Never NULL: an empty buffer gives "". */
char *buf_steal(struct buf *b, size_t *len);

#endif
