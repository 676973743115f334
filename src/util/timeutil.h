#ifndef UH_UTIL_TIMEUTIL_H
#define UH_UTIL_TIMEUTIL_H

#include <stdint.h>

/* CLOCK_MONOTONIC in milliseconds / microseconds. */
int64_t uh_now_ms(void);
int64_t uh_now_us(void);

#endif
