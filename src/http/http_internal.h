/*
 * http_internal.h - pieces of src/http shared between its files and its
 * unit test: decoding what the client sent (form.c, multipart.c), route
 * matching (route.c), conditional-request checks (cond.c), and the seam between
 * the MHD adapter (server.c), building responses (response.c) and live
 * streams (sse.c), and the request and server structs they share. Nothing
 * outside src/http includes this; web/ uses http.h.
 */
#ifndef HTTP_HTTP_INTERNAL_H
#define HTTP_HTTP_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "core/arena.h"
#include "core/buf.h"
#include "http/http.h"

struct arena;
struct http_config;
struct http_file;
struct http_req;
struct http_sse_srv;    /* a server's live streams (sse.c) */
struct http_sse_stream; /* one live stream (sse.c) */
struct MHD_Connection;
struct MHD_Response;

#define HTTP_MAX_PARAMS 8 /* route captures in one pattern */

/* One decoded name=value pair of a query string or form body. */
struct http_kv {
    const char *key; /* decoded, NUL-terminated, in the request arena */
    const char *val; /* decoded; "" for "key" without '=' */
};

/* One route capture: slices of the pattern and of the path. */
struct http_capture {
    const char *name; /* capture name in the pattern ("slug", "*") */
    size_t name_len;  /* bytes of name */
    const char *val;  /* start of the captured text in the path */
    size_t len;       /* bytes captured */
};

/*
 * Decodes the path part of a request target (the n bytes of raw up to
 * its '?'): %XX escapes are decoded, '+' stays '+'. On success stores the
 * decoded, NUL-terminated path (from arena a) in *out and returns NULL;
 * otherwise returns a message for a 400 ("path contains a NUL byte").
 */
const char *http_path_decode(struct arena *a, const char *raw, size_t n,
                             char **out);

/*
 * Parses n bytes of application/x-www-form-urlencoded text (a query
 * string or a form body) into at most max pairs at kv, decoding %XX and
 * '+'; a '%' not followed by two hex digits stays as it is. Empty pieces
 * ("a=1&&b=2") are skipped; pairs past max are dropped (logged). Strings
 * come from arena a. Returns the number of pairs, or -1 if a decoded
 * name or value contains a NUL byte, or is not valid UTF-8 and repair is
 * 0. With repair (query strings: a reader's mistyped or hostile address
 * should still get its page) each bad byte becomes U+FFFD instead.
 */
long http_urlencoded_parse(struct arena *a, const char *s, size_t n,
                           struct http_kv *kv, size_t max, int repair);

/*
 * Parses the n bytes at body, a multipart/form-data body (RFC 7578) that
 * came on conn with Content-Type type, using MHD's post processor (it
 * reads the Content-Type from conn itself). Text fields go to fields
 * (*nfields), files to files (*nfiles; "no file chosen" parts are left
 * out); both arrays hold max entries, and more than max parts in all is
 * an error. Strings and file bytes come from arena a. Returns NULL, or a
 * one-line message for a 400: no or bad boundary, a truncated or
 * malformed body, a part without a name, too many parts, a text field
 * with a NUL byte or invalid UTF-8.
 */
const char *http_multipart_parse(struct arena *a, struct MHD_Connection *conn,
                                 const char *type, const char *body, size_t n,
                                 struct http_kv *fields, size_t *nfields,
                                 struct http_file *files, size_t *nfiles,
                                 size_t max);

/*
 * Matches the decoded path against a route pattern (see http.h). On a
 * match fills caps (at most HTTP_MAX_PARAMS) and *ncaps and returns 1;
 * returns 0 otherwise.
 */
int http_route_match(const char *pattern, const char *path,
                     struct http_capture *caps, size_t *ncaps);

/* 1 if the If-None-Match header value matches etag by weak comparison
 * (RFC 9110 13.1.2; "*" matches any), else 0. */
int http_etag_match(const char *if_none_match, const char *etag);

/* Parses an IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT", RFC 9110
 * 5.6.7) into *t. Returns 0, or -1 if s is not one. */
int http_date_parse(const char *s, time_t *t);

/* ---- server.c, for sse.c ---- */

/* The request's MHD connection (NULL before its headers arrived). */
struct MHD_Connection *http_req_conn(const struct http_req *req);
/* The config of the server the request came to. */
const struct http_config *http_req_config(const struct http_req *req);
/* The live-stream bookkeeping of that server. */
struct http_sse_srv *http_req_sse_srv(const struct http_req *req);
/*
 * Queues resp as the request's response with status and Content-Type
 * type, after adding the headers the handler set and the default security
 * headers. resp stays the caller's to destroy (MHD keeps its own
 * reference). Returns status, or -1 (logged) if a response was already
 * sent or MHD refused it.
 */
int http_resp_queue(struct http_req *req, int status, const char *type,
                    struct MHD_Response *resp);
