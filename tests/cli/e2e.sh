#!/usr/bin/env bash
# End-to-end run of a REAL Bit CLI (legacy mode) against a Bit remote-scope HTTP server.
# (Taken from shared/realclient/e2e.sh, which was written for this project; kept here so that
# the project tests itself.)
#
# usage: realclient-e2e.sh <server-url> [install-dir]
#   server-url   e.g. http://127.0.0.1:8080   (the CLI derives: <url>/graphql, <url>/api/scope/{put,fetch,action,delete})
#   install-dir  where the client is npm-installed (default: $SCOPED_CLIENT_CACHE or ~/.cache/scoped-realclient); reused if already installed
# env:
#   BIT_CLIENT   bitbin283 (default: npm bit-bin@14.8.9-dev.283, Feb 2021)
#                legacy160 (npm @teambit/legacy@1.0.160: newer headers x-client-version/x-request-scope,
#                           scope-prefixed tar entry names "<scope>/<hash>" for Component objects)
#   BIT_SCOPE    expected remote scope name (default: whatever `{scope{name}}` returns)
#   BIT_TOKEN    if set, sent as "Authorization: Bearer <token>" on put/fetch/action (via --token)
#   KEEP_TMP=1   keep the temp workspaces
# Needs: node >= 12.22 (tested with 20), npm, network access to the npm registry for the first install.
# Exit status: 0 on success, non-zero on the first failing step.
set -euo pipefail

URL="${1:?usage: $0 <server-url> [install-dir]}"
URL="${URL%/}"
INSTALL_DIR="${2:-${SCOPED_CLIENT_CACHE:-$HOME/.cache/scoped-realclient}}"
CLIENT="${BIT_CLIENT:-bitbin283}"

case "$CLIENT" in
  bitbin283)
    PKG_DIR_REL="node_modules/bit-bin"
    NPM_PKGS="bit-bin@14.8.9-dev.283 @teambit/bit-error@0.0.363 @teambit/component-version@0.0.364 @teambit/legacy-bit-id@0.0.365 graphql@14.7.0" ;;
  legacy160)
    PKG_DIR_REL="node_modules/@teambit/legacy"
    NPM_PKGS="@teambit/legacy@1.0.160 @teambit/bit-error@0.0.363 @teambit/component-version@0.0.364 @teambit/legacy-bit-id@0.0.365 @teambit/component-issues@0.0.141 graphql@14.7.0" ;;
  *) echo "unknown BIT_CLIENT=$CLIENT" >&2; exit 2 ;;
esac

step() { echo "==> $*"; }
fail() { echo "E2E FAILED: $*" >&2; exit 1; }

# ---------------------------------------------------------------- install
INSTALL_DIR="$INSTALL_DIR/$CLIENT"
mkdir -p "$INSTALL_DIR"
if [ ! -f "$INSTALL_DIR/$PKG_DIR_REL/package.json" ]; then
  step "installing $CLIENT into $INSTALL_DIR (npm, ~1 min, ~210-270 MB)"
  [ -f "$INSTALL_DIR/package.json" ] || echo '{"name":"bit-e2e-client","version":"1.0.0","private":true}' > "$INSTALL_DIR/package.json"
  # --ignore-scripts: @parcel/watcher's install script builds from source (unneeded; prebuilt binary is an optional dep)
  # --legacy-peer-deps: the @teambit/* helper packages declare peers on @teambit/legacy versions absent from the registry
  (cd "$INSTALL_DIR" && npm install --no-audit --no-fund --ignore-scripts --legacy-peer-deps $NPM_PKGS) \
    || fail "npm install of $CLIENT"
fi

