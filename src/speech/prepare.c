/*
 * prepare.c - speech_prepare(): the words a listener should hear, from an
 * article's headline, byline and rendered HTML.
 *
 * Two steps. walk() reads the HTML with libxml2's HTML parser and collects
 * the readable blocks (paragraphs, headings, list items, block quotes) in
 * document order, skipping furniture (figures, captions, related cards,
 * asides, code, heading anchors, footnote links). expand() then rewrites
 * each block for the ear: a small scanner tries the language's rules
 * (abbreviations, dates, numbers, money, units, symbols) at every word
 * start and copies everything else. espeak-ng reads plain digits well, so
 * plain numbers stay digits; what it reads badly (years, "1,200", "3.5%",
 * "$4m", "10:30", "1st", "Oct.") becomes words.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libxml/HTMLparser.h>
#include <libxml/tree.h>

#include "core/buf.h"
#include "core/str.h"
#include "speech/speech.h"

/* ---- small text helpers ---- */

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static int is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* 1 if the byte at s[i] (a lead byte) starts a letter or digit: ASCII
 * alnum, or a Latin, Greek or Cyrillic letter. */
static int word_at(const char *s, size_t n, size_t i)
{
    uint32_t cp;

    if (i >= n)
        return 0;
    if ((unsigned char)s[i] < 0x80)
        return is_alpha(s[i]) || is_digit(s[i]);
    if (!str_utf8_decode(s + i, n - i, &cp))
        return 0;
    return (cp >= 0xC0 && cp <= 0x24F && cp != 0xD7 && cp != 0xF7) ||
           (cp >= 0x370 && cp <= 0x52F) || cp == 0x2BC || cp == 0x2019;
}

/* 1 if s[i] starts a word: nothing before it is part of a word. */
static int word_start(const char *s, size_t i)
{
    size_t j = i;

    if (i == 0)
        return 1;
    /* back up to the lead byte of the previous character */
    do
        j--;
    while (j > 0 && ((unsigned char)s[j] & 0xC0) == 0x80);
    return !word_at(s, i, j);
}

/* 1 if nothing at s[i] continues a word (end, space, punctuation). */
static int word_end(const char *s, size_t n, size_t i)
{
    return !word_at(s, n, i);
}

/* ---- numbers in English words ---- */

static const char *const ones[] = {
    "zero",    "one",     "two",       "three",    "four",
    "five",    "six",     "seven",     "eight",    "nine",
    "ten",     "eleven",  "twelve",    "thirteen", "fourteen",
    "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"};
static const char *const tens[] = {"",       "",      "twenty", "thirty",
                                   "forty",  "fifty", "sixty",  "seventy",
                                   "eighty", "ninety"};

/* 0..99 as words ("twenty-six"). */
static void words_99(struct buf *b, unsigned v)
{
    if (v < 20) {
        buf_adds(b, ones[v]);
        return;
    }
    buf_adds(b, tens[v / 10]);
    if (v % 10)
        buf_printf(b, "-%s", ones[v % 10]);
}

/* 0..999 as words ("two hundred five"). */
static void words_999(struct buf *b, unsigned v)
{
    if (v >= 100) {
        buf_printf(b, "%s hundred", ones[v / 100]);
        if (v % 100 == 0)
            return;
        buf_addc(b, ' ');
    }
    words_99(b, v % 100);
}

/* A cardinal number as words: "one thousand two hundred". */
static void words_num(struct buf *b, uint64_t v)
{
    static const char *const scale[] = {
        "", " thousand", " million", " billion", " trillion", " quadrillion"};
    unsigned part[7];
    int k = 0, first = 1;

    if (v == 0) {
        buf_adds(b, "zero");
        return;
    }
    while (v && k < 7) {
        part[k++] = (unsigned)(v % 1000);
        v /= 1000;
    }
    while (k-- > 0) {
        if (!part[k])
            continue;
        if (!first)
            buf_addc(b, ' ');
        words_999(b, part[k]);
        if (k < 6)
            buf_adds(b, scale[k]);
        first = 0;
    }
}

/* A year: "twenty twenty-six", "two thousand five", "nineteen hundred",
 * "nineteen oh five". */
static void words_year(struct buf *b, unsigned y)
{
    unsigned hi = y / 100, lo = y % 100;

    if (y >= 2000 && y < 2010) {
        words_num(b, y);
        return;
    }
    words_99(b, hi);
    if (lo == 0) {
        buf_adds(b, " hundred");
    } else if (lo < 10) {
        buf_printf(b, " oh %s", ones[lo]);
    } else {
        buf_addc(b, ' ');
        words_99(b, lo);
    }
}

/* An ordinal: "first", "twenty-third", "one hundred twelfth". */
static void words_ordinal(struct buf *b, uint64_t v)
{
    static const struct {
        const char *card, *ord;
    } ends[] = {{"one", "first"},     {"two", "second"},   {"three", "third"},
                {"five", "fifth"},    {"eight", "eighth"}, {"nine", "ninth"},
                {"twelve", "twelfth"}};
    struct buf w;
    size_t len;

    buf_init(&w, 512);
    words_num(&w, v);
    len = w.len;
    for (size_t i = 0; i < sizeof ends / sizeof ends[0]; i++) {
        size_t cl = strlen(ends[i].card);

        if (len >= cl && strcmp(w.data + len - cl, ends[i].card) == 0 &&
            (len == cl || w.data[len - cl - 1] == ' ' ||
             w.data[len - cl - 1] == '-')) {
            buf_add(b, w.data, len - cl);
            buf_adds(b, ends[i].ord);
            buf_release(&w);
            return;
        }
    }
    if (len && w.data[len - 1] == 'y') {
        buf_add(b, w.data, len - 1);
        buf_adds(b, "ieth");
    } else {
        buf_add(b, w.data, len);
        buf_adds(b, "th");
    }
    buf_release(&w);
}

