/* Instances: definition, the per-instance operation queue, and the lifecycle state machines
 * (start, stop, kill, reboot, restart, delete), crash handling with restart policies, and
 * re-adoption of instances that kept running while the daemon was away.
 *
 * Every transition is one log line and one event. Nothing here blocks: outside calls
 * (mconsole, process exit, boot) are watched on the loop with a deadline. */
#include "daemon/budget.h"
#include "backup/target.h"
#include "daemon/daemon.h"
#include "daemon/instance_spec.h"
#include "jail/idrange.h"
#include "kernel/args.h"
#include "cow/cow_file.h"
#include "util/cleanup.h"
#include "util/fileio.h"
#include "util/log.h"
#include "util/proc.h"
#include "util/sparse_copy.h"
#include "util/timeutil.h"
#include "util/validate.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/pidfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum {
	PH_NONE,
	PH_BOOTING,  /* monitor spawned, waiting for the notify socket */
	PH_READY,    /* notified, waiting for the mconsole to answer */
	PH_STOPPING, /* cad / halt / kill sent, waiting for the exit */
	PH_REBOOT,   /* reboot sent, waiting for its reply */
};

static void op_begin(struct uh_instance *inst);
static void start_begin(struct uh_instance *inst);
static void exit_finalize(struct uh_instance *inst, const char *status);
static void notify_readable(void *arg, uint32_t events);
static void ready_resend(void *arg);
#define READY_RESEND_MS 1000

/* a state the store could not write is tried again after this long (save_retry) */
#define SAVE_RETRY_MS 5000
/* guest notifications handled per loop turn (notify_readable) */
#define NOTIFY_BATCH 32

/* ---- small helpers */


/* Record what happened to the instance (a state it reached, a pid it got). These are facts
 * already true on the host, so memory keeps them even when the write fails (after the store
 * has used the database's reserve: db_reserve.c); the instance is then written again every
 * few seconds until it is on disk (save_retry). What an admin asks for is
 * written before it acts and refused if that fails (record_state). */
static void save_retry(void *arg);

static void save(struct uh_instance *inst)
{
	struct uh_daemon *d = inst->d;
	struct uh_error err;

	if (uh_store_instance_put(d->store, &inst->rec, &err) < 0) {
		if (!inst->unsaved)
			uh_warnx("%s: %s (written again when it can be)", inst->rec.name, err.msg);
		inst->unsaved = 1;
		if (d->save_timer == NULL)
			d->save_timer = uh_loop_after(d->loop, SAVE_RETRY_MS, save_retry, d);
		return;
	}
	inst->unsaved = 0;
}

/* The instances whose last state could not be written, written again (re-armed by save()
 * while one still fails). */
static void save_retry(void *arg)
{
	struct uh_daemon *d = arg;
	struct uh_instance *i;

	d->save_timer = NULL;
	for (i = d->instances; i; i = i->next)
		if (i->unsaved) {
			save(i);
			if (!i->unsaved)
				uh_info("%s: its state is recorded again", i->rec.name);
		}
}

static void set_state(struct uh_instance *inst, const char *state)
{
	snprintf(inst->rec.state, sizeof(inst->rec.state), "%s", state);
	save(inst);
}

/* The state an admin's operation moves to, written before the operation acts: if it cannot
 * be written the operation is refused and memory keeps the old state. */
static int record_state(struct uh_instance *inst, const char *state, const char *what,
			struct uh_error *err)
{
	char old[sizeof(inst->rec.state)];

	memcpy(old, inst->rec.state, sizeof(old));
	if (state != inst->rec.state) /* (the same state: the record written as it is) */
		snprintf(inst->rec.state, sizeof(inst->rec.state), "%s", state);
	if (uh_store_instance_put(inst->d->store, &inst->rec, err) < 0) {
		memcpy(inst->rec.state, old, sizeof(old));
		return uh_err_prefix(err, "%s: %s refused, nothing changed: its state cannot be "
					  "recorded",
				     inst->rec.name, what);
	}
	inst->unsaved = 0;
	return 0;
}

static int is_state(const struct uh_instance *inst, const char *s)
{
	return strcmp(inst->rec.state, s) == 0;
}

static int is_active(const struct uh_instance *inst)
{
	return is_state(inst, "starting") || is_state(inst, "running") ||
	       is_state(inst, "stopping");
}

/* The last lines the kernel printed, joined on one line for an error message. */
static void console_tail(const struct uh_instance *inst, char *out, size_t len)
{
	uh_autoclose int fd = open(inst->log_path, O_RDONLY | O_CLOEXEC);
	char buf[1500], *lines[6], *p;
	int n = 0, i;
	off_t size;
	ssize_t r;

	out[0] = '\0';
	if (fd < 0)
		return;
	size = lseek(fd, 0, SEEK_END);
	r = uh_pread_full(fd, buf, sizeof(buf) - 1, size > (off_t)sizeof(buf) - 1
							   ? size - (off_t)sizeof(buf) + 1
							   : 0);
	if (r <= 0)
		return;
	buf[r] = '\0';
	for (p = buf; *p; p++)
		if (*p == '\r' || *p == '\t')
			*p = ' ';
	/* keep the last few non-empty lines */
	for (p = strtok(buf, "\n"); p; p = strtok(NULL, "\n")) {
		while (*p == ' ')
			p++;
		if (*p == '\0')
			continue;
		if (n == 6) {
			memmove(lines, lines + 1, sizeof(lines[0]) * 5);
			n = 5;
		}
		lines[n++] = p;
	}
	for (i = 0; i < n; i++) {
		size_t used = strlen(out);
		snprintf(out + used, len - used, "%s%s", i ? " | " : "", lines[i]);
	}
}

/* ---- lookup, paths, JSON */

struct uh_instance *uh_instance_find(struct uh_daemon *d, const char *name)
{
	struct uh_instance *i;

	for (i = d->instances; i; i = i->next)
		if (strcmp(i->rec.name, name) == 0)
			return i;
	return NULL;
}

static int inst_paths(struct uh_instance *inst, struct uh_error *err)
{
	const struct uh_config *c = &inst->d->cfg;
	const char *n = inst->rec.name;

	/* precisions keep the compiler sure nothing is cut; real paths are far shorter */
	snprintf(inst->dir, sizeof(inst->dir), "%.4000s/instances/%.32s", c->state_dir, n);
	snprintf(inst->run_dir, sizeof(inst->run_dir), "%.4000s/i/%.32s", c->run_dir, n);
	snprintf(inst->umid_dir, sizeof(inst->umid_dir), "%.4000s/u", inst->run_dir);
	snprintf(inst->mconsole, sizeof(inst->mconsole), "%.4000s/%.32s/mconsole", inst->umid_dir,
		 n);
	snprintf(inst->log_path, sizeof(inst->log_path), "%.4000s/console.log", inst->dir);
	if (uh_cgroup_paths(c->cgroup_base, n, &inst->cg, err) < 0)
		return -1;
	/* unix socket paths hold at most 107 bytes */
	if (strlen(inst->mconsole) > 107 || strlen(inst->run_dir) + 20 > 107)
		return uh_errx(err, "run_dir %s is too long: instance sockets under it would "
				    "exceed 107 bytes",
			       c->run_dir);
	return 0;
}

static struct uh_instance *inst_add(struct uh_daemon *d, const struct uh_instance_rec *rec,
				    struct uh_error *err)
{
	struct uh_instance *inst = calloc(1, sizeof(*inst)), **pp;

	if (inst == NULL)
		abort();
	inst->d = d;
	inst->rec = *rec;
	inst->pidfd = -1;
	if (inst_paths(inst, err) < 0) {
		free(inst);
		return NULL;
	}
	for (pp = &d->instances; *pp && strcmp((*pp)->rec.name, rec->name) < 0; pp = &(*pp)->next)
		;
	inst->next = *pp;
	*pp = inst;
	d->n_instances++;
	return inst;
}

static void inst_remove(struct uh_instance *inst)
{
	struct uh_instance **pp;

	for (pp = &inst->d->instances; *pp; pp = &(*pp)->next) {
		if (*pp == inst) {
			*pp = inst->next;
			inst->d->n_instances--;
			break;
		}
	}
	uh_mc_result_clear(&inst->mc_res);
	free(inst);
}

