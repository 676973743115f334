#include "daemon/config.h"
#include "util/cleanup.h"
#include "util/fileio.h"
#include "util/validate.h"
#include "net/addr.h"

#include <ctype.h>
#include <stddef.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

void uh_config_defaults(struct uh_config *c)
{
	memset(c, 0, sizeof(*c));
	strcpy(c->state_dir, "/var/lib/umlhost");
	strcpy(c->run_dir, "/run/umlhost");
	strcpy(c->kernel, "/usr/bin/linux.uml");
	strcpy(c->group, "umlhost");
	c->memory_reserve_mib = 1024;
	c->disk_reserve_mib = 1024;
	c->default_memory_mib = 128;
	c->min_memory_mib = 64; /* measured: mem=32M does not boot */
	c->start_timeout_s = 30;
	c->stop_timeout_s = 30;
	c->reclaim_interval_s = 10;
	c->reclaim_floor_mib = 32;
	c->memory_overcommit = 100;
	c->console_log_max = 1 << 20;
	c->restart_max = 5;
	c->restart_window_s = 300;
	c->jail = 1;
	c->uid_min = 200000;
	c->uid_count = 65536;
	c->events_keep = 100000;
	c->guard_check_seconds = 10;
	c->events_max_days = 90;
	/* `ldd /usr/bin/linux.uml` on Debian 12: libc and the loader, nothing else */
	strcpy(c->jail_libs, "/lib/x86_64-linux-gnu/libc.so.6 /lib64/ld-linux-x86-64.so.2");
	strcpy(c->cgroup_base, "umlhost");
	c->pids_max = 1024;
	strcpy(c->seccomp, "enforce");
	strcpy(c->net_transport, "vector");
	strcpy(c->kernel_source, "/usr/src/linux-source-6.1.tar.xz");
	strcpy(c->kernel_cache, "/var/cache/umlhost/kernels");
	strcpy(c->backup_ssh_key, "/etc/umlhost/backup_ssh_key");
	strcpy(c->backup_known_hosts, "/etc/umlhost/backup_known_hosts");
}

void uh_config_finish(struct uh_config *c)
{
	if (c->socket[0] == '\0')
		snprintf(c->socket, sizeof(c->socket), "%.4000s/umlhost.sock", c->run_dir);
	if (c->disk_dir[0] == '\0')
		snprintf(c->disk_dir, sizeof(c->disk_dir), "%.4000s/disks", c->state_dir);
}

static char *trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

static int set_path(char *dst, const char *v, const char *key, struct uh_error *err)
{
	if (v[0] != '/')
		return uh_errx(err, "%s must be an absolute path, not '%s'", key, v);
	if (strlen(v) >= PATH_MAX)
		return uh_errx(err, "%s is too long", key);
	strcpy(dst, v);
	return 0;
}

static int set_int(int *dst, const char *v, int min, int max, const char *key,
		   struct uh_error *err)
{
	char *end;
	long n;

	errno = 0;
	n = strtol(v, &end, 10);
	if (errno || end == v || *end || n < min || n > max)
		return uh_errx(err, "%s must be a number from %d to %d, not '%s'", key, min, max, v);
	*dst = (int)n;
	return 0;
}

static int set_mib(uint64_t *dst, const char *v, const char *key, struct uh_error *err)
{
	uint64_t b;

	if (uh_parse_size(v, &b, err) < 0)
		return uh_err_prefix(err, "%s", key);
	*dst = b >> 20;
	return 0;
}

