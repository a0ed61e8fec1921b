/*
 * jobs.c - `newsroom jobs DIR`: job workers alone, no web server. For
 * worker nodes of a site on PostgreSQL, or to run the workers of a
 * `newsroom serve --no-jobs` in a process of their own (docs/jobs.md).
 * SIGTERM or SIGINT stops it gracefully (docs/shutdown.md).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "content/site.h"
#include "core/bounds.h"
#include "core/config.h"
#include "core/log.h"
#include "jobs/jobs.h"
#include "store/store.h"

static const char usage[] =
    "usage: newsroom jobs DIR [--threads N]\n"
    "\n"
    "Runs the background job workers of the site in DIR (publishing\n"
    "scheduled posts, ...) until interrupted (Ctrl-C or SIGTERM). Any\n"
    "number of these may run, on any machine sharing the site's database:\n"
    "each job is done once.\n"
    "\n"
    "  --threads N  worker threads (default 1)\n";

int cli_jobs(int argc, char **argv)
{
    const char *dir = NULL;
    unsigned long threads = 1;
    struct config cfg;
    struct store *st;
    sigset_t set;
    char err[512], *end;
    int sig = 0;

    if (cli_wants_help(argc, argv)) {
        fputs(usage, stdout);
        return 0;
    }
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc) {
            errno = 0;
            threads = strtoul(argv[++i], &end, 10);
            if (errno || *end || threads < 1 || threads > JOB_THREADS_MAX)
                return cli_usage_error("jobs: bad --threads '%.20s' (1 to "
                                       "%d)",
                                       argv[i], JOB_THREADS_MAX);
        } else if (argv[i][0] == '-') {
            return cli_usage_error("jobs: unknown or incomplete option "
                                   "'%.40s' (try 'newsroom jobs --help')",
                                   argv[i]);
        } else if (!dir) {
            dir = argv[i];
        } else {
            return cli_usage_error("jobs: unexpected argument '%.40s'",
                                   argv[i]);
        }
    }
    if (!dir)
        return cli_usage_error("jobs: missing DIR%s",
                               " (try 'newsroom jobs --help')");
    st = site_open(dir, &cfg, err, sizeof err);
    if (!st)
        return cli_fail("%s", err);
    /* the stop signals wait for sigwait below, in this thread only */
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    if (job_runner_start(st, dir, (unsigned)threads) != 0) {
        store_close(st);
        return cli_fail("jobs: cannot start the workers");
    }
    printf("job workers running on '%s'\n", dir);
    fflush(stdout);
    sigwait(&set, &sig);
    log_info("stopping on signal %d: running jobs finish or are handed back "
             "(at most %d s)",
             sig, BOUND_DRAIN_S);
    job_runner_stop();
    store_close(st);
    log_info("job workers stopped");
    return 0;
}
