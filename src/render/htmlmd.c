/*
 * htmlmd.c - HTML to Markdown for imports; see htmlmd.h.
 *
 * libxml2's HTML parser (forgiving, no network) builds a tree; two mutually
 * recursive walkers turn it into text: blocks() renders a node's children
 * as Markdown blocks separated by blank lines (inline runs between block
 * elements become paragraphs), inlines() renders phrasing content with
 * HTML's white-space collapsing and Markdown punctuation escaped. Nested
 * blocks (list items, quotes) are rendered into their own buffer and
 * prefixed line by line.
 */
#include "render/htmlmd.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/HTMLparser.h>
#include <libxml/tree.h>

#include "core/arena.h"
#include "core/buf.h"

struct conv {
    struct arena *a;
    htmlmd_src_fn map; /* rewrites image sources, or NULL */
    void *map_ctx;
    size_t limit; /* bytes any buffer may reach */
    int ws;       /* 1 when the inline output ends in white space (or is
                     at its start) */
};

static const char *const block_names[] = {
    "p",      "div",        "section", "article", "header",     "footer",
    "main",   "aside",      "nav",     "figure",  "h1",         "h2",
    "h3",     "h4",         "h5",      "h6",      "ul",         "ol",
    "li",     "dl",         "dt",      "dd",      "blockquote", "pre",
    "hr",     "table",      "iframe",  "video",   "audio",      "address",
    "center", "details",    "summary", "hgroup",  "form",       "body",
    "html",   "figcaption", NULL};

static const char *const dropped_names[] = {
    "script",   "style",  "template", "head",   "title",
    "noscript", "button", "input",    "select", NULL};

static int in_list(const char *name, const char *const *list)
{
    for (size_t i = 0; list[i]; i++)
        if (strcmp(name, list[i]) == 0)
            return 1;
    return 0;
}

static const char *name_of(const xmlNode *n)
{
    return n->name ? (const char *)n->name : "";
}

static int is_block(const xmlNode *n)
{
    return n->type == XML_ELEMENT_NODE && in_list(name_of(n), block_names);
}

/* An attribute's value in the arena, or NULL. */
static const char *prop(struct conv *c, xmlNode *n, const char *name)
{
    xmlChar *v = xmlGetProp(n, (const xmlChar *)name);
    if (!v)
        return NULL;
    char *s = arena_strdup(c->a, (const char *)v);
    xmlFree(v);
    return s;
}

/* The text content of n (in the arena). */
static const char *content(struct conv *c, xmlNode *n)
{
    xmlChar *v = xmlNodeGetContent(n);
    char *s = arena_strdup(c->a, v ? (const char *)v : "");
    xmlFree(v);
    return s;
}

/* Appends text collapsing white space and escaping what Markdown would
 * read as syntax. */
static void add_text(struct conv *c, struct buf *b, const char *s)
{
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\f') {
            if (!c->ws)
                buf_addc(b, ' ');
            c->ws = 1;
            continue;
        }
        if (strchr("\\`*_[]<>#|&~", ch))
            buf_addc(b, '\\');
        buf_addc(b, (char)ch);
        c->ws = 0;
    }
}

/* A link destination: in <>, without the characters that would end it. */
static void add_dest(struct buf *b, const char *url)
{
    buf_addc(b, '<');
    for (; *url; url++)
        if (*url != '<' && *url != '>' && *url != '\n' && *url != '\r')
            buf_addc(b, *url);
    buf_addc(b, '>');
}

/* A link title in double quotes. */
static void add_title(struct buf *b, const char *t)
{
    buf_adds(b, " \"");
    int ws = 0;
    for (; *t; t++) {
        if (isspace((unsigned char)*t)) {
            if (!ws)
                buf_addc(b, ' ');
            ws = 1;
            continue;
        }
        ws = 0;
        if (*t == '"' || *t == '\\')
            buf_addc(b, '\\');
        buf_addc(b, *t);
    }
    buf_addc(b, '"');
}

static void add_image(struct buf *b, const char *src, const char *alt,
                      const char *title)
{
    buf_adds(b, "![");
    for (const char *p = alt ? alt : ""; *p; p++) {
        if (strchr("\\[]", *p))
            buf_addc(b, '\\');
        buf_addc(b, isspace((unsigned char)*p) ? ' ' : *p);
    }
    buf_adds(b, "](");
    add_dest(b, src);
    if (title && *title)
        add_title(b, title);
    buf_addc(b, ')');
}