# The package's own bin/bit.js requires the Harmony app (@teambit/bit + ~60 @teambit/* aspects of the
# same release) which cannot be installed; this entry runs the package's legacy CLI directly.
cat > "$INSTALL_DIR/bit-legacy.js" <<'EOF_SHIM'
#!/usr/bin/env node
/* Minimal legacy (non-Harmony) `bit` CLI entry for bit-bin 14.8.9-dev.2xx and @teambit/legacy 1.0.x.
 *
 * Why: the package's own bin/bit.js does require('../node_modules/@teambit/bit/dist/app') (the Harmony
 * app), whose @teambit/* aspect packages of the matching version are not on the registry mirror.
 * All legacy commands (init/add/tag/remote/import/...) and the whole network layer (ssh/file/http)
 * live in the bit-bin / @teambit/legacy package itself, so this file wires them up:
 *   - registers the legacy command list (dist/cli/command-registry-builder) on commander 2.x
 *   - re-creates `bit export` (moved to a Harmony aspect) on top of dist/api/consumer/lib/export
 *   - installs the few hooks Harmony aspects normally register (legacy workspace config loader,
 *     DependencyResolver.getCoreAspectsPackagesAndIds, Scope.onPrePersist)
 * Env: BIT_BIN_DIR = directory of the bit-bin (or @teambit/legacy) package.
 */
const path = require('path');

const pkgDir = process.env.BIT_BIN_DIR;
if (!pkgDir) { console.error('BIT_BIN_DIR not set'); process.exit(2); }
const req = (p) => require(path.join(pkgDir, p));
const tryReq = (p) => { try { return req(p); } catch (e) { if (e.code === 'MODULE_NOT_FOUND') return undefined; throw e; } };

// args after a standalone `--` go to the package manager (as in bit-bin 14.8.8's app.js)
const dd = process.argv.indexOf('--');
const PM_ARGS = dd === -1 ? [] : process.argv.slice(dd + 1);
if (dd !== -1) process.argv = process.argv.slice(0, dd);

const errMod = tryReq('dist/cli/command-runner') || tryReq('dist/cli/handle-errors');
const handleErrorAndExit = async (err, name) => {
  if (errMod && errMod.handleErrorAndExit) return errMod.handleErrorAndExit(err, name);
  console.error(err); process.exit(1);
  return undefined;
};
process.on('uncaughtException', (err) => { console.error('uncaughtException', err); process.exit(1); });
process.on('unhandledRejection', (err) => handleErrorAndExit(err instanceof Error ? err : new Error(String(err)), process.argv[2]));

function camelCase(s) { return s.replace(/-([a-z])/g, (m, c) => c.toUpperCase()); }
function optName(spec) { return spec.split(' ')[0]; }

function makeExportCmd() {
  const exportAction = req('dist/api/consumer/lib/export').default;
  return {
    name: 'export [remote] [id...]',
    description: 'export components to a remote scope (legacy export, re-created by the shim)',
    alias: 'e',
    opts: [
      ['e', 'eject', 'replaces the exported components from the local scope with the corresponding packages'],
      ['a', 'all', 'export all components include non-staged'],
      ['d', 'include-dependencies', "include the component's dependencies as part of the export to the remote scope"],
      ['s', 'set-current-scope', "ensure the component's remote scope is set according to the target location"],
      ['r', 'rewire', 'when exporting to a different or new scope, replace import/require statements'],
      ['', 'all-versions', 'export not only staged versions but all of them'],
      ['f', 'force', 'force changing a component remote without asking for a confirmation'],
      ['', 'resume <id>', 'resume a failed export (export-id suggested by the failure message)'],
    ],
    loader: true,
    migration: true,
    remoteOp: true,
    async action([remote, ids], { eject = false, includeDependencies = false, setCurrentScope = false, all = false,
      allVersions = false, force = false, rewire = false, resume }) {
      if (remote === '@this') remote = '';
      const results = await exportAction({ ids: ids || [], remote, eject, includeDependencies, setCurrentScope,
        includeNonStaged: all || allVersions, allVersions: allVersions || all, codemod: rewire, force,
        resumeExportId: resume });
      return { ...results, remote };
    },
    report({ componentsIds, nonExistOnBitMap, missingScope, remote }) {
      const ids = (a) => (a || []).map((id) => id.toString());
      if (!ids(componentsIds).length && !ids(nonExistOnBitMap).length && !ids(missingScope).length) return 'nothing to export';
      let out = '';
      if (ids(missingScope).length) out += `the following component(s) were not exported: ${ids(missingScope).join(', ')}.\nplease specify <remote> to export them, or set a "defaultScope" in your workspace config\n`;
      if (ids(nonExistOnBitMap).length) out += `${ids(nonExistOnBitMap).join(', ')}\nexported successfully (not tracked in .bitmap)\n`;
      if (ids(componentsIds).length) out += remote ? `exported ${ids(componentsIds).length} components to scope ${remote}` : `exported the following ${ids(componentsIds).length} component(s):\n${ids(componentsIds).join('\n')}`;
      return out;
    },
  };
}

