/*
 * desk.h - the editorial desk's rules: who may do what (the role x action
 * matrix), and every change the desk makes to the paper, each checked
 * against the actor's role here, whatever the web page showed, and
 * written to the audit log where it matters.
 *
 * The matrix (docs/desk.md has it as a table):
 *   contributor    writes posts; edits and deletes its own while they are
 *                  drafts; cannot publish, schedule or unpublish
 *   author         also publishes, schedules, unpublishes and edits its
 *                  own posts, published ones included
 *   editor         all of that on everyone's posts, plus corrections,
 *                  tags, Editors' Picks and live updates
 *   administrator  all of that, plus staff accounts and the audit log
 * A post is one's own when one's byline (staff author_id) is among its
 * authors.
 *
 * Knows nothing of HTTP. web/desk.c turns each desk_rc into a status.
 */
#ifndef CONTENT_DESK_H
#define CONTENT_DESK_H

#include <stddef.h>
#include <stdint.h>

#include "content/session.h"
#include "store/store.h"

struct arena;

enum desk_action {
    DESK_POST_CREATE,    /* start a new post */
    DESK_POST_EDIT,      /* change a post's text and fields */
    DESK_POST_PUBLISH,   /* publish now or schedule */
    DESK_POST_UNPUBLISH, /* back to draft */
    DESK_POST_DELETE,    /* remove for good */
    DESK_POST_CORRECT,   /* append a correction note */
    DESK_PICKS,          /* choose and order Editors' Picks */
    DESK_TAGS,           /* create and edit tags and sections */
    DESK_LIVE,           /* post, edit, delete News Feed updates */
    DESK_UPLOAD,         /* upload images */
    DESK_STAFF,          /* invite, change roles, disable, reset */
    DESK_AUDIT,          /* read the audit log */
    DESK_KEYS,           /* add and delete Content API keys */
};

/* Results of desk operations; web/desk.c maps them to HTTP statuses. */
enum desk_rc {
    DESK_OK = 0,
    DESK_INVALID = -1,   /* bad input: err says what to fix (400/422) */
    DESK_FORBIDDEN = -2, /* the role does not allow it (403) */
    DESK_NOTFOUND = -3,  /* no such post, update, account (404) */
    DESK_CONFLICT = -4,  /* slug or email taken (409) */
    DESK_ERROR = -5,     /* the store failed (500, logged) */
};

/* 1 when who may do act; p is the post concerned (its authors and status
 * read), or NULL for actions not about one post. */
int desk_can(const struct desk_actor *who, enum desk_action act,
             const struct store_post *p);

/* What the editor form sends for a post. NULL strings are "empty". */
struct desk_post_input {
    int64_t id; /* 0 = a new post */
    const char *title;
    const char *standfirst;
    const char *slug; /* "" = made from the title */
    const char *markdown;
    const char *section;       /* a section's slug, or "" */
    const char *tags;          /* tag names, comma-separated */
    const int64_t *author_ids; /* byline order; n 0 = the actor's byline */
    size_t nauthors;
    int64_t feature_image_id; /* 0 = none */
    const char *feature_alt;
    const char *feature_caption;
    const char *feature_credit;
    const char *meta_title;       /* <title>/og:title override; NULL =
                                     leave as it is, "" = none */
    const char *meta_description; /* description override; as meta_title */
    int pick;                     /* 1 on, 0 off, -1 leave as it is */
    int featured;                 /* lead-story candidate: 1, 0, -1 = leave */
    int64_t publish_at;           /* schedule time; 0 = now */
};

/* What to do with the post besides saving its fields. */
enum desk_intent {
    DESK_SAVE,      /* keep the status (a published post stays live) */
    DESK_PUBLISH,   /* publish now */
    DESK_SCHEDULE,  /* publish at in->publish_at (must be in the future) */
    DESK_UNPUBLISH, /* back to draft */
};

/* Fills p (strings in a) as the post would be after saving in, without
 * saving: for the preview and for saving. Resolves authors, section and
 * tags (unknown tags are created only when who may manage tags; otherwise
 * DESK_INVALID). author_ids and tag_ids (in a) and their counts get what
 * store_post_save needs. */
