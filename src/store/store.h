/* State access: the only interface the daemon uses to persist templates, instances, networks,
 * kernels, backups and events. Each call goes through the backend's table of operations
 * (store_backend.h): today SQLite (store_sqlite.c); a multi-host etcd backend implements the
 * same table. Records are plain structs; a get returns 1 when the key does not exist.
 *
 * Instances carry a revision: the one they were read (or last written) at. A put is a
 * compare-and-swap on it: rev 0 creates (refused when the name exists), rev N replaces the
 * record only while the store still holds revision N; the record then holds N+1. A put that
 * loses fails with ESTALE and changes nothing. Instances are the records that change while
 * instances run and that two hosts could race on (a start here, a delete there); templates,
 * kernels, networks and backups are made once and removed, never rewritten in place. */
#ifndef UH_STORE_H
#define UH_STORE_H

#include <limits.h>
#include <stdint.h>

#include "util/error.h"

#define UH_KEY_MAX 33 /* names: 32 characters + NUL */

struct uh_store;

struct uh_template_rec {
	char name[UH_KEY_MAX];
	int version;	 /* 1, 2, ...: building a name again makes a new version */
	char path[PATH_MAX];
	uint64_t size;	 /* bytes */
	int64_t mtime;	 /* seconds, pinned into every COW made over it */
	int64_t created; /* unix seconds */
};

struct uh_instance_rec {
	int64_t rev; /* the store's revision of this record (0: not stored yet) */
	char name[UH_KEY_MAX];
	char template_name[UH_KEY_MAX];
	int template_version; /* the version its COW is pinned to */
	int flat;	      /* its disk is a private image (disk flatten), no COW */
	uint64_t swap_mib;    /* 0: no swap disk; else <dir>/swap.img, ubd2 */
	char disks[2048];     /* extra data disks (host paths, space separated): ubd3... */
	int64_t backup_every_s; /* scheduled backups: every so many seconds (0: none) */
	int backup_keep;	/* and keep the newest so many (0: all) */
	int64_t backup_last;	/* unix seconds of the last scheduled one */
	char backup_to[1024];	/* their directory or sftp:// URL ("": <state>/backups/NAME) */
	char kernel[UH_KEY_MAX];
	char restart[16]; /* no | on-failure | always */
	char state[16];	  /* stopped | starting | running | stopping | crashed */
	char disk[PATH_MAX];
	char kernel_args[1024]; /* extra kernel arguments, space separated */
	uint64_t memory_mib;
	int autostart;
	int pid;	    /* UML kernel's host pid, 0 when not running */
	uint64_t pid_start; /* its start time (clock ticks since boot) to detect pid reuse */
	int monitor_pid;
	int restarts;
	int uid;
	int64_t started_at; /* unix seconds, 0 when not running */
	int cpu_quota_pct;  /* 0: no quota */
	int reclaim_mib;    /* memory reclaim's floor: 0 the daemon's reclaim_floor, -1 off */
	int pids_max;	    /* 0: the daemon's default */
	int64_t created;
	/* network: empty strings when it has none */
	char network[UH_KEY_MAX];
	char ip[48];  /* its address, e.g. 192.0.2.17 */
	char mac[18]; /* 02:75:c0:00:02:11 */
	char tap[16]; /* host interface */
	/* traffic as the instance sees it (rx: received by the guest), in UH_NET_* order:
	 * totals over all its taps, and its current tap's counters when last added in */
	uint64_t net_total[4];
	uint64_t tap_seen[4];
	char owner[UH_KEY_MAX]; /* the customer it belongs to ("provider": the host's own) */
	int managed;		/* a fleet file made it or took it over: its apply may destroy it */
};

enum { UH_NET_RX_BYTES, UH_NET_TX_BYTES, UH_NET_RX_PACKETS, UH_NET_TX_PACKETS };

struct uh_network_rec {
	char name[UH_KEY_MAX];
	char mode[8];	  /* routed | bridge */
	char pool[52];	  /* CIDR */
	char uplink[16];  /* routed: the interface proxy ARP/NDP answers on ("" for none) */
	char bridge[16];  /* bridge: the bridge taps join */
	char gateway[48]; /* bridge: the guests' default gateway ("" for none) */
	int64_t created;
};

struct uh_event_rec {
	int64_t id;
	int64_t ts_ms; /* unix milliseconds */
	char instance[UH_KEY_MAX];
	char type[32];
	char message[512];
	char owner[UH_KEY_MAX]; /* the instance's customer when it happened ("": the host's) */
};

