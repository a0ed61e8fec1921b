/*
 * xml.c - XML 1.0 escaping for the feeds; see xml.h.
 */
#include "render/xml.h"

#include <stdint.h>
#include <string.h>

#include "core/buf.h"
#include "core/str.h"

void xml_add(struct buf *out, const char *s)
{
    size_t n = s ? strlen(s) : 0, i = 0, run = 0;

    while (i < n) {
        uint32_t cp = 0;
        size_t k = str_utf8_decode(s + i, n - i, &cp);
        const char *ent = NULL;
        int drop = k == 0 ||
                   (cp < 0x20 && cp != '\t' && cp != '\n' && cp != '\r') ||
                   cp == 0xFFFE || cp == 0xFFFF;
        if (!drop) {
            ent = cp == '&'    ? "&amp;"
                  : cp == '<'  ? "&lt;"
                  : cp == '>'  ? "&gt;"
                  : cp == '"'  ? "&quot;"
                  : cp == '\'' ? "&apos;"
                               : NULL;
            if (!ent) {
                i += k;
                continue;
            }
        }
        buf_add(out, s + run, i - run);
        if (ent)
            buf_adds(out, ent);
        i += k ? k : 1;
        run = i;
    }
    buf_add(out, s + run, i - run);
}

void xml_elem(struct buf *out, const char *name, const char *text)
{
    buf_printf(out, "<%s>", name);
    xml_add(out, text);
    buf_printf(out, "</%s>\n", name);
}
