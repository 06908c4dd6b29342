/* The GraphQL parser against every document Bit's CLI sends (protocol.md §5, as written in the
 * client's source, whitespace included), the language features around them, and the hostile
 * inputs the limits exist for. */
#include "buf.h"
#include "graphql.h"
#include "unit.h"

#include <time.h>

static char err[512];

/* The flattened tree as text: `key` or `alias:name`, `(argnames)`, `{children}`. */
static void render_fields(buf_t *b, gql_field_t *const *fields, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const gql_field_t *f = fields[i];
        if (i) buf_append_byte(b, ' ');
        if (f->alias) buf_printf(b, "%s:", f->alias);
        buf_append_str(b, f->name);
        for (size_t k = 0; k < f->nargs; k++)
            buf_printf(b, "%s%s%s", k ? "," : "(", f->args[k].name, k + 1 == f->nargs ? ")" : "");
        if (f->has_selection) {
            buf_append_byte(b, '{');
            render_fields(b, f->fields, f->nfields);
            buf_append_byte(b, '}');
        }
    }
}

static const char *render(const gql_op_t *op)
{
    static char out[4096];
    buf_t b;
    buf_init(&b);
    render_fields(&b, op->fields, op->nfields);
    snprintf(out, sizeof out, "%s", b.len ? buf_cstr(&b) : "");
    buf_free(&b);
    return out;
}

/* Parses and prepares; returns the doc (caller frees) or NULL with err set. */
static gql_doc_t *prep(const char *src, const char *opname, const char *vars_json, gql_op_t *op)
{
    gql_doc_t *doc = gql_parse(src, strlen(src), NULL, err, sizeof err);
    if (!doc) return NULL;
    json_t *vars = vars_json ? json_loads(vars_json, 0, NULL) : NULL;
    int rc = gql_prepare(doc, opname, vars, op, err, sizeof err);
    json_decref(vars);
    if (rc != 0) {
        gql_free(doc);
        return NULL;
    }
    return doc;
}

static const gql_field_t *child(gql_field_t *const *fields, size_t n, const char *key)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(gql_field_key(fields[i]), key) == 0) return fields[i];
    return NULL;
}

/* Walks a dotted path of response keys from the operation root. */
static const gql_field_t *field_at(const gql_op_t *op, const char *path)
{
    char tmp[256];
    snprintf(tmp, sizeof tmp, "%s", path);
    gql_field_t *const *fields = op->fields;
    size_t n = op->nfields;
    const gql_field_t *f = NULL;
    for (char *save, *k = strtok_r(tmp, ".", &save); k; k = strtok_r(NULL, ".", &save)) {
        f = child(fields, n, k);
        if (!f) return NULL;
        fields = f->fields;
        n = f->nfields;
    }
    return f;
}

/* An argument as compact JSON text, "<absent>" when gql_arg_json returns NULL. */
static const char *arg(gql_doc_t *doc, const gql_field_t *f, const char *name)
{
    static char out[1024];
    if (!f) return "<no field>";
    json_t *j = gql_arg_json(doc, f, name);
    if (!j) return "<absent>";
    char *s = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
    snprintf(out, sizeof out, "%s", s ? s : "<dump failed>");
    free(s);
    json_decref(j);
    return out;
}

static bool parse_fails(const char *src, const char *want)
{
    gql_doc_t *doc = gql_parse(src, strlen(src), NULL, err, sizeof err);
    gql_free(doc);
    if (!doc && !strstr(err, want)) fprintf(stderr, "  wanted \"%s\" in \"%s\"\n", want, err);
    return !doc && strstr(err, want);
}

static bool prepare_fails(const char *src, const char *opname, const char *vars, const char *want)
{
    gql_op_t op;
    gql_doc_t *doc = prep(src, opname, vars, &op);
    gql_free(doc);
    if (!doc && !strstr(err, want)) fprintf(stderr, "  wanted \"%s\" in \"%s\"\n", want, err);
    return !doc && strstr(err, want);
}

/* ---- protocol.md §5, verbatim from the client (scopes/scope/network/http/http.ts) ---- */

static const char DESCRIBE_SCOPE[] =
    "\n      {\n        scope {\n          name\n        }\n      }\n"
    "    ";

static const char LIST[] = "\n      query list($namespaces: [String!]) {\n        scope {\n"
                           "          components(namespaces: $namespaces) {\n            id {\n"
                           "              scope\n              version\n              name\n"
                           "            }\n            deprecation {\n              isDeprecate\n"
                           "            }\n          }\n        }\n      }\n    ";

static const char LIST_DELETED[] =
    "\n      query list($namespaces: [String!], $includeDeleted: Boolean) {\n        scope {\n"
    "          components(namespaces: $namespaces, includeDeleted: $includeDeleted) {\n"
    "            id {\n              scope\n              version\n              name\n"
    "            }\n            aspects(include: [\"teambit.component/remove\"]) {\n"
    "              id\n              config\n            }\n            deprecation {\n"
    "              isDeprecate\n            }\n          }\n        }\n      }\n    ";

static const char SHOW[] = "\n      query showLegacy($id: String!) {\n        scope {\n"
                           "          _getLegacy(id: $id)\n        }\n      }\n    ";

static const char LOGS[] = "\n      query getLogs($id: String!) {\n        scope {\n"
                           "          getLogs(id: $id) {\n            message\n"
                           "            username\n            email\n            date\n"
                           "            hash\n            tag\n          }\n        }\n      }\n"
                           "    ";

static const char LATEST[] = "\n      query getLatestVersions($ids: [String]!) {\n        scope {\n"
                             "          _legacyLatestVersions(ids: $ids)\n        }\n      }\n    ";

static const char GRAPH[] = "\n      query graph($ids: [String], $filter: String) {\n"
                            "        graph(ids: $ids, filter: $filter) {\n          nodes {\n"
                            "            id\n            component {\n              id {\n"
                            "                name\n                version\n"
                            "                scope\n              }\n            }\n"
                            "          }\n          edges {\n            sourceId\n"
                            "            targetId\n            dependencyLifecycleType\n"
                            "          }\n        }\n      }\n    ";

