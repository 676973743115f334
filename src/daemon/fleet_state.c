/* The fleet file against this host (issue 18): the host's servers in the file's own shape,
 * the plan from one to the other (src/fleet does the reading and the diff), the revision a
 * saved plan is tied to, and the export (today's state as a fleet file, so that a plan of it
 * is empty). fleet_apply.c carries a plan out.
 *
 * The export writes every value as a JSON literal (double-quoted strings, [..] lists): JSON
 * is valid YAML, so no quoting rule of YAML's own can bite (a name like "yes", "0x10" or "~"
 * stays a string). */
#include "daemon/customer.h"
#include "daemon/daemon.h"
#include "fleet/fleet.h"
#include "fleet/plan.h"

#include <errno.h>
#include <nettle/sha2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A server in the file's shape: create's request (instance_update.c) with the kernel it runs,
 * its address and its state. */
static json_t *server_of(const struct uh_instance *i)
{
	const struct uh_instance_rec *r = &i->rec;
	json_t *o = uh_instance_as_request(r);

	json_object_del(o, "name");
	json_object_set_new(o, "kernel", json_string(r->kernel));
	json_object_set_new(o, "state", json_string(uh_instance_active(i) ? "running" : "stopped"));
	if (r->network[0])
		json_object_set_new(o, "network", json_string(r->network));
	if (r->ip[0])
		json_object_set_new(o, "ip", json_string(r->ip));
	/* not a key of the file: the plan's own (only what a file made may be destroyed) */
	if (r->managed)
		json_object_set_new(o, "managed", json_true());
	return o;
}

json_t *uh_fleet_current(struct uh_daemon *d, struct uh_error *err)
{
	json_t *servers = json_object(), *networks = json_object(), *customers = json_array();
	json_t *list, *v;
	size_t k;

	for (struct uh_instance *i = d->instances; i; i = i->next)
		json_object_set_new(servers, i->rec.name, server_of(i));
	if ((list = uh_network_list(d, err)) == NULL)
		goto fail;
	json_array_foreach(list, k, v)
		json_object_set_new(networks, json_string_value(json_object_get(v, "name")),
				    json_deep_copy(v));
	json_decref(list);
	if ((list = uh_customer_list(d, err)) == NULL)
		goto fail;
	json_array_foreach(list, k, v)
		json_array_append(customers, json_object_get(v, "name"));
	json_decref(list);
	return json_pack("{s:o, s:o, s:o}", "servers", servers, "networks", networks, "customers",
			 customers);
fail:
	json_decref(servers);
	json_decref(networks);
	json_decref(customers);
	return NULL;
}

