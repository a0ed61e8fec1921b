/*
 * desk.c - the desk's permission matrix and its changes to the paper; see
 * desk.h.
 */
#include "content/desk.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "content/live.h"
#include "content/post.h"
#include "core/arena.h"
#include "core/bounds.h"
#include "core/log.h"
#include "core/str.h"

/* ---- who may do what ---------------------------------------------------- */

/* 1 when who's byline is among p's authors. */
static int owns(const struct desk_actor *who, const struct store_post *p)
{
    if (!p || !who->author_id)
        return 0;
    for (size_t i = 0; i < p->nauthors; i++)
        if (p->authors[i].id == who->author_id)
            return 1;
    return 0;
}

int desk_can(const struct desk_actor *who, enum desk_action act,
             const struct store_post *p)
{
    int editor = who->role >= STAFF_EDITOR;
    int mine = !p || p->id == 0 || owns(who, p);
    int draft = !p || p->status == STORE_POST_DRAFT;

    switch (act) {
    case DESK_POST_CREATE:
    case DESK_UPLOAD:
        return 1;
    case DESK_POST_EDIT:
    case DESK_POST_DELETE:
        if (editor)
            return 1;
        if (who->role == STAFF_AUTHOR)
            return mine;
        return mine && draft;
    case DESK_POST_PUBLISH:
    case DESK_POST_UNPUBLISH:
        if (editor)
            return 1;
        return who->role == STAFF_AUTHOR && mine;
    case DESK_POST_CORRECT:
    case DESK_PICKS:
    case DESK_TAGS:
    case DESK_LIVE:
        return editor;
    case DESK_STAFF:
    case DESK_AUDIT:
    case DESK_KEYS:
        return who->role == STAFF_ADMINISTRATOR;
    }
    return 0;
}

static int forbidden(char *err, size_t errlen, const char *what)
{
    snprintf(err, errlen, "Your role does not allow you to %s.", what);
    return DESK_FORBIDDEN;
}

/* ---- audit -------------------------------------------------------------- */

void desk_audit(struct store *st, struct arena *a, const struct desk_actor *who,
                int64_t now, const char *action, const char *target,
                const char *detail)
{
    struct store_audit e = {0};

    e.at = now;
    e.staff_id = who ? who->staff_id : 0;
    e.actor = who ? arena_printf(a, "%s <%s>", who->name, who->email)
                  : "command line";
    e.action = action;
    e.target = target ? target : "";
    e.detail = detail;
    if (store_audit_add(st, &e) != STORE_OK)
        log_error("cannot write audit entry '%s' for '%s'", action, e.actor);
}

static const char *post_target(struct arena *a, const struct store_post *p)
{
    return arena_printf(a, "post %lld '%s'", (long long)p->id, p->slug);
}

/* ---- checking text ------------------------------------------------------ */

/* Checks an optional text field: at most max bytes, valid UTF-8, and one
 * line unless multiline. 0 or DESK_INVALID with err. */
static int check_text(const char *label, const char *s, size_t max,
                      int multiline, char *err, size_t errlen)
{
    size_t n = s ? strlen(s) : 0;

    if (n > max) {
        snprintf(err, errlen, "%s is too long: %zu bytes (at most %zu).", label,
                 n, max);
        return DESK_INVALID;
    }
    if (n && !str_utf8_valid(s, n)) {
        snprintf(err, errlen, "%s is not valid UTF-8 text.", label);
        return DESK_INVALID;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c < 0x20 &&
             !(multiline && (c == '\n' || c == '\r' || c == '\t'))) ||
            c == 0x7f) {
            snprintf(err, errlen,
                     multiline ? "%s contains a control character."
                               : "%s must be one line of text.",
                     label);
            return DESK_INVALID;
        }
    }
    return 0;
}

/* Checks a one-line SEO override s of at most max characters and stores
 * it trimmed in *out (NULL when empty); s NULL leaves *out as it is. */
static int check_meta(struct arena *a, const char *label, const char *s,
                      size_t max, const char **out, char *err, size_t errlen)
{
    size_t chars = 0;

    if (!s)
        return 0;
    int rc = check_text(label, s, max * 4, 0, err, errlen);
    if (rc)
        return rc;
    char *t = str_trim(arena_strdup(a, s));
    for (const char *q = t; *q; q++)
        chars += ((unsigned char)*q & 0xc0) != 0x80;
    if (chars > max) {
        snprintf(err, errlen, "%s is too long: %zu characters (at most %zu).",
                 label, chars, max);
        return DESK_INVALID;
    }
    *out = *t ? t : NULL;
    return 0;
}

static const char *nz(const char *s)
{
    return s && *s ? s : NULL;
}

