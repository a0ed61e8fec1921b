/*
 * newsletter.c - `newsroom newsletter list|send DIR ...`: the newsletters
 * and their subscriber counts, and sending an issue (content/newsletter.h)
 * from the command line. send returns once the issue is queued (delivery
 * is the job workers': `newsroom serve` or `newsroom jobs`), or with --wait
 * once every message is sent or failed, printing progress.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "content/newsletter.h"
#include "content/site.h"
#include "core/arena.h"
#include "core/config.h"
#include "jobs/jobs.h"
#include "store/store.h"

static const char usage[] =
    "usage: newsroom newsletter list DIR\n"
    "       newsroom newsletter send DIR --newsletter SLUG\n"
    "                (--post SLUG | --digest N) [--wait]\n"
    "\n"
    "list  every newsletter with its subscribers (active, pending,\n"
    "      unsubscribed)\n"
    "send  queues one issue for every active subscriber: the published\n"
    "      article SLUG, or a digest of the N latest articles (1-20). The\n"
    "      job workers deliver it (newsroom serve, or newsroom jobs); with\n"
    "      --wait the command prints progress until every message is sent\n"
    "      or failed.\n";

static int list(const char *dir)
{
    struct config cfg;
    struct arena a;
    struct store_newsletter *nl = NULL;
    size_t n = 0;
    char err[512];
    struct store *st = site_open(dir, &cfg, err, sizeof err);

    if (!st)
        return cli_fail("%s", err);
    arena_init(&a);
    int rc = store_newsletters_list(st, &a, 0, &nl, &n);
    if (rc == STORE_OK) {
        printf("%-24s %-32s %8s %8s %12s\n", "SLUG", "NAME", "ACTIVE",
               "PENDING", "UNSUBSCRIBED");
        for (size_t i = 0; i < n; i++) {
            size_t c[3] = {0, 0, 0};
            store_subscription_counts(st, nl[i].id, c);
            printf("%-24s %-32.32s %8zu %8zu %12zu%s\n", nl[i].slug, nl[i].name,
                   c[STORE_SUB_ACTIVE], c[STORE_SUB_PENDING],
                   c[STORE_SUB_UNSUBSCRIBED], nl[i].active ? "" : " (off)");
        }
    }
    arena_release(&a);
    store_close(st);
    return rc == STORE_OK ? 0 : cli_fail("cannot read the newsletters");
}

static int send(int argc, char **argv)
{
    const char *dir = NULL, *slug = NULL, *post = NULL;
    unsigned digest = 0;
    int wait = 0;
    char err[512];

    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--newsletter") == 0 && i + 1 < argc)
            slug = argv[++i];
        else if (strcmp(argv[i], "--post") == 0 && i + 1 < argc)
            post = argv[++i];
        else if (strcmp(argv[i], "--digest") == 0 && i + 1 < argc) {
            char *end;
            unsigned long v = strtoul(argv[++i], &end, 10);
            if (*end || v < 1 || v > NL_DIGEST_MAX)
                return cli_usage_error("newsletter send: bad --digest "
                                       "'%.20s' (1 to %d)",
                                       argv[i], NL_DIGEST_MAX);
            digest = (unsigned)v;
        } else if (strcmp(argv[i], "--wait") == 0)
            wait = 1;
        else if (argv[i][0] == '-')
            return cli_usage_error("newsletter send: unknown or incomplete "
                                   "option '%.40s'",
                                   argv[i]);
        else if (!dir)
            dir = argv[i];
        else
            return cli_usage_error("newsletter send: unexpected argument "
                                   "'%.40s'",
                                   argv[i]);
    }
    if (!dir || !slug || (!post && !digest) || (post && digest))
        return cli_usage_error("newsletter send: needs DIR, --newsletter and "
                               "one of --post or --digest%s",
                               "");
    struct config cfg;
    struct store *st = site_open(dir, &cfg, err, sizeof err);
    if (!st)
        return cli_fail("%s", err);
    struct arena a;
    struct store_send s;
    arena_init(&a);
    int rc = nl_send(st, &a, NULL, slug, post, digest, (int64_t)time(NULL), &s,
                     err, sizeof err);
    if (rc != NL_OK) {
        arena_release(&a);
        store_close(st);
        return rc == NL_ERROR ? cli_fail("cannot queue the send")
                              : cli_fail("%s", err);
    }
    printf("send %" PRId64 " queued: \"%s\" to %zu subscribers\n", s.id,
           s.subject, s.total);
    fflush(stdout);
    rc = 0;
    if (wait) {
        char key[64];
        size_t sent = 0, failed = 0, pending = s.total, last = (size_t)-1;
        snprintf(key, sizeof key, "send:%" PRId64, s.id);
        while (pending > 0) {
            if (store_outbox_progress(st, key, &sent, &failed, &pending) !=
                STORE_OK) {
                rc = cli_fail("cannot read the progress");
                break;
            }
            if (sent + failed != last) {
                printf("%zu sent, %zu failed, %zu pending of %zu\n", sent,
                       failed, pending, s.total);
                fflush(stdout);
                last = sent + failed;
            }
            if (pending)
                usleep(200 * 1000);
        }
        if (!rc && failed)
            rc = cli_fail("%zu of %zu messages failed", failed, s.total);
    }
    arena_release(&a);
    store_close(st);
    return rc;
}

int cli_newsletter(int argc, char **argv)
{
    if (argc < 1 || cli_wants_help(argc, argv)) {
        fputs(usage, argc < 1 ? stderr : stdout);
        return argc < 1 ? 2 : 0;
    }
    if (strcmp(argv[0], "list") == 0) {
        if (argc != 2)
            return cli_usage_error("newsletter list: expected DIR%s", "");
        return list(argv[1]);
    }
    if (strcmp(argv[0], "send") == 0)
        return send(argc - 1, argv + 1);
    return cli_usage_error("newsletter: unknown command '%.40s' (list or "
                           "send)",
                           argv[0]);
}
