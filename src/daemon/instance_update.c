/* A server's settings changed in place, and its rename (daemon.h). The fleet file's apply is
 * the caller: it stops a running server for the settings that need a restart, calls these,
 * and starts it again.
 *
 * The result is checked by the same typed spec as create (instance_spec.c): the record is
 * written out as create's request, the changes laid over it, and the whole parsed again, so a
 * value create refuses is refused here with the same words. Then what needs the host (the
 * kernel, the data disks, the address, the customer) is checked, the files are made, and the
 * record is written once: all or nothing. */
#include "daemon/customer.h"
#include "daemon/daemon.h"
#include "daemon/instance_spec.h"
#include "util/cleanup.h"
#include "util/fileio.h"
#include "util/log.h"
#include "util/validate.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *const live_keys[] = {"owner",	"restart",     "autostart",
					"cpu_quota",	"pids_max",    "reclaim",
					"backup_every", "backup_keep", "backup_to"};
static const char *const restart_keys[] = {"memory", "swap",	"kernel", "kernel_args",
					   "network", "ip", "disks"};

static int in(const char *key, const char *const *keys, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(key, keys[i]) == 0)
			return 1;
	return 0;
}

#define IN(key, keys) in(key, keys, sizeof(keys) / sizeof(keys[0]))

int uh_instance_update_live(const char *key)
{
	return IN(key, live_keys);
}

json_t *uh_instance_as_request(const struct uh_instance_rec *r)
{
	json_t *p = json_pack("{s:s, s:s?, s:i, s:s, s:o, s:s, s:b, s:o}", "name", r->name,
			      "template", r->template_name[0] ? r->template_name : NULL,
			      "template_version", r->template_version ? r->template_version : 1,
			      "restart", r->restart[0] ? r->restart : "no", "memory",
			      json_sprintf("%lluM", (unsigned long long)r->memory_mib), "owner",
			      r->owner[0] ? r->owner : "provider", "autostart", r->autostart,
			      "kernel_args", uh_words_json(r->kernel_args));

	json_object_set_new(p, "disks", uh_words_json(r->disks));
	/* an empty list is no list (the fleet file leaves it out) */
	if (r->kernel_args[0] == '\0')
		json_object_del(p, "kernel_args");
	if (r->disks[0] == '\0')
		json_object_del(p, "disks");
	if (r->swap_mib)
		json_object_set_new(p, "swap", json_sprintf("%lluM", (unsigned long long)r->swap_mib));
	if (r->cpu_quota_pct)
		json_object_set_new(p, "cpu_quota", json_integer(r->cpu_quota_pct));
	if (r->pids_max)
		json_object_set_new(p, "pids_max", json_integer(r->pids_max));
	if (r->reclaim_mib)
		json_object_set_new(p, "reclaim", uh_reclaim_json(r->reclaim_mib));
	if (r->backup_every_s) {
		json_object_set_new(p, "backup_every",
				    json_sprintf("%llds", (long long)r->backup_every_s));
		if (r->backup_keep)
			json_object_set_new(p, "backup_keep", json_integer(r->backup_keep));
		if (r->backup_to[0])
			json_object_set_new(p, "backup_to", json_string(r->backup_to));
	}
	return p;
}

/* What a changed cgroup limit needs on a running kernel: written to its cgroup now. */
static int apply_limits(struct uh_instance *inst, struct uh_error *err)
{
	struct uh_cgroup_limits lim = {
		.memory_bytes = uh_cgroup_memory_for(inst->rec.memory_mib),
		.cpu_weight = 100,
		.cpu_quota_pct = (uint32_t)inst->rec.cpu_quota_pct,
		.pids_max = (uint32_t)(inst->rec.pids_max ? inst->rec.pids_max
							  : inst->d->cfg.pids_max),
		.io_weight = 100,
	};

	if (!inst->have_cg)
		return 0;
	return uh_cgroup_create(&inst->cg, &lim, err);
}

/* The swap disk of the new size is made beside the old one (swap.img.new) and takes its place
 * only once the record says so (swap_commit); until then the old one stands. */
