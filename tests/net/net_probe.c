/* A test driver for src/net: each argument group is one operation, run in order; stops at
 * the first error, printing it as umlhost would ("net_probe: <message>", exit 1).
 *   tap NAME UID | up NAME | addr NAME A.B.C.D/N | unaddr NAME A.B.C.D/N
 *   route NAME A.B.C.D/N | unroute NAME A.B.C.D/N | del NAME | sysctl NAME KEY VALUE */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/netlink.h"
#include "net/tap.h"

/* ADDRESS/N without the pool rules (an interface address has host bits; a bad prefix length
 * is passed on so the kernel's extended ack can be seen). */
static int parse_cidr(const char *s, struct uh_ip *a, int *prefix)
{
	char buf[64], *slash;
	struct uh_error err;

	snprintf(buf, sizeof(buf), "%s", s);
	slash = strchr(buf, '/');
	if (slash == NULL)
		return -1;
	*slash = '\0';
	*prefix = atoi(slash + 1);
	return uh_ip_parse(buf, a, &err);
}

int main(int argc, char **argv)
{
	struct uh_nl *nl;
	struct uh_error err;
	int i = 1, r = 0;

	if (uh_nl_open(&nl, &err) < 0) {
		fprintf(stderr, "net_probe: %s\n", err.msg);
		return 1;
	}
	while (i < argc && r == 0) {
		const char *op = argv[i];
		struct uh_ip a;
		int prefix;

		if (strcmp(op, "tap") == 0 && i + 2 < argc) {
			r = uh_tap_create(argv[i + 1], (uid_t)atoi(argv[i + 2]),
					  (gid_t)atoi(argv[i + 2]), &err);
			i += 3;
		} else if (strcmp(op, "up") == 0 && i + 1 < argc) {
			r = uh_nl_link_set_up(nl, argv[i + 1], 1, &err);
			i += 2;
		} else if (strcmp(op, "del") == 0 && i + 1 < argc) {
			r = uh_nl_link_del(nl, argv[i + 1], &err);
			i += 2;
		} else if ((strcmp(op, "addr") == 0 || strcmp(op, "unaddr") == 0) && i + 2 < argc &&
			   parse_cidr(argv[i + 2], &a, &prefix) == 0) {
			r = uh_nl_addr(nl, argv[i + 1], &a, prefix, op[0] == 'a', &err);
			i += 3;
		} else if ((strcmp(op, "route") == 0 || strcmp(op, "unroute") == 0) &&
			   i + 2 < argc && parse_cidr(argv[i + 2], &a, &prefix) == 0) {
			r = uh_nl_route(nl, argv[i + 1], &a, prefix, op[0] == 'r', &err);
			i += 3;
		} else if (strcmp(op, "sysctl") == 0 && i + 3 < argc) {
			r = uh_net_sysctl_if(AF_INET, argv[i + 1], argv[i + 2], argv[i + 3], &err);
			i += 4;
		} else {
			fprintf(stderr, "net_probe: bad arguments at '%s'\n", op);
			uh_nl_close(nl);
			return 2;
		}
	}
	uh_nl_close(nl);
	if (r < 0) {
		fprintf(stderr, "net_probe: %s\n", err.msg);
		return 1;
	}
	return 0;
}
