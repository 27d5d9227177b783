/* test_fsperm.c: lib/fsperm.c, the permission checks on the files the
 * agent trusts, and their use by cfg_load (agent/config.c).
 *
 * Vectors are {mode, kind, refused?, message substring} run on a real
 * temporary file; owner cases chown the file (root only, else skipped). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "fsperm.h"
#include "util.h"

struct vec {
	unsigned mode;
	enum fsperm_kind kind;
	const char *refused;		/* substring of the message; NULL = accepted */
};

static const struct vec vecs[] = {
	{ 0600, FSPERM_SECRET, NULL },
	{ 0400, FSPERM_SECRET, NULL },
	{ 0640, FSPERM_SECRET, "has mode 0640: a secret must not be readable" },
	{ 0604, FSPERM_SECRET, "has mode 0604" },
	{ 0644, FSPERM_SECRET, "fix: chmod 600 " },
	{ 0644, FSPERM_CONFIG, NULL },
	{ 0600, FSPERM_CONFIG, NULL },
	{ 0664, FSPERM_CONFIG, "has mode 0664: group or others may write it; fix: chmod 600" },
	{ 0646, FSPERM_CONFIG, "has mode 0646" },
	{ 0666, FSPERM_CONFIG, "has mode 0666" },
};

static int make_file(char *path, unsigned mode)
{
	int fd;

	strcpy(path, "/tmp/ovn-fsperm-XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(fchmod(fd, mode), 0);
	return fd;
}

static void test_modes(void **state)
{
	struct ovn_err err;
	char path[64];
	size_t i;
	int fd, r;

	for (i = 0; i < ARRAY_SIZE(vecs); i++) {
		fd = make_file(path, vecs[i].mode);
		ovn_err_clear(&err);
		r = fsperm_check_fd(fd, path, "gossip.keyring", vecs[i].kind, &err);
		if (!vecs[i].refused) {
			assert_int_equal(r, 0);
		} else {
			assert_int_equal(r, -EPERM);
			if (!strstr(err.msg, vecs[i].refused) || !strstr(err.msg, path) ||
			    strncmp(err.msg, "gossip.keyring: ", 16))
				fail_msg("vector %zu: '%s'", i, err.msg);
		}
		/* By path: the same verdict. */
		ovn_err_clear(&err);
		assert_int_equal(fsperm_check_path(path, "x", vecs[i].kind, &err), r);
		close(fd);
		unlink(path);
	}
}

static void test_owner(void **state)
{
	struct ovn_err err = { 0 };
	char path[64];
	int fd;

	if (geteuid() != 0)
		skip();
	fd = make_file(path, 0600);
	assert_int_equal(fchown(fd, 65534, 0), 0);
	assert_int_equal(fsperm_check_fd(fd, path, "config", FSPERM_CONFIG, &err), -EPERM);
	assert_non_null(strstr(err.msg, "is owned by uid 65534, not by root; fix: chown root"));
	close(fd);
	unlink(path);
}

static void test_not_regular(void **state)
{
	struct ovn_err err = { 0 };

	/* A directory or device is the caller's business (and fails there). */
	assert_int_equal(fsperm_check_path("/dev/null", "config", FSPERM_SECRET, &err), 0);
	assert_int_equal(fsperm_check_path("/nonexistent/x", "config", FSPERM_SECRET, &err),
			 -ENOENT);
}

/* cfg_load refuses a group-writable file and changes nothing. */
static void test_config_file(void **state)
{
	struct ovn_err err = { 0 };
	struct cfg c;
	char path[64];
	int fd;

	fd = make_file(path, 0664);
	assert_int_equal(write(fd, "mtu: 1400\n", 10), 10);
	cfg_defaults(&c);
	assert_int_equal(cfg_load(&c, path, &err), -EPERM);
	assert_non_null(strstr(err.msg, "config: "));
	assert_non_null(strstr(err.msg, "group or others may write it"));
	assert_int_equal(c.mtu, 0);
	assert_int_equal(fchmod(fd, 0644), 0);
	ovn_err_clear(&err);
	assert_int_equal(cfg_load(&c, path, &err), 0);
	assert_int_equal(c.mtu, 1400);
	close(fd);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_modes),
		cmocka_unit_test(test_owner),
		cmocka_unit_test(test_not_regular),
		cmocka_unit_test(test_config_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
