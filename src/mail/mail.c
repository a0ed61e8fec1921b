/*
 * mail.c - email addresses and message composition; see mail.h.
 * (Delivery, SMTP and .eml files, is transport.c.)
 *
 * DESIGN
 * - Nothing a caller passes reaches a header unchecked: control characters
 *   (CR and LF above all: header injection) are refused, never stripped,
 *   and non-ASCII text goes out as RFC 2047 encoded words.
 * - Bodies are always quoted-printable (RFC 2045 6.7) with lines of at most
 *   76 characters, so the message is 7-bit clean, no line nears the 998
 *   limit of RFC 5322, and a line that starts with "." or "From " is encoded
 *   (=2E, =46) so neither SMTP dot-stuffing nor mbox ">From" can change it.
 * - The multipart boundary starts with "=_", which quoted-printable output
 *   can never contain ("=" is always followed by two hex digits or a line
 *   end), so it cannot occur in a body.
 */
#include "mail/mail.h"

#include <curl/curl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/buf.h"
#include "core/log.h"
#include "core/str.h"

#define LINE_SOFT 78 /* header lines are folded under this (RFC 5322 2.1.1) */
#define QP_LINE 76   /* quoted-printable line length (RFC 2045 6.7) */
#define EW_BYTES 36  /* UTF-8 bytes in one encoded word (48 base64 chars) */

int mail_init(void)
{
    CURLcode rc = curl_global_init(CURL_GLOBAL_DEFAULT);
    if (rc != CURLE_OK) {
        log_error("cannot initialise libcurl: %s", curl_easy_strerror(rc));
        return -1;
    }
    return 0;
}

void mail_shutdown(void)
{
    curl_global_cleanup();
}

/* ---- addresses ---- */

/* RFC 5322 3.2.3 atext */
static int is_atext(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || (c && strchr("!#$%&'*+-/=?^_`{|}~", c));
}

static int is_alpha(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int is_ldh(int c)
{
    return is_alpha(c) || (c >= '0' && c <= '9') || c == '-';
}

/* 0 if the n bytes at s are a dot-atom-text (RFC 5322 3.2.3), else -1 with
 * the reason. */
static int check_dot_atom(const char *s, size_t n, const char *what, char *err,
                          size_t errlen)
{
    if (n == 0) {
        snprintf(err, errlen, "empty %s", what);
        return -1;
    }
    if (s[0] == '.' || s[n - 1] == '.') {
        snprintf(err, errlen, "%s starts or ends with a dot", what);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '.') {
            if (s[i + 1] == '.') {
                snprintf(err, errlen, "two dots in a row in %s", what);
                return -1;
            }
        } else if (s[i] == '"') {
            snprintf(err, errlen, "quoted %s not accepted", what);
            return -1;
        } else if (!is_atext((unsigned char)s[i])) {
            snprintf(err, errlen, "character '%c' not allowed in %s", s[i],
                     what);
            return -1;
        }
    }
    return 0;
}

/* 0 if d (n bytes) is a domain as mail_address_check wants it. */
static int check_domain(const char *d, size_t n, char *err, size_t errlen)
{
    size_t start = 0, labels = 0;

    if (n == 0) {
        snprintf(err, errlen, "missing domain after '@'");
        return -1;
    }
    if (d[0] == '[') {
        snprintf(err, errlen, "IP address literals not accepted");
        return -1;
    }
    if (d[n - 1] == '.') {
        snprintf(err, errlen, "domain ends with a dot");
        return -1;
    }
    for (size_t i = 0; i <= n; i++) {
        if (i < n && d[i] != '.') {
            if (!is_ldh((unsigned char)d[i])) {
                snprintf(err, errlen, "character '%c' not allowed in domain",
                         d[i]);
                return -1;
            }
            continue;
        }
        size_t len = i - start;
        const char *l = d + start;
        if (len == 0) {
            snprintf(err, errlen, "empty label in domain");
            return -1;
        }
        if (len > MAIL_LABEL_MAX) {
            snprintf(err, errlen, "domain label longer than %d bytes",
                     MAIL_LABEL_MAX);
            return -1;
        }
        if (l[0] == '-' || l[len - 1] == '-') {
            snprintf(err, errlen, "domain label starts or ends with '-'");
            return -1;
        }
        labels++;
        if (i == n) { /* the top-level domain */
            int ok = len >= 2;
            if (len > 4 && strncmp(l, "xn--", 4) == 0)
                ok = 1; /* an IDN top-level domain, already LDH */
            else
                for (size_t k = 0; k < len; k++)
                    if (!is_alpha((unsigned char)l[k]))
                        ok = 0;
            if (!ok) {
                snprintf(err, errlen,
                         "top-level domain must be letters (or xn--)");
                return -1;
            }
        }
        start = i + 1;
    }
    if (labels < 2) {
        snprintf(err, errlen, "domain needs a dot (no top-level domain)");
        return -1;
    }
    return 0;
}

