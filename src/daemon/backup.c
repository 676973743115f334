/* Online backups: flush, freeze for milliseconds, snapshot only the instance's own disk (its
 * COW, or its private image), resume, then archive outside the freeze. The order on the 6.1
 * kernel: `sysrq s` first and wait until the guest says "Emergency Sync complete" (a sysrq
 * sent after mconsole `stop` is only queued: the stopped kernel runs nothing but mconsole)
 * and its disk is quiet (QUIET_MS below), then `stop`, the snapshot (FICLONE where the filesystem can, else an extent copy), `go` —
 * always, also when the snapshot failed.
 *
 * Everything that reads or writes an archive (compress, hash, upload over SFTP, verify,
 * extract) runs in the helper `umlhost-backup` as a job: the daemon's loop only waits for
 * the guest's sync (polled on a timer) and holds the freeze, and the daemon never maps
 * libarchive, zstd, nettle or libssh. A job answers its requester (an API call, or the
 * schedule) once, when the helper's result is in. */
#include "backup/target.h"
#include "daemon/backup_job.h"
#include "util/cleanup.h"
#include "util/fileio.h"
#include "util/log.h"
#include "util/sparse_copy.h"
#include "util/timeutil.h"
#include "util/validate.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>


#define SYNC_WAIT_MS 10000
#define SYNC_POLL_MS 10
/* After the guest's "Emergency Sync complete" its journal commit may still be on its way to
 * the disk: the 6.1 kernel's emergency sync calls ext4's sync_fs without waiting, and ubd
 * writes the commit block only after a flush. A freeze in between snapshots a transaction
 * without its commit block, and the journal replay of the restored disk drops it: the
 * files written just before the backup are gone (e2e_backup saw that 1 time in 4). So the
 * freeze waits until the disk file has not changed (mtime, size, blocks) for QUIET_MS, or
 * QUIET_MAX_MS have passed (a guest that never stops writing is frozen as it is: what any
 * crash would leave). */
#define QUIET_MS 150
#define QUIET_MAX_MS 3000

/* delete --force: the backup being made of the instance ends (its claim's cancel hook) */
static void create_cancel(void *arg)
{
	struct uh_backup_job *j = arg;
	struct uh_error err;

	uh_errc(&err, ECANCELED, "backup %s: cancelled: the instance is being deleted", j->name);
	uh_backup_job_fail(j, &err);
}

/* ---- create */

static void default_dir(struct uh_daemon *d, const char *name, char *out, size_t len)
{
	snprintf(out, len, "%.4000s/backups/%s", d->cfg.state_dir, name);
}

/* One spelling per place (no trailing '/', no ":22"): archives are recorded by name. */
static void canonical(struct uh_target *t, char *out, size_t len)
{
	size_t n = strlen(t->path);

	while (n > 1 && t->path[n - 1] == '/')
		t->path[--n] = '\0';
	uh_target_format(t, t->path, out, len);
}

/* Has the console log, after `from`, printed `text`? */
static int console_has(const char *log, off_t from, const char *text)
{
	char buf[8192];

	return uh_read_tail(log, from, buf, sizeof(buf)) > 0 && strstr(buf, text) != NULL;
}

/* The snapshot: a reflink when the filesystem has them (3-5 ms for 10 GiB, measured), else
 * the data extents only. */
static int snapshot(const char *src, const char *dst, int *reflinked, struct uh_error *err)
{
	uh_autoclose int in = open(src, O_RDONLY | O_CLOEXEC);
	uh_autoclose int out = -1;
	int ret = -1;
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
	errno = 0;
	if (ftruncate(out, st.st_size) < 0 ||
	    uh_copy_data_extents(in, out, (uint64_t)st.st_size, err) < 0) {
		if (errno)
			uh_err(err, errno, "snapshot: copy %s", src);
		goto out;
	}
	ret = 0;
out:
	if (ret < 0)
		unlink(dst);
	return ret;
}

static void create_archived(struct uh_backup_job *j, json_t *res);
static int prune_spawn(struct uh_backup_job *j, int keep, struct uh_error *err);

