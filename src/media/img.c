/*
 * img.c - image import and resizing with libvips; see img.h.
 *
 * DESIGN: both imports (the demo's trusted art and the desk's untrusted
 * uploads) run the same steps, each in one function below:
 *   check_input  size and name, before libvips sees a byte
 *   detect       uploads only: the format told by content, from a table
 *   open_image   reads the header only (libvips is lazy)
 *   check_size   pixels from the header, before anything is decoded
 *   prepare      autorot, sRGB, flatten, 8-bit, and the whole decode into
 *                bare memory pixels (no metadata left to leak): damaged
 *                data fails here, before anything is written
 *   write_variants, write_original
 *                every file through "FILE.PID.part" and rename, each file
 *                and folder made recorded in a struct written, so that
 *                rollback() can remove them all when a later step fails.
 */
#include "media/img.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <vips/vips.h>

#include <sodium.h>

#include "core/log.h"

#define IMG_PATH_LEN 1400 /* bytes of one path written */
#define IMG_FILES 10      /* made by one import: 6 variants, original, 2 dirs */
#define IMG_BASE_LEN 200  /* bytes of a base name */
#define IMG_MAX_HEIGHT 16383 /* pixels of a variant's height (WebP's limit) */

static const unsigned img_widths[] = {480, 960, 1600};

typedef int (*load_fn)(void *buf, size_t len, VipsImage **out, ...);

/* What an upload may be: the loader libvips' sniffers name, the loader
 * called, the extension the original is kept under. */
static const struct upload_format {
    const char *loader; /* nickname of the loader libvips finds */
    load_fn load;       /* called with the upload */
    const char *ext;    /* of the kept original, no dot */
} upload_formats[] = {
    {"jpegload_buffer", vips_jpegload_buffer, "jpg"},
    {"pngload_buffer", vips_pngload_buffer, "png"},
    {"webpload_buffer", vips_webpload_buffer, "webp"},
    {"gifload_buffer", vips_gifload_buffer, "gif"},
};

/* What one import has created, in order, so a failure can take it back. */
struct written {
    char path[IMG_FILES][IMG_PATH_LEN]; /* files and folders it created */
    size_t n;                           /* used entries of path */
};

static const char damaged[] =
    "the image is damaged or incomplete; save it again and retry";

int img_init(const char *argv0)
{
    if (VIPS_INIT(argv0 ? argv0 : "newsroom") != 0) {
        log_error("cannot start libvips: %s", vips_error_buffer());
        vips_error_clear();
        return -1;
    }
    vips_concurrency_set(1);
    vips_cache_set_max(0);
    return 0;
}

void img_shutdown(void)
{
    vips_shutdown();
}

/* Logs what libvips said (for the operator) and clears it. */
static void log_vips(const char *what)
{
    log_warn("%s: %s", what, vips_error_buffer());
    vips_error_clear();
}

/* 1 when base is a non-empty slug of [a-z0-9-] short enough for a name. */
static int base_ok(const char *base)
{
    size_t n = 0;

    if (!base || !*base)
        return 0;
    for (; base[n]; n++)
        if (!((base[n] >= 'a' && base[n] <= 'z') ||
              (base[n] >= '0' && base[n] <= '9') || base[n] == '-'))
            return 0;
    return n <= IMG_BASE_LEN;
}

/* Refuses empty or oversized input and a bad base. 0 or -1 (err set). */
static int check_input(size_t len, const char *base, char *err, size_t errlen)
{
    if (len == 0) {
        snprintf(err, errlen, "the file is empty");
        return -1;
    }
    if (len > IMG_MAX_BYTES) {
        snprintf(err, errlen, "the file is larger than %u MB",
                 IMG_MAX_BYTES / (1024u * 1024u));
        return -1;
    }
    if (!base_ok(base)) {
        snprintf(err, errlen, "bad image name");
        return -1;
    }
    return 0;
}

/* 1 when the first bytes look like SVG (or other XML that may be SVG). */
static int looks_like_svg(const unsigned char *p, size_t len)
{
    size_t n = len < 4096 ? len : 4096;

    for (size_t i = 0; i + 4 <= n; i++)
        if (p[i] == '<' && (p[i + 1] | 0x20) == 's' &&
            (p[i + 2] | 0x20) == 'v' && (p[i + 3] | 0x20) == 'g')
            return 1;
    return 0;
}

/* The accepted format of an upload, told by its bytes; NULL (err set) for
 * anything else. */
