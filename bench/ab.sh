#!/usr/bin/env bash
# A/B of two runner binaries on B1 (one authenticated GET, whole process) and, if
# given, B4 (bulk POSTs) and B3 (1,000 pages to 100,000 JSON lines, c16; per thread,
# md5 of the output, and oha's wall time beside): instructions per run (valgrind's callgrind count, which the
# machine's load does not move; the VM has no perf counters) and wall time with hyperfine,
# both binaries in the same minutes, plus curl's wall time as the yardstick.
#   bench/ab.sh OLD_BINARY NEW_BINARY [b4] [b3]
# Environment: RUNS (default 60). Not run by CI.
set -euo pipefail
BENCH_DIR=$(cd "$(dirname "$0")" && pwd)
[ $# -ge 2 ] || { echo "usage: bench/ab.sh OLD_BINARY NEW_BINARY [b4] [b3]" >&2; exit 2; }
OLD=$(realpath "$1") NEW=$(realpath "$2")
RUNS=${RUNS:-60}
WORK=$(mktemp -d /tmp/runner-ab.XXXXXX)
PROJECT=$WORK/project RESULTS=$WORK/results
mkdir -p "$PROJECT/profiles" "$PROJECT/requests" "$RESULTS"
RUNNER=$NEW
# shellcheck source=bench/lib.sh
. "$BENCH_DIR/lib.sh"
trap 'stop_all; rm -rf "$WORK"' EXIT
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY ALL_PROXY all_proxy
export NO_PROXY='*' RUNNER_STATE_DIR=$WORK/state RUNNER_ROOT=$PROJECT NO_COLOR=1
export BENCH_CLIENT_SECRET=sandbox-secret BENCH_PASSWORD=demo
ensure_main_sandbox
printf 'url: /assets\nquery: {limit: 4}\n' >"$PROJECT/requests/b1.yaml"
B1_URL="$URL_main/api/v1/assets?limit=4"
echo "# A/B, $(date -u '+%Y-%m-%d %H:%M UTC'), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "- old: $OLD ($(stat -c %s "$OLD") bytes); new: $NEW ($(stat -c %s "$NEW") bytes)"
instr() { # instr N BINARY ARGS...: median instruction count (callgrind) of N runs
  local n=$1 i; shift
  for i in $(seq 1 "$n"); do
    valgrind --tool=callgrind --callgrind-out-file=/dev/null "$@" 2>&1 >/dev/null \
      | awk '/Collected :/ {print $NF}'
  done | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'
}
for b in old new; do
  bin=$OLD; [ $b = new ] && bin=$NEW
  echo "- B1 $b: $(instr 5 "$bin" exec "$PROJECT/requests/b1.yaml" -p main -o raw) instructions (median of 5)"
done
hyperfine -N --warmup 5 --runs "$RUNS" --export-json "$WORK/b1.json" \
  -n old "$OLD exec $PROJECT/requests/b1.yaml -p main -o raw" \
  -n new "$NEW exec $PROJECT/requests/b1.yaml -p main -o raw" \
  -n curl "curl -s -H 'Accept: application/json' -H 'Authorization: Bearer $TOKEN_main' $B1_URL" >/dev/null
WORK_JSON=$WORK/b1.json
for n in old new curl; do
  printf -- '- B1 wall %s: %s ms median\n' "$n" "$(jq -r --arg n $n '.results[] | select(.command == $n) | .median * 1000' "$WORK_JSON")"
done
jq -r '[.results[] | {(.command): .median}] | add | "- B1 ratio to curl: old \(.old / .curl * 100 | round / 100), new \(.new / .curl * 100 | round / 100)"' "$WORK_JSON"
want() { # want WORKLOAD ARGS...: whether WORKLOAD is among the arguments after the binaries
  local w=$1; shift 3
  case " $* " in *" $w "*) return 0 ;; esac; return 1
}
ALL_ARGS=("$@")
if want b4 "${ALL_ARGS[@]}"; then
  start_sandbox bulk --assets 250
  { echo "name,family_id"; for i in $(seq -w 1 10000); do echo "Asset $i,00000000-0000-4000-8100-000000000001"; done; } >"$WORK/rows.csv"
  printf 'method: POST\nurl: /assets\nbody:\n  json: {name: "{{ name }}", family_id: "{{ family_id }}", status: active}\nexpect: {status: 201}\n' >"$PROJECT/requests/b4.yaml"
  for b in old new; do
    bin=$OLD; [ $b = new ] && bin=$NEW
    echo "- B4 $b: $(instr 1 "$bin" exec "$PROJECT/requests/b4.yaml" -p bulk --data "$WORK/rows.csv" --concurrency 16 -o none) instructions (one run)"
  done
  hyperfine -N --warmup 2 --runs 5 --export-json "$WORK/b4.json" \
    -n old "$OLD exec $PROJECT/requests/b4.yaml -p bulk --data $WORK/rows.csv --concurrency 16 -o none" \
    -n new "$NEW exec $PROJECT/requests/b4.yaml -p bulk --data $WORK/rows.csv --concurrency 16 -o none" >/dev/null
  for n in old new; do
    printf -- '- B4 wall %s: %s ms median\n' "$n" "$(jq -r --arg n $n '.results[] | select(.command == $n) | .median * 1000' "$WORK/b4.json")"
  done
fi
. "$BENCH_DIR/ab_b3.sh"
echo "- load after: $(cut -d' ' -f1-3 /proc/loadavg)"
