/* Which kernel arguments an admin may add to an instance (`create --kernel-arg`): an allowlist
 * of what guests legitimately need. Everything else on a UML command line is either managed
 * by umlhost (disks, consoles, memory, the network, mconsole) or reaches the host: a second
 * network interface tunnelled over the host's network (`vec1:transport=l2tpv3,...`), host
 * files mapped or read into the guest (`iomem=`, `initrd=`, `hostfs=`, `dtb=`), host paths
 * (`tempdir=`, `uml_dir=`), helpers (`xterm=`). */
#ifndef UH_KERNEL_ARGS_H
#define UH_KERNEL_ARGS_H

#include "util/error.h"

/* 0 if `arg` is allowed; else -1 and one line in err naming the argument and the rule. */
int uh_kernel_arg_check(const char *arg, struct uh_error *err);

#endif
