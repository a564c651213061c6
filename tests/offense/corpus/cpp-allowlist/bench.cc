// The workload: filter a day of 20,000 events against a 1,000-account allowlist and list the
// allowed accounts seen, N times; prints `elapsed_ns N` like the other corpus programs.
// `./bench [--iterations N]`.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include "audit.h"

int main(int argc, char** argv) {
    int iterations = 30;
    if (argc == 3 && std::strcmp(argv[1], "--iterations") == 0) iterations = std::atoi(argv[2]);
    std::vector<Event> day = day_of_events(20000, 3000);
    std::vector<uint64_t> allow = allowlist_of(3000, 3);
    std::size_t total = 0;
    auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < iterations; ++i) {
        std::vector<Event> kept = permitted(day, allow);
        total += first_seen(kept).size();
    }
    auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - start).count();
    std::printf("elapsed_ns %lld\n", static_cast<long long>(ns));
    return total == 0;
}
