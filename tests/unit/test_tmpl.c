/*
 * test_tmpl.c - the Mustache engine (src/render/tmpl.c): every test of the
 * official spec files it claims, then what a theme author or an operator
 * would notice: escaping, errors with line numbers, bounded recursion and
 * output, late-bound partials, replacing templates, concurrent renders.
 *
 * Run from the repository root: the spec is read from
 * ../shared/fixtures/mustache-spec/NAME.json.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "core/bounds.h"
#include "core/buf.h"
#include "core/log.h"
#include "render/tmpl.h"

#define SPEC_DIR "../shared/fixtures/mustache-spec/"

/* Prints s on one line with \n, \r, \t visible. */
static void print_escaped(const char *label, const char *s)
{
    printf("#   %s [", label);
    for (; s && *s; s++) {
        if (*s == '\n')
            printf("\\n");
        else if (*s == '\r')
            printf("\\r");
        else if (*s == '\t')
            printf("\\t");
        else
            putchar(*s);
    }
    printf("]\n");
}

static void run_spec(const char *file)
{
    char path[256];
    json_error_t jerr;
    json_t *root, *tests, *t;
    size_t i;

    snprintf(path, sizeof path, SPEC_DIR "%s.json", file);
    root = json_load_file(path, 0, &jerr);
    CHECK(root != NULL, "spec file %s: %s loads (%s)", file, path,
          root ? "ok" : jerr.text);
    if (!root)
        return;
    tests = json_object_get(root, "tests");
    CHECK(json_array_size(tests) > 0, "spec file %s: has tests", file);
    json_array_foreach(tests, i, t)
    {
        const char *name = json_string_value(json_object_get(t, "name"));
        json_t *tpl = json_object_get(t, "template");
        const char *want = json_string_value(json_object_get(t, "expected"));
        struct buf out;
        char err[256];
        const char *got;

        buf_init(&out, 1 << 20);
        int rc = tmpl_render_string(
            json_string_value(tpl), json_string_length(tpl),
            json_object_get(t, "data"), json_object_get(t, "partials"), &out,
            err, sizeof err);
        got = rc == 0 ? (out.data ? out.data : "") : err;
        int same = rc == 0 && want && strcmp(got, want) == 0;
        CHECK(same, "spec %s: %s", file, name);
        if (!same) {
            print_escaped("got: ", got);
            print_escaped("want:", want);
        }
        buf_release(&out);
    }
    json_decref(root);
}

/* Renders src with data given as JSON text; returns the output or the
 * error message (static storage, valid until the next call). */
static const char *render(const char *src, const char *data_json)
{
    static char res[4096];
    json_t *data = data_json ? json_loads(data_json, 0, NULL) : NULL;
    struct buf out;
    char err[256];

    buf_init(&out, 1 << 20);
    if (tmpl_render_string(src, strlen(src), data, NULL, &out, err,
                           sizeof err) < 0)
        snprintf(res, sizeof res, "ERROR %s", err);
    else
        snprintf(res, sizeof res, "%s", out.data ? out.data : "");
    buf_release(&out);
    json_decref(data);
    return res;
}

/* Renders template name of set; returns output, or "FAILED". */
static const char *render_set(struct tmpl_set *set, const char *name,
                              const char *data_json)
{
    static char res[4096];
    json_t *data = data_json ? json_loads(data_json, 0, NULL) : NULL;
    struct buf out;

    buf_init(&out, 1 << 20);
    if (tmpl_set_render(set, name, data, &out) < 0)
        snprintf(res, sizeof res, "FAILED");
    else
        snprintf(res, sizeof res, "%s", out.data ? out.data : "");
    buf_release(&out);
    json_decref(data);
    return res;
}

static int add(struct tmpl_set *set, const char *name, const char *src)
{
    char err[256];
    return tmpl_set_add(set, name, src, strlen(src), err, sizeof err);
}

/* The parse error for src, or "no error". */
static const char *parse_error(const char *src)
{
    static char err[256];
    struct tmpl_set *set = tmpl_set_new();
    if (tmpl_set_add(set, "t", src, strlen(src), err, sizeof err) == 0)
        snprintf(err, sizeof err, "no error");
    tmpl_set_free(set);
    return err;
}

