#!/usr/bin/env bash
# Stop the interop server started by start.sh (by its pid file). Safe to run twice.
set -euo pipefail

DOT_HOME="${DOT_HOME:-${TMPDIR:-/tmp}/runner-dot}"
PIDFILE="$DOT_HOME/server.pid"

[[ -f "$PIDFILE" ]] || { echo "[dot] not running (no $PIDFILE)"; exit 0; }
PID="$(cat "$PIDFILE")"

# Only signal the pid if it is still our runserver (pids get reused).
cmdline() {
    if [[ -r "/proc/$1/cmdline" ]]; then tr '\0' ' ' <"/proc/$1/cmdline"; else ps -o command= -p "$1"; fi
}
# Alive = exists and is not a zombie (the server is re-parented to init once start.sh
# exits, and init may take a second to reap it).
alive() {
    kill -0 "$1" 2>/dev/null || return 1
    if [[ -r "/proc/$1/stat" ]]; then
        [[ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" != "Z" ]]
    else
        [[ "$(ps -o stat= -p "$1" 2>/dev/null)" != Z* ]]
    fi
}
if [[ "$PID" =~ ^[0-9]+$ ]] && alive "$PID" \
    && cmdline "$PID" 2>/dev/null | grep -q "manage.py runserver"; then
    kill -TERM "$PID" 2>/dev/null || true
    for _ in $(seq 1 50); do
        alive "$PID" || break
        sleep 0.1
    done
    if alive "$PID"; then
        kill -KILL "$PID" 2>/dev/null || true
    fi
    echo "[dot] stopped pid $PID"
else
    echo "[dot] pid $PID not running"
fi
rm -f "$PIDFILE" "$DOT_HOME/env"
