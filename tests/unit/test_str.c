/*
 * test_str.c - UTF-8 checks, slugs, word counts and the small helpers of
 * core/str.
 */
#include <string.h>

#include "check.h"
#include "core/arena.h"
#include "core/bounds.h"
#include "core/str.h"

static void test_utf8(void)
{
    uint32_t cp = 0;

    CHECK(str_utf8_valid("", 0), "empty string is valid UTF-8");
    CHECK(str_utf8_valid("plain ascii", 11), "ASCII is valid UTF-8");
    CHECK(str_utf8_valid("Київ — café 🎉", strlen("Київ — café 🎉")),
          "Cyrillic, dash, accent and emoji are valid");
    CHECK(!str_utf8_valid("\xC0\xAF", 2), "overlong '/' (C0 AF) rejected");
    CHECK(!str_utf8_valid("\xE0\x80\xAF", 3), "overlong 3-byte rejected");
    CHECK(!str_utf8_valid("\xF0\x80\x80\xAF", 4), "overlong 4-byte rejected");
    CHECK(!str_utf8_valid("\xED\xA0\x80", 3), "surrogate U+D800 rejected");
    CHECK(!str_utf8_valid("\xED\xBF\xBF", 3), "surrogate U+DFFF rejected");
    CHECK(str_utf8_valid("\xED\x9F\xBF", 3), "U+D7FF accepted");
    CHECK(!str_utf8_valid("\xF4\x90\x80\x80", 4), "U+110000 rejected");
    CHECK(str_utf8_valid("\xF4\x8F\xBF\xBF", 4), "U+10FFFF accepted");
    CHECK(!str_utf8_valid("\xF5\x80\x80\x80", 4), "F5 lead byte rejected");
    CHECK(!str_utf8_valid("abc\x80", 4), "stray continuation rejected");
    CHECK(!str_utf8_valid("\xD0", 1), "truncated sequence rejected");
    CHECK(!str_utf8_valid("\xE2\x82", 2), "truncated 3-byte rejected");
    CHECK(!str_utf8_valid("\xFF", 1), "FF rejected");
    CHECK(str_utf8_valid("a\0b", 3), "NUL is valid UTF-8");

    CHECK(str_utf8_decode("\xD0\x9A", 2, &cp) == 2 && cp == 0x041A,
          "decodes К as U+041A in 2 bytes");
    CHECK(str_utf8_decode("\xF0\x9F\x8E\x89", 4, &cp) == 4 && cp == 0x1F389,
          "decodes an emoji in 4 bytes");
    CHECK(str_utf8_decode("\xD0\x9A", 1, &cp) == 0,
          "decode refuses a sequence cut by n");
}

static void test_utf8_repair(struct arena *a)
{
    const char *ok = "Київ";

    CHECK(str_utf8_repair(a, ok, strlen(ok)) == ok, "valid text is kept");
    CHECK_STR(str_utf8_repair(a,
                              "a\xFF"
                              "b",
                              3),
              "a\xEF\xBF\xBD"
              "b",
              "a bad byte becomes U+FFFD");
    CHECK_STR(str_utf8_repair(a, "\xED\xA0\x80", 3),
              "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD",
              "each byte of a surrogate becomes U+FFFD");
    CHECK_STR(str_utf8_repair(a, "caf\xC3", 4), "caf\xEF\xBF\xBD",
              "a cut sequence at the end is replaced");
    const char *r = str_utf8_repair(a, "\xC3\x28\xD0\x9A", 4);
    CHECK(str_utf8_valid(r, strlen(r)) && strstr(r, "\xD0\x9A"),
          "repaired text is valid and keeps what was good");
}

