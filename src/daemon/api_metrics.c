/* metrics_listen: a plain-HTTP listener for the host's own Prometheus, serving GET /metrics
 * and nothing else. No TLS and no token, so config.c allows only a loopback address; what it
 * answers is the provider's /metrics (metrics.c), the same text as over HTTPS. Its own small
 * libmicrohttpd server in the loop: short timeouts, few connections, small requests. */
#include "daemon/api.h"
#include "daemon/api_gate.h"
#include "daemon/metrics.h"
#include "util/cleanup.h"

#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

static enum MHD_Result handler(void *cls, struct MHD_Connection *conn, const char *url,
			       const char *method, const char *version, const char *upload,
			       size_t *upload_size, void **con_cls)
{
	struct api *api = cls;
	struct uh_principal provider;
	size_t len;
	char *text;

	if (*con_cls == NULL) { /* headers only so far */
		*con_cls = api;
		return MHD_YES;
	}
	if (*upload_size) { /* a body has no use here */
		*upload_size = 0;
		return MHD_YES;
	}
	if (strcmp(url, "/metrics") != 0)
		return uh_api_send_error(conn, 404, "not_found",
					 "only /metrics is served on metrics_listen");
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
		return uh_api_send_error(conn, 405, "invalid", "method %s not allowed on /metrics",
					 method);
	uh_principal_admin(&provider);
	text = uh_metrics_text(api->d, &provider, 1, &len);
	uh_metrics_count_request("/metrics", 200);
	return uh_api_send_text(conn, 200, "text/plain; version=0.0.4; charset=utf-8", text, len);
}

static void readable(void *arg, uint32_t events)
{
	struct api *api = arg;

	MHD_run(api->mhd_metrics);
}

int uh_api_metrics_start(struct api *api, struct uh_error *err)
{
	uh_autoclose int fd = uh_api_listen_tcp("metrics_listen", api->d->cfg.metrics_listen, err);
	const union MHD_DaemonInfo *info;

	if (fd < 0)
		return -1;
	api->mhd_metrics = MHD_start_daemon(
		MHD_USE_EPOLL, 0, NULL, NULL, handler, api, MHD_OPTION_LISTEN_SOCKET, fd,
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)10, MHD_OPTION_CONNECTION_LIMIT,
		(unsigned int)32, MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)16384, MHD_OPTION_END);
	if (api->mhd_metrics == NULL)
		return uh_errx(err, "metrics_listen: cannot start its HTTP server");
	api->metrics_fd = uh_steal_fd(&fd); /* libmicrohttpd's now; closed after it stops */
	info = MHD_get_daemon_info(api->mhd_metrics, MHD_DAEMON_INFO_EPOLL_FD);
	api->watch_metrics = uh_loop_watch(api->d->loop, info->epoll_fd, EPOLLIN, readable, api);
	return 0;
}

void uh_api_metrics_stop(struct api *api)
{
	if (api->mhd_metrics == NULL)
		return;
	uh_loop_unwatch(api->d->loop, api->watch_metrics);
	MHD_stop_daemon(api->mhd_metrics);
	close(api->metrics_fd);
	api->mhd_metrics = NULL;
	api->watch_metrics = NULL;
}
