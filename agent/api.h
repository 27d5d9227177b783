/* api.h: the agent's JSON API (docs/api.md) on top of http.h and netmgr.h. */
#ifndef OVN_API_H
#define OVN_API_H

#include "http.h"
#include "netmgr.h"

/* Route table for http_server_listen_unix; handlers expect a struct netmgr *
 * as the server's arg. */
extern const struct http_route api_routes[];
extern const size_t api_n_routes;

/* HTTP status for a netmgr/library result code. */
int api_status_of(int code);

#endif
