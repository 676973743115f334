/* Restore over a server (a customer's "put my server back to yesterday"): the backup is one of
 * that server's own (uh_backup_find_owned), and nothing is lost on the way:
 *   1. a safety backup of the server as it is now (if that fails, nothing changed);
 *   2. the server stopped (if it runs) and deleted;
 *   3. the archive restored under the same name (owner, address and settings from the
 *      archive, which this host made: restore.c);
 *   4. started again if it ran.
 * If 3 fails, the safety backup is restored instead and the answer says so; if even that
 * fails, the error names the safety backup that holds the server. Each step is an event. */
#include "daemon/daemon.h"
#include "util/log.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

struct restore_over {
	struct uh_daemon *d;
	char name[UH_KEY_MAX];
	char id[UH_KEY_MAX + 32], safety_id[UH_KEY_MAX + 32];
	char archive[PATH_MAX], safety[PATH_MAX];
	char owner[UH_KEY_MAX]; /* whose the server was when asked: checked at each step */
	int was_running;
	int rescuing;		/* step 3 failed: the safety backup goes back */
	struct uh_error failure; /* why step 3 failed */
	uh_done_fn done;
	void *ctx;
};

static void finish(struct restore_over *ro, const struct uh_error *err, json_t *result)
{
	struct uh_instance *inst = uh_instance_find(ro->d, ro->name);

	if (err)
		uh_daemon_event(ro->d, ro->name, "restore-failed", "%s", err->msg);
	/* the safety backup is one more: the customer's oldest go past the bound */
	if (inst)
		uh_backup_prune_owned(ro->d, inst, UH_CUSTOMER_BACKUPS_KEEP);
	ro->done(ro->ctx, err, result);
	free(ro);
}

/* the answer: both backups by id, never a path */
static void succeed(struct restore_over *ro, const char *state)
{
	finish(ro, NULL,
	       json_pack("{s:s, s:s, s:s, s:s}", "server", ro->name, "restored", ro->id,
			 "safety_backup", ro->safety_id, "state", state));
}

static void started(void *ctx, const struct uh_error *err, json_t *result)
{
	struct restore_over *ro = ctx;
	struct uh_error e;

	json_decref(result);
	if (err) {
		uh_errc(&e, err->errnum, "%s was restored from %s but did not start again: %s",
			ro->name, ro->id, err->msg);
		finish(ro, &e, NULL);
		return;
	}
	succeed(ro, "running");
}

/* The server is still the one asked about: a chown while the safety backup ran (minutes on
 * a big disk) stops the restore before it touches anything. */
static int still_theirs(struct restore_over *ro, struct uh_error *e)
{
	struct uh_instance *inst = uh_instance_find(ro->d, ro->name);

	if (inst == NULL)
		return uh_errc(e, ENOENT, "restore %s: the server went away", ro->name);
	if (strcmp(inst->rec.owner, ro->owner) != 0)
		return uh_errc(e, ENOENT, "restore %s: no instance named '%s' (it changed hands)",
			       ro->name, ro->name);
	return 0;
}

static void restored(void *ctx, const struct uh_error *err, json_t *result)
{
	struct restore_over *ro = ctx;
	struct uh_error e;

	json_decref(result);
	if (err && !ro->rescuing) {
		/* the server is gone and the archive did not come back: the safety backup does */
		ro->failure = *err;
		ro->rescuing = 1;
		uh_warnx("restore %s from %s failed (%s); restoring the safety backup %s", ro->name,
			 ro->id, err->msg, ro->safety_id);
		uh_backup_restore(ro->d, ro->safety, ro->name, restored, ro);
		return;
	}
	if (err) {
		uh_errc(&e, ro->failure.errnum,
			"restore %s from %s failed (%s), and so did putting back the safety backup "
			"%s (%s): the provider can restore it from there",
			ro->name, ro->id, ro->failure.msg, ro->safety_id, err->msg);
		finish(ro, &e, NULL);
		return;
	}
	if (ro->rescuing) {
		uh_errc(&e, ro->failure.errnum,
			"restore %s from %s failed (%s); the server was put back as it was (safety "
			"backup %s)",
			ro->name, ro->id, ro->failure.msg, ro->safety_id);
		if (ro->was_running)
			uh_instance_submit(ro->d, ro->name, UH_OP_START, 0, 0, NULL, NULL);
		finish(ro, &e, NULL);
		return;
	}
	uh_daemon_event(ro->d, ro->name, "restored-over", "from backup %s (safety backup %s)",
			ro->id, ro->safety_id);
	if (ro->was_running) {
		uh_instance_submit(ro->d, ro->name, UH_OP_START, 0, 0, started, ro);
		return;
	}
	succeed(ro, "stopped");
}

