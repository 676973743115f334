/* Templates: read-only ext4 images that instances' COW files sit on. An import copies the
 * image into the state dir (holes stay holes), makes it read-only and keeps its mtime: every
 * COW pins the backing file's size and mtime, so the copy is never touched again. */
#include "daemon/daemon.h"
#include "util/cleanup.h"
#include "util/fileio.h"
#include "util/sparse_copy.h"
#include "util/validate.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define EXT_SUPER_OFFSET 1024
#define EXT_MAGIC_OFFSET (EXT_SUPER_OFFSET + 56)

static int is_ext_image(int fd)
{
	unsigned char m[2];

	if (uh_pread_full(fd, m, 2, EXT_MAGIC_OFFSET) != 2)
		return 0;
	return m[0] == 0x53 && m[1] == 0xef; /* 0xEF53, little endian */
}

static json_t *template_json(const struct uh_template_rec *t, struct uh_daemon *d)
{
	json_t *users = json_array();
	struct uh_instance *i;

	for (i = d->instances; i; i = i->next)
		if (strcmp(i->rec.template_name, t->name) == 0)
			json_array_append_new(users, json_string(i->rec.name));
	return json_pack("{s:s, s:s, s:I, s:I, s:o}", "name", t->name, "path", t->path, "size",
			 (json_int_t)t->size, "mtime", (json_int_t)t->mtime, "instances", users);
}

int uh_template_import(struct uh_daemon *d, const char *name, const char *image, uid_t caller,
		       json_t **out, struct uh_error *err)
{
	struct uh_template_rec t = {0};
	struct uh_tmpfile tmp;
	uh_autoclose int in = -1;
	char dir[PATH_MAX];
	struct timespec times[2];
	struct stat st;
	int r;

	if (uh_validate_name("template", name, err) < 0)
		return -1;
	if (image == NULL || image[0] != '/')
		return uh_errx(err, "template %s: the image path must be absolute", name);
	r = uh_store_template_get(d->store, name, &t, err);
	if (r < 0)
		return -1;
	if (r == 0)
		return uh_errc(err, EEXIST, "template '%s' already exists", name);
	in = open(image, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (in < 0)
		return uh_err(err, errno, "template %s: open %s", name, image);
	if (fstat(in, &st) < 0)
		return uh_err(err, errno, "template %s: stat %s", name, image);
	if (!S_ISREG(st.st_mode))
		return uh_errx(err, "template %s: %s is not a regular file", name, image);
	/* the daemon reads as root: only hand out what the caller could read itself */
	if (caller != 0 && st.st_uid != caller && !(st.st_mode & S_IROTH))
		return uh_errc(err, EACCES, "template %s: permission denied reading %s", name,
			       image);
	if (!is_ext_image(in))
		return uh_errx(err, "template %s: %s is not an ext2/3/4 filesystem image", name,
			       image);

	snprintf(dir, sizeof(dir), "%.4000s/templates", d->cfg.state_dir);
	snprintf(t.name, sizeof(t.name), "%.32s", name);
	snprintf(t.path, sizeof(t.path), "%.4000s/%.32s.img", dir, name);
	if (access(t.path, F_OK) == 0)
		return uh_errc(err, EEXIST, "template %s: %s already exists", name, t.path);
	if (uh_tmpfile_open(&tmp, t.path, 0444, err) < 0)
		return uh_err_prefix(err, "template %s", name);
	if (ftruncate(tmp.fd, st.st_size) < 0) {
		uh_err(err, errno, "template %s: size the copy", name);
		goto fail;
	}
	if (uh_copy_data_extents(in, tmp.fd, (uint64_t)st.st_size, err) < 0) {
		uh_err_prefix(err, "template %s: copy %s", name, image);
		goto fail;
	}
	times[0] = st.st_atim;
	times[1] = st.st_mtim;
	if (futimens(tmp.fd, times) < 0) {
		uh_err(err, errno, "template %s: keep the mtime", name);
		goto fail;
	}
	if (uh_tmpfile_commit_noreplace(&tmp, err) < 0)
		goto fail;
	uh_tmpfile_discard(&tmp);
	t.size = (uint64_t)st.st_size;
	t.mtime = st.st_mtim.tv_sec;
	t.created = time(NULL);
	if (uh_store_template_put(d->store, &t, err) < 0) {
		unlink(t.path);
		return -1;
	}
	uh_daemon_event(d, "-", "template-imported", "%s from %s", name, image);
	*out = template_json(&t, d);
	return 0;
fail:
	uh_tmpfile_discard(&tmp);
	return -1;
}

int uh_template_remove(struct uh_daemon *d, const char *name, struct uh_error *err)
{
	struct uh_template_rec t;
	struct uh_instance *i;
	int r;

	if (uh_validate_name("template", name, err) < 0)
		return -1;
	r = uh_store_template_get(d->store, name, &t, err);
	if (r < 0)
		return -1;
	if (r == 1)
		return uh_errc(err, ENOENT, "no template named '%s'", name);
	for (i = d->instances; i; i = i->next)
		if (strcmp(i->rec.template_name, name) == 0)
			return uh_errc(err, EBUSY, "template '%s' is used by instance %s; delete "
						   "its instances first",
				       name, i->rec.name);
	if (uh_store_template_del(d->store, name, err) < 0)
		return -1;
	if (unlink(t.path) < 0 && errno != ENOENT)
		uh_err(err, errno, "remove %s", t.path); /* the row is gone; report, go on */
	uh_daemon_event(d, "-", "template-removed", "%s", name);
	return 0;
}

struct list_ctx {
	struct uh_daemon *d;
	json_t *arr;
};

static int list_one(const struct uh_template_rec *t, void *arg)
{
	struct list_ctx *c = arg;

	json_array_append_new(c->arr, template_json(t, c->d));
	return 0;
}

json_t *uh_template_list(struct uh_daemon *d, struct uh_error *err)
{
	struct list_ctx c = {.d = d, .arr = json_array()};

	if (uh_store_template_list(d->store, list_one, &c, err) < 0) {
		json_decref(c.arr);
		return NULL;
	}
	return c.arr;
}
