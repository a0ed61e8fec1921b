/*
 * apikey.c - making Content API keys (apikey.h).
 */
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "content/apikey.h"
#include "store/store.h"

int apikey_create(struct store *st, const char *name, int64_t now,
                  char secret[APIKEY_LEN + 1], int64_t *id, char *err,
                  size_t errlen)
{
    unsigned char raw[APIKEY_LEN / 2];
    struct store_api_key k = {0};
    size_t n = name ? strlen(name) : 0;
    int rc = STORE_CONFLICT;

    if (n == 0 || n > APIKEY_NAME_MAX) {
        snprintf(err, errlen, "a key needs a name of 1 to %d bytes",
                 APIKEY_NAME_MAX);
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)name[i] < 0x20 || name[i] == 0x7f) {
            snprintf(err, errlen, "a key's name must be one line of text");
            return -1;
        }
    /* a clash of 104 random bits is unheard of; try again if it happens */
    for (int tries = 0; tries < 3 && rc == STORE_CONFLICT; tries++) {
        randombytes_buf(raw, sizeof raw);
        sodium_bin2hex(secret, APIKEY_LEN + 1, raw, sizeof raw);
        k.name = name;
        k.secret = secret;
        k.created_at = now;
        rc = store_api_key_add(st, &k);
    }
    if (rc != 0) {
        snprintf(err, errlen, "cannot store the key: %s", store_strerror(rc));
        return -1;
    }
    if (id)
        *id = k.id;
    return 0;
}
