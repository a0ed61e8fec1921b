/*
 * session.c - desk sign-in, sessions, CSRF tokens and one-time links; see
 * session.h.
 */
#include "content/session.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "content/totp.h"
#include "core/arena.h"
#include "core/log.h"
#include "store/store.h"

/* Context string of the CSRF key derivation (any fixed bytes). */
static const unsigned char csrf_context[] = "newsroom desk csrf v1";

/* A valid argon2id hash of a random password: checked against when the
 * address is unknown, so a miss costs what a hit costs. */
static char dummy_hash[STAFF_HASH_SIZE];
static int dummy_ready;

static void hex_of(const unsigned char *bin, size_t n, char *out, size_t outlen)
{
    sodium_bin2hex(out, outlen, bin, n);
}

void session_new_token(char token[SESSION_TOKEN_HEX + 1],
                       char hash[SESSION_TOKEN_HEX + 1])
{
    unsigned char raw[SESSION_TOKEN_HEX / 2];

    staff_crypto_init();
    randombytes_buf(raw, sizeof raw);
    hex_of(raw, sizeof raw, token, SESSION_TOKEN_HEX + 1);
    session_hash_token(token, hash);
}

int session_hash_token(const char *token, char hash[SESSION_TOKEN_HEX + 1])
{
    unsigned char h[SESSION_TOKEN_HEX / 2];

    if (!token || strlen(token) != SESSION_TOKEN_HEX ||
        strspn(token, "0123456789abcdef") != SESSION_TOKEN_HEX)
        return -1;
    crypto_generichash(h, sizeof h, (const unsigned char *)token,
                       SESSION_TOKEN_HEX, NULL, 0);
    hex_of(h, sizeof h, hash, SESSION_TOKEN_HEX + 1);
    return 0;
}

void session_csrf(const char *token, char out[SESSION_TOKEN_HEX + 1])
{
    unsigned char h[SESSION_TOKEN_HEX / 2];
    size_t n = strlen(token);

    /* the token is the hash key: libsodium refuses keys over
     * crypto_generichash_KEYBYTES_MAX (64), which would leave h unset;
     * real tokens are 64 hex digits, and session_csrf_ok refuses any
     * other length, so the zeros a longer one gets never match */
    if (n > crypto_generichash_KEYBYTES_MAX ||
        crypto_generichash(h, sizeof h, csrf_context, sizeof csrf_context - 1,
                           (const unsigned char *)token, n) != 0)
        memset(h, 0, sizeof h);
    hex_of(h, sizeof h, out, SESSION_TOKEN_HEX + 1);
}

int session_csrf_ok(const char *token, const char *given)
{
    char want[SESSION_TOKEN_HEX + 1];

    if (!token || !given || strlen(given) != SESSION_TOKEN_HEX ||
        strlen(token) != SESSION_TOKEN_HEX)
        return 0;
    session_csrf(token, want);
    return sodium_memcmp(want, given, SESSION_TOKEN_HEX) == 0;
}

/* Fills who from an account (strings stay in a). */
static int actor_of(const struct store_staff *s, struct desk_actor *who)
{
    enum staff_role role;

    if (staff_role_parse(s->role, &role) < 0)
        return -1;
    who->staff_id = s->id;
    who->name = s->name;
    who->email = s->email;
    who->role = role;
    who->author_id = s->author_id;
    return 0;
}

static int open_session(struct store *st, int64_t staff_id, int64_t now,
                        char token[SESSION_TOKEN_HEX + 1]);

/* "Wait N minutes" text for the rest of a window; whose is "account",
 * "device" or "address". */
