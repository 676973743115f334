/* Rolling kernel upgrades: instances move to a new kernel `parallel` at a time. A running
 * instance is restarted on the new kernel and counts as upgraded only once it is ready, has
 * stayed up for a moment (a kernel that panics after its mconsole came up is caught here)
 * and, when it has an address, answers on it (any TCP answer on port 80, an RST too: the
 * guest's network stack is up). The first failure stops the rollout: that instance goes back
 * to its previous kernel and is restarted, and no further batch starts. A stopped instance
 * just gets the new kernel for its next start. */
#include "daemon/daemon.h"
#include "net/addr.h"
#include "util/cleanup.h"
#include "util/log.h"
#include "util/timeutil.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define SETTLE_MS 2000
#define PROBE_TIMEOUT_MS 60000
#define PROBE_ATTEMPT_MS 1000
#define PROBE_RETRY_MS 300
#define PROBE_PORT 80

enum phase { P_WAITING, P_RESTART, P_SETTLE, P_PROBE, P_ROLLBACK, P_DONE };

struct item {
	struct uh_upgrade *u;
	char name[UH_KEY_MAX];
	char old_kernel[UH_KEY_MAX];
	enum phase phase;
	int pid_after; /* the kernel's pid once restarted */
	int sock;
	struct uh_watch *watch;
	struct uh_timer *timer;
	int64_t deadline_ms;
	char error[512];
};

struct uh_upgrade {
	struct uh_daemon *d;
	char kernel[UH_KEY_MAX];
	int parallel, inflight, next, n, failed;
	int scheduling, again; /* schedule() runs (a restart refused at once calls it again) */
	struct item *items;
	json_t *upgraded, *switched, *failure;
	uh_done_fn done;
	void *ctx;
};

static void schedule(struct uh_upgrade *u);

static void finish(struct uh_upgrade *u)
{
	struct uh_daemon *d = u->d;
	json_t *skipped = json_array(), *report;
	uh_done_fn done = u->done;
	void *ctx = u->ctx;

	for (int i = 0; i < u->n; i++)
		if (u->items[i].phase == P_WAITING)
			json_array_append_new(skipped, json_string(u->items[i].name));
	report = json_pack("{s:s, s:o, s:o, s:o, s:o}", "kernel", u->kernel, "upgraded",
			   u->upgraded, "switched", u->switched, "skipped", skipped, "failed",
			   u->failure ? u->failure : json_null());
	uh_daemon_event(d, "", u->failed ? "upgrade-failed" : "upgrade-done", "kernel %s: %zu "
			"upgraded, %zu switched, %zu skipped%s",
			u->kernel, json_array_size(u->upgraded), json_array_size(u->switched),
			json_array_size(skipped), u->failed ? ", stopped at a failure" : "");
	free(u->items);
	free(u);
	d->upgrade = NULL;
	if (!done)
		return json_decref(report);
	/* the upgrade ran: its report, failure or not, is the answer (the CLI exits 1 when
	 * "failed" is set) */
	done(ctx, NULL, report);
}

static void item_close_probe(struct item *it)
{
	struct uh_loop *l = it->u->d->loop;

	uh_loop_unwatch(l, it->watch);
	it->watch = NULL;
	uh_loop_cancel(l, it->timer);
	it->timer = NULL;
	uh_close(&it->sock);
}

static void set_kernel(struct uh_upgrade *u, const char *name, const char *kernel)
{
	struct uh_instance *inst = uh_instance_find(u->d, name);
	struct uh_error err;

	if (inst == NULL)
		return;
	snprintf(inst->rec.kernel, sizeof(inst->rec.kernel), "%s", kernel);
	if (uh_instance_write(inst, &err) < 0)
		uh_warnx("%s: %s", name, err.msg);
}

static void item_done(struct item *it)
{
	struct uh_upgrade *u = it->u;

	it->phase = P_DONE;
	u->inflight--;
	schedule(u);
}

static void rolled_back(void *ctx, const struct uh_error *err, json_t *result)
{
	struct item *it = ctx;
	struct uh_upgrade *u = it->u;
	struct uh_instance *inst = uh_instance_find(u->d, it->name);

	u->failure = json_pack("{s:s, s:s, s:s, s:b, s:s}", "instance", it->name, "error",
			       it->error, "rolled_back_to", it->old_kernel, "running_again",
			       err == NULL, "state", inst ? uh_state_name(inst->state) : "deleted");
	json_decref(result);
	uh_daemon_event(u->d, it->name, "upgrade-rolled-back", "back on kernel %s (%s)",
			it->old_kernel, err == NULL ? "running" : "did not start");
	item_done(it);
}

