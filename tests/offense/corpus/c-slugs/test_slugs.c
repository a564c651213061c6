// The program's own tests: `make -f build.mk test` in this directory.
#include <assert.h>
#include <stdio.h>
#include <string.h>
#include "slugs.h"

int main(void) {
    char a[] = "Hello, World 42";
    slugify(a);
    assert(strcmp(a, "hello--world-42") == 0);
    char empty[] = "";
    slugify(empty);
    assert(strcmp(empty, "") == 0);
    char big[5000];
    title(big, 4999, 7);
    assert(strlen(big) == 4999);
    slugify(big);
    assert(strlen(big) == 4999);
    for (size_t i = 0; i < 4999; i++) {
        char c = big[i];
        assert((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-');
    }
    puts("ok");
    return 0;
}
