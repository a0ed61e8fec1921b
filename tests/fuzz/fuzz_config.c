/*
 * fuzz_config.c - libFuzzer target for site.conf (src/core/config.c):
 * config_parse() of the input over the defaults, as config_load() does
 * after reading the file, then config_mail_from() of the result. Every
 * string field must stay NUL-terminated.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "fuzz.h"

FUZZ_INIT_QUIET

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct config c;
    char err[512], name[256], addr[256];

    config_defaults(&c);
    if (config_parse(&c, "site.conf", (const char *)data, size, err,
                     sizeof err) == 0) {
        if (!memchr(c.title, '\0', sizeof c.title) ||
            !memchr(c.url, '\0', sizeof c.url) ||
            !memchr(c.mail_from, '\0', sizeof c.mail_from))
            abort();
        config_mail_from(&c, name, sizeof name, addr, sizeof addr);
    } else if (!memchr(err, '\0', sizeof err)) {
        abort();
    }
    return 0;
}
