/* libFuzzer target: the manifest of a backup archive (manifest.json) is text from whoever
 * controls the backup store. uh_backup_manifest_check gets arbitrary bytes as the manifest,
 * against a fixed set of members as the reader would have found them (the first byte picks
 * how many), and must refuse cleanly or accept only a manifest that lists exactly those
 * members with their sizes and digests. Fast (no tar, no zstd): millions of runs a minute. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "backup/archive.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct uh_backup_seen members[] = {
	{"disk.cow", "abababababababababababababababababababababababababababababababab", 4096},
	{"instance.json", "cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd", 17},
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct uh_error err;
	json_t *man = NULL, *list;
	int n;

	if (size < 1)
		return 0;
	n = data[0] % 3;
	if (uh_backup_manifest_check((const char *)data + 1, size - 1, members, n, "fuzz", &man,
				     &err) < 0) {
		if (man != NULL || err.msg[0] == '\0')
			__builtin_trap();
		return 0;
	}
	/* accepted: exactly these members, each with its size and digest */
	list = json_object_get(man, "members");
	if (!json_is_object(list) || json_object_size(list) != (size_t)n)
		__builtin_trap();
	for (int k = 0; k < n; k++) {
		json_t *m = json_object_get(list, members[k].name);

		if ((uint64_t)json_integer_value(json_object_get(m, "size")) != members[k].size ||
		    strcmp(json_string_value(json_object_get(m, "sha256")) ?: "", members[k].sha) != 0)
			__builtin_trap();
	}
	json_decref(man);
	return 0;
}
