/* Memory reclaim's rounds (reclaim.h says what and why). Each round asks every running guest
 * in turn, at most BUSY_MAX at once, three short mconsole requests on a client of its own (the
 * lifecycle's client stays free for stop and reboot): `proc meminfo`, `config mem`, then the
 * change uh_reclaim_decide names, if any. A guest that does not answer within its deadline is
 * skipped until the next round; one whose kernel cannot give memory back is not asked again
 * until it starts again. */
#include "daemon/reclaim.h"
#include "daemon/daemon.h"
#include "util/log.h"
#include "util/scrub.h"
#include "util/timeutil.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>

#define BUSY_MAX 8
#define ASK_MS 2000  /* meminfo and config: the guest's kworker answers in microseconds */
#define ACT_MS 15000 /* an unplug reclaims inside the guest: up to 128 MiB of it */
#define GRACE_ROUNDS 2
#define HOLDOFF_S 30 /* after the guest took memory back: it is busy, what it frees it needs */
#define SKIP_S 60     /* after a request timed out */
#define MIB (1ULL << 20)

enum step { ASK_MEMINFO, ASK_CONFIG, ACT };

struct uh_reclaim {
	struct uh_instance *inst;
	struct uh_mc_client *mc;
	struct uh_watch *watch;
	struct uh_timer *deadline;
	struct uh_mc_result res;
	enum step step;
	int busy;
	unsigned round;	   /* the last round it was asked in */
	int rounds_seen;   /* rounds since its kernel started */
	int64_t calm_at;   /* no unplugging before (monotonic ms) */
	int64_t skip_until; /* it did not answer in time: left alone until then */
	int warned;
	struct uh_guest_mem mem;
};

static void next(struct uh_daemon *d);

int64_t uh_reclaim_decide(const struct uh_guest_mem *m, uint64_t floor, int pressure)
{
	uint64_t slack = floor / 4 > 4 * MIB ? floor / 4 : 4 * MIB, n;

	if (!pressure && m->available > floor + slack) {
		n = m->available - floor;
		if (n > UH_RECLAIM_STEP)
			n = UH_RECLAIM_STEP;
		return -(int64_t)(n / MIB * MIB);
	}
	if (m->unplugged > 0 && m->available < floor / 2) {
		n = floor - m->available;
		n = (n + MIB - 1) / MIB * MIB;
		if (n > m->unplugged)
			n = m->unplugged / MIB * MIB;
		return (int64_t)n;
	}
	return 0;
}

/* The guest's floor in bytes, 0 when it is not to be reclaimed. */
static uint64_t floor_of(const struct uh_instance *inst)
{
	const struct uh_config *c = &inst->d->cfg;

	if (c->reclaim_interval_s == 0 || inst->rec.reclaim_mib < 0)
		return 0;
	return (uint64_t)(inst->rec.reclaim_mib > 0 ? (uint64_t)inst->rec.reclaim_mib
						     : c->reclaim_floor_mib) * MIB;
}

static void finish(struct uh_reclaim *r)
{
	struct uh_daemon *d = r->inst->d;

	uh_loop_cancel(d->loop, r->deadline);
	r->deadline = NULL;
	uh_loop_unwatch(d->loop, r->watch);
	r->watch = NULL;
	uh_mc_result_clear(&r->res);
	if (r->busy) {
		r->busy = 0;
		d->reclaim_busy--;
	}
}

static void readable(void *arg, uint32_t events);

static void timed_out(void *arg);

static int ask(struct uh_reclaim *r, enum step step, const char *cmd, int ms)
{
	struct uh_daemon *d = r->inst->d;
	struct uh_error err;

	uh_mc_result_clear(&r->res);
	if (uh_mc_send(r->mc, cmd, &r->res, &err) < 0) {
		if (!r->warned++)
			uh_warnx("%s: reclaim: %s", r->inst->rec.name, err.msg);
		return -1;
	}
	r->step = step;
	if (r->watch == NULL)
		r->watch = uh_loop_watch(d->loop, uh_mc_client_fd(r->mc), EPOLLIN, readable, r);
	uh_loop_cancel(d->loop, r->deadline);
	r->deadline = uh_loop_after(d->loop, ms, timed_out, r);
	return r->watch && r->deadline ? 0 : -1;
}

static void timed_out(void *arg)
{
	struct uh_reclaim *r = arg;
	struct uh_daemon *d = r->inst->d;

	r->deadline = NULL;
	finish(r);
	uh_mc_abandon(r->mc); /* a late answer goes to a socket no longer bound */
	r->skip_until = uh_now_ms() + SKIP_S * 1000;
	next(d);
}

/* The answers so far are in r->mem: change the guest, or not. */
static int act(struct uh_reclaim *r)
{
	int64_t delta, now = uh_now_ms();
	char cmd[64];

	if (r->mem.returned > r->inst->mem.returned)
		r->calm_at = now + HOLDOFF_S * 1000;
	r->inst->mem.unplugged = r->mem.unplugged;
	r->inst->mem.returned = r->mem.returned;
	r->inst->mem.state = UH_RECLAIM_ON;
	if (floor_of(r->inst) == 0) {
		/* reclaim was turned off for it while it ran: give back what is unplugged */
		r->inst->mem.state = UH_RECLAIM_OFF;
		delta = (int64_t)r->mem.unplugged;
	} else {
		delta = uh_reclaim_decide(&r->mem, floor_of(r->inst), now < r->calm_at);
	}
	if (delta == 0)
		return 1;
	snprintf(cmd, sizeof(cmd), "config mem=%c%" PRIu64 "K", delta < 0 ? '-' : '+',
		 (uint64_t)(delta < 0 ? -delta : delta) >> 10);
	return ask(r, ACT, cmd, ACT_MS) < 0 ? -1 : 0;
}

