#include "backup/archive.h"
#include "util/fileio.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <nettle/sha2.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define CHUNK (1 << 20)
#define MANIFEST "manifest.json"

static void hex(const uint8_t d[SHA256_DIGEST_SIZE], char out[UH_SHA256_HEX])
{
	for (int i = 0; i < SHA256_DIGEST_SIZE; i++)
		snprintf(out + 2 * i, 3, "%02x", d[i]);
}

/* A member's digest: its data in offset order, and before each run of data that does not
 * follow the previous one, the run's offset (8 bytes, big-endian). A file without holes
 * hashes like sha256sum; moving data to another offset changes the digest. */
struct digest {
	struct sha256_ctx sha;
	uint64_t next;
};

static void digest_init(struct digest *d)
{
	sha256_init(&d->sha);
	d->next = 0;
}

static void digest_block(struct digest *d, uint64_t off, const void *buf, size_t len)
{
	if (off != d->next) {
		uint8_t be[8];

		for (int i = 0; i < 8; i++)
			be[i] = (uint8_t)(off >> (56 - 8 * i));
		sha256_update(&d->sha, sizeof(be), be);
	}
	sha256_update(&d->sha, len, buf);
	d->next = off + len;
}

static void digest_hex(struct digest *d, char out[UH_SHA256_HEX])
{
	uint8_t digest[SHA256_DIGEST_SIZE];

	sha256_digest(&d->sha, SHA256_DIGEST_SIZE, digest);
	hex(digest, out);
}

struct sink {
	const struct uh_backup_sink *out;
	struct sha256_ctx sha;
	uint64_t bytes;
	struct uh_error err; /* of a failed write (ENOSPC) */
	int failed;
};

static const volatile sig_atomic_t *cancel_flag;

void uh_backup_set_cancel(const volatile sig_atomic_t *flag)
{
	cancel_flag = flag;
}

static int cancelled(struct uh_error *err)
{
	return cancel_flag && *cancel_flag ? uh_errc(err, ECANCELED, "cancelled") : 0;
}

static la_ssize_t sink_write(struct archive *a, void *arg, const void *buf, size_t len)
{
	struct sink *s = arg;

	if (cancelled(&s->err) < 0 || s->out->write(s->out->ctx, buf, len, &s->err) < 0) {
		s->failed = 1;
		archive_set_error(a, s->err.errnum ? s->err.errnum : EIO, "%s", s->err.msg);
		return -1;
	}
	sha256_update(&s->sha, len, buf);
	s->bytes += len;
	return (la_ssize_t)len;
}

static int fd_write(void *ctx, const void *buf, size_t len, struct uh_error *err)
{
	if (uh_write_full(*(int *)ctx, buf, len) < 0)
		return uh_err(err, errno, "write");
	return 0;
}

static int la_err(struct archive *a, struct uh_error *err, const char *what, const char *name)
{
	int e = archive_errno(a);

	return uh_errc(err, e > 0 ? e : EIO, "%s %s: %s", what, name,
		       archive_error_string(a) ? archive_error_string(a) : "archive error");
}

static int feed_hole(struct archive *a, off_t len, const char *name, struct uh_error *err)
{
	static const char zeros[CHUNK];

	while (len > 0) {
		size_t n = (size_t)(len < CHUNK ? len : CHUNK);

		if (archive_write_data(a, zeros, n) != (la_ssize_t)n)
			return la_err(a, err, "backup: write", name);
		len -= (off_t)n;
	}
	return 0;
}

/* A host file as a sparse member: its data extents and their digest (a hole is not hashed,
 * so a 10 GiB disk costs what its data costs). */
