/* Verify and restore: the helper checks an archive's digests (and its manifest against the
 * record when this daemon made it); a restore extracts it, verified, into a temp directory on
 * the state filesystem, checks the template its disk was made over, and creates the instance
 * from it (the disk renamed into place). Nothing of a refused or failed restore is left. */
#include "backup/target.h"
#include "daemon/backup_job.h"
#include "kernel/args.h"
#include "util/cleanup.h"
#include "util/fileio.h"
#include "util/validate.h"

#include <errno.h>
#include <string.h>
#include <time.h>


/* ---- verify */

/* An archive this daemon made must still be the very file it made: a valid archive put in
 * its place (an older one renamed, one from another host) is caught by its sha256. */
static int check_recorded(struct uh_backup_job *j, json_t *res, struct uh_error *err)
{
	uh_autofree struct uh_backup_rec *b = calloc(1, sizeof(*b));
	const char *sha = json_string_value(json_object_get(res, "sha256"));
	int ret = 0;

	if (b == NULL)
		abort();
	if (uh_store_backup_get(j->d->store, j->target, b, err) == 0 && b->sha256[0] && sha &&
	    strcmp(sha, b->sha256) == 0)
		j->recorded = 1;
	if (uh_store_backup_get(j->d->store, j->target, b, err) == 0 && b->sha256[0] &&
	    (sha == NULL || strcmp(sha, b->sha256) != 0)) {
		char when[32];
		struct tm tm;
		time_t t = (time_t)b->created;

		gmtime_r(&t, &tm);
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%SZ", &tm);
		ret = uh_errc(err, EILSEQ,
			      "backup %s: not the archive umlhostd made at %s (sha256 %.12s..., "
			      "recorded %.12s...)",
			      j->target, when, sha ? sha : "?", b->sha256);
	}
	return ret;
}

static void verify_done(struct uh_backup_job *j, json_t *res)
{
	struct uh_error err;

	if (!json_is_true(json_object_get(res, "ok")))
		uh_backup_result_err(res, &err);
	if (!json_is_true(json_object_get(res, "ok")) || check_recorded(j, res, &err) < 0) {
		uh_backup_job_fail_as(j, &err, EBADMSG);
		return;
	}
	uh_backup_job_finish(j, NULL,
		   json_pack("{s:s, s:b, s:O, s:O}", "archive", j->target, "ok", 1, "sha256",
			     json_object_get(res, "sha256"), "manifest",
			     json_object_get(res, "manifest")));
}

/* Check an archive argument and spell it as it was recorded. */
static int check_archive_arg(const char *archive, const char *what, char *out, size_t len,
			     struct uh_error *err)
{
	struct uh_target t;

	if (archive == NULL)
		return uh_errx(err, "backup %s: an archive is needed", what);
	if (uh_target_parse(archive, &t, err) < 0)
		return uh_err_prefix(err, "backup %s", what);
	uh_target_format(&t, t.path, out, len);
	return 0;
}

void uh_backup_verify(struct uh_daemon *d, const char *archive, uh_done_fn done, void *ctx)
{
	struct uh_backup_job *j = NULL;
	struct uh_error err;
	char canon[PATH_MAX];
	const char *args[] = {"verify", canon, NULL};

	if (check_archive_arg(archive, "verify", canon, sizeof(canon), &err) < 0) {
		err.errnum = EINVAL;
		done(ctx, &err, NULL);
		return;
	}
	j = uh_backup_job_new(d, "verify", done, ctx, &err);
	if (j == NULL) {
		err.errnum = EIO;
		done(ctx, &err, NULL);
		return;
	}
	snprintf(j->target, sizeof(j->target), "%s", canon);
	if (uh_backup_job_spawn(j, args, verify_done, &err) < 0)
		uh_backup_job_fail_as(j, &err, EIO);
}

/* ---- restore: extract (verified) into a temp directory, check the template the disk was
 * made over is here and the same (its sha256), then create the instance with that disk */

static int restore_refuse_existing(struct uh_daemon *d, const char *name, struct uh_error *err)
{
	struct uh_instance *inst = uh_instance_find(d, name);

	if (inst == NULL)
		return 0;
	if (inst->rec.pid > 0)
		return uh_errc(err, EBUSY, "backup restore: %s is running; it is not overwritten "
					   "(stop and delete it, or restore --as another name)",
			       name);
	return uh_errc(err, EEXIST, "backup restore: instance %s exists (delete it, or restore "
				    "--as another name)",
		       name);
}

