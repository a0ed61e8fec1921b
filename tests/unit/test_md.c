/*
 * test_md.c - article Markdown as readers get it: paragraphs, subheadings
 * with anchors, quotes, lists, links, images, tables, related cards, and
 * nothing hostile getting through; plus word counts and excerpts.
 */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/arena.h"
#include "core/bounds.h"
#include "core/log.h"
#include "core/str.h"
#include "render/md.h"

static struct arena A;

struct cards {
    int calls;          /* times the callback ran */
    const char *title;  /* title to hand back */
};

static int card_fn(void *ctx, struct arena *a, const char *slug,
                   struct md_card *out)
{
    struct cards *c = ctx;

    c->calls++;
    if (strcmp(slug, "power-grid-winter") != 0)
        return -1;
    out->title = c->title;
    out->summary = "Engineers keep the lights on.";
    out->url = arena_printf(a, "/2024/11/%s", slug);
    return 0;
}

/* Renders src; returns the HTML ("" on failure, with *doc zeroed). */
static const char *html_of(const char *src, struct md_doc *doc)
{
    static struct md_doc scratch;
    struct cards c = {0, "Keeping the grid alive"};

    if (!doc)
        doc = &scratch;
    if (md_render(&A, src, strlen(src), card_fn, &c, doc) < 0)
        return "";
    return doc->html;
}

static int has(const char *hay, const char *needle)
{
    return strstr(hay, needle) != NULL;
}

/* Case-insensitive (ASCII) has(). */
static int has_ci(const char *hay, const char *needle)
{
    char *low = arena_strdup(&A, hay);

    for (char *p = low; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p + 0x20);
    return strstr(low, needle) != NULL; /* needles are lower case */
}

static void test_blocks(void)
{
    const char *h;

    h = html_of("First paragraph.\n\nSecond paragraph.\n", NULL);
    CHECK(has(h, "<p>First paragraph.</p>") &&
              has(h, "<p>Second paragraph.</p>"),
          "two paragraphs");
    h = html_of("She said \"no\" -- twice...\n", NULL);
    CHECK(has(h, "\xE2\x80\x9Cno\xE2\x80\x9D") &&
              has(h, "\xE2\x80\x93") && has(h, "\xE2\x80\xA6"),
          "smart quotes, en dash and ellipsis");
    h = html_of("> To be or not to be.\n> That is the question.\n", NULL);
    CHECK(has(h, "<blockquote>\n<p>To be or not to be.\nThat is the "
                 "question.</p>\n</blockquote>"),
          "block quote");
    h = html_of("- bread\n- milk\n\n1. first\n2. second\n", NULL);
    CHECK(has(h, "<ul>\n<li>bread</li>\n<li>milk</li>\n</ul>"),
          "bullet list");
    CHECK(has(h, "<ol>\n<li>first</li>\n<li>second</li>\n</ol>"),
          "numbered list");
    h = html_of("| City | Power |\n|------|------:|\n| Kyiv | 80% |\n", NULL);
    CHECK(has(h, "<table>") && has(h, "<th>City</th>") &&
              has(h, "<td>Kyiv</td>") && has(h, "<td align=\"right\">80%</td>"),
          "GFM table");
    h = html_of("~~gone~~ and ~approx~\n", NULL);
    CHECK(has(h, "<del>gone</del>") && has(h, "~approx~"),
          "double-tilde strikethrough only");
    h = html_of("```\nx < y && <b>\n```\n", NULL);
    CHECK(has(h, "<pre><code>x &lt; y &amp;&amp; &lt;b&gt;\n</code></pre>"),
          "code block escaped");
}

