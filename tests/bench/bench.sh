#!/usr/bin/env bash
# bench.sh: side-by-side benchmark of Bit remote-scope HTTP servers, e.g. scoped (A) against Bit's
# reference server (B, see serve-ref.sh). Prints one table (A, B, B/A) and can write it as JSON.
#
# usage: bench.sh [options] URL_A [URL_B]
#   URL_A/URL_B  remote URLs as given to `bit remote add`, path prefix included: the client appends
#                /graphql and /api/scope/{put,fetch,action}. The scope name comes from {scope{name}}.
#                The export phase exports the workload into each scope, so start with empty scopes.
# options:
#   -n N              components in the workload (default 1000)
#   --seed S          workload seed (default 1)
#   --batches K       export in K put+validate+persist rounds instead of one (default 1)
#   --phases LIST     comma list of export,import,fetch,graphql (default: all four)
#   --reps R|auto     repetitions of the import phase after a first "cold" round, alternating A and B;
#                     median shown (default auto: 3 for N >= 1000, about 3000/N up to 15 below)
#   --export-order AB|BA  which side exports first (default AB): swap it to check order effects
#   --conns "C ..."   wrk connection counts for fetch and graphql (default "16 64")
#   --duration S      seconds per wrk run (default 10)
#   --wrk-reps R      repetitions of each wrk run, alternating A and B (default 1; median shown)
#   --threads T       wrk threads (default 2)
#   --ceiling auto|URL  also run fetch and graphql against ceiling.c: "auto" builds it (gcc,
#                     libmicrohttpd) and serves the workload's typical-fetch.tar; URL: one you started
#   --req-timeout S   give up on a put, action or fetch request after S seconds (default 600)
#   --json FILE       also write the table as JSON
#   --work DIR        workload cache and scratch space (default ${TMPDIR:-/tmp}/scoped-bench)
# env:
#   PID_A, PID_B      server process ids: peak RSS (VmHWM, reset at start when permitted) and
#                     server CPU time (utime+stime of that process)
#   TOKEN_A, TOKEN_B  API tokens, sent as "Authorization: Bearer TOKEN" on every request (the
#                     token needs export rights: developer or admin)
#   MKSCOPE_ARGS      extra mkscope.py options, e.g. "--versions 5 --large-frac 0.02"
#   KEEP=1            keep this run's scratch directory (fetched tars, wrk output)
# Needs: bash, curl, wrk, python3 (and gcc + libmicrohttpd-dev for --ceiling auto).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
UTIL="$HERE/benchutil.py"
N=1000 SEED=1 BATCHES=1 PHASES=export,import,fetch,graphql REPS=auto CONNS="16 64" DURATION=10 THREADS=2
WRK_REPS=1 EXPORT_ORDER=AB REQ_TIMEOUT=600
CEILING="" JSON="" WORK="${TMPDIR:-/tmp}/scoped-bench"
URLS=()

die() { echo "bench.sh: $*" >&2; exit 1; }
log() { echo "bench.sh: $*" >&2; }
usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2; }

while [ $# -gt 0 ]; do
  case "$1" in
    -n) N="$2"; shift 2 ;;
    --seed) SEED="$2"; shift 2 ;;
    --batches) BATCHES="$2"; shift 2 ;;
    --phases) PHASES="$2"; shift 2 ;;
    --reps) REPS="$2"; shift 2 ;;
    --export-order) EXPORT_ORDER="$2"; shift 2 ;;
    --conns) CONNS="$2"; shift 2 ;;
    --duration) DURATION="$2"; shift 2 ;;
    --wrk-reps) WRK_REPS="$2"; shift 2 ;;
    --threads) THREADS="$2"; shift 2 ;;
    --ceiling) CEILING="$2"; shift 2 ;;
    --req-timeout) REQ_TIMEOUT="$2"; shift 2 ;;
    --json) JSON="$2"; shift 2 ;;
    --work) WORK="$2"; shift 2 ;;
    -h|--help) usage ;;
    -*) die "unknown option $1 (see --help)" ;;
    *) URLS+=("${1%/}"); shift ;;
  esac
