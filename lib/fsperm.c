/* fsperm.c: permission checks on the files the agent trusts (fsperm.h).
 *
 * Rules: the owner must be root or the effective user (a file owned by
 * someone else can be rewritten by them whatever its mode); a config file
 * must not be group- or world-writable; a secret must have no group or
 * other bits at all. Only regular files are checked: /dev/stdin or a pipe
 * given on purpose is the caller's business.
 *
 * Does not: walk the parent directories (a writable directory lets its
 * owner replace the file; checking every component is left to the
 * packaging, which creates /etc/ovn root-owned), or look at ACLs.
 */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsperm.h"

static int judge(const struct stat *st, const char *path, const char *what,
		 enum fsperm_kind kind, struct ovn_err *err)
{
	unsigned mode = st->st_mode & 07777;

	if (!S_ISREG(st->st_mode))
		return 0;
	if (st->st_uid != 0 && st->st_uid != geteuid())
		return ovn_err_set(err, -EPERM, "%s: %s is owned by uid %u, not by root; "
				   "fix: chown root %s", what, path, (unsigned)st->st_uid, path);
	if (kind == FSPERM_SECRET && (mode & 077))
		return ovn_err_set(err, -EPERM, "%s: %s has mode %04o: a secret must not be "
				   "readable or writable by group or others; fix: chmod 600 %s",
				   what, path, mode, path);
	if (mode & 022)
		return ovn_err_set(err, -EPERM, "%s: %s has mode %04o: group or others may "
				   "write it; fix: chmod 600 %s (or go-w)", what, path, mode, path);
	return 0;
}

int fsperm_check_fd(int fd, const char *path, const char *what, enum fsperm_kind kind,
		    struct ovn_err *err)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return ovn_err_set(err, -errno, "%s: %s: %s", what, path, strerror(errno));
	return judge(&st, path, what, kind, err);
}

int fsperm_check_path(const char *path, const char *what, enum fsperm_kind kind,
		      struct ovn_err *err)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return ovn_err_set(err, -errno, "%s: %s: %s", what, path, strerror(errno));
	return judge(&st, path, what, kind, err);
}
