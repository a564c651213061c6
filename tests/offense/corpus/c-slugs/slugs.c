// Planted inefficiency (offense corpus): `slugify` calls strlen in its loop condition and
// writes through the string it measures, so the compiler cannot hoist the call: every
// iteration walks the whole string again, and a title of n bytes costs about n * n / 2 reads.
#include <ctype.h>
#include <string.h>
#include "slugs.h"

void slugify(char *s) {
    for (size_t i = 0; i < strlen(s); i++) {
        unsigned char c = (unsigned char)s[i];
        s[i] = isalnum(c) ? (char)tolower(c) : '-';
    }
}

void title(char *out, size_t len, unsigned long long seed) {
    static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 ,.:'";
    unsigned long long state = seed * 0x9E3779B97F4A7C15ULL + 1;
    for (size_t i = 0; i < len; i++) {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        out[i] = alphabet[state % (sizeof alphabet - 1)];
    }
    out[len] = '\0';
}
