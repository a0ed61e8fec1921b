/*
 * session.h - signing in to the desk: password checks with rate limits,
 * sessions that any node can verify (only a hash of the token is stored),
 * and CSRF tokens derived from the session, so no other state is needed.
 *
 * DESIGN
 * A session token is 32 random bytes (256 bits) sent to the browser as 64
 * hex digits in an HttpOnly cookie; the store keeps the BLAKE2b hash of
 * the token, never the token. A session ends after SESSION_IDLE_S without
 * a request, or SESSION_MAX_S after sign-in, whichever comes first.
 * The CSRF token of a session is a keyed hash of its token, so a page can
 * carry it and every node can check it without looking anything up.
 * Failed sign-ins are counted per account and per network address in the
 * store (shared by every node) over a SIGNIN_WINDOW_S window; past the
 * limit, sign-in is refused with a message saying when to retry, even with
 * the right password. The account's count is taken before the password
 * is checked (racing guesses cannot overshoot it) and cleared by a
 * success, so a right password waiting for its code counts as one; the
 * address's counts failures only (a newsroom shares one address).
 * Device cookies (OWASP "device cookies") keep credential stuffing from
 * locking out the owner: every successful sign-in gives the browser a
 * token "d1.<staff id>.<nonce>.<mac>" (MAC: totp_key_mac, the site's
 * sign-in key, so nothing is stored and every node can check it). A
 * browser that presents a genuine one for the account it signs in to is
 * not subject to the account's pause; it has its own small counter
 * (SIGNIN_MAX_DEVICE, keyed by the nonce) so a stolen cookie does not buy
 * unlimited guesses. The per-address counter applies to everybody. The
 * address is the socket peer (http_req_client_ip); X-Forwarded-For is not
 * read, so a forged one changes nothing.
 * Session fixation: a session token is always made fresh at sign-in
 * (open_session); nothing a browser sends beforehand becomes one.
 * With TOTP on (content/totp.h), the right password gives SESSION_TOTP and
 * no session; session_signin_code then takes the code. Wrong codes count
 * as failed sign-ins, and the account's count is cleared only after the
 * code, so knowing the password buys no extra guesses at the code.
 *
 * Knows nothing of HTTP: web/desk.c reads cookies and forms and calls this.
 */
#ifndef CONTENT_SESSION_H
#define CONTENT_SESSION_H

#include <stddef.h>
#include <stdint.h>

#include "content/staff.h"
#include "core/bounds.h" /* SIGNIN_* */

struct arena;
struct store;

#define SESSION_TOKEN_HEX 64          /* hex digits of a token */
#define SESSION_IDLE_S (12 * 3600)    /* ends after this long unused */
#define SESSION_MAX_S (7 * 24 * 3600) /* ends this long after sign-in */
#define SESSION_TOUCH_S 60 /* last_seen_at written at most this often */
#define STAFF_LINK_TTL_S (72 * 3600) /* invitation / reset link lifetime */

/* The person a request acts for, as the desk's rules need it. */
struct desk_actor {
    int64_t staff_id;
    const char *name;
    const char *email;
    enum staff_role role;
    int64_t author_id; /* their byline (store_author id), or 0 */
};

enum session_result {
    SESSION_OK = 0,
    SESSION_BAD = -1,     /* wrong email or password, or no such session */
    SESSION_LIMITED = -2, /* too many failures: err says when to retry */
    SESSION_ERROR = -3,   /* the store failed (logged) */
    SESSION_WEAK = -4,    /* a new password breaks the rules: err says */
    SESSION_TOTP = -5,    /* password right, a TOTP code is needed next */
    SESSION_STALE = -6,   /* the code form expired or was used: start again */
};

/* Signs in email/password from address ip at now. On success writes a new
 * token (SESSION_TOKEN_HEX digits and a NUL) to token, fills *who (strings
 * in a) and returns SESSION_OK; SESSION_TOTP (*who filled, no token) when
 * the account has TOTP on and the password was right; otherwise a
 * session_result with a message a person can act on in err. Takes about as long
 * for an unknown address as for a known one. */
int session_signin(struct store *st, struct arena *a, const char *email,
                   const char *password, const char *ip, int64_t now,
                   char token[SESSION_TOKEN_HEX + 1], struct desk_actor *who,
                   char *err, size_t errlen);

#define SESSION_DEVICE_MAX 160 /* characters of a device cookie, NUL too */

