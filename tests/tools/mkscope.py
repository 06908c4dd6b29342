#!/usr/bin/env python3
"""mkscope.py: a synthetic but valid `bit export` workload for one remote scope.

Writes the objects a bit-bin 14.8.9-dev.283 ("bitbin283") workspace would export for N legacy
components, encoded as Bit encodes them, so any remote-scope server can be benchmarked on it:

  OUT/put.tar            the put body (or put-01.tar ... put-K.tar with --batches K; each batch
                         only depends on itself and earlier batches, so export them in order)
  OUT/ids.txt            one component id per line (`scope/name`), in export order
  OUT/manifest.json      parameters, totals, and per component: versions, deps, fetch closure
  OUT/typical-fetch.tar  the fetch reply (plain tar) of the component whose reply size is closest
                         to the mean over all components: the constant a "ceiling" server returns

Objects (see protocol.md section 6 and the captured real traffic of the Bit CLI):
  * each object is zlib(deflate, level 6) of b"<Type> <hash> <len>\\0" + payload, where <len> is
    the JS string length (UTF-16 code units) of the payload;
  * Component: {"name","scope","versions","lang","deprecated","bindingPrefix","remotes"},
    hash = sha1("<scope>/<name>"); legacy components have no `head`;
  * Version: the key order and fields of bitbin283's Version.toObject(), `parents: []` (legacy
    tags form no DAG); hash = sha1 of the old-era Version.id() canonical JSON (the rule every
    captured Version follows); `--version-hash random` uses sha1(random) instead;
  * Source: the raw file bytes, hash = sha1(bytes).
Tar: ustar as tar-stream 2.x writes it (mode 0644, uid/gid 0, empty uname/gname, entries named
by the 40-hex hash, two zero blocks at the end, no padding to 10 KiB).

Workload shape: component i has 1..V versions (tags 1.0.0, 1.0.1, ...) and 1..F files; the first
version creates the files, every later version changes one file. Source sizes: most in
--small, a --large-frac share in --large. Large sources are code like the small ones (deflate
about 3:1), or with --large-content bundle built bundles: stretches of code between inlined
base64 assets (about 1.5:1, and much faster to generate: what a 1 GB put needs). A --dep-frac
share of the components depends on 1..--max-deps earlier components (pinned to their latest
tag), with at most --max-flat flattened dependencies. --batch-sizes splits the put at given
component counts (e.g. 1000,33000,33000,33000: a scope measured at 1,000 components, then grown).
Everything derives from --seed: the same arguments give the same bytes. Large objects are kept
in a scratch file under OUTDIR while generating, not in memory.

usage: mkscope.py --scope myorg.myscope -n 1000 --seed 1 -o OUTDIR

This is the project's own copy of the benchmark's generator (shared/bench/mkscope.py): the same
arguments give the same bytes as that one, so workloads of the tests and the bench compare. It
is only faster (source_text draws its random numbers without Random.choice/randint's overhead,
which consumes the generator identically).
"""
import argparse
import base64
import concurrent.futures
import hashlib
import json
import os
import random
import sys
import tempfile
import zlib

SCOPE_DEFAULT = "myorg.myscope"
NAMESPACES = ["", "", "ui", "ui/forms", "utils", "hooks", "services", "core", "data/models"]
EXTRA_FILES = [("lib/helpers.js", False), ("constants.js", False), ("index.spec.js", True),
               ("styles.css", False), ("types.js", False), ("lib/format.js", False),
               ("README.md", False)]
NPM_PACKAGES = {"lodash": "^4.17.21", "react": "^17.0.1", "classnames": "^2.2.6",
                "date-fns": "^2.16.1", "uuid": "^8.3.2"}
WORDS = ("alpha beta gamma delta value item list map node tree user order cart price total "
         "count index key data state props event handler button input form field label theme "
         "color size style format parse render update create remove fetch load save cache "
         "token query result error config option filter sort group merge split join trim "
         "range start end next prev first last child parent root path name id type kind").split()
OPS = ["+", "-", "*", "<", ">", "===", "!==", "&&", "||"]


# ---------------------------------------------------------------- encoding

