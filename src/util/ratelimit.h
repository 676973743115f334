/* A token bucket: `burst` events at once, then `per_minute` a minute; what it refuses is
 * counted, so the caller can say once how much it dropped. */
#ifndef UH_UTIL_RATELIMIT_H
#define UH_UTIL_RATELIMIT_H

#include <stdint.h>

struct uh_ratelimit {
	int burst;
	int per_minute;
	int64_t tokens_milli; /* thousandths of a token, to refill without floating point */
	int64_t last_ms;
	uint64_t dropped; /* refused since the caller last took the count */
};

void uh_ratelimit_init(struct uh_ratelimit *r, int burst, int per_minute, int64_t now_ms);
/* 1: go ahead (a token taken); 0: over the rate (counted in dropped). */
int uh_ratelimit_take(struct uh_ratelimit *r, int64_t now_ms);
/* The count of refusals since the last call, reset to 0. */
uint64_t uh_ratelimit_dropped(struct uh_ratelimit *r);

#endif
