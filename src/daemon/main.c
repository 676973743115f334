/* umlhostd: the supervisor daemon. For now it only reports its version. */
#include "config.h"

#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "--version") != 0) {
		fprintf(stderr, "umlhostd: unknown option '%s' (only --version for now)\n",
			argv[1]);
		return 2;
	}
	printf("umlhostd %s\n", UMLHOST_VERSION);
	return 0;
}
