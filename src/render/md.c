/*
 * md.c - article Markdown to HTML; see md.h.
 *
 * DESIGN
 * cmark-gfm parses the source into a node tree; everything newsroom adds
 * is an edit of that tree before the single cmark_render_html() call:
 *   1. paragraphs that are only ::related[slug] are replaced by
 *      CMARK_NODE_CUSTOM_BLOCK nodes whose on_enter is the card's HTML
 *      (or removed when the target is missing);
 *   2. raw HTML nodes are removed, links with an unwanted scheme are
 *      unwrapped (their text stays) and images with an unwanted source
 *      are dropped;
 *   3. plain text, words and images are counted from the tree;
 *   4. each image is rendered alone by cmark - so cmark escapes its src and
 *      alt - given loading/decoding attributes, and put back as a
 *      CUSTOM_INLINE, or as a <figure> CUSTOM_BLOCK in place of a paragraph
 *      that holds nothing but the image;
 *   5. each h2..h4 is rendered alone by cmark, its opening tag swapped for
 *      one with an id and an anchor link, and put back as a CUSTOM_BLOCK.
 * Why custom nodes: in safe mode (no CMARK_OPT_UNSAFE) cmark's HTML
 * renderer replaces HTML_BLOCK and HTML_INLINE nodes - the only nodes
 * that raw HTML in the source can produce - with "<!-- raw HTML omitted
 * -->" (step 2 removes even that), but writes custom nodes'
 * on_enter/on_exit verbatim. Custom nodes
 * cannot be written in Markdown, so only this file can create them, and
 * everything it puts in them is either escaped here or came out of cmark's
 * own escaping renderer.
 * Nodes taken out of the tree are freed when the arena is released, as
 * the node lists gathered in one walk may still point into them.
 */
#include "render/md.h"

#include <cmark-gfm-core-extensions.h>
#include <cmark-gfm.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "core/arena.h"
#include "core/bounds.h"
#include "core/buf.h"
#include "core/log.h"
#include "core/str.h"

#define MD_OPTS (CMARK_OPT_SMART | CMARK_OPT_STRIKETHROUGH_DOUBLE_TILDE)
#define ANCHOR_MAX 80                  /* bytes of a heading id, before -N */
#define PIECE_MAX BOUND_PAGE_BYTES     /* one generated HTML fragment */
#define TEXT_MAX (4 * BOUND_MARKDOWN)  /* plain text (smart quotes grow) */
#define DIRECTIVE "::related["
#define ELLIPSIS "\xE2\x80\xA6" /* U+2026 */

struct nodes {
    cmark_node **v; /* nodes in document order, arena array */
    size_t n;       /* used */
    size_t cap;     /* allocated */
};

struct idslot {
    const char *id; /* heading id in use, or NULL for an empty slot */
    unsigned next;  /* next -N suffix to try for this base, 0 = 2 */
};

struct idset {
    struct idslot *slot; /* open addressing, linear probing */
    size_t cap;          /* slots, a power of two, or 0 */
    size_t n;            /* ids stored; kept under cap / 2 */
};

struct md {
    struct arena *a;        /* everything is allocated here */
    cmark_node *doc;        /* the document root */
    struct nodes paras;     /* every paragraph */
    struct nodes links;     /* every link */
    struct nodes images;    /* every image */
    struct nodes headings;  /* every heading */
    struct nodes raw;       /* raw HTML, block and inline: removed */
    struct idset ids;       /* heading ids given out */
    md_card_fn card;        /* related-card lookup, or NULL */
    md_image_fn image;      /* image-size lookup, or NULL */
    void *ctx;              /* for card and image */
    struct buf piece;       /* scratch for one HTML fragment */
    struct buf tmp;         /* scratch for plain text */
};

/* ids the page around the body uses (themes/default): a heading never
 * takes one of them. Keep in step with the templates. */
static const char *const reserved_ids[] = {
    "top",          "main",        "content",           "newsfeed",
    "audio-title",  "audio-note",  "corrections-title", "latest-title",
    "list-title",
};

static pthread_once_t ext_once = PTHREAD_ONCE_INIT;