/* An <img>'s source, through the caller's map. */
static const char *img_src(struct conv *c, xmlNode *img)
{
    const char *src = prop(c, img, "src");
    return src && *src && c->map ? c->map(c->map_ctx, c->a, src) : src;
}

static void inlines(struct conv *c, xmlNode *first, struct buf *b);
static void blocks(struct conv *c, xmlNode *first, struct buf *out);

/* Wraps the inline rendering of n's children in mark, keeping white
 * space at either end outside the marks (CommonMark needs that). */
static void wrap(struct conv *c, xmlNode *n, struct buf *b, const char *mark)
{
    struct buf in;
    buf_init(&in, c->limit);
    int was_ws = c->ws;
    inlines(c, n->children, &in);
    const char *s = in.data ? in.data : "";
    size_t len = in.len, lead = 0;
    while (lead < len && s[lead] == ' ')
        lead++;
    while (len > lead && s[len - 1] == ' ')
        len--;
    if (len > lead) {
        if (lead && !was_ws)
            buf_addc(b, ' ');
        buf_adds(b, mark);
        buf_add(b, s + lead, len - lead);
        buf_adds(b, mark);
        if (len < in.len)
            buf_addc(b, ' ');
        c->ws = len < in.len;
    }
    buf_release(&in);
}

static void code_span(struct conv *c, xmlNode *n, struct buf *b)
{
    const char *t = content(c, n);
    size_t run = 0, best = 0;
    for (const char *p = t; *p; p++) {
        run = *p == '`' ? run + 1 : 0;
        if (run > best)
            best = run;
    }
    if (!*t)
        return;
    for (size_t i = 0; i <= best; i++)
        buf_addc(b, '`');
    buf_addc(b, ' ');
    for (const char *p = t; *p; p++)
        buf_addc(b, (*p == '\n' || *p == '\r') ? ' ' : *p);
    buf_addc(b, ' ');
    for (size_t i = 0; i <= best; i++)
        buf_addc(b, '`');
    c->ws = 0;
}

static void link(struct conv *c, xmlNode *n, struct buf *b)
{
    const char *href = prop(c, n, "href");
    if (!href || !*href || href[0] == '#') {
        inlines(c, n->children, b);
        return;
    }
    struct buf in;
    buf_init(&in, c->limit);
    c->ws = 1;
    inlines(c, n->children, &in);
    buf_addc(b, '[');
    if (in.len)
        buf_add(b, in.data, in.len);
    else
        add_text(c, b, href);
    buf_adds(b, "](");
    add_dest(b, href);
    buf_addc(b, ')');
    c->ws = 0;
    buf_release(&in);
}

/* Inline rendering of the one node n. */
static void inline_node(struct conv *c, xmlNode *n, struct buf *b)
{
    if (n->type == XML_TEXT_NODE || n->type == XML_CDATA_SECTION_NODE) {
        add_text(c, b, (const char *)n->content);
        return;
    }
    if (n->type != XML_ELEMENT_NODE)
        return;
    const char *name = name_of(n);
    if (in_list(name, dropped_names))
        return;
    if (!strcmp(name, "br")) {
        buf_adds(b, "\\\n");
        c->ws = 1;
    } else if (!strcmp(name, "strong") || !strcmp(name, "b"))
        wrap(c, n, b, "**");
    else if (!strcmp(name, "em") || !strcmp(name, "i") || !strcmp(name, "cite"))
        wrap(c, n, b, "*");
    else if (!strcmp(name, "s") || !strcmp(name, "del") ||
             !strcmp(name, "strike"))
        wrap(c, n, b, "~~");
    else if (!strcmp(name, "code") || !strcmp(name, "kbd") ||
             !strcmp(name, "samp"))
        code_span(c, n, b);
    else if (!strcmp(name, "a"))
        link(c, n, b);
    else if (!strcmp(name, "img")) {
        const char *src = img_src(c, n);
        if (src && *src) {
            add_image(b, src, prop(c, n, "alt"), prop(c, n, "title"));
            c->ws = 0;
        }
    } else if (is_block(n)) {
        /* a block inside phrasing content: keep its words */
        if (!c->ws)
            buf_addc(b, ' ');
        c->ws = 1;
        inlines(c, n->children, b);
    } else
        inlines(c, n->children, b);
}

