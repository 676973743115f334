/* What runs instances: the per-instance operation queue and its state machines (start, stop,
 * kill, reboot, restart, delete), the kernel's exit and what it means (a stop, a poweroff, a
 * crash and the restart policy), and re-adoption of kernels that kept running while the
 * daemon was away. How a kernel is launched and talked to is spawn.c's.
 *
 * Every transition is one log line and one event. Nothing here blocks: outside calls
 * (mconsole, process exit, boot) are watched on the loop with a deadline. */
#include "daemon/daemon.h"
#include "daemon/spawn.h"
#include "daemon/reclaim.h"
#include "util/cleanup.h"
#include "util/fileio.h"
#include "util/log.h"
#include "util/proc.h"
#include "util/timeutil.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <time.h>

enum {
	PH_NONE,
	PH_BOOTING,  /* monitor spawned, waiting for the notify socket */
	PH_READY,    /* notified, waiting for the mconsole to answer */
	PH_STOPPING, /* cad / halt / kill sent, waiting for the exit */
	PH_REBOOT,   /* reboot sent, waiting for its reply */
};

static void op_begin(struct uh_instance *inst);
static void start_begin(struct uh_instance *inst);
static void exit_finalize(struct uh_instance *inst, const char *status);
static void mc_readable(void *arg, uint32_t events);
static void pid_exited(void *arg, uint32_t events);
static void notify_readable(void *arg, uint32_t events);
static void ready_resend(void *arg);
#define READY_RESEND_MS 1000

/* guest notifications handled per loop turn (notify_readable) */
#define NOTIFY_BATCH 32

/* ---- the operation queue */

static void op_finish(struct uh_instance *inst, const struct uh_error *err, json_t *result)
{
	struct uh_op *op = inst->ops;

	uh_loop_cancel(inst->d->loop, inst->op_timer);
	inst->op_timer = NULL;
	inst->phase = PH_NONE;
	inst->ops = op->next;
	/* an operation its callback submits waits for the line below: begun inside the
	 * callback, a delete would free inst under us (a restore over a server stops, then
	 * deletes it from the stop's callback) */
	inst->in_done = 1;
	if (op->done)
		op->done(op->ctx, err, result);
	else
		json_decref(result);
	inst->in_done = 0;
	free(op);
	if (inst->ops)
		op_begin(inst);
}

static void op_fail(struct uh_instance *inst, struct uh_error *err)
{
	op_finish(inst, err, NULL);
}

static void op_ok(struct uh_instance *inst)
{
	op_finish(inst, NULL, uh_instance_json(inst));
}

void uh_instance_submit(struct uh_daemon *d, const char *name, enum uh_op_type type,
			int timeout_s, int force, uh_done_fn done, void *ctx)
{
	struct uh_instance *inst = uh_instance_find(d, name);
	struct uh_op *op, **pp;
	struct uh_error err;

	if (inst == NULL) {
		uh_errc(&err, ENOENT, "no instance named '%s'", name);
		if (done)
			done(ctx, &err, NULL);
		return;
	}
	/* the worker has the disk */
	if (type != UH_OP_STOP && type != UH_OP_KILL && inst->claim.kind != UH_CLAIM_BACKUP &&
	    uh_instance_claimed(inst, &err) < 0) {
		if (done)
			done(ctx, &err, NULL);
		return;
	}
	if (type == UH_OP_DELETE && force)
		uh_instance_claim_cancel(inst);
	if (type == UH_OP_DELETE && inst->claim.kind == UH_CLAIM_BACKUP) {
		/* its snapshot lives in the instance's directory */
		uh_errc(&err, EBUSY,
			"%s: a backup is being made; delete it when that is done (--force cancels "
			"the backup)",
			name);
		if (done)
			done(ctx, &err, NULL);
		return;
	}
	op = calloc(1, sizeof(*op));
	if (op == NULL)
		abort();
	op->type = type;
	op->timeout_s = timeout_s > 0 ? timeout_s : d->cfg.stop_timeout_s;
	op->force = force;
	op->done = done;
	op->ctx = ctx;
	for (pp = &inst->ops; *pp; pp = &(*pp)->next)
		;
	*pp = op;
	if (inst->ops == op && !inst->in_done)
		op_begin(inst);
}

