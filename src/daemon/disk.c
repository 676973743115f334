/* Disk operations on a stopped instance: flatten (its COW merged over the template into a
 * private sparse image) and resize (grow a private image and its ext4). Both take seconds to
 * minutes on a big disk, so the copying and the filesystem tools run in a forked worker
 * (job.c) while the daemon's loop goes on supervising; the instance is marked meanwhile, and
 * nothing starts, deletes, backs up or works on its disk until the worker is done. The
 * bookkeeping (the store, events, the answer) happens back in the daemon. */
#include "cow/cow_file.h"
#include "daemon/daemon.h"
#include "util/log.h"
#include "util/sparse_copy.h"
#include "util/validate.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

struct disk_op {
	struct uh_daemon *d;
	char name[UH_KEY_MAX];
	char disk[PATH_MAX];	     /* what the instance has now */
	char img[PATH_MAX];	     /* flatten: the new private image */
	char backup[PATH_MAX + 16]; /* resize: the safety copy */
	uint64_t bytes;		     /* resize: the new size */
	int uid;
	uh_done_fn done;
	void *ctx;
};

int uh_disk_working(const struct uh_instance *inst, struct uh_error *err)
{
	if (inst->disk_work)
		return uh_errc(err, EBUSY, "%s: its disk is being %s; try again when that is done",
			       inst->rec.name, inst->disk_work);
	return 0;
}

static int disk_busy(struct uh_instance *inst, struct uh_error *err)
{
	if (uh_disk_working(inst, err) < 0)
		return -1;
	if (strcmp(inst->rec.state, "starting") == 0 || strcmp(inst->rec.state, "running") == 0 ||
	    strcmp(inst->rec.state, "stopping") == 0 || inst->ops != NULL)
		return uh_errc(err, EBUSY, "%s is %s; stop it first", inst->rec.name,
			       inst->rec.state);
	if (uh_backup_busy(inst->d, inst->rec.name))
		return uh_errc(err, EBUSY, "%s: a backup is being made; try again when it is done",
			       inst->rec.name);
	return 0;
}

static struct disk_op *op_new(struct uh_instance *inst, uh_done_fn done, void *ctx)
{
	struct disk_op *op = calloc(1, sizeof(*op));

	if (op == NULL)
		abort();
	op->d = inst->d;
	snprintf(op->name, sizeof(op->name), "%s", inst->rec.name);
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
		inst->disk_work = NULL;
	return inst;
}

/* ---- flatten */

static int flatten_work(void *arg, struct uh_error *err)
{
	struct disk_op *op = arg;

	/* the COW's data over the template's, into a new sparse image (temp + fsync + rename) */
	unlink(op->img);
	if (uh_cow_merge(op->disk, op->img, NULL, err) < 0)
		return uh_err_prefix(err, "%s: flatten", op->name);
	if (op->uid > 0 && (chown(op->img, (uid_t)op->uid, (gid_t)op->uid) < 0 ||
			    chmod(op->img, 0600) < 0)) {
		uh_err(err, errno, "%s: give %s to uid %d", op->name, op->img, op->uid);
		unlink(op->img);
		return -1;
	}
	return 0;
}

static void flatten_done(void *arg, int rc, struct uh_error *err)
{
	struct disk_op *op = arg;
	struct uh_instance *inst = op_end(op);

	if (rc == 0 && inst == NULL)
		rc = uh_errc(err, ENOENT, "%s: the instance is gone", op->name);
	if (rc == 0) {
		snprintf(inst->rec.disk, sizeof(inst->rec.disk), "%s", op->img);
		inst->rec.flat = 1;
		if (uh_store_instance_put(op->d->store, &inst->rec, err) < 0) {
			snprintf(inst->rec.disk, sizeof(inst->rec.disk), "%s", op->disk);
			inst->rec.flat = 0;
			rc = -1;
		}
	}
	if (rc < 0) {
		unlink(op->img);
		op->done(op->ctx, uh_error_status(err), uh_error_body(err, NULL));
		free(op);
		return;
	}
	unlink(op->disk);
	uh_daemon_event(op->d, op->name, "disk-flattened", "%s (was a COW over %s version %d)",
			op->img, inst->rec.template_name, inst->rec.template_version);
	op->done(op->ctx, 200, uh_instance_json(inst));
	free(op);
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
	if (uh_work_start(d, flatten_work, flatten_done, op, &err) < 0) {
		free(op);
		goto fail;
	}
	inst->disk_work = "flattened";
	return;
fail:
	done(ctx, uh_error_status(&err), uh_error_body(&err, NULL));
}