static int set_one(struct uh_config *c, const char *k, const char *v, struct uh_error *err)
{
	if (strcmp(k, "state_dir") == 0)
		return set_path(c->state_dir, v, k, err);
	if (strcmp(k, "run_dir") == 0)
		return set_path(c->run_dir, v, k, err);
	if (strcmp(k, "socket") == 0)
		return set_path(c->socket, v, k, err);
	if (strcmp(k, "kernel") == 0)
		return set_path(c->kernel, v, k, err);
	if (strcmp(k, "monitor") == 0)
		return set_path(c->monitor, v, k, err);
	if (strcmp(k, "kernel_builder") == 0)
		return set_path(c->kernel_builder, v, k, err);
	if (strcmp(k, "kernel_source") == 0)
		return set_path(c->kernel_source, v, k, err);
	if (strcmp(k, "kernel_fragment") == 0)
		return set_path(c->kernel_fragment, v, k, err);
	if (strcmp(k, "disk_dir") == 0)
		return set_path(c->disk_dir, v, k, err);
	if (strcmp(k, "kernel_patches") == 0)
		return set_path(c->kernel_patches, v, k, err);
	if (strcmp(k, "kernel_cache") == 0)
		return set_path(c->kernel_cache, v, k, err);
	if (strcmp(k, "template_builder") == 0)
		return set_path(c->template_builder, v, k, err);
	if (strcmp(k, "backup_helper") == 0)
		return set_path(c->backup_helper, v, k, err);
	if (strcmp(k, "backup_ssh_key") == 0)
		return set_path(c->backup_ssh_key, v, k, err);
	if (strcmp(k, "backup_known_hosts") == 0)
		return set_path(c->backup_known_hosts, v, k, err);
	if (strcmp(k, "api_cert") == 0)
		return set_path(c->api_cert, v, k, err);
	if (strcmp(k, "api_key") == 0)
		return set_path(c->api_key, v, k, err);
	if (strcmp(k, "api_gate") == 0)
		return set_path(c->api_gate, v, k, err);
	if (strcmp(k, "metrics_listen") == 0) {
		struct uh_ip ip;
		int port;
		static const uint8_t v6_loopback[16] = {[15] = 1};

		if (uh_hostport_parse(v, &ip, &port, err) < 0)
			return uh_err_prefix(err, "metrics_listen");
		/* plain HTTP with no token: the host's own scraper only */
		if (!(ip.family == AF_INET && ip.a[0] == 127) &&
		    !(ip.family == AF_INET6 && memcmp(ip.a, v6_loopback, 16) == 0))
			return uh_errx(err, "metrics_listen: %s is not a loopback address (it has no "
					    "TLS and no token: use api_listen and a metrics:read "
					    "token from elsewhere)", v);
		snprintf(c->metrics_listen, sizeof(c->metrics_listen), "%s", v);
		return 0;
	}
	if (strcmp(k, "api_listen") == 0) {
		struct uh_ip ip;
		int port;

		if (uh_hostport_parse(v, &ip, &port, err) < 0)
			return uh_err_prefix(err, "api_listen");
		snprintf(c->api_listen, sizeof(c->api_listen), "%s", v);
		return 0;
	}
	if (strcmp(k, "template_cache") == 0) {
		if (v[0] == '\0') {
			c->template_cache[0] = '\0';
			return 0;
		}
		return set_path(c->template_cache, v, k, err);
	}
	if (strcmp(k, "default_kernel") == 0) {
		if (v[0] && uh_validate_name("kernel", v, err) < 0)
			return -1;
		snprintf(c->default_kernel, sizeof(c->default_kernel), "%s", v);
		return 0;
	}
	if (strcmp(k, "group") == 0) {
		if (strlen(v) >= sizeof(c->group) || v[0] == '\0')
			return uh_errx(err, "group name '%s' is invalid", v);
		strcpy(c->group, v);
		return 0;
	}
	if (strcmp(k, "memory_reserve") == 0)
		return set_mib(&c->memory_reserve_mib, v, k, err);
	if (strcmp(k, "disk_reserve") == 0)
		return set_mib(&c->disk_reserve_mib, v, k, err);
	if (strcmp(k, "default_memory") == 0)
		return set_mib(&c->default_memory_mib, v, k, err);
	if (strcmp(k, "min_memory") == 0)
		return set_mib(&c->min_memory_mib, v, k, err);
	if (strcmp(k, "console_log_max") == 0) {
		if (uh_parse_size(v, &c->console_log_max, err) < 0)
			return uh_err_prefix(err, "%s", k);
		return 0;
	}
	if (strcmp(k, "start_timeout") == 0)
		return set_int(&c->start_timeout_s, v, 1, 3600, k, err);
	if (strcmp(k, "reclaim_interval") == 0)
		return set_int(&c->reclaim_interval_s, v, 0, 3600, k, err);
	if (strcmp(k, "reclaim_floor") == 0) {
		if (set_mib(&c->reclaim_floor_mib, v, k, err) < 0)
			return -1;
		if (c->reclaim_floor_mib < 8)
			return uh_errx(err, "reclaim_floor: %s is under 8M (a guest needs room to "
					    "allocate before it takes memory back)", v);
		return 0;
	}
	if (strcmp(k, "memory_overcommit") == 0)
		return set_int(&c->memory_overcommit, v, 100, 1000, k, err);
	if (strcmp(k, "stop_timeout") == 0)
		return set_int(&c->stop_timeout_s, v, 1, 3600, k, err);
	if (strcmp(k, "restart_max") == 0)
		return set_int(&c->restart_max, v, 0, 1000, k, err);
	if (strcmp(k, "restart_window") == 0)
		return set_int(&c->restart_window_s, v, 1, 86400, k, err);
	if (strcmp(k, "jail") == 0) {
		if (strcmp(v, "yes") != 0 && strcmp(v, "no") != 0)
			return uh_errx(err, "jail must be yes or no, not '%s'", v);
		c->jail = strcmp(v, "yes") == 0;
		return 0;
	}
	if (strcmp(k, "uid_min") == 0) {
		int n;
		if (set_int(&n, v, 1000, 2000000000, k, err) < 0)
			return -1;
		c->uid_min = (uint32_t)n;
		return 0;
	}
	if (strcmp(k, "guard_check_seconds") == 0)
		return set_int(&c->guard_check_seconds, v, 1, 3600, k, err);
	if (strcmp(k, "events_keep") == 0)
		return set_int(&c->events_keep, v, 1000, 100000000, k, err);
	if (strcmp(k, "events_max_days") == 0)
		return set_int(&c->events_max_days, v, 1, 36500, k, err);
	if (strcmp(k, "uid_count") == 0) {
		int n;
		/* at least one instance, the HTTPS gate's and the builder's (the last two) */
		if (set_int(&n, v, 3, 1000000, k, err) < 0)
			return -1;
		c->uid_count = (uint32_t)n;
		return 0;
	}
	if (strcmp(k, "net_transport") == 0) {
		if (strcmp(v, "vector") != 0 && strcmp(v, "tuntap") != 0)
			return uh_errx(err, "net_transport must be vector or tuntap, not '%s'", v);
		strcpy(c->net_transport, v);
		return 0;
	}
	if (strcmp(k, "seccomp") == 0) {
		if (strcmp(v, "enforce") != 0 && strcmp(v, "log") != 0 && strcmp(v, "off") != 0)
			return uh_errx(err, "seccomp must be enforce, log or off, not '%s'", v);
		strcpy(c->seccomp, v);
		return 0;
	}
	if (strcmp(k, "pids_max") == 0)
		return set_int(&c->pids_max, v, 16, 1 << 22, k, err);
	if (strcmp(k, "cgroup_base") == 0) {
		const char *q;
		if (v[0] == '\0' || strlen(v) >= sizeof(c->cgroup_base) || v[0] == '/')
			return uh_errx(err, "cgroup_base must be a relative name, not '%s'", v);
		for (q = v; *q; q++)
			if (!((*q >= 'a' && *q <= 'z') || (*q >= '0' && *q <= '9') || strchr("-_./", *q)) ||
			    (q[0] == '.' && q[1] == '.'))
				return uh_errx(err, "cgroup_base '%s' has an invalid character", v);
		strcpy(c->cgroup_base, v);
		return 0;
	}
	if (strcmp(k, "jail_libs") == 0) {
		if (strlen(v) >= sizeof(c->jail_libs))
			return uh_errx(err, "jail_libs is too long");
		strcpy(c->jail_libs, v);
		return 0;
	}
	return uh_errx(err, "unknown setting '%s'", k);
}