/* Write the helper's inputs (the definition, the manifest's additions) and start it. */
static int create_spawn(struct uh_backup_job *j, struct uh_instance *inst, struct uh_error *err)
{
	struct uh_daemon *d = j->d;
	char defp[PATH_MAX + 32], extrap[PATH_MAX + 32];
	char member[PATH_MAX + 48], defarg[PATH_MAX + 48];
	char tpl[PATH_MAX], stamp[32];
	struct uh_template_rec t;
	uh_autojson json_t *def = uh_instance_json(inst);
	uh_autojson json_t *extra = NULL;
	const char *args[16];
	int n = 0, r;
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
	tpl[0] = '\0';
	if (!inst->rec.flat &&
	    uh_store_template_get(d->store, inst->rec.template_name,
				  inst->rec.template_version ? inst->rec.template_version : 1, &t,
				  err) == 0)
		snprintf(tpl, sizeof(tpl), "%s", t.path);
	if (!inst->rec.flat) {
		snprintf(j->tpl_name, sizeof(j->tpl_name), "%s", inst->rec.template_name);
		j->tpl_version = inst->rec.template_version ? inst->rec.template_version : 1;
	}
	extra = json_pack("{s:s, s:s?, s:i, s:I, s:I, s:b, s:s}", "instance", j->name, "template",
			  inst->rec.flat ? NULL : inst->rec.template_name, "template_version",
			  inst->rec.template_version, "freeze_ms", (json_int_t)j->freeze_ms,
			  "freeze_us", (json_int_t)j->freeze_us, "reflink", j->reflinked,
			  "created_at", stamp);
	uh_backup_job_path(j, "instance.json", defp, sizeof(defp));
	uh_backup_job_path(j, "extra.json", extrap, sizeof(extrap));
	r = json_dump_file(def, defp, JSON_INDENT(2) | JSON_PRESERVE_ORDER) < 0 ||
	    json_dump_file(extra, extrap, JSON_COMPACT) < 0;
	if (r)
		return uh_err(err, errno, "backup %s: write %s", j->name, j->work);
	snprintf(member, sizeof(member), "%s=%s", inst->rec.flat ? "disk.img" : "disk.cow",
		 j->snap);
	snprintf(defarg, sizeof(defarg), "instance.json=%s", defp);
	args[n++] = "--member";
	args[n++] = member;
	args[n++] = "--member";
	args[n++] = defarg;
	args[n++] = "--extra";
	args[n++] = extrap;
	if (tpl[0]) {
		args[n++] = "--template";
		args[n++] = tpl;
	}
	args[n++] = "write";
	args[n++] = j->target;
	args[n] = NULL;
	return uh_backup_job_spawn(j, args, create_archived, err);
}

/* Freeze, snapshot, resume; then the archive in the helper. */
static void create_freeze(struct uh_backup_job *j)
{
	struct uh_instance *inst = uh_instance_find(j->d, j->name);
	uh_automc_result struct uh_mc_result res = {0};
	struct uh_error err;
	int64_t t0 = 0;
	int frozen = 0, ok = 0;

	if (inst == NULL) {
		uh_errc(&err, ENOENT, "backup %s: the instance is gone", j->name);
		goto fail;
	}
	if (j->mc) {
		t0 = uh_now_us();
		if (uh_mc_command(j->mc, "stop", 2000, &res, &err) < 0 || res.err) {
			struct uh_error gerr;

			if (res.err)
				uh_errx(&err, "backup %s: stop: %s", j->name,
					res.text ? res.text : "ERR");
			/* a stop that timed out is still queued in the guest: without a go
			 * after it, the guest would stay frozen once it runs */
			uh_mc_result_clear(&res);
			if (err.errnum == ETIMEDOUT &&
			    (uh_mc_command(j->mc, "go", 2000, &res, &gerr) < 0 || res.err))
				uh_warnx("%s: go after a stop that timed out: %s", j->name,
					 res.err ? (res.text ? res.text : "ERR") : gerr.msg);
			goto fail;
		}
		uh_mc_result_clear(&res);
		frozen = 1;
	}
	if (snapshot(inst->rec.disk, j->snap, &j->reflinked, &err) < 0)
		uh_err_prefix(&err, "backup %s", j->name);
	else
		ok = 1;
	if (frozen) {
		/* whatever happened, the instance runs again */
		for (int k = 0; k < 5; k++) {
			struct uh_error gerr;

			if (uh_mc_command(j->mc, "go", 2000, &res, &gerr) == 0 && !res.err)
				break;
			uh_warnx("%s: go after the backup's freeze: %s", j->name,
				 res.err ? res.text : gerr.msg);
			uh_mc_result_clear(&res);
		}
		j->freeze_us = uh_now_us() - t0;
		j->freeze_ms = (j->freeze_us + 999) / 1000;
	}
	uh_mc_client_free(j->mc);
	j->mc = NULL;
	if (ok && create_spawn(j, inst, &err) == 0)
		return;
fail:
	uh_backup_job_fail(j, &err);
}

