/*
 * totp.c - RFC 6238 codes, base32 secrets, the administrators' switch and
 * pending sign-in tokens; see totp.h. HMAC-SHA1 comes from OpenSSL's
 * libcrypto, randomness and the token MAC from libsodium.
 */
#include "content/totp.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "content/staff.h"
#include "core/arena.h"
#include "core/log.h"
#include "store/store.h"

static const char b32[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"; /* RFC 4648 */

int totp_code(const unsigned char *key, size_t keylen, uint64_t step,
              int digits, char *out)
{
    unsigned char msg[8], mac[EVP_MAX_MD_SIZE];
    unsigned maclen = 0;
    uint32_t bin, mod = 1;

    if (!key || digits < 6 || digits > 8 || keylen > 64)
        return -1;
    for (int i = 7; i >= 0; i--, step >>= 8) /* RFC 4226 5.2: big-endian */
        msg[i] = (unsigned char)(step & 0xff);
    if (!HMAC(EVP_sha1(), key, (int)keylen, msg, sizeof msg, mac, &maclen) ||
        maclen < 20)
        return -1;
    unsigned off =
        mac[maclen - 1] & 0x0f; /* RFC 4226 5.3: dynamic truncation */
    bin = ((uint32_t)(mac[off] & 0x7f) << 24) | ((uint32_t)mac[off + 1] << 16) |
          ((uint32_t)mac[off + 2] << 8) | mac[off + 3];
    for (int i = 0; i < digits; i++)
        mod *= 10;
    char txt[16];
    snprintf(txt, sizeof txt, "%0*u", digits, (unsigned)(bin % mod));
    memcpy(out, txt, (size_t)digits + 1);
    return 0;
}

int totp_base32_encode(const unsigned char *in, size_t n, char *out,
                       size_t outlen)
{
    size_t o = 0;
    unsigned buf = 0, bits = 0;

    if ((n * 8 + 4) / 5 + 1 > outlen)
        return -1;
    for (size_t i = 0; i < n; i++) {
        buf = (buf << 8) | in[i];
        bits += 8;
        while (bits >= 5) {
            out[o++] = b32[(buf >> (bits - 5)) & 31];
            bits -= 5;
        }
    }
    if (bits > 0)
        out[o++] = b32[(buf << (5 - bits)) & 31];
    out[o] = '\0';
    return 0;
}

int totp_base32_decode(const char *in, unsigned char *out, size_t outlen,
                       size_t *n)
{
    unsigned buf = 0, bits = 0;
    size_t o = 0;

    *n = 0;
    for (; in && *in; in++) {
        char c = *in;
        const char *p;
        if (c == ' ' || c == '=')
            continue;
        if (c >= 'a' && c <= 'z')
            c = (char)(c - 'a' + 'A');
        p = strchr(b32, c);
        if (!p || c == '\0')
            return -1;
        buf = (buf << 5) | (unsigned)(p - b32);
        bits += 5;
        if (bits >= 8) {
            if (o == outlen)
                return -1;
            out[o++] = (unsigned char)(buf >> (bits - 8));
            bits -= 8;
        }
        buf &= 0xff;
    }
    *n = o;
    return 0;
}

void totp_secret_new(char out[TOTP_SECRET_B32 + 1])
{
    unsigned char raw[TOTP_SECRET_BYTES];

    staff_crypto_init();
    randombytes_buf(raw, sizeof raw);
    totp_base32_encode(raw, sizeof raw, out, TOTP_SECRET_B32 + 1);
    sodium_memzero(raw, sizeof raw);
}

int totp_verify(const char *secret, const char *code, int64_t now,
                int64_t last_step, int64_t *step)
{
    unsigned char key[64];
    char given[TOTP_DIGITS + 1], want[TOTP_DIGITS + 1];
    size_t keylen = 0, g = 0;
    int found = -1;

    if (!secret || !code || now < 0)
        return -1;
    for (; *code; code++) {
        if (*code == ' ' || *code == '-')
            continue;
        if (*code < '0' || *code > '9' || g == TOTP_DIGITS)
            return -1;
        given[g++] = *code;
    }
    given[g] = '\0';
    if (g != TOTP_DIGITS ||
        totp_base32_decode(secret, key, sizeof key, &keylen) < 0 || !keylen)
        return -1;
    int64_t t = now / TOTP_STEP_S;
    /* look at every step in the window, matched or not, for even timing */
    for (int64_t s = t - TOTP_DRIFT; s <= t + TOTP_DRIFT; s++) {
        if (s < 0 || totp_code(key, keylen, (uint64_t)s, TOTP_DIGITS, want))
            continue;
        if (sodium_memcmp(want, given, TOTP_DIGITS) == 0 && s > last_step &&
            found < 0) {
            *step = s;
            found = 0;
        }
    }
    sodium_memzero(key, sizeof key);
    return found;
}

/* s percent-encoded (RFC 3986 unreserved kept) into a. */
static const char *pct(struct arena *a, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = strlen(s);
    char *out = arena_alloc(a, 3 * n + 1), *o = out;

    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
            (c >= '0' && c <= '9') || strchr("-._~", c)) {
            *o++ = (char)c;
        } else {
            *o++ = '%';
            *o++ = hex[c >> 4];
            *o++ = hex[c & 15];
        }
    }
    *o = '\0';
    return out;
}

