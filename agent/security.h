/* security.h: what ovnagent gives up once it is serving: capabilities it
 * does not use (effective, permitted, inheritable, ambient and bounding
 * sets) and syscalls outside an allow-list (seccomp). See security.c for
 * why each capability stays and how the list was made; docs/security.md
 * for the user's view (config keys, debugging a violation). */
#ifndef OVN_SECURITY_H
#define OVN_SECURITY_H

#include <stdio.h>

#include "config.h"
#include "ovn_err.h"

/* Drop capabilities (cfg->security.capabilities) and load the seccomp
 * filter (cfg->security.seccomp) on every thread of the process. Call once,
 * after the last privileged start-up step (sockets bound and chowned).
 * 0 or -errno with err filled; a failure leaves the process as privileged
 * as it was, and the caller decides whether to go on. */
int sec_lockdown(const struct cfg *cfg, struct ovn_err *err);

/* Print the allow-list (one syscall per line), the default action and the
 * capabilities kept, for `ovnagent --print-seccomp`. */
void sec_print(FILE *f, const struct cfg *cfg);

#endif
