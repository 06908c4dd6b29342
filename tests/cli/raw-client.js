#!/usr/bin/env node
/* Drives Bit's own HTTP network class (no workspace) against a remote scope, so that protocol
 * features the legacy CLI commands do not reach are checked with Bit's own parsers.
 * usage: BIT_BIN_DIR=<@teambit/legacy or bit-bin package dir> node raw-client.js <url> <cmd> [args]
 *   fetch '<ids json>' '<fetchOptions json>'  -> objects received: [{type, ref, name?, ...}]
 *   list | latest <id...> | describe
 * (Adapted from shared/realclient/raw-client.js, written for this project.) */
const path = require('path');
const pkgDir = process.env.BIT_BIN_DIR;
const req = (p) => require(path.join(pkgDir, p));
const { Http } = req('dist/scope/network/http/http');
const { ObjectList } = req('dist/scope/objects/object-list');

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

(async () => {
  const [url, cmd, ...args] = process.argv.slice(2);
  const http = await Http.connect(url, 'remote-under-test');
  let out;
  switch (cmd) {
    case 'describe': out = await http.describeScope(); break;
    case 'fetch': {
      const list = await toList(await http.fetch(JSON.parse(args[0]), JSON.parse(args[1])));
      const bitObjects = await list.toBitObjects();
      out = (bitObjects.objects || bitObjects).map(describe);
      break;
    }
    case 'latest': out = await http.latestVersions(args.map((a) => req('dist/bit-id').BitId.parse(a, true))); break;
    case 'list': out = (await http.list()).map((x) => ({ id: x.id.toString(), deprecated: x.deprecated })); break;
    default: throw new Error(`unknown cmd ${cmd}`);
  }
  console.log(JSON.stringify(out));
})().catch((e) => { console.error('ERROR', e.constructor.name, e.message); process.exit(1); });
