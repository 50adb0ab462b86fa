# B9: a 300 MB file uploaded (POST /_sandbox/sink, which counts the bytes and keeps
# none). runner's body: {file: …} vs curl --data-binary @file; time and peak RSS.
# Sourced by run.sh.
ensure_main_sandbox
B9_BYTES=$((300 * 1024 * 1024))
B9_FILE="$WORK/b9.bin"
head -c "$B9_BYTES" /dev/urandom >"$B9_FILE"
B9_URL="$URL_main/_sandbox/sink"
cat >"$PROJECT/requests/b9.yaml" <<YAML
description: A 300 MiB upload, streamed from disk
method: POST
url: "$B9_URL"
auth: none
body: {file: "$B9_FILE"}
YAML
got=$(cd "$PROJECT" && "$RUNNER" exec requests/b9.yaml -p main | jq .bytes)
[ "$got" = "$B9_BYTES" ] || warn "B9: the sandbox received $got bytes from runner, not $B9_BYTES"
b9_cmds=(runner "$RUNNER exec $PROJECT/requests/b9.yaml -p main -o none"
  curl "curl -s -o /dev/null --data-binary @$B9_FILE $B9_URL")
hf b9 "$RUNS_SLOW" -N -- "${b9_cmds[@]}"
B9_RUNNER=$(median_ms b9 runner)
row B9 "300 MiB upload" "$B9_RUNNER" ms "curl --data-binary @file (goal ≤ 1.2)" "$(median_ms b9 curl)"
mb() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
B9_RSS=$(cd "$PROJECT" && rss_kb "$RUNS_SLOW" "$RUNNER" exec requests/b9.yaml -p main -o none)
row B9 "peak RSS (goal ≤ 32 MB)" "$(mb "$B9_RSS")" MB "curl" "$(mb "$(rss_kb "$RUNS_SLOW" curl -s -o /dev/null --data-binary "@$B9_FILE" "$B9_URL")")"
note "- B9 command: \`hyperfine -N --warmup 3 --runs $RUNS_SLOW 'runner exec b9.yaml -p main -o none' 'curl -s -o /dev/null --data-binary @FILE URL'\`; memory: \`/usr/bin/time -f %M\`, median of $RUNS_SLOW."
rm -f "$B9_FILE"
