/* mconsole client: one AF_UNIX datagram socket bound at a filesystem path (an abstract name
 * does not cross network namespaces), a deadline on every request, multi-datagram replies. */
#ifndef UH_MCONSOLE_CLIENT_H
#define UH_MCONSOLE_CLIENT_H

#include <stddef.h>

#include "util/error.h"

struct uh_mc_client;

struct uh_mc_result {
	int err;    /* 1 when the kernel answered ERR */
	char *text; /* the reply's text, all datagrams joined; owned, free() it */
	size_t len;
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

/* <uml_dir>/<umid>/mconsole, with uml_dir defaulting to $HOME/.uml like the kernel. */
int uh_mc_umid_socket(const char *uml_dir, const char *umid, char **out, struct uh_error *err);

#endif
