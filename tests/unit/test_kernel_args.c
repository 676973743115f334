/* Unit tests of the kernel-argument allowlist (kernel/args.c, issue 14 item 7). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "kernel/args.h"

static void allowed(const char *a)
{
	struct uh_error err;

	if (uh_kernel_arg_check(a, &err) != 0)
		fail_msg("'%s' refused: %s", a, err.msg);
}

static void refused(const char *a, const char *why)
{
	struct uh_error err;

	if (uh_kernel_arg_check(a, &err) == 0)
		fail_msg("'%s' allowed", a);
	if (strstr(err.msg, why) == NULL)
		fail_msg("'%s': '%s' lacks '%s'", a, err.msg, why);
	assert_null(strchr(err.msg, '\n'));
}

static void test_what_guests_need(void **state)
{
	const char *ok[] = {"quiet", "ro", "rw", "single", "emergency", "loglevel=0", "loglevel=7",
			    "console=tty0", "console=ttyS0", "init=/sbin/init", "init=/etc/uh-rc",
			    "root=/dev/ubda", "root=/dev/ubdz", "root=/dev/ubdb1",
			    "systemd.unit=rescue.target", "systemd.log_level=debug",
			    "systemd.show_status=0", "uhmode=httpd", "fillmb=50", "bigmb=4",
			    "a=", "my_var=x.y-z/1+2@3", NULL};
	int i;

	for (i = 0; ok[i]; i++)
		allowed(ok[i]);
}

static void test_what_reaches_the_host(void **state)
{
	/* a second, unguarded interface over the host's network */
	refused("vec1:transport=l2tpv3,src=192.0.2.1,dst=192.0.2.2", "not allowed");
	refused("vec1=transport", "managed by umlhost");
	refused("eth1=tuntap,tap9", "managed by umlhost");
	refused("eth1=tuntap", "managed by umlhost");
	/* host files and paths */
	refused("hostfs=/", "managed by umlhost");
	refused("initrd=/etc/shadow", "managed by umlhost");
	refused("iomem=x,/etc/shadow", "managed by umlhost");
	refused("myvar=a,b", "UML's device syntax");
	refused("myvar=fd:0", "UML's device syntax");
	refused("iomem=x", "managed by umlhost");
	refused("dtb=/etc/x", "managed by umlhost");
	refused("tempdir=/tmp", "managed by umlhost");
	refused("xterm=foo", "managed by umlhost");
	/* what umlhost manages */
	refused("mem=1G", "managed by umlhost");
	refused("umid=x", "managed by umlhost");
	refused("uml_dir=/tmp", "managed by umlhost");
	refused("ubd1=/etc/shadow", "managed by umlhost");
	refused("ubdb=/x", "managed by umlhost");
	refused("con1=fd:0", "managed by umlhost");
	refused("con1=pts", "managed by umlhost");
	refused("ssl0=pts", "managed by umlhost");
	refused("mconsole=notify", "managed by umlhost");
	refused("panic=0", "managed by umlhost");
	refused("umlhost.ip=192.0.2.9/32", "WORD=VALUE needs");
	/* malformed or odd */
	refused("", "empty");
	refused("init=/dev/mem", "outside /dev");
	refused("init=../x", "absolute guest path");
	refused("init=/a/../../b", "absolute guest path");
	refused("root=/dev/sda", "guest's disks");
	refused("root=/etc", "guest's disks");
	refused("loglevel=8", "0 to 7");
	refused("console=tty0,115200", "console name");
	refused("nosysemu", "managed by umlhost");
	refused("time-travel", "managed by umlhost");
	refused("debugtrace", "managed by umlhost");
	refused("quietx", "flags are");
	/* the kernel's own matching: a prefix of the whole argument, '-' and '_' alike */
	refused("noreboot=1", "managed by umlhost");
	refused("nosysemux=1", "managed by umlhost");
	refused("debugx=1", "managed by umlhost");
	refused("time_travel=inf-cpu", "managed by umlhost");
	refused("time_travel_start=5", "managed by umlhost");
	refused("earlyprintk=1", "managed by umlhost");
	refused("fake_ide=1", "managed by umlhost");
	refused("dsp=x", "managed by umlhost");
	refused("mixer=x", "managed by umlhost");
	refused("uml-dir=x", "not allowed");
	refused("Foo=1", "lowercase WORD");
	refused("x y", "character outside");
	refused("x=$(id)", "character outside");
	refused("x=a\nb", "character outside");
	refused("systemd.=1", "not allowed");
	refused("systemd.Unit=x", "lowercase KEY");
	refused("systemd.unit=a,b", "UML's device syntax");
}

static void test_length(void **state)
{
	char big[256];

	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	refused(big, "longer than 200");
	memcpy(big, "w=", 2);
	big[200] = '\0';
	allowed(big);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_what_guests_need),
		cmocka_unit_test(test_what_reaches_the_host),
		cmocka_unit_test(test_length),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
