# Builds and tests this program: `make -f build.mk test`, `make -f build.mk bench`.
# Frame pointers kept so `perf record -g` sees whole stacks.
CXXFLAGS := -O2 -g -fno-omit-frame-pointer -std=c++17

test: test_buckets
	./test_buckets

test_buckets: test_buckets.cc buckets.cc buckets.h
	$(CXX) $(CXXFLAGS) -o $@ test_buckets.cc buckets.cc

bench: bench.cc buckets.cc buckets.h
	$(CXX) $(CXXFLAGS) -o $@ bench.cc buckets.cc
