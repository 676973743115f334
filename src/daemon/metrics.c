/* Prometheus metrics in the text exposition format (0.0.4): the provider's whole host at
 * /metrics, a customer's own servers at /v1/metrics. Each server's numbers are the ones
 * `umlhost stats` shows (uh_instance_stats), sampled at most every 5 s (a scrape of hundreds
 * of servers reads cgroup and stat files for each); which servers a principal gets is
 * auth/access.c's rule. Names in base units; no label named `instance` (Prometheus's own). */
#include "daemon/metrics.h"
#include "store/store.h"
#include "uh_build.h"
#include "util/timeutil.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SAMPLE_MS 5000
#define MAX_ROUTES 128

static struct {
	int64_t at_ms;
	json_t *servers; /* [{name, customer, template, kernel, state, started_at, stats...}] */
} cache;

static struct {
	const char *route; /* a pattern of the route table (static storage) */
	int code;
	uint64_t n;
} requests[MAX_ROUTES];

void uh_metrics_count_request(const char *route, int code)
{
	for (int i = 0; i < MAX_ROUTES; i++) {
		if (requests[i].route == NULL) {
			requests[i].route = route;
			requests[i].code = code;
		}
		if (requests[i].route == route && requests[i].code == code) {
			requests[i].n++;
			return;
		}
	}
}

struct text {
	char *buf;
	size_t len, cap;
};

static void add(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add(struct text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(t->buf + t->len, t->cap - t->len, fmt, ap);
		va_end(ap);
		if (n >= 0 && (size_t)n < t->cap - t->len)
			break;
		t->cap = t->cap * 2 + (size_t)n + 256;
		t->buf = realloc(t->buf, t->cap);
		if (t->buf == NULL)
			abort();
	}
	t->len += (size_t)n;
}

/* A label value, escaped as the format says (backslash, double quote, newline). Names are
 * checked words already; this is for whatever a hand-edited row holds. */
static const char *esc(const char *s, char *out, size_t len)
{
	size_t o = 0;

	for (; *s && o + 3 < len; s++) {
		if (*s == '\\' || *s == '"') {
			out[o++] = '\\';
			out[o++] = *s;
		} else if (*s == '\n') {
			out[o++] = '\\';
			out[o++] = 'n';
		} else {
			out[o++] = *s;
		}
	}
	out[o] = '\0';
	return out;
}

static int64_t last_backup(struct uh_daemon *d, const char *name);

static json_t *sample(struct uh_daemon *d)
{
	int64_t now = uh_now_ms();
	struct uh_instance *i;
	json_t *arr;

	if (cache.servers && now - cache.at_ms < SAMPLE_MS)
		return cache.servers;
	arr = json_array();
	for (i = d->instances; i; i = i->next) {
		json_t *s = uh_instance_stats(i);

		json_object_set_new(s, "customer",
				    json_string(i->rec.owner[0] ? i->rec.owner : UH_PROVIDER));
		json_object_set_new(s, "template", json_string(i->rec.template_name));
		json_object_set_new(s, "kernel", json_string(i->rec.kernel));
		json_object_set_new(s, "started_at",
				    json_integer(uh_instance_active(i) ? i->rec.started_at : 0));
		json_object_set_new(s, "memory_limit_bytes",
				    json_integer((json_int_t)uh_cgroup_memory_for(i->rec.memory_mib)));
		json_object_set_new(s, "restarts", json_integer(i->rec.restarts));
		{
			double user = 0, sys = 0;

			if (uh_instance_active(i) && i->have_cg)
				uh_cgroup_cpu_modes(&i->cg, &user, &sys);
			json_object_set_new(s, "cpu_user_seconds", json_real(user));
			json_object_set_new(s, "cpu_system_seconds", json_real(sys));
		}
		json_object_set_new(s, "backup_failures", json_integer((json_int_t)i->backup_failures));
		json_object_set_new(s, "backup_last", json_integer(last_backup(d, i->rec.name)));
		json_array_append_new(arr, s);
	}
	json_decref(cache.servers);
	cache.servers = arr;
	cache.at_ms = now;
	return arr;
}

