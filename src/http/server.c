/*
 * server.c - the libmicrohttpd (MHD 0.9.75) adapter behind http.h: the
 * listening socket, MHD's callbacks, checking the request, dispatch
 * through the routes table, and the request figures (http_server_stats).
 * Responses are built in response.c.
 *
 * DESIGN
 * One request, as MHD drives it:
 *  1. uri_logged(): the request line is parsed. We make the struct
 *     http_req here (MHD hands it back as *con_cls), copy the raw target
 *     (MHD rewrites its copy in place) and start the clock.
 *  2. on_access(), first call: all headers are in. begin() checks the
 *     target length (414), header bytes (431), decodes path and query
 *     (400), finds the route (the first row matching path and method;
 *     its max_body is the body limit, BOUND_BODY_BYTES without a route)
 *     and checks a declared Content-Length against that limit (413,
 *     answered at once: MHD then drops the body and closes). Other
 *     errors are only noted.
 *  3. on_access() with upload data: body bytes, appended to a bounded
 *     buffer; past the limit they are counted, not kept (413).
 *     A bodiless GET or HEAD is not routed yet when the config has a
 *     fast hook (the page cache): dispatch() offers it to the hook first.
 *  4. on_access() with no more data: dispatch() parses a form body
 *     (urlencoded in form.c, multipart/form-data with MHD's post
 *     processor in multipart.c; 400 if malformed) and answers - a noted
 *     error, or the route's handler. Answering here, not on the first
 *     call, is what keeps keep-alive connections open (DESIGN.md,
 *     "HTTP").
 *  5. request_done(): MHD sent the response or lost the connection. The
 *     only place a request's arena (and the request) is released.
 * Requests MHD rejects by itself (request line past the connection's
 * memory, garbage) never reach step 2; MHD answers 400/414/431 itself.
 *
 * MHD's own %-unescaping is switched off (unescape_none()): its decoded
 * path is a C string, so "%00" would silently cut it short. We decode the
 * raw target ourselves (form.c) and reject what we cannot serve.
 *
 * Live streams (sse.c) are requests whose response never ends: the
 * daemon runs with MHD_ALLOW_SUSPEND_RESUME, request_done() hands a
 * finished stream back to sse.c, and http_server_stop() ends every stream
 * before MHD_stop_daemon() (which must not find a suspended connection).
 *
 * Graceful stop (http_server_drain, docs/shutdown.md): MHD tells us of
 * every connection opened and closed (MHD_OPTION_NOTIFY_CONNECTION); we
 * keep them in a list with a busy flag, set from the request line
 * (uri_logged) until request_done() (an atomic: the request path takes no
 * lock unless the server is draining). Draining quiesces the daemon and
 * closes the listening socket (new connections are refused), ends the
 * live streams, then every short while shuts down the socket of each
 * connection that is not busy (idle keep-alive, or one whose response
 * just went out), so MHD closes it. Once the list is empty, or the bound
 * has passed, MHD_stop_daemon() closes whatever is left. A connection's
 * socket is only touched under conns_lock while it is in the list, and
 * MHD reports it closed (and leaves the list) before closing the socket.
 *
 * Figures for /metrics: request_done() counts each request (status class,
 * latency bucket, bytes) into a block that belongs to the calling thread
 * and is written by it alone (relaxed atomic stores, no lock, no shared
 * cache line); a thread meets its block through a _Thread_local pointer
 * and registers it once, in the server's list, under stats_lock.
 * http_server_stats() sums the blocks. Blocks live until the server is
 * freed, so a thread that ended still counts.
 */
#include "http/http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/arena.h"
#include "core/bounds.h"
#include "core/buf.h"
#include "core/log.h"
#include "http/http_internal.h"

/* Bytes of body MHD may deliver past the limit before we hang up instead
 * of reading on to answer 413 (only chunked bodies get that far). */
#define DISCARD_SLACK (3 * (size_t)BOUND_BODY_BYTES)

/* File descriptors kept back from the connection limit for everything
 * else: the database, media files, epoll and eventfds, logs. */
#define FD_RESERVE 256

/* Fewest connections we start with, whatever RLIMIT_NOFILE says. */
#define MIN_CONNECTIONS 64

const double http_stats_le[HTTP_STATS_BUCKETS - 1] = {
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5,
};

/* http_stats_le in microseconds, for the request path. */
static const uint64_t bucket_us[HTTP_STATS_BUCKETS - 1] = {
    500,    1000,   2500,   5000,    10000,   25000,   50000,
    100000, 250000, 500000, 1000000, 2500000, 5000000,
};

/* Gives each server its id (a freed server's address may come back). */
static atomic_uint_fast64_t next_server_id = 1;

/* The calling thread's block, and the id of the server it belongs to. */
static _Thread_local struct stat_block *my_block;
static _Thread_local uint64_t my_block_srv;