static void test_headings(void)
{
    const char *h;

    h = html_of("## The grid\n\ntext\n", NULL);
    CHECK(has(h, "<h2 id=\"the-grid\"><a class=\"anchor\" href=\"#the-grid\" "
                 "aria-hidden=\"true\" tabindex=\"-1\">#</a>The grid</h2>"),
          "h2 with id and anchor link");
    h = html_of("## The grid\n\n## The grid\n\n### The grid\n", NULL);
    CHECK(has(h, "id=\"the-grid\"") && has(h, "id=\"the-grid-2\"") &&
              has(h, "id=\"the-grid-3\"") && has(h, "href=\"#the-grid-3\""),
          "duplicate headings get -2, -3");
    h = html_of("## Grid\n\n## Grid 2\n\n## Grid\n", NULL);
    CHECK(has(h, "<h2 id=\"grid\">") && has(h, "<h2 id=\"grid-2\">") &&
              has(h, "<h2 id=\"grid-3\">"),
          "dedupe skips an id another heading already has");
    h = html_of("# Headline in the body\n", NULL);
    CHECK(!has(h, "<h1") && has(h, "<h2 id=\"headline-in-the-body\">"),
          "level-1 heading demoted to h2");
    h = html_of("### Київ *вночі*\n", NULL);
    CHECK(has(h, "<h3 id=\"kyiv-vnochi\">") &&
              has(h, "Київ <em>вночі</em></h3>"),
          "h3 id transliterated, inline markup kept");
    h = html_of("#### Four\n\n##### Five\n", NULL);
    CHECK(has(h, "<h4 id=\"four\">") && has(h, "<h5>Five</h5>"),
          "h4 gets an id, h5 does not");
    h = html_of("## Content\n", NULL);
    CHECK(has(h, "<h2 id=\"content-2\">"),
          "ids used by the page itself are reserved");
    h = html_of("## \"Quoted\" & <b>odd</b>\n", NULL);
    CHECK(has(h, "id=\"quoted-odd\"") && !has(h, "<b>"),
          "heading id from text only, raw HTML dropped");
}

static void test_links(void)
{
    const char *h;

    h = html_of("Read [the report](https://example.org/r?a=1&b=2).\n", NULL);
    CHECK(has(h, "<a href=\"https://example.org/r?a=1&amp;b=2\">"
                 "the report</a>"),
          "external link keeps its href");
    h = html_of("See [our story](/2024/11/power-grid-winter).\n", NULL);
    CHECK(has(h, "<a href=\"/2024/11/power-grid-winter\">our story</a>"),
          "relative link kept");
    h = html_of("Write to [us](mailto:desk@example.org).\n", NULL);
    CHECK(has(h, "href=\"mailto:desk@example.org\""), "mailto link kept");
    h = html_of("Visit www.example.org today.\n", NULL);
    CHECK(has(h, "<a href=\"http://www.example.org\">www.example.org</a>"),
          "bare www address autolinked");
    h = html_of("[x](javascript:alert(1))\n", NULL);
    CHECK(!has_ci(h, "javascript:") && has(h, "<p>x</p>"),
          "javascript: link dropped, text kept");
    h = html_of("[x](JaVaScRiPt:alert(1)) <javascript:alert(2)> "
                "[y][r] [z](data:text/html,hi) [w](vbscript:x)\n\n"
                "[r]: javascript:alert(3)\n",
                NULL);
    CHECK(!has(h, "<a ") && !has(h, "href") &&
              has(h, "<p>x javascript:alert(2) y z w</p>"),
          "every hostile link form unlinked, its text kept");
}

