/* umlhostd: the supervisor daemon. Sets up the state and run directories, the state
 * database, the API socket and the event loop; re-adopts instances that kept running;
 * starts the autostart ones; then serves until SIGTERM. Instances survive it. */
#include "uh_build.h"
#include "daemon/daemon.h"
#include "daemon/reclaim.h"
#include "jail/idrange.h"
#include "daemon/metrics.h"
#include "util/cleanup.h"
#include "util/fileio.h"
#include "util/log.h"

#define NOFILE_WANT 8192

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#ifndef UMLHOST_LIBEXECDIR
#define UMLHOST_LIBEXECDIR "/usr/local/libexec/umlhost"
#endif
#define DEFAULT_CONFIG "/etc/umlhost/umlhostd.conf"

static const char usage[] =
	"usage: umlhostd [--state-dir DIR] [--run-dir DIR] [--socket PATH] [--foreground]\n"
	"                [--config FILE] [--debug] [-n] [--version]\n";

#ifndef UMLHOST_DATADIR
#define UMLHOST_DATADIR "/usr/local/share/umlhost"
#endif

/* Unless configured: `name` next to our binary if it is there, else the installed path. */
static void sibling(char *dst, size_t len, char *self, char *slash, const char *name,
		    const char *installed)
{
	if (dst[0])
		return;
	if (slash) {
		strcpy(slash + 1, name);
		if (access(self, R_OK) == 0) {
			snprintf(dst, len, "%s", self);
			return;
		}
	}
	snprintf(dst, len, "%s", installed);
}

/* The helpers (monitor, kernel and template builders, backup helper, hosting fragment). */
static void find_helpers(struct uh_config *c)
{
	char self[PATH_MAX], *slash;
	ssize_t n;

	/* in a build tree the helpers sit next to umlhostd; installed, in libexec/datadir */
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	self[n > 0 ? n : 0] = '\0';
	slash = strrchr(self, '/');
	if (slash == NULL || (size_t)(slash - self) + 32 >= sizeof(self))
		slash = NULL;
	sibling(c->monitor, sizeof(c->monitor), self, slash, "umlhost-monitor",
		UMLHOST_LIBEXECDIR "/umlhost-monitor");
	sibling(c->kernel_builder, sizeof(c->kernel_builder), self, slash, "umlhost-kernel-build",
		UMLHOST_LIBEXECDIR "/umlhost-kernel-build");
	sibling(c->kernel_fragment, sizeof(c->kernel_fragment), self, slash, "hosting.config",
		UMLHOST_DATADIR "/hosting.config");
	sibling(c->kernel_patches, sizeof(c->kernel_patches), self, slash, "kernel-patches",
		UMLHOST_DATADIR "/kernel-patches");
	sibling(c->template_builder, sizeof(c->template_builder), self, slash,
		"umlhost-template-build", UMLHOST_LIBEXECDIR "/umlhost-template-build");
	sibling(c->backup_helper, sizeof(c->backup_helper), self, slash, "umlhost-backup",
		UMLHOST_LIBEXECDIR "/umlhost-backup");
	sibling(c->api_gate, sizeof(c->api_gate), self, slash, "umlhost-gate",
		UMLHOST_LIBEXECDIR "/umlhost-gate");
}

static int check_config(const struct uh_config *c, struct uh_error *err)
{
	if (access(c->kernel, X_OK) < 0)
		return uh_err(err, errno, "kernel %s (apt-get install user-mode-linux)", c->kernel);
	if (access(c->monitor, X_OK) < 0)
		return uh_err(err, errno, "monitor %s", c->monitor);
	if (c->min_memory_mib < 16)
		return uh_errx(err, "min_memory below 16M cannot boot");
	if (c->default_memory_mib < c->min_memory_mib)
		return uh_errx(err, "default_memory is below min_memory");
	/* instance uids nobody else has (a host user could otherwise ptrace a kernel) */
	if (uh_idrange_check(&uh_id_files_host, c->uid_min, c->uid_count, err) < 0)
		return -1;
	return 0;
}

/* What the command line set: a reload starts from the file again and puts these over it. */
static const char *opt_state_dir, *opt_run_dir, *opt_socket, *opt_config;

