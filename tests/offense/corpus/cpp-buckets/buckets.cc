// Planted inefficiency (offense corpus): `bucket_ids` knows how many ids it will produce but
// grows its vector one push_back at a time, reallocating and copying as it goes.
#include "buckets.h"

std::vector<uint32_t> bucket_ids(const std::vector<double>& values, double width) {
    std::vector<uint32_t> ids;
    for (double v : values) {
        ids.push_back(static_cast<uint32_t>(v / width));
    }
    return ids;
}

std::vector<double> latencies(std::size_t n) {
    std::vector<double> out(n);
    uint64_t state = 0x2545F4914F6CDD1DULL;
    for (std::size_t i = 0; i < n; ++i) {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        out[i] = static_cast<double>(state % 100000) / 100.0;
    }
    return out;
}
