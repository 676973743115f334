/* The one logging module of the daemon side. Lines go to stderr; under systemd (JOURNAL_STREAM
 * set) they carry sd-daemon priority prefixes so journald keeps the levels. */
#ifndef UH_UTIL_LOG_H
#define UH_UTIL_LOG_H

void uh_log_init(const char *ident, int debug);
void uh_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void uh_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* warn: appends ": strerror(errno)"; warnx: does not. */
void uh_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void uh_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