int desk_slug_reserved(const char *slug)
{
    static const char *const reserved[] = {
        "desk",    "assets", "media",   "news-feed",   "archive",    "author",
        "section", "tag",    "live",    "feed",        "rss",        "search",
        "sitemap", "api",    "podcast", "newsletters", "newsletter",
    };
    for (size_t i = 0; i < sizeof reserved / sizeof reserved[0]; i++)
        if (strcmp(slug, reserved[i]) == 0)
            return 1;
    return 0;
}

/* ---- bylines, sections, tags ------------------------------------------- */

/* Makes sure who has a byline (an author row), creating one from the
 * account's name; updates who->author_id. 0 or DESK_ERROR. */
static int ensure_byline(struct store *st, struct arena *a,
                         struct desk_actor *who)
{
    struct store_staff s;
    struct store_author au = {0}, tmp;

    if (who->author_id)
        return 0;
    if (store_staff_get(st, a, who->staff_id, &s) != STORE_OK)
        return DESK_ERROR;
    if (s.author_id) {
        who->author_id = s.author_id;
        return 0;
    }
    const char *base = str_slugify(a, who->name, 60);
    if (!base || !*base)
        base = "staff";
    const char *slug = base;
    for (int i = 2; store_author_get_by_slug(st, a, slug, &tmp) == STORE_OK;
         i++)
        slug = arena_printf(a, "%s-%d", base, i);
    au.slug = slug;
    au.name = who->name;
    au.email = who->email;
    if (store_author_save(st, &au) != STORE_OK)
        return DESK_ERROR;
    s.author_id = au.id;
    if (store_staff_save(st, &s) != STORE_OK)
        return DESK_ERROR;
    who->author_id = au.id;
    return 0;
}

/* Resolves the byline ids into p->authors. */
static int resolve_authors(struct store *st, struct arena *a,
                           const int64_t *ids, size_t n, struct store_post *p,
                           char *err, size_t errlen)
{
    struct store_author *all = NULL;
    size_t nall = 0;

    if (n > BOUND_POST_AUTHORS) {
        snprintf(err, errlen, "A post can have at most %d authors.",
                 BOUND_POST_AUTHORS);
        return DESK_INVALID;
    }
    if (store_authors_list(st, a, &all, &nall) != STORE_OK)
        return DESK_ERROR;
    p->authors = arena_zalloc(a, (n ? n : 1) * sizeof *p->authors);
    p->nauthors = 0;
    for (size_t i = 0; i < n; i++) {
        size_t j;
        for (j = 0; j < nall && all[j].id != ids[i]; j++)
            ;
        if (j == nall) {
            snprintf(err, errlen, "There is no author with id %lld.",
                     (long long)ids[i]);
            return DESK_INVALID;
        }
        int dup = 0;
        for (size_t k = 0; k < p->nauthors; k++)
            dup |= p->authors[k].id == ids[i];
        if (!dup)
            p->authors[p->nauthors++] = all[j];
    }
    return 0;
}

/* Adds tag t to p->tags unless already there. */
static void add_tag(struct store_post *p, const struct store_tag *t)
{
    for (size_t i = 0; i < p->ntags; i++)
        if (strcmp(p->tags[i].slug, t->slug) == 0)
            return;
    p->tags[p->ntags++] = *t;
}

/* Resolves section and comma-separated tag names into p->tags (the
 * section first). Unknown tags are created when create (and may), listed
 * unsaved (id 0) for a preview, or refused. */
static int resolve_tags(struct store *st, struct arena *a,
                        const struct desk_actor *who, const char *section,
                        const char *tags, int create, int preview,
                        struct store_post *p, char *err, size_t errlen)
{
    struct store_tag t;
    char *list = arena_strdup(a, tags ? tags : "");

    p->tags = arena_zalloc(a, (BOUND_POST_TAGS + 1) * sizeof *p->tags);
    p->ntags = 0;
    if (section && *section) {
        if (!str_slug_valid(section) ||
            store_tag_get_by_slug(st, a, section, &t) != STORE_OK ||
            t.kind != STORE_TAG_SECTION) {
            snprintf(err, errlen, "There is no section '%.80s'.", section);
            return DESK_INVALID;
        }
        add_tag(p, &t);
    }
    for (char *save = NULL, *tok = strtok_r(list, ",", &save); tok;
         tok = strtok_r(NULL, ",", &save)) {
        char *name = str_trim(tok);
        if (!*name)
            continue;
        int rc = check_text("A tag name", name, 100, 0, err, errlen);
        if (rc)
            return rc;
        if (p->ntags >= BOUND_POST_TAGS) {
            snprintf(err, errlen, "A post can have at most %d tags.",
                     BOUND_POST_TAGS);
            return DESK_INVALID;
        }
        const char *slug = str_slugify(a, name, 60);
        if (!slug || !*slug) {
            snprintf(err, errlen,
                     "The tag '%.80s' needs at least one letter or digit.",
                     name);
            return DESK_INVALID;
        }
        rc = store_tag_get_by_slug(st, a, slug, &t);
        if (rc == STORE_NOTFOUND) {
            memset(&t, 0, sizeof t);
            t.slug = slug;
            t.name = name;
            t.kind = STORE_TAG_TAG;
            if (!desk_can(who, DESK_TAGS, NULL) && !preview) {
                snprintf(err, errlen,
                         "There is no tag '%.80s'. Only an editor can "
                         "create new tags; choose an existing one.",
                         name);
                return DESK_INVALID;
            }
            if (create && store_tag_save(st, &t) != STORE_OK)
                return DESK_ERROR;
        } else if (rc != STORE_OK) {
            return DESK_ERROR;
        }
        add_tag(p, &t);
    }
    return 0;
}

