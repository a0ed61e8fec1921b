/*
 * nql.c - Ghost's filter language: parser and matcher (nql.h has the
 * grammar). The parser is recursive descent over the filter text, one
 * function per rule; depth, node count, list length and input size are
 * bounded so a hostile filter costs little and gets a clear error.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "content/nql.h"
#include "core/arena.h"
#include "core/bounds.h"

struct parser {
    struct arena *a;
    const char *s; /* the filter */
    size_t pos;    /* next byte */
    size_t depth;  /* open parentheses */
    size_t nodes;  /* nodes made */
    char *err;     /* where the reason goes */
    size_t errlen; /* its size */
    int failed;    /* 1 once err is set */
};

static void fail(struct parser *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void fail(struct parser *p, const char *fmt, ...)
{
    va_list ap;

    if (p->failed)
        return;
    p->failed = 1;
    va_start(ap, fmt);
    vsnprintf(p->err, p->errlen, fmt, ap);
    va_end(ap);
}

static void skip_blanks(struct parser *p)
{
    while (p->s[p->pos] == ' ' || p->s[p->pos] == '\t' ||
           p->s[p->pos] == '\n' || p->s[p->pos] == '\r')
        p->pos++;
}

static struct nql_node *new_node(struct parser *p, enum nql_kind kind)
{
    struct nql_node *n;

    if (++p->nodes > BOUND_NQL_NODES) {
        fail(p, "filter too long: more than %d expressions", BOUND_NQL_NODES);
        return NULL;
    }
    n = arena_zalloc(p->a, sizeof *n);
    n->kind = kind;
    return n;
}

/* A character that ends an unquoted literal. */
static int ends_literal(char c)
{
    return c == '\0' || strchr("'\"+,()><=[] \t\r\n", c) != NULL;
}

/* value := 'quoted' | literal | null | true | false | integer */
static int parse_value(struct parser *p, struct nql_value *v)
{
    size_t start;

    skip_blanks(p);
    if (p->s[p->pos] == '\'' || p->s[p->pos] == '"') {
        char q = p->s[p->pos];
        size_t open = p->pos + 1, len = 0;
        char *out;

        p->pos++;
        out = arena_alloc(p->a, strlen(p->s + p->pos) + 1);
        for (;;) {
            char c = p->s[p->pos];
            if (c == '\0') {
                fail(p, "unterminated quote at character %zu", open);
                return -1;
            }
            p->pos++;
            if (c == q)
                break;
            if (c == '\\' && p->s[p->pos] != '\0')
                c = p->s[p->pos++];
            out[len++] = c;
        }
        out[len] = '\0';
        v->type = NQL_TEXT;
        v->text = out;
        return 0;
    }
    start = p->pos;
    if (p->s[p->pos] == '-') {
        fail(p, "a value cannot start with '-' at character %zu", p->pos + 1);
        return -1;
    }
    while (!ends_literal(p->s[p->pos])) {
        if (p->s[p->pos] == '\\' && p->s[p->pos + 1] != '\0')
            p->pos++;
        p->pos++;
    }
    if (p->pos == start) {
        if (p->s[p->pos] == '\0')
            fail(p, "missing value at the end of the filter");
        else
            fail(p, "missing value at character %zu ('%c')", p->pos + 1,
                 p->s[p->pos]);
        return -1;
    }
    /* drop the escapes */
    {
        char *out = arena_alloc(p->a, p->pos - start + 1);
        size_t len = 0;
        for (size_t i = start; i < p->pos; i++) {
            if (p->s[i] == '\\' && i + 1 < p->pos)
                i++;
            out[len++] = p->s[i];
        }
        out[len] = '\0';
        v->text = out;
    }
    v->type = NQL_TEXT;
    if (strcmp(v->text, "null") == 0) {
        v->type = NQL_NULL;
    } else if (strcmp(v->text, "true") == 0) {
        v->type = NQL_TRUE;
    } else if (strcmp(v->text, "false") == 0) {
        v->type = NQL_FALSE;
    } else {
        size_t i = 0;
        while (isdigit((unsigned char)v->text[i]))
            i++;
        if (i > 0 && i <= 18 && v->text[i] == '\0') {
            v->type = NQL_NUMBER;
            v->number = strtoll(v->text, NULL, 10);
        }
    }
    return 0;
}

/* '[' value (',' value)* ']' after the '[' */
static int parse_list(struct parser *p, struct nql_node *n)
{
    size_t cap = 8, open = p->pos;

    n->vals = arena_alloc(p->a, cap * sizeof *n->vals);
    n->nvals = 0;
    for (;;) {
        if (n->nvals == BOUND_NQL_LIST) {
            fail(p, "list at character %zu has more than %d values", open,
                 BOUND_NQL_LIST);
            return -1;
        }
        if (n->nvals == cap) {
            struct nql_value *more = arena_alloc(p->a, 2 * cap * sizeof *more);
            memcpy(more, n->vals, cap * sizeof *more);
            n->vals = more;
            cap *= 2;
        }
        if (parse_value(p, &n->vals[n->nvals]) < 0)
            return -1;
        n->nvals++;
        skip_blanks(p);
        if (p->s[p->pos] == ',') {
            p->pos++;
            continue;
        }
        if (p->s[p->pos] == ']') {
            p->pos++;
            return 0;
        }
        fail(p, "unterminated list opened at character %zu", open);
        return -1;
    }
}

/* field ':' op? value */
static struct nql_node *parse_cmp(struct parser *p)
{
    struct nql_node *n;
    size_t start = p->pos;
    char *field;
    const char *s = p->s;

    if (!isalpha((unsigned char)s[p->pos]) && s[p->pos] != '_') {
        if (s[p->pos] == '\0')
            fail(p, "missing expression at the end of the filter");
        else
            fail(p, "expected a field name at character %zu, found '%c'",
                 p->pos + 1, s[p->pos]);
        return NULL;
    }
    while (isalnum((unsigned char)s[p->pos]) || s[p->pos] == '_' ||
           s[p->pos] == '.')
        p->pos++;
    if (p->pos - start > 64) {
        fail(p, "field name too long at character %zu", start + 1);
        return NULL;
    }
    field = arena_strndup(p->a, s + start, p->pos - start);
    for (char *c = field; *c; c++)
        *c = (char)tolower((unsigned char)*c);
    skip_blanks(p);
    if (s[p->pos] != ':') {
        fail(p, "expected ':' after '%s' at character %zu", field, p->pos + 1);
        return NULL;
    }
    p->pos++;
    skip_blanks(p);
    n = new_node(p, NQL_CMP);
    if (!n)
        return NULL;
    n->field = field;
    n->op = NQL_EQ;
    if (s[p->pos] == '-') {
        p->pos++;
        n->op = NQL_NE;
        if (s[p->pos] == '~') {
            p->pos++;
            n->op = NQL_NCONTAINS;
        }
    } else if (s[p->pos] == '>' || s[p->pos] == '<') {
        int gt = s[p->pos] == '>';
        p->pos++;
        if (s[p->pos] == '=') {
            p->pos++;
            n->op = gt ? NQL_GE : NQL_LE;
        } else {
            n->op = gt ? NQL_GT : NQL_LT;
        }
    } else if (s[p->pos] == '~') {
        p->pos++;
        n->op = NQL_CONTAINS;
        if (s[p->pos] == '^') {
            p->pos++;
            n->op = NQL_STARTS;
        } else if (s[p->pos] == '$') {
            p->pos++;
            n->op = NQL_ENDS;
        }
    }
    skip_blanks(p);
    if (s[p->pos] == '[') {
        if (n->op != NQL_EQ && n->op != NQL_NE) {
            fail(p, "a list cannot follow that operator at character %zu",
                 p->pos + 1);
            return NULL;
        }
        n->op = n->op == NQL_EQ ? NQL_IN : NQL_NIN;
        p->pos++;
        return parse_list(p, n) < 0 ? NULL : n;
    }
    n->vals = arena_zalloc(p->a, sizeof *n->vals);
    n->nvals = 1;
    return parse_value(p, n->vals) < 0 ? NULL : n;
}

static struct nql_node *parse_or(struct parser *p);

/* '(' or ')' | comparison */
static struct nql_node *parse_term(struct parser *p)
{
    skip_blanks(p);
    if (p->s[p->pos] == '(') {
        size_t open = p->pos + 1;
        struct nql_node *n;

        if (++p->depth > BOUND_NQL_DEPTH) {
            fail(p, "parentheses nested deeper than %d at character %zu",
                 BOUND_NQL_DEPTH, open);
            return NULL;
        }
        p->pos++;
        n = parse_or(p);
        if (!n)
            return NULL;
        skip_blanks(p);
        if (p->s[p->pos] != ')') {
            fail(p, "unclosed '(' at character %zu", open);
            return NULL;
        }
        p->pos++;
        p->depth--;
        return n;
    }
    return parse_cmp(p);
}

static struct nql_node *parse_and(struct parser *p)
{
    struct nql_node *left = parse_term(p);

    for (;;) {
        struct nql_node *n;
        size_t before = p->pos;
        char c;
        if (!left)
            return NULL;
        skip_blanks(p);
        c = p->s[p->pos];
        /* a URL's unescaped '+' arrives as a blank: read it as '+' */
        if (c != '+' && !(p->pos > before &&
                          (isalpha((unsigned char)c) || c == '_' || c == '(')))
            return left;
        if (c == '+')
            p->pos++;
        n = new_node(p, NQL_AND);
        if (!n)
            return NULL;
        n->left = left;
        n->right = parse_term(p);
        if (!n->right)
            return NULL;
        left = n;
    }
}

static struct nql_node *parse_or(struct parser *p)
{
    struct nql_node *left = parse_and(p);

    for (;;) {
        struct nql_node *n;
        if (!left)
            return NULL;
        skip_blanks(p);
        if (p->s[p->pos] != ',')
            return left;
        p->pos++;
        n = new_node(p, NQL_OR);
        if (!n)
            return NULL;
        n->left = left;
        n->right = parse_and(p);
        if (!n->right)
            return NULL;
        left = n;
    }
}

int nql_parse(struct arena *a, const char *filter, struct nql_node **out,
              char *err, size_t errlen)
{
    struct parser p = {a, filter, 0, 0, 0, err, errlen, 0};
    struct nql_node *n;

    *out = NULL;
    if (strlen(filter) > BOUND_NQL_BYTES) {
        snprintf(err, errlen, "filter too long: more than %d bytes",
                 BOUND_NQL_BYTES);
        return -1;
    }
    n = parse_or(&p);
    if (n) {
        skip_blanks(&p);
        if (p.s[p.pos] == ')')
            fail(&p, "unexpected ')' at character %zu", p.pos + 1);
        else if (p.s[p.pos] != '\0')
            fail(&p, "unexpected '%c' at character %zu", p.s[p.pos], p.pos + 1);
    }
    if (p.failed || !n) {
        if (!p.failed)
            snprintf(err, errlen, "cannot parse the filter");
        return -1;
    }
    *out = n;
    return 0;
}

/* --- dates ---------------------------------------------------------------- */

/* "now", "now-30d", "now+1w" (units s m h d w M y, as NQL's relative
 * dates): 0 or -1. */
static int relative_date(const char *s, int64_t *t)
{
    time_t now = time(NULL);
    struct tm tm;
    long n = 0;
    char unit = 0, sign;
    int used = 0;

    if (strncmp(s, "now", 3) != 0 || !gmtime_r(&now, &tm))
        return -1;
    s += 3;
    if (*s == '\0') {
        *t = (int64_t)now;
        return 0;
    }
    sign = *s;
    if ((sign != '-' && sign != '+') ||
        sscanf(s + 1, "%6ld%c%n", &n, &unit, &used) != 2 || s[1 + used] ||
        !isdigit((unsigned char)s[1]))
        return -1;
    n = sign == '-' ? -n : n;
    switch (unit) {
    case 's':
        tm.tm_sec += (int)n;
        break;
    case 'm':
        tm.tm_min += (int)n;
        break;
    case 'h':
        tm.tm_hour += (int)n;
        break;
    case 'd':
        tm.tm_mday += (int)n;
        break;
    case 'w':
        tm.tm_mday += (int)(7 * n);
        break;
    case 'M':
        tm.tm_mon += (int)n;
        break;
    case 'y':
        tm.tm_year += (int)n;
        break;
    default:
        return -1;
    }
    *t = (int64_t)timegm(&tm);
    return 0;
}

int nql_date(const char *s, int64_t *t)
{
    struct tm tm = {0};
    int y, mo, d, h = 0, mi = 0, sec = 0, n = 0;
    const char *r;
    long off = 0;

    if (strncmp(s, "now", 3) == 0)
        return relative_date(s, t);
    if (sscanf(s, "%4d-%2d-%2d%n", &y, &mo, &d, &n) != 3 || n != 10)
        return -1;
    r = s + n;
    if (*r == ' ' || *r == 'T') {
        int m = 0;
        if (sscanf(r + 1, "%2d:%2d%n", &h, &mi, &m) != 2 || m != 5)
            return -1;
        r += 1 + m;
        if (*r == ':') {
            if (sscanf(r + 1, "%2d%n", &sec, &m) != 1 || m != 2)
                return -1;
            r += 1 + m;
        }
        if (*r == '.') {
            r++;
            while (isdigit((unsigned char)*r))
                r++;
        }
        if (*r == 'Z') {
            r++;
        } else if (*r == '+' || *r == '-') {
            int oh, om;
            if (sscanf(r + 1, "%2d:%2d%n", &oh, &om, &m) != 2 || m != 5)
                return -1;
            off = (long)(oh * 3600 + om * 60) * (*r == '+' ? 1 : -1);
            r += 1 + m;
        }
    }
    if (*r != '\0' || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 ||
        mi > 59 || sec > 60)
        return -1;
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec;
    *t = (int64_t)timegm(&tm) - off;
    return 0;
}

/* --- matching ------------------------------------------------------------- */

/* The filter value as a number for a numeric or date field; -1 if it is
 * not one. */
static int value_number(const struct nql_value *v, int is_date, int64_t *out)
{
    if (v->type == NQL_NUMBER && !is_date) {
        *out = v->number;
        return 0;
    }
    if (v->type == NQL_TRUE || v->type == NQL_FALSE) {
        *out = v->type == NQL_TRUE;
        return 0;
    }
    if (is_date)
        return nql_date(v->text, out);
    if (v->type == NQL_TEXT) {
        char *end;
        long long x = strtoll(v->text, &end, 10);
        if (*v->text && *end == '\0') {
            *out = x;
            return 0;
        }
    }
    return -1;
}

static int text_eq(const char *a, const char *b)
{
    return strcasecmp(a, b) == 0;
}

static int text_contains(const char *hay, const char *needle)
{
    return strcasestr(hay, needle) != NULL;
}

/* Compares one item value with one filter value: <0, 0, >0, or 2 when
 * they cannot be compared (never equal, never ordered). */
static int compare(const struct nql_value *item, const struct nql_value *f,
                   int is_date, int *bad)
{
    int64_t x;

    if (f->type == NQL_NULL || item->type == NQL_NULL)
        return f->type == item->type ? 0 : 2;
    if (item->type == NQL_NUMBER || item->type == NQL_TRUE ||
        item->type == NQL_FALSE) {
        int64_t iv =
            item->type == NQL_NUMBER ? item->number : item->type == NQL_TRUE;
        if (value_number(f, is_date, &x) < 0) {
            if (is_date)
                *bad = 1;
            return 2;
        }
        return iv < x ? -1 : iv > x;
    }
    return strcmp(item->text, f->text);
}

static int cmp_match(const struct nql_node *n, const struct nql_field *fd,
                     int *bad)
{
    int any = 0;
    struct nql_value null_v = {NQL_NULL, "null", 0};
    const struct nql_value *iv = fd->vals;
    size_t ni = fd->nvals;

    if (ni == 0) { /* a missing value is null */
        iv = &null_v;
        ni = 1;
    }
    for (size_t i = 0; i < ni && !any; i++) {
        for (size_t j = 0; j < n->nvals && !any; j++) {
            const struct nql_value *f = &n->vals[j];
            int c = compare(&iv[i], f, fd->is_date, bad);
            int text = iv[i].type == NQL_TEXT && f->type != NQL_NULL;
            switch (n->op) {
            case NQL_EQ:
            case NQL_NE:
            case NQL_IN:
            case NQL_NIN:
                any = text ? text_eq(iv[i].text, f->text) : c == 0;
                break;
            case NQL_GT:
                any = c != 2 && c > 0;
                break;
            case NQL_GE:
                any = c != 2 && c >= 0;
                break;
            case NQL_LT:
                any = c != 2 && c < 0;
                break;
            case NQL_LE:
                any = c != 2 && c <= 0;
                break;
            case NQL_CONTAINS:
            case NQL_NCONTAINS:
                any = text && text_contains(iv[i].text, f->text);
                break;
            case NQL_STARTS:
                any = text &&
                      strncasecmp(iv[i].text, f->text, strlen(f->text)) == 0;
                break;
            case NQL_ENDS: {
                size_t lt = text ? strlen(iv[i].text) : 0, lf = strlen(f->text);
                any = text && lt >= lf &&
                      strcasecmp(iv[i].text + lt - lf, f->text) == 0;
                break;
            }
            }
        }
    }
    if (n->op == NQL_NE || n->op == NQL_NIN || n->op == NQL_NCONTAINS)
        return !any;
    return any;
}

int nql_match(const struct nql_node *n, struct arena *a, nql_lookup_fn fn,
              void *ctx, char *err, size_t errlen)
{
    struct nql_field fd = {0};
    int l, bad = 0, r;

    switch (n->kind) {
    case NQL_AND:
    case NQL_OR:
        l = nql_match(n->left, a, fn, ctx, err, errlen);
        if (l < 0)
            return -1;
        if ((n->kind == NQL_AND && !l) || (n->kind == NQL_OR && l))
            return l;
        return nql_match(n->right, a, fn, ctx, err, errlen);
    case NQL_CMP:
        break;
    }
    fn(ctx, a, n->field, &fd);
    if (!fd.known) {
        snprintf(err, errlen, "unknown field '%s'", n->field);
        return -1;
    }
    r = cmp_match(n, &fd, &bad);
    if (bad) {
        snprintf(err, errlen, "cannot read a date in the filter on '%s'",
                 n->field);
        return -1;
    }
    return r;
}
