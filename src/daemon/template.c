/* Templates: read-only ext4 images that instances' COW files sit on. An import copies the
 * image into the state dir (holes stay holes), makes it read-only and keeps its mtime: every
 * COW pins the backing file's size and mtime, so the copy is never touched again.
 *
 * Versions (the seed's patch management): `template build NAME` again makes version N+1 at
 * <state>/templates/NAME@N.img (version 1 is NAME.img); an instance stays on the version its
 * COW was made over, new instances get the newest, a version in use cannot be removed. A build
 * runs umlhost-template-build (scripts/template-build.sh: debootstrap + mkfs.ext4 -d) as a
 * background job; its image is registered only once it is complete. */
#include "daemon/daemon.h"
#include "kernel/source.h"
#include "util/cleanup.h"
#include "util/fileio.h"
#include "util/sparse_copy.h"
#include "util/log.h"
#include "util/validate.h"

#include <errno.h>
#include <signal.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define EXT_SUPER_OFFSET 1024
#define EXT_MAGIC_OFFSET (EXT_SUPER_OFFSET + 56)

static int is_ext_image(int fd)
{
	unsigned char m[2];

	if (uh_pread_full(fd, m, 2, EXT_MAGIC_OFFSET) != 2)
		return 0;
	return m[0] == 0x53 && m[1] == 0xef; /* 0xEF53, little endian */
}

static int uses(const struct uh_instance *i, const char *name, int version)
{
	/* a flattened disk no longer sits on its template */
	return !i->rec.flat && strcmp(i->rec.template_name, name) == 0 &&
	       (version == 0 || i->rec.template_version == version ||
		(i->rec.template_version == 0 && version == 1));
}

static json_t *template_json(const struct uh_template_rec *t, struct uh_daemon *d)
{
	json_t *users = json_array();
	struct uh_instance *i;
	struct uh_template_rec newest;
	struct uh_error err;

	for (i = d->instances; i; i = i->next)
		if (uses(i, t->name, t->version))
			json_array_append_new(users, json_string(i->rec.name));
	if (uh_store_template_get(d->store, t->name, 0, &newest, &err) != 0)
		newest.version = t->version;
	return json_pack("{s:s, s:i, s:b, s:s, s:s, s:I, s:I, s:o}", "name", t->name, "version",
			 t->version, "newest", newest.version == t->version, "status", "ready",
			 "path", t->path, "size", (json_int_t)t->size, "mtime", (json_int_t)t->mtime,
			 "instances", users);
}

static void version_path(struct uh_daemon *d, const char *name, int version, char *out,
			 size_t len)
{
	if (version <= 1)
		snprintf(out, len, "%.4000s/templates/%s.img", d->cfg.state_dir, name);
	else
		snprintf(out, len, "%.4000s/templates/%s@%d.img", d->cfg.state_dir, name, version);
}

int uh_template_import(struct uh_daemon *d, const char *name, const char *image, uid_t caller,
		       int new_version, json_t **out, struct uh_error *err)
{
	struct uh_template_rec t = {0};
	uh_autotmpfile struct uh_tmpfile tmp = UH_TMPFILE_INIT;
	uh_autoclose int in = -1;
	char dir[PATH_MAX];
	struct timespec times[2];
	struct stat st;
	int r;

	if (uh_validate_name("template", name, err) < 0)
		return -1;
	if (image == NULL || image[0] != '/')
		return uh_errx(err, "template %s: the image path must be absolute", name);
	snprintf(dir, sizeof(dir), "template %s: import", name);
	if (uh_space_check(d, dir, err) < 0)
		return -1;
	r = uh_store_template_get(d->store, name, 0, &t, err);
	if (r < 0)
		return -1;
	/* a new version only when asked: instances created after it get it, and a mistyped
	 * import must not change what they boot */
	if (r == 0 && !new_version)
		return uh_errc(err, EEXIST, "template '%s' already exists (import --new-version or "
					    "template build make new versions)",
			       name);
	if (r == 1 && new_version)
		return uh_errc(err, ENOENT, "template '%s' does not exist: --new-version needs one",
			       name);
	t.version = r == 0 ? t.version + 1 : 1;
	/* O_NONBLOCK: a FIFO (or a device) must not hang the event loop in open(); O_NOFOLLOW:
	 * the file checked is the file read */
	in = open(image, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK | O_NOFOLLOW);
	if (in < 0 && errno == ELOOP)
		return uh_errx(err, "template %s: %s is a symlink; give the file itself", name,
			       image);
	if (in < 0)
		return uh_err(err, errno, "template %s: open %s", name, image);
	if (fstat(in, &st) < 0)
		return uh_err(err, errno, "template %s: stat %s", name, image);
	if (!S_ISREG(st.st_mode))
		return uh_errx(err, "template %s: %s is not a regular file", name, image);
	/* the daemon reads as root: only hand out what the caller could read itself */
	if (caller != 0 && st.st_uid != caller && !(st.st_mode & S_IROTH))
		return uh_errc(err, EACCES, "template %s: permission denied reading %s", name,
			       image);
	if (!is_ext_image(in))
		return uh_errx(err, "template %s: %s is not an ext2/3/4 filesystem image", name,
			       image);

	snprintf(dir, sizeof(dir), "%.4000s/templates", d->cfg.state_dir);
	snprintf(t.name, sizeof(t.name), "%.32s", name);
	version_path(d, name, t.version, t.path, sizeof(t.path));
	if (access(t.path, F_OK) == 0)
		return uh_errc(err, EEXIST, "template %s: %s already exists", name, t.path);
	if (uh_tmpfile_open(&tmp, t.path, 0444, err) < 0)
		return uh_err_prefix(err, "template %s", name);
	if (ftruncate(tmp.fd, st.st_size) < 0)
		return uh_err(err, errno, "template %s: size the copy", name);
	if (uh_copy_data_extents(in, tmp.fd, (uint64_t)st.st_size, err) < 0)
		return uh_err_prefix(err, "template %s: copy %s", name, image);
	times[0] = st.st_atim;
	times[1] = st.st_mtim;
	if (futimens(tmp.fd, times) < 0)
		return uh_err(err, errno, "template %s: keep the mtime", name);
	if (uh_tmpfile_commit_noreplace(&tmp, err) < 0)
		return -1;
	t.size = (uint64_t)st.st_size;
	t.mtime = st.st_mtim.tv_sec;
	t.created = time(NULL);
	if (uh_store_template_put(d->store, &t, err) < 0) {
		unlink(t.path);
		return -1;
	}
	uh_daemon_event(d, "-", "template-imported", "%s version %d from %s", name, t.version,
			image);
	*out = template_json(&t, d);
	return 0;
}

