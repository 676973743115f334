#include "cli/cli.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

const char *uh_cli_error_code(const struct uh_error *err)
{
	switch (err->errnum) {
	case ENOENT:
		return "not_found";
	case ETIMEDOUT:
		return "timeout";
	case EEXIST:
		return "exists";
	case EACCES:
	case EPERM:
		return "permission_denied";
	case ENOSPC:
		return "no_space";
	case 0:
		return "failed";
	default:
		return "system_error";
	}
}

void uh_cli_print_json(json_t *doc)
{
	char *s = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);

	if (s == NULL)
		abort();
	fputs(s, stdout);
	fputc('\n', stdout);
	free(s);
	json_decref(doc);
}

int uh_cli_fail(const struct uh_cli *cli, const struct uh_error *err)
{
	fprintf(stderr, "umlhost: %s\n", err->msg);
	if (cli->json)
		uh_cli_print_json(json_pack("{s:s, s:s}", "error", err->msg, "code",
					    uh_cli_error_code(err)));
	return UH_EXIT_FAIL;
}

int uh_cli_usage(const struct uh_cli *cli, const char *fmt, ...)
{
	struct uh_error e;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(e.msg, sizeof(e.msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "umlhost: %s\n", e.msg);
	if (cli->json)
		uh_cli_print_json(json_pack("{s:s, s:s}", "error", e.msg, "code", "usage"));
	return UH_EXIT_USAGE;
}

int uh_cli_parse_seconds(const char *s, int *ms)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || !isfinite(v) || v < 0 || v > 86400)
		return -1;
	*ms = (int)(v * 1000.0 + 0.5);
	return 0;
}

int uh_cli_parse_long(const char *s, long *v)
{
	char *end;

	errno = 0;
	*v = strtol(s, &end, 10);
	return errno != 0 || end == s || *end != '\0' ? -1 : 0;
}

const char *uh_cli_str(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "-";
}

void uh_cli_time(json_t *secs, char *out, size_t len)
{
	time_t t = (time_t)json_integer_value(secs);
	struct tm tm;

	if (!json_is_integer(secs) || localtime_r(&t, &tm) == NULL) {
		snprintf(out, len, "-");
		return;
	}
	strftime(out, len, "%Y-%m-%d %H:%M", &tm);
}
