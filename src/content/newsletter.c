/*
 * newsletter.c - sign-up, confirmation, preferences, unsubscribe, sends
 * and CSV for newsletters; see newsletter.h.
 */
#include "content/newsletter.h"

#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "content/desk.h"
#include "core/arena.h"
#include "core/buf.h"
#include "core/log.h"
#include "core/str.h"
#include "mail/mail.h"

#define SECRET_KEY "mail_secret" /* settings key of the link secret */

/* ---- signed links ----------------------------------------------------------
 */

/* The site's link key (made once, shared by every node) into key. */
static int link_key(struct store *st, struct arena *a,
                    unsigned char key[crypto_auth_KEYBYTES])
{
    unsigned char fresh[crypto_auth_KEYBYTES];
    char hex[2 * crypto_auth_KEYBYTES + 1];
    const char *have = NULL;
    size_t n = 0;

    if (staff_crypto_init() < 0)
        return -1;
    crypto_auth_keygen(fresh);
    sodium_bin2hex(hex, sizeof hex, fresh, sizeof fresh);
    if (store_setting_init(st, a, SECRET_KEY, hex, &have) != STORE_OK ||
        !have ||
        sodium_hex2bin(key, crypto_auth_KEYBYTES, have, strlen(have), NULL, &n,
                       NULL) != 0 ||
        n != crypto_auth_KEYBYTES) {
        log_error("cannot read the mail link secret");
        return -1;
    }
    return 0;
}