/* A number as scanned: integer part, digits after the point. */
struct num {
    uint64_t v;     /* integer part */
    char frac[24];  /* digits after the decimal point, "" if none */
    int commas;     /* 1 if written with thousands separators */
    size_t ndigits; /* digits in the integer part */
    size_t len;     /* bytes of source consumed */
};

/* Scans "1,200", "3.5", "2026" at s[i]. 0 if s[i] is not a digit or the
 * number is too long to be a quantity (then it is copied as it is). */
static int scan_num(const char *s, size_t n, size_t i, char point, char sep,
                    struct num *m)
{
    size_t j = i, run = 0;

    memset(m, 0, sizeof *m);
    if (i >= n || !is_digit(s[i]))
        return 0;
    while (j < n) {
        if (is_digit(s[j])) {
            if (m->ndigits >= 18)
                return 0;
            m->v = m->v * 10 + (uint64_t)(s[j] - '0');
            m->ndigits++;
            run++;
            j++;
        } else if (sep && s[j] == sep && j + 3 < n + 1 && run >= 1 &&
                   (m->commas ? run == 3 : run <= 3) && j + 3 <= n &&
                   is_digit(s[j + 1]) && is_digit(s[j + 2]) &&
                   is_digit(s[j + 3]) && (j + 4 >= n || !is_digit(s[j + 4]))) {
            m->commas = 1;
            run = 0;
            j++;
        } else {
            break;
        }
    }
    if (j + 1 < n && s[j] == point && is_digit(s[j + 1])) {
        size_t k = 0;

        j++;
        while (j < n && is_digit(s[j])) {
            if (k + 1 >= sizeof m->frac)
                return 0;
            m->frac[k++] = s[j++];
        }
        m->frac[k] = '\0';
    }
    if (j < n && is_digit(s[j]))
        return 0;
    /* "2.0.1", "1,5,7": a version or list, not a number */
    if (j + 1 < n && (s[j] == point || (sep && s[j] == sep)) &&
        is_digit(s[j + 1]))
        return 0;
    m->len = j - i;
    return 1;
}

/* Bytes of a digit run that is not a quantity ("2.0.1", "192.168.0.1",
 * a very long number): digits with dots, commas or colons between them,
 * copied as written. */
static size_t verbatim(const char *s, size_t n, size_t i, struct buf *b)
{
    size_t j = i;

    while (j < n && (is_digit(s[j]) || (strchr(".,:", s[j]) && s[j] &&
                                        j + 1 < n && is_digit(s[j + 1]))))
        j++;
    buf_add(b, s + i, j - i);
    return j - i;
}

/* A scanned number as English words ("three point five"). */
static void words_en(struct buf *b, const struct num *m)
{
    words_num(b, m->v);
    if (m->frac[0]) {
        buf_adds(b, " point");
        for (const char *p = m->frac; *p; p++)
            buf_printf(b, " %s", ones[*p - '0']);
    }
}

/* ---- rule tables ---- */

/* A fixed replacement: "from" (case-sensitive, whole word) to "to". */
struct abbr {
    const char *from; /* as written */
    const char *to;   /* as spoken */
    int ends;         /* 1: keeps a full stop when it ends a sentence */
};

static const struct abbr en_abbr[] = {
    {"e.g.", "for example", 0},
    {"i.e.", "that is", 0},
    {"etc.", "et cetera", 1},
    {"Mr.", "Mister", 0},
    {"Mrs.", "Missus", 0},
    {"Ms.", "Miz", 0},
    {"Dr.", "Doctor", 0},
    {"Prof.", "Professor", 0},
    {"Gen.", "General", 0},
    {"Lt.", "Lieutenant", 0},
    {"Col.", "Colonel", 0},
    {"Capt.", "Captain", 0},
    {"Sgt.", "Sergeant", 0},
    {"Gov.", "Governor", 0},
    {"Sen.", "Senator", 0},
    {"Rep.", "Representative", 0},
    {"Pres.", "President", 0},
    {"Jr.", "Junior", 1},
    {"Sr.", "Senior", 1},
    {"vs.", "versus", 0},
    {"approx.", "approximately", 0},
    {"Inc.", "Incorporated", 1},
    {"Ltd.", "Limited", 1},
    {"Co.", "Company", 1},
    {"Ave.", "Avenue", 1},
    {"Rd.", "Road", 1},
    {"Mt.", "Mount", 0},
    {"UN", "U N", 0},
    {"EU", "E U", 0},
    {"US", "U S", 0},
    {"USA", "U S A", 0},
    {"UK", "U K", 0},
    {"UAE", "U A E", 0},
    {"BBC", "B B C", 0},
    {"FBI", "F B I", 0},
    {"CIA", "C I A", 0},
    {"NHS", "N H S", 0},
    {"GDP", "G D P", 0},
    {"CEO", "C E O", 0},
    {"IMF", "I M F", 0},
    {"MP", "M P", 0},
    {"MPs", "M Ps", 0},
    {"AI", "A I", 0},
    {"&", "and", 0},
};

