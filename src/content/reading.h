/*
 * reading.h - the "N min read" figure shown under a headline.
 *
 * The rule (docs/markdown.md repeats it for the newsroom):
 *   seconds = words * 60 / words_per_minute
 *           + 12 s for the first image, 11 s for the second, ... 3 s for
 *             the tenth and 3 s for every image after it
 *   minutes = seconds / 60 rounded up, and never less than 1.
 * The image allowance is the one Medium published: a reader stops at each
 * picture, a little less at each new one.
 */
#ifndef CONTENT_READING_H
#define CONTENT_READING_H

#define READING_WPM_DEFAULT 230 /* words per minute when none is set */

/* Minutes to read words of text and images pictures at words_per_minute
 * (0 means READING_WPM_DEFAULT; above 1,000,000 counts as 1,000,000).
 * Always at least 1; saturates at UINT_MAX rather than overflowing.
 * Pure function, no errors. */
unsigned reading_minutes(unsigned words, unsigned images,
                         unsigned words_per_minute);

/* The image part of the rule alone: seconds added by images pictures. */
unsigned long reading_image_seconds(unsigned images);

#endif
