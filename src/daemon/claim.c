/* Claims on an instance's disk by work outside its kernel (a backup's snapshot, a flatten, a
 * resize): one at a time, taken by the module that does the work, checked by whoever would
 * touch the disk (start, delete, another such job). The modules never ask each other. */
#include <errno.h>
#include <stddef.h>

#include "daemon/daemon.h"

int uh_instance_claimed(const struct uh_instance *inst, struct uh_error *err)
{
	switch (inst->claim.kind) {
	case UH_CLAIM_NONE:
		return 0;
	case UH_CLAIM_BACKUP:
		return uh_errc(err, EBUSY, "%s: a backup is being made; try again when it is done",
			       inst->rec.name);
	case UH_CLAIM_FLATTEN:
	case UH_CLAIM_RESIZE:
		break;
	}
	return uh_errc(err, EBUSY, "%s: its disk is being %s; try again when that is done",
		       inst->rec.name, inst->claim.kind == UH_CLAIM_RESIZE ? "resized" : "flattened");
}

int uh_instance_claim(struct uh_instance *inst, enum uh_claim_kind kind, uh_cancel_fn cancel,
		      void *arg, struct uh_error *err)
{
	if (uh_instance_claimed(inst, err) < 0)
		return -1;
	inst->claim.kind = kind;
	inst->claim.cancel = cancel;
	inst->claim.arg = arg;
	return 0;
}

void uh_instance_release(struct uh_instance *inst, void *arg)
{
	if (inst->claim.kind == UH_CLAIM_NONE || inst->claim.arg != arg)
		return;
	inst->claim.kind = UH_CLAIM_NONE;
	inst->claim.cancel = NULL;
	inst->claim.arg = NULL;
}

void uh_instance_claim_cancel(struct uh_instance *inst)
{
	/* the hook ends the work, which releases the claim */
	if (inst->claim.kind != UH_CLAIM_NONE && inst->claim.cancel)
		inst->claim.cancel(inst->claim.arg);
}