static const struct abbr uk_abbr[] = {
    {"і т.д.", "тощо", 1},
    {"і т. д.", "тощо", 1},
    {"т.д.", "тощо", 1},
    {"т. д.", "тощо", 1},
    {"т.п.", "тому подібне", 1},
    {"т. п.", "тому подібне", 1},
    {"та ін.", "та інші", 1},
    {"напр.", "наприклад", 0},
    {"див.", "дивись", 0},
    {"ім.", "імені", 0},
    {"вул.", "вулиця", 0},
    {"обл.", "області", 1},
    {"р-н", "район", 0},
    {"&", "і", 0},
    {"ЄС", "Є С", 0},
    {"ООН", "О О Н", 0},
    {"США", "С Ш А", 0},
    {"ЗСУ", "З С У", 0},
};

/* Months: abbreviation (without the dot) and the spoken form. */
static const struct abbr en_month[] = {
    {"Jan", "January", 1}, {"Feb", "February", 1},   {"Mar", "March", 1},
    {"Apr", "April", 1},   {"Jun", "June", 1},       {"Jul", "July", 1},
    {"Aug", "August", 1},  {"Sept", "September", 1}, {"Sep", "September", 1},
    {"Oct", "October", 1}, {"Nov", "November", 1},   {"Dec", "December", 1},
};

/* uk: genitive forms, read after a day number ("31 жовт." -> "31 жовтня") */
static const struct abbr uk_month[] = {
    {"січ.", "січня", 1},   {"лют.", "лютого", 1},  {"бер.", "березня", 1},
    {"квіт.", "квітня", 1}, {"трав.", "травня", 1}, {"черв.", "червня", 1},
    {"лип.", "липня", 1},   {"серп.", "серпня", 1}, {"верес.", "вересня", 1},
    {"вер.", "вересня", 1}, {"жовт.", "жовтня", 1}, {"лист.", "листопада", 1},
    {"груд.", "грудня", 1},
};

/* uk: words after a number, in the four forms a number asks for:
 * 1 (21 ...), 2-4 (22 ...), 5+ (and 11-14), a fraction */
struct uk_unit {
    const char *from; /* as written, after the number */
    const char *form[4];
};

static const struct uk_unit uk_units[] = {
    {"тис.", {"тисяча", "тисячі", "тисяч", "тисячі"}},
    {"млн.", {"мільйон", "мільйони", "мільйонів", "мільйона"}},
    {"млн", {"мільйон", "мільйони", "мільйонів", "мільйона"}},
    {"млрд.", {"мільярд", "мільярди", "мільярдів", "мільярда"}},
    {"млрд", {"мільярд", "мільярди", "мільярдів", "мільярда"}},
    {"трлн", {"трильйон", "трильйони", "трильйонів", "трильйона"}},
    {"грн.", {"гривня", "гривні", "гривень", "гривні"}},
    {"грн", {"гривня", "гривні", "гривень", "гривні"}},
    {"%", {"відсоток", "відсотки", "відсотків", "відсотка"}},
    {"км", {"кілометр", "кілометри", "кілометрів", "кілометра"}},
    {"кг", {"кілограм", "кілограми", "кілограмів", "кілограма"}},
    {"$", {"долар", "долари", "доларів", "долара"}},
    {"дол.", {"долар", "долари", "доларів", "долара"}},
    {"€", {"євро", "євро", "євро", "євро"}},
    {"£", {"фунт", "фунти", "фунтів", "фунта"}},
    {"₴", {"гривня", "гривні", "гривень", "гривні"}},
    {"рр.", {"роки", "роки", "років", "року"}},
    {"р.", {"року", "року", "року", "року"}},
};

/* en: units read after a number: singular, plural */
static const struct {
    const char *from, *one, *many;
} en_units[] = {
    {"km/h", "kilometre per hour", "kilometres per hour"},
    {"mph", "mile per hour", "miles per hour"},
    {"km", "kilometre", "kilometres"},
    {"kg", "kilogram", "kilograms"},
    {"cm", "centimetre", "centimetres"},
    {"mm", "millimetre", "millimetres"},
    {"kW", "kilowatt", "kilowatts"},
    {"MW", "megawatt", "megawatts"},
    {"GW", "gigawatt", "gigawatts"},
    {"sq km", "square kilometre", "square kilometres"},
    {"ha", "hectare", "hectares"},
    {"lb", "pound", "pounds"},
    {"lbs", "pound", "pounds"},
};

/* Currency signs: sign, one, many, cents. */
static const struct {
    const char *sign, *one, *many, *cent;
} en_money[] = {
    {"$", "dollar", "dollars", "cents"},
    {"\xC2\xA3", "pound", "pounds", "pence"},
    {"\xE2\x82\xAC", "euro", "euros", "cents"},
};

/* Scale words after a sum of money: "$4m", "£2bn", "$3 billion". */
static const struct {
    const char *from, *to;
} en_scale[] = {
    {"bn", "billion"},         {"tn", "trillion"},
    {"m", "million"},          {"k", "thousand"},
    {" billion", "billion"},   {" million", "million"},
    {" trillion", "trillion"}, {" thousand", "thousand"},
};

/* 1 if s[i..] starts with w and the word ends there. */
static int has_word(const char *s, size_t n, size_t i, const char *w)
{
    size_t l = strlen(w);

    if (n - i < l || memcmp(s + i, w, l) != 0)
        return 0;
    /* a word ending in a dot or a symbol needs no boundary after it */
    if (!word_at(w, l, 0) || w[l - 1] == '.' || w[l - 1] == '/')
        return 1;
    return word_end(s, n, i + l);
}

