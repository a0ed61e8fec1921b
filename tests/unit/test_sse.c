/*
 * test_sse.c - live streams (Server-Sent Events) as clients see them: a
 * server on 127.0.0.1:0 whose handler calls http_resp_sse(), spoken to
 * over raw sockets. Checks the headers, that the initial text comes first
 * and broadcasts follow in order on many streams at once, heartbeats,
 * that an idle stream outlives the connection timeout, that a reader who
 * stops reading is dropped while the others go on, the stream limit
 * (503), that hang-ups are noticed, a clean stop with streams open, and
 * that idle streams cost no CPU.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "core/bounds.h"
#include "core/log.h"
#include "http/http.h"

#define BEAT_MS 300 /* heartbeat of the test server */
#define INITIAL "retry: 1000\n\nid: 0\ndata: hello\n\n"
#define PING ": ping\n\n"

static unsigned port;

/* ---- the server side ---- */

static int h_live(struct http_req *req, void *app)
{
    return http_resp_sse(req, app, INITIAL, strlen(INITIAL));
}

static int h_plain(struct http_req *req, void *app)
{
    (void)app;
    return http_resp_send_static(req, 200, "text/plain", "ok", 2);
}

static const struct http_route routes[] = {
    {HTTP_GET, "/live", h_live},
    {HTTP_GET, "/plain", h_plain},
};

static struct http_server *start(struct http_sse_hub *hub, unsigned beat_ms,
                                 unsigned timeout_s, unsigned max_streams)
{
    struct http_config cfg = {0};
    struct http_server *srv;
    char err[256];

    cfg.listen = "127.0.0.1:0";
    cfg.routes = routes;
    cfg.nroutes = sizeof routes / sizeof routes[0];
    cfg.app = hub;
    cfg.sse_heartbeat_ms = beat_ms;
    cfg.conn_timeout_s = timeout_s;
    cfg.sse_max_streams = max_streams;
    srv = http_server_start(&cfg, err, sizeof err);
    CHECK(srv != NULL, "server starts (%s)", err);
    return srv;
}

/* ---- a raw SSE client ---- */

struct client {
    int fd;         /* socket, or -1 once closed by us */
    char *raw;      /* every byte received */
    size_t rawlen;  /* bytes in raw */
    size_t rawcap;  /* bytes allocated */
    size_t hdr_len; /* bytes of the response head; 0 until complete */
    int chunked;    /* 1 if Transfer-Encoding: chunked */
    size_t parsed;  /* raw bytes decoded into body so far */
    char *body;     /* decoded body, NUL-terminated */
    size_t bodylen; /* bytes in body */
    size_t bodycap; /* bytes allocated */
    int ended;      /* 1 after the last chunk (0-size) */
    int eof;        /* 1 once the server closed or reset */
};

static long long now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

    nanosleep(&ts, NULL);
}

static void grow(char **p, size_t *cap, size_t need)
{
    if (need <= *cap)
        return;
    while (*cap < need)
        *cap = *cap ? *cap * 2 : 4096;
    *p = realloc(*p, *cap);
    if (!*p)
        abort();
}

