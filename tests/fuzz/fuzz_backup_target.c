/* libFuzzer target: a backup target (`--to`, an archive to verify or restore) comes from an
 * API caller as a string: a local path or sftp://[user@]host[:port]/path. What the parser
 * accepts must be sane (absolute path, no control characters, a port in range, a host of
 * host characters) and format back to a URL that parses to the same target. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "backup/target.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char s[2048], back[4096];
	struct uh_target t, t2;
	struct uh_error err;

	if (size >= sizeof(s))
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (uh_target_parse(s, &t, &err) < 0)
		return 0;
	if (t.path[0] != '/' || (t.remote && (t.port < 1 || t.port > 65535 || !t.host[0])))
		__builtin_trap();
	for (const char *p = t.path; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == '%')
			__builtin_trap();
	uh_target_format(&t, t.path, back, sizeof(back));
	if (uh_target_parse(back, &t2, &err) < 0 || memcmp(&t, &t2, sizeof(t)) != 0)
		__builtin_trap();
	return 0;
}
