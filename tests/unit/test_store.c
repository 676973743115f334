/* The SQLite store against a real database file: round trips, missing keys, events, and
 * persistence across close/open. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "store/store.h"

static char dir[] = "/tmp/uh-storetest.XXXXXX";
static char path[256];

static int count_events(const struct uh_event_rec *ev, void *arg)
{
	(*(int *)arg)++;
	return 0;
}

static int name_list(const struct uh_instance_rec *r, void *arg)
{
	strcat(arg, r->name);
	strcat(arg, ",");
	return 0;
}

static void test_roundtrip(void **state)
{
	struct uh_store *s;
	struct uh_error err;
	struct uh_instance_rec r = {0}, back;
	struct uh_template_rec t = {0}, tb;
	struct uh_event_rec ev = {0};
	char names[256] = "";
	int n = 0;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/state.db", dir);
	assert_int_equal(uh_store_open(path, &s, &err), 0);

	strcpy(t.name, "base");
	strcpy(t.path, "/var/lib/umlhost/templates/base.img");
	t.size = 1 << 30;
	t.mtime = 1795938839;
	assert_int_equal(uh_store_template_put(s, &t, &err), 0);
	assert_int_equal(uh_store_template_get(s, "base", 0, &tb, &err), 0);
	assert_string_equal(tb.path, t.path);
	assert_int_equal(tb.size, 1 << 30);
	assert_int_equal(tb.mtime, 1795938839);
	assert_int_equal(uh_store_template_get(s, "nosuch", 0, &tb, &err), 1);

	strcpy(r.name, "web2");
	strcpy(r.template_name, "base");
	strcpy(r.state, "running");
	strcpy(r.restart, "on-failure");
	r.memory_mib = 256;
	r.pid = 4242;
	r.pid_start = 123456789012ULL;
	assert_int_equal(uh_store_instance_put(s, &r, &err), 0);
	strcpy(r.name, "web1");
	r.rev = 0; /* another record: created, not an update */
	assert_int_equal(uh_store_instance_put(s, &r, &err), 0);
	assert_int_equal(uh_store_instance_list(s, name_list, names, &err), 0);
	assert_string_equal(names, "web1,web2,"); /* in name order */

	/* a transaction that is rolled back leaves nothing */
	assert_int_equal(uh_store_begin(s, &err), 0);
	strcpy(r.name, "ghost");
	r.rev = 0;
	assert_int_equal(uh_store_instance_put(s, &r, &err), 0);
	uh_store_rollback(s);
	assert_int_equal(uh_store_instance_get(s, "ghost", &back, &err), 1);

	strcpy(ev.instance, "web1");
	strcpy(ev.type, "started");
	assert_int_equal(uh_store_event_add(s, &ev, &err), 0);
	assert_true(ev.id > 0);
	assert_int_equal(uh_store_event_add(s, &ev, &err), 0);
	assert_int_equal(uh_store_event_list(s, 0, 100, count_events, &n, &err), 0);
	assert_int_equal(n, 2);
	uh_store_close(s);

	/* everything is still there after reopening */
	assert_int_equal(uh_store_open(path, &s, &err), 0);
	assert_int_equal(uh_store_instance_get(s, "web2", &back, &err), 0);
	assert_int_equal(back.pid, 4242);
	assert_int_equal(back.pid_start, 123456789012ULL);
	assert_int_equal(back.memory_mib, 256);
	assert_string_equal(back.restart, "on-failure");
	assert_int_equal(uh_store_instance_del(s, "web2", &err), 0);
	assert_int_equal(uh_store_instance_get(s, "web2", &back, &err), 1);
	n = 0;
	assert_int_equal(uh_store_event_list(s, ev.id - 1, 100, count_events, &n, &err), 0);
	assert_int_equal(n, 1);
	uh_store_close(s);
}