done
if [ ${#URLS[@]} -lt 1 ] || [ ${#URLS[@]} -gt 2 ]; then usage; fi
for tool in curl wrk python3; do
  command -v "$tool" >/dev/null || die "$tool is missing (Debian: apt-get install -y curl wrk python3)"
done
if [ "$REPS" = auto ]; then REPS=$(( N >= 1000 ? 3 : (3000 + N - 1) / N )); [ "$REPS" -le 15 ] || REPS=15; fi
case "$EXPORT_ORDER" in AB|BA) ;; *) die "--export-order must be AB or BA" ;; esac
has_phase() { case ",$PHASES," in *",$1,"*) return 0 ;; *) return 1 ;; esac; }

declare -A URL PID SCOPE WL TOKEN
SIDES=(A)
URL[A]="${URLS[0]}"; PID[A]="${PID_A:-}"; TOKEN[A]="${TOKEN_A:-}"
if [ ${#URLS[@]} = 2 ]; then SIDES+=(B); URL[B]="${URLS[1]}"; PID[B]="${PID_B:-}"; TOKEN[B]="${TOKEN_B:-}"; fi

mkdir -p "$WORK"
RUN="$(mktemp -d "$WORK/run.XXXXXX")"
RES="$RUN/results.jsonl"
CEIL_PID=""
cleanup() {
  if [ -n "$CEIL_PID" ]; then kill "$CEIL_PID" 2>/dev/null || true; fi
  if [ "${KEEP:-0}" = 1 ]; then log "kept $RUN"; else rm -rf "$RUN"; fi
}
trap cleanup EXIT

# ---------------------------------------------------------------- helpers
calc() { awk "BEGIN { printf \"%.6g\", $1 }"; }
# record KEY SIDE VALUE LABEL [NOTE]  (VALUE may be null)
record() {
  local note
  note="$(printf '%s' "${5:-}" | tr '\n\t"' "  '" | tr -d '\\\000-\037')"  # keep the JSON line valid
  printf '{"key":"%s","side":"%s","value":%s,"label":"%s"%s}\n' "$1" "$2" "$3" "$4" \
    "${note:+,\"note\":\"$note\"}" >> "$RES"
}
cpu_of() { if [ -n "${PID[$1]:-}" ]; then python3 "$UTIL" proc "${PID[$1]}" | cut -d' ' -f3; fi; }
# common headers of the bitbin283 client (node-fetch 2.x)
CLIENT_HDRS=(-H 'Accept: */*' -H 'User-Agent: node-fetch/1.0 (+https://github.com/bitinn/node-fetch)'
             -H 'Accept-Encoding: gzip,deflate')
# auth SIDE: sets AUTH to the curl arguments for that side's token (none without a token)
auth() { AUTH=(); if [ -n "${TOKEN[$1]:-}" ]; then AUTH=(-H "Authorization: Bearer ${TOKEN[$1]}"); fi; }
# request SIDE PATH OUTFILE CURL_ARGS... -> prints "HTTP_CODE TIME_S" (000 when it failed or timed out)
request() {
  local s=$1 path=$2 out=$3 r
  shift 3
  auth "$s"
  r=$(curl -sS -m "$REQ_TIMEOUT" -o "$out" -w '%{http_code} %{time_total}' -X POST "${CLIENT_HDRS[@]}" \
        "${AUTH[@]}" "$@" "${URL[$s]}$path" 2>>"$RUN/curl.err") || r="000 ${r#* }"
  echo "${r:-000 0}"
}
# action SIDE NAME OPTIONS_JSON OUTFILE -> prints "HTTP_CODE TIME_S"
action() {
  request "$1" /api/scope/action "$4" --compressed -H 'x-verb: write' -H 'Content-Type: application/json' \
    --data-binary "{\"name\":\"$2\",\"options\":$3}"
}
# fetch SIDE BODY_FILE OUT_TAR -> prints "HTTP_CODE TIME_S"
fetch() {
  request "$1" /api/scope/fetch "$3" --compressed -H 'x-verb: read' -H 'Content-Type: application/json' \
    --data-binary "@$2"
}
tar_entries() { python3 -c 'import sys,tarfile; print(len(tarfile.open(sys.argv[1]).getmembers()))' "$1" 2>/dev/null || echo -1; }
# json_field FILE EXPR: print the Python expression EXPR over v = the JSON in FILE (our own files only)
json_field() { python3 -c 'import json,sys; v=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"; }

# ---------------------------------------------------------------- scopes and workloads
for s in "${SIDES[@]}"; do
  SCOPE[$s]="$(python3 "$UTIL" scope-name "${URL[$s]}" "${TOKEN[$s]}" 2>"$RUN/err")" \
    || die "$s: ${URL[$s]}/graphql did not answer {scope{name}}: $(tail -1 "$RUN/err")"
  key="$(printf '%s' "${SCOPE[$s]} $N $SEED $BATCHES ${MKSCOPE_ARGS:-}" | sha1sum | cut -c1-10)"
  WL[$s]="$WORK/workload-${SCOPE[$s]}-n$N-s$SEED-$key"
  if [ ! -f "${WL[$s]}/manifest.json" ]; then
    log "generating workload for scope ${SCOPE[$s]} in ${WL[$s]}"
    # shellcheck disable=SC2086
    python3 "$HERE/../tools/mkscope.py" --scope "${SCOPE[$s]}" -n "$N" --seed "$SEED" --batches "$BATCHES" \
      ${MKSCOPE_ARGS:-} -o "${WL[$s]}.tmp" || die "mkscope.py failed"
    mv "${WL[$s]}.tmp" "${WL[$s]}"
  fi
  [ -f "${WL[$s]}/bodies/all.json" ] || python3 "$UTIL" bodies "${WL[$s]}/manifest.json" "${WL[$s]}/bodies" 50
  log "$s: ${URL[$s]} scope ${SCOPE[$s]}${PID[$s]:+ pid ${PID[$s]}}"
done

if [ -n "$CEILING" ] && { has_phase fetch || has_phase graphql; }; then
  if [ "$CEILING" = auto ]; then
    if [ ! -x "$WORK/ceiling" ] || [ "$HERE/ceiling.c" -nt "$WORK/ceiling" ]; then
      gcc -O2 -Wall -o "$WORK/ceiling" "$HERE/ceiling.c" -lmicrohttpd \
        || die "cannot build ceiling.c (apt-get install -y gcc libmicrohttpd-dev)"
    fi
    "$WORK/ceiling" 0 "${SCOPE[A]}" "${WL[A]}/typical-fetch.tar" >"$RUN/ceiling.url" 2>"$RUN/ceiling.err" &
    CEIL_PID=$!
    for _ in $(seq 1 50); do [ -s "$RUN/ceiling.url" ] && break; sleep 0.1; done
    [ -s "$RUN/ceiling.url" ] || die "ceiling did not start: $(cat "$RUN/ceiling.err")"
    URL[ceiling]="$(head -1 "$RUN/ceiling.url")"; PID[ceiling]="$CEIL_PID"
  else
    URL[ceiling]="${CEILING%/}"; PID[ceiling]="${PID_CEIL:-}"
  fi
  log "ceiling: ${URL[ceiling]} (constant replies; fetch reply = $(stat -c %s "${WL[A]}/typical-fetch.tar") bytes)"
fi

python3 "$UTIL" meta "${WL[A]}/manifest.json" "A=${URL[A]} (scope ${SCOPE[A]})" \
  ${URL[B]:+"B=${URL[B]} (scope ${SCOPE[B]})"} ${URL[ceiling]:+"ceiling=${URL[ceiling]} (ceiling.c, constant replies)"} \
  n="$N" seed="$SEED" batches="$BATCHES" phases="$PHASES" reps="$REPS" export_order="$EXPORT_ORDER" \
  loadavg_start="$(cut -d' ' -f1-3 /proc/loadavg)" \
  conns="$CONNS" duration_s="$DURATION" wrk_threads="$THREADS" wrk_reps="$WRK_REPS" >> "$RES"

declare -A RSS0
for s in "${SIDES[@]}"; do
  if [ -n "${PID[$s]}" ]; then
    python3 "$UTIL" proc-reset "${PID[$s]}" 2>/dev/null \
      || log "$s: cannot reset the peak RSS of pid ${PID[$s]}: peak is since the process started"
    RSS0[$s]="$(python3 "$UTIL" proc "${PID[$s]}" | cut -d' ' -f1)"
  fi
done

# ---------------------------------------------------------------- (a) export
export_side() {
  local s=$1 wl=${WL[$1]} note="" put_t=0 val_t=0 per_t=0 merged=0 expected objects bytes cpu0 cpu1 i=0 r
  fetch "$s" "$wl/bodies/batch-001.json" "$RUN/pre.tar" >/dev/null
  if [ "$(tar_entries "$RUN/pre.tar")" -gt 0 ]; then
    note="the scope already held the workload, this measures a re-export"
    log "$s: warning: $note"
  fi
  expected="$(json_field "$wl/manifest.json" 'v["versions"]')"
  objects="$(json_field "$wl/manifest.json" 'v["objects"]')"
  bytes="$(json_field "$wl/manifest.json" 'sum(b["tar_bytes"] for b in v["batches"])')"
  cpu0="$(cpu_of "$s")"
  local tarfile
  for tarfile in $(json_field "$wl/manifest.json" '" ".join(b["file"] for b in v["batches"])'); do
    i=$((i + 1))
    local cid; cid="$(( $(date +%s%3N) + i ))"
    r=$(request "$s" /api/scope/put "$RUN/put.out" -H "push-options: {\"clientId\":\"$cid\"}" \
          -H 'x-verb: write' -H 'Transfer-Encoding: chunked' -H 'Content-Type:' -H 'Expect:' \
          --data-binary "@$wl/$tarfile")
    [ "${r%% *}" = 200 ] || { note="put of $tarfile: HTTP ${r%% *} $(head -c 200 "$RUN/put.out" 2>/dev/null)"; break; }
    put_t=$(calc "$put_t + ${r#* }")
    r=$(action "$s" ExportValidate "{\"clientId\":\"$cid\",\"isResumingExport\":false}" "$RUN/validate.out")
    [ "${r%% *}" = 200 ] || { note="ExportValidate: HTTP ${r%% *} $(head -c 200 "$RUN/validate.out")"; break; }
    val_t=$(calc "$val_t + ${r#* }")
    r=$(action "$s" ExportPersist "{\"clientId\":\"$cid\"}" "$RUN/persist.out")
    [ "${r%% *}" = 200 ] || { note="ExportPersist: HTTP ${r%% *} $(head -c 200 "$RUN/persist.out")"; break; }
    per_t=$(calc "$per_t + ${r#* }")
    merged=$((merged + $(json_field "$RUN/persist.out" 'len(v)' 2>/dev/null || echo 0)))
  done
  cpu1="$(cpu_of "$s")"
  if [ -z "$note" ] && [ "$merged" != "$expected" ]; then
    note="ExportPersist returned $merged ids, expected $expected (one per exported version)"
  fi
  local total; total=$(calc "$put_t + $val_t + $per_t")
  log "$s: export put ${put_t}s validate ${val_t}s persist ${per_t}s${note:+ ($note)}"
  if [ -n "$note" ] && [ "$merged" = 0 ] && [ "$total" = 0 ]; then
    record export.total_s "$s" null "export: put+validate+persist" "$note"; return
  fi
  record export.total_s "$s" "$total" "export: put+validate+persist" "$note"
  record export.put_s "$s" "$put_t" "export: put"
  record export.validate_s "$s" "$val_t" "export: ExportValidate"
  record export.persist_s "$s" "$per_t" "export: ExportPersist"
  record export.objects_per_s "$s" "$(calc "$objects / $total")" "export: objects/s"
  record export.mb_per_s "$s" "$(calc "$bytes / 1e6 / $total")" "export: put tar MB/s"
  [ -z "$cpu0" ] || record export.cpu_s "$s" "$(calc "$cpu1 - $cpu0")" "export: server CPU"
}

if has_phase export; then
  order=("${SIDES[@]}")
  if [ "$EXPORT_ORDER" = BA ] && [ ${#SIDES[@]} = 2 ]; then order=(B A); fi
  for s in "${order[@]}"; do sync; export_side "$s"; done  # sync: no writeback of one export during the other
fi

# ---------------------------------------------------------------- (b) import
# curl config for the batched fetch: one keep-alive connection, one transfer per batch
batch_config() {
  local s=$1 first=1 f
  for f in "${WL[$s]}"/bodies/batch-*.json; do
    [ $first = 1 ] || echo next
    first=0
    printf 'url = "%s/api/scope/fetch"\nrequest = "POST"\ncompressed\nmax-time = %s\n' "${URL[$s]}" "$REQ_TIMEOUT"
    printf 'header = "%s"\n' 'x-verb: read' 'Content-Type: application/json' 'Accept: */*' \
      'User-Agent: node-fetch/1.0 (+https://github.com/bitinn/node-fetch)' 'Accept-Encoding: gzip,deflate'
    if [ -n "${TOKEN[$s]:-}" ]; then printf 'header = "Authorization: Bearer %s"\n' "${TOKEN[$s]}"; fi
    printf 'data-binary = "@%s"\noutput = "%s"\n' "$f" "$RUN/$s-$(basename "$f" .json).tar"
    printf 'write-out = "%%{http_code} %%{time_total}\\n"\n'
  done
}

import_side() {  # SIDE KEY_PREFIX LABEL_PREFIX
  local s=$1 k=$2 lab=$3 wl=${WL[$1]} r note bytes t codes pairs=() f
  # all ids in one request
  r=$(fetch "$s" "$wl/bodies/all.json" "$RUN/$s-all.tar")
  if [ "${r%% *}" = 200 ]; then
    python3 "$UTIL" check-tar "$wl/manifest.json" "$RUN/$s-all.tar:$wl/bodies/all.json" > "$RUN/check.json"
    note="$(json_field "$RUN/check.json" 'v["note"]')"
    bytes=$(stat -c %s "$RUN/$s-all.tar"); t=${r#* }
    log "$s: $lab all ids in one request ${t}s $bytes bytes${note:+ ($note)}"
    record "$k.all_s" "$s" "$t" "$lab all ids, 1 request: time" "$note"
    record "$k.all_mb_per_s" "$s" "$(calc "$bytes / 1e6 / $t")" "$lab all ids, 1 request: tar MB/s"
    if [ "$k" = import ]; then
      record "$k.all_mb" "$s" "$(calc "$bytes / 1e6")" "$lab all ids, 1 request: tar size"
      record "$k.all_entries" "$s" "$(json_field "$RUN/check.json" 'v["entries"]')" "$lab all ids, 1 request: tar entries"
    fi
  else
    record "$k.all_s" "$s" null "$lab all ids, 1 request: time" "HTTP ${r%% *}"
  fi
  rm -f "$RUN/$s-all.tar"
  # batches of 50 ids, sequential requests on one connection
  batch_config "$s" > "$RUN/$s-batches.cfg"
  curl -sS -K "$RUN/$s-batches.cfg" > "$RUN/$s-batches.out" 2>>"$RUN/curl.err" || true
  codes=$(awk -v n="$(grep -c '^next' "$RUN/$s-batches.cfg")" '$1 != 200 { bad++ } END { print bad + n + 1 - NR }' \
          "$RUN/$s-batches.out")
  t=$(awk '{ t += $2 } END { printf "%.6g", t }' "$RUN/$s-batches.out")
  for f in "$wl"/bodies/batch-*.json; do pairs+=("$RUN/$s-$(basename "$f" .json).tar:$f"); done
  python3 "$UTIL" check-tar "$wl/manifest.json" "${pairs[@]}" > "$RUN/check.json"
  note="$(json_field "$RUN/check.json" 'v["note"]')"
  [ "$codes" = 0 ] || note="$codes requests failed (not HTTP 200 or timed out); $note"
  bytes="$(json_field "$RUN/check.json" 'v["tar_bytes"]')"
  log "$s: $lab in batches of 50 ${t}s $bytes bytes${note:+ ($note)}"
  record "$k.b50_s" "$s" "$t" "$lab in batches of 50: time" "$note"
  record "$k.b50_mb_per_s" "$s" "$(calc "$bytes / 1e6 / ($t + 1e-9)")" "$lab in batches of 50: tar MB/s"
  rm -f "$RUN/$s"-batch-*.tar
}

if has_phase import; then
  # the first round warms the server up (caches, JIT, heap); it is shown apart as "cold"
  for s in "${SIDES[@]}"; do import_side "$s" import.cold "import (cold, first round):"; done
  for _ in $(seq 1 "$REPS"); do
    for s in "${SIDES[@]}"; do import_side "$s" import "import:"; done
  done
fi

# ---------------------------------------------------------------- (c) concurrent fetch, (d) graphql
wrk_run() {  # SIDE MODE CONNS KEY LABEL [NOTE]   (the ceiling gets A's ids; it ignores them)
  local s=$1 cpu0 cpu1 cpu="" ids="${WL[$1]:-${WL[A]}}/ids.txt"
  cpu0="$(cpu_of "$s")"
  wrk -t"$THREADS" -c"$3" -d"${DURATION}s" --timeout 30s -s "$HERE/bench.lua" "${URL[$s]}" \
    -- "$2" "$ids" "$SEED" "${TOKEN[$s]:-}" > "$RUN/wrk.out" 2>&1 || true
  cpu1="$(cpu_of "$s")"
  [ -z "$cpu0" ] || cpu="$(calc "$cpu1 - $cpu0")"
  python3 "$UTIL" wrk-record "$4" "$5" "$s" "$RUN/wrk.out" "$cpu" "${6:-}" >> "$RES"
  log "$s: $5: $(grep -h 'Requests/sec' "$RUN/wrk.out" || tail -1 "$RUN/wrk.out")"
}
WRK_SIDES=("${SIDES[@]}")
[ -z "${URL[ceiling]:-}" ] || WRK_SIDES+=(ceiling)

if has_phase fetch; then
  # wrk does not look at replies: check one (the workload's typical component) per server first
  declare -A FETCH_NOTE
  for s in "${SIDES[@]}"; do
    json_field "${WL[$s]}/manifest.json" 'json.dumps({"ids": [v["typical"]["id"]], "fetchOptions": {"type": "component", "withoutDependencies": False, "includeArtifacts": False}})' > "$RUN/one.json"
    r=$(fetch "$s" "$RUN/one.json" "$RUN/one.tar")
    python3 "$UTIL" check-tar "${WL[$s]}/manifest.json" --partial "$RUN/one.tar:$RUN/one.json" > "$RUN/check.json"
    FETCH_NOTE[$s]="$(json_field "$RUN/check.json" 'v["note"] and "sample " + v["note"]')"
    [ "${r%% *}" = 200 ] || FETCH_NOTE[$s]="sample fetch: HTTP ${r%% *}"
  done
  for c in $CONNS; do
    for _ in $(seq 1 "$WRK_REPS"); do
      for s in "${WRK_SIDES[@]}"; do
        wrk_run "$s" fetch "$c" "fetch.c$c" "fetch 1 random component, c=$c" "${FETCH_NOTE[$s]:-}"
      done
    done
  done
fi
if has_phase graphql; then
  for c in $CONNS; do
    for _ in $(seq 1 "$WRK_REPS"); do
      for s in "${WRK_SIDES[@]}"; do wrk_run "$s" graphql "$c" "graphql.c$c" "graphql {scope{name}}, c=$c"; done
    done
  done
fi

# ---------------------------------------------------------------- (e) memory, report
for s in "${SIDES[@]}"; do
  if [ -n "${PID[$s]}" ]; then
    read -r rss hwm _ < <(python3 "$UTIL" proc "${PID[$s]}")
    record rss.start_mib "$s" "$(calc "${RSS0[$s]}/1024")" "RSS at start"
    record rss.peak_mib "$s" "$(calc "$hwm/1024")" "peak RSS during the run (VmHWM)"
    record rss.end_mib "$s" "$(calc "$rss/1024")" "RSS at end"
  fi
done

python3 "$UTIL" meta-end "$RES" loadavg_end="$(cut -d' ' -f1-3 /proc/loadavg)"
echo
python3 "$UTIL" report "$RES" ${JSON:+--json "$JSON"}
