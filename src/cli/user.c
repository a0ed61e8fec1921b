/*
 * user.c - `newsroom user add|passwd|list|totp-reset DIR ...`: staff
 * accounts of the editorial desk from the command line. Passwords never travel
 * in argv: they come from standard input (one line) or, on a terminal, from a
 * prompt without echo, asked twice.
 */
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "content/desk.h"
#include "content/site.h"
#include "content/staff.h"
#include "content/totp.h"
#include "core/arena.h"
#include "core/config.h"
#include "core/log.h"
#include "store/store.h"

static const char usage[] =
    "usage: newsroom user add DIR --email EMAIL --name NAME --role ROLE\n"
    "       newsroom user passwd DIR --email EMAIL\n"
    "       newsroom user list DIR\n"
    "       newsroom user totp-reset DIR EMAIL\n"
    "\n"
    "Manages the accounts of the editorial desk. 'add' and 'passwd' read\n"
    "the password from standard input (one line), or ask for it twice\n"
    "without echo on a terminal. Passwords are 12 to 1024 bytes of UTF-8\n"
    "and are stored only as argon2id hashes. 'totp-reset' removes the\n"
    "sign-in codes (TOTP) of an account whose authenticator was lost: its\n"
    "owner signs in with the password alone and sets up a new device\n"
    "under Security. It is written to the audit log.\n"
    "\n"
    "  --email EMAIL  the sign-in address (the domain is lower-cased)\n"
    "  --name NAME    display name, one line\n"
    "  --role ROLE    contributor, author, editor or administrator\n";

/* One room for a password line: the longest allowed, a CR, a LF, a NUL,
 * and one more byte to notice a longer one. */
#define PW_BUF (STAFF_PASSWORD_MAX + 4)

/* Reads one line from f into buf (PW_BUF bytes) without its line end.
 * 0, or -1 with a reason in err. */
static int read_line(FILE *f, char *buf, size_t *len, char *err, size_t errlen)
{
    size_t n = 0;
    int c;

    while ((c = getc(f)) != EOF && c != '\n') {
        if (n + 1 >= PW_BUF) {
            snprintf(err, errlen, "password too long: at most %d bytes",
                     STAFF_PASSWORD_MAX);
            return -1;
        }
        buf[n++] = (char)c;
    }
    if (c == EOF && ferror(f)) {
        snprintf(err, errlen, "cannot read the password: %s", strerror(errno));
        return -1;
    }
    if (n > 0 && buf[n - 1] == '\r')
        n--;
    buf[n] = '\0';
    *len = n;
    return 0;
}

/* Prompts on stderr and reads a line from the terminal on stdin with echo
 * off. 0 or -1 with err. */
static int prompt_hidden(const char *prompt, char *buf, size_t *len, char *err,
                         size_t errlen)
{
    struct termios old, quiet;
    int rc;

    fputs(prompt, stderr);
    fflush(stderr);
    if (tcgetattr(STDIN_FILENO, &old) != 0) {
        snprintf(err, errlen, "cannot read the terminal: %s", strerror(errno));
        return -1;
    }
    quiet = old;
    quiet.c_lflag &= ~(tcflag_t)ECHO;
    quiet.c_lflag |= ECHONL;
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
    rc = read_line(stdin, buf, len, err, errlen);
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
    return rc;
}

/* The new password into buf (PW_BUF bytes), checked against the rules.
 * 0 or -1 with err. */
static int read_password(char *buf, char *err, size_t errlen)
{
    char again[PW_BUF];
    size_t len = 0, len2 = 0;
    int rc = -1;

    if (!isatty(STDIN_FILENO)) {
        if (read_line(stdin, buf, &len, err, errlen) != 0)
            return -1;
        return staff_password_check(buf, len, err, errlen);
    }
    if (prompt_hidden("New password: ", buf, &len, err, errlen) != 0 ||
        staff_password_check(buf, len, err, errlen) != 0)
        goto out;
    if (prompt_hidden("Repeat password: ", again, &len2, err, errlen) != 0)
        goto out;
    if (len != len2 || memcmp(buf, again, len) != 0) {
        snprintf(err, errlen, "the passwords differ");
        goto out;
    }
    rc = 0;
out:
    sodium_memzero(again, sizeof again);
    return rc;
}

static int list(struct store *st)
{
    struct store_staff *s;
    struct arena a;
    size_t n;
    int rc;

    arena_init(&a);
    rc = store_staff_list(st, &a, &s, &n);
    if (rc != 0) {
        arena_release(&a);
        return cli_fail("user list: %s", store_strerror(rc));
    }
    printf("%-32s  %-24s  %-13s  %-10s  %s\n", "EMAIL", "NAME", "ROLE",
           "CREATED", "DISABLED");
    for (size_t i = 0; i < n; i++) {
        char day[16] = "-";
        time_t t = (time_t)s[i].created_at;
        struct tm tm;
        if (t > 0 && localtime_r(&t, &tm))
            strftime(day, sizeof day, "%Y-%m-%d", &tm);
        printf("%-32s  %-24s  %-13s  %-10s  %s\n", s[i].email, s[i].name,
               s[i].role, day, s[i].disabled ? "yes" : "no");
    }
    arena_release(&a);
    return 0;
}

