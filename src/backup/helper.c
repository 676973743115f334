/* umlhost-backup: the daemon's helper for everything that reads or writes a backup archive.
 * It runs as a job (own session, nice 10), so compressing a 10 GiB disk never stalls the
 * daemon's loop, and libarchive, zstd, nettle and libssh are mapped here, not in the
 * long-lived daemon. Its answer is one JSON object written to --result (temp + rename):
 * {"ok": true, ...} or {"ok": false, "errno": N, "error": "one line"}.
 *
 *   umlhost-backup write DEST --member NAME=FILE... [--extra JSON-FILE]
 *                  [--template IMAGE]          DEST: a local archive path or sftp://.../x.tar.zst
 *   umlhost-backup verify ARCHIVE              local path or sftp URL
 *   umlhost-backup extract ARCHIVE DIR         verify and write the members into DIR
 *   umlhost-backup hash IMAGE                  a template's digest (cached beside it)
 *   umlhost-backup prune DIR --prefix NAME- --keep N
 *                  keep the newest N archives NAME-<UTC stamp>.tar.zst in DIR (or sftp URL)
 *   umlhost-backup list DIR [--prefix NAME-]   the archives there, oldest first
 * Common: --result FILE, --key FILE, --known-hosts FILE (for sftp). SIGTERM cancels: a
 * partial archive is removed, locally or on the remote. */
#include "backup/archive.h"
#include "backup/sftp.h"
#include "backup/target.h"
#include "util/fileio.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_MEMBERS 16

static volatile sig_atomic_t cancelled;

static void on_term(int sig)
{
	(void)sig;
	cancelled = 1;
}

struct opts {
	const char *result;
	struct uh_sftp_opts ssh;
	struct uh_backup_member members[MAX_MEMBERS];
	int n;
	const char *extra;
	const char *template_path;
	const char *prefix;
	int keep;
	uint64_t reserve; /* extract: bytes of the filesystem it leaves free */
};

/* ---- SFTP as a sink and a source (cancellation is archive.c's) */

static int remote_write(void *ctx, const void *buf, size_t len, struct uh_error *err)
{
	return uh_sftp_write(ctx, buf, len, err);
}

static ssize_t remote_read(void *ctx, void *buf, size_t len, struct uh_error *err)
{
	return uh_sftp_read(ctx, buf, len, err);
}

/* ---- the template's digest, cached beside it: templates never change once built, and
 * hashing a big one for every backup would cost more than the backup */

static int template_sha(const char *path, char out[UH_SHA256_HEX], struct uh_error *err)
{
	char cache[PATH_MAX + 16], line[256];
	struct stat st;
	FILE *f;
	struct uh_tmpfile tmp;
	struct uh_error cerr;

	if (stat(path, &st) < 0)
		return uh_err(err, errno, "template %s", path);
	snprintf(cache, sizeof(cache), "%s.sha256", path);
	f = fopen(cache, "re");
	if (f) {
		char sha[UH_SHA256_HEX];
		long long size, mtime;

		if (fgets(line, sizeof(line), f) &&
		    sscanf(line, "%64s %lld %lld", sha, &size, &mtime) == 3 && strlen(sha) == 64 &&
		    size == (long long)st.st_size && mtime == (long long)st.st_mtime) {
			fclose(f);
			memcpy(out, sha, UH_SHA256_HEX);
			return 0;
		}
		fclose(f);
	}
	if (uh_backup_file_sha256(path, out, err) < 0)
		return -1;
	/* a cache that cannot be written only costs time next time */
	if (uh_tmpfile_open(&tmp, cache, 0644, &cerr) == 0) {
		int n = snprintf(line, sizeof(line), "%s %lld %lld\n", out, (long long)st.st_size,
				 (long long)st.st_mtime);

		if (uh_write_full(tmp.fd, line, (size_t)n) == 0)
			uh_tmpfile_commit(&tmp, &cerr);
		uh_tmpfile_discard(&tmp);
	}
	return 0;
}

/* ---- commands */

