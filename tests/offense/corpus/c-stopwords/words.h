#ifndef WORDS_H
#define WORDS_H

#include <stddef.h>

/* Counts of the words of a text that are not stop words, per distinct word. */
struct counts {
    char **words;
    size_t *n;
    size_t len, cap;
};

int contains(const char *const *list, size_t len, const char *word);
size_t content_words(const char *text, const char *const *stop, size_t stop_len);
size_t distinct_words(const char *text, struct counts *out);
void counts_free(struct counts *c);

#endif