static int swap_prepare(struct uh_instance *inst, uint64_t want, struct uh_error *err)
{
	char path[PATH_MAX + 16];
	uint64_t was = inst->rec.swap_mib;
	int r;

	snprintf(path, sizeof(path), "%.4000s/swap.img.new", inst->dir);
	unlink(path); /* a leftover of a crash */
	if (want == 0)
		return 0;
	inst->rec.swap_mib = want;
	r = uh_instance_make_swap(inst, "swap.img.new", err);
	inst->rec.swap_mib = was;
	if (r < 0)
		unlink(path);
	return r;
}

static void swap_commit(struct uh_instance *inst, int keep)
{
	char path[PATH_MAX + 16], new[PATH_MAX + 16];

	snprintf(path, sizeof(path), "%.4000s/swap.img", inst->dir);
	snprintf(new, sizeof(new), "%.4000s/swap.img.new", inst->dir);
	if (!keep) {
		unlink(new);
		return;
	}
	if (inst->rec.swap_mib ? rename(new, path) < 0 : unlink(path) < 0 && errno != ENOENT)
		uh_warnx("%s: swap disk %s: %s (the record says %lluM; the file is as it was)",
			 inst->rec.name, path, strerror(errno),
			 (unsigned long long)inst->rec.swap_mib);
}

/* Data disks it no longer has go back to root: its uid may become the next server's. */
static void give_back_disks(struct uh_instance *inst, const char *was)
{
	char list[2048], *path, *save = NULL;
	struct uh_error err;

	snprintf(list, sizeof(list), "%s", was);
	for (path = strtok_r(list, " ", &save); path; path = strtok_r(NULL, " ", &save)) {
		if (!uh_words_has(inst->rec.disks, path)) {
			uh_autoclose int fd = uh_data_disk_open(inst->d, inst->rec.name, path, &err);

			if (fd < 0 || fchown(fd, 0, 0) < 0)
				uh_warnx("%s: could not give data disk %s back to root: %s",
					 inst->rec.name, path, fd < 0 ? err.msg : strerror(errno));
		}
	}
}

static void describe(char *out, size_t len, json_t *changes)
{
	const char *k;
	json_t *v;
	size_t used = 0;

	out[0] = '\0';
	json_object_foreach(changes, k, v) {
		char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);

		if (used < len)
			used += (size_t)snprintf(out + used, len - used, "%s%s %.200s",
						 used ? ", " : "", k, s ? s : "?");
		free(s);
	}
}

int uh_instance_update(struct uh_daemon *d, const char *name, json_t *changes, int dry_run,
		       struct uh_error *err)
{
	struct uh_instance *inst = uh_instance_find(d, name);
	struct uh_instance_limits lim = {d->cfg.default_memory_mib, d->cfg.min_memory_mib,
					 uh_host_memory_mib(), sysconf(_SC_NPROCESSORS_ONLN)};
	struct uh_instance_spec spec;
	struct uh_instance_rec was, rec;
	uh_autojson json_t *req = NULL;
	const char *k, *owner = NULL;
	json_t *v;
	int restart_class = 0, net_changed, swap_changed;
	char what[1024];

	if (inst == NULL)
		return uh_errc(err, ENOENT, "no instance named '%s'", name);
	if (!json_is_object(changes))
		return uh_errx(err, "%s: the changes are not a JSON object", name);
	json_object_foreach(changes, k, v) {
		if (IN(k, restart_keys))
			restart_class = 1;
		else if (!IN(k, live_keys))
			return uh_errc(err, EINVAL, "%s: %s cannot be changed in place%s", name, k,
				       strcmp(k, "template") == 0 || strcmp(k, "template_version") == 0
					       ? " (a new template is a new disk: replace it)"
					       : "");
	}
	if (inst->ops != NULL && !dry_run)
		return uh_errc(err, EBUSY, "%s: an operation is in progress; try again after it",
			       name);
	/* its disk claimed (a backup, a resize): settings of the record alone may change */
	if (restart_class && uh_instance_claimed(inst, err) < 0)
		return uh_err_prefix(err, "%s: update", name);
	if (restart_class && !dry_run && (uh_instance_active(inst) || inst->rec.pid > 0))
		return uh_errc(err, EBUSY, "%s: memory, swap, kernel, network and disks change only "
					   "while it is stopped",
			       name);