static void deleted(void *ctx, const struct uh_error *err, json_t *result)
{
	struct restore_over *ro = ctx;
	struct uh_error e;

	json_decref(result);
	if (err) {
		uh_errc(&e, err->errnum, "restore %s: delete before the restore: %s (the server is "
					 "as it was; safety backup %s)",
			ro->name, err->msg, ro->safety_id);
		finish(ro, &e, NULL);
		return;
	}
	uh_backup_restore(ro->d, ro->archive, ro->name, restored, ro);
}

static void stopped(void *ctx, const struct uh_error *err, json_t *result)
{
	struct restore_over *ro = ctx;
	struct uh_error e;

	json_decref(result);
	if (err) {
		uh_errc(&e, err->errnum, "restore %s: stop: %s (nothing changed; safety backup %s)",
			ro->name, err->msg, ro->safety_id);
		finish(ro, &e, NULL);
		return;
	}
	if (still_theirs(ro, &e) < 0) {
		finish(ro, &e, NULL);
		return;
	}
	/* from here until the restore is done the server exists only in the archives: said
	 * where the provider looks first if the daemon stops halfway */
	uh_daemon_event(ro->d, ro->name, "restore-over",
			"deleting it to restore %s; its safety backup is %s", ro->id, ro->safety_id);
	uh_instance_submit(ro->d, ro->name, UH_OP_DELETE, 0, 0, deleted, ro);
}

static void safety_made(void *ctx, const struct uh_error *err, json_t *result)
{
	struct restore_over *ro = ctx;
	struct uh_instance *inst = uh_instance_find(ro->d, ro->name);
	const char *a = json_string_value(json_object_get(result, "archive"));
	struct uh_error e;

	if (err || a == NULL || inst == NULL) {
		if (err)
			uh_errc(&e, err->errnum, "restore %s: the safety backup failed, so nothing "
						 "was changed: %s",
				ro->name, err->msg);
		else
			uh_errc(&e, ENOENT, "restore %s: the server went away", ro->name);
		json_decref(result);
		finish(ro, &e, NULL);
		return;
	}
	snprintf(ro->safety, sizeof(ro->safety), "%s", a);
	uh_backup_archive_id(a, ro->safety_id, sizeof(ro->safety_id));
	json_decref(result);
	if (still_theirs(ro, &e) < 0) {
		finish(ro, &e, NULL);
		return;
	}
	ro->was_running = uh_instance_active(inst);
	if (ro->was_running)
		uh_instance_submit(ro->d, ro->name, UH_OP_STOP, 0, 0, stopped, ro);
	else
		stopped(ro, NULL, NULL);
}

void uh_backup_restore_over(struct uh_daemon *d, const char *name, const char *id,
			    uh_done_fn done, void *ctx)
{
	struct uh_instance *inst = uh_instance_find(d, name);
	struct restore_over *ro;
	struct uh_error err;

	if (inst == NULL) {
		uh_errc(&err, ENOENT, "no instance named '%s'", name);
		done(ctx, &err, NULL);
		return;
	}
	ro = calloc(1, sizeof(*ro));
	if (ro == NULL)
		abort();
	ro->d = d;
	ro->done = done;
	ro->ctx = ctx;
	snprintf(ro->name, sizeof(ro->name), "%s", name);
	snprintf(ro->id, sizeof(ro->id), "%s", id);
	snprintf(ro->owner, sizeof(ro->owner), "%s", inst->rec.owner);
	if (uh_backup_find_owned(d, inst, id, ro->archive, sizeof(ro->archive), &err) < 0) {
		done(ctx, &err, NULL);
		free(ro);
		return;
	}
	uh_daemon_event(d, name, "restore-over", "from backup %s: a safety backup first", id);
	uh_backup_create(d, name, NULL, 0, safety_made, ro);
}