struct newest {
	const char *name;
	int64_t created;
};

static int newest_backup(const struct uh_backup_rec *b, void *arg)
{
	struct newest *n = arg;

	if (strcmp(b->instance, n->name) == 0 && b->created > n->created)
		n->created = b->created;
	return 0;
}

static int64_t last_backup(struct uh_daemon *d, const char *name)
{
	struct newest n = {name, 0};
	struct uh_error err;

	uh_store_backup_list(d->store, newest_backup, &n, &err);
	return n.created;
}

/* A sampled server's name and customer, and whether p may see it. */
static int seen(const struct uh_principal *p, json_t *s, const char **name, const char **cust)
{
	*name = json_string_value(json_object_get(s, "name"));
	*cust = json_string_value(json_object_get(s, "customer"));
	return *name && *cust && uh_access_visible(p, *name, *cust);
}

/* One family over every visible server: its HELP, TYPE and a sample per server. */
struct family {
	const char *name, *type, *help, *key; /* key: the stats field */
	const char *label;		      /* one more label of its series, or NULL */
};

static void servers_family(struct text *t, const struct family *f, json_t *arr,
			   const struct uh_principal *p)
{
	char sv[80], cu[80];
	size_t k;
	json_t *s;

	/* a family's series over several entries (a label each): its header once */
	if (f->help)
		add(t, "# HELP %s %s\n# TYPE %s %s\n", f->name, f->help, f->name, f->type);
	json_array_foreach(arr, k, s) {
		const char *name, *customer;
		json_t *v = json_object_get(s, f->key);

		if (!seen(p, s, &name, &customer) || v == NULL)
			continue;
		add(t, "%s{server=\"%s\",customer=\"%s\"%s%s} ", f->name,
		    esc(name, sv, sizeof(sv)), esc(customer, cu, sizeof(cu)), f->label ? "," : "",
		    f->label ? f->label : "");
		if (json_is_real(v))
			add(t, "%.6f\n", json_real_value(v));
		else
			add(t, "%lld\n", (long long)json_integer_value(v));
	}
}

