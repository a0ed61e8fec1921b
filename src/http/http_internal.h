/*
 * http_internal.h - pieces of src/http shared between its files and its
 * unit test: decoding what the client sent (form.c), route matching
 * (route.c) and conditional-request checks (cond.c). Nothing outside
 * src/http includes this; web/ uses http.h.
 */
#ifndef HTTP_HTTP_INTERNAL_H
#define HTTP_HTTP_INTERNAL_H

#include <stddef.h>
#include <time.h>

struct arena;

#define HTTP_MAX_PARAMS 8       /* route captures in one pattern */

/* One decoded name=value pair of a query string or form body. */
struct http_kv {
    const char *key; /* decoded, NUL-terminated, in the request arena */
    const char *val; /* decoded; "" for "key" without '=' */
};

/* One route capture: slices of the pattern and of the path. */
struct http_capture {
    const char *name; /* capture name in the pattern ("slug", "*") */
    size_t name_len;  /* bytes of name */
    const char *val;  /* start of the captured text in the path */
    size_t len;       /* bytes captured */
};

/*
 * Decodes the path part of a request target (the n bytes of raw up to
 * its '?'): %XX escapes are decoded, '+' stays '+'. On success stores the
 * decoded, NUL-terminated path (from arena a) in *out and returns NULL;
 * otherwise returns a message for a 400 ("path contains a NUL byte").
 */
const char *http_path_decode(struct arena *a, const char *raw, size_t n,
                             char **out);

/*
 * Parses n bytes of application/x-www-form-urlencoded text (a query
 * string or a form body) into at most max pairs at kv, decoding %XX and
 * '+'; a '%' not followed by two hex digits stays as it is. Empty pieces
 * ("a=1&&b=2") are skipped; pairs past max are dropped (logged). Strings
 * come from arena a. Returns the number of pairs, or -1 if a decoded
 * name or value contains a NUL byte or is not valid UTF-8.
 */
long http_urlencoded_parse(struct arena *a, const char *s, size_t n,
                           struct http_kv *kv, size_t max);

/*
 * Matches the decoded path against a route pattern (see http.h). On a
 * match fills caps (at most HTTP_MAX_PARAMS) and *ncaps and returns 1;
 * returns 0 otherwise.
 */
int http_route_match(const char *pattern, const char *path,
                     struct http_capture *caps, size_t *ncaps);

/* 1 if the If-None-Match header value matches etag by weak comparison
 * (RFC 9110 13.1.2; "*" matches any), else 0. */
int http_etag_match(const char *if_none_match, const char *etag);

/* Parses an IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT", RFC 9110
 * 5.6.7) into *t. Returns 0, or -1 if s is not one. */
int http_date_parse(const char *s, time_t *t);

#endif
