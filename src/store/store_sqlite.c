/* The SQLite implementation of store.h. One connection, WAL journal, synchronous=FULL: a
 * crash at any instant leaves the old or the new state. */
#include "store/store_backend.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct sq_store {
	struct uh_store base; /* first: the ops */
	sqlite3 *db;
	char *path;
	int (*full_hook)(void *arg); /* the filesystem is full: 1 if it made room */
	void *full_arg;
};

/* An instance's network: its attachment, and its traffic totals (instance's view) plus the
 * counters of its current tap when they were last added in. */
#define NET_COLS_DDL                                                                               \
	"network TEXT NOT NULL DEFAULT '', ip TEXT NOT NULL DEFAULT '',"                           \
	"mac TEXT NOT NULL DEFAULT '', tap TEXT NOT NULL DEFAULT '',"                              \
	"rx_bytes INTEGER NOT NULL DEFAULT 0, tx_bytes INTEGER NOT NULL DEFAULT 0,"                \
	"rx_packets INTEGER NOT NULL DEFAULT 0, tx_packets INTEGER NOT NULL DEFAULT 0,"            \
	"tap_rx_bytes INTEGER NOT NULL DEFAULT 0, tap_tx_bytes INTEGER NOT NULL DEFAULT 0,"        \
	"tap_rx_packets INTEGER NOT NULL DEFAULT 0, tap_tx_packets INTEGER NOT NULL DEFAULT 0"

static const char schema[] =
	"CREATE TABLE IF NOT EXISTS templates ("
	"  name TEXT NOT NULL, version INTEGER NOT NULL, path TEXT NOT NULL,"
	"  size INTEGER NOT NULL, mtime INTEGER NOT NULL, created INTEGER NOT NULL,"
	"  PRIMARY KEY (name, version));"
	"CREATE TABLE IF NOT EXISTS instances ("
	"  name TEXT PRIMARY KEY, template TEXT NOT NULL, kernel TEXT NOT NULL,"
	"  restart TEXT NOT NULL, state TEXT NOT NULL, disk TEXT NOT NULL,"
	"  kernel_args TEXT NOT NULL, memory_mib INTEGER NOT NULL, autostart INTEGER NOT NULL,"
	"  pid INTEGER NOT NULL, pid_start INTEGER NOT NULL, monitor_pid INTEGER NOT NULL,"
	"  restarts INTEGER NOT NULL, uid INTEGER NOT NULL, started_at INTEGER NOT NULL,"
	"  created INTEGER NOT NULL, cpu_quota INTEGER NOT NULL DEFAULT 0,"
	"  pids_max INTEGER NOT NULL DEFAULT 0," NET_COLS_DDL ","
	"  template_version INTEGER NOT NULL DEFAULT 1, flat INTEGER NOT NULL DEFAULT 0,"
	"  swap_mib INTEGER NOT NULL DEFAULT 0, disks TEXT NOT NULL DEFAULT '',"
	"  backup_every INTEGER NOT NULL DEFAULT 0, backup_keep INTEGER NOT NULL DEFAULT 0,"
	"  backup_last INTEGER NOT NULL DEFAULT 0, backup_to TEXT NOT NULL DEFAULT '',"
	"  rev INTEGER NOT NULL DEFAULT 1, owner TEXT NOT NULL DEFAULT 'provider',"
	"  managed INTEGER NOT NULL DEFAULT 0, reclaim INTEGER NOT NULL DEFAULT 0);"
	"CREATE TABLE IF NOT EXISTS customers (name TEXT PRIMARY KEY, created INTEGER NOT NULL);"
	"CREATE TABLE IF NOT EXISTS tokens ("
	"  id TEXT PRIMARY KEY, customer TEXT NOT NULL, name TEXT NOT NULL,"
	"  scopes INTEGER NOT NULL, servers TEXT NOT NULL, from_cidrs TEXT NOT NULL,"
	"  hash TEXT NOT NULL, expires INTEGER NOT NULL, created INTEGER NOT NULL,"
	"  last_used INTEGER NOT NULL);"
	"CREATE TABLE IF NOT EXISTS networks ("
	"  name TEXT PRIMARY KEY, mode TEXT NOT NULL, pool TEXT NOT NULL, uplink TEXT NOT NULL,"
	"  bridge TEXT NOT NULL, gateway TEXT NOT NULL, created INTEGER NOT NULL);"
	"CREATE TABLE IF NOT EXISTS backups ("
	"  archive TEXT PRIMARY KEY, instance TEXT NOT NULL, template TEXT NOT NULL,"
	"  template_version INTEGER NOT NULL, bytes INTEGER NOT NULL, sha256 TEXT NOT NULL,"
	"  freeze_us INTEGER NOT NULL, created INTEGER NOT NULL,"
	"  owner TEXT NOT NULL DEFAULT '');"
	"CREATE TABLE IF NOT EXISTS stats_minute ("
	"  instance TEXT NOT NULL, owner TEXT NOT NULL, ts INTEGER NOT NULL,"
	"  rx_bytes INTEGER NOT NULL, tx_bytes INTEGER NOT NULL, rx_packets INTEGER NOT NULL,"
	"  tx_packets INTEGER NOT NULL, cpu_ms INTEGER NOT NULL, memory_bytes INTEGER NOT NULL,"
	"  PRIMARY KEY (instance, owner, ts))"
	"  WITHOUT ROWID;"
	"CREATE TABLE IF NOT EXISTS stats_hour ("
	"  instance TEXT NOT NULL, owner TEXT NOT NULL, ts INTEGER NOT NULL,"
	"  rx_bytes INTEGER NOT NULL, tx_bytes INTEGER NOT NULL, rx_packets INTEGER NOT NULL,"
	"  tx_packets INTEGER NOT NULL, cpu_ms INTEGER NOT NULL, memory_bytes INTEGER NOT NULL,"
	"  PRIMARY KEY (instance, owner, ts))"
	"  WITHOUT ROWID;"
	"CREATE TABLE IF NOT EXISTS kernels ("
	"  name TEXT PRIMARY KEY, path TEXT NOT NULL, source TEXT NOT NULL, release TEXT NOT NULL,"
	"  fragment_sha256 TEXT NOT NULL, created INTEGER NOT NULL);"
	"CREATE TABLE IF NOT EXISTS events ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT, ts_ms INTEGER NOT NULL,"
	"  instance TEXT NOT NULL, type TEXT NOT NULL, message TEXT NOT NULL,"
	"  owner TEXT NOT NULL DEFAULT '');"
	"";