int uh_config_parse(struct uh_config *c, const char *text, const char *origin,
		    struct uh_error *err)
{
	uh_autofree char *copy = strdup(text);
	char *line = copy, *next;
	int lineno = 0;

	if (copy == NULL)
		abort();
	for (; line != NULL; line = next) {
		char *eq, *k, *v, *hash;

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		lineno++;
		hash = strchr(line, '#');
		if (hash)
			*hash = '\0';
		k = trim(line);
		if (*k == '\0')
			continue;
		eq = strchr(k, '=');
		if (eq == NULL)
			return uh_errx(err, "%s: line %d: expected 'key = value', got '%s'", origin,
				       lineno, k);
		*eq = '\0';
		v = trim(eq + 1);
		k = trim(k);
		if (set_one(c, k, v, err) < 0)
			return uh_err_prefix(err, "%s: line %d", origin, lineno);
	}
	return 0;
}

int uh_config_load(struct uh_config *c, const char *path, struct uh_error *err)
{
	uh_autoclose int fd = open(path, O_RDONLY | O_CLOEXEC);
	uh_autofree char *buf = NULL;
	struct stat st;
	ssize_t n;

	if (fd < 0)
		return uh_err(err, errno, "config %s", path);
	if (fstat(fd, &st) < 0)
		return uh_err(err, errno, "config %s", path);
	if (st.st_size > (1 << 20))
		return uh_errx(err, "config %s is larger than 1 MiB", path);
	buf = calloc(1, (size_t)st.st_size + 1);
	if (buf == NULL)
		abort();
	n = uh_pread_full(fd, buf, (size_t)st.st_size, 0);
	if (n < 0)
		return uh_err(err, errno, "read config %s", path);
	buf[n] = '\0';
	return uh_config_parse(c, buf, path, err);
}

