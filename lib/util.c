/* util.c: ovn_err and string helpers. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ovn_err.h"
#include "util.h"

int ovn_strlcpy(char *dst, const char *src, size_t size)
{
	size_t n = strlen(src);

	if (n >= size)
		return -ENAMETOOLONG;
	memcpy(dst, src, n + 1);
	return 0;
}

int ovn_err_set(struct ovn_err *err, int code, const char *fmt, ...)
{
	va_list ap;

	if (!err || err->code)
		return code;
	err->code = code;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return code;
}

void ovn_err_clear(struct ovn_err *err)
{
	if (!err)
		return;
	err->code = 0;
	err->msg[0] = '\0';
}
