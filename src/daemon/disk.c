/* Disk operations on a stopped instance: flatten (its COW merged over the template into a
 * private sparse image) and resize (grow a private image and its ext4). Both take seconds to
 * minutes on a big disk, so the copying and the filesystem tools run in a forked worker
 * (job.c) while the daemon's loop goes on supervising; the instance is marked meanwhile, and
 * nothing starts, deletes, backs up or works on its disk until the worker is done. The
 * bookkeeping (the store, events, the answer) happens back in the daemon.
 *
 * The worker records itself in the instance's directory (WORK_MARK: pid, start time, kind)
 * before it touches the disk and removes the record when the disk is whole again, so a
 * daemon restarted under it (kill -9) knows: while that process lives the instance stays
 * busy; if it died halfway, its work is undone (uh_disk_resume). e2fsck and resize2fs read a
 * filesystem the guest wrote: they run as the instance's uid, without capabilities. */
#include "cow/cow_file.h"
#include "daemon/daemon.h"
#include "util/cleanup.h"
#include "util/log.h"
#include "util/sparse_copy.h"
#include "util/validate.h"

#include "util/fileio.h"
#include "util/proc.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define WORK_MARK "disk-work"	       /* "PID STARTTIME KIND\n" while a worker has the disk */
#define RESIZE_BACKUP "disk.img.pre-resize" /* the safety copy of a resize */
#define RESUME_POLL_MS 500

struct disk_op {
	struct uh_daemon *d;
	char name[UH_KEY_MAX];
	char dir[PATH_MAX];	     /* the instance's directory (WORK_MARK) */
	char disk[PATH_MAX];	     /* what the instance has now */
	char img[PATH_MAX];	     /* flatten: the new private image */
	char backup[PATH_MAX + 16]; /* resize: the safety copy */
	uint64_t bytes;		     /* resize: the new size */
	int uid;
	uh_done_fn done;
	void *ctx;
};

static int disk_busy(struct uh_instance *inst, struct uh_error *err)
{
	/* another worker first, then the kernel, then a backup's snapshot */
	if (inst->claim.kind != UH_CLAIM_BACKUP && uh_instance_claimed(inst, err) < 0)
		return -1;
	if (uh_instance_active(inst) || inst->ops != NULL)
		return uh_errc(err, EBUSY, "%s is %s; stop it first", inst->rec.name,
			       uh_state_name(inst->state));
	return uh_instance_claimed(inst, err);
}

static struct disk_op *op_new(struct uh_instance *inst, uh_done_fn done, void *ctx)
{
	struct disk_op *op = calloc(1, sizeof(*op));

	if (op == NULL)
		abort();
	op->d = inst->d;
	snprintf(op->name, sizeof(op->name), "%s", inst->rec.name);
	snprintf(op->dir, sizeof(op->dir), "%s", inst->dir);
	snprintf(op->disk, sizeof(op->disk), "%s", inst->rec.disk);
	op->uid = inst->rec.uid;
	op->done = done;
	op->ctx = ctx;
	return op;
}

/* Back in the daemon: the instance is free again (if it still exists: it cannot have been
 * deleted, but the lookup is by name all the same). */
static struct uh_instance *op_end(struct disk_op *op)
{
	struct uh_instance *inst = uh_instance_find(op->d, op->name);

	if (inst)
		uh_instance_release(inst, op);
	return inst;
}

/* ---- the worker's record of itself */

static void mark_path(const char *dir, char *p, size_t len)
{
	snprintf(p, len, "%.4000s/" WORK_MARK, dir);
}

/* In the worker, before it changes anything: temp file, fsync, rename. */
static int mark_write(const struct disk_op *op, const char *kind, struct uh_error *err)
{
	uh_autotmpfile struct uh_tmpfile t = UH_TMPFILE_INIT;
	char p[PATH_MAX], line[96];
	int n;

	mark_path(op->dir, p, sizeof(p));
	n = snprintf(line, sizeof(line), "%d %" PRIu64 " %s\n", (int)getpid(),
		     uh_proc_starttime(getpid()), kind);
	if (uh_tmpfile_open(&t, p, 0600, err) < 0)
		return uh_err_prefix(err, "%s: record the disk worker", op->name);
	if (uh_write_full(t.fd, line, (size_t)n) < 0)
		return uh_err(err, errno, "%s: record the disk worker", op->name);
	if (uh_tmpfile_commit(&t, err) < 0)
		return uh_err_prefix(err, "%s: record the disk worker", op->name);
	return 0;
}

