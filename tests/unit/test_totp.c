/*
 * test_totp.c - content/totp: RFC 6238's SHA-1 test vectors (and RFC
 * 4226's HOTP ones), base32, code checking with clock drift and replay,
 * the otpauth URI, pending sign-in tokens, and session_signin_code on a
 * scratch SQLite store (password, then code; a code works once).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "content/session.h"
#include "content/staff.h"
#include "content/totp.h"
#include "core/arena.h"
#include "store/store.h"

static const unsigned char rfc_key[] = "12345678901234567890";

static void test_vectors(void)
{
    /* RFC 6238 Appendix B, SHA1 column (8 digits, X = 30, T0 = 0) */
    static const struct {
        uint64_t t;
        const char *code;
    } v[] = {{59, "94287082"},         {1111111109, "07081804"},
             {1111111111, "14050471"}, {1234567890, "89005924"},
             {2000000000, "69279037"}, {20000000000ULL, "65353130"}};
    /* RFC 4226 Appendix D: HOTP with counters 0..9, 6 digits */
    static const char *hotp[] = {"755224", "287082", "359152", "969429",
                                 "338314", "254676", "287922", "162583",
                                 "399871", "520489"};
    char out[9];

    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        CHECK(totp_code(rfc_key, 20, v[i].t / 30, 8, out) == 0 &&
                  strcmp(out, v[i].code) == 0,
              "RFC 6238 SHA-1 vector at T=%llu is %s (got %s)",
              (unsigned long long)v[i].t, v[i].code, out);
    }
    for (unsigned i = 0; i < 10; i++)
        CHECK(totp_code(rfc_key, 20, i, 6, out) == 0 &&
                  strcmp(out, hotp[i]) == 0,
              "RFC 4226 HOTP vector %u is %s", i, hotp[i]);
    CHECK(totp_code(rfc_key, 20, 1, 5, out) < 0, "5 digits are refused");
}

static void test_base32(void)
{
    char b[64];
    unsigned char raw[40];
    size_t n = 0;

    /* RFC 4648 section 10 (without padding) */
    CHECK(totp_base32_encode((const unsigned char *)"foobar", 6, b, sizeof b) ==
                  0 &&
              strcmp(b, "MZXW6YTBOI") == 0,
          "base32 of 'foobar' is MZXW6YTBOI");
    CHECK(totp_base32_decode("mzxw 6ytb oi======", raw, sizeof raw, &n) == 0 &&
              n == 6 && memcmp(raw, "foobar", 6) == 0,
          "lower case, spaces and padding decode");
    CHECK(totp_base32_decode("MZ1W", raw, sizeof raw, &n) < 0,
          "a letter outside the alphabet is refused");
    CHECK(totp_base32_decode("MZXW6YTBOI", raw, 3, &n) < 0,
          "decoding into too small a buffer is refused");
    totp_base32_encode(rfc_key, 20, b, sizeof b);
    CHECK(strcmp(b, "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ") == 0,
          "the RFC key in base32");

    char s1[TOTP_SECRET_B32 + 1], s2[TOTP_SECRET_B32 + 1];
    totp_secret_new(s1);
    totp_secret_new(s2);
    CHECK(strlen(s1) == 32 && strcmp(s1, s2) != 0 &&
              totp_base32_decode(s1, raw, sizeof raw, &n) == 0 && n == 20,
          "new secrets are 20 random bytes as 32 letters");
}

static void test_verify(void)
{
    const char *secret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
    char code[9], spaced[12];
    int64_t now = 1111111111, step = 0, t = now / 30;

    totp_code(rfc_key, 20, (uint64_t)t, 6, code);
    CHECK(totp_verify(secret, code, now, 0, &step) == 0 && step == t,
          "the current code is accepted");
    snprintf(spaced, sizeof spaced, "%.3s %.3s", code, code + 3);
    CHECK(totp_verify(secret, spaced, now, 0, &step) == 0,
          "a code typed as '123 456' is accepted");
    CHECK(totp_verify(secret, code, now, t, &step) < 0,
          "a code of an already used step is refused (no replay)");
    totp_code(rfc_key, 20, (uint64_t)(t - 1), 6, code);
    CHECK(totp_verify(secret, code, now, 0, &step) == 0 && step == t - 1,
          "the previous step's code is accepted (clock drift)");
    totp_code(rfc_key, 20, (uint64_t)(t + 1), 6, code);
    CHECK(totp_verify(secret, code, now, 0, &step) == 0 && step == t + 1,
          "the next step's code is accepted (clock drift)");
    totp_code(rfc_key, 20, (uint64_t)(t - 2), 6, code);
    CHECK(totp_verify(secret, code, now, 0, &step) < 0,
          "a code two steps old is refused");
    CHECK(totp_verify(secret, "12345", now, 0, &step) < 0 &&
              totp_verify(secret, "12345a", now, 0, &step) < 0 &&
              totp_verify(secret, "", now, 0, &step) < 0 &&
              totp_verify(NULL, "123456", now, 0, &step) < 0,
          "malformed codes are refused");
}

