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

/* Put an address attribute of the address's own length. */
static void put_ip(struct nlmsghdr *nlh, uint16_t type, const struct uh_ip *ip)
{
	mnl_attr_put(nlh, type, (size_t)uh_ip_len(ip->family), ip->a);
}

int uh_nl_addr(struct uh_nl *nl, const char *ifname, const struct uh_ip *ip, int prefix, int add,
	       struct uh_error *err)
{
	char buf[MNL_SOCKET_BUFFER_SIZE], a[UH_IP_STR];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ifaddrmsg *ifa;
	unsigned int idx = uh_nl_ifindex(ifname);

	uh_ip_format(ip, a);
	if (idx == 0)
		return uh_errc(err, ENODEV, "%s: address %s/%d: no such interface", ifname, a,
			       prefix);
	nlh->nlmsg_type = add ? RTM_NEWADDR : RTM_DELADDR;
	if (add)
		nlh->nlmsg_flags = NLM_F_CREATE | NLM_F_EXCL;
	ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = (unsigned char)ip->family;
	ifa->ifa_prefixlen = (unsigned char)prefix;
	ifa->ifa_scope = ip->family == AF_INET6 && ip->a[0] == 0xfe && (ip->a[1] & 0xc0) == 0x80
				 ? RT_SCOPE_LINK
				 : RT_SCOPE_UNIVERSE;
	ifa->ifa_index = idx;
	if (ip->family == AF_INET6)
		ifa->ifa_flags = IFA_F_NODAD; /* ours alone on a point-to-point tap: no DAD wait */
	put_ip(nlh, IFA_LOCAL, ip);
	put_ip(nlh, IFA_ADDRESS, ip);
	if (transact(nl, nlh, add ? "add address" : "delete address", err) < 0)
		return uh_err_prefix(err, "%s: %s/%d", ifname, a, prefix);
	return 0;
}

int uh_nl_route(struct uh_nl *nl, const char *ifname, const struct uh_ip *dst, int prefix,
		int add, struct uh_error *err)
{
	char buf[MNL_SOCKET_BUFFER_SIZE], a[UH_IP_STR];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct rtmsg *rtm;
	unsigned int idx = uh_nl_ifindex(ifname);

	uh_ip_format(dst, a);
	if (idx == 0)
		return uh_errc(err, ENODEV, "route %s/%d via %s: no such interface", a, prefix,
			       ifname);
	nlh->nlmsg_type = add ? RTM_NEWROUTE : RTM_DELROUTE;
	if (add)
		nlh->nlmsg_flags = NLM_F_CREATE | NLM_F_EXCL;
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = (unsigned char)dst->family;
	rtm->rtm_dst_len = (unsigned char)prefix;
	rtm->rtm_table = RT_TABLE_MAIN;
	rtm->rtm_protocol = RTPROT_STATIC;
	rtm->rtm_scope = dst->family == AF_INET6 ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK;
	rtm->rtm_type = RTN_UNICAST;
	put_ip(nlh, RTA_DST, dst);
	mnl_attr_put_u32(nlh, RTA_OIF, idx);
	if (transact(nl, nlh, add ? "add route" : "delete route", err) < 0)
		return uh_err_prefix(err, "%s/%d via %s", a, prefix, ifname);
	return 0;
}

int uh_nl_neigh_proxy(struct uh_nl *nl, const char *ifname, const struct uh_ip *ip, int add,
		      struct uh_error *err)
{
	char buf[MNL_SOCKET_BUFFER_SIZE], a[UH_IP_STR];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ndmsg *ndm;
	unsigned int idx = uh_nl_ifindex(ifname);