/* session_signin for a browser that sent device, its device cookie (NULL
 * or "" for none): when device is genuine and names the account, the
 * account-wide pause does not apply and failures count against the device
 * (SIGNIN_MAX_DEVICE) instead; otherwise as session_signin. */
int session_signin_device(struct store *st, struct arena *a, const char *email,
                          const char *password, const char *device,
                          const char *ip, int64_t now,
                          char token[SESSION_TOKEN_HEX + 1],
                          struct desk_actor *who, char *err, size_t errlen);

/* A new device cookie for staff_id into out (to send after a successful
 * sign-in). 0, or -1 when the site key cannot be read (logged). */
int session_device_make(struct store *st, struct arena *a, int64_t staff_id,
                        char out[SESSION_DEVICE_MAX]);
/* 1 when device (may be NULL) is a genuine device cookie of staff_id, 0
 * when not (forged, malformed, another account's). */
int session_device_ok(struct store *st, struct arena *a, const char *device,
                      int64_t staff_id);

/* The second step for an account with TOTP: pending is the token that
 * totp_pending_make gave after the password, bind the browser's sign-in
 * form token, code what the person typed. SESSION_OK with token and *who
 * as session_signin; SESSION_BAD (wrong or reused code: err says),
 * SESSION_LIMITED, SESSION_STALE (pending expired, forged or used: err
 * says to start again) or SESSION_ERROR. Each pending token signs in once.
 */
int session_signin_code(struct store *st, struct arena *a, const char *pending,
                        const char *bind, const char *code, const char *ip,
                        int64_t now, char token[SESSION_TOKEN_HEX + 1],
                        struct desk_actor *who, char *err, size_t errlen);
/* session_signin_code with the browser's device cookie (NULL for none),
 * counted as session_signin_device counts it. */
int session_signin_code_device(struct store *st, struct arena *a,
                               const char *pending, const char *bind,
                               const char *code, const char *device,
                               const char *ip, int64_t now,
                               char token[SESSION_TOKEN_HEX + 1],
                               struct desk_actor *who, char *err,
                               size_t errlen);

/* Checks the cookie token at now: SESSION_OK and *who filled when it names
 * a live session of an enabled account (last use noted); SESSION_BAD when
 * absent, malformed, unknown or expired (an expired one is deleted). */
int session_check(struct store *st, struct arena *a, const char *token,
                  int64_t now, struct desk_actor *who);

/* Ends the session of token (0 also when there was none). */
int session_signout(struct store *st, const char *token);
/* Ends every session of a staff member; *n (may be NULL) gets how many. */
int session_signout_all(struct store *st, int64_t staff_id, size_t *n);

/* The CSRF token of session token: 64 hex digits and a NUL into out. */
void session_csrf(const char *token, char out[SESSION_TOKEN_HEX + 1]);
/* 1 when given is the CSRF token of session token (constant time). */
int session_csrf_ok(const char *token, const char *given);

/* A fresh random token (SESSION_TOKEN_HEX hex digits) and its stored hash
 * (also SESSION_TOKEN_HEX hex digits): for sessions and one-time links. */
void session_new_token(char token[SESSION_TOKEN_HEX + 1],
                       char hash[SESSION_TOKEN_HEX + 1]);
/* The stored hash of token into hash. 0, or -1 when token is not
 * SESSION_TOKEN_HEX lower-case hex digits. */
int session_hash_token(const char *token, char hash[SESSION_TOKEN_HEX + 1]);

/* Creates a one-time link token for staff_id ("invite" or "reset") that
 * lasts STAFF_LINK_TTL_S; the secret goes to token (to put in a URL).
 * 0 or -1 (logged). */
int session_link_create(struct store *st, int64_t staff_id, const char *purpose,
                        int64_t now, char token[SESSION_TOKEN_HEX + 1]);
/* The account a live link token belongs to, without using it up:
 * SESSION_OK with *staff_id and *purpose (in a), or SESSION_BAD. */
int session_link_peek(struct store *st, struct arena *a, const char *token,
                      int64_t now, int64_t *staff_id, const char **purpose);
/* Uses a link: checks the new password, sets it, ends every session of
 * the account and enables it (an invitation). SESSION_OK, SESSION_BAD
 * (unknown, used or expired link: err says so) or SESSION_WEAK with
 * the password rule in err; the link stays usable when only the password was
 * wrong. */
int session_link_use(struct store *st, struct arena *a, const char *token,
                     const char *password, int64_t now, char *err,
                     size_t errlen);

#endif