static void restore_create(struct uh_backup_job *j)
{
	struct uh_daemon *d = j->d;
	json_t *man = j->manifest, *created = NULL;
	uh_autojson json_t *def = NULL;
	uh_autojson json_t *params = NULL;
	uh_autojson json_t *dropped = json_array(); /* settings of the archive left out, and why */
	const char *name, *tpl = json_string_value(json_object_get(man, "template"));
	int flat = json_object_get(json_object_get(man, "members"), "disk.img") != NULL;
	char p[PATH_MAX + 32], disk[PATH_MAX + 32], mem[32];
	struct uh_disk_src src = {disk, flat};
	struct uh_error err;

	snprintf(p, sizeof(p), "%s/instance.json", j->extract);
	snprintf(disk, sizeof(disk), "%s/%s", j->extract, flat ? "disk.img" : "disk.cow");
	def = json_load_file(p, 0, NULL);
	name = j->name[0] ? j->name : json_string_value(json_object_get(man, "instance"));
	if (!json_is_object(def) || name == NULL) {
		uh_errx(&err, "backup restore: %s has no instance definition", j->target);
		goto fail;
	}
	if (restore_refuse_existing(d, name, &err) < 0)
		goto fail;
	snprintf(mem, sizeof(mem), "%lldM",
		 (long long)json_integer_value(json_object_get(def, "memory_mib")));
	params = json_pack("{s:s, s:s?, s:I, s:s}", "name", name, "template",
			   tpl ? tpl : json_string_value(json_object_get(def, "template")),
			   "template_version",
			   json_integer_value(json_object_get(man, "template_version")), "memory",
			   mem);
	{
		const char *kernel = json_string_value(json_object_get(def, "kernel"));
		const char *net = json_string_value(json_object_get(def, "network"));
		json_t *args = json_object_get(def, "kernel_args"), *a, *kept = json_array();
		char kpath[PATH_MAX];
		struct uh_network_rec n;
		struct uh_error e2;
		size_t k;

		/* Settings that touch isolation follow this host's policy, not the archive's
		 * word: the archive's kernel only from an archive this daemon made (and only if
		 * it exists and can run here), else the default kernel; kernel arguments only
		 * those the allowlist passes. What is left out is said in the answer. */
		if (kernel && !j->recorded) {
			json_array_append_new(dropped, json_sprintf("kernel %.64s (the archive is not "
								    "one this host made: the "
								    "default kernel instead)",
								    kernel));
		} else if (kernel && (uh_kernel_resolve(d, kernel, kpath, sizeof(kpath), &e2) < 0 ||
				      uh_kernel_check_usable(d, kernel, &e2) < 0)) {
			json_array_append_new(dropped,
					      json_sprintf("kernel %.64s (%.300s)", kernel, e2.msg));
		} else if (kernel) {
			json_object_set_new(params, "kernel", json_string(kernel));
		}
		json_array_foreach(args, k, a) {
			const char *s = json_string_value(a);

			if (s && uh_kernel_arg_check(s, &e2) == 0)
				json_array_append(kept, a);
			else
				json_array_append_new(dropped, json_sprintf("kernel argument: %.300s",
									    s ? e2.msg : "not a string"));
		}
		json_object_set_new(params, "kernel_args", kept);
		/* a fresh address in the same network, if it exists here */
		if (net && uh_store_network_get(d->store, net, &n, &e2) == 0)
			json_object_set_new(params, "network", json_string(net));
		/* its customer, from an archive this host made and while the customer exists:
		 * a forged archive must not hand a server to someone */
		{
			const char *owner = json_string_value(json_object_get(def, "owner"));
			struct uh_customer_rec c;

			if (owner && strcmp(owner, "provider") != 0 &&
			    (!j->recorded || uh_store_customer_get(d->store, owner, &c, &e2) != 0))
				json_array_append_new(dropped,
						      json_sprintf("owner %.40s (%s: the provider's "
								   "instead)",
								   owner,
								   j->recorded ? "no such customer here"
									       : "the archive is not one "
										 "this host made"));
			else if (owner)
				json_object_set_new(params, "owner", json_string(owner));
		}
	}
	if (uh_instance_create_from(d, params, &src, &created, &err) < 0) {
		uh_err_prefix(&err, "backup restore");
		goto fail;
	}
	uh_daemon_event(d, name, "restored", "from %s%s", j->target,
			json_array_size(dropped) ? " (settings left out: see the restore's answer)"
						 : "");
	json_object_set(created, "restore_dropped", dropped);
	uh_backup_job_finish(j, NULL, created);
	return;
fail:
	uh_backup_job_fail(j, &err);
}

