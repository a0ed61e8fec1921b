/*
 * engine.c - speech_synthesize(): text to a mono MP3, by espeak-ng (built
 * in) or by an operator's command that writes a WAV on stdout.
 *
 * DESIGN
 * PCM is never held whole: espeak-ng's callback and the command's stdout
 * both stream 16-bit samples into one LAME encoder (struct enc) that writes
 * MP3 frames into a temporary file next to out_path; the file is renamed
 * over out_path only when everything succeeded, and unlinked otherwise.
 * espeak-ng keeps global state, so one mutex guards it from initialisation
 * to shutdown; long text goes to it in chunks of SPEECH_CHUNK_MAX bytes cut
 * at paragraph or sentence ends. The command runs in its own process group
 * with a deadline; at the deadline the whole group gets SIGKILL. Its stdin
 * is a socket so a command that exits early cannot SIGPIPE us.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <espeak-ng/speak_lib.h>
#include <lame/lame.h>

#include "core/str.h"
#include "speech/speech.h"

/* ---- MP3 encoder writing to a temporary file ---- */

struct enc {
    lame_global_flags *lame; /* NULL until the sample rate is known */
    FILE *fp;                /* the temporary file */
    unsigned kbps;           /* CBR bit rate */
    const char *title;       /* ID3v2 title or NULL */
    int rate;                /* input samples per second */
    uint64_t samples;        /* mono samples encoded so far */
    int failed;              /* 1 after a write or LAME error */
    unsigned char *mp3;      /* LAME output scratch */
    size_t mp3cap;           /* bytes of mp3 */
};

/* UTF-8 title to NUL-terminated UTF-16 with a BOM (LAME wants one).
 * Caller frees; NULL if title is not valid UTF-8. */
static unsigned short *utf16_from(const char *s)
{
    size_t n = strlen(s), i = 0, o = 0;
    unsigned short *u = malloc((n * 2 + 2) * sizeof *u);

    if (!u)
        abort();
    u[o++] = 0xFEFF;
    while (i < n) {
        uint32_t cp;
        size_t k = str_utf8_decode(s + i, n - i, &cp);

        if (k == 0) {
            free(u);
            return NULL;
        }
        i += k;
        if (cp >= 0x10000) {
            cp -= 0x10000;
            u[o++] = (unsigned short)(0xD800 + (cp >> 10));
            u[o++] = (unsigned short)(0xDC00 + (cp & 0x3FF));
        } else {
            u[o++] = (unsigned short)cp;
        }
    }
    u[o] = 0;
    return u;
}

/* Starts LAME for rate samples per second of mono input. 0 or -1. */
static int enc_start(struct enc *e, int rate)
{
    e->lame = lame_init();
    if (!e->lame)
        return -1;
    e->rate = rate;
    lame_set_in_samplerate(e->lame, rate);
    lame_set_num_channels(e->lame, 1);
    lame_set_mode(e->lame, MONO);
    lame_set_VBR(e->lame, vbr_off);
    lame_set_brate(e->lame, (int)e->kbps);
    lame_set_quality(e->lame, 5);
    lame_set_bWriteVbrTag(e->lame, 1); /* "Info" frame where supported */
    id3tag_init(e->lame);
    id3tag_v2_only(e->lame);
    if (e->title && *e->title) {
        unsigned short *t = utf16_from(e->title);

        if (t)
            id3tag_set_textinfo_utf16(e->lame, "TIT2", t);
        free(t);
    }
    if (lame_init_params(e->lame) < 0)
        return -1;
    return 0;
}

/* Writes n bytes of LAME output; marks the encoder failed on error. */
static void enc_write(struct enc *e, int n)
{
    if (n < 0) {
        e->failed = 1;
        return;
    }
    if (n > 0 && fwrite(e->mp3, 1, (size_t)n, e->fp) != (size_t)n)
        e->failed = 1;
}

