/* The SQLite implementation of store.h. One connection, WAL journal, synchronous=FULL: a
 * crash at any instant leaves the old or the new state. */
#include "store/store.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct uh_store {
	sqlite3 *db;
	char *path;
};

static const char schema[] =
	"CREATE TABLE IF NOT EXISTS templates ("
	"  name TEXT PRIMARY KEY, path TEXT NOT NULL, size INTEGER NOT NULL,"
	"  mtime INTEGER NOT NULL, created INTEGER NOT NULL);"
	"CREATE TABLE IF NOT EXISTS instances ("
	"  name TEXT PRIMARY KEY, template TEXT NOT NULL, kernel TEXT NOT NULL,"
	"  restart TEXT NOT NULL, state TEXT NOT NULL, disk TEXT NOT NULL,"
	"  kernel_args TEXT NOT NULL, memory_mib INTEGER NOT NULL, autostart INTEGER NOT NULL,"
	"  pid INTEGER NOT NULL, pid_start INTEGER NOT NULL, monitor_pid INTEGER NOT NULL,"
	"  restarts INTEGER NOT NULL, uid INTEGER NOT NULL, started_at INTEGER NOT NULL,"
	"  created INTEGER NOT NULL, cpu_quota INTEGER NOT NULL DEFAULT 0,"
	"  pids_max INTEGER NOT NULL DEFAULT 0);"
	"CREATE TABLE IF NOT EXISTS events ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT, ts_ms INTEGER NOT NULL,"
	"  instance TEXT NOT NULL, type TEXT NOT NULL, message TEXT NOT NULL);"
	"";

/* Schema upgrades, each from the version before it. */
static const char *const migrations[] = {
	/* 1 -> 2: cgroup limits */
	"ALTER TABLE instances ADD COLUMN cpu_quota INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE instances ADD COLUMN pids_max INTEGER NOT NULL DEFAULT 0;",
};
#define SCHEMA_VERSION 2

static int db_err(struct uh_store *s, struct uh_error *err, const char *what)
{
	return uh_errx(err, "state database %s: %s: %s", s->path, what, sqlite3_errmsg(s->db));
}

static int exec(struct uh_store *s, const char *sql, struct uh_error *err)
{
	char *msg = NULL;

	if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		uh_errx(err, "state database %s: %s", s->path, msg ? msg : "error");
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

int uh_store_open(const char *path, struct uh_store **out, struct uh_error *err)
{
	struct uh_store *s = calloc(1, sizeof(*s));

	if (s == NULL || (s->path = strdup(path)) == NULL)
		abort();
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
		if (exec(s, "BEGIN IMMEDIATE", err) < 0 || exec(s, schema, err) < 0)
			goto fail;
		if (fresh)
			version = SCHEMA_VERSION; /* the CREATE statements are the newest schema */
		for (; version < SCHEMA_VERSION; version++)
			if (exec(s, migrations[version - 1], err) < 0) {
				uh_store_rollback(s);
				goto fail;
			}
		{
			char sql[64];
			snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", SCHEMA_VERSION);
			if (exec(s, sql, err) < 0 || exec(s, "COMMIT", err) < 0)
				goto fail;
		}
	}
	*out = s;
	return 0;
fail:
	uh_store_close(s);
	return -1;
}

void uh_store_close(struct uh_store *s)
{
	if (s == NULL)
		return;
	sqlite3_close(s->db);
	free(s->path);
	free(s);
}

int uh_store_begin(struct uh_store *s, struct uh_error *err)
{
	return exec(s, "BEGIN IMMEDIATE", err);
}

int uh_store_commit(struct uh_store *s, struct uh_error *err)
{
	return exec(s, "COMMIT", err);
}

void uh_store_rollback(struct uh_store *s)
{
	sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
}

static int prepare(struct uh_store *s, const char *sql, sqlite3_stmt **st, struct uh_error *err)
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
static int step_done(struct uh_store *s, sqlite3_stmt *st, const char *what,
		     struct uh_error *err)
{
	int rc = sqlite3_step(st);

	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return db_err(s, err, what);
	return 0;
}

/* ---- templates */

static void template_row(sqlite3_stmt *st, struct uh_template_rec *t)
{
	memset(t, 0, sizeof(*t));
	copy_col(t->name, sizeof(t->name), st, 0);
	copy_col(t->path, sizeof(t->path), st, 1);
	t->size = (uint64_t)sqlite3_column_int64(st, 2);
	t->mtime = sqlite3_column_int64(st, 3);
	t->created = sqlite3_column_int64(st, 4);
}

