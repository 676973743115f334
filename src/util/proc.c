#include "util/proc.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Split /proc/PID/stat after the command name (which may hold spaces and parentheses);
 * fields[0] is field 3 (state). Returns the number of fields. */
static int read_stat(pid_t pid, char *buf, size_t len, char **fields, int max)
{
	char path[64], *p, *save = NULL;
	ssize_t n;
	int fd, i = 0;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	p = strrchr(buf, ')');
	if (p == NULL)
		return 0;
	for (p = strtok_r(p + 1, " ", &save); p && i < max; p = strtok_r(NULL, " ", &save))
		fields[i++] = p;
	return i;
}

/* field N of stat is fields[N - 3] */
#define F(n) ((n)-3)

uint64_t uh_proc_starttime(pid_t pid)
{
	char buf[1024], *f[64];

	if (read_stat(pid, buf, sizeof(buf), f, 64) <= F(22))
		return 0;
	return strtoull(f[F(22)], NULL, 10);
}

int uh_proc_running(pid_t pid, uint64_t start)
{
	char buf[1024], *f[64];

	if (pid <= 0 || start == 0 || read_stat(pid, buf, sizeof(buf), f, 64) <= F(22))
		return 0;
	if (f[F(3)][0] == 'Z' || f[F(3)][0] == 'X')
		return 0;
	return strtoull(f[F(22)], NULL, 10) == start;
}

/* Call fn for each pid in the session. */
static int for_session(pid_t sid, void (*fn)(pid_t pid, char **f, int nf, void *arg), void *arg)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	int count = 0;

	if (d == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		char buf[1024], *f[64], *end;
		long pid = strtol(de->d_name, &end, 10);
		int nf;

		if (*end != '\0' || pid <= 0)
			continue;
		nf = read_stat((pid_t)pid, buf, sizeof(buf), f, 64);
		if (nf <= F(22) || atoi(f[F(6)]) != (int)sid)
			continue;
		/* zombies hold no files and cannot be killed; whoever adopted them reaps them */
		if (f[F(3)][0] == 'Z' || f[F(3)][0] == 'X')
			continue;
		count++;
		if (fn)
			fn((pid_t)pid, f, nf, arg);
	}
	closedir(d);
	return count;
}

uid_t uh_proc_uid(pid_t pid)
{
	char path[64], line[256];
	uid_t uid = (uid_t)-1;
	FILE *fp;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	fp = fopen(path, "re");
	if (fp == NULL)
		return uid;
	while (fgets(line, sizeof(line), fp))
		if (strncmp(line, "Uid:", 4) == 0) {
			uid = (uid_t)strtoul(line + 4, NULL, 10);
			break;
		}
	fclose(fp);
	return uid;
}

struct signal_ctx {
	int sig;
	uid_t uid;
	int sent;
};

static void signal_one(pid_t pid, char **f, int nf, void *arg)
{
	struct signal_ctx *c = arg;

	if (c->uid != (uid_t)-1 && uh_proc_uid(pid) != c->uid)
		return;
	if (kill(pid, c->sig) == 0)
		c->sent++;
}

int uh_proc_signal_session(pid_t sid, uid_t uid, int sig)
{
	struct signal_ctx c = {sig, uid, 0};

	if (sid <= 1)
		return 0; /* never the whole system */
	for_session(sid, signal_one, &c);
	return c.sent;
}

int uh_proc_signal_file_users(const char *path, int sig)
{
	struct stat target;
	DIR *d;
	struct dirent *de;
	int count = 0;

	if (stat(path, &target) < 0)
		return -1;
	d = opendir("/proc");
	if (d == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		char fddir[64], *end;
		long pid = strtol(de->d_name, &end, 10);
		DIR *fds;
		struct dirent *fe;

		if (*end != '\0' || pid <= 1 || pid == getpid())
			continue;
		snprintf(fddir, sizeof(fddir), "/proc/%ld/fd", pid);
		fds = opendir(fddir);
		if (fds == NULL)
			continue;
		while ((fe = readdir(fds)) != NULL) {
			char fdpath[sizeof(fddir) + sizeof(fe->d_name)];
			struct stat st;

			if (fe->d_name[0] == '.')
				continue;
			snprintf(fdpath, sizeof(fdpath), "%s/%s", fddir, fe->d_name);
			if (stat(fdpath, &st) == 0 && st.st_dev == target.st_dev &&
			    st.st_ino == target.st_ino) {
				if (sig)
					kill((pid_t)pid, sig);
				count++;
				break;
			}
		}
		closedir(fds);
	}
	closedir(d);
	return count;
}

int uh_proc_session_count(pid_t sid)
{
	if (sid <= 1)
		return 0;
	return for_session(sid, NULL, NULL);
}

struct usage {
	pid_t main;
	uint64_t ticks;
	uint64_t bytes;
};

static uint64_t smaps_field(pid_t pid, const char *name)
{
	char path[64], line[256];
	uint64_t total = 0;
	size_t len = strlen(name);
	FILE *fp;

	snprintf(path, sizeof(path), "/proc/%d/smaps_rollup", (int)pid);
	fp = fopen(path, "re");
	if (fp == NULL)
		return 0;
	while (fgets(line, sizeof(line), fp))
		if (strncmp(line, name, len) == 0 && line[len] == ':')
			total += strtoull(line + len + 1, NULL, 10) * 1024;
	fclose(fp);
	return total;
}

static void usage_one(pid_t pid, char **f, int nf, void *arg)
{
	struct usage *u = arg;

	u->ticks += strtoull(f[F(14)], NULL, 10) + strtoull(f[F(15)], NULL, 10);
	if (pid == u->main)
		u->bytes += smaps_field(pid, "Rss");
	else
		u->bytes += smaps_field(pid, "Private_Dirty") + smaps_field(pid, "Private_Clean");
}

int uh_proc_session_usage(pid_t sid, double *cpu_seconds, uint64_t *memory_bytes)
{
	struct usage u = {.main = sid};
	long hz = sysconf(_SC_CLK_TCK);

	if (sid <= 1)
		return -1;
	if (for_session(sid, usage_one, &u) == 0)
		return -1;
	*cpu_seconds = (double)u.ticks / (double)(hz > 0 ? hz : 100);
	*memory_bytes = u.bytes;
	return 0;
}