static void test_slugify(struct arena *a)
{
    char longer[400];

    CHECK_STR(str_slugify(a, "Hello, World!", 0), "hello-world",
              "punctuation becomes one hyphen");
    CHECK_STR(str_slugify(a, "  --Leading & trailing--  ", 0),
              "leading-trailing", "hyphens trimmed and runs collapsed");
    CHECK_STR(str_slugify(a, "Café déjà vu", 0), "cafe-deja-vu",
              "French accents dropped");
    CHECK_STR(str_slugify(a, "Straße in Ærø", 0), "strasse-in-aero",
              "ß -> ss, Æ -> ae, ø -> o");
    CHECK_STR(str_slugify(a, "Łódź, Kraków, Brașov, Şişli", 0),
              "lodz-krakow-brasov-sisli", "Polish, Romanian, Turkish");
    CHECK_STR(str_slugify(a, "Київ", 0), "kyiv", "Київ -> kyiv");
    CHECK_STR(str_slugify(a, "Запоріжжя", 0), "zaporizhzhia",
              "Запоріжжя -> zaporizhzhia");
    CHECK_STR(str_slugify(a, "Щастя", 0), "shchastia", "щ -> shch, я -> ia");
    CHECK_STR(str_slugify(a, "Юрій Їжакевич", 0), "yurii-yizhakevych",
              "word-initial ю and ї, й -> i inside a word");
    CHECK_STR(str_slugify(a, "Згорани", 0), "zghorany", "зг -> zgh");
    CHECK_STR(str_slugify(a, "Гола Пристань", 0), "hola-prystan",
              "г -> h, ь vanishes");
    CHECK_STR(str_slugify(a, "п'ять м’ясо", 0), "piat-miaso",
              "Ukrainian apostrophes vanish");
    CHECK_STR(str_slugify(a, "Объём Эхо", 0), "obem-ekho",
              "Russian ъ vanishes, ё -> e, э -> e");
    CHECK_STR(str_slugify(a, "Αθήνα", 0), "athina", "Greek romanised");
    CHECK_STR(str_slugify(a, "Don't Panic", 0), "dont-panic",
              "English apostrophe vanishes");
    CHECK_STR(str_slugify(a, "Don’t stop", 0), "dont-stop",
              "typographic apostrophe vanishes");
    CHECK_STR(str_slugify(a, "e\xCC\x81t\xC3\xA9", 0), "ete",
              "combining accents dropped");
    CHECK_STR(str_slugify(a, "2024 in review: 10 charts", 0),
              "2024-in-review-10-charts", "digits kept");
    CHECK_STR(str_slugify(a, "", 0), "untitled", "empty -> untitled");
    CHECK_STR(str_slugify(a, "!!! ???", 0), "untitled",
              "punctuation only -> untitled");
    CHECK_STR(str_slugify(a, "東京", 0), "untitled",
              "untransliterated script -> untitled");
    CHECK_STR(str_slugify(a, NULL, 0), "untitled", "NULL -> untitled");
    CHECK_STR(str_slugify(a, "bad\xFFutf8", 0), "bad-utf8",
              "invalid byte separates words");

    CHECK_STR(str_slugify(a, "the quick brown fox", 12), "the-quick",
              "truncated at a hyphen within max");
    CHECK_STR(str_slugify(a, "the quick brown fox", 9), "the-quick",
              "exact fit at the word end");
    CHECK_STR(str_slugify(a, "the quick brown fox", 10), "the-quick",
              "cut where the next byte is a hyphen");
    CHECK_STR(str_slugify(a, "abcdefghijklmnop", 10), "abcdefghij",
              "one long word is cut hard");
    CHECK_STR(str_slugify(a, "a b", 1), "a-b", "max below 8 is raised to 8");
    CHECK_STR(str_slugify(a, "щщщщ щ", 8), "shchshch",
              "multi-byte replacements truncated on a boundary");
    memset(longer, 'x', sizeof(longer) - 1);
    longer[sizeof(longer) - 1] = '\0';
    CHECK(strlen(str_slugify(a, longer, 0)) == BOUND_SLUG_LEN,
          "max 0 means BOUND_SLUG_LEN");
    CHECK(str_slug_valid(str_slugify(a, "Один, два, три: Kyiv's 5 ☀ days!", 0)),
          "every slugify result is a valid slug");
}

static void test_slug_valid(void)
{
    char big[BOUND_SLUG_LEN + 2];

    CHECK(str_slug_valid("kyiv-2024"), "kyiv-2024 valid");
    CHECK(str_slug_valid("a"), "single letter valid");
    CHECK(!str_slug_valid(""), "empty invalid");
    CHECK(!str_slug_valid(NULL), "NULL invalid");
    CHECK(!str_slug_valid("-a"), "leading hyphen invalid");
    CHECK(!str_slug_valid("a-"), "trailing hyphen invalid");
    CHECK(!str_slug_valid("a--b"), "double hyphen invalid");
    CHECK(!str_slug_valid("Abc"), "upper case invalid");
    CHECK(!str_slug_valid("a b"), "space invalid");
    CHECK(!str_slug_valid("a/b"), "slash invalid");
    CHECK(!str_slug_valid("../etc"), "path invalid");
    CHECK(!str_slug_valid("kyïv"), "non-ASCII invalid");
    memset(big, 'a', BOUND_SLUG_LEN);
    big[BOUND_SLUG_LEN] = '\0';
    CHECK(str_slug_valid(big), "BOUND_SLUG_LEN bytes valid");
    big[BOUND_SLUG_LEN] = 'a';
    big[BOUND_SLUG_LEN + 1] = '\0';
    CHECK(!str_slug_valid(big), "BOUND_SLUG_LEN + 1 bytes invalid");
}

static void test_words(void)
{
    const char *uk = "Київ прокинувся рано — сирени мовчали.";

    CHECK(str_word_count("", 0) == 0, "no words in empty text");
    CHECK(str_word_count("one two  three\nfour\tfive", 24) == 5,
          "five words across spaces, newline and tab");
    CHECK(str_word_count("a - b — c", strlen("a - b — c")) == 3,
          "dashes alone are no words");
    CHECK(str_word_count(uk, strlen(uk)) == 5, "Ukrainian sentence: 5 words");
    CHECK(str_word_count("2024 was 12% up", 15) == 4, "numbers count as words");
    CHECK(str_word_count("no\xC2\xA0"
                         "break",
                         9) == 2,
          "no-break space separates words");
    CHECK(str_word_count("🎉 🎉 party", strlen("🎉 🎉 party")) == 1,
          "emoji alone are no words");
}

static void test_small(void)
{
    char s1[] = "  padded \t\n";
    char s2[] = "   ";

    CHECK_STR(str_trim(s1), "padded", "trim both ends");
    CHECK_STR(str_trim(s2), "", "trim all-space to empty");
    CHECK(str_trim(NULL) == NULL, "trim NULL");
    CHECK(str_casecmp("Content-Type", "content-type") == 0,
          "ASCII case-insensitive equal");
    CHECK(str_casecmp("abc", "abd") < 0, "casecmp orders");
    CHECK(str_casecmp("abc", "ab") > 0, "casecmp longer after prefix");
    CHECK(str_has_prefix("::related[x]", "::related["), "has prefix");
    CHECK(!str_has_prefix("::rel", "::related["), "short is no prefix");
}

int main(void)
{
    struct arena a;

    arena_init(&a);
    test_utf8_repair(&a);
    test_utf8();
    test_slugify(&a);
    test_slug_valid();
    test_words();
    test_small();
    arena_release(&a);
    return check_done();
}
