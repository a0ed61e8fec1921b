/*
 * backup.c - `newsroom backup DIR FILE` and `newsroom restore DIR FILE`:
 * one .tar.gz holding a consistent copy of a live site (docs/backup.md).
 *
 * DESIGN
 * - The database is copied with SQLite's online backup API, a few hundred
 *   pages per step, inside one read transaction on the source. The site
 *   runs in WAL mode, so that transaction is a snapshot: writers (the
 *   server publishing, job workers) are never blocked, and the copy is the
 *   database as it was at one commit. The copy is checked (quick_check)
 *   before it goes into the archive.
 * - Files (site.conf, theme/, media/ with the narrations' audio) are read
 *   through one open descriptor each; newsroom writes media atomically
 *   (FILE.PID.part renamed into place), so a file is old or new, never half.
 *   *.part files are in flight and left out.
 * - The manifest (manifest.json) is the archive's last entry: every file's
 *   size and SHA-256 (libsodium) as it was written, so backup reads each
 *   file once and restore can check while it streams.
 * - Restore extracts into DIR/.restore-PID, refusing any entry that is not
 *   a plain file or directory with a relative path free of "..", checks
 *   every file against the manifest and the database's integrity, and only
 *   then renames the entries into DIR. A refused archive leaves DIR as it
 *   was (and removes DIR if restore created it).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <jansson.h>
#include <sodium.h>
#include <sqlite3.h>

#include "cli/cli.h"
#include "core/config.h"

#define MANIFEST_NAME "manifest.json"
#define MANIFEST_FORMAT "newsroom-backup"
#define MANIFEST_MAX_BYTES (64 * 1024 * 1024) /* manifest.json we accept */
#define ARCHIVE_NAME_MAX 1024                 /* bytes of an entry's path */
#define BACKUP_STEP_PAGES 256 /* database pages copied per backup step */
#define IO_CHUNK 65536        /* bytes read or written at a time */

static const char usage_backup[] =
    "usage: newsroom backup DIR FILE [--media-only]\n"
    "\n"
    "Writes the site in DIR to FILE (a .tar.gz) while it runs: a\n"
    "consistent copy of its SQLite database (online backup), site.conf,\n"
    "theme/ and media/ (images and narrations), and a manifest with\n"
    "every file's size and SHA-256. Restore it with 'newsroom restore'.\n"
    "\n"
    "  --media-only  for a site on PostgreSQL: archive the files alone\n"
    "                (back the database up with pg_dump)\n";

static const char usage_restore[] =
    "usage: newsroom restore DIR FILE [--force]\n"
    "\n"
    "Restores a backup made by 'newsroom backup' into DIR, which must not\n"
    "exist or be empty. Every file is checked against the archive's\n"
    "manifest, and the database's integrity too, before anything is put\n"
    "in place. Archives with absolute paths, '..', links or devices are\n"
    "refused.\n"
    "\n"
    "  --force  restore into a non-empty DIR, replacing the site.conf,\n"
    "           database, theme/ and media/ there (stop its server first)\n";

/* One file of the archive, as the manifest lists it. */
struct bfile {
    char *path;      /* archive path, heap */
    int64_t size;    /* bytes */
    char sha256[65]; /* lower-case hex */
};

/* A growable list of files. */
struct bfiles {
    struct bfile *v; /* heap array */
    size_t n;        /* used */
    size_t cap;      /* allocated */
};

static void bfiles_add(struct bfiles *l, const char *path, int64_t size,
                       const char *hex)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 64;
        l->v = realloc(l->v, l->cap * sizeof *l->v);
        if (!l->v)
            abort();
    }
    l->v[l->n].path = strdup(path);
    if (!l->v[l->n].path)
        abort();
    l->v[l->n].size = size;
    snprintf(l->v[l->n].sha256, sizeof l->v[l->n].sha256, "%s", hex);
    l->n++;
}

static void bfiles_release(struct bfiles *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i].path);
    free(l->v);
    l->v = NULL;
    l->n = l->cap = 0;
}

static int bfile_cmp(const void *a, const void *b)
{
    return strcmp(((const struct bfile *)a)->path,
                  ((const struct bfile *)b)->path);
}

static void hex_digest(crypto_hash_sha256_state *h, char out[65])
{
    unsigned char d[crypto_hash_sha256_BYTES];
    crypto_hash_sha256_final(h, d);
    sodium_bin2hex(out, 65, d, sizeof d);
}

/* "12.3 MB" for a byte count. */
static const char *human(int64_t n, char *buf, size_t len)
{
    if (n >= 1024 * 1024)
        snprintf(buf, len, "%.1f MB", (double)n / (1024.0 * 1024.0));
    else if (n >= 1024)
        snprintf(buf, len, "%.1f kB", (double)n / 1024.0);
    else
        snprintf(buf, len, "%lld bytes", (long long)n);
    return buf;
}

/* The site's database path (into path) from its config; 1 when it is on
 * PostgreSQL (path is then the URL), 0 for SQLite. */