static const struct {
    const char *name;
    enum http_method method;
} methods[] = {
    {"GET", HTTP_GET},         {"HEAD", HTTP_HEAD},     {"POST", HTTP_POST},
    {"PUT", HTTP_PUT},         {"DELETE", HTTP_DELETE}, {"PATCH", HTTP_PATCH},
    {"OPTIONS", HTTP_OPTIONS},
};

/* ---- small helpers ---- */

static enum http_method method_from_name(const char *name)
{
    size_t i;

    for (i = 0; i < sizeof methods / sizeof methods[0]; i++)
        if (strcmp(name, methods[i].name) == 0)
            return methods[i].method;
    return 0;
}

/* Notes the first error found before dispatch; dispatch() answers it. */
static void reject(struct http_req *req, int status, const char *msg)
{
    if (req->reject)
        return;
    req->reject = status;
    req->reject_msg = msg;
}

/* "GET, HEAD, POST" for the method bits in allowed. */
static const char *allow_list(struct http_req *req, unsigned allowed)
{
    char list[80];
    size_t i, n = 0;

    list[0] = '\0';
    for (i = 0; i < sizeof methods / sizeof methods[0]; i++) {
        if (!(allowed & methods[i].method))
            continue;
        n += (size_t)snprintf(list + n, sizeof list - n, "%s%s", n ? ", " : "",
                              methods[i].name);
    }
    return arena_strdup(&req->arena, list);
}

char *http_log_safe(struct arena *a, const char *s, size_t max)
{
    size_t i, n = strlen(s);
    char *d;

    if (n > max)
        n = max;
    d = arena_strndup(a, s, n);
    for (i = 0; i < n; i++)
        if ((unsigned char)d[i] < 0x20 || d[i] == 0x7f)
            d[i] = '?';
    return d;
}

/* ---- request lifecycle (MHD callbacks) ---- */

/* The request lives in its own arena (the first thing allocated there),
 * so a request costs no allocation beyond its arena's one block - which
 * the thread reuses (arena.c). */
static struct http_req *req_new(struct http_server *srv, const char *uri)
{
    struct arena a;
    struct http_req *req;

    arena_init(&a);
    req = arena_zalloc(&a, sizeof *req);
    req->arena = a;
    req->srv = srv;
    req->target_len = strlen(uri);
    req->target = arena_strndup(&req->arena, uri, req->target_len);
    req->hdrs_tail = &req->hdrs;
    req->max_body = BOUND_BODY_BYTES;
    buf_init(&req->body, req->max_body);
    clock_gettime(CLOCK_MONOTONIC, &req->t0);
    return req;
}

static void req_free(struct http_req *req)
{
    struct arena a = req->arena; /* req itself goes with the arena */

    buf_release(&req->body);
    arena_release(&a);
}

/* Marks conn's entry in the server's list busy (1) or idle (0); an idle
 * connection of a draining server is shut down (MHD then closes it). */
static void conn_busy(struct http_server *srv, struct MHD_Connection *conn,
                      int busy)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    struct http_conn *c = ci ? ci->socket_context : NULL;

    if (!c)
        return;
    /* no lock on the request path: the drain reads busy after it set
     * draining, and we read draining after we cleared busy, so one of
     * the two sees the other (sequentially consistent atomics) */
    atomic_store(&c->busy, busy);
    if (busy || !atomic_load(&srv->draining))
        return;
    pthread_mutex_lock(&srv->conns_lock);
    if (!c->closing) {
        c->closing = 1;
        shutdown(c->fd, SHUT_RDWR);
    }
    pthread_mutex_unlock(&srv->conns_lock);
}

/* MHD_OPTION_NOTIFY_CONNECTION: keeps the list of open connections. */
static void conn_notify(void *cls, struct MHD_Connection *conn,
                        void **socket_context,
                        enum MHD_ConnectionNotificationCode toe)
{
    struct http_server *srv = cls;
    struct http_conn *c = *socket_context;
    const union MHD_ConnectionInfo *ci;

    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        c = calloc(1, sizeof *c);
        if (!c) {
            fputs("out of memory\n", stderr);
            abort();
        }
        c->fd = ci ? ci->connect_fd : -1;
        pthread_mutex_lock(&srv->conns_lock);
        c->next = srv->conns;
        if (srv->conns)
            srv->conns->prev = c;
        srv->conns = c;
        /* accepted just before the listener closed: nothing to finish */
        if (atomic_load(&srv->draining) && c->fd >= 0) {
            c->closing = 1;
            shutdown(c->fd, SHUT_RDWR);
        }
        pthread_mutex_unlock(&srv->conns_lock);
        *socket_context = c;
        return;
    }
    if (!c)
        return;
    pthread_mutex_lock(&srv->conns_lock);
    if (c->prev)
        c->prev->next = c->next;
    else
        srv->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    pthread_mutex_unlock(&srv->conns_lock);
    *socket_context = NULL;
    free(c);
}

/* MHD_OPTION_URI_LOG_CALLBACK: the raw target, before MHD touches it. */
static void *uri_logged(void *cls, const char *uri, struct MHD_Connection *conn)
{
    conn_busy(cls, conn, 1);
    return req_new(cls, uri);
}

