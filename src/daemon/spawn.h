/* spawn.c: an instance's kernel as a host process. Its run directory and cgroup made ready,
 * the monitor launched (which jails the kernel), the kernel watched, talked to over its
 * mconsole, signalled and killed. lifecycle.c decides when; this file knows how. */
#ifndef UH_DAEMON_SPAWN_H
#define UH_DAEMON_SPAWN_H

#include "daemon/daemon.h"

/* Before a start: the kernel usable on this CPU, the template unchanged, the uid the
 * instance's own, its memory within the host's budget. */
int uh_spawn_check(struct uh_instance *inst, struct uh_error *err);
/* A fresh run directory (given to the jailed uid), the notify socket watched with
 * on_notify, the cgroup with the instance's limits. All or nothing: undone by
 * uh_spawn_unprepare. */
int uh_spawn_prepare(struct uh_instance *inst, uh_io_fn on_notify, struct uh_error *err);
void uh_spawn_unprepare(struct uh_instance *inst);
/* Fork the monitor with the kernel's command line; its pid. */
pid_t uh_spawn_monitor(struct uh_instance *inst, struct uh_error *err);
/* The kernel's pid and start time from the monitor's uml.pid (ENOENT: not written yet). */
int uh_spawn_read_pid(struct uh_instance *inst, struct uh_error *err);
/* Watch the kernel's pid (a pidfd) for its exit. */
int uh_spawn_watch_pid(struct uh_instance *inst, uh_io_fn on_exit, struct uh_error *err);
/* Send an mconsole command; with on_reply the reply is awaited on the loop. */
int uh_spawn_mc_send(struct uh_instance *inst, const char *cmd, uh_io_fn on_reply,
		     struct uh_error *err);
void uh_spawn_mc_close(struct uh_instance *inst);
/* Listen for the kernel's notifications again (re-adoption). */
int uh_spawn_notify_open(struct uh_instance *inst, uh_io_fn on_notify, struct uh_error *err);
void uh_spawn_notify_close(struct uh_instance *inst);
/* Signal the kernel's session, only processes provably the instance's; how many. */
int uh_spawn_signal(struct uh_instance *inst, int sig);
/* Anything of the instance still alive (its session, its cgroup, whoever holds its disk)
 * killed; how many were. */
int uh_spawn_kill_leftovers(struct uh_instance *inst);

#endif
