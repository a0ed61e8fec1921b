/*
 * test_staff.c - content/staff: roles, email and name validation,
 * password rules, argon2id hashing and verifying, staff_add and
 * staff_set_password on a scratch SQLite store.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "content/staff.h"
#include "core/arena.h"
#include "core/log.h"
#include "store/store.h"

static int norm_ok(const char *in, const char *want)
{
    char out[STAFF_EMAIL_MAX + 1], err[256];

    return staff_email_normalise(in, out, sizeof out, err, sizeof err) == 0 &&
           strcmp(out, want) == 0;
}

static int norm_bad(const char *in)
{
    char out[STAFF_EMAIL_MAX + 1], err[256] = "";

    return staff_email_normalise(in, out, sizeof out, err, sizeof err) != 0 &&
           err[0] != '\0' && !strchr(err, '\n');
}

static void test_roles(void)
{
    enum staff_role r;

    CHECK(staff_role_parse("editor", &r) == 0 && r == STAFF_EDITOR,
          "editor parses");
    CHECK(staff_role_parse("administrator", &r) == 0 &&
              r == STAFF_ADMINISTRATOR,
          "administrator parses");
    CHECK(staff_role_parse("Editor", &r) != 0, "roles are exact");
    CHECK(staff_role_parse("", &r) != 0 && staff_role_parse(NULL, &r) != 0,
          "empty role refused");
    CHECK_STR(staff_role_name(STAFF_CONTRIBUTOR), "contributor",
              "role name");
    CHECK(staff_role_name((enum staff_role)9) == NULL, "bad role has no name");
}

static void test_email(void)
{
    char local[80], long_one[300], out[STAFF_EMAIL_MAX + 1], err[64];

    CHECK(norm_ok("  Amy.Lind@Example.ORG \n", "amy.lind@example.org"),
          "trimmed and lower-cased: one account per address");
    CHECK(norm_ok("a@b.c", "a@b.c"), "short address");
    CHECK(norm_bad(""), "empty refused");
    CHECK(norm_bad("   "), "blank refused");
    CHECK(norm_bad("no-at.example.org"), "no @ refused");
    CHECK(norm_bad("a@b@example.org"), "two @ refused");
    CHECK(norm_bad("@example.org"), "empty local part refused");
    CHECK(norm_bad("a@"), "empty domain refused");
    CHECK(norm_bad("a b@example.org"), "space refused");
    CHECK(norm_bad("a\r\nb@example.org"), "CR LF refused");
    CHECK(norm_bad("a\x01@example.org"), "control character refused");
    CHECK(norm_bad("a@exa..mple.org") && norm_bad("a@.example.org") &&
              norm_bad("a@example.org.") && norm_bad("a@-x.org"),
          "malformed domains refused");
    CHECK(norm_bad("\xc3(@example.org"), "broken UTF-8 refused");
    memset(local, 'a', 64);
    snprintf(local + 64, sizeof local - 64, "@x.org");
    CHECK(norm_ok(local, local), "64-byte local part accepted");
    memset(local, 'a', 65);
    snprintf(local + 65, sizeof local - 65, "@x.org");
    CHECK(norm_bad(local), "65-byte local part refused");
    /* 254 bytes: a@ + labels of 63 */
    snprintf(long_one, sizeof long_one, "a@");
    while (strlen(long_one) + 64 <= 254) {
        size_t n = strlen(long_one);
        memset(long_one + n, 'b', 63);
        long_one[n + 63] = '.';
        long_one[n + 64] = '\0';
    }
    {
        size_t n = strlen(long_one);
        memset(long_one + n, 'c', 254 - n);
        long_one[254] = '\0';
    }
    CHECK(strlen(long_one) == 254 && norm_ok(long_one, long_one),
          "254-byte address accepted");
    long_one[254] = 'c';
    long_one[255] = '\0';
    CHECK(norm_bad(long_one), "255-byte address refused");
    CHECK(staff_email_normalise("abcdef@example.org", out, 8, err,
                                sizeof err) != 0,
          "an out buffer too small is an error, not an overflow");
}

