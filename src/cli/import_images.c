/*
 * import_images.c - images of an import from the old site's image folder;
 * see import_images.h.
 */
#include "cli/import_images.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "content/site.h"
#include "core/arena.h"
#include "core/str.h"
#include "media/img.h"
#include "store/store.h"

#define KIND "image-file" /* import_map kind: a file of the folder */

int import_images_arg(const char *cmd, int *argc, char **argv,
                      const char **folder)
{
    struct stat sb;
    int n = 0;

    *folder = NULL;
    for (int i = 0; i < *argc; i++) {
        if (strcmp(argv[i], "--images") != 0) {
            argv[n++] = argv[i];
            continue;
        }
        if (i + 1 >= *argc)
            return cli_usage_error("%s: --images needs a folder (the old "
                                   "site's image folder)",
                                   cmd);
        *folder = argv[++i];
    }
    *argc = n;
    if (!*folder)
        return 0;
    if (strlen(*folder) > 1000)
        return cli_usage_error("%s: --images path longer than 1000 bytes", cmd);
    if (stat(*folder, &sb) < 0 || !S_ISDIR(sb.st_mode))
        return cli_usage_error("%s: --images '%s' is not a folder", cmd,
                               *folder);
    return 0;
}

int import_images_open(struct import_images *ii, const char *dir,
                       const char *folder, const char *marker,
                       const char *source)
{
    memset(ii, 0, sizeof *ii);
    ii->folder = folder;
    ii->marker = marker;
    ii->source = source;
    snprintf(ii->media, sizeof ii->media, "%s/media", dir);
    snprintf(ii->originals, sizeof ii->originals, "%s/originals", dir);
    if (folder && img_init("newsroom") < 0) {
        ii->folder = NULL;
        return -1;
    }
    return 0;
}

void import_images_close(struct import_images *ii)
{
    if (ii->folder)
        img_shutdown();
    ii->folder = NULL;
}

/* The path in the folder that url names (after the marker; a resized
 * copy's "size/wN/" dropped; query and fragment cut), or NULL: not into
 * the folder, or a path that would leave it. */
static const char *rel_path(const struct import_images *ii, struct arena *a,
                            const char *url)
{
    const char *p = ii->folder ? strstr(url, ii->marker) : NULL;

    if (!p)
        return NULL;
    p += strlen(ii->marker);
    if (strncmp(p, "size/", 5) == 0 && (p = strchr(p + 5, '/')))
        p++;
    if (!p)
        return NULL;
    char *rel = arena_strndup(a, p, strcspn(p, "?#"));
    if (!*rel || strstr(rel, "..") || strchr(rel, '\\'))
        return NULL;
    for (const char *c = rel; *c; c++)
        if ((unsigned char)*c < 0x20)
            return NULL;
    return rel;
}

/* rel without a WordPress size suffix ("photo-300x200.jpg" ->
 * "photo.jpg"), or NULL when it has none. */
static const char *original_of(struct arena *a, const char *rel)
{
    const char *dot = strrchr(rel, '.'), *p;

    if (!dot || strchr(dot, '/'))
        return NULL;
    p = dot;
    while (p > rel && isdigit((unsigned char)p[-1]))
        p--;
    if (p == dot || p == rel || p[-1] != 'x')
        return NULL;
    const char *x = --p;
    while (p > rel && isdigit((unsigned char)p[-1]))
        p--;
    if (p == x || p == rel || p[-1] != '-')
        return NULL;
    return arena_printf(a, "%.*s%s", (int)(p - 1 - rel), rel, dot);
}

/* Reads path (a regular file, not a link, of at most IMG_MAX_BYTES) into
 * a malloc'd buffer; NULL with the reason in err. */
