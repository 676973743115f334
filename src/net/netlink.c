#include "net/netlink.h"
#include "util/cleanup.h"
#include "util/fileio.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#ifndef NETLINK_EXT_ACK
#define NETLINK_EXT_ACK 11
#endif

struct uh_nl {
	struct mnl_socket *sock;
	unsigned int portid;
	unsigned int seq;
};

int uh_nl_open(struct uh_nl **out, struct uh_error *err)
{
	struct uh_nl *nl = calloc(1, sizeof(*nl));
	int one = 1;

	if (nl == NULL)
		abort();
	nl->sock = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	if (nl->sock == NULL) {
		uh_err(err, errno, "netlink socket");
		free(nl);
		return -1;
	}
	/* ask for the kernel's explanation along with the errno */
	mnl_socket_setsockopt(nl->sock, NETLINK_EXT_ACK, &one, sizeof(one));
	if (mnl_socket_bind(nl->sock, 0, MNL_SOCKET_AUTOPID) < 0) {
		uh_err(err, errno, "netlink bind");
		mnl_socket_close(nl->sock);
		free(nl);
		return -1;
	}
	nl->portid = mnl_socket_get_portid(nl->sock);
	nl->seq = (unsigned int)time(NULL);
	*out = nl;
	return 0;
}

void uh_nl_close(struct uh_nl *nl)
{
	if (nl == NULL)
		return;
	mnl_socket_close(nl->sock);
	free(nl);
}

unsigned int uh_nl_ifindex(const char *ifname)
{
	return if_nametoindex(ifname);
}

/* The extended ack's message attribute, if the kernel sent one. */
static const char *ext_ack_msg(const struct nlmsghdr *nlh)
{
	const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *attr; /* the name mnl_attr_for_each_payload uses */
	size_t off = sizeof(*e);

	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
		return NULL;
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
		off += e->msg.nlmsg_len - sizeof(e->msg);
	if (mnl_nlmsg_get_payload_len(nlh) < off)
		return NULL;
	mnl_attr_for_each_payload((const void *)((const char *)e + off),
				  mnl_nlmsg_get_payload_len(nlh) - off) {
		if (mnl_attr_get_type(attr) == NLMSGERR_ATTR_MSG &&
		    mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) == 0)
			return mnl_attr_get_str(attr);
	}
	return NULL;
}

/* Send one request and wait for its acknowledgement (netlink's NLMSG_ERROR: 0 or -errno). */
static int transact(struct uh_nl *nl, struct nlmsghdr *nlh, const char *what, struct uh_error *err)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	ssize_t n;

	nlh->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
	nlh->nlmsg_seq = ++nl->seq;
	if (mnl_socket_sendto(nl->sock, nlh, nlh->nlmsg_len) < 0)
		return uh_err(err, errno, "%s: netlink send", what);
	for (;;) {
		struct nlmsghdr *r;

		n = mnl_socket_recvfrom(nl->sock, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return uh_err(err, errno, "%s: netlink receive", what);
		for (r = (struct nlmsghdr *)buf; mnl_nlmsg_ok(r, (int)n);
		     r = mnl_nlmsg_next(r, (int *)&n)) {
			const struct nlmsgerr *e;
			const char *msg;

			if (r->nlmsg_seq != nl->seq || r->nlmsg_type != NLMSG_ERROR)
				continue;
			e = mnl_nlmsg_get_payload(r);
			if (e->error == 0)
				return 0;
			msg = ext_ack_msg(r);
			if (msg && *msg)
				return uh_errc(err, -e->error, "%s: %s (%s)", what, strerror(-e->error),
					       msg);
			return uh_err(err, -e->error, "%s", what);
		}
	}
}

int uh_nl_link_set_up(struct uh_nl *nl, const char *ifname, int up, struct uh_error *err)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ifinfomsg *ifm;
	unsigned int idx = uh_nl_ifindex(ifname);

	if (idx == 0)
		return uh_errc(err, ENODEV, "set %s %s: no such interface", ifname, up ? "up" : "down");
	nlh->nlmsg_type = RTM_NEWLINK;
	ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));
	ifm->ifi_family = AF_UNSPEC;
	ifm->ifi_index = (int)idx;
	ifm->ifi_change = IFF_UP;
	ifm->ifi_flags = up ? IFF_UP : 0;
	return transact(nl, nlh, up ? "link up" : "link down", err) < 0
		       ? uh_err_prefix(err, "%s", ifname)
		       : 0;
}

