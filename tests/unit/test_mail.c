/*
 * test_mail.c - email: address checks, composed messages (header injection,
 * RFC 2047 subjects, quoted-printable bodies, list headers, multipart), and
 * delivery both as .eml files and over SMTP to a real server (Python's
 * aiosmtpd, started here on a free loopback port and stopped by its PID).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "mail/mail.h"

/* ---- helpers: read back what a mail client would see ---- */

/* The unfolded value of header name (first occurrence), malloc'd; NULL if
 * absent. */
static char *header(const char *msg, const char *name)
{
    size_t nl = strlen(name);
    const char *p = msg;
    while (*p && !(p[0] == '\r' && p[1] == '\n')) {
        const char *eol = strstr(p, "\r\n");
        if (!eol)
            return NULL;
        if (strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
            const char *v = p + nl + 1, *e = eol;
            while (e[2] == ' ' || e[2] == '\t') /* folded */
                e = strstr(e + 2, "\r\n");
            char *out = malloc((size_t)(e - v) + 1);
            size_t o = 0;
            for (const char *q = v; q < e; q++) {
                if (q[0] == '\r' && q[1] == '\n') {
                    q++;
                    continue;
                }
                out[o++] = *q;
            }
            out[o] = '\0';
            char *s = out;
            while (*s == ' ')
                s++;
            memmove(out, s, strlen(s) + 1);
            return out;
        }
        p = eol + 2;
    }
    return NULL;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Quoted-printable decoding (RFC 2045 6.7); malloc'd. */
static char *qp_decode(const char *s, size_t n)
{
    char *out = malloc(n + 1);
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '=' && i + 2 < n + 0 && s[i + 1] == '\r' &&
            s[i + 2] == '\n') {
            i += 2;
        } else if (s[i] == '=' && i + 2 < n && hexval(s[i + 1]) >= 0 &&
                   hexval(s[i + 2]) >= 0) {
            out[o++] = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
            i += 2;
        } else {
            out[o++] = s[i];
        }
    }
    out[o] = '\0';
    return out;
}

static int b64val(int c)
{
    const char *a =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const char *p = c ? strchr(a, c) : NULL;
    return p ? (int)(p - a) : -1;
}

/* Decodes a header value made of RFC 2047 B words (white space between
 * them dropped) and plain text; malloc'd. */
static char *ew_decode(const char *v)
{
    char *out = malloc(strlen(v) + 1);
    size_t o = 0;
    const char *p = v;
    int prev_ew = 0;
    while (*p) {
        if (strncmp(p, "=?UTF-8?B?", 10) == 0) {
            const char *e = strstr(p + 10, "?=");
            unsigned acc = 0;
            int bits = 0;
            if (!e)
                break;
            if (prev_ew) /* drop the white space between two words */
                while (o > 0 && out[o - 1] == ' ')
                    o--;
            for (const char *q = p + 10; q < e && *q != '='; q++) {
                acc = (acc << 6) | (unsigned)b64val(*q);
                bits += 6;
                if (bits >= 8) {
                    bits -= 8;
                    out[o++] = (char)((acc >> bits) & 0xff);
                }
            }
            p = e + 2;
            prev_ew = 1;
        } else {
            if (*p != ' ')
                prev_ew = 0;
            out[o++] = *p++;
        }
    }
    out[o] = '\0';
    return out;
}

/* Longest line in s (CRLF-separated); -1 if a bare CR or LF occurs. */
static long longest_line(const char *s)
{
    long best = 0, cur = 0;
    for (; *s; s++) {
        if (s[0] == '\r' && s[1] == '\n') {
            if (cur > best)
                best = cur;
            cur = 0;
            s++;
        } else if (*s == '\r' || *s == '\n') {
            return -1;
        } else {
            cur++;
        }
    }
    return cur > best ? cur : best;
}

/* s with every line end made CRLF; malloc'd. */
static char *crlf(const char *s)
{
    char *out = malloc(2 * strlen(s) + 1);
    size_t o = 0;
    for (; *s; s++) {
        if (*s == '\r' && s[1] == '\n')
            continue;
        if (*s == '\n' || *s == '\r') {
            out[o++] = '\r';
            out[o++] = '\n';
        } else {
            out[o++] = *s;
        }
    }
    out[o] = '\0';
    return out;
}

static int all_ascii(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s >= 0x80)
            return 0;
    return 1;
}

static struct mail_msg base_msg(void)
{
    struct mail_msg m = {0};
    m.from_name = "The Valley Post";
    m.from_addr = "news@valley.example";
    m.to_addr = "reader+news@example.org";
    m.subject = "Morning briefing";
    m.text = "Hello.\n";
    m.message_id = "<s1.r2@valley.example>";
    m.date = 1764214520; /* Thu, 27 Nov 2025 03:35:20 UTC */
    return m;
}

/* ---- address checks ---- */

