/*
 * img.c - image import and resizing with libvips; see img.h.
 */
#include "media/img.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <vips/vips.h>

#include <sodium.h>

#include "core/log.h"

static const unsigned img_widths[] = {480, 960, 1600};

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

static int save(VipsImage *im, const char *path, int webp, char *err,
                size_t errlen)
{
    int r = webp ? vips_webpsave(im, path, "Q", 78, "strip", TRUE, NULL)
                 : vips_jpegsave(im, path, "Q", 80, "strip", TRUE,
                                 "interlace", TRUE, "optimize_coding", TRUE,
                                 NULL);
    if (r != 0) {
        snprintf(err, errlen, "cannot write '%s': %s", path,
                 vips_error_buffer());
        vips_error_clear();
        return -1;
    }
    return 0;
}

int img_import(const void *data, size_t len, const char *media_dir,
               const char *base, struct img_info *out, char *err,
               size_t errlen)
{
    VipsImage *in = NULL, *flat = NULL;
    unsigned char hash[16];
    char hex[33], dir[1024];
    int ret = -1;

    memset(out, 0, sizeof(*out));
    if (len == 0 || len > IMG_MAX_BYTES) {
        snprintf(err, errlen, "image is empty or larger than %u bytes",
                 IMG_MAX_BYTES);
        return -1;
    }
    /* an SVG is drawn at its own size; access sequential for big files */
    in = vips_image_new_from_buffer(data, len, "", NULL);
    if (!in) {
        snprintf(err, errlen, "not an image this server can read");
        vips_error_clear();
        return -1;
    }
    if ((unsigned long long)in->Xsize * (unsigned long long)in->Ysize >
        IMG_MAX_PIXELS) {
        snprintf(err, errlen, "image too large: %dx%d pixels", in->Xsize,
                 in->Ysize);
        goto out;
    }
    /* JPEG has no alpha: flatten onto white for both formats */
    if (vips_image_hasalpha(in)) {
        double white[] = {255, 255, 255};
        if (vips_flatten(in, &flat, "background",
                         vips_array_double_new(white, 3), NULL) != 0) {
            snprintf(err, errlen, "cannot flatten image: %s",
                     vips_error_buffer());
            vips_error_clear();
            goto out;
        }
    } else {
        flat = in;
        g_object_ref(flat);
    }

    crypto_generichash(hash, sizeof hash, data, len, NULL, 0);
    sodium_bin2hex(hex, sizeof hex, hash, 4);
    snprintf(dir, sizeof dir, "%s/images", media_dir);
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        snprintf(err, errlen, "cannot create '%s': %s", dir, strerror(errno));
        goto out;
    }
    snprintf(out->name, sizeof out->name, "images/%.200s-%s", base, hex);
    snprintf(out->formats, sizeof out->formats, "webp,jpg");

    unsigned ow = (unsigned)flat->Xsize;
    unsigned nw = 0, list[4];
    for (size_t i = 0; i < sizeof img_widths / sizeof img_widths[0]; i++)
        if (img_widths[i] < ow)
            list[nw++] = img_widths[i];
    if (nw < 3)
        list[nw++] = ow < img_widths[2] ? ow : img_widths[2];
    for (unsigned i = 0; i < nw; i++) {
        VipsImage *sized = NULL;
        char path[1400];
        double scale = (double)list[i] / (double)ow;

        if (vips_resize(flat, &sized, scale, NULL) != 0) {
            snprintf(err, errlen, "cannot resize image: %s",
                     vips_error_buffer());
            vips_error_clear();
            goto out;
        }
        for (int webp = 0; webp < 2; webp++) {
            snprintf(path, sizeof path, "%s/%s-%u.%s", media_dir, out->name,
                     list[i], webp ? "webp" : "jpg");
            if (save(sized, path, webp, err, errlen) < 0) {
                g_object_unref(sized);
                goto out;
            }
        }
        out->width = (unsigned)sized->Xsize;
        out->height = (unsigned)sized->Ysize;
        size_t used = strlen(out->widths);
        snprintf(out->widths + used, sizeof out->widths - used, "%s%u",
                 i ? "," : "", list[i]);
        g_object_unref(sized);
    }
    ret = 0;
out:
    if (flat)
        g_object_unref(flat);
    if (in)
        g_object_unref(in);
    return ret;
}