/* In the worker, once the disk is whole again (done or undone). */
static void mark_clear(const char *dir)
{
	char p[PATH_MAX];

	mark_path(dir, p, sizeof(p));
	unlink(p);
}

/* ---- flatten */

static int flatten_work(void *arg, struct uh_error *err)
{
	struct disk_op *op = arg;

	if (mark_write(op, "flatten", err) < 0)
		return -1;
	/* the COW's data over the template's, into a new sparse image (temp + fsync + rename);
	 * until the daemon records it, the COW is the disk and the image a leftover */
	unlink(op->img);
	if (uh_cow_merge(op->disk, op->img, NULL, err) < 0) {
		uh_err_prefix(err, "%s: flatten", op->name);
		goto fail;
	}
	if (op->uid > 0 && (chown(op->img, (uid_t)op->uid, (gid_t)op->uid) < 0 ||
			    chmod(op->img, 0600) < 0)) {
		uh_err(err, errno, "%s: give %s to uid %d", op->name, op->img, op->uid);
		goto fail;
	}
	mark_clear(op->dir);
	return 0;
fail:
	unlink(op->img);
	mark_clear(op->dir);
	return -1;
}

static void flatten_done(void *arg, int rc, struct uh_error *err)
{
	uh_autofree struct disk_op *op = arg;
	struct uh_instance *inst = op_end(op);

	if (rc == 0 && inst == NULL)
		rc = uh_errc(err, ENOENT, "%s: the instance is gone", op->name);
	if (rc == 0) {
		snprintf(inst->rec.disk, sizeof(inst->rec.disk), "%s", op->img);
		inst->rec.flat = 1;
		if (uh_instance_write(inst, err) < 0) {
			snprintf(inst->rec.disk, sizeof(inst->rec.disk), "%s", op->disk);
			inst->rec.flat = 0;
			rc = -1;
		}
	}
	if (rc < 0) {
		unlink(op->img);
		op->done(op->ctx, err, NULL);
		return;
	}
	unlink(op->disk);
	uh_daemon_event(op->d, op->name, "disk-flattened", "%s (was a COW over %s version %d)",
			op->img, inst->rec.template_name, inst->rec.template_version);
	op->done(op->ctx, NULL, uh_instance_json(inst));
}

void uh_disk_flatten(struct uh_daemon *d, const char *name, uh_done_fn done, void *ctx)
{
	struct uh_instance *inst = uh_instance_find(d, name);
	struct disk_op *op;
	struct uh_error err;

	if (inst == NULL) {
		uh_errc(&err, ENOENT, "no instance named '%s'", name);
		goto fail;
	}
	if (disk_busy(inst, &err) < 0)
		goto fail;
	if (inst->rec.flat) {
		uh_errc(&err, EEXIST, "%s: its disk is a private image already", name);
		goto fail;
	}
	if (uh_instance_check_template(inst, &err) < 0)
		goto fail;
	op = op_new(inst, done, ctx);
	snprintf(op->img, sizeof(op->img), "%.4000s/disk.img", inst->dir);
	if (uh_instance_claim(inst, UH_CLAIM_FLATTEN, NULL, op, &err) < 0 ||
	    uh_work_start(d, flatten_work, flatten_done, op, &err) < 0) {
		uh_instance_release(inst, op);
		free(op);
		goto fail;
	}
	return;
fail:
	done(ctx, &err, NULL);
}

/* ---- resize */

/* Run a tool (e2fsck, resize2fs) and keep its last output line for an error message. With
 * uid > 0 it runs as that uid and gid, no groups, no capabilities, no_new_privs: what it
 * reads was written by the guest. The disk is handed over as /proc/self/fd/3, opened here,
 * so that the tool needs no right on the directories above it. */
