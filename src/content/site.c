/*
 * site.c - opening a site directory; see site.h.
 */
#include "content/site.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/config.h"
#include "media/img.h"
#include "store/store.h"

struct store *site_open(const char *dir, struct config *cfg, char *err,
                        size_t errlen)
{
    char path[2100];
    struct store *st;

    snprintf(path, sizeof path, "%s/site.conf", dir);
    config_defaults(cfg);
    if (config_load(cfg, path, err, errlen) < 0)
        return NULL;
    setenv("TZ", cfg->timezone, 1);
    tzset();
    if (strstr(cfg->database, "://") || cfg->database[0] == '/')
        snprintf(path, sizeof path, "%s", cfg->database);
    else
        snprintf(path, sizeof path, "%s/%s", dir, cfg->database);
    st = store_open(path, err, errlen);
    return st;
}

int site_image_save(struct store *st, const struct img_info *info,
                    const char *alt, int64_t *id)
{
    struct store_image img = {0};

    img.name = info->name;
    img.width = info->width;
    img.height = info->height;
    img.widths = info->widths;
    img.formats = info->formats;
    img.alt = alt;
    int rc = store_image_save(st, &img);
    if (rc == STORE_OK)
        *id = img.id;
    return rc;
}
