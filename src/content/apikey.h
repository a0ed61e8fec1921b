/*
 * apikey.h - Content API keys (web/ghost_api.c checks them): making one
 * for the command line (`newsroom key add`) and the desk's /desk/keys/.
 * A key is 26 lower-case hex characters, as Ghost's clients expect; it is
 * public by design (front-ends embed it), so it is stored as it is.
 */
#ifndef CONTENT_APIKEY_H
#define CONTENT_APIKEY_H

#include <stddef.h>
#include <stdint.h>

struct store;

#define APIKEY_LEN 26       /* hex characters of a key */
#define APIKEY_NAME_MAX 100 /* bytes of a key's name */

/* Makes a key named name (1..APIKEY_NAME_MAX bytes, one line, no control
 * characters) created at now and stores it: the key goes into secret
 * (the caller's buffer), its row id into *id (may be NULL). 0, or -1 with
 * a one-line reason in err. libsodium must be initialised. */
int apikey_create(struct store *st, const char *name, int64_t now,
                  char secret[APIKEY_LEN + 1], int64_t *id, char *err,
                  size_t errlen);

#endif
