/*
 * str.c - string helpers; see str.h.
 *
 * The slug transliteration is one sorted table of code-point ranges, looked
 * up by binary search after upper case has been folded to lower case. The
 * Cyrillic rows follow the Ukrainian national romanisation (Cabinet of
 * Ministers resolution 55 of 2010): є ї й ю я are written ye yi y yu ya at
 * the start of a word and ie i i iu ia elsewhere, and "зг" becomes "zgh" so
 * it is not read as "ж". Russian-only letters use the common values
 * (ы -> y, э -> e, ё -> e, ъ -> nothing).
 */
#include "core/str.h"

#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/bounds.h"

#define SLUG_MIN 8 /* strlen("untitled") */

size_t str_utf8_decode(const char *s, size_t n, uint32_t *cp)
{
    const unsigned char *u = (const unsigned char *)s;
    unsigned char lo = 0x80, hi = 0xBF;
    size_t len, i;
    uint32_t c;

    if (n == 0)
        return 0;
    if (u[0] < 0x80) {
        *cp = u[0];
        return 1;
    }
    if (u[0] >= 0xC2 && u[0] <= 0xDF) {
        len = 2;
        c = u[0] & 0x1F;
    } else if (u[0] >= 0xE0 && u[0] <= 0xEF) {
        len = 3;
        c = u[0] & 0x0F;
        if (u[0] == 0xE0)
            lo = 0xA0; /* overlong */
        else if (u[0] == 0xED)
            hi = 0x9F; /* surrogates */
    } else if (u[0] >= 0xF0 && u[0] <= 0xF4) {
        len = 4;
        c = u[0] & 0x07;
        if (u[0] == 0xF0)
            lo = 0x90; /* overlong */
        else if (u[0] == 0xF4)
            hi = 0x8F; /* above U+10FFFF */
    } else {
        return 0; /* continuation byte, C0/C1 overlong lead, F5..FF */
    }
    if (n < len)
        return 0;
    for (i = 1; i < len; i++) {
        unsigned char lim_lo = i == 1 ? lo : 0x80;
        unsigned char lim_hi = i == 1 ? hi : 0xBF;
        if (u[i] < lim_lo || u[i] > lim_hi)
            return 0;
        c = (c << 6) | (u[i] & 0x3F);
    }
    *cp = c;
    return len;
}

int str_utf8_valid(const char *s, size_t n)
{
    size_t i = 0;
    uint32_t cp;

    while (i < n) {
        size_t k = str_utf8_decode(s + i, n - i, &cp);
        if (k == 0)
            return 0;
        i += k;
    }
    return 1;
}

const char *str_utf8_repair(struct arena *a, const char *s, size_t n)
{
    size_t i = 0, j = 0;
    uint32_t cp;

    if (str_utf8_valid(s, n))
        return s;
    char *d = arena_alloc(a, 3 * n + 1); /* each bad byte grows to 3 */
    while (i < n) {
        size_t k = str_utf8_decode(s + i, n - i, &cp);
        if (k == 0) {
            memcpy(d + j, "\xEF\xBF\xBD", 3);
            j += 3;
            i++;
            continue;
        }
        memcpy(d + j, s + i, k);
        i += k;
        j += k;
    }
    d[j] = '\0';
    return d;
}

/* ---- slugs ---- */

struct translit {
    uint32_t first;    /* first code point of the range (lower case) */
    uint32_t last;     /* last code point, inclusive */
    const char *ascii; /* replacement: lower-case ASCII, may be "" */
};

