/* Host paths out of a text a customer reads, others' text made one safe line (scrub.h). */
#include "util/scrub.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define MARK "[host path]"

static int starts_word(const char *t, size_t i)
{
	return i == 0 || strchr(" '\"(=:,", t[i - 1]) != NULL;
}

static int is_url(const char *s)
{
	size_t n = strspn(s, "abcdefghijklmnopqrstuvwxyz+");

	return n > 0 && strncmp(s + n, "://", 3) == 0;
}

static int ends_word(const char *s)
{
	return *s == '\0' || strchr(" '\",)", *s) != NULL ||
	       (*s == ':' && (s[1] == '\0' || s[1] == ' '));
}

void uh_scrub_paths(char *text, size_t len)
{
	char out[1024];
	size_t i = 0, o = 0, cap = len < sizeof(out) ? len : sizeof(out);

	if (cap == 0)
		return;
	while (text[i] && o + 1 < cap) {
		if (starts_word(text, i) && (text[i] == '/' || is_url(text + i))) {
			if (o + sizeof(MARK) > cap)
				break;
			memcpy(out + o, MARK, sizeof(MARK) - 1);
			o += sizeof(MARK) - 1;
			while (!ends_word(text + i))
				i++;
			continue;
		}
		out[o++] = text[i++];
	}
	out[o] = '\0';
	memcpy(text, out, o + 1);
}

/* The length of the valid UTF-8 sequence at s (2-4 bytes, no overlong forms, no
 * surrogates, at most U+10FFFF), or 0. */
static size_t utf8_seq(const unsigned char *s)
{
	size_t n, i;
	uint32_t cp;

	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4, cp = s[0] & 0x07;
	else
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return n;
}

/* Control bytes (newlines, escapes, NUL), DEL, '\' and bytes that are not valid UTF-8
 * become \xNN: one event is one log line, and valid JSON (a guest's invalid UTF-8 would
 * otherwise make the event unencodable). A character is never cut in half. */
void uh_escape_text(char *dst, size_t len, const char *src)
{
	const unsigned char *s = (const unsigned char *)src;
	size_t o = 0, n;

	while (*s && o + 5 < len) {
		if (*s < 0x20 || *s == 0x7f || *s == '\\' || (*s >= 0x80 && utf8_seq(s) == 0)) {
			o += (size_t)snprintf(dst + o, len - o, "\\x%02x", *s);
			s++;
		} else if (*s >= 0x80) {
			n = utf8_seq(s);
			if (o + n + 1 > len)
				break;
			memcpy(dst + o, s, n);
			o += n;
			s += n;
		} else {
			dst[o++] = (char)*s++;
		}
	}
	dst[o] = '\0';
}
