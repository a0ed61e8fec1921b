/*
 * test_img.c - image imports (media/img): the desk's untrusted uploads and
 * the demo's trusted art. Test images are made here with libvips; every
 * refused upload must leave the media and originals folders as they were.
 */
#include <dirent.h>
#include <ftw.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <vips/vips.h>

#include "check.h"
#include "core/log.h"
#include "media/img.h"

static char root[64];
static char media[128];
static char originals[128];

/* Counts the entries (files and folders) under dir, recursively. */
static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;

    if (!d)
        return 0;
    while ((e = readdir(d)) != NULL) {
        char path[512];
        struct stat st;
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        n++;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode))
            n += count_entries(path);
    }
    closedir(d);
    return n;
}

/* Reads a whole file into *len bytes (caller frees); NULL when missing. */
static char *slurp(const char *path, size_t *len)
{
    gchar *buf = NULL;
    gsize n = 0;

    if (!g_file_get_contents(path, &buf, &n, NULL))
        return NULL;
    *len = n;
    return buf;
}

static int exists(const char *path)
{
    return access(path, F_OK) == 0;
}

/* A w x h picture with some shapes on it, bands 3 (sRGB) or 4 (alpha). */
static VipsImage *picture(int w, int h, int bands)
{
    VipsImage *im = NULL, *mem = NULL;
    double sky[] = {40, 90, 200, 255}, sun[] = {250, 210, 40, 255};

    if (vips_black(&im, w, h, "bands", bands, NULL) != 0)
        return NULL;
    mem = vips_image_copy_memory(im);
    g_object_unref(im);
    vips_draw_rect(mem, sky, bands, 0, 0, w, h / 2, "fill", TRUE, NULL);
    vips_draw_circle(mem, sun, bands, w / 2, h / 2, h / 4, "fill", TRUE, NULL);
    return mem;
}

/* A picture saved as JPEG with EXIF (orientation 6: shot rotated, and an
 * Artist tag) into *len bytes (g_free). */
static void *jpeg_with_exif(int w, int h, size_t *len)
{
    VipsImage *im = picture(w, h, 3);
    void *buf = NULL;

    vips_image_set_int(im, "orientation", 6);
    vips_image_set_string(im, "exif-ifd0-Artist", "Secret Photographer");
    if (vips_jpegsave_buffer(im, &buf, len, "Q", 90, NULL) != 0)
        buf = NULL;
    g_object_unref(im);
    return buf;
}

/* A noisy JPEG (so that most of its bytes are image data). */
static void *noisy_jpeg(size_t *len)
{
    VipsImage *noise = NULL, *u = NULL;
    void *buf = NULL;

    vips_gaussnoise(&noise, 800, 600, "mean", 128.0, "sigma", 40.0, NULL);
    vips_cast_uchar(noise, &u, NULL);
    if (vips_jpegsave_buffer(u, &buf, len, "Q", 90, NULL) != 0)
        buf = NULL;
    g_object_unref(u);
    g_object_unref(noise);
    return buf;
}

/* Imports data as an upload that must be refused: -1, a message
 * containing want, and no new file anywhere. */
static void refused(const char *what, const void *data, size_t len,
                    const char *base, const char *want)
{
    struct img_info info;
    char err[256] = "";
    int before = count_entries(root);
    int r = img_import_upload(data, len, media, originals, base, &info, err,
                              sizeof err);

    CHECK(r == -1, "%s: refused", what);
    CHECK(strstr(err, want) != NULL, "%s: says '%s' (said '%s')", what, want,
          err);
    CHECK(count_entries(root) == before, "%s: leaves nothing behind", what);
}

