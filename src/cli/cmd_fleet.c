/* umlhost plan FILE, apply FILE, export: the fleet file (issue 18). The daemon reads the file,
 * makes the plan and carries it out (so the CLI, the panel and a cluster share one reading);
 * this sends the file's text and shows the answer. Exit status of plan: 0 nothing to do,
 * 3 changes planned; of apply: 0 all done, 3 done but some changes refused (their flags
 * missing: still planned), 1 a failure; 1 an error (a file's names FILE:LINE:COLUMN), 2 usage
 * for both. */
#include "cli/cli.h"
#include "util/cleanup.h"
#include "util/fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define FLEET_MAX (1 << 20)
#define EXIT_CHANGES 3

static const struct option plan_opts[] = {{"prune", no_argument, NULL, 'p'},
					  {"allow-replace", required_argument, NULL, 'r'},
					  {NULL, 0, NULL, 0}};
static const struct uh_cli_doc plan_docs[] = {
	{NULL, "let it destroy servers the file made and no longer lists", 0},
	{"NAME[,NAME]", "let it replace these servers (a new disk: their data goes)", 0},
	{NULL, NULL, 0},
};
const struct uh_cli_command uh_cli_cmd_plan = {
	"plan", "FILE", "what applying the fleet file would change (exit 0: nothing, 3: changes)",
	plan_opts, plan_docs, uh_cmd_plan};
static const struct option apply_opts[] = {{"prune", no_argument, NULL, 'p'},
					   {"allow-replace", required_argument, NULL, 'r'},
					   {"plan", required_argument, NULL, 's'},
					   {"parallel", required_argument, NULL, 'n'},
					   {NULL, 0, NULL, 0}};
static const struct uh_cli_doc apply_docs[] = {
	{NULL, "let it destroy servers the file made and no longer lists", 0},
	{"NAME[,NAME]", "let it replace these servers (a new disk: their data goes)", 0},
	{"SAVED", "apply only this plan (umlhost --json plan FILE > SAVED), refused if the host "
		  "moved since",
	 0},
	{"N", "servers changed at a time (1-64, default 4)", 0},
	{NULL, NULL, 0},
};
const struct uh_cli_command uh_cli_cmd_apply = {
	"apply", "FILE", "carry out the fleet file's plan (networks and customers first, then servers)",
	apply_opts, apply_docs, uh_cmd_apply};
const struct uh_cli_command uh_cli_cmd_export = {
	"export", "", "this host's servers as a fleet file (its plan here is empty)", NULL, NULL,
	uh_cmd_export};

static int read_file(const char *path, char **text, size_t *len, struct uh_error *err)
{
	uh_autoclose int fd = strcmp(path, "-") == 0 ? dup(0) : open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	ssize_t n;

	if (fd < 0 || fstat(fd, &st) < 0)
		return uh_err(err, errno, "%s", path);
	if (S_ISREG(st.st_mode) && st.st_size > FLEET_MAX)
		return uh_errx(err, "%s: larger than %d bytes", path, FLEET_MAX);
	*text = malloc(FLEET_MAX + 1);
	if (*text == NULL)
		abort();
	/* a pipe (-) as well as a file: read to the end */
	for (size_t got = 0;; got += (size_t)n) {
		n = got > FLEET_MAX ? 0 : read(fd, *text + got, FLEET_MAX + 1 - got);
		if (n < 0 && errno == EINTR)
			n = 0;
		else if (n <= 0) {
			n = n < 0 ? -1 : (ssize_t)got;
			break;
		}
	}
	if (n < 0 || n > FLEET_MAX) {
		free(*text);
		*text = NULL;
		return n < 0 ? uh_err(err, errno, "read %s", path)
			     : uh_errx(err, "%s: larger than %d bytes", path, FLEET_MAX);
	}
	(*text)[n] = '\0';
	*len = (size_t)n;
	return 0;
}

static void print_value(json_t *v)
{
	char *s = v ? json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;

	fputs(s ? s : "-", stdout);
	free(s);
}