/* Bytes of space (ASCII or no-break) at s[i], at most one. */
static size_t one_space(const char *s, size_t n, size_t i)
{
    if (i < n && s[i] == ' ')
        return 1;
    if (i + 1 < n && (unsigned char)s[i] == 0xC2 &&
        (unsigned char)s[i + 1] == 0xA0)
        return 2;
    return 0;
}

/* 1 if what follows s[i] ends the sentence: nothing, or a space and a
 * capital letter. */
static int sentence_ends(const char *s, size_t n, size_t i)
{
    uint32_t cp;

    while (i < n && (s[i] == '"' || s[i] == ')'))
        i++;
    if (i >= n)
        return 1;
    if (s[i] != ' ' || i + 1 >= n)
        return 0;
    if (!str_utf8_decode(s + i + 1, n - i - 1, &cp))
        return 0;
    return (cp >= 'A' && cp <= 'Z') || (cp >= 0x400 && cp <= 0x42F);
}

/* Writes an abbreviation's spoken form; a full stop kept if it ended the
 * sentence. */
static void put_abbr(struct buf *b, const struct abbr *a, const char *s,
                     size_t n, size_t end)
{
    buf_adds(b, a->to);
    if (a->ends && a->from[strlen(a->from) - 1] == '.' &&
        sentence_ends(s, n, end))
        buf_addc(b, '.');
}

/* ---- English rules ---- */

/* Money at s[i]: "$4m", "£2.50", "€1,200". Bytes consumed or 0. */
static size_t en_money_rule(const char *s, size_t n, size_t i, struct buf *b)
{
    for (size_t k = 0; k < sizeof en_money / sizeof en_money[0]; k++) {
        size_t l = strlen(en_money[k].sign), j;
        const char *scale = NULL;
        struct num m;

        if (n - i <= l || memcmp(s + i, en_money[k].sign, l) != 0 ||
            !scan_num(s, n, i + l, '.', ',', &m))
            continue;
        j = i + l + m.len;
        for (size_t q = 0; q < sizeof en_scale / sizeof en_scale[0]; q++)
            if (has_word(s, n, j, en_scale[q].from)) {
                scale = en_scale[q].to;
                j += strlen(en_scale[q].from);
                break;
            }
        if (!scale && strlen(m.frac) == 2) {
            /* "$4.50": four dollars fifty cents */
            unsigned c = (unsigned)((m.frac[0] - '0') * 10 + (m.frac[1] - '0'));

            if (m.v || !c) {
                words_num(b, m.v);
                buf_printf(b, " %s",
                           m.v == 1 ? en_money[k].one : en_money[k].many);
            }
            if (c) {
                if (m.v)
                    buf_addc(b, ' ');
                words_99(b, c);
                if (c == 1 && !strcmp(en_money[k].cent, "cents"))
                    buf_adds(b, " cent");
                else if (c == 1)
                    buf_adds(b, " penny");
                else
                    buf_printf(b, " %s", en_money[k].cent);
            }
            return j - i;
        }
        words_en(b, &m);
        if (scale)
            buf_printf(b, " %s %s", scale, en_money[k].many);
        else
            buf_printf(b, " %s",
                       m.v == 1 && !m.frac[0] ? en_money[k].one
                                              : en_money[k].many);
        return j - i;
    }
    return 0;
}

/* A plain integer, read the way an English speaker reads it in running
 * text: a year as a year, digits otherwise (espeak-ng reads them). */
static void en_plain(struct buf *b, const struct num *m, const char *src)
{
    if (m->commas || m->frac[0]) {
        words_en(b, m);
        return;
    }
    if (m->ndigits == 4 && m->v >= 1100 && m->v <= 2099) {
        words_year(b, (unsigned)m->v);
        return;
    }
    buf_add(b, src, m->len);
}

