/* A minimal unit-test harness: CHECK records failures, the runner prints "N passed, N failed". */
#ifndef SCOPED_UNIT_H
#define SCOPED_UNIT_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int unit_passed, unit_failed;

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (cond) {                                                                                \
            unit_passed++;                                                                         \
        } else {                                                                                   \
            unit_failed++;                                                                         \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);              \
        }                                                                                          \
    } while (0)

#define CHECK_STR(a, b) CHECK((a) != NULL && strcmp((a), (b)) == 0)

/* Captured real-client traffic: tests/captures, or SCOPED_CAPTURES. */
static inline const char *unit_captures_dir(void)
{
    const char *d = getenv("SCOPED_CAPTURES");
    return d && *d ? d : "tests/captures";
}

#define UNIT_MAIN(name, body)                                                                      \
    int main(void)                                                                                 \
    {                                                                                              \
        body;                                                                                      \
        printf("%s: %d passed, %d failed\n", name, unit_passed, unit_failed);                     \
        return unit_failed ? 1 : 0;                                                                \
    }

#endif