def sha1(data):
    return hashlib.sha1(data).hexdigest()


def js_length(payload):
    """Bit's header size: payload.toString().length, i.e. UTF-16 code units."""
    return len(payload.decode("utf-8", "replace").encode("utf-16-le")) // 2


def encode_object(typ, ref, payload):
    header = f"{typ} {ref} {js_length(payload)}".encode()
    return zlib.compress(header + b"\0" + payload, 6)


def js_json(obj):
    """JSON.stringify(obj) for the plain data used here."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def tar_header(name, size, mtime):
    """One ustar header block as tar-stream 2.x writes it."""
    def octal(value, width):  # tar-stream's encodeOct: zero-padded digits followed by a space
        return (oct(value)[2:].rjust(width, "0") + " ").encode()
    h = bytearray(512)
    h[0:len(name)] = name.encode()
    h[100:108] = octal(0o644, 6) + b"\0"
    h[108:116] = octal(0, 6) + b"\0"
    h[116:124] = octal(0, 6) + b"\0"
    h[124:136] = octal(size, 11)
    h[136:148] = octal(mtime, 11)
    h[156:157] = b"0"
    h[257:265] = b"ustar\x0000"
    h[329:337] = octal(0, 6) + b"\0"
    h[337:345] = octal(0, 6) + b"\0"
    checksum = sum(h[:148]) + 8 * 32 + sum(h[156:])
    h[148:155] = octal(checksum, 6)
    return bytes(h)


def tar_size(sizes):
    return 1024 + sum(512 + (n + 511) // 512 * 512 for n in sizes)


def write_tar(path, entries, mtime):
    """entries: iterable of (hash, compressed bytes). Returns the tar size in bytes."""
    size = 0
    with open(path, "wb") as f:
        for ref, data in entries:
            pad = (512 - len(data) % 512) % 512
            f.write(tar_header(ref, len(data), mtime) + data + b"\0" * pad)
            size += 512 + len(data) + pad
        f.write(b"\0" * 1024)
    return size + 1024


class ObjectStore:
    """hash -> compressed object. Objects of SPILL bytes or more go to a scratch file in
    `spill_dir`, so that a 1 GB workload need not fit in memory; large payloads are compressed
    on a second thread (zlib lets go of the GIL), as deflate is most of a large workload's time."""
    SPILL = 256 * 1024

    def __init__(self, spill_dir):
        self.spill_dir, self.spill = spill_dir, None
        self.small, self.where, self.types = {}, {}, {}  # where: hash -> (offset, size) in spill
        self.workers, self.pending = None, []

    def add_payload(self, ref, typ, payload):
        """add(ref, typ, encode_object(typ, ref, payload)), in the background when it is large."""
        if ref in self.types:
            return
        if len(payload) < self.SPILL:
            self.add(ref, typ, encode_object(typ, ref, payload))
            return
        if self.workers is None:
            self.workers = concurrent.futures.ThreadPoolExecutor(max_workers=2)
        self.types[ref] = typ
        self.pending.append((ref, self.workers.submit(encode_object, typ, ref, payload)))
        if len(self.pending) > 4:  # bounds the memory held by payloads in flight
            done, future = self.pending.pop(0)
            self.add(done, self.types[done], future.result())

    def flush(self):
        for ref, future in self.pending:
            self.add(ref, self.types[ref], future.result())
        self.pending = []

    def add(self, ref, typ, data):
        self.types[ref] = typ
        if ref in self.small or ref in self.where:
            return
        if len(data) < self.SPILL:
            self.small[ref] = data
            return
        if self.spill is None:
            self.spill = tempfile.TemporaryFile(dir=self.spill_dir, prefix="mkscope-spill-")
        offset = self.spill.seek(0, os.SEEK_END)
        self.spill.write(data)
        self.where[ref] = (offset, len(data))

    def __getitem__(self, ref):
        if ref in self.small:
            return self.small[ref]
        offset, size = self.where[ref]
        self.spill.flush()
        return os.pread(self.spill.fileno(), size, offset)

    def size(self, ref):
        return len(self.small[ref]) if ref in self.small else self.where[ref][1]

    def __len__(self):
        return len(self.types)

    def total_bytes(self):
        return sum(map(len, self.small.values())) + sum(size for _, size in self.where.values())

    def count(self, typ):
        return sum(1 for t in self.types.values() if t == typ)


