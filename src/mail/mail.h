/*
 * mail.h - composing and delivering email: address checks, RFC 5322 / MIME
 * messages, and a transport that speaks SMTP (libcurl) or, when no server is
 * configured, writes each message as an .eml file.
 *
 * Used by the mail jobs (never on the request path). The flow is
 *   mail_address_check() -> mail_compose() -> mail_deliver()
 * with one struct mail_transport per worker thread. main() calls mail_init()
 * once before any thread starts and mail_shutdown() once at exit.
 * docs/mail.md is the operator's page (SMTP set-up, STARTTLS, AUTH, the .eml
 * fallback, the headers sent).
 */
#ifndef MAIL_MAIL_H
#define MAIL_MAIL_H

#include <stddef.h>

#define MAIL_ADDR_MAX 254 /* bytes of an address (RFC 5321 4.5.3.1.3) */
#define MAIL_LOCAL_MAX 64 /* bytes before the '@' (RFC 5321 4.5.3.1.1) */
#define MAIL_LABEL_MAX 63 /* bytes of one domain label (RFC 1035) */
#define MAIL_MSG_MAX (8 * 1024 * 1024) /* bytes of one composed message */
#define MAIL_NAME_MAX 256     /* bytes of a display name or list name */
#define MAIL_SUBJECT_MAX 1000 /* bytes of a subject */
#define MAIL_URL_MAX 900      /* bytes of an unsubscribe URL or mailto */
#define MAIL_ID_MAX 250       /* bytes of a Message-ID or List-Id */
#define MAIL_TIMEOUT_S 30     /* SMTP connect / no-progress timeout, seconds */

/* Once per process, before any thread uses a transport: sets up libcurl
 * (curl_global_init, which is not thread-safe). 0, or -1 (logged).
 * Call from main(); tests call it too. */
int mail_init(void);
/* Once at exit, after every transport is freed. */
void mail_shutdown(void);

/* Checks and normalises an email address for newsletters: trims spaces,
 * lower-cases the domain (the local part is kept), ASCII only (anything
 * else refused: no Unicode look-alikes), dot-atom local part (RFC 5322
 * atext, no quoted strings, no leading/trailing/double dots) of at most 64
 * bytes, a domain of LDH labels (1..63, not starting/ending with '-') with
 * at least one dot and a TLD of letters (or xn--), at most 254 bytes in all
 * (RFC 5321). 0 and the address in out, or -1 with a reason in err
 * ("missing '@'"). out may be too small: that is an error too. */
int mail_address_check(const char *in, char *out, size_t outlen, char *err,
                       size_t errlen);

/* One message. Every header value is checked: CR, LF and other control
 * characters are refused (header injection); non-ASCII text in display
 * names and the subject is encoded (RFC 2047, UTF-8, B), lines folded
 * under 78 characters. Strings must be UTF-8. */
struct mail_msg {
    const char *from_name;  /* display name, or NULL */
    const char *from_addr;  /* checked with mail_address_check */
    const char *to_addr;    /* checked */
    const char *subject;    /* UTF-8, may be "" */
    const char *text;       /* plain-text body (UTF-8), required */
    const char *html;       /* HTML body (UTF-8), or NULL for text only */
    const char *message_id; /* "<id@host>" with the brackets; the caller
                               makes it deterministic per (send, recipient) */
    long long date;         /* Unix seconds, for the Date header (RFC 5322) */
    const char *list_id;    /* "Name <slug.list.host>" or NULL */
    const char *unsubscribe_url;    /* https URL, or NULL */
    const char *unsubscribe_mailto; /* "mailto:...", or NULL */
    int one_click; /* 1 = List-Unsubscribe-Post: List-Unsubscribe=One-Click
                      (RFC 8058; needs unsubscribe_url) */
};

