/* The fleet file's plan carried out (issue 18): POST /v1/fleet/apply, one call, so the CLI,
 * the panel and a cluster share it.
 *
 * The plan is made again here, from the file and the host as they are now; a saved plan
 * (plan --json) is applied only while the host's revision is the one it was made at and the
 * file still plans the same (else: refused, nothing done). Then, in a safe order:
 *   1. customers and networks the file names and the host lacks (servers need them);
 *   2. renames and destroys (they free names and addresses the rest may take);
 *   3. creates, updates and replaces, `parallel` servers at a time.
 * A server's change is a short list of acts (stop, update, rename, delete, create, start), each
 * one through the same code as the CLI's own command, so each is an event; a change that
 * needs a restart stops the server first and starts it again. A change the plan marks
 * blocked (a replace without --allow-replace, a destroy without --prune, a template the host
 * lacks) is refused by name and the rest goes on. The first failure ends it: no further server
 * is begun, those under way finish, and the report says what was done, what failed, what
 * was refused and what was not begun. Every server the file lists is marked managed (only
 * those may a later apply destroy, with --prune). */
#include "daemon/customer.h"
#include "daemon/daemon.h"
#include "daemon/budget.h"
#include "daemon/instance_spec.h"
#include "util/log.h"
#include "util/timeutil.h"
#include "util/validate.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PARALLEL_DEFAULT 4
#define PARALLEL_MAX 64

enum act { A_CHECK, A_STOP, A_DELETE, A_RENAME, A_UPDATE, A_CREATE, A_START };
static const char *const act_name[] = {"check", "stop",	 "delete", "rename",
				       "update", "create", "start"};

struct item {
	struct uh_fleet_apply *a;
	json_t *change;		 /* the plan's entry (borrowed) */
	char name[UH_KEY_MAX];	 /* the server's name in the file */
	char from[UH_KEY_MAX];	 /* its name on the host now (a rename's old one) */
	json_t *params;		 /* create's request, or update's changes */
	enum act acts[8];
	int n_acts, pc, first; /* first: renames and destroys, before the rest */
	int running;
	int stopped;	 /* this apply stopped it (a failure after that starts it again) */
	int end_running; /* the file wants it running */
};

struct uh_fleet_apply {
	struct uh_daemon *d;
	json_t *plan, *want;
	struct item *items;
	int n, next, inflight, inflight_first, parallel, failed;
	int scheduling, again; /* schedule() runs (a step that ends at once calls it again) */
	json_t *done_list, *refused, *failures;
	char file[256];
	uh_done_fn done;
	void *ctx;
};

static void schedule(struct uh_fleet_apply *a);
static void schedule_some(struct uh_fleet_apply *a);

/* An error text for the report: JSON strings must be UTF-8, and an error may carry a guest's
 * console bytes or a cut in the middle of a character; such bytes become '?'. */
static json_t *text(const char *s)
{
	json_t *v = json_string(s);
	char *copy;

	if (v)
		return v;
	copy = strdup(s);
	if (copy == NULL)
		abort();
	for (char *p = copy; *p; p++)
		if ((unsigned char)*p >= 0x80 || (unsigned char)*p < 0x20)
			*p = '?';
	v = json_string(copy);
	free(copy);
	return v;
}
static void run(struct item *it);

static void finish(struct uh_fleet_apply *a)
{
	struct uh_daemon *d = a->d;
	json_t *not_done = json_array(), *report;
	uh_done_fn done = a->done;
	void *ctx = a->ctx;
	char rev[17];

	for (int i = a->next; i < a->n; i++)
		json_array_append_new(not_done, json_pack("{s:s, s:s}", "server", a->items[i].name,
							  "action", json_string_value(json_object_get(
									    a->items[i].change, "action"))));
	uh_fleet_revision(d, rev);
	report = json_pack("{s:b, s:O, s:O, s:O, s:o, s:s, s:s}", "ok", !a->failed, "done",
			   a->done_list, "refused", a->refused, "failed", a->failures, "not_done",
			   not_done, "revision", rev, "file", a->file);
	uh_daemon_event(d, "", a->failed ? "fleet-apply-failed" : "fleet-applied",
			"%s: %zu done, %zu refused, %zu failed, %zu not begun", a->file,
			json_array_size(a->done_list), json_array_size(a->refused),
			json_array_size(a->failures), json_array_size(not_done));
	for (int i = 0; i < a->n; i++)
		json_decref(a->items[i].params);
	free(a->items);
	json_decref(a->plan);
	json_decref(a->want);
	json_decref(a->done_list);
	json_decref(a->refused);
	json_decref(a->failures);
	free(a);
	d->fleet_apply = NULL;
	/* it ran: the report, failure or not, is the answer (the CLI exits 1 on "failed") */
	done(ctx, NULL, report);
}

