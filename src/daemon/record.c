/* An instance's record written to the store, and what a lost compare-and-swap means on one
 * host (docs/architecture.md): below instance.c and network.c, which both write records. */
#include "daemon/daemon.h"

#include <errno.h>

/* A write lost its compare-and-swap: someone else wrote the record (by hand, with sqlite3;
 * there is no second daemon on a host: the run directory's lock). On one host memory is the
 * truth (docs/architecture.md): the store's revision is taken so that the next write lands
 * over theirs; the event says it happened. (A removed row is made again: rev 0.) */
void uh_instance_take_rev(struct uh_instance *inst, const struct uh_error *lost)
{
	struct uh_instance_rec cur;
	struct uh_error err;
	int r = uh_store_instance_get(inst->d->store, inst->rec.name, &cur, &err);

	if (r < 0)
		return;
	inst->rec.rev = r == 1 ? 0 : cur.rev;
	uh_daemon_event(inst->d, inst->rec.name, "store-conflict",
			"%s; this host's state goes over it", lost->msg);
}

int uh_instance_write(struct uh_instance *inst, struct uh_error *err)
{
	int r = uh_store_instance_put(inst->d->store, &inst->rec, err);

	if (r < 0 && err->errnum == ESTALE) {
		uh_instance_take_rev(inst, err);
		r = uh_store_instance_put(inst->d->store, &inst->rec, err);
	}
	return r;
}