	/* the whole, as create would have it */
	req = uh_instance_as_request(&inst->rec);
	json_object_update(req, changes);
	if (uh_instance_spec_parse(req, inst->rec.flat, &lim, &spec, err) < 0)
		return -1;
	if (json_object_get(changes, "kernel")) {
		char kpath[PATH_MAX];

		if (uh_kernel_resolve(d, spec.rec.kernel, kpath, sizeof(kpath), err) < 0 ||
		    uh_kernel_check_usable(d, spec.rec.kernel, err) < 0)
			return uh_err_prefix(err, "%s", name);
	}
	if (json_object_get(changes, "disks") &&
	    uh_instance_check_disks(d, name, spec.rec.disks, err) < 0)
		return -1;
	owner = json_string_value(json_object_get(changes, "owner"));
	if (owner && strcmp(owner, "provider") != 0 && uh_customer_check(d, owner, err) < 0)
		return uh_err_prefix(err, "%s", name);

	was = inst->rec;
	rec = inst->rec;
	rec.memory_mib = spec.rec.memory_mib;
	snprintf(rec.restart, sizeof(rec.restart), "%s", spec.rec.restart);
	rec.autostart = spec.rec.autostart;
	rec.cpu_quota_pct = spec.rec.cpu_quota_pct;
	rec.pids_max = spec.rec.pids_max;
	rec.reclaim_mib = spec.rec.reclaim_mib;
	if (json_object_get(changes, "kernel"))
		snprintf(rec.kernel, sizeof(rec.kernel), "%s", spec.rec.kernel);
	snprintf(rec.kernel_args, sizeof(rec.kernel_args), "%s", spec.rec.kernel_args);
	snprintf(rec.disks, sizeof(rec.disks), "%s", spec.rec.disks);
	if (rec.backup_every_s != spec.rec.backup_every_s)
		rec.backup_last = time(NULL); /* the next one an interval from now */
	rec.backup_every_s = spec.rec.backup_every_s;
	rec.backup_keep = spec.rec.backup_keep;
	snprintf(rec.backup_to, sizeof(rec.backup_to), "%s", spec.rec.backup_to);
	snprintf(rec.owner, sizeof(rec.owner), "%s", spec.rec.owner);

	/* the address: its own is free for it again while a new one is picked */
	net_changed = json_object_get(changes, "network") || json_object_get(changes, "ip");
	if (net_changed) {
		const char *net = spec.network ? spec.network : was.network[0] ? was.network : NULL;

		inst->rec.ip[0] = inst->rec.tap[0] = '\0';
		if (uh_network_assign(d, &rec, net, spec.ip, err) < 0) {
			inst->rec = was;
			return uh_err_prefix(err, "%s", name);
		}
		inst->rec = was;
	}
	if (dry_run)
		return 0;
	swap_changed = spec.rec.swap_mib != was.swap_mib;
	if (swap_changed && swap_prepare(inst, spec.rec.swap_mib, err) < 0)
		return -1;
	rec.swap_mib = spec.rec.swap_mib;
	inst->rec = rec;
	if ((json_object_get(changes, "disks") && inst->rec.uid > 0 &&
	     uh_instance_give_disks(inst, err) < 0) ||
	    uh_instance_write(inst, err) < 0) {
		uh_err_prefix(err, "%s: update", name);
		if (swap_changed)
			swap_commit(inst, 0);
		rec = inst->rec;
		inst->rec = was;
		inst->rec.rev = rec.rev;
		/* disks just given to its uid that the record does not list go back */
		if (json_object_get(changes, "disks") && inst->rec.uid > 0)
			give_back_disks(inst, rec.disks);
		return -1;
	}
	if (swap_changed)
		swap_commit(inst, 1);
	if (json_object_get(changes, "disks") && inst->rec.uid > 0)
		give_back_disks(inst, was.disks);
	/* limits a running kernel feels at once; a failure here is said, the record stands
	 * (it applies at the next start) */
	if (uh_instance_active(inst) && apply_limits(inst, err) < 0)
		uh_warnx("%s: the new limits apply at the next start: %s", name, err->msg);
	describe(what, sizeof(what), changes);
	if (strcmp(was.owner, inst->rec.owner) != 0)
		/* the host's event, not the server's (as chown): neither customer learns the
		 * other's name */
		uh_daemon_event(d, "-", "owner-changed", "%s: %s -> %s", name,
				was.owner[0] ? was.owner : "provider", inst->rec.owner);
	uh_daemon_event(d, name, "updated", "%s", what);
	return 0;
}

