/*
 * test_http.c - the HTTP layer as a client sees it: a server on
 * 127.0.0.1:0 with a small routes table, spoken to over raw sockets with
 * exact request bytes (so malformed requests are possible), plus the
 * decoding, routing and conditional-request helpers on their own.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "check.h"
#include "core/arena.h"
#include "core/bounds.h"
#include "core/log.h"
#include "http/http.h"
#include "http/http_internal.h"

static unsigned port;
static int hdr_rc_crlf = 99, hdr_rc_name = 99, hdr_rc_ok = 99;

/* ---- handlers of the test site ---- */

static int send_text(struct http_req *req, int status, const char *text)
{
    return http_resp_send(req, status, "text/plain; charset=utf-8", text,
                          strlen(text));
}

static int h_home(struct http_req *req, void *app)
{
    (void)app;
    return http_resp_send_static(req, 200, "text/html; charset=utf-8",
                                 "<p>home</p>", 11);
}

static int h_author(struct http_req *req, void *app)
{
    (void)app;
    return send_text(req, 200,
                     arena_printf(http_req_arena(req), "author %s",
                                  http_req_param(req, "slug")));
}

static int h_assets(struct http_req *req, void *app)
{
    (void)app;
    return send_text(req, 200,
                     arena_printf(http_req_arena(req), "asset [%s]",
                                  http_req_param(req, "*")));
}

static int h_etag(struct http_req *req, void *app)
{
    (void)app;
    http_resp_header(req, "ETag", "\"v1\"");
    http_resp_header(req, "Cache-Control", "max-age=60");
    http_resp_header(req, "Last-Modified", "Sun, 06 Nov 1994 08:49:37 GMT");
    return send_text(req, 200, "etag body");
}

static int h_form(struct http_req *req, void *app)
{
    const char *email = http_req_form(req, "email");

    (void)app;
    return send_text(req, 200,
                     arena_printf(http_req_arena(req), "email=%s",
                                  email ? email : "(none)"));
}

static int h_echo(struct http_req *req, void *app)
{
    size_t len;

    (void)app;
    http_req_body(req, &len);
    return send_text(req, 200,
                     arena_printf(http_req_arena(req), "len=%zu", len));
}

static int h_query(struct http_req *req, void *app)
{
    const char *page = http_req_query(req, "page");
    const char *q = http_req_query(req, "q");

    (void)app;
    return send_text(req, 200,
                     arena_printf(http_req_arena(req), "page=%s q=%s",
                                  page ? page : "(none)", q ? q : "(none)"));
}

static int h_badhdr(struct http_req *req, void *app)
{
    (void)app;
    hdr_rc_crlf = http_resp_header(req, "X-Test", "a\r\nSet-Cookie: evil=1");
    hdr_rc_name = http_resp_header(req, "Bad Name", "x");
    hdr_rc_ok = http_resp_header(req, "X-Ok", "fine");
    return send_text(req, 200, "ok");
}

static int h_csp(struct http_req *req, void *app)
{
    (void)app;
    http_resp_header(req, "Content-Security-Policy", "default-src 'none'");
    return send_text(req, 200, "csp");
}

static int h_fail(struct http_req *req, void *app)
{
    (void)req;
    (void)app;
    return -1;
}

static int h_silent(struct http_req *req, void *app)
{
    (void)req;
    (void)app;
    return 200; /* forgot to send */
}

static int h_info(struct http_req *req, void *app)
{
    const char *probe = http_req_header(req, "x-probe");
    const char *c = http_req_cookie(req, "sid");

    (void)app;
    return send_text(req, 200,
                     arena_printf(http_req_arena(req),
                                  "ip=%s probe=%s sid=%s path=%s",
                                  http_req_client_ip(req), probe ? probe : "-",
                                  c ? c : "-", http_req_path(req)));
}

static int h_redirect(struct http_req *req, void *app)
{
    (void)app;
    return http_resp_redirect(req, 303, "/");
}

static int h_multi_get(struct http_req *req, void *app)
{
    (void)app;
    return send_text(req, 200, "multi get");
}

static int h_multi_post(struct http_req *req, void *app)
{
    (void)app;
    return send_text(req, 200, "multi post");
}

/* "ab01ff" for the bytes of f: enough to compare small files exactly. */
static const char *hex(struct arena *a, const unsigned char *p, size_t n)
{
    char *out = arena_alloc(a, 2 * n + 1);
    size_t i;

    for (i = 0; i < n; i++)
        snprintf(out + 2 * i, 3, "%02x", p[i]);
    out[2 * n] = '\0';
    return out;
}

/* Everything a form handler can see of a multipart or urlencoded form. */
static int h_mp(struct http_req *req, void *app)
{
    static const char *const files[] = {"file", "other", "empty", "pics"};
    struct arena *a = http_req_arena(req);
    const char *title = http_req_form(req, "title"), *tags[8];
    size_t i, n = http_req_form_all(req, "tag", tags, 8);
    char *out;

    (void)app;
    out = arena_printf(a, "title=%s tags=%zu", title ? title : "(none)", n);
    for (i = 0; i < n; i++)
        out = arena_printf(a, "%s[%s]", out, tags[i]);
    out = arena_printf(a, "%s first2=%zu", out,
                       http_req_form_all(req, "tag", tags, 2));
    for (i = 0; i < sizeof files / sizeof files[0]; i++) {
        const struct http_file *f = http_req_file(req, files[i]);

        if (f)
            out = arena_printf(a, "%s %s=[%s][%s][%s][%zu][%s]", out, files[i],
                               f->field, f->filename, f->type, f->len,
                               hex(a, f->data, f->len));
    }
    out = arena_printf(a, "%s file-as-field=%s", out,
                       http_req_form(req, "file") ? "yes" : "no");
    return send_text(req, 200, out);
}

/* Sends back the bytes of the uploaded "file". */
static int h_upload(struct http_req *req, void *app)
{
    const struct http_file *f = http_req_file(req, "file");

    (void)app;
    if (!f)
        return send_text(req, 422, "no file");
    return http_resp_send(req, 200, "application/octet-stream", f->data,
                          f->len);
}

static int h_not_found(struct http_req *req, void *app)
{
    (void)app;
    return send_text(
        req, 404,
        arena_printf(http_req_arena(req), "nf %s", http_req_path(req)));
}

static void error_page(struct http_req *req, int status, const char *message,
                       void *app)
{
    (void)app;
    send_text(req, status,
              arena_printf(http_req_arena(req), "E%d %s", status, message));
}

