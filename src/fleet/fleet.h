/* The fleet file (issue 18): the YAML an admin writes to say what the host should run, read
 * into the JSON the daemon's create takes, or one line "FILE:LINE:COLUMN: what was expected".
 * Pure (libyaml and jansson, no daemon, no files): unit-tested and fuzzed.
 *
 *   networks:  NAME: {mode, pool, uplink, bridge, gateway}
 *   templates: NAME: {version: N | latest}
 *   customers: [NAME, ...]
 *   defaults:  {any server key but count and renamed_from}
 *   servers:   NAME: {template, memory, network, ip, kernel, kernel_args: [..], owner, swap,
 *                     disks: [..], ssh_keys: [..], restart, autostart, cpu_quota, pids_max,
 *                     backup_every, backup_keep, backup_to, template_version,
 *                     state: running | stopped, renamed_from, count}
 *
 * A server's name may hold one range, web{01..20}: it stands for web01 ... web20 (the width
 * of the first bound is kept); `count`, when given, must say how many that is. Every key
 * must be known, none twice; anchors and aliases are refused (a file says each thing once,
 * and an alias bomb cannot blow up the reader).
 *
 * The result: {"networks": {NAME: {...}}, "templates": {NAME: {"version": N|"latest"}},
 * "customers": [...], "servers": {NAME: {"name": NAME, <create's keys>, "state": ...,
 * "renamed_from"?: ..., "line": L}}} with the defaults filled in, numbers and booleans
 * typed as create takes them. */
#ifndef UH_FLEET_FLEET_H
#define UH_FLEET_FLEET_H

#include <jansson.h>
#include <stddef.h>

#include "util/error.h"

#define UH_FLEET_MAX_SERVERS 10000

json_t *uh_fleet_parse(const char *text, size_t len, const char *file, struct uh_error *err);

#endif
