/*
 * desk_security.c - the desk's /desk/security/ page: the signed-in person
 * turns their TOTP second factor (content/totp.h, RFC 6238) on, by
 * typing a code from the app the new secret was added to, or off, with a
 * current code; administrators also switch whether the site requires it
 * of administrators. Every change is audited. The sign-in code form
 * (desk.c) renders the same template.
 */
#include <stdio.h>
#include <string.h>

#include "content/totp.h"
#include "core/arena.h"
#include "web/app.h"
#include "web/desk.h"

/* Turns TOTP on with the secret shown on the page and a code from it. */
static int totp_on(struct desk_req *d)
{
    const char *secret = desk_field(d, "secret");
    int64_t step = 0;

    if (strlen(secret) != TOTP_SECRET_B32 ||
        strspn(secret, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") != TOTP_SECRET_B32)
        return desk_fail(d, DESK_INVALID,
                         "The secret is missing or damaged. Reload the "
                         "page and add the new secret to your app.");
    if (totp_enabled(d->app->st, d->a, d->who.staff_id) != 0)
        return desk_fail(d, DESK_CONFLICT, "Sign-in codes are already on.");
    if (totp_verify(secret, desk_field(d, "code"), d->now, 0, &step) < 0)
        return desk_fail(d, DESK_INVALID,
                         "That code does not match the secret. Check the "
                         "app shows this account and its clock is right, "
                         "then type the current 6-digit code.");
    if (store_staff_totp_set(d->app->st, d->who.staff_id, secret, step) !=
        STORE_OK)
        return -1;
    desk_audit(d->app->st, d->a, &d->who, d->now, "staff.totp_on",
               arena_printf(d->a, "staff %lld", (long long)d->who.staff_id),
               NULL);
    return http_resp_redirect(d->req, 303, "/desk/security/?done=on");
}

/* Turns TOTP off with a current code (not while it is required). */
static int totp_off(struct desk_req *d)
{
    struct store_staff_totp t;
    int64_t step = 0;

    if (d->who.role == STAFF_ADMINISTRATOR && totp_required(d->app->st, d->a))
        return desk_fail(d, DESK_FORBIDDEN,
                         "This site requires administrators to use sign-in "
                         "codes, so yours cannot be turned off.");
    if (store_staff_totp_get(d->app->st, d->a, d->who.staff_id, &t) != STORE_OK)
        return -1;
    if (!t.secret)
        return desk_fail(d, DESK_CONFLICT, "Sign-in codes are already off.");
    if (totp_verify(t.secret, desk_field(d, "code"), d->now, t.last_step,
                    &step) < 0 ||
        store_staff_totp_use(d->app->st, d->who.staff_id, step) != STORE_OK)
        return desk_fail(d, DESK_INVALID,
                         "Wrong or already used code: type the current "
                         "6-digit code from your app.");
    if (store_staff_totp_set(d->app->st, d->who.staff_id, NULL, 0) != STORE_OK)
        return -1;
    desk_audit(d->app->st, d->a, &d->who, d->now, "staff.totp_off",
               arena_printf(d->a, "staff %lld", (long long)d->who.staff_id),
               NULL);
    return http_resp_redirect(d->req, 303, "/desk/security/?done=off");
}

/* Administrators: require=on|off for every administrator. */
static int required(struct desk_req *d)
{
    const char *v = desk_field(d, "require");
    int on = strcmp(v, "on") == 0;

    if (d->who.role != STAFF_ADMINISTRATOR)
        return desk_fail(d, DESK_FORBIDDEN,
                         "Only administrators change what the site "
                         "requires.");
    if (!on && strcmp(v, "off") != 0)
        return desk_fail(d, DESK_INVALID, "Choose on or off.");
    if (totp_required_set(d->app->st, on) < 0)
        return -1;
    desk_audit(d->app->st, d->a, &d->who, d->now, "site.totp_required", "site",
               on ? "on" : "off");
    return http_resp_redirect(d->req, 303,
                              on ? "/desk/security/?done=required"
                                 : "/desk/security/?done=optional");
}

/* The message for ?done=. */
static const char *done_text(const char *dn)
{
    static const char *const msgs[][2] = {
        {"on", "Sign-in codes are on: you will be asked for one after "
               "your password."},
        {"off", "Sign-in codes are off."},
        {"required", "Administrators must now use sign-in codes."},
        {"optional", "Sign-in codes are now optional for administrators."},
    };

    for (size_t i = 0; dn && i < sizeof msgs / sizeof msgs[0]; i++)
        if (strcmp(dn, msgs[i][0]) == 0)
            return msgs[i][1];
    return NULL;
}

int desk_security(struct http_req *req, void *app)
{
    struct desk_req d;
    char secret[TOTP_SECRET_B32 + 1];
    int sent;

    if (desk_enter(req, app, &d, &sent) < 0)
        return sent;
    if (http_req_method(req) == HTTP_POST) {
        const char *action = desk_field(&d, "action");
        if (strcmp(action, "enable") == 0)
            return totp_on(&d);
        if (strcmp(action, "disable") == 0)
            return totp_off(&d);
        if (strcmp(action, "require") == 0)
            return required(&d);
        return desk_fail(&d, DESK_INVALID, "Choose what to change.");
    }
    int on = totp_enabled(d.app->st, d.a, d.who.staff_id);
    int req_on = totp_required(d.app->st, d.a);
    if (on < 0)
        return -1;
    json_t *data = desk_data(&d, "Security", "security");
    json_t *sec = json_pack(
        "{s:b, s:b, s:b, s:b, s:s?}", "on", on, "required", req_on, "can_off",
        on && !(req_on && d.who.role == STAFF_ADMINISTRATOR), "must_enrol",
        !on && req_on && d.who.role == STAFF_ADMINISTRATOR, "message",
        done_text(http_req_query(req, "done")));
    if (!on) {
        totp_secret_new(secret);
        json_object_set_new(sec, "secret", json_string(secret));
        json_object_set_new(
            sec, "uri",
            json_string(totp_uri(d.a, d.app->cfg.title, d.who.email, secret)));
    }
    json_object_set_new(data, "security", sec);
    return desk_render(&d, 200, "security", data);
}