static void test_jpeg_exif(void)
{
    struct img_info info;
    char err[256] = "", path[512];
    size_t len = 0, got = 0;
    void *jpg = jpeg_with_exif(1200, 800, &len);
    int r;

    CHECK(jpg && memmem(jpg, len, "Secret Photographer", 19),
          "test JPEG carries EXIF with an Artist");
    r = img_import_upload(jpg, len, media, originals, "harbour-at-dawn", &info,
                          err, sizeof err);
    CHECK(r == 0, "JPEG upload imported (%s)", err);
    CHECK(strncmp(info.name, "images/harbour-at-dawn-", 23) == 0 &&
              strlen(info.name) == 31,
          "name is images/SLUG-HASH (%s)", info.name);
    CHECK(info.width == 800 && info.height == 1200,
          "EXIF orientation applied: 1200x800 shot rotated is 800x1200 "
          "(%ux%u)",
          info.width, info.height);
    CHECK_STR(info.widths, "480,800", "widths below 1600 plus its own");
    CHECK_STR(info.formats, "webp,jpg", "formats");

    for (int i = 0; i < 4; i++) {
        static const char *const files[] = {"480.jpg", "480.webp", "800.jpg",
                                            "800.webp"};
        char *v;
        snprintf(path, sizeof path, "%s/%s-%s", media, info.name, files[i]);
        v = slurp(path, &got);
        CHECK(v != NULL, "variant %s written", files[i]);
        CHECK(v && !memmem(v, got, "Secret Photographer", 19) &&
                  !memmem(v, got, "Exif", 4),
              "variant %s carries no EXIF", files[i]);
        g_free(v);
    }
    for (int webp = 0; webp < 2; webp++) {
        snprintf(path, sizeof path, "%s/%s-800.%s", media, info.name,
                 webp ? "webp" : "jpg");
        VipsImage *v = vips_image_new_from_file(path, "fail_on",
                                                VIPS_FAIL_ON_WARNING, NULL);
        double avg = 0;
        CHECK(v && v->Xsize == 800 && v->Ysize == 1200 && v->Bands == 3 &&
                  vips_avg(v, &avg, NULL) == 0 && avg > 10,
              "largest %s variant decodes, upright 800x1200 RGB",
              webp ? "WebP" : "JPEG");
        if (v)
            g_object_unref(v);
    }

    snprintf(path, sizeof path, "%s/%s.jpg", originals, info.name + 7);
    char *orig = slurp(path, &got);
    CHECK(orig && got == len && memcmp(orig, jpg, len) == 0,
          "original kept byte-exact as %s", path);
    g_free(orig);
    struct stat st;
    CHECK(stat(originals, &st) == 0 && (st.st_mode & 0777) == 0700,
          "originals folder is private (0700)");
    CHECK(count_entries(originals) == 1, "one original kept");
    g_free(jpg);
}

static void test_png_alpha(void)
{
    struct img_info info;
    char err[256] = "", path[512];
    VipsImage *im = picture(600, 400, 4), *v = NULL;
    double clear[] = {0, 0, 0, 0}, *px = NULL;
    void *png = NULL;
    size_t len = 0;
    int n = 0;

    /* the top-left corner fully transparent */
    vips_draw_rect(im, clear, 4, 0, 0, 100, 100, "fill", TRUE, NULL);
    vips_pngsave_buffer(im, &png, &len, NULL);
    g_object_unref(im);
    CHECK(img_import_upload(png, len, media, originals, "logo", &info, err,
                            sizeof err) == 0,
          "PNG with alpha imported (%s)", err);
    CHECK_STR(info.widths, "480,600", "PNG widths");
    snprintf(path, sizeof path, "%s/%s-600.jpg", media, info.name);
    v = vips_image_new_from_file(path, NULL);
    CHECK(v && vips_getpoint(v, &px, &n, 10, 10, NULL) == 0 && n == 3 &&
              px[0] > 240 && px[1] > 240 && px[2] > 240,
          "transparent corner comes out white, not black");
    g_free(px);
    if (v)
        g_object_unref(v);
    snprintf(path, sizeof path, "%s/%s.png", originals, info.name + 7);
    CHECK(exists(path), "original kept as .png");
    g_free(png);
}