static const struct upload_format *detect(const void *data, size_t len,
                                          char *err, size_t errlen)
{
    const char *cls = vips_foreign_find_load_buffer(data, len);
    const char *loader = cls ? vips_nickname_find(g_type_from_name(cls)) : NULL;

    vips_error_clear();
    for (size_t i = 0; loader && i < G_N_ELEMENTS(upload_formats); i++)
        if (strcmp(loader, upload_formats[i].loader) == 0)
            return &upload_formats[i];
    if ((loader && strncmp(loader, "svgload", 7) == 0) ||
        looks_like_svg(data, len))
        snprintf(err, errlen,
                 "SVG images are not accepted (they can carry "
                 "scripts); export a PNG or JPEG");
    else
        snprintf(err, errlen,
                 "this file is not a JPEG, PNG, WebP or GIF "
                 "image");
    return NULL;
}

/* Reads the header of data with fmt's loader (any loader when fmt is NULL),
 * failing on any decoder warning later. The image, or NULL (err set). */
static VipsImage *open_image(const void *data, size_t len,
                             const struct upload_format *fmt, char *err,
                             size_t errlen)
{
    VipsImage *in = NULL;

    if (fmt) {
        if (fmt->load((void *)data, len, &in, "fail_on", VIPS_FAIL_ON_WARNING,
                      NULL) != 0)
            in = NULL;
    } else {
        in = vips_image_new_from_buffer(data, len, "", "fail_on",
                                        VIPS_FAIL_ON_WARNING, NULL);
    }
    if (!in) {
        log_vips("cannot read image header");
        snprintf(err, errlen, "%s",
                 fmt ? damaged
                     : "not an image this "
                       "server can read");
    }
    return in;
}

/* Fills list with the variant widths for an image ow pixels wide; their
 * number. */
static unsigned variant_widths(unsigned ow, unsigned list[4])
{
    unsigned nw = 0;

    for (size_t i = 0; i < G_N_ELEMENTS(img_widths); i++)
        if (img_widths[i] < ow)
            list[nw++] = img_widths[i];
    if (nw < G_N_ELEMENTS(img_widths))
        list[nw++] = ow < img_widths[2] ? ow : img_widths[2];
    return nw;
}

/* Refuses an image whose header promises too many pixels, or a shape whose
 * largest variant would be too tall to write. 0 or -1 (err set). */
static int check_size(VipsImage *in, char *err, size_t errlen)
{
    unsigned long long w = (unsigned)in->Xsize, h = (unsigned)in->Ysize;
    unsigned list[4];

    if (w * h > IMG_MAX_PIXELS) {
        snprintf(err, errlen,
                 "the image is too large: %llu x %llu pixels (at most %u "
                 "megapixels)",
                 w, h, IMG_MAX_PIXELS / 1000000u);
        return -1;
    }
    if (vips_image_get_orientation_swap(in)) {
        unsigned long long t = w;
        w = h;
        h = t;
    }
    unsigned top = variant_widths((unsigned)w, list);
    if (h * list[top - 1] / w > IMG_MAX_HEIGHT) {
        snprintf(err, errlen,
                 "the image is too tall for its width: %llu x %llu pixels", w,
                 h);
        return -1;
    }
    return 0;
}

/* Frees the pixels of an image made by bare_pixels. */
static void free_pixels(VipsImage *im, void *pixels)
{
    (void)im;
    g_free(pixels);
}

/* Decodes the whole of im (with the loader's fail_on) into a new image of
 * bare pixels: no EXIF, XMP, IPTC, ICC or comment can reach a variant,
 * whatever the savers do with "strip". NULL when decoding fails. */
static VipsImage *bare_pixels(VipsImage *im)
{
    size_t size = 0;
    void *pixels = vips_image_write_to_memory(im, &size);
    VipsImage *out;

    if (!pixels)
        return NULL;
    out = vips_image_new_from_memory(pixels, size, im->Xsize, im->Ysize,
                                     im->Bands, im->BandFmt);
    if (!out) {
        g_free(pixels);
        return NULL;
    }
    g_signal_connect(out, "postclose", G_CALLBACK(free_pixels), pixels);
    out->Type = VIPS_INTERPRETATION_sRGB;
    return out;
}

/* Turns in into upright 8-bit sRGB without alpha or metadata, decoded into
 * memory. The new image (caller unrefs), or NULL (err set) when decoding
 * fails. */