/* Numbers at s[i]: times, ranges, ordinals, percentages, units, years. */
static size_t en_number_rule(const char *s, size_t n, size_t i, struct buf *b)
{
    static const char *const suf[] = {"st", "nd", "rd", "th"};
    struct num m, m2;
    size_t j;

    if (!scan_num(s, n, i, '.', ',', &m))
        return is_digit(s[i]) ? verbatim(s, n, i, b) : 0;
    j = i + m.len;
    /* the 1990s */
    if (!m.commas && !m.frac[0] && m.ndigits == 4 && m.v >= 1100 &&
        m.v <= 2099 && m.v % 10 == 0 && has_word(s, n, j, "s")) {
        struct buf y;

        buf_init(&y, 256);
        words_year(&y, (unsigned)m.v);
        if (y.len && y.data[y.len - 1] == 'y') {
            buf_add(b, y.data, y.len - 1);
            buf_adds(b, "ies");
        } else {
            buf_add(b, y.data, y.len);
            buf_addc(b, 's');
        }
        buf_release(&y);
        return j + 1 - i;
    }
    /* 10:30 */
    if (!m.commas && !m.frac[0] && m.v <= 24 && j + 2 < n && s[j] == ':' &&
        is_digit(s[j + 1]) && is_digit(s[j + 2]) &&
        (j + 3 >= n || !is_digit(s[j + 3]))) {
        unsigned mm = (unsigned)((s[j + 1] - '0') * 10 + (s[j + 2] - '0'));

        if (mm < 60) {
            words_num(b, m.v);
            if (mm == 0)
                buf_adds(b, m.v <= 12 ? " o'clock" : " hundred");
            else if (mm < 10)
                buf_printf(b, " oh %s", ones[mm]);
            else {
                buf_addc(b, ' ');
                words_99(b, mm);
            }
            return j + 3 - i;
        }
    }
    /* 1st, 22nd, 3rd, 4th */
    for (size_t k = 0; k < 4 && !m.commas && !m.frac[0]; k++)
        if (has_word(s, n, j, suf[k])) {
            words_ordinal(b, m.v);
            return j + 2 - i;
        }
    /* 3.5% */
    if (j < n && s[j] == '%') {
        words_en(b, &m);
        buf_adds(b, " percent");
        return j + 1 - i;
    }
    /* 2019-2021, 2019–2021 (en dash) */
    if (!m.frac[0]) {
        size_t d = 0;

        if (j < n && s[j] == '-')
            d = 1;
        else if (j + 2 < n && memcmp(s + j, "\xE2\x80\x93", 3) == 0)
            d = 3;
        if (d && scan_num(s, n, j + d, '.', ',', &m2) && !m2.frac[0] &&
            word_end(s, n, j + d + m2.len)) {
            en_plain(b, &m, s + i);
            buf_adds(b, " to ");
            en_plain(b, &m2, s + j + d);
            return j + d + m2.len - i;
        }
    }
    /* 5 km, 1 kg */
    {
        size_t sp = one_space(s, n, j);

        for (size_t k = 0; k < sizeof en_units / sizeof en_units[0]; k++)
            if (has_word(s, n, j + sp, en_units[k].from)) {
                if (m.commas || m.frac[0])
                    words_en(b, &m);
                else
                    buf_add(b, s + i, m.len);
                buf_printf(b, " %s",
                           m.v == 1 && !m.frac[0] ? en_units[k].one
                                                  : en_units[k].many);
                return j + sp + strlen(en_units[k].from) - i;
            }
    }
    if (!word_end(s, n, j))
        return 0; /* "4x4", "3D": leave it to the voice */
    en_plain(b, &m, s + i);
    return m.len;
}

/* Months: "Oct." always, "Oct" next to a day number ("31 Oct", "Oct 31"). */
static size_t en_month_rule(const char *s, size_t n, size_t i, struct buf *b)
{
    for (size_t k = 0; k < sizeof en_month / sizeof en_month[0]; k++) {
        size_t l = strlen(en_month[k].from);
        int dot, near;

        if (n - i < l || memcmp(s + i, en_month[k].from, l) != 0)
            continue;
        dot = i + l < n && s[i + l] == '.';
        if (!dot && !word_end(s, n, i + l))
            continue;
        near = (i >= 2 && s[i - 1] == ' ' && is_digit(s[i - 2])) ||
               (i + l + (size_t)dot + 1 < n && s[i + l + (size_t)dot] == ' ' &&
                is_digit(s[i + l + (size_t)dot + 1]));
        if (!dot && !near)
            continue;
        buf_adds(b, en_month[k].to);
        if (dot && sentence_ends(s, n, i + l + 1))
            buf_addc(b, '.');
        return l + (size_t)dot;
    }
    return 0;
}

/* Everything English at s[i]; bytes consumed or 0. */
static size_t en_rules(const char *s, size_t n, size_t i, struct buf *b)
{
    size_t r;

    r = en_money_rule(s, n, i, b);
    if (r)
        return r;
    if (!word_start(s, i))
        return 0;
    r = en_number_rule(s, n, i, b);
    if (r)
        return r;
    r = en_month_rule(s, n, i, b);
    if (r)
        return r;
    /* No. 5 */
    if (has_word(s, n, i, "No.") && one_space(s, n, i + 3) && i + 4 < n &&
        is_digit(s[i + 4])) {
        buf_adds(b, "number");
        return 3;
    }
    /* St. Paul (Saint) / Baker St. (Street) */
    if (has_word(s, n, i, "St.")) {
        uint32_t cp = 0;

        size_t pw = i;

        /* the previous word: "Baker St." is a street */
        if (pw >= 2 && s[pw - 1] == ' ') {
            pw--;
            while (pw > 0 && s[pw - 1] != ' ')
                pw--;
        }
        if (i + 4 < n && s[i + 3] == ' ' &&
            str_utf8_decode(s + i + 4, n - i - 4, &cp) && cp >= 'A' &&
            cp <= 'Z' && (pw == i || !(s[pw] >= 'A' && s[pw] <= 'Z'))) {
            buf_adds(b, "Saint");
            return 3;
        }
        buf_adds(b, "Street");
        if (sentence_ends(s, n, i + 3))
            buf_addc(b, '.');
        return 3;
    }
    for (size_t k = 0; k < sizeof en_abbr / sizeof en_abbr[0]; k++)
        if (has_word(s, n, i, en_abbr[k].from)) {
            size_t l = strlen(en_abbr[k].from);

            put_abbr(b, &en_abbr[k], s, n, i + l);
            return l;
        }
    if (s[i] == '%') {
        buf_adds(b, " percent");
        return 1;
    }
    return 0;
}

/* ---- Ukrainian rules ---- */

/* Which of the four forms a number asks for. */
static int uk_form(const struct num *m)
{
    uint64_t v = m->v;

    if (m->frac[0])
        return 3;
    if (v % 10 == 1 && v % 100 != 11)
        return 0;
    if (v % 10 >= 2 && v % 10 <= 4 && (v % 100 < 12 || v % 100 > 14))
        return 1;
    return 2;
}

