/* The API's routes (api.h): the table {method, pattern, handler, flags, arg}, matched by
 * route.c; the router parses a JSON body once and frees it. Each handler calls the module
 * that serves it and turns its result into an answer; only here and in the other api files
 * is HTTP spoken. */
#include "daemon/api.h"
#include "daemon/budget.h"
#include "daemon/customer.h"
#include "daemon/route.h"
#include "daemon/tokens.h"
#include "util/cleanup.h"
#include "util/fileio.h"
#include "uh_build.h"

#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

/* ---- handlers */

static int64_t query_int(struct MHD_Connection *c, const char *key, int64_t def)
{
	const char *v = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, key);

	return v ? strtoll(v, NULL, 10) : def;
}

static int query_flag(struct MHD_Connection *c, const char *key)
{
	const char *v = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, key);

	return v && (strcmp(v, "1") == 0 || strcmp(v, "true") == 0);
}

static json_t *parse_body(struct req *r, struct uh_error *err)
{
	json_error_t je;
	json_t *j;

	if (r->len == 0)
		return json_object();
	j = json_loadb(r->body, r->len, 0, &je);
	if (j == NULL || !json_is_object(j)) {
		json_decref(j);
		uh_errx(err, "request body is not a JSON object: %s", je.text);
		return NULL;
	}
	return j;
}

static enum MHD_Result get_logs(struct req *r, struct uh_instance *inst)
{
	char rotated[PATH_MAX + 4];
	char *text = NULL;
	size_t len = 0;
	int k;
	struct stat st;

	snprintf(rotated, sizeof(rotated), "%s.1", inst->log_path);
	if (query_flag(r->conn, "follow")) {
		/* the history first (the current file), then whatever comes */
		return uh_api_follow_start(r, FOLLOW_LOGS, 0, inst->log_path, 0);
	}
	for (k = 0; k < 2; k++) {
		const char *p = k == 0 ? rotated : inst->log_path;
		uh_autoclose int fd = open(p, O_RDONLY | O_CLOEXEC);
		ssize_t n;

		if (fd < 0 || fstat(fd, &st) < 0)
			continue;
		text = realloc(text, len + (size_t)st.st_size + 1);
		if (text == NULL)
			abort();
		n = uh_pread_full(fd, text + len, (size_t)st.st_size, 0);
		if (n > 0)
			len += (size_t)n;
	}
	if (text == NULL)
		text = strdup("");
	return uh_api_send_text(r->conn, 200, "text/plain", text, len);
}

/* ---- the routes: one handler each; the router matches, parses the body, frees it */

struct api_route;
typedef enum MHD_Result (*route_fn)(struct req *r, const struct api_route *rt,
				    const struct uh_route_args *a, json_t *body);
struct api_route {
	struct uh_route route; /* first: uh_route_find's table */
	route_fn fn;
	unsigned flags;
	int arg; /* the handler's own: an operation, templates or kernels, a status */
	/* h_make's: what makes the thing from the body (an instance, a network, a build) */
	int (*make)(struct uh_daemon *d, json_t *params, json_t **out, struct uh_error *err);
	/* the scope a token needs (auth/token.h); 0: admin, what only the provider's admins
	 * (and the socket's callers) may do */
	unsigned int scope;
};
#define ROUTE_BODY 1u /* a JSON object body (400 if it is not one), freed after the handler */
#define ROUTE_ANY_TOKEN 2u /* any valid token (whoami, version): no scope needed */
#define ROUTE_ANONYMOUS 4u /* also before sign-in: the panel's files, the sign-in itself */
#define ADMIN 0u	   /* the scope of the provider's routes: admin */

static enum MHD_Result h_version(struct req *r, const struct api_route *rt,
				 const struct uh_route_args *a, json_t *body)
{
	return uh_api_send_json(r->conn, 200, json_pack("{s:s}", "version", UMLHOST_VERSION));
}

