/* Instances as records: the list in memory (sorted by name), each one's paths, its state and
 * how it is written to the store, its JSON, and create (after instance_spec.c has checked the
 * request: kernel, disk files, uid, network, the row). What runs them is lifecycle.c; what
 * launches and talks to their kernels is spawn.c. */
#include "daemon/daemon.h"
#include "daemon/instance_spec.h"
#include "daemon/reclaim.h"
#include "cow/cow_file.h"
#include "util/cleanup.h"
#include "util/fileio.h"
#include "util/log.h"
#include "util/proc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ---- small helpers */


/* Record what happened to the instance (a state it reached, a pid it got). These are facts
 * already true on the host, so memory keeps them even when the write fails (after the store
 * has used the database's reserve: db_reserve.c); the instance is then written again every
 * few seconds until it is on disk (save_retry). What an admin asks for is
 * written before it acts and refused if that fails (uh_instance_record_state). */
/* a state the store could not write is tried again after this long (save_retry) */
#define SAVE_RETRY_MS 5000

static void save_retry(void *arg);

void uh_instance_save(struct uh_instance *inst)
{
	struct uh_daemon *d = inst->d;
	struct uh_error err;

	if (uh_instance_write(inst, &err) < 0) {
		if (!inst->unsaved)
			uh_warnx("%s: %s (written again when it can be)", inst->rec.name, err.msg);
		inst->unsaved = 1;
		if (d->save_timer == NULL)
			d->save_timer = uh_loop_after(d->loop, SAVE_RETRY_MS, save_retry, d);
		return;
	}
	inst->unsaved = 0;
}

/* The instances whose last state could not be written, written again (re-armed by
 * uh_instance_save()
 * while one still fails). */
static void save_retry(void *arg)
{
	struct uh_daemon *d = arg;
	struct uh_instance *i;

	d->save_timer = NULL;
	for (i = d->instances; i; i = i->next)
		if (i->unsaved) {
			uh_instance_save(i);
			if (!i->unsaved)
				uh_info("%s: its state is recorded again", i->rec.name);
		}
}

static const char *const state_names[] = {
	[UH_STATE_STOPPED] = "stopped",	  [UH_STATE_STARTING] = "starting",
	[UH_STATE_RUNNING] = "running",	  [UH_STATE_STOPPING] = "stopping",
	[UH_STATE_CRASHED] = "crashed",
};

const char *uh_state_name(enum uh_instance_state s)
{
	return (unsigned)s < sizeof(state_names) / sizeof(state_names[0]) ? state_names[s] : "?";
}

int uh_state_parse(const char *name, enum uh_instance_state *out)
{
	for (size_t k = 0; k < sizeof(state_names) / sizeof(state_names[0]); k++)
		if (strcmp(name, state_names[k]) == 0) {
			*out = (enum uh_instance_state)k;
			return 0;
		}
	return -1;
}

/* memory's state and the record's name of it change together */
static void put_state(struct uh_instance *inst, enum uh_instance_state s)
{
	inst->state = s;
	snprintf(inst->rec.state, sizeof(inst->rec.state), "%s", uh_state_name(s));
}

void uh_instance_set_state(struct uh_instance *inst, enum uh_instance_state s)
{
	put_state(inst, s);
	uh_instance_save(inst);
}

/* The state an admin's operation moves to, written before the operation acts: if it cannot
 * be written the operation is refused and memory keeps the old state. */
int uh_instance_record_state(struct uh_instance *inst, enum uh_instance_state s,
			     const char *what, struct uh_error *err)
{
	enum uh_instance_state old = inst->state;

	put_state(inst, s);
	if (uh_store_instance_put(inst->d->store, &inst->rec, err) < 0) {
		/* refused this time (409); the store's revision taken, a retry lands */
		if (err->errnum == ESTALE)
			uh_instance_take_rev(inst, err);
		put_state(inst, old);
		return uh_err_prefix(err, "%s: %s refused, nothing changed: its state cannot be "
					  "recorded",
				     inst->rec.name, what);
	}
	inst->unsaved = 0;
	return 0;
}

int uh_instance_active(const struct uh_instance *inst)
{
	return inst->state == UH_STATE_STARTING || inst->state == UH_STATE_RUNNING ||
	       inst->state == UH_STATE_STOPPING;
}

/* The last lines the kernel printed, joined on one line for an error message. */
void uh_instance_console_tail(const struct uh_instance *inst, char *out, size_t len)
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