int mail_address_check(const char *in, char *out, size_t outlen, char *err,
                       size_t errlen)
{
    const char *s = in, *e, *at = NULL;
    size_t n;

    if (!in) {
        snprintf(err, errlen, "missing address");
        return -1;
    }
    while (*s == ' ' || *s == '\t')
        s++;
    e = s + strlen(s);
    while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
        e--;
    n = (size_t)(e - s);
    if (n == 0) {
        snprintf(err, errlen, "empty address");
        return -1;
    }
    for (const char *p = s; p < e; p++) {
        unsigned char c = (unsigned char)*p;
        if (c >= 0x80) {
            snprintf(err, errlen, "non-ASCII character in address");
            return -1;
        }
        if (c < 0x20 || c == 0x7f) {
            snprintf(err, errlen, "control character in address");
            return -1;
        }
        if (c == ' ' || c == '\t') {
            snprintf(err, errlen, "space in address");
            return -1;
        }
        if (c == '@') {
            if (at) {
                snprintf(err, errlen, "more than one '@' in address");
                return -1;
            }
            at = p;
        }
    }
    if (!at) {
        snprintf(err, errlen, "missing '@' in address");
        return -1;
    }
    if (n > MAIL_ADDR_MAX) {
        snprintf(err, errlen, "address longer than %d bytes", MAIL_ADDR_MAX);
        return -1;
    }
    if ((size_t)(at - s) > MAIL_LOCAL_MAX) {
        snprintf(err, errlen, "part before '@' longer than %d bytes",
                 MAIL_LOCAL_MAX);
        return -1;
    }
    if (check_dot_atom(s, (size_t)(at - s), "the part before '@'", err,
                       errlen) < 0)
        return -1;
    if (check_domain(at + 1, (size_t)(e - at - 1), err, errlen) < 0)
        return -1;
    if (n + 1 > outlen) {
        snprintf(err, errlen, "address too long for the buffer");
        return -1;
    }
    memcpy(out, s, n);
    out[n] = '\0';
    for (char *p = out + (at - s) + 1; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    return 0;
}

/* ---- header values ---- */

/* 0 if s is UTF-8 text of at most max bytes without control characters. */
static int check_text(const char *s, size_t max, const char *what, char *err,
                      size_t errlen)
{
    size_t n = strlen(s);
    if (n > max) {
        snprintf(err, errlen, "%s longer than %zu bytes", what, max);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f) {
            snprintf(err, errlen, "control character in %s", what);
            return -1;
        }
    }
    if (!str_utf8_valid(s, n)) {
        snprintf(err, errlen, "invalid UTF-8 in %s", what);
        return -1;
    }
    return 0;
}

/* A header being written: the line's column, for folding. */
struct hdr {
    struct buf *b;
    size_t col; /* characters on the current line so far */
    int words;  /* words written after the name; the first is never folded */
};

static void hdr_start(struct hdr *h, struct buf *b, const char *name)
{
    h->b = b;
    buf_printf(b, "%s:", name);
    h->col = strlen(name) + 1;
    h->words = 0;
}

/* Appends a space and the n bytes at s; folds before the space (RFC 5322
 * 2.2.3) when the line would reach LINE_SOFT. */
static void hdr_word(struct hdr *h, const char *s, size_t n)
{
    if (h->words > 0 && h->col + 1 + n >= LINE_SOFT) {
        buf_adds(h->b, "\r\n");
        h->col = 0;
    }
    buf_addc(h->b, ' ');
    buf_add(h->b, s, n);
    h->col += 1 + n;
    h->words++;
}

static void hdr_end(struct hdr *h)
{
    buf_adds(h->b, "\r\n");
}

static const char b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Appends s as RFC 2047 encoded words ("=?UTF-8?B?...?="), each of at most
 * EW_BYTES bytes of whole UTF-8 characters, separated by folding white
 * space (which decoders drop between encoded words, RFC 2047 6.2). */
