/* Online backups (first part of issue 7): flush, freeze for milliseconds, snapshot only the
 * instance's own disk (its COW, or its private image), resume, then archive outside the
 * freeze. The order on the 6.1 kernel: `sysrq s` first and wait until the guest says
 * "Emergency Sync complete" (a sysrq sent after mconsole `stop` is only queued: the stopped
 * kernel runs nothing but mconsole), then `stop`, the snapshot (FICLONE where the filesystem
 * can, else an extent copy), `go` — always, also when the snapshot failed. */
#include "backup/archive.h"
#include "daemon/daemon.h"
#include "mconsole/mconsole_client.h"
#include "util/fileio.h"
#include "util/log.h"
#include "util/sparse_copy.h"
#include "util/timeutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define SYNC_WAIT_MS 10000

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait until the console log, after `from`, holds `text`. */
static int wait_console(const char *log, off_t from, const char *text, int timeout_ms)
{
	int64_t end = mono_ms() + timeout_ms;
	char buf[8192];

	do {
		int fd = open(log, O_RDONLY | O_CLOEXEC);
		struct stat st;

		if (fd >= 0 && fstat(fd, &st) == 0 && st.st_size > from) {
			off_t start = st.st_size - from > (off_t)sizeof(buf) - 1
					      ? st.st_size - (off_t)sizeof(buf) + 1
					      : from;
			ssize_t n = uh_pread_full(fd, buf, (size_t)(st.st_size - start), start);

			buf[n > 0 ? n : 0] = '\0';
			if (strstr(buf, text)) {
				close(fd);
				return 0;
			}
		}
		if (fd >= 0)
			close(fd);
		usleep(10 * 1000);
	} while (mono_ms() < end);
	return -1;
}

/* The snapshot: a reflink when the filesystem has them (3-5 ms for 10 GiB, measured), else
 * the data extents only. */
static int snapshot(const char *src, const char *dst, int *reflinked, struct uh_error *err)
{
	int in = open(src, O_RDONLY | O_CLOEXEC), out = -1, ret = -1;
	struct stat st;

	*reflinked = 0;
	if (in < 0 || fstat(in, &st) < 0) {
		uh_err(err, errno, "snapshot: open %s", src);
		goto out;
	}
	out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (out < 0) {
		uh_err(err, errno, "snapshot: create %s", dst);
		goto out;
	}
	if (ioctl(out, FICLONE, in) == 0) {
		*reflinked = 1;
		ret = 0;
		goto out;
	}
	if (ftruncate(out, st.st_size) < 0 ||
	    uh_copy_data_extents(in, out, (uint64_t)st.st_size, err) < 0) {
		if (errno)
			uh_err(err, errno, "snapshot: copy %s", src);
		goto out;
	}
	ret = 0;
out:
	if (in >= 0)
		close(in);
	if (out >= 0)
		close(out);
	if (ret < 0)
		unlink(dst);
	return ret;
}

int uh_backup_create(struct uh_daemon *d, const char *name, const char *to, json_t **out,
		     struct uh_error *err)
{
	struct uh_instance *inst = uh_instance_find(d, name);
	struct uh_mc_client *mc = NULL;
	struct uh_mc_result res = {0};
	char dir[PATH_MAX], archive[PATH_MAX + 64], snap[PATH_MAX + 32], stamp[32];
	char sha[UH_SHA256_HEX], tsha[UH_SHA256_HEX] = "";
	struct uh_template_rec t;
	struct stat st;
	struct tm tm;
	time_t now = time(NULL);
	int64_t t0 = 0, t1 = 0;
	int running, reflinked = 0, frozen = 0, ret = -1;
	uint64_t bytes = 0;
	json_t *extra = NULL, *def = NULL;
	char *deftext = NULL;

	if (inst == NULL)
		return uh_errc(err, ENOENT, "no instance named '%s'", name);
	if (inst->ops != NULL)
		return uh_errc(err, EBUSY, "%s is busy (%s); try again", name, inst->rec.state);
	running = inst->rec.pid > 0 && strcmp(inst->rec.state, "running") == 0;
	if (to && to[0] != '/')
		return uh_errx(err, "backup %s: --to needs an absolute directory", name);
	if (to)
		snprintf(dir, sizeof(dir), "%s", to);
	else
		snprintf(dir, sizeof(dir), "%.4000s/backups/%s", d->cfg.state_dir, name);
	if (uh_mkdirs(dir, 0700, err) < 0)
		return uh_err_prefix(err, "backup %s", name);
	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
	snprintf(archive, sizeof(archive), "%s/%s-%s.tar.zst", dir, name, stamp);
	if (stat(archive, &st) == 0)
		return uh_errc(err, EEXIST, "backup %s: %s exists (one backup a second)", name,
			       archive);
	/* the snapshot beside the disk: same filesystem, so a reflink can work */
	snprintf(snap, sizeof(snap), "%.4000s/backup-snapshot.tmp", inst->dir);
	unlink(snap);

