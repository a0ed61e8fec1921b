/*
 * transport.c - delivering composed messages: over SMTP with libcurl, or as
 * .eml files when no SMTP server is configured; see mail.h.
 *
 * DESIGN
 * - One transport is one libcurl easy handle, used by one thread. libcurl
 *   keeps the SMTP connection open between transfers on the same handle, so
 *   a worker sending thousands of messages greets the server once.
 * - The outcome is read from the conversation itself: a debug callback
 *   records the last command we sent and the last reply line the server
 *   gave, so "5xx to RCPT TO or DATA" (the recipient or the message is
 *   refused: permanent) can be told from "5xx to MAIL FROM or AUTH" (our
 *   set-up is wrong: temporary, retry after the operator fixes it). Only the
 *   verb of a command is kept: AUTH lines carry credentials.
 * - A server that cannot be reached at all (refused, unresolvable, no
 *   greeting) is MAIL_UNREACHABLE, told apart from a message-level
 *   failure, so the mail job stops and probes (mail_transport_probe)
 *   instead of spending every message's attempts on an outage.
 * - The .eml file of a message is named after its Date and Message-ID, so a
 *   retried delivery replaces the file instead of adding a second copy; it
 *   is written to a temporary file and renamed, so a reader never sees half.
 */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "mail/mail.h"

#define REPLY_MAX 200 /* bytes of a server reply kept for err */

struct mail_transport {
    CURL *curl;               /* SMTP handle, or NULL for files */
    char *dir;                /* files: where .eml files go (NULL for SMTP) */
    char last_file[PATH_MAX]; /* files: the last file written, or "" */
    /* one delivery */
    const char *data;      /* message bytes being uploaded */
    size_t len, pos;       /* their length; bytes handed to libcurl */
    char cmd[16];          /* verb of the last command sent ("RCPT TO") */
    int data_sent;         /* 1 once DATA was sent in this transfer */
    int replies;           /* reply lines received in this transfer */
    int refused;           /* 1 once a final 4xx/5xx reply came: cmd and
                              reply are kept (QUIT follows) */
    char reply[REPLY_MAX]; /* last reply line, printable ASCII only */
    char curl_err[CURL_ERROR_SIZE]; /* libcurl's own detail */
};

/* ---- set-up ---- */

/* Host part of smtp[s]://host[:port][/]; 0 and host in out, or -1. */
static int url_host(const char *url, char *out, size_t outlen)
{
    const char *h = strstr(url, "://"), *e;
    if (!h)
        return -1;
    h += 3;
    if (*h == '[') {
        e = strchr(h, ']');
        if (!e)
            return -1;
        e++;
    } else {
        e = h + strcspn(h, ":/");
    }
    if (e == h || (size_t)(e - h) >= outlen)
        return -1;
    memcpy(out, h, (size_t)(e - h));
    out[e - h] = '\0';
    if (*e == ':') {
        char *end;
        long port = strtol(e + 1, &end, 10);
        if (end == e + 1 || port < 1 || port > 65535 ||
            (*end && strcmp(end, "/") != 0))
            return -1;
    } else if (*e && strcmp(e, "/") != 0) {
        return -1;
    }
    for (const char *p = out; *p; p++)
        if (!(*p >= 'a' && *p <= 'z') && !(*p >= 'A' && *p <= 'Z') &&
            !(*p >= '0' && *p <= '9') && !strchr(".-[]:", *p))
            return -1;
    return 0;
}

static int is_loopback(const char *host)
{
    return strcmp(host, "localhost") == 0 || strcmp(host, "[::1]") == 0 ||
           strncmp(host, "127.", 4) == 0;
}