static void test_webp(void)
{
    struct img_info info;
    char err[256] = "", path[512];
    VipsImage *im = picture(2000, 1000, 3);
    void *webp = NULL;
    size_t len = 0;

    vips_webpsave_buffer(im, &webp, &len, NULL);
    g_object_unref(im);
    CHECK(img_import_upload(webp, len, media, originals, "wide-shot", &info,
                            err, sizeof err) == 0,
          "WebP imported (%s)", err);
    CHECK_STR(info.widths, "480,960,1600", "a wide image gets all widths");
    CHECK(info.width == 1600 && info.height == 800, "largest is 1600x800");
    snprintf(path, sizeof path, "%s/%s-1600.webp", media, info.name);
    CHECK(exists(path), "1600 WebP variant written");
    snprintf(path, sizeof path, "%s/%s-2000.jpg", media, info.name);
    CHECK(!exists(path), "no variant wider than 1600");
    snprintf(path, sizeof path, "%s/%s.webp", originals, info.name + 7);
    CHECK(exists(path), "original kept as .webp");
    g_free(webp);
}

/* An animated GIF: its first frame is the picture. */
static void test_gif(void)
{
    struct img_info info;
    char err[256] = "", path[512];
    VipsImage *a = picture(300, 200, 3), *b = picture(300, 200, 3);
    VipsImage *frames[2] = {a, b}, *anim = NULL;
    void *gif = NULL;
    size_t len = 0;

    vips_arrayjoin(frames, &anim, 2, "across", 1, NULL);
    vips_image_set_int(anim, "page-height", 200);
    CHECK(vips_gifsave_buffer(anim, &gif, &len, NULL) == 0,
          "two-frame GIF made");
    CHECK(img_import_upload(gif, len, media, originals, "animated", &info, err,
                            sizeof err) == 0,
          "animated GIF imported (%s)", err);
    CHECK(info.width == 300 && info.height == 200,
          "first frame taken: 300x200 (%ux%u)", info.width, info.height);
    snprintf(path, sizeof path, "%s/%s.gif", originals, info.name + 7);
    CHECK(exists(path), "original kept as .gif");
    g_free(gif);
    g_object_unref(anim);
    g_object_unref(a);
    g_object_unref(b);
}

/* CMYK JPEG and 16-bit grey PNG come out as ordinary 8-bit sRGB. */
static void test_colour(void)
{
    struct img_info info;
    char err[256] = "", path[512];
    VipsImage *im = picture(500, 300, 3), *cmyk = NULL, *grey = NULL,
              *g16 = NULL, *v = NULL;
    void *buf = NULL;
    size_t len = 0;

    if (vips_colourspace(im, &cmyk, VIPS_INTERPRETATION_CMYK, NULL) == 0 &&
        vips_jpegsave_buffer(cmyk, &buf, &len, NULL) == 0) {
        CHECK(img_import_upload(buf, len, media, originals, "cmyk", &info, err,
                                sizeof err) == 0,
              "CMYK JPEG imported (%s)", err);
        snprintf(path, sizeof path, "%s/%s-500.jpg", media, info.name);
        v = vips_image_new_from_file(path, NULL);
        CHECK(v && v->Bands == 3 && v->Type == VIPS_INTERPRETATION_sRGB,
              "CMYK comes out as 3-band sRGB");
        if (v)
            g_object_unref(v);
        g_free(buf);
        g_object_unref(cmyk);
    } else {
        CHECK(0, "cannot make a CMYK JPEG: %s", vips_error_buffer());
    }

    vips_colourspace(im, &grey, VIPS_INTERPRETATION_GREY16, NULL);
    buf = NULL;
    vips_pngsave_buffer(grey, &buf, &len, "bitdepth", 16, NULL);
    g16 = vips_image_new_from_buffer(buf, len, "", NULL);
    CHECK(g16 && g16->Bands == 1 && g16->BandFmt == VIPS_FORMAT_USHORT,
          "test PNG is 16-bit greyscale");
    CHECK(img_import_upload(buf, len, media, originals, "grey", &info, err,
                            sizeof err) == 0,
          "16-bit grey PNG imported (%s)", err);
    snprintf(path, sizeof path, "%s/%s-500.jpg", media, info.name);
    v = vips_image_new_from_file(path, NULL);
    CHECK(v && v->Bands == 3 && v->BandFmt == VIPS_FORMAT_UCHAR,
          "16-bit grey comes out as 8-bit RGB");
    if (v)
        g_object_unref(v);
    if (g16)
        g_object_unref(g16);
    g_free(buf);
    g_object_unref(grey);
    g_object_unref(im);
}

