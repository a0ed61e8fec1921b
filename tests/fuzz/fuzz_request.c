/*
 * fuzz_request.c - libFuzzer target for the whole request path of the
 * HTTP layer (src/http/): request line, header fields, the framing
 * checks (server.c framing()), cookies, query strings, urlencoded and
 * multipart/form-data bodies (multipart.c, through MHD's post
 * processor), conditional headers.
 *
 * A real server (http_server_start on 127.0.0.1:0, two worker threads)
 * is started once; each input is written raw to a fresh connection and
 * the first answer read (see exchange()). The routes read everything a handler
 * can ask for, so every parser runs. Checks: the server answers with an
 * HTTP/1.x status line or closes (a crash, leak or sanitizer report is the
 * failure libFuzzer catches), and after every input a plain GET still gets its
 * 200 (the server stays usable).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "core/arena.h"
#include "core/log.h"
#include "fuzz.h"
#include "http/http.h"

static unsigned port;

/* Reads every input a handler can see, and answers with a digest. */
static int h_all(struct http_req *req, void *app)
{
    static const char *const names[] = {"a", "q", "page", "email", "file", "x"};
    struct arena *a = http_req_arena(req);
    size_t total = 0, len = 0;
    const char *vals[8];

    (void)app;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        const char *v = http_req_query(req, names[i]);
        total += v ? strlen(v) : 0;
        v = http_req_cookie(req, names[i]);
        total += v ? strlen(v) : 0;
        v = http_req_header(req, names[i]);
        total += v ? strlen(v) : 0;
        size_t n = http_req_form_all(req, names[i], vals, 8);
        for (size_t j = 0; j < n; j++)
            total += strlen(vals[j]);
        const struct http_file *f = http_req_file(req, names[i]);
        if (f)
            total += f->len + strlen(f->filename) + strlen(f->type);
    }
    http_req_body(req, &len);
    http_resp_header(req, "ETag", "\"fz\"");
    http_resp_header(req, "Last-Modified", "Sun, 06 Nov 1994 08:49:37 GMT");
    const char *p = http_req_param(req, "*");
    const char *text = arena_printf(a, "%zu %zu %s %s", total, len,
                                    http_req_path(req), p ? p : "-");
    return http_resp_send(req, 200, "text/plain", text, strlen(text));
}

static const struct http_route routes[] = {
    {HTTP_GET | HTTP_POST, "/", h_all, 1 << 20},
    {HTTP_GET | HTTP_POST, "/f/*", h_all, 1 << 20},
};

/* Stops the run with a line saying which check failed (libFuzzer only
 * reports "deadly signal" for an abort). */
static void fail(const char *why)
{
    fprintf(stderr, "fuzz_request: %s (errno %d: %s)\n", why, errno,
            strerror(errno));
    abort();
}

/* A connection to the server. Closing it resets it (SO_LINGER 0), so
 * the two connections of every input leave no TIME_WAIT behind: at a
 * few hundred inputs a second those would use up the ephemeral ports
 * within the 60 s run where the kernel does not reuse them. A refused
 * or out-of-ports connect is retried for a while before it counts. */
static int dial(void)
{
    struct sockaddr_in sa = {0};
    struct timeval tv = {1, 0};
    struct linger lg = {1, 0};

    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    for (int tries = 0; tries < 100; tries++) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        if (fd < 0)
            fail("socket");
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
        if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0)
            return fd;
        close(fd);
        usleep(20000);
    }
    fail("the server stopped accepting connections for 2 s");
    return -1;
}

/* 1 when out (got bytes) holds one whole response: its header block
 * and as many body bytes as its Content-Length says (none for 1xx, 204
 * and 304). Without a Content-Length the answer ends when the server
 * closes. */
static int response_done(const char *out, size_t got)
{
    const char *end = memmem(out, got, "\r\n\r\n", 4);
    const char *cl;

    if (!end)
        return 0;
    size_t head = (size_t)(end - out) + 4;
    if (got >= 12 && (out[9] == '1' || strncmp(out + 9, "204", 3) == 0 ||
                      strncmp(out + 9, "304", 3) == 0))
        return 1;
    cl = strcasestr(out, "\r\nContent-Length:");
    if (!cl || cl > end)
        return 0;
    return got >= head + strtoul(cl + 17, NULL, 10);
}

/* Sends n bytes and reads the answer into out (cap bytes, NUL added):
 * until the first response is whole (the connection is then closed by
 * us: pipelined requests after it are cut off, which servers must bear
 * too), the server closes, or nothing comes for quiet_ms (a request
 * still waiting for bytes that will never come). Returns bytes read. */
#define QUIET_MS 50   /* a fuzz input: most wait for more bytes */
#define PROBE_MS 5000 /* the probe: a loaded machine may stall a while */
static size_t exchange(const void *data, size_t n, char *out, size_t cap,
                       int quiet_ms)
{
    int fd = dial();
    size_t got = 0, off = 0;

    /* EINTR is retried everywhere: libFuzzer's -timeout watchdog sends
     * this process SIGALRM every few seconds (it once failed CI as "no
     * longer serves a plain request (errno 4)") */
    while (off < n) {
        ssize_t w = send(fd, (const char *)data + off, n - off, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break; /* the server may close early on a bad request */
        off += (size_t)w;
    }
    while (got + 1 < cap) {
        struct pollfd pfd = {fd, POLLIN, 0};
        int ready = poll(&pfd, 1, quiet_ms);
        if (ready < 0 && errno == EINTR)
            continue; /* the wait starts again: a few ms longer at most */
        if (ready <= 0)
            break;
        ssize_t r = recv(fd, out + got, cap - 1 - got, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
        out[got] = '\0';
        if (response_done(out, got))
            break;
    }
    out[got] = '\0';
    close(fd);
    return got;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    static struct http_config cfg;
    char err[256];

    (void)argc;
    (void)argv;
    log_set_level(LOG_ERROR);
    cfg.listen = "127.0.0.1:0";
    cfg.threads = 2; /* MHD has no pool of one */
    cfg.routes = routes;
    cfg.nroutes = sizeof routes / sizeof routes[0];
    cfg.conn_timeout_s = 2;
    struct http_server *srv = http_server_start(&cfg, err, sizeof err);
    if (!srv) {
        fprintf(stderr, "fuzz_request: %s\n", err);
        abort();
    }
    port = http_server_port(srv);
    return 0; /* the server lives as long as the process */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char probe[] = "GET /f/ok?a=1 HTTP/1.1\r\nHost: x\r\n"
                                "Connection: close\r\n\r\n";
    char out[16384];

    size_t n = exchange(data, size, out, sizeof out, QUIET_MS);
    if (n > 0 && strncmp(out, "HTTP/1.", 7) != 0)
        fail("something other than a status line went out");
    n = exchange(probe, sizeof probe - 1, out, sizeof out, PROBE_MS);
    if (n < 12 || strncmp(out + 9, "200", 3) != 0)
        fail("the server no longer serves a plain request");
    return 0;
}
