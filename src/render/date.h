/*
 * date.h - dates and times as readers, feeds and HTTP caches want them.
 *
 * The human forms ("November 1, 2024 3:07 AM") and the RFC 3339 form use
 * the process's local time zone: main sets TZ from site.conf and calls
 * tzset() once at start-up, so every page shows the site's time zone.
 * Month and day names are English whatever the locale (strftime's %B and
 * %a would follow LC_TIME). HTTP dates are always GMT.
 *
 * Every formatter writes a NUL-terminated string into the caller's array
 * out of size bytes and returns 0, or -1 when size is too small or the
 * time cannot be represented (out is then "" if size > 0). DATE_BUF bytes
 * always suffice; the minimum for years 1000..9999 is given per function.
 */
#ifndef RENDER_DATE_H
#define RENDER_DATE_H

#include <stddef.h>
#include <time.h>

#define DATE_BUF 64 /* bytes that hold any date_format_* result */

/* "November 1, 2024 3:07 AM": no leading zeros on day or hour, 12-hour
 * clock, midnight is "12:00 AM" and noon "12:00 PM". Needs 28 bytes. */
int date_format_long(time_t t, char *out, size_t size);

/* "November 1, 2024". Needs 19 bytes. */
int date_format_day(time_t t, char *out, size_t size);

/* "3:07 AM". Needs 9 bytes. */
int date_format_time(time_t t, char *out, size_t size);

/* RFC 3339 with the local offset, "2024-11-01T03:07:00+02:00" (UTC is
 * written "+00:00"). Needs 26 bytes. */
int date_format_iso(time_t t, char *out, size_t size);

/* HTTP-date (RFC 9110 section 5.6.7, the RFC 1123 form) in GMT:
 * "Fri, 01 Nov 2024 01:07:00 GMT". Needs 30 bytes. */
int date_format_rfc1123(time_t t, char *out, size_t size);

/* Parses s into *out. Accepted (nothing may follow):
 *   2024-11-01T03:07:00Z          UTC ('T'/'Z' in either case, or ' ')
 *   2024-11-01T03:07:00+02:00     explicit offset (also -05:00)
 *   2024-11-01T03:07:00.250Z      fractional seconds, ignored
 *   2024-11-01 03:07[:00]         no offset: the local time zone
 *   2024-11-01                    local midnight
 * Fields are range-checked (February 30 is refused). A local time that
 * falls into a daylight-saving gap is moved forward by mktime().
 * Returns 0, or -1 on malformed input (*out untouched). */
int date_parse_iso(const char *s, time_t *out);

#endif
