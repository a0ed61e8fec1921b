/*
 * test_htmlmd.c - render/htmlmd: the HTML of imported posts becomes
 * Markdown that renders back (through render/md) to the same structure,
 * and nothing unsafe survives.
 */
#include <string.h>

#include "check.h"
#include "core/arena.h"
#include "render/htmlmd.h"
#include "render/md.h"

/* htmlmd_src_fn for the tests: "old/NAME" becomes "/media/NAME". */
static const char *map_old(void *ctx, struct arena *a, const char *src)
{
    (void)ctx;
    return strncmp(src, "old/", 4) == 0 ? arena_printf(a, "/media/%s", src + 4)
                                        : src;
}

static const char *conv(struct arena *a, const char *html)
{
    return htmlmd_convert(a, html, strlen(html), 512 * 1024);
}

/* The HTML that md renders from the Markdown made of html. */
static const char *rendered(struct arena *a, const char *html)
{
    struct md_doc d;
    const char *md = conv(a, html);
    if (!md || md_render(a, md, strlen(md), NULL, NULL, &d) < 0)
        return "(failed)";
    return d.html;
}

int main(void)
{
    struct arena a;
    arena_init(&a);

    CHECK_STR(conv(&a, "<p>Hello <strong>big</strong> <em>world</em></p>"),
              "Hello **big** *world*", "emphasis");
    CHECK_STR(conv(&a, "<p>a</p><p>b</p>"), "a\n\nb", "paragraphs");
    {
        const char *h = "<p><img src=\"old/a.jpg\" alt=\"A\"> <img "
                        "src=\"https://x.org/b.png\"></p><figure><img "
                        "src=\"old/c.jpg\"></figure><iframe "
                        "src=\"old/v\"></iframe>";
        CHECK_STR(htmlmd_convert_map(&a, h, strlen(h), 4096, map_old, NULL),
                  "![A](</media/a.jpg>)![](<https://x.org/b.png>)\n\n"
                  "![](</media/c.jpg>)",
                  "the map rewrites image sources, inline and in figures, "
                  "and nothing else");
    }
    CHECK_STR(conv(&a, "<p>one<br>two</p>"), "one\\\ntwo",
              "a <br> inside a paragraph is a hard break");
    CHECK_STR(conv(&a, "<p>Line one<br></p><p>x<br> <br>\n</p>"),
              "Line one\n\nx", "breaks ending a paragraph are dropped");
    CHECK_STR(conv(&a, "<p><br>Start</p>"), "Start",
              "a break starting a paragraph is dropped");
    CHECK_STR(conv(&a, "<p>C:\\<br></p>"), "C:\\\\",
              "an escaped backslash before a dropped break stays");
    CHECK(strstr(rendered(&a, "<p>Signed<br></p><ul><li>item<br></li></ul>"),
                 "\\") == NULL,
          "no stray backslash shows after a final <br>");
    CHECK_STR(conv(&a, "<h2>Sub <b>head</b></h2><p>x</p>"),
              "## Sub **head**\n\nx", "headings");
    CHECK_STR(conv(&a, "<ul><li>one</li><li>two <a "
                       "href=\"https://e.org/\">link</a></li></ul>"),
              "- one\n- two [link](<https://e.org/>)", "lists and links");
    CHECK_STR(conv(&a, "<ol start=\"3\"><li>c</li><li>d</li></ol>"),
              "3. c\n4. d", "ordered list keeps its start");
    CHECK_STR(conv(&a, "<blockquote><p>q1</p><p>q2</p></blockquote>"),
              "> q1\n>\n> q2", "quotes");
    CHECK_STR(conv(&a, "<pre><code class=\"language-c\">int x = 1;\n"
                       "</code></pre>"),
              "```c\nint x = 1;\n```", "code blocks keep the language");
    CHECK_STR(conv(&a, "<p>5 * 3 = [15] _x_ #1 &lt;b&gt;</p>"),
              "5 \\* 3 = \\[15\\] \\_x\\_ \\#1 \\<b\\>",
              "Markdown punctuation in text is escaped");
    CHECK_STR(conv(&a, "<p>1. not a list</p>"), "1\\. not a list",
              "a paragraph starting like a list stays a paragraph");
    CHECK_STR(conv(&a, "<figure><img src=\"https://c.org/a.jpg\" alt=\"A\">"
                       "<figcaption>The \"cap\"</figcaption></figure>"),
              "![A](<https://c.org/a.jpg> \"The \\\"cap\\\"\")",
              "a figure keeps its caption as the image title");
    CHECK_STR(conv(&a, "<p>x<script>alert(1)</script><style>p{}</style>"
                       "</p><!-- c -->"),
              "x", "scripts, styles and comments are dropped");
    CHECK_STR(conv(&a, "<iframe src=\"https://www.youtube.com/embed/x\">"
                       "</iframe>"),
              "<https://www.youtube.com/embed/x>", "embeds become links");
    CHECK_STR(conv(&a, "<table><tr><th>a</th><th>b</th></tr><tr><td>1</td>"
                       "<td>2</td></tr></table>"),
              "| a | b |\n| --- | --- |\n| 1 | 2 |", "tables");
    CHECK_STR(conv(&a, ""), "", "empty body");
    CHECK(conv(&a, "<p>") != NULL, "broken HTML still converts");
    CHECK(htmlmd_convert(&a, "<p>long text here</p>", 21, 4) == NULL,
          "a result over the limit is refused");

    const char *h = rendered(&a, "<p>A <a href=\"javascript:alert(1)\">bad</a> "
                                 "<img src=\"x\" onerror=\"alert(1)\"></p>");
    CHECK(!strstr(h, "javascript:") && !strstr(h, "onerror"),
          "nothing unsafe survives the round trip: %s", h);
    h = rendered(&a, "<figure><img src=\"https://c.org/a.jpg\" alt=\"A\">"
                     "<figcaption>Dawn</figcaption></figure>");
    CHECK(strstr(h, "<figcaption>Dawn</figcaption>") != NULL,
          "the caption shows under the image: %s", h);

    arena_release(&a);
    return check_done();
}
