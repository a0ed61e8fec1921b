/*
 * check.h - the unit-test harness: each test binary prints one TAP-like line
 * per check ("ok - name" / "not ok - name: why"); tests/run.py counts them.
 *
 *   CHECK(cond, "what a user would notice");
 *   CHECK_STR(got, want, "name");
 *   return check_done();   // from main
 */
#ifndef TESTS_CHECK_H
#define TESTS_CHECK_H

#include <stdio.h>
#include <string.h>

static int check_failed_count;

#define CHECK(cond, ...)                                                       \
    do {                                                                       \
        if (cond) {                                                            \
            printf("ok - ");                                                   \
        } else {                                                               \
            printf("not ok - %s:%d: ", __FILE__, __LINE__);                    \
            check_failed_count++;                                              \
        }                                                                      \
        printf(__VA_ARGS__);                                                   \
        printf("\n");                                                          \
    } while (0)

#define CHECK_STR(got, want, ...)                                              \
    do {                                                                       \
        const char *g_ = (got), *w_ = (want);                                  \
        int same_ = g_ && w_ && strcmp(g_, w_) == 0;                           \
        CHECK(same_, __VA_ARGS__);                                             \
        if (!same_)                                                            \
            printf("#   got:  [%s]\n#   want: [%s]\n", g_ ? g_ : "(null)",     \
                   w_ ? w_ : "(null)");                                        \
    } while (0)

static inline int check_done(void)
{
    return check_failed_count ? 1 : 0;
}

#endif
