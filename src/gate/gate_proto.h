/* What umlhost-gate sends umlhostd over their SOCK_SEQPACKET socket: one message for each
 * client whose TLS handshake is done, with one end of a socket pair (SCM_RIGHTS) that carries
 * that client's plaintext HTTP. The daemon checks addr_len against the family before use. */
#ifndef UH_GATE_PROTO_H
#define UH_GATE_PROTO_H

#include <stdint.h>
#include <sys/socket.h>

struct uh_gate_msg {
	struct sockaddr_storage addr; /* the client's address (AF_INET or AF_INET6) */
	uint32_t addr_len;
};

#endif
