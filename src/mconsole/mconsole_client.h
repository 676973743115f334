/* mconsole client: one AF_UNIX datagram socket bound at a filesystem path (an abstract name
 * does not cross network namespaces), a deadline on every request, multi-datagram replies. */
#ifndef UH_MCONSOLE_CLIENT_H
#define UH_MCONSOLE_CLIENT_H

#include <stddef.h>

#include "util/error.h"

struct uh_mc_client;

/* The longest reply taken, all datagrams joined (`proc meminfo` is ~1.5 KiB) */
#define UH_MC_MAX_REPLY 65536

struct uh_mc_result {
	int err;    /* 1 when the kernel answered ERR */
	char *text; /* the reply's text, all datagrams joined; owned, free() it */
	size_t len;
	int started; /* a first datagram arrived */
	int more;    /* more datagrams expected */
};

/* A client for the mconsole socket at `sock_path`. Its own socket is bound in `bind_dir`, or
 * next to the target socket when NULL (a place the UML process can always reach, also from
 * inside a jail). */
int uh_mc_client_new(const char *sock_path, const char *bind_dir, struct uh_mc_client **out,
		     struct uh_error *err);
void uh_mc_client_free(struct uh_mc_client *c);

/* Send `cmd` and collect the whole reply within timeout_ms. Returns 0 when a reply arrived
 * (check res->err for OK/ERR), -1 on a transport error or timeout (err->errnum ETIMEDOUT). */
int uh_mc_command(struct uh_mc_client *c, const char *cmd, int timeout_ms,
		  struct uh_mc_result *res, struct uh_error *err);

void uh_mc_result_clear(struct uh_mc_result *res);
/* A result local cleared on every path: `uh_automc_result struct uh_mc_result r = {0};`. */
#define uh_automc_result __attribute__((cleanup(uh_mc_result_clear)))

/* The same request split for an event loop: send, then call uh_mc_receive whenever
 * uh_mc_client_fd() is readable until it returns 1 (reply complete) or -1 (error). The caller
 * keeps the deadline; on timeout it calls uh_mc_abandon() so a late reply is dropped. */
int uh_mc_send(struct uh_mc_client *c, const char *cmd, struct uh_mc_result *res,
	       struct uh_error *err);
int uh_mc_receive(struct uh_mc_client *c, struct uh_mc_result *res, struct uh_error *err);
int uh_mc_client_fd(const struct uh_mc_client *c);
void uh_mc_abandon(struct uh_mc_client *c);

/* <uml_dir>/<umid>/mconsole, with uml_dir defaulting to $HOME/.uml like the kernel. */
int uh_mc_umid_socket(const char *uml_dir, const char *umid, char **out, struct uh_error *err);

#endif