/* A unit at s[j] (after an optional space); its index or -1, *len set. */
static int uk_unit_at(const char *s, size_t n, size_t j, size_t *len)
{
    size_t sp = one_space(s, n, j);

    for (size_t k = 0; k < sizeof uk_units / sizeof uk_units[0]; k++) {
        const char *f = uk_units[k].from;
        size_t at = j + sp; /* "15%", "15 %", "5 млн" */

        if (has_word(s, n, at, f)) {
            *len = at - j + strlen(f);
            return (int)k;
        }
    }
    return -1;
}

/* "5 млн грн", "15%", "2024 р.", "31 жовт.", "$5": the number stays as
 * digits; what follows becomes words that agree with it. */
static size_t uk_number_rule(const char *s, size_t n, size_t i, struct buf *b)
{
    size_t j, len, start = i, sign = 0;
    int first = 1, k, money = -1, dot = 0;
    struct num m;

    for (size_t q = 0; q < sizeof uk_units / sizeof uk_units[0]; q++) {
        const char *f = uk_units[q].from;
        size_t l = strlen(f);

        if ((f[0] == '$' || !strcmp(f, "€") || !strcmp(f, "£") ||
             !strcmp(f, "₴")) &&
            n - i > l && memcmp(s + i, f, l) == 0 && is_digit(s[i + l])) {
            money = (int)q;
            sign = l;
            break;
        }
    }
    if (!sign && !word_start(s, i))
        return 0;
    if (!scan_num(s, n, i + sign, ',', 0, &m))
        return !sign && is_digit(s[i]) ? verbatim(s, n, i, b) : 0;
    j = i + sign + m.len;
    if (!word_end(s, n, j) && !(j < n && s[j] == '%'))
        return 0;
    buf_add(b, s + i + sign, m.len);
    /* day and month */
    if (m.v >= 1 && m.v <= 31 && !m.frac[0]) {
        size_t sp = one_space(s, n, j);

        for (size_t q = 0; sp && q < sizeof uk_month / sizeof uk_month[0]; q++)
            if (has_word(s, n, j + sp, uk_month[q].from)) {
                buf_addc(b, ' ');
                put_abbr(b, &uk_month[q], s, n,
                         j + sp + strlen(uk_month[q].from));
                return j + sp + strlen(uk_month[q].from) - start;
            }
    }
    for (;;) {
        const struct uk_unit *u;
        size_t end;

        k = uk_unit_at(s, n, j, &len);
        if (k < 0)
            break;
        u = &uk_units[k];
        /* "р." only after a year */
        if (!strcmp(u->from, "р.") && (m.ndigits != 4 || !first))
            break;
        end = j + len;
        buf_printf(b, " %s", u->form[first ? uk_form(&m) : 2]);
        dot = u->from[strlen(u->from) - 1] == '.' && sentence_ends(s, n, end);
        first = 0;
        j = end;
    }
    if (money >= 0)
        buf_printf(b, " %s", uk_units[money].form[first ? uk_form(&m) : 2]);
    if (dot)
        buf_addc(b, '.');
    return j - start;
}

/* Everything Ukrainian at s[i]; bytes consumed or 0. */
static size_t uk_rules(const char *s, size_t n, size_t i, struct buf *b)
{
    size_t r = uk_number_rule(s, n, i, b);

    if (r)
        return r;
    if (n - i >= 3 && memcmp(s + i, "\xE2\x84\x96", 3) == 0) { /* № */
        buf_adds(b, "номер ");
        return 3 + one_space(s, n, i + 3);
    }
    if (s[i] == '%') {
        buf_adds(b, " відсотків");
        return 1;
    }
    if (!word_start(s, i))
        return 0;
    for (size_t k = 0; k < sizeof uk_abbr / sizeof uk_abbr[0]; k++)
        if (has_word(s, n, i, uk_abbr[k].from)) {
            size_t l = strlen(uk_abbr[k].from);

            put_abbr(b, &uk_abbr[k], s, n, i + l);
            return l;
        }
    return 0;
}

/* ---- rules for every language ---- */

/* Symbols a voice reads badly or not at all. Bytes consumed or 0. */
static size_t generic_rules(const char *s, size_t n, size_t i, struct buf *b)
{
    static const struct {
        const char *from, *to;
    } sym[] = {
        {"\xE2\x80\x94", ", "},   /* em dash: a pause */
        {" \xE2\x80\x93 ", ", "}, /* spaced en dash */
        {" - ", ", "},            /* spaced hyphen */
        {"\xE2\x80\xA6", "."},    /* ellipsis */
        {"\xC2\xA0", " "},        /* no-break space */
        {"\xC2\xAD", ""},         /* soft hyphen */
        {"\xE2\x80\x8B", ""},     /* zero-width space */
        {"\xE2\x80\xA2", ""},     /* bullet */
        {"\xE2\x86\xA9", ""},     /* footnote back arrow */
        {"*", ""},
        {"_", " "},
        {"#", ""},
        {"|", ", "},
    };

    for (size_t k = 0; k < sizeof sym / sizeof sym[0]; k++) {
        size_t l = strlen(sym[k].from);

        if (n - i >= l && memcmp(s + i, sym[k].from, l) == 0) {
            buf_adds(b, sym[k].to);
            return l;
        }
    }
    return 0;
}