static void create_sync_poll(void *arg)
{
	struct uh_backup_job *j = arg;
	struct uh_instance *inst = uh_instance_find(j->d, j->name);
	struct uh_error err;

	j->timer = NULL;
	if (inst && !j->synced && console_has(inst->log_path, j->log_from, "Emergency Sync complete")) {
		j->synced = 1;
		j->quiet_since = uh_now_ms();
		j->quiet_deadline = j->quiet_since + QUIET_MAX_MS;
		if (stat(inst->rec.disk, &j->disk_seen) < 0)
			memset(&j->disk_seen, 0, sizeof(j->disk_seen));
	}
	if (inst && j->synced) {
		struct stat st;
		int64_t now = uh_now_ms();

		if (stat(inst->rec.disk, &st) == 0 &&
		    (st.st_mtim.tv_sec != j->disk_seen.st_mtim.tv_sec ||
		     st.st_mtim.tv_nsec != j->disk_seen.st_mtim.tv_nsec ||
		     st.st_size != j->disk_seen.st_size || st.st_blocks != j->disk_seen.st_blocks)) {
			j->disk_seen = st;
			j->quiet_since = now;
		}
		if (now - j->quiet_since >= QUIET_MS || now >= j->quiet_deadline) {
			create_freeze(j);
			return;
		}
		j->timer = uh_loop_after(j->d->loop, SYNC_POLL_MS, create_sync_poll, j);
		return;
	}
	if (inst == NULL || uh_now_ms() > j->sync_deadline) {
		uh_errc(&err, inst ? ETIMEDOUT : ENOENT,
			inst ? "backup %s: the guest did not finish its sync within %d s"
			     : "backup %s: the instance is gone",
			j->name, SYNC_WAIT_MS / 1000);
		uh_backup_job_fail(j, &err);
		return;
	}
	j->timer = uh_loop_after(j->d->loop, SYNC_POLL_MS, create_sync_poll, j);
}

static void create_archived(struct uh_backup_job *j, json_t *res)
{
	struct uh_error err;
	json_t *out;

	if (!json_is_true(json_object_get(res, "ok"))) {
		uh_backup_result_err(res, &err);
		uh_backup_job_fail(j, &err);
		return;
	}
	{
		struct uh_backup_rec b = {0};

		/* remembered: template rm must know what it would make unrestorable */
		snprintf(b.archive, sizeof(b.archive), "%s", j->target);
		snprintf(b.instance, sizeof(b.instance), "%s", j->name);
		snprintf(b.template_name, sizeof(b.template_name), "%s", j->tpl_name);
		b.template_version = j->tpl_version;
		b.bytes = (uint64_t)json_integer_value(json_object_get(res, "bytes"));
		snprintf(b.sha256, sizeof(b.sha256), "%s",
			 json_string_value(json_object_get(res, "sha256")) ?: "");
		b.freeze_us = j->freeze_us;
		b.created = time(NULL);
		snprintf(b.owner, sizeof(b.owner), "%s", j->owner);
		if (uh_store_backup_put(j->d->store, &b, &err) < 0)
			uh_warnx("%s: %s", j->name, err.msg);
	}
	uh_daemon_event(j->d, j->name, "backup", "%s: %lld bytes, freeze %lld ms%s", j->target,
			(long long)json_integer_value(json_object_get(res, "bytes")),
			(long long)j->freeze_ms, j->reflinked ? " (reflink)" : "");
	out = json_pack("{s:s, s:s, s:I, s:I, s:O, s:O, s:b}", "instance", j->name, "archive",
			j->target, "freeze_ms", (json_int_t)j->freeze_ms, "freeze_us",
			(json_int_t)j->freeze_us, "bytes",
			json_object_get(res, "bytes"), "sha256", json_object_get(res, "sha256"),
			"reflink", j->reflinked);
	if (j->scheduled) {
		struct uh_instance *inst = uh_instance_find(j->d, j->name);

		j->out = out;
		if (inst && inst->rec.backup_keep > 0 &&
		    prune_spawn(j, inst->rec.backup_keep, &err) == 0)
			return;
		j->out = NULL;
	}
	uh_backup_job_finish(j, NULL, out);
}

