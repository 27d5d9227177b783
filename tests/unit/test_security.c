/* test_security.c: agent/security.c, in child processes (a loaded filter
 * and dropped capabilities cannot be undone, so each case forks).
 *
 * Cases: the capability sets after the drop (root only); an allowed
 * syscall works under the filter; a syscall outside the list kills the
 * process by SIGSYS in "kill" mode, and in "trap" mode names itself on
 * stderr first; "log" mode lets it through; --print-seccomp's list. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "security.h"

struct child {
	int status;		/* waitpid's */
	char out[1024];		/* what it wrote to stdout/stderr */
};

/* Fork; the child locks down with cfg, runs fn, exits 0 (fn may exit). */
static void run_child(const struct cfg *cfg, void (*fn)(void), struct child *ch)
{
	int p[2];
	pid_t pid;
	ssize_t n, off = 0;

	memset(ch, 0, sizeof(*ch));
	assert_int_equal(pipe(p), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct ovn_err err = { 0 };

		dup2(p[1], STDOUT_FILENO);
		dup2(p[1], STDERR_FILENO);
		close(p[0]);
		if (sec_lockdown(cfg, &err) < 0) {
			printf("lockdown failed: %s\n", err.msg);
			fflush(stdout);
			_exit(3);
		}
		fn();
		fflush(stdout);
		_exit(0);
	}
	close(p[1]);
	while ((n = read(p[0], ch->out + off, sizeof(ch->out) - 1 - off)) > 0)
		off += n;
	close(p[0]);
	assert_int_equal(waitpid(pid, &ch->status, 0), pid);
}

/* Under valgrind the filter would apply to valgrind's own syscalls too
 * (its core runs in the same process): those cases cannot run there. */
static bool under_valgrind(void)
{
	const char *p = getenv("LD_PRELOAD");

	return p && strstr(p, "vgpreload");
}

static void base_cfg(struct cfg *c, bool caps, bool seccomp, enum sec_action act)
{
	cfg_defaults(c);
	c->security.capabilities = caps;
	c->security.seccomp = seccomp;
	c->security.seccomp_action = act;
}

/* Print the capability lines of /proc/self/status. */
static void show_caps(void)
{
	char buf[4096];
	int fd = open("/proc/self/status", O_RDONLY);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);

	if (n > 0) {
		buf[n] = '\0';
		fputs(buf, stdout);
	}
}

static void forbidden(void)
{
	printf("before\n");
	fflush(stdout);
	/* sync(2) is nowhere in the allow-list, sanitizer builds included. */
	syscall(SYS_sync);
	printf("after\n");
}

static void test_caps(void **state)
{
	struct child ch;
	struct cfg c;

	if (geteuid() != 0)
		skip();
	base_cfg(&c, true, false, SEC_ACTION_KILL);
	run_child(&c, show_caps, &ch);
	assert_true(WIFEXITED(ch.status) && WEXITSTATUS(ch.status) == 0);
	/* net_bind_service 10, net_admin 12, sys_ptrace 19, sys_admin 21 */
	assert_non_null(strstr(ch.out, "CapEff:\t0000000000281400"));
	assert_non_null(strstr(ch.out, "CapPrm:\t0000000000281400"));
	assert_non_null(strstr(ch.out, "CapInh:\t0000000000000000"));
	assert_non_null(strstr(ch.out, "CapAmb:\t0000000000000000"));
	assert_non_null(strstr(ch.out, "NoNewPrivs:\t1"));
}

static void test_allowed(void **state)
{
	struct child ch;
	struct cfg c;

	if (under_valgrind())
		skip();
	base_cfg(&c, false, true, SEC_ACTION_KILL);
	run_child(&c, show_caps, &ch);
	assert_true(WIFEXITED(ch.status) && WEXITSTATUS(ch.status) == 0);
	assert_non_null(strstr(ch.out, "Seccomp:\t2"));
}

static void test_kill(void **state)
{
	struct child ch;
	struct cfg c;

	if (under_valgrind())
		skip();
	base_cfg(&c, false, true, SEC_ACTION_KILL);
	run_child(&c, forbidden, &ch);
	assert_true(WIFSIGNALED(ch.status));
	assert_int_equal(WTERMSIG(ch.status), SIGSYS);
	assert_non_null(strstr(ch.out, "before"));
	assert_null(strstr(ch.out, "after"));
}

static void test_trap_names_it(void **state)
{
	struct child ch;
	struct cfg c;

	if (under_valgrind())
		skip();
	base_cfg(&c, false, true, SEC_ACTION_TRAP);
	run_child(&c, forbidden, &ch);
	assert_true(WIFSIGNALED(ch.status));
	assert_int_equal(WTERMSIG(ch.status), SIGSYS);
	if (!strstr(ch.out, "ovnagent: seccomp: syscall sync (162) is not in the allow-list"))
		fail_msg("child wrote: %s", ch.out);
	assert_null(strstr(ch.out, "after"));
}

static void test_log_lets_through(void **state)
{
	struct child ch;
	struct cfg c;

	if (under_valgrind())
		skip();
	base_cfg(&c, false, true, SEC_ACTION_LOG);
	run_child(&c, forbidden, &ch);
	assert_true(WIFEXITED(ch.status) && WEXITSTATUS(ch.status) == 0);
	assert_non_null(strstr(ch.out, "after"));
}

static void test_print(void **state)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct cfg c;

	assert_non_null(f);
	base_cfg(&c, true, true, SEC_ACTION_KILL);
	sec_print(f, &c);
	fclose(f);
	assert_non_null(strstr(buf, "any other syscall: kill process\n"));
	assert_non_null(strstr(buf, "cap_net_admin cap_sys_admin cap_net_bind_service"));
	assert_non_null(strstr(buf, "\nsetns\n"));
	assert_null(strstr(buf, "\nexecve\n"));
	assert_null(strstr(buf, "\nmount\n"));
	assert_null(strstr(buf, "\nsync\n"));
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_caps),
		cmocka_unit_test(test_allowed),
		cmocka_unit_test(test_kill),
		cmocka_unit_test(test_trap_names_it),
		cmocka_unit_test(test_log_lets_through),
		cmocka_unit_test(test_print),
	};

	log_init(LOG_LVL_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