int uh_nl_link_del(struct uh_nl *nl, const char *ifname, struct uh_error *err)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ifinfomsg *ifm;

	nlh->nlmsg_type = RTM_DELLINK;
	ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));
	ifm->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, ifname);
	if (transact(nl, nlh, "delete link", err) < 0)
		return uh_err_prefix(err, "%s", ifname);
	return 0;
}

int uh_nl_addr4(struct uh_nl *nl, const char *ifname, struct in_addr addr, int prefix, int add,
		struct uh_error *err)
{
	char buf[MNL_SOCKET_BUFFER_SIZE], a[INET_ADDRSTRLEN];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ifaddrmsg *ifa;
	unsigned int idx = uh_nl_ifindex(ifname);

	inet_ntop(AF_INET, &addr, a, sizeof(a));
	if (idx == 0)
		return uh_errc(err, ENODEV, "%s: address %s/%d: no such interface", ifname, a,
			       prefix);
	nlh->nlmsg_type = add ? RTM_NEWADDR : RTM_DELADDR;
	if (add)
		nlh->nlmsg_flags = NLM_F_CREATE | NLM_F_EXCL;
	ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = AF_INET;
	ifa->ifa_prefixlen = (unsigned char)prefix;
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	ifa->ifa_index = idx;
	mnl_attr_put_u32(nlh, IFA_LOCAL, addr.s_addr);
	mnl_attr_put_u32(nlh, IFA_ADDRESS, addr.s_addr);
	if (transact(nl, nlh, add ? "add address" : "delete address", err) < 0)
		return uh_err_prefix(err, "%s: %s/%d", ifname, a, prefix);
	return 0;
}

int uh_nl_route4(struct uh_nl *nl, const char *ifname, struct in_addr dst, int prefix, int add,
		 struct uh_error *err)
{
	char buf[MNL_SOCKET_BUFFER_SIZE], a[INET_ADDRSTRLEN];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct rtmsg *rtm;
	unsigned int idx = uh_nl_ifindex(ifname);

	inet_ntop(AF_INET, &dst, a, sizeof(a));
	if (idx == 0)
		return uh_errc(err, ENODEV, "route %s/%d via %s: no such interface", a, prefix,
			       ifname);
	nlh->nlmsg_type = add ? RTM_NEWROUTE : RTM_DELROUTE;
	if (add)
		nlh->nlmsg_flags = NLM_F_CREATE | NLM_F_EXCL;
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = AF_INET;
	rtm->rtm_dst_len = (unsigned char)prefix;
	rtm->rtm_table = RT_TABLE_MAIN;
	rtm->rtm_protocol = RTPROT_STATIC;
	rtm->rtm_scope = RT_SCOPE_LINK;
	rtm->rtm_type = RTN_UNICAST;
	mnl_attr_put_u32(nlh, RTA_DST, dst.s_addr);
	mnl_attr_put_u32(nlh, RTA_OIF, idx);
	if (transact(nl, nlh, add ? "add route" : "delete route", err) < 0)
		return uh_err_prefix(err, "%s/%d via %s", a, prefix, ifname);
	return 0;
}

int uh_net_sysctl_if(const char *ifname, const char *key, const char *value, struct uh_error *err)
{
	char path[256];
	uh_autoclose int fd = -1;

	if (strchr(ifname, '/') || strchr(key, '/') || strlen(ifname) >= IFNAMSIZ)
		return uh_errx(err, "invalid interface or key for sysctl");
	snprintf(path, sizeof(path), "/proc/sys/net/ipv4/conf/%s/%s", ifname, key);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || uh_write_full(fd, value, strlen(value)) < 0)
		return uh_err(err, errno, "set %s to %s", path, value);
	return 0;
}
