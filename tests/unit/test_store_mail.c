/*
 * test_store_mail.c - the store contract for newsletters and
 * narration: newsletters, subscribers and subscriptions, sends, the
 * outbox (claimed once under concurrency), narrations and episodes.
 * The fixtures and the runner are in store_contract.h.
 */
#include "store_contract.h"

/* Two newsletters, A (position 2) and B (position 1), into *na and *nb. */
static void mail_newsletters(struct store *st, struct store_newsletter *na,
                             struct store_newsletter *nb)
{
    *na = (struct store_newsletter){
        .slug = "ports", .name = "Ports", .active = 1, .position = 2};
    *nb = (struct store_newsletter){
        .slug = "morning", .name = "Morning", .active = 1, .position = 1};
    store_newsletter_save(st, na);
    store_newsletter_save(st, nb);
}

static void contract_subscribers(struct store *st, const char *url)
{
    struct store_newsletter na, nb, got;
    struct store_subscriber sb;
    int64_t id = 0, id2 = 0;
    struct arena a;

    (void)url;
    arena_init(&a);
    mail_newsletters(st, &na, &nb);
    CHECK(store_newsletter_get(st, &a, na.id, &got) == 0 &&
              strcmp(got.slug, "ports") == 0 && got.position == 2 &&
              got.active == 1,
          "a newsletter reads back by id");
    CHECK(store_newsletter_get_by_slug(st, &a, "morning", &got) == 0 &&
              got.id == nb.id && strcmp(got.name, "Morning") == 0,
          "a newsletter reads back by slug");
    CHECK(store_newsletter_get(st, &a, na.id + 100, &got) == STORE_NOTFOUND &&
              store_newsletter_get_by_slug(st, &a, "nope", &got) ==
                  STORE_NOTFOUND,
          "a missing newsletter is not found");
    CHECK(store_subscriber_upsert(st, "ann@example.org", 100, &id) == 0 &&
              id > 0,
          "a subscriber is created");
    CHECK(store_subscriber_upsert(st, "ann@example.org", 200, &id2) == 0 &&
              id2 == id,
          "the same email gives the same subscriber");
    CHECK(store_subscriber_get(st, &a, id, &sb) == 0 && sb.id == id &&
              strcmp(sb.email, "ann@example.org") == 0 && sb.created_at == 100,
          "a subscriber reads back by id, created_at from its creation");
    CHECK(store_subscriber_get_by_email(st, &a, "ann@example.org", &sb) == 0 &&
              sb.id == id,
          "a subscriber reads back by email");
    CHECK(store_subscriber_get(st, &a, id + 100, &sb) == STORE_NOTFOUND &&
              store_subscriber_get_by_email(st, &a, "bob@example.org", &sb) ==
                  STORE_NOTFOUND,
          "a missing subscriber is not found");
    arena_release(&a);
}

static void contract_subscriptions(struct store *st, const char *url)
{
    struct store_newsletter na, nb;
    struct store_subscription s, *list;
    int64_t ann, bob;
    struct arena a;
    size_t n;

    (void)url;
    arena_init(&a);
    mail_newsletters(st, &na, &nb);
    store_subscriber_upsert(st, "ann@example.org", 1, &ann);
    store_subscriber_upsert(st, "bob@example.org", 1, &bob);
    CHECK(store_subscription_request(st, &a, ann, na.id, 100, "t1", &s) == 0 &&
              s.id > 0 && s.state == STORE_SUB_PENDING &&
              strcmp(s.token, "t1") == 0 && s.created_at == 100 &&
              s.confirmed_at == 0 && s.subscriber_id == ann &&
              s.newsletter_id == na.id &&
              strcmp(s.email, "ann@example.org") == 0 &&
              strcmp(s.newsletter_slug, "ports") == 0,
          "a sign-up makes a pending subscription");
    CHECK(store_subscription_request(st, &a, ann, na.id, 200, "t2", &s) == 0 &&
              s.state == STORE_SUB_PENDING && strcmp(s.token, "t1") == 0 &&
              s.created_at == 100,
          "signing up again while pending changes nothing");
    CHECK(store_subscription_set(st, ann, na.id, STORE_SUB_ACTIVE, 300, NULL) ==
              0,
          "a pending subscription is confirmed");
    store_subscription_set(st, ann, na.id, STORE_SUB_ACTIVE, 400, NULL);
    CHECK(store_subscription_request(st, &a, ann, na.id, 500, "t3", &s) == 0 &&
              s.state == STORE_SUB_ACTIVE && strcmp(s.token, "t1") == 0 &&
              s.confirmed_at == 300,
          "signing up while active changes nothing; confirming twice keeps "
          "the first confirmed_at");
    CHECK(store_subscription_set(st, ann, na.id, STORE_SUB_UNSUBSCRIBED, 600,
                                 NULL) == 0,
          "an active subscription is left");
    CHECK(store_subscription_request(st, &a, ann, na.id, 700, "t4", &s) == 0 &&
              s.state == STORE_SUB_PENDING && strcmp(s.token, "t4") == 0 &&
              s.created_at == 700 && s.confirmed_at == 0,
          "signing up after leaving makes it pending with the new token");
    CHECK(store_subscription_set(st, ann, nb.id, STORE_SUB_UNSUBSCRIBED, 800,
                                 "x") == STORE_NOTFOUND &&
              store_subscription_set(st, ann, nb.id, STORE_SUB_PENDING, 800,
                                     "x") == STORE_NOTFOUND &&
              store_subscription_set(st, ann, nb.id, STORE_SUB_ACTIVE, 800,
                                     NULL) == STORE_NOTFOUND,
          "setting a missing subscription is not found (but for ACTIVE "
          "with a token)");
    CHECK(store_subscription_set(st, ann, nb.id, STORE_SUB_ACTIVE, 800, "t5") ==
              0,
          "ACTIVE with a token creates a missing subscription");
    CHECK(store_subscriptions_of(st, &a, ann, &list, &n) == 0 && n == 2 &&
              list[0].newsletter_id == nb.id &&
              list[0].state == STORE_SUB_ACTIVE &&
              list[0].confirmed_at == 800 && list[0].created_at == 800 &&
              strcmp(list[0].token, "t5") == 0 &&
              strcmp(list[0].newsletter_slug, "morning") == 0 &&
              strcmp(list[0].email, "ann@example.org") == 0 &&
              list[1].newsletter_id == na.id,
          "a subscriber's subscriptions list by newsletter position");
    CHECK(store_subscription_set(st, ann, na.id, STORE_SUB_ACTIVE, 900, "t6") ==
                  0 &&
              store_subscriptions_of(st, &a, ann, &list, &n) == 0 && n == 2 &&
              list[1].state == STORE_SUB_ACTIVE &&
              list[1].confirmed_at == 900 && strcmp(list[1].token, "t4") == 0,
          "ACTIVE on an existing row keeps its token");
    store_subscription_set(st, ann, na.id, STORE_SUB_PENDING, 950, NULL);
    CHECK(store_subscriptions_of(st, &a, ann, &list, &n) == 0 && n == 2 &&
              list[1].state == STORE_SUB_PENDING && list[1].created_at == 950,
          "PENDING restarts created_at");
    CHECK(store_subscription_request(st, &a, bob, na.id, 1000, "t5", &s) ==
              STORE_CONFLICT,
          "a sign-up with a taken token is a conflict");
    CHECK(store_subscriptions_of(st, &a, bob, &list, &n) == 0 && n == 0,
          "a refused sign-up leaves nothing behind");
    arena_release(&a);
}

