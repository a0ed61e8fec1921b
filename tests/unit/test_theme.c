/*
 * test_theme.c - the default theme (themes/default) renders every page with
 * the data of docs/theme.md and what a reader relies on is there: one h1,
 * the skip link first, alt on every image, a label for every input, the
 * audio block and "Edit post" only when given, no Mustache left over, and
 * nothing the Content-Security-Policy would block.
 *
 * Data: tests/unit/theme-sample.json holds the parts every page shares
 * (site, newsfeed, picks, more_news) and, under "pages", each page's own
 * data; a page is rendered with both merged into one object.
 * Run from the repository root. THEME_DUMP=DIR also writes each rendered
 * page to DIR/NAME.html, to look at in a browser.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/buf.h"
#include "render/tmpl.h"

#define OUT_LIMIT (1024 * 1024)

/* The repository root, from this file's path (the Makefile compiles it as
 * tests/unit/test_theme.c from the root, so this is usually "."). */
static char root[1024];

static void find_root(void)
{
    const char *self = __FILE__;
    const char *tail = strstr(self, "tests/unit/test_theme.c");
    size_t n = tail ? (size_t)(tail - self) : 0;

    if (n == 0) {
        snprintf(root, sizeof root, ".");
        return;
    }
    snprintf(root, sizeof root, "%.*s", (int)(n - 1), self);
}

/* Whole file at root/rel, NUL-terminated, malloc'd; NULL if unreadable. */
static char *slurp(const char *rel, size_t *len)
{
    char path[2048];
    FILE *f;
    char *data = NULL;
    long size;

    snprintf(path, sizeof path, "%s/%s", root, rel);
    f = fopen(path, "rb");
    if (!f)
        return NULL;
    if (fseek(f, 0, SEEK_END) != 0)
        goto out;
    size = ftell(f);
    if (size < 0 || fseek(f, 0, SEEK_SET) != 0)
        goto out;
    data = malloc((size_t)size + 1);
    if (!data)
        abort();
    if (fread(data, 1, (size_t)size, f) != (size_t)size) {
        free(data);
        data = NULL;
        goto out;
    }
    data[size] = '\0';
    if (len)
        *len = (size_t)size;
out:
    fclose(f);
    return data;
}

/* Adds every *.mustache in themes/default/dir to set, named as the path
 * under themes/default without ".mustache". Returns how many. */
static int load_dir(struct tmpl_set *set, const char *dir)
{
    char rel[1024], path[2048], name[1024], err[256];
    DIR *d;
    struct dirent *e;
    int count = 0;

    snprintf(rel, sizeof rel, "themes/default%s%s", *dir ? "/" : "", dir);
    snprintf(path, sizeof path, "%s/%s", root, rel);
    d = opendir(path);
    if (!d)
        return 0;
    while ((e = readdir(d)) != NULL) {
        size_t n = strlen(e->d_name);
        char file[2048];
        char *src;
        size_t len = 0;

        if (n <= 9 || strcmp(e->d_name + n - 9, ".mustache") != 0)
            continue;
        snprintf(name, sizeof name, "%s%s%.*s", dir, *dir ? "/" : "",
                 (int)(n - 9), e->d_name);
        snprintf(file, sizeof file, "%s/%s", rel, e->d_name);
        src = slurp(file, &len);
        CHECK(src != NULL, "template %s is readable", name);
        if (!src)
            continue;
        err[0] = '\0';
        CHECK(tmpl_set_add(set, name, src, len, err, sizeof err) == 0,
              "template %s parses %s", name, err);
        free(src);
        count++;
    }
    closedir(d);
    return count;
}

/* The shared data with pages.NAME merged over it; caller decrefs. */
static json_t *page_data(json_t *sample, const char *page)
{
    json_t *data = json_deep_copy(sample);
    json_t *own = json_object_get(json_object_get(sample, "pages"), page);

    json_t *copy = json_deep_copy(own);

    json_object_del(data, "pages");
    if (copy)
        json_object_update(data, copy);
    json_decref(copy);
    return data;
}

