/*
 * test_date.c - the dates a reader sees ("November 1, 2024 3:07 AM"), feed
 * and HTTP dates, and parsing, in several time zones and across DST.
 */
#include <locale.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "render/date.h"

static void zone(const char *tz)
{
    setenv("TZ", tz, 1);
    tzset();
}

/* 2024-11-01T01:07:00Z, a Friday */
#define T_NOV1 ((time_t)1730423220)

static void test_formats_kyiv(void)
{
    char b[DATE_BUF];

    zone("Europe/Kyiv");
    CHECK(date_format_long(T_NOV1, b, sizeof(b)) == 0, "long format ok");
    CHECK_STR(b, "November 1, 2024 3:07 AM", "long: Kyiv is UTC+2 in November");
    date_format_day(T_NOV1, b, sizeof(b));
    CHECK_STR(b, "November 1, 2024", "day format");
    date_format_time(T_NOV1, b, sizeof(b));
    CHECK_STR(b, "3:07 AM", "time format: no leading zero");
    date_format_iso(T_NOV1, b, sizeof(b));
    CHECK_STR(b, "2024-11-01T03:07:00+02:00", "RFC 3339 with offset");
    date_format_rfc1123(T_NOV1, b, sizeof(b));
    CHECK_STR(b, "Fri, 01 Nov 2024 01:07:00 GMT", "HTTP-date in GMT");

    /* summer: 2024-07-15T12:00:00Z is 15:00 EEST (+03:00) */
    date_format_long(1721044800, b, sizeof(b));
    CHECK_STR(b, "July 15, 2024 3:00 PM", "Kyiv summer time is UTC+3");
    date_format_iso(1721044800, b, sizeof(b));
    CHECK_STR(b, "2024-07-15T15:00:00+03:00", "summer offset +03:00");

    /* DST starts 2024-03-31 01:00Z: 02:59:59 EET then 04:00:00 EEST */
    date_format_iso(1711846799, b, sizeof(b));
    CHECK_STR(b, "2024-03-31T02:59:59+02:00", "last second of winter time");
    date_format_iso(1711846800, b, sizeof(b));
    CHECK_STR(b, "2024-03-31T04:00:00+03:00", "first second of summer time");
}

static void test_noon_midnight(void)
{
    char b[DATE_BUF];

    zone("UTC");
    date_format_time(1704067200, b, sizeof(b)); /* 2024-01-01 00:00Z */
    CHECK_STR(b, "12:00 AM", "midnight is 12:00 AM");
    date_format_time(1704110400, b, sizeof(b)); /* 12:00Z */
    CHECK_STR(b, "12:00 PM", "noon is 12:00 PM");
    date_format_time(1704110399, b, sizeof(b)); /* 11:59:59Z */
    CHECK_STR(b, "11:59 AM", "a minute before noon is AM");
    date_format_time(1704153540, b, sizeof(b)); /* 23:59Z */
    CHECK_STR(b, "11:59 PM", "23:59 is 11:59 PM");
    date_format_time(1704070260, b, sizeof(b)); /* 00:51Z */
    CHECK_STR(b, "12:51 AM", "00:51 is 12:51 AM");
    date_format_iso(1704067200, b, sizeof(b));
    CHECK_STR(b, "2024-01-01T00:00:00+00:00", "UTC offset +00:00");
    date_format_long(1727740800, b, sizeof(b)); /* 2024-10-01 */
    CHECK_STR(b, "October 1, 2024 12:00 AM", "October name");
}

static void test_new_york(void)
{
    char b[DATE_BUF];

    zone("America/New_York");
    date_format_long(T_NOV1, b, sizeof(b));
    CHECK_STR(b, "October 31, 2024 9:07 PM", "New York, EDT (UTC-4)");
    date_format_iso(T_NOV1, b, sizeof(b));
    CHECK_STR(b, "2024-10-31T21:07:00-04:00", "negative offset");
    /* 2024-11-03 06:30Z is 01:30 EST, after the clocks went back */
    date_format_iso(1730615400, b, sizeof(b));
    CHECK_STR(b, "2024-11-03T01:30:00-05:00", "after fall back: EST");
    date_format_iso(1730611800, b, sizeof(b));
    CHECK_STR(b, "2024-11-03T01:30:00-04:00", "before fall back: EDT");
    date_format_rfc1123(T_NOV1, b, sizeof(b));
    CHECK_STR(b, "Fri, 01 Nov 2024 01:07:00 GMT",
              "HTTP-date ignores the local zone");
}

