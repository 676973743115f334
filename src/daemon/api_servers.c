/* The customer's view (/v1/whoami, /v1/servers...): what a token may see and do, served the
 * same on the socket (the provider's admin sees all) and on the HTTPS listener. Every answer
 * that names servers goes through uh_access_visible (src/auth/access.c): another customer's
 * server is "no instance named", exactly as a missing one. A server's JSON here holds what
 * its customer may know: no host paths, uids, pids or tap names. */
#include "daemon/api.h"
#include "daemon/metrics.h"

#include "util/timeutil.h"

#include <string.h>

/* The actions a principal may take on a server it sees, for a client to show only buttons
 * that work. */
static json_t *actions(const struct uh_principal *p)
{
	static const struct {
		unsigned int scope;
		const char *action;
	} map[] = {
		{UH_SCOPE_SERVER_READ, "read"},		{UH_SCOPE_SERVER_POWER, "start"},
		{UH_SCOPE_SERVER_POWER, "stop"},	{UH_SCOPE_SERVER_POWER, "reboot"},
		{UH_SCOPE_SERVER_CONSOLE, "console"},	{UH_SCOPE_BACKUP_READ, "backups"},
		{UH_SCOPE_BACKUP_CREATE, "backup"},	{UH_SCOPE_BACKUP_RESTORE, "restore"},
	};
	json_t *a = json_array();

	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if ((p->scopes & UH_SCOPE_ADMIN) || (p->scopes & map[i].scope))
			json_array_append_new(a, json_string(map[i].action));
	return a;
}

static json_t *server_json(const struct uh_instance *inst)
{
	const struct uh_instance_rec *r = &inst->rec;
	int running = uh_instance_active(inst) && r->pid > 0;

	return json_pack("{s:s, s:s, s:s, s:I, s:s, s:i, s:o, s:o, s:o, s:o, s:i, s:s, s:b}",
			 "name", r->name, "state", uh_state_name(inst->state), "customer",
			 r->owner[0] ? r->owner : UH_PROVIDER, "memory_mib",
			 (json_int_t)r->memory_mib, "template", r->template_name,
			 "template_version", r->template_version, "network",
			 r->network[0] ? json_string(r->network) : json_null(), "ip",
			 r->ip[0] ? json_string(r->ip) : json_null(), "started_at",
			 running && r->started_at ? json_integer(r->started_at) : json_null(),
			 "created_at", r->created ? json_integer(r->created) : json_null(),
			 "restarts", r->restarts, "kernel", r->kernel, "autostart", r->autostart);
}

static int query_off(struct req *r, const char *key)
{
	const char *v = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, key);

	return v && (strcmp(v, "0") == 0 || strcmp(v, "false") == 0);
}

/* The server of a {} path, if the caller may see it; else the same 404 as for no server. */
static struct uh_instance *visible(struct req *r, const char *name)
{
	struct uh_instance *inst = uh_instance_find(r->api->d, name);

	if (inst == NULL || !uh_access_visible(&r->who, inst->rec.name, inst->rec.owner))
		return NULL;
	return inst;
}

static enum MHD_Result not_found(struct req *r, const char *name)
{
	return uh_api_send_error(r->conn, 404, "not_found", "no instance named '%s'", name);
}

enum MHD_Result uh_api_whoami(struct req *r, const struct uh_route_args *a)
{
	char scopes[UH_SCOPES_STR];
	json_t *servers = json_array(), *sl = json_array(), *o;
	struct uh_instance *i;
	char *save = NULL, *s;

	uh_scopes_format(r->who.scopes, scopes);
	for (s = strtok_r(scopes, ",", &save); s; s = strtok_r(NULL, ",", &save))
		json_array_append_new(sl, json_string(s));
	for (i = r->api->d->instances; i; i = i->next)
		if (uh_access_visible(&r->who, i->rec.name, i->rec.owner))
			json_array_append_new(servers,
					      json_pack("{s:s, s:o}", "name", i->rec.name,
							"actions", actions(&r->who)));
	o = json_pack("{s:s, s:o, s:o, s:o, s:o}", "customer", r->who.customer, "token",
		      r->who.token_id[0] ? json_string(r->who.token_id) : json_null(), "scopes", sl,
		      "expires_at", r->who.expires ? json_integer(r->who.expires) : json_null(),
		      "servers", servers);
	return uh_api_send_json(r->conn, 200, o);
}

enum MHD_Result uh_api_servers(struct req *r, const struct uh_route_args *a)
{
	json_t *arr = json_array();
	struct uh_instance *i;

	for (i = r->api->d->instances; i; i = i->next)
		if (uh_access_visible(&r->who, i->rec.name, i->rec.owner))
			json_array_append_new(arr, server_json(i));
	return uh_api_send_json(r->conn, 200, arr);
}

/* GET /v1/servers/{} (stats: /v1/servers/{}/stats) */
enum MHD_Result uh_api_server_get(struct req *r, const struct uh_route_args *a, int stats)
{
	struct uh_instance *inst = visible(r, a->v[0]);

	json_t *o;

	if (inst == NULL)
		return not_found(r, a->v[0]);
	if (!stats)
		return uh_api_send_json(r->conn, 200, server_json(inst));
	/* the counters now, and the history a graph draws (?history=0: the counters alone) */
	o = uh_instance_stats(inst);
	if (!query_off(r, "history"))
		json_object_set_new(o, "history", uh_stats_history(r->api->d, inst));
	return uh_api_send_json(r->conn, 200, o);
}

