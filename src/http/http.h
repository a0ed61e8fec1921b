/*
 * http.h - the HTTP server newsroom runs on: listening, routing, requests
 * and responses. GNU libmicrohttpd does the protocol work underneath; this
 * header is the only way in, so nothing above src/http sees microhttpd.h.
 *
 * A request flows: accept -> bounded parse (target, headers, body) ->
 * checks the layer does for every request (path decoding, size limits) ->
 * route lookup in the caller's const table -> handler -> one response.
 * The handler sends exactly one response with http_resp_send*() or
 * http_error(); everything it allocates comes from http_req_arena(), which
 * is released once, after the response went out.
 *
 * For every response the layer adds security headers (nosniff, referrer
 * policy, frame denial, a default Content-Security-Policy) unless the
 * handler set its own, and answers conditional GETs (If-None-Match,
 * If-Modified-Since) with 304 when the handler's ETag / Last-Modified
 * match. docs/http.md lists the limits and the status codes.
 *
 * Live streams (Server-Sent Events) are the one exception to "one
 * response, then done": http_resp_sse() turns a request into an open
 * text/event-stream that a hub feeds from any thread; the stream holds no
 * thread while idle. docs/live.md is the operator's page.
 */
#ifndef HTTP_HTTP_H
#define HTTP_HTTP_H

#include <stddef.h>
#include <stdint.h>

struct arena;
struct http_req;     /* one per request; lives until its response is sent */
struct http_server;  /* a listening server and its threads */
struct http_sse_hub; /* a set of open event streams */

/* Request methods, as bits so that a route can accept several. A request
 * with any other method never reaches a handler (the layer answers 501). */
enum http_method {
    HTTP_GET = 1,
    HTTP_HEAD = 2,
    HTTP_POST = 4,
    HTTP_PUT = 8,
    HTTP_DELETE = 16,
    HTTP_PATCH = 32,
    HTTP_OPTIONS = 64
};

/* A handler sends one response and returns its status (the return value
 * of http_resp_send() and friends does), or -1 if it failed before
 * sending anything: the layer then answers 500. app is cfg->app. */
typedef int (*http_handler_fn)(struct http_req *req, void *app);

/*
 * One row of the routes table. Patterns are matched against the decoded
 * path, in table order:
 *   "/"               exactly "/"
 *   "/author/:slug/"  ":name" captures one non-empty path segment
 *   "/assets/" "*"    (one string) a final '*' right after a '/' captures
 *                     the rest of the path, maybe ""
 * A route accepting HTTP_GET also answers HEAD (same headers, no body).
 * max_body is the request body the route accepts: a larger declared
 * Content-Length is answered 413 at once, a larger chunked body 413 once
 * it ended. Requests no route matches get BOUND_BODY_BYTES. Upload routes
 * use BOUND_UPLOAD_BYTES; rows with three initialisers get the default.
 */
struct http_route {
    unsigned methods;    /* OR of enum http_method */
    const char *pattern; /* see above; static string */
    http_handler_fn fn;  /* called when path and method match */
    size_t max_body;     /* bytes of request body this route accepts;
                            0 = BOUND_BODY_BYTES */
};

struct http_config {
    const char *listen; /* "127.0.0.1:8080", "[::1]:8080", ":8080" (all);
                           port 0 picks a free port */
    unsigned threads;   /* worker threads; 0 = one per online core */
    const struct http_route *routes; /* table owned by the caller; must
                                        outlive the server */
    size_t nroutes;                  /* rows in routes */
    http_handler_fn not_found;       /* renders the 404 page; NULL = plain */
    void (*error_page)(struct http_req *req, int status, const char *message,
                       void *app); /* renders a 4xx/5xx page with
                                      http_resp_send(); NULL = plain text */
    void *app;                     /* passed to every handler */
    int access_log;                /* 1 = one log_info line per request */
    unsigned conn_timeout_s;       /* idle / half-sent request timeout, seconds;
                                      0 = BOUND_CONN_TIMEOUT_S */
    unsigned sse_heartbeat_ms;     /* ": ping" interval on live streams;
                                      0 = BOUND_SSE_HEARTBEAT_S */
    unsigned sse_max_streams;      /* open streams per hub before 503;
                                      0 = BOUND_SSE_STREAMS */
    http_handler_fn fast;          /* runs first for every GET or HEAD without
                                      a body, before routing and the gate
                                      (the page cache): returns 0 to go on,
                                      or the status it sent; NULL = none */
    http_handler_fn gate;          /* runs before every handler (and not_found):
                                      returns 0 to go on, or the status of the
                                      response it sent instead (e.g. with
                                      http_error()); NULL = none */
};