/* MHD_OPTION_UNESCAPE_CALLBACK: leave MHD's copy alone (see DESIGN). */
static size_t unescape_none(void *cls, struct MHD_Connection *conn, char *s)
{
    (void)cls;
    (void)conn;
    return strlen(s);
}

static enum MHD_Result add_header_bytes(void *cls, enum MHD_ValueKind kind,
                                        const char *key, const char *value)
{
    size_t *total = cls;

    (void)kind;
    *total += strlen(key) + (value ? strlen(value) : 0) + 4; /* ": \r\n" */
    return MHD_YES;
}

/* Notes the first problem with the target or the headers (414, 431,
 * 400); dispatch() answers it once the request is complete. */
static void check_request(struct http_req *req)
{
    struct arena *a = &req->arena;
    size_t header_bytes = 0, path_len;
    const char *q, *msg;
    long n;

    MHD_get_connection_values(req->conn, MHD_HEADER_KIND, add_header_bytes,
                              &header_bytes);
    if (req->target_len > BOUND_URL_LEN) {
        reject(req, 414,
               arena_printf(a, "request target is longer than %d bytes",
                            BOUND_URL_LEN));
        return;
    }
    if (header_bytes > BOUND_HEADER_BYTES) {
        reject(req, 431,
               arena_printf(a, "request headers are larger than %d bytes",
                            BOUND_HEADER_BYTES));
        return;
    }
    q = memchr(req->target, '?', req->target_len);
    path_len = q ? (size_t)(q - req->target) : req->target_len;
    msg = http_path_decode(a, req->target, path_len, &req->path);
    if (msg) {
        reject(req, 400, msg);
        return;
    }
    if (!q)
        return;
    req->query = arena_alloc(a, BOUND_QUERY_PARAMS * sizeof *req->query);
    n = http_urlencoded_parse(a, q + 1, req->target_len - path_len - 1,
                              req->query, BOUND_QUERY_PARAMS, 1);
    if (n < 0)
        reject(req, 400, "query string contains a NUL byte");
    else
        req->nquery = (size_t)n;
}

/* Finds the first route whose pattern matches the decoded path and whose
 * methods include the request's (GET brings HEAD); fills req->route,
 * req->params and req->allowed (the methods of every matching pattern).
 * No route for a rejected path. */
static void find_route(struct http_req *req)
{
    const struct http_config *cfg = &req->srv->cfg;
    struct http_capture caps[HTTP_MAX_PARAMS];
    size_t i, j, ncaps = 0;

    if (!req->path)
        return;
    for (i = 0; i < cfg->nroutes; i++) {
        const struct http_route *r = &cfg->routes[i];
        unsigned m =
            r->methods & HTTP_GET ? r->methods | HTTP_HEAD : r->methods;

        if (!http_route_match(r->pattern, req->path, caps, &ncaps))
            continue;
        req->allowed |= m;
        if (req->route || !(m & req->method))
            continue;
        req->route = r;
        for (j = 0; j < ncaps; j++) {
            req->params[j].key =
                arena_strndup(&req->arena, caps[j].name, caps[j].name_len);
            req->params[j].val =
                arena_strndup(&req->arena, caps[j].val, caps[j].len);
        }
        req->nparams = ncaps;
    }
}

/* The 413 message for the request's body limit. */
static const char *too_large(struct http_req *req)
{
    const size_t mb = 1024 * 1024;

    if (req->max_body > BOUND_BODY_BYTES && req->max_body % mb == 0)
        return arena_printf(&req->arena, "upload is larger than %zu MB",
                            req->max_body / mb);
    return arena_printf(&req->arena, "request body is larger than %zu bytes",
                        req->max_body);
}

/* 1 if the request announces a body (Content-Length above 0, or any
 * Transfer-Encoding). */
static int has_body(struct MHD_Connection *conn)
{
    const char *cl = MHD_lookup_connection_value(
        conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);

    return (cl && strcmp(cl, "0") != 0) ||
           MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                       MHD_HTTP_HEADER_TRANSFER_ENCODING);
}

/* What framing() learns from the header fields. */
struct framing {
    unsigned n_cl, n_te; /* Content-Length / Transfer-Encoding fields */
    const char *cl, *te; /* the first value of each */
    int cl_differ;       /* two Content-Length values that differ */
    int bad_name;        /* a field name that is not a token */
    int folded;          /* a framing field folded onto the next line */
};

