/*
 * multipart.c - multipart/form-data request bodies (RFC 7578): the text
 * fields and uploaded files of an HTML form with
 * enctype="multipart/form-data". server.c calls http_multipart_parse()
 * once the whole body is buffered; handlers read the result with
 * http_req_form(), http_req_form_all() and http_req_file().
 *
 * libmicrohttpd's own post processor does the parsing; this file checks
 * the boundary parameter first (MHD takes everything after "boundary="),
 * collects each part's bytes, holds text fields to the same rules as
 * urlencoded ones (valid UTF-8, no NUL) and turns MHD's verdicts into
 * messages a person can act on. MHD 0.9.75 behaviour this relies on:
 *  - the iterator is called at least once per part (size 0 for an empty
 *    one) and a part's first call has off 0; the whole body is fed at
 *    once, so a later call for the same part always has off > 0;
 *  - key is NULL for a part without a Content-Disposition name;
 *    filename is NULL without a filename parameter, "" for filename="";
 *  - MHD_destroy_post_processor() says MHD_NO when the body stopped
 *    before the closing boundary, and MHD_YES when no boundary was ever
 *    seen (we look for it ourselves).
 */
#include "http/http_internal.h"

#include <microhttpd.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/str.h"
#include "http/http.h"

/* Bytes of MHD's working buffer: the longest part header line it can
 * read, and how much body it looks at in one go. */
#define PP_BUFFER (64 * 1024)

/* Longest boundary (RFC 2046 5.1.1). */
#define BOUNDARY_MAX 70
/* Shortest boundary MHD 0.9.75 accepts (RFC 2046 allows 1). */
#define BOUNDARY_MIN 2

/* What the iterator collects. */
struct mp {
    struct arena *a;         /* request arena */
    struct http_kv *fields;  /* text fields so far */
    size_t nfields;          /* entries in fields */
    struct http_file *files; /* files so far */
    size_t nfiles;           /* entries in files */
    size_t nparts;           /* parts seen, kept or not */
    size_t max;              /* most parts allowed */
    int open;                /* 1 while a part is being collected */
    const char *name;        /* its field name, in the arena */
    const char *filename;    /* its filename, or NULL for a text field */
    const char *type;        /* its Content-Type, or "" */
    struct buf data;         /* its bytes so far */
    const char *err;         /* the first problem (a 400 message), or NULL */
};

/* 1 for an RFC 2046 bchars byte other than space. */
static int is_bchar(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || (c && strchr("'()+_,-./:=?", c));
}

/* The boundary of a multipart Content-Type into *b / *blen; NULL, or a
 * message for a 400. MHD takes the rest of the header after "boundary="
 * as the boundary, so it must be the last parameter. */
static const char *find_boundary(const char *type, const char **b, size_t *blen)
{
    static const char bad[] =
        "multipart/form-data needs a boundary parameter (boundary=..., "
        "the last parameter, 2 to 70 characters)";
    const char *p = strstr(type, "boundary=");
    size_t i, n;

    if (!p)
        return bad;
    p += strlen("boundary=");
    n = strlen(p);
    if (n >= 2 && p[0] == '"' && p[n - 1] == '"') {
        p++;
        n -= 2;
        for (i = 0; i < n; i++)
            if (!is_bchar((unsigned char)p[i]) && p[i] != ' ')
                return bad;
        if (n && p[n - 1] == ' ')
            return bad;
    } else {
        for (i = 0; i < n; i++)
            if (!is_bchar((unsigned char)p[i]))
                return bad;
    }
    if (n < BOUNDARY_MIN || n > BOUNDARY_MAX)
        return bad;
    *b = p;
    *blen = n;
    return NULL;
}

/* 1 if the n bytes at s are valid UTF-8 without control characters. */
static int is_clean_text(const char *s, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return 0;
    return str_utf8_valid(s, n);
}

/* Stores the part being collected as a field or a file. 0, or -1 with
 * m->err set. */
