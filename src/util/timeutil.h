#ifndef UH_UTIL_TIMEUTIL_H
#define UH_UTIL_TIMEUTIL_H

#include <stdint.h>

/* CLOCK_MONOTONIC in milliseconds / microseconds. */
int64_t uh_now_ms(void);
int64_t uh_now_us(void);
/* CLOCK_REALTIME in milliseconds (timestamps that mean a date, as events carry). */
int64_t uh_wall_ms(void);
/* "24h", "30m", "10s", "2d" or plain seconds: at least 1 s, at most ten years. */
int uh_parse_duration(const char *s, int64_t *out);

#endif
