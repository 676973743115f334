/* Kernels: Debian's /usr/bin/linux.uml registered as `stock`, and hosting kernels built from
 * Debian's kernel source by umlhost-kernel-build (scripts/kernel-build.sh) in a child of the
 * daemon, with its progress in a log the CLI reads while it runs. A built kernel lives in
 * <state>/kernels/NAME/ (linux, config, info, build.log); the build happens in
 * <state>/kernels/.build-NAME/ and is renamed into place only once it succeeded. */
#include "daemon/daemon.h"
#include "util/cleanup.h"
#include "util/fileio.h"
#include "kernel/fpu.h"
#include "kernel/source.h"
#include "util/log.h"
#include "util/validate.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define STOCK "stock"

static void build_dir(struct uh_daemon *d, const char *name, char *out, size_t len)
{
	snprintf(out, len, "%.3900s/kernels/.build-%s", d->cfg.state_dir, name);
}

static void final_dir(struct uh_daemon *d, const char *name, char *out, size_t len)
{
	snprintf(out, len, "%.3900s/kernels/%s", d->cfg.state_dir, name);
}

int uh_kernel_resolve(struct uh_daemon *d, const char *name, char *path, size_t len,
		      struct uh_error *err)
{
	struct uh_kernel_rec k;
	int r;

	if (strcmp(name, STOCK) == 0) {
		snprintf(path, len, "%s", d->cfg.kernel);
		return 0;
	}
	r = uh_store_kernel_get(d->store, name, &k, err);
	if (r < 0)
		return -1;
	if (r == 1)
		return uh_errc(err, ENOENT, "unknown kernel '%s' (see umlhost kernel list)", name);
	snprintf(path, len, "%s", k.path);
	return 0;
}

struct newest {
	char name[UH_KEY_MAX];
};

static int take_last(const struct uh_kernel_rec *k, void *arg)
{
	snprintf(((struct newest *)arg)->name, UH_KEY_MAX, "%s", k->name);
	return 0;
}

void uh_kernel_default(struct uh_daemon *d, char out[UH_KEY_MAX])
{
	struct newest n = {STOCK};
	struct uh_error err;

	if (d->cfg.default_kernel[0]) {
		snprintf(out, UH_KEY_MAX, "%s", d->cfg.default_kernel);
		return;
	}
	/* once a hosting kernel is built it is what new instances get */
	if (uh_store_kernel_list(d->store, take_last, &n, &err) < 0)
		uh_warnx("kernels: %s", err.msg);
	snprintf(out, UH_KEY_MAX, "%s", n.name);
}

/* Read KEY=value from the builder's info file. */
static void info_value(const char *info, const char *key, char *out, size_t len)
{
	uh_autofclose FILE *fp = fopen(info, "re");
	char line[512];
	size_t k = strlen(key);

	out[0] = '\0';
	while (fp && fgets(line, sizeof(line), fp)) {
		if (strncmp(line, key, k) == 0 && line[k] == '=') {
			line[strcspn(line, "\n")] = '\0';
			snprintf(out, len, "%s", line + k + 1);
		}
	}
}

/* A built kernel's FPU state from its info file (written by umlhost-kernel-build beside the
 * binary); kernels built before the patch series have none and hold linux-source-6.1's
 * fixed size. */
static long built_fpu(const struct uh_kernel_rec *k)
{
	char info[PATH_MAX + 8], v[32], *slash;
	struct uh_error err;
	long fpu;

	snprintf(info, sizeof(info), "%s", k->path);
	slash = strrchr(info, '/');
	if (slash == NULL)
		return UH_FPU_UML61_BYTES;
	strcpy(slash + 1, "info");
	info_value(info, "fpu_size", v, sizeof(v));
	if (v[0] == '\0')
		return UH_FPU_UML61_BYTES;
	if (uh_fpu_parse(v, &fpu, &err) < 0) {
		uh_warnx("kernel %s: %s in %s", k->name, err.msg, info);
		return UH_FPU_UML61_BYTES;
	}
	return fpu;
}

