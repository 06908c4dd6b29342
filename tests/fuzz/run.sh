#!/usr/bin/env bash
# `make fuzz`: runs every libFuzzer harness for FUZZ_SECONDS (default 60) each, or until FUZZ_RUNS
# executions if that is set and comes first, one at a time and niced, over a corpus seeded from tests/captures that grows across runs (build/fuzz/corpus).
# A crash is copied into tests/fuzz/regressions/<harness>/, which `make check` replays.
# usage: tests/fuzz/run.sh BUILD_FUZZ_DIR [HARNESS...]
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
dir="$(cd "$1" && pwd)"; shift
secs="${FUZZ_SECONDS:-60}"
runs_opt=()
[ -n "${FUZZ_RUNS:-}" ] && runs_opt=(-runs="$FUZZ_RUNS")
harnesses=("$@")
[ ${#harnesses[@]} -gt 0 ] || harnesses=(fuzz_tar fuzz_object fuzz_request fuzz_graphql fuzz_config fuzz_json)

declare -A max_len=([fuzz_tar]=65536 [fuzz_object]=65536 [fuzz_request]=16384
                    [fuzz_graphql]=16384 [fuzz_config]=8192 [fuzz_json]=16384)
rm -rf "$dir/seeds"
python3 "$here/seeds.py" "$dir/seeds" >/dev/null || exit 1

failed=()
for h in "${harnesses[@]}"; do
  corpus="$dir/corpus/$h" crashes="$dir/crashes/$h" regress="$here/regressions/$h"
  mkdir -p "$corpus" "$crashes" "$regress"
  log="$dir/$h.log"
  nice -n 19 "$dir/$h" -max_total_time="$secs" -max_len="${max_len[$h]:-65536}" \
    -rss_limit_mb=2048 -timeout=20 -print_final_stats=1 -artifact_prefix="$crashes/" "${runs_opt[@]}" \
    "$corpus" "$dir/seeds/$h" "$regress" >"$log" 2>&1
  rc=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1)
  if [ $rc -eq 0 ]; then
    echo "fuzz: $h: ${runs:-?} executions in $(grep -o 'Done [0-9]* runs in [0-9]* second' "$log" | awk '{print $5}' | tail -1) s (${speed:-?}/s), ${cov:-cov: ?}, corpus $(ls "$corpus" | wc -l), no crash"
  else
    echo "fuzz: $h: FAILED (exit $rc) after ${runs:-?} executions; log $log"
    grep -m1 -A12 'ERROR: \|==ERROR\|runtime error' "$log" | sed 's/^/    /'
    for f in "$crashes"/*; do
      [ -f "$f" ] || continue
      cp "$f" "$regress/$(basename "$f")"
      echo "    kept as regression: tests/fuzz/regressions/$h/$(basename "$f")"
    done
    failed+=("$h")
  fi
done
[ ${#failed[@]} -eq 0 ] || { echo "fuzz: crashes in ${failed[*]}"; exit 1; }