static const struct http_route routes[] = {
    {HTTP_GET, "/", h_home},
    {HTTP_GET, "/author/:slug/", h_author},
    {HTTP_GET, "/assets/*", h_assets},
    {HTTP_GET, "/etag", h_etag},
    {HTTP_POST, "/form", h_form},
    {HTTP_POST | HTTP_PUT, "/echo", h_echo},
    {HTTP_GET, "/query", h_query},
    {HTTP_GET, "/badhdr", h_badhdr},
    {HTTP_GET, "/csp", h_csp},
    {HTTP_GET, "/fail", h_fail},
    {HTTP_GET, "/silent", h_silent},
    {HTTP_GET, "/info", h_info},
    {HTTP_GET, "/redirect", h_redirect},
    {HTTP_GET, "/multi", h_multi_get},
    {HTTP_POST, "/multi", h_multi_post},
    {HTTP_POST, "/mp", h_mp},
    {HTTP_POST, "/upload", h_upload, 5 * 1024 * 1024},
    {HTTP_POST, "/upload-default", h_upload},
};

/* ---- a raw HTTP client ---- */

static int dial(void)
{
    struct sockaddr_in sa;
    struct timeval tv = {5, 0};
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((unsigned short)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        perror("connect");
        close(fd);
        return -1;
    }
    return fd;
}

/* Writes what it can; the server may hang up early (413, 431). */
static void send_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

        if (w <= 0)
            return;
        p += w;
        n -= (size_t)w;
    }
}

static void send_str(int fd, const char *s)
{
    send_all(fd, s, strlen(s));
}

/* Reads until EOF, timeout or error; the bytes read in *outlen. Caller
 * frees. */
static char *read_to_eof_n(int fd, size_t *outlen)
{
    size_t cap = 65536, len = 0;
    char *b = malloc(cap);
    ssize_t r;

    for (;;) {
        if (cap - len < 4096)
            b = realloc(b, cap *= 2);
        r = recv(fd, b + len, cap - len - 1, 0);
        if (r <= 0)
            break;
        len += (size_t)r;
    }
    b[len] = '\0';
    *outlen = len;
    return b;
}

static char *read_to_eof(int fd)
{
    size_t len;

    return read_to_eof_n(fd, &len);
}

/* Sends request bytes on a new connection and reads the whole answer
 * (requests say "Connection: close"). Caller frees. */
static char *roundtrip_n(const char *req, size_t n)
{
    int fd = dial();
    char *resp;

    if (fd < 0)
        return strdup("");
    send_all(fd, req, n);
    resp = read_to_eof(fd);
    close(fd);
    return resp;
}

/* Like roundtrip_n() for binary answers: the answer's length in *len. */
static char *roundtrip_len(const char *req, size_t n, size_t *len)
{
    int fd = dial();
    char *resp;

    *len = 0;
    if (fd < 0)
        return strdup("");
    send_all(fd, req, n);
    resp = read_to_eof_n(fd, len);
    close(fd);
    return resp;
}

static char *roundtrip(const char *req)
{
    return roundtrip_n(req, strlen(req));
}

/* GET path with Connection: close. */
static char *get(const char *method, const char *path, const char *extra)
{
    char req[8192];

    snprintf(req, sizeof req,
             "%s %s HTTP/1.1\r\nHost: t\r\n%sConnection: close\r\n\r\n", method,
             path, extra ? extra : "");
    return roundtrip(req);
}

static int status_of(const char *resp)
{
    if (strncmp(resp, "HTTP/1.", 7) != 0 || strlen(resp) < 12)
        return -1;
    return (int)strtol(resp + 9, NULL, 10);
}

/* The value of header name in resp (copied into out), or NULL. */
static const char *header_of(const char *resp, const char *name, char *out,
                             size_t outlen)
{
    const char *end = strstr(resp, "\r\n\r\n");
    const char *line = strstr(resp, "\r\n");
    size_t nl = strlen(name);

    while (line && end && line < end) {
        line += 2;
        if (strncasecmp(line, name, nl) == 0 && line[nl] == ':') {
            const char *v = line + nl + 1, *e = strstr(v, "\r\n");

            while (*v == ' ')
                v++;
            snprintf(out, outlen, "%.*s", (int)(e - v), v);
            return out;
        }
        line = strstr(line, "\r\n");
    }
    return NULL;
}

static int header_count(const char *resp, const char *name)
{
    const char *end = strstr(resp, "\r\n\r\n"), *p = resp;
    size_t nl = strlen(name);
    int n = 0;

    while ((p = strstr(p, "\r\n")) && end && p < end) {
        p += 2;
        if (strncasecmp(p, name, nl) == 0 && p[nl] == ':')
            n++;
    }
    return n;
}

static const char *body_of(const char *resp)
{
    const char *b = strstr(resp, "\r\n\r\n");

    return b ? b + 4 : "";
}

/* Reads exactly one response (headers byte by byte, then the
 * Content-Length body) from a keep-alive connection. Caller frees. */
static char *read_one(int fd)
{
    char *b = calloc(1, 65536);
    size_t len = 0, want;
    char cl[32];

    while (len < 65535 && !strstr(b, "\r\n\r\n")) {
        if (recv(fd, b + len, 1, 0) != 1)
            return b;
        len++;
    }
    want = len;
    if (header_of(b, "Content-Length", cl, sizeof cl))
        want += strtoul(cl, NULL, 10);
    while (len < want && len < 65535) {
        ssize_t r = recv(fd, b + len, want - len, 0);

        if (r <= 0)
            break;
        len += (size_t)r;
    }
    b[len] = '\0';
    return b;
}

/* ---- tests ---- */

