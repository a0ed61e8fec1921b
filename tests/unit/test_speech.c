/*
 * test_speech.c - narration: what speech_prepare() reads out of an article
 * (and what it skips), and the MP3s speech_synthesize() writes, checked
 * with a real decoder (sox).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "core/buf.h"
#include "speech/speech.h"

static char dir[64];

/* Prepared text of an article, or NULL (err printed). Caller frees. */
static char *prep(const char *lang, const char *title, const char *by,
                  const char *html)
{
    char err[256] = "", *out = NULL;

    if (speech_prepare(lang, title, by, html, &out, err, sizeof err) != 0) {
        printf("# speech_prepare: %s\n", err);
        return NULL;
    }
    return out;
}

/* 1 if the body html, prepared in lang, contains want; prints it if not. */
static int says(const char *lang, const char *html, const char *want)
{
    char *t = prep(lang, NULL, NULL, html);
    int ok = t && strstr(t, want) != NULL;

    if (!ok)
        printf("#   text: [%s]\n#   want: [%s]\n", t ? t : "(null)", want);
    free(t);
    return ok;
}

/* 1 if the prepared text does not contain bad. */
static int omits(const char *lang, const char *html, const char *bad)
{
    char *t = prep(lang, NULL, NULL, html);
    int ok = t && strstr(t, bad) == NULL;

    if (!ok)
        printf("#   text: [%s]\n#   must not hold: [%s]\n", t ? t : "(null)",
               bad);
    free(t);
    return ok;
}

static void test_english(void)
{
    CHECK(says("en", "<p>It ends on Oct. 31 this year.</p>", "October 31"),
          "en: 'Oct. 31' is read 'October 31'");
    CHECK(says("en", "<p>It ended on 31 Oct last year.</p>", "31 October"),
          "en: '31 Oct' is read '31 October'");
    CHECK(says("en", "<p>Talks resume in Jan. and end in Feb. 2027.</p>",
               "in January and end in February twenty twenty-seven"),
          "en: 'Jan.' and 'Feb.' become month names");
    CHECK(says("en", "<p>The plan for 2026 is ready.</p>",
               "for twenty twenty-six is"),
          "en: a year is read 'twenty twenty-six'");
    CHECK(says("en", "<p>It was built in 1905 and rebuilt in 2005.</p>",
               "nineteen oh five and rebuilt in two thousand five"),
          "en: 1905 and 2005 read as years");
    CHECK(says("en", "<p>About 1,200 people came.</p>",
               "About one thousand two hundred people"),
          "en: '1,200' is 'one thousand two hundred'");
    CHECK(says("en", "<p>Inflation hit 3.5% in May.</p>",
               "three point five percent"),
          "en: '3.5%%' is 'three point five percent'");
    CHECK(says("en", "<p>A $4m grant.</p>", "A four million dollars grant"),
          "en: '$4m' is 'four million dollars'");
    CHECK(says("en",
               "<p>It cost \xC2\xA3"
               "2.5bn and \xE2\x82\xAC"
               "300.</p>",
               "two point five billion pounds and three hundred euros"),
          "en: pounds and euros");
    CHECK(says("en", "<p>A ticket is $4.50.</p>", "four dollars fifty cents"),
          "en: '$4.50' is 'four dollars fifty cents'");
    CHECK(says("en", "<p>She came 1st, he came 22nd and 3rd.</p>",
               "came first, he came twenty-second and third"),
          "en: ordinals 1st, 22nd, 3rd");
    CHECK(says("en", "<p>Room No. 5 is shut.</p>", "Room number 5 is"),
          "en: 'No. 5' is 'number 5'");
    CHECK(says("en",
               "<p>Fruit, e.g. apples, i.e. food, etc. Mr. Smith met Mrs. "
               "Jones and Dr. Who.</p>",
               "Fruit, for example apples, that is food, et cetera. Mister "
               "Smith met Missus Jones and Doctor Who."),
          "en: e.g., i.e., etc., Mr., Mrs., Dr. read as words");
    CHECK(says("en",
               "<p>Gen. Lee, Lt. Dan and Col. Mustard visited St. "
               "Paul's.</p>",
               "General Lee, Lieutenant Dan and Colonel Mustard visited "
               "Saint Paul's."),
          "en: Gen., Lt., Col., St. read as words");
    CHECK(says("en", "<p>The road is 12 km long and weighs 1 kg.</p>",
               "12 kilometres long and weighs 1 kilogram"),
          "en: km and kg read as units");
    CHECK(says("en", "<p>The UN, the EU and the US agreed.</p>",
               "The U N, the E U and the U S agreed"),
          "en: UN, EU, US spelt out letter by letter");
    CHECK(says("en", "<p>We meet at 10:30 and 9:05.</p>",
               "at ten thirty and nine oh five"),
          "en: '10:30' is 'ten thirty'");
    CHECK(says("en", "<p>The war of 2019-2021 ended.</p>",
               "of twenty nineteen to twenty twenty-one ended"),
          "en: range '2019-2021' is '2019 to 2021'");
    CHECK(says("en",
               "<p>Pages 10\xE2\x80\x93"
               "20 matter.</p>",
               "Pages 10 to 20 matter"),
          "en: an en-dash range '10-20' is '10 to 20'");
}

