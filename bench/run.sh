#!/usr/bin/env bash
# Benchmarks runner against its peers on loopback; see bench/README.md.
#   bench/run.sh            every workload (the sandbox ceiling, then B1..B6)
#   bench/run.sh b1 b3      a subset (b10, beside the npm collection runners, and pairs,
#                           B3/B4 and oha taking turns, only when named)
# Environment: RUNS (default 10) for fast workloads; RUNS_SLOW (default 5) for the
# seconds-long ones; BENCH_KEEP=1 keeps the temp dir; BENCH_NO_INSTALL=1 skips
# installing peers; BENCH_NO_BUILD=1 skips the release build; RESULTS_OUT=DIR keeps
# the JSON exports; CARGO_TARGET_DIR as usual.
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$BENCH_DIR/.." && pwd)
RUNS=${RUNS:-10}
RUNS_SLOW=${RUNS_SLOW:-5}
WORK=$(mktemp -d /tmp/runner-bench.XXXXXX)
RESULTS=${RESULTS:-$WORK/results}
PROJECT=$WORK/project
mkdir -p "$RESULTS" "$PROJECT/profiles" "$PROJECT/requests"

# shellcheck source=bench/lib.sh
. "$BENCH_DIR/lib.sh"

cleanup() {
  stop_all
  if [ "${BENCH_KEEP:-0}" = 1 ]; then log "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

workloads=("$@")
[ ${#workloads[@]} -gt 0 ] || workloads=(ceiling b1 b2 b3 b4 b5 b6 b7 b8 b9)
for w in "${workloads[@]}"; do
  [ -f "$BENCH_DIR/$w.sh" ] || { warn "unknown workload $w (expected ceiling, b1..b10, pairs, prof)"; exit 2; }
done

install_peers

if [ "${BENCH_NO_BUILD:-0}" = 1 ]; then
  log "BENCH_NO_BUILD=1: using the runner binary already built"
else
  log "cargo build --release"
  (cd "$REPO" && cargo build --release >&2)
fi
RUNNER="${CARGO_TARGET_DIR:-$REPO/target}/release/runner"
[ -x "$RUNNER" ] || { warn "no binary at $RUNNER"; exit 1; }
# Peers and runner alike: loopback only, no proxy in the way.
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY ALL_PROXY all_proxy
export NO_PROXY='*'
export RUNNER_STATE_DIR=$WORK/state RUNNER_ROOT=$PROJECT NO_COLOR=1
export BENCH_CLIENT_SECRET=sandbox-secret BENCH_PASSWORD=demo

busy=$(pgrep -fa 'cargo-fuzz|fuzz/target' | grep -v pgrep || true)
{
  echo "# runner benchmarks, $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo
  echo "- machine: $(nproc) cores, $(free -h | awk '/^Mem:/ {print $2}') memory, kernel $(uname -r)"
  echo "- load before the run: $(cut -d' ' -f1-3 /proc/loadavg)${busy:+; WARNING: a fuzzing run was active}"
  echo "- runner $("$RUNNER" --version | cut -d' ' -f2) ($(cd "$REPO" && git rev-parse --short HEAD)); peers: curl $(curl --version | head -n1 | cut -d' ' -f2), jq $(jq --version), hyperfine $(hyperfine --version | cut -d' ' -f2)$(have xh && echo ", xh $(xh --version | head -n1 | cut -d' ' -f2)")$(have oha && echo ", oha $(oha --version | cut -d' ' -f2)")$(have jaq && echo ", jaq $(jaq --version | cut -d' ' -f2)")$(have hurl && echo ", hurl $(hurl --version | head -n1 | cut -d' ' -f2)")"
  echo "- runs: RUNS=$RUNS, RUNS_SLOW=$RUNS_SLOW, hyperfine --warmup 3; medians; ratio = runner ÷ peer (below 1.00: runner faster or smaller)"
  echo
} >"$RESULTS/header.md"
printf '| # | measure | runner | peer | peer value | ratio |\n|---|---|---|---|---|---|\n' >"$RESULTS/table.md"
: >"$RESULTS/notes.md"

for w in "${workloads[@]}"; do
  log "workload $w"
  # shellcheck disable=SC1090
  . "$BENCH_DIR/$w.sh"
done

cat "$RESULTS/header.md" "$RESULTS/table.md"
echo
cat "$RESULTS/notes.md"
if [ -n "${RESULTS_OUT:-}" ]; then
  mkdir -p "$RESULTS_OUT" && cp -r "$RESULTS"/. "$RESULTS_OUT"/
  log "results copied to $RESULTS_OUT"
fi