/* Encodes n mono samples. 0 or -1. */
static int enc_add(struct enc *e, const short *pcm, size_t n)
{
    while (n > 0 && !e->failed) {
        size_t k = n > 8192 ? 8192 : n;
        size_t need = k * 5 / 4 + 7200;

        if (e->mp3cap < need) {
            free(e->mp3);
            e->mp3 = malloc(need);
            if (!e->mp3)
                abort();
            e->mp3cap = need;
        }
        enc_write(e, lame_encode_buffer(e->lame, pcm, NULL, (int)k, e->mp3,
                                        (int)e->mp3cap));
        e->samples += k;
        pcm += k;
        n -= k;
    }
    return e->failed ? -1 : 0;
}

/* Flushes LAME, writes its Info frame, syncs the file. 0 or -1. */
static int enc_finish(struct enc *e)
{
    if (!e->lame || e->failed)
        return -1;
    if (e->mp3cap < 7200) {
        free(e->mp3);
        e->mp3 = malloc(7200);
        if (!e->mp3)
            abort();
        e->mp3cap = 7200;
    }
    enc_write(e, lame_encode_flush(e->lame, e->mp3, (int)e->mp3cap));
    if (e->failed || fflush(e->fp) != 0)
        return -1;
    lame_mp3_tags_fid(e->lame, e->fp); /* the "Info" frame, if LAME has one */
    if (fflush(e->fp) != 0 || ferror(e->fp) || fsync(fileno(e->fp)) != 0)
        return -1;
    return 0;
}

static void enc_release(struct enc *e)
{
    if (e->lame)
        lame_close(e->lame);
    e->lame = NULL;
    free(e->mp3);
    e->mp3 = NULL;
    if (e->fp)
        fclose(e->fp);
    e->fp = NULL;
}

/* ---- espeak-ng ---- */

static pthread_mutex_t espeak_lock = PTHREAD_MUTEX_INITIALIZER;
static int espeak_rate;        /* sample rate once started; 0 = not */
static struct enc *espeak_enc; /* where the callback sends PCM */

static int espeak_cb(short *wav, int n, espeak_EVENT *ev)
{
    (void)ev;
    if (!espeak_enc || espeak_enc->failed)
        return 1;
    if (wav && n > 0 && enc_add(espeak_enc, wav, (size_t)n) != 0)
        return 1;
    return 0;
}

/* Length of the next chunk of text (at most SPEECH_CHUNK_MAX bytes), cut
 * after a paragraph break, else a sentence end, else a space, else a
 * UTF-8 boundary. */
static size_t chunk_len(const char *s, size_t n)
{
    size_t i, cut = 0;

    if (n <= SPEECH_CHUNK_MAX)
        return n;
    for (i = SPEECH_CHUNK_MAX; i > SPEECH_CHUNK_MAX / 2; i--) {
        if (s[i - 1] == '\n')
            return i;
        if (!cut && s[i - 1] == ' ' && i >= 2 &&
            strchr(".!?;:", s[i - 2]) != NULL)
            cut = i;
    }
    if (cut)
        return cut;
    for (i = SPEECH_CHUNK_MAX; i > 1; i--)
        if (s[i - 1] == ' ')
            return i;
    for (i = SPEECH_CHUNK_MAX; i > 1; i--)
        if (((unsigned char)s[i] & 0xC0) != 0x80)
            return i;
    return SPEECH_CHUNK_MAX;
}

/* Speaks text into e. Called with espeak_lock held. 0 or -1 (err). */
static int espeak_run(const struct speech_opts *o, const char *text,
                      struct enc *e, unsigned wpm, char *err, size_t errlen)
{
    char lang[32];
    size_t n = strlen(text), off = 0;
    char *chunk = malloc(SPEECH_CHUNK_MAX + 1);