/* The debug callback: remembers command verbs and reply lines. */
static int on_debug(CURL *c, curl_infotype type, char *s, size_t n, void *p)
{
    struct mail_transport *t = p;
    (void)c;
    if (t->refused)
        return 0;
    if (type == CURLINFO_HEADER_OUT) {
        size_t k = 0;
        if (n >= 9 && memcmp(s, "MAIL FROM", 9) == 0)
            k = 9;
        else if (n >= 7 && memcmp(s, "RCPT TO", 7) == 0)
            k = 7;
        else
            while (k < n && k < sizeof t->cmd - 1 && s[k] != ' ' &&
                   s[k] != '\r' && s[k] != '\n')
                k++;
        memcpy(t->cmd, s, k);
        t->cmd[k] = '\0';
        if (strcmp(t->cmd, "DATA") == 0)
            t->data_sent = 1;
    } else if (type == CURLINFO_HEADER_IN) {
        size_t k = 0, e = n;
        while (e > 0 && (s[e - 1] == '\r' || s[e - 1] == '\n'))
            e--;
        /* the last line of the chunk */
        for (size_t i = 0; i < e; i++)
            if (s[i] == '\n')
                k = i + 1;
        size_t o = 0;
        for (size_t i = k; i < e && o < sizeof t->reply - 1; i++)
            t->reply[o++] = (s[i] >= ' ' && s[i] < 0x7f) ? s[i] : '?';
        t->reply[o] = '\0';
        t->replies++;
        if ((t->reply[0] == '4' || t->reply[0] == '5') && o > 3 &&
            t->reply[3] != '-')
            t->refused = 1;
    }
    return 0;
}

static size_t on_read(char *buf, size_t size, size_t nitems, void *p)
{
    struct mail_transport *t = p;
    size_t n = size * nitems;
    if (n > t->len - t->pos)
        n = t->len - t->pos;
    memcpy(buf, t->data + t->pos, n);
    t->pos += n;
    return n;
}

struct mail_transport *
mail_transport_new(const char *smtp_url, const char *user, const char *password,
                   const char *starttls, const char *files_dir, char *err,
                   size_t errlen)
{
    struct mail_transport *t;
    char host[256];
    long ssl;

    if (!smtp_url || !*smtp_url) {
        if (!files_dir || !*files_dir) {
            snprintf(err, errlen, "no SMTP server and no mail directory");
            return NULL;
        }
        t = calloc(1, sizeof *t);
        if (!t)
            abort();
        t->dir = strdup(files_dir);
        if (!t->dir)
            abort();
        return t;
    }
    if ((strncmp(smtp_url, "smtp://", 7) != 0 &&
         strncmp(smtp_url, "smtps://", 8) != 0) ||
        url_host(smtp_url, host, sizeof host) < 0) {
        snprintf(err, errlen,
                 "bad SMTP URL '%.100s': expected smtp://host:port or "
                 "smtps://host:port",
                 smtp_url);
        return NULL;
    }
    if (!starttls || strcmp(starttls, "try") == 0)
        ssl = CURLUSESSL_TRY;
    else if (strcmp(starttls, "required") == 0)
        ssl = CURLUSESSL_ALL;
    else if (strcmp(starttls, "off") == 0)
        ssl = CURLUSESSL_NONE;
    else {
        snprintf(err, errlen,
                 "bad STARTTLS setting '%.20s': expected try, required or "
                 "off",
                 starttls);
        return NULL;
    }
    if (strncmp(smtp_url, "smtps://", 8) == 0) {
        ssl = CURLUSESSL_ALL;
    } else if (password && *password && !is_loopback(host)) {
        /* never a password in the clear to another machine */
        if (ssl == CURLUSESSL_NONE) {
            snprintf(err, errlen,
                     "refusing to send the SMTP password unencrypted to "
                     "'%s': use smtp_starttls = required or smtps://",
                     host);
            return NULL;
        }
        ssl = CURLUSESSL_ALL;
    }
    t = calloc(1, sizeof *t);
    if (!t)
        abort();
    t->curl = curl_easy_init();
    if (!t->curl) {
        snprintf(err, errlen, "cannot start libcurl");
        free(t);
        return NULL;
    }
    CURL *c = t->curl;
    curl_easy_setopt(c, CURLOPT_URL, smtp_url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
    curl_easy_setopt(c, CURLOPT_USE_SSL, ssl);
    if (user && *user)
        curl_easy_setopt(c, CURLOPT_USERNAME, user);
    if (password && *password)
        curl_easy_setopt(c, CURLOPT_PASSWORD, password);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, (long)MAIL_TIMEOUT_S);
    /* a server silent for MAIL_TIMEOUT_S (less than a byte a second) */
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, (long)MAIL_TIMEOUT_S);
    curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
    curl_easy_setopt(c, CURLOPT_READDATA, t);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, t->curl_err);
    /* VERBOSE only feeds on_debug; nothing is printed */
    curl_easy_setopt(c, CURLOPT_DEBUGFUNCTION, on_debug);
    curl_easy_setopt(c, CURLOPT_DEBUGDATA, t);
    curl_easy_setopt(c, CURLOPT_VERBOSE, 1L);
    return t;
}

