/*
 * main.c - the `newsroom` command: parses argv and wires the modules.
 *
 *   newsroom init DIR [--demo]            create a site
 *   newsroom serve DIR [--listen A:P]     serve it
 *
 * Every subcommand has --help, and bad input gets one line on stderr and
 * a non-zero exit (2 for usage errors, 1 for failures).
 */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "cli/cli.h"
#include "content/demo.h"
#include "content/site.h"
#include "content/staff.h"
#include "core/config.h"
#include "core/log.h"
#include "jobs/jobs.h"
#include "mail/mail.h"
#include "media/img.h"
#include "store/store.h"
#include "web/web.h"

#define VERSION "0.1.0"

static const char usage_main[] =
    "usage: newsroom COMMAND [ARGS]\n"
    "\n"
    "The publishing system of an independent online newspaper.\n"
    "\n"
    "commands:\n"
    "  init DIR [--demo]                create a site in DIR\n"
    "  serve DIR [--listen ADDR:PORT]   serve the site in DIR\n"
    "  live post|edit|delete DIR ...    the live News Feed\n"
    "  migrate DIR --to postgresql://.. move the site's data to PostgreSQL\n"
    "  jobs DIR                         run background job workers only\n"
    "  user add|passwd|list DIR ...     staff accounts of the desk\n"
    "  user totp-reset DIR EMAIL        remove lost sign-in codes (TOTP)\n"
    "  newsletter list|send DIR ...     newsletters; send an issue\n"
    "  key add|list|delete DIR ...      Content API keys (Ghost-compatible)\n"
    "  import ghost DIR FILE            import a Ghost JSON export\n"
    "  import wxr DIR FILE              import a WordPress (WXR) export\n"
    "  export DIR FILE                  the site as a Ghost JSON export\n"
    "  backup DIR FILE                  a .tar.gz of a live site\n"
    "  restore DIR FILE [--force]       a backup into DIR\n"
    "\n"
    "Run 'newsroom COMMAND --help' for a command's options.\n";

static const char usage_init[] =
    "usage: newsroom init DIR [--demo] [--title TITLE]\n"
    "\n"
    "Creates a site in DIR (which must not exist or be empty): site.conf,\n"
    "newsroom.db and media/.\n"
    "\n"
    "  --demo          fill it with the sample newspaper (authors, articles,\n"
    "                  live updates, newsletters)\n"
    "  --title TITLE   the paper's name (default: The Newsroom)\n";

static const char usage_serve[] =
    "usage: newsroom serve DIR [--listen ADDR:PORT] [--no-jobs]\n"
    "\n"
    "Serves the site in DIR until interrupted (Ctrl-C or SIGTERM).\n"
    "\n"
    "  --listen ADDR:PORT  address to listen on (default: site.conf's\n"
    "                      'listen', else 127.0.0.1:8080); port 0 picks\n"
    "                      a free port\n"
    "  --no-jobs           do not run background job workers here (run\n"
    "                      'newsroom jobs DIR' somewhere instead)\n";

#define DEMO_ADMIN_EMAIL "admin@example.com"
/* Job workers of `serve`: one can spend minutes delivering mail while
 * another publishes scheduled posts on time. */
#define SERVE_JOB_THREADS 3

/* Gives the demo site an administrator with a fresh random password
 * (written to pw, readable: letters and digits in groups). 0 or -1. */
static int demo_admin(struct store *st, char *pw, size_t len)
{
    static const char alphabet[] = "abcdefghjkmnpqrstuvwxyz23456789";
    char err[256];
    size_t j = 0;

    if (staff_crypto_init() < 0 || len < 24)
        return -1;
    for (size_t i = 0; i < 20; i++) {
        if (i && i % 5 == 0)
            pw[j++] = '-';
        pw[j++] = alphabet[randombytes_uniform(sizeof alphabet - 1)];
    }
    pw[j] = '\0';
    if (staff_add(st, DEMO_ADMIN_EMAIL, "Desk Administrator",
                  STAFF_ADMINISTRATOR, pw, NULL, err, sizeof err) < 0) {
        fprintf(stderr, "newsroom: cannot add the demo account: %s\n", err);
        return -1;
    }
    return 0;
}

