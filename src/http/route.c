/*
 * route.c - matching a decoded path against one route pattern. The
 * server walks the caller's table in order and uses the first row whose
 * pattern and method both match (server.c, dispatch()).
 *
 * Pattern syntax (http.h): literal bytes; ":name" right after a '/'
 * captures one non-empty segment; a final "*" right after a '/' captures
 * the rest of the path. No regular expressions, no backtracking: one
 * left-to-right pass over pattern and path.
 */
#include "http/http_internal.h"

#include <string.h>

int http_route_match(const char *pattern, const char *path,
                     struct http_capture *caps, size_t *ncaps)
{
    const char *p = pattern, *s = path;
    size_t n = 0;

    while (*p) {
        int seg_start = p > pattern && p[-1] == '/';

        if (*p == ':' && seg_start) {
            const char *name = ++p, *val = s;

            while (*p && *p != '/')
                p++;
            while (*s && *s != '/')
                s++;
            if (s == val || n == HTTP_MAX_PARAMS)
                return 0;
            caps[n].name = name;
            caps[n].name_len = (size_t)(p - name);
            caps[n].val = val;
            caps[n].len = (size_t)(s - val);
            n++;
            continue;
        }
        if (*p == '*' && p[1] == '\0' && seg_start) {
            if (n == HTTP_MAX_PARAMS)
                return 0;
            caps[n].name = p;
            caps[n].name_len = 1;
            caps[n].val = s;
            caps[n].len = strlen(s);
            *ncaps = n + 1;
            return 1;
        }
        if (*p != *s)
            return 0;
        p++;
        s++;
    }
    if (*s)
        return 0;
    *ncaps = n;
    return 1;
}