static void print_plan(json_t *plan)
{
	static const struct {
		const char *action, *mark;
	} marks[] = {{"create", "+"}, {"destroy", "-"}, {"replace", "-/+"}, {"rename", "~>"},
		     {"update", "~"}, {"none", " "}};
	size_t i, k;
	json_t *c, *f, *n;

	json_array_foreach(json_object_get(plan, "changes"), i, c) {
		const char *action = uh_cli_str(c, "action"), *mark = "?";
		const char *name = json_string_value(json_object_get(c, "server"));

		for (k = 0; k < sizeof(marks) / sizeof(marks[0]); k++)
			if (strcmp(action, marks[k].action) == 0)
				mark = marks[k].mark;
		if (name == NULL)
			printf("%-3s %s %s (%s)\n", mark, uh_cli_str(c, "kind"), uh_cli_str(c, "name"),
			       action);
		else if (json_object_get(c, "renamed_from"))
			printf("%-3s %s (renamed from %s, %s)\n", mark, name,
			       uh_cli_str(c, "renamed_from"), uh_cli_str(c, "class"));
		else
			printf("%-3s %s (%s)\n", mark, name, uh_cli_str(c, "class"));
		json_array_foreach(json_object_get(c, "fields"), k, f) {
			printf("      %s: ", uh_cli_str(f, "field"));
			print_value(json_object_get(f, "from"));
			fputs(" -> ", stdout);
			print_value(json_object_get(f, "to"));
			printf("  (%s)\n", uh_cli_str(f, "class"));
		}
		json_array_foreach(json_object_get(c, "notes"), k, n)
			printf("      note: %s\n", json_string_value(n));
		if (json_object_get(c, "blocked"))
			printf("      blocked: %s\n", uh_cli_str(c, "blocked"));
	}
	printf("%lld change%s planned, %lld blocked (state revision %s)\n",
	       (long long)json_integer_value(json_object_get(plan, "pending")),
	       json_integer_value(json_object_get(plan, "pending")) == 1 ? "" : "s",
	       (long long)json_integer_value(json_object_get(plan, "blocked")),
	       uh_cli_str(plan, "revision"));
}

/* uh_cli_getopt for plan and apply, with every --allow-replace A[,B] counted (getopt alone
 * keeps the last of an option given twice). The file's path, or -1 for a usage error. */
static int fleet_getopt(const struct uh_cli_command *c, int argc, char **argv, const char *val[],
			json_t *allow, char **file)
{
	int ch, i, n = 0;

	optind = 0;
	while ((ch = getopt_long(argc, argv, "", c->opts, NULL)) != -1) {
		for (i = 0; c->opts[i].name && c->opts[i].val != ch; i++)
			;
		if (ch == '?' || ch == ':' || c->opts[i].name == NULL)
			return -1;
		val[i] = optarg ? optarg : "";
		if (ch == 'r') {
			uh_autofree char *copy = strdup(optarg);
			char *save = NULL;

			for (char *w = strtok_r(copy, ",", &save); w; w = strtok_r(NULL, ",", &save))
				json_array_append_new(allow, json_string(w));
		}
	}
	for (; optind < argc; optind++, n++)
		*file = argv[optind];
	return n == 1 ? 0 : -1;
}

/* The request plan and apply share: the file's text, --prune, the --allow-replace names. */
static json_t *fleet_body(const char *file, const char *prune, json_t *allow,
			  struct uh_error *err)
{
	uh_autofree char *text = NULL;
	json_t *body;
	size_t len = 0;

	if (read_file(file, &text, &len, err) < 0) {
		json_decref(allow);
		return NULL;
	}
	body = json_pack("{s:s, s:s%, s:b, s:o}", "file", file, "text", text, len, "prune",
			 prune != NULL, "allow_replace", allow);
	if (body == NULL)
		uh_errx(err, "%s: not UTF-8 text", file);
	return body;
}

int uh_cmd_plan(struct uh_cli *cli, int argc, char **argv)
{
	const char *val[2] = {NULL, NULL};
	char *pos[1];
	struct uh_error err;
	json_t *body, *resp = NULL;
	int rc;

	json_t *allow = json_array();

	if (fleet_getopt(&uh_cli_cmd_plan, argc, argv, val, allow, &pos[0]) < 0) {
		json_decref(allow);
		return uh_cli_usage_of(cli, &uh_cli_cmd_plan);
	}
	body = fleet_body(pos[0], val[0], allow, &err);
	if (body == NULL)
		return uh_cli_fail(cli, &err);
	rc = uh_client_call(cli, "POST", "/v1/fleet/plan", body, &resp, &err);
	json_decref(body);
	if (rc < 0)
		return uh_cli_fail(cli, &err);
	rc = json_integer_value(json_object_get(resp, "pending")) ? EXIT_CHANGES : UH_EXIT_OK;
	if (cli->json)
		uh_cli_print_json(resp);
	else {
		print_plan(resp);
		json_decref(resp);
	}
	return rc;
}

