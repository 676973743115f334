/* A request's instance, validated (instance_spec.h). The messages name the CLI's options: the
 * API's fields are named after them. */
#include "daemon/instance_spec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backup/target.h"
#include "daemon/daemon.h"
#include "kernel/args.h"
#include "util/timeutil.h"
#include "util/validate.h"

int uh_words_has(const char *list, const char *path)
{
	size_t n = strlen(path);
	const char *p = list;

	while ((p = strstr(p, path)) != NULL) {
		if ((p == list || p[-1] == ' ') && (p[n] == '\0' || p[n] == ' '))
			return 1;
		p += n;
	}
	return 0;
}

json_t *uh_words_json(const char *list)
{
	json_t *a = json_array();
	char *copy = strdup(list), *save = NULL, *w;

	if (copy == NULL)
		abort();
	for (w = strtok_r(copy, " ", &save); w; w = strtok_r(NULL, " ", &save))
		json_array_append_new(a, json_string(w));
	free(copy);
	return a;
}

static int memory(json_t *p, const char *name, const struct uh_instance_limits *lim,
		  struct uh_instance_rec *rec, struct uh_error *err)
{
	const char *m = json_string_value(json_object_get(p, "memory"));
	uint64_t bytes;
	char hs[32];

	if (m == NULL)
		bytes = lim->default_memory_mib << 20;
	else if (uh_parse_size(m, &bytes, err) < 0)
		return uh_err_prefix(err, "%s: --memory", name);
	uh_format_size(lim->host_memory_mib << 20, hs, sizeof(hs));
	if ((bytes >> 20) < lim->min_memory_mib || bytes % (1 << 20) != 0)
		return uh_errx(err, "%s: memory %s is below the minimum %luM (or not whole MiB); "
				    "UML does not boot with less",
			       name, m ? m : "?", (unsigned long)lim->min_memory_mib);
	if ((bytes >> 20) > lim->host_memory_mib)
		return uh_errx(err, "%s: memory %s exceeds the host's RAM + swap (%s)", name,
			       m ? m : "?", hs);
	rec->memory_mib = bytes >> 20;
	return 0;
}

/* "off", "default" (the daemon's reclaim_floor) or the floor itself: what reclaim leaves the
 * guest available. Under 8M a guest allocates into direct reclaim all the time; at its memory
 * or more nothing is ever reclaimed (say off). */
static int reclaim(json_t *p, const char *name, struct uh_instance_rec *rec, struct uh_error *err)
{
	json_t *j = json_object_get(p, "reclaim");
	const char *v = json_string_value(j);
	uint64_t bytes;
	struct uh_error e;

	if (j == NULL)
		return 0;
	if (v != NULL && strcmp(v, "off") == 0)
		rec->reclaim_mib = -1;
	else if (v != NULL && strcmp(v, "default") == 0)
		rec->reclaim_mib = 0;
	else if (v != NULL && uh_parse_size(v, &bytes, &e) == 0 && bytes >= (8ULL << 20) &&
		 (bytes >> 20) < rec->memory_mib)
		rec->reclaim_mib = (int)(bytes >> 20);
	else
		return uh_errx(err, "%s: --reclaim must be off, default or a floor from 8M to under "
				    "its memory (%lluM), not '%s'",
			       name, (unsigned long long)rec->memory_mib, v ? v : "(not a string)");
	return 0;
}

static int limits(json_t *p, const char *name, const struct uh_instance_limits *lim,
		  struct uh_instance_rec *rec, struct uh_error *err)
{
	const char *restart = json_string_value(json_object_get(p, "restart"));
	const char *q = json_string_value(json_object_get(p, "cpu_quota"));
	json_t *pm = json_object_get(p, "pids_max");

