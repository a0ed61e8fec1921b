/*
 * config.c - site.conf parsing and writing; see config.h.
 *
 * A table of keys, each with a validator, drives both the parser and the
 * writer, so a new key is one row here plus one line in
 * docs/configuration.md.
 */
#include "core/config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/bounds.h"
#include "core/str.h"

enum kind {
    TEXT,
    URL,
    ZONE,
    LANG,
    LISTEN,
    UINT,
    BOOL,
    SMTP_URL,
    USER,
    STARTTLS,
    SENDER,
    ENGINE,
    VOICE,
    COMMAND,
    FEEDMODE,
    OPT_URL,
    OPT_LISTEN
};

struct key {
    const char *name; /* key in site.conf */
    enum kind kind;   /* validator */
    size_t off;       /* offset of the field in struct config */
    size_t size;      /* field size (text) */
    unsigned lo, hi;  /* bounds (UINT) */
    const char *doc;  /* comment written above the key */
};

#define F(field)                                                               \
    offsetof(struct config, field), sizeof(((struct config *)0)->field)

static const struct key keys[] = {
    {"title", TEXT, F(title), 0, 0, "The paper's name, shown in the masthead"},
    {"description", TEXT, F(description), 0, 0,
     "One line about the paper, for search engines and feeds"},
    {"url", URL, F(url), 0, 0,
     "Public address readers use (for links in feeds and emails)"},
    {"timezone", ZONE, F(timezone), 0, 0,
     "Time zone for dates on the site (IANA name)"},
    {"language", LANG, F(language), 0, 0, "Language of the site (BCP 47)"},
    {"listen", LISTEN, F(listen), 0, 0,
     "Address and port `newsroom serve` listens on"},
    {"database", TEXT, F(database), 0, 0,
     "SQLite file (relative to the site directory) or database URL"},
    {"reading_speed", UINT, F(reading_speed), 50, 1000,
     "Words per minute for \"N min read\""},
    {"page_size", UINT, F(page_size), 1, 100, "Articles per list page"},
    {"feed_content", FEEDMODE, F(feed_content), 0, 0,
     "Site feeds (RSS, Atom, JSON Feed) carry: full (the article) or\n"
     "# excerpt (the standfirst or excerpt)"},
    {"feed_items", UINT, F(feed_items), 1, 100,
     "Newest articles listed in each site feed"},
    {"access_log", BOOL, F(access_log), 0, 0,
     "Log one line per request (yes/no)"},
    {"metrics_listen", OPT_LISTEN, F(metrics_listen), 0, 0,
     "Address and port of a second server answering only GET /metrics\n"
     "# (Prometheus, docs/metrics.md); keep it private. Empty: off"},
    {"cache_mb", UINT, F(cache_mb), 0, 65536,
     "Memory for cached pages, in MB (gzip and brotli copies included);\n"
     "# 0 turns the page cache off"},
    {"purge_url", OPT_URL, F(purge_url), 0, 0,
     "Sent a PURGE request (Surrogate-Key: newsroom) when pages change,\n"
     "# for a CDN or Varnish in front (docs/caching.md); empty: none"},
    {"smtp_url", SMTP_URL, F(smtp_url), 0, 0,
     "SMTP server for newsletters, smtp://host:port or smtps://host:port;\n"
     "# empty: write each message as an .eml file under mail/ instead"},
    {"smtp_user", USER, F(smtp_user), 0, 0,
     "SMTP user name (empty: no login); the password is read from the\n"
     "# environment variable NEWSROOM_SMTP_PASSWORD, never from this file"},
    {"smtp_starttls", STARTTLS, F(smtp_starttls), 0, 0,
     "Encrypt smtp:// with STARTTLS: try, required or off"},
    {"mail_rate", UINT, F(mail_rate), 1, 10000,
     "Most messages sent per second by each node"},
    {"mail_from", SENDER, F(mail_from), 0, 0,
     "Sender of mail that has no newsletter sender, \"Name <address>\";\n"
     "# empty: newsroom@ the host of url"},
    {"narration_engine", ENGINE, F(narration_engine), 0, 0,
     "Narrated articles: espeak (built in), command (narration_command),\n"
     "# or off"},
    {"narration_voice", VOICE, F(narration_voice), 0, 0,
     "espeak-ng voice, e.g. en-gb or uk; empty: from each article's "
     "language"},
    {"narration_speed", UINT, F(narration_speed), 80, 450,
     "Narration speed in words per minute"},
    {"narration_command", COMMAND, F(narration_command), 0, 0,
     "For narration_engine = command: a shell command that reads the text\n"
     "# on stdin and writes a WAV on stdout (docs/narration.md)"},
    {"narration_timeout", UINT, F(narration_timeout), 10, 7200,
     "Seconds a narration command may run before it is stopped"},
    {"narration_kbps", UINT, F(narration_kbps), 32, 128,
     "MP3 bit rate of narrations (speech: 48)"},
};

