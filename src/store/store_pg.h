/*
 * store_pg.h - the PostgreSQL backend's state, shared by its two files;
 * internal to src/store/.
 *
 * store_pg.c implements store_ops (statements, transactions, the pool of
 * per-thread connections); store_pg_setup.c connects, applies the
 * schema_pg/ migrations and runs the listener thread behind
 * store_version(). store_pg.c's DESIGN comment explains the whole.
 */
#ifndef STORE_STORE_PG_H
#define STORE_STORE_PG_H

#include <libpq-fe.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>

#include "store/backend.h"

/* Prepared statement slots of a connection: the fixed statements, then
 * one per posts-list shape with and without body, and per count. */
#define STORE_PG_SLOTS 512

struct store_pg;

/* One thread's connection and which statements it has prepared. */
struct store_pg_conn {
    struct store_pg *owner;                 /* the store it belongs to */
    PGconn *pg;                             /* open connection */
    unsigned char prepared[STORE_PG_SLOTS]; /* 1 = slot i prepared as "sI" */
    int in_tx;                       /* 1 between store_tx_begin/commit */
    int pid;                         /* server backend pid (guarded by mu) */
    struct store_pg_conn *next_all;  /* every connection of the store */
    struct store_pg_conn *next_free; /* free list, when not on a thread */
};

struct store_pg {
    struct store base;           /* must be first: ops */
    char *url;                   /* "postgresql://..." for libpq (malloc) */
    char *label;                 /* url without password, for messages */
    pthread_key_t key;           /* this thread's struct store_pg_conn */
    int key_made;                /* 1 once key exists */
    pthread_mutex_t mu;          /* guards all, free and every conn's pid */
    struct store_pg_conn *all;   /* every connection opened */
    struct store_pg_conn *free;  /* connections of exited threads */
    PGconn *listen;              /* LISTENs; the listener thread's own
                                    once it runs; NULL while reconnecting */
    pthread_t listener;          /* the thread counting notifications */
    int listener_started;        /* 1 once listener runs */
    int stop[2];                 /* pipe: closing stop[1] ends the
                                    listener; -1 when not open */
    atomic_uint_fast64_t own;    /* commits made by this store */
    atomic_uint_fast64_t others; /* commits seen through NOTIFY */
    atomic_int listening;        /* 1 while listen is connected */
};

/* Copies msg (a libpq message, NULL ok) into buf (size len > 0) on one
 * line: runs of whitespace become one space. Returns buf. */
const char *store_pg_one_line(char *buf, size_t len, const char *msg);

/* url without its password and query string, for messages (malloc; NULL
 * when out of memory). */
char *store_pg_label(const char *url);

/* Connects to url with newsroom's settings (UTF-8, a connect timeout,
 * server notices to the debug log). NULL with a reason naming label. */
PGconn *store_pg_connect(const char *url, const char *label, char *err,
                         size_t errlen);

/* Applies every embedded schema_pg/ migration newer than the database on
 * pg, in order, each in one transaction with its schema_migrations row,
 * while holding a session advisory lock. 0, or -1 with err. */
int store_pg_migrate(PGconn *pg, char *err, size_t errlen);

/* LISTENs on s->listen (already connected) and starts the thread that
 * counts other processes' commits into s->others. 0, or -1 with err. */
int store_pg_listen(struct store_pg *s, char *err, size_t errlen);

/* Stops and joins the listener thread, if started. */
void store_pg_unlisten(struct store_pg *s);

#endif