static void test_ukrainian(void)
{
    CHECK(says("uk", "<p>Це сталося 31 жовт. уночі.</p>", "31 жовтня уночі"),
          "uk: '31 жовт.' is '31 жовтня'");
    CHECK(says("uk", "<p>У 2024 р. було тепло.</p>", "2024 року було"),
          "uk: 'р.' after a year is 'року'");
    CHECK(says("uk", "<p>Прийшли 5 тис. людей.</p>", "5 тисяч людей"),
          "uk: 'тис.' is 'тисяч'");
    CHECK(says("uk", "<p>Там живе 10 млн осіб.</p>", "10 мільйонів осіб"),
          "uk: 'млн' is 'мільйонів'");
    CHECK(says("uk", "<p>Бюджет 7 млрд грн на рік.</p>",
               "7 мільярдів гривень на рік"),
          "uk: 'млрд грн' is 'мільярдів гривень'");
    CHECK(says("uk", "<p>Ціна 100 грн за кг.</p>", "100 гривень"),
          "uk: 'грн' is 'гривень'");
    CHECK(says("uk", "<p>Зросло на 15%.</p>", "15 відсотків"),
          "uk: '%%' is 'відсотків'");
    CHECK(says("uk", "<p>Втратили 2 млн, а 21 тис. лишилися.</p>",
               "2 мільйони, а 21 тисяча лишилися"),
          "uk: the word agrees with the number (2 мільйони, 21 тисяча)");
    CHECK(says("uk", "<p>Школа № 5 і т.д.</p>", "Школа номер 5 тощо"),
          "uk: '№' is 'номер', 'і т.д.' is 'тощо'");
    CHECK(says("uk", "<p>Яблука, груші, т.д.</p>", "груші, тощо."),
          "uk: 't.д.' at the end is 'тощо.'");
    CHECK(omits("uk", "<p>Зросло на 15% та 2 млн і т.д. № 5</p>", "%") &&
              omits("uk", "<p>Школа № 5</p>", "\xE2\x84\x96"),
          "uk: no %% or № symbol left for the voice");
}

