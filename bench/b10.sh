# B10: beside the collection runners a user would pick instead. The same 20-request
# test suite (GET a page, check the status and a JSON value) with the OAuth2 password
# grant done in the run, and 1,000 POSTs from a CSV, through runner and through
# @usebruno/cli (bru), httpyac and newman, each with its own OAuth2 support where it has
# one (bru: collection auth oauth2, grant password; httpyac: `Authorization: oauth2
# password`; newman has no OAuth2 grant of its own, so a collection pre-request script
# fetches the token once, the usual Postman recipe). Every tool runs sequentially, so
# runner runs both sequentially (`--jobs 1`, `--concurrency 1`) and with its defaults.
# Not part of the default list: `bench/run.sh b10`. The npm tools are installed into
# BENCH_NPM_DIR (default ~/.cache/runner-bench/npm, outside the repository).
# Sourced by run.sh.
NPM_DIR=${BENCH_NPM_DIR:-$HOME/.cache/runner-bench/npm}
B10_BRU=${B10_BRU:-@usebruno/cli@4.1.0}
B10_HTTPYAC=${B10_HTTPYAC:-httpyac@6.16.7}
B10_NEWMAN=${B10_NEWMAN:-newman@6.2.2}
mkdir -p "$NPM_DIR"
if [ "${BENCH_NO_INSTALL:-0}" != 1 ]; then
  log "npm install $B10_BRU $B10_HTTPYAC $B10_NEWMAN into $NPM_DIR (minutes)"
  (cd "$NPM_DIR" && npm install --no-audit --no-fund --maxsockets 4 --prefix . "$B10_BRU" "$B10_HTTPYAC" "$B10_NEWMAN" >"$WORK/npm-install.log" 2>&1) \
    || warn "npm install failed, see $WORK/npm-install.log"
fi
NPM_BIN=$NPM_DIR/node_modules/.bin
start_sandbox suite --assets 250
B10=$WORK/b10
mkdir -p "$B10/runner/tests" "$B10/bru/suite" "$B10/bru/bulk" "$B10/httpyac" "$B10/newman"
FAMILY=00000000-0000-4000-8100-000000000001
TOKEN_URL=$URL_suite/oauth/v2/token
API=$URL_suite/api/v1
{ echo "name,family_id"; for i in $(seq -w 1 1000); do echo "Asset $i,$FAMILY"; done; } >"$B10/rows.csv"

# The suite: GET /assets?limit=5&page=N for N in 1..20, each expecting 200 and 5 items
# (250 assets: every page is full).
for n in $(seq 1 20); do
  nn=$(printf '%02d' "$n")
  cat >"$B10/runner/tests/page$nn.yaml" <<YAML
url: /assets
query: {limit: 5, page: $n}
expect:
  status: 200
  jsonpath: {"\$.items": {length: 5}}
YAML
  cat >"$B10/bru/suite/page$nn.bru" <<BRU
meta {
  name: page$nn
  type: http
  seq: $n
}

get {
  url: {{api}}/assets?limit=5&page=$n
  body: none
  auth: inherit
}

assert {
  res.status: eq 200
  res.body.items.length: eq 5
}
BRU
done
b4_request "$B10/runner/create.yaml"
# runner: its own project; the state dir is emptied before every run (--prepare), so
# each run does the password grant, as the npm tools do.
mkdir -p "$B10/runner/profiles"
cat >"$B10/runner/profiles/default.yaml" <<YAML
base_url: $API
auth:
  type: oauth2_password
  token_url: $TOKEN_URL
  client_id: sandbox
  client_secret: "{{ env('BENCH_CLIENT_SECRET') }}"
  username: demo
  password: "{{ env('BENCH_PASSWORD') }}"
http: {headers: {Accept: application/json}}
YAML

# bru: a collection with OAuth2 (password grant) at the collection level.
for d in suite bulk; do
  cat >"$B10/bru/$d/bruno.json" <<JSON
{"version": "1", "name": "b10-$d", "type": "collection"}
JSON
  cat >"$B10/bru/$d/collection.bru" <<BRU
auth {
  mode: oauth2
}

auth:oauth2 {
  grant_type: password
  access_token_url: {{token_url}}
  username: demo
  password: {{password}}
  client_id: sandbox
  client_secret: {{client_secret}}
  scope:
  credentials_placement: body
  token_placement: header
  token_header_prefix: Bearer
  auto_fetch_token: true
  auto_refresh_token: false
}
BRU
done
cat >"$B10/bru/bulk/create.bru" <<'BRU'
meta {
  name: create
  type: http
  seq: 1
}

post {
  url: {{api}}/assets
  body: json
  auth: inherit
}