const char *nl_link_make(struct store *st, struct arena *a, enum nl_link kind,
                         int64_t subscriber_id, int64_t newsletter_id,
                         int64_t expires)
{
    unsigned char key[crypto_auth_KEYBYTES], mac[crypto_auth_BYTES];
    char b64[sodium_base64_ENCODED_LEN(
        crypto_auth_BYTES, sodium_base64_VARIANT_URLSAFE_NO_PADDING)];

    if (link_key(st, a, key) < 0)
        return NULL;
    const char *payload =
        arena_printf(a, "%c.%" PRId64 ".%" PRId64 ".%" PRId64, (char)kind,
                     subscriber_id, newsletter_id, expires);
    crypto_auth(mac, (const unsigned char *)payload, strlen(payload), key);
    sodium_bin2base64(b64, sizeof b64, mac, sizeof mac,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_memzero(key, sizeof key);
    return arena_printf(a, "%s.%s", payload, b64);
}

int nl_link_check(struct store *st, struct arena *a, const char *token,
                  enum nl_link kind, int64_t now, int64_t *subscriber_id,
                  int64_t *newsletter_id)
{
    unsigned char key[crypto_auth_KEYBYTES], mac[crypto_auth_BYTES];
    char k;
    long long sub, nl, exp;
    int used = 0;
    size_t maclen = 0;

    if (!token || strlen(token) > NL_TOKEN_MAX ||
        sscanf(token, "%c.%lld.%lld.%lld.%n", &k, &sub, &nl, &exp, &used) !=
            4 ||
        used == 0 || k != (char)kind || sub <= 0 || nl < 0 || exp < 0)
        return -1;
    if (sodium_base642bin(mac, sizeof mac, token + used, strlen(token + used),
                          NULL, &maclen, NULL,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
        maclen != sizeof mac || link_key(st, a, key) < 0)
        return -1;
    int ok = crypto_auth_verify(mac, (const unsigned char *)token,
                                (unsigned long long)(used - 1), key) == 0;
    sodium_memzero(key, sizeof key);
    if (!ok || (exp && exp <= now))
        return -1;
    /* the payload must be exactly what nl_link_make prints */
    const char *again = arena_printf(a, "%c.%lld.%lld.%lld.", k, sub, nl, exp);
    if (strncmp(again, token, (size_t)used) != 0)
        return -1;
    *subscriber_id = sub;
    *newsletter_id = nl;
    return 0;
}

/* Asks a job worker (any node) to deliver the outbox now; one such job
 * queued at a time is enough (the unique key absorbs the rest). */
static void wake_delivery(struct store *st)
{
    store_job_add(st, "mail_outbox", "", 0, "mail_outbox:queued", NULL);
}

/* ---- sign-up and confirmation ------------------------------------------- */

/* A random token for the subscriptions.token column (unique). */
static const char *row_token(struct arena *a)
{
    char tok[SESSION_TOKEN_HEX + 1], hash[SESSION_TOKEN_HEX + 1];

    session_new_token(tok, hash);
    return arena_strdup(a, hash);
}

int nl_signup(struct store *st, struct arena *a, const char *slug,
              const char *email, const char *ip, int64_t now, char *err,
              size_t errlen)
{
    char addr[256], why[200];
    struct store_newsletter nl;
    struct store_subscription sub;
    unsigned n = 0;
    int64_t sid;

    if (!email ||
        mail_address_check(email, addr, sizeof addr, why, sizeof why) < 0) {
        snprintf(err, errlen, "Please enter a correct email address");
        return NL_BAD_EMAIL;
    }
    if (!slug || !str_slug_valid(slug) ||
        store_newsletter_get_by_slug(st, a, slug, &nl) != STORE_OK ||
        !nl.active) {
        snprintf(err, errlen, "There is no such newsletter.");
        return NL_NOTFOUND;
    }
    if (store_rate_hit(st, arena_printf(a, "signup:address:%s", addr), now,
                       3600, &n) != STORE_OK)
        return NL_ERROR;
    if (n > NL_SIGNUP_PER_ADDRESS) {
        snprintf(err, errlen,
                 "Too many sign-ups for this address. Please "
                 "try again in an hour.");
        return NL_LIMITED;
    }
    if (store_rate_hit(st, arena_printf(a, "signup:ip:%s", ip ? ip : ""), now,
                       3600, &n) != STORE_OK)
        return NL_ERROR;
    if (n > NL_SIGNUP_PER_IP) {
        snprintf(err, errlen,
                 "Too many sign-ups from your network. Please "
                 "try again in an hour.");
        return NL_LIMITED;
    }
    if (store_subscriber_upsert(st, addr, now, &sid) != STORE_OK ||
        store_subscription_request(st, a, sid, nl.id, now, row_token(a),
                                   &sub) != STORE_OK)
        return NL_ERROR;
    if (sub.state != STORE_SUB_PENDING)
        return NL_OK; /* already active: nothing to confirm */
    /* one confirmation mail per subscription per window */
    int rc = store_outbox_add(st,
                              arena_printf(a, "confirm:%" PRId64 ":%" PRId64,
                                           nl.id, now / NL_CONFIRM_EVERY_S),
                              sid, now);
    if (rc == STORE_OK)
        wake_delivery(st);
    return rc == STORE_OK || rc == STORE_CONFLICT ? NL_OK : NL_ERROR;
}

int nl_confirm(struct store *st, struct arena *a, const char *token,
               int64_t now, struct store_newsletter *nl)
{
    int64_t sid, nid;

    if (nl_link_check(st, a, token, NL_LINK_CONFIRM, now, &sid, &nid) < 0 ||
        store_newsletter_get(st, a, nid, nl) != STORE_OK)
        return NL_NOTFOUND;
    int rc = store_subscription_set(st, sid, nid, STORE_SUB_ACTIVE, now,
                                    row_token(a));
    return rc == STORE_OK         ? NL_OK
           : rc == STORE_NOTFOUND ? NL_NOTFOUND
                                  : NL_ERROR;
}

int nl_unsubscribe(struct store *st, struct arena *a, const char *token,
                   int64_t now, struct store_newsletter *nl)
{
    int64_t sid, nid;

    if (nl_link_check(st, a, token, NL_LINK_UNSUB, now, &sid, &nid) < 0 ||
        store_newsletter_get(st, a, nid, nl) != STORE_OK)
        return NL_NOTFOUND;
    int rc =
        store_subscription_set(st, sid, nid, STORE_SUB_UNSUBSCRIBED, now, NULL);
    return rc == STORE_OK || rc == STORE_NOTFOUND ? NL_OK : NL_ERROR;
}

/* ---- preferences ----------------------------------------------------------
 */

int nl_prefs_load(struct store *st, struct arena *a, const char *token,
                  struct store_subscriber *who, struct nl_pref **out, size_t *n)
{
    struct store_newsletter *all = NULL;
    struct store_subscription *subs = NULL;
    size_t nall = 0, nsubs = 0;
    int64_t sid, unused;

    if (nl_link_check(st, a, token, NL_LINK_PREFS, 0, &sid, &unused) < 0 ||
        store_subscriber_get(st, a, sid, who) != STORE_OK)
        return NL_NOTFOUND;
    if (store_newsletters_list(st, a, 1, &all, &nall) != STORE_OK ||
        store_subscriptions_of(st, a, sid, &subs, &nsubs) != STORE_OK)
        return NL_ERROR;
    *out = arena_zalloc(a, (nall + 1) * sizeof **out);
    for (size_t i = 0; i < nall; i++) {
        (*out)[i].nl = all[i];
        for (size_t j = 0; j < nsubs; j++)
            if (subs[j].newsletter_id == all[i].id &&
                subs[j].state == STORE_SUB_ACTIVE)
                (*out)[i].subscribed = 1;
    }
    *n = nall;
    return NL_OK;
}

int nl_prefs_save(struct store *st, struct arena *a, const char *token,
                  const char *const *slugs, size_t n, int64_t now)
{
    struct store_subscriber who;
    struct nl_pref *prefs = NULL;
    size_t np = 0;
    int rc = nl_prefs_load(st, a, token, &who, &prefs, &np);

    if (rc != NL_OK)
        return rc;
    if (store_tx_begin(st) != STORE_OK)
        return NL_ERROR;
    for (size_t i = 0; i < np; i++) {
        int want = 0;
        for (size_t j = 0; j < n; j++)
            want |= strcmp(slugs[j], prefs[i].nl.slug) == 0;
        if (want == prefs[i].subscribed)
            continue;
        rc = store_subscription_set(st, who.id, prefs[i].nl.id,
                                    want ? STORE_SUB_ACTIVE
                                         : STORE_SUB_UNSUBSCRIBED,
                                    now, row_token(a));
        if (rc != STORE_OK && rc != STORE_NOTFOUND) {
            store_tx_rollback(st);
            return NL_ERROR;
        }
    }
    return store_tx_commit(st) == STORE_OK ? NL_OK : NL_ERROR;
}

/* ---- sends ----------------------------------------------------------------
 */

int nl_send(struct store *st, struct arena *a, const struct desk_actor *who,
            const char *slug, const char *post_slug, unsigned digest,
            int64_t now, struct store_send *send, char *err, size_t errlen)
{
    struct store_newsletter nl;
    struct store_post p;

    if (who && who->role < STAFF_EDITOR) {
        snprintf(err, errlen,
                 "Only editors and administrators send "
                 "newsletters.");
        return NL_FORBIDDEN;
    }
    if (!slug || !str_slug_valid(slug) ||
        store_newsletter_get_by_slug(st, a, slug, &nl) != STORE_OK) {
        snprintf(err, errlen, "There is no newsletter '%.80s'.",
                 slug ? slug : "");
        return NL_NOTFOUND;
    }
    memset(send, 0, sizeof *send);
    send->newsletter_id = nl.id;
    send->created_by = who ? who->staff_id : 0;
    send->created_at = now;
    if (post_slug && *post_slug) {
        if (!str_slug_valid(post_slug) ||
            store_post_get_by_slug(st, a, post_slug, &p) != STORE_OK ||
            p.status != STORE_POST_PUBLISHED) {
            snprintf(err, errlen, "There is no published article '%.120s'.",
                     post_slug);
            return NL_NOTFOUND;
        }
        send->post_id = p.id;
        send->subject = p.title;
    } else {
        if (digest < 1 || digest > NL_DIGEST_MAX) {
            snprintf(err, errlen,
                     "Choose an article, or a digest of 1 to %d articles.",
                     NL_DIGEST_MAX);
            return NL_INVALID;
        }
        send->digest = digest;
        send->subject =
            arena_printf(a, "%s: the latest %u articles", nl.name, digest);
    }
    if (store_send_create(st, send) != STORE_OK)
        return NL_ERROR;
    wake_delivery(st);
    if (who)
        desk_audit(
            st, a, who, now, "newsletter.send",
            arena_printf(a, "send %" PRId64 " of '%s'", send->id, nl.slug),
            arena_printf(a, "%zu recipients: %s", send->total, send->subject));
    return NL_OK;
}

int nl_newsletter_save(struct store *st, struct arena *a,
                       const struct desk_actor *who,
                       struct store_newsletter *nl, char *err, size_t errlen)
{
    char addr[256], why[200];

    if (!who || who->role != STAFF_ADMINISTRATOR) {
        snprintf(err, errlen, "Only administrators manage newsletters.");
        return NL_FORBIDDEN;
    }
    const char *fields[][2] = {{"name", nl->name},
                               {"description", nl->description},
                               {"sender name", nl->sender_name}};
    for (size_t i = 0; i < 3; i++) {
        const char *v = fields[i][1] ? fields[i][1] : "";
        size_t n = strlen(v);
        if (n > 500 || !str_utf8_valid(v, n)) {
            snprintf(err, errlen, "The %s is too long or not UTF-8 text.",
                     fields[i][0]);
            return NL_INVALID;
        }
        for (size_t j = 0; j < n; j++)
            if ((unsigned char)v[j] < 0x20 || v[j] == 0x7f) {
                snprintf(err, errlen, "The %s must be one line of text.",
                         fields[i][0]);
                return NL_INVALID;
            }
    }
    if (!nl->name || !*nl->name) {
        snprintf(err, errlen, "A newsletter needs a name.");
        return NL_INVALID;
    }
    if (!nl->slug || !*nl->slug)
        nl->slug = str_slugify(a, nl->name, 60);
    if (!nl->slug || !str_slug_valid(nl->slug)) {
        snprintf(err, errlen,
                 "The slug may use only lower-case letters, "
                 "digits and single hyphens.");
        return NL_INVALID;
    }
    if (!nl->sender_email ||
        mail_address_check(nl->sender_email, addr, sizeof addr, why,
                           sizeof why) < 0) {
        snprintf(err, errlen, "The sender address is not valid: %s", why);
        return NL_INVALID;
    }
    nl->sender_email = arena_strdup(a, addr);
    int rc = store_newsletter_save(st, nl);
    if (rc == STORE_CONFLICT) {
        snprintf(err, errlen, "The slug '%s' is taken by another newsletter.",
                 nl->slug);
        return NL_INVALID;
    }
    return rc == STORE_OK ? NL_OK : NL_ERROR;
}

/* ---- CSV -------------------------------------------------------------------
 */

/* Appends one CSV field (RFC 4180 quoting; a leading = + - @ gets a '
 * so spreadsheets show it as text). */
static void csv_field(struct buf *b, const char *s, int last)
{
    s = s ? s : "";
    int quote = strpbrk(s, ",\"\r\n") != NULL;
    if (quote)
        buf_add(b, "\"", 1);
    if (strchr("=+-@\t\r", s[0]) && s[0])
        buf_add(b, "'", 1);
    for (const char *c = s; *c; c++) {
        if (*c == '"')
            buf_add(b, "\"", 1);
        buf_add(b, c, 1);
    }
    if (quote)
        buf_add(b, "\"", 1);
    buf_add(b, last ? "\r\n" : ",", last ? 2 : 1);
}

static const char *state_name(enum store_sub_state s)
{
    return s == STORE_SUB_ACTIVE    ? "active"
           : s == STORE_SUB_PENDING ? "pending"
                                    : "unsubscribed";
}

int nl_export_csv(struct store *st, struct arena *a, int64_t newsletter_id,
                  char **out, size_t *len)
{
    struct buf b;
    size_t off = 0, total = 0;

    buf_init(&b, (size_t)1 << 30);
    buf_add(&b, "email,newsletter,state,subscribed_at,confirmed_at\r\n", 51);
    do {
        struct store_subscription *s = NULL;
        size_t n = 0;
        if (store_subscriptions_search(st, a, NULL, newsletter_id, -1, 1000,
                                       off, &s, &n, &total) != STORE_OK) {
            buf_release(&b);
            return NL_ERROR;
        }
        for (size_t i = 0; i < n; i++) {
            char t1[32], t2[32];
            snprintf(t1, sizeof t1, "%" PRId64, s[i].created_at);
            snprintf(t2, sizeof t2, "%" PRId64, s[i].confirmed_at);
            csv_field(&b, s[i].email, 0);
            csv_field(&b, s[i].newsletter_slug, 0);
            csv_field(&b, state_name(s[i].state), 0);
            csv_field(&b, t1, 0);
            csv_field(&b, t2, 1);
        }
        off += n;
        if (n == 0)
            break;
    } while (off < total);
    if (b.overflow) {
        buf_release(&b);
        return NL_ERROR;
    }
    *out = buf_steal(&b, len);
    return NL_OK;
}

/* Splits one CSV record at *p (RFC 4180) into up to max fields (in a);
 * advances *p past its line end. Returns the number of fields, or -1 for
 * an unterminated quote. */
static int csv_record(struct arena *a, const char **p, const char *end,
                      char **fields, int max)
{
    int n = 0;
    struct buf f;

    buf_init(&f, 4096);
    for (;;) {
        int quoted = *p < end && **p == '"';
        f.len = 0;
        if (quoted) {
            (*p)++;
            for (;;) {
                if (*p >= end) {
                    buf_release(&f);
                    return -1;
                }
                if (**p == '"') {
                    if (*p + 1 < end && (*p)[1] == '"') {
                        buf_add(&f, "\"", 1);
                        *p += 2;
                        continue;
                    }
                    (*p)++;
                    break;
                }
                buf_add(&f, *p, 1);
                (*p)++;
            }
        }
        while (*p < end && **p != ',' && **p != '\n' && **p != '\r') {
            buf_add(&f, *p, 1);
            (*p)++;
        }
        if (n < max)
            fields[n] = arena_strndup(a, f.data ? f.data : "", f.len);
        n++;
        if (*p < end && **p == ',') {
            (*p)++;
            continue;
        }
        if (*p < end && **p == '\r')
            (*p)++;
        if (*p < end && **p == '\n')
            (*p)++;
        break;
    }
    buf_release(&f);
    return n;
}

int nl_import_csv(struct store *st, struct arena *a,
                  const struct desk_actor *who, const char *csv, size_t len,
                  const char *default_slug, int confirm, int64_t now,
                  size_t *added, const char **report, char *err, size_t errlen)
{
    const char *p = csv, *end = csv + len;
    char *f[8];
    struct buf rep;
    int col_nl = -1, col_state = -1, col_email = -1, line = 1;
    struct store_newsletter def = {0}, nl;

    *added = 0;
    *report = "";
    if (!who || who->role != STAFF_ADMINISTRATOR) {
        snprintf(err, errlen, "Only administrators import subscribers.");
        return NL_FORBIDDEN;
    }
    if (!str_utf8_valid(csv, len)) {
        snprintf(err, errlen, "The file is not UTF-8 text.");
        return NL_INVALID;
    }
    if (default_slug && *default_slug &&
        store_newsletter_get_by_slug(st, a, default_slug, &def) != STORE_OK) {
        snprintf(err, errlen, "There is no newsletter '%.80s'.", default_slug);
        return NL_NOTFOUND;
    }
    int nf = csv_record(a, &p, end, f, 8);
    for (int i = 0; i < nf && i < 8; i++) {
        char *h = str_trim(f[i]);
        if (str_casecmp(h, "email") == 0)
            col_email = i;
        else if (str_casecmp(h, "newsletter") == 0)
            col_nl = i;
        else if (str_casecmp(h, "state") == 0)
            col_state = i;
    }
    if (col_email < 0) {
        snprintf(err, errlen,
                 "The first row must name the columns, with one "
                 "called 'email'.");
        return NL_INVALID;
    }
    buf_init(&rep, 64 * 1024);
    while (p < end) {
        char addr[256], why[200];
        line++;
        nf = csv_record(a, &p, end, f, 8);
        if (nf < 0) {
            buf_printf(&rep,
                       "line %d: a quote is never closed; the rest of "
                       "the file was skipped\n",
                       line);
            break;
        }
        if (nf == 1 && !*str_trim(f[0]))
            continue; /* blank line */
        const char *email = col_email < nf ? f[col_email] : "";
        if (mail_address_check(email, addr, sizeof addr, why, sizeof why) < 0) {
            buf_printf(&rep, "line %d: not an email address '%.80s': %s\n",
                       line, email, why);
            continue;
        }
        const struct store_newsletter *target = &def;
        const char *ns = col_nl >= 0 && col_nl < nf ? str_trim(f[col_nl]) : "";
        if (*ns) {
            if (!str_slug_valid(ns) ||
                store_newsletter_get_by_slug(st, a, ns, &nl) != STORE_OK) {
                buf_printf(&rep, "line %d: no newsletter '%.80s'\n", line, ns);
                continue;
            }
            target = &nl;
        } else if (!def.id) {
            buf_printf(&rep,
                       "line %d: no newsletter named; choose one for "
                       "rows without\n",
                       line);
            continue;
        }
        const char *state =
            col_state >= 0 && col_state < nf ? str_trim(f[col_state]) : "";
        if (*state && strcmp(state, "active") != 0) {
            buf_printf(&rep, "line %d: skipped (state '%.20s')\n", line, state);
            continue;
        }
        int64_t sid;
        struct store_subscription sub;
        if (store_subscriber_upsert(st, addr, now, &sid) != STORE_OK) {
            buf_release(&rep);
            return NL_ERROR;
        }
        int rc;
        if (confirm) {
            rc = store_subscription_request(st, a, sid, target->id, now,
                                            row_token(a), &sub);
            if (rc == STORE_OK && sub.state == STORE_SUB_PENDING) {
                int r2 = store_outbox_add(
                    st,
                    arena_printf(a, "confirm:%" PRId64 ":%" PRId64, target->id,
                                 now / NL_CONFIRM_EVERY_S),
                    sid, now);
                if (r2 == STORE_CONFLICT)
                    r2 = STORE_OK;
                rc = r2;
            }
        } else {
            rc = store_subscription_set(st, sid, target->id, STORE_SUB_ACTIVE,
                                        now, row_token(a));
        }
        if (rc != STORE_OK) {
            buf_release(&rep);
            return NL_ERROR;
        }
        (*added)++;
    }
    if (rep.overflow)
        buf_printf(&rep, "(more problems not shown)\n");
    if (confirm && *added)
        wake_delivery(st);
    *report = arena_strndup(a, rep.data ? rep.data : "", rep.len);
    buf_release(&rep);
    desk_audit(st, a, who, now, "subscribers.import",
               arena_printf(a, "%zu rows", *added), confirm ? "confirm" : NULL);
    return NL_OK;
}
