/* Validation of user-supplied names and sizes, done once at the API boundary. */
#ifndef UH_UTIL_VALIDATE_H
#define UH_UTIL_VALIDATE_H

#include <stdint.h>

#include "util/error.h"

#define UH_NAME_MAX 32

/* Instance, template, network and kernel names: [a-z][a-z0-9-]{0,31}. */
int uh_validate_name(const char *kind, const char *name, struct uh_error *err);

/* Sizes: a number with an optional K, M, G or T suffix (binary; no suffix means bytes).
 * Accepts "512M", "1G", "1.5G" is rejected (whole numbers only). */
int uh_parse_size(const char *s, uint64_t *bytes, struct uh_error *err);

/* Human form of a byte count: "512M", "1.5G", "23.5G". */
void uh_format_size(uint64_t bytes, char *buf, int len);

#endif
