/*
 * reading.c - reading time; the rule is in reading.h.
 *
 * Computed in exact integer arithmetic: with w words at v words per minute
 * and i image seconds, minutes = ceil((60 w / v + i) / 60)
 *                              = ceil((60 w + i v) / (60 v)).
 */
#include "content/reading.h"

#include <limits.h>
#include <stdint.h>

#define READING_WPM_MAX 1000000 /* faster "readers" are clamped to this */

unsigned long reading_image_seconds(unsigned images)
{
    unsigned long n = images;

    if (n <= 10)
        return 13 * n - n * (n + 1) / 2; /* 12 + 11 + ... + (13 - n) */
    return 75 + 3 * (n - 10);           /* 12 + ... + 3 = 75, then 3 each */
}

unsigned reading_minutes(unsigned words, unsigned images,
                         unsigned words_per_minute)
{
    uint64_t v = words_per_minute ? words_per_minute : READING_WPM_DEFAULT;
    uint64_t num, den, minutes;

    if (v > READING_WPM_MAX)
        v = READING_WPM_MAX; /* keeps image seconds * v below 2^64 */
    num = (uint64_t)words * 60 + (uint64_t)reading_image_seconds(images) * v;
    den = 60 * v;
    minutes = (num + den - 1) / den;
    if (minutes < 1)
        return 1;
    if (minutes > UINT_MAX)
        return UINT_MAX;
    return (unsigned)minutes;
}
