/*
 * live.h - the News Feed's rules: what a live update may hold, and posting,
 * editing and deleting one. Every change lands in the store's change log
 * (schema 002), which the web layer pushes to open pages.
 *
 * Knows nothing of HTTP; the CLI (`newsroom live ...`) and, later, the desk
 * call it.
 */
#ifndef CONTENT_LIVE_H
#define CONTENT_LIVE_H

#include "core/bounds.h"

#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

struct arena;


/* What a caller wants an update to say. */
struct live_input {
    const char *headline; /* required, one line */
    const char *body;     /* Markdown, or NULL */
    const char *link;     /* slug of a published post, or NULL */
    int key;              /* 1 = key update */
};

/* Checks in (size, UTF-8, one-line headline, the linked post exists and is
 * public). 0, or -1 with a reason a person can act on in err. */
int live_validate(struct store *st, struct arena *a,
                  const struct live_input *in, char *err, size_t errlen);

/* Posts a new update timed now; *id gets its id. 0 or -1 (reason in
 * err). */
int live_post(struct store *st, const struct live_input *in, int64_t now,
              int64_t *id, char *err, size_t errlen);

/* Replaces the content of update id, marking it updated at now. 0 or -1
 * (reason in err; "no live update N" when it does not exist). */
int live_edit(struct store *st, int64_t id, const struct live_input *in,
              int64_t now, char *err, size_t errlen);

/* Deletes update id. 0 or -1 (reason in err). */
int live_delete(struct store *st, int64_t id, char *err, size_t errlen);

#endif
