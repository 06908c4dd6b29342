/* minimatch-style patterns for component names: '*' within a segment, '**' across '/', '?'. */
#ifndef SCOPED_NAMEPATTERN_H
#define SCOPED_NAMEPATTERN_H

#include <stdbool.h>

bool name_pattern_match(const char *pattern, const char *name);

#endif