static long kernel_fpu(struct uh_daemon *d, const struct uh_kernel_rec *k)
{
	return strcmp(k->name, STOCK) == 0 ? d->stock_fpu : built_fpu(k);
}

int uh_kernel_check_usable(struct uh_daemon *d, const char *name, struct uh_error *err)
{
	struct uh_kernel_rec k = {0};
	char why[512];
	int r;

	if (strcmp(name, STOCK) == 0) {
		snprintf(k.name, sizeof(k.name), STOCK);
	} else {
		r = uh_store_kernel_get(d->store, name, &k, err);
		if (r < 0)
			return -1;
		if (r == 1)
			return uh_errc(err, ENOENT, "unknown kernel '%s' (see umlhost kernel list)",
				       name);
	}
	if (!uh_fpu_fits(name, kernel_fpu(d, &k), d->host_fpu, why, sizeof(why)))
		return uh_errc(err, ENOEXEC, "%s", why);
	return 0;
}

static json_t *users_of(struct uh_daemon *d, const char *name)
{
	json_t *a = json_array();
	struct uh_instance *i;

	for (i = d->instances; i; i = i->next)
		if (strcmp(i->rec.kernel, name) == 0)
			json_array_append_new(a, json_string(i->rec.name));
	return a;
}

static json_t *kernel_json(struct uh_daemon *d, const struct uh_kernel_rec *k, const char *dflt)
{
	long fpu = kernel_fpu(d, k);
	char why[512];
	int fits = uh_fpu_fits(k->name, fpu, d->host_fpu, why, sizeof(why));

	/* usable: null when the host's size could not be measured */
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:b, s:o, s:o, s:o, s:s?}", "name",
			 k->name, "status", "ready", "path", k->path, "source", k->source,
			 "release", k->release, "created_at", json_integer(k->created), "default",
			 strcmp(k->name, dflt) == 0, "instances", users_of(d, k->name), "usable",
			 d->host_fpu ? json_boolean(fits) : json_null(), "fpu_size",
			 fpu == UH_FPU_PROBED ? json_string("host") : json_integer(fpu),
			 "unusable_reason", fits ? NULL : why);
}

struct list_ctx {
	struct uh_daemon *d;
	json_t *arr;
	const char *dflt;
};

static int list_one(const struct uh_kernel_rec *k, void *arg)
{
	struct list_ctx *l = arg;

	json_array_append_new(l->arr, kernel_json(l->d, k, l->dflt));
	return 0;
}

json_t *uh_kernel_get_json(struct uh_daemon *d, const char *name, struct uh_error *err)
{
	struct uh_build *b = uh_build_find(d->builds, name);
	struct uh_kernel_rec k;
	char dflt[UH_KEY_MAX];
	int r;

	uh_kernel_default(d, dflt);
	if (b)
		return uh_build_json(b);
	if (strcmp(name, STOCK) == 0) {
		struct uh_kernel_rec s = {0};

		snprintf(s.name, sizeof(s.name), STOCK);
		snprintf(s.path, sizeof(s.path), "%s", d->cfg.kernel);
		snprintf(s.source, sizeof(s.source), "Debian user-mode-linux");
		return kernel_json(d, &s, dflt);
	}
	r = uh_store_kernel_get(d->store, name, &k, err);
	if (r < 0)
		return NULL;
	if (r == 1) {
		uh_errc(err, ENOENT, "no kernel named '%s'", name);
		return NULL;
	}
	return kernel_json(d, &k, dflt);
}

json_t *uh_kernel_list(struct uh_daemon *d, struct uh_error *err)
{
	char dflt[UH_KEY_MAX];
	struct list_ctx l = {d, json_array(), dflt};
	struct uh_build *b;

	uh_kernel_default(d, dflt);
	json_array_append_new(l.arr, uh_kernel_get_json(d, STOCK, err));
	if (uh_store_kernel_list(d->store, list_one, &l, err) < 0) {
		json_decref(l.arr);
		return NULL;
	}
	for (b = d->builds; b; b = b->next)
		json_array_append_new(l.arr, uh_kernel_get_json(d, b->name, err));
	return l.arr;
}

