/* Listener for `mconsole=notify:<socket>`: UML sends one datagram when its mconsole is up
 * (boot ready), on panic, on hang, and when the guest writes /proc/mconsole. The daemon
 * uses it as its ready and crash signal. */
#ifndef UH_MCONSOLE_NOTIFY_H
#define UH_MCONSOLE_NOTIFY_H

#include "mconsole/mconsole_proto.h"
#include "util/error.h"

struct uh_mc_listener;

/* Bind a non-blocking datagram socket at `path` (an existing socket file is replaced). */
int uh_mc_listener_new(const char *path, struct uh_mc_listener **out, struct uh_error *err);
/* Remove the socket file and close. */
void uh_mc_listener_free(struct uh_mc_listener *l);
/* The descriptor, for an event loop. */
int uh_mc_listener_fd(const struct uh_mc_listener *l);
/* Wait up to timeout_ms (-1: forever, 0: poll) for one message. Returns 1 with *msg filled,
 * 0 on timeout, -1 on error (a malformed datagram is an error naming the problem). */
int uh_mc_listener_recv(struct uh_mc_listener *l, int timeout_ms, struct uh_mc_notify *msg,
			struct uh_error *err);

#endif