struct rm_ctx {
	struct uh_template_rec v[64];
	int n;
};

static int collect_versions(const struct uh_template_rec *t, void *arg)
{
	struct rm_ctx *c = arg;

	if (c->n < 64)
		c->v[c->n++] = *t;
	return 0;
}

int uh_template_remove(struct uh_daemon *d, const char *name, int version, int force,
		       struct uh_error *err)
{
	uh_autofree struct rm_ctx *c = calloc(1, sizeof(*c));
	struct uh_instance *i;
	int k, found = 0;

	if (c == NULL)
		abort();
	if (uh_validate_name("template", name, err) < 0 ||
	    uh_store_template_list(d->store, collect_versions, c, err) < 0)
		return -1;
	for (k = 0; k < c->n; k++)
		found += strcmp(c->v[k].name, name) == 0 && (version == 0 || c->v[k].version == version);
	if (!found) {
		if (version)
			uh_errc(err, ENOENT, "template '%s' has no version %d", name, version);
		else
			uh_errc(err, ENOENT, "no template named '%s'", name);
		return -1;
	}
	/* refuse as a whole: nothing is removed if any version asked for is in use */
	for (i = d->instances; i; i = i->next)
		if (uses(i, name, version)) {
			uh_errc(err, EBUSY, "template '%s' version %d is used by instance %s; delete "
					    "its instances first",
				name, i->rec.template_version ? i->rec.template_version : 1,
				i->rec.name);
			return -1;
		}
	/* a backup of a COW is restorable only over the very version it was made over */
	if (!force) {
		char example[PATH_MAX];
		int n = uh_backup_template_users(d, name, version, example, sizeof(example), err);

		if (n < 0)
			return -1;
		if (n > 0) {
			uh_errc(err, EBUSY,
				"template '%s'%s is what %d backup%s %s made over (%s); without it "
				"they cannot be restored: --force removes it anyway",
				name, version ? " (that version)" : "", n, n == 1 ? "" : "s",
				n == 1 ? "was" : "were", example);
			return -1;
		}
	}
	for (k = 0; k < c->n; k++) {
		struct uh_template_rec *t = &c->v[k];

		if (strcmp(t->name, name) != 0 || (version && t->version != version))
			continue;
		if (uh_store_template_del(d->store, name, t->version, err) < 0)
			return -1;
		if (unlink(t->path) < 0 && errno != ENOENT)
			uh_warnx("remove %s: %s", t->path, strerror(errno));
		{
			char cache[PATH_MAX + 16];

			/* the backup helper's cached digest of it */
			snprintf(cache, sizeof(cache), "%s.sha256", t->path);
			unlink(cache);
		}
		uh_daemon_event(d, "-", "template-removed", "%s version %d", name, t->version);
	}
	return 0;
}

struct list_ctx {
	struct uh_daemon *d;
	json_t *arr;
};

