/*
 * img.h - images for the web: decode an upload (or a drawn SVG), check it,
 * and write resized variants for responsive pages, with libvips.
 * docs/media.md says what an operator needs to know.
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
    char name[256];   /* "images/slug-3f9a1c2b" (under media/) */
    unsigned width;   /* pixels of the largest variant */
    unsigned height;  /* pixels of the largest variant */
    char widths[64];  /* "480,960,1600" ascending */
    char formats[32]; /* "webp,jpg" */
};

/* Starts libvips once per process; 0 or -1 (logged). */
int img_init(const char *argv0);

/* Releases what libvips holds (caches, threads); call once at exit. */
void img_shutdown(void);

/* Decodes len bytes of a trusted image (JPEG, PNG, WebP, GIF or SVG: the
 * demo loader's drawn art), refuses it when it is not an image, is damaged
 * or is too large, and writes the variants under media_dir/images/ with
 * names from base (a slug, [a-z0-9-]; anything else is "bad image name").
 * EXIF orientation is applied and the variants are sRGB, flattened onto
 * white, stripped of metadata. On failure every file written is removed.
 * 0, or -1 with a one-line reason in err. */
int img_import(const void *data, size_t len, const char *media_dir,
               const char *base, struct img_info *out, char *err,
               size_t errlen);

/* Imports an untrusted upload (the desk): only JPEG, PNG, WebP and GIF, told
 * by content (vips_foreign_find_load_buffer), never by file name; SVG, PDF
 * and everything else refused. The whole image is decoded before anything is
 * written (truncated or corrupt data is refused: "fail" on), EXIF
 * orientation applied, more than IMG_MAX_PIXELS or IMG_MAX_BYTES refused
 * (from the header, before decoding). Variants are written as img_import
 * does, stripped of metadata. The upload's own bytes are kept as
 * originals_dir/NAME.EXT (NAME as in out->name without "images/", EXT from
 * the detected format; originals_dir created 0700; it is not served).
 * On any failure every file written is removed. 0, or -1 with a one-line
 * reason a journalist can act on in err, e.g.
 *   "this file is not a JPEG, PNG, WebP or GIF image"
 *   "SVG images are not accepted (they can carry scripts); export a PNG or
 * JPEG" "the image is damaged or incomplete; save it again and retry" "the
 * image is too large: 10000 x 10000 pixels (at most 40 megapixels)" "the file
 * is larger than 20 MB" */
int img_import_upload(const void *data, size_t len, const char *media_dir,
                      const char *originals_dir, const char *base,
                      struct img_info *out, char *err, size_t errlen);

/* Why the calling thread's last img_import or img_import_upload failed,
 * when the media folder could not be written: ENOSPC or EDQUOT (the disk
 * is full) or EROFS (read-only); 0 when it failed for another reason (the
 * image itself) or did not fail. Lets the desk answer 507 or 503, not
 * 400, for a fault the journalist cannot fix (docs/faults.md). */
int img_last_io_fault(void);

#endif
