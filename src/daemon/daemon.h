/* umlhostd's core objects: the daemon and its instances. Operations on an instance are
 * queued (one at a time per instance, instances in parallel) and run as state machines on
 * the event loop; whoever submitted one is called back once with an HTTP status and a JSON
 * body. */
#ifndef UH_DAEMON_H
#define UH_DAEMON_H

#include <jansson.h>
#include <limits.h>
#include <sys/types.h>

#include "cgroup/cgroup.h"
#include "daemon/config.h"
#include "daemon/loop.h"
#include "mconsole/mconsole_client.h"
#include "mconsole/mconsole_notify.h"
#include "net/netlink.h"
#include "store/store.h"
#include "util/error.h"
#include "util/ratelimit.h"

struct uh_daemon;

/* A json_t local released on every way out (cleanup attribute, util/cleanup.h's style). */
static inline void uh_json_decrefp(json_t **j)
{
	json_decref(*j);
	*j = NULL;
}
#define uh_autojson __attribute__((cleanup(uh_json_decrefp)))

/* How an operation that may take time answers, exactly once: err (its errno class says what
 * kind of failure; the API turns it into a status) or result (taken over; may be NULL). */
typedef void (*uh_done_fn)(void *ctx, const struct uh_error *err, json_t *result);

enum uh_op_type { UH_OP_START, UH_OP_STOP, UH_OP_KILL, UH_OP_RESTART, UH_OP_REBOOT, UH_OP_DELETE };

struct uh_op {
	enum uh_op_type type;
	int timeout_s;
	int force;
	uh_done_fn done; /* NULL for the daemon's own operations (autostart, crash restart) */
	void *ctx;
	struct uh_op *next;
};

/* Where an instance is, as the store records it (its name there: uh_state_name). */
enum uh_instance_state {
	UH_STATE_STOPPED,
	UH_STATE_STARTING,
	UH_STATE_RUNNING,
	UH_STATE_STOPPING,
	UH_STATE_CRASHED,
};

/* What works on an instance's disk outside its kernel (claim.c). A backup lets the kernel run
 * (it copies a snapshot); a flatten or resize has the disk itself. */
enum uh_claim_kind { UH_CLAIM_NONE, UH_CLAIM_BACKUP, UH_CLAIM_FLATTEN, UH_CLAIM_RESIZE };
typedef void (*uh_cancel_fn)(void *arg);

struct uh_instance {
	struct uh_daemon *d;
	struct uh_instance_rec rec; /* rec.state is state's name, for the store */
	enum uh_instance_state state;
	char dir[PATH_MAX];	 /* state: <state>/instances/NAME (disk, console log) */
	char run_dir[PATH_MAX];	 /* <run>/i/NAME: notify and console sockets, pid/exit files */
	char umid_dir[PATH_MAX]; /* <run>/i/NAME/u: UML's uml_dir */
	char mconsole[PATH_MAX]; /* <umid_dir>/NAME/mconsole */
	char log_path[PATH_MAX];
	struct uh_cgroup cg; /* paths; exists while the kernel runs */
	int have_cg;
	int pidfd;
	struct uh_watch *pid_watch;
	struct uh_mc_listener *notify;
	struct uh_watch *notify_watch;
	struct uh_mc_client *mc;
	struct uh_watch *mc_watch;
	struct uh_mc_result mc_res;
	struct uh_op *ops; /* queue; the head is in progress */
	int phase;
	struct uh_timer *op_timer;
	struct uh_timer *reap_timer;
	struct uh_timer *pid_timer; /* waiting for the monitor's uml.pid (start) */
	int pid_tries;
	int reap_tries;
	char exit_status[64]; /* what the monitor recorded, while reaping */
	int stop_step; /* where the stop sequence is: cad, halt, kill */
	struct {
		enum uh_claim_kind kind;
		uh_cancel_fn cancel; /* delete --force: end the work (NULL: it cannot be) */
		void *arg;	     /* the claimant's job */
	} claim;
	int unsaved;	       /* memory holds a state the store could not write yet */
	struct uh_timer *restart_timer;
	int expect_exit; /* we asked the kernel to stop: its exit is not a crash */
	int ready_seen;	 /* the notify socket said the mconsole is up */
	int in_done;	 /* an operation's callback runs (lifecycle.c's op_finish) */
	struct uh_ratelimit customer_ops; /* a customer's backups and restores (api_servers.c) */
	int crash_count; /* crashes in the current restart window */
	int64_t window_start_ms;
	struct uh_ratelimit guest_rate; /* events from guest notifications (events.c) */
	uint64_t backup_failures;	/* since the daemon started (metrics.c) */
	uint64_t drops[2];		/* packets the tap dropped to / from the guest, since it
					 * came up (network.c) */
	struct uh_reclaim *reclaim; /* its memory reclaim's state while it runs (reclaim.c) */
	struct {		    /* what reclaim.c last read of its guest's memory */
		int state;	    /* enum uh_reclaim_state */
		uint64_t unplugged, returned;
	} mem;
	struct {			/* the counters at the last minute's end (stats_history.c) */
		int have;
		uint64_t rx_bytes, tx_bytes, rx_packets, tx_packets, cpu_ms;
	} hist;
	struct uh_instance *next;
};

