# The sandbox's ceiling: oha (no runner involved) against each route the workloads use,
# so the table can say whether a figure is bounded by the server. Both oha and the
# sandbox share this machine's cores, as runner and the sandbox do. Sourced by run.sh.
ensure_main_sandbox
mkdir -p "$WORK/ceiling"
rps() { awk '/Requests\/sec/ {print $2}' "$1"; }
if have oha; then
  oha --no-tui -n 20000 -c 16 -H "Authorization: Bearer $TOKEN_main" \
    "$URL_main/api/v1/assets?limit=4" >"$WORK/ceiling/b1.txt" 2>&1
  oha --no-tui -n 3000 -c 16 -H "Authorization: Bearer $TOKEN_main" \
    "$URL_main/api/v1/assets?limit=100&sort=created_at:asc&page=500" >"$WORK/ceiling/b3.txt" 2>&1
  start_sandbox ceiling --assets 250
  oha --no-tui -n 20000 -c 16 -m POST -H 'Content-Type: application/json' \
    -H "Authorization: Bearer $TOKEN_ceiling" \
    -d '{"name":"Ceiling","family_id":"00000000-0000-4000-8100-000000000001","status":"active"}' \
    "$URL_ceiling/api/v1/assets" >"$WORK/ceiling/b4.txt" 2>&1
  stop_sandbox ceiling
  curl -s -o /dev/null "$URL_main/_sandbox/big?mb=100"
  oha --no-tui -n 20 -c 1 "$URL_main/_sandbox/big?mb=100" >"$WORK/ceiling/b5.txt" 2>&1
  cp -r "$WORK/ceiling" "$RESULTS/"
  C1=$(rps "$WORK/ceiling/b1.txt"); C3=$(rps "$WORK/ceiling/b3.txt")
  C4=$(rps "$WORK/ceiling/b4.txt"); C5=$(rps "$WORK/ceiling/b5.txt")
  row ceiling "sandbox alone, oha c16: GET 1 KB page" "$C1" req/s
  row ceiling "sandbox alone, oha c16: GET 100-item page (B3)" "$C3" req/s
  row ceiling "sandbox alone, oha c16: POST asset (B4)" "$C4" req/s
  row ceiling "sandbox alone, oha c1: GET 100 MB document (B5)" "$C5" req/s
  note "- ceiling: B3 at the sandbox's ceiling would take $(awk -v r="$C3" 'BEGIN { printf "%.0f", 1000 / r * 1000 }') ms for 1,000 pages; B4 $(awk -v r="$C4" 'BEGIN { printf "%.0f", 10000 / r * 1000 }') ms for 10,000 POSTs; B5 $(awk -v r="$C5" 'BEGIN { printf "%.0f", 1000 / r }') ms per 100 MB document (oha's own CPU included: the two share 2 cores)."
else
  note "- ceiling: oha not installed; the sandbox's ceiling was not measured."
fi
