/* Background jobs of the daemon: a helper program (the kernel builder, the template builder,
 * the backup helper) in its own session at nice 10, stdin /dev/null, stdout and stderr
 * appended to a log that the CLI reads while it runs; or blocking work of the daemon's own
 * (merging a disk, e2fsck) in a forked child. The daemon learns of their end from SIGCHLD
 * (main loop). */
#include "daemon/daemon.h"
#include "util/cleanup.h"
#include "util/fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <time.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

pid_t uh_job_spawn(char *const argv[], const char *log, struct uh_error *err)
{
	uh_autoclose int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	pid_t pid;

	if (fd < 0)
		return uh_err(err, errno, "create %s", log);
	pid = fork();
	if (pid < 0)
		return uh_err(err, errno, "fork");
	if (pid == 0) {
		sigset_t none;
		int null = open("/dev/null", O_RDONLY);

		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		setsid();
		setpriority(PRIO_PROCESS, 0, 10); /* a build must not starve the instances */
		dup2(null, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		closefrom(3);
		execv(argv[0], argv);
		fprintf(stderr, "umlhostd: exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	return pid;
}

void uh_job_error_line(const char *log, const char *prefix, char *out, size_t len)
{
	char buf[8192], *p, *line = NULL, *save = NULL;

	snprintf(out, len, "the builder failed");
	if (uh_read_tail(log, 0, buf, sizeof(buf)) <= 0)
		return;
	/* the last "<prefix> error:" line, else the last line */
	for (p = strtok_r(buf, "\n", &save); p; p = strtok_r(NULL, "\n", &save)) {
		int is_err = strstr(p, prefix) && strstr(p, "error:");

		if (is_err || line == NULL || !(strstr(line, prefix) && strstr(line, "error:")))
			line = p;
	}
	if (line)
		snprintf(out, len, "%s", line);
}

struct uh_build *uh_build_find(struct uh_build *list, const char *name)
{
	for (; list; list = list->next)
		if (strcmp(list->name, name) == 0)
			return list;
	return NULL;
}

struct uh_build *uh_build_started(struct uh_build **list, const char *name, const char *dir,
				  pid_t pid)
{
	struct uh_build *b = uh_build_find(*list, name);

	if (b == NULL) {
		b = calloc(1, sizeof(*b));
		if (b == NULL)
			abort();
		b->next = *list;
		*list = b;
	}
	snprintf(b->name, sizeof(b->name), "%s", name);
	snprintf(b->dir, sizeof(b->dir), "%s", dir);
	b->pid = pid;
	b->failed = 0;
	b->message[0] = '\0';
	b->started = time(NULL);
	return b;
}

void uh_build_drop(struct uh_build **list, struct uh_build *b, int remove_dir)
{
	struct uh_build **pp;

	if (remove_dir)
		uh_rm_tree(b->dir);
	for (pp = list; *pp; pp = &(*pp)->next)
		if (*pp == b) {
			*pp = b->next;
			break;
		}
	free(b);
}

json_t *uh_build_json(const struct uh_build *b)
{
	return json_pack("{s:s, s:s, s:s?}", "name", b->name, "status",
			 b->failed ? "failed" : "building", "error", b->failed ? b->message : NULL);
}

void uh_build_stop_all(struct uh_build *list)
{
	/* a build does not outlive the daemon: its result would have no one to register it */
	for (; list; list = list->next)
		if (list->pid > 0)
			kill(-list->pid, SIGTERM);
}

/* ---- children and who waits for them */
struct uh_child {
	pid_t pid;
	uh_child_exit_fn fn;
	void *arg;
	struct uh_child *next;
};

void uh_child_watch(struct uh_daemon *d, pid_t pid, uh_child_exit_fn fn, void *arg)
{
	struct uh_child *c = calloc(1, sizeof(*c));

	if (c == NULL)
		abort();
	c->pid = pid;
	c->fn = fn;
	c->arg = arg;
	c->next = d->children;
	d->children = c;
}

/* Take pid's watcher off the list; NULL if none. */
static struct uh_child *child_take(struct uh_daemon *d, pid_t pid)
{
	struct uh_child *c, **pp;

	for (pp = &d->children; (c = *pp) != NULL; pp = &c->next)
		if (c->pid == pid) {
			*pp = c->next;
			return c;
		}
	return NULL;
}

void uh_child_unwatch(struct uh_daemon *d, pid_t pid)
{
	free(child_take(d, pid));
}

void uh_daemon_reap_children(struct uh_daemon *d)
{
	pid_t pid;
	int status;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		struct uh_child *c = child_take(d, pid);

		if (c == NULL)
			continue;
		c->fn(c->arg, pid, status);
		free(c);
	}
}

/* ---- work in a forked child */

struct uh_work {
	pid_t pid;
	int fd; /* the child's error, if it failed */
	uh_work_done_fn finish;
	void *arg;
	struct uh_work *next;
};

static void work_exited(void *arg, pid_t pid, int status);

int uh_work_start(struct uh_daemon *d, uh_work_fn fn, uh_work_done_fn finish, void *arg,
		  struct uh_error *err)
{
	struct uh_work *w;
	uh_autoclose int rd = -1, wr = -1;
	int pfd[2];
	pid_t pid;

	if (pipe2(pfd, O_CLOEXEC) < 0)
		return uh_err(err, errno, "pipe");
	rd = pfd[0];
	wr = pfd[1];
	pid = fork();
	if (pid < 0)
		return uh_err(err, errno, "fork");
	if (pid == 0) {
		/* only file work and tools here: no loop, no store, no sockets of the daemon. Its
		 * descriptors are closed too: a worker that outlives a killed daemon must not hold
		 * the daemon's lock (umlhostd.lock: the next daemon would not start), its socket or
		 * its database */
		struct uh_error e = {0};
		sigset_t none;
		int rc, out = wr;

		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		setpriority(PRIO_PROCESS, 0, 10);
		if (out != 3) {
			out = dup3(wr, 3, O_CLOEXEC);
			if (out < 0)
				_exit(1);
		}
		closefrom(4);
		rc = fn(arg, &e);
		if (rc < 0)
			(void)!write(out, &e, sizeof(e)); /* < PIPE_BUF: one piece */
		_exit(rc < 0 ? 1 : 0);
	}
	w = calloc(1, sizeof(*w));
	if (w == NULL)
		abort();
	w->pid = pid;
	w->fd = uh_steal_fd(&rd);
	w->finish = finish;
	w->arg = arg;
	w->next = d->works;
	d->works = w;
	uh_child_watch(d, pid, work_exited, d);
	return 0;
}

static void work_exited(void *arg, pid_t pid, int status)
{
	struct uh_daemon *d = arg;
	struct uh_work *w, **pp;
	struct uh_error e = {0};
	int rc;

	for (pp = &d->works; (w = *pp) != NULL; pp = &w->next)
		if (w->pid == pid)
			break;
	if (w == NULL)
		return;
	*pp = w->next;
	rc = WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
	if (rc < 0 && read(w->fd, &e, sizeof(e)) != (ssize_t)sizeof(e))
		uh_errx(&e, "the worker process died (%s %d)",
			WIFSIGNALED(status) ? "signal" : "exit",
			WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
	e.msg[sizeof(e.msg) - 1] = '\0';
	close(w->fd);
	w->finish(w->arg, rc, &e);
	free(w);
}

void uh_work_wait_all(struct uh_daemon *d)
{
	/* disk work is not interrupted halfway (a half-resized filesystem): it is waited for */
	while (d->works) {
		int status;
		pid_t pid = waitpid(d->works->pid, &status, 0);

		if (pid < 0 && errno == EINTR)
			continue;
		if (pid < 0)
			status = 0;
		pid = d->works->pid;
		free(child_take(d, pid));
		work_exited(d, pid, status);
	}
}
