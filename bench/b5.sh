# B5: extract $.items[?@.status=='active'].id from a ~100 MB response
# (GET /_sandbox/big?mb=100, no auth, served from memory). Peers: curl | jq,
# curl | jaq; time and each process's peak RSS. Sourced by run.sh.
ensure_main_sandbox
B5_URL="$URL_main/_sandbox/big?mb=100"
curl -s -o /dev/null "$B5_URL"   # generates the document once
B5_BYTES=$(curl -s -o /dev/null -w '%{size_download}' "$B5_URL")
cat >"$PROJECT/requests/b5.yaml" <<YAML
description: The ids of the active items of a 100 MB document
url: "$B5_URL"
auth: none
extract: {ids: "\$.items[?@.status=='active'].id"}
YAML
B5_FILTER='[.items[] | select(.status=="active") | .id]'
cat >"$WORK/b5-jq.sh" <<SH
curl -s '$B5_URL' | jq -c '$B5_FILTER'
SH
cat >"$WORK/b5-jaq.sh" <<SH
curl -s '$B5_URL' | jaq -c '$B5_FILTER'
SH
R=$(cd "$PROJECT" && "$RUNNER" exec requests/b5.yaml -p main | jq '.ids | length')
J=$(bash "$WORK/b5-jq.sh" | jq 'length')
[ "$R" = "$J" ] || warn "B5: runner found $R ids, jq $J"
b5_cmds=(runner "$RUNNER exec $PROJECT/requests/b5.yaml -p main"
  curl-only "curl -s -o /dev/null $B5_URL"
  "curl|jq" "bash $WORK/b5-jq.sh")
have jaq && b5_cmds+=("curl|jaq" "bash $WORK/b5-jaq.sh")
hf b5 "$RUNS_SLOW" -N -- "${b5_cmds[@]}"
B5_RUNNER=$(median_ms b5 runner)
B5_WHAT="extract from $((B5_BYTES / 1000000)) MB ($R ids)"
row B5 "$B5_WHAT" "$B5_RUNNER" ms "curl \| jq (goal < 1)" "$(median_ms b5 'curl|jq')"
have jaq && row B5 "$B5_WHAT" "$B5_RUNNER" ms "curl \| jaq (goal ≤ 1.5)" "$(median_ms b5 'curl|jaq')"
row B5 "$B5_WHAT" "$B5_RUNNER" ms "curl -o /dev/null (transfer floor)" "$(median_ms b5 curl-only)"
# Peak memory: each process of a pipeline on its own.
B5_RSS_RUNNER=$(cd "$PROJECT" && rss_kb "$RUNS_SLOW" "$RUNNER" exec requests/b5.yaml -p main)
rss_sh_kb "$RUNS_SLOW" "/usr/bin/time -f %M -o \$RSS_DIR/curl curl -s '$B5_URL' | /usr/bin/time -f %M -o \$RSS_DIR/jq jq -c '$B5_FILTER'" >"$WORK/b5-rss-jq"
if have jaq; then
  rss_sh_kb "$RUNS_SLOW" "/usr/bin/time -f %M -o \$RSS_DIR/curl curl -s '$B5_URL' | /usr/bin/time -f %M -o \$RSS_DIR/jaq jaq -c '$B5_FILTER'" >"$WORK/b5-rss-jaq"
fi
mb() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
row B5 "peak RSS" "$(mb "$B5_RSS_RUNNER")" MB "jq (goal < 1)" "$(mb "$(sed -n 's/^jq=//p' "$WORK/b5-rss-jq")")"
have jaq && row B5 "peak RSS" "$(mb "$B5_RSS_RUNNER")" MB "jaq (goal < 1)" "$(mb "$(sed -n 's/^jaq=//p' "$WORK/b5-rss-jaq")")"
note "- B5: document $B5_BYTES bytes; curl's own peak RSS in the pipelines: $(mb "$(sed -n 's/^curl=//p' "$WORK/b5-rss-jq")") MB."
note "- B5 command: \`hyperfine -N --warmup 3 --runs $RUNS_SLOW 'runner exec b5.yaml -p main' 'curl -s -o /dev/null URL' 'bash -c \"curl -s URL | jq -c '$B5_FILTER'\"' (and jaq)\`; memory: \`/usr/bin/time -f %M\` on each process, median of $RUNS_SLOW."
