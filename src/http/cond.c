/*
 * cond.c - the two checks behind conditional GET (RFC 9110 13.1): does an
 * If-None-Match list match the handler's ETag, and what time does an
 * If-Modified-Since / Last-Modified date stand for. server.c decides when
 * to answer 304 with them (not_modified()). Also content negotiation's
 * one question we ask: does Accept-Encoding allow a coding.
 */
#include "http/http.h"
#include "http/http_internal.h"

#include <string.h>
#include <strings.h>
#include <time.h>

/* Skips optional whitespace and list commas (RFC 9110 5.6.1). */
static const char *skip_list_sep(const char *s)
{
    while (*s == ' ' || *s == '\t' || *s == ',')
        s++;
    return s;
}

/* The opaque-tag (quotes included) of the entity-tag at s, dropping a
 * weak "W/" prefix; its length in *len. NULL if s holds no entity-tag
 * (RFC 9110 8.8.3). */
static const char *opaque_tag(const char *s, size_t *len)
{
    const char *end;

    if (s[0] == 'W' && s[1] == '/')
        s += 2;
    if (*s != '"')
        return NULL;
    end = strchr(s + 1, '"');
    if (!end)
        return NULL;
    *len = (size_t)(end + 1 - s);
    return s;
}

int http_etag_match(const char *if_none_match, const char *etag)
{
    const char *want, *s, *tag;
    size_t want_len, len;

    want = opaque_tag(etag, &want_len);
    if (!want)
        return 0; /* the handler's ETag is not a quoted tag: never 304 */
    for (s = skip_list_sep(if_none_match); *s; s = skip_list_sep(s)) {
        if (*s == '*')
            return 1;
        tag = opaque_tag(s, &len);
        if (!tag)
            return 0;
        /* Weak comparison: the opaque-tags are equal (13.1.2). */
        if (len == want_len && memcmp(tag, want, len) == 0)
            return 1;
        s = tag + len;
    }
    return 0;
}

/* The number in the n digits at s, or -1. */
static int digits(const char *s, int n)
{
    int v = 0;

    while (n-- > 0) {
        if (*s < '0' || *s > '9')
            return -1;
        v = v * 10 + (*s++ - '0');
    }
    return v;
}

int http_date_parse(const char *s, time_t *t)
{
    static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
    struct tm tm;
    const char *m;

    /* "Sun, 06 Nov 1994 08:49:37 GMT": 29 bytes, fixed positions. */
    if (strlen(s) != 29 || s[3] != ',' || s[4] != ' ' || s[7] != ' ' ||
        s[11] != ' ' || s[16] != ' ' || s[19] != ':' || s[22] != ':' ||
        strcmp(s + 25, " GMT") != 0)
        return -1;
    memset(&tm, 0, sizeof tm);
    m = strstr(months, (char[4]){s[8], s[9], s[10], '\0'});
    if (!m || (m - months) % 3 != 0)
        return -1;
    tm.tm_mon = (int)((m - months) / 3);
    tm.tm_mday = digits(s + 5, 2);
    tm.tm_year = digits(s + 12, 4) - 1900;
    tm.tm_hour = digits(s + 17, 2);
    tm.tm_min = digits(s + 20, 2);
    tm.tm_sec = digits(s + 23, 2);
    if (tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_year < 70 ||
        tm.tm_hour < 0 || tm.tm_hour > 23 || tm.tm_min < 0 || tm.tm_min > 59 ||
        tm.tm_sec < 0 || tm.tm_sec > 60)
        return -1;
    *t = timegm(&tm);
    return 0;
}

/* 1 if the weight at s (after "q=") is zero: "0", "0.", "0.0".. "0.000". */
static int zero_weight(const char *s)
{
    if (*s++ != '0')
        return 0;
    if (*s == '.')
        for (s++; *s == '0'; s++)
            ;
    return *s == '\0' || *s == ',' || *s == ';' || *s == ' ' || *s == '\t';
}

int http_accept_coding(const char *accept, const char *coding)
{
    size_t want = strlen(coding);
    const char *s = accept;

    while (s && *s) {
        const char *name, *end;
        size_t n;

        s = skip_list_sep(s);
        name = s;
        while (*s && *s != ',' && *s != ';' && *s != ' ' && *s != '\t')
            s++;
        n = (size_t)(s - name);
        end = strchr(s, ',');
        if (!end)
            end = s + strlen(s);
        if (n == want && strncasecmp(name, coding, n) == 0) {
            /* parameters: only q matters (RFC 9110 12.5.3) */
            for (const char *q = s; q < end; q++)
                if ((*q == 'q' || *q == 'Q') && q[1] == '=' &&
                    (q[-1] == ';' || q[-1] == ' ' || q[-1] == '\t'))
                    return !zero_weight(q + 2);
            return 1;
        }
        s = end;
    }
    return 0;
}
