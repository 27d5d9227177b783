/* log.c: leveled log lines on stderr.
 *
 * What it does: one line per call, "2026-11-23T17:40:01.123Z info msg" (UTC,
 * milliseconds); under systemd, when stderr is the journal's stream (the
 * JOURNAL_STREAM "dev:ino" matches fstat of fd 2), "<6>info msg" instead:
 * journald takes the level from the "<N>" prefix and stamps time itself.
 *
 * Each line is formatted in a stack buffer and written with one write(2) of
 * at most LOG_LINE_MAX bytes. That is below PIPE_BUF, so lines from several
 * processes (or threads) sharing the stream never interleave; longer
 * messages are cut and end in "...".
 *
 * Messages carry names from containers, the API and the network: every
 * control character of the formatted text is escaped ("\n" -> "\\n",
 * others "\\xHH"), so no input can forge a second line. A backslash is left
 * alone, so a literal "\n" in input reads like an escaped newline; readable
 * paths were judged worth that ambiguity.
 *
 * What it does not: syslog(3), log files, rotation, rate limiting.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

#define LOG_LINE_MAX 2048

static const struct {
	const char *name;
	char prio;		/* syslog priority digit for journald */
} levels[] = {
	[LOG_LVL_ERROR] = { "error", '3' },
	[LOG_LVL_WARN] = { "warn", '4' },
	[LOG_LVL_INFO] = { "info", '6' },
	[LOG_LVL_DEBUG] = { "debug", '7' },
};

static int cur_level = LOG_LVL_INFO;
static int to_journal = -1;	/* -1: not checked yet */

/* JOURNAL_STREAM is inherited by children whose stderr may go elsewhere,
 * so it counts only when it names the very file stderr is. */
static int journal_detect(void)
{
	const char *env = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;
	char tail;

	if (!env || sscanf(env, "%llu:%llu%c", &dev, &ino, &tail) != 2)
		return 0;
	if (fstat(STDERR_FILENO, &st) < 0)
		return 0;
	return st.st_dev == dev && st.st_ino == ino;
}

void log_init(enum log_level level)
{
	log_set_level(level);
	__atomic_store_n(&to_journal, journal_detect(), __ATOMIC_RELAXED);
}

void log_set_level(enum log_level level)
{
	if (level > LOG_LVL_DEBUG)
		level = LOG_LVL_DEBUG;
	__atomic_store_n(&cur_level, (int)level, __ATOMIC_RELAXED);
}

enum log_level log_get_level(void)
{
	return (enum log_level)__atomic_load_n(&cur_level, __ATOMIC_RELAXED);
}

/* "<6>info " or "2026-11-23T17:40:01.123Z info "; returns its length. */
static size_t line_prefix(char *buf, size_t size, enum log_level level)
{
	struct timespec ts;
	struct tm tm;
	size_t n;

	if (__atomic_load_n(&to_journal, __ATOMIC_RELAXED) < 0)
		__atomic_store_n(&to_journal, journal_detect(), __ATOMIC_RELAXED);
	if (__atomic_load_n(&to_journal, __ATOMIC_RELAXED))
		return (size_t)snprintf(buf, size, "<%c>%s ", levels[level].prio,
					levels[level].name);
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = strftime(buf, size, "%Y-%m-%dT%H:%M:%S", &tm);
	n += (size_t)snprintf(buf + n, size - n, ".%03ldZ %s ", ts.tv_nsec / 1000000,
			      levels[level].name);
	return n;
}

/* Append msg to out[o..] escaping control characters, leaving room for
 * "...\n". Returns the new length; *cut tells whether msg did not fit. */
static size_t append_escaped(char *out, size_t o, const char *msg, bool *cut)
{
	const size_t limit = LOG_LINE_MAX - 4;	/* "..." + "\n" */
	static const char hex[] = "0123456789abcdef";

	for (; *msg; msg++) {
		unsigned char ch = (unsigned char)*msg;
		const char *esc = ch == '\n' ? "\\n" : ch == '\r' ? "\\r" : ch == '\t' ? "\\t" : NULL;
		size_t need = esc ? 2 : (ch < 0x20 || ch == 0x7f) ? 4 : 1;

		if (o + need > limit) {
			*cut = true;
			return o;
		}
		if (esc) {
			memcpy(out + o, esc, 2);
		} else if (need == 4) {
			out[o] = '\\';
			out[o + 1] = 'x';
			out[o + 2] = hex[ch >> 4];
			out[o + 3] = hex[ch & 15];
		} else {
			out[o] = (char)ch;
		}
		o += need;
	}
	return o;
}

static void write_all(const char *buf, size_t len)
{
	ssize_t n;

	do
		n = write(STDERR_FILENO, buf, len);
	while (n < 0 && errno == EINTR);
	/* A failed or short write to stderr has nowhere to be reported. */
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	char msg[LOG_LINE_MAX], line[LOG_LINE_MAX];
	int saved = errno;	/* callers log, then look at errno; %m reads it */
	bool cut = false;
	va_list ap;
	size_t o;
	int n;

	if (level > log_get_level())
		return;
	va_start(ap, fmt);
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n < 0)
		snprintf(msg, sizeof(msg), "(bad log format '%s')", fmt);
	cut = n >= (int)sizeof(msg);
	o = line_prefix(line, sizeof(line), level);
	o = append_escaped(line, o, msg, &cut);
	if (cut) {
		memcpy(line + o, "...", 3);
		o += 3;
	}
	line[o++] = '\n';
	write_all(line, o);
	errno = saved;
}
