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

#endif
