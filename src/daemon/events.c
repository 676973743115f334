/* Events: every transition and finding, kept in the store for `umlhost events`, logged, and
 * pushed to followers. Much of their text comes from guests (what a guest writes to
 * /proc/mconsole, its kernel's panic message), so it is escaped before it reaches a log
 * line or the journal, guest notifications are rate-limited per instance (a guest that
 * writes in a loop costs one event a second, and one event saying how many were dropped),
 * and the table is pruned every minute to events_keep rows and events_max_days. */
#include "daemon/daemon.h"
#include "util/log.h"
#include "util/scrub.h"
#include "util/timeutil.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define PRUNE_INTERVAL_MS 60000
#define GUEST_BURST 20
#define GUEST_PER_MINUTE 60

void uh_daemon_event(struct uh_daemon *d, const char *instance, const char *type,
		     const char *fmt, ...)
{
	struct uh_event_rec ev = {0};
	struct uh_error err;
	char raw[sizeof(ev.message)];
	va_list ap;

	ev.ts_ms = uh_wall_ms();
	snprintf(ev.instance, sizeof(ev.instance), "%s", instance);
	/* whose it is when it happens: a later chown, or a new instance of the same name,
	 * does not hand this one to another customer */
	for (struct uh_instance *i = d->instances; i; i = i->next)
		if (strcmp(i->rec.name, instance) == 0)
			snprintf(ev.owner, sizeof(ev.owner), "%s", i->rec.owner);
	snprintf(ev.type, sizeof(ev.type), "%s", type);
	va_start(ap, fmt);
	vsnprintf(raw, sizeof(raw), fmt, ap);
	va_end(ap);
	uh_escape_text(ev.message, sizeof(ev.message), raw);
	uh_info("%s: %s%s%s", instance, type, ev.message[0] ? ": " : "", ev.message);
	if (uh_store_event_add(d->store, &ev, &err) < 0)
		uh_warnx("%s: %s", instance, err.msg);
	if (d->on_event)
		d->on_event(d);
}

static void report_dropped(struct uh_instance *inst)
{
	uint64_t n = uh_ratelimit_dropped(&inst->guest_rate);

	if (n)
		uh_daemon_event(inst->d, inst->rec.name, "guest-events-dropped",
				"%llu notifications from the guest dropped (more than %d a "
				"minute after a burst of %d)",
				(unsigned long long)n, GUEST_PER_MINUTE, GUEST_BURST);
}

int uh_guest_event_allowed(struct uh_instance *inst)
{
	int64_t now = uh_now_ms();

	if (inst->guest_rate.burst == 0)
		uh_ratelimit_init(&inst->guest_rate, GUEST_BURST, GUEST_PER_MINUTE, now);
	if (!uh_ratelimit_take(&inst->guest_rate, now))
		return 0;
	report_dropped(inst); /* what came before this one, said first */
	return 1;
}

static void prune(struct uh_daemon *d)
{
	int64_t before = uh_wall_ms() - (int64_t)d->cfg.events_max_days * 86400 * 1000;
	struct uh_error err;
	int n = 0;

	if (uh_store_event_prune(d->store, d->cfg.events_keep, before, &n, &err) < 0)
		uh_warnx("events: %s", err.msg);
	else if (n)
		uh_debug("events: pruned %d", n);
}

static void tick(void *arg)
{
	struct uh_daemon *d = arg;
	struct uh_instance *i;

	for (i = d->instances; i; i = i->next)
		report_dropped(i);
	prune(d);
	d->events_timer = uh_loop_after(d->loop, PRUNE_INTERVAL_MS, tick, d);
}

void uh_events_init(struct uh_daemon *d)
{
	prune(d);
	d->events_timer = uh_loop_after(d->loop, PRUNE_INTERVAL_MS, tick, d);
}