/* ---- reload (SIGHUP) */

/* Every key, where it lives, and whether a running daemon can take a new value. Live: read
 * where it is used (timeouts, caps, defaults for new instances, what the next start or build
 * uses). Not live: the daemon's places and identities (directories, socket, lock; disk_dir,
 * which defaults from state_dir), what running instances already have (their uids, cgroups,
 * jail), and what is measured or held at start (the stock kernel's FPU size, the database's
 * reserve). */
#define KEY(name, live) {#name, offsetof(struct uh_config, name), sizeof(((struct uh_config *)0)->name), live}
static const struct {
	const char *name;
	size_t off, size;
	int live;
} keys[] = {
	KEY(state_dir, 0),	     KEY(run_dir, 0),		    KEY(socket, 0),
	KEY(kernel, 0),		     KEY(monitor, 1),		    KEY(group, 1),
	KEY(memory_reserve_mib, 1),  KEY(disk_reserve_mib, 0),	    KEY(default_memory_mib, 1),
	KEY(min_memory_mib, 1),	     KEY(start_timeout_s, 1),	    KEY(stop_timeout_s, 1),
	KEY(console_log_max, 1),     KEY(restart_max, 1),	    KEY(restart_window_s, 1),
	KEY(jail, 0),		     KEY(uid_min, 0),		    KEY(uid_count, 0),
	KEY(guard_check_seconds, 1), KEY(events_keep, 1),	    KEY(events_max_days, 1),
	KEY(jail_libs, 1),	     KEY(cgroup_base, 0),	    KEY(pids_max, 1),
	KEY(seccomp, 1),	     KEY(net_transport, 1),	    KEY(kernel_builder, 1),
	KEY(kernel_source, 1),	     KEY(kernel_fragment, 1),	    KEY(disk_dir, 0),
	KEY(kernel_patches, 1),	     KEY(kernel_cache, 1),	    KEY(default_kernel, 1),
	KEY(template_builder, 1),    KEY(template_cache, 1),	    KEY(backup_helper, 1),
	KEY(backup_ssh_key, 1),	     KEY(backup_known_hosts, 1),
	KEY(api_listen, 0),	     KEY(api_cert, 0),		    KEY(api_key, 0),
	KEY(api_gate, 0),	     KEY(metrics_listen, 0),
	KEY(reclaim_interval_s, 1),  KEY(reclaim_floor_mib, 1),	    KEY(memory_overcommit, 1),
};
#undef KEY

/* The config file's name of a field: "default_memory_mib" is "default_memory",
 * "start_timeout_s" is "start_timeout". */
static void key_name(const char *field, char *out, size_t len)
{
	size_t n = strlen(field);

	if (n > 4 && strcmp(field + n - 4, "_mib") == 0)
		n -= 4;
	else if (n > 2 && strcmp(field + n - 2, "_s") == 0)
		n -= 2;
	snprintf(out, len, "%.*s", (int)n, field);
}

static void append(char *list, size_t len, const char *word)
{
	size_t used = strlen(list);

	snprintf(list + used, len - used, "%s%s", used ? ", " : "", word);
}

int uh_config_reload(struct uh_config *cur, const struct uh_config *next, char *applied,
		     size_t applied_len, char *kept, size_t kept_len)
{
	size_t i;
	int changed = 0;

	applied[0] = kept[0] = '\0';
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		char *a = (char *)cur + keys[i].off;
		const char *b = (const char *)next + keys[i].off;
		char name[64];

		if (memcmp(a, b, keys[i].size) == 0)
			continue;
		key_name(keys[i].name, name, sizeof(name));
		if (keys[i].live) {
			memcpy(a, b, keys[i].size);
			append(applied, applied_len, name);
			changed++;
		} else {
			append(kept, kept_len, name);
		}
	}
	return changed;
}

int uh_config_key(int i, char *name, size_t len, int *live)
{
	if (i < 0 || (size_t)i >= sizeof(keys) / sizeof(keys[0]))
		return -1;
	key_name(keys[i].name, name, len);
	*live = keys[i].live;
	return 0;
}