void uh_backup_create(struct uh_daemon *d, const char *name, const char *to, int scheduled,
		      uh_done_fn done, void *ctx)
{
	struct uh_instance *inst = uh_instance_find(d, name);
	struct uh_backup_job *j = NULL;
	uh_automc_result struct uh_mc_result res = {0};
	struct uh_target t;
	struct uh_error err;
	struct stat st;
	char dir[PATH_MAX], stamp[32];
	time_t now = time(NULL);
	struct tm tm;
	int status = 0;

	if (inst == NULL) {
		uh_errc(&err, ENOENT, "no instance named '%s'", name);
		goto fail;
	}
	if (inst->ops != NULL) {
		uh_errc(&err, EBUSY, "%s is busy (%s); try again", name, uh_state_name(inst->state));
		goto fail;
	}
	if (uh_instance_claimed(inst, &err) < 0)
		goto fail;
	if (to && uh_target_parse(to, &t, &err) < 0) {
		uh_err_prefix(&err, "backup %s: --to", name);
		status = 400;
		goto fail;
	}
	if (to)
		canonical(&t, dir, sizeof(dir));
	else
		default_dir(d, name, dir, sizeof(dir));
	if (!uh_target_is_remote(dir) && uh_mkdirs(dir, 0700, &err) < 0) {
		uh_err_prefix(&err, "backup %s", name);
		goto fail;
	}
	j = uh_backup_job_new(d, "create", done, ctx, &err);
	if (j == NULL)
		goto fail;
	j->scheduled = scheduled;
	snprintf(j->name, sizeof(j->name), "%s", name);
	snprintf(j->owner, sizeof(j->owner), "%s", inst->rec.owner);
	/* the snapshot lives in the instance's directory: no delete, flatten or resize under it */
	if (uh_instance_claim(inst, UH_CLAIM_BACKUP, create_cancel, j, &err) < 0)
		goto fail;
	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
	snprintf(j->dir, sizeof(j->dir), "%s", dir);
	snprintf(j->target, sizeof(j->target), "%.3900s/%s-%s" UH_ARCHIVE_SUFFIX, dir, name, stamp);
	if (!uh_target_is_remote(dir) && stat(j->target, &st) == 0) {
		uh_errc(&err, EEXIST, "backup %s: %s exists (one backup a second)", name,
			j->target);
		goto fail;
	}
	/* the snapshot beside the disk: the same filesystem, so a reflink can work */
	snprintf(j->snap, sizeof(j->snap), "%.4000s/backup-snapshot.tmp", inst->dir);
	unlink(j->snap);
	if (!(inst->rec.pid > 0 && inst->state == UH_STATE_RUNNING)) {
		create_freeze(j); /* nothing runs: nothing to flush or freeze */
		return;
	}
	j->log_from = stat(inst->log_path, &st) == 0 ? st.st_size : 0;
	if (uh_mc_client_new(inst->mconsole, inst->run_dir, &j->mc, &err) < 0) {
		uh_err_prefix(&err, "backup %s", name);
		goto fail;
	}
	if (uh_mc_command(j->mc, "sysrq s", 2000, &res, &err) < 0 || res.err) {
		if (res.err)
			uh_errx(&err, "backup %s: sysrq s: %s", name, res.text ? res.text : "ERR");
		goto fail;
	}
	j->sync_deadline = uh_now_ms() + SYNC_WAIT_MS;
	j->timer = uh_loop_after(d->loop, SYNC_POLL_MS, create_sync_poll, j);
	return;
fail:
	if (status == 400)
		err.errnum = EINVAL;
	if (j) {
		uh_backup_job_fail(j, &err);
		return;
	}
	if (done)
		done(ctx, &err, NULL);
	if (inst) {
		uh_daemon_event(d, name, "backup-failed", "%s", err.msg);
		inst->backup_failures++;
	}
}

