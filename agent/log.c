/* log.c: leveled log lines on stderr, in logfmt (key=value).
 *
 * What it does: one line per call,
 *   ts=2026-11-23T17:40:01.123Z level=info msg="attached endpoint" id=3f0c net=web
 * (UTC, milliseconds). Callers write one printf-style text whose trailing
 * "key=value" words become fields and whose head becomes msg: call sites
 * stay plain printf, and any logfmt reader (Loki, journalctl --output=cat
 * piped to a parser, grep) gets fields. Under systemd, when stderr is the
 * journal's stream (the JOURNAL_STREAM "dev:ino" matches fstat of fd 2), the
 * line starts with "<6>" instead of "ts=...": journald takes the priority
 * from the "<N>" prefix (journalctl -p works) and stamps time itself.
 *
 * Fields: the longest run of trailing words of the form key=value (key
 * [a-z0-9_.-] starting with a letter or "_", value without '"'), never the
 * first word, so "network web created vni=4096" gives msg="network web
 * created" vni=4096. A value with a space in it cannot be a field and stays
 * in msg; so does everything before it.
 *
 * Each line is formatted in a stack buffer and written with one write(2) of
 * at most LOG_LINE_MAX bytes. That is below PIPE_BUF, so lines from several
 * processes (or threads) sharing the stream never interleave; longer
 * messages are cut and end in "..." (inside msg's quotes when msg is cut).
 *
 * Messages carry names from containers, the API and the network: every
 * control character of the formatted text is escaped ("\n" -> "\\n",
 * others "\\xHH") and a '"' in msg becomes \", so no input can forge a
 * second line or end msg early. A backslash is left alone, so a literal
 * "\n" in input reads like an escaped newline; readable paths were judged
 * worth that ambiguity.
 *
 * What it does not: syslog(3), journald's native protocol (fields as
 * journal fields), log files, rotation, rate limiting.
 */
#include <ctype.h>
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

/* "<6>level=info " or "ts=2026-11-23T17:40:01.123Z level=info "; returns
 * its length. */
static size_t line_prefix(char *buf, size_t size, enum log_level level)
{
	struct timespec ts;
	struct tm tm;
	size_t n;

	if (__atomic_load_n(&to_journal, __ATOMIC_RELAXED) < 0)
		__atomic_store_n(&to_journal, journal_detect(), __ATOMIC_RELAXED);
	if (__atomic_load_n(&to_journal, __ATOMIC_RELAXED))
		return (size_t)snprintf(buf, size, "<%c>level=%s ", levels[level].prio,
					levels[level].name);
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = strftime(buf, size, "ts=%Y-%m-%dT%H:%M:%S", &tm);
	n += (size_t)snprintf(buf + n, size - n, ".%03ldZ level=%s ", ts.tv_nsec / 1000000,
			      levels[level].name);
	return n;
}

/* Append msg[0..len) to out[o..] escaping control characters (and '"' when
 * quoted), stopping before out[limit]. Returns the new length; *cut tells
 * whether msg did not fit. */
static size_t append_escaped(char *out, size_t o, size_t limit, const char *msg, size_t len,
			     bool quoted, bool *cut)
{
	static const char hex[] = "0123456789abcdef";

	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)msg[i];
		const char *esc = ch == '\n' ? "\\n" : ch == '\r' ? "\\r" : ch == '\t' ? "\\t" :
				  ch == '"' && quoted ? "\\\"" : NULL;
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

/* Whether tok[0..n) is a logfmt field: key=value, key [a-z0-9_.-] led by a
 * letter or '_', value without quotes. */
static bool is_field(const char *tok, size_t n)
{
	size_t i = 0;

	if (!n || !(islower((unsigned char)tok[0]) || tok[0] == '_'))
		return false;
	while (i < n && (islower((unsigned char)tok[i]) || isdigit((unsigned char)tok[i]) ||
			 strchr("_.-", tok[i])))
		i++;
	if (i == n || tok[i] != '=')
		return false;
	return !memchr(tok + i, '"', n - i);
}

/* Where msg's trailing fields begin (at the space before them), or len. */
static size_t fields_start(const char *msg, size_t len)
{
	size_t start = len, end = len, j;

	for (;;) {
		j = end;
		while (j > 0 && msg[j - 1] != ' ')
			j--;
		if (j == 0 || !is_field(msg + j, end - j))
			return start;	/* the first word always stays in msg */
		start = end = j - 1;
	}
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
	const size_t limit = LOG_LINE_MAX - 5;	/* room for '..."' and '\n' */
	size_t o, len, f;
	bool cut = false;
	va_list ap;
	int n;

	if (level > log_get_level())
		return;
	va_start(ap, fmt);
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n < 0)
		snprintf(msg, sizeof(msg), "(bad log format '%s')", fmt);
	cut = n >= (int)sizeof(msg);
	len = strlen(msg);
	f = cut ? len : fields_start(msg, len);	/* a cut text has no whole last field */
	o = line_prefix(line, sizeof(line), level);
	memcpy(line + o, "msg=\"", 5);
	o = append_escaped(line, o + 5, limit, msg, f, true, &cut);
	if (cut) {
		memcpy(line + o, "...\"", 4);
		o += 4;
	} else {
		line[o++] = '"';
		o = append_escaped(line, o, limit, msg + f, len - f, false, &cut);
		if (cut) {
			memcpy(line + o, "...", 3);
			o += 3;
		}
	}
	line[o++] = '\n';
	write_all(line, o);
	errno = saved;
}