static void good_address(const char *in, const char *want)
{
    char out[300], err[160] = "";
    int r = mail_address_check(in, out, sizeof out, err, sizeof err);
    CHECK(r == 0 && strcmp(out, want) == 0, "address '%s' -> '%s' (got %s%s)",
          in, want, r == 0 ? out : "error: ", r == 0 ? "" : err);
}

static void bad_address(const char *label, const char *in, const char *why)
{
    char out[300], err[160] = "";
    int r = mail_address_check(in, out, sizeof out, err, sizeof err);
    CHECK(r == -1 && strstr(err, why) && !strchr(err, '\n'),
          "address %s refused with \"%s\" (got \"%s\")", label, why, err);
}

static void test_addresses(void)
{
    char local65[80], big[300];

    good_address("reader@example.org", "reader@example.org");
    good_address("  Reader+news@Mail.Example.ORG \t",
                 "Reader+news@mail.example.org");
    good_address("first.last@a.b.c.example.co.uk",
                 "first.last@a.b.c.example.co.uk");
    good_address("x_y-z'o{k}@xn--80ak6aa92e.xn--p1ai",
                 "x_y-z'o{k}@xn--80ak6aa92e.xn--p1ai");
    good_address("a@b-c.io", "a@b-c.io");

    bad_address("without @", "reader.example.org", "missing '@'");
    bad_address("with two @", "a@b@example.org", "more than one '@'");
    bad_address("with CR LF", "a@example.org\r\nBcc: x@evil.example",
                "control character");
    bad_address("with a LF", "a@example.org\n", "control character");
    bad_address("with a space", "john smith@example.org", "space");
    bad_address("quoted", "\"john\"@example.org", "quoted");
    bad_address("in Cyrillic (look-alike)", "p\xd0\xb0ypal@example.org",
                "non-ASCII");
    bad_address("with a Unicode domain", "a@b\xc3\xa9.org", "non-ASCII");
    memset(local65, 'a', 65);
    memcpy(local65 + 65, "@example.org", 13);
    bad_address("with a 65-byte local part", local65, "longer than 64");
    memset(big, 'a', 64);
    big[64] = '@';
    for (int i = 65; i < 255; i += 2) {
        big[i] = 'b';
        big[i + 1] = '.';
    }
    memcpy(big + 251, "org", 4); /* 254 bytes: the largest allowed */
    char want[300];
    snprintf(want, sizeof want, "%s", big);
    good_address(big, want);
    memcpy(big + 251, "orgx", 5); /* 255 */
    bad_address("of 255 bytes", big, "longer than 254");
    bad_address("a..b@x.org", "a..b@x.org", "two dots");
    bad_address(".a@x.org", ".a@x.org", "starts or ends with a dot");
    bad_address("a.@x.org", "a.@x.org", "starts or ends with a dot");
    bad_address("a@-x.org", "a@-x.org", "starts or ends with '-'");
    bad_address("a@x-.org", "a@x-.org", "starts or ends with '-'");
    bad_address("-x.org", "-x.org", "missing '@'");
    bad_address("a@x..org", "a@x..org", "empty label");
    bad_address("to an IP literal", "a@[192.0.2.1]", "IP address literal");
    bad_address("to a bare IP", "a@192.0.2.1", "top-level domain");
    bad_address("without TLD", "a@localhost", "needs a dot");
    bad_address("with a trailing dot", "a@example.org.", "ends with a dot");
    bad_address("with a 1-letter TLD", "a@example.o", "top-level domain");
    bad_address("with '_' in the domain", "a@ex_ample.org",
                "not allowed in domain");
    bad_address("with a comma", "a,b@example.org", "not allowed");
    bad_address("empty", "   ", "empty address");
    bad_address("with nothing after @", "a@", "missing domain");
    bad_address("with nothing before @", "@example.org", "empty");
    {
        char err[160], tiny[8];
        CHECK(mail_address_check("reader@example.org", tiny, sizeof tiny, err,
                                 sizeof err) == -1,
              "address check never overflows a small buffer");
    }
}

/* ---- composing ---- */

static void refused(struct mail_msg m, const char *label, const char *why)
{
    char *out = (char *)1, err[200] = "";
    size_t len;
    int r = mail_compose(&m, &out, &len, err, sizeof err);
    CHECK(r == -1 && out == NULL && strstr(err, why),
          "%s refused with \"%s\" (got \"%s\")", label, why, err);
    if (r == 0)
        free(out);
}

static char *compose(struct mail_msg m, size_t *len)
{
    char *out = NULL, err[200] = "";
    size_t n = 0;
    int r = mail_compose(&m, &out, &n, err, sizeof err);
    CHECK(r == 0 && out && strlen(out) == n, "message composed (%s)", err);
    if (len)
        *len = n;
    return out;
}

