/* The API's routing: a table of {method, pattern} the caller extends with its handler;
 * patterns are paths whose "{}" segments match one path segment (a name). Pure: no HTTP,
 * no daemon; unit-tested on its own and on the API's table. */
#ifndef UH_ROUTE_H
#define UH_ROUTE_H

#include <stddef.h>

#define UH_ROUTE_ARGS 2	    /* "{}" segments per pattern */
#define UH_ROUTE_ARG_MAX 64 /* a segment's bytes, with its NUL */

struct uh_route {
	const char *method;  /* "GET", "POST", "DELETE" */
	const char *pattern; /* "/v1/instances/{}/logs" */
};

struct uh_route_args {
	int n;
	char v[UH_ROUTE_ARGS][UH_ROUTE_ARG_MAX];
};

enum { UH_ROUTE_NONE = -1, UH_ROUTE_METHOD = -2 };

/* The index of the first route (in table order) whose pattern matches path and whose method
 * is method, its "{}" segments in args; UH_ROUTE_NONE when no pattern matches the path (404),
 * UH_ROUTE_METHOD when some do but for other methods (405; allow lists them, "GET, POST").
 * The table is an array of structs of `stride` bytes, each starting with a struct uh_route. */
int uh_route_find(const void *table, size_t n, size_t stride, const char *method,
		  const char *path, struct uh_route_args *args, char *allow, size_t allow_len);

#endif
