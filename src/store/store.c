/*
 * store.c - picks the backend for a database URL and forwards every public
 * store_* call to it through struct store_ops (backend.h).
 *
 * Nothing here knows SQL. The backend table below maps URL prefixes to open
 * functions; a backend not built yet has a NULL open and a reason. Also
 * home of the migration list shared by the backends.
 */
#include "store/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/embed.h"
#include "core/log.h"
#include "store/backend.h"

struct backend {
    const char *prefix; /* URL prefix, stripped before open */
    struct store *(*open)(const char *rest, char *err, size_t errlen);
    const char *missing; /* why open is NULL, else NULL */
};

static const struct backend backends[] = {
    {"sqlite:", store_sqlite_open, NULL},
    {"postgresql://", store_pg_open, NULL},
    {"postgres://", store_pg_open, NULL},
};

struct store *store_open(const char *url, char *err, size_t errlen)
{
    if (!url || !*url) {
        snprintf(err, errlen, "no database given");
        return NULL;
    }
    for (size_t i = 0; i < sizeof backends / sizeof backends[0]; i++) {
        const struct backend *b = &backends[i];
        size_t n = strlen(b->prefix);
        if (strncmp(url, b->prefix, n) != 0)
            continue;
        if (!b->open) {
            snprintf(err, errlen, "%s", b->missing);
            return NULL;
        }
        return b->open(url + n, err, errlen);
    }
    if (strstr(url, "://")) {
        snprintf(err, errlen, "unknown database url '%s'", url);
        return NULL;
    }
    return store_sqlite_open(url, err, errlen);
}

void store_close(struct store *st)
{
    if (st)
        st->ops->close(st);
}

const char *store_strerror(int err)
{
    switch (err) {
    case STORE_OK:
        return "ok";
    case STORE_NOTFOUND:
        return "not found";
    case STORE_CONFLICT:
        return "already taken";
    default:
        return "database error";
    }
}

/* --- migrations ---------------------------------------------------------- */

/* NNN from "DIR/NNN_name.sql" (dir is "DIR/"), or -1 if the name has
 * another shape. */
static int migration_number(const char *dir, const char *name)
{
    size_t len = strlen(name), dlen = strlen(dir);
    const char *p;
    int n = 0;

    if (strncmp(name, dir, dlen) != 0 || len < dlen + 4 ||
        strcmp(name + len - 4, ".sql") != 0)
        return -1;
    p = name + dlen;
    for (int i = 0; i < 3; i++, p++) {
        if (*p < '0' || *p > '9')
            return -1;
        n = n * 10 + (*p - '0');
    }
    return *p == '_' && n > 0 ? n : -1;
}

static int migration_cmp(const void *x, const void *y)
{
    const struct store_migration *a = x, *b = y;
    return (a->number > b->number) - (a->number < b->number);
}

int store_migrations(struct store_migration *out, size_t max)
{
    return store_migrations_in("schema/", out, max);
}

int store_migrations_in(const char *dir, struct store_migration *out,
                        size_t max)
{
    size_t n = 0, dlen = strlen(dir);

    for (const struct embed_file *f = embed_files; f->name; f++) {
        if (strncmp(f->name, dir, dlen) != 0)
            continue;
        int num = migration_number(dir, f->name);
        if (num < 0) {
            log_error("cannot use migration '%s': name is not "
                      "%sNNN_name.sql", f->name, dir);
            return -1;
        }
        if (n == max) {
            log_error("cannot use migration '%s': more than %zu files",
                      f->name, max);
            return -1;
        }
        out[n].number = num;
        out[n].name = f->name;
        out[n].sql = (const char *)f->data;
        n++;
    }
    qsort(out, n, sizeof out[0], migration_cmp);
    for (size_t i = 1; i < n; i++) {
        if (out[i].number == out[i - 1].number) {
            log_error("cannot use migration '%s': number taken by '%s'",
                      out[i].name, out[i - 1].name);
            return -1;
        }
    }
    return (int)n;
}

/* --- forwarding ---------------------------------------------------------- */

uint64_t store_version(struct store *st)
{
    return st->ops->version(st);
}

int store_schema_version(struct store *st)
{
    return st->ops->schema_version(st);
}

