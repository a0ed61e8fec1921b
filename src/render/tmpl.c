/*
 * tmpl.c - the Mustache engine: parse once into a flat node array, render
 * many times without allocating; see tmpl.h and docs/templates.md.
 *
 * DESIGN
 * A template is parsed into one array of nodes. Containers (sections,
 * blocks, parents) are followed by their body and record in `end` the index
 * just past it, so rendering is a loop over an index range that recurses
 * only into bodies. Nodes point into the template's own copy of its source.
 *
 * Standalone lines (a section, comment, partial, ... tag alone on its
 * line) are removed at parse time. Indentation is the only thing that
 * depends on where a template is used, so every live template line starts
 * with an OP_LINE node holding the line's leading whitespace. Rendering
 * OP_LINE writes the current indentation prefix (a chain of whitespace
 * pieces kept on the C stack, one per standalone partial or re-indented
 * block) and then the line's own whitespace, less `strip` bytes when the
 * line belongs to a block argument whose own indentation must go (the
 * spec's "block reindentation"). Text, values and interpolated data never
 * get a prefix: only template lines do.
 *
 * A partial, parent or block used in the middle of a line continues that
 * line: its first template line must not repeat the prefix already
 * written, which is what render.skip records until the next OP_LINE.
 *
 * Partial and parent names are resolved at parse time to slots of the set;
 * a slot keeps its index when its template is replaced, so rendering looks
 * nothing up by name except the template it starts from. A pthread rwlock
 * lets tmpl_set_add replace templates while other threads render.
 *
 * Inheritance: a parent call {{<p}}...{{/p}} keeps only its {{$arg}}
 * nodes. Rendering p pushes a frame (on the C stack) naming the caller's
 * node; a {{$block}} in p looks its name up through the frames and the
 * outermost caller wins, as the spec requires. An argument renders in the
 * data context of the block it replaces.
 */
#include "render/tmpl.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/bounds.h"
#include "core/log.h"

#define DELIM_MAX 16         /* bytes in a custom delimiter */
#define NO_SKIP ((size_t)-1) /* render.skip: nothing to skip */
#define NO_POS ((size_t)-1)  /* "no such position" from right_clear() */

enum op {
    OP_NOP,      /* placeholder left by a standalone parent tag */
    OP_LINE,     /* start of a template line; off/len: its leading blanks */
    OP_TEXT,     /* literal bytes at off/len */
    OP_VAR,      /* {{name}}, {{{name}}}, {{&name}} */
    OP_SECTION,  /* {{#name}} body {{/name}} */
    OP_INVERTED, /* {{^name}} body {{/name}} */
    OP_PARTIAL,  /* {{>name}} */
    OP_PARENT,   /* {{<name}} args {{/name}}: body holds only OP_ARG nodes */
    OP_BLOCK,    /* {{$name}} default {{/name}} outside a parent call */
    OP_ARG,      /* {{$name}} argument {{/name}} directly in a parent call */
};

enum {
    F_ESCAPE = 1,     /* OP_VAR: HTML-escape the value */
    F_STANDALONE = 2, /* partial/parent/block: its tag(s) stood alone */
    F_MIDSTART = 4,   /* OP_ARG: the argument starts mid-line */
    F_LEFTCLEAR = 8,  /* OP_PARENT: only blanks before it on its line */
};

struct node {
    uint8_t op;      /* enum op */
    uint8_t flags;   /* F_* bits */
    uint32_t off;    /* source offset of the text, name or blanks */
    uint32_t len;    /* bytes at off */
    uint32_t ind;    /* source offset of the indentation (see below) */
    uint32_t indlen; /* its length; partial/parent/block: the indentation
                        where it is used; OP_ARG: its own, to strip */
    uint32_t end;    /* containers: index just past the body */
    uint32_t slot;   /* partial/parent: index in the set's slots */
};

struct tmpl {
    char *src;          /* the source, owned, NUL-terminated */
    size_t len;         /* bytes of source */
    struct node *nodes; /* the parsed template, owned */
    uint32_t n;         /* nodes used */
};

struct slot {
    char *name;     /* owned, NUL-terminated */
    size_t nlen;    /* strlen(name) */
    struct tmpl *t; /* the template, or NULL while only referenced */
};

struct tmpl_set {
    pthread_rwlock_t lock; /* read: renders; write: adds */
    struct slot *slots;    /* every name added or referenced */
    size_t n;              /* slots used */
    size_t cap;            /* slots allocated */
    uint32_t *index;       /* hash of names: slot + 1, or 0 when free */
    size_t icap;           /* index entries, a power of two (or 0) */
};

static void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q) {
        fputs("out of memory\n", stderr);
        abort();
    }
    return q;
}

static int is_blank(char c)
{
    return c == ' ' || c == '\t';
}

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* buf_add without the call and the NUL when the bytes fit: the caller
 * writes the NUL when done (cap > len always holds once data exists). */
static inline int append(struct buf *b, const char *s, size_t n)
{
    if (n < b->cap - b->len && b->len + n <= b->limit) {
        memcpy(b->data + b->len, s, n);
        b->len += n;
        return 0;
    }
    return n ? buf_add(b, s, n) : 0;
}