struct uh_follower; /* an event stream (api.c) */
struct uh_fleet_apply;
struct uh_backup_job;
struct uh_work;
struct uh_child;

struct uh_daemon {
	struct uh_config cfg;
	struct uh_store *store;
	struct uh_loop *loop;
	struct uh_instance *instances; /* sorted by name */
	int n_instances;
	void *http; /* api.c's state */
	int sig_fd;
	struct uh_watch *sig_watch;
	int quit;
	gid_t group_gid;
	int have_group;
	void (*on_event)(struct uh_daemon *d); /* api.c wakes its event followers */
	struct uh_nl *nl;		       /* rtnetlink, opened when first needed */
	struct uh_timer *net_timer;	       /* traffic sampling */
	struct uh_build *builds;	       /* kernel builds running or failed (kernel.c) */
	struct uh_build *tbuilds;	       /* template builds (template.c) */
	struct uh_timer *backup_timer;	       /* scheduled backups (backup.c) */
	struct uh_backup_job *backup_jobs;     /* backups, verifies, restores running */
	struct uh_work *works;		       /* forked workers running (job.c) */
	struct uh_child *children;	       /* children and who waits for each (job.c) */
	struct uh_upgrade *upgrade;	       /* the rolling upgrade in progress (upgrade.c) */
	struct uh_fleet_apply *fleet_apply;    /* the fleet file being applied (fleet_apply.c) */
	struct uh_timer *guard_timer;	       /* the anti-spoofing chains are checked (network.c) */
	struct uh_timer *events_timer;	       /* pruning, dropped-notification reports */
	struct uh_timer *stats_timer;	       /* the stats history's minutes (stats_history.c) */
	struct uh_timer *reclaim_timer;	       /* the memory reclaim's rounds (reclaim.c) */
	unsigned reclaim_round;
	int reclaim_busy;		       /* guests being asked now */
	long host_fpu;			       /* the host's XSAVE size in bytes; 0 unknown */
	long stock_fpu;			       /* the stock kernel's (kernel/fpu.h) */
	struct uh_timer *reserve_timer;	       /* db_reserve.c */
	struct uh_timer *save_timer;	       /* instance states written again (instance.c) */
	int reserve_spent;		       /* the database's reserve was used, not yet taken again */
	int reserve_reported;		       /* ... and the event about it written */
};

/* claim.c: one claim at a time on an instance's disk. */
/* -1 with EBUSY naming the work when the disk is claimed. */
int uh_instance_claimed(const struct uh_instance *inst, struct uh_error *err);
/* Take the claim for the job `arg` (refused as uh_instance_claimed says). */
int uh_instance_claim(struct uh_instance *inst, enum uh_claim_kind kind, uh_cancel_fn cancel,
		      void *arg, struct uh_error *err);
