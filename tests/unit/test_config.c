/*
 * test_config.c - site.conf parsing: defaults, every key, and one-line
 * errors that name the file, the line and the key.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "core/config.h"

static int parse(struct config *c, const char *text, char *err, size_t n)
{
    config_defaults(c);
    err[0] = '\0';
    return config_parse(c, "site.conf", text, strlen(text), err, n);
}

static void expect_error(const char *text, const char *want)
{
    struct config c;
    char err[256];
    int r = parse(&c, text, err, sizeof err);
    (void)text;
    CHECK(r == -1 && strstr(err, want) && !strchr(err, '\n'),
          "error contains \"%s\" (got \"%s\")", want, err);
}

int main(void)
{
    struct config c;
    char err[256];

    config_defaults(&c);
    CHECK_STR(c.title, "The Newsroom", "default title");
    CHECK(c.reading_speed == 230 && c.page_size == 10, "default numbers");
    CHECK_STR(c.listen, "127.0.0.1:8080", "default listen");

    CHECK(parse(&c,
                "# comment\n\ntitle = The Valley Post\n"
                "url = https://news.example.org/\n"
                "timezone = Europe/Kyiv\nlanguage = uk\n"
                "listen = [::1]:9000\nreading_speed = 200\n"
                "page_size = 20\naccess_log = yes\n"
                "description = \"Quoted, with = sign\"\n",
                err, sizeof err) == 0,
          "every key parses (%s)", err);
    CHECK_STR(c.title, "The Valley Post", "title read");
    CHECK_STR(c.url, "https://news.example.org", "trailing slash dropped");
    CHECK_STR(c.timezone, "Europe/Kyiv", "timezone read");
    CHECK_STR(c.description, "Quoted, with = sign", "quotes stripped");
    CHECK(c.reading_speed == 200 && c.page_size == 20 && c.access_log == 1,
          "numbers and booleans read");
    CHECK(parse(&c, "", err, sizeof err) == 0, "empty file is fine");
    CHECK(parse(&c, "title = A\r\n", err, sizeof err) == 0 &&
              strcmp(c.title, "A") == 0,
          "CRLF line endings accepted");

    expect_error("title = ok\ntitel = Oops\n",
                 "site.conf:2: unknown key 'titel'");
    expect_error("reading_speed = fast\n",
                 "site.conf:1: bad value for 'reading_speed'");
    expect_error("reading_speed = 5\n", "from 50 to 1000");
    expect_error("reading_speed = -300\n", "reading_speed");
    expect_error("page_size = 0\n", "page_size");
    expect_error("timezone = Mars/Olympus\n", "bad value for 'timezone'");
    expect_error("timezone = ../../../etc/passwd\n", "timezone");
    expect_error("url = javascript:alert(1)\n", "bad value for 'url'");
    expect_error("url = https://x.org/a?b\n", "url");
    expect_error("url = https://x.org/\r\nSet-Cookie: a\n",
                 "site.conf:2: expected 'key = value'");
    expect_error("title = a\rSet-Cookie: b\n",
                 "site.conf:1: control character");
    expect_error("language = English\n", "language");
    expect_error("listen = localhost\n", "listen");
    expect_error("listen = 1.2.3.4:70000\n", "listen");
    expect_error("access_log = maybe\n", "access_log");
    expect_error("title =\n", "bad value for 'title'");
    expect_error("just words\n", "site.conf:1: expected 'key = value'");
    expect_error("title = \xff\xfe\n", "site.conf:1: invalid UTF-8");
    expect_error("title = a\xc0\xaf\n", "invalid UTF-8");

    char big[1200];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    memcpy(big, "title = ", 8);
    expect_error(big, "line too long");

    char title[300];
    memset(title, 'x', sizeof title);
    memcpy(title, "title = ", 8);
    title[sizeof title - 2] = '\n';
    title[sizeof title - 1] = '\0';
    expect_error(title, "bad value for 'title'");

    /* mail keys (docs/mail.md) */
    config_defaults(&c);
    CHECK(c.smtp_url[0] == '\0' && c.smtp_user[0] == '\0' &&
              strcmp(c.smtp_starttls, "try") == 0 && c.mail_rate == 50 &&
              c.mail_from[0] == '\0',
          "mail defaults: no SMTP (.eml files), STARTTLS try, 50/s");
    CHECK(parse(&c,
                "smtp_url = smtps://mail.example.org:465\n"
                "smtp_user = news@example.org\nsmtp_starttls = required\n"
                "mail_rate = 10000\n"
                "mail_from = The Valley Post <Desk@Valley.example>\n",
                err, sizeof err) == 0,
          "mail keys parse (%s)", err);
    CHECK_STR(c.smtp_url, "smtps://mail.example.org:465", "smtp_url read");
    CHECK_STR(c.smtp_user, "news@example.org", "smtp_user read");
    CHECK_STR(c.smtp_starttls, "required", "smtp_starttls read");
    CHECK(c.mail_rate == 10000, "mail_rate read");
    char nm[256], ad[256];
    config_mail_from(&c, nm, sizeof nm, ad, sizeof ad);
    CHECK_STR(nm, "The Valley Post", "mail_from name");
    CHECK_STR(ad, "Desk@Valley.example", "mail_from address");
    CHECK(parse(&c, "smtp_url = smtp://[::1]:2525/\nsmtp_url =\n", err,
                sizeof err) == 0 &&
              c.smtp_url[0] == '\0',
          "smtp_url may be emptied again (%s)", err);
    CHECK(parse(&c, "smtp_url = smtp://127.0.0.1:2525\n", err, sizeof err) == 0,
          "smtp://127.0.0.1:2525 accepted (%s)", err);
    CHECK(parse(&c, "url = https://News.Example.org:8443/x\n", err,
                sizeof err) == 0,
          "url parses");
    config_mail_from(&c, nm, sizeof nm, ad, sizeof ad);
    CHECK(nm[0] == '\0' && strcmp(ad, "newsroom@news.example.org") == 0,
          "default sender is newsroom@ the site's host (got %s)", ad);
    config_defaults(&c);
    config_mail_from(&c, nm, sizeof nm, ad, sizeof ad);
    CHECK_STR(ad, "newsroom@localhost.invalid",
              "default sender of a 127.0.0.1 site");
    CHECK(parse(&c, "mail_from = desk@post.example\n", err, sizeof err) == 0,
          "bare sender address accepted");
    config_mail_from(&c, nm, sizeof nm, ad, sizeof ad);
    CHECK(nm[0] == '\0' && strcmp(ad, "desk@post.example") == 0,
          "bare sender read");
    expect_error("smtp_url = http://mail.example.org\n",
                 "site.conf:1: bad value for 'smtp_url'");
    expect_error("smtp_url = smtp://user:secret@mail.example.org\n",
                 "smtp_url");
    expect_error("smtp_url = smtp://mail example.org\n", "smtp_url");
    expect_error("smtp_url = smtp://mail.example.org:0\n", "smtp_url");
    expect_error("smtp_url = smtp://mail.example.org:70000\n", "smtp_url");
    expect_error("smtp_url = smtp://\n", "smtp_url");
    expect_error("smtp_url = smtp://x.org\rRCPT TO:<a@b.c>\n",
                 "control character");
    expect_error("smtp_user = two words\n", "bad value for 'smtp_user'");
    expect_error("smtp_starttls = maybe\n", "expected try, required or off");
    expect_error("mail_rate = 0\n", "from 1 to 10000");
    expect_error("mail_rate = 10001\n", "mail_rate");
    expect_error("mail_from = not an address\n", "bad value for 'mail_from'");
    expect_error("mail_from = Desk <desk@post.example\n", "mail_from");
    expect_error("mail_from = Desk <desk@localhost>\n", "mail_from");
    expect_error("mail_from = a@b@c.org\n", "mail_from");

    CHECK(config_load(&c, "/nonexistent/site.conf", err, sizeof err) == -1 &&
              strstr(err, "cannot open '/nonexistent/site.conf'"),
          "missing file named in the error");

    /* what config_write writes, config_load reads back */
    char path[] = "/tmp/newsroom-conf-XXXXXX";
    int fd = mkstemp(path);
    close(fd);
    unlink(path);
    config_defaults(&c);
    snprintf(c.title, sizeof c.title, "%s", "Round Trip Times");
    c.reading_speed = 333;
    snprintf(c.mail_from, sizeof c.mail_from, "%s",
             "Round Trip <rt@times.example>");
    c.mail_rate = 7;
    CHECK(config_write(&c, path, err, sizeof err) == 0, "config written");
    struct config back;
    config_defaults(&back);
    CHECK(config_load(&back, path, err, sizeof err) == 0 &&
              strcmp(back.title, "Round Trip Times") == 0 &&
              back.reading_speed == 333,
          "written config reads back (%s)", err);
    CHECK(strcmp(back.mail_from, "Round Trip <rt@times.example>") == 0 &&
              back.mail_rate == 7 && back.smtp_url[0] == '\0' &&
              strcmp(back.smtp_starttls, "try") == 0,
          "mail keys (empty smtp_url too) read back");
    CHECK(config_write(&c, path, err, sizeof err) == -1,
          "config_write refuses to overwrite");
    unlink(path);
    return check_done();
}