/* ---------------------------------------------------------------- names */

static uint32_t hash_name(const char *s, size_t n)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 16777619u;
    }
    return h;
}

static long find_slot(const struct tmpl_set *set, const char *s, size_t n)
{
    if (!set->icap)
        return -1;
    size_t mask = set->icap - 1;
    for (size_t i = hash_name(s, n) & mask;; i = (i + 1) & mask) {
        uint32_t v = set->index[i];
        if (!v)
            return -1;
        const struct slot *sl = &set->slots[v - 1];
        if (sl->nlen == n && memcmp(sl->name, s, n) == 0)
            return (long)(v - 1);
    }
}

static void index_put(struct tmpl_set *set, size_t slot)
{
    const struct slot *sl = &set->slots[slot];
    size_t mask = set->icap - 1;
    size_t i = hash_name(sl->name, sl->nlen) & mask;
    while (set->index[i])
        i = (i + 1) & mask;
    set->index[i] = (uint32_t)(slot + 1);
}

/* The slot for name, created (empty) if needed. */
static size_t get_slot(struct tmpl_set *set, const char *s, size_t n)
{
    long f = find_slot(set, s, n);
    if (f >= 0)
        return (size_t)f;
    if (set->n == set->cap) {
        set->cap = set->cap ? set->cap * 2 : 16;
        set->slots = xrealloc(set->slots, set->cap * sizeof *set->slots);
    }
    struct slot *sl = &set->slots[set->n];
    sl->name = xrealloc(NULL, n + 1);
    memcpy(sl->name, s, n);
    sl->name[n] = '\0';
    sl->nlen = n;
    sl->t = NULL;
    set->n++;
    if (set->n * 2 > set->icap) {
        set->icap = set->icap ? set->icap * 2 : 32;
        free(set->index);
        set->index = xrealloc(NULL, set->icap * sizeof *set->index);
        memset(set->index, 0, set->icap * sizeof *set->index);
        for (size_t i = 0; i < set->n; i++)
            index_put(set, i);
    } else {
        index_put(set, set->n - 1);
    }
    return set->n - 1;
}

/* --------------------------------------------------------------- parser */

enum kind {
    K_TOP,     /* the whole template */
    K_SECTION, /* body of a section or inverted section */
    K_BLOCK,   /* default content of a block */
    K_ARG,     /* an argument to a parent */
    K_PARENT,  /* inside a parent call: only arguments count */
};

struct parser {
    const char *s;        /* source */
    size_t len;           /* bytes of source */
    size_t pos;           /* where the next tag search starts */
    size_t text;          /* start of literal text not yet emitted */
    char otag[DELIM_MAX]; /* opening delimiter */
    size_t olen;          /* its length */
    char ctag[DELIM_MAX]; /* closing delimiter */
    size_t clen;          /* its length */
    struct node *nodes;   /* output, grown with xrealloc */
    size_t n;             /* nodes used */
    size_t cap;           /* nodes allocated */
    struct tmpl_set *set; /* where partial names become slots */
    int depth;            /* containers open */
    char *err;            /* error message out */
    size_t errlen;        /* its size */
};

struct tag {
    size_t start; /* offset of the opening delimiter */
    size_t end;   /* offset just past the closing delimiter */
    char sigil;   /* '#', '^', '/', '!', '=', '>', '<', '$', '{', '&', 0 */
    size_t name;  /* offset of the (trimmed) name or content */
    size_t nlen;  /* its length */
};

static int line_of(const struct parser *p, size_t at)
{
    int ln = 1;
    for (size_t i = 0; i < at && i < p->len; i++)
        ln += p->s[i] == '\n';
    return ln;
}