/* The job `arg` is done with the disk (nothing if the claim is not its). */
void uh_instance_release(struct uh_instance *inst, void *arg);
/* delete --force: call the claim's cancel hook, if it has one. */
void uh_instance_claim_cancel(struct uh_instance *inst);

/* db_reserve.c: hold the database's reserve, give it to the store when the filesystem is
 * full, take it again when there is room. */
void uh_db_reserve_init(struct uh_daemon *d);
/* Refuse (ENOSPC, naming the free space and disk_reserve) work that needs space on the state
 * filesystem while it has less than disk_reserve free or the database's reserve is spent. */
int uh_space_check(struct uh_daemon *d, const char *what, struct uh_error *err);

/* instance.c: instances as records */
const char *uh_state_name(enum uh_instance_state s);
int uh_state_parse(const char *name, enum uh_instance_state *out);
/* Starting, running or stopping: a kernel of it may exist. */
int uh_instance_active(const struct uh_instance *inst);
/* A fact already true on the host (a state reached, a pid got): kept in memory even when the
 * store cannot write it, written again every few seconds until it can. */
void uh_instance_save(struct uh_instance *inst);
/* record.c: a lost compare-and-swap: the store's revision taken (event store-conflict). */
void uh_instance_take_rev(struct uh_instance *inst, const struct uh_error *lost);
/* Write the record now, and only once: a lost compare-and-swap takes the store's revision
 * (event store-conflict) and writes again (memory is the truth on one host). For callers
 * that must know it landed; facts go through uh_instance_save. */
int uh_instance_write(struct uh_instance *inst, struct uh_error *err);
void uh_instance_set_state(struct uh_instance *inst, enum uh_instance_state s);
/* What an admin's operation moves to, written before it acts: -1 (nothing changed, `what`
 * named as refused) when the store cannot write it. */
int uh_instance_record_state(struct uh_instance *inst, enum uh_instance_state s,
			     const char *what, struct uh_error *err);
/* The kernel's last console lines on one line, for an error message. */
void uh_instance_console_tail(const struct uh_instance *inst, char *out, size_t len);
/* Into the list (sorted) / out of it and freed; nothing else is touched. */
struct uh_instance *uh_instance_add(struct uh_daemon *d, const struct uh_instance_rec *rec,
				    struct uh_error *err);
void uh_instance_remove(struct uh_instance *inst);
struct uh_instance *uh_instance_find(struct uh_daemon *d, const char *name);
json_t *uh_instance_json(const struct uh_instance *inst);
json_t *uh_instance_stats(struct uh_instance *inst);
int uh_instance_create(struct uh_daemon *d, json_t *params, json_t **out, struct uh_error *err);
/* The same with a disk brought along (a restore): renamed into place instead of a fresh COW;
 * a flat one needs no template. Never reachable from API parameters. */
struct uh_disk_src {
	const char *path; /* on the state directory's filesystem */
	int flat;	  /* a private image (disk.img), else a COW over the template */
};
int uh_instance_create_from(struct uh_daemon *d, json_t *params, const struct uh_disk_src *src,
			    json_t **out, struct uh_error *err);
/* Each of the space-separated --disk paths may become the instance's (uh_data_disk_open). */
int uh_instance_check_disks(struct uh_daemon *d, const char *name, const char *disks,
			    struct uh_error *err);
/* Its paths from its name and the config (add and rename). */
int uh_instance_paths(struct uh_instance *inst, struct uh_error *err);
/* <dir>/FILE (swap.img) of rec.swap_mib, made and given to its uid; its data disks given to
 * its uid. */