static void test_hostile(void)
{
    static const char text[] = "Dear desk, here is my story. Not a picture.\n";
    static const char svg[] =
        "<?xml version=\"1.0\"?>\n"
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"100\" "
        "height=\"100\"><script>alert(document.cookie)</script>"
        "<rect width=\"100\" height=\"100\" fill=\"red\"/></svg>\n";
    static const char bare_svg[] =
        "  <svg width=\"10\" height=\"10\"><script>x()</script></svg>";
    static const char pdf[] = "%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\n"
                              "endobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n";
    size_t len = 0, big_len = 0;
    void *jpg = noisy_jpeg(&len);
    VipsImage *huge = NULL;
    void *big = NULL;
    char *over = NULL;
    struct timespec t0, t1;

    refused("text named .jpg", text, sizeof text - 1, "story",
            "this file is not a JPEG, PNG, WebP or GIF image");
    CHECK(jpg && len > 10000, "noisy test JPEG made (%zu bytes)", len);
    refused("truncated JPEG (60%)", jpg, len * 6 / 10, "cut",
            "the image is damaged or incomplete; save it again and retry");
    refused("SVG with a script", svg, sizeof svg - 1, "drawing",
            "SVG images are not accepted (they can carry scripts); export a "
            "PNG or JPEG");
    refused("SVG without an XML header", bare_svg, sizeof bare_svg - 1,
            "drawing", "SVG images are not accepted");
    refused("PDF", pdf, sizeof pdf - 1, "paper",
            "this file is not a JPEG, PNG, WebP or GIF image");
    refused("empty upload", "", 0, "empty", "the file is empty");
    refused("'../x' as name", jpg, len, "../x", "bad image name");
    refused("upper case name", jpg, len, "Photo", "bad image name");
    refused("empty name", jpg, len, "", "bad image name");

    over = g_malloc0(IMG_MAX_BYTES + 1);
    memcpy(over, jpg, len < IMG_MAX_BYTES ? len : IMG_MAX_BYTES);
    refused("21 MB upload", over, IMG_MAX_BYTES + 1, "big",
            "the file is larger than 20 MB");
    g_free(over);

    /* one colour compresses to almost nothing: a decompression bomb */
    vips_black(&huge, 10000, 10000, NULL);
    vips_pngsave_buffer(huge, &big, &big_len, "compression", 9, NULL);
    g_object_unref(huge);
    CHECK(big && big_len < 1024 * 1024, "100-megapixel PNG is small (%zu)",
          big_len);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    refused("100-megapixel PNG", big, big_len, "bomb",
            "the image is too large: 10000 x 10000 pixels (at most 40 "
            "megapixels)");
    clock_gettime(CLOCK_MONOTONIC, &t1);
    CHECK(t1.tv_sec - t0.tv_sec < 2, "refused from the header, not decoded");
    g_free(big);

    /* taller than any variant can be written */
    vips_black(&huge, 500, 40000, NULL);
    big = NULL;
    vips_pngsave_buffer(huge, &big, &big_len, NULL);
    g_object_unref(huge);
    refused("500x40000 strip", big, big_len, "strip", "too tall");
    g_free(big);
    g_free(jpg);
}

