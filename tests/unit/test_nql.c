/*
 * test_nql.c - Ghost's filter language (src/content/nql.c): every
 * operator, precedence, quoting, dates, and hostile input that must get a
 * clear error rather than a crash or a wrong answer.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "content/nql.h"
#include "core/arena.h"
#include "core/bounds.h"

/* A post as the matcher sees it. */
struct item {
    const char *slug;
    int featured;
    int64_t published_at;
    const char *tags[3];
    const char *title;
    const char *excerpt; /* may be NULL */
};

static void lookup(void *ctx, struct arena *a, const char *field,
                   struct nql_field *out)
{
    struct item *it = ctx;

    out->known = 1;
    out->vals = arena_zalloc(a, 4 * sizeof *out->vals);
    if (strcmp(field, "slug") == 0 || strcmp(field, "title") == 0) {
        out->vals[0].text = field[0] == 's' ? it->slug : it->title;
        out->nvals = 1;
    } else if (strcmp(field, "featured") == 0) {
        out->vals[0].type = it->featured ? NQL_TRUE : NQL_FALSE;
        out->vals[0].text = it->featured ? "true" : "false";
        out->nvals = 1;
    } else if (strcmp(field, "published_at") == 0) {
        out->is_date = 1;
        out->vals[0].type = NQL_NUMBER;
        out->vals[0].number = it->published_at;
        out->vals[0].text = "";
        out->nvals = 1;
    } else if (strcmp(field, "tag") == 0 || strcmp(field, "tags.slug") == 0) {
        for (size_t i = 0; i < 3 && it->tags[i]; i++)
            out->vals[out->nvals++].text = it->tags[i];
    } else if (strcmp(field, "custom_excerpt") == 0) {
        if (it->excerpt) {
            out->vals[0].text = it->excerpt;
            out->nvals = 1;
        }
    } else {
        out->known = 0;
    }
}

static struct item posts[] = {
    {"budget",
     1,
     1704067200 /* 2024-01-01 */,
     {"economy", "news"},
     "Budget day",
     NULL},
    {"storm",
     0,
     1706745600 /* 2024-02-01 */,
     {"weather"},
     "Storm's end",
     "wind"},
    {"vote",
     0,
     1709251200 /* 2024-03-01 */,
     {"news", "politics"},
     "Vote count",
     NULL},
};
#define NPOSTS (sizeof posts / sizeof posts[0])

/* The slugs of the posts the filter matches, joined with " ", or
 * "ERROR: reason". */
static const char *which(struct arena *a, const char *filter)
{
    struct nql_node *n;
    char err[200];
    char *out = arena_zalloc(a, 256);

    if (nql_parse(a, filter, &n, err, sizeof err) < 0)
        return arena_printf(a, "ERROR: %s", err);
    for (size_t i = 0; i < NPOSTS; i++) {
        int r = nql_match(n, a, lookup, &posts[i], err, sizeof err);
        if (r < 0)
            return arena_printf(a, "ERROR: %s", err);
        if (r) {
            if (*out)
                strcat(out, " ");
            strcat(out, posts[i].slug);
        }
    }
    return out;
}

static int is_error(const char *got, const char *words)
{
    return strncmp(got, "ERROR: ", 7) == 0 && strstr(got, words) != NULL;
}