static void test_structure(void)
{
    const char *html =
        "<h2 id=\"start\"><a class=\"anchor\" href=\"#start\" "
        "aria-hidden=\"true\" tabindex=\"-1\">#</a>The start</h2>\n"
        "<p>First paragraph<sup class=\"footnote-ref\"><a href=\"#fn-1\" "
        "id=\"fnref-1\" data-footnote-ref>1</a></sup></p>\n"
        "<figure><img src=\"/m/a.jpg\" alt=\"A cat\" />"
        "<figcaption>Photo caption here</figcaption></figure>\n"
        "<p class=\"credit\">Photo: Agency credit</p>\n"
        "<div class=\"related\"><a href=\"/x\">Related story title</a></div>\n"
        "<aside class=\"related-card\"><strong>Card title</strong></aside>\n"
        "<aside>Side note</aside>\n"
        "<nav>Menu links</nav>\n"
        "<script>var evil = 1;</script><style>p{color:red}</style>\n"
        "<pre><code>int main(void)</code></pre>\n"
        "<ul><li>Item one</li><li>Item two</li></ul>\n"
        "<blockquote><p>A quoted voice</p></blockquote>\n"
        "<h3>Second heading</h3>\n"
        "<p>Last paragraph &amp; more.</p>\n"
        "<section class=\"footnotes\"><ol><li id=\"fn-1\"><p>The note. "
        "<a href=\"#fnref-1\" class=\"footnote-backref\" "
        "data-footnote-backref>\xE2\x86\xA9</a></p></li></ol></section>\n";
    const char *order[] = {"Headline here.",
                           "By Ann Lee and Bob Roe.",
                           "The start.",
                           "First paragraph.",
                           "Item one.",
                           "Item two.",
                           "A quoted voice.",
                           "Second heading.",
                           "Last paragraph and more.",
                           "The note."};
    const char *never[] = {"Photo caption", "Agency credit",
                           "Related story", "Card title",
                           "Side note",     "Menu links",
                           "evil",          "color",
                           "int main",      "#",
                           "\xE2\x86\xA9",  "A cat",
                           "paragraph1",    "paragraph 1"};
    char *t = prep("en", "Headline here", "Ann Lee and Bob Roe", html);
    const char *at;
    int in_order = 1, clean = 1;

    CHECK(t != NULL, "an article with furniture is prepared");
    if (!t)
        return;
    at = t;
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++) {
        const char *p = strstr(at, order[i]);

        if (!p) {
            printf("#   missing or out of order: [%s]\n", order[i]);
            in_order = 0;
            break;
        }
        at = p + strlen(order[i]);
    }
    CHECK(in_order, "headline, byline, headings, paragraphs, list items, "
                    "quotes read in order, each ending with a full stop");
    for (size_t i = 0; i < sizeof never / sizeof never[0]; i++)
        if (strstr(t, never[i])) {
            printf("#   furniture read: [%s]\n", never[i]);
            clean = 0;
        }
    CHECK(clean, "figure, caption, credit, related card, aside, nav, "
                 "script, style, code, '#' anchors, footnote links skipped");
    if (!in_order || !clean)
        printf("#   text: [%s]\n", t);
    CHECK(!strstr(t, "  ") && t[strlen(t) - 1] != ' ', "whitespace normalised");
    free(t);

    t = prep("en", "Q", "By Ann Lee", "<p>x</p>");
    CHECK(t && strstr(t, "By Ann Lee.") && !strstr(t, "By By"),
          "a byline already starting 'By' is not doubled");
    free(t);
    t = prep("uk", "Заголовок", "Олена Коваль і Петро Мороз", "<p>Текст</p>");
    CHECK(t && strstr(t, "Автори: Олена Коваль і Петро Мороз."),
          "uk byline reads 'Автори: ...'");
    free(t);

    {
        char err[256] = "", *out = (char *)1;

        CHECK(speech_prepare("en", "Bad \xC3\x28 title", NULL, "<p>x</p>", &out,
                             err, sizeof err) == -1 &&
                  out == NULL && strstr(err, "UTF-8"),
              "invalid UTF-8 in the title refused: %s", err);
        CHECK(speech_prepare("en", "T", NULL, "<p>\xFF</p>", &out, err,
                             sizeof err) == -1 &&
                  strstr(err, "UTF-8"),
              "invalid UTF-8 in the HTML refused: %s", err);
    }
}