static const char LANES[] = "\n      query Lanes($ids: [String!]) {\n        lanes {\n"
                            "          list(ids: $ids) {\n            id {\n              name\n"
                            "              scope\n            }\n"
                            "            components: laneComponentIds {\n              name\n"
                            "              scope\n              version\n            }\n"
                            "          }\n        }\n      }\n    ";

static const char HAS_OBJECTS[] =
    "\n      query hasObjects($hashes: [String!]) {\n        scope {\n"
    "          hasObjects(hashes: $hashes)\n        }\n      }\n    ";

static const char GET_SCHEMA[] =
    "\n      query GetComponentSchema($componentId: String!, $skipInternals: Boolean) {\n"
    "        getHost {\n          getSchema(id: $componentId, skipInternals: $skipInternals)\n"
    "        }\n      }\n    ";

static const char SEARCH[] = "\n      query SearchComponents($query: ComponentSearchQuery) {\n"
                             "        searchComponents(query: $query) {\n          results {\n"
                             "            componentDescriptor {\n              id\n"
                             "            }\n          }\n        }\n      }\n    ";

static const char SUGGEST[] =
    "\n      query SUGGEST($queryStr: String, $limit: Int, $attributes: String) {\n"
    "        suggest(queryStr: $queryStr, limit: $limit, attributes: $attributes) {\n"
    "          queryString\n          suggestions {\n            searchTypeName\n"
    "            entries {\n              id\n            }\n          }\n        }\n      }\n"
    "    ";

/* §5.8 names doctor's shape but not its text; this is that shape. */
static const char DOCTOR[] = "\n      query doctor($diagnosisName: String) {\n        scope {\n"
                             "          doctor(diagnosisName: $diagnosisName) {\n"
                             "            examineResults\n            metaData\n          }\n"
                             "        }\n      }\n    ";

/* §5.9, the February 2021 client (src/scope/network/http/http.ts). */
static const char LIST_LEGACY_BODY[] =
    "{\"query\":\"\\n      query listLegacy($namespaces: String) {\\n        scope {\\n"
    "          _legacyList(namespaces: $namespaces) {\\n            id\\n"
    "            deprecated\\n          }\\n        }\\n      }\\n    \",\"variables\":{}}";

static const char DEPRECATE[] = "\n      mutation deprecate($bitIds: [String!]!) {\n"
                                "        deprecate(bitIds: $bitIds) {\n          bitIds\n"
                                "          missingComponents\n        }\n      }\n    ";

static const char UNDEPRECATE[] = "\n      mutation deprecate($bitIds: [String!]!) {\n"
                                  "        undeprecate(bitIds: $bitIds) {\n          bitIds\n"
                                  "          missingComponents\n        }\n      }\n    ";

static const char DEPRECATE_JAN[] = "\n      mutation deprecate($bitIds: [String!]!) {\n"
                                    "        deprecate(bitIds: $bitIds)\n      }\n    ";

static const char LIST_LANES_OLD[] = "\n    query listLanes() {\n      lanes {\n        list()\n"
                                     "      }\n    }\n    ";

/* §5.10, the bit.cloud ("Symphony") queries, in the shapes the section gives. */
static const char SYM_GET_SCOPE[] =
    "query getScope($id: String!) { getScope(id: $id) { isLegacy apis { url } } }";
static const char SYM_ME[] = "query { me { id username image displayName } }";
static const char SYM_ORGS[] = "query { getUserOrganizations { id name } }";
static const char SYM_SCOPES[] =
    "query getScopes($ids: [String]!) { getScopes(ids: $ids) { id scopeStyle { icon "
    "backgroundIconColor } } }";
static const char SYM_LIST_SCOPES[] =
    "query listScopes($owners: [String], $limit: Int, $offset: Int) {\n"
    "  listScopes(filters: {owners: $owners}, limit: $limit, offset: $offset) { id }\n}";