int uh_kernel_log_path(struct uh_daemon *d, const char *name, char *out, size_t len,
		       struct uh_error *err)
{
	struct stat st;

	if (uh_validate_name("kernel", name, err) < 0)
		return -1;
	if (uh_build_find(d->builds, name))
		build_dir(d, name, out, len - 16);
	else
		final_dir(d, name, out, len - 16);
	strcat(out, "/build.log");
	if (stat(out, &st) < 0)
		return uh_errc(err, ENOENT, "kernel %s has no build log", name);
	return 0;
}

static void build_exited(void *arg, pid_t pid, int status);

int uh_kernel_build_start(struct uh_daemon *d, json_t *p, json_t **out, struct uh_error *err)
{
	const char *name = json_string_value(json_object_get(p, "name"));
	const char *source = json_string_value(json_object_get(p, "source"));
	const char *fragment = json_string_value(json_object_get(p, "fragment"));
	struct uh_build *b;
	struct uh_kernel_rec k;
	char dir[PATH_MAX], log[PATH_MAX + 16], outdir[PATH_MAX + 8], kdir[PATH_MAX];
	int r;
	pid_t pid;

	if (name == NULL)
		return uh_errx(err, "kernel build: a name is required");
	if (uh_validate_name("kernel", name, err) < 0)
		return -1;
	if (strcmp(name, STOCK) == 0)
		return uh_errc(err, EEXIST, "'stock' is Debian's kernel; pick another name");
	b = uh_build_find(d->builds, name);
	if (b && !b->failed)
		return uh_errc(err, EBUSY, "kernel %s is being built already", name);
	r = uh_store_kernel_get(d->store, name, &k, err);
	if (r < 0)
		return -1;
	if (r == 0)
		return uh_errc(err, EEXIST, "kernel '%s' exists (umlhost kernel rm %s first)", name,
			       name);
	/* the builder's uid must be no instance's (one made before it was kept for builds) */
	{
		struct uh_instance *i;

		for (i = d->instances; i; i = i->next)
			if ((uint32_t)i->rec.uid == uh_config_build_uid(&d->cfg))
				return uh_errc(err, EBUSY,
					       "kernel %s: instance %s has uid %u, the kernel "
					       "builder's (the last of uid_min/uid_count); widen the "
					       "range by one or move the instance",
					       name, i->rec.name, uh_config_build_uid(&d->cfg));
	}
	if (source == NULL)
		source = d->cfg.kernel_source;
	if (fragment == NULL)
		fragment = d->cfg.kernel_fragment;
	if (source[0] != '/' || fragment[0] != '/')
		return uh_errx(err, "kernel %s: --source and --config-fragment need absolute paths",
			       name);
	/* root runs the tarball's Makefile: only Debian's kernel sources */
	if (uh_kernel_source_check(source, d->cfg.kernel_source, err) < 0) {
		int missing = err->errnum == ENOENT;
		size_t n;

		uh_err_prefix(err, "kernel %s", name);
		n = strlen(err->msg);
		if (missing && strcmp(source, "/usr/src/linux-source-6.1.tar.xz") == 0)
			snprintf(err->msg + n, sizeof(err->msg) - n,
				 " (apt-get install linux-source-6.1)");
		return -1;
	}
	if (access(fragment, R_OK) < 0)
		return uh_err(err, errno, "kernel %s: config fragment %s", name, fragment);
	if (access(d->cfg.kernel_patches, R_OK | X_OK) < 0)
		return uh_err(err, errno, "kernel %s: patch series %s", name, d->cfg.kernel_patches);
	if (access(d->cfg.kernel_builder, R_OK) < 0)
		return uh_err(err, errno, "kernel %s: builder %s", name, d->cfg.kernel_builder);

	snprintf(kdir, sizeof(kdir), "%.4000s/kernels", d->cfg.state_dir);
	build_dir(d, name, dir, sizeof(dir));
	if (mkdir(kdir, 0755) < 0 && errno != EEXIST)
		return uh_err(err, errno, "kernel %s: create %s", name, kdir);
	uh_rm_tree(dir);
	snprintf(outdir, sizeof(outdir), "%s/out", dir);
	/* closed: the builder's uid must not reach another build's work directory */
	if (mkdir(dir, 0700) < 0)
		return uh_err(err, errno, "kernel %s: create %s", name, dir);
	snprintf(log, sizeof(log), "%s/build.log", dir);
	{
		char work[PATH_MAX + 8], uid[16];
		/* the source's code runs as the range's last uid, which no instance gets
		 * (uh_instance_uid_free), in the builder's namespaces */
		char *argv[] = {"/bin/bash", d->cfg.kernel_builder, "--source", (char *)source,
				"--fragment", (char *)fragment, "--out", outdir, "--work", work,
				"--cache", d->cfg.kernel_cache, "--patches",
				d->cfg.kernel_patches, "--build-uid", uid, NULL};

		snprintf(work, sizeof(work), "%s/work", dir);
		snprintf(uid, sizeof(uid), "%u", uh_config_build_uid(&d->cfg));
		pid = uh_job_spawn(argv, log, err);
	}
	if (pid < 0) {
		uh_err_prefix(err, "kernel %s", name);
		uh_rm_tree(dir);
		return -1;
	}
	uh_build_started(&d->builds, name, dir, pid);
	uh_child_watch(d, pid, build_exited, d);
	uh_daemon_event(d, "", "kernel-build", "%s: building from %s with %s (pid %d)", name, source,
			fragment, (int)pid);
	*out = json_pack("{s:s, s:s, s:s}", "name", name, "status", "building", "log", log);
	return 0;
}

