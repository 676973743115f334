/* The fleet file against this host (issue 18): the host's servers in the file's own shape,
 * the plan from one to the other (src/fleet does the reading and the diff), the revision a
 * saved plan is tied to, and the export (today's state as a fleet file, so that a plan of it
 * is empty). Apply comes next; until then no server is "managed", so a plan never proposes
 * to destroy one.
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

/* "a b c" -> ["a", "b", "c"] */
static json_t *words(const char *s)
{
	json_t *a = json_array();
	char *copy = strdup(s), *save = NULL, *w;

	if (copy == NULL)
		abort();
	for (w = strtok_r(copy, " ", &save); w; w = strtok_r(NULL, " ", &save))
		json_array_append_new(a, json_string(w));
	free(copy);
	return a;
}

static json_t *server_of(const struct uh_instance *i)
{
	const struct uh_instance_rec *r = &i->rec;
	json_t *o = json_pack("{s:s, s:i, s:s, s:s, s:s, s:s, s:b, s:s}", "template",
			      r->template_name, "template_version",
			      r->template_version ? r->template_version : 1, "memory",
			      "", "kernel", r->kernel, "owner", r->owner[0] ? r->owner : "provider",
			      "restart", r->restart[0] ? r->restart : "no", "autostart", r->autostart,
			      "state", uh_instance_active(i) ? "running" : "stopped");

	json_object_set_new(o, "memory", json_sprintf("%lluM", (unsigned long long)r->memory_mib));
	if (r->swap_mib)
		json_object_set_new(o, "swap", json_sprintf("%lluM", (unsigned long long)r->swap_mib));
	if (r->network[0])
		json_object_set_new(o, "network", json_string(r->network));
	if (r->ip[0])
		json_object_set_new(o, "ip", json_string(r->ip));
	if (r->kernel_args[0])
		json_object_set_new(o, "kernel_args", words(r->kernel_args));
	if (r->disks[0])
		json_object_set_new(o, "disks", words(r->disks));
	if (r->cpu_quota_pct)
		json_object_set_new(o, "cpu_quota", json_integer(r->cpu_quota_pct));
	if (r->pids_max)
		json_object_set_new(o, "pids_max", json_integer(r->pids_max));
	if (r->backup_every_s) {
		json_object_set_new(o, "backup_every",
				    json_sprintf("%llds", (long long)r->backup_every_s));
		json_object_set_new(o, "backup_keep", json_integer(r->backup_keep));
	}
	if (r->backup_to[0])
		json_object_set_new(o, "backup_to", json_string(r->backup_to));
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

/* Every server's name, record revision and state, hashed: any write to any record (a stop,
 * a chown, a create) moves it. */
void uh_fleet_revision(struct uh_daemon *d, char out[17])
{
	struct sha256_ctx h;
	uint8_t digest[SHA256_DIGEST_SIZE];
	char **lines = calloc((size_t)d->n_instances + 1, sizeof(*lines));
	int n = 0;

	if (lines == NULL)
		abort();
	for (struct uh_instance *i = d->instances; i && n < d->n_instances; i = i->next)
		if (asprintf(&lines[n++], "%s %lld %s\n", i->rec.name, (long long)i->rec.rev,
			     uh_state_name(i->state)) < 0)
			abort();
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

int uh_fleet_plan_request(struct uh_daemon *d, json_t *params, json_t **out, struct uh_error *err)
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
	*out = uh_fleet_plan(want, have, &o);
	uh_fleet_revision(d, rev);
	json_object_set_new(*out, "revision", json_string(rev));
	json_decref(want);
	json_decref(have);
	return 0;
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
			fprintf(f, "    %s: ", k);
			literal(f, v);
			fputc('\n', f);
		}
	}
	fclose(f);
	json_decref(cur);
	return buf;
}
