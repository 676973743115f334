/* Networks and the network side of an instance's life.
 *
 * routed (the seed's design): each instance has a tap whose host side holds a link-local
 * address (169.254.0.1/32, fe80::1/64 for IPv6: the instance costs one public address, not
 * two), a host route to the instance's address through the tap, proxy ARP (IPv6: a proxy
 * NDP entry) on the uplink so the neighbours find it, forwarding on. The guest has
 * ADDRESS/32 with 169.254.0.1 as an on-link gateway.
 * bridge: the tap joins an existing bridge; the guest has ADDRESS/prefix-of-the-pool and the
 * network's gateway.
 *
 * A tap is made fresh at every start (offloads a transport left on an old tap break TCP for
 * the next one, measured) and removed when the kernel ends; routes go with it. Its alias
 * ("umlhost:NAME:STATE_DIR") marks it as ours, so leftovers of a crash are found. */
#include "daemon/daemon.h"
#include "net/addr.h"
#include "net/netlink.h"
#include "net/nft.h"
#include "net/tap.h"
#include "util/log.h"
#include "util/validate.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#define ROUTED_GW4 "169.254.0.1"
#define ROUTED_GW6 "fe80::1"
#define SAMPLE_INTERVAL_MS 30000

static struct uh_nl *nl_of(struct uh_daemon *d, struct uh_error *err)
{
	if (d->nl == NULL && uh_nl_open(&d->nl, err) < 0)
		return NULL;
	return d->nl;
}

/* By netlink, not sysfs: /sys shows the interfaces of whoever mounted it, which is not
 * our network namespace when the daemon was moved into one with nsenter. */
static int is_bridge(struct uh_daemon *d, const char *ifname)
{
	struct uh_error err;
	struct uh_link_info l;
	struct uh_nl *nl = nl_of(d, &err);

	return nl && uh_nl_link_get(nl, ifname, &l, &err) == 0 && strcmp(l.kind, "bridge") == 0;
}

static int ifname_ok(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && n < 16 && strchr(s, '/') == NULL && strcmp(s, ".") && strcmp(s, "..");
}

/* ---- networks */

struct overlap {
	const struct uh_cidr *pool;
	char *clash; /* "NAME (POOL)" */
	size_t len;
};

static int find_overlap(const struct uh_network_rec *n, void *arg)
{
	struct overlap *o = arg;
	struct uh_cidr c;
	struct uh_error e;

	if (uh_cidr_parse(n->pool, &c, &e) == 0 && uh_cidr_overlap(&c, o->pool)) {
		snprintf(o->clash, o->len, "%s (%s)", n->name, n->pool);
		return 1;
	}
	return 0;
}

/* The uplink's side of a routed network: proxy ARP/NDP and forwarding there. */
static int uplink_setup(const struct uh_network_rec *n, int family, struct uh_error *err)
{
	if (n->uplink[0] == '\0')
		return 0;
	if (family == AF_INET)
		return uh_net_sysctl_if(AF_INET, n->uplink, "proxy_arp", "1", err) < 0 ||
				       uh_net_sysctl_if(AF_INET, n->uplink, "forwarding", "1", err) < 0
			       ? -1
			       : 0;
	/* IPv6 forwards only with the global switch */
	return uh_net_sysctl_if(AF_INET6, n->uplink, "proxy_ndp", "1", err) < 0 ||
			       uh_net_sysctl_if(AF_INET6, "all", "forwarding", "1", err) < 0
		       ? -1
		       : 0;
}

static json_t *network_json(struct uh_daemon *d, const struct uh_network_rec *n)
{
	struct uh_instance *i;
	int used = 0;

	for (i = d->instances; i; i = i->next)
		used += strcmp(i->rec.network, n->name) == 0;
	return json_pack("{s:s, s:s, s:s, s:o, s:o, s:o, s:i}", "name", n->name, "mode", n->mode,
			 "pool", n->pool, "uplink", n->uplink[0] ? json_string(n->uplink) : json_null(),
			 "bridge", n->bridge[0] ? json_string(n->bridge) : json_null(), "gateway",
			 n->gateway[0] ? json_string(n->gateway) : json_null(), "instances", used);
}