static int fail(struct parser *p, size_t at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(struct parser *p, size_t at, const char *fmt, ...)
{
    if (p->errlen) {
        int n = snprintf(p->err, p->errlen, "line %d: ", line_of(p, at));
        if (n >= 0 && (size_t)n < p->errlen) {
            va_list ap;
            va_start(ap, fmt);
            vsnprintf(p->err + n, p->errlen - (size_t)n, fmt, ap);
            va_end(ap);
        }
    }
    return -1;
}

static size_t add_node(struct parser *p, int op, size_t off, size_t len)
{
    if (p->n == p->cap) {
        p->cap = p->cap ? p->cap * 2 : 64;
        p->nodes = xrealloc(p->nodes, p->cap * sizeof *p->nodes);
    }
    struct node *nd = &p->nodes[p->n];
    memset(nd, 0, sizeof *nd);
    nd->op = (uint8_t)op;
    nd->off = (uint32_t)off;
    nd->len = (uint32_t)len;
    return p->n++;
}

static int line_start(const struct parser *p, size_t at)
{
    return at == 0 || p->s[at - 1] == '\n';
}

/* 1 if only blanks stand between the start of t's line and t; *ls is that
 * line start. */
static int left_clear(const struct parser *p, size_t t, size_t *ls)
{
    size_t i = t;
    while (i > 0 && is_blank(p->s[i - 1]))
        i--;
    *ls = i;
    return line_start(p, i);
}

/* Offset just past the end of the line if only blanks follow e on it (len
 * at the end of the source), else NO_POS. */
static size_t right_clear(const struct parser *p, size_t e)
{
    size_t i = e;
    while (i < p->len && is_blank(p->s[i]))
        i++;
    if (i == p->len)
        return i;
    if (p->s[i] == '\n')
        return i + 1;
    if (p->s[i] == '\r' && i + 1 < p->len && p->s[i + 1] == '\n')
        return i + 2;
    return NO_POS;
}

static size_t blanks_at(const struct parser *p, size_t at)
{
    size_t i = at;
    while (i < p->len && is_blank(p->s[i]))
        i++;
    return i - at;
}

/* Emits source [s, e) as OP_LINE (at each line start) and OP_TEXT nodes. */
static void emit_text(struct parser *p, size_t s, size_t e)
{
    while (s < e) {
        if (line_start(p, s)) {
            size_t q = s;
            while (q < e && is_blank(p->s[q]))
                q++;
            add_node(p, OP_LINE, s, q - s);
            s = q;
            if (s == e)
                break;
        }
        const char *nl = memchr(p->s + s, '\n', e - s);
        size_t stop = nl ? (size_t)(nl - p->s) + 1 : e;
        add_node(p, OP_TEXT, s, stop - s);
        s = stop;
    }
}

/* Emits pending text up to e (dropped inside a parent call). */
static void flush(struct parser *p, size_t e, int kind)
{
    if (kind != K_PARENT && e > p->text)
        emit_text(p, p->text, e);
    p->text = e;
}

/* Before a tag that stays on its line: pending text, and the line start
 * if the tag begins the line. */
static void inline_at(struct parser *p, size_t t, int kind)
{
    flush(p, t, kind);
    if (kind != K_PARENT && line_start(p, t))
        add_node(p, OP_LINE, t, 0);
}

/* Handles the whitespace around a tag that may stand alone on its line:
 * removes the line if it does (returns 1, *ls = line start), else emits
 * the text before it (returns 0). Either way p->pos moves past it. */
static int place_tag(struct parser *p, const struct tag *g, int kind,
                     size_t *ls)
{
    size_t after = NO_POS;
    if (left_clear(p, g->start, ls))
        after = right_clear(p, g->end);
    if (after != NO_POS) {
        flush(p, *ls, kind);
        p->pos = p->text = after;
        return 1;
    }
    inline_at(p, g->start, kind);
    p->pos = p->text = g->end;
    return 0;
}

static const char *find(const struct parser *p, size_t from, const char *pat,
                        size_t n)
{
    if (from > p->len)
        return NULL;
    return memmem(p->s + from, p->len - from, pat, n);
}

/* Reads the tag whose opening delimiter is at t. */
static int read_tag(struct parser *p, size_t t, struct tag *g)
{
    size_t a = t + p->olen;
    const char *k;
    size_t cstart, cend;

    g->start = t;
    g->sigil = a < p->len ? p->s[a] : 0;
    if (g->sigil == 0 || !strchr("#^/!=><${&", g->sigil))
        g->sigil = 0;
    cstart = g->sigil ? a + 1 : a;
    if (g->sigil == '{' || g->sigil == '=') {
        /* the content ends with '}' or '=' right before the delimiter */
        char want = g->sigil == '{' ? '}' : '=';
        size_t from = cstart;
        for (;;) {
            k = find(p, from, p->ctag, p->clen);
            if (!k)
                return fail(p, t, "unclosed tag");
            size_t at = (size_t)(k - p->s);
            if (at > cstart && p->s[at - 1] == want) {
                cend = at - 1;
                break;
            }
            from = at + 1;
        }
    } else {
        k = find(p, cstart, p->ctag, p->clen);
        if (!k)
            return fail(p, t, "unclosed tag");
        cend = (size_t)(k - p->s);
    }
    g->end = (size_t)(k - p->s) + p->clen;
    if (g->sigil == '!') {
        g->name = cstart;
        g->nlen = 0;
        return 0;
    }
    while (cstart < cend && is_space(p->s[cstart]))
        cstart++;
    while (cend > cstart && is_space(p->s[cend - 1]))
        cend--;
    g->name = cstart;
    g->nlen = cend - cstart;
    if (!g->nlen)
        return fail(p, t, "empty tag");
    return 0;
}

/* {{=<% %>=}}: the content is "<% %>". */
static int set_delims(struct parser *p, const struct tag *g)
{
    const char *s = p->s + g->name;
    size_t n = g->nlen, i = 0, a, b;

    while (i < n && !is_space(s[i]))
        i++;
    a = i;
    while (i < n && is_space(s[i]))
        i++;
    b = i;
    while (i < n && !is_space(s[i]))
        i++;
    if (i != n || a == 0 || b == a || b == n || a > DELIM_MAX ||
        n - b > DELIM_MAX || memchr(s, '=', n))
        return fail(p, g->start, "bad delimiter tag");
    memcpy(p->otag, s, a);
    p->olen = a;
    memcpy(p->ctag, s + b, n - b);
    p->clen = n - b;
    return 0;
}

static const char *kind_word(int op)
{
    switch (op) {
    case OP_PARENT:
        return "parent";
    case OP_BLOCK:
    case OP_ARG:
        return "block";
    default:
        return "section";
    }
}

static int parse_list(struct parser *p, int kind, size_t open);

/* Parses the body of the container just added at idx. */
static int parse_body(struct parser *p, int kind, size_t idx)
{
    if (p->depth >= BOUND_TMPL_DEPTH)
        return fail(p, p->nodes[idx].off, "tags nested deeper than %d",
                    BOUND_TMPL_DEPTH);
    p->depth++;
    int rc = parse_list(p, kind, idx);
    p->depth--;
    p->nodes[idx].end = (uint32_t)p->n;
    return rc;
}

/* The closing tag g of the container at open; returns 0 or -1. */
static int close_tag(struct parser *p, const struct tag *g, int kind,
                     size_t open)
{
    const struct node *o = &p->nodes[open];
    size_t ls, after;

    if (o->len != g->nlen || memcmp(p->s + o->off, p->s + g->name, g->nlen))
        return fail(p, g->start, "closing tag '%.*s' does not match '%.*s'",
                    (int)g->nlen, p->s + g->name, (int)o->len, p->s + o->off);
    switch (kind) {
    case K_ARG:
        /* blanks before it end the argument's last line, not start one */
        if (left_clear(p, g->start, &ls) && ls >= p->text)
            flush(p, ls, kind);
        else
            flush(p, g->start, kind);
        p->pos = p->text = g->end;
        break;
    case K_PARENT:
        after = right_clear(p, g->end);
        if ((o->flags & F_LEFTCLEAR) && after != NO_POS) {
            p->nodes[open].flags |= F_STANDALONE;
            p->pos = p->text = after;
        } else {
            if (o->flags & F_LEFTCLEAR)
                p->nodes[open - 1].op = OP_LINE; /* the kept indentation */
            p->pos = p->text = g->end;
        }
        break;
    default:
        place_tag(p, g, kind, &ls);
        break;
    }
    return 0;
}

static size_t add_named(struct parser *p, int op, const struct tag *g)
{
    return add_node(p, op, g->name, g->nlen);
}

/* {{>name}} */
static void partial_tag(struct parser *p, const struct tag *g, int kind)
{
    size_t ls, idx;
    int lc = left_clear(p, g->start, &ls);
    int alone = place_tag(p, g, kind, &ls);

    idx = add_named(p, OP_PARTIAL, g);
    p->nodes[idx].slot = (uint32_t)get_slot(p->set, p->s + g->name, g->nlen);
    if (alone || lc) {
        p->nodes[idx].ind = (uint32_t)ls;
        p->nodes[idx].indlen = (uint32_t)(g->start - ls);
    }
    if (alone)
        p->nodes[idx].flags |= F_STANDALONE;
}

/* {{<name}} ... {{/name}} */
static int parent_tag(struct parser *p, const struct tag *g, int kind)
{
    size_t ls, idx;
    int lc = left_clear(p, g->start, &ls);

    if (lc) {
        /* standalone or not is known only at the closing tag */
        flush(p, ls, kind);
        add_node(p, OP_NOP, ls, g->start - ls);
    } else {
        inline_at(p, g->start, kind);
    }
    p->pos = p->text = g->end;
    idx = add_named(p, OP_PARENT, g);
    p->nodes[idx].slot = (uint32_t)get_slot(p->set, p->s + g->name, g->nlen);
    if (lc) {
        p->nodes[idx].flags |= F_LEFTCLEAR;
        p->nodes[idx].ind = (uint32_t)ls;
        p->nodes[idx].indlen = (uint32_t)(g->start - ls);
    }
    return parse_body(p, K_PARENT, idx);
}

/* {{$name}} ... {{/name}}: an argument inside a parent call, else a block */
static int block_tag(struct parser *p, const struct tag *g, int kind)
{
    size_t ls, idx, at;

    if (kind == K_PARENT) {
        size_t after = right_clear(p, g->end);
        idx = add_named(p, OP_ARG, g);
        if (after != NO_POS) {
            p->pos = p->text = after;
            p->nodes[idx].ind = (uint32_t)after;
            p->nodes[idx].indlen = (uint32_t)blanks_at(p, after);
        } else {
            p->pos = p->text = g->end;
            p->nodes[idx].flags |= F_MIDSTART;
        }
        return parse_body(p, K_ARG, idx);
    }
    int lc = left_clear(p, g->start, &ls);
    int alone = place_tag(p, g, kind, &ls);
    idx = add_named(p, OP_BLOCK, g);
    if (alone) {
        /* intrinsic indentation: that of the line after the tag */
        at = p->text;
        p->nodes[idx].flags |= F_STANDALONE;
        p->nodes[idx].ind = (uint32_t)at;
        p->nodes[idx].indlen = (uint32_t)blanks_at(p, at);
    } else if (lc) {
        p->nodes[idx].ind = (uint32_t)ls;
        p->nodes[idx].indlen = (uint32_t)(g->start - ls);
    }
    return parse_body(p, K_BLOCK, idx);
}

/* Parses until the closing tag of the container at open (or the end of the
 * source for K_TOP). */
static int parse_list(struct parser *p, int kind, size_t open)
{
    for (;;) {
        const char *hit = find(p, p->pos, p->otag, p->olen);
        struct tag g;
        size_t ls, mark = p->n, idx;

        if (!hit) {
            if (kind != K_TOP)
                return fail(p, p->nodes[open].off, "unclosed %s '%.*s'",
                            kind_word(p->nodes[open].op),
                            (int)p->nodes[open].len, p->s + p->nodes[open].off);
            flush(p, p->len, kind);
            return 0;
        }
        if (read_tag(p, (size_t)(hit - p->s), &g) < 0)
            return -1;
        switch (g.sigil) {
        case '/':
            if (kind == K_TOP)
                return fail(p, g.start, "unexpected closing tag '%.*s'",
                            (int)g.nlen, p->s + g.name);
            return close_tag(p, &g, kind, open);
        case '!':
            place_tag(p, &g, kind, &ls);
            break;
        case '=':
            place_tag(p, &g, kind, &ls);
            if (set_delims(p, &g) < 0)
                return -1;
            break;
        case '#':
        case '^':
            place_tag(p, &g, kind, &ls);
            idx = add_named(p, g.sigil == '#' ? OP_SECTION : OP_INVERTED, &g);
            if (parse_body(p, K_SECTION, idx) < 0)
                return -1;
            break;
        case '>':
            partial_tag(p, &g, kind);
            break;
        case '<':
            if (parent_tag(p, &g, kind) < 0)
                return -1;
            break;
        case '$':
            if (block_tag(p, &g, kind) < 0)
                return -1;
            break;
        default:
            inline_at(p, g.start, kind);
            p->pos = p->text = g.end;
            idx = add_named(p, OP_VAR, &g);
            if (g.sigil == 0)
                p->nodes[idx].flags |= F_ESCAPE;
            break;
        }
        /* a parent call keeps its arguments and nothing else */
        if (kind == K_PARENT && p->n > mark && p->nodes[mark].op != OP_ARG)
            p->n = mark;
    }
}

static void tmpl_free(struct tmpl *t)
{
    if (!t)
        return;
    free(t->src);
    free(t->nodes);
    free(t);
}

/* Parses src into a new template whose names resolve in set. */
static struct tmpl *tmpl_parse(struct tmpl_set *set, const char *src,
                               size_t len, char *err, size_t errlen)
{
    struct parser p;
    struct tmpl *t = NULL;

    if (errlen)
        err[0] = '\0';
    if (len >= UINT32_MAX) {
        if (errlen)
            snprintf(err, errlen, "template larger than 4 GB");
        return NULL;
    }
    memset(&p, 0, sizeof p);
    p.s = xrealloc(NULL, len + 1);
    memcpy((char *)p.s, src, len);
    ((char *)p.s)[len] = '\0';
    p.len = len;
    memcpy(p.otag, "{{", 2);
    p.olen = 2;
    memcpy(p.ctag, "}}", 2);
    p.clen = 2;
    p.set = set;
    p.err = err;
    p.errlen = errlen;
    if (parse_list(&p, K_TOP, 0) < 0) {
        free((char *)p.s);
        free(p.nodes);
        return NULL;
    }
    t = xrealloc(NULL, sizeof *t);
    t->src = (char *)p.s;
    t->len = len;
    t->nodes = p.nodes;
    t->n = (uint32_t)p.n;
    return t;
}

/* ------------------------------------------------------------------ set */

struct tmpl_set *tmpl_set_new(void)
{
    struct tmpl_set *set = xrealloc(NULL, sizeof *set);
    pthread_rwlockattr_t attr;
    int rc;

    memset(set, 0, sizeof *set);
    /* a theme reload must not wait for a gap between renders */
    pthread_rwlockattr_init(&attr);
    pthread_rwlockattr_setkind_np(&attr,
                                  PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    rc = pthread_rwlock_init(&set->lock, &attr);
    pthread_rwlockattr_destroy(&attr);
    if (rc != 0) {
        fputs("cannot create template lock\n", stderr);
        abort();
    }
    return set;
}

void tmpl_set_free(struct tmpl_set *set)
{
    if (!set)
        return;
    for (size_t i = 0; i < set->n; i++) {
        free(set->slots[i].name);
        tmpl_free(set->slots[i].t);
    }
    free(set->slots);
    free(set->index);
    pthread_rwlock_destroy(&set->lock);
    free(set);
}

int tmpl_set_add(struct tmpl_set *set, const char *name, const char *src,
                 size_t len, char *err, size_t errlen)
{
    pthread_rwlock_wrlock(&set->lock);
    struct tmpl *t = tmpl_parse(set, src, len, err, errlen);
    if (t) {
        size_t i = get_slot(set, name, strlen(name)); /* may move slots */
        tmpl_free(set->slots[i].t);
        set->slots[i].t = t;
    }
    pthread_rwlock_unlock(&set->lock);
    return t ? 0 : -1;
}

int tmpl_set_has(const struct tmpl_set *set, const char *name)
{
    struct tmpl_set *m = (struct tmpl_set *)set; /* the lock is mutable */
    pthread_rwlock_rdlock(&m->lock);
    long i = find_slot(set, name, strlen(name));
    int has = i >= 0 && set->slots[i].t != NULL;
    pthread_rwlock_unlock(&m->lock);
    return has;
}

/* --------------------------------------------------------------- render */

enum why { WHY_NONE, WHY_DEPTH, WHY_LIMIT, WHY_STEPS };

/* One piece of indentation prefix; pieces chain outwards. */
struct indent {
    const char *s;           /* blanks */
    size_t n;                /* bytes at s */
    size_t total;            /* bytes in this piece and all outer ones */
    const struct indent *up; /* the enclosing piece, or NULL */
};

/* How lines of the range being rendered are indented. */
struct ictx {
    const struct indent *ind; /* prefix, or NULL for none */
    size_t strip;             /* leading blanks to drop from each line */
};

/* A parent call being rendered: where its arguments are. */
struct frame {
    const struct tmpl *t;   /* the template holding the call */
    uint32_t at;            /* index of its OP_PARENT node */
    const struct frame *up; /* the call that encloses it, or NULL */
};

struct render {
    const struct tmpl_set *set;        /* partials and parents */
    struct buf *out;                   /* output */
    json_t *ctx[BOUND_TMPL_DEPTH + 2]; /* context stack, top last */
    int nctx;                          /* entries in ctx */
    int depth;                         /* nested bodies and calls */
    unsigned long steps;               /* nodes visited (BOUND_TMPL_STEPS) */
    size_t skip;                       /* prefix bytes already written
                                          on this line, or NO_SKIP */
    enum why why;                      /* reason of a -1 */
};

static int put(struct render *r, const char *s, size_t n)
{
    if (append(r->out, s, n) < 0) {
        r->why = WHY_LIMIT;
        return -1;
    }
    return 0;
}

static int enter(struct render *r)
{
    if (r->depth >= BOUND_TMPL_DEPTH) {
        r->why = WHY_DEPTH;
        return -1;
    }
    r->depth++;
    return 0;
}

/* Writes the bytes of the prefix chain from offset `from` on. */
static int put_indent(struct render *r, const struct indent *in, size_t from)
{
    if (!in || in->total <= from)
        return 0;
    if (put_indent(r, in->up, from) < 0)
        return -1;
    size_t start = in->total - in->n;
    size_t off = from > start ? from - start : 0;
    return put(r, in->s + off, in->n - off);
}

/* The start of a template line whose leading blanks are ws. */
static int line(struct render *r, const struct ictx *ic, const char *ws,
                size_t n)
{
    size_t from = 0;
    if (r->skip != NO_SKIP) {
        from = r->skip;
        r->skip = NO_SKIP;
    }
    if (ic->ind && put_indent(r, ic->ind, from) < 0)
        return -1;
    size_t k = ic->strip < n ? ic->strip : n;
    return put(r, ws + k, n - k);
}

static json_t *lookup(const struct render *r, const char *name, size_t n)
{
    json_t *v = NULL;
    const char *dot;
    size_t seg;

    if (n == 1 && name[0] == '.')
        return r->nctx ? r->ctx[r->nctx - 1] : NULL;
    dot = memchr(name, '.', n);
    seg = dot ? (size_t)(dot - name) : n;
    for (int i = r->nctx - 1; i >= 0 && !v; i--)
        if (json_is_object(r->ctx[i]))
            v = json_object_getn(r->ctx[i], name, seg);
    while (v && dot) {
        name = dot + 1;
        n -= seg + 1;
        dot = memchr(name, '.', n);
        seg = dot ? (size_t)(dot - name) : n;
        v = json_is_object(v) ? json_object_getn(v, name, seg) : NULL;
    }
    return v;
}

static int truthy(const json_t *v)
{
    if (!v || json_is_false(v) || json_is_null(v))
        return 0;
    if (json_is_array(v))
        return json_array_size(v) > 0;
    if (json_is_string(v))
        return json_string_length(v) > 0;
    return 1;
}

/* Shortest of %.15g and %.17g that reads back as d. */
static size_t format_real(char *buf, size_t size, double d)
{
    int n = snprintf(buf, size, "%.15g", d);
    if (strtod(buf, NULL) != d)
        n = snprintf(buf, size, "%.17g", d);
    return n > 0 ? (size_t)n : 0;
}

static int put_value(struct render *r, json_t *v, int escape)
{
    char num[48];
    const char *s;
    size_t n;

    if (!v)
        return 0;
    switch (json_typeof(v)) {
    case JSON_STRING:
        s = json_string_value(v);
        n = json_string_length(v);
        break;
    case JSON_INTEGER:
        n = (size_t)snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT,
                             json_integer_value(v));
        s = num;
        break;
    case JSON_REAL:
        n = format_real(num, sizeof num, json_real_value(v));
        s = num;
        break;
    case JSON_TRUE:
        s = "true";
        n = 4;
        break;
    case JSON_FALSE:
        s = "false";
        n = 5;
        break;
    default:
        return 0;
    }
    if (!escape)
        return put(r, s, n);
    if (tmpl_escape_html(r->out, s, n) < 0) {
        r->why = WHY_LIMIT;
        return -1;
    }
    return 0;
}

static int render_range(struct render *r, const struct tmpl *t, uint32_t i,
                        uint32_t to, const struct frame *fr,
                        const struct ictx *ic);

/* Renders nodes [from, to) of t as a partial, parent or block argument
 * used at a tag indented by ws (n bytes of the caller's source). */
static int call(struct render *r, const struct tmpl *t, uint32_t from,
                uint32_t to, const struct frame *fr, const struct ictx *ic,
                const char *ws, size_t n, int standalone, size_t strip,
                int midstart)
{
    struct indent piece;
    struct ictx nic = {ic->ind, strip};
    size_t k = ic->strip < n ? ic->strip : n;
    int rc;

    if (n > k) {
        piece.s = ws + k;
        piece.n = n - k;
        piece.total = (ic->ind ? ic->ind->total : 0) + piece.n;
        piece.up = ic->ind;
        nic.ind = &piece;
    }
    if (enter(r) < 0)
        return -1;
    if (!standalone)
        r->skip = nic.ind ? nic.ind->total : 0;
    rc = 0;
    if (standalone && midstart)
        rc = line(r, &nic, "", 0);
    if (rc == 0)
        rc = render_range(r, t, from, to, fr, &nic);
    if (!standalone)
        r->skip = NO_SKIP;
    r->depth--;
    return rc;
}

static int section(struct render *r, const struct tmpl *t, uint32_t i,
                   const struct frame *fr, const struct ictx *ic)
{
    const struct node *nd = &t->nodes[i];
    json_t *v = lookup(r, t->src + nd->off, nd->len);
    int rc = 0;

    if (truthy(v) == (nd->op == OP_INVERTED))
        return 0;
    if (enter(r) < 0)
        return -1;
    if (nd->op == OP_INVERTED) {
        rc = render_range(r, t, i + 1, nd->end, fr, ic);
    } else if (json_is_array(v)) {
        size_t n = json_array_size(v);
        for (size_t k = 0; k < n && rc == 0; k++) {
            r->ctx[r->nctx++] = json_array_get(v, k);
            rc = render_range(r, t, i + 1, nd->end, fr, ic);
            r->nctx--;
        }
    } else {
        r->ctx[r->nctx++] = v;
        rc = render_range(r, t, i + 1, nd->end, fr, ic);
        r->nctx--;
    }
    r->depth--;
    return rc;
}

/* The argument for block name, from the outermost call that passes one. */
static const struct node *find_arg(const struct frame *fr, const char *name,
                                   size_t n, const struct frame **owner)
{
    const struct node *found = NULL;
    for (; fr; fr = fr->up) {
        const struct node *nodes = fr->t->nodes;
        uint32_t end = nodes[fr->at].end;
        for (uint32_t j = fr->at + 1; j < end; j = nodes[j].end) {
            const struct node *a = &nodes[j];
            if (a->len == n && memcmp(fr->t->src + a->off, name, n) == 0) {
                found = a;
                *owner = fr;
                break;
            }
        }
    }
    return found;
}

static int block(struct render *r, const struct tmpl *t, uint32_t i,
                 const struct frame *fr, const struct ictx *ic)
{
    const struct node *nd = &t->nodes[i];
    const struct frame *owner = NULL;
    const struct node *a = find_arg(fr, t->src + nd->off, nd->len, &owner);

    if (a) {
        const struct tmpl *at = owner->t;
        return call(r, at, (uint32_t)(a - at->nodes) + 1, a->end, owner->up, ic,
                    t->src + nd->ind, nd->indlen, nd->flags & F_STANDALONE,
                    a->indlen, a->flags & F_MIDSTART);
    }
    if (enter(r) < 0)
        return -1;
    int rc = render_range(r, t, i + 1, nd->end, fr, ic);
    r->depth--;
    return rc;
}

static int render_range(struct render *r, const struct tmpl *t, uint32_t i,
                        uint32_t to, const struct frame *fr,
                        const struct ictx *ic)
{
    const char *src = t->src;

    while (i < to) {
        const struct node *nd = &t->nodes[i];
        const struct tmpl *p;
        struct frame f;
        int rc = 0;

        /* nested sections over lists multiply: a template of a few
         * hundred bytes can ask for 2^n visits, so the visits are
         * counted, not only the output */
        if (++r->steps > BOUND_TMPL_STEPS) {
            r->why = WHY_STEPS;
            return -1;
        }
        switch (nd->op) {
        case OP_LINE:
            rc = line(r, ic, src + nd->off, nd->len);
            i++;
            break;
        case OP_TEXT:
            r->skip = NO_SKIP;
            rc = put(r, src + nd->off, nd->len);
            i++;
            break;
        case OP_VAR:
            r->skip = NO_SKIP;
            rc = put_value(r, lookup(r, src + nd->off, nd->len),
                           nd->flags & F_ESCAPE);
            i++;
            break;
        case OP_SECTION:
        case OP_INVERTED:
            rc = section(r, t, i, fr, ic);
            i = nd->end;
            break;
        case OP_PARTIAL:
            p = r->set->slots[nd->slot].t;
            if (p)
                rc = call(r, p, 0, p->n, fr, ic, src + nd->ind, nd->indlen,
                          nd->flags & F_STANDALONE, 0, 0);
            i++;
            break;
        case OP_PARENT:
            p = r->set->slots[nd->slot].t;
            f.t = t;
            f.at = i;
            f.up = fr;
            if (p)
                rc = call(r, p, 0, p->n, &f, ic, src + nd->ind, nd->indlen,
                          nd->flags & F_STANDALONE, 0, 0);
            i = nd->end;
            break;
        case OP_BLOCK:
            rc = block(r, t, i, fr, ic);
            i = nd->end;
            break;
        case OP_ARG:
            i = nd->end;
            break;
        default:
            i++;
            break;
        }
        if (rc < 0)
            return -1;
    }
    return 0;
}

/* Renders t; on failure out is restored and *why says what went wrong. */
static int render_tmpl(const struct tmpl_set *set, const struct tmpl *t,
                       json_t *data, struct buf *out, enum why *why)
{
    struct render r;
    struct ictx ic = {NULL, 0};
    size_t start = out->len;

    r.set = set;
    r.out = out;
    r.nctx = 0;
    if (data)
        r.ctx[r.nctx++] = data;
    r.depth = 0;
    r.steps = 0;
    r.skip = NO_SKIP;
    r.why = WHY_NONE;
    int rc = render_range(&r, t, 0, t->n, NULL, &ic);
    if (rc < 0) {
        out->len = start;
        *why = r.why;
    }
    if (out->data)
        out->data[out->len] = '\0';
    return rc;
}

static const char *why_text(enum why why)
{
    return why == WHY_DEPTH   ? "sections or partials nest too deep"
           : why == WHY_STEPS ? "rendering takes too many steps (sections "
                                "over lists nest too deep)"
                              : "output exceeds its limit";
}

int tmpl_set_render(const struct tmpl_set *set, const char *name, json_t *data,
                    struct buf *out)
{
    struct tmpl_set *m = (struct tmpl_set *)set; /* the lock is mutable */
    enum why why = WHY_NONE;
    int rc = -1;

    pthread_rwlock_rdlock(&m->lock);
    long i = find_slot(set, name, strlen(name));
    if (i < 0 || !set->slots[i].t) {
        log_warn("cannot render unknown template '%s'", name);
    } else {
        rc = render_tmpl(set, set->slots[i].t, data, out, &why);
        if (rc < 0 && why == WHY_DEPTH)
            log_warn("cannot render template '%s': sections or partials "
                     "nest deeper than %d",
                     name, BOUND_TMPL_DEPTH);
        else if (rc < 0 && why == WHY_STEPS)
            log_warn("cannot render template '%s': more than %d steps "
                     "(sections over lists nest too deep)",
                     name, BOUND_TMPL_STEPS);
        else if (rc < 0)
            log_warn("cannot render template '%s': output exceeds %zu bytes",
                     name, out->limit);
    }
    pthread_rwlock_unlock(&m->lock);
    return rc;
}

int tmpl_render_string(const char *src, size_t len, json_t *data,
                       json_t *partials, struct buf *out, char *err,
                       size_t errlen)
{
    struct tmpl_set *set = tmpl_set_new();
    struct tmpl *t = NULL;
    const char *key;
    json_t *val;
    char perr[256];
    enum why why = WHY_NONE;
    int rc = -1;

    if (errlen)
        err[0] = '\0';
    if (json_is_object(partials)) {
        json_object_foreach(partials, key, val)
        {
            const char *ps = json_is_string(val) ? json_string_value(val) : "";
            size_t pn = json_is_string(val) ? json_string_length(val) : 0;
            if (tmpl_set_add(set, key, ps, pn, perr, sizeof perr) < 0) {
                if (errlen)
                    snprintf(err, errlen, "partial '%s': %s", key, perr);
                goto out;
            }
        }
    }
    t = tmpl_parse(set, src, len, err, errlen);
    if (!t)
        goto out;
    rc = render_tmpl(set, t, data, out, &why);
    if (rc < 0 && errlen)
        snprintf(err, errlen, "%s", why_text(why));
out:
    tmpl_free(t);
    tmpl_set_free(set);
    return rc;
}

/* ------------------------------------------------------------- escaping */

int tmpl_escape_html(struct buf *out, const char *s, size_t n)
{
    /* index into rep[] of what replaces each byte, 0 for itself */
    static const unsigned char cls[256] = {
        ['&'] = 1, ['<'] = 2, ['>'] = 3, ['"'] = 4, ['\''] = 5,
    };
    static const char *const rep[] = {"",     "&amp;",  "&lt;",
                                      "&gt;", "&quot;", "&#39;"};
    static const unsigned char rlen[] = {0, 5, 4, 4, 6, 5};
    size_t run = 0;
    int rc = 0;

    for (size_t i = 0; i < n && rc == 0; i++) {
        unsigned c = cls[(unsigned char)s[i]];
        if (!c)
            continue;
        rc = append(out, s + run, i - run);
        if (rc == 0)
            rc = append(out, rep[c], rlen[c]);
        run = i + 1;
    }
    if (rc == 0)
        rc = append(out, s + run, n - run);
    if (out->data)
        out->data[out->len] = '\0';
    return rc;
}