static const char *limited(char *err, size_t errlen, const char *whose)
{
    if (strcmp(whose, "account") == 0)
        snprintf(err, errlen,
                 "Too many failed sign-ins for this account. Sign-in for "
                 "this account is paused for %d minutes for browsers it "
                 "has not been used from: try again in %d minutes, sign in "
                 "from a browser you have used before, or ask an "
                 "administrator to reset your password.",
                 SIGNIN_WINDOW_S / 60, SIGNIN_WINDOW_S / 60);
    else
        snprintf(err, errlen,
                 "Too many failed sign-ins %s. For your safety, sign-in is "
                 "paused: try again in %d minutes, or ask an administrator "
                 "to reset your password.",
                 strcmp(whose, "device") == 0 ? "from this browser"
                                              : "from your network address",
                 SIGNIN_WINDOW_S / 60);
    return err;
}

/* "N attempts left" after a failure, count of max used. */
static void attempts_left(char *err, size_t errlen, const char *first,
                          unsigned count, unsigned max)
{
    unsigned left = count < max ? max - count : 0;

    snprintf(err, errlen, "%s %u attempt%s left before sign-in is paused.",
             first, left, left == 1 ? "" : "s");
}

/* The nonce of device when it is a genuine device cookie of staff_id (in
 * a), else NULL. */
static const char *device_nonce(struct store *st, struct arena *a,
                                const char *device, int64_t staff_id)
{
    static const char hexd[] = "0123456789abcdef";
    char body[80], want[65];
    long long id = 0;
    int n = 0;

    if (!device || !*device || strlen(device) >= SESSION_DEVICE_MAX)
        return NULL;
    const char *dot = strrchr(device, '.');
    if (!dot || (size_t)(dot - device) >= sizeof body || strlen(dot + 1) != 64)
        return NULL;
    memcpy(body, device, (size_t)(dot - device));
    body[dot - device] = '\0';
    if (strncmp(body, "d1.", 3) != 0 || strspn(body + 3, "0123456789") == 0 ||
        sscanf(body, "d1.%lld.%n", &id, &n) != 1 || n <= 0 || id != staff_id ||
        strlen(body + n) != 32 || strspn(body + n, hexd) != 32)
        return NULL;
    if (totp_key_mac(st, a, body, "device", want) < 0 ||
        sodium_memcmp(want, dot + 1, 64) != 0)
        return NULL;
    return arena_strdup(a, body + n);
}

int session_device_make(struct store *st, struct arena *a, int64_t staff_id,
                        char out[SESSION_DEVICE_MAX])
{
    unsigned char r[16];
    char nonce[33], body[80], mac[65];

    staff_crypto_init();
    randombytes_buf(r, sizeof r);
    sodium_bin2hex(nonce, sizeof nonce, r, sizeof r);
    snprintf(body, sizeof body, "d1.%lld.%s", (long long)staff_id, nonce);
    if (totp_key_mac(st, a, body, "device", mac) < 0)
        return -1;
    snprintf(out, SESSION_DEVICE_MAX, "%s.%s", body, mac);
    return 0;
}

int session_device_ok(struct store *st, struct arena *a, const char *device,
                      int64_t staff_id)
{
    return device_nonce(st, a, device, staff_id) != NULL;
}

/* The counter a sign-in of account email (staff_id, 0 when unknown) from
 * a browser with device counts against: the device's when genuine, else
 * the account's. *max its limit, *whose for limited(). */
static const char *counter_of(struct store *st, struct arena *a,
                              const char *email, int64_t staff_id,
                              const char *device, unsigned *max,
                              const char **whose)
{
    const char *nonce = staff_id ? device_nonce(st, a, device, staff_id) : NULL;

    if (nonce) {
        *max = SIGNIN_MAX_DEVICE;
        *whose = "device";
        return arena_printf(a, "signin:device:%s", nonce);
    }
    *max = SIGNIN_MAX_ACCOUNT;
    *whose = "account";
    return arena_printf(a, "signin:account:%s", email);
}

/* Takes one attempt of counter key (limit max) before the password or
 * code is checked, so racing guesses cannot all pass a check made
 * before any of them counted: 0 with *count the attempts so far, this one
 * included (a success clears the counter); 1 when none is left; -1 when
 * the store failed. */