int uh_instance_make_swap(struct uh_instance *inst, const char *file, struct uh_error *err);
int uh_instance_give_disks(struct uh_instance *inst, struct uh_error *err);
/* RAM + swap of the host in MiB, and what running instances hold. */
uint64_t uh_host_memory_mib(void);
/* MemAvailable + SwapFree: what the host can give a guest now */
uint64_t uh_host_available_mib(void);

/* instance_update.c: a server's settings changed in place, and its rename (the fleet file's
 * apply). `changes` holds create's keys. Live ones (owner, restart, autostart, cpu_quota,
 * pids_max, backup_every/keep/to) apply at once, to a running kernel's cgroup too; the others
 * (memory, swap, kernel, kernel_args, network, ip, disks) only while it is stopped (EBUSY).
 * The template is not a setting: a new one is a new disk (delete and create). All or nothing;
 * an event says what changed. dry_run: every check but "stopped", nothing changed (the
 * apply asks before it stops a server for the change). */
int uh_instance_update(struct uh_daemon *d, const char *name, json_t *changes, int dry_run,
		       struct uh_error *err);
/* A stopped server under a new name: its directory, record, backups and traffic history
 * move; its disk, address and uid stay. */
int uh_instance_rename(struct uh_daemon *d, const char *from, const char *to,
		       struct uh_error *err);
/* The record as create's request (create's keys, the fleet file's too): parsing it gives the
 * record's own settings back. */
json_t *uh_instance_as_request(const struct uh_instance_rec *r);
/* Whether the key is one uh_instance_update applies to a running server. */
int uh_instance_update_live(const char *key);
uint64_t uh_daemon_committed_mib(struct uh_daemon *d);

/* lifecycle.c: what runs instances */
/* The instances from the store; those it says run are adopted again (or reaped). */
int uh_daemon_load(struct uh_daemon *d, struct uh_error *err);
/* Queue an operation. done is called exactly once (maybe before this returns). */
void uh_instance_submit(struct uh_daemon *d, const char *name, enum uh_op_type type,
			int timeout_s, int force, uh_done_fn done, void *ctx);
void uh_daemon_autostart(struct uh_daemon *d);

/* template.c */
/* new_version: the next version of an existing template (else an existing name is refused). */
int uh_template_import(struct uh_daemon *d, const char *name, const char *image, uid_t caller,
		       int new_version, json_t **out, struct uh_error *err);
/* version 0: every version. Refused while an instance uses one of them. */
/* force: also when backups were made over it (they cannot be restored afterwards). */
int uh_template_remove(struct uh_daemon *d, const char *name, int version, int force,
		       struct uh_error *err);
json_t *uh_template_list(struct uh_daemon *d, struct uh_error *err);
json_t *uh_template_get_json(struct uh_daemon *d, const char *name, struct uh_error *err);
int uh_template_log_path(struct uh_daemon *d, const char *name, char *out, size_t len,
			 struct uh_error *err);
/* Start `template build` (returns at once; the builder runs as a job). */
int uh_template_build_start(struct uh_daemon *d, json_t *params, json_t **out,
			    struct uh_error *err);
int uh_template_forget_build(struct uh_daemon *d, const char *name);
void uh_template_shutdown(struct uh_daemon *d);

/* network.c */
int uh_network_create(struct uh_daemon *d, json_t *params, json_t **out, struct uh_error *err);
json_t *uh_network_list(struct uh_daemon *d, struct uh_error *err);
int uh_network_remove(struct uh_daemon *d, const char *name, struct uh_error *err);
/* At create: check --network/--ip, give the record an address (the pool's first free one
 * unless `want`), its MAC and tap name. Nothing to do when network is NULL. */
int uh_network_assign(struct uh_daemon *d, struct uh_instance_rec *rec, const char *network,
		      const char *want, struct uh_error *err);
/* Before the kernel starts: a fresh tap, its guard rules, addresses, routes, proxies.
 * On failure nothing of it is left. */