int uh_network_create(struct uh_daemon *d, json_t *p, json_t **out, struct uh_error *err)
{
	const char *name = json_string_value(json_object_get(p, "name"));
	const char *mode = json_string_value(json_object_get(p, "mode"));
	const char *pool = json_string_value(json_object_get(p, "pool"));
	const char *uplink = json_string_value(json_object_get(p, "uplink"));
	const char *bridge = json_string_value(json_object_get(p, "bridge"));
	const char *gateway = json_string_value(json_object_get(p, "gateway"));
	struct uh_network_rec n = {0}, old;
	struct uh_cidr c;
	char clash[128] = "";
	struct overlap o = {&c, clash, sizeof(clash)};
	int r;

	if (name == NULL)
		return uh_errx(err, "network create: a name is required");
	if (uh_validate_name("network", name, err) < 0)
		return -1;
	r = uh_store_network_get(d->store, name, &old, err);
	if (r < 0)
		return -1;
	if (r == 0)
		return uh_errc(err, EEXIST, "network '%s' already exists", name);
	if (mode == NULL || (strcmp(mode, "routed") != 0 && strcmp(mode, "bridge") != 0))
		return uh_errx(err, "%s: --mode must be routed or bridge", name);
	if (pool == NULL)
		return uh_errx(err, "%s: --pool CIDR is required", name);
	if (uh_cidr_parse(pool, &c, err) < 0)
		return uh_err_prefix(err, "%s: --pool", name);
	if (uh_store_network_list(d->store, find_overlap, &o, err) < 0)
		return -1;
	if (clash[0])
		return uh_errc(err, EEXIST, "%s: pool %s overlaps network %s", name, pool, clash);
	if (strcmp(mode, "routed") == 0) {
		if (bridge || gateway)
			return uh_errx(err, "%s: --bridge and --gateway are for --mode bridge (a routed "
					    "instance's gateway is the host, %s)",
				       name, c.ip.family == AF_INET ? ROUTED_GW4 : ROUTED_GW6);
		if (uplink && (!ifname_ok(uplink) || uh_nl_ifindex(uplink) == 0))
			return uh_errc(err, ENODEV, "%s: uplink '%s' does not exist", name, uplink);
	} else {
		if (uplink)
			return uh_errx(err, "%s: --uplink is for --mode routed (a bridge's uplink is "
					    "whatever is enslaved to it)",
				       name);
		if (bridge == NULL)
			return uh_errx(err, "%s: --mode bridge needs --bridge BRIDGE", name);
		if (!ifname_ok(bridge) || uh_nl_ifindex(bridge) == 0)
			return uh_errc(err, ENODEV, "%s: bridge '%s' does not exist", name, bridge);
		if (!is_bridge(d, bridge))
			return uh_errx(err, "%s: '%s' is not a bridge", name, bridge);
		if (gateway) {
			struct uh_ip g;

			if (uh_ip_parse(gateway, &g, err) < 0)
				return uh_err_prefix(err, "%s: --gateway", name);
			if (!uh_cidr_contains(&c, &g))
				return uh_errx(err, "%s: gateway %s is outside the pool %s (the guests "
						    "reach only their own subnet directly)",
					       name, gateway, pool);
		}
	}
	snprintf(n.name, sizeof(n.name), "%s", name);
	snprintf(n.mode, sizeof(n.mode), "%s", mode);
	uh_cidr_format(&c, n.pool);
	snprintf(n.uplink, sizeof(n.uplink), "%s", uplink ? uplink : "");
	snprintf(n.bridge, sizeof(n.bridge), "%s", bridge ? bridge : "");
	snprintf(n.gateway, sizeof(n.gateway), "%s", gateway ? gateway : "");
	n.created = time(NULL);
	if (strcmp(mode, "routed") == 0 && uplink_setup(&n, c.ip.family, err) < 0)
		return uh_err_prefix(err, "%s: uplink %s", name, uplink);
	if (uh_store_network_put(d->store, &n, err) < 0)
		return -1;
	uh_daemon_event(d, "", "network-created", "%s: %s %s", name, mode, n.pool);
	*out = network_json(d, &n);
	return 0;
}