static int run_fs_tool(char *const argv[], int disk_fd, int uid, char *last, size_t len)
{
	uh_autoclose int rd = -1, wr = -1;
	int pfd[2], status;
	pid_t pid;
	char buf[4096];
	ssize_t n, used = 0;

	last[0] = '\0';
	if (pipe2(pfd, O_CLOEXEC) < 0)
		return -1;
	rd = pfd[0];
	wr = pfd[1];
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		dup2(wr, 1);
		dup2(wr, 2);
		if (dup2(disk_fd, 3) < 0)
			_exit(126);
		if (uid > 0 &&
		    (setgroups(0, NULL) < 0 || setresgid((gid_t)uid, (gid_t)uid, (gid_t)uid) < 0 ||
		     setresuid((uid_t)uid, (uid_t)uid, (uid_t)uid) < 0 ||
		     prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0))
			_exit(126);
		execvp(argv[0], argv);
		_exit(127);
	}
	uh_close(&wr); /* the tool's output ends when the tool does */
	while ((n = read(rd, buf + used, sizeof(buf) - 1 - (size_t)used)) > 0) {
		used += n;
		if ((size_t)used >= sizeof(buf) - 1)
			used = 0; /* keep the tail only */
	}
	buf[used] = '\0';
	while (used > 0 && (buf[used - 1] == '\n' || buf[used - 1] == ' '))
		buf[--used] = '\0';
	{
		char *nl = strrchr(buf, '\n');
		snprintf(last, len, "%.500s", nl ? nl + 1 : buf);
	}
	if (waitpid(pid, &status, 0) < 0)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

/* Put the safety copy back: the disk as it was, the instance's again. */
static int resize_undo(const char *backup, const char *disk, int uid)
{
	if (rename(backup, disk) < 0)
		return -1;
	if (uid > 0 && chown(disk, (uid_t)uid, (gid_t)uid) < 0)
		return -1;
	return chmod(disk, 0600);
}