body:json {
  {"name": "{{name}}", "family_id": "{{family_id}}", "status": "active"}
}

assert {
  res.status: eq 201
}
BRU
BRU_VARS=(--env-var "api=$API" --env-var "token_url=$TOKEN_URL" --env-var "password=$BENCH_PASSWORD" --env-var "client_secret=$BENCH_CLIENT_SECRET")

# httpyac: `Authorization: oauth2 password` with the oauth2_* variables; the CSV is read
# by a file-level script and walked with `# @loop for`.
cat >"$B10/httpyac/.env" <<ENV
api=$API
oauth2_tokenEndpoint=$TOKEN_URL
oauth2_clientId=sandbox
oauth2_clientSecret=$BENCH_CLIENT_SECRET
oauth2_username=demo
oauth2_password=$BENCH_PASSWORD
ENV
for n in $(seq 1 20); do
  printf '###\n# @name page%02d\nGET {{api}}/assets?limit=5&page=%d\nAuthorization: oauth2 password\nAccept: application/json\n\n?? status == 200\n?? js response.parsedBody.items.length == 5\n\n' "$n" "$n"
done >"$B10/httpyac/suite.http"
cat >"$B10/httpyac/bulk.http" <<HTTP
{{
  const text = require('fs').readFileSync('$B10/rows.csv', 'utf8').trim().split('\n').slice(1);
  exports.rows = text.map((line) => { const [name, family_id] = line.split(','); return { name, family_id }; });
}}
###
# @loop for row of rows
POST {{api}}/assets
Authorization: oauth2 password
Content-Type: application/json
Accept: application/json

{"name": "{{row.name}}", "family_id": "{{row.family_id}}", "status": "active"}

?? status == 201
HTTP

# newman: a Postman collection; the pre-request script gets the token once per run.
python3 - "$B10/newman" "$API" "$TOKEN_URL" <<'PY'
import json, sys
out, api, token_url = sys.argv[1:4]
prerequest = """
if (!pm.collectionVariables.get('token')) {
  pm.sendRequest({
    url: pm.environment.get('token_url'), method: 'POST',
    header: {'Content-Type': 'application/x-www-form-urlencoded'},
    body: {mode: 'urlencoded', urlencoded: [
      {key: 'grant_type', value: 'password'}, {key: 'username', value: 'demo'},
      {key: 'password', value: pm.environment.get('password')},
      {key: 'client_id', value: 'sandbox'},
      {key: 'client_secret', value: pm.environment.get('client_secret')}]}
  }, (err, res) => { pm.collectionVariables.set('token', res.json().access_token); });
}
"""
def collection(name, items):
    return {"info": {"name": name, "schema": "https://schema.getpostman.com/json/collection/v2.1.0/collection.json"},
            "auth": {"type": "bearer", "bearer": [{"key": "token", "value": "{{token}}", "type": "string"}]},
            "event": [{"listen": "prerequest", "script": {"type": "text/javascript", "exec": prerequest.strip().split("\n")}}],
            "variable": [{"key": "token", "value": ""}],
            "item": items}
suite = [{"name": f"page{n:02d}",
          "event": [{"listen": "test", "script": {"type": "text/javascript", "exec": [
              "pm.test('200', () => pm.response.to.have.status(200));",
              "pm.test('5 items', () => pm.expect(pm.response.json().items.length).to.eql(5));"]}}],
          "request": {"method": "GET", "header": [{"key": "Accept", "value": "application/json"}],
                      "url": f"{{{{api}}}}/assets?limit=5&page={n}"}} for n in range(1, 21)]
bulk = [{"name": "create",
         "event": [{"listen": "test", "script": {"type": "text/javascript", "exec": [
             "pm.test('201', () => pm.response.to.have.status(201));"]}}],
         "request": {"method": "POST", "header": [{"key": "Content-Type", "value": "application/json"}],
                     "body": {"mode": "raw", "raw": '{"name": "{{name}}", "family_id": "{{family_id}}", "status": "active"}'},
                     "url": "{{api}}/assets"}}]
json.dump(collection("b10-suite", suite), open(f"{out}/suite.json", "w"))
json.dump(collection("b10-bulk", bulk), open(f"{out}/bulk.json", "w"))
PY
NEWMAN_ENV=(--env-var "api=$API" --env-var "token_url=$TOKEN_URL" --env-var "password=$BENCH_PASSWORD" --env-var "client_secret=$BENCH_CLIENT_SECRET")

# Each command is checked once before it is timed: a tool whose run fails is left out
# of the table, with the reason in the notes.
B10_STATE=$WORK/b10-state
b10_suite=(runner-j1 "$RUNNER --root $B10/runner test $B10/runner/tests --jobs 1"
  runner "$RUNNER --root $B10/runner test $B10/runner/tests")