struct list_ctx {
	struct uh_daemon *d;
	json_t *arr;
};

static int list_one(const struct uh_network_rec *n, void *arg)
{
	struct list_ctx *l = arg;

	json_array_append_new(l->arr, network_json(l->d, n));
	return 0;
}

json_t *uh_network_list(struct uh_daemon *d, struct uh_error *err)
{
	struct list_ctx l = {d, json_array()};

	if (uh_store_network_list(d->store, list_one, &l, err) < 0) {
		json_decref(l.arr);
		return NULL;
	}
	return l.arr;
}

int uh_network_remove(struct uh_daemon *d, const char *name, struct uh_error *err)
{
	struct uh_network_rec n;
	struct uh_instance *i;
	int r = uh_store_network_get(d->store, name, &n, err);

	if (r < 0)
		return -1;
	if (r == 1)
		return uh_errc(err, ENOENT, "no network named '%s'", name);
	for (i = d->instances; i; i = i->next)
		if (strcmp(i->rec.network, name) == 0)
			return uh_errc(err, EBUSY, "network %s is used by instance %s; delete it first",
				       name, i->rec.name);
	if (uh_store_network_del(d->store, name, err) < 0)
		return -1;
	uh_daemon_event(d, "", "network-removed", "%s", name);
	return 0;
}

/* ---- addresses */

static int ip_taken(struct uh_daemon *d, const struct uh_ip *ip)
{
	struct uh_instance *i;
	struct uh_ip o;
	struct uh_error e;

	for (i = d->instances; i; i = i->next)
		if (i->rec.ip[0] && uh_ip_parse(i->rec.ip, &o, &e) == 0 && uh_ip_equal(&o, ip))
			return 1;
	return 0;
}

int uh_network_assign(struct uh_daemon *d, struct uh_instance_rec *rec, const char *network,
		      const char *want, struct uh_error *err)
{
	struct uh_network_rec n;
	struct uh_cidr pool;
	struct uh_ip ip, gw = {0};
	uint8_t mac[6];
	char s[UH_IP_STR];
	struct uh_instance *i;
	int r;

	if (network == NULL) {
		if (want)
			return uh_errx(err, "--ip needs --network");
		return 0;
	}
	r = uh_store_network_get(d->store, network, &n, err);
	if (r < 0)
		return -1;
	if (r == 1)
		return uh_errc(err, ENOENT, "unknown network '%s' (see umlhost network list)",
			       network);
	if (uh_cidr_parse(n.pool, &pool, err) < 0)
		return -1;
	if (n.gateway[0] && uh_ip_parse(n.gateway, &gw, err) < 0)
		return -1;
	if (want) {
		if (uh_ip_parse(want, &ip, err) < 0)
			return uh_err_prefix(err, "--ip");
		if (!uh_cidr_contains(&pool, &ip))
			return uh_errx(err, "address %s is outside network %s's pool %s", want,
				       network, n.pool);
		if (!uh_cidr_usable(&pool, &ip) || (n.gateway[0] && uh_ip_equal(&ip, &gw)))
			return uh_errx(err, "address %s is the pool's %s, not an instance address",
				       want,
				       n.gateway[0] && uh_ip_equal(&ip, &gw) ? "gateway"
				       : pool.ip.family == AF_INET		 ? "network or broadcast address"
										 : "subnet-router anycast address");
		if (ip_taken(d, &ip))
			return uh_errc(err, EEXIST, "address %s is already taken", want);
	} else {
		uint64_t k, size = uh_cidr_walk_size(&pool);

		for (k = 0; k < size; k++) {
			if (uh_cidr_nth(&pool, k, &ip) < 0)
				break;
			if (uh_cidr_usable(&pool, &ip) && !(n.gateway[0] && uh_ip_equal(&ip, &gw)) &&
			    !ip_taken(d, &ip))
				break;
		}
		if (k >= size || uh_cidr_nth(&pool, k, &ip) < 0)
			return uh_errx(err, "network %s has no free address left in %s", network,
				       n.pool);
	}
	uh_mac_for(&ip, mac);
	uh_ip_format(&ip, s);
	snprintf(rec->network, sizeof(rec->network), "%s", network);
	snprintf(rec->ip, sizeof(rec->ip), "%s", s);
	uh_mac_format(mac, rec->mac);
	uh_tap_name_for(mac, rec->tap);
	for (i = d->instances; i; i = i->next)
		if (strcmp(i->rec.tap, rec->tap) == 0)
			return uh_errc(err, EEXIST, "address %s maps to tap %s, which instance %s has "
						    "(pick another --ip)",
				       s, rec->tap, i->rec.name);
	return 0;
}