static VipsImage *prepare(VipsImage *in, char *err, size_t errlen)
{
    VipsImage *t[5] = {NULL}; /* each step's result, released at out */
    VipsImage *im = in, *ready = NULL;
    double white[] = {255, 255, 255};

    if (vips_autorot(im, &t[0], NULL) != 0)
        goto out;
    im = t[0];
    /* an embedded profile (Adobe RGB, a CMYK press profile) says best what
     * the numbers mean; a broken one falls back to the generic conversion */
    if (vips_icc_present() &&
        vips_image_get_typeof(im, VIPS_META_ICC_NAME) != 0) {
        if (vips_icc_transform(im, &t[1], "srgb", "embedded", TRUE, NULL) == 0)
            im = t[1];
        else
            vips_error_clear();
    }
    if (im->Type != VIPS_INTERPRETATION_sRGB) {
        if (vips_colourspace(im, &t[2], VIPS_INTERPRETATION_sRGB, NULL) != 0)
            goto out;
        im = t[2];
    }
    if (vips_image_hasalpha(im)) {
        VipsArrayDouble *bg = vips_array_double_new(white, 3);
        int r = vips_flatten(im, &t[3], "background", bg, NULL);
        vips_area_unref(VIPS_AREA(bg));
        if (r != 0)
            goto out;
        im = t[3];
    }
    if (im->BandFmt != VIPS_FORMAT_UCHAR) {
        if (vips_cast_uchar(im, &t[4], NULL) != 0)
            goto out;
        im = t[4];
    }
    ready = bare_pixels(im);
out:
    for (size_t i = 0; i < G_N_ELEMENTS(t); i++)
        if (t[i])
            g_object_unref(t[i]);
    if (!ready) {
        log_vips("cannot decode image");
        snprintf(err, errlen, "%s", damaged);
    }
    return ready;
}

/* The storage fault behind this thread's last failed import (see
 * img_last_io_fault); reset when an import starts. */
static _Thread_local int last_io_fault;

int img_last_io_fault(void)
{
    return last_io_fault;
}

/* Records why a file under the media folders could not be written: a full
 * or read-only disk in words a journalist can pass on (the path is logged
 * for the operator), anything else as "cannot VERB 'PATH': reason". */
static void io_fail(char *err, size_t errlen, const char *verb,
                    const char *path, int e)
{
    if (e == ENOSPC || e == EDQUOT || e == EROFS)
        last_io_fault = e;
    if (e == ENOSPC || e == EDQUOT) {
        log_error("cannot %s '%s': %s", verb, path, strerror(e));
        snprintf(err, errlen,
                 "the server's disk is full, so the image was not saved; "
                 "ask the site's operator to free disk space, then upload "
                 "it again");
    } else if (e == EROFS) {
        log_error("cannot %s '%s': %s", verb, path, strerror(e));
        snprintf(err, errlen,
                 "the server's media folder is read-only, so the image was "
                 "not saved; ask the site's operator to fix it, then upload "
                 "it again");
    } else {
        snprintf(err, errlen, "cannot %s '%s': %s", verb, path, strerror(e));
    }
}

/* Records path as created by this import. */
static void remember(struct written *w, const char *path)
{
    if (w->n < IMG_FILES)
        snprintf(w->path[w->n++], IMG_PATH_LEN, "%s", path);
}

/* Creates dir with mode unless it exists, recorded in w. 0 or -1 (err
 * set). */
static int make_dir(struct written *w, const char *dir, mode_t mode, char *err,
                    size_t errlen)
{
    if (mkdir(dir, mode) == 0)
        remember(w, dir);
    else if (errno != EEXIST) {
        io_fail(err, errlen, "create", dir, errno);
        return -1;
    }
    return 0;
}

/* Moves tmp to path, recording path in w when it did not exist before
 * (an existing one has the same name, so the same content). 0 or -1. */
static int commit(struct written *w, const char *tmp, const char *path,
                  char *err, size_t errlen)
{
    int existed = access(path, F_OK) == 0;

    if (rename(tmp, path) != 0) {
        io_fail(err, errlen, "rename", tmp, errno);
        unlink(tmp);
        return -1;
    }
    if (!existed)
        remember(w, path);
    return 0;
}

/* Removes everything w records, newest first (files before their
 * folder). */
static void rollback(struct written *w)
{
    while (w->n > 0) {
        const char *path = w->path[--w->n];
        if (remove(path) != 0 && errno != ENOENT && errno != ENOTEMPTY)
            log_warn("cannot remove '%s': %s", path, strerror(errno));
    }
}

/* Formats path as DIR/NAME SEP TAIL and tmp as its temporary twin; -1 (err
 * set) when too long. */