/* ---- list and prune (the local default directory) */

static void list_dir(const char *dir, const char *instance, json_t *arr)
{
	uh_autoclosedir DIR *dp = opendir(dir);
	struct dirent *de;

	while (dp && (de = readdir(dp)) != NULL) {
		char p[PATH_MAX * 3];
		struct stat st;
		size_t n = strlen(de->d_name);

		/* a temp file of a running backup starts with '.' */
		if (de->d_name[0] == '.' || n < 9 ||
		    strcmp(de->d_name + n - strlen(UH_ARCHIVE_SUFFIX), UH_ARCHIVE_SUFFIX) != 0)
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
		if (stat(p, &st) < 0)
			continue;
		json_array_append_new(arr, json_pack("{s:s, s:s, s:I, s:I}", "instance", instance,
						     "archive", p, "bytes", (json_int_t)st.st_size,
						     "mtime", (json_int_t)st.st_mtime));
	}
}

struct list_ctx {
	json_t *arr;
	const char *name;
};

static int has_archive(json_t *arr, const char *archive)
{
	size_t i;
	json_t *b;

	json_array_foreach(arr, i, b)
		if (strcmp(json_string_value(json_object_get(b, "archive")), archive) == 0)
			return 1;
	return 0;
}

/* Recorded backups elsewhere (--to, --backup-to, SFTP), unless a local one is gone. */
static int list_recorded(const struct uh_backup_rec *b, void *arg)
{
	struct list_ctx *c = arg;
	struct stat st;

	if ((c->name && strcmp(c->name, b->instance) != 0) || has_archive(c->arr, b->archive) ||
	    (!uh_target_is_remote(b->archive) && stat(b->archive, &st) < 0))
		return 0;
	json_array_append_new(c->arr, json_pack("{s:s, s:s, s:I, s:I}", "instance", b->instance,
						"archive", b->archive, "bytes",
						(json_int_t)b->bytes, "mtime",
						(json_int_t)b->created));
	return 0;
}

/* ---- a customer's view: the backups of one server made while its owner had it */

struct owned_ctx {
	const struct uh_instance *inst;
	const char *id;	  /* find: this one */
	char *archive;	  /* and its path here */
	size_t len;
	json_t *arr;	  /* list */
};

void uh_backup_archive_id(const char *archive, char *id, size_t len)
{
	const char *base = strrchr(archive, '/') ? strrchr(archive, '/') + 1 : archive;
	size_t n = strlen(base), s = strlen(UH_ARCHIVE_SUFFIX);

	if (n > s && strcmp(base + n - s, UH_ARCHIVE_SUFFIX) == 0)
		n -= s;
	snprintf(id, len, "%.*s", (int)n, base);
}