static void contract_subscriptions_purge(struct store *st, const char *url)
{
    struct store_newsletter na, nb;
    struct store_subscription s, *list;
    struct store_subscriber sb;
    int64_t x, y, z, w, v;
    size_t n = 99, sent, failed, pending;
    struct arena a;

    (void)url;
    arena_init(&a);
    mail_newsletters(st, &na, &nb);
    store_subscriber_upsert(st, "x@example.org", 100, &x);
    store_subscriber_upsert(st, "y@example.org", 100, &y);
    store_subscriber_upsert(st, "z@example.org", 100, &z);
    store_subscriber_upsert(st, "w@example.org", 100, &w);
    store_subscriber_upsert(st, "v@example.org", 2000, &v);
    store_subscription_request(st, &a, x, na.id, 100, "x", &s);
    store_subscription_request(st, &a, y, na.id, 900, "y", &s);
    store_subscription_set(st, z, na.id, STORE_SUB_ACTIVE, 100, "za");
    store_subscription_request(st, &a, z, nb.id, 100, "zb", &s);
    store_outbox_add(st, "confirm:x", x, 100);
    CHECK(store_subscriptions_purge(st, 500, &n) == 0 && n == 2,
          "purge deletes the pending subscriptions made before (%zu)", n);
    CHECK(store_subscriber_get(st, &a, x, &sb) == STORE_NOTFOUND &&
              store_subscriber_get(st, &a, w, &sb) == STORE_NOTFOUND,
          "purge deletes old subscribers left with no subscription");
    CHECK(store_subscriber_get(st, &a, v, &sb) == 0,
          "purge keeps a subscriber made after `before` (a sign-up under "
          "way)");
    CHECK(store_subscriptions_of(st, &a, y, &list, &n) == 0 && n == 1 &&
              list[0].state == STORE_SUB_PENDING,
          "purge keeps a recent pending subscription");
    CHECK(store_subscriptions_of(st, &a, z, &list, &n) == 0 && n == 1 &&
              list[0].state == STORE_SUB_ACTIVE,
          "purge keeps active subscriptions and their subscriber");
    CHECK(store_outbox_progress(st, "confirm:x", &sent, &failed, &pending) ==
                  0 &&
              pending == 0,
          "a purged subscriber's mail goes with it");
    CHECK(store_subscriptions_purge(st, 500, NULL) == 0,
          "purge with nothing to delete is fine");
    arena_release(&a);
}

static void contract_subscriptions_search(struct store *st, const char *url)
{
    static const char *const emails[] = {
        "Alice@Example.org", "bob_smith@example.org", "carol%@example.net",
        "dave@example.net"};
    struct store_newsletter na, nb;
    struct store_subscription s, *out;
    int64_t id[4];
    size_t n, total, counts[3];
    struct arena a;

    (void)url;
    arena_init(&a);
    mail_newsletters(st, &na, &nb);
    for (int i = 0; i < 4; i++) {
        char tok[16];
        store_subscriber_upsert(st, emails[i], 1, &id[i]);
        snprintf(tok, sizeof tok, "a%d", i);
        store_subscription_request(st, &a, id[i], na.id, 100 + i, tok, &s);
    }
    /* alice: ports pending (100), morning active (50);
     * bob: ports active; carol: ports unsubscribed; dave: ports pending */
    store_subscription_set(st, id[0], nb.id, STORE_SUB_ACTIVE, 50, "b0");
    store_subscription_set(st, id[1], na.id, STORE_SUB_ACTIVE, 200, NULL);
    store_subscription_set(st, id[2], na.id, STORE_SUB_UNSUBSCRIBED, 200, NULL);
    CHECK(store_subscriptions_search(st, &a, NULL, 0, -1, 0, 0, &out, &n,
                                     &total) == 0 &&
              n == 5 && total == 5 && out[0].subscriber_id == id[3] &&
              out[3].subscriber_id == id[0] && out[4].newsletter_id == nb.id &&
              strcmp(out[0].email, "dave@example.net") == 0 &&
              strcmp(out[0].newsletter_slug, "ports") == 0,
          "search with no filter lists every subscription, newest first");
    CHECK(store_subscriptions_search(st, &a, "EXAMPLE.ORG", 0, -1, 0, 0, &out,
                                     &n, &total) == 0 &&
              n == 3 && total == 3,
          "search matches the email case-insensitively (%zu)", n);
    CHECK(store_subscriptions_search(st, &a, "_", 0, -1, 0, 0, &out, &n,
                                     &total) == 0 &&
              n == 1 && out[0].subscriber_id == id[1],
          "an underscore in the search is literal");
    CHECK(store_subscriptions_search(st, &a, "%", 0, -1, 0, 0, &out, &n,
                                     &total) == 0 &&
              n == 1 && out[0].subscriber_id == id[2],
          "a percent sign in the search is literal");
    CHECK(store_subscriptions_search(st, &a, "", nb.id, -1, 0, 0, &out, &n,
                                     &total) == 0 &&
              n == 1 && out[0].subscriber_id == id[0],
          "search by newsletter");
    CHECK(store_subscriptions_search(st, &a, NULL, na.id, STORE_SUB_PENDING, 0,
                                     0, &out, &n, &total) == 0 &&
              n == 2 && total == 2 && out[0].subscriber_id == id[3] &&
              out[1].subscriber_id == id[0],
          "search by newsletter and state");
    CHECK(store_subscriptions_search(st, &a, "example", 0, -1, 2, 1, &out, &n,
                                     &total) == 0 &&
              n == 2 && total == 5 && out[0].subscriber_id == id[2] &&
              out[1].subscriber_id == id[1],
          "limit and offset page the results; total counts them all");
    CHECK(store_subscriptions_search(st, &a, "nobody", 0, -1, 0, 0, &out, &n,
                                     NULL) == 0 &&
              n == 0,
          "a search matching nothing is empty");
    CHECK(store_subscription_counts(st, na.id, counts) == 0 &&
              counts[STORE_SUB_PENDING] == 2 && counts[STORE_SUB_ACTIVE] == 1 &&
              counts[STORE_SUB_UNSUBSCRIBED] == 1,
          "counts by state for one newsletter");
    CHECK(store_subscription_counts(st, 0, counts) == 0 &&
              counts[STORE_SUB_PENDING] == 2 && counts[STORE_SUB_ACTIVE] == 2 &&
              counts[STORE_SUB_UNSUBSCRIBED] == 1,
          "counts by state for all newsletters");
    CHECK(store_subscription_counts(st, nb.id + 100, counts) == 0 &&
              counts[0] == 0 && counts[1] == 0 && counts[2] == 0,
          "counts of a newsletter without subscriptions are zero");
    arena_release(&a);
}