/* ---- an instance's network at start and stop */

/* Add the tap's counters (the host's view, so swapped) into the instance's totals. */
static void account(struct uh_instance_rec *r, const struct uh_link_info *l)
{
	uint64_t cur[4] = {l->tx_bytes, l->rx_bytes, l->tx_packets, l->rx_packets};

	for (int k = 0; k < 4; k++) {
		/* a counter below what we saw is a new tap: all of it is new */
		r->net_total[k] += cur[k] >= r->tap_seen[k] ? cur[k] - r->tap_seen[k] : cur[k];
		r->tap_seen[k] = cur[k];
	}
}

int uh_net_sample(struct uh_instance *inst)
{
	struct uh_error err;
	struct uh_link_info l;
	struct uh_nl *nl;
	uint64_t before = inst->rec.net_total[0] + inst->rec.net_total[1];

	if (inst->rec.tap[0] == '\0' || uh_nl_ifindex(inst->rec.tap) == 0 ||
	    (nl = nl_of(inst->d, &err)) == NULL || uh_nl_link_get(nl, inst->rec.tap, &l, &err) < 0)
		return 0;
	account(&inst->rec, &l);
	/* the host's tx is the guest's rx */
	inst->drops[0] = l.tx_dropped;
	inst->drops[1] = l.rx_dropped;
	return inst->rec.net_total[0] + inst->rec.net_total[1] != before;
}

/* Remove what the host has for an instance's tap (by name): its guard chain, the uplink's
 * proxy NDP entry, the tap (routes and addresses go with it). Counters are added first. */
static void tap_remove(struct uh_daemon *d, const char *tap, struct uh_instance *inst)
{
	struct uh_error err;
	struct uh_nl *nl = nl_of(d, &err);

	if (inst)
		uh_net_sample(inst);
	if (uh_nft_guard_del(tap, &err) < 0)
		uh_warnx("%s", err.msg);
	if (inst && inst->rec.ip[0] && strchr(inst->rec.ip, ':') && nl) {
		struct uh_network_rec n;
		struct uh_ip ip;

		if (uh_store_network_get(d->store, inst->rec.network, &n, &err) == 0 &&
		    n.uplink[0] && uh_ip_parse(inst->rec.ip, &ip, &err) == 0 &&
		    uh_nl_neigh_proxy(nl, n.uplink, &ip, 0, &err) < 0 && err.errnum != ENOENT &&
		    err.errnum != ENODEV)
			uh_warnx("%s", err.msg);
	}
	if (nl && uh_nl_ifindex(tap) != 0 && uh_nl_link_del(nl, tap, &err) < 0)
		uh_warnx("%s", err.msg);
}

void uh_net_down(struct uh_instance *inst)
{
	if (inst->rec.tap[0] == '\0')
		return;
	tap_remove(inst->d, inst->rec.tap, inst);
	memset(inst->rec.tap_seen, 0, sizeof(inst->rec.tap_seen));
}

static void alias_for(const struct uh_instance *inst, char *buf, size_t len)
{
	/* IFALIASZ is 256: the state dir is cut at 200, the same way when compared */
	snprintf(buf, len, "umlhost:%s:%.200s", inst->rec.name, inst->d->cfg.state_dir);
}

