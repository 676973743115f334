#include "backup/sftp.h"

#include <errno.h>
#include <fcntl.h>
#include <libssh/libssh.h>
#include <libssh/sftp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct uh_sftp {
	ssh_session ssh;
	sftp_session sftp;
	char where[340]; /* user@host:port, for messages */
};

struct uh_sftp_file {
	struct uh_sftp *s;
	sftp_file f;
	char tmp[1100];
	char final[1024];
	int writing, committed;
};

/* SFTP status codes as errno values, so "No space left" reads the same as a local one */
static int sftp_errno(struct uh_sftp *s)
{
	switch (sftp_get_error(s->sftp)) {
	case SSH_FX_NO_SUCH_FILE:
	case SSH_FX_NO_SUCH_PATH:
		return ENOENT;
	case SSH_FX_PERMISSION_DENIED:
	case SSH_FX_WRITE_PROTECT:
		return EACCES;
	case SSH_FX_FILE_ALREADY_EXISTS:
		return EEXIST;
	case SSH_FX_NO_MEDIA:
		return ENOSPC;
	case SSH_FX_EOF:
		return 0;
	default:
		return EIO;
	}
}

static const char *sftp_msg(struct uh_sftp *s)
{
	static char buf[160];
	int code = sftp_get_error(s->sftp);
	const char *e = ssh_get_error(s->ssh);

	/* OpenSSH's server reports ENOSPC as a generic failure; libssh keeps its text */
	if (e && e[0])
		snprintf(buf, sizeof(buf), "%s", e);
	else
		snprintf(buf, sizeof(buf), "SFTP status %d", code);
	return buf;
}

static int fail(struct uh_sftp *s, struct uh_error *err, const char *what, const char *path)
{
	int e = sftp_errno(s);
	const char *m = sftp_msg(s);

	if (strstr(m, "No space left") || strstr(m, "quota"))
		e = ENOSPC;
	return uh_errc(err, e ? e : EIO, "sftp %s: %s %s: %s", s->where, what, path, m);
}

int uh_sftp_connect(const struct uh_target *t, const struct uh_sftp_opts *o,
		    struct uh_sftp **out, struct uh_error *err)
{
	struct uh_sftp *s = calloc(1, sizeof(*s));
	ssh_key key = NULL;
	long timeout = o->timeout_s > 0 ? o->timeout_s : 30;
	int port = t->port, no = 0, rc;
	enum ssh_known_hosts_e known;

	if (s == NULL)
		abort();
	*out = NULL;
	snprintf(s->where, sizeof(s->where), "%s%s%s:%d", t->user, t->user[0] ? "@" : "",
		 t->host, t->port);
	if (o->key == NULL || access(o->key, R_OK) < 0) {
		uh_err(err, errno ? errno : ENOENT, "sftp %s: the key %s cannot be read", s->where,
		       o->key ? o->key : "(none)");
		goto fail;
	}
	if (o->known_hosts == NULL || access(o->known_hosts, R_OK) < 0) {
		uh_err(err, errno ? errno : ENOENT,
		       "sftp %s: no known_hosts file %s (add the server's host key there)",
		       s->where, o->known_hosts ? o->known_hosts : "(none)");
		goto fail;
	}
	s->ssh = ssh_new();
	if (s->ssh == NULL)
		abort();
	ssh_options_set(s->ssh, SSH_OPTIONS_PROCESS_CONFIG, &no);
	ssh_options_set(s->ssh, SSH_OPTIONS_HOST, t->host);
	ssh_options_set(s->ssh, SSH_OPTIONS_PORT, &port);
	if (t->user[0])
		ssh_options_set(s->ssh, SSH_OPTIONS_USER, t->user);
	ssh_options_set(s->ssh, SSH_OPTIONS_KNOWNHOSTS, o->known_hosts);
	ssh_options_set(s->ssh, SSH_OPTIONS_GLOBAL_KNOWNHOSTS, "/dev/null");
	ssh_options_set(s->ssh, SSH_OPTIONS_TIMEOUT, &timeout);
	if (ssh_connect(s->ssh) != SSH_OK) {
		uh_errc(err, ECONNREFUSED, "sftp %s: connect: %s", s->where,
			ssh_get_error(s->ssh));
		goto fail;
	}
	known = ssh_session_is_known_server(s->ssh);
	if (known != SSH_KNOWN_HOSTS_OK) {
		uh_errc(err, EPERM, "sftp %s: the server's host key is %s in %s; refused", s->where,
			known == SSH_KNOWN_HOSTS_CHANGED ? "different from the one"
			: known == SSH_KNOWN_HOSTS_OTHER ? "of another type than the one"
							 : "not",
			o->known_hosts);
		goto fail;
	}
	if (ssh_pki_import_privkey_file(o->key, NULL, NULL, NULL, &key) != SSH_OK) {
		uh_errx(err, "sftp %s: cannot load the key %s (unencrypted keys only)", s->where,
			o->key);
		goto fail;
	}
	rc = ssh_userauth_publickey(s->ssh, NULL, key);
	ssh_key_free(key);
	if (rc != SSH_AUTH_SUCCESS) {
		uh_errc(err, EACCES, "sftp %s: the key %s was not accepted", s->where, o->key);
		goto fail;
	}
	s->sftp = sftp_new(s->ssh);
	if (s->sftp == NULL || sftp_init(s->sftp) != SSH_OK) {
		uh_errx(err, "sftp %s: no SFTP subsystem: %s", s->where, ssh_get_error(s->ssh));
		goto fail;
	}
	*out = s;
	return 0;
fail:
	uh_sftp_close(s);
	return -1;
}

