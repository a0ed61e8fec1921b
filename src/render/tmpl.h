/*
 * tmpl.h - the Mustache template engine (docs/templates.md).
 *
 * A struct tmpl_set is a theme: named templates that include each other as
 * partials ({{> name}}) and parents ({{< name}} with {{$block}} arguments).
 * Each template is parsed once, when it is added, into a flat node array;
 * rendering walks that array against a jansson value and allocates nothing
 * but the output buffer's growth.
 *
 * Supported: the official Mustache spec (comments, delimiters,
 * interpolation, inverted, partials, sections) and its optional
 * inheritance module, with the spec's standalone-line and indentation
 * rules. Not supported: lambdas.
 *
 * Values: {{x}} is HTML-escaped (& < > " '), {{{x}}} and {{& x}} are not.
 * Strings print as they are, integers as %lld, reals in the shortest form
 * that reads back the same (1.21 -> "1.21"), true/false as "true"/"false";
 * null, objects and arrays print nothing. Falsy for sections: false, null,
 * a missing name, an empty array and an empty string (0 is truthy).
 *
 * Threads: once loaded, any number of threads may render from one set at
 * the same time. tmpl_set_add may run concurrently with renders (it waits
 * for them); tmpl_set_free may not.
 */
#ifndef RENDER_TMPL_H
#define RENDER_TMPL_H

#include <jansson.h>
#include <stddef.h>

#include "core/buf.h"

struct tmpl_set;

/* An empty set. Never NULL (aborts on out of memory). Free with
 * tmpl_set_free(). */
struct tmpl_set *tmpl_set_new(void);

/* Frees the set and every template in it. Accepts NULL. No render may be
 * running on the set. */
void tmpl_set_free(struct tmpl_set *set);

/*
 * Parses src (len bytes, copied; need not be NUL-terminated) and stores it
 * under name (copied), replacing a template of that name. Partials and
 * parents it names need not exist yet; they are looked up when rendering.
 * Returns 0, or -1 with a message in err (errlen bytes, may be 0) such as
 * "line 3: unclosed section 'items'"; on error the set is unchanged.
 */
int tmpl_set_add(struct tmpl_set *set, const char *name, const char *src,
                 size_t len, char *err, size_t errlen);

/* 1 if the set holds a template called name, else 0. */
int tmpl_set_has(const struct tmpl_set *set, const char *name);

/*
 * Renders the template called name against data (may be NULL; not
 * modified, no reference taken) and appends the result to out.
 * Returns 0, or -1 when the template is unknown, sections/partials nest
 * deeper than BOUND_TMPL_DEPTH or out's limit is hit; a log_warn line says
 * which, and out is left as it was (apart from out->overflow).
 * A partial or parent that does not exist renders as nothing.
 */
int tmpl_set_render(const struct tmpl_set *set, const char *name, json_t *data,
                    struct buf *out);

/*
 * One-off render of src (len bytes) with partials taken from the object
 * partials (name -> template string; may be NULL). Parses on every call:
 * meant for tests and tools, not for pages. Appends to out; returns 0, or
 * -1 with a message in err for a parse error (a partial's is prefixed
 * "partial 'name': ") or a failed render (nothing logged).
 */
int tmpl_render_string(const char *src, size_t len, json_t *data,
                       json_t *partials, struct buf *out, char *err,
                       size_t errlen);

/*
 * Appends n bytes of s to out with & < > " ' written as &amp; &lt; &gt;
 * &quot; &#39; (safe in element content and in quoted attributes).
 * Returns 0, or -1 if out's limit was hit (out->overflow is then set and
 * out may hold part of the text).
 */
int tmpl_escape_html(struct buf *out, const char *s, size_t n);

#endif