function makeTagCmd() {
  // `bit tag` moved to a Harmony aspect in @teambit/legacy 1.0.x; minimal re-creation on tagAction
  const { tagAction } = req('dist/api/consumer/lib/tag');
  return {
    name: 'tag [id] [version]',
    description: 'record component changes and lock versions (legacy tag, re-created by the shim)',
    alias: 't',
    opts: [['m', 'message <message>', 'log message'], ['a', 'all [version]', 'tag all new and modified components'],
      ['p', 'patch', 'increment the patch version number'], ['', 'minor', 'increment the minor version'], ['', 'major', 'increment the major version'],
      ['f', 'force', 'force-tag'], ['', 'skip-tests', 'skip running component tests'], ['', 'skip-auto-tag', 'skip auto tagging dependents'],
      ['i', 'ignore-unresolved-dependencies', 'ignore missing dependencies']],
    migration: true,
    remoteOp: true,
    async action([id, version], { message = '', all = false, patch, minor, major, force = false, skipTests = false,
      skipAutoTag = false, ignoreUnresolvedDependencies = false }) {
      if (!id && !all) throw new Error('missing [id]. to tag all components, please use --all flag');
      const releaseType = major ? 'major' : minor ? 'minor' : 'patch';
      const exactVersion = typeof all === 'string' ? all : version;
      return tagAction({ id, ids: id ? [id] : [], all, message, exactVersion, releaseType, force, verbose: false,
        ignoreUnresolvedDependencies, ignoreIssues: ignoreUnresolvedDependencies ? '*' : undefined, ignoreNewestVersion: false,
        skipTests, skipAutoTag, build: true, soft: false, persist: false, includeImported: false, disableDeployPipeline: true });
    },
    report(results) {
      if (!results) return 'nothing to tag';
      const tagged = results.taggedComponents || [];
      return `${tagged.length} component(s) tagged\n${tagged.map((c) => `     > ${c.id.toString()}`).join('\n')}`;
    },
  };
}

function installHarmonyHooks() {
  // @teambit/config normally registers these and wraps the legacy bit.json/package.json config into
  // an ILegacyWorkspaceConfig (see its WorkspaceConfig.toLegacy()); do the same, legacy-only.
  const LWC = req('dist/consumer/config/workspace-config').default;
  const toLegacy = (lc) => {
    if (!lc) return lc;
    let dir = lc.componentsDefaultDirectory;
    if (dir && !dir.includes('{name}')) dir = `${dir}/{name}`;
    return {
      lang: lc.lang || 'javascript',
      defaultScope: lc.defaultScope,
      _useWorkspaces: lc.useWorkspaces,
      dependencyResolver: { packageManager: lc.packageManager, extraArgs: lc.packageManagerArgs,
        packageManagerProcessOptions: lc.packageManagerProcessOptions, manageWorkspaces: lc.manageWorkspaces, useWorkspaces: lc.useWorkspaces },
      packageManager: lc.packageManager,
      _bindingPrefix: lc.bindingPrefix,
      _distEntry: lc.distEntry,
      _distTarget: lc.distTarget,
      _saveDependenciesAsComponents: lc.saveDependenciesAsComponents,
      _dependenciesDirectory: lc.dependenciesDirectory,
      componentsDefaultDirectory: dir,
      _resolveModules: lc.resolveModules,
      _manageWorkspaces: lc.manageWorkspaces,
      defaultOwner: lc.bindingPrefix,
      extensions: {},
      path: lc.path,
      _getEnvsByType: (type) => (type === 'compiler' ? lc.compiler : lc.tester),
      isLegacy: true,
      write: ({ workspaceDir }) => lc.write({ workspaceDir }),
      toVinyl: (workspaceDir) => lc.toVinyl({ workspaceDir }),
      componentsConfig: lc.overrides,
      getComponentConfig: lc.overrides.getOverrideComponentData.bind(lc.overrides),
      _legacyPlainObject: lc.toPlainObject.bind(lc),
      _compiler: lc.compiler,
      _setCompiler: (c) => lc.setCompiler(c),
      _tester: lc.tester,
      _setTester: (t) => lc.setTester(t),
    };
  };
  LWC.registerOnWorkspaceConfigIsExist((p) => LWC._isExist(p));
  LWC.registerOnWorkspaceConfigLoading(async (p) => toLegacy(await LWC._loadIfExist(p)));
  LWC.registerOnWorkspaceConfigEnsuring(async (p, standAlone, props) => toLegacy(await LWC._ensure(p, standAlone, props)));
  const DR = req('dist/consumer/component/dependencies/dependency-resolver/dependencies-resolver').default;
  DR.getCoreAspectsPackagesAndIds = () => ({});
  const LegacyScope = req('dist/scope/scope').default;
  if (!LegacyScope.onPrePersist) LegacyScope.onPrePersist = async () => {};
}