static int read_config(struct uh_config *c, struct uh_error *err)
{
	const char *config = opt_config;

	uh_config_defaults(c);
	if (config == NULL && access(DEFAULT_CONFIG, F_OK) == 0)
		config = DEFAULT_CONFIG;
	if (config && uh_config_load(c, config, err) < 0)
		return -1;
	if (opt_state_dir)
		snprintf(c->state_dir, sizeof(c->state_dir), "%s", opt_state_dir);
	if (opt_run_dir)
		snprintf(c->run_dir, sizeof(c->run_dir), "%s", opt_run_dir);
	if (opt_socket)
		snprintf(c->socket, sizeof(c->socket), "%s", opt_socket);
	uh_config_finish(c);
	find_helpers(c);
	return check_config(c, err);
}

/* SIGHUP: the config file again. What a running daemon can change is taken; what needs a
 * restart is kept and named; a file that would not start a daemon changes nothing. */
static void reload(struct uh_daemon *d)
{
	uh_autofree struct uh_config *next = malloc(sizeof(*next));
	char applied[1024], kept[512];
	struct uh_error err;

	if (next == NULL)
		abort();
	if (read_config(next, &err) < 0) {
		uh_daemon_event(d, "", "config-reload-failed", "%s; the running configuration is "
				"unchanged", err.msg);
		return;
	}
	uh_config_reload(&d->cfg, next, applied, sizeof(applied), kept, sizeof(kept));
	if (strstr(applied, "group")) {
		struct group *gr = getgrnam(d->cfg.group);

		d->have_group = gr != NULL;
		d->group_gid = gr ? gr->gr_gid : 0;
	}
	uh_daemon_event(d, "", "config-reloaded", "applied: %s; needs a restart, kept as it was: %s",
			applied[0] ? applied : "nothing changed", kept[0] ? kept : "none");
}

