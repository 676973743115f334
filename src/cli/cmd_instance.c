/* Instance commands: create, start/stop/restart/reboot/kill, delete, list, show, logs,
 * events, stats. Each is one API call; output is text or, with --json, the API's JSON. */
#include "cli/cli.h"

#include <errno.h>
#include <limits.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int call(struct uh_cli *cli, const char *method, const char *path, json_t *body,
		json_t **resp)
{
	struct uh_error err;
	int r = uh_client_call(cli, method, path, body, resp, &err);

	json_decref(body);
	if (r < 0)
		return uh_cli_fail(cli, &err);
	return UH_EXIT_OK;
}

static void print_instance_line(json_t *i)
{
	json_t *pid = json_object_get(i, "pid");
	char p[16] = "-";

	if (json_is_integer(pid))
		snprintf(p, sizeof(p), "%lld", (long long)json_integer_value(pid));
	printf("%-32s %-9s %-8s %6lldM %-16s %s\n", uh_cli_str(i, "name"), uh_cli_str(i, "state"), p,
	       (long long)json_integer_value(json_object_get(i, "memory_mib")), uh_cli_str(i, "template"),
	       uh_cli_str(i, "restart"));
}

/* The public keys in FILE (one per line, comments and blank lines skipped). */
static int read_keys(const char *path, json_t *keys, struct uh_error *err)
{
	FILE *fp = fopen(path, "re");
	char line[8192];
	int n = 0;

	if (fp == NULL)
		return uh_err(err, errno, "--ssh-key %s", path);
	while (fgets(line, sizeof(line), fp)) {
		line[strcspn(line, "\r\n")] = '\0';
		if (line[0] == '\0' || line[0] == '#')
			continue;
		json_array_append_new(keys, json_string(line));
		n++;
	}
	fclose(fp);
	if (n == 0)
		return uh_errx(err, "--ssh-key %s: no key in it", path);
	return 0;
}

/* The options of create, as its parser takes them, and their help (commands.c prints it) */
static const struct option create_opts[] = {{"template", required_argument, NULL, 't'},
					    {"memory", required_argument, NULL, 'm'},
					    {"network", required_argument, NULL, 'n'},
					    {"ip", required_argument, NULL, 'i'},
					    {"ssh-key", required_argument, NULL, 'S'},
					    {"swap", required_argument, NULL, 'w'},
					    {"disk", required_argument, NULL, 'D'},
					    {"kernel", required_argument, NULL, 'k'},
					    {"kernel-arg", required_argument, NULL, 'a'},
					    {"autostart", no_argument, NULL, 'A'},
					    {"restart", required_argument, NULL, 'r'},
					    {"cpu-quota", required_argument, NULL, 'q'},
					    {"pids-max", required_argument, NULL, 'p'},
					    {"reclaim", required_argument, NULL, 'R'},
					    {"backup-every", required_argument, NULL, 'E'},
					    {"backup-keep", required_argument, NULL, 'K'},
					    {"backup-to", required_argument, NULL, 'T'},
					    {"owner", required_argument, NULL, 'o'},
					    {"json", no_argument, NULL, 'j'},
					    {NULL, 0, NULL, 0}};
static const struct uh_cli_doc create_docs[] = {
	{"T", "the template its disk is a COW over", 1},
	{"SIZE", "memory (default: the daemon's default_memory)", 0},
	{"NET", "a network made with `network create`", 0},
	{"ADDR", "its address in the network's pool (default: the first free one)", 0},
	{"FILE", "public keys for root, one per line (cloud-init)", 0},
	{"SIZE", "a swap disk of this size", 0},
	{"FILE", "an extra disk, a file under the daemon's disk_dir (repeatable)", 0},
	{"K", "the kernel (default: the daemon's default kernel)", 0},
	{"ARG", "a kernel argument from the allowlist (repeatable)", 0},
	{NULL, "start it when the daemon starts", 0},
	{"POLICY", "no, on-failure or always", 0},
	{"PCT", "CPU limit, e.g. 50%", 0},
	{"N", "process limit (default: the daemon's pids_max)", 0},
	{"FLOOR", "memory reclaim: off, default or what the guest keeps available (32M)", 0},
	{"DURATION", "back it up every 24h, 30m, ...", 0},
	{"N", "keep the newest N scheduled backups", 0},
	{"DIR|URL", "where scheduled backups go (a directory or sftp://)", 0},
	{"CUSTOMER", "the customer it belongs to (default: provider)", 0},
	{NULL, NULL, 0},
};
const struct uh_cli_command uh_cli_cmd_create = {
	"create", "NAME", "define an instance (stopped) over a template", create_opts, create_docs,
	uh_cmd_create};

