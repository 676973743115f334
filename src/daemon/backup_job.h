/* backup_job.c: a backup, verify, restore, list or prune as a job of the umlhost-backup
 * helper: its work directory, the helper run with the daemon's key and known hosts, its
 * result read when it ends and handed to the job's next stage, one answer to the requester,
 * everything the job made removed. backup.c and restore.c build their stages on it. */
#ifndef UH_DAEMON_BACKUP_JOB_H
#define UH_DAEMON_BACKUP_JOB_H

#include "daemon/daemon.h"
#include "mconsole/mconsole_client.h"

#include <sys/types.h>

#define UH_ARCHIVE_SUFFIX ".tar.zst"

#include <sys/stat.h>

struct uh_backup_job;
typedef void (*uh_backup_stage_fn)(struct uh_backup_job *j, json_t *result);

struct uh_backup_job {
	struct uh_daemon *d;
	const char *kind;	  /* "create", "verify", "restore" */
	char name[UH_KEY_MAX];	  /* create: the instance; restore: --as (or "") */
	char target[PATH_MAX];	  /* create: the archive path or URL; else the archive read */
	char work[PATH_MAX];	  /* <run>/backup-XXXXXX: the helper's log, result, inputs */
	char snap[PATH_MAX + 32]; /* create: the frozen copy of the disk */
	char extract[PATH_MAX];	  /* restore: <state>/instances/.restore-XXXXXX */
	pid_t pid;
	uh_backup_stage_fn next; /* what to do with the helper's result */
	struct uh_timer *timer;
	struct uh_mc_client *mc;
	off_t log_from;
	int64_t sync_deadline, freeze_us, freeze_ms; /* ms rounded up: a freeze is never "0" */
	/* create: after the guest's "Emergency Sync complete", its disk until it is quiet */
	int synced;
	int64_t quiet_since, quiet_deadline;
	struct stat disk_seen;
	int reflinked, scheduled;
	int recorded;	  /* restore: an archive this daemon made (recorded, same sha256) */
	json_t *manifest; /* restore */
	json_t *out;	  /* create: the answer, kept while a scheduled prune runs */
	char tpl_name[UH_KEY_MAX]; /* create: what the disk was made over ("" flat) */
	char owner[UH_KEY_MAX];	   /* create: the server's customer when it began */
	int tpl_version;
	char dir[PATH_MAX]; /* create, prune: the directory (or URL) of the archives */
	uh_done_fn done;
	void *ctx;
	struct uh_backup_job *next_job;
};

/* A job of `kind` ("create", "verify", "restore", "list", "prune") with its work directory
 * under the run directory; on the daemon's list until it finishes. */
struct uh_backup_job *uh_backup_job_new(struct uh_daemon *d, const char *kind, uh_done_fn done,
					void *ctx, struct uh_error *err);
/* Answer once (err or result, taken over), remove what the job made, forget it. */
void uh_backup_job_finish(struct uh_backup_job *j, const struct uh_error *err, json_t *result);
/* The job failed: err's errno class says how (the API maps it to a status). */
void uh_backup_job_fail(struct uh_backup_job *j, struct uh_error *err);
/* A failure of the archive or of the daemon itself, whatever errno the call that found it
 * set. */
void uh_backup_job_fail_as(struct uh_backup_job *j, struct uh_error *err, int errnum);
/* <work>/file */
void uh_backup_job_path(const struct uh_backup_job *j, const char *file, char *out, size_t len);
/* Run the helper with args (after the program name, NULL-terminated); its result goes to
 * next. */
int uh_backup_job_spawn(struct uh_backup_job *j, const char **args, uh_backup_stage_fn next,
			struct uh_error *err);
/* The helper's failure (its result) as an error. */
void uh_backup_result_err(json_t *res, struct uh_error *err);

#endif
