/*
 * date.c - date formatting and parsing; see date.h.
 *
 * Built with snprintf from struct tm (localtime_r / gmtime_r) and fixed
 * English name tables rather than strftime, whose %B, %a and %p follow the
 * locale. Parsing is a hand-written scanner over a fixed layout so that
 * anything unexpected is refused instead of half-read.
 */
#include "render/date.h"

#include <stdio.h>
#include <string.h>

static const char *const month_long[12] = {
    "January", "February", "March",     "April",   "May",      "June",
    "July",    "August",   "September", "October", "November", "December",
};

static const char *const month_short[12] = {
    "Jan", "Feb", "Mar", "Apr", "May", "Jun",
    "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
};

static const char *const weekday_short[7] = {
    "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat",
};

/* Finishes a formatter: n is snprintf's result. */
static int fit(int n, char *out, size_t size)
{
    if (n < 0 || (size_t)n >= size) {
        if (size > 0)
            out[0] = '\0';
        return -1;
    }
    return 0;
}

static int local(time_t t, struct tm *tm, char *out, size_t size)
{
    if (!localtime_r(&t, tm)) {
        if (size > 0)
            out[0] = '\0';
        return -1;
    }
    return 0;
}

static int hour12(const struct tm *tm)
{
    int h = tm->tm_hour % 12;
    return h == 0 ? 12 : h;
}

static const char *ampm(const struct tm *tm)
{
    return tm->tm_hour < 12 ? "AM" : "PM";
}

int date_format_long(time_t t, char *out, size_t size)
{
    struct tm tm;

    if (local(t, &tm, out, size) < 0)
        return -1;
    return fit(snprintf(out, size, "%s %d, %lld %d:%02d %s",
                        month_long[tm.tm_mon], tm.tm_mday,
                        (long long)tm.tm_year + 1900, hour12(&tm),
                        tm.tm_min, ampm(&tm)),
               out, size);
}

int date_format_day(time_t t, char *out, size_t size)
{
    struct tm tm;

    if (local(t, &tm, out, size) < 0)
        return -1;
    return fit(snprintf(out, size, "%s %d, %lld", month_long[tm.tm_mon],
                        tm.tm_mday, (long long)tm.tm_year + 1900),
               out, size);
}

int date_format_time(time_t t, char *out, size_t size)
{
    struct tm tm;

    if (local(t, &tm, out, size) < 0)
        return -1;
    return fit(snprintf(out, size, "%d:%02d %s", hour12(&tm), tm.tm_min,
                        ampm(&tm)),
               out, size);
}

int date_format_iso(time_t t, char *out, size_t size)
{
    struct tm tm;
    long off;
    char sign = '+';

    if (local(t, &tm, out, size) < 0)
        return -1;
    off = tm.tm_gmtoff / 60; /* minutes east of UTC */
    if (off < 0) {
        sign = '-';
        off = -off;
    }
    return fit(snprintf(out, size,
                        "%04lld-%02d-%02dT%02d:%02d:%02d%c%02ld:%02ld",
                        (long long)tm.tm_year + 1900, tm.tm_mon + 1,
                        tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, sign,
                        off / 60, off % 60),
               out, size);
}

int date_format_rfc1123(time_t t, char *out, size_t size)
{
    struct tm tm;

    if (!gmtime_r(&t, &tm)) {
        if (size > 0)
            out[0] = '\0';
        return -1;
    }
    return fit(snprintf(out, size, "%s, %02d %s %04lld %02d:%02d:%02d GMT",
                        weekday_short[tm.tm_wday], tm.tm_mday,
                        month_short[tm.tm_mon], (long long)tm.tm_year + 1900,
                        tm.tm_hour, tm.tm_min, tm.tm_sec),
               out, size);
}

/* ---- parsing ---- */

/* Reads exactly n digits at *p into *v and advances; -1 if not digits. */
static int digits(const char **p, int n, int *v)
{
    int x = 0;

    for (int i = 0; i < n; i++) {
        char c = (*p)[i];
        if (c < '0' || c > '9')
            return -1;
        x = x * 10 + (c - '0');
    }
    *p += n;
    *v = x;
    return 0;
}

static int days_in_month(int year, int month)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30,
                                 31, 31, 30, 31, 30, 31};
    int leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;

    return month == 2 && leap ? 29 : days[month - 1];
}

int date_parse_iso(const char *s, time_t *out)
{
    const char *p = s;
    int y, mo, d, h = 0, mi = 0, sec = 0, oh, om;
    int has_zone = 0;
    long offset = 0; /* seconds east of UTC */
    struct tm tm;
    time_t t;

    if (!s)
        return -1;
    if (digits(&p, 4, &y) < 0 || *p++ != '-' || digits(&p, 2, &mo) < 0 ||
        *p++ != '-' || digits(&p, 2, &d) < 0)
        return -1;
    if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo))
        return -1;
    if (*p == 'T' || *p == 't' || *p == ' ') {
        p++;
        if (digits(&p, 2, &h) < 0 || *p++ != ':' || digits(&p, 2, &mi) < 0)
            return -1;
        if (*p == ':') {
            p++;
            if (digits(&p, 2, &sec) < 0)
                return -1;
            if (*p == '.') {
                p++;
                if (*p < '0' || *p > '9')
                    return -1;
                while (*p >= '0' && *p <= '9')
                    p++;
            }
        }
        if (h > 23 || mi > 59 || sec > 60) /* 60: a leap second */
            return -1;
        if (*p == 'Z' || *p == 'z') {
            p++;
            has_zone = 1;
        } else if (*p == '+' || *p == '-') {
            int neg = *p++ == '-';
            if (digits(&p, 2, &oh) < 0 || *p++ != ':' ||
                digits(&p, 2, &om) < 0 || oh > 23 || om > 59)
                return -1;
            offset = (oh * 60L + om) * 60L;
            if (neg)
                offset = -offset;
            has_zone = 1;
        }
    }
    if (*p != '\0')
        return -1;

    memset(&tm, 0, sizeof(tm));
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec;
    if (has_zone) {
        t = timegm(&tm);
        if (t == (time_t)-1 && !(y == 1969 && mo == 12 && d == 31))
            return -1;
        t -= offset;
    } else {
        tm.tm_isdst = -1;
        t = mktime(&tm);
        if (t == (time_t)-1 && !(y == 1969 && mo == 12 && d == 31))
            return -1;
    }
    *out = t;
    return 0;
}