int uh_net_up(struct uh_instance *inst, struct uh_error *err)
{
	struct uh_daemon *d = inst->d;
	const struct uh_instance_rec *r = &inst->rec;
	struct uh_network_rec n;
	struct uh_cidr pool;
	struct uh_ip ip, hostip;
	struct uh_nl *nl;
	char alias[256];
	uid_t uid = r->uid > 0 ? (uid_t)r->uid : 0;
	int routed, v6;

	if (r->network[0] == '\0')
		return 0;
	if (uh_store_network_get(d->store, r->network, &n, err) != 0)
		return uh_errx(err, "%s: its network '%s' no longer exists", r->name, r->network);
	if (uh_cidr_parse(n.pool, &pool, err) < 0 || uh_ip_parse(r->ip, &ip, err) < 0 ||
	    (nl = nl_of(d, err)) == NULL)
		return uh_err_prefix(err, "%s: network", r->name);
	routed = strcmp(n.mode, "routed") == 0;
	v6 = ip.family == AF_INET6;
	if (routed && n.uplink[0] && uh_nl_ifindex(n.uplink) == 0)
		return uh_errc(err, ENODEV, "%s: network %s: uplink %s does not exist", r->name,
			       n.name, n.uplink);
	if (!routed && uh_nl_ifindex(n.bridge) == 0)
		return uh_errc(err, ENODEV, "%s: network %s: bridge %s does not exist", r->name,
			       n.name, n.bridge);
	/* a leftover tap (crash): fresh one, counters first */
	if (uh_nl_ifindex(r->tap) != 0)
		uh_net_down(inst);
	memset(inst->rec.tap_seen, 0, sizeof(inst->rec.tap_seen));
	if (uh_tap_create(r->tap, uid, uid, err) < 0)
		return uh_err_prefix(err, "%s", r->name);
	alias_for(inst, alias, sizeof(alias));
	/* the guard first: not one frame leaves the tap unfiltered */
	if (uh_nl_link_set_alias(nl, r->tap, alias, err) < 0 ||
	    uh_nft_guard_add(&(struct uh_nft_guard){r->tap, r->mac, ip}, err) < 0)
		goto fail;
	if (routed) {
		uh_ip_parse(v6 ? ROUTED_GW6 : ROUTED_GW4, &hostip, err);
		if (uh_nl_addr(nl, r->tap, &hostip, v6 ? 64 : 32, 1, err) < 0 ||
		    (!v6 && (uh_net_sysctl_if(AF_INET, r->tap, "proxy_arp", "1", err) < 0 ||
			     uh_net_sysctl_if(AF_INET, r->tap, "forwarding", "1", err) < 0)) ||
		    uh_nl_link_set_up(nl, r->tap, 1, err) < 0 ||
		    uh_nl_route(nl, r->tap, &ip, v6 ? 128 : 32, 1, err) < 0 ||
		    uplink_setup(&n, ip.family, err) < 0 ||
		    (v6 && n.uplink[0] && uh_nl_neigh_proxy(nl, n.uplink, &ip, 1, err) < 0))
			goto fail;
	} else {
		if (uh_nl_link_set_master(nl, r->tap, n.bridge, err) < 0 ||
		    uh_nl_link_set_up(nl, r->tap, 1, err) < 0)
			goto fail;
	}
	return 0;
fail:
	uh_err_prefix(err, "%s", r->name);
	uh_net_down(inst);
	return -1;
}

int uh_net_kernel_args(const struct uh_instance *inst, char *buf, size_t len)
{
	const struct uh_instance_rec *r = &inst->rec;
	struct uh_network_rec n;
	struct uh_cidr pool;
	struct uh_error err;
	const char *gw;
	int prefix, w;

	buf[0] = '\0';
	if (r->network[0] == '\0')
		return 0;
	if (uh_store_network_get(inst->d->store, r->network, &n, &err) != 0 ||
	    uh_cidr_parse(n.pool, &pool, &err) < 0)
		return -1;
	if (strcmp(n.mode, "routed") == 0) {
		prefix = pool.ip.family == AF_INET6 ? 128 : 32;
		gw = pool.ip.family == AF_INET6 ? ROUTED_GW6 : ROUTED_GW4;
	} else {
		prefix = pool.prefix;
		gw = n.gateway;
	}
	/* vector: gro=1 or the guest's receive buffers stay 1.5 KB and host->guest TCP stalls
	 * on the TSO frames the tap then sends (measured) */
	if (strcmp(inst->d->cfg.net_transport, "tuntap") == 0)
		w = snprintf(buf, len, "eth0=tuntap,%s,%s", r->tap, r->mac);
	else
		w = snprintf(buf, len, "vec0:transport=tap,ifname=%s,mac=%s,gro=1", r->tap, r->mac);
	if (w < 0 || (size_t)w >= len)
		return -1;
	w += snprintf(buf + w, len - (size_t)w, " umlhost.ip=%s/%d%s%s", r->ip, prefix,
		      gw[0] ? " umlhost.gw=" : "", gw);
	return (size_t)w < len ? 0 : -1;
}

