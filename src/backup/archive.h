/* Backup archives: a tar (pax) compressed with zstd, written with libarchive, holding an
 * instance's disk files sparse (only their data extents, found with SEEK_DATA/SEEK_HOLE, and a
 * sparse map), small text members (the instance's definition) and, last, `manifest.json`: every
 * member's size, data bytes and sha256, plus whatever the caller adds (template name, version,
 * its sha256). A member's sha256 covers its data in offset order, each run that does not
 * follow the previous one preceded by its offset (8 bytes, big-endian): a hole costs nothing
 * to hash, moved data does not match, and a file without holes hashes like `sha256sum`.
 *
 * Written to a temp name, fsynced, renamed: a failure (a full disk) leaves no archive. The
 * archive's own sha256 is computed while it is written. */
#ifndef UH_BACKUP_ARCHIVE_H
#define UH_BACKUP_ARCHIVE_H

#include <jansson.h>
#include <signal.h>
#include <stdint.h>
#include <sys/types.h>

#include "util/error.h"

#define UH_SHA256_HEX 65

struct uh_backup_member {
	const char *name; /* inside the archive, e.g. "disk.cow" */
	const char *path; /* a file on the host to read (sparse-aware), or NULL */
	const char *text; /* or the member's content */
};

/* Where an archive's bytes go (a local temp file, an SFTP upload). */
struct uh_backup_sink {
	int (*write)(void *ctx, const void *buf, size_t len, struct uh_error *err);
	void *ctx;
};
/* Where they come from when read. */
struct uh_backup_source {
	ssize_t (*read)(void *ctx, void *buf, size_t len, struct uh_error *err);
	void *ctx;
	char buf[1 << 16];
};

/* The archive into a sink; `label` names it in errors. */
int uh_backup_write_to(const struct uh_backup_sink *out, const char *label,
		       const struct uh_backup_member *members, int n, json_t *extra,
		       char sha256[UH_SHA256_HEX], uint64_t *bytes, struct uh_error *err);
/* As uh_backup_read, from any source. */
int uh_backup_read_from(struct uh_backup_source *src, const char *label,
			const char *restore_dir, uint64_t reserve, json_t **manifest,
			char archive_sha[UH_SHA256_HEX], struct uh_error *err);

/* A member as the reader found it: its name, the digest of its data, its size. */
struct uh_backup_seen {
	char name[256];
	char sha[UH_SHA256_HEX];
	uint64_t size;
};
/* The manifest's text against the members read: valid JSON (no duplicate keys) with a
 * "members" object listing exactly these, each with its size and sha256. Gives the parsed
 * manifest back; `label` names the archive in errors. Pure: fuzzed (fuzz_backup_manifest). */
int uh_backup_manifest_check(const char *text, size_t len, const struct uh_backup_seen *seen,
			     int nseen, const char *label, json_t **manifest, struct uh_error *err);

/* Write `members` and the manifest (`extra` merged into it, may be NULL) to out_path. */
int uh_backup_write(const char *out_path, const struct uh_backup_member *members, int n,
		    json_t *extra, char sha256[UH_SHA256_HEX], uint64_t *bytes,
		    struct uh_error *err);

/* Read the archive, check every member against the manifest (size and sha256), and give the
 * manifest back. Errors name the member that does not match. If restore_dir is not NULL,
 * the file members are also written there (sparse), under their names, each only if its
 * header's size fits the filesystem's free space less `reserve` bytes (else ENOSPC, before any
 * of it is written; the caller removes the directory on any failure). archive_sha (if not
 * NULL) gets the sha256 of every byte read. */
int uh_backup_read(const char *path, const char *restore_dir, uint64_t reserve, json_t **manifest,
		   char archive_sha[UH_SHA256_HEX], struct uh_error *err);

/* A flag (a signal handler sets it) that makes a write or read in progress fail with
 * ECANCELED, so a partial archive is cleaned up like after any failure. */
void uh_backup_set_cancel(const volatile sig_atomic_t *flag);

/* sha256 (hex) of a file's data extents in offset order, as the manifest records members. */
int uh_backup_file_sha256(const char *path, char out[UH_SHA256_HEX], struct uh_error *err);

#endif