static enum MHD_Result framing_field(void *cls, enum MHD_ValueKind kind,
                                     const char *key, const char *value)
{
    struct framing *f = cls;

    (void)kind;
    if (!value)
        value = "";
    for (const char *p = key; *p; p++)
        if ((unsigned char)*p <= ' ' || strchr("\"(),/:;<=>?@[\\]{}", *p) ||
            (unsigned char)*p >= 0x7f)
            f->bad_name = 1;
    if (strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH) == 0) {
        if (f->n_cl++ == 0)
            f->cl = value;
        else if (strcmp(f->cl, value) != 0)
            f->cl_differ = 1;
    } else if (strcasecmp(key, MHD_HTTP_HEADER_TRANSFER_ENCODING) == 0) {
        if (f->n_te++ == 0)
            f->te = value;
    } else if (strncasecmp(key, MHD_HTTP_HEADER_TRANSFER_ENCODING, 17) == 0 ||
               strncasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH, 14) == 0) {
        /* MHD 0.9.75 joins an obs-fold continuation of an empty field
         * to its name: "Transfer-Encoding:\r\n chunked" arrives as
         * "Transfer-Encodingchunked" with an empty value */
        f->folded = 1;
    }
    return MHD_YES;
}

/* A message two HTTP parsers could frame differently - the seed of
 * request smuggling through a proxy - is refused before its body is read
 * (RFC 9112 5.1, 5.2, 6.1, 6.3): a field name that is not a token (e.g.
 * "Transfer-Encoding : chunked"), a framing field folded onto the next
 * line (obs-fold), both Content-Length and
 * Transfer-Encoding, Content-Length values that differ, more than one
 * Transfer-Encoding field, or a transfer coding other than "chunked"
 * (501). Answered at once, so MHD closes the connection after it. NULL,
 * or the message, with *status. */
static const char *framing(struct MHD_Connection *conn, int *status)
{
    struct framing f = {0};

    MHD_get_connection_values(conn, MHD_HEADER_KIND, framing_field, &f);
    *status = 400;
    if (f.bad_name)
        return "a header name contains a space or another character "
               "that is not allowed";
    if (f.folded)
        return "a Content-Length or Transfer-Encoding header is folded "
               "onto the next line (obs-fold); send it on one line";
    if (f.n_te && f.n_cl)
        return "a request may not have both Content-Length and "
               "Transfer-Encoding";
    if (f.cl_differ)
        return "the request has Content-Length values that differ";
    if (f.n_te > 1)
        return "the request has more than one Transfer-Encoding";
    if (f.n_te) {
        const char *v = f.te;
        size_t n;
        while (*v == ' ' || *v == '\t')
            v++;
        n = strlen(v);
        while (n && (v[n - 1] == ' ' || v[n - 1] == '\t'))
            n--;
        if (n != 7 || strncasecmp(v, "chunked", 7) != 0) {
            *status = 501;
            return "the only transfer coding accepted is chunked";
        }
    }
    return NULL;
}

/* First access call: the headers are complete. A declared body over the
 * route's limit is answered now (MHD then discards the body and closes);
 * other problems wait for dispatch(). 0, or -1 to hang up. */
static int begin(struct http_req *req, struct MHD_Connection *conn,
                 const char *method)
{
    const char *cl, *msg;
    int status;

    req->conn = conn;
    req->method_name = arena_strdup(&req->arena, method);
    req->method = method_from_name(method);
    msg = framing(conn, &status);
    if (msg)
        return http_error(req, status, msg) < 0 ? -1 : 0;
    check_request(req);
    /* a bodiless GET or HEAD first meets cfg->fast in dispatch(); it is
     * routed only if that does not answer */
    req->fast = req->srv->cfg.fast && !req->reject &&
                (req->method & (HTTP_GET | HTTP_HEAD)) && !has_body(conn);
    if (!req->fast)
        find_route(req);
    if (req->route && req->route->max_body) {
        req->max_body = req->route->max_body;
        buf_init(&req->body, req->max_body); /* nothing received yet */
    }
    cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                     MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (cl && strtoull(cl, NULL, 10) > req->max_body)
        return http_error(req, 413, too_large(req)) < 0 ? -1 : 0;
    return 0;
}

/* Upload data: keep up to the limit, count the rest. 0, or -1 to hang
 * up on a client that keeps sending far past it. */
static int take_body(struct http_req *req, const char *data, size_t n)
{
    req->body_seen += n;
    if (req->reject || req->body.overflow)
        return req->body_seen > req->max_body + DISCARD_SLACK ? -1 : 0;
    if (buf_add(&req->body, data, n) < 0)
        reject(req, 413, too_large(req));
    return 0;
}

/* 1 if the Content-Type type is the media type want (any case), with or
 * without parameters. */
static int type_is(const char *type, const char *want)
{
    size_t n = strlen(want);

    return type && strncasecmp(type, want, n) == 0 &&
           (type[n] == '\0' || type[n] == ';' || type[n] == ' ' ||
            type[n] == '\t');
}

/* Parses a form body (application/x-www-form-urlencoded or
 * multipart/form-data) into req->form and req->files. NULL, or a message
 * for a 400. */
