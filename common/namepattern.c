#include "namepattern.h"

#include <string.h>

/* Iterative with one backtrack point: no recursion, whatever the pattern. */
bool name_pattern_match(const char *p, const char *s)
{
    const char *star_p = NULL, *star_s = NULL;
    bool star_any = false;
    while (*s) {
        if (p[0] == '*' && p[1] == '*') {
            star_any = true;
            while (*p == '*')
                p++;
            star_p = p;
            star_s = s;
        } else if (*p == '*') {
            star_any = false;
            p++;
            star_p = p;
            star_s = s;
        } else if (*p == '?' ? *s != '/' : *p == *s) {
            p++;
            s++;
        } else if (star_p && (star_any || *star_s != '/')) {
            p = star_p;
            s = ++star_s;
        } else {
            return false;
        }
    }
    while (*p == '*')
        p++;
    return *p == 0;
}