static json_t *time_or_null(int64_t t)
{
	char buf[40];
	struct tm tm;
	time_t tt = (time_t)t;

	if (t == 0)
		return json_null();
	gmtime_r(&tt, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
	return json_string(buf);
}

json_t *uh_instance_json(const struct uh_instance *inst)
{
	const struct uh_instance_rec *r = &inst->rec;
	int running = is_active(inst) && r->pid > 0;
	json_t *args = json_array();
	char copy[sizeof(r->kernel_args)], *a, *save = NULL;

	json_t *o;

	snprintf(copy, sizeof(copy), "%s", r->kernel_args);
	for (a = strtok_r(copy, " ", &save); a; a = strtok_r(NULL, " ", &save))
		json_array_append_new(args, json_string(a));
	o = json_pack("{s:s, s:s, s:o, s:I, s:s, s:o, s:o, s:o, s:o, s:i, s:b, s:s, s:i, s:o,"
			 " s:s, s:s, s:o, s:s, s:o, s:o}",
			 "name", r->name, "state", r->state, "pid",
			 running ? json_integer(r->pid) : json_null(), "memory_mib",
			 (json_int_t)r->memory_mib, "template", r->template_name, "network",
			 r->network[0] ? json_string(r->network) : json_null(), "ip",
			 r->ip[0] ? json_string(r->ip) : json_null(), "mac",
			 r->mac[0] ? json_string(r->mac) : json_null(), "tap",
			 r->tap[0] ? json_string(r->tap) : json_null(), "uid", r->uid, "autostart", r->autostart, "restart",
			 r->restart, "restarts", r->restarts, "started_at",
			 time_or_null(running ? r->started_at : 0), "disk", r->disk, "kernel",
			 r->kernel, "console",
			 running ? json_sprintf("%s/console.sock", inst->run_dir) : json_null(),
			 "log", inst->log_path, "created_at", time_or_null(r->created),
			 "kernel_args", args);
	json_object_set_new(o, "cpu_quota", r->cpu_quota_pct ? json_sprintf("%d%%", r->cpu_quota_pct)
							      : json_null());
	json_object_set_new(o, "template_version", json_integer(r->template_version));
	json_object_set_new(o, "flat", json_boolean(r->flat));
	json_object_set_new(o, "swap_mib", json_integer((json_int_t)r->swap_mib));
	json_object_set_new(o, "backup_every_s", json_integer(r->backup_every_s));
	json_object_set_new(o, "backup_keep", json_integer(r->backup_keep));
	json_object_set_new(o, "backup_to", r->backup_to[0] ? json_string(r->backup_to) : json_null());
	{
		json_t *dl = json_array();
		char dc[sizeof(r->disks)], *dp, *ds = NULL;

		snprintf(dc, sizeof(dc), "%s", r->disks);
		for (dp = strtok_r(dc, " ", &ds); dp; dp = strtok_r(NULL, " ", &ds))
			json_array_append_new(dl, json_string(dp));
		json_object_set_new(o, "disks", dl);
	}
	json_object_set_new(o, "pids_max",
			    json_integer(r->pids_max ? r->pids_max : inst->d->cfg.pids_max));
	json_object_set_new(o, "memory_limit_bytes",
			    json_integer((json_int_t)uh_cgroup_memory_for(r->memory_mib)));
	return o;
}

json_t *uh_instance_stats(struct uh_instance *inst)
{
	double cpu = 0;
	uint64_t mem = 0;
	struct stat st;
	const uint64_t *net = inst->rec.net_total;

	/* the cgroup counts every process of the instance once; /proc is the fallback */
	if (is_active(inst) && inst->rec.pid > 0 &&
	    (!inst->have_cg || uh_cgroup_usage(&inst->cg, &cpu, &mem) < 0))
		uh_proc_session_usage(inst->rec.pid, &cpu, &mem);
	if (stat(inst->rec.disk, &st) < 0)
		st.st_blocks = 0;
	/* traffic: the totals of earlier taps plus what the current one counted */
	if (is_active(inst))
		uh_net_sample(inst);
	return json_pack("{s:s, s:s, s:f, s:I, s:I, s:I, s:I, s:I, s:I, s:i}", "name",
			 inst->rec.name, "state", inst->rec.state, "cpu_seconds", cpu,
			 "memory_bytes", (json_int_t)mem, "rx_bytes",
			 (json_int_t)net[UH_NET_RX_BYTES], "tx_bytes",
			 (json_int_t)net[UH_NET_TX_BYTES], "rx_packets",
			 (json_int_t)net[UH_NET_RX_PACKETS], "tx_packets",
			 (json_int_t)net[UH_NET_TX_PACKETS],
			 "disk_bytes", (json_int_t)st.st_blocks * 512, "processes",
			 is_active(inst) ? uh_proc_session_count(inst->rec.pid) : 0);
}

/* ---- memory */

uint64_t uh_host_memory_mib(void)
{
	FILE *fp = fopen("/proc/meminfo", "re");
	char line[256];
	uint64_t kb = 0, v;

	if (fp == NULL)
		return 0;
	while (fgets(line, sizeof(line), fp)) {
		if (sscanf(line, "MemTotal: %lu kB", &v) == 1 ||
		    sscanf(line, "SwapTotal: %lu kB", &v) == 1)
			kb += v;
	}
	fclose(fp);
	return kb / 1024;
}

uint64_t uh_daemon_committed_mib(struct uh_daemon *d)
{
	struct uh_instance *i;
	uint64_t sum = 0;

	for (i = d->instances; i; i = i->next)
		if (is_active(i))
			sum += i->rec.memory_mib;
	return sum;
}

/* ---- create */

/* "24h", "30m", "10s", "2d" or plain seconds; at least 1 s. */
/* Whether the space-separated list holds exactly `path`. */
/* <dir>/swap.img: sparse, formatted by mkswap, the instance's own. */
static int make_swap(struct uh_instance *inst, struct uh_error *err)
{
	char path[PATH_MAX + 16];
	int fd, status;
	pid_t pid;

	snprintf(path, sizeof(path), "%.4000s/swap.img", inst->dir);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 || ftruncate(fd, (off_t)(inst->rec.swap_mib << 20)) < 0) {
		uh_err(err, errno, "%s: swap disk %s", inst->rec.name, path);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);

		dup2(null, 1);
		dup2(null, 2);
		execlp("mkswap", "mkswap", "-L", "umlhost-swap", path, (char *)NULL);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0)
		return uh_errx(err, "%s: mkswap %s failed", inst->rec.name, path);
	if (inst->rec.uid > 0 &&
	    chown(path, (uid_t)inst->rec.uid, (gid_t)inst->rec.uid) < 0)
		return uh_err(err, errno, "%s: give %s to uid %d", inst->rec.name, path,
			      inst->rec.uid);
	return 0;
}

/* The jailed kernel opens its data disks as its own uid: each is checked again, open, and
 * given away through that descriptor (uh_data_disk_open). All or none: when one cannot be
 * given, those given already get their owner and mode back (the uid would otherwise go, with
 * them, to the next instance created). */
static int give_disks(struct uh_instance *inst, struct uh_error *err)
{
	char copy[sizeof(inst->rec.disks)], *p, *save = NULL;
	int fds[8], n = 0, k, rc = 0;
	struct stat was[8];

	snprintf(copy, sizeof(copy), "%s", inst->rec.disks);
	for (p = strtok_r(copy, " ", &save); p && n < 8; p = strtok_r(NULL, " ", &save)) {
		int fd = uh_data_disk_open(inst->d, inst->rec.name, p, err);

		if (fd < 0) {
			rc = uh_err_prefix(err, "%s", inst->rec.name);
			break;
		}
		if (fstat(fd, &was[n]) < 0 ||
		    fchown(fd, (uid_t)inst->rec.uid, (gid_t)inst->rec.uid) < 0 ||
		    fchmod(fd, 0600) < 0) {
			rc = uh_err(err, errno, "%s: give --disk %s to uid %d", inst->rec.name, p,
				    inst->rec.uid);
			close(fd);
			break;
		}
		fds[n++] = fd;
	}
	for (k = 0; k < n; k++) {
		if (rc < 0 && (fchown(fds[k], was[k].st_uid, was[k].st_gid) < 0 ||
			       fchmod(fds[k], was[k].st_mode & 07777) < 0))
			uh_warnx("%s: could not give a data disk back: %s", inst->rec.name,
				 strerror(errno));
		close(fds[k]);
	}
	return rc;
}

int uh_instance_create(struct uh_daemon *d, json_t *p, json_t **out, struct uh_error *err)
{
	const char *name = json_string_value(json_object_get(p, "name"));
	char what[64];

	snprintf(what, sizeof(what), "%.32s: create", name ? name : "create");
	if (uh_space_check(d, what, err) < 0)
		return -1;
	return uh_instance_create_from(d, p, NULL, out, err);
}

