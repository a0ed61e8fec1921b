/*
 * staff.h - the editorial desk's accounts: roles, what an email, a name
 * and a password may be, password hashing (argon2id via libsodium), and
 * adding an account or changing its password.
 *
 * Knows nothing of HTTP or terminals; the CLI (`newsroom user ...`) and,
 * later, the desk's sign-in call it. Roles are enforced here and in the
 * rest of content/, never only in templates.
 */
#ifndef CONTENT_STAFF_H
#define CONTENT_STAFF_H

#include "core/bounds.h"

#include <stddef.h>
#include <stdint.h>

struct store;

#define STAFF_HASH_SIZE 128      /* room for a hash string with its NUL
                                    (crypto_pwhash_STRBYTES) */

/* What an account may do, weakest first. */
enum staff_role {
    STAFF_CONTRIBUTOR,   /* writes drafts, cannot publish */
    STAFF_AUTHOR,        /* publishes their own posts */
    STAFF_EDITOR,        /* publishes and edits everyone's posts */
    STAFF_ADMINISTRATOR, /* also manages accounts and settings */
};

/* The stored name of role ("editor"), or NULL for a value out of range. */
const char *staff_role_name(enum staff_role role);
/* Parses an exact role name into *role. 0, or -1 when s is not one. */
int staff_role_parse(const char *s, enum staff_role *role);

/* Normalises the address in into out (outlen bytes): surrounding spaces
 * trimmed, the whole address lower-cased (ASCII). Then checks it: one @, a
 * non-empty local part of at most STAFF_EMAIL_LOCAL_MAX bytes, a domain
 * with a dot-separated label structure, at most STAFF_EMAIL_MAX bytes in
 * all, valid UTF-8 without spaces or control characters. 0, or -1 with a
 * one-line reason in err. */
int staff_email_normalise(const char *in, char *out, size_t outlen, char *err,
                          size_t errlen);

/* Checks a display name: 1..STAFF_NAME_MAX bytes of valid UTF-8, no
 * control characters (so no CR or LF), not only spaces. 0, or -1 with a
 * reason in err. */
int staff_name_check(const char *name, char *err, size_t errlen);

/* Checks a password of len bytes: STAFF_PASSWORD_MIN..STAFF_PASSWORD_MAX
 * bytes, valid UTF-8, no NUL byte. 0, or -1 with a reason in err
 * ("password too short: at least 12 characters"). */
int staff_password_check(const char *pw, size_t len, char *err,
                         size_t errlen);

/* Initialises libsodium; safe to call any number of times, from any
 * thread. 0, or -1 when the library cannot start. */
int staff_crypto_init(void);

/* Hashes the NUL-terminated password pw into out (STAFF_HASH_SIZE bytes)
 * as an argon2id string ("$argon2id$..."), interactive limits. Does not
 * check the password's rules. 0, or -1 (out of memory) with err. */
int staff_hash_password(const char *pw, char out[STAFF_HASH_SIZE], char *err,
                        size_t errlen);
/* 1 when pw matches hash (a crypto_pwhash_str string), else 0 (also for a
 * NULL or malformed hash). Takes the same time whatever part differs. */
int staff_check_password(const char *hash, const char *pw);

/* Adds an account: checks and normalises email, checks name and password,
 * hashes the password, stores it with created_at = now. *id (may be NULL)
 * gets the new id. 0, or -1 with a one-line reason in err ("an account
 * with email 'x' exists"). */
int staff_add(struct store *st, const char *email, const char *name,
              enum staff_role role, const char *password, int64_t *id,
              char *err, size_t errlen);

/* Replaces the password of the account with that email (normalised
 * first). 0, or -1 with a reason in err ("no account with email 'x'"). */
int staff_set_password(struct store *st, const char *email,
                       const char *password, char *err, size_t errlen);

#endif