static enum MHD_Result h_instances(struct req *r, const struct api_route *rt,
				   const struct uh_route_args *a, json_t *body)
{
	struct uh_instance *i;
	json_t *arr = json_array();

	/* arg: the records, or their traffic (/v1/stats) */
	for (i = r->api->d->instances; i; i = i->next)
		json_array_append_new(arr, rt->arg ? uh_instance_stats(i) : uh_instance_json(i));
	return uh_api_send_json(r->conn, 200, arr);
}

/* POST of something made from the body at once: 201 (a build that goes on: 202, rt->arg) */
static enum MHD_Result h_make(struct req *r, const struct api_route *rt,
			      const struct uh_route_args *a, json_t *body)
{
	struct uh_error err;
	json_t *out = NULL;

	if (rt->make(r->api->d, body, &out, &err) < 0)
		return uh_api_send_err(r, &err);
	return uh_api_send_json(r->conn, rt->arg, out);
}

static enum MHD_Result h_instance_get(struct req *r, const struct api_route *rt,
				      const struct uh_route_args *a, json_t *body)
{
	struct uh_instance *inst = uh_instance_find(r->api->d, a->v[0]);

	if (inst == NULL)
		return uh_api_send_error(r->conn, 404, "not_found", "no instance named '%s'", a->v[0]);
	switch (rt->arg) {
	case 1:
		return uh_api_send_json(r->conn, 200, uh_instance_stats(inst));
	case 2:
		return get_logs(r, inst);
	default:
		return uh_api_send_json(r->conn, 200, uh_instance_json(inst));
	}
}

static enum MHD_Result h_instance_op(struct req *r, const struct api_route *rt,
				     const struct uh_route_args *a, json_t *body)
{
	if (rt->arg == UH_OP_DELETE)
		return uh_api_run_op(r, a->v[0], UH_OP_DELETE, 0, query_flag(r->conn, "force"));
	return uh_api_run_op(r, a->v[0], (enum uh_op_type)rt->arg,
		      (int)json_integer_value(json_object_get(body, "timeout")), 0);
}

static enum MHD_Result h_instance_backup(struct req *r, const struct api_route *rt,
					 const struct uh_route_args *a, json_t *body)
{
	r->ok = 201;
	uh_api_async_begin(r);
	uh_backup_create(r->api->d, a->v[0], json_string_value(json_object_get(body, "to")), 0,
			 uh_api_op_done, r);
	return uh_api_async_wait(r);
}

static enum MHD_Result h_instance_disk(struct req *r, const struct api_route *rt,
				       const struct uh_route_args *a, json_t *body)
{
	uh_api_async_begin(r);
	if (rt->arg == 0)
		uh_disk_flatten(r->api->d, a->v[0], uh_api_op_done, r);
	else
		uh_disk_resize(r->api->d, a->v[0], json_string_value(json_object_get(body, "size")),
			       uh_api_op_done, r);
	return uh_api_async_wait(r);
}

/* A build log from ?offset= on: the CLI polls it while the build runs. */
static enum MHD_Result send_log_from(struct req *r, const char *path)
{
	int64_t off = query_int(r->conn, "offset", 0);
	uh_autoclose int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	char *text;
	ssize_t got;
	size_t n;

	if (fd < 0 || fstat(fd, &st) < 0)
		return uh_api_send_error(r->conn, 404, "not_found", "no build log");
	if (off < 0 || off > st.st_size)
		off = st.st_size;
	n = (size_t)(st.st_size - off);
	if (n > (1 << 20))
		n = 1 << 20;
	text = malloc(n + 1);
	if (text == NULL)
		abort();
	got = uh_pread_full(fd, text, n, off);
	return uh_api_send_text(r->conn, 200, "text/plain", text, got > 0 ? (size_t)got : 0);
}

/* The things builds make: templates and kernels, each a list, an import or build, GET
 * (status), GET .../log (the build log), DELETE (a template's ?version=N, or all of it). */
struct built_ops {
	json_t *(*list)(struct uh_daemon *d, struct uh_error *err);
	json_t *(*get)(struct uh_daemon *d, const char *name, struct uh_error *err);
	int (*log_path)(struct uh_daemon *d, const char *name, char *out, size_t len,
			struct uh_error *err);
	int (*remove)(struct uh_daemon *d, const char *name, int version, int force,
		      struct uh_error *err);
	int versions;
};

