/*
 * mail_job.c - the mail_outbox and nl_purge jobs: delivering newsletter
 * issues and confirmation mail from the outbox, and forgetting
 * unconfirmed sign-ups.
 *
 * DESIGN
 * One run claims due outbox rows a few at a time (store_outbox_claim:
 * leases, SKIP LOCKED), composes each message for its subscriber from the
 * theme's email templates, delivers it (SMTP, or an .eml file without
 * smtp_url), and records the outcome at once: sent; retried later with
 * exponential backoff after a temporary failure; failed for good after a
 * permanent one (5xx) or MAIL_MAX_ATTEMPTS. Runs on every node at once are
 * fine: a row is claimed by one worker at a time.
 * Exactly once: the row is marked sent right after the server accepted the
 * message. A worker killed in the instant between the two leaves its row
 * leased; it is sent again when the lease ends, with the same Message-ID
 * (made from the send and the subscriber), which mail systems treat as the
 * same message. docs/newsletters.md says so.
 * A subscriber who unsubscribed after the send was queued is skipped (the
 * row is failed with a reason), so no mail reaches them.
 * The pace is at most mail_rate messages a second per run.
 * An SMTP outage is not the messages' fault: when the server cannot be
 * reached at all (MAIL_UNREACHABLE) the run stops at once, the rows it
 * holds go back due in MAIL_PROBE_S with the attempt their claim counted
 * given back (store_outbox_release), and MAIL_DOWN_SETTING
 * records the outage for the desk. While it is set, a run first probes
 * the server (mail_transport_probe, at most once per MAIL_PROBE_S) and
 * claims nothing until it answers, so an outage of any length costs a
 * message no attempt and delivery resumes within about
 * MAIL_PROBE_S (plus one job tick) of the server's return.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "content/newsletter.h"
#include "content/site.h"
#include "core/arena.h"
#include "core/bounds.h"
#include "core/buf.h"
#include "core/config.h"
#include "core/embed.h"
#include "core/log.h"
#include "jobs/jobs.h"
#include "mail/mail.h"
#include "render/date.h"
#include "render/tmpl.h"
#include "store/store.h"

#define MAIL_BATCH 10       /* rows claimed at once */
#define MAIL_LEASE_S 60     /* a claimed row's lease (NEWSROOM_MAIL_LEASE_S) */
#define MAIL_MAX_ATTEMPTS 8 /* temporary failures before giving up */
#define MAIL_BACKOFF_S 60   /* first retry delay; doubles */
#define MAIL_BACKOFF_MAX_S (6 * 3600)
/* during an SMTP outage the server is tried this often, seconds
 * (NEWSROOM_MAIL_PROBE_S, 1..3600, overrides it: for tests) */
#define MAIL_PROBE_S 30

/* What one run needs. */
struct run {
    struct store *st;
    struct config cfg;
    struct mail_transport *tr;
    struct tmpl_set *tmpl;
    const char *host;    /* of the site's url, for Message-IDs */
    char from_name[256]; /* mail_from (config_mail_from): the fallback */
    char from_addr[256]; /* sender of newsletters that name none */
    unsigned lease_s;
    unsigned probe_s; /* MAIL_PROBE_S or NEWSROOM_MAIL_PROBE_S */
};

static unsigned probe_from_env(void)
{
    const char *s = getenv("NEWSROOM_MAIL_PROBE_S");
    long v = s ? strtol(s, NULL, 10) : 0;
    return v >= 1 && v <= 3600 ? (unsigned)v : MAIL_PROBE_S;
}

/* The outage on record (MAIL_DOWN_SETTING): 1 with *since and *last
 * (Unix seconds) while there is one, else 0. */
static int down_get(struct store *st, struct arena *a, int64_t *since,
                    int64_t *last)
{
    const char *v = store_setting_get(st, a, MAIL_DOWN_SETTING);
    long long s = 0, l = 0;

    if (!v || sscanf(v, "%lld %lld", &s, &l) != 2 || s <= 0)
        return 0;
    *since = s;
    *last = l;
    return 1;
}

/* Records that the server could not be reached just now (why). */
static void down_note(struct run *r, struct arena *a, const char *why)
{
    int64_t since = 0, last = 0, now = (int64_t)time(NULL);
    char hhmm[16];

    if (!down_get(r->st, a, &since, &last))
        since = now;
    store_setting_set(r->st, MAIL_DOWN_SETTING,
                      arena_printf(a, "%lld %lld %u %.300s", (long long)since,
                                   (long long)now, r->probe_s, why));
    time_t t = (time_t)since;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(hhmm, sizeof hhmm, "%H:%M", &tm);
    log_warn("mail server unreachable since %s UTC (%s); retrying every %u s",
             hhmm, why, r->probe_s);
}

