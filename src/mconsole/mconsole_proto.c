#include "mconsole/mconsole_proto.h"

#include <string.h>

static uint32_t get_u32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

int uh_mc_request_build(struct uh_mc_request *r, const char *cmd, struct uh_error *err)
{
	size_t len = strlen(cmd);

	if (len == 0)
		return uh_errx(err, "empty mconsole command");
	if (len >= UH_MC_MAX_DATA)
		return uh_errx(err, "mconsole command is %zu bytes; the limit is %d", len,
			       UH_MC_MAX_DATA - 1);
	memset(r, 0, sizeof(*r));
	r->magic = UH_MC_MAGIC;
	r->version = UH_MC_VERSION;
	r->len = (uint32_t)len;
	memcpy(r->data, cmd, len);
	return 0;
}

/* Copy `len` bytes of payload, dropping the kernel's trailing NUL and anything after an
 * embedded NUL (the kernel's strings never contain one). */
static size_t copy_text(char *dst, const uint8_t *src, size_t len)
{
	size_t n = strnlen((const char *)src, len);

	memcpy(dst, src, n);
	dst[n] = '\0';
	return n;
}

int uh_mc_reply_parse(const void *buf, size_t n, struct uh_mc_reply_chunk *out,
		      struct uh_error *err)
{
	const uint8_t *p = buf;
	uint32_t len;

	memset(out, 0, sizeof(*out));
	if (n < UH_MC_REPLY_HDR)
		return uh_errx(err, "short mconsole reply (%zu bytes)", n);
	if (n > UH_MC_REPLY_HDR + UH_MC_MAX_DATA)
		return uh_errx(err, "oversized mconsole reply (%zu bytes, at most %d)", n,
			       UH_MC_REPLY_HDR + UH_MC_MAX_DATA);
	/* A reply has no magic; a datagram that starts with one is a request or notification
	 * bounced back at us, i.e. the peer is not a UML mconsole. */
	if (get_u32(p) == UH_MC_MAGIC)
		return uh_errx(err, "wrong magic: the peer sent a request, not an mconsole reply");
	out->err = get_u32(p);
	out->more = get_u32(p + 4);
	len = get_u32(p + 8);
	if (len > UH_MC_MAX_DATA)
		return uh_errx(err, "mconsole reply claims %u bytes of data, at most %d", len,
			       UH_MC_MAX_DATA);
	if (UH_MC_REPLY_HDR + (size_t)len > n)
		return uh_errx(err, "truncated mconsole reply (%zu of %u bytes)",
			       n - UH_MC_REPLY_HDR, len);
	/* err is any non-zero value on failure (remove answers -ENODEV), more is a flag */
	if (out->more > 1)
		return uh_errx(err, "malformed mconsole reply (more=%u)", out->more);
	out->len = copy_text(out->data, p + UH_MC_REPLY_HDR, len);
	return 0;
}

int uh_mc_notify_parse(const void *buf, size_t n, struct uh_mc_notify *out, struct uh_error *err)
{
	const uint8_t *p = buf;
	uint32_t magic, version, type, len;

	memset(out, 0, sizeof(*out));
	if (n < UH_MC_NOTIFY_HDR)
		return uh_errx(err, "short mconsole notification (%zu bytes)", n);
	if (n > UH_MC_NOTIFY_HDR + UH_MC_MAX_DATA)
		return uh_errx(err, "oversized mconsole notification (%zu bytes)", n);
	magic = get_u32(p);
	version = get_u32(p + 4);
	type = get_u32(p + 8);
	len = get_u32(p + 12);
	if (magic != UH_MC_MAGIC)
		return uh_errx(err, "mconsole notification with wrong magic 0x%08x", magic);
	if (version != UH_MC_VERSION)
		return uh_errx(err, "mconsole notification version %u, expected %d", version,
			       UH_MC_VERSION);
	if (type > UH_MC_NOTIFY_USER)
		return uh_errx(err, "unknown mconsole notification type %u", type);
	if (len > UH_MC_MAX_DATA || UH_MC_NOTIFY_HDR + (size_t)len > n)
		return uh_errx(err, "truncated mconsole notification (len %u, %zu bytes)", len,
			       n);
	out->type = (enum uh_mc_notify_type)type;
	out->len = copy_text(out->data, p + UH_MC_NOTIFY_HDR, len);
	return 0;
}

const char *uh_mc_notify_type_name(enum uh_mc_notify_type t)
{
	switch (t) {
	case UH_MC_NOTIFY_SOCKET:
		return "socket";
	case UH_MC_NOTIFY_PANIC:
		return "panic";
	case UH_MC_NOTIFY_HANG:
		return "hang";
	case UH_MC_NOTIFY_USER:
		return "user";
	}
	return "unknown";
}