	if (running) {
		off_t from = stat(inst->log_path, &st) == 0 ? st.st_size : 0;

		if (uh_mc_client_new(inst->mconsole, inst->run_dir, &mc, err) < 0)
			return uh_err_prefix(err, "backup %s", name);
		if (uh_mc_command(mc, "sysrq s", 2000, &res, err) < 0 || res.err) {
			if (res.err)
				uh_errx(err, "backup %s: sysrq s: %s", name, res.text ? res.text : "ERR");
			goto out;
		}
		uh_mc_result_clear(&res);
		if (wait_console(inst->log_path, from, "Emergency Sync complete", SYNC_WAIT_MS) < 0) {
			uh_errc(err, ETIMEDOUT, "backup %s: the guest did not finish its sync within %d s",
				name, SYNC_WAIT_MS / 1000);
			goto out;
		}
		t0 = mono_ms();
		if (uh_mc_command(mc, "stop", 2000, &res, err) < 0 || res.err) {
			if (res.err)
				uh_errx(err, "backup %s: stop: %s", name, res.text ? res.text : "ERR");
			goto out;
		}
		uh_mc_result_clear(&res);
		frozen = 1;
	}
	if (snapshot(inst->rec.disk, snap, &reflinked, err) < 0) {
		uh_err_prefix(err, "backup %s", name);
		goto resume;
	}
	ret = 0;
resume:
	if (frozen) {
		/* whatever happened, the instance runs again */
		for (int k = 0; k < 5; k++) {
			struct uh_error gerr;

			if (uh_mc_command(mc, "go", 2000, &res, &gerr) == 0 && !res.err)
				break;
			uh_warnx("%s: go after the backup's freeze: %s", name,
				 res.err ? res.text : gerr.msg);
			uh_mc_result_clear(&res);
		}
		uh_mc_result_clear(&res);
		t1 = mono_ms();
	}
	if (ret < 0)
		goto out;
	ret = -1;