/*
 * Listens on cfg->listen and starts serving on background threads.
 * cfg is copied; cfg->routes and cfg->app must outlive the server.
 * Ignores SIGPIPE process-wide. Raises the soft RLIMIT_NOFILE to the
 * hard limit and holds at most BOUND_CONNECTIONS connections, fewer if
 * the descriptor limit is lower (the number chosen is logged).
 * Returns the server, or NULL with a one-line reason in err, e.g.
 * "cannot listen on '127.0.0.1:8080': Address already in use".
 */
struct http_server *http_server_start(const struct http_config *cfg, char *err,
                                      size_t errlen);
/* The TCP port the server listens on (useful after asking for port 0). */
unsigned http_server_port(const struct http_server *srv);
/* ---- figures for /metrics (docs/metrics.md) ---- */

#define HTTP_STATS_BUCKETS 14 /* latency buckets, the last one is +Inf */

/* Upper bounds in seconds of the latency buckets but the last (+Inf):
 * 0.0005 0.001 0.0025 0.005 0.01 0.025 0.05 0.1 0.25 0.5 1 2.5 5. */
extern const double http_stats_le[HTTP_STATS_BUCKETS - 1];

/* What a server has done since it started. A request counts once its
 * response went out (or its connection was lost after a status was
 * chosen); one that never got a status is not counted. A live stream
 * counts when it ends, in requests and bytes_out but not in the latency
 * histogram (its duration is how long the reader stayed). */
struct http_stats {
    uint64_t requests[5];                 /* by status class: [0] = 1xx ...
                                             [4] = 5xx */
    uint64_t buckets[HTTP_STATS_BUCKETS]; /* cumulative: requests that took
                                             at most http_stats_le[i]
                                             seconds; the last is every
                                             request timed (+Inf) */
    uint64_t count;                       /* requests timed (= last bucket) */
    double sum_s;                         /* their total time, seconds */
    uint64_t bytes_out;                   /* response body bytes sent */
    long connections;                     /* open connections now (MHD),
                                             -1 if unknown */
    unsigned sse_streams;                 /* live streams open now */
};

/*
 * Fills out with srv's figures. Each worker thread counts into a block of
 * its own (no shared counter on the request path); this sums the blocks
 * under a lock, so it costs one pass over the threads. Thread-safe.
 */
void http_server_stats(struct http_server *srv, struct http_stats *out);

/* Stops listening, ends every live stream and closes every connection
 * (waiting for running handlers to return) and frees the server. NULL is
 * fine. */
void http_server_stop(struct http_server *srv);
/*
 * Stops gracefully (SIGTERM; docs/shutdown.md): stops accepting at once
 * (the listening socket is closed, so new connections are refused), ends
 * every live stream, closes idle keep-alive connections, and lets the
 * requests in flight finish for up to drain_s seconds, closing each
 * connection once its response is sent. Then stops as http_server_stop()
 * (what still runs is cut) and frees the server. Logs one line with what
 * finished and what was cut; returns the number cut. NULL is ignored.
 */
unsigned http_server_drain(struct http_server *srv, unsigned drain_s);

/* ---- the request (valid until the response is sent) ---- */

/* The per-request arena: released right after the response is sent. */
struct arena *http_req_arena(struct http_req *req);
/* The request method; 0 for one outside enum http_method (only seen by
 * error_page). */
enum http_method http_req_method(const struct http_req *req);
/* The method as sent, e.g. "GET". */
const char *http_req_method_name(const struct http_req *req);
/* The decoded path, e.g. "/author/jane-doe/": valid UTF-8, starts with
 * '/', no NUL or control characters, no "." or ".." segments. */