/* The kernel is gone: get its exit status from the monitor, make sure nothing of it is left
 * (a restart must find its disk unlocked), then finalize. Polls on a short timer. */
static void reap_poll(void *arg)
{
	struct uh_instance *inst = arg;
	char path[PATH_MAX + 8];

	inst->reap_timer = NULL;
	if (inst->exit_status[0] == '\0') {
		snprintf(path, sizeof(path), "%s/exit", inst->run_dir);
		uh_read_small(path, inst->exit_status, sizeof(inst->exit_status));
		inst->exit_status[strcspn(inst->exit_status, "\n")] = '\0';
		if (inst->exit_status[0] == '\0' && inst->reap_tries < 50) {
			/* the monitor writes the status right after reaping; give it a moment */
			inst->reap_tries++;
			inst->reap_timer = uh_loop_after(inst->d->loop, 20, reap_poll, inst);
			return;
		}
		if (inst->exit_status[0] == '\0')
			snprintf(inst->exit_status, sizeof(inst->exit_status), "unknown status");
		inst->reap_tries = 0;
	}
	if (uh_spawn_kill_leftovers(inst) > 0 && inst->reap_tries++ < 100) {
		inst->reap_timer = uh_loop_after(inst->d->loop, 20, reap_poll, inst);
		return;
	}
	if (inst->reap_tries > 100)
		uh_warnx("%s: processes of the old kernel survive SIGKILL", inst->rec.name);
	{
		char status[sizeof(inst->exit_status)];

		memcpy(status, inst->exit_status, sizeof(status));
		inst->exit_status[0] = '\0';
		inst->reap_tries = 0;
		exit_finalize(inst, status);
	}
}

static void pid_exited(void *arg, uint32_t events)
{
	struct uh_instance *inst = arg;

	uh_loop_unwatch(inst->d->loop, inst->pid_watch);
	inst->pid_watch = NULL;
	uh_close(&inst->pidfd);
	inst->reap_tries = 0;
	inst->exit_status[0] = '\0';
	reap_poll(inst);
}

static void restart_due(void *arg)
{
	struct uh_instance *inst = arg;

	inst->restart_timer = NULL;
	if (!(inst->state == UH_STATE_CRASHED) && !(inst->state == UH_STATE_STOPPED))
		return;
	inst->rec.restarts++;
	uh_instance_save(inst);
	uh_daemon_event(inst->d, inst->rec.name, "restarting", "restart %d (policy %s)",
			inst->rec.restarts, inst->rec.restart);
	uh_instance_submit(inst->d, inst->rec.name, UH_OP_START, 0, 0, NULL, NULL);
}

/* Exponential backoff from 0.5 s, capped at 30 s; more than restart_max crashes within
 * restart_window seconds is a crash loop and stops the restarts. */
static void schedule_restart(struct uh_instance *inst)
{
	const struct uh_config *c = &inst->d->cfg;
	int64_t now = uh_now_ms(), delay;

	if (inst->window_start_ms == 0 || now - inst->window_start_ms > c->restart_window_s * 1000LL) {
		inst->window_start_ms = now;
		inst->crash_count = 0;
	}
	inst->crash_count++;
	if (inst->crash_count > c->restart_max) {
		uh_daemon_event(inst->d, inst->rec.name, "crash-loop",
				"%d crashes within %d s; not restarting until started by hand",
				inst->crash_count, c->restart_window_s);
		return;
	}
	/* the first restart at once, then 0.5 s, 1 s, 2 s ... */
	delay = inst->crash_count == 1 ? 0 : 500LL << (inst->crash_count - 2 < 6 ? inst->crash_count - 2 : 6);
	if (delay > 30000)
		delay = 30000;
	uh_loop_cancel(inst->d->loop, inst->restart_timer);
	inst->restart_timer = uh_loop_after(inst->d->loop, delay, restart_due, inst);
}

static void delete_finish(struct uh_instance *inst);