static void test_helpers(void)
{
    struct arena a;
    struct http_kv kv[4];
    struct http_capture caps[HTTP_MAX_PARAMS];
    size_t n = 0;
    char *out;
    time_t t;

    arena_init(&a);
    CHECK(http_path_decode(&a, "/caf%C3%A9/x", 12, &out) == NULL &&
              strcmp(out, "/café/x") == 0,
          "path: %%-escapes decode to UTF-8");
    CHECK(http_path_decode(&a, "/a+b", 4, &out) == NULL &&
              strcmp(out, "/a+b") == 0,
          "path: '+' stays '+'");
    CHECK(http_path_decode(&a, "/%00", 4, &out) != NULL, "path: %%00 refused");
    CHECK(http_path_decode(&a, "/%ff%fe", 7, &out) != NULL,
          "path: invalid UTF-8 refused");
    CHECK(http_path_decode(&a, "/%C0%AF", 7, &out) != NULL,
          "path: overlong UTF-8 refused");
    CHECK(http_path_decode(&a, "/a/%2e%2e/b", 11, &out) != NULL,
          "path: encoded '..' segment refused");
    CHECK(http_path_decode(&a, "/a/.", 4, &out) != NULL,
          "path: '.' segment refused");
    CHECK(http_path_decode(&a, "/a/..b/.c", 9, &out) == NULL,
          "path: dots inside a segment are fine");
    CHECK(http_path_decode(&a, "/x%4", 4, &out) != NULL,
          "path: truncated escape refused");
    CHECK(http_path_decode(&a, "x", 1, &out) != NULL,
          "path: must start with '/'");
    CHECK(http_path_decode(&a, "/a%09", 5, &out) != NULL,
          "path: control character refused");

    CHECK(http_urlencoded_parse(&a, "a=1&&b=x+y%21&c", 15, kv, 4, 0) == 3 &&
              strcmp(kv[1].val, "x y!") == 0 && strcmp(kv[2].key, "c") == 0 &&
              strcmp(kv[2].val, "") == 0,
          "form: pairs, '+', empty piece, key without '='");
    CHECK(http_urlencoded_parse(&a, "q=50%", 5, kv, 4, 0) == 1 &&
              strcmp(kv[0].val, "50%") == 0,
          "form: a stray '%%' stays");
    CHECK(http_urlencoded_parse(&a, "q=%00", 5, kv, 4, 0) < 0,
          "form: NUL refused");
    CHECK(http_urlencoded_parse(&a, "a&b&c&d&e&f", 11, kv, 4, 0) == 4,
          "form: pairs past the limit dropped");

    CHECK(http_route_match("/", "/", caps, &n) && n == 0, "route: / exact");
    CHECK(!http_route_match("/", "/x", caps, &n), "route: / is exact");
    CHECK(http_route_match("/author/:slug/", "/author/jane/", caps, &n) &&
              n == 1 && caps[0].len == 4 &&
              strncmp(caps[0].val, "jane", 4) == 0 &&
              strncmp(caps[0].name, "slug", caps[0].name_len) == 0,
          "route: capture");
    CHECK(!http_route_match("/author/:slug/", "/author//", caps, &n),
          "route: capture must be non-empty");
    CHECK(!http_route_match("/author/:slug/", "/author/a/b/", caps, &n),
          "route: capture is one segment");
    CHECK(!http_route_match("/author/:slug/", "/author/jane", caps, &n),
          "route: trailing slash matters");
    CHECK(http_route_match("/assets/*", "/assets/css/site.css", caps, &n) &&
              n == 1 && strcmp(caps[0].val, "css/site.css") == 0,
          "route: wildcard captures the rest");
    CHECK(!http_route_match("/assets/*", "/assetsx", caps, &n),
          "route: wildcard needs its prefix");

    CHECK(http_etag_match("\"v1\"", "\"v1\""), "etag: equal");
    CHECK(http_etag_match("W/\"v1\"", "\"v1\""), "etag: weak comparison");
    CHECK(http_etag_match("\"a\", W/\"v1\"", "W/\"v1\""), "etag: list");
    CHECK(http_etag_match("*", "\"v1\""), "etag: *");
    CHECK(!http_etag_match("\"v2\"", "\"v1\""), "etag: different");
    CHECK(!http_etag_match("\"v1", "\"v1\""), "etag: malformed no match");

    CHECK(http_date_parse("Sun, 06 Nov 1994 08:49:37 GMT", &t) == 0 &&
              t == 784111777,
          "date: IMF-fixdate");
    CHECK(http_date_parse("Sunday, 06-Nov-94 08:49:37 GMT", &t) < 0,
          "date: other formats refused");
    arena_release(&a);
}

