/* Data disks (`create --disk FILE`): an admin names a host file that becomes one customer's
 * writable disk, owned by that instance's uid. Only a file made for that may be given away:
 * one under disk_dir (default <state>/disks), reached without a symlink, with no other
 * name (a hard link to a template or a disk would hand that over), and not a file umlhost
 * already uses (a template, an instance's disk, the state database). Every check is made on
 * the open file (openat2 beneath disk_dir, fstat), and the file is given away through the
 * same descriptor: never a path looked up twice. */
#include "daemon/daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/log.h"

struct same_file {
	dev_t dev;
	ino_t ino;
	const char *what; /* set when found */
	char name[96];
};

static void compare(struct same_file *f, const char *path, const char *what, const char *name)
{
	struct stat st;

	if (f->what == NULL && path[0] && stat(path, &st) == 0 && st.st_dev == f->dev &&
	    st.st_ino == f->ino) {
		f->what = what;
		snprintf(f->name, sizeof(f->name), "%s", name);
	}
}

static int compare_template(const struct uh_template_rec *t, void *arg)
{
	compare(arg, t->path, "template", t->name);
	return 0;
}

/* Is the file (dev, ino) one umlhost uses already? */
static const char *used_by(struct uh_daemon *d, const char *self, dev_t dev, ino_t ino,
			   char *name, size_t len)
{
	struct same_file f = {dev, ino, NULL, ""};
	struct uh_instance *i;
	struct uh_error err;
	char path[PATH_MAX + 16];

	snprintf(path, sizeof(path), "%.4000s/state.db", d->cfg.state_dir);
	compare(&f, path, "the state database", "state.db");
	if (uh_store_template_list(d->store, compare_template, &f, &err) < 0)
		uh_warnx("data disks: %s", err.msg);
	for (i = d->instances; i && f.what == NULL; i = i->next) {
		char copy[sizeof(i->rec.disks)], *p, *save = NULL;

		compare(&f, i->rec.disk, "the disk of instance", i->rec.name);
		if (strcmp(i->rec.name, self) == 0)
			continue; /* its own data disks, given again at a restart of create */
		snprintf(copy, sizeof(copy), "%s", i->rec.disks);
		for (p = strtok_r(copy, " ", &save); p; p = strtok_r(NULL, " ", &save))
			compare(&f, p, "a data disk of instance", i->rec.name);
	}
	snprintf(name, len, "%s", f.name);
	return f.what;
}

int uh_data_disk_open(struct uh_daemon *d, const char *self, const char *path,
		      struct uh_error *err)
{
	struct open_how how = {
		.flags = O_RDWR | O_CLOEXEC | O_NOCTTY | O_NONBLOCK,
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
	};
	const char *dir = d->cfg.disk_dir, *rel, *what;
	size_t n = strlen(dir);
	uh_autoclose int dfd = -1;
	uh_autoclose int fd = -1;
	struct stat st;
	char name[96];

	while (n > 1 && dir[n - 1] == '/')
		n--;
	if (path[0] != '/' || strncmp(path, dir, n) != 0 || path[n] != '/' || path[n + 1] == '\0')
		return uh_errc(err, EACCES, "--disk %s is not under %.*s (disk_dir): data disks "
					    "live there",
			       path, (int)n, dir);
	rel = path + n + 1;
	dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return uh_err(err, errno, "--disk: disk_dir %s", dir);
	fd = (int)syscall(SYS_openat2, dfd, rel, &how, sizeof(how));
	if (fd < 0 && errno == ELOOP)
		return uh_errc(err, EACCES, "--disk %s is or passes through a symlink", path);
	if (fd < 0 && errno == EXDEV)
		return uh_errc(err, EACCES, "--disk %s leaves %s", path, dir);
	if (fd < 0)
		return uh_err(err, errno, "--disk %s", path);
	if (fstat(fd, &st) < 0)
		return uh_err(err, errno, "--disk %s", path);
	if (!S_ISREG(st.st_mode) || st.st_size < 512 || st.st_size % 512)
		return uh_errx(err, "--disk %s is not a regular file of whole 512-byte sectors",
			       path);
	what = used_by(d, self, st.st_dev, st.st_ino, name, sizeof(name));
	if (what)
		return uh_errc(err, EBUSY, "--disk %s is %s %s", path, what, name);
	if (st.st_nlink != 1)
		return uh_errc(err, EACCES,
			       "--disk %s has %ju names (hard links): give a file of its own", path,
			       (uintmax_t)st.st_nlink);
	return uh_steal_fd(&fd);
}
