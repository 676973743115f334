/* The one place an error's kind becomes an HTTP status and a code (daemon.h): the errno
 * class the domain code set. Only the API calls it. */
#include <errno.h>

#include "daemon/daemon.h"

static const struct {
	int errnum;
	int status;
	const char *code;
} error_classes[] = {
	{ENOENT, 404, "not_found"},
	{EEXIST, 409, "exists"},
	{EBUSY, 409, "busy"},
	{ESTALE, 409, "conflict"}, /* a compare-and-swap on the state lost (store.h) */
	{ECANCELED, 409, "failed"},	  /* a backup cancelled by delete --force */
	{EACCES, 403, "permission_denied"},
	{EPERM, 403, "permission_denied"},
	{ETIMEDOUT, 504, "timeout"},
	{ENOSPC, 507, "no_space"},
	{EBADMSG, 422, "verify_failed"}, /* an archive whose digests or manifest are wrong */
	{EINVAL, 400, "invalid"},
	{ENOEXEC, 400, "kernel_unusable"}, /* uh_kernel_check_usable */
	{EIO, 500, "failed"},		   /* the daemon could not do its part */
	{ESHUTDOWN, 503, "failed"},	   /* umlhostd is stopping */
};

int uh_api_error_status(const struct uh_error *err)
{
	size_t i;

	for (i = 0; i < sizeof(error_classes) / sizeof(error_classes[0]); i++)
		if (error_classes[i].errnum == err->errnum)
			return error_classes[i].status;
	return 400;
}

/* {"error": message, "code": code, or the class's} */
json_t *uh_api_error_body(const struct uh_error *err, const char *code)
{
	size_t i;

	for (i = 0; code == NULL && i < sizeof(error_classes) / sizeof(error_classes[0]); i++)
		if (error_classes[i].errnum == err->errnum)
			code = error_classes[i].code;
	return json_pack("{s:s, s:s}", "error", err->msg, "code", code ? code : "failed");
}