	uh_ip_format(ip, a);
	if (idx == 0)
		return uh_errc(err, ENODEV, "neighbour proxy %s on %s: no such interface", a,
			       ifname);
	nlh->nlmsg_type = add ? RTM_NEWNEIGH : RTM_DELNEIGH;
	if (add)
		nlh->nlmsg_flags = NLM_F_CREATE | NLM_F_REPLACE;
	ndm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ndm));
	ndm->ndm_family = (unsigned char)ip->family;
	ndm->ndm_ifindex = (int)idx;
	ndm->ndm_flags = NTF_PROXY;
	ndm->ndm_state = NUD_PERMANENT;
	put_ip(nlh, NDA_DST, ip);
	if (transact(nl, nlh, add ? "add neighbour proxy" : "delete neighbour proxy", err) < 0)
		return uh_err_prefix(err, "%s on %s", a, ifname);
	return 0;
}

/* RTM_NEWLINK on an existing interface with one attribute. */
static int link_change(struct uh_nl *nl, const char *ifname, uint16_t type, const void *data,
		       size_t len, const char *what, struct uh_error *err)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ifinfomsg *ifm;
	unsigned int idx = uh_nl_ifindex(ifname);

	if (idx == 0)
		return uh_errc(err, ENODEV, "%s: %s: no such interface", ifname, what);
	nlh->nlmsg_type = RTM_NEWLINK;
	ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));
	ifm->ifi_family = AF_UNSPEC;
	ifm->ifi_index = (int)idx;
	mnl_attr_put(nlh, type, len, data);
	if (transact(nl, nlh, what, err) < 0)
		return uh_err_prefix(err, "%s", ifname);
	return 0;
}

int uh_nl_link_set_master(struct uh_nl *nl, const char *ifname, const char *master,
			  struct uh_error *err)
{
	uint32_t m = master ? uh_nl_ifindex(master) : 0;

	if (master && m == 0)
		return uh_errc(err, ENODEV, "%s: bridge %s: no such interface", ifname, master);
	return link_change(nl, ifname, IFLA_MASTER, &m, sizeof(m), "set bridge", err);
}

int uh_nl_link_set_alias(struct uh_nl *nl, const char *ifname, const char *alias,
			 struct uh_error *err)
{
	return link_change(nl, ifname, IFLA_IFALIAS, alias, strlen(alias) + 1, "set alias", err);
}

struct link_walk {
	int (*fn)(const struct uh_link_info *l, void *arg);
	void *arg;
	int stop;
};

static int link_attr(const struct nlattr *attr, void *data)
{
	const struct nlattr **tb = data;
	int type = mnl_attr_get_type(attr);

	if (mnl_attr_type_valid(attr, IFLA_MAX) > 0)
		tb[type] = attr;
	return MNL_CB_OK;
}

static int link_cb(const struct nlmsghdr *nlh, void *data)
{
	struct link_walk *w = data;
	const struct nlattr *tb[IFLA_MAX + 1] = {0};
	const struct ifinfomsg *ifm = mnl_nlmsg_get_payload(nlh);
	struct uh_link_info l = {0};

	if (w->stop)
		return MNL_CB_OK;
	mnl_attr_parse(nlh, sizeof(*ifm), link_attr, tb);
	if (tb[IFLA_IFNAME] == NULL)
		return MNL_CB_OK;
	l.index = (unsigned int)ifm->ifi_index;
	l.up = (ifm->ifi_flags & IFF_UP) != 0;
	snprintf(l.name, sizeof(l.name), "%s", mnl_attr_get_str(tb[IFLA_IFNAME]));
	if (tb[IFLA_IFALIAS])
		snprintf(l.alias, sizeof(l.alias), "%.*s",
			 (int)mnl_attr_get_payload_len(tb[IFLA_IFALIAS]),
			 (const char *)mnl_attr_get_payload(tb[IFLA_IFALIAS]));
	if (tb[IFLA_MASTER])
		l.master = mnl_attr_get_u32(tb[IFLA_MASTER]);
	if (tb[IFLA_LINKINFO]) {
		const struct nlattr *attr;

		mnl_attr_for_each_nested(attr, tb[IFLA_LINKINFO])
			if (mnl_attr_get_type(attr) == IFLA_INFO_KIND &&
			    mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) == 0)
				snprintf(l.kind, sizeof(l.kind), "%s", mnl_attr_get_str(attr));
	}
	if (tb[IFLA_STATS64] &&
	    mnl_attr_get_payload_len(tb[IFLA_STATS64]) >= sizeof(struct rtnl_link_stats64)) {
		struct rtnl_link_stats64 st;

		memcpy(&st, mnl_attr_get_payload(tb[IFLA_STATS64]), sizeof(st));
		l.rx_bytes = st.rx_bytes;
		l.tx_bytes = st.tx_bytes;
		l.rx_packets = st.rx_packets;
		l.tx_packets = st.tx_packets;
		l.rx_dropped = st.rx_dropped;
		l.tx_dropped = st.tx_dropped;
	}
	if (w->fn(&l, w->arg) != 0)
		w->stop = 1;
	return MNL_CB_OK;
}