int uh_cmd_create(struct uh_cli *cli, int argc, char **argv)
{
	static const struct option *const opts = create_opts;
	/* the body owns the arrays: one json_decref frees everything */
	json_t *body = json_object(), *args = json_array(), *keys = json_array();
	json_t *disks = json_array(), *resp = NULL;
	struct uh_error kerr;
	char path[PATH_MAX];
	long v;
	int c, rc = UH_EXIT_OK;

	json_object_set_new(body, "kernel_args", args);
	json_object_set_new(body, "ssh_keys", keys);
	json_object_set_new(body, "disks", disks);
	optind = 0;
	while (rc == UH_EXIT_OK && (c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 't':
			json_object_set_new(body, "template", json_string(optarg));
			break;
		case 'm':
			json_object_set_new(body, "memory", json_string(optarg));
			break;
		case 'k':
			json_object_set_new(body, "kernel", json_string(optarg));
			break;
		case 'a':
			json_array_append_new(args, json_string(optarg));
			break;
		case 'A':
			json_object_set_new(body, "autostart", json_true());
			break;
		case 'r':
			json_object_set_new(body, "restart", json_string(optarg));
			break;
		case 'q':
			json_object_set_new(body, "cpu_quota", json_string(optarg));
			break;
		case 'R':
			json_object_set_new(body, "reclaim", json_string(optarg));
			break;
		case 'n':
			json_object_set_new(body, "network", json_string(optarg));
			break;
		case 'i':
			json_object_set_new(body, "ip", json_string(optarg));
			break;
		case 'w':
			json_object_set_new(body, "swap", json_string(optarg));
			break;
		case 'o':
			json_object_set_new(body, "owner", json_string(optarg));
			break;
		case 'E':
			json_object_set_new(body, "backup_every", json_string(optarg));
			break;
		case 'T':
			if (uh_cli_location(optarg, path, &kerr) < 0) {
				uh_err_prefix(&kerr, "--backup-to");
				rc = uh_cli_fail(cli, &kerr);
				break;
			}
			json_object_set_new(body, "backup_to", json_string(path));
			break;
		case 'K':
			if (uh_cli_parse_long(optarg, &v) < 0)
				rc = uh_cli_usage(cli, "invalid --backup-keep '%s'", optarg);
			else
				json_object_set_new(body, "backup_keep", json_integer(v));
			break;
		case 'D':
			if (realpath(optarg, path) == NULL) {
				uh_err(&kerr, errno, "--disk %s", optarg);
				rc = uh_cli_fail(cli, &kerr);
				break;
			}
			json_array_append_new(disks, json_string(path));
			break;
		case 'S':
			/* the CLI reads the key (the caller's file), the daemon checks it */
			if (read_keys(optarg, keys, &kerr) < 0)
				rc = uh_cli_fail(cli, &kerr);
			break;
		case 'p':
			if (uh_cli_parse_long(optarg, &v) < 0)
				rc = uh_cli_usage(cli, "invalid --pids-max '%s'", optarg);
			else
				json_object_set_new(body, "pids_max", json_integer(v));
			break;
		case 'j':
			cli->json = 1;
			break;
		default:
			rc = uh_cli_usage_of(cli, &uh_cli_cmd_create);
		}
	}
	if (rc == UH_EXIT_OK && argc - optind != 1)
		rc = uh_cli_usage(cli, "create needs exactly one NAME");
	if (rc != UH_EXIT_OK) {
		json_decref(body);
		return rc;
	}
	json_object_set_new(body, "name", json_string(argv[optind]));
	if (json_array_size(keys) == 0)
		json_object_del(body, "ssh_keys");
	if (json_array_size(disks) == 0)
		json_object_del(body, "disks");
	rc = call(cli, "POST", "/v1/instances", body, &resp); /* takes the body */
	if (rc != UH_EXIT_OK)
		return rc;
	if (cli->json)
		uh_cli_print_json(resp);
	else {
		if (json_is_string(json_object_get(resp, "ip")))
			printf("created %s (%s; %s on %s, tap %s)\n", uh_cli_str(resp, "name"),
			       uh_cli_str(resp, "disk"), uh_cli_str(resp, "ip"), uh_cli_str(resp, "network"),
			       uh_cli_str(resp, "tap"));
		else
			printf("created %s (%s)\n", uh_cli_str(resp, "name"), uh_cli_str(resp, "disk"));
		json_decref(resp);
	}
	return UH_EXIT_OK;
}