/* ---- posts -------------------------------------------------------------- */

int desk_post_build(struct store *st, struct arena *a,
                    const struct desk_actor *who,
                    const struct desk_post_input *in, int64_t now, unsigned wpm,
                    struct store_post *p, int64_t **author_ids,
                    size_t *nauthors, int64_t **tag_ids, size_t *ntags,
                    int create_tags, char *err, size_t errlen)
{
    const char *title = in->title ? in->title : "";
    size_t tl = strlen(title);
    int rc;

    if (in->id) {
        rc = store_post_get(st, a, in->id, p);
        if (rc == STORE_NOTFOUND) {
            snprintf(err, errlen, "There is no post %lld.", (long long)in->id);
            return DESK_NOTFOUND;
        }
        if (rc != STORE_OK)
            return DESK_ERROR;
    } else {
        memset(p, 0, sizeof *p);
        p->status = STORE_POST_DRAFT;
        p->created_at = now;
        p->language = "en";
    }
    if ((rc = check_text("The headline", title, BOUND_TITLE_LEN, 0, err,
                         errlen)))
        return rc;
    if (tl == 0 || strspn(title, " \t") == tl) {
        snprintf(err, errlen, "A post needs a headline.");
        return DESK_INVALID;
    }
    if ((rc = check_text("The standfirst", in->standfirst, BOUND_STANDFIRST_LEN,
                         1, err, errlen)) ||
        (rc = check_text("The body", in->markdown, BOUND_MARKDOWN, 1, err,
                         errlen)) ||
        (rc = check_text("The alt text", in->feature_alt, BOUND_FIELD_LEN, 0,
                         err, errlen)) ||
        (rc = check_text("The caption", in->feature_caption, BOUND_FIELD_LEN, 1,
                         err, errlen)) ||
        (rc = check_text("The credit", in->feature_credit, BOUND_FIELD_LEN, 0,
                         err, errlen)) ||
        (rc =
             check_text("The tags", in->tags, BOUND_FIELD_LEN, 0, err, errlen)))
        return rc;

    if ((rc =
             check_meta(a, "The meta title", in->meta_title,
                        BOUND_META_TITLE_CHARS, &p->meta_title, err, errlen)) ||
        (rc = check_meta(a, "The meta description", in->meta_description,
                         BOUND_META_DESCRIPTION_CHARS, &p->meta_description,
                         err, errlen)))
        return rc;

    /* the slug: given (checked) or made from the headline */
    const char *slug = in->slug ? in->slug : "";
    while (*slug == ' ')
        slug++;
    if (*slug) {
        char *s = arena_strdup(a, slug);
        str_trim(s);
        if (!str_slug_valid(s) || strlen(s) > BOUND_SLUG_LEN) {
            snprintf(err, errlen,
                     "The slug may use only lower-case letters, digits and "
                     "single hyphens (at most %d characters), like "
                     "'flood-defences-hold'.",
                     BOUND_SLUG_LEN);
            return DESK_INVALID;
        }
        slug = s;
    } else if (in->id && p->slug) {
        slug = p->slug;
    } else {
        slug = str_slugify(a, title, 80);
        if (!slug || !*slug)
            slug = arena_printf(a, "post-%lld", (long long)now);
        /* a made-up slug never clashes: add -2, -3 ... */
        struct store_post other;
        const char *base = slug;
        for (int i = 2;
             store_post_get_by_slug(st, a, slug, &other) == STORE_OK &&
             other.id != in->id;
             i++)
            slug = arena_printf(a, "%s-%d", base, i);
        if (desk_slug_reserved(slug))
            slug = arena_printf(a, "%s-post", slug);
    }
    if (desk_slug_reserved(slug)) {
        snprintf(err, errlen,
                 "The slug '%s' is a section of the site's addresses; "
                 "choose another.",
                 slug);
        return DESK_INVALID;
    }

    p->slug = slug;
    p->title = title;
    p->standfirst = nz(in->standfirst);
    p->markdown = in->markdown ? in->markdown : "";
    p->excerpt = NULL;
    p->feature_alt = nz(in->feature_alt);
    p->feature_caption = nz(in->feature_caption);
    p->feature_credit = nz(in->feature_credit);
    p->feature_image_id = in->feature_image_id;
    p->feature_image = NULL;
    if (in->feature_image_id) {
        struct store_image *img = arena_zalloc(a, sizeof *img);
        rc = store_image_get(st, a, in->feature_image_id, img);
        if (rc == STORE_NOTFOUND) {
            snprintf(err, errlen, "There is no image %lld.",
                     (long long)in->feature_image_id);
            return DESK_INVALID;
        }
        if (rc != STORE_OK)
            return DESK_ERROR;
        p->feature_image = img;
    }
    if (in->nauthors) {
        if ((rc = resolve_authors(st, a, in->author_ids, in->nauthors, p, err,
                                  errlen)))
            return rc;
    } else if (!in->id || p->nauthors == 0) {
        int64_t mine = who->author_id;
        if (!mine && !create_tags) {
            /* a preview by someone without a byline yet: show their name
             * as the byline saving will make */
            struct store_author *au = arena_zalloc(a, sizeof *au);
            au->name = who->name;
            au->slug = str_slugify(a, who->name, 60);
            p->authors = au;
            p->nauthors = 1;
        } else if (!mine) {
            snprintf(err, errlen, "Choose at least one author.");
            return DESK_INVALID;
        } else if ((rc = resolve_authors(st, a, &mine, 1, p, err, errlen))) {
            return rc;
        }
    }
    if ((rc = resolve_tags(st, a, who, in->section, in->tags, create_tags,
                           !create_tags, p, err, errlen)))
        return rc;
    if (post_derive(st, a, p, wpm) < 0) {
        snprintf(err, errlen, "The body cannot be rendered.");
        return DESK_INVALID;
    }
    if (author_ids) {
        *author_ids = arena_alloc(a, (p->nauthors + 1) * sizeof **author_ids);
        for (size_t i = 0; i < p->nauthors; i++)
            (*author_ids)[i] = p->authors[i].id;
        *nauthors = p->nauthors;
    }
    if (tag_ids) {
        *tag_ids = arena_alloc(a, (p->ntags + 1) * sizeof **tag_ids);
        for (size_t i = 0; i < p->ntags; i++)
            (*tag_ids)[i] = p->tags[i].id;
        *ntags = p->ntags;
    }
    return 0;
}