static int add_file(struct archive *a, const struct uh_backup_member *m, json_t *list,
		    struct uh_error *err)
{
	struct archive_entry *e = NULL;
	struct digest dg;
	char hexd[UH_SHA256_HEX];
	int fd = open(m->path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	char *buf = NULL;
	off_t pos = 0, data, hole;
	uint64_t data_bytes = 0;
	int ret = -1;

	if (fd < 0 || fstat(fd, &st) < 0) {
		uh_err(err, errno, "backup: read %s", m->path);
		goto out;
	}
	e = archive_entry_new();
	archive_entry_set_pathname(e, m->name);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0600);
	archive_entry_set_size(e, st.st_size);
	archive_entry_set_mtime(e, st.st_mtime, 0);
	/* the sparse map first: libarchive writes it into the pax header */
	while (pos < st.st_size && (data = lseek(fd, pos, SEEK_DATA)) >= 0) {
		hole = lseek(fd, data, SEEK_HOLE);
		if (hole < 0)
			hole = st.st_size;
		archive_entry_sparse_add_entry(e, data, hole - data);
		pos = hole;
	}
	if (archive_write_header(a, e) != ARCHIVE_OK) {
		la_err(a, err, "backup: write header of", m->name);
		goto out;
	}
	buf = malloc(CHUNK);
	if (buf == NULL)
		abort();
	digest_init(&dg);
	pos = 0;
	while (pos < st.st_size && (data = lseek(fd, pos, SEEK_DATA)) >= 0) {
		hole = lseek(fd, data, SEEK_HOLE);
		if (hole < 0)
			hole = st.st_size;
		/* libarchive's pax writer takes the logical stream and drops what falls in the
		 * map's holes itself: it is handed zeros there, which it never copies */
		if (feed_hole(a, data - pos, m->name, err) < 0)
			goto out;
		for (off_t o = data; o < hole;) {
			size_t want = (size_t)(hole - o < CHUNK ? hole - o : CHUNK);
			ssize_t got = uh_pread_full(fd, buf, want, o);

			if (got <= 0) {
				uh_err(err, got < 0 ? errno : EIO, "backup: read %s", m->path);
				goto out;
			}
			digest_block(&dg, (uint64_t)o, buf, (size_t)got);
			if (archive_write_data(a, buf, (size_t)got) != got) {
				la_err(a, err, "backup: write", m->name);
				goto out;
			}
			o += got;
			data_bytes += (uint64_t)got;
		}
		pos = hole;
	}
	if (feed_hole(a, st.st_size - pos, m->name, err) < 0)
		goto out;
	digest_hex(&dg, hexd);
	json_object_set_new(list, m->name,
			    json_pack("{s:I, s:I, s:s}", "size", (json_int_t)st.st_size,
				      "data_bytes", (json_int_t)data_bytes, "sha256", hexd));
	ret = 0;
out:
	free(buf);
	if (e)
		archive_entry_free(e);
	if (fd >= 0)
		close(fd);
	return ret;
}

static int add_text(struct archive *a, const char *name, const char *text, json_t *list,
		    struct uh_error *err)
{
	struct archive_entry *e = archive_entry_new();
	size_t n = strlen(text);
	struct sha256_ctx sha;
	uint8_t digest[SHA256_DIGEST_SIZE];
	char hexd[UH_SHA256_HEX];
	int ret = -1;

	archive_entry_set_pathname(e, name);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0600);
	archive_entry_set_size(e, (la_int64_t)n);
	archive_entry_set_mtime(e, time(NULL), 0);
	if (archive_write_header(a, e) != ARCHIVE_OK ||
	    (n && archive_write_data(a, text, n) != (la_ssize_t)n)) {
		la_err(a, err, "backup: write", name);
		goto out;
	}
	if (list) {
		sha256_init(&sha);
		sha256_update(&sha, n, (const uint8_t *)text);
		sha256_digest(&sha, SHA256_DIGEST_SIZE, digest);
		hex(digest, hexd);
		json_object_set_new(list, name,
				    json_pack("{s:I, s:I, s:s}", "size", (json_int_t)n,
					      "data_bytes", (json_int_t)n, "sha256", hexd));
	}
	ret = 0;
out:
	archive_entry_free(e);
	return ret;
}

