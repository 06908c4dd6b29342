/* The GraphQL parser as the graphql route drives it: parse the document, pick the operation,
 * coerce the variables, flatten, and read every argument. Input: the document, then optionally
 * a NUL and the variables as JSON, then a NUL and the operation name. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "graphql.h"

static void walk(gql_doc_t *doc, gql_field_t *const *fields, size_t n, int depth)
{
    if (depth > GQL_HARD_MAX_DEPTH + 2)
        abort(); /* flattening must respect the depth bound */
    for (size_t i = 0; i < n; i++) {
        const gql_field_t *f = fields[i];
        if (!f->name || !gql_field_key(f))
            abort();
        for (size_t a = 0; a < f->nargs; a++)
            json_decref(gql_arg_json(doc, f, f->args[a].name));
        json_decref(gql_arg_json(doc, f, "namespaces"));
        walk(doc, f->fields, f->nfields, depth + 1);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *src = (const char *)data;
    const char *nul = memchr(src, 0, size);
    size_t qlen = nul ? (size_t)(nul - src) : size;
    json_t *vars = NULL;
    char opname[128] = "";
    if (nul) {
        const char *v = nul + 1;
        size_t left = size - qlen - 1;
        const char *nul2 = memchr(v, 0, left);
        size_t vlen = nul2 ? (size_t)(nul2 - v) : left;
        vars = json_loadb(v, vlen, 0, NULL);
        if (nul2) {
            size_t olen = left - vlen - 1;
            if (olen >= sizeof opname)
                olen = sizeof opname - 1;
            memcpy(opname, nul2 + 1, olen);
            opname[olen] = 0;
        }
    }
    char err[512];
    gql_limits_t lim = {.max_bytes = 64 * 1024, .max_depth = 32, .max_nodes = 20000};
    gql_doc_t *doc = gql_parse(src, qlen, &lim, err, sizeof err);
    if (!doc) {
        if (!err[0])
            abort();
    } else {
        gql_op_t op;
        if (gql_prepare(doc, opname, json_is_object(vars) ? vars : NULL, &op, err, sizeof err) ==
            0)
            walk(doc, op.fields, op.nfields, 0);
        else if (!err[0])
            abort();
        gql_free(doc);
    }
    json_decref(vars);
    return 0;
}