/* Addresses are never given twice, and an update of the same instance is no clash. */
static void test_networks(void **state)
{
	struct uh_store *s;
	struct uh_error err;
	struct uh_instance_rec a = {0}, b = {0}, back;
	struct uh_network_rec n = {0}, nb;

	snprintf(path, sizeof(path), "%s/net.db", dir);
	assert_int_equal(uh_store_open(path, &s, &err), 0);
	strcpy(n.name, "pub");
	strcpy(n.mode, "routed");
	strcpy(n.pool, "192.0.2.16/28");
	strcpy(n.uplink, "eth0");
	assert_int_equal(uh_store_network_put(s, &n, &err), 0);
	assert_int_equal(uh_store_network_get(s, "pub", &nb, &err), 0);
	assert_string_equal(nb.pool, "192.0.2.16/28");
	assert_string_equal(nb.uplink, "eth0");
	assert_int_equal(uh_store_network_get(s, "nosuch", &nb, &err), 1);

	strcpy(a.name, "a1");
	strcpy(a.network, "pub");
	strcpy(a.ip, "192.0.2.17");
	strcpy(a.mac, "02:75:c0:00:02:11");
	strcpy(a.tap, "uh-c0000211");
	a.net_total[UH_NET_TX_BYTES] = 5000000000ULL;
	a.tap_seen[UH_NET_RX_PACKETS] = 7;
	assert_int_equal(uh_store_instance_put(s, &a, &err), 0);
	a.restarts = 3; /* an update is no clash with itself */
	assert_int_equal(uh_store_instance_put(s, &a, &err), 0);
	b = a;
	strcpy(b.name, "a2");
	b.rev = 0;
	assert_int_equal(uh_store_instance_put(s, &b, &err), -1);
	assert_int_equal(err.errnum, EEXIST);
	assert_non_null(strstr(err.msg, "192.0.2.17 is already taken"));
	/* the clash deleted nothing (INSERT OR REPLACE would have removed a1) */
	assert_int_equal(uh_store_instance_get(s, "a1", &back, &err), 0);
	assert_int_equal(back.restarts, 3);
	assert_string_equal(back.tap, "uh-c0000211");
	assert_int_equal(back.net_total[UH_NET_TX_BYTES], 5000000000ULL);
	assert_int_equal(back.tap_seen[UH_NET_RX_PACKETS], 7);
	/* instances without a network do not clash on the empty address */
	memset(&b, 0, sizeof(b));
	strcpy(b.name, "n1");
	assert_int_equal(uh_store_instance_put(s, &b, &err), 0);
	strcpy(b.name, "n2");
	b.rev = 0;
	assert_int_equal(uh_store_instance_put(s, &b, &err), 0);
	assert_int_equal(uh_store_network_del(s, "pub", &err), 0);
	assert_int_equal(uh_store_network_get(s, "pub", &nb, &err), 1);
	uh_store_close(s);
}

static int count_backup(const struct uh_backup_rec *b, void *arg)
{
	int *n = arg;

	if (strcmp(b->instance, "web1") == 0 && b->template_version == 3 && b->bytes == 12345 &&
	    b->freeze_us == 650)
		(*n)++;
	return 0;
}

/* The backups the daemon made: recorded, listed, forgotten. */
static void test_backups(void **state)
{
	struct uh_store *s;
	struct uh_error err;
	struct uh_backup_rec b = {0};
	int n = 0;

	snprintf(path, sizeof(path), "%s/backups.db", dir);
	assert_int_equal(uh_store_open(path, &s, &err), 0);
	strcpy(b.archive, "sftp://root@192.0.2.9/srv/web1/web1-20261129T120000Z.tar.zst");
	strcpy(b.instance, "web1");
	strcpy(b.template_name, "deb");
	b.template_version = 3;
	b.bytes = 12345;
	strcpy(b.sha256, "ab");
	b.freeze_us = 650;
	b.created = 1;
	assert_int_equal(uh_store_backup_put(s, &b, &err), 0);
	assert_int_equal(uh_store_backup_put(s, &b, &err), 0); /* the same archive: one row */
	assert_int_equal(uh_store_backup_list(s, count_backup, &n, &err), 0);
	assert_int_equal(n, 1);
	{
		struct uh_backup_rec g;

		assert_int_equal(uh_store_backup_get(s, b.archive, &g, &err), 0);
		assert_int_equal(g.freeze_us, 650);
		assert_int_equal(uh_store_backup_get(s, "/nope", &g, &err), 1);
	}
	assert_int_equal(uh_store_backup_del(s, b.archive, &err), 0);
	n = 0;
	assert_int_equal(uh_store_backup_list(s, count_backup, &n, &err), 0);
	assert_int_equal(n, 0);
	uh_store_close(s);
}

