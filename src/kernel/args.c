/* The kernel-argument allowlist (see args.h). Pure: no I/O, fuzzed
 * (tests/fuzz/fuzz_kernel_args.c). Allowed:
 *   quiet ro rw single emergency           flags a distribution's boot uses
 *   loglevel=0..7
 *   console=NAME                          a console name (letters, then digits: ttyS0)
 *   init=/PATH                            a guest path, not under /dev
 *   root=/dev/ubdX[N]                     the guest's own disks
 *   systemd.KEY=VALUE                     systemd's switches (systemd.unit=rescue.target)
 *   WORD=VALUE                            for the guest's init scripts: WORD lowercase
 *                                         [a-z][a-z0-9_]*, VALUE [A-Za-z0-9._/+@-]*, so
 *                                         no ',' or ':' (UML's device syntax), and WORD not
 *                                         one UML (or umlhost) reads on the host side. */
#include "kernel/args.h"

#include <string.h>

#define ARG_MAX_LEN 200

static const char *const flags[] = {"quiet", "ro", "rw", "single", "emergency", NULL};

/* words UML's own setup code (or umlhost) takes, whole or as a prefix (ubd0=, con1=, eth0=) */
static const char *const host_words[] = {"mem", "iomem", "initrd", "hostfs", "umid", "uml_dir",
					 "mconsole", "panic", "tempdir", "dtb", "xterm", "aio",
					 "stderr", "debugtrace", "noprocmm", "nosysemu",
					 "time", "root", "init", "console", "loglevel", NULL};
static const char *const host_prefixes[] = {"ubd", "udb", "con", "ssl", "eth", "vec", "uml",
					    "umlhost", "hostfs", "virtio", "pci", NULL};
/* Every __uml_setup and arch/um __setup/early_param of linux-source-6.1 (grep of the tree),
 * matched as the kernel matches them: a prefix of the whole argument, '-' and '_' alike. An
 * entry ending in '=' takes only NAME=...; the others any argument that starts with them
 * (noreboot matches noreboot=1 and norebootx). */
static const char *const uml_setups[] = {"dsp=", "dtb=", "hostfs=", "initrd=", "iomem=", "mem=",
					 "mixer=", "noreboot", "nosysemu", "umid=", "uml_dir=",
					 "xterm=", "con", "earlyprintk", "eth", "fake_ide",
					 "mconsole=", "ssl", "stderr=", "time_travel", "ubd", "udb",
					 "vec", "debug", NULL};

/* Is a (with '-' read as '_') one that UML's setup code would take? */
static int uml_takes(const char *a)
{
	int i;

	for (i = 0; uml_setups[i]; i++) {
		const char *s = uml_setups[i], *p = a;

		while (*s && (*p == *s || (*p == '-' && *s == '_')))
			s++, p++;
		if (*s == '\0')
			return 1;
	}
	return 0;
}

static int in_set(const char *word, size_t len, const char *const *set)
{
	int i;

	for (i = 0; set[i]; i++)
		if (strlen(set[i]) == len && strncmp(word, set[i], len) == 0)
			return 1;
	return 0;
}

static int has_prefix(const char *word, const char *const *set)
{
	int i;

	for (i = 0; set[i]; i++)
		if (strncmp(word, set[i], strlen(set[i])) == 0)
			return 1;
	return 0;
}

static int all_of(const char *s, const char *chars)
{
	return s[strspn(s, chars)] == '\0';
}

#define LOWER "abcdefghijklmnopqrstuvwxyz"
#define UPPER "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
#define DIGIT "0123456789"
#define VALUE_CHARS LOWER UPPER DIGIT "._/+@-"

/* The first len - 1 bytes of arg, each byte outside the allowed ones as '?': an error line
 * never carries control bytes (into logs, the journal, a terminal). */
static const char *show(const char *arg, char *buf, size_t len)
{
	size_t i;

	for (i = 0; arg[i] && i < len - 1; i++)
		buf[i] = strchr(VALUE_CHARS "=,:", arg[i]) ? arg[i] : '?';
	buf[i] = '\0';
	return buf;
}

static int check_value(const char *arg, const char *v, struct uh_error *err)
{
	if (!all_of(v, VALUE_CHARS))
		return uh_errx(err, "kernel argument '%s': the value may hold only letters, digits "
				    "and ._/+@- (no ',' or ':', UML's device syntax)",
			       arg);
	return 0;
}

