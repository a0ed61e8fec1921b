/*
 * key.c - `newsroom key add|list|delete DIR ...`: keys of the
 * Ghost-compatible Content API (docs/content-api.md). `add` prints the new
 * key alone on stdout, so scripts can capture it.
 */
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "content/apikey.h"
#include "content/site.h"
#include "core/arena.h"
#include "core/config.h"
#include "store/store.h"

static const char usage[] =
    "usage: newsroom key add DIR NAME\n"
    "       newsroom key list DIR\n"
    "       newsroom key delete DIR KEY\n"
    "\n"
    "Manages the keys of the Content API (/ghost/api/content/, compatible\n"
    "with Ghost's). 'add' makes a key named NAME (what it is for, e.g.\n"
    "\"Mobile app\") and prints it: 26 hex characters, passed by clients as\n"
    "?key=. Content API keys are public by design (front-ends embed them);\n"
    "they only read what the public site shows. 'list' prints name, key\n"
    "and creation date, tab-separated; 'delete' revokes a key.\n";

static int key_add(struct store *st, const char *name)
{
    char secret[APIKEY_LEN + 1], err[256];

    if (apikey_create(st, name, (int64_t)time(NULL), secret, NULL, err,
                      sizeof err) < 0)
        return cli_fail("key add: %s", err);
    printf("%s\n", secret);
    return 0;
}

static int key_list(struct store *st)
{
    struct arena a;
    struct store_api_key *keys = NULL;
    size_t n = 0;

    arena_init(&a);
    if (store_api_keys_list(st, &a, &keys, &n) < 0) {
        arena_release(&a);
        return cli_fail("key list: cannot read the keys");
    }
    for (size_t i = 0; i < n; i++) {
        char when[32] = "";
        time_t t = (time_t)keys[i].created_at;
        struct tm tm;
        if (gmtime_r(&t, &tm))
            strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
        printf("%s\t%s\t%s\n", keys[i].name, keys[i].secret, when);
    }
    if (n == 0)
        fprintf(stderr, "no keys yet: add one with 'newsroom key add DIR "
                        "NAME'\n");
    arena_release(&a);
    return 0;
}

static int key_delete(struct store *st, const char *secret)
{
    struct arena a;
    struct store_api_key k;
    int rc;

    arena_init(&a);
    rc = store_api_key_find(st, &a, secret, &k);
    if (rc == 0)
        rc = store_api_key_delete(st, k.id);
    arena_release(&a);
    if (rc == STORE_NOTFOUND)
        return cli_fail("key delete: no key '%s'", secret);
    if (rc < 0)
        return cli_fail("key delete: cannot delete the key");
    fprintf(stderr, "deleted the key\n");
    return 0;
}

int cli_key(int argc, char **argv)
{
    struct config cfg;
    struct store *st;
    char err[512];
    int rc;

    if (cli_wants_help(argc, argv)) {
        fputs(usage, stdout);
        return 0;
    }
    if (argc < 1)
        return cli_usage_error("key: missing add, list or delete (try "
                               "'newsroom key --help')");
    const char *verb = argv[0];
    int want = !strcmp(verb, "add") || !strcmp(verb, "delete") ? 3
               : !strcmp(verb, "list")                         ? 2
                                                               : 0;
    if (!want)
        return cli_usage_error("key: unknown subcommand '%s' (try 'newsroom "
                               "key --help')",
                               verb);
    if (argc < want)
        return cli_usage_error("key %s: missing %s (try 'newsroom key "
                               "--help')",
                               verb,
                               argc < 2         ? "DIR"
                               : verb[0] == 'a' ? "NAME"
                                                : "KEY");
    if (argc > want)
        return cli_usage_error("key %s: unexpected argument '%s'", verb,
                               argv[want]);
    if (sodium_init() < 0)
        return cli_fail("cannot start the crypto library");
    st = site_open(argv[1], &cfg, err, sizeof err);
    if (!st)
        return cli_fail("%s", err);
    if (verb[0] == 'a')
        rc = key_add(st, argv[2]);
    else if (verb[0] == 'l')
        rc = key_list(st);
    else
        rc = key_delete(st, argv[2]);
    store_close(st);
    return rc;
}
