/*
 * desk_keys.c - the desk's /desk/keys/ page: administrators list, add and
 * delete the keys of the Content API (web/ghost_api.c). Content API keys
 * are public by design, so the page shows each key in full, ready to be
 * pasted into a front-end's configuration. Every change is audited.
 */
#include <stdio.h>
#include <string.h>

#include "content/apikey.h"
#include "core/arena.h"
#include "web/app.h"
#include "web/desk.h"

/* Handles the form: action=add with name, or action=delete with id.
 * The redirect after success, or the error page. */
static int keys_change(struct desk_req *d)
{
    const char *action = desk_field(d, "action");
    char secret[APIKEY_LEN + 1], err[256];
    int64_t id = 0;

    if (strcmp(action, "add") == 0) {
        const char *name = desk_field(d, "name");
        if (apikey_create(d->app->st, name, d->now, secret, &id, err,
                          sizeof err) < 0)
            return desk_fail(d, DESK_INVALID, err);
        desk_audit(d->app->st, d->a, &d->who, d->now, "key.add",
                   arena_printf(d->a, "API key %lld '%s'", (long long)id, name),
                   NULL);
        return http_resp_redirect(d->req, 303, "/desk/keys/?done=added");
    }
    if (strcmp(action, "delete") == 0) {
        int rc;
        id = desk_id(desk_field(d, "id"));
        rc = id ? store_api_key_delete(d->app->st, id) : STORE_NOTFOUND;
        if (rc == STORE_NOTFOUND)
            return desk_fail(d, DESK_NOTFOUND, "There is no such key.");
        if (rc < 0)
            return -1;
        desk_audit(d->app->st, d->a, &d->who, d->now, "key.delete",
                   arena_printf(d->a, "API key %lld", (long long)id), NULL);
        return http_resp_redirect(d->req, 303, "/desk/keys/?done=deleted");
    }
    return desk_fail(d, DESK_INVALID, "Choose to add or delete a key.");
}

int desk_keys(struct http_req *req, void *app)
{
    struct desk_req d;
    struct store_api_key *k = NULL;
    size_t n = 0;
    int sent;

    if (desk_enter(req, app, &d, &sent) < 0)
        return sent;
    if (!desk_can(&d.who, DESK_KEYS, NULL))
        return desk_fail(&d, DESK_FORBIDDEN,
                         "Only administrators manage Content API keys.");
    if (http_req_method(req) == HTTP_POST)
        return keys_change(&d);
    if (store_api_keys_list(d.app->st, d.a, &k, &n) != 0)
        return -1;
    json_t *data = desk_data(&d, "Content API keys", "keys");
    json_t *list = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(
            list, json_pack("{s:I, s:s, s:s, s:s}", "id", (json_int_t)k[i].id,
                            "name", k[i].name, "key", k[i].secret, "created",
                            desk_time(&d, k[i].created_at)));
    const char *dn = http_req_query(req, "done");
    const char *msg = !dn                          ? NULL
                      : strcmp(dn, "added") == 0   ? "Key added."
                      : strcmp(dn, "deleted") == 0 ? "Key deleted."
                                                   : NULL;
    json_object_set_new(
        data, "keys",
        json_pack("{s:o, s:s?, s:s}", "list", list, "message", msg, "api",
                  arena_printf(d.a, "%s/ghost/api/content/", d.app->cfg.url)));
    return desk_render(&d, 200, "keys", data);
}