static void test_injection(void)
{
    struct mail_msg m = base_msg();
    m.subject = "Hello\r\nBcc: victim@example.org";
    refused(m, "CRLF in the subject", "control character in subject");
    m = base_msg();
    m.subject = "Hello\nX-Evil: 1";
    refused(m, "LF in the subject", "control character");
    m = base_msg();
    m.subject = "tab\there";
    refused(m, "a tab in the subject", "control character");
    m = base_msg();
    m.from_name = "Desk\r\nBcc: victim@example.org";
    refused(m, "CRLF in the sender name", "control character in sender name");
    m = base_msg();
    m.to_addr = "reader@example.org\r\nBcc: victim@example.org";
    refused(m, "CRLF in To", "bad To address");
    m = base_msg();
    m.from_addr = "news@valley.example>\r\nBcc: <v@example.org";
    refused(m, "CRLF in From", "bad From address");
    m = base_msg();
    m.message_id = "<a@b.example>\r\nBcc: victim@example.org";
    refused(m, "CRLF in Message-ID", "Message-ID");
    m = base_msg();
    m.message_id = "a@b.example";
    refused(m, "Message-ID without brackets", "<id@host>");
    m = base_msg();
    m.unsubscribe_url = "https://x.example/u\r\nBcc: v@example.org";
    refused(m, "CRLF in the unsubscribe URL", "control character");
    m = base_msg();
    m.unsubscribe_url = "ftp://x.example/u";
    refused(m, "an unsubscribe URL that is not http(s)",
            "must start with https://");
    m = base_msg();
    m.unsubscribe_mailto = "mailto:u@x.example>, <https://evil.example";
    refused(m, "'>' in the mailto", "not allowed");
    m = base_msg();
    m.list_id = "News <news.list.x.example>\r\nBcc: v@example.org";
    refused(m, "CRLF in List-Id", "control character");
    m = base_msg();
    m.one_click = 1;
    refused(m, "one-click without an unsubscribe URL", "one-click");
    m = base_msg();
    m.text = NULL;
    refused(m, "a message without text", "missing text body");
    m = base_msg();
    m.text = "caf\xc3";
    refused(m, "invalid UTF-8 in the text", "invalid UTF-8");
    m = base_msg();
    m.subject = "caf\xe9";
    refused(m, "Latin-1 in the subject", "invalid UTF-8");
    m = base_msg();
    m.to_addr = "Reader@EXAMPLE.org";
    refused(m, "a To address not normalised", "not normalised");
}