/* The kernel process is gone: clean up, then decide what it means. */
static void exit_finalize(struct uh_instance *inst, const char *status)
{
	struct uh_op *op = inst->ops;
	int clean = strcmp(status, "exited 0") == 0;
	int was_ready = (inst->state == UH_STATE_RUNNING) || (inst->state == UH_STATE_STOPPING);
	char tail[1024];
	struct uh_error err;

	/* a pending step of the stop sequence belongs to the kernel that ended: left armed,
	 * a restart's new kernel would get its halt 15 s later */
	uh_loop_cancel(inst->d->loop, inst->op_timer);
	inst->op_timer = NULL;
	uh_spawn_mc_close(inst);
	uh_spawn_notify_close(inst);
	uh_reclaim_drop(inst);
	uh_rm_tree(inst->run_dir);
	if (inst->have_cg) {
		struct uh_error cerr;

		if (uh_cgroup_destroy(&inst->cg, &cerr) < 0)
			uh_warnx("%s: %s", inst->rec.name, cerr.msg);
		inst->have_cg = 0;
	}
	uh_net_down(inst); /* saved with the state change below */
	inst->rec.pid = 0;
	inst->rec.pid_start = 0;
	inst->rec.monitor_pid = 0;
	inst->rec.started_at = 0;

	if (op && inst->phase == PH_STOPPING) {
		uh_instance_set_state(inst, UH_STATE_STOPPED);
		uh_daemon_event(inst->d, inst->rec.name, "stopped", "%s", status);
		inst->expect_exit = 0;
		if (op->type == UH_OP_RESTART) {
			start_begin(inst);
		} else if (op->type == UH_OP_DELETE) {
			delete_finish(inst);
		} else {
			op_ok(inst);
		}
		return;
	}
	if (op && op->type != UH_OP_REBOOT && !was_ready) {
		/* died while booting */
		uh_instance_console_tail(inst, tail, sizeof(tail));
		uh_instance_set_state(inst, UH_STATE_STOPPED);
		uh_daemon_event(inst->d, inst->rec.name, "start-failed", "%s", status);
		uh_errx(&err, "%s: the kernel ended (%s) before its mconsole answered; last console "
			      "lines: %s",
			inst->rec.name, status, tail[0] ? tail : "(none)");
		op_fail(inst, &err);
		return;
	}
	if (inst->expect_exit) {
		inst->expect_exit = 0;
		uh_instance_set_state(inst, UH_STATE_STOPPED);
		uh_daemon_event(inst->d, inst->rec.name, "stopped", "%s", status);
		return;
	}
	if (clean) {
		uh_instance_set_state(inst, UH_STATE_STOPPED);
		uh_daemon_event(inst->d, inst->rec.name, "poweroff", "the guest shut down (%s)",
				status);
	} else {
		uh_instance_set_state(inst, UH_STATE_CRASHED);
		uh_daemon_event(inst->d, inst->rec.name, "crashed", "%s", status);
	}
	if (op && op->type == UH_OP_REBOOT) {
		uh_errx(&err, "%s: the kernel ended (%s) instead of rebooting", inst->rec.name,
			status);
		op_fail(inst, &err);
	}
	if (strcmp(inst->rec.restart, "always") == 0 ||
	    (strcmp(inst->rec.restart, "on-failure") == 0 && !clean))
		schedule_restart(inst);
}

/* ---- start */

static void start_fail(struct uh_instance *inst, struct uh_error *err)
{
	uh_loop_cancel(inst->d->loop, inst->pid_timer);
	inst->pid_timer = NULL;
	inst->expect_exit = 1;
	/* not only the kernel's session: when the start failed before its pid was known, the
	 * kernel is found by its cgroup and by its open disk (a leaked kernel would keep the
	 * instance's address and disk) */
	uh_spawn_kill_leftovers(inst);
	uh_instance_set_state(inst, UH_STATE_STOPPED);
	uh_daemon_event(inst->d, inst->rec.name, "start-failed", "%s", err->msg);
	op_fail(inst, err);
}