static void item_end(struct item *it, const char *error)
{
	struct uh_fleet_apply *a = it->a;
	const char *action = json_string_value(json_object_get(it->change, "action"));
	const char *at = it->pc < it->n_acts ? act_name[it->acts[it->pc]] : "mark";

	if (error) {
		/* a server this apply stopped runs again (under whichever name it has now) */
		struct uh_instance *inst = uh_instance_find(a->d, it->name);
		int again = 0;

		if (inst == NULL)
			inst = uh_instance_find(a->d, it->from);
		if (it->stopped && inst && !uh_instance_active(inst)) {
			uh_instance_submit(a->d, inst->rec.name, UH_OP_START, 0, 0, NULL, NULL);
			again = 1;
		}
		a->failed = 1;
		json_array_append_new(a->failures,
				      json_pack("{s:s, s:s, s:s, s:o, s:b}", "server", it->name,
						"action", action, "at", at, "error", text(error),
						"started_again", again));
		uh_daemon_event(a->d, it->name, "fleet-apply-failed", "%s: %s failed: %s%s", action,
				at, error, again ? " (started again)" : "");
	} else {
		json_array_append_new(a->done_list,
				      json_pack("{s:s, s:s}", "server", it->name, "action", action));
	}
	it->running = 0;
	a->inflight--;
	a->inflight_first -= it->first;
	schedule(a);
}

static void act_done(void *ctx, const struct uh_error *err, json_t *result)
{
	struct item *it = ctx;

	json_decref(result);
	if (err) {
		item_end(it, err->msg[0] ? err->msg : "failed");
		return;
	}
	if (it->acts[it->pc] == A_STOP)
		it->stopped = 1;
	it->pc++;
	run(it);
}

/* The server a file lists is the file's: only such may a later apply destroy. */
static int mark_managed(struct uh_daemon *d, const char *name, struct uh_error *err)
{
	struct uh_instance *inst = uh_instance_find(d, name);

	if (inst == NULL || inst->rec.managed)
		return 0;
	inst->rec.managed = 1;
	if (uh_instance_write(inst, err) < 0) {
		inst->rec.managed = 0;
		return -1;
	}
	return 0;
}

/* A replace's new server, checked before the old one goes: what create would refuse without
 * touching anything (the request, its kernel, template version and customer). */
static int check_create(struct uh_daemon *d, json_t *p, struct uh_error *err);

/* Before a server is stopped for a change: everything that would refuse the change once it
 * is stopped, asked now (a server is not left stopped by a change that cannot be made). */
static int check_item(struct item *it, struct uh_error *err)
{
	struct uh_daemon *d = it->a->d;
	const char *action = json_string_value(json_object_get(it->change, "action"));
	struct uh_instance *inst = uh_instance_find(d, it->from);

	if (inst == NULL)
		return uh_errc(err, ENOENT, "no instance named '%s'", it->from);
	if (uh_instance_claimed(inst, err) < 0)
		return uh_err_prefix(err, "%s", it->from);
	if (strcmp(action, "replace") == 0) {
		if (check_create(d, it->params, err) < 0)
			return -1;
	} else if (strcmp(action, "rename") == 0) {
		if (uh_validate_name("instance", it->name, err) < 0)
			return -1;
		if (uh_instance_find(d, it->name))
			return uh_errc(err, EEXIST, "rename %s: instance '%s' already exists",
				       it->from, it->name);
	}
	if (strcmp(action, "replace") != 0 && json_object_size(it->params) &&
	    uh_instance_update(d, it->from, it->params, 1, err) < 0)
		return -1;
	/* the memory budget is checked at start: ask it now for a server that runs again */
	if (it->end_running && json_is_string(json_object_get(it->params, "memory"))) {
		uint64_t bytes, committed = uh_daemon_committed_mib(d);

		if (uh_parse_size(json_string_value(json_object_get(it->params, "memory")), &bytes,
				  err) < 0)
			return -1;
		if (uh_instance_active(inst) && committed >= inst->rec.memory_mib)
			committed -= inst->rec.memory_mib;
		if (uh_budget_check(it->name, uh_host_memory_mib(), d->cfg.memory_reserve_mib,
				    d->cfg.memory_overcommit, committed, bytes >> 20, err) < 0)
			return -1;
	}
	return 0;
}