static void hdr_encoded(struct hdr *h, const char *s)
{
    size_t n = strlen(s), i = 0;
    while (i < n) {
        size_t take = n - i < EW_BYTES ? n - i : EW_BYTES;
        char w[16 + 4 * EW_BYTES / 3 + 8];
        size_t wl = 0;
        /* never split a UTF-8 sequence: back up to a lead byte */
        while (i + take < n && take > 1 &&
               ((unsigned char)s[i + take] & 0xc0) == 0x80)
            take--;
        wl += (size_t)snprintf(w, sizeof w, "=?UTF-8?B?");
        for (size_t k = 0; k < take; k += 3) {
            unsigned v = (unsigned char)s[i + k] << 16;
            if (k + 1 < take)
                v |= (unsigned char)s[i + k + 1] << 8;
            if (k + 2 < take)
                v |= (unsigned char)s[i + k + 2];
            w[wl++] = b64[(v >> 18) & 63];
            w[wl++] = b64[(v >> 12) & 63];
            w[wl++] = k + 1 < take ? b64[(v >> 6) & 63] : '=';
            w[wl++] = k + 2 < take ? b64[v & 63] : '=';
        }
        w[wl++] = '?';
        w[wl++] = '=';
        hdr_word(h, w, wl);
        i += take;
    }
}

static int is_ascii(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s >= 0x80)
            return 0;
    return 1;
}

/* Unstructured text (Subject): plain ASCII folded at its spaces, or encoded
 * words when it has non-ASCII, looks like an encoded word, or has a word
 * too long to fold. Unfolding gives back exactly s. */
static void hdr_unstructured(struct hdr *h, const char *s)
{
    int plain = is_ascii(s) && !strstr(s, "=?");
    size_t n = strlen(s);

    /* every run of non-spaces must fit on a folded line */
    for (size_t i = 0, run = 0; plain && i <= n; i++) {
        run = (i < n && s[i] != ' ') ? run + 1 : 0;
        if (run + 2 >= LINE_SOFT - 10)
            plain = 0;
    }
    if (!plain) {
        hdr_encoded(h, s);
        return;
    }
    if (n == 0)
        return;
    /* first piece goes after "Subject: "; then each space+word piece */
    buf_addc(h->b, ' ');
    h->col++;
    size_t i = 0;
    while (i < n) {
        size_t j = i;
        while (j < n && s[j] == ' ')
            j++;
        while (j < n && s[j] != ' ')
            j++;
        /* fold before the spaces of a piece that has a word after them
         * (a folded line may not be white space only) */
        if (i > 0 && s[j - 1] != ' ' && h->col + (j - i) >= LINE_SOFT) {
            buf_adds(h->b, "\r\n");
            h->col = 0;
        }
        buf_add(h->b, s + i, j - i);
        h->col += j - i;
        i = j;
    }
}

/* A display name as a phrase: atoms as they are, other ASCII as a quoted
 * string, anything else (or too long for one line) as encoded words. */
static void hdr_phrase(struct hdr *h, const char *name)
{
    size_t n = strlen(name);
    int atoms = n > 0 && name[0] != ' ' && name[n - 1] != ' ' &&
                !strstr(name, "  ") && !strstr(name, "=?");
    int quotable = is_ascii(name) && !strstr(name, "=?") && n + 4 < 60;

    for (size_t i = 0; i < n; i++)
        if (!is_atext((unsigned char)name[i]) && name[i] != ' ')
            atoms = 0;
    if (atoms && n + 4 < 60) {
        hdr_word(h, name, n);
    } else if (quotable) {
        char q[2 * 60 + 4];
        size_t ql = 0;
        q[ql++] = '"';
        for (size_t i = 0; i < n; i++) {
            if (name[i] == '"' || name[i] == '\\')
                q[ql++] = '\\';
            q[ql++] = name[i];
        }
        q[ql++] = '"';
        hdr_word(h, q, ql);
    } else {
        hdr_encoded(h, name);
    }
}

/* 0 if s is "<left@right>" with dot-atom-text on both sides (RFC 5322
 * 3.6.4 msg-id, without the obsolete and literal forms). */
