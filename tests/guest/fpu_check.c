/* fpu_check: run inside a guest; does the kernel keep each thread's vector registers?
 *
 *   fpu_check [-p PROCESSES] [-t THREADS] [-n ROUNDS]
 *
 * PROCESSES processes with THREADS threads each (defaults 2 x 2). Every round, a thread loads
 * all vector registers the CPU has (zmm0-31 and k1-7 with AVX-512, else ymm0-15 with AVX,
 * else xmm0-15) and MXCSR with a pattern of its own, enters the kernel (sched_yield, every
 * eighth round a 50 us nanosleep) with the registers live, stores them and compares. With
 * several threads runnable on the guest's one CPU every round is a switch, so a kernel that
 * saves only part of the state (e.g. x87/SSE through PTRACE_SETFPREGS) or a buffer of the
 * wrong size shows as mismatches. The switches counted are the threads' own
 * (/proc/thread-self/status, voluntary + involuntary).
 *
 * Prints one line "fpu-check: isa=... processes=P threads=T rounds=N switches=S
 * mismatches=M" and exits 0 only when M is 0 and every thread ran. Built static on the host
 * (gcc -static -pthread) and copied into a guest image. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum isa { ISA_SSE, ISA_AVX, ISA_AVX512 };
static const char *isa_name[] = {"sse", "avx", "avx512"};

/* the register image a round loads and stores: zmm0-31 (2048 bytes), k1-k7, mxcsr */
#define VEC_BYTES 2048
#define K_OFF VEC_BYTES
#define MXCSR_OFF (K_OFF + 8 * 8)
#define IMAGE_BYTES (MXCSR_OFF + 8)

struct result { /* per process, in shared memory */
	long rounds, mismatches, switches, threads_done;
	char first[160];
};

static enum isa isa;
static long rounds = 5000;
static struct result *results;