/* A version-2 database (session 1's schema) is upgraded in place, keeping its rows. */
/* A put is a compare-and-swap on the record's revision: what a second writer (another host,
 * later) would see when it read a record before someone else wrote it. */
static void test_revisions(void **state)
{
	struct uh_store *s;
	struct uh_error err;
	struct uh_instance_rec mine = {0}, theirs, back;

	snprintf(path, sizeof(path), "%s/rev.db", dir);
	assert_int_equal(uh_store_open(path, &s, &err), 0);
	assert_string_equal(uh_store_backend(s), "sqlite");
	strcpy(mine.name, "web1");
	strcpy(mine.state, "stopped");
	/* rev 0 creates, once */
	assert_int_equal(uh_store_instance_put(s, &mine, &err), 0);
	assert_int_equal(mine.rev, 1);
	theirs = mine;
	theirs.rev = 0;
	assert_int_equal(uh_store_instance_put(s, &theirs, &err), -1);
	assert_int_equal(err.errnum, ESTALE);
	assert_non_null(strstr(err.msg, "'web1' is already in the state database"));
	/* both read revision 1; the first write wins, the second loses and changes nothing */
	assert_int_equal(uh_store_instance_get(s, "web1", &theirs, &err), 0);
	assert_int_equal(theirs.rev, 1);
	strcpy(theirs.state, "running");
	assert_int_equal(uh_store_instance_put(s, &theirs, &err), 0);
	assert_int_equal(theirs.rev, 2);
	strcpy(mine.state, "crashed");
	assert_int_equal(uh_store_instance_put(s, &mine, &err), -1);
	assert_int_equal(err.errnum, ESTALE);
	assert_non_null(strstr(err.msg, "changed in the state database by someone else (revision "
					"2 there, 1 here)"));
	assert_int_equal(mine.rev, 1);
	assert_int_equal(uh_store_instance_get(s, "web1", &back, &err), 0);
	assert_string_equal(back.state, "running");
	assert_int_equal(back.rev, 2);
	/* read again, then it lands */
	mine.rev = back.rev;
	assert_int_equal(uh_store_instance_put(s, &mine, &err), 0);
	assert_int_equal(mine.rev, 3);
	/* a record removed meanwhile is not brought back by a late write */
	assert_int_equal(uh_store_instance_del(s, "web1", &err), 0);
	assert_int_equal(uh_store_instance_put(s, &mine, &err), -1);
	assert_int_equal(err.errnum, ESTALE);
	assert_non_null(strstr(err.msg, "removed from the state database"));
	assert_int_equal(uh_store_instance_get(s, "web1", &back, &err), 1);
	uh_store_close(s);
}

/* the fleet file's mark round-trips; a rename moves the row, its disk path and its traffic
 * history in one transaction (over a deleted server's history under the new name; backups
 * stay under the old name), refuses a taken name and a stale revision, and changes nothing
 * then */
static int stats_sum(const struct uh_stats_rec *r, void *arg);

