# Builds and tests this program: `make -f build.mk test`, `make -f build.mk bench`.
# Frame pointers kept so `perf record -g` sees whole stacks; line tables for the symbolizer.
CFLAGS := -O2 -g -fno-omit-frame-pointer -std=gnu11

test: test_slugs
	./test_slugs

test_slugs: test_slugs.c slugs.c slugs.h
	$(CC) $(CFLAGS) -o $@ test_slugs.c slugs.c

bench: bench.c slugs.c slugs.h
	$(CC) $(CFLAGS) -o $@ bench.c slugs.c
