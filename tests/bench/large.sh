# large.sh: phases (f) big and (g) scale of bench.sh, which sources it: a 1 GB export of large
# files, and fetch latency in a scope of 1,000 then 100,000 components (see README.md). These
# functions use bench.sh's state (SIDES, URL, TOKEN, PID, SCOPE, RUN, the workloads) and helpers
# (request, fetch, export_run, export_record, wrk_run, record, rss_mark, ...).
# shellcheck shell=bash

# other_scope SIDE PHASE SCOPE: makes target SIDE:PHASE, the scope SCOPE on SIDE's server (see the
# usage); otherwise fails, with the reason in SKIP_WHY (and SKIP_ONE set when the server has one scope)
other_scope() {
  local s=$1 t="$1:$2" u=${URL[$1]} name
  if [ "${SCOPE[$s]}" != "$3" ]; then
    if [ "${u%/"${SCOPE[$s]}"}" = "$u" ]; then
      SKIP_WHY="it serves one scope, ${SCOPE[$s]} (its URL has no /${SCOPE[$s]} to replace by /$3)" SKIP_ONE=1
      return 1
    fi
    u="${u%/"${SCOPE[$s]}"}/$3"
  fi
  name="$(python3 "$UTIL" scope-name "$u" "${TOKEN[$s]}" 2>/dev/null)" || name=""
  if [ "$name" != "$3" ]; then
    SKIP_WHY="$u/graphql does not answer as scope $3 (create it: scoped scope create $3)" SKIP_ONE=""
    return 1
  fi
  # shellcheck disable=SC2004  # associative arrays (declared in bench.sh), not arithmetic
  URL[$t]=$u TOKEN[$t]=${TOKEN[$s]} PID[$t]=${PID[$s]} SCOPE[$t]=$3
}
# skip SIDE KEY LABEL ESTIMATE: record that SIDE does not run this phase and why (SKIP_WHY), with
# ESTIMATE of what it would have cost when the side is a server of one scope (the reference server)
skip() { record "$2" "$1" null "$3" "not run on $1: $SKIP_WHY${SKIP_ONE:+; $4}" '"skipped":true'; }
# sample_check TARGET WORKLOAD_DIR ID: fetch one component and check the reply holds its closure;
# prints "SECONDS BYTES NOTE..." (NOTE empty when the reply is right)
sample_check() {
  local r note
  one_body "$3" "$RUN/one.json"
  r=$(fetch "$1" "$RUN/one.json" "$RUN/one.tar")
  python3 "$UTIL" check-tar "$2/manifest.json" --partial "$RUN/one.tar:$RUN/one.json" > "$RUN/check.json"
  note="$(json_field "$RUN/check.json" 'v["note"]')"
  [ "${r%% *}" = 200 ] || note="fetch of $3: HTTP ${r%% *}"
  echo "${r#* } $(stat -c %s "$RUN/one.tar" 2>/dev/null || echo 0) $note"
  rm -f "$RUN/one.tar"
}

big_side() {
  local s=$1 t="$1:big" wl=$BIG_WL objects bytes versions typical note cpu0 cpu1 cpu="" secs size peak lab rss0
  read -r objects bytes versions typical < <(json_field "$wl/manifest.json" \
    '"%d %d %d %s" % (v["objects"], v["batches"][0]["tar_bytes"], v["versions"], v["typical"]["id"])')
  lab="big export ($(awk "BEGIN { printf \"%.0f\", $bytes / 1e6 }") MB of large files)"
  if ! other_scope "$s" big "$BIG_SCOPE"; then
    # measured apart with the first 17 and 34 components of this workload (bench.sh --big-n 17 and
    # 34 against `SCOPE=myorg.big serve-ref.sh`), as the small objects of the export phase do not tell
    skip "$s" big.total_s "$lab: put+validate+persist" "Bit's reference server, measured apart on the first \
100 and 221 MB of this workload (2026-11-22, 2 vCPUs), exported 7.1-7.7 MB/s and peaked at 5.2-5.8 MiB of RSS \
per MB of put (579 and 1,138 MiB): 1 GB would take about 2.2-2.4 min and 5.1-5.7 GiB, which with the scale \
phase does not fit in make bench's 10 minutes"
    return
  fi
  one_body "$typical" "$RUN/first.json"
  note="$(holds "$t" "$RUN/first.json")"
  sync
  if [ -n "${PID[$s]}" ]; then rss_mark "$s"; rss0="$(rss_mib "$s")"; fi
  cpu0="$(cpu_of "$s")"
  export_run "$t" "$wl" put.tar
  cpu1="$(cpu_of "$s")"
  [ -z "$cpu0" ] || cpu="$(calc "$cpu1 - $cpu0")"
  export_record "$s" big "$lab" "$objects" "$bytes" "$versions" "$cpu" "$note"
  if [ -n "${PID[$s]}" ]; then
    peak="$(rss_peak_mib "$s")"
    record big.rss_before_mib "$s" "$rss0" "$lab: server RSS just before"
    record big.peak_rss_mib "$s" "$peak" "$lab: server peak RSS (VmHWM)" "${RSS_NOTE[$s]:-}"
    log "$s: big export: RSS $rss0 MiB before, peak $peak MiB"
  fi
  read -r secs size note < <(sample_check "$t" "$wl" "$typical")
  record big.fetch_s "$s" "$secs" "$lab: then a fetch of 1 component ($(awk "BEGIN { printf \"%.1f\", $size / 1e6 }") MB)" "$note"
}