static int make_paths(char *path, char *tmp, const char *dir, const char *name,
                      const char *sep, const char *tail, char *err,
                      size_t errlen)
{
    int n = snprintf(path, IMG_PATH_LEN, "%s/%s%s%s", dir, name, sep, tail);
    int m = snprintf(tmp, IMG_PATH_LEN, "%s.%ld.part", path, (long)getpid());

    if (n < 0 || m < 0 || m >= IMG_PATH_LEN) {
        snprintf(err, errlen, "image path under '%.200s' is too long", dir);
        return -1;
    }
    return 0;
}

/* Writes len bytes to a new file tmp with mode; removes it again on
 * failure. 0 or -1 (err set). */
static int write_bytes(const char *tmp, const void *data, size_t len,
                       mode_t mode, char *err, size_t errlen)
{
    const char *p = data;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);

    if (fd < 0) {
        io_fail(err, errlen, "create", tmp, errno);
        return -1;
    }
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            io_fail(err, errlen, "write", tmp, n < 0 ? errno : EIO);
            close(fd);
            unlink(tmp);
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    if (close(fd) != 0) {
        io_fail(err, errlen, "write", tmp, errno);
        unlink(tmp);
        return -1;
    }
    return 0;
}

/* Puts len bytes in place as DIR/NAME SEP TAIL (through a temporary file
 * and rename), recorded in w. 0 or -1 (err set). */
static int put_file(struct written *w, const char *dir, const char *name,
                    const char *sep, const char *tail, const void *data,
                    size_t len, mode_t mode, char *err, size_t errlen)
{
    char path[IMG_PATH_LEN], tmp[IMG_PATH_LEN];

    if (make_paths(path, tmp, dir, name, sep, tail, err, errlen) < 0 ||
        write_bytes(tmp, data, len, mode, err, errlen) < 0)
        return -1;
    return commit(w, tmp, path, err, errlen);
}

static uint32_t le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

static void put_le32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

/* Removes the EXIF, XMP and ICC chunks from a WebP in place and clears
 * their flags in VP8X: libvips 8.14's webpsave writes an EXIF block even
 * with "strip". The RIFF layout is Google's "WebP Container Specification"
 * (RIFF size, "WEBP", then chunks of FourCC, LE32 size, payload padded to
 * even). The new length (len when p is not a WebP this code understands). */
static size_t webp_strip(unsigned char *p, size_t len)
{
    size_t in = 12, out = 12;

    if (len < 12 || memcmp(p, "RIFF", 4) != 0 || memcmp(p + 8, "WEBP", 4) != 0)
        return len;
    /* every chunk must fit before any is moved */
    for (size_t at = 12, n; at < len; at += 8 + n + (n & 1)) {
        if (len - at < 8)
            return len;
        n = le32(p + at + 4);
        if (8 + n + (n & 1) > len - at)
            return len;
    }
    while (in < len) {
        size_t whole = 8 + le32(p + in + 4) + (le32(p + in + 4) & 1);
        if (memcmp(p + in, "EXIF", 4) != 0 && memcmp(p + in, "XMP ", 4) != 0 &&
            memcmp(p + in, "ICCP", 4) != 0) {
            memmove(p + out, p + in, whole);
            if (memcmp(p + out, "VP8X", 4) == 0 && whole > 8)
                p[out + 8] &= (unsigned char)~(0x20 | 0x08 | 0x04);
            out += whole;
        }
        in += whole;
    }
    put_le32(p + 4, (uint32_t)(out - 8));
    return out;
}

/* Encodes im as WebP or JPEG without metadata into *buf (g_free). 0 or -1. */
static int encode(VipsImage *im, int webp, void **buf, size_t *len)
{
    if (!webp)
        return vips_jpegsave_buffer(im, buf, len, "Q", 80, "strip", TRUE,
                                    "interlace", TRUE, "optimize_coding", TRUE,
                                    NULL);
    if (vips_webpsave_buffer(im, buf, len, "Q", 78, "strip", TRUE, NULL) != 0)
        return -1;
    *len = webp_strip(*buf, *len);
    return 0;
}

/* Writes one variant, NAME-WIDTH.webp or .jpg, of sized. 0 or -1. */
static int write_variant(VipsImage *sized, const char *media_dir,
                         const char *name, unsigned width, int webp,
                         struct written *w, char *err, size_t errlen)
{
    char file[64];
    void *buf = NULL;
    size_t len = 0;
    int r;

