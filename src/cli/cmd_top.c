/* umlhost top: every instance on one live screen (ncurses), what umlmgr offered in 2004:
 * state, CPU %, memory, receive and send rates, restarts, uptime and owner, sorted by a key;
 * the selected one can be started, stopped, rebooted or its console attached. A pure API
 * client: /v1/instances and /v1/stats, rates from the difference of two samples. */
#include "cli/cli.h"

#include <curses.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_ROWS 4096

struct row {
	char name[40], state[16], owner[40];
	double cpu_s, cpu_pct;
	long long mem, rx, tx, restarts;
	double rx_rate, tx_rate;
	long long uptime_s;
	int have_rate;
};

enum sort_key { SORT_NAME, SORT_CPU, SORT_MEM, SORT_RX };
static enum sort_key sort_by = SORT_NAME;

static const struct option top_opts[] = {{"interval", required_argument, NULL, 'i'},
					 {NULL, 0, NULL, 0}};
static const struct uh_cli_doc top_docs[] = {
	{"SECONDS", "how often the screen is refreshed (default 2)", 0},
	{NULL, NULL, 0},
};
const struct uh_cli_command uh_cli_cmd_top = {
	"top", "", "every instance live: keys s start, t stop, r reboot, c console, n/p/m/x sort, "
		   "q quit",
	top_opts, top_docs, uh_cmd_top};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static struct row *find(struct row *rows, int n, const char *name)
{
	for (int i = 0; i < n; i++)
		if (strcmp(rows[i].name, name) == 0)
			return &rows[i];
	return NULL;
}

static int cmp(const void *a, const void *b)
{
	const struct row *x = a, *y = b;

	switch (sort_by) {
	case SORT_CPU:
		return x->cpu_pct < y->cpu_pct ? 1 : x->cpu_pct > y->cpu_pct ? -1 : 0;
	case SORT_MEM:
		return x->mem < y->mem ? 1 : x->mem > y->mem ? -1 : 0;
	case SORT_RX:
		return x->rx_rate < y->rx_rate ? 1 : x->rx_rate > y->rx_rate ? -1 : 0;
	default:
		return strcmp(x->name, y->name);
	}
}

/* A new sample; rates against the previous one (by name). */
static int sample(struct uh_cli *cli, struct row *rows, int *n, double *at, struct uh_error *err)
{
	static struct row prev[MAX_ROWS];
	json_t *inst = NULL, *stats = NULL, *o;
	int np = *n;
	double t = now_s(), dt = t - *at;
	time_t wall = time(NULL);
	size_t k;

	if (uh_client_call(cli, "GET", "/v1/instances", NULL, &inst, err) < 0)
		return -1;
	if (uh_client_call(cli, "GET", "/v1/stats", NULL, &stats, err) < 0) {
		json_decref(inst);
		return -1;
	}
	memcpy(prev, rows, sizeof(struct row) * (size_t)np);
	*n = 0;
	json_array_foreach(stats, k, o) {
		struct row *r, *p;
		json_t *i;
		size_t q;

		if (*n == MAX_ROWS)
			break;
		r = &rows[(*n)++];
		memset(r, 0, sizeof(*r));
		snprintf(r->name, sizeof(r->name), "%s", uh_cli_str(o, "name"));
		snprintf(r->state, sizeof(r->state), "%s", uh_cli_str(o, "state"));
		r->cpu_s = json_number_value(json_object_get(o, "cpu_seconds"));
		r->mem = json_integer_value(json_object_get(o, "memory_bytes"));
		r->rx = json_integer_value(json_object_get(o, "rx_bytes"));
		r->tx = json_integer_value(json_object_get(o, "tx_bytes"));
		json_array_foreach(inst, q, i) {
			if (strcmp(uh_cli_str(i, "name"), r->name) != 0)
				continue;
			snprintf(r->owner, sizeof(r->owner), "%s", uh_cli_str(i, "owner"));
			r->restarts = json_integer_value(json_object_get(i, "restarts"));
			if (json_is_string(json_object_get(i, "started_at"))) {
				struct tm tm = {0};

				if (strptime(uh_cli_str(i, "started_at"), "%Y-%m-%dT%H:%M:%SZ", &tm))
					r->uptime_s = (long long)(wall - timegm(&tm));
			}
		}
		p = find(prev, np, r->name);
		if (p && dt > 0.2 && r->cpu_s >= p->cpu_s) {
			r->cpu_pct = 100.0 * (r->cpu_s - p->cpu_s) / dt;
			r->rx_rate = r->rx >= p->rx ? (double)(r->rx - p->rx) / dt : 0;
			r->tx_rate = r->tx >= p->tx ? (double)(r->tx - p->tx) / dt : 0;
			r->have_rate = 1;
		}
	}
	json_decref(inst);
	json_decref(stats);
	*at = t;
	qsort(rows, (size_t)*n, sizeof(*rows), cmp);
	return 0;
}

static void human(double v, char *out, size_t len)
{
	const char *u = "KMGT";
	int i = -1;

	while (v >= 1024 && i < 3) {
		v /= 1024;
		i++;
	}
	if (i < 0)
		snprintf(out, len, "%.0f", v);
	else
		snprintf(out, len, "%.1f%c", v, u[i]);
}

static void uptime(long long s, char *out, size_t len)
{
	if (s <= 0)
		snprintf(out, len, "-");
	else if (s < 3600)
		snprintf(out, len, "%lldm%02llds", s / 60, s % 60);
	else if (s < 86400)
		snprintf(out, len, "%lldh%02lldm", s / 3600, s / 60 % 60);
	else
		snprintf(out, len, "%lldd%02lldh", s / 86400, s / 3600 % 24);
}

