/*
 * live.c - `newsroom live post|edit|delete DIR ...`: the News Feed from the
 * command line. Works while a server runs on the same site: the server
 * notices the change within a second and pushes it to open pages.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "content/live.h"
#include "content/site.h"
#include "core/config.h"
#include "core/log.h"
#include "store/store.h"

static const char usage[] =
    "usage: newsroom live post DIR --headline TEXT [--body TEXT] "
    "[--link SLUG] [--key]\n"
    "       newsroom live edit DIR ID --headline TEXT [--body TEXT] "
    "[--link SLUG] [--key]\n"
    "       newsroom live delete DIR ID\n"
    "\n"
    "Posts, edits or deletes an update of the live News Feed. 'post'\n"
    "prints the new update's id. Open pages show the change within a\n"
    "second, also while 'newsroom serve' runs on DIR.\n"
    "\n"
    "  --headline TEXT  short headline, one line (required)\n"
    "  --body TEXT      a few sentences of Markdown; links allowed\n"
    "  --link SLUG      slug of a published article to link to\n"
    "  --key            mark it as a key update\n";

int cli_live(int argc, char **argv)
{
    const char *verb = argc > 0 ? argv[0] : NULL;
    const char *dir = NULL, *idtext = NULL;
    struct live_input in = {0};
    struct config cfg;
    struct store *st;
    char err[512];
    int64_t id = 0;
    int ret;

    if (!verb || cli_wants_help(argc, argv)) {
        fputs(usage, verb ? stdout : stderr);
        return verb ? 0 : 2;
    }
    if (strcmp(verb, "post") && strcmp(verb, "edit") && strcmp(verb, "delete"))
        return cli_usage_error("live: unknown action '%.40s' (try 'newsroom "
                               "live --help')",
                               verb);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int has_value = i + 1 < argc;
        if (strcmp(a, "--headline") == 0 && has_value)
            in.headline = argv[++i];
        else if (strcmp(a, "--body") == 0 && has_value)
            in.body = argv[++i];
        else if (strcmp(a, "--link") == 0 && has_value)
            in.link = argv[++i];
        else if (strcmp(a, "--key") == 0)
            in.key = 1;
        else if (a[0] == '-')
            return cli_usage_error("live: unknown or incomplete option "
                                   "'%.40s'",
                                   a);
        else if (!dir)
            dir = a;
        else if (!idtext && strcmp(verb, "post") != 0)
            idtext = a;
        else
            return cli_usage_error("live: unexpected argument '%.40s'", a);
    }
    if (!dir)
        return cli_usage_error("live %s: missing DIR", verb);
    if (strcmp(verb, "post") != 0 && cli_parse_id(idtext, &id) < 0)
        return cli_usage_error("live %s: missing or bad ID '%.40s' (a "
                               "positive number)",
                               verb, idtext ? idtext : "");
    if (strcmp(verb, "delete") != 0 && !in.headline)
        return cli_usage_error("live %s: --headline is required", verb);
    log_set_level(LOG_WARN);
    st = site_open(dir, &cfg, err, sizeof err);
    if (!st)
        return cli_fail("%s", err);
    if (strcmp(verb, "post") == 0)
        ret = live_post(st, &in, (int64_t)time(NULL), &id, err, sizeof err);
    else if (strcmp(verb, "edit") == 0)
        ret = live_edit(st, id, &in, (int64_t)time(NULL), err, sizeof err);
    else
        ret = live_delete(st, id, err, sizeof err);
    store_close(st);
    if (ret < 0)
        return cli_fail("live %s: %s", verb, err);
    if (strcmp(verb, "post") == 0)
        printf("%lld\n", (long long)id);
    return 0;
}