static void test_bit_documents(void)
{
    gql_op_t op;
    gql_doc_t *doc;

    doc = prep(DESCRIBE_SCOPE, NULL, NULL, &op);
    CHECK(doc && op.kind == GQL_QUERY && op.name == NULL);
    CHECK_STR(render(&op), "scope{name}");
    gql_free(doc);
    doc = prep("{ scope { name } }", NULL, "{}", &op);
    CHECK_STR(render(&op), "scope{name}");
    gql_free(doc);

    doc = prep(LIST, NULL, "{\"namespaces\":[\"ui/*\"]}", &op);
    CHECK_STR(op.name, "list");
    CHECK_STR(render(&op),
              "scope{components(namespaces){id{scope version name} deprecation{isDeprecate}}}");
    CHECK_STR(arg(doc, field_at(&op, "scope.components"), "namespaces"), "[\"ui/*\"]");
    gql_free(doc);
    /* JSON.stringify drops an undefined namespaces: the argument is then absent, not null. */
    doc = prep(LIST, "list", "{}", &op);
    CHECK_STR(arg(doc, field_at(&op, "scope.components"), "namespaces"), "<absent>");
    gql_free(doc);

    doc = prep(LIST_DELETED, NULL, "{\"includeDeleted\":true}", &op);
    CHECK_STR(render(&op), "scope{components(namespaces,includeDeleted){id{scope version name} "
                           "aspects(include){id config} deprecation{isDeprecate}}}");
    CHECK_STR(arg(doc, field_at(&op, "scope.components"), "includeDeleted"), "true");
    CHECK_STR(arg(doc, field_at(&op, "scope.components.aspects"), "include"),
              "[\"teambit.component/remove\"]");
    gql_free(doc);

    doc = prep(SHOW, NULL, "{\"id\":\"s/ui/button@0.0.1\"}", &op);
    CHECK_STR(render(&op), "scope{_getLegacy(id)}");
    CHECK(doc && !field_at(&op, "scope._getLegacy")->has_selection);
    CHECK_STR(arg(doc, field_at(&op, "scope._getLegacy"), "id"), "\"s/ui/button@0.0.1\"");
    gql_free(doc);
    CHECK(prepare_fails(SHOW, NULL, "{}",
                        "Variable \"$id\" of required type \"String!\" was not provided"));

    doc = prep(LOGS, "getLogs", "{\"id\":\"s/button\"}", &op);
    CHECK_STR(render(&op), "scope{getLogs(id){message username email date hash tag}}");
    gql_free(doc);

    doc = prep(LATEST, NULL, "{\"ids\":[\"s/a@1.0.0\",\"s/b\"]}", &op);
    CHECK_STR(render(&op), "scope{_legacyLatestVersions(ids)}");
    CHECK_STR(arg(doc, field_at(&op, "scope._legacyLatestVersions"), "ids"),
              "[\"s/a@1.0.0\",\"s/b\"]");
    gql_free(doc);
    /* [String]! takes a single value as a one-element list, and allows null items. */
    doc = prep(LATEST, NULL, "{\"ids\":\"s/a\"}", &op);
    CHECK_STR(arg(doc, field_at(&op, "scope._legacyLatestVersions"), "ids"), "[\"s/a\"]");
    gql_free(doc);
    doc = prep(LATEST, NULL, "{\"ids\":[null]}", &op);
    CHECK_STR(arg(doc, field_at(&op, "scope._legacyLatestVersions"), "ids"), "[null]");
    gql_free(doc);

    doc = prep(GRAPH, NULL, "{\"ids\":[]}", &op);
    CHECK_STR(render(&op), "graph(ids,filter){nodes{id component{id{name version scope}}} "
                           "edges{sourceId targetId dependencyLifecycleType}}");
    CHECK_STR(arg(doc, field_at(&op, "graph"), "ids"), "[]");
    CHECK_STR(arg(doc, field_at(&op, "graph"), "filter"), "<absent>");
    gql_free(doc);

    doc = prep(LANES, NULL, "{\"ids\":[]}", &op);
    CHECK_STR(render(&op),
              "lanes{list(ids){id{name scope} components:laneComponentIds{name scope version}}}");
    const gql_field_t *comps = field_at(&op, "lanes.list.components");
    CHECK(comps && strcmp(comps->name, "laneComponentIds") == 0);
    CHECK(field_at(&op, "lanes.list.laneComponentIds") == NULL);
    gql_free(doc);

    doc =
        prep(HAS_OBJECTS, NULL, "{\"hashes\":[\"0123456789abcdef0123456789abcdef01234567\"]}", &op);
    CHECK_STR(render(&op), "scope{hasObjects(hashes)}");
    gql_free(doc);

    doc = prep(DOCTOR, NULL, "{}", &op);
    CHECK_STR(render(&op), "scope{doctor(diagnosisName){examineResults metaData}}");
    gql_free(doc);

    doc = prep(GET_SCHEMA, NULL, "{\"componentId\":\"s/a\",\"skipInternals\":true}", &op);
    CHECK_STR(render(&op), "getHost{getSchema(id,skipInternals)}");
    gql_free(doc);

    /* An input type the server does not know takes any JSON as it is. */
    doc = prep(SEARCH, NULL, "{\"query\":{\"queryString\":\"button\",\"limit\":20}}", &op);
    CHECK_STR(render(&op), "searchComponents(query){results{componentDescriptor{id}}}");
    CHECK_STR(arg(doc, field_at(&op, "searchComponents"), "query"),
              "{\"queryString\":\"button\",\"limit\":20}");
    gql_free(doc);

    doc = prep(SUGGEST, NULL, "{\"queryStr\":\"but\"}", &op);
    CHECK_STR(render(&op), "suggest(queryStr,limit,attributes){queryString "
                           "suggestions{searchTypeName entries{id}}}");
    gql_free(doc);
}

static void test_old_client_documents(void)
{
    gql_op_t op;
    gql_doc_t *doc;

    /* The request body exactly as graphql-request sent it. */
    json_t *body = json_loads(LIST_LEGACY_BODY, 0, NULL);
    const char *q = json_string_value(json_object_get(body, "query"));
    doc = q ? gql_parse(q, strlen(q), NULL, err, sizeof err) : NULL;
    CHECK(doc &&
          gql_prepare(doc, NULL, json_object_get(body, "variables"), &op, err, sizeof err) == 0);
    CHECK_STR(render(&op), "scope{_legacyList(namespaces){id deprecated}}");
    CHECK_STR(op.name, "listLegacy");
    gql_free(doc);
    json_decref(body);

    doc = prep(DEPRECATE, NULL, "{\"bitIds\":[\"s/a\",\"s/b\"]}", &op);
    CHECK(doc && op.kind == GQL_MUTATION);
    CHECK_STR(render(&op), "deprecate(bitIds){bitIds missingComponents}");
    CHECK_STR(arg(doc, field_at(&op, "deprecate"), "bitIds"), "[\"s/a\",\"s/b\"]");
    gql_free(doc);
    doc = prep(UNDEPRECATE, NULL, "{\"bitIds\":[\"s/a\"]}", &op);
    CHECK_STR(render(&op), "undeprecate(bitIds){bitIds missingComponents}");
    gql_free(doc);
    doc = prep(DEPRECATE_JAN, NULL, "{\"bitIds\":[\"s/a\"]}", &op);
    CHECK_STR(render(&op), "deprecate(bitIds)");
    gql_free(doc);
    /* The January client sent {ids} instead of {bitIds}: a required variable is missing. */
    CHECK(prepare_fails(DEPRECATE_JAN, NULL, "{\"ids\":[\"s/a\"]}",
                        "Variable \"$bitIds\" of required type \"[String!]!\" was not provided"));
    CHECK(prepare_fails(DEPRECATE, NULL, "{\"bitIds\":[\"s/a\",null]}",
                        "Variable \"$bitIds\" of non-null type \"[String!]!\" must not be null"));

    /* listLanes() was never valid GraphQL: an empty variable list. */
    CHECK(parse_fails(LIST_LANES_OLD, "Syntax Error: Expected \"$\", found \")\" at 2:21"));
}

