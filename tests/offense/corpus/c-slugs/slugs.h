// Slugs for titles: `slugify` rewrites a title in place as lower-case letters and digits
// joined by dashes; `title` writes a reproducible title of a given length for the workload.
#ifndef SLUGS_H
#define SLUGS_H
#include <stddef.h>

void slugify(char *s);
void title(char *out, size_t len, unsigned long long seed);

#endif
