"""GraphQL at /<scope>/graphql, and reads of a scope that does not exist."""
from client import NAME_QUERY, expect_error, expect_graphql_errors, expect_json
from harness import SCOPE, Failure, capture, case, check, eq


@case("bit remote add: { scope { name } } answers the scope name as application/json")
def scope_name(ctx):
    s = ctx.daemon().scope()
    # the exact body bitbin283 sent on `bit remote add`
    resp = s.graphql(None, raw=capture("ref-283", 2))
    eq(expect_json(resp, 200, "{scope{name}}"), {"data": {"scope": {"name": SCOPE}}}, "{scope{name}} reply")


@case("an empty scope lists nothing (_legacyList and components)")
def empty_lists(ctx):
    s = ctx.daemon().scope()
    eq(s.legacy_list(), [], "_legacyList of an empty scope")
    data = s.graphql_data("query ($ns: [String!]) { scope { components(namespaces: $ns) { id { scope version name } "
                          "deprecation { isDeprecate } } } }", {"ns": None})
    eq(data, {"scope": {"components": []}}, "components of an empty scope")


@case("a scope that does not exist: 404 code 129 on graphql and on fetch")
def missing_scope(ctx):
    d = ctx.daemon()
    for name in ["nosuch.scope", "myorg.nosuch", "MyOrg.MyScope", "a.b.c", "x" * 250]:
        s = d.scope(name)
        err = expect_error(s.graphql(NAME_QUERY), 404, 129, f"graphql of {name}")
        eq(err.get("name"), name, "error.name (RemoteScopeNotFound reads it)")
        expect_error(s.fetch([f"{name}/hello"]), 404, 129, f"fetch of {name}")
    # the real scope still answers: the 404s are about the name only
    eq(d.scope().graphql_data(NAME_QUERY), {"scope": {"name": SCOPE}}, "the existing scope")


@case("GraphQL that does not parse: 400 {\"errors\":[{\"message\":...}]}")
def graphql_syntax_error(ctx):
    s = ctx.daemon().scope()
    for query in ["{ scope { name }", "{ scope { name } } }", "query {", "{ scope(: 1) { name } }", ""]:
        expect_graphql_errors(s.graphql(query), f"query {query!r}")


@case("GraphQL that does not validate (unknown field, wrong argument): 400 errors")
def graphql_invalid(ctx):
    s = ctx.daemon().scope()
    wrong = []
    for query in ["{ scope { nope } }", "{ nope }", "{ scope { _legacyList(namespaces: 3) { id } } }",
                  "{ scope { _legacyList { nope } } }", "{ scope { components { id { nope } } } }", "{ scope }",
                  "query ($x: String) { scope { _legacyList(namespaces: $y) { id } } }"]:
        try:
            expect_graphql_errors(s.graphql(query), f"query {query!r}")
        except Failure as e:
            wrong.append(str(e))
    check(not wrong, "\n".join(wrong))