/* Ties a stream to the request: when the request ends, server.c calls
 * http_sse_stream_done(s). */
void http_req_set_sse(struct http_req *req, struct http_sse_stream *s);

/* ---- sse.c, for server.c ---- */

/* Bookkeeping for the live streams of one server; aborts on OOM. */
struct http_sse_srv *http_sse_srv_new(void);
/* Ends every stream of the server and refuses new ones: must run before
 * MHD_stop_daemon(), which may not meet a suspended connection. */
void http_sse_srv_stop(struct http_sse_srv *ss);
/* Frees the bookkeeping (after MHD_stop_daemon()). NULL is fine. */
void http_sse_srv_free(struct http_sse_srv *ss);
/* The request that carried s is over (MHD's request-completed callback):
 * removes s from its hub and server. Returns the body bytes sent. */
uint64_t http_sse_stream_done(struct http_sse_stream *s);

/* ---- the request and the server (server.c, response.c) ---- */

/* One thread's request figures for one server (see DESIGN). Written by
 * that thread only; read by http_server_stats(). */
struct stat_block {
    struct stat_block *next;      /* server's list (stats_lock) */
    _Atomic uint64_t requests[5]; /* by class, 1xx .. 5xx */
    _Atomic uint64_t buckets[HTTP_STATS_BUCKETS]; /* per bucket, not
                                                     cumulative */
    _Atomic uint64_t sum_us;                      /* microseconds, timed ones */
    _Atomic uint64_t bytes_out;                   /* body bytes sent */
};

/* One open connection, as the graceful stop sees it (server.c). */
struct http_conn {
    struct http_conn *prev, *next; /* the server's list (conns_lock) */
    int fd;                        /* its socket (MHD closes it) */
    atomic_int busy;               /* 1 from the request line until the
                                      request is answered or lost */
    int closing;                   /* 1 once the drain shut it down */
};

struct http_server {
    struct MHD_Daemon *daemon;  /* running daemon */
    struct http_config cfg;     /* copy of the caller's config */
    unsigned port;              /* bound TCP port */
    struct http_sse_srv *sse;   /* this server's live streams */
    uint64_t id;                /* unique in the process, never 0 */
    pthread_mutex_t stats_lock; /* guards stats (the list) */
    struct stat_block *stats;   /* every thread's block */
    atomic_uint sse_open;       /* live streams open now */
    pthread_mutex_t conns_lock; /* guards conns and each one's closing */
    struct http_conn *conns;    /* open connections (list head) or NULL */
    atomic_int draining;        /* 1 once http_server_drain began */
};

/* A response header the handler asked for, kept until the response is
 * built. */
struct resp_hdr {
    struct resp_hdr *next; /* next header in insertion order, or NULL */
    const char *name;      /* token, in the request arena */
    const char *value;     /* no control characters, in the arena */
};

struct http_req {
    struct arena arena;             /* everything below lives here */
    struct http_server *srv;        /* owning server */
    struct MHD_Connection *conn;    /* NULL until the first access call */
    const char *target;             /* raw request target, NUL-terminated */
    size_t target_len;              /* bytes of target */
    const char *method_name;        /* as sent; NULL until the first call */
    enum http_method method;        /* 0 for a method outside the enum */
    char *path;                     /* decoded path; NULL if rejected */
    struct http_kv *query;          /* decoded query arguments */
    size_t nquery;                  /* entries in query */
    struct http_kv *form;           /* decoded form fields, or NULL */
    size_t nform;                   /* entries in form */
    struct http_file *files;        /* multipart uploads, or NULL */
    size_t nfiles;                  /* entries in files */
    const struct http_route *route; /* row matching path and method, or
                                       NULL (set by begin()) */
    unsigned allowed;               /* methods of every row matching the path */
    struct http_kv params[HTTP_MAX_PARAMS]; /* route captures */
    size_t nparams;                         /* entries in params */
    size_t max_body;             /* body limit in bytes: the route's */
    struct buf body;             /* request body, at most max_body */
    size_t body_seen;            /* body bytes received, kept or not */
    int reject;                  /* status to answer instead, or 0 */
    const char *reject_msg;      /* message for reject */
    int in_error_page;           /* 1 while cfg->error_page runs */
    struct resp_hdr *hdrs;       /* response headers set so far */
    struct resp_hdr **hdrs_tail; /* where the next one goes */
    int status;                  /* status sent; 0 = nothing sent yet */
    size_t bytes_out;            /* body bytes sent (0 for HEAD, 304) */
    struct timespec t0;          /* when the request line arrived */
    const char *ip;              /* client address text, or NULL */
    struct http_sse_stream *sse; /* live stream it became, or NULL */
    int fast;                    /* 1 = cfg->fast runs before routing */
};

/* Copy of s for a log line: control bytes become '?', at most max bytes,
 * in a. server.c. */
char *http_log_safe(struct arena *a, const char *s, size_t max);

#endif