json_t *uh_net_json(struct uh_instance *inst)
{
	const struct uh_instance_rec *r = &inst->rec;

	return json_pack("{s:I, s:I, s:I, s:I}", "rx_bytes",
			 (json_int_t)r->net_total[UH_NET_RX_BYTES], "tx_bytes",
			 (json_int_t)r->net_total[UH_NET_TX_BYTES], "rx_packets",
			 (json_int_t)r->net_total[UH_NET_RX_PACKETS], "tx_packets",
			 (json_int_t)r->net_total[UH_NET_TX_PACKETS]);
}

/* ---- crash leftovers and sampling */

struct reconcile {
	struct uh_daemon *d;
	char gone[64][16]; /* taps to remove */
	int n;
};

static int reconcile_link(const struct uh_link_info *l, void *arg)
{
	struct reconcile *c = arg;
	struct uh_instance *inst;
	char sd[201], name[UH_KEY_MAX];
	const char *colon;

	if (strncmp(l->alias, "umlhost:", 8) != 0)
		return 0;
	snprintf(sd, sizeof(sd), "%.200s", c->d->cfg.state_dir);
	colon = strchr(l->alias + 8, ':');
	if (colon == NULL || strcmp(colon + 1, sd) != 0 || (size_t)(colon - l->alias - 8) >=
								  sizeof(name))
		return 0; /* another daemon's */
	snprintf(name, sizeof(name), "%.*s", (int)(colon - l->alias - 8), l->alias + 8);
	/* the tap of a running, re-adopted instance is kept (the instances are walked here, not
	 * looked up: the instance module calls this one, never the other way) */
	for (inst = c->d->instances; inst; inst = inst->next)
		if (inst->rec.pid > 0 && strcmp(inst->rec.name, name) == 0 &&
		    strcmp(inst->rec.tap, l->name) == 0)
			return 0;
	if (c->n < 64)
		snprintf(c->gone[c->n++], 16, "%s", l->name);
	return 0;
}

static int reconcile_chain(const char *tap, int rules, void *arg)
{
	struct reconcile *c = arg;

	(void)rules; /* a partial chain of a live tap: the guard check remakes it */
	/* a guard chain without its tap is an orphan whoever made it */
	if (uh_nl_ifindex(tap) == 0 && c->n < 64)
		snprintf(c->gone[c->n++], 16, "%s", tap);
	return 0;
}

void uh_net_reconcile(struct uh_daemon *d)
{
	struct reconcile *c = calloc(1, sizeof(*c));
	struct uh_error err;
	struct uh_instance *i;
	struct uh_nl *nl = nl_of(d, &err);

	if (c == NULL)
		abort();
	c->d = d;
	if (nl == NULL || uh_nl_link_list(nl, reconcile_link, c, &err) < 0 ||
	    uh_nft_guard_list(reconcile_chain, c, &err) < 0)
		uh_warnx("network reconcile: %s", err.msg);
	for (int k = 0; k < c->n; k++) {
		struct uh_instance *owner = NULL;

		for (i = d->instances; i; i = i->next)
			if (strcmp(i->rec.tap, c->gone[k]) == 0)
				owner = i;
		uh_warnx("removing leftover network state of tap %s", c->gone[k]);
		if (owner) {
			uh_net_down(owner);
			uh_instance_write(owner, &err);
		} else {
			tap_remove(d, c->gone[k], NULL);
		}
	}
	free(c);
}

