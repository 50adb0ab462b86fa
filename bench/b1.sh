# B1: one authenticated GET of a ~1 KB JSON, whole process, token cached.
# Peers: curl, xh, hurl. Sourced by run.sh.
ensure_main_sandbox
B1_URL="$URL_main/api/v1/assets?limit=4"
B1_BYTES=$(curl -s -H "Authorization: Bearer $TOKEN_main" "$B1_URL" | wc -c)
cat >"$PROJECT/requests/b1.yaml" <<'YAML'
description: One page of four assets (about 1 KB of JSON)
url: /assets
query: {limit: 4}
YAML
cat >"$WORK/b1.hurl" <<HURL
GET $B1_URL
Authorization: Bearer $TOKEN_main
Accept: application/json
HTTP 200
HURL
b1_cmds=(runner "$RUNNER exec $PROJECT/requests/b1.yaml -p main -o raw"
  curl "curl -s -H 'Accept: application/json' -H 'Authorization: Bearer $TOKEN_main' $B1_URL")
have xh && b1_cmds+=(xh "xh -I --body $B1_URL Accept:application/json 'Authorization:Bearer $TOKEN_main'")
have hurl && b1_cmds+=(hurl "hurl $WORK/b1.hurl")
hf b1 "$((RUNS * 5))" -N -- "${b1_cmds[@]}"
B1_RUNNER=$(median_ms b1 runner)
row B1 "GET ${B1_BYTES} B, whole process" "$B1_RUNNER" ms "curl (goal < 0.55)" "$(median_ms b1 curl)"
have xh && row B1 "GET ${B1_BYTES} B, whole process" "$B1_RUNNER" ms xh "$(median_ms b1 xh)"
have hurl && row B1 "GET ${B1_BYTES} B, whole process" "$B1_RUNNER" ms hurl "$(median_ms b1 hurl)"
have xh || note "- B1: xh not installed, skipped."
have hurl || note "- B1: hurl not installed, skipped."
note "- B1 command: \`hyperfine -N --warmup 3 --runs $((RUNS * 5)) 'runner exec b1.yaml -p main -o raw' 'curl -s -H ... $B1_URL' 'xh -I --body ...' 'hurl b1.hurl'\`"
