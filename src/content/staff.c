/*
 * staff.c - accounts of the editorial desk; see staff.h.
 */
#include "content/staff.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/arena.h"
#include "core/str.h"
#include "store/store.h"

_Static_assert(STAFF_HASH_SIZE == crypto_pwhash_STRBYTES,
               "STAFF_HASH_SIZE must be crypto_pwhash_STRBYTES");

static const char *const role_names[] = {
    [STAFF_CONTRIBUTOR] = "contributor",
    [STAFF_AUTHOR] = "author",
    [STAFF_EDITOR] = "editor",
    [STAFF_ADMINISTRATOR] = "administrator",
};

const char *staff_role_name(enum staff_role role)
{
    if ((int)role < STAFF_CONTRIBUTOR || role > STAFF_ADMINISTRATOR)
        return NULL;
    return role_names[role];
}

int staff_role_parse(const char *s, enum staff_role *role)
{
    for (int i = STAFF_CONTRIBUTOR; s && i <= STAFF_ADMINISTRATOR; i++) {
        if (strcmp(s, role_names[i]) == 0) {
            *role = (enum staff_role)i;
            return 0;
        }
    }
    return -1;
}

static int is_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' ||
           c == '\f';
}

/* 1 if the domain d (n bytes) is dot-separated non-empty labels that
 * neither start nor end with '-'. */
static int domain_ok(const char *d, size_t n)
{
    size_t label = 0;

    if (n == 0 || n > 253)
        return 0;
    for (size_t i = 0; i <= n; i++) {
        if (i == n || d[i] == '.') {
            if (label == 0 || label > 63 || d[i - label] == '-' ||
                d[i - 1] == '-')
                return 0;
            label = 0;
        } else {
            label++;
        }
    }
    return 1;
}

int staff_email_normalise(const char *in, char *out, size_t outlen, char *err,
                          size_t errlen)
{
    const char *start = in, *end, *at = NULL;
    size_t n, local;

    if (!in) {
        snprintf(err, errlen, "email is required");
        return -1;
    }
    while (is_space((unsigned char)*start))
        start++;
    end = start + strlen(start);
    while (end > start && is_space((unsigned char)end[-1]))
        end--;
    n = (size_t)(end - start);
    if (n == 0) {
        snprintf(err, errlen, "email is required");
        return -1;
    }
    if (n > STAFF_EMAIL_MAX || n >= outlen) {
        snprintf(err, errlen, "email too long: at most %d bytes",
                 STAFF_EMAIL_MAX);
        return -1;
    }
    if (!str_utf8_valid(start, n)) {
        snprintf(err, errlen, "email is not valid UTF-8");
        return -1;
    }
    for (const char *p = start; p < end; p++) {
        unsigned char c = (unsigned char)*p;
        if (c <= 0x20 || c == 0x7f) {
            snprintf(err, errlen,
                     "email may not hold spaces or control characters");
            return -1;
        }
        if (c == '@') {
            if (at) {
                snprintf(err, errlen, "email must hold exactly one '@'");
                return -1;
            }
            at = p;
        }
    }
    if (!at) {
        snprintf(err, errlen, "email must hold exactly one '@'");
        return -1;
    }
    local = (size_t)(at - start);
    if (local == 0 || local > STAFF_EMAIL_LOCAL_MAX) {
        snprintf(err, errlen, "email's part before '@' must be 1 to %d bytes",
                 STAFF_EMAIL_LOCAL_MAX);
        return -1;
    }
    if (!domain_ok(at + 1, (size_t)(end - at - 1))) {
        snprintf(err, errlen, "email's domain is not valid");
        return -1;
    }
    memcpy(out, start, n);
    out[n] = '\0';
    /* one account per address whatever its case: mail systems treat
       local parts case-insensitively in practice (RFC 5321 allows both) */
    for (size_t i = 0; i < n; i++)
        if (out[i] >= 'A' && out[i] <= 'Z')
            out[i] = (char)(out[i] - 'A' + 'a');
    return 0;
}

int staff_name_check(const char *name, char *err, size_t errlen)
{
    size_t n = name ? strlen(name) : 0;
    int visible = 0;

    if (n == 0) {
        snprintf(err, errlen, "name is required");
        return -1;
    }
    if (n > STAFF_NAME_MAX) {
        snprintf(err, errlen, "name too long: at most %d bytes",
                 STAFF_NAME_MAX);
        return -1;
    }
    if (!str_utf8_valid(name, n)) {
        snprintf(err, errlen, "name is not valid UTF-8");
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)name[i];
        if (c < 0x20 || c == 0x7f) {
            snprintf(err, errlen, "name may not hold line breaks or control "
                                  "characters");
            return -1;
        }
        if (c != ' ')
            visible = 1;
    }
    if (!visible) {
        snprintf(err, errlen, "name is required");
        return -1;
    }
    return 0;
}

