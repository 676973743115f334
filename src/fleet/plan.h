/* The plan (issue 18): what it takes to go from the host's servers to the fleet file's, each
 * change classified. Pure: the desired side is uh_fleet_parse's result; the current side is
 * the same shape, made by the daemon from its records ({"servers": {NAME: {the file's keys,
 * "state", "managed"}}, "customers": [...], "networks": {...}}).
 *
 * Per server: "create"; "update" with its fields, each "live" (no restart: owner, restart
 * policy, autostart, CPU and process limits, backups, the state), "restart" (memory, swap,
 * kernel and its arguments, network, address, disks) or "replace" (template or its version:
 * a new disk, only with --allow-replace NAME); "rename" (renamed_from: the same disk under a
 * new name); "destroy" (only a server the file once made, "managed", and only with --prune).
 * A key the file leaves out is left as it is, so computed and defaulted values never show as
 * changes; sizes and durations compare by value (1G is 1024M). ssh_keys act at the first
 * boot only: a difference is a note ("applies on re-create only"), not a change. A change
 * its flag is missing for carries "blocked" naming the flag. */
#ifndef UH_FLEET_PLAN_H
#define UH_FLEET_PLAN_H

#include <jansson.h>

struct uh_fleet_opts {
	int prune;
	json_t *allow_replace; /* names (an array), may be NULL */
};

/* {"changes": [{"kind", "server"|"name", "action", "class", "fields": [{field, from, to,
 * class}], "notes": [...], "blocked"?, "renamed_from"?}], "pending": N, "blocked": N} */
json_t *uh_fleet_plan(json_t *desired, json_t *current, const struct uh_fleet_opts *o);

#endif
