/*
 * files.c - the theme (templates and static assets) and the media folder.
 *
 * Templates and assets come from the binary (themes/default, embedded) and
 * are then overridden file by file from DIR/theme/. Assets are served as
 * /assets/NAME.HASH.EXT with a year-long immutable cache: a changed file
 * gets a new URL. Media (images, narrated audio) are files under
 * DIR/media, read with the path checked against a strict character set.
 *
 * Media answer byte ranges (RFC 9110 section 14) so that audio players can
 * seek: Accept-Ranges: bytes always; one range is a 206 with
 * Content-Range, several a 206 multipart/byteranges, none satisfiable a
 * 416 whose Content-Range gives the length; a malformed Range, another
 * unit, or an If-Range that no longer matches gets the whole file (200).
 * The http layer sends from memory: a whole file is read into the request
 * arena (at most MAX_MEDIA_FILE), a range request reads just its bytes.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "core/arena.h"
#include "core/embed.h"
#include "core/log.h"
#include "render/date.h"
#include "render/tmpl.h"
#include "web/app.h"

#define MAX_THEME_FILE (1024 * 1024)      /* bytes of one override file */
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
            add_theme_file(app, f->name + 6, f->data, f->len, 0, err, errlen) <
                0)
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

/* An open media file and the validators its responses carry. */
struct media_file {
    const char *rel;           /* path under media/ */
    int fd;                    /* open for reading */
    int64_t size;              /* bytes */
    const char *type;          /* Content-Type */
    const char *etag;          /* quoted, from mtime and size */
    const char *last_modified; /* HTTP-date of the mtime */
};

/* The headers every 200/206 of a media file carries. */
static void media_headers(struct http_req *req, const struct media_file *f)
{
    http_resp_header(req, "Accept-Ranges", "bytes");
    http_resp_header(req, "ETag", f->etag);
    http_resp_header(req, "Last-Modified", f->last_modified);
    /* images/ and audio/ names carry a content hash: they never change */
    http_resp_header(req, "Cache-Control",
                     strncmp(f->rel, "images/", 7) == 0 ||
                             strncmp(f->rel, "audio/", 6) == 0
                         ? "public, max-age=31536000, immutable"
                         : "public, max-age=3600");
    if (strcmp(f->type, "image/svg+xml") == 0)
        http_resp_header(req, "Content-Security-Policy",
                         "default-src 'none'; style-src 'unsafe-inline'; "
                         "sandbox");
}

/* ---- HTTP range requests (RFC 9110 section 14) ---- */

#define MAX_RANGES 16 /* ranges served in one request; more are ignored */

struct byte_range {
    int64_t first; /* first byte, 0-based */
    int64_t last;  /* last byte, inclusive */
};

/* Reads decimal digits at *s into *v (saturating at INT64_MAX) and
 * advances *s; 0, or -1 when *s holds no digit. */
static int range_number(const char **s, int64_t *v)
{
    const char *p = *s;
    int64_t n = 0;

    if (*p < '0' || *p > '9')
        return -1;
    for (; *p >= '0' && *p <= '9'; p++)
        n = n > (INT64_MAX - 9) / 10 ? INT64_MAX : n * 10 + (*p - '0');
    *s = p;
    *v = n;
    return 0;
}

/*
 * Parses a Range header value against a representation of len bytes
 * (RFC 9110 14.1.1: "bytes=" then range-specs "a-b", "a-" or "-n",
 * separated by commas and optional white space). The satisfiable specs go
 * to r (clamped to the file, in request order), their count to *n.
 * Returns 1 (some satisfiable), 0 (none satisfiable: 416), or -1 when
 * the header is to be ignored: another unit, bad syntax, last < first,
 * more than MAX_RANGES, or ranges adding up to more than the file
 * (overlaps, 14.2).
 */