static void test_basics(void)
{
    char h[512], *r;

    r = get("GET", "/", NULL);
    CHECK(status_of(r) == 200, "GET / answers 200");
    CHECK_STR(body_of(r), "<p>home</p>", "GET / body");
    CHECK(header_of(r, "Content-Length", h, sizeof h) && strcmp(h, "11") == 0,
          "GET / Content-Length 11");
    CHECK(header_of(r, "Content-Type", h, sizeof h) &&
              strcmp(h, "text/html; charset=utf-8") == 0,
          "GET / Content-Type");
    CHECK(header_of(r, "X-Content-Type-Options", h, sizeof h) &&
              strcmp(h, "nosniff") == 0,
          "nosniff on every response");
    CHECK(header_of(r, "Referrer-Policy", h, sizeof h) &&
              strcmp(h, "strict-origin-when-cross-origin") == 0,
          "referrer policy");
    CHECK(header_of(r, "X-Frame-Options", h, sizeof h) &&
              strcmp(h, "DENY") == 0,
          "X-Frame-Options");
    CHECK(header_of(r, "Content-Security-Policy", h, sizeof h) &&
              strstr(h, "frame-ancestors 'none'") &&
              strstr(h, "script-src 'self'") && !strstr(h, "unsafe-inline") &&
              strstr(h, "object-src 'none'"),
          "default CSP: scripts from the site only, never inline");
    CHECK(header_of(r, "Permissions-Policy", h, sizeof h) &&
              strstr(h, "camera=()") && strstr(h, "geolocation=()"),
          "permissions policy");
    free(r);

    r = get("HEAD", "/", NULL);
    CHECK(status_of(r) == 200, "HEAD / answers 200");
    CHECK(header_of(r, "Content-Length", h, sizeof h) && strcmp(h, "11") == 0,
          "HEAD keeps the Content-Length of the body");
    CHECK(header_of(r, "Content-Type", h, sizeof h) &&
              strcmp(h, "text/html; charset=utf-8") == 0,
          "HEAD keeps Content-Type");
    CHECK_STR(body_of(r), "", "HEAD sends no body");
    free(r);

    r = get("GET", "/csp", NULL);
    CHECK(header_count(r, "Content-Security-Policy") == 1 &&
              header_of(r, "Content-Security-Policy", h, sizeof h) &&
              strcmp(h, "default-src 'none'") == 0,
          "a handler's own CSP replaces the default");
    free(r);

    r = get("GET", "/author/jane-doe/", NULL);
    CHECK_STR(body_of(r), "author jane-doe", "route capture");
    free(r);
    r = get("GET", "/author/caf%C3%A9/", NULL);
    CHECK_STR(body_of(r), "author café", "route capture is decoded");
    free(r);
    r = get("GET", "/assets/css/site.css", NULL);
    CHECK_STR(body_of(r), "asset [css/site.css]", "wildcard capture");
    free(r);

    r = get("GET", "/nope", NULL);
    CHECK(status_of(r) == 404, "unknown path answers 404");
    CHECK_STR(body_of(r), "nf /nope", "404 rendered by not_found");
    CHECK(header_of(r, "X-Content-Type-Options", h, sizeof h) != NULL,
          "404 has security headers too");
    free(r);
    r = get("GET", "/author/jane", NULL);
    CHECK(status_of(r) == 404, "capture pattern without trailing slash 404");
    free(r);

    r = get("DELETE", "/form", NULL);
    CHECK(status_of(r) == 405, "wrong method answers 405");
    CHECK(header_of(r, "Allow", h, sizeof h) && strcmp(h, "POST, OPTIONS") == 0,
          "405 lists Allow: POST, OPTIONS");
    CHECK(strncmp(body_of(r), "E405 ", 5) == 0, "405 through error_page");
    free(r);
    r = get("PUT", "/multi", NULL);
    CHECK(status_of(r) == 405 && header_of(r, "Allow", h, sizeof h) &&
              strcmp(h, "GET, HEAD, POST, OPTIONS") == 0,
          "Allow unites every pattern matching the path");
    free(r);
    r = get("POST", "/multi", "Content-Length: 0\r\n");
    CHECK_STR(body_of(r), "multi post", "second route for the same path");
    free(r);
    r = get("OPTIONS", "/multi", NULL);
    CHECK(status_of(r) == 204 && header_of(r, "Allow", h, sizeof h) &&
              strcmp(h, "GET, HEAD, POST, OPTIONS") == 0,
          "OPTIONS answers 204 with Allow");
    free(r);

    r = get("GET", "/query?page=3&q=caf%C3%A9+au+lait", NULL);
    CHECK_STR(body_of(r), "page=3 q=café au lait", "query arguments");
    free(r);
    r = get("GET", "/query?q=50%", NULL);
    CHECK_STR(body_of(r), "page=(none) q=50%", "stray '%%' in query kept");
    free(r);
    r = get("GET", "/query?q=%ff", NULL);
    CHECK_STR(body_of(r), "page=(none) q=\xEF\xBF\xBD",
              "invalid UTF-8 in a query becomes U+FFFD");
    free(r);
    r = get("GET", "/query?q=a%C3%28b%00", NULL);
    CHECK(status_of(r) == 400, "a NUL byte in a query answers 400");
    free(r);

    r = get("GET", "/info", "X-Probe: hello\r\nCookie: a=1; sid=abc\r\n");
    CHECK_STR(body_of(r), "ip=127.0.0.1 probe=hello sid=abc path=/info",
              "client ip, header and cookie");
    free(r);

    r = get("GET", "/redirect", NULL);
    CHECK(status_of(r) == 303 && header_of(r, "Location", h, sizeof h) &&
              strcmp(h, "/") == 0,
          "redirect 303 to /");
    free(r);

    r = get("GET", "/fail", NULL);
    CHECK(status_of(r) == 500 && strncmp(body_of(r), "E500 ", 5) == 0,
          "handler returning -1 gives the 500 page");
    free(r);
    r = get("GET", "/silent", NULL);
    CHECK(status_of(r) == 500, "handler that sent nothing gives 500");
    free(r);

    r = get("GET", "/badhdr", NULL);
    CHECK(hdr_rc_crlf == -1, "CR/LF in a response header value refused");
    CHECK(hdr_rc_name == -1, "bad response header name refused");
    CHECK(hdr_rc_ok == 0, "good response header accepted");
    CHECK(status_of(r) == 200 && !strstr(r, "evil") &&
              header_of(r, "X-Ok", h, sizeof h),
          "refused header not sent, others are");
    free(r);
}

static void test_conditional(void)
{
    char h[512], *r;

    r = get("GET", "/etag", "If-None-Match: \"v1\"\r\n");
    CHECK(status_of(r) == 304, "If-None-Match match answers 304");
    CHECK_STR(body_of(r), "", "304 has no body");
    CHECK(header_of(r, "ETag", h, sizeof h) && strcmp(h, "\"v1\"") == 0,
          "304 keeps ETag");
    CHECK(header_of(r, "Cache-Control", h, sizeof h) &&
              strcmp(h, "max-age=60") == 0,
          "304 keeps Cache-Control");
    CHECK(header_of(r, "Last-Modified", h, sizeof h) != NULL,
          "304 keeps Last-Modified");
    CHECK(!header_of(r, "Content-Type", h, sizeof h), "304 drops Content-Type");
    free(r);
    r = get("GET", "/etag", "If-None-Match: \"x\", W/\"v1\"\r\n");
    CHECK(status_of(r) == 304, "weak tag in a list matches");
    free(r);
    r = get("GET", "/etag", "If-None-Match: *\r\n");
    CHECK(status_of(r) == 304, "If-None-Match: * matches");
    free(r);
    r = get("HEAD", "/etag", "If-None-Match: \"v1\"\r\n");
    CHECK(status_of(r) == 304, "HEAD gets 304 too");
    free(r);
    r = get("GET", "/etag", "If-None-Match: \"v2\"\r\n");
    CHECK(status_of(r) == 200 && strcmp(body_of(r), "etag body") == 0,
          "other ETag answers 200 with body");
    free(r);
    r = get("GET", "/etag",
            "If-Modified-Since: Sun, 06 Nov 1994 08:49:37 GMT\r\n");
    CHECK(status_of(r) == 304, "If-Modified-Since not older answers 304");
    free(r);
    r = get("GET", "/etag",
            "If-Modified-Since: Sat, 05 Nov 1994 08:49:37 GMT\r\n");
    CHECK(status_of(r) == 200, "If-Modified-Since older answers 200");
    free(r);
    r = get("GET", "/etag",
            "If-None-Match: \"v2\"\r\n"
            "If-Modified-Since: Sun, 06 Nov 1994 08:49:37 GMT\r\n");
    CHECK(status_of(r) == 200, "If-None-Match wins over If-Modified-Since");
    free(r);
}