int desk_post_build(struct store *st, struct arena *a,
                    const struct desk_actor *who,
                    const struct desk_post_input *in, int64_t now, unsigned wpm,
                    struct store_post *p, int64_t **author_ids,
                    size_t *nauthors, int64_t **tag_ids, size_t *ntags,
                    int create_tags, char *err, size_t errlen);

/* Saves a post from the editor with intent, as who at now: checks the
 * role, validates (title, slug free and not reserved, sizes, UTF-8), keeps
 * a revision, stamps "Updated" when a live article's text changes, and
 * audits publishing and unpublishing. *id gets the post's id. */
int desk_post_save(struct store *st, struct arena *a,
                   const struct desk_actor *who,
                   const struct desk_post_input *in, enum desk_intent intent,
                   int64_t now, unsigned wpm, int64_t *id, char *err,
                   size_t errlen);

/* Deletes post id (audited). */
int desk_post_delete(struct store *st, struct arena *a,
                     const struct desk_actor *who, int64_t id, int64_t now,
                     char *err, size_t errlen);

/* Appends a correction note (Markdown) dated now to a published post and
 * moves its "Updated" time to now (audited). */
int desk_correction_add(struct store *st, struct arena *a,
                        const struct desk_actor *who, int64_t post_id,
                        const char *text, int64_t now, unsigned wpm, char *err,
                        size_t errlen);

/* Fills in (strings in a) with what stored post p holds, as the editor
 * form would send it unchanged (pick and featured: -1, leave). */
void desk_input_from_post(struct arena *a, const struct store_post *p,
                          struct desk_post_input *in);

/* Makes revision rev_id the post's current text (a new revision too). */
int desk_revision_restore(struct store *st, struct arena *a,
                          const struct desk_actor *who, int64_t post_id,
                          int64_t rev_id, int64_t now, unsigned wpm, char *err,
                          size_t errlen);

/* Sets the Editors' Picks to the posts ids[0..n), in that order (each
 * must be published). */
int desk_picks_set(struct store *st, struct arena *a,
                   const struct desk_actor *who, const int64_t *ids, size_t n,
                   int64_t now, char *err, size_t errlen);

/* Creates (t->id 0) or edits a tag or section. */
int desk_tag_save(struct store *st, struct arena *a,
                  const struct desk_actor *who, struct store_tag *t, char *err,
                  size_t errlen);

/* Live updates: id 0 posts a new one; delete_it deletes update id. */
int desk_live_save(struct store *st, struct arena *a,
                   const struct desk_actor *who, int64_t id,
                   const char *headline, const char *body, const char *link,
                   int key, int delete_it, int64_t now, char *err,
                   size_t errlen);

/* Staff, administrators only (audited). Invites a new account (created
 * disabled until the link is used); the link secret goes to token. */
int desk_staff_invite(struct store *st, struct arena *a,
                      const struct desk_actor *who, const char *email,
                      const char *name, const char *role, int64_t now,
                      char token[SESSION_TOKEN_HEX + 1], char *err,
                      size_t errlen);
/* Changes role and disabled of account id; an administrator cannot change
 * their own (no lock-out). Disabling ends the account's sessions. */
int desk_staff_update(struct store *st, struct arena *a,
                      const struct desk_actor *who, int64_t id,
                      const char *role, int disabled, int64_t now, char *err,
                      size_t errlen);
/* A password-reset link for account id (ends its sessions). */
int desk_staff_reset(struct store *st, struct arena *a,
                     const struct desk_actor *who, int64_t id, int64_t now,
                     char token[SESSION_TOKEN_HEX + 1], char *err,
                     size_t errlen);

/* Writes one audit entry for who (NULL = the command line). */
void desk_audit(struct store *st, struct arena *a, const struct desk_actor *who,
                int64_t now, const char *action, const char *target,
                const char *detail);

/* 1 if slug may not name a post (it is a path of the site: desk, assets,
 * media, news-feed, archive, author, section, tag, live...). */
int desk_slug_reserved(const char *slug);

#endif
