/*
 * sse.c - live streams: Server-Sent Events (WHATWG HTML 9.2) held open on
 * libmicrohttpd without a thread each, fed from any thread through a hub.
 *
 * DESIGN
 * A stream is an MHD response of unknown size whose content reader
 * (stream_read) copies queued events out. With nothing queued it
 * suspends the connection (MHD_suspend_connection) and returns 0: MHD
 * 0.9.75 then leaves it alone - off its epoll set, off its timeout list -
 * until MHD_resume_connection(). Returning 0 without suspending would make
 * MHD call again at once (the connection stays "ready" in epoll mode): a
 * busy loop (measured: both MHD threads at 100% for 10 idle streams). So
 * an idle stream costs no CPU and no thread, and MHD's connection timeout
 * never fires on it (resuming restarts the clock).
 *
 * Broadcast copies the event once into a refcounted chunk and appends a
 * pointer to it to every stream's queue (a ring), resuming the streams
 * that were suspended; each stream drops its reference once the bytes
 * went to MHD. The hub's list is only held long enough to copy it (with a
 * reference on each stream): resuming 10,000 connections takes tens of
 * milliseconds, and MHD's threads must not wait that long to open or end
 * a stream. Broadcasts are serialized among themselves, so every stream
 * sees events in the same order. A stream whose queue would pass its limit is
 * dropped: marked dead, its queue freed, its socket shut down (so MHD notices
 * even while it waits to write), resumed so that the reader returns an error.
 *
 * A suspended connection does not notice a client that hangs up. The
 * hub's thread watches every stream's socket for that (EPOLLRDHUP and
 * errors, in an epoll set of its own) and drops the stream at once. It
 * also sends ": ping" comments when nothing was broadcast for a heartbeat
 * interval, which keeps proxies from closing idle streams, and the
 * kernel's TCP_USER_TIMEOUT turns a peer that vanished without a word
 * into an error on the next unacknowledged heartbeat.
 *
 * Stopping: MHD_stop_daemon() aborts the process if it meets a suspended
 * connection, so http_sse_srv_stop() first marks the server's streams
 * closing and resumes them; each sends what is queued, ends its body
 * (the reader returns END_OF_STREAM) and leaves within a grace period.
 *
 * Locks, always taken in this order: hub->send, hub->lock, srv->lock,
 * stream->lock (hub->send is never held with srv->lock). MHD calls the reader
 * with the response's mutex held and the reader takes only stream->lock; MHD
 * never calls us while holding its own connection-list mutex, which
 * MHD_resume_connection() takes.
 *
 * Lifetime: a stream has two references, the MHD response's (dropped by
 * MHD's free callback) and its membership (dropped by the hub's thread
 * after the stream was removed - never earlier, as an epoll event about
 * it may still be in the thread's hands). A finished stream waits on the
 * hub's graves list for that. A broadcast in progress holds a third.
 */
#include "http/http.h"

#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/bounds.h"
#include "core/log.h"
#include "http/http_internal.h"

/* Bytes MHD lets the reader fill per call for an HTTP/1.0 (unchunked)
 * stream; MHD allocates this much with each response. Chunked streams
 * are filled straight into the connection's write buffer instead. */
#define READ_BLOCK 2048
/* Epoll events the hub's thread takes per wait. */
#define HUB_EVENTS 256
/* Floor for TCP_USER_TIMEOUT (ms); it is otherwise 3 heartbeats. */
#define MIN_USER_TIMEOUT_MS 10000
/* Seconds a client is told to wait after a 503 (Retry-After). */
#define RETRY_AFTER "10"
/* How long a stopping server lets its streams send what is queued and
 * end cleanly before MHD closes what is left, in ms. */
#define STOP_GRACE_MS 1000

static const char ping_text[] = ": ping\n\n";

/* One event's bytes, shared by every queue it is in. */
struct chunk {
    atomic_uint refs; /* queues holding it, plus the broadcaster's */
    size_t len;       /* bytes in data */
    char data[];      /* SSE text */
};

