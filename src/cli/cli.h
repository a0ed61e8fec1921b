/*
 * cli.h - the `newsroom` subcommands other than init and serve, one file
 * each, and the helpers they share. main.c dispatches to them.
 *
 * Every command prints its usage for --help (exit 0), and a one-line
 * "newsroom: ..." message with exit 2 for bad usage or 1 for a failure.
 */
#ifndef CLI_CLI_H
#define CLI_CLI_H

#include <stdint.h>

/* Prints "newsroom: MESSAGE" on stderr and returns 2. */
int cli_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints "newsroom: MESSAGE" on stderr and returns 1. */
int cli_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* 1 when argv (argc entries) holds --help or -h. */
int cli_wants_help(int argc, char **argv);
/* The arguments of "newsroom CMD DIR FILE [FLAG]": DIR and FILE in order,
 * and FLAG (NULL = none allowed) anywhere, noted in *flagged. 0, or the
 * status of the one-line usage error it printed (2) for an unknown
 * option, a missing or extra argument, or a path over 1000 bytes. */
int cli_dir_file(const char *cmd, int argc, char **argv, const char *flag,
                 int *flagged, const char **dir, const char **file);
/* 1 when dir does not exist or is an empty directory. */
int cli_dir_fresh(const char *dir);
/* Parses a positive decimal id; 0 or -1 when s is not one. */
int cli_parse_id(const char *s, int64_t *id);

/* newsroom live post|edit|delete DIR ... (argv after "live") */
int cli_live(int argc, char **argv);

/* newsroom migrate DIR --to postgresql://... [--force] (argv after
 * "migrate"): copies the site's database into PostgreSQL (migrate.c). */
int cli_migrate(int argc, char **argv);

/* newsroom jobs DIR [--threads N]: job workers until SIGINT/SIGTERM
 * (argv after "jobs") */
int cli_jobs(int argc, char **argv);

/* newsroom user add|passwd|list DIR ... (argv after "user"): staff
 * accounts (user.c). */
int cli_user(int argc, char **argv);
/* newsroom newsletter list|send DIR ... (argv after "newsletter"):
 * newsletters and sending an issue (newsletter.c). */
int cli_newsletter(int argc, char **argv);

/* newsroom backup DIR FILE [--media-only] (argv after "backup"): a
 * consistent .tar.gz of a live site with a manifest; version is the
 * newsroom version recorded in it (backup.c, docs/backup.md). */
int cli_backup(int argc, char **argv, const char *version);
/* newsroom restore DIR FILE [--force] (argv after "restore"): checks a
 * backup against its manifest and puts it in DIR (backup.c). */
int cli_restore(int argc, char **argv);

/* newsroom import ghost DIR FILE (argv after "ghost"): a Ghost JSON
 * export into a site, streamed (import_ghost.c, docs/import.md). */
int cli_import_ghost(int argc, char **argv);
/* newsroom import wxr DIR FILE (argv after "wxr"): a WordPress export
 * (WXR) into a site, streamed (import_wxr.c, docs/import.md). */
int cli_import_wxr(int argc, char **argv);
/* newsroom export DIR FILE (argv after "export"): the whole site as a
 * Ghost JSON export, streamed; FILE "-" = stdout (export.c). */
int cli_export(int argc, char **argv);

/* newsroom key add|list|delete DIR ... (argv after "key"): Content API
 * keys (key.c). */
int cli_key(int argc, char **argv);

#endif
