# B7: `runner serve` as a gateway. curl through it (the access key, no token) vs curl
# straight at the sandbox (the token by hand), the same ~1 KB page. Two measures: a
# curl process per request, and 200 requests over one kept-alive connection (one
# curl, a URL glob); the overhead per request is the difference of the medians.
# Goal: under 1 ms at the median. Sourced by run.sh.
ensure_main_sandbox
B7_OUT="$WORK/serve.out"
(cd "$PROJECT" && exec "$RUNNER" serve -p main --port 0 >"$B7_OUT" 2>"$WORK/serve.err") &
B7_PID=$!
echo "$B7_PID" >>"$WORK/pids"
B7_GW=""
for _ in $(seq 1 600); do
  B7_GW=$(head -n 1 "$B7_OUT" 2>/dev/null || true)
  [ -n "$B7_GW" ] && grep -q 'access key' "$WORK/serve.err" && break
  kill -0 "$B7_PID" 2>/dev/null || { cat "$WORK/serve.err" >&2; exit 1; }
  sleep 0.05
done
[ -n "$B7_GW" ] || { warn "runner serve did not print its URL"; exit 1; }
B7_KEY=$(grep 'access key' "$WORK/serve.err" | awk '{print $NF}')
B7_Q="assets?limit=4"
B7_DIRECT="$URL_main/api/v1/$B7_Q"
B7_VIA="$B7_GW/$B7_Q"
# Same bytes both ways.
a=$(curl -s -H "Authorization: Bearer $TOKEN_main" "$B7_DIRECT" | md5sum)
b=$(curl -s -H "X-Runner-Key: $B7_KEY" "$B7_VIA" | md5sum)
[ "$a" = "$b" ] || warn "B7: the gateway's body differs from the sandbox's"
hf b7 "$((RUNS * 10))" -N -- \
  gateway "curl -s -H 'X-Runner-Key: $B7_KEY' $B7_VIA" \
  direct "curl -s -H 'Authorization: Bearer $TOKEN_main' $B7_DIRECT"
B7_G=$(median_ms b7 gateway)
B7_D=$(median_ms b7 direct)
row B7 "curl through runner serve, a process per request" "$B7_G" ms "curl straight" "$B7_D"
row B7 "overhead per request, a process each (goal < 1 ms)" "$(awk -v g="$B7_G" -v d="$B7_D" 'BEGIN { print g - d }')" ms
hf b7k "$RUNS" -N -- \
  gateway "curl -s -H 'X-Runner-Key: $B7_KEY' $B7_VIA&page=[1-200]" \
  direct "curl -s -H 'Authorization: Bearer $TOKEN_main' $B7_DIRECT&page=[1-200]"
B7K_G=$(median_ms b7k gateway)
B7K_D=$(median_ms b7k direct)
row B7 "200 requests over one connection, through runner serve" "$B7K_G" ms "curl straight" "$B7K_D"
row B7 "overhead per request, kept alive (goal < 1 ms)" "$(awk -v g="$B7K_G" -v d="$B7K_D" 'BEGIN { print (g - d) / 200 }')" ms
note "- B7 commands: \`runner serve -p main --port 0\`, then \`hyperfine -N --warmup 3 --runs $((RUNS * 10)) \"curl -s -H 'X-Runner-Key: KEY' GW/$B7_Q\" \"curl -s -H 'Authorization: Bearer TOKEN' SANDBOX/api/v1/$B7_Q\"\` and the same with \`&page=[1-200]\` (one curl, 200 requests, one connection), --runs $RUNS; overhead = difference of the medians (÷ 200 for the second)."
kill "$B7_PID" 2>/dev/null || true
wait "$B7_PID" 2>/dev/null || true