static int list_one(const struct uh_template_rec *t, void *arg)
{
	struct list_ctx *c = arg;

	json_array_append_new(c->arr, template_json(t, c->d));
	return 0;
}

json_t *uh_template_list(struct uh_daemon *d, struct uh_error *err)
{
	struct list_ctx c = {.d = d, .arr = json_array()};

	struct uh_build *b;

	if (uh_store_template_list(d->store, list_one, &c, err) < 0) {
		json_decref(c.arr);
		return NULL;
	}
	for (b = d->tbuilds; b; b = b->next)
		json_array_append_new(c.arr, uh_build_json(b));
	return c.arr;
}

/* ---- builds */

static void build_exited(void *arg, pid_t pid, int status);

int uh_template_build_start(struct uh_daemon *d, json_t *p, json_t **out, struct uh_error *err)
{
	const char *name = json_string_value(json_object_get(p, "name"));
	const char *suite = json_string_value(json_object_get(p, "suite"));
	const char *packages = json_string_value(json_object_get(p, "packages"));
	const char *size = json_string_value(json_object_get(p, "size"));
	const char *mirror = json_string_value(json_object_get(p, "mirror"));
	struct uh_build *b;
	char dir[PATH_MAX], log[PATH_MAX + 16], img[PATH_MAX + 16], work[PATH_MAX + 8];
	char *argv[20];
	uint64_t bytes;
	int n = 0;
	pid_t pid;

	if (name == NULL)
		return uh_errx(err, "template build: a name is required");
	if (uh_validate_name("template", name, err) < 0)
		return -1;
	b = uh_build_find(d->tbuilds, name);
	if (b && !b->failed)
		return uh_errc(err, EBUSY, "template %s is being built already", name);
	snprintf(dir, sizeof(dir), "template %s: build", name);
	if (uh_space_check(d, dir, err) < 0)
		return -1;
	if (suite && (suite[0] == '\0' || strlen(suite) > 32 ||
		      strspn(suite, "abcdefghijklmnopqrstuvwxyz0123456789-") != strlen(suite)))
		return uh_errx(err, "template %s: invalid suite '%s'", name, suite);
	if (packages && (strlen(packages) > 1000 ||
			 strspn(packages, "abcdefghijklmnopqrstuvwxyz0123456789.+-,") !=
				 strlen(packages)))
		return uh_errx(err, "template %s: invalid package list '%s' (names separated by "
				    "commas)",
			       name, packages);
	if (size && (uh_parse_size(size, &bytes, err) < 0 || bytes < (256ULL << 20)))
		return uh_errx(err, "template %s: --size must be at least 256M", name);
	if (mirror && uh_mirror_check(mirror, err) < 0)
		return uh_err_prefix(err, "template %s", name);
	if (access(d->cfg.template_builder, R_OK) < 0)
		return uh_err(err, errno, "template %s: builder %s", name, d->cfg.template_builder);
	snprintf(dir, sizeof(dir), "%.4000s/templates/.build-%s", d->cfg.state_dir, name);
	uh_rm_tree(dir);
	if (uh_mkdirs(dir, 0755, err) < 0)
		return uh_err_prefix(err, "template %s", name);
	snprintf(log, sizeof(log), "%s/build.log", dir);
	snprintf(img, sizeof(img), "%s/image", dir);
	snprintf(work, sizeof(work), "%s/work", dir);
	argv[n++] = "/bin/bash";
	argv[n++] = d->cfg.template_builder;
	argv[n++] = "--out";
	argv[n++] = img;
	argv[n++] = "--work";
	argv[n++] = work;
	if (suite) {
		argv[n++] = "--suite";
		argv[n++] = (char *)suite;
	}
	if (packages) {
		argv[n++] = "--packages";
		argv[n++] = (char *)packages;
	}
	if (size) {
		argv[n++] = "--size";
		argv[n++] = (char *)size;
	}
	if (mirror) {
		argv[n++] = "--mirror";
		argv[n++] = (char *)mirror;
	}
	if (d->cfg.template_cache[0]) {
		argv[n++] = "--cache";
		argv[n++] = d->cfg.template_cache;
	}
	argv[n] = NULL;
	pid = uh_job_spawn(argv, log, err);
	if (pid < 0) {
		uh_rm_tree(dir);
		return uh_err_prefix(err, "template %s", name);
	}
	uh_build_started(&d->tbuilds, name, dir, pid);
	uh_child_watch(d, pid, build_exited, d);
	uh_daemon_event(d, "-", "template-build", "%s: %s%s%s (pid %d)", name,
			suite ? suite : "bookworm", packages ? " + " : "", packages ? packages : "",
			(int)pid);
	*out = json_pack("{s:s, s:s, s:s}", "name", name, "status", "building", "log", log);
	return 0;
}