/* Sorted by first; ranges do not overlap. */
static const struct translit translit[] = {
    /* Latin-1 Supplement */
    {0x00C0, 0x00C5, "a"},
    {0x00C6, 0x00C6, "ae"},
    {0x00C7, 0x00C7, "c"},
    {0x00C8, 0x00CB, "e"},
    {0x00CC, 0x00CF, "i"},
    {0x00D0, 0x00D0, "d"},
    {0x00D1, 0x00D1, "n"},
    {0x00D2, 0x00D6, "o"},
    {0x00D8, 0x00D8, "o"},
    {0x00D9, 0x00DC, "u"},
    {0x00DD, 0x00DD, "y"},
    {0x00DE, 0x00DE, "th"},
    {0x00DF, 0x00DF, "ss"},
    {0x00E0, 0x00E5, "a"},
    {0x00E6, 0x00E6, "ae"},
    {0x00E7, 0x00E7, "c"},
    {0x00E8, 0x00EB, "e"},
    {0x00EC, 0x00EF, "i"},
    {0x00F0, 0x00F0, "d"},
    {0x00F1, 0x00F1, "n"},
    {0x00F2, 0x00F6, "o"},
    {0x00F8, 0x00F8, "o"},
    {0x00F9, 0x00FC, "u"},
    {0x00FD, 0x00FD, "y"},
    {0x00FE, 0x00FE, "th"},
    {0x00FF, 0x00FF, "y"},
    /* Latin Extended-A: upper and lower case alternate */
    {0x0100, 0x0105, "a"},
    {0x0106, 0x010D, "c"},
    {0x010E, 0x0111, "d"},
    {0x0112, 0x011B, "e"},
    {0x011C, 0x0123, "g"},
    {0x0124, 0x0127, "h"},
    {0x0128, 0x0131, "i"},
    {0x0132, 0x0133, "ij"},
    {0x0134, 0x0135, "j"},
    {0x0136, 0x0138, "k"},
    {0x0139, 0x0142, "l"},
    {0x0143, 0x014B, "n"},
    {0x014C, 0x0151, "o"},
    {0x0152, 0x0153, "oe"},
    {0x0154, 0x0159, "r"},
    {0x015A, 0x0161, "s"},
    {0x0162, 0x0167, "t"},
    {0x0168, 0x0173, "u"},
    {0x0174, 0x0175, "w"},
    {0x0176, 0x0178, "y"},
    {0x0179, 0x017E, "z"},
    {0x017F, 0x017F, "s"},
    /* Latin Extended-B: the letters of pinyin, Vietnamese, Romanian */
    {0x0180, 0x0180, "b"},
    {0x0192, 0x0192, "f"},
    {0x01A0, 0x01A1, "o"},
    {0x01AF, 0x01B0, "u"},
    {0x01CD, 0x01CE, "a"},
    {0x01CF, 0x01D0, "i"},
    {0x01D1, 0x01D2, "o"},
    {0x01D3, 0x01DC, "u"},
    {0x0218, 0x0219, "s"},
    {0x021A, 0x021B, "t"},
    /* Greek (lower case, with tonos and dialytika) */
    {0x0390, 0x0390, "i"},
    {0x03AC, 0x03AC, "a"},
    {0x03AD, 0x03AD, "e"},
    {0x03AE, 0x03AF, "i"},
    {0x03B0, 0x03B0, "y"},
    {0x03B1, 0x03B1, "a"},
    {0x03B2, 0x03B2, "v"},
    {0x03B3, 0x03B3, "g"},
    {0x03B4, 0x03B4, "d"},
    {0x03B5, 0x03B5, "e"},
    {0x03B6, 0x03B6, "z"},
    {0x03B7, 0x03B7, "i"},
    {0x03B8, 0x03B8, "th"},
    {0x03B9, 0x03B9, "i"},
    {0x03BA, 0x03BA, "k"},
    {0x03BB, 0x03BB, "l"},
    {0x03BC, 0x03BC, "m"},
    {0x03BD, 0x03BD, "n"},
    {0x03BE, 0x03BE, "x"},
    {0x03BF, 0x03BF, "o"},
    {0x03C0, 0x03C0, "p"},
    {0x03C1, 0x03C1, "r"},
    {0x03C2, 0x03C3, "s"},
    {0x03C4, 0x03C4, "t"},
    {0x03C5, 0x03C5, "y"},
    {0x03C6, 0x03C6, "f"},
    {0x03C7, 0x03C7, "ch"},
    {0x03C8, 0x03C8, "ps"},
    {0x03C9, 0x03C9, "o"},
    {0x03CA, 0x03CA, "i"},
    {0x03CB, 0x03CB, "y"},
    {0x03CC, 0x03CC, "o"},
    {0x03CD, 0x03CD, "y"},
    {0x03CE, 0x03CE, "o"},
    /* Cyrillic (lower case) */
    {0x0430, 0x0430, "a"},
    {0x0431, 0x0431, "b"},
    {0x0432, 0x0432, "v"},
    {0x0433, 0x0433, "h"},
    {0x0434, 0x0434, "d"},
    {0x0435, 0x0435, "e"},
    {0x0436, 0x0436, "zh"},
    {0x0437, 0x0437, "z"},
    {0x0438, 0x0438, "y"},
    {0x0439, 0x0439, "i"},
    {0x043A, 0x043A, "k"},
    {0x043B, 0x043B, "l"},
    {0x043C, 0x043C, "m"},
    {0x043D, 0x043D, "n"},
    {0x043E, 0x043E, "o"},
    {0x043F, 0x043F, "p"},
    {0x0440, 0x0440, "r"},
    {0x0441, 0x0441, "s"},
    {0x0442, 0x0442, "t"},
    {0x0443, 0x0443, "u"},
    {0x0444, 0x0444, "f"},
    {0x0445, 0x0445, "kh"},
    {0x0446, 0x0446, "ts"},
    {0x0447, 0x0447, "ch"},
    {0x0448, 0x0448, "sh"},
    {0x0449, 0x0449, "shch"},
    {0x044A, 0x044A, ""},
    {0x044B, 0x044B, "y"},
    {0x044C, 0x044C, ""},
    {0x044D, 0x044D, "e"},
    {0x044E, 0x044E, "iu"},
    {0x044F, 0x044F, "ia"},
    {0x0450, 0x0451, "e"},
    {0x0452, 0x0452, "dj"},
    {0x0453, 0x0453, "g"},
    {0x0454, 0x0454, "ie"},
    {0x0455, 0x0455, "dz"},
    {0x0456, 0x0457, "i"},
    {0x0458, 0x0458, "j"},
    {0x0459, 0x0459, "lj"},
    {0x045A, 0x045A, "nj"},
    {0x045B, 0x045B, "c"},
    {0x045C, 0x045C, "k"},
    {0x045D, 0x045D, "i"},
    {0x045E, 0x045E, "u"},
    {0x045F, 0x045F, "dz"},
    {0x0491, 0x0491, "g"},
};

