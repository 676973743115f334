/* Host paths out of a text a customer will read (an API error, an event of its server), and
 * a text from elsewhere (a guest's) made one safe line. */
#ifndef UH_UTIL_SCRUB_H
#define UH_UTIL_SCRUB_H

#include <stddef.h>

/* In place: each word that is an absolute path ("/var/lib/...") or a URL ("sftp://...")
 * becomes "[host path]". A word starts the text or follows a space, a quote, '(', '=', ':'
 * or ','; it ends at a space, a quote, ',', ')', or a ':' that ends the text or comes before
 * a space. The text never grows past len. */
void uh_scrub_paths(char *text, size_t len);
/* Control bytes (newlines, escapes, NUL), DEL, '\\' and bytes that are not valid UTF-8
 * become \\xNN: one line, valid JSON. A character is never cut in half; dst (len bytes) is
 * always terminated, src is read up to its NUL. */
void uh_escape_text(char *dst, size_t len, const char *src);

#endif