static void start_timeout(void *arg)
{
	struct uh_instance *inst = arg;
	struct uh_error err;
	char tail[1024];

	inst->op_timer = NULL;
	uh_instance_console_tail(inst, tail, sizeof(tail));
	uh_errc(&err, ETIMEDOUT,
		"%s: not ready within %d s (its mconsole did not answer); last console lines: %s",
		inst->rec.name, inst->d->cfg.start_timeout_s, tail[0] ? tail : "(none)");
	if (inst->mc)
		uh_mc_abandon(inst->mc);
	uh_spawn_mc_close(inst);
	uh_spawn_notify_close(inst);
	start_fail(inst, &err);
}

/* The kernel said its mconsole is up; its pid comes from the monitor's uml.pid, written
 * (fsync + rename) right after the fork. Under heavy I/O that can land after a fast kernel's
 * notify (the hosting kernel is up in ~80 ms): a missing file is waited for, up to 5 s, not
 * taken for a failed start. */
static void ready_continue(void *arg)
{
	struct uh_instance *inst = arg;
	struct uh_error err;

	inst->pid_timer = NULL;
	if (inst->phase != PH_READY || !(inst->state == UH_STATE_STARTING))
		return;
	if (uh_spawn_read_pid(inst, &err) < 0) {
		if (err.errnum == ENOENT && inst->pid_tries++ < 500) {
			inst->pid_timer = uh_loop_after(inst->d->loop, 10, ready_continue, inst);
			return;
		}
		goto fail;
	}
	if (uh_spawn_watch_pid(inst, pid_exited, &err) < 0 || uh_spawn_mc_send(inst, "version", mc_readable, &err) < 0)
		goto fail;
	inst->pid_timer = uh_loop_after(inst->d->loop, READY_RESEND_MS, ready_resend, inst);
	return;
fail:
	uh_err_prefix(&err, "%s: start", inst->rec.name);
	uh_spawn_notify_close(inst);
	start_fail(inst, &err);
}

/* The `version` request that proves the mconsole answers goes again every second until a
 * reply comes or the start's deadline passes: one of 16 kernels booting at once on two
 * cores once left a single request unanswered for the whole 30 s (CI). version is
 * harmless to repeat; a late second reply is drained before the next command
 * (uh_mc_send). */
static void ready_resend(void *arg)
{
	struct uh_instance *inst = arg;
	struct uh_error err;

	inst->pid_timer = NULL;
	if (inst->phase != PH_READY || !(inst->state == UH_STATE_STARTING) || inst->mc_watch == NULL)
		return;
	if (uh_spawn_mc_send(inst, "version", mc_readable, &err) < 0)
		uh_debug("%s: mconsole version again: %s", inst->rec.name, err.msg);
	inst->pid_timer = uh_loop_after(inst->d->loop, READY_RESEND_MS, ready_resend, inst);
}

static void notify_readable(void *arg, uint32_t events)
{
	struct uh_instance *inst = arg;
	struct uh_mc_notify msg;
	struct uh_error err;
	int r, n;

	/* Every datagram here comes from the guest's kernel, which a hostile customer may
	 * control: a bounded number per loop turn (the socket stays readable; the API, the
	 * other instances and the timers get their turn first), events rate-limited. */
	for (n = 0; n < NOTIFY_BATCH; n++) {
		r = uh_mc_listener_recv(inst->notify, 0, &msg, &err);
		if (r == 0)
			break;
		if (r < 0) {
			if (uh_guest_event_allowed(inst))
				uh_warnx("%s: notify socket: %s", inst->rec.name, err.msg);
			continue;
		}
		switch (msg.type) {
		case UH_MC_NOTIFY_SOCKET:
			if (inst->phase == PH_STOPPING) {
				/* ctrl-alt-del reached the kernel before the guest's init took it
				 * over (early boot), so it rebooted: nothing in userspace to lose */
				uh_info("%s: rebooted instead of shutting down; halting",
					inst->rec.name);
				if (uh_spawn_mc_send(inst, "halt", NULL, &err) < 0)
					uh_debug("%s: halt: %s", inst->rec.name, err.msg);
				break;
			}
			if (inst->phase != PH_BOOTING) {
				/* a new kernel in the same process: its memory counters begin
				 * again, and so do reclaim's first rounds */
				uh_reclaim_drop(inst);
				if ((inst->state == UH_STATE_RUNNING) && inst->phase != PH_REBOOT &&
				    uh_guest_event_allowed(inst))
					uh_daemon_event(inst->d, inst->rec.name, "rebooted",
							"the guest rebooted (pid %d)", inst->rec.pid);
				break;
			}
			inst->phase = PH_READY;
			inst->pid_tries = 0;
			ready_continue(inst);
			if (inst->notify == NULL)
				return; /* the start failed */
			break;
		case UH_MC_NOTIFY_PANIC:
			if (uh_guest_event_allowed(inst))
				uh_daemon_event(inst->d, inst->rec.name, "panic", "%s", msg.data);
			break;
		case UH_MC_NOTIFY_HANG:
			if (uh_guest_event_allowed(inst))
				uh_daemon_event(inst->d, inst->rec.name, "hang", "the guest hangs");
			break;
		case UH_MC_NOTIFY_USER:
			if (uh_guest_event_allowed(inst))
				uh_daemon_event(inst->d, inst->rec.name, "guest", "%s", msg.data);
			break;
		}
	}
}

