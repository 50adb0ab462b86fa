#!/usr/bin/env bash
# Install (npm ci into $OIDC_HOME/app, outside the repository) and start the
# oidc-provider interop server on loopback. Last line of stdout: the issuer URL. Also
# writes $OIDC_HOME/env.
#
#   OIDC_HOME        state dir: app/ (package files, node_modules, server.mjs),
#                    server.log, server.pid, env (default ${TMPDIR:-/tmp}/runner-oidc)
#   OIDC_PORT        port (default 0: a free one)
#   OIDC_ACCESS_TTL  access-token lifetime in seconds (default 60)
#   OIDC_DEBUG=1     log each request (method, path, status) to server.log
#   OIDC_NODE        node binary (default: node)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
OIDC_HOME="${OIDC_HOME:-${TMPDIR:-/tmp}/runner-oidc}"
export OIDC_PORT="${OIDC_PORT:-0}"
export OIDC_ACCESS_TTL="${OIDC_ACCESS_TTL:-60}"
NODE="${OIDC_NODE:-node}"
APP="$OIDC_HOME/app"
LOG="$OIDC_HOME/server.log"
OUT="$OIDC_HOME/server.out"
PIDFILE="$OIDC_HOME/server.pid"
ENVFILE="$OIDC_HOME/env"

log() { echo "[oidc] $*" >&2; }
die() { echo "[oidc] ERROR: $*" >&2; exit 1; }

command -v "$NODE" >/dev/null 2>&1 || die "node not found (set OIDC_NODE)"
command -v npm >/dev/null 2>&1 || die "npm not found"
major="$("$NODE" -p 'process.versions.node.split(".")[0]')"
(( major >= 20 )) || die "node $("$NODE" --version) is too old: 20 or later is needed"

mkdir -p "$APP"

# An earlier server from this OIDC_HOME is stopped first, so each start is fresh.
OIDC_HOME="$OIDC_HOME" "$HERE/stop.sh" >&2 || true

# --- install ----------------------------------------------------------------
# npm ci only when the lock file changed since the last install (hash stamp).
STAMP="$APP/node_modules/.lock.sha256"
WANT="$("$NODE" -e 'const c=require("crypto"),f=require("fs");console.log(c.createHash("sha256").update(f.readFileSync(process.argv[1])).digest("hex"))' "$HERE/package-lock.json")"
if [[ "$(cat "$STAMP" 2>/dev/null || true)" != "$WANT" ]]; then
    log "npm ci (oidc-provider $("$NODE" -p 'require(process.argv[1]).dependencies["oidc-provider"]' "$HERE/package.json")) into $APP"
    cp "$HERE/package.json" "$HERE/package-lock.json" "$APP/"
    (cd "$APP" && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error >&2)
    echo "$WANT" >"$STAMP"
fi
cp "$HERE/server.mjs" "$APP/server.mjs"
got="$("$NODE" -p 'require(process.argv[1]).version' "$APP/node_modules/oidc-provider/package.json")"
want="$("$NODE" -p 'require(process.argv[1]).dependencies["oidc-provider"]' "$HERE/package.json")"
[[ "$got" == "$want" ]] || die "installed oidc-provider is $got, package.json pins $want"

# --- issue 23a: client keys --------------------------------------------------
# Fresh keys for each start, made with node's crypto: an RSA key as PKCS#8 for the
# private_key_jwt clients, a P-256 key as SEC1 (`BEGIN EC PRIVATE KEY`) for the JWT
# bearer grant's service account. The server reads only their public halves. The
# client_secret_jwt secret: oidc-provider takes only printable ASCII in a secret.
KEYS="$OIDC_HOME/keys"
mkdir -p "$KEYS"
chmod 700 "$KEYS"
"$NODE" -e '
const c = require("crypto"), f = require("fs"), [dir] = process.argv.slice(1);
const rsa = c.generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey;
f.writeFileSync(dir + "/client-rs256.pem", rsa.export({ type: "pkcs8", format: "pem" }), { mode: 0o600 });
const ec = c.generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey;
f.writeFileSync(dir + "/service-es256.pem", ec.export({ type: "sec1", format: "pem" }), { mode: 0o600 });
' "$KEYS"
export OIDC_KEYS_DIR="$KEYS"
export OIDC_CSJWT_SECRET="${OIDC_CSJWT_SECRET:-jwt & <secret> \"with\" \\ % + / = :, 32 bytes and more}"