/* A failure after some files are written takes them all back. */
static void test_rollback(void)
{
    struct img_info info;
    char err[256] = "", path[512], other[160], media2[200], media3[200];
    char media4[200], orig2[200];
    VipsImage *im = picture(1000, 500, 3);
    void *png = NULL;
    size_t len = 0;
    int before;

    vips_pngsave_buffer(im, &png, &len, NULL);
    g_object_unref(im);
    snprintf(other, sizeof other, "%s/other", root);
    snprintf(media2, sizeof media2, "%s/media", other);
    snprintf(orig2, sizeof orig2, "%s/originals", other);
    mkdir(other, 0755);
    mkdir(media2, 0755);
    CHECK(img_import(png, len, media2, "scene", &info, err, sizeof err) == 0,
          "img_import writes a PNG (%s)", err);
    CHECK(count_entries(media2) == 7, "images/ and 6 variants");

    /* a folder where the 960 WebP should go: the write fails half-way */
    snprintf(media3, sizeof media3, "%s/media3", other);
    mkdir(media3, 0755);
    snprintf(path, sizeof path, "%s/images", media3);
    mkdir(path, 0755);
    snprintf(path, sizeof path, "%s/%s-960.webp", media3, info.name);
    mkdir(path, 0755);
    before = count_entries(other);
    CHECK(img_import(png, len, media3, "scene", &info, err, sizeof err) == -1,
          "img_import fails when a variant cannot be written (%s)", err);
    CHECK(count_entries(other) == before,
          "img_import removed the variants it had written");

    /* originals_dir is a file: variants are written, then taken back */
    snprintf(media4, sizeof media4, "%s/media4", other);
    mkdir(media4, 0755);
    FILE *f = fopen(orig2, "w");
    if (f)
        fclose(f);
    before = count_entries(other);
    CHECK(img_import_upload(png, len, media4, orig2, "scene", &info, err,
                            sizeof err) == -1,
          "upload fails when the original cannot be kept (%s)", err);
    CHECK(count_entries(other) == before,
          "upload removed its variants when keeping the original failed");
    CHECK(strstr(err, "originals") != NULL, "and says why (%s)", err);
    g_free(png);
}

/* The demo's drawn art still imports through img_import. */
static void test_demo_svg(void)
{
    static const char svg[] =
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"1200\" "
        "height=\"675\"><rect width=\"1200\" height=\"675\" fill=\"#235\"/>"
        "</svg>";
    struct img_info info;
    char err[256] = "";

    CHECK(img_import(svg, sizeof svg - 1, media, "01-dornik-junction", &info,
                     err, sizeof err) == 0,
          "img_import still takes the demo's SVG (%s)", err);
    CHECK_STR(info.widths, "480,960,1200", "SVG widths");
    CHECK(img_import(svg, sizeof svg - 1, media, "../etc", &info, err,
                     sizeof err) == -1 &&
              strcmp(err, "bad image name") == 0,
          "img_import refuses a base with '../'");
}

static int rm_entry(const char *path, const struct stat *st, int flag,
                    struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

int main(int argc, char **argv)
{
    (void)argc;
    log_set_level(LOG_ERROR);
    if (img_init(argv[0]) < 0)
        return 1;
    snprintf(root, sizeof root, "/tmp/test_img.XXXXXX");
    if (!mkdtemp(root))
        return 1;
    snprintf(media, sizeof media, "%s/media", root);
    snprintf(originals, sizeof originals, "%s/originals", root);
    mkdir(media, 0755);

    test_hostile();
    CHECK(!exists(originals), "refused uploads create no originals folder");
    test_jpeg_exif();
    test_png_alpha();
    test_webp();
    test_gif();
    test_colour();
    test_hostile(); /* again, now that the folders exist and hold files */
    test_rollback();
    test_demo_svg();

    nftw(root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    img_shutdown();
    return check_done();
}
