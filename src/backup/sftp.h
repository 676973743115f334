/* Off-host backup copies over SFTP (libssh): key authentication only, the server's host key
 * checked against a known_hosts file (an unknown or changed key is refused, never learnt),
 * nothing read from ~/.ssh/config. Files are written under a temp name, fsynced on the
 * remote (fsync@openssh.com), then renamed: the remote never shows a partial archive. */
#ifndef UH_BACKUP_SFTP_H
#define UH_BACKUP_SFTP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "backup/target.h"
#include "util/error.h"

struct uh_sftp_opts {
	const char *key;	 /* private key file */
	const char *known_hosts; /* the servers' host keys */
	int timeout_s;
};

struct uh_sftp;
struct uh_sftp_file;

int uh_sftp_connect(const struct uh_target *t, const struct uh_sftp_opts *o,
		    struct uh_sftp **out, struct uh_error *err);
void uh_sftp_close(struct uh_sftp *s);

/* mkdir -p on the remote */
int uh_sftp_mkdirs(struct uh_sftp *s, const char *dir, struct uh_error *err);
/* Create "<dir>/.<base>.tmp-<pid>" for writing. */
int uh_sftp_create(struct uh_sftp *s, const char *final_path, struct uh_sftp_file **f,
		   struct uh_error *err);
int uh_sftp_write(struct uh_sftp_file *f, const void *buf, size_t len, struct uh_error *err);
/* fsync, close, rename to the final path (refused if it exists). */
int uh_sftp_commit(struct uh_sftp_file *f, struct uh_error *err);
/* Close and remove the temp file if not committed; free. */
void uh_sftp_discard(struct uh_sftp_file *f);

int uh_sftp_open_read(struct uh_sftp *s, const char *path, struct uh_sftp_file **f,
		      struct uh_error *err);
/* bytes read, 0 at the end */
ssize_t uh_sftp_read(struct uh_sftp_file *f, void *buf, size_t len, struct uh_error *err);

/* Names in `dir` ending with `suffix`, with their sizes: fn is called for each. */
int uh_sftp_list(struct uh_sftp *s, const char *dir, const char *suffix,
		 void (*fn)(const char *name, uint64_t size, int64_t mtime, void *arg), void *arg,
		 struct uh_error *err);
int uh_sftp_unlink(struct uh_sftp *s, const char *path, struct uh_error *err);

#endif