static void mc_readable(void *arg, uint32_t events)
{
	struct uh_instance *inst = arg;
	struct uh_error err;
	int r = uh_mc_receive(inst->mc, &inst->mc_res, &err);

	if (r == 0)
		return;
	uh_loop_unwatch(inst->d->loop, inst->mc_watch);
	inst->mc_watch = NULL;
	if (inst->phase == PH_READY) {
		uh_loop_cancel(inst->d->loop, inst->pid_timer); /* ready_resend */
		inst->pid_timer = NULL;
		if (r < 0) {
			uh_err_prefix(&err, "%s: start", inst->rec.name);
			start_fail(inst, &err);
			return;
		}
		inst->rec.started_at = time(NULL);
		uh_instance_set_state(inst, UH_STATE_RUNNING);
		uh_daemon_event(inst->d, inst->rec.name, "started", "pid %d", inst->rec.pid);
		op_ok(inst);
	} else if (inst->phase == PH_REBOOT) {
		if (r < 0 || inst->mc_res.err) {
			if (r > 0)
				uh_errx(&err, "%s: reboot refused: %s", inst->rec.name,
					inst->mc_res.text);
			op_fail(inst, &err);
			return;
		}
		uh_daemon_event(inst->d, inst->rec.name, "rebooted", "pid %d", inst->rec.pid);
		op_ok(inst);
	}
}


static void monitor_child_exited(void *arg, pid_t pid, int status);

static void start_begin(struct uh_instance *inst)
{
	struct uh_daemon *d = inst->d;
	enum uh_instance_state was = inst->state;
	struct uh_error err;
	pid_t pid;

	if (uh_instance_active(inst)) {
		uh_errc(&err, EBUSY, "%s is already %s", inst->rec.name, uh_state_name(inst->state));
		op_fail(inst, &err);
		return;
	}
	uh_loop_cancel(d->loop, inst->restart_timer); /* a start by hand replaces a pending one */
	inst->restart_timer = NULL;
	if (uh_spawn_check(inst, &err) < 0) {
		uh_daemon_event(d, inst->rec.name, "start-refused", "%s", err.msg);
		op_fail(inst, &err);
		return;
	}
	if (uh_spawn_prepare(inst, notify_readable, &err) < 0) {
		op_fail(inst, &err);
		return;
	}
	if (uh_net_up(inst, &err) < 0) {
		uh_spawn_unprepare(inst);
		uh_daemon_event(d, inst->rec.name, "start-failed", "%s", err.msg);
		op_fail(inst, &err);
		return;
	}
	/* "starting" is on disk before any process of it exists (a daemon restarted after this
	 * finds it and cleans up); if it cannot be written nothing is started */
	if (uh_instance_record_state(inst, UH_STATE_STARTING, "start", &err) < 0 ||
	    (pid = uh_spawn_monitor(inst, &err)) < 0) {
		uh_net_down(inst);
		uh_spawn_unprepare(inst);
		if (inst->state != was)
			uh_instance_set_state(inst, was);
		op_fail(inst, &err);
		return;
	}
	inst->rec.monitor_pid = pid;
	uh_child_watch(d, pid, monitor_child_exited, d);
	inst->expect_exit = 0;
	inst->phase = PH_BOOTING;
	uh_instance_save(inst);
	uh_daemon_event(d, inst->rec.name, "starting", "memory %luM",
			(unsigned long)inst->rec.memory_mib);
	inst->op_timer = uh_loop_after(d->loop, d->cfg.start_timeout_s * 1000LL, start_timeout,
				       inst);
}