static int check_create(struct uh_daemon *d, json_t *p, struct uh_error *err)
{
	struct uh_instance_limits lim = {d->cfg.default_memory_mib, d->cfg.min_memory_mib,
					 uh_host_memory_mib(), sysconf(_SC_NPROCESSORS_ONLN)};
	struct uh_instance_spec spec;
	struct uh_template_rec t;
	char kpath[PATH_MAX];
	int r;

	if (uh_instance_spec_parse(p, 0, &lim, &spec, err) < 0)
		return -1;
	if (spec.kernel_named && (uh_kernel_resolve(d, spec.rec.kernel, kpath, sizeof(kpath), err) < 0 ||
				  uh_kernel_check_usable(d, spec.rec.kernel, err) < 0))
		return -1;
	r = uh_store_template_get(d->store, spec.rec.template_name, spec.template_version, &t, err);
	if (r < 0)
		return -1;
	if (r == 1)
		return uh_errc(err, ENOENT, "template %s version %d is missing: the server is left "
					    "as it was",
			       spec.rec.template_name, spec.template_version);
	if (strcmp(spec.rec.owner, "provider") != 0 && uh_customer_check(d, spec.rec.owner, err) < 0)
		return -1;
	return 0;
}

/* The acts in order: the synchronous ones here, an asynchronous one submitted (act_done goes
 * on with the next). */
static void run(struct item *it)
{
	struct uh_daemon *d = it->a->d;
	struct uh_error err;
	json_t *out = NULL;

	for (; it->pc < it->n_acts; it->pc++) {
		switch (it->acts[it->pc]) {
		case A_CHECK:
			if (check_item(it, &err) < 0)
				goto fail;
			break;
		case A_STOP:
			uh_instance_submit(d, it->from, UH_OP_STOP, 0, 0, act_done, it);
			return;
		case A_START:
			uh_instance_submit(d, it->name, UH_OP_START, 0, 0, act_done, it);
			return;
		case A_DELETE:
			uh_instance_submit(d, it->from, UH_OP_DELETE, 0, 0, act_done, it);
			return;
		case A_RENAME:
			if (uh_instance_rename(d, it->from, it->name, &err) < 0)
				goto fail;
			break;
		case A_UPDATE:
			if (uh_instance_update(d, it->name, it->params, 0, &err) < 0)
				goto fail;
			break;
		case A_CREATE:
			if (uh_instance_create(d, it->params, &out, &err) < 0)
				goto fail;
			json_decref(out);
			break;
		}
	}
	if (mark_managed(d, it->name, &err) < 0)
		goto fail;
	item_end(it, NULL);
	return;
fail:
	item_end(it, err.msg);
}

/* A step can end inside the call that begins it (a create, an op refused at once): its
 * item_end calls schedule() from within this loop, which then only says "again", so the
 * apply is finished (and freed) by the outermost call alone. */
static void schedule(struct uh_fleet_apply *a)
{
	if (a->scheduling) {
		a->again = 1;
		return;
	}
	a->scheduling = 1;
	do {
		a->again = 0;
		schedule_some(a);
	} while (a->again);
	a->scheduling = 0;
	if (a->inflight == 0 && (a->failed || a->next >= a->n))
		finish(a);
}

static void schedule_some(struct uh_fleet_apply *a)
{
	while (!a->failed && a->inflight < a->parallel && a->next < a->n) {
		struct item *it = &a->items[a->next];

		/* the rest waits until every rename and destroy is through */
		if (!it->first && a->inflight_first > 0)
			break;
		a->next++;
		a->inflight++;
		a->inflight_first += it->first;
		it->running = 1;
		uh_daemon_event(a->d, it->name, "fleet-apply", "%s (%s) from %s",
				json_string_value(json_object_get(it->change, "action")),
				json_string_value(json_object_get(it->change, "class")), a->file);
		run(it);
	}
}

static void add(struct item *it, enum act act)
{
	it->acts[it->n_acts++] = act;
}

