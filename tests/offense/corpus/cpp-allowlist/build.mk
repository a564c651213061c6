# Builds and tests this program: `make -f build.mk test`, `make -f build.mk bench`.
# Frame pointers kept so `perf record -g` sees whole stacks; debug information so Joule's
# perf.data reader gives back the frames inlined into `permitted` (`std::find`'s).
CXXFLAGS := -O2 -g -fno-omit-frame-pointer -std=c++17

test: test_audit
	./test_audit

test_audit: test_audit.cc audit.cc audit.h
	$(CXX) $(CXXFLAGS) -o $@ test_audit.cc audit.cc

bench: bench.cc audit.cc audit.h
	$(CXX) $(CXXFLAGS) -o $@ bench.cc audit.cc
