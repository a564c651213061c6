#include <assert.h>
#include <stdio.h>
#include <string.h>

#include "words.h"

static const char *const STOP[] = {"the", "a", "of", "and", "to"};

int main(void) {
    assert(contains(STOP, 5, "of"));
    assert(!contains(STOP, 5, "off"));
    assert(!contains(STOP, 0, "the"));
    assert(content_words("The cat and the hat, of course!", STOP, 5) == 3);
    assert(content_words("", STOP, 5) == 0);
    assert(content_words("  ...  ", STOP, 5) == 0);
    struct counts c = {0};
    assert(distinct_words("b a b A c", &c) == 3);
    assert(strcmp(c.words[0], "b") == 0 && strcmp(c.words[2], "c") == 0);
    counts_free(&c);
    puts("ok");
    return 0;
}