const char *http_req_path(const struct http_req *req);
/* The request target as sent, e.g. "/search?q=caf%C3%A9". */
const char *http_req_target(const struct http_req *req);
/* The route capture called name ("slug" for ":slug", "*" for the
 * wildcard), decoded; NULL if the route has no such capture. */
const char *http_req_param(const struct http_req *req, const char *name);
/* The first query-string argument called name, decoded ('+' is a space);
 * "" for "?name" without '='; NULL if absent. The first
 * BOUND_QUERY_PARAMS arguments are kept. */
const char *http_req_query(const struct http_req *req, const char *name);
/* The request header called name (any case), or NULL. */
const char *http_req_header(const struct http_req *req, const char *name);
/* The body (NUL-terminated for convenience) and its length in *len;
 * NULL with *len = 0 when there is none. At most the route's max_body. */
const char *http_req_body(const struct http_req *req, size_t *len);

/*
 * Form bodies: application/x-www-form-urlencoded and multipart/form-data
 * (RFC 7578) are parsed before the handler runs. Names and text values
 * are valid UTF-8 without NUL bytes, else the layer answered 400 and the
 * handler never runs. A multipart part with a filename parameter is a
 * file (http_req_file()), never a form field. A malformed multipart body
 * (no boundary, truncated, a part without a name) or one with more than
 * BOUND_FORM_FIELDS parts is answered 400; urlencoded fields past
 * BOUND_FORM_FIELDS are dropped (logged).
 */

/* The first form field called name, decoded; NULL if absent or the body
 * is not a form. */
const char *http_req_form(const struct http_req *req, const char *name);
/* Every value of form field name in body order (checkbox lists,
 * <select multiple>), at most max, into out[]; returns how many (0 if
 * absent). The strings live until the request is done. */
size_t http_req_form_all(const struct http_req *req, const char *name,
                         const char **out, size_t max);

/* One uploaded file of a multipart/form-data body. */
struct http_file {
    const char *field;         /* form field name */
    const char *filename;      /* as sent by the client (untrusted, may be ""),
                                  valid UTF-8 or replaced by ""
                                  (so is one with control characters) */
    const char *type;          /* Content-Type the client claimed, or "" */
    const unsigned char *data; /* the bytes, in the request arena */
    size_t len;                /* bytes at data */
};
/* The first uploaded file of field name, or NULL (absent, or the part
 * had an empty filename and no bytes: "no file chosen"). The file lives
 * until the request is done. */
const struct http_file *http_req_file(const struct http_req *req,
                                      const char *name);
/* The cookie called name, or NULL. */
const char *http_req_cookie(const struct http_req *req, const char *name);
/* The peer's address as text ("192.0.2.7", "2001:db8::1"); "" if
 * unknown. IPv4 clients of a dual-stack listener show as IPv4. */
const char *http_req_client_ip(struct http_req *req);

/* ---- the response: exactly one per request ---- */

/*
 * Adds a response header for the response this request will send (call
 * before http_resp_send*). name and value are copied. Refuses (logs,
 * returns -1) a name that is not an RFC 9110 token, a value containing
 * CR, LF or another control character, Content-Length and
 * Transfer-Encoding (the layer sets those), and any call after the
 * response was sent. Returns 0 on success. May be called several times
 * with the same name (Set-Cookie).
 */
int http_resp_header(struct http_req *req, const char *name, const char *value);
/*
 * Sends the response: status, Content-Type (NULL for none), len bytes of
 * body (copied). A 200 to GET/HEAD becomes a bodiless 304 when the
 * request's validators match the ETag / Last-Modified set with
 * http_resp_header(). HEAD requests get the headers only, with the
 * Content-Length of the full body.
 * Returns the status actually sent (200 or 304, ...), -1 if a response
 * was already sent or MHD refused it (logged).
 */
int http_resp_send(struct http_req *req, int status, const char *type,
                   const void *body, size_t len);
/* Like http_resp_send() without copying: body must stay valid until the
 * request is done - static data, memory from http_req_arena(req), or a
 * cache entry the caller keeps alive (arena_defer a release). */
int http_resp_send_static(struct http_req *req, int status, const char *type,
                          const void *body, size_t len);
/* 1 if an Accept-Encoding value (NULL = header absent) allows content
 * coding ("gzip", "br") by name with a weight above zero (RFC 9110 12.5.3;
 * "*" is not taken as a promise to decode anything). */