void uh_sftp_close(struct uh_sftp *s)
{
	if (s == NULL)
		return;
	if (s->sftp)
		sftp_free(s->sftp);
	if (s->ssh) {
		ssh_disconnect(s->ssh);
		ssh_free(s->ssh);
	}
	free(s);
}

int uh_sftp_mkdirs(struct uh_sftp *s, const char *dir, struct uh_error *err)
{
	char p[1024];
	size_t i, n = strlen(dir);

	if (n >= sizeof(p))
		return uh_errx(err, "sftp: path too long");
	memcpy(p, dir, n + 1);
	for (i = 1; i <= n; i++) {
		sftp_attributes a;

		if (p[i] != '/' && p[i] != '\0')
			continue;
		p[i] = '\0';
		a = sftp_stat(s->sftp, p);
		if (a == NULL && sftp_mkdir(s->sftp, p, 0700) < 0 &&
		    (a = sftp_stat(s->sftp, p)) == NULL)
			return fail(s, err, "mkdir", p);
		if (a != NULL && a->type != SSH_FILEXFER_TYPE_DIRECTORY) {
			sftp_attributes_free(a);
			return uh_errc(err, ENOTDIR, "sftp %s: %s is not a directory", s->where, p);
		}
		sftp_attributes_free(a);
		if (i < n)
			p[i] = '/';
	}
	return 0;
}

static struct uh_sftp_file *file_new(struct uh_sftp *s)
{
	struct uh_sftp_file *f = calloc(1, sizeof(*f));

	if (f == NULL)
		abort();
	f->s = s;
	return f;
}

int uh_sftp_create(struct uh_sftp *s, const char *final_path, struct uh_sftp_file **out,
		   struct uh_error *err)
{
	struct uh_sftp_file *f = file_new(s);
	const char *slash = strrchr(final_path, '/');

	if (slash == NULL || strlen(final_path) >= sizeof(f->final)) {
		free(f);
		return uh_errx(err, "sftp: bad path %s", final_path);
	}
	snprintf(f->final, sizeof(f->final), "%s", final_path);
	snprintf(f->tmp, sizeof(f->tmp), "%.*s/.%s.tmp-%d", (int)(slash - final_path), final_path,
		 slash + 1, (int)getpid());
	f->f = sftp_open(s->sftp, f->tmp, O_WRONLY | O_CREAT | O_EXCL, 0600);
	if (f->f == NULL) {
		fail(s, err, "create", f->tmp);
		free(f);
		return -1;
	}
	f->writing = 1;
	*out = f;
	return 0;
}

