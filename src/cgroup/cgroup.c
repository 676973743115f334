#include "cgroup/cgroup.h"
#include "util/cleanup.h"
#include "util/fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *cgroup_root = "/sys/fs/cgroup";
#define ROOT cgroup_root

void uh_cgroup_set_root(const char *root)
{
	cgroup_root = root;
}

uint64_t uh_cgroup_memory_for(uint64_t mem_mib)
{
	return (mem_mib + mem_mib / 4 + 64) << 20;
}

static int write_file(const char *dir, const char *file, const char *value, struct uh_error *err)
{
	char path[512];
	uh_autoclose int fd = -1;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	/* O_TRUNC like a shell's `>`: cgroupfs ignores it, and a test's plain file needs it */
	fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
	if (fd < 0 || uh_write_full(fd, value, strlen(value)) < 0)
		return uh_err(err, errno, "cgroup: write %s to %s", value, path);
	return 0;
}

static int read_u64(const char *dir, const char *file, const char *key, uint64_t *v)
{
	char path[512], line[256];
	FILE *fp;
	int found = -1;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	fp = fopen(path, "re");
	if (fp == NULL)
		return -1;
	while (fgets(line, sizeof(line), fp)) {
		if (key == NULL) {
			*v = strtoull(line, NULL, 10);
			found = 0;
			break;
		}
		if (strncmp(line, key, strlen(key)) == 0 && line[strlen(key)] == ' ') {
			*v = strtoull(line + strlen(key) + 1, NULL, 10);
			found = 0;
			break;
		}
	}
	fclose(fp);
	return found;
}

int uh_cgroup_paths(const char *base, const char *name, struct uh_cgroup *cg, struct uh_error *err)
{
	static const char *const v1[] = {"memory", "cpu", "cpuacct", "pids", "blkio"};
	struct stat st;
	size_t i;

	memset(cg, 0, sizeof(*cg));
	{
		char f[512];

		snprintf(f, sizeof(f), "%s/cgroup.controllers", ROOT);
		cg->version = stat(f, &st) == 0 ? 2 : 1;
	}
	if (cg->version == 2) {
		snprintf(cg->dirs[0], sizeof(cg->dirs[0]), "%s/%s/%s", ROOT, base, name);
		cg->n_dirs = 1;
		strcpy(cg->memory_dir, cg->dirs[0]);
		strcpy(cg->cpuacct_dir, cg->dirs[0]);
		strcpy(cg->pids_dir, cg->dirs[0]);
		return 0;
	}
	for (i = 0; i < sizeof(v1) / sizeof(v1[0]); i++) {
		char top[300];

		snprintf(top, sizeof(top), "%s/%s", ROOT, v1[i]);
		if (stat(top, &st) < 0)
			continue; /* that controller is not mounted: no limit of that kind */
		snprintf(cg->dirs[cg->n_dirs], sizeof(cg->dirs[0]), "%s/%s/%s", top, base, name);
		if (strcmp(v1[i], "memory") == 0)
			strcpy(cg->memory_dir, cg->dirs[cg->n_dirs]);
		if (strcmp(v1[i], "cpuacct") == 0)
			strcpy(cg->cpuacct_dir, cg->dirs[cg->n_dirs]);
		if (strcmp(v1[i], "pids") == 0)
			strcpy(cg->pids_dir, cg->dirs[cg->n_dirs]);
		cg->n_dirs++;
	}
	if (cg->memory_dir[0] == '\0' || cg->pids_dir[0] == '\0')
		return uh_errx(err, "cgroup v1 without the memory or pids controller mounted");
	return 0;
}

static int mkdir_parent(const char *dir, struct uh_error *err)
{
	char parent[256], *slash;

	strcpy(parent, dir);
	slash = strrchr(parent, '/');
	*slash = '\0';
	if (mkdir(parent, 0755) < 0 && errno != EEXIST)
		return uh_err(err, errno, "cgroup: create %s", parent);
	return 0;
}