static int finish_part(struct mp *m)
{
    const char *bytes = m->data.data ? m->data.data : "";
    size_t len = m->data.len;
    struct http_file *f;
    char *kept;

    if (!m->open)
        return 0;
    m->open = 0;
    if (!m->filename) {
        if (memchr(bytes, '\0', len) || !str_utf8_valid(bytes, len)) {
            m->err = strlen(m->name) <= 64
                         ? arena_printf(m->a,
                                        "form field '%s' contains a NUL "
                                        "byte or is not valid UTF-8",
                                        m->name)
                         : "a form field contains a NUL byte or is not "
                           "valid UTF-8";
            return -1;
        }
        m->fields[m->nfields].key = m->name;
        m->fields[m->nfields].val = arena_strndup(m->a, bytes, len);
        m->nfields++;
        buf_reset(&m->data);
        return 0;
    }
    if (!*m->filename && len == 0) { /* "no file chosen" */
        buf_reset(&m->data);
        return 0;
    }
    kept = buf_steal(&m->data, &len);
    arena_defer(m->a, free, kept);
    f = &m->files[m->nfiles++];
    f->field = m->name;
    f->filename = m->filename;
    f->type = m->type;
    f->data = (const unsigned char *)kept;
    f->len = len;
    return 0;
}

/* MHD_PostDataIterator: one piece of one part. */
static enum MHD_Result on_part(void *cls, enum MHD_ValueKind kind,
                               const char *key, const char *filename,
                               const char *type, const char *encoding,
                               const char *data, uint64_t off, size_t size)
{
    struct mp *m = cls;

    (void)kind;
    (void)encoding;
    if (!key || !*key) {
        m->err = "a part of the multipart body has no name (it needs "
                 "Content-Disposition: form-data; name=\"...\")";
        return MHD_NO;
    }
    if (off == 0) {
        if (finish_part(m) < 0)
            return MHD_NO;
        if (++m->nparts > m->max) {
            m->err =
                arena_printf(m->a, "form has more than %zu fields", m->max);
            return MHD_NO;
        }
        if (!is_clean_text(key, strlen(key))) {
            m->err = "form field name is not valid UTF-8";
            return MHD_NO;
        }
        m->name = arena_strdup(m->a, key);
        m->filename = NULL;
        if (filename)
            m->filename = is_clean_text(filename, strlen(filename))
                              ? arena_strdup(m->a, filename)
                              : "";
        m->type = type && is_clean_text(type, strlen(type))
                      ? arena_strdup(m->a, type)
                      : "";
        m->open = 1;
    }
    if (size && buf_add(&m->data, data, size) < 0) {
        m->err = "multipart part is larger than its body"; /* cannot be */
        return MHD_NO;
    }
    return MHD_YES;
}

const char *http_multipart_parse(struct arena *a, struct MHD_Connection *conn,
                                 const char *type, const char *body, size_t n,
                                 struct http_kv *fields, size_t *nfields,
                                 struct http_file *files, size_t *nfiles,
                                 size_t max)
{
    struct MHD_PostProcessor *pp = NULL;
    struct mp m;
    const char *b, *err;
    char *delim;
    size_t blen;
    int ok;

    memset(&m, 0, sizeof m);
    m.a = a;
    m.fields = fields;
    m.files = files;
    m.max = max;
    buf_init(&m.data, n + 1);
    *nfields = *nfiles = 0;
    err = find_boundary(type, &b, &blen);
    if (err)
        goto out;
    delim = arena_printf(a, "--%.*s", (int)blen, b);
    if (!body || !memmem(body, n, delim, blen + 2)) {
        err = "multipart body does not contain its boundary (the body is "
              "empty or not the one Content-Type announces)";
        goto out;
    }
    pp = MHD_create_post_processor(conn, PP_BUFFER, on_part, &m);
    if (!pp) {
        err = "multipart body cannot be parsed (bad Content-Type)";
        goto out;
    }
    ok = MHD_post_process(pp, body, n) == MHD_YES;
    ok = MHD_destroy_post_processor(pp) == MHD_YES && ok;
    if (m.err) {
        err = m.err;
        goto out;
    }
    if (!ok) {
        err = "multipart body is malformed or cut short (a part without "
              "headers, or no closing boundary)";
        goto out;
    }
    if (finish_part(&m) < 0) {
        err = m.err;
        goto out;
    }
    *nfields = m.nfields;
    *nfiles = m.nfiles;
out:
    buf_release(&m.data);
    return err;
}