/* Inline rendering of first and its following siblings. */
static void inlines(struct conv *c, xmlNode *first, struct buf *b)
{
    for (xmlNode *n = first; n; n = n->next)
        inline_node(c, n, b);
}

/* The length of s without its trailing spaces, newlines and hard breaks
 * ("\\\n", a <br>): at the end of a block CommonMark shows a break's
 * backslash as text. A backslash before the newline ends a break only
 * when it is not itself escaped (an even run is escaped backslashes). */
static size_t trim_end(const char *s, size_t len)
{
    for (;;) {
        int nl = 0;
        size_t run = 0;
        while (len && (s[len - 1] == ' ' || s[len - 1] == '\n'))
            nl |= s[--len] == '\n';
        while (run < len && s[len - 1 - run] == '\\')
            run++;
        if (!nl || run % 2 == 0)
            return len;
        len--;
    }
}

/* Adds a finished block to out, a blank line after the previous one;
 * breaks at either end of it are dropped (they separate nothing). */
static void add_block(struct buf *out, const char *s, size_t len)
{
    len = trim_end(s, len);
    while (len &&
           (*s == ' ' || *s == '\n' || (*s == '\\' && len > 1 && s[1] == '\n')))
        s++, len--;
    if (!len)
        return;
    if (out->len)
        buf_adds(out, "\n\n");
    buf_add(out, s, len);
}

/* A paragraph from inline text: a start that Markdown would read as a
 * list, a heading or a break gets a backslash. */
static void add_para(struct buf *out, struct buf *in)
{
    const char *s = in->data ? in->data : "";
    size_t len = in->len, d = 0;
    while (len && *s == ' ')
        s++, len--;
    if (!len)
        return;
    struct buf p;
    buf_init(&p, in->limit + 4);
    while (d < len && isdigit((unsigned char)s[d]))
        d++;
    if (d && d < len && (s[d] == '.' || s[d] == ')')) {
        buf_add(&p, s, d);
        buf_addc(&p, '\\');
        buf_add(&p, s + d, len - d);
    } else {
        if (strchr("-+=", *s))
            buf_addc(&p, '\\');
        buf_add(&p, s, len);
    }
    add_block(out, p.data, p.len);
    buf_release(&p);
}

/* Adds text with every line after a prefix (first line: first, others:
 * rest; blank lines get rest without its trailing spaces). */
static void add_prefixed(struct buf *out, const char *text, const char *first,
                         const char *rest)
{
    const char *p = text;
    int line = 0;
    while (*p || !line) {
        const char *e = strchr(p, '\n');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        const char *pre = line ? rest : first;
        if (!n && line) {
            size_t k = strlen(pre);
            while (k && pre[k - 1] == ' ')
                k--;
            buf_add(out, pre, k);
        } else {
            buf_adds(out, pre);
            buf_add(out, p, n);
        }
        line++;
        if (!e)
            break;
        buf_addc(out, '\n');
        p = e + 1;
    }
}

static void list(struct conv *c, xmlNode *n, struct buf *out, int ordered)
{
    struct buf all, item;
    unsigned num = 1;
    const char *start = prop(c, n, "start");
    if (ordered && start && isdigit((unsigned char)*start))
        num = (unsigned)strtoul(start, NULL, 10);
    buf_init(&all, c->limit);
    for (xmlNode *li = n->children; li; li = li->next) {
        if (li->type != XML_ELEMENT_NODE || strcmp(name_of(li), "li"))
            continue;
        buf_init(&item, c->limit);
        blocks(c, li->children, &item);
        char marker[24];
        if (ordered)
            snprintf(marker, sizeof marker, "%u. ", num++);
        else
            snprintf(marker, sizeof marker, "- ");
        char indent[24];
        memset(indent, ' ', strlen(marker));
        indent[strlen(marker)] = '\0';
        if (all.len)
            buf_addc(&all, '\n');
        add_prefixed(&all, item.data ? item.data : "", marker, indent);
        if (item.overflow)
            all.overflow = 1;
        buf_release(&item);
    }
    add_block(out, all.data ? all.data : "", all.len);
    if (all.overflow)
        out->overflow = 1;
    buf_release(&all);
}