static void sample_due(void *arg)
{
	struct uh_daemon *d = arg;
	struct uh_instance *i;
	struct uh_error err;

	for (i = d->instances; i; i = i->next)
		if (i->rec.pid > 0 && uh_net_sample(i) &&
		    uh_instance_write(i, &err) < 0)
			uh_warnx("%s: %s", i->rec.name, err.msg);
	d->net_timer = uh_loop_after(d->loop, SAMPLE_INTERVAL_MS, sample_due, d);
}

/* ---- the guards stay: a host's `nft flush ruleset` (Debian's nftables.conf starts with one)
 * or an admin's `nft delete table netdev umlhost` removes them while the instances run. Every
 * guard_check_seconds the chains in the table are compared with the running instances'
 * taps, and a missing one is made again (an event says so). One libnftables listing per
 * check, whatever the number of instances. */

struct guard_seen {
	struct {
		char tap[16];
		int rules;
	} *v;
	size_t n, cap;
};

static void guard_seen_free(struct guard_seen *g)
{
	free(g->v);
}
#define uh_autoguard_seen __attribute__((cleanup(guard_seen_free)))

static int guard_seen_add(const char *tap, int rules, void *arg)
{
	struct guard_seen *g = arg;

	if (g->n == g->cap) {
		size_t cap = g->cap ? g->cap * 2 : 64;
		void *t = realloc(g->v, cap * sizeof(*g->v));

		if (t == NULL)
			return -1;
		g->v = t;
		g->cap = cap;
	}
	snprintf(g->v[g->n].tap, sizeof(g->v[g->n].tap), "%s", tap);
	g->v[g->n++].rules = rules;
	return 0;
}

/* The rules the tap's chain holds now, -1 if there is no such chain. */
static int guard_seen_rules(const struct guard_seen *g, const char *tap)
{
	size_t k;

	for (k = 0; k < g->n; k++)
		if (strcmp(g->v[k].tap, tap) == 0)
			return g->v[k].rules;
	return -1;
}

static void guard_check(void *arg)
{
	struct uh_daemon *d = arg;
	uh_autoguard_seen struct guard_seen seen = {0};
	struct uh_instance *i;
	struct uh_error err;

	d->guard_timer = uh_loop_after(d->loop, (int64_t)d->cfg.guard_check_seconds * 1000,
				       guard_check, d);
	for (i = d->instances; i; i = i->next)
		if (i->rec.pid > 0 && i->rec.tap[0] && uh_nl_ifindex(i->rec.tap) != 0)
			break;
	if (i == NULL)
		return; /* no running instance with a network: nothing to list */
	if (uh_nft_guard_list(guard_seen_add, &seen, &err) < 0) {
		uh_warnx("guard check: %s", err.msg);
		return;
	}
	for (i = d->instances; i; i = i->next) {
		struct uh_nft_guard g = {.tap = i->rec.tap, .mac = i->rec.mac};
		int have, want;

		if (i->rec.pid <= 0 || i->rec.tap[0] == '\0' || uh_nl_ifindex(i->rec.tap) == 0 ||
		    uh_ip_parse(i->rec.ip, &g.ip, &err) < 0)
			continue;
		have = guard_seen_rules(&seen, i->rec.tap);
		want = uh_nft_guard_rules(&g);
		if (have == want)
			continue;
		/* gone, emptied (`nft flush chain`) or changed: made again from scratch */
		if ((have >= 0 && uh_nft_guard_del(i->rec.tap, &err) < 0) ||
		    uh_nft_guard_add(&g, &err) < 0)
			uh_daemon_event(d, i->rec.name, "guard-lost",
					"the anti-spoofing chain of tap %s is %s and could not be "
					"made again: %s",
					i->rec.tap, have < 0 ? "gone" : "not whole", err.msg);
		else
			uh_daemon_event(d, i->rec.name, "guard-restored",
					"the anti-spoofing chain of tap %s was %s; made again",
					i->rec.tap,
					have < 0 ? "gone (nft flush ruleset?)"
						 : "changed (rules flushed or edited)");
	}
}

void uh_net_init(struct uh_daemon *d)
{
	d->net_timer = uh_loop_after(d->loop, SAMPLE_INTERVAL_MS, sample_due, d);
	d->guard_timer = uh_loop_after(d->loop, (int64_t)d->cfg.guard_check_seconds * 1000,
				       guard_check, d);
}
