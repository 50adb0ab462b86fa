# B6: peak memory (median of /usr/bin/time -f %M) of B1 for runner, curl, xh, hurl,
# and of B3 as items and pages vary. Sourced by run.sh.
ensure_main_sandbox
B1_URL="$URL_main/api/v1/assets?limit=4"
[ -f "$PROJECT/requests/b1.yaml" ] || printf 'url: /assets\nquery: {limit: 4}\n' >"$PROJECT/requests/b1.yaml"
mb() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
B6_RUNNER=$(rss_kb "$RUNS" "$RUNNER" exec "$PROJECT/requests/b1.yaml" -p main -o raw)
row B6 "B1 peak RSS (goal < 15 MB)" "$(mb "$B6_RUNNER")" MB curl "$(mb "$(rss_kb "$RUNS" curl -s -H "Authorization: Bearer $TOKEN_main" "$B1_URL")")"
have xh && row B6 "B1 peak RSS (goal < 15 MB)" "$(mb "$B6_RUNNER")" MB xh "$(mb "$(rss_kb "$RUNS" xh -I --body "$B1_URL" "Authorization:Bearer $TOKEN_main")")"
if have hurl; then
  printf 'GET %s\nAuthorization: Bearer %s\nHTTP 200\n' "$B1_URL" "$TOKEN_main" >"$WORK/b6.hurl"
  row B6 "B1 peak RSS (goal < 15 MB)" "$(mb "$B6_RUNNER")" MB hurl "$(mb "$(rss_kb "$RUNS" hurl "$WORK/b6.hurl")")"
fi
# B3's memory as items and pages vary: 10,000 items in 100 pages of 100 and in 1,000
# pages of 10 (a small sandbox), and 100,000 items in 1,000 pages of 100.
start_sandbox small --assets 10000
for limit in 100 10; do
  cat >"$PROJECT/requests/b6-$limit.yaml" <<YAML
url: /assets
query: {limit: $limit, sort: "created_at:asc"}
paginate: {total_pages: \$.total_pages, items: \$.items, max_pages: 1000}
YAML
done
for out in jsonl body; do
  s100=$(rss_kb "$RUNS_SLOW" "$RUNNER" exec "$PROJECT/requests/b6-100.yaml" -p small -o "$out" --concurrency 16)
  s10=$(rss_kb "$RUNS_SLOW" "$RUNNER" exec "$PROJECT/requests/b6-10.yaml" -p small -o "$out" --concurrency 16)
  big=$(rss_kb "$RUNS_SLOW" "$RUNNER" exec "$PROJECT/requests/b6-100.yaml" -p main -o "$out" --concurrency 16)
  row B6 "B3 -o $out peak RSS: 10k items / 100 pages" "$(mb "$s100")" MB
  row B6 "B3 -o $out peak RSS: 10k items / 1,000 pages" "$(mb "$s10")" MB
  row B6 "B3 -o $out peak RSS: 100k items / 1,000 pages" "$(mb "$big")" MB
done
stop_sandbox small
note "- B6 command: \`/usr/bin/time -f %M CMD\`, median of $RUNS (B1) or $RUNS_SLOW (B3) runs; B3 variants: \`runner exec b6-LIMIT.yaml -p small|main -o jsonl|body --concurrency 16\`."
