/*
 * live.c - posting, editing and deleting live updates; see live.h.
 */
#include "content/live.h"

#include <stdio.h>
#include <string.h>

#include "content/post.h"
#include "core/arena.h"
#include "core/str.h"
#include "render/md.h"

int live_validate(struct store *st, struct arena *a,
                  const struct live_input *in, char *err, size_t errlen)
{
    const char *h = in->headline ? in->headline : "";
    size_t hl = strlen(h), bl = in->body ? strlen(in->body) : 0;
    struct store_post p;

    if (hl == 0 || strspn(h, " \t") == hl) {
        snprintf(err, errlen, "a live update needs a headline");
        return -1;
    }
    if (hl > LIVE_HEADLINE_MAX) {
        snprintf(err, errlen, "headline too long: %zu bytes (limit %d)", hl,
                 LIVE_HEADLINE_MAX);
        return -1;
    }
    if (bl > LIVE_BODY_MAX) {
        snprintf(err, errlen, "body too long: %zu bytes (limit %d)", bl,
                 LIVE_BODY_MAX);
        return -1;
    }
    if (!str_utf8_valid(h, hl) || (bl && !str_utf8_valid(in->body, bl))) {
        snprintf(err, errlen, "text is not valid UTF-8");
        return -1;
    }
    for (const char *c = h; *c; c++)
        if ((unsigned char)*c < 0x20) {
            snprintf(err, errlen,
                     "the headline must be one line without control "
                     "characters");
            return -1;
        }
    if (in->link && *in->link) {
        if (!str_slug_valid(in->link) ||
            store_post_get_by_slug(st, a, in->link, &p) != STORE_OK ||
            !post_is_public(&p, 0x7fffffffffffLL)) {
            snprintf(err, errlen, "no published article with slug '%.120s'",
                     in->link);
            return -1;
        }
    }
    return 0;
}

/* Fills lu from in, rendering the body; 0 or -1. */
static int fill(struct store *st, struct arena *a, struct store_live *lu,
                const struct live_input *in, char *err, size_t errlen)
{
    struct md_doc doc;
    const char *body = in->body ? in->body : "";

    if (live_validate(st, a, in, err, errlen) < 0)
        return -1;
    if (md_render(a, body, strlen(body), NULL, NULL, &doc) < 0) {
        snprintf(err, errlen, "the body cannot be rendered");
        return -1;
    }
    lu->headline = in->headline;
    lu->body = body;
    lu->html = doc.html;
    lu->link_slug = in->link && *in->link ? in->link : NULL;
    lu->key = in->key ? 1 : 0;
    return 0;
}

/* Posts (id 0) or edits update id with in, timed now. */
static int save(struct store *st, int64_t id, const struct live_input *in,
                int64_t now, int64_t *out_id, char *err, size_t errlen)
{
    struct arena a;
    struct store_live lu = {0};
    int ret = -1;

    arena_init(&a);
    if (id && store_live_get(st, &a, id, &lu) != STORE_OK) {
        snprintf(err, errlen, "no live update %lld", (long long)id);
        goto out;
    }
    if (fill(st, &a, &lu, in, err, errlen) < 0)
        goto out;
    if (id)
        lu.updated_at = now;
    else
        lu.at = now;
    if (store_live_save(st, &lu) != STORE_OK) {
        snprintf(err, errlen, "cannot save the live update");
        goto out;
    }
    if (out_id)
        *out_id = lu.id;
    ret = 0;
out:
    arena_release(&a);
    return ret;
}

int live_post(struct store *st, const struct live_input *in, int64_t now,
              int64_t *id, char *err, size_t errlen)
{
    return save(st, 0, in, now, id, err, errlen);
}

int live_edit(struct store *st, int64_t id, const struct live_input *in,
              int64_t now, char *err, size_t errlen)
{
    return save(st, id, in, now, NULL, err, errlen);
}

int live_delete(struct store *st, int64_t id, char *err, size_t errlen)
{
    int r = store_live_delete(st, id);

    if (r == STORE_NOTFOUND) {
        snprintf(err, errlen, "no live update %lld", (long long)id);
        return -1;
    }
    if (r != STORE_OK) {
        snprintf(err, errlen, "cannot delete live update %lld",
                 (long long)id);
        return -1;
    }
    return 0;
}
