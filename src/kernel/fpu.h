/* Can this UML kernel run on this host's CPU? A UML kernel moves each guest process's
 * FPU/vector registers with ptrace(PTRACE_GETREGSET/SETREGSET, NT_X86_XSTATE). The host's
 * user XSAVE size differs between CPUs (832 AVX2-only, 2440 AVX2 + PKRU, 2432 or 2696
 * AVX-512, 11008 AMX); SETREGSET clamps a longer buffer to it but refuses a shorter one with
 * EFAULT (measured: 2432-byte host, lengths 512-2000 refused, 2432-11008 taken). Debian's
 * UML 6.1 hard-codes 2696, so it runs where the area is at most 2696 bytes and dies at init
 * on larger ones (AMX). A kernel built with our patch series (kernel/patches/) probes the
 * size at boot and runs on any host. */
#ifndef UH_KERNEL_FPU_H
#define UH_KERNEL_FPU_H

#include <stddef.h>

#include "util/error.h"

/* What Debian's linux-source-6.1 and user-mode-linux 6.1 hold per process
 * (arch/x86/um/user-offsets.c: DEFINE_LONGS(HOST_FP_SIZE, 2696)). */
#define UH_FPU_UML61_BYTES 2696L

/* A kernel's FPU state: UH_FPU_PROBED (sized from the host at boot), else a fixed size in
 * bytes. */
#define UH_FPU_PROBED 0L

/* The host's user XSAVE size as ptrace hands it out: a child of ours stops itself, we read
 * its NT_X86_XSTATE regset with a buffer larger than the area (the kernel shortens iov_len
 * to the area's size). 512 on a CPU without XSAVE (the FXSAVE image). */
int uh_fpu_probe_host(long *bytes, struct uh_error *err);

/* Parse a kernel info file's `fpu_size` value: "host" or a number of bytes. */
int uh_fpu_parse(const char *value, long *fpu, struct uh_error *err);

/* Does a kernel with FPU state `fpu` run on a host of `host` bytes (0: host unknown, then it
 * is assumed to)? A fixed size runs where it is at least the host's. When it does not, `why`
 * says so in one line naming both sizes and the fix. */
int uh_fpu_fits(const char *kernel, long fpu, long host, char *why, size_t len);

/* Does this kernel binary carry the patch series (its boot line's format string)? 1 yes, 0
 * no, -1 when it cannot be read. */
int uh_fpu_binary_probes(const char *path, struct uh_error *err);

#endif
