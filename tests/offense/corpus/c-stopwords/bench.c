/* The workload: count the content words of a 200,000-word text against a 300-word stop list,
 * and its distinct words, N times; prints `elapsed_ns N` like the other corpus programs.
 * `./bench [--iterations N]`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "words.h"

#define STOP_WORDS 300
#define TEXT_WORDS 200000

int main(int argc, char **argv) {
    int iterations = 5;
    if (argc == 3 && strcmp(argv[1], "--iterations") == 0) iterations = atoi(argv[2]);
    /* Stop words `sw` + letters, and a text of words drawn from them and from 2,000 others. */
    static char stop_text[STOP_WORDS][16];
    const char *stop[STOP_WORDS];
    for (int i = 0; i < STOP_WORDS; i++) {
        snprintf(stop_text[i], sizeof stop_text[i], "sw%c%c", 'a' + i % 26, 'a' + i / 26);
        stop[i] = stop_text[i];
    }
    char *text = malloc(TEXT_WORDS * 8);
    size_t at = 0;
    unsigned long long state = 0x2545F4914F6CDD1DULL;
    for (int w = 0; w < TEXT_WORDS; w++) {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        unsigned k = (unsigned)(state % 2300);
        if (k < STOP_WORDS) {
            at += (size_t)sprintf(text + at, "%s ", stop[k]);
        } else {
            at += (size_t)sprintf(text + at, "w%c%c%c ", 'a' + k % 26, 'a' + k / 26 % 26,
                                  'a' + k / 676);
        }
    }
    size_t total = 0;
    struct timespec start, end;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (int i = 0; i < iterations; i++) total += content_words(text, stop, STOP_WORDS);
    clock_gettime(CLOCK_MONOTONIC, &end);
    struct counts c = {0};
    total += distinct_words(text, &c);
    counts_free(&c);
    free(text);
    long long ns = (end.tv_sec - start.tv_sec) * 1000000000LL + (end.tv_nsec - start.tv_nsec);
    printf("elapsed_ns %lld\n", ns);
    return total == 0;
}
