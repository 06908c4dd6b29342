#!/usr/bin/env bash
# make bench: scoped and Bit's reference server (bit-bin 14.8.9-dev.283's own scope code) side
# by side on the same workloads, in one run, with the constant-reply ceiling; ratios printed and
# written as JSON. Not part of make check: figures are for notes, never for pass/fail.
# scoped also gets the scopes of the big and scale phases (myorg.big: a 1 GB export of large
# files; myorg.scale: fetch latency at 1,000 and at 100,000 components); the reference server
# serves one scope and would need far more than make bench's budget for them: it shows "-".
# usage: tests/bench/run.sh SCOPED_BINARY [bench.sh options...]   (env: BENCH_OUT, default build/bench)
set -euo pipefail
start=$(date +%s)
here="$(cd "$(dirname "$0")" && pwd)"
bin="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
shift
out="${BENCH_OUT:-$here/../../build/bench}"
mkdir -p "$out"
command -v wrk >/dev/null || { echo "bench: installing wrk"; ${SUDO:-} apt-get install -y -qq wrk; }

eval "$(SCOPE=myorg.myscope "$here/serve-ref.sh" | sed 's/^REF_/A_/')"
D="$(mktemp -d -t scopedbench.XXXXXX)"
cleanup() { kill "$A_PID" "${B_PID:-}" 2>/dev/null || true; rm -rf "$A_DIR" "$D"; }
trap cleanup EXIT
for scope in myorg.myscope myorg.big myorg.scale; do "$bin" --data "$D/data" scope create "$scope"; done
"$bin" --data "$D/data" user add bench --admin
TOKEN_B="$("$bin" --data "$D/data" token create bench --name bench)"
"$bin" --data "$D/data" serve --listen 127.0.0.1:0 2>"$D/scoped.log" &
B_PID=$!
for _ in $(seq 1 100); do
  port="$(sed -n 's/.*msg="scoped serving".* port=\([0-9]*\).*/\1/p' "$D/scoped.log" | head -1)"
  [ -n "$port" ] && break
  sleep 0.1
done
[ -n "$port" ] || { cat "$D/scoped.log"; exit 1; }
stamp="$(date -u +%Y%m%dT%H%M%SZ)"
TOKEN_B="$TOKEN_B" PID_A="$A_PID" PID_B="$B_PID" "$here/bench.sh" --ceiling auto \
  --json "$out/bench-$stamp.json" "$@" "$A_URL" "http://127.0.0.1:$port/myorg.myscope" | tee "$out/bench-$stamp.txt"
echo "bench: table in $out/bench-$stamp.txt, JSON in $out/bench-$stamp.json; $(( $(date +%s) - start )) s in all"