int uh_instance_create_from(struct uh_daemon *d, json_t *p, const struct uh_disk_src *src,
			    json_t **out, struct uh_error *err)
{
	int flat = src && src->flat;
	struct uh_instance_limits lim = {d->cfg.default_memory_mib, d->cfg.min_memory_mib,
					 uh_host_memory_mib(), sysconf(_SC_NPROCESSORS_ONLN)};
	struct uh_instance_spec spec;
	struct uh_instance_rec rec;
	struct uh_template_rec t;
	struct uh_instance *inst;
	const char *name, *tpl;
	int r;

	/* what the request says, checked without touching anything */
	if (uh_instance_spec_parse(p, flat, &lim, &spec, err) < 0)
		return -1;
	rec = spec.rec;
	name = rec.name;
	tpl = rec.template_name[0] ? rec.template_name : NULL;
	/* then what needs the daemon: the kernel, the disk files, the name, the template */
	if (spec.kernel_named) {
		char kpath[PATH_MAX];

		if (uh_kernel_resolve(d, rec.kernel, kpath, sizeof(kpath), err) < 0)
			return uh_err_prefix(err, "%s", name);
	} else {
		uh_kernel_default(d, rec.kernel);
	}
	/* an instance that could only crash at init is not made */
	if (uh_kernel_check_usable(d, rec.kernel, err) < 0)
		return uh_err_prefix(err, "%s", name);
	{
		/* checked here for a clear answer; given away (by descriptor) at the end */
		char list[sizeof(rec.disks)], *path, *save = NULL;

		snprintf(list, sizeof(list), "%s", rec.disks);
		for (path = strtok_r(list, " ", &save); path; path = strtok_r(NULL, " ", &save)) {
			int dfd = uh_data_disk_open(d, name, path, err);

			if (dfd < 0)
				return uh_err_prefix(err, "%s", name);
			close(dfd);
		}
	}
	rec.backup_last = time(NULL); /* the first backup an interval after creation */
	if (uh_instance_find(d, name) != NULL)
		return uh_errc(err, EEXIST, "instance '%s' already exists", name);
	/* the newest version, unless a restore asks for the one its disk was made over; a
	 * restored private image needs none */
	memset(&t, 0, sizeof(t));
	t.version = spec.template_version;
	r = flat ? 0 : uh_store_template_get(d->store, tpl, spec.template_version, &t, err);
	if (r < 0)
		return -1;
	if (r == 1 && spec.template_version)
		return uh_errc(err, ENOENT, "%s: template '%s' version %d is missing", name, tpl,
			       spec.template_version);
	if (r == 1)
		return uh_errc(err, ENOENT, "%s: unknown template '%s' (see umlhost template list)",
			       name, tpl);

	if (d->cfg.jail) {
		/* the lowest free uid of the range: each instance its own; the last is the
		 * kernel builder's (uh_config_build_uid) */
		uint32_t uid, end = uh_config_build_uid(&d->cfg);
		struct uh_instance *o;

		for (uid = d->cfg.uid_min; uid < end; uid++) {
			for (o = d->instances; o; o = o->next)
				if ((uint32_t)o->rec.uid == uid)
					break;
			if (o == NULL)
				break;
		}
		if (uid >= end)
			return uh_errx(err,
				       "%s: no free uid left in %u-%u (uid_min, uid_count; %u is the "
				       "kernel builder's)",
				       name, d->cfg.uid_min, end - 1, end);
		rec.uid = (int)uid;
	}
	if (uh_network_assign(d, &rec, spec.network, spec.ip, err) < 0)
		return uh_err_prefix(err, "%s", name);
	rec.template_version = t.version;
	rec.flat = flat;
	snprintf(rec.state, sizeof(rec.state), "stopped");
	rec.created = time(NULL);
	inst = inst_add(d, &rec, err);
	if (inst == NULL)
		return -1;
	snprintf(inst->rec.disk, sizeof(inst->rec.disk), "%.4000s/%s", inst->dir,
		 flat ? "disk.img" : "disk.cow");

	/* files first, then the row: a crash in between leaves a directory the next create
	 * of the same name replaces, never a row without its disk */
	uh_rm_tree(inst->dir);
	if (mkdir(inst->dir, 0750) < 0) {
		uh_err(err, errno, "%s: create %s", name, inst->dir);
		goto fail;
	}
	if (src == NULL && uh_cow_create(inst->rec.disk, t.path, err) < 0) {
		uh_err_prefix(err, "%s: create its disk", name);
		goto fail_dir;
	}
	if (src != NULL) {
		int rebased = 0;

		/* a restore: the disk from the archive (same filesystem: a rename), its COW
		 * pointed at this host's copy of the template */
		if (rename(src->path, inst->rec.disk) < 0) {
			uh_err(err, errno, "%s: put %s in place", name, inst->rec.disk);
			goto fail_dir;
		}
		if (!flat && uh_cow_rebase(inst->rec.disk, t.path, &rebased, err) < 0) {
			uh_err_prefix(err, "%s", name);
			goto fail_dir;
		}
	}
	/* only the instance's own uid may open its disk */
	if (inst->rec.uid > 0 && (chown(inst->rec.disk, (uid_t)inst->rec.uid,
					(gid_t)inst->rec.uid) < 0 ||
				  chmod(inst->rec.disk, 0600) < 0)) {
		uh_err(err, errno, "%s: give its disk to uid %d", name, inst->rec.uid);
		goto fail_dir;
	}
	if (inst->rec.swap_mib && make_swap(inst, err) < 0)
		goto fail_dir;
	if (spec.ssh_keys && uh_seed_create(inst->dir, name, inst->rec.created, spec.ssh_keys,
					    err) < 0) {
		uh_err_prefix(err, "%s", name);
		goto fail_dir;
	}
	/* last of the steps that can fail: a failure after it would leave the disks given */
	if (inst->rec.uid > 0 && give_disks(inst, err) < 0)
		goto fail_dir;
	if (uh_store_instance_put(d->store, &inst->rec, err) < 0)
		goto fail_dir;
	uh_daemon_event(d, name, "created", "%s %s, memory %luM%s%s%s%s",
			flat ? "private image, was template" : "template", tpl ? tpl : "-",
			(unsigned long)inst->rec.memory_mib, rec.network[0] ? ", network " : "",
			rec.network, rec.ip[0] ? " address " : "", rec.ip);
	*out = uh_instance_json(inst);
	return 0;
fail_dir:
	uh_rm_tree(inst->dir);
fail:
	inst_remove(inst);
	return -1;
}

/* ---- the operation queue */

static void op_finish(struct uh_instance *inst, const struct uh_error *err, json_t *result)
{
	struct uh_op *op = inst->ops;

	uh_loop_cancel(inst->d->loop, inst->op_timer);
	inst->op_timer = NULL;
	inst->phase = PH_NONE;
	inst->ops = op->next;
	if (op->done)
		op->done(op->ctx, err, result);
	else
		json_decref(result);
	free(op);
	if (inst->ops)
		op_begin(inst);
}

static void op_fail(struct uh_instance *inst, struct uh_error *err)
{
	op_finish(inst, err, NULL);
}

static void op_ok(struct uh_instance *inst)
{
	op_finish(inst, NULL, uh_instance_json(inst));
}

void uh_instance_submit(struct uh_daemon *d, const char *name, enum uh_op_type type,
			int timeout_s, int force, uh_done_fn done, void *ctx)
{
	struct uh_instance *inst = uh_instance_find(d, name);
	struct uh_op *op, **pp;
	struct uh_error err;

	if (inst == NULL) {
		uh_errc(&err, ENOENT, "no instance named '%s'", name);
		if (done)
			done(ctx, &err, NULL);
		return;
	}
	/* the worker has the disk */
	if (type != UH_OP_STOP && type != UH_OP_KILL && inst->claim.kind != UH_CLAIM_BACKUP &&
	    uh_instance_claimed(inst, &err) < 0) {
		if (done)
			done(ctx, &err, NULL);
		return;
	}
	if (type == UH_OP_DELETE && force)
		uh_instance_claim_cancel(inst);
	if (type == UH_OP_DELETE && inst->claim.kind == UH_CLAIM_BACKUP) {
		/* its snapshot lives in the instance's directory */
		uh_errc(&err, EBUSY,
			"%s: a backup is being made; delete it when that is done (--force cancels "
			"the backup)",
			name);
		if (done)
			done(ctx, &err, NULL);
		return;
	}
	op = calloc(1, sizeof(*op));
	if (op == NULL)
		abort();
	op->type = type;
	op->timeout_s = timeout_s > 0 ? timeout_s : d->cfg.stop_timeout_s;
	op->force = force;
	op->done = done;
	op->ctx = ctx;
	for (pp = &inst->ops; *pp; pp = &(*pp)->next)
		;
	*pp = op;
	if (inst->ops == op)
		op_begin(inst);
}

/* ---- talking to the kernel */

static void mc_close(struct uh_instance *inst)
{
	uh_loop_unwatch(inst->d->loop, inst->mc_watch);
	inst->mc_watch = NULL;
	uh_mc_client_free(inst->mc);
	inst->mc = NULL;
	uh_mc_result_clear(&inst->mc_res);
}

static void mc_readable(void *arg, uint32_t events);