/* With THEME_DUMP=DIR in the environment, every rendered page is also
 * written to DIR/NAME.html, to look at in a browser. */
static void dump(const char *page, const char *html, size_t len)
{
    const char *dir = getenv("THEME_DUMP");
    char path[2048];
    FILE *f;

    if (!dir || !*dir)
        return;
    snprintf(path, sizeof path, "%s/%s.html", dir, page);
    f = fopen(path, "wb");
    if (!f)
        return;
    fwrite(html, 1, len, f);
    fclose(f);
}

/* Renders template page with data into a malloc'd string (NULL on
 * failure); as dumps it under that name. */
static char *render(struct tmpl_set *set, const char *page, const char *as,
                    json_t *data)
{
    struct buf out;
    char *html;
    size_t len = 0;

    buf_init(&out, OUT_LIMIT);
    if (tmpl_set_render(set, page, data, &out) != 0) {
        buf_release(&out);
        return NULL;
    }
    html = buf_steal(&out, &len);
    dump(as, html, len);
    return html;
}

static int count_of(const char *hay, const char *needle)
{
    int n = 0;
    size_t len = strlen(needle);

    for (const char *p = strstr(hay, needle); p; p = strstr(p + len, needle))
        n++;
    return n;
}

/* Offset of the first needle in hay, or the length of hay when absent. */
static size_t first_at(const char *hay, const char *needle)
{
    const char *p = strstr(hay, needle);

    return p ? (size_t)(p - hay) : strlen(hay);
}

/* Copies the value of attribute attr (attr="...") in the tag starting at
 * tag into val; 0 if found, -1 if the tag has no such attribute. */
static int tag_attr(const char *tag, const char *attr, char *val, size_t n)
{
    const char *end = strchr(tag, '>');
    char pat[64];
    const char *p;
    const char *q;

    snprintf(pat, sizeof pat, " %s=\"", attr);
    p = strstr(tag, pat);
    if (!p || !end || p > end)
        return -1;
    p += strlen(pat);
    q = strchr(p, '"');
    if (!q || (size_t)(q - p) >= n)
        return -1;
    memcpy(val, p, (size_t)(q - p));
    val[q - p] = '\0';
    return 0;
}

/* Every <img has an alt attribute. */
static int imgs_have_alt(const char *html)
{
    char alt[512];

    for (const char *p = strstr(html, "<img"); p; p = strstr(p + 4, "<img"))
        if (tag_attr(p, "alt", alt, sizeof alt) != 0)
            return 0;
    return 1;
}

/* Every <input that is not type="hidden" has an id with a <label for=. */
static int inputs_labelled(const char *html, const char **bad)
{
    char type[64], id[256], want[300];

    for (const char *p = strstr(html, "<input"); p;
         p = strstr(p + 6, "<input")) {
        if (tag_attr(p, "type", type, sizeof type) == 0 &&
            strcmp(type, "hidden") == 0)
            continue;
        *bad = p;
        if (tag_attr(p, "id", id, sizeof id) != 0)
            return 0;
        snprintf(want, sizeof want, "<label for=\"%s\"", id);
        if (!strstr(html, want))
            return 0;
    }
    return 1;
}

/* The skip link is the first thing a keyboard reaches. */
static int skip_link_first(const char *html)
{
    size_t skip = first_at(html, "<a class=\"skip-link\" href=\"#main\">");
    static const char *const focusable[] = {"<a ", "<input", "<button",
                                            "<select", "<textarea", "<audio"};

    if (skip == strlen(html))
        return 0;
    for (size_t i = 0; i < sizeof focusable / sizeof focusable[0]; i++)
        if (first_at(html, focusable[i]) < skip)
            return 0;
    return 1;
}