static int kernel_remove(struct uh_daemon *d, const char *name, int version, int force,
			 struct uh_error *err)
{
	return uh_kernel_remove(d, name, err);
}

static int template_remove(struct uh_daemon *d, const char *name, int version, int force,
			   struct uh_error *err)
{
	/* a failed build is forgotten first, as for kernels */
	if (uh_template_forget_build(d, name))
		return 0;
	return uh_template_remove(d, name, version, force, err);
}

enum { BUILT_TEMPLATES, BUILT_KERNELS };
static const struct built_ops built[] = {
	[BUILT_TEMPLATES] = {uh_template_list, uh_template_get_json, uh_template_log_path,
			     template_remove, 1},
	[BUILT_KERNELS] = {uh_kernel_list, uh_kernel_get_json, uh_kernel_log_path, kernel_remove,
			   0},
};

static enum MHD_Result h_built_list(struct req *r, const struct api_route *rt,
				    const struct uh_route_args *a, json_t *body)
{
	struct uh_error err;
	json_t *out = built[rt->arg].list(r->api->d, &err);

	if (out == NULL)
		return uh_api_send_json(r->conn, 500, uh_api_error_body(&err, NULL));
	return uh_api_send_json(r->conn, 200, out);
}

static enum MHD_Result h_built_get(struct req *r, const struct api_route *rt,
				   const struct uh_route_args *a, json_t *body)
{
	struct uh_error err;
	json_t *out = built[rt->arg].get(r->api->d, a->v[0], &err);

	return out ? uh_api_send_json(r->conn, 200, out) : uh_api_send_err(r, &err);
}

static enum MHD_Result h_built_log(struct req *r, const struct api_route *rt,
				   const struct uh_route_args *a, json_t *body)
{
	struct uh_error err;
	char path[PATH_MAX];

	if (built[rt->arg].log_path(r->api->d, a->v[0], path, sizeof(path), &err) < 0)
		return uh_api_send_err(r, &err);
	return send_log_from(r, path);
}

static enum MHD_Result h_built_delete(struct req *r, const struct api_route *rt,
				      const struct uh_route_args *a, json_t *body)
{
	const struct built_ops *ops = &built[rt->arg];
	int version = ops->versions ? (int)query_int(r->conn, "version", 0) : 0;
	struct uh_error err;

	if (ops->remove(r->api->d, a->v[0], version, query_flag(r->conn, "force"), &err) < 0)
		return uh_api_send_err(r, &err);
	return uh_api_send_json(r->conn, 200,
			 ops->versions ? json_pack("{s:s, s:i}", "deleted", a->v[0], "version",
						   version)
				       : json_pack("{s:s}", "deleted", a->v[0]));
}

static enum MHD_Result h_template_import(struct req *r, const struct api_route *rt,
					 const struct uh_route_args *a, json_t *body)
{
	struct uh_error err;
	json_t *out = NULL;

	if (uh_template_import(r->api->d, json_string_value(json_object_get(body, "name")) ?: "",
			       json_string_value(json_object_get(body, "image")), r->uid,
			       json_is_true(json_object_get(body, "new_version")), &out, &err) < 0)
		return uh_api_send_err(r, &err);
	return uh_api_send_json(r->conn, 201, out);
}

static enum MHD_Result h_upgrade(struct req *r, const struct api_route *rt,
				 const struct uh_route_args *a, json_t *body)
{
	uh_api_async_begin(r);
	uh_upgrade_start(r->api->d, body, uh_api_op_done, r);
	return uh_api_async_wait(r);
}

static enum MHD_Result h_fleet_apply(struct req *r, const struct api_route *rt,
				     const struct uh_route_args *a, json_t *body)
{
	uh_api_async_begin(r);
	uh_fleet_apply(r->api->d, body, uh_api_op_done, r);
	return uh_api_async_wait(r);
}

