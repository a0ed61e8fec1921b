/*
 * embed.h - files compiled into the binary by tools/embed.sh: the default
 * theme (templates, CSS, JS) and the SQL migrations.
 */
#ifndef CORE_EMBED_H
#define CORE_EMBED_H

#include <stddef.h>

struct embed_file {
    const char *name;          /* "article.mustache", "schema/001_init.sql" */
    const unsigned char *data; /* bytes, followed by a NUL */
    size_t len;                /* bytes, excluding the NUL */
};

/* Terminated by an entry whose name is NULL. */
extern const struct embed_file embed_files[];

/* The file called name, or NULL. */
const struct embed_file *embed_find(const char *name);

#endif