int uh_net_up(struct uh_instance *inst, struct uh_error *err);
/* After the kernel ended (idempotent): counters added in, all of it removed. */
void uh_net_down(struct uh_instance *inst);
/* Add the tap's counters into the record (not saved); 1 if they changed. */
int uh_net_sample(struct uh_instance *inst);
/* The kernel arguments for the network (transport + umlhost.ip/gw); "" without one. */
int uh_net_kernel_args(const struct uh_instance *inst, char *buf, size_t len);
json_t *uh_net_json(struct uh_instance *inst);
/* At daemon start: remove taps and guard chains of ours that no running instance owns. */
void uh_net_reconcile(struct uh_daemon *d);
void uh_net_init(struct uh_daemon *d);


/* disk.c: on a stopped instance, in a forked worker; `done` is called once. Flatten: the
 * COW merged over its template into a private sparse image. Resize: grow a private image
 * and its ext4 (e2fsck + resize2fs), with a safety copy restored on failure. */
void uh_disk_flatten(struct uh_daemon *d, const char *name, uh_done_fn done, void *ctx);
void uh_disk_resize(struct uh_daemon *d, const char *name, const char *size, uh_done_fn done,
		    void *ctx);
/* At start, after the instances are loaded: a disk worker a killed daemon left (its record
 * in the instance's directory) keeps the instance busy while it lives; one that died halfway
 * has its work undone. */
void uh_disk_resume(struct uh_daemon *d);
/* spawn.c: is the template its COW was made over still there and unchanged? */
int uh_instance_check_template(struct uh_instance *inst, struct uh_error *err);

/* backup.c: each call answers `done` exactly once (maybe before it returns); the archive
 * work runs in the umlhost-backup helper. */
void uh_backup_create(struct uh_daemon *d, const char *name, const char *to, int scheduled,
		      uh_done_fn done, void *ctx);
void uh_backup_verify(struct uh_daemon *d, const char *archive, uh_done_fn done, void *ctx);
void uh_backup_restore(struct uh_daemon *d, const char *archive, const char *as,
		       uh_done_fn done, void *ctx);
/* The archives under <state>/backups and those recorded elsewhere (one instance's with name). */
json_t *uh_backup_list(struct uh_daemon *d, const char *name);
/* A customer's view of one server's backups: those recorded as made of it while its current
 * owner had it, that still exist; by id (the archive's name without its suffix), no paths. */
json_t *uh_backup_list_owned(struct uh_daemon *d, const struct uh_instance *inst,
			     struct uh_error *err);
int uh_backup_find_owned(struct uh_daemon *d, const struct uh_instance *inst, const char *id,
			 char *archive, size_t len, struct uh_error *err);
void uh_backup_archive_id(const char *archive, char *id, size_t len);
/* A customer's backups on this host's disk are bounded: all but the newest `keep` made of
 * the server under its current owner go (the files and their records). */
#define UH_CUSTOMER_BACKUPS_KEEP 10
int uh_backup_prune_owned(struct uh_daemon *d, const struct uh_instance *inst, int keep);
/* restore_over.c: put the backup `id` of a server back over it: a safety backup first, then
 * the server stopped, deleted and restored from the archive (started again if it ran); a
 * failed restore puts the safety backup back. The answer names both by id. */
void uh_backup_restore_over(struct uh_daemon *d, const char *name, const char *id,
			    uh_done_fn done, void *ctx);
/* The archives in a directory or on an SFTP server (name: one instance's). */
void uh_backup_list_from(struct uh_daemon *d, const char *name, const char *from,
			 uh_done_fn done, void *ctx);
/* Keep the newest `keep` archives of the instance in `from` (a directory or sftp URL; NULL:
 * its default directory). */
void uh_backup_prune(struct uh_daemon *d, const char *name, int keep, const char *from,
		     uh_done_fn done, void *ctx);
/* Run each instance's --backup-every schedule (and its --backup-keep). */
void uh_backup_schedule_init(struct uh_daemon *d);
/* How many recorded backups were made over template `tpl` (version 0: any version); one of
 * them in `example`. Local archives removed by hand are forgotten on the way. */
