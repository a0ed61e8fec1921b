/*
 * purge.h - tells a CDN or Varnish in front of the site that its pages
 * changed (docs/caching.md).
 *
 * Public responses carry "Surrogate-Key: newsroom ..." and a Cache-Control
 * that lets a shared cache keep them (cache.c). When site.conf names a
 * purge_url, a thread reads store_version() every PURGE_POLL_MS and, when
 * it moved (a change a reader can see), sends one "PURGE purge_url" with
 * "Surrogate-Key: newsroom": the cache in front drops every page and
 * refills from us, where the page cache already follows the same version.
 * At most one purge a second; a failure is logged once and the next change
 * tries again (s-maxage bounds the staleness meanwhile).
 */
#ifndef WEB_PURGE_H
#define WEB_PURGE_H

struct web_app;

/* Starts the purge thread when app's purge_url is set; 0 or -1 (logged). */
int purge_start(struct web_app *app);
/* Stops it; NULL-safe, and fine when it never started. */
void purge_stop(struct web_app *app);

#endif
