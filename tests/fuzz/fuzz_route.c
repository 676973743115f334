/* libFuzzer target: the API's route matching (daemon/route.c) on arbitrary request paths and
 * methods, as a caller on the socket sends them. A match must be of the asked method; its
 * "{}" segments non-empty, without '/', shorter than UH_ROUTE_ARG_MAX; the pattern with the
 * segments put back must be the path itself; a 405 must name allowed methods. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/route.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct uh_route table[] = {
	{"GET", "/v1/instances"},	   {"POST", "/v1/instances"},
	{"GET", "/v1/instances/{}"},	   {"DELETE", "/v1/instances/{}"},
	{"POST", "/v1/instances/{}/start"}, {"GET", "/v1/instances/{}/logs"},
	{"POST", "/v1/templates/build"},   {"GET", "/v1/templates/{}"},
	{"GET", "/v1/a/{}/b/{}"},	   {"GET", "/{}"},
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const methods[] = {"GET", "POST", "DELETE", "PUT"};
	const size_t n = sizeof(table) / sizeof(table[0]);
	struct uh_route_args a;
	char path[512], back[1024], allow[64];
	const char *p;
	int i, k;

	/* the first byte picks the method; the rest is the path (MHD hands over a C string) */
	if (size < 1 || size - 1 >= sizeof(path) || memchr(data + 1, 0, size - 1))
		return 0;
	memcpy(path, data + 1, size - 1);
	path[size - 1] = '\0';
	i = uh_route_find(table, n, sizeof(table[0]), methods[data[0] % 4], path, &a, allow,
			  sizeof(allow));
	if (i == UH_ROUTE_METHOD && allow[0] == '\0')
		abort();
	if (i < 0)
		return 0;
	if ((size_t)i >= n || strcmp(table[i].method, methods[data[0] % 4]) != 0)
		abort();
	/* put the segments back into the pattern: the path again */
	back[0] = '\0';
	k = 0;
	for (p = table[i].pattern; *p; p++) {
		size_t used = strlen(back);

		if (p[0] == '{' && p[1] == '}') {
			if (k >= a.n || a.v[k][0] == '\0' || strchr(a.v[k], '/') ||
			    strlen(a.v[k]) >= UH_ROUTE_ARG_MAX)
				abort();
			snprintf(back + used, sizeof(back) - used, "%s", a.v[k++]);
			p++;
		} else {
			back[used] = *p;
			back[used + 1] = '\0';
		}
	}
	if (k != a.n || strcmp(back, path) != 0)
		abort();
	return 0;
}