static void test_symphony_documents(void)
{
    gql_op_t op;
    gql_doc_t *doc;

    doc = prep(SYM_GET_SCOPE, NULL, "{\"id\":\"org.scope\"}", &op);
    CHECK_STR(render(&op), "getScope(id){isLegacy apis{url}}");
    gql_free(doc);
    doc = prep(SYM_ME, NULL, NULL, &op);
    CHECK(doc && op.name == NULL);
    CHECK_STR(render(&op), "me{id username image displayName}");
    gql_free(doc);
    doc = prep(SYM_ORGS, NULL, NULL, &op);
    CHECK_STR(render(&op), "getUserOrganizations{id name}");
    gql_free(doc);
    doc = prep(SYM_SCOPES, NULL, "{\"ids\":[\"org.a\"]}", &op);
    CHECK_STR(render(&op), "getScopes(ids){id scopeStyle{icon backgroundIconColor}}");
    gql_free(doc);
    doc = prep(SYM_LIST_SCOPES, NULL, "{\"owners\":[\"org\"],\"limit\":10}", &op);
    CHECK_STR(render(&op), "listScopes(filters,limit,offset){id}");
    CHECK_STR(arg(doc, field_at(&op, "listScopes"), "filters"), "{\"owners\":[\"org\"]}");
    CHECK_STR(arg(doc, field_at(&op, "listScopes"), "limit"), "10");
    CHECK_STR(arg(doc, field_at(&op, "listScopes"), "offset"), "<absent>");
    gql_free(doc);
}

static void test_aliases_and_merging(void)
{
    gql_op_t op;
    gql_doc_t *doc;

    doc = prep("{ a: scope { name } b: scope { n: name } }", NULL, NULL, &op);
    CHECK_STR(render(&op), "a:scope{name} b:scope{n:name}");
    CHECK(doc && op.nfields == 2 && strcmp(gql_field_key(op.fields[1]), "b") == 0);
    CHECK(doc && strcmp(gql_field_key(op.fields[0]->fields[0]), "name") == 0);
    gql_free(doc);

    /* The same response key twice is one field whose sub-selections merge. */
    doc = prep("{ scope { name } scope { components { id { name } } name } }", NULL, NULL, &op);
    CHECK_STR(render(&op), "scope{name components{id{name}}}");
    gql_free(doc);

    CHECK(prepare_fails("{ x: name x: scope }", NULL, NULL,
                        "Fields \"x\" conflict because they are different fields at 1:11"));
    CHECK(prepare_fails("{ f(a: 1) f(a: 2) }", NULL, NULL,
                        "Fields \"f\" conflict because they have differing arguments"));
    CHECK(prepare_fails("{ f { a } f }", NULL, NULL, "only one of them has subfields"));
    doc = prep("{ f(a: [1, {b: \"c\"}], d: E) f(d: E, a: [1, {b: \"c\"}]) }", NULL, NULL, &op);
    CHECK_STR(render(&op), "f(a,d)");
    gql_free(doc);
}

static void test_variables(void)
{
    gql_op_t op;
    gql_doc_t *doc;
    const char *q = "query q($n: Int = 5, $s: String = \"x\", $l: [String!] = [\"a\"], "
                    "$o: In = {k: [1, 2]}, $b: Boolean = false, $f: Float = 1.5, $id: ID) "
                    "{ f(n: $n, s: $s, l: $l, o: $o, b: $b, f: $f, id: $id) }";

    doc = prep(q, NULL, "{}", &op);
    const gql_field_t *f = field_at(&op, "f");
    CHECK_STR(arg(doc, f, "n"), "5");
    CHECK_STR(arg(doc, f, "s"), "\"x\"");
    CHECK_STR(arg(doc, f, "l"), "[\"a\"]");
    CHECK_STR(arg(doc, f, "o"), "{\"k\":[1,2]}");
    CHECK_STR(arg(doc, f, "b"), "false");
    CHECK_STR(arg(doc, f, "f"), "1.5");
    CHECK_STR(arg(doc, f, "id"), "<absent>");
    CHECK_STR(arg(doc, f, "nope"), "<absent>");
    gql_free(doc);

    doc = prep(q, "q", "{\"n\":7,\"s\":\"y\",\"l\":\"z\",\"b\":true,\"f\":2,\"id\":42,\"extra\":1}",
               &op);
    f = field_at(&op, "f");
    CHECK_STR(arg(doc, f, "n"), "7");
    CHECK_STR(arg(doc, f, "s"), "\"y\"");
    CHECK_STR(arg(doc, f, "l"), "[\"z\"]");
    CHECK_STR(arg(doc, f, "b"), "true");
    CHECK_STR(arg(doc, f, "f"), "2");
    CHECK_STR(arg(doc, f, "id"), "\"42\"");
    gql_free(doc);

    /* An explicit null is kept as null, unlike an absent variable. */
    doc = prep(q, NULL, "{\"n\":null}", &op);
    CHECK_STR(arg(doc, field_at(&op, "f"), "n"), "null");
    gql_free(doc);
    doc = prep(q, NULL, "{\"n\":3.0}", &op);
    CHECK_STR(arg(doc, field_at(&op, "f"), "n"), "3");
    gql_free(doc);

    CHECK(prepare_fails(q, NULL, "{\"n\":\"5\"}",
                        "Variable \"$n\" of type \"Int\" got an invalid value: expected Int"));
    CHECK(prepare_fails(q, NULL, "{\"n\":3000000000}", "expected Int"));
    CHECK(prepare_fails(q, NULL, "{\"n\":1.5}", "expected Int"));
    CHECK(prepare_fails(q, NULL, "{\"s\":1}", "expected String"));
    CHECK(prepare_fails(q, NULL, "{\"b\":\"true\"}", "expected Boolean"));
    CHECK(prepare_fails(q, NULL, "{\"l\":[\"a\",2]}",
                        "Variable \"$l\" of type \"[String!]\" got an invalid value: expected "
                        "String"));
    CHECK(prepare_fails(q, NULL, "[1]", "Variables must be provided as an object"));
    CHECK(prepare_fails("query q($a: Int! = null) { f(a: $a) }", NULL, NULL,
                        "Variable \"$a\" of non-null type \"Int!\" must not be null"));

    /* Absent variables inside values: dropped from objects, null inside lists. */
    doc = prep("query q($a: String, $b: String) { f(o: {x: $a, y: $b, z: 1}, l: [$a, $b]) }", NULL,
               "{\"b\":\"B\"}", &op);
    CHECK_STR(arg(doc, field_at(&op, "f"), "o"), "{\"y\":\"B\",\"z\":1}");
    CHECK_STR(arg(doc, field_at(&op, "f"), "l"), "[null,\"B\"]");
    gql_free(doc);

    CHECK(prepare_fails("query q($a: Int) { f(a: $a, b: $nope) }", NULL, NULL,
                        "Variable \"$nope\" is not defined by operation \"q\" at 1:32"));
    CHECK(prepare_fails("{ f(a: [{b: $nope}]) }", NULL, NULL,
                        "Variable \"$nope\" is not defined at 1:13"));
    /* Undefined even though only a skipped fragment uses it: validation is static. */
    CHECK(prepare_fails("query q { ...F @skip(if: true) } fragment F on Q { f(a: $v) }", NULL, NULL,
                        "Variable \"$v\" is not defined by operation \"q\""));
    CHECK(prepare_fails("query q($a: Int, $a: Int) { f }", NULL, NULL,
                        "There can be only one variable named \"$a\" at 1:18"));
    CHECK(parse_fails("query q($a: Int = $b) { f }",
                      "Syntax Error: Unexpected variable \"$b\" in constant value at 1:19"));

    /* One document, prepared twice with different operations and variables. */
    doc = gql_parse(q, strlen(q), NULL, err, sizeof err);
    json_t *v1 = json_pack("{s:i}", "n", 1), *v2 = json_pack("{s:i}", "n", 2);
    CHECK(doc && gql_prepare(doc, NULL, v1, &op, err, sizeof err) == 0);
    CHECK_STR(arg(doc, field_at(&op, "f"), "n"), "1");
    CHECK(doc && gql_prepare(doc, "q", v2, &op, err, sizeof err) == 0);
    CHECK_STR(arg(doc, field_at(&op, "f"), "n"), "2");
    json_decref(v1);
    json_decref(v2);
    gql_free(doc);
}