    if (!chunk)
        abort();
    /* "en-GB" -> "en-gb", as espeak-ng lists its languages */
    snprintf(lang, sizeof lang, "%s", o->lang && *o->lang ? o->lang : "en");
    for (char *p = lang; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p + 32);
        else if (*p == '_')
            *p = '-';
    if (!espeak_rate) {
        int r = espeak_Initialize(AUDIO_OUTPUT_SYNCHRONOUS, 500, NULL,
                                  espeakINITIALIZE_DONT_EXIT);

        if (r <= 0) {
            snprintf(err, errlen, "cannot start espeak-ng: no voice data");
            free(chunk);
            return -1;
        }
        espeak_rate = r;
        espeak_SetSynthCallback(espeak_cb);
    }
    if (o->voice && *o->voice) {
        espeak_VOICE v;

        /* a voice's name or file ("en-GB-x-rp"), else a language tag
         * ("en-gb") */
        memset(&v, 0, sizeof v);
        v.languages = o->voice;
        if (espeak_SetVoiceByName(o->voice) != EE_OK &&
            espeak_SetVoiceByProperties(&v) != EE_OK) {
            snprintf(err, errlen, "espeak-ng has no voice '%s'", o->voice);
            free(chunk);
            return -1;
        }
    } else {
        espeak_VOICE v;

        memset(&v, 0, sizeof v);
        v.languages = lang;
        if (espeak_SetVoiceByProperties(&v) != EE_OK) {
            snprintf(err, errlen, "espeak-ng has no voice for language '%s'",
                     lang);
            free(chunk);
            return -1;
        }
    }
    espeak_SetParameter(espeakRATE, (int)wpm, 0);
    if (enc_start(e, espeak_rate) != 0) {
        snprintf(err, errlen, "cannot start the MP3 encoder");
        free(chunk);
        return -1;
    }
    espeak_enc = e;
    while (off < n && !e->failed) {
        size_t k = chunk_len(text + off, n - off);

        memcpy(chunk, text + off, k);
        chunk[k] = '\0';
        off += k;
        if (espeak_Synth(chunk, k + 1, 0, POS_CHARACTER, 0, espeakCHARS_UTF8,
                         NULL, NULL) != EE_OK) {
            snprintf(err, errlen, "espeak-ng failed to speak the text");
            espeak_enc = NULL;
            free(chunk);
            return -1;
        }
    }
    espeak_Synchronize();
    espeak_enc = NULL;
    free(chunk);
    if (e->failed) {
        snprintf(err, errlen, "cannot write MP3: %s", strerror(errno));
        return -1;
    }
    return 0;
}

void speech_shutdown(void)
{
    pthread_mutex_lock(&espeak_lock);
    if (espeak_rate)
        espeak_Terminate();
    espeak_rate = 0;
    pthread_mutex_unlock(&espeak_lock);
}

/* ---- the command engine ---- */

/* A WAV read as it streams in: header chunks, then 16-bit PCM. */
struct wav {
    unsigned char hdr[4096]; /* bytes of the header seen so far */
    size_t hlen;             /* bytes in hdr */
    uint64_t skip;           /* bytes of an unknown chunk still to skip */
    int channels;            /* 1 or 2; 0 until "fmt " */
    int rate;                /* samples per second */
    int in_data;             /* 1 once inside "data" */
    int bad;                 /* 1: not a WAV we can read */
    unsigned char part[4];   /* bytes of an incomplete frame */
    size_t plen;             /* bytes in part */
    short pcm[4096];         /* mono samples waiting for the encoder */
};

static unsigned le16(const unsigned char *p)
{
    return (unsigned)p[0] | (unsigned)p[1] << 8;
}

static uint32_t le32(const unsigned char *p)
{
    return (uint32_t)le16(p) | (uint32_t)le16(p + 2) << 16;
}