static void print_report(json_t *r)
{
	size_t i;
	json_t *c;

	json_array_foreach(json_object_get(r, "done"), i, c)
		printf("done      %s %s\n", json_string_value(json_object_get(c, "action")),
		       json_object_get(c, "server")	  ? uh_cli_str(c, "server")
		       : json_object_get(c, "customer") ? uh_cli_str(c, "customer")
							: uh_cli_str(c, "network"));
	json_array_foreach(json_object_get(r, "refused"), i, c)
		printf("refused   %s %s: %s\n", uh_cli_str(c, "action"),
		       json_object_get(c, "server") ? uh_cli_str(c, "server") : uh_cli_str(c, "name"),
		       uh_cli_str(c, "why"));
	json_array_foreach(json_object_get(r, "not_done"), i, c)
		printf("not begun %s %s\n", uh_cli_str(c, "action"), uh_cli_str(c, "server"));
	json_array_foreach(json_object_get(r, "failed"), i, c)
		fprintf(stderr, "umlhost: apply: %s %s failed%s%s: %s%s\n", uh_cli_str(c, "action"),
			json_object_get(c, "server")	 ? uh_cli_str(c, "server")
			: json_object_get(c, "customer") ? uh_cli_str(c, "customer")
							 : uh_cli_str(c, "network"),
			json_object_get(c, "at") ? " at its " : "",
			json_object_get(c, "at") ? uh_cli_str(c, "at") : "", uh_cli_str(c, "error"),
			json_is_true(json_object_get(c, "started_again")) ? " (it was started again)"
									    : "");
	printf("%zu done, %zu refused, %zu failed, %zu not begun (state revision %s)\n",
	       json_array_size(json_object_get(r, "done")),
	       json_array_size(json_object_get(r, "refused")),
	       json_array_size(json_object_get(r, "failed")),
	       json_array_size(json_object_get(r, "not_done")), uh_cli_str(r, "revision"));
}

int uh_cmd_apply(struct uh_cli *cli, int argc, char **argv)
{
	const char *val[4] = {NULL, NULL, NULL, NULL};
	char *pos[1];
	struct uh_error err;
	json_t *body, *resp = NULL;
	long parallel = 0;
	int rc;

	json_t *allow = json_array();

	if (fleet_getopt(&uh_cli_cmd_apply, argc, argv, val, allow, &pos[0]) < 0) {
		json_decref(allow);
		return uh_cli_usage_of(cli, &uh_cli_cmd_apply);
	}
	if (val[3] && (uh_cli_parse_long(val[3], &parallel) < 0 || parallel < 1 || parallel > 64)) {
		json_decref(allow);
		return uh_cli_usage(cli, "--parallel must be a number from 1 to 64, not '%s'",
				    val[3]);
	}
	body = fleet_body(pos[0], val[0], allow, &err);
	if (body == NULL)
		return uh_cli_fail(cli, &err);
	if (parallel)
		json_object_set_new(body, "parallel", json_integer(parallel));
	if (val[2]) {
		json_error_t je;
		json_t *saved = json_load_file(val[2], 0, &je);

		if (saved == NULL) {
			json_decref(body);
			uh_errx(&err, "--plan %s: %s", val[2], je.text);
			return uh_cli_fail(cli, &err);
		}
		json_object_set_new(body, "plan", saved);
	}
	rc = uh_client_call(cli, "POST", "/v1/fleet/apply", body, &resp, &err);
	json_decref(body);
	if (rc < 0)
		return uh_cli_fail(cli, &err);
	rc = !json_is_true(json_object_get(resp, "ok")) ||
			     json_array_size(json_object_get(resp, "failed"))
		     ? UH_EXIT_FAIL
	     : json_array_size(json_object_get(resp, "refused")) ? EXIT_CHANGES
								    : UH_EXIT_OK;
	if (cli->json)
		uh_cli_print_json(resp);
	else {
		print_report(resp);
		json_decref(resp);
	}
	return rc;
}

int uh_cmd_export(struct uh_cli *cli, int argc, char **argv)
{
	struct uh_error err;
	char *text = NULL;
	size_t len = 0;

	if (uh_cli_getopt(cli, &uh_cli_cmd_export, "", argc, argv, NULL, NULL, 0) != 0)
		return uh_cli_usage_of(cli, &uh_cli_cmd_export);
	if (uh_client_call_raw(cli, "/v1/fleet", &text, &len, &err) < 0)
		return uh_cli_fail(cli, &err);
	fwrite(text, 1, len, stdout);
	free(text);
	return UH_EXIT_OK;
}