/* `user totp-reset`: the sign-in codes of email removed, audited. 0, or
 * -1 with a reason in err. */
static int totp_reset_cli(struct store *st, const char *email, char *err,
                          size_t errlen)
{
    char norm[STAFF_EMAIL_MAX + 1];
    struct store_staff s;
    struct arena a;
    int rc = -1;

    arena_init(&a);
    if (staff_email_normalise(email, norm, sizeof norm, err, errlen) != 0)
        goto out;
    int got = store_staff_get_by_email(st, &a, norm, &s);
    if (got == STORE_NOTFOUND) {
        snprintf(err, errlen, "no desk account '%s'", norm);
        goto out;
    }
    int r = got == STORE_OK ? totp_reset(st, &a, s.id) : -1;
    if (r < 0) {
        snprintf(err, errlen, "cannot change the account '%s'", norm);
        goto out;
    }
    if (r == 0) {
        printf("%s has no sign-in codes; nothing to remove\n", norm);
    } else {
        desk_audit(st, &a, NULL, (int64_t)time(NULL), "staff.totp_reset",
                   arena_printf(&a, "staff %lld <%s>", (long long)s.id, norm),
                   NULL);
        printf("removed the sign-in codes of %s: they sign in with their "
               "password alone and can set up a new device under Security\n",
               norm);
    }
    rc = 0;
out:
    arena_release(&a);
    return rc;
}

int cli_user(int argc, char **argv)
{
    const char *verb = argc > 0 ? argv[0] : NULL;
    const char *dir = NULL, *email = NULL, *name = NULL, *role_s = NULL;
    enum staff_role role = STAFF_CONTRIBUTOR;
    char err[512], pw[PW_BUF];
    struct config cfg;
    struct store *st;
    int ret;

    if (!verb || cli_wants_help(argc, argv)) {
        fputs(usage, verb ? stdout : stderr);
        return verb ? 0 : 2;
    }
    int reset = strcmp(verb, "totp-reset") == 0;
    if (strcmp(verb, "add") && strcmp(verb, "passwd") && strcmp(verb, "list") &&
        !reset)
        return cli_usage_error("user: unknown action '%.40s' (try 'newsroom "
                               "user --help')",
                               verb);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int has_value = i + 1 < argc;
        if (strcmp(a, "--email") == 0 && has_value && strcmp(verb, "list"))
            email = argv[++i];
        else if (strcmp(a, "--name") == 0 && has_value &&
                 strcmp(verb, "add") == 0)
            name = argv[++i];
        else if (strcmp(a, "--role") == 0 && has_value &&
                 strcmp(verb, "add") == 0)
            role_s = argv[++i];
        else if (a[0] == '-')
            return cli_usage_error("user %s: unknown or incomplete option "
                                   "'%.40s'",
                                   verb, a);
        else if (!dir)
            dir = a;
        else if (reset && !email)
            email = a;
        else
            return cli_usage_error("user %s: unexpected argument '%.40s'", verb,
                                   a);
    }
    if (!dir)
        return cli_usage_error("user %s: missing DIR", verb);
    if (reset && !email)
        return cli_usage_error("user totp-reset: missing EMAIL");
    if (strcmp(verb, "list") != 0 && !email)
        return cli_usage_error("user %s: --email is required", verb);
    if (strcmp(verb, "add") == 0) {
        if (!name)
            return cli_usage_error("user add: --name is required");
        if (!role_s)
            return cli_usage_error("user add: --role is required");
        if (staff_role_parse(role_s, &role) != 0)
            return cli_usage_error("user add: unknown role '%.40s' "
                                   "(contributor, author, editor or "
                                   "administrator)",
                                   role_s);
    }
    if (strcmp(verb, "list") != 0) {
        char norm[STAFF_EMAIL_MAX + 1];
        if (staff_email_normalise(email, norm, sizeof norm, err, sizeof err) !=
                0 ||
            (name && staff_name_check(name, err, sizeof err) != 0))
            return cli_fail("user %s: %s", verb, err);
    }
    log_set_level(LOG_WARN);
    if (strcmp(verb, "list") != 0 && !reset &&
        read_password(pw, err, sizeof err) != 0) {
        sodium_memzero(pw, sizeof pw);
        return cli_fail("user %s: %s", verb, err);
    }
    st = site_open(dir, &cfg, err, sizeof err);
    if (!st) {
        sodium_memzero(pw, sizeof pw);
        return cli_fail("%s", err);
    }
    if (strcmp(verb, "list") == 0)
        ret = list(st) == 0 ? 0 : -2;
    else if (reset)
        ret = totp_reset_cli(st, email, err, sizeof err);
    else if (strcmp(verb, "add") == 0)
        ret = staff_add(st, email, name, role, pw, NULL, err, sizeof err);
    else
        ret = staff_set_password(st, email, pw, err, sizeof err);
    sodium_memzero(pw, sizeof pw);
    store_close(st);
    if (ret == -2)
        return 1;
    if (ret < 0)
        return cli_fail("user %s: %s", verb, err);
    return 0;
}
