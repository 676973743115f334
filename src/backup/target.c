#include "backup/target.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SCHEME "sftp://"

int uh_target_is_remote(const char *s)
{
	return s && strncmp(s, SCHEME, strlen(SCHEME)) == 0;
}

static int bad_path(const char *p)
{
	if (p[0] != '/')
		return 1;
	for (; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f || *p == '%')
			return 1;
	return 0;
}

static int host_char(char c, int bracketed)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '.' || (bracketed && c == ':');
}

int uh_target_parse(const char *s, struct uh_target *t, struct uh_error *err)
{
	const char *p, *at, *slash, *hs, *he, *colon = NULL;
	size_t n;

	memset(t, 0, sizeof(*t));
	t->port = 22;
	if (s == NULL || s[0] == '\0')
		return uh_errx(err, "backup target: empty");
	if (!uh_target_is_remote(s)) {
		if (strstr(s, "://"))
			return uh_errx(err, "backup target %.100s: only sftp:// URLs or absolute "
					    "directories are supported", s);
		if (bad_path(s) || strlen(s) >= sizeof(t->path))
			return uh_errx(err, "backup target %.100s: needs an absolute path without "
					    "control characters or '%%'", s);
		snprintf(t->path, sizeof(t->path), "%s", s);
		return 0;
	}
	t->remote = 1;
	p = s + strlen(SCHEME);
	slash = strchr(p, '/');
	if (slash == NULL)
		return uh_errx(err, "backup target %.100s: no path (sftp://user@host/path)", s);
	at = memchr(p, '@', (size_t)(slash - p));
	if (at) {
		n = (size_t)(at - p);
		if (n == 0 || n >= sizeof(t->user))
			return uh_errx(err, "backup target %.100s: bad user name", s);
		for (const char *c = p; c < at; c++)
			if (!(host_char(*c, 0) || *c == '_'))
				return uh_errx(err, "backup target %.100s: bad user name", s);
		memcpy(t->user, p, n);
		p = at + 1;
	}
	if (*p == '[') {
		hs = p + 1;
		he = memchr(hs, ']', (size_t)(slash - hs));
		if (he == NULL)
			return uh_errx(err, "backup target %.100s: unclosed '[' in the host", s);
		if (he[1] == ':')
			colon = he + 1;
		else if (he + 1 != slash)
			return uh_errx(err, "backup target %.100s: junk after the host", s);
	} else {
		hs = p;
		colon = memchr(p, ':', (size_t)(slash - p));
		he = colon ? colon : slash;
	}
	n = (size_t)(he - hs);
	if (n == 0 || n >= sizeof(t->host))
		return uh_errx(err, "backup target %.100s: bad host", s);
	for (const char *c = hs; c < he; c++)
		if (!host_char(*c, *p == '['))
			return uh_errx(err, "backup target %.100s: bad host", s);
	memcpy(t->host, hs, n);
	if (colon) {
		char *end;
		long port;

		errno = 0;
		port = strtol(colon + 1, &end, 10);
		if (end != slash || colon + 1 == slash || errno || port < 1 || port > 65535)
			return uh_errx(err, "backup target %.100s: bad port", s);
		t->port = (int)port;
	}
	if (bad_path(slash) || strlen(slash) >= sizeof(t->path))
		return uh_errx(err, "backup target %.100s: bad path (absolute, no control "
				    "characters or '%%')", s);
	snprintf(t->path, sizeof(t->path), "%s", slash);
	return 0;
}

void uh_target_format(const struct uh_target *t, const char *path, char *out, size_t len)
{
	const char *v6 = strchr(t->host, ':') ? "[" : "", *v6e = v6[0] ? "]" : "";
	char port[16] = "";

	if (!t->remote) {
		snprintf(out, len, "%s", path);
		return;
	}
	if (t->port != 22)
		snprintf(port, sizeof(port), ":%d", t->port);
	snprintf(out, len, "sftp://%s%s%s%s%s%s%s", t->user, t->user[0] ? "@" : "", v6, t->host,
		 v6e, port, path);
}