b10_bulk=(runner-c1 "$RUNNER --root $B10/runner exec $B10/runner/create.yaml --data $B10/rows.csv --concurrency 1 -o none"
  runner "$RUNNER --root $B10/runner exec $B10/runner/create.yaml --data $B10/rows.csv -o none")
[ -x "$NPM_BIN/bru" ] && {
  b10_suite+=(bru "cd $B10/bru/suite && $NPM_BIN/bru run ${BRU_VARS[*]@Q}")
  b10_bulk+=(bru "cd $B10/bru/bulk && $NPM_BIN/bru run create.bru --csv-file-path $B10/rows.csv ${BRU_VARS[*]@Q}")
}
[ -x "$NPM_BIN/httpyac" ] && {
  b10_suite+=(httpyac "cd $B10/httpyac && $NPM_BIN/httpyac send suite.http --all --bail -o none")
  b10_bulk+=(httpyac "cd $B10/httpyac && $NPM_BIN/httpyac send bulk.http --all --bail -o none")
}
[ -x "$NPM_BIN/newman" ] && {
  b10_suite+=(newman "$NPM_BIN/newman run $B10/newman/suite.json ${NEWMAN_ENV[*]@Q} --bail -r cli --reporter-cli-no-summary")
  b10_bulk+=(newman "$NPM_BIN/newman run $B10/newman/bulk.json -d $B10/rows.csv ${NEWMAN_ENV[*]@Q} --bail -r cli --reporter-cli-no-summary")
}
# b10_check ARRAY_NAME: drops the commands that fail.
b10_check() {
  local -n cmds=$1
  local kept=() i
  for ((i = 0; i < ${#cmds[@]}; i += 2)); do
    rm -rf "$B10_STATE"
    if RUNNER_STATE_DIR=$B10_STATE bash -c "${cmds[i + 1]}" >"$WORK/b10-check.out" 2>&1; then
      kept+=("${cmds[i]}" "${cmds[i + 1]}")
    else
      warn "B10 ($1): ${cmds[i]} failed; left out"
      note "- B10 ($1): ${cmds[i]} failed and was left out: $(tail -n 3 "$WORK/b10-check.out" | tr '\n' ' ' | cut -c1-300)"
    fi
  done
  cmds=("${kept[@]}")
}
b10_check b10_suite
b10_check b10_bulk
export RUNNER_STATE_DIR=$B10_STATE
# Not -N: the npm tools run through a shell (cd), and runner's token cache is emptied
# before every run, so each run does the grant; the shell's ~1 ms is noise here.
hf b10-suite "$RUNS" --prepare "rm -rf $B10_STATE" -- "${b10_suite[@]}"
hf b10-bulk "$RUNS_SLOW" --prepare "rm -rf $B10_STATE" -- "${b10_bulk[@]}"
export RUNNER_STATE_DIR=$WORK/state
for peer in bru httpyac newman; do
  for pair in "suite:20-request suite, password grant" "bulk:1,000 POSTs from CSV, password grant"; do
    id=${pair%%:*} what=${pair#*:}
    pv=$(median_ms "b10-$id" "$peer")
    [ -n "$pv" ] || continue
    row B10 "$what, runner sequential" "$(median_ms "b10-$id" "runner-$([ "$id" = suite ] && echo j1 || echo c1)")" ms "$peer" "$pv"
    row B10 "$what, runner defaults (4 at once)" "$(median_ms "b10-$id" runner)" ms "$peer" "$pv"
  done
done
for id in suite bulk; do
  r=$(median_ms "b10-$id" runner) line=""
  for peer in bru httpyac newman; do
    pv=$(median_ms "b10-$id" "$peer")
    [ -n "$pv" ] && line="$line $peer $(awk -v a="$pv" -v b="$r" 'BEGIN { printf "%.0f×", a / b }');"
  done
  note "- B10 $id, how many times faster runner (defaults) was:${line% ;}"
done
note "- B10: $B10_BRU, $B10_HTTPYAC, $B10_NEWMAN (npm, node $(node --version)); each run does the password grant (runner's token cache emptied by --prepare). Commands: \`runner test tests --jobs 1\` / \`runner exec create.yaml --data rows.csv --concurrency 1 -o none\`; \`bru run\` / \`bru run create.bru --csv-file-path rows.csv\`; \`httpyac send suite.http --all\` / \`httpyac send bulk.http --all\` (# @loop over the CSV); \`newman run suite.json\` / \`newman run bulk.json -d rows.csv\`."
stop_sandbox suite
