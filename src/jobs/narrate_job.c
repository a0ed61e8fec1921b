/*
 * narrate_job.c - the narrate and narrate_missing jobs: an audio version
 * of every published article (docs/narration.md).
 *
 * DESIGN
 * narrate (payload: the post id) prepares the text a listener hears
 * (speech_prepare: headline, byline, body without furniture, numbers and
 * dates spelt out), and hashes it with the engine, voice, speed and bit
 * rate. When the post's newest narration has that hash and is ready,
 * nothing is done: an unchanged article is never narrated twice (editing
 * only tags or the picture changes nothing heard). Otherwise a pending
 * row is written, the engine makes media/audio/SLUG-HASH.mp3 (atomically),
 * and the row becomes ready with its duration and size - or failed with
 * the reason, and the job is retried later with backoff. Older narrations
 * of the post and their files are removed once a new one is ready.
 * Synthesis runs on a job worker thread, never on the request path; serve
 * runs several workers, so a long article does not hold up publishing or
 * mail.
 * narrate_missing (queued by the ticker) queues narrate for published
 * posts that have no narration yet: demo articles, scheduled posts that
 * went live, posts published by any other node or tool.
 * Who queues: the desk after a published save (desk_narrate_queue), the
 * regenerate button, and narrate_missing.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "core/arena.h"
#include "core/config.h"
#include "core/log.h"
#include "jobs/jobs.h"
#include "speech/speech.h"
#include "store/store.h"

#define MISSING_BATCH 20 /* posts queued per narrate_missing run */

/* The byline as read aloud: "Ada Author and Wren Writer". */
static const char *byline(struct arena *a, const struct store_post *p)
{
    const char *s = "";

    for (size_t i = 0; i < p->nauthors; i++)
        s = arena_printf(a, "%s%s%s", s,
                         i == 0                 ? ""
                         : i + 1 == p->nauthors ? " and "
                                                : ", ",
                         p->authors[i].name);
    return s;
}

/* The language subtag of a BCP 47 tag ("en-GB" -> "en"), in a. */
static const char *lang_of(struct arena *a, const char *tag)
{
    size_t n = tag ? strcspn(tag, "-_") : 0;
    return n ? arena_strndup(a, tag, n) : "en";
}

static int load_config(struct config *cfg, char *err, size_t errlen)
{
    char path[1200], why[300];
    const char *dir = job_site_dir();

    config_defaults(cfg);
    snprintf(path, sizeof path, "%s/site.conf", dir);
    if (!*dir || config_load(cfg, path, why, sizeof why) < 0) {
        snprintf(err, errlen, "cannot read the site's settings: %s",
                 *dir ? why : "no site folder");
        return -1;
    }
    return 0;
}

/* Removes the files of narrations the store just forgot. */
static void remove_files(const char *const *files, size_t n, const char *keep)
{
    for (size_t i = 0; i < n; i++) {
        char path[1400];
        if (!files[i] || (keep && strcmp(files[i], keep) == 0) ||
            strstr(files[i], ".."))
            continue;
        snprintf(path, sizeof path, "%s/media/%s", job_site_dir(), files[i]);
        if (unlink(path) != 0 && errno != ENOENT)
            log_warn("cannot remove old narration '%s': %s", path,
                     strerror(errno));
    }
}

/* A short hash of the post's body as stored (hex into out). */
static void body_hash(const struct store_post *p, char out[17])
{
    unsigned char h[8];
    crypto_generichash_state hs;

    crypto_generichash_init(&hs, NULL, 0, sizeof h);
    crypto_generichash_update(&hs, (const unsigned char *)p->title,
                              strlen(p->title));
    if (p->html)
        crypto_generichash_update(&hs, (const unsigned char *)p->html,
                                  strlen(p->html));
    crypto_generichash_final(&hs, h, sizeof h);
    sodium_bin2hex(out, 17, h, sizeof h);
}

