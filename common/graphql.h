/* A bounded GraphQL executable-document parser: parse once, pick an operation, coerce its
 * variables, and hand the server a flattened selection tree (fragments expanded, @skip/@include
 * applied, same-key fields merged). Every limit is enforced while parsing and flattening, so any
 * input costs at most max_nodes units of work and max_depth frames of recursion. */
#ifndef SCOPED_GRAPHQL_H
#define SCOPED_GRAPHQL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#define GQL_DEFAULT_MAX_BYTES (64 * 1024)
#define GQL_DEFAULT_MAX_DEPTH 32
#define GQL_DEFAULT_MAX_NODES 100000
/* Recursion follows depth, so a configured depth above this is clamped to keep stacks small. */
#define GQL_HARD_MAX_DEPTH 256

/* Zero (or a NULL pointer) means the default for that limit. max_depth counts selection sets,
 * fragment spreads and list/object value nesting; max_nodes bounds the tokens of the document
 * and, separately, the work of flattening one operation (selections visited plus fields made). */
typedef struct {
    size_t max_bytes;
    int max_depth;
    size_t max_nodes;
} gql_limits_t;

typedef struct gql_doc gql_doc_t;
typedef struct gql_field gql_field_t;
struct gql_value; /* a literal or variable reference; read it with gql_arg_json */

typedef struct gql_arg {
    const char *name;
    struct gql_value *value;
} gql_arg_t;

struct gql_field {
    const char *alias; /* NULL if none */
    const char *name;
    gql_arg_t *args;
    size_t nargs;
    /* Flattened selection: fragments expanded, @skip/@include applied, same keys merged. */
    gql_field_t **fields;
    size_t nfields;
    /* True when the field had a selection set, even if every sub-field was skipped. */
    bool has_selection;
    unsigned line, col; /* of the first occurrence, for error locations */
};

typedef enum { GQL_QUERY, GQL_MUTATION, GQL_SUBSCRIPTION } gql_op_kind_t;

typedef struct {
    gql_op_kind_t kind;
    const char *name; /* NULL for an anonymous operation */
    gql_field_t **fields;
    size_t nfields;
} gql_op_t;

/* Parses src (not NUL-terminated necessarily). On failure returns NULL and writes a message with
 * line:column into err, e.g. `Syntax Error: Expected Name, found "}" at 3:5`. */
gql_doc_t *gql_parse(const char *src, size_t len, const gql_limits_t *lim, char *err,
                     size_t errlen);
void gql_free(gql_doc_t *doc);

/* Picks the operation (by name, or the only one; NULL or "" means none given), checks that every
 * variable it uses is defined and that its fragments do not form a cycle, coerces variables (a
 * JSON object or NULL) against the definitions, and flattens the root selection set. Returns 0,
 * or -1 with a message in err. The result lives in doc's arena until gql_free; a later call
 * replaces the variables that gql_arg_json sees. */
int gql_prepare(gql_doc_t *doc, const char *operation_name, json_t *variables, gql_op_t *out,
                char *err, size_t errlen);

/* An argument's value as JSON with variables substituted: a new reference, json_null() for an
 * explicit null, NULL if the argument is absent or is a variable that was not provided. */
json_t *gql_arg_json(gql_doc_t *doc, const gql_field_t *f, const char *arg_name);

/* The response key: the alias if any, else the name. */
const char *gql_field_key(const gql_field_t *f);

#endif
