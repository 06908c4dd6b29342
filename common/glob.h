/* minimatch-style patterns for component names: '*' within a segment, '**' across '/', '?'. */
#ifndef SCOPED_GLOB_H
#define SCOPED_GLOB_H

#include <stdbool.h>

bool glob_match(const char *pattern, const char *name);

#endif