static void test_images(void)
{
    struct md_doc d;
    const char *h;

    h = html_of("![Pylons at dusk](/media/pylons.jpg \"Pylons near Kyiv. "
                "Photo: Desk\")\n",
                &d);
    CHECK(has(h, "<figure><img src=\"/media/pylons.jpg\" alt=\"Pylons at "
                 "dusk\" loading=\"lazy\" decoding=\"async\" />"
                 "<figcaption>Pylons near Kyiv. Photo: Desk</figcaption>"
                 "</figure>"),
          "image alone in a paragraph becomes a figure with caption");
    CHECK(d.images == 1, "one image counted");
    h = html_of("A chart ![up](/a.png) and ![down](/b.png \"t\") inline.\n",
                &d);
    CHECK(has(h, "<p>A chart <img src=\"/a.png\" alt=\"up\" loading=\"lazy\" "
                 "decoding=\"async\" /> and "),
          "inline image lazy-loaded");
    CHECK(has(h, "title=\"t\""), "inline image keeps its title");
    CHECK(d.images == 2, "two inline images counted");
    h = html_of("![a](/1.png)\n\n![b](/2.png)\n\ntext ![c](/3.png)\n", &d);
    CHECK(d.images == 3 && !has(h, "<figcaption>"),
          "three images, no caption without a title");
    h = html_of("![x](javascript:alert(1)) ![y](data:image/png;base64,AA) "
                "![\" onerror=\"alert(1)](/ok.png)\n",
                &d);
    CHECK(!has_ci(h, "javascript:") && !has_ci(h, "data:") &&
              !has(h, "\" onerror") && d.images == 1,
          "hostile image sources dropped, alt escaped");
    h = html_of("| a |\n|---|\n| ![c](/c.png) |\n", &d);
    CHECK(has(h, "<td><img src=\"/c.png\" alt=\"c\" /></td>") && d.images == 1,
          "image in a table cell stays a plain img");
}

static void test_cards(void)
{
    struct cards c = {0, "Keeping the grid alive"};
    struct md_doc d;
    const char *src = "Before.\n\n::related[power-grid-winter]\n\nAfter.\n";

    CHECK(md_render(&A, src, strlen(src), card_fn, &c, &d) == 0,
          "card document renders");
    CHECK(has(d.html, "<p>Before.</p>\n<aside class=\"related-card\" "
                      "aria-label=\"Related article\"><a href=\"/2024/11/"
                      "power-grid-winter\"><span class=\"related-kicker\">"
                      "Related</span><strong class=\"related-title\">Keeping "
                      "the grid alive</strong><span class=\"related-summary\">"
                      "Engineers keep the lights on.</span></a></aside>\n"
                      "<p>After.</p>"),
          "related card rendered between paragraphs");
    CHECK(!has(d.text, "related") && d.words == 2,
          "card is neither body text nor words");

    src = "::related[no-such-story]\n\nAfter.\n";
    c.calls = 0;
    log_set_level(LOG_ERROR); /* the expected warning */
    md_render(&A, src, strlen(src), card_fn, &c, &d);
    CHECK(c.calls == 1 && !has(d.html, "related") && !has(d.html, "aside") &&
              has(d.html, "<p>After.</p>"),
          "missing target renders nothing");

    src = "::related[Not A Slug]\n\n::related[../etc/passwd]\n";
    c.calls = 0;
    md_render(&A, src, strlen(src), card_fn, &c, &d);
    CHECK(c.calls == 0 && strcmp(d.html, "") == 0,
          "invalid slugs never reach the callback and render nothing");

    src = "::related[power-grid-winter]\n";
    md_render(&A, src, strlen(src), NULL, NULL, &d);
    CHECK(strcmp(d.html, "") == 0, "NULL callback renders no card");
    log_set_level(LOG_INFO);

    src = "::related[power-grid-winter] and more\n";
    md_render(&A, src, strlen(src), card_fn, &c, &d);
    CHECK(!has(d.html, "aside") && has(d.html, "::related"),
          "directive must be alone in its paragraph");

    c.title = "<script>alert(\"x\")</script> & co";
    src = "::related[power-grid-winter]\n";
    md_render(&A, src, strlen(src), card_fn, &c, &d);
    CHECK(!has(d.html, "<script") &&
              has(d.html, "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; "
                          "&amp; co"),
          "hostile card title escaped");
}