/* 1 when two optional texts differ. */
static int differs(const char *x, const char *y)
{
    return strcmp(x ? x : "", y ? y : "") != 0;
}

/* The next free Editors' Pick position (after the last). */
static unsigned next_pick(struct store *st, struct arena *a)
{
    struct store_post_query q = {0};
    struct store_post *p = NULL;
    size_t n = 0, total = 0;
    unsigned max = 0;

    q.status = -1;
    q.picks_only = 1;
    q.limit = 1000;
    if (store_posts_list(st, a, &q, &p, &n, &total) != STORE_OK)
        return 1;
    for (size_t i = 0; i < n; i++)
        if (p[i].pick_order > max)
            max = p[i].pick_order;
    return max + 1;
}

int desk_post_save(struct store *st, struct arena *a,
                   const struct desk_actor *who0,
                   const struct desk_post_input *in, enum desk_intent intent,
                   int64_t now, unsigned wpm, int64_t *id, char *err,
                   size_t errlen)
{
    struct desk_actor who = *who0;
    struct store_post old = {0}, p;
    int64_t *aids = NULL, *tids = NULL;
    size_t na = 0, nt = 0;
    int rc, was_live = 0;

    if (in->id) {
        rc = store_post_get(st, a, in->id, &old);
        if (rc == STORE_NOTFOUND) {
            snprintf(err, errlen, "There is no post %lld.", (long long)in->id);
            return DESK_NOTFOUND;
        }
        if (rc != STORE_OK)
            return DESK_ERROR;
        if (!desk_can(&who, DESK_POST_EDIT, &old))
            return forbidden(err, errlen,
                             old.status == STORE_POST_DRAFT
                                 ? "edit this post"
                                 : "change a post once it is scheduled or "
                                   "published");
        was_live = old.status == STORE_POST_PUBLISHED;
    } else if (!desk_can(&who, DESK_POST_CREATE, NULL)) {
        return forbidden(err, errlen, "write posts");
    }
    /* publishing decisions, before anything is written */
    const struct store_post *subject = in->id ? &old : NULL;
    int publishes =
        intent == DESK_PUBLISH || intent == DESK_SCHEDULE ||
        (intent == DESK_SAVE && in->id && old.status != STORE_POST_DRAFT);
    if (publishes && !desk_can(&who, DESK_POST_PUBLISH, subject))
        return forbidden(err, errlen,
                         intent == DESK_SAVE
                             ? "change a post once it is scheduled or "
                               "published"
                             : "publish or schedule this post; save it as "
                               "a draft for an editor");
    if (intent == DESK_UNPUBLISH &&
        !desk_can(&who, DESK_POST_UNPUBLISH, subject))
        return forbidden(err, errlen, "unpublish this post");
    int was_pick = old.pick_order > 0;
    if ((in->pick >= 0 && (in->pick != 0) != was_pick) ||
        (in->featured >= 0 && (in->featured != 0) != (old.featured != 0))) {
        if (!desk_can(&who, DESK_PICKS, NULL))
            return forbidden(err, errlen,
                             "choose Editors' Picks or the lead story");
    }
    if (intent == DESK_SCHEDULE && in->publish_at <= now) {
        snprintf(err, errlen,
                 "Choose a publication time in the future to schedule the "
                 "post, or publish it now.");
        return DESK_INVALID;
    }
    if ((rc = ensure_byline(st, a, &who)))
        return rc;

    if ((rc = store_tx_begin(st)) != STORE_OK)
        return DESK_ERROR;
    rc = desk_post_build(st, a, &who, in, now, wpm, &p, &aids, &na, &tids, &nt,
                         1, err, errlen);
    if (rc)
        goto fail;
    if (who.role < STAFF_EDITOR && !owns(&who, &p)) {
        snprintf(err, errlen, "Your own byline must stay on your post.");
        rc = DESK_INVALID;
        goto fail;
    }
    if (in->id && !desk_can(&who, DESK_POST_EDIT, &p)) {
        rc = forbidden(err, errlen, "edit this post");
        goto fail;
    }
    switch (intent) {
    case DESK_PUBLISH:
        if (p.status != STORE_POST_PUBLISHED || p.published_at == 0 ||
            p.published_at > now)
            p.published_at = now;
        p.status = STORE_POST_PUBLISHED;
        break;
    case DESK_SCHEDULE:
        p.status = STORE_POST_SCHEDULED;
        p.published_at = in->publish_at;
        break;
    case DESK_UNPUBLISH:
        p.status = STORE_POST_DRAFT;
        break;
    case DESK_SAVE:
        if (p.status == STORE_POST_SCHEDULED && in->publish_at > now)
            p.published_at = in->publish_at;
        break;
    }
    int text_changed = !in->id || differs(old.title, p.title) ||
                       differs(old.standfirst, p.standfirst) ||
                       differs(old.markdown, p.markdown);
    if (p.status == STORE_POST_PUBLISHED) {
        if (!was_live)
            p.updated_at = p.published_at;
        else if (text_changed)
            p.updated_at = now;
    } else if (p.status == STORE_POST_SCHEDULED) {
        p.updated_at = p.published_at;
    }
    if (in->pick >= 0)
        p.pick_order =
            in->pick ? (was_pick ? old.pick_order : next_pick(st, a)) : 0;
    if (in->featured >= 0)
        p.featured = in->featured ? 1 : 0;
    rc = store_post_save(st, &p, aids, na, tids, nt);
    if (rc == STORE_CONFLICT) {
        snprintf(err, errlen,
                 "The slug '%s' is already used by another post. Choose "
                 "another slug.",
                 p.slug);
        rc = DESK_CONFLICT;
        goto fail;
    }
    if (rc != STORE_OK) {
        rc = DESK_ERROR;
        goto fail;
    }
    if (text_changed) {
        struct store_revision r = {0};
        r.post_id = p.id;
        r.title = p.title;
        r.standfirst = p.standfirst;
        r.markdown = p.markdown;
        r.staff_id = who.staff_id;
        r.created_at = now;
        if (store_revision_add(st, &r) != STORE_OK) {
            rc = DESK_ERROR;
            goto fail;
        }
    }
    const char *action = NULL;
    if (intent == DESK_PUBLISH && !was_live)
        action = "post.publish";
    else if (intent == DESK_SCHEDULE)
        action = "post.schedule";
    else if (intent == DESK_UNPUBLISH && old.status != STORE_POST_DRAFT)
        action = "post.unpublish";
    else if (was_live && text_changed)
        action = "post.update";
    if (action)
        desk_audit(st, a, &who, now, action, post_target(a, &p),
                   intent == DESK_SCHEDULE
                       ? arena_printf(a, "at %lld", (long long)p.published_at)
                       : NULL);
    if (store_tx_commit(st) != STORE_OK)
        return DESK_ERROR;
    if (id)
        *id = p.id;
    return DESK_OK;
fail:
    store_tx_rollback(st);
    return rc;
}