static void test_headers(void)
{
    struct mail_msg m = base_msg();
    char *msg, *v, *d;

    msg = compose(m, NULL);
    v = header(msg, "Date");
    CHECK_STR(v, "Thu, 27 Nov 2025 03:35:20 +0000", "Date in RFC 5322 form");
    free(v);
    v = header(msg, "From");
    CHECK_STR(v, "The Valley Post <news@valley.example>", "From header");
    free(v);
    v = header(msg, "To");
    CHECK_STR(v, "reader+news@example.org", "To header");
    free(v);
    v = header(msg, "Message-ID");
    CHECK_STR(v, "<s1.r2@valley.example>", "Message-ID header");
    free(v);
    v = header(msg, "MIME-Version");
    CHECK_STR(v, "1.0", "MIME-Version header");
    free(v);
    v = header(msg, "Content-Type");
    CHECK_STR(v, "text/plain; charset=utf-8", "text only: a single text part");
    free(v);
    CHECK(!header(msg, "Precedence") && !header(msg, "List-Unsubscribe") &&
              !header(msg, "Auto-Submitted"),
          "no list headers when none asked, never Auto-Submitted");
    free(msg);

    /* UTF-8 subject, long enough for several encoded words */
    const char *subj = "\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd1\x96\xd1\x82, "
                       "\xd1\x81\xd0\xb2\xd1\x96\xd1\x82 \xe2\x80\x94 "
                       "caf\xc3\xa9 \xe2\x98\x95 and a longer tail so the "
                       "subject needs more than one line: "
                       "\xf0\x9f\x93\xb0 \xd0\x9a\xd0\xb8\xd1\x97\xd0\xb2";
    m.subject = subj;
    m.from_name = "Gazeta \xc5\x81\xc3\xb3"
                  "d\xc5\xba";
    msg = compose(m, NULL);
    char *hdrs = strndup(msg, (size_t)(strstr(msg, "\r\n\r\n") - msg));
    CHECK(all_ascii(hdrs), "headers are pure ASCII");
    CHECK(longest_line(hdrs) > 0 && longest_line(hdrs) < 78,
          "header lines folded under 78 (longest %ld)", longest_line(hdrs));
    v = header(msg, "Subject");
    CHECK(v && strncmp(v, "=?UTF-8?B?", 10) == 0, "subject RFC 2047 encoded");
    d = v ? ew_decode(v) : NULL;
    CHECK_STR(d, subj, "UTF-8 subject decodes back exactly");
    free(v);
    free(d);
    v = header(msg, "From");
    d = v ? ew_decode(v) : NULL;
    CHECK_STR(d,
              "Gazeta \xc5\x81\xc3\xb3"
              "d\xc5\xba <news@valley.example>",
              "UTF-8 sender name decodes back");
    free(v);
    free(d);
    free(hdrs);
    free(msg);

    /* long ASCII subject: folded at spaces, unfolds to the same text */
    m = base_msg();
    const char *longs = "Council votes to close the old bridge for repairs "
                        "after engineers find cracks in two of its piers, "
                        "traffic moves to the ring road until spring";
    m.subject = longs;
    m.from_name = "Post, The \"Weekly\"";
    msg = compose(m, NULL);
    hdrs = strndup(msg, (size_t)(strstr(msg, "\r\n\r\n") - msg));
    CHECK(longest_line(hdrs) < 78, "long ASCII subject folded (longest %ld)",
          longest_line(hdrs));
    v = header(msg, "Subject");
    CHECK_STR(v, longs, "folded ASCII subject unfolds to the original");
    free(v);
    v = header(msg, "From");
    CHECK_STR(v, "\"Post, The \\\"Weekly\\\"\" <news@valley.example>",
              "sender name with specials is a quoted string");
    free(v);
    free(hdrs);
    free(msg);

    /* an ASCII subject that looks like an encoded word is encoded */
    m = base_msg();
    m.subject = "=?UTF-8?B?aGk=?= is not decoded";
    msg = compose(m, NULL);
    v = header(msg, "Subject");
    d = v ? ew_decode(v) : NULL;
    CHECK_STR(d, "=?UTF-8?B?aGk=?= is not decoded",
              "a subject that looks encoded reads as typed");
    free(v);
    free(d);
    free(msg);

    /* list headers (RFC 2369, 2919, 8058) */
    m = base_msg();
    m.list_id = "Morning Briefing <morning.list.valley.example>";
    m.unsubscribe_url = "https://valley.example/newsletters/unsubscribe/"
                        "?token=u.12.3.0.abcdefabcdef";
    m.unsubscribe_mailto = "mailto:news@valley.example?subject=unsubscribe";
    m.one_click = 1;
    msg = compose(m, NULL);
    v = header(msg, "List-Unsubscribe");
    CHECK_STR(v,
              "<https://valley.example/newsletters/unsubscribe/"
              "?token=u.12.3.0.abcdefabcdef>, "
              "<mailto:news@valley.example?subject=unsubscribe>",
              "List-Unsubscribe has the https and mailto links");
    free(v);
    v = header(msg, "List-Unsubscribe-Post");
    CHECK_STR(v, "List-Unsubscribe=One-Click", "List-Unsubscribe-Post present");
    free(v);
    v = header(msg, "List-Id");
    CHECK_STR(v, "Morning Briefing <morning.list.valley.example>", "List-Id");
    free(v);
    v = header(msg, "Precedence");
    CHECK_STR(v, "bulk", "Precedence: bulk for list mail");
    free(v);
    CHECK(longest_line(msg) < 998 &&
              strstr(msg, "abcdef>,\r\n <mailto:news@valley.example"),
          "List-Unsubscribe folded between its links");
    free(msg);

    m.one_click = 0;
    m.unsubscribe_mailto = NULL;
    msg = compose(m, NULL);
    CHECK(!header(msg, "List-Unsubscribe-Post"),
          "no List-Unsubscribe-Post unless one-click is asked");
    free(msg);
}

/* the decoded single text part of msg, malloc'd */
static char *text_part(const char *msg)
{
    const char *b = strstr(msg, "\r\n\r\n") + 4;
    return qp_decode(b, strlen(b));
}