static void test_bodies(void)
{
    char req[4096], *r, *big;
    size_t i, n;

    snprintf(req, sizeof req,
             "POST /form HTTP/1.1\r\nHost: t\r\nConnection: close\r\n"
             "Content-Type: application/x-www-form-urlencoded\r\n"
             "Content-Length: 23\r\n\r\nemail=a%%40b.example&x=1");
    r = roundtrip(req);
    CHECK_STR(body_of(r), "email=a@b.example", "form field decoded");
    free(r);
    r = roundtrip("POST /form HTTP/1.1\r\nHost: t\r\nConnection: close\r\n"
                  "Content-Type: application/x-www-form-urlencoded\r\n"
                  "Content-Length: 9\r\n\r\nemail=%ff");
    CHECK(status_of(r) == 400, "form with invalid UTF-8 answers 400");
    free(r);
    r = roundtrip("POST /echo HTTP/1.1\r\nHost: t\r\nConnection: close\r\n"
                  "Transfer-Encoding: chunked\r\n\r\n"
                  "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n");
    CHECK_STR(body_of(r), "len=11", "chunked body received");
    free(r);

    r = roundtrip("POST /echo HTTP/1.1\r\nHost: t\r\nConnection: close\r\n"
                  "Content-Length: 2000000\r\n\r\n");
    CHECK(status_of(r) == 413, "Content-Length over the limit answers 413");
    CHECK(strncmp(body_of(r), "E413 ", 5) == 0, "413 through error_page");
    free(r);

    /* Chunked: the size is only known while receiving. */
    n = BOUND_BODY_BYTES + 100000;
    big = malloc(n + 256);
    i = (size_t)snprintf(big, 256,
                         "POST /echo HTTP/1.1\r\nHost: t\r\n"
                         "Connection: close\r\nTransfer-Encoding: chunked"
                         "\r\n\r\n%zx\r\n",
                         n - 200);
    memset(big + i, 'a', n - 200);
    i += n - 200;
    i += (size_t)snprintf(big + i, 32, "\r\n0\r\n\r\n");
    r = roundtrip_n(big, i);
    CHECK(status_of(r) == 413, "chunked body over the limit answers 413");
    free(r);
    free(big);
}

/* One part of a multipart body built by the tests. */
struct part {
    const char *name;     /* field name */
    const char *filename; /* NULL for a text field */
    const char *type;     /* part Content-Type, or NULL */
    const char *data;     /* bytes */
    size_t len;           /* bytes at data */
};

#define BOUNDARY "----WebKitFormBoundary7MA4YWxkTrZu0gW"

/* A whole POST of parts to path as a browser sends it (boundary
 * BOUNDARY), with Content-Length; its length in *len. Caller frees. */
static char *mp_request(const char *path, const struct part *parts, size_t n,
                        size_t *len)
{
    size_t i, body = 0, cap, o;
    char *r;

    for (i = 0; i < n; i++)
        body += parts[i].len + 512;
    cap = body + 1024;
    r = malloc(cap);
    o = 512; /* headers go in front once the body length is known */
    for (i = 0; i < n; i++) {
        o += (size_t)snprintf(r + o, cap - o,
                              "--" BOUNDARY "\r\nContent-Disposition: "
                              "form-data; name=\"%s\"",
                              parts[i].name);
        if (parts[i].filename)
            o += (size_t)snprintf(r + o, cap - o, "; filename=\"%s\"",
                                  parts[i].filename);
        o += (size_t)snprintf(r + o, cap - o, "\r\n");
        if (parts[i].type)
            o += (size_t)snprintf(r + o, cap - o, "Content-Type: %s\r\n",
                                  parts[i].type);
        o += (size_t)snprintf(r + o, cap - o, "\r\n");
        memcpy(r + o, parts[i].data, parts[i].len);
        o += parts[i].len;
        o += (size_t)snprintf(r + o, cap - o, "\r\n");
    }
    o += (size_t)snprintf(r + o, cap - o, "--" BOUNDARY "--\r\n");
    {
        char h[512];
        int hl = snprintf(h, sizeof h,
                          "POST %s HTTP/1.1\r\nHost: t\r\n"
                          "Connection: close\r\nContent-Type: "
                          "multipart/form-data; boundary=" BOUNDARY
                          "\r\nContent-Length: %zu\r\n\r\n",
                          path, o - 512);

        memcpy(r + 512 - (size_t)hl, h, (size_t)hl);
        memmove(r, r + 512 - (size_t)hl, o - 512 + (size_t)hl);
        *len = o - 512 + (size_t)hl;
    }
    return r;
}

/* POSTs raw multipart body bytes (Content-Type with boundary b) to /mp. */
static char *mp_raw(const char *b, const char *body, size_t n)
{
    char *req = malloc(n + 512), *r;
    size_t hl = (size_t)snprintf(req, 512,
                                 "POST /mp HTTP/1.1\r\nHost: t\r\n"
                                 "Connection: close\r\nContent-Type: "
                                 "multipart/form-data%s%s\r\n"
                                 "Content-Length: %zu\r\n\r\n",
                                 b ? "; boundary=" : "", b ? b : "", n);

    memcpy(req + hl, body, n);
    r = roundtrip_n(req, hl + n);
    free(req);
    return r;
}

