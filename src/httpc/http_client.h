/* One HTTP/1.1 request over a unix stream socket, with a deadline-free blocking read (the
 * CLI waits for the daemon, which keeps the deadlines). */
#ifndef UH_HTTPC_CLIENT_H
#define UH_HTTPC_CLIENT_H

#include <stddef.h>

#include "httpc/http_parser.h"
#include "util/error.h"

/* Send the request; body bytes of the response go to fn as they arrive. *status gets the
 * HTTP status. Returns 0 when the response is complete (or fn stopped it), -1 on error. */
int uh_http_request(const char *socket_path, const char *method, const char *path,
		    const char *body, size_t body_len, uh_http_body_fn fn, void *arg, int *status,
		    struct uh_error *err);

#endif