static int take_attempt(struct store *st, const char *key, int64_t now,
                        unsigned max, unsigned *count)
{
    if (store_rate_peek(st, key, now, SIGNIN_WINDOW_S, count) < 0)
        return -1;
    if (*count >= max)
        return 1;
    if (store_rate_hit(st, key, now, SIGNIN_WINDOW_S, count) < 0)
        return -1;
    return *count > max;
}

int session_signin(struct store *st, struct arena *a, const char *email,
                   const char *password, const char *ip, int64_t now,
                   char token[SESSION_TOKEN_HEX + 1], struct desk_actor *who,
                   char *err, size_t errlen)
{
    return session_signin_device(st, a, email, password, NULL, ip, now, token,
                                 who, err, errlen);
}

int session_signin_device(struct store *st, struct arena *a, const char *email,
                          const char *password, const char *device,
                          const char *ip, int64_t now,
                          char token[SESSION_TOKEN_HEX + 1],
                          struct desk_actor *who, char *err, size_t errlen)
{
    char norm[STAFF_EMAIL_MAX + 1], e2[200];
    struct store_staff s;
    unsigned count = 0, addr = 0, max;
    const char *whose;
    int found, ok;

    if (staff_crypto_init() < 0)
        return SESSION_ERROR;
    if (!dummy_ready) {
        char pw[33];
        unsigned char r[16];
        randombytes_buf(r, sizeof r);
        sodium_bin2hex(pw, sizeof pw, r, sizeof r);
        if (staff_hash_password(pw, dummy_hash, e2, sizeof e2) == 0)
            dummy_ready = 1;
    }
    if (!email || !password ||
        staff_email_normalise(email, norm, sizeof norm, e2, sizeof e2) < 0) {
        snprintf(err, errlen,
                 "Enter the email address of your desk account "
                 "and its password.");
        return SESSION_BAD;
    }
    const char *kaddr = arena_printf(a, "signin:address:%s", ip ? ip : "");
    if (store_rate_peek(st, kaddr, now, SIGNIN_WINDOW_S, &addr) < 0)
        return SESSION_ERROR;
    if (addr >= SIGNIN_MAX_ADDRESS) {
        limited(err, errlen, "address");
        return SESSION_LIMITED;
    }
    int rc = store_staff_get_by_email(st, a, norm, &s);
    if (rc != STORE_OK && rc != STORE_NOTFOUND)
        return SESSION_ERROR;
    found = rc == STORE_OK;
    const char *kcount =
        counter_of(st, a, norm, found ? s.id : 0, device, &max, &whose);
    int lim = take_attempt(st, kcount, now, max, &count);
    if (lim < 0)
        return SESSION_ERROR;
    if (lim) {
        limited(err, errlen, whose);
        return SESSION_LIMITED;
    }
    ok = staff_check_password(found ? s.password_hash : dummy_hash, password);
    if (!found || !ok || s.disabled || actor_of(&s, who) < 0) {
        if (store_rate_hit(st, kaddr, now, SIGNIN_WINDOW_S, &addr) < 0)
            return SESSION_ERROR;
        if (found && ok && s.disabled)
            snprintf(err, errlen,
                     "This account is disabled. Ask an "
                     "administrator to enable it.");
        else
            attempts_left(err, errlen, "Wrong email or password.", count, max);
        return SESSION_BAD;
    }
    int totp = totp_enabled(st, a, s.id);
    if (totp < 0)
        return SESSION_ERROR;
    if (totp)
        return SESSION_TOTP; /* the count is cleared after the code */
    store_rate_clear(st, kcount);
    return open_session(st, s.id, now, token);
}

int session_signin_code(struct store *st, struct arena *a, const char *pending,
                        const char *bind, const char *code, const char *ip,
                        int64_t now, char token[SESSION_TOKEN_HEX + 1],
                        struct desk_actor *who, char *err, size_t errlen)
{
    return session_signin_code_device(st, a, pending, bind, code, NULL, ip, now,
                                      token, who, err, errlen);
}

