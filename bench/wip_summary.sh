#!/usr/bin/env bash
# Throughput, server CPU per request and memory of the cached WIP summary for a logged-in user,
# against a bare hyper server returning the same bytes, in the same run on the same machine.
#
#   bash bench/wip_summary.sh [seconds per run, default 10] [connections, default 32]
#
# The dashboard runs in production mode with everything on: the session cookie verified and the
# session read on every request (in-process cache, then the database), the CSRF layer, the JSON
# access log (written to a file), security headers; on the embedded SQLite database, serving
# in-process (WORKERS=0) so one process's CPU is the requests' CPU. Server CPU per request is
# the process's user+system CPU time during the run divided by the requests served.
#
# Production refuses local users and no LDAP API exists here, so the script writes one session
# straight into the `sessions` table (mint_session_cookie in bench/lib.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh

DURATION=${1:-10}
CONNS=${2:-32}
bench_setup

start_production_dashboard

COOKIE=$(mint_session_cookie "$KEY" "$DB")
URL="http://127.0.0.1:$PORT/api/wip/overview/summary"
[ "$(curl -s -o /dev/null -w '%{http_code}' "$URL")" = 401 ] || { echo "anonymous must be 401" >&2; exit 1; }
curl -fs -H "Cookie: $COOKIE" "$URL" >"$WORK/body.json" || { echo "the logged-in request failed" >&2; exit 1; }

BPORT=$(free_port)
"$BARE" "127.0.0.1:$BPORT" "$WORK/body.json" &
BARE_PID=$!; pids+=($BARE_PID)
wait_http "http://127.0.0.1:$BPORT/"

echo "# logged-in cached WIP summary ($(wc -c <"$WORK/body.json") bytes), ${DURATION}s per run, 2 wrk threads, $CONNS connections, $(nproc) cores, load average $(cut -d' ' -f1 /proc/loadavg) before"
bench_run "bare hyper (baseline)" "$BARE_PID" "http://127.0.0.1:$BPORT/"
bench_run "mes-dashboard" "$DASH" "$URL" -H "Cookie: $COOKIE"
bench_ratio "mes-dashboard" "bare hyper (baseline)" 0.80
echo "# access log lines written: $(grep -c '"http.path"' "$WORK/access.log")"