const char *totp_uri(struct arena *a, const char *issuer, const char *account,
                     const char *secret)
{
    const char *is = pct(a, issuer ? issuer : "newsroom");

    return arena_printf(a,
                        "otpauth://totp/%s:%s?secret=%s&issuer=%s"
                        "&algorithm=SHA1&digits=%d&period=%d",
                        is, pct(a, account ? account : ""), secret, is,
                        TOTP_DIGITS, TOTP_STEP_S);
}

int totp_required(struct store *st, struct arena *a)
{
    const char *v = store_setting_get(st, a, TOTP_REQUIRED_SETTING);

    return v && strcmp(v, "on") == 0;
}

int totp_required_set(struct store *st, int on)
{
    return store_setting_set(st, TOTP_REQUIRED_SETTING, on ? "on" : "off") ==
                   STORE_OK
               ? 0
               : -1;
}

int totp_enabled(struct store *st, struct arena *a, int64_t staff_id)
{
    struct store_staff_totp t;
    int rc = store_staff_totp_get(st, a, staff_id, &t);

    if (rc == STORE_NOTFOUND)
        return 0;
    if (rc != STORE_OK)
        return -1;
    return t.secret != NULL;
}

int totp_reset(struct store *st, struct arena *a, int64_t staff_id)
{
    struct store_staff_totp t;

    if (store_staff_totp_get(st, a, staff_id, &t) != STORE_OK)
        return -1;
    if (!t.secret)
        return 0;
    return store_staff_totp_set(st, staff_id, NULL, t.last_step) == STORE_OK
               ? 1
               : -1;
}

/* The site's MAC key for pending tokens, made once (any node). */
static int pending_key(struct store *st, struct arena *a,
                       unsigned char key[crypto_generichash_KEYBYTES])
{
    unsigned char raw[crypto_generichash_KEYBYTES];
    char hex[2 * crypto_generichash_KEYBYTES + 1];
    const char *held = NULL;
    size_t n = 0;

    staff_crypto_init();
    randombytes_buf(raw, sizeof raw);
    sodium_bin2hex(hex, sizeof hex, raw, sizeof raw);
    if (store_setting_init(st, a, TOTP_KEY_SETTING, hex, &held) < 0 || !held ||
        sodium_hex2bin(key, crypto_generichash_KEYBYTES, held, strlen(held),
                       NULL, &n, NULL) != 0 ||
        n != crypto_generichash_KEYBYTES) {
        log_error("cannot read the sign-in key '%s'", TOTP_KEY_SETTING);
        return -1;
    }
    return 0;
}

/* Hex MAC of body and bind into out (65 bytes). */
static void pending_mac(const unsigned char *key, const char *body,
                        const char *bind, char out[65])
{
    crypto_generichash_state s;
    unsigned char h[32];

    crypto_generichash_init(&s, key, crypto_generichash_KEYBYTES, sizeof h);
    crypto_generichash_update(&s, (const unsigned char *)body, strlen(body));
    crypto_generichash_update(&s, (const unsigned char *)"|", 1);
    crypto_generichash_update(&s, (const unsigned char *)bind, strlen(bind));
    crypto_generichash_final(&s, h, sizeof h);
    sodium_bin2hex(out, 65, h, sizeof h);
}

int totp_key_mac(struct store *st, struct arena *a, const char *body,
                 const char *purpose, char out[65])
{
    unsigned char key[crypto_generichash_KEYBYTES];

    if (!body || !purpose || pending_key(st, a, key) < 0)
        return -1;
    /* "purpose:" first, so no pending token (digits first) collides */
    pending_mac(key, arena_printf(a, "%s:%s", purpose, body), "", out);
    return 0;
}

int totp_pending_make(struct store *st, struct arena *a, int64_t staff_id,
                      const char *bind, int64_t now, char out[TOTP_PENDING_MAX])
{
    unsigned char key[crypto_generichash_KEYBYTES], r[16];
    char nonce[33], body[80], mac[65];

    if (!bind || pending_key(st, a, key) < 0)
        return -1;
    randombytes_buf(r, sizeof r);
    sodium_bin2hex(nonce, sizeof nonce, r, sizeof r);
    snprintf(body, sizeof body, "%lld.%lld.%s", (long long)staff_id,
             (long long)(now + TOTP_PENDING_S), nonce);
    pending_mac(key, body, bind, mac);
    snprintf(out, TOTP_PENDING_MAX, "%s.%s", body, mac);
    return 0;
}

int totp_pending_check(struct store *st, struct arena *a, const char *token,
                       const char *bind, int64_t now, int64_t *staff_id,
                       const char **nonce)
{
    unsigned char key[crypto_generichash_KEYBYTES];
    char body[80], want[65];
    long long id, until;
    int n = 0;

    if (!token || !bind || strlen(token) >= TOTP_PENDING_MAX)
        return -1;
    const char *dot = strrchr(token, '.');
    if (!dot || (size_t)(dot - token) >= sizeof body || strlen(dot + 1) != 64)
        return -1;
    memcpy(body, token, (size_t)(dot - token));
    body[dot - token] = '\0';
    if (sscanf(body, "%lld.%lld.%n", &id, &until, &n) != 2 || n <= 0 ||
        strlen(body + n) != 32 || strspn(body + n, "0123456789abcdef") != 32 ||
        id <= 0)
        return -1;
    if (pending_key(st, a, key) < 0)
        return -1;
    pending_mac(key, body, bind, want);
    if (sodium_memcmp(want, dot + 1, 64) != 0 || until <= now)
        return -1;
    *staff_id = id;
    *nonce = arena_strdup(a, body + n);
    return 0;
}