static void test_long_article(void)
{
    struct buf b;
    char *t;
    size_t words = 0;

    buf_init(&b, 4 * 1024 * 1024);
    for (int p = 0; p < 1000; p++) {
        buf_printf(&b,
                   "<p>Paragraph %d says that on Oct. 31 some 1,200 "
                   "people paid $4m, e.g. for tea, in 2026 and the "
                   "rest was fine too.</p>\n",
                   p);
    }
    t = prep("en", "Long", NULL, b.data);
    if (t) {
        for (char *p = t; *p; p++)
            if (*p != ' ' && *p != '\n' &&
                (p == t || p[-1] == ' ' || p[-1] == '\n'))
                words++;
    }
    CHECK(t && words > 20000 && strstr(t, "Paragraph 999 says"),
          "a 20,000-word article is prepared whole (%zu words)", words);
    free(t);
    buf_release(&b);
}

/* ---- synthesis ---- */

/* Duration of an MP3 by sox, in ms; -1 if sox cannot read it. */
static long sox_ms(const char *path)
{
    char cmd[512], line[64] = "";
    FILE *p;

    snprintf(cmd, sizeof cmd, "sox --i -D '%s' 2>/dev/null", path);
    p = popen(cmd, "r");
    if (!p)
        return -1;
    if (!fgets(line, sizeof line, p))
        line[0] = '\0';
    if (pclose(p) != 0 || !line[0])
        return -1;
    return (long)(strtod(line, NULL) * 1000 + 0.5);
}

/* Files in the test directory. */
static int files_in_dir(void)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;

    if (!d)
        return -1;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n;
}

/* Processes of process group pgid still running (zombies not counted:
 * a container's init may never reap the orphans we killed). */
static int running_in_group(int pgid)
{
    DIR *d = opendir("/proc");
    struct dirent *e;
    int n = 0;

    if (!d)
        return -1;
    while ((e = readdir(d)) != NULL) {
        char path[300], buf[512], *p, state;
        int pg = 0;
        FILE *f;

        if (e->d_name[0] < '0' || e->d_name[0] > '9')
            continue;
        snprintf(path, sizeof path, "/proc/%s/stat", e->d_name);
        f = fopen(path, "r");
        if (!f)
            continue;
        p = fgets(buf, sizeof buf, f);
        fclose(f);
        p = p ? strrchr(buf, ')') : NULL;
        /* "pid (comm) state ppid pgrp ..." */
        if (p && sscanf(p + 1, " %c %*d %d", &state, &pg) == 2 && pg == pgid &&
            state != 'Z')
            n++;
    }
    closedir(d);
    return n;
}

static int near(long got, long want, double frac)
{
    return got >= want - want * frac && got <= want + want * frac;
}

/* Synthesises text; returns duration by sox (ms) or -1, *ms the API's. */
static long say(const struct speech_opts *o, const char *text, const char *name,
                unsigned *ms, char *err, size_t errlen)
{
    char path[128];

    snprintf(path, sizeof path, "%s/%s", dir, name);
    err[0] = '\0';
    if (speech_synthesize(o, text, "Test title", path, ms, err, errlen) != 0)
        return -1;
    return sox_ms(path);
}

