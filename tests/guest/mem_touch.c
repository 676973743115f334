/* mem_touch MIB [HOLD_S]: allocate MIB MiB, write every page, read every page back, print
 * "mem-touch: mib=N ms=T max_chunk_ms=C bad=B" (T: the milliseconds the writes and reads
 * took; C: the longest any 4 MiB of the writes took, i.e. how long the guest waited at most
 * for memory; B: pages that did not read back what was written) and exit 0 when B is 0. With HOLD_S, keep the memory
 * that many seconds before exiting. Built static on the host, run in a busybox guest by
 * tests/e2e/test_reclaim.sh. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}

int main(int argc, char **argv)
{
	long mib = argc > 1 ? atol(argv[1]) : 0, hold = argc > 2 ? atol(argv[2]) : 0;
	size_t page = (size_t)sysconf(_SC_PAGESIZE), n, i, bad = 0;
	volatile uint64_t *p;
	double t0, tc, chunk_ms, max_chunk = 0;

	if (mib <= 0) {
		fprintf(stderr, "usage: mem_touch MIB [HOLD_S]\n");
		return 2;
	}
	n = (size_t)mib << 20;
	t0 = now_ms();
	p = malloc(n);
	if (p == NULL) {
		printf("mem-touch: mib=%ld malloc failed\n", mib);
		return 1;
	}
	tc = now_ms();
	for (i = 0; i < n / page; i++) {
		p[i * page / 8] = i * 2654435761u;
		if ((i + 1) % ((4 << 20) / page) == 0) {
			chunk_ms = now_ms() - tc;
			max_chunk = chunk_ms > max_chunk ? chunk_ms : max_chunk;
			tc = now_ms();
		}
	}
	for (i = 0; i < n / page; i++)
		bad += p[i * page / 8] != i * 2654435761u;
	printf("mem-touch: mib=%ld ms=%.0f max_chunk_ms=%.0f bad=%zu\n", mib, now_ms() - t0,
	       max_chunk, bad);
	fflush(stdout);
	if (hold > 0)
		sleep((unsigned)hold);
	return bad ? 1 : 0;
}