static int db_path(const char *dir, const struct config *cfg, char *path,
                   size_t len)
{
    if (strstr(cfg->database, "://")) {
        snprintf(path, len, "%s", cfg->database);
        return 1;
    }
    if (cfg->database[0] == '/')
        snprintf(path, len, "%s", cfg->database);
    else
        snprintf(path, len, "%s/%s", dir, cfg->database);
    return 0;
}

/* 1 when name is a relative path with no empty, "." or ".." component. */
static int safe_relative(const char *name)
{
    const char *p = name;

    if (!*name || name[0] == '/')
        return 0;
    while (*p) {
        const char *slash = strchr(p, '/');
        size_t n = slash ? (size_t)(slash - p) : strlen(p);
        if (n == 0 || (n == 1 && p[0] == '.') ||
            (n == 2 && p[0] == '.' && p[1] == '.'))
            return 0;
        p += n;
        if (*p == '/')
            p++;
    }
    return 1;
}

/* --- backup -------------------------------------------------------------- */

/* State of one backup run. */
struct bk {
    struct archive *a;   /* the archive being written */
    struct bfiles files; /* what went in, for the manifest */
    int64_t bytes;       /* file bytes archived */
    int progress;        /* 1 when stderr is a terminal */
    int warnings;        /* files left out */
    char err[9000];      /* reason of a failure */
};

static void progress_files(struct bk *b)
{
    if (b->progress)
        fprintf(stderr, "\rbackup: %zu files", b->files.n);
}

static int add_dir_entry(struct bk *b, const char *name)
{
    struct archive_entry *e = archive_entry_new();
    int r;

    archive_entry_set_pathname(e, name);
    archive_entry_set_filetype(e, AE_IFDIR);
    archive_entry_set_perm(e, 0755);
    archive_entry_set_mtime(e, time(NULL), 0);
    r = archive_write_header(b->a, e);
    archive_entry_free(e);
    if (r != ARCHIVE_OK) {
        snprintf(b->err, sizeof b->err, "cannot write '%s': %s", name,
                 archive_error_string(b->a));
        return -1;
    }
    return 0;
}

/* Archives the regular file at path as name, hashing what is written.
 * 0, 1 when the file vanished or is not a regular file (skipped), -1. */
static int add_file(struct bk *b, const char *name, const char *path)
{
    struct archive_entry *e = NULL;
    crypto_hash_sha256_state h;
    unsigned char *buf = NULL;
    struct stat sb;
    int64_t done = 0;
    char hex[65];
    int fd = -1, rc = -1;

    fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return 1;
        if (errno == ELOOP) {
            fprintf(stderr,
                    "newsroom: backup: warning: left out '%s': a "
                    "symbolic link\n",
                    name);
            b->warnings++;
            return 1;
        }
        snprintf(b->err, sizeof b->err, "cannot open '%s': %s", path,
                 strerror(errno));
        return -1;
    }
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        close(fd);
        return 1;
    }
    buf = malloc(IO_CHUNK);
    if (!buf)
        abort();
    e = archive_entry_new();
    archive_entry_set_pathname(e, name);
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, 0644);
    archive_entry_set_size(e, sb.st_size);
    archive_entry_set_mtime(e, sb.st_mtime, 0);
    if (archive_write_header(b->a, e) != ARCHIVE_OK) {
        snprintf(b->err, sizeof b->err, "cannot write '%s': %s", name,
                 archive_error_string(b->a));
        goto out;
    }
    crypto_hash_sha256_init(&h);
    while (done < sb.st_size) {
        size_t want = IO_CHUNK;
        ssize_t n;
        if ((int64_t)want > sb.st_size - done)
            want = (size_t)(sb.st_size - done);
        n = read(fd, buf, want);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            snprintf(b->err, sizeof b->err, "cannot read '%s': %s", path,
                     strerror(errno));
            goto out;
        }
        if (n == 0) {
            /* the file shrank under us: pad, so the archive agrees with
             * its manifest; the next backup gets the new file */
            memset(buf, 0, want);
            n = (ssize_t)want;
            fprintf(stderr,
                    "newsroom: backup: warning: '%s' changed while "
                    "it was read\n",
                    name);
            b->warnings++;
        }
        crypto_hash_sha256_update(&h, buf, (unsigned long long)n);
        if (archive_write_data(b->a, buf, (size_t)n) != n) {
            snprintf(b->err, sizeof b->err, "cannot write '%s': %s", name,
                     archive_error_string(b->a));
            goto out;
        }
        done += n;
    }
    hex_digest(&h, hex);
    bfiles_add(&b->files, name, sb.st_size, hex);
    b->bytes += sb.st_size;
    progress_files(b);
    rc = 0;
out:
    archive_entry_free(e);
    free(buf);
    close(fd);
    return rc;
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Archives the folder at path as name/, recursively, in name order. A
 * missing folder is fine (a site without theme overrides). */