scale_side() {
  local s=$1 t="$1:scale" wl=$SCALE_WL objects bytes versions first last note cpu0 cpu1 cpu="" size
  local n1 n2 p at1 atn held o secs lab rss0
  n1="$(thousands "$SCALE_FIRST")" n2="$(thousands "$SCALE_N")"
  read -r objects bytes versions < <(json_field "$wl/manifest.json" \
    '"%d %d %d" % (v["objects"], sum(b["tar_bytes"] for b in v["batches"]), v["versions"])')
  lab="scale: growing to $n2 components ($SCALE_PUTS puts of up to $(thousands "$SCALE_PUT_SIZE"))"
  if ! other_scope "$s" scale "$SCALE_SCOPE"; then
    if [ -n "${EXPORT_RATE[$s]:-}" ]; then
      read -r o _ secs <<< "${EXPORT_RATE[$s]}"
      note="$(awk "BEGIN { printf \"at the %.0f objects/s of its export phase in this run, the OBJECTS objects of \
this phase would take about %.1f min\", $o / $secs, $objects * $secs / $o / 60 }")"
      note="${note/OBJECTS/$(thousands "$objects")}"
    else
      note="its export phase did not run, so there is no estimate of the time it would take"
    fi
    [ -z "${PID[$s]}" ] || note="$note; its peak RSS so far: $(awk "BEGIN { printf \"%.0f\", $(rss_peak_mib "$s") }") MiB"
    skip "$s" scale.first.total_s "scale: export of the first $n1 components: put+validate+persist" "$note"
    return
  fi
  head -n "$SCALE_FIRST" "$wl/ids.txt" > "$RUN/scale-first-ids.txt"
  first="$(tail -1 "$RUN/scale-first-ids.txt")" last="$(tail -1 "$wl/ids.txt")"
  one_body "$first" "$RUN/first.json"
  held="$(holds "$t" "$RUN/first.json")"
  sync
  # shellcheck disable=SC2046
  export_run "$t" "$wl" $(tars_of "$wl/manifest.json" 0 1)
  read -r objects bytes versions < <(json_field "$wl/manifest.json" \
    '"%d %d %d" % tuple(v["batches"][0][k] for k in ("objects", "tar_bytes", "versions"))')
  export_record "$s" scale.first "scale: export of the first $n1 components" "$objects" "$bytes" "$versions" "" "$held"
  read -r secs size note < <(sample_check "$t" "$wl" "$first")
  wrk_run "$t" fetch "$SCALE_CONNS" scale.at_first "scale: fetch 1 random of $n1 components, c=$SCALE_CONNS" \
    "${note:+sample $note}" "$RUN/scale-first-ids.txt"

  read -r objects bytes versions < <(json_field "$wl/manifest.json" \
    '"%d %d %d" % tuple(sum(b[k] for b in v["batches"][1:]) for k in ("objects", "tar_bytes", "versions"))')
  if [ -n "${PID[$s]}" ]; then rss_mark "$s"; rss0="$(rss_mib "$s")"; fi
  cpu0="$(cpu_of "$s")"
  # shellcheck disable=SC2046
  export_run "$t" "$wl" $(tars_of "$wl/manifest.json" 1)
  cpu1="$(cpu_of "$s")"
  [ -z "$cpu0" ] || cpu="$(calc "$cpu1 - $cpu0")"
  export_record "$s" scale.grow "$lab" "$objects" "$bytes" "$versions" "$cpu" "$held"
  if [ -n "${PID[$s]}" ]; then
    record scale.grow.rss_before_mib "$s" "$rss0" "$lab: server RSS just before"
    record scale.grow.peak_rss_mib "$s" "$(rss_peak_mib "$s")" "$lab: server peak RSS (VmHWM)" "${RSS_NOTE[$s]:-}"
  fi
  read -r secs size note < <(sample_check "$t" "$wl" "$last")
  wrk_run "$t" fetch "$SCALE_CONNS" scale.at_all "scale: fetch 1 random of $n2 components, c=$SCALE_CONNS" \
    "${note:+sample $note}" "$wl/ids.txt"

  for p in p50 p99; do
    at1="$(result "scale.at_first.${p}_ms" "$s")" atn="$(result "scale.at_all.${p}_ms" "$s")"
    if [ -n "$at1" ] && [ -n "$atn" ]; then
      record "scale.${p}_ratio" "$s" "$(calc "$atn / $at1")" "scale: fetch $p at $n2 / at $n1 components"
    fi
  done
}
