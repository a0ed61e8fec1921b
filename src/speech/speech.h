/*
 * speech.h - narration: the text a listener should hear from an article,
 * spoken by espeak-ng (built in) or an operator's command (piper ...), and
 * encoded as a mono MP3 with LAME.
 *
 * Used by the narration job only, never on the request path. prepare.c
 * walks the article's HTML and expands abbreviations, numbers and symbols
 * for the ear; engine.c synthesises and encodes. docs/narration.md is the
 * operator's page.
 */
#ifndef SPEECH_SPEECH_H
#define SPEECH_SPEECH_H

#include <stddef.h>

/* limits (kept here, next to the only code that uses them) */
#define SPEECH_HTML_MAX (8 * 1024 * 1024)  /* bytes of article HTML */
#define SPEECH_TEXT_MAX (16 * 1024 * 1024) /* bytes of prepared text */
#define SPEECH_CHUNK_MAX 4000 /* bytes handed to espeak-ng at once */
#define SPEECH_WPM_MIN 80     /* words per minute */
#define SPEECH_WPM_MAX 450
#define SPEECH_WPM_DEFAULT 165
#define SPEECH_KBPS_MIN 32 /* MP3 bit rate, kbit/s */
#define SPEECH_KBPS_MAX 128
#define SPEECH_KBPS_DEFAULT 48
#define SPEECH_TIMEOUT_DEFAULT 600           /* command engine, seconds */
#define SPEECH_WAV_MAX (2048u * 1024 * 1024) /* bytes of a command's WAV */

/* Text a listener should hear, from an article: the headline, "By A and
 * B." (the byline), then the body, from its rendered HTML (html, as stored
 * in posts.html): paragraphs, headings, list items and block quotes read
 * in order; skipped as furniture: <figure>/<figcaption>, images, captions
 * and credits, related-article cards (elements with class "related" or
 * "related-card"), <aside>, <nav>, <script>, <style>, <code>/<pre>,
 * footnote back-links, and heading anchors ("#" links). Expanded for the
 * ear in the article's language (lang: BCP 47 primary subtag, "en" and
 * "uk" at least; others get only the generic rules):
 *   en: "Oct. 31" / "31 Oct" -> "October 31" / "31 October", "Jan." ...;
 *       "2026" as a year -> "twenty twenty-six"; "1,200" -> "one thousand
 *       two hundred"; "3.5%" -> "three point five percent"; "$4m" -> "four
 *       million dollars"; "£", "€"; ordinals "1st" -> "first"; "No. 5" ->
 *       "number 5"; "e.g." "i.e." "etc." "Mr." "Mrs." "Dr." "St." "Gen."
 *       "Lt." "Col." "km" "kg" "UN" "EU" "US" read naturally; "10:30" ->
 *       "ten thirty"; ranges "2019-2021" -> "2019 to 2021".
 *   uk: "31 жовт." -> "31 жовтня", "р." after a year -> "року", "тис." ->
 *       "тисяч", "млн" -> "мільйонів", "млрд" -> "мільярдів", "грн" ->
 *       "гривень", "%" -> "відсотків", "№" -> "номер", "т.д." ->
 *       "тощо"; numbers may stay as digits (espeak-ng reads Ukrainian
 *       numbers itself) but symbols must become words.
 * title, byline and html may be NULL or "". Sentences end with
 * punctuation so the voice pauses; whitespace normalised. *out is
 * malloc'd (caller frees). 0 or -1 (invalid UTF-8, unparsable HTML, text
 * past SPEECH_TEXT_MAX: err). */
int speech_prepare(const char *lang, const char *title, const char *byline,
                   const char *html, char **out, char *err, size_t errlen);

struct speech_opts {
    const char *engine;  /* "espeak" (built in, default) or "command";
                            NULL/"" = "espeak" */
    const char *voice;   /* espeak voice name ("en-gb", "uk"); NULL/"" =
                            by language */
    const char *lang;    /* "en", "uk" ...; NULL/"" = "en" */
    unsigned wpm;        /* words per minute, 80..450; 0 = 165 */
    const char *command; /* engine "command": run with /bin/sh -c; gets
                            the text on stdin, must write a WAV (RIFF,
                            PCM 16-bit, mono or stereo, any rate) on stdout */
    unsigned timeout_s;  /* command engine: killed after this; 0 = 600 */
    unsigned kbps;       /* MP3 bit rate, 32..128; 0 = 48 (speech) */
};

/* Synthesises text and writes an MP3 (mono, LAME, CBR kbps, ID3v2 tag
 * with title if given; title may be NULL) to out_path atomically (temp
 * file + rename; no file left behind on failure). *duration_ms gets the
 * audio's length (duration_ms may be NULL).
 * Thread-safe: espeak-ng is not, so calls into it are serialised inside;
 * the command engine runs concurrently. Never blocks forever: the command
 * engine is killed (whole process group) at timeout_s. 0, or -1 with a
 * one-line reason in err ("command exited with status 3: <its stderr's
 * last line>", "command timed out after 600 s", "espeak-ng has no voice
 * 'xx'"). */
int speech_synthesize(const struct speech_opts *o, const char *text,
                      const char *title, const char *out_path,
                      unsigned *duration_ms, char *err, size_t errlen);

/* espeak-ng starts lazily; call at exit to free it. Safe to call when it
 * never started, and more than once. */
void speech_shutdown(void);

#endif