static int add_tree(struct bk *b, const char *name, const char *path)
{
    DIR *d = opendir(path);
    struct dirent *ent;
    char **names = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;

    if (!d && errno == ENOENT)
        return 0;
    if (!d) {
        snprintf(b->err, sizeof b->err, "cannot open '%s': %s", path,
                 strerror(errno));
        return -1;
    }
    while ((ent = readdir(d))) {
        size_t len = strlen(ent->d_name);
        if (!strcmp(ent->d_name, ".") || !strcmp(ent->d_name, ".."))
            continue;
        /* media in flight: written as FILE.PID.part, renamed when done */
        if (len > 5 && !strcmp(ent->d_name + len - 5, ".part"))
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 32;
            names = realloc(names, cap * sizeof *names);
            if (!names)
                abort();
        }
        names[n] = strdup(ent->d_name);
        if (!names[n])
            abort();
        n++;
    }
    closedir(d);
    if (n)
        qsort(names, n, sizeof *names, name_cmp);
    if (add_dir_entry(b, name) < 0)
        rc = -1;
    for (size_t i = 0; i < n && rc == 0; i++) {
        char sub[ARCHIVE_NAME_MAX + 8], subpath[4200];
        struct stat sb;
        if ((size_t)snprintf(sub, sizeof sub, "%s/%s", name, names[i]) >=
                ARCHIVE_NAME_MAX ||
            (size_t)snprintf(subpath, sizeof subpath, "%s/%s", path,
                             names[i]) >= sizeof subpath) {
            fprintf(stderr,
                    "newsroom: backup: warning: left out '%s/%s': "
                    "path too long\n",
                    name, names[i]);
            b->warnings++;
            continue;
        }
        if (lstat(subpath, &sb) != 0)
            continue; /* removed meanwhile */
        if (S_ISDIR(sb.st_mode))
            rc = add_tree(b, sub, subpath);
        else if (S_ISREG(sb.st_mode))
            rc = add_file(b, sub, subpath) < 0 ? -1 : 0;
        else {
            fprintf(stderr,
                    "newsroom: backup: warning: left out '%s': not "
                    "a regular file\n",
                    sub);
            b->warnings++;
        }
    }
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return rc;
}

/* Copies the SQLite database src to dst with the online backup API, in
 * steps inside one read snapshot of src. Sets *schema to the copy's newest
 * migration. 0 or -1 with err. */
static int copy_database(const char *src, const char *dst, int progress,
                         int *schema, char *err, size_t errlen)
{
    sqlite3 *s = NULL, *d = NULL;
    sqlite3_backup *bk = NULL;
    sqlite3_stmt *q = NULL;
    int rc = -1, r, wal = 0, in_tx = 0;

    unlink(dst);
    if (sqlite3_open_v2(src, &s, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "cannot open the database '%s': %s", src,
                 s ? sqlite3_errmsg(s) : "out of memory");
        goto out;
    }
    sqlite3_busy_timeout(s, 10000);
    if (sqlite3_prepare_v2(s, "PRAGMA journal_mode", -1, &q, NULL) ==
            SQLITE_OK &&
        sqlite3_step(q) == SQLITE_ROW)
        wal = !strcmp((const char *)sqlite3_column_text(q, 0), "wal");
    sqlite3_finalize(q);
    q = NULL;
    /* WAL: one read transaction is a snapshot that blocks no writer */
    if (wal) {
        if (sqlite3_exec(s, "BEGIN; SELECT count(*) FROM sqlite_schema", NULL,
                         NULL, NULL) != SQLITE_OK) {
            snprintf(err, errlen, "cannot read the database '%s': %s", src,
                     sqlite3_errmsg(s));
            goto out;
        }
        in_tx = 1;
    }
    if (sqlite3_open_v2(dst, &d, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
                        NULL) != SQLITE_OK) {
        snprintf(err, errlen, "cannot create '%s': %s", dst,
                 d ? sqlite3_errmsg(d) : "out of memory");
        goto out;
    }
    bk = sqlite3_backup_init(d, "main", s, "main");
    if (!bk) {
        snprintf(err, errlen, "cannot start the database backup: %s",
                 sqlite3_errmsg(d));
        goto out;
    }
    do {
        r = sqlite3_backup_step(bk, wal ? BACKUP_STEP_PAGES : -1);
        if (progress && sqlite3_backup_pagecount(bk) > 0)
            fprintf(stderr, "\rbackup: database %3d%%",
                    100 - 100 * sqlite3_backup_remaining(bk) /
                              sqlite3_backup_pagecount(bk));
        if (r == SQLITE_BUSY || r == SQLITE_LOCKED)
            sqlite3_sleep(20);
    } while (r == SQLITE_OK || r == SQLITE_BUSY || r == SQLITE_LOCKED);
    if (progress)
        fputs("\n", stderr);
    sqlite3_backup_finish(bk);
    bk = NULL;
    if (r != SQLITE_DONE) {
        snprintf(err, errlen, "cannot copy the database: %s",
                 sqlite3_errstr(r));
        goto out;
    }
    if (in_tx)
        sqlite3_exec(s, "COMMIT", NULL, NULL, NULL);
    in_tx = 0;
    /* one self-contained file, checked before it is archived */
    sqlite3_exec(d, "PRAGMA journal_mode = DELETE", NULL, NULL, NULL);
    if (sqlite3_prepare_v2(d, "PRAGMA quick_check", -1, &q, NULL) !=
            SQLITE_OK ||
        sqlite3_step(q) != SQLITE_ROW ||
        strcmp((const char *)sqlite3_column_text(q, 0), "ok") != 0) {
        snprintf(err, errlen, "the copy of the database fails its check: %s",
                 q && sqlite3_column_text(q, 0)
                     ? (const char *)sqlite3_column_text(q, 0)
                     : sqlite3_errmsg(d));
        goto out;
    }
    sqlite3_finalize(q);
    q = NULL;
    *schema = 0;
    if (sqlite3_prepare_v2(d,
                           "SELECT coalesce(max(version), 0) FROM "
                           "schema_migrations",
                           -1, &q, NULL) == SQLITE_OK &&
        sqlite3_step(q) == SQLITE_ROW)
        *schema = sqlite3_column_int(q, 0);
    rc = 0;
out:
    sqlite3_finalize(q);
    if (bk)
        sqlite3_backup_finish(bk);
    if (in_tx)
        sqlite3_exec(s, "ROLLBACK", NULL, NULL, NULL);
    sqlite3_close(d);
    sqlite3_close(s);
    if (rc < 0)
        unlink(dst);
    return rc;
}

