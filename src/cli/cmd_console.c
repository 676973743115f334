/* umlhost console NAME: attach to an instance's console. The instance's monitor process owns
 * the console and lets several viewers attach; this only relays bytes. Ctrl-] detaches. */
#include "cli/cli.h"
#include "util/cleanup.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#define DETACH 0x1d /* Ctrl-] */

const struct uh_cli_command uh_cli_cmd_console = {
	"console", "NAME", "attach to its console (Ctrl-] detaches)", NULL, NULL, uh_cmd_console};

int uh_cmd_console(struct uh_cli *cli, int argc, char **argv)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	struct termios saved, raw;
	struct uh_error err;
	json_t *resp = NULL;
	const char *path;
	char url[256];
	uh_autoclose int fd = -1;
	int tty = isatty(0), rc = UH_EXIT_OK;

	if (argc != 2 || strlen(argv[1]) > 64)
		return uh_cli_usage_of(cli, &uh_cli_cmd_console);
	snprintf(url, sizeof(url), "/v1/instances/%s", argv[1]);
	if (uh_client_call(cli, "GET", url, NULL, &resp, &err) < 0)
		return uh_cli_fail(cli, &err);
	path = json_string_value(json_object_get(resp, "console"));
	if (path == NULL || strlen(path) >= sizeof(addr.sun_path)) {
		uh_errx(&err, "%s is %s: no console to attach to", argv[1],
			json_string_value(json_object_get(resp, "state")));
		json_decref(resp);
		return uh_cli_fail(cli, &err);
	}
	strcpy(addr.sun_path, path);
	json_decref(resp);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		uh_err(&err, errno, "%s: attach to %s", argv[1], addr.sun_path);
		return uh_cli_fail(cli, &err);
	}
	if (tty) {
		fprintf(stderr, "umlhost: attached to %s; Ctrl-] detaches\r\n", argv[1]);
		tcgetattr(0, &saved);
		raw = saved;
		cfmakeraw(&raw);
		tcsetattr(0, TCSANOW, &raw);
	}
	for (;;) {
		struct pollfd p[2] = {{.fd = 0, .events = POLLIN}, {.fd = fd, .events = POLLIN}};
		char buf[4096];
		ssize_t n;

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[1].revents) {
			n = read(fd, buf, sizeof(buf));
			if (n <= 0) {
				if (tty)
					fprintf(stderr, "\r\numlhost: console closed\r\n");
				break;
			}
			if (write(1, buf, (size_t)n) < 0)
				break;
		}
		if (p[0].revents) {
			char *d;

			n = read(0, buf, sizeof(buf));
			if (n <= 0)
				break; /* end of input: detach */
			d = memchr(buf, DETACH, (size_t)n);
			if (d != NULL)
				n = d - buf;
			if (n > 0 && write(fd, buf, (size_t)n) < 0)
				break;
			if (d != NULL)
				break;
		}
	}
	if (tty) {
		tcsetattr(0, TCSANOW, &saved);
		fprintf(stderr, "\numlhost: detached\n");
	}
	return rc;
}
