/* An instance's kernel as a host process (spawn.h): checks before a start, the run directory
 * and cgroup, the monitor's command line and fork, the pid, the mconsole, signals. Nothing
 * here decides what happens next: lifecycle.c passes the callbacks. */
#include "daemon/spawn.h"
#include "daemon/budget.h"
#include "cow/cow_file.h"
#include "jail/idrange.h"
#include "util/cleanup.h"
#include "util/fileio.h"
#include "util/proc.h"

#include <signal.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/pidfd.h>
#include <sys/stat.h>

/* ---- talking to the kernel, signalling it */

void uh_spawn_mc_close(struct uh_instance *inst)
{
	uh_loop_unwatch(inst->d->loop, inst->mc_watch);
	inst->mc_watch = NULL;
	uh_mc_client_free(inst->mc);
	inst->mc = NULL;
	uh_mc_result_clear(&inst->mc_res);
}

int uh_spawn_mc_send(struct uh_instance *inst, const char *cmd, uh_io_fn on_reply,
		     struct uh_error *err)
{
	if (inst->mc == NULL && uh_mc_client_new(inst->mconsole, inst->run_dir, &inst->mc, err) < 0)
		return -1;
	uh_loop_unwatch(inst->d->loop, inst->mc_watch);
	inst->mc_watch = NULL;
	uh_mc_result_clear(&inst->mc_res);
	if (uh_mc_send(inst->mc, cmd, &inst->mc_res, err) < 0)
		return -1;
	if (on_reply)
		inst->mc_watch = uh_loop_watch(inst->d->loop, uh_mc_client_fd(inst->mc), EPOLLIN,
					       on_reply, inst);
	return 0;
}

void uh_spawn_notify_close(struct uh_instance *inst)
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
int uh_spawn_signal(struct uh_instance *inst, int sig)
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