int session_signin_code_device(struct store *st, struct arena *a,
                               const char *pending, const char *bind,
                               const char *code, const char *device,
                               const char *ip, int64_t now,
                               char token[SESSION_TOKEN_HEX + 1],
                               struct desk_actor *who, char *err, size_t errlen)
{
    struct store_staff s;
    struct store_staff_totp t;
    const char *nonce, *whose;
    int64_t id, step;
    unsigned count = 0, addr = 0, uses = 0, max;

    if (totp_pending_check(st, a, pending, bind, now, &id, &nonce) < 0 ||
        store_staff_get(st, a, id, &s) != STORE_OK || s.disabled ||
        actor_of(&s, who) < 0) {
        snprintf(err, errlen,
                 "This sign-in has expired (the code must be entered within "
                 "%d minutes). Sign in again.",
                 TOTP_PENDING_S / 60);
        return SESSION_STALE;
    }
    const char *kcount = counter_of(st, a, s.email, id, device, &max, &whose);
    const char *kaddr = arena_printf(a, "signin:address:%s", ip ? ip : "");
    const char *kused = arena_printf(a, "signin:pending:%s", nonce);
    if (store_rate_peek(st, kaddr, now, SIGNIN_WINDOW_S, &addr) < 0 ||
        store_rate_peek(st, kused, now, TOTP_PENDING_S, &uses) < 0)
        return SESSION_ERROR;
    if (uses > 0)
        goto used;
    if (addr >= SIGNIN_MAX_ADDRESS) {
        limited(err, errlen, "address");
        return SESSION_LIMITED;
    }
    int lim = take_attempt(st, kcount, now, max, &count);
    if (lim < 0)
        return SESSION_ERROR;
    if (lim) {
        limited(err, errlen, whose);
        return SESSION_LIMITED;
    }
    if (store_staff_totp_get(st, a, id, &t) != STORE_OK)
        return SESSION_ERROR;
    if (totp_verify(t.secret, code, now, t.last_step, &step) < 0) {
        if (store_rate_hit(st, kaddr, now, SIGNIN_WINDOW_S, &addr) < 0)
            return SESSION_ERROR;
        attempts_left(err, errlen,
                      "Wrong or already used code: enter the current "
                      "6-digit code from your authenticator app.",
                      count, max);
        return SESSION_BAD;
    }
    /* single use (atomic: of two racing requests one counts 2); the
     * nonce's counter lives as long as the token could */
    if (store_rate_hit(st, kused, now, TOTP_PENDING_S, &uses) < 0)
        return SESSION_ERROR;
    if (uses > 1)
        goto used;
    int rc = store_staff_totp_use(st, id, step);
    if (rc == STORE_NOTFOUND) {
        snprintf(err, errlen,
                 "This code was already used. Wait for the next one.");
        return SESSION_BAD;
    }
    if (rc != STORE_OK)
        return SESSION_ERROR;
    store_rate_clear(st, kcount);
    return open_session(st, id, now, token);
used:
    snprintf(err, errlen, "This sign-in was already used. Sign in again.");
    return SESSION_STALE;
}

/* Creates a session for staff_id at now; its token into token. */
static int open_session(struct store *st, int64_t staff_id, int64_t now,
                        char token[SESSION_TOKEN_HEX + 1])
{
    char hash[SESSION_TOKEN_HEX + 1];
    struct store_session ss = {0};

    session_new_token(token, hash);
    ss.token_hash = hash;
    ss.staff_id = staff_id;
    ss.created_at = now;
    ss.last_seen_at = now;
    ss.expires_at = now + SESSION_MAX_S;
    if (store_session_add(st, &ss) != STORE_OK)
        return SESSION_ERROR;
    /* now and then, forget what has expired */
    if (randombytes_uniform(20) == 0) {
        store_sessions_prune(st, now, now - SESSION_IDLE_S, NULL);
        store_rate_prune(st, now - SIGNIN_WINDOW_S, NULL);
    }
    return SESSION_OK;
}