static const char *parse_form(struct http_req *req)
{
    const char *type = http_req_header(req, MHD_HTTP_HEADER_CONTENT_TYPE);
    const char *body = req->body.data ? req->body.data : "";
    long n;

    if (type_is(type, "multipart/form-data")) {
        req->form =
            arena_alloc(&req->arena, BOUND_FORM_FIELDS * sizeof *req->form);
        req->files =
            arena_alloc(&req->arena, BOUND_FORM_FIELDS * sizeof *req->files);
        return http_multipart_parse(
            &req->arena, req->conn, type, body, req->body.len, req->form,
            &req->nform, req->files, &req->nfiles, BOUND_FORM_FIELDS);
    }
    if (!type_is(type, "application/x-www-form-urlencoded"))
        return NULL;
    req->form = arena_alloc(&req->arena, BOUND_FORM_FIELDS * sizeof *req->form);
    n = http_urlencoded_parse(&req->arena, body, req->body.len, req->form,
                              BOUND_FORM_FIELDS, 0);
    if (n < 0)
        return "form data contains a NUL byte or is not valid UTF-8";
    req->nform = (size_t)n;
    return NULL;
}

static void call_handler(struct http_req *req, http_handler_fn fn)
{
    http_handler_fn gate = req->srv->cfg.gate;
    int rc;

    if (gate && gate(req, req->srv->cfg.app) != 0 && req->status)
        return;
    rc = fn(req, req->srv->cfg.app);
    if (req->status)
        return;
    if (rc >= 0)
        log_error("handler for '%s' returned %d without sending a response",
                  http_log_safe(&req->arena, req->target, 200), rc);
    http_error(req, 500, "internal server error");
}

/* Last access call: the request is complete; answer it. */
static void dispatch(struct http_req *req)
{
    const struct http_config *cfg = &req->srv->cfg;
    unsigned allowed = req->allowed;
    const char *msg;

    if (req->reject) {
        http_error(req, req->reject, req->reject_msg);
        return;
    }
    if (req->fast) {
        cfg->fast(req, cfg->app);
        if (req->status)
            return;
        find_route(req);
        allowed = req->allowed;
    }
    msg = parse_form(req);
    if (msg) {
        http_error(req, 400, msg);
        return;
    }
    if (req->route) {
        call_handler(req, req->route->fn);
        return;
    }
    if (allowed)
        http_resp_header(req, "Allow", allow_list(req, allowed | HTTP_OPTIONS));
    if (!req->method) {
        http_error(
            req, 501,
            arena_printf(&req->arena, "method '%s' is not supported",
                         http_log_safe(&req->arena, req->method_name, 32)));
    } else if (!allowed) {
        if (cfg->not_found)
            call_handler(req, cfg->not_found);
        else
            http_error(req, 404, "not found");
    } else if (req->method == HTTP_OPTIONS) {
        http_resp_send_static(req, 204, NULL, "", 0);
    } else {
        http_error(req, 405,
                   arena_printf(&req->arena, "method %s is not allowed here",
                                req->method_name));
    }
}

static enum MHD_Result on_access(void *cls, struct MHD_Connection *conn,
                                 const char *url, const char *method,
                                 const char *version, const char *upload,
                                 size_t *upload_size, void **con_cls)
{
    struct http_req *req = *con_cls;

    (void)version;
    if (!req) { /* no URI log call for this request: should not happen */
        req = req_new(cls, url);
        *con_cls = req;
    }
    if (!req->conn)
        return begin(req, conn, method) < 0 ? MHD_NO : MHD_YES;
    if (*upload_size) {
        int rc = take_body(req, upload, *upload_size);

        *upload_size = 0;
        return rc < 0 ? MHD_NO : MHD_YES;
    }
    if (!req->status)
        dispatch(req);
    return req->status > 0 ? MHD_YES : MHD_NO;
}

/* ---- figures ---- */

/* Adds n to a counter only the calling thread writes: a plain load and
 * store, no locked instruction. */
static void bump(_Atomic uint64_t *c, uint64_t n)
{
    atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + n,
                          memory_order_relaxed);
}

/* The calling thread's block for srv, registered on first use. */
static struct stat_block *thread_block(struct http_server *srv)
{
    struct stat_block *b;

    if (my_block && my_block_srv == srv->id)
        return my_block;
    b = aligned_alloc(64, (sizeof *b + 63) / 64 * 64);
    if (!b) {
        fputs("out of memory\n", stderr);
        abort();
    }
    memset(b, 0, sizeof *b);
    pthread_mutex_lock(&srv->stats_lock);
    b->next = srv->stats;
    srv->stats = b;
    pthread_mutex_unlock(&srv->stats_lock);
    my_block = b;
    my_block_srv = srv->id;
    return b;
}

/* Counts a finished request that took us microseconds. */
static void count_request(struct http_server *srv, const struct http_req *req,
                          long long us)
{
    struct stat_block *b;
    size_t i = 0;

    if (req->status < 100 || req->status > 599)
        return; /* never answered */
    b = thread_block(srv);
    bump(&b->requests[req->status / 100 - 1], 1);
    bump(&b->bytes_out, req->bytes_out);
    if (req->sse)
        return; /* a stream's duration is not latency */
    if (us < 0)
        us = 0;
    while (i < HTTP_STATS_BUCKETS - 1 && (uint64_t)us > bucket_us[i])
        i++;
    bump(&b->buckets[i], 1);
    bump(&b->sum_us, (uint64_t)us);
}

