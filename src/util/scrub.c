/* Host paths out of a text a customer reads (scrub.h). */
#include "util/scrub.h"

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
