/*
 * fuzz_csv.c - libFuzzer target for the subscriber CSV import
 * (nl_import_csv, src/content/newsletter.c) that an administrator uploads
 * on the desk: RFC 4180 records, the header row, e-mail address checks
 * and newsletter look-ups. Runs against a throw-away SQLite site (under
 * $TMPDIR) holding one newsletter, "news"; rows without a newsletter go
 * there. No confirmation mail is queued (confirm = 0).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "content/newsletter.h"
#include "content/session.h"
#include "core/arena.h"
#include "core/log.h"
#include "fuzz.h"
#include "store/store.h"

static struct store *st; /* the throw-away site's store */
static char dir[256];    /* its folder */

static void cleanup(void)
{
    char cmd[300];

    store_close(st);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove '%s'\n", dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    const char *tmp = getenv("TMPDIR");
    char url[300], err[256];
    struct store_newsletter nl = {0};

    (void)argc;
    (void)argv;
    log_set_level(LOG_ERROR);
    snprintf(dir, sizeof dir, "%s/fuzz-csv-XXXXXX", tmp ? tmp : "/tmp");
    if (!mkdtemp(dir))
        abort();
    snprintf(url, sizeof url, "%s/fuzz.db", dir);
    st = store_open(url, err, sizeof err);
    if (!st) {
        fprintf(stderr, "fuzz_csv: %s\n", err);
        abort();
    }
    nl.slug = "news";
    nl.name = "News";
    nl.active = 1;
    if (store_newsletter_save(st, &nl) != STORE_OK)
        abort();
    atexit(cleanup);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct arena a;
    struct desk_actor who = {1, "Ed", "ed@example.org", STAFF_ADMINISTRATOR, 0};
    size_t added = 0;
    const char *report = NULL;
    char err[256];

    arena_init(&a);
    nl_import_csv(st, &a, &who, (const char *)data, size, "news", 0, 1717236000,
                  &added, &report, err, sizeof err);
    if (!report)
        abort();
    arena_release(&a);
    return 0;
}