static int range_parse(const char *h, int64_t len, struct byte_range *r,
                       size_t *n)
{
    const char *s = h;
    size_t specs = 0;
    int64_t total = 0;

    *n = 0;
    if (strncasecmp(s, "bytes", 5) != 0)
        return -1;
    s += 5;
    while (*s == ' ' || *s == '\t')
        s++;
    if (*s++ != '=')
        return -1;
    for (;;) {
        int64_t a, b;
        while (*s == ' ' || *s == '\t' || *s == ',')
            s++;
        if (!*s)
            break;
        if (++specs > MAX_RANGES)
            return -1;
        if (*s == '-') { /* suffix-range: the last b bytes */
            s++;
            if (range_number(&s, &b) < 0)
                return -1;
            if (b > 0 && len > 0) {
                r[*n].first = b >= len ? 0 : len - b;
                r[*n].last = len - 1;
                total += r[*n].last - r[*n].first + 1;
                ++*n;
            }
        } else {
            if (range_number(&s, &a) < 0 || *s++ != '-')
                return -1;
            b = INT64_MAX;
            if (*s >= '0' && *s <= '9') {
                range_number(&s, &b);
                if (b < a)
                    return -1; /* invalid int-range */
            }
            if (a < len) {
                r[*n].first = a;
                r[*n].last = b >= len ? len - 1 : b;
                total += r[*n].last - r[*n].first + 1;
                ++*n;
            }
        }
        while (*s == ' ' || *s == '\t')
            s++;
        if (*s && *s != ',')
            return -1;
    }
    if (specs == 0)
        return -1;
    if (total > len)
        return -1;
    return *n > 0;
}

/* Whether the If-Range value cond still names this file (RFC 9110
 * 13.1.5): an entity-tag compared strongly with etag, or an HTTP-date
 * equal to last_modified. */
static int if_range_ok(const char *cond, const char *etag,
                       const char *last_modified)
{
    if (cond[0] == 'W' && cond[1] == '/')
        return 0; /* a weak tag never matches */
    if (cond[0] == '"')
        return strcmp(cond, etag) == 0;
    return strcmp(cond, last_modified) == 0;
}

/* Whether an If-None-Match list names etag (or is "*"): the layer then
 * answers the 200 with 304, which wins over Range (RFC 9110 13.2.2). */
static int none_match_hit(const char *inm, const char *etag)
{
    size_t n = strlen(etag);

    for (const char *s = inm; *s;) {
        while (*s == ' ' || *s == '\t' || *s == ',')
            s++;
        if (*s == '*')
            return 1;
        if (s[0] == 'W' && s[1] == '/')
            s += 2;
        if (strncmp(s, etag, n) == 0)
            return 1;
        while (*s && *s != ',')
            s++;
    }
    return 0;
}

/* Reads len bytes at off of fd into dst; 0 or -1. */
static int read_at(int fd, char *dst, int64_t off, int64_t len)
{
    while (len > 0) {
        ssize_t got = pread(fd, dst, (size_t)len, (off_t)off);
        if (got <= 0)
            return -1;
        dst += got;
        off += got;
        len -= got;
    }
    return 0;
}

/* Sends the 206 for the n ranges r of file f: one range as itself with
 * Content-Range, several as multipart/byteranges (RFC 9110 14.6) with a
 * random boundary. Only the bytes of the ranges are read. */
static int send_ranges(struct http_req *req, const struct media_file *f,
                       const struct byte_range *r, size_t n)
{
    int fd = f->fd;
    int64_t size = f->size;
    const char *type = f->type;
    struct arena *a = http_req_arena(req);
    unsigned char rnd[12];
    char boundary[25];

    if (n == 1) {
        int64_t len = r[0].last - r[0].first + 1;
        char *data = arena_alloc(a, (size_t)len + 1);
        if (read_at(fd, data, r[0].first, len) < 0)
            return http_error(req, 500, "The file could not be read.");
        media_headers(req, f);
        http_resp_header(req, "Content-Range",
                         arena_printf(a, "bytes %lld-%lld/%lld",
                                      (long long)r[0].first,
                                      (long long)r[0].last, (long long)size));
        return http_resp_send_static(req, 206, type, data, (size_t)len);
    }
    randombytes_buf(rnd, sizeof rnd);
    sodium_bin2hex(boundary, sizeof boundary, rnd, sizeof rnd);
    /* each part's head, then one block for the whole body */
    const char **head = arena_alloc(a, n * sizeof *head);
    const char *tail = arena_printf(a, "\r\n--%s--\r\n", boundary);
    size_t total = strlen(tail);
    for (size_t i = 0; i < n; i++) {
        head[i] =
            arena_printf(a,
                         "%s--%s\r\nContent-Type: %s\r\n"
                         "Content-Range: bytes %lld-%lld/%lld\r\n\r\n",
                         i ? "\r\n" : "", boundary, type, (long long)r[i].first,
                         (long long)r[i].last, (long long)size);
        total += strlen(head[i]) + (size_t)(r[i].last - r[i].first + 1);
    }
    char *body = arena_alloc(a, total + 1), *p = body;
    for (size_t i = 0; i < n; i++) {
        int64_t len = r[i].last - r[i].first + 1;
        size_t hl = strlen(head[i]);
        memcpy(p, head[i], hl);
        p += hl;
        if (read_at(fd, p, r[i].first, len) < 0)
            return http_error(req, 500, "The file could not be read.");
        p += len;
    }
    memcpy(p, tail, strlen(tail));
    media_headers(req, f);
    return http_resp_send_static(
        req, 206,
        arena_printf(a, "multipart/byteranges; boundary=%s", boundary), body,
        total);
}

