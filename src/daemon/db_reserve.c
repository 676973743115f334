/* The state database's reserve: a file beside the database holding real blocks (fallocate),
 * DB_RESERVE_FILE, a quarter of disk_reserve (at most 64 MiB). When a write to the database
 * finds the filesystem full, the store calls db_reserve_release(): the file is emptied and the
 * write tried once more, so what just happened to an instance is still recorded and memory
 * and database stay equal. While the reserve is spent, work that needs space is refused
 * (uh_space_check), and every RESERVE_CHECK_MS it is taken again once there is room
 * (disk_reserve free beside it), with an event either way. A write that fails even so fails the operation that asked for it. */
#include "daemon/daemon.h"
#include "util/cleanup.h"
#include "util/fileio.h"
#include "util/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DB_RESERVE_FILE "db-reserve"
#define DB_RESERVE_MAX (64ULL << 20)
#define RESERVE_CHECK_MS 5000

static uint64_t reserve_size(const struct uh_daemon *d)
{
	uint64_t want = (d->cfg.disk_reserve_mib << 20) / 4;

	return want < DB_RESERVE_MAX ? want : DB_RESERVE_MAX;
}

static void reserve_path(const struct uh_daemon *d, char *p, size_t len)
{
	snprintf(p, len, "%.4000s/" DB_RESERVE_FILE, d->cfg.state_dir);
}

/* Hold the reserve (again): 0 held, -1 not (no room yet, or disk_reserve is 0). */
static int take(struct uh_daemon *d)
{
	char p[PATH_MAX];
	uint64_t size = reserve_size(d);
	struct stat st;
	uh_autoclose int fd = -1;
	int r;

	if (size == 0)
		return -1;
	reserve_path(d, p, sizeof(p));
	fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) == 0 && (uint64_t)st.st_blocks * 512 >= size)
		return 0;
	r = fallocate(fd, 0, 0, (off_t)size);
	if (r == 0)
		r = fsync(fd);
	if (r < 0)
		(void)!ftruncate(fd, 0); /* half a reserve is no reserve: give it back */
	return r < 0 ? -1 : 0;
}

/* The store's hook (store.h): the filesystem is full. Only files and a log line here: the
 * event is written later (tick), not from inside a failing write. */
static int db_reserve_release(void *arg)
{
	struct uh_daemon *d = arg;
	char p[PATH_MAX];
	struct stat st;

	reserve_path(d, p, sizeof(p));
	if (stat(p, &st) < 0 || st.st_blocks == 0)
		return 0;
	if (truncate(p, 0) < 0)
		return 0;
	d->reserve_spent = 1;
	d->reserve_reported = 0;
	uh_warnx("the state filesystem is full: released the database's reserve (%lld MiB) to "
		 "record the state; free space under %s",
		 (long long)(st.st_blocks * 512) >> 20, d->cfg.state_dir);
	return 1;
}

static int room(const struct uh_daemon *d)
{
	struct uh_error err;
	uint64_t avail;

	return uh_fs_free(d->cfg.state_dir, &avail, &err) == 0 &&
	       avail >= (d->cfg.disk_reserve_mib << 20) + reserve_size(d);
}

static void tick(void *arg)
{
	struct uh_daemon *d = arg;

	d->reserve_timer = uh_loop_after(d->loop, RESERVE_CHECK_MS, tick, d);
	if (d->reserve_spent && !d->reserve_reported) {
		d->reserve_reported = 1;
		uh_daemon_event(d, "", "state-reserve-used",
				"the state filesystem %s filled up: its reserve for the database was "
				"used; work that needs space is refused until there is room",
				d->cfg.state_dir);
	}
	/* taken again only with room to spare (disk_reserve free beside it): taking the last
	 * free blocks would only make the next write fail again */
	if (d->reserve_spent && room(d) && take(d) == 0) {
		d->reserve_spent = 0;
		uh_daemon_event(d, "", "state-reserve-restored",
				"the state filesystem %s has room again: the database's reserve is "
				"held again",
				d->cfg.state_dir);
	}
}

void uh_db_reserve_init(struct uh_daemon *d)
{
	if (reserve_size(d) > 0 && take(d) < 0) {
		d->reserve_spent = 1;
		uh_warnx("cannot hold the database's reserve under %s (full?): work that needs "
			 "space is refused until there is room",
			 d->cfg.state_dir);
	}
	uh_store_set_full_hook(d->store, db_reserve_release, d);
	d->reserve_timer = uh_loop_after(d->loop, RESERVE_CHECK_MS, tick, d);
}

int uh_space_check(struct uh_daemon *d, const char *what, struct uh_error *err)
{
	uint64_t avail;

	if (uh_fs_free(d->cfg.state_dir, &avail, err) < 0)
		return uh_err_prefix(err, "%s", what);
	if (d->reserve_spent || avail < (d->cfg.disk_reserve_mib << 20))
		return uh_errc(err, ENOSPC,
			       "%s: the state filesystem %s has %lluM free, less than it keeps "
			       "(disk_reserve %lluM)%s; free space there first",
			       what, d->cfg.state_dir, (unsigned long long)(avail >> 20),
			       (unsigned long long)d->cfg.disk_reserve_mib,
			       d->reserve_spent ? " and the database's reserve is spent" : "");
	return 0;
}