static int owned_one(const struct uh_backup_rec *b, void *arg)
{
	struct owned_ctx *c = arg;
	const char *owner = c->inst->rec.owner[0] ? c->inst->rec.owner : "provider";
	char id[UH_KEY_MAX + 32];
	struct stat st;

	/* another server's, one made under another owner (or before owners were recorded),
	 * or a local archive that is gone: not this customer's to see */
	if (strcmp(b->instance, c->inst->rec.name) != 0 || strcmp(b->owner, owner) != 0 ||
	    (!uh_target_is_remote(b->archive) && stat(b->archive, &st) < 0))
		return 0;
	uh_backup_archive_id(b->archive, id, sizeof(id));
	if (c->id) {
		if (strcmp(id, c->id) != 0)
			return 0;
		snprintf(c->archive, c->len, "%s", b->archive);
		return 1;
	}
	json_array_append_new(c->arr, json_pack("{s:s, s:I, s:I, s:s, s:s}", "id", id, "created",
						(json_int_t)b->created, "bytes",
						(json_int_t)b->bytes, "sha256", b->sha256,
						"location",
						uh_target_is_remote(b->archive) ? "remote" : "local"));
	return 0;
}

json_t *uh_backup_list_owned(struct uh_daemon *d, const struct uh_instance *inst,
			     struct uh_error *err)
{
	struct owned_ctx c = {inst, NULL, NULL, 0, json_array()};

	if (uh_store_backup_list(d->store, owned_one, &c, err) < 0) {
		json_decref(c.arr);
		return NULL;
	}
	return c.arr;
}

int uh_backup_find_owned(struct uh_daemon *d, const struct uh_instance *inst, const char *id,
			 char *archive, size_t len, struct uh_error *err)
{
	struct owned_ctx c = {inst, id, archive, len, NULL};

	archive[0] = '\0';
	if (uh_store_backup_list(d->store, owned_one, &c, err) < 0)
		return -1;
	if (archive[0] == '\0')
		return uh_errc(err, ENOENT, "%s has no backup '%s'", inst->rec.name, id);
	return 0;
}

struct by_age {
	char archive[PATH_MAX];
	int64_t created;
};

static int newest_first(const void *a, const void *b)
{
	const struct by_age *x = a, *y = b;

	return x->created < y->created ? 1 : x->created > y->created ? -1 : 0;
}

struct prune_ctx {
	const struct uh_instance *inst;
	struct by_age *v;
	size_t n, cap;
};

static int collect_owned(const struct uh_backup_rec *b, void *arg)
{
	struct prune_ctx *c = arg;
	const char *owner = c->inst->rec.owner[0] ? c->inst->rec.owner : "provider";

	/* this server's, under its owner, on this host's disk (what fills it) */
	if (strcmp(b->instance, c->inst->rec.name) != 0 || strcmp(b->owner, owner) != 0 ||
	    uh_target_is_remote(b->archive))
		return 0;
	if (c->n == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 16;
		c->v = realloc(c->v, c->cap * sizeof(*c->v));
		if (c->v == NULL)
			abort();
	}
	snprintf(c->v[c->n].archive, sizeof(c->v[c->n].archive), "%s", b->archive);
	c->v[c->n++].created = b->created;
	return 0;
}

int uh_backup_prune_owned(struct uh_daemon *d, const struct uh_instance *inst, int keep)
{
	struct prune_ctx c = {inst, NULL, 0, 0};
	struct uh_error err;
	int gone = 0;

	if (uh_store_backup_list(d->store, collect_owned, &c, &err) < 0) {
		uh_warnx("%s: prune: %s", inst->rec.name, err.msg);
		return -1;
	}
	qsort(c.v, c.n, sizeof(*c.v), newest_first);
	for (size_t i = (size_t)keep; i < c.n; i++) {
		if (unlink(c.v[i].archive) < 0 && errno != ENOENT) {
			uh_warn("%s: prune %s", inst->rec.name, c.v[i].archive);
			continue;
		}
		if (uh_store_backup_del(d->store, c.v[i].archive, &err) < 0)
			uh_warnx("%s: prune: %s", inst->rec.name, err.msg);
		gone++;
	}
	if (gone)
		uh_daemon_event(d, inst->rec.name, "backup-pruned",
				"%d of the customer's oldest backups (it keeps %d)", gone, keep);
	free(c.v);
	return gone;
}

