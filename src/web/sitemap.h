/*
 * sitemap.h - what the site tells crawlers (sitemap.c, docs/sitemaps.md):
 * the sitemap index, its post, author and section sitemaps, the Google
 * News sitemap and robots.txt. Every handler takes the web_app as its app
 * argument, builds its body from light store reads (store.h, "sitemaps")
 * and sends it with send_cached (ETag, public Cache-Control, 304 on a
 * match). Each returns the status it sent, or -1 (the layer answers 500)
 * on a store failure or a body past BOUND_SITEMAP_BYTES. Internal to web/.
 */
#ifndef WEB_SITEMAP_H
#define WEB_SITEMAP_H

struct http_req;

/* Posts in the Google News sitemap: published in the last
 * SITEMAP_NEWS_HOURS hours, at most SITEMAP_NEWS_URLS of them (Google's
 * limits, https://developers.google.com/search/docs/crawling-indexing/
 * sitemaps/news-sitemap). */
#define SITEMAP_NEWS_HOURS 48
#define SITEMAP_NEWS_URLS 1000

/* GET /sitemap.xml: a <sitemapindex> of /sitemap-posts-1.xml ..
 * -N.xml (N = ceil(public posts / BOUND_SITEMAP_URLS), at least 1),
 * /sitemap-authors.xml, /sitemap-sections.xml and /news-sitemap.xml, each
 * with the <lastmod> of its newest entry (none for an empty file). */
int sitemap_index(struct http_req *req, void *app);

/* GET /sitemap-posts-N.xml, routed as "/:file" (the router has no
 * captures inside a segment; this row must be the table's last so it
 * shadows no other route). A name that is not a post sitemap, or any
 * other method, gets what the routes table's not-found hook gives: a 301
 * to PATH/ for a GET of a name without a dot, else the 404 page. Page N
 * holds the public posts N*BOUND_SITEMAP_URLS back, newest first, each
 * <url> with <loc>, <lastmod> (max of updated_at and published_at) and
 * an <image:image> for a feature image. A page past the last is 404. */
int sitemap_posts(struct http_req *req, void *app);

/* GET /sitemap-authors.xml: the page of every author with a public post,
 * <lastmod> from their newest post. */
int sitemap_authors(struct http_req *req, void *app);

/* GET /sitemap-sections.xml: the page of every section, then every tag,
 * that has a public post, <lastmod> from its newest post. */
int sitemap_sections(struct http_req *req, void *app);

/* GET /news-sitemap.xml: the Google News sitemap of the posts published
 * in the last SITEMAP_NEWS_HOURS hours. */
int sitemap_news(struct http_req *req, void *app);

/* GET /robots.txt: allows everything but the desk and search result
 * pages, and names the sitemap index and the news sitemap. text/plain. */
int sitemap_robots(struct http_req *req, void *app);

#endif