static void test_espeak(void)
{
    struct speech_opts o = {.engine = "espeak", .lang = "en"};
    struct buf words;
    char err[256] = "";
    unsigned ms = 0, ms100 = 0;
    long d, d100;

    d = say(&o, "Hello. This is the newsroom speaking.", "en.mp3", &ms, err,
            sizeof err);
    CHECK(d > 0 && near(d, (long)ms, 0.10),
          "espeak en: MP3 decodes, sox says %ld ms, API says %u ms (%s)", d, ms,
          err);
    o.lang = "uk";
    d = say(&o, "Добрий день. Це говорить редакція.", "uk.mp3", &ms, err,
            sizeof err);
    CHECK(d > 0 && near(d, (long)ms, 0.10),
          "espeak uk: MP3 decodes, sox says %ld ms, API says %u ms (%s)", d, ms,
          err);

    buf_init(&words, 65536);
    for (int i = 0; i < 10; i++)
        buf_adds(&words, "The council met on Monday and agreed to build a "
                         "new bridge over the river next year. ");
    o.lang = "en";
    o.wpm = 160;
    d100 = say(&o, words.data, "long.mp3", &ms100, err, sizeof err);
    /* 10 sentences of 18 words: 180 words at 160 wpm */
    CHECK(d100 > 0 && near(d100, 180 * 60000L / 160, 0.40) &&
              near(d100, (long)ms100, 0.10),
          "180 words at 160 wpm last about 67 s: sox %ld ms, API %u ms", d100,
          ms100);
    CHECK(d100 > 4 * d, "more words last longer (%ld ms vs %ld ms)", d100, d);
    o.wpm = 320;
    d = say(&o, words.data, "fast.mp3", &ms, err, sizeof err);
    CHECK(d > 0 && d < d100 * 3 / 4,
          "320 wpm is faster than 160 wpm (%ld ms vs %ld ms)", d, d100);
    /* 4,400 bytes in one line: espeak-ng gets it in chunks, none lost */
    {
        struct buf four;
        long d4;

        buf_init(&four, 65536);
        for (int i = 0; i < 4; i++)
            buf_adds(&four, words.data);
        d4 = say(&o, four.data, "four.mp3", &ms, err, sizeof err);
        CHECK(d4 > 0 && near(d4, 4 * d, 0.15),
              "text four times as long, spoken in chunks, lasts four times "
              "as long (%ld ms vs 4 x %ld ms)",
              d4, d);
        buf_release(&four);
    }
    buf_release(&words);

    o.wpm = 0;
    o.voice = "xx-nonesuch";
    CHECK(say(&o, "Hello.", "bad.mp3", &ms, err, sizeof err) == -1 &&
              strstr(err, "no voice 'xx-nonesuch'"),
          "an unknown voice is refused: %s", err);
    o.voice = "en-gb";
    CHECK(say(&o, "Hello there.", "gb.mp3", &ms, err, sizeof err) > 0,
          "voice en-gb by name works (%s)", err);
}