/* ---- resize */

/* Run a tool (e2fsck, resize2fs) and keep its last output line for an error message. */
static int run_fs_tool(char *const argv[], char *last, size_t len)
{
	int pfd[2], status;
	pid_t pid;
	char buf[4096];
	ssize_t n, used = 0;

	last[0] = '\0';
	if (pipe2(pfd, O_CLOEXEC) < 0)
		return -1;
	pid = fork();
	if (pid < 0) {
		close(pfd[0]);
		close(pfd[1]);
		return -1;
	}
	if (pid == 0) {
		dup2(pfd[1], 1);
		dup2(pfd[1], 2);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(pfd[1]);
	while ((n = read(pfd[0], buf + used, sizeof(buf) - 1 - (size_t)used)) > 0) {
		used += n;
		if ((size_t)used >= sizeof(buf) - 1)
			used = 0; /* keep the tail only */
	}
	close(pfd[0]);
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

static int resize_work(void *arg, struct uh_error *err)
{
	struct disk_op *op = arg;
	char last[512];
	struct stat st;
	int r, in = -1, bk = -1;

	/* the seed's advice: a safety copy first (sparse, so cheap); restored on any failure */
	in = open(op->disk, O_RDONLY | O_CLOEXEC);
	bk = open(op->backup, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (in < 0 || bk < 0 || fstat(in, &st) < 0 || ftruncate(bk, st.st_size) < 0 ||
	    uh_copy_data_extents(in, bk, (uint64_t)st.st_size, err) < 0 || fsync(bk) < 0) {
		if (in < 0 || bk < 0)
			uh_err(err, errno, "%s: safety copy %s", op->name, op->backup);
		uh_err_prefix(err, "%s: safety copy", op->name);
		goto fail_copy;
	}
	close(in);
	close(bk);
	if (truncate(op->disk, (off_t)op->bytes) < 0) {
		uh_err(err, errno, "%s: grow %s", op->name, op->disk);
		goto restore;
	}
	{
		char *fsck[] = {"e2fsck", "-f", "-p", op->disk, NULL};

		r = run_fs_tool(fsck, last, sizeof(last));
		if (r != 0 && r != 1) { /* 1: errors corrected */
			uh_errx(err, "%s: e2fsck before resizing: %s (exit %d)", op->name, last, r);
			goto restore;
		}
	}
	{
		char *grow[] = {"resize2fs", op->disk, NULL};

		r = run_fs_tool(grow, last, sizeof(last));
		if (r != 0) {
			uh_errx(err, "%s: resize2fs: %s (exit %d)", op->name, last, r);
			goto restore;
		}
	}
	unlink(op->backup);
	return 0;
restore:
	if (rename(op->backup, op->disk) < 0)
		uh_warnx("%s: could not restore %s from %s: %s", op->name, op->disk, op->backup,
			 strerror(errno));
	return -1;
fail_copy:
	if (in >= 0)
		close(in);
	if (bk >= 0)
		close(bk);
	unlink(op->backup);
	return -1;
}

static void resize_done(void *arg, int rc, struct uh_error *err)
{
	struct disk_op *op = arg;
	struct uh_instance *inst = op_end(op);
	char sz[32];
	json_t *out;

	if (rc < 0 || inst == NULL) {
		if (rc == 0)
			uh_errc(err, ENOENT, "%s: the instance is gone", op->name);
		op->done(op->ctx, uh_error_status(err), uh_error_body(err, NULL));
		free(op);
		return;
	}
	uh_format_size(op->bytes, sz, sizeof(sz));
	uh_daemon_event(op->d, op->name, "disk-resized", "%s -> %s", op->disk, sz);
	out = uh_instance_json(inst);
	json_object_set_new(out, "disk_bytes", json_integer((json_int_t)op->bytes));
	op->done(op->ctx, 200, out);
	free(op);
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
	op = op_new(inst, done, ctx);
	op->bytes = bytes;
	snprintf(op->backup, sizeof(op->backup), "%.4000s/disk.img.pre-resize", inst->dir);
	if (uh_work_start(d, resize_work, resize_done, op, &err) < 0) {
		free(op);
		goto fail;
	}
	inst->disk_work = "resized";
	return;
fail:
	done(ctx, uh_error_status(&err), uh_error_body(&err, NULL));
}