int uh_backup_write_to(const struct uh_backup_sink *out, const char *label,
		       const struct uh_backup_member *members, int n, json_t *extra,
		       char sha256[UH_SHA256_HEX], uint64_t *bytes, struct uh_error *err)
{
	struct sink s = {.out = out};
	struct archive *a = archive_write_new();
	json_t *manifest = NULL, *list = json_object();
	char *text = NULL;
	uint8_t digest[SHA256_DIGEST_SIZE];
	int i, ret = -1;

	sha256_init(&s.sha);
	if (archive_write_set_format_pax_restricted(a) != ARCHIVE_OK ||
	    archive_write_add_filter_zstd(a) != ARCHIVE_OK ||
	    archive_write_set_bytes_in_last_block(a, 1) != ARCHIVE_OK ||
	    archive_write_open2(a, &s, NULL, sink_write, NULL, NULL) != ARCHIVE_OK) {
		la_err(a, err, "backup: open", label);
		goto out;
	}
	for (i = 0; i < n; i++) {
		int r = members[i].path ? add_file(a, &members[i], list, err)
					: add_text(a, members[i].name, members[i].text, list, err);
		if (r < 0)
			goto out;
	}
	manifest = extra ? json_deep_copy(extra) : json_object();
	json_object_set_new(manifest, "format", json_string("umlhost-backup-1"));
	json_object_set_new(manifest, "members", list);
	list = NULL;
	text = json_dumps(manifest, JSON_INDENT(2) | JSON_SORT_KEYS);
	if (add_text(a, MANIFEST, text, NULL, err) < 0)
		goto out;
	if (archive_write_close(a) != ARCHIVE_OK) {
		la_err(a, err, "backup: finish", label);
		goto out;
	}
	if (s.failed)
		goto out;
	sha256_digest(&s.sha, SHA256_DIGEST_SIZE, digest);
	hex(digest, sha256);
	*bytes = s.bytes;
	ret = 0;
out:
	archive_write_free(a);
	/* the sink's own error (ENOSPC, a lost connection) says more than libarchive's echo */
	if (ret < 0 && s.failed)
		uh_errc(err, s.err.errnum ? s.err.errnum : EIO, "backup: write %s: %s", label,
			s.err.msg);
	json_decref(manifest);
	json_decref(list);
	free(text);
	return ret;
}

int uh_backup_write(const char *out_path, const struct uh_backup_member *members, int n,
		    json_t *extra, char sha256[UH_SHA256_HEX], uint64_t *bytes,
		    struct uh_error *err)
{
	struct uh_tmpfile tmp;
	struct uh_backup_sink sink = {fd_write, &tmp.fd};
	int ret = -1;

	if (uh_tmpfile_open(&tmp, out_path, 0600, err) < 0)
		return uh_err_prefix(err, "backup");
	if (uh_backup_write_to(&sink, out_path, members, n, extra, sha256, bytes, err) < 0)
		goto out;
	if (uh_tmpfile_commit_noreplace(&tmp, err) < 0) {
		uh_err_prefix(err, "backup");
		goto out;
	}
	ret = 0;
out:
	uh_tmpfile_discard(&tmp);
	return ret;
}


/* The source, hashed as it is read: the archive's own sha256 comes out of a verify. */
struct reader {
	struct uh_backup_source *src;
	struct sha256_ctx sha;
};

static la_ssize_t source_read(struct archive *a, void *arg, const void **buf)
{
	struct reader *r = arg;
	struct uh_error e;
	ssize_t n = cancelled(&e) < 0 ? -1
				      : r->src->read(r->src->ctx, r->src->buf, sizeof(r->src->buf), &e);

	if (n < 0) {
		archive_set_error(a, e.errnum ? e.errnum : EIO, "%s", e.msg);
		return -1;
	}
	sha256_update(&r->sha, (size_t)n, (const uint8_t *)r->src->buf);
	*buf = r->src->buf;
	return n;
}

static ssize_t fd_read(void *ctx, void *buf, size_t len, struct uh_error *err)
{
	ssize_t n;

	do
		n = read(*(int *)ctx, buf, len);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return uh_err(err, errno, "read");
	return n;
}

int uh_backup_read(const char *path, const char *restore_dir, uint64_t reserve,
		   json_t **manifest, char archive_sha[UH_SHA256_HEX], struct uh_error *err)
{
	struct uh_backup_source *src = calloc(1, sizeof(*src));
	int fd = open(path, O_RDONLY | O_CLOEXEC), ret;

	if (src == NULL)
		abort();
	*manifest = NULL;
	if (fd < 0) {
		free(src);
		return uh_err(err, errno, "backup: open %s", path);
	}
	src->read = fd_read;
	src->ctx = &fd;
	ret = uh_backup_read_from(src, path, restore_dir, reserve, manifest, archive_sha, err);
	close(fd);
	free(src);
	return ret;
}

