/*
 * form.c - decoding what a client sends in the request target and in
 * form bodies: the path (strict: anything odd is a 400), query strings
 * and application/x-www-form-urlencoded bodies (lenient about a stray
 * '%', strict about NUL bytes and UTF-8). See http_internal.h.
 *
 * Percent-encoding: RFC 3986 2.1; form encoding ('+' for space): the
 * WHATWG URL standard, "application/x-www-form-urlencoded parsing".
 */
#include "http/http_internal.h"

#include <string.h>

#include "core/arena.h"
#include "core/log.h"
#include "core/str.h"

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* 1 if the n bytes at s are exactly "." or "..". */
static int is_dot_segment(const char *s, size_t n)
{
    return (n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.');
}

const char *http_path_decode(struct arena *a, const char *raw, size_t n,
                             char **out)
{
    char *d;
    size_t i, j = 0, seg;

    *out = NULL;
    if (n == 0 || raw[0] != '/')
        return "request target must start with '/'";
    d = arena_alloc(a, n + 1);
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)raw[i];

        if (c == '%') {
            int hi = i + 2 < n ? hexval(raw[i + 1]) : -1;
            int lo = i + 2 < n ? hexval(raw[i + 2]) : -1;

            if (hi < 0 || lo < 0)
                return "path contains a bad %-escape";
            c = (unsigned char)(hi * 16 + lo);
            i += 2;
        }
        if (c == 0)
            return "path contains a NUL byte (%00)";
        if (c < 0x20 || c == 0x7f)
            return "path contains a control character";
        d[j++] = (char)c;
    }
    d[j] = '\0';
    if (!str_utf8_valid(d, j))
        return "path is not valid UTF-8";
    /* Each segment sits between a '/' and the next '/' or the end. */
    for (i = 0; i < j; i = seg) {
        seg = i + 1;
        while (seg < j && d[seg] != '/')
            seg++;
        if (is_dot_segment(d + i + 1, seg - i - 1))
            return "path contains a '.' or '..' segment";
    }
    *out = d;
    return NULL;
}

/* Decodes one form component: '+' is a space, %XX a byte, a '%' not
 * followed by two hex digits stays a '%'. NULL for a NUL byte; bad UTF-8
 * is NULL too unless repair, which turns each bad byte into U+FFFD. */
static const char *decode_component(struct arena *a, const char *s, size_t n,
                                    int repair)
{
    char *d = arena_alloc(a, n + 1);
    size_t i, j = 0;

    for (i = 0; i < n; i++) {
        char c = s[i];

        if (c == '+') {
            c = ' ';
        } else if (c == '%' && i + 2 < n && hexval(s[i + 1]) >= 0 &&
                   hexval(s[i + 2]) >= 0) {
            c = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
            i += 2;
        }
        if (c == '\0')
            return NULL;
        d[j++] = c;
    }
    d[j] = '\0';
    if (repair)
        return str_utf8_repair(a, d, j);
    return str_utf8_valid(d, j) ? d : NULL;
}

long http_urlencoded_parse(struct arena *a, const char *s, size_t n,
                           struct http_kv *kv, size_t max, int repair)
{
    size_t i = 0, count = 0, dropped = 0;

    while (i < n) {
        size_t start = i, eq = n, end;

        while (i < n && s[i] != '&') {
            if (s[i] == '=' && eq == n)
                eq = i;
            i++;
        }
        end = i++;
        if (end == start)
            continue;
        if (count == max) {
            dropped++;
            continue;
        }
        if (eq > end)
            eq = end;
        kv[count].key = decode_component(a, s + start, eq - start, repair);
        kv[count].val =
            eq < end ? decode_component(a, s + eq + 1, end - eq - 1, repair)
                     : "";
        if (!kv[count].key || !kv[count].val)
            return -1;
        count++;
    }
    if (dropped)
        log_warn("dropped %zu arguments past the first %zu", dropped, max);
    return (long)count;
}
