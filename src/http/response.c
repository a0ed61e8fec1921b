/*
 * response.c - the request as handlers see it (http.h accessors) and the
 * response they build: headers, the security headers every response
 * carries, conditional GET (304), plain and static bodies, prebuilt
 * responses for the page cache (a memory file sent with sendfile), the
 * redirect and error helpers. server.c drives the request; this file only
 * reads it and queues MHD responses on its connection.
 */
#include "http/http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/arena.h"
#include "core/bounds.h"
#include "core/log.h"
#include "http/http_internal.h"

/* Headers every response carries unless the handler set its own. */
static const struct {
    const char *name;
    const char *value;
} default_headers[] = {
    {"X-Content-Type-Options", "nosniff"},
    {"Referrer-Policy", "strict-origin-when-cross-origin"},
    {"X-Frame-Options", "DENY"},
    {"Content-Security-Policy",
     "default-src 'self'; img-src 'self' data:; style-src 'self'; "
     "script-src 'self'; object-src 'none'; frame-ancestors 'none'; "
     "base-uri 'self'; form-action 'self'"},
    /* no page needs these browser features: a script injected through a
     * hole elsewhere cannot ask for them either */
    {"Permissions-Policy",
     "camera=(), microphone=(), geolocation=(), payment=(), usb=(), "
     "browsing-topics=()"},
};

/* Headers a 304 keeps from the response it stands for (RFC 9110 15.4.5). */
static const char *const keep_on_304[] = {
    "ETag", "Cache-Control",    "Last-Modified", "Expires",
    "Vary", "Content-Location", "Date",
};

/* 1 for an RFC 9110 5.6.2 token character. */
static int is_tchar(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || (c && strchr("!#$%&'*+-.^_`|~", c));
}

static int is_token(const char *s)
{
    if (!*s)
        return 0;
    for (; *s; s++)
        if (!is_tchar((unsigned char)*s))
            return 0;
    return 1;
}

/* The response header called name the handler set, or NULL. */
static const char *resp_hdr_find(const struct http_req *req, const char *name)
{
    const struct resp_hdr *h;

    for (h = req->hdrs; h; h = h->next)
        if (strcasecmp(h->name, name) == 0)
            return h->value;
    return NULL;
}

struct arena *http_req_arena(struct http_req *req)
{
    return &req->arena;
}

struct MHD_Connection *http_req_conn(const struct http_req *req)
{
    return req->conn;
}

const struct http_config *http_req_config(const struct http_req *req)
{
    return &req->srv->cfg;
}

struct http_sse_srv *http_req_sse_srv(const struct http_req *req)
{
    return req->srv->sse;
}

void http_req_set_sse(struct http_req *req, struct http_sse_stream *s)
{
    if (s && !req->sse)
        atomic_fetch_add(&req->srv->sse_open, 1);
    req->sse = s;
}

enum http_method http_req_method(const struct http_req *req)
{
    return req->method;
}

const char *http_req_method_name(const struct http_req *req)
{
    return req->method_name ? req->method_name : "";
}

const char *http_req_path(const struct http_req *req)
{
    return req->path ? req->path : "";
}

const char *http_req_target(const struct http_req *req)
{
    return req->target;
}

static const char *kv_find(const struct http_kv *kv, size_t n, const char *key)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (strcmp(kv[i].key, key) == 0)
            return kv[i].val;
    return NULL;
}

const char *http_req_param(const struct http_req *req, const char *name)
{
    return kv_find(req->params, req->nparams, name);
}

const char *http_req_query(const struct http_req *req, const char *name)
{
    return kv_find(req->query, req->nquery, name);
}

const char *http_req_form(const struct http_req *req, const char *name)
{
    return kv_find(req->form, req->nform, name);
}

size_t http_req_form_all(const struct http_req *req, const char *name,
                         const char **out, size_t max)
{
    size_t i, n = 0;

    for (i = 0; i < req->nform && n < max; i++)
        if (strcmp(req->form[i].key, name) == 0)
            out[n++] = req->form[i].val;
    return n;
}