static void test_bodies(void)
{
    struct mail_msg m = base_msg();
    char text[4000], *msg, *want, *got;
    size_t o = 0;

    /* a 600-byte line with accents, '=' and tabs; trailing spaces; dots and
     * From lines; a very long word */
    for (int i = 0; i < 60; i++)
        o += (size_t)snprintf(text + o, sizeof text - o, "caf\xc3\xa9=%d\t", i);
    o += (size_t)snprintf(text + o, sizeof text - o,
                          "\nline with trailing spaces   \n.\n"
                          "From here on\n..two dots\n. \nFrom\n\n");
    for (int i = 0; i < 1500; i++)
        text[o++] = (char)('a' + i % 26);
    snprintf(text + o, sizeof text - o, "\r\nlast line without newline");
    m.text = text;
    msg = compose(m, NULL);
    CHECK(longest_line(msg) >= 0 && longest_line(msg) <= 76,
          "every line of the message at most 76 (longest %ld), CRLF only",
          longest_line(msg));
    const char *body = strstr(msg, "\r\n\r\n") + 4;
    CHECK(!strstr(msg, "\r\n.\r\n") && strncmp(body, ".\r\n", 3) != 0,
          "no line is a lone \".\" (it would end SMTP DATA)");
    CHECK(!strstr(body, "\r\nFrom ") && strncmp(body, "From ", 5) != 0,
          "no body line starts with \"From \" (mbox would mangle it)");
    CHECK(!strstr(msg, " \r\n") && !strstr(msg, "\t\r\n"),
          "no white space at a line end (transports strip it)");
    want = crlf(text);
    got = text_part(msg);
    size_t gl = strlen(got);
    if (gl >= 2 && strcmp(got + gl - 2, "\r\n") == 0)
        got[gl - 2] = '\0'; /* the line end that closes the message */
    CHECK(strcmp(got, want) == 0,
          "quoted-printable body decodes back to the text (\".\", "
          "\"From \", trailing spaces, accents survive)");
    free(want);
    free(got);
    free(msg);

    /* multipart/alternative: text then HTML */
    m = base_msg();
    m.text = "Plain text.\n--=_nr_0000000000000000\n";
    m.html = "<p>HTML \xe2\x80\x94 with --=_nr_ and =_ inside</p>\n"
             "<p style=\"color: red\">.</p>\n";
    msg = compose(m, NULL);
    char *ct = header(msg, "Content-Type");
    const char *bq = ct ? strstr(ct, "boundary=\"") : NULL;
    CHECK(ct && strncmp(ct, "multipart/alternative;", 22) == 0 && bq,
          "multipart/alternative with a boundary (%s)", ct ? ct : "none");
    if (bq) {
        char bnd[100], delim[110];
        snprintf(bnd, sizeof bnd, "%s", bq + 10);
        *strchr(bnd, '"') = '\0';
        snprintf(delim, sizeof delim, "--%s", bnd);
        int count = 0;
        for (const char *p = strstr(msg, bnd); p; p = strstr(p + 1, bnd))
            count++;
        /* once in Content-Type, twice as a delimiter, once as the close */
        CHECK(count == 4, "boundary occurs only where it belongs (%d)", count);
        const char *p1 = strstr(msg, delim);
        const char *p2 = p1 ? strstr(p1 + 1, delim) : NULL;
        const char *p3 = p2 ? strstr(p2 + 1, delim) : NULL;
        CHECK(p1 && p2 && p3 && strncmp(p3 + strlen(delim), "--\r\n", 4) == 0,
              "two parts and a closing delimiter");
        if (p1 && p2 && p3) {
            char *h1 = strndup(p1, (size_t)(p2 - p1));
            char *h2 = strndup(p2, (size_t)(p3 - p2));
            CHECK(strstr(h1, "Content-Type: text/plain; charset=utf-8") &&
                      strstr(h2, "Content-Type: text/html; charset=utf-8"),
                  "text part first, then HTML");
            const char *b1 = strstr(h1, "\r\n\r\n") + 4;
            const char *b2 = strstr(h2, "\r\n\r\n") + 4;
            /* the CRLF before a delimiter belongs to the delimiter */
            char *t1 = qp_decode(b1, strlen(b1) - 2);
            char *t2 = qp_decode(b2, strlen(b2) - 2);
            char *w1 = crlf(m.text), *w2 = crlf(m.html);
            CHECK_STR(t1, w1, "text part decodes back");
            CHECK_STR(t2, w2, "HTML part decodes back");
            CHECK(!strstr(t1, bnd) && !strstr(t2, bnd),
                  "boundary not in the bodies");
            free(t1);
            free(t2);
            free(w1);
            free(w2);
            free(h1);
            free(h2);
        }
    }
    free(ct);
    free(msg);
}

/* ---- delivery to files ---- */

static char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *s;
    long n;
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    rewind(f);
    s = malloc((size_t)n + 1);
    *len = fread(s, 1, (size_t)n, f);
    s[*len] = '\0';
    fclose(f);
    return s;
}

static void rm_rf(const char *dir)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        printf("# cannot remove %s\n", dir);
}

