/*
 * img.h - images for the web: decode an upload (or a drawn SVG), check it,
 * and write resized variants for responsive pages, with libvips.
 *
 * Used by jobs and CLI commands, never on the request path. Variants are
 * written as MEDIA/NAME-WIDTH.webp and MEDIA/NAME-WIDTH.jpg for each width
 * of IMG_WIDTHS not larger than the original (the original's own width is
 * always included when it is smaller than the largest), so pages can offer
 * a srcset. NAME carries a content hash: variants never change, so they are
 * served with far-future cache headers.
 */
#ifndef MEDIA_IMG_H
#define MEDIA_IMG_H

#include <stddef.h>

#define IMG_MAX_PIXELS (40u * 1000u * 1000u) /* decoded size refused past */
#define IMG_MAX_BYTES (20u * 1024u * 1024u)  /* encoded input refused past */

/* What img_import produced. */
struct img_info {
    char name[256];    /* "images/slug-3f9a1c2b" (under media/) */
    unsigned width;    /* pixels of the largest variant */
    unsigned height;   /* pixels of the largest variant */
    char widths[64];   /* "480,960,1600" ascending */
    char formats[32];  /* "webp,jpg" */
};

/* Starts libvips once per process; 0 or -1 (logged). */
int img_init(const char *argv0);

/* Releases what libvips holds (caches, threads); call once at exit. */
void img_shutdown(void);

/* Decodes len bytes of an image (JPEG, PNG, WebP, GIF or SVG), refuses it
 * when it is not an image or is too large, and writes the variants under
 * media_dir/images/ with names from base (a slug). 0 or -1 with a one-line
 * reason in err. */
int img_import(const void *data, size_t len, const char *media_dir,
               const char *base, struct img_info *out, char *err,
               size_t errlen);

#endif
