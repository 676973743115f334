/* Is an id range free on this host (idrange.h)? The files are read as the admin wrote them:
 * passwd and group by their numeric id field, subuid and subgid as NAME:START:COUNT
 * intervals. */
#include "jail/idrange.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const struct uh_id_files uh_id_files_host = {"/etc/passwd", "/etc/group", "/etc/subuid",
					     "/etc/subgid"};

/* the n-th (0-based) ':'-separated field of line as a number; -1 if missing or not one */
static int field_u64(const char *line, int n, uint64_t *out)
{
	const char *p = line;
	char *end;

	while (n-- > 0) {
		p = strchr(p, ':');
		if (p == NULL)
			return -1;
		p++;
	}
	if (*p < '0' || *p > '9')
		return -1;
	errno = 0;
	*out = strtoull(p, &end, 10);
	if (errno || (*end != ':' && *end != '\0' && *end != '\n'))
		return -1;
	return 0;
}

/* what: "id" (passwd uid and gid fields), "gid" (group), "range" (subuid/subgid) */
static int check_file(const char *path, const char *what, uint64_t lo, uint64_t hi,
		      struct uh_error *err)
{
	FILE *fp;
	char line[4096];
	int lineno = 0, rc = 0;

	if (path == NULL)
		return 0;
	fp = fopen(path, "re");
	if (fp == NULL)
		return errno == ENOENT ? 0 : uh_err(err, errno, "read %s", path);
	while (rc == 0 && fgets(line, sizeof(line), fp)) {
		uint64_t a, b;

		lineno++;
		line[strcspn(line, "\n")] = '\0';
		if (line[0] == '#' || line[0] == '\0')
			continue;
		if (strcmp(what, "range") == 0) {
			if (field_u64(line, 1, &a) < 0 || field_u64(line, 2, &b) < 0 || b == 0)
				continue;
			if (a < hi && a + b > lo)
				rc = uh_errx(err, "%s line %d '%.80s' (ids %llu-%llu) overlaps the "
						  "instance uids %llu-%llu (uid_min, uid_count): pick "
						  "a range nobody else has",
					     path, lineno, line, (unsigned long long)a,
					     (unsigned long long)(a + b - 1),
					     (unsigned long long)lo, (unsigned long long)(hi - 1));
			continue;
		}
		/* passwd: uid is field 2 and gid field 3; group: gid is field 2 */
		if ((field_u64(line, 2, &a) == 0 && a >= lo && a < hi) ||
		    (strcmp(what, "id") == 0 && field_u64(line, 3, &a) == 0 && a >= lo && a < hi))
			rc = uh_errx(err, "%s line %d '%.80s' has id %llu, inside the instance uids "
					  "%llu-%llu (uid_min, uid_count): pick a range nobody "
					  "else has",
				     path, lineno, line, (unsigned long long)a,
				     (unsigned long long)lo, (unsigned long long)(hi - 1));
	}
	fclose(fp);
	return rc;
}

int uh_idrange_check(const struct uh_id_files *f, uint32_t min, uint32_t count,
		     struct uh_error *err)
{
	uint64_t lo = min, hi = (uint64_t)min + count;

	if (check_file(f->passwd, "id", lo, hi, err) < 0 ||
	    check_file(f->group, "gid", lo, hi, err) < 0 ||
	    check_file(f->subuid, "range", lo, hi, err) < 0 ||
	    check_file(f->subgid, "range", lo, hi, err) < 0)
		return -1;
	return 0;
}
