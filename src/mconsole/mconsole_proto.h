/* The UML management console wire format (arch/um/drivers/mconsole.h), host byte order:
 *   request  {u32 magic 0xcafebabe, u32 version 2, u32 len, char data[512]}
 *   reply    {u32 err, u32 more, u32 len, char data[512]}   (len counts the trailing NUL;
 *            the kernel sends only 12 + len bytes; replies repeat while `more` is set)
 *   notify   {u32 magic, u32 version, u32 type, u32 len, char data[512]}  (sent to the
 *            socket named by the `mconsole=notify:<socket>` boot option)
 * Pure code, no I/O: unit-tested and fuzzed. */
#ifndef UH_MCONSOLE_PROTO_H
#define UH_MCONSOLE_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

#define UH_MC_MAGIC 0xcafebabeU
#define UH_MC_VERSION 2
#define UH_MC_MAX_DATA 512
#define UH_MC_REPLY_HDR 12
#define UH_MC_NOTIFY_HDR 16

struct uh_mc_request {
	uint32_t magic;
	uint32_t version;
	uint32_t len;
	char data[UH_MC_MAX_DATA];
};

/* One reply datagram, validated. */
struct uh_mc_reply_chunk {
	uint32_t err;
	uint32_t more;
	size_t len;		       /* bytes of text, without the trailing NUL */
	char data[UH_MC_MAX_DATA + 1]; /* NUL-terminated */
};

enum uh_mc_notify_type {
	UH_MC_NOTIFY_SOCKET = 0, /* data: path of the instance's mconsole socket; boot ready */
	UH_MC_NOTIFY_PANIC = 1,	 /* data: the panic message */
	UH_MC_NOTIFY_HANG = 2,	 /* sent by the harddog driver when the guest hangs */
	UH_MC_NOTIFY_USER = 3,	 /* data: what the guest wrote to /proc/mconsole */
};

struct uh_mc_notify {
	enum uh_mc_notify_type type;
	size_t len;
	char data[UH_MC_MAX_DATA + 1]; /* NUL-terminated */
};

/* Build a request for `cmd`. The kernel NUL-terminates data[len], so at most 511 bytes. */
int uh_mc_request_build(struct uh_mc_request *r, const char *cmd, struct uh_error *err);

/* Validate one reply datagram of n bytes (n may exceed the struct: that is an error). */
int uh_mc_reply_parse(const void *buf, size_t n, struct uh_mc_reply_chunk *out,
		      struct uh_error *err);

/* Validate one notification datagram. */
int uh_mc_notify_parse(const void *buf, size_t n, struct uh_mc_notify *out, struct uh_error *err);

const char *uh_mc_notify_type_name(enum uh_mc_notify_type t);

#endif
