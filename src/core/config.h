/*
 * config.h - a site's settings, read from DIR/site.conf.
 *
 * The file is `key = value` lines; `#` starts a comment line; blank lines are
 * ignored. Every key is optional (config_defaults() gives each one a sane
 * value); an unknown key or a bad value is an error naming file, line and
 * key, e.g. "site.conf:4: unknown key 'titel'". docs/configuration.md lists
 * the keys.
 */
#ifndef CORE_CONFIG_H
#define CORE_CONFIG_H

#include <stddef.h>

struct config {
    char title[256];        /* the paper's name */
    char description[512];  /* one line, for meta description and feeds */
    char url[512];          /* public base URL, no trailing slash */
    char timezone[64];      /* IANA zone, "Europe/London" */
    char language[36];      /* BCP 47 tag, "en" */
    char listen[128];       /* "ADDR:PORT" the server listens on */
    char database[1024];    /* "newsroom.db" (relative to DIR) or a URL */
    unsigned reading_speed; /* words per minute, 50..1000 */
    unsigned page_size;     /* articles per list page, 1..100 */
    char feed_content[16];  /* site feeds carry "full" articles or "excerpt" */
    unsigned feed_items;    /* newest articles per site feed, 1..100 */
    int access_log;         /* 1 = one log line per request */
    char metrics_listen[128]; /* "ADDR:PORT" of the /metrics server, or ""
                                 = none (docs/metrics.md) */
    unsigned cache_mb;        /* page cache budget in MB, 0 = off */
    char purge_url[512];      /* PURGE on change, or "" */
    /* mail (docs/mail.md); the SMTP password comes from the environment
     * (NEWSROOM_SMTP_PASSWORD), never from site.conf */
    char smtp_url[512];        /* "smtp://host:port", "smtps://host:port", or ""
                                  = no SMTP: .eml files under DIR/mail/ */
    char smtp_user[256];       /* AUTH user name, "" = no AUTH */
    char smtp_starttls[16];    /* "try", "required" or "off" */
    unsigned mail_rate;        /* messages per second per node, 1..10000 */
    char mail_from[512];       /* "Name <addr>" or "addr"; "" = newsroom@ the
                                  host of url (see config_mail_from) */
    char narration_engine[16]; /* "espeak" (default), "command" or "off" */
    char narration_voice[64];  /* espeak voice ("en-gb"); "" = by language */
    unsigned narration_speed;  /* words per minute, 80..450 */
    char narration_command[512]; /* the "command" engine's shell command */
    unsigned narration_timeout;  /* seconds before a command is killed */
    unsigned narration_kbps;     /* MP3 bit rate, 32..128 */
};

/* Fills every field with its default. */
void config_defaults(struct config *c);

/* Loads path over the defaults. Returns 0, or -1 with a one-line reason in
 * err ("site.conf:4: bad value for 'reading_speed': ..."); a missing file is
 * an error too. */
int config_load(struct config *c, const char *path, char *err, size_t errlen);

/* Parses text (len bytes) as if it were the file `name`; what config_load
 * does after reading. Exposed for tests. */
int config_parse(struct config *c, const char *name, const char *text,
                 size_t len, char *err, size_t errlen);

/* The default sender of mail: mail_from split into a display name ("" if
 * none) and an address, or, when mail_from is "", no name and "newsroom@"
 * plus the host of url (a host without a dot, or an IP address, gives
 * "newsroom@localhost.invalid": such a site cannot receive mail anyway). */
void config_mail_from(const struct config *c, char *name, size_t namelen,
                      char *addr, size_t addrlen);

/* Writes a commented site.conf holding c's values to path (which must not
 * exist). 0 or -1 with the reason in err. */
int config_write(const struct config *c, const char *path, char *err,
                 size_t errlen);

#endif