static void test_files(void)
{
    char root[] = "/tmp/newsroom-mail-XXXXXX", dir[300], err[300];
    struct mail_msg m = base_msg();
    char *msg1, *msg2;
    size_t len1, len2;
    struct stat st;

    if (!mkdtemp(root)) {
        CHECK(0, "temporary directory");
        return;
    }
    snprintf(dir, sizeof dir, "%s/site/mail", root);
    struct mail_transport *t =
        mail_transport_new("", NULL, NULL, "try", dir, err, sizeof err);
    CHECK(t != NULL, "files transport (%s)", t ? "" : err);
    if (!t)
        return;
    m.text = "First message.\n";
    msg1 = compose(m, &len1);
    m.message_id = "<s1/r3~x@valley.example>";
    m.to_addr = "other@example.org";
    m.text = "Second message.\n";
    msg2 = compose(m, &len2);
    CHECK(mail_deliver(t, m.from_addr, "reader+news@example.org", msg1, len1,
                       err, sizeof err) == MAIL_SENT,
          "first .eml written (%s)", err);
    char first[600];
    snprintf(first, sizeof first, "%s", mail_transport_last_file(t));
    CHECK(mail_deliver(t, m.from_addr, "other@example.org", msg2, len2, err,
                       sizeof err) == MAIL_SENT,
          "second .eml written (%s)", err);
    char want1[600];
    snprintf(want1, sizeof want1, "%s/20251127-033520-s1.r2@valley.example.eml",
             dir);
    CHECK_STR(first, want1, "file named by date and Message-ID");
    CHECK(stat(dir, &st) == 0 && (st.st_mode & 0777) == 0750,
          "mail directory created 0750");
    DIR *d = opendir(dir);
    int emls = 0, others = 0;
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (e->d_name[0] == '.' &&
            (!e->d_name[1] || (e->d_name[1] == '.' && !e->d_name[2])))
            continue;
        size_t n = strlen(e->d_name);
        if (n > 4 && strcmp(e->d_name + n - 4, ".eml") == 0 &&
            e->d_name[0] != '.' && !strchr(e->d_name, '/'))
            emls++;
        else
            others++;
    }
    if (d)
        closedir(d);
    CHECK(emls == 2 && others == 0,
          "one .eml per message and no temporary file left (%d, %d)", emls,
          others);
    size_t n;
    char *got = read_all(first, &n);
    CHECK(got && n == len1 && memcmp(got, msg1, n) == 0,
          "file content is the message, byte for byte");
    free(got);
    got = read_all(mail_transport_last_file(t), &n);
    CHECK(
        got && n == len2 && memcmp(got, msg2, n) == 0 &&
            strstr(mail_transport_last_file(t), "-s1_r3_x@valley.example.eml"),
        "a '/' in a Message-ID cannot leave the directory (%s)",
        mail_transport_last_file(t));
    free(got);
    /* delivering the same message again replaces its file */
    CHECK(mail_deliver(t, m.from_addr, "reader+news@example.org", msg1, len1,
                       err, sizeof err) == MAIL_SENT &&
              strcmp(mail_transport_last_file(t), first) == 0,
          "a retried message replaces its own file");
    mail_transport_free(t);
    free(msg1);
    free(msg2);

    /* a directory that cannot be made: the folder's fault, not the
     * message's (the job probes the folder, spending no attempts) */
    snprintf(dir, sizeof dir, "%s/file", root);
    close(open(dir, O_CREAT | O_WRONLY, 0600));
    snprintf(dir, sizeof dir, "%s/file/mail", root);
    t = mail_transport_new(NULL, NULL, NULL, NULL, dir, err, sizeof err);
    msg1 = compose(base_msg(), &len1);
    CHECK(mail_deliver(t, "news@valley.example", "reader+news@example.org",
                       msg1, len1, err, sizeof err) == MAIL_UNREACHABLE &&
              strstr(err, "cannot create mail directory"),
          "unwritable mail directory: unreachable (%s)", err);
    CHECK(mail_transport_probe(t, err, sizeof err) == MAIL_UNREACHABLE &&
              strstr(err, "mail folder"),
          "the probe says the mail folder cannot be written (%s)", err);
    free(msg1);
    mail_transport_free(t);

    /* a writable folder: the probe passes and leaves nothing behind */
    snprintf(dir, sizeof dir, "%s/ok", root);
    t = mail_transport_new(NULL, NULL, NULL, NULL, dir, err, sizeof err);
    int probed = t ? mail_transport_probe(t, err, sizeof err) : 99;
    DIR *dd = opendir(dir);
    int entries = 0;
    for (struct dirent *de; dd && (de = readdir(dd));)
        entries += de->d_name[0] != '.' || strncmp(de->d_name, ".probe", 6) == 0;
    if (dd)
        closedir(dd);
    CHECK(probed == MAIL_SENT && dd && entries == 0,
          "the probe of a writable mail folder passes and leaves no file "
          "(%d, %d entries)",
          probed, entries);
    mail_transport_free(t);
    rm_rf(root);
}

/* ---- delivery over SMTP ---- */

static const char handler_py[] =
    "import sys\n"
    "class Handler:\n"
    "    async def handle_RCPT(self, server, session, envelope, address,\n"
    "                          rcpt_options):\n"
    "        if address.startswith('reject'):\n"
    "            return '550 5.1.1 no such user here'\n"
    "        if address.startswith('later'):\n"
    "            return '451 4.3.0 mailbox busy, try later'\n"
    "        envelope.rcpt_tos.append(address)\n"
    "        return '250 OK'\n"
    "    async def handle_DATA(self, server, session, envelope):\n"
    "        if envelope.rcpt_tos[0].startswith('baddata'):\n"
    "            return '554 5.6.0 message content refused'\n"
    "        text = envelope.content.decode('ascii')\n"
    "        print('MESSAGE peer=%d from=%s to=%s' % (session.peer[1],\n"
    "              envelope.mail_from, ','.join(envelope.rcpt_tos)))\n"
    "        for line in text.splitlines():\n"
    "            if line.lower().startswith('message-id:'):\n"
    "                print(line)\n"
    "        print('BYTES %d' % len(envelope.original_content))\n"
    "        sys.stdout.flush()\n"
    "        return '250 2.0.0 queued'\n";