int desk_post_delete(struct store *st, struct arena *a,
                     const struct desk_actor *who, int64_t id, int64_t now,
                     char *err, size_t errlen)
{
    struct store_post p;
    int rc = store_post_get(st, a, id, &p);

    if (rc == STORE_NOTFOUND) {
        snprintf(err, errlen, "There is no post %lld.", (long long)id);
        return DESK_NOTFOUND;
    }
    if (rc != STORE_OK)
        return DESK_ERROR;
    if (!desk_can(who, DESK_POST_DELETE, &p))
        return forbidden(err, errlen, "delete this post");
    if (store_tx_begin(st) != STORE_OK)
        return DESK_ERROR;
    if (store_post_delete(st, id) != STORE_OK) {
        store_tx_rollback(st);
        return DESK_ERROR;
    }
    desk_audit(st, a, who, now, "post.delete", post_target(a, &p), p.title);
    return store_tx_commit(st) == STORE_OK ? DESK_OK : DESK_ERROR;
}

/* The ids of p's authors and tags, for a save that keeps them. */
static void keep_lists(struct arena *a, const struct store_post *p,
                       int64_t **aids, int64_t **tids)
{
    *aids = arena_alloc(a, (p->nauthors + 1) * sizeof **aids);
    *tids = arena_alloc(a, (p->ntags + 1) * sizeof **tids);
    for (size_t i = 0; i < p->nauthors; i++)
        (*aids)[i] = p->authors[i].id;
    for (size_t i = 0; i < p->ntags; i++)
        (*tids)[i] = p->tags[i].id;
}