/* The state database at path (SQLite, created or migrated as needed). */
int uh_store_open(const char *path, struct uh_store **out, struct uh_error *err);
/* The backend's name ("sqlite"). */
const char *uh_store_backend(const struct uh_store *s);
/* Called when a write finds the filesystem full; if it returns 1 (it made room) the write is
 * tried once more. Errors from a full filesystem carry errnum ENOSPC. */
void uh_store_set_full_hook(struct uh_store *s, int (*fn)(void *arg), void *arg);
void uh_store_close(struct uh_store *s);

int uh_store_begin(struct uh_store *s, struct uh_error *err);
int uh_store_commit(struct uh_store *s, struct uh_error *err);
void uh_store_rollback(struct uh_store *s);

int uh_store_template_put(struct uh_store *s, const struct uh_template_rec *t,
			  struct uh_error *err);
/* version 0: the newest. */
int uh_store_template_get(struct uh_store *s, const char *name, int version,
			  struct uh_template_rec *t, struct uh_error *err);
int uh_store_template_del(struct uh_store *s, const char *name, int version,
			  struct uh_error *err);
/* Calls fn for every template version in name, version order; non-zero stops the walk. */
int uh_store_template_list(struct uh_store *s,
			   int (*fn)(const struct uh_template_rec *t, void *arg), void *arg,
			   struct uh_error *err);

/* Compare-and-swap on r->rev (above); on success r->rev is the new revision. ESTALE when the
 * store holds another revision (or, for rev 0, the name already); EEXIST when the record's ip
 * is another instance's. */
int uh_store_instance_put(struct uh_store *s, struct uh_instance_rec *r, struct uh_error *err);
int uh_store_instance_get(struct uh_store *s, const char *name, struct uh_instance_rec *r,
			  struct uh_error *err);
int uh_store_instance_del(struct uh_store *s, const char *name, struct uh_error *err);
/* r's row (compare-and-swap on r->rev) under the name `to` with its disk at `disk`, and its
 * traffic history with it, in one transaction (backups and events keep the old name). EEXIST
 * when `to` is taken. */
int uh_store_instance_rename(struct uh_store *s, struct uh_instance_rec *r, const char *to,
			     const char *disk, struct uh_error *err);
int uh_store_instance_list(struct uh_store *s,
			   int (*fn)(const struct uh_instance_rec *r, void *arg), void *arg,
			   struct uh_error *err);

int uh_store_network_put(struct uh_store *s, const struct uh_network_rec *n,
			 struct uh_error *err);
int uh_store_network_get(struct uh_store *s, const char *name, struct uh_network_rec *n,
			 struct uh_error *err);
int uh_store_network_del(struct uh_store *s, const char *name, struct uh_error *err);
int uh_store_network_list(struct uh_store *s,
			  int (*fn)(const struct uh_network_rec *n, void *arg), void *arg,
			  struct uh_error *err);

struct uh_kernel_rec {
	char name[UH_KEY_MAX];
	char path[PATH_MAX];  /* the binary */
	char source[128];     /* e.g. linux-source-6.1=6.1.192-3 */
	char release[64];     /* uname -r */
	char fragment_sha256[65];
	int64_t created;
};

int uh_store_kernel_put(struct uh_store *s, const struct uh_kernel_rec *k, struct uh_error *err);
int uh_store_kernel_get(struct uh_store *s, const char *name, struct uh_kernel_rec *k,
			struct uh_error *err);
int uh_store_kernel_del(struct uh_store *s, const char *name, struct uh_error *err);
/* Oldest first. */
int uh_store_kernel_list(struct uh_store *s, int (*fn)(const struct uh_kernel_rec *k, void *arg),
			 void *arg, struct uh_error *err);

/* A backup the daemon made (its archive may since have been removed by hand: callers check). */
struct uh_backup_rec {
	char archive[PATH_MAX];	       /* a local path or an sftp:// URL */
	char instance[UH_KEY_MAX];
	char template_name[UH_KEY_MAX]; /* "" for a private (flattened) image */
	int template_version;
	uint64_t bytes;
	char sha256[65];
	int64_t freeze_us;
	int64_t created; /* unix seconds */
	char owner[UH_KEY_MAX]; /* the server's customer when it was made; "" before schema 12
				 * (shown to the provider only) */
};

int uh_store_backup_put(struct uh_store *s, const struct uh_backup_rec *b, struct uh_error *err);
int uh_store_backup_del(struct uh_store *s, const char *archive, struct uh_error *err);
int uh_store_backup_get(struct uh_store *s, const char *archive, struct uh_backup_rec *b,
			struct uh_error *err);