/* The monitor (our child) ended. Before the kernel's pid is known that is the only sign that
 * the boot failed; afterwards the pidfd reports the exit. */
static void monitor_exited(struct uh_instance *inst)
{
	if (inst->phase == PH_BOOTING && inst->pidfd < 0 && inst->reap_timer == NULL) {
		inst->reap_tries = 0;
		inst->exit_status[0] = '\0';
		reap_poll(inst);
	}
}

/* A monitor (our child) ended: the instance it ran is reaped. */
static void monitor_child_exited(void *arg, pid_t pid, int status)
{
	struct uh_daemon *d = arg;
	struct uh_instance *i;

	(void)status;
	for (i = d->instances; i; i = i->next)
		if (i->rec.monitor_pid == pid) {
			monitor_exited(i);
			return;
		}
}

/* ---- stop, kill, reboot */

enum { STOP_CAD, STOP_HALT, STOP_KILL, STOP_GAVE_UP };

static void stop_next(void *arg);

static void stop_arm(struct uh_instance *inst, int step, int64_t delay_ms)
{
	inst->stop_step = step;
	inst->op_timer = uh_loop_after(inst->d->loop, delay_ms, stop_next, inst);
}

/* ctrl-alt-del, then halt after half the timeout, then SIGKILL of the whole process tree
 * when it runs out; each step only if the kernel is still there. */
static void stop_next(void *arg)
{
	struct uh_instance *inst = arg;
	int timeout_ms = (inst->ops ? inst->ops->timeout_s : 30) * 1000;
	int step = inst->stop_step;
	struct uh_error err;

	inst->op_timer = NULL;
	if (inst->pid_watch == NULL && inst->reap_timer != NULL)
		return; /* already exiting */
	switch (step) {
	case STOP_CAD:
		if (uh_spawn_mc_send(inst, "cad", NULL, &err) < 0)
			uh_debug("%s: cad: %s", inst->rec.name, err.msg);
		stop_arm(inst, STOP_HALT, timeout_ms / 2);
		break;
	case STOP_HALT:
		uh_info("%s: no shutdown after ctrl-alt-del, sending halt", inst->rec.name);
		if (uh_spawn_mc_send(inst, "halt", NULL, &err) < 0)
			uh_debug("%s: halt: %s", inst->rec.name, err.msg);
		stop_arm(inst, STOP_KILL, timeout_ms - timeout_ms / 2);
		break;
	case STOP_KILL:
		uh_info("%s: still running after %d s, killing it", inst->rec.name,
			timeout_ms / 1000);
		uh_spawn_signal(inst, SIGKILL);
		stop_arm(inst, STOP_GAVE_UP, 5000);
		break;
	default:
		uh_errx(&err, "%s: pid %d did not exit after SIGKILL", inst->rec.name,
			inst->rec.pid);
		op_fail(inst, &err);
		break;
	}
}

