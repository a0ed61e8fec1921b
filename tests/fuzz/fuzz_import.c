/*
 * fuzz_import.c - libFuzzer target for the two importers of outside
 * exports: `newsroom import ghost` (src/cli/import_ghost.c, libyajl
 * streaming) and `newsroom import wxr` (src/cli/import_wxr.c, libxml2's
 * xmlTextReader), run end to end into a real site (SQLite store) the
 * way the command line runs them.
 *
 * The first input byte picks the importer (even: Ghost JSON, odd: WXR);
 * the rest is written to a file and imported. A site folder is made
 * once; its database is thrown away every RESET_EVERY inputs so it stays
 * small. Checks: the command ends with 0 (imported) or 1 (a one-line
 * refusal), never anything else; crashes, leaks and sanitizer reports
 * are what libFuzzer catches. Run with -close_fd_mask=3 (run.sh does):
 * the importers print progress and summaries.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/config.h"
#include "core/log.h"
#include "fuzz.h"

/* Inputs between two fresh databases. */
#define RESET_EVERY 200

static char dir[64], file[128], db[128];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    struct config cfg;
    char path[160], err[256];

    (void)argc;
    (void)argv;
    log_set_level(LOG_ERROR);
    snprintf(dir, sizeof dir, "/tmp/fuzz-import-XXXXXX");
    if (!mkdtemp(dir))
        abort();
    snprintf(path, sizeof path, "%s/media", dir);
    mkdir(path, 0755);
    config_defaults(&cfg);
    snprintf(path, sizeof path, "%s/site.conf", dir);
    if (config_write(&cfg, path, err, sizeof err) < 0) {
        fprintf(stderr, "fuzz_import: %s\n", err);
        abort();
    }
    snprintf(db, sizeof db, "%s/%s", dir, cfg.database);
    snprintf(file, sizeof file, "%s/export", dir);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static unsigned runs;
    char *args[2] = {dir, file};
    char side[160];
    FILE *f;
    int rc;

    if (size < 1)
        return 0;
    if (++runs % RESET_EVERY == 0) {
        unlink(db);
        snprintf(side, sizeof side, "%s-wal", db);
        unlink(side);
        snprintf(side, sizeof side, "%s-shm", db);
        unlink(side);
    }
    f = fopen(file, "wb");
    if (!f || fwrite(data + 1, 1, size - 1, f) != size - 1 || fclose(f) != 0)
        abort();
    if (data[0] & 1)
        rc = cli_import_wxr(2, args);
    else
        rc = cli_import_ghost(2, args);
    if (rc != 0 && rc != 1)
        abort(); /* 2 is a usage error: the arguments are always right */
    return 0;
}