#undef F

void config_defaults(struct config *c)
{
    memset(c, 0, sizeof(*c));
    snprintf(c->title, sizeof c->title, "%s", "The Newsroom");
    snprintf(c->description, sizeof c->description, "%s",
             "Independent news, funded by readers");
    snprintf(c->url, sizeof c->url, "%s", "http://127.0.0.1:8080");
    snprintf(c->timezone, sizeof c->timezone, "%s", "UTC");
    snprintf(c->language, sizeof c->language, "%s", "en");
    snprintf(c->listen, sizeof c->listen, "%s", "127.0.0.1:8080");
    snprintf(c->database, sizeof c->database, "%s", "newsroom.db");
    c->reading_speed = 230;
    c->page_size = BOUND_PAGE_SIZE;
    snprintf(c->feed_content, sizeof c->feed_content, "%s", "full");
    c->feed_items = 20;
    c->access_log = 0;
    c->cache_mb = 256;
    snprintf(c->smtp_starttls, sizeof c->smtp_starttls, "%s", "try");
    c->mail_rate = 50;
    snprintf(c->narration_engine, sizeof c->narration_engine, "%s", "espeak");
    c->narration_speed = 165;
    c->narration_timeout = 600;
    c->narration_kbps = 48;
}

static int valid_url(const char *v)
{
    const char *host;
    if (strncmp(v, "https://", 8) == 0)
        host = v + 8;
    else if (strncmp(v, "http://", 7) == 0)
        host = v + 7;
    else
        return 0;
    if (!*host || *host == '/')
        return 0;
    for (const char *p = v; *p; p++)
        if ((unsigned char)*p <= ' ' || *p == '"' || *p == '<' || *p == '>' ||
            *p == '\\' || *p == '?' || *p == '#')
            return 0;
    return 1;
}

