/* The seed's memory rule: the instances' memory together must fit the host's RAM + swap,
 * less a reserve for the host itself. Pure: unit-tested. */
#ifndef UH_DAEMON_BUDGET_H
#define UH_DAEMON_BUDGET_H

#include <stdint.h>

#include "util/error.h"

/* 0 when request_mib fits; otherwise -1 with a message naming the numbers and the fix. */
int uh_budget_check(const char *name, uint64_t host_mib, uint64_t reserve_mib,
		    uint64_t committed_mib, uint64_t request_mib, struct uh_error *err);

#endif