int uh_store_template_put(struct uh_store *s, const struct uh_template_rec *t,
			  struct uh_error *err)
{
	sqlite3_stmt *st;

	if (prepare(s, "INSERT OR REPLACE INTO templates VALUES (?,?,?,?,?)", &st, err) < 0)
		return -1;
	sqlite3_bind_text(st, 1, t->name, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, t->path, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)t->size);
	sqlite3_bind_int64(st, 4, t->mtime);
	sqlite3_bind_int64(st, 5, t->created);
	return step_done(s, st, "save template", err);
}

int uh_store_template_get(struct uh_store *s, const char *name, struct uh_template_rec *t,
			  struct uh_error *err)
{
	sqlite3_stmt *st;
	int rc;

	if (prepare(s, "SELECT name,path,size,mtime,created FROM templates WHERE name=?", &st,
		    err) < 0)
		return -1;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
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

int uh_store_template_del(struct uh_store *s, const char *name, struct uh_error *err)
{
	sqlite3_stmt *st;

	if (prepare(s, "DELETE FROM templates WHERE name=?", &st, err) < 0)
		return -1;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
	return step_done(s, st, "delete template", err);
}

int uh_store_template_list(struct uh_store *s,
			   int (*fn)(const struct uh_template_rec *t, void *arg), void *arg,
			   struct uh_error *err)
{
	struct uh_template_rec t;
	sqlite3_stmt *st;
	int rc;

	if (prepare(s, "SELECT name,path,size,mtime,created FROM templates ORDER BY name", &st,
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
	"monitor_pid,restarts,uid,started_at,created,cpu_quota,pids_max"

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
}

int uh_store_instance_put(struct uh_store *s, const struct uh_instance_rec *r,
			  struct uh_error *err)
{
	sqlite3_stmt *st;

	if (prepare(s, "INSERT OR REPLACE INTO instances (" INSTANCE_COLS ") VALUES "
		       "(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
		    &st, err) < 0)
		return -1;
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
	return step_done(s, st, "save instance", err);
}

int uh_store_instance_get(struct uh_store *s, const char *name, struct uh_instance_rec *r,
			  struct uh_error *err)
{
	sqlite3_stmt *st;
	int rc;

	if (prepare(s, "SELECT " INSTANCE_COLS " FROM instances WHERE name=?", &st, err) < 0)
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

int uh_store_instance_del(struct uh_store *s, const char *name, struct uh_error *err)
{
	sqlite3_stmt *st;

	if (prepare(s, "DELETE FROM instances WHERE name=?", &st, err) < 0)
		return -1;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
	return step_done(s, st, "delete instance", err);
}

int uh_store_instance_list(struct uh_store *s,
			   int (*fn)(const struct uh_instance_rec *r, void *arg), void *arg,
			   struct uh_error *err)
{
	struct uh_instance_rec r;
	sqlite3_stmt *st;
	int rc;

	if (prepare(s, "SELECT " INSTANCE_COLS " FROM instances ORDER BY name", &st, err) < 0)
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

/* ---- events */

int uh_store_event_add(struct uh_store *s, struct uh_event_rec *ev, struct uh_error *err)
{
	sqlite3_stmt *st;

	if (prepare(s, "INSERT INTO events (ts_ms,instance,type,message) VALUES (?,?,?,?)", &st,
		    err) < 0)
		return -1;
	sqlite3_bind_int64(st, 1, ev->ts_ms);
	sqlite3_bind_text(st, 2, ev->instance, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 3, ev->type, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 4, ev->message, -1, SQLITE_TRANSIENT);
	if (step_done(s, st, "add event", err) < 0)
		return -1;
	ev->id = sqlite3_last_insert_rowid(s->db);
	return 0;
}

int uh_store_event_list(struct uh_store *s, int64_t since_id, int limit,
			int (*fn)(const struct uh_event_rec *ev, void *arg), void *arg,
			struct uh_error *err)
{
	struct uh_event_rec ev;
	sqlite3_stmt *st;
	int rc;

	if (prepare(s, "SELECT id,ts_ms,instance,type,message FROM events WHERE id>? ORDER BY id "
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
		if (fn(&ev, arg) != 0)
			break;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return db_err(s, err, "list events");
	return 0;
}