int uh_cgroup_create(struct uh_cgroup *cg, const struct uh_cgroup_limits *l, struct uh_error *err)
{
	char v[64];
	int i;

	for (i = 0; i < cg->n_dirs; i++) {
		if (mkdir_parent(cg->dirs[i], err) < 0)
			return -1;
		if (cg->version == 2) {
			/* controllers must be enabled from the root down to our parent */
			char parent[256], *slash;

			strcpy(parent, cg->dirs[i]);
			slash = strrchr(parent, '/');
			*slash = '\0';
			write_file(ROOT, "cgroup.subtree_control", "+memory +cpu +pids +io", err);
			if (write_file(parent, "cgroup.subtree_control", "+memory +cpu +pids", err) < 0)
				return -1;
			write_file(parent, "cgroup.subtree_control", "+io", err);
		}
		if (mkdir(cg->dirs[i], 0755) < 0 && errno != EEXIST)
			return uh_err(err, errno, "cgroup: create %s", cg->dirs[i]);
	}
	if (cg->version == 2) {
		const char *d = cg->dirs[0];

		snprintf(v, sizeof(v), "%llu", (unsigned long long)l->memory_bytes);
		if (write_file(d, "memory.max", v, err) < 0)
			return -1;
		write_file(d, "memory.swap.max", "0", err); /* absent without swap accounting */
		snprintf(v, sizeof(v), "%u", l->pids_max);
		if (write_file(d, "pids.max", v, err) < 0)
			return -1;
		snprintf(v, sizeof(v), "%u", l->cpu_weight ? l->cpu_weight : 100);
		if (write_file(d, "cpu.weight", v, err) < 0)
			return -1;
		/* "max" too (best effort: a kernel without CFS bandwidth has no cpu.max):
		 * limits are written again to a running kernel's cgroup when they change, a
		 * quota taken away */
		if (l->cpu_quota_pct) {
			snprintf(v, sizeof(v), "%u 100000", l->cpu_quota_pct * 1000);
			if (write_file(d, "cpu.max", v, err) < 0)
				return -1;
		} else {
			write_file(d, "cpu.max", "max 100000", err);
		}
		snprintf(v, sizeof(v), "default %u", l->io_weight ? l->io_weight : 100);
		write_file(d, "io.weight", v, err); /* best effort */
		return 0;
	}
	for (i = 0; i < cg->n_dirs; i++) {
		const char *d = cg->dirs[i];

		if (strcmp(d, cg->memory_dir) == 0) {
			snprintf(v, sizeof(v), "%llu", (unsigned long long)l->memory_bytes);
			if (write_file(d, "memory.limit_in_bytes", v, err) < 0)
				return -1;
		} else if (strcmp(d, cg->pids_dir) == 0) {
			snprintf(v, sizeof(v), "%u", l->pids_max);
			if (write_file(d, "pids.max", v, err) < 0)
				return -1;
		} else if (strncmp(d + strlen(ROOT), "/cpu/", 5) == 0) {
			/* v1 shares: 1024 is the default weight of 100 */
			snprintf(v, sizeof(v), "%u", (l->cpu_weight ? l->cpu_weight : 100) * 1024 / 100);
			if (write_file(d, "cpu.shares", v, err) < 0)
				return -1;
			write_file(d, "cpu.cfs_period_us", "100000", err);
			if (l->cpu_quota_pct) {
				snprintf(v, sizeof(v), "%u", l->cpu_quota_pct * 1000);
				if (write_file(d, "cpu.cfs_quota_us", v, err) < 0)
					return -1;
			} else {
				write_file(d, "cpu.cfs_quota_us", "-1", err); /* best effort */
			}
		} else if (strncmp(d + strlen(ROOT), "/blkio/", 7) == 0) {
			/* v1 weights are 10..1000; best effort: only with BFQ or CFQ */
			snprintf(v, sizeof(v), "%u", (l->io_weight ? l->io_weight : 100) * 5);
			if (write_file(d, "blkio.bfq.weight", v, err) < 0)
				write_file(d, "blkio.weight", v, err);
		}
	}
	return 0;
}

int uh_cgroup_join(const struct uh_cgroup *cg, pid_t pid, struct uh_error *err)
{
	char v[32];
	int i;

	snprintf(v, sizeof(v), "%d", (int)pid);
	for (i = 0; i < cg->n_dirs; i++)
		if (write_file(cg->dirs[i], "cgroup.procs", v, err) < 0)
			return -1;
	return 0;
}

static int for_procs(const struct uh_cgroup *cg, int sig)
{
	char path[512];
	FILE *fp;
	int n = 0, pid;

	snprintf(path, sizeof(path), "%s/cgroup.procs", cg->pids_dir);
	fp = fopen(path, "re");
	if (fp == NULL)
		return -1;
	while (fscanf(fp, "%d", &pid) == 1) {
		n++;
		if (sig && pid > 1)
			kill(pid, sig);
	}
	fclose(fp);
	return n;
}

int uh_cgroup_count(const struct uh_cgroup *cg)
{
	return for_procs(cg, 0);
}

void uh_cgroup_kill(const struct uh_cgroup *cg)
{
	for_procs(cg, SIGKILL);
}

int uh_cgroup_destroy(const struct uh_cgroup *cg, struct uh_error *err)
{
	int i, ret = 0;

	for (i = 0; i < cg->n_dirs; i++)
		if (rmdir(cg->dirs[i]) < 0 && errno != ENOENT)
			ret = uh_err(err, errno, "cgroup: remove %s", cg->dirs[i]);
	return ret;
}

int uh_cgroup_cpu_modes(const struct uh_cgroup *cg, double *user_seconds, double *system_seconds)
{
	uint64_t u, s;
	long hz;

	if (cg->version == 2) {
		if (read_u64(cg->cpuacct_dir, "cpu.stat", "user_usec", &u) < 0 ||
		    read_u64(cg->cpuacct_dir, "cpu.stat", "system_usec", &s) < 0)
			return -1;
		*user_seconds = (double)u / 1e6;
		*system_seconds = (double)s / 1e6;
		return 0;
	}
	hz = sysconf(_SC_CLK_TCK);
	if (hz <= 0 || read_u64(cg->cpuacct_dir, "cpuacct.stat", "user", &u) < 0 ||
	    read_u64(cg->cpuacct_dir, "cpuacct.stat", "system", &s) < 0)
		return -1;
	*user_seconds = (double)u / (double)hz;
	*system_seconds = (double)s / (double)hz;
	return 0;
}

int uh_cgroup_usage(const struct uh_cgroup *cg, double *cpu_seconds, uint64_t *memory_bytes)
{
	uint64_t v;

	if (cg->version == 2) {
		if (read_u64(cg->cpuacct_dir, "cpu.stat", "usage_usec", &v) < 0)
			return -1;
		*cpu_seconds = (double)v / 1e6;
		if (read_u64(cg->memory_dir, "memory.current", NULL, &v) < 0)
			return -1;
		*memory_bytes = v;
		return 0;
	}
	if (read_u64(cg->cpuacct_dir, "cpuacct.usage", NULL, &v) < 0)
		return -1;
	*cpu_seconds = (double)v / 1e9;
	if (read_u64(cg->memory_dir, "memory.usage_in_bytes", NULL, &v) < 0)
		return -1;
	*memory_bytes = v;
	return 0;
}