static void draw(struct row *rows, int n, int sel, const char *msg)
{
	static const char *const sorts[] = {"name", "cpu", "memory", "receive rate"};
	char mem[16], rx[16], tx[16], up[32];

	erase();
	attron(A_BOLD);
	mvprintw(0, 0, "umlhost top: %d instance%s, sorted by %s   s start  t stop  r reboot  "
		       "c console  n/p/m/x sort  q quit",
		 n, n == 1 ? "" : "s", sorts[sort_by]);
	attroff(A_BOLD);
	mvprintw(1, 0, "%s", msg);
	attron(A_REVERSE);
	mvprintw(2, 0, "%-20s %-9s %6s %8s %9s %9s %8s %9s %-12s", "NAME", "STATE", "CPU%", "MEM",
		 "RX/s", "TX/s", "RESTARTS", "UPTIME", "OWNER");
	attroff(A_REVERSE);
	for (int i = 0; i < n && i + 3 < LINES; i++) {
		struct row *r = &rows[i];

		human((double)r->mem, mem, sizeof(mem));
		human(r->rx_rate, rx, sizeof(rx));
		human(r->tx_rate, tx, sizeof(tx));
		uptime(r->uptime_s, up, sizeof(up));
		if (i == sel)
			attron(A_STANDOUT);
		mvprintw(i + 3, 0, "%-20.20s %-9s %6.1f %8s %9s %9s %8lld %9s %-12.12s", r->name,
			 r->state, r->cpu_pct, mem, r->have_rate ? rx : "-", r->have_rate ? tx : "-",
			 r->restarts, up, r->owner);
		if (i == sel)
			attroff(A_STANDOUT);
	}
	refresh();
}

/* An operation on the selected instance; the message line says how it went. */
static void act(struct uh_cli *cli, const char *name, const char *op, char *msg, size_t len)
{
	char url[128];
	json_t *resp = NULL;
	struct uh_error err;

	snprintf(url, sizeof(url), "/v1/instances/%s/%s", name, op);
	if (uh_client_call(cli, "POST", url, json_object(), &resp, &err) < 0)
		snprintf(msg, len, "%s %s: %.400s", op, name, err.msg);
	else
		snprintf(msg, len, "%s %s: done, %s", op, name, uh_cli_str(resp, "state"));
	json_decref(resp);
}

int uh_cmd_top(struct uh_cli *cli, int argc, char **argv)
{
	static struct row rows[MAX_ROWS];
	const char *val[1] = {NULL};
	char msg[512] = "", sel_name[40] = "";
	struct uh_error err;
	double at = 0, interval = 2;
	int n = 0, sel = 0, ms;

	if (uh_cli_getopt(cli, &uh_cli_cmd_top, "", argc, argv, val, NULL, 0) != 0)
		return uh_cli_usage_of(cli, &uh_cli_cmd_top);
	if (val[0]) {
		if (uh_cli_parse_seconds(val[0], &ms) < 0 || ms < 200)
			return uh_cli_usage(cli, "--interval must be at least 0.2 seconds");
		interval = ms / 1000.0;
	}
	/* the first sample before the screen: a dead daemon is a plain error, not a blank UI */
	if (sample(cli, rows, &n, &at, &err) < 0)
		return uh_cli_fail(cli, &err);
	initscr();
	cbreak();
	noecho();
	keypad(stdscr, TRUE);
	curs_set(0);
	timeout(200);
	for (;;) {
		double next = at + interval;
		int ch;

		/* the selection follows its instance when the order changes */
		for (int i = 0; sel_name[0] && i < n; i++)
			if (strcmp(rows[i].name, sel_name) == 0)
				sel = i;
		if (sel >= n)
			sel = n ? n - 1 : 0;
		if (n)
			snprintf(sel_name, sizeof(sel_name), "%s", rows[sel].name);
		draw(rows, n, sel, msg);
		while ((ch = getch()) == ERR && now_s() < next)
			;
		switch (ch) {
		case 'q':
			endwin();
			return UH_EXIT_OK;
		case KEY_UP:
		case 'k':
			sel = sel > 0 ? sel - 1 : 0;
			snprintf(sel_name, sizeof(sel_name), "%s", n ? rows[sel].name : "");
			continue;
		case KEY_DOWN:
		case 'j':
			sel = sel + 1 < n ? sel + 1 : sel;
			snprintf(sel_name, sizeof(sel_name), "%s", n ? rows[sel].name : "");
			continue;
		case 'n':
		case 'p':
		case 'm':
		case 'x':
			sort_by = ch == 'n' ? SORT_NAME : ch == 'p' ? SORT_CPU : ch == 'm' ? SORT_MEM
									      : SORT_RX;
			qsort(rows, (size_t)n, sizeof(*rows), cmp);
			continue;
		case 's':
		case 't':
		case 'r':
			if (n == 0)
				break;
			snprintf(msg, sizeof(msg), "%s %s...",
				 ch == 's' ? "start" : ch == 't' ? "stop" : "reboot", rows[sel].name);
			draw(rows, n, sel, msg);
			act(cli, rows[sel].name, ch == 's' ? "start" : ch == 't' ? "stop" : "reboot",
			    msg, sizeof(msg));
			break;
		case 'c':
			if (n == 0)
				break;
			{
				char *cargv[] = {"console", rows[sel].name, NULL};

				endwin();
				printf("console of %s (Ctrl-] comes back to top)\n", rows[sel].name);
				fflush(stdout);
				uh_cmd_console(cli, 2, cargv);
				refresh();
			}
			break;
		default:
			break;
		}
		if (sample(cli, rows, &n, &at, &err) < 0)
			snprintf(msg, sizeof(msg), "umlhostd: %.400s", err.msg);
	}
}
