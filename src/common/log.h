/*
 * log.h - one line per event, key=value fields, to stderr.
 *
 *   ms_log(MS_LOG_INFO, "node", "event=put_done frag=%s size_bytes=%zu", idhex, n);
 *
 * Output: "ts=2026-11-23T10:00:00.123Z level=info sub=node event=put_done ..." .
 * The level is checked before the arguments are evaluated. Never log patient data, plaintext,
 * metadata values, keys or tokens: log ids, sizes and codes (privacy rule; Y-COM-2).
 * Thread safe: each line is written with one write(2).
 */
#ifndef MS_COMMON_LOG_H
#define MS_COMMON_LOG_H

enum ms_log_level {
    MS_LOG_DEBUG = 0,
    MS_LOG_INFO = 1,
    MS_LOG_WARN = 2,
    MS_LOG_ERROR = 3,
    MS_LOG_OFF = 4,
};

extern enum ms_log_level ms_log_threshold;

void ms_log_set_level(enum ms_log_level level);
/* Parses "debug", "info", "warn", "error", "off"; returns 0 or -EINVAL. */
int ms_log_level_parse(const char *name, enum ms_log_level *out);
/* Redirects output to fd (default 2). For tests. */
void ms_log_set_fd(int fd);

void ms_log_emit(enum ms_log_level level, const char *subsystem, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define ms_log(level, subsystem, ...)                                                          \
    do {                                                                                       \
        if ((level) >= ms_log_threshold)                                                       \
            ms_log_emit((level), (subsystem), __VA_ARGS__);                                    \
    } while (0)

#endif
