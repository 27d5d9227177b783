/* log.h: leveled logging to stderr in logfmt:
 *   ts=... level=info msg="text" key=value ...
 * where the trailing key=value words of the printf text become the fields
 * (log.c says exactly how). Under systemd (JOURNAL_STREAM set and matching
 * stderr) each line starts with the syslog priority "<N>" instead of "ts=",
 * so journald keeps levels. */
#ifndef OVN_LOG_H
#define OVN_LOG_H

#include "config.h"

void log_init(enum log_level level);
void log_set_level(enum log_level level);
enum log_level log_get_level(void);
void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_error(...) log_msg(LOG_LVL_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_LVL_DEBUG, __VA_ARGS__)

#endif