static int cmd_write(const char *dest, struct opts *o, json_t *res, struct uh_error *err)
{
	struct uh_target t;
	json_t *extra = NULL;
	char sha[UH_SHA256_HEX], tsha[UH_SHA256_HEX];
	uint64_t bytes = 0;
	int ret = -1;

	if (uh_target_parse(dest, &t, err) < 0)
		return -1;
	if (o->extra) {
		json_error_t je;

		extra = json_load_file(o->extra, 0, &je);
		if (extra == NULL)
			return uh_errx(err, "%s: %s", o->extra, je.text);
	} else {
		extra = json_object();
	}
	if (o->template_path) {
		if (template_sha(o->template_path, tsha, err) < 0)
			goto out;
		json_object_set_new(extra, "template_sha256", json_string(tsha));
	}
	if (!t.remote) {
		if (uh_backup_write(t.path, o->members, o->n, extra, sha, &bytes, err) < 0)
			goto out;
	} else {
		struct uh_sftp *s = NULL;
		struct uh_sftp_file *f = NULL;
		struct uh_backup_sink sink = {remote_write, NULL};
		char dir[sizeof(t.path)];
		int r;

		snprintf(dir, sizeof(dir), "%s", t.path);
		*strrchr(dir, '/') = '\0';
		if (uh_sftp_connect(&t, &o->ssh, &s, err) < 0)
			goto out;
		r = (dir[0] ? uh_sftp_mkdirs(s, dir, err) : 0) < 0 ||
		    uh_sftp_create(s, t.path, &f, err) < 0;
		if (!r) {
			sink.ctx = f;
			r = uh_backup_write_to(&sink, dest, o->members, o->n, extra, sha, &bytes,
					       err) < 0 ||
			    uh_sftp_commit(f, err) < 0;
		}
		uh_sftp_discard(f);
		uh_sftp_close(s);
		if (r)
			goto out;
	}
	json_object_set_new(res, "archive", json_string(dest));
	json_object_set_new(res, "sha256", json_string(sha));
	json_object_set_new(res, "bytes", json_integer((json_int_t)bytes));
	if (o->template_path)
		json_object_set_new(res, "template_sha256", json_string(tsha));
	ret = 0;
out:
	json_decref(extra);
	return ret;
}

static int cmd_read(const char *archive, const char *dir, struct opts *o, json_t *res,
		    struct uh_error *err)
{
	struct uh_target t;
	struct uh_sftp *s = NULL;
	struct uh_sftp_file *f = NULL;
	struct uh_backup_source *src = NULL;
	json_t *man = NULL;
	char sha[UH_SHA256_HEX];
	int ret = -1;

	if (uh_target_parse(archive, &t, err) < 0)
		return -1;
	if (!t.remote) {
		ret = uh_backup_read(t.path, dir, o->reserve, &man, sha, err);
	} else if (uh_sftp_connect(&t, &o->ssh, &s, err) == 0 &&
		   uh_sftp_open_read(s, t.path, &f, err) == 0) {
		src = calloc(1, sizeof(*src));
		if (src == NULL)
			abort();
		src->read = remote_read;
		src->ctx = f;
		ret = uh_backup_read_from(src, archive, dir, o->reserve, &man, sha, err);
	}
	if (ret == 0) {
		json_object_set_new(res, "archive", json_string(archive));
		json_object_set_new(res, "sha256", json_string(sha));
		json_object_set_new(res, "manifest", man);
	}
	free(src);
	uh_sftp_discard(f);
	uh_sftp_close(s);
	return ret;
}

/* ---- list and prune: only names this tool writes (NAME-YYYYMMDDTHHMMSSZ.tar.zst) count,
 * whatever else an admin keeps in the directory stays */

#define STAMP_LEN 16 /* YYYYMMDDTHHMMSSZ */
#define SUFFIX ".tar.zst"

struct archive_name {
	char *name;
	uint64_t size;
	int64_t mtime;
};

struct names {
	struct archive_name *v;
	size_t n, cap;
	const char *prefix; /* NAME- or NULL: any instance */
};

/* The instance's name length in an archive's name, or 0 if it is not one of ours. */
static size_t instance_len(const char *name)
{
	size_t n = strlen(name), sl = strlen(SUFFIX), il;
	const char *stamp;

	if (n < 2 + STAMP_LEN + sl || strcmp(name + n - sl, SUFFIX) != 0)
		return 0;
	stamp = name + n - sl - STAMP_LEN;
	if (stamp[-1] != '-' || stamp[8] != 'T' || stamp[15] != 'Z')
		return 0;
	for (int i = 0; i < STAMP_LEN; i++)
		if (i != 8 && i != 15 && (stamp[i] < '0' || stamp[i] > '9'))
			return 0;
	il = (size_t)(stamp - 1 - name);
	return il > 0 && il <= 32 ? il : 0; /* instance names: 1..32 characters */
}

