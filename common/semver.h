/* Bit's tags are semantic versions; deprecation ranges (protocol.md §13) are npm semver ranges. */
#ifndef SCOPED_SEMVER_H
#define SCOPED_SEMVER_H

#include <stdbool.h>

/* A semver such as 1.0.0 or 1.2.3-rc.1+build (Bit's tags). */
bool semver_valid(const char *s);
/* <0, 0, >0 in semver precedence; an invalid version sorts before every valid one. */
int semver_cmp(const char *a, const char *b);
/* Whether version is in range, as node-semver's satisfies() reads a range: sets joined by "||",
 * each a hyphen range "A - B" or space-separated comparators (<, <=, >, >=, =, ~, ^, bare
 * versions, x-ranges such as 1.x or *); a prerelease version only matches a set that names
 * its major.minor.patch with a prerelease. False for an invalid version or range. */
bool semver_satisfies(const char *version, const char *range);

#endif