/* Connects; rcvbuf > 0 sets a small receive buffer first. -1 on error. */
static int dial(int rcvbuf)
{
    struct sockaddr_in sa;
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    if (fd < 0)
        return -1;
    if (rcvbuf > 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((unsigned short)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static void send_str(int fd, const char *s)
{
    size_t n = strlen(s);

    while (n) {
        ssize_t w = send(fd, s, n, MSG_NOSIGNAL);

        if (w <= 0)
            return;
        s += w;
        n -= (size_t)w;
    }
}

static void client_open(struct client *c, const char *request, int rcvbuf)
{
    memset(c, 0, sizeof *c);
    c->fd = dial(rcvbuf);
    if (c->fd >= 0)
        send_str(c->fd, request);
}

static void client_get(struct client *c, int rcvbuf)
{
    client_open(c,
                "GET /live HTTP/1.1\r\nHost: t\r\n"
                "Accept: text/event-stream\r\n\r\n",
                rcvbuf);
}

static void client_close(struct client *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
}

static void client_free(struct client *c)
{
    client_close(c);
    free(c->raw);
    free(c->body);
    memset(c, 0, sizeof *c);
    c->fd = -1;
}

static void body_add(struct client *c, const char *p, size_t n)
{
    grow(&c->body, &c->bodycap, c->bodylen + n + 1);
    memcpy(c->body + c->bodylen, p, n);
    c->bodylen += n;
    c->body[c->bodylen] = '\0';
}

/* Decodes what arrived: the head once, then chunks (or raw bytes). */
static void client_decode(struct client *c)
{
    if (!c->hdr_len) {
        char *end = c->raw ? memmem(c->raw, c->rawlen, "\r\n\r\n", 4) : NULL;

        if (!end)
            return;
        c->hdr_len = (size_t)(end - c->raw) + 4;
        c->parsed = c->hdr_len;
        c->chunked = memmem(c->raw, c->hdr_len, "Transfer-Encoding: chunked",
                            26) != NULL;
        body_add(c, "", 0);
    }
    if (!c->chunked) {
        body_add(c, c->raw + c->parsed, c->rawlen - c->parsed);
        c->parsed = c->rawlen;
        return;
    }
    while (!c->ended) {
        char *p = c->raw + c->parsed;
        size_t left = c->rawlen - c->parsed, size;
        char *eol = memmem(p, left, "\r\n", 2), *hex_end;

        if (!eol)
            return;
        size = strtoul(p, &hex_end, 16);
        if (hex_end == p) {
            c->ended = 1; /* garbage: stop decoding */
            return;
        }
        if ((size_t)(eol - p) + 2 + size + 2 > left)
            return;
        if (size == 0) {
            c->ended = 1;
            c->parsed += (size_t)(eol - p) + 4;
            return;
        }
        body_add(c, eol + 2, size);
        c->parsed += (size_t)(eol - p) + 2 + size + 2;
    }
}

/* Reads whatever is there without waiting. */
static void client_pump(struct client *c)
{
    for (;;) {
        ssize_t r;

        if (c->fd < 0 || c->eof)
            return;
        grow(&c->raw, &c->rawcap, c->rawlen + 65536 + 1);
        r = recv(c->fd, c->raw + c->rawlen, 65536, MSG_DONTWAIT);
        if (r > 0) {
            c->rawlen += (size_t)r;
            c->raw[c->rawlen] = '\0';
            client_decode(c);
            continue;
        }
        if (r == 0 ||
            (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
            c->eof = 1;
        return;
    }
}

typedef int (*client_pred)(const struct client *c, const void *arg);

/* Pumps the clients until pred holds for each or timeout_ms passed.
 * Returns 1 if it held for all. */
static int wait_all(struct client *cs, size_t n, client_pred pred,
                    const void *arg, long timeout_ms)
{
    struct pollfd *pfd = calloc(n, sizeof *pfd);
    long long end = now_ms() + timeout_ms;
    size_t i, done;
    int ok = 0;

    for (;;) {
        done = 0;
        for (i = 0; i < n; i++) {
            client_pump(&cs[i]);
            pfd[i].fd = pred(&cs[i], arg) || cs[i].eof ? -1 : cs[i].fd;
            pfd[i].events = POLLIN;
            if (pred(&cs[i], arg))
                done++;
        }
        if (done == n) {
            ok = 1;
            break;
        }
        if (now_ms() >= end)
            break;
        poll(pfd, (nfds_t)n, 50);
    }
    free(pfd);
    return ok;
}

/* The body with every ": ping" comment taken out (caller frees). */
static char *without_pings(const char *body)
{
    size_t n = strlen(body), pl = strlen(PING), o = 0;
    char *out = malloc(n + 1);
    const char *p = body, *q;

    while ((q = strstr(p, PING))) {
        memcpy(out + o, p, (size_t)(q - p));
        o += (size_t)(q - p);
        p = q + pl;
    }
    memcpy(out + o, p, strlen(p) + 1);
    return out;
}

static int has_body(const struct client *c, const void *arg)
{
    const char *want = arg;
    char *got;
    int ok;

    if (!c->body)
        return 0;
    got = without_pings(c->body);
    ok = strcmp(got, want) == 0;
    free(got);
    return ok;
}

static int has_text(const struct client *c, const void *arg)
{
    return c->body && strstr(c->body, arg) != NULL;
}

static int has_head(const struct client *c, const void *arg)
{
    (void)arg;
    return c->hdr_len > 0;
}

static int is_closed(const struct client *c, const void *arg)
{
    (void)arg;
    return c->eof;
}

static int body_at_least(const struct client *c, const void *arg)
{
    return c->body && c->bodylen >= *(const size_t *)arg;
}

/* The value of header name in the head of c (into out), or NULL. */
static const char *head_value(const struct client *c, const char *name,
                              char *out, size_t outlen)
{
    size_t nl = strlen(name);
    const char *p = c->raw, *end = c->raw + c->hdr_len;

    while (p && p < end) {
        const char *eol = strstr(p, "\r\n");

        if (!eol || eol >= end)
            break;
        if ((size_t)(eol - p) > nl && strncasecmp(p, name, nl) == 0 &&
            p[nl] == ':') {
            const char *v = p + nl + 1;

            while (*v == ' ')
                v++;
            snprintf(out, outlen, "%.*s", (int)(eol - v), v);
            return out;
        }
        p = eol + 2;
    }
    return NULL;
}

static int wait_count(struct http_sse_hub *hub, unsigned want, long ms)
{
    long long end = now_ms() + ms;

    while (http_sse_count(hub) != want && now_ms() < end)
        sleep_ms(5);
    return http_sse_count(hub) == want;
}

/* ---- tests ---- */

static void test_headers(struct http_sse_hub *hub)
{
    struct client c, c10, h;
    char v[256], want[256];
    const char *ev = "id: 1\ndata: one\n\n";
    int n;

    client_get(&c, 0);
    CHECK(wait_all(&c, 1, has_body, INITIAL, 2000),
          "the initial text is the first thing in the body");
    CHECK(strncmp(c.raw, "HTTP/1.1 200", 12) == 0, "status 200");
    CHECK(head_value(&c, "Content-Type", v, sizeof v) &&
              strcmp(v, "text/event-stream") == 0,
          "Content-Type: text/event-stream");
    CHECK(head_value(&c, "Cache-Control", v, sizeof v) &&
              strcmp(v, "no-store") == 0,
          "Cache-Control: no-store");
    CHECK(head_value(&c, "X-Accel-Buffering", v, sizeof v) &&
              strcmp(v, "no") == 0,
          "X-Accel-Buffering: no");
    CHECK(!head_value(&c, "Content-Length", v, sizeof v), "no Content-Length");
    CHECK(c.chunked, "HTTP/1.1 stream is chunked");
    CHECK(head_value(&c, "X-Content-Type-Options", v, sizeof v) != NULL,
          "security headers are there too");
    CHECK(http_sse_count(hub) == 1, "one stream open");

    /* HTTP/1.0: no chunking, the body ends when the connection does */
    client_open(&c10, "GET /live HTTP/1.0\r\nHost: t\r\n\r\n", 0);
    CHECK(wait_all(&c10, 1, has_body, INITIAL, 2000),
          "HTTP/1.0 client gets the initial text");
    CHECK(!c10.chunked && !head_value(&c10, "Content-Length", v, sizeof v),
          "HTTP/1.0 stream is close-delimited");

    n = http_sse_broadcast(hub, ev, strlen(ev));
    CHECK(n == 2, "broadcast reaches both streams (%d)", n);
    snprintf(want, sizeof want, "%s%s", INITIAL, ev);
    CHECK(wait_all(&c, 1, has_body, want, 2000),
          "a broadcast event follows the initial text");
    CHECK(wait_all(&c10, 1, has_body, want, 2000),
          "and reaches the HTTP/1.0 stream");

    CHECK(http_sse_broadcast(hub, "data: x\n", 8) == -1,
          "an event without a blank line at the end is refused");
    CHECK(http_sse_broadcast(hub, "", 0) == -1, "an empty event is refused");

    client_open(&h,
                "HEAD /live HTTP/1.1\r\nHost: t\r\n"
                "Connection: close\r\n\r\n",
                0);
    CHECK(wait_all(&h, 1, is_closed, NULL, 2000) &&
              strncmp(h.raw ? h.raw : "", "HTTP/1.1 200", 12) == 0 &&
              head_value(&h, "Content-Type", v, sizeof v) &&
              strcmp(v, "text/event-stream") == 0 && h.bodylen == 0,
          "HEAD gets the stream's headers and no body");
    CHECK(http_sse_count(hub) == 2, "HEAD opens no stream");

    client_free(&c);
    client_free(&c10);
    client_free(&h);
    CHECK(wait_count(hub, 0, 2000), "closed clients leave the hub");
}

static void test_many(struct http_sse_hub *hub)
{
    enum { N = 200, EVENTS = 20 };
    struct client *cs = calloc(N, sizeof *cs);
    char want[8192], ev[64];
    size_t i, o;
    long long t0, ms;
    int k, total = 0;

    for (i = 0; i < N; i++)
        client_get(&cs[i], 0);
    CHECK(wait_all(cs, N, has_body, INITIAL, 5000),
          "%d streams get their initial text", N);
    CHECK(http_sse_count(hub) == N, "http_sse_count says %d (%u)", N,
          http_sse_count(hub));
    o = (size_t)snprintf(want, sizeof want, "%s", INITIAL);
    t0 = now_ms();
    for (k = 1; k <= EVENTS; k++) {
        snprintf(ev, sizeof ev, "id: %d\nevent: post\ndata: event %d\n\n", k,
                 k);
        total += http_sse_broadcast(hub, ev, strlen(ev));
        o += (size_t)snprintf(want + o, sizeof want - o, "%s", ev);
    }
    CHECK(total == N * EVENTS, "every broadcast queued to every stream");
    CHECK(wait_all(cs, N, has_body, want, 1000),
          "%d events arrive in order on %d streams within 1 s", EVENTS, N);
    ms = now_ms() - t0;
    printf("# %d events to %d streams delivered in %lld ms\n", EVENTS, N, ms);
    for (i = 0; i < N; i++)
        client_free(&cs[i]);
    free(cs);
    CHECK(wait_count(hub, 0, 2000), "all %d streams closed", N);
}

static void test_heartbeat_and_timeout(struct http_sse_hub *hub)
{
    struct client c, plain;
    const char *ev = "id: 9\ndata: still here\n\n";
    long long t0 = now_ms();

    client_get(&c, 0);
    CHECK(wait_all(&c, 1, has_text, PING, 3 * BEAT_MS),
          "a heartbeat comment arrives within a heartbeat interval");
    printf("# first heartbeat after %lld ms\n", now_ms() - t0);

    /* the test server's timeout is 1 s: a plain keep-alive connection
     * idle that long is closed, an idle stream is not */
    client_open(&plain, "GET /plain HTTP/1.1\r\nHost: t\r\n\r\n", 0);
    CHECK(wait_all(&plain, 1, has_head, NULL, 2000), "plain request served");
    sleep_ms(3000);
    client_pump(&plain);
    client_pump(&c);
    CHECK(plain.eof, "an idle keep-alive connection times out (1 s)");
    CHECK(!c.eof && http_sse_count(hub) == 1,
          "an idle stream outlives the timeout threefold");
    http_sse_broadcast(hub, ev, strlen(ev));
    CHECK(wait_all(&c, 1, has_text, ev, 2000),
          "and still receives events after 3 s idle");
    client_free(&c);
    client_free(&plain);
    CHECK(wait_count(hub, 0, 2000), "stream closed");
}

static void test_slow_reader(struct http_sse_hub *hub)
{
    enum { FAST = 3, EVENTS = 512, SIZE = 4096 };
    struct client fast[FAST], slow;
    char *ev = malloc(SIZE + 1);
    size_t want_len, slow_len;
    int k, n = 0, kept = 1, dropped_at = -1;

    for (k = 0; k < FAST; k++)
        client_get(&fast[k], 0);
    client_get(&slow, 4096);
    CHECK(wait_all(fast, FAST, has_body, INITIAL, 2000) &&
              wait_all(&slow, 1, has_body, INITIAL, 2000),
          "four streams open");
    for (k = 1; k <= EVENTS; k++) {
        int h = snprintf(ev, SIZE, "id: %d\ndata: ", k);

        memset(ev + h, 'x', SIZE - (size_t)h - 2);
        memcpy(ev + SIZE - 2, "\n\n", 3);
        n = http_sse_broadcast(hub, ev, SIZE);
        if (n < FAST + 1 && dropped_at < 0)
            dropped_at = k;
        if (n < FAST)
            kept = 0;
        if (k % 16 == 0) { /* the fast ones keep up */
            want_len = strlen(INITIAL) + (size_t)k * SIZE;
            wait_all(fast, FAST, body_at_least, &want_len, 5000);
        }
    }
    want_len = strlen(INITIAL) + (size_t)EVENTS * SIZE;
    CHECK(kept && wait_all(fast, FAST, body_at_least, &want_len, 5000),
          "readers that keep up get all 2 MB");
    CHECK(fast[0].bodylen >= want_len &&
              memcmp(fast[0].body + fast[0].bodylen - SIZE, ev, SIZE) == 0,
          "the last event arrives intact");
    CHECK(dropped_at > 0 && dropped_at < EVENTS,
          "the reader that stopped is dropped (after %d KB)",
          dropped_at * SIZE / 1024);
    CHECK(wait_count(hub, FAST, 2000), "the hub counts %d streams", FAST);
    CHECK(wait_all(&slow, 1, is_closed, NULL, 5000),
          "the dropped reader sees its connection end");
    slow_len = slow.bodylen;
    CHECK(slow_len < want_len / 2, "having got %zu of %zu bytes", slow_len,
          want_len);
    for (k = 0; k < FAST; k++)
        client_free(&fast[k]);
    client_free(&slow);
    free(ev);
    CHECK(wait_count(hub, 0, 2000), "streams closed");
}

static void test_hangups(struct http_sse_hub *hub)
{
    enum { N = 50 };
    struct client cs[N];
    struct linger lg = {1, 0};
    long long t0, ms;
    int i;

    for (i = 0; i < N; i++)
        client_get(&cs[i], 0);
    CHECK(wait_all(cs, N, has_body, INITIAL, 3000), "%d streams open", N);
    CHECK(http_sse_count(hub) == N, "counted");
    t0 = now_ms();
    for (i = 0; i < N; i++) {
        if (i % 2) /* half hang up with a reset */
            setsockopt(cs[i].fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
        client_close(&cs[i]);
    }
    CHECK(wait_count(hub, 0, BEAT_MS), "hang-ups (FIN and RST) are noticed "
                                       "within a heartbeat");
    ms = now_ms() - t0;
    printf("# %d hang-ups noticed in %lld ms\n", N, ms);
    for (i = 0; i < N; i++)
        client_free(&cs[i]);
}

/* At MHD's per-address connection limit (where MHD 0.9.75 in epoll mode
 * stops noticing closed connections), hang-ups of streams are still seen
 * and their places taken again. */
static void test_at_address_limit(struct http_sse_hub *hub)
{
    enum { N = BOUND_CONNECTIONS_PER_IP, GONE = 100 };
    struct client *cs = calloc(N, sizeof *cs), extra;
    int i;

    for (i = 0; i < N; i++)
        client_get(&cs[i], 0);
    CHECK(wait_all(cs, N, has_body, INITIAL, 10000),
          "%d streams from one address open", N);
    client_get(&extra, 0);
    CHECK(wait_all(&extra, 1, is_closed, NULL, 2000) && !extra.hdr_len,
          "one more connection from that address is closed");
    client_free(&extra);
    for (i = 0; i < GONE; i++)
        client_close(&cs[i]);
    CHECK(wait_count(hub, N - GONE, BEAT_MS),
          "%d hang-ups at the limit are noticed within a heartbeat", GONE);
    for (i = 0; i < GONE; i++) {
        client_free(&cs[i]);
        client_get(&cs[i], 0);
    }
    CHECK(wait_all(cs, GONE, has_body, INITIAL, 5000),
          "and %d new streams take their places", GONE);
    for (i = 0; i < N; i++)
        client_free(&cs[i]);
    free(cs);
    CHECK(wait_count(hub, 0, 5000), "all closed");
}

static void test_limit(void)
{
    struct http_sse_hub *hub = http_sse_hub_new();
    struct http_server *srv = start(hub, BEAT_MS, 0, 3);
    struct client cs[3], extra;
    char v[64];
    int i;

    if (!srv)
        return;
    port = http_server_port(srv);
    for (i = 0; i < 3; i++)
        client_get(&cs[i], 0);
    CHECK(wait_all(cs, 3, has_body, INITIAL, 2000), "streams up to the limit "
                                                    "open");
    client_get(&extra, 0);
    CHECK(wait_all(&extra, 1, has_head, NULL, 2000) &&
              strncmp(extra.raw, "HTTP/1.1 503", 12) == 0,
          "one past the limit gets 503");
    CHECK(head_value(&extra, "Retry-After", v, sizeof v) != NULL,
          "with Retry-After");
    CHECK(http_sse_count(hub) == 3, "the hub still counts 3");
    client_free(&extra);
    client_free(&cs[0]);
    CHECK(wait_count(hub, 2, 2000), "one leaves");
    client_get(&extra, 0);
    CHECK(wait_all(&extra, 1, has_body, INITIAL, 2000),
          "and a new stream fits again");
    client_free(&extra);
    for (i = 1; i < 3; i++)
        client_free(&cs[i]);
    http_server_stop(srv);
    CHECK(http_sse_count(hub) == 0, "no streams after stop");
    http_sse_hub_free(hub);
}

static void test_stop(struct http_server *srv, struct http_sse_hub *hub)
{
    enum { N = 20 };
    struct client cs[N];
    const char *ev = "data: last\n\n";
    int i, clean = 0;

    for (i = 0; i < N; i++)
        client_get(&cs[i], 0);
    CHECK(wait_all(cs, N, has_body, INITIAL, 2000), "%d streams open", N);
    http_sse_broadcast(hub, ev, strlen(ev));
    http_server_stop(srv);
    CHECK(http_sse_count(hub) == 0, "stop removes every stream");
    CHECK(wait_all(cs, N, is_closed, NULL, 2000),
          "every client sees its stream end");
    for (i = 0; i < N; i++)
        clean += cs[i].ended && strstr(cs[i].body, ev) != NULL;
    CHECK(clean == N,
          "each got what was queued, then the last chunk "
          "(%d of %d)",
          clean, N);
    CHECK(http_sse_broadcast(hub, ev, strlen(ev)) == 0,
          "broadcast after stop reaches nobody");
    for (i = 0; i < N; i++)
        client_free(&cs[i]);
    http_sse_hub_free(hub);
}

static double cpu_s(void)
{
    struct rusage ru;

    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

static void test_idle_cpu(void)
{
    enum { N = 500 };
    struct http_sse_hub *hub = http_sse_hub_new();
    struct http_server *srv = start(hub, 0, 0, 0); /* defaults */
    struct client *cs = calloc(N, sizeof *cs);
    const char *ev = "data: wake\n\n";
    double c0, c1, pct;
    long long t0, t1;
    int i, n;

    if (!srv)
        return;
    port = http_server_port(srv);
    for (i = 0; i < N; i++)
        client_get(&cs[i], 0);
    CHECK(wait_all(cs, N, has_body, INITIAL, 10000), "%d idle streams open", N);
    sleep_ms(200);
    t0 = now_ms();
    c0 = cpu_s();
    sleep_ms(2000);
    c1 = cpu_s();
    t1 = now_ms();
    pct = 100.0 * (c1 - c0) / ((double)(t1 - t0) / 1000.0);
    printf("# CPU with %d idle streams: %.2f%% of a core\n", N, pct);
    CHECK(pct < 5.0, "%d idle streams cost under 5%% of a core", N);
    t0 = now_ms();
    n = http_sse_broadcast(hub, ev, strlen(ev));
    t1 = now_ms();
    CHECK(n == N, "one broadcast reaches all %d", N);
    printf("# broadcast to %d streams took %lld ms\n", N, t1 - t0);
    CHECK(wait_all(cs, N, has_text, ev, 2000), "and wakes them all");
    http_server_stop(srv);
    for (i = 0; i < N; i++)
        client_free(&cs[i]);
    free(cs);
    http_sse_hub_free(hub);
}

int main(void)
{
    struct http_sse_hub *hub;
    struct http_server *srv;

    log_set_level(LOG_ERROR);
    CHECK(http_sse_count(NULL) == 0 &&
              http_sse_broadcast(NULL, PING, strlen(PING)) == 0,
          "a NULL hub has no streams");
    http_sse_hub_free(NULL);

    hub = http_sse_hub_new();
    CHECK(hub != NULL, "hub created");
    srv = start(hub, BEAT_MS, 1, 0);
    if (!hub || !srv)
        return check_done();
    port = http_server_port(srv);

    test_headers(hub);
    test_many(hub);
    test_heartbeat_and_timeout(hub);
    test_slow_reader(hub);
    test_hangups(hub);
    test_at_address_limit(hub);
    test_stop(srv, hub);
    test_limit();
    test_idle_cpu();
    return check_done();
}