/* Send an mconsole command; with `watch` the reply is handled by mc_readable. */
static int mc_send(struct uh_instance *inst, const char *cmd, int watch, struct uh_error *err)
{
	if (inst->mc == NULL && uh_mc_client_new(inst->mconsole, inst->run_dir, &inst->mc, err) < 0)
		return -1;
	uh_loop_unwatch(inst->d->loop, inst->mc_watch);
	inst->mc_watch = NULL;
	uh_mc_result_clear(&inst->mc_res);
	if (uh_mc_send(inst->mc, cmd, &inst->mc_res, err) < 0)
		return -1;
	if (watch)
		inst->mc_watch = uh_loop_watch(inst->d->loop, uh_mc_client_fd(inst->mc), EPOLLIN,
					       mc_readable, inst);
	return 0;
}

static void notify_close(struct uh_instance *inst)
{
	uh_loop_unwatch(inst->d->loop, inst->notify_watch);
	inst->notify_watch = NULL;
	uh_mc_listener_free(inst->notify);
	inst->notify = NULL;
}

/* Signal the kernel's session, but only processes that are provably the instance's: jailed,
 * those of its own uid (nobody else has it: uh_idrange_check); unjailed (debugging), only
 * while the session's leader is still the recorded process (its start time). A recorded pid
 * that a host reboot handed to an unrelated session is never signalled. */
static int signal_kernel_session(struct uh_instance *inst, int sig)
{
	pid_t pid = inst->rec.pid;

	if (pid <= 1)
		return 0;
	if (inst->d->cfg.jail && inst->rec.uid > 0)
		return uh_proc_signal_session(pid, (uid_t)inst->rec.uid, sig);
	if (inst->rec.pid_start == 0 || uh_proc_starttime(pid) != inst->rec.pid_start)
		return 0;
	return uh_proc_signal_session(pid, (uid_t)-1, sig);
}

static void kill_session(struct uh_instance *inst)
{
	signal_kernel_session(inst, SIGKILL);
}

/* ---- process exit */

/* Anything of the instance still alive: its session, and any process holding its disk. */
static int kill_leftovers(struct uh_instance *inst)
{
	int n = 0, k;

	n += signal_kernel_session(inst, SIGKILL);
	k = uh_proc_signal_file_users(inst->rec.disk, SIGKILL);
	if (inst->have_cg) {
		int c = uh_cgroup_count(&inst->cg);

		if (c > 0) {
			uh_cgroup_kill(&inst->cg);
			n += c;
		}
	}
	return n + (k > 0 ? k : 0);
}

/* The kernel is gone: get its exit status from the monitor, make sure nothing of it is left
 * (a restart must find its disk unlocked), then finalize. Polls on a short timer. */
static void reap_poll(void *arg)
{
	struct uh_instance *inst = arg;
	char path[PATH_MAX + 8];

	inst->reap_timer = NULL;
	if (inst->exit_status[0] == '\0') {
		uh_autoclose int fd = -1;

		snprintf(path, sizeof(path), "%s/exit", inst->run_dir);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			ssize_t n = read(fd, inst->exit_status, sizeof(inst->exit_status) - 1);
			inst->exit_status[n > 0 ? n : 0] = '\0';
			inst->exit_status[strcspn(inst->exit_status, "\n")] = '\0';
		}
		if (inst->exit_status[0] == '\0' && inst->reap_tries < 50) {
			/* the monitor writes the status right after reaping; give it a moment */
			inst->reap_tries++;
			inst->reap_timer = uh_loop_after(inst->d->loop, 20, reap_poll, inst);
			return;
		}
		if (inst->exit_status[0] == '\0')
			snprintf(inst->exit_status, sizeof(inst->exit_status), "unknown status");
		inst->reap_tries = 0;
	}
	if (kill_leftovers(inst) > 0 && inst->reap_tries++ < 100) {
		inst->reap_timer = uh_loop_after(inst->d->loop, 20, reap_poll, inst);
		return;
	}
	if (inst->reap_tries > 100)
		uh_warnx("%s: processes of the old kernel survive SIGKILL", inst->rec.name);
	{
		char status[sizeof(inst->exit_status)];

		memcpy(status, inst->exit_status, sizeof(status));
		inst->exit_status[0] = '\0';
		inst->reap_tries = 0;
		exit_finalize(inst, status);
	}
}

static void pid_exited(void *arg, uint32_t events)
{
	struct uh_instance *inst = arg;

	uh_loop_unwatch(inst->d->loop, inst->pid_watch);
	inst->pid_watch = NULL;
	uh_close(&inst->pidfd);
	inst->reap_tries = 0;
	inst->exit_status[0] = '\0';
	reap_poll(inst);
}

static int watch_pid(struct uh_instance *inst, struct uh_error *err)
{
	inst->pidfd = (int)pidfd_open(inst->rec.pid, 0);
	if (inst->pidfd < 0)
		return uh_err(err, errno, "watch pid %d", inst->rec.pid);
	inst->pid_watch = uh_loop_watch(inst->d->loop, inst->pidfd, EPOLLIN, pid_exited, inst);
	return 0;
}

static void restart_due(void *arg)
{
	struct uh_instance *inst = arg;

	inst->restart_timer = NULL;
	if (!is_state(inst, "crashed") && !is_state(inst, "stopped"))
		return;
	inst->rec.restarts++;
	save(inst);
	uh_daemon_event(inst->d, inst->rec.name, "restarting", "restart %d (policy %s)",
			inst->rec.restarts, inst->rec.restart);
	uh_instance_submit(inst->d, inst->rec.name, UH_OP_START, 0, 0, NULL, NULL);
}

/* Exponential backoff from 0.5 s, capped at 30 s; more than restart_max crashes within
 * restart_window seconds is a crash loop and stops the restarts. */
static void schedule_restart(struct uh_instance *inst)
{
	const struct uh_config *c = &inst->d->cfg;
	int64_t now = uh_now_ms(), delay;

	if (inst->window_start_ms == 0 || now - inst->window_start_ms > c->restart_window_s * 1000LL) {
		inst->window_start_ms = now;
		inst->crash_count = 0;
	}
	inst->crash_count++;
	if (inst->crash_count > c->restart_max) {
		uh_daemon_event(inst->d, inst->rec.name, "crash-loop",
				"%d crashes within %d s; not restarting until started by hand",
				inst->crash_count, c->restart_window_s);
		return;
	}
	/* the first restart at once, then 0.5 s, 1 s, 2 s ... */
	delay = inst->crash_count == 1 ? 0 : 500LL << (inst->crash_count - 2 < 6 ? inst->crash_count - 2 : 6);
	if (delay > 30000)
		delay = 30000;
	uh_loop_cancel(inst->d->loop, inst->restart_timer);
	inst->restart_timer = uh_loop_after(inst->d->loop, delay, restart_due, inst);
}

static void delete_finish(struct uh_instance *inst);

/* The kernel process is gone: clean up, then decide what it means. */
static void exit_finalize(struct uh_instance *inst, const char *status)
{
	struct uh_op *op = inst->ops;
	int clean = strcmp(status, "exited 0") == 0;
	int was_ready = is_state(inst, "running") || is_state(inst, "stopping");
	char tail[1024];
	struct uh_error err;

	/* a pending step of the stop sequence belongs to the kernel that ended: left armed,
	 * a restart's new kernel would get its halt 15 s later */
	uh_loop_cancel(inst->d->loop, inst->op_timer);
	inst->op_timer = NULL;
	mc_close(inst);
	notify_close(inst);
	uh_rm_tree(inst->run_dir);
	if (inst->have_cg) {
		struct uh_error cerr;

		if (uh_cgroup_destroy(&inst->cg, &cerr) < 0)
			uh_warnx("%s: %s", inst->rec.name, cerr.msg);
		inst->have_cg = 0;
	}
	uh_net_down(inst); /* saved with the state change below */
	inst->rec.pid = 0;
	inst->rec.pid_start = 0;
	inst->rec.monitor_pid = 0;
	inst->rec.started_at = 0;

	if (op && inst->phase == PH_STOPPING) {
		set_state(inst, "stopped");
		uh_daemon_event(inst->d, inst->rec.name, "stopped", "%s", status);
		inst->expect_exit = 0;
		if (op->type == UH_OP_RESTART) {
			start_begin(inst);
		} else if (op->type == UH_OP_DELETE) {
			delete_finish(inst);
		} else {
			op_ok(inst);
		}
		return;
	}
	if (op && op->type != UH_OP_REBOOT && !was_ready) {
		/* died while booting */
		console_tail(inst, tail, sizeof(tail));
		set_state(inst, "stopped");
		uh_daemon_event(inst->d, inst->rec.name, "start-failed", "%s", status);
		uh_errx(&err, "%s: the kernel ended (%s) before its mconsole answered; last console "
			      "lines: %s",
			inst->rec.name, status, tail[0] ? tail : "(none)");
		op_fail(inst, &err);
		return;
	}
	if (inst->expect_exit) {
		inst->expect_exit = 0;
		set_state(inst, "stopped");
		uh_daemon_event(inst->d, inst->rec.name, "stopped", "%s", status);
		return;
	}
	if (clean) {
		set_state(inst, "stopped");
		uh_daemon_event(inst->d, inst->rec.name, "poweroff", "the guest shut down (%s)",
				status);
	} else {
		set_state(inst, "crashed");
		uh_daemon_event(inst->d, inst->rec.name, "crashed", "%s", status);
	}
	if (op && op->type == UH_OP_REBOOT) {
		uh_errx(&err, "%s: the kernel ended (%s) instead of rebooting", inst->rec.name,
			status);
		op_fail(inst, &err);
	}
	if (strcmp(inst->rec.restart, "always") == 0 ||
	    (strcmp(inst->rec.restart, "on-failure") == 0 && !clean))
		schedule_restart(inst);
}

