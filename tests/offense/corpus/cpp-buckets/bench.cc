// The workload: bucket 2 million latencies 30 times; prints `elapsed_ns N` like the Rust
// corpus programs. `./bench [--iterations N]`.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include "buckets.h"

int main(int argc, char** argv) {
    int iterations = 30;
    if (argc == 3 && std::strcmp(argv[1], "--iterations") == 0) iterations = std::atoi(argv[2]);
    std::vector<double> values = latencies(2000000);
    std::size_t total = 0;
    auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < iterations; ++i) total += bucket_ids(values, 5.0).back();
    auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - start).count();
    std::printf("elapsed_ns %lld\n", static_cast<long long>(ns));
    return total == 0;
}