struct http_sse_stream {
    pthread_mutex_t lock;          /* guards the fields marked (l) */
    atomic_int refs;               /* response, membership, broadcasts */
    struct http_sse_hub *hub;      /* the hub it listens to */
    struct http_sse_srv *srv;      /* its server's bookkeeping */
    struct MHD_Connection *conn;   /* its connection; invalid once done */
    int fd;                        /* its socket; invalid once done */
    int in_epoll;                  /* 1 if fd is in hub->epfd (hub->lock) */
    struct http_sse_stream *prev;  /* hub list (hub->lock) */
    struct http_sse_stream *next;  /* hub list (hub->lock) */
    struct http_sse_stream *sprev; /* server list (srv->lock) */
    struct http_sse_stream *snext; /* server list (srv->lock) */
    struct http_sse_stream *grave; /* next on hub->graves (hub->lock) */
    struct chunk **ring;           /* queued events (l) */
    unsigned head;                 /* index of the oldest in ring (l) */
    unsigned count;                /* events in ring (l) */
    unsigned cap;                  /* slots in ring, a power of 2 (l) */
    size_t off;                    /* bytes of ring[head] sent (l) */
    size_t pending;                /* queued bytes not yet sent (l) */
    size_t initial;                /* bytes of the initial text */
    size_t limit;                  /* most broadcast bytes pending */
    uint64_t sent;                 /* bytes handed to MHD (l) */
    int suspended;                 /* 1 while we hold conn suspended (l) */
    int closing;                   /* 1: end cleanly when drained (l) */
    int dead;                      /* 1: abort at the next read (l) */
    int done;                      /* 1: the request is over (l) */
};

struct http_sse_hub {
    pthread_mutex_t send;           /* serializes broadcasts; guards snap */
    struct http_sse_stream **snap;  /* copy of the list for one broadcast */
    size_t snap_cap;                /* slots in snap */
    pthread_mutex_t lock;           /* guards the fields marked (l) */
    struct http_sse_stream *head;   /* open streams (l) */
    atomic_uint count;              /* streams in the list */
    struct http_sse_stream *graves; /* removed, awaiting release (l) */
    unsigned beat_ms;               /* heartbeat interval (l) */
    long long last_beat;            /* ms of the last broadcast/ping (l) */
    int quit;                       /* 1: the thread should end (l) */
    int epfd;                       /* epoll: hang-ups and wake-ups */
    int wakefd;                     /* eventfd that wakes the thread */
    pthread_t thread;               /* heartbeats, hang-ups, releases */
    struct chunk *ping;             /* the shared heartbeat */
};

struct http_sse_srv {
    pthread_mutex_t lock;         /* guards the fields below */
    pthread_cond_t empty;         /* signalled when head becomes NULL */
    struct http_sse_stream *head; /* the server's open streams */
    int stopping;                 /* 1: refuse new streams */
};

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n, size);

    if (!p) {
        fputs("out of memory\n", stderr);
        abort();
    }
    return p;
}

static long long now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- chunks ---- */

static struct chunk *chunk_new(const char *data, size_t len)
{
    struct chunk *c = xcalloc(1, sizeof *c + len);

    atomic_init(&c->refs, 1);
    c->len = len;
    memcpy(c->data, data, len);
    return c;
}

static void chunk_unref(struct chunk *c)
{
    if (atomic_fetch_sub_explicit(&c->refs, 1, memory_order_acq_rel) == 1)
        free(c);
}

/* ---- one stream (its lock held unless said otherwise) ---- */

static void stream_unref(struct http_sse_stream *s)
{
    if (atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) != 1)
        return;
    while (s->count) {
        chunk_unref(s->ring[s->head]);
        s->head = (s->head + 1) & (s->cap - 1);
        s->count--;
    }
    free(s->ring);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