int staff_password_check(const char *pw, size_t len, char *err,
                         size_t errlen)
{
    if (!pw || len < STAFF_PASSWORD_MIN) {
        snprintf(err, errlen, "password too short: at least %d characters",
                 STAFF_PASSWORD_MIN);
        return -1;
    }
    if (len > STAFF_PASSWORD_MAX) {
        snprintf(err, errlen, "password too long: at most %d bytes",
                 STAFF_PASSWORD_MAX);
        return -1;
    }
    if (memchr(pw, '\0', len)) {
        snprintf(err, errlen, "password may not hold a NUL byte");
        return -1;
    }
    if (!str_utf8_valid(pw, len)) {
        snprintf(err, errlen, "password is not valid UTF-8");
        return -1;
    }
    return 0;
}

int staff_crypto_init(void)
{
    /* sodium_init is thread-safe and returns 1 when already done. */
    return sodium_init() < 0 ? -1 : 0;
}

int staff_hash_password(const char *pw, char out[STAFF_HASH_SIZE], char *err,
                        size_t errlen)
{
    if (staff_crypto_init() != 0) {
        snprintf(err, errlen, "cannot start libsodium");
        return -1;
    }
    if (crypto_pwhash_str_alg(out, pw, strlen(pw),
                              crypto_pwhash_OPSLIMIT_INTERACTIVE,
                              crypto_pwhash_MEMLIMIT_INTERACTIVE,
                              crypto_pwhash_ALG_ARGON2ID13) != 0) {
        snprintf(err, errlen, "cannot hash the password (out of memory)");
        return -1;
    }
    return 0;
}

int staff_check_password(const char *hash, const char *pw)
{
    if (!hash || !pw || staff_crypto_init() != 0 ||
        strnlen(hash, STAFF_HASH_SIZE) >= STAFF_HASH_SIZE)
        return 0;
    return crypto_pwhash_str_verify(hash, pw, strlen(pw)) == 0;
}

int staff_add(struct store *st, const char *email, const char *name,
              enum staff_role role, const char *password, int64_t *id,
              char *err, size_t errlen)
{
    char norm[STAFF_EMAIL_MAX + 1], hash[STAFF_HASH_SIZE];
    struct store_staff s = {0};
    int rc;

    if (staff_email_normalise(email, norm, sizeof norm, err, errlen) != 0 ||
        staff_name_check(name, err, errlen) != 0)
        return -1;
    if (!staff_role_name(role)) {
        snprintf(err, errlen, "unknown role");
        return -1;
    }
    if (staff_password_check(password, password ? strlen(password) : 0, err,
                             errlen) != 0 ||
        staff_hash_password(password, hash, err, errlen) != 0)
        return -1;
    s.email = norm;
    s.name = name;
    s.role = staff_role_name(role);
    s.password_hash = hash;
    s.created_at = (int64_t)time(NULL);
    rc = store_staff_save(st, &s);
    sodium_memzero(hash, sizeof hash);
    if (rc == STORE_CONFLICT) {
        snprintf(err, errlen, "an account with email '%s' exists", norm);
        return -1;
    }
    if (rc != 0) {
        snprintf(err, errlen, "cannot save the account: %s",
                 store_strerror(rc));
        return -1;
    }
    if (id)
        *id = s.id;
    return 0;
}

int staff_set_password(struct store *st, const char *email,
                       const char *password, char *err, size_t errlen)
{
    char norm[STAFF_EMAIL_MAX + 1], hash[STAFF_HASH_SIZE];
    struct store_staff s;
    struct arena a;
    int rc = -1;

    if (staff_email_normalise(email, norm, sizeof norm, err, errlen) != 0 ||
        staff_password_check(password, password ? strlen(password) : 0, err,
                             errlen) != 0)
        return -1;
    arena_init(&a);
    rc = store_staff_get_by_email(st, &a, norm, &s);
    if (rc == STORE_NOTFOUND) {
        snprintf(err, errlen, "no account with email '%s'", norm);
        rc = -1;
        goto out;
    }
    if (rc != 0) {
        snprintf(err, errlen, "cannot read the account: %s",
                 store_strerror(rc));
        rc = -1;
        goto out;
    }
    if (staff_hash_password(password, hash, err, errlen) != 0) {
        rc = -1;
        goto out;
    }
    s.password_hash = hash;
    rc = store_staff_save(st, &s);
    sodium_memzero(hash, sizeof hash);
    if (rc != 0) {
        snprintf(err, errlen, "cannot save the account: %s",
                 store_strerror(rc));
        rc = -1;
    }
out:
    arena_release(&a);
    return rc;
}
