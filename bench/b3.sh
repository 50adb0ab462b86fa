# B3: all 100,000 assets, 1,000 pages of 100, to JSON lines, token cached.
# Peers: a sequential curl loop (one process per page); oha fetching the same 1,000
# URLs at concurrency 16; for reference, one curl process over the same URLs
# sequentially (URL glob, connection reused) and in parallel (-Z, 16 at once).
# Sourced by run.sh.
b3_files
B3_LINES=$(cd "$PROJECT" && "$RUNNER" exec requests/b3.yaml -p main -o jsonl --concurrency 16 | wc -l)
[ "$B3_LINES" = 100000 ] || warn "B3: runner printed $B3_LINES lines, expected 100000"
cat >"$WORK/b3-curl-loop.sh" <<SH
for p in \$(seq 1 1000); do
  curl -s -H 'Accept: application/json' -H 'Authorization: Bearer $TOKEN_main' "$B3_BASE&page=\$p"
done
SH
b3_cmds=(runner "$RUNNER exec $PROJECT/requests/b3.yaml -p main -o jsonl --concurrency 16"
  curl-loop "bash $WORK/b3-curl-loop.sh"
  curl-glob "curl -s -H 'Authorization: Bearer $TOKEN_main' '$B3_BASE&page=[1-1000]'"
  curl-Z16 "curl -s -Z --parallel-max 16 -H 'Authorization: Bearer $TOKEN_main' '$B3_BASE&page=[1-1000]'")
if have oha; then
  if oha --help 2>&1 | grep -q -- '--urls-from-file'; then
    b3_cmds+=(oha "oha --no-tui -n 1000 -c 16 --urls-from-file $WORK/b3-urls.txt -H 'Authorization: Bearer $TOKEN_main'")
    B3_OHA_NOTE="the same 1,000 URLs (--urls-from-file)"
  else
    b3_cmds+=(oha "oha --no-tui -n 1000 -c 16 -H 'Authorization: Bearer $TOKEN_main' '$B3_BASE&page=500'")
    B3_OHA_NOTE="page 500 fetched 1,000 times (this oha has no --urls-from-file)"
  fi
fi
hf b3 "$RUNS_SLOW" -N -- "${b3_cmds[@]}"
B3_RUNNER=$(median_ms b3 runner)
row B3 "1,000 pages → 100,000 JSON lines, c16" "$B3_RUNNER" ms "curl loop (goal ≤ 0.20)" "$(median_ms b3 curl-loop)"
have oha && row B3 "1,000 pages → 100,000 JSON lines, c16" "$B3_RUNNER" ms "oha c16 (goal ≤ 1.0, issue 27)" "$(median_ms b3 oha)"
row B3 "1,000 pages → 100,000 JSON lines, c16" "$B3_RUNNER" ms "curl, 1 process, sequential" "$(median_ms b3 curl-glob)"
row B3 "1,000 pages → 100,000 JSON lines, c16" "$B3_RUNNER" ms "curl -Z, 1 process, c16" "$(median_ms b3 curl-Z16)"
have oha && note "- B3: oha fetched ${B3_OHA_NOTE}."
have oha || note "- B3: oha not installed, skipped."
note "- B3 command: \`hyperfine -N --warmup 3 --runs $RUNS_SLOW 'runner exec b3.yaml -p main -o jsonl --concurrency 16' 'bash b3-curl-loop.sh' 'curl -s ... \"$B3_BASE&page=[1-1000]\"' 'curl -s -Z --parallel-max 16 ...' 'oha --no-tui -n 1000 -c 16 --urls-from-file urls.txt ...'\`; the curl peers write the raw pages and do not split items into lines."