static void test_managed_rename(void **state)
{
	struct uh_store *s;
	struct uh_error err;
	struct uh_instance_rec r = {0}, other = {0}, back;
	struct uh_backup_rec b = {0}, g;

	snprintf(path, sizeof(path), "%s/rename.db", dir);
	assert_int_equal(uh_store_open(path, &s, &err), 0);
	strcpy(r.name, "b06");
	strcpy(r.state, "stopped");
	strcpy(r.disk, "/s/instances/b06/disk.cow");
	r.managed = 1;
	r.reclaim_mib = -1; /* schema 14: each server's reclaim setting */
	assert_int_equal(uh_store_instance_put(s, &r, &err), 0);
	strcpy(other.name, "taken");
	strcpy(other.state, "stopped");
	assert_int_equal(uh_store_instance_put(s, &other, &err), 0);
	strcpy(b.archive, "/b/b06-1.tar.zst");
	strcpy(b.instance, "b06");
	assert_int_equal(uh_store_backup_put(s, &b, &err), 0);
	{
		struct uh_stats_rec mine = {.instance = "b06", .owner = "bob", .ts = 60, .rx_bytes = 7};
		struct uh_stats_rec gone = {.instance = "shop", .owner = "bob", .ts = 60, .rx_bytes = 9};

		assert_int_equal(uh_store_stats_add(s, &mine, &err), 0);
		assert_int_equal(uh_store_stats_add(s, &gone, &err), 0);
	}
	assert_int_equal(uh_store_instance_get(s, "b06", &back, &err), 0);
	assert_int_equal(back.managed, 1);
	assert_int_equal(back.reclaim_mib, -1);

	assert_int_equal(uh_store_instance_rename(s, &r, "taken", "/x", &err), -1);
	assert_int_equal(err.errnum, EEXIST);
	assert_int_equal(r.rev, 1);
	back = r;
	back.rev = 7;
	assert_int_equal(uh_store_instance_rename(s, &back, "shop", "/x", &err), -1);
	assert_int_equal(err.errnum, ESTALE);
	assert_int_equal(uh_store_instance_get(s, "shop", &back, &err), 1);

	assert_int_equal(uh_store_instance_rename(s, &r, "shop", "/s/instances/shop/disk.cow", &err),
			 0);
	assert_int_equal(r.rev, 2);
	assert_int_equal(uh_store_instance_get(s, "b06", &back, &err), 1);
	assert_int_equal(uh_store_instance_get(s, "shop", &back, &err), 0);
	assert_string_equal(back.disk, "/s/instances/shop/disk.cow");
	assert_int_equal(back.managed, 1);
	assert_int_equal(back.rev, 2);
	assert_int_equal(uh_store_backup_get(s, "/b/b06-1.tar.zst", &g, &err), 0);
	assert_string_equal(g.instance, "b06");
	{
		uint64_t sum[4] = {0};

		assert_int_equal(uh_store_stats_list(s, "shop", "bob", 0, 0, stats_sum, sum, &err), 0);
		assert_int_equal(sum[0], 7); /* b06's minute, the old shop's gone */
		assert_int_equal(sum[3], 1);
	}
	uh_store_close(s);
}

static int event_owner(const struct uh_event_rec *ev, void *arg)
{
	strcpy(arg, ev->owner);
	return 0;
}