static void test_fragments(void)
{
    gql_op_t op;
    gql_doc_t *doc;

    doc = prep("query list($ns: [String!]) { scope { components(namespaces: $ns) { ...C } } }\n"
               "fragment C on Component { id { ...Id } deprecation { isDeprecate } }\n"
               "fragment Id on ComponentID { scope version name }",
               NULL, "{\"ns\":[\"**\"]}", &op);
    CHECK_STR(render(&op),
              "scope{components(namespaces){id{scope version name} deprecation{isDeprecate}}}");
    CHECK_STR(arg(doc, field_at(&op, "scope.components"), "namespaces"), "[\"**\"]");
    gql_free(doc);

    /* Inline fragments, with and without a type condition, merge into the enclosing level. */
    doc = prep("{ scope { ... on Scope { name } ... { name components { id { name } } } "
               "... @include(if: true) { x } } }",
               NULL, NULL, &op);
    CHECK_STR(render(&op), "scope{name components{id{name}} x}");
    gql_free(doc);

    /* A fragment spread twice at one level is collected once. */
    doc = prep("{ a { ...F ...F } ...F } fragment F on T { x y }", NULL, NULL, &op);
    CHECK_STR(render(&op), "a{x y} x y");
    gql_free(doc);

    /* A field named like a keyword is just a field. */
    doc = prep("{ query fragment on: on mutation { true: null } }", NULL, NULL, &op);
    CHECK_STR(render(&op), "query fragment on:on mutation{true:null}");
    gql_free(doc);

    CHECK(prepare_fails("{ ...A } fragment A on Q { a ...A }", NULL, NULL,
                        "Cannot spread fragment \"A\" within itself at 1:30"));
    CHECK(prepare_fails("{ ...A } fragment A on Q { b { ...B } } fragment B on Q { ...A }", NULL,
                        NULL, "Cannot spread fragment \"A\" within itself"));
    CHECK(prepare_fails("{ ...A @skip(if: true) } fragment A on Q { ...A }", NULL, NULL,
                        "within itself"));
    CHECK(parse_fails("{ ...Nope }", "Unknown fragment \"Nope\" at 1:3"));
    CHECK(parse_fails("{ a } fragment A on Q { a } fragment A on Q { b }",
                      "There can be only one fragment named \"A\" at 1:29"));
    CHECK(parse_fails("fragment on on Q { a }", "Syntax Error: Unexpected Name \"on\" at 1:10"));
    CHECK(parse_fails("fragment A Q { a }", "Syntax Error: Expected \"on\", found Name \"Q\""));
    CHECK(parse_fails("{ ... on { a } }", "Syntax Error: Expected Name, found \"{\" at 1:10"));
    CHECK(prepare_fails("fragment A on Q { a }", NULL, NULL, "Must provide an operation"));
}

static void test_directives(void)
{
    gql_op_t op;
    gql_doc_t *doc;
    const char *q =
        "query q($yes: Boolean!, $maybe: Boolean) {\n"
        "  a @skip(if: $yes)\n  b @include(if: $yes)\n  c @include(if: false)\n"
        "  d @skip(if: false) @include(if: true)\n  e @skip(if: true) @include(if: true)\n"
        "  ... @skip(if: true) { f }\n  ...G @include(if: $yes)\n"
        "  h @deprecated(reason: \"ignored\")\n}\nfragment G on Q { g }";

    doc = prep(q, NULL, "{\"yes\":true}", &op);
    CHECK_STR(render(&op), "b d g h");
    gql_free(doc);
    doc = prep(q, NULL, "{\"yes\":false}", &op);
    CHECK_STR(render(&op), "a d h");
    gql_free(doc);

    /* Skipping every sub-field leaves an empty object, not a leaf. */
    doc = prep("{ scope { name @skip(if: true) } }", NULL, NULL, &op);
    CHECK(doc && op.fields[0]->has_selection && op.fields[0]->nfields == 0);
    CHECK_STR(render(&op), "scope{}");
    gql_free(doc);

    CHECK(prepare_fails("query q($m: Boolean) { a @skip(if: $m) }", NULL, "{}",
                        "Directive \"@skip\" needs a Boolean argument \"if\" at 1:24"));
    CHECK(prepare_fails("{ a @include }", NULL, NULL, "needs a Boolean argument \"if\""));
    CHECK(prepare_fails("{ a @include(if: \"yes\") }", NULL, NULL, "needs a Boolean"));
}