int job_narrate(struct store *st, struct arena *a, const struct store_job *job,
                char *err, size_t errlen)
{
    struct config cfg;
    struct store_post p;
    struct store_narration n = {0}, old;
    struct speech_opts o = {0};
    char *text = NULL, why[400] = "";
    int64_t id = strtoll(job->payload, NULL, 10);

    if (id <= 0)
        return JOB_FAILED;
    if (load_config(&cfg, err, errlen) < 0)
        return JOB_RETRY;
    int rc = store_post_get(st, a, id, &p);
    if (rc == STORE_NOTFOUND)
        return JOB_DONE; /* deleted since */
    if (rc != STORE_OK) {
        snprintf(err, errlen, "cannot read post %" PRId64, id);
        return JOB_RETRY;
    }
    if (p.status != STORE_POST_PUBLISHED || p.narration_off ||
        strcmp(cfg.narration_engine, "off") == 0)
        return JOB_DONE;

    o.engine = cfg.narration_engine;
    o.lang = lang_of(a, p.language);
    o.voice = *cfg.narration_voice ? cfg.narration_voice : NULL;
    o.wpm = cfg.narration_speed;
    o.command = cfg.narration_command;
    o.timeout_s = cfg.narration_timeout;
    o.kbps = cfg.narration_kbps;
    if (speech_prepare(o.lang, p.title, byline(a, &p), p.html ? p.html : "",
                       &text, why, sizeof why) < 0) {
        snprintf(err, errlen, "cannot prepare the text: %s", why);
        return JOB_FAILED;
    }
    const char *voice =
        strcmp(o.engine, "command") == 0
            ? "command"
            : arena_printf(a, "espeak:%s", o.voice ? o.voice : o.lang);
    /* the hash of what would be heard, and how */
    unsigned char h[16];
    char hex[33];
    crypto_generichash_state hs;
    crypto_generichash_init(&hs, NULL, 0, sizeof h);
    crypto_generichash_update(&hs, (const unsigned char *)text, strlen(text));
    const char *how = arena_printf(a, "|%s|%s|%u|%u|%s", o.engine, voice, o.wpm,
                                   o.kbps, o.command ? o.command : "");
    crypto_generichash_update(&hs, (const unsigned char *)how, strlen(how));
    crypto_generichash_final(&hs, h, sizeof h);
    sodium_bin2hex(hex, sizeof hex, h, sizeof h);

    int retrying = 0;
    if (store_narration_latest(st, a, id, &old) == STORE_OK &&
        strcmp(old.source_hash, hex) == 0) {
        if (old.state == STORE_NARRATION_READY) {
            free(text);
            return JOB_DONE; /* unchanged: never narrated twice */
        }
        /* a retry: the desk keeps showing why the last try failed */
        retrying = old.state == STORE_NARRATION_FAILED;
    }
    n.post_id = id;
    n.source_hash = hex;
    n.voice = voice;
    n.state = STORE_NARRATION_PENDING;
    n.created_at = (int64_t)time(NULL);
    if (!retrying && store_narration_save(st, &n) != STORE_OK) {
        free(text);
        snprintf(err, errlen, "cannot record the narration");
        return JOB_RETRY;
    }

    char dir[1200], path[1400];
    snprintf(dir, sizeof dir, "%s/media/audio", job_site_dir());
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        free(text);
        snprintf(err, errlen, "cannot create '%s': %s", dir, strerror(errno));
        return JOB_RETRY;
    }
    const char *file = arena_printf(a, "audio/%.80s-%.12s.mp3", p.slug, hex);
    snprintf(path, sizeof path, "%s/media/%s", job_site_dir(), file);
    unsigned duration_ms = 0;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    rc = speech_synthesize(&o, text, p.title, path, &duration_ms, why,
                           sizeof why);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    free(text);
    /* the text changed while we spoke: the newer job narrates that */
    struct store_post now;
    char before[17], after[17];
    body_hash(&p, before);
    if (rc == 0 && store_post_get(st, a, id, &now) == STORE_OK) {
        body_hash(&now, after);
        if (strcmp(before, after) != 0) {
            unlink(path);
            return JOB_DONE;
        }
    }
    if (rc < 0) {
        n.state = STORE_NARRATION_FAILED;
        n.error = why;
        n.created_at = (int64_t)time(NULL);
        store_narration_save(st, &n);
        snprintf(err, errlen, "narration of post %" PRId64 " failed: %s", id,
                 why);
        return JOB_RETRY;
    }
    struct stat sb;
    n.file = file;
    n.duration_ms = duration_ms;
    n.bytes = stat(path, &sb) == 0 ? (int64_t)sb.st_size : 0;
    n.state = STORE_NARRATION_READY;
    n.error = NULL;
    n.created_at = (int64_t)time(NULL);
    if (store_narration_save(st, &n) != STORE_OK) {
        snprintf(err, errlen, "cannot record the narration");
        return JOB_RETRY;
    }
    const char **gone = NULL;
    size_t ngone = 0;
    if (store_narrations_prune(st, a, id, n.id, &gone, &ngone) == STORE_OK)
        remove_files(gone, ngone, file);
    log_info("narrated post %" PRId64 " '%s': %u s of audio in %.1f s", id,
             p.slug, duration_ms / 1000,
             (double)(t1.tv_sec - t0.tv_sec) +
                 (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
    return JOB_DONE;
}

int job_narrate_missing(struct store *st, struct arena *a,
                        const struct store_job *job, char *err, size_t errlen)
{
    struct config cfg;
    int64_t *ids = NULL;
    size_t n = 0;

    (void)job;
    if (load_config(&cfg, err, errlen) < 0)
        return JOB_RETRY;
    if (strcmp(cfg.narration_engine, "off") == 0)
        return JOB_DONE;
    if (store_posts_unnarrated(st, a, MISSING_BATCH, &ids, &n) != STORE_OK) {
        snprintf(err, errlen, "cannot list posts to narrate");
        return JOB_RETRY;
    }
    for (size_t i = 0; i < n; i++) {
        struct store_post p;
        if (store_post_get(st, a, ids[i], &p) == STORE_OK)
            job_narrate_queue(st, &p);
    }
    return JOB_DONE;
}

void job_narrate_queue(struct store *st, const struct store_post *p)
{
    char payload[32], key[80], hb[17];

    body_hash(p, hb);
    snprintf(payload, sizeof payload, "%" PRId64, p->id);
    /* one job per version of the text: a save during a running narration
     * queues the new version instead of being absorbed by the old one */
    snprintf(key, sizeof key, "narrate:%" PRId64 ":%s", p->id, hb);
    if (store_job_add(st, "narrate", payload, 0, key, NULL) == STORE_OK)
        job_runner_wake();
}