const struct http_file *http_req_file(const struct http_req *req,
                                      const char *name)
{
    size_t i;

    for (i = 0; i < req->nfiles; i++)
        if (strcmp(req->files[i].field, name) == 0)
            return &req->files[i];
    return NULL;
}

const char *http_req_header(const struct http_req *req, const char *name)
{
    return req->conn
               ? MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name)
               : NULL;
}

const char *http_req_cookie(const struct http_req *req, const char *name)
{
    return req->conn
               ? MHD_lookup_connection_value(req->conn, MHD_COOKIE_KIND, name)
               : NULL;
}

const char *http_req_body(const struct http_req *req, size_t *len)
{
    *len = req->body.len;
    return req->body.len ? req->body.data : NULL;
}

const char *http_req_client_ip(struct http_req *req)
{
    const union MHD_ConnectionInfo *ci;
    const struct sockaddr *sa;
    char text[INET6_ADDRSTRLEN] = "";

    if (req->ip)
        return req->ip;
    ci = req->conn ? MHD_get_connection_info(req->conn,
                                             MHD_CONNECTION_INFO_CLIENT_ADDRESS)
                   : NULL;
    sa = ci ? ci->client_addr : NULL;
    if (sa && sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const void *)sa;

        inet_ntop(AF_INET, &in->sin_addr, text, sizeof text);
    } else if (sa && sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const void *)sa;

        if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr))
            inet_ntop(AF_INET, &in6->sin6_addr.s6_addr[12], text, sizeof text);
        else
            inet_ntop(AF_INET6, &in6->sin6_addr, text, sizeof text);
    }
    req->ip = arena_strdup(&req->arena, text);
    return req->ip;
}

/* ---- responses ---- */

int http_resp_header(struct http_req *req, const char *name, const char *value)
{
    struct resp_hdr *h;
    const unsigned char *v;

    if (req->status) {
        log_error("cannot add response header '%s': response already sent",
                  is_token(name) ? name : "?");
        return -1;
    }
    if (!is_token(name)) {
        log_error("refusing response header with a bad name");
        return -1;
    }
    if (strcasecmp(name, "Content-Length") == 0 ||
        strcasecmp(name, "Transfer-Encoding") == 0) {
        log_error("refusing response header '%s': set by the http layer", name);
        return -1;
    }
    for (v = (const unsigned char *)value; *v; v++) {
        if ((*v < 0x20 && *v != '\t') || *v == 0x7f) {
            log_error("refusing response header '%s': value contains CR, "
                      "LF or another control character",
                      name);
            return -1;
        }
    }
    h = arena_alloc(&req->arena, sizeof *h);
    h->next = NULL;
    h->name = arena_strdup(&req->arena, name);
    h->value = arena_strdup(&req->arena, value);
    *req->hdrs_tail = h;
    req->hdrs_tail = &h->next;
    return 0;
}

/* 1 if the request's validators match a response with this etag and
 * Last-Modified date lm (either NULL when absent), so a 200 becomes 304
 * (RFC 9110 13.2.2: If-None-Match wins). */
static int validators_match(const struct http_req *req, const char *etag,
                            const char *lm)
{
    const char *inm = http_req_header(req, "If-None-Match");
    const char *ims;
    time_t since, modified;

    if (inm)
        return etag && http_etag_match(inm, etag);
    ims = http_req_header(req, "If-Modified-Since");
    if (!ims || !lm || http_date_parse(ims, &since) < 0 ||
        http_date_parse(lm, &modified) < 0)
        return 0;
    return modified <= since;
}

/* validators_match for the headers the handler set. */
static int not_modified(const struct http_req *req)
{
    return validators_match(req, resp_hdr_find(req, "ETag"),
                            resp_hdr_find(req, "Last-Modified"));
}

static int kept_on_304(const char *name)
{
    size_t i;

    for (i = 0; i < sizeof keep_on_304 / sizeof keep_on_304[0]; i++)
        if (strcasecmp(name, keep_on_304[i]) == 0)
            return 1;
    return 0;
}

static void add_header(struct MHD_Response *resp, const char *name,
                       const char *value)
{
    if (MHD_add_response_header(resp, name, value) != MHD_YES)
        log_error("cannot add response header '%s'", name);
}