int uh_backup_manifest_check(const char *text, size_t len, const struct uh_backup_seen *seen,
			     int nseen, const char *label, json_t **manifest, struct uh_error *err)
{
	json_t *man, *members, *m;
	const char *key;

	*manifest = NULL;
	man = text ? json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL) : NULL;
	members = json_object_get(man, "members");
	if (!json_is_object(members)) {
		json_decref(man);
		return uh_errx(err, "backup %s: no valid %s", label, MANIFEST);
	}
	/* every member listed is there with its size and digest, and nothing else is */
	json_object_foreach(members, key, m) {
		json_t *size = json_object_get(m, "size");
		const char *sha = json_string_value(json_object_get(m, "sha256"));
		int k;

		for (k = 0; k < nseen && strcmp(seen[k].name, key) != 0; k++)
			;
		if (k == nseen) {
			uh_errx(err, "backup %s: member %s is missing", label, key);
			goto bad;
		}
		if (!json_is_integer(size) || json_integer_value(size) < 0 ||
		    seen[k].size != (uint64_t)json_integer_value(size) || sha == NULL ||
		    strcmp(seen[k].sha, sha) != 0) {
			uh_errx(err, "backup %s: member %s does not match its checksum", label, key);
			goto bad;
		}
	}
	for (int k = 0; k < nseen; k++)
		if (json_object_get(members, seen[k].name) == NULL) {
			uh_errx(err, "backup %s: member %s is not in the manifest", label,
				seen[k].name);
			goto bad;
		}
	*manifest = man;
	return 0;
bad:
	json_decref(man);
	return -1;
}

/* A member is written only if the filesystem holds it and keeps `reserve` bytes free: judged
 * by its tar header's size before a byte of it is written (a small archive of zeros may claim
 * terabytes), and the data may not run past that size. */
static int check_room(const char *dir, const char *name, uint64_t size, uint64_t reserve,
		      struct uh_error *err)
{
	uint64_t avail;

	if (uh_fs_free(dir, &avail, err) < 0)
		return uh_err_prefix(err, "backup: restore");
	if (avail < reserve || size > avail - reserve)
		return uh_errc(err, ENOSPC,
			       "backup: member %s is %llu MiB and the state filesystem has "
			       "%llu MiB free beyond its reserve of %llu MiB (disk_reserve): "
			       "nothing restored",
			       name, (unsigned long long)(size >> 20),
			       (unsigned long long)((avail > reserve ? avail - reserve : 0) >> 20),
			       (unsigned long long)(reserve >> 20));
	return 0;
}

static int all_zero(const void *buf, size_t len)
{
	const unsigned char *p = buf;

	return len == 0 || (p[0] == 0 && memcmp(p, p + 1, len - 1) == 0);
}