static int build_finish(struct uh_daemon *d, struct uh_build *b, struct uh_error *err)
{
	char out[PATH_MAX + 8], info[PATH_MAX + 16], final[PATH_MAX], path[PATH_MAX + 16];
	struct uh_kernel_rec k = {0};
	struct stat st;

	snprintf(out, sizeof(out), "%s/out", b->dir);
	snprintf(info, sizeof(info), "%s/info", out);
	snprintf(path, sizeof(path), "%s/linux", out);
	if (stat(path, &st) < 0 || !(st.st_mode & S_IXUSR) || stat(info, &st) < 0)
		return uh_errx(err, "the builder ended without a kernel binary and its info");
	final_dir(d, b->name, final, sizeof(final));
	uh_rm_tree(final);
	/* the result: binary, config, info, log in one directory, renamed into place */
	snprintf(path, sizeof(path), "%s/work", b->dir);
	uh_rm_tree(path);
	{
		char from[PATH_MAX + 32], to[PATH_MAX + 32];
		snprintf(from, sizeof(from), "%s/build.log", b->dir);
		snprintf(to, sizeof(to), "%s/build.log", out);
		if (rename(from, to) < 0)
			return uh_err(err, errno, "move %s", from);
	}
	if (rename(out, final) < 0)
		return uh_err(err, errno, "move %s to %s", out, final);
	uh_rm_tree(b->dir);
	snprintf(k.name, sizeof(k.name), "%s", b->name);
	snprintf(k.path, sizeof(k.path), "%.4000s/linux", final);
	snprintf(info, sizeof(info), "%s/info", final);
	info_value(info, "source", k.source, sizeof(k.source));
	info_value(info, "release", k.release, sizeof(k.release));
	info_value(info, "fragment_sha256", k.fragment_sha256, sizeof(k.fragment_sha256));
	k.created = time(NULL);
	chmod(k.path, 0755);
	return uh_store_kernel_put(d->store, &k, err);
}