static void test_raw_html(void)
{
    const char *h;

    h = html_of("Hi <script>alert(1)</script> there.\n", NULL);
    CHECK(!has_ci(h, "<script"), "inline script removed");
    h = html_of("<script>alert(1)</script>\n", NULL);
    CHECK(!has_ci(h, "<script"), "script block removed");
    h = html_of("x <img src=x onerror=alert(1)> y\n", NULL);
    CHECK(!has(h, "onerror") && !has(h, "<img"), "img onerror removed");
    h = html_of("<div onclick=\"evil()\">\n\n*md*\n\n</div>\n", NULL);
    CHECK(!has(h, "onclick") && !has(h, "<div") && has(h, "<em>md</em>"),
          "HTML block removed, Markdown inside kept");
    h = html_of("<iframe src=\"https://evil.example\"></iframe>\n", NULL);
    CHECK(!has(h, "iframe"), "iframe removed");
    h = html_of("<!-- comment --> text\n", NULL);
    CHECK(!has(h, "<!--"), "HTML comments removed");
    h = html_of("a <b>bold</b> word\n", NULL);
    CHECK(has(h, "<p>a bold word</p>"), "text between raw tags kept");
}

static void test_errors(void)
{
    struct md_doc d;
    char *big;

    log_set_level(LOG_ERROR);
    CHECK(md_render(&A, "ok \xC3\x28 bad", 9, NULL, NULL, &d) == -1 &&
              d.html == NULL && d.text == NULL,
          "broken UTF-8 refused with -1");
    CHECK(md_render(&A, "\xED\xA0\x80", 3, NULL, NULL, &d) == -1,
          "surrogate refused");
    big = malloc(BOUND_MARKDOWN + 1);
    memset(big, 'a', BOUND_MARKDOWN + 1);
    CHECK(md_render(&A, big, BOUND_MARKDOWN + 1, NULL, NULL, &d) == -1,
          "over BOUND_MARKDOWN refused");
    CHECK(md_render(&A, big, BOUND_MARKDOWN, NULL, NULL, &d) == 0 &&
              d.words == 1,
          "exactly BOUND_MARKDOWN accepted");
    free(big);
    CHECK(md_render(&A, "", 0, NULL, NULL, &d) == 0 &&
              strcmp(d.html, "") == 0 && strcmp(d.text, "") == 0 &&
              d.words == 0,
          "empty document");
    log_set_level(LOG_INFO);
}

static void test_hostile_shapes(void)
{
    struct md_doc d;
    char *src = malloc(BOUND_MARKDOWN);
    size_t n = 0;

    /* a wide header and many one-cell rows: cmark-gfm pads each row */
    for (int i = 0; i < 1000; i++)
        n += (size_t)snprintf(src + n, 8, "|a");
    n += (size_t)snprintf(src + n, 8, "|\n");
    for (int i = 0; i < 1000; i++)
        n += (size_t)snprintf(src + n, 8, "|-");
    n += (size_t)snprintf(src + n, 8, "|\n");
    for (int i = 0; i < 20000; i++)
        n += (size_t)snprintf(src + n, 8, "x\n");
    log_set_level(LOG_ERROR);
    CHECK(md_render(&A, src, n, NULL, NULL, &d) == 0 &&
              strlen(d.html) < 4 * n,
          "table bomb rendered as text, output stays small");
    log_set_level(LOG_INFO);

    memset(src, '>', 100000);
    memcpy(src + 100000, " deep\n", 6);
    CHECK(md_render(&A, src, 100006, NULL, NULL, &d) == 0 &&
              has(d.text, "deep"),
          "100,000 nested quotes do not crash");

    n = 0;
    for (int i = 0; i < 20000; i++)
        n += (size_t)snprintf(src + n, 16, "## Same\n\n");
    CHECK(md_render(&A, src, n, NULL, NULL, &d) == 0 &&
              has(d.html, "id=\"same-20000\""),
          "20,000 equal headings get distinct ids");
    free(src);
}

