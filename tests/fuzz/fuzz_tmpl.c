/*
 * fuzz_tmpl.c - libFuzzer target for the Mustache engine
 * (src/render/tmpl.c): the input is a template, compiled and rendered
 * against a small fixed JSON value with two partials (one recursive) and
 * a parent, through tmpl_render_string() and through a tmpl_set. Output
 * is capped at 64 KB, as a page render is by BOUND_PAGE_BYTES.
 *
 * Sections nested n deep over a two-item array run 2^n times, and with
 * nothing to print the output cap never stops them; this target found
 * that, and BOUND_TMPL_STEPS now stops such a render (test_tmpl checks).
 */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/log.h"
#include "fuzz.h"
#include "render/tmpl.h"

static json_t *model;    /* the data every template renders against */
static json_t *partials; /* name -> template source */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    log_set_level(LOG_ERROR);
    model = json_loads(
        "{\"title\":\"Caf\\u00e9 <b>&\",\"n\":3,\"r\":1.5,\"yes\":true,"
        "\"no\":false,\"none\":null,\"empty\":\"\",\"list\":[],"
        "\"items\":[{\"name\":\"a\",\"tags\":[\"x\"]},{\"name\":\"b\"}],"
        "\"post\":{\"author\":{\"name\":\"Jane\"},\"html\":\"<p>hi</p>\"}}",
        0, NULL);
    partials =
        json_loads("{\"card\":\"<li>{{name}}{{#tags}}[{{.}}]{{/tags}}</li>\","
                   "\"self\":\"{{#items}}{{>self}}{{/items}}\","
                   "\"layout\":\"<main>{{$body}}default{{/body}}</main>\"}",
                   0, NULL);
    if (!model || !partials)
        abort();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct buf out;
    char err[256];
    struct tmpl_set *set;

    buf_init(&out, 64 * 1024);
    tmpl_render_string((const char *)data, size, model, partials, &out, err,
                       sizeof err);
    buf_release(&out);

    set = tmpl_set_new();
    if (tmpl_set_add(set, "card", "{{name}}", 8, NULL, 0) < 0)
        abort();
    if (tmpl_set_add(set, "page", (const char *)data, size, err, sizeof err) ==
        0) {
        buf_init(&out, 64 * 1024);
        tmpl_set_render(set, "page", model, &out);
        buf_release(&out);
    }
    tmpl_set_free(set);
    return 0;
}