static const struct option lifecycle_opts[] = {{"timeout", required_argument, NULL, 't'},
					       {"json", no_argument, NULL, 'j'},
					       {NULL, 0, NULL, 0}};
static const struct uh_cli_doc lifecycle_docs[] = {
	{"SECONDS", "how long to wait for it (default: the daemon's start/stop timeout)", 0},
	{NULL, NULL, 0},
};
const struct uh_cli_command uh_cli_cmd_start = {
	"start", "NAME", "start an instance; returns when its kernel is up", lifecycle_opts,
	lifecycle_docs, uh_cmd_lifecycle};
const struct uh_cli_command uh_cli_cmd_stop = {
	"stop", "NAME", "stop it: ctrl-alt-del, halt, then SIGKILL at the timeout", lifecycle_opts,
	lifecycle_docs, uh_cmd_lifecycle};
const struct uh_cli_command uh_cli_cmd_restart = {
	"restart", "NAME", "stop, then start", lifecycle_opts, lifecycle_docs, uh_cmd_lifecycle};
const struct uh_cli_command uh_cli_cmd_reboot = {
	"reboot", "NAME", "reboot from inside (the kernel restarts, the process stays)",
	lifecycle_opts, lifecycle_docs, uh_cmd_lifecycle};
const struct uh_cli_command uh_cli_cmd_kill = {
	"kill", "NAME", "SIGKILL its kernel at once", lifecycle_opts, lifecycle_docs,
	uh_cmd_lifecycle};

int uh_cmd_lifecycle(struct uh_cli *cli, int argc, char **argv)
{
	static const struct option *const opts = lifecycle_opts;
	const char *action = argv[0];
	int words;
	const struct uh_cli_command *self = uh_cli_command_find(1, argv, &words);
	char path[256];
	json_t *body = json_object(), *resp = NULL;
	int c, ms, rc;

	optind = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 't':
			if (uh_cli_parse_seconds(optarg, &ms) < 0 || ms < 1000) {
				json_decref(body);
				return uh_cli_usage(cli, "invalid --timeout '%s' (seconds, >= 1)",
						    optarg);
			}
			json_object_set_new(body, "timeout", json_integer(ms / 1000));
			break;
		case 'j':
			cli->json = 1;
			break;
		default:
			json_decref(body);
			return uh_cli_usage_of(cli, self);
		}
	}
	if (argc - optind != 1) {
		json_decref(body);
		return uh_cli_usage(cli, "%s needs exactly one NAME", action);
	}
	if (strlen(argv[optind]) > 64) {
		json_decref(body);
		return uh_cli_usage(cli, "instance name too long");
	}
	snprintf(path, sizeof(path), "/v1/instances/%s/%s", argv[optind], action);
	rc = call(cli, "POST", path, body, &resp);
	if (rc != UH_EXIT_OK)
		return rc;
	if (cli->json) {
		uh_cli_print_json(resp);
	} else {
		json_t *pid = json_object_get(resp, "pid");
		if (json_is_integer(pid))
			printf("%s: %s (pid %lld)\n", uh_cli_str(resp, "name"), uh_cli_str(resp, "state"),
			       (long long)json_integer_value(pid));
		else
			printf("%s: %s\n", uh_cli_str(resp, "name"), uh_cli_str(resp, "state"));
		json_decref(resp);
	}
	return UH_EXIT_OK;
}

/* "NAME [--flag]" (shortopts: "f" where the flag is --follow, never a short --force) */
static int name_and_flag(const struct uh_cli_command *c, const char *shortopts,
			 struct uh_cli *cli, int argc, char **argv, const char **name, int *set)
{
	const char *val[2] = {NULL, NULL};
	char *pos[1];