static void test_words_text(void)
{
    struct md_doc d;

    html_of("The quick brown fox jumps over the lazy dog.\n", &d);
    CHECK(d.words == 9, "nine words in the pangram");
    html_of("## Heading here\n\n- one item\n- two -- items\n\n"
            "![alt words are not read](/x.png)\n\n"
            "`code` counts, & so do 2024's numbers — but not dashes.\n",
            &d);
    CHECK(d.words == 15, "headings, lists, code and numbers; not alt text "
                         "or lone punctuation (got %u)", d.words);
    CHECK_STR(d.text,
              "Heading here\none item\ntwo \xE2\x80\x93 items\ncode counts, & "
              "so do 2024\xE2\x80\x99s numbers \xE2\x80\x94 but not dashes.",
              "plain text: one line per block, no alt text");
    html_of("Київ прокинувся рано, сирени мовчали.\n", &d);
    CHECK(d.words == 5, "Ukrainian words counted");
}

static void test_excerpt(void)
{
    const char *t = "The grid held overnight. Engineers worked in shifts to "
                    "restore power across the city. Residents cheered.";
    char *e;

    CHECK_STR(md_excerpt(&A, "Short   text\nhere.", 100), "Short text here.",
              "short text returned whole, spaces collapsed");
    CHECK_STR(md_excerpt(&A, t, 90),
              "The grid held overnight. Engineers worked in shifts to "
              "restore power across the city.",
              "whole sentences when they fit");
    CHECK_STR(md_excerpt(&A, t, 40), "The grid held overnight.",
              "first sentence alone when it fills half");
    CHECK_STR(md_excerpt(&A, t, 60),
              "The grid held overnight. Engineers worked in shifts to"
              "\xE2\x80\xA6",
              "sentence too short: cut at a word with an ellipsis");
    CHECK_STR(md_excerpt(&A, "Supercalifragilistic", 6), "Super\xE2\x80\xA6",
              "one long word cut hard");
    e = md_excerpt(&A, "Київ прокинувся рано, сирени мовчали довго", 22);
    CHECK_STR(e, "Київ прокинувся рано\xE2\x80\xA6",
              "Cyrillic cut on a word, comma dropped");
    e = md_excerpt(&A, "ЖЖЖЖЖЖЖЖЖЖЖЖЖЖЖЖЖЖЖЖ", 5);
    CHECK(str_utf8_valid(e, strlen(e)) && strcmp(e, "ЖЖЖЖ\xE2\x80\xA6") == 0,
          "multi-byte letters never split");
    CHECK_STR(md_excerpt(&A, "“Yes.” She left. Then more text here", 20),
              "“Yes.” She left.", "sentence end after a closing quote");
    CHECK_STR(md_excerpt(&A, NULL, 10), "", "NULL text");
    CHECK_STR(md_excerpt(&A, "abc", 0), "", "max 0");
}

static int image_fn(void *ctx, struct arena *a, const char *src,
                    unsigned *w, unsigned *h)
{
    (void)ctx;
    (void)a;
    if (strcmp(src, "/media/images/map-960.jpg") != 0)
        return -1;
    *w = 960;
    *h = 540;
    return 0;
}

/* Inline images get width and height from the hook, so the page never
 * shifts while they load; unknown images get none. */
static void test_image_sizes(void)
{
    struct md_doc d;
    struct md_hooks h = {NULL, image_fn, NULL};
    const char *src = "![A map](/media/images/map-960.jpg \"The map\")\n\n"
                      "![Other](/media/images/other-480.jpg)\n";

    CHECK(md_render_hooks(&A, src, strlen(src), &h, &d) == 0,
          "markdown with images renders");
    CHECK(strstr(d.html, "width=\"960\" height=\"540\"") != NULL,
          "a known image carries its width and height");
    CHECK(strstr(d.html, "other-480.jpg") &&
              !strstr(strstr(d.html, "other-480.jpg"), "width="),
          "an unknown image carries no made-up size");
}

int main(void)
{
    arena_init(&A);
    test_blocks();
    test_headings();
    test_links();
    test_images();
    test_cards();
    test_raw_html();
    test_errors();
    test_hostile_shapes();
    test_words_text();
    test_excerpt();
    test_image_sizes();
    arena_release(&A);
    return check_done();
}