char *uh_metrics_text(struct uh_daemon *d, const struct uh_principal *p, int host, size_t *len)
{
	static const struct family families[] = {
		{"umlhost_server_boot_time_seconds", "gauge",
		 "When the server's kernel started (unix seconds; 0 while stopped).", "started_at", NULL},
		{"umlhost_server_cpu_seconds_total", "counter",
		 "CPU time of the server's processes on the host (its cgroup), by mode.",
		 "cpu_user_seconds", "mode=\"user\""},
		{"umlhost_server_cpu_seconds_total", "counter", NULL, "cpu_system_seconds",
		 "mode=\"system\""},
		{"umlhost_server_memory_usage_bytes", "gauge",
		 "Host memory charged to the server (its cgroup).", "memory_bytes", NULL},
		{"umlhost_server_memory_limit_bytes", "gauge",
		 "The server's host memory limit (its memory plus the kernel's overhead).",
		 "memory_limit_bytes", NULL},
		{"umlhost_server_network_receive_bytes_total", "counter",
		 "Bytes the server received, over all its starts.", "rx_bytes", NULL},
		{"umlhost_server_network_transmit_bytes_total", "counter",
		 "Bytes the server sent, over all its starts.", "tx_bytes", NULL},
		{"umlhost_server_network_receive_packets_total", "counter",
		 "Packets the server received.", "rx_packets", NULL},
		{"umlhost_server_network_transmit_packets_total", "counter",
		 "Packets the server sent.", "tx_packets", NULL},
		{"umlhost_server_network_receive_drops_total", "counter",
		 "Packets to the server the host dropped (since its tap came up at the server's "
		 "start).", "rx_dropped", NULL},
		{"umlhost_server_network_transmit_drops_total", "counter",
		 "Packets from the server the host dropped (since its start).", "tx_dropped", NULL},
		{"umlhost_server_disk_allocated_bytes", "gauge",
		 "Bytes the server's disk takes on the host.", "disk_bytes", NULL},
		{"umlhost_backup_last_success_timestamp_seconds", "gauge",
		 "When the server's newest recorded backup was made (0: none).", "backup_last", NULL},
		{"umlhost_backup_failures_total", "counter",
		 "Backups of the server that failed since umlhostd started.", "backup_failures", NULL},
	};
	static const char *const states[] = {"stopped", "starting", "running", "stopping",
					      "crashed"};
	struct text t = {NULL, 0, 0};
	json_t *arr = sample(d), *s;
	char a[80], b[80], c[80], e[80];
	size_t k;

	add(&t, "# HELP umlhost_server_info A server: its customer, template and kernel.\n"
		"# TYPE umlhost_server_info gauge\n");
	json_array_foreach(arr, k, s) {
		const char *name, *cust;

		if (seen(p, s, &name, &cust))
			add(&t, "umlhost_server_info{server=\"%s\",customer=\"%s\",template=\"%s\","
				"kernel=\"%s\"} 1\n",
			    esc(name, a, sizeof(a)), esc(cust, b, sizeof(b)),
			    esc(json_string_value(json_object_get(s, "template")), c, sizeof(c)),
			    esc(json_string_value(json_object_get(s, "kernel")), e, sizeof(e)));
	}
	add(&t, "# HELP umlhost_server_state The server's state (1 for the one it is in).\n"
		"# TYPE umlhost_server_state gauge\n");
	json_array_foreach(arr, k, s) {
		const char *name, *cust, *st = json_string_value(json_object_get(s, "state"));

		if (!seen(p, s, &name, &cust))
			continue;
		for (size_t q = 0; q < sizeof(states) / sizeof(states[0]); q++)
			add(&t, "umlhost_server_state{server=\"%s\",customer=\"%s\",state=\"%s\"} %d\n",
			    esc(name, a, sizeof(a)), esc(cust, b, sizeof(b)), states[q],
			    strcmp(st, states[q]) == 0);
	}
	add(&t, "# HELP umlhost_server_restarts_total Restarts of the server after a crash "
		"(its restart policy).\n# TYPE umlhost_server_restarts_total counter\n");
	json_array_foreach(arr, k, s) {
		const char *name, *cust;

		if (seen(p, s, &name, &cust))
			add(&t, "umlhost_server_restarts_total{server=\"%s\",customer=\"%s\","
				"reason=\"crash\"} %lld\n",
			    esc(name, a, sizeof(a)), esc(cust, b, sizeof(b)),
			    (long long)json_integer_value(json_object_get(s, "restarts")));
	}
	for (size_t f = 0; f < sizeof(families) / sizeof(families[0]); f++)
		servers_family(&t, &families[f], arr, p);
	if (host) {
		add(&t, "# HELP umlhost_host_memory_committed_bytes Memory the running servers may "
			"use (their limits), against the host's budget.\n"
			"# TYPE umlhost_host_memory_committed_bytes gauge\n"
			"umlhost_host_memory_committed_bytes %llu\n",
		    (unsigned long long)uh_daemon_committed_mib(d) << 20);
		add(&t, "# HELP umlhost_api_requests_total API requests since umlhostd started, by "
			"route and status.\n# TYPE umlhost_api_requests_total counter\n");
		for (int i = 0; i < MAX_ROUTES && requests[i].route; i++)
			add(&t, "umlhost_api_requests_total{route=\"%s\",code=\"%d\"} %llu\n",
			    esc(requests[i].route, a, sizeof(a)), requests[i].code,
			    (unsigned long long)requests[i].n);
		add(&t, "# HELP umlhost_build_info umlhost's version.\n"
			"# TYPE umlhost_build_info gauge\n"
			"umlhost_build_info{version=\"%s\"} 1\n",
		    UMLHOST_VERSION);
	}
	*len = t.len;
	return t.buf;
}

void uh_metrics_free(void)
{
	json_decref(cache.servers);
	cache.servers = NULL;
}
