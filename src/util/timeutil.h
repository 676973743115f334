#ifndef UH_UTIL_TIMEUTIL_H
#define UH_UTIL_TIMEUTIL_H

#include <stdint.h>

/* CLOCK_MONOTONIC in milliseconds / microseconds. */
int64_t uh_now_ms(void);
int64_t uh_now_us(void);
/* CLOCK_REALTIME in milliseconds (timestamps that mean a date, as events carry). */
int64_t uh_wall_ms(void);

#endif