/* Ukrainian letters spelt differently at the start of a word. */
static const struct translit translit_initial[] = {
    {0x0439, 0x0439, "y"},  /* й */
    {0x044E, 0x044E, "yu"}, /* ю */
    {0x044F, 0x044F, "ya"}, /* я */
    {0x0454, 0x0454, "ye"}, /* є */
    {0x0457, 0x0457, "yi"}, /* ї */
};

static uint32_t fold_case(uint32_t c)
{
    if (c >= 'A' && c <= 'Z')
        return c + 0x20;
    if (c >= 0x0391 && c <= 0x03AB) /* Greek capitals */
        return c + 0x20;
    if (c == 0x0386)
        return 0x03AC;
    if (c >= 0x0388 && c <= 0x038A)
        return c + 0x25;
    if (c == 0x038C)
        return 0x03CC;
    if (c == 0x038E || c == 0x038F)
        return c + 0x3F;
    if (c >= 0x0400 && c <= 0x040F) /* Ѐ..Џ */
        return c + 0x50;
    if (c >= 0x0410 && c <= 0x042F) /* А..Я */
        return c + 0x20;
    if (c == 0x0490) /* Ґ */
        return 0x0491;
    return c;
}

static const char *lookup(const struct translit *t, size_t n, uint32_t c)
{
    size_t lo = 0, hi = n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (c < t[mid].first)
            hi = mid;
        else if (c > t[mid].last)
            lo = mid + 1;
        else
            return t[mid].ascii;
    }
    return NULL;
}

static int is_apostrophe(uint32_t c)
{
    return c == '\'' || c == 0x2019 || c == 0x02BC;
}

static int is_combining(uint32_t c)
{
    return c >= 0x0300 && c <= 0x036F;
}

/* Replacement for the non-ASCII, lower-case code point c, or NULL when c
 * separates words. prev is the previous letter of the word (0 at a word
 * start), in_word whether c continues a word. */
static const char *slug_piece(uint32_t c, uint32_t prev, int in_word)
{
    const char *r;

    if (c == 0x0433 && prev == 0x0437) /* зг -> zgh */
        return "gh";
    if (!in_word) {
        r = lookup(translit_initial,
                   sizeof(translit_initial) / sizeof(translit_initial[0]), c);
        if (r)
            return r;
    }
    return lookup(translit, sizeof(translit) / sizeof(translit[0]), c);
}

char *str_slugify(struct arena *a, const char *s, size_t max)
{
    size_t n = s ? strlen(s) : 0, i = 0, len = 0;
    int in_word = 0, pending_sep = 0;
    uint32_t prev = 0;
    char *out;

    if (max == 0)
        max = BOUND_SLUG_LEN;
    if (max < SLUG_MIN)
        max = SLUG_MIN;
    out = arena_alloc(a, max + 8); /* room for a '-' and one "shch" */

    while (i < n && len <= max) {
        uint32_t c;
        char one[2];
        const char *piece;
        size_t k = str_utf8_decode(s + i, n - i, &c);

        if (k == 0) { /* invalid byte: a separator */
            i++;
            in_word = 0;
            pending_sep = 1;
            prev = 0;
            continue;
        }
        i += k;
        c = fold_case(c);
        if (is_apostrophe(c) || is_combining(c))
            continue; /* "don't" -> "dont", e + U+0301 -> e */
        if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
            one[0] = (char)c;
            one[1] = '\0';
            piece = one;
        } else {
            piece = c < 0x80 ? NULL : slug_piece(c, prev, in_word);
        }
        if (!piece) {
            in_word = 0;
            pending_sep = 1;
            prev = 0;
            continue;
        }
        if (*piece && pending_sep && len > 0)
            out[len++] = '-';
        if (*piece)
            pending_sep = 0;
        while (*piece)
            out[len++] = *piece++;
        in_word = 1;
        prev = c;
    }

    if (len > max) { /* cut at the last word boundary within max */
        size_t cut = max;
        if (out[max] != '-') {
            size_t p = max;
            while (p > 0 && out[p - 1] != '-')
                p--;
            if (p > 1)
                cut = p - 1;
        }
        len = cut;
        while (len > 0 && out[len - 1] == '-')
            len--;
    }
    if (len == 0) {
        memcpy(out, "untitled", SLUG_MIN + 1);
        return out;
    }
    out[len] = '\0';
    return out;
}