void mail_transport_free(struct mail_transport *t)
{
    if (!t)
        return;
    if (t->curl)
        curl_easy_cleanup(t->curl);
    free(t->dir);
    free(t);
}

const char *mail_transport_last_file(const struct mail_transport *t)
{
    return t->last_file;
}

/* ---- SMTP ---- */

static void smtp_once(struct mail_transport *t, const char *from,
                      const char *to, const char *data, size_t len,
                      long *new_conns, CURLcode *rc)
{
    char mfrom[MAIL_ADDR_MAX + 3], rcpt[MAIL_ADDR_MAX + 3];
    struct curl_slist *rcpts;

    snprintf(mfrom, sizeof mfrom, "<%s>", from);
    snprintf(rcpt, sizeof rcpt, "<%s>", to);
    rcpts = curl_slist_append(NULL, rcpt);
    if (!rcpts)
        abort();
    t->data = data;
    t->len = len;
    t->pos = 0;
    t->cmd[0] = '\0';
    t->reply[0] = '\0';
    t->curl_err[0] = '\0';
    t->data_sent = 0;
    t->replies = 0;
    t->refused = 0;
    curl_easy_setopt(t->curl, CURLOPT_MAIL_FROM, mfrom);
    curl_easy_setopt(t->curl, CURLOPT_MAIL_RCPT, rcpts);
    curl_easy_setopt(t->curl, CURLOPT_INFILESIZE_LARGE, (curl_off_t)len);
    *rc = curl_easy_perform(t->curl);
    *new_conns = 0;
    curl_easy_getinfo(t->curl, CURLINFO_NUM_CONNECTS, new_conns);
    curl_easy_setopt(t->curl, CURLOPT_MAIL_RCPT, NULL);
    curl_slist_free_all(rcpts);
}

static int deliver_smtp(struct mail_transport *t, const char *from,
                        const char *to, const char *data, size_t len, char *err,
                        size_t errlen)
{
    char a[MAIL_ADDR_MAX + 1], why[128];
    CURLcode rc;
    long conns;

    /* the envelope goes into SMTP commands: only checked addresses */
    if (mail_address_check(from, a, sizeof a, why, sizeof why) < 0 ||
        strcmp(a, from) != 0 ||
        mail_address_check(to, a, sizeof a, why, sizeof why) < 0 ||
        strcmp(a, to) != 0) {
        snprintf(err, errlen, "bad envelope address");
        return MAIL_PERMANENT;
    }
    smtp_once(t, from, to, data, len, &conns, &rc);
    /* a kept-alive connection the server had closed meanwhile: once more,
     * on a new one */
    if ((rc == CURLE_SEND_ERROR || rc == CURLE_RECV_ERROR ||
         rc == CURLE_GOT_NOTHING) &&
        conns == 0 && t->replies == 0)
        smtp_once(t, from, to, data, len, &conns, &rc);
    if (rc == CURLE_OK) {
        err[0] = '\0';
        return MAIL_SENT;
    }
    /* no server to talk to: not this message's fault */
    if (rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST ||
        rc == CURLE_COULDNT_RESOLVE_PROXY ||
        (t->replies == 0 &&
         (rc == CURLE_OPERATION_TIMEDOUT || rc == CURLE_GOT_NOTHING ||
          rc == CURLE_RECV_ERROR || rc == CURLE_SEND_ERROR))) {
        snprintf(err, errlen, "cannot reach the SMTP server: %s%s%s",
                 curl_easy_strerror(rc), t->curl_err[0] ? ": " : "",
                 t->curl_err);
        return MAIL_UNREACHABLE;
    }
    int code = 0;
    if (t->reply[0] >= '1' && t->reply[0] <= '5' && t->reply[1] >= '0' &&
        t->reply[1] <= '9' && t->reply[2] >= '0' && t->reply[2] <= '9')
        code = (t->reply[0] - '0') * 100 + (t->reply[1] - '0') * 10 +
               (t->reply[2] - '0');
    const char *step = t->data_sent ? "DATA" : t->cmd[0] ? t->cmd : "SMTP";
    if (code >= 400 && !t->cmd[0]) { /* refused at the greeting (421) */
        snprintf(err, errlen, "the SMTP server refuses connections: %s",
                 t->reply);
        return MAIL_UNREACHABLE;
    }
    if (code >= 400) {
        snprintf(err, errlen, "%s refused: %s", step, t->reply);
        if (code >= 500 && (t->data_sent || strcmp(t->cmd, "RCPT TO") == 0))
            return MAIL_PERMANENT;
        return MAIL_TEMPORARY;
    }
    snprintf(err, errlen, "cannot deliver over SMTP: %s%s%s",
             curl_easy_strerror(rc), t->curl_err[0] ? ": " : "", t->curl_err);
    return MAIL_TEMPORARY;
}

