/*
 * demo.h - the sample newspaper `newsroom init DIR --demo` creates.
 *
 * The content lives in the repository's demo/ folder (original, fictional
 * writing and drawn SVG illustrations, see demo/README.md) and is compiled
 * into the binary; demo_load() turns it into authors, sections, tags,
 * articles with feature images, corrections, live updates and newsletters.
 * Formats of the files are described in docs/demo.md.
 */
#ifndef CONTENT_DEMO_H
#define CONTENT_DEMO_H

#include <stddef.h>
#include <stdint.h>

struct store;

/* The demo paper's name and one-line description, for site.conf. Static
 * strings; "" when absent. */
void demo_site_info(char *title, size_t tsize, char *description,
                    size_t dsize);

/* Fills an empty store with the demo content; images go to media_dir.
 * Live updates are dated relative to now. 0, or -1 with a one-line reason
 * in err. */
int demo_load(struct store *st, const char *media_dir, unsigned wpm,
              int64_t now, char *err, size_t errlen);

#endif