static void names_add(const char *name, uint64_t size, int64_t mtime, void *arg)
{
	struct names *a = arg;
	size_t il = instance_len(name);

	if (il == 0 || (a->prefix && (strlen(a->prefix) != il + 1 ||
				      strncmp(name, a->prefix, il + 1) != 0)))
		return;
	if (a->n == a->cap) {
		a->cap = a->cap ? 2 * a->cap : 16;
		a->v = realloc(a->v, a->cap * sizeof(*a->v));
		if (a->v == NULL)
			abort();
	}
	a->v[a->n].name = strdup(name);
	if (a->v[a->n].name == NULL)
		abort();
	a->v[a->n].size = size;
	a->v[a->n++].mtime = mtime;
}

static int cmp_name(const void *x, const void *y)
{
	return strcmp(((const struct archive_name *)x)->name,
		      ((const struct archive_name *)y)->name);
}

/* Our archives in a local directory or over SFTP (then *s stays connected), oldest first. */
static int collect(const struct uh_target *t, struct opts *o, struct names *a, struct uh_sftp **s,
		   struct uh_error *err)
{
	if (t->remote) {
		if (uh_sftp_connect(t, &o->ssh, s, err) < 0 ||
		    uh_sftp_list(*s, t->path, SUFFIX, names_add, a, err) < 0)
			return -1;
	} else {
		DIR *dp = opendir(t->path);
		struct dirent *de;

		if (dp == NULL && errno != ENOENT)
			return uh_err(err, errno, "%s", t->path);
		while (dp && (de = readdir(dp)) != NULL) {
			char p[2100];
			struct stat st;

			snprintf(p, sizeof(p), "%s/%s", t->path, de->d_name);
			if (instance_len(de->d_name) && stat(p, &st) == 0 && S_ISREG(st.st_mode))
				names_add(de->d_name, (uint64_t)st.st_size, st.st_mtime, a);
		}
		if (dp)
			closedir(dp);
	}
	/* the UTC stamp in the name: name order is age order (per instance) */
	qsort(a->v, a->n, sizeof(*a->v), cmp_name);
	return 0;
}

static void names_free(struct names *a)
{
	for (size_t i = 0; i < a->n; i++)
		free(a->v[i].name);
	free(a->v);
}

static void join(const struct uh_target *t, const char *name, char *path, size_t plen,
		 char *url, size_t ulen)
{
	snprintf(path, plen, "%s/%s", strcmp(t->path, "/") ? t->path : "", name);
	uh_target_format(t, path, url, ulen);
}

static int cmd_list(const char *where, struct opts *o, json_t *res, struct uh_error *err)
{
	struct uh_target t;
	struct uh_sftp *s = NULL;
	struct names a = {.prefix = o->prefix};
	json_t *arr = json_array();
	char path[2100], url[2400];
	int ret = -1;

	if (uh_target_parse(where, &t, err) < 0 || collect(&t, o, &a, &s, err) < 0)
		goto out;
	for (size_t i = 0; i < a.n; i++) {
		join(&t, a.v[i].name, path, sizeof(path), url, sizeof(url));
		json_array_append_new(arr, json_pack("{s:s%, s:s, s:I, s:I}", "instance",
						     a.v[i].name, instance_len(a.v[i].name),
						     "archive", url, "bytes",
						     (json_int_t)a.v[i].size, "mtime",
						     (json_int_t)a.v[i].mtime));
	}
	json_object_set(res, "archives", arr);
	ret = 0;
out:
	names_free(&a);
	json_decref(arr);
	uh_sftp_close(s);
	return ret;
}

static int cmd_prune(const char *where, struct opts *o, json_t *res, struct uh_error *err)
{
	struct uh_target t;
	struct uh_sftp *s = NULL;
	struct names a = {.prefix = o->prefix};
	json_t *removed = json_array();
	char path[2100], url[2400];
	size_t i = 0;
	int ret = -1;

	if (o->prefix == NULL || o->keep < 1) {
		uh_errx(err, "prune needs --prefix and --keep N (N >= 1)");
		goto out;
	}
	if (uh_target_parse(where, &t, err) < 0 || collect(&t, o, &a, &s, err) < 0)
		goto out;
	for (; i + (size_t)o->keep < a.n; i++) {
		join(&t, a.v[i].name, path, sizeof(path), url, sizeof(url));
		if (t.remote ? uh_sftp_unlink(s, path, err) < 0 : unlink(path) < 0) {
			if (!t.remote)
				uh_err(err, errno, "prune: remove %s", path);
			goto out;
		}
		json_array_append_new(removed, json_string(url));
	}
	json_object_set_new(res, "kept", json_integer((json_int_t)(a.n - i)));
	json_object_set(res, "removed", removed);
	ret = 0;
out:
	names_free(&a);
	json_decref(removed);
	uh_sftp_close(s);
	return ret;
}