static void restore_hashed(struct uh_backup_job *j, json_t *res)
{
	struct uh_error err;
	const char *want = json_string_value(json_object_get(j->manifest, "template_sha256"));
	const char *have = json_string_value(json_object_get(res, "sha256"));

	if (!json_is_true(json_object_get(res, "ok"))) {
		uh_backup_result_err(res, &err);
		uh_backup_job_fail(j, &err);
		return;
	}
	if (want && (have == NULL || strcmp(want, have) != 0)) {
		uh_errc(&err, EEXIST,
			"backup restore: template '%s' version %d here is not the one the backup "
			"was made over (sha256 %.12s..., the backup's %.12s...)",
			json_string_value(json_object_get(j->manifest, "template")),
			(int)json_integer_value(json_object_get(j->manifest, "template_version")),
			have ? have : "?", want);
		uh_backup_job_fail(j, &err);
		return;
	}
	restore_create(j);
}

static void restore_extracted(struct uh_backup_job *j, json_t *res)
{
	struct uh_daemon *d = j->d;
	struct uh_error err;
	json_t *man = json_object_get(res, "manifest");
	const char *name, *tpl = json_string_value(json_object_get(man, "template"));
	int version = (int)json_integer_value(json_object_get(man, "template_version"));
	int flat = json_object_get(json_object_get(man, "members"), "disk.img") != NULL;
	struct uh_template_rec t;
	const char *args[4] = {"hash", t.path, NULL};

	if (!json_is_true(json_object_get(res, "ok")))
		uh_backup_result_err(res, &err);
	if (!json_is_true(json_object_get(res, "ok")) || check_recorded(j, res, &err) < 0) {
		uh_backup_job_fail_as(j, &err, EBADMSG);
		return;
	}
	j->manifest = json_incref(man);
	name = j->name[0] ? j->name : json_string_value(json_object_get(man, "instance"));
	if (name == NULL || (!flat && tpl == NULL)) {
		uh_errx(&err, "backup restore: %s has no instance or template in its manifest",
			j->target);
		uh_backup_job_fail_as(j, &err, EBADMSG);
		return;
	}
	if (restore_refuse_existing(d, name, &err) < 0) {
		uh_backup_job_fail(j, &err);
		return;
	}
	if (flat) {
		restore_create(j);
		return;
	}
	if (uh_store_template_get(d->store, tpl, version ? version : 1, &t, &err) != 0) {
		uh_errc(&err, ENOENT,
			"backup restore: template '%s' version %d is missing (the backup's disk is a "
			"COW over it)",
			tpl, version ? version : 1);
		uh_backup_job_fail(j, &err);
		return;
	}
	if (json_object_get(man, "template_sha256") == NULL) {
		restore_create(j);
		return;
	}
	if (uh_backup_job_spawn(j, args, restore_hashed, &err) < 0)
		uh_backup_job_fail_as(j, &err, EIO);
}

void uh_backup_restore(struct uh_daemon *d, const char *archive, const char *as,
		       uh_done_fn done, void *ctx)
{
	struct uh_backup_job *j = NULL;
	struct uh_error err;
	char parent[PATH_MAX], canon[PATH_MAX];
	int status = 400;

	if (check_archive_arg(archive, "restore", canon, sizeof(canon), &err) < 0)
		goto fail;
	archive = canon;
	if (as && uh_validate_name("instance", as, &err) < 0)
		goto fail;
	status = 0;
	/* refuse early what can be refused without reading the archive */
	if (as && restore_refuse_existing(d, as, &err) < 0)
		goto fail;
	j = uh_backup_job_new(d, "restore", done, ctx, &err);
	if (j == NULL)
		goto fail;
	snprintf(j->target, sizeof(j->target), "%s", archive);
	snprintf(j->name, sizeof(j->name), "%s", as ? as : "");
	/* beside the instances: the disk is renamed into place */
	snprintf(parent, sizeof(parent), "%.4000s/instances", d->cfg.state_dir);
	snprintf(j->extract, sizeof(j->extract), "%.4000s/.restore-XXXXXX", parent);
	if (uh_mkdirs(parent, 0750, &err) < 0) {
		j->extract[0] = '\0';
		goto fail;
	}
	if (mkdtemp(j->extract) == NULL) {
		uh_err(&err, errno, "backup restore: temp dir under %s", parent);
		j->extract[0] = '\0';
		goto fail;
	}
	{
		char reserve[32];
		const char *args[] = {"--reserve-mib", reserve, "extract",
				      archive,	       j->extract, NULL};

		snprintf(reserve, sizeof(reserve), "%llu",
			 (unsigned long long)d->cfg.disk_reserve_mib);
		if (uh_backup_job_spawn(j, args, restore_extracted, &err) < 0)
			goto fail;
	}
	return;
fail:
	if (status == 400)
		err.errnum = EINVAL;
	if (j) {
		uh_backup_job_fail(j, &err);
		return;
	}
	done(ctx, &err, NULL);
}