static void test_lexer(void)
{
    gql_op_t op;
    gql_doc_t *doc;

    /* BOM, comments, commas and CRLF are all ignored. */
    doc =
        prep("\xEF\xBB\xBF# leading comment\r\n{ scope, { name,,, } } # trailing", NULL, NULL, &op);
    CHECK_STR(render(&op), "scope{name}");
    gql_free(doc);

    doc = prep("{ f(a: [1, -2, 0, 3.5, -0.25e2, 1E3, true, false, null, RED, {k: \"v\", n: []}]) }",
               NULL, NULL, &op);
    CHECK_STR(arg(doc, field_at(&op, "f"), "a"),
              "[1,-2,0,3.5,-25.0,1000.0,true,false,null,\"RED\",{\"k\":\"v\",\"n\":[]}]");
    gql_free(doc);

    doc = prep(
        "{ f(s: \"q\\\"b\\\\s\\/ \\b\\f\\n\\r\\t \\u00e9 \\u{1F600} \\uD83D\\uDE00 tab\there\") }",
        NULL, NULL, &op);
    json_t *s = doc ? gql_arg_json(doc, field_at(&op, "f"), "s") : NULL;
    CHECK_STR(json_string_value(s), "q\"b\\s/ \b\f\n\r\t \xC3\xA9 \xF0\x9F\x98\x80 "
                                    "\xF0\x9F\x98\x80 tab\there");
    json_decref(s);
    gql_free(doc);

    doc = prep("{ f(s: \"nul\\u0000byte\") }", NULL, NULL, &op);
    s = doc ? gql_arg_json(doc, field_at(&op, "f"), "s") : NULL;
    CHECK(s && json_string_length(s) == 8 && memcmp(json_string_value(s), "nul\0byte", 8) == 0);
    json_decref(s);
    gql_free(doc);

    /* Block strings: common indentation and blank edge lines go, \""" is a literal """. */
    doc = prep("{ f(s: \"\"\"\n\n    hello\n      world \\n \\\"\"\"\n\n    done\n  \n  \"\"\") }",
               NULL, NULL, &op);
    s = doc ? gql_arg_json(doc, field_at(&op, "f"), "s") : NULL;
    CHECK_STR(json_string_value(s), "hello\n  world \\n \"\"\"\n\ndone");
    json_decref(s);
    gql_free(doc);
    doc = prep("{ f(a: \"\"\"  first line kept\n    x\"\"\", b: \"\"\"\"\"\", c: \"\") }", NULL,
               NULL, &op);
    CHECK_STR(arg(doc, field_at(&op, "f"), "a"), "\"  first line kept\\nx\"");
    CHECK_STR(arg(doc, field_at(&op, "f"), "b"), "\"\"");
    CHECK_STR(arg(doc, field_at(&op, "f"), "c"), "\"\"");
    gql_free(doc);

    /* Positions are line:column of the offending token. */
    CHECK(parse_fails("{\n  scope {\n    }\n}", "Syntax Error: Expected Name, found \"}\" at 3:5"));
    CHECK(parse_fails("{ f(a: \"abc) }", "Syntax Error: Unterminated string at 1:15"));
    CHECK(parse_fails("{ f(a: \"abc\n\") }", "Syntax Error: Unterminated string at 1:12"));
    CHECK(parse_fails("{ f(a: \"\"\"abc) }", "Syntax Error: Unterminated string"));
    CHECK(parse_fails("{ f(a: 1) % }", "Syntax Error: Unexpected character: \"%\" at 1:11"));
    CHECK(parse_fails("{ f(a: 1) \xC3\xA9 }", "Unexpected character: U+00E9 at 1:11"));
    CHECK(gql_parse("{ a\0 }", 6, NULL, err, sizeof err) == NULL);
    CHECK_STR(err, "Syntax Error: Unexpected character: U+0000 at 1:4");
    CHECK(parse_fails("{ f(a: 01) }", "Invalid number, unexpected digit after 0: \"1\" at 1:9"));
    CHECK(parse_fails("{ f(a: 1.) }", "Invalid number, expected digit but got: \")\""));
    CHECK(parse_fails("{ f(a: 1e) }", "Invalid number, expected digit but got: \")\""));
    CHECK(parse_fails("{ f(a: 12abc) }", "Invalid number, expected digit but got: \"a\""));
    CHECK(parse_fails("{ f(a: .5) }", "Unexpected character: \".\""));
    CHECK(parse_fails("{ f(a: \"\\x\") }", "Invalid escape sequence: \"\\x\""));
    CHECK(parse_fails("{ f(a: \"\\uD800\") }", "Invalid escape sequence"));
    CHECK(parse_fails("{ f(a: \"\\u12\") }", "Invalid escape sequence"));
    CHECK(parse_fails("{ f(a: \"\\u{110000}\") }", "Invalid escape sequence"));
    CHECK(parse_fails("{ f(a: \"bell\a\") }", "Invalid character within String: U+0007"));
    /* Found by fuzzing: the quoted escape must not cut a UTF-8 sequence, or the message could
     * not go into a JSON error body. */
    CHECK(parse_fails("{ f(a: \"\\u{1F60\xD4\x82\") }", "Invalid escape sequence: \"\\u{1F60\""));
    json_t *msg = json_string(err);
    CHECK(msg != NULL);
    json_decref(msg);
    CHECK(parse_fails("{ f(a: \"\xC3\x28\") }", "Syntax Error: Invalid UTF-8 at 1:9"));
    CHECK(parse_fails("", "Syntax Error: Unexpected <EOF> at 1:1"));
    CHECK(parse_fails("  # only a comment", "Unexpected <EOF>"));
    CHECK(parse_fails("type Q { a: Int }", "Syntax Error: Unexpected Name \"type\" at 1:1"));
    CHECK(parse_fails("{ f(a: 1, a: 2) }", "There can be only one argument named \"a\""));
    CHECK(parse_fails("{ f(a: {b: 1, c: {b: 2}, b: 3}) }",
                      "There can be only one input field named \"b\""));
    CHECK(parse_fails("{ f() }", "Syntax Error: Expected Name, found \")\" at 1:5"));
    CHECK(parse_fails("{ }", "Syntax Error: Expected Name, found \"}\" at 1:3"));
    CHECK(parse_fails("{ a } }", "Syntax Error: Unexpected \"}\" at 1:7"));
    CHECK(parse_fails("{ f(a: \"x\" ", "Syntax Error: Expected Name, found <EOF> at 1:12"));
    CHECK(parse_fails("query q(a: Int) { f }", "Expected \"$\", found Name \"a\""));
    CHECK(parse_fails("{ f(s: \"str\") { }", "Expected Name, found \"}\""));
    CHECK(parse_fails("{ f(s: )", "Syntax Error: Unexpected \")\""));
    CHECK(parse_fails("{ f(s: \"long string value here\" x) }", "Expected \":\", found \")\""));
}