static void pre(struct conv *c, xmlNode *n, struct buf *out)
{
    const char *t = content(c, n), *lang = NULL;
    size_t run = 0, best = 2;
    for (xmlNode *k = n->children; k; k = k->next)
        if (k->type == XML_ELEMENT_NODE && !strcmp(name_of(k), "code")) {
            const char *cls = prop(c, k, "class");
            const char *l = cls ? strstr(cls, "language-") : NULL;
            if (l)
                lang = arena_strndup(c->a, l + 9, strcspn(l + 9, " `"));
        }
    for (const char *p = t; *p; p++) {
        run = *p == '`' ? run + 1 : 0;
        if (run > best)
            best = run;
    }
    struct buf b;
    buf_init(&b, c->limit);
    for (size_t i = 0; i <= best; i++)
        buf_addc(&b, '`');
    buf_adds(&b, lang ? lang : "");
    buf_addc(&b, '\n');
    size_t len = strlen(t);
    while (len && t[len - 1] == '\n')
        len--;
    buf_add(&b, t, len);
    buf_addc(&b, '\n');
    for (size_t i = 0; i <= best; i++)
        buf_addc(&b, '`');
    if (out->len)
        buf_adds(out, "\n\n");
    buf_add(out, b.data, b.len);
    buf_release(&b);
}

/* First descendant element called name, or NULL. */
static xmlNode *find(xmlNode *n, const char *name)
{
    for (xmlNode *k = n->children; k; k = k->next) {
        if (k->type != XML_ELEMENT_NODE)
            continue;
        if (!strcmp(name_of(k), name))
            return k;
        xmlNode *d = find(k, name);
        if (d)
            return d;
    }
    return NULL;
}

static void table_row(struct conv *c, xmlNode *tr, struct buf *b, size_t *cols)
{
    size_t n = 0;
    buf_addc(b, '|');
    for (xmlNode *td = tr->children; td; td = td->next) {
        if (td->type != XML_ELEMENT_NODE ||
            (strcmp(name_of(td), "td") && strcmp(name_of(td), "th")))
            continue;
        struct buf cell;
        buf_init(&cell, c->limit);
        c->ws = 1;
        inlines(c, td->children, &cell);
        buf_addc(b, ' ');
        for (size_t i = 0; i < cell.len; i++)
            buf_addc(b, cell.data[i] == '\n' ? ' ' : cell.data[i]);
        buf_adds(b, " |");
        buf_release(&cell);
        n++;
    }
    *cols = n;
}

static void rows(xmlNode *n, xmlNode **out, size_t *nrows, size_t max)
{
    for (xmlNode *k = n->children; k && *nrows < max; k = k->next) {
        if (k->type != XML_ELEMENT_NODE)
            continue;
        if (!strcmp(name_of(k), "tr"))
            out[(*nrows)++] = k;
        else if (!strcmp(name_of(k), "thead") || !strcmp(name_of(k), "tbody") ||
                 !strcmp(name_of(k), "tfoot"))
            rows(k, out, nrows, max);
    }
}

static void table(struct conv *c, xmlNode *n, struct buf *out)
{
    enum { MAX_ROWS = 2000 };
    xmlNode **tr = arena_alloc(c->a, MAX_ROWS * sizeof *tr);
    size_t nrows = 0, cols = 0;
    struct buf b;
    rows(n, tr, &nrows, MAX_ROWS);
    buf_init(&b, c->limit);
    for (size_t i = 0; i < nrows; i++) {
        size_t k = 0;
        if (i)
            buf_addc(&b, '\n');
        table_row(c, tr[i], &b, &k);
        if (i == 0) {
            cols = k;
            buf_addc(&b, '\n');
            buf_addc(&b, '|');
            for (size_t j = 0; j < cols; j++)
                buf_adds(&b, " --- |");
        }
    }
    add_block(out, b.data ? b.data : "", b.len);
    buf_release(&b);
}

static void figure(struct conv *c, xmlNode *n, struct buf *out)
{
    xmlNode *img = find(n, "img"), *cap = find(n, "figcaption");
    const char *src = img ? img_src(c, img) : NULL;
    if (!src || !*src) {
        blocks(c, n->children, out);
        return;
    }
    struct buf b;
    buf_init(&b, c->limit);
    const char *title = cap ? content(c, cap) : prop(c, img, "title");
    add_image(&b, src, prop(c, img, "alt"), title);
    add_block(out, b.data, b.len);
    buf_release(&b);
}

