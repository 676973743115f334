#include "util/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *log_ident = "umlhost";
static int log_debug;
static int log_journal;

void uh_log_init(const char *ident, int debug)
{
	log_ident = ident;
	log_debug = debug;
	log_journal = getenv("JOURNAL_STREAM") != NULL;
}

static void vlog(int prio, const char *tag, int errnum, const char *fmt, va_list ap)
{
	char msg[2048];
	size_t n;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	if (errnum && n < sizeof(msg))
		snprintf(msg + n, sizeof(msg) - n, ": %s", strerror(errnum));
	if (log_journal) {
		fprintf(stderr, "<%d>%s\n", prio, msg);
	} else {
		struct timespec ts;
		struct tm tm;
		char when[32];

		clock_gettime(CLOCK_REALTIME, &ts);
		localtime_r(&ts.tv_sec, &tm);
		strftime(when, sizeof(when), "%H:%M:%S", &tm);
		fprintf(stderr, "%s.%03ld %s: %s%s\n", when, ts.tv_nsec / 1000000, log_ident, tag,
			msg);
	}
}

#define LOGFN(name, prio, tag, witherr)                                                            \
	void name(const char *fmt, ...)                                                            \
	{                                                                                          \
		int e = errno;                                                                     \
		va_list ap;                                                                        \
		if (prio == 7 && !log_debug)                                                       \
			return;                                                                    \
		va_start(ap, fmt);                                                                 \
		vlog(prio, tag, witherr ? e : 0, fmt, ap);                                         \
		va_end(ap);                                                                        \
		errno = e;                                                                         \
	}

LOGFN(uh_debug, 7, "debug: ", 0)
LOGFN(uh_info, 6, "", 0)
LOGFN(uh_warn, 4, "warning: ", 1)
LOGFN(uh_warnx, 4, "warning: ", 0)
