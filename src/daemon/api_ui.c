/* The web panel's files under /ui/ (its source is ui/ in the tree; meson copies it and the
 * pinned npm libraries into <build>/ui, and gzips each). Found at start beside the daemon
 * (<dir of umlhostd>/../ui, the build tree) or in the data directory (installed). Only plain
 * names in that one directory are served (no subdirectories, no dot files, no symlinks), of
 * the few types a page needs; a gzipped twin goes to clients that take gzip. Each answer
 * carries the panel's Content-Security-Policy (scripts, styles, connections from this origin
 * only: no inline script, no remote origin; inline styles are allowed, as xterm.js writes
 * its cell sizes into <style> elements), nosniff, no referrer, no framing, and an ETag
 * (size and mtime) so a reload costs a 304. */
#include "daemon/api.h"
#include "util/cleanup.h"
#include "util/log.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef UMLHOST_DATADIR
#define UMLHOST_DATADIR "/usr/local/share/umlhost"
#endif

/* styles may be inline (xterm.js sizes its cells with <style> elements it writes); scripts
 * never are */
#define CSP                                                                                        \
	"default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "                \
	"img-src 'self' data:; "                                                                   \
	"connect-src 'self'; font-src 'self'; manifest-src 'self'; base-uri 'none'; "              \
	"form-action 'self'; frame-ancestors 'none'"

static const struct {
	const char *ext, *type;
} types[] = {
	{".html", "text/html; charset=utf-8"},
	{".js", "text/javascript; charset=utf-8"},
	{".mjs", "text/javascript; charset=utf-8"},
	{".css", "text/css; charset=utf-8"},
	{".svg", "image/svg+xml"},
	{".png", "image/png"},
	{".ico", "image/x-icon"},
	{".json", "application/json"},
};

void uh_api_ui_init(struct api *api)
{
	char exe[PATH_MAX], dir[PATH_MAX + 8];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	const char *cand[2] = {dir, UMLHOST_DATADIR "/ui"};

	api->ui_dir = -1;
	dir[0] = '\0';
	if (n > 0) {
		exe[n] = '\0';
		snprintf(dir, sizeof(dir), "%s/../ui", dirname(exe));
	}
	for (int i = 0; i < 2; i++) {
		int fd;

		if (cand[i][0] == '\0')
			continue;
		fd = open(cand[i], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd >= 0 && faccessat(fd, "index.html", R_OK, 0) == 0) {
			api->ui_dir = fd;
			uh_debug("web panel: %s", cand[i]);
			return;
		}
		if (fd >= 0)
			close(fd);
	}
	uh_info("web panel: not installed (no ui/ beside umlhostd nor in %s): /ui/ answers 404",
		UMLHOST_DATADIR);
}

static const char *type_of(const char *name)
{
	const char *dot = strrchr(name, '.');

	for (size_t i = 0; dot && i < sizeof(types) / sizeof(types[0]); i++)
		if (strcmp(dot, types[i].ext) == 0)
			return types[i].type;
	return NULL;
}

static int plain_name(const char *name)
{
	size_t n = strlen(name);

	return n > 0 && n < 96 && name[0] != '.' &&
	       strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == n;
}

static int open_file(int dir, const char *name, struct stat *st)
{
	int fd = openat(dir, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	if (fd >= 0 && (fstat(fd, st) < 0 || !S_ISREG(st->st_mode))) {
		close(fd);
		return -1;
	}
	return fd;
}

enum MHD_Result uh_api_ui_file(struct req *r, const char *name)
{
	const char *type = type_of(name);
	const char *ae = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Accept-Encoding");
	const char *inm = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "If-None-Match");
	char gz[128], etag[64];
	struct MHD_Response *resp;
	struct stat st;
	enum MHD_Result ret;
	int fd = -1, zipped = 0, status = 200;

	if (r->api->ui_dir < 0)
		return uh_api_send_error(r->conn, 404, "not_found",
					 "the web panel is not installed on this host");
	if (!plain_name(name) || type == NULL)
		return uh_api_send_error(r->conn, 404, "not_found", "no such file in the panel");
	if (ae && strstr(ae, "gzip") && snprintf(gz, sizeof(gz), "%s.gz", name) < (int)sizeof(gz) &&
	    (fd = open_file(r->api->ui_dir, gz, &st)) >= 0)
		zipped = 1;
	if (fd < 0 && (fd = open_file(r->api->ui_dir, name, &st)) < 0)
		return uh_api_send_error(r->conn, 404, "not_found", "no such file in the panel");
	snprintf(etag, sizeof(etag), "\"%llx-%llx%s\"", (unsigned long long)st.st_size,
		 (unsigned long long)st.st_mtime, zipped ? "-gz" : "");
	if (inm && strcmp(inm, etag) == 0) {
		close(fd);
		status = 304;
		resp = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
	} else {
		/* libmicrohttpd sends it with sendfile and closes it */
		resp = MHD_create_response_from_fd((size_t)st.st_size, fd);
		if (resp == NULL)
			close(fd);
	}
	if (resp == NULL)
		return MHD_NO;
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	if (zipped)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_ENCODING, "gzip");
	MHD_add_response_header(resp, MHD_HTTP_HEADER_VARY, "Accept-Encoding");
	MHD_add_response_header(resp, MHD_HTTP_HEADER_ETAG, etag);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
	MHD_add_response_header(resp, "Content-Security-Policy", CSP);
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
	MHD_add_response_header(resp, "X-Frame-Options", "DENY");
	uh_api_last_status = status;
	ret = MHD_queue_response(r->conn, (unsigned int)status, resp);
	MHD_destroy_response(resp);
	return ret;
}