int uh_backup_read_from(struct uh_backup_source *src, const char *path,
			const char *restore_dir, uint64_t reserve, json_t **manifest,
			char archive_sha[UH_SHA256_HEX], struct uh_error *err)
{
	struct archive *a = archive_read_new();
	struct reader rd = {.src = src};
	struct archive_entry *e;
	struct uh_backup_seen seen[32];
	int nseen = 0, r, ret = -1, out = -1;
	json_t *man = NULL;
	char *mtext = NULL;
	size_t mlen = 0;

	*manifest = NULL;
	archive_read_support_filter_zstd(a);
	archive_read_support_format_tar(a);
	sha256_init(&rd.sha);
	if (archive_read_open(a, &rd, NULL, source_read, NULL) != ARCHIVE_OK) {
		la_err(a, err, "backup: open", path);
		goto done;
	}
	while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
		const char *name = archive_entry_pathname(e);
		int is_manifest = strcmp(name, MANIFEST) == 0;
		struct digest dg;
		const void *buf;
		size_t len;
		la_int64_t off;

		if (strchr(name, '/') || name[0] == '.' || strlen(name) >= sizeof(seen[0].name)) {
			uh_errx(err, "backup %s: unexpected member '%s'", path, name);
			goto done;
		}
		if (!is_manifest && nseen == (int)(sizeof(seen) / sizeof(seen[0]))) {
			uh_errx(err, "backup %s: too many members", path);
			goto done;
		}
		/* a name twice: which copy would count? verify and restore both refuse */
		for (int k = 0; k < nseen; k++)
			if (strcmp(seen[k].name, name) == 0)
				is_manifest = -1;
		if (is_manifest == -1 || (is_manifest && mtext != NULL)) {
			uh_errx(err, "backup %s: member %s appears twice", path, name);
			goto done;
		}
		if (!archive_entry_size_is_set(e) || archive_entry_size(e) < 0) {
			uh_errx(err, "backup %s: member %s has no size", path, name);
			goto done;
		}
		if (restore_dir && !is_manifest) {
			char p[4096];

			if (check_room(restore_dir, name, (uint64_t)archive_entry_size(e), reserve,
				       err) < 0)
				goto done;
			snprintf(p, sizeof(p), "%s/%s", restore_dir, name);
			out = open(p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
			if (out < 0) {
				uh_err(err, errno, "backup: restore %s", p);
				goto done;
			}
		}
		digest_init(&dg);
		while ((r = archive_read_data_block(a, &buf, &len, &off)) == ARCHIVE_OK) {
			if (is_manifest) {
				if (mlen + len > (1 << 20)) {
					uh_errx(err, "backup %s: manifest too large", path);
					goto done;
				}
				mtext = realloc(mtext, mlen + len + 1);
				if (mtext == NULL)
					abort();
				memcpy(mtext + mlen, buf, len);
				mlen += len;
				mtext[mlen] = '\0';
				continue;
			}
			if (off < 0 || (uint64_t)off + len > (uint64_t)archive_entry_size(e)) {
				uh_errx(err, "backup %s: member %s runs past its size", path, name);
				goto done;
			}
			digest_block(&dg, (uint64_t)off, buf, len);
			/* zeros stay a hole: the file is new, and sized at the end */
			if (out >= 0 && !all_zero(buf, len) &&
			    uh_pwrite_full(out, buf, len, off) < 0) {
				uh_err(err, errno, "backup: restore %s", name);
				goto done;
			}
		}
		if (r != ARCHIVE_EOF) {
			uh_errx(err, "backup %s: member %s is damaged: %s", path, name,
				archive_error_string(a) ? archive_error_string(a) : "read error");
			goto done;
		}
		if (out >= 0) {
			if (ftruncate(out, archive_entry_size(e)) < 0 || fsync(out) < 0) {
				uh_err(err, errno, "backup: restore %s", name);
				goto done;
			}
			close(out);
			out = -1;
		}
		if (!is_manifest) {
			snprintf(seen[nseen].name, sizeof(seen[nseen].name), "%s", name);
			digest_hex(&dg, seen[nseen].sha);
			seen[nseen].size = (uint64_t)archive_entry_size(e);
			nseen++;
		}
	}
	if (r != ARCHIVE_EOF) {
		uh_errx(err, "backup %s: damaged: %s", path,
			archive_error_string(a) ? archive_error_string(a) : "read error");
		goto done;
	}
	if (uh_backup_manifest_check(mtext, mlen, seen, nseen, path, &man, err) < 0)
		goto done;
	if (archive_sha) {
		/* libarchive stops at the end-of-archive blocks: the rest counts too */
		uint8_t digest[SHA256_DIGEST_SIZE];
		ssize_t n;

		while ((n = src->read(src->ctx, src->buf, sizeof(src->buf), err)) > 0)
			sha256_update(&rd.sha, (size_t)n, (const uint8_t *)src->buf);
		if (n < 0)
			goto done;
		sha256_digest(&rd.sha, SHA256_DIGEST_SIZE, digest);
		hex(digest, archive_sha);
	}
	*manifest = man;
	man = NULL;
	ret = 0;
done:
	if (out >= 0)
		close(out);
	archive_read_free(a);
	json_decref(man);
	free(mtext);
	return ret;
}

int uh_backup_file_sha256(const char *path, char out[UH_SHA256_HEX], struct uh_error *err)
{
	struct digest dg;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	off_t pos = 0, data, hole;
	char *buf;
	int ret = -1;

	if (fd < 0 || fstat(fd, &st) < 0) {
		uh_err(err, errno, "read %s", path);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	buf = malloc(CHUNK);
	if (buf == NULL)
		abort();
	digest_init(&dg);
	while (pos < st.st_size && (data = lseek(fd, pos, SEEK_DATA)) >= 0) {
		hole = lseek(fd, data, SEEK_HOLE);
		if (hole < 0)
			hole = st.st_size;
		for (off_t o = data; o < hole;) {
			size_t want = (size_t)(hole - o < CHUNK ? hole - o : CHUNK);
			ssize_t got = uh_pread_full(fd, buf, want, o);

			if (got <= 0) {
				uh_err(err, got < 0 ? errno : EIO, "read %s", path);
				goto out;
			}
			digest_block(&dg, (uint64_t)o, buf, (size_t)got);
			o += got;
		}
		pos = hole;
	}
	digest_hex(&dg, out);
	ret = 0;
out:
	free(buf);
	close(fd);
	return ret;
}