/* 0 if a response may be sent now with status, else -1 (logged). */
static int can_send(struct http_req *req, int status)
{
    if (req->status || !req->conn) {
        log_error("cannot send response %d for '%s': %s", status,
                  http_log_safe(&req->arena, req->target, 200),
                  req->status ? "one was already sent" : "too early");
        return -1;
    }
    if (status < 200 || status > 599) {
        log_error("cannot send response with status %d", status);
        return -1;
    }
    return 0;
}

/* Adds the headers (only those a 304 keeps when not_mod) and queues resp;
 * the caller still destroys resp. Returns status, or -1 (logged). */
static int queue(struct http_req *req, int status, const char *type,
                 struct MHD_Response *resp, int not_mod)
{
    const struct resp_hdr *h;
    size_t i;

    if (type && !not_mod)
        add_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    for (h = req->hdrs; h; h = h->next)
        if (!not_mod || kept_on_304(h->name))
            add_header(resp, h->name, h->value);
    for (i = 0; i < sizeof default_headers / sizeof default_headers[0]; i++)
        if (!resp_hdr_find(req, default_headers[i].name))
            add_header(resp, default_headers[i].name, default_headers[i].value);
    if (MHD_queue_response(req->conn, (unsigned)status, resp) != MHD_YES) {
        log_error("cannot queue response %d for '%s'", status,
                  http_log_safe(&req->arena, req->target, 200));
        return -1;
    }
    req->status = status;
    return status;
}

int http_resp_queue(struct http_req *req, int status, const char *type,
                    struct MHD_Response *resp)
{
    if (can_send(req, status) < 0)
        return -1;
    return queue(req, status, type, resp, 0);
}

static int send_body(struct http_req *req, int status, const char *type,
                     const void *body, size_t len,
                     enum MHD_ResponseMemoryMode mode)
{
    struct MHD_Response *resp;
    int not_mod = 0, rc;

    if (can_send(req, status) < 0)
        return -1;
    if (status == 200 && (req->method & (HTTP_GET | HTTP_HEAD)) &&
        not_modified(req)) {
        status = 304;
        not_mod = 1;
        body = "";
        len = 0;
        mode = MHD_RESPMEM_PERSISTENT;
    }
    resp = MHD_create_response_from_buffer(len, (void *)body, mode);
    if (!resp) {
        log_error("cannot create response %d", status);
        return -1;
    }
    rc = queue(req, status, type, resp, not_mod);
    MHD_destroy_response(resp); /* MHD holds its own reference */
    if (rc > 0)
        req->bytes_out = req->method == HTTP_HEAD ? 0 : len;
    return rc;
}

int http_resp_send(struct http_req *req, int status, const char *type,
                   const void *body, size_t len)
{
    return send_body(req, status, type, body, len, MHD_RESPMEM_MUST_COPY);
}

int http_resp_send_static(struct http_req *req, int status, const char *type,
                          const void *body, size_t len)
{
    return send_body(req, status, type, body, len, MHD_RESPMEM_PERSISTENT);
}

/* ---- prebuilt responses ---- */

struct http_prebuilt {
    struct MHD_Response *ok;      /* the 200, body from a memory file */
    struct MHD_Response *not_mod; /* the matching 304 */
    char *etag;                   /* ETag header value, or NULL */
    char *last_modified;          /* Last-Modified value, or NULL */
    size_t len;                   /* body bytes */
};

/* Bodies smaller than this are kept in memory and sent with the headers
 * in one sendmsg(); larger ones (sitemaps, big feeds) from a memory file
 * with sendfile(), which saves copying them into the socket but costs a
 * second system call and the pipe work behind it. Measured on loopback
 * (bench/article.sh, docs/performance.md): for a 36 KB page one write is
 * 1.07-1.12x nginx, header write + sendfile 0.83-0.93x. */
#define PREBUILT_FILE_MIN (256 * 1024)

/* A response whose body is the len bytes at body: from a memory file
 * (so MHD can use sendfile) when it is big enough, else (or failing
 * that) copied into MHD. */
static struct MHD_Response *file_response(const void *body, size_t len)
{
    int fd = len >= PREBUILT_FILE_MIN
                 ? memfd_create("newsroom-page", MFD_CLOEXEC)
                 : -1;
    size_t done = 0;

