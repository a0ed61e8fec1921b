/*
 * common.c - helpers shared by the subcommands; see cli.h.
 */
#include "cli/cli.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

__attribute__((format(printf, 1, 0))) static void say(const char *fmt,
                                                      va_list ap)
{
    fputs("newsroom: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputs("\n", stderr);
}

int cli_usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    say(fmt, ap);
    va_end(ap);
    return 2;
}

int cli_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    say(fmt, ap);
    va_end(ap);
    return 1;
}

int cli_wants_help(int argc, char **argv)
{
    for (int i = 0; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return 1;
    return 0;
}

int cli_parse_id(const char *s, int64_t *id)
{
    int64_t v = 0;
    if (!s || !*s || strlen(s) > 18)
        return -1;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9')
            return -1;
        v = v * 10 + (*p - '0');
    }
    if (v <= 0)
        return -1;
    *id = v;
    return 0;
}

int cli_dir_file(const char *cmd, int argc, char **argv, const char *flag,
                 int *flagged, const char **dir, const char **file)
{
    *dir = *file = NULL;
    if (flagged)
        *flagged = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];

        if (flag && strcmp(a, flag) == 0)
            *flagged = 1;
        else if (a[0] == '-' && a[1])
            return cli_usage_error("%s: unknown option '%.40s' (try "
                                   "'newsroom %s --help')",
                                   cmd, a, cmd);
        else if (!*dir)
            *dir = a;
        else if (!*file)
            *file = a;
        else
            return cli_usage_error("%s: unexpected argument '%.40s'", cmd, a);
    }
    if (!*file)
        return cli_usage_error("%s: needs DIR and FILE (try 'newsroom %s "
                               "--help')",
                               cmd, cmd);
    if (strlen(*dir) > 1000 || strlen(*file) > 1000)
        return cli_usage_error("%s: path longer than 1000 bytes", cmd);
    return 0;
}

int cli_dir_fresh(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int empty = 1;

    if (!d)
        return errno == ENOENT;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            empty = 0;
    closedir(d);
    return empty;
}