static enum MHD_Result h_backups(struct req *r, const struct api_route *rt,
				 const struct uh_route_args *a, json_t *body)
{
	const char *inst = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, "instance");
	const char *from = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, "from");

	if (from == NULL)
		return uh_api_send_json(r->conn, 200, uh_backup_list(r->api->d, inst));
	uh_api_async_begin(r);
	uh_backup_list_from(r->api->d, inst, from, uh_api_op_done, r);
	return uh_api_async_wait(r);
}

enum { ARCHIVE_RESTORE, ARCHIVE_VERIFY, ARCHIVE_PRUNE };

static enum MHD_Result h_archives(struct req *r, const struct api_route *rt,
				  const struct uh_route_args *a, json_t *body)
{
	struct uh_daemon *d = r->api->d;
	const char *archive = json_string_value(json_object_get(body, "archive"));

	uh_api_async_begin(r);
	switch (rt->arg) {
	case ARCHIVE_RESTORE:
		uh_backup_restore(d, archive, json_string_value(json_object_get(body, "as")),
				  uh_api_op_done, r);
		break;
	case ARCHIVE_VERIFY:
		uh_backup_verify(d, archive, uh_api_op_done, r);
		break;
	default:
		uh_backup_prune(d, json_string_value(json_object_get(body, "instance")),
				(int)json_integer_value(json_object_get(body, "keep")),
				json_string_value(json_object_get(body, "from")), uh_api_op_done, r);
	}
	return uh_api_async_wait(r);
}

static enum MHD_Result h_networks(struct req *r, const struct api_route *rt,
				  const struct uh_route_args *a, json_t *body)
{
	struct uh_error err;
	json_t *out = uh_network_list(r->api->d, &err);

	if (out == NULL)
		return uh_api_send_json(r->conn, 500, uh_api_error_body(&err, NULL));
	return uh_api_send_json(r->conn, 200, out);
}

static enum MHD_Result h_network_delete(struct req *r, const struct api_route *rt,
					const struct uh_route_args *a, json_t *body)
{
	struct uh_error err;

	if (uh_network_remove(r->api->d, a->v[0], &err) < 0)
		return uh_api_send_err(r, &err);
	return uh_api_send_json(r->conn, 200, json_pack("{s:s}", "deleted", a->v[0]));
}

static enum MHD_Result h_events(struct req *r, const struct api_route *rt,
				const struct uh_route_args *a, json_t *body)
{
	int64_t since = query_int(r->conn, "since", 0);
	struct follower tmp;

	/* since=-N: the host's last N events (those the caller may see), then what comes */
	if (since < 0) {
		int64_t last = 0;
		struct uh_error err;

		if (uh_store_event_last(r->api->d->store, &last, &err) < 0)
			return uh_api_send_err(r, &err);
		since = since < -10000 ? 0 : last + since > 0 ? last + since : 0;
	}
	tmp = (struct follower){.api = r->api, .kind = FOLLOW_EVENTS, .last_id = since, .who = r->who};

	if (query_flag(r->conn, "follow"))
		return uh_api_follow_start(r, FOLLOW_EVENTS, since, NULL, 0);
	uh_api_follower_fill(&tmp);
	return uh_api_send_text(r->conn, 200, "application/x-ndjson", tmp.buf ? tmp.buf : strdup(""),
			 tmp.len);
}

static enum MHD_Result h_customers(struct req *r, const struct api_route *rt,
				   const struct uh_route_args *a, json_t *body)
{
	struct uh_error err;
	json_t *out = uh_customer_list(r->api->d, &err);

	if (out == NULL)
		return uh_api_send_err(r, &err);
	return uh_api_send_json(r->conn, 200, out);
}

static enum MHD_Result h_customer_delete(struct req *r, const struct api_route *rt,
					 const struct uh_route_args *a, json_t *body)
{
	struct uh_error err;
	json_t *out = NULL;

	if (uh_customer_remove(r->api->d, a->v[0], &out, &err) < 0)
		return uh_api_send_err(r, &err);
	return uh_api_send_json(r->conn, 200, out);
}

