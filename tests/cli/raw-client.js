#!/usr/bin/env node
/* Drives Bit's own HTTP network class (no workspace) against a remote scope, so that protocol
 * features the legacy CLI commands do not reach are checked with Bit's own requests and parsers.
 * usage: BIT_BIN_DIR=<@teambit/legacy or bit-bin package dir> node raw-client.js <url> <cmd> [args]
 *   fetch '<ids json>' '<fetchOptions json>'  -> objects received: [{type, ref, name?, ...}]
 *   describe | list [namespaces] | latest <id...> | log <id> | show <id> | graph [id]
 *   deprecate <id...> | undeprecate <id...> | lanes [name]
 *   delete '<ids json>' force|no-force lanes|components   -> Bit's RemovedObjects, as strings
 *   components '<namespaces json>' [include-deleted] | modern-lanes [id]   (see MODERN below)
 * Every command but the two MODERN ones calls the class's own method, so the GraphQL documents
 * and REST bodies are the ones this Bit sends, byte for byte.
 * (Adapted from shared/realclient/raw-client.js, written for this project.) */
const path = require('path');
const pkgDir = process.env.BIT_BIN_DIR;
const req = (p) => require(path.join(pkgDir, p));
const { Http } = req('dist/scope/network/http/http');
const { ObjectList } = req('dist/scope/objects/object-list');
const { BitObject, BitRawObject } = req('dist/scope/objects');
const { typesObj } = req('dist/scope/object-registrar');
const { BitId } = req('dist/bit-id');

/* The modern client's documents of protocol.md §5.2 (components, also with includeDeleted) and
 * §5.7 (Lanes). No Bit release installable here sends them (legacy160's listLanes sends
 * `query listLanes() {...}`, which is not GraphQL), so they go out through the class's own
 * GraphQL transport (graphClientRequest: Bit's headers, x-verb, error handling). */
const MODERN = {
  components: 'query list($namespaces: [String!]) { scope { components(namespaces: $namespaces) '
    + '{ id { scope version name } deprecation { isDeprecate } } } }',
  componentsDeleted: 'query list($namespaces: [String!], $includeDeleted: Boolean) { scope { components('
    + 'namespaces: $namespaces, includeDeleted: $includeDeleted) { id { scope version name } '
    + 'aspects(include: ["teambit.component/remove"]) { id config } deprecation { isDeprecate } } } }',
  lanes: 'query Lanes($ids: [String!]) { lanes { list(ids: $ids) { id { name scope } '
    + 'components: laneComponentIds { name scope version } } } }',
};

async function toList(res) {
  if (res instanceof ObjectList) return res;          // bit-bin 14.8.9-dev.x
  return ObjectList.fromReadableStream(res);           // @teambit/legacy 1.0.x: checks .BIT.START/.BIT.END
}

function describe(o) {
  const out = { type: o.constructor.name, ref: o.hash().toString() };
  if (o.name !== undefined) out.name = o.name;
  if (o.constructor.name === 'Component') {
    out.versions = Object.fromEntries(Object.entries(o.versions || {}).map(([t, r]) => [t, r.toString()]));
    out.head = o.head ? o.head.toString() : null;
  }
  if (o.constructor.name === 'Lane') out.components = o.components.map((c) => `${c.id.toString()}@${c.head.toString()}`);
  if (o.constructor.name === 'Version') out.parents = (o.parents || []).map((p) => p.toString());
  return out;
}

/* An object of a type this Bit has a model for is parsed by that model; the others
 * (VersionHistory, LaneHistory: newer than legacy160) by Bit's own raw-object reader, which
 * splits header and content, and their JSON content is returned as is. */
async function decode(item) {
  const raw = await BitRawObject.fromDeflatedBuffer(item.buffer, item.ref);
  if (typesObj[raw.type]) return describe(await BitObject.parseObject(item.buffer));
  return { type: raw.type, ref: item.ref.toString(), header: raw.headers, content: JSON.parse(raw.content.toString()) };
}

const ids = (list) => list.map((id) => id.toString());

function removed(r) {
  return {
    removedComponentIds: ids(r.removedComponentIds), missingComponents: ids(r.missingComponents),
    dependentBits: Object.fromEntries(Object.entries(r.dependentBits).map(([k, v]) => [k, ids(v)])),
    removedLanes: r.removedLanes,
  };
}

async function show(http, id) {
  const c = await http.show(BitId.parse(id, true));
  return {
    name: c.name, scope: c.scope, version: c.version, deprecated: c.deprecated, mainFile: c.mainFile,
    files: c.files.map((f) => ({ path: f.relative, contents: f.contents.toString() })),
    dependencies: c.dependencies.get().map((d) => d.id.toString()),
  };
}

async function graph(http, id) {
  const g = (await http.graph(id ? BitId.parse(id, true) : undefined)).graph;
  return {
    nodes: g.nodes().sort(),
    edges: g.edges().map((e) => [e.v, e.w, g.edge(e)]).sort(),
  };
}

async function run(http, cmd, args) {
  switch (cmd) {
    case 'describe': return http.describeScope();
    case 'fetch': {
      const list = await toList(await http.fetch(JSON.parse(args[0]), JSON.parse(args[1])));
      return Promise.all(list.objects.map(decode));
    }
    case 'latest': return http.latestVersions(args.map((a) => BitId.parse(a, true)));
    case 'list': return (await http.list(args[0])).map((x) => ({ id: x.id.toString(), deprecated: x.deprecated }));
    case 'log': return http.log(BitId.parse(args[0], true));
    case 'show': return show(http, args[0]);
    case 'graph': return graph(http, args[0]);
    case 'deprecate': return http.deprecateMany(args);
    case 'undeprecate': return http.undeprecateMany(args);
    case 'lanes': return http.listLanes(args[0], false);
    case 'delete':
      return removed(await http.deleteMany(JSON.parse(args[0]), args[1] === 'force', undefined, args[2] === 'lanes'));
    case 'components': {
      const deleted = args[1] === 'include-deleted';
      const vars = { namespaces: JSON.parse(args[0] || 'null') || undefined, ...(deleted ? { includeDeleted: true } : {}) };
      return (await http.graphClientRequest(deleted ? MODERN.componentsDeleted : MODERN.components, 'read', vars))
        .scope.components;
    }
    case 'modern-lanes':
      return (await http.graphClientRequest(MODERN.lanes, 'read', { ids: args[0] ? [args[0]] : [] })).lanes.list;
    default: throw new Error(`unknown cmd ${cmd}`);
  }
}

(async () => {
  const [url, cmd, ...args] = process.argv.slice(2);
  const http = await Http.connect(url, 'remote-under-test');
  console.log(JSON.stringify(await run(http, cmd, args)));
})().catch((e) => {
  const report = typeof e.report === 'function' ? e.report() : '';
  console.error('ERROR', e.constructor.name, e.message, report && report !== e.message ? `\n${report}` : '');
  process.exit(1);
});