/* ---- main */

static int add_member(struct opts *o, const char *arg, struct uh_error *err)
{
	const char *eq = strchr(arg, '=');
	char *name;

	if (eq == NULL || eq == arg || o->n == MAX_MEMBERS)
		return uh_errx(err, "bad member %s (NAME=FILE)", arg);
	name = strndup(arg, (size_t)(eq - arg));
	if (name == NULL)
		abort();
	o->members[o->n].name = name;
	o->members[o->n++].path = eq + 1;
	return 0;
}

static void write_result(const char *path, json_t *res)
{
	char *text = json_dumps(res, JSON_COMPACT);
	struct uh_tmpfile tmp;
	struct uh_error err;

	if (path == NULL) {
		printf("%s\n", text);
	} else if (uh_tmpfile_open(&tmp, path, 0600, &err) < 0 ||
		   uh_write_full(tmp.fd, text, strlen(text)) < 0 ||
		   uh_tmpfile_commit(&tmp, &err) < 0) {
		fprintf(stderr, "umlhost-backup error: result %s: %s\n", path, err.msg);
	} else {
		uh_tmpfile_discard(&tmp);
	}
	free(text);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"result", required_argument, NULL, 'r'},
		{"key", required_argument, NULL, 'k'},
		{"known-hosts", required_argument, NULL, 'K'},
		{"member", required_argument, NULL, 'm'},
		{"extra", required_argument, NULL, 'e'},
		{"template", required_argument, NULL, 'T'},
		{"prefix", required_argument, NULL, 'p'},
		{"keep", required_argument, NULL, 'n'},
		{"reserve-mib", required_argument, NULL, 'R'},
		{NULL, 0, NULL, 0},
	};
	struct opts o = {0};
	struct uh_error err = {0};
	struct sigaction sa = {.sa_handler = on_term};
	json_t *res = json_object();
	const char *cmd;
	int c, rc = -1;

	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	uh_backup_set_cancel(&cancelled);
	signal(SIGPIPE, SIG_IGN);
	o.ssh.timeout_s = 30;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'r': o.result = optarg; break;
		case 'k': o.ssh.key = optarg; break;
		case 'K': o.ssh.known_hosts = optarg; break;
		case 'e': o.extra = optarg; break;
		case 'T': o.template_path = optarg; break;
		case 'p': o.prefix = optarg; break;
		case 'n': o.keep = atoi(optarg); break;
		case 'R': o.reserve = strtoull(optarg, NULL, 10) << 20; break;
		case 'm':
			if (add_member(&o, optarg, &err) < 0)
				goto done;
			break;
		default:
			uh_errx(&err, "usage: umlhost-backup write|verify|extract|hash|prune|list ...");
			goto done;
		}
	}
	cmd = optind < argc ? argv[optind] : "";
	if (strcmp(cmd, "write") == 0 && argc - optind == 2)
		rc = cmd_write(argv[optind + 1], &o, res, &err);
	else if (strcmp(cmd, "verify") == 0 && argc - optind == 2)
		rc = cmd_read(argv[optind + 1], NULL, &o, res, &err);
	else if (strcmp(cmd, "extract") == 0 && argc - optind == 3)
		rc = cmd_read(argv[optind + 1], argv[optind + 2], &o, res, &err);
	else if (strcmp(cmd, "prune") == 0 && argc - optind == 2)
		rc = cmd_prune(argv[optind + 1], &o, res, &err);
	else if (strcmp(cmd, "list") == 0 && argc - optind == 2)
		rc = cmd_list(argv[optind + 1], &o, res, &err);
	else if (strcmp(cmd, "hash") == 0 && argc - optind == 2) {
		char sha[UH_SHA256_HEX];

		rc = template_sha(argv[optind + 1], sha, &err);
		if (rc == 0)
			json_object_set_new(res, "sha256", json_string(sha));
	}
	else
		uh_errx(&err, "usage: umlhost-backup write|verify|extract|hash|prune|list ...");
done:
	if (rc < 0 && cancelled && err.errnum != ECANCELED)
		uh_errc(&err, ECANCELED, "cancelled");
	json_object_set_new(res, "ok", json_boolean(rc == 0));
	if (rc < 0) {
		json_object_set_new(res, "errno", json_integer(err.errnum));
		json_object_set_new(res, "error", json_string(err.msg));
		fprintf(stderr, "umlhost-backup error: %s\n", err.msg);
	}
	write_result(o.result, res);
	json_decref(res);
	for (int i = 0; i < o.n; i++)
		free((char *)o.members[i].name);
	return rc < 0 ? 1 : 0;
}