/* Parses the header in w->hdr as far as it goes. */
static void wav_header(struct wav *w)
{
    size_t at = 12;

    if (w->hlen < 12)
        return;
    if (memcmp(w->hdr, "RIFF", 4) != 0 || memcmp(w->hdr + 8, "WAVE", 4)) {
        w->bad = 1;
        return;
    }
    while (w->hlen - at >= 8) {
        uint32_t sz = le32(w->hdr + at + 4);

        if (memcmp(w->hdr + at, "data", 4) == 0) {
            if (!w->channels) {
                w->bad = 1;
                return;
            }
            w->in_data = 1;
            at += 8;
            /* what follows the data header is audio */
            memmove(w->hdr, w->hdr + at, w->hlen - at);
            w->hlen -= at;
            return;
        }
        if (memcmp(w->hdr + at, "fmt ", 4) == 0) {
            unsigned fmt, bits;

            if (sz < 16 || sz > 256) {
                w->bad = 1;
                return;
            }
            if (w->hlen - at - 8 < sz)
                return; /* wait for the rest */
            fmt = le16(w->hdr + at + 8);
            w->channels = (int)le16(w->hdr + at + 10);
            w->rate = (int)le32(w->hdr + at + 12);
            bits = le16(w->hdr + at + 22);
            if (fmt == 0xFFFE && sz >= 26)
                fmt = le16(w->hdr + at + 32);
            if (fmt != 1 || bits != 16 || w->channels < 1 || w->channels > 2 ||
                w->rate < 4000 || w->rate > 192000) {
                w->bad = 1;
                return;
            }
        }
        if (memcmp(w->hdr + at, "fmt ", 4) != 0 &&
            w->hlen - at - 8 < (uint64_t)sz + (sz & 1)) {
            /* a chunk we do not need (LIST ...) runs past what we have:
             * drop what we have of it and skip the rest as it arrives */
            w->skip = (uint64_t)sz + (sz & 1) - (w->hlen - at - 8);
            w->hlen = at;
            return;
        }
        if (w->hlen - at - 8 < (uint64_t)sz + (sz & 1))
            return;
        at += 8 + (size_t)sz + (sz & 1);
    }
    if (w->hlen == sizeof w->hdr)
        w->bad = 1;
}

/* Feeds n bytes of PCM data to the encoder (started on first call). */
static int wav_pcm(struct wav *w, struct enc *e, const unsigned char *p,
                   size_t n)
{
    size_t fb = (size_t)w->channels * 2, m = 0;

    if (!e->lame && enc_start(e, w->rate) != 0)
        return -1;
    while (n > 0) {
        while (n > 0 && w->plen < fb) {
            w->part[w->plen++] = *p++;
            n--;
        }
        if (w->plen < fb)
            break;
        if (w->channels == 1)
            w->pcm[m++] = (short)le16(w->part);
        else
            w->pcm[m++] = (short)(((int)(short)le16(w->part) +
                                   (int)(short)le16(w->part + 2)) /
                                  2);
        w->plen = 0;
        if (m == sizeof w->pcm / sizeof w->pcm[0]) {
            if (enc_add(e, w->pcm, m) != 0)
                return -1;
            m = 0;
        }
    }
    return m ? enc_add(e, w->pcm, m) : 0;
}

/* Feeds n bytes of the command's stdout. 0 or -1 (w->bad or encoder). */
static int wav_feed(struct wav *w, struct enc *e, const unsigned char *p,
                    size_t n)
{
    while (n > 0 && !w->in_data) {
        size_t k;

        if (w->skip) {
            k = n < w->skip ? n : (size_t)w->skip;
            w->skip -= k;
            p += k;
            n -= k;
            continue;
        }
        k = sizeof w->hdr - w->hlen;
        if (k > n)
            k = n;
        memcpy(w->hdr + w->hlen, p, k);
        w->hlen += k;
        p += k;
        n -= k;
        wav_header(w);
        if (w->bad)
            return -1;
        if (w->in_data && w->hlen) {
            size_t h = w->hlen;

            w->hlen = 0;
            if (wav_pcm(w, e, w->hdr, h) != 0)
                return -1;
        }
    }
    if (n > 0)
        return wav_pcm(w, e, p, n);
    return 0;
}

static long long now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Last non-empty line of the command's stderr, trimmed, into out. */
static void last_line(const char *s, size_t n, char *out, size_t outlen)
{
    size_t end = n, start;

    while (end > 0 && (s[end - 1] == '\n' || s[end - 1] == '\r' ||
                       s[end - 1] == ' ' || s[end - 1] == '\t'))
        end--;
    start = end;
    while (start > 0 && s[start - 1] != '\n')
        start--;
    if (end - start >= outlen)
        start = end - (outlen - 1);
    memcpy(out, s + start, end - start);
    out[end - start] = '\0';
}

/* Child side of fork: never returns. */
static void child_exec(const char *cmd, int in, int out, int errfd)
{
    sigset_t all;

    setpgid(0, 0);
    sigemptyset(&all);
    sigprocmask(SIG_SETMASK, &all, NULL);
    signal(SIGPIPE, SIG_DFL);
    if (dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(errfd, 2) < 0)
        _exit(127);
    closefrom(3);
    execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
    _exit(127);
}