static enum MHD_Result h_instance_chown(struct req *r, const struct api_route *rt,
					const struct uh_route_args *a, json_t *body)
{
	struct uh_error err;
	json_t *out = NULL;

	if (uh_instance_chown(r->api->d, a->v[0], json_string_value(json_object_get(body, "owner")),
			      &out, &err) < 0)
		return uh_api_send_err(r, &err);
	return uh_api_send_json(r->conn, 200, out);
}

/* tokens: what the caller may manage (its principal decides) */
static enum MHD_Result h_tokens(struct req *r, const struct api_route *rt,
				const struct uh_route_args *a, json_t *body)
{
	const char *customer =
		MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, "customer");
	struct uh_error err;
	json_t *out = uh_token_list(r->api->d, &r->who, customer, &err);

	if (out == NULL)
		return uh_api_send_err(r, &err);
	return uh_api_send_json(r->conn, 200, out);
}

static enum MHD_Result h_token_create(struct req *r, const struct api_route *rt,
				      const struct uh_route_args *a, json_t *body)
{
	struct uh_error err;
	json_t *out = NULL;

	if (uh_token_create(r->api->d, &r->who, body, &out, &err) < 0)
		return uh_api_send_err(r, &err);
	return uh_api_send_json(r->conn, 201, out);
}

static enum MHD_Result h_token_revoke(struct req *r, const struct api_route *rt,
				      const struct uh_route_args *a, json_t *body)
{
	struct uh_error err;
	json_t *out = NULL;

	if (uh_token_revoke(r->api->d, &r->who, a->v[0], &out, &err) < 0)
		return uh_api_send_err(r, &err);
	return uh_api_send_json(r->conn, 200, out);
}

static enum MHD_Result h_whoami(struct req *r, const struct api_route *rt,
				const struct uh_route_args *a, json_t *body)
{
	return uh_api_whoami(r, a);
}

static enum MHD_Result h_servers(struct req *r, const struct api_route *rt,
				 const struct uh_route_args *a, json_t *body)
{
	return uh_api_servers(r, a);
}

static enum MHD_Result h_server_get(struct req *r, const struct api_route *rt,
				    const struct uh_route_args *a, json_t *body)
{
	return uh_api_server_get(r, a, rt->arg);
}

static enum MHD_Result h_server_action(struct req *r, const struct api_route *rt,
				       const struct uh_route_args *a, json_t *body)
{
	return uh_api_server_action(r, a);
}

static enum MHD_Result h_server_console(struct req *r, const struct api_route *rt,
					const struct uh_route_args *a, json_t *body)
{
	return uh_api_server_console(r, a);
}

static enum MHD_Result h_server_backups(struct req *r, const struct api_route *rt,
					const struct uh_route_args *a, json_t *body)
{
	return uh_api_server_backups(r, a, rt->route.method);
}

static enum MHD_Result h_console_open(struct req *r, const struct api_route *rt,
				      const struct uh_route_args *a, json_t *body)
{
	return uh_api_console_open(r);
}

/* GET /v1/host: the host's memory budget (RAM and swap less the reserve) and what the
 * running servers have of it (their limits: what the budget check counts) */
static enum MHD_Result h_host(struct req *r, const struct api_route *rt,
			      const struct uh_route_args *a, json_t *body)
{
	struct uh_daemon *d = r->api->d;
	uint64_t total = uh_host_memory_mib(), reserve = d->cfg.memory_reserve_mib;
	int running = 0;

	for (struct uh_instance *i = d->instances; i; i = i->next)
		running += uh_instance_active(i);
	uint64_t budget = uh_budget_mib(total, reserve, d->cfg.memory_overcommit);

	return uh_api_send_json(r->conn, 200,
				json_pack("{s:I, s:I, s:I, s:I, s:I, s:i, s:i, s:i}", "memory_mib",
					  (json_int_t)total, "reserve_mib", (json_int_t)reserve,
					  "budget_mib", (json_int_t)budget, "available_mib",
					  (json_int_t)uh_host_available_mib(), "committed_mib",
					  (json_int_t)uh_daemon_committed_mib(d), "memory_overcommit",
					  d->cfg.memory_overcommit, "instances", d->n_instances,
					  "running", running));
}