static void item_fail(struct item *it, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void item_fail(struct item *it, const char *fmt, ...)
{
	struct uh_upgrade *u = it->u;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(it->error, sizeof(it->error), fmt, ap);
	va_end(ap);
	item_close_probe(it);
	u->failed = 1;
	uh_daemon_event(u->d, it->name, "upgrade-failed", "kernel %s: %s", u->kernel, it->error);
	it->phase = P_ROLLBACK;
	set_kernel(u, it->name, it->old_kernel);
	uh_instance_submit(u->d, it->name, UH_OP_RESTART, 0, 0, rolled_back, it);
}

static void item_ok(struct item *it)
{
	item_close_probe(it);
	json_array_append_new(it->u->upgraded, json_string(it->name));
	uh_daemon_event(it->u->d, it->name, "upgraded", "now on kernel %s", it->u->kernel);
	item_done(it);
}

/* ---- "answers on its IP" */

static void probe_attempt(void *arg);

static void probe_retry(struct item *it)
{
	item_close_probe(it);
	if (uh_now_ms() >= it->deadline_ms) {
		struct uh_instance *inst = uh_instance_find(it->u->d, it->name);

		item_fail(it, "ready, but no answer on %s within %d s",
			  inst ? inst->rec.ip : "its address", PROBE_TIMEOUT_MS / 1000);
		return;
	}
	it->timer = uh_loop_after(it->u->d->loop, PROBE_RETRY_MS, probe_attempt, it);
}

static void probe_writable(void *arg, uint32_t events)
{
	struct item *it = arg;
	int e = 0;
	socklen_t len = sizeof(e);

	getsockopt(it->sock, SOL_SOCKET, SO_ERROR, &e, &len);
	if (e == 0 || e == ECONNREFUSED)
		item_ok(it);
	else
		probe_retry(it);
}

static void probe_timeout(void *arg)
{
	struct item *it = arg;

	it->timer = NULL;
	probe_retry(it);
}

static void probe_attempt(void *arg)
{
	struct item *it = arg;
	struct uh_instance *inst = uh_instance_find(it->u->d, it->name);
	struct sockaddr_storage ss = {0};
	socklen_t sl;
	struct uh_ip ip;
	struct uh_error err;

	it->timer = NULL;
	if (inst == NULL || inst->rec.pid <= 0) {
		item_fail(it, "it stopped running while being probed (%s)",
			  inst ? uh_state_name(inst->state) : "deleted");
		return;
	}
	if (uh_ip_parse(inst->rec.ip, &ip, &err) < 0) {
		item_fail(it, "%s", err.msg);
		return;
	}
	if (ip.family == AF_INET) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
		s4->sin_family = AF_INET;
		s4->sin_port = htons(PROBE_PORT);
		memcpy(&s4->sin_addr, ip.a, 4);
		sl = sizeof(*s4);
	} else {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(PROBE_PORT);
		memcpy(&s6->sin6_addr, ip.a, 16);
		sl = sizeof(*s6);
	}
	it->sock = socket(ip.family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (it->sock < 0) {
		probe_retry(it);
		return;
	}
	if (connect(it->sock, (struct sockaddr *)&ss, sl) == 0 || errno == ECONNREFUSED) {
		item_ok(it);
		return;
	}
	if (errno != EINPROGRESS) {
		probe_retry(it);
		return;
	}
	it->watch = uh_loop_watch(it->u->d->loop, it->sock, EPOLLOUT, probe_writable, it);
	it->timer = uh_loop_after(it->u->d->loop, PROBE_ATTEMPT_MS, probe_timeout, it);
}

static void settled(void *arg)
{
	struct item *it = arg;
	struct uh_instance *inst = uh_instance_find(it->u->d, it->name);

	it->timer = NULL;
	if (inst == NULL || inst->rec.pid != it->pid_after || inst->rec.pid <= 0) {
		item_fail(it, "its kernel ended within %d s of starting (%s)", SETTLE_MS / 1000,
			  inst ? uh_state_name(inst->state) : "deleted");
		return;
	}
	if (inst->rec.ip[0] == '\0') {
		item_ok(it);
		return;
	}
	it->phase = P_PROBE;
	it->deadline_ms = uh_now_ms() + PROBE_TIMEOUT_MS;
	probe_attempt(it);
}

static void restarted(void *ctx, const struct uh_error *err, json_t *result)
{
	struct item *it = ctx;
	struct uh_instance *inst = uh_instance_find(it->u->d, it->name);

	json_decref(result);
	if (err) {
		item_fail(it, "%s", err->msg[0] ? err->msg : "restart failed");
		return;
	}
	it->pid_after = inst ? inst->rec.pid : 0;
	it->phase = P_SETTLE;
	it->timer = uh_loop_after(it->u->d->loop, SETTLE_MS, settled, it);
}

static void schedule_some(struct uh_upgrade *u);

/* A restart can be refused inside the call that submits it (the disk claimed by a backup):
 * its failure, rollback and item_done run within this loop and call schedule() again, which
 * then only says "again", so the upgrade is finished (and freed) by the outermost call alone
 * (before, the loop went on reading the freed upgrade). */
static void schedule(struct uh_upgrade *u)
{
	if (u->scheduling) {
		u->again = 1;
		return;
	}
	u->scheduling = 1;
	do {
		u->again = 0;
		schedule_some(u);
	} while (u->again);
	u->scheduling = 0;
	if (u->inflight == 0 && (u->failed || u->next >= u->n))
		finish(u);
}

static void schedule_some(struct uh_upgrade *u)
{
	while (!u->failed && u->inflight < u->parallel && u->next < u->n) {
		struct item *it = &u->items[u->next++];
		struct uh_instance *inst = uh_instance_find(u->d, it->name);

		if (inst == NULL) {
			it->phase = P_DONE;
			continue;
		}
		snprintf(it->old_kernel, sizeof(it->old_kernel), "%s", inst->rec.kernel);
		set_kernel(u, it->name, u->kernel);
		if (inst->rec.pid <= 0 || inst->state != UH_STATE_RUNNING) {
			json_array_append_new(u->switched, json_string(it->name));
			it->phase = P_DONE;
			continue;
		}
		it->phase = P_RESTART;
		u->inflight++;
		uh_daemon_event(u->d, it->name, "upgrading", "kernel %s -> %s", it->old_kernel,
				u->kernel);
		uh_instance_submit(u->d, it->name, UH_OP_RESTART, 0, 0, restarted, it);
	}
}

void uh_upgrade_start(struct uh_daemon *d, json_t *p, uh_done_fn done, void *ctx)
{
	const char *kernel = json_string_value(json_object_get(p, "kernel"));
	json_t *names = json_object_get(p, "instances"), *v;
	int all = json_is_true(json_object_get(p, "all"));
	json_int_t parallel = json_integer_value(json_object_get(p, "parallel"));
	struct uh_upgrade *u;
	struct uh_instance *i;
	struct uh_error err;
	char path[PATH_MAX];
	size_t k;

	if (d->upgrade) {
		uh_errc(&err, EBUSY, "an upgrade to kernel %s is in progress", d->upgrade->kernel);
		goto refuse;
	}
	if (kernel == NULL) {
		uh_errx(&err, "upgrade: --kernel NAME is required");
		goto refuse;
	}
	if (uh_kernel_resolve(d, kernel, path, sizeof(path), &err) < 0 ||
	    uh_kernel_check_usable(d, kernel, &err) < 0)
		goto refuse;
	if (all == (json_array_size(names) > 0)) {
		uh_errx(&err, "upgrade: name the instances or give --all (not both)");
		goto refuse;
	}
	if (parallel == 0)
		parallel = 1;
	if (parallel < 1 || parallel > 64) {
		uh_errx(&err, "upgrade: --parallel must be 1 to 64");
		goto refuse;
	}
	json_array_foreach(names, k, v) {
		if (!json_is_string(v) || uh_instance_find(d, json_string_value(v)) == NULL) {
			uh_errc(&err, ENOENT, "upgrade: no instance named '%s'",
				json_is_string(v) ? json_string_value(v) : "?");
			goto refuse;
		}
	}
	u = calloc(1, sizeof(*u));
	if (u == NULL || (u->items = calloc((size_t)d->n_instances + 1, sizeof(*u->items))) == NULL)
		abort();
	u->d = d;
	snprintf(u->kernel, sizeof(u->kernel), "%s", kernel);
	u->parallel = (int)parallel;
	u->done = done;
	u->ctx = ctx;
	u->upgraded = json_array();
	u->switched = json_array();
	for (i = d->instances; i; i = i->next) {
		int want = all;

		json_array_foreach(names, k, v)
			want |= strcmp(json_string_value(v), i->rec.name) == 0;
		/* already on it: nothing to do */
		if (!want || strcmp(i->rec.kernel, kernel) == 0)
			continue;
		snprintf(u->items[u->n].name, UH_KEY_MAX, "%s", i->rec.name);
		u->items[u->n].u = u;
		u->items[u->n].sock = -1;
		u->n++;
	}
	d->upgrade = u;
	uh_daemon_event(d, "", "upgrade", "kernel %s: %d instance(s), %d at a time", kernel, u->n,
			u->parallel);
	schedule(u);
	return;
refuse:
	done(ctx, &err, NULL);
}