/* Runs o->command with text on stdin, streaming its WAV into e. */
static int command_run(const struct speech_opts *o, const char *text,
                       struct enc *e, char *err, size_t errlen)
{
    int sv[2] = {-1, -1}, po[2] = {-1, -1}, pe[2] = {-1, -1};
    unsigned timeout = o->timeout_s ? o->timeout_s : SPEECH_TIMEOUT_DEFAULT;
    long long deadline = now_ms() + (long long)timeout * 1000;
    size_t tlen = strlen(text), toff = 0, elen = 0;
    char ebuf[2048], line[300];
    unsigned char rbuf[65536];
    struct wav *w = NULL;
    uint64_t wav_bytes = 0;
    int status = 0, timed_out = 0, too_big = 0, enc_err = 0, rc = -1;
    pid_t pid = -1;

    if (!o->command || !*o->command) {
        snprintf(err, errlen, "engine 'command' needs a command");
        return -1;
    }
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0 ||
        pipe2(po, O_CLOEXEC) != 0 || pipe2(pe, O_CLOEXEC) != 0) {
        snprintf(err, errlen, "cannot start command: %s", strerror(errno));
        goto out;
    }
    pid = fork();
    if (pid < 0) {
        snprintf(err, errlen, "cannot start command: %s", strerror(errno));
        goto out;
    }
    if (pid == 0)
        child_exec(o->command, sv[1], po[1], pe[1]);
    setpgid(pid, pid); /* also done in the child: whichever runs first */
    close(sv[1]);
    close(po[1]);
    close(pe[1]);
    sv[1] = po[1] = pe[1] = -1;
    fcntl(sv[0], F_SETFL, O_NONBLOCK);
    if (tlen == 0) {
        close(sv[0]);
        sv[0] = -1;
    }
    w = calloc(1, sizeof *w);
    if (!w)
        abort();

    while (po[0] >= 0 || pe[0] >= 0) {
        struct pollfd pf[3];
        int np = 0, left = (int)(deadline - now_ms());

        if (left <= 0) {
            timed_out = 1;
            break;
        }
        if (po[0] >= 0)
            pf[np++] = (struct pollfd){.fd = po[0], .events = POLLIN};
        if (pe[0] >= 0)
            pf[np++] = (struct pollfd){.fd = pe[0], .events = POLLIN};
        if (sv[0] >= 0)
            pf[np++] = (struct pollfd){.fd = sv[0], .events = POLLOUT};
        if (poll(pf, (nfds_t)np, left) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        for (int i = 0; i < np; i++) {
            ssize_t r;

            if (!pf[i].revents)
                continue;
            if (pf[i].fd == sv[0]) {
                r = send(sv[0], text + toff, tlen - toff,
                         MSG_NOSIGNAL | MSG_DONTWAIT);
                if (r > 0)
                    toff += (size_t)r;
                if ((r < 0 && errno != EAGAIN && errno != EINTR) ||
                    toff == tlen) {
                    close(sv[0]); /* EOF for the command, or it quit */
                    sv[0] = -1;
                }
                continue;
            }
            r = read(pf[i].fd, rbuf, sizeof rbuf);
            if (r < 0 && (errno == EINTR || errno == EAGAIN))
                continue;
            if (r <= 0) {
                close(pf[i].fd);
                if (pf[i].fd == po[0])
                    po[0] = -1;
                else
                    pe[0] = -1;
                continue;
            }
            if (pf[i].fd == pe[0]) {
                /* keep the tail: the last line is what we report */
                if ((size_t)r > sizeof ebuf) {
                    memcpy(ebuf, rbuf + r - sizeof ebuf, sizeof ebuf);
                    elen = sizeof ebuf;
                } else {
                    if (elen + (size_t)r > sizeof ebuf) {
                        size_t drop = elen + (size_t)r - sizeof ebuf;

                        memmove(ebuf, ebuf + drop, elen - drop);
                        elen -= drop;
                    }
                    memcpy(ebuf + elen, rbuf, (size_t)r);
                    elen += (size_t)r;
                }
                continue;
            }
            wav_bytes += (uint64_t)r;
            if (wav_bytes > SPEECH_WAV_MAX)
                too_big = 1;
            else if (!w->bad && !enc_err && wav_feed(w, e, rbuf, (size_t)r))
                enc_err = !w->bad;
            if (too_big || w->bad || enc_err)
                break; /* no use waiting: kill it below */
        }
        if (too_big || w->bad || enc_err)
            break;
    }
    /* stdout is closed (or we gave up): wait for the exit, up to the
     * deadline, then kill whatever is left of its process group */
    for (;;) {
        pid_t r = waitpid(pid, &status, WNOHANG);

        if (r == pid)
            break;
        if (r < 0 && errno != EINTR) {
            status = 0;
            break;
        }
        if (timed_out || too_big || w->bad || enc_err || now_ms() >= deadline) {
            if (!too_big && !w->bad && !enc_err)
                timed_out = 1;
            kill(-pid, SIGKILL);
            waitpid(pid, &status, 0);
            break;
        }
        usleep(10000);
    }
    kill(-pid, SIGKILL); /* stragglers it left in the background */
    pid = -1;
    last_line(ebuf, elen, line, sizeof line);

    if (timed_out) {
        snprintf(err, errlen, "command timed out after %u s", timeout);
    } else if (WIFEXITED(status) && WEXITSTATUS(status) != 0 && !w->bad &&
               !too_big) {
        snprintf(err, errlen, "command exited with status %d%s%s",
                 WEXITSTATUS(status), *line ? ": " : "", line);
    } else if (WIFSIGNALED(status) && !w->bad && !too_big && !enc_err) {
        snprintf(err, errlen, "command killed by signal %d%s%s",
                 WTERMSIG(status), *line ? ": " : "", line);
    } else if (too_big) {
        snprintf(err, errlen, "command output is larger than %u bytes",
                 SPEECH_WAV_MAX);
    } else if (w->bad || (wav_bytes > 0 && !w->in_data)) {
        snprintf(err, errlen,
                 "command output is not a WAV (RIFF, PCM 16-bit, mono or "
                 "stereo)");
    } else if (enc_err) {
        snprintf(err, errlen, "cannot write MP3: %s", strerror(errno));
    } else if (!e->lame || e->samples == 0) {
        snprintf(err, errlen, "command wrote no audio%s%s", *line ? ": " : "",
                 line);
    } else {
        rc = 0;
    }
out:
    if (pid > 0) {
        kill(-pid, SIGKILL);
        waitpid(pid, NULL, 0);
    }
    for (int i = 0; i < 2; i++) {
        if (sv[i] >= 0)
            close(sv[i]);
        if (po[i] >= 0)
            close(po[i]);
        if (pe[i] >= 0)
            close(pe[i]);
    }
    free(w);
    return rc;
}

