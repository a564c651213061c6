/* Planted inefficiency (offense corpus): `content_words` asks `contains` whether each word of
 * a text is a stop word, and `contains` walks the whole stop list with strcmp for every word.
 * `distinct_words` does the same against the list of words it is building: no set built
 * before the loop could replace that one. */
#include "words.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

int contains(const char *const *list, size_t len, const char *word) {
    for (size_t i = 0; i < len; i++) {
        if (strcmp(list[i], word) == 0) return 1;
    }
    return 0;
}

/* The next word of `*text` (letters, lower-cased) in `buf`, or 0 at the end. */
static int next_word(const char **text, char *buf, size_t size) {
    const char *p = *text;
    while (*p && !isalpha((unsigned char)*p)) p++;
    if (!*p) return 0;
    size_t n = 0;
    while (isalpha((unsigned char)*p)) {
        if (n + 1 < size) buf[n++] = (char)tolower((unsigned char)*p);
        p++;
    }
    buf[n] = '\0';
    *text = p;
    return 1;
}

size_t content_words(const char *text, const char *const *stop, size_t stop_len) {
    char word[64];
    size_t count = 0;
    while (next_word(&text, word, sizeof word)) {
        if (!contains(stop, stop_len, word)) count++;
    }
    return count;
}

size_t distinct_words(const char *text, struct counts *out) {
    char word[64];
    while (next_word(&text, word, sizeof word)) {
        if (contains((const char *const *)out->words, out->len, word)) continue;
        if (out->len == out->cap) {
            out->cap = out->cap ? 2 * out->cap : 64;
            out->words = realloc(out->words, out->cap * sizeof *out->words);
        }
        out->words[out->len++] = strdup(word);
    }
    return out->len;
}

void counts_free(struct counts *c) {
    for (size_t i = 0; i < c->len; i++) free(c->words[i]);
    free(c->words);
    free(c->n);
}
