/*
 * totp.h - the TOTP second factor of staff accounts (RFC 6238: HMAC-SHA1,
 * 6 digits, 30-second steps, one step of clock drift either way), the
 * site switch that requires it of administrators, and the short-lived
 * token that carries a sign-in from the password form to the code form.
 *
 * DESIGN
 * A secret is 20 random bytes (RFC 4226 section 4), kept in the store as
 * RFC 4648 base32 (what authenticator apps take). A code is accepted only
 * for a step newer than the account's last accepted one
 * (store_staff_totp_use), so a code seen over a shoulder cannot be
 * replayed. The pending sign-in token is "id.expiry.nonce.mac": the MAC
 * is a keyed BLAKE2b over the rest and the browser's sign-in form token
 * (a site key made once, setting TOTP_KEY_SETTING), so it cannot be
 * forged, outlives TOTP_PENDING_S by nothing and works only in the
 * browser that typed the password; session_signin_code makes it
 * single-use. Knows nothing of HTTP.
 */
#ifndef CONTENT_TOTP_H
#define CONTENT_TOTP_H

#include <stddef.h>
#include <stdint.h>

#include "core/bounds.h" /* TOTP_DRIFT, TOTP_PENDING_S */

struct arena;
struct store;

#define TOTP_SECRET_BYTES 20 /* RFC 4226: 160-bit shared secret */
#define TOTP_SECRET_B32 32   /* base32 letters of a secret */
#define TOTP_STEP_S 30       /* RFC 6238 X */
#define TOTP_DIGITS 6
#define TOTP_PENDING_MAX 160 /* characters of a pending token, NUL included */
#define TOTP_REQUIRED_SETTING "require_totp_admin" /* "on" or unset */
#define TOTP_KEY_SETTING "totp_pending_key"        /* site MAC key, 64 hex */

/* The RFC 6238 code of key (keylen bytes) for step (T), digits long
 * (6..8), into out (digits + 1 bytes). 0, or -1 on a bad argument. */
int totp_code(const unsigned char *key, size_t keylen, uint64_t step,
              int digits, char *out);

/* A new random secret as base32 into out. */
void totp_secret_new(char out[TOTP_SECRET_B32 + 1]);

/* RFC 4648 base32 of in (no padding) into out (outlen bytes, NUL-ended).
 * 0, or -1 when out is too small. */
int totp_base32_encode(const unsigned char *in, size_t n, char *out,
                       size_t outlen);
/* Decodes base32 text (upper or lower case, spaces and '=' ignored) into
 * out; *n gets the bytes. 0, or -1 on a bad letter or a full out. */
int totp_base32_decode(const char *in, unsigned char *out, size_t outlen,
                       size_t *n);

/* Checks code (digits, spaces allowed) against the base32 secret at now:
 * 0 with *step the matching step, which is newer than last_step; -1 when
 * it matches no step within TOTP_DRIFT or only an old one. */
int totp_verify(const char *secret, const char *code, int64_t now,
                int64_t last_step, int64_t *step);

/* The otpauth:// URI an authenticator app imports, in a (Key Uri Format:
 * issuer and account percent-encoded). */
const char *totp_uri(struct arena *a, const char *issuer, const char *account,
                     const char *secret);

/* 1 when the site requires administrators to use TOTP. */
int totp_required(struct store *st, struct arena *a);
/* Turns the requirement on or off. 0 or -1 (logged). */
int totp_required_set(struct store *st, int on);

/* 1 when staff_id has TOTP on, 0 when not, -1 when the store failed. */
int totp_enabled(struct store *st, struct arena *a, int64_t staff_id);

/* Removes the sign-in codes of staff_id (a lost authenticator): TOTP off,
 * so the person signs in with the password alone and can set up a new
 * device. The last used step is kept (no old code works again). 1 when
 * codes were on, 0 when they were off, -1 when there is no such account
 * or the store failed (logged). Auditing is the caller's. */
int totp_reset(struct store *st, struct arena *a, int64_t staff_id);

/* A pending sign-in token for staff_id, bound to the browser's sign-in
 * form token bind, valid until now + TOTP_PENDING_S; into out. 0 or -1. */
int totp_pending_make(struct store *st, struct arena *a, int64_t staff_id,
                      const char *bind, int64_t now,
                      char out[TOTP_PENDING_MAX]);
/* The keyed BLAKE2b (the site's sign-in key, TOTP_KEY_SETTING) of body
 * and purpose, as 64 hex digits and a NUL into out: for tokens the site
 * alone can make (the device cookie of content/session.h). 0, or -1 when
 * the key cannot be read (logged). */
int totp_key_mac(struct store *st, struct arena *a, const char *body,
                 const char *purpose, char out[65]);

/* Checks a pending token: 0 with *staff_id and *nonce (in a; for making
 * it single-use) when genuine, bound to bind and unexpired at now; -1. */
int totp_pending_check(struct store *st, struct arena *a, const char *token,
                       const char *bind, int64_t now, int64_t *staff_id,
                       const char **nonce);

#endif
