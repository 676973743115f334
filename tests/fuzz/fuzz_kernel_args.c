/* libFuzzer target: the kernel-argument allowlist (kernel/args.c) on arbitrary strings, as an
 * API caller sends them. Whatever it accepts must not be able to reach the host: no ',' or ':'
 * (UML's device syntax: eth1=tuntap,..., vec1:transport=...), no control or shell bytes, no
 * word UML reads on the host side, no init under /dev, and an error line never holds a
 * newline. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "kernel/args.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const host_side[] = {"mem=", "iomem=", "initrd=", "hostfs=", "umid=",
					"uml_dir=", "mconsole=", "panic=", "tempdir=", "dtb=",
					"xterm=", "ubd", "udb", "con1", "ssl", "eth", "vec",
					"umlhost", "noreboot", "nosysemu", "earlyprintk",
					"fake_ide", "fake-ide", "time_travel", "time-travel",
					"debug", "dsp=", "mixer=", NULL};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char s[512];
	struct uh_error err;
	int i;

	/* an API string holds no NUL (jansson refuses \u0000 unless asked) */
	if (size >= sizeof(s) || memchr(data, 0, size))
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (uh_kernel_arg_check(s, &err) < 0) {
		if (strchr(err.msg, '\n') || strchr(err.msg, '\r'))
			__builtin_trap();
		return 0;
	}
	if (strlen(s) != size || size == 0 || size > 200)
		__builtin_trap();
	if (strchr(s, ',') || strchr(s, ':'))
		__builtin_trap();
	for (const char *p = s; *p; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f || strchr("$`;'\"\\|&<>()*?[]{}~!#%^", *p))
			__builtin_trap();
	for (i = 0; host_side[i]; i++)
		if (strncmp(s, host_side[i], strlen(host_side[i])) == 0)
			__builtin_trap();
	if (strncmp(s, "init=/dev/", 10) == 0 || strstr(s, ".."))
		if (strncmp(s, "init=", 5) == 0)
			__builtin_trap();
	return 0;
}