int uh_instance_rename(struct uh_daemon *d, const char *from, const char *to,
		       struct uh_error *err)
{
	struct uh_instance *inst = uh_instance_find(d, from), **pp;
	struct uh_instance_rec was;
	char olddir[PATH_MAX], oldrun[PATH_MAX], disk[PATH_MAX];
	const char *base;

	if (inst == NULL)
		return uh_errc(err, ENOENT, "no instance named '%s'", from);
	if (uh_validate_name("instance", to, err) < 0)
		return uh_err_prefix(err, "rename %s", from);
	if (uh_instance_find(d, to))
		return uh_errc(err, EEXIST, "rename %s: instance '%s' already exists", from, to);
	if (inst->ops != NULL || uh_instance_active(inst) || inst->rec.pid > 0)
		return uh_errc(err, EBUSY, "rename %s: it must be stopped (and no operation running)",
			       from);
	if (uh_instance_claimed(inst, err) < 0)
		return uh_err_prefix(err, "rename %s", from);
	was = inst->rec;
	snprintf(olddir, sizeof(olddir), "%s", inst->dir);
	snprintf(oldrun, sizeof(oldrun), "%s", inst->run_dir);
	snprintf(inst->rec.name, sizeof(inst->rec.name), "%s", to);
	if (uh_instance_paths(inst, err) < 0) {
		inst->rec = was;
		uh_instance_paths(inst, err);
		return -1;
	}
	base = strrchr(was.disk, '/');
	snprintf(disk, sizeof(disk), "%.4000s/%.64s", inst->dir, base ? base + 1 : "disk.cow");
	/* the directory first (a leftover of a crashed create may sit at the new name), then
	 * the record: a crash in between leaves the directory at the new name and the record at
	 * the old, which the next start names */
	uh_rm_tree(inst->dir);
	if (rename(olddir, inst->dir) < 0) {
		uh_err(err, errno, "rename %s: move %s", from, olddir);
		goto fail;
	}
	inst->rec = was;
	if (uh_store_instance_rename(d->store, &inst->rec, to, disk, err) < 0) {
		if (rename(inst->dir, olddir) < 0)
			uh_warnx("rename %s: could not move %s back: %s", from, inst->dir,
				 strerror(errno));
		goto fail;
	}
	snprintf(inst->rec.name, sizeof(inst->rec.name), "%s", to);
	snprintf(inst->rec.disk, sizeof(inst->rec.disk), "%s", disk);
	uh_rm_tree(oldrun);
	/* the list stays sorted by name */
	for (pp = &d->instances; *pp != inst; pp = &(*pp)->next)
		;
	*pp = inst->next;
	for (pp = &d->instances; *pp && strcmp((*pp)->rec.name, to) < 0; pp = &(*pp)->next)
		;
	inst->next = *pp;
	*pp = inst;
	uh_daemon_event(d, to, "renamed", "from %s (its disk, address and uid kept)", from);
	return 0;
fail:
	inst->rec = was;
	{
		struct uh_error ignored;

		uh_instance_paths(inst, &ignored);
	}
	return -1;
}
