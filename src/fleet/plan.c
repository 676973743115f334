/* What it takes to go from the host's servers to the fleet file's (plan.h). Pure. */
#include "fleet/plan.h"
#include "util/timeutil.h"
#include "util/validate.h"

#include <string.h>

enum cls { C_LIVE, C_RESTART, C_REPLACE, C_RECREATE };

static const char *const class_name[] = {"live", "restart", "replace", "re-create only"};

/* Each key of a server a file may set, its class, and how it compares. */
enum cmp { SAME, MIB, SECONDS, LIST };
static const struct {
	const char *key;
	enum cls cls;
	enum cmp cmp;
} fields[] = {
	{"template", C_REPLACE, SAME},	   {"template_version", C_REPLACE, SAME},
	{"memory", C_RESTART, MIB},	   {"swap", C_RESTART, MIB},
	{"network", C_RESTART, SAME},	   {"ip", C_RESTART, SAME},
	{"kernel", C_RESTART, SAME},	   {"kernel_args", C_RESTART, LIST},
	{"disks", C_RESTART, LIST},	   {"owner", C_LIVE, SAME},
	{"restart", C_LIVE, SAME},	   {"autostart", C_LIVE, SAME},
	{"cpu_quota", C_LIVE, SAME},	   {"pids_max", C_LIVE, SAME},
	{"reclaim", C_LIVE, MIB},
	{"backup_every", C_LIVE, SECONDS}, {"backup_keep", C_LIVE, SAME},
	{"backup_to", C_LIVE, SAME},	   {"ssh_keys", C_RECREATE, LIST},
};
#define N_FIELDS (sizeof(fields) / sizeof(fields[0]))

/* A value as compared: sizes in MiB, durations in seconds; anything else as it is. */
static json_t *canonical(json_t *v, enum cmp cmp)
{
	struct uh_error err;
	uint64_t bytes;
	int64_t s;

	if (cmp == MIB && json_is_string(v) && uh_parse_size(json_string_value(v), &bytes, &err) == 0)
		return json_integer((json_int_t)(bytes >> 20));
	if (cmp == MIB && json_is_integer(v))
		return json_incref(v);
	if (cmp == SECONDS && json_is_string(v) && uh_parse_duration(json_string_value(v), &s) == 0)
		return json_integer(s);
	/* "" and [] are what a server without the thing has: the same as leaving it out; so is
	 * reclaim's "default" (the export leaves the daemon's default out) */
	if ((json_is_string(v) && json_string_length(v) == 0) ||
	    (cmp == MIB && json_is_string(v) && strcmp(json_string_value(v), "default") == 0) ||
	    (json_is_array(v) && json_array_size(v) == 0))
		return json_null();
	return json_incref(v);
}

static int same(json_t *a, json_t *b, enum cmp cmp)
{
	json_t *x = canonical(a, cmp), *y = canonical(b, cmp);
	/* null and left out are the same */
	int eq = json_equal(x, y) || ((x == NULL || json_is_null(x)) && (y == NULL || json_is_null(y)));

	json_decref(x);
	json_decref(y);
	return eq;
}

static int in_list(json_t *arr, const char *name)
{
	size_t i;
	json_t *v;

	json_array_foreach(arr, i, v)
		if (json_is_string(v) && strcmp(json_string_value(v), name) == 0)
			return 1;
	return 0;
}

static json_t *change(const char *name, const char *action, const char *cls)
{
	return json_pack("{s:s, s:s, s:s, s:[], s:[]}", "server", name, "action", action, "class", cls,
			 "fields", "notes");
}

/* One server in both: its fields that differ, the strongest class among them. */
static json_t *update(const char *name, json_t *want, json_t *have, const struct uh_fleet_opts *o)
{
	json_t *c = change(name, "update", "live"), *fl = json_object_get(c, "fields");
	enum cls worst = C_LIVE;
	int any = 0;

	for (size_t i = 0; i < N_FIELDS; i++) {
		json_t *w = json_object_get(want, fields[i].key), *h = json_object_get(have, fields[i].key);

		/* a key the file leaves out is left as it is (no diff from what the daemon
		 * computed or defaulted) */
		if (w == NULL || same(w, h, fields[i].cmp))
			continue;
		if (fields[i].cls == C_RECREATE) {
			json_array_append_new(json_object_get(c, "notes"),
					      json_sprintf("%s: applies on re-create only (cloud-init "
							   "reads it at the first boot)",
							   fields[i].key));
			continue;
		}
		json_array_append_new(fl, json_pack("{s:s, s:O?, s:O, s:s}", "field", fields[i].key,
						    "from", h, "to", w, "class",
						    class_name[fields[i].cls]));
		if (fields[i].cls > worst)
			worst = fields[i].cls;
		any = 1;
	}
	{
		const char *ws = json_string_value(json_object_get(want, "state"));
		const char *hs = json_string_value(json_object_get(have, "state"));

		if (ws && hs && strcmp(ws, hs) != 0) {
			json_array_append_new(fl, json_pack("{s:s, s:s, s:s, s:s}", "field", "state",
							    "from", hs, "to", ws, "class", "live"));
			any = 1;
		}
	}
	if (!any) {
		int notes = json_array_size(json_object_get(c, "notes")) > 0;

		if (!notes) {
			json_decref(c);
			return NULL;
		}
		json_object_set_new(c, "action", json_string("none"));
		json_object_set_new(c, "class", json_string("none"));
		return c;
	}
	json_object_set_new(c, "class", json_string(class_name[worst]));
	if (worst == C_REPLACE) {
		json_object_set_new(c, "action", json_string("replace"));
		if (!in_list(o->allow_replace, name))
			json_object_set_new(c, "blocked",
					    json_sprintf("replacing destroys its disk: --allow-replace %s",
							 name));
	}
	return c;
}

