/* util.h: tiny helpers shared by every ovn module (no state, no I/O). */
#ifndef OVN_UTIL_H
#define OVN_UTIL_H

#include <stddef.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Hand ownership of *p to the caller and null the local, so an error path
 * that frees locals leaves the transferred object alone. */
#define TAKE_PTR(p) ({ __typeof__(p) _tp = (p); (p) = NULL; _tp; })
#define TAKE_FD(fd) ({ int _tf = (fd); (fd) = -1; _tf; })

#define UNUSED __attribute__((unused))

/* Copy a C string into a fixed buffer, always terminated; returns -ENAMETOOLONG
 * (and copies nothing) when it does not fit. */
int ovn_strlcpy(char *dst, const char *src, size_t size);

#endif