static unsigned lease_from_env(void)
{
    const char *s = getenv("NEWSROOM_MAIL_LEASE_S");
    long v = s ? strtol(s, NULL, 10) : 0;
    return v >= 1 && v <= 3600 ? (unsigned)v : MAIL_LEASE_S;
}

/* The email templates: those embedded under theme/email/, then the
 * site's overrides in DIR/theme/email/. */
static struct tmpl_set *load_templates(const char *dir)
{
    struct tmpl_set *set = tmpl_set_new();
    char perr[256];

    for (const struct embed_file *f = embed_files; f->name; f++) {
        size_t n = strlen(f->name);
        if (strncmp(f->name, "theme/email/", 12) != 0 || n < 9 ||
            strcmp(f->name + n - 9, ".mustache") != 0)
            continue;
        char name[256];
        snprintf(name, sizeof name, "%.*s", (int)(n - 6 - 9), f->name + 6);
        if (tmpl_set_add(set, name, (const char *)f->data, f->len, perr,
                         sizeof perr) < 0)
            log_error("email template '%s': %s", name, perr);
    }
    static const char *const names[] = {"issue.html", "issue.txt",
                                        "confirm.html", "confirm.txt"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char path[1400];
        snprintf(path, sizeof path, "%s/theme/email/%s.mustache", dir,
                 names[i]);
        FILE *fp = fopen(path, "rb");
        if (!fp)
            continue;
        struct buf b;
        char chunk[4096];
        size_t got;
        buf_init(&b, 1 << 20);
        while ((got = fread(chunk, 1, sizeof chunk, fp)) > 0)
            buf_add(&b, chunk, got);
        fclose(fp);
        char name[64];
        snprintf(name, sizeof name, "email/%s", names[i]);
        if (tmpl_set_add(set, name, b.data ? b.data : "", b.len, perr,
                         sizeof perr) < 0)
            log_error("%s: %s", path, perr);
        buf_release(&b);
    }
    return set;
}

/* Renders template name with data into a (NUL-terminated), or NULL. */
static char *render(struct run *r, struct arena *a, const char *name,
                    json_t *data)
{
    struct buf out;

    buf_init(&out, BOUND_PAGE_BYTES);
    if (tmpl_set_render(r->tmpl, name, data, &out) < 0) {
        buf_release(&out);
        return NULL;
    }
    char *s = arena_strndup(a, out.data ? out.data : "", out.len);
    buf_release(&out);
    return s;
}

/* html with site-relative links and images ( ="/...") made absolute. */
static char *absolute_links(struct arena *a, const char *html, const char *url)
{
    struct buf b;
    const char *p = html;

    buf_init(&b, BOUND_PAGE_BYTES);
    for (const char *q; (q = strstr(p, "=\"/")) != NULL; p = q + 2) {
        if (q[3] == '/') { /* protocol-relative: leave it */
            buf_add(&b, p, (size_t)(q - p) + 2);
            continue;
        }
        buf_add(&b, p, (size_t)(q - p) + 2);
        buf_adds(&b, url);
    }
    buf_adds(&b, p);
    char *s = arena_strndup(a, b.data ? b.data : "", b.len);
    buf_release(&b);
    return s;
}

static const char *day_label(struct arena *a, int64_t t)
{
    char buf[64];

    date_format_day((time_t)t, buf, sizeof buf);
    return arena_strdup(a, buf);
}

/* The JSON an email template sees for one article. */
static json_t *post_json(struct run *r, struct arena *a,
                         const struct store_post *p)
{
    json_t *authors = json_array();
    for (size_t i = 0; i < p->nauthors; i++)
        json_array_append_new(authors, json_pack("{s:s, s:b}", "name",
                                                 p->authors[i].name, "last",
                                                 i + 1 == p->nauthors));
    json_t *j = json_pack("{s:s, s:s?, s:s, s:s, s:o, s:s}", "title", p->title,
                          "standfirst", p->standfirst, "url",
                          arena_printf(a, "%s/%s/", r->cfg.url, p->slug),
                          "excerpt", p->excerpt ? p->excerpt : "", "authors",
                          authors, "date_label", day_label(a, p->published_at));
    if (p->html)
        json_object_set_new(
            j, "html", json_string(absolute_links(a, p->html, r->cfg.url)));
    if (p->plaintext)
        json_object_set_new(j, "text", json_string(p->plaintext));
    if (p->feature_image && p->feature_image->name)
        json_object_set_new(
            j, "image",
            json_pack("{s:s, s:s}", "src",
                      arena_printf(a, "%s/media/%s-960.jpg", r->cfg.url,
                                   p->feature_image->name),
                      "alt",
                      p->feature_alt          ? p->feature_alt
                      : p->feature_image->alt ? p->feature_image->alt
                                              : ""));
    return j;
}