/* Whether the request's Range applies (RFC 9110 13.2.2 order): not when a
 * matching If-None-Match makes it a 304, nor with If-Modified-Since (the
 * layer decides 200/304 on the whole file), nor with a stale If-Range. */
static int range_applies(struct http_req *req, const struct media_file *f)
{
    const char *inm = http_req_header(req, "If-None-Match");
    const char *ir = http_req_header(req, "If-Range");

    if (inm)
        return !none_match_hit(inm, f->etag);
    if (http_req_header(req, "If-Modified-Since"))
        return 0;
    return !ir || if_range_ok(ir, f->etag, f->last_modified);
}

/* Answers from the open file: 206/416 for a Range that applies, else the
 * whole file (which the layer may turn into a 304). */
static int send_media(struct http_req *req, const struct media_file *f)
{
    struct arena *a = http_req_arena(req);
    const char *range = http_req_header(req, "Range");
    struct byte_range r[MAX_RANGES];
    size_t n = 0;

    if (range && range_applies(req, f)) {
        int rc = range_parse(range, f->size, r, &n);
        if (rc > 0)
            return send_ranges(req, f, r, n);
        if (rc == 0) {
            http_resp_header(req, "Accept-Ranges", "bytes");
            http_resp_header(
                req, "Content-Range",
                arena_printf(a, "bytes */%lld", (long long)f->size));
            return http_error(req, 416,
                              "The requested range is not within the file.");
        }
    }
    char *data = arena_alloc(a, (size_t)f->size + 1);
    if (read_at(f->fd, data, 0, f->size) < 0)
        return http_error(req, 500, "The file could not be read.");
    media_headers(req, f);
    return http_resp_send_static(req, 200, f->type, data, (size_t)f->size);
}

static void close_fd(void *p)
{
    close(*(int *)p);
}

int files_serve_media(struct http_req *req, void *ctx)
{
    struct web_app *app = ctx;
    struct arena *a = http_req_arena(req);
    const char *rel = http_req_param(req, "*");
    struct media_file f;
    struct stat st;
    char lm[DATE_BUF];
    int *fdp;

    if (!rel || !media_path_ok(rel))
        return http_error(req, 404, "There is no such file.");
    fdp = arena_alloc(a, sizeof *fdp);
    *fdp = open(arena_printf(a, "%s/%s", app->media_dir, rel),
                O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (*fdp < 0)
        return http_error(req, 404, "There is no such file.");
    arena_defer(a, close_fd, fdp);
    if (fstat(*fdp, &st) != 0 || !S_ISREG(st.st_mode) ||
        st.st_size > MAX_MEDIA_FILE)
        return http_error(req, 404, "There is no such file.");
    date_format_rfc1123(st.st_mtime, lm, sizeof lm);
    f.rel = rel;
    f.fd = *fdp;
    f.size = (int64_t)st.st_size;
    f.type = type_of(rel);
    f.etag = arena_printf(a, "\"%lx-%lx\"", (unsigned long)st.st_mtime,
                          (unsigned long)st.st_size);
    f.last_modified = arena_strdup(a, lm);
    return send_media(req, &f);
}