/* Appends c to the queue (taking a reference). */
static void ring_push(struct http_sse_stream *s, struct chunk *c)
{
    if (s->count == s->cap) {
        unsigned cap = s->cap ? s->cap * 2 : 8, i;
        struct chunk **ring = xcalloc(cap, sizeof *ring);

        for (i = 0; i < s->count; i++)
            ring[i] = s->ring[(s->head + i) & (s->cap - 1)];
        free(s->ring);
        s->ring = ring;
        s->head = 0;
        s->cap = cap;
    }
    atomic_fetch_add_explicit(&c->refs, 1, memory_order_relaxed);
    s->ring[(s->head + s->count) & (s->cap - 1)] = c;
    s->count++;
    s->pending += c->len;
}

static void ring_clear(struct http_sse_stream *s)
{
    while (s->count) {
        chunk_unref(s->ring[s->head]);
        s->head = (s->head + 1) & (s->cap - 1);
        s->count--;
    }
    s->off = 0;
    s->pending = 0;
}

/* Lets MHD run the connection again if we suspended it. */
static void wake(struct http_sse_stream *s)
{
    if (!s->suspended)
        return;
    s->suspended = 0;
    MHD_resume_connection(s->conn);
}

/* Ends the stream as soon as MHD gets to it, without sending what is
 * queued: the reader returns an error and MHD closes the connection. */
static void drop(struct http_sse_stream *s)
{
    if (s->dead || s->done)
        return;
    s->dead = 1;
    ring_clear(s);
    shutdown(s->fd, SHUT_RDWR); /* also wakes MHD if it waits to write */
    wake(s);
}

/* Bytes queued from broadcasts (the initial text does not count). */
static size_t behind(const struct http_sse_stream *s)
{
    size_t init_left = s->sent < s->initial ? s->initial - s->sent : 0;

    return s->pending > init_left ? s->pending - init_left : 0;
}

/* Queues c on s. 0 if queued, -1 if s is ending or was just dropped. */
static int stream_push(struct http_sse_stream *s, struct chunk *c)
{
    if (s->dead || s->closing || s->done)
        return -1;
    if (behind(s) + c->len > s->limit) {
        log_info("dropping a live stream that is %zu bytes behind", behind(s));
        drop(s);
        return -1;
    }
    ring_push(s, c);
    wake(s);
    return 0;
}

/*
 * MHD's content reader: copies whole queued events into buf (part of one
 * only when it alone is larger than max). With nothing queued it ends the
 * stream (server stopping) or suspends the connection until a push.
 */
static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    struct http_sse_stream *s = cls;
    ssize_t ret;
    size_t n = 0;

    (void)pos;
    pthread_mutex_lock(&s->lock);
    if (s->dead) {
        ret = MHD_CONTENT_READER_END_WITH_ERROR;
        goto out;
    }
    while (s->count && n < max) {
        struct chunk *c = s->ring[s->head];
        size_t take = c->len - s->off;

        if (take > max - n) {
            if (n)
                break;
            take = max - n;
        }
        memcpy(buf + n, c->data + s->off, take);
        n += take;
        s->off += take;
        s->pending -= take;
        if (s->off == c->len) {
            chunk_unref(c);
            s->head = (s->head + 1) & (s->cap - 1);
            s->count--;
            s->off = 0;
        }
    }
    if (n) {
        s->sent += n;
        ret = (ssize_t)n;
    } else if (s->closing) {
        ret = MHD_CONTENT_READER_END_OF_STREAM;
    } else {
        s->suspended = 1;
        MHD_suspend_connection(s->conn);
        ret = 0;
    }
out:
    pthread_mutex_unlock(&s->lock);
    return ret;
}

/* MHD's free callback for the response: drops the response's ref. */
static void stream_response_gone(void *cls)
{
    stream_unref(cls);
}

/* ---- the hub ---- */