/* Schema upgrades, each from the version before it. */
static const char *const migrations[] = {
	/* 1 -> 2: cgroup limits */
	"ALTER TABLE instances ADD COLUMN cpu_quota INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE instances ADD COLUMN pids_max INTEGER NOT NULL DEFAULT 0;",
	/* 2 -> 3: networks (the table itself is in the schema) */
	"ALTER TABLE instances ADD COLUMN network TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE instances ADD COLUMN ip TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE instances ADD COLUMN mac TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE instances ADD COLUMN tap TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE instances ADD COLUMN rx_bytes INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE instances ADD COLUMN tx_bytes INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE instances ADD COLUMN rx_packets INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE instances ADD COLUMN tx_packets INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE instances ADD COLUMN tap_rx_bytes INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE instances ADD COLUMN tap_tx_bytes INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE instances ADD COLUMN tap_rx_packets INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE instances ADD COLUMN tap_tx_packets INTEGER NOT NULL DEFAULT 0;",
	/* 3 -> 4: kernels (the table is in the schema) */
	"SELECT 1;",
	/* 4 -> 5: template versions (what existed is version 1) */
	"CREATE TABLE templates_v (name TEXT NOT NULL, version INTEGER NOT NULL,"
	"  path TEXT NOT NULL, size INTEGER NOT NULL, mtime INTEGER NOT NULL,"
	"  created INTEGER NOT NULL, PRIMARY KEY (name, version));"
	"INSERT INTO templates_v SELECT name, 1, path, size, mtime, created FROM templates;"
	"DROP TABLE templates;"
	"ALTER TABLE templates_v RENAME TO templates;"
	"ALTER TABLE instances ADD COLUMN template_version INTEGER NOT NULL DEFAULT 1;",
	/* 5 -> 6: flattened disks */
	"ALTER TABLE instances ADD COLUMN flat INTEGER NOT NULL DEFAULT 0;",
	/* 6 -> 7: swap and data disks */
	"ALTER TABLE instances ADD COLUMN swap_mib INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE instances ADD COLUMN disks TEXT NOT NULL DEFAULT '';",
	/* 7 -> 8: backup schedules */
	"ALTER TABLE instances ADD COLUMN backup_every INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE instances ADD COLUMN backup_keep INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE instances ADD COLUMN backup_last INTEGER NOT NULL DEFAULT 0;",
	/* 8 -> 9: where scheduled backups go (the new backups table comes from `schema`) */
	"ALTER TABLE instances ADD COLUMN backup_to TEXT NOT NULL DEFAULT '';",
	/* 9 -> 10: revisions for compare-and-swap (what exists is revision 1) */
	"ALTER TABLE instances ADD COLUMN rev INTEGER NOT NULL DEFAULT 1;",
	/* 10 -> 11: owners (what exists is the provider's); customers and tokens come from
	 * `schema` */
	"ALTER TABLE instances ADD COLUMN owner TEXT NOT NULL DEFAULT 'provider';",
	/* (events.owner: added by has_column below, as the events table itself may be new) */
	/* 11 -> 12: the stats history tables come from `schema`; backups.owner by has_column
	 * below ('' for what exists: whose it was is not known, so the provider's alone) */
	"",
	/* 12 -> 13: instances.managed, the mark of servers a fleet file made, by has_column
	 * below (what exists is the admin's own) */
	"",
	/* 13 -> 14: instances.reclaim, each server's memory reclaim floor (0: the daemon's), by
	 * has_column below */
	"",
};
#define SCHEMA_VERSION 14

static int has_column(struct sq_store *s, const char *table, const char *column)
{
	char sql[128];
	sqlite3_stmt *st;
	int found = 0;

	snprintf(sql, sizeof(sql), "PRAGMA table_info(%s)", table);
	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
		return 0;
	while (sqlite3_step(st) == SQLITE_ROW)
		found |= strcmp((const char *)sqlite3_column_text(st, 1), column) == 0;
	sqlite3_finalize(st);
	return found;
}

/* After the migrations, whatever the starting version: an address is never given twice. */
static const char indexes[] =
	"CREATE UNIQUE INDEX IF NOT EXISTS instances_ip ON instances(ip) WHERE ip != '';";

/* The errno a caller can act on: a full filesystem, an I/O error, a read-only one. */
static int db_errno(struct sq_store *s)
{
	switch (sqlite3_errcode(s->db) & 0xff) {
	case SQLITE_FULL:
		return ENOSPC;
	case SQLITE_IOERR:
		return EIO;
	case SQLITE_READONLY:
		return EROFS;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return EBUSY;
	default:
		return 0;
	}
}

static int db_err(struct sq_store *s, struct uh_error *err, const char *what)
{
	int e = db_errno(s);

	uh_errx(err, "state database %s: %s: %s", s->path, what, sqlite3_errmsg(s->db));
	err->errnum = e;
	return -1;
}

static void sq_set_full_hook(struct uh_store *base, int (*fn)(void *arg), void *arg)
{
	struct sq_store *s = (struct sq_store *)base;
	s->full_hook = fn;
	s->full_arg = arg;
}

/* Step a statement that writes. On a full filesystem the hook may make room (the daemon's
 * reserve file): then the same statement is tried once more. */
static int write_step(struct sq_store *s, sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	if ((rc & 0xff) == SQLITE_FULL && s->full_hook && s->full_hook(s->full_arg) == 1) {
		sqlite3_reset(st);
		rc = sqlite3_step(st);
	}
	return rc;
}