static int probe_dir(struct mail_transport *t, char *err, size_t errlen);

int mail_transport_probe(struct mail_transport *t, char *err, size_t errlen)
{
    CURL *c;
    CURLcode rc;
    char cerr[CURL_ERROR_SIZE] = "";

    if (!t->curl)
        return probe_dir(t, err, errlen);
    c = curl_easy_duphandle(t->curl);
    if (!c) {
        snprintf(err, errlen, "cannot start libcurl");
        return MAIL_UNREACHABLE;
    }
    curl_easy_setopt(c, CURLOPT_CONNECT_ONLY, 1L);
    curl_easy_setopt(c, CURLOPT_VERBOSE, 0L);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, cerr);
    rc = curl_easy_perform(c);
    curl_easy_cleanup(c);
    if (rc == CURLE_OK) {
        err[0] = '\0';
        return MAIL_SENT;
    }
    snprintf(err, errlen, "cannot reach the SMTP server: %s%s%s",
             curl_easy_strerror(rc), cerr[0] ? ": " : "", cerr);
    return MAIL_UNREACHABLE;
}

/* ---- files ---- */

/* mkdir -p with mode for each new component. 0 or -1 (errno set). */
static int make_dirs(const char *dir, mode_t mode)
{
    char p[PATH_MAX];
    size_t n = strlen(dir);
    if (n == 0 || n >= sizeof p) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(p, dir, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (p[i] != '/' && p[i] != '\0')
            continue;
        char keep = p[i];
        p[i] = '\0';
        if (mkdir(p, mode) < 0 && errno != EEXIST)
            return -1;
        p[i] = keep;
    }
    return 0;
}

/* The value of header name (case-insensitive) in the header block of data,
 * first line only, copied into out; "" when absent. */
static void header_value(const char *data, size_t len, const char *name,
                         char *out, size_t outlen)
{
    size_t nl = strlen(name), i = 0;
    out[0] = '\0';
    while (i < len) {
        const char *eol = memchr(data + i, '\n', len - i);
        size_t e = eol ? (size_t)(eol - data) : len;
        if (e == i || (e == i + 1 && data[i] == '\r'))
            return; /* end of the header block */
        if (e - i > nl && data[i + nl] == ':' &&
            strncasecmp(data + i, name, nl) == 0) {
            size_t s = i + nl + 1, o = 0;
            while (s < e && data[s] == ' ')
                s++;
            while (s < e && data[s] != '\r' && o < outlen - 1)
                out[o++] = data[s++];
            out[o] = '\0';
            return;
        }
        i = e + 1;
    }
}

/* "YYYYMMDD-HHMMSS" of the message's Date header (as mail_compose writes
 * it), or of now when it cannot be read. */