/* OpenSSH's server reports a full disk as a bare "Failure": ask the filesystem. */
static int remote_full(struct uh_sftp_file *f)
{
	sftp_statvfs_t v;
	int full = 0;

	if (!sftp_extension_supported(f->s->sftp, "statvfs@openssh.com", "2"))
		return 0;
	v = sftp_statvfs(f->s->sftp, f->tmp);
	if (v) {
		full = v->f_bavail * v->f_frsize < (1 << 20);
		sftp_statvfs_free(v);
	}
	return full;
}

int uh_sftp_write(struct uh_sftp_file *f, const void *buf, size_t len, struct uh_error *err)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t n = sftp_write(f->f, p, len);

		if (n <= 0 && remote_full(f))
			return uh_errc(err, ENOSPC, "sftp %s: write %s: No space left on device",
				       f->s->where, f->tmp);
		if (n <= 0)
			return fail(f->s, err, "write", f->tmp);
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int uh_sftp_commit(struct uh_sftp_file *f, struct uh_error *err)
{
	struct uh_sftp *s = f->s;
	sftp_attributes a;

	if (sftp_extension_supported(s->sftp, "fsync@openssh.com", "1") &&
	    sftp_fsync(f->f) < 0)
		return fail(s, err, "fsync", f->tmp);
	if (sftp_close(f->f) < 0) {
		f->f = NULL;
		return fail(s, err, "close", f->tmp);
	}
	f->f = NULL;
	/* SFTP v3 rename does not replace; say so plainly when the name is taken */
	a = sftp_stat(s->sftp, f->final);
	if (a != NULL) {
		sftp_attributes_free(a);
		return uh_errc(err, EEXIST, "sftp %s: %s exists", s->where, f->final);
	}
	if (sftp_rename(s->sftp, f->tmp, f->final) < 0)
		return fail(s, err, "rename to", f->final);
	f->committed = 1;
	return 0;
}

void uh_sftp_discard(struct uh_sftp_file *f)
{
	if (f == NULL)
		return;
	if (f->f)
		sftp_close(f->f);
	if (f->writing && !f->committed)
		sftp_unlink(f->s->sftp, f->tmp);
	free(f);
}

int uh_sftp_open_read(struct uh_sftp *s, const char *path, struct uh_sftp_file **out,
		      struct uh_error *err)
{
	struct uh_sftp_file *f = file_new(s);

	f->f = sftp_open(s->sftp, path, O_RDONLY, 0);
	if (f->f == NULL) {
		fail(s, err, "open", path);
		free(f);
		return -1;
	}
	snprintf(f->final, sizeof(f->final), "%s", path);
	*out = f;
	return 0;
}

ssize_t uh_sftp_read(struct uh_sftp_file *f, void *buf, size_t len, struct uh_error *err)
{
	ssize_t n = sftp_read(f->f, buf, len);

	if (n < 0)
		return fail(f->s, err, "read", f->final);
	return n;
}

int uh_sftp_list(struct uh_sftp *s, const char *dir, const char *suffix,
		 void (*fn)(const char *name, uint64_t size, int64_t mtime, void *arg), void *arg,
		 struct uh_error *err)
{
	sftp_dir d = sftp_opendir(s->sftp, dir);
	sftp_attributes a;
	size_t sl = strlen(suffix);

	if (d == NULL)
		return fail(s, err, "list", dir);
	while ((a = sftp_readdir(s->sftp, d)) != NULL) {
		size_t n = a->name ? strlen(a->name) : 0;

		if (n > sl && a->name[0] != '.' && a->type == SSH_FILEXFER_TYPE_REGULAR &&
		    strcmp(a->name + n - sl, suffix) == 0)
			fn(a->name, a->size, (int64_t)a->mtime, arg);
		sftp_attributes_free(a);
	}
	sftp_closedir(d);
	return 0;
}

int uh_sftp_unlink(struct uh_sftp *s, const char *path, struct uh_error *err)
{
	if (sftp_unlink(s->sftp, path) < 0)
		return fail(s, err, "remove", path);
	return 0;
}
