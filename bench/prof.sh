# Profiles of runner (not a benchmark): perf stat and perf record (DWARF call graphs)
# of the B1, B3, B4 and B5 commands, top entries by self and by inclusive time, for
# whoever optimises. `bench/run.sh prof`; needs `perf` (Debian: linux-perf). Build with
# CARGO_PROFILE_RELEASE_STRIP=false CARGO_PROFILE_RELEASE_DEBUG=line-tables-only for
# symbols and file:line in the reports (the release profile strips them), and
# RUNNER_KEEP_UNWIND_TABLES=1 for DWARF call graphs (build.rs drops the unwinding tables
# of a release build on x86_64 Linux).
# Sourced by run.sh.
if ! command -v perf >/dev/null; then
  note "- prof: perf not installed, skipped."
else
  ensure_main_sandbox
  start_sandbox profbulk --assets 250
  P="$RESULTS/prof"; mkdir -p "$P"
  [ -f "$PROJECT/requests/b1.yaml" ] || printf 'url: /assets\nquery: {limit: 4}\n' >"$PROJECT/requests/b1.yaml"
  [ -f "$PROJECT/requests/b3.yaml" ] || printf 'url: /assets\nquery: {limit: 100, sort: "created_at:asc"}\npaginate: {total_pages: $.total_pages, items: $.items, max_pages: 1000}\n' >"$PROJECT/requests/b3.yaml"
  printf 'method: POST\nurl: /assets\nbody:\n  json: {name: "{{ name }}", family_id: "{{ family_id }}", status: active}\nexpect: {status: 201}\n' >"$PROJECT/requests/prof-b4.yaml"
  { echo "name,family_id"; for i in $(seq 1 10000); do echo "Asset $i,00000000-0000-4000-8100-000000000001"; done; } >"$WORK/prof-rows.csv"
  printf 'url: "%s/_sandbox/big?mb=100"\nauth: none\nextract: {ids: "$.items[?@.status==%s].id"}\n' "$URL_main" "'active'" >"$PROJECT/requests/prof-b5.yaml"
  curl -s -o /dev/null "$URL_main/_sandbox/big?mb=100"
  declare -A PROF_CMD=(
    [b1]="for i in \$(seq 1 300); do $RUNNER exec $PROJECT/requests/b1.yaml -p main -o raw >/dev/null; done"
    [b3]="$RUNNER exec $PROJECT/requests/b3.yaml -p main -o jsonl --concurrency 16 >/dev/null"
    [b4]="$RUNNER exec $PROJECT/requests/prof-b4.yaml -p profbulk --data $WORK/prof-rows.csv --concurrency 16 -o none"
    [b5]="$RUNNER exec $PROJECT/requests/prof-b5.yaml -p main >/dev/null"
  )
  for k in b1 b3 b4 b5; do
    log "perf $k"
    # Fewer samples for the long run: DWARF unwinding makes reports slow.
    freq=2000; [ "$k" = b5 ] && freq=400
    perf stat -e task-clock,context-switches,page-faults,instructions,cycles -o "$P/$k.stat" \
      -- bash -c "${PROF_CMD[$k]}" >/dev/null 2>&1 || true
    perf record -q -F "$freq" --call-graph dwarf,16384 -o "$WORK/$k.perf" \
      -- bash -c "${PROF_CMD[$k]}" >/dev/null 2>&1 || true
    perf report -i "$WORK/$k.perf" --comm runner --no-children --stdio --percent-limit 0.7 \
      -g none --sort dso,symbol 2>/dev/null | grep -v '^$' | head -n 60 >"$P/$k.self.txt" || true
    perf report -i "$WORK/$k.perf" --comm runner --children --stdio --percent-limit 2 --no-inline \
      -g none --sort symbol 2>/dev/null | grep -v '^$' | head -n 80 >"$P/$k.children.txt" || true
    rm -f "$WORK/$k.perf"
  done
  stop_sandbox profbulk
  note "- prof: perf reports in \$RESULTS_OUT/prof/ (*.stat, *.self.txt, *.children.txt)."
fi