/* 1 when subscriber sid is active on newsletter nid. */
static int is_active(struct store *st, struct arena *a, int64_t sid,
                     int64_t nid, int *pending)
{
    struct store_subscription *s = NULL;
    size_t n = 0;

    *pending = 0;
    if (store_subscriptions_of(st, a, sid, &s, &n) != STORE_OK)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (s[i].newsletter_id == nid) {
            *pending = s[i].state == STORE_SUB_PENDING;
            return s[i].state == STORE_SUB_ACTIVE;
        }
    return 0;
}

/* Builds the message for one outbox row into *data and *len (malloc'd) and
 * the envelope sender into *from. 0; 1 when the row needs no mail (reason
 * in err); -1 on error (err). */
static int build(struct run *r, struct arena *a, const struct store_outbox *o,
                 char **data, size_t *len, const char **from, char *err,
                 size_t errlen)
{
    struct store_newsletter nl;
    struct mail_msg m = {0};
    int64_t send_id = 0, nid = 0, bucket = 0;
    int pending = 0, confirm = 0;
    json_t *d;

    if (sscanf(o->send_id, "send:%" SCNd64, &send_id) == 1) {
        struct store_send s;
        if (store_send_get(r->st, a, send_id, &s) != STORE_OK) {
            snprintf(err, errlen, "the send is gone");
            return 1;
        }
        nid = s.newsletter_id;
        if (store_newsletter_get(r->st, a, nid, &nl) != STORE_OK) {
            snprintf(err, errlen, "the newsletter is gone");
            return 1;
        }
        int act = is_active(r->st, a, o->subscriber_id, nid, &pending);
        if (act < 0) {
            snprintf(err, errlen, "cannot read the subscription");
            return -1;
        }
        if (!act) {
            snprintf(err, errlen, "not subscribed any more");
            return 1;
        }
        d = json_pack("{s:s}", "subject", s.subject);
        if (s.post_id) {
            struct store_post p;
            if (store_post_get(r->st, a, s.post_id, &p) != STORE_OK) {
                json_decref(d);
                snprintf(err, errlen, "the article is gone");
                return 1;
            }
            json_object_set_new(d, "post", post_json(r, a, &p));
        } else {
            struct store_post_query q = {0};
            struct store_post *p = NULL;
            size_t n = 0;
            q.status = STORE_POST_PUBLISHED;
            q.limit = s.digest;
            q.published_before = s.created_at;
            if (store_posts_list(r->st, a, &q, &p, &n, NULL) != STORE_OK) {
                json_decref(d);
                snprintf(err, errlen, "cannot read the articles");
                return -1;
            }
            json_t *arr = json_array();
            for (size_t i = 0; i < n; i++)
                json_array_append_new(arr, post_json(r, a, &p[i]));
            json_object_set_new(d, "posts", arr);
        }
        m.subject = s.subject;
        m.message_id = arena_printf(a, "<nl.%" PRId64 ".%" PRId64 "@%s>",
                                    send_id, o->subscriber_id, r->host);
    } else if (sscanf(o->send_id, "confirm:%" SCNd64 ":%" SCNd64, &nid,
                      &bucket) == 2) {
        confirm = 1;
        if (store_newsletter_get(r->st, a, nid, &nl) != STORE_OK) {
            snprintf(err, errlen, "the newsletter is gone");
            return 1;
        }
        if (is_active(r->st, a, o->subscriber_id, nid, &pending) < 0)
            return -1;
        if (!pending) {
            snprintf(err, errlen, "nothing to confirm any more");
            return 1;
        }
        const char *tok =
            nl_link_make(r->st, a, NL_LINK_CONFIRM, o->subscriber_id, nid,
                         (int64_t)time(NULL) + NL_CONFIRM_TTL_S);
        if (!tok)
            return -1;
        m.subject =
            arena_printf(a, "Please confirm your subscription to %s", nl.name);
        d = json_pack("{s:s, s:s}", "subject", m.subject, "confirm_url",
                      arena_printf(a, "%s/newsletters/confirm/?token=%s",
                                   r->cfg.url, tok));
        m.message_id =
            arena_printf(a, "<confirm.%" PRId64 ".%" PRId64 ".%" PRId64 "@%s>",
                         nid, bucket, o->subscriber_id, r->host);
    } else {
        snprintf(err, errlen, "unknown outbox entry '%.60s'", o->send_id);
        return 1;
    }
    const char *unsub =
        nl_link_make(r->st, a, NL_LINK_UNSUB, o->subscriber_id, nid, 0);
    const char *prefs =
        nl_link_make(r->st, a, NL_LINK_PREFS, o->subscriber_id, 0, 0);
    if (!unsub || !prefs) {
        json_decref(d);
        return -1;
    }
    const char *unsub_url = arena_printf(
        a, "%s/newsletters/unsubscribe/?token=%s", r->cfg.url, unsub);
    json_object_set_new(
        d, "site",
        json_pack("{s:s, s:s}", "title", r->cfg.title, "url", r->cfg.url));
    json_object_set_new(d, "newsletter",
                        json_pack("{s:s, s:s}", "name", nl.name, "description",
                                  nl.description ? nl.description : ""));
    json_object_set_new(
        d, "links",
        json_pack("{s:s, s:s}", "unsubscribe", unsub_url, "preferences",
                  arena_printf(a, "%s/newsletters/preferences/?token=%s",
                               r->cfg.url, prefs)));
    const char *base = confirm ? "email/confirm" : "email/issue";
    m.html = render(r, a, arena_printf(a, "%s.html", base), d);
    m.text = render(r, a, arena_printf(a, "%s.txt", base), d);
    json_decref(d);
    if (!m.html || !m.text) {
        snprintf(err, errlen, "cannot render the email templates");
        return -1;
    }
    m.from_name = nl.sender_name && *nl.sender_name ? nl.sender_name
                  : *r->from_name                   ? r->from_name
                                                    : r->cfg.title;
    m.from_addr =
        nl.sender_email && *nl.sender_email ? nl.sender_email : r->from_addr;
    m.to_addr = o->email;
    m.date = (long long)time(NULL);
    m.list_id = arena_printf(a, "%s <%s.list.%s>", nl.name, nl.slug, r->host);
    m.unsubscribe_url = unsub_url;
    m.unsubscribe_mailto =
        arena_printf(a, "mailto:%s?subject=unsubscribe", m.from_addr);
    m.one_click = 1;
    *from = m.from_addr;
    return mail_compose(&m, data, len, err, errlen) == 0 ? 0 : -1;
}

