/* Unit tests of instance_spec.c: a request's instance is taken apart and checked without a
 * daemon; every refusal names the instance and what is wrong, one line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "daemon/instance_spec.h"
#include "util/timeutil.h"

static const struct uh_instance_limits lim = {128, 64, 4096, 2};

static void refused(const char *json, int flat, const char *needle)
{
	json_error_t je;
	json_t *p = json_loads(json, 0, &je);
	struct uh_instance_spec spec;
	struct uh_error err;

	if (p == NULL)
		fail_msg("bad test JSON %s: %s", json, je.text);
	if (uh_instance_spec_parse(p, flat, &lim, &spec, &err) == 0)
		fail_msg("%s was accepted", json);
	if (strstr(err.msg, needle) == NULL)
		fail_msg("%s: '%s' does not say '%s'", json, err.msg, needle);
	if (strchr(err.msg, '\n'))
		fail_msg("%s: the message has a newline", json);
	json_decref(p);
}

#define T "\"name\": \"web1\", \"template\": \"deb\""

static void test_refusals(void **state)
{
	refused("[]", 0, "create: the request is not a JSON object");
	refused("{}", 0, "create: a name is required");
	refused("{\"name\": \"../x\", \"template\": \"deb\"}", 0, "instance");
	refused("{\"name\": \"web1\"}", 0, "web1: --template is required");
	refused("{\"name\": \"web1\", \"template\": \"a b\"}", 0, "web1: invalid template name 'a b'");
	refused("{" T ", \"template_version\": \"2\"}", 0, "web1: template_version must be a version number");
	refused("{" T ", \"memory\": \"lots\"}", 0, "web1: --memory");
	refused("{" T ", \"memory\": \"32M\"}", 0, "web1: memory 32M is below the minimum 64M");
	refused("{" T ", \"memory\": \"64.5M\"}", 0, "web1: --memory");
	refused("{" T ", \"memory\": \"8G\"}", 0, "web1: memory 8G exceeds the host's RAM + swap (4G)");
	refused("{" T ", \"restart\": \"sometimes\"}", 0, "web1: --restart must be no, on-failure or always, not 'sometimes'");
	refused("{" T ", \"cpu_quota\": \"250%\"}", 0, "web1: --cpu-quota must be a percentage of one core from 1% to 200%, not '250%'");
	refused("{" T ", \"cpu_quota\": \"50%%\"}", 0, "--cpu-quota must be a percentage");
	refused("{" T ", \"cpu_quota\": \"0\"}", 0, "--cpu-quota must be a percentage");
	refused("{" T ", \"pids_max\": 8}", 0, "web1: --pids-max must be a number from 16 to 4194304");
	refused("{" T ", \"pids_max\": \"64\"}", 0, "web1: --pids-max must be a number");
	refused("{" T ", \"kernel\": \"a/b\"}", 0, "web1: invalid kernel name 'a/b'");
	refused("{" T ", \"kernel_args\": \"quiet\"}", 0, "web1: kernel_args must be an array");
	refused("{" T ", \"kernel_args\": [1]}", 0, "web1: kernel_args must be strings");
	refused("{" T ", \"kernel_args\": [\"vec1:transport=l2tpv3\"]}", 0, "web1: ");
	refused("{" T ", \"kernel_args\": [\"hostfs=/\"]}", 0, "web1: ");
	refused("{" T ", \"ssh_keys\": \"ssh-ed25519 AAAA\"}", 0, "web1: ssh_keys must be an array");
	refused("{" T ", \"ssh_keys\": [\"hello\"]}", 0, "web1: --ssh-key: 'hello...' is not an OpenSSH public key");
	refused("{" T ", \"ssh_keys\": [\"ssh-ed25519 A\\nB\"]}", 0, "web1: --ssh-key: a public key is one line");
	refused("{" T ", \"backup_every\": \"soon\"}", 0, "web1: --backup-every must be a duration like 24h, 30m or 10s, not 'soon'");
	refused("{" T ", \"backup_every\": \"0s\"}", 0, "--backup-every must be a duration");
	refused("{" T ", \"backup_every\": \"99999d\"}", 0, "--backup-every must be a duration");
	refused("{" T ", \"backup_keep\": 2}", 0, "web1: --backup-keep goes with --backup-every");
	refused("{" T ", \"backup_every\": \"1h\", \"backup_keep\": 0}", 0, "web1: --backup-keep must be a number from 1");
	refused("{" T ", \"backup_to\": \"/b\"}", 0, "web1: --backup-to goes with --backup-every");
	refused("{" T ", \"backup_every\": \"1h\", \"backup_to\": \"ftp://x/y\"}", 0, "web1: --backup-to");
	refused("{" T ", \"swap\": \"8M\"}", 0, "web1: --swap must be whole MiB from 16M to 64G");
	refused("{" T ", \"swap\": \"huge\"}", 0, "web1: --swap");
	refused("{" T ", \"disks\": \"/d/a\"}", 0, "web1: disks must be an array");
	refused("{" T ", \"disks\": [\"d/a\"]}", 0, "web1: --disk needs an absolute path without spaces, commas or colons");
	refused("{" T ", \"disks\": [\"/d/a,b\"]}", 0, "web1: --disk needs an absolute path");
	refused("{" T ", \"disks\": [\"/d/a:b\"]}", 0, "web1: --disk needs an absolute path");
	refused("{" T ", \"disks\": [\"/d/a\", \"/d/a\"]}", 0, "web1: --disk /d/a is given twice");
	refused("{" T ", \"disks\": [\"/1\",\"/2\",\"/3\",\"/4\",\"/5\",\"/6\",\"/7\",\"/8\",\"/9\"]}", 0, "web1: at most 8 --disk");
}

static void test_accepted(void **state)
{
	json_t *p = json_pack("{s:s, s:s, s:s, s:s, s:s, s:i, s:s, s:[s,s], s:[s], s:s, s:i, s:s,"
			      " s:s, s:[s,s], s:b, s:s, s:s, s:i}",
			      "name", "web1", "template", "deb", "memory", "256M", "restart",
			      "on-failure", "cpu_quota", "50%", "pids_max", 64, "kernel", "hosting",
			      "kernel_args", "quiet", "loglevel=3", "ssh_keys",
			      "ssh-ed25519 AAAAC3Nza me@host", "backup_every", "24h", "backup_keep",
			      3, "backup_to", "/srv/b", "swap", "64M", "disks", "/d/a", "/d/b",
			      "autostart", 1, "network", "pub", "ip", "192.0.2.5", "template_version",
			      2);
	struct uh_instance_spec s;
	struct uh_error err;

	assert_int_equal(uh_instance_spec_parse(p, 0, &lim, &s, &err), 0);
	assert_string_equal(s.rec.name, "web1");
	assert_string_equal(s.rec.template_name, "deb");
	assert_int_equal(s.template_version, 2);
	assert_int_equal(s.rec.memory_mib, 256);
	assert_string_equal(s.rec.restart, "on-failure");
	assert_int_equal(s.rec.cpu_quota_pct, 50);
	assert_int_equal(s.rec.pids_max, 64);
	assert_true(s.kernel_named);
	assert_string_equal(s.rec.kernel, "hosting");
	assert_string_equal(s.rec.kernel_args, "quiet loglevel=3");
	assert_int_equal(json_array_size(s.ssh_keys), 1);
	assert_int_equal(s.rec.backup_every_s, 86400);
	assert_int_equal(s.rec.backup_keep, 3);
	assert_string_equal(s.rec.backup_to, "/srv/b");
	assert_int_equal(s.rec.swap_mib, 64);
	assert_string_equal(s.rec.disks, "/d/a /d/b");
	assert_true(s.rec.autostart);
	assert_string_equal(s.network, "pub");
	assert_string_equal(s.ip, "192.0.2.5");
	json_decref(p);

	/* defaults: the limits' memory, restart no, no kernel named; a restored private image
	 * needs no template */
	p = json_pack("{s:s}", "name", "r1");
	assert_int_equal(uh_instance_spec_parse(p, 1, &lim, &s, &err), 0);
	assert_int_equal(s.rec.memory_mib, 128);
	assert_string_equal(s.rec.restart, "no");
	assert_false(s.kernel_named);
	assert_string_equal(s.rec.template_name, "");
	assert_null(s.ssh_keys);
	json_decref(p);
}

static void test_durations(void **state)
{
	int64_t v;

	assert_int_equal(uh_parse_duration("10", &v), 0);
	assert_int_equal(v, 10);
	assert_int_equal(uh_parse_duration("10s", &v), 0);
	assert_int_equal(uh_parse_duration("30m", &v), 0);
	assert_int_equal(v, 1800);
	assert_int_equal(uh_parse_duration("2d", &v), 0);
	assert_int_equal(v, 172800);
	assert_int_equal(uh_parse_duration("3650d", &v), 0);
	assert_int_equal(uh_parse_duration("3651d", &v), -1);
	assert_int_equal(uh_parse_duration("1hh", &v), -1);
	assert_int_equal(uh_parse_duration("-1h", &v), -1);
	assert_int_equal(uh_parse_duration("h", &v), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_accepted),
		cmocka_unit_test(test_durations),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