static void test_escaping(void)
{
    struct buf b;

    buf_init(&b, 100);
    CHECK(tmpl_escape_html(&b, "a&b<c>d\"e'f", 11) == 0, "escape: returns 0");
    CHECK_STR(b.data, "a&amp;b&lt;c&gt;d&quot;e&#39;f",
              "escape: & < > \" ' all escaped");
    buf_release(&b);
    buf_init(&b, 8);
    CHECK(tmpl_escape_html(&b, "<<<", 3) < 0 && b.overflow,
          "escape: reports hitting the buffer limit");
    buf_release(&b);

    CHECK_STR(render("{{x}}", "{\"x\": \"<a href='x'>&\\\"</a>\"}"),
              "&lt;a href=&#39;x&#39;&gt;&amp;&quot;&lt;/a&gt;",
              "{{x}} escapes HTML in values");
    CHECK_STR(render("{{{x}}}|{{& x}}", "{\"x\": \"<b>'&'</b>\"}"),
              "<b>'&'</b>|<b>'&'</b>",
              "triple mustache and {{& }} do not escape");
    CHECK_STR(render("<p title=\"{{t}}\">", "{\"t\": \"\\\" onclick=x\"}"),
              "<p title=\"&quot; onclick=x\">",
              "a value cannot break out of a quoted attribute");
}

static void test_values(void)
{
    CHECK_STR(render("{{a}} {{b}} {{c}} {{d}}",
                     "{\"a\": 1.210, \"b\": 0.1, \"c\": -42, "
                     "\"d\": 9007199254740993}"),
              "1.21 0.1 -42 9007199254740993",
              "numbers print as written (1.210 -> 1.21, exact integers)");
    CHECK_STR(render("{{x}}", "{\"x\": 0.30000000000000004}"),
              "0.30000000000000004", "reals keep round-trip precision");
    CHECK_STR(render("{{t}} {{f}} [{{n}}] [{{o}}] [{{l}}]",
                     "{\"t\": true, \"f\": false, \"n\": null, "
                     "\"o\": {\"k\": 1}, \"l\": [1]}"),
              "true false [] [] []",
              "booleans print as words; null, objects, arrays as nothing");
    CHECK_STR(render("{{#z}}zero is truthy{{/z}}", "{\"z\": 0}"),
              "zero is truthy", "0 is truthy");
    CHECK_STR(render("[{{#s}}x{{/s}}{{#a}}x{{/a}}{{#n}}x{{/n}}{{#f}}x{{/f}}"
                     "{{#m}}x{{/m}}]",
                     "{\"s\": \"\", \"a\": [], \"n\": null, \"f\": false}"),
              "[]", "empty string, empty array, null, false, missing: falsy");
    CHECK_STR(render("{{^s}}empty{{/s}}", "{\"s\": \"\"}"), "empty",
              "empty string renders an inverted section");
    CHECK_STR(render("{{#s}}[{{.}}]{{/s}}", "{\"s\": \"text\"}"), "[text]",
              "a non-empty string section sees the string as {{.}}");
    CHECK_STR(render("a{{x}}b", NULL), "ab", "NULL data renders");
    CHECK_STR(render("{{#list}}{{name}}{{^last}}, {{/last}}{{/list}}",
                     "{\"list\": [{\"name\": \"Ann\"}, "
                     "{\"name\": \"Bo\", \"last\": true}]}"),
              "Ann, Bo", "list with a last-item flag (bylines)");
}

