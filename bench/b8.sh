# B8: a 200 MB response written to a file (GET /_sandbox/bytes, generated as it is
# sent, no auth). runner -o raw vs curl -o and xh --download; time and peak RSS.
# Sourced by run.sh.
ensure_main_sandbox
B8_BYTES=$((200 * 1024 * 1024))
B8_URL="$URL_main/_sandbox/bytes?n=$B8_BYTES"
cat >"$PROJECT/requests/b8.yaml" <<YAML
description: A 200 MiB download, streamed to stdout
url: "$B8_URL"
auth: none
YAML
# Every command writes a file: the shell's redirection for runner, the tool's own
# option for the peers (a shell starts each, the same cost for all).
b8_cmds=(runner "$RUNNER exec $PROJECT/requests/b8.yaml -p main -o raw > $WORK/b8.runner"
  curl "curl -s -o $WORK/b8.curl '$B8_URL'")
have xh && b8_cmds+=(xh "xh GET --ignore-stdin --download -q -o $WORK/b8.xh '$B8_URL'")
hf b8 "$RUNS_SLOW" -- "${b8_cmds[@]}"
for f in "$WORK"/b8.*; do
  [ "$(stat -c %s "$f")" = "$B8_BYTES" ] || warn "B8: $f has $(stat -c %s "$f") bytes, not $B8_BYTES"
done
B8_RUNNER=$(median_ms b8 runner)
row B8 "200 MiB to a file" "$B8_RUNNER" ms "curl -o (goal ≤ 1.2)" "$(median_ms b8 curl)"
have xh && row B8 "200 MiB to a file" "$B8_RUNNER" ms "xh --download" "$(median_ms b8 xh)"
mb() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
B8_RSS=$(cd "$PROJECT" && rss_kb "$RUNS_SLOW" "$RUNNER" exec requests/b8.yaml -p main -o raw)
row B8 "peak RSS (goal ≤ 32 MB)" "$(mb "$B8_RSS")" MB "curl" "$(mb "$(rss_kb "$RUNS_SLOW" curl -s -o "$WORK/b8.curl" "$B8_URL")")"
have xh || note "- B8: xh not installed, skipped."
note "- B8 command: \`hyperfine --warmup 3 --runs $RUNS_SLOW 'runner exec b8.yaml -p main -o raw > FILE' 'curl -s -o FILE URL' 'xh GET --ignore-stdin --download -q -o FILE URL'\`; memory: \`/usr/bin/time -f %M\`, median of $RUNS_SLOW."
rm -f "$WORK"/b8.*