/* Rewrites one block of text for the ear in lang. */
static void expand(struct buf *b, const char *lang, const char *s, size_t n)
{
    int en = !strcmp(lang, "en"), uk = !strcmp(lang, "uk");
    size_t i = 0;

    while (i < n) {
        size_t r = 0, k;

        if (en)
            r = en_rules(s, n, i, b);
        else if (uk)
            r = uk_rules(s, n, i, b);
        if (!r)
            r = generic_rules(s, n, i, b);
        if (r) {
            i += r;
            continue;
        }
        /* copy one character, or a whole word we have no rule for */
        k = i + 1;
        if (word_at(s, n, i)) {
            while (k < n &&
                   (word_at(s, n, k) || ((unsigned char)s[k] & 0xC0) == 0x80))
                k++;
            /* digits end the word: "5km" gets its own look */
            if (!is_digit(s[i]))
                for (size_t q = i; q < k; q++)
                    if (is_digit(s[q])) {
                        k = q;
                        break;
                    }
            if (is_digit(s[i]))
                k = i + 1;
        } else {
            while (k < n && ((unsigned char)s[k] & 0xC0) == 0x80)
                k++;
        }
        buf_add(b, s + i, k - i);
        i = k;
    }
}

/* ---- blocks: whitespace, sentence ends ---- */

/* Appends a block: whitespace collapsed, expanded, ending in punctuation
 * so the voice pauses, then a newline. */
static void add_block(struct buf *out, const char *lang, const char *s,
                      size_t n)
{
    struct buf norm, spoken;
    size_t end;
    int space = 0;

    buf_init(&norm, SPEECH_TEXT_MAX);
    buf_init(&spoken, SPEECH_TEXT_MAX);
    for (size_t i = 0; i < n; i++) {
        char c = s[i];

        if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
            c == '\v') {
            space = 1;
            continue;
        }
        if (space && norm.len)
            buf_addc(&norm, ' ');
        space = 0;
        buf_addc(&norm, c);
    }
    if (norm.len)
        expand(&spoken, lang, norm.data, norm.len);
    /* expansion may leave doubled or edge spaces: tidy again */
    buf_reset(&norm);
    space = 0;
    for (size_t i = 0; i < spoken.len; i++) {
        char c = spoken.data[i];

        if (c == ' ') {
            space = 1;
            continue;
        }
        if (space && norm.len && !strchr(",.;:!?", c))
            buf_addc(&norm, ' ');
        space = 0;
        buf_addc(&norm, c);
    }
    while (norm.len && strchr(",;: ", norm.data[norm.len - 1]))
        norm.data[--norm.len] = '\0';
    end = norm.len;
    /* a closing quote or bracket may follow the sentence's end */
    while (end > 0 && strchr("\"')]", norm.data[end - 1]))
        end--;
    while (end >= 3 && ((unsigned char)norm.data[end - 3] == 0xE2 &&
                        (unsigned char)norm.data[end - 2] == 0x80 &&
                        ((unsigned char)norm.data[end - 1] == 0x9D ||
                         (unsigned char)norm.data[end - 1] == 0x99)))
        end -= 3; /* ” ’ */
    while (end >= 2 && (unsigned char)norm.data[end - 2] == 0xC2 &&
           (unsigned char)norm.data[end - 1] == 0xBB)
        end -= 2; /* » */
    if (norm.len) {
        buf_add(out, norm.data, norm.len);
        if (end == 0 || !strchr(".!?", norm.data[end - 1]))
            buf_addc(out, '.');
        buf_addc(out, '\n');
    }
    buf_release(&norm);
    buf_release(&spoken);
}

/* ---- the HTML walk ---- */

struct walk {
    struct buf *out;  /* the prepared text */
    struct buf block; /* text of the block being read */
    const char *lang; /* rules to expand with */
};

static void flush(struct walk *w)
{
    if (w->block.len)
        add_block(w->out, w->lang, w->block.data, w->block.len);
    buf_reset(&w->block);
}

/* 1 if the class attribute holds one of the words in list. */
static int has_class(xmlNode *n, const char *const *list)
{
    xmlChar *c = xmlGetProp(n, (const xmlChar *)"class");
    int hit = 0;

    if (!c)
        return 0;
    for (const char *const *l = list; *l && !hit; l++) {
        const char *p = (const char *)c;
        size_t len = strlen(*l);

        while ((p = strstr(p, *l)) != NULL) {
            if ((p == (const char *)c || p[-1] == ' ') &&
                (p[len] == '\0' || p[len] == ' ')) {
                hit = 1;
                break;
            }
            p += len;
        }
    }
    xmlFree(c);
    return hit;
}

/* 1 if an element is furniture, not part of the story. */
static int skipped(xmlNode *n, int in_heading)
{
    static const char *const tags[] = {
        "figure", "figcaption", "img",      "picture", "video",  "audio",
        "iframe", "aside",      "nav",      "script",  "style",  "code",
        "pre",    "noscript",   "svg",      "button",  "form",   "template",
        "object", "embed",      "canvas",   "caption", "table",  "math",
        "input",  "select",     "textarea", "head",    "footer", NULL};
    static const char *const classes[] = {"related",
                                          "related-card",
                                          "caption",
                                          "credit",
                                          "anchor",
                                          "footnote-backref",
                                          "footnote-ref",
                                          "sr-only",
                                          "visually-hidden",
                                          "share",
                                          NULL};
    const char *name = (const char *)n->name;
    xmlChar *v;
    int hit = 0;

    for (const char *const *t = tags; *t; t++)
        if (!strcmp(name, *t))
            return 1;
    if (has_class(n, classes))
        return 1;
    v = xmlGetProp(n, (const xmlChar *)"aria-hidden");
    hit = v && !strcmp((const char *)v, "true");
    xmlFree(v);
    if (hit)
        return 1;
    if (xmlHasProp(n, (const xmlChar *)"data-footnote-backref") ||
        xmlHasProp(n, (const xmlChar *)"data-footnote-ref"))
        return 1;
    if (!strcmp(name, "a")) {
        v = xmlGetProp(n, (const xmlChar *)"href");
        /* a heading's own "#" link */
        hit = v && v[0] == '#' && in_heading;
        xmlFree(v);
        if (hit)
            return 1;
    }
    return 0;
}

