// qsort-burn: main (with frame pointers) sorts again and again through
// libc's qsort (without them), and the comparator burns. A frame-pointer
// walk loses main in the comparator's samples: qsort keeps no frame.
// Usage: qsort-burn SECONDS
#include <stdlib.h>
#include <time.h>

static volatile double sink;

__attribute__((noinline)) static int compare(const void *a, const void *b) {
	volatile double acc = 1.0;
	for (int i = 0; i < 200; i++) acc = acc * 1.0000001 + 0.5;
	sink = acc;
	return *(const int *)a - *(const int *)b;
}

__attribute__((noinline)) static void sort_once(int *v, int n) {
	for (int i = 0; i < n; i++) v[i] = (i * 7919) % n;
	qsort(v, n, sizeof v[0], compare);
}

int main(int argc, char **argv) {
	double seconds = argc > 1 ? atof(argv[1]) : 5;
	static int v[4096];
	time_t end = time(0) + (time_t)seconds;
	while (time(0) < end) sort_once(v, 4096);
	return 0;
}