/* A loopback port nothing listens on (bound, then released). */
static int free_port(void)
{
    struct sockaddr_in a = {0};
    socklen_t al = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM, 0), port;
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0 ||
        getsockname(fd, (struct sockaddr *)&a, &al) < 0) {
        close(fd);
        return -1;
    }
    port = ntohs(a.sin_port);
    close(fd);
    return port;
}

static int port_open(int port)
{
    struct sockaddr_in a = {0};
    int fd = socket(AF_INET, SOCK_STREAM, 0), ok;
    a.sin_family = AF_INET;
    a.sin_port = htons((unsigned short)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ok = connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
    close(fd);
    return ok;
}

/* Starts aiosmtpd with the handler above on port; its stdout goes to
 * out_path. The PID, or -1. */
static pid_t start_smtpd(const char *dir, int port, const char *out_path)
{
    char path[400], listen[64];
    FILE *f;
    pid_t pid;

    snprintf(path, sizeof path, "%s/nrtesthandler.py", dir);
    f = fopen(path, "w");
    if (!f)
        return -1;
    fputs(handler_py, f);
    fclose(f);
    snprintf(listen, sizeof listen, "127.0.0.1:%d", port);
    pid = fork();
    if (pid == 0) {
        int out = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        char errp[420];
        snprintf(errp, sizeof errp, "%s.err", out_path);
        int er = open(errp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        dup2(out, 1);
        dup2(er, 2);
        setenv("PYTHONPATH", dir, 1);
        setenv("PYTHONUNBUFFERED", "1", 1);
        execl("/usr/bin/python3", "python3", "-m", "aiosmtpd", "-n", "-l",
              listen, "-c", "nrtesthandler.Handler", (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 200; i++) { /* up to 10 s */
        int status;
        if (port_open(port))
            return pid;
        if (waitpid(pid, &status, WNOHANG) == pid)
            return -1;
        usleep(50000);
    }
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
    return -1;
}

static void stop_smtpd(pid_t pid)
{
    int status;
    kill(pid, SIGTERM);
    for (int i = 0; i < 100; i++) {
        if (waitpid(pid, &status, WNOHANG) == pid)
            return;
        usleep(50000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
}

/* The server's log so far, malloc'd ("" if none). */
static char *server_log(const char *out_path)
{
    size_t n;
    char *s = read_all(out_path, &n);
    return s ? s : strdup("");
}

static void test_smtp(void)
{
    char root[] = "/tmp/newsroom-smtp-XXXXXX", out_path[300], url[80];
    char err[300];
    int port = free_port();
    pid_t pid;

    if (!mkdtemp(root) || port < 0) {
        CHECK(0, "temporary directory and port");
        return;
    }
    snprintf(out_path, sizeof out_path, "%s/smtpd.out", root);
    pid = start_smtpd(root, port, out_path);
    CHECK(pid > 0, "aiosmtpd started on port %d", port);
    if (pid <= 0) {
        rm_rf(root);
        return;
    }
    snprintf(url, sizeof url, "smtp://127.0.0.1:%d", port);
    struct mail_transport *t =
        mail_transport_new(url, NULL, NULL, "try", NULL, err, sizeof err);
    CHECK(t != NULL, "SMTP transport (%s)", t ? "" : err);
    if (!t) {
        stop_smtpd(pid);
        rm_rf(root);
        return;
    }

    /* three messages on one transport: all arrive, on one connection */
    const char *ids[3] = {"<7.1@valley.example>", "<7.2@valley.example>",
                          "<7.3@valley.example>"};
    const char *tos[3] = {"a@example.org", "b@example.org", "c@example.org"};
    size_t lens[3];
    for (int i = 0; i < 3; i++) {
        struct mail_msg m = base_msg();
        char *msg;
        m.message_id = ids[i];
        m.to_addr = tos[i];
        m.text = ".\nFrom the desk\n..\n";
        msg = compose(m, &lens[i]);
        int r = mail_deliver(t, m.from_addr, m.to_addr, msg, lens[i], err,
                             sizeof err);
        CHECK(r == MAIL_SENT && err[0] == '\0', "message %d sent (%d %s)",
              i + 1, r, err);
        free(msg);
    }
    char *log = server_log(out_path);
    char peer[3][32] = {"", "", ""};
    int seen = 0;
    for (int i = 0; i < 3; i++) {
        char line[200];
        snprintf(line, sizeof line, "from=news@valley.example to=%s\n", tos[i]);
        char mid[100];
        snprintf(mid, sizeof mid, "Message-ID: %s\n", ids[i]);
        const char *at = strstr(log, line);
        char bytes[40];
        snprintf(bytes, sizeof bytes, "BYTES %zu\n", lens[i]);
        if (at && strstr(at, mid) && strstr(at, bytes))
            seen++;
        if (at) {
            const char *p = at;
            while (p > log && strncmp(p, "peer=", 5) != 0)
                p--;
            snprintf(peer[i], sizeof peer[i], "%.*s", (int)strcspn(p, " "), p);
        }
    }
    CHECK(seen == 3,
          "the server got all three, each with its Message-ID and every "
          "byte (dots unstuffed)");
    CHECK(peer[0][0] && strcmp(peer[0], peer[1]) == 0 &&
              strcmp(peer[1], peer[2]) == 0,
          "one SMTP connection for all three (%s %s %s)", peer[0], peer[1],
          peer[2]);
    free(log);

    struct mail_msg m = base_msg();
    char *msg;
    size_t len;
    m.to_addr = "reject@example.org";
    msg = compose(m, &len);
    int r = mail_deliver(t, m.from_addr, m.to_addr, msg, len, err, sizeof err);
    CHECK(r == MAIL_PERMANENT && strstr(err, "RCPT TO") &&
              strstr(err, "550 5.1.1 no such user here"),
          "RCPT refused with 550: permanent, err says so (%d %s)", r, err);
    free(msg);
    m.to_addr = "later@example.org";
    msg = compose(m, &len);
    r = mail_deliver(t, m.from_addr, m.to_addr, msg, len, err, sizeof err);
    CHECK(r == MAIL_TEMPORARY && strstr(err, "451 4.3.0"),
          "RCPT refused with 451: temporary (%d %s)", r, err);
    free(msg);
    m.to_addr = "baddata@example.org";
    msg = compose(m, &len);
    r = mail_deliver(t, m.from_addr, m.to_addr, msg, len, err, sizeof err);
    CHECK(r == MAIL_PERMANENT && strstr(err, "DATA") && strstr(err, "554"),
          "message refused after DATA with 554: permanent (%d %s)", r, err);
    free(msg);
    m.to_addr = "d@example.org";
    msg = compose(m, &len);
    r = mail_deliver(t, m.from_addr, m.to_addr, msg, len, err, sizeof err);
    CHECK(r == MAIL_SENT, "the transport still works after refusals (%d %s)", r,
          err);
    r = mail_deliver(t, m.from_addr, "x@example.org\r\nDATA", msg, len, err,
                     sizeof err);
    CHECK(r == MAIL_PERMANENT, "a CRLF in the envelope never reaches SMTP");
    mail_transport_free(t);

    /* STARTTLS required, but the server offers none */
    t = mail_transport_new(url, NULL, NULL, "required", NULL, err, sizeof err);
    r = t ? mail_deliver(t, m.from_addr, m.to_addr, msg, len, err, sizeof err)
          : 99;
    CHECK(r == MAIL_TEMPORARY && err[0],
          "STARTTLS required and not offered: temporary, not sent in clear "
          "(%s)",
          err);
    mail_transport_free(t);

    stop_smtpd(pid);
    CHECK(!port_open(port), "server stopped");

    /* nobody listening */
    t = mail_transport_new(url, NULL, NULL, "try", NULL, err, sizeof err);
    r = t ? mail_deliver(t, m.from_addr, m.to_addr, msg, len, err, sizeof err)
          : 99;
    CHECK(r == MAIL_UNREACHABLE && strstr(err, "connect"),
          "no server listening: unreachable, not the message's fault (%s)",
          err);
    mail_transport_free(t);
    free(msg);
    rm_rf(root);
}

static void test_transport_setup(void)
{
    char err[300];
    struct mail_transport *t;

    t = mail_transport_new("http://mail.example.org", NULL, NULL, "try", NULL,
                           err, sizeof err);
    CHECK(!t && strstr(err, "bad SMTP URL"), "http:// refused (%s)", err);
    t = mail_transport_new("smtp://mail.example.org\r\n", NULL, NULL, "try",
                           NULL, err, sizeof err);
    CHECK(!t && strstr(err, "bad SMTP URL"), "CRLF in the URL refused");
    t = mail_transport_new("smtp://mail.example.org:25", NULL, NULL, "maybe",
                           NULL, err, sizeof err);
    CHECK(!t && strstr(err, "try, required or off"),
          "unknown STARTTLS setting refused (%s)", err);
    t = mail_transport_new("smtp://mail.example.org:587", "news", "secret",
                           "off", NULL, err, sizeof err);
    CHECK(!t && strstr(err, "unencrypted"),
          "password over plain SMTP to another host refused (%s)", err);
    t = mail_transport_new("smtps://mail.example.org:465", "news", "secret",
                           "off", NULL, err, sizeof err);
    CHECK(t != NULL, "smtps:// with a password is fine (%s)", t ? "" : err);
    mail_transport_free(t);
    t = mail_transport_new("", NULL, NULL, "try", NULL, err, sizeof err);
    CHECK(!t && err[0], "no SMTP and no directory refused (%s)", err);
    mail_transport_free(NULL);
}

int main(void)
{
    if (mail_init() < 0) {
        CHECK(0, "mail_init");
        return check_done();
    }
    test_addresses();
    test_injection();
    test_headers();
    test_bodies();
    test_transport_setup();
    test_files();
    test_smtp();
    mail_shutdown();
    return check_done();
}