static void test_migration(void **state)
{
	struct uh_store *s;
	struct uh_error err;
	struct uh_instance_rec back;
	char cmd[1024];

	snprintf(path, sizeof(path), "%s/v2.db", dir);
	snprintf(cmd, sizeof(cmd),
		 "sqlite3 %s \"CREATE TABLE instances (name TEXT PRIMARY KEY, template TEXT NOT NULL,"
		 " kernel TEXT NOT NULL, restart TEXT NOT NULL, state TEXT NOT NULL, disk TEXT NOT "
		 "NULL, kernel_args TEXT NOT NULL, memory_mib INTEGER NOT NULL, autostart INTEGER NOT "
		 "NULL, pid INTEGER NOT NULL, pid_start INTEGER NOT NULL, monitor_pid INTEGER NOT "
		 "NULL, restarts INTEGER NOT NULL, uid INTEGER NOT NULL, started_at INTEGER NOT NULL,"
		 " created INTEGER NOT NULL, cpu_quota INTEGER NOT NULL DEFAULT 0, pids_max INTEGER "
		 "NOT NULL DEFAULT 0); INSERT INTO instances VALUES ('old','base','stock','no',"
		 "'stopped','/d','',128,0,0,0,0,0,200000,0,1,0,0); PRAGMA user_version=2;\"",
		 path);
	if (system("command -v sqlite3 >/dev/null") != 0)
		fail_msg("sqlite3 (the CLI) is needed for the migration test");
	assert_int_equal(system(cmd), 0);
	assert_int_equal(uh_store_open(path, &s, &err), 0);
	assert_int_equal(uh_store_instance_get(s, "old", &back, &err), 0);
	assert_int_equal(back.uid, 200000);
	assert_string_equal(back.network, "");
	assert_string_equal(back.owner, "provider"); /* what existed is the provider's */
	strcpy(back.ip, "192.0.2.20");
	assert_int_equal(uh_store_instance_put(s, &back, &err), 0);
	assert_int_equal(back.rev, 2); /* migrated rows are revision 1 */
	strcpy(back.name, "new");
	back.rev = 0;
	assert_int_equal(uh_store_instance_put(s, &back, &err), -1); /* the index exists */
	assert_int_equal(err.errnum, EEXIST);
	{
		struct uh_backup_rec b = {0};
		int n = 0;

		strcpy(b.archive, "/x/web1-20261129T120000Z.tar.zst");
		strcpy(b.instance, "web1");
		b.template_version = 3;
		b.bytes = 12345;
		b.freeze_us = 650;
		assert_int_equal(uh_store_backup_put(s, &b, &err), 0); /* the table exists */
		assert_int_equal(uh_store_backup_list(s, count_backup, &n, &err), 0);
		assert_int_equal(n, 1);
	}
	{
		struct uh_customer_rec c = {.name = "alice", .created = 5};
		struct uh_event_rec ev = {.ts_ms = 1, .instance = "old", .type = "t",
					  .owner = "alice"};
		char owner[UH_KEY_MAX] = "";

		assert_int_equal(uh_store_customer_put(s, &c, &err), 0); /* the tables exist */
		assert_int_equal(uh_store_event_add(s, &ev, &err), 0);	 /* events.owner too */
		assert_int_equal(uh_store_event_list(s, 0, 10, event_owner, owner, &err), 0);
		assert_string_equal(owner, "alice");
	}
	uh_store_close(s);
}

/* 11 -> 12: a backups table without owners keeps its rows (owner '': the provider's alone);
 * new rows keep theirs; the stats tables exist. */
static void test_migration_12(void **state)
{
	struct uh_store *s;
	struct uh_error err;
	struct uh_backup_rec b = {0}, g;
	struct uh_stats_rec r = {.instance = "web1", .owner = "alice", .ts = 60};
	char cmd[1024];

	snprintf(path, sizeof(path), "%s/v11.db", dir);
	snprintf(cmd, sizeof(cmd),
		 "sqlite3 %s \"CREATE TABLE backups (archive TEXT PRIMARY KEY, instance TEXT NOT "
		 "NULL, template TEXT NOT NULL, template_version INTEGER NOT NULL, bytes INTEGER NOT "
		 "NULL, sha256 TEXT NOT NULL, freeze_us INTEGER NOT NULL, created INTEGER NOT NULL);"
		 " INSERT INTO backups VALUES ('/b/web1-1.tar.zst','web1','deb',1,10,'ab',5,7);"
		 " PRAGMA user_version=11;\"",
		 path);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(uh_store_open(path, &s, &err), 0);
	assert_int_equal(uh_store_backup_get(s, "/b/web1-1.tar.zst", &g, &err), 0);
	assert_string_equal(g.owner, "");
	strcpy(b.archive, "/b/web1-2.tar.zst");
	strcpy(b.instance, "web1");
	strcpy(b.owner, "alice");
	assert_int_equal(uh_store_backup_put(s, &b, &err), 0);
	assert_int_equal(uh_store_backup_get(s, b.archive, &g, &err), 0);
	assert_string_equal(g.owner, "alice");
	assert_int_equal(uh_store_stats_add(s, &r, &err), 0);
	uh_store_close(s);
}