void http_server_stats(struct http_server *srv, struct http_stats *out)
{
    const union MHD_DaemonInfo *di;
    const struct stat_block *b;
    uint64_t sum_us = 0;
    size_t i;

    memset(out, 0, sizeof *out);
    pthread_mutex_lock(&srv->stats_lock);
    for (b = srv->stats; b; b = b->next) {
        for (i = 0; i < 5; i++)
            out->requests[i] +=
                atomic_load_explicit(&b->requests[i], memory_order_relaxed);
        for (i = 0; i < HTTP_STATS_BUCKETS; i++)
            out->buckets[i] +=
                atomic_load_explicit(&b->buckets[i], memory_order_relaxed);
        sum_us += atomic_load_explicit(&b->sum_us, memory_order_relaxed);
        out->bytes_out +=
            atomic_load_explicit(&b->bytes_out, memory_order_relaxed);
    }
    /* MHD sums its workers' counts into one field: not for two callers */
    di = MHD_get_daemon_info(srv->daemon, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
    out->connections = di ? (long)di->num_connections : -1;
    pthread_mutex_unlock(&srv->stats_lock);
    for (i = 1; i < HTTP_STATS_BUCKETS; i++)
        out->buckets[i] += out->buckets[i - 1];
    out->count = out->buckets[HTTP_STATS_BUCKETS - 1];
    out->sum_s = (double)sum_us / 1e6;
    out->sse_streams = atomic_load(&srv->sse_open);
}

/* MHD_OPTION_NOTIFY_COMPLETED: the one place a request is released. */
static void request_done(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct http_server *srv = cls;
    struct http_req *req = *con_cls;
    struct timespec t1;
    long long us;

    (void)toe;
    if (!req)
        return;
    *con_cls = NULL;
    if (req->sse) {
        req->bytes_out = (size_t)http_sse_stream_done(req->sse);
        atomic_fetch_sub(&srv->sse_open, 1);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    us = (long long)(t1.tv_sec - req->t0.tv_sec) * 1000000 +
         (t1.tv_nsec - req->t0.tv_nsec) / 1000;
    count_request(srv, req, us);
    if (srv->cfg.access_log) {
        log_info("%s %s %d %zu %lld",
                 req->method_name
                     ? http_log_safe(&req->arena, req->method_name, 32)
                     : "-",
                 http_log_safe(&req->arena, req->target, 512), req->status,
                 req->bytes_out, us);
    }
    req_free(req);
    conn_busy(srv, conn, 0);
}

/* MHD_OPTION_EXTERNAL_LOGGER: MHD's diagnostics into our log. What a
 * client did wrong is debug noise (the access log shows it); the rest
 * (limits reached, accept/thread/socket failures) is for operators.
 * "error generating" is sse.c ending a live stream whose client hung up
 * or fell behind (it logs the latter itself). */
__attribute__((format(printf, 2, 0))) static void
mhd_log(void *cls, const char *fmt, va_list ap)
{
    static const char *const client_faults[] = {
        "Error processing request",
        "closed by remote",
        "Failed to parse",
        "Not enough memory in pool",
        "reset",
        "timed out",
        "timeout",
        "error generating",
    };
    enum log_level level = LOG_WARN;
    char line[512];
    size_t i, n;

    (void)cls;
    vsnprintf(line, sizeof line, fmt, ap);
    n = strlen(line);
    while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        line[--n] = '\0';
    for (i = 0; i < sizeof client_faults / sizeof client_faults[0]; i++)
        if (strstr(line, client_faults[i]))
            level = LOG_DEBUG;
    log_msg(level, "http: %s", line);
}

/* ---- request accessors ---- */

/* ---- the server ---- */

static void set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (!err || !errlen)
        return;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* Splits "host:port", "[v6]:port" or ":port" into host ("" = any) and
 * port. 0 or -1. */
static int split_listen(const char *spec, char *host, size_t hostlen,
                        char *port, size_t portlen)
{
    const char *h = spec, *hend, *p;
    size_t i;

    if (spec[0] == '[') {
        h = spec + 1;
        hend = strchr(h, ']');
        if (!hend || hend[1] != ':')
            return -1;
        p = hend + 2;
    } else {
        hend = strrchr(spec, ':');
        if (!hend || memchr(spec, ':', (size_t)(hend - spec)))
            return -1;
        p = hend + 1;
    }
    if ((size_t)(hend - h) >= hostlen || !*p || strlen(p) >= portlen)
        return -1;
    for (i = 0; p[i]; i++)
        if (p[i] < '0' || p[i] > '9')
            return -1;
    if (strtoul(p, NULL, 10) > 65535)
        return -1;
    memcpy(host, h, (size_t)(hend - h));
    host[hend - h] = '\0';
    memcpy(port, p, strlen(p) + 1);
    return 0;
}

/* Binds and listens on one address; the socket, or -1 with errno. */
static int listen_on(const struct addrinfo *ai, int dual_stack)
{
    int fd, one = 1, zero = 0, saved;

    fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
                ai->ai_protocol);
    if (fd < 0)
        return -1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (dual_stack)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 &&
        listen(fd, SOMAXCONN) == 0)
        return fd;
    saved = errno;
    close(fd);
    errno = saved;
    return -1;
}

