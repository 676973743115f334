/* Cleanup attributes for locals (crun/systemd style) and explicit ownership transfer. */
#ifndef UH_UTIL_CLEANUP_H
#define UH_UTIL_CLEANUP_H

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static inline void uh_freep(void *p)
{
	free(*(void **)p);
}

/* Close *fd if open and reset it to -1, keeping errno intact. */
static inline void uh_close(int *fd)
{
	int saved = errno;

	if (*fd >= 0)
		close(*fd);
	*fd = -1;
	errno = saved;
}

static inline void uh_fclosep(FILE **fp)
{
	if (*fp)
		fclose(*fp);
	*fp = NULL;
}

static inline void uh_closedirp(DIR **dp)
{
	if (*dp)
		closedir(*dp);
	*dp = NULL;
}

#define uh_autofree __attribute__((cleanup(uh_freep)))
#define uh_autoclose __attribute__((cleanup(uh_close)))
#define uh_autofclose __attribute__((cleanup(uh_fclosep))) /* a FILE * read (written ones: fclose checked) */
#define uh_autoclosedir __attribute__((cleanup(uh_closedirp)))

/* Hand a pointer out of a cleanup-managed local: the local becomes NULL. */
#define uh_steal_pointer(pp)                                                                       \
	({                                                                                         \
		__typeof__(*(pp)) _p = *(pp);                                                      \
		*(pp) = NULL;                                                                      \
		_p;                                                                                \
	})
#define uh_steal_fd(fdp)                                                                           \
	({                                                                                         \
		int _fd = *(fdp);                                                                  \
		*(fdp) = -1;                                                                       \
		_fd;                                                                               \
	})

#endif
