#include "util/validate.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int uh_validate_name(const char *kind, const char *name, struct uh_error *err)
{
	size_t i, n = strlen(name);

	if (n == 0)
		return uh_errx(err, "%s name is empty", kind);
	if (n > UH_NAME_MAX)
		return uh_errx(err, "%s name '%.40s%s' is %zu characters; at most %d", kind, name,
			       n > 40 ? "..." : "", n, UH_NAME_MAX);
	if (name[0] < 'a' || name[0] > 'z')
		return uh_errx(err, "invalid %s name '%s': must start with a lowercase letter "
				    "([a-z][a-z0-9-]{0,31})",
			       kind, name);
	for (i = 1; i < n; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
			return uh_errx(err, "invalid %s name '%s': only lowercase letters, digits "
					    "and '-' ([a-z][a-z0-9-]{0,31})",
				       kind, name);
	}
	return 0;
}

int uh_parse_size(const char *s, uint64_t *bytes, struct uh_error *err)
{
	unsigned long long v;
	unsigned int shift = 0;
	char *end;

	if (s == NULL || !isdigit((unsigned char)s[0]))
		return uh_errx(err, "invalid size '%s' (use a number with K, M, G or T)",
			       s ? s : "");
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0)
		return uh_errx(err, "invalid size '%s': too large", s);
	switch (*end) {
	case '\0':
		break;
	case 'K': case 'k':
		shift = 10;
		break;
	case 'M': case 'm':
		shift = 20;
		break;
	case 'G': case 'g':
		shift = 30;
		break;
	case 'T': case 't':
		shift = 40;
		break;
	default:
		return uh_errx(err, "invalid size '%s' (use a number with K, M, G or T)", s);
	}
	/* the unit may be spelled K, KB or KiB */
	if (*end != '\0' && end[1] != '\0' && strcmp(end + 1, "B") != 0 && strcmp(end + 1, "iB") != 0)
		return uh_errx(err, "invalid size '%s' (use a number with K, M, G or T)", s);
	if (shift && v > (UINT64_MAX >> shift))
		return uh_errx(err, "invalid size '%s': too large", s);
	*bytes = (uint64_t)v << shift;
	return 0;
}

void uh_format_size(uint64_t bytes, char *buf, int len)
{
	static const char units[] = "KMGT";
	double v = (double)bytes;
	int u = -1;

	while (v >= 1024 && u < 3) {
		v /= 1024;
		u++;
	}
	if (u < 0)
		snprintf(buf, (size_t)len, "%lluB", (unsigned long long)bytes);
	else if (v == (double)(uint64_t)v)
		snprintf(buf, (size_t)len, "%llu%c", (unsigned long long)v, units[u]);
	else
		snprintf(buf, (size_t)len, "%.1f%c", v, units[u]);
}