async function runCommand(cmd, params, flags) {
  const logger = req('dist/logger/logger').default;
  const loaderMod = tryReq('dist/cli/loader');
  const loader = loaderMod && loaderMod.default;
  const globalFlags = req('dist/cli/global-flags').default;
  logger.info(`[*] started a new command: "${cmd.name}" with the following data:`, { args: params, flags });
  if (flags.token) globalFlags.token = String(flags.token);
  if (cmd.loader && !flags.json && loader) { loader.on(); logger.shouldWriteToConsole = true; } else { logger.shouldWriteToConsole = false; }
  if (flags.log) logger.switchToConsoleLogger(typeof flags.log === 'string' ? flags.log : undefined);
  if (cmd.migration) { const c = tryReq('dist/consumer'); if (c && c.migrate) await c.migrate(null, false); }
  const res = await cmd.action(params, flags, PM_ARGS);
  let data = res; let code = 0;
  if (res && res.__code !== undefined) { data = res.data; code = res.__code; }
  if (loader) loader.off();
  const out = flags.json ? JSON.stringify(data, null, 2) : cmd.report(data, params, flags);
  await new Promise((r) => process.stdout.write(`${out}\n`, r));
  await logger.exitAfterFlush(code, cmd.name);
}

function register(cmd, program) {
  const concrete = program.command(cmd.name, null, { noHelp: cmd.private }).description(cmd.description || '');
  if (cmd.alias) concrete.alias(cmd.alias);
  const opts = [...(cmd.opts || [])];
  if (cmd.remoteOp) opts.push(['', 'token <token>', 'authentication token']);
  if (!cmd.internal) opts.push(['', 'log [level]', 'print log messages to the screen']);
  opts.forEach(([alias, name, desc]) => concrete.option(alias ? `-${alias}, --${name}` : `--${name}`, desc));
  const getFlags = (c, list) => {
    const f = {};
    list.forEach(([, name]) => {
      const n = optName(name);
      if (n.startsWith('no-')) f[camelCase(n)] = !c[camelCase(n.replace('no-', ''))];
      else f[camelCase(n)] = c[camelCase(n)];
    });
    return f;
  };
  (cmd.commands || []).forEach((sub) => { sub.opts = [...(sub.opts || [])]; });
  concrete.action((...args) => {
    const c = args[args.length - 1];
    let params = args.slice(0, args.length - 1);
    let target = cmd;
    let list = opts;
    if (cmd.commands && cmd.commands.length && typeof params[0] === 'string') {
      const sub = cmd.commands.find((s) => optName(s.name) === params[0] || (s.alias && s.alias === params[0]));
      if (sub) { target = sub; params = params.slice(1); list = [...opts, ...(sub.opts || [])]; }
    }
    runCommand(target, params, getFlags(c, list)).catch((err) => handleErrorAndExit(err.originalError || err, process.argv[2]));
  });
  // sub-command options must be known to commander too
  (cmd.commands || []).forEach((sub) => (sub.opts || []).forEach(([alias, name, desc]) => {
    try { concrete.option(alias ? `-${alias}, --${name}` : `--${name}`, desc); } catch (e) { /* dup */ }
  }));
}