/* Anything of the instance still alive: its session, and any process holding its disk. */
int uh_spawn_kill_leftovers(struct uh_instance *inst)
{
	int n = 0, k;

	n += uh_spawn_signal(inst, SIGKILL);
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

int uh_spawn_watch_pid(struct uh_instance *inst, uh_io_fn on_exit, struct uh_error *err)
{
	inst->pidfd = (int)pidfd_open(inst->rec.pid, 0);
	if (inst->pidfd < 0)
		return uh_err(err, errno, "watch pid %d", inst->rec.pid);
	inst->pid_watch = uh_loop_watch(inst->d->loop, inst->pidfd, EPOLLIN, on_exit, inst);
	return 0;
}

int uh_spawn_read_pid(struct uh_instance *inst, struct uh_error *err)
{
	char path[PATH_MAX + 16], buf[64];
	unsigned long long st = 0;
	int pid = 0;

	snprintf(path, sizeof(path), "%s/uml.pid", inst->run_dir);
	if (uh_read_small(path, buf, sizeof(buf)) < 0)
		return uh_err(err, errno, "read %s", path);
	if (sscanf(buf, "%d %llu", &pid, &st) != 2 || pid <= 1)
		return uh_errx(err, "malformed %s", path);
	inst->rec.pid = pid;
	inst->rec.pid_start = st;
	return 0;
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

int uh_spawn_check(struct uh_instance *inst, struct uh_error *err)
{
	struct uh_daemon *d = inst->d;

	if (!inst->rec.flat && uh_instance_check_template(inst, err) < 0)
		return -1;
	if (check_kernel(inst, err) < 0)
		return -1;
	/* users and subordinate ranges added since the daemon started */
	if (d->cfg.jail && inst->rec.uid > 0 &&
	    uh_idrange_check(&uh_id_files_host, (uint32_t)inst->rec.uid, 1, err) < 0)
		return uh_err_prefix(err, "%s: its uid %d is not its own", inst->rec.name,
				     inst->rec.uid);
	if (uh_budget_check(inst->rec.name, uh_host_memory_mib(), d->cfg.memory_reserve_mib,
			    d->cfg.memory_overcommit, uh_daemon_committed_mib(d),
			    inst->rec.memory_mib, err) < 0)
		return -1;
	if (d->cfg.memory_overcommit > 100 &&
	    uh_budget_check_available(inst->rec.name, uh_host_available_mib(),
				      d->cfg.memory_reserve_mib, inst->rec.memory_mib, err) < 0)
		return -1;
	return 0;
}

int uh_spawn_notify_open(struct uh_instance *inst, uh_io_fn on_notify, struct uh_error *err)
{
	char sock[PATH_MAX + 16];

	snprintf(sock, sizeof(sock), "%s/notify.sock", inst->run_dir);
	if (uh_mc_listener_new(sock, &inst->notify, err) < 0)
		return uh_err_prefix(err, "%s", inst->rec.name);
	inst->notify_watch = uh_loop_watch(inst->d->loop, uh_mc_listener_fd(inst->notify),
					   EPOLLIN, on_notify, inst);
	return 0;
}

/* The jailed kernel (its uid) reaches its run dir, creates its umid directory in u/ and
 * sends to the notify socket; nobody else gets in. */
static int give_run_dir(struct uh_instance *inst, struct uh_error *err)
{
	char root[PATH_MAX + 8], sock[PATH_MAX + 16];
	gid_t g = (gid_t)inst->rec.uid;

	snprintf(root, sizeof(root), "%.4000s/root", inst->run_dir);
	snprintf(sock, sizeof(sock), "%s/notify.sock", inst->run_dir);
	if (chown(inst->run_dir, 0, g) < 0 || chmod(inst->run_dir, 0750) < 0 ||
	    chown(inst->umid_dir, (uid_t)inst->rec.uid, g) < 0 || chmod(inst->umid_dir, 0700) < 0 ||
	    chown(sock, 0, g) < 0 || chmod(sock, 0660) < 0 || mkdir(root, 0755) < 0)
		return uh_err(err, errno, "%s: prepare %s for uid %d", inst->rec.name,
			      inst->run_dir, inst->rec.uid);
	return 0;
}

int uh_spawn_prepare(struct uh_instance *inst, uh_io_fn on_notify, struct uh_error *err)
{
	struct uh_daemon *d = inst->d;
	struct uh_cgroup_limits lim = {
		.memory_bytes = uh_cgroup_memory_for(inst->rec.memory_mib),
		.cpu_weight = 100,
		.cpu_quota_pct = (uint32_t)inst->rec.cpu_quota_pct,
		.pids_max = (uint32_t)(inst->rec.pids_max ? inst->rec.pids_max : d->cfg.pids_max),
		.io_weight = 100,
	};
	struct uh_error ignored;

	uh_rm_tree(inst->run_dir);
	if (mkdir(inst->run_dir, 0750) < 0 || mkdir(inst->umid_dir, 0750) < 0) {
		uh_err(err, errno, "%s: create %s", inst->rec.name, inst->run_dir);
		goto fail;
	}
	if (uh_spawn_notify_open(inst, on_notify, err) < 0)
		goto fail;
	if (inst->rec.uid > 0 && give_run_dir(inst, err) < 0)
		goto fail;
	uh_cgroup_destroy(&inst->cg, &ignored); /* a leftover of a crash, if empty */
	if (uh_cgroup_create(&inst->cg, &lim, err) < 0) {
		uh_err_prefix(err, "%s", inst->rec.name);
		goto fail;
	}
	inst->have_cg = 1;
	return 0;
fail:
	uh_spawn_unprepare(inst);
	return -1;
}

void uh_spawn_unprepare(struct uh_instance *inst)
{
	struct uh_error ignored;

	uh_cgroup_destroy(&inst->cg, &ignored);
	inst->have_cg = 0;
	uh_spawn_notify_close(inst);
}

pid_t uh_spawn_monitor(struct uh_instance *inst, struct uh_error *err)
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