	if (uh_cli_getopt(cli, c, shortopts, argc, argv, val, pos, 1) != 1 || strlen(pos[0]) > 64)
		return -1;
	*name = pos[0];
	*set = val[0] != NULL;
	return 0;
}

static const struct option delete_opts[] = {{"force", no_argument, NULL, 'F'},
					    {"json", no_argument, NULL, 'j'},
					    {NULL, 0, NULL, 0}};
static const struct uh_cli_doc delete_docs[] = {
	{NULL, "also while a backup is being made (it is cancelled)", 0},
	{NULL, NULL, 0},
};
const struct uh_cli_command uh_cli_cmd_delete = {
	"delete", "NAME", "delete a stopped instance and its disk", delete_opts, delete_docs,
	uh_cmd_delete};

int uh_cmd_delete(struct uh_cli *cli, int argc, char **argv)
{
	char path[256];
	json_t *resp = NULL;
	const char *name;
	int force, rc;

	if (name_and_flag(&uh_cli_cmd_delete, "", cli, argc, argv, &name, &force) < 0)
		return uh_cli_usage_of(cli, &uh_cli_cmd_delete);
	snprintf(path, sizeof(path), "/v1/instances/%s%s", name, force ? "?force=1" : "");
	rc = call(cli, "DELETE", path, NULL, &resp);
	if (rc != UH_EXIT_OK)
		return rc;
	if (cli->json)
		uh_cli_print_json(resp);
	else {
		printf("deleted %s\n", name);
		json_decref(resp);
	}
	return UH_EXIT_OK;
}

const struct uh_cli_command uh_cli_cmd_list = {"list", "", "the instances, one a line", NULL,
					       NULL, uh_cmd_list};

int uh_cmd_list(struct uh_cli *cli, int argc, char **argv)
{
	json_t *resp = NULL, *i;
	size_t k;
	int rc;

	if (argc != 1)
		return uh_cli_usage_of(cli, &uh_cli_cmd_list);
	if (cli->json) {
		struct uh_error err;
		char *raw = NULL;
		size_t len = 0;

		if (uh_client_call_raw(cli, "/v1/instances", &raw, &len, &err) < 0)
			return uh_cli_fail(cli, &err);
		fwrite(raw, 1, len, stdout);
		fputc('\n', stdout);
		free(raw);
		return UH_EXIT_OK;
	}
	rc = call(cli, "GET", "/v1/instances", NULL, &resp);
	if (rc != UH_EXIT_OK)
		return rc;
	if (cli->json) {
		uh_cli_print_json(resp);
		return UH_EXIT_OK;
	}
	printf("%-32s %-9s %-8s %7s %-16s %s\n", "NAME", "STATE", "PID", "MEMORY", "TEMPLATE",
	       "RESTART");
	json_array_foreach(resp, k, i)
		print_instance_line(i);
	json_decref(resp);
	return UH_EXIT_OK;
}

static void print_object(json_t *o)
{
	const char *k;
	json_t *v;

	json_object_foreach(o, k, v) {
		char *s = json_is_string(v) ? strdup(json_string_value(v))
					    : json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
		printf("%-18s %s\n", k, s);
		free(s);
	}
}

const struct uh_cli_command uh_cli_cmd_show = {"show", "NAME", "one instance, every field", NULL,
					       NULL, uh_cmd_show};

int uh_cmd_show(struct uh_cli *cli, int argc, char **argv)
{
	char path[256];
	json_t *resp = NULL;
	int rc;

	if (argc != 2 || strlen(argv[1]) > 64)
		return uh_cli_usage_of(cli, &uh_cli_cmd_show);
	snprintf(path, sizeof(path), "/v1/instances/%s", argv[1]);
	rc = call(cli, "GET", path, NULL, &resp);
	if (rc != UH_EXIT_OK)
		return rc;
	if (cli->json)
		uh_cli_print_json(resp);
	else {
		print_object(resp);
		json_decref(resp);
	}
	return UH_EXIT_OK;
}

