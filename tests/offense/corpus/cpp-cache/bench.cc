// The workload: a worker thread per core (as servers size their pools) serves 200,000 page
// requests, from 20,000 pages, through one cache of 256 pages; prints `elapsed_ns N` like the
// other corpus programs. `./bench [--iterations N]`.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "cache.h"

int main(int argc, char** argv) {
    int iterations = 3;
    if (argc == 3 && std::strcmp(argv[1], "--iterations") == 0) iterations = std::atoi(argv[2]);
    int workers = static_cast<int>(std::thread::hardware_concurrency());
    if (workers < 2) workers = 2;
    std::uint64_t total = 0;
    auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < iterations; ++i) {
        PageCache cache(256);
        total += serve(cache, workers, 200000, 20000);
    }
    auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - start).count();
    std::printf("elapsed_ns %lld\n", static_cast<long long>(ns));
    return total == 0;
}