static void ext_register(void)
{
    cmark_gfm_core_extensions_ensure_registered();
}

static void node_free(void *p)
{
    cmark_node_free(p);
}

static void nodes_push(struct arena *a, struct nodes *l, cmark_node *n)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        cmark_node **v = arena_alloc(a, cap * sizeof(*v));
        if (l->n)
            memcpy(v, l->v, l->n * sizeof(*v));
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = n;
}

/* ---- small HTML helpers ---- */

static void esc(struct buf *b, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '&': buf_adds(b, "&amp;"); break;
        case '<': buf_adds(b, "&lt;"); break;
        case '>': buf_adds(b, "&gt;"); break;
        case '"': buf_adds(b, "&quot;"); break;
        case '\'': buf_adds(b, "&#39;"); break;
        default: buf_addc(b, *s); break;
        }
    }
}

/* Appends cmark's own (escaping, safe-mode) HTML for node n alone. */
static void render_node(struct buf *b, cmark_node *n)
{
    cmark_mem *mem = cmark_get_default_mem_allocator();
    char *html = cmark_render_html(n, MD_OPTS, NULL);

    buf_adds(b, html);
    mem->free(html);
}

/* Puts a custom node of type t with HTML html in place of old. 0, or -1
 * when old's parent cannot hold such a node (old then stays). */
static int put_custom(struct md *m, cmark_node *old, cmark_node_type t,
                      const char *html)
{
    cmark_node *n = cmark_node_new(t);

    cmark_node_set_on_enter(n, html);
    cmark_node_set_on_exit(n, "");
    if (!cmark_node_replace(old, n)) {
        cmark_node_free(n);
        return -1;
    }
    arena_defer(m->a, node_free, old);
    return 0;
}

/* Plain text of the inlines under root: text and code, breaks as spaces.
 * Iterative, so deep nesting cannot exhaust the stack. */
static void plain_text(struct buf *b, cmark_node *root)
{
    cmark_iter *it = cmark_iter_new(root);
    cmark_event_type ev;

    while ((ev = cmark_iter_next(it)) != CMARK_EVENT_DONE) {
        cmark_node *n = cmark_iter_get_node(it);
        if (ev != CMARK_EVENT_ENTER)
            continue;
        switch (cmark_node_get_type(n)) {
        case CMARK_NODE_TEXT:
        case CMARK_NODE_CODE:
            buf_adds(b, cmark_node_get_literal(n));
            break;
        case CMARK_NODE_SOFTBREAK:
        case CMARK_NODE_LINEBREAK:
            buf_addc(b, ' ');
            break;
        default:
            break;
        }
    }
    cmark_iter_free(it);
}

/* 1 if url may be used: no scheme (a relative reference) or one of the
 * allowed schemes. Anything with a ':' before the first '/', '?' or '#'
 * that is not an allowed scheme is refused, which also catches
 * "java\tscript:" and leading spaces. */
static int url_allowed(const char *url, int image)
{
    static const char *const link_ok[] = {"http", "https", "mailto", "tel"};
    static const char *const image_ok[] = {"http", "https"};
    const char *const *ok = image ? image_ok : link_ok;
    size_t nok = image ? 2 : 4, len, i;
    char scheme[8];

    if (!url)
        return 1;
    len = strcspn(url, ":/?#");
    if (url[len] != ':')
        return 1;
    if (len == 0 || len >= sizeof(scheme))
        return 0;
    for (i = 0; i < len; i++) {
        char c = url[i];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c + 0x20);
        scheme[i] = c;
    }
    scheme[len] = '\0';
    for (i = 0; i < nok; i++)
        if (strcmp(scheme, ok[i]) == 0)
            return 1;
    return 0;
}

/* ---- heading ids ---- */