/* Queues c on every stream. Returns how many took it. */
static int fan_out(struct http_sse_hub *hub, struct chunk *c)
{
    struct http_sse_stream *s;
    size_t i, count = 0;
    int n = 0;

    pthread_mutex_lock(&hub->send);
    pthread_mutex_lock(&hub->lock);
    for (s = hub->head; s; s = s->next) {
        if (count == hub->snap_cap) {
            hub->snap_cap = hub->snap_cap ? hub->snap_cap * 2 : 64;
            hub->snap = realloc(hub->snap, hub->snap_cap * sizeof *hub->snap);
            if (!hub->snap) {
                fputs("out of memory\n", stderr);
                abort();
            }
        }
        atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
        hub->snap[count++] = s;
    }
    hub->last_beat = now_ms();
    pthread_mutex_unlock(&hub->lock);
    for (i = 0; i < count; i++) {
        s = hub->snap[i];
        pthread_mutex_lock(&s->lock);
        if (stream_push(s, c) == 0)
            n++;
        pthread_mutex_unlock(&s->lock);
        stream_unref(s);
    }
    pthread_mutex_unlock(&hub->send);
    return n;
}

static void hub_wake(struct http_sse_hub *hub)
{
    uint64_t one = 1;

    if (write(hub->wakefd, &one, sizeof one) < 0 && errno != EAGAIN)
        log_error("cannot wake the live stream thread: %s", strerror(errno));
}

/* The client of s hung up or its socket failed (hub's thread). */
static void stream_hung_up(struct http_sse_stream *s)
{
    pthread_mutex_lock(&s->lock);
    drop(s);
    pthread_mutex_unlock(&s->lock);
}

static void release_graves(struct http_sse_stream *s)
{
    while (s) {
        struct http_sse_stream *next = s->grave;

        stream_unref(s);
        s = next;
    }
}

/* The hub's thread: heartbeats, hang-ups, releasing finished streams. */
static void *hub_run(void *arg)
{
    struct http_sse_hub *hub = arg;
    struct epoll_event ev[HUB_EVENTS];
    struct http_sse_stream *graves;
    long long now, due;
    int i, n, quit, beat;

    for (;;) {
        pthread_mutex_lock(&hub->lock);
        now = now_ms();
        due = hub->last_beat + hub->beat_ms;
        beat = now >= due && hub->head;
        if (now >= due) {
            hub->last_beat = now;
            due = now + hub->beat_ms;
        }
        graves = hub->graves;
        hub->graves = NULL;
        quit = hub->quit;
        pthread_mutex_unlock(&hub->lock);
        /* no event about these can be pending: see DESIGN */
        release_graves(graves);
        if (quit)
            break;
        if (beat)
            fan_out(hub, hub->ping);
        n = epoll_wait(hub->epfd, ev, HUB_EVENTS,
                       (int)(due > now ? due - now : 0));
        if (n < 0 && errno != EINTR) {
            log_error("cannot wait for live stream events: %s",
                      strerror(errno));
            n = 0;
            sleep(1);
        }
        for (i = 0; i < n; i++) {
            if (ev[i].data.ptr) {
                stream_hung_up(ev[i].data.ptr);
            } else {
                uint64_t v;

                if (read(hub->wakefd, &v, sizeof v) < 0 && errno != EAGAIN)
                    log_error("cannot read the live stream wake-up: %s",
                              strerror(errno));
            }
        }
    }
    return NULL;
}

struct http_sse_hub *http_sse_hub_new(void)
{
    struct http_sse_hub *hub = xcalloc(1, sizeof *hub);
    struct epoll_event ev;
    int rc;