static enum MHD_Result h_fleet_export(struct req *r, const struct api_route *rt,
				      const struct uh_route_args *a, json_t *body)
{
	struct uh_error err;
	size_t len = 0;
	char *text = uh_fleet_export(r->api->d, &len, &err);

	if (text == NULL)
		return uh_api_send_err(r, &err);
	return uh_api_send_text(r->conn, 200, "application/yaml", text, len);
}

static enum MHD_Result h_ui_file(struct req *r, const struct api_route *rt,
				 const struct uh_route_args *a, json_t *body)
{
	return uh_api_ui_file(r, a->v[0]);
}

static enum MHD_Result h_ui_session(struct req *r, const struct api_route *rt,
				    const struct uh_route_args *a, json_t *body)
{
	if (strcmp(rt->route.method, "POST") == 0)
		return uh_api_remote_sign_in(r, body);
	if (strcmp(rt->route.method, "DELETE") == 0)
		return uh_api_session_logout(r);
	return uh_api_session_get(r);
}

static enum MHD_Result h_metrics(struct req *r, const struct api_route *rt,
				 const struct uh_route_args *a, json_t *body)
{
	return uh_api_metrics(r, rt->arg);
}

/* In match order: a literal segment before a "{}" in the same place. */
static const struct api_route routes[] = {
	{{"GET", "/v1/version"}, h_version, ROUTE_ANY_TOKEN, 0, NULL, ADMIN},
	/* the web panel (api_ui.c, api_session.c) */
	{{"POST", "/ui/session"}, h_ui_session, ROUTE_ANONYMOUS | ROUTE_ANY_TOKEN | ROUTE_BODY, 0,
	 NULL, ADMIN},
	{{"GET", "/ui/session"}, h_ui_session, ROUTE_ANONYMOUS | ROUTE_ANY_TOKEN, 0, NULL, ADMIN},
	{{"DELETE", "/ui/session"}, h_ui_session, ROUTE_ANY_TOKEN, 0, NULL, ADMIN},
	{{"GET", "/ui/{}"}, h_ui_file, ROUTE_ANONYMOUS | ROUTE_ANY_TOKEN, 0, NULL, ADMIN},
	{{"GET", "/v1/whoami"}, h_whoami, ROUTE_ANY_TOKEN, 0, NULL, ADMIN},
	{{"GET", "/metrics"}, h_metrics, 0, 1, NULL, UH_SCOPE_METRICS_READ},
	{{"GET", "/v1/metrics"}, h_metrics, 0, 0, NULL, UH_SCOPE_METRICS_READ},
	{{"GET", "/v1/servers"}, h_servers, 0, 0, NULL, UH_SCOPE_SERVER_READ},
	{{"GET", "/v1/servers/{}"}, h_server_get, 0, 0, NULL, UH_SCOPE_SERVER_READ},
	{{"GET", "/v1/servers/{}/stats"}, h_server_get, 0, 1, NULL, UH_SCOPE_SERVER_READ},
	{{"GET", "/v1/servers/{}/backups"}, h_server_backups, 0, 0, NULL, UH_SCOPE_BACKUP_READ},
	{{"POST", "/v1/servers/{}/backups"}, h_server_backups, ROUTE_BODY, 0, NULL,
	 UH_SCOPE_BACKUP_CREATE},
	{{"POST", "/v1/servers/{}/backups/{}/restore"}, h_server_backups, ROUTE_BODY, 0, NULL,
	 UH_SCOPE_BACKUP_RESTORE},
	{{"POST", "/v1/servers/{}/console"}, h_server_console, 0, 0, NULL, UH_SCOPE_SERVER_CONSOLE},
	/* its ticket is the credential (api_remote.c takes it before any route runs) */
	{{"GET", "/v1/console"}, h_console_open, ROUTE_ANY_TOKEN, 0, NULL, ADMIN},
	{{"POST", "/v1/servers/{}/actions/{}"}, h_server_action, ROUTE_BODY, 0, NULL,
	 UH_SCOPE_SERVER_POWER},
	{{"GET", "/v1/host"}, h_host, 0, 0, NULL, ADMIN},
	/* the fleet file (fleet_state.c) */
	{{"POST", "/v1/fleet/plan"}, h_make, ROUTE_BODY, 200, uh_fleet_plan_request, ADMIN},
	{{"GET", "/v1/fleet"}, h_fleet_export, 0, 0, NULL, ADMIN},
	{{"POST", "/v1/fleet/apply"}, h_fleet_apply, ROUTE_BODY, 0, NULL, ADMIN},
	{{"GET", "/v1/instances"}, h_instances, 0, 0, NULL, ADMIN},
	{{"POST", "/v1/instances"}, h_make, ROUTE_BODY, 201, uh_instance_create, ADMIN},
	{{"GET", "/v1/instances/{}"}, h_instance_get, 0, 0, NULL, ADMIN},
	{{"DELETE", "/v1/instances/{}"}, h_instance_op, 0, UH_OP_DELETE, NULL, ADMIN},
	{{"GET", "/v1/instances/{}/stats"}, h_instance_get, 0, 1, NULL, ADMIN},
	{{"GET", "/v1/instances/{}/logs"}, h_instance_get, 0, 2, NULL, ADMIN},
	{{"POST", "/v1/instances/{}/start"}, h_instance_op, ROUTE_BODY, UH_OP_START, NULL, ADMIN},
	{{"POST", "/v1/instances/{}/stop"}, h_instance_op, ROUTE_BODY, UH_OP_STOP, NULL, ADMIN},
	{{"POST", "/v1/instances/{}/kill"}, h_instance_op, ROUTE_BODY, UH_OP_KILL, NULL, ADMIN},
	{{"POST", "/v1/instances/{}/restart"}, h_instance_op, ROUTE_BODY, UH_OP_RESTART, NULL, ADMIN},
	{{"POST", "/v1/instances/{}/reboot"}, h_instance_op, ROUTE_BODY, UH_OP_REBOOT, NULL, ADMIN},
	{{"POST", "/v1/instances/{}/backup"}, h_instance_backup, ROUTE_BODY, 0, NULL, ADMIN},
	{{"POST", "/v1/instances/{}/flatten"}, h_instance_disk, ROUTE_BODY, 0, NULL, ADMIN},
	{{"POST", "/v1/instances/{}/resize"}, h_instance_disk, ROUTE_BODY, 1, NULL, ADMIN},
	{{"GET", "/v1/stats"}, h_instances, 0, 1, NULL, ADMIN},
	{{"GET", "/v1/templates"}, h_built_list, 0, BUILT_TEMPLATES, NULL, ADMIN},
	{{"POST", "/v1/templates"}, h_template_import, ROUTE_BODY, 0, NULL, ADMIN},
	{{"POST", "/v1/templates/build"}, h_make, ROUTE_BODY, 202, uh_template_build_start, ADMIN},
	{{"GET", "/v1/templates/{}"}, h_built_get, 0, BUILT_TEMPLATES, NULL, ADMIN},
	{{"DELETE", "/v1/templates/{}"}, h_built_delete, 0, BUILT_TEMPLATES, NULL, ADMIN},
	{{"GET", "/v1/templates/{}/log"}, h_built_log, 0, BUILT_TEMPLATES, NULL, ADMIN},
	{{"GET", "/v1/kernels"}, h_built_list, 0, BUILT_KERNELS, NULL, ADMIN},
	{{"POST", "/v1/kernels"}, h_make, ROUTE_BODY, 202, uh_kernel_build_start, ADMIN},
	{{"GET", "/v1/kernels/{}"}, h_built_get, 0, BUILT_KERNELS, NULL, ADMIN},
	{{"DELETE", "/v1/kernels/{}"}, h_built_delete, 0, BUILT_KERNELS, NULL, ADMIN},
	{{"GET", "/v1/kernels/{}/log"}, h_built_log, 0, BUILT_KERNELS, NULL, ADMIN},
	{{"POST", "/v1/upgrade"}, h_upgrade, ROUTE_BODY, 0, NULL, ADMIN},
	{{"GET", "/v1/backups"}, h_backups, 0, 0, NULL, ADMIN},
	{{"POST", "/v1/backups/restore"}, h_archives, ROUTE_BODY, ARCHIVE_RESTORE, NULL, ADMIN},
	{{"POST", "/v1/backups/verify"}, h_archives, ROUTE_BODY, ARCHIVE_VERIFY, NULL, ADMIN},
	{{"POST", "/v1/backups/prune"}, h_archives, ROUTE_BODY, ARCHIVE_PRUNE, NULL, ADMIN},
	{{"GET", "/v1/networks"}, h_networks, 0, 0, NULL, ADMIN},
	{{"POST", "/v1/networks"}, h_make, ROUTE_BODY, 201, uh_network_create, ADMIN},
	{{"DELETE", "/v1/networks/{}"}, h_network_delete, 0, 0, NULL, ADMIN},
	/* a customer's: its servers' events only (api_follow.c) */
	{{"GET", "/v1/events"}, h_events, 0, 0, NULL, UH_SCOPE_SERVER_READ},
	{{"GET", "/v1/customers"}, h_customers, 0, 0, NULL, ADMIN},
	{{"POST", "/v1/customers"}, h_make, ROUTE_BODY, 201, uh_customer_create, ADMIN},
	{{"DELETE", "/v1/customers/{}"}, h_customer_delete, 0, 0, NULL, ADMIN},
	{{"POST", "/v1/instances/{}/owner"}, h_instance_chown, ROUTE_BODY, 0, NULL, ADMIN},
	{{"GET", "/v1/tokens"}, h_tokens, 0, 0, NULL, UH_SCOPE_TOKEN_MANAGE},
	{{"POST", "/v1/tokens"}, h_token_create, ROUTE_BODY, 0, NULL, UH_SCOPE_TOKEN_MANAGE},
	{{"DELETE", "/v1/tokens/{}"}, h_token_revoke, 0, 0, NULL, UH_SCOPE_TOKEN_MANAGE},
};

