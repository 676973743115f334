/* The backup helper's jobs (backup_job.h): the daemon never maps libarchive, zstd, nettle or
 * libssh; everything that reads or writes an archive runs in umlhost-backup, and the daemon
 * waits for its result on the loop. */
#include "daemon/backup_job.h"
#include "util/fileio.h"

#include <errno.h>
#include <signal.h>
#include <string.h>

/* ---- jobs */

struct uh_backup_job *uh_backup_job_new(struct uh_daemon *d, const char *kind, uh_done_fn done,
				     void *ctx, struct uh_error *err)
{
	struct uh_backup_job *j = calloc(1, sizeof(*j));

	if (j == NULL)
		abort();
	j->d = d;
	j->kind = kind;
	j->done = done;
	j->ctx = ctx;
	snprintf(j->work, sizeof(j->work), "%.4000s/backup-XXXXXX", d->cfg.run_dir);
	if (mkdtemp(j->work) == NULL) {
		uh_err(err, errno, "backup: work directory under %s", d->cfg.run_dir);
		free(j);
		return NULL;
	}
	j->next_job = d->backup_jobs;
	d->backup_jobs = j;
	return j;
}

/* Answer once, remove everything the job made, forget it. */
void uh_backup_job_finish(struct uh_backup_job *j, const struct uh_error *err, json_t *result)
{
	struct uh_daemon *d = j->d;
	struct uh_instance *inst;
	struct uh_backup_job **pp;

	for (pp = &d->backup_jobs; *pp; pp = &(*pp)->next_job)
		if (*pp == j) {
			*pp = j->next_job;
			break;
		}
	if (strcmp(j->kind, "create") == 0 && (inst = uh_instance_find(d, j->name)) != NULL)
		uh_instance_release(inst, j);
	if (j->timer)
		uh_loop_cancel(d->loop, j->timer);
	if (j->pid > 0)
		kill(-j->pid, SIGTERM);
	uh_mc_client_free(j->mc);
	if (j->snap[0])
		unlink(j->snap);
	if (j->extract[0])
		uh_rm_tree(j->extract);
	uh_rm_tree(j->work);
	json_decref(j->manifest);
	json_decref(j->out);
	if (j->done)
		j->done(j->ctx, err, result);
	else
		json_decref(result);
	free(j);
}

/* The job failed: err's errno class says how (the API maps it to a status). */
void uh_backup_job_fail(struct uh_backup_job *j, struct uh_error *err)
{
	if (strcmp(j->kind, "create") == 0) {
		struct uh_instance *inst = uh_instance_find(j->d, j->name);

		uh_daemon_event(j->d, j->name, "backup-failed", "%s", err->msg);
		if (inst)
			inst->backup_failures++;
	}
	uh_backup_job_finish(j, err, NULL);
}

/* A failure of the archive (digests, manifest) or of the daemon itself, whatever errno the
 * call that found it set. */
void uh_backup_job_fail_as(struct uh_backup_job *j, struct uh_error *err, int errnum)
{
	err->errnum = errnum;
	uh_backup_job_fail(j, err);
}

void uh_backup_job_path(const struct uh_backup_job *j, const char *file, char *out, size_t len)
{
	snprintf(out, len, "%s/%s", j->work, file);
}

static void helper_exited(void *arg, pid_t pid, int status);

/* Run the helper: argv after the program name, NULL-terminated; --result, --key and
 * --known-hosts are added. */
int uh_backup_job_spawn(struct uh_backup_job *j, const char **args, uh_backup_stage_fn next,
		     struct uh_error *err)
{
	const struct uh_config *c = &j->d->cfg;
	char result[PATH_MAX + 32], log[PATH_MAX + 32];
	char *argv[48];
	int n = 0;

	uh_backup_job_path(j, "result.json", result, sizeof(result));
	uh_backup_job_path(j, "helper.log", log, sizeof(log));
	unlink(result);
	argv[n++] = (char *)c->backup_helper;
	argv[n++] = "--result";
	argv[n++] = result;
	argv[n++] = "--key";
	argv[n++] = (char *)c->backup_ssh_key;
	argv[n++] = "--known-hosts";
	argv[n++] = (char *)c->backup_known_hosts;
	for (; *args && n < 47; args++)
		argv[n++] = (char *)*args;
	argv[n] = NULL;
	j->pid = uh_job_spawn(argv, log, err);
	if (j->pid < 0) {
		j->pid = 0;
		return uh_err_prefix(err, "backup helper %s", c->backup_helper);
	}
	uh_child_watch(j->d, j->pid, helper_exited, j->d);
	j->next = next;
	return 0;
}

/* The helper ended: its result (or why there is none) goes to the job's next stage. */
static void helper_exited(void *arg, pid_t pid, int status)
{
	struct uh_daemon *d = arg;
	struct uh_backup_job *j;
	char result[PATH_MAX + 32], log[PATH_MAX + 32], line[512];
	uh_autojson json_t *res = NULL;

	for (j = d->backup_jobs; j && j->pid != pid; j = j->next_job)
		;
	if (j == NULL)
		return;
	j->pid = 0;
	uh_backup_job_path(j, "result.json", result, sizeof(result));
	res = json_load_file(result, 0, NULL);
	if (!json_is_object(res)) {
		/* killed, or not even started: its log says why */
		uh_backup_job_path(j, "helper.log", log, sizeof(log));
		uh_job_error_line(log, "umlhost-backup", line, sizeof(line));
		json_decref(res);
		res = json_pack("{s:b, s:i, s:s}", "ok", 0, "errno", EIO, "error",
				WIFSIGNALED(status) ? "the backup helper was killed" : line);
	}
	j->next(j, res);
}

/* The helper's failure as an error. */
void uh_backup_result_err(json_t *res, struct uh_error *err)
{
	uh_errc(err, (int)json_integer_value(json_object_get(res, "errno")), "%s",
		json_string_value(json_object_get(res, "error")) ?: "the backup helper failed");
}

void uh_backup_shutdown(struct uh_daemon *d)
{
	struct uh_error err;

	/* a helper does not outlive the daemon: it removes its partial archive on SIGTERM */
	while (d->backup_jobs) {
		uh_errc(&err, ESHUTDOWN, "umlhostd is stopping");
		uh_backup_job_fail(d->backup_jobs, &err);
	}
}