    while (fd >= 0 && done < len) {
        ssize_t w = write(fd, (const char *)body + done, len - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            close(fd);
            fd = -1;
            break;
        }
        done += (size_t)w;
    }
    if (fd >= 0) {
        struct MHD_Response *r = MHD_create_response_from_fd64(len, fd);
        if (r)
            return r;
        close(fd);
    }
    return MHD_create_response_from_buffer(len, (void *)body,
                                           MHD_RESPMEM_MUST_COPY);
}

struct http_prebuilt *http_prebuilt_new(const char *type, const void *body,
                                        size_t len, const char *const *headers)
{
    struct http_prebuilt *p = calloc(1, sizeof *p);
    size_t i;

    if (!p)
        abort();
    p->len = len;
    p->ok = file_response(body, len);
    p->not_mod =
        MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    if (!p->ok || !p->not_mod) {
        log_error("cannot build a prebuilt response");
        http_prebuilt_free(p);
        return NULL;
    }
    if (type)
        add_header(p->ok, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    for (i = 0; headers && headers[i] && headers[i + 1]; i += 2) {
        add_header(p->ok, headers[i], headers[i + 1]);
        if (kept_on_304(headers[i]))
            add_header(p->not_mod, headers[i], headers[i + 1]);
        if (strcasecmp(headers[i], "ETag") == 0 && !p->etag)
            p->etag = strdup(headers[i + 1]);
        else if (strcasecmp(headers[i], "Last-Modified") == 0 &&
                 !p->last_modified)
            p->last_modified = strdup(headers[i + 1]);
    }
    for (i = 0; i < sizeof default_headers / sizeof default_headers[0]; i++) {
        add_header(p->ok, default_headers[i].name, default_headers[i].value);
        add_header(p->not_mod, default_headers[i].name,
                   default_headers[i].value);
    }
    return p;
}

void http_prebuilt_free(struct http_prebuilt *p)
{
    if (!p)
        return;
    if (p->ok)
        MHD_destroy_response(p->ok);
    if (p->not_mod)
        MHD_destroy_response(p->not_mod);
    free(p->etag);
    free(p->last_modified);
    free(p);
}

size_t http_prebuilt_len(const struct http_prebuilt *p)
{
    return p->len;
}

int http_resp_send_prebuilt(struct http_req *req, struct http_prebuilt *p)
{
    int not_mod = validators_match(req, p->etag, p->last_modified);
    int status = not_mod ? 304 : 200;

    if (can_send(req, 200) < 0)
        return -1;
    if (MHD_queue_response(req->conn, (unsigned)status,
                           not_mod ? p->not_mod : p->ok) != MHD_YES) {
        log_error("cannot queue response %d for '%s'", status,
                  http_log_safe(&req->arena, req->target, 200));
        return -1;
    }
    req->status = status;
    req->bytes_out = not_mod || req->method == HTTP_HEAD ? 0 : p->len;
    return status;
}

int http_resp_redirect(struct http_req *req, int status, const char *location)
{
    static const char text[] = "redirecting\n";

    if (status != 301 && status != 302 && status != 303 && status != 307 &&
        status != 308) {
        log_error("cannot redirect with status %d", status);
        return -1;
    }
    if (http_resp_header(req, "Location", location) < 0)
        return -1;
    return send_body(req, status, "text/plain; charset=utf-8", text,
                     sizeof text - 1, MHD_RESPMEM_PERSISTENT);
}

int http_error(struct http_req *req, int status, const char *message)
{
    const struct http_config *cfg = &req->srv->cfg;
    const char *text;

    if (status < 400 || status > 599)
        status = 500;
    if (!message)
        message = "error";
    if (cfg->error_page && !req->in_error_page && !req->status) {
        req->in_error_page = 1;
        cfg->error_page(req, status, message, cfg->app);
        req->in_error_page = 0;
        if (req->status)
            return req->status;
    }
    text = arena_printf(&req->arena, "%s\n", message);
    return send_body(req, status, "text/plain; charset=utf-8", text,
                     strlen(text), MHD_RESPMEM_PERSISTENT);
}