/* Route limits: max_body for uploads, BOUND_BODY_BYTES elsewhere. */
static void test_uploads(void)
{
    const size_t n = 3 * 1024 * 1024;
    char *data = malloc(n), *req, *r, *body, h[128];
    struct part p = {"file", "photo.jpg", "image/jpeg", NULL, 0};
    size_t i, len, rlen, hl;
    unsigned x = 12345;
    int fd;

    /* bytes of every value, NULs, CRLFs and near-boundaries included */
    for (i = 0; i < n; i++) {
        x = x * 1103515245 + 12345;
        data[i] = (char)(x >> 16);
    }
    memcpy(data + 1000, "\r\n------WebKitFormBoundary7MA4Q\r\n", 33);
    memcpy(data + 5000, "\r\n--\r\n\0\0\r\n", 11);
    p.data = data;
    p.len = n;
    req = mp_request("/upload", &p, 1, &len);
    r = roundtrip_len(req, len, &rlen);
    body = strstr(r, "\r\n\r\n");
    CHECK(status_of(r) == 200 && body && rlen - (size_t)(body + 4 - r) == n &&
              memcmp(body + 4, data, n) == 0,
          "3 MB upload to a 5 MB route arrives byte for byte (status %d "
          "%.80s)",
          status_of(r), body ? body + 4 : "");
    free(r);
    free(req);

    req = mp_request("/upload-default", &p, 1, &len);
    r = roundtrip_n(req, len);
    CHECK(status_of(r) == 413,
          "same upload to a route without max_body "
          "answers 413 (got %d)",
          status_of(r));
    CHECK_STR(body_of(r), "E413 request body is larger than 1048576 bytes",
              "413 message names the default limit");
    free(r);
    free(req);

    /* a declared 30 MB body is refused before any of it is sent */
    fd = dial();
    send_str(fd, "POST /upload HTTP/1.1\r\nHost: t\r\nContent-Type: "
                 "multipart/form-data; boundary=x\r\n"
                 "Content-Length: 31457280\r\n\r\n");
    r = read_to_eof(fd);
    close(fd);
    CHECK(status_of(r) == 413, "declared 30 MB upload answers 413 at once");
    CHECK_STR(body_of(r), "E413 upload is larger than 5 MB",
              "413 message for an upload route says MB");
    free(r);

    /* chunked: the route's limit while the body streams in */
    len = 6 * 1024 * 1024;
    req = malloc(len + 512);
    hl = (size_t)snprintf(req, 512,
                          "POST /upload HTTP/1.1\r\nHost: t\r\n"
                          "Connection: close\r\nTransfer-Encoding: "
                          "chunked\r\n\r\n%zx\r\n",
                          len);
    memset(req + hl, 'a', len);
    hl += len;
    hl += (size_t)snprintf(req + hl, 32, "\r\n0\r\n\r\n");
    r = roundtrip_n(req, hl);
    CHECK(status_of(r) == 413 && header_of(r, "Content-Length", h, sizeof h),
          "chunked 6 MB body to a 5 MB route answers 413 (got %d)",
          status_of(r));
    free(r);
    len = 2 * 1024 * 1024;
    hl = (size_t)snprintf(req, 512,
                          "POST /upload HTTP/1.1\r\nHost: t\r\n"
                          "Connection: close\r\nTransfer-Encoding: "
                          "chunked\r\n\r\n%zx\r\n",
                          len);
    memset(req + hl, 'a', len);
    hl += len;
    hl += (size_t)snprintf(req + hl, 32, "\r\n0\r\n\r\n");
    r = roundtrip_n(req, hl);
    CHECK(status_of(r) == 422,
          "chunked 2 MB body within the route limit is read (422: no "
          "file in it, got %d)",
          status_of(r));
    free(r);
    free(req);
    free(data);
}

static void test_multipart(void)
{
    static const char bin[] = "\x00\r\n--\r\n\x00\xff\r\n\r\n";
    const struct part form[] = {
        {"title", NULL, NULL, "Caf\xc3\xa9 \"news\"", 12},
        {"tag", NULL, NULL, "a", 1},
        {"file", "caf\xc3\xa9 %22x%22.png", "image/png", bin, sizeof bin - 1},
        {"tag", NULL, NULL, "", 0},
        {"empty", "", "application/octet-stream", "", 0},
        {"tag", NULL, NULL, "c d", 3},
        {"other", "b.txt", NULL, "xy", 2},
    };
    const struct part pics[] = {
        {"pics", "1.png", "image/png", "one", 3},
        {"pics", "2.png", "image/png", "two", 3},
    };
    const struct part bad_utf8_name[] = {
        {"file", "\xff\xfe.png", "image/png", "z", 1},
    };
    const struct part nul_field[] = {
        {"title", NULL, NULL, "a\0b", 3},
    };
    const struct part bad_utf8_field[] = {
        {"title", NULL, NULL, "\xc3(", 2},
    };
    char *req, *r, *body;
    size_t len, i;

    req = mp_request("/mp", form, sizeof form / sizeof form[0], &len);
    r = roundtrip_n(req, len);
    CHECK_STR(body_of(r),
              "title=Caf\xc3\xa9 \"news\" tags=3[a][][c d] first2=2 "
              "file=[file][caf\xc3\xa9 %22x%22.png][image/png][13]"
              "[000d0a2d2d0d0a00ff0d0a0d0a] "
              "other=[other][b.txt][][2][7879] file-as-field=no",
              "multipart: text fields, files byte-exact, UTF-8 filename as "
              "sent, empty file input is no file");
    free(r);
    free(req);

    req = mp_request("/mp", pics, 2, &len);
    r = roundtrip_n(req, len);
    CHECK(strstr(body_of(r), "pics=[pics][1.png][image/png][3][6f6e65]") !=
              NULL,
          "two files in one field: http_req_file gives the first");
    free(r);
    free(req);

    req = mp_request("/mp", bad_utf8_name, 1, &len);
    r = roundtrip_n(req, len);
    CHECK(strstr(body_of(r), "file=[file][][image/png][1][7a]") != NULL,
          "filename that is not UTF-8 becomes \"\"");
    free(r);
    free(req);

    req = mp_request("/mp", nul_field, 1, &len);
    r = roundtrip_n(req, len);
    CHECK(status_of(r) == 400 && strstr(body_of(r), "'title'") &&
              strstr(body_of(r), "NUL"),
          "NUL in a multipart text field answers 400 naming the field: %s",
          body_of(r));
    free(r);
    free(req);
    req = mp_request("/mp", bad_utf8_field, 1, &len);
    r = roundtrip_n(req, len);
    CHECK(status_of(r) == 400, "invalid UTF-8 in a text field answers 400");
    free(r);
    free(req);

    r = roundtrip("POST /mp HTTP/1.1\r\nHost: t\r\nConnection: close\r\n"
                  "Content-Type: application/x-www-form-urlencoded\r\n"
                  "Content-Length: 28\r\n\r\ntag=a&title=t&tag=b&tag=&x=1");
    CHECK(strncmp(body_of(r), "title=t tags=3[a][b][] first2=2", 31) == 0,
          "form_all on an urlencoded body: %s", body_of(r));
    free(r);

    /* malformed bodies */
    body = "--bb\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1"
           "\r\n--bb--\r\n";
    r = mp_raw("bb", body, strlen(body));
    CHECK(status_of(r) == 200 && strstr(body_of(r), "title=(none)"),
          "minimal multipart body is fine (got %d)", status_of(r));
    free(r);
    r = mp_raw(NULL, body, strlen(body));
    CHECK(status_of(r) == 400 && strstr(body_of(r), "boundary"),
          "multipart without boundary answers 400: %s", body_of(r));
    free(r);
    r = mp_raw("bb; charset=utf-8", body, strlen(body));
    CHECK(status_of(r) == 400 && strstr(body_of(r), "boundary"),
          "boundary not the last parameter answers 400");
    free(r);
    r = mp_raw("other", body, strlen(body));
    CHECK(status_of(r) == 400 && strstr(body_of(r), "boundary"),
          "body without its boundary answers 400: %s", body_of(r));
    free(r);
    r = mp_raw("bb", body, strlen(body) - 9);
    CHECK(status_of(r) == 400 && strstr(body_of(r), "cut short"),
          "truncated multipart body answers 400: %s", body_of(r));
    free(r);
    body = "--bb\r\n\r\nno headers\r\n--bb--\r\n";
    r = mp_raw("bb", body, strlen(body));
    CHECK(status_of(r) == 400 && strstr(body_of(r), "no name"),
          "part without headers answers 400: %s", body_of(r));
    free(r);
    r = mp_raw("bb", "--bb--\r\n", 8);
    CHECK(status_of(r) == 200, "multipart body without parts is fine");
    free(r);
    {
        char tail[200];

        snprintf(tail, sizeof tail,
                 "--bb\r\nContent-Disposition: form-data; name=\"a\"\r\n"
                 "\r\n1\r\n--bb--\r\nepilogue\r\n");
        r = mp_raw("bb", tail, strlen(tail));
        CHECK(status_of(r) == 400,
              "data after the closing boundary answers 400 (got %d)",
              status_of(r));
        free(r);
    }
    body = "--bb\r\njust data\r\n--bb--\r\n";
    r = mp_raw("bb", body, strlen(body));
    CHECK(status_of(r) == 400,
          "part with data but no blank line answers "
          "400: %s",
          body_of(r));
    free(r);
    {
        size_t cap = (BOUND_FORM_FIELDS + 1) * 64 + 64, o = 0;
        char *many = malloc(cap);

        for (i = 0; i <= BOUND_FORM_FIELDS; i++)
            o += (size_t)snprintf(many + o, cap - o,
                                  "--bb\r\nContent-Disposition: form-data; "
                                  "name=\"t\"\r\n\r\nv\r\n");
        o += (size_t)snprintf(many + o, cap - o, "--bb--\r\n");
        r = mp_raw("bb", many, o);
        CHECK(status_of(r) == 400 && strstr(body_of(r), "more than"),
              "more than BOUND_FORM_FIELDS parts answers 400: %s", body_of(r));
        free(r);
        o -= 2 * 0;
        /* exactly BOUND_FORM_FIELDS parts are fine */
        o = 0;
        for (i = 0; i < BOUND_FORM_FIELDS; i++)
            o += (size_t)snprintf(many + o, cap - o,
                                  "--bb\r\nContent-Disposition: form-data; "
                                  "name=\"tag\"\r\n\r\nv\r\n");
        o += (size_t)snprintf(many + o, cap - o, "--bb--\r\n");
        r = mp_raw("bb", many, o);
        CHECK(status_of(r) == 200 && strstr(body_of(r), "tags=8"),
              "BOUND_FORM_FIELDS parts are accepted (got %d)", status_of(r));
        free(r);
        free(many);
    }
}

