/* Error objects in crun's style: a fallible function returns a negative value and fills a
 * struct uh_error; callers prefix context on the way up; only main() prints. */
#ifndef UH_UTIL_ERROR_H
#define UH_UTIL_ERROR_H

#include <stddef.h>

#define UH_ERROR_MAX 1024

struct uh_error {
	int errnum;		/* errno of the root cause, 0 when it was not a syscall */
	char msg[UH_ERROR_MAX]; /* one line, no trailing newline */
};

/* Set the message from fmt and append ": strerror(errnum)". Returns -1. */
int uh_err(struct uh_error *e, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Set the message from fmt only (no errno text). Returns -1. */
int uh_errx(struct uh_error *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Set the message and an errno that classifies it (ENOENT: missing, EEXIST: exists, EBUSY:
 * conflicting state...) without appending strerror text. Returns -1. */
int uh_errc(struct uh_error *e, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Prefix context to an existing message: "context: old". Returns -1. */
int uh_err_prefix(struct uh_error *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void uh_err_clear(struct uh_error *e);

#endif