/* ---- start */

static void start_fail(struct uh_instance *inst, struct uh_error *err)
{
	uh_loop_cancel(inst->d->loop, inst->pid_timer);
	inst->pid_timer = NULL;
	inst->expect_exit = 1;
	/* not only the kernel's session: when the start failed before its pid was known, the
	 * kernel is found by its cgroup and by its open disk (a leaked kernel would keep the
	 * instance's address and disk) */
	kill_leftovers(inst);
	set_state(inst, "stopped");
	uh_daemon_event(inst->d, inst->rec.name, "start-failed", "%s", err->msg);
	op_fail(inst, err);
}

static void start_timeout(void *arg)
{
	struct uh_instance *inst = arg;
	struct uh_error err;
	char tail[1024];

	inst->op_timer = NULL;
	console_tail(inst, tail, sizeof(tail));
	uh_errc(&err, ETIMEDOUT,
		"%s: not ready within %d s (its mconsole did not answer); last console lines: %s",
		inst->rec.name, inst->d->cfg.start_timeout_s, tail[0] ? tail : "(none)");
	if (inst->mc)
		uh_mc_abandon(inst->mc);
	mc_close(inst);
	notify_close(inst);
	start_fail(inst, &err);
}

static int read_pid_file(struct uh_instance *inst, struct uh_error *err)
{
	char path[PATH_MAX + 16], buf[64] = "";
	uh_autoclose int fd = -1;
	unsigned long long st = 0;
	int pid = 0;
	ssize_t n;

	snprintf(path, sizeof(path), "%s/uml.pid", inst->run_dir);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return uh_err(err, errno, "read %s", path);
	n = read(fd, buf, sizeof(buf) - 1);
	buf[n > 0 ? n : 0] = '\0';
	if (sscanf(buf, "%d %llu", &pid, &st) != 2 || pid <= 1)
		return uh_errx(err, "malformed %s", path);
	inst->rec.pid = pid;
	inst->rec.pid_start = st;
	return 0;
}

/* The kernel said its mconsole is up; its pid comes from the monitor's uml.pid, written
 * (fsync + rename) right after the fork. Under heavy I/O that can land after a fast kernel's
 * notify (the hosting kernel is up in ~80 ms): a missing file is waited for, up to 5 s, not
 * taken for a failed start. */
static void ready_continue(void *arg)
{
	struct uh_instance *inst = arg;
	struct uh_error err;

	inst->pid_timer = NULL;
	if (inst->phase != PH_READY || !is_state(inst, "starting"))
		return;
	if (read_pid_file(inst, &err) < 0) {
		if (err.errnum == ENOENT && inst->pid_tries++ < 500) {
			inst->pid_timer = uh_loop_after(inst->d->loop, 10, ready_continue, inst);
			return;
		}
		goto fail;
	}
	if (watch_pid(inst, &err) < 0 || mc_send(inst, "version", 1, &err) < 0)
		goto fail;
	inst->pid_timer = uh_loop_after(inst->d->loop, READY_RESEND_MS, ready_resend, inst);
	return;
fail:
	uh_err_prefix(&err, "%s: start", inst->rec.name);
	notify_close(inst);
	start_fail(inst, &err);
}

/* The `version` request that proves the mconsole answers goes again every second until a
 * reply comes or the start's deadline passes: one of 16 kernels booting at once on two
 * cores once left a single request unanswered for the whole 30 s (CI). version is
 * harmless to repeat; a late second reply is drained before the next command
 * (uh_mc_send). */
static void ready_resend(void *arg)
{
	struct uh_instance *inst = arg;
	struct uh_error err;

	inst->pid_timer = NULL;
	if (inst->phase != PH_READY || !is_state(inst, "starting") || inst->mc_watch == NULL)
		return;
	if (mc_send(inst, "version", 1, &err) < 0)
		uh_debug("%s: mconsole version again: %s", inst->rec.name, err.msg);
	inst->pid_timer = uh_loop_after(inst->d->loop, READY_RESEND_MS, ready_resend, inst);
}

static void notify_readable(void *arg, uint32_t events)
{
	struct uh_instance *inst = arg;
	struct uh_mc_notify msg;
	struct uh_error err;
	int r, n;

	/* Every datagram here comes from the guest's kernel, which a hostile customer may
	 * control: a bounded number per loop turn (the socket stays readable; the API, the
	 * other instances and the timers get their turn first), events rate-limited. */
	for (n = 0; n < NOTIFY_BATCH; n++) {
		r = uh_mc_listener_recv(inst->notify, 0, &msg, &err);
		if (r == 0)
			break;
		if (r < 0) {
			if (uh_guest_event_allowed(inst))
				uh_warnx("%s: notify socket: %s", inst->rec.name, err.msg);
			continue;
		}
		switch (msg.type) {
		case UH_MC_NOTIFY_SOCKET:
			if (inst->phase == PH_STOPPING) {
				/* ctrl-alt-del reached the kernel before the guest's init took it
				 * over (early boot), so it rebooted: nothing in userspace to lose */
				uh_info("%s: rebooted instead of shutting down; halting",
					inst->rec.name);
				if (mc_send(inst, "halt", 0, &err) < 0)
					uh_debug("%s: halt: %s", inst->rec.name, err.msg);
				break;
			}
			if (inst->phase != PH_BOOTING) {
				if (is_state(inst, "running") && inst->phase != PH_REBOOT &&
				    uh_guest_event_allowed(inst))
					uh_daemon_event(inst->d, inst->rec.name, "rebooted",
							"the guest rebooted (pid %d)", inst->rec.pid);
				break;
			}
			inst->phase = PH_READY;
			inst->pid_tries = 0;
			ready_continue(inst);
			if (inst->notify == NULL)
				return; /* the start failed */
			break;
		case UH_MC_NOTIFY_PANIC:
			if (uh_guest_event_allowed(inst))
				uh_daemon_event(inst->d, inst->rec.name, "panic", "%s", msg.data);
			break;
		case UH_MC_NOTIFY_HANG:
			if (uh_guest_event_allowed(inst))
				uh_daemon_event(inst->d, inst->rec.name, "hang", "the guest hangs");
			break;
		case UH_MC_NOTIFY_USER:
			if (uh_guest_event_allowed(inst))
				uh_daemon_event(inst->d, inst->rec.name, "guest", "%s", msg.data);
			break;
		}
	}
}

static void mc_readable(void *arg, uint32_t events)
{
	struct uh_instance *inst = arg;
	struct uh_error err;
	int r = uh_mc_receive(inst->mc, &inst->mc_res, &err);

	if (r == 0)
		return;
	uh_loop_unwatch(inst->d->loop, inst->mc_watch);
	inst->mc_watch = NULL;
	if (inst->phase == PH_READY) {
		uh_loop_cancel(inst->d->loop, inst->pid_timer); /* ready_resend */
		inst->pid_timer = NULL;
		if (r < 0) {
			uh_err_prefix(&err, "%s: start", inst->rec.name);
			start_fail(inst, &err);
			return;
		}
		inst->rec.started_at = time(NULL);
		set_state(inst, "running");
		uh_daemon_event(inst->d, inst->rec.name, "started", "pid %d", inst->rec.pid);
		op_ok(inst);
	} else if (inst->phase == PH_REBOOT) {
		if (r < 0 || inst->mc_res.err) {
			if (r > 0)
				uh_errx(&err, "%s: reboot refused: %s", inst->rec.name,
					inst->mc_res.text);
			op_fail(inst, &err);
			return;
		}
		uh_daemon_event(inst->d, inst->rec.name, "rebooted", "pid %d", inst->rec.pid);
		op_ok(inst);
	}
}

