#!/usr/bin/env bash
# Build cost: a clean `cargo build --release` (empty target dir, registry already
# downloaded) with its time, the number of crates compiled, the binary's size as built
# and stripped, and the slowest units from `cargo build --timings`; with `test`, the
# clean debug build `cargo test` needs (`cargo test --no-run`). Not run by CI.
#   bench/build.sh               release
#   bench/build.sh test          the debug test build
#   bench/build.sh release test  both, one after the other
# Environment: BUILD_REV=REV builds that commit (`git archive`) instead of the working
# tree; BUILD_KEEP=1 keeps the temp dir (its target/ holds the binary and the
# cargo-timings report); BUILD_OUT=DIR copies the report and the binary there.
#
# The tree is copied to a temp dir under /tmp first, so that the profiles measured are
# the repository's own (Cargo.toml) and not those of a `.cargo/config.toml` in a parent
# of the checkout; only $CARGO_HOME/config.toml still applies, and it is printed.
# The machine's load changes every figure: `uptime` is printed before and after; compare
# only builds made under the same load.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
modes=("$@")
[ ${#modes[@]} -gt 0 ] || modes=(release)
WORK=$(mktemp -d /tmp/runner-build.XXXXXX)
cleanup() { if [ "${BUILD_KEEP:-0}" = 1 ]; then echo "kept $WORK" >&2; else rm -rf "$WORK"; fi; }
trap cleanup EXIT

mkdir -p "$WORK/src"
if [ -n "${BUILD_REV:-}" ]; then
  (cd "$REPO" && git archive "$BUILD_REV") | tar -xf - -C "$WORK/src"
  what="commit $(cd "$REPO" && git rev-parse --short "$BUILD_REV")"
else
  (cd "$REPO" && git ls-files -z --cached --others --exclude-standard) \
    | (cd "$REPO" && tar --null --ignore-failed-read -T - -cf - 2>/dev/null) \
    | tar -xf - -C "$WORK/src"
  what="working tree of $(cd "$REPO" && git rev-parse --short HEAD)$(cd "$REPO" && git diff --quiet HEAD || echo ' + uncommitted changes')"
fi
cd "$WORK/src"
export CARGO_TARGET_DIR=$WORK/target
CH=${CARGO_HOME:-$HOME/.cargo}
echo "# runner build cost, $(date -u '+%Y-%m-%d %H:%M UTC'): $what"
echo "- machine: $(nproc) cores; $(rustc --version); $(cargo --version)"
for c in "$CH/config.toml" "$CH/config"; do
  [ -f "$c" ] && echo "- applies: $c: $(tr '\n' ' ' <"$c")"
done
cargo fetch --locked >/dev/null 2>&1 || cargo fetch >/dev/null

# timed LABEL CMD...: runs CMD, prints wall and CPU time, the load before and after and
# the number of crates compiled.
timed() {
  local label=$1; shift
  local before; before=$(cut -d' ' -f1-3 /proc/loadavg)
  local start; start=$(date +%s.%N)
  /usr/bin/time -f '%U %S' -o "$WORK/time.txt" "$@" 2>"$WORK/$label.log" \
    || { tail -n 30 "$WORK/$label.log" >&2; exit 1; }
  local end; end=$(date +%s.%N)
  local crates; crates=$(grep -c '^ *Compiling ' "$WORK/$label.log" || true)
  read -r user sys <"$WORK/time.txt"
  awk -v s="$start" -v e="$end" -v u="$user" -v y="$sys" -v l="$label" -v c="$crates" \
    'BEGIN { printf "- %s: %.0f s wall, %.0f s CPU (user+sys), %d crates compiled\n", l, e - s, u + y, c }'
  echo "  - load average before: $before; after: $(cut -d' ' -f1-3 /proc/loadavg)"
}

# slowest: the 12 slowest units of the last --timings report.
slowest() {
  local html=$CARGO_TARGET_DIR/cargo-timings/cargo-timing.html
  [ -f "$html" ] || return 0
  python3 - "$html" <<'PY'
import json, re, sys
text = open(sys.argv[1]).read()
m = re.search(r"const UNIT_DATA = (\[.*?\]);\n", text, re.S)
if not m:
    print("  - (no unit data in the --timings report)")
    sys.exit(0)
units = json.loads(m.group(1))
units.sort(key=lambda u: -u["duration"])
print("  - slowest units (s, codegen where reported):",
      "; ".join(f'{u["name"]} {u["version"]}{" " + u["target"].strip() if u["target"].strip() else ""} '
                f'{u["duration"]:.1f}' for u in units[:12]))
PY
}

for mode in "${modes[@]}"; do
  case $mode in
    release)
      timed "cargo build --release" cargo build --release --locked --timings
      slowest || echo "  - (the --timings summary failed)"
      bin=$CARGO_TARGET_DIR/release/runner
      strip -o "$WORK/runner.stripped" "$bin"
      echo "- release binary: $(stat -c %s "$bin") bytes as built, $(stat -c %s "$WORK/runner.stripped") stripped"
      size -A "$bin" | awk '$1 ~ /^\.(text|rodata|data\.rel\.ro|eh_frame|gcc_except_table|rela\.dyn)$/ { printf "  - %s %d\n", $1, $2 }'
      if [ -n "${BUILD_OUT:-}" ]; then
        mkdir -p "$BUILD_OUT" && cp "$bin" "$BUILD_OUT/runner" \
          && cp "$CARGO_TARGET_DIR"/cargo-timings/cargo-timing.html "$BUILD_OUT/release-timing.html"
      fi
      ;;
    test)
      timed "cargo test --no-run" cargo test --no-run --locked --timings
      slowest || echo "  - (the --timings summary failed)"
      echo "- target/debug: $(du -sh "$CARGO_TARGET_DIR/debug" | cut -f1)"
      if [ -n "${BUILD_OUT:-}" ]; then
        mkdir -p "$BUILD_OUT" && cp "$CARGO_TARGET_DIR"/cargo-timings/cargo-timing.html "$BUILD_OUT/test-timing.html"
      fi
      ;;
    *) echo "unknown mode $mode (expected release or test)" >&2; exit 2 ;;
  esac
done