const struct uh_route *uh_api_routes(size_t *n, size_t *stride)
{
	*n = sizeof(routes) / sizeof(routes[0]);
	*stride = sizeof(routes[0]);
	return &routes[0].route;
}

enum MHD_Result uh_api_dispatch(struct req *r, const char *method, const char *url)
{
	struct uh_route_args args;
	struct uh_error err;
	char allow[64];
	uh_autojson json_t *body = NULL; /* freed once, after the handler */
	int i;

	/* the panel's page */
	if (strcmp(url, "/ui") == 0 || strcmp(url, "/ui/") == 0)
		url = "/ui/index.html";
	i = uh_route_find(routes, sizeof(routes) / sizeof(routes[0]), sizeof(routes[0]),
			      method, url, &args, allow, sizeof(allow));

	r->route = i >= 0 ? routes[i].route.pattern : "none";
	if (i == UH_ROUTE_NONE)
		return uh_api_send_error(r->conn, 404, "not_found", "no route for %s %s", method, url);
	if (i == UH_ROUTE_METHOD)
		return uh_api_send_error(r->conn, 405, "invalid", "method %s not allowed on %s (%s)",
				  method, url, allow);
	if (r->anonymous && !(routes[i].flags & ROUTE_ANONYMOUS))
		return uh_api_send_error(r->conn, 401, "unauthorized", "sign in first");
	/* the route's scope (admin when it names none); the socket's callers hold them all */
	if (!(routes[i].flags & ROUTE_ANY_TOKEN)) {
		const char *missing = NULL;

		if (uh_access_scope(&r->who, routes[i].scope ? routes[i].scope : UH_SCOPE_ADMIN,
				    &missing, &err) < 0) {
			json_t *b = uh_api_error_body(&err, "permission_denied");

			json_object_set_new(b, "missing_scope", json_string(missing));
			return uh_api_send_json(r->conn, 403, b);
		}
	}
	if ((routes[i].flags & ROUTE_BODY) && (body = parse_body(r, &err)) == NULL)
		return uh_api_send_json(r->conn, 400, uh_api_error_body(&err, "invalid"));
	r->ok = 200;
	return routes[i].fn(r, &routes[i], &args, body);
}