const struct uh_cli_command uh_cli_cmd_stats = {
	"stats", "[NAME]", "CPU, memory, disk and traffic of the instances (or one)", NULL, NULL,
	uh_cmd_stats};

int uh_cmd_stats(struct uh_cli *cli, int argc, char **argv)
{
	char path[256];
	json_t *resp = NULL, *i;
	size_t k;
	int rc;

	if (argc > 2 || (argc == 2 && strlen(argv[1]) > 64))
		return uh_cli_usage_of(cli, &uh_cli_cmd_stats);
	if (argc == 2)
		snprintf(path, sizeof(path), "/v1/instances/%s/stats", argv[1]);
	else
		snprintf(path, sizeof(path), "/v1/stats");
	rc = call(cli, "GET", path, NULL, &resp);
	if (rc != UH_EXIT_OK)
		return rc;
	if (cli->json) {
		uh_cli_print_json(resp);
		return UH_EXIT_OK;
	}
	if (argc == 2) {
		print_object(resp);
	} else {
		printf("%-32s %-9s %10s %12s %12s %12s %12s\n", "NAME", "STATE", "CPU_S", "MEMORY",
		       "DISK", "RX", "TX");
		json_array_foreach(resp, k, i)
			printf("%-32s %-9s %10.2f %11lldK %11lldK %11lldK %11lldK\n", uh_cli_str(i, "name"),
			       uh_cli_str(i, "state"), json_real_value(json_object_get(i, "cpu_seconds")),
			       (long long)json_integer_value(json_object_get(i, "memory_bytes")) /
				       1024,
			       (long long)json_integer_value(json_object_get(i, "disk_bytes")) / 1024,
			       (long long)json_integer_value(json_object_get(i, "rx_bytes")) / 1024,
			       (long long)json_integer_value(json_object_get(i, "tx_bytes")) / 1024);
	}
	json_decref(resp);
	return UH_EXIT_OK;
}

static int write_out(const char *data, size_t len, void *arg)
{
	fwrite(data, 1, len, stdout);
	fflush(stdout);
	return 0;
}

static const struct option logs_opts[] = {{"follow", no_argument, NULL, 'f'},
					  {"json", no_argument, NULL, 'j'},
					  {NULL, 0, NULL, 0}};
static const struct uh_cli_doc logs_docs[] = {
	{NULL, "go on printing what comes (-f)", 0},
	{NULL, NULL, 0},
};
const struct uh_cli_command uh_cli_cmd_logs = {"logs", "NAME", "its console log", logs_opts,
					       logs_docs, uh_cmd_logs};

int uh_cmd_logs(struct uh_cli *cli, int argc, char **argv)
{
	struct uh_error err;
	const char *name;
	char path[256];
	int follow;

	if (name_and_flag(&uh_cli_cmd_logs, "f", cli, argc, argv, &name, &follow) < 0)
		return uh_cli_usage_of(cli, &uh_cli_cmd_logs);
	snprintf(path, sizeof(path), "/v1/instances/%s/logs%s", name, follow ? "?follow=1" : "");
	if (uh_client_stream(cli, path, write_out, NULL, &err) < 0)
		return uh_cli_fail(cli, &err);
	return UH_EXIT_OK;
}

struct events_ctx {
	struct uh_cli *cli;
	char *line;
	size_t len;
	json_t *all;
};

static void print_event(struct events_ctx *c, json_t *ev)
{
	time_t t;
	struct tm tm;
	char when[32];

	if (c->all) {
		json_array_append(c->all, ev);
		return;
	}
	if (c->cli->json) { /* --follow --json: one object per line */
		char *s = json_dumps(ev, JSON_COMPACT | JSON_PRESERVE_ORDER);
		puts(s);
		free(s);
		fflush(stdout);
		return;
	}
	t = (time_t)(json_integer_value(json_object_get(ev, "ts_ms")) / 1000);
	localtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
	printf("%s %-16s %-14s %s\n", when, uh_cli_str(ev, "instance"), uh_cli_str(ev, "type"),
	       uh_cli_str(ev, "message"));
	fflush(stdout);
}