static void on_signal(void *arg, uint32_t events)
{
	struct uh_daemon *d = arg;
	struct signalfd_siginfo si;

	while (read(d->sig_fd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGCHLD)
			uh_daemon_reap_children(d);
		else if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT)
			d->quit = 1;
		else if (si.ssi_signo == SIGHUP)
			reload(d);
	}
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {{"state-dir", required_argument, NULL, 's'},
					     {"run-dir", required_argument, NULL, 'r'},
					     {"socket", required_argument, NULL, 'S'},
					     {"config", required_argument, NULL, 'c'},
					     {"foreground", no_argument, NULL, 'f'},
					     {"debug", no_argument, NULL, 'd'},
					     {"version", no_argument, NULL, 'V'},
					     {"help", no_argument, NULL, 'h'},
					     {NULL, 0, NULL, 0}};
	int check_only = 0, foreground = 0, debug = 0, c, lock_fd = -1, ready_pipe[2] = {-1, -1};
	struct uh_daemon d = {0};
	struct uh_error err;
	char path[PATH_MAX + 32];
	sigset_t mask;
	struct group *gr;

	while ((c = getopt_long(argc, argv, "nh", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			opt_state_dir = optarg;
			break;
		case 'r':
			opt_run_dir = optarg;
			break;
		case 'S':
			opt_socket = optarg;
			break;
		case 'c':
			opt_config = optarg;
			break;
		case 'f':
			foreground = 1;
			break;
		case 'd':
			debug = 1;
			break;
		case 'n':
			check_only = 1;
			break;
		case 'V':
			printf("umlhostd %s\n", UMLHOST_VERSION);
			return 0;
		case 'h':
			fputs(usage, stdout);
			return 0;
		default:
			fputs(usage, stderr);
			return 2;
		}
	}
	if (optind != argc) {
		fputs(usage, stderr);
		return 2;
	}
	uh_log_init("umlhostd", debug);
	if (read_config(&d.cfg, &err) < 0) {
		fprintf(stderr, "umlhostd: %s\n", err.msg);
		return 1;
	}
	if (check_only) {
		printf("configuration OK\n");
		return 0;
	}

	if (!foreground && getenv("NOTIFY_SOCKET") == NULL) {
		/* classic daemon: the parent exits once the child serves */
		pid_t pid;
		char b;

		if (pipe2(ready_pipe, O_CLOEXEC) < 0 || (pid = fork()) < 0) {
			perror("umlhostd: fork");
			return 1;
		}
		if (pid > 0) {
			close(ready_pipe[1]);
			return read(ready_pipe[0], &b, 1) == 1 ? 0 : 1;
		}
		close(ready_pipe[0]);
		setsid();
	}

	snprintf(path, sizeof(path), "%s/templates", d.cfg.state_dir);
	if (uh_mkdirs(d.cfg.state_dir, 0750, &err) < 0 || uh_mkdirs(path, 0750, &err) < 0)
		goto fail;
	snprintf(path, sizeof(path), "%s/instances", d.cfg.state_dir);
	if (uh_mkdirs(path, 0750, &err) < 0)
		goto fail;
	snprintf(path, sizeof(path), "%s/i", d.cfg.run_dir);
	if (uh_mkdirs(d.cfg.run_dir, 0755, &err) < 0 || uh_mkdirs(path, 0750, &err) < 0)
		goto fail;
	snprintf(path, sizeof(path), "%s/umlhostd.lock", d.cfg.run_dir);
	lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (lock_fd < 0 || flock(lock_fd, LOCK_EX | LOCK_NB) < 0) {
		uh_err(&err, errno, "another umlhostd uses %s (lock %s)", d.cfg.run_dir, path);
		goto fail;
	}
	gr = getgrnam(d.cfg.group);
	if (gr) {
		d.have_group = 1;
		d.group_gid = gr->gr_gid;
	}

	snprintf(path, sizeof(path), "%s/state.db", d.cfg.state_dir);
	if (uh_store_open(path, &d.store, &err) < 0)
		goto fail;
	d.loop = uh_loop_new();
	if (d.loop == NULL) {
		uh_err(&err, errno, "epoll");
		goto fail;
	}
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	d.sig_fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (d.sig_fd < 0) {
		uh_err(&err, errno, "signalfd");
		goto fail;
	}
	d.sig_watch = uh_loop_watch(d.loop, d.sig_fd, EPOLLIN, on_signal, &d);
	/* processes of instances orphaned while we run are reaped here (on_signal) */
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	/* each API connection is a descriptor (the HTTPS listener takes 2000), each instance a
	 * few: systemd's soft limit of 1024 is raised towards the hard one */
	{
		struct rlimit nofile;

		if (getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < NOFILE_WANT) {
			nofile.rlim_cur = nofile.rlim_max < NOFILE_WANT ? nofile.rlim_max : NOFILE_WANT;
			setrlimit(RLIMIT_NOFILE, &nofile);
		}
	}

	uh_db_reserve_init(&d); /* before anything writes to the store */
	if (uh_daemon_load(&d, &err) < 0)
		goto fail;
	uh_disk_resume(&d); /* disk workers a killed daemon left */
	uh_kernel_init(&d);
	uh_events_init(&d);
	uh_stats_history_init(&d);
	uh_reclaim_init(&d);
	if (uh_api_start(&d, &err) < 0)
		goto fail;
	uh_net_init(&d);
	uh_backup_schedule_init(&d);
	uh_info("serving on %s (state %s, %d instances)", d.cfg.socket, d.cfg.state_dir,
		d.n_instances);
	sd_notify(0, "READY=1");
	if (ready_pipe[1] >= 0) {
		(void)!write(ready_pipe[1], "", 1);
		close(ready_pipe[1]);
		int null = open("/dev/null", O_RDWR);
		dup2(null, 0);
		dup2(null, 1);
		close(null);
	}
	uh_daemon_autostart(&d);

	while (!d.quit)
		uh_loop_run_once(d.loop, -1);

	sd_notify(0, "STOPPING=1");
	uh_info("stopping; instances keep running");
	uh_backup_shutdown(&d);
	uh_work_wait_all(&d);
	uh_kernel_shutdown(&d);
	uh_template_shutdown(&d);
	uh_api_stop(&d);
	uh_metrics_free();
	for (struct uh_instance *i = d.instances; i; i = i->next)
		if (i->rec.pid > 0 && uh_net_sample(i))
			uh_instance_write(i, &err);
	uh_nl_close(d.nl);
	uh_store_close(d.store);
	return 0;
fail:
	fprintf(stderr, "umlhostd: %s\n", err.msg);
	return 1;
}