static void test_errors(void)
{
    CHECK_STR(parse_error("<ul>\n{{#items}}\n<li>{{name}}</li>\n"),
              "line 2: unclosed section 'items'",
              "unclosed section: error names it and its line");
    CHECK_STR(parse_error("a\n\nb {{name\n"), "line 3: unclosed tag",
              "unclosed tag: error gives the line");
    CHECK_STR(parse_error("{{#a}}\n{{/b}}"),
              "line 2: closing tag 'b' does not match 'a'",
              "mismatched closing tag is an error");
    CHECK_STR(parse_error("x\n{{/a}}"), "line 2: unexpected closing tag 'a'",
              "stray closing tag is an error");
    CHECK_STR(parse_error("{{<layout}}{{$main}}x"),
              "line 1: unclosed block 'main'", "unclosed block is an error");
    CHECK_STR(parse_error("{{<layout}}\n"), "line 1: unclosed parent 'layout'",
              "unclosed parent is an error");
    CHECK_STR(parse_error("{{=<%=}}"), "line 1: bad delimiter tag",
              "bad delimiter tag is an error");
    CHECK_STR(parse_error("a {{ }}"), "line 1: empty tag",
              "empty tag is an error");

    char deep[(BOUND_TMPL_DEPTH + 1) * 6 + 1];
    for (int i = 0; i < BOUND_TMPL_DEPTH + 1; i++)
        memcpy(deep + i * 6, "{{#a}}", 6);
    deep[(BOUND_TMPL_DEPTH + 1) * 6] = '\0';
    CHECK(strstr(parse_error(deep), "nested deeper than") != NULL,
          "sections nested past BOUND_TMPL_DEPTH are refused at parse time");

    struct buf out;
    char err[256];
    buf_init(&out, 100);
    json_t *p = json_pack("{s:s}", "bad", "{{#x}}");
    CHECK(tmpl_render_string("{{>bad}}", 8, NULL, p, &out, err, sizeof err) <
                  0 &&
              strcmp(err, "partial 'bad': line 1: unclosed section 'x'") == 0,
          "render_string reports which partial failed to parse");
    json_decref(p);

    /* 30 nested sections over a two-item list ask for 2^30 visits; the
     * step budget stops it at once (found by fuzz_tmpl) */
    char nest[30 * 12 + 1] = "";
    for (int i = 0; i < 30; i++)
        strcat(nest, "{{#l}}");
    for (int i = 0; i < 30; i++)
        strcat(nest, "{{/l}}");
    json_t *two = json_pack("{s:[i,i]}", "l", 1, 2);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int rc = tmpl_render_string(nest, strlen(nest), two, NULL, &out, err,
                                sizeof err);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) +
                  (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    CHECK(rc < 0 && strstr(err, "too many steps") && secs < 5,
          "2^30 nested section runs are refused within the step budget "
          "(%.2f s: %s)",
          secs, err);
    json_decref(two);
    /* a realistic page: 200 posts of 20 fields each renders */
    json_t *posts = json_array();
    for (int i = 0; i < 200; i++)
        json_array_append_new(posts, json_pack("{s:i}", "id", i));
    json_t *page = json_pack("{s:o}", "posts", posts);
    char many[20 * 8 + 40] = "{{#posts}}";
    for (int i = 0; i < 20; i++)
        strcat(many, "{{id}}, ");
    strcat(many, "{{/posts}}");
    struct buf big;
    buf_init(&big, 1 << 20);
    CHECK(tmpl_render_string(many, strlen(many), page, NULL, &big, err,
                             sizeof err) == 0 &&
              big.len > 200 * 20 * 3,
          "a list page well within the step budget renders");
    buf_release(&big);
    json_decref(page);
    buf_release(&out);
}