/* Headings never skip a level going down (h2 then h4 is a skip). */
static int headings_in_order(const char *html, int *at)
{
    int prev = 0;

    for (const char *p = strstr(html, "<h"); p; p = strstr(p + 2, "<h")) {
        int level = p[2] - '0';

        if (level < 1 || level > 6 || (p[3] != '>' && p[3] != ' '))
            continue;
        if (level > prev + 1) {
            *at = level;
            return 0;
        }
        prev = level;
    }
    return 1;
}

/* No id="..." value appears twice. */
static int ids_unique(const char *html, char *dup, size_t n)
{
    for (const char *p = strstr(html, " id=\""); p;
         p = strstr(p + 5, " id=\"")) {
        const char *v = p + 5;
        const char *q = strchr(v, '"');
        char want[300];

        if (!q || (size_t)(q - v) + 6 >= sizeof want)
            continue;
        snprintf(want, sizeof want, " id=\"%.*s\"", (int)(q - v), v);
        if (count_of(html, want) != 1) {
            snprintf(dup, n, "%.*s", (int)(q - v), v);
            return 0;
        }
    }
    return 1;
}

/* Checks every page must pass. */
static void check_page(const char *page, const char *html)
{
    const char *bad = NULL;
    char dup[256] = "";
    int level = 0;

    CHECK(html != NULL, "%s renders", page);
    if (!html)
        return;
    CHECK(strncmp(html, "<!doctype html>", 15) == 0,
          "%s starts with the doctype", page);
    CHECK(count_of(html, "<h1") == 1, "%s has exactly one h1 (has %d)",
          page, count_of(html, "<h1"));
    CHECK(skip_link_first(html), "%s: skip link is the first focusable",
          page);
    CHECK(strstr(html, "<main id=\"main\"") != NULL,
          "%s: skip link target exists", page);
    CHECK(headings_in_order(html, &level),
          "%s: heading levels not skipped (h%d)", page, level);
    CHECK(ids_unique(html, dup, sizeof dup), "%s: ids unique %s", page, dup);
    CHECK(imgs_have_alt(html), "%s: every img has alt", page);
    CHECK(inputs_labelled(html, &bad), "%s: every input has a label%s%.60s",
          page, bad ? " near: " : "", bad ? bad : "");
    CHECK(!strstr(html, "{{") && !strstr(html, "}}"),
          "%s: no Mustache left in the output", page);
    CHECK(!strstr(html, " style=") && !strstr(html, "<style"),
          "%s: no inline styles (CSP)", page);
    CHECK(count_of(html, "<script") == count_of(html, "<script src="),
          "%s: no inline scripts (CSP)", page);
    CHECK(strstr(html, "<html lang=\"en\">") != NULL, "%s: html lang", page);
    CHECK(strstr(html, "<link rel=\"stylesheet\" href=\"site.css\">") !=
              NULL,
          "%s: links the stylesheet", page);
    CHECK(strstr(html, "<nav class=\"sections-nav\" aria-label=\"Sections\">"),
          "%s: section navigation landmark", page);
    CHECK(strstr(html, "<a href=\"/tag/news/\" aria-current=\"page\">News"),
          "%s: current section marked", page);
    CHECK(strstr(html, "Funded by readers") && strstr(html, "2024"),
          "%s: footer with year and funding line", page);
}

