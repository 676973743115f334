/* Route matching for the API (route.h). */
#include "daemon/route.h"

#include <stdio.h>
#include <string.h>

/* Does path match pattern? Literal segments byte for byte, "{}" any one non-empty segment
 * shorter than UH_ROUTE_ARG_MAX; the whole path, no trailing slash. */
static int match(const char *pattern, const char *path, struct uh_route_args *args)
{
	args->n = 0;
	while (*pattern && *path) {
		if (pattern[0] == '{' && pattern[1] == '}') {
			size_t len = strcspn(path, "/");

			if (len == 0 || len >= UH_ROUTE_ARG_MAX || args->n == UH_ROUTE_ARGS)
				return 0;
			memcpy(args->v[args->n], path, len);
			args->v[args->n++][len] = '\0';
			pattern += 2;
			path += len;
			continue;
		}
		if (*pattern != *path)
			return 0;
		pattern++;
		path++;
	}
	return *pattern == '\0' && *path == '\0';
}

int uh_route_find(const void *table, size_t n, size_t stride, const char *method,
		  const char *path, struct uh_route_args *args, char *allow, size_t allow_len)
{
	const char *base = table;
	int found = UH_ROUTE_NONE;
	size_t i, used = 0;

	if (allow_len)
		allow[0] = '\0';
	for (i = 0; i < n; i++) {
		const struct uh_route *r = (const void *)(base + i * stride);

		if (!match(r->pattern, path, args))
			continue;
		if (strcmp(r->method, method) == 0)
			return (int)i;
		found = UH_ROUTE_METHOD;
		/* each method once, in table order */
		if (allow_len && !strstr(allow, r->method)) {
			int k = snprintf(allow + used, allow_len - used, "%s%s", used ? ", " : "",
					 r->method);

			if (k > 0 && (size_t)k < allow_len - used)
				used += (size_t)k;
		}
	}
	args->n = 0;
	return found;
}