static int events_chunk(const char *data, size_t len, void *arg)
{
	struct events_ctx *c = arg;
	char *nl;

	c->line = realloc(c->line, c->len + len + 1);
	if (c->line == NULL)
		abort();
	memcpy(c->line + c->len, data, len);
	c->len += len;
	c->line[c->len] = '\0';
	while ((nl = memchr(c->line, '\n', c->len)) != NULL) {
		json_t *ev;

		*nl = '\0';
		ev = json_loads(c->line, 0, NULL);
		if (ev)
			print_event(c, ev);
		json_decref(ev);
		c->len -= (size_t)(nl + 1 - c->line);
		memmove(c->line, nl + 1, c->len);
	}
	return 0;
}

static const struct option events_opts[] = {{"follow", no_argument, NULL, 'f'},
					    {"since", required_argument, NULL, 's'},
					    {"json", no_argument, NULL, 'j'},
					    {NULL, 0, NULL, 0}};
static const struct uh_cli_doc events_docs[] = {
	{NULL, "go on printing events as they come (-f)", 0},
	{"ID", "only events after this one", 0},
	{NULL, NULL, 0},
};
const struct uh_cli_command uh_cli_cmd_events = {
	"events", "", "what happened: starts, crashes, backups, guards, ...", events_opts,
	events_docs, uh_cmd_events};

int uh_cmd_events(struct uh_cli *cli, int argc, char **argv)
{
	struct events_ctx c = {.cli = cli};
	struct uh_error err;
	char path[128];
	const char *val[3] = {NULL, NULL, NULL};
	long long since = 0;
	long v = 0;
	int follow, r;

	if (uh_cli_getopt(cli, &uh_cli_cmd_events, "f", argc, argv, val, NULL, 0) != 0 ||
	    (val[1] && (uh_cli_parse_long(val[1], &v) < 0 || v < 0)))
		return uh_cli_usage_of(cli, &uh_cli_cmd_events);
	follow = val[0] != NULL;
	since = v;
	if (cli->json && !follow)
		c.all = json_array();
	snprintf(path, sizeof(path), "/v1/events?since=%lld%s", since, follow ? "&follow=1" : "");
	r = uh_client_stream(cli, path, events_chunk, &c, &err);
	free(c.line);
	if (r < 0) {
		json_decref(c.all);
		return uh_cli_fail(cli, &err);
	}
	if (c.all)
		uh_cli_print_json(c.all);
	return UH_EXIT_OK;
}

const struct uh_cli_command uh_cli_cmd_disk_flatten = {
	"disk flatten", "NAME", "make a stopped instance's COW a private image (no template)", NULL,
	NULL, uh_cmd_disk};
const struct uh_cli_command uh_cli_cmd_disk_resize = {
	"disk resize", "NAME SIZE", "grow a stopped instance's private image and its ext4", NULL,
	NULL, uh_cmd_disk};

int uh_cmd_disk(struct uh_cli *cli, int argc, char **argv)
{
	const struct uh_cli_command *self =
		argc >= 2 && strcmp(argv[1], "resize") == 0 ? &uh_cli_cmd_disk_resize
							    : &uh_cli_cmd_disk_flatten;
	char path[256];
	json_t *resp = NULL;
	int rc;

	if (argc < 3 || strlen(argv[2]) > 64)
		return uh_cli_usage_of(cli, self);
	if (strcmp(argv[1], "flatten") == 0 && argc == 3) {
		snprintf(path, sizeof(path), "/v1/instances/%s/flatten", argv[2]);
		rc = call(cli, "POST", path, json_object(), &resp);
	} else if (strcmp(argv[1], "resize") == 0 && argc == 4) {
		snprintf(path, sizeof(path), "/v1/instances/%s/resize", argv[2]);
		rc = call(cli, "POST", path, json_pack("{s:s}", "size", argv[3]), &resp);
	} else {
		return uh_cli_usage_of(cli, self);
	}
	if (rc != UH_EXIT_OK)
		return rc;
	if (cli->json) {
		uh_cli_print_json(resp);
		return UH_EXIT_OK;
	}
	if (argv[1][0] == 'f')
		printf("%s: its disk is now a private image (%s)\n", argv[2], uh_cli_str(resp, "disk"));
	else
		printf("%s: disk grown to %s (%s)\n", argv[2], argv[3], uh_cli_str(resp, "disk"));
	json_decref(resp);
	return UH_EXIT_OK;
}
