/*
 * store_sql.h - what the two SQL backends (store_sqlite*.c, store_pg*.c)
 * share; internal to src/store/.
 *
 * The column lists of the shared row shapes (so one set of column
 * numbers serves both backends' row readers), the ids of the statements
 * every connection prepares, the posts-list filters, and the text the
 * tables keep for enum store_post_status and enum store_tag_kind. SQL
 * that differs between the databases (placeholders, collation) stays in
 * each backend.
 */
#ifndef STORE_STORE_SQL_H
#define STORE_STORE_SQL_H

#include <stddef.h>
#include <string.h>

#include "store/store.h"

#define IMAGE_COLS(t)                                                          \
    t ".id, " t ".name, " t ".width, " t ".height, " t ".widths, " t           \
      ".formats, " t ".alt"
#define NIMAGE_COLS 7

/* Post columns without and with the body (the body comes last). */
#define POST_COLS                                                              \
    "p.id, p.slug, p.title, p.standfirst, p.excerpt, p.meta_title, "           \
    "p.meta_description, p.language, p.status, p.featured, p.pick_order, "     \
    "p.words, p.reading_minutes, p.feature_image_id, p.feature_alt, "          \
    "p.feature_caption, p.feature_credit, p.created_at, p.published_at, "      \
    "p.updated_at, " IMAGE_COLS("fi") ", p.narration_off"
#define POST_BODY_COLS ", p.markdown, p.html, p.plaintext"
#define POST_FROM                                                              \
    " FROM posts p LEFT JOIN images fi ON fi.id = p.feature_image_id"
#define COL_POST_IMAGE 20         /* first image column in POST_COLS */
#define COL_POST_NARRATION_OFF 27 /* narration_off (schema 006) */
#define COL_POST_BODY 28          /* first body column */

#define AUTHOR_COLS                                                            \
    "a.id, a.slug, a.name, a.role, a.email, a.location, a.bio, "               \
    "a.avatar_id, " IMAGE_COLS("i")
#define AUTHOR_FROM " FROM authors a LEFT JOIN images i ON i.id = a.avatar_id"
#define COL_AUTHOR_IMAGE 8

#define TAG_COLS "t.id, t.slug, t.name, t.description, t.kind, t.position"

#define LIVE_COLS "id, at, updated_at, headline, body, html, link_slug, is_key"
#define NEWSLETTER_COLS                                                        \
    "id, slug, name, description, sender_name, sender_email, author_id, "      \
    "active, position"

#define STAFF_COLS                                                             \
    "id, email, name, role, password_hash, author_id, created_at, disabled"

/* The fixed statements of a connection, by id; each backend has their
 * SQL (stmt_sql in store_sqlite.c, stmt_defs in store_pg.c). */
enum store_sql_stmt {
    S_BEGIN,
    S_BEGIN_READ,
    S_COMMIT,
    S_ROLLBACK,
    S_SAVEPOINT,
    S_RELEASE,
    S_ROLLBACK_TO,
    S_SCHEMA_VERSION,
    S_SETTING_GET,
    S_SETTING_SET,
    S_SETTING_DEL,
    S_POST_INSERT,
    S_POST_UPDATE,
    S_POST_BY_SLUG,
    S_POST_BY_ID,
    S_POST_AUTHORS_DEL,
    S_POST_AUTHOR_ADD,
    S_POST_TAGS_DEL,
    S_POST_TAG_ADD,
    S_POSTS_AUTHORS,
    S_POSTS_TAGS,
    S_CORRECTION_ADD,
    S_CORRECTIONS,
    S_AUTHOR_INSERT,
    S_AUTHOR_UPDATE,
    S_AUTHOR_BY_SLUG,
    S_AUTHORS,
    S_TAG_INSERT,
    S_TAG_UPDATE,
    S_TAG_BY_SLUG,
    S_TAGS,
    S_IMAGE_INSERT,
    S_IMAGE_UPDATE,
    S_IMAGE_GET,
    S_IMAGE_BY_NAME,
    S_LIVE_INSERT,
    S_LIVE_UPDATE,
    S_LIVE_DELETE,
    S_LIVE_LATEST,
    S_LIVE_BEFORE,
    S_LIVE_GET,
    S_LIVE_EVENTS,
    S_LIVE_LAST_SEQ,
    S_NEWSLETTER_INSERT,
    S_NEWSLETTER_UPDATE,
    S_NEWSLETTERS,
    S_STAFF_INSERT,
    S_STAFF_UPDATE,
    S_STAFF_BY_EMAIL,
    S_STAFF_BY_ID,
    S_STAFF_LIST,
    S__MAX
};

