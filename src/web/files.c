/*
 * files.c - the theme (templates and static assets) and the media folder.
 *
 * Templates and assets come from the binary (themes/default, embedded) and
 * are then overridden file by file from DIR/theme/. Assets are served as
 * /assets/NAME.HASH.EXT with a year-long immutable cache: a changed file
 * gets a new URL. Media (images, later audio) are files under DIR/media,
 * read with the path checked against a strict character set.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "core/arena.h"
#include "core/embed.h"
#include "core/log.h"
#include "render/tmpl.h"
#include "web/app.h"

#define MAX_THEME_FILE (1024 * 1024) /* bytes of one override file */
#define MAX_MEDIA_FILE (64 * 1024 * 1024) /* bytes of one media file */
#define MAX_ASSETS 64

static const struct {
    const char *ext;
    const char *type;
} types[] = {
    {".css", "text/css; charset=utf-8"},
    {".js", "text/javascript; charset=utf-8"},
    {".svg", "image/svg+xml"},
    {".png", "image/png"},
    {".jpg", "image/jpeg"},
    {".jpeg", "image/jpeg"},
    {".webp", "image/webp"},
    {".gif", "image/gif"},
    {".ico", "image/x-icon"},
    {".mp3", "audio/mpeg"},
    {".woff2", "font/woff2"},
    {".txt", "text/plain; charset=utf-8"},
};

static const char *type_of(const char *name)
{
    const char *dot = strrchr(name, '.');
    if (dot)
        for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
            if (strcasecmp(dot, types[i].ext) == 0)
                return types[i].type;
    return "application/octet-stream";
}

static int add_asset(struct web_app *app, const char *name,
                     const unsigned char *data, size_t len, int owned)
{
    struct web_asset *as = NULL;
    unsigned char h[4];
    char hex[9];

    for (size_t i = 0; i < app->nassets; i++)
        if (strcmp(app->assets[i].name, name) == 0) {
            as = &app->assets[i];
            if (as->owned)
                free((void *)as->data);
            free(as->url);
            break;
        }
    if (!as) {
        if (app->nassets == MAX_ASSETS) {
            log_error("too many theme assets (limit %d)", MAX_ASSETS);
            return -1;
        }
        as = &app->assets[app->nassets++];
        as->name = strdup(name);
    }
    as->data = data;
    as->len = len;
    as->owned = owned;
    as->type = type_of(name);
    crypto_generichash(h, sizeof h, data, len, NULL, 0);
    sodium_bin2hex(hex, sizeof hex, h, sizeof h);
    snprintf(as->etag, sizeof as->etag, "\"%s\"", hex);
    const char *dot = strrchr(name, '.');
    size_t stem = dot ? (size_t)(dot - name) : strlen(name);
    size_t n = strlen(name) + 32;
    as->url = malloc(n);
    if (!as->url || !as->name)
        abort();
    snprintf(as->url, n, "/assets/%.*s.%s%s", (int)stem, name, hex,
             dot ? dot : "");
    return 0;
}

/* Adds one theme file: a template (*.mustache) or an asset (assets/...). */
static int add_theme_file(struct web_app *app, const char *rel,
                          const unsigned char *data, size_t len, int owned,
                          char *err, size_t errlen)
{
    size_t n = strlen(rel);
    if (n > 9 && strcmp(rel + n - 9, ".mustache") == 0) {
        char name[512], perr[256];
        snprintf(name, sizeof name, "%.*s", (int)(n - 9), rel);
        int r = tmpl_set_add(app->theme, name, (const char *)data, len, perr,
                             sizeof perr);
        if (owned)
            free((void *)data);
        if (r < 0) {
            snprintf(err, errlen, "template '%s': %s", rel, perr);
            return -1;
        }
        return 0;
    }
    if (strncmp(rel, "assets/", 7) == 0)
        return add_asset(app, rel + 7, data, len, owned);
    if (owned)
        free((void *)data);
    return 0;
}

/* nftw has no context argument: the walk is single-threaded at start-up */
static struct web_app *walk_app;
static char walk_err[512];
static size_t walk_root;

static int walk_one(const char *path, const struct stat *sb, int flag,
                    struct FTW *ftw)
{
    (void)ftw;
    if (flag != FTW_F)
        return 0;
    const char *rel = path + walk_root;
    if (sb->st_size > MAX_THEME_FILE) {
        snprintf(walk_err, sizeof walk_err, "theme file '%s' is too large",
                 path);
        return 1;
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(walk_err, sizeof walk_err, "cannot open '%s': %s", path,
                 strerror(errno));
        return 1;
    }
    unsigned char *data = malloc((size_t)sb->st_size + 1);
    ssize_t got = data ? read(fd, data, (size_t)sb->st_size) : -1;
    close(fd);
    if (got != sb->st_size) {
        free(data);
        snprintf(walk_err, sizeof walk_err, "cannot read '%s'", path);
        return 1;
    }
    data[got] = '\0';
    if (add_theme_file(walk_app, rel, data, (size_t)got, 1, walk_err,
                       sizeof walk_err) < 0)
        return 1;
    return 0;
}