    pthread_mutex_init(&hub->send, NULL);
    pthread_mutex_init(&hub->lock, NULL);
    atomic_init(&hub->count, 0);
    hub->beat_ms = BOUND_SSE_HEARTBEAT_S * 1000;
    hub->last_beat = now_ms();
    hub->ping = chunk_new(ping_text, sizeof ping_text - 1);
    hub->wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    hub->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (hub->wakefd < 0 || hub->epfd < 0) {
        log_error("cannot create live stream hub: %s", strerror(errno));
        goto fail;
    }
    memset(&ev, 0, sizeof ev);
    ev.events = EPOLLIN;
    ev.data.ptr = NULL; /* marks the wake-up */
    if (epoll_ctl(hub->epfd, EPOLL_CTL_ADD, hub->wakefd, &ev) != 0) {
        log_error("cannot create live stream hub: %s", strerror(errno));
        goto fail;
    }
    rc = pthread_create(&hub->thread, NULL, hub_run, hub);
    if (rc != 0) {
        log_error("cannot start live stream thread: %s", strerror(rc));
        goto fail;
    }
    return hub;
fail:
    if (hub->wakefd >= 0)
        close(hub->wakefd);
    if (hub->epfd >= 0)
        close(hub->epfd);
    chunk_unref(hub->ping);
    pthread_mutex_destroy(&hub->lock);
    pthread_mutex_destroy(&hub->send);
    free(hub);
    return NULL;
}

void http_sse_hub_free(struct http_sse_hub *hub)
{
    unsigned left;

    if (!hub)
        return;
    left = http_sse_count(hub);
    if (left) {
        log_error("cannot free a live stream hub with %u open streams: "
                  "stop the server first",
                  left);
        return;
    }
    pthread_mutex_lock(&hub->lock);
    hub->quit = 1;
    pthread_mutex_unlock(&hub->lock);
    hub_wake(hub);
    pthread_join(hub->thread, NULL);
    release_graves(hub->graves); /* the thread is gone: no events left */
    close(hub->wakefd);
    close(hub->epfd);
    chunk_unref(hub->ping);
    free(hub->snap);
    pthread_mutex_destroy(&hub->lock);
    pthread_mutex_destroy(&hub->send);
    free(hub);
}

unsigned http_sse_count(const struct http_sse_hub *hub)
{
    if (!hub)
        return 0;
    return atomic_load((atomic_uint *)&hub->count);
}

/* 1 if text ends in a blank line (two line ends: LF, CRLF or CR). */
static int ends_event(const char *t, size_t n)
{
    return (n >= 2 && t[n - 1] == '\n' && t[n - 2] == '\n') ||
           (n >= 2 && t[n - 1] == '\r' && t[n - 2] == '\r') ||
           (n >= 3 && t[n - 1] == '\n' && t[n - 2] == '\r' &&
            t[n - 3] == '\n') ||
           (n >= 4 && memcmp(t + n - 4, "\r\n\r\n", 4) == 0);
}

int http_sse_broadcast(struct http_sse_hub *hub, const char *event, size_t len)
{
    struct chunk *c;
    int n;

    if (!event || !len || !ends_event(event, len)) {
        log_error("cannot broadcast a live event that does not end in a "
                  "blank line");
        return -1;
    }
    if (len > BOUND_SSE_QUEUE_BYTES) {
        log_error("cannot broadcast a live event of %zu bytes: the limit "
                  "is %d",
                  len, BOUND_SSE_QUEUE_BYTES);
        return -1;
    }
    if (!hub)
        return 0;
    c = chunk_new(event, len);
    n = fan_out(hub, c);
    chunk_unref(c);
    return n;
}

/* ---- the server's streams ---- */

struct http_sse_srv *http_sse_srv_new(void)
{
    struct http_sse_srv *ss = xcalloc(1, sizeof *ss);
    pthread_condattr_t ca;

    pthread_mutex_init(&ss->lock, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&ss->empty, &ca);
    pthread_condattr_destroy(&ca);
    return ss;
}

void http_sse_srv_stop(struct http_sse_srv *ss)
{
    struct http_sse_stream *s;
    struct timespec until;

    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += STOP_GRACE_MS / 1000;
    until.tv_nsec += (STOP_GRACE_MS % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&ss->lock);
    ss->stopping = 1;
    for (s = ss->head; s; s = s->snext) {
        pthread_mutex_lock(&s->lock);
        s->closing = 1;
        wake(s);
        pthread_mutex_unlock(&s->lock);
    }
    /* streams that are still sending when this ends are cut by MHD */
    while (ss->head &&
           pthread_cond_timedwait(&ss->empty, &ss->lock, &until) == 0)
        ;
    pthread_mutex_unlock(&ss->lock);
}

