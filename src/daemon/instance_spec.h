/* An instance as a request defines it (create, restore; a fleet file later): JSON in, a
 * validated spec out, or one line naming what is wrong. Pure: no daemon, no files, no store;
 * what needs them (the kernel exists, the template, the disk files, the name is free) is
 * checked by the caller (instance.c). */
#ifndef UH_DAEMON_INSTANCE_SPEC_H
#define UH_DAEMON_INSTANCE_SPEC_H

#include <jansson.h>
#include <stdint.h>

#include "store/store.h"
#include "util/error.h"

/* What the host allows: the daemon's config and what it measured. */
struct uh_instance_limits {
	uint64_t default_memory_mib;
	uint64_t min_memory_mib;
	uint64_t host_memory_mib; /* RAM + swap */
	long cpus;		  /* --cpu-quota goes up to 100% of each */
};

struct uh_instance_spec {
	/* name, template_name, memory_mib, restart, cpu_quota_pct, pids_max, kernel (if named),
	 * kernel_args, backup_every_s/keep/to, swap_mib, disks, autostart */
	struct uh_instance_rec rec;
	int kernel_named;	  /* rec.kernel came with the request */
	int template_version;	  /* 0: the newest */
	const char *network, *ip; /* borrowed from the request */
	json_t *ssh_keys;	  /* borrowed; each one checked */
};

/* The record's space-separated lists (kernel_args, disks): whether one holds the word, and
 * the list as a JSON array. */
int uh_words_has(const char *list, const char *word);
json_t *uh_words_json(const char *list);
/* A record's reclaim setting as create takes it: "off" (-1) or the floor ("32M") */
json_t *uh_reclaim_json(int reclaim_mib);

/* flat: a restored private image (no template needed). */
int uh_instance_spec_parse(json_t *p, int flat, const struct uh_instance_limits *lim,
			   struct uh_instance_spec *spec, struct uh_error *err);

#endif