# --- start ------------------------------------------------------------------
# ---- issue 23, mutual TLS: a throwaway authority made here with openssl, the https
# listener's certificate, a client certificate (CN=runner-mtls-client) it signed, and
# a self-signed one.
TLS="$OIDC_HOME/tls"
mkdir -p "$TLS"
command -v openssl >/dev/null 2>&1 || die "openssl not found (the mutual TLS listener needs it)"
(
    cd "$TLS"
    ec=(-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes)
    openssl req -x509 "${ec[@]}" -subj "/CN=runner interop CA" -keyout ca.key -out ca.pem -days 2 2>/dev/null
    openssl req "${ec[@]}" -subj "/CN=127.0.0.1" -keyout server.key -out server.csr 2>/dev/null
    printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >server.ext
    openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
        -extfile server.ext -out server.pem 2>/dev/null
    openssl req "${ec[@]}" -subj "/CN=runner-mtls-client" -keyout client.key -out client.csr 2>/dev/null
    printf 'extendedKeyUsage=clientAuth\n' >client.ext
    openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
        -extfile client.ext -out client.pem 2>/dev/null
    # A self-signed client certificate (self_signed_tls_client_auth: the server knows
    # it from the client's registered JWKS, x5c).
    openssl req -x509 "${ec[@]}" -subj "/CN=runner-self-signed" -keyout self.key -out self.pem \
        -days 2 2>/dev/null
) || die "openssl could not make the mutual TLS certificates"
export OIDC_TLS_DIR="$TLS"
# ---- end of issue 23, mutual TLS

: >"$LOG"
: >"$OUT"
cd "$APP"
nohup "$NODE" server.mjs </dev/null >>"$OUT" 2>>"$LOG" &
PID=$!
echo "$PID" >"$PIDFILE"
log "started pid $PID, log $LOG"

# The server prints its issuer alone on stdout's first line once it listens.
deadline=$((SECONDS + 60))
ISSUER=""
until [[ -n "$ISSUER" ]]; do
    # Only a complete first line (newline written) counts.
    if (( $(wc -l <"$OUT") >= 1 )); then ISSUER="$(head -n 1 "$OUT")"; break; fi
    if ! kill -0 "$PID" 2>/dev/null; then
        echo "[oidc] ERROR: server exited early; last lines of $LOG:" >&2
        tail -n 40 "$LOG" >&2 || true
        rm -f "$PIDFILE"
        exit 1
    fi
    if (( SECONDS >= deadline )); then
        echo "[oidc] ERROR: no issuer printed within 60 s; last lines of $LOG:" >&2
        tail -n 40 "$LOG" >&2 || true
        kill "$PID" 2>/dev/null || true
        rm -f "$PIDFILE"
        exit 1
    fi
    sleep 0.1
done
[[ "$ISSUER" =~ ^http://127\.0\.0\.1:[0-9]+$ ]] || die "server printed an unexpected issuer: $ISSUER"

# Ready when discovery answers with that issuer.
if ! "$NODE" -e '
const [url] = process.argv.slice(1);
fetch(url + "/.well-known/openid-configuration", { signal: AbortSignal.timeout(10000) })
  .then((r) => r.json()).then((d) => process.exit(d.issuer === url ? 0 : 1), () => process.exit(1));
' "$ISSUER"; then
    echo "[oidc] ERROR: $ISSUER/.well-known/openid-configuration did not answer; last lines of $LOG:" >&2
    tail -n 40 "$LOG" >&2 || true
    kill "$PID" 2>/dev/null || true
    rm -f "$PIDFILE"
    exit 1
fi

cat >"$ENVFILE" <<EOF2
RUNNER_OIDC_ISSUER=$ISSUER
RUNNER_OIDC_PID=$PID
RUNNER_OIDC_ACCESS_TTL=$OIDC_ACCESS_TTL
RUNNER_OIDC_PUBLIC_CLIENT_ID=runner-public
RUNNER_OIDC_CONFIDENTIAL_CLIENT_ID=runner-confidential
RUNNER_OIDC_CONFIDENTIAL_SECRET=confidential-secret-1
RUNNER_OIDC_BROWSER=$HERE/browser.mjs
RUNNER_OIDC_KEYS_DIR=$KEYS
RUNNER_OIDC_CSJWT_SECRET=$(printf '%q' "$OIDC_CSJWT_SECRET")
RUNNER_OIDC_TLS_DIR=$TLS
EOF2
log "ready at $ISSUER (env: $ENVFILE)"
echo "$ISSUER"
