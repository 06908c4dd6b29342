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
#   --phases LIST     comma list of export,import,fetch,graphql,big,scale (default: all six)
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
#   --big-scope NAME  scope of the big phase, a 1 GB export of large files (default myorg.big)
#   --big-n N         components of the big workload (default 170: a put tar of about 1 GB)
#   --scale-scope NAME  scope of the scale phase (default myorg.scale): fetch latency with
#                     --scale-first components in it, then again once grown to --scale-n
#   --scale-n N       components the scale phase grows its scope to (default 100000)
#   --scale-first N   components at the first measurement (default 1000)
#   --scale-put-size N  components per put after the first (default 1000; puts of 33000 made growing
#                     take 17 minutes rather than 2-2.5: scoped's ExportValidate and ExportPersist
#                     grew faster than linearly with the size of one put)
# The big and scale phases export into their own scopes on the same servers: a side takes part
# when its URL ends in /<its scope>, so that /<big or scale scope> reaches the other scope (as on
# scoped), or when its scope is the big or scale scope. Other sides, such as Bit's reference
# server (one scope per process, no prefix), get "-" and a note on what the phase would cost there.
# env:
#   PID_A, PID_B      server process ids: peak RSS (VmHWM, reset at start when permitted) and
#                     server CPU time (utime+stime of that process)
#   TOKEN_A, TOKEN_B  API tokens, sent as "Authorization: Bearer TOKEN" on every request (the
#                     token needs export rights: developer or admin)
#   MKSCOPE_ARGS      extra mkscope.py options, e.g. "--versions 5 --large-frac 0.02"
#   BIG_MKSCOPE_ARGS, SCALE_MKSCOPE_ARGS  the shape of the big and scale workloads (defaults below)
#   KEEP=1            keep this run's scratch directory (fetched tars, wrk output)
# Needs: bash, curl, wrk, python3 (and gcc + libmicrohttpd-dev for --ceiling auto).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
UTIL="$HERE/benchutil.py"
N=1000 SEED=1 BATCHES=1 PHASES=export,import,fetch,graphql,big,scale REPS=auto CONNS="16 64" DURATION=10
THREADS=2 WRK_REPS=1 EXPORT_ORDER=AB REQ_TIMEOUT=600
CEILING="" JSON="" WORK="${TMPDIR:-/tmp}/scoped-bench"
BIG_SCOPE=myorg.big BIG_N=170 SCALE_SCOPE=myorg.scale SCALE_N=100000 SCALE_FIRST=1000 SCALE_PUT_SIZE=1000
SCALE_CONNS=16
# big: 1-4 files of 1-5 MB, bundles of code and inlined assets (deflate 1.5:1), 1-2 versions: about
# 3 Sources and 6 MB of put tar per component. scale: 1 file of about 1 KB, 1 version, few
# dependencies: 3 objects of 1 KB each per component, a fetch reply of a few KB.
BIG_MKSCOPE_ARGS="${BIG_MKSCOPE_ARGS:---files 4 --versions 2 --large 1000000-5000000 --large-frac 1 --large-content bundle --dep-frac 0.2 --max-deps 2 --max-flat 4}"
SCALE_MKSCOPE_ARGS="${SCALE_MKSCOPE_ARGS:---files 1 --versions 1 --small 800-1200 --large-frac 0 --dep-frac 0.3 --max-deps 2 --max-flat 4}"
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
    --big-scope) BIG_SCOPE="$2"; shift 2 ;;
    --big-n) BIG_N="$2"; shift 2 ;;
    --scale-scope) SCALE_SCOPE="$2"; shift 2 ;;
    --scale-n) SCALE_N="$2"; shift 2 ;;
    --scale-first) SCALE_FIRST="$2"; shift 2 ;;
    --scale-put-size) SCALE_PUT_SIZE="$2"; shift 2 ;;
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
if [ "$SCALE_FIRST" -lt 1 ] || [ "$SCALE_PUT_SIZE" -lt 1 ] || [ "$SCALE_N" -le "$SCALE_FIRST" ]; then
  die "need 1 <= --scale-first < --scale-n and --scale-put-size >= 1"