/* The listening socket for spec, its port in *port; -1 with err set. */
static int open_listener(const char *spec, unsigned *port, char *err,
                         size_t errlen)
{
    struct addrinfo hints, *res = NULL, *ai;
    struct sockaddr_storage ss;
    socklen_t sslen = sizeof ss;
    char host[256], portstr[8];
    int fd = -1, rc, pass, any, last_errno = EADDRNOTAVAIL;

    if (split_listen(spec, host, sizeof host, portstr, sizeof portstr) < 0) {
        set_err(err, errlen,
                "cannot listen on '%s': expected HOST:PORT, "
                "[IPV6]:PORT or :PORT",
                spec);
        goto out;
    }
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    any = host[0] == '\0';
    rc = getaddrinfo(any ? NULL : host, portstr, &hints, &res);
    if (rc != 0) {
        set_err(err, errlen, "cannot listen on '%s': %s", spec,
                gai_strerror(rc));
        goto out;
    }
    /* For ":port" try one dual-stack IPv6 socket first, then IPv4. */
    for (pass = any ? 0 : 1; pass < 2 && fd < 0; pass++) {
        for (ai = res; ai && fd < 0; ai = ai->ai_next) {
            if (pass == 0 && ai->ai_family != AF_INET6)
                continue;
            fd = listen_on(ai, pass == 0);
            if (fd < 0)
                last_errno = errno;
        }
    }
    if (fd < 0) {
        set_err(err, errlen, "cannot listen on '%s': %s", spec,
                strerror(last_errno));
        goto out;
    }
    *port = 0;
    if (getsockname(fd, (struct sockaddr *)&ss, &sslen) == 0)
        *port = ntohs(ss.ss_family == AF_INET6
                          ? ((struct sockaddr_in6 *)&ss)->sin6_port
                          : ((struct sockaddr_in *)&ss)->sin_port);
out:
    if (res)
        freeaddrinfo(res);
    return fd;
}

/* How many connections to hold: BOUND_CONNECTIONS, or fewer when the
 * descriptor limit is lower. Raises the soft RLIMIT_NOFILE to the hard
 * limit first; every connection costs one descriptor. */
static unsigned connection_limit(void)
{
    struct rlimit rl;
    unsigned long long fds;
    unsigned limit = BOUND_CONNECTIONS;

    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) {
        log_warn("cannot read the file descriptor limit: %s", strerror(errno));
        return limit;
    }
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < rl.rlim_max) {
        rlim_t was = rl.rlim_cur;

        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
            log_warn("cannot raise the file descriptor limit to %llu: %s",
                     (unsigned long long)rl.rlim_max, strerror(errno));
            rl.rlim_cur = was;
        }
    }
    fds =
        rl.rlim_cur == RLIM_INFINITY ? ~0ULL : (unsigned long long)rl.rlim_cur;
    if (fds < (unsigned long long)limit + FD_RESERVE)
        limit = fds > MIN_CONNECTIONS + FD_RESERVE
                    ? (unsigned)(fds - FD_RESERVE)
                    : MIN_CONNECTIONS;
    log_info("http: up to %u connections (file descriptor limit %llu)", limit,
             fds);
    return limit;
}

