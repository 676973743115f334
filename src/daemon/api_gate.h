/* api_gate.c: the HTTPS listener's TCP socket and umlhost-gate, the process that does TLS
 * for it (src/gate/gate.c says why it is a process); api_cert.c: its certificate. The gate
 * hands each client's plaintext connection back through on_conn; the API serves it. Nothing
 * here speaks HTTP. */
#ifndef UH_DAEMON_API_GATE_H
#define UH_DAEMON_API_GATE_H

#include <sys/socket.h>

#include "daemon/daemon.h"

struct uh_gate;
/* A client connection from the gate: fd is ours (nonblocking, close-on-exec); addr is the
 * client's TCP address. */
typedef void (*uh_gate_conn_fn)(void *arg, int fd, const struct sockaddr *addr, socklen_t len);

/* Bind api_listen, load or make the certificate, start the gate (restarted if it dies). */
int uh_gate_start(struct uh_daemon *d, uh_gate_conn_fn on_conn, void *arg, struct uh_gate **out,
		  struct uh_error *err);
void uh_gate_stop(struct uh_gate *g);
/* A listening TCP socket (nonblocking, close-on-exec) on "ADDR:PORT"; key names the setting
 * in errors. */
int uh_api_listen_tcp(const char *key, const char *spec, struct uh_error *err);

/* api_cert.c: the certificate chain and key as one PEM buffer (cert first), and the
 * certificate's SHA-256 fingerprint "AB:CD:...". */
int uh_api_cert_load(struct uh_daemon *d, char **pem, size_t *len, char *fp, size_t fp_len,
		     struct uh_error *err);

#endif