int uh_kernel_arg_check(const char *arg, struct uh_error *err)
{
	const char *eq, *v;
	size_t klen;

	char shown[61];

	if (arg == NULL || arg[0] == '\0' || strlen(arg) > ARG_MAX_LEN)
		return uh_errx(err, "kernel argument '%s' is empty or longer than %d bytes",
			       show(arg ? arg : "", shown, 41), ARG_MAX_LEN);
	if (!all_of(arg, VALUE_CHARS "=,:"))
		return uh_errx(err, "kernel argument '%s' has a character outside "
				    "[A-Za-z0-9._/+@=,:-]",
			       show(arg, shown, sizeof(shown)));
	eq = strchr(arg, '=');
	if (eq == NULL) {
		if (in_set(arg, strlen(arg), flags))
			return 0;
		if (uml_takes(arg))
			return uh_errx(err, "kernel argument '%s' is managed by umlhost or read by "
					    "UML on the host side",
				       arg);
		return uh_errx(err, "kernel argument '%s' is not allowed: flags are quiet, ro, rw, "
				    "single, emergency",
			       arg);
	}
	klen = (size_t)(eq - arg);
	v = eq + 1;
	if (klen == 8 && strncmp(arg, "loglevel", 8) == 0) {
		if (strlen(v) != 1 || v[0] < '0' || v[0] > '7')
			return uh_errx(err, "kernel argument '%s': loglevel is 0 to 7", arg);
		return 0;
	}
	if (klen == 7 && strncmp(arg, "console", 7) == 0) {
		size_t letters = strspn(v, LOWER UPPER);

		if (letters == 0 || letters > 8 || strlen(v) - letters > 2 ||
		    !all_of(v + letters, DIGIT))
			return uh_errx(err, "kernel argument '%s': console= takes a console name "
					    "such as tty0",
				       arg);
		return 0;
	}
	if (klen == 4 && strncmp(arg, "init", 4) == 0) {
		if (v[0] != '/' || strstr(v, "..") || strncmp(v, "/dev/", 5) == 0 ||
		    !all_of(v, LOWER UPPER DIGIT "._/-"))
			return uh_errx(err, "kernel argument '%s': init= takes an absolute guest "
					    "path outside /dev",
				       arg);
		return 0;
	}
	if (klen == 4 && strncmp(arg, "root", 4) == 0) {
		const char *d = v + 8;

		if (strncmp(v, "/dev/ubd", 8) != 0 || d[0] < 'a' || d[0] > 'z' ||
		    !all_of(d + 1, DIGIT))
			return uh_errx(err, "kernel argument '%s': root= takes one of the guest's "
					    "disks (/dev/ubdX)",
				       arg);
		return 0;
	}
	if (klen > 8 && strncmp(arg, "systemd.", 8) == 0) {
		char key[ARG_MAX_LEN + 1];

		memcpy(key, arg + 8, klen - 8);
		key[klen - 8] = '\0';
		if (key[0] == '\0' || !all_of(key, LOWER DIGIT "_.-"))
			return uh_errx(err, "kernel argument '%s': systemd.KEY=VALUE with a "
					    "lowercase KEY",
				       arg);
		return check_value(arg, v, err);
	}
	/* a word for the guest's init scripts */
	if (klen == 0 || klen > 32 || strchr(LOWER, arg[0]) == NULL) {
		return uh_errx(err, "kernel argument '%s' is not allowed: WORD=VALUE needs a "
				    "lowercase WORD of 1-32 letters, digits or _",
			       arg);
	}
	{
		char word[33];

		memcpy(word, arg, klen);
		word[klen] = '\0';
		if (!all_of(word, LOWER DIGIT "_"))
			return uh_errx(err, "kernel argument '%s' is not allowed: WORD=VALUE needs "
					    "a lowercase WORD of 1-32 letters, digits or _",
				       arg);
		if (in_set(word, klen, host_words) || has_prefix(word, host_prefixes) ||
		    uml_takes(arg))
			return uh_errx(err, "kernel argument '%s' is managed by umlhost or read by "
					    "UML on the host side",
				       arg);
	}
	return check_value(arg, v, err);
}