/* By instance, then archive name (age). fn returning non-zero stops. */
int uh_store_backup_list(struct uh_store *s, int (*fn)(const struct uh_backup_rec *b, void *arg),
			 void *arg, struct uh_error *err);

/* A customer of the provider: owns instances, holds tokens. "provider" always exists and is
 * not stored. */
struct uh_customer_rec {
	char name[UH_KEY_MAX];
	int64_t created;
};

int uh_store_customer_put(struct uh_store *s, const struct uh_customer_rec *c,
			  struct uh_error *err);
int uh_store_customer_get(struct uh_store *s, const char *name, struct uh_customer_rec *c,
			  struct uh_error *err);
int uh_store_customer_del(struct uh_store *s, const char *name, struct uh_error *err);
int uh_store_customer_list(struct uh_store *s,
			   int (*fn)(const struct uh_customer_rec *c, void *arg), void *arg,
			   struct uh_error *err);

/* An API token: only the hash of its secret is kept (auth/token.h). Revoking deletes it. */
#define UH_TOKEN_SERVERS_MAX 1024 /* comma-separated names */
struct uh_token_rec {
	char id[16];
	char customer[UH_KEY_MAX]; /* "*": the provider's, over every customer */
	char name[UH_KEY_MAX];
	unsigned int scopes;	   /* enum uh_scope bits */
	char servers[UH_TOKEN_SERVERS_MAX]; /* "": all the customer's */
	char from[256];		   /* comma-separated CIDRs it may be used from; "": anywhere */
	char hash[65];
	int64_t expires;   /* unix seconds; 0: never */
	int64_t created;
	int64_t last_used; /* unix seconds, kept to the minute */
};

/* put: create (EEXIST when the id is taken) or, with replace, update. */
int uh_store_token_put(struct uh_store *s, const struct uh_token_rec *t, int replace,
		       struct uh_error *err);
int uh_store_token_get(struct uh_store *s, const char *id, struct uh_token_rec *t,
		       struct uh_error *err);
int uh_store_token_del(struct uh_store *s, const char *id, struct uh_error *err);
/* customer NULL: all; else that customer's. Oldest first. */
int uh_store_token_list(struct uh_store *s, const char *customer,
			int (*fn)(const struct uh_token_rec *t, void *arg), void *arg,
			struct uh_error *err);

/* A server's use over one minute (stats_minute) or one hour (stats_hour): traffic and CPU
 * used in it, the most memory held. */
struct uh_stats_rec {
	char instance[UH_KEY_MAX];
	char owner[UH_KEY_MAX]; /* the server's customer then: a later server of that name, or
				 * the same after a chown, sees only its own customer's rows */
	int64_t ts; /* the period's start, unix seconds */
	uint64_t rx_bytes, tx_bytes, rx_packets, tx_packets;
	uint64_t cpu_ms;
	uint64_t memory_bytes;
};

int uh_store_stats_add(struct uh_store *s, const struct uh_stats_rec *r, struct uh_error *err);
/* The hour from hour_start: its minutes summed into one hour row per server (again: the
 * same). */
int uh_store_stats_rollup(struct uh_store *s, int64_t hour_start, struct uh_error *err);
/* Minutes before minute_before and hours before hour_before go. */
int uh_store_stats_prune(struct uh_store *s, int64_t minute_before, int64_t hour_before,
			 struct uh_error *err);
/* One server's minutes (hourly 0) or hours from `since` while owner had it, oldest first. */
int uh_store_stats_list(struct uh_store *s, const char *instance, const char *owner, int hourly,
			int64_t since,
			int (*fn)(const struct uh_stats_rec *r, void *arg), void *arg,
			struct uh_error *err);

/* Delete all but the newest `keep` events and those older than before_ms; *deleted says
 * how many went. */
int uh_store_event_prune(struct uh_store *s, int keep, int64_t before_ms, int *deleted,
			 struct uh_error *err);
/* The newest event's id (0: none). */
int uh_store_event_last(struct uh_store *s, int64_t *id, struct uh_error *err);
/* Append an event; sets ev->id. */
int uh_store_event_add(struct uh_store *s, struct uh_event_rec *ev, struct uh_error *err);
/* Events with id > since_id, oldest first, at most limit. */
int uh_store_event_list(struct uh_store *s, int64_t since_id, int limit,
			int (*fn)(const struct uh_event_rec *ev, void *arg), void *arg,
			struct uh_error *err);

#endif
