/* umlhostd's configuration: defaults, then the config file (key = value), then command-line
 * options. Parsing is pure (uh_config_parse on a buffer) so it is unit-tested. */
#ifndef UH_DAEMON_CONFIG_H
#define UH_DAEMON_CONFIG_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

struct uh_config {
	char state_dir[PATH_MAX];
	char run_dir[PATH_MAX];
	char socket[PATH_MAX];
	char kernel[PATH_MAX];	/* the stock UML kernel */
	char monitor[PATH_MAX]; /* umlhost-monitor binary */
	char group[64];		/* callers in this group may use the API */
	uint64_t memory_reserve_mib; /* RAM + swap kept out of the instances' budget */
	uint64_t disk_reserve_mib;   /* free space on the state filesystem that restores and
				      * resizes never use: the state database writes into it */
	uint64_t default_memory_mib;
	uint64_t min_memory_mib;
	int reclaim_interval_s;	     /* memory reclaim's rounds (reclaim.c); 0: off */
	uint64_t reclaim_floor_mib;  /* what a guest keeps available, unless its own is set */
	int memory_overcommit;	     /* percent of the budget the servers' memory may add up to */
	int start_timeout_s;
	int stop_timeout_s;
	uint64_t console_log_max; /* bytes per console log file (one rotated copy kept) */
	int restart_max;	  /* crash-loop cap: restarts within restart_window_s */
	int restart_window_s;
	int jail;		 /* run instances jailed (default); 0 only for debugging */
	uint32_t uid_min;	 /* instances get uids (and gids) from [uid_min, uid_min + uid_count) */
	uint32_t uid_count;
	int guard_check_seconds; /* how often the anti-spoofing chains are verified */
	int events_keep;     /* the newest events kept (older ones pruned every minute) */
	int events_max_days; /* and none older than this */
	char jail_libs[1024];	 /* what the kernel links: bound read-only into the jail */
	char cgroup_base[64];	 /* instances' cgroups: <hierarchy>/<cgroup_base>/<name> */
	int pids_max;		 /* default pids.max of an instance (guest processes + helpers) */
	char seccomp[16];	 /* enforce | log | off */
	char net_transport[16];	 /* vector (fast) | tuntap (UML's legacy driver) */
	char kernel_builder[PATH_MAX];	/* umlhost-kernel-build */
	char kernel_source[PATH_MAX];	/* Debian's linux-source tarball */
	char kernel_fragment[PATH_MAX]; /* the hosting config fragment */
	char disk_dir[PATH_MAX];	/* where --disk files must be (default <state>/disks) */
	char kernel_patches[PATH_MAX];	/* our patch series for linux-source (kernel/patches) */
	char kernel_cache[PATH_MAX];	/* built kernels by input hash, ccache */
	char default_kernel[33];	/* "": the newest built kernel, else stock */
	char template_builder[PATH_MAX];	/* umlhost-template-build */
	char template_cache[PATH_MAX];	/* built images by input hash ("" none) */
	char backup_helper[PATH_MAX];	/* umlhost-backup */
	char backup_ssh_key[PATH_MAX];	/* private key for sftp:// backup targets */
	char backup_known_hosts[PATH_MAX]; /* their host keys (unknown ones are refused) */
	char api_listen[64];	/* "ADDR:PORT" of the HTTPS API ("": off) */
	char metrics_listen[64]; /* "ADDR:PORT", loopback only: plain /metrics ("": off) */
	char api_cert[PATH_MAX];	/* its certificate chain, PEM ("": made self-signed) */
	char api_key[PATH_MAX];		/* and key */
	char api_gate[PATH_MAX];	/* umlhost-gate: TLS in a process with no rights */
};

void uh_config_defaults(struct uh_config *c);
/* Parse `key = value` lines; '#' starts a comment. Unknown keys and bad values are errors
 * naming the line. `origin` names the file in messages. */
int uh_config_parse(struct uh_config *c, const char *text, const char *origin,
		    struct uh_error *err);
int uh_config_load(struct uh_config *c, const char *path, struct uh_error *err);
/* The uid (and gid) kernel builds run as: the range's last, which no instance is given. */
static inline uint32_t uh_config_build_uid(const struct uh_config *c)
{
	return c->uid_min + c->uid_count - 1;
}
/* The uid of umlhost-gate (the HTTPS listener's TLS side): the one before the builder's. No
 * instance is given either. */
static inline uint32_t uh_config_gate_uid(const struct uh_config *c)
{
	return c->uid_min + c->uid_count - 2;
}
/* SIGHUP: take from `next` the keys a running daemon can change (listed in `applied`, comma
 * separated) and leave the others as they are (listed in `kept`: they need a restart).
 * Returns how many were applied. */
int uh_config_reload(struct uh_config *cur, const struct uh_config *next, char *applied,
		     size_t applied_len, char *kept, size_t kept_len);
/* Key i of the config file (0, 1, ...): its name and whether a reload changes it; -1 past
 * the last. */
int uh_config_key(int i, char *name, size_t len, int *live);
/* Derive paths that depend on others (socket under run_dir when not set). */
void uh_config_finish(struct uh_config *c);

#endif