static void test_locale_independent(void)
{
    char b[DATE_BUF];

    /* if a French locale is installed, names must still be English */
    setlocale(LC_TIME, "fr_FR.UTF-8");
    zone("UTC");
    date_format_long(T_NOV1, b, sizeof(b));
    CHECK_STR(b, "November 1, 2024 1:07 AM", "English whatever the locale");
    setlocale(LC_TIME, "C");
}

static void test_small_buffer(void)
{
    char b[DATE_BUF];

    zone("UTC");
    CHECK(date_format_long(T_NOV1, b, 10) == -1 && b[0] == '\0',
          "too small a buffer: -1 and empty");
    CHECK(date_format_rfc1123(T_NOV1, b, 30) == 0, "rfc1123 fits in 30");
    CHECK(date_format_rfc1123(T_NOV1, b, 29) == -1, "but not in 29");
    CHECK(date_format_iso(T_NOV1, b, 26) == 0, "iso fits in 26");
    CHECK(date_format_time(T_NOV1, b, 9) == 0, "time fits in 9");
}

static void test_parse(void)
{
    time_t t = 0;

    zone("Europe/Kyiv");
    CHECK(date_parse_iso("2024-11-01T01:07:00Z", &t) == 0 && t == T_NOV1,
          "parse UTC 'Z'");
    CHECK(date_parse_iso("2024-11-01T03:07:00+02:00", &t) == 0 &&
              t == T_NOV1,
          "parse +02:00");
    CHECK(date_parse_iso("2024-10-31T21:07:00-04:00", &t) == 0 &&
              t == T_NOV1,
          "parse -04:00");
    CHECK(date_parse_iso("2024-11-01t01:07:00.123z", &t) == 0 &&
              t == T_NOV1,
          "parse lower-case t/z and fractional seconds");
    CHECK(date_parse_iso("2024-11-01 03:07", &t) == 0 && t == T_NOV1,
          "parse local time without seconds (Kyiv)");
    CHECK(date_parse_iso("2024-11-01T03:07:00", &t) == 0 && t == T_NOV1,
          "parse local time with T and seconds");
    CHECK(date_parse_iso("2024-07-15 15:00", &t) == 0 && t == 1721044800,
          "local summer time uses +03:00");
    CHECK(date_parse_iso("2024-11-01", &t) == 0 && t == 1730412000,
          "date alone is local midnight");
    zone("America/New_York");
    CHECK(date_parse_iso("2024-10-31 21:07", &t) == 0 && t == T_NOV1,
          "parse local time (New York)");

    t = 42;
    CHECK(date_parse_iso("", &t) == -1, "empty refused");
    CHECK(date_parse_iso("2024-13-01T00:00:00Z", &t) == -1, "month 13");
    CHECK(date_parse_iso("2023-02-29 10:00", &t) == -1, "Feb 29 in 2023");
    CHECK(date_parse_iso("2024-02-29 10:00", &t) == 0, "Feb 29 in 2024");
    t = 42;
    CHECK(date_parse_iso("2024-11-01T24:00:00Z", &t) == -1, "hour 24");
    CHECK(date_parse_iso("2024-11-01T03:07:00+2:00", &t) == -1,
          "one-digit offset");
    CHECK(date_parse_iso("2024-11-01T03:07:00Z junk", &t) == -1,
          "trailing junk");
    CHECK(date_parse_iso("2024-11-1 03:07", &t) == -1, "one-digit day");
    CHECK(date_parse_iso("2024-11-01T03", &t) == -1, "hour without minutes");
    CHECK(date_parse_iso("2024-11-01T03:07:", &t) == -1, "dangling colon");
    CHECK(date_parse_iso("2024-11-01T03:07:00.Z", &t) == -1,
          "empty fraction");
    CHECK(date_parse_iso("November 1, 2024", &t) == -1, "prose refused");
    CHECK(date_parse_iso(NULL, &t) == -1, "NULL refused");
    CHECK(t == 42, "failed parses leave *out alone");
}

int main(void)
{
    test_formats_kyiv();
    test_noon_midnight();
    test_new_york();
    test_locale_independent();
    test_small_buffer();
    test_parse();
    return check_done();
}