int desk_correction_add(struct store *st, struct arena *a,
                        const struct desk_actor *who, int64_t post_id,
                        const char *text, int64_t now, unsigned wpm, char *err,
                        size_t errlen)
{
    struct store_post p;
    struct store_correction c = {0};
    int64_t *aids, *tids;
    int rc;

    (void)wpm;
    if (!desk_can(who, DESK_POST_CORRECT, NULL))
        return forbidden(err, errlen, "add corrections");
    rc = store_post_get(st, a, post_id, &p);
    if (rc == STORE_NOTFOUND) {
        snprintf(err, errlen, "There is no post %lld.", (long long)post_id);
        return DESK_NOTFOUND;
    }
    if (rc != STORE_OK)
        return DESK_ERROR;
    if ((rc = check_text("The correction", text, BOUND_CORRECTION_LEN, 1, err,
                         errlen)))
        return rc;
    if (!text || !*str_trim(arena_strdup(a, text))) {
        snprintf(err, errlen, "Write what was wrong and what is right.");
        return DESK_INVALID;
    }
    if (p.status != STORE_POST_PUBLISHED) {
        snprintf(err, errlen,
                 "Only a published article takes corrections; "
                 "edit the draft instead.");
        return DESK_INVALID;
    }
    keep_lists(a, &p, &aids, &tids);
    c.post_id = p.id;
    c.at = now;
    c.text = text;
    p.updated_at = now;
    if (store_tx_begin(st) != STORE_OK)
        return DESK_ERROR;
    if (store_correction_add(st, &c) != STORE_OK ||
        store_post_save(st, &p, aids, p.nauthors, tids, p.ntags) != STORE_OK) {
        store_tx_rollback(st);
        return DESK_ERROR;
    }
    desk_audit(st, a, who, now, "post.correct", post_target(a, &p), text);
    return store_tx_commit(st) == STORE_OK ? DESK_OK : DESK_ERROR;
}

void desk_input_from_post(struct arena *a, const struct store_post *p,
                          struct desk_post_input *in)
{
    int64_t *aids, *tids;
    char *tags = arena_strdup(a, "");
    const char *section = "";

    keep_lists(a, p, &aids, &tids);
    for (size_t i = 0; i < p->ntags; i++) {
        if (i == 0 && p->tags[i].kind == STORE_TAG_SECTION)
            section = p->tags[i].slug;
        else
            tags = arena_printf(a, "%s%s%s", tags, *tags ? ", " : "",
                                p->tags[i].name);
    }
    memset(in, 0, sizeof *in);
    in->id = p->id;
    in->title = p->title;
    in->standfirst = p->standfirst;
    in->slug = p->slug;
    in->markdown = p->markdown;
    in->section = section;
    in->tags = tags;
    in->author_ids = aids;
    in->nauthors = p->nauthors;
    in->feature_image_id = p->feature_image_id;
    in->feature_alt = p->feature_alt;
    in->feature_caption = p->feature_caption;
    in->feature_credit = p->feature_credit;
    in->meta_title = p->meta_title ? p->meta_title : "";
    in->meta_description = p->meta_description ? p->meta_description : "";
    in->pick = -1;
    in->featured = -1;
    in->publish_at = p->status == STORE_POST_SCHEDULED ? p->published_at : 0;
}

int desk_revision_restore(struct store *st, struct arena *a,
                          const struct desk_actor *who, int64_t post_id,
                          int64_t rev_id, int64_t now, unsigned wpm, char *err,
                          size_t errlen)
{
    struct store_post p;
    struct store_revision r;
    struct desk_post_input in = {0};
    int rc = store_post_get(st, a, post_id, &p);

    if (rc == STORE_OK)
        rc = store_revision_get(st, a, rev_id, &r);
    if (rc == STORE_NOTFOUND || (rc == STORE_OK && r.post_id != post_id)) {
        snprintf(err, errlen, "There is no such revision of post %lld.",
                 (long long)post_id);
        return DESK_NOTFOUND;
    }
    if (rc != STORE_OK)
        return DESK_ERROR;
    /* everything as it is, but the revision's text */
    desk_input_from_post(a, &p, &in);
    in.title = r.title;
    in.standfirst = r.standfirst;
    in.markdown = r.markdown;
    return desk_post_save(st, a, who, &in, DESK_SAVE, now, wpm, NULL, err,
                          errlen);
}