/* Composes m as RFC 5322 / MIME bytes with CRLF line ends: From, To,
 * Subject, Date, Message-ID, MIME-Version, List-Id, List-Unsubscribe
 * ("<https...>, <mailto...>"), List-Unsubscribe-Post, and Precedence: bulk
 * when list_id (no Auto-Submitted: a newsletter is not an auto-reply); a
 * multipart/alternative body (text then HTML) or a single text part; bodies
 * quoted-printable (lines <= 76, so no line is ever longer than 998 and a
 * lone "." line cannot end the SMTP DATA; a leading "." or "From " is
 * encoded too). *out is malloc'd (caller frees), NUL-terminated, *len bytes
 * without the NUL. 0, or -1 with a reason in err (*out is then NULL). */
int mail_compose(const struct mail_msg *m, char **out, size_t *len, char *err,
                 size_t errlen);

/* Where mail goes: SMTP (smtp_url set) or .eml files in files_dir. One
 * transport per worker thread (not thread-safe); keeps the SMTP connection
 * open between messages (libcurl reuses it). */
struct mail_transport;

/* A transport. smtp_url "" or NULL means files: each message goes to
 * files_dir (created 0750 on first delivery). Otherwise smtp_url is
 * smtp://host[:port] or smtps://host[:port]; user ("" or NULL = no AUTH)
 * and password (NULL = none; callers pass getenv("NEWSROOM_SMTP_PASSWORD"),
 * never a value from site.conf) log in; starttls is "try", "required" or
 * "off" (ignored for smtps://, which is TLS from the start). A password is
 * never sent in the clear to another machine: with a password over smtp://
 * "try" becomes "required" and "off" is refused unless the host is a
 * loopback address. The strings are copied. NULL with a reason in err. */
struct mail_transport *
mail_transport_new(const char *smtp_url, const char *user, const char *password,
                   const char *starttls, const char *files_dir, char *err,
                   size_t errlen);
/* Closes the connection and frees t. NULL is fine. */
void mail_transport_free(struct mail_transport *t);

enum mail_result {
    MAIL_SENT = 0,
    MAIL_TEMPORARY = -1,  /* try this message again later */
    MAIL_PERMANENT = -2,  /* the message or address is refused: give up */
    MAIL_UNREACHABLE = -3 /* no server to talk to (not the message's fault) */
};

/* The setting (store_setting_get) the mail job keeps while the SMTP
 * server cannot be reached: "SINCE LAST EVERY REASON" (Unix seconds of the
 * first failure and of the last probe, the probe interval in seconds, a
 * one-line reason); "" or unset when mail flows. The desk shows it. */
#define MAIL_DOWN_SETTING "mail_unreachable"

/* Delivers len bytes (from mail_compose) from envelope sender from_addr to
 * to_addr (both already checked). SMTP: 2xx = MAIL_SENT; 5xx on RCPT/DATA =
 * MAIL_PERMANENT (the address or the message is refused: do not retry);
 * 4xx, 5xx at other steps (MAIL FROM, AUTH: a set-up problem, not the
 * recipient's), timeouts (MAIL_TIMEOUT_S) after the greeting, TLS errors =
 * MAIL_TEMPORARY; no server at all (the name does not resolve, the
 * connection is refused or times out, the greeting never comes or refuses
 * with 4xx/5xx) = MAIL_UNREACHABLE. err says what the server answered
 * ("RCPT TO refused: 550 5.1.1 no such user"); "" on success.
 * Files: writes files_dir/<UTC date>-<message-id made safe>.eml atomically
 * (temp + rename, file 0640; the directory is created 0750), MAIL_SENT, or
 * MAIL_UNREACHABLE when the file cannot be written (the folder is full or
 * read-only: not the message's fault). */
int mail_deliver(struct mail_transport *t, const char *from_addr,
                 const char *to_addr, const char *data, size_t len, char *err,
                 size_t errlen);

/* Checks that the SMTP server accepts connections now (a TCP connection,
 * and TLS for smtps://; then closed), without sending any mail: MAIL_SENT
 * when it does (for files: the mail folder takes a 64 KB file now),
 * MAIL_UNREACHABLE with a reason in err when not. For the mail job to
 * probe during an outage. */
int mail_transport_probe(struct mail_transport *t, char *err, size_t errlen);

/* The file mail_deliver wrote last (files transport), "" if none yet or
 * SMTP. Valid until the next call on t. */
const char *mail_transport_last_file(const struct mail_transport *t);

#endif
