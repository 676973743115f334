/* libFuzzer target: backup archives are read on verify and restore, and an archive is a file
 * anyone with access to the backup store (a local directory, an SFTP server) could have
 * changed: the reader (libarchive's tar and zstd, our manifest checks) gets arbitrary bytes,
 * through the same source interface the SFTP reader uses, and must fail cleanly or accept only
 * what its manifest vouches for. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "backup/archive.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct mem {
	const uint8_t *p;
	size_t left;
};

/* hands out at most 777 bytes a call: the reader must cope with short reads */
static ssize_t mem_read(void *ctx, void *buf, size_t len, struct uh_error *err)
{
	struct mem *m = ctx;
	size_t n = len < m->left ? len : m->left;

	(void)err;
	if (n > 777)
		n = 777;
	memcpy(buf, m->p, n);
	m->p += n;
	m->left -= n;
	return (ssize_t)n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct uh_backup_source src; /* 64 KiB buffer: not on the stack */
	struct mem m = {data, size};
	struct uh_error err;
	json_t *man = NULL;

	src.read = mem_read;
	src.ctx = &m;
	char sha[UH_SHA256_HEX];

	if (uh_backup_read_from(&src, "fuzz", NULL, 0, &man, sha, &err) == 0) {
		if (!json_is_object(json_object_get(man, "members")))
			__builtin_trap();
		json_decref(man);
	} else if (man != NULL) {
		__builtin_trap();
	}
	return 0;
}
