/*
 * store_search.c - what both backends' store_search share: turning what a
 * reader typed into plain search terms, and making a snippet HTML-safe.
 *
 * A query never reaches a search engine's own syntax. Every byte that is
 * not an ASCII letter or digit or part of a valid UTF-8 sequence splits
 * words, so operators (AND, NEAR, *, -, ^, col:), parentheses and broken
 * UTF-8 become spaces; each term is then handed to the engine as a quoted
 * literal (FTS5 "term") or through phraseto_tsquery (PostgreSQL). Double
 * quotes that pair up keep the words between them as one phrase; an
 * unpaired one is ignored. The backends AND the terms together.
 *
 * Snippets: the engines mark hits with the sentinel bytes
 * STORE_SEARCH_MARK_ON / _OFF around raw text; store_search_snippet_html
 * escapes the text and only then turns the sentinels into <mark>.
 *
 * The index holds every post (schema 008); store_search_status says which
 * statuses a query may see: readers only ever get published posts.
 */
#include <string.h>

#include "core/arena.h"
#include "store/backend.h"
#include "store/store_sql.h"

/* 1 for a punctuation or space code point of the blocks news text uses:
 * Latin-1's (no-break space, << >>, inverted marks; not ordinal letters or
 * micro), x and division signs, General and Supplemental Punctuation
 * (dashes, curly quotes, ellipsis), CJK and fullwidth punctuation.
 * PostgreSQL's parser would keep them in a word ("\u201coil\u201d"). */
static int punct(unsigned cp)
{
    return (cp >= 0xa0 && cp <= 0xbf && cp != 0xaa && cp != 0xb5 &&
            cp != 0xba) ||
           cp == 0xd7 || cp == 0xf7 || (cp >= 0x2000 && cp <= 0x206f) ||
           (cp >= 0x2e00 && cp <= 0x2e7f) || (cp >= 0x3000 && cp <= 0x303f) ||
           (cp >= 0xfe30 && cp <= 0xfe4f) || (cp >= 0xff00 && cp <= 0xff0f) ||
           (cp >= 0xff1a && cp <= 0xff20) || (cp >= 0xff3b && cp <= 0xff40) ||
           (cp >= 0xff5b && cp <= 0xff65);
}

/* Length of the valid UTF-8 sequence of 2-4 bytes at s (n bytes left)
 * that is not punctuation, or 0. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    size_t len;
    unsigned cp;

    if (s[0] >= 0xc2 && s[0] <= 0xdf)
        len = 2, cp = s[0] & 0x1fu;
    else if (s[0] >= 0xe0 && s[0] <= 0xef)
        len = 3, cp = s[0] & 0x0fu;
    else if (s[0] >= 0xf0 && s[0] <= 0xf4)
        len = 4, cp = s[0] & 0x07u;
    else
        return 0;
    if (len > n)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3fu);
    }
    if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
        (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) || punct(cp))
        return 0;
    return len;
}

/* Bytes of the word character at s (0 = a separator). */
static size_t word_char(const unsigned char *s, size_t n)
{
    if ((s[0] >= '0' && s[0] <= '9') || (s[0] >= 'a' && s[0] <= 'z') ||
        (s[0] >= 'A' && s[0] <= 'Z'))
        return 1;
    return s[0] >= 0x80 ? utf8_len(s, n) : 0;
}

void store_search_terms(struct arena *a, const char *q,
                        struct store_search_terms *t)
{
    const unsigned char *s = (const unsigned char *)(q ? q : "");
    size_t n = strnlen((const char *)s, STORE_SEARCH_QUERY_BYTES);
    size_t quotes = 0, seen = 0, i = 0;
    char *cur = NULL;
    size_t len = 0;
    int in_phrase = 0;

    memset(t, 0, sizeof *t);
    for (size_t k = 0; k < n; k++)
        quotes += s[k] == '"';
    if (quotes % 2)
        quotes--; /* the last quote is unpaired: ignored */
    cur = arena_alloc(a, n + 1);
    while (i <= n && t->n < STORE_SEARCH_TERMS_MAX) {
        size_t w = i < n ? word_char(s + i, n - i) : 0;
        if (w) {
            memcpy(cur + len, s + i, w);
            len += w;
            i += w;
            continue;
        }
        /* a separator: ends a word, unless inside a phrase */
        if (i < n && s[i] == '"' && seen < quotes) {
            seen++;
            if (len) {
                cur[len] = '\0';
                t->term[t->n++] = cur;
                cur = arena_alloc(a, n + 1);
                len = 0;
            }
            in_phrase = !in_phrase;
        } else if (!in_phrase || i == n) {
            if (len) {
                cur[len] = '\0';
                t->term[t->n++] = cur;
                cur = arena_alloc(a, n + 1);
                len = 0;
            }
        } else if (len && cur[len - 1] != ' ') {
            cur[len++] = ' ';
        }
        i++;
    }
    /* a phrase's trailing space */
    for (size_t k = 0; k < t->n; k++) {
        size_t l = strlen(t->term[k]);
        if (l && t->term[k][l - 1] == ' ')
            t->term[k][l - 1] = '\0';
    }
}

const char *store_search_snippet_html(struct arena *a, const char *raw)
{
    size_t n = raw ? strlen(raw) : 0, len = 0;
    char *out = arena_alloc(a, n * 7 + 8); /* "</mark>" is the widest */
    int open = 0;

    for (size_t i = 0; i < n; i++) {
        const char *rep = NULL;
        char ch = raw[i];

        if (ch == STORE_SEARCH_MARK_ON) {
            rep = open ? "" : "<mark>";
            open = 1;
        } else if (ch == STORE_SEARCH_MARK_OFF) {
            rep = open ? "</mark>" : "";
            open = 0;
        } else if (ch == '&') {
            rep = "&amp;";
        } else if (ch == '<') {
            rep = "&lt;";
        } else if (ch == '>') {
            rep = "&gt;";
        } else if (ch == '"') {
            rep = "&quot;";
        } else if (ch == '\'') {
            rep = "&#39;";
        }
        if (rep) {
            size_t l = strlen(rep);
            memcpy(out + len, rep, l);
            len += l;
        } else {
            out[len++] = ch;
        }
    }
    if (open) {
        memcpy(out + len, "</mark>", 7);
        len += 7;
    }
    out[len] = '\0';
    return out;
}

const char *store_search_status(const struct store_search_query *q)
{
    if (!q->any_status)
        return store_sql_status_name(STORE_POST_PUBLISHED);
    return q->status < 0 ? NULL : store_sql_status_name(q->status);
}