int uh_backup_template_users(struct uh_daemon *d, const char *tpl, int version, char *example,
			     size_t len, struct uh_error *err);
/* Cancel the running jobs (their helpers clean up), answering their requesters. */
void uh_backup_shutdown(struct uh_daemon *d);

/* seed.c: the cloud-init NoCloud seed disk */
int uh_seed_check_key(const char *key, struct uh_error *err);
/* <dir>/seed.img with meta-data and user-data for the keys (a JSON array of strings). */
int uh_seed_create(const char *dir, const char *name, int64_t created, json_t *keys,
		   struct uh_error *err);

/* job.c: background helpers (builders) */
/* A build in progress or failed (kernels, templates); gone from the list once it succeeded. */
struct uh_build {
	char name[UH_KEY_MAX];
	char dir[PATH_MAX]; /* .build-NAME: its log, work dir and output */
	pid_t pid;
	int failed;
	char message[512];
	int64_t started;
	struct uh_build *next;
};
struct uh_build *uh_build_find(struct uh_build *list, const char *name);
/* Record a started build under `name` (a failed one of that name is reused). */
struct uh_build *uh_build_started(struct uh_build **list, const char *name, const char *dir,
				  pid_t pid);
/* Take b off the list and free it (its directory: remove_dir). */
void uh_build_drop(struct uh_build **list, struct uh_build *b, int remove_dir);
/* {name, status: building|failed, error} */
json_t *uh_build_json(const struct uh_build *b);
/* TERM every running build's session. */
void uh_build_stop_all(struct uh_build *list);
/* A child of the daemon ended: fn(arg, pid, status), once. Whoever forks a child registers
 * it here (helpers, workers, monitors), so that reaping asks no module in turn. */
typedef void (*uh_child_exit_fn)(void *arg, pid_t pid, int status);
void uh_child_watch(struct uh_daemon *d, pid_t pid, uh_child_exit_fn fn, void *arg);
/* For a child its maker reaped itself (at shutdown): no call, and no stale entry that a
 * later child with the same pid would find. */
void uh_child_unwatch(struct uh_daemon *d, pid_t pid);
/* SIGCHLD: reap every child that ended and call its watcher (unwatched ones: reaped only). */
void uh_daemon_reap_children(struct uh_daemon *d);
/* Run argv[0] in its own session at nice 10, output to log (truncated). */
pid_t uh_job_spawn(char *const argv[], const char *log, struct uh_error *err);
/* The log's last "<prefix>... error:" line, else its last line. */
void uh_job_error_line(const char *log, const char *prefix, char *out, size_t len);
/* Blocking work (a disk merge, e2fsck) in a forked child at nice 10: fn runs there (only file
 * work and tools, no loop or store), finish(arg, 0 or -1, its error) in the daemon when it
 * ends. */
typedef int (*uh_work_fn)(void *arg, struct uh_error *err);
typedef void (*uh_work_done_fn)(void *arg, int rc, struct uh_error *err);
int uh_work_start(struct uh_daemon *d, uh_work_fn fn, uh_work_done_fn finish, void *arg,
		  struct uh_error *err);
/* At shutdown: wait for the running work to finish (it is not cut halfway). */
void uh_work_wait_all(struct uh_daemon *d);

/* data_disk.c */
/* Open a --disk file for instance `self` if it may become that instance's disk: under
 * disk_dir without a symlink, a regular file of whole sectors with one name, not a template,
 * another instance's disk or the state database. The descriptor (O_RDWR), or -1 with err. */
int uh_data_disk_open(struct uh_daemon *d, const char *self, const char *path,
		      struct uh_error *err);

/* events.c */
/* Record an event (stored, logged, pushed to followers); control bytes in the text are
 * escaped. */