int store_tx_begin(struct store *st)
{
    return st->ops->tx_begin(st);
}

int store_tx_commit(struct store *st)
{
    return st->ops->tx_commit(st);
}

void store_tx_rollback(struct store *st)
{
    st->ops->tx_rollback(st);
}

const char *store_setting_get(struct store *st, struct arena *a,
                              const char *key)
{
    return st->ops->setting_get(st, a, key);
}

int store_setting_set(struct store *st, const char *key, const char *value)
{
    return st->ops->setting_set(st, key, value);
}

int store_post_save(struct store *st, struct store_post *p,
                    const int64_t *author_ids, size_t n_authors,
                    const int64_t *tag_ids, size_t n_tags)
{
    return st->ops->post_save(st, p, author_ids, n_authors, tag_ids, n_tags);
}

int store_post_get_by_slug(struct store *st, struct arena *a,
                           const char *slug, struct store_post *out)
{
    return st->ops->post_get_by_slug(st, a, slug, out);
}

int store_post_get(struct store *st, struct arena *a, int64_t id,
                   struct store_post *out)
{
    return st->ops->post_get(st, a, id, out);
}

int store_posts_list(struct store *st, struct arena *a,
                     const struct store_post_query *q,
                     struct store_post **out, size_t *n, size_t *total)
{
    return st->ops->posts_list(st, a, q, out, n, total);
}

int store_correction_add(struct store *st, struct store_correction *c)
{
    return st->ops->correction_add(st, c);
}

int store_corrections_list(struct store *st, struct arena *a,
                           int64_t post_id, struct store_correction **out,
                           size_t *n)
{
    return st->ops->corrections_list(st, a, post_id, out, n);
}

int store_author_save(struct store *st, struct store_author *au)
{
    return st->ops->author_save(st, au);
}

int store_author_get_by_slug(struct store *st, struct arena *a,
                             const char *slug, struct store_author *out)
{
    return st->ops->author_get_by_slug(st, a, slug, out);
}

int store_authors_list(struct store *st, struct arena *a,
                       struct store_author **out, size_t *n)
{
    return st->ops->authors_list(st, a, out, n);
}

int store_tag_save(struct store *st, struct store_tag *t)
{
    return st->ops->tag_save(st, t);
}

int store_tag_get_by_slug(struct store *st, struct arena *a,
                          const char *slug, struct store_tag *out)
{
    return st->ops->tag_get_by_slug(st, a, slug, out);
}

int store_tags_list(struct store *st, struct arena *a, int kind,
                    struct store_tag **out, size_t *n)
{
    return st->ops->tags_list(st, a, kind, out, n);
}

int store_image_save(struct store *st, struct store_image *img)
{
    return st->ops->image_save(st, img);
}

int store_image_get(struct store *st, struct arena *a, int64_t id,
                    struct store_image *out)
{
    return st->ops->image_get(st, a, id, out);
}

int store_image_get_by_name(struct store *st, struct arena *a,
                            const char *name, struct store_image *out)
{
    return st->ops->image_get_by_name(st, a, name, out);
}

int store_live_save(struct store *st, struct store_live *lu)
{
    return st->ops->live_save(st, lu);
}

int store_live_delete(struct store *st, int64_t id)
{
    return st->ops->live_delete(st, id);
}

int store_live_list(struct store *st, struct arena *a, int64_t before,
                    size_t limit, struct store_live **out, size_t *n)
{
    return st->ops->live_list(st, a, before, limit, out, n);
}

int store_live_get(struct store *st, struct arena *a, int64_t id,
                   struct store_live *out)
{
    return st->ops->live_get(st, a, id, out);
}

int store_live_events(struct store *st, struct arena *a, int64_t after,
                      size_t limit, struct store_live_event **out,
                      size_t *n)
{
    return st->ops->live_events(st, a, after, limit, out, n);
}

int64_t store_live_last_seq(struct store *st)
{
    return st->ops->live_last_seq(st);
}

int store_newsletter_save(struct store *st, struct store_newsletter *nl)
{
    return st->ops->newsletter_save(st, nl);
}

int store_newsletters_list(struct store *st, struct arena *a, int active_only,
                           struct store_newsletter **out, size_t *n)
{
    return st->ops->newsletters_list(st, a, active_only, out, n);
}