	if (restart == NULL)
		restart = "no";
	if (strcmp(restart, "no") != 0 && strcmp(restart, "on-failure") != 0 &&
	    strcmp(restart, "always") != 0)
		return uh_errx(err, "%s: --restart must be no, on-failure or always, not '%s'",
			       name, restart);
	snprintf(rec->restart, sizeof(rec->restart), "%s", restart);
	/* "50%" or "50" from the CLI, 50 from a fleet file */
	if (json_is_integer(json_object_get(p, "cpu_quota"))) {
		json_int_t v = json_integer_value(json_object_get(p, "cpu_quota"));

		if (v < 1 || v > 100 * lim->cpus)
			return uh_errx(err, "%s: --cpu-quota must be a percentage of one core from "
					    "1%% to %ld%%, not %lld",
				       name, 100 * lim->cpus, (long long)v);
		rec->cpu_quota_pct = (int)v;
	} else if (q != NULL) {
		char *end;
		long v = strtol(q, &end, 10);

		if (end == q || (*end != '%' && *end != '\0') || (*end == '%' && end[1]) || v < 1 ||
		    v > 100 * lim->cpus)
			return uh_errx(err, "%s: --cpu-quota must be a percentage of one core from "
					    "1%% to %ld%%, not '%s'",
				       name, 100 * lim->cpus, q);
		rec->cpu_quota_pct = (int)v;
	}
	if (reclaim(p, name, rec, err) < 0)
		return -1;
	if (pm != NULL) {
		if (!json_is_integer(pm) || json_integer_value(pm) < 16 ||
		    json_integer_value(pm) > (1 << 22))
			return uh_errx(err, "%s: --pids-max must be a number from 16 to %d", name,
				       1 << 22);
		rec->pids_max = (int)json_integer_value(pm);
	}
	return 0;
}

static int kernel(json_t *p, const char *name, struct uh_instance_spec *spec,
		  struct uh_error *err)
{
	const char *k = json_string_value(json_object_get(p, "kernel"));
	json_t *args = json_object_get(p, "kernel_args"), *a;
	struct uh_instance_rec *rec = &spec->rec;
	size_t idx;

	if (k != NULL) {
		if (uh_validate_name("kernel", k, err) < 0)
			return uh_err_prefix(err, "%s", name);
		snprintf(rec->kernel, sizeof(rec->kernel), "%s", k);
		spec->kernel_named = 1;
	}
	if (args != NULL && !json_is_array(args))
		return uh_errx(err, "%s: kernel_args must be an array", name);
	json_array_foreach(args, idx, a) {
		const char *s = json_string_value(a);
		size_t used = strlen(rec->kernel_args);

		if (s == NULL)
			return uh_errx(err, "%s: kernel_args must be strings", name);
		if (uh_kernel_arg_check(s, err) < 0)
			return uh_err_prefix(err, "%s", name);
		if (used + strlen(s) + 2 > sizeof(rec->kernel_args))
			return uh_errx(err, "%s: kernel arguments are too long", name);
		snprintf(rec->kernel_args + used, sizeof(rec->kernel_args) - used, "%s%s",
			 used ? " " : "", s);
	}
	return 0;
}

static int ssh_keys(json_t *p, const char *name, struct uh_instance_spec *spec,
		    struct uh_error *err)
{
	json_t *keys = json_object_get(p, "ssh_keys"), *k;
	size_t ki;

	if (keys != NULL && !json_is_array(keys))
		return uh_errx(err, "%s: ssh_keys must be an array", name);
	json_array_foreach(keys, ki, k)
		if (!json_is_string(k) || uh_seed_check_key(json_string_value(k), err) < 0)
			return uh_err_prefix(err, "%s", name);
	spec->ssh_keys = json_array_size(keys) ? keys : NULL;
	return 0;
}

static int backups(json_t *p, const char *name, struct uh_instance_rec *rec,
		   struct uh_error *err)
{
	const char *every = json_string_value(json_object_get(p, "backup_every"));
	const char *to = json_string_value(json_object_get(p, "backup_to"));
	json_t *keep = json_object_get(p, "backup_keep");
	struct uh_target bt;

	if (every && uh_parse_duration(every, &rec->backup_every_s) < 0)
		return uh_errx(err, "%s: --backup-every must be a duration like 24h, 30m or 10s, "
				    "not '%s'",
			       name, every);
	if (keep && (!json_is_integer(keep) || json_integer_value(keep) < 1 ||
		     json_integer_value(keep) > 10000))
		return uh_errx(err, "%s: --backup-keep must be a number from 1", name);
	if (keep && !every)
		return uh_errx(err, "%s: --backup-keep goes with --backup-every", name);
	if (to && !every)
		return uh_errx(err, "%s: --backup-to goes with --backup-every", name);
	if (to && (uh_target_parse(to, &bt, err) < 0 || strlen(to) >= sizeof(rec->backup_to)))
		return uh_err_prefix(err, "%s: --backup-to", name);
	snprintf(rec->backup_to, sizeof(rec->backup_to), "%s", to ? to : "");
	rec->backup_keep = keep ? (int)json_integer_value(keep) : 0;
	return 0;
}