int uh_instance_check_template(struct uh_instance *inst, struct uh_error *err)
{
	struct uh_cow_info info;
	struct uh_template_rec t;
	struct stat st;
	int r;

	r = uh_store_template_get(inst->d->store, inst->rec.template_name,
				  inst->rec.template_version ? inst->rec.template_version : 1, &t, err);
	if (r < 0)
		return -1;
	if (r == 1)
		return uh_errc(err, ENOENT, "%s: its template '%s' version %d no longer exists",
			       inst->rec.name, inst->rec.template_name, inst->rec.template_version);
	if (uh_cow_info(inst->rec.disk, &info, err) < 0)
		return uh_err_prefix(err, "%s: its disk", inst->rec.name);
	if (stat(t.path, &st) < 0)
		return uh_err(err, errno, "%s: template '%s' (%s)", inst->rec.name,
			      inst->rec.template_name, t.path);
	if ((uint32_t)st.st_mtime != info.header.mtime || (uint64_t)st.st_size != info.header.size)
		return uh_errx(err, "%s: template '%s' (%s) was modified after the instance was "
				    "created (mtime %u, size %llu; its disk expects mtime %u, size "
				    "%llu); UML would refuse the disk. Restore the template file",
			       inst->rec.name, inst->rec.template_name, t.path,
			       (uint32_t)st.st_mtime, (unsigned long long)st.st_size,
			       info.header.mtime, (unsigned long long)info.header.size);
	if (strcmp(info.header.backing_file, t.path) != 0)
		return uh_errx(err, "%s: its disk points at %s, not at template '%s' (%s)",
			       inst->rec.name, info.header.backing_file, inst->rec.template_name,
			       t.path);
	return 0;
}

static int check_kernel(struct uh_instance *inst, struct uh_error *err)
{
	char path[PATH_MAX];

	if (uh_kernel_resolve(inst->d, inst->rec.kernel, path, sizeof(path), err) < 0 ||
	    uh_kernel_check_usable(inst->d, inst->rec.kernel, err) < 0)
		return uh_err_prefix(err, "%s", inst->rec.name);
	if (access(path, X_OK) < 0)
		return uh_err(err, errno, "%s: kernel %s (%s)", inst->rec.name, inst->rec.kernel,
			      path);
	return 0;
}

static pid_t spawn_monitor(struct uh_instance *inst, struct uh_error *err)
{
	const struct uh_config *c = &inst->d->cfg;
	char mem[32], umid[64], umldir[PATH_MAX + 16], ubd[2 * PATH_MAX + 8], notify[PATH_MAX + 32];
	char logmax[32], tpl_path[PATH_MAX], netargs[512], hostname[64], kpath[PATH_MAX];
	char seed[PATH_MAX], seedarg[PATH_MAX + 8], swap[PATH_MAX], swaparg[PATH_MAX + 8];
	char dcopy[sizeof(inst->rec.disks)], dcopy2[sizeof(inst->rec.disks)], diskargs[8][PATH_MAX];
	int have_seed;
	char uid[16], gid[16], tmp_mib[24], root[PATH_MAX + 8], libs[sizeof(c->jail_libs)];
	char *argv[128], args[sizeof(inst->rec.kernel_args)], *a, *save = NULL;
	char *envp[] = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "TMPDIR=/dev/shm", NULL};
	struct uh_template_rec t;
	int n = 0;
	pid_t pid;

	if (!inst->rec.flat &&
	    uh_store_template_get(inst->d->store, inst->rec.template_name,
				  inst->rec.template_version ? inst->rec.template_version : 1, &t,
				  err) != 0)
		return uh_errx(err, "%s: template '%s' missing", inst->rec.name,
			       inst->rec.template_name);
	if (inst->rec.flat)
		t.path[0] = '\0';
	if (uh_kernel_resolve(inst->d, inst->rec.kernel, kpath, sizeof(kpath), err) < 0)
		return uh_err_prefix(err, "%s", inst->rec.name);
	snprintf(seed, sizeof(seed), "%.4000s/seed.img", inst->dir);
	have_seed = access(seed, R_OK) == 0;
	snprintf(seedarg, sizeof(seedarg), "ubd1r=%s", seed);
	snprintf(swap, sizeof(swap), "%.4000s/swap.img", inst->dir);
	snprintf(swaparg, sizeof(swaparg), "ubd2=%s", swap);
	snprintf(tpl_path, sizeof(tpl_path), "%s", t.path);
	snprintf(mem, sizeof(mem), "mem=%luM", (unsigned long)inst->rec.memory_mib);
	snprintf(umid, sizeof(umid), "umid=%s", inst->rec.name);
	snprintf(umldir, sizeof(umldir), "uml_dir=%s", inst->umid_dir);
	if (inst->rec.flat)
		snprintf(ubd, sizeof(ubd), "ubd0=%s", inst->rec.disk);
	else
		snprintf(ubd, sizeof(ubd), "ubd0=%s,%s", inst->rec.disk, tpl_path);
	snprintf(notify, sizeof(notify), "mconsole=notify:%s/notify.sock", inst->run_dir);
	snprintf(logmax, sizeof(logmax), "%llu", (unsigned long long)c->console_log_max);
	argv[n++] = (char *)c->monitor;
	if (inst->rec.uid > 0) {
		snprintf(uid, sizeof(uid), "%d", inst->rec.uid);
		snprintf(gid, sizeof(gid), "%d", inst->rec.uid);
		/* the RAM file is mem= big; the rest is headroom for UML's own files */
		snprintf(tmp_mib, sizeof(tmp_mib), "%lu", (unsigned long)inst->rec.memory_mib + 64);
		snprintf(root, sizeof(root), "%.4000s/root", inst->run_dir);
		argv[n++] = "--uid";
		argv[n++] = uid;
		argv[n++] = "--gid";
		argv[n++] = gid;
		argv[n++] = "--jail-root";
		argv[n++] = root;
		argv[n++] = "--tmp-mib";
		argv[n++] = tmp_mib;
		argv[n++] = "--hostname";
		argv[n++] = inst->rec.name;
		argv[n++] = "--seccomp";
		argv[n++] = (char *)c->seccomp;
		argv[n++] = "--bind-ro";
		argv[n++] = kpath;
		snprintf(libs, sizeof(libs), "%s", c->jail_libs);
		for (a = strtok_r(libs, " ", &save); a && n < 60; a = strtok_r(NULL, " ", &save)) {
			argv[n++] = "--bind-ro";
			argv[n++] = a;
		}
		save = NULL;
		if (!inst->rec.flat) {
			argv[n++] = "--bind-ro";
			argv[n++] = tpl_path;
		}
		if (have_seed) {
			argv[n++] = "--bind-ro";
			argv[n++] = seed;
		}
		if (inst->rec.swap_mib) {
			argv[n++] = "--bind";
			argv[n++] = swap;
		}
		snprintf(dcopy, sizeof(dcopy), "%s", inst->rec.disks);
		for (a = strtok_r(dcopy, " ", &save); a && n < 56; a = strtok_r(NULL, " ", &save)) {
			argv[n++] = "--bind";
			argv[n++] = a;
		}
		save = NULL;
		argv[n++] = "--bind";
		argv[n++] = inst->rec.disk;
		argv[n++] = "--bind";
		argv[n++] = inst->run_dir;
		if (inst->rec.tap[0])
			argv[n++] = "--tun";
	}
	for (int k = 0; k < inst->cg.n_dirs && n < 80; k++) {
		argv[n++] = "--cgroup";
		argv[n++] = inst->cg.dirs[k];
	}
	argv[n++] = inst->run_dir;
	argv[n++] = inst->log_path;
	argv[n++] = logmax;
	argv[n++] = "--";
	argv[n++] = kpath;
	argv[n++] = umid;
	argv[n++] = umldir;
	argv[n++] = mem;
	argv[n++] = ubd;
	if (have_seed)
		argv[n++] = seedarg; /* ubd1, read-only: the NoCloud seed */
	if (inst->rec.swap_mib) {
		argv[n++] = swaparg; /* ubd2: /dev/ubdc, swapon'ed by the guest */
		argv[n++] = "umlhost.swap=/dev/ubdc";
	}
	{
		char *p2, *save2 = NULL;
		int k = 0;

		snprintf(dcopy2, sizeof(dcopy2), "%s", inst->rec.disks);
		for (p2 = strtok_r(dcopy2, " ", &save2); p2 && k < 8;
		     p2 = strtok_r(NULL, " ", &save2), k++) {
			snprintf(diskargs[k], sizeof(diskargs[k]), "ubd%d=%s", 3 + k, p2);
			argv[n++] = diskargs[k]; /* ubd3...: /dev/ubdd... */
		}
	}
	argv[n++] = "con=null";
	argv[n++] = "con0=fd:0,fd:1";
	argv[n++] = notify;
	argv[n++] = "panic=1"; /* a panicked kernel exits instead of spinning at 100% CPU */
	/* UML strips umid= from the guest's /proc/cmdline: the name again, for its hostname */
	snprintf(hostname, sizeof(hostname), "umlhost.name=%s", inst->rec.name);
	argv[n++] = hostname;
	if (uh_net_kernel_args(inst, netargs, sizeof(netargs)) < 0)
		return uh_errx(err, "%s: network arguments", inst->rec.name);
	for (a = strtok_r(netargs, " ", &save); a && n < 88; a = strtok_r(NULL, " ", &save))
		argv[n++] = a;
	save = NULL;
	snprintf(args, sizeof(args), "%s", inst->rec.kernel_args);
	for (a = strtok_r(args, " ", &save); a && n < 126; a = strtok_r(NULL, " ", &save))
		argv[n++] = a;
	argv[n] = NULL;

	pid = fork();
	if (pid < 0)
		return uh_err(err, errno, "%s: fork", inst->rec.name);
	if (pid == 0) {
		sigset_t none;
		int null = open("/dev/null", O_RDWR);

		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
		closefrom(3);
		execve(argv[0], argv, envp);
		_exit(127);
	}
	return pid;
}