# ---------------------------------------------------------------- content

def source_text(rng, size, banner):
    """Pseudo JavaScript of about `size` bytes (ends with a newline); compresses like code."""
    lines, n = [banner], len(banner.encode()) + 1
    # rng._randbelow(k) is what rng.choice and rng.randint(0, k - 1) draw: the same sequence,
    # at a third of the cost (this loop makes most of the workload's 50 MB)
    below = rng._randbelow
    nwords, nops = len(WORDS), len(OPS)
    w = lambda: WORDS[below(nwords)]
    op = lambda: OPS[below(nops)]
    while n < size:
        kind = rng.random()
        if kind < 0.12:
            line = f"export function {w()}{w().title()}({w()}, {w()}) {{"
        elif kind < 0.24:
            line = "}"
        elif kind < 0.40:
            line = f"  const {w()}{below(100)} = {w()}.map(({w()}) => {w()}.{w()} {op()} {below(1000)});"
        elif kind < 0.55:
            line = f"  if ({w()} {op()} {w()}.{w()}) return {w()}({w()}, {below(10000)});"
        elif kind < 0.65:
            line = f"  return {{ {w()}: {w()}, {w()}: '{w()}-{w()}', {w()}: {below(100000)} }};"
        elif kind < 0.75:
            line = f"// {w()} the {w()} {w()} before {w()} ({w()} {1 + below(500)})"
        elif kind < 0.85:
            line = f"  throw new Error(`{w()} {w()} is not a valid {w()}: ${{{w()}}}`);"
        else:
            line = f"  {w()}.{w()}.{w()}({w()}, {w()}{below(10)});"
        lines.append(line)
        n += len(line) + 1
    data = ("\n".join(lines) + "\n").encode()
    return data[:size - 1] + b"\n" if len(data) > size else data


def bundle_text(rng, pool, size, banner):
    """A built JavaScript bundle of `size` bytes: stretches of code (whole lines of `pool`, 16-64 KB)
    between inlined assets (base64 of random bytes, 64-192 KB, as bundlers inline images and
    fonts). Each stretch is farther from its twin than deflate's 32 KB window, so it deflates like
    code; the whole about 1.5:1."""
    parts, n, k = [banner.encode() + b"\n"], len(banner.encode()) + 1, 0
    while n < size:
        length = 16384 + rng._randbelow(49152)
        start = pool.find(b"\n", rng._randbelow(len(pool) - length - 1)) + 1
        end = pool.rfind(b"\n", start, start + length) + 1
        asset = base64.b64encode(rng.randbytes(3 * (21846 + rng._randbelow(43690))))
        k += 1
        parts += [pool[start:end], b'export const asset%d = "data:image/png;base64,' % k, asset, b'";\n']
        n += end - start + len(asset) + 48
    data = b"".join(parts)
    return data[:size - 1] + b"\n" if len(data) > size else data


def component_name(rng, i):
    ns = rng.choice(NAMESPACES)
    base = f"{rng.choice(WORDS)}-{rng.choice(WORDS)}-{i:04d}"
    return f"{ns}/{base}" if ns else base


# ---------------------------------------------------------------- model

def version_id(v):
    """bitbin283 Version.id(): the canonical JSON whose sha1 is an old-era tag's hash."""
    deps = lambda ds: [{"id": f"{d['id']['scope']}/{d['id']['name']}@{d['id']['version']}",
                        "relativePaths": d["relativePaths"]} for d in ds]
    obj = {"mainFile": v["mainFile"], "files": v["files"],
           "log": {k: v["log"][k] for k in ("message", "date", "username", "email") if k in v["log"]},
           "dependencies": deps(v["dependencies"]), "devDependencies": deps(v["devDependencies"]),
           "packageDependencies": v["packageDependencies"],
           "devPackageDependencies": v["devPackageDependencies"],
           "peerPackageDependencies": v["peerPackageDependencies"],
           "bindingPrefix": v["bindingPrefix"], "overrides": v["overrides"],
           "extensions": v["extensions"]}
    keep_if_nonempty = {"devDependencies", "devPackageDependencies", "peerPackageDependencies",
                        "overrides", "extensions"}
    return js_json({k: val for k, val in obj.items() if (val if k in keep_if_nonempty else val is not None)})