static int stats_sum(const struct uh_stats_rec *r, void *arg)
{
	uint64_t *sum = arg;

	sum[0] += r->rx_bytes;
	sum[1] += r->cpu_ms;
	sum[2] = sum[2] > r->memory_bytes ? sum[2] : r->memory_bytes;
	sum[3]++;
	return 0;
}

/* the history: minutes by owner, an hour summed from its minutes (twice: the same), pruning */
static void test_stats(void **state)
{
	struct uh_store *s;
	struct uh_error err;
	uint64_t sum[4];
	int64_t hour = 7200;

	snprintf(path, sizeof(path), "%s/stats.db", dir);
	assert_int_equal(uh_store_open(path, &s, &err), 0);
	for (int m = 0; m < 60; m++) {
		struct uh_stats_rec r = {.instance = "web1", .owner = "alice", .ts = hour + 60 * m,
					 .rx_bytes = 100, .cpu_ms = 10, .memory_bytes = 1000 + m};

		assert_int_equal(uh_store_stats_add(s, &r, &err), 0);
		strcpy(r.owner, "bob"); /* the same server after a chown */
		r.rx_bytes = 1;
		assert_int_equal(uh_store_stats_add(s, &r, &err), 0);
	}
	memset(sum, 0, sizeof(sum));
	assert_int_equal(uh_store_stats_list(s, "web1", "alice", 0, 0, stats_sum, sum, &err), 0);
	assert_int_equal(sum[0], 6000);
	assert_int_equal(sum[3], 60);
	memset(sum, 0, sizeof(sum));
	assert_int_equal(uh_store_stats_list(s, "web1", "alice", 0, hour + 1800, stats_sum, sum,
					     &err), 0);
	assert_int_equal(sum[3], 30); /* from `since` on */
	assert_int_equal(uh_store_stats_rollup(s, hour, &err), 0);
	assert_int_equal(uh_store_stats_rollup(s, hour, &err), 0);
	memset(sum, 0, sizeof(sum));
	assert_int_equal(uh_store_stats_list(s, "web1", "alice", 1, 0, stats_sum, sum, &err), 0);
	assert_int_equal(sum[3], 1);
	assert_int_equal(sum[0], 6000);
	assert_int_equal(sum[1], 600);
	assert_int_equal(sum[2], 1059); /* the most memory held */
	memset(sum, 0, sizeof(sum));
	assert_int_equal(uh_store_stats_list(s, "web1", "bob", 1, 0, stats_sum, sum, &err), 0);
	assert_int_equal(sum[0], 60);
	memset(sum, 0, sizeof(sum));
	assert_int_equal(uh_store_stats_list(s, "web1", "carol", 0, 0, stats_sum, sum, &err), 0);
	assert_int_equal(sum[3], 0);
	assert_int_equal(uh_store_stats_prune(s, hour + 1800, hour + 1, &err), 0);
	memset(sum, 0, sizeof(sum));
	assert_int_equal(uh_store_stats_list(s, "web1", "alice", 0, 0, stats_sum, sum, &err), 0);
	assert_int_equal(sum[3], 30);
	memset(sum, 0, sizeof(sum));
	assert_int_equal(uh_store_stats_list(s, "web1", "alice", 1, 0, stats_sum, sum, &err), 0);
	assert_int_equal(sum[3], 0);
	uh_store_close(s);
}

static int token_ids(const struct uh_token_rec *t, void *arg)
{
	strcat(arg, t->id);
	strcat(arg, ",");
	return 0;
}

static int customer_names(const struct uh_customer_rec *c, void *arg)
{
	strcat(arg, c->name);
	strcat(arg, ",");
	return 0;
}