static int check_msg_id(const char *s, const char *what, char *err,
                        size_t errlen)
{
    size_t n = strlen(s);
    const char *at;
    char why[128];

    if (n > MAIL_ID_MAX || n < 5 || s[0] != '<' || s[n - 1] != '>') {
        snprintf(err, errlen, "%s must look like <id@host>", what);
        return -1;
    }
    at = memchr(s, '@', n);
    if (!at ||
        check_dot_atom(s + 1, (size_t)(at - s - 1), "id", why, sizeof why) <
            0 ||
        check_dot_atom(at + 1, (size_t)(s + n - 1 - at - 1), "id", why,
                       sizeof why) < 0) {
        for (size_t i = 0; i < n; i++)
            if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) {
                snprintf(err, errlen, "control character in %s", what);
                return -1;
            }
        snprintf(err, errlen, "%s must look like <id@host>", what);
        return -1;
    }
    return 0;
}

/* 0 if u is prefix followed by URL characters allowed inside <> in
 * List-Unsubscribe (RFC 2369: no spaces, no literal commas). */
static int check_uri(const char *u, const char *prefix, const char *what,
                     char *err, size_t errlen)
{
    size_t n = strlen(u);
    if (n > MAIL_URL_MAX) {
        snprintf(err, errlen, "%s longer than %d bytes", what, MAIL_URL_MAX);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)u[i];
        if (c < 0x20 || c == 0x7f) {
            snprintf(err, errlen, "control character in %s", what);
            return -1;
        }
        if (c <= ' ' || c >= 0x7f || strchr("<>\",", c)) {
            snprintf(err, errlen, "character not allowed in %s", what);
            return -1;
        }
    }
    if (!str_has_prefix(u, prefix) || n == strlen(prefix)) {
        snprintf(err, errlen, "%s must start with %s", what, prefix);
        return -1;
    }
    return 0;
}

/* "Name <id.host>" or "<id.host>": the name in *name (in buf, NUL-ended) and
 * the id between brackets checked (RFC 2919). */
static int check_list_id(const char *s, char *name, size_t namelen,
                         const char **id, size_t *idlen, char *err,
                         size_t errlen)
{
    const char *lt = strrchr(s, '<');
    size_t n = strlen(s);
    char why[128];

    if (check_text(s, MAIL_ID_MAX + MAIL_NAME_MAX, "List-Id", err, errlen) < 0)
        return -1;
    if (!lt || n < 3 || s[n - 1] != '>' ||
        check_dot_atom(lt + 1, (size_t)(s + n - 1 - lt - 1), "List-Id", why,
                       sizeof why) < 0 ||
        !memchr(lt + 1, '.', (size_t)(s + n - 1 - lt - 1))) {
        snprintf(err, errlen, "List-Id must look like Name <slug.list.host>");
        return -1;
    }
    *id = lt + 1;
    *idlen = (size_t)(s + n - 1 - lt - 1);
    const char *ns = s, *ne = lt;
    while (ns < ne && *ns == ' ')
        ns++;
    while (ne > ns && ne[-1] == ' ')
        ne--;
    if ((size_t)(ne - ns) >= namelen) {
        snprintf(err, errlen, "List-Id name too long");
        return -1;
    }
    memcpy(name, ns, (size_t)(ne - ns));
    name[ne - ns] = '\0';
    return 0;
}

/* ---- bodies ---- */

static const char hex[] = "0123456789ABCDEF";

/* Appends the n bytes at s as quoted-printable (RFC 2045 6.7) with CRLF
 * line ends (CRLF, LF or a lone CR in s all end a line). */
static void add_qp(struct buf *b, const char *s, size_t n)
{
    size_t i = 0;
    while (i <= n) {
        size_t e = i;
        while (e < n && s[e] != '\n' && s[e] != '\r')
            e++;
        size_t col = 0;
        for (size_t k = i; k < e; k++) {
            unsigned char c = (unsigned char)s[k];
            int enc;
            if (c == ' ' || c == '\t')
                enc = k + 1 == e; /* white space ending a line */
            else
                enc = c < 33 || c > 126 || c == '=';
            if (col == 0 && (c == '.' || (c == 'F' && e - k >= 5 &&
                                          memcmp(s + k, "From ", 5) == 0)))
                enc = 1;
            size_t w = enc ? 3 : 1;
            if (col + w > QP_LINE - 1) { /* soft break, '=' is col 76 */
                buf_adds(b, "=\r\n");
                col = 0;
                if (c == '.' || (c == 'F' && e - k >= 5 &&
                                 memcmp(s + k, "From ", 5) == 0)) {
                    enc = 1;
                    w = 3;
                }
            }
            if (enc) {
                char t[3] = {'=', hex[c >> 4], hex[c & 15]};
                buf_add(b, t, 3);
            } else {
                buf_addc(b, (char)c);
            }
            col += w;
        }
        if (e >= n)
            break;
        buf_adds(b, "\r\n");
        i = e + 1;
        if (s[e] == '\r' && i < n && s[i] == '\n')
            i++;
        if (i == n)
            break;
    }
}

