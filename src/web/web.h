/*
 * web.h - the public site: everything a reader's browser asks for.
 *
 * web_app_open() loads a site directory (site.conf, the store, the theme
 * with DIR/theme/ overrides, fingerprinted assets); web_serve() runs the
 * HTTP server with the routes table of routes.c until SIGINT/SIGTERM.
 */
#ifndef WEB_WEB_H
#define WEB_WEB_H

#include <stddef.h>

struct web_app;

/* Opens the site in dir; listen overrides site.conf's (NULL = keep).
 * NULL with a one-line reason in err. Free with web_app_close(). */
struct web_app *web_app_open(const char *dir, const char *listen, char *err,
                             size_t errlen);
void web_app_close(struct web_app *app);

/* Serves until SIGINT or SIGTERM, then drains (docs/shutdown.md). Prints
 * "listening on http://ADDR:PORT/" to stdout once the socket is open.
 * on_stop (NULL = none) is called as the signal arrives, before the
 * drain, so other work (the job workers) winds down at the same time.
 * 0 after a clean stop, -1 with the reason in err. */
int web_serve(struct web_app *app, void (*on_stop)(void), char *err,
              size_t errlen);

#endif