static void file_date(const char *data, size_t len, char *out, size_t outlen)
{
    static const char mons[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
    char v[80], mon[4] = "";
    int d, y, hh, mm, ss;
    header_value(data, len, "Date", v, sizeof v);
    if (sscanf(v, "%*3s, %d %3s %d %d:%d:%d", &d, mon, &y, &hh, &mm, &ss) ==
            6 &&
        strlen(mon) == 3 && strstr(mons, mon) &&
        (strstr(mons, mon) - mons) % 3 == 0) {
        int m = (int)(strstr(mons, mon) - mons) / 3 + 1;
        snprintf(out, outlen, "%04d%02d%02d-%02d%02d%02d", y % 10000, m,
                 d % 100, hh % 100, mm % 100, ss % 100);
        return;
    }
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(out, outlen, "%Y%m%d-%H%M%S", &tm);
}

/* Writes all len bytes of data to fd. 0, or -1 with errno set. */
static int write_all(int fd, const char *data, size_t len)
{
    for (size_t off = 0; off < len;) {
        ssize_t w = write(fd, data + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            if (w == 0)
                errno = ENOSPC;
            return -1;
        }
        off += (size_t)w;
    }
    return 0;
}

/* Bytes the folder probe writes: about one newsletter message. */
#define PROBE_BYTES (64 * 1024)

/* The files transport's probe: the mail folder takes a message-sized
 * file now (written, synced, removed). MAIL_SENT or MAIL_UNREACHABLE. */
static int probe_dir(struct mail_transport *t, char *err, size_t errlen)
{
    static const char zeros[PROBE_BYTES];
    char tmp[PATH_MAX];
    int fd, ok;

    if (make_dirs(t->dir, 0750) < 0 ||
        (size_t)snprintf(tmp, sizeof tmp, "%s/.probe-XXXXXX", t->dir) >=
            sizeof tmp ||
        (fd = mkostemp(tmp, O_CLOEXEC)) < 0) {
        snprintf(err, errlen, "cannot write to the mail folder '%s': %s",
                 t->dir, strerror(errno));
        return MAIL_UNREACHABLE;
    }
    ok = write_all(fd, zeros, sizeof zeros) == 0 && fsync(fd) == 0;
    int saved = errno;
    close(fd);
    unlink(tmp);
    if (!ok) {
        snprintf(err, errlen, "cannot write to the mail folder '%s': %s",
                 t->dir, strerror(saved));
        return MAIL_UNREACHABLE;
    }
    err[0] = '\0';
    return MAIL_SENT;
}

/* Every failure here is the folder's (full, read-only, gone), never the
 * message's: MAIL_UNREACHABLE, so the job probes instead of spending the
 * message's attempts. */
static int deliver_file(struct mail_transport *t, const char *data, size_t len,
                        char *err, size_t errlen)
{
    char id[MAIL_ID_MAX + 1], safe[121], date[32], tmp[PATH_MAX];
    char path[PATH_MAX];
    size_t o = 0;
    int fd = -1, rc = MAIL_UNREACHABLE;

    header_value(data, len, "Message-ID", id, sizeof id);
    for (const char *p = id; *p && o < sizeof safe - 1; p++) {
        char c = *p;
        if (c == '<' || c == '>')
            continue;
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                 (c >= '0' && c <= '9') || strchr("._@+-", c);
        safe[o++] = ok ? c : '_';
    }
    safe[o] = '\0';
    if (o == 0)
        snprintf(safe, sizeof safe, "message-%ld", (long)getpid());
    file_date(data, len, date, sizeof date);
    if (make_dirs(t->dir, 0750) < 0) {
        snprintf(err, errlen, "cannot create mail directory '%s': %s", t->dir,
                 strerror(errno));
        return MAIL_UNREACHABLE;
    }
    if ((size_t)snprintf(path, sizeof path, "%s/%s-%s.eml", t->dir, date,
                         safe) >= sizeof path ||
        (size_t)snprintf(tmp, sizeof tmp, "%s/.tmp-XXXXXX", t->dir) >=
            sizeof tmp) {
        snprintf(err, errlen, "mail directory path too long");
        return MAIL_UNREACHABLE;
    }
    fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "cannot create a file in '%s': %s", t->dir,
                 strerror(errno));
        return MAIL_UNREACHABLE;
    }
    if (write_all(fd, data, len) < 0) {
        snprintf(err, errlen, "cannot write '%s': %s", tmp, strerror(errno));
        goto out;
    }
    if (fchmod(fd, 0640) < 0 || fsync(fd) < 0) {
        snprintf(err, errlen, "cannot write '%s': %s", tmp, strerror(errno));
        goto out;
    }
    if (close(fd) < 0) {
        fd = -1;
        snprintf(err, errlen, "cannot write '%s': %s", tmp, strerror(errno));
        goto out;
    }
    fd = -1;
    if (rename(tmp, path) < 0) {
        snprintf(err, errlen, "cannot rename '%s' to '%s': %s", tmp, path,
                 strerror(errno));
        goto out;
    }
    /* the rename itself survives a crash once the directory is synced */
    int dfd = open(t->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    snprintf(t->last_file, sizeof t->last_file, "%s", path);
    err[0] = '\0';
    rc = MAIL_SENT;
out:
    if (fd >= 0)
        close(fd);
    if (rc != MAIL_SENT)
        unlink(tmp);
    return rc;
}

int mail_deliver(struct mail_transport *t, const char *from_addr,
                 const char *to_addr, const char *data, size_t len, char *err,
                 size_t errlen)
{
    if (!t->curl)
        return deliver_file(t, data, len, err, errlen);
    return deliver_smtp(t, from_addr, to_addr, data, len, err, errlen);
}
