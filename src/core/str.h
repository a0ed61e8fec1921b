/*
 * str.h - small, generic string helpers: strict UTF-8 checking and
 * decoding, URL slugs (with Latin-accent and Cyrillic/Greek
 * transliteration), word counting, trimming and ASCII case folding.
 *
 * Everything here is locale-independent: "letter", "space" and "case" mean
 * the same thing whatever LC_ALL says, so a slug or a word count never
 * changes with the environment the program runs in.
 */
#ifndef CORE_STR_H
#define CORE_STR_H

#include <stddef.h>
#include <stdint.h>

struct arena;

/* 1 if the n bytes at s are well-formed UTF-8 (RFC 3629), else 0.
 * Rejects overlong forms, UTF-16 surrogates (U+D800..U+DFFF), code points
 * above U+10FFFF and truncated sequences. NUL bytes are valid UTF-8. */
int str_utf8_valid(const char *s, size_t n);

/* Decodes one code point from the n bytes at s into *cp. Returns the bytes
 * it used (1..4), or 0 if n is 0 or s does not start with a well-formed
 * sequence (same rules as str_utf8_valid); *cp is then left unset. */
size_t str_utf8_decode(const char *s, size_t n, uint32_t *cp);

/* The n bytes at s with every byte that does not start a well-formed
 * sequence replaced by U+FFFD (as a browser shows broken text), NUL-
 * terminated, in a. s itself when it is already valid. */
const char *str_utf8_repair(struct arena *a, const char *s, size_t n);

/* URL slug of the NUL-terminated text s: lower-case ASCII letters, digits
 * and single '-' between words, never leading or trailing '-'.
 * Latin letters with accents lose them (é -> e, ß -> ss, ø -> o, æ -> ae),
 * Ukrainian and Russian Cyrillic (plus the other common Cyrillic letters)
 * follow the Ukrainian national romanisation of 2010 (Київ -> kyiv,
 * Щастя -> shchastia), Greek is romanised letter by letter; apostrophes
 * (' U+2019 U+02BC) vanish ("don't" -> "dont"), anything else that is not
 * a letter or digit separates words. Invalid UTF-8 bytes separate words.
 * The result holds at most max bytes and is cut at a word boundary when
 * that is possible (a single longer word is cut hard); max 0 means
 * BOUND_SLUG_LEN, and a max below 8 is raised to 8. An empty result
 * becomes "untitled". Allocated in a; never NULL. */
char *str_slugify(struct arena *a, const char *s, size_t max);

/* 1 if s is a slug as str_slugify makes them: 1..BOUND_SLUG_LEN bytes of
 * [a-z0-9-], no leading, trailing or doubled '-'. NULL gives 0. */
int str_slug_valid(const char *s);

/* Number of words in the n bytes at s: runs of characters between spaces
 * (ASCII white space and the Unicode space characters such as U+00A0) that
 * contain at least one letter or digit, so "—" or "&" alone is no word.
 * Every code point outside the punctuation, symbol and emoji blocks counts
 * as a letter; invalid UTF-8 bytes count as punctuation. */
unsigned str_word_count(const char *s, size_t n);

/* Trims ASCII white space at both ends of s in place: writes a NUL after
 * the last non-space byte and returns a pointer to the first one (inside
 * s). NULL gives NULL. */
char *str_trim(char *s);

/* strcmp() that folds ASCII A-Z to a-z (other bytes compare as they are),
 * independent of the locale. Returns <0, 0, >0. */
int str_casecmp(const char *a, const char *b);

/* 1 if s starts with prefix (exact bytes), else 0. */
int str_has_prefix(const char *s, const char *prefix);

#endif