static unsigned char *read_file(const char *path, size_t *len, char *err,
                                size_t errlen)
{
    struct stat sb;
    unsigned char *data = NULL;
    size_t got = 0;
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);

    if (fd < 0) {
        snprintf(err, errlen, "'%s': %s", path,
                 errno == ENOENT ? "not in the --images folder"
                                 : strerror(errno));
        return NULL;
    }
    if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode))
        snprintf(err, errlen, "'%s': not a file", path);
    else if ((unsigned long long)sb.st_size > IMG_MAX_BYTES)
        snprintf(err, errlen, "'%s': the file is larger than %u MB", path,
                 IMG_MAX_BYTES / (1024 * 1024));
    else if (!(data = malloc((size_t)sb.st_size + 1)))
        snprintf(err, errlen, "'%s': out of memory", path);
    while (data && got < (size_t)sb.st_size) {
        ssize_t n = read(fd, data + got, (size_t)sb.st_size - got);
        if (n <= 0) {
            snprintf(err, errlen, "'%s': cannot read: %s", path,
                     n < 0 ? strerror(errno) : "it got shorter");
            free(data);
            data = NULL;
        } else {
            got += (size_t)n;
        }
    }
    close(fd);
    *len = got;
    return data;
}

/* An image stored without alt text gets alt (a body used the file
 * before the attachment or feature image that describes it). */
static void give_alt(struct store *st, struct arena *a, int64_t id,
                     const char *alt)
{
    struct store_image img;

    if (alt && *alt && store_image_get(st, a, id, &img) == STORE_OK &&
        (!img.alt || !*img.alt)) {
        img.alt = alt;
        store_image_save(st, &img);
    }
}

/* Checks, resizes and stores the file at path; 0 with *id or -1 (err). */
static int store_file(struct import_images *ii, struct store *st,
                      struct arena *a, const char *path, const char *alt,
                      int64_t *id, char *err, size_t errlen)
{
    struct img_info info;
    struct store_image img;
    char why[300];
    size_t len = 0;
    unsigned char *data = read_file(path, &len, err, errlen);
    const char *slash = strrchr(path, '/');
    char *base = str_slugify(a, slash ? slash + 1 : path, 40);
    char *ext = base ? strrchr(base, '-') : NULL;

    if (!data)
        return -1;
    if (ext && ext != base) /* "photo-jpg": the extension goes */
        *ext = '\0';
    int rc = img_import_upload(data, len, ii->media, ii->originals,
                               base && *base ? base : "image", &info, why,
                               sizeof why);
    free(data);
    if (rc < 0) {
        snprintf(err, errlen, "'%s': %s", path, why);
        return -1;
    }
    /* the same photo already stored (same bytes and file name, another
     * folder): its row, not a second one */
    if (store_image_get_by_name(st, a, info.name, &img) == STORE_OK) {
        *id = img.id;
        give_alt(st, a, img.id, alt);
        return 0;
    }
    if (site_image_save(st, &info, alt, id) != STORE_OK) {
        snprintf(err, errlen, "'%s': cannot store the image", path);
        return -1;
    }
    ii->taken++;
    return 0;
}

int import_images_take(struct import_images *ii, struct store *st,
                       struct arena *a, const char *url, const char *alt,
                       int64_t *id, char *err, size_t errlen)
{
    const char *rel = rel_path(ii, a, url), *orig;
    struct stat sb;

    if (!rel)
        return 1;
    /* a resized copy: its original instead, when the folder has it */
    orig = original_of(a, rel);
    if (orig && lstat(arena_printf(a, "%s/%s", ii->folder, orig), &sb) == 0)
        rel = orig;
    if (store_import_map_get(st, ii->source, KIND, rel, id) == STORE_OK) {
        give_alt(st, a, *id, alt);
        return 0;
    }
    const char *path = arena_printf(a, "%s/%s", ii->folder, rel);
    if (store_file(ii, st, a, path, alt, id, err, errlen) < 0)
        return -1;
    store_import_map_put(st, ii->source, KIND, rel, *id);
    return 0;
}

const char *import_images_body_src(struct import_images *ii, struct store *st,
                                   struct arena *a, const char *src, char *err,
                                   size_t errlen)
{
    struct store_image img;
    int64_t id;

    err[0] = '\0';
    if (import_images_take(ii, st, a, src, NULL, &id, err, errlen) != 0 ||
        store_image_get(st, a, id, &img) != STORE_OK || !img.widths ||
        !*img.widths)
        return src;
    const char *last = strrchr(img.widths, ',');
    return arena_printf(a, "/media/%s-%s.jpg", img.name,
                        last ? last + 1 : img.widths);
}