static void test_command(void)
{
    struct speech_opts o = {.engine = "command"};
    char err[256] = "", pidfile[128], cmd[512];
    unsigned ms = 0;
    long d;
    int before;
    FILE *f;

    o.command = "cat >/dev/null; sox -n -r 16000 -b 16 -c 1 -t wav - synth "
                "1.5 sine 440 2>/dev/null";
    d = say(&o, "Some text.", "cmd.mp3", &ms, err, sizeof err);
    CHECK(d > 0 && near(d, 1500, 0.10) && near((long)ms, 1500, 0.05),
          "command writing a 1.5 s WAV: MP3 of %ld ms (API %u ms) (%s)", d, ms,
          err);
    o.command = "sox -n -r 44100 -b 16 -c 2 -t wav - synth 2 sine 300 "
                "2>/dev/null";
    d = say(&o, "Text it ignores.", "stereo.mp3", &ms, err, sizeof err);
    CHECK(d > 0 && near(d, 2000, 0.10),
          "a stereo 44.1 kHz WAV becomes a 2 s MP3 (%ld ms) (%s)", d, err);

    /* the piper recipe of docs/narration.md, with sox standing in for
     * piper's --output_raw */
    o.command = "sox -n -t raw -r 22050 -e signed -b 16 -c 1 - synth 1.2 "
                "sine 300 | sox -V1 -t raw -r 22050 -e signed -b 16 -c 1 - "
                "-t wav -";
    d = say(&o, "Text.", "raw.mp3", &ms, err, sizeof err);
    CHECK(d > 0 && near((long)ms, 1200, 0.05),
          "raw PCM through sox (the piper recipe) gives a 1.2 s MP3 (%u ms) "
          "(%s)",
          ms, err);
    o.command = "sox -n -t raw -r 22050 -e signed -b 16 -c 1 - trim 0 0 | "
                "sox -V1 -t raw -r 22050 -e signed -b 16 -c 1 - -t wav -; "
                "echo 'piper: model not found' >&2";
    CHECK(say(&o, "Text.", "empty.mp3", &ms, err, sizeof err) == -1 &&
              strstr(err, "no audio: piper: model not found"),
          "a pipeline that yields no samples fails with the last stderr "
          "line: %s",
          err);

    before = files_in_dir();
    o.command = "cat >/dev/null; echo 'voice model missing' >&2; exit 3";
    CHECK(say(&o, "Text.", "fail.mp3", &ms, err, sizeof err) == -1 &&
              strstr(err, "status 3") && strstr(err, "voice model missing"),
          "a command exiting 3 fails with its status and stderr: %s", err);

    snprintf(pidfile, sizeof pidfile, "%s/pid", dir);
    snprintf(cmd, sizeof cmd, "echo $$ > %s; sleep 30; echo late", pidfile);
    o.command = cmd;
    o.timeout_s = 1;
    CHECK(say(&o, "Text.", "slow.mp3", &ms, err, sizeof err) == -1 &&
              strstr(err, "timed out after 1 s"),
          "a command past timeout_s=1 is stopped: %s", err);
    f = fopen(pidfile, "r");
    if (f) {
        int pid = 0;

        if (fscanf(f, "%d", &pid) != 1)
            pid = 0;
        fclose(f);
        unlink(pidfile);
        /* SIGKILL reaches the group at once, but a grandchild (sleep)
         * finishes dying on its own time on a loaded machine */
        int left = -1;
        for (int i = 0; i < 200 && pid > 0 && left != 0; i++) {
            left = running_in_group(pid);
            if (left)
                usleep(10000);
        }
        CHECK(pid > 0 && left == 0,
              "its whole process group (sh and sleep) is killed "
              "(%d still running)",
              left);
    } else {
        CHECK(0, "the slow command ran");
    }
    o.timeout_s = 0;

    o.command = "cat; echo 'not audio at all, just words'";
    CHECK(say(&o, "Text.", "text.mp3", &ms, err, sizeof err) == -1 &&
              strstr(err, "not a WAV"),
          "output that is not a WAV is refused: %s", err);
    o.command = "sox -n -r 16000 -b 8 -c 1 -t wav - synth 1 sine 440 "
                "2>/dev/null";
    CHECK(say(&o, "Text.", "u8.mp3", &ms, err, sizeof err) == -1 &&
              strstr(err, "not a WAV"),
          "an 8-bit WAV is refused: %s", err);
    o.command = "true";
    CHECK(say(&o, "Text.", "none.mp3", &ms, err, sizeof err) == -1,
          "a command writing nothing fails: %s", err);
    CHECK(files_in_dir() == before,
          "no MP3 or temporary file left behind after failures");
}

struct job {
    struct speech_opts o; /* engine and language */
    const char *text;     /* what to say */
    const char *name;     /* file in dir */
    long ms;              /* sox's duration, or -1 */
    char err[256];        /* reason on failure */
};

static void *run_job(void *arg)
{
    struct job *j = arg;
    unsigned ms;

    j->ms = say(&j->o, j->text, j->name, &ms, j->err, sizeof j->err);
    return NULL;
}

static void test_threads(void)
{
    struct job jobs[4] = {
        {.o = {.lang = "en"},
         .text = "First voice, in English.",
         .name = "t0.mp3"},
        {.o = {.lang = "uk"},
         .text = "Другий голос, українською.",
         .name = "t1.mp3"},
        {.o = {.lang = "en", .wpm = 220},
         .text = "A third, faster voice.",
         .name = "t2.mp3"},
        {.o = {.engine = "command",
               .command = "sox -n -r 22050 -b 16 -c 1 -t wav - synth 1 "
                          "sine 500 2>/dev/null"},
         .text = "ignored",
         .name = "t3.mp3"},
    };
    pthread_t th[4];
    int ok = 1;

    for (int i = 0; i < 4; i++)
        pthread_create(&th[i], NULL, run_job, &jobs[i]);
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        if (jobs[i].ms <= 0) {
            printf("#   job %d: %s\n", i, jobs[i].err);
            ok = 0;
        }
    }
    CHECK(ok, "four narrations at once (three espeak, one command) all "
              "give playable MP3s");
}

