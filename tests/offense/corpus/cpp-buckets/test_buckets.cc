// The program's own tests: `make -f build.mk test` in this directory.
#include <cassert>
#include <cstdio>
#include "buckets.h"

int main() {
    std::vector<double> values = {0.0, 0.5, 1.0, 2.5, 9.99};
    std::vector<uint32_t> ids = bucket_ids(values, 1.0);
    assert((ids == std::vector<uint32_t>{0, 0, 1, 2, 9}));
    assert(bucket_ids({}, 1.0).empty());
    std::vector<double> many = latencies(10000);
    std::vector<uint32_t> b = bucket_ids(many, 10.0);
    assert(b.size() == many.size());
    for (std::size_t i = 0; i < many.size(); ++i) assert(b[i] == static_cast<uint32_t>(many[i] / 10.0));
    std::puts("ok");
    return 0;
}