int main(void)
{
    struct arena a;
    const char *got;
    char *big;

    arena_init(&a);
    /* operators */
    CHECK_STR(which(&a, "slug:storm"), "storm", "field:value");
    CHECK_STR(which(&a, "slug:-storm"), "budget vote", "field:-value is not");
    CHECK_STR(which(&a, "featured:true"), "budget", "featured:true");
    CHECK_STR(which(&a, "featured:false"), "storm vote", "featured:false");
    CHECK_STR(which(&a, "published_at:>'2024-02-01'"), "vote", "> on dates");
    CHECK_STR(which(&a, "published_at:>='2024-02-01'"), "storm vote",
              ">= on dates");
    CHECK_STR(which(&a, "published_at:<'2024-02-01'"), "budget", "< on dates");
    CHECK_STR(which(&a, "published_at:<=2024-02-01"), "budget storm",
              "<= on an unquoted date");
    CHECK_STR(which(&a, "published_at:<now-1d"), "budget storm vote",
              "a relative date");
    CHECK_STR(which(&a, "published_at:>'2024-01-31 23:59:59'"), "storm vote",
              "a date with a time");
    CHECK_STR(which(&a, "published_at:<'2024-02-01T01:00:00+02:00'"), "budget",
              "a date with an offset");
    CHECK_STR(which(&a, "slug:[budget,vote]"), "budget vote", "[a,b] is in");
    CHECK_STR(which(&a, "slug:-[budget,vote]"), "storm", "-[a,b] is not in");
    CHECK_STR(which(&a, "tag:news"), "budget vote",
              "a many-valued field matches any of its values");
    CHECK_STR(which(&a, "tag:-news"), "storm",
              "not on a many-valued field: none of its values");
    CHECK_STR(which(&a, "title:~'count'"), "vote", "~ contains, any case");
    CHECK_STR(which(&a, "title:~^'bud'"), "budget", "~^ starts with");
    CHECK_STR(which(&a, "title:~$'END'"), "storm", "~$ ends with");
    CHECK_STR(which(&a, "title:-~'day'"), "storm vote", "-~ not contains");
    CHECK_STR(which(&a, "custom_excerpt:null"), "budget vote",
              "null matches a missing value");
    CHECK_STR(which(&a, "custom_excerpt:-null"), "storm", "-null");
    /* and, or, precedence, parentheses */
    CHECK_STR(which(&a, "tag:news+featured:false"), "vote", "+ is and");
    CHECK_STR(which(&a, "slug:storm,featured:true"), "budget storm", ", is or");
    CHECK_STR(which(&a, "slug:storm,tag:news+featured:false"), "storm vote",
              "+ binds tighter than ,");
    CHECK_STR(which(&a, "(slug:storm,tag:news)+featured:false"), "storm vote",
              "parentheses group");
    CHECK_STR(which(&a, "(slug:storm,slug:budget)+featured:true"), "budget",
              "parentheses change the result");
    CHECK_STR(which(&a, " tag : news + ( featured : true ) "), "budget",
              "blanks between tokens are ignored");
    CHECK_STR(which(&a, "SLUG:vote"), "vote", "field names are lower-cased");
    CHECK_STR(which(&a, "tag:news featured:false"), "vote",
              "a blank between terms is + (a URL's unescaped +)");
    /* quoting */
    CHECK_STR(which(&a, "title:'Storm\\'s end'"), "storm",
              "an escaped quote inside quotes");
    CHECK_STR(which(&a, "title:'Budget day'"), "budget",
              "quoted text may hold blanks");
    CHECK_STR(which(&a, "slug:'true'"), "", "quoted true is text");
    /* errors */
    got = which(&a, "title:'Budget");
    CHECK(is_error(got, "unterminated quote at character 7"),
          "an unterminated quote is reported with its position (%s)", got);
    got = which(&a, "slug:[a,b");
    CHECK(is_error(got, "unterminated list"), "an open list (%s)", got);
    got = which(&a, "(slug:a");
    CHECK(is_error(got, "unclosed '('"), "an open parenthesis (%s)", got);
    got = which(&a, "slug:a)");
    CHECK(is_error(got, "unexpected ')'"), "a stray ')' (%s)", got);
    got = which(&a, "slug");
    CHECK(is_error(got, "expected ':'"), "a field without ':' (%s)", got);
    got = which(&a, "slug:");
    CHECK(is_error(got, "missing value"), "a missing value (%s)", got);
    got = which(&a, "slug:a+");
    CHECK(is_error(got, "missing expression"), "a dangling + (%s)", got);
    got = which(&a, "");
    CHECK(is_error(got, "missing expression"), "an empty filter (%s)", got);
    got = which(&a, "nope:1");
    CHECK(is_error(got, "unknown field 'nope'"), "an unknown field (%s)", got);
    got = which(&a, "published_at:>'yesterday'");
    CHECK(is_error(got, "cannot read a date"), "a bad date (%s)", got);
    got = which(&a, "slug:>[a]");
    CHECK(is_error(got, "a list cannot follow"), "> with a list (%s)", got);
    /* hostile sizes */
    big = arena_alloc(&a, 200);
    memset(big, '(', 40);
    strcpy(big + 40, "slug:a");
    memset(big + 46, ')', 40);
    big[86] = '\0';
    got = which(&a, big);
    CHECK(is_error(got, "nested deeper than"), "deep nesting is refused (%s)",
          got);
    big = arena_alloc(&a, 8 * BOUND_NQL_LIST + 32);
    strcpy(big, "slug:[");
    for (int i = 0; i <= BOUND_NQL_LIST; i++)
        strcat(big, i ? ",x" : "x");
    strcat(big, "]");
    got = which(&a, big);
    CHECK(is_error(got, "more than"), "a huge list is refused (%s)", got);
    big = arena_alloc(&a, 10 * BOUND_NQL_NODES + 32);
    big[0] = '\0';
    for (int i = 0; i <= BOUND_NQL_NODES; i++)
        strcat(big, i ? ",slug:a" : "slug:a");
    got = which(&a, big);
    CHECK(is_error(got, "expressions"), "too many expressions (%s)", got);
    big = arena_alloc(&a, BOUND_NQL_BYTES + 16);
    memset(big, 'a', BOUND_NQL_BYTES + 1);
    big[BOUND_NQL_BYTES + 1] = '\0';
    got = which(&a, big);
    CHECK(is_error(got, "too long"), "an oversized filter (%.40s)", got);
    {
        int64_t t = 0;
        CHECK(nql_date("2024-01-01", &t) == 0 && t == 1704067200,
              "a plain date is midnight UTC");
        CHECK(nql_date("2024-13-01", &t) < 0 && nql_date("2024-1-1", &t) < 0,
              "bad dates are refused");
        int64_t now = (int64_t)time(NULL);
        CHECK(nql_date("now-1d", &t) == 0 && t <= now - 86400 &&
                  t > now - 86400 - 5,
              "now-1d is a day ago");
        CHECK(nql_date("now+2w", &t) == 0 && t >= now + 14 * 86400 &&
                  t < now + 14 * 86400 + 5,
              "now+2w is two weeks ahead");
        CHECK(nql_date("now-1x", &t) < 0 && nql_date("now-", &t) < 0 &&
                  nql_date("now-1d2", &t) < 0,
              "bad relative dates are refused");
    }
    arena_release(&a);
    return check_done();
}
