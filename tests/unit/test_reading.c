/*
 * test_reading.c - the "N min read" rule: words at a reading speed, plus
 * 12 s for the first image down to 3 s from the tenth on, rounded up.
 */
#include <limits.h>

#include "check.h"
#include "content/reading.h"

int main(void)
{
    CHECK(reading_minutes(0, 0, 230) == 1, "empty article: at least 1 min");
    CHECK(reading_minutes(1, 0, 230) == 1, "one word: 1 min");
    CHECK(reading_minutes(230, 0, 230) == 1, "230 words at 230 wpm: 1 min");
    CHECK(reading_minutes(231, 0, 230) == 2, "231 words: rounds up to 2");
    CHECK(reading_minutes(1200, 0, 230) == 6,
          "1,200 words at 230 wpm: 5.2 -> 6 min");
    CHECK(reading_minutes(1200, 0, 0) == 6, "wpm 0 means the default 230");
    CHECK(reading_minutes(460, 0, 0) == 2, "460 words at default: 2 min");
    CHECK(reading_minutes(1000, 0, 200) == 5, "1,000 words at 200: 5 min");

    CHECK(reading_image_seconds(0) == 0, "no images add nothing");
    CHECK(reading_image_seconds(1) == 12, "first image: 12 s");
    CHECK(reading_image_seconds(2) == 23, "second image: +11 s");
    CHECK(reading_image_seconds(9) == 72, "ninth image: 12+...+4 = 72 s");
    CHECK(reading_image_seconds(10) == 75, "tenth image: +3 s = 75 s");
    CHECK(reading_image_seconds(11) == 78, "later images: 3 s each");
    CHECK(reading_image_seconds(20) == 105, "20 images: 105 s");

    CHECK(reading_minutes(230, 1, 230) == 2,
          "one minute of words plus one image: 2 min");
    CHECK(reading_minutes(0, 5, 230) == 1, "5 images alone: 50 s -> 1 min");
    CHECK(reading_minutes(0, 6, 230) == 1,
          "6 images alone: 12+11+10+9+8+7 = 57 s -> 1 min");
    CHECK(reading_minutes(0, 7, 230) == 2, "7 images alone: 63 s -> 2 min");
    CHECK(reading_minutes(0, 10, 230) == 2, "10 images: 75 s -> 2 min");
    CHECK(reading_minutes(115, 4, 230) == 2,
          "30 s of words + 42 s of images = 72 s -> 2 min");
    CHECK(reading_minutes(92, 2, 230) == 1,
          "24 s of words + 23 s of images = 47 s -> 1 min");
    CHECK(reading_minutes(UINT_MAX, UINT_MAX, UINT_MAX) >= 1,
          "huge inputs do not overflow");
    CHECK(reading_minutes(UINT_MAX, 0, 1) == UINT_MAX,
          "saturates at UINT_MAX minutes");
    return check_done();
}