static int cmd_init(int argc, char **argv)
{
    const char *dir = NULL, *title = NULL;
    int demo = 0;
    struct config cfg;
    char path[1200], media[1200], err[512];
    struct store *st = NULL;

    if (cli_wants_help(argc, argv)) {
        fputs(usage_init, stdout);
        return 0;
    }
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--demo") == 0)
            demo = 1;
        else if (strcmp(argv[i], "--title") == 0 && i + 1 < argc)
            title = argv[++i];
        else if (argv[i][0] == '-')
            return cli_usage_error("init: unknown option '%s' (try 'newsroom "
                                   "init --help')",
                                   argv[i]);
        else if (!dir)
            dir = argv[i];
        else
            return cli_usage_error("init: unexpected argument '%s'", argv[i]);
    }
    if (!dir)
        return cli_usage_error("init: missing DIR%s",
                               " (try 'newsroom init --help')");
    if (strlen(dir) > 900)
        return cli_usage_error("init: directory name too long%s", "");
    if (!cli_dir_fresh(dir)) {
        fprintf(stderr,
                "newsroom: cannot create a site in '%s': it exists and is "
                "not empty\n",
                dir);
        return 1;
    }
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "newsroom: cannot create '%s': %s\n", dir,
                strerror(errno));
        return 1;
    }
    snprintf(media, sizeof media, "%s/media", dir);
    if (mkdir(media, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "newsroom: cannot create '%s': %s\n", media,
                strerror(errno));
        return 1;
    }
    config_defaults(&cfg);
    if (demo)
        demo_site_info(cfg.title, sizeof cfg.title, cfg.description,
                       sizeof cfg.description);
    if (title)
        snprintf(cfg.title, sizeof cfg.title, "%s", title);
    snprintf(path, sizeof path, "%s/site.conf", dir);
    if (config_write(&cfg, path, err, sizeof err) < 0) {
        fprintf(stderr, "newsroom: %s\n", err);
        return 1;
    }
    snprintf(path, sizeof path, "%s/%s", dir, cfg.database);
    st = store_open(path, err, sizeof err);
    if (!st) {
        fprintf(stderr, "newsroom: %s\n", err);
        return 1;
    }
    if (demo) {
        int r = img_init(argv[0]);
        if (r == 0)
            r = demo_load(st, media, cfg.reading_speed, (int64_t)time(NULL),
                          err, sizeof err);
        else
            snprintf(err, sizeof err, "cannot start the image library");
        img_shutdown();
        if (r < 0) {
            fprintf(stderr, "newsroom: cannot load the demo: %s\n", err);
            store_close(st);
            return 1;
        }
    }
    char pw[40] = "";
    if (demo && demo_admin(st, pw, sizeof pw) < 0) {
        store_close(st);
        return 1;
    }
    store_close(st);
    printf("created %s site in '%s'\nserve it with: newsroom serve %s\n",
           demo ? "a demo" : "a new", dir, dir);
    if (demo)
        printf("desk sign-in (/desk): %s with password %s\n"
               "change it with: newsroom user passwd %s --email %s\n",
               DEMO_ADMIN_EMAIL, pw, dir, DEMO_ADMIN_EMAIL);
    else
        printf("add a desk account with: newsroom user add %s --email E "
               "--name N --role administrator\n",
               dir);
    return 0;
}

