/*
 * log.h - one-line diagnostics to stderr.
 *
 * Messages are lower-case, failure first, subject quoted:
 *   log_error("cannot open template '%s': %s", name, strerror(errno));
 * Each line carries a UTC timestamp and level. Thread-safe (one write(2)
 * per line). log_quiet(1) silences info lines (used by tests).
 */
#ifndef CORE_LOG_H
#define CORE_LOG_H

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

void log_set_level(enum log_level min);
void log_msg(enum log_level lv, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)

#endif