/* Writes manifest.json, the archive's last entry. */
static int add_manifest(struct bk *b, const char *version, int schema,
                        const char *dbname)
{
    json_t *m, *files = json_array();
    struct archive_entry *e;
    char when[32], *text;
    time_t now = time(NULL);
    struct tm tm;
    int rc = -1;
    size_t len;

    gmtime_r(&now, &tm);
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
    for (size_t i = 0; i < b->files.n; i++)
        json_array_append_new(files, json_pack("{s:s, s:I, s:s}", "path",
                                               b->files.v[i].path, "size",
                                               (json_int_t)b->files.v[i].size,
                                               "sha256", b->files.v[i].sha256));
    m = json_pack("{s:s, s:i, s:s, s:i, s:s, s:I, s:o, s:o}", "format",
                  MANIFEST_FORMAT, "format_version", 1, "newsroom_version",
                  version, "schema_version", schema, "created", when,
                  "created_unix", (json_int_t)now, "database",
                  dbname ? json_string(dbname) : json_null(), "files", files);
    text = json_dumps(m, JSON_INDENT(1));
    json_decref(m);
    if (!text)
        abort();
    len = strlen(text);
    e = archive_entry_new();
    archive_entry_set_pathname(e, MANIFEST_NAME);
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, 0644);
    archive_entry_set_size(e, (la_int64_t)len);
    archive_entry_set_mtime(e, now, 0);
    if (archive_write_header(b->a, e) != ARCHIVE_OK ||
        archive_write_data(b->a, text, len) != (la_ssize_t)len)
        snprintf(b->err, sizeof b->err, "cannot write the manifest: %s",
                 archive_error_string(b->a));
    else
        rc = 0;
    archive_entry_free(e);
    free(text);
    return rc;
}