static void test_name_password(void)
{
    char err[256], big[1100];

    CHECK(staff_name_check("Amy Lind", err, sizeof err) == 0, "name ok");
    CHECK(staff_name_check("Олена Коваль", err, sizeof err) == 0,
          "UTF-8 name ok");
    CHECK(staff_name_check("", err, sizeof err) != 0 &&
              staff_name_check("   ", err, sizeof err) != 0,
          "empty name refused");
    CHECK(staff_name_check("Amy\r\nX-Header: 1", err, sizeof err) != 0,
          "CR LF in a name refused");
    CHECK(staff_name_check("Amy\xff", err, sizeof err) != 0,
          "broken UTF-8 name refused");
    memset(big, 'n', 201);
    big[201] = '\0';
    CHECK(staff_name_check(big, err, sizeof err) != 0, "long name refused");

    CHECK(staff_password_check("short", 5, err, sizeof err) != 0 &&
              strcmp(err, "password too short: at least 12 characters") == 0,
          "short password refused with its message");
    CHECK(staff_password_check("exactly12byt", 12, err, sizeof err) == 0,
          "12 bytes accepted");
    CHECK(staff_password_check("elevenbytes", 11, err, sizeof err) != 0,
          "11 bytes refused");
    memset(big, 'p', 1024);
    big[1024] = '\0';
    CHECK(staff_password_check(big, 1024, err, sizeof err) == 0,
          "1024 bytes accepted");
    big[1024] = 'p';
    big[1025] = '\0';
    CHECK(staff_password_check(big, 1025, err, sizeof err) != 0,
          "1025 bytes refused");
    CHECK(staff_password_check("bad utf8 \xc3\x28 here", 16, err,
                               sizeof err) != 0,
          "broken UTF-8 password refused");
    CHECK(staff_password_check("with nul\0 inside!", 17, err, sizeof err) !=
              0,
          "NUL in a password refused");
    CHECK(staff_password_check("pässwörd ünïcode", strlen("pässwörd ünïcode"),
                               err, sizeof err) == 0,
          "UTF-8 password accepted");
}

static void test_hash(void)
{
    char h1[STAFF_HASH_SIZE], h2[STAFF_HASH_SIZE], err[256];

    CHECK(staff_crypto_init() == 0 && staff_crypto_init() == 0,
          "crypto init is safe twice");
    CHECK(staff_hash_password("correct horse battery", h1, err,
                              sizeof err) == 0,
          "a password hashes");
    CHECK(strncmp(h1, "$argon2id$", 10) == 0, "the hash is argon2id");
    CHECK(staff_hash_password("correct horse battery", h2, err,
                              sizeof err) == 0 &&
              strcmp(h1, h2) != 0,
          "hashes are salted");
    CHECK(staff_check_password(h1, "correct horse battery") == 1,
          "the right password verifies");
    CHECK(staff_check_password(h1, "correct horse batterx") == 0,
          "a wrong password fails");
    CHECK(staff_check_password(h1, "") == 0, "an empty password fails");
    CHECK(staff_check_password("not a hash", "correct horse battery") == 0 &&
              staff_check_password(NULL, "x") == 0,
          "a malformed hash fails");
}

static void test_accounts(void)
{
    char dir[] = "/tmp/newsroom-staff-XXXXXX", url[128], err[256];
    struct store_staff got = {0};
    struct store *st;
    struct arena a;
    char *old;
    int64_t id = 0;

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
    CHECK(staff_add(st, " Amy@Example.org", "Amy Lind", STAFF_EDITOR,
                    "correct horse battery", &id, err, sizeof err) == 0 &&
              id > 0,
          "an account is added");
    CHECK(store_staff_get_by_email(st, &a, "amy@example.org", &got) == 0 &&
              strcmp(got.role, "editor") == 0 &&
              staff_check_password(got.password_hash,
                                   "correct horse battery") == 1 &&
              got.created_at > 0,
          "it is stored normalised, with a verifying hash");
    old = strdup(got.password_hash ? got.password_hash : "");
    CHECK(staff_add(st, "Amy@EXAMPLE.ORG", "Other", STAFF_AUTHOR,
                    "correct horse battery", NULL, err, sizeof err) != 0 &&
              strcmp(err, "an account with email 'amy@example.org' "
                          "exists") == 0,
          "a duplicate email is refused with its message");
    CHECK(staff_add(st, "b@example.org", "B", STAFF_AUTHOR, "short", NULL,
                    err, sizeof err) != 0,
          "a short password is refused");
    CHECK(staff_set_password(st, "Amy@example.org", "a brand new secret",
                             err, sizeof err) == 0,
          "the password changes");
    CHECK(store_staff_get(st, &a, id, &got) == 0 &&
              strcmp(got.password_hash, old) != 0 &&
              staff_check_password(got.password_hash,
                                   "a brand new secret") == 1 &&
              staff_check_password(got.password_hash,
                                   "correct horse battery") == 0,
          "the new password verifies, the old one no longer");
    CHECK(staff_set_password(st, "nobody@example.org", "a brand new secret",
                             err, sizeof err) != 0 &&
              strstr(err, "no account") != NULL,
          "changing a missing account's password fails");
    free(old);
    arena_release(&a);
    store_close(st);
    snprintf(url, sizeof url, "%s/db.sqlite", dir);
    unlink(url);
    snprintf(url, sizeof url, "%s/db.sqlite-wal", dir);
    unlink(url);
    snprintf(url, sizeof url, "%s/db.sqlite-shm", dir);
    unlink(url);
    rmdir(dir);
}

int main(void)
{
    log_set_level(LOG_ERROR);
    test_roles();
    test_email();
    test_name_password();
    test_hash();
    test_accounts();
    return check_done();
}
