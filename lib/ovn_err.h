/* ovn_err.h: a caller-owned error that carries the human reason with the
 * failure (like anet's err buffer). Library calls return 0 or -errno and,
 * when given a struct ovn_err, fill msg with "what: why". */
#ifndef OVN_ERR_H
#define OVN_ERR_H

#include <stdarg.h>

#define OVN_ERR_LEN 256

struct ovn_err {
	int code;		/* negative errno, 0 when unset */
	char msg[OVN_ERR_LEN];
};

/* Record code and message (printf format) in err, if err is not NULL.
 * Returns code, so a caller can write `return ovn_err_set(err, -EINVAL, ...)`.
 * The first error recorded wins: later calls do not overwrite it. */
int ovn_err_set(struct ovn_err *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void ovn_err_clear(struct ovn_err *err);

#endif