/* store_posts_list filters: one bit each in the statement cache index. */
enum store_sql_filter {
    F_STATUS,
    F_TAG,
    F_AUTHOR,
    F_FEATURED,
    F_PICKS,
    F_BEFORE,
    F_EXCLUDE,
    F_TITLE,      /* title_search */
    F_DESK_ORDER, /* not a filter: desk_order's ORDER BY */
    F__MAX
};
#define LIST_SHAPES (1u << F__MAX) /* filter combinations */

/* The text stored for status, NULL when it is not a status. */
static inline const char *store_sql_status_name(int status)
{
    static const char *const names[] = {
        [STORE_POST_DRAFT] = "draft",
        [STORE_POST_SCHEDULED] = "scheduled",
        [STORE_POST_PUBLISHED] = "published",
    };

    return status >= STORE_POST_DRAFT && status <= STORE_POST_PUBLISHED
               ? names[status]
               : NULL;
}

/* The status stored as text s; STORE_POST_DRAFT for NULL or unknown. */
static inline enum store_post_status store_sql_status_parse(const char *s)
{
    enum store_post_status status = STORE_POST_DRAFT;

    for (int i = 0; s && i <= STORE_POST_PUBLISHED; i++)
        if (strcmp(s, store_sql_status_name(i)) == 0)
            status = (enum store_post_status)i;
    return status;
}

/* The text stored for kind, NULL when it is not a tag kind. */
static inline const char *store_sql_kind_name(int kind)
{
    return kind == STORE_TAG_TAG       ? "tag"
           : kind == STORE_TAG_SECTION ? "section"
                                       : NULL;
}

/* --- mail (store_sqlite_mail.c, store_pg_mail.c) ------------------------- */

/* A subscription with its subscriber's email and newsletter's slug: FROM
 * SUB_FROM, columns in struct store_subscription's order. */
#define SUB_COLS                                                               \
    "s.id, s.subscriber_id, s.newsletter_id, s.state, s.token, "               \
    "s.created_at, s.confirmed_at, sb.email, n.slug"
#define SUB_FROM                                                               \
    " FROM subscriptions s JOIN subscribers sb ON sb.id = s.subscriber_id "    \
    "JOIN newsletters n ON n.id = s.newsletter_id "
#define SEND_COLS                                                              \
    "id, newsletter_id, post_id, digest, subject, created_by, created_at, "    \
    "total"

#define SUB_SEARCH_LIMIT 50 /* rows when store_subscriptions_search asks 0 */
#define SENDS_LIMIT 20      /* rows when store_sends_list asks for 0 */
#define DAILY_MAX 366       /* days store_subscription_daily counts at most */
#define DAY_SECONDS 86400

/* The text stored for a subscription state, NULL when it is not one. */
static inline const char *store_sql_sub_state_name(int state)
{
    return state == STORE_SUB_PENDING        ? "pending"
           : state == STORE_SUB_ACTIVE       ? "active"
           : state == STORE_SUB_UNSUBSCRIBED ? "unsubscribed"
                                             : NULL;
}

/* The state stored as text s; -1 for NULL or unknown. */
static inline int store_sql_sub_state_parse(const char *s)
{
    for (int i = 0; s && i <= STORE_SUB_UNSUBSCRIBED; i++)
        if (strcmp(s, store_sql_sub_state_name(i)) == 0)
            return i;
    return -1;
}

/* --- narrations (store_sqlite_audio.c, store_pg_audio.c) ---------------- */

/* A narration's columns, in struct store_narration's order; n is the
 * table's alias. */
#define NARRATION_COLS                                                         \
    "n.id, n.post_id, n.source_hash, n.file, n.duration_ms, n.bytes, "         \
    "n.voice, n.state, n.error, n.created_at"
#define NNARRATION_COLS 10
#define EPISODES_LIMIT 50   /* rows when store_episodes asks for 0 */
#define UNNARRATED_LIMIT 50 /* rows when store_posts_unnarrated asks 0 */

/* The text stored for a narration state, NULL when it is not one. */
static inline const char *store_sql_nar_state_name(int state)
{
    return state == STORE_NARRATION_PENDING  ? "pending"
           : state == STORE_NARRATION_READY  ? "ready"
           : state == STORE_NARRATION_FAILED ? "failed"
                                             : NULL;
}

/* The state stored as text s; STORE_NARRATION_PENDING for NULL or
 * unknown. */
static inline enum store_narration_state
store_sql_nar_state_parse(const char *s)
{
    for (int i = 0; s && i <= STORE_NARRATION_FAILED; i++)
        if (strcmp(s, store_sql_nar_state_name(i)) == 0)
            return (enum store_narration_state)i;
    return STORE_NARRATION_PENDING;
}

#endif