static int exec(struct sq_store *s, const char *sql, struct uh_error *err)
{
	char *msg = NULL;

	if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		uh_errx(err, "state database %s: %s", s->path, msg ? msg : "error");
		err->errnum = db_errno(s);
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

static const struct uh_store_ops sq_ops;
static void sq_close(struct uh_store *base);

int uh_store_sqlite_open(const char *path, struct uh_store **out, struct uh_error *err)
{
	struct sq_store *s = calloc(1, sizeof(*s));

	if (s == NULL || (s->path = strdup(path)) == NULL)
		abort();
	s->base.ops = &sq_ops;
	if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
						  SQLITE_OPEN_FULLMUTEX,
			    NULL) != SQLITE_OK) {
		uh_errx(err, "open state database %s: %s", path,
			s->db ? sqlite3_errmsg(s->db) : "out of memory");
		goto fail;
	}
	sqlite3_busy_timeout(s->db, 5000);
	if (exec(s, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;", err) < 0)
		goto fail;
	{
		sqlite3_stmt *st;
		int version = 0, fresh;

		if (sqlite3_prepare_v2(s->db, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK &&
		    sqlite3_step(st) == SQLITE_ROW)
			version = sqlite3_column_int(st, 0);
		sqlite3_finalize(st);
		fresh = version == 0;
		/* a database of this version needs no write to open: a daemon on a full
		 * filesystem still starts */
		if (version == SCHEMA_VERSION)
			goto opened;
		if (exec(s, "BEGIN IMMEDIATE", err) < 0 || exec(s, schema, err) < 0)
			goto fail;
		if (fresh)
			version = SCHEMA_VERSION; /* the CREATE statements are the newest schema */
		for (; version < SCHEMA_VERSION; version++)
			if (exec(s, migrations[version - 1], err) < 0) {
				sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
				goto fail;
			}
		/* a column of a table that `schema` may just have made with it: added only where
		 * it is missing (SQLite has no ADD COLUMN IF NOT EXISTS) */
		if ((!has_column(s, "events", "owner") &&
		     exec(s, "ALTER TABLE events ADD COLUMN owner TEXT NOT NULL DEFAULT '';", err) <
			     0) ||
		    (!has_column(s, "backups", "owner") &&
		     exec(s, "ALTER TABLE backups ADD COLUMN owner TEXT NOT NULL DEFAULT '';", err) <
			     0) ||
		    (!has_column(s, "instances", "managed") &&
		     exec(s, "ALTER TABLE instances ADD COLUMN managed INTEGER NOT NULL DEFAULT 0;",
			  err) < 0) ||
		    (!has_column(s, "instances", "reclaim") &&
		     exec(s, "ALTER TABLE instances ADD COLUMN reclaim INTEGER NOT NULL DEFAULT 0;",
			  err) < 0)) {
			sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
			goto fail;
		}
		{
			char sql[64];
			snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", SCHEMA_VERSION);
			if (exec(s, indexes, err) < 0 || exec(s, sql, err) < 0 ||
			    exec(s, "COMMIT", err) < 0)
				goto fail;
		}
	}
opened:
	*out = &s->base;
	return 0;
fail:
	sq_close(&s->base);
	return -1;
}

static void sq_close(struct uh_store *base)
{
	struct sq_store *s = (struct sq_store *)base;
	if (s == NULL)
		return;
	sqlite3_close(s->db);
	free(s->path);
	free(s);
}

static int sq_begin(struct uh_store *base, struct uh_error *err)
{
	struct sq_store *s = (struct sq_store *)base;
	return exec(s, "BEGIN IMMEDIATE", err);
}

static int sq_commit(struct uh_store *base, struct uh_error *err)
{
	struct sq_store *s = (struct sq_store *)base;
	return exec(s, "COMMIT", err);
}

static void sq_rollback(struct uh_store *base)
{
	struct sq_store *s = (struct sq_store *)base;
	sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
}

static int prepare(struct sq_store *s, const char *sql, sqlite3_stmt **st, struct uh_error *err)
{
	if (sqlite3_prepare_v2(s->db, sql, -1, st, NULL) != SQLITE_OK)
		return db_err(s, err, "prepare");
	return 0;
}

static void copy_col(char *dst, size_t len, sqlite3_stmt *st, int col)
{
	const unsigned char *t = sqlite3_column_text(st, col);

	snprintf(dst, len, "%s", t ? (const char *)t : "");
}

/* Run a statement that returns no rows. */
static int step_done(struct sq_store *s, sqlite3_stmt *st, const char *what,
		     struct uh_error *err)
{
	int rc = write_step(s, st);

	if (rc != SQLITE_DONE) {
		db_err(s, err, what);
		sqlite3_finalize(st);
		return -1;
	}
	sqlite3_finalize(st);
	return 0;
}

/* ---- templates */

#define TEMPLATE_COLS "name,path,size,mtime,created,version"

static void template_row(sqlite3_stmt *st, struct uh_template_rec *t)
{
	memset(t, 0, sizeof(*t));
	copy_col(t->name, sizeof(t->name), st, 0);
	copy_col(t->path, sizeof(t->path), st, 1);
	t->size = (uint64_t)sqlite3_column_int64(st, 2);
	t->mtime = sqlite3_column_int64(st, 3);
	t->created = sqlite3_column_int64(st, 4);
	t->version = sqlite3_column_int(st, 5);
}

static int sq_template_put(struct uh_store *base, const struct uh_template_rec *t,
			  struct uh_error *err)
{
	struct sq_store *s = (struct sq_store *)base;
	sqlite3_stmt *st;

	if (prepare(s, "INSERT OR REPLACE INTO templates (" TEMPLATE_COLS ") VALUES (?,?,?,?,?,?)",
		    &st, err) < 0)
		return -1;
	sqlite3_bind_text(st, 1, t->name, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, t->path, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)t->size);
	sqlite3_bind_int64(st, 4, t->mtime);
	sqlite3_bind_int64(st, 5, t->created);
	sqlite3_bind_int(st, 6, t->version > 0 ? t->version : 1);
	return step_done(s, st, "save template", err);
}

static int sq_template_get(struct uh_store *base, const char *name, int version,
			  struct uh_template_rec *t, struct uh_error *err)
{
	struct sq_store *s = (struct sq_store *)base;
	sqlite3_stmt *st;
	int rc;

	/* version 0: the newest */
	if (prepare(s, "SELECT " TEMPLATE_COLS " FROM templates WHERE name=? AND (?=0 OR version=?)"
		       " ORDER BY version DESC LIMIT 1",
		    &st, err) < 0)
		return -1;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(st, 2, version);
	sqlite3_bind_int(st, 3, version);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		template_row(st, t);
	sqlite3_finalize(st);
	if (rc == SQLITE_ROW)
		return 0;
	if (rc == SQLITE_DONE)
		return 1;
	return db_err(s, err, "read template");
}

static int sq_template_del(struct uh_store *base, const char *name, int version,
			  struct uh_error *err)
{
	struct sq_store *s = (struct sq_store *)base;
	sqlite3_stmt *st;

	if (prepare(s, "DELETE FROM templates WHERE name=? AND version=?", &st, err) < 0)
		return -1;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(st, 2, version);
	return step_done(s, st, "delete template", err);
}

static int sq_template_list(struct uh_store *base,
			   int (*fn)(const struct uh_template_rec *t, void *arg), void *arg,
			   struct uh_error *err)
{
	struct sq_store *s = (struct sq_store *)base;
	struct uh_template_rec t;
	sqlite3_stmt *st;
	int rc;

	if (prepare(s, "SELECT " TEMPLATE_COLS " FROM templates ORDER BY name, version", &st,
		    err) < 0)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		template_row(st, &t);
		if (fn(&t, arg) != 0)
			break;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return db_err(s, err, "list templates");
	return 0;
}

/* ---- instances */

#define INSTANCE_COLS                                                                              \
	"name,template,kernel,restart,state,disk,kernel_args,memory_mib,autostart,pid,pid_start,"  \
	"monitor_pid,restarts,uid,started_at,created,cpu_quota,pids_max,network,ip,mac,tap,"     \
	"rx_bytes,tx_bytes,rx_packets,tx_packets,tap_rx_bytes,tap_tx_bytes,tap_rx_packets,"        \
	"tap_tx_packets,template_version,flat,swap_mib,disks,backup_every,backup_keep,backup_last,"    \
	"backup_to,owner,managed,reclaim"

static void instance_row(sqlite3_stmt *st, struct uh_instance_rec *r)
{
	memset(r, 0, sizeof(*r));
	copy_col(r->name, sizeof(r->name), st, 0);
	copy_col(r->template_name, sizeof(r->template_name), st, 1);
	copy_col(r->kernel, sizeof(r->kernel), st, 2);
	copy_col(r->restart, sizeof(r->restart), st, 3);
	copy_col(r->state, sizeof(r->state), st, 4);
	copy_col(r->disk, sizeof(r->disk), st, 5);
	copy_col(r->kernel_args, sizeof(r->kernel_args), st, 6);
	r->memory_mib = (uint64_t)sqlite3_column_int64(st, 7);
	r->autostart = sqlite3_column_int(st, 8);
	r->pid = sqlite3_column_int(st, 9);
	r->pid_start = (uint64_t)sqlite3_column_int64(st, 10);
	r->monitor_pid = sqlite3_column_int(st, 11);
	r->restarts = sqlite3_column_int(st, 12);
	r->uid = sqlite3_column_int(st, 13);
	r->started_at = sqlite3_column_int64(st, 14);
	r->created = sqlite3_column_int64(st, 15);
	r->cpu_quota_pct = sqlite3_column_int(st, 16);
	r->pids_max = sqlite3_column_int(st, 17);
	copy_col(r->network, sizeof(r->network), st, 18);
	copy_col(r->ip, sizeof(r->ip), st, 19);
	copy_col(r->mac, sizeof(r->mac), st, 20);
	copy_col(r->tap, sizeof(r->tap), st, 21);
	for (int i = 0; i < 4; i++) {
		r->net_total[i] = (uint64_t)sqlite3_column_int64(st, 22 + i);
		r->tap_seen[i] = (uint64_t)sqlite3_column_int64(st, 26 + i);
	}
	r->template_version = sqlite3_column_int(st, 30);
	r->flat = sqlite3_column_int(st, 31);
	r->swap_mib = (uint64_t)sqlite3_column_int64(st, 32);
	copy_col(r->disks, sizeof(r->disks), st, 33);
	r->backup_every_s = sqlite3_column_int64(st, 34);
	r->backup_keep = sqlite3_column_int(st, 35);
	r->backup_last = sqlite3_column_int64(st, 36);
	copy_col(r->backup_to, sizeof(r->backup_to), st, 37);
	copy_col(r->owner, sizeof(r->owner), st, 38);
	r->managed = sqlite3_column_int(st, 39);
	r->reclaim_mib = sqlite3_column_int(st, 40);
	r->rev = sqlite3_column_int64(st, 41);
}

/* Every column but the name, from the same parameters as the INSERT. */
#define INSTANCE_SET                                                                               \
	"template=?2,kernel=?3,restart=?4,state=?5,disk=?6,kernel_args=?7,memory_mib=?8," \
	"autostart=?9,pid=?10,pid_start=?11,monitor_pid=?12,restarts=?13,uid=?14," \
	"started_at=?15,created=?16,cpu_quota=?17,pids_max=?18,network=?19,ip=?20,mac=?21," \
	"tap=?22,rx_bytes=?23,tx_bytes=?24,rx_packets=?25,tx_packets=?26,tap_rx_bytes=?27," \
	"tap_tx_bytes=?28,tap_rx_packets=?29,tap_tx_packets=?30,template_version=?31," \
	"flat=?32,swap_mib=?33,disks=?34,backup_every=?35,backup_keep=?36,backup_last=?37," \
	"backup_to=?38,owner=?39,managed=?40,reclaim=?41"

/* Why a compare-and-swap lost: what the store holds now. */
static int instance_conflict(struct sq_store *s, const struct uh_instance_rec *r,
			     struct uh_error *err)
{
	sqlite3_stmt *st;
	int64_t now = -1;

	if (prepare(s, "SELECT rev FROM instances WHERE name=?", &st, err) < 0)
		return -1;
	sqlite3_bind_text(st, 1, r->name, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(st) == SQLITE_ROW)
		now = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	if (r->rev == 0)
		return uh_errc(err, ESTALE, "instance '%s' is already in the state database", r->name);
	if (now < 0)
		return uh_errc(err, ESTALE,
			       "instance '%s' was removed from the state database by someone else",
			       r->name);
	return uh_errc(err, ESTALE,
		       "instance '%s' was changed in the state database by someone else (revision "
		       "%lld there, %lld here)",
		       r->name, (long long)now, (long long)r->rev);
}

static int sq_instance_put(struct uh_store *base, struct uh_instance_rec *r, struct uh_error *err)
{
	struct sq_store *s = (struct sq_store *)base;
	sqlite3_stmt *st;
	int rc;

	/* rev 0: a new row, never an update of one already there; rev N: the row only while it
	 * still holds N. Not an upsert: a clash on the unique address must not touch the other
	 * instance (REPLACE would delete it). */
	if (prepare(s,
		    r->rev == 0
			    ? "INSERT INTO instances (" INSTANCE_COLS ",rev) VALUES "
			      "(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,?18,?19,"
			      "?20,?21,?22,?23,?24,?25,?26,?27,?28,?29,?30,?31,?32,?33,?34,?35,?36,"
			      "?37,?38,?39,?40,?41,1)"
			    : "UPDATE instances SET " INSTANCE_SET ",rev=rev+1 WHERE name=?1 AND rev=?42",
		    &st, err) < 0)
		return -1;
	if (r->rev != 0)
		sqlite3_bind_int64(st, 42, r->rev);
	sqlite3_bind_text(st, 1, r->name, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, r->template_name, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 3, r->kernel, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 4, r->restart, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 5, r->state, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 6, r->disk, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 7, r->kernel_args, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 8, (sqlite3_int64)r->memory_mib);
	sqlite3_bind_int(st, 9, r->autostart);
	sqlite3_bind_int(st, 10, r->pid);
	sqlite3_bind_int64(st, 11, (sqlite3_int64)r->pid_start);
	sqlite3_bind_int(st, 12, r->monitor_pid);
	sqlite3_bind_int(st, 13, r->restarts);
	sqlite3_bind_int(st, 14, r->uid);
	sqlite3_bind_int64(st, 15, r->started_at);
	sqlite3_bind_int64(st, 16, r->created);
	sqlite3_bind_int(st, 17, r->cpu_quota_pct);
	sqlite3_bind_int(st, 18, r->pids_max);
	sqlite3_bind_text(st, 19, r->network, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 20, r->ip, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 21, r->mac, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 22, r->tap, -1, SQLITE_TRANSIENT);
	for (int i = 0; i < 4; i++) {
		sqlite3_bind_int64(st, 23 + i, (sqlite3_int64)r->net_total[i]);
		sqlite3_bind_int64(st, 27 + i, (sqlite3_int64)r->tap_seen[i]);
	}
	sqlite3_bind_int(st, 31, r->template_version > 0 ? r->template_version : 1);
	sqlite3_bind_int(st, 32, r->flat);
	sqlite3_bind_int64(st, 33, (sqlite3_int64)r->swap_mib);
	sqlite3_bind_text(st, 34, r->disks, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 35, r->backup_every_s);
	sqlite3_bind_int(st, 36, r->backup_keep);
	sqlite3_bind_int64(st, 37, r->backup_last);
	sqlite3_bind_text(st, 38, r->backup_to, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 39, r->owner[0] ? r->owner : "provider", -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(st, 40, r->managed);
	sqlite3_bind_int(st, 41, r->reclaim_mib);
	rc = write_step(s, st);
	if (rc != SQLITE_DONE) {
		int ext = sqlite3_extended_errcode(s->db);

		if (ext != SQLITE_CONSTRAINT_PRIMARYKEY && ext != SQLITE_CONSTRAINT_UNIQUE)
			db_err(s, err, "save instance");
		sqlite3_finalize(st);
		if (ext == SQLITE_CONSTRAINT_PRIMARYKEY)
			return instance_conflict(s, r, err);
		if (ext == SQLITE_CONSTRAINT_UNIQUE)
			return uh_errc(err, EEXIST, "address %s is already taken", r->ip);
		return -1;
	}
	sqlite3_finalize(st);
	if (sqlite3_changes(s->db) != 1)
		return instance_conflict(s, r, err);
	r->rev = r->rev + 1;
	return 0;
}

static int sq_instance_get(struct uh_store *base, const char *name, struct uh_instance_rec *r,
			  struct uh_error *err)
{
	struct sq_store *s = (struct sq_store *)base;
	sqlite3_stmt *st;
	int rc;

	if (prepare(s, "SELECT " INSTANCE_COLS ",rev FROM instances WHERE name=?", &st, err) < 0)
		return -1;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		instance_row(st, r);
	sqlite3_finalize(st);
	if (rc == SQLITE_ROW)
		return 0;
	if (rc == SQLITE_DONE)
		return 1;
	return db_err(s, err, "read instance");
}

static int sq_instance_del(struct uh_store *base, const char *name, struct uh_error *err)
{
	struct sq_store *s = (struct sq_store *)base;
	sqlite3_stmt *st;

	if (prepare(s, "DELETE FROM instances WHERE name=?", &st, err) < 0)
		return -1;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
	return step_done(s, st, "delete instance", err);
}

/* One transaction: the row under its new name (with its disk's new path) and its traffic
 * history (a deleted server's old history under the new name goes first: the key is
 * instance, owner, minute). Its events and backups stay under the old name: the archives are
 * files named after it, in its directory, where the old name's pruning finds them. */
static int sq_instance_rename(struct uh_store *base, struct uh_instance_rec *r, const char *to,
			      const char *disk, struct uh_error *err)
{
	struct sq_store *s = (struct sq_store *)base;
	static const char *const follow[] = {"DELETE FROM stats_minute WHERE instance=?2",
					     "DELETE FROM stats_hour WHERE instance=?2",
					     "UPDATE stats_minute SET instance=?2 WHERE instance=?1",
					     "UPDATE stats_hour SET instance=?2 WHERE instance=?1"};
	sqlite3_stmt *st;

	if (exec(s, "BEGIN IMMEDIATE", err) < 0)
		return -1;
	if (prepare(s, "UPDATE instances SET name=?2, disk=?3, rev=rev+1 WHERE name=?1 AND rev=?4",
		    &st, err) < 0)
		goto fail;
	sqlite3_bind_text(st, 1, r->name, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, to, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 3, disk, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 4, r->rev);
	if (write_step(s, st) != SQLITE_DONE) {
		int ext = sqlite3_extended_errcode(s->db);

		sqlite3_finalize(st);
		if (ext == SQLITE_CONSTRAINT_PRIMARYKEY) {
			uh_errc(err, EEXIST, "instance '%s' is already in the state database", to);
			goto fail;
		}
		db_err(s, err, "rename instance");
		goto fail;
	}
	sqlite3_finalize(st);
	if (sqlite3_changes(s->db) != 1) {
		instance_conflict(s, r, err);
		goto fail;
	}
	for (size_t k = 0; k < sizeof(follow) / sizeof(follow[0]); k++) {
		if (prepare(s, follow[k], &st, err) < 0)
			goto fail;
		sqlite3_bind_text(st, 1, r->name, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(st, 2, to, -1, SQLITE_TRANSIENT);
		if (step_done(s, st, "rename instance", err) < 0)
			goto fail;
	}
	if (exec(s, "COMMIT", err) < 0)
		goto fail;
	r->rev++;
	return 0;
fail:
	sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	return -1;
}

static int sq_instance_list(struct uh_store *base,
			   int (*fn)(const struct uh_instance_rec *r, void *arg), void *arg,
			   struct uh_error *err)
{
	struct sq_store *s = (struct sq_store *)base;
	struct uh_instance_rec r;
	sqlite3_stmt *st;
	int rc;

	if (prepare(s, "SELECT " INSTANCE_COLS ",rev FROM instances ORDER BY name", &st, err) < 0)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		instance_row(st, &r);
		if (fn(&r, arg) != 0)
			break;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return db_err(s, err, "list instances");
	return 0;
}

/* ---- networks */

static void network_row(sqlite3_stmt *st, struct uh_network_rec *n)
{
	memset(n, 0, sizeof(*n));
	copy_col(n->name, sizeof(n->name), st, 0);
	copy_col(n->mode, sizeof(n->mode), st, 1);
	copy_col(n->pool, sizeof(n->pool), st, 2);
	copy_col(n->uplink, sizeof(n->uplink), st, 3);
	copy_col(n->bridge, sizeof(n->bridge), st, 4);
	copy_col(n->gateway, sizeof(n->gateway), st, 5);
	n->created = sqlite3_column_int64(st, 6);
}

static int sq_network_put(struct uh_store *base, const struct uh_network_rec *n,
			 struct uh_error *err)
{
	struct sq_store *s = (struct sq_store *)base;
	sqlite3_stmt *st;

	if (prepare(s, "INSERT OR REPLACE INTO networks VALUES (?,?,?,?,?,?,?)", &st, err) < 0)
		return -1;
	sqlite3_bind_text(st, 1, n->name, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, n->mode, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 3, n->pool, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 4, n->uplink, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 5, n->bridge, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 6, n->gateway, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 7, n->created);
	return step_done(s, st, "save network", err);
}

#define NETWORK_COLS "name,mode,pool,uplink,bridge,gateway,created"

static int sq_network_get(struct uh_store *base, const char *name, struct uh_network_rec *n,
			 struct uh_error *err)
{
	struct sq_store *s = (struct sq_store *)base;
	sqlite3_stmt *st;
	int rc;

	if (prepare(s, "SELECT " NETWORK_COLS " FROM networks WHERE name=?", &st, err) < 0)
		return -1;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		network_row(st, n);
	sqlite3_finalize(st);
	if (rc == SQLITE_ROW)
		return 0;
	if (rc == SQLITE_DONE)
		return 1;
	return db_err(s, err, "read network");
}

static int sq_network_del(struct uh_store *base, const char *name, struct uh_error *err)
{
	struct sq_store *s = (struct sq_store *)base;
	sqlite3_stmt *st;

	if (prepare(s, "DELETE FROM networks WHERE name=?", &st, err) < 0)
		return -1;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
	return step_done(s, st, "delete network", err);
}

static int sq_network_list(struct uh_store *base,
			  int (*fn)(const struct uh_network_rec *n, void *arg), void *arg,
			  struct uh_error *err)
{
	struct sq_store *s = (struct sq_store *)base;
	struct uh_network_rec n;
	sqlite3_stmt *st;
	int rc;

	if (prepare(s, "SELECT " NETWORK_COLS " FROM networks ORDER BY name", &st, err) < 0)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		network_row(st, &n);
		if (fn(&n, arg) != 0)
			break;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return db_err(s, err, "list networks");
	return 0;
}

/* ---- customers */

static int sq_customer_put(struct uh_store *base, const struct uh_customer_rec *c,
			   struct uh_error *err)
{
	struct sq_store *s = (struct sq_store *)base;
	sqlite3_stmt *st;
	int rc;

	if (prepare(s, "INSERT INTO customers VALUES (?,?)", &st, err) < 0)
		return -1;
	sqlite3_bind_text(st, 1, c->name, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 2, c->created);
	rc = write_step(s, st);
	if (rc != SQLITE_DONE && sqlite3_extended_errcode(s->db) == SQLITE_CONSTRAINT_PRIMARYKEY) {
		sqlite3_finalize(st);
		return uh_errc(err, EEXIST, "customer '%s' already exists", c->name);
	}
	if (rc != SQLITE_DONE)
		db_err(s, err, "save customer");
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

static int sq_customer_get(struct uh_store *base, const char *name, struct uh_customer_rec *c,
			   struct uh_error *err)
{
	struct sq_store *s = (struct sq_store *)base;
	sqlite3_stmt *st;
	int rc;

	if (prepare(s, "SELECT name,created FROM customers WHERE name=?", &st, err) < 0)
		return -1;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		memset(c, 0, sizeof(*c));
		copy_col(c->name, sizeof(c->name), st, 0);
		c->created = sqlite3_column_int64(st, 1);
	}
	sqlite3_finalize(st);
	if (rc == SQLITE_ROW)
		return 0;
	if (rc == SQLITE_DONE)
		return 1;
	return db_err(s, err, "read customer");
}

static int sq_customer_del(struct uh_store *base, const char *name, struct uh_error *err)
{
	struct sq_store *s = (struct sq_store *)base;
	sqlite3_stmt *st;

	if (prepare(s, "DELETE FROM customers WHERE name=?", &st, err) < 0)
		return -1;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
	return step_done(s, st, "delete customer", err);
}

static int sq_customer_list(struct uh_store *base,
			    int (*fn)(const struct uh_customer_rec *c, void *arg), void *arg,
			    struct uh_error *err)
{
	struct sq_store *s = (struct sq_store *)base;
	struct uh_customer_rec c;
	sqlite3_stmt *st;
	int rc;

	if (prepare(s, "SELECT name,created FROM customers ORDER BY name", &st, err) < 0)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		memset(&c, 0, sizeof(c));
		copy_col(c.name, sizeof(c.name), st, 0);
		c.created = sqlite3_column_int64(st, 1);
		if (fn(&c, arg) != 0)
			break;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return db_err(s, err, "list customers");
	return 0;
}

/* ---- tokens */

#define TOKEN_COLS "id,customer,name,scopes,servers,from_cidrs,hash,expires,created,last_used"

static void token_row(sqlite3_stmt *st, struct uh_token_rec *t)
{
	memset(t, 0, sizeof(*t));
	copy_col(t->id, sizeof(t->id), st, 0);
	copy_col(t->customer, sizeof(t->customer), st, 1);
	copy_col(t->name, sizeof(t->name), st, 2);
	t->scopes = (unsigned int)sqlite3_column_int64(st, 3);
	copy_col(t->servers, sizeof(t->servers), st, 4);
	copy_col(t->from, sizeof(t->from), st, 5);
	copy_col(t->hash, sizeof(t->hash), st, 6);
	t->expires = sqlite3_column_int64(st, 7);
	t->created = sqlite3_column_int64(st, 8);
	t->last_used = sqlite3_column_int64(st, 9);
}

static int sq_token_put(struct uh_store *base, const struct uh_token_rec *t, int replace,
			struct uh_error *err)
{
	struct sq_store *s = (struct sq_store *)base;
	sqlite3_stmt *st;
	int rc;

	if (prepare(s,
		    replace ? "UPDATE tokens SET customer=?2,name=?3,scopes=?4,servers=?5,"
			      "from_cidrs=?6,hash=?7,expires=?8,created=?9,last_used=?10 WHERE id=?1"
			    : "INSERT INTO tokens (" TOKEN_COLS ") VALUES (?1,?2,?3,?4,?5,?6,?7,?8,"
			      "?9,?10)",
		    &st, err) < 0)
		return -1;
	sqlite3_bind_text(st, 1, t->id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, t->customer, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 3, t->name, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 4, (sqlite3_int64)t->scopes);
	sqlite3_bind_text(st, 5, t->servers, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 6, t->from, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 7, t->hash, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 8, t->expires);
	sqlite3_bind_int64(st, 9, t->created);
	sqlite3_bind_int64(st, 10, t->last_used);
	rc = write_step(s, st);
	if (rc != SQLITE_DONE && sqlite3_extended_errcode(s->db) == SQLITE_CONSTRAINT_PRIMARYKEY) {
		sqlite3_finalize(st);
		return uh_errc(err, EEXIST, "token id %s already exists", t->id);
	}
	if (rc != SQLITE_DONE)
		db_err(s, err, "save token");
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

static int sq_token_get(struct uh_store *base, const char *id, struct uh_token_rec *t,
			struct uh_error *err)
{
	struct sq_store *s = (struct sq_store *)base;
	sqlite3_stmt *st;
	int rc;

	if (prepare(s, "SELECT " TOKEN_COLS " FROM tokens WHERE id=?", &st, err) < 0)
		return -1;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		token_row(st, t);
	sqlite3_finalize(st);
	if (rc == SQLITE_ROW)
		return 0;
	if (rc == SQLITE_DONE)
		return 1;
	return db_err(s, err, "read token");
}

static int sq_token_del(struct uh_store *base, const char *id, struct uh_error *err)
{
	struct sq_store *s = (struct sq_store *)base;
	sqlite3_stmt *st;

	if (prepare(s, "DELETE FROM tokens WHERE id=?", &st, err) < 0)
		return -1;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
	return step_done(s, st, "delete token", err);
}

static int sq_token_list(struct uh_store *base, const char *customer,
			 int (*fn)(const struct uh_token_rec *t, void *arg), void *arg,
			 struct uh_error *err)
{
	struct sq_store *s = (struct sq_store *)base;
	struct uh_token_rec t;
	sqlite3_stmt *st;
	int rc;

	if (prepare(s,
		    customer ? "SELECT " TOKEN_COLS " FROM tokens WHERE customer=? ORDER BY created,id"
			     : "SELECT " TOKEN_COLS " FROM tokens ORDER BY created,id",
		    &st, err) < 0)
		return -1;
	if (customer)
		sqlite3_bind_text(st, 1, customer, -1, SQLITE_TRANSIENT);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		token_row(st, &t);
		if (fn(&t, arg) != 0)
			break;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return db_err(s, err, "list tokens");
	return 0;
}

/* ---- kernels */

/* ---- backups */

#define BACKUP_COLS \
	"archive,instance,template,template_version,bytes,sha256,freeze_us,created,owner"

static int sq_backup_put(struct uh_store *base, const struct uh_backup_rec *b, struct uh_error *err)
{
	struct sq_store *s = (struct sq_store *)base;
	sqlite3_stmt *st;

	if (prepare(s, "INSERT OR REPLACE INTO backups (" BACKUP_COLS ") VALUES (?,?,?,?,?,?,?,?,?)",
		    &st, err) < 0)
		return -1;
	sqlite3_bind_text(st, 1, b->archive, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, b->instance, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 3, b->template_name, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(st, 4, b->template_version);
	sqlite3_bind_int64(st, 5, (sqlite3_int64)b->bytes);
	sqlite3_bind_text(st, 6, b->sha256, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 7, b->freeze_us);
	sqlite3_bind_int64(st, 8, b->created);
	sqlite3_bind_text(st, 9, b->owner, -1, SQLITE_TRANSIENT);
	return step_done(s, st, "save backup", err);
}

static int sq_backup_del(struct uh_store *base, const char *archive, struct uh_error *err)
{
	struct sq_store *s = (struct sq_store *)base;
	sqlite3_stmt *st;

	if (prepare(s, "DELETE FROM backups WHERE archive=?", &st, err) < 0)
		return -1;
	sqlite3_bind_text(st, 1, archive, -1, SQLITE_TRANSIENT);
	return step_done(s, st, "delete backup", err);
}

static void backup_row(sqlite3_stmt *st, struct uh_backup_rec *b)
{
	memset(b, 0, sizeof(*b));
	copy_col(b->archive, sizeof(b->archive), st, 0);
	copy_col(b->instance, sizeof(b->instance), st, 1);
	copy_col(b->template_name, sizeof(b->template_name), st, 2);
	b->template_version = sqlite3_column_int(st, 3);
	b->bytes = (uint64_t)sqlite3_column_int64(st, 4);
	copy_col(b->sha256, sizeof(b->sha256), st, 5);
	b->freeze_us = sqlite3_column_int64(st, 6);
	b->created = sqlite3_column_int64(st, 7);
	copy_col(b->owner, sizeof(b->owner), st, 8);
}

static int sq_event_last(struct uh_store *base, int64_t *id, struct uh_error *err)
{
	struct sq_store *s = (struct sq_store *)base;
	sqlite3_stmt *st;
	int rc;

	if (prepare(s, "SELECT COALESCE(MAX(id), 0) FROM events", &st, err) < 0)
		return -1;
	rc = sqlite3_step(st);
	*id = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : db_err(s, err, "newest event");
}

/* ---- stats history */

#define STATS_COLS "instance,owner,ts,rx_bytes,tx_bytes,rx_packets,tx_packets,cpu_ms,memory_bytes"

static int sq_stats_add(struct uh_store *base, const struct uh_stats_rec *r, struct uh_error *err)
{
	struct sq_store *s = (struct sq_store *)base;
	sqlite3_stmt *st;

	if (prepare(s, "INSERT OR REPLACE INTO stats_minute (" STATS_COLS ") VALUES (?,?,?,?,?,?,?,?,?)",
		    &st, err) < 0)
		return -1;
	sqlite3_bind_text(st, 1, r->instance, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, r->owner, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 3, r->ts);
	sqlite3_bind_int64(st, 4, (sqlite3_int64)r->rx_bytes);
	sqlite3_bind_int64(st, 5, (sqlite3_int64)r->tx_bytes);
	sqlite3_bind_int64(st, 6, (sqlite3_int64)r->rx_packets);
	sqlite3_bind_int64(st, 7, (sqlite3_int64)r->tx_packets);
	sqlite3_bind_int64(st, 8, (sqlite3_int64)r->cpu_ms);
	sqlite3_bind_int64(st, 9, (sqlite3_int64)r->memory_bytes);
	return step_done(s, st, "save stats", err);
}

static int sq_stats_rollup(struct uh_store *base, int64_t hour_start, struct uh_error *err)
{
	struct sq_store *s = (struct sq_store *)base;
	sqlite3_stmt *st;

	if (prepare(s, "INSERT OR REPLACE INTO stats_hour (" STATS_COLS ") SELECT instance, owner, ?1,"
		       " SUM(rx_bytes), SUM(tx_bytes), SUM(rx_packets), SUM(tx_packets), SUM(cpu_ms),"
		       " MAX(memory_bytes) FROM stats_minute WHERE ts >= ?1 AND ts < ?1 + 3600"
		       " GROUP BY instance, owner",
		    &st, err) < 0)
		return -1;
	sqlite3_bind_int64(st, 1, hour_start);
	return step_done(s, st, "roll up stats", err);
}

static int sq_stats_prune(struct uh_store *base, int64_t minute_before, int64_t hour_before,
			  struct uh_error *err)
{
	struct sq_store *s = (struct sq_store *)base;
	sqlite3_stmt *st;

	if (prepare(s, "DELETE FROM stats_minute WHERE ts < ?", &st, err) < 0)
		return -1;
	sqlite3_bind_int64(st, 1, minute_before);
	if (step_done(s, st, "prune stats", err) < 0 ||
	    prepare(s, "DELETE FROM stats_hour WHERE ts < ?", &st, err) < 0)
		return -1;
	sqlite3_bind_int64(st, 1, hour_before);
	return step_done(s, st, "prune stats", err);
}

static int sq_stats_list(struct uh_store *base, const char *instance, const char *owner,
			 int hourly, int64_t since, int (*fn)(const struct uh_stats_rec *r, void *arg), void *arg,
			 struct uh_error *err)
{
	struct sq_store *s = (struct sq_store *)base;
	struct uh_stats_rec r;
	sqlite3_stmt *st;
	int rc;

	if (prepare(s, hourly ? "SELECT " STATS_COLS " FROM stats_hour WHERE instance = ? AND"
				" owner = ? AND ts >= ? ORDER BY ts"
			      : "SELECT " STATS_COLS " FROM stats_minute WHERE instance = ? AND"
				" owner = ? AND ts >= ? ORDER BY ts",
		    &st, err) < 0)
		return -1;
	sqlite3_bind_text(st, 1, instance, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, owner, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 3, since);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		memset(&r, 0, sizeof(r));
		copy_col(r.instance, sizeof(r.instance), st, 0);
		copy_col(r.owner, sizeof(r.owner), st, 1);
		r.ts = sqlite3_column_int64(st, 2);
		r.rx_bytes = (uint64_t)sqlite3_column_int64(st, 3);
		r.tx_bytes = (uint64_t)sqlite3_column_int64(st, 4);
		r.rx_packets = (uint64_t)sqlite3_column_int64(st, 5);
		r.tx_packets = (uint64_t)sqlite3_column_int64(st, 6);
		r.cpu_ms = (uint64_t)sqlite3_column_int64(st, 7);
		r.memory_bytes = (uint64_t)sqlite3_column_int64(st, 8);
		if (fn(&r, arg) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return db_err(s, err, "list stats");
	return 0;
}

static int sq_backup_get(struct uh_store *base, const char *archive, struct uh_backup_rec *b,
			struct uh_error *err)
{
	struct sq_store *s = (struct sq_store *)base;
	sqlite3_stmt *st;
	int rc;

	if (prepare(s, "SELECT " BACKUP_COLS " FROM backups WHERE archive=?", &st, err) < 0)
		return -1;
	sqlite3_bind_text(st, 1, archive, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		backup_row(st, b);
	sqlite3_finalize(st);
	if (rc == SQLITE_ROW)
		return 0;
	if (rc == SQLITE_DONE)
		return 1;
	return db_err(s, err, "get backup");
}

static int sq_backup_list(struct uh_store *base, int (*fn)(const struct uh_backup_rec *b, void *arg),
			 void *arg, struct uh_error *err)
{
	struct sq_store *s = (struct sq_store *)base;
	struct uh_backup_rec b;
	sqlite3_stmt *st;
	int rc;

	if (prepare(s, "SELECT " BACKUP_COLS " FROM backups ORDER BY instance, archive", &st,
		    err) < 0)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		backup_row(st, &b);
		if (fn(&b, arg) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return db_err(s, err, "list backups");
	return 0;
}

#define KERNEL_COLS "name,path,source,release,fragment_sha256,created"

static void kernel_row(sqlite3_stmt *st, struct uh_kernel_rec *k)
{
	memset(k, 0, sizeof(*k));
	copy_col(k->name, sizeof(k->name), st, 0);
	copy_col(k->path, sizeof(k->path), st, 1);
	copy_col(k->source, sizeof(k->source), st, 2);
	copy_col(k->release, sizeof(k->release), st, 3);
	copy_col(k->fragment_sha256, sizeof(k->fragment_sha256), st, 4);
	k->created = sqlite3_column_int64(st, 5);
}

static int sq_kernel_put(struct uh_store *base, const struct uh_kernel_rec *k, struct uh_error *err)
{
	struct sq_store *s = (struct sq_store *)base;
	sqlite3_stmt *st;

	if (prepare(s, "INSERT OR REPLACE INTO kernels (" KERNEL_COLS ") VALUES (?,?,?,?,?,?)", &st,
		    err) < 0)
		return -1;
	sqlite3_bind_text(st, 1, k->name, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, k->path, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 3, k->source, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 4, k->release, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 5, k->fragment_sha256, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 6, k->created);
	return step_done(s, st, "save kernel", err);
}

static int sq_kernel_get(struct uh_store *base, const char *name, struct uh_kernel_rec *k,
			struct uh_error *err)
{
	struct sq_store *s = (struct sq_store *)base;
	sqlite3_stmt *st;
	int rc;

	if (prepare(s, "SELECT " KERNEL_COLS " FROM kernels WHERE name=?", &st, err) < 0)
		return -1;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		kernel_row(st, k);
	sqlite3_finalize(st);
	if (rc == SQLITE_ROW)
		return 0;
	if (rc == SQLITE_DONE)
		return 1;
	return db_err(s, err, "read kernel");
}

static int sq_kernel_del(struct uh_store *base, const char *name, struct uh_error *err)
{
	struct sq_store *s = (struct sq_store *)base;
	sqlite3_stmt *st;

	if (prepare(s, "DELETE FROM kernels WHERE name=?", &st, err) < 0)
		return -1;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
	return step_done(s, st, "delete kernel", err);
}

static int sq_kernel_list(struct uh_store *base, int (*fn)(const struct uh_kernel_rec *k, void *arg),
			 void *arg, struct uh_error *err)
{
	struct sq_store *s = (struct sq_store *)base;
	struct uh_kernel_rec k;
	sqlite3_stmt *st;
	int rc;

	if (prepare(s, "SELECT " KERNEL_COLS " FROM kernels ORDER BY created, name", &st, err) < 0)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		kernel_row(st, &k);
		if (fn(&k, arg) != 0)
			break;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return db_err(s, err, "list kernels");
	return 0;
}

/* ---- events */

static int sq_event_add(struct uh_store *base, struct uh_event_rec *ev, struct uh_error *err)
{
	struct sq_store *s = (struct sq_store *)base;
	sqlite3_stmt *st;

	if (prepare(s, "INSERT INTO events (ts_ms,instance,type,message,owner) VALUES (?,?,?,?,?)",
		    &st, err) < 0)
		return -1;
	sqlite3_bind_text(st, 5, ev->owner, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 1, ev->ts_ms);
	sqlite3_bind_text(st, 2, ev->instance, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 3, ev->type, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 4, ev->message, -1, SQLITE_TRANSIENT);
	if (step_done(s, st, "add event", err) < 0)
		return -1;
	ev->id = sqlite3_last_insert_rowid(s->db);
	return 0;
}

static int sq_event_prune(struct uh_store *base, int keep, int64_t before_ms, int *deleted,
			 struct uh_error *err)
{
	struct sq_store *s = (struct sq_store *)base;
	sqlite3_stmt *st;

	/* ids only grow: the newest `keep` are the ids above max(id) - keep */
	if (prepare(s, "DELETE FROM events WHERE id <= (SELECT COALESCE(MAX(id), 0) FROM events) - ? "
		       "OR ts_ms < ?",
		    &st, err) < 0)
		return -1;
	sqlite3_bind_int(st, 1, keep);
	sqlite3_bind_int64(st, 2, before_ms);
	if (step_done(s, st, "prune events", err) < 0)
		return -1;
	*deleted = sqlite3_changes(s->db);
	return 0;
}

static int sq_event_list(struct uh_store *base, int64_t since_id, int limit,
			int (*fn)(const struct uh_event_rec *ev, void *arg), void *arg,
			struct uh_error *err)
{
	struct sq_store *s = (struct sq_store *)base;
	struct uh_event_rec ev;
	sqlite3_stmt *st;
	int rc;

	if (prepare(s, "SELECT id,ts_ms,instance,type,message,owner FROM events WHERE id>? ORDER BY id "
		       "LIMIT ?",
		    &st, err) < 0)
		return -1;
	sqlite3_bind_int64(st, 1, since_id);
	sqlite3_bind_int(st, 2, limit);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		memset(&ev, 0, sizeof(ev));
		ev.id = sqlite3_column_int64(st, 0);
		ev.ts_ms = sqlite3_column_int64(st, 1);
		copy_col(ev.instance, sizeof(ev.instance), st, 2);
		copy_col(ev.type, sizeof(ev.type), st, 3);
		copy_col(ev.message, sizeof(ev.message), st, 4);
		copy_col(ev.owner, sizeof(ev.owner), st, 5);
		if (fn(&ev, arg) != 0)
			break;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return db_err(s, err, "list events");
	return 0;
}

static const struct uh_store_ops sq_ops = {
	.name = "sqlite",
	.set_full_hook = sq_set_full_hook,
	.close = sq_close,
	.begin = sq_begin,
	.commit = sq_commit,
	.rollback = sq_rollback,
	.template_put = sq_template_put,
	.template_get = sq_template_get,
	.template_del = sq_template_del,
	.template_list = sq_template_list,
	.instance_put = sq_instance_put,
	.instance_rename = sq_instance_rename,
	.instance_get = sq_instance_get,
	.instance_del = sq_instance_del,
	.instance_list = sq_instance_list,
	.network_put = sq_network_put,
	.network_get = sq_network_get,
	.network_del = sq_network_del,
	.network_list = sq_network_list,
	.backup_put = sq_backup_put,
	.backup_del = sq_backup_del,
	.backup_get = sq_backup_get,
	.backup_list = sq_backup_list,
	.kernel_put = sq_kernel_put,
	.kernel_get = sq_kernel_get,
	.kernel_del = sq_kernel_del,
	.kernel_list = sq_kernel_list,
	.customer_put = sq_customer_put,
	.customer_get = sq_customer_get,
	.customer_del = sq_customer_del,
	.customer_list = sq_customer_list,
	.token_put = sq_token_put,
	.token_get = sq_token_get,
	.token_del = sq_token_del,
	.token_list = sq_token_list,
	.stats_add = sq_stats_add,
	.stats_rollup = sq_stats_rollup,
	.stats_prune = sq_stats_prune,
	.stats_list = sq_stats_list,
	.event_add = sq_event_add,
	.event_last = sq_event_last,
	.event_prune = sq_event_prune,
	.event_list = sq_event_list,
};