    snprintf(file, sizeof file, "%u.%s", width, webp ? "webp" : "jpg");
    if (encode(sized, webp, &buf, &len) != 0) {
        log_vips("cannot encode image");
        snprintf(err, errlen, "cannot encode '%s-%s'", name, file);
        return -1;
    }
    r = put_file(w, media_dir, name, "-", file, buf, len, 0644, err, errlen);
    g_free(buf);
    return r;
}

/* Writes the variants of im under media_dir/images/ and fills out's sizes.
 * 0 or -1 (err set). */
static int write_variants(VipsImage *im, const char *media_dir,
                          struct img_info *out, struct written *w, char *err,
                          size_t errlen)
{
    char dir[IMG_PATH_LEN];
    unsigned ow = (unsigned)im->Xsize, list[4];
    unsigned nw = variant_widths(ow, list);

    snprintf(dir, sizeof dir, "%s/images", media_dir);
    if (make_dir(w, dir, 0755, err, errlen) < 0)
        return -1;
    for (unsigned i = 0; i < nw; i++) {
        VipsImage *sized = NULL;
        int r = 0;

        if (vips_resize(im, &sized, (double)list[i] / (double)ow, NULL) != 0) {
            log_vips("cannot resize image");
            snprintf(err, errlen, "cannot resize image");
            return -1;
        }
        for (int webp = 0; webp < 2 && r == 0; webp++)
            r = write_variant(sized, media_dir, out->name, list[i], webp, w,
                              err, errlen);
        out->width = (unsigned)sized->Xsize;
        out->height = (unsigned)sized->Ysize;
        g_object_unref(sized);
        if (r < 0)
            return -1;
        size_t used = strlen(out->widths);
        snprintf(out->widths + used, sizeof out->widths - used, "%s%u",
                 i ? "," : "", list[i]);
    }
    return 0;
}

/* Keeps the upload's own bytes as dir/NAME.ext (dir created 0700). 0 or -1
 * (err set). */
static int write_original(const void *data, size_t len, const char *dir,
                          const char *name, const char *ext, struct written *w,
                          char *err, size_t errlen)
{
    if (make_dir(w, dir, 0700, err, errlen) < 0)
        return -1;
    return put_file(w, dir, name, ".", ext, data, len, 0600, err, errlen);
}

/* Both imports: upload 0 accepts anything libvips reads (trusted input)
 * and keeps no original; upload 1 takes only upload_formats and keeps the
 * original under originals_dir. */
static int import(const void *data, size_t len, const char *media_dir,
                  const char *originals_dir, const char *base, int upload,
                  struct img_info *out, char *err, size_t errlen)
{
    const struct upload_format *fmt = NULL;
    VipsImage *in = NULL, *ready = NULL;
    struct written w = {.n = 0};
    unsigned char hash[16];
    char hex[33];
    int ret = -1;

    memset(out, 0, sizeof(*out));
    last_io_fault = 0;
    if (check_input(len, base, err, errlen) < 0)
        return -1;
    if (upload) {
        fmt = detect(data, len, err, errlen);
        if (!fmt)
            return -1;
    }
    in = open_image(data, len, fmt, err, errlen);
    if (!in || check_size(in, err, errlen) < 0)
        goto out;
    ready = prepare(in, err, errlen);
    if (!ready)
        goto out;

    crypto_generichash(hash, sizeof hash, data, len, NULL, 0);
    sodium_bin2hex(hex, sizeof hex, hash, 4);
    snprintf(out->name, sizeof out->name, "images/%s-%s", base, hex);
    snprintf(out->formats, sizeof out->formats, "webp,jpg");
    if (write_variants(ready, media_dir, out, &w, err, errlen) < 0)
        goto out;
    if (fmt && originals_dir &&
        write_original(data, len, originals_dir,
                       out->name + sizeof "images/" - 1, fmt->ext, &w, err,
                       errlen) < 0)
        goto out;
    ret = 0;
out:
    if (ret < 0) {
        rollback(&w);
        memset(out, 0, sizeof(*out));
    }
    if (ready)
        g_object_unref(ready);
    if (in)
        g_object_unref(in);
    return ret;
}

int img_import(const void *data, size_t len, const char *media_dir,
               const char *base, struct img_info *out, char *err, size_t errlen)
{
    return import(data, len, media_dir, NULL, base, 0, out, err, errlen);
}

int img_import_upload(const void *data, size_t len, const char *media_dir,
                      const char *originals_dir, const char *base,
                      struct img_info *out, char *err, size_t errlen)
{
    return import(data, len, media_dir, originals_dir, base, 1, out, err,
                  errlen);
}
