/* Per-instance cgroups: memory, cpu weight and optional quota, pids, io weight. Works with
 * cgroup v2 (Debian 12 hosts: one directory under the unified hierarchy) and v1 (one
 * directory per controller hierarchy under /sys/fs/cgroup/<controller>/, as on this build
 * machine). The kernel process joins by writing its own pid before it is jailed. */
#ifndef UH_CGROUP_H
#define UH_CGROUP_H

#include <stdint.h>
#include <sys/types.h>

#include "util/error.h"

#define UH_CGROUP_MAX_DIRS 6

struct uh_cgroup_limits {
	uint64_t memory_bytes; /* hard limit; keep headroom above mem= (see uh_cgroup_memory_for) */
	uint32_t cpu_weight;   /* 1..10000, 100 is the default share */
	uint32_t cpu_quota_pct; /* 0: none; 50 = half a core */
	uint32_t pids_max;
	uint32_t io_weight; /* 1..10000, 100 default; best effort (needs an io scheduler) */
};

struct uh_cgroup {
	int version; /* 1 or 2 */
	char dirs[UH_CGROUP_MAX_DIRS][256];
	int n_dirs;
	char memory_dir[256], cpuacct_dir[256], pids_dir[256];
};

/* The memory limit for a guest of mem_mib: UML's own memory comes on top of the guest's, and a
 * limit at mem= gets the kernel OOM-killed by the host (measured). */
uint64_t uh_cgroup_memory_for(uint64_t mem_mib);

/* Paths of the instance's cgroup(s) under `base` (v2: a directory in the unified hierarchy;
 * v1: the name of the sub-directory made in each controller's hierarchy). No I/O. */
int uh_cgroup_paths(const char *base, const char *name, struct uh_cgroup *cg, struct uh_error *err);
/* Create the directories and write the limits. */
int uh_cgroup_create(struct uh_cgroup *cg, const struct uh_cgroup_limits *l, struct uh_error *err);
/* Move a process in (pid 0: the caller). */
int uh_cgroup_join(const struct uh_cgroup *cg, pid_t pid, struct uh_error *err);
/* Number of processes in it, -1 when it does not exist. */
int uh_cgroup_count(const struct uh_cgroup *cg);
/* SIGKILL every process in it. */
void uh_cgroup_kill(const struct uh_cgroup *cg);
/* Remove the directories (they must be empty of processes). */
int uh_cgroup_destroy(const struct uh_cgroup *cg, struct uh_error *err);
int uh_cgroup_usage(const struct uh_cgroup *cg, double *cpu_seconds, uint64_t *memory_bytes);
/* CPU time in user and in system mode (v2: cpu.stat; v1: cpuacct.stat, in USER_HZ ticks). */
int uh_cgroup_cpu_modes(const struct uh_cgroup *cg, double *user_seconds, double *system_seconds);
/* Where the hierarchies are mounted (default /sys/fs/cgroup); tests point it at a fake. */
void uh_cgroup_set_root(const char *root);

#endif