static int valid_zone(const char *v)
{
    char path[256];
    struct stat st;
    if (strcmp(v, "UTC") == 0)
        return 1;
    if (!*v || v[0] == '/' || strstr(v, ".."))
        return 0;
    for (const char *p = v; *p; p++)
        if (!isalnum((unsigned char)*p) && !strchr("/_-+", *p))
            return 0;
    snprintf(path, sizeof path, "/usr/share/zoneinfo/%s", v);
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static int valid_lang(const char *v)
{
    size_t n = 0;
    while (islower((unsigned char)v[n]))
        n++;
    if (n < 2 || n > 3)
        return 0;
    for (const char *p = v + n; *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '-')
            return 0;
    return v[n] == '\0' || (v[n] == '-' && v[n + 1]);
}

static int valid_listen(const char *v)
{
    const char *colon = strrchr(v, ':');
    char *end;
    if (!colon || colon[1] == '\0')
        return 0;
    errno = 0;
    long port = strtol(colon + 1, &end, 10);
    if (errno || *end || port < 0 || port > 65535)
        return 0;
    for (const char *p = v; p < colon; p++)
        if (!isxdigit((unsigned char)*p) && !strchr(".:[]", *p) &&
            !isalpha((unsigned char)*p))
            return 0;
    return 1;
}

/* smtp://host[:port] or smtps://host[:port] (one optional trailing '/'),
 * or "". No user or password in it, no spaces. */
static int valid_smtp_url(const char *v)
{
    const char *h, *e;
    if (!*v)
        return 1;
    if (strncmp(v, "smtp://", 7) == 0)
        h = v + 7;
    else if (strncmp(v, "smtps://", 8) == 0)
        h = v + 8;
    else
        return 0;
    if (*h == '[') {
        e = strchr(h, ']');
        if (!e || e == h + 1)
            return 0;
        for (const char *p = h + 1; p < e; p++)
            if (!isxdigit((unsigned char)*p) && *p != ':' && *p != '.')
                return 0;
        e++;
    } else {
        e = h;
        while (isalnum((unsigned char)*e) || *e == '.' || *e == '-')
            e++;
        if (e == h)
            return 0;
    }
    if (*e == ':') {
        char *end;
        errno = 0;
        long port = strtol(e + 1, &end, 10);
        if (errno || end == e + 1 || !isdigit((unsigned char)e[1]) ||
            port < 1 || port > 65535)
            return 0;
        e = end;
    }
    return *e == '\0' || strcmp(e, "/") == 0;
}

/* An SMTP user name: empty, or printable without spaces. */
static int valid_user(const char *v)
{
    for (const char *p = v; *p; p++)
        if ((unsigned char)*p <= ' ' || *p == 0x7f)
            return 0;
    return 1;
}

/* "", "addr" or "Name <addr>" where addr is local@domain.tld (the full
 * check is mail_address_check's, when mail is composed). */
static int valid_sender(const char *v)
{
    const char *a = v, *ae = v + strlen(v), *at;
    if (!*v)
        return 1;
    if (ae[-1] == '>') {
        a = strrchr(v, '<');
        if (!a)
            return 0;
        for (const char *p = v; p < a; p++)
            if (*p == '<' || *p == '>' || *p == '"' || *p == '\\')
                return 0;
        a++;
        ae--;
    }
    at = memchr(a, '@', (size_t)(ae - a));
    if (!at || at == a || !memchr(at, '.', (size_t)(ae - at)) || ae[-1] == '.')
        return 0;
    for (const char *p = a; p < ae; p++)
        if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7f ||
            strchr("<>\"(),;:[]\\", *p) || (*p == '@' && p != at))
            return 0;
    return 1;
}