static int by_string(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every server's name and settings in the file's shape (with its state and the managed mark),
 * hashed: whatever a plan compares moves it (a stop, a chown, a create, a memory change), and
 * nothing else does (the record's own revision moves with every traffic sample, which would
 * make a saved plan stale within half a minute). */
void uh_fleet_revision(struct uh_daemon *d, char out[17])
{
	struct sha256_ctx h;
	uint8_t digest[SHA256_DIGEST_SIZE];
	char **lines = calloc((size_t)d->n_instances + 1, sizeof(*lines));
	int n = 0;

	if (lines == NULL)
		abort();
	for (struct uh_instance *i = d->instances; i && n < d->n_instances; i = i->next) {
		json_t *s = server_of(i);
		char *text = json_dumps(s, JSON_SORT_KEYS | JSON_COMPACT);

		if (text == NULL || asprintf(&lines[n++], "%s %s\n", i->rec.name, text) < 0)
			abort();
		free(text);
		json_decref(s);
	}
	qsort(lines, (size_t)n, sizeof(*lines), by_string);
	sha256_init(&h);
	for (int k = 0; k < n; k++) {
		sha256_update(&h, strlen(lines[k]), (const uint8_t *)lines[k]);
		free(lines[k]);
	}
	free(lines);
	sha256_digest(&h, sizeof(digest), digest);
	for (int k = 0; k < 8; k++)
		snprintf(out + 2 * k, 3, "%02x", digest[k]);
}

static void count(json_t *plan, const char *key)
{
	json_object_set_new(plan, key, json_integer(json_integer_value(json_object_get(plan, key)) + 1));
}

/* The templates the file names that this host lacks (at the version it wants): apply does
 * not build them (a Debian build takes minutes and the mirror), it says what to run; and a
 * server to be made over one is blocked, named, so that the rest goes on. */
static void missing_templates(struct uh_daemon *d, json_t *want, json_t *plan)
{
	const char *name;
	json_t *t, *changes = json_object_get(plan, "changes");
	size_t k;

	json_array_foreach(changes, k, t) {
		const char *action = json_string_value(json_object_get(t, "action"));
		json_t *s = json_object_get(json_object_get(want, "servers"),
					    json_string_value(json_object_get(t, "server")) ?: "");
		const char *tpl = json_string_value(json_object_get(s, "template"));
		int version = (int)json_integer_value(json_object_get(s, "template_version"));
		struct uh_template_rec rec;
		struct uh_error e;

		/* a replace that names only a version: over the template the server has now */
		if (tpl == NULL && s != NULL) {
			struct uh_instance *inst =
				uh_instance_find(d, json_string_value(json_object_get(t, "server")));

			tpl = inst && inst->rec.template_name[0] ? inst->rec.template_name : NULL;
		}

		if (s == NULL || tpl == NULL || json_object_get(t, "blocked") ||
		    (strcmp(action, "create") != 0 && strcmp(action, "replace") != 0) ||
		    uh_store_template_get(d->store, tpl, version, &rec, &e) == 0)
			continue;
		json_object_set_new(t, "blocked",
				    version ? json_sprintf("template %s version %d is not on this "
							   "host (umlhost template import or build)",
							   tpl, version)
					    : json_sprintf("template %s is not on this host (umlhost "
							   "template import or build)",
							   tpl));
		count(plan, "blocked");
	}

	json_object_foreach(json_object_get(want, "templates"), name, t) {
		json_t *v = json_object_get(t, "version");
		int version = json_is_integer(v) ? (int)json_integer_value(v) : 0;
		struct uh_template_rec rec;
		struct uh_error e;

		if (uh_store_template_get(d->store, name, version, &rec, &e) == 0)
			continue;
		json_array_append_new(
			changes,
			json_pack("{s:s, s:s, s:s, s:s, s:o}", "kind", "template", "name", name,
				  "action", "missing", "class", "create", "blocked",
				  version ? json_sprintf("template %s version %d is not on this host "
							 "(umlhost template import or build)",
							 name, version)
					  : json_sprintf("template %s is not on this host (umlhost "
							 "template import or build)",
							 name)));
		count(plan, "pending");
		count(plan, "blocked");
	}
}

int uh_fleet_plan_make(struct uh_daemon *d, json_t *params, json_t **want_out, json_t **plan,
		       struct uh_error *err)
{
	const char *text = json_string_value(json_object_get(params, "text"));
	const char *file = json_string_value(json_object_get(params, "file"));
	struct uh_fleet_opts o = {json_is_true(json_object_get(params, "prune")),
				  json_object_get(params, "allow_replace")};
	json_t *want, *have;
	char rev[17];

	if (text == NULL)
		return uh_errc(err, EINVAL, "a plan needs the fleet file's text");
	if (o.allow_replace && !json_is_array(o.allow_replace))
		return uh_errc(err, EINVAL, "allow_replace: a list of server names");
	want = uh_fleet_parse(text, json_string_length(json_object_get(params, "text")),
			      file ? file : "fleet", err);
	if (want == NULL) {
		err->errnum = EINVAL;
		return -1;
	}
	have = uh_fleet_current(d, err);
	if (have == NULL) {
		json_decref(want);
		return -1;
	}
	*plan = uh_fleet_plan(want, have, &o);
	missing_templates(d, want, *plan);
	uh_fleet_revision(d, rev);
	json_object_set_new(*plan, "revision", json_string(rev));
	json_decref(have);
	if (want_out)
		*want_out = want;
	else
		json_decref(want);
	return 0;
}

int uh_fleet_plan_request(struct uh_daemon *d, json_t *params, json_t **out, struct uh_error *err)
{
	return uh_fleet_plan_make(d, params, NULL, out, err);
}

/* ---- export */

static void literal(FILE *f, json_t *v)
{
	char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);

	if (s == NULL)
		abort();
	fputs(s, f);
	free(s);
}

char *uh_fleet_export(struct uh_daemon *d, size_t *len, struct uh_error *err)
{
	json_t *cur = uh_fleet_current(d, err), *v, *s;
	const char *name, *k;
	char *buf = NULL, rev[17];
	int first = 1;
	size_t i;
	FILE *f;

	if (cur == NULL)
		return NULL;
	f = open_memstream(&buf, len);
	if (f == NULL)
		abort();
	uh_fleet_revision(d, rev);
	fprintf(f, "# umlhost export: this host's servers as a fleet file (state revision %s).\n"
		   "# `umlhost plan` of it on this host plans nothing.\n", rev);
	fputs("customers: [", f);
	json_array_foreach(json_object_get(cur, "customers"), i, v) {
		if (strcmp(json_string_value(v), "provider") == 0)
			continue;
		fputs(first ? "" : ", ", f);
		literal(f, v);
		first = 0;
	}
	fputs("]\nnetworks:\n", f);
	json_object_foreach(json_object_get(cur, "networks"), name, s) {
		static const char *const keys[] = {"mode", "pool", "uplink", "bridge", "gateway"};

		fprintf(f, "  %s:\n", name);
		for (size_t n = 0; n < sizeof(keys) / sizeof(keys[0]); n++) {
			v = json_object_get(s, keys[n]);
			if (!json_is_string(v) || json_string_length(v) == 0)
				continue;
			fprintf(f, "    %s: ", keys[n]);
			literal(f, v);
			fputc('\n', f);
		}
	}
	fputs("servers:\n", f);
	json_object_foreach(json_object_get(cur, "servers"), name, s) {
		fprintf(f, "  %s:\n", name);
		json_object_foreach(s, k, v) {
			if (strcmp(k, "managed") == 0)
				continue;
			fprintf(f, "    %s: ", k);
			literal(f, v);
			fputc('\n', f);
		}
	}
	fclose(f);
	json_decref(cur);
	return buf;
}