int desk_picks_set(struct store *st, struct arena *a,
                   const struct desk_actor *who, const int64_t *ids, size_t n,
                   int64_t now, char *err, size_t errlen)
{
    struct store_post p;

    if (!desk_can(who, DESK_PICKS, NULL))
        return forbidden(err, errlen, "choose Editors' Picks");
    if (n > BOUND_PICKS) {
        snprintf(err, errlen, "Choose at most %d Editors' Picks.", BOUND_PICKS);
        return DESK_INVALID;
    }
    for (size_t i = 0; i < n; i++) {
        int rc = store_post_get(st, a, ids[i], &p);
        if (rc == STORE_NOTFOUND ||
            (rc == STORE_OK && p.status != STORE_POST_PUBLISHED)) {
            snprintf(err, errlen,
                     "Post %lld is not a published article; only those can "
                     "be picks.",
                     (long long)ids[i]);
            return DESK_INVALID;
        }
        if (rc != STORE_OK)
            return DESK_ERROR;
        for (size_t j = 0; j < i; j++)
            if (ids[j] == ids[i]) {
                snprintf(err, errlen, "'%s' is listed twice.", p.title);
                return DESK_INVALID;
            }
    }
    if (store_tx_begin(st) != STORE_OK)
        return DESK_ERROR;
    if (store_picks_set(st, ids, n) != STORE_OK) {
        store_tx_rollback(st);
        return DESK_ERROR;
    }
    desk_audit(st, a, who, now, "picks.set", arena_printf(a, "%zu picks", n),
               NULL);
    return store_tx_commit(st) == STORE_OK ? DESK_OK : DESK_ERROR;
}

int desk_tag_save(struct store *st, struct arena *a,
                  const struct desk_actor *who, struct store_tag *t, char *err,
                  size_t errlen)
{
    int rc;

    if (!desk_can(who, DESK_TAGS, NULL))
        return forbidden(err, errlen, "manage tags and sections");
    if ((rc = check_text("The name", t->name, 100, 0, err, errlen)) ||
        (rc = check_text("The description", t->description, BOUND_FIELD_LEN, 1,
                         err, errlen)))
        return rc;
    if (!t->name || !*str_trim(arena_strdup(a, t->name))) {
        snprintf(err, errlen, "A tag needs a name.");
        return DESK_INVALID;
    }
    if (!t->slug || !*t->slug)
        t->slug = str_slugify(a, t->name, 60);
    if (!t->slug || !str_slug_valid(t->slug)) {
        snprintf(err, errlen,
                 "The slug may use only lower-case letters, "
                 "digits and single hyphens.");
        return DESK_INVALID;
    }
    t->description = nz(t->description);
    rc = store_tag_save(st, t);
    if (rc == STORE_CONFLICT) {
        snprintf(err, errlen,
                 "The slug '%s' is already used by another tag "
                 "or section.",
                 t->slug);
        return DESK_CONFLICT;
    }
    return rc == STORE_OK ? DESK_OK : DESK_ERROR;
}

int desk_live_save(struct store *st, struct arena *a,
                   const struct desk_actor *who, int64_t id,
                   const char *headline, const char *body, const char *link,
                   int key, int delete_it, int64_t now, char *err,
                   size_t errlen)
{
    struct live_input in = {headline, body, link, key};
    struct store_live lu;
    int rc;

    if (!desk_can(who, DESK_LIVE, NULL))
        return forbidden(err, errlen, "post or change live updates");
    if (id) {
        rc = store_live_get(st, a, id, &lu);
        if (rc == STORE_NOTFOUND) {
            snprintf(err, errlen, "There is no live update %lld.",
                     (long long)id);
            return DESK_NOTFOUND;
        }
        if (rc != STORE_OK)
            return DESK_ERROR;
    }
    if (delete_it) {
        if (live_delete(st, id, err, errlen) < 0)
            return DESK_ERROR;
        desk_audit(st, a, who, now, "live.delete",
                   arena_printf(a, "live update %lld", (long long)id),
                   lu.headline);
        return DESK_OK;
    }
    if (live_validate(st, a, &in, err, errlen) < 0)
        return DESK_INVALID;
    rc = id ? live_edit(st, id, &in, now, err, errlen)
            : live_post(st, &in, now, NULL, err, errlen);
    return rc < 0 ? DESK_ERROR : DESK_OK;
}

/* ---- staff -------------------------------------------------------------- */

