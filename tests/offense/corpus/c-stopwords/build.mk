# Builds and tests this program: `make -f build.mk test`, `make -f build.mk bench`.
# Frame pointers kept so `perf record -g` sees whole stacks; debug information so Joule's
# perf.data reader gives back `contains` where -O2 inlines it into its callers.
CFLAGS := -O2 -g -fno-omit-frame-pointer -std=c11 -D_POSIX_C_SOURCE=200809L

test: test_words
	./test_words

test_words: test_words.c words.c words.h
	$(CC) $(CFLAGS) -o $@ test_words.c words.c

bench: bench.c words.c words.h
	$(CC) $(CFLAGS) -o $@ bench.c words.c