def make_version(files, main_file, message, date, deps, flat, pkg_deps):
    return {  # key order of bitbin283's Version.toObject()
        "files": files, "mainFile": main_file, "bindingPrefix": "@bit",
        "log": {"message": message, "date": str(date)},
        "ci": {}, "docs": [], "dependencies": deps, "devDependencies": [],
        "flattenedDependencies": flat, "extensions": [], "packageDependencies": pkg_deps,
        "devPackageDependencies": {}, "peerPackageDependencies": {},
        "compilerPackageDependencies": {}, "testerPackageDependencies": {},
        "customResolvedPaths": [], "overrides": {}, "packageJsonChangedProps": {}, "parents": []}


def parse_sizes(text):
    try:
        sizes = [int(x) for x in text.split(",")]
    except ValueError:
        sizes = []
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError(f"bad batch sizes {text!r} (N,N,...: components per put)")
    return sizes


def parse_range(text):
    lo, _, hi = text.partition("-")
    lo, hi = int(lo), int(hi or lo)
    if not 1 <= lo <= hi:
        raise argparse.ArgumentTypeError(f"bad size range {text!r} (MIN-MAX bytes)")
    return lo, hi


def build(args):
    rng = random.Random(args.seed)
    scope = args.scope
    base_ms = 1600000000000 + rng.randrange(10**11)
    objects = ObjectStore(args.out)
    pool = None  # --large-content bundle: the code its bundles are cut from
    comps = []          # per component: id, hash, versions, deps, its objects in put order, ...
    scope_meta = js_json({"name": scope}).encode()
    scope_meta_ref = sha1(scope.encode())
    scope_meta_obj = encode_object("ScopeMeta", scope_meta_ref, scope_meta)

    def new_source(name, path, tag):
        nonlocal pool
        large = rng.random() < args.large_frac
        lo, hi = args.large if large else args.small
        banner = f"/* {scope}/{name}@{tag} {path} */"
        if rng.random() < 0.1:
            banner += "\n// héllo wörld: ünïcode in sources ✓"
        if large and args.large_content == "bundle":
            if pool is None:  # its own generator: the main sequence stays that of --large-content code
                pool = source_text(random.Random(args.seed * 7919 + 1), 4 << 20, "/* bundle */")
            data = bundle_text(rng, pool, rng.randint(lo, hi), banner)
        else:
            data = source_text(rng, rng.randint(lo, hi), banner)
        ref = sha1(data)
        objects.add_payload(ref, "Source", data)
        return ref

    for i in range(args.n):
        name = component_name(rng, i)  # unique: it ends with i
        comp_dir = f"components/{name}"
        main_file = f"{comp_dir}/index.js"
        extra = rng.sample(EXTRA_FILES, rng.randint(1, args.files) - 1)
        paths = [("index.js", False)] + extra
        pkg_deps = dict(rng.sample(sorted(NPM_PACKAGES.items()), rng.randint(1, 2))) if rng.random() < 0.3 else {}

        # direct dependencies on earlier components, keeping the flattened set small
        deps, flat = [], set()
        if i and rng.random() < args.dep_frac:
            for j in rng.sample(range(i), min(i, rng.randint(1, args.max_deps))):
                d = comps[j]
                grown = flat | {j} | d["flat"]
                if len(grown) <= args.max_flat:
                    deps.append(j)
                    flat = grown
        deps.sort()
        dep_objs = [{"id": {"scope": scope, "name": comps[j]["name"], "version": comps[j]["latest"]},
                     "relativePaths": [{"sourceRelativePath": comps[j]["main"],
                                        "destinationRelativePath": comps[j]["main"]}]} for j in deps]
        flat_objs = [{"scope": scope, "name": comps[j]["name"], "version": comps[j]["latest"]}
                     for j in sorted(flat, key=lambda j: comps[j]["name"])]

        n_versions = rng.randint(1, args.versions)
        file_refs = {}
        versions, order, version_sources = {}, [], {}
        date = base_ms + i * 60000
        for k in range(n_versions):
            tag = f"1.0.{k}"
            changed = [p for p, _ in paths] if k == 0 else [rng.choice(paths)[0]]
            new_refs = []
            for p in changed:
                ref = new_source(name, p, tag)
                if ref not in file_refs.values():
                    new_refs.append(ref)
                file_refs[p] = ref
            files = [{"file": file_refs[p], "relativePath": f"{comp_dir}/{p}", "name": p.split("/")[-1],
                      "test": test} for p, test in paths]
            v = make_version(files, main_file, "initial version" if k == 0 else f"update {changed[0]}",
                             date + k * 3600000, dep_objs, flat_objs, pkg_deps)
            payload = js_json(v).encode()
            vref = sha1(version_id(v).encode()) if args.version_hash == "old" else sha1(rng.randbytes(20))
            objects.add(vref, "Version", encode_object("Version", vref, payload))
            versions[tag] = vref
            version_sources[vref] = sorted({f["file"] for f in files})
            order += [vref] + new_refs

        comp = {"name": name, "scope": scope, "versions": versions, "lang": "javascript",
                "deprecated": False, "bindingPrefix": "@bit",
                "remotes": [{"url": args.remote_url, "name": scope, "date": str(date + n_versions * 3600000)}]}
        cref = sha1(f"{scope}/{name}".encode())
        objects.add(cref, "Component", encode_object("Component", cref, js_json(comp).encode()))
        latest = f"1.0.{n_versions - 1}"
        comps.append({"name": name, "id": f"{scope}/{name}", "hash": cref, "main": main_file,
                      "versions": versions, "latest": latest, "deps": deps, "flat": flat,
                      "order": [cref] + order, "version_sources": version_sources})
    objects.flush()
    return comps, objects, (scope_meta_ref, scope_meta_obj)