json_t *uh_backup_list(struct uh_daemon *d, const char *name)
{
	json_t *arr = json_array();
	char base[PATH_MAX], dir[PATH_MAX * 2];
	struct list_ctx c = {arr, name};
	struct uh_error err;
	uh_autoclosedir DIR *dp = NULL;
	struct dirent *de;

	/* what is in the default directories (also archives put there by hand) */
	snprintf(base, sizeof(base), "%.4000s/backups", d->cfg.state_dir);
	dp = opendir(base);
	while (dp && (de = readdir(dp)) != NULL) {
		if (de->d_name[0] == '.' || (name && strcmp(name, de->d_name) != 0))
			continue;
		snprintf(dir, sizeof(dir), "%s/%s", base, de->d_name);
		list_dir(dir, de->d_name, arr);
	}
	if (uh_store_backup_list(d->store, list_recorded, &c, &err) < 0)
		uh_warnx("backup list: %s", err.msg);
	return arr;
}

/* What a directory or an SFTP server holds (after a host is lost, the only index left). */
static void listed(struct uh_backup_job *j, json_t *res)
{
	struct uh_error err;

	if (!json_is_true(json_object_get(res, "ok"))) {
		uh_backup_result_err(res, &err);
		uh_backup_job_fail(j, &err);
		return;
	}
	uh_backup_job_finish(j, NULL, json_incref(json_object_get(res, "archives")));
}

void uh_backup_list_from(struct uh_daemon *d, const char *name, const char *from,
			 uh_done_fn done, void *ctx)
{
	struct uh_backup_job *j;
	struct uh_target t;
	struct uh_error err;
	char prefix[UH_KEY_MAX + 2];
	const char *args[] = {"--prefix", prefix, "list", NULL, NULL};

	if ((name && uh_validate_name("instance", name, &err) < 0) ||
	    uh_target_parse(from, &t, &err) < 0) {
		err.errnum = EINVAL;
		done(ctx, &err, NULL);
		return;
	}
	j = uh_backup_job_new(d, "list", done, ctx, &err);
	if (j == NULL) {
		err.errnum = EIO;
		done(ctx, &err, NULL);
		return;
	}
	canonical(&t, j->dir, sizeof(j->dir));
	snprintf(prefix, sizeof(prefix), "%s-", name ? name : "");
	args[3] = j->dir;
	if (uh_backup_job_spawn(j, name ? args : args + 2, listed, &err) < 0)
		uh_backup_job_fail_as(j, &err, EIO);
}

/* ---- what template rm must not break silently */

struct uses_ctx {
	struct uh_daemon *d;
	const char *tpl;
	int version; /* 0: any */
	int count;
	char example[PATH_MAX];
};

static int count_uses(const struct uh_backup_rec *b, void *arg)
{
	struct uses_ctx *c = arg;
	struct stat st;
	struct uh_error err;

	if (strcmp(b->template_name, c->tpl) != 0 ||
	    (c->version && b->template_version != c->version))
		return 0;
	if (!uh_target_is_remote(b->archive) && stat(b->archive, &st) < 0) {
		/* removed by hand: forget it */
		uh_store_backup_del(c->d->store, b->archive, &err);
		return 0;
	}
	if (c->count++ == 0)
		snprintf(c->example, sizeof(c->example), "%s", b->archive);
	return 0;
}

int uh_backup_template_users(struct uh_daemon *d, const char *tpl, int version, char *example,
			     size_t len, struct uh_error *err)
{
	uh_autofree struct uses_ctx *c = calloc(1, sizeof(*c));

	if (c == NULL)
		abort();
	c->d = d;
	c->tpl = tpl;
	c->version = version;
	if (uh_store_backup_list(d->store, count_uses, c, err) < 0)
		return -1;
	snprintf(example, len, "%s", c->example);
	return c->count;
}

/* One implementation of retention, in the helper, for local directories and SFTP alike:
 * only NAME-<UTC stamp>.tar.zst files count, and their names sort by age. */
