// The workload: slugify 2,000 titles of 2 to 6 KiB, N times over; prints `elapsed_ns N` like
// the other corpus programs. `./bench [--iterations N]`.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "slugs.h"

#define TITLES 2000

int main(int argc, char **argv) {
    int iterations = 3;
    if (argc == 3 && strcmp(argv[1], "--iterations") == 0) iterations = atoi(argv[2]);
    static char buffer[8192];
    unsigned long checksum = 0;
    struct timespec start, end;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (int it = 0; it < iterations; it++) {
        for (unsigned long long t = 0; t < TITLES; t++) {
            title(buffer, 2048 + (size_t)(t * 2654435761ULL % 4096), t);
            slugify(buffer);
            checksum += (unsigned char)buffer[t % 2048];
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &end);
    long long ns = (long long)(end.tv_sec - start.tv_sec) * 1000000000LL + (end.tv_nsec - start.tv_nsec);
    printf("elapsed_ns %lld\n", ns);
    return checksum == 0;
}