static void contract_subscription_daily(struct store *st, const char *url)
{
    const int64_t day = 86400, today = 20000 * day, now = today + 3600;
    struct store_newsletter na, nb;
    struct store_subscription s;
    size_t out[7], all[7];
    struct arena a;
    int64_t id;
    /* confirmed_at of active ports subscriptions */
    const int64_t when[] = {today,           today + 3599,
                            today - 1,       today - 2 * day + 5,
                            today - 6 * day, today - 6 * day - 1};

    (void)url;
    arena_init(&a);
    mail_newsletters(st, &na, &nb);
    for (size_t i = 0; i < sizeof when / sizeof when[0]; i++) {
        char email[32], tok[16];
        snprintf(email, sizeof email, "d%zu@example.org", i);
        snprintf(tok, sizeof tok, "d%zu", i);
        store_subscriber_upsert(st, email, 1, &id);
        store_subscription_set(st, id, na.id, STORE_SUB_ACTIVE, when[i], tok);
    }
    /* not counted: a pending one, an unsubscribed one */
    store_subscriber_upsert(st, "p@example.org", 1, &id);
    store_subscription_request(st, &a, id, na.id, today, "p", &s);
    store_subscription_set(st, id, nb.id, STORE_SUB_ACTIVE, today, "pb");
    store_subscription_set(st, id, nb.id, STORE_SUB_UNSUBSCRIBED, today, NULL);
    /* counted for all newsletters only */
    store_subscriber_upsert(st, "q@example.org", 1, &id);
    store_subscription_set(st, id, nb.id, STORE_SUB_ACTIVE, today - day, "q");
    memset(out, 0xff, sizeof out);
    CHECK(store_subscription_daily(st, na.id, now, 7, out) == 0,
          "daily counts read");
    CHECK(out[6] == 2 && out[5] == 1 && out[4] == 1 && out[3] == 0 &&
              out[2] == 0 && out[1] == 0 && out[0] == 1,
          "confirmations are bucketed by UTC day, zeros where none "
          "(%zu %zu %zu %zu %zu %zu %zu)",
          out[0], out[1], out[2], out[3], out[4], out[5], out[6]);
    CHECK(store_subscription_daily(st, 0, now, 7, all) == 0 && all[6] == 2 &&
              all[5] == 2 && all[0] == 1,
          "daily counts for all newsletters");
    CHECK(store_subscription_daily(st, na.id, now, 1, out) == 0 && out[0] == 2,
          "one day is today");
    CHECK(store_subscription_daily(st, na.id, now, 367, out) == STORE_ERROR,
          "more than 366 days is refused");
    arena_release(&a);
}

/* Newsletter na with three active subscribers, one pending, one
 * unsubscribed; nb with one active. */
static void mail_audience(struct store *st, struct arena *a,
                          struct store_newsletter *na,
                          struct store_newsletter *nb, int64_t ids[6])
{
    struct store_subscription s;

    mail_newsletters(st, na, nb);
    for (int i = 0; i < 6; i++) {
        char email[32], tok[16];
        snprintf(email, sizeof email, "r%d@example.org", i);
        snprintf(tok, sizeof tok, "r%d", i);
        store_subscriber_upsert(st, email, 1, &ids[i]);
        if (i < 3)
            store_subscription_set(st, ids[i], na->id, STORE_SUB_ACTIVE, 10,
                                   tok);
        else if (i < 5)
            store_subscription_request(st, a, ids[i], na->id, 10, tok, &s);
    }
    store_subscription_set(st, ids[4], na->id, STORE_SUB_UNSUBSCRIBED, 11,
                           NULL);
    store_subscription_set(st, ids[5], nb->id, STORE_SUB_ACTIVE, 10, "r5b");
}

#define SEND_ROUNDS 15 /* sends made while a reader watches */

struct send_watch {
    struct store *st; /* shared handle */
    atomic_int *done; /* 1 once the writer is finished */
    int bad;          /* sends seen without all their rows */
    int errors;       /* failed calls */
};

/* Reads sends while they are being made: each one seen must already
 * have its total and every outbox row. */