static void test_operations(void)
{
    gql_op_t op;
    gql_doc_t *doc;
    const char *two = "query A { a } mutation B { b } subscription C { c }";

    doc = prep(two, "B", NULL, &op);
    CHECK(doc && op.kind == GQL_MUTATION);
    CHECK_STR(render(&op), "b");
    gql_free(doc);
    doc = prep(two, "C", NULL, &op);
    CHECK(doc && op.kind == GQL_SUBSCRIPTION);
    gql_free(doc);
    CHECK(prepare_fails(two, "D", NULL, "Unknown operation named \"D\""));
    CHECK(prepare_fails(two, NULL, NULL,
                        "Must provide operation name if query contains multiple operations"));
    CHECK(prepare_fails(two, "", NULL, "Must provide operation name"));
    CHECK(prepare_fails("{ scope { name } }", "describe", NULL,
                        "Unknown operation named \"describe\""));
    CHECK(parse_fails("{ a } { b }",
                      "This anonymous operation must be the only defined operation at 1:1"));
    CHECK(parse_fails("query A { a } { b }",
                      "This anonymous operation must be the only defined operation at 1:15"));
    CHECK(parse_fails("query A { a } query A { b }",
                      "There can be only one operation named \"A\" at 1:15"));
    /* `query` with no name and a directive on the operation is fine. */
    doc = prep("query @live { a }", NULL, NULL, &op);
    CHECK(doc && op.name == NULL);
    gql_free(doc);
}

static char *repeat(const char *open, const char *mid, const char *close, int n)
{
    buf_t b;
    buf_init(&b);
    for (int i = 0; i < n; i++)
        buf_append_str(&b, open);
    buf_append_str(&b, mid);
    for (int i = 0; i < n; i++)
        buf_append_str(&b, close);
    buf_cstr(&b);
    return (char *)b.data;
}

static void test_limits(void)
{
    gql_op_t op;
    gql_doc_t *doc;

    /* 32 nested selection sets are allowed, 33 are not. */
    char *ok = repeat("{ a ", "", "}", 32);
    doc = prep(ok, NULL, NULL, &op);
    CHECK(doc != NULL);
    gql_free(doc);
    free(ok);
    buf_t b;
    char *deep = repeat("{ a ", "", "}", 33);
    CHECK(
        parse_fails(deep, "Syntax Error: Document nesting exceeds the depth limit of 32 at 1:129"));
    free(deep);

    char *list = repeat("[", "1", "]", 40);
    buf_init(&b);
    buf_printf(&b, "{ f(a: %s) }", list);
    CHECK(parse_fails(buf_cstr(&b), "depth limit of 32"));
    buf_free(&b);
    free(list);
    CHECK(parse_fails(
        "query q($a: [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[Int]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]) "
        "{ a }",
        "depth limit of 32"));

    gql_limits_t lim = {.max_depth = 2};
    const char *two = "{ a { b } }", *three = "{ a { b { c } } }";
    doc = gql_parse(two, strlen(two), &lim, err, sizeof err);
    CHECK(doc != NULL);
    gql_free(doc);
    CHECK(gql_parse(three, strlen(three), &lim, err, sizeof err) == NULL);
    CHECK(strstr(err, "depth limit of 2 at 1:9") != NULL);
    /* Fragments cannot smuggle depth past the limit: each parses shallow, the spread is deep. */
    const char *frag = "{ a { ...F } } fragment F on T { b { c } }";
    doc = gql_parse(frag, strlen(frag), &lim, err, sizeof err);
    CHECK(doc && gql_prepare(doc, NULL, NULL, &op, err, sizeof err) == -1);
    CHECK(strstr(err, "Selections nest deeper than the limit of 2") != NULL);
    gql_free(doc);

    /* Hostile nesting fills the whole 64 KiB and is refused at depth 33, not by the stack. */
    char *bomb = malloc(GQL_DEFAULT_MAX_BYTES);
    memset(bomb, '[', GQL_DEFAULT_MAX_BYTES);
    memcpy(bomb, "{ f(a: ", 7);
    CHECK(gql_parse(bomb, GQL_DEFAULT_MAX_BYTES, NULL, err, sizeof err) == NULL &&
          strstr(err, "depth limit of 32"));
    for (size_t i = 0; i < GQL_DEFAULT_MAX_BYTES; i += 2)
        memcpy(bomb + i, "{a", 2);
    CHECK(gql_parse(bomb, GQL_DEFAULT_MAX_BYTES, NULL, err, sizeof err) == NULL &&
          strstr(err, "depth limit of 32"));

    /* max_bytes: 64 KiB is accepted, one byte more is not. */
    memset(bomb, ' ', GQL_DEFAULT_MAX_BYTES);
    memcpy(bomb, "{ a }", 5);
    doc = gql_parse(bomb, GQL_DEFAULT_MAX_BYTES, NULL, err, sizeof err);
    CHECK(doc != NULL);
    gql_free(doc);
    CHECK(gql_parse(bomb, GQL_DEFAULT_MAX_BYTES + 1, NULL, err, sizeof err) == NULL);
    CHECK_STR(err, "GraphQL document of 65537 bytes exceeds the limit of 65536 bytes");
    free(bomb);
    gql_limits_t small = {.max_bytes = 10};
    CHECK(gql_parse("{ scope { name } }", 18, &small, err, sizeof err) == NULL);
    CHECK_STR(err, "GraphQL document of 18 bytes exceeds the limit of 10 bytes");

    gql_limits_t few = {.max_nodes = 5};
    CHECK(gql_parse("{ a b c d e }", 13, &few, err, sizeof err) == NULL);
    CHECK(strstr(err, "Document has more than 5 tokens at 1:11") != NULL);
    doc = gql_parse("{ a b }", 7, &few, err, sizeof err);
    CHECK(doc != NULL);
    gql_free(doc);
}