static void test_set(void)
{
    struct tmpl_set *set = tmpl_set_new();
    struct buf out;
    char err[256];

    CHECK(add(set, "page", "<main>{{>missing}}</main>") == 0,
          "set: adds a template naming a partial that does not exist");
    CHECK(tmpl_set_has(set, "page") && !tmpl_set_has(set, "missing") &&
              !tmpl_set_has(set, "other"),
          "set: has() knows added templates only");
    CHECK_STR(render_set(set, "page", NULL), "<main></main>",
              "set: a missing partial renders as nothing");
    CHECK(add(set, "missing", "[{{x}}]") == 0 &&
              strcmp(render_set(set, "page", "{\"x\": 1}"),
                     "<main>[1]</main>") == 0,
          "set: a partial added later is used by earlier templates");
    CHECK(add(set, "missing", "({{x}})") == 0 &&
              strcmp(render_set(set, "page", "{\"x\": 2}"),
                     "<main>(2)</main>") == 0,
          "set: adding a name again replaces the template");
    CHECK(tmpl_set_add(set, "missing", "{{#x}}", 6, err, sizeof err) < 0 &&
              strcmp(render_set(set, "page", "{\"x\": 3}"),
                     "<main>(3)</main>") == 0,
          "set: a failed add keeps the previous template");

    buf_init(&out, 100);
    buf_add(&out, "kept", 4);
    CHECK(tmpl_set_render(set, "nope", NULL, &out) < 0 &&
              strcmp(out.data, "kept") == 0,
          "set: unknown template fails and leaves the output alone");
    buf_release(&out);

    /* a site theme: layout with blocks, pages as its children */
    add(set, "layout",
        "<html>\n"
        "<head><title>{{$title}}{{site}}{{/title}}</title></head>\n"
        "<body>\n"
        "  {{$main}}\n"
        "  <p>nothing here</p>\n"
        "  {{/main}}\n"
        "  <footer>{{site}}</footer>\n"
        "</body>\n"
        "</html>\n");
    add(set, "partials/card",
        "<article>\n"
        "  <h2>{{title}}</h2>\n"
        "</article>\n");
    add(set, "home",
        "{{<layout}}\n"
        "{{$title}}Home - {{site}}{{/title}}\n"
        "{{$main}}\n"
        "<ul>\n"
        "  {{#posts}}\n"
        "  <li>\n"
        "    {{>partials/card}}\n"
        "  </li>\n"
        "  {{/posts}}\n"
        "</ul>\n"
        "{{/main}}\n"
        "{{/layout}}\n");
    CHECK_STR(render_set(set, "home",
                         "{\"site\": \"The Paper\", \"posts\": "
                         "[{\"title\": \"A & B\"}, {\"title\": \"C\"}]}"),
              "<html>\n"
              "<head><title>Home - The Paper</title></head>\n"
              "<body>\n"
              "  <ul>\n"
              "    <li>\n"
              "      <article>\n"
              "        <h2>A &amp; B</h2>\n"
              "      </article>\n"
              "    </li>\n"
              "    <li>\n"
              "      <article>\n"
              "        <h2>C</h2>\n"
              "      </article>\n"
              "    </li>\n"
              "  </ul>\n"
              "  <footer>The Paper</footer>\n"
              "</body>\n"
              "</html>\n",
              "theme: child page fills layout blocks, partials indent");
    CHECK_STR(render_set(set, "layout", "{\"site\": \"P\"}"),
              "<html>\n"
              "<head><title>P</title></head>\n"
              "<body>\n"
              "  <p>nothing here</p>\n"
              "  <footer>P</footer>\n"
              "</body>\n"
              "</html>\n",
              "theme: a layout alone renders its block defaults");
    tmpl_set_free(set);
    tmpl_set_free(NULL);
}

static void test_bounds(void)
{
    struct tmpl_set *set = tmpl_set_new();
    struct buf out;

    add(set, "self", "x{{>self}}");
    CHECK_STR(render_set(set, "self", NULL), "FAILED",
              "a partial including itself for ever fails, no crash");
    add(set, "loop", "{{#a}}<{{>loop}}>{{/a}}");
    CHECK_STR(render_set(set, "loop", "{\"a\": {\"b\": 1}}"), "FAILED",
              "recursion through a section that never ends fails");
    add(set, "node", "{{v}}{{#kids}}({{>node}}){{/kids}}");
    CHECK_STR(render_set(set, "node",
                         "{\"v\": 1, \"kids\": [{\"v\": 2, \"kids\": "
                         "[{\"v\": 3, \"kids\": []}]}]}"),
              "1(2(3))", "bounded recursion over a tree works");
    add(set, "indent", "  {{>indent}}\n");
    CHECK_STR(render_set(set, "indent", NULL), "FAILED",
              "recursive standalone partials stop at the depth limit");
    add(set, "p1", "{{<p1}}{{$b}}x{{/b}}{{/p1}}");
    CHECK_STR(render_set(set, "p1", NULL), "FAILED",
              "a parent that inherits from itself stops at the depth limit");

    add(set, "big", "0123456789{{x}}");
    buf_init(&out, 12);
    buf_add(&out, "ab", 2);
    json_t *d = json_pack("{s:s}", "x", "too long for the limit");
    CHECK(tmpl_set_render(set, "big", d, &out) < 0 && out.len == 2 &&
              strcmp(out.data, "ab") == 0 && out.overflow,
          "output past the buffer limit fails cleanly, output restored");
    buf_reset(&out);
    json_decref(d);
    d = json_pack("{s:s}", "x", "<<<<<<");
    CHECK(tmpl_set_render(set, "big", d, &out) < 0 && out.len == 0,
          "escaped output past the limit fails cleanly");
    json_decref(d);
    buf_reset(&out);
    CHECK(tmpl_set_render(set, "node", NULL, &out) == 0 &&
              strcmp(out.data, "") == 0,
          "output within the limit succeeds");
    buf_release(&out);
    tmpl_set_free(set);
}