int http_accept_coding(const char *accept, const char *coding);

/*
 * A response built once and sent to many requests (the page cache): the
 * body lives in a memory file, which MHD sends with sendfile() (no copy
 * into user space per request); the Content-Type, the headers given (name,
 * value pairs ended by NULL; ETag and Last-Modified among them drive the
 * 304 decision) and the security headers are fixed at build time, so a
 * send adds nothing per request. NULL (logged) when it cannot be built.
 * Free with http_prebuilt_free() (requests still sending it keep MHD's
 * own reference).
 */
struct http_prebuilt *http_prebuilt_new(const char *type, const void *body,
                                        size_t len, const char *const *headers);
void http_prebuilt_free(struct http_prebuilt *p);
/* Bytes of p's body. */
size_t http_prebuilt_len(const struct http_prebuilt *p);
/* Sends p as a 200, or as a 304 when the request's If-None-Match /
 * If-Modified-Since match p's validators; headers set on req with
 * http_resp_header() are not sent. Returns the status, or -1 (logged). */
int http_resp_send_prebuilt(struct http_req *req, struct http_prebuilt *p);

/* Sends a redirect (301, 302, 303, 307 or 308) to location, which must
 * not contain CR or LF. Returns the status, or -1 (nothing sent). */
int http_resp_redirect(struct http_req *req, int status, const char *location);
/* Sends an error page for status (4xx/5xx) through cfg->error_page, or as
 * plain text "message\n" when there is none (or it sent nothing).
 * Returns the status sent, or -1. */
int http_error(struct http_req *req, int status, const char *message);

/* ---- live streams (Server-Sent Events, WHATWG HTML 9.2) ---- */

/*
 * A new, empty hub, with a thread of its own that sends heartbeats
 * (": ping" every cfg->sse_heartbeat_ms to every stream when nothing else
 * was sent) and notices clients that hang up. Free it with
 * http_sse_hub_free() after every server that used it has stopped.
 * Returns NULL (logged) if the thread or its descriptors cannot be made.
 */
struct http_sse_hub *http_sse_hub_new(void);
/* Stops the hub's thread and frees it. Every server whose requests used
 * the hub must have been stopped first (a hub that still has streams is
 * logged and left alone). NULL is fine. */
void http_sse_hub_free(struct http_sse_hub *hub);

/*
 * Answers req with a text/event-stream that stays open: status 200,
 * Cache-Control: no-store, X-Accel-Buffering: no, the handler's own
 * headers and the security headers, no Content-Length (chunked for
 * HTTP/1.1, ended by closing for HTTP/1.0). The body is the len bytes of
 * initial (already formatted SSE text, e.g. "retry:" and replayed events;
 * copied; may be empty), then every event broadcast to hub afterwards, in
 * order. A HEAD request gets the headers only.
 * The handler returns at once; the stream ends when the client goes,
 * falls more than BOUND_SSE_QUEUE_BYTES behind (initial does not count),
 * or the server stops. It counts against cfg->sse_max_streams per hub;
 * past that, and while the server stops, the answer is 503 with
 * Retry-After (through http_error()).
 * Returns the status sent (200 or 503), or -1 if nothing was sent
 * (logged; the layer then answers 500).
 */
int http_resp_sse(struct http_req *req, struct http_sse_hub *hub,
                  const char *initial, size_t len);
/*
 * Queues one complete event - len bytes of SSE text ending in a blank
 * line ("\n\n"), e.g. "id: 7\nevent: post\ndata: {...}\n\n" - for every
 * open stream of hub. The bytes are copied once and shared. A stream
 * whose queue would pass BOUND_SSE_QUEUE_BYTES is disconnected instead.
 * Thread-safe; never waits for a client. Returns the number of streams
 * the event was queued to, or -1 (logged) for an empty event, one that
 * does not end in a blank line or one larger than BOUND_SSE_QUEUE_BYTES.
 * A NULL hub has no streams (0).
 */
int http_sse_broadcast(struct http_sse_hub *hub, const char *event, size_t len);
/* Open streams of hub (for metrics); 0 for NULL. */
unsigned http_sse_count(const struct http_sse_hub *hub);

#endif