/* A server's change as its acts. `have` is the server on the host (NULL for a create). */
static void plan_item(struct item *it, json_t *want, json_t *have)
{
	const char *action = json_string_value(json_object_get(it->change, "action"));
	const char *ws = json_string_value(json_object_get(want, "state"));
	int active = have && strcmp(json_string_value(json_object_get(have, "state")), "running") == 0;
	int end_running = ws ? strcmp(ws, "running") == 0 : (have ? active : 1);
	int restart = 0;
	size_t k;
	json_t *f;

	it->end_running = end_running;
	json_array_foreach(json_object_get(it->change, "fields"), k, f) {
		const char *field = json_string_value(json_object_get(f, "field"));

		if (strcmp(field, "state") == 0)
			continue;
		if (!uh_instance_update_live(field))
			restart = 1;
		if (strcmp(action, "update") == 0 || strcmp(action, "rename") == 0)
			json_object_set(it->params, field, json_object_get(f, "to"));
	}
	if (strcmp(action, "create") == 0) {
		json_object_update(it->params, want);
		add(it, A_CREATE);
		if (end_running)
			add(it, A_START);
	} else if (strcmp(action, "destroy") == 0) {
		if (active)
			add(it, A_STOP);
		add(it, A_DELETE);
	} else if (strcmp(action, "replace") == 0) {
		/* the new server keeps what the file leaves out (its address, owner...), but not
		 * the old template's version for a new template, nor an address in a network
		 * it leaves */
		const char *wt = json_string_value(json_object_get(want, "template"));
		const char *wn = json_string_value(json_object_get(want, "network"));

		json_object_update(it->params, have);
		if (wt && strcmp(wt, json_string_value(json_object_get(have, "template")) ?: "") != 0)
			json_object_del(it->params, "template_version");
		if (wn && strcmp(wn, json_string_value(json_object_get(have, "network")) ?: "") != 0)
			json_object_del(it->params, "ip");
		json_object_update(it->params, want);
		json_object_del(it->params, "managed");
		add(it, A_CHECK);
		if (active)
			add(it, A_STOP);
		add(it, A_DELETE);
		add(it, A_CREATE);
		if (end_running)
			add(it, A_START);
	} else {
		int stop = active && (restart || !end_running || strcmp(action, "rename") == 0);

		if (stop && (restart || strcmp(action, "rename") == 0))
			add(it, A_CHECK);
		if (stop)
			add(it, A_STOP);
		if (strcmp(action, "rename") == 0)
			add(it, A_RENAME);
		if (json_object_size(it->params))
			add(it, A_UPDATE);
		if (end_running && (stop || !active))
			add(it, A_START);
	}
}

/* The saved plan (plan --json) stands only for the host and file it was made from. */
static int check_saved(json_t *saved, json_t *plan, struct uh_error *err)
{
	const char *was = json_string_value(json_object_get(saved, "revision"));
	const char *now = json_string_value(json_object_get(plan, "revision"));

	if (!json_is_object(saved) || was == NULL)
		return uh_errc(err, EINVAL, "--plan: not a saved plan (umlhost --json plan FILE > "
					    "SAVED makes one)");
	if (strcmp(was, now) != 0)
		return uh_errc(err, ESTALE,
			       "the host changed since the plan was made (state revision %.16s then, "
			       "%.16s now): nothing applied; make the plan again",
			       was, now);
	if (!json_equal(json_object_get(saved, "changes"), json_object_get(plan, "changes")))
		return uh_errc(err, ESTALE, "the file no longer plans what the saved plan says: "
					    "nothing applied; make the plan again");
	return 0;
}

/* Customers and networks first: the servers need them. Synchronous and few. */
static int make_prerequisites(struct uh_fleet_apply *a, struct uh_error *err)
{
	size_t k;
	json_t *c, *out = NULL;

	json_array_foreach(json_object_get(a->plan, "changes"), k, c) {
		const char *kind = json_string_value(json_object_get(c, "kind"));
		const char *name = json_string_value(json_object_get(c, "name"));
		json_t *p;
		int r;

		if (strcmp(kind, "customer") != 0 && strcmp(kind, "network") != 0)
			continue;
		if (strcmp(kind, "customer") == 0) {
			p = json_pack("{s:s}", "name", name);
			r = uh_customer_create(a->d, p, &out, err);
		} else {
			p = json_deep_copy(json_object_get(json_object_get(a->want, "networks"), name));
			json_object_set_new(p, "name", json_string(name));
			r = uh_network_create(a->d, p, &out, err);
		}
		json_decref(p);
		if (r < 0) {
			json_array_append_new(a->failures,
					      json_pack("{s:s, s:s, s:s}", kind, name, "action",
							"create", "error", err->msg));
			return -1;
		}
		json_decref(out);
		json_array_append_new(a->done_list,
				      json_pack("{s:s, s:s}", kind, name, "action", "create"));
	}
	return 0;
}