/* ---- the public entry ---- */

/* 1 when name is a synthesis's temporary file: "NAME.mp3.XXXXXX". */
static int is_temp_mp3(const char *name)
{
    size_t n = strlen(name);

    return n > 11 && name[n - 7] == '.' &&
           strncmp(name + n - 11, ".mp3", 4) == 0;
}

/* Removes the temporary files (NAME.mp3.XXXXXX) killed syntheses left in
 * out_path's folder. One of out_path itself is an orphan whatever its
 * age: one job narrates a file at a time (the job queue's lease). One of
 * another file - an article whose text changed after its narration was
 * killed, so its hash and file name changed too - is removed once nothing
 * has written to it for stale_s: a running synthesis writes as it goes,
 * and the command engine is killed at its timeout. */
static void remove_leftovers(const char *out_path, unsigned stale_s)
{
    const char *slash = strrchr(out_path, '/');
    const char *base = slash ? slash + 1 : out_path;
    size_t blen = strlen(base);
    time_t now = time(NULL);
    char dir[4096];
    struct stat sb;
    DIR *d;

    if (slash && (size_t)(slash - out_path) >= sizeof dir)
        return;
    snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - out_path) : 1,
             slash ? out_path : ".");
    if (!(d = opendir(dir)))
        return;
    for (struct dirent *de; (de = readdir(d));) {
        int mine = strlen(de->d_name) == blen + 7 &&
                   strncmp(de->d_name, base, blen) == 0 &&
                   de->d_name[blen] == '.';
        if (mine ||
            (is_temp_mp3(de->d_name) &&
             fstatat(dirfd(d), de->d_name, &sb, AT_SYMLINK_NOFOLLOW) == 0 &&
             S_ISREG(sb.st_mode) && now - sb.st_mtime > (time_t)stale_s))
            unlinkat(dirfd(d), de->d_name, 0);
    }
    closedir(d);
}