static void check_article(struct tmpl_set *set, json_t *sample)
{
    json_t *data = page_data(sample, "article");
    json_t *post = json_object_get(data, "post");
    char *html = render(set, "article", "article", data);
    const char *byline =
        "By <a href=\"/author/maren-holt/\" rel=\"author\">Maren Holt</a> and "
        "<a href=\"/author/jonah-adeyemi/\" rel=\"author\">Jonah Adeyemi</a>";

    check_page("article", html);
    if (!html)
        goto out;
    CHECK(strstr(html, "<h1 class=\"headline\">Storm floods the old harbour"),
          "article: headline is the h1");
    CHECK(!strstr(html, "<h1 class=\"masthead-title\""),
          "article: masthead name is not a heading");
    CHECK(strstr(html, byline) != NULL, "article: byline joins two authors");
    CHECK(strstr(html, "<time class=\"published\" datetime=\"2024-11-01T03:"
                       "07:00Z\">November 1, 2024 3:07 AM</time>"),
          "article: published time");
    CHECK(strstr(html, "Updated <time datetime=\"2024-11-01T09:40:00Z\">"),
          "article: updated time");
    CHECK(strstr(html, "5 min read") != NULL, "article: reading time");
    CHECK(strstr(html, "<figcaption><p>The quay at first light") &&
              strstr(html, "<span class=\"credit\">Photo: Lena Fischer"),
          "article: caption and credit");
    CHECK(strstr(html, "width=\"960\" height=\"640\"") &&
              strstr(html, "loading=\"eager\""),
          "article: feature image sized and not lazy");
    CHECK(count_of(html, "loading=\"eager\"") == 1 &&
              count_of(html, "loading=\"lazy\"") >= 2,
          "article: only the feature image loads eagerly");
    CHECK(strstr(html, "This audio is created with AI assistance") &&
              strstr(html, "<audio controls preload=\"none\" src=\"/media/"
                           "audio/storm-harbour-flooding.mp3\"") &&
              strstr(html, "6:12"),
          "article: audio player with label and duration");
    CHECK(strstr(html, "<a class=\"edit-link\" href=\"/desk/posts/42/edit\">"
                       "Edit post</a>"),
          "article: Edit post link for staff");
    CHECK(strstr(html, "<div class=\"article-body\">\n<p>The water came"),
          "article: body inside article-body");
    CHECK(strstr(html, "<h2 id=\"corrections-title\">Corrections</h2>") &&
              strstr(html, "<time datetime=\"2024-11-02T10:00:00Z\">"),
          "article: corrections with date");
    CHECK(strstr(html, "id=\"newsfeed\" aria-live=\"polite\"") &&
              count_of(html, "<li class=\"update") == 3 &&
              strstr(html, "Key update") &&
              strstr(html, "Updated 6:12 PM"),
          "article: News Feed with three updates, key marker, updated");
    CHECK(strstr(html, ">More news</h2>") &&
              strstr(html, ">Editors' Picks</h2>"),
          "article: More news and Editors' Picks");
    CHECK(count_of(html, "<form method=\"post\"") == 2 &&
              count_of(html, "* indicates required") == 2 &&
              count_of(html, ">Subscribe</button>") == 2 &&
              strstr(html, "action=\"/newsletters/explaining-the-tides/"
                           "subscribe\""),
          "article: one sign-up form per newsletter");
    CHECK(strstr(html, "<input type=\"email\" id=\"nl-morning-briefing-"
                       "email\" name=\"email\" required"),
          "article: email field required");
    CHECK(strstr(html, "name=\"website\" tabindex=\"-1\" autocomplete="
                       "\"off\""),
          "article: honeypot out of the tab order");
    free(html);

    /* a reader who is not staff, before the narration exists */
    json_object_del(post, "audio");
    json_object_del(post, "edit_url");
    json_object_del(post, "updated");
    json_object_del(post, "corrections");
    json_object_set_new(post, "has_corrections", json_false());
    html = render(set, "article", "article-reader", data);
    check_page("article (reader)", html);
    if (!html)
        goto out;
    CHECK(!strstr(html, "AI assistance") && !strstr(html, "<audio"),
          "article without audio: no player, no label");
    CHECK(!strstr(html, "Edit post"), "article for a reader: no Edit post");
    CHECK(!strstr(html, "Updated <time"), "article never edited: no Updated");
    CHECK(!strstr(html, "Corrections"), "article without corrections: none");
out:
    free(html);
    json_decref(data);
}