struct http_server *http_server_start(const struct http_config *cfg, char *err,
                                      size_t errlen)
{
    struct http_server *srv = NULL;
    unsigned flags, threads, conns, per_ip, timeout;
    unsigned port = 0;
    int fd = -1;
    long cores;

    set_err(err, errlen, "%s", "");
    if (!cfg || !cfg->listen) {
        set_err(err, errlen, "cannot start http server: no listen address");
        goto out;
    }
    signal(SIGPIPE, SIG_IGN);
    fd = open_listener(cfg->listen, &port, err, errlen);
    if (fd < 0)
        goto out;
    threads = cfg->threads;
    if (!threads) {
        cores = sysconf(_SC_NPROCESSORS_ONLN);
        threads = cores > 0 ? (unsigned)cores : 1;
    }
    if (threads > 256)
        threads = 256;
    srv = calloc(1, sizeof *srv);
    if (!srv) {
        fputs("out of memory\n", stderr);
        abort();
    }
    srv->cfg = *cfg;
    srv->port = port;
    srv->sse = http_sse_srv_new();
    srv->id = atomic_fetch_add(&next_server_id, 1);
    pthread_mutex_init(&srv->stats_lock, NULL);
    pthread_mutex_init(&srv->conns_lock, NULL);
    atomic_init(&srv->sse_open, 0);
    atomic_init(&srv->draining, 0);
    conns = connection_limit();
    per_ip =
        BOUND_CONNECTIONS_PER_IP < conns ? BOUND_CONNECTIONS_PER_IP : conns;
    timeout = cfg->conn_timeout_s ? cfg->conn_timeout_s
                                  : (unsigned)BOUND_CONN_TIMEOUT_S;
    /* suspend/resume: idle live streams hold no thread (sse.c) */
    flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG |
            MHD_ALLOW_SUSPEND_RESUME;
    flags |= MHD_is_feature_supported(MHD_FEATURE_EPOLL) == MHD_YES
                 ? MHD_USE_EPOLL
                 : MHD_USE_POLL;
    srv->daemon = MHD_start_daemon(
        flags, 0, NULL, NULL, on_access, srv, MHD_OPTION_EXTERNAL_LOGGER,
        mhd_log, srv, MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_THREAD_POOL_SIZE,
        threads, MHD_OPTION_CONNECTION_TIMEOUT, timeout,
        MHD_OPTION_CONNECTION_LIMIT, conns, MHD_OPTION_PER_IP_CONNECTION_LIMIT,
        per_ip, MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)BOUND_CONN_MEMORY,
        MHD_OPTION_URI_LOG_CALLBACK, uri_logged, srv,
        MHD_OPTION_NOTIFY_COMPLETED, request_done, srv,
        MHD_OPTION_NOTIFY_CONNECTION, conn_notify, srv,
        MHD_OPTION_UNESCAPE_CALLBACK, unescape_none, NULL,
        /* SIGPIPE is ignored above: MHD may use sendfile() */
        MHD_OPTION_SIGPIPE_HANDLED_BY_APP, 1, MHD_OPTION_END);
    if (!srv->daemon) {
        set_err(err, errlen, "cannot start http server on '%s'", cfg->listen);
        close(fd);
        http_sse_srv_free(srv->sse);
        pthread_mutex_destroy(&srv->stats_lock);
        pthread_mutex_destroy(&srv->conns_lock);
        free(srv);
        srv = NULL;
    }
out:
    return srv;
}

unsigned http_server_port(const struct http_server *srv)
{
    return srv->port;
}

void http_server_stop(struct http_server *srv)
{
    if (!srv)
        return;
    http_sse_srv_stop(srv->sse);  /* MHD may not stop a suspended stream */
    MHD_stop_daemon(srv->daemon); /* also closes the listening socket */
    http_sse_srv_free(srv->sse);
    while (srv->stats) {
        struct stat_block *b = srv->stats;

        srv->stats = b->next;
        free(b);
    }
    pthread_mutex_destroy(&srv->stats_lock);
    pthread_mutex_destroy(&srv->conns_lock);
    free(srv);
}

/* Shuts down the idle connections of a draining srv; *open gets how many
 * connections remain, *busy how many of them have a request in flight. */
static void close_idle(struct http_server *srv, unsigned *open, unsigned *busy)
{
    *open = *busy = 0;
    pthread_mutex_lock(&srv->conns_lock);
    for (struct http_conn *c = srv->conns; c; c = c->next) {
        (*open)++;
        if (atomic_load(&c->busy)) {
            (*busy)++;
        } else if (!c->closing && c->fd >= 0) {
            c->closing = 1;
            shutdown(c->fd, SHUT_RDWR);
        }
    }
    pthread_mutex_unlock(&srv->conns_lock);
}

unsigned http_server_drain(struct http_server *srv, unsigned drain_s)
{
    const struct timespec pause = {0, 20 * 1000000L}; /* 20 ms */
    struct timespec t0, t;
    unsigned open = 0, busy = 0, first_busy;
    long long ms = 0;
    MHD_socket lfd;

    if (!srv)
        return 0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    /* stop accepting: MHD hands the listening socket back; closing it
     * makes new connections fail at once instead of queueing */
    lfd = MHD_quiesce_daemon(srv->daemon);
    if (lfd != MHD_INVALID_SOCKET)
        close(lfd);
    else
        log_warn("cannot stop accepting connections: closing them all");
    atomic_store(&srv->draining, 1);
    http_sse_srv_stop(srv->sse); /* live streams end now, not at the bound */
    close_idle(srv, &open, &first_busy);
    while (open > 0) {
        nanosleep(&pause, NULL);
        close_idle(srv, &open, &busy);
        clock_gettime(CLOCK_MONOTONIC, &t);
        ms = (long long)(t.tv_sec - t0.tv_sec) * 1000 +
             (t.tv_nsec - t0.tv_nsec) / 1000000;
        if (ms >= (long long)drain_s * 1000)
            break;
    }
    if (open > 0)
        log_warn("http: stopped after %u s with %u request%s still in "
                 "flight: cut",
                 drain_s, busy, busy == 1 ? "" : "s");
    else
        log_info("http: stopped in %lld ms, %u request%s in flight finished",
                 ms, first_busy, first_busy == 1 ? "" : "s");
    http_server_stop(srv);
    return open > 0 ? busy : 0;
}