static uint32_t hash(const char *s)
{
    uint32_t h = 2166136261u; /* FNV-1a */

    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

/* The slot holding id, or NULL. */
static struct idslot *idset_get(struct idset *set, const char *id)
{
    size_t i;

    if (set->cap == 0)
        return NULL;
    for (i = hash(id) & (set->cap - 1); set->slot[i].id;
         i = (i + 1) & (set->cap - 1))
        if (strcmp(set->slot[i].id, id) == 0)
            return &set->slot[i];
    return NULL;
}

static void idset_put(struct arena *a, struct idset *set, const char *id)
{
    size_t i;

    if ((set->n + 1) * 2 > set->cap) {
        struct idset bigger;
        bigger.cap = set->cap ? set->cap * 2 : 64;
        bigger.n = 0;
        bigger.slot = arena_zalloc(a, bigger.cap * sizeof(*bigger.slot));
        for (i = 0; i < set->cap; i++) {
            if (set->slot[i].id) {
                size_t j = hash(set->slot[i].id) & (bigger.cap - 1);
                while (bigger.slot[j].id)
                    j = (j + 1) & (bigger.cap - 1);
                bigger.slot[j] = set->slot[i];
                bigger.n++;
            }
        }
        *set = bigger;
    }
    for (i = hash(id) & (set->cap - 1); set->slot[i].id;
         i = (i + 1) & (set->cap - 1))
        ;
    set->slot[i].id = id;
    set->slot[i].next = 0;
    set->n++;
}

/* base, or base-2, base-3 ... whichever is still free; marks it used. */
static const char *unique_id(struct md *m, const char *base)
{
    struct idslot *slot = idset_get(&m->ids, base);
    unsigned k;
    const char *id;

    if (!slot) {
        idset_put(m->a, &m->ids, base);
        return base;
    }
    for (k = slot->next ? slot->next : 2;; k++) {
        id = arena_printf(m->a, "%s-%u", base, k);
        if (!idset_get(&m->ids, id))
            break;
    }
    slot->next = k + 1; /* before idset_put, which may move slots */
    idset_put(m->a, &m->ids, id);
    return id;
}

/* ---- tables ---- */

/* Columns of a line that looks like a table delimiter row ("|---|:-:|"),
 * after any indentation and blockquote markers; 0 if it does not. */
static size_t delimiter_columns(const char *s, size_t n)
{
    size_t i = 0, runs = 0;

    while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '>'))
        i++;
    for (; i < n; i++) {
        char c = s[i];
        if (c == '-') {
            if (i == 0 || s[i - 1] != '-')
                runs++;
        } else if (c != '|' && c != ':' && c != ' ' && c != '\t' &&
                   c != '\r') {
            return 0;
        }
    }
    return runs;
}

static int blank_line(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
            return 0;
    return 1;
}

/* Upper bound of the table cells cmark-gfm would create: a table ends at
 * a blank line at the latest and has its delimiter row's width. Returns
 * as soon as the bound passes MD_TABLE_CELLS_MAX. */
static size_t table_cells(const char *s, size_t n)
{
    size_t i = 0, open = 0, total = 0;

    while (i < n && total <= MD_TABLE_CELLS_MAX) {
        const char *nl = memchr(s + i, '\n', n - i);
        size_t len = nl ? (size_t)(nl - (s + i)) : n - i;
        size_t cols;

        if (blank_line(s + i, len)) {
            open = 0;
        } else {
            total += open; /* a row of every table still open */
            cols = delimiter_columns(s + i, len);
            open += cols;
            total += 2 * cols; /* its header row and itself */
        }
        i += len + 1;
    }
    return total;
}

/* ---- the passes ---- */

static void collect(struct md *m)
{
    cmark_iter *it = cmark_iter_new(m->doc);
    cmark_event_type ev;

    while ((ev = cmark_iter_next(it)) != CMARK_EVENT_DONE) {
        cmark_node *n = cmark_iter_get_node(it);
        if (ev != CMARK_EVENT_ENTER)
            continue;
        switch (cmark_node_get_type(n)) {
        case CMARK_NODE_PARAGRAPH:
            nodes_push(m->a, &m->paras, n);
            break;
        case CMARK_NODE_HEADING:
            nodes_push(m->a, &m->headings, n);
            break;
        case CMARK_NODE_LINK:
            nodes_push(m->a, &m->links, n);
            break;
        case CMARK_NODE_IMAGE:
            nodes_push(m->a, &m->images, n);
            break;
        case CMARK_NODE_HTML_BLOCK:
        case CMARK_NODE_HTML_INLINE:
            nodes_push(m->a, &m->raw, n);
            break;
        default:
            break;
        }
    }
    cmark_iter_free(it);
}