static void *send_watch_run(void *arg)
{
    struct send_watch *w = arg;
    struct store_send *list;
    struct arena a;
    size_t n, sent, failed, pending;
    char sid[32];

    arena_init(&a);
    while (!atomic_load(w->done)) {
        if (store_sends_list(w->st, &a, 0, 100, &list, &n) != 0) {
            w->errors++;
            break;
        }
        for (size_t i = 0; i < n; i++) {
            if (strcmp(list[i].subject, "R") != 0)
                continue;
            snprintf(sid, sizeof sid, "send:%lld", (long long)list[i].id);
            if (store_outbox_progress(w->st, sid, &sent, &failed, &pending))
                w->errors++;
            else if (list[i].total != 3 || pending != 3)
                w->bad++;
        }
        arena_release(&a);
    }
    arena_release(&a);
    return NULL;
}

static void contract_sends(struct store *st, const char *url)
{
    struct store_newsletter na, nb;
    struct store_send s1 = {0}, s2 = {0}, s3 = {0}, got, *list;
    struct store_outbox *o;
    struct store_post p = mkpost("issue", STORE_POST_PUBLISHED, 5);
    int64_t ids[6];
    size_t n, sent, failed, pending;
    struct arena a;
    char sid[32];

    (void)url;
    arena_init(&a);
    mail_audience(st, &a, &na, &nb, ids);
    store_post_save(st, &p, NULL, 0, NULL, 0);
    s1 = (struct store_send){.newsletter_id = na.id,
                             .post_id = p.id,
                             .subject = "Ports this week",
                             .created_by = 7,
                             .created_at = 1000};
    CHECK(store_send_create(st, &s1) == 0 && s1.id > 0 && s1.total == 3,
          "a send makes one mail per active subscription (%zu)", s1.total);
    snprintf(sid, sizeof sid, "send:%lld", (long long)s1.id);
    CHECK(store_outbox_progress(st, sid, &sent, &failed, &pending) == 0 &&
              pending == 3 && sent == 0 && failed == 0,
          "the send's mails are pending");
    CHECK(store_send_get(st, &a, s1.id, &got) == 0 && got.id == s1.id &&
              got.newsletter_id == na.id && got.post_id == p.id &&
              got.digest == 0 && strcmp(got.subject, "Ports this week") == 0 &&
              got.created_by == 7 && got.created_at == 1000 && got.total == 3,
          "a send reads back");
    CHECK(store_outbox_claim(st, &a, 999, 60, 10, &o, &n) == 0 && n == 0,
          "a send's mails are due at its created_at, not before");
    CHECK(store_outbox_claim(st, &a, 1000, 60, 10, &o, &n) == 0 && n == 3 &&
              strcmp(o[0].send_id, sid) == 0 && o[0].attempts == 1 &&
              (o[0].subscriber_id == ids[0] || o[0].subscriber_id == ids[1] ||
               o[0].subscriber_id == ids[2]),
          "the mails go to the active subscribers");
    CHECK(store_outbox_progress(st, sid, &sent, &failed, &pending) == 0 &&
              pending == 3,
          "claimed mails still count as pending");
    s2 = (struct store_send){.newsletter_id = nb.id,
                             .digest = 5,
                             .subject = "Digest",
                             .created_at = 2000};
    s3 = (struct store_send){.newsletter_id = na.id, .subject = "Later"};
    CHECK(store_send_create(st, &s2) == 0 && s2.total == 1 &&
              store_send_create(st, &s3) == 0 && s3.created_at > 2000,
          "a digest send; created_at 0 is now");
    CHECK(store_send_get(st, &a, s2.id, &got) == 0 && got.post_id == 0 &&
              got.digest == 5 && got.created_by == 0,
          "a digest send has no post and no staff");
    CHECK(store_sends_list(st, &a, 0, 0, &list, &n) == 0 && n == 3 &&
              list[0].id == s3.id && list[1].id == s2.id && list[2].id == s1.id,
          "sends list newest first");
    CHECK(store_sends_list(st, &a, na.id, 1, &list, &n) == 0 && n == 1 &&
              list[0].id == s3.id,
          "sends list by newsletter, with a limit");
    CHECK(store_send_get(st, &a, s3.id + 100, &got) == STORE_NOTFOUND,
          "a missing send is not found");
    CHECK(store_post_delete(st, p.id) == 0 &&
              store_send_get(st, &a, s1.id, &got) == 0 && got.post_id == 0,
          "deleting the article keeps its send");
    /* one transaction: rolled back, none of it stays */
    {
        struct store_send s4 = {
            .newsletter_id = na.id, .subject = "Undone", .created_at = 3000};
        store_tx_begin(st);
        store_send_create(st, &s4);
        store_tx_rollback(st);
        snprintf(sid, sizeof sid, "send:%lld", (long long)s4.id);
        CHECK(s4.id > 0 &&
                  store_send_get(st, &a, s4.id, &got) == STORE_NOTFOUND &&
                  store_outbox_progress(st, sid, &sent, &failed, &pending) ==
                      0 &&
                  pending == 0,
              "a rolled-back send leaves neither send nor mails");
    }
    /* a reader never sees a send without all of its mails */
    {
        struct send_watch w = {0};
        atomic_int done;
        pthread_t th;
        int errors = 0;

        atomic_init(&done, 0);
        w.st = st;
        w.done = &done;
        pthread_create(&th, NULL, send_watch_run, &w);
        for (int i = 0; i < SEND_ROUNDS; i++) {
            struct store_send si = {
                .newsletter_id = na.id, .subject = "R", .created_at = 5000 + i};
            errors += store_send_create(st, &si) != 0 || si.total != 3;
        }
        atomic_store(&done, 1);
        pthread_join(th, NULL);
        CHECK(errors == 0 && w.errors == 0,
              "sends are made while read (%d, %d errors)", errors, w.errors);
        CHECK(w.bad == 0,
              "no send is seen before all of its mails (%d seen early)", w.bad);
    }
    /* one transaction: when a mail cannot be queued (a row of that send
     * id is already there), the send is not made either */
    {
        struct store_send s5 = {
            .newsletter_id = na.id, .subject = "Clash", .created_at = 2500};
        int64_t next = 1;
        int rc;

        store_sends_list(st, &a, 0, 100, &list, &n);
        for (size_t i = 0; i < n; i++) /* the id the next send gets */
            if (list[i].id >= next)
                next = list[i].id + 1;
        snprintf(sid, sizeof sid, "send:%lld", (long long)next);
        store_outbox_add(st, sid, ids[1], 1);
        rc = store_send_create(st, &s5);
        CHECK(rc != 0 && store_send_get(st, &a, next, &got) == STORE_NOTFOUND &&
                  store_sends_list(st, &a, 0, 100, &list, &n) == 0 &&
                  n == 3 + SEND_ROUNDS &&
                  store_outbox_progress(st, sid, &sent, &failed, &pending) ==
                      0 &&
                  pending == 1,
              "a send whose mails cannot all be queued is not made (%d)", rc);
    }
    arena_release(&a);
}

