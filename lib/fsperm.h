/* fsperm.h: refuse files whose permissions let someone other than their
 * owner (root or the agent's own user) change them, or, for secrets, read
 * them. Used on the config file, the gossip keyring, the store password file
 * and the store's TLS key: the agent runs as root, so whoever can write its
 * config owns the host, and whoever can read a key owns the cluster. */
#ifndef OVN_FSPERM_H
#define OVN_FSPERM_H

#include <stdbool.h>

#include "ovn_err.h"

enum fsperm_kind {
	FSPERM_CONFIG,		/* no group/other write, owner root or us */
	FSPERM_SECRET,		/* as CONFIG, and no group/other access at all */
};

/* Check the file open on fd (fstat, so what is checked is what is read).
 * what names the setting in the message ("gossip.keyring"). 0, or -EPERM
 * with "what: path: why; fix: chmod ... path" in err. */
int fsperm_check_fd(int fd, const char *path, const char *what, enum fsperm_kind kind,
		    struct ovn_err *err);
/* The same by path (stat, following links), for files that another library
 * opens itself (the TLS key libcurl reads). -errno when stat fails. */
int fsperm_check_path(const char *path, const char *what, enum fsperm_kind kind,
		      struct ovn_err *err);

#endif