/* Records what happened to row o. */
static void outcome(struct run *r, const struct store_outbox *o, int res,
                    const char *err)
{
    int64_t now = (int64_t)time(NULL);

    if (res == MAIL_SENT) {
        store_outbox_sent(r->st, o->id, now);
        return;
    }
    if (res == MAIL_TEMPORARY && o->attempts < MAIL_MAX_ATTEMPTS) {
        unsigned delay = MAIL_BACKOFF_S;
        for (unsigned i = 1; i < o->attempts && delay < MAIL_BACKOFF_MAX_S; i++)
            delay *= 2;
        if (delay > MAIL_BACKOFF_MAX_S)
            delay = MAIL_BACKOFF_MAX_S;
        log_warn("mail to subscriber %" PRId64 " (%s): %s; retry in %u s",
                 o->subscriber_id, o->send_id, err, delay);
        store_outbox_retry(r->st, o->id, now + delay, err);
        return;
    }
    log_warn("mail to subscriber %" PRId64 " (%s) failed: %s", o->subscriber_id,
             o->send_id, err);
    store_outbox_fail(r->st, o->id, err);
}

/* The host part of url ("https://news.example:8443/x" -> "news.example"). */
static const char *host_of(struct arena *a, const char *url)
{
    const char *h = strstr(url, "://");
    h = h ? h + 3 : url;
    size_t n = strcspn(h, ":/");
    return n ? arena_strndup(a, h, n) : "localhost";
}

static void sleep_ns(long long ns)
{
    struct timespec ts = {(time_t)(ns / 1000000000LL),
                          (long)(ns % 1000000000LL)};
    while (ns > 0 && nanosleep(&ts, &ts) != 0)
        ;
}