static void stop_begin(struct uh_instance *inst, int kill_now)
{
	enum uh_op_type type = inst->ops->type;
	struct uh_error err;

	if (!uh_instance_active(inst)) {
		if (inst->ops->type == UH_OP_RESTART) {
			start_begin(inst);
		} else if (inst->ops->type == UH_OP_DELETE) {
			delete_finish(inst);
		} else {
			uh_loop_cancel(inst->d->loop, inst->restart_timer);
			inst->restart_timer = NULL;
			op_ok(inst); /* stopping a stopped instance is done already */
		}
		return;
	}
	/* a stop must be on disk before it acts; a kill acts regardless */
	if (type != UH_OP_KILL &&
	    uh_instance_record_state(inst, UH_STATE_STOPPING,
			 type == UH_OP_RESTART  ? "restart"
			 : type == UH_OP_DELETE ? "delete"
						: "stop",
			 &err) < 0) {
		op_fail(inst, &err);
		return;
	}
	inst->expect_exit = 1;
	inst->phase = PH_STOPPING;
	uh_instance_set_state(inst, UH_STATE_STOPPING);
	uh_daemon_event(inst->d, inst->rec.name, "stopping", "%s",
			kill_now ? "kill" : "ctrl-alt-del");
	if (kill_now) {
		uh_spawn_signal(inst, SIGKILL);
		stop_arm(inst, STOP_GAVE_UP, 5000);
	} else {
		stop_arm(inst, STOP_CAD, 0);
	}
}

static void reboot_timeout(void *arg)
{
	struct uh_instance *inst = arg;
	struct uh_error err;

	inst->op_timer = NULL;
	if (inst->mc)
		uh_mc_abandon(inst->mc);
	uh_spawn_mc_close(inst);
	uh_errc(&err, ETIMEDOUT, "%s: no answer to reboot within 5 s", inst->rec.name);
	op_fail(inst, &err);
}

static void reboot_begin(struct uh_instance *inst)
{
	struct uh_error err;

	if (!(inst->state == UH_STATE_RUNNING)) {
		uh_errc(&err, EBUSY, "%s is %s, not running", inst->rec.name,
			uh_state_name(inst->state));
		op_fail(inst, &err);
		return;
	}
	inst->phase = PH_REBOOT;
	if (uh_spawn_mc_send(inst, "reboot", mc_readable, &err) < 0) {
		op_fail(inst, &err);
		return;
	}
	inst->op_timer = uh_loop_after(inst->d->loop, 5000, reboot_timeout, inst);
}

/* ---- delete */

static void delete_finish(struct uh_instance *inst)
{
	struct uh_daemon *d = inst->d;
	struct uh_error err;
	struct uh_op *op = inst->ops, *rest;
	char name[UH_KEY_MAX];

	if (uh_store_instance_del(d->store, inst->rec.name, &err) < 0) {
		op_fail(inst, &err);
		return;
	}
	snprintf(name, sizeof(name), "%s", inst->rec.name);
	uh_net_down(inst);
	uh_rm_tree(inst->dir);
	uh_rm_tree(inst->run_dir);
	uh_loop_cancel(d->loop, inst->restart_timer);
	uh_loop_cancel(d->loop, inst->op_timer);
	uh_loop_cancel(d->loop, inst->reap_timer);
	uh_spawn_mc_close(inst);
	uh_spawn_notify_close(inst);
	uh_reclaim_drop(inst);
	uh_daemon_event(d, name, "deleted", "%s", "");
	rest = op->next;
	uh_instance_remove(inst);
	if (op->done)
		op->done(op->ctx, NULL, json_pack("{s:s}", "deleted", name));
	free(op);
	/* operations queued behind the delete find no instance */
	while (rest) {
		struct uh_op *o = rest;
		rest = o->next;
		uh_errc(&err, ENOENT, "no instance named '%s' (deleted)", name);
		if (o->done)
			o->done(o->ctx, &err, NULL);
		free(o);
	}
}

static void delete_begin(struct uh_instance *inst)
{
	struct uh_error err;

	if (uh_instance_active(inst)) {
		if (!inst->ops->force) {
			uh_errc(&err, EBUSY, "%s is %s; stop it first or use --force",
				inst->rec.name, uh_state_name(inst->state));
			op_fail(inst, &err);
			return;
		}
		stop_begin(inst, 1);
		return;
	}
	delete_finish(inst);
}

