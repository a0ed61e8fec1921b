/*
 * bounds.h - every size limit newsroom enforces, in one place.
 *
 * Hitting one of these is a normal, reported error (a 4xx for a client, a
 * one-line message for the CLI), never a crash. Change a limit here and the
 * whole program follows; docs/limits.md explains the choices.
 */
#ifndef CORE_BOUNDS_H
#define CORE_BOUNDS_H

/* HTTP requests */
#define BOUND_URL_LEN 2048 /* bytes of request target; 414 past it */
#define BOUND_HEADER_BYTES                                                     \
    (16 * 1024) /* all request headers; 431/400 past it */
#define BOUND_BODY_BYTES (1024 * 1024) /* form/API bodies; 413 past it */
/* request body of the few routes that take uploads (desk images; their
 * http_route.max_body); 413 past it */
#define BOUND_UPLOAD_BYTES (25 * 1024 * 1024)
/* Open connections in all, live streams included. Start-up lowers it to
 * what RLIMIT_NOFILE allows (the soft limit is raised to the hard one). */
#define BOUND_CONNECTIONS 20000
/* Open connections from one address. Generous: behind a proxy or CDN every
 * reader shares its address. MHD 0.9.75 in epoll mode stops noticing
 * closed connections once a limit is hit (they linger until the timeout),
 * so the limit must stay well above what one honest client uses. */
#define BOUND_CONNECTIONS_PER_IP 1024
#define BOUND_CONN_TIMEOUT_S 30 /* idle or half-sent request, seconds */
#define BOUND_QUERY_PARAMS 32   /* query-string parameters kept */
#define BOUND_FORM_FIELDS 256   /* form fields kept from one body */
#define BOUND_CONN_MEMORY 32768 /* MHD memory per connection, bytes */
/* Graceful stop (SIGTERM, docs/shutdown.md): seconds in-flight requests
 * get to finish once the server stops accepting, and job workers get to
 * finish their job; what still runs then is cut (requests) or handed back
 * (jobs) and the process exits anyway. */
#define BOUND_DRAIN_S 10

/* Live streams (Server-Sent Events, src/http/sse.c; docs/live.md) */
#define BOUND_SSE_STREAMS 15000 /* open streams per hub; 503 past it */
/* Broadcast bytes waiting for one stream; a reader further behind is
 * disconnected (it reconnects and resumes with Last-Event-ID). */
#define BOUND_SSE_QUEUE_BYTES (256 * 1024)
#define BOUND_SSE_HEARTBEAT_S 15     /* seconds between ": ping" comments */
#define BOUND_SSE_SNDBUF (64 * 1024) /* kernel send buffer per stream */

/* output */
#define BOUND_PAGE_BYTES (4 * 1024 * 1024) /* one rendered response */
#define BOUND_ARENA_BLOCK (64 * 1024)      /* first arena block, bytes */

/* content */
#define BOUND_TITLE_LEN 300              /* headline, bytes */
#define BOUND_META_TITLE_CHARS 300       /* meta title override, characters */
#define BOUND_META_DESCRIPTION_CHARS 500 /* meta description, characters */
#define BOUND_SLUG_LEN 120               /* bytes of a slug */
#define BOUND_MARKDOWN (512 * 1024)      /* article body source, bytes */
#define BOUND_PAGE_SIZE 10               /* articles per archive/list page */
#define BOUND_MAX_PAGE 100000            /* highest ?page= accepted */
/* URLs in one sitemap file, the protocol's most (sitemaps.org); the
 * posts are split into /sitemap-posts-N.xml past it (docs/sitemaps.md) */
#define BOUND_SITEMAP_URLS 50000
/* Most bytes of one sitemap file, uncompressed: the protocol's own limit
 * (50 MB); BOUND_SITEMAP_URLS URLs of the longest base URL and slug stay
 * below it */
#define BOUND_SITEMAP_BYTES (50 * 1024 * 1024)

/* the desk (content/desk.h) */
#define BOUND_STANDFIRST_LEN 1000 /* bytes of a standfirst */
#define BOUND_FIELD_LEN 1000      /* alt text, caption, credit, tag name */
#define BOUND_CORRECTION_LEN 4000 /* bytes of a correction note */
#define BOUND_POST_TAGS 20        /* tags on one post */
#define BOUND_POST_AUTHORS 10     /* bylines on one post */
#define BOUND_PICKS 20            /* Editors' Picks at once */

/* live News Feed, staff accounts (content/live.h, content/staff.h,
 * web/live.h, web/newsfeed.h) */
#define LIVE_HEADLINE_MAX 200    /* bytes of a headline */
#define LIVE_BODY_MAX 4000       /* bytes of a Markdown body */
#define STAFF_EMAIL_MAX 254      /* bytes of an address (RFC 5321) */
#define STAFF_EMAIL_LOCAL_MAX 64 /* bytes before the '@' (RFC 5321) */
#define STAFF_NAME_MAX 200       /* bytes of a display name */
#define STAFF_PASSWORD_MIN 12    /* bytes of a password, at least */
#define STAFF_PASSWORD_MAX 1024  /* bytes of a password, at most */
#define LIVE_REPLAY_MAX 1000     /* events replayed to one resuming reader */
#define FEED_PAGE 20             /* updates on one /news-feed/ page */
#define FEED_SYNDICATED 50       /* updates in the JSON Feed and the RSS feed */
#define FEED_DIGITS 18           /* most digits of an update id or ?before= */

/* desk sign-in (content/session.h, content/totp.h; docs/desk.md) */
#define SIGNIN_WINDOW_S (15 * 60) /* failures counted over this window */
/* failures per account per window from browsers without the account's
 * device cookie; past it those browsers are paused, the owner's are not */
#define SIGNIN_MAX_ACCOUNT 5
#define SIGNIN_MAX_DEVICE 5   /* failures per device cookie per window */
#define SIGNIN_MAX_ADDRESS 20 /* failures per network address per window */
#define SIGNIN_DEVICE_S (400 * 24 * 3600) /* device cookie lifetime */
#define TOTP_PENDING_S 300 /* the sign-in code form lasts this long */
#define TOTP_DRIFT 1       /* 30-second steps accepted either side of now */

/* templates */
#define BOUND_TMPL_DEPTH 64 /* nested sections/partials before refusing */
/* template nodes visited in one render before refusing: the biggest
 * theme page visits a few thousand; nested sections over lists could
 * otherwise ask for 2^depth visits (found by fuzzing) */
#define BOUND_TMPL_STEPS 1000000

/* Content API (web/ghost_api.c) and its NQL filters (content/nql.c) */
#define BOUND_NQL_BYTES 4096   /* bytes of one filter; 400 past it */
#define BOUND_NQL_DEPTH 16     /* nested parentheses */
#define BOUND_NQL_NODES 128    /* comparisons and operators in one filter */
#define BOUND_NQL_LIST 100     /* values in one [a,b,...] list */
#define BOUND_API_LIMIT 100    /* rows per page (limit=all gives this too) */
#define BOUND_API_SCAN 100000  /* posts a filtered or re-ordered browse
                                  reads; past it, the oldest are left out */
#define BOUND_API_BYTES (8 * 1024 * 1024) /* one JSON answer */

/* site.conf */
#define BOUND_CONF_LINE 1024   /* bytes in one line */
#define BOUND_CONF_BYTES 65536 /* whole file */

#endif
