/* The stats history: what each running server used per minute (kept 24 h) and per hour (kept
 * 30 days), so a customer's traffic graph needs no Prometheus. At each minute's end the
 * daemon reads every running server's counters (uh_instance_stats: the cgroup's CPU, the
 * tap's traffic, memory) and stores the difference from the minute before, in one
 * transaction; at each hour's end the hour's minutes are summed into an hour row, and what is
 * past its keeping goes. A server's first minute after the daemon or the server started has
 * no earlier reading and is not recorded (a difference needs two).
 *
 * Rows carry the server's owner then: after a chown, or for a later server of the same name,
 * the new owner sees none of the earlier rows.
 *
 * UMLHOST_STATS_MINUTE_SECONDS (tests only) shortens the "minute"; hours stay wall-clock hours. */
#include "auth/access.h"
#include "daemon/daemon.h"
#include "util/log.h"
#include "util/timeutil.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define KEEP_MINUTES_S (24 * 3600)
#define KEEP_HOURS_S (30 * 24 * 3600)

static int64_t period_s(void)
{
	const char *e = getenv("UMLHOST_STATS_MINUTE_SECONDS");
	long v = e ? strtol(e, NULL, 10) : 0;

	return v >= 1 && v <= 60 ? v : 60;
}

static uint64_t delta(uint64_t now, uint64_t before)
{
	return now >= before ? now - before : now; /* a counter that started again (a restart) */
}

static void sample(struct uh_daemon *d, int64_t period_start)
{
	struct uh_instance *i;
	struct uh_error err;
	int rows = 0, began = 0;

	for (i = d->instances; i; i = i->next) {
		json_t *s;
		struct uh_stats_rec r = {0};
		uint64_t cpu_ms;

		if (!(uh_instance_active(i) && i->rec.pid > 0)) {
			i->hist.have = 0;
			continue;
		}
		s = uh_instance_stats(i);
		cpu_ms = (uint64_t)(json_real_value(json_object_get(s, "cpu_seconds")) * 1000);
		snprintf(r.instance, sizeof(r.instance), "%s", i->rec.name);
		snprintf(r.owner, sizeof(r.owner), "%s", i->rec.owner[0] ? i->rec.owner : UH_PROVIDER);
		r.ts = period_start;
		r.rx_bytes = delta((uint64_t)json_integer_value(json_object_get(s, "rx_bytes")),
				   i->hist.rx_bytes);
		r.tx_bytes = delta((uint64_t)json_integer_value(json_object_get(s, "tx_bytes")),
				   i->hist.tx_bytes);
		r.rx_packets = delta((uint64_t)json_integer_value(json_object_get(s, "rx_packets")),
				     i->hist.rx_packets);
		r.tx_packets = delta((uint64_t)json_integer_value(json_object_get(s, "tx_packets")),
				     i->hist.tx_packets);
		r.cpu_ms = delta(cpu_ms, i->hist.cpu_ms);
		r.memory_bytes = (uint64_t)json_integer_value(json_object_get(s, "memory_bytes"));
		if (i->hist.have) {
			if (!began && uh_store_begin(d->store, &err) == 0)
				began = 1;
			if (uh_store_stats_add(d->store, &r, &err) < 0)
				uh_warnx("stats history %s: %s", i->rec.name, err.msg);
			rows++;
		}
		i->hist.have = 1;
		i->hist.rx_bytes = (uint64_t)json_integer_value(json_object_get(s, "rx_bytes"));
		i->hist.tx_bytes = (uint64_t)json_integer_value(json_object_get(s, "tx_bytes"));
		i->hist.rx_packets = (uint64_t)json_integer_value(json_object_get(s, "rx_packets"));
		i->hist.tx_packets = (uint64_t)json_integer_value(json_object_get(s, "tx_packets"));
		i->hist.cpu_ms = cpu_ms;
		json_decref(s);
	}
	if (began && uh_store_commit(d->store, &err) < 0) {
		uh_warnx("stats history: %s", err.msg);
		uh_store_rollback(d->store);
	}
	if (rows)
		uh_debug("stats history: %d servers at %lld", rows, (long long)period_start);
}

/* the hour that ended (again after a restart: the same rows) and what is past keeping */
static void roll_up(struct uh_daemon *d, int64_t now)
{
	int64_t hour = now - now % 3600 - 3600;
	struct uh_error err;

	if (uh_store_stats_rollup(d->store, hour, &err) < 0 ||
	    uh_store_stats_prune(d->store, now - KEEP_MINUTES_S, now - KEEP_HOURS_S, &err) < 0)
		uh_warnx("stats history: %s", err.msg);
}

static void arm(struct uh_daemon *d);

static void tick(void *arg)
{
	struct uh_daemon *d = arg;
	int64_t p = period_s(), now = time(NULL), end = now - now % p;

	sample(d, end - p);
	/* the hour that just ended; its last minute is in */
	if (end % 3600 < p)
		roll_up(d, now);
	arm(d);
}

static void arm(struct uh_daemon *d)
{
	int64_t p = period_s() * 1000, now = uh_wall_ms();

	/* just after the period's end, so the row's period is the one that ended */
	d->stats_timer = uh_loop_after(d->loop, p - now % p + 50, tick, d);
}

void uh_stats_history_init(struct uh_daemon *d)
{
	roll_up(d, time(NULL));
	arm(d);
}

struct columns {
	json_t *ts, *rx, *tx, *rxp, *txp, *cpu, *mem;
};

static int add_row(const struct uh_stats_rec *r, void *arg)
{
	struct columns *c = arg;

	json_array_append_new(c->ts, json_integer(r->ts));
	json_array_append_new(c->rx, json_integer((json_int_t)r->rx_bytes));
	json_array_append_new(c->tx, json_integer((json_int_t)r->tx_bytes));
	json_array_append_new(c->rxp, json_integer((json_int_t)r->rx_packets));
	json_array_append_new(c->txp, json_integer((json_int_t)r->tx_packets));
	json_array_append_new(c->cpu, json_real((double)r->cpu_ms / 1000.0));
	json_array_append_new(c->mem, json_integer((json_int_t)r->memory_bytes));
	return 0;
}

static json_t *series(struct uh_daemon *d, const struct uh_instance *inst, int hourly,
		      int64_t since)
{
	struct columns c = {json_array(), json_array(), json_array(), json_array(),
			    json_array(), json_array(), json_array()};
	struct uh_error err;

	if (uh_store_stats_list(d->store, inst->rec.name,
				inst->rec.owner[0] ? inst->rec.owner : UH_PROVIDER, hourly,
				since, add_row, &c, &err) < 0)
		uh_warnx("stats history %s: %s", inst->rec.name, err.msg);
	return json_pack("{s:i, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "period_seconds",
			 hourly ? 3600 : (int)period_s(), "ts", c.ts, "rx_bytes", c.rx, "tx_bytes",
			 c.tx, "rx_packets", c.rxp, "tx_packets", c.txp, "cpu_seconds", c.cpu,
			 "memory_bytes", c.mem);
}

json_t *uh_stats_history(struct uh_daemon *d, const struct uh_instance *inst)
{
	int64_t now = time(NULL);

	return json_pack("{s:o, s:o}", "minutes", series(d, inst, 0, now - KEEP_MINUTES_S),
			 "hours", series(d, inst, 1, now - KEEP_HOURS_S));
}