static void monitor_child_exited(void *arg, pid_t pid, int status);

static void start_begin(struct uh_instance *inst)
{
	struct uh_daemon *d = inst->d;
	struct uh_error err;
	char sock[PATH_MAX + 16], was[sizeof(inst->rec.state)];
	pid_t pid;

	if (is_active(inst)) {
		uh_errc(&err, EBUSY, "%s is already %s", inst->rec.name, inst->rec.state);
		op_fail(inst, &err);
		return;
	}
	uh_loop_cancel(d->loop, inst->restart_timer); /* a start by hand replaces a pending one */
	inst->restart_timer = NULL;
	if ((!inst->rec.flat && uh_instance_check_template(inst, &err) < 0) ||
	    check_kernel(inst, &err) < 0 ||
	    /* users and subordinate ranges added since the daemon started */
	    (d->cfg.jail && inst->rec.uid > 0 &&
	     uh_idrange_check(&uh_id_files_host, (uint32_t)inst->rec.uid, 1, &err) < 0 &&
	     uh_err_prefix(&err, "%s: its uid %d is not its own", inst->rec.name,
			   inst->rec.uid) < 0) ||
	    uh_budget_check(inst->rec.name, uh_host_memory_mib(), d->cfg.memory_reserve_mib,
			    uh_daemon_committed_mib(d), inst->rec.memory_mib, &err) < 0) {
		uh_daemon_event(d, inst->rec.name, "start-refused", "%s", err.msg);
		op_fail(inst, &err);
		return;
	}
	uh_rm_tree(inst->run_dir);
	if (mkdir(inst->run_dir, 0750) < 0 || mkdir(inst->umid_dir, 0750) < 0) {
		uh_err(&err, errno, "%s: create %s", inst->rec.name, inst->run_dir);
		op_fail(inst, &err);
		return;
	}
	snprintf(sock, sizeof(sock), "%s/notify.sock", inst->run_dir);
	if (uh_mc_listener_new(sock, &inst->notify, &err) < 0) {
		uh_err_prefix(&err, "%s", inst->rec.name);
		op_fail(inst, &err);
		return;
	}
	if (inst->rec.uid > 0) {
		/* the jailed kernel (its uid) reaches its run dir, creates its umid directory in u/
		 * and sends to the notify socket; nobody else gets in */
		char root[PATH_MAX + 8];
		gid_t g = (gid_t)inst->rec.uid;

		snprintf(root, sizeof(root), "%.4000s/root", inst->run_dir);
		if (chown(inst->run_dir, 0, g) < 0 || chmod(inst->run_dir, 0750) < 0 ||
		    chown(inst->umid_dir, (uid_t)inst->rec.uid, g) < 0 ||
		    chmod(inst->umid_dir, 0700) < 0 || chown(sock, 0, g) < 0 ||
		    chmod(sock, 0660) < 0 || mkdir(root, 0755) < 0) {
			uh_err(&err, errno, "%s: prepare %s for uid %d", inst->rec.name,
			       inst->run_dir, inst->rec.uid);
			notify_close(inst);
			op_fail(inst, &err);
			return;
		}
	}
	inst->notify_watch = uh_loop_watch(d->loop, uh_mc_listener_fd(inst->notify), EPOLLIN,
					   notify_readable, inst);
	{
		struct uh_cgroup_limits lim = {
			.memory_bytes = uh_cgroup_memory_for(inst->rec.memory_mib),
			.cpu_weight = 100,
			.cpu_quota_pct = (uint32_t)inst->rec.cpu_quota_pct,
			.pids_max = (uint32_t)(inst->rec.pids_max ? inst->rec.pids_max
								   : d->cfg.pids_max),
			.io_weight = 100,
		};

		uh_cgroup_destroy(&inst->cg, &err); /* a leftover of a crash, if empty */
		if (uh_cgroup_create(&inst->cg, &lim, &err) < 0) {
			uh_err_prefix(&err, "%s", inst->rec.name);
			uh_cgroup_destroy(&inst->cg, &err);
			notify_close(inst);
			op_fail(inst, &err);
			return;
		}
		inst->have_cg = 1;
	}
	if (uh_net_up(inst, &err) < 0) {
		struct uh_error cerr;

		uh_cgroup_destroy(&inst->cg, &cerr);
		inst->have_cg = 0;
		notify_close(inst);
		uh_daemon_event(d, inst->rec.name, "start-failed", "%s", err.msg);
		op_fail(inst, &err);
		return;
	}
	/* "starting" is on disk before any process of it exists (a daemon restarted after this
	 * finds it and cleans up); if it cannot be written nothing is started */
	memcpy(was, inst->rec.state, sizeof(was));
	if (record_state(inst, "starting", "start", &err) < 0 ||
	    (pid = spawn_monitor(inst, &err)) < 0) {
		struct uh_error cerr;

		uh_net_down(inst);
		uh_cgroup_destroy(&inst->cg, &cerr);
		inst->have_cg = 0;
		notify_close(inst);
		if (strcmp(inst->rec.state, was) != 0)
			set_state(inst, was);
		op_fail(inst, &err);
		return;
	}
	inst->rec.monitor_pid = pid;
	uh_child_watch(d, pid, monitor_child_exited, d);
	inst->expect_exit = 0;
	inst->phase = PH_BOOTING;
	save(inst);
	uh_daemon_event(d, inst->rec.name, "starting", "memory %luM",
			(unsigned long)inst->rec.memory_mib);
	inst->op_timer = uh_loop_after(d->loop, d->cfg.start_timeout_s * 1000LL, start_timeout,
				       inst);
}

/* The monitor (our child) ended. Before the kernel's pid is known that is the only sign that
 * the boot failed; afterwards the pidfd reports the exit. */
static void monitor_exited(struct uh_instance *inst)
{
	if (inst->phase == PH_BOOTING && inst->pidfd < 0 && inst->reap_timer == NULL) {
		inst->reap_tries = 0;
		inst->exit_status[0] = '\0';
		reap_poll(inst);
	}
}

/* A monitor (our child) ended: the instance it ran is reaped. */
static void monitor_child_exited(void *arg, pid_t pid, int status)
{
	struct uh_daemon *d = arg;
	struct uh_instance *i;

	(void)status;
	for (i = d->instances; i; i = i->next)
		if (i->rec.monitor_pid == pid) {
			monitor_exited(i);
			return;
		}
}

/* ---- stop, kill, reboot */

enum { STOP_CAD, STOP_HALT, STOP_KILL, STOP_GAVE_UP };

static void stop_next(void *arg);

static void stop_arm(struct uh_instance *inst, int step, int64_t delay_ms)
{
	inst->stop_step = step;
	inst->op_timer = uh_loop_after(inst->d->loop, delay_ms, stop_next, inst);
}

/* ctrl-alt-del, then halt after half the timeout, then SIGKILL of the whole process tree
 * when it runs out; each step only if the kernel is still there. */
static void stop_next(void *arg)
{
	struct uh_instance *inst = arg;
	int timeout_ms = (inst->ops ? inst->ops->timeout_s : 30) * 1000;
	int step = inst->stop_step;
	struct uh_error err;

	inst->op_timer = NULL;
	if (inst->pid_watch == NULL && inst->reap_timer != NULL)
		return; /* already exiting */
	switch (step) {
	case STOP_CAD:
		if (mc_send(inst, "cad", 0, &err) < 0)
			uh_debug("%s: cad: %s", inst->rec.name, err.msg);
		stop_arm(inst, STOP_HALT, timeout_ms / 2);
		break;
	case STOP_HALT:
		uh_info("%s: no shutdown after ctrl-alt-del, sending halt", inst->rec.name);
		if (mc_send(inst, "halt", 0, &err) < 0)
			uh_debug("%s: halt: %s", inst->rec.name, err.msg);
		stop_arm(inst, STOP_KILL, timeout_ms - timeout_ms / 2);
		break;
	case STOP_KILL:
		uh_info("%s: still running after %d s, killing it", inst->rec.name,
			timeout_ms / 1000);
		kill_session(inst);
		stop_arm(inst, STOP_GAVE_UP, 5000);
		break;
	default:
		uh_errx(&err, "%s: pid %d did not exit after SIGKILL", inst->rec.name,
			inst->rec.pid);
		op_fail(inst, &err);
		break;
	}
}

