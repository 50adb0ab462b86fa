# Helpers shared by bench/run.sh and bench/b*.sh: peers, the sandbox, timing and the
# results table. Sourced, never run; expects RUNNER, WORK, RUNS and RESULTS from run.sh.

log() { printf '== %s\n' "$*" >&2; }
warn() { printf '!! %s\n' "$*" >&2; }

# --- peers -------------------------------------------------------------------------

# Installs the peers that are missing; a peer whose install fails is skipped, with a
# message, and the workloads that use it say so in the table.
install_peers() {
  export PATH="$HOME/.cargo/bin:$PATH"
  if [ "${BENCH_NO_INSTALL:-0}" = 1 ]; then
    log "BENCH_NO_INSTALL=1: using the peers already installed"
    return 0
  fi
  local missing=()
  for tool in curl jq hyperfine; do
    command -v "$tool" >/dev/null || missing+=("$tool")
  done
  command -v /usr/bin/time >/dev/null 2>&1 || [ -x /usr/bin/time ] || missing+=(time)
  if [ ${#missing[@]} -gt 0 ]; then
    log "installing from Debian: ${missing[*]}"
    if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"; } >&2; then
      warn "apt-get install ${missing[*]} failed"
    fi
  fi
  command -v hyperfine >/dev/null || { warn "hyperfine is required and could not be installed"; exit 1; }
  [ -x /usr/bin/time ] || { warn "/usr/bin/time (Debian package 'time') is required"; exit 1; }
  export PATH="$HOME/.cargo/bin:$PATH"
  for crate in xh oha jaq; do
    command -v "$crate" >/dev/null && continue
    log "cargo install --locked $crate (minutes)"
    cargo install --locked "$crate" >"$WORK/install-$crate.log" 2>&1 \
      || warn "SKIPPED $crate: cargo install failed, see $WORK/install-$crate.log"
  done
  if ! command -v hurl >/dev/null; then
    log "hurl needs libclang-dev, libxml2-dev, libcurl4-openssl-dev, pkg-config (Debian)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libclang-dev libxml2-dev \
      libcurl4-openssl-dev pkg-config >&2 || warn "apt-get install of hurl's build deps failed"
    log "cargo install --locked hurl --version 8.0.1 (minutes)"
    cargo install --locked hurl --version 8.0.1 >"$WORK/install-hurl.log" 2>&1 \
      || warn "SKIPPED hurl: cargo install failed, see $WORK/install-hurl.log"
  fi
}

have() { command -v "$1" >/dev/null; }

# --- the sandbox and its profile ---------------------------------------------------

# start_sandbox NAME ARGS...: starts `runner sandbox --port 0 ARGS...`, writes
# profiles/NAME.yaml pointing at it, logs in (the token is cached under
# RUNNER_STATE_DIR) and sets URL_NAME and TOKEN_NAME.
start_sandbox() {
  local name=$1; shift
  local out="$WORK/sandbox-$name.out"
  "$RUNNER" sandbox --port 0 "$@" >"$out" 2>"$WORK/sandbox-$name.err" &
  local pid=$!
  echo "$pid" >>"$WORK/pids"
  local url="" i
  for i in $(seq 1 1200); do
    url=$(head -n 1 "$out" 2>/dev/null || true)
    [ -n "$url" ] && break
    kill -0 "$pid" 2>/dev/null || { cat "$WORK/sandbox-$name.err" >&2; exit 1; }
    sleep 0.05
  done
  [ -n "$url" ] || { warn "sandbox $name did not print its URL"; exit 1; }
  cat >"$PROJECT/profiles/$name.yaml" <<YAML
description: Benchmark sandbox $name ($*)
base_url: $url/api/v1
auth:
  type: oauth2_password
  token_url: $url/oauth/v2/token
  client_id: sandbox
  client_secret: "{{ env('BENCH_CLIENT_SECRET') }}"
  username: demo
  password: "{{ env('BENCH_PASSWORD') }}"
http:
  timeout: 120
  retries: 0
  headers: {Accept: application/json}
YAML
  (cd "$PROJECT" && "$RUNNER" login -p "$name" -q) || { warn "login to sandbox $name failed"; exit 1; }
  local token
  token=$(cd "$PROJECT" && "$RUNNER" token -p "$name")
  printf -v "URL_$name" '%s' "$url"
  printf -v "TOKEN_$name" '%s' "$token"
  printf -v "PID_$name" '%s' "$pid"
  log "sandbox $name ($*) at $url, pid $pid"
}

stop_sandbox() {
  local var="PID_$1"
  kill "${!var}" 2>/dev/null || true
  wait "${!var}" 2>/dev/null || true
}

stop_all() {
  [ -f "$WORK/pids" ] || return 0
  while read -r pid; do kill "$pid" 2>/dev/null || true; done <"$WORK/pids"
}

# --- measuring ---------------------------------------------------------------------

# hf ID RUNS [hyperfine options...] -- NAME CMD [NAME CMD ...]: hyperfine with
# --warmup 3, exporting $WORK/ID.json; commands named so the table can find them.
hf() {
  local id=$1 runs=$2; shift 2
  local opts=()
  while [ "$1" != "--" ]; do opts+=("$1"); shift; done
  shift
  local args=()
  while [ $# -gt 0 ]; do args+=(-n "$1" "$2"); shift 2; done
  log "hyperfine $id"
  hyperfine --warmup 3 --runs "$runs" "${opts[@]}" --export-json "$WORK/$id.json" \
    "${args[@]}" >&2
  cp "$WORK/$id.json" "$RESULTS/$id.json"
}

# median_ms ID NAME: the median wall time of NAME in $WORK/ID.json, in ms.
median_ms() {
  jq -r --arg n "$2" '.results[] | select(.command == $n) | .median * 1000' "$WORK/$1.json"
}

# rss_kb RUNS CMD...: the median (over RUNS runs) of the command's peak RSS, in KB.
rss_kb() {
  local runs=$1; shift
  local i
  for i in $(seq 1 "$runs"); do
    /usr/bin/time -f '%M' -o "$WORK/rss.tmp" "$@" >/dev/null 2>"$WORK/rss.err" \
      || { warn "failed: $* ($(tail -n 3 "$WORK/rss.err"))"; echo NaN; return; }
    cat "$WORK/rss.tmp"
  done | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'
}

# rss_sh_kb RUNS SCRIPT: the same for a shell script whose processes each write their
# own peak RSS (with /usr/bin/time -o "$RSS_DIR/NAME") into RSS_DIR; prints one median
# per file, as "NAME=KB" lines.
rss_sh_kb() {
  local runs=$1 script=$2 i
  for i in $(seq 1 "$runs"); do
    export RSS_DIR="$WORK/rss-run-$i"
    rm -rf "$RSS_DIR"; mkdir -p "$RSS_DIR"
    bash -c "$script" >/dev/null 2>"$WORK/rss.err" || warn "failed: $script ($(tail -n 3 "$WORK/rss.err"))"
  done
  local name
  for name in $(ls "$WORK/rss-run-1"); do
    printf '%s=' "$name"
    cat "$WORK"/rss-run-*/"$name" | grep -E '^[0-9]+$' | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'
  done
}

# --- the table ---------------------------------------------------------------------

# row WORKLOAD WHAT VALUE UNIT [PEER PEER_VALUE]: one line of the results table; the
# ratio is VALUE / PEER_VALUE (runner ÷ peer; below 1 runner is faster or smaller).
row() {
  local w=$1 what=$2 v=$3 unit=$4 peer=${5:-} pv=${6:-}
  local ratio="—"
  if [ -n "$peer" ]; then
    ratio=$(awk -v a="$v" -v b="$pv" 'BEGIN { if (b + 0 > 0 && a == a + 0) printf "%.2f", a / b; else print "n/a" }')
    printf '| %s | %s | %s %s | %s | %s %s | %s |\n' "$w" "$what" "$(fmt "$v")" "$unit" "$peer" "$(fmt "$pv")" "$unit" "$ratio" >>"$RESULTS/table.md"
  else
    printf '| %s | %s | %s %s | — | — | — |\n' "$w" "$what" "$(fmt "$v")" "$unit" >>"$RESULTS/table.md"
  fi
}

fmt() { awk -v x="$1" 'BEGIN { if (x == x + 0) { if (x >= 100) printf "%.0f", x; else if (x >= 10) printf "%.1f", x; else printf "%.2f", x } else print x }'; }

note() { printf '%s\n' "$*" >>"$RESULTS/notes.md"; }

# The shared sandbox for B1, B3, B5 and B6: 100,000 assets. Started once.
ensure_main_sandbox() {
  [ -n "${URL_main:-}" ] || start_sandbox main --assets 100000
}

# B3's request (every asset, 1,000 numbered pages of 100) in $PROJECT/requests/b3.yaml,
# and the same 1,000 URLs for oha in $WORK/b3-urls.txt; B3_BASE, their common part.
b3_files() {
  ensure_main_sandbox
  B3_BASE="$URL_main/api/v1/assets?limit=100&sort=created_at:asc"
  cat >"$PROJECT/requests/b3.yaml" <<'YAML'
description: Every asset, numbered pages fetched concurrently
url: /assets
query: {limit: 100, sort: "created_at:asc"}
paginate: {total_pages: $.total_pages, items: $.items, max_pages: 1000}
YAML
  local p
  for p in $(seq 1 1000); do echo "$B3_BASE&page=$p"; done >"$WORK/b3-urls.txt"
}

# B4's fresh sandbox (`bulk`: its collection grows with every run), its request in
# $PROJECT/requests/b4.yaml, 10,000 rows in $WORK/b4-rows.csv, and oha's body (B4_BODY).
b4_files() {
  start_sandbox bulk --assets 250
  FAMILY=00000000-0000-4000-8100-000000000001
  { echo "name,family_id"; for i in $(seq -w 1 10000); do echo "Asset $i,$FAMILY"; done; } >"$WORK/b4-rows.csv"
  b4_request "$PROJECT/requests/b4.yaml"
  B4_BODY="{\"name\":\"Asset 00001\",\"family_id\":\"$FAMILY\",\"status\":\"active\"}"
}

# b4_request FILE: B4's request (one asset created per row), also B10's.
b4_request() {
  cat >"$1" <<'YAML'
description: Create one asset per row
method: POST
url: /assets
body:
  json: {name: "{{ name }}", family_id: "{{ family_id }}", status: active}
expect: {status: 201}
YAML
}
