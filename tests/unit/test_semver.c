/* Semver precedence and ranges as node-semver reads them (the deprecation ranges of
 * protocol.md §13); expectations are node-semver 7's satisfies() answers. */
#include "semver.h"
#include "unit.h"

typedef struct {
    const char *version, *range;
    bool in;
} range_case_t;

static const range_case_t cases[] = {
    {"1.0.0", "<1.0.2", true},       {"1.0.2", "<1.0.2", false},     {"1.0.1", "<=1.0.1", true},
    {"1.0.2", ">1.0.1", true},       {"1.0.1", ">1.0.1", false},     {"1.0.1", ">=1.0.1", true},
    {"1.0.1", "=1.0.1", true},       {"1.0.1", "1.0.1", true},       {"1.0.10", "1.0.1", false},
    {"1.2.3", "^1.0.0", true},       {"2.0.0", "^1.0.0", false},     {"0.2.5", "^0.2.3", true},
    {"0.3.0", "^0.2.3", false},      {"0.0.3", "^0.0.3", true},      {"0.0.4", "^0.0.3", false},
    {"0.9.0", "^0.x", true},         {"1.0.0", "^0.x", false},       {"0.0.9", "^0.0", true},
    {"0.1.0", "^0.0", false},        {"1.2.9", "~1.2.3", true},      {"1.3.0", "~1.2.3", false},
    {"1.9.0", "~1", true},           {"2.0.0", "~1", false},         {"1.2.0", "~>1.2", true},
    {"1.5.0", "1.x", true},          {"2.0.0", "1.x", false},        {"1.2.7", "1.2.*", true},
    {"1.3.0", "1.2", false},         {"7.0.0", "*", true},           {"7.0.0", "", true},
    {"1.0.0", "x", true},            {"1.5.0", "1.0.0 - 2.0.0", true},
    {"2.0.0", "1.0.0 - 2.0.0", true},
    {"2.0.1", "1.0.0 - 2.0.0", false}, {"2.9.9", "1 - 2", true},     {"3.0.0", "1 - 2", false},
    {"1.2.9", "1.0 - 1.2", true},    {"1.3.0", "1.0 - 1.2", false},  {"0.9.0", "1.0.0 - 2", false},
    {"1.5.0", ">=1.0.0 <2.0.0", true}, {"2.0.0", ">=1.0.0 <2.0.0", false},
    {"1.5.0", ">= 1.0.0 < 2.0.0", true}, {"3.1.0", "<1.0.0 || >=3.0.0", true},
    {"2.0.0", "<1.0.0 || >=3.0.0", false}, {"0.5.0", "<1.0.0 || >=3.0.0", true},
    {"1.9.9", "<2", true},           {"2.0.0", "<2", false},         {"2.9.0", "<=2", true},
    {"3.0.0", "<=2", false},         {"2.0.0", ">1", true},          {"1.9.0", ">1", false},
    {"1.3.0", ">1.2", true},         {"1.2.9", ">1.2", false},       {"1.2.0", "<1.2", false},
    {"1.0.0", "v1.0.0", true},       {"1.0.0", "<*", false},         {"1.0.0", ">*", false},
    /* prereleases match only a set that names their major.minor.patch with a prerelease */
    {"1.2.3-beta.2", ">=1.2.3-beta.1", true}, {"1.2.4-beta.2", ">=1.2.3-beta.1", false},
    {"1.5.0-rc.1", "^1.0.0", false}, {"2.0.0-rc.1", "<2.0.0", false},
    {"1.2.3-beta.10", ">1.2.3-beta.9", true},
    {"1.2.3-alpha", "<1.2.3-1", false}, {"1.2.3-rc.1", "*", false},
    /* invalid versions and ranges deprecate nothing */
    {"1.0", "*", false},             {"1.0.0", "foo", false},        {"1.0.0", ">>1.0.0", false},
    {"1.0.0", "1.0.0 -", false},     {"1.0.0", "1.0.0 || bar", false}, {"1.0.0", "^=1.0.0", false},
};

static void ranges(void)
{
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        bool got = semver_satisfies(cases[i].version, cases[i].range);
        if (got != cases[i].in)
            fprintf(stderr, "semver_satisfies(\"%s\", \"%s\") = %d\n", cases[i].version,
                    cases[i].range, got);
        CHECK(got == cases[i].in);
    }
}

static void precedence(void)
{
    /* semver.org §11's example order */
    const char *order[] = {"1.0.0-alpha",   "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta",
                           "1.0.0-beta.2",  "1.0.0-beta.11", "1.0.0-rc.1",       "1.0.0",
                           "1.0.1",         "1.10.0",        "2.0.0"};
    size_t n = sizeof order / sizeof order[0];
    for (size_t i = 0; i + 1 < n; i++) {
        CHECK(semver_cmp(order[i], order[i + 1]) < 0);
        CHECK(semver_cmp(order[i + 1], order[i]) > 0);
    }
    CHECK(semver_cmp("1.0.0+build.1", "1.0.0") == 0);
    CHECK(semver_cmp("nope", "0.0.1") < 0);
    CHECK(semver_valid("1.2.3-rc.1+b5"));
    CHECK(!semver_valid("01.2.3"));
    CHECK(!semver_valid("1.2"));
}

UNIT_MAIN("semver", {
    ranges();
    precedence();
})