int cli_backup(int argc, char **argv, const char *version)
{
    const char *dir = NULL, *file = NULL;
    struct bk b = {0};
    struct config cfg;
    char path[2200], dbcopy[2200], part[2200], err[9000], h1[32], h2[32];
    int media_only = 0, schema = 0, pg, rc = 1, wrote = 0;
    const char *dbname = NULL;
    struct stat sb;

    if (cli_wants_help(argc, argv)) {
        fputs(usage_backup, stdout);
        return 0;
    }
    rc = cli_dir_file("backup", argc, argv, "--media-only", &media_only, &dir,
                      &file);
    if (rc)
        return rc;
    rc = 1;
    if (sodium_init() < 0)
        return cli_fail("backup: cannot start libsodium");
    config_defaults(&cfg);
    snprintf(path, sizeof path, "%s/site.conf", dir);
    if (config_load(&cfg, path, err, sizeof err) < 0)
        return cli_fail("backup: %s", err);
    pg = db_path(dir, &cfg, path, sizeof path);
    if (pg && !media_only)
        return cli_fail("backup: the database of '%s' is on PostgreSQL: "
                        "back it up with pg_dump, and add --media-only to "
                        "archive site.conf, theme/ and media/",
                        dir);
    b.progress = isatty(2);
    snprintf(part, sizeof part, "%s.part", file);
    snprintf(dbcopy, sizeof dbcopy, "%s.db.part", file);
    if (!pg && !media_only) {
        /* relative names are kept (site.conf needs no change on restore) */
        dbname = safe_relative(cfg.database) ? cfg.database : "newsroom.db";
        if (copy_database(path, dbcopy, b.progress, &schema, err, sizeof err) <
            0) {
            cli_fail("backup: %s", err);
            goto out;
        }
    }
    b.a = archive_write_new();
    archive_write_add_filter_gzip(b.a);
    archive_write_set_format_pax_restricted(b.a);
    if (archive_write_open_filename(b.a, part) != ARCHIVE_OK) {
        cli_fail("backup: cannot create '%s': %s", part,
                 archive_error_string(b.a));
        goto out;
    }
    wrote = 1;
    snprintf(path, sizeof path, "%s/site.conf", dir);
    if (add_file(&b, "site.conf", path) < 0)
        goto fail;
    if (dbname && add_file(&b, dbname, dbcopy) != 0) {
        if (!b.err[0])
            snprintf(b.err, sizeof b.err, "the database copy vanished");
        goto fail;
    }
    snprintf(path, sizeof path, "%s/theme", dir);
    if (add_tree(&b, "theme", path) < 0)
        goto fail;
    snprintf(path, sizeof path, "%s/media", dir);
    if (add_tree(&b, "media", path) < 0)
        goto fail;
    if (add_manifest(&b, version, schema, dbname) < 0)
        goto fail;
    if (archive_write_close(b.a) != ARCHIVE_OK) {
        snprintf(b.err, sizeof b.err, "cannot write '%s': %s", part,
                 archive_error_string(b.a));
        goto fail;
    }
    if (b.progress)
        fputs("\n", stderr);
    if (rename(part, file) != 0) {
        cli_fail("backup: cannot rename '%s' to '%s': %s", part, file,
                 strerror(errno));
        goto out;
    }
    wrote = 0;
    if (stat(file, &sb) != 0)
        sb.st_size = 0;
    printf("backed up '%s' to '%s': %s%zu files (%s), %s compressed", dir, file,
           dbname ? "the database and " : "", b.files.n - (dbname ? 1 : 0),
           human(b.bytes, h1, sizeof h1), human(sb.st_size, h2, sizeof h2));
    if (dbname)
        printf(", schema %d", schema);
    if (b.warnings)
        printf(", %d warning%s", b.warnings, b.warnings == 1 ? "" : "s");
    printf("\n");
    if (pg)
        printf("the database is on PostgreSQL: back it up with pg_dump\n");
    rc = 0;
    goto out;
fail:
    if (b.progress)
        fputs("\n", stderr);
    cli_fail("backup: %s", b.err);
out:
    if (b.a)
        archive_write_free(b.a);
    if (wrote)
        unlink(part);
    if (dbname)
        unlink(dbcopy);
    bfiles_release(&b.files);
    return rc;
}

/* --- restore ------------------------------------------------------------- */