static void contract_outbox(struct store *st, const char *url)
{
    struct store_newsletter na, nb;
    struct store_outbox *o;
    int64_t ids[6];
    size_t n, sent, failed, pending;
    struct arena a;
    int is_pg = strncmp(url, "postgres", 8) == 0;

    arena_init(&a);
    mail_audience(st, &a, &na, &nb, ids);
    CHECK(store_outbox_add(st, "confirm:1", ids[0], 100) == 0,
          "a confirmation mail is queued");
    CHECK(store_outbox_add(st, "confirm:1", ids[0], 200) == STORE_CONFLICT,
          "the same mail to the same subscriber twice is a conflict");
    CHECK(store_outbox_claim(st, &a, 99, 60, 10, &o, &n) == 0 && n == 0 &&
              o == NULL,
          "nothing is claimed before it is due");
    CHECK(store_outbox_claim(st, &a, 100, 60, 10, &o, &n) == 0 && n == 1 &&
              strcmp(o[0].send_id, "confirm:1") == 0 &&
              o[0].subscriber_id == ids[0] &&
              strcmp(o[0].email, "r0@example.org") == 0 && o[0].attempts == 1,
          "a due mail is claimed with its address");
    CHECK(store_outbox_claim(st, &a, 160, 60, 10, &o, &n) == 0 && n == 0,
          "a claimed mail is not claimed again while its lease holds");
    CHECK(store_outbox_claim(st, &a, 161, 60, 10, &o, &n) == 0 && n == 1 &&
              o[0].attempts == 2,
          "a mail whose lease ended is claimed again (a worker died)");
    CHECK(store_outbox_retry(st, o[0].id, 300, "timeout") == 0 &&
              store_outbox_claim(st, &a, 299, 60, 10, &o, &n) == 0 && n == 0,
          "a retried mail waits for its next attempt");
    CHECK(store_outbox_claim(st, &a, 300, 60, 10, &o, &n) == 0 && n == 1 &&
              o[0].attempts == 3,
          "a retried mail is claimed again when due");
    CHECK(store_outbox_release(st, o[0].id, 400, "unreachable") == 0 &&
              store_outbox_claim(st, &a, 399, 60, 10, &o, &n) == 0 && n == 0,
          "a released mail waits until it is due again");
    CHECK(store_outbox_claim(st, &a, 400, 60, 10, &o, &n) == 0 && n == 1 &&
              o[0].attempts == 3,
          "a released mail got back the attempt its claim counted");
    CHECK(store_outbox_fail(st, o[0].id, "bounced") == 0 &&
              store_outbox_progress(st, "confirm:1", &sent, &failed,
                                    &pending) == 0 &&
              failed == 1 && sent == 0 && pending == 0,
          "a failed mail counts as failed");
    CHECK(store_outbox_claim(st, &a, 100000, 60, 10, &o, &n) == 0 && n == 0,
          "a failed mail is never claimed");
    /* order: oldest due first, up to max */
    store_outbox_add(st, "confirm:2", ids[1], 10);
    store_outbox_add(st, "confirm:2", ids[2], 5);
    store_outbox_add(st, "confirm:2", ids[3], 7);
    CHECK(store_outbox_claim(st, &a, 1000, 60, 2, &o, &n) == 0 && n == 2 &&
              o[0].subscriber_id == ids[2] && o[1].subscriber_id == ids[3],
          "claims take the oldest due first, at most max");
    CHECK(store_outbox_sent(st, o[0].id, 1001) == 0 &&
              store_outbox_progress(st, "confirm:2", &sent, &failed,
                                    &pending) == 0 &&
              sent == 1 && failed == 0 && pending == 2,
          "progress counts sent, failed and pending mails");
    CHECK(store_outbox_claim(st, &a, 1000, 60, 0, &o, &n) == 0 && n == 0,
          "claiming at most 0 claims nothing");
    CHECK(store_outbox_sent(st, 999999, 1) == STORE_NOTFOUND &&
              store_outbox_retry(st, 999999, 1, NULL) == STORE_NOTFOUND &&
              store_outbox_release(st, 999999, 1, NULL) == STORE_NOTFOUND &&
              store_outbox_fail(st, 999999, NULL) == STORE_NOTFOUND,
          "marking a missing mail is not found");
    if (is_pg) {
        char err[256];
        struct store *other = store_open(url, err, sizeof err);
        struct store_subscription s;
        struct store_send sd = {
            .newsletter_id = na.id, .subject = "Quiet", .created_at = 1};
        struct store_newsletter nc = {.slug = "new", .name = "New"};
        uint64_t v0 = store_version(st), v1;
        int64_t id;

        CHECK(other != NULL, "a second handle opens");
        if (!other)
            goto out;
        version_settles(other);
        v1 = store_version(other);
        store_subscriber_upsert(st, "quiet@example.org", 1, &id);
        store_subscription_request(st, &a, id, na.id, 1, "quiet", &s);
        store_subscription_set(st, id, na.id, STORE_SUB_ACTIVE, 2, NULL);
        store_send_create(st, &sd);
        store_outbox_add(st, "confirm:q", id, 1);
        store_outbox_claim(st, &a, 1 << 30, 60, 100, &o, &n);
        store_outbox_sent(st, o[0].id, 3);
        store_outbox_retry(st, o[1].id, 3, "x");
        store_outbox_fail(st, o[2].id, "x");
        store_subscriptions_purge(st, 1 << 30, NULL);
        CHECK(store_version(st) == v0,
              "postgresql: subscriber, send and outbox writes leave this "
              "handle's version");
        CHECK(version_stays(other, v1),
              "postgresql: subscriber, send and outbox writes leave other "
              "nodes' version");
        store_newsletter_save(st, &nc);
        CHECK(version_moves(other, v1) && store_version(st) != v0,
              "postgresql: a newsletter write still moves it");
        store_close(other);
    }
out:
    arena_release(&a);
}

