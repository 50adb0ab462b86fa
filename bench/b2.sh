# B2: `runner --help` (goal < 3 ms) and `runner check` on 1,000 request files
# (goal < 0.5 s). No peers. Sourced by run.sh.
mkdir -p "$PROJECT/requests/gen"
for i in $(seq -w 1 1000); do
  cat >"$PROJECT/requests/gen/r$i.yaml" <<YAML
description: Generated request $i
method: POST
url: /assets
query: {page: 1, limit: "{{ page_size | default(100) }}"}
headers: {X-Request: "r$i"}
body:
  json: {name: "Asset $i", family_id: "{{ family_id | default(1) }}", status: active}
extract: {id: \$.id, name: \$.name}
expect: {status: [200, 201]}
YAML
done
# check validates every profile too: a profile without a live sandbox is fine (it
# sends nothing).
[ -f "$PROJECT/profiles/default.yaml" ] || cat >"$PROJECT/profiles/default.yaml" <<'YAML'
description: Benchmark default (check only)
base_url: http://127.0.0.1:9/api/v1
auth: {type: none}
YAML
(cd "$PROJECT" && "$RUNNER" check requests/gen >/dev/null 2>"$WORK/b2-check.err") \
  || { warn "runner check failed:"; cat "$WORK/b2-check.err" >&2; }
hf b2 "$((RUNS * 5))" -N -- \
  help "$RUNNER --help" \
  curl-version "curl --version" \
  check "$RUNNER --root $PROJECT check $PROJECT/requests/gen"
row B2 "runner --help (goal < 3 ms)" "$(median_ms b2 help)" ms
row B2 "runner --help" "$(median_ms b2 help)" ms "curl --version (goal < 0.4)" "$(median_ms b2 curl-version)"
row B2 "runner check, 1,000 files (goal < 500 ms)" "$(median_ms b2 check)" ms
note "- B2 command: \`hyperfine -N --warmup 3 --runs $((RUNS * 5)) 'runner --help' 'curl --version' 'runner check requests/gen'\` (1,000 generated request files with templates, query, headers, JSON body, extract, expect)"