(async () => {
  try {
    await req('dist/bootstrap').bootstrap();
    installHarmonyHooks();
    const commander = require(require.resolve('commander', { paths: [pkgDir] }));
    const registerCommands = req('dist/cli/command-registry-builder').default;
    const registry = registerCommands([]);
    const version = registry.version || req('package.json').version;
    if (!registry.commands.find((c) => c.name.startsWith('export '))) registry.commands.push(makeExportCmd());
    if (!registry.commands.find((c) => c.name.startsWith('tag '))) registry.commands.push(makeTagCmd());
    commander.version(version).usage(registry.usage || '[--version] [--help] <command> [<args>]').description(registry.description || 'bit');
    registry.commands.forEach((c) => register(c, commander));
    commander.on('command:*', () => { console.error(`unknown command ${process.argv[2]}`); process.exit(1); });
    if (process.argv.length <= 2) commander.help();
    commander.parse(process.argv);
  } catch (err) {
    await handleErrorAndExit(err.originalError || err, process.argv[2]);
  }
})();
EOF_SHIM
cat > "$INSTALL_DIR/bit" <<EOF_WRAP
#!/bin/sh
BIT_BIN_DIR="$INSTALL_DIR/$PKG_DIR_REL" exec node "$INSTALL_DIR/bit-legacy.js" "\$@"
EOF_WRAP
chmod +x "$INSTALL_DIR/bit"
BIT="$INSTALL_DIR/bit"
# E2E_INSTALL_ONLY=1: only install the client (tests/cli/*.sh then use $INSTALL_DIR/bit)
[ "${E2E_INSTALL_ONLY:-0}" = 1 ] && { echo "$BIT"; exit 0; }

# ---------------------------------------------------------------- isolated environment
TMP="$(mktemp -d -t bit-e2e.XXXXXX)"
cleanup() { if [ "${KEEP_TMP:-0}" != 1 ]; then rm -rf "$TMP"; else echo "kept $TMP"; fi; }
trap cleanup EXIT
export HOME="$TMP/home"          # bit's global config/logs live in $HOME/Library/Caches/Bit on linux too
mkdir -p "$HOME"
unset BIT_TOKEN_FLAG; TOKEN_ARGS=()
if [ -n "${BIT_TOKEN:-}" ]; then TOKEN_ARGS=(--token "$BIT_TOKEN"); fi
run() { echo "+ bit $*"; "$BIT" "$@" 2>&1 | grep -v 'running bit as root' ; return "${PIPESTATUS[0]}"; }

step "client: $("$BIT" --version 2>/dev/null | tail -1)"
run config set analytics_reporting false >/dev/null || fail "config analytics"
run config set error_reporting false >/dev/null || fail "config error_reporting"
# remote add has no --token flag: it reads the token from the config
if [ -n "${BIT_TOKEN:-}" ]; then run config set user.token "$BIT_TOKEN" >/dev/null || fail "config user.token"; fi

NAME="e2e-$(date +%s)-$$"
CONTENT1="module.exports = function () { return 'bit e2e $NAME v1'; };"
CONTENT2="module.exports = function () { return 'bit e2e $NAME v2 (utf8: héllo)'; };"

# ---------------------------------------------------------------- workspace 1: create, tag, export
W1="$TMP/ws1"; mkdir -p "$W1/components/$NAME"; cd "$W1"
echo '{"name":"ws1","version":"1.0.0"}' > package.json
printf '%s\n' "$CONTENT1" > "components/$NAME/index.js"
run init || fail "bit init"
run add "components/$NAME" || fail "bit add"
run tag --all 1.0.0 -m "e2e first" || fail "bit tag 1.0.0"