#define OUTBOX_ROWS 2000 /* mails the claimers share */
#define OUTBOX_THREADS 4 /* claiming threads */
#define OUTBOX_BATCH 25  /* rows per claim */

struct outbox_claimer {
    struct store *st;    /* shared handle, or NULL to open url */
    const char *url;     /* database */
    const int64_t *subs; /* subscriber ids, ascending */
    atomic_int *seen;    /* per subscriber index: times claimed */
    int errors;          /* failed calls or strange rows */
};

static void *outbox_claimer_run(void *arg)
{
    struct outbox_claimer *c = arg;
    struct store *st = c->st;
    struct store_outbox *o;
    struct arena a;
    char err[256];
    size_t n;

    if (!st)
        st = store_open(c->url, err, sizeof err);
    if (!st) {
        c->errors++;
        return NULL;
    }
    arena_init(&a);
    for (;;) {
        if (store_outbox_claim(st, &a, 1000, 600, OUTBOX_BATCH, &o, &n) != 0) {
            c->errors++;
            break;
        }
        if (n == 0)
            break;
        for (size_t i = 0; i < n; i++) {
            size_t lo = 0, hi = OUTBOX_ROWS;
            while (lo < hi) { /* the subscriber's index */
                size_t mid = (lo + hi) / 2;
                if (c->subs[mid] < o[i].subscriber_id)
                    lo = mid + 1;
                else
                    hi = mid;
            }
            if (lo < OUTBOX_ROWS && c->subs[lo] == o[i].subscriber_id)
                atomic_fetch_add(&c->seen[lo], 1);
            else
                c->errors++;
            if (store_outbox_sent(st, o[i].id, 1000) != 0)
                c->errors++;
        }
        arena_release(&a);
    }
    arena_release(&a);
    if (!c->st)
        store_close(st);
    return NULL;
}

static void contract_outbox_concurrency(struct store *st, const char *url)
{
    static int64_t subs[OUTBOX_ROWS];
    static atomic_int seen[OUTBOX_ROWS];
    struct outbox_claimer c[OUTBOX_THREADS];
    pthread_t th[OUTBOX_THREADS];
    struct store_newsletter na, nb;
    struct store_send sd = {.subject = "Everyone", .created_at = 1000};
    size_t sent, failed, pending;
    int errors = 0, once = 0;
    char sid[32];

    mail_newsletters(st, &na, &nb);
    store_tx_begin(st);
    for (int i = 0; i < OUTBOX_ROWS; i++) {
        char email[32], tok[16];
        snprintf(email, sizeof email, "c%04d@example.org", i);
        snprintf(tok, sizeof tok, "c%d", i);
        errors += store_subscriber_upsert(st, email, 1, &subs[i]) != 0;
        errors += store_subscription_set(st, subs[i], na.id, STORE_SUB_ACTIVE,
                                         1, tok) != 0;
        atomic_init(&seen[i], 0);
    }
    errors += store_tx_commit(st) != 0;
    for (int i = 1; i < OUTBOX_ROWS; i++)
        errors += subs[i] <= subs[i - 1];
    sd.newsletter_id = na.id;
    CHECK(errors == 0 && store_send_create(st, &sd) == 0 &&
              sd.total == OUTBOX_ROWS,
          "a send of %d mails is made (%zu)", OUTBOX_ROWS, sd.total);
    for (int i = 0; i < OUTBOX_THREADS; i++) {
        c[i] = (struct outbox_claimer){i < 2 ? st : NULL, url, subs, seen, 0};
        pthread_create(&th[i], NULL, outbox_claimer_run, &c[i]);
    }
    for (int i = 0; i < OUTBOX_THREADS; i++) {
        pthread_join(th[i], NULL);
        errors += c[i].errors;
    }
    for (int i = 0; i < OUTBOX_ROWS; i++)
        once += atomic_load(&seen[i]) == 1;
    CHECK(errors == 0,
          "%d threads (2 with their own handle) claim without "
          "errors (%d)",
          OUTBOX_THREADS, errors);
    CHECK(once == OUTBOX_ROWS, "every mail is claimed exactly once (%d)", once);
    snprintf(sid, sizeof sid, "send:%lld", (long long)sd.id);
    CHECK(store_outbox_progress(st, sid, &sent, &failed, &pending) == 0 &&
              sent == OUTBOX_ROWS && pending == 0,
          "every mail is sent (%zu)", sent);
}

/* --- narrations (schema 006) --------------------------------------------- */

/* "a,b" from the slugs of episodes. */
static const char *episode_slugs(struct arena *a, const struct store_episode *e,
                                 size_t n)
{
    const char *s = "";
    for (size_t i = 0; i < n; i++)
        s = arena_printf(a, "%s%s%s", s, i ? "," : "", e[i].slug);
    return s;
}

static struct store_narration mknar(int64_t post_id, const char *hash,
                                    enum store_narration_state state,
                                    const char *file, int64_t at)
{
    struct store_narration n;

    memset(&n, 0, sizeof n);
    n.post_id = post_id;
    n.source_hash = hash;
    n.voice = "espeak:en-gb";
    n.state = state;
    n.file = file;
    n.created_at = at;
    return n;
}

