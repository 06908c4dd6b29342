/* Reading Bit's Component and Version objects (protocol.md §6.4), and Bit ids. */
#ifndef SCOPED_MODEL_H
#define SCOPED_MODEL_H

#include <jansson.h>
#include <stdbool.h>

#include "error.h"
#include "hash.h"
#include "index.h"
#include "semver.h"

typedef struct {
    char scope[NAME_MAX_LEN];
    char name[NAME_MAX_LEN];
    char version[NAME_MAX_LEN]; /* "" when the id has none */
} bit_id_t;

/* "scope/name[@version]": scope is the text before the first '/'. */
bool bit_id_parse(const char *s, bit_id_t *out);
bool scope_name_valid(const char *s);
bool component_name_valid(const char *s);
bool client_id_valid(const char *s);

typedef struct {
    json_t *json; /* borrowed */
    const char *name, *scope, *head; /* head NULL when absent */
    json_t *versions;                /* tag -> ref, never NULL after parse */
    json_t *orphaned;                /* may be NULL */
    bool deprecated;
} component_info_t;

int component_info_parse(json_t *c, component_info_t *out, err_t *err);
/* The version "latest" means: the head as a tag if a tag points at it, else the head hash,
 * else the highest tag. Empty when the component has no versions. */
void component_latest(const component_info_t *c, char *out, size_t outlen);
/* The tag pointing at ref, or NULL. */
const char *component_tag_of(const component_info_t *c, const char *ref);

typedef struct {
    char scope[NAME_MAX_LEN], name[NAME_MAX_LEN], version[NAME_MAX_LEN];
} dep_t;

typedef struct {
    json_t *json; /* borrowed */
    const char **sources;   /* files, dists, flattenedEdgesRef, dependenciesGraphRef */
    size_t nsources;
    const char **artifacts; /* builder artifacts */
    size_t nartifacts;
    const char **parents;
    size_t nparents;
    dep_t *deps; /* flattenedDependencies */
    size_t ndeps;
    const char *unrelated;  /* unrelated.head */
    const char **squashed;  /* squashed.previousParents */
    size_t nsquashed;
    const char *depgraph;   /* dependenciesGraphRef or flattenedEdgesRef, when present */
    const char *message, *username, *email, *date, *build_status;
    const char *deprecate_range; /* teambit.component/deprecation config.range, or NULL */
    bool deprecated, removed;
} version_info_t;

int version_info_parse(json_t *v, version_info_t *out, err_t *err);
/* Whether a component whose head Version is v and whose head tag is tag (NULL for a snap) lists
 * as deprecated (protocol.md §5.2, §13): config.deprecate, or config.range covering the tag. */
bool version_deprecates(const version_info_t *v, const char *tag);
void version_info_free(version_info_t *v);

#endif