static int disks(json_t *p, const char *name, struct uh_instance_rec *rec, struct uh_error *err)
{
	const char *swap = json_string_value(json_object_get(p, "swap"));
	json_t *list = json_object_get(p, "disks"), *dv;
	size_t di;
	uint64_t sb;

	if (swap) {
		if (uh_parse_size(swap, &sb, err) < 0)
			return uh_err_prefix(err, "%s: --swap", name);
		if (sb < (16ULL << 20) || sb > (64ULL << 30) || sb % (1 << 20))
			return uh_errx(err, "%s: --swap must be whole MiB from 16M to 64G", name);
		rec->swap_mib = sb >> 20;
	}
	if (list != NULL && !json_is_array(list))
		return uh_errx(err, "%s: disks must be an array", name);
	if (json_array_size(list) > 8)
		return uh_errx(err, "%s: at most 8 --disk", name);
	json_array_foreach(list, di, dv) {
		const char *path = json_string_value(dv);
		size_t used = strlen(rec->disks);

		if (path == NULL || path[0] != '/' || strchr(path, ' ') || strchr(path, ',') ||
		    strchr(path, ':'))
			return uh_errx(err, "%s: --disk needs an absolute path without spaces, "
					    "commas or colons",
				       name);
		if (uh_words_has(rec->disks, path))
			return uh_errx(err, "%s: --disk %s is given twice", name, path);
		if (used + strlen(path) + 2 > sizeof(rec->disks))
			return uh_errx(err, "%s: too many --disk paths", name);
		snprintf(rec->disks + used, sizeof(rec->disks) - used, "%s%s", used ? " " : "",
			 path);
	}
	return 0;
}

int uh_instance_spec_parse(json_t *p, int flat, const struct uh_instance_limits *lim,
			   struct uh_instance_spec *spec, struct uh_error *err)
{
	const char *name = json_string_value(json_object_get(p, "name"));
	const char *tpl = json_string_value(json_object_get(p, "template"));
	json_t *tv = json_object_get(p, "template_version");
	struct uh_instance_rec *rec = &spec->rec;

	memset(spec, 0, sizeof(*spec));
	if (!json_is_object(p))
		return uh_errx(err, "create: the request is not a JSON object");
	if (name == NULL)
		return uh_errx(err, "create: a name is required");
	if (uh_validate_name("instance", name, err) < 0)
		return -1;
	snprintf(rec->name, sizeof(rec->name), "%s", name);
	if (tpl == NULL && !flat)
		return uh_errx(err, "%s: --template is required", name);
	if (tpl && uh_validate_name("template", tpl, err) < 0)
		return uh_err_prefix(err, "%s", name);
	snprintf(rec->template_name, sizeof(rec->template_name), "%s", tpl ? tpl : "");
	if (tv && (!json_is_integer(tv) || json_integer_value(tv) < 0 ||
		   json_integer_value(tv) > 1000000))
		return uh_errx(err, "%s: template_version must be a version number", name);
	spec->template_version = (int)json_integer_value(tv);
	if (memory(p, name, lim, rec, err) < 0 || limits(p, name, lim, rec, err) < 0 ||
	    kernel(p, name, spec, err) < 0 || ssh_keys(p, name, spec, err) < 0 ||
	    backups(p, name, rec, err) < 0 || disks(p, name, rec, err) < 0)
		return -1;
	{
		json_t *ov = json_object_get(p, "owner");
		const char *owner = json_string_value(ov);

		if (ov && owner == NULL)
			return uh_errx(err, "%s: --owner must be a customer's name", name);
		if (owner && uh_validate_name("customer", owner, err) < 0)
			return uh_err_prefix(err, "%s: --owner", name);
		snprintf(rec->owner, sizeof(rec->owner), "%s", owner ? owner : "provider");
	}
	rec->autostart = json_is_true(json_object_get(p, "autostart"));
	spec->network = json_string_value(json_object_get(p, "network"));
	spec->ip = json_string_value(json_object_get(p, "ip"));
	return 0;
}

json_t *uh_reclaim_json(int reclaim_mib)
{
	return reclaim_mib < 0 ? json_string("off") : json_sprintf("%dM", reclaim_mib);
}