static void contract_narration_off(struct store *st, const char *url)
{
    struct store_post p = mkpost("quiet", STORE_POST_PUBLISHED, 10), got;
    struct store_post *list;
    struct store_post_query q = published();
    struct arena a;
    size_t n;

    (void)url;
    arena_init(&a);
    p.narration_off = 1;
    CHECK(store_post_save(st, &p, NULL, 0, NULL, 0) == 0,
          "narration off: a post saves with narration_off");
    CHECK(store_post_get(st, &a, p.id, &got) == 0 && got.narration_off == 1 &&
              store_post_get_by_slug(st, &a, "quiet", &got) == 0 &&
              got.narration_off == 1,
          "narration_off = 1 round-trips through save and get");
    CHECK(store_posts_list(st, &a, &q, &list, &n, NULL) == 0 && n == 1 &&
              list[0].narration_off == 1,
          "post lists read narration_off too");
    p.narration_off = 0;
    CHECK(store_post_save(st, &p, NULL, 0, NULL, 0) == 0 &&
              store_post_get(st, &a, p.id, &got) == 0 && got.narration_off == 0,
          "saving the post with narration_off = 0 turns audio back on");
    CHECK(store_post_set_narration_off(st, p.id, 1) == 0 &&
              store_post_get(st, &a, p.id, &got) == 0 &&
              got.narration_off == 1 && strcmp(got.title, "quiet") == 0 &&
              strcmp(got.html, p.html) == 0,
          "set_narration_off turns audio off and leaves the rest");
    CHECK(store_post_set_narration_off(st, p.id, 1) == 0,
          "setting the same value again is no error");
    CHECK(store_post_set_narration_off(st, p.id, 0) == 0 &&
              store_post_get(st, &a, p.id, &got) == 0 && got.narration_off == 0,
          "set_narration_off turns audio back on");
    CHECK(store_post_set_narration_off(st, p.id + 100, 1) == STORE_NOTFOUND,
          "set_narration_off on a missing post is not found");
    arena_release(&a);
}