	/* outside the freeze: the archive */
	if (!inst->rec.flat &&
	    uh_store_template_get(d->store, inst->rec.template_name,
				  inst->rec.template_version ? inst->rec.template_version : 1, &t,
				  err) == 0 &&
	    uh_backup_file_sha256(t.path, tsha, err) < 0)
		goto out;
	def = uh_instance_json(inst);
	deftext = json_dumps(def, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	extra = json_pack("{s:s, s:s?, s:i, s:s?, s:I, s:b, s:s}", "instance", name, "template",
			  inst->rec.flat ? NULL : inst->rec.template_name, "template_version",
			  inst->rec.template_version, "template_sha256",
			  tsha[0] ? tsha : NULL, "freeze_ms", (json_int_t)(t1 - t0), "reflink",
			  reflinked, "created_at", stamp);
	{
		struct uh_backup_member m[2] = {
			{.name = inst->rec.flat ? "disk.img" : "disk.cow", .path = snap},
			{.name = "instance.json", .text = deftext},
		};

		if (uh_backup_write(archive, m, 2, extra, sha, &bytes, err) < 0) {
			uh_err_prefix(err, "backup %s", name);
			goto out;
		}
	}
	uh_daemon_event(d, name, "backup", "%s: %llu bytes, freeze %lld ms%s", archive,
			(unsigned long long)bytes, (long long)(t1 - t0),
			reflinked ? " (reflink)" : "");
	*out = json_pack("{s:s, s:I, s:I, s:s, s:b}", "archive", archive, "freeze_ms",
			 (json_int_t)(t1 - t0), "bytes", (json_int_t)bytes, "sha256", sha,
			 "reflink", reflinked);
	ret = 0;
out:
	if (ret < 0)
		uh_daemon_event(d, name, "backup-failed", "%s", err->msg);
	unlink(snap);
	uh_mc_result_clear(&res);
	uh_mc_client_free(mc);
	json_decref(extra);
	json_decref(def);
	free(deftext);
	return ret;
}

static const char *dirname_of(const char *path, char *buf, size_t len)
{
	char *slash;

	snprintf(buf, len, "%s", path);
	slash = strrchr(buf, '/');
	if (slash)
		*slash = '\0';
	return buf;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int uh_backup_verify(struct uh_daemon *d, const char *archive, json_t **out, struct uh_error *err)
{
	json_t *man = NULL;

	if (archive == NULL || archive[0] != '/')
		return uh_errx(err, "backup verify: an absolute archive path is needed");
	if (uh_backup_read(archive, NULL, &man, err) < 0)
		return -1;
	*out = json_pack("{s:s, s:b, s:o}", "archive", archive, "ok", 1, "manifest", man);
	return 0;
}

static void list_dir(const char *dir, const char *instance, json_t *arr)
{
	DIR *dp = opendir(dir);
	struct dirent *de;

	while (dp && (de = readdir(dp)) != NULL) {
		char p[PATH_MAX * 3];
		struct stat st;
		size_t n = strlen(de->d_name);

		if (n < 9 || strcmp(de->d_name + n - 8, ".tar.zst") != 0)
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
		if (stat(p, &st) < 0)
			continue;
		json_array_append_new(arr, json_pack("{s:s, s:s, s:I, s:I}", "instance", instance,
						     "archive", p, "bytes", (json_int_t)st.st_size,
						     "mtime", (json_int_t)st.st_mtime));
	}
	if (dp)
		closedir(dp);
}

json_t *uh_backup_list(struct uh_daemon *d, const char *name)
{
	json_t *arr = json_array();
	char base[PATH_MAX], dir[PATH_MAX * 2];
	DIR *dp;
	struct dirent *de;

	snprintf(base, sizeof(base), "%.4000s/backups", d->cfg.state_dir);
	dp = opendir(base);
	while (dp && (de = readdir(dp)) != NULL) {
		if (de->d_name[0] == '.' || (name && strcmp(name, de->d_name) != 0))
			continue;
		snprintf(dir, sizeof(dir), "%s/%s", base, de->d_name);
		list_dir(dir, de->d_name, arr);
	}
	if (dp)
		closedir(dp);
	return arr;
}

/* Restore an archive as a new instance (its name, or `as`): verified first, then created like
 * `create` would (own uid; the same template version, refused by name when it is missing; a
 * fresh address in the same network if that still exists), and its disk replaced by the one
 * from the archive. Nothing is left when any step fails. */
int uh_backup_restore(struct uh_daemon *d, const char *archive, const char *as, json_t **out,
		      struct uh_error *err)
{
	char tmp[PATH_MAX], p[PATH_MAX * 2], disk[PATH_MAX * 2];
	json_t *man = NULL, *def = NULL, *params = NULL, *created = NULL;
	const char *name, *tpl, *diskname;
	struct uh_instance *inst;
	int flat, ret = -1;

	if (archive == NULL || archive[0] != '/')
		return uh_errx(err, "backup restore: an absolute archive path is needed");
	snprintf(tmp, sizeof(tmp), "%.4000s/instances/.restore-XXXXXX", d->cfg.state_dir);
	if (uh_mkdirs(dirname_of(tmp, p, sizeof(p)), 0750, err) < 0 || mkdtemp(tmp) == NULL)
		return uh_err(err, errno, "backup restore: temp dir under %s/instances",
			      d->cfg.state_dir);
	if (uh_backup_read(archive, tmp, &man, err) < 0)
		goto out;
	snprintf(p, sizeof(p), "%s/instance.json", tmp);
	def = json_load_file(p, 0, NULL);
	name = as ? as : json_string_value(json_object_get(man, "instance"));
	tpl = json_string_value(json_object_get(man, "template"));
	flat = json_object_get(json_object_get(man, "members"), "disk.img") != NULL;
	diskname = flat ? "disk.img" : "disk.cow";
	if (def == NULL || name == NULL || (!flat && tpl == NULL)) {
		uh_errx(err, "backup restore: %s has no instance definition", archive);
		goto out;
	}
	inst = uh_instance_find(d, name);
	if (inst != NULL) {
		if (inst->rec.pid > 0)
			uh_errc(err, EBUSY, "backup restore: %s is running; it is not overwritten "
					    "(stop and delete it, or restore --as another name)",
				name);
		else
			uh_errc(err, EEXIST, "backup restore: instance %s exists (delete it, or "
					     "restore --as another name)",
				name);
		goto out;
	}
	if (flat) {
		uh_errx(err, "backup restore: archives of flattened disks cannot be restored yet");
		goto out;
	}
	params = json_pack("{s:s, s:s, s:I, s:I}", "name", name, "template", tpl,
			   "template_version",
			   json_integer_value(json_object_get(man, "template_version")), "memory_mib",
			   json_integer_value(json_object_get(def, "memory_mib")));
	{
		char mem[32];
		const char *kernel = json_string_value(json_object_get(def, "kernel"));
		const char *net = json_string_value(json_object_get(def, "network"));
		char kpath[PATH_MAX];
		struct uh_network_rec n;
		struct uh_error e2;

		snprintf(mem, sizeof(mem), "%lldM",
			 (long long)json_integer_value(json_object_get(def, "memory_mib")));
		json_object_set_new(params, "memory", json_string(mem));
		if (kernel && uh_kernel_resolve(d, kernel, kpath, sizeof(kpath), &e2) == 0)
			json_object_set_new(params, "kernel", json_string(kernel));
		if (net && uh_store_network_get(d->store, net, &n, &e2) == 0)
			json_object_set_new(params, "network", json_string(net));
		json_object_set(params, "kernel_args", json_object_get(def, "kernel_args"));
	}
	if (uh_instance_create(d, params, &created, err) < 0) {
		uh_err_prefix(err, "backup restore");
		goto out;
	}
	inst = uh_instance_find(d, name);
	/* the archive's disk replaces the fresh one, owned like it */
	snprintf(p, sizeof(p), "%s/%s", tmp, diskname);
	snprintf(disk, sizeof(disk), "%s", inst->rec.disk);
	if ((inst->rec.uid > 0 &&
	     (chown(p, (uid_t)inst->rec.uid, (gid_t)inst->rec.uid) < 0 || chmod(p, 0600) < 0)) ||
	    rename(p, disk) < 0) {
		struct uh_error e2;

		uh_err(err, errno, "backup restore: put %s in place", disk);
		uh_instance_submit(d, name, UH_OP_DELETE, 0, 1, NULL, NULL);
		(void)e2;
		goto out;
	}
	uh_daemon_event(d, name, "restored", "from %s", archive);
	*out = uh_instance_json(inst);
	ret = 0;
out:
	uh_rm_tree(tmp);
	json_decref(man);
	json_decref(def);
	json_decref(params);
	json_decref(created);
	return ret;
}

int uh_backup_prune(struct uh_daemon *d, const char *name, int keep, json_t **out,
		    struct uh_error *err)
{
	json_t *all, *removed = json_array(), *b;
	size_t i, n;

	if (keep < 1)
		return uh_errx(err, "backup prune: --keep must be at least 1");
	all = uh_backup_list(d, name);
	/* archive names carry a UTC timestamp: name order is age order */
	n = json_array_size(all);
	{
		const char **paths = calloc(n + 1, sizeof(*paths));

		if (paths == NULL)
			abort();
		json_array_foreach(all, i, b)
			paths[i] = json_string_value(json_object_get(b, "archive"));
		qsort(paths, n, sizeof(*paths), cmp_str);
		for (i = 0; i + (size_t)keep < n; i++) {
			if (unlink(paths[i]) < 0) {
				uh_err(err, errno, "backup prune: remove %s", paths[i]);
				free(paths);
				json_decref(all);
				json_decref(removed);
				return -1;
			}
			json_array_append_new(removed, json_string(paths[i]));
		}
		free(paths);
	}
	json_decref(all);
	uh_daemon_event(d, name, "backup-pruned", "kept %d, removed %zu", keep,
			json_array_size(removed));
	*out = json_pack("{s:s, s:i, s:o}", "instance", name, "kept", keep, "removed", removed);
	return 0;
}

/* ---- schedules: checked every second (a loop over the instances), each backup as events */

static void schedule_due(void *arg)
{
	struct uh_daemon *d = arg;
	struct uh_instance *i;
	time_t now = time(NULL);

	for (i = d->instances; i; i = i->next) {
		struct uh_error err;
		json_t *out = NULL;
		char name[UH_KEY_MAX];

		if (i->rec.backup_every_s <= 0 || now - i->rec.backup_last < i->rec.backup_every_s ||
		    i->ops != NULL)
			continue;
		snprintf(name, sizeof(name), "%s", i->rec.name);
		i->rec.backup_last = now;
		if (uh_store_instance_put(d->store, &i->rec, &err) < 0)
			uh_warnx("%s: %s", name, err.msg);
		/* create records its own event (backup / backup-failed) */
		if (uh_backup_create(d, name, NULL, &out, &err) == 0) {
			json_decref(out);
			out = NULL;
			if (i->rec.backup_keep > 0 &&
			    uh_backup_prune(d, name, i->rec.backup_keep, &out, &err) < 0)
				uh_warnx("%s: %s", name, err.msg);
			json_decref(out);
		}
	}
	d->backup_timer = uh_loop_after(d->loop, 1000, schedule_due, d);
}

void uh_backup_schedule_init(struct uh_daemon *d)
{
	d->backup_timer = uh_loop_after(d->loop, 1000, schedule_due, d);
}
