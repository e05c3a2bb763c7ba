// loop: a CPU-bound workload whose throughput the slowdown bench compares
// with and without a profiler. Runs for SECONDS of wall time and prints how
// many units of work it finished. Two call levels under main, with frames,
// so every profiler walks a real stack at each sample.
// Usage: loop SECONDS
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static volatile double sink;

__attribute__((noinline)) static double unit(double x) {
	volatile double a = x;
	for (int i = 0; i < 10000; i++) a = a * 1.0000001 + 0.5;
	return a;
}

__attribute__((noinline)) static long work(double seconds) {
	struct timespec t0, t;
	long done = 0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		for (int i = 0; i < 100; i++) sink = unit(sink);
		done += 100;
		clock_gettime(CLOCK_MONOTONIC, &t);
	} while ((t.tv_sec - t0.tv_sec) + (t.tv_nsec - t0.tv_nsec) / 1e9 < seconds);
	return done;
}

int main(int argc, char **argv) {
	printf("%ld\n", work(argc > 1 ? atof(argv[1]) : 5));
	return 0;
}