static int resize_work(void *arg, struct uh_error *err)
{
	struct disk_op *op = arg;
	char last[512];
	struct stat st;
	uh_autoclose int in = -1;
	uh_autoclose int bk = -1;
	uh_autoclose int fd = -1;
	int r;

	if (mark_write(op, "resize", err) < 0)
		return -1;
	/* the seed's advice: a safety copy first (sparse, so cheap); restored on any failure,
	 * with the owner and mode the jailed kernel needs */
	in = open(op->disk, O_RDONLY | O_CLOEXEC);
	bk = open(op->backup, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (in < 0 || bk < 0 || fstat(in, &st) < 0 || ftruncate(bk, st.st_size) < 0 ||
	    (op->uid > 0 && fchown(bk, (uid_t)op->uid, (gid_t)op->uid) < 0)) {
		uh_err(err, errno, "%s: safety copy %s", op->name, op->backup);
		goto fail_copy;
	}
	if (uh_copy_data_extents(in, bk, (uint64_t)st.st_size, err) < 0 || fsync(bk) < 0) {
		if (errno && err->msg[0] == '\0')
			uh_err(err, errno, "fsync");
		uh_err_prefix(err, "%s: safety copy", op->name);
		goto fail_copy;
	}
	uh_close(&in); /* the copy is made and on disk */
	uh_close(&bk);
	if (truncate(op->disk, (off_t)op->bytes) < 0) {
		uh_err(err, errno, "%s: grow %s", op->name, op->disk);
		goto restore;
	}
	fd = open(op->disk, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		uh_err(err, errno, "%s: open %s", op->name, op->disk);
		goto restore;
	}
	{
		char *fsck[] = {"e2fsck", "-f", "-p", "/proc/self/fd/3", NULL};

		r = run_fs_tool(fsck, fd, op->uid, last, sizeof(last));
		if (r != 0 && r != 1) { /* 1: errors corrected */
			uh_errx(err, "%s: e2fsck before resizing: %s (exit %d)", op->name, last, r);
			goto restore;
		}
	}
	{
		char *grow[] = {"resize2fs", "/proc/self/fd/3", NULL};

		r = run_fs_tool(grow, fd, op->uid, last, sizeof(last));
		if (r != 0) {
			uh_errx(err, "%s: resize2fs: %s (exit %d)", op->name, last, r);
			goto restore;
		}
	}
	unlink(op->backup);
	mark_clear(op->dir);
	return 0;
restore:
	if (resize_undo(op->backup, op->disk, op->uid) < 0)
		uh_warnx("%s: could not restore %s from %s: %s", op->name, op->disk, op->backup,
			 strerror(errno));
	else
		mark_clear(op->dir);
	return -1;
fail_copy:
	unlink(op->backup);
	mark_clear(op->dir);
	return -1;
}

static void resize_done(void *arg, int rc, struct uh_error *err)
{
	uh_autofree struct disk_op *op = arg;
	struct uh_instance *inst = op_end(op);
	char sz[32];
	json_t *out;

	if (rc < 0 || inst == NULL) {
		if (rc == 0)
			uh_errc(err, ENOENT, "%s: the instance is gone", op->name);
		op->done(op->ctx, err, NULL);
		return;
	}
	uh_format_size(op->bytes, sz, sizeof(sz));
	uh_daemon_event(op->d, op->name, "disk-resized", "%s -> %s", op->disk, sz);
	out = uh_instance_json(inst);
	json_object_set_new(out, "disk_bytes", json_integer((json_int_t)op->bytes));
	op->done(op->ctx, NULL, out);
}

void uh_disk_resize(struct uh_daemon *d, const char *name, const char *size, uh_done_fn done,
		    void *ctx)
{
	struct uh_instance *inst = uh_instance_find(d, name);
	struct disk_op *op;
	struct uh_error err;
	uint64_t bytes;
	struct stat st;

	if (inst == NULL) {
		uh_errc(&err, ENOENT, "no instance named '%s'", name);
		goto fail;
	}
	if (disk_busy(inst, &err) < 0)
		goto fail;
	if (!inst->rec.flat) {
		uh_errx(&err, "%s: its disk is a COW pinned to its template's size; make it a "
			      "private image first: umlhost disk flatten %s",
			name, name);
		goto fail;
	}
	if (size == NULL || uh_parse_size(size, &bytes, &err) < 0) {
		if (size == NULL)
			uh_errx(&err, "a size is needed");
		uh_err_prefix(&err, "%s: disk resize", name);
		goto fail;
	}
	if (stat(inst->rec.disk, &st) < 0) {
		uh_err(&err, errno, "%s: %s", name, inst->rec.disk);
		goto fail;
	}
	if (bytes <= (uint64_t)st.st_size || bytes % 4096 != 0) {
		uh_errx(&err, "%s: %s is not larger than the disk (%lluM), or not a whole number of "
			      "4 KiB blocks; disks only grow",
			name, size, (unsigned long long)st.st_size >> 20);
		goto fail;
	}
	/* the grown disk may fill up, and the safety copy needs what the disk holds now: the new
	 * size must fit in the free space less the reserve */
	{
		uint64_t avail, reserve = d->cfg.disk_reserve_mib << 20;

		if (uh_fs_free(inst->dir, &avail, &err) < 0) {
			uh_err_prefix(&err, "%s", name);
			goto fail;
		}
		if (avail < reserve || bytes > avail - reserve) {
			uh_errc(&err, ENOSPC,
				"%s: %s does not fit: the state filesystem has %lluM free and "
				"keeps %lluM of it (disk_reserve); the grown disk and its safety "
				"copy must fit in the rest",
				name, size, (unsigned long long)(avail >> 20),
				(unsigned long long)d->cfg.disk_reserve_mib);
			goto fail;
		}
	}
	op = op_new(inst, done, ctx);
	op->bytes = bytes;
	snprintf(op->backup, sizeof(op->backup), "%.4000s/" RESIZE_BACKUP, inst->dir);
	if (uh_instance_claim(inst, UH_CLAIM_RESIZE, NULL, op, &err) < 0 ||
	    uh_work_start(d, resize_work, resize_done, op, &err) < 0) {
		uh_instance_release(inst, op);
		free(op);
		goto fail;
	}
	return;
fail:
	done(ctx, &err, NULL);
}

/* ---- after a restart: a worker's record left in an instance's directory */

struct resume {
	struct uh_daemon *d;
	char name[UH_KEY_MAX];
	pid_t pid;
	uint64_t start;
	char kind[16]; /* "resize" | "flatten" */
};

/* The owner of a claim taken for a worker found at start: not the (freed) resume record, so
 * that no later job allocated at its address could release it. */
static char resumed_worker;

/* The worker is gone. If it cleared its record the disk is whole (done or undone by the
 * worker itself); if not, it died halfway and its work is undone here. */
static void resume_finish(const struct resume *r, struct uh_instance *inst)
{
	char mark[PATH_MAX], p[PATH_MAX + 32];

	mark_path(inst->dir, mark, sizeof(mark));
	if (access(mark, F_OK) != 0) {
		uh_instance_release(inst, &resumed_worker);
		uh_daemon_event(r->d, r->name, "disk-work-finished",
				"the %s begun before umlhostd restarted is over (worker pid %d)",
				r->kind, (int)r->pid);
		return;
	}
	if (strcmp(r->kind, "resize") == 0) {
		snprintf(p, sizeof(p), "%.4000s/" RESIZE_BACKUP, inst->dir);
		if (access(p, F_OK) == 0 && resize_undo(p, inst->rec.disk, inst->rec.uid) < 0) {
			/* the instance stays busy: starting it on a half-grown disk is worse */
			uh_warnx("%s: undo the interrupted resize: restore %s from %s: %s", r->name,
				 inst->rec.disk, p, strerror(errno));
			return;
		}
	} else if (!inst->rec.flat) {
		snprintf(p, sizeof(p), "%.4000s/disk.img", inst->dir);
		unlink(p); /* never recorded: the COW is still the disk */
	}
	unlink(mark);
	uh_instance_release(inst, &resumed_worker);
	uh_daemon_event(r->d, r->name, "disk-work-undone",
			"the %s begun before umlhostd restarted died halfway (worker pid %d): the "
			"disk is as it was before",
			r->kind, (int)r->pid);
}

static void resume_check(void *arg)
{
	uh_autofree struct resume *r = arg;
	struct uh_instance *inst = uh_instance_find(r->d, r->name);

	if (inst == NULL)
		return;
	if (uh_proc_running(r->pid, r->start)) { /* still at work: look again later */
		struct uh_loop *loop = r->d->loop;

		uh_loop_after(loop, RESUME_POLL_MS, resume_check, uh_steal_pointer(&r));
		return;
	}
	resume_finish(r, inst);
}

void uh_disk_resume(struct uh_daemon *d)
{
	struct uh_instance *inst;

	for (inst = d->instances; inst; inst = inst->next) {
		char mark[PATH_MAX], kind[16] = "";
		unsigned long long start = 0;
		struct uh_error err;
		struct resume *r;
		uh_autofclose FILE *fp = NULL;
		int pid = 0;

		mark_path(inst->dir, mark, sizeof(mark));
		fp = fopen(mark, "re");
		if (fp == NULL)
			continue;
		if (fscanf(fp, "%d %llu %15s", &pid, &start, kind) != 3 ||
		    (strcmp(kind, "resize") != 0 && strcmp(kind, "flatten") != 0)) {
			uh_warnx("%s: %s is not a worker's record; taken as a resize that died",
				 inst->rec.name, mark);
			snprintf(kind, sizeof(kind), "resize");
			pid = 0;
		}
		r = calloc(1, sizeof(*r));
		if (r == NULL)
			abort();
		r->d = d;
		snprintf(r->name, sizeof(r->name), "%s", inst->rec.name);
		r->pid = pid;
		r->start = start;
		snprintf(r->kind, sizeof(r->kind), "%s", kind);
		/* nothing else runs yet: the claim is free */
		if (uh_instance_claim(inst,
				      strcmp(kind, "resize") == 0 ? UH_CLAIM_RESIZE : UH_CLAIM_FLATTEN,
				      NULL, &resumed_worker, &err) < 0)
			uh_warnx("%s", err.msg);
		if (uh_proc_running(pid, start))
			uh_daemon_event(d, inst->rec.name, "disk-work-adopted",
					"a %s worker from before the restart (pid %d) is still at "
					"work; the instance waits for it",
					kind, pid);
		resume_check(r);
	}
}