json_t *uh_fleet_plan(json_t *desired, json_t *current, const struct uh_fleet_opts *o)
{
	json_t *changes = json_array(), *want_servers = json_object_get(desired, "servers");
	json_t *have_servers = json_object_get(current, "servers"), *want, *have;
	json_t *renamed = json_object(); /* old names a rename takes */
	const char *name;
	size_t i;
	json_t *v;
	int pending = 0, blocked = 0;

	/* customers and networks the file names that the host lacks */
	json_array_foreach(json_object_get(desired, "customers"), i, v)
		if (!in_list(json_object_get(current, "customers"), json_string_value(v)))
			json_array_append_new(changes,
					      json_pack("{s:s, s:O, s:s, s:s}", "kind", "customer",
							"name", v, "action", "create", "class", "create"));
	json_object_foreach(json_object_get(desired, "networks"), name, want)
		if (json_object_get(json_object_get(current, "networks"), name) == NULL)
			json_array_append_new(changes,
					      json_pack("{s:s, s:s, s:s, s:s}", "kind", "network",
							"name", name, "action", "create", "class",
							"create"));
	json_object_foreach(want_servers, name, want) {
		const char *from = json_string_value(json_object_get(want, "renamed_from"));
		json_t *c;

		have = json_object_get(have_servers, name);
		if (have == NULL && from && json_object_get(renamed, from)) {
			/* two servers renamed from one: one of them gets it, the other is blocked */
			c = change(name, "create", "create");
			json_object_set_new(c, "blocked",
					    json_sprintf("%s is renamed_from %s, which another server of "
							 "the file already is: one of them",
							 name, from));
		} else if (have == NULL && from && json_object_get(have_servers, from) &&
			   json_object_get(want_servers, from) == NULL) {
			/* renamed: the same server (its disk) under a new name, then its fields */
			json_t *old = json_object_get(have_servers, from);
			const char *st = json_string_value(json_object_get(old, "state"));

			json_object_set_new(renamed, from, json_true());
			c = update(name, want, old, o);
			if (c == NULL)
				c = change(name, "rename", "live");
			if (strcmp(json_string_value(json_object_get(c, "class")), "none") == 0)
				json_object_set_new(c, "class", json_string("live"));
			/* a rename keeps the disk, a replace makes a new one: not both at once */
			if (strcmp(json_string_value(json_object_get(c, "action")), "replace") == 0)
				json_object_set_new(c, "blocked",
						    json_sprintf("a rename and a new template at once: "
								 "apply the rename first, then the "
								 "template (--allow-replace %s)",
								 name));
			/* its sockets and cgroup carry its name: a running one is stopped for it */
			if (st && strcmp(st, "running") == 0 &&
			    strcmp(json_string_value(json_object_get(c, "class")), "live") == 0) {
				json_object_set_new(c, "class", json_string("restart"));
				json_array_append_new(json_object_get(c, "notes"),
						      json_string("renaming a running server stops and "
								  "starts it"));
			}
			json_object_set_new(c, "action", json_string("rename"));
			json_object_set_new(c, "renamed_from", json_string(from));
		} else if (have == NULL) {
			c = change(name, "create", "create");
		} else if ((c = update(name, want, have, o)) == NULL) {
			continue;
		}
		json_object_set_new(c, "kind", json_string("server"));
		json_array_append_new(changes, c);
	}
	/* on the host, not in the file: only what the file once made goes, and only with --prune */
	json_object_foreach(have_servers, name, have) {
		json_t *c;

		if (json_object_get(want_servers, name) || json_object_get(renamed, name))
			continue;
		if (!json_is_true(json_object_get(have, "managed")))
			continue; /* the admin's own: left alone */
		c = change(name, "destroy", "destroy");
		json_object_set_new(c, "kind", json_string("server"));
		if (!o->prune)
			json_object_set_new(c, "blocked",
					    json_string("destroying needs --prune (it is not in the "
							"file any more)"));
		json_array_append_new(changes, c);
	}
	json_array_foreach(changes, i, v) {
		if (strcmp(json_string_value(json_object_get(v, "action")), "none") == 0)
			continue;
		pending++;
		blocked += json_object_get(v, "blocked") != NULL;
	}
	json_decref(renamed);
	return json_pack("{s:o, s:i, s:i}", "changes", changes, "pending", pending, "blocked",
			 blocked);
}
