#include "util/ratelimit.h"

void uh_ratelimit_init(struct uh_ratelimit *r, int burst, int per_minute, int64_t now_ms)
{
	r->burst = burst;
	r->per_minute = per_minute;
	r->tokens_milli = (int64_t)burst * 1000;
	r->last_ms = now_ms;
	r->dropped = 0;
}

int uh_ratelimit_take(struct uh_ratelimit *r, int64_t now_ms)
{
	int64_t cap = (int64_t)r->burst * 1000;

	if (now_ms > r->last_ms) {
		/* per_minute tokens in 60000 ms: per_minute / 60 thousandths per ms */
		int64_t add = (now_ms - r->last_ms) * r->per_minute / 60;

		r->tokens_milli = r->tokens_milli + add > cap ? cap : r->tokens_milli + add;
		r->last_ms = now_ms;
	}
	if (r->tokens_milli >= 1000) {
		r->tokens_milli -= 1000;
		return 1;
	}
	r->dropped++;
	return 0;
}

uint64_t uh_ratelimit_dropped(struct uh_ratelimit *r)
{
	uint64_t n = r->dropped;

	r->dropped = 0;
	return n;
}
