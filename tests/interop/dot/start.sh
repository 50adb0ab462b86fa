#!/usr/bin/env bash
# Install (into $DOT_HOME/venv) and start the django-oauth-toolkit interop server on
# loopback. Last line of stdout: the base URL. Also writes $DOT_HOME/env.
#
#   DOT_HOME        state dir: venv, db.sqlite3, server.log, server.pid, env
#                   (default ${TMPDIR:-/tmp}/runner-dot)
#   DOT_PORT        port to try first (default 8765; a free one is picked if busy)
#   DOT_ACCESS_TTL  access-token lifetime in seconds (default 2)
#   DOT_KEEP_DB=1   keep the existing database (default: start from a fresh one)
#   DOT_PYTHON      interpreter for the venv (default: python3.11, python3, python)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
DOT_HOME="${DOT_HOME:-${TMPDIR:-/tmp}/runner-dot}"
DOT_PORT="${DOT_PORT:-8765}"
export DOT_ACCESS_TTL="${DOT_ACCESS_TTL:-2}"
export DOT_DATA_DIR="$DOT_HOME"
VENV="$DOT_HOME/venv"
LOG="$DOT_HOME/server.log"
PIDFILE="$DOT_HOME/server.pid"
ENVFILE="$DOT_HOME/env"

log() { echo "[dot] $*" >&2; }
die() { echo "[dot] ERROR: $*" >&2; exit 1; }

mkdir -p "$DOT_HOME"

# An earlier server from this DOT_HOME is stopped first, so each start is fresh.
"$HERE/stop.sh" >&2 || true

# --- venv -------------------------------------------------------------------
if [[ ! -x "$VENV/bin/python" ]]; then
    PY="${DOT_PYTHON:-}"
    if [[ -z "$PY" ]]; then
        for c in python3.11 python3 python; do
            if command -v "$c" >/dev/null 2>&1; then PY="$c"; break; fi
        done
    fi
    [[ -n "$PY" ]] || die "no python interpreter found (set DOT_PYTHON)"
    log "creating venv at $VENV with $("$PY" --version 2>&1)"
    rm -rf "$VENV"
    if ! "$PY" -m venv "$VENV" >&2; then
        log "python -m venv failed; falling back to virtualenv from PyPI"
        rm -rf "$VENV"
        "$PY" -m pip install -q --user virtualenv >&2
        "$PY" -m virtualenv -q "$VENV" >&2
    fi
fi
VPY="$VENV/bin/python"
# Skip pip entirely when this venv already has exactly these requirements installed.
STAMP="$VENV/.requirements.sha256"
WANT="$("$VPY" -c 'import hashlib,sys; print(hashlib.sha256(open(sys.argv[1],"rb").read()).hexdigest())' "$HERE/requirements.txt")"
if [[ "$(cat "$STAMP" 2>/dev/null || true)" != "$WANT" ]]; then
    log "installing requirements into $VENV"
    "$VPY" -m pip install -q --disable-pip-version-check -r "$HERE/requirements.txt" >&2
    echo "$WANT" >"$STAMP"
fi

# --- database + accounts ----------------------------------------------------
cd "$HERE"
export PYTHONDONTWRITEBYTECODE=1   # keep __pycache__ out of the source tree
if [[ "${DOT_KEEP_DB:-0}" != "1" ]]; then
    rm -f "$DOT_HOME"/db.sqlite3 "$DOT_HOME"/db.sqlite3-wal "$DOT_HOME"/db.sqlite3-shm
fi
"$VPY" manage.py migrate --noinput -v0 >&2
"$VPY" manage.py interop_setup >&2

# --- port -------------------------------------------------------------------
PORT="$("$VPY" - "$DOT_PORT" <<'PYEOF'
import socket, sys
want = int(sys.argv[1])
def free(port):
    s = socket.socket()
    # Same as runserver: a port with only TIME_WAIT leftovers counts as free.
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        s.bind(("127.0.0.1", port))
        return s.getsockname()[1]
    except OSError:
        return None
    finally:
        s.close()
print(free(want) or free(0))
PYEOF
)"
if [[ "$PORT" != "$DOT_PORT" ]]; then log "port $DOT_PORT busy, using $PORT"; fi
URL="http://127.0.0.1:$PORT"

# --- start ------------------------------------------------------------------
: >"$LOG"
nohup "$VPY" manage.py runserver "127.0.0.1:$PORT" --noreload </dev/null >>"$LOG" 2>&1 &
PID=$!
echo "$PID" >"$PIDFILE"
log "started pid $PID, log $LOG"

deadline=$((SECONDS + 60))
until "$VPY" - "$URL/_stats" <<'PYEOF' 2>/dev/null
import sys, urllib.request
with urllib.request.urlopen(sys.argv[1], timeout=2) as r:
    sys.exit(0 if r.status == 200 else 1)
PYEOF
do
    if ! kill -0 "$PID" 2>/dev/null; then
        echo "[dot] ERROR: server exited early; last lines of $LOG:" >&2
        tail -n 40 "$LOG" >&2 || true
        rm -f "$PIDFILE"
        exit 1
    fi
    if (( SECONDS >= deadline )); then
        echo "[dot] ERROR: $URL/_stats did not answer within 60 s; last lines of $LOG:" >&2
        tail -n 40 "$LOG" >&2 || true
        kill "$PID" 2>/dev/null || true
        rm -f "$PIDFILE"
        exit 1
    fi
    sleep 0.3
done

cat >"$ENVFILE" <<EOF2
RUNNER_DOT_URL=$URL
RUNNER_DOT_PID=$PID
RUNNER_DOT_TOKEN_URL=$URL/o/token/
RUNNER_DOT_ACCESS_TTL=$DOT_ACCESS_TTL
RUNNER_DOT_USERNAME=interop
RUNNER_DOT_PASSWORD=interop-pass-1
RUNNER_DOT_CLIENT_ID=runner-interop
RUNNER_DOT_CLIENT_SECRET=interop-secret-1
RUNNER_DOT_CC_CLIENT_ID=runner-cc
RUNNER_DOT_CC_CLIENT_SECRET=cc-secret-1
EOF2
log "ready at $URL (env: $ENVFILE)"
echo "$URL"
