/*
 * nql.h - Ghost's filter language (NQL) for the Content API: a small
 * recursive-descent parser that turns a filter such as
 *
 *     tag:news+(featured:true,published_at:>'2024-01-01')
 *
 * into a tree, and a matcher that tests the tree against one item whose
 * fields the caller looks up. Knows nothing of HTTP or of posts: web/
 * ghost_api.c maps field names to values (docs/content-api.md).
 *
 * Grammar (https://docs.ghost.org/content-api/filtering):
 *     filter := or
 *     or     := and (',' and)*          ',' is OR
 *     and    := term ('+' term)*        '+' is AND, binding tighter; a
 *                                       blank between two terms is read
 *                                       as '+' (URL decoding turns an
 *                                       unescaped '+' into a blank)
 *     term   := '(' or ')' | field ':' op? value
 *     op     := '-' (not) | '>' | '>=' | '<' | '<=' | '~' (contains)
 *               | '~^' (starts with) | '~$' (ends with) | '-~'
 *     value  := 'quoted text' (\' and \\ escape) | literal | null | true
 *               | false | integer | '[' value (',' value)* ']'
 * Fields are [a-zA-Z_][a-zA-Z0-9_.]*, lower-cased. Blanks between tokens
 * are ignored. Every size is bounded (BOUND_NQL_* in core/bounds.h).
 */
#ifndef CONTENT_NQL_H
#define CONTENT_NQL_H

#include <stddef.h>
#include <stdint.h>

struct arena;

enum nql_kind {
    NQL_AND, /* left and right */
    NQL_OR,  /* left or right */
    NQL_CMP, /* field op value(s) */
};

enum nql_op {
    NQL_EQ,        /* field:v */
    NQL_NE,        /* field:-v */
    NQL_GT,        /* field:>v */
    NQL_GE,        /* field:>=v */
    NQL_LT,        /* field:<v */
    NQL_LE,        /* field:<=v */
    NQL_IN,        /* field:[a,b] */
    NQL_NIN,       /* field:-[a,b] */
    NQL_CONTAINS,  /* field:~v */
    NQL_NCONTAINS, /* field:-~v */
    NQL_STARTS,    /* field:~^v */
    NQL_ENDS,      /* field:~$v */
};

enum nql_type {
    NQL_TEXT,   /* quoted text or a literal */
    NQL_NUMBER, /* an unquoted integer (text holds its digits too) */
    NQL_TRUE,   /* unquoted true */
    NQL_FALSE,  /* unquoted false */
    NQL_NULL,   /* unquoted null */
};

struct nql_value {
    enum nql_type type;
    const char *text; /* the value as written, unquoted (never NULL) */
    int64_t number;   /* with NQL_NUMBER */
};

struct nql_node {
    enum nql_kind kind;
    struct nql_node *left, *right; /* NQL_AND / NQL_OR */
    const char *field;             /* NQL_CMP: lower-case path */
    enum nql_op op;                /* NQL_CMP */
    struct nql_value *vals;        /* NQL_CMP: one, or the list of IN/NIN */
    size_t nvals;
};

/* Parses filter (NUL-terminated) into *out, allocated in a. 0, or -1 with
 * a one-line reason in err naming the position ("unterminated quote at
 * character 12"); over a BOUND_NQL_* limit is such an error too. */
int nql_parse(struct arena *a, const char *filter, struct nql_node **out,
              char *err, size_t errlen);

/* A field's values for one item, as the caller's lookup gives them. */
struct nql_field {
    int known;              /* 0 = no such field (nql_match fails) */
    int is_date;            /* 1 = values are Unix seconds (NQL_NUMBER);
                               filter text is read as a date */
    struct nql_value *vals; /* the item's values; a list for many-valued
                               fields (tags.slug); none for NULL */
    size_t nvals;
};
/* Looks field up on the item ctx points to; vals in a. */
typedef void (*nql_lookup_fn)(void *ctx, struct arena *a, const char *field,
                              struct nql_field *out);

/* 1 when the item matches n, 0 when not, -1 with a reason in err (an
 * unknown field, a date that cannot be read). Comparisons of a
 * many-valued field hold when any value does (NE, NIN, NCONTAINS: when
 * none equals). Text compares bytewise, ASCII letters case-insensitively
 * for ~ and for EQ/NE/IN. */
int nql_match(const struct nql_node *n, struct arena *a, nql_lookup_fn fn,
              void *ctx, char *err, size_t errlen);

/* Reads a filter date: "2024-01-01", "2024-01-01 10:30[:00]",
 * "2024-01-01T10:30:00[.000][Z|+02:00]" into Unix seconds (UTC unless an
 * offset is given), or one relative to the clock as NQL writes them:
 * "now", "now-30d", "now+2w" (units s m h d w M y). 0 or -1. */
int nql_date(const char *s, int64_t *t);

#endif