static void readable(void *arg, uint32_t events)
{
	struct uh_reclaim *r = arg;
	struct uh_instance *inst = r->inst;
	struct uh_daemon *d = inst->d;
	struct uh_error err;
	char text[80];
	int rc = uh_mc_receive(r->mc, &r->res, &err), done = 1;

	(void)events;
	if (rc == 0)
		return;
	if (rc < 0 || r->res.err) {
		uh_escape_text(text, sizeof(text), r->res.text ? r->res.text : "");
		if (!r->warned++)
			uh_warnx("%s: reclaim: %s", inst->rec.name,
				 rc < 0 ? err.msg : r->res.text ? text : "refused");
	} else if (r->step == ASK_MEMINFO) {
		if (uh_guest_meminfo_parse(r->res.text, r->res.len, &r->mem, &err) == 0)
			done = ask(r, ASK_CONFIG, "config mem", ASK_MS) < 0;
		else if (!r->warned++)
			uh_warnx("%s: reclaim: %s", inst->rec.name, err.msg);
	} else if (r->step == ASK_CONFIG) {
		if (uh_guest_memconfig_parse(r->res.text, r->res.len, &r->mem, &err) == 0) {
			done = act(r) != 0;
		} else {
			inst->mem.state = UH_RECLAIM_UNSUPPORTED;
			uh_warnx("%s: reclaim off: %s", inst->rec.name, err.msg);
		}
	}
	if (done) {
		finish(r);
		next(d);
	}
}

/* Due this round: running, reclaimed (or turned off with memory still unplugged), not asked
 * yet, not answering late, and nothing else talking to its kernel (an operation, a backup's
 * freeze: the mconsole handles one request at a time) */
static int eligible(const struct uh_instance *inst, unsigned round, int64_t now)
{
	const struct uh_reclaim *r = inst->reclaim;

	if (inst->state != UH_STATE_RUNNING || inst->rec.pid <= 0 ||
	    inst->mem.state == UH_RECLAIM_UNSUPPORTED || inst->ops != NULL ||
	    inst->claim.kind != UH_CLAIM_NONE)
		return 0;
	if (floor_of(inst) == 0 && inst->mem.unplugged == 0)
		return 0;
	return r == NULL || (!r->busy && r->round != round && now >= r->skip_until);
}

static int begin(struct uh_instance *inst)
{
	struct uh_daemon *d = inst->d;
	struct uh_reclaim *r = inst->reclaim;
	struct uh_error err;

	if (r == NULL) {
		r = calloc(1, sizeof(*r));
		if (r == NULL)
			return -1;
		r->inst = inst;
		inst->reclaim = r;
		inst->mem.state = UH_RECLAIM_WAITING;
	}
	r->round = d->reclaim_round;
	if (++r->rounds_seen <= GRACE_ROUNDS)
		return 0;
	if (r->mc == NULL && uh_mc_client_new(inst->mconsole, inst->run_dir, &r->mc, &err) < 0) {
		if (!r->warned++)
			uh_warnx("%s: reclaim: %s", inst->rec.name, err.msg);
		return -1;
	}
	r->busy = 1;
	d->reclaim_busy++;
	if (ask(r, ASK_MEMINFO, "proc meminfo", ASK_MS) < 0) {
		finish(r);
		return -1;
	}
	return 0;
}

/* Ask the next guests of the round, up to BUSY_MAX at once, those asked longest ago first
 * (a round that outlasts the interval must not starve the end of the list). */
static void next(struct uh_daemon *d)
{
	int64_t now = uh_now_ms();

	while (d->reclaim_busy < BUSY_MAX) {
		struct uh_instance *inst, *best = NULL;
		unsigned age, best_age = 0;

		for (inst = d->instances; inst; inst = inst->next) {
			if (!eligible(inst, d->reclaim_round, now))
				continue;
			age = inst->reclaim ? d->reclaim_round - inst->reclaim->round : UINT_MAX;
			if (best == NULL || age > best_age) {
				best = inst;
				best_age = age;
			}
		}
		/* begin marks it asked this round on every way but out of memory */
		if (best == NULL || (begin(best) < 0 && best->reclaim == NULL))
			return;
	}
}

static void tick(void *arg)
{
	struct uh_daemon *d = arg;
	struct uh_instance *inst;
	int s = d->cfg.reclaim_interval_s;

	d->reclaim_timer = NULL;
	for (inst = d->instances; inst; inst = inst->next)
		if (inst->state == UH_STATE_RUNNING && floor_of(inst) == 0 &&
		    inst->mem.state != UH_RECLAIM_UNSUPPORTED)
			inst->mem.state = UH_RECLAIM_OFF;
	if (s > 0) {
		d->reclaim_round++;
		next(d);
	}
	d->reclaim_timer = uh_loop_after(d->loop, (s > 0 ? s : 5) * 1000LL, tick, d);
}

void uh_reclaim_init(struct uh_daemon *d)
{
	d->reclaim_timer = uh_loop_after(d->loop, 1000, tick, d);
}

void uh_reclaim_drop(struct uh_instance *inst)
{
	struct uh_reclaim *r = inst->reclaim;

	memset(&inst->mem, 0, sizeof(inst->mem));
	if (r == NULL)
		return;
	finish(r);
	uh_mc_client_free(r->mc);
	free(r);
	inst->reclaim = NULL;
}
