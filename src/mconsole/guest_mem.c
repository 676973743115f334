#include "mconsole/guest_mem.h"

#include <ctype.h>
#include <inttypes.h>
#include <string.h>

/* More than any guest's memory (2^50 bytes): keeps the arithmetic below overflow-free. */
#define MAX_BYTES (1ULL << 50)

/* A decimal number of at most 16 digits at *p; moves *p past it. */
static int number(const char **p, const char *end, uint64_t *out)
{
	uint64_t v = 0;
	int digits = 0;

	while (*p < end && isdigit((unsigned char)**p) && digits < 17) {
		v = v * 10 + (uint64_t)(**p - '0');
		(*p)++;
		digits++;
	}
	if (digits == 0 || digits > 16)
		return -1;
	*out = v;
	return 0;
}

int uh_guest_meminfo_parse(const char *text, size_t len, struct uh_guest_mem *m,
			   struct uh_error *err)
{
	static const char *const keys[] = {"MemTotal:", "MemFree:", "MemAvailable:"};
	uint64_t *fields[] = {&m->total, &m->free, &m->available};
	int seen[3] = {0, 0, 0};
	const char *p = text, *end = text + len;

	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		const char *line_end = eol ? eol : end;
		size_t k;

		for (k = 0; k < 3; k++) {
			size_t kl = strlen(keys[k]);
			const char *q = p + kl;
			uint64_t v;

			if ((size_t)(line_end - p) < kl || memcmp(p, keys[k], kl) != 0)
				continue;
			while (q < line_end && *q == ' ')
				q++;
			if (seen[k] || number(&q, line_end, &v) < 0 || line_end - q != 3 ||
			    memcmp(q, " kB", 3) != 0 || v > MAX_BYTES / 1024)
				return uh_errx(err, "guest meminfo: a bad %.*s line", (int)(kl - 1),
					       keys[k]);
			*fields[k] = v * 1024;
			seen[k] = 1;
		}
		p = eol ? eol + 1 : end;
	}
	if (!(seen[0] && seen[1] && seen[2]))
		return uh_errx(err, "guest meminfo: MemTotal, MemFree or MemAvailable missing");
	if (m->free > m->total || m->available > m->total)
		return uh_errx(err, "guest meminfo: more free than total");
	return 0;
}

int uh_guest_memconfig_parse(const char *text, size_t len, struct uh_guest_mem *m,
			     struct uh_error *err)
{
	const char *p = text, *end = text + len;

	if (len > 0 && end[-1] == '\n')
		end--;
	if ((size_t)(end - p) < 10 || memcmp(p, "unplugged=", 10) != 0)
		goto bad;
	p += 10;
	if (number(&p, end, &m->unplugged) < 0 || end - p < 10 || memcmp(p, " returned=", 10) != 0)
		goto bad;
	p += 10;
	if (number(&p, end, &m->returned) < 0 || p != end || m->unplugged > MAX_BYTES ||
	    m->returned > MAX_BYTES)
		goto bad;
	return 0;
bad:
	{
		char shown[41];
		size_t i;

		for (i = 0; i < len && i < sizeof(shown) - 1; i++)
			shown[i] = isprint((unsigned char)text[i]) ? text[i] : '?';
		shown[i] = '\0';
		return uh_errx(err, "the guest's kernel cannot give memory back by itself (`config "
				    "mem` said '%s'): reclaim needs a hosting kernel with "
				    "kernel/patches/0003",
			       shown);
	}
}
