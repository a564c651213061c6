// Histogram buckets for latency samples, as a metrics pipeline computes them.
#pragma once
#include <cstdint>
#include <vector>

// The bucket of each value: floor(value / width).
std::vector<uint32_t> bucket_ids(const std::vector<double>& values, double width);

// `n` latency samples in milliseconds, deterministic.
std::vector<double> latencies(std::size_t n);
