# B3 in bench/ab.sh (sourced when `b3` is given): the whole run under callgrind with
# one count per thread (the `pages` thread splits pages into items), the md5 of the
# 100,000 lines, and hyperfine of both binaries and oha (if installed) in one call.
if want b3 "${ALL_ARGS[@]}"; then
  B3_BASE="$URL_main/api/v1/assets?limit=100&sort=created_at:asc"
  printf 'url: /assets\nquery: {limit: 100, sort: "created_at:asc"}\npaginate: {total_pages: $.total_pages, items: $.items, max_pages: 1000}\n' >"$PROJECT/requests/b3.yaml"
  for b in old new; do
    bin=$OLD; [ $b = new ] && bin=$NEW
    "$bin" exec "$PROJECT/requests/b3.yaml" -p main -o jsonl --concurrency 16 >"$WORK/b3-$b.jsonl"
    echo "- B3 $b output: md5 $(md5sum <"$WORK/b3-$b.jsonl" | cut -d' ' -f1), $(wc -l <"$WORK/b3-$b.jsonl") lines"
    mkdir -p "$WORK/cg-$b"
    valgrind --tool=callgrind --separate-threads=yes --callgrind-out-file="$WORK/cg-$b/out" \
      "$bin" exec "$PROJECT/requests/b3.yaml" -p main -o jsonl --concurrency 16 >/dev/null 2>&1
    total=0 per=""
    for f in "$WORK/cg-$b"/out-*; do
      n=$(awk '/^(summary|totals):/ {print $2; exit}' "$f")
      [ -n "$n" ] || continue
      total=$((total + n)) per="$per thread ${f##*-}: $n;"
    done
    echo "- B3 $b instructions: $total in all; per thread:$per"
  done
  : >"$WORK/b3-urls.txt"
  for p in $(seq 1 1000); do echo "$B3_BASE&page=$p" >>"$WORK/b3-urls.txt"; done
  b3_args=(-n old "$OLD exec $PROJECT/requests/b3.yaml -p main -o jsonl --concurrency 16"
    -n new "$NEW exec $PROJECT/requests/b3.yaml -p main -o jsonl --concurrency 16")
  have oha && b3_args+=(-n oha "oha --no-tui -n 1000 -c 16 --urls-from-file $WORK/b3-urls.txt -H 'Authorization: Bearer $TOKEN_main'")
  hyperfine -N --warmup 3 --runs "${RUNS_B3:-20}" --export-json "$WORK/b3.json" "${b3_args[@]}" >/dev/null
  jq -r '.results[] | "- B3 wall \(.command): \(.median * 1000 * 10 | round / 10) ms median (σ \(.stddev * 1000 * 10 | round / 10))"' "$WORK/b3.json"
  have oha && jq -r '[.results[] | {(.command): .median}] | add | "- B3 ratio to oha: old \(.old / .oha * 100 | round / 100), new \(.new / .oha * 100 | round / 100)"' "$WORK/b3.json"
fi