step "remote add $URL (POST /graphql {scope{name}})"
OUT="$(run remote add "$URL")" || { echo "$OUT"; fail "bit remote add"; }
echo "$OUT"
SCOPE="$(printf '%s\n' "$OUT" | sed -n "s/.*added remote scope '\([^']*\)'.*/\1/p")"
[ -n "$SCOPE" ] || fail "could not read scope name from 'bit remote add' output"
if [ -n "${BIT_SCOPE:-}" ] && [ "$SCOPE" != "$BIT_SCOPE" ]; then fail "server says scope '$SCOPE', expected '$BIT_SCOPE'"; fi

step "export $NAME@1.0.0 to $SCOPE (put, ExportValidate, ExportPersist[, FetchMissingDeps])"
run export "$SCOPE" "$NAME" "${TOKEN_ARGS[@]}" || fail "bit export (1.0.0)"
grep -q "\"$SCOPE/$NAME@1.0.0\"" .bitmap || fail ".bitmap was not updated to $SCOPE/$NAME@1.0.0 after export"

# ---------------------------------------------------------------- workspace 2: import, verify
W2="$TMP/ws2"; mkdir -p "$W2"; cd "$W2"
echo '{"name":"ws2","version":"1.0.0"}' > package.json
run init || fail "bit init (ws2)"
run remote add "$URL" || fail "bit remote add (ws2)"
step "import $SCOPE/$NAME (POST /api/scope/fetch)"
run import "$SCOPE/$NAME" --skip-npm-install "${TOKEN_ARGS[@]}" || fail "bit import"
F2="$W2/components/$NAME/index.js"
[ -f "$F2" ] || fail "imported file missing: components/$NAME/index.js"
[ "$(cat "$F2")" = "$CONTENT1" ] || fail "imported content differs: got '$(cat "$F2")'"
grep -q "\"$SCOPE/$NAME@1.0.0\"" .bitmap || fail "ws2 .bitmap lacks $SCOPE/$NAME@1.0.0"

# ---------------------------------------------------------------- second version: incremental export + re-import
cd "$W1"
printf '%s\n' "$CONTENT2" > "components/$NAME/index.js"
run tag "$NAME" 1.0.1 -m "e2e second" || fail "bit tag 1.0.1"
step "export $NAME@1.0.1 (incremental put: Component + new Version + new Source)"
run export "$SCOPE" "$NAME" "${TOKEN_ARGS[@]}" || fail "bit export (1.0.1)"

W3="$TMP/ws3"; mkdir -p "$W3"; cd "$W3"
echo '{"name":"ws3","version":"1.0.0"}' > package.json
run init >/dev/null || fail "bit init (ws3)"
run remote add "$URL" >/dev/null || fail "bit remote add (ws3)"
run import "$SCOPE/$NAME" --skip-npm-install "${TOKEN_ARGS[@]}" || fail "bit import (latest)"
[ "$(cat "$W3/components/$NAME/index.js")" = "$CONTENT2" ] || fail "latest import content differs"
grep -q "\"$SCOPE/$NAME@1.0.1\"" .bitmap || fail "ws3 .bitmap lacks $SCOPE/$NAME@1.0.1"

cd "$W2"
step "import of a specific old version in ws2: $SCOPE/$NAME@1.0.0 still served"
run import "$SCOPE/$NAME@1.0.0" --skip-npm-install --override "${TOKEN_ARGS[@]}" || fail "bit import @1.0.0"
[ "$(cat "$F2")" = "$CONTENT1" ] || fail "content of 1.0.0 differs after re-import"

step "remote listing (graphql _legacyList) contains the component"
OUT="$(run list "$SCOPE")" || { echo "$OUT"; fail "bit list <remote>"; }
printf '%s\n' "$OUT" | grep -q "$SCOPE/$NAME" || { echo "$OUT"; fail "remote list lacks $SCOPE/$NAME"; }

step "negative: importing a missing component fails cleanly"
if run import "$SCOPE/does-not-exist-$NAME" --skip-npm-install "${TOKEN_ARGS[@]}"; then fail "import of a missing component succeeded"; fi

echo "E2E OK: client=$CLIENT server=$URL scope=$SCOPE component=$SCOPE/$NAME (1.0.0, 1.0.1)"