void config_mail_from(const struct config *c, char *name, size_t namelen,
                      char *addr, size_t addrlen)
{
    const char *v = c->mail_from, *lt = strrchr(v, '<');
    size_t n = strlen(v);

    name[0] = '\0';
    if (*v && lt && v[n - 1] == '>') {
        const char *ne = lt;
        while (ne > v && ne[-1] == ' ')
            ne--;
        snprintf(name, namelen, "%.*s", (int)(ne - v), v);
        snprintf(addr, addrlen, "%.*s", (int)(v + n - 1 - lt - 1), lt + 1);
        return;
    }
    if (*v) {
        snprintf(addr, addrlen, "%s", v);
        return;
    }
    /* the host of url: after "://", before any port or path */
    const char *h = strstr(c->url, "://");
    h = h ? h + 3 : c->url;
    size_t hl = strcspn(h, ":/");
    int letters = 0;
    for (size_t i = 0; i < hl; i++)
        if (isalpha((unsigned char)h[i]))
            letters = 1;
    if (*h == '[' || !memchr(h, '.', hl) || !letters ||
        isdigit((unsigned char)h[hl - 1]))
        snprintf(addr, addrlen, "%s", "newsroom@localhost.invalid");
    else
        snprintf(addr, addrlen, "newsroom@%.*s", (int)hl, h);
    for (char *p = addr; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
}

static const char *expect(enum kind k)
{
    switch (k) {
    case URL:
        return "expected an http:// or https:// address without query";
    case OPT_URL:
        return "expected an http:// or https:// address (or nothing)";
    case ZONE:
        return "expected a time zone name such as Europe/London";
    case LANG:
        return "expected a language tag such as en or uk";
    case LISTEN:
        return "expected ADDRESS:PORT such as 127.0.0.1:8080";
    case OPT_LISTEN:
        return "expected ADDRESS:PORT such as 127.0.0.1:9100 (or nothing)";
    case UINT:
        return "expected a whole number";
    case BOOL:
        return "expected yes or no";
    case SMTP_URL:
        return "expected smtp://host:port or smtps://host:port (or nothing)";
    case USER:
        return "expected a user name without spaces";
    case STARTTLS:
        return "expected try, required or off";
    case SENDER:
        return "expected \"Name <address>\" or an address";
    case ENGINE:
        return "expected espeak, command or off";
    case VOICE:
        return "expected a voice name of letters, digits, - + _";
    case COMMAND:
        return "expected one line of text";
    case FEEDMODE:
        return "expected full or excerpt";
    default:
        return "expected text";
    }
}

static int set(struct config *c, const struct key *k, const char *v)
{
    char *field = (char *)c + k->off;
    char *end;

    switch (k->kind) {
    case UINT: {
        errno = 0;
        unsigned long n = strtoul(v, &end, 10);
        if (errno || end == v || *end || !isdigit((unsigned char)*v) ||
            n < k->lo || n > k->hi)
            return -1;
        *(unsigned *)(void *)field = (unsigned)n;
        return 0;
    }
    case BOOL:
        if (!strcmp(v, "yes") || !strcmp(v, "true") || !strcmp(v, "on") ||
            !strcmp(v, "1"))
            *(int *)(void *)field = 1;
        else if (!strcmp(v, "no") || !strcmp(v, "false") || !strcmp(v, "off") ||
                 !strcmp(v, "0"))
            *(int *)(void *)field = 0;
        else
            return -1;
        return 0;
    case URL:
        if (!valid_url(v))
            return -1;
        break;
    case OPT_URL:
        if (*v && !valid_url(v))
            return -1;
        break;
    case ZONE:
        if (!valid_zone(v))
            return -1;
        break;
    case LANG:
        if (!valid_lang(v))
            return -1;
        break;
    case LISTEN:
        if (!valid_listen(v))
            return -1;
        break;
    case OPT_LISTEN:
        if (*v && !valid_listen(v))
            return -1;
        break;
    case TEXT:
        if (!*v)
            return -1;
        break;
    case SMTP_URL:
        if (!valid_smtp_url(v))
            return -1;
        break;
    case USER:
        if (!valid_user(v))
            return -1;
        break;
    case STARTTLS:
        if (strcmp(v, "try") && strcmp(v, "required") && strcmp(v, "off"))
            return -1;
        break;
    case SENDER:
        if (!valid_sender(v))
            return -1;
        break;
    case ENGINE:
        if (strcmp(v, "espeak") && strcmp(v, "command") && strcmp(v, "off"))
            return -1;
        break;
    case VOICE:
        if (strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                      "0123456789-+_") != strlen(v))
            return -1;
        break;
    case FEEDMODE:
        if (strcmp(v, "full") && strcmp(v, "excerpt"))
            return -1;
        break;
    case COMMAND:
        for (const char *p = v; *p; p++)
            if ((unsigned char)*p < 0x20 && *p != '\t')
                return -1;
        break;
    }
    if (strlen(v) >= k->size)
        return -1;
    snprintf(field, k->size, "%s", v);
    if (k->kind == URL) {
        size_t n = strlen(field);
        while (n > 0 && field[n - 1] == '/')
            field[--n] = '\0';
    }
    return 0;
}