/* The block element n. */
static void block(struct conv *c, xmlNode *n, struct buf *out)
{
    const char *name = name_of(n);
    struct buf b;
    buf_init(&b, c->limit);
    c->ws = 1;
    if (!strcmp(name, "p") || !strcmp(name, "dt") || !strcmp(name, "dd") ||
        !strcmp(name, "summary") || !strcmp(name, "figcaption")) {
        xmlNode *k;
        for (k = n->children; k && !is_block(k); k = k->next)
            ;
        if (k) /* blocks inside: a container after all */
            blocks(c, n->children, out);
        else {
            inlines(c, n->children, &b);
            add_para(out, &b);
        }
    } else if (name[0] == 'h' && name[1] >= '1' && name[1] <= '6' && !name[2]) {
        for (int i = 0; i < name[1] - '0'; i++)
            buf_addc(&b, '#');
        buf_addc(&b, ' ');
        size_t at = b.len;
        inlines(c, n->children, &b);
        for (size_t i = at; i < b.len; i++)
            if (b.data[i] == '\n')
                b.data[i] = ' ';
        if (b.len > at)
            add_block(out, b.data, b.len);
    } else if (!strcmp(name, "ul") || !strcmp(name, "ol"))
        list(c, n, out, name[0] == 'o');
    else if (!strcmp(name, "blockquote")) {
        struct buf q;
        buf_init(&q, c->limit);
        blocks(c, n->children, &q);
        if (q.len) {
            add_prefixed(&b, q.data, "> ", "> ");
            add_block(out, b.data, b.len);
        }
        buf_release(&q);
    } else if (!strcmp(name, "pre"))
        pre(c, n, out);
    else if (!strcmp(name, "hr"))
        add_block(out, "---", 3);
    else if (!strcmp(name, "figure"))
        figure(c, n, out);
    else if (!strcmp(name, "table"))
        table(c, n, out);
    else if (!strcmp(name, "iframe") || !strcmp(name, "video") ||
             !strcmp(name, "audio")) {
        const char *src = prop(c, n, "src");
        if (src && *src) {
            buf_addc(&b, '<');
            buf_adds(&b, src);
            buf_addc(&b, '>');
            if (strncmp(src, "http://", 7) == 0 ||
                strncmp(src, "https://", 8) == 0)
                add_block(out, b.data, b.len);
        }
    } else
        blocks(c, n->children, out);
    if (b.overflow)
        out->overflow = 1;
    buf_release(&b);
}

static void blocks(struct conv *c, xmlNode *first, struct buf *out)
{
    struct buf para;
    buf_init(&para, c->limit);
    c->ws = 1;
    for (xmlNode *n = first; n; n = n->next) {
        if (n->type == XML_ELEMENT_NODE && in_list(name_of(n), dropped_names))
            continue;
        if (is_block(n)) {
            add_para(out, &para);
            buf_reset(&para);
            block(c, n, out);
            c->ws = 1;
        } else
            inline_node(c, n, &para);
    }
    add_para(out, &para);
    if (para.overflow)
        out->overflow = 1;
    buf_release(&para);
}

static void free_doc(void *doc)
{
    xmlFreeDoc(doc);
}

char *htmlmd_convert(struct arena *a, const char *html, size_t len,
                     size_t limit)
{
    return htmlmd_convert_map(a, html, len, limit, NULL, NULL);
}

char *htmlmd_convert_map(struct arena *a, const char *html, size_t len,
                         size_t limit, htmlmd_src_fn map, void *ctx)
{
    struct conv c = {
        .a = a, .map = map, .map_ctx = ctx, .limit = limit, .ws = 1};
    struct buf out;
    char *r = NULL;

    if (!len)
        return arena_strdup(a, "");
    if (len > (size_t)2147483647)
        return NULL;
    htmlDocPtr doc = htmlReadMemory(html, (int)len, NULL, "UTF-8",
                                    HTML_PARSE_NOERROR | HTML_PARSE_NOWARNING |
                                        HTML_PARSE_NONET | HTML_PARSE_NOBLANKS);
    if (!doc)
        return NULL;
    arena_defer(a, free_doc, doc);
    xmlNode *root = xmlDocGetRootElement(doc);
    if (!root)
        return arena_strdup(a, "");
    xmlNode *body = find(root, "body");
    buf_init(&out, limit);
    blocks(&c, body ? body->children : root->children, &out);
    if (!out.overflow)
        r = arena_strdup(a, out.data ? out.data : "");
    buf_release(&out);
    return r;
}