/* The slug of a ::related[slug] paragraph (possibly invalid), or NULL if
 * the paragraph is something else. */
static char *directive_slug(struct md *m, cmark_node *para)
{
    cmark_node *first = cmark_node_first_child(para);
    const char *lit;
    char *s;
    size_t len, pre = strlen(DIRECTIVE);

    if (!first || cmark_node_get_type(first) != CMARK_NODE_TEXT)
        return NULL;
    lit = cmark_node_get_literal(first);
    if (!lit || !str_has_prefix(lit, DIRECTIVE))
        return NULL;
    buf_reset(&m->tmp);
    plain_text(&m->tmp, para);
    if (m->tmp.overflow || !m->tmp.data)
        return NULL;
    s = str_trim(m->tmp.data);
    len = strlen(s);
    if (len <= pre || s[len - 1] != ']')
        return NULL;
    s = arena_strndup(m->a, s + pre, len - pre - 1);
    if (strpbrk(s, "[]"))
        return NULL;
    return s;
}

/* slug, made fit for a log line (no control bytes, bounded). */
static char *log_safe(struct arena *a, const char *slug)
{
    char *s = arena_strndup(a, slug, strnlen(slug, BOUND_SLUG_LEN));

    for (char *p = s; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = '?';
    return s;
}

static void card_html(struct buf *b, const struct md_card *c)
{
    buf_adds(b, "<aside class=\"related-card\" aria-label=\"Related article\">"
                "<a href=\"");
    esc(b, c->url);
    buf_adds(b, "\"><span class=\"related-kicker\">Related</span>"
                "<strong class=\"related-title\">");
    esc(b, c->title);
    buf_adds(b, "</strong>");
    if (c->summary && *c->summary) {
        buf_adds(b, "<span class=\"related-summary\">");
        esc(b, c->summary);
        buf_adds(b, "</span>");
    }
    buf_adds(b, "</a></aside>\n");
}

static void do_cards(struct md *m)
{
    for (size_t i = 0; i < m->paras.n; i++) {
        cmark_node *p = m->paras.v[i];
        char *slug = directive_slug(m, p);
        struct md_card c = {NULL, NULL, NULL};
        int found;

        if (!slug)
            continue;
        found = str_slug_valid(slug) && m->card &&
                m->card(m->ctx, m->a, slug, &c) == 0 && c.title && c.url &&
                url_allowed(c.url, 0);
        if (!found) {
            if (m->card)
                log_warn("related card target '%s' not found",
                         log_safe(m->a, slug));
            cmark_node_unlink(p);
            arena_defer(m->a, node_free, p);
            continue;
        }
        buf_reset(&m->piece);
        card_html(&m->piece, &c);
        if (!m->piece.overflow)
            put_custom(m, p, CMARK_NODE_CUSTOM_BLOCK, m->piece.data);
    }
}

/* 1 if paragraph p holds nothing but white space. */
static int para_blank(cmark_node *p)
{
    cmark_node *c;

    for (c = cmark_node_first_child(p); c; c = cmark_node_next(c)) {
        cmark_node_type t = cmark_node_get_type(c);
        const char *lit = cmark_node_get_literal(c);
        if (t == CMARK_NODE_SOFTBREAK || t == CMARK_NODE_LINEBREAK)
            continue;
        if (t != CMARK_NODE_TEXT || !lit || lit[strspn(lit, " \t")] != '\0')
            return 0;
    }
    return 1;
}

/* Takes n out of the tree, and its paragraph too if nothing is left in
 * it but white space. */
static void drop(struct md *m, cmark_node *n)
{
    cmark_node *parent = cmark_node_parent(n);

    cmark_node_unlink(n);
    arena_defer(m->a, node_free, n);
    if (parent && cmark_node_get_type(parent) == CMARK_NODE_PARAGRAPH &&
        cmark_node_parent(parent) && para_blank(parent)) {
        cmark_node_unlink(parent);
        arena_defer(m->a, node_free, parent);
    }
}

/* Removes raw HTML (safe mode would only print a comment in its place),
 * unwraps links with unwanted schemes and drops images with unwanted
 * sources. Must run before the counts. */
static void do_sanitize(struct md *m)
{
    for (size_t i = 0; i < m->raw.n; i++)
        drop(m, m->raw.v[i]);
    for (size_t i = 0; i < m->links.n; i++) {
        cmark_node *l = m->links.v[i], *c;
        if (url_allowed(cmark_node_get_url(l), 0))
            continue;
        while ((c = cmark_node_first_child(l)) != NULL)
            cmark_node_insert_before(l, c);
        cmark_node_unlink(l);
        arena_defer(m->a, node_free, l);
    }
    for (size_t i = 0; i < m->images.n; i++) {
        if (url_allowed(cmark_node_get_url(m->images.v[i]), 1))
            continue;
        drop(m, m->images.v[i]);
        m->images.v[i] = NULL;
    }
}

/* Ends a block in the plain text: one newline, no trailing spaces. */
static void text_newline(struct buf *b)
{
    while (b->len > 0 && b->data[b->len - 1] == ' ')
        b->data[--b->len] = '\0';
    if (b->len > 0 && b->data[b->len - 1] != '\n')
        buf_addc(b, '\n');
}

/* Plain text of the whole body (image alt text left out) and images. */
static void do_text(struct md *m, struct buf *b, unsigned *images)
{
    cmark_iter *it = cmark_iter_new(m->doc);
    cmark_event_type ev;
    cmark_node *skip = NULL; /* image whose alt text is being skipped */

    while ((ev = cmark_iter_next(it)) != CMARK_EVENT_DONE) {
        cmark_node *n = cmark_iter_get_node(it);
        cmark_node_type t = cmark_node_get_type(n);
        if (skip) {
            if (n == skip && ev == CMARK_EVENT_EXIT)
                skip = NULL;
            continue;
        }
        if (t == CMARK_NODE_IMAGE) {
            (*images)++;
            skip = n;
            continue;
        }
        if (ev == CMARK_EVENT_ENTER) {
            switch (t) {
            case CMARK_NODE_TEXT:
            case CMARK_NODE_CODE:
                buf_adds(b, cmark_node_get_literal(n));
                break;
            case CMARK_NODE_SOFTBREAK:
            case CMARK_NODE_LINEBREAK:
                buf_addc(b, ' ');
                break;
            case CMARK_NODE_CODE_BLOCK:
                text_newline(b);
                buf_adds(b, cmark_node_get_literal(n));
                text_newline(b);
                break;
            default:
                break;
            }
        } else if ((t & CMARK_NODE_TYPE_MASK) == CMARK_NODE_TYPE_BLOCK) {
            if (strcmp(cmark_node_get_type_string(n), "table_cell") == 0)
                buf_addc(b, ' ');
            else
                text_newline(b);
        }
    }
    cmark_iter_free(it);
    while (b->len > 0 && b->data[b->len - 1] == '\n')
        b->data[--b->len] = '\0';
}

/* Appends cmark's <img ... /> for img with loading/decoding added, and
 * width/height when the image hook knows them. */
static void img_html(struct md *m, struct buf *b, cmark_node *img)
{
    unsigned w = 0, h = 0;
    static const char tail[] = " />";
    size_t start = b->len, tl = sizeof(tail) - 1;

    render_node(b, img);
    if (b->overflow || b->len - start < tl ||
        memcmp(b->data + b->len - tl, tail, tl) != 0)
        return;
    b->len -= tl;
    b->data[b->len] = '\0';
    if (m->image && m->image(m->ctx, m->a, cmark_node_get_url(img), &w, &h) == 0 &&
        w && h)
        buf_printf(b, " width=\"%u\" height=\"%u\"", w, h);
    buf_adds(b, " loading=\"lazy\" decoding=\"async\" />");
}

static void do_images(struct md *m)
{
    for (size_t i = 0; i < m->images.n; i++) {
        cmark_node *img = m->images.v[i], *parent;
        char *title;

        if (!img)
            continue; /* dropped */
        parent = cmark_node_parent(img);
        buf_reset(&m->piece);
        if (parent && cmark_node_get_type(parent) == CMARK_NODE_PARAGRAPH &&
            cmark_node_first_child(parent) == img &&
            cmark_node_last_child(parent) == img) {
            title = arena_strdup(m->a, cmark_node_get_title(img));
            cmark_node_set_title(img, ""); /* it becomes the caption */
            buf_adds(&m->piece, "<figure>");
            img_html(m, &m->piece, img);
            if (title && *title) {
                buf_adds(&m->piece, "<figcaption>");
                esc(&m->piece, title);
                buf_adds(&m->piece, "</figcaption>");
            }
            buf_adds(&m->piece, "</figure>\n");
            if (!m->piece.overflow)
                put_custom(m, parent, CMARK_NODE_CUSTOM_BLOCK,
                           m->piece.data);
            continue;
        }
        img_html(m, &m->piece, img);
        if (!m->piece.overflow) /* fails in table cells: img stays plain */
            put_custom(m, img, CMARK_NODE_CUSTOM_INLINE, m->piece.data);
    }
}

static void do_headings(struct md *m)
{
    struct buf rendered;

    buf_init(&rendered, PIECE_MAX);
    for (size_t i = 0; i < m->headings.n; i++) {
        cmark_node *h = m->headings.v[i];
        int level = cmark_node_get_heading_level(h);
        char open[5];
        const char *id;

        if (level == 1) {
            cmark_node_set_heading_level(h, 2);
            level = 2;
        }
        if (level < 2 || level > 4)
            continue;
        buf_reset(&m->tmp);
        plain_text(&m->tmp, h);
        id = unique_id(m, str_slugify(m->a, m->tmp.data ? m->tmp.data : "",
                                      ANCHOR_MAX));
        buf_reset(&rendered);
        render_node(&rendered, h);
        memcpy(open, "<h0>", sizeof(open));
        open[2] = (char)('0' + level);
        if (rendered.overflow || !rendered.data ||
            !str_has_prefix(rendered.data, open))
            continue;
        buf_reset(&m->piece);
        buf_printf(&m->piece,
                   "<h%d id=\"%s\"><a class=\"anchor\" href=\"#%s\" "
                   "aria-hidden=\"true\" tabindex=\"-1\">#</a>",
                   level, id, id);
        buf_adds(&m->piece, rendered.data + strlen(open));
        if (!m->piece.overflow)
            put_custom(m, h, CMARK_NODE_CUSTOM_BLOCK, m->piece.data);
    }
    buf_release(&rendered);
}

static void attach(cmark_parser *p, const char *name)
{
    cmark_syntax_extension *ext = cmark_find_syntax_extension(name);

    if (ext)
        cmark_parser_attach_syntax_extension(p, ext);
    else
        log_error("cannot find cmark-gfm extension '%s'", name);
}

int md_render(struct arena *a, const char *src, size_t len, md_card_fn card,
              void *ctx, struct md_doc *out)
{
    struct md_hooks h = {card, NULL, ctx};
    return md_render_hooks(a, src, len, &h, out);
}

int md_render_hooks(struct arena *a, const char *src, size_t len,
                    const struct md_hooks *hooks, struct md_doc *out)
{
    struct md m;
    struct buf text;
    cmark_parser *parser = NULL;
    cmark_mem *mem = cmark_get_default_mem_allocator();
    char *html;
    size_t cells;
    int ret = -1;

    memset(out, 0, sizeof(*out));
    memset(&m, 0, sizeof(m));
    if (!src)
        src = "";
    buf_init(&m.piece, PIECE_MAX);
    buf_init(&m.tmp, TEXT_MAX);
    buf_init(&text, TEXT_MAX);
    if (len > BOUND_MARKDOWN) {
        log_warn("markdown too large: %zu bytes (limit %d)", len,
                 BOUND_MARKDOWN);
        goto out;
    }
    if (!str_utf8_valid(src, len)) {
        log_warn("markdown is not valid UTF-8");
        goto out;
    }
    pthread_once(&ext_once, ext_register);

    parser = cmark_parser_new(MD_OPTS);
    attach(parser, "strikethrough");
    attach(parser, "autolink");
    cells = table_cells(src, len);
    if (cells <= MD_TABLE_CELLS_MAX)
        attach(parser, "table");
    else
        log_warn("markdown tables too large: over %d cells; shown as text",
                 MD_TABLE_CELLS_MAX);
    cmark_parser_feed(parser, src, len);
    m.doc = cmark_parser_finish(parser);
    arena_defer(a, node_free, m.doc);
    m.a = a;
    m.card = hooks ? hooks->card : NULL;
    m.image = hooks ? hooks->image : NULL;
    m.ctx = hooks ? hooks->ctx : NULL;
    for (size_t i = 0; i < sizeof(reserved_ids) / sizeof(reserved_ids[0]);
         i++)
        idset_put(a, &m.ids, reserved_ids[i]);

    collect(&m);
    do_cards(&m);
    do_sanitize(&m);
    do_text(&m, &text, &out->images);
    do_images(&m);
    do_headings(&m);

    html = cmark_render_html(m.doc, MD_OPTS,
                             cmark_parser_get_syntax_extensions(parser));
    out->html = arena_strdup(a, html);
    mem->free(html);
    out->text = arena_strndup(a, text.data ? text.data : "", text.len);
    out->words = str_word_count(out->text, text.len);
    ret = 0;
out:
    if (parser)
        cmark_parser_free(parser);
    buf_release(&m.piece);
    buf_release(&m.tmp);
    buf_release(&text);
    if (ret < 0)
        memset(out, 0, sizeof(*out));
    return ret;
}

/* ---- excerpts ---- */

static int is_closer(uint32_t c)
{
    return c == '"' || c == '\'' || c == ')' || c == ']' || c == 0x2019 ||
           c == 0x201D || c == 0x00BB;
}

static int is_stop(uint32_t c)
{
    return c == '.' || c == '!' || c == '?' || c == 0x2026;
}

static int is_ascii_space(char c)
{
    return c == ' ' || (c >= '\t' && c <= '\r');
}

char *md_excerpt(struct arena *a, const char *text, size_t max_chars)
{
    size_t n, cap, len = 0, chars = 0, i = 0;
    size_t sentence = 0, sentence_chars = 0; /* bytes/chars of sentences */
    size_t word = 0;                         /* bytes before a space */
    size_t hard = 0;                         /* bytes of max_chars-1 chars */
    int pending = 0, stop = 0, over = 0;
    char *out;

    if (!text || max_chars == 0)
        return arena_strdup(a, "");
    n = strlen(text);
    cap = max_chars < n ? (max_chars + 1) * 4 : n;
    out = arena_alloc(a, cap + sizeof(ELLIPSIS) + 1);

    while (i < n) {
        uint32_t c;
        size_t k;

        if (is_ascii_space(text[i])) {
            pending = len > 0;
            i++;
            continue;
        }
        k = str_utf8_decode(text + i, n - i, &c);
        if (k == 0) {
            k = 1;
            c = 0xFFFD; /* an invalid byte is copied but is no stop */
        }
        if (pending) {
            if (stop) {
                sentence = len;
                sentence_chars = chars;
            }
            if (chars <= max_chars - 1)
                word = len;
            if (chars + 1 > max_chars) {
                over = 1;
                break;
            }
            out[len++] = ' ';
            chars++;
            pending = 0;
        }
        if (chars + 1 > max_chars) {
            over = 1;
            break;
        }
        if (chars == max_chars - 1)
            hard = len;
        memcpy(out + len, text + i, k);
        len += k;
        chars++;
        i += k;
        if (is_stop(c))
            stop = 1;
        else if (!is_closer(c))
            stop = 0;
    }
    if (!over) {
        out[len] = '\0';
        return out;
    }
    if (sentence > 0 && sentence_chars * 2 >= max_chars) {
        out[sentence] = '\0';
        return out;
    }
    len = word > 0 ? word : hard;
    while (len > 0 && strchr(" ,;:-", out[len - 1]))
        len--;
    memcpy(out + len, ELLIPSIS, sizeof(ELLIPSIS));
    return out;
}