int str_slug_valid(const char *s)
{
    size_t i;

    if (!s || !*s || *s == '-')
        return 0;
    for (i = 0; s[i]; i++) {
        char c = s[i];
        if (i >= BOUND_SLUG_LEN)
            return 0;
        if (c == '-') {
            if (s[i + 1] == '-' || s[i + 1] == '\0')
                return 0;
        } else if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) {
            return 0;
        }
    }
    return 1;
}

/* ---- words ---- */

static int is_space_cp(uint32_t c)
{
    return c == ' ' || (c >= '\t' && c <= '\r') || c == 0x00A0 || c == 0x1680 ||
           (c >= 0x2000 && c <= 0x200B) || c == 0x2028 || c == 0x2029 ||
           c == 0x202F || c == 0x205F || c == 0x3000 || c == 0xFEFF;
}

/* Letters and digits of any script; what is left out are the blocks of
 * punctuation, symbols, marks, private use and emoji. */
static int is_wordy_cp(uint32_t c)
{
    if (c < 0x80)
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
               (c >= '0' && c <= '9');
    if (c < 0xC0) /* Latin-1 punctuation and symbols */
        return c == 0xAA || c == 0xB5 || c == 0xBA || c == 0xB2 || c == 0xB3 ||
               c == 0xB9 || (c >= 0xBC && c <= 0xBE);
    if (c == 0xD7 || c == 0xF7) /* multiplication and division signs */
        return 0;
    if (c >= 0x0300 && c <= 0x036F) /* combining marks */
        return 0;
    if (c >= 0x2000 && c <= 0x2BFF) /* punctuation .. arrows, shapes */
        return 0;
    if (c >= 0x2E00 && c <= 0x2E7F) /* supplemental punctuation */
        return 0;
    if (c >= 0x3000 && c <= 0x303F) /* CJK punctuation */
        return 0;
    if (c >= 0xE000 && c <= 0xF8FF) /* private use */
        return 0;
    if (c >= 0xFE00 && c <= 0xFE0F) /* variation selectors */
        return 0;
    if (c >= 0xFE30 && c <= 0xFE6F) /* CJK compatibility, small forms */
        return 0;
    if (c >= 0xFF00 && c <= 0xFF0F) /* full-width punctuation */
        return 0;
    if (c >= 0x1F000 && c <= 0x1FAFF) /* emoji and pictographs */
        return 0;
    return 1;
}

unsigned str_word_count(const char *s, size_t n)
{
    unsigned words = 0;
    int has_wordy = 0;
    size_t i = 0;

    while (i < n) {
        uint32_t c;
        size_t k = str_utf8_decode(s + i, n - i, &c);

        if (k == 0) {
            i++;
            continue; /* an invalid byte is punctuation */
        }
        i += k;
        if (is_space_cp(c)) {
            if (has_wordy)
                words++;
            has_wordy = 0;
        } else if (is_wordy_cp(c)) {
            has_wordy = 1;
        }
    }
    return has_wordy ? words + 1 : words;
}

/* ---- small things ---- */

static int is_ascii_space(char c)
{
    return c == ' ' || (c >= '\t' && c <= '\r');
}

char *str_trim(char *s)
{
    size_t n;

    if (!s)
        return NULL;
    while (is_ascii_space(*s))
        s++;
    n = strlen(s);
    while (n > 0 && is_ascii_space(s[n - 1]))
        n--;
    s[n] = '\0';
    return s;
}

static int fold_ascii(unsigned char c)
{
    return c >= 'A' && c <= 'Z' ? c + 0x20 : c;
}

int str_casecmp(const char *a, const char *b)
{
    const unsigned char *x = (const unsigned char *)a;
    const unsigned char *y = (const unsigned char *)b;

    while (*x && fold_ascii(*x) == fold_ascii(*y)) {
        x++;
        y++;
    }
    return fold_ascii(*x) - fold_ascii(*y);
}

int str_has_prefix(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}
