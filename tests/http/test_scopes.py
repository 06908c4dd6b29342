"""Two scopes in one daemon are two remotes: nothing of one shows through the other."""
from bitobj import objects_of_tar
from client import NAME_QUERY, expect_json
from harness import SCOPE, capture, case, check, client_id_of, eq

OTHER = "myorg.other"


@case("two scopes in one daemon stay separate: fetch, _legacyList and scope name")
def two_scopes(ctx):
    d = ctx.daemon(scopes=(SCOPE, OTHER))
    a, b = d.scope(SCOPE), d.scope(OTHER)
    body = capture("ref-283", 4)
    uploaded = objects_of_tar(body)
    eq(a.export(body, client_id_of("ref-283", 4)), [f"{SCOPE}/hello@1.0.0"], "export to A")

    a.fetch_objects([f"{SCOPE}/hello"]).expect_exactly(uploaded, "fetch from A")
    reply = b.fetch_objects([f"{SCOPE}/hello"])
    leaked = sorted(set(reply.objects) & set(uploaded))
    check(not leaked, f"fetch from B returned objects exported to A: {leaked}")
    if reply.objects:   # B may answer with its own ScopeMeta, and nothing else
        eq(reply.scope_meta().json()["name"], OTHER, "ScopeMeta of B")
        eq(reply.refs(), set(), "objects of B's reply besides ScopeMeta")

    eq(a.legacy_list(), [{"id": f"{SCOPE}/hello@1.0.0", "deprecated": False}], "_legacyList of A")
    eq(b.legacy_list(), [], "_legacyList of B")
    eq(b.graphql_data(NAME_QUERY), {"scope": {"name": OTHER}}, "B's name")


@case("a clientId pending in one scope is unknown to the other")
def pending_per_scope(ctx):
    d = ctx.daemon(scopes=(SCOPE, OTHER))
    a, b = d.scope(SCOPE), d.scope(OTHER)
    eq(a.put(capture("ref-283", 4), "42").status, 200, "put to A")
    b.expect_no_pending("42")
    eq(b.action("ExportPersist", clientId="42").status, 404, "ExportPersist in B of A's clientId")
    eq(b.legacy_list(), [], "_legacyList of B")
    eq(expect_json(a.action("ExportValidate", clientId="42", isResumingExport=False), 200, "ExportValidate in A"),
       {}, "ExportValidate in A")
    eq(expect_json(a.action("ExportPersist", clientId="42"), 200, "ExportPersist in A"), [f"{SCOPE}/hello@1.0.0"],
       "ExportPersist in A")
    eq(b.legacy_list(), [], "_legacyList of B after A's export")