static void op_begin(struct uh_instance *inst)
{
	struct uh_error err;

	/* start and stop write their new state before they act (record_state); a reboot and
	 * a delete change no state first, so the record is written as it is: on a filesystem
	 * that takes no write they are refused here. A kill goes ahead regardless (the admin's
	 * last resort); its outcome is recorded when it can be. */
	if ((inst->ops->type == UH_OP_REBOOT || inst->ops->type == UH_OP_DELETE) &&
	    uh_instance_record_state(inst, inst->state,
			 inst->ops->type == UH_OP_REBOOT ? "reboot" : "delete", &err) < 0) {
		op_fail(inst, &err);
		return;
	}
	switch (inst->ops->type) {
	case UH_OP_START:
		start_begin(inst);
		break;
	case UH_OP_STOP:
	case UH_OP_RESTART:
		stop_begin(inst, 0);
		break;
	case UH_OP_KILL:
		stop_begin(inst, 1);
		break;
	case UH_OP_REBOOT:
		reboot_begin(inst);
		break;
	case UH_OP_DELETE:
		delete_begin(inst);
		break;
	}
}

/* ---- load and re-adopt */

struct load_ctx {
	struct uh_daemon *d;
	struct uh_error *err;
	int failed;
};

static int load_one(const struct uh_instance_rec *r, void *arg)
{
	struct load_ctx *c = arg;

	if (uh_instance_add(c->d, r, c->err) == NULL) {
		c->failed = 1;
		return 1;
	}
	return 0;
}

/* An instance the state says is running: is it the same process still? Then watch it again
 * without touching it; otherwise it died while we were away. */
static void readopt(struct uh_instance *inst)
{
	struct uh_error err;

	if (inst->rec.pid > 1 && inst->rec.pid_start != 0 &&
	    uh_proc_starttime(inst->rec.pid) == inst->rec.pid_start &&
	    uh_spawn_watch_pid(inst, pid_exited, &err) == 0) {
		if (uh_spawn_notify_open(inst, notify_readable, &err) < 0)
			uh_warnx("%s", err.msg);
		inst->have_cg = uh_cgroup_count(&inst->cg) >= 0;
		if (!(inst->state == UH_STATE_RUNNING))
			uh_instance_set_state(inst, UH_STATE_RUNNING);
		if (inst->rec.started_at == 0)
			inst->rec.started_at = time(NULL);
		uh_daemon_event(inst->d, inst->rec.name, "adopted", "pid %d still running",
				inst->rec.pid);
		return;
	}
	/* gone: read what the monitor recorded, then treat it as any other exit */
	inst->have_cg = uh_cgroup_count(&inst->cg) >= 0;
	inst->expect_exit = (inst->state == UH_STATE_STOPPING);
	uh_instance_set_state(inst, UH_STATE_RUNNING);
	uh_daemon_event(inst->d, inst->rec.name, "lost", "pid %d ended while umlhostd was down",
			inst->rec.pid);
	inst->reap_tries = 50; /* the exit file is there or will never be */
	inst->exit_status[0] = '\0';
	reap_poll(inst);
}

int uh_daemon_load(struct uh_daemon *d, struct uh_error *err)
{
	struct load_ctx c = {.d = d, .err = err};
	struct uh_instance *i;
	char path[PATH_MAX + 8];
	uh_autoclosedir DIR *dir = NULL;
	struct dirent *de;

	if (uh_store_instance_list(d->store, load_one, &c, err) < 0 || c.failed)
		return -1;
	for (i = d->instances; i; i = i->next)
		if (uh_instance_active(i))
			readopt(i);
	/* run dirs of instances the state does not know: leftovers of a crash */
	snprintf(path, sizeof(path), "%s/i", d->cfg.run_dir);
	dir = opendir(path);
	while (dir && (de = readdir(dir)) != NULL) {
		char p[PATH_MAX * 2];

		if (de->d_name[0] == '.' || uh_instance_find(d, de->d_name))
			continue;
		snprintf(p, sizeof(p), "%s/%s", path, de->d_name);
		uh_warnx("removing leftover run directory %s", p);
		uh_rm_tree(p);
	}
	uh_net_reconcile(d);
	return 0;
}

void uh_daemon_autostart(struct uh_daemon *d)
{
	struct uh_instance *i;

	for (i = d->instances; i; i = i->next)
		if (i->rec.autostart && !uh_instance_active(i) && i->restart_timer == NULL &&
		    i->ops == NULL)
			uh_instance_submit(d, i->rec.name, UH_OP_START, 0, 0, NULL, NULL);
}