/* GET /metrics (host: the provider's whole host) and /v1/metrics (the caller's servers) */
enum MHD_Result uh_api_metrics(struct req *r, int host)
{
	size_t len;
	char *text;

	if (host && strcmp(r->who.customer, UH_ALL_CUSTOMERS) != 0)
		return uh_api_send_error(r->conn, 403, "permission_denied",
					 "the host's metrics are the provider's; a customer's own "
					 "are at /v1/metrics");
	text = uh_metrics_text(r->api->d, &r->who, host, &len);
	return uh_api_send_text(r->conn, 200, "text/plain; version=0.0.4; charset=utf-8", text,
				len);
}

/* An operation's answer (the instance's full record) as the customer sees a server. */
static json_t *shape_server(struct req *r, json_t *result)
{
	struct uh_instance *inst =
		uh_instance_find(r->api->d, json_string_value(json_object_get(result, "name")) ?: "");
	json_t *out = inst ? server_json(inst)
			   : json_pack("{s:O?, s:O?}", "name", json_object_get(result, "name"),
				       "state", json_object_get(result, "state"));

	json_decref(result);
	return out;
}

/* POST /v1/servers/{}/console: a ticket for its WebSocket (api_console.c) */
enum MHD_Result uh_api_server_console(struct req *r, const struct uh_route_args *a)
{
	struct uh_instance *inst = visible(r, a->v[0]);

	if (inst == NULL)
		return not_found(r, a->v[0]);
	return uh_api_console_ticket(r, inst);
}

/* A backup as the customer sees it: its id, no path. */
static json_t *shape_backup(struct req *r, json_t *result)
{
	char id[UH_KEY_MAX + 32];
	json_t *out;

	struct uh_instance *inst =
		uh_instance_find(r->api->d, json_string_value(json_object_get(result, "instance")) ?: "");

	uh_backup_archive_id(json_string_value(json_object_get(result, "archive")) ?: "", id,
			     sizeof(id));
	/* made: the customer's oldest past the bound go (never this one: the newest) */
	if (inst)
		uh_backup_prune_owned(r->api->d, inst, UH_CUSTOMER_BACKUPS_KEEP);
	out = json_pack("{s:s, s:s, s:O?, s:O?, s:O?}", "server",
			json_string_value(json_object_get(result, "instance")) ?: "", "id", id,
			"bytes", json_object_get(result, "bytes"), "sha256",
			json_object_get(result, "sha256"), "freeze_ms",
			json_object_get(result, "freeze_ms"));
	json_decref(result);
	return out;
}

/* GET|POST /v1/servers/{}/backups, POST /v1/servers/{}/backups/{}/restore. Made to the
 * default place (<state>/backups/NAME); a customer names no host path. */
enum MHD_Result uh_api_server_backups(struct req *r, const struct uh_route_args *a,
				      const char *method)
{
	struct uh_instance *inst = visible(r, a->v[0]);
	struct uh_error err;
	json_t *list;

	if (inst == NULL)
		return not_found(r, a->v[0]);
	/* a customer's backups and restores: 3 at once, then one a minute per server (each
	 * copies a disk; what they leave is bounded by uh_backup_prune_owned) */
	if (strcmp(method, "POST") == 0 && !(r->who.scopes & UH_SCOPE_ADMIN)) {
		if (inst->customer_ops.burst == 0)
			uh_ratelimit_init(&inst->customer_ops, 3, 1, uh_now_ms());
		if (!uh_ratelimit_take(&inst->customer_ops, uh_now_ms()))
			return uh_api_send_error(r->conn, 429, "rate_limited",
						 "%s: at most 3 backups or restores at once, then one "
						 "a minute; try again in a minute",
						 inst->rec.name);
	}
	if (a->n == 2) {
		uh_api_async_begin(r);
		uh_backup_restore_over(r->api->d, inst->rec.name, a->v[1], uh_api_op_done, r);
		return uh_api_async_wait(r);
	}
	if (strcmp(method, "POST") == 0) {
		r->ok = 201;
		r->shape = shape_backup;
		uh_api_async_begin(r);
		uh_backup_create(r->api->d, inst->rec.name, NULL, 0, uh_api_op_done, r);
		return uh_api_async_wait(r);
	}
	list = uh_backup_list_owned(r->api->d, inst, &err);
	if (list == NULL)
		return uh_api_send_err(r, &err);
	return uh_api_send_json(r->conn, 200, list);
}

/* POST /v1/servers/{}/actions/{start|stop|reboot} */
enum MHD_Result uh_api_server_action(struct req *r, const struct uh_route_args *a)
{
	static const struct {
		const char *name;
		enum uh_op_type op;
	} ops[] = {{"start", UH_OP_START}, {"stop", UH_OP_STOP}, {"reboot", UH_OP_REBOOT}};
	struct uh_instance *inst = visible(r, a->v[0]);

	if (inst == NULL)
		return not_found(r, a->v[0]);
	for (size_t k = 0; k < sizeof(ops) / sizeof(ops[0]); k++)
		if (strcmp(a->v[1], ops[k].name) == 0) {
			if (!(r->who.scopes & UH_SCOPE_ADMIN))
				r->shape = shape_server;
			return uh_api_run_op(r, inst->rec.name, ops[k].op, 0, 0);
		}
	return uh_api_send_error(r->conn, 404, "not_found",
				 "no action '%s' (start, stop or reboot)", a->v[1]);
}