/* The builder ended: register the kernel, or keep the build as failed with its error. */
static void build_exited(void *arg, pid_t pid, int status)
{
	struct uh_daemon *d = arg;
	struct uh_build *b, **pp;
	struct uh_error err;

	for (pp = &d->builds; (b = *pp) != NULL; pp = &b->next)
		if (b->pid == pid && !b->failed)
			break;
	if (b == NULL)
		return;
	b->pid = 0;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0 && build_finish(d, b, &err) == 0) {
		uh_daemon_event(d, "", "kernel-built", "%s: ready after %lld s", b->name,
				(long long)(time(NULL) - b->started));
		*pp = b->next;
		free(b);
		return;
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		snprintf(b->message, sizeof(b->message), "%.500s", err.msg);
	} else {
		char log[PATH_MAX + 16];

		snprintf(log, sizeof(log), "%s/build.log", b->dir);
		uh_job_error_line(log, "kernel-build", b->message, sizeof(b->message));
	}
	b->failed = 1;
	/* keep only the log, for `kernel build` to show */
	{
		char p[PATH_MAX + 8];
		snprintf(p, sizeof(p), "%s/work", b->dir);
		uh_rm_tree(p);
		snprintf(p, sizeof(p), "%s/out", b->dir);
		uh_rm_tree(p);
	}
	uh_daemon_event(d, "", "kernel-build-failed", "%s: %s", b->name, b->message);
}

int uh_kernel_remove(struct uh_daemon *d, const char *name, struct uh_error *err)
{
	struct uh_build *b = uh_build_find(d->builds, name);
	struct uh_kernel_rec k;
	struct uh_instance *i;
	char dir[PATH_MAX];
	int r;

	if (uh_validate_name("kernel", name, err) < 0)
		return -1;
	if (strcmp(name, STOCK) == 0)
		return uh_errc(err, EBUSY, "'stock' is Debian's kernel and cannot be removed");
	if (b && !b->failed)
		return uh_errc(err, EBUSY, "kernel %s is being built", name);
	if (b) { /* a failed build: forget it and its log */
		uh_build_drop(&d->builds, b, 1);
		return 0;
	}
	r = uh_store_kernel_get(d->store, name, &k, err);
	if (r < 0)
		return -1;
	if (r == 1)
		return uh_errc(err, ENOENT, "no kernel named '%s'", name);
	for (i = d->instances; i; i = i->next)
		if (strcmp(i->rec.kernel, name) == 0)
			return uh_errc(err, EBUSY, "kernel %s is used by instance %s", name,
				       i->rec.name);
	if (uh_store_kernel_del(d->store, name, err) < 0)
		return -1;
	final_dir(d, name, dir, sizeof(dir));
	uh_rm_tree(dir);
	uh_daemon_event(d, "", "kernel-removed", "%s", name);
	return 0;
}

void uh_kernel_shutdown(struct uh_daemon *d)
{
	uh_build_stop_all(d->builds);
}

void uh_kernel_init(struct uh_daemon *d)
{
	char kdir[PATH_MAX], p[PATH_MAX * 2];
	uh_autoclosedir DIR *dir = NULL;
	struct dirent *de;
	struct uh_error err;
	int r;

	/* which kernels can run here: measured once, the CPU does not change under us */
	if (uh_fpu_probe_host(&d->host_fpu, &err) < 0) {
		d->host_fpu = 0;
		uh_warnx("cannot measure the host's XSAVE size (%s): kernels are not checked",
			 err.msg);
	} else {
		uh_info("host XSAVE area: %ld bytes", d->host_fpu);
	}
	r = uh_fpu_binary_probes(d->cfg.kernel, &err);
	if (r < 0)
		uh_warnx("stock kernel: %s", err.msg);
	d->stock_fpu = r == 1 ? UH_FPU_PROBED : UH_FPU_UML61_BYTES;
	if (!uh_fpu_fits("stock", d->stock_fpu, d->host_fpu, NULL, 0))
		uh_info("the stock kernel %s (%ld bytes of FPU state) cannot run on this CPU",
			d->cfg.kernel, d->stock_fpu);

	/* builds a crashed daemon left half done */
	snprintf(kdir, sizeof(kdir), "%.4000s/kernels", d->cfg.state_dir);
	dir = opendir(kdir);
	while (dir && (de = readdir(dir)) != NULL) {
		if (strncmp(de->d_name, ".build-", 7) != 0)
			continue;
		snprintf(p, sizeof(p), "%s/%s", kdir, de->d_name);
		uh_warnx("removing an unfinished kernel build %s", p);
		uh_rm_tree(p);
	}
}
