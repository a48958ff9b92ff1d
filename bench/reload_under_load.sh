#!/usr/bin/env bash
# Reload under load: the supervisor serves a seeded factory with WORKERS worker processes while
# wrk drives two loads at it — keep-alive connections, and a new connection per request
# ("Connection: close") — and the script sends RELOADS SIGHUPs, INTERVAL seconds apart.
# Reports requests, failed requests (non-2xx and socket errors) and latency; exits non-zero
# when any request failed or a reload did not complete.
#
#   bench/reload_under_load.sh                    # 5 reloads, release build
#   RELOADS=10 CONNECTIONS=64 bench/reload_under_load.sh
#   BIN=target/debug/mes-dashboard bench/reload_under_load.sh
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh

RELOADS="${RELOADS:-5}"
INTERVAL="${INTERVAL:-3}"
CONNECTIONS="${CONNECTIONS:-32}"
THREADS="${THREADS:-2}"
WORKERS="${WORKERS:-2}"
LOTS="${LOTS:-20000}"
BIN="${BIN:-target/release/mes-dashboard}"
PATH_UNDER_TEST="${PATH_UNDER_TEST:-/api/wip/overview/summary}"

need_wrk
if [[ ! -x "$BIN" ]]; then
  echo "building $BIN"
  cargo build --release
fi
BIN="$(realpath "$BIN")"

work="$(mktemp -d)"
port="$(free_port)"
sup_pid=""
cleanup() {
  [[ -n "$sup_pid" ]] && kill -TERM "$sup_pid" 2>/dev/null && wait "$sup_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

export MES_ENV=testing
export DATABASE_URL="sqlite://$work/bench.sqlite3"
export WATCHDOG_RUNTIME_DIR="$work/runtime"
export BIND="127.0.0.1:$port"
export WORKERS RUST_LOG="${RUST_LOG:-warn}" LOG_FORMAT=json
export KEEPALIVE_DRAIN_SECONDS="${KEEPALIVE_DRAIN_SECONDS:-2}"
# The WIP API needs a session and the status API an administrator: one local administrator.
export LOCAL_AUTH_USERS="bench:bench@example.com:$(printf bench-password | "$BIN" hash-password)"
export ADMIN_EMAILS=bench@example.com
jar="$work/cookies"

echo "seeding $LOTS lots"
"$BIN" seed --lots "$LOTS" >/dev/null
"$BIN" serve >"$work/serve.log" 2>&1 &
sup_pid=$!

wait_http "http://$BIND/health/live" 30
login "http://$BIND" bench bench-password "$jar"
cookie="mes_session=$(awk '$6 == "mes_session" {print $7}' "$jar")"
curl -fsS -H "Cookie: $cookie" "http://$BIND$PATH_UNDER_TEST" >/dev/null

duration=$((RELOADS * INTERVAL + INTERVAL + 2))
echo "load: ${duration}s, $CONNECTIONS keep-alive + $((CONNECTIONS / 4)) new-connection clients, $WORKERS workers, $RELOADS reloads every ${INTERVAL}s"
wrk -t "$THREADS" -c "$CONNECTIONS" -d "${duration}s" --latency -H "Cookie: $cookie" "http://$BIND$PATH_UNDER_TEST" >"$work/keepalive.txt" &
wrk_keep=$!
wrk -t 1 -c "$((CONNECTIONS / 4))" -d "${duration}s" --latency -H "Connection: close" -H "Cookie: $cookie" "http://$BIND$PATH_UNDER_TEST" >"$work/close.txt" &
wrk_close=$!

sleep "$INTERVAL"
for i in $(seq 1 "$RELOADS"); do
  kill -HUP "$sup_pid"
  sleep "$INTERVAL"
done
wait "$wrk_keep" "$wrk_close"

generation="$(curl -fsS -b "$jar" "http://$BIND/admin/api/worker/status" | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["generation"])')"

report() { # file label
  python3 - "$1" "$2" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
label = sys.argv[2]
def find(pattern, default="0"):
    m = re.search(pattern, text)
    return m.group(1) if m else default
requests = int(find(r"(\d+) requests in"))
non2xx = int(find(r"Non-2xx or 3xx responses: (\d+)"))
sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
connect, read, write, timeout = (int(x) for x in sock.groups()) if sock else (0, 0, 0, 0)
failed = non2xx + connect + read + write + timeout
p50 = find(r"\n\s+50%\s+(\S+)", "?")
p99 = find(r"\n\s+99%\s+(\S+)", "?")
mx = find(r"Latency\s+\S+\s+\S+\s+(\S+)", "?")
rps = find(r"Requests/sec:\s+(\S+)", "?")
print(f"{label:<15} requests {requests:>8}  failed {failed:>4} (non-2xx {non2xx}, connect {connect}, read {read}, write {write}, timeout {timeout})  req/s {rps:>9}  p50 {p50:>8}  p99 {p99:>8}  max {mx:>8}")
open(sys.argv[1] + ".failed", "w").write(str(failed))
PY
}
echo
report "$work/keepalive.txt" "keep-alive"
report "$work/close.txt" "new connection"
failed=$(( $(cat "$work/keepalive.txt.failed") + $(cat "$work/close.txt.failed") ))
echo "reloads: $RELOADS sent, serving generation $generation (expected $((RELOADS + 1)))"

status=0
if [[ "$failed" -ne 0 ]]; then echo "FAIL: $failed failed requests"; status=1; fi
if [[ "$generation" -ne $((RELOADS + 1)) ]]; then echo "FAIL: not every reload completed"; status=1; fi
kill -TERM "$sup_pid"
wait "$sup_pid" && echo "supervisor stopped cleanly (exit 0)" || { echo "FAIL: supervisor exit code $?"; status=1; }
sup_pid=""
[[ "$status" -eq 0 ]] && echo "PASS: zero failed requests through $RELOADS reloads"
exit "$status"
