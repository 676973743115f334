/* The API's answers (api.h): JSON and text responses, errors from their errno class, and
 * requests whose answer comes when an operation finishes (the connection suspended until
 * then). */
#include "daemon/api.h"
#include "util/cleanup.h"
#include "util/scrub.h"

#include <string.h>

/* ---- responses */

int uh_api_last_status;

enum MHD_Result uh_api_send_text(struct MHD_Connection *c, int status, const char *type,
				 char *text /* owned */, size_t len)
{
	struct MHD_Response *r =
		MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
	enum MHD_Result ret;

	uh_api_last_status = status;
	MHD_add_response_header(r, "Content-Type", type);
	if (status == 401)
		MHD_add_response_header(r, "WWW-Authenticate", "Bearer realm=\"umlhost\"");
	ret = MHD_queue_response(c, (unsigned int)status, r);
	MHD_destroy_response(r);
	return ret;
}

enum MHD_Result uh_api_send_json(struct MHD_Connection *c, int status, json_t *body)
{
	char *s = json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER);

	json_decref(body);
	if (s == NULL)
		abort();
	return uh_api_send_text(c, status, "application/json", s, strlen(s));
}

enum MHD_Result uh_api_send_error(struct MHD_Connection *c, int status, const char *code,
				  const char *fmt, ...)
{
	struct uh_error e = {0};
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(e.msg, sizeof(e.msg), fmt, ap);
	va_end(ap);
	return uh_api_send_json(c, status, uh_api_error_body(&e, code));
}

/* ---- asynchronous operations */

/* A customer's error text holds no host path (where the state lives, an archive's
 * directory): each word that starts with '/' becomes "[host path]". The provider's and the
 * socket's keep them: they are what an admin acts on. */
static void scrub(const struct req *r, struct uh_error *e)
{
	if (r->remote && !(r->who.scopes & UH_SCOPE_ADMIN))
		uh_scrub_paths(e->msg, sizeof(e->msg));
}

/* An operation's error: its status from the errno class, its {"error", "code"} body. */
enum MHD_Result uh_api_send_err(struct req *r, struct uh_error *err)
{
	scrub(r, err);
	return uh_api_send_json(r->conn, uh_api_error_status(err), uh_api_error_body(err, NULL));
}

void uh_api_run(struct api *api)
{
	MHD_run(api->mhd);
	if (api->mhd_remote)
		MHD_run(api->mhd_remote);
	if (api->mhd_metrics)
		MHD_run(api->mhd_metrics);
}

static void mhd_kick_due(void *arg)
{
	struct api *api = arg;

	api->kick = NULL;
	uh_api_run(api);
}

/* A resumed connection is served on the next MHD_run: make that now, not at the next tick. */
void uh_api_kick(struct api *api)
{
	if (api->kick == NULL)
		api->kick = uh_loop_after(api->d->loop, 0, mhd_kick_due, api);
}

void uh_api_op_done(void *ctx, const struct uh_error *err, json_t *result)
{
	struct req *r = ctx, **pp;
	struct uh_error scrubbed;

	if (err) {
		scrubbed = *err;
		scrub(r, &scrubbed);
		err = &scrubbed;
	}
	if (!err && result && r->shape)
		result = r->shape(r, result);
	r->status = err ? uh_api_error_status(err) : r->ok;
	r->resp = err ? uh_api_error_body(err, NULL) : result ? result : json_object();
	r->have_response = 1;
	for (pp = &r->api->pending; *pp; pp = &(*pp)->next) {
		if (*pp == r) {
			*pp = r->next;
			break;
		}
	}
	if (r->suspended) {
		r->suspended = 0;
		MHD_resume_connection(r->conn);
		uh_api_kick(r->api);
	}
}

/* Before starting something that answers through uh_api_op_done (maybe at once). */
void uh_api_async_begin(struct req *r)
{
	r->in_op = 1;
	r->next = r->api->pending;
	r->api->pending = r;
}

/* After starting it: answer now, or park the connection until uh_api_op_done. */
enum MHD_Result uh_api_async_wait(struct req *r)
{
	if (r->have_response)
		return uh_api_send_json(r->conn, r->status, uh_steal_pointer(&r->resp));
	r->suspended = 1;
	MHD_suspend_connection(r->conn);
	return MHD_YES;
}

enum MHD_Result uh_api_run_op(struct req *r, const char *name, enum uh_op_type type, int timeout,
			      int force)
{
	uh_api_async_begin(r);
	uh_instance_submit(r->api->d, name, type, timeout, force, uh_api_op_done, r);
	return uh_api_async_wait(r);
}