void uh_fleet_apply(struct uh_daemon *d, json_t *params, uh_done_fn done, void *ctx)
{
	struct uh_fleet_apply *a = NULL;
	json_t *plan = NULL, *want = NULL, *have = NULL, *c, *servers;
	json_int_t parallel = json_integer_value(json_object_get(params, "parallel"));
	const char *file = json_string_value(json_object_get(params, "file"));
	struct uh_error err;
	const char *name;
	size_t k;

	if (d->fleet_apply) {
		uh_errc(&err, EBUSY, "a fleet file is being applied (%s); one at a time",
			d->fleet_apply->file);
		goto refuse;
	}
	if (parallel == 0)
		parallel = PARALLEL_DEFAULT;
	if (parallel < 1 || parallel > PARALLEL_MAX) {
		uh_errc(&err, EINVAL, "apply: --parallel must be 1 to %d", PARALLEL_MAX);
		goto refuse;
	}
	if (uh_fleet_plan_make(d, params, &want, &plan, &err) < 0)
		goto refuse;
	if (json_object_get(params, "plan") &&
	    check_saved(json_object_get(params, "plan"), plan, &err) < 0)
		goto refuse;
	if ((have = uh_fleet_current(d, &err)) == NULL)
		goto refuse;
	a = calloc(1, sizeof(*a));
	if (a == NULL ||
	    (a->items = calloc(json_array_size(json_object_get(plan, "changes")) + 1,
			       sizeof(*a->items))) == NULL)
		abort();
	a->d = d;
	a->plan = plan;
	a->want = want;
	a->parallel = (int)parallel;
	a->done_list = json_array();
	a->refused = json_array();
	a->failures = json_array();
	a->done = done;
	a->ctx = ctx;
	snprintf(a->file, sizeof(a->file), "%s", file ? file : "fleet");
	/* a cut (if any) must not end inside a character: the report is JSON, UTF-8 */
	{
		size_t n = strlen(a->file), s = n;

		while (s > 0 && ((unsigned char)a->file[s - 1] & 0xC0) == 0x80)
			s--;
		if (s > 0) {
			unsigned char lead = (unsigned char)a->file[s - 1];
			size_t len = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;

			if (n - (s - 1) < len)
				a->file[s - 1] = '\0';
		}
	}
	d->fleet_apply = a;
	uh_daemon_event(d, "", "fleet-apply", "%s: %lld change(s), %lld blocked, %d at a time",
			a->file, (long long)json_integer_value(json_object_get(plan, "pending")),
			(long long)json_integer_value(json_object_get(plan, "blocked")),
			a->parallel);
	servers = json_object_get(want, "servers");
	/* the servers in two passes: renames and destroys first */
	for (int pass = 0; pass < 2; pass++) {
		json_array_foreach(json_object_get(plan, "changes"), k, c) {
			const char *action = json_string_value(json_object_get(c, "action"));
			const char *server = json_string_value(json_object_get(c, "server"));
			const char *from = json_string_value(json_object_get(c, "renamed_from"));
			int first = strcmp(action, "rename") == 0 || strcmp(action, "destroy") == 0;
			struct item *it;

			if (server == NULL || strcmp(action, "none") == 0 || first != (pass == 0))
				continue;
			if (json_object_get(c, "blocked")) {
				json_array_append_new(a->refused,
						      json_pack("{s:s, s:s, s:O}", "server", server,
								"action", action, "why",
								json_object_get(c, "blocked")));
				continue;
			}
			it = &a->items[a->n++];
			it->a = a;
			it->change = c;
			it->first = first;
			it->params = json_object();
			snprintf(it->name, sizeof(it->name), "%s", server);
			snprintf(it->from, sizeof(it->from), "%s", from ? from : server);
			plan_item(it, json_object_get(servers, server),
				  json_object_get(json_object_get(have, "servers"), it->from));
		}
	}
	json_array_foreach(json_object_get(plan, "changes"), k, c)
		if (json_object_get(c, "blocked") && json_object_get(c, "server") == NULL)
			json_array_append_new(a->refused,
					      json_pack("{s:O, s:O, s:O}", "name",
							json_object_get(c, "name"), "action",
							json_object_get(c, "action"), "why",
							json_object_get(c, "blocked")));
	json_decref(have);
	/* servers the file lists and the host has unchanged are the file's from now on */
	json_object_foreach(servers, name, c)
		if (mark_managed(d, name, &err) < 0)
			uh_warnx("fleet apply: %s", err.msg);
	if (make_prerequisites(a, &err) < 0) {
		a->failed = 1;
		schedule(a);
		return;
	}
	schedule(a);
	return;
refuse:
	json_decref(plan);
	json_decref(want);
	json_decref(have);
	done(ctx, &err, NULL);
}
