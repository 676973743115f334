#include "daemon/budget.h"
#include "util/validate.h"

uint64_t uh_budget_mib(uint64_t host_mib, uint64_t reserve_mib, int overcommit_pct)
{
	uint64_t budget = host_mib > reserve_mib ? host_mib - reserve_mib : 0;

	return overcommit_pct > 100 ? budget * (uint64_t)overcommit_pct / 100 : budget;
}

int uh_budget_check(const char *name, uint64_t host_mib, uint64_t reserve_mib,
		    int overcommit_pct, uint64_t committed_mib, uint64_t request_mib,
		    struct uh_error *err)
{
	uint64_t budget = uh_budget_mib(host_mib, reserve_mib, overcommit_pct);
	uint64_t free_mib = budget > committed_mib ? budget - committed_mib : 0;
	char req[32], fr[32], tot[32];

	if (request_mib <= free_mib)
		return 0;
	uh_format_size(request_mib << 20, req, sizeof(req));
	uh_format_size(free_mib << 20, fr, sizeof(fr));
	uh_format_size(budget << 20, tot, sizeof(tot));
	return uh_errx(err, "%s: memory %s exceeds the free budget (%s of %s%s); stop an instance "
			    "or lower --memory",
		       name, req, fr, tot, overcommit_pct > 100 ? ", memory_overcommit included" : "");
}

int uh_budget_check_available(const char *name, uint64_t available_mib, uint64_t reserve_mib,
			      uint64_t request_mib, struct uh_error *err)
{
	uint64_t usable = available_mib > reserve_mib ? available_mib - reserve_mib : 0;
	char req[32], av[32];

	if (request_mib <= usable)
		return 0;
	uh_format_size(request_mib << 20, req, sizeof(req));
	uh_format_size(usable << 20, av, sizeof(av));
	return uh_errx(err, "%s: memory %s exceeds what the host has available now (%s beyond "
			    "memory_reserve); the servers use more than memory_overcommit assumed",
		       name, req, av);
}
