/*
 * site.h - opening a site directory: its site.conf and its store. Shared by
 * the server (web/) and every CLI command, so both see the same settings
 * and the same database.
 */
#ifndef CONTENT_SITE_H
#define CONTENT_SITE_H

#include <stddef.h>
#include <stdint.h>

struct config;
struct img_info;
struct store;

/* Loads DIR/site.conf into cfg (over the defaults), sets the process time
 * zone to the site's, and opens the site's database (running migrations).
 * Returns the store (free with store_close), or NULL with a one-line reason
 * in err. */
struct store *site_open(const char *dir, struct config *cfg, char *err,
                        size_t errlen);

/* Stores the image img_import or img_import_upload made (its name, size,
 * widths and formats) with alt text (NULL for none): the desk's uploads,
 * the demo and the importers all record images this way. STORE_OK with
 * *id, or the store's error. */
int site_image_save(struct store *st, const struct img_info *info,
                    const char *alt, int64_t *id);

#endif