static void prune_done(struct uh_backup_job *j, json_t *res)
{
	struct uh_error err;

	if (!json_is_true(json_object_get(res, "ok"))) {
		uh_backup_result_err(res, &err);
		if (j->out) { /* a scheduled backup: it was made, only the pruning failed */
			uh_daemon_event(j->d, j->name, "backup-prune-failed", "%s", err.msg);
			uh_backup_job_finish(j, NULL, json_incref(j->out));
			return;
		}
		uh_backup_job_fail(j, &err);
		return;
	}
	{
		json_t *r;
		size_t i;

		json_array_foreach(json_object_get(res, "removed"), i, r)
			if (uh_store_backup_del(j->d->store, json_string_value(r), &err) < 0)
				uh_warnx("%s: %s", j->name, err.msg);
	}
	uh_daemon_event(j->d, j->name, "backup-pruned", "%s: kept %lld, removed %zu", j->dir,
			(long long)json_integer_value(json_object_get(res, "kept")),
			json_array_size(json_object_get(res, "removed")));
	if (j->out) {
		uh_backup_job_finish(j, NULL, json_incref(j->out));
		return;
	}
	uh_backup_job_finish(j, NULL,
		   json_pack("{s:s, s:s, s:O, s:O}", "instance", j->name, "dir", j->dir, "kept",
			     json_object_get(res, "kept"), "removed",
			     json_object_get(res, "removed")));
}

static int prune_spawn(struct uh_backup_job *j, int keep, struct uh_error *err)
{
	char prefix[UH_KEY_MAX + 2], n[16];
	const char *args[] = {"--prefix", prefix, "--keep", n, "prune", j->dir, NULL};

	snprintf(prefix, sizeof(prefix), "%s-", j->name);
	snprintf(n, sizeof(n), "%d", keep);
	return uh_backup_job_spawn(j, args, prune_done, err);
}

void uh_backup_prune(struct uh_daemon *d, const char *name, int keep, const char *from,
		     uh_done_fn done, void *ctx)
{
	struct uh_backup_job *j;
	struct uh_target t;
	struct uh_error err;
	int status = 400;

	if (name == NULL) {
		uh_errx(&err, "backup prune: an instance name is needed");
		goto fail;
	}
	if (uh_validate_name("instance", name, &err) < 0)
		goto fail;
	if (keep < 1) {
		uh_errx(&err, "backup prune: --keep must be at least 1");
		goto fail;
	}
	if (from && uh_target_parse(from, &t, &err) < 0) {
		uh_err_prefix(&err, "backup prune: --from");
		goto fail;
	}
	status = 500;
	j = uh_backup_job_new(d, "prune", done, ctx, &err);
	if (j == NULL)
		goto fail;
	snprintf(j->name, sizeof(j->name), "%s", name);
	if (from)
		canonical(&t, j->dir, sizeof(j->dir));
	else
		default_dir(d, name, j->dir, sizeof(j->dir));
	if (prune_spawn(j, keep, &err) < 0)
		uh_backup_job_fail_as(j, &err, EIO);
	return;
fail:
	err.errnum = status == 500 ? EIO : EINVAL;
	done(ctx, &err, NULL);
}

/* ---- schedules: checked every second; each backup answers with events */

static void schedule_due(void *arg)
{
	struct uh_daemon *d = arg;
	struct uh_instance *i;
	time_t now = time(NULL);

	for (i = d->instances; i; i = i->next) {
		struct uh_error err;

		if (i->rec.backup_every_s <= 0 || now - i->rec.backup_last < i->rec.backup_every_s ||
		    i->ops != NULL || i->claim.kind != UH_CLAIM_NONE)
			continue;
		i->rec.backup_last = now;
		if (uh_instance_write(i, &err) < 0)
			uh_warnx("%s: %s", i->rec.name, err.msg);
		/* the job records its events (backup / backup-failed) and prunes after */
		uh_backup_create(d, i->rec.name, i->rec.backup_to[0] ? i->rec.backup_to : NULL, 1,
				 NULL, NULL);
	}
	d->backup_timer = uh_loop_after(d->loop, 1000, schedule_due, d);
}

void uh_backup_schedule_init(struct uh_daemon *d)
{
	d->backup_timer = uh_loop_after(d->loop, 1000, schedule_due, d);
}