/* customers and tokens: create once, list, get, update (last use), delete; owners kept */
static void test_access(void **state)
{
	struct uh_store *s;
	struct uh_error err;
	struct uh_customer_rec c = {.name = "bob", .created = 7}, cb;
	struct uh_token_rec t = {.id = "aaaaaaaaaa", .customer = "bob", .name = "ci",
				 .scopes = 3, .servers = "web1", .from = "203.0.113.0/24",
				 .hash = "00ff", .expires = 99, .created = 9};
	struct uh_token_rec tb;
	struct uh_instance_rec r = {0}, rb;
	char list[256] = "";

	snprintf(path, sizeof(path), "%s/access.db", dir);
	assert_int_equal(uh_store_open(path, &s, &err), 0);
	assert_int_equal(uh_store_customer_put(s, &c, &err), 0);
	assert_int_equal(uh_store_customer_put(s, &c, &err), -1);
	assert_int_equal(err.errnum, EEXIST);
	assert_string_equal(err.msg, "customer 'bob' already exists");
	strcpy(c.name, "alice");
	assert_int_equal(uh_store_customer_put(s, &c, &err), 0);
	assert_int_equal(uh_store_customer_list(s, customer_names, list, &err), 0);
	assert_string_equal(list, "alice,bob,");
	assert_int_equal(uh_store_customer_get(s, "bob", &cb, &err), 0);
	assert_int_equal(cb.created, 7);
	assert_int_equal(uh_store_customer_get(s, "carol", &cb, &err), 1);

	assert_int_equal(uh_store_token_put(s, &t, 0, &err), 0);
	assert_int_equal(uh_store_token_put(s, &t, 0, &err), -1); /* create only */
	assert_int_equal(err.errnum, EEXIST);
	strcpy(t.id, "bbbbbbbbbb");
	strcpy(t.customer, "alice");
	t.created = 10;
	assert_int_equal(uh_store_token_put(s, &t, 0, &err), 0);
	list[0] = '\0';
	assert_int_equal(uh_store_token_list(s, NULL, token_ids, list, &err), 0);
	assert_string_equal(list, "aaaaaaaaaa,bbbbbbbbbb,");
	list[0] = '\0';
	assert_int_equal(uh_store_token_list(s, "bob", token_ids, list, &err), 0);
	assert_string_equal(list, "aaaaaaaaaa,");
	assert_int_equal(uh_store_token_get(s, "aaaaaaaaaa", &tb, &err), 0);
	assert_string_equal(tb.customer, "bob");
	assert_string_equal(tb.servers, "web1");
	assert_string_equal(tb.from, "203.0.113.0/24");
	assert_string_equal(tb.hash, "00ff");
	assert_int_equal(tb.scopes, 3);
	assert_int_equal(tb.expires, 99);
	tb.last_used = 1234;
	assert_int_equal(uh_store_token_put(s, &tb, 1, &err), 0); /* update */
	assert_int_equal(uh_store_token_get(s, "aaaaaaaaaa", &tb, &err), 0);
	assert_int_equal(tb.last_used, 1234);
	assert_int_equal(uh_store_token_del(s, "aaaaaaaaaa", &err), 0);
	assert_int_equal(uh_store_token_get(s, "aaaaaaaaaa", &tb, &err), 1);

	strcpy(r.name, "w1");
	strcpy(r.owner, "bob");
	assert_int_equal(uh_store_instance_put(s, &r, &err), 0);
	strcpy(r.name, "w2");
	r.owner[0] = '\0'; /* none given: the provider's */
	r.rev = 0;
	assert_int_equal(uh_store_instance_put(s, &r, &err), 0);
	assert_int_equal(uh_store_instance_get(s, "w1", &rb, &err), 0);
	assert_string_equal(rb.owner, "bob");
	assert_int_equal(uh_store_instance_get(s, "w2", &rb, &err), 0);
	assert_string_equal(rb.owner, "provider");
	uh_store_close(s);
}

static int teardown(void **state)
{
	char cmd[300];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_networks),
		cmocka_unit_test(test_backups),
		cmocka_unit_test(test_revisions),
		cmocka_unit_test(test_migration),
		cmocka_unit_test(test_access),
		cmocka_unit_test(test_migration_12),
		cmocka_unit_test(test_stats),
		cmocka_unit_test(test_managed_rename),
	};
	return cmocka_run_group_tests(tests, NULL, teardown);
}
