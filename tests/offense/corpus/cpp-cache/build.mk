# Builds and tests this program: `make -f build.mk test`, `make -f build.mk bench`.
# Frame pointers kept so `perf record -g` sees whole stacks; threads, so -pthread.
CXXFLAGS := -O2 -g -fno-omit-frame-pointer -pthread -std=c++17

test: test_cache
	./test_cache

test_cache: test_cache.cc cache.cc cache.h
	$(CXX) $(CXXFLAGS) -o $@ test_cache.cc cache.cc

bench: bench.cc cache.cc cache.h
	$(CXX) $(CXXFLAGS) -o $@ bench.cc cache.cc