static void contract_narrations(struct store *st, const char *url)
{
    struct store_author ana = {.slug = "ana", .name = "Ana Lima"};
    struct store_author ben = {.slug = "ben", .name = "Ben Okafor"};
    struct store_post old = mkpost("old", STORE_POST_PUBLISHED, 100);
    struct store_post fresh = mkpost("new", STORE_POST_PUBLISHED, 200);
    struct store_post draft = mkpost("draft", STORE_POST_DRAFT, 0);
    struct store_post off = mkpost("off", STORE_POST_PUBLISHED, 150);
    struct store_post bare = mkpost("bare", STORE_POST_PUBLISHED, 50);
    struct store_post bare2 = mkpost("bare2", STORE_POST_PUBLISHED, 60);
    struct store_post waiting = mkpost("waiting", STORE_POST_PUBLISHED, 70);
    struct store_narration n1, n1b, n2, n3, n4, n5, n6, other, got;
    struct store *other_st;
    char err[256];
    struct store_episode *ep;
    const char **files;
    int64_t *ids, byline[2];
    struct arena a;
    uint64_t v;
    size_t n;

    arena_init(&a);
    store_author_save(st, &ana);
    store_author_save(st, &ben);
    byline[0] = ben.id;
    byline[1] = ana.id;
    old.standfirst = "The dek";
    off.narration_off = 1;
    CHECK(store_post_save(st, &old, byline, 2, NULL, 0) == 0 &&
              store_post_save(st, &fresh, &ana.id, 1, NULL, 0) == 0 &&
              store_post_save(st, &draft, &ana.id, 1, NULL, 0) == 0 &&
              store_post_save(st, &off, NULL, 0, NULL, 0) == 0 &&
              store_post_save(st, &bare, NULL, 0, NULL, 0) == 0 &&
              store_post_save(st, &bare2, NULL, 0, NULL, 0) == 0 &&
              store_post_save(st, &waiting, NULL, 0, NULL, 0) == 0,
          "narrations: the posts save");

    CHECK(store_narration_latest(st, &a, old.id, &got) == STORE_NOTFOUND &&
              store_narration_ready(st, &a, old.id, &got) == STORE_NOTFOUND,
          "a post without narrations has no latest or ready one");
    n1 = mknar(old.id, "h1", STORE_NARRATION_PENDING, NULL, 10);
    v = store_version(st);
    CHECK(store_narration_save(st, &n1) == 0 && n1.id > 0,
          "a pending narration saves and gets an id");
    CHECK(version_moves(st, v),
          "saving a narration moves the store version (page caches)");
    CHECK(store_narration_latest(st, &a, old.id, &got) == 0 &&
              got.id == n1.id && got.state == STORE_NARRATION_PENDING &&
              got.file == NULL && got.error == NULL &&
              strcmp(got.source_hash, "h1") == 0 &&
              strcmp(got.voice, "espeak:en-gb") == 0 && got.created_at == 10,
          "the latest narration is the pending one, as saved");
    CHECK(store_narration_ready(st, &a, old.id, &got) == STORE_NOTFOUND,
          "a pending narration is not ready");

    n1b = mknar(old.id, "h1", STORE_NARRATION_READY, "audio/old-1.mp3", 20);
    n1b.duration_ms = 61000;
    n1b.bytes = 123456;
    CHECK(store_narration_save(st, &n1b) == 0 && n1b.id == n1.id &&
              store_table_rows(st, "narrations") == 1,
          "saving the same post, hash and voice updates the row");
    CHECK(store_narration_ready(st, &a, old.id, &got) == 0 && got.id == n1.id &&
              got.state == STORE_NARRATION_READY && got.file &&
              strcmp(got.file, "audio/old-1.mp3") == 0 &&
              got.duration_ms == 61000 && got.bytes == 123456 &&
              got.created_at == 20,
          "the update wrote file, duration, bytes, state and time");
    other = mknar(old.id, "h1", STORE_NARRATION_PENDING, NULL, 5);
    other.voice = "command";
    CHECK(store_narration_save(st, &other) == 0 && other.id != n1.id,
          "another voice for the same text is a row of its own");

    n2 = mknar(old.id, "h2", STORE_NARRATION_FAILED, "audio/partial.mp3", 30);
    n2.error = "espeak-ng exited with status 1";
    CHECK(store_narration_save(st, &n2) == 0, "a failed narration saves");
    CHECK(store_narration_latest(st, &a, old.id, &got) == 0 &&
              got.id == n2.id && got.state == STORE_NARRATION_FAILED &&
              got.error && strcmp(got.error, n2.error) == 0,
          "the latest is the failed one, with why it failed");
    CHECK(store_narration_ready(st, &a, old.id, &got) == 0 && got.id == n1.id,
          "the ready one is still the older ready narration");
    n2.error = NULL;
    n2.state = STORE_NARRATION_PENDING;
    CHECK(store_narration_save(st, &n2) == 0 &&
              store_narration_latest(st, &a, old.id, &got) == 0 &&
              got.id == n2.id && got.error == NULL &&
              got.state == STORE_NARRATION_PENDING,
          "a retry clears the error");
    n2.error = "espeak-ng exited with status 1";
    n2.state = STORE_NARRATION_FAILED;
    store_narration_save(st, &n2);

    n3 = mknar(old.id, "h3", STORE_NARRATION_READY, "audio/old-3.mp3", 40);
    n3.bytes = 2000;
    n4 = mknar(fresh.id, "h4", STORE_NARRATION_READY, "audio/new-4.mp3", 15);
    n5 = mknar(draft.id, "h5", STORE_NARRATION_READY, "audio/draft.mp3", 16);
    n6 = mknar(waiting.id, "h6", STORE_NARRATION_PENDING, NULL, 17);
    CHECK(store_narration_save(st, &n3) == 0 &&
              store_narration_save(st, &n4) == 0 &&
              store_narration_save(st, &n5) == 0 &&
              store_narration_save(st, &n6) == 0,
          "narrations of several posts save");
    CHECK(store_narration_ready(st, &a, old.id, &got) == 0 && got.id == n3.id &&
              store_narration_latest(st, &a, old.id, &got) == 0 &&
              got.id == n3.id,
          "a newer ready narration is both latest and ready");
    got = mknar(old.id, "h9", (enum store_narration_state)7, NULL, 1);
    CHECK(store_narration_save(st, &got) == STORE_ERROR,
          "a narration with an unknown state is refused");

    CHECK(store_episodes(st, &a, 0, &ep, &n) == 0 &&
              strcmp(episode_slugs(&a, ep, n), "new,old") == 0,
          "episodes: published posts only, newest published first (%s)",
          episode_slugs(&a, ep, n));
    CHECK(n == 2 && ep[1].nar.id == n3.id && ep[1].nar.bytes == 2000 &&
              strcmp(ep[1].nar.file, "audio/old-3.mp3") == 0 &&
              ep[0].nar.id == n4.id,
          "episodes: one per post, its newest ready narration");
    CHECK(n == 2 && strcmp(ep[1].title, "old") == 0 &&
              strcmp(ep[1].excerpt, "excerpt") == 0 && ep[1].standfirst &&
              strcmp(ep[1].standfirst, "The dek") == 0 &&
              ep[1].published_at == 100 && ep[0].standfirst == NULL,
          "episodes: the post's title, excerpt, standfirst and date");
    CHECK_STR(n == 2 ? ep[1].authors : NULL, "Ben Okafor, Ana Lima",
              "episodes: authors joined in byline order");
    CHECK_STR(n == 2 ? ep[0].authors : NULL, "Ana Lima",
              "episodes: a single author");
    CHECK(store_episodes(st, &a, 1, &ep, &n) == 0 && n == 1 &&
              strcmp(ep[0].slug, "new") == 0,
          "episodes: at most limit");

    CHECK(store_posts_unnarrated(st, &a, 0, &ids, &n) == 0 && n == 2 &&
              ids[0] == bare.id && ids[1] == bare2.id,
          "unnarrated: published, not switched off, without any "
          "narration row, oldest first (%zu)",
          n);
    CHECK(store_posts_unnarrated(st, &a, 1, &ids, &n) == 0 && n == 1 &&
              ids[0] == bare.id,
          "unnarrated: at most limit");
    store_post_set_narration_off(st, off.id, 0);
    CHECK(store_posts_unnarrated(st, &a, 0, &ids, &n) == 0 && n == 3 &&
              ids[2] == off.id,
          "unnarrated: a post switched back on is to narrate again");

    CHECK(store_narrations_prune(st, &a, old.id, n3.id, &files, &n) == 0 &&
              n == 1 && strcmp(files[0], "audio/old-1.mp3") == 0,
          "prune: the files of the deleted ready rows, not the failed one's");
    CHECK(store_narration_latest(st, &a, old.id, &got) == 0 &&
              got.id == n3.id &&
              store_narration_ready(st, &a, old.id, &got) == 0 &&
              got.id == n3.id && store_table_rows(st, "narrations") == 4,
          "prune: keep_id stays, other posts' narrations stay");
    CHECK(store_narrations_prune(st, &a, old.id, n3.id, &files, &n) == 0 &&
              n == 0,
          "prune: nothing more to delete");
    CHECK(store_narrations_prune(st, &a, fresh.id, 0, NULL, &n) == 0 &&
              n == 1 &&
              store_narration_latest(st, &a, fresh.id, &got) == STORE_NOTFOUND,
          "prune: keep_id 0 deletes them all; files may be NULL");
    CHECK(store_episodes(st, &a, 0, &ep, &n) == 0 && n == 1 &&
              strcmp(ep[0].slug, "old") == 0,
          "episodes: a post without ready narrations drops out");
    other_st = store_open(url, err, sizeof err);
    CHECK(other_st != NULL, "narrations: a second handle opens");
    if (other_st) {
        n4.id = 0;
        CHECK(version_settles(st), "narrations: the version settles");
        v = store_version(st);
        CHECK(store_narration_save(other_st, &n4) == 0 && version_moves(st, v),
              "a narration made by another process (the worker) moves "
              "this one's version: pages with the player are rebuilt");
        store_close(other_st);
    }
    CHECK(store_post_delete(st, old.id) == 0 &&
              store_narration_latest(st, &a, old.id, &got) == STORE_NOTFOUND,
          "deleting a post deletes its narrations");
    arena_release(&a);
}

int main(void)
{
    static const struct store_contract contracts[] = {
        {"subscribers", contract_subscribers},
        {"subscriptions", contract_subscriptions},
        {"subscriptions purge", contract_subscriptions_purge},
        {"subscriptions search and counts", contract_subscriptions_search},
        {"subscriptions by day", contract_subscription_daily},
        {"sends", contract_sends},
        {"outbox", contract_outbox},
        {"outbox claimed once", contract_outbox_concurrency},
        {"narration off", contract_narration_off},
        {"narrations", contract_narrations},
    };

    return store_contracts_main(contracts,
                                sizeof contracts / sizeof contracts[0]);
}