int session_check(struct store *st, struct arena *a, const char *token,
                  int64_t now, struct desk_actor *who)
{
    char hash[SESSION_TOKEN_HEX + 1];
    struct store_session ss;
    struct store_staff s;

    if (session_hash_token(token, hash) < 0 ||
        store_session_get(st, a, hash, &ss) != STORE_OK)
        return SESSION_BAD;
    if (ss.expires_at <= now || ss.last_seen_at + SESSION_IDLE_S <= now) {
        store_session_delete(st, hash);
        return SESSION_BAD;
    }
    if (store_staff_get(st, a, ss.staff_id, &s) != STORE_OK || s.disabled ||
        actor_of(&s, who) < 0)
        return SESSION_BAD;
    if (now - ss.last_seen_at >= SESSION_TOUCH_S)
        store_session_touch(st, hash, now);
    return SESSION_OK;
}

int session_signout(struct store *st, const char *token)
{
    char hash[SESSION_TOKEN_HEX + 1];

    if (session_hash_token(token, hash) < 0)
        return 0;
    int rc = store_session_delete(st, hash);
    return rc == STORE_OK || rc == STORE_NOTFOUND ? 0 : -1;
}

int session_signout_all(struct store *st, int64_t staff_id, size_t *n)
{
    return store_sessions_delete_staff(st, staff_id, n) == STORE_OK ? 0 : -1;
}

int session_link_create(struct store *st, int64_t staff_id, const char *purpose,
                        int64_t now, char token[SESSION_TOKEN_HEX + 1])
{
    char hash[SESSION_TOKEN_HEX + 1];
    struct store_staff_token t = {0};

    session_new_token(token, hash);
    t.token_hash = hash;
    t.staff_id = staff_id;
    t.purpose = purpose;
    t.created_at = now;
    t.expires_at = now + STAFF_LINK_TTL_S;
    return store_staff_token_add(st, &t) == STORE_OK ? 0 : -1;
}

int session_link_peek(struct store *st, struct arena *a, const char *token,
                      int64_t now, int64_t *staff_id, const char **purpose)
{
    char hash[SESSION_TOKEN_HEX + 1];
    struct store_staff_token t;

    if (session_hash_token(token, hash) < 0 ||
        store_staff_token_get(st, a, hash, &t) != STORE_OK ||
        t.expires_at <= now)
        return SESSION_BAD;
    *staff_id = t.staff_id;
    *purpose = t.purpose;
    return SESSION_OK;
}

int session_link_use(struct store *st, struct arena *a, const char *token,
                     const char *password, int64_t now, char *err,
                     size_t errlen)
{
    char hash[SESSION_TOKEN_HEX + 1], pwhash[STAFF_HASH_SIZE];
    struct store_staff_token t;
    struct store_staff s;
    static const char gone[] =
        "This link has expired or was already used. Ask an administrator "
        "for a new one.";

    if (!password ||
        staff_password_check(password, strlen(password), err, errlen) < 0)
        return SESSION_WEAK;
    if (staff_hash_password(password, pwhash, err, errlen) < 0)
        return SESSION_ERROR;
    if (session_hash_token(token, hash) < 0 ||
        store_staff_token_take(st, a, hash, &t) != STORE_OK ||
        t.expires_at <= now ||
        store_staff_get(st, a, t.staff_id, &s) != STORE_OK) {
        snprintf(err, errlen, "%s", gone);
        return SESSION_BAD;
    }
    s.password_hash = pwhash;
    if (strcmp(t.purpose, "invite") == 0)
        s.disabled = 0;
    if (store_staff_save(st, &s) != STORE_OK ||
        session_signout_all(st, s.id, NULL) < 0) {
        snprintf(err, errlen, "the password could not be saved");
        return SESSION_ERROR;
    }
    return SESSION_OK;
}