int config_parse(struct config *c, const char *name, const char *text,
                 size_t len, char *err, size_t errlen)
{
    const char *p = text, *end = text + len;
    unsigned lineno = 0;

    if (len > BOUND_CONF_BYTES) {
        snprintf(err, errlen, "%s: file too large (limit %d bytes)", name,
                 BOUND_CONF_BYTES);
        return -1;
    }
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        char line[BOUND_CONF_LINE + 1];
        size_t n = (size_t)(le - p);

        lineno++;
        if (n > BOUND_CONF_LINE) {
            snprintf(err, errlen, "%s:%u: line too long (limit %d bytes)", name,
                     lineno, BOUND_CONF_LINE);
            return -1;
        }
        memcpy(line, p, n);
        line[n] = '\0';
        p = nl ? nl + 1 : end;
        if (memchr(line, '\0', n)) {
            snprintf(err, errlen, "%s:%u: NUL byte in line", name, lineno);
            return -1;
        }
        if (!str_utf8_valid(line, n)) {
            snprintf(err, errlen, "%s:%u: invalid UTF-8", name, lineno);
            return -1;
        }
        while (n > 0 && isspace((unsigned char)line[n - 1]))
            line[--n] = '\0';
        for (size_t i = 0; i < n; i++)
            if ((unsigned char)line[i] < 0x20 && line[i] != '\t') {
                snprintf(err, errlen, "%s:%u: control character in line", name,
                         lineno);
                return -1;
            }
        char *s = line;
        while (isspace((unsigned char)*s))
            s++;
        if (*s == '\0' || *s == '#')
            continue;
        char *eq = strchr(s, '=');
        if (!eq) {
            snprintf(err, errlen, "%s:%u: expected 'key = value'", name,
                     lineno);
            return -1;
        }
        char *k = s, *ke = eq;
        while (ke > k && isspace((unsigned char)ke[-1]))
            ke--;
        *ke = '\0';
        char *v = eq + 1;
        while (isspace((unsigned char)*v))
            v++;
        if (*v == '"' && n > 1 && line[n - 1] == '"' && v != line + n - 1) {
            line[n - 1] = '\0';
            v++;
        }
        const struct key *key = NULL;
        for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
            if (strcmp(keys[i].name, k) == 0)
                key = &keys[i];
        if (!key) {
            snprintf(err, errlen, "%s:%u: unknown key '%.64s'", name, lineno,
                     k);
            return -1;
        }
        if (set(c, key, v) < 0) {
            if (key->kind == UINT)
                snprintf(err, errlen,
                         "%s:%u: bad value for '%s': expected a whole "
                         "number from %u to %u",
                         name, lineno, key->name, key->lo, key->hi);
            else
                snprintf(err, errlen, "%s:%u: bad value for '%s': %s", name,
                         lineno, key->name, expect(key->kind));
            return -1;
        }
    }
    return 0;
}

int config_load(struct config *c, const char *path, char *err, size_t errlen)
{
    char text[BOUND_CONF_BYTES + 1];
    ssize_t n;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0) {
        snprintf(err, errlen, "cannot open '%s': %s", path, strerror(errno));
        return -1;
    }
    n = read(fd, text, sizeof text);
    close(fd);
    if (n < 0) {
        snprintf(err, errlen, "cannot read '%s': %s", path, strerror(errno));
        return -1;
    }
    return config_parse(c, path, text, (size_t)n, err, errlen);
}

int config_write(const struct config *c, const char *path, char *err,
                 size_t errlen)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    FILE *f;

    if (fd < 0 || !(f = fdopen(fd, "w"))) {
        snprintf(err, errlen, "cannot create '%s': %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    fprintf(f, "# newsroom site settings: `key = value`; every key is "
               "optional.\n# See docs/configuration.md.\n");
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        const struct key *k = &keys[i];
        const char *field = (const char *)c + k->off;
        fprintf(f, "\n# %s\n", k->doc);
        if (k->kind == UINT)
            fprintf(f, "%s = %u\n", k->name,
                    *(const unsigned *)(const void *)field);
        else if (k->kind == BOOL)
            fprintf(f, "%s = %s\n", k->name,
                    *(const int *)(const void *)field ? "yes" : "no");
        else
            fprintf(f, "%s = %s\n", k->name, field);
    }
    if (fclose(f) != 0) {
        snprintf(err, errlen, "cannot write '%s': %s", path, strerror(errno));
        return -1;
    }
    return 0;
}