void http_sse_srv_free(struct http_sse_srv *ss)
{
    if (!ss)
        return;
    if (ss->head)
        log_error("live streams left at server stop");
    pthread_cond_destroy(&ss->empty);
    pthread_mutex_destroy(&ss->lock);
    free(ss);
}

uint64_t http_sse_stream_done(struct http_sse_stream *s)
{
    struct http_sse_hub *hub = s->hub;
    struct http_sse_srv *ss = s->srv;
    uint64_t sent;
    int was_empty;

    pthread_mutex_lock(&hub->lock);
    pthread_mutex_lock(&ss->lock);
    if (s->sprev)
        s->sprev->snext = s->snext;
    else
        ss->head = s->snext;
    if (s->snext)
        s->snext->sprev = s->sprev;
    if (!ss->head)
        pthread_cond_broadcast(&ss->empty);
    pthread_mutex_unlock(&ss->lock);
    if (s->prev)
        s->prev->next = s->next;
    else
        hub->head = s->next;
    if (s->next)
        s->next->prev = s->prev;
    atomic_fetch_sub(&hub->count, 1);
    /* before MHD closes fd, which it does after this callback */
    if (s->in_epoll && epoll_ctl(hub->epfd, EPOLL_CTL_DEL, s->fd, NULL) != 0)
        log_error("cannot stop watching a live stream: %s", strerror(errno));
    s->in_epoll = 0;
    pthread_mutex_lock(&s->lock);
    s->done = 1;
    ring_clear(s);
    sent = s->sent;
    pthread_mutex_unlock(&s->lock);
    was_empty = hub->graves == NULL;
    s->grave = hub->graves;
    hub->graves = s;
    pthread_mutex_unlock(&hub->lock);
    if (was_empty)
        hub_wake(hub);
    return sent;
}

/* ---- answering a request with a stream ---- */

/* Socket options for a long-lived stream: a bounded kernel send buffer
 * (memory per stream, and a slow reader reaches its queue limit instead
 * of parking megabytes in the kernel), and TCP_USER_TIMEOUT so that a
 * peer gone without FIN or RST fails the next heartbeat. */
static void tune_socket(int fd, unsigned beat_ms)
{
    int sndbuf = BOUND_SSE_SNDBUF;
    unsigned user_timeout = beat_ms * 3;

    if (user_timeout < MIN_USER_TIMEOUT_MS)
        user_timeout = MIN_USER_TIMEOUT_MS;
    if (setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf) != 0)
        log_debug("cannot set SO_SNDBUF on a live stream: %s", strerror(errno));
    if (setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &user_timeout,
                   sizeof user_timeout) != 0)
        log_debug("cannot set TCP_USER_TIMEOUT on a live stream: %s",
                  strerror(errno));
}

static int refuse(struct http_req *req, const char *why)
{
    http_resp_header(req, "Retry-After", RETRY_AFTER);
    return http_error(req, 503, why);
}