static uint64_t next_rand(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* Load the image, make the system call NR with arguments A0, A1 while every register is
 * live, store the image. rdi/rsi carry the arguments; syscall clobbers rax, rcx, r11. */
#define Z(n) "vmovdqu64 " #n "*64(%[in]), %%zmm" #n "\n\t"
#define ZS(n) "vmovdqu64 %%zmm" #n ", " #n "*64(%[out])\n\t"
#define K(n) "kmovq " #n "*8+2048(%[in]), %%k" #n "\n\t"
#define KS(n) "kmovq %%k" #n ", " #n "*8+2048(%[out])\n\t"
#define Y(n) "vmovdqu " #n "*32(%[in]), %%ymm" #n "\n\t"
#define YS(n) "vmovdqu %%ymm" #n ", " #n "*32(%[out])\n\t"
#define X(n) "movdqu " #n "*16(%[in]), %%xmm" #n "\n\t"
#define XS(n) "movdqu %%xmm" #n ", " #n "*16(%[out])\n\t"
#define ALL16(M) M(0) M(1) M(2) M(3) M(4) M(5) M(6) M(7) M(8) M(9) M(10) M(11) M(12) M(13) M(14) M(15)
#define HI16(M) M(16) M(17) M(18) M(19) M(20) M(21) M(22) M(23) M(24) M(25) M(26) M(27) M(28) \
	M(29) M(30) M(31)
#define K7(M) M(1) M(2) M(3) M(4) M(5) M(6) M(7)
#define MX "ldmxcsr 2112(%[in])\n\t"
#define MXS "stmxcsr 2112(%[out])\n\t"
#define CLOBBER16 "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", \
	"xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15"

__attribute__((target("avx512f"))) static void round_avx512(const uint8_t *in, uint8_t *out,
							     long nr, long a0, long a1)
{
	asm volatile(ALL16(Z) HI16(Z) K7(K) MX "syscall\n\t" ALL16(ZS) HI16(ZS) K7(KS) MXS
		     : "+a"(nr)
		     : [in] "r"(in), [out] "r"(out), "D"(a0), "S"(a1)
		     : "rcx", "r11", "memory", CLOBBER16, "xmm16", "xmm17", "xmm18", "xmm19",
		       "xmm20", "xmm21", "xmm22", "xmm23", "xmm24", "xmm25", "xmm26", "xmm27",
		       "xmm28", "xmm29", "xmm30", "xmm31", "k1", "k2", "k3", "k4", "k5", "k6",
		       "k7");
}

__attribute__((target("avx"))) static void round_avx(const uint8_t *in, uint8_t *out, long nr,
						      long a0, long a1)
{
	asm volatile(ALL16(Y) MX "syscall\n\t" ALL16(YS) MXS
		     : "+a"(nr)
		     : [in] "r"(in), [out] "r"(out), "D"(a0), "S"(a1)
		     : "rcx", "r11", "memory", CLOBBER16);
}

static void round_sse(const uint8_t *in, uint8_t *out, long nr, long a0, long a1)
{
	asm volatile(ALL16(X) MX "syscall\n\t" ALL16(XS) MXS
		     : "+a"(nr)
		     : [in] "r"(in), [out] "r"(out), "D"(a0), "S"(a1)
		     : "rcx", "r11", "memory", CLOBBER16);
}

/* the bytes of the image this ISA loads and stores */
static void live_ranges(size_t *vec, int *with_k)
{
	*vec = isa == ISA_AVX512 ? 32 * 64 : isa == ISA_AVX ? 16 * 32 : 16 * 16;
	*with_k = isa == ISA_AVX512;
}

static long thread_switches(void)
{
	FILE *fp = fopen("/proc/thread-self/status", "re");
	char line[128];
	long v, sum = 0;

	if (fp == NULL)
		return -1;
	while (fgets(line, sizeof(line), fp))
		if (sscanf(line, "voluntary_ctxt_switches: %ld", &v) == 1 ||
		    sscanf(line, "nonvoluntary_ctxt_switches: %ld", &v) == 1)
			sum += v;
	fclose(fp);
	return sum;
}

struct thread_arg {
	struct result *res;
	pthread_mutex_t *lock; /* guards res within one process */
	unsigned seed;
};

static void *thread_main(void *p)
{
	struct thread_arg *a = p;
	uint8_t in[IMAGE_BYTES] __attribute__((aligned(64)));
	uint8_t out[IMAGE_BYTES] __attribute__((aligned(64)));
	struct timespec nap = {0, 50000};
	uint64_t s = 0x9e3779b97f4a7c15ULL * (a->seed + 1);
	long i, bad = 0, sw;
	size_t vec, j;
	int with_k;
	char first[160] = "";

	live_ranges(&vec, &with_k);
	for (i = 0; i < rounds; i++) {
		uint32_t mx;

		for (j = 0; j < sizeof(in); j += 8) {
			uint64_t r = next_rand(&s);
			memcpy(in + j, &r, 8);
		}
		/* MXCSR: default masks, this thread's rounding mode and flush-to-zero bits */
		mx = 0x1f80 | ((uint32_t)(next_rand(&s) & 3) << 13) | (uint32_t)(i & 1) << 15;
		memcpy(in + MXCSR_OFF, &mx, 4);
		memset(out, 0, sizeof(out));
		if (i % 8 == 7)
			(isa == ISA_AVX512 ? round_avx512
			 : isa == ISA_AVX  ? round_avx
					   : round_sse)(in, out, SYS_nanosleep, (long)&nap, 0);
		else
			(isa == ISA_AVX512 ? round_avx512
			 : isa == ISA_AVX  ? round_avx
					   : round_sse)(in, out, SYS_sched_yield, 0, 0);
		if (memcmp(in, out, vec) != 0 ||
		    (with_k && memcmp(in + K_OFF + 8, out + K_OFF + 8, 7 * 8) != 0) ||
		    memcmp(in + MXCSR_OFF, out + MXCSR_OFF, 4) != 0) {
			if (bad++ == 0) {
				for (j = 0; j < vec && in[j] == out[j]; j++)
					;
				snprintf(first, sizeof(first),
					 "thread %u round %ld: first difference at byte %zu "
					 "(register %zu)",
					 a->seed, i, j,
					 j / (isa == ISA_AVX512 ? 64 : isa == ISA_AVX ? 32 : 16));
			}
		}
	}
	sw = thread_switches();
	pthread_mutex_lock(a->lock);
	a->res->rounds += i;
	a->res->mismatches += bad;
	a->res->switches += sw < 0 ? 0 : sw;
	a->res->threads_done++;
	if (first[0] && !a->res->first[0])
		snprintf(a->res->first, sizeof(a->res->first), "%s", first);
	pthread_mutex_unlock(a->lock);
	return NULL;
}

static int run_process(int index, int threads)
{
	pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	pthread_t tid[64];
	struct thread_arg args[64];
	int t;

	for (t = 0; t < threads; t++) {
		args[t] = (struct thread_arg){&results[index], &lock, (unsigned)(index * 64 + t)};
		if (pthread_create(&tid[t], NULL, thread_main, &args[t]) != 0) {
			fprintf(stderr, "fpu-check: pthread_create failed\n");
			return 1;
		}
	}
	for (t = 0; t < threads; t++)
		pthread_join(tid[t], NULL);
	return 0;
}

int main(int argc, char **argv)
{
	int procs = 2, threads = 2, opt, p, status, failed = 0;
	long total_rounds = 0, mismatches = 0, switches = 0, done = 0;
	pid_t pids[64];

	while ((opt = getopt(argc, argv, "p:t:n:")) != -1) {
		switch (opt) {
		case 'p': procs = atoi(optarg); break;
		case 't': threads = atoi(optarg); break;
		case 'n': rounds = atol(optarg); break;
		default:
			fprintf(stderr, "usage: fpu_check [-p PROCESSES] [-t THREADS] [-n ROUNDS]\n");
			return 2;
		}
	}
	if (procs < 1 || procs > 64 || threads < 1 || threads > 64 || rounds < 1) {
		fprintf(stderr, "fpu_check: processes and threads 1-64, rounds >= 1\n");
		return 2;
	}
	__builtin_cpu_init();
	isa = __builtin_cpu_supports("avx512f") ? ISA_AVX512
	      : __builtin_cpu_supports("avx")	? ISA_AVX
						: ISA_SSE;
	results = mmap(NULL, sizeof(*results) * procs, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (results == MAP_FAILED) {
		perror("fpu_check: mmap");
		return 1;
	}
	memset(results, 0, sizeof(*results) * procs);
	for (p = 0; p < procs; p++) {
		pids[p] = fork();
		if (pids[p] < 0) {
			perror("fpu_check: fork");
			return 1;
		}
		if (pids[p] == 0)
			_exit(run_process(p, threads));
	}
	for (p = 0; p < procs; p++) {
		if (waitpid(pids[p], &status, 0) < 0 || !WIFEXITED(status) ||
		    WEXITSTATUS(status) != 0)
			failed++;
		total_rounds += results[p].rounds;
		mismatches += results[p].mismatches;
		switches += results[p].switches;
		done += results[p].threads_done;
		if (results[p].first[0])
			printf("fpu-check: process %d: %s\n", p, results[p].first);
	}
	printf("fpu-check: isa=%s processes=%d threads=%d rounds=%ld switches=%ld mismatches=%ld\n",
	       isa_name[isa], procs, procs * threads, total_rounds, switches, mismatches);
	if (failed || done != (long)procs * threads) {
		printf("fpu-check: %d process(es) failed, %ld of %d threads finished\n", failed,
		       done, procs * threads);
		return 1;
	}
	return mismatches == 0 ? 0 : 1;
}