static long long now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int job_mail_outbox(struct store *st, struct arena *a,
                    const struct store_job *job, char *err, size_t errlen)
{
    struct run r = {0};
    char path[1200], why[300];
    const char *dir = job_site_dir();
    int ret = JOB_DONE;

    (void)job;
    r.st = st;
    config_defaults(&r.cfg);
    snprintf(path, sizeof path, "%s/site.conf", dir);
    if (!*dir || config_load(&r.cfg, path, why, sizeof why) < 0) {
        snprintf(err, errlen, "cannot read the site's settings: %s",
                 *dir ? why : "no site folder");
        return JOB_RETRY;
    }
    snprintf(path, sizeof path, "%s/mail", dir);
    r.tr = mail_transport_new(r.cfg.smtp_url, r.cfg.smtp_user,
                              getenv("NEWSROOM_SMTP_PASSWORD"),
                              r.cfg.smtp_starttls, path, why, sizeof why);
    if (!r.tr) {
        snprintf(err, errlen, "mail transport: %s", why);
        return JOB_RETRY;
    }
    config_mail_from(&r.cfg, r.from_name, sizeof r.from_name, r.from_addr,
                     sizeof r.from_addr);
    r.tmpl = load_templates(dir);
    r.host = host_of(a, r.cfg.url);
    r.lease_s = lease_from_env();
    r.probe_s = probe_from_env();
    int64_t since = 0, last = 0;
    if (down_get(st, a, &since, &last)) {
        int64_t now = (int64_t)time(NULL);
        if (now - last < (int64_t)r.probe_s) /* not yet time to probe */
            goto out;
        if (mail_transport_probe(r.tr, why, sizeof why) != MAIL_SENT) {
            down_note(&r, a, why);
            snprintf(err, errlen, "mail server unreachable: %s", why);
            goto out;
        }
        store_setting_set(st, MAIL_DOWN_SETTING, "");
        log_info("mail server reachable again; delivering");
    }
    long long gap = 1000000000LL / (r.cfg.mail_rate ? r.cfg.mail_rate : 1);
    long long start = now_ns(), next = start;
    int stop = 0;
    for (;;) {
        struct arena batch;
        struct store_outbox *o = NULL;
        size_t n = 0;

        if (now_ns() - start > (long long)MAIL_JOB_RUN_S * 1000000000LL ||
            job_runner_stopping())
            break;
        arena_init(&batch);
        if (store_outbox_claim(st, &batch, (int64_t)time(NULL), r.lease_s,
                               MAIL_BATCH, &o, &n) != STORE_OK) {
            arena_release(&batch);
            snprintf(err, errlen, "cannot claim outbox rows");
            ret = JOB_RETRY;
            break;
        }
        if (n == 0) {
            arena_release(&batch);
            break;
        }
        for (size_t i = 0; i < n; i++) {
            char *data = NULL;
            size_t len = 0;
            const char *from = NULL;
            char e[400] = "";
            int b = build(&r, &batch, &o[i], &data, &len, &from, e, sizeof e);
            if (b == 1) {
                store_outbox_fail(st, o[i].id, e);
                continue;
            }
            if (b < 0) {
                outcome(&r, &o[i], MAIL_TEMPORARY, e);
                continue;
            }
            long long t = now_ns();
            if (t < next)
                sleep_ns(next - t);
            next = (t > next ? t : next) + gap;
            int res =
                mail_deliver(r.tr, from, o[i].email, data, len, e, sizeof e);
            free(data);
            if (res == MAIL_UNREACHABLE) {
                /* this row and the rest of the batch wait for the server */
                int64_t at = (int64_t)time(NULL) + r.probe_s;
                for (size_t j = i; j < n; j++)
                    store_outbox_release(st, o[j].id, at, e);
                down_note(&r, &batch, e);
                snprintf(err, errlen, "mail server unreachable: %s", e);
                stop = 1;
                break;
            }
            outcome(&r, &o[i], res, e);
        }
        arena_release(&batch);
        if (stop)
            break;
    }
out:
    tmpl_set_free(r.tmpl);
    mail_transport_free(r.tr);
    return ret;
}

int job_nl_purge(struct store *st, struct arena *a, const struct store_job *job,
                 char *err, size_t errlen)
{
    size_t n = 0;

    (void)a;
    (void)job;
    if (store_subscriptions_purge(st, (int64_t)time(NULL) - NL_PURGE_AFTER_S,
                                  &n) != STORE_OK) {
        snprintf(err, errlen, "cannot purge unconfirmed sign-ups");
        return JOB_RETRY;
    }
    if (n)
        log_info("purged %zu unconfirmed sign-up%s", n, n == 1 ? "" : "s");
    return JOB_DONE;
}