/* Takes s into hub and its server. 0, or -1 with *why set (503). */
static int join(struct http_sse_hub *hub, struct http_sse_stream *s,
                unsigned max_streams, unsigned beat_ms, const char **why)
{
    struct http_sse_srv *ss = s->srv;
    struct epoll_event ev;
    int rc = -1, rewake = 0;

    pthread_mutex_lock(&hub->lock);
    if (atomic_load(&hub->count) >= max_streams) {
        *why = "too many live streams are open; try again later";
        goto out;
    }
    pthread_mutex_lock(&ss->lock);
    if (ss->stopping) {
        pthread_mutex_unlock(&ss->lock);
        *why = "the server is stopping";
        goto out;
    }
    s->snext = ss->head;
    if (ss->head)
        ss->head->sprev = s;
    ss->head = s;
    pthread_mutex_unlock(&ss->lock);
    s->next = hub->head;
    if (hub->head)
        hub->head->prev = s;
    hub->head = s;
    atomic_fetch_add(&hub->count, 1);
    if (beat_ms < hub->beat_ms) {
        hub->beat_ms = beat_ms;
        rewake = 1;
    }
    memset(&ev, 0, sizeof ev);
    ev.events = EPOLLRDHUP | EPOLLET; /* EPOLLERR, EPOLLHUP implied */
    ev.data.ptr = s;
    if (epoll_ctl(hub->epfd, EPOLL_CTL_ADD, s->fd, &ev) == 0)
        s->in_epoll = 1;
    else
        log_warn("cannot watch a live stream for hang-ups: %s",
                 strerror(errno));
    rc = 0;
out:
    pthread_mutex_unlock(&hub->lock);
    if (rewake)
        hub_wake(hub);
    return rc;
}

/* HEAD: the headers a GET would get, no body. */
static int sse_head(struct http_req *req)
{
    http_resp_header(req, "Cache-Control", "no-store");
    http_resp_header(req, "X-Accel-Buffering", "no");
    return http_resp_send_static(req, 200, "text/event-stream", "", 0);
}

int http_resp_sse(struct http_req *req, struct http_sse_hub *hub,
                  const char *initial, size_t len)
{
    const struct http_config *cfg = http_req_config(req);
    struct MHD_Connection *conn = http_req_conn(req);
    const union MHD_ConnectionInfo *ci;
    struct http_sse_stream *s;
    struct MHD_Response *resp;
    const char *why = NULL;
    unsigned beat_ms, max_streams;
    int rc;

    if (!conn) {
        log_error("cannot open a live stream before the request is read");
        return -1;
    }
    if (!hub)
        return refuse(req, "live streams are not available");
    if (http_req_method(req) == HTTP_HEAD)
        return sse_head(req);
    ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    if (!ci) {
        log_error("cannot open a live stream: no socket");
        return -1;
    }
    if (http_resp_header(req, "Cache-Control", "no-store") < 0 ||
        http_resp_header(req, "X-Accel-Buffering", "no") < 0)
        return -1;
    beat_ms = cfg->sse_heartbeat_ms ? cfg->sse_heartbeat_ms
                                    : BOUND_SSE_HEARTBEAT_S * 1000;
    max_streams =
        cfg->sse_max_streams ? cfg->sse_max_streams : BOUND_SSE_STREAMS;

    s = xcalloc(1, sizeof *s);
    pthread_mutex_init(&s->lock, NULL);
    atomic_init(&s->refs, 2);
    s->hub = hub;
    s->srv = http_req_sse_srv(req);
    s->conn = conn;
    s->fd = ci->connect_fd;
    s->limit = BOUND_SSE_QUEUE_BYTES;
    if (len) {
        struct chunk *c = chunk_new(initial, len);

        ring_push(s, c);
        chunk_unref(c);
        s->initial = len;
    }
    if (join(hub, s, max_streams, beat_ms, &why) < 0) {
        atomic_store(&s->refs, 1);
        stream_unref(s);
        return refuse(req, why);
    }
    tune_socket(s->fd, beat_ms);
    resp = MHD_create_response_from_callback(
        MHD_SIZE_UNKNOWN, READ_BLOCK, stream_read, s, stream_response_gone);
    if (!resp) {
        log_error("cannot create a live stream response");
        stream_unref(s); /* the response's reference */
        http_sse_stream_done(s);
        return -1;
    }
    rc = http_resp_queue(req, 200, "text/event-stream", resp);
    MHD_destroy_response(resp); /* MHD keeps its own reference */
    if (rc < 0) {
        http_sse_stream_done(s);
        return -1;
    }
    http_req_set_sse(req, s);
    return rc;
}