def closure(comps, c):
    """Objects an old-era server sends for `fetch [c]` with withoutDependencies=false:
    the Component, all its Versions and their Sources, and per flattened dependency its
    Component plus the pinned Version and that Version's Sources (ScopeMeta not included)."""
    refs = [c["hash"]]
    for vref, srcs in c["version_sources"].items():
        refs += srcs + [vref]
    for j in sorted(c["flat"]):
        d = comps[j]
        vref = d["versions"][d["latest"]]
        refs += [d["hash"]] + d["version_sources"][vref] + [vref]
    seen = set()
    return [r for r in refs if not (r in seen or seen.add(r))]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    ap.add_argument("-o", "--out", required=True, help="output directory (created)")
    ap.add_argument("--scope", default=SCOPE_DEFAULT, help="remote scope name")
    ap.add_argument("-n", type=int, default=1000, help="number of components")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--versions", type=int, default=3, help="max versions per component (1..V)")
    ap.add_argument("--files", type=int, default=4, help="max files per component (1..F)")
    ap.add_argument("--small", type=parse_range, default=(1024, 4096), help="MIN-MAX bytes of most sources")
    ap.add_argument("--large", type=parse_range, default=(262144, 2097152), help="MIN-MAX bytes of large sources")
    ap.add_argument("--large-frac", type=float, default=0.01, help="share of sources drawn from --large")
    ap.add_argument("--dep-frac", type=float, default=0.5, help="share of components with dependencies")
    ap.add_argument("--max-deps", type=int, default=3, help="max direct dependencies")
    ap.add_argument("--max-flat", type=int, default=20, help="max flattened dependencies")
    ap.add_argument("--batches", type=int, default=1, help="split the put into K tars (export them in order)")
    ap.add_argument("--batch-sizes", type=parse_sizes, default=None,
                    help="split the put at these component counts instead, e.g. 1000,33000,33000,33000 (sum: -n)")
    ap.add_argument("--large-content", choices=["code", "bundle"], default="code",
                    help="large sources: code (deflates 3:1) or bundles of code and inlined base64 assets (1.5:1)")
    ap.add_argument("--version-hash", choices=["old", "random"], default="old",
                    help="Version hash: old-era sha1(Version.id()) or sha1(random)")
    ap.add_argument("--remote-url", default="http://127.0.0.1:3000", help="url recorded in Component.remotes")
    args = ap.parse_args()
    if args.n < 1 or args.versions < 1 or not 1 <= args.files <= len(EXTRA_FILES) + 1 or args.batches < 1:
        ap.error("need -n >= 1, --versions >= 1, 1 <= --files <= 8, --batches >= 1")
    if args.batch_sizes and sum(args.batch_sizes) != args.n:
        ap.error(f"--batch-sizes add up to {sum(args.batch_sizes)}, not -n {args.n}")

    os.makedirs(args.out, exist_ok=True)
    comps, objects, (meta_ref, meta_obj) = build(args)
    mtime = 1600000000 + args.seed % 10**8

    # put tars: contiguous groups of components in index order (dependencies point backwards)
    if args.batch_sizes:
        k, bounds = len(args.batch_sizes), [0]
        for size in args.batch_sizes:
            bounds.append(bounds[-1] + size)
    else:
        k = min(args.batches, args.n)
        bounds = [round(b * args.n / k) for b in range(k + 1)]
    batches = []
    for b in range(k):
        group = comps[bounds[b]:bounds[b + 1]]
        refs, seen = [], set()
        for c in group:
            refs += [r for r in c["order"] if not (r in seen or seen.add(r))]
        fname = "put.tar" if k == 1 else f"put-{b + 1:02d}.tar"
        size = write_tar(os.path.join(args.out, fname), ((r, objects[r]) for r in refs), mtime)
        batches.append({"file": fname, "components": len(group), "objects": len(refs), "tar_bytes": size,
                        "versions": sum(len(c["versions"]) for c in group)})

    with open(os.path.join(args.out, "ids.txt"), "w") as f:
        f.writelines(c["id"] + "\n" for c in comps)

    closures = [closure(comps, c) for c in comps]
    sizes = [tar_size([len(meta_obj)] + [objects.size(r) for r in cl]) for cl in closures]
    mean = sum(sizes) / len(sizes)
    typical = min(range(len(comps)), key=lambda i: (abs(sizes[i] - mean), i))
    typical_bytes = write_tar(os.path.join(args.out, "typical-fetch.tar"),
                              [(meta_ref, meta_obj)] + [(r, objects[r]) for r in closures[typical]], mtime)

    # options this copy added are left out at their defaults: the manifest stays shared/bench's
    added = {"batch_sizes": None, "large_content": "code"}
    manifest = {
        "generator": "mkscope.py",
        "args": {k: v for k, v in vars(args).items() if k != "out" and not (k in added and v == added[k])},
        "scope": args.scope, "components": len(comps),
        "versions": sum(len(c["versions"]) for c in comps),
        "objects": len(objects), "object_bytes": objects.total_bytes(),
        "types": {t: objects.count(t) for t in ("Component", "Version", "Source")},
        "batches": batches,
        "fetch_tar_bytes": {"mean": round(mean), "median": sorted(sizes)[len(sizes) // 2], "max": max(sizes)},
        "typical": {"id": comps[typical]["id"], "objects": len(closures[typical]) + 1, "tar_bytes": typical_bytes},
        "scope_meta": meta_ref,
        "list": [{"id": c["id"], "hash": c["hash"], "latest": c["latest"], "versions": c["versions"],
                  "deps": [comps[j]["id"] for j in c["deps"]], "closure": cl, "fetch_tar_bytes": s}
                 for c, cl, s in zip(comps, closures, sizes)],
    }
    with open(os.path.join(args.out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
        f.write("\n")
    tar_total = sum(b["tar_bytes"] for b in batches)
    print(f"mkscope: {args.scope}: {manifest['components']} components, {manifest['versions']} versions, "
          f"{manifest['objects']} objects ({manifest['types']}), put {tar_total / 1e6:.1f} MB in {k} tar(s), "
          f"single fetch reply mean {mean / 1e3:.0f} KB -> {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