static int rm_entry(const char *path, const struct stat *sb, int flag,
                    struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

/* rm -rf path (never following links). */
static void rm_tree(const char *path)
{
    nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* mkdir -p of name's folders under base (name relative and checked). */
static int make_parents(const char *base, const char *name, int self)
{
    char p[4200];
    size_t blen = strlen(base);

    if ((size_t)snprintf(p, sizeof p, "%s/%s", base, name) >= sizeof p)
        return -1;
    for (char *s = p + blen + 1; *s; s++) {
        if (*s != '/')
            continue;
        *s = '\0';
        if (mkdir(p, 0755) != 0 && errno != EEXIST)
            return -1;
        *s = '/';
    }
    if (self && mkdir(p, 0755) != 0 && errno != EEXIST)
        return -1;
    return 0;
}

/* State of one restore run. */
struct rs {
    struct archive *a;   /* the archive being read */
    const char *file;    /* its name, for messages */
    const char *stage;   /* DIR/.restore-PID */
    struct bfiles files; /* what was extracted, with hashes */
    char *manifest;      /* manifest.json text, heap, or NULL */
    int64_t bytes;       /* file bytes extracted */
    int progress;        /* 1 when stderr is a terminal */
    char err[9000];      /* reason of a failure */
};

/* Extracts the current entry (a regular file) to stage/name. */
static int extract_file(struct rs *r, const char *name, int64_t size)
{
    crypto_hash_sha256_state h;
    char path[4200], hex[65];
    const void *buf;
    char *chunk = NULL;
    size_t len;
    la_int64_t off;
    int64_t done = 0;
    int fd, x, rc = -1;

    if (!strcmp(name, MANIFEST_NAME)) {
        if (r->manifest || size > MANIFEST_MAX_BYTES || size < 0) {
            snprintf(r->err, sizeof r->err,
                     "refusing '%s': its manifest is repeated or too large",
                     r->file);
            return -1;
        }
        r->manifest = calloc(1, (size_t)size + 1);
        if (!r->manifest)
            abort();
        while ((x = archive_read_data_block(r->a, &buf, &len, &off)) ==
               ARCHIVE_OK) {
            if (off < 0 || off + (la_int64_t)len > size)
                break;
            memcpy(r->manifest + off, buf, len);
        }
        if (x != ARCHIVE_EOF) {
            snprintf(r->err, sizeof r->err, "cannot read '%s': %s", r->file,
                     archive_error_string(r->a));
            return -1;
        }
        return 0;
    }
    if (make_parents(r->stage, name, 0) < 0 ||
        (size_t)snprintf(path, sizeof path, "%s/%s", r->stage, name) >=
            sizeof path) {
        snprintf(r->err, sizeof r->err, "cannot create '%s/%s': %s", r->stage,
                 name, strerror(errno));
        return -1;
    }
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0) {
        if (errno == EEXIST)
            snprintf(r->err, sizeof r->err,
                     "refusing '%s': entry '%s' appears twice", r->file, name);
        else
            snprintf(r->err, sizeof r->err, "cannot create '%s': %s", path,
                     strerror(errno));
        return -1;
    }
    chunk = malloc(IO_CHUNK);
    if (!chunk)
        abort();
    crypto_hash_sha256_init(&h);
    for (;;) {
        la_ssize_t n = archive_read_data(r->a, chunk, IO_CHUNK);
        if (n == 0)
            break;
        if (n < 0) {
            snprintf(r->err, sizeof r->err, "cannot read '%s' at '%s': %s",
                     r->file, name, archive_error_string(r->a));
            goto out;
        }
        crypto_hash_sha256_update(&h, (const unsigned char *)chunk,
                                  (unsigned long long)n);
        for (la_ssize_t w = 0; w < n;) {
            ssize_t k = write(fd, chunk + w, (size_t)(n - w));
            if (k < 0 && errno == EINTR)
                continue;
            if (k < 0) {
                snprintf(r->err, sizeof r->err, "cannot write '%s': %s", path,
                         strerror(errno));
                goto out;
            }
            w += k;
        }
        done += n;
    }
    if (fsync(fd) != 0) {
        snprintf(r->err, sizeof r->err, "cannot write '%s': %s", path,
                 strerror(errno));
        goto out;
    }
    hex_digest(&h, hex);
    bfiles_add(&r->files, name, done, hex);
    r->bytes += done;
    if (r->progress)
        fprintf(stderr, "\rrestore: %zu files", r->files.n);
    rc = 0;
out:
    close(fd);
    free(chunk);
    return rc;
}

/* Reads every entry of the archive into the staging folder, refusing
 * hostile ones. 0 or -1 with r->err. */
static int extract_all(struct rs *r)
{
    struct archive_entry *e;
    int x;

    while ((x = archive_read_next_header(r->a, &e)) == ARCHIVE_OK ||
           x == ARCHIVE_WARN) {
        const char *raw = archive_entry_pathname(e);
        char name[ARCHIVE_NAME_MAX + 2];
        size_t len;
        mode_t type = archive_entry_filetype(e);

        if (!raw || !*raw || strlen(raw) > ARCHIVE_NAME_MAX) {
            snprintf(r->err, sizeof r->err,
                     "refusing '%s': an entry has an empty or too long name",
                     r->file);
            return -1;
        }
        snprintf(name, sizeof name, "%s", raw);
        len = strlen(name);
        if (type == AE_IFDIR && len > 1 && name[len - 1] == '/')
            name[len - 1] = '\0';
        if (name[0] == '/') {
            snprintf(r->err, sizeof r->err,
                     "refusing '%s': entry '%.200s' is an absolute path",
                     r->file, name);
            return -1;
        }
        if (!safe_relative(name)) {
            snprintf(r->err, sizeof r->err,
                     "refusing '%s': entry '%.200s' has '..' or an empty "
                     "part in its path and could land outside the site",
                     r->file, name);
            return -1;
        }
        if (type == AE_IFLNK || archive_entry_symlink(e)) {
            snprintf(r->err, sizeof r->err,
                     "refusing '%s': entry '%.200s' is a symbolic link",
                     r->file, name);
            return -1;
        }
        if (archive_entry_hardlink(e)) {
            snprintf(r->err, sizeof r->err,
                     "refusing '%s': entry '%.200s' is a hard link", r->file,
                     name);
            return -1;
        }
        if (type == AE_IFDIR) {
            if (make_parents(r->stage, name, 1) < 0) {
                snprintf(r->err, sizeof r->err, "cannot create '%s/%.200s': %s",
                         r->stage, name, strerror(errno));
                return -1;
            }
            continue;
        }
        if (type != AE_IFREG) {
            snprintf(r->err, sizeof r->err,
                     "refusing '%s': entry '%.200s' is a device or special "
                     "file",
                     r->file, name);
            return -1;
        }
        if (extract_file(r, name, archive_entry_size(e)) < 0)
            return -1;
    }
    if (x != ARCHIVE_EOF) {
        snprintf(r->err, sizeof r->err,
                 "cannot read '%s': %s (the archive is damaged or not a "
                 "newsroom backup)",
                 r->file, archive_error_string(r->a));
        return -1;
    }
    return 0;
}

/* Checks the extracted files against the manifest: same set, same sizes,
 * same SHA-256. Sets *dbname (in *m) to the database's entry or NULL. */
static int verify(struct rs *r, json_t **m, const char **dbname, int *schema)
{
    struct bfiles want = {0};
    json_error_t je;
    json_t *files, *f, *db;
    size_t i;
    int rc = -1;

    *m = NULL;
    if (!r->manifest) {
        snprintf(r->err, sizeof r->err,
                 "refusing '%s': it has no %s (not a newsroom backup, or "
                 "cut short)",
                 r->file, MANIFEST_NAME);
        return -1;
    }
    *m = json_loads(r->manifest, 0, &je);
    files = json_object_get(*m, "files");
    if (!*m || !json_is_array(files) ||
        !json_is_string(json_object_get(*m, "format")) ||
        strcmp(json_string_value(json_object_get(*m, "format")),
               MANIFEST_FORMAT) != 0) {
        snprintf(r->err, sizeof r->err,
                 "refusing '%s': its %s is not a newsroom backup manifest",
                 r->file, MANIFEST_NAME);
        return -1;
    }
    *schema = (int)json_integer_value(json_object_get(*m, "schema_version"));
    db = json_object_get(*m, "database");
    *dbname = json_is_string(db) ? json_string_value(db) : NULL;
    json_array_foreach(files, i, f)
    {
        const char *p = json_string_value(json_object_get(f, "path"));
        const char *h = json_string_value(json_object_get(f, "sha256"));
        json_t *sz = json_object_get(f, "size");
        if (!p || !h || strlen(h) != 64 || !json_is_integer(sz)) {
            snprintf(r->err, sizeof r->err,
                     "refusing '%s': its manifest has a malformed entry",
                     r->file);
            goto out;
        }
        bfiles_add(&want, p, json_integer_value(sz), h);
    }
    if (want.n)
        qsort(want.v, want.n, sizeof *want.v, bfile_cmp);
    if (r->files.n)
        qsort(r->files.v, r->files.n, sizeof *r->files.v, bfile_cmp);
    for (size_t a = 0, b = 0; a < want.n || b < r->files.n;) {
        int c = a == want.n       ? 1
                : b == r->files.n ? -1
                                  : strcmp(want.v[a].path, r->files.v[b].path);
        if (c < 0) {
            snprintf(r->err, sizeof r->err,
                     "refusing '%s': '%.200s' is in the manifest but missing "
                     "from the archive",
                     r->file, want.v[a].path);
            goto out;
        }
        if (c > 0) {
            snprintf(r->err, sizeof r->err,
                     "refusing '%s': '%.200s' is not in the manifest", r->file,
                     r->files.v[b].path);
            goto out;
        }
        if (want.v[a].size != r->files.v[b].size ||
            strcmp(want.v[a].sha256, r->files.v[b].sha256) != 0) {
            snprintf(r->err, sizeof r->err,
                     "refusing '%s': '%.200s' is damaged: its SHA-256 "
                     "checksum does not match the manifest",
                     r->file, want.v[a].path);
            goto out;
        }
        a++;
        b++;
    }
    if (*dbname) {
        int found = 0;
        for (i = 0; i < r->files.n; i++)
            found |= !strcmp(r->files.v[i].path, *dbname);
        if (!found) {
            snprintf(r->err, sizeof r->err,
                     "refusing '%s': its database '%.200s' is missing", r->file,
                     *dbname);
            goto out;
        }
    }
    rc = 0;
out:
    bfiles_release(&want);
    return rc;
}

/* PRAGMA integrity_check on the staged database. */
static int check_database(struct rs *r, const char *dbname)
{
    char path[4200];
    sqlite3 *db = NULL;
    sqlite3_stmt *q = NULL;
    int rc = -1;

    snprintf(path, sizeof path, "%s/%s", r->stage, dbname);
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &q, NULL) ==
            SQLITE_OK &&
        sqlite3_step(q) == SQLITE_ROW &&
        !strcmp((const char *)sqlite3_column_text(q, 0), "ok"))
        rc = 0;
    else
        snprintf(r->err, sizeof r->err,
                 "refusing '%s': its database fails the integrity check: %s",
                 r->file,
                 q && sqlite3_column_text(q, 0)
                     ? (const char *)sqlite3_column_text(q, 0)
                     : sqlite3_errmsg(db));
    sqlite3_finalize(q);
    sqlite3_close(db);
    return rc;
}

