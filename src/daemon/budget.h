/* The seed's memory rule: the instances' memory together must fit the host's RAM + swap,
 * less a reserve for the host itself. Pure: unit-tested. */
#ifndef UH_DAEMON_BUDGET_H
#define UH_DAEMON_BUDGET_H

#include <stdint.h>

#include "util/error.h"

/* 0 when request_mib fits; otherwise -1 with a message naming the numbers and the fix.
 * overcommit_pct (memory_overcommit, >= 100) scales the budget: with memory reclaim, idle
 * servers hold a fraction of their memory. */
/* The budget: host RAM + swap less the reserve, times overcommit_pct (100 or more) */
uint64_t uh_budget_mib(uint64_t host_mib, uint64_t reserve_mib, int overcommit_pct);
int uh_budget_check(const char *name, uint64_t host_mib, uint64_t reserve_mib,
		    int overcommit_pct, uint64_t committed_mib, uint64_t request_mib,
		    struct uh_error *err);
/* Overcommitted, the budget is a promise the host keeps only while servers idle: a server
 * starts only while the host has its memory available now (a boot touches most of it before
 * the first reclaim), the reserve aside. */
int uh_budget_check_available(const char *name, uint64_t available_mib, uint64_t reserve_mib,
			      uint64_t request_mib, struct uh_error *err);

#endif
