# pairs: B3 and B4 against oha (issue 27's goal 3), the commands taking turns round
# after round (bench/pair.py) instead of one hyperfine series after the other, with the
# CPU of each client and of the sandbox it talks to. On a machine whose speed drifts
# within minutes, this is the comparison to quote. Not in the default list.
# Sourced by run.sh.
have oha || { note "- pairs: oha not installed, skipped."; return 0; }
PAIR_ROUNDS=${PAIR_ROUNDS:-20}
b3_files
log "pairs: B3, $PAIR_ROUNDS rounds"
python3 "$BENCH_DIR/pair.py" --rounds "$PAIR_ROUNDS" --json "$RESULTS/pairs-b3.json" --server-pid "$PID_main" \
  runner "$RUNNER exec $PROJECT/requests/b3.yaml -p main -o jsonl --concurrency 16" \
  oha "oha --no-tui -n 1000 -c 16 --urls-from-file $WORK/b3-urls.txt -H 'Authorization: Bearer $TOKEN_main'" \
  | tee "$WORK/pairs-b3.txt" >&2

b4_files
log "pairs: B4, $PAIR_ROUNDS rounds"
python3 "$BENCH_DIR/pair.py" --rounds "$PAIR_ROUNDS" --json "$RESULTS/pairs-b4.json" --server-pid "$PID_bulk" \
  runner "$RUNNER exec $PROJECT/requests/b4.yaml -p bulk --data $WORK/b4-rows.csv --concurrency 16 -o none" \
  oha "oha --no-tui -n 10000 -c 16 -m POST -d '$B4_BODY' -H 'Content-Type: application/json' -H 'Accept: application/json' -H 'Authorization: Bearer $TOKEN_bulk' $URL_bulk/api/v1/assets" \
  | tee "$WORK/pairs-b4.txt" >&2
stop_sandbox bulk

pair_ms() { jq -r --arg n "$2" '.results[$n].median_ms' "$RESULTS/pairs-$1.json"; }
row B3 "1,000 pages → 100,000 JSON lines, c16, taking turns" "$(pair_ms b3 runner)" ms "oha c16, taking turns (goal ≤ 1.0, issue 27)" "$(pair_ms b3 oha)"
row B4 "10,000 POSTs from CSV, c16, taking turns" "$(pair_ms b4 runner)" ms "oha c16, taking turns (goal ≤ 1.0, issue 27)" "$(pair_ms b4 oha)"
note "- pairs ($PAIR_ROUNDS rounds, \`bench/pair.py\`; medians; CPU of the client's processes and of the sandbox during each run):"
while read -r line; do note "  - B3 $line"; done <"$WORK/pairs-b3.txt"
while read -r line; do note "  - B4 $line"; done <"$WORK/pairs-b4.txt"