static void test_big_stdin(void)
{
    struct speech_opts o = {.engine = "command"};
    struct buf text;
    char err[256] = "";
    unsigned ms;

    buf_init(&text, 2 * 1024 * 1024);
    while (text.len < 1024 * 1024)
        buf_adds(&text, "A long article that the command never reads. ");
    o.command = "sox -n -r 16000 -b 16 -c 1 -t wav - synth 0.5 sine 440 "
                "2>/dev/null";
    CHECK(say(&o, text.data, "big.mp3", &ms, err, sizeof err) > 0,
          "a command that ignores 1 MB on stdin still works (%s)", err);
    o.command = "head -c 1000 >/dev/null; sox -n -r 16000 -b 16 -c 1 -t wav "
                "- synth 0.5 sine 440 2>/dev/null";
    CHECK(say(&o, text.data, "head.mp3", &ms, err, sizeof err) > 0,
          "a command that reads part of its stdin still works (%s)", err);
    buf_release(&text);
}

/* Touches dir/name (empty) with its last write age_s seconds ago. */
static void touch_aged(const char *name, long age_s)
{
    char path[256];
    struct timespec t[2];

    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (f)
        fclose(f);
    clock_gettime(CLOCK_REALTIME, &t[0]);
    t[0].tv_sec -= age_s;
    t[1] = t[0];
    utimensat(AT_FDCWD, path, t, 0);
}

static int exists(const char *name)
{
    char path[256];

    snprintf(path, sizeof path, "%s/%s", dir, name);
    return access(path, F_OK) == 0;
}

/* Temporary files of killed syntheses: the same file's is removed by its
 * next synthesis whatever its age; another file's (an article renamed by
 * a text change) once nothing wrote to it for longer than a synthesis can
 * run without writing (the command timeout + 60 s); a fresh one, which a
 * synthesis running meanwhile may be writing, and other files stay. */
static void test_leftovers(void)
{
    struct speech_opts o = {.engine = "espeak", .lang = "en", .timeout_s = 30};
    char err[256] = "";
    unsigned ms = 0;

    touch_aged("left.mp3.Ab12Cd", 0);
    touch_aged("old-1a2b3c4d5e6f.mp3.Qw34Er", 91);
    touch_aged("busy-1a2b3c4d5e6f.mp3.Ty56Ui", 5);
    touch_aged("notes.txt", 3600);
    touch_aged("kept-1a2b3c4d5e6f.mp3", 3600);
    CHECK(say(&o, "A short line.", "left.mp3", &ms, err, sizeof err) > 0,
          "synthesis with leftovers around works (%s)", err);
    CHECK(!exists("left.mp3.Ab12Cd"), "the same file's leftover is removed");
    CHECK(!exists("old-1a2b3c4d5e6f.mp3.Qw34Er"),
          "another file's leftover older than timeout + 60 s is removed");
    CHECK(exists("busy-1a2b3c4d5e6f.mp3.Ty56Ui"),
          "a temporary file written 5 s ago stays (a synthesis may own it)");
    CHECK(exists("notes.txt") && exists("kept-1a2b3c4d5e6f.mp3"),
          "other files, and finished narrations, stay");
}

int main(void)
{
    snprintf(dir, sizeof dir, "/tmp/test_speech.XXXXXX");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    test_english();
    test_ukrainian();
    test_structure();
    test_long_article();
    test_espeak();
    test_command();
    test_threads();
    test_big_stdin();
    test_leftovers();
    speech_shutdown();
    {
        char cmd[128];

        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        if (system(cmd) != 0)
            printf("# cannot remove %s\n", dir);
    }
    return check_done();
}
