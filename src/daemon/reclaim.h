/* Memory reclaim: what idle guests once touched of the host's memory goes back to the host.
 *
 * A guest's RAM is a file on the host's tmpfs, and every page the guest ever touched stays in
 * it until the guest stops, its page cache included. Every reclaim_interval seconds the
 * daemon reads each running guest's memory over its mconsole (`proc meminfo`, `config mem`)
 * and, when the guest has more than its floor available (MemAvailable: free memory plus the
 * cache it can drop), unplugs the excess (`config mem=-N`): the hosting kernel
 * (kernel/patches/0003) takes those pages, dropping page cache for them, and punches them out
 * of the host's file. The guest takes them back by itself the moment an allocation has to
 * wait for memory, and all of them before its OOM killer would run: it never waits for this
 * loop. When a guest's available memory falls under half its floor, the loop also plugs back
 * what brings it to the floor, so that its next allocations need not reclaim first.
 *
 * Limits: a guest unplugs at most 128 MiB per round, and not in its first two rounds after a
 * start (boot reads everything once) nor within 30 s of taking memory back under pressure (it
 * is busy: what it frees now it needs again soon). */
#ifndef UH_DAEMON_RECLAIM_H
#define UH_DAEMON_RECLAIM_H

#include <stdint.h>

#include "mconsole/guest_mem.h"

struct uh_daemon;
struct uh_instance;

enum uh_reclaim_state {
	UH_RECLAIM_OFF,		/* not asked for (the instance's setting or reclaim_interval 0) */
	UH_RECLAIM_WAITING,	/* running, its first rounds not yet due */
	UH_RECLAIM_ON,		/* the guest's memory is read and reclaimed every round */
	UH_RECLAIM_UNSUPPORTED, /* its kernel cannot give memory back by itself */
};

static inline const char *uh_reclaim_state_name(int s)
{
	switch (s) {
	case UH_RECLAIM_WAITING:
		return "waiting";
	case UH_RECLAIM_ON:
		return "on";
	case UH_RECLAIM_UNSUPPORTED:
		return "unsupported";
	default:
		return "off";
	}
}

#define UH_RECLAIM_STEP (128ULL << 20)

/* What one round does to a guest: bytes to unplug (< 0), to plug back (> 0) or 0. floor:
 * what the guest keeps available; pressure: it took memory back since the last round. Whole
 * MiB only. Pure: unit-tested. */
int64_t uh_reclaim_decide(const struct uh_guest_mem *m, uint64_t floor, int pressure);

/* Arm the rounds (main.c). */
void uh_reclaim_init(struct uh_daemon *d);
/* The instance's kernel is gone or the instance is: drop its reclaim state (lifecycle.c). */
void uh_reclaim_drop(struct uh_instance *inst);

#endif
