/* metrics.h: Prometheus text exposition (format 0.0.4) of the agent's state. */
#ifndef OVN_METRICS_H
#define OVN_METRICS_H

#include "http.h"

/* GET /metrics handler; the server arg is the struct netmgr *. */
void metrics_get(struct http_req *req, void *arg);

#endif