int speech_synthesize(const struct speech_opts *o, const char *text,
                      const char *title, const char *out_path,
                      unsigned *duration_ms, char *err, size_t errlen)
{
    const char *engine = o->engine && *o->engine ? o->engine : "espeak";
    unsigned wpm = o->wpm ? o->wpm : SPEECH_WPM_DEFAULT;
    unsigned kbps = o->kbps ? o->kbps : SPEECH_KBPS_DEFAULT;
    struct enc e;
    char *tmp = NULL;
    int fd, rc = -1;
    size_t n;

    memset(&e, 0, sizeof e);
    if (duration_ms)
        *duration_ms = 0;
    if (strcmp(engine, "espeak") != 0 && strcmp(engine, "command") != 0) {
        snprintf(err, errlen, "unknown speech engine '%s'", engine);
        return -1;
    }
    if (wpm < SPEECH_WPM_MIN || wpm > SPEECH_WPM_MAX) {
        snprintf(err, errlen, "speed %u wpm is outside %d..%d", wpm,
                 SPEECH_WPM_MIN, SPEECH_WPM_MAX);
        return -1;
    }
    if (kbps < SPEECH_KBPS_MIN || kbps > SPEECH_KBPS_MAX) {
        snprintf(err, errlen, "bit rate %u kbps is outside %d..%d", kbps,
                 SPEECH_KBPS_MIN, SPEECH_KBPS_MAX);
        return -1;
    }
    if (!text || !*text) {
        snprintf(err, errlen, "nothing to say: the text is empty");
        return -1;
    }
    n = strlen(out_path) + 8;
    tmp = malloc(n);
    if (!tmp)
        abort();
    snprintf(tmp, n, "%s.XXXXXX", out_path);
    remove_leftovers(
        out_path, (o->timeout_s ? o->timeout_s : SPEECH_TIMEOUT_DEFAULT) + 60);
    fd = mkstemp(tmp);
    if (fd < 0) {
        snprintf(err, errlen, "cannot create '%s': %s", tmp, strerror(errno));
        free(tmp);
        return -1;
    }
    fchmod(fd, 0644);
    e.fp = fdopen(fd, "w+b");
    if (!e.fp) {
        close(fd);
        snprintf(err, errlen, "cannot open '%s': %s", tmp, strerror(errno));
        goto out;
    }
    e.kbps = kbps;
    e.title = title;

    if (strcmp(engine, "espeak") == 0) {
        pthread_mutex_lock(&espeak_lock);
        rc = espeak_run(o, text, &e, wpm, err, errlen);
        pthread_mutex_unlock(&espeak_lock);
    } else {
        rc = command_run(o, text, &e, err, errlen);
    }
    if (rc == 0 && e.samples == 0) {
        snprintf(err, errlen, "the engine produced no audio");
        rc = -1;
    }
    if (rc == 0 && enc_finish(&e) != 0) {
        snprintf(err, errlen, "cannot write '%s': %s", tmp, strerror(errno));
        rc = -1;
    }
    if (rc == 0 && duration_ms)
        *duration_ms = (unsigned)(e.samples * 1000 / (uint64_t)e.rate);
    if (e.fp && fclose(e.fp) != 0 && rc == 0) {
        snprintf(err, errlen, "cannot write '%s': %s", tmp, strerror(errno));
        rc = -1;
    }
    e.fp = NULL;
    if (rc == 0 && rename(tmp, out_path) != 0) {
        snprintf(err, errlen, "cannot rename to '%s': %s", out_path,
                 strerror(errno));
        rc = -1;
    }
out:
    if (rc != 0) {
        unlink(tmp);
        if (duration_ms)
            *duration_ms = 0;
    }
    enc_release(&e);
    free(tmp);
    return rc;
}