static void add_part_headers(struct buf *b, const char *type)
{
    buf_printf(b,
               "Content-Type: %s; charset=utf-8\r\n"
               "Content-Transfer-Encoding: quoted-printable\r\n",
               type);
}

/* FNV-1a, 64 bits: a boundary that is the same for the same message. */
static uint64_t fnv(uint64_t h, const char *s)
{
    for (; s && *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return h;
}

static int check_body(const char *s, const char *what, char *err, size_t errlen)
{
    size_t n = strlen(s);
    if (n > MAIL_MSG_MAX / 4) {
        snprintf(err, errlen, "%s longer than %d bytes", what,
                 MAIL_MSG_MAX / 4);
        return -1;
    }
    if (!str_utf8_valid(s, n)) {
        snprintf(err, errlen, "invalid UTF-8 in %s", what);
        return -1;
    }
    return 0;
}

/* ---- the message ---- */

/* Every input checked; 0 or -1 with err. */
static int check_msg(const struct mail_msg *m, char *err, size_t errlen)
{
    char a[MAIL_ADDR_MAX + 1], why[160];

    if (!m->from_addr ||
        mail_address_check(m->from_addr, a, sizeof a, why, sizeof why) < 0) {
        snprintf(err, errlen, "bad From address: %s",
                 m->from_addr ? why : "missing");
        return -1;
    }
    if (strcmp(a, m->from_addr) != 0) {
        snprintf(err, errlen, "From address not normalised ('%s')", a);
        return -1;
    }
    if (!m->to_addr ||
        mail_address_check(m->to_addr, a, sizeof a, why, sizeof why) < 0) {
        snprintf(err, errlen, "bad To address: %s",
                 m->to_addr ? why : "missing");
        return -1;
    }
    if (strcmp(a, m->to_addr) != 0) {
        snprintf(err, errlen, "To address not normalised ('%s')", a);
        return -1;
    }
    if (m->from_name &&
        check_text(m->from_name, MAIL_NAME_MAX, "sender name", err, errlen) < 0)
        return -1;
    if (!m->subject) {
        snprintf(err, errlen, "missing subject");
        return -1;
    }
    if (check_text(m->subject, MAIL_SUBJECT_MAX, "subject", err, errlen) < 0)
        return -1;
    if (!m->message_id) {
        snprintf(err, errlen, "missing Message-ID");
        return -1;
    }
    if (check_msg_id(m->message_id, "Message-ID", err, errlen) < 0)
        return -1;
    if (!m->text) {
        snprintf(err, errlen, "missing text body");
        return -1;
    }
    if (check_body(m->text, "text body", err, errlen) < 0 ||
        (m->html && check_body(m->html, "HTML body", err, errlen) < 0))
        return -1;
    /* RFC 8058 wants https; a site still on http (a test or a new set-up)
     * gets its own scheme rather than no unsubscribe link at all */
    if (m->unsubscribe_url &&
        check_uri(m->unsubscribe_url,
                  str_has_prefix(m->unsubscribe_url, "http://") ? "http://"
                                                                : "https://",
                  "unsubscribe URL", err, errlen) < 0)
        return -1;
    if (m->unsubscribe_mailto &&
        check_uri(m->unsubscribe_mailto, "mailto:", "unsubscribe mailto", err,
                  errlen) < 0)
        return -1;
    if (m->one_click && !m->unsubscribe_url) {
        snprintf(err, errlen, "one-click unsubscribe needs an unsubscribe URL");
        return -1;
    }
    return 0;
}

int mail_compose(const struct mail_msg *m, char **out, size_t *len, char *err,
                 size_t errlen)
{
    static const char *const day[] = {"Sun", "Mon", "Tue", "Wed",
                                      "Thu", "Fri", "Sat"};
    static const char *const mon[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    struct buf b;
    struct hdr h;
    struct tm tm;
    time_t t = (time_t)m->date;
    char boundary[40];

    *out = NULL;
    *len = 0;
    if (check_msg(m, err, errlen) < 0)
        return -1;
    if (!gmtime_r(&t, &tm) || tm.tm_year + 1900 > 9999 ||
        tm.tm_year + 1900 < 1970) {
        snprintf(err, errlen, "date out of range");
        return -1;
    }
    buf_init(&b, MAIL_MSG_MAX);

    /* RFC 5322 3.3 date-time, in UTC */
    buf_printf(&b, "Date: %s, %02d %s %04d %02d:%02d:%02d +0000\r\n",
               day[tm.tm_wday], tm.tm_mday, mon[tm.tm_mon], tm.tm_year + 1900,
               tm.tm_hour, tm.tm_min, tm.tm_sec);

    hdr_start(&h, &b, "From");
    if (m->from_name && *m->from_name)
        hdr_phrase(&h, m->from_name);
    {
        char a[MAIL_ADDR_MAX + 3];
        int n = snprintf(a, sizeof a, h.words ? "<%s>" : "%s", m->from_addr);
        hdr_word(&h, a, (size_t)n);
    }
    hdr_end(&h);
    buf_printf(&b, "To: %s\r\n", m->to_addr);

    hdr_start(&h, &b, "Subject");
    hdr_unstructured(&h, m->subject);
    hdr_end(&h);
    buf_printf(&b, "Message-ID: %s\r\n", m->message_id);

    if (m->list_id) { /* RFC 2919 */
        char name[MAIL_NAME_MAX + 1];
        const char *id;
        size_t idlen;
        if (check_list_id(m->list_id, name, sizeof name, &id, &idlen, err,
                          errlen) < 0) {
            buf_release(&b);
            return -1;
        }
        hdr_start(&h, &b, "List-Id");
        if (*name)
            hdr_phrase(&h, name);
        char w[MAIL_ID_MAX + 3];
        int n = snprintf(w, sizeof w, "<%.*s>", (int)idlen, id);
        hdr_word(&h, w, (size_t)n);
        hdr_end(&h);
    }
    if (m->unsubscribe_url || m->unsubscribe_mailto) { /* RFC 2369 */
        hdr_start(&h, &b, "List-Unsubscribe");
        char w[MAIL_URL_MAX + 4];
        int n;
        if (m->unsubscribe_url) {
            n = snprintf(w, sizeof w, "<%s>%s", m->unsubscribe_url,
                         m->unsubscribe_mailto ? "," : "");
            hdr_word(&h, w, (size_t)n);
        }
        if (m->unsubscribe_mailto) {
            n = snprintf(w, sizeof w, "<%s>", m->unsubscribe_mailto);
            hdr_word(&h, w, (size_t)n);
        }
        hdr_end(&h);
    }
    if (m->one_click) /* RFC 8058 */
        buf_adds(&b, "List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n");
    if (m->list_id)
        buf_adds(&b, "Precedence: bulk\r\n");
    buf_adds(&b, "MIME-Version: 1.0\r\n");

    if (!m->html) {
        add_part_headers(&b, "text/plain");
        buf_adds(&b, "\r\n");
        add_qp(&b, m->text, strlen(m->text));
        if (b.len < 2 || memcmp(b.data + b.len - 2, "\r\n", 2) != 0)
            buf_adds(&b, "\r\n"); /* the message ends with a line end */
    } else {
        uint64_t hv = fnv(
            fnv(fnv(14695981039346656037ULL, m->message_id), m->text), m->html);
        snprintf(boundary, sizeof boundary, "=_nr_%016llx",
                 (unsigned long long)hv);
        buf_printf(&b,
                   "Content-Type: multipart/alternative;\r\n"
                   " boundary=\"%s\"\r\n\r\n"
                   "This is a multi-part message in MIME format.\r\n",
                   boundary);
        buf_printf(&b, "\r\n--%s\r\n", boundary);
        add_part_headers(&b, "text/plain");
        buf_adds(&b, "\r\n");
        add_qp(&b, m->text, strlen(m->text));
        buf_printf(&b, "\r\n--%s\r\n", boundary);
        add_part_headers(&b, "text/html");
        buf_adds(&b, "\r\n");
        add_qp(&b, m->html, strlen(m->html));
        buf_printf(&b, "\r\n--%s--\r\n", boundary);
    }
    if (b.overflow) {
        snprintf(err, errlen, "message larger than %d bytes", MAIL_MSG_MAX);
        buf_release(&b);
        return -1;
    }
    *out = buf_steal(&b, len);
    return 0;
}