fi
SCALE_PUTS=$(( (SCALE_N - SCALE_FIRST + SCALE_PUT_SIZE - 1) / SCALE_PUT_SIZE ))
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
now() { date +%s.%N; }
thousands() { printf '%s' "$1" | sed ':a; s/\B[0-9]\{3\}\>/,&/; ta'; }
# record KEY SIDE VALUE LABEL [NOTE [EXTRA]]  (VALUE may be null; EXTRA: more JSON members, e.g.
# "skipped":true for a figure that was not measured, on purpose: shown "-", not flagged "!")
record() {
  local note
  note="$(printf '%s' "${5:-}" | tr '\n\t"' "  '" | tr -d '\\\000-\037')"  # keep the JSON line valid
  printf '{"key":"%s","side":"%s","value":%s,"label":"%s"%s%s}\n' "$1" "$2" "$3" "$4" \
    "${note:+,\"note\":\"$note\"}" "${6:+,$6}" >> "$RES"
}
# target KEY MAX: the figure KEY should be at most MAX (the report says which sides meet it)
target() { printf '{"target":{"key":"%s","max":%s}}\n' "$1" "$2" >> "$RES"; }
# step NAME START: wall time of one step of the run, from START (a now()) until now, and the RSS of
# each server at its end
step() {
  local t rss="" s
  t="$(calc "$(now) - $2")"
  for s in "${SIDES[@]}"; do
    [ -z "${PID[$s]}" ] || rss="$rss${rss:+,}\"$s\":$(rss_mib "$s")"
  done
  printf '{"step":"%s","s":%s,"rss_mib":{%s}}\n' "$1" "$t" "$rss" >> "$RES"
  log "step $1: ${t}s"
}
# result KEY SIDE: a figure recorded earlier in this run (empty when there is none)
result() {
  python3 -c 'import json,sys
v = [r["value"] for r in map(json.loads, open(sys.argv[1])) if r.get("key") == sys.argv[2] and r.get("side") == sys.argv[3]]
print("" if not v or v[-1] is None else v[-1])' "$RES" "$1" "$2"
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
# one_body ID FILE: a fetch body for one component, as `bit import ID` sends it
one_body() {
  printf '{"ids":["%s"],"fetchOptions":{"type":"component","withoutDependencies":false,"includeArtifacts":false}}' \
    "$1" > "$2"
}
# workload NAME DIR MKSCOPE_ARGS...: generate a workload into DIR unless it is there already, and
# record how long its generation took (then, or when it was generated: DIR/generate.s)
declare -A GENERATED
workload() {
  local name=$1 dir=$2 t0 cached=true
  shift 2
  [ -z "${GENERATED[$dir]:-}" ] || return 0
  GENERATED[$dir]=1
  if [ ! -f "$dir/manifest.json" ]; then
    log "generating the $name workload in $dir"
    t0=$(now)
    rm -rf "$dir.tmp"
    python3 "$HERE/../tools/mkscope.py" "$@" -o "$dir.tmp" || die "mkscope.py failed"
    calc "$(now) - $t0" > "$dir.tmp/generate.s"
    mv "$dir.tmp" "$dir"
    cached=false
  fi
  printf '{"step":"generate the %s workload","s":%s,"cached":%s}\n' "$name" \
    "$(cat "$dir/generate.s" 2>/dev/null || echo null)" "$cached" >> "$RES"
}
# workload_dir NAME SCOPE N ARGS...: where the workload of these mkscope.py arguments is cached
workload_dir() { echo "$WORK/workload-$2-$1-n$3-$(printf '%s' "$*" | sha1sum | cut -c1-10)"; }

# ---------------------------------------------------------------- scopes and workloads
T_START=$(now)
for s in "${SIDES[@]}"; do
  SCOPE[$s]="$(python3 "$UTIL" scope-name "${URL[$s]}" "${TOKEN[$s]}" 2>"$RUN/err")" \
    || die "$s: ${URL[$s]}/graphql did not answer {scope{name}}: $(tail -1 "$RUN/err")"
  key="$(printf '%s' "${SCOPE[$s]} $N $SEED $BATCHES ${MKSCOPE_ARGS:-}" | sha1sum | cut -c1-10)"
  WL[$s]="$WORK/workload-${SCOPE[$s]}-n$N-s$SEED-$key"
  # shellcheck disable=SC2086
  workload main "${WL[$s]}" --scope "${SCOPE[$s]}" -n "$N" --seed "$SEED" --batches "$BATCHES" ${MKSCOPE_ARGS:-}
  [ -f "${WL[$s]}/bodies/all.json" ] || python3 "$UTIL" bodies "${WL[$s]}/manifest.json" "${WL[$s]}/bodies" 50
  log "$s: ${URL[$s]} scope ${SCOPE[$s]}${PID[$s]:+ pid ${PID[$s]}}"
done
if has_phase big; then
  # shellcheck disable=SC2086
  set -- --scope "$BIG_SCOPE" -n "$BIG_N" --seed "$SEED" $BIG_MKSCOPE_ARGS
  BIG_WL="$(workload_dir big "$BIG_SCOPE" "$BIG_N" "$@")"
  workload big "$BIG_WL" "$@"
  python3 "$UTIL" workload big "$BIG_WL/manifest.json" >> "$RES"
fi
if has_phase scale; then
  sizes="$SCALE_FIRST"
  for k in $(seq 1 "$SCALE_PUTS"); do
    sizes="$sizes,$(( k < SCALE_PUTS ? SCALE_PUT_SIZE : SCALE_N - SCALE_FIRST - (SCALE_PUTS - 1) * SCALE_PUT_SIZE ))"
  done
  # shellcheck disable=SC2086
  set -- --scope "$SCALE_SCOPE" -n "$SCALE_N" --seed "$SEED" --batch-sizes "$sizes" $SCALE_MKSCOPE_ARGS
  SCALE_WL="$(workload_dir scale "$SCALE_SCOPE" "$SCALE_N" "$@")"
  workload scale "$SCALE_WL" "$@"
  python3 "$UTIL" workload scale "$SCALE_WL/manifest.json" >> "$RES"
fi

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

# The peak RSS of a side (VmHWM) restarts from the current RSS at the start and before each export
# of the big and scale phases, which show their own peak; PEAK keeps the highest before each restart.
declare -A RSS0 PEAK RSS_NOTE
rss_mark() {  # SIDE
  local hwm
  hwm="$(python3 "$UTIL" proc "${PID[$1]}" | cut -d' ' -f2)"
  [ "${PEAK[$1]:-0}" -ge "$hwm" ] || PEAK[$1]=$hwm
  python3 "$UTIL" proc-reset "${PID[$1]}" 2>/dev/null \
    || RSS_NOTE[$1]="cannot reset the peak RSS of pid ${PID[$1]} (/proc/PID/clear_refs): the peak is since the process started"
}
rss_peak_mib() { calc "$(python3 "$UTIL" proc "${PID[$1]}" | cut -d' ' -f2) / 1024"; }  # SIDE: VmHWM
rss_mib() { calc "$(python3 "$UTIL" proc "${PID[$1]}" | cut -d' ' -f1) / 1024"; }       # SIDE: VmRSS
for s in "${SIDES[@]}"; do
  if [ -n "${PID[$s]}" ]; then
    rss_mark "$s"
    [ -z "${RSS_NOTE[$s]:-}" ] || log "$s: ${RSS_NOTE[$s]}"
    RSS0[$s]="$(python3 "$UTIL" proc "${PID[$s]}" | cut -d' ' -f1)"
  fi
done

# ---------------------------------------------------------------- (a) export
# export_run TARGET WORKLOAD_DIR TAR...: the three requests of `bit export` for each put tar in turn.
# Sets EXP_PUT, EXP_VAL, EXP_PER (seconds, summed), EXP_IDS (ids ExportPersist listed) and EXP_NOTE
# (empty, or what failed: the tars after a failure are not sent).
export_run() {
  local t=$1 wl=$2 tarfile r cid
  shift 2
  EXP_PUT=0 EXP_VAL=0 EXP_PER=0 EXP_IDS=0 EXP_NOTE=""
  rm -f "$RUN"/persist-*.out
  for tarfile in "$@"; do
    cid="$(date +%s%3N)"
    r=$(request "$t" /api/scope/put "$RUN/put.out" -H "push-options: {\"clientId\":\"$cid\"}" \
          -H 'x-verb: write' -H 'Transfer-Encoding: chunked' -H 'Content-Type:' -H 'Expect:' \
          --data-binary "@$wl/$tarfile")
    [ "${r%% *}" = 200 ] || { EXP_NOTE="put of $tarfile: HTTP ${r%% *} $(head -c 200 "$RUN/put.out" 2>/dev/null)"; break; }
    EXP_PUT=$(calc "$EXP_PUT + ${r#* }")
    r=$(action "$t" ExportValidate "{\"clientId\":\"$cid\",\"isResumingExport\":false}" "$RUN/validate.out")
    [ "${r%% *}" = 200 ] || { EXP_NOTE="ExportValidate: HTTP ${r%% *} $(head -c 200 "$RUN/validate.out")"; break; }
    EXP_VAL=$(calc "$EXP_VAL + ${r#* }")
    r=$(action "$t" ExportPersist "{\"clientId\":\"$cid\"}" "$RUN/persist-$tarfile.out")
    [ "${r%% *}" = 200 ] || { EXP_NOTE="ExportPersist: HTTP ${r%% *} $(head -c 200 "$RUN/persist-$tarfile.out")"; break; }
    EXP_PER=$(calc "$EXP_PER + ${r#* }")
    log "$t: exported $tarfile: put+validate+persist $(calc "$EXP_PUT + $EXP_VAL + $EXP_PER")s so far"
  done
  EXP_IDS=$(python3 -c 'import json,sys
n = 0
for path in sys.argv[1:]:
    try:
        ids = json.load(open(path))
    except ValueError:
        continue
    n += len(ids) if isinstance(ids, list) else 0
print(n)' "$RUN"/persist-*.out 2>/dev/null || echo 0)
}
# holds TARGET BODY: warns (and prints a note) when the scope already holds the components of BODY
holds() {
  fetch "$1" "$2" "$RUN/pre.tar" >/dev/null
  if [ "$(tar_entries "$RUN/pre.tar")" -gt 0 ]; then
    log "$1: warning: the scope already held the workload, this measures a re-export"
    echo "the scope already held the workload, this measures a re-export"
  fi
}
# export_record SIDE KEY LABEL OBJECTS BYTES VERSIONS CPU_S [NOTE]: record export_run's figures
export_record() {
  local s=$1 k=$2 lab=$3 total note=${8:-}
  if [ -z "$note" ] && [ -z "$EXP_NOTE" ] && [ "$EXP_IDS" != "$6" ]; then  # a re-export may list fewer
    note="ExportPersist returned $EXP_IDS ids, expected $6 (one per exported version)"
  fi
  [ -z "$EXP_NOTE" ] || note="$EXP_NOTE${note:+; $note}"
  total=$(calc "$EXP_PUT + $EXP_VAL + $EXP_PER")
  log "$s: $lab: put ${EXP_PUT}s validate ${EXP_VAL}s persist ${EXP_PER}s${note:+ ($note)}"
  if [ -n "$EXP_NOTE" ] && [ "$EXP_IDS" = 0 ] && [ "$total" = 0 ]; then
    record "$k.total_s" "$s" null "$lab: put+validate+persist" "$note"; return
  fi
  record "$k.total_s" "$s" "$total" "$lab: put+validate+persist" "$note"
  record "$k.put_s" "$s" "$EXP_PUT" "$lab: put"
  record "$k.validate_s" "$s" "$EXP_VAL" "$lab: ExportValidate"
  record "$k.persist_s" "$s" "$EXP_PER" "$lab: ExportPersist"
  record "$k.objects_per_s" "$s" "$(calc "$4 / $total")" "$lab: objects/s"
  record "$k.mb_per_s" "$s" "$(calc "$5 / 1e6 / $total")" "$lab: put tar MB/s"
  [ -z "$7" ] || record "$k.cpu_s" "$s" "$7" "$lab: server CPU"
}
# tars_of MANIFEST [FIRST [COUNT]]: the put tars of a workload, in export order (or COUNT from FIRST)
tars_of() { json_field "$1" "' '.join(b['file'] for b in v['batches'][${2:-0}:${2:-0} + ${3:-len(v['batches'])}])"; }

# SIDE -> "OBJECTS BYTES SECONDS" of its export phase: the estimates for the phases a side skips
declare -A EXPORT_RATE
export_side() {
  local s=$1 wl=${WL[$1]} note cpu0 cpu1 cpu="" objects bytes versions
  read -r objects bytes versions < <(json_field "$wl/manifest.json" \
    '"%d %d %d" % (v["objects"], sum(b["tar_bytes"] for b in v["batches"]), v["versions"])')
  note="$(holds "$s" "$wl/bodies/batch-001.json")"
  cpu0="$(cpu_of "$s")"
  # shellcheck disable=SC2046
  export_run "$s" "$wl" $(tars_of "$wl/manifest.json")
  cpu1="$(cpu_of "$s")"
  [ -z "$cpu0" ] || cpu="$(calc "$cpu1 - $cpu0")"
  [ -n "$EXP_NOTE" ] || EXPORT_RATE[$s]="$objects $bytes $(calc "$EXP_PUT + $EXP_VAL + $EXP_PER")"
  export_record "$s" export export "$objects" "$bytes" "$versions" "$cpu" "$note"
}

if has_phase export; then
  t0=$(now)
  order=("${SIDES[@]}")
  if [ "$EXPORT_ORDER" = BA ] && [ ${#SIDES[@]} = 2 ]; then order=(B A); fi
  for s in "${order[@]}"; do sync; export_side "$s"; done  # sync: no writeback of one export during the other
  step export "$t0"
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
  t0=$(now)
  # the first round warms the server up (caches, JIT, heap); it is shown apart as "cold"
  for s in "${SIDES[@]}"; do import_side "$s" import.cold "import (cold, first round):"; done
  for _ in $(seq 1 "$REPS"); do
    for s in "${SIDES[@]}"; do import_side "$s" import "import:"; done
  done
  step import "$t0"
fi

# ---------------------------------------------------------------- (c) concurrent fetch, (d) graphql
# wrk_run TARGET MODE CONNS KEY LABEL [NOTE [IDS_FILE]]: one wrk run, recorded for TARGET's side
# (the ceiling gets A's ids; it ignores them)
wrk_run() {
  local t=$1 cpu0 cpu1 cpu="" ids="${7:-${WL[$1]:-${WL[A]}}/ids.txt}"
  cpu0="$(cpu_of "$t")"
  wrk -t"$THREADS" -c"$3" -d"${DURATION}s" --timeout 30s -s "$HERE/bench.lua" "${URL[$t]}" \
    -- "$2" "$ids" "$SEED" "${TOKEN[$t]:-}" > "$RUN/wrk.out" 2>&1 || true
  cpu1="$(cpu_of "$t")"
  [ -z "$cpu0" ] || cpu="$(calc "$cpu1 - $cpu0")"
  python3 "$UTIL" wrk-record "$4" "$5" "${t%%:*}" "$RUN/wrk.out" "$cpu" "${6:-}" >> "$RES"
  log "$t: $5: $(grep -h 'Requests/sec' "$RUN/wrk.out" || tail -1 "$RUN/wrk.out")"
}
WRK_SIDES=("${SIDES[@]}")
[ -z "${URL[ceiling]:-}" ] || WRK_SIDES+=(ceiling)

if has_phase fetch; then
  t0=$(now)
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
  step fetch "$t0"
fi
if has_phase graphql; then
  t0=$(now)
  for c in $CONNS; do
    for _ in $(seq 1 "$WRK_REPS"); do
      for s in "${WRK_SIDES[@]}"; do wrk_run "$s" graphql "$c" "graphql.c$c" "graphql {scope{name}}, c=$c"; done
    done
  done
  step graphql "$t0"
fi

# ---------------------------------------------------------------- (f) big export, (g) scale
# shellcheck source-path=SCRIPTDIR source=large.sh
. "$HERE/large.sh"

if has_phase big; then
  t0=$(now)
  target big.peak_rss_mib 64
  for s in "${SIDES[@]}"; do big_side "$s"; done
  step big "$t0"
fi
if has_phase scale; then
  t0=$(now)
  target scale.p50_ratio 2
  for s in "${SIDES[@]}"; do scale_side "$s"; done
  step scale "$t0"
fi

# ---------------------------------------------------------------- (e) memory, report
for s in "${SIDES[@]}"; do
  if [ -n "${PID[$s]}" ]; then
    read -r rss hwm _ < <(python3 "$UTIL" proc "${PID[$s]}")
    record rss.start_mib "$s" "$(calc "${RSS0[$s]}/1024")" "RSS at start"
    [ "${PEAK[$s]:-0}" -le "$hwm" ] || hwm=${PEAK[$s]}
    record rss.peak_mib "$s" "$(calc "$hwm/1024")" "peak RSS during the run (VmHWM)"
    record rss.end_mib "$s" "$(calc "$rss/1024")" "RSS at end"
  fi
done

step "bench.sh in all" "$T_START"
python3 "$UTIL" meta-end "$RES" loadavg_end="$(cut -d' ' -f1-3 /proc/loadavg)"
echo
python3 "$UTIL" report "$RES" ${JSON:+--json "$JSON"}