/* Send a request and run cb over its replies until the kernel says done (or acks). */
static int dump(struct uh_nl *nl, struct nlmsghdr *nlh, mnl_cb_t cb, void *data, const char *what,
		struct uh_error *err)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	ssize_t n;
	int r;

	nlh->nlmsg_seq = ++nl->seq;
	if (mnl_socket_sendto(nl->sock, nlh, nlh->nlmsg_len) < 0)
		return uh_err(err, errno, "%s: netlink send", what);
	do {
		n = mnl_socket_recvfrom(nl->sock, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return uh_err(err, errno, "%s: netlink receive", what);
		r = mnl_cb_run(buf, (size_t)n, nl->seq, nl->portid, cb, data);
	} while (r > MNL_CB_STOP);
	if (r < 0)
		return uh_err(err, errno, "%s", what);
	return 0;
}

int uh_nl_link_list(struct uh_nl *nl, int (*fn)(const struct uh_link_info *l, void *arg),
		    void *arg, struct uh_error *err)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ifinfomsg *ifm;
	struct link_walk w = {fn, arg, 0};

	nlh->nlmsg_type = RTM_GETLINK;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));
	ifm->ifi_family = AF_UNSPEC;
	return dump(nl, nlh, link_cb, &w, "list links", err);
}

static int link_get_one(const struct uh_link_info *l, void *arg)
{
	*(struct uh_link_info *)arg = *l;
	return 1;
}

int uh_nl_link_get(struct uh_nl *nl, const char *ifname, struct uh_link_info *out,
		   struct uh_error *err)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ifinfomsg *ifm;
	struct link_walk w = {link_get_one, out, 0};
	unsigned int idx = uh_nl_ifindex(ifname);

	memset(out, 0, sizeof(*out));
	if (idx == 0)
		return uh_errc(err, ENODEV, "%s: no such interface", ifname);
	nlh->nlmsg_type = RTM_GETLINK;
	/* the ack ends the reply: a plain get has no NLMSG_DONE */
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));
	ifm->ifi_family = AF_UNSPEC;
	ifm->ifi_index = (int)idx;
	if (dump(nl, nlh, link_cb, &w, "get link", err) < 0)
		return uh_err_prefix(err, "%s", ifname);
	return out->index ? 0 : uh_errc(err, ENODEV, "%s: no such interface", ifname);
}

int uh_net_sysctl_if(int family, const char *ifname, const char *key, const char *value,
		     struct uh_error *err)
{
	char path[256];
	uh_autoclose int fd = -1;

	if (strchr(ifname, '/') || strchr(key, '/') || strlen(ifname) >= IFNAMSIZ)
		return uh_errx(err, "invalid interface or key for sysctl");
	snprintf(path, sizeof(path), "/proc/sys/net/%s/conf/%s/%s",
		 family == AF_INET6 ? "ipv6" : "ipv4", ifname, key);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || uh_write_full(fd, value, strlen(value)) < 0)
		return uh_err(err, errno, "set %s to %s", path, value);
	return 0;
}