static void check_others(struct tmpl_set *set, json_t *sample)
{
    static const char *const pages[] = {"home", "author", "tag", "archive",
                                        "error"};
    char *html[5];

    for (size_t i = 0; i < 5; i++) {
        json_t *data = page_data(sample, pages[i]);

        html[i] = render(set, pages[i], pages[i], data);
        check_page(pages[i], html[i]);
        json_decref(data);
    }
    if (html[0]) {
        CHECK(strstr(html[0], "<h1 class=\"masthead-title\"><a href=\"/\">"
                              "The Harbour Ledger</a></h1>"),
              "home: the paper's name is the h1");
        CHECK(strstr(html[0], "<h2 class=\"lead-title\">"),
              "home: lead headline is an h2");
        CHECK(strstr(html[0], "id=\"newsfeed\"") &&
                  strstr(html[0], "Editors' Picks") &&
                  strstr(html[0], "<form method=\"post\""),
              "home: News Feed, picks and newsletters");
    }
    if (html[1]) {
        CHECK(strstr(html[1], "<h1>Maren Holt</h1>") &&
                  strstr(html[1], "Coastal correspondent, Skerry Point"),
              "author: name and role");
        CHECK(strstr(html[1], "<nav class=\"pagination\" aria-label="
                              "\"Pagination\">") &&
                  strstr(html[1], "rel=\"prev\"") &&
                  strstr(html[1], "rel=\"next\"") &&
                  strstr(html[1], "Page 2 of 3"),
              "author: pagination both ways");
    }
    if (html[2])
        CHECK(strstr(html[2], "<h1>Climate</h1>") &&
                  !strstr(html[2], "rel=\"prev\"") &&
                  !strstr(html[2], "rel=\"next\""),
              "tag: heading, single page has no prev/next");
    if (html[3])
        CHECK(strstr(html[3], "<h1>Archive</h1>") &&
                  strstr(html[3], "Page 1 of 12"),
              "archive: heading and page count");
    if (html[4])
        CHECK(strstr(html[4], "<h1>Page not found</h1>") &&
                  strstr(html[4], "<meta name=\"robots\" content=\"noindex"
                                  "\">") &&
                  strstr(html[4], "href=\"/archive/\""),
              "error: title, noindex, way out");
    for (size_t i = 0; i < 5; i++)
        free(html[i]);
}

static void check_assets(void)
{
    size_t css_len = 0, js_len = 0;
    char *css = slurp("themes/default/assets/site.css", &css_len);
    char *js = slurp("themes/default/assets/site.js", &js_len);
    char *icon = slurp("themes/default/assets/favicon.svg", NULL);

    CHECK(css && css_len < 16 * 1024, "site.css exists and is small (%zu)",
          css_len);
    CHECK(css && !strstr(css, "@import") && !strstr(css, "url("),
          "site.css loads nothing else");
    CHECK(css && strstr(css, "prefers-color-scheme: dark") &&
              strstr(css, "@media print"),
          "site.css has dark mode and print");
    /* the live News Feed client, the "Edit post" link and the in-place
       newsletter sign-up, comments included; the page budget test (e2e)
       checks HTML + CSS + JS together */
    CHECK(js && js_len < 8192, "site.js is small (%zu)", js_len);
    CHECK(icon && strstr(icon, "<svg"), "favicon.svg is an SVG");
    free(css);
    free(js);
    free(icon);
}

int main(void)
{
    struct tmpl_set *set = tmpl_set_new();
    json_error_t jerr;
    json_t *sample;
    char path[2048];
    int n;

    find_root();
    snprintf(path, sizeof path, "%s/tests/unit/theme-sample.json", root);
    sample = json_load_file(path, 0, &jerr);
    CHECK(sample != NULL, "sample data loads: %s", sample ? "" : jerr.text);
    n = load_dir(set, "") + load_dir(set, "partials");
    CHECK(n >= 13, "theme has every template (%d)", n);
    if (sample) {
        check_article(set, sample);
        check_others(set, sample);
    }
    check_assets();
    json_decref(sample);
    tmpl_set_free(set);
    return check_done();
}
