/*
 * newsletter.h - the newsroom's rules for newsletters: signed links,
 * double opt-in sign-up, confirmation, preferences, one-click
 * unsubscribe, sends to every active subscriber, and subscriber CSV
 * import/export. Delivery itself is jobs/mail_job.c's (the outbox).
 *
 * DESIGN
 * - Links in mail are signed, not stored: a token is the text
 *   "KIND.SUBSCRIBER.NEWSLETTER.EXPIRES" and a keyed hash of it
 *   (crypto_auth, HMAC-SHA-512-256) under the site's mail secret, kept in
 *   the settings table and made once (store_setting_init), so any node can
 *   check any link. Confirmation links expire (NL_CONFIRM_TTL_S);
 *   preference and unsubscribe links do not, because unsubscribing from an
 *   old email must keep working (RFC 8058).
 * - Sign-up never tells whether an address is already subscribed: the
 *   answer is the same; only the mailbox owner learns more.
 * - Exactly once: a send makes one outbox row per active subscription in
 *   one transaction, unique per (send, subscriber) (store_send_create).
 *
 * Knows nothing of HTTP or SMTP.
 */
#ifndef CONTENT_NEWSLETTER_H
#define CONTENT_NEWSLETTER_H

#include <stddef.h>
#include <stdint.h>

#include "content/session.h"
#include "store/store.h"

struct arena;

#define NL_CONFIRM_TTL_S (48 * 3600) /* a confirmation link lasts this */
#define NL_PURGE_AFTER_S (72 * 3600) /* unconfirmed sign-ups purged after */
#define NL_SIGNUP_PER_ADDRESS 5      /* sign-ups per email per hour */
#define NL_SIGNUP_PER_IP 30          /* sign-ups per network address per hour */
#define NL_CONFIRM_EVERY_S                                                     \
    600                  /* at most one confirmation mail per                  \
                            subscription in this window */
#define NL_DIGEST_MAX 20 /* articles in a digest, at most */
#define NL_TOKEN_MAX 160 /* bytes of a link token */

enum nl_link {
    NL_LINK_CONFIRM = 'c', /* confirms one subscription; expires */
    NL_LINK_PREFS = 'p',   /* the preferences page of a subscriber */
    NL_LINK_UNSUB = 'u',   /* unsubscribes from one newsletter */
};

/* A signed token (in a) for kind, subscriber, newsletter (0 for PREFS),
 * valid until expires (0 = for ever). NULL when the secret cannot be
 * read (logged). */
const char *nl_link_make(struct store *st, struct arena *a, enum nl_link kind,
                         int64_t subscriber_id, int64_t newsletter_id,
                         int64_t expires);
/* Checks token as a kind link at now: 0 with the ids, or -1 (forged,
 * malformed, another kind or expired). */
int nl_link_check(struct store *st, struct arena *a, const char *token,
                  enum nl_link kind, int64_t now, int64_t *subscriber_id,
                  int64_t *newsletter_id);

enum nl_rc {
    NL_OK = 0,
    NL_BAD_EMAIL = -1, /* "Please enter a correct email address" */
    NL_LIMITED = -2,   /* too many sign-ups; err says when to retry */
    NL_NOTFOUND = -3,  /* no such (active) newsletter / post / link */
    NL_INVALID = -4,   /* other bad input; err says */
    NL_FORBIDDEN = -5, /* the role does not allow it */
    NL_ERROR = -6,     /* the store failed (logged) */
};

/* A reader signs email up for newsletter slug from ip at now: the
 * subscription becomes pending (unless already active) and a confirmation
 * mail is queued. Same result whether or not the address was known. */
int nl_signup(struct store *st, struct arena *a, const char *slug,
              const char *email, const char *ip, int64_t now, char *err,
              size_t errlen);

/* Confirms the subscription a confirmation token names: it becomes
 * active. *nl (strings in a) gets the newsletter. */
int nl_confirm(struct store *st, struct arena *a, const char *token,
               int64_t now, struct store_newsletter *nl);

/* One-click unsubscribe (RFC 8058) with an unsubscribe token; *nl gets the
 * newsletter. Repeating it is fine. */
int nl_unsubscribe(struct store *st, struct arena *a, const char *token,
                   int64_t now, struct store_newsletter *nl);

/* The preferences page: the subscriber a PREFS token names, every active
 * newsletter and whether the subscriber gets it. */
struct nl_pref {
    struct store_newsletter nl;
    int subscribed; /* 1 = active */
};
int nl_prefs_load(struct store *st, struct arena *a, const char *token,
                  struct store_subscriber *who, struct nl_pref **out,
                  size_t *n);
/* Saves the choice: exactly the newsletters in slugs[0..n) are active
 * (newly chosen ones at once: the reader proved the address by opening
 * the link), the others unsubscribed. */
int nl_prefs_save(struct store *st, struct arena *a, const char *token,
                  const char *const *slugs, size_t n, int64_t now);

/* Sends an issue of newsletter slug: the published post post_slug, or a
 * digest of the latest digest articles (post_slug NULL), to every active
 * subscriber, as who (NULL = the command line; else editors and
 * administrators only). *send gets the send (its total = recipients). */
int nl_send(struct store *st, struct arena *a, const struct desk_actor *who,
            const char *slug, const char *post_slug, unsigned digest,
            int64_t now, struct store_send *send, char *err, size_t errlen);

/* Newsletter fields checked for the desk (administrators): slug, name,
 * sender. 0 or NL_INVALID / NL_FORBIDDEN / NL_ERROR with err; saves. */
int nl_newsletter_save(struct store *st, struct arena *a,
                       const struct desk_actor *who,
                       struct store_newsletter *nl, char *err, size_t errlen);

/* CSV of subscriptions (email,newsletter,state,subscribed_at,confirmed_at)
 * for newsletter_id (0 = all), RFC 4180, formula-looking cells prefixed
 * with ' so spreadsheets do not run them. malloc'd into *out. */
int nl_export_csv(struct store *st, struct arena *a, int64_t newsletter_id,
                  char **out, size_t *len);

/* Imports len bytes of CSV (header row email[,newsletter[,state]]): each
 * good row becomes an active subscription (or pending with a
 * confirmation mail when confirm), to default_slug when the row names no
 * newsletter. Bad rows are skipped and reported in report (in a:
 * "line 4: not an email address 'x'"), never abort the rest.
 * *added counts rows taken. */
int nl_import_csv(struct store *st, struct arena *a,
                  const struct desk_actor *who, const char *csv, size_t len,
                  const char *default_slug, int confirm, int64_t now,
                  size_t *added, const char **report, char *err, size_t errlen);

#endif