/* Ten levels, each field of a level spreading the level below ten times under distinct aliases:
 * 10^10 fields if expanded. It must be refused by the work budget, fast. */
static void test_fragment_fanout(void)
{
    gql_op_t op;
    buf_t b;
    buf_init(&b);
    buf_append_str(&b, "query bomb { ...F10 }\nfragment F0 on T { x }\n");
    for (int lvl = 1; lvl <= 10; lvl++) {
        buf_printf(&b, "fragment F%d on T {", lvl);
        for (int k = 0; k < 10; k++)
            buf_printf(&b, " a%d: f { ...F%d }", k, lvl - 1);
        buf_append_str(&b, " }\n");
    }
    clock_t t0 = clock();
    gql_doc_t *doc = prep(buf_cstr(&b), NULL, NULL, &op);
    double secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
    CHECK(doc == NULL);
    CHECK(strstr(err, "Query is too complex: it expands past the limit of 100000 nodes") != NULL);
    CHECK(secs < 2.0);
    gql_free(doc);
    buf_free(&b);

    /* The same shape without aliases merges level by level, so it stays small and is allowed. */
    buf_init(&b);
    buf_append_str(&b, "query ok { ...F10 }\nfragment F0 on T { x }\n");
    for (int lvl = 1; lvl <= 10; lvl++) {
        buf_printf(&b, "fragment F%d on T {", lvl);
        for (int k = 0; k < 10; k++)
            buf_printf(&b, " f { ...F%d }", lvl - 1);
        buf_append_str(&b, " }\n");
    }
    t0 = clock();
    doc = prep(buf_cstr(&b), NULL, NULL, &op);
    secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
    CHECK(doc != NULL);
    CHECK_STR(render(&op), "f{f{f{f{f{f{f{f{f{f{x}}}}}}}}}}");
    CHECK(secs < 2.0);
    gql_free(doc);
    buf_free(&b);

    /* Spreading the level below ten times side by side is collected once per level. */
    buf_init(&b);
    buf_append_str(&b, "query flat { ...F10 }\nfragment F0 on T { x }\n");
    for (int lvl = 1; lvl <= 10; lvl++) {
        buf_printf(&b, "fragment F%d on T {", lvl);
        for (int k = 0; k < 10; k++)
            buf_printf(&b, " ...F%d", lvl - 1);
        buf_append_str(&b, " }\n");
    }
    doc = prep(buf_cstr(&b), NULL, NULL, &op);
    CHECK_STR(render(&op), "x");
    gql_free(doc);
    buf_free(&b);

    /* Comparing one huge argument again and again is work too. */
    buf_init(&b);
    buf_append_str(&b, "query cmp { ...G }\nfragment H on T { f(a: [");
    for (int k = 0; k < 3000; k++)
        buf_append_str(&b, "1 ");
    buf_append_str(&b, "]) }\nfragment G on T {");
    for (int k = 0; k < 100; k++)
        buf_printf(&b, " a%d: g { ...H ...H2 }", k);
    buf_append_str(&b, " }\nfragment H2 on T { f(a: [");
    for (int k = 0; k < 3000; k++)
        buf_append_str(&b, "1 ");
    buf_append_str(&b, "]) }\n");
    doc = prep(buf_cstr(&b), NULL, NULL, &op);
    CHECK(doc == NULL && strstr(err, "Query is too complex"));
    gql_free(doc);
    buf_free(&b);
}

/* Deterministic mutations of the client documents: every outcome must be a document or an
 * error message, never a crash, a leak or a hang (run under ASan). */
static void test_mutations(void)
{
    static const char *const seeds[] = {LIST_DELETED,
                                        LANES,
                                        GRAPH,
                                        DEPRECATE,
                                        SYM_LIST_SCOPES,
                                        "{ a: f(s: \"\"\"x\"\"\", t: \"\\u00e9\") ...F ... on T "
                                        "{ b @skip(if: $v) } } fragment F on T { c }"};
    static const char alphabet[] = "{}()[]:$@!=.\"\\#,\n aZ_09-eE\"\"\"...";
    unsigned seed = 12345;
    int outcomes_ok = 1;
    for (int iter = 0; iter < 20000; iter++) {
        const char *base = seeds[iter % (sizeof seeds / sizeof *seeds)];
        char doc_text[1024];
        size_t len = strlen(base);
        memcpy(doc_text, base, len);
        for (int m = 0; m < 1 + iter % 4; m++) {
            seed = seed * 1103515245u + 12345u;
            size_t at = (seed >> 8) % (len ? len : 1);
            seed = seed * 1103515245u + 12345u;
            char c = alphabet[(seed >> 8) % (sizeof alphabet - 1)];
            switch ((seed >> 20) % 3) {
            case 0:
                doc_text[at] = c;
                break;
            case 1:
                if (len + 1 < sizeof doc_text) {
                    memmove(doc_text + at + 1, doc_text + at, len - at);
                    doc_text[at] = c;
                    len++;
                }
                break;
            default:
                if (len) {
                    memmove(doc_text + at, doc_text + at + 1, len - at - 1);
                    len--;
                }
            }
        }
        err[0] = 0;
        gql_doc_t *doc = gql_parse(doc_text, len, NULL, err, sizeof err);
        if (!doc) {
            outcomes_ok &= err[0] != 0;
            continue;
        }
        gql_op_t op;
        json_t *vars = json_pack("{s:b,s:[s]}", "v", 1, "bitIds", "s/a");
        if (gql_prepare(doc, NULL, vars, &op, err, sizeof err) != 0)
            outcomes_ok &= err[0] != 0;
        else if (op.nfields)
            json_decref(gql_arg_json(doc, op.fields[0], "ids"));
        json_decref(vars);
        gql_free(doc);
    }
    CHECK(outcomes_ok);
}

UNIT_MAIN("graphql", {
    test_bit_documents();
    test_old_client_documents();
    test_symphony_documents();
    test_aliases_and_merging();
    test_variables();
    test_fragments();
    test_directives();
    test_lexer();
    test_operations();
    test_limits();
    test_fragment_fanout();
    test_mutations();
})