/* Register the built image as the next version: renamed into place, read-only. */
static int build_register(struct uh_daemon *d, struct uh_build *b, int *version,
			  struct uh_error *err)
{
	struct uh_template_rec t = {0}, last;
	char img[PATH_MAX + 16];
	struct stat st;
	uh_autoclose int fd = -1;
	int r;

	snprintf(img, sizeof(img), "%s/image", b->dir);
	fd = open(img, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0)
		return uh_err(err, errno, "the builder left no image (%s)", img);
	if (!is_ext_image(fd))
		return uh_errx(err, "the builder's image is not an ext4 filesystem");
	r = uh_store_template_get(d->store, b->name, 0, &last, err);
	if (r < 0)
		return -1;
	snprintf(t.name, sizeof(t.name), "%s", b->name);
	t.version = r == 0 ? last.version + 1 : 1;
	version_path(d, b->name, t.version, t.path, sizeof(t.path));
	if (fchmod(fd, 0444) < 0)
		return uh_err(err, errno, "chmod %s", img);
	if (renameat2(AT_FDCWD, img, AT_FDCWD, t.path, RENAME_NOREPLACE) < 0)
		return uh_err(err, errno, "move the image to %s", t.path);
	t.size = (uint64_t)st.st_size;
	t.mtime = st.st_mtim.tv_sec;
	t.created = time(NULL);
	if (uh_store_template_put(d->store, &t, err) < 0) {
		unlink(t.path);
		return -1;
	}
	*version = t.version;
	return 0;
}

/* The builder ended: register the image as a new version, or keep the build as failed. */
static void build_exited(void *arg, pid_t pid, int status)
{
	struct uh_daemon *d = arg;
	struct uh_build *b, **pp;
	struct uh_error err;
	char log[PATH_MAX + 16], keep[PATH_MAX + 32];
	int version = 0;

	for (pp = &d->tbuilds; (b = *pp) != NULL; pp = &b->next)
		if (b->pid == pid && !b->failed)
			break;
	if (b == NULL)
		return;
	b->pid = 0;
	snprintf(log, sizeof(log), "%s/build.log", b->dir);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0 &&
	    build_register(d, b, &version, &err) == 0) {
		/* the log stays beside the image */
		snprintf(keep, sizeof(keep), "%.4000s/templates/%s.build.log", d->cfg.state_dir,
			 b->name);
		rename(log, keep);
		uh_daemon_event(d, "-", "template-built", "%s: version %d after %lld s", b->name,
				version, (long long)(time(NULL) - b->started));
		uh_rm_tree(b->dir);
		*pp = b->next;
		free(b);
		return;
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		snprintf(b->message, sizeof(b->message), "%.500s", err.msg);
	else
		uh_job_error_line(log, "template-build", b->message, sizeof(b->message));
	b->failed = 1;
	/* nothing half-built stays: only the log, for `template build` to show */
	snprintf(keep, sizeof(keep), "%s/work", b->dir);
	uh_rm_tree(keep);
	snprintf(keep, sizeof(keep), "%s/image", b->dir);
	unlink(keep);
	uh_daemon_event(d, "-", "template-build-failed", "%s: %s", b->name, b->message);
}

json_t *uh_template_get_json(struct uh_daemon *d, const char *name, struct uh_error *err)
{
	struct uh_build *b = uh_build_find(d->tbuilds, name);
	struct uh_template_rec t;
	int r;

	if (b)
		return uh_build_json(b);
	r = uh_store_template_get(d->store, name, 0, &t, err);
	if (r != 0) {
		if (r == 1)
			uh_errc(err, ENOENT, "no template named '%s'", name);
		return NULL;
	}
	return template_json(&t, d);
}

int uh_template_log_path(struct uh_daemon *d, const char *name, char *out, size_t len,
			 struct uh_error *err)
{
	struct stat st;

	if (uh_validate_name("template", name, err) < 0)
		return -1;
	if (uh_build_find(d->tbuilds, name))
		snprintf(out, len, "%.4000s/templates/.build-%s/build.log", d->cfg.state_dir, name);
	else
		snprintf(out, len, "%.4000s/templates/%s.build.log", d->cfg.state_dir, name);
	if (stat(out, &st) < 0)
		return uh_errc(err, ENOENT, "template %s has no build log", name);
	return 0;
}

/* A failed build is forgotten with `template rm`; builds a crashed daemon left are removed. */
int uh_template_forget_build(struct uh_daemon *d, const char *name)
{
	struct uh_build *b = uh_build_find(d->tbuilds, name);

	if (b == NULL || !b->failed)
		return 0;
	uh_build_drop(&d->tbuilds, b, 1);
	return 1;
}

void uh_template_shutdown(struct uh_daemon *d)
{
	uh_build_stop_all(d->tbuilds);
}