static void test_whitespace(void)
{
    CHECK_STR(render("<ul>\r\n  {{#a}}\r\n  <li>{{.}}</li>\r\n  {{/a}}\r\n"
                     "</ul>\r\n",
                     "{\"a\": [1, 2]}"),
              "<ul>\r\n  <li>1</li>\r\n  <li>2</li>\r\n</ul>\r\n",
              "standalone section lines vanish with CRLF line ends");
    json_t *parts = json_pack("{s:s, s:s}", "outer",
                              "<div>\n  {{>inner}}\n"
                              "</div>\n",
                              "inner", "<p>\n{{{html}}}\n</p>\n");
    json_t *data = json_pack("{s:s}", "html", "<b>a</b>\n<b>b</b>");
    struct buf out;
    char err[128];
    buf_init(&out, 4096);
    tmpl_render_string("<body>\n  {{>outer}}\n</body>\n", 28, data, parts, &out,
                       err, sizeof err);
    CHECK_STR(out.data,
              "<body>\n  <div>\n    <p>\n    <b>a</b>\n<b>b</b>\n    </p>\n"
              "  </div>\n</body>\n",
              "nested standalone partials add up their indentation, "
              "data is not indented");
    buf_release(&out);
    json_decref(parts);
    json_decref(data);
}

struct job {
    struct tmpl_set *set; /* shared theme */
    json_t *data;         /* shared data */
    const char *want;     /* expected page */
    int bad;              /* renders that differed */
};

static void *worker(void *arg)
{
    struct job *j = arg;
    struct buf out;
    buf_init(&out, BOUND_PAGE_BYTES);
    for (int i = 0; i < 2000; i++) {
        buf_reset(&out);
        if (tmpl_set_render(j->set, "page", j->data, &out) < 0 ||
            strcmp(out.data, j->want) != 0)
            j->bad++;
    }
    buf_release(&out);
    return NULL;
}

static void test_threads(void)
{
    struct tmpl_set *set = tmpl_set_new();
    struct job jobs[4];
    pthread_t th[4];
    struct buf ref;

    add(set, "shell", "<main>\n  {{$body}}{{/body}}\n</main>\n");
    add(set, "item", "<li>{{n}} {{name}}</li>\n");
    add(set, "page",
        "{{<shell}}{{$body}}\n<ul>\n{{#items}}\n  {{>item}}\n"
        "{{/items}}\n</ul>\n{{/body}}{{/shell}}");
    json_t *items = json_array();
    for (int i = 0; i < 50; i++)
        json_array_append_new(
            items, json_pack("{s:i, s:s}", "n", i, "name", "<item & co>"));
    json_t *data = json_pack("{s:o}", "items", items);
    buf_init(&ref, BOUND_PAGE_BYTES);
    CHECK(tmpl_set_render(set, "page", data, &ref) == 0 &&
              strstr(ref.data, "  <li>49 &lt;item &amp; co&gt;</li>\n"),
          "threads: reference page renders");
    for (int i = 0; i < 4; i++) {
        jobs[i] = (struct job){set, data, ref.data, 0};
        pthread_create(&th[i], NULL, worker, &jobs[i]);
    }
    /* replacing an unrelated template while pages render */
    for (int i = 0; i < 200; i++)
        add(set, "other", i % 2 ? "a{{x}}" : "b{{y}}");
    int bad = 0;
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        bad += jobs[i].bad;
    }
    CHECK(bad == 0,
          "threads: 4 threads x 2000 concurrent renders all "
          "match (%d differed)",
          bad);
    buf_release(&ref);
    json_decref(data);
    tmpl_set_free(set);
}

int main(void)
{
    static const char *const files[] = {
        "comments", "delimiters", "interpolation", "inverted",
        "partials", "sections",   "~inheritance",
    };

    log_set_level(LOG_ERROR);
    for (size_t i = 0; i < sizeof files / sizeof *files; i++)
        run_spec(files[i]);
    test_escaping();
    test_values();
    test_errors();
    test_set();
    test_bounds();
    test_whitespace();
    test_threads();
    return check_done();
}