static void test_uri(void)
{
    struct arena a;

    arena_init(&a);
    CHECK_STR(totp_uri(&a, "The Daily", "amy@example.org", "ABC234"),
              "otpauth://totp/The%20Daily:amy%40example.org?secret=ABC234"
              "&issuer=The%20Daily&algorithm=SHA1&digits=6&period=30",
              "the otpauth URI names the site and the account");
    arena_release(&a);
}

/* Signing in with password then code on a scratch store. */
static void test_signin(void)
{
    char dir[] = "/tmp/newsroom-totp-XXXXXX", url[300], err[300];
    char token[SESSION_TOKEN_HEX + 1], pending[TOTP_PENDING_MAX], code[9];
    const char *bind = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                       "aaaaaaaaa";
    const char *secret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
    struct desk_actor who;
    struct store *st;
    struct arena a;
    int64_t id = 0, got_id = 0, now = 1700000000;
    const char *nonce;

    if (!mkdtemp(dir)) {
        CHECK(0, "scratch dir");
        return;
    }
    snprintf(url, sizeof url, "sqlite:%s/db.sqlite", dir);
    st = store_open(url, err, sizeof err);
    CHECK(st != NULL, "a store opens");
    if (!st)
        return;
    arena_init(&a);
    staff_add(st, "amy@example.org", "Amy", STAFF_EDITOR,
              "correct horse battery", &id, err, sizeof err);
    CHECK(totp_enabled(st, &a, id) == 0, "TOTP starts off");
    CHECK(session_signin(st, &a, "amy@example.org", "correct horse battery",
                         "10.0.0.1", now, token, &who, err,
                         sizeof err) == SESSION_OK,
          "without TOTP the password alone signs in");
    CHECK(store_staff_totp_set(st, id, secret, 0) == STORE_OK &&
              totp_enabled(st, &a, id) == 1,
          "TOTP turns on");
    CHECK(session_signin(st, &a, "amy@example.org", "correct horse battery",
                         "10.0.0.1", now, token, &who, err,
                         sizeof err) == SESSION_TOTP &&
              who.staff_id == id,
          "with TOTP the right password asks for a code");

    CHECK(totp_pending_make(st, &a, id, bind, now, pending) == 0 &&
              totp_pending_check(st, &a, pending, bind, now, &got_id, &nonce) ==
                  0 &&
              got_id == id,
          "a pending token checks");
    CHECK(totp_pending_check(st, &a, pending, "b", now, &got_id, &nonce) < 0,
          "a pending token from another browser is refused");
    CHECK(totp_pending_check(st, &a, pending, bind, now + TOTP_PENDING_S,
                             &got_id, &nonce) < 0,
          "an expired pending token is refused");
    char forged[TOTP_PENDING_MAX];
    snprintf(forged, sizeof forged, "%s", pending);
    forged[0] = forged[0] == '1' ? '2' : '1'; /* another account id */
    CHECK(totp_pending_check(st, &a, forged, bind, now, &got_id, &nonce) < 0,
          "a pending token with another account id is refused");

    CHECK(session_signin_code(st, &a, pending, bind, "000000", "10.0.0.1", now,
                              token, &who, err, sizeof err) == SESSION_BAD &&
              strstr(err, "attempts left"),
          "a wrong code is refused, saying how many tries are left");
    totp_code(rfc_key, 20, (uint64_t)(now / 30), 6, code);
    CHECK(session_signin_code(st, &a, pending, bind, code, "10.0.0.1", now,
                              token, &who, err, sizeof err) == SESSION_OK &&
              session_check(st, &a, token, now, &who) == SESSION_OK,
          "the right code signs in");
    char next[9];
    totp_code(rfc_key, 20, (uint64_t)(now / 30 + 1), 6, next);
    CHECK(session_signin_code(st, &a, pending, bind, next, "10.0.0.1", now,
                              token, &who, err, sizeof err) == SESSION_STALE,
          "the same pending token cannot sign in twice, even with a new "
          "code");
    totp_pending_make(st, &a, id, bind, now, pending);
    CHECK(session_signin_code(st, &a, pending, bind, code, "10.0.0.1", now,
                              token, &who, err, sizeof err) == SESSION_BAD,
          "the same code cannot sign in twice (replay)");
    for (int i = 0; i < SIGNIN_MAX_ACCOUNT; i++)
        session_signin_code(st, &a, pending, bind, "000000", "10.0.0.2", now,
                            token, &who, err, sizeof err);
    totp_code(rfc_key, 20, (uint64_t)(now / 30 + 1), 6, code);
    CHECK(session_signin_code(st, &a, pending, bind, code, "10.0.0.2", now + 30,
                              token, &who, err, sizeof err) == SESSION_LIMITED,
          "after too many wrong codes even the right one is paused");

    CHECK(totp_required(st, &a) == 0, "not required at first");
    CHECK(totp_required_set(st, 1) == 0 && totp_required(st, &a) == 1,
          "the site can require TOTP of administrators");
    arena_release(&a);
    store_close(st);
    snprintf(url, sizeof url, "rm -rf '%s'", dir);
    if (system(url) != 0)
        CHECK(0, "scratch dir removed");
}

int main(void)
{
    test_vectors();
    test_base32();
    test_verify();
    test_uri();
    test_signin();
    return check_done();
}
