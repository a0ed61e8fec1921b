/*
 * import_images.h - the images of an import, taken from a copy of the old
 * site's image folder (`--images FOLDER`: Ghost's content/images,
 * WordPress's wp-content/uploads). docs/import.md, "Images".
 *
 * An import never touches the network, so an image URL of the export is
 * looked up in the folder by its path after a marker ("/content/images/",
 * "/wp-content/uploads/"), whatever its host. A file found there is read
 * (at most IMG_MAX_BYTES), checked and resized exactly as a desk upload
 * (img_import_upload: JPEG, PNG, WebP or GIF told by content), stored
 * with site_image_save, and recorded in import_map (kind "image-file",
 * its path in the folder) so every URL of the same file, in any post and
 * in a later run, takes the same row. A path that would leave the folder
 * ("..") is never read. Resized copies the old site made are taken from
 * their original: Ghost's "size/wN/" folders, WordPress's "-WxH" names
 * (when the folder has the original).
 */
#ifndef CLI_IMPORT_IMAGES_H
#define CLI_IMPORT_IMAGES_H

#include <stddef.h>
#include <stdint.h>

struct arena;
struct store;

struct import_images {
    const char *folder; /* the --images folder, or NULL: nothing taken */
    const char *marker; /* where a URL's path into the folder starts */
    const char *source; /* import_map source: "ghost", "wxr" */
    char media[1100];   /* DIR/media and DIR/originals */
    char originals[1100];
    size_t taken; /* images stored by this run */
};

/* Takes "--images FOLDER" out of argv (anywhere; *argc shrinks) into
 * *folder (NULL when absent). 0, or 2 after a one-line usage error: no
 * FOLDER, not a folder, or a path over 1000 bytes. */
int import_images_arg(const char *cmd, int *argc, char **argv,
                      const char **folder);

/* Gets ready to take images from folder (NULL: take none) into the site
 * in dir; starts the image library when there is a folder. 0, or -1 when
 * it cannot start (say so and stop). Pair with import_images_close. */
int import_images_open(struct import_images *ii, const char *dir,
                       const char *folder, const char *marker,
                       const char *source);
void import_images_close(struct import_images *ii);

/* The image url names, from the folder: 0 with its row's *id (stored now
 * or by an earlier URL of the same file); 1 when url does not point into
 * the folder (or there is none); -1 when it does but the file is missing
 * or refused, with "'PATH': reason" in err. alt goes with the row when
 * it has none yet. */
int import_images_take(struct import_images *ii, struct store *st,
                       struct arena *a, const char *url, const char *alt,
                       int64_t *id, char *err, size_t errlen);

/* The source a body's <img src> gets: for an image taken from the
 * folder, "/media/NAME-W.jpg", its largest JPEG variant (the page's image
 * hook gives its size); else src itself, and when the file was missing
 * or refused the reason in err (else err is ""). */
const char *import_images_body_src(struct import_images *ii, struct store *st,
                                   struct arena *a, const char *src, char *err,
                                   size_t errlen);

#endif