int uh_instance_paths(struct uh_instance *inst, struct uh_error *err)
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

struct uh_instance *uh_instance_add(struct uh_daemon *d, const struct uh_instance_rec *rec,
				    struct uh_error *err)
{
	struct uh_instance *inst = calloc(1, sizeof(*inst)), **pp;

	if (inst == NULL)
		abort();
	inst->d = d;
	inst->rec = *rec;
	inst->pidfd = -1;
	if (uh_state_parse(rec->state, &inst->state) < 0) {
		/* only a hand-edited row has another word: as before the enum, not running */
		uh_warnx("instance '%s': unknown state '%s' in the state database; taken as stopped",
			 rec->name, rec->state);
		inst->state = UH_STATE_STOPPED;
		snprintf(inst->rec.state, sizeof(inst->rec.state), "%s",
			 uh_state_name(UH_STATE_STOPPED));
	}
	if (uh_instance_paths(inst, err) < 0) {
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

void uh_instance_remove(struct uh_instance *inst)
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
	int running = uh_instance_active(inst) && r->pid > 0;
	json_t *args = uh_words_json(r->kernel_args);
	json_t *o;

	o = json_pack("{s:s, s:s, s:o, s:I, s:s, s:o, s:o, s:o, s:o, s:i, s:b, s:s, s:i, s:o,"
			 " s:s, s:s, s:o, s:s, s:o, s:o}",
			 "name", r->name, "state", uh_state_name(inst->state), "pid",
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
	json_object_set_new(o, "disks", uh_words_json(r->disks));
	json_object_set_new(o, "owner", json_string(r->owner[0] ? r->owner : "provider"));
	json_object_set_new(o, "managed", json_boolean(r->managed));
	json_object_set_new(o, "reclaim", r->reclaim_mib ? uh_reclaim_json(r->reclaim_mib)
							 : json_string("default"));
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
	if (uh_instance_active(inst) && inst->rec.pid > 0 &&
	    (!inst->have_cg || uh_cgroup_usage(&inst->cg, &cpu, &mem) < 0))
		uh_proc_session_usage(inst->rec.pid, &cpu, &mem);
	if (stat(inst->rec.disk, &st) < 0)
		st.st_blocks = 0;
	/* traffic: the totals of earlier taps plus what the current one counted */
	if (uh_instance_active(inst))
		uh_net_sample(inst);
	json_t *o = json_pack("{s:s, s:s, s:f, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:i}", "name",
			 inst->rec.name, "state", uh_state_name(inst->state), "cpu_seconds", cpu,
			 "memory_bytes", (json_int_t)mem, "rx_bytes",
			 (json_int_t)net[UH_NET_RX_BYTES], "tx_bytes",
			 (json_int_t)net[UH_NET_TX_BYTES], "rx_packets",
			 (json_int_t)net[UH_NET_RX_PACKETS], "tx_packets",
			 (json_int_t)net[UH_NET_TX_PACKETS], "rx_dropped",
			 (json_int_t)(uh_instance_active(inst) ? inst->drops[0] : 0), "tx_dropped",
			 (json_int_t)(uh_instance_active(inst) ? inst->drops[1] : 0),
			 "disk_bytes", (json_int_t)st.st_blocks * 512, "processes",
			 !uh_instance_active(inst) ? 0
			 /* the cgroup's list, one file: a session count reads every process's
			  * /proc stat, which at 400 servers was most of the daemon's idle CPU */
			 : inst->have_cg ? uh_cgroup_count(&inst->cg)
					 : uh_proc_session_count(inst->rec.pid));

	/* memory reclaim (reclaim.c): what is unplugged now, what the guest took back under
	 * pressure since it started */
	json_object_set_new(o, "reclaim", json_string(uh_reclaim_state_name(inst->mem.state)));
	json_object_set_new(o, "memory_reclaimed_bytes", json_integer((json_int_t)inst->mem.unplugged));
	json_object_set_new(o, "memory_returned_bytes", json_integer((json_int_t)inst->mem.returned));
	return o;
}

/* ---- memory */

/* The sum of two /proc/meminfo fields, in MiB (0 when it cannot be read). */
static uint64_t meminfo_mib(const char *a, const char *b)
{
	uh_autofclose FILE *fp = fopen("/proc/meminfo", "re");
	char line[256], key[64];
	uint64_t kb = 0, v;

	if (fp == NULL)
		return 0;
	while (fgets(line, sizeof(line), fp)) {
		if (sscanf(line, "%63[^:]: %lu kB", key, &v) == 2 &&
		    (strcmp(key, a) == 0 || strcmp(key, b) == 0))
			kb += v;
	}
	return kb / 1024;
}

uint64_t uh_host_memory_mib(void)
{
	return meminfo_mib("MemTotal", "SwapTotal");
}

uint64_t uh_host_available_mib(void)
{
	return meminfo_mib("MemAvailable", "SwapFree");
}

uint64_t uh_daemon_committed_mib(struct uh_daemon *d)
{
	struct uh_instance *i;
	uint64_t sum = 0;

	for (i = d->instances; i; i = i->next)
		if (uh_instance_active(i))
			sum += i->rec.memory_mib;
	return sum;
}

/* ---- create */

/* "24h", "30m", "10s", "2d" or plain seconds; at least 1 s. */
/* Whether the space-separated list holds exactly `path`. */
/* <dir>/swap.img: sparse, formatted by mkswap, the instance's own. */
int uh_instance_make_swap(struct uh_instance *inst, const char *file, struct uh_error *err)
{
	char path[PATH_MAX + 16];
	uh_autoclose int fd = -1;
	int status;
	pid_t pid;

	snprintf(path, sizeof(path), "%.4000s/%.32s", inst->dir, file);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 || ftruncate(fd, (off_t)(inst->rec.swap_mib << 20)) < 0)
		return uh_err(err, errno, "%s: swap disk %s", inst->rec.name, path);
	uh_close(&fd); /* mkswap opens it */
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
int uh_instance_give_disks(struct uh_instance *inst, struct uh_error *err)
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

int uh_instance_check_disks(struct uh_daemon *d, const char *name, const char *disks,
			    struct uh_error *err)
{
	char list[2048], *path, *save = NULL;

	snprintf(list, sizeof(list), "%s", disks);
	for (path = strtok_r(list, " ", &save); path; path = strtok_r(NULL, " ", &save)) {
		uh_autoclose int dfd = uh_data_disk_open(d, name, path, err);

		if (dfd < 0)
			return uh_err_prefix(err, "%s", name);
	}
	return 0;
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
	/* checked here for a clear answer; given away (by descriptor) at the end */
	if (uh_instance_check_disks(d, name, rec.disks, err) < 0)
		return -1;
	rec.backup_last = time(NULL); /* the first backup an interval after creation */
	if (uh_instance_find(d, name) != NULL)
		return uh_errc(err, EEXIST, "instance '%s' already exists", name);
	if (strcmp(rec.owner, "provider") != 0) {
		struct uh_customer_rec c;

		r = uh_store_customer_get(d->store, rec.owner, &c, err);
		if (r < 0)
			return -1;
		if (r == 1)
			return uh_errc(err, ENOENT, "%s: no customer named '%s' (umlhost customer "
						    "create %s)",
				       name, rec.owner, rec.owner);
	}
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
		/* the lowest free uid of the range: each instance its own; the last two are the
		 * HTTPS gate's and the kernel builder's (uh_config_gate_uid, _build_uid) */
		uint32_t uid, end = uh_config_gate_uid(&d->cfg);
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
				       "%s: no free uid left in %u-%u (uid_min, uid_count; %u and %u "
				       "are the HTTPS gate's and the kernel builder's)",
				       name, d->cfg.uid_min, end - 1, end, end + 1);
		rec.uid = (int)uid;
	}
	if (uh_network_assign(d, &rec, spec.network, spec.ip, err) < 0)
		return uh_err_prefix(err, "%s", name);
	rec.template_version = t.version;
	rec.flat = flat;
	snprintf(rec.state, sizeof(rec.state), "%s", uh_state_name(UH_STATE_STOPPED));
	rec.created = time(NULL);
	inst = uh_instance_add(d, &rec, err);
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
	if (inst->rec.swap_mib && uh_instance_make_swap(inst, "swap.img", err) < 0)
		goto fail_dir;
	if (spec.ssh_keys && uh_seed_create(inst->dir, name, inst->rec.created, spec.ssh_keys,
					    err) < 0) {
		uh_err_prefix(err, "%s", name);
		goto fail_dir;
	}
	/* last of the steps that can fail: a failure after it would leave the disks given */
	if (inst->rec.uid > 0 && uh_instance_give_disks(inst, err) < 0)
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
	uh_instance_remove(inst);
	return -1;
}