int files_load_theme(struct web_app *app, char *err, size_t errlen)
{
    char dir[1200];
    struct stat st;

    app->theme = tmpl_set_new();
    app->assets = calloc(MAX_ASSETS, sizeof(*app->assets));
    if (!app->assets)
        abort();
    for (const struct embed_file *f = embed_files; f->name; f++)
        if (strncmp(f->name, "theme/", 6) == 0 &&
            add_theme_file(app, f->name + 6, f->data, f->len, 0, err,
                           errlen) < 0)
            return -1;
    snprintf(dir, sizeof dir, "%s/theme", app->dir);
    if (stat(dir, &st) == 0 && S_ISDIR(st.st_mode)) {
        walk_app = app;
        walk_root = strlen(dir) + 1;
        walk_err[0] = '\0';
        if (nftw(dir, walk_one, 8, FTW_PHYS) != 0) {
            snprintf(err, errlen, "%s", walk_err[0] ? walk_err : "bad theme");
            return -1;
        }
        log_info("theme overrides loaded from '%s'", dir);
    }
    return 0;
}

void files_free_theme(struct web_app *app)
{
    for (size_t i = 0; i < app->nassets; i++) {
        free(app->assets[i].name);
        free(app->assets[i].url);
        if (app->assets[i].owned)
            free((void *)app->assets[i].data);
    }
    free(app->assets);
    app->assets = NULL;
    tmpl_set_free(app->theme);
    app->theme = NULL;
}

const char *files_asset_url(const struct web_app *app, const char *name)
{
    for (size_t i = 0; i < app->nassets; i++)
        if (strcmp(app->assets[i].name, name) == 0)
            return app->assets[i].url;
    return NULL;
}

int files_serve_asset(struct http_req *req, void *ctx)
{
    struct web_app *app = ctx;
    const char *path = http_req_path(req);

    for (size_t i = 0; i < app->nassets; i++) {
        const struct web_asset *as = &app->assets[i];
        int exact = strcmp(path, as->url) == 0;
        if (!exact && !(strncmp(path, "/assets/", 8) == 0 &&
                        strcmp(path + 8, as->name) == 0))
            continue;
        http_resp_header(req, "Cache-Control",
                         exact ? "public, max-age=31536000, immutable"
                               : "public, max-age=300");
        http_resp_header(req, "ETag", as->etag);
        return http_resp_send_static(req, 200, as->type, as->data, as->len);
    }
    return http_error(req, 404, "There is no such file.");
}

/* Media paths: letters, digits and . _ - / only, no empty or dot-leading
 * segment (the http layer already refuses "." and ".."). */
static int media_path_ok(const char *p)
{
    if (!*p || *p == '/')
        return 0;
    for (const char *s = p; *s; s++) {
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
              (*s >= '0' && *s <= '9') || strchr("._-/", *s)))
            return 0;
        if ((s == p || s[-1] == '/') && (*s == '.' || *s == '/'))
            return 0;
    }
    return 1;
}

int files_serve_media(struct http_req *req, void *ctx)
{
    struct web_app *app = ctx;
    struct arena *a = http_req_arena(req);
    const char *rel = http_req_param(req, "*");
    struct stat st;
    int fd = -1;
    char *path, *data;

    if (!rel || !media_path_ok(rel))
        return http_error(req, 404, "There is no such file.");
    path = arena_printf(a, "%s/%s", app->media_dir, rel);
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
        st.st_size > MAX_MEDIA_FILE) {
        if (fd >= 0)
            close(fd);
        return http_error(req, 404, "There is no such file.");
    }
    data = arena_alloc(a, (size_t)st.st_size + 1);
    ssize_t got = read(fd, data, (size_t)st.st_size);
    close(fd);
    if (got != st.st_size)
        return http_error(req, 500, "The file could not be read.");
    char *etag = arena_printf(a, "\"%lx-%lx\"", (unsigned long)st.st_mtime,
                              (unsigned long)st.st_size);
    http_resp_header(req, "ETag", etag);
    /* images/ names carry a content hash: they never change */
    http_resp_header(req, "Cache-Control",
                     strncmp(rel, "images/", 7) == 0
                         ? "public, max-age=31536000, immutable"
                         : "public, max-age=3600");
    if (strcmp(type_of(rel), "image/svg+xml") == 0)
        http_resp_header(req, "Content-Security-Policy",
                         "default-src 'none'; style-src 'unsafe-inline'; "
                         "sandbox");
    return http_resp_send_static(req, 200, type_of(rel), data,
                                 (size_t)got);
}
