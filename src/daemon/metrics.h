/* metrics.c: Prometheus text exposition of the servers a principal may see (and, for the
 * provider's /metrics, the host's and the API's own). Called by the API; calls instance.c's
 * stats, the store, auth/access.c. */
#ifndef UH_DAEMON_METRICS_H
#define UH_DAEMON_METRICS_H

#include "auth/access.h"
#include "daemon/daemon.h"

/* The exposition text (malloc'd; *len its length). host: add the host's and the API's
 * families (the provider's /metrics), else only the visible servers' (a customer's). */
char *uh_metrics_text(struct uh_daemon *d, const struct uh_principal *p, int host, size_t *len);
/* One answered API request: its route pattern (static storage) and status. */
void uh_metrics_count_request(const char *route, int code);
void uh_metrics_free(void);

#endif
