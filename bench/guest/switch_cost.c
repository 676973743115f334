/* switch_cost: what a context switch and a system call cost inside a guest (bench/fpu.sh).
 *
 *   switch_cost [ROUNDS=20000]
 *
 * Prints three medians of 5 batches, in microseconds:
 *   syscall  getppid()
 *   procs    one pipe round trip between two processes (2 switches, 4 syscalls)
 *   threads  one pipe round trip between two threads of a process
 * Under UML every switch and every system call moves the process's FPU state through ptrace,
 * which is what the patch series changed. Built static on the host. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long rounds = 20000;
static int ab[2], ba[2];

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static void echo_loop(long n)
{
	char c;

	while (n-- > 0)
		if (read(ab[0], &c, 1) != 1 || write(ba[1], &c, 1) != 1)
			exit(1);
}

static void *echo_thread(void *arg)
{
	echo_loop((long)arg);
	return NULL;
}

static double ping(long n)
{
	double t0 = now_us();
	char c = 'x';
	long i;

	for (i = 0; i < n; i++)
		if (write(ab[1], &c, 1) != 1 || read(ba[0], &c, 1) != 1)
			exit(1);
	return (now_us() - t0) / (double)n;
}

int main(int argc, char **argv)
{
	double sys[5], procs[5], threads[5];
	long n, i;
	int b;

	if (argc > 1)
		rounds = atol(argv[1]);
	n = rounds / 5 > 0 ? rounds / 5 : 1;
	if (pipe(ab) < 0 || pipe(ba) < 0)
		return 1;
	for (b = 0; b < 5; b++) {
		double t0 = now_us();
		pid_t pid;
		pthread_t th;

		for (i = 0; i < n; i++)
			syscall(SYS_getppid);
		sys[b] = (now_us() - t0) / (double)n;

		pid = fork();
		if (pid == 0) {
			echo_loop(n);
			_exit(0);
		}
		procs[b] = ping(n);
		waitpid(pid, NULL, 0);

		pthread_create(&th, NULL, echo_thread, (void *)n);
		threads[b] = ping(n);
		pthread_join(th, NULL);
	}
	qsort(sys, 5, sizeof(double), cmp);
	qsort(procs, 5, sizeof(double), cmp);
	qsort(threads, 5, sizeof(double), cmp);
	printf("switch-cost: syscall %.2f us, procs %.2f us, threads %.2f us (round trips, median of 5 x %ld)\n",
	       sys[2], procs[2], threads[2], n);
	return 0;
}