void uh_daemon_event(struct uh_daemon *d, const char *instance, const char *type,
		     const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* May the guest's notification become an event? (a token bucket per instance) */
int uh_guest_event_allowed(struct uh_instance *inst);
/* Prune now and every minute (events_keep, events_max_days). */
void uh_events_init(struct uh_daemon *d);
/* fleet_state.c: the fleet file against this host: its servers in the file's shape, a
 * plan ({"text", "file", "prune", "allow_replace"} in; src/fleet/plan.h's answer with the
 * state's "revision"), the revision, and the export (a fleet file of today's state) */
json_t *uh_fleet_current(struct uh_daemon *d, struct uh_error *err);
void uh_fleet_revision(struct uh_daemon *d, char out[17]);
int uh_fleet_plan_request(struct uh_daemon *d, json_t *params, json_t **out, struct uh_error *err);
/* The same, keeping the file as read (want_out may be NULL). */
int uh_fleet_plan_make(struct uh_daemon *d, json_t *params, json_t **want_out, json_t **plan,
		       struct uh_error *err);
/* fleet_apply.c: the plan carried out (POST /v1/fleet/apply); done gets the report. */
void uh_fleet_apply(struct uh_daemon *d, json_t *params, uh_done_fn done, void *ctx);
char *uh_fleet_export(struct uh_daemon *d, size_t *len, struct uh_error *err);
/* stats_history.c: each server's use per minute (24 h) and per hour (30 days), kept in the
 * store for graphs without Prometheus */
void uh_stats_history_init(struct uh_daemon *d);
/* {"minutes": {"ts": [...], "rx_bytes": [...], ...}, "hours": {...}}: columns, as a graph
 * library takes them; only rows of the server's current owner */
json_t *uh_stats_history(struct uh_daemon *d, const struct uh_instance *inst);

/* kernel.c */
/* The binary of kernel `name` ("stock" is the configured /usr/bin/linux.uml). */
int uh_kernel_resolve(struct uh_daemon *d, const char *name, char *path, size_t len,
		      struct uh_error *err);
/* What new instances get: default_kernel, else the newest built kernel, else stock. */
void uh_kernel_default(struct uh_daemon *d, char out[UH_KEY_MAX]);
json_t *uh_kernel_list(struct uh_daemon *d, struct uh_error *err);
json_t *uh_kernel_get_json(struct uh_daemon *d, const char *name, struct uh_error *err);
int uh_kernel_log_path(struct uh_daemon *d, const char *name, char *out, size_t len,
		       struct uh_error *err);
/* Start building (returns at once; the build runs in a child). */
int uh_kernel_build_start(struct uh_daemon *d, json_t *params, json_t **out,
			  struct uh_error *err);
int uh_kernel_remove(struct uh_daemon *d, const char *name, struct uh_error *err);
/* Refuse (one line naming both sizes and the fix) a kernel that cannot run on this CPU. */
int uh_kernel_check_usable(struct uh_daemon *d, const char *name, struct uh_error *err);
/* Measure the host's XSAVE size, look at the stock kernel, drop half-done builds. */
void uh_kernel_init(struct uh_daemon *d);
void uh_kernel_shutdown(struct uh_daemon *d);

/* upgrade.c */
struct uh_upgrade;
/* Roll instances onto a kernel batch by batch; done is called once with the report. */
void uh_upgrade_start(struct uh_daemon *d, json_t *params, uh_done_fn done, void *ctx);

/* api.c */
int uh_api_start(struct uh_daemon *d, struct uh_error *err);
/* An error's HTTP status and {"error", "code"} body, from its errno class (one table; code
 * NULL: the class's). */
int uh_api_error_status(const struct uh_error *err);
json_t *uh_api_error_body(const struct uh_error *err, const char *code);
/* The route table (for its unit test): n entries of `stride` bytes, each a struct uh_route
 * first (route.h). */
struct uh_route;
const struct uh_route *uh_api_routes(size_t *n, size_t *stride);
void uh_api_stop(struct uh_daemon *d);


#endif
