/* libFuzzer target: backup archives are read on verify and restore, and an archive is a file
 * anyone with access to the backup store could have changed: the reader (libarchive's tar and
 * zstd, our manifest checks) gets arbitrary bytes and must fail cleanly or accept only what
 * its manifest vouches for. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "backup/archive.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char path[64];
	struct uh_error err;
	json_t *man = NULL;
	FILE *fp;

	if (path[0] == '\0')
		snprintf(path, sizeof(path), "/dev/shm/uh-fuzz-archive.%d", (int)getpid());
	fp = fopen(path, "wb");
	if (fp == NULL)
		return 0;
	fwrite(data, 1, size, fp);
	fclose(fp);
	if (uh_backup_read(path, NULL, &man, &err) == 0) {
		if (!json_is_object(json_object_get(man, "members")))
			__builtin_trap();
		json_decref(man);
	} else if (man != NULL) {
		__builtin_trap();
	}
	unlink(path);
	return 0;
}
