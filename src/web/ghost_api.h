/*
 * ghost_api.h - the Content API, compatible with Ghost 5's, under
 * /ghost/api/content/ (and /ghost/api/VERSION/content/ for v2-v4 clients):
 * posts, pages (none: empty lists), authors, tags, tiers, newsletters and
 * settings, browsed and read by id or slug, with Ghost's query parameters
 * (key, include, fields, formats, limit, page, order, filter in NQL), JSON
 * shapes, error envelope and status codes, CORS and ETag headers.
 * docs/content-api.md lists what is supported and how ids map.
 *
 * ghost_api.c handles requests and queries; ghost_json.c builds the JSON
 * of each resource. Internal to web/ apart from the two handlers.
 */
#ifndef WEB_GHOST_API_H
#define WEB_GHOST_API_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

struct http_req;
struct arena;
struct web_app;
struct store_post;
struct store_author;
struct store_tag;
struct store_newsletter;

/* GET/HEAD/OPTIONS /ghost/api/content/... and
 * /ghost/api/:version/content/... (app is the struct web_app). */
int ghost_api_serve(struct http_req *req, void *app);

/* ---- ghost_json.c: resource shapes (internal to web/) ---- */

/* What a request asked to see. */
struct ghost_view {
    struct web_app *app;
    struct arena *a;
    int with_authors;     /* include=authors */
    int with_tags;        /* include=tags */
    int with_count;       /* include=count.posts */
    int html;             /* formats has html (the default) */
    int plaintext;        /* formats has plaintext */
    const char *fields;   /* fields=..., or NULL for all */
    const char *uuid_key; /* site secret for post uuids (hex) */
};

/* A numeric id as Ghost's 24-hex-character id ("0000...002a"), in a. */
const char *ghost_id(struct arena *a, int64_t id);
/* The numeric id of a 24-hex id, or -1 when s is not one. */
int64_t ghost_id_parse(const char *s);
/* Unix seconds as Ghost writes dates ("2024-01-01T10:00:00.000+00:00"),
 * or json null for 0. */
json_t *ghost_date(int64_t t);
/* A stable UUID for a post: a keyed hash of its id. In a. */
const char *ghost_uuid(struct arena *a, const char *key, const char *kind,
                       int64_t id);
/* 16 bytes (changed: version and variant bits set) as a UUID text, in a. */
const char *ghost_uuid_of(struct arena *a, unsigned char h[16]);

json_t *ghost_post_json(const struct ghost_view *v, const struct store_post *p);
/* count < 0: no "count" member. */
json_t *ghost_author_json(const struct ghost_view *v,
                          const struct store_author *au, long count);
json_t *ghost_tag_json(const struct ghost_view *v, const struct store_tag *t,
                       long count);
json_t *ghost_newsletter_json(const struct ghost_view *v,
                              const struct store_newsletter *nl);
json_t *ghost_settings_json(const struct ghost_view *v);
json_t *ghost_free_tier_json(const struct ghost_view *v);
/* Keeps only the members of o named in the comma list fields (and the
 * relations included); o is changed in place. */
/* 1 when name is one of the comma-separated words of list (any case;
 * blanks around words ignored; NULL list = none). */
int ghost_listed(const char *list, const char *name);
void ghost_keep_fields(json_t *o, const char *fields, int keep_authors,
                       int keep_tags);

#endif
