#!/usr/bin/env bash
# Stop the oidc-provider interop server started by start.sh (by its pid file). Safe to
# run twice.
set -euo pipefail

OIDC_HOME="${OIDC_HOME:-${TMPDIR:-/tmp}/runner-oidc}"
PIDFILE="$OIDC_HOME/server.pid"

[[ -f "$PIDFILE" ]] || { echo "[oidc] not running (no $PIDFILE)"; exit 0; }
PID="$(cat "$PIDFILE")"

cmdline() {
    if [[ -r "/proc/$1/cmdline" ]]; then tr '\0' ' ' <"/proc/$1/cmdline"; else ps -o command= -p "$1"; fi
}
# Alive = exists and is not a zombie (the server is re-parented once start.sh exits).
alive() {
    kill -0 "$1" 2>/dev/null || return 1
    if [[ -r "/proc/$1/stat" ]]; then
        [[ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" != "Z" ]]
    else
        [[ "$(ps -o stat= -p "$1" 2>/dev/null)" != Z* ]]
    fi
}
# Only signal the pid if it is still our server (pids get reused).
if [[ "$PID" =~ ^[0-9]+$ ]] && alive "$PID" && cmdline "$PID" 2>/dev/null | grep -q "server.mjs"; then
    kill -TERM "$PID" 2>/dev/null || true
    for _ in $(seq 1 50); do
        alive "$PID" || break
        sleep 0.1
    done
    if alive "$PID"; then
        kill -KILL "$PID" 2>/dev/null || true
    fi
    echo "[oidc] stopped pid $PID"
else
    echo "[oidc] pid $PID not running"
fi
rm -f "$PIDFILE" "$OIDC_HOME/env"