static void stop_begin(struct uh_instance *inst, int kill_now)
{
	enum uh_op_type type = inst->ops->type;
	struct uh_error err;

	if (!is_active(inst)) {
		if (inst->ops->type == UH_OP_RESTART) {
			start_begin(inst);
		} else if (inst->ops->type == UH_OP_DELETE) {
			delete_finish(inst);
		} else {
			uh_loop_cancel(inst->d->loop, inst->restart_timer);
			inst->restart_timer = NULL;
			op_ok(inst); /* stopping a stopped instance is done already */
		}
		return;
	}
	/* a stop must be on disk before it acts; a kill acts regardless */
	if (type != UH_OP_KILL &&
	    record_state(inst, "stopping",
			 type == UH_OP_RESTART  ? "restart"
			 : type == UH_OP_DELETE ? "delete"
						: "stop",
			 &err) < 0) {
		op_fail(inst, &err);
		return;
	}
	inst->expect_exit = 1;
	inst->phase = PH_STOPPING;
	set_state(inst, "stopping");
	uh_daemon_event(inst->d, inst->rec.name, "stopping", "%s",
			kill_now ? "kill" : "ctrl-alt-del");
	if (kill_now) {
		kill_session(inst);
		stop_arm(inst, STOP_GAVE_UP, 5000);
	} else {
		stop_arm(inst, STOP_CAD, 0);
	}
}

static void reboot_timeout(void *arg)
{
	struct uh_instance *inst = arg;
	struct uh_error err;

	inst->op_timer = NULL;
	if (inst->mc)
		uh_mc_abandon(inst->mc);
	mc_close(inst);
	uh_errc(&err, ETIMEDOUT, "%s: no answer to reboot within 5 s", inst->rec.name);
	op_fail(inst, &err);
}

static void reboot_begin(struct uh_instance *inst)
{
	struct uh_error err;

	if (!is_state(inst, "running")) {
		uh_errc(&err, EBUSY, "%s is %s, not running", inst->rec.name, inst->rec.state);
		op_fail(inst, &err);
		return;
	}
	inst->phase = PH_REBOOT;
	if (mc_send(inst, "reboot", 1, &err) < 0) {
		op_fail(inst, &err);
		return;
	}
	inst->op_timer = uh_loop_after(inst->d->loop, 5000, reboot_timeout, inst);
}

/* ---- delete */

static void delete_finish(struct uh_instance *inst)
{
	struct uh_daemon *d = inst->d;
	struct uh_error err;
	struct uh_op *op = inst->ops, *rest;
	char name[UH_KEY_MAX];

	if (uh_store_instance_del(d->store, inst->rec.name, &err) < 0) {
		op_fail(inst, &err);
		return;
	}
	snprintf(name, sizeof(name), "%s", inst->rec.name);
	uh_net_down(inst);
	uh_rm_tree(inst->dir);
	uh_rm_tree(inst->run_dir);
	uh_loop_cancel(d->loop, inst->restart_timer);
	uh_loop_cancel(d->loop, inst->op_timer);
	uh_loop_cancel(d->loop, inst->reap_timer);
	mc_close(inst);
	notify_close(inst);
	uh_daemon_event(d, name, "deleted", "%s", "");
	rest = op->next;
	inst_remove(inst);
	if (op->done)
		op->done(op->ctx, NULL, json_pack("{s:s}", "deleted", name));
	free(op);
	/* operations queued behind the delete find no instance */
	while (rest) {
		struct uh_op *o = rest;
		rest = o->next;
		uh_errc(&err, ENOENT, "no instance named '%s' (deleted)", name);
		if (o->done)
			o->done(o->ctx, &err, NULL);
		free(o);
	}
}

static void delete_begin(struct uh_instance *inst)
{
	struct uh_error err;

	if (is_active(inst)) {
		if (!inst->ops->force) {
			uh_errc(&err, EBUSY, "%s is %s; stop it first or use --force",
				inst->rec.name, inst->rec.state);
			op_fail(inst, &err);
			return;
		}
		stop_begin(inst, 1);
		return;
	}
	delete_finish(inst);
}

static void op_begin(struct uh_instance *inst)
{
	struct uh_error err;

	/* start and stop write their new state before they act (record_state); a reboot and
	 * a delete change no state first, so the record is written as it is: on a filesystem
	 * that takes no write they are refused here. A kill goes ahead regardless (the admin's
	 * last resort); its outcome is recorded when it can be. */
	if ((inst->ops->type == UH_OP_REBOOT || inst->ops->type == UH_OP_DELETE) &&
	    record_state(inst, inst->rec.state,
			 inst->ops->type == UH_OP_REBOOT ? "reboot" : "delete", &err) < 0) {
		op_fail(inst, &err);
		return;
	}
	switch (inst->ops->type) {
	case UH_OP_START:
		start_begin(inst);
		break;
	case UH_OP_STOP:
	case UH_OP_RESTART:
		stop_begin(inst, 0);
		break;
	case UH_OP_KILL:
		stop_begin(inst, 1);
		break;
	case UH_OP_REBOOT:
		reboot_begin(inst);
		break;
	case UH_OP_DELETE:
		delete_begin(inst);
		break;
	}
}

/* ---- load and re-adopt */

struct load_ctx {
	struct uh_daemon *d;
	struct uh_error *err;
	int failed;
};

static int load_one(const struct uh_instance_rec *r, void *arg)
{
	struct load_ctx *c = arg;

	if (inst_add(c->d, r, c->err) == NULL) {
		c->failed = 1;
		return 1;
	}
	return 0;
}

/* An instance the state says is running: is it the same process still? Then watch it again
 * without touching it; otherwise it died while we were away. */
static void readopt(struct uh_instance *inst)
{
	struct uh_error err;

	if (inst->rec.pid > 1 && inst->rec.pid_start != 0 &&
	    uh_proc_starttime(inst->rec.pid) == inst->rec.pid_start &&
	    watch_pid(inst, &err) == 0) {
		char sock[PATH_MAX + 16];

		snprintf(sock, sizeof(sock), "%s/notify.sock", inst->run_dir);
		if (uh_mc_listener_new(sock, &inst->notify, &err) == 0)
			inst->notify_watch = uh_loop_watch(inst->d->loop,
							   uh_mc_listener_fd(inst->notify),
							   EPOLLIN, notify_readable, inst);
		else
			uh_warnx("%s: %s", inst->rec.name, err.msg);
		inst->have_cg = uh_cgroup_count(&inst->cg) >= 0;
		if (!is_state(inst, "running"))
			set_state(inst, "running");
		if (inst->rec.started_at == 0)
			inst->rec.started_at = time(NULL);
		uh_daemon_event(inst->d, inst->rec.name, "adopted", "pid %d still running",
				inst->rec.pid);
		return;
	}
	/* gone: read what the monitor recorded, then treat it as any other exit */
	inst->have_cg = uh_cgroup_count(&inst->cg) >= 0;
	inst->expect_exit = is_state(inst, "stopping");
	set_state(inst, "running");
	uh_daemon_event(inst->d, inst->rec.name, "lost", "pid %d ended while umlhostd was down",
			inst->rec.pid);
	inst->reap_tries = 50; /* the exit file is there or will never be */
	inst->exit_status[0] = '\0';
	reap_poll(inst);
}

int uh_daemon_load(struct uh_daemon *d, struct uh_error *err)
{
	struct load_ctx c = {.d = d, .err = err};
	struct uh_instance *i;
	char path[PATH_MAX + 8];
	DIR *dir;
	struct dirent *de;

	if (uh_store_instance_list(d->store, load_one, &c, err) < 0 || c.failed)
		return -1;
	for (i = d->instances; i; i = i->next)
		if (is_active(i))
			readopt(i);
	/* run dirs of instances the state does not know: leftovers of a crash */
	snprintf(path, sizeof(path), "%s/i", d->cfg.run_dir);
	dir = opendir(path);
	while (dir && (de = readdir(dir)) != NULL) {
		char p[PATH_MAX * 2];

		if (de->d_name[0] == '.' || uh_instance_find(d, de->d_name))
			continue;
		snprintf(p, sizeof(p), "%s/%s", path, de->d_name);
		uh_warnx("removing leftover run directory %s", p);
		uh_rm_tree(p);
	}
	if (dir)
		closedir(dir);
	uh_net_reconcile(d);
	return 0;
}

void uh_daemon_autostart(struct uh_daemon *d)
{
	struct uh_instance *i;

	for (i = d->instances; i; i = i->next)
		if (i->rec.autostart && !is_active(i) && i->restart_timer == NULL &&
		    i->ops == NULL)
			uh_instance_submit(d, i->rec.name, UH_OP_START, 0, 0, NULL, NULL);
}

/* ---- disks (offline: the instance must be stopped) */

