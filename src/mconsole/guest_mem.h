/* What a guest's kernel says about its memory over the mconsole: `proc meminfo` (the guest's
 * /proc/meminfo) and `config mem` (kernel/patches/0003: "unplugged=BYTES returned=BYTES").
 * The text comes from a kernel that runs a customer's code: parsed strictly, bounded.
 * Pure code, no I/O: unit-tested and fuzzed. */
#ifndef UH_MCONSOLE_GUEST_MEM_H
#define UH_MCONSOLE_GUEST_MEM_H

#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

struct uh_guest_mem {
	uint64_t total;	    /* MemTotal, bytes */
	uint64_t free;	    /* MemFree */
	uint64_t available; /* MemAvailable: free plus what the guest can drop */
	uint64_t unplugged; /* taken by `config mem=-N` and not given back */
	uint64_t returned;  /* given back by the guest itself under pressure, since boot */
};

/* Fill total, free and available from `proc meminfo`'s text. -1 when one is missing, repeated
 * or not a number of kB, or when free or available exceeds total. */
int uh_guest_meminfo_parse(const char *text, size_t len, struct uh_guest_mem *m,
			   struct uh_error *err);
/* Fill unplugged and returned from `config mem`'s text. -1 unless it is exactly the patched
 * kernel's line (a stock kernel prints an address: it cannot give memory back by itself). */
int uh_guest_memconfig_parse(const char *text, size_t len, struct uh_guest_mem *m,
			     struct uh_error *err);

#endif