static int cmd_serve(int argc, char **argv)
{
    const char *dir = NULL, *listen = NULL;
    struct store *jobs_st = NULL;
    struct config jobs_cfg;
    char err[512];
    int jobs = 1;

    if (cli_wants_help(argc, argv)) {
        fputs(usage_serve, stdout);
        return 0;
    }
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--listen") == 0) {
            if (i + 1 >= argc)
                return cli_usage_error("serve: --listen needs ADDR:PORT%s", "");
            listen = argv[++i];
        } else if (strcmp(argv[i], "--no-jobs") == 0) {
            jobs = 0;
        } else if (argv[i][0] == '-') {
            return cli_usage_error("serve: unknown option '%s' (try 'newsroom "
                                   "serve --help')",
                                   argv[i]);
        } else if (!dir) {
            dir = argv[i];
        } else {
            return cli_usage_error("serve: unexpected argument '%s'", argv[i]);
        }
    }
    if (!dir)
        return cli_usage_error("serve: missing DIR%s",
                               " (try 'newsroom serve --help')");
    if (listen) {
        struct config probe;
        char line[256];
        config_defaults(&probe);
        snprintf(line, sizeof line, "listen = %s\n", listen);
        if (strlen(listen) > 200 ||
            config_parse(&probe, "--listen", line, strlen(line), err,
                         sizeof err) < 0)
            return cli_usage_error("serve: bad --listen '%s': expected "
                                   "ADDR:PORT such as 127.0.0.1:8080",
                                   listen);
    }
    /* libvips decodes the desk's uploads; libsodium signs sessions */
    if (img_init(argv[0]) < 0 || staff_crypto_init() < 0) {
        fprintf(stderr, "newsroom: cannot start the image or crypto "
                        "libraries\n");
        return 1;
    }
    struct web_app *app = web_app_open(dir, listen, err, sizeof err);
    if (!app) {
        fprintf(stderr, "newsroom: %s\n", err);
        img_shutdown();
        return 1;
    }
    if (jobs) {
        /* the workers get a store of their own, closed after they stop */
        jobs_st = site_open(dir, &jobs_cfg, err, sizeof err);
        if (!jobs_st ||
            job_runner_start(jobs_st, dir, SERVE_JOB_THREADS) != 0) {
            if (jobs_st)
                store_close(jobs_st);
            else
                fprintf(stderr, "newsroom: %s\n", err);
            web_app_close(app);
            return 1;
        }
    }
    /* the job workers start winding down with the request drain, so a
     * stop takes at most BOUND_DRAIN_S in all */
    int r =
        web_serve(app, jobs ? job_runner_stop_begin : NULL, err, sizeof err);
    if (r < 0)
        fprintf(stderr, "newsroom: %s\n", err);
    job_runner_stop();
    store_close(jobs_st);
    web_app_close(app);
    img_shutdown();
    return r < 0 ? 1 : 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fputs(usage_main, stderr);
        return 2;
    }
    const char *cmd = argv[1];
    /* libcurl (mail delivery) starts once, before any thread */
    if (mail_init() < 0) {
        fputs("newsroom: cannot start the mail library\n", stderr);
        return 1;
    }
    atexit(mail_shutdown);
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 ||
        strcmp(cmd, "help") == 0) {
        fputs(usage_main, stdout);
        return 0;
    }
    if (strcmp(cmd, "--version") == 0) {
        printf("newsroom %s\n", VERSION);
        return 0;
    }
    if (strcmp(cmd, "init") == 0)
        return cmd_init(argc - 2, argv + 2);
    if (strcmp(cmd, "serve") == 0)
        return cmd_serve(argc - 2, argv + 2);
    if (strcmp(cmd, "live") == 0)
        return cli_live(argc - 2, argv + 2);
    if (strcmp(cmd, "migrate") == 0)
        return cli_migrate(argc - 2, argv + 2);
    if (strcmp(cmd, "jobs") == 0)
        return cli_jobs(argc - 2, argv + 2);
    if (strcmp(cmd, "user") == 0)
        return cli_user(argc - 2, argv + 2);
    if (strcmp(cmd, "key") == 0)
        return cli_key(argc - 2, argv + 2);
    if (strcmp(cmd, "newsletter") == 0)
        return cli_newsletter(argc - 2, argv + 2);
    if (strcmp(cmd, "import") == 0 && argc > 2 && !strcmp(argv[2], "ghost"))
        return cli_import_ghost(argc - 3, argv + 3);
    if (strcmp(cmd, "import") == 0 && argc > 2 && !strcmp(argv[2], "wxr"))
        return cli_import_wxr(argc - 3, argv + 3);
    if (strcmp(cmd, "import") == 0) /* no format, or not one of those */
        return cli_usage_error("import: FORMAT must be 'ghost' or 'wxr' (try "
                               "'newsroom import ghost --help')");
    if (strcmp(cmd, "export") == 0)
        return cli_export(argc - 2, argv + 2);
    if (strcmp(cmd, "backup") == 0)
        return cli_backup(argc - 2, argv + 2, VERSION);
    if (strcmp(cmd, "restore") == 0)
        return cli_restore(argc - 2, argv + 2);
    fprintf(stderr, "newsroom: unknown command '%s' (try 'newsroom --help')\n",
            cmd);
    return 2;
}