/* 1 for elements that start and end a block of speech. */
static int is_block(const char *name)
{
    static const char *const tags[] = {
        "p",          "h1",  "h2",      "h3",      "h4",   "h5", "h6", "li",
        "blockquote", "div", "section", "article", "main", "ul", "ol", "dl",
        "dt",         "dd",  "header",  "hr",      "body", NULL};

    for (const char *const *t = tags; *t; t++)
        if (!strcmp(name, *t))
            return 1;
    return 0;
}

static void walk(struct walk *w, xmlNode *n, int in_heading)
{
    for (; n; n = n->next) {
        if (n->type == XML_TEXT_NODE || n->type == XML_CDATA_SECTION_NODE) {
            if (n->content)
                buf_adds(&w->block, (const char *)n->content);
            continue;
        }
        if (n->type != XML_ELEMENT_NODE || !n->name)
            continue;
        if (skipped(n, in_heading)) {
            buf_addc(&w->block, ' ');
            continue;
        }
        if (!strcmp((const char *)n->name, "br")) {
            buf_addc(&w->block, ' ');
            continue;
        }
        if (is_block((const char *)n->name)) {
            int h = n->name[0] == 'h' && n->name[1] >= '1' &&
                    n->name[1] <= '6' && !n->name[2];

            flush(w);
            walk(w, n->children, in_heading || h);
            flush(w);
        } else {
            walk(w, n->children, in_heading);
        }
    }
}

/* ---- public ---- */

/* The byline as read: "By A and B." (en and others), "Автор: A." (uk). */
static void add_byline(struct buf *out, const char *lang, const char *by)
{
    struct buf t;

    buf_init(&t, SPEECH_TEXT_MAX);
    if (!strcmp(lang, "uk")) {
        int many = strstr(by, " і ") || strstr(by, " та ") || strchr(by, ',');

        if (!str_has_prefix(by, "Автор"))
            buf_adds(&t, many ? "Автори: " : "Автор: ");
    } else if (strncasecmp(by, "by ", 3) == 0) {
        /* already "By ..." */
    } else {
        buf_adds(&t, "By ");
    }
    buf_adds(&t, by);
    add_block(out, lang, t.data, t.len);
    buf_release(&t);
}

int speech_prepare(const char *lang, const char *title, const char *byline,
                   const char *html, char **out, char *err, size_t errlen)
{
    struct walk w;
    struct buf text;
    htmlDocPtr doc = NULL;
    const char *l = lang && *lang ? lang : "en";
    char sub[9];
    size_t k = 0;
    int rc = -1;

    *out = NULL;
    /* "en-GB" -> "en" */
    while (l[k] && l[k] != '-' && l[k] != '_' && k + 1 < sizeof sub) {
        sub[k] = (char)(l[k] >= 'A' && l[k] <= 'Z' ? l[k] + 32 : l[k]);
        k++;
    }
    sub[k] = '\0';
    if ((title && !str_utf8_valid(title, strlen(title))) ||
        (byline && !str_utf8_valid(byline, strlen(byline))) ||
        (html && !str_utf8_valid(html, strlen(html)))) {
        snprintf(err, errlen, "cannot read the article: not valid UTF-8");
        return -1;
    }
    if (html && strlen(html) > SPEECH_HTML_MAX) {
        snprintf(err, errlen, "cannot read the article: HTML over %d bytes",
                 SPEECH_HTML_MAX);
        return -1;
    }
    buf_init(&text, SPEECH_TEXT_MAX);
    memset(&w, 0, sizeof w);
    w.out = &text;
    w.lang = sub;
    buf_init(&w.block, SPEECH_TEXT_MAX);
    if (title && *title)
        add_block(&text, sub, title, strlen(title));
    if (byline && *byline)
        add_byline(&text, sub, byline);
    if (html && *html) {
        doc = htmlReadMemory(html, (int)strlen(html), NULL, "UTF-8",
                             HTML_PARSE_NOERROR | HTML_PARSE_NOWARNING |
                                 HTML_PARSE_NONET);
        if (!doc) {
            snprintf(err, errlen, "cannot parse the article's HTML");
            goto out;
        }
        walk(&w, xmlDocGetRootElement(doc), 0);
        flush(&w);
    }
    if (text.overflow || w.block.overflow) {
        snprintf(err, errlen, "cannot prepare the article: over %d bytes",
                 SPEECH_TEXT_MAX);
        goto out;
    }
    /* no trailing newline */
    if (text.len && text.data[text.len - 1] == '\n')
        text.data[--text.len] = '\0';
    *out = buf_steal(&text, NULL);
    rc = 0;
out:
    if (doc)
        xmlFreeDoc(doc);
    buf_release(&w.block);
    buf_release(&text);
    return rc;
}
