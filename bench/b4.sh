# B4: bulk, 10,000 POSTs from a CSV at concurrency 16, against a fresh sandbox (the
# writes grow its collection). Peers: oha POSTing the same body at 16; hurl --parallel
# --jobs 16 over 16 files of 625 requests. Sourced by run.sh.
b4_files
mkdir -p "$WORK/b4-hurl"
for f in $(seq -w 1 16); do
  for i in $(seq 1 625); do
    printf 'POST %s/api/v1/assets\nAuthorization: Bearer %s\nContent-Type: application/json\nAccept: application/json\n{"name":"Asset %s-%s","family_id":"%s","status":"active"}\nHTTP 201\n\n' \
      "$URL_bulk" "$TOKEN_bulk" "$f" "$i" "$FAMILY"
  done >"$WORK/b4-hurl/part$f.hurl"
done
(cd "$PROJECT" && "$RUNNER" exec requests/b4.yaml -p bulk --data "$WORK/b4-rows.csv" --concurrency 16 -o none >/dev/null) \
  || warn "B4: runner bulk run failed"
b4_cmds=(runner "$RUNNER exec $PROJECT/requests/b4.yaml -p bulk --data $WORK/b4-rows.csv --concurrency 16 -o none")
have oha && b4_cmds+=(oha "oha --no-tui -n 10000 -c 16 -m POST -d '$B4_BODY' -H 'Content-Type: application/json' -H 'Accept: application/json' -H 'Authorization: Bearer $TOKEN_bulk' $URL_bulk/api/v1/assets")
have hurl && b4_cmds+=(hurl "hurl --test --parallel --jobs 16 $(echo "$WORK"/b4-hurl/*.hurl)")
hf b4 "$RUNS_SLOW" -N -- "${b4_cmds[@]}"
B4_RUNNER=$(median_ms b4 runner)
have oha && row B4 "10,000 POSTs from CSV, c16" "$B4_RUNNER" ms "oha c16 (goal ≤ 1.0, issue 27)" "$(median_ms b4 oha)"
have hurl && row B4 "10,000 POSTs from CSV, c16" "$B4_RUNNER" ms "hurl --parallel --jobs 16 (goal < 1)" "$(median_ms b4 hurl)"
have oha || note "- B4: oha not installed, skipped."
have hurl || note "- B4: hurl not installed, skipped."
note "- B4 command: \`hyperfine -N --warmup 3 --runs $RUNS_SLOW 'runner exec b4.yaml -p bulk --data rows.csv --concurrency 16 -o none' 'oha --no-tui -n 10000 -c 16 -m POST -d BODY -H ... URL' 'hurl --test --parallel --jobs 16 part01.hurl … part16.hurl'\` (16 files × 625 POSTs)"
stop_sandbox bulk
