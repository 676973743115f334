#include "util/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static void vformat(char *buf, size_t len, const char *fmt, va_list ap)
{
	if (vsnprintf(buf, len, fmt, ap) < 0)
		snprintf(buf, len, "(unformattable error)");
}

int uh_err(struct uh_error *e, int errnum, const char *fmt, ...)
{
	va_list ap;
	size_t n;

	if (e == NULL)
		return -1;
	va_start(ap, fmt);
	vformat(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	e->errnum = errnum;
	n = strlen(e->msg);
	if (errnum != 0 && n < sizeof(e->msg))
		snprintf(e->msg + n, sizeof(e->msg) - n, ": %s", strerror(errnum));
	return -1;
}

int uh_errx(struct uh_error *e, const char *fmt, ...)
{
	va_list ap;

	if (e == NULL)
		return -1;
	va_start(ap, fmt);
	vformat(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	e->errnum = 0;
	return -1;
}

int uh_errc(struct uh_error *e, int errnum, const char *fmt, ...)
{
	va_list ap;

	if (e == NULL)
		return -1;
	va_start(ap, fmt);
	vformat(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	e->errnum = errnum;
	return -1;
}

int uh_err_prefix(struct uh_error *e, const char *fmt, ...)
{
	char prefix[UH_ERROR_MAX];
	size_t plen, olen;
	va_list ap;

	if (e == NULL)
		return -1;
	va_start(ap, fmt);
	vformat(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	plen = strlen(prefix);
	if (plen + 2 >= sizeof(e->msg))
		plen = sizeof(e->msg) - 3;
	olen = strnlen(e->msg, sizeof(e->msg) - 1);
	if (plen + 2 + olen >= sizeof(e->msg))
		olen = sizeof(e->msg) - 1 - plen - 2; /* keep the end of the message short */
	memmove(e->msg + plen + 2, e->msg, olen);
	e->msg[plen + 2 + olen] = '\0';
	memcpy(e->msg, prefix, plen);
	e->msg[plen] = ':';
	e->msg[plen + 1] = ' ';
	return -1;
}

void uh_err_clear(struct uh_error *e)
{
	if (e == NULL)
		return;
	e->errnum = 0;
	e->msg[0] = '\0';
}