/* Moves what is staged into dir; with force, what it replaces goes to
 * trash first (and a replaced database's -wal/-shm, which belong to the
 * old one). */
static int put_in_place(struct rs *r, const char *dir, const char *trash,
                        const char *dbname)
{
    DIR *d = opendir(r->stage);
    struct dirent *e;
    char from[4200], to[4200];
    int rc = 0, trash_made = 0;

    if (!d) {
        snprintf(r->err, sizeof r->err, "cannot open '%s': %s", r->stage,
                 strerror(errno));
        return -1;
    }
    while (rc == 0 && (e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        snprintf(from, sizeof from, "%s/%s", r->stage, e->d_name);
        snprintf(to, sizeof to, "%s/%s", dir, e->d_name);
        for (int k = 0; k < 3; k++) {
            static const char *const sfx[] = {"", "-wal", "-shm"};
            char t[4300], o[4300];
            struct stat sb;
            if (k && !(dbname && !strcmp(e->d_name, dbname)))
                break;
            snprintf(t, sizeof t, "%s%s", to, sfx[k]);
            if (lstat(t, &sb) != 0)
                continue;
            if (!trash_made && mkdir(trash, 0700) != 0) {
                snprintf(r->err, sizeof r->err, "cannot create '%s': %s", trash,
                         strerror(errno));
                rc = -1;
                break;
            }
            trash_made = 1;
            snprintf(o, sizeof o, "%s/%s%s", trash, e->d_name, sfx[k]);
            if (rename(t, o) != 0) {
                snprintf(r->err, sizeof r->err, "cannot move '%s' aside: %s", t,
                         strerror(errno));
                rc = -1;
            }
        }
        if (rc == 0 && rename(from, to) != 0) {
            snprintf(r->err, sizeof r->err, "cannot move '%s' to '%s': %s",
                     from, to, strerror(errno));
            rc = -1;
        }
    }
    closedir(d);
    return rc;
}

int cli_restore(int argc, char **argv)
{
    const char *dir = NULL, *file = NULL, *dbname = NULL;
    struct rs r = {0};
    json_t *m = NULL;
    char stage[2200], trash[2200], path[2200], err[512], h1[32];
    int force = 0, made_dir = 0, staged = 0, schema = 0, rc = 1;
    struct config cfg;

    if (cli_wants_help(argc, argv)) {
        fputs(usage_restore, stdout);
        return 0;
    }
    rc = cli_dir_file("restore", argc, argv, "--force", &force, &dir, &file);
    if (rc)
        return rc;
    rc = 1;
    if (sodium_init() < 0)
        return cli_fail("restore: cannot start libsodium");
    if (access(file, R_OK) != 0)
        return cli_fail("restore: cannot read '%s': %s", file, strerror(errno));
    if (!force && !cli_dir_fresh(dir))
        return cli_fail("restore: '%s' exists and is not empty (add --force "
                        "to replace the site there)",
                        dir);
    if (mkdir(dir, 0755) == 0)
        made_dir = 1;
    else if (errno != EEXIST)
        return cli_fail("restore: cannot create '%s': %s", dir,
                        strerror(errno));
    snprintf(stage, sizeof stage, "%s/.restore-%ld", dir, (long)getpid());
    snprintf(trash, sizeof trash, "%s/.restore-old-%ld", dir, (long)getpid());
    if (mkdir(stage, 0700) != 0) {
        cli_fail("restore: cannot create '%s': %s", stage, strerror(errno));
        goto out;
    }
    staged = 1;
    r.file = file;
    r.stage = stage;
    r.progress = isatty(2);
    r.a = archive_read_new();
    archive_read_support_filter_gzip(r.a);
    archive_read_support_format_tar(r.a);
    if (archive_read_open_filename(r.a, file, IO_CHUNK) != ARCHIVE_OK) {
        snprintf(r.err, sizeof r.err, "cannot read '%s': %s", file,
                 archive_error_string(r.a));
        goto fail;
    }
    if (extract_all(&r) < 0 || verify(&r, &m, &dbname, &schema) < 0 ||
        (dbname && check_database(&r, dbname) < 0))
        goto fail;
    if (r.progress)
        fputs("\n", stderr);
    if (put_in_place(&r, dir, trash, dbname) < 0)
        goto fail;
    printf("restored '%s' into '%s': %s%zu files (%s)", file, dir,
           dbname ? "the database and " : "", r.files.n - (dbname ? 1 : 0),
           human(r.bytes, h1, sizeof h1));
    if (dbname)
        printf(", schema %d", schema);
    printf(", taken %s\n",
           json_string_value(json_object_get(m, "created"))
               ? json_string_value(json_object_get(m, "created"))
               : "(unknown)");
    config_defaults(&cfg);
    snprintf(path, sizeof path, "%s/site.conf", dir);
    if (config_load(&cfg, path, err, sizeof err) == 0 && dbname &&
        strcmp(cfg.database, dbname) != 0)
        fprintf(stderr,
                "newsroom: restore: warning: site.conf's database is "
                "'%s'; the restored one is '%s/%s': edit site.conf\n",
                cfg.database, dir, dbname);
    else if (!dbname)
        printf("the archive holds no database (a PostgreSQL site): restore "
               "it with pg_restore\n");
    printf("serve it with: newsroom serve %s\n", dir);
    made_dir = 0;
    rc = 0;
    goto out;
fail:
    if (r.progress)
        fputs("\n", stderr);
    cli_fail("restore: %s", r.err);
out:
    if (r.a)
        archive_read_free(r.a);
    json_decref(m);
    free(r.manifest);
    bfiles_release(&r.files);
    if (staged)
        rm_tree(stage);
    rm_tree(trash);
    if (made_dir)
        rmdir(dir);
    return rc;
}