static void test_limits(void)
{
    char *req, *r, h[64];
    size_t i, n;

    req = malloc(60000);
    n = (size_t)snprintf(req, 60000, "GET /");
    memset(req + n, 'a', 5000);
    n += 5000;
    n += (size_t)snprintf(req + n, 100,
                          " HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    r = roundtrip_n(req, n);
    CHECK(status_of(r) == 414, "5,000-byte URL answers 414");
    CHECK(strncmp(body_of(r), "E414 ", 5) == 0, "414 through error_page");
    free(r);

    n = (size_t)snprintf(req, 60000, "GET /");
    memset(req + n, 'a', 40000);
    n += 40000;
    n += (size_t)snprintf(req + n, 100,
                          " HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    r = roundtrip_n(req, n);
    CHECK(status_of(r) == 414, "40,000-byte URL answers 414 (from MHD)");
    free(r);

    /* 20 KB of headers: within MHD's memory, over our bound. */
    n = (size_t)snprintf(req, 60000,
                         "GET / HTTP/1.1\r\nHost: t\r\n"
                         "Connection: close\r\n");
    for (i = 0; i < 20; i++) {
        n += (size_t)snprintf(req + n, 100, "X-Pad-%zu: ", i);
        memset(req + n, 'p', 1000);
        n += 1000;
        n += (size_t)snprintf(req + n, 10, "\r\n");
    }
    n += (size_t)snprintf(req + n, 10, "\r\n");
    r = roundtrip_n(req, n);
    CHECK(status_of(r) == 431, "20 KB of headers answers 431");
    free(r);

    /* 40 KB of headers: past MHD's per-connection memory. */
    n = (size_t)snprintf(req, 60000,
                         "GET / HTTP/1.1\r\nHost: t\r\n"
                         "Connection: close\r\n");
    for (i = 0; i < 40; i++) {
        n += (size_t)snprintf(req + n, 100, "X-Pad-%zu: ", i);
        memset(req + n, 'p', 1000);
        n += 1000;
        n += (size_t)snprintf(req + n, 10, "\r\n");
    }
    n += (size_t)snprintf(req + n, 10, "\r\n");
    r = roundtrip_n(req, n);
    CHECK(status_of(r) == 431 || status_of(r) == 400,
          "40 KB of headers answers 431 (got %d)", status_of(r));
    free(r);
    free(req);

    r = get("GET", "/", NULL);
    CHECK(status_of(r) == 200 && header_of(r, "Content-Length", h, sizeof h),
          "server still answers after the limit tests");
    free(r);
}

static void test_bad_input(void)
{
    static const char *const paths[] = {
        "/../etc/passwd",        "/%00",  "/%ff%fe", "/a/./b",
        "/assets/..%2f..%2fetc", "/x%zz", "/%0a",
    };
    char *r;
    size_t i;

    for (i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        r = get("GET", paths[i], NULL);
        CHECK(status_of(r) == 400 && strncmp(body_of(r), "E400 ", 5) == 0,
              "%s answers 400 through error_page", paths[i]);
        free(r);
    }
    r = get("OPTIONS", "*", NULL);
    CHECK(status_of(r) == 400, "target not starting with '/' answers 400");
    free(r);

    r = get("FOO", "/", NULL);
    CHECK(status_of(r) == 501, "unknown method FOO answers 501");
    free(r);
    r = get("TRACE", "/", NULL);
    CHECK(status_of(r) == 501 && strstr(r, "Allow: GET, HEAD, OPTIONS"),
          "TRACE answers 501 with Allow");
    free(r);
    r = get("CONNECT", "/", NULL);
    CHECK(status_of(r) == 501 || status_of(r) == 405 || status_of(r) == 400,
          "CONNECT refused (got %d)", status_of(r));
    free(r);

    /* MHD 0.9.75 hangs up without an answer on a request line with no
     * space in it; a line with one space gets its own 400. */
    r = roundtrip_n("\x01\x02\r\n\r\n", 6);
    CHECK(status_of(r) == 400 || r[0] == '\0',
          "garbage request line: 400 or closed (got %d)", status_of(r));
    free(r);
    r = get("GET", "/", NULL);
    CHECK(status_of(r) == 200, "next connection after garbage answered");
    free(r);
    r = roundtrip("GET /\r\n\r\n");
    CHECK(status_of(r) == 400, "request line without version answers 400");
    free(r);
    r = roundtrip("\x01\x02 / HTTP/1.1\r\nHost: t\r\nConnection: close"
                  "\r\n\r\n");
    CHECK(status_of(r) == 501, "control bytes as method answer 501");
    free(r);
    r = get("GET", "/", "Content-Length: abc\r\n");
    CHECK(status_of(r) == 400, "bad Content-Length answers 400");
    free(r);
}

static void test_connections(void)
{
    char *r1, *r2, *r;
    const char req[] = "GET / HTTP/1.1\r\nHost: t\r\n\r\n";
    int fd, i, ok = 1;

    fd = dial();
    send_all(fd, req, sizeof req - 1);
    r1 = read_one(fd);
    send_all(fd, req, sizeof req - 1);
    r2 = read_one(fd);
    CHECK(status_of(r1) == 200 && status_of(r2) == 200 &&
              strcmp(body_of(r2), "<p>home</p>") == 0,
          "keep-alive: two requests on one connection both answered");
    free(r1);
    free(r2);
    send_str(fd, "GET /etag HTTP/1.1\r\nHost: t\r\n\r\n"
                 "GET /nope HTTP/1.1\r\nHost: t\r\n\r\n");
    r1 = read_one(fd);
    r2 = read_one(fd);
    CHECK(status_of(r1) == 200 && status_of(r2) == 404,
          "pipelined requests answered in order");
    free(r1);
    free(r2);
    send_str(fd, "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\n"
                 "abc");
    r1 = read_one(fd);
    send_str(fd, "GET /%00 HTTP/1.1\r\nHost: t\r\n\r\n");
    r2 = read_one(fd);
    send_all(fd, req, sizeof req - 1);
    r = read_one(fd);
    CHECK(strcmp(body_of(r1), "len=3") == 0 && status_of(r2) == 400 &&
              status_of(r) == 200,
          "keep-alive survives a POST body and a rejected path");
    free(r1);
    free(r2);
    free(r);
    close(fd);

    for (i = 0; i < 200; i++) {
        fd = dial();
        if (fd < 0) {
            ok = 0;
            break;
        }
        if (i % 2)
            send_all(fd, "GET / HT", 8); /* half a request */
        close(fd);
    }
    CHECK(ok, "200 connections opened and dropped");
    r = get("GET", "/", NULL);
    CHECK(status_of(r) == 200, "normal request after 200 dropped ones");
    free(r);
}

static void test_start_errors(void)
{
    struct http_config cfg = {0};
    struct http_server *s;
    char err[256], listen_on[64], want[128];

    snprintf(listen_on, sizeof listen_on, "127.0.0.1:%u", port);
    cfg.listen = listen_on;
    s = http_server_start(&cfg, err, sizeof err);
    snprintf(want, sizeof want, "cannot listen on '%s': Address already in use",
             listen_on);
    CHECK(s == NULL, "second server on a busy port fails");
    CHECK_STR(err, want, "busy port error message");
    cfg.listen = "nonsense";
    s = http_server_start(&cfg, err, sizeof err);
    CHECK(s == NULL && strstr(err, "cannot listen on 'nonsense'"),
          "bad listen address refused: %s", err);
    cfg.listen = "[::1]:0";
    s = http_server_start(&cfg, err, sizeof err);
    if (s) {
        CHECK(http_server_port(s) > 0, "listens on [::1]");
        http_server_stop(s);
    }
}

/* A second server with the access log on; stderr goes to a file. */
static void test_access_log(void)
{
    struct http_config cfg = {0};
    struct http_server *s;
    char err[256], path[] = "/tmp/test_http_logXXXXXX", text[4096];
    unsigned saved_port = port;
    int fd, saved, n;
    char *r;

    fd = mkstemp(path);
    saved = dup(STDERR_FILENO);
    dup2(fd, STDERR_FILENO);
    cfg.listen = "127.0.0.1:0";
    cfg.threads = 1;
    cfg.routes = routes;
    cfg.nroutes = sizeof routes / sizeof routes[0];
    cfg.access_log = 1;
    log_set_level(LOG_INFO);
    s = http_server_start(&cfg, err, sizeof err);
    port = s ? http_server_port(s) : 0;
    r = get("GET", "/author/x/?a=1", NULL);
    free(r);
    http_server_stop(s);
    log_set_level(LOG_ERROR);
    dup2(saved, STDERR_FILENO);
    close(saved);
    port = saved_port;
    n = (int)pread(fd, text, sizeof text - 1, 0);
    text[n > 0 ? n : 0] = '\0';
    close(fd);
    unlink(path);
    CHECK(strstr(text, "GET /author/x/?a=1 200 8 ") != NULL,
          "access log line: method target status bytes us");
}

int main(void)
{
    struct http_config cfg = {0};
    struct http_server *srv;
    char err[256];

    log_set_level(LOG_ERROR);
    test_helpers();

    cfg.listen = "127.0.0.1:0";
    cfg.routes = routes;
    cfg.nroutes = sizeof routes / sizeof routes[0];
    cfg.not_found = h_not_found;
    cfg.error_page = error_page;
    srv = http_server_start(&cfg, err, sizeof err);
    CHECK(srv != NULL, "server starts on 127.0.0.1:0 (%s)", err);
    if (!srv)
        return check_done();
    port = http_server_port(srv);
    CHECK(port > 0, "port assigned");

    test_basics();
    test_conditional();
    test_bodies();
    test_uploads();
    test_multipart();
    test_limits();
    test_bad_input();
    test_connections();
    test_start_errors();
    http_server_stop(srv);
    test_access_log();
    return check_done();
}
