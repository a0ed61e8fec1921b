/*
 * fuzz_cookie.c - libFuzzer target for what newsroom does with cookie
 * values. Splitting the Cookie header into name=value pairs is done by
 * libmicrohttpd (http_req_cookie() in src/http/response.c asks it), so
 * the input reaches our code as the value of nr_session / nr_signin: the
 * token check (session_hash_token) and the CSRF comparison
 * (session_csrf_ok, src/content/session.c). Input: "cookie\nform-csrf".
 * Checks that only 64 lower-case hex digits pass as a token and that a
 * token's own CSRF value is accepted.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "content/session.h"
#include "fuzz.h"

FUZZ_INIT_QUIET

/* 1 when s is SESSION_TOKEN_HEX lower-case hex digits. */
static int token_shape(const char *s)
{
    size_t i;

    for (i = 0; s[i]; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    return i == SESSION_TOKEN_HEX;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1), *given;
    char hash[SESSION_TOKEN_HEX + 1], csrf[SESSION_TOKEN_HEX + 1];

    memcpy(s, data, size);
    s[size] = '\0';
    given = strchr(s, '\n');
    if (given)
        *given++ = '\0';
    else
        given = "";
    if ((session_hash_token(s, hash) == 0) != token_shape(s))
        abort();
    session_csrf_ok(s, given);
    if (token_shape(s)) {
        session_csrf(s, csrf);
        if (!session_csrf_ok(s, csrf))
            abort();
    }
    free(s);
    return 0;
}