int desk_staff_invite(struct store *st, struct arena *a,
                      const struct desk_actor *who, const char *email,
                      const char *name, const char *role, int64_t now,
                      char token[SESSION_TOKEN_HEX + 1], char *err,
                      size_t errlen)
{
    char norm[STAFF_EMAIL_MAX + 1], pw[65];
    unsigned char r[32];
    enum staff_role rl;
    struct store_staff s;
    int64_t id;

    if (!desk_can(who, DESK_STAFF, NULL))
        return forbidden(err, errlen, "manage staff accounts");
    if (staff_email_normalise(email ? email : "", norm, sizeof norm, err,
                              errlen) < 0 ||
        staff_name_check(name ? name : "", err, errlen) < 0)
        return DESK_INVALID;
    if (staff_role_parse(role, &rl) < 0) {
        snprintf(err, errlen,
                 "Choose a role: contributor, author, editor or "
                 "administrator.");
        return DESK_INVALID;
    }
    if (store_staff_get_by_email(st, a, norm, &s) == STORE_OK) {
        snprintf(err, errlen, "There is already an account for %s.", norm);
        return DESK_CONFLICT;
    }
    /* a password nobody knows until the invitation link sets one */
    randombytes_buf(r, sizeof r);
    sodium_bin2hex(pw, sizeof pw, r, sizeof r);
    if (staff_add(st, norm, name, rl, pw, &id, err, errlen) < 0)
        return DESK_ERROR;
    if (store_staff_get(st, a, id, &s) != STORE_OK)
        return DESK_ERROR;
    s.disabled = 1;
    if (store_staff_save(st, &s) != STORE_OK ||
        session_link_create(st, id, "invite", now, token) < 0)
        return DESK_ERROR;
    desk_audit(st, a, who, now, "staff.invite",
               arena_printf(a, "staff %lld <%s>", (long long)id, norm),
               arena_printf(a, "role %s", staff_role_name(rl)));
    return DESK_OK;
}

/* Loads account id for an administrator's change. */
static int staff_for_change(struct store *st, struct arena *a,
                            const struct desk_actor *who, int64_t id,
                            struct store_staff *s, char *err, size_t errlen)
{
    if (!desk_can(who, DESK_STAFF, NULL))
        return forbidden(err, errlen, "manage staff accounts");
    int rc = store_staff_get(st, a, id, s);
    if (rc == STORE_NOTFOUND) {
        snprintf(err, errlen, "There is no account %lld.", (long long)id);
        return DESK_NOTFOUND;
    }
    return rc == STORE_OK ? 0 : DESK_ERROR;
}

int desk_staff_update(struct store *st, struct arena *a,
                      const struct desk_actor *who, int64_t id,
                      const char *role, int disabled, int64_t now, char *err,
                      size_t errlen)
{
    struct store_staff s;
    enum staff_role rl;
    int rc = staff_for_change(st, a, who, id, &s, err, errlen);

    if (rc)
        return rc;
    if (staff_role_parse(role, &rl) < 0) {
        snprintf(err, errlen,
                 "Choose a role: contributor, author, editor or "
                 "administrator.");
        return DESK_INVALID;
    }
    if (id == who->staff_id &&
        (rl != who->role || (disabled != 0) != (s.disabled != 0))) {
        snprintf(err, errlen,
                 "You cannot change your own role or disable "
                 "your own account; ask another "
                 "administrator.");
        return DESK_INVALID;
    }
    const char *old_role = s.role;
    int was_disabled = s.disabled;
    s.role = staff_role_name(rl);
    s.disabled = disabled ? 1 : 0;
    if (store_staff_save(st, &s) != STORE_OK)
        return DESK_ERROR;
    const char *target =
        arena_printf(a, "staff %lld <%s>", (long long)id, s.email);
    if (strcmp(old_role, s.role) != 0)
        desk_audit(st, a, who, now, "staff.role", target,
                   arena_printf(a, "%s -> %s", old_role, s.role));
    if (was_disabled != s.disabled) {
        desk_audit(st, a, who, now,
                   s.disabled ? "staff.disable" : "staff.enable", target, NULL);
        if (s.disabled)
            session_signout_all(st, id, NULL);
    }
    return DESK_OK;
}

int desk_staff_reset(struct store *st, struct arena *a,
                     const struct desk_actor *who, int64_t id, int64_t now,
                     char token[SESSION_TOKEN_HEX + 1], char *err,
                     size_t errlen)
{
    struct store_staff s;
    int rc = staff_for_change(st, a, who, id, &s, err, errlen);

    if (rc)
        return rc;
    if (session_link_create(st, id, "reset", now, token) < 0 ||
        session_signout_all(st, id, NULL) < 0)
        return DESK_ERROR;
    desk_audit(st, a, who, now, "staff.reset",
               arena_printf(a, "staff %lld <%s>", (long long)id, s.email),
               NULL);
    return DESK_OK;
}
