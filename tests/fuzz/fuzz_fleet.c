/* libFuzzer target: the fleet file reader (src/fleet) on arbitrary bytes. An accepted file
 * gives every section, and every server a valid name that is its key, a state, and no count;
 * a refusal says where ("FILE:LINE:COLUMN: ..." or "FILE: ..."). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fleet/fleet.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct uh_error err;
	json_t *f = uh_fleet_parse((const char *)data, size, "f", &err), *s;
	const char *name;

	if (f == NULL) {
		if (strncmp(err.msg, "f:", 2) != 0)
			abort();
		return 0;
	}
	if (!json_is_object(json_object_get(f, "networks")) ||
	    !json_is_object(json_object_get(f, "templates")) ||
	    !json_is_array(json_object_get(f, "customers")) ||
	    !json_is_object(json_object_get(f, "servers")))
		abort();
	json_object_foreach(json_object_get(f, "servers"), name, s) {
		const char *n = json_string_value(json_object_get(s, "name"));

		if (n == NULL || strcmp(n, name) != 0 || json_object_get(s, "count") ||
		    !json_is_string(json_object_get(s, "state")))
			abort();
	}
	json_decref(f);
	return 0;
}
